import Torch

/// y = x·Wᵀ + b, W of shape [out, in].
struct Linear: Sendable {
    let weight: Tensor
    let bias: Tensor?
    /// The weight repacked for a faster CPU kernel, when packed (then `weight` is kept only for its
    /// shape and is no longer read).
    let packed: PackedWeight?

    /// A weight in a kernel's own layout.
    enum PackedWeight: Sendable {
        /// Column panels for the bridge's float32 AVX2 kernel (`Tensor.panelLinear`).
        case panels(Tensor)
        /// oneDNN's blocked layout (`Tensor.oneDNNLinear`).
        case oneDNN(Tensor)
    }

    init(weight: Tensor, bias: Tensor?, packed: PackedWeight? = nil) {
        self.weight = weight
        self.bias = bias
        self.packed = packed
    }

    var outFeatures: Int { weight.size(0) }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try callAsFunction(x, adding: nil)
    }

    /// residual + x·Wᵀ + b: the panel kernel adds the residual as it stores its output, saving a
    /// pass over memory; the other paths add it after.
    func callAsFunction(_ x: Tensor, adding residual: Tensor?) throws -> Tensor {
        switch packed {
        case .panels(let panels):
            return try x.panelLinear(packedWeight: panels, outFeatures: outFeatures, bias: bias, residual: residual)
        case .oneDNN(let blocked):
            let y = try x.oneDNNLinear(packedWeight: blocked, bias: bias)
            return try residual.map { try $0 + y } ?? y
        case nil:
            let y = try x.linear(weight: weight, bias: bias)
            return try residual.map { try $0 + y } ?? y
        }
    }

    /// The same layer running on a packed copy of its weight (float32 CPU only; otherwise
    /// unchanged). The plain weight stays referenced (for its shape) but is no longer read, so
    /// the pages packing touched are handed back to the kernel instead of staying resident next
    /// to the packed copy.
    func packed(_ kernel: LinearPacking) throws -> Linear {
        guard packed == nil, weight.device == .cpu, weight.dtype == .float32 else { return self }
        let packed: PackedWeight
        switch kernel {
        case .none: return self
        case .panels:
            guard Tensor.panelLinearAvailable else { return self }
            packed = .panels(try weight.panelPackedLinearWeight())
        case .oneDNN(let batchHint):
            guard Tensor.oneDNNAvailable else { return self }
            packed = .oneDNN(try weight.oneDNNPackedLinearWeight(batchHint: batchHint))
        }
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

/// Which kernel a tower's linear layers run on (float32 CPU weights only; elsewhere libtorch's).
enum LinearPacking: Sendable {
    /// libtorch's linear on the checkpoint's weight.
    case none
    /// The bridge's panel kernel (see `Tensor.panelLinear`).
    case panels
    /// oneDNN, packed for about this many input rows.
    case oneDNN(batchHint: Int)

    func apply(_ linear: Linear) throws -> Linear {
        try ColModernVBertError.wrapping { try linear.packed(self) }
    }
}
