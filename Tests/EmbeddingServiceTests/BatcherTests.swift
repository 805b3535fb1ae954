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

    @Test func concurrentCallersShareForwardPasses() async throws {
        let seen = Gate()
        let batcher = Batcher<Int, Int>(maxBatch: 64) { inputs in
            seen.lock.lock()
            seen.calls.append(inputs)
            seen.lock.unlock()
            Thread.sleep(forTimeInterval: 0.05)  // a "forward pass"
            return inputs.map { $0 * 10 }
        }
        let callers = 16
        try await withThrowingTaskGroup(of: (Int, [Int]).self) { group in
            for caller in 0..<callers {
                group.addTask {
                    let inputs = [caller * 100, caller * 100 + 1]
                    return (caller, try await Task.detached { try batcher.run(inputs) }.value)
                }
            }
            for try await (caller, outputs) in group {
                #expect(outputs == [caller * 1000, caller * 1000 + 10])
            }
        }
        // 16 requests arriving during 50 ms passes: far fewer passes than requests.
        #expect(batcher.batchesRun < callers)
        #expect(seen.calls.flatMap { $0 }.count == callers * 2)
        #expect(seen.calls.contains { $0.count > 2 })
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
                group.addTask { try await Task.detached { try batcher.run([caller, caller, caller, caller].prefix(caller % 3 + 1).map { $0 }) }.value }
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
