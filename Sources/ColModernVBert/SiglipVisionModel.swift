import Torch

/// The SigLIP vision tower without its pooling head: patch embeddings, encoder, post-LayerNorm.
///
/// Two dtypes: the matrix products (patch embedding, projections, attention, MLP) run in the
/// dtype of `matrices`' weights; the residual stream, the layer norms and the position embeddings
/// stay in `stream`'s. In the mixed mode (bfloat16 products, float32 stream) this is what
/// torch.autocast does, and it measured closer to float32 than an all-bfloat16 tower on the
/// full-size checkpoint (3 tiles of the benchmark page, per-token cosine of the embeddings against
/// float32: min 0.999974 / mean 0.999984, against 0.999948 / 0.999965), since the residual stream
/// is not rounded to bfloat16 after every layer.
struct SiglipVisionModel: Sendable {
    let config: VisionConfig
    let embeddings: SiglipVisionEmbeddings
    let layers: [SiglipEncoderLayer]
    let postNorm: LayerNorm

    /// `packing`: the kernel of the encoder's linear layers (see `LinearPacking.vision`);
    /// `bridgeAttention`: the bridge's bfloat16 attention (see `SiglipAttention`).
    init(
        store matrices: WeightStore, stream: WeightStore, config: VisionConfig, packing: LinearPacking = .none,
        bridgeAttention: Bool = false
    ) throws {
        self.config = config
        embeddings = try SiglipVisionEmbeddings(store: matrices, stream: stream, config: config)
        layers = try (0..<config.numHiddenLayers).map {
            try SiglipEncoderLayer(
                store: matrices, stream: stream, index: $0, config: config, packing: packing, bridgeAttention: bridgeAttention)
        }
        postNorm = try stream.layerNorm(
            "vision_model.post_layernorm", size: config.hiddenSize, bias: true, eps: config.layerNormEps)
    }

    /// tiles [N, C, S, S] in the matrices' dtype (real tiles only) → [N, numPatches, hidden] in the
    /// stream's dtype
    func callAsFunction(_ tiles: Tensor) throws -> Tensor {
        var hidden = try embeddings(tiles)
        for layer in layers {
            hidden = try layer(hidden)
        }
        return try postNorm(hidden)
    }
}
