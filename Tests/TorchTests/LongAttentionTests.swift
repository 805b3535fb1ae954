import Foundation
import Testing

@testable import Torch

/// The bridge's float32 attention for long sequences against attention computed here in double
/// precision and against libtorch's SDPA, with the masks and strided views ModernBERT gives it.
/// It runs only on AVX-512; elsewhere asking for it must fail.
@Suite struct LongAttentionTests {
    static let available = Tensor.longAttentionAvailable

    /// softmax(q·kᵀ·scale, masked)·v in Double; q [B, H, Lq, D], k and v [B, H, Lk, D] as flat
    /// contiguous arrays, mask [B][Lq][Lk] or nil; a row with no key gets zeros.
    static func expected(
        _ q: [Float], _ k: [Float], _ v: [Float], batch: Int, heads: Int, queries: Int, keys: Int, dim: Int,
        mask: [[[Bool]]]?, scale: Double
    ) -> [Float] {
        var out = [Float](repeating: 0, count: batch * heads * queries * dim)
        for b in 0..<batch {
            for h in 0..<heads {
                let base = (b * heads + h)
                for i in 0..<queries {
                    let allowed = (0..<keys).filter { mask?[b][i][$0] ?? true }
                    guard !allowed.isEmpty else { continue }
                    let scores = allowed.map { j in
                        (0..<dim).reduce(0.0) { $0 + Double(q[(base * queries + i) * dim + $1]) * Double(k[(base * keys + j) * dim + $1]) }
                            * scale
                    }
                    let top = scores.max() ?? 0
                    let weights = scores.map { Foundation.exp($0 - top) }
                    let sum = weights.reduce(0, +)
                    for d in 0..<dim {
                        let value = zip(allowed, weights).reduce(0.0) { $0 + $1.1 * Double(v[(base * keys + $1.0) * dim + d]) }
                        out[(base * queries + i) * dim + d] = Float(value / sum)
                    }
                }
            }
        }
        return out
    }

    static func random(_ count: Int, seed: UInt64, spread: Float = 2) -> [Float] {
        var random = Lcg(state: seed)
        return random.values(count).map { $0 * spread }
    }

    /// Query and key counts around the kernel's blocks (6 queries, 64 keys, 16-lane tails), head
    /// sizes with a 16-, 32- and 48-column tail after the 64-column steps.
    @Test(arguments: [(1, 1, 1, 1, 16), (2, 3, 7, 70, 64), (1, 2, 13, 131, 80), (1, 1, 64, 64, 96), (2, 2, 40, 200, 112)])
    func matchesAttentionInDoublePrecision(batch: Int, heads: Int, queries: Int, keys: Int, dim: Int) throws {
        guard Self.available else { return }
        let q = Self.random(batch * heads * queries * dim, seed: 1)
        let k = Self.random(batch * heads * keys * dim, seed: 2)
        let v = Self.random(batch * heads * keys * dim, seed: 3)
        // Every third (query, key) pair excluded, and the first query of the last sequence excluded
        // from every key (its row must be zeros).
        var mask = (0..<batch).map { b in (0..<queries).map { i in (0..<keys).map { j in (i + 2 * j + b) % 3 != 0 } } }
        mask[batch - 1][0] = [Bool](repeating: false, count: keys)
        let scale = 1 / Double(dim).squareRoot()
        for masked in [false, true] {
            let maskTensor = try tensor(mask.flatMap { $0.flatMap { $0.map { $0 ? 1 : 0 } } }, [batch, 1, queries, keys]).to(.bool)
            let out = try Tensor.longAttention(
                query: tensor(q, [batch, heads, queries, dim]), key: tensor(k, [batch, heads, keys, dim]),
                value: tensor(v, [batch, heads, keys, dim]), mask: masked ? maskTensor : nil, scale: scale)
            #expect(out.shape == [batch, heads, queries, dim])
            let expected = Self.expected(
                q, k, v, batch: batch, heads: heads, queries: queries, keys: keys, dim: dim, mask: masked ? mask : nil, scale: scale)
            expectClose(try out.floats(), expected, tolerance: 2e-5)
        }
    }

    /// As ModernBERT calls it: q, k, v strided views of one fused projection, a key-padding mask
    /// broadcast over the batch or per sequence, and a sliding layer's block of queries against
    /// its window (narrowed views of the whole mask).
    @Test func matchesLibtorchsAttentionOnModernBertsViews() throws {
        guard Self.available else { return }
        let (batch, length, heads, dim) = (2, 300, 4, 64)
        let projected = try tensor(Self.random(batch * length * 3 * heads * dim, seed: 7), [batch, length, 3 * heads * dim])
        let qkv = try projected.view([batch, length, 3, heads, dim]).permute([2, 0, 3, 1, 4])
        let (query, key, value) = (try qkv.select(dim: 0, index: 0), try qkv.select(dim: 0, index: 1), try qkv.select(dim: 0, index: 2))
        #expect(!query.isContiguous)
        var padding = [Float](repeating: 1, count: batch * length * length)
        for i in 0..<length { for j in 250..<length { padding[(length + i) * length + j] = 0 } }  // sequence 1: 250 tokens
        var band = [Float](repeating: 0, count: length * length)
        for i in 0..<length { for j in max(0, i - 64)...min(length - 1, i + 64) { band[i * length + j] = 1 } }
        let masks: [Tensor?] = [
            nil, try tensor(padding, [batch, 1, length, length]).to(.bool), try tensor(band, [1, 1, length, length]).to(.bool),
        ]
        let scale = 1 / 8.0
        for mask in masks {
            let reference = try Tensor.scaledDotProductAttention(query: query, key: key, value: value, mask: mask, scale: scale)
            let out = try Tensor.longAttention(query: query, key: key, value: value, mask: mask, scale: scale)
            expectClose(try out.floats(), try reference.floats(), tolerance: 1e-5)
        }
        // A block of 128 queries from 100 against the keys of its window, [36, 292).
        let rows = try masks[2]!.narrow(dim: 2, start: 100, length: 128).narrow(dim: 3, start: 36, length: 256)
        #expect(!rows.isContiguous)
        let blockQuery = try query.narrow(dim: 2, start: 100, length: 128)
        let blockKey = try key.narrow(dim: 2, start: 36, length: 256)
        let blockValue = try value.narrow(dim: 2, start: 36, length: 256)
        let reference = try Tensor.scaledDotProductAttention(query: blockQuery, key: blockKey, value: blockValue, mask: rows, scale: scale)
        let out = try Tensor.longAttention(query: blockQuery, key: blockKey, value: blockValue, mask: rows, scale: scale)
        expectClose(try out.floats(), try reference.floats(), tolerance: 1e-5)
        // Not trivially close: the outputs span more than the tolerance.
        let values = try out.floats()
        #expect((values.max() ?? 0) - (values.min() ?? 0) > 0.5)
    }

    @Test func misuseIsAnError() throws {
        let good = try Tensor.zeros([1, 2, 8, 64])
        guard Self.available else {
            #expect(throws: TorchError.self) { try Tensor.longAttention(query: good, key: good, value: good, mask: nil, scale: 1) }
            return
        }
        let cases: [(String, () throws -> Tensor)] = [
            ("bfloat16", { try Tensor.longAttention(query: good.to(.bfloat16), key: good, value: good, mask: nil, scale: 1) }),
            ("3-D", { try Tensor.longAttention(query: Tensor.zeros([2, 8, 64]), key: good, value: good, mask: nil, scale: 1) }),
            (
                "head size 8",
                {
                    let odd = try Tensor.zeros([1, 2, 8, 8])
                    return try Tensor.longAttention(query: odd, key: odd, value: odd, mask: nil, scale: 1)
                }
            ),
            (
                "keys and values differ",
                {
                    try Tensor.longAttention(query: good, key: good, value: Tensor.zeros([1, 2, 9, 64]), mask: nil, scale: 1)
                }
            ),
            ("float mask", { try Tensor.longAttention(query: good, key: good, value: good, mask: Tensor.ones([1, 1, 8, 8]), scale: 1) }),
            (
                "mask of the wrong shape",
                {
                    try Tensor.longAttention(query: good, key: good, value: good, mask: Tensor.ones([1, 1, 8, 7]).to(.bool), scale: 1)
                }
            ),
        ]
        for (name, call) in cases {
            #expect(throws: TorchError.self, "\(name)") { try call() }
        }
    }
}
