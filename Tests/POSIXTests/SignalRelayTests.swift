import Glibc
import Testing

@testable import POSIX

/// Real signals through the relay. Serialized: signal dispositions are process-wide. Only
/// SIGUSR1, SIGUSR2 and SIGURG are used here; other suites relay other signals (a signal is
/// relayed by one relay at a time, so suites with disjoint signals may run in parallel).
@Suite(.serialized) struct SignalRelayTests {
    @Test func relayDeliversSignalsAndIsExclusive() throws {
        let relay = try SignalRelay.install([SIGUSR1, SIGUSR2])
        #expect(throws: SignalRelayError.alreadyInstalled) { try SignalRelay.install([SIGUSR1]) }
        #expect(relay.takePending().isEmpty)
        // Process-directed (kill, not raise): test threads may block signals, and a
        // signal raised on such a thread would stay pending there.
        kill(getpid(), SIGUSR1)
        var received: [Int32] = []
        #expect(
            eventually {
                received += relay.takePending()
                return received == [SIGUSR1]
            })
        kill(getpid(), SIGUSR2)
        #expect(
            eventually {
                received += relay.takePending()
                return received == [SIGUSR1, SIGUSR2]
            })
        relay.uninstall()
        let again = try SignalRelay.install([SIGUSR1])
        again.uninstall()
    }

    /// The handler is in place when `install` returns: a signal sent before anyone waits is
    /// kept in the pipe, not lost (what the dispatch-source trap could not promise).
    @Test func aSignalSentRightAfterInstallIsNotLost() throws {
        let relay = try SignalRelay.install([SIGURG])
        defer { relay.uninstall() }
        kill(getpid(), SIGURG)
        let received = Locked([Int32]())
        let waiter = try startThread {
            let signals = relay.waitForSignals()
            received.withLock { $0 = signals }
        }
        #expect(eventually { received.withLock { $0 } == [SIGURG] })
        if received.withLock({ $0.isEmpty }) { kill(getpid(), SIGURG) }  // so the waiter cannot hang the run
        pthread_join(waiter, nil)
    }

    @Test func relaysForDisjointSignalsCoexist() throws {
        let first = try SignalRelay.install([SIGUSR1])
        let second = try SignalRelay.install([SIGUSR2])
        defer {
            first.uninstall()
            second.uninstall()
        }
        // A failed install claims nothing: SIGURG stays free although SIGUSR2 was taken.
        #expect(throws: SignalRelayError.alreadyInstalled) { try SignalRelay.install([SIGURG, SIGUSR2]) }
        let third = try SignalRelay.install([SIGURG])
        third.uninstall()

        kill(getpid(), SIGUSR2)
        #expect(eventually { second.takePending() == [SIGUSR2] })
        #expect(first.takePending().isEmpty)
    }

    @Test func rejectsSignalNumbersOutsideTheTable() {
        #expect(throws: SignalRelayError.unsupportedSignal) { try SignalRelay.install([0]) }
        #expect(throws: SignalRelayError.unsupportedSignal) { try SignalRelay.install([65]) }
    }
}

/// A joinable thread running `body`.
func startThread(_ body: @escaping @Sendable () -> Void) throws -> pthread_t {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let code = pthread_create(
        &thread, nil,
        { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
    guard code == 0 else { throw SystemCallError("pthread_create", errno: code) }
    return thread
}
