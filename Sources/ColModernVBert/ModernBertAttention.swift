import Foundation
import Torch

/// ModernBERT self-attention: fused Wqkv projection, rotary q/k, libtorch's fused SDPA, Wo; for
/// short float32 CPU sequences (queries) the middle part runs in the bridge's one pass, longer
/// ones (a page) on the bridge's AVX-512 attention where chosen, and a sliding layer's long
/// sequence in blocks of queries against only the keys their window reaches.
struct ModernBertAttention: Sendable {
    let wqkv: Linear
    let wo: Linear
    let heads: Int
    let headDim: Int
    /// Whether sequences of up to `Tensor.shortAttentionMaxLength` tokens take `Tensor.shortAttention`.
    let shortAttention: Bool
    /// Whether float32 CPU sequences longer than that take `Tensor.longAttention` instead of SDPA.
    let longAttention: Bool

    /// Queries per SDPA call of a banded (sliding) layer. A masked SDPA computes every score and
    /// masks most of them away; blocks of queries against their window's keys skip that. Measured
    /// (libtorch SDPA, float32, 12 heads of 64, 1145 tokens, window 64 each side, 2 threads of a
    /// Xeon): one masked call 27.0 ms; blocks of 64, 128, 256 queries 10.8, 7.2, 8.3 ms.
    static let bandBlock = 128

    /// Whether a sliding layer with `window` keys on each side runs `length` tokens in blocks: only
    /// when the blocks' keys (bandBlock + 2 window) are at most half the sequence.
    static func runsBanded(length: Int, window: Int) -> Bool {
        length >= 2 * (bandBlock + 2 * window)
    }

    /// Whether a text tower on `device` in `dtype`, for CPU tier `isa`, runs its long sequences'
    /// attention on the bridge: float32 on AVX-512, head sizes a multiple of 16. Measured (a
    /// 1145-token text pass, 2 Zen 5 threads, ModelBenchmark --query-tokens 1145): libtorch's
    /// flash attention ran its products on MKL's AVX2 kernel, ~24 % of the pass's samples.
    static func usesLongAttention(device: Device, dtype: DType, isa: CPUISA, headDim: Int) -> Bool {
        device == .cpu && dtype == .float32 && isa >= .avx512 && headDim % 16 == 0 && Tensor.longAttentionAvailable
    }

    init(
        store: WeightStore, prefix: String, config: TextConfig, packing: LinearPacking, shortAttention: Bool,
        longAttention: Bool = false
    ) throws {
        let hidden = config.hiddenSize
        wqkv = try packing.apply(
            store.linear(prefix + ".Wqkv", out: 3 * hidden, in: hidden, bias: config.attentionBias), name: prefix + ".Wqkv")
        wo = try packing.apply(store.linear(prefix + ".Wo", out: hidden, in: hidden, bias: config.attentionBias), name: prefix + ".Wo")
        heads = config.numAttentionHeads
        headDim = config.headDim
        self.shortAttention = shortAttention
        self.longAttention = longAttention
    }

    /// x [B, L, hidden] → residual + attention(x), [B, L, hidden]
    /// - Parameters:
    ///   - mask: [B or 1, 1, L, L] bool (true = may attend), or nil to attend everywhere.
    ///   - window: for a sliding layer, how far a token sees on each side (`mask` masks the rest);
    ///     nil for a full layer.
    func callAsFunction(_ x: Tensor, rotary: RotaryTable, mask: Tensor?, window: Int? = nil, residual: Tensor) throws -> Tensor {
        let batch = x.size(0)
        let length = x.size(1)
        let projected = try wqkv(x)  // [B, L, 3·hidden]
        if shortAttention, length <= Tensor.shortAttentionMaxLength, projected.device == .cpu, projected.dtype == .float32,
            rotary.cos.dtype == .float32, projected.size(2) == 3 * heads * headDim
        {
            // ~12 libtorch operators -> one pass: 164-190 -> 54-58 µs per layer of a 32-token query
            // (2 Zen 3 threads, PrecisionBenchmark).
            let merged = try projected.shortAttention(
                cos: rotary.cos, signedSin: rotary.signedSin, mask: mask, heads: heads, scale: 1 / Foundation.sqrt(Double(headDim)))
            return try wo(merged, adding: residual)
        }
        // [B, L, 3·hidden] → [B, L, 3, heads, D] → [3, B, heads, L, D]
        let qkv = try projected.view([batch, length, 3, heads, headDim]).permute([2, 0, 3, 1, 4])
        let rotated = try rotary.apply(qkv.narrow(dim: 0, start: 0, length: 2))  // [2, B, heads, L, D]
        let query = try rotated.select(dim: 0, index: 0)
        let key = try rotated.select(dim: 0, index: 1)
        let value = try qkv.select(dim: 0, index: 2)
        let scale = 1 / Foundation.sqrt(Double(headDim))
        let onBridge = longAttention && query.device == .cpu && query.dtype == .float32
        let attended: Tensor  // [B, heads, L, D]
        if let window, let mask, query.device == .cpu, Self.runsBanded(length: length, window: window) {
            attended = try Self.banded(query: query, key: key, value: value, mask: mask, window: window, scale: scale, onBridge: onBridge)
        } else {
            attended = try Self.attend(query: query, key: key, value: value, mask: mask, scale: scale, onBridge: onBridge)
        }
        // [B, heads, L, D] → [B, L, heads·D]
        let merged = try attended.transpose(1, 2).reshape([batch, length, heads * headDim])
        return try wo(merged, adding: residual)
    }

    /// SDPA in blocks of `bandBlock` queries, each against the keys within `window` of it: the
    /// keys `mask` lets a block's queries see all lie there, so each row's softmax covers the same
    /// keys as one masked call over the whole sequence.
    /// query, key, value [B, heads, L, D]; mask [B or 1, 1, L, L] → [B, heads, L, D]
    static func banded(
        query: Tensor, key: Tensor, value: Tensor, mask: Tensor, window: Int, scale: Double, onBridge: Bool = false
    ) throws -> Tensor {
        let length = query.size(2)
        var blocks: [Tensor] = []
        for start in stride(from: 0, to: length, by: bandBlock) {
            let count = min(bandBlock, length - start)
            let first = max(0, start - window)
            let keys = min(length, start + count + window) - first
            let rows = try mask.narrow(dim: 2, start: start, length: count).narrow(dim: 3, start: first, length: keys)
            blocks.append(
                try attend(
                    query: query.narrow(dim: 2, start: start, length: count), key: key.narrow(dim: 2, start: first, length: keys),
                    value: value.narrow(dim: 2, start: first, length: keys), mask: rows, scale: scale, onBridge: onBridge))
        }
        return try Tensor.cat(blocks, dim: 2)
    }

    /// SDPA, or the bridge's `Tensor.longAttention` when `onBridge` (same contract).
    static func attend(query: Tensor, key: Tensor, value: Tensor, mask: Tensor?, scale: Double, onBridge: Bool) throws -> Tensor {
        guard onBridge else { return try Tensor.scaledDotProductAttention(query: query, key: key, value: value, mask: mask, scale: scale) }
        return try Tensor.longAttention(query: query, key: key, value: value, mask: mask, scale: scale)
    }
}
