import Foundation
import Torch

/// How to run a loaded model.
public struct ModelOptions: Sendable, Equatable {
    /// Where to run; nil picks CUDA when available, else the CPU.
    public var device: Device?
    /// Compute dtype of every tower; nil (`auto`) decides per tower (see `TowerPrecision.resolve`):
    /// bfloat16 on a GPU (what the Python service did); on a CPU the vision tower in bfloat16 where
    /// the CPU has native bfloat16 matrix instructions, float32 everywhere else.
    public var dtype: DType?
    /// Overrides the dtype of the vision tower and connector only: with `dtype` float32 and this
    /// bfloat16, the mixed mode runs on any CPU (tests, measurements).
    public var visionDType: DType?
    /// The CPU that `auto` decides by; nil detects this one at load. Tests pass a capped or
    /// invented one to exercise every path on any machine.
    public var cpu: CPUFeatures?
    /// Tiles per vision-tower pass (0 = all at once). Small passes bound activation memory for
    /// many-tile pages and keep the matrix products in their efficient range (2 tiles = 2048 rows).
    public var visionTileBatch: Int
    /// The kernel for linear layers with float32 CPU weights (elsewhere libtorch's is used).
    public var cpuLinearKernel: CPULinearKernel
    /// Let freed activation buffers stay in the heap for reuse (see `AllocatorTuning`); process-wide.
    public var keepActivationMemory: Bool
    /// Where weights derived at load (the panel-packed text weights) are kept in a file that all
    /// processes of the machine map read-only, packed by the first (see `SharedTensorFile`); nil:
    /// each process packs a private copy (~440 MB for the published model).
    public var sharedWeightsDirectory: URL?
    /// Text sequences of up to `Tensor.shortAttentionMaxLength` tokens (queries) run their float32
    /// CPU attention in the bridge's one pass (`Tensor.shortAttention`: rotary embedding, scores,
    /// softmax and values per head) instead of libtorch's ~12 operators; false keeps libtorch's
    /// for every length (tests compare the two).
    public var shortAttention: Bool = true
    /// Longer float32 CPU text sequences (a page's tokens) run their attention on the bridge's
    /// AVX-512 kernel (`Tensor.longAttention`) where the CPU tier has AVX-512, instead of
    /// libtorch's flash attention; false keeps libtorch's (benchmarks compare the two).
    public var longAttention: Bool = true

    public init(
        device: Device? = nil, dtype: DType? = nil, visionTileBatch: Int = 2, keepActivationMemory: Bool = true,
        cpuLinearKernel: CPULinearKernel = .panels, sharedWeightsDirectory: URL? = nil, visionDType: DType? = nil,
        cpu: CPUFeatures? = nil
    ) {
        self.sharedWeightsDirectory = sharedWeightsDirectory
        self.device = device
        self.cpuLinearKernel = cpuLinearKernel
        self.dtype = dtype
        self.visionDType = visionDType
        self.cpu = cpu
        self.visionTileBatch = visionTileBatch
        self.keepActivationMemory = keepActivationMemory
    }

    var resolvedDevice: Device { device ?? Torch.defaultDevice }

    /// The dtypes each tower runs in, and why (detects the CPU unless `cpu` is given).
    public var resolvedPrecision: TowerPrecision {
        TowerPrecision.resolve(device: resolvedDevice, dtype: dtype, visionDType: visionDType) { cpu ?? CPUFeatures.detect() }
    }

    /// The text tower's dtype: what queries run in (float32 on the CPU unless requested otherwise).
    var resolvedDType: DType { dtype ?? (resolvedDevice == .cpu ? .float32 : .bfloat16) }
}

/// Kernels for float32 linear layers on the CPU; all give the same result to float rounding.
public enum CPULinearKernel: String, Sendable, Equatable, CaseIterable {
    /// libtorch's linear (MKL) on the checkpoint's weights, as the reference does.
    case libtorch
    /// The bridge's AVX2 panel kernel on repacked weights: streams each weight once per call,
    /// the fastest here for short queries (weight-bound) and long prompts alike. Falls back to
    /// libtorch's on CPUs without AVX2/FMA.
    case panels
    /// oneDNN on weights packed into its blocked layout.
    case oneDNN
}
