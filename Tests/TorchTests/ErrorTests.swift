import Testing

@testable import Torch

@Suite struct ErrorTests {
    @Test func shapeMismatchThrowsLibtorchMessage() throws {
        let a = try Tensor.ones([2, 3])
        let b = try Tensor.ones([2, 3])
        do {
            _ = try a.matmul(b)
            Issue.record("matmul of [2,3] by [2,3] did not throw")
        } catch let error as TorchError {
            #expect(error.message.contains("cannot be multiplied"), "message: \(error.message)")
            #expect(error.message.contains("2x3"), "message: \(error.message)")
            // The C++ backtrace is stripped.
            #expect(!error.message.contains("Exception raised from"), "message: \(error.message)")
        }
    }

    @Test func errorsDoNotLeakIntoLaterCalls() throws {
        #expect(throws: TorchError.self) { try Tensor.ones([3]).reshape([2]) }
        #expect(try Tensor.ones([4]).reshape([2, 2]).shape == [2, 2])
        #expect(throws: TorchError.self) { try Tensor.ones([2]).select(dim: 0, index: 5) }
        #expect(throws: TorchError.self) { try Tensor.ones([2]).transpose(0, 3) }
        #expect(throws: TorchError.self) { try Tensor.ones([2]).item() }
        #expect(throws: TorchError.self) { try Tensor.ones([2]) + Tensor.ones([3]) }
    }

    @Test func errorsOnOtherThreadsAreIndependent() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<8 {
                group.addTask {
                    if i.isMultiple(of: 2) {
                        #expect(throws: TorchError.self) { try Tensor.ones([3]).reshape([2]) }
                    } else {
                        let t = try Tensor.arange(0, Double(i + 1), dtype: .float32)
                        #expect(try t.sum().item() == Double(i * (i + 1) / 2))
                    }
                }
            }
            try await group.waitForAll()
        }
    }
}
