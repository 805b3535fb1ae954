import Testing

@testable import Torch

@Suite struct ShapeTests {
    let m: Tensor

    init() throws {
        m = try tensor([0, 1, 2, 3, 4, 5], [2, 3])  // [[0,1,2],[3,4,5]]
    }

    @Test func reshapeViewPermuteTranspose() throws {
        #expect(try m.reshape([3, -1]).shape == [3, 2])
        #expect(try m.view([6]).floats() == [0, 1, 2, 3, 4, 5])
        #expect(try m.transpose(0, 1).floats() == [0, 3, 1, 4, 2, 5])
        let cube = try Tensor.arange(0, 24, dtype: .float32).reshape([2, 3, 4])
        let permuted = try cube.permute([2, 0, 1])
        #expect(permuted.shape == [4, 2, 3])
        // permuted[i][j][k] == cube[j][k][i] == 12j + 4k + i
        let values = try permuted.floats()
        for i in 0..<4 {
            for j in 0..<2 {
                for k in 0..<3 {
                    #expect(values[i * 6 + j * 3 + k] == Float(12 * j + 4 * k + i))
                }
            }
        }
        // A transposed tensor is not viewable as flat.
        #expect(throws: TorchError.self) { try m.transpose(0, 1).view([6]) }
    }

    @Test func squeezeUnsqueezeFlattenExpand() throws {
        let u = try m.unsqueeze(0)
        #expect(u.shape == [1, 2, 3])
        #expect(try u.squeeze(0).shape == [2, 3])
        #expect(try u.flatten(1, 2).shape == [1, 6])
        #expect(try u.flatten().shape == [6])
        let column = try tensor([1, 2], [2, 1])
        #expect(try column.expand([2, 3]).floats() == [1, 1, 1, 2, 2, 2])
        #expect(try column.expand([-1, 2]).shape == [2, 2])
    }

    @Test func narrowSelectSlice() throws {
        #expect(try m.narrow(dim: 1, start: 1, length: 2).floats() == [1, 2, 4, 5])
        #expect(try m.select(dim: 0, index: 1).floats() == [3, 4, 5])
        #expect(try m.select(dim: 1, index: -1).floats() == [2, 5])
        #expect(try m.slice(dim: 1, start: 0, end: 3, step: 2).floats() == [0, 2, 3, 5])
        #expect(try m.slice(dim: 1, start: 1).floats() == [1, 2, 4, 5])
    }

    @Test func catStackSplitChunk() throws {
        let a = try tensor([1, 2], [1, 2])
        let b = try tensor([3, 4, 5, 6], [2, 2])
        #expect(try Tensor.cat([a, b], dim: 0).floats() == [1, 2, 3, 4, 5, 6])
        #expect(try Tensor.cat([a, a], dim: 1).shape == [1, 4])
        #expect(try Tensor.stack([a, a], dim: 0).shape == [2, 1, 2])
        let parts = try Tensor.arange(0, 7, dtype: .float32).split(sizes: [2, 5], dim: 0)
        #expect(parts.count == 2)
        #expect(try parts[0].floats() == [0, 1])
        #expect(try parts[1].floats() == [2, 3, 4, 5, 6])
        #expect(throws: TorchError.self) { try Tensor.arange(0, 7, dtype: .float32).split(sizes: [2, 2], dim: 0) }
        let chunks = try Tensor.arange(0, 7, dtype: .float32).chunk(3, dim: 0)
        #expect(chunks.map(\.shape) == [[3], [3], [1]])
        #expect(throws: TorchError.self) { try Tensor.cat([], dim: 0) }
    }

    @Test func indexSelectAndMasks() throws {
        let index = try Tensor(int64s: [2, 0], shape: [2])
        #expect(try m.indexSelect(dim: 1, index: index).floats() == [2, 0, 5, 3])
        let mask = try m.gt(2.5)
        #expect(try mask.bools() == [false, false, false, true, true, true])
        #expect(try m.maskedFill(mask, value: -1).floats() == [0, 1, 2, -1, -1, -1])
        #expect(try m.maskedSelect(mask).floats() == [3, 4, 5])
        let source = try tensor([10, 20, 30, 40], [4])
        let odd = try Tensor(bools: [false, true, false, true, false, true], shape: [2, 3])
        #expect(try m.maskedScatter(odd, source: source).floats() == [0, 10, 2, 20, 4, 30])
        #expect(try Tensor.where(odd, m, m.neg()).floats() == [0, 1, -2, 3, -4, 5])
        #expect(try odd.nonzero().int64s() == [0, 1, 1, 0, 1, 2])
    }

    @Test func padAndRepeatInterleave() throws {
        let row = try tensor([1, 2], [1, 2])
        #expect(try row.pad([1, 0], value: 9).floats() == [9, 1, 2])
        #expect(try row.pad([0, 0, 1, 0]).shape == [2, 2])
        #expect(try row.repeatInterleave(2, dim: 1).floats() == [1, 1, 2, 2])
    }
}
