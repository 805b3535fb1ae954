import Torch

/// One pre-LN SigLIP encoder layer: x + attn(ln1(x)), then x + fc2(act(fc1(ln2(x)))).
struct SiglipEncoderLayer: Sendable {
    let norm1: LayerNorm
    let attention: SiglipAttention
    let norm2: LayerNorm
    let fc1: Linear
    let fc2: Linear
    let activation: GeluApproximation

    init(store: WeightStore, index: Int, config: VisionConfig) throws {
        let prefix = "vision_model.encoder.layers.\(index)"
        let hidden = config.hiddenSize
        norm1 = try store.layerNorm(prefix + ".layer_norm1", size: hidden, bias: true, eps: config.layerNormEps)
        attention = try SiglipAttention(store: store, prefix: prefix + ".self_attn", config: config)
        norm2 = try store.layerNorm(prefix + ".layer_norm2", size: hidden, bias: true, eps: config.layerNormEps)
        fc1 = try store.linear(prefix + ".mlp.fc1", out: config.intermediateSize, in: hidden, bias: true)
        fc2 = try store.linear(prefix + ".mlp.fc2", out: hidden, in: config.intermediateSize, bias: true)
        activation = try GeluApproximationName.parse(config.hiddenAct, field: "vision_config.hidden_act")
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        let afterAttention = try x + attention(norm1(x))
        return try afterAttention + fc2(fc1(norm2(afterAttention)).gelu(activation))
    }
}
