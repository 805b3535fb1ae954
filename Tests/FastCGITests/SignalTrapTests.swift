#if canImport(Glibc)
import Glibc
#endif
import Testing

@testable import FastCGI

@Suite struct SignalTrapTests {
    @Test func deliversSignalsToTheHandlerAndStopsAServer() throws {
        let path = ServerEndToEndTests.socketPath("signal")
        let socket = try ListenSocket.bind(.unix(path: path))
        let server = try FastCGIServer(socket: socket, handler: ClosureHandler { _ in HTTPResponse(text: "ok") })
        try server.start()
        let received = Locked([Int32]())
        let trap = SignalTrap([SIGUSR2]) { number in
            received.withLock { $0.append(number) }
            server.stop()
        }
        #expect(try FastCGIClient(address: .unix(path: path)).send(.get, "/").text == "ok")
        kill(getpid(), SIGUSR2)
        #expect(ServerEndToEndTests.eventually { received.withLock { $0 } == [SIGUSR2] })
        server.wait()  // returns because the signal stopped the server
        trap.cancel()
        socket.close()
    }
}
