import CTorch

/// An n-dimensional array owned by libtorch.
///
/// The class owns exactly one bridge handle and releases it in `deinit`, so copies of
/// the reference share the handle and nothing is freed twice. Tensors are immutable
/// from Swift: every operation returns a new tensor. libtorch tensors may be read from
/// several threads at once, hence `@unchecked Sendable`.
public final class Tensor: @unchecked Sendable {
    let handle: ct_tensor

    init(owning handle: ct_tensor) {
        self.handle = handle
    }

    deinit {
        ct_free(handle)
    }

    /// Wraps a handle returned by the bridge, or throws the bridge's last error.
    static func make(_ result: ct_tensor?) throws -> Tensor {
        guard let result else { throw TorchError.last() }
        return Tensor(owning: result)
    }

    public var rank: Int { Int(ct_ndim(handle)) }

    public var shape: [Int] {
        var sizes = [Int64](repeating: 0, count: rank)
        sizes.withUnsafeMutableBufferPointer { ct_shape(handle, $0.baseAddress) }
        return sizes.map(Int.init)
    }

    public func size(_ dim: Int) -> Int {
        let sizes = shape
        return sizes[dim < 0 ? dim + sizes.count : dim]
    }

    public var numel: Int { Int(ct_numel(handle)) }
    public var dtype: DType { DType(raw: ct_get_dtype(handle)) }
    public var device: Device { Device(raw: ct_get_device(handle)) }
    public var isContiguous: Bool { ct_is_contiguous(handle) != 0 }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor(\(shape), \(dtype), \(device))" }
}

/// libtorch takes sizes as int64 arrays.
@inline(__always)
func withInt64s<R>(_ values: [Int], _ body: (UnsafePointer<Int64>?, Int32) throws -> R) rethrows -> R {
    let converted = values.map(Int64.init)
    return try converted.withUnsafeBufferPointer { try body($0.baseAddress, Int32($0.count)) }
}
