import CTorch

/// Process-wide libtorch settings and queries.
public enum Torch {
    public static var version: String { String(cString: ct_version()) }
    public static var cudaAvailable: Bool { ct_cuda_is_available() != 0 }
    public static var cudaDeviceCount: Int { Int(ct_cuda_device_count()) }

    /// The device to run on when none is configured: the first GPU if there is one.
    public static var defaultDevice: Device { cudaAvailable ? .cuda(0) : .cpu }

    /// Intra-op thread count (libtorch's at::set_num_threads).
    public static var numThreads: Int {
        get { Int(ct_get_num_threads()) }
        set { ct_set_num_threads(Int32(newValue)) }
    }

    public static func setNumThreads(_ count: Int) { numThreads = count }

    public static func manualSeed(_ seed: UInt64) { ct_manual_seed(seed) }

    /// Waits for queued work on `device` (no-op on CPU).
    public static func synchronize(_ device: Device) throws {
        guard ct_synchronize(device.raw) == 0 else { throw TorchError.last() }
    }
}
