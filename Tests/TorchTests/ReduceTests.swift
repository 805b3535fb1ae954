import Testing

@testable import Torch

@Suite struct ReduceTests {
    let m: Tensor
    init() throws { m = try tensor([1, -2, 3, 4, 5, -6], [2, 3]) }

    @Test func sumMeanMaxMin() throws {
        #expect(try m.sum().item() == 5)
        expectClose(try m.sum(dims: [0]).floats(), [5, 3, -3])
        expectClose(try m.sum(dims: [1]).floats(), [2, 3])
        #expect(try m.sum(dims: [1], keepDim: true).shape == [2, 1])
        #expect(try m.mean().item() == 5.0 / 6.0 || Swift.abs(try m.mean().item() - 5.0 / 6.0) < 1e-6)
        expectClose(try m.mean(dims: [1]).floats(), [2.0 / 3, 1])
        expectClose(try m.amax(dims: [1]).floats(), [3, 5])
        expectClose(try m.amin(dims: [0]).floats(), [1, -2, -6])
        #expect(try m.amax().item() == 5)
        #expect(try m.argmax(dim: 1).int64s() == [2, 1])
        #expect(try m.argmax(dim: 0, keepDim: true).shape == [1, 3])
    }

    @Test func norms() throws {
        let v = try tensor([3, 4, 0, 12], [2, 2])
        expectClose(try v.norm(dims: [1]).floats(), [5, 12])
        #expect(Swift.abs(try v.norm().item() - 13) < 1e-5)
        #expect(try v.norm(keepDim: true).shape == [1, 1])
        expectClose(try v.norm(p: 1, dims: [0]).floats(), [3, 16])
    }
}
