import Foundation
import Testing

@testable import Torch

/// Plain-Swift reference implementations, independent of libtorch.
private enum Reference {
    static func matmul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for l in 0..<k { out[i * n + j] += a[i * k + l] * b[l * n + j] } } }
        return out
    }

    static func softmax(_ row: [Float]) -> [Float] {
        let top = row.max() ?? 0
        let e = row.map { Foundation.exp($0 - top) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }

    /// Attention for one head: q [L, E], k/v [S, E]; `keep[l][s]` false masks a score out,
    /// `bias[l][s]` is added to it.
    static func attention(
        q: [Float], k: [Float], v: [Float], l: Int, s: Int, e: Int,
        keep: [[Bool]]? = nil, bias: [[Float]]? = nil
    ) -> [Float] {
        var out = [Float](repeating: 0, count: l * e)
        let scale = 1 / Float(e).squareRoot()
        for i in 0..<l {
            var scores = (0..<s).map { j in (0..<e).reduce(Float(0)) { $0 + q[i * e + $1] * k[j * e + $1] } * scale }
            if let bias { for j in 0..<s { scores[j] += bias[i][j] } }
            if let keep { for j in 0..<s where !keep[i][j] { scores[j] = -.infinity } }
            let w = softmax(scores)
            for j in 0..<s { for d in 0..<e { out[i * e + d] += w[j] * v[j * e + d] } }
        }
        return out
    }
}

@Suite struct NNTests {
    @Test func matmulAndLinear() throws {
        let a: [Float] = [1, 2, 3, 4, 5, 6]  // [2, 3]
        let b: [Float] = [7, 8, 9, 10, 11, 12]  // [3, 2]
        expectClose(try tensor(a, [2, 3]).matmul(try tensor(b, [3, 2])).floats(), [58, 64, 139, 154])
        // linear(x, W, b) = x Wᵀ + b with W [out=2, in=3]
        let w = try tensor([1, 0, -1, 0.5, 0.5, 0.5], [2, 3])
        let bias = try tensor([1, -1], [2])
        expectClose(try tensor(a, [2, 3]).linear(weight: w, bias: bias).floats(), [-1, 2, -1, 6.5])
        expectClose(try tensor(a, [2, 3]).linear(weight: w).floats(), [-2, 3, -2, 7.5])
        // Batched matmul broadcasts the leading dimension.
        var rng = Lcg(state: 1)
        let batch = rng.values(2 * 2 * 3)
        let right = rng.values(3 * 4)
        let out = try tensor(batch, [2, 2, 3]).matmul(try tensor(right, [3, 4])).floats()
        expectClose(out, Reference.matmul(batch, right, m: 4, k: 3, n: 4))
    }

    @Test func layerNormWithAndWithoutAffine() throws {
        let x: [Float] = [1, 2, 3, 4]
        let mean: Float = 2.5
        let variance: Float = 1.25  // biased, as layer norm uses
        let eps: Float = 1e-5
        let normalized = x.map { ($0 - mean) / (variance + eps).squareRoot() }
        let t = try tensor(x, [1, 4])
        expectClose(try t.layerNorm(normalizedShape: [4], weight: nil, bias: nil, eps: Double(eps)).floats(), normalized)
        let weight = try tensor([1, 2, 3, 4], [4])
        let bias = try tensor([0, 0, 1, 1], [4])
        let affine = zip(normalized, zip([Float(1), 2, 3, 4], [Float(0), 0, 1, 1])).map { $0 * $1.0 + $1.1 }
        expectClose(try t.layerNorm(normalizedShape: [4], weight: weight, bias: bias, eps: Double(eps)).floats(), affine)
        expectClose(
            try t.layerNorm(normalizedShape: [4], weight: weight, bias: nil, eps: Double(eps)).floats(),
            zip(normalized, [Float(1), 2, 3, 4]).map { $0 * $1 })
    }

    @Test func softmaxRowsSumToOne() throws {
        let x: [Float] = [1, 2, 3, -1, 0, 1000]
        let out = try tensor(x, [2, 3]).softmax(dim: 1).floats()
        expectClose(out, Reference.softmax([1, 2, 3]) + Reference.softmax([-1, 0, 1000]))
        let columns = try tensor(x, [2, 3]).softmax(dim: 0).floats()
        expectClose([columns[0] + columns[3], columns[2] + columns[5]], [1, 1])
    }

    @Test func attentionMatchesNaiveFormula() throws {
        var rng = Lcg(state: 42)
        let (l, s, e) = (3, 4, 8)
        let q = rng.values(l * e)
        let k = rng.values(s * e)
        let v = rng.values(s * e)
        let qt = try tensor(q, [1, 1, l, e])
        let kt = try tensor(k, [1, 1, s, e])
        let vt = try tensor(v, [1, 1, s, e])

        let plain = try Tensor.scaledDotProductAttention(query: qt, key: kt, value: vt).floats()
        expectClose(plain, Reference.attention(q: q, k: k, v: v, l: l, s: s, e: e), tolerance: 1e-5)

        // Boolean mask: true attends (here: no query sees the last key, query 0 sees only key 0).
        var keep = [[Bool]](repeating: [true, true, true, false], count: l)
        keep[0] = [true, false, false, false]
        let mask = try Tensor(bools: keep.flatMap { $0 }, shape: [1, 1, l, s])
        let masked = try Tensor.scaledDotProductAttention(query: qt, key: kt, value: vt, mask: mask).floats()
        expectClose(masked, Reference.attention(q: q, k: k, v: v, l: l, s: s, e: e, keep: keep), tolerance: 1e-5)
        expectClose(Array(masked[0..<e]), Array(v[0..<e]), tolerance: 1e-6)

        // Additive float mask.
        let bias: [[Float]] = (0..<l).map { i in (0..<s).map { j in Float(i - j) * 0.5 } }
        let additive = try tensor(bias.flatMap { $0 }, [1, 1, l, s])
        let biased = try Tensor.scaledDotProductAttention(query: qt, key: kt, value: vt, mask: additive).floats()
        expectClose(biased, Reference.attention(q: q, k: k, v: v, l: l, s: s, e: e, bias: bias), tolerance: 1e-5)

        // Explicit scale: 1/√E passed explicitly equals the default.
        let scaled = try Tensor.scaledDotProductAttention(
            query: qt, key: kt, value: vt, scale: 1 / Double(e).squareRoot()
        ).floats()
        expectClose(scaled, plain, tolerance: 1e-6)
    }

    @Test func conv2dByHand() throws {
        // 3x3 input, 2x2 kernel, stride 1, no padding.
        let input = try tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3])
        let kernel = try tensor([1, 0, 0, -1], [1, 1, 2, 2])
        expectClose(try input.conv2d(weight: kernel).floats(), [-4, -4, -4, -4])
        let bias = try tensor([0.5], [1])
        expectClose(try input.conv2d(weight: kernel, bias: bias).floats(), [-3.5, -3.5, -3.5, -3.5])
        // Stride 2 with 1 padding: out = P[r][c] - P[r+1][c+1] over the zero-padded 5x5 P,
        // at (0,0): 0-1, (0,2): 0-3, (2,0): 0-7, (2,2): 5-9.
        let strided = try input.conv2d(weight: kernel, stride: [2, 2], padding: [1, 1]).floats()
        expectClose(strided, [-1, -3, -7, -4])
        // Patch embedding shape: 2 output channels over 3 input channels, 2x2 patches of a 4x4 image.
        let image = try Tensor.ones([1, 3, 4, 4])
        let patch = try Tensor.ones([2, 3, 2, 2])
        let patches = try image.conv2d(weight: patch, stride: [2, 2])
        #expect(patches.shape == [1, 2, 2, 2])
        expectClose(try patches.floats(), [Float](repeating: 12, count: 8))
        #expect(throws: TorchError.self) { try image.conv2d(weight: patch, stride: [2]) }
    }

    @Test func embeddingLooksUpRows() throws {
        let table = try tensor([0, 0, 1, 1, 2, 2, 3, 3], [4, 2])
        let ids = try Tensor(int64s: [3, 0, 2, 2], shape: [2, 2])
        let out = try Tensor.embedding(weight: table, indices: ids)
        #expect(out.shape == [2, 2, 2])
        expectClose(try out.floats(), [3, 3, 0, 0, 2, 2, 2, 2])
        #expect(throws: TorchError.self) { try Tensor.embedding(weight: table, indices: try Tensor(int64s: [4], shape: [1])) }
    }

    @Test func normalizeGivesUnitRowsAndKeepsZeroRows() throws {
        let out = try tensor([3, 4, 0, 0, 1, 0], [3, 2]).normalize(dim: -1).floats()
        expectClose(out, [0.6, 0.8, 0, 0, 1, 0])
    }
}
