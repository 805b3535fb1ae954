import Torch

/// How to run a loaded model.
public struct ModelOptions: Sendable, Equatable {
    /// Where to run; nil picks CUDA when available, else the CPU.
    public var device: Device?
    /// Compute dtype; nil picks float32 on the CPU and bfloat16 on a GPU (what the Python service did).
    public var dtype: DType?
    /// Tiles per vision-tower pass: bounds activation memory for many-tile pages (0 = all at once).
    public var visionTileBatch: Int

    public init(device: Device? = nil, dtype: DType? = nil, visionTileBatch: Int = 8) {
        self.device = device
        self.dtype = dtype
        self.visionTileBatch = visionTileBatch
    }

    var resolvedDevice: Device { device ?? Torch.defaultDevice }

    var resolvedDType: DType { dtype ?? (resolvedDevice == .cpu ? .float32 : .bfloat16) }
}
