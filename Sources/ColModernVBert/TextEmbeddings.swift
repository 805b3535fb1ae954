import Torch

/// ModernBERT's input layer: token lookup, then a bias-free LayerNorm.
///
/// The two steps are separate because ColModernVBert swaps image features in between: the
/// `<image>` rows of the lookup are replaced, and the norm then runs over text and image rows alike.
struct TextEmbeddings: Sendable {
    /// [vocab, hidden]
    let table: Tensor
    let norm: LayerNorm

    init(store: WeightStore, config: TextConfig) throws {
        let hidden = config.hiddenSize
        let main = "text_model.embeddings.tok_embeddings.weight"
        if store.contains(WeightNames.additionalEmbedding) {
            // colpali-engine's DecoupledEmbedding: base rows, then the added tokens' rows.
            let baseRows = try store.shape(main).first ?? 0
            let extraRows = try store.shape(WeightNames.additionalEmbedding).first ?? 0
            guard baseRows + extraRows == config.vocabSize else {
                throw ColModernVBertError.shapeMismatch(
                    name: main + " + additional_embedding", expected: [config.vocabSize, hidden],
                    found: [baseRows + extraRows, hidden])
            }
            let base = try store.tensor(main, shape: [baseRows, hidden])
            let extra = try store.tensor(WeightNames.additionalEmbedding, shape: [extraRows, hidden])
            table = try store.derived(main + "+additional", shape: [baseRows + extraRows, hidden]) {
                try Tensor.cat([base, extra], dim: 0)
            }
        } else {
            table = try store.tensor(main, shape: [config.vocabSize, hidden])
        }
        norm = try store.layerNorm(
            "text_model.embeddings.norm", size: hidden, bias: config.normBias, eps: config.normEps)
    }

    /// ids [B, L] int64 → [B, L, hidden]
    func lookup(_ ids: Tensor) throws -> Tensor {
        try Tensor.embedding(weight: table, indices: ids)
    }
}
