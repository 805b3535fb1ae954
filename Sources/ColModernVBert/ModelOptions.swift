import Torch

/// How to run a loaded model.
public struct ModelOptions: Sendable, Equatable {
    /// Where to run; nil picks CUDA when available, else the CPU.
    public var device: Device?
    /// Compute dtype; nil picks float32 on the CPU and bfloat16 on a GPU (what the Python service did).
    public var dtype: DType?
    /// Tiles per vision-tower pass (0 = all at once). Small passes bound activation memory for
    /// many-tile pages and keep the matrix products in their efficient range (2 tiles = 2048 rows).
    public var visionTileBatch: Int
    /// Run the text tower's linear layers on oneDNN-packed weights (float32 CPU only): about 20%
    /// faster for short queries, on par for long prompts.
    public var oneDNNTextLinears: Bool
    /// Let freed activation buffers stay in the heap for reuse (see `AllocatorTuning`); process-wide.
    public var keepActivationMemory: Bool

    public init(
        device: Device? = nil, dtype: DType? = nil, visionTileBatch: Int = 2, keepActivationMemory: Bool = true,
        oneDNNTextLinears: Bool = true
    ) {
        self.device = device
        self.oneDNNTextLinears = oneDNNTextLinears
        self.dtype = dtype
        self.visionTileBatch = visionTileBatch
        self.keepActivationMemory = keepActivationMemory
    }

    var resolvedDevice: Device { device ?? Torch.defaultDevice }

    var resolvedDType: DType { dtype ?? (resolvedDevice == .cpu ? .float32 : .bfloat16) }
}
