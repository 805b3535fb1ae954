import Foundation
import Glibc
import Testing

@testable import POSIX

@Suite struct SerialThreadTests {
    struct Failure: Error, Equatable { let code: Int }

    @Test func closuresRunOnTheOneThreadAndReturnTheirResults() throws {
        let serial = try SerialThread(subject: "test thread")
        let callers = Locked(Set<UInt>())
        let runners = Locked(Set<UInt>())
        let results = Locked([Int]())
        let group = DispatchGroup()
        // Eight callers on their own threads (as FastCGI request threads would be).
        for index in 0..<8 {
            group.enter()
            _ = try spawnThread(stackBytes: 1 << 20) {
                defer { group.leave() }
                callers.withLock { _ = $0.insert(UInt(pthread_self())) }
                let value = try? serial.run { () -> Int in
                    #expect(serial.isCurrent)
                    runners.withLock { _ = $0.insert(UInt(pthread_self())) }
                    return index * 10
                }
                results.withLock { $0.append(value ?? -1) }
            }
        }
        #expect(group.wait(timeout: .now() + 30) == .success)
        #expect(results.withLock { $0.sorted() } == (0..<8).map { $0 * 10 })
        #expect(runners.withLock { $0.count } == 1, "every closure ran on the same thread")
        #expect(runners.withLock { $0.isDisjoint(with: callers.withLock { $0 }) }, "and on none of the callers'")
        #expect(!serial.isCurrent)
    }

    @Test func errorsReachTheCallerAndTheThreadGoesOn() throws {
        let serial = try SerialThread(subject: "test thread")
        #expect(throws: Failure(code: 7)) { try serial.run { throw Failure(code: 7) } }
        #expect(try serial.run { 42 } == 42)
    }

    @Test func closuresNeverOverlap() throws {
        let serial = try SerialThread(subject: "test thread")
        let running = Locked(0)
        let maximum = Locked(0)
        let group = DispatchGroup()
        for _ in 0..<6 {
            group.enter()
            _ = try spawnThread(stackBytes: 1 << 20) {
                defer { group.leave() }
                for _ in 0..<20 {
                    try? serial.run {
                        let now = running.withLock { value -> Int in
                            value += 1
                            return value
                        }
                        maximum.withLock { $0 = max($0, now) }
                        usleep(200)
                        running.withLock { $0 -= 1 }
                    }
                }
            }
        }
        #expect(group.wait(timeout: .now() + 60) == .success)
        #expect(maximum.withLock { $0 } == 1)
    }

    @Test func aClosureSubmittedFromTheThreadRunsInline() throws {
        let serial = try SerialThread(subject: "test thread")
        let inner = try serial.run { try serial.run { serial.isCurrent } }
        #expect(inner)
    }

    @Test func afterStopRunThrowsAndQueuedWorkHadFinished() throws {
        let serial = try SerialThread(subject: "test thread")
        let finished = Locked(false)
        try serial.run {
            usleep(1000)
            finished.withLock { $0 = true }
        }
        serial.stop()
        #expect(finished.withLock { $0 })
        #expect(throws: SerialThreadError.self) { try serial.run { 1 } }
        serial.stop()  // idempotent
    }
}
