import Torch

/// ColBERT-style output head: linear to `dim`, L2-normalise each token vector (norm clamped at
/// 1e-12), zero the padding positions.
struct EmbeddingHead: Sendable {
    let projection: Linear

    var dim: Int { projection.outFeatures }

    init(store: WeightStore, hidden: Int, expectedDim: Int?) throws {
        let name = "head.weight"
        let shape = try store.shape(name)
        guard shape.count == 2, shape[1] == hidden, shape[0] > 0 else {
            throw ColModernVBertError.shapeMismatch(name: name, expected: [expectedDim ?? -1, hidden], found: shape)
        }
        if let expectedDim, expectedDim != shape[0] {
            throw ColModernVBertError.shapeMismatch(name: name, expected: [expectedDim, hidden], found: shape)
        }
        projection = try store.linear("head", out: shape[0], in: hidden, bias: store.contains("head.bias"))
    }

    /// hidden [B, L, hidden], valid [B, L] bool or nil → [B, L, dim]
    func callAsFunction(_ hidden: Tensor, valid: Tensor?) throws -> Tensor {
        let normalized = try projection(hidden).normalize(p: 2, dim: -1, eps: 1e-12)
        guard let valid else { return normalized }
        return try normalized * valid.unsqueeze(-1).to(normalized.dtype)
    }
}
