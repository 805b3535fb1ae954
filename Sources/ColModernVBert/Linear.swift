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
        /// For oneDNN's matmul (`Tensor.oneDNNLinear`): its blocked layout, or the plain weight
        /// itself, read in place. A GELU after it is oneDNN's post-op.
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
        case .oneDNN(let weight):
            let y = try x.oneDNNLinear(weight: weight, bias: bias)
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
    /// On oneDNN the GELU is its post-op, applied to the float32 accumulator as the product is
    /// stored, in bfloat16 too, where the reference rounds the product first and runs a GELU pass
    /// over it. The post-op is closer to exact (mean error 4.5e-4 against 6.8e-4 on a random
    /// 512 x 64 -> 256 layer) and as faithful at full size (per-token cosine against float32,
    /// mixed min 0.999960 / mean 0.9999828 against 0.999962 / 0.9999821), but the tiny model's
    /// embeddings, which amplify one-ulp differences, follow it only in a reference run that
    /// computes fc1 the same way (make_precision_fixtures.py).
    func callAsFunction(_ x: Tensor, activation: GeluApproximation) throws -> Tensor {
        if case .oneDNN(let weight) = packed { return try x.oneDNNLinear(weight: weight, bias: bias, gelu: activation) }
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
        guard packed == nil, weight.device == .cpu else { return self }
        if case .oneDNNInPlace = kernel {
            guard Tensor.oneDNNAvailable, weight.isContiguous, weight.dtype == .float32 || weight.dtype == .bfloat16 else {
                return self
            }
            return Linear(weight: weight, bias: bias, packed: .oneDNN(weight))
        }
        guard weight.dtype == .float32 else { return self }
        let packed: PackedWeight
        switch kernel {
        case .none, .oneDNNInPlace: return self
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
    /// oneDNN's matmul on the weight where it lies (nothing copied, mapped weights stay shared),
    /// the bias and a following GELU fused into its output (float32 or bfloat16 weights).
    case oneDNNInPlace

    /// The vision tower's kernel: oneDNN in place on a CPU tier where it beats libtorch's linear
    /// (MKL in float32, oneDNN with a separate bias and GELU pass in bfloat16), else libtorch's.
    /// Measured on the tower's shapes at its 2-tile batch (2048 rows), 2 threads, Zen 4
    /// (AVX512_BF16): float32 12.6-51.6 ms against 18.3-65.2 (0.69-0.90x), bfloat16 with fc1's
    /// GELU 0.76-0.94x. On Zen 3 (AVX2) oneDNN's float32 products were 13 % slower than MKL's,
    /// and its bfloat16 kernels need AVX-512. In bfloat16 too fc1's GELU is oneDNN's post-op:
    /// libtorch's bfloat16 GELU pass over fc1's output (SLEEF's tanh) was the largest cost after
    /// the products. Xeon with AMX-BF16: 10.5 ms of a ~58 ms 2-tile layer, a 13-tile tower 4.6-5.6 s
    /// fused against 5.9-6.4 s; Zen 5 with AVX512_BF16: 6 % of a page's samples, a 13-tile tower
    /// 4.30-4.59 s fused against 4.44-5.74 s (medians 4.38-4.55 against 4.65-5.23; alternating runs).
    /// `isa`: the tier the model was resolved for, never above the hardware's.
    static func vision(device: Device, dtype: DType, isa: CPUISA) -> LinearPacking {
        guard device == .cpu, Tensor.oneDNNAvailable else { return .none }
        switch dtype {
        case .float32: return isa >= .avx512 ? .oneDNNInPlace : .none
        case .bfloat16: return isa >= .avx512BF16 ? .oneDNNInPlace : .none
        default: return .none
        }
    }

    /// For logs and `/info`: "panels-avx2", "panels-avx512", "oneDNN" or "libtorch".
    var name: String {
        switch self {
        case .none: "libtorch"
        case .panels(_, let isa): Tensor.panelLinearAvailable ? "panels-\(Tensor.panelTile(for: isa))" : "libtorch"
        case .oneDNN, .oneDNNInPlace: Tensor.oneDNNAvailable ? "oneDNN" : "libtorch"
        }
    }

    /// `linear` on this kernel; `name` (the weight's canonical prefix) keys it in a shared file.
    func apply(_ linear: Linear, name: String) throws -> Linear {
        try ColModernVBertError.wrapping { try linear.packed(self, name: name) }
    }
}
