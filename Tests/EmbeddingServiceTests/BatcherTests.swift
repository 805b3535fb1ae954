import Foundation
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
}
