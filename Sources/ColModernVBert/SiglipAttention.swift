import Foundation
import Torch

/// SigLIP self-attention over all patches of a tile (no mask): q/k/v projections with bias
/// (fused into one matrix product at load), attention, output projection. The attention is the
/// bridge's bfloat16 kernel (`Tensor.tileAttention`) where `bridgeAttention` is set, else
/// libtorch's fused SDPA.
struct SiglipAttention: Sendable {
    let qkv: Linear
    let out: Linear
    let heads: Int
    let headDim: Int
    let bridgeAttention: Bool

    /// Whether a tower of products in `dtype` on CPU tier `isa` takes the bridge's attention:
    /// bfloat16 on AVX512_BF16 without AMX (not emulated: the hardware must run it) with a head
    /// size it takes. Measured on the tower's 2-tile batch (24 heads of 1024 x 64), 2 threads
    /// (PrecisionBenchmark `tile_attention_ms`): on Zen 4 (AVX512_BF16, no AMX) 21.7 ms against
    /// 45.7 for libtorch's SDPA with its layout copies (297 against 141 GFLOP/s); on a Xeon with
    /// AMX-BF16 SDPA's AMX kernels win, 18.6 ms against the bridge's 52.1 (346 against 124).
    static func usesBridgeAttention(device: Device, dtype: DType, isa: CPUISA, headDim: Int) -> Bool {
        device == .cpu && dtype == .bfloat16 && isa == .avx512BF16 && headDim % 32 == 0 && Tensor.tileAttentionAvailable
    }

    init(
        store: WeightStore, prefix: String, config: VisionConfig, packing: LinearPacking = .none, bridgeAttention: Bool = false
    ) throws {
        let hidden = config.hiddenSize
        let q = try store.linear(prefix + ".q_proj", out: hidden, in: hidden, bias: true)
        let k = try store.linear(prefix + ".k_proj", out: hidden, in: hidden, bias: true)
        let v = try store.linear(prefix + ".v_proj", out: hidden, in: hidden, bias: true)
        qkv = try packing.apply(
            ColModernVBertError.wrapping { try Linear.fused([q, k, v], sharedAs: prefix + ".qkv", in: store) }, name: prefix + ".qkv")
        out = try packing.apply(store.linear(prefix + ".out_proj", out: hidden, in: hidden, bias: true), name: prefix + ".out_proj")
        heads = config.numAttentionHeads
        headDim = config.headDim
        self.bridgeAttention = bridgeAttention
    }

    /// x [N, P, hidden] → [N, P, hidden]
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        if bridgeAttention {
            return try out(qkv(x).tileAttention(heads: heads, scale: 1 / Foundation.sqrt(Double(headDim))))
        }
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
