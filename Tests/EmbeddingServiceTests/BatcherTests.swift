import Foundation
import POSIX
import Testing

@testable import EmbeddingService

private final class Gate: @unchecked Sendable {
    let lock = NSLock()
    var calls: [[Int]] = []
}

@Suite struct BatcherTests {
    @Test func singleCallerGetsItsOutputsInOrder() throws {
        let batcher = Batcher<Int, String>(maxBatch: 8) { $0.map { "v\($0)" } }
        #expect(try batcher.run([3, 1, 2]) == ["v3", "v1", "v2"])
        #expect(try batcher.run([]) == [])
        #expect(batcher.batchesRun == 1)
    }

    @Test func requestsArrivingDuringAForwardPassShareTheNext() throws {
        let seen = Gate()
        let firstPassMayFinish = DispatchSemaphore(value: 0)
        let batcher = Batcher<Int, Int>(maxBatch: 64) { inputs in
            seen.lock.lock()
            let first = seen.calls.isEmpty
            seen.calls.append(inputs)
            seen.lock.unlock()
            if first { firstPassMayFinish.wait() }  // a long "forward pass"
            return inputs.map { $0 * 10 }
        }
        let callers = 16
        let results = Gate()
        let done = DispatchGroup()
        func start(_ caller: Int) {
            done.enter()
            Thread {
                let outputs = try? batcher.run([caller * 100, caller * 100 + 1])
                results.lock.lock()
                results.calls.append([caller] + (outputs ?? []))
                results.lock.unlock()
                done.leave()
            }.start()
        }
        start(0)
        while seen.lock.withLock({ seen.calls.isEmpty }) { Thread.sleep(forTimeInterval: 0.001) }
        for caller in 1..<callers { start(caller) }
        // Every later caller is queued behind the running pass before it ends.
        let deadline = Date().addingTimeInterval(10)
        while batcher.pendingJobs < callers - 1, Date() < deadline { Thread.sleep(forTimeInterval: 0.001) }
        #expect(batcher.pendingJobs == callers - 1)
        firstPassMayFinish.signal()
        #expect(done.wait(timeout: .now() + 10) == .success)

        #expect(batcher.batchesRun == 2)
        #expect(seen.calls.map(\.count) == [2, 2 * (callers - 1)])
        for result in results.calls {
            let caller = result[0]
            #expect(Array(result.dropFirst()) == [caller * 1000, caller * 1000 + 10], "caller \(caller)")
        }
        #expect(results.calls.count == callers)
    }

    @Test func batchesRespectMaxButNeverSplitAJob() async throws {
        let seen = Gate()
        let batcher = Batcher<Int, Int>(maxBatch: 3) { inputs in
            seen.lock.lock()
            seen.calls.append(inputs)
            seen.lock.unlock()
            Thread.sleep(forTimeInterval: 0.02)
            return inputs
        }
        try await withThrowingTaskGroup(of: [Int].self) { group in
            for caller in 0..<6 {
                group.addTask {
                    try await Task.detached { try batcher.run([caller, caller, caller, caller].prefix(caller % 3 + 1).map { $0 }) }.value
                }
            }
            for try await _ in group {}
        }
        let big = try batcher.run([1, 2, 3, 4, 5])
        #expect(big == [1, 2, 3, 4, 5])
        // Every combined batch holds at most 3 inputs; the 5-input job ran alone.
        #expect(seen.calls.allSatisfy { $0.count <= 3 || $0 == [1, 2, 3, 4, 5] })
    }

    @Test func errorsReachEveryJobOfTheBatchAndTheBatcherRecovers() throws {
        struct Boom: Error {}
        let batcher = Batcher<Int, Int>(maxBatch: 4) { inputs in
            if inputs.contains(-1) { throw Boom() }
            return inputs
        }
        #expect(throws: Boom.self) { try batcher.run([1, -1]) }
        #expect(try batcher.run([7]) == [7])
        let wrong = Batcher<Int, Int>(maxBatch: 4) { _ in [] }
        #expect(throws: BatcherError.self) { try wrong.run([1]) }
    }

    /// A caller abandoned while it waits behind a running pass leaves at once with
    /// `.abandoned`, and its inputs never reach `process`.
    @Test func abandonedQueuedCallersAreDroppedBeforeTheirForwardPass() throws {
        let seen = Gate()
        let firstPassMayFinish = DispatchSemaphore(value: 0)
        let batcher = Batcher<Int, Int>(maxBatch: 64) { inputs in
            seen.lock.withLock { seen.calls.append(inputs) }
            if inputs == [1] { firstPassMayFinish.wait() }
            return inputs
        }
        let abandoned = Locked(false)
        let results = Gate()
        let done = DispatchGroup()
        done.enter()
        Thread {
            _ = try? batcher.run([1])
            done.leave()
        }.start()
        while seen.lock.withLock({ seen.calls.isEmpty }) { Thread.sleep(forTimeInterval: 0.001) }
        let dropped = DispatchSemaphore(value: 0)
        Thread {
            do {
                _ = try batcher.run([2, 3]) { abandoned.withLock { $0 } }
            } catch let error as BatcherError {
                if error == .abandoned(inputs: 2) { results.lock.withLock { results.calls.append([2]) } }
            } catch {}
            dropped.signal()
        }.start()
        while batcher.pendingJobs < 1 { Thread.sleep(forTimeInterval: 0.001) }
        abandoned.withLock { $0 = true }
        // It leaves while the first pass still runs.
        #expect(dropped.wait(timeout: .now() + 1) == .success)
        #expect(results.lock.withLock { results.calls } == [[2]])
        #expect(batcher.pendingJobs == 0)
        firstPassMayFinish.signal()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(seen.lock.withLock { seen.calls } == [[1]])
        #expect(batcher.batchesRun == 1)
    }

    /// A caller already abandoned when a leader takes the queue is left out of the batch.
    @Test func theLeaderLeavesAbandonedJobsOut() throws {
        let seen = Gate()
        let batcher = Batcher<Int, Int>(maxBatch: 64) { inputs in
            seen.lock.withLock { seen.calls.append(inputs) }
            return inputs
        }
        #expect(throws: BatcherError.abandoned(inputs: 1)) { try batcher.run([7]) { true } }
        #expect(try batcher.run([8]) { false } == [8])
        #expect(seen.lock.withLock { seen.calls } == [[8]])
    }

    /// `stop` is false while any caller of the pass is still there: here two callers share one
    /// pass, and the pass sees `stop` turn true only after both have given up.
    @Test func aRunningPassIsToldToStopOnlyWhenAllItsCallersAreGone() throws {
        let gone = Locked([false, false])
        let stopSeen = Locked<[Bool]>([])
        let firstPassMayFinish = DispatchSemaphore(value: 0)
        let secondPassStarted = DispatchSemaphore(value: 0)
        let batcher = Batcher<Int, Int>(maxBatch: 64) { inputs, stop in
            if inputs == [0] {
                firstPassMayFinish.wait()
                return inputs
            }
            secondPassStarted.signal()
            stopSeen.withLock { $0.append(stop()) }
            gone.withLock { $0[0] = true }
            stopSeen.withLock { $0.append(stop()) }
            gone.withLock { $0[1] = true }
            stopSeen.withLock { $0.append(stop()) }
            throw CancellationError()
        }
        let done = DispatchGroup()
        func start(_ inputs: [Int], _ isCancelled: @escaping @Sendable () -> Bool) {
            done.enter()
            Thread {
                _ = try? batcher.run(inputs, isCancelled: isCancelled)
                done.leave()
            }.start()
        }
        start([0]) { false }
        while batcher.pendingJobs > 0 || batcher.batchesRun > 0 { Thread.sleep(forTimeInterval: 0.001) }
        Thread.sleep(forTimeInterval: 0.05)  // the first pass is running
        start([1]) { gone.withLock { $0[0] } }
        start([2]) { gone.withLock { $0[1] } }
        while batcher.pendingJobs < 2 { Thread.sleep(forTimeInterval: 0.001) }
        firstPassMayFinish.signal()
        #expect(secondPassStarted.wait(timeout: .now() + 10) == .success)
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(stopSeen.withLock { $0 } == [false, false, true])
        #expect(batcher.batchesRun == 2)
    }
}
