import CTorch

/// Keeps the owner of borrowed memory alive until libtorch drops its last reference.
private let releaseOwner: ct_deleter = { context in
    guard let context else { return }
    Unmanaged<AnyObject>.fromOpaque(context).release()
}

extension Tensor {
    /// Wraps `pointer` without copying. `owner` (for example a memory mapping) is retained
    /// until every tensor sharing the memory is gone; the memory must stay valid and
    /// unmodified for that long.
    public static func fromBlob(
        _ pointer: UnsafeRawPointer, shape: [Int], strides: [Int]? = nil, dtype: DType, owner: AnyObject
    ) throws -> Tensor {
        let context = Unmanaged.passRetained(owner).toOpaque()
        let result = withInt64s(shape) { shapePointer, rank in
            if let strides {
                return withInt64s(strides) { stridePointer, _ in
                    ct_from_blob(
                        UnsafeMutableRawPointer(mutating: pointer), shapePointer, rank, stridePointer,
                        dtype.raw, releaseOwner, context)
                }
            }
            return ct_from_blob(
                UnsafeMutableRawPointer(mutating: pointer), shapePointer, rank, nil, dtype.raw,
                releaseOwner, context)
        }
        guard let result else {
            Unmanaged<AnyObject>.fromOpaque(context).release()
            throw TorchError.last()
        }
        return Tensor(owning: result)
    }

    /// Copies raw bytes into a new CPU tensor of `shape` and `dtype`.
    public convenience init(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) throws {
        let result = withInt64s(shape) { ct_from_data(bytes.baseAddress, bytes.count, $0, $1, dtype.raw) }
        guard let result else { throw TorchError.last() }
        self.init(owning: result)
    }

    public convenience init(floats values: [Float], shape: [Int]) throws {
        try self.init(copying: values, shape: shape, dtype: .float32)
    }

    public convenience init(doubles values: [Double], shape: [Int]) throws {
        try self.init(copying: values, shape: shape, dtype: .float64)
    }

    public convenience init(int64s values: [Int64], shape: [Int]) throws {
        try self.init(copying: values, shape: shape, dtype: .int64)
    }

    public convenience init(int32s values: [Int32], shape: [Int]) throws {
        try self.init(copying: values, shape: shape, dtype: .int32)
    }

    public convenience init(bools values: [Bool], shape: [Int]) throws {
        try self.init(copying: values.map { $0 ? UInt8(1) : 0 }, shape: shape, dtype: .bool)
    }

    private convenience init<T>(copying values: [T], shape: [Int], dtype: DType) throws {
        let result = values.withUnsafeBytes { bytes in
            withInt64s(shape) { ct_from_data(bytes.baseAddress, bytes.count, $0, $1, dtype.raw) }
        }
        guard let result else { throw TorchError.last() }
        self.init(owning: result)
    }

    public static func full(_ shape: [Int], value: Double, dtype: DType = .float32, device: Device = .cpu) throws
        -> Tensor
    {
        try make(withInt64s(shape) { ct_full($0, $1, value, dtype.raw, device.raw) })
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try full(shape, value: 0, dtype: dtype, device: device)
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try full(shape, value: 1, dtype: dtype, device: device)
    }

    /// A zero-dimensional tensor.
    public static func scalar(_ value: Double, dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try full([], value: value, dtype: dtype, device: device)
    }

    /// Uninitialised memory of `shape`.
    public static func empty(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try make(withInt64s(shape) { ct_empty($0, $1, dtype.raw, device.raw) })
    }

    /// [start, end) with `step`.
    public static func arange(
        _ start: Double, _ end: Double, step: Double = 1, dtype: DType = .int64, device: Device = .cpu
    ) throws -> Tensor {
        try make(ct_arange(start, end, step, dtype.raw, device.raw))
    }

    /// Uniform [0, 1) values.
    public static func rand(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try make(withInt64s(shape) { ct_rand($0, $1, 0, dtype.raw, device.raw) })
    }

    /// Standard normal values.
    public static func randn(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws -> Tensor {
        try make(withInt64s(shape) { ct_rand($0, $1, 1, dtype.raw, device.raw) })
    }
}
