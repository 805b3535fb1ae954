import SafeTensors
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
        /// Column panels for the bridge's float32 kernel (`Tensor.panelLinear`), run with the tile
        /// for this CPU tier.
        case panels(Tensor, isa: CPUISA)
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
        case .panels(let panels, let isa):
            return try x.panelLinear(packedWeight: panels, outFeatures: outFeatures, bias: bias, residual: residual, isa: isa)
        case .oneDNN(let blocked):
            let y = try x.oneDNNLinear(packedWeight: blocked, bias: bias)
            return try residual.map { try $0 + y } ?? y
        case nil:
            let y = try x.linear(weight: weight, bias: bias)
            return try residual.map { try $0 + y } ?? y
        }
    }

    /// act(x·Wᵀ + b). The tanh GELU of a plain float32 CPU layer (SigLIP's fc1) runs the product
    /// without bias and then the bridge's one pass that adds the bias and applies the GELU: libtorch
    /// would copy the bias into the output before the product and run a tanh GELU ~3.5x slower
    /// than that pass (`Tensor.geluTanhInPlace`).
    func callAsFunction(_ x: Tensor, activation: GeluApproximation) throws -> Tensor {
        guard activation == .tanh, packed == nil, weight.device == .cpu, x.device == .cpu, weight.dtype == .float32,
            x.dtype == .float32
        else { return try callAsFunction(x).gelu(activation) }
        return try x.linear(weight: weight, bias: nil).geluTanhInPlace(addingBias: bias)
    }

    /// The same layer running on a packed copy of its weight (float32 CPU only; otherwise
    /// unchanged). The plain weight stays referenced (for its shape) but is no longer read, so
    /// the pages packing touched are handed back to the kernel instead of staying resident next
    /// to the packed copy.
    ///
    /// With a shared file the packed weight is read from it (packed by whichever worker of the
    /// machine came first) or packed once and stored there under `name`, so the machine holds one
    /// copy in the page cache; without one it is a private copy of this process.
    func packed(_ kernel: LinearPacking, name: String) throws -> Linear {
        guard packed == nil, weight.device == .cpu, weight.dtype == .float32 else { return self }
        let packed: PackedWeight
        switch kernel {
        case .none: return self
        case .panels(let shared, let isa):
            guard Tensor.panelLinearAvailable else { return self }
            let weight = self.weight
            guard let shared else {
                packed = .panels(try weight.panelPackedLinearWeight(), isa: isa)
                break
            }
            let shape = Tensor.panelPackedShape(outFeatures: weight.size(0), inFeatures: weight.size(1))
            packed = .panels(
                try shared.tensor(name + ".panels", shape: shape, dtype: .float32) { try weight.panelPackedLinearWeight() },
                isa: isa)
        case .oneDNN(let batchHint):
            guard Tensor.oneDNNAvailable else { return self }
            packed = .oneDNN(try weight.oneDNNPackedLinearWeight(batchHint: batchHint))
        }
        weight.adviseReclaim()
        return Linear(weight: weight, bias: bias, packed: packed)
    }

    /// One linear computing several at once (their outputs concatenated), so that one matrix
    /// product replaces several small ones. With a store, the joined weight is a derived tensor
    /// named `name` there (one copy per machine when the store shares them).
    static func fused(_ parts: [Linear], sharedAs name: String? = nil, in store: WeightStore? = nil) throws -> Linear {
        let biases = parts.compactMap(\.bias)
        guard biases.isEmpty || biases.count == parts.count else {
            throw ColModernVBertError.invalidConfig(field: "bias", reason: "cannot fuse linears with and without bias")
        }
        let rows = parts.reduce(0) { $0 + $1.outFeatures }
        func join(_ tensors: [Tensor], _ suffix: String, _ shape: [Int]) throws -> Tensor {
            guard let name, let store else { return try Tensor.cat(tensors, dim: 0) }
            return try store.derived(name + suffix, shape: shape) { try Tensor.cat(tensors, dim: 0) }
        }
        let columns = parts.first?.weight.size(1) ?? 0
        return Linear(
            weight: try join(parts.map(\.weight), ".weight", [rows, columns]),
            bias: biases.isEmpty ? nil : try join(biases, ".bias", [rows]))
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
    /// The bridge's panel kernel (see `Tensor.panelLinear`) with the tile for CPU tier `isa`, its
    /// packed weights in `shared` when given (one copy per machine, whatever tile reads them),
    /// else private.
    case panels(shared: SharedTensorFile?, isa: CPUISA)
    /// oneDNN, packed for about this many input rows.
    case oneDNN(batchHint: Int)

    /// For logs and `/info`: "panels-avx2", "panels-avx512", "oneDNN" or "libtorch".
    var name: String {
        switch self {
        case .none: "libtorch"
        case .panels(_, let isa): Tensor.panelLinearAvailable ? "panels-\(Tensor.panelTile(for: isa))" : "libtorch"
        case .oneDNN: Tensor.oneDNNAvailable ? "oneDNN" : "libtorch"
        }
    }

    /// `linear` on this kernel; `name` (the weight's canonical prefix) keys it in a shared file.
    func apply(_ linear: Linear, name: String) throws -> Linear {
        try ColModernVBertError.wrapping { try linear.packed(self, name: name) }
    }
}
