import Torch

/// y = x·Wᵀ + b, W of shape [out, in].
struct Linear: Sendable {
    let weight: Tensor
    let bias: Tensor?

    var outFeatures: Int { weight.size(0) }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.linear(weight: weight, bias: bias)
    }

    /// One linear computing several at once (their outputs concatenated), so that one matrix
    /// product replaces several small ones.
    static func fused(_ parts: [Linear]) throws -> Linear {
        let biases = parts.compactMap(\.bias)
        guard biases.isEmpty || biases.count == parts.count else {
            throw ColModernVBertError.invalidConfig(field: "bias", reason: "cannot fuse linears with and without bias")
        }
        return Linear(
            weight: try Tensor.cat(parts.map(\.weight), dim: 0),
            bias: biases.isEmpty ? nil : try Tensor.cat(biases, dim: 0))
    }
}

/// LayerNorm over the last dimension; `bias` absent where the checkpoint has none (ModernBERT).
struct LayerNorm: Sendable {
    let weight: Tensor
    let bias: Tensor?
    let size: Int
    let eps: Double

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try x.layerNorm(normalizedShape: [size], weight: weight, bias: bias, eps: eps)
    }
}
