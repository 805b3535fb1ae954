import Torch

/// One pre-norm ModernBERT layer: x + attn(norm(x)), then x + mlp(norm(x)).
/// Layer 0 has no attention norm (the embedding norm precedes it).
struct ModernBertLayer: Sendable {
    let attentionNorm: LayerNorm?
    let attention: ModernBertAttention
    let mlpNorm: LayerNorm
    let mlp: ModernBertMLP
    let kind: AttentionKind
    /// Keys on each side a sliding layer's tokens see; nil for a full layer.
    let window: Int?

    init(
        store: WeightStore, index: Int, config: TextConfig, packing: LinearPacking, shortAttention: Bool, longAttention: Bool = false
    ) throws {
        let prefix = "text_model.layers.\(index)"
        let hidden = config.hiddenSize
        attentionNorm =
            index == 0
            ? nil
            : try store.layerNorm(prefix + ".attn_norm", size: hidden, bias: config.normBias, eps: config.normEps)
        attention = try ModernBertAttention(
            store: store, prefix: prefix + ".attn", config: config, packing: packing, shortAttention: shortAttention,
            longAttention: longAttention)
        mlpNorm = try store.layerNorm(prefix + ".mlp_norm", size: hidden, bias: config.normBias, eps: config.normEps)
        mlp = try ModernBertMLP(store: store, prefix: prefix + ".mlp", config: config, packing: packing)
        kind = config.layerTypes[index]
        window = kind == .sliding ? config.slidingWindow : nil
    }

    func callAsFunction(_ x: Tensor, rotary: RotaryTable, mask: Tensor?) throws -> Tensor {
        let normed = try attentionNorm.map { try $0(x) } ?? x
        let afterAttention = try attention(normed, rotary: rotary, mask: mask, window: window, residual: x)
        return try mlp(mlpNorm(afterAttention), residual: afterAttention)
    }
}
