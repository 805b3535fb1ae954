import Glibc
import Testing

@testable import POSIX

@Suite struct LockedTests {
    @Test func waitBlocksUntilThePredicateHolds() throws {
        let gate = Locked((open: false, passed: false))
        let waiter = try startThread {
            gate.wait(until: { $0.open }, then: { $0.passed = true })
        }
        usleep(50_000)
        #expect(gate.withLock { $0.passed } == false, "still waiting: the gate is closed")
        gate.withLock { $0.open = true }
        pthread_join(waiter, nil)
        #expect(gate.withLock { $0.passed })
    }

    @Test func monotonicTimeAdvances() {
        let start = MonotonicTime.now()
        usleep(10_000)
        #expect(start.elapsed >= 0.009)
        #expect(start < start + 1 && (start + 1) - start == 1)
        #expect(Duration.milliseconds(1500).inSeconds == 1.5)
    }
}
