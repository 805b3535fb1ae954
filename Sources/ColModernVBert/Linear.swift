import Torch

/// y = x·Wᵀ + b, W of shape [out, in].
struct Linear: Sendable {
    let weight: Tensor
    let bias: Tensor?
    /// The weight in oneDNN's blocked layout, when packed (then `weight` is kept only for its shape).
    let packed: Tensor?

    init(weight: Tensor, bias: Tensor?, packed: Tensor? = nil) {
        self.weight = weight
        self.bias = bias
        self.packed = packed
    }

    var outFeatures: Int { weight.size(0) }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        if let packed {
            return try x.oneDNNLinear(packedWeight: packed, bias: bias)
        }
        return try x.linear(weight: weight, bias: bias)
    }

    /// The same layer running on a oneDNN-packed copy of the weight (float32 CPU only; otherwise
    /// unchanged). The plain weight stays referenced (for its shape) but is no longer read, so
    /// the pages packing touched are handed back to the kernel instead of staying resident
    /// next to the packed copy.
    func packedForOneDNN(batchHint: Int) throws -> Linear {
        guard packed == nil, weight.device == .cpu, weight.dtype == .float32, Tensor.oneDNNAvailable else { return self }
        let packed = try weight.oneDNNPackedLinearWeight(batchHint: batchHint)
        weight.adviseReclaim()
        return Linear(weight: weight, bias: bias, packed: packed)
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

/// Whether a tower's linear layers run on oneDNN-packed weights.
enum LinearPacking: Sendable {
    case none
    /// Pack for about this many input rows.
    case oneDNN(batchHint: Int)

    func apply(_ linear: Linear) throws -> Linear {
        switch self {
        case .none: linear
        case .oneDNN(let hint): try ColModernVBertError.wrapping { try linear.packedForOneDNN(batchHint: hint) }
        }
    }
}
