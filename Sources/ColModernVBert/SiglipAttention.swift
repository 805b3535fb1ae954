import Foundation
import Torch

/// SigLIP self-attention over all patches of a tile (no mask): q/k/v projections with bias
/// (fused into one matrix product at load), libtorch's fused SDPA, output projection.
struct SiglipAttention: Sendable {
    let qkv: Linear
    let out: Linear
    let heads: Int
    let headDim: Int

    init(store: WeightStore, prefix: String, config: VisionConfig) throws {
        let hidden = config.hiddenSize
        let q = try store.linear(prefix + ".q_proj", out: hidden, in: hidden, bias: true)
        let k = try store.linear(prefix + ".k_proj", out: hidden, in: hidden, bias: true)
        let v = try store.linear(prefix + ".v_proj", out: hidden, in: hidden, bias: true)
        qkv = try ColModernVBertError.wrapping { try Linear.fused([q, k, v], sharedAs: prefix + ".qkv", in: store) }
        out = try store.linear(prefix + ".out_proj", out: hidden, in: hidden, bias: true)
        heads = config.numAttentionHeads
        headDim = config.headDim
    }

    /// x [N, P, hidden] → [N, P, hidden]
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let tiles = x.size(0)
        let patches = x.size(1)
        // [N, P, 3·hidden] → [N, P, 3, heads, D] → [3, N, heads, P, D]
        let projected = try qkv(x).view([tiles, patches, 3, heads, headDim]).permute([2, 0, 3, 1, 4])
        let attended = try Tensor.scaledDotProductAttention(
            query: projected.select(dim: 0, index: 0),
            key: projected.select(dim: 0, index: 1),
            value: projected.select(dim: 0, index: 2),
            scale: 1 / Foundation.sqrt(Double(headDim)))
        return try out(attended.transpose(1, 2).reshape([tiles, patches, heads * headDim]))
    }
}
