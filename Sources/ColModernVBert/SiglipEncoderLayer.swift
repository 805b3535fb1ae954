import Torch

/// One pre-LN SigLIP encoder layer: x + attn(ln1(x)), then x + fc2(act(fc1(ln2(x)))).
/// The norms and the residual stream x are in the stream's dtype, the products in `products`
/// (each norm's output is converted once; the sums promote back to the stream's dtype).
struct SiglipEncoderLayer: Sendable {
    let norm1: LayerNorm
    let attention: SiglipAttention
    let norm2: LayerNorm
    let fc1: Linear
    let fc2: Linear
    let activation: GeluApproximation
    let products: DType

    init(
        store matrices: WeightStore, stream: WeightStore, index: Int, config: VisionConfig, packing: LinearPacking,
        bridgeAttention: Bool
    ) throws {
        let prefix = "vision_model.encoder.layers.\(index)"
        let hidden = config.hiddenSize
        norm1 = try stream.layerNorm(prefix + ".layer_norm1", size: hidden, bias: true, eps: config.layerNormEps)
        attention = try SiglipAttention(
            store: matrices, prefix: prefix + ".self_attn", config: config, packing: packing, bridgeAttention: bridgeAttention)
        norm2 = try stream.layerNorm(prefix + ".layer_norm2", size: hidden, bias: true, eps: config.layerNormEps)
        fc1 = try packing.apply(
            matrices.linear(prefix + ".mlp.fc1", out: config.intermediateSize, in: hidden, bias: true), name: prefix + ".mlp.fc1")
        fc2 = try packing.apply(
            matrices.linear(prefix + ".mlp.fc2", out: hidden, in: config.intermediateSize, bias: true), name: prefix + ".mlp.fc2")
        activation = try GeluApproximationName.parse(config.hiddenAct, field: "vision_config.hidden_act")
        products = matrices.dtype
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let afterAttention = try x + attention(norm1(x).converted(to: products))
        return try afterAttention + fc2(fc1(norm2(afterAttention).converted(to: products), activation: activation))
    }
}

extension Tensor {
    /// This tensor in `dtype`, without a copy when it already is.
    func converted(to dtype: DType) throws -> Tensor {
        self.dtype == dtype ? self : try to(dtype)
    }
}
