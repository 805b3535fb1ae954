import Torch

/// The SigLIP vision tower without its pooling head: patch embeddings, encoder, post-LayerNorm.
struct SiglipVisionModel: Sendable {
    let config: VisionConfig
    let embeddings: SiglipVisionEmbeddings
    let layers: [SiglipEncoderLayer]
    let postNorm: LayerNorm

    init(store: WeightStore, config: VisionConfig) throws {
        self.config = config
        embeddings = try SiglipVisionEmbeddings(store: store, config: config)
        layers = try (0..<config.numHiddenLayers).map { try SiglipEncoderLayer(store: store, index: $0, config: config) }
        postNorm = try store.layerNorm(
            "vision_model.post_layernorm", size: config.hiddenSize, bias: true, eps: config.layerNormEps)
    }

    /// tiles [N, C, S, S] (real tiles only) → [N, numPatches, hidden]
    func callAsFunction(_ tiles: Tensor) throws -> Tensor {
        var hidden = try embeddings(tiles)
        for layer in layers {
            hidden = try layer(hidden)
        }
        return try postNorm(hidden)
    }
}
