import Foundation
import Testing

@testable import Torch

/// The bridge's one-pass rotary attention against the same attention computed here in double
/// precision and against libtorch's operators (what the model ran before), on both its paths
/// (AVX2 and scalar), with and without masks.
@Suite struct ShortAttentionTests {
    /// One problem: qkv [B, L, 3·H·D], rotary tables [L, D], an optional bool mask [1 or B, 1, L, L].
    struct Problem: CustomStringConvertible {
        let batch, length, heads, dim: Int
        let qkv, cos, signedSin: [Float]
        let mask: [Bool]?
        let maskBatch: Int

        init(batch: Int, length: Int, heads: Int, dim: Int, mask: MaskKind, seed: UInt64) {
            (self.batch, self.length, self.heads, self.dim) = (batch, length, heads, dim)
            var random = Lcg(state: seed)
            qkv = random.values(batch * length * 3 * heads * dim).map { $0 * 2 }
            cos = random.values(length * dim)
            signedSin = random.values(length * dim)
            switch mask {
            case .none:
                self.mask = nil
                maskBatch = 1
            case .band(let width):  // [1, 1, L, L]: |i − j| ≤ width, as a sliding window
                self.mask = (0..<length * length).map { Swift.abs($0 / length - $0 % length) <= width }
                maskBatch = 1
            case .padding:  // [B, 1, L, L]: sequence b has L − b real tokens; each row keeps its own key
                self.mask = (0..<batch * length * length).map { index in
                    let (b, i, j) = (index / (length * length), index / length % length, index % length)
                    return j < length - b || i == j
                }
                maskBatch = batch
            case .nothing:  // every key forbidden: the rows come out zero
                self.mask = Array(repeating: false, count: length * length)
                maskBatch = 1
            }
        }

        var description: String { "B \(batch) L \(length) H \(heads) D \(dim) mask \(mask == nil ? "none" : "[\(maskBatch), 1, L, L]")" }

        func tensors() throws -> (qkv: Tensor, cos: Tensor, signedSin: Tensor, mask: Tensor?) {
            (
                try tensor(qkv, [batch, length, 3 * heads * dim]), try tensor(cos, [1, 1, length, dim]),
                try tensor(signedSin, [1, 1, length, dim]),
                try mask.map { try tensor($0.map { $0 ? 1 : 0 }, [maskBatch, 1, length, length]).to(.bool) }
            )
        }

        func value(_ b: Int, _ i: Int, _ part: Int, _ h: Int, _ d: Int) -> Double {
            Double(qkv[(((b * length + i) * 3 + part) * heads + h) * dim + d])
        }

        func rotated(_ b: Int, _ i: Int, _ part: Int, _ h: Int, _ d: Int) -> Double {
            let half = dim / 2
            let swapped = value(b, i, part, h, d < half ? d + half : d - half)
            return value(b, i, part, h, d) * Double(cos[i * dim + d]) + swapped * Double(signedSin[i * dim + d])
        }

        /// The attention in Double: out [B, L, H·D].
        func exact() -> [Double] {
            var out = Array(repeating: 0.0, count: batch * length * heads * dim)
            let scale = 1 / Double(dim).squareRoot()
            for b in 0..<batch {
                for h in 0..<heads {
                    let q = (0..<length).map { i in (0..<dim).map { rotated(b, i, 0, h, $0) } }
                    let k = (0..<length).map { i in (0..<dim).map { rotated(b, i, 1, h, $0) } }
                    for i in 0..<length {
                        let maskRow = (maskBatch == 1 ? 0 : b) * length * length + i * length
                        let allowed = (0..<length).map { j in mask.map { $0[maskRow + j] } ?? true }
                        let scores = (0..<length).map { j in
                            allowed[j] ? zip(q[i], k[j]).reduce(0) { $0 + $1.0 * $1.1 } * scale : -Double.infinity
                        }
                        guard let top = scores.max(), top > -.infinity else { continue }
                        let weights = scores.map { $0 == -.infinity ? 0 : Foundation.exp($0 - top) }
                        let sum = weights.reduce(0, +)
                        for d in 0..<dim {
                            let total = (0..<length).reduce(0.0) { $0 + weights[$1] * value(b, $1, 2, h, d) }
                            out[((b * length + i) * heads + h) * dim + d] = total / sum
                        }
                    }
                }
            }
            return out
        }
    }

    enum MaskKind {
        case none
        case band(Int)
        case padding
        case nothing
    }

    /// Shapes the model runs (32 tokens of 12 x 64) and edges of both paths: one token, a length
    /// below one vector of keys, odd lengths (a last query row alone, keys past a block of 32),
    /// the longest length; head sizes of the vector path (16, 64, 128) and of the scalar one only
    /// (24: not a multiple of 16; 130: over 128).
    static let problems: [Problem] = [
        Problem(batch: 1, length: 32, heads: 12, dim: 64, mask: .none, seed: 1),
        Problem(batch: 1, length: 1, heads: 2, dim: 64, mask: .none, seed: 2),
        Problem(batch: 2, length: 7, heads: 3, dim: 16, mask: .padding, seed: 3),
        Problem(batch: 1, length: 33, heads: 2, dim: 32, mask: .band(4), seed: 4),
        Problem(batch: 3, length: 70, heads: 2, dim: 64, mask: .padding, seed: 5),
        Problem(batch: 1, length: 45, heads: 1, dim: 128, mask: .band(20), seed: 6),
        Problem(batch: 1, length: 256, heads: 1, dim: 64, mask: .none, seed: 7),
        Problem(batch: 2, length: 9, heads: 2, dim: 24, mask: .padding, seed: 8),
        Problem(batch: 1, length: 5, heads: 1, dim: 130, mask: .none, seed: 9),
    ]

    @Test(arguments: problems, [true, false])
    func matchesTheAttentionInDoublePrecision(problem: Problem, vectorized: Bool) throws {
        let (qkv, cos, signedSin, mask) = try problem.tensors()
        let out = try qkv.shortAttention(
            cos: cos, signedSin: signedSin, mask: mask, heads: problem.heads, scale: 1 / Double(problem.dim).squareRoot(),
            vectorized: vectorized)
        #expect(out.shape == [problem.batch, problem.length, problem.heads * problem.dim])
        // Values of size ~1, float32 sums of up to 256 terms: a few 1e-6.
        expectClose(try out.floats(), problem.exact().map { Float($0) }, tolerance: 1e-5)
    }

    @Test(arguments: problems.filter { $0.mask?.contains(true) ?? true }, [true, false])
    func agreesWithLibtorchsOperators(problem: Problem, vectorized: Bool) throws {
        let (qkv, cos, signedSin, mask) = try problem.tensors()
        let (heads, dim, length) = (problem.heads, problem.dim, problem.length)
        let scale = 1 / Double(dim).squareRoot()
        // What ModernBertAttention runs for longer sequences: RotaryTable.apply, then SDPA.
        let split = try qkv.view([problem.batch, length, 3, heads, dim]).permute([2, 0, 3, 1, 4])
        let pair = try split.narrow(dim: 0, start: 0, length: 2)
        let swapped = try Tensor.cat(
            [pair.narrow(dim: -1, start: dim / 2, length: dim / 2), pair.narrow(dim: -1, start: 0, length: dim / 2)], dim: -1)
        let rotated = try pair * cos + swapped * signedSin
        let expected = try Tensor.scaledDotProductAttention(
            query: rotated.select(dim: 0, index: 0), key: rotated.select(dim: 0, index: 1), value: split.select(dim: 0, index: 2),
            mask: mask, scale: scale
        ).transpose(1, 2).reshape([problem.batch, length, heads * dim])
        let out = try qkv.shortAttention(cos: cos, signedSin: signedSin, mask: mask, heads: heads, scale: scale, vectorized: vectorized)
        expectClose(try out.floats(), try expected.floats(), tolerance: 1e-5)
    }

    @Test(arguments: [true, false])
    func aQueryWithNothingToAttendToGetsZeros(vectorized: Bool) throws {
        let problem = Problem(batch: 1, length: 6, heads: 2, dim: 16, mask: .nothing, seed: 10)
        let (qkv, cos, signedSin, mask) = try problem.tensors()
        let out = try qkv.shortAttention(cos: cos, signedSin: signedSin, mask: mask, heads: 2, scale: 0.25, vectorized: vectorized)
        #expect(try out.floats().allSatisfy { $0 == 0 })
    }

    @Test func aNonContiguousInputIsRead() throws {
        let problem = Problem(batch: 1, length: 8, heads: 2, dim: 16, mask: .none, seed: 11)
        let (qkv, cos, signedSin, _) = try problem.tensors()
        let strided = try Tensor.cat([qkv, qkv], dim: -1).narrow(dim: -1, start: 0, length: qkv.size(2))  // rows 2F apart
        #expect(!strided.isContiguous)
        let a = try qkv.shortAttention(cos: cos, signedSin: signedSin, mask: nil, heads: 2, scale: 0.25)
        let b = try strided.shortAttention(cos: cos, signedSin: signedSin, mask: nil, heads: 2, scale: 0.25)
        expectClose(try a.floats(), try b.floats(), tolerance: 0)
    }

    @Test func misuseIsAnErrorNotACrash() throws {
        let qkv = try Tensor.ones([1, 4, 3 * 2 * 8])
        let table = try Tensor.ones([1, 1, 4, 8])
        func attend(_ x: Tensor, cos: Tensor? = nil, mask: Tensor? = nil, heads: Int = 2) throws -> Tensor {
            try x.shortAttention(cos: cos ?? table, signedSin: table, mask: mask, heads: heads, scale: 1)
        }
        #expect(try attend(qkv).shape == [1, 4, 16])
        let tooLong = Tensor.shortAttentionMaxLength + 1
        #expect(throws: TorchError.self) {
            try Tensor.ones([1, tooLong, 48]).shortAttention(
                cos: Tensor.ones([tooLong, 8]), signedSin: Tensor.ones([tooLong, 8]), mask: nil, heads: 2, scale: 1)
        }
        #expect(throws: TorchError.self) { try attend(Tensor.ones([1, 4, 3 * 2 * 7]), cos: Tensor.ones([4, 7])) }  // odd D
        #expect(throws: TorchError.self) { try attend(qkv, heads: 5) }  // 48 is not 3 x 5 heads
        #expect(throws: TorchError.self) { try attend(qkv, heads: 0) }
        #expect(throws: TorchError.self) { try attend(qkv.to(.float64)) }
        #expect(throws: TorchError.self) { try attend(Tensor.ones([4, 48])) }  // no batch dimension
        #expect(throws: TorchError.self) { try attend(qkv, cos: Tensor.ones([3, 8])) }  // table for 3 positions
        #expect(throws: TorchError.self) { try attend(qkv, mask: Tensor.ones([1, 1, 4, 4])) }  // float, not bool
        #expect(throws: TorchError.self) { try attend(qkv, mask: Tensor.ones([1, 4, 4]).to(.bool)) }
        #expect(throws: TorchError.self) { try attend(qkv, mask: Tensor.ones([2, 1, 4, 4]).to(.bool)) }  // batch 1
        #expect(try attend(Tensor.ones([0, 4, 48])).shape == [0, 4, 16])
    }
}
