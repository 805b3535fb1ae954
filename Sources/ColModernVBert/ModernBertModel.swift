import Torch

/// The ModernBERT text tower over input embeddings: embedding norm, layers, final norm.
struct ModernBertModel: Sendable {
    let config: TextConfig
    let embeddings: TextEmbeddings
    let rotary: RotaryEmbedding
    let layers: [ModernBertLayer]
    let finalNorm: LayerNorm

    init(
        store: WeightStore, config: TextConfig, packing: LinearPacking = .none, shortAttention: Bool = true, longAttention: Bool = false
    ) throws {
        self.config = config
        embeddings = try TextEmbeddings(store: store, config: config)
        rotary = try RotaryEmbedding(config: config, device: store.device)
        layers = try (0..<config.numHiddenLayers).map {
            try ModernBertLayer(
                store: store, index: $0, config: config, packing: packing, shortAttention: shortAttention, longAttention: longAttention)
        }
        finalNorm = try store.layerNorm("text_model.final_norm", size: config.hiddenSize, bias: config.normBias, eps: config.normEps)
    }

    /// - Parameters:
    ///   - inputEmbeddings: [B, L, hidden], token lookups with image features swapped in.
    ///   - valid: [B, L] bool (true = real token), or nil when nothing is padded.
    /// - Returns: last hidden state [B, L, hidden].
    func callAsFunction(_ inputEmbeddings: Tensor, valid: Tensor?) throws -> Tensor {
        let length = inputEmbeddings.size(1)
        let device = inputEmbeddings.device
        let kinds = Set(config.layerTypes)
        let masks = try AttentionMasks(
            valid: valid, length: length, window: config.slidingWindow, kinds: kinds, device: device)
        var tables: [AttentionKind: RotaryTable] = [:]
        for kind in kinds {
            tables[kind] = try rotary.table(kind: kind, length: length, device: device, dtype: inputEmbeddings.dtype)
        }
        var hidden = try embeddings.norm(inputEmbeddings)
        for layer in layers {
            guard let table = tables[layer.kind] else {
                throw ColModernVBertError.invalidConfig(field: "layer_types", reason: "no rotary table for \(layer.kind)")
            }
            hidden = try layer(hidden, rotary: table, mask: masks.mask(for: layer.kind))
        }
        return try finalNorm(hidden)
    }
}
