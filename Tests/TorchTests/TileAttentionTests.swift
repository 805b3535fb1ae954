import Foundation
import Testing

@testable import Torch

/// The bridge's bfloat16 tile attention against attention computed here in double precision and
/// against libtorch's SDPA. It runs only on AVX512_BF16; elsewhere asking for it must fail.
@Suite struct TileAttentionTests {
    static let available = Tensor.tileAttentionAvailable

    struct Shape: Sendable, CustomStringConvertible {
        var tiles: Int
        var patches: Int
        var heads: Int
        var dim: Int
        var description: String { "\(tiles) tiles x \(patches) patches, \(heads) heads of \(dim)" }
    }

    /// Patch counts around the kernel's blocks (6 queries, 64 keys, key pairs), head sizes with
    /// and without a 32-column tail.
    static let shapes = [
        Shape(tiles: 1, patches: 1, heads: 1, dim: 32), Shape(tiles: 2, patches: 7, heads: 3, dim: 64),
        Shape(tiles: 1, patches: 70, heads: 2, dim: 96), Shape(tiles: 2, patches: 131, heads: 1, dim: 128),
        Shape(tiles: 1, patches: 64, heads: 2, dim: 32), Shape(tiles: 1, patches: 256, heads: 12, dim: 64),
    ]

    @Test func availabilityFollowsTheCPU() {
        #expect(Self.available == (CPUFeatures.detect().hardwareISA >= .avx512BF16))
    }

    @Test func withoutAVX512BF16ItIsAnError() throws {
        guard !Self.available else { return }  // this CPU runs it: the tests below check it
        let qkv = try Tensor.ones([1, 4, 3 * 32]).to(.bfloat16)
        #expect(throws: TorchError.self) { try qkv.tileAttention(heads: 1, scale: 0.1) }
    }

    /// softmax(q·kᵀ·scale)·v in Double from the bfloat16 inputs, [N, P, H·D].
    static func expected(_ qkv: [Float], _ shape: Shape, scale: Double) -> [Float] {
        let (n, p, h, d) = (shape.tiles, shape.patches, shape.heads, shape.dim)
        func at(_ tile: Int, _ patch: Int, _ part: Int, _ head: Int, _ k: Int) -> Double {
            Double(qkv[(((tile * p + patch) * 3 + part) * h + head) * d + k])
        }
        var out = [Float](repeating: 0, count: n * p * h * d)
        for tile in 0..<n {
            for head in 0..<h {
                for i in 0..<p {
                    var scores = (0..<p).map { j in (0..<d).reduce(0.0) { $0 + at(tile, i, 0, head, $1) * at(tile, j, 1, head, $1) } * scale
                    }
                    let top = scores.max() ?? 0
                    scores = scores.map { Foundation.exp($0 - top) }
                    let sum = scores.reduce(0, +)
                    for k in 0..<d {
                        let value = (0..<p).reduce(0.0) { $0 + scores[$1] * at(tile, $1, 2, head, k) }
                        out[((tile * p + i) * h + head) * d + k] = Float(value / sum)
                    }
                }
            }
        }
        return out
    }

    static func input(_ shape: Shape, seed: UInt64, spread: Float) throws -> Tensor {
        var random = Lcg(state: seed)
        let count = shape.tiles * shape.patches * 3 * shape.heads * shape.dim
        return try tensor(random.values(count).map { $0 * spread }, [shape.tiles, shape.patches, 3 * shape.heads * shape.dim])
            .to(.bfloat16)
    }

    @Test(arguments: shapes)
    func matchesAttentionInDoublePrecision(shape: Shape) throws {
        guard Self.available else { return }
        // spread 2: scores of a few units, so the softmax is far from uniform.
        let qkv = try Self.input(shape, seed: UInt64(shape.patches * 31 + shape.dim), spread: 2)
        let scale = 1 / Double(shape.dim).squareRoot()
        let out = try qkv.tileAttention(heads: shape.heads, scale: scale)
        #expect(out.dtype == .bfloat16)
        #expect(out.shape == [shape.tiles, shape.patches, shape.heads * shape.dim])
        // The weights and the output are rounded to bfloat16 (8 bits; |out| < 2).
        expectClose(try out.floats(), Self.expected(try qkv.floats(), shape, scale: scale), tolerance: 2e-2)
    }

    /// The composition the model ran before: view, permute, libtorch's SDPA in bfloat16, the
    /// transpose's copy; on a strided (non-contiguous) input too.
    @Test func matchesLibtorchsAttention() throws {
        guard Self.available else { return }
        let shape = Shape(tiles: 2, patches: 200, heads: 4, dim: 64)
        let scale = 1 / 8.0
        let wide = try Self.input(Shape(tiles: 2, patches: 200, heads: 8, dim: 64), seed: 3, spread: 2)
        let qkv = try wide.narrow(dim: 2, start: 0, length: 3 * shape.heads * shape.dim)
        #expect(!qkv.isContiguous)
        let parts = try qkv.reshape([shape.tiles, shape.patches, 3, shape.heads, shape.dim]).permute([2, 0, 3, 1, 4])
        let reference = try Tensor.scaledDotProductAttention(
            query: parts.select(dim: 0, index: 0), key: parts.select(dim: 0, index: 1), value: parts.select(dim: 0, index: 2),
            scale: scale
        ).transpose(1, 2).reshape([shape.tiles, shape.patches, shape.heads * shape.dim])
        let out = try qkv.tileAttention(heads: shape.heads, scale: scale)
        expectClose(try out.floats(), try reference.floats(), tolerance: 2e-2)
        // Not trivially close: the outputs span more than the tolerance.
        let values = try out.floats()
        #expect((values.max() ?? 0) - (values.min() ?? 0) > 0.5)
    }

    @Test func misuseIsAnError() throws {
        guard Self.available else { return }
        let good = try Tensor.zeros([1, 4, 3 * 64]).to(.bfloat16)
        let cases: [(String, () throws -> Tensor)] = [
            ("float32", { try Tensor.zeros([1, 4, 3 * 64]).tileAttention(heads: 1, scale: 1) }),
            ("2-D", { try Tensor.zeros([4, 3 * 64]).to(.bfloat16).tileAttention(heads: 1, scale: 1) }),
            ("heads not dividing", { try good.tileAttention(heads: 5, scale: 1) }),
            ("zero heads", { try good.tileAttention(heads: 0, scale: 1) }),
            ("head size 16", { try good.tileAttention(heads: 4, scale: 1) }),
        ]
        for (name, call) in cases {
            #expect(throws: TorchError.self, "\(name)") { try call() }
        }
        #expect(try Tensor.zeros([0, 4, 3 * 64]).to(.bfloat16).tileAttention(heads: 1, scale: 1).shape == [0, 4, 64])
    }
}
