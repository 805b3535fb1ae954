import Glibc
import POSIX
import Testing

@testable import FastCGI

/// The worker's stop path: a signal relayed through `SignalRelay` stops a serving server
/// (replaces the dispatch-source `SignalTrap`). SIGWINCH: its default action is "ignore", and
/// no other suite sends or relays it, so this test can never kill the test process (signal
/// dispositions are process-wide and suites run in parallel).
@Suite struct SignalRelayServerTests {
    @Test func aSignalStopsTheServerEvenWhenSentRightAfterSetup() throws {
        let path = ServerEndToEndTests.socketPath("signal")
        let socket = try ListeningSocket.bind(.unix(path: path))
        let server = try FastCGIServer(
            listeningDescriptor: socket.fileDescriptor, handler: ClosureHandler { _ in HTTPResponse(text: "ok") })
        try server.start()
        let relay = try SignalRelay.install([SIGWINCH])
        // Sent before anything waits for it: the relay must keep it, not lose it.
        kill(getpid(), SIGWINCH)
        #expect(try FastCGIClient(address: .unix(path: path)).send(.get, "/").text == "ok")
        let received = Locked([Int32]())
        let watcher = try spawnThread(stackBytes: 1 << 20) {
            let signals = relay.waitForSignals()
            received.withLock { $0 = signals }
            server.stop()
        }
        let delivered = ServerEndToEndTests.eventually { received.withLock { $0 } == [SIGWINCH] }
        #expect(delivered)
        if !delivered {
            // So that a failure cannot hang the test run.
            kill(getpid(), SIGWINCH)
            server.stop()
        }
        server.wait()  // returns because the signal stopped the server
        pthread_join(watcher, nil)
        relay.uninstall()
        socket.close()
        #expect(throws: FastCGIClient.Failure.self) { try FastCGIClient(address: .unix(path: path)).send(.get, "/late") }
    }
}
