import Foundation
import Torch

/// ModernBERT self-attention: fused Wqkv projection, rotary q/k, libtorch's fused SDPA, Wo; for
/// short float32 CPU sequences (queries) the middle part runs in the bridge's one pass.
struct ModernBertAttention: Sendable {
    let wqkv: Linear
    let wo: Linear
    let heads: Int
    let headDim: Int
    /// Whether sequences of up to `Tensor.shortAttentionMaxLength` tokens take `Tensor.shortAttention`.
    let shortAttention: Bool

    init(store: WeightStore, prefix: String, config: TextConfig, packing: LinearPacking, shortAttention: Bool) throws {
        let hidden = config.hiddenSize
        wqkv = try packing.apply(
            store.linear(prefix + ".Wqkv", out: 3 * hidden, in: hidden, bias: config.attentionBias), name: prefix + ".Wqkv")
        wo = try packing.apply(store.linear(prefix + ".Wo", out: hidden, in: hidden, bias: config.attentionBias), name: prefix + ".Wo")
        heads = config.numAttentionHeads
        headDim = config.headDim
        self.shortAttention = shortAttention
    }

    /// x [B, L, hidden] → residual + attention(x), [B, L, hidden]
    func callAsFunction(_ x: Tensor, rotary: RotaryTable, mask: Tensor?, residual: Tensor) throws -> Tensor {
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
        let attended = try Tensor.scaledDotProductAttention(
            query: query, key: key, value: value, mask: mask, scale: 1 / Foundation.sqrt(Double(headDim)))
        // [B, heads, L, D] → [B, L, heads·D]
        let merged = try attended.transpose(1, 2).reshape([batch, length, heads * headDim])
        return try wo(merged, adding: residual)
    }
}
