import Testing

@testable import FastCGI

#if canImport(Glibc)
    import Glibc
#endif

/// SIGWINCH: its default action is "ignore", and no other suite sends it, so this test can
/// never kill the test process (signal dispositions are process-wide and suites run in parallel).
@Suite struct SignalTrapTests {
    @Test func deliversSignalsToTheHandlerAndStopsAServer() throws {
        let path = ServerEndToEndTests.socketPath("signal")
        let socket = try ListenSocket.bind(.unix(path: path))
        let server = try FastCGIServer(socket: socket, handler: ClosureHandler { _ in HTTPResponse(text: "ok") })
        try server.start()
        let received = Locked([Int32]())
        let trap = SignalTrap([SIGWINCH]) { number in
            received.withLock { $0.append(number) }
            server.stop()
        }
        #expect(try FastCGIClient(address: .unix(path: path)).send(.get, "/").text == "ok")
        kill(getpid(), SIGWINCH)
        let delivered = ServerEndToEndTests.eventually { received.withLock { $0 } == [SIGWINCH] }
        #expect(delivered)
        if !delivered { server.stop() }  // so that a failure cannot hang the test run
        server.wait()  // returns because the signal stopped the server
        trap.cancel()
        socket.close()
    }
}
