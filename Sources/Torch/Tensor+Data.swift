import CTorch

extension Tensor {
    /// Copies the elements out in row-major order, converted to `T`'s dtype and moved to
    /// the CPU first where needed.
    private func copyOut<T>(as dtype: DType, _: T.Type, zero: T) throws -> [T] {
        let count = numel
        var failed = false
        let values = [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            let status = ct_copy_out(handle, dtype.raw, buffer.baseAddress, count * MemoryLayout<T>.stride)
            if status != 0 {
                failed = true
                buffer.initialize(repeating: zero)
            }
            initialized = count
        }
        if failed { throw TorchError.last() }
        return values
    }

    public func floats() throws -> [Float] { try copyOut(as: .float32, Float.self, zero: 0) }
    public func doubles() throws -> [Double] { try copyOut(as: .float64, Double.self, zero: 0) }
    public func int64s() throws -> [Int64] { try copyOut(as: .int64, Int64.self, zero: 0) }
    public func int32s() throws -> [Int32] { try copyOut(as: .int32, Int32.self, zero: 0) }
    public func bools() throws -> [Bool] { try copyOut(as: .uint8, UInt8.self, zero: 0).map { $0 != 0 } }

    /// The value of a one-element tensor.
    public func item() throws -> Double {
        var value = 0.0
        guard ct_item(handle, &value) == 0 else { throw TorchError.last() }
        return value
    }

    /// Borrows the raw bytes of a contiguous CPU tensor without copying; `nil` otherwise.
    /// The pointer is valid only inside `body`.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard isContiguous, let pointer = ct_data_ptr(handle) else { return nil }
        return try withExtendedLifetime(self) {
            try body(UnsafeRawBufferPointer(start: pointer, count: numel * dtype.elementSize))
        }
    }

    public func to(_ dtype: DType) throws -> Tensor { try Tensor.make(ct_to(handle, dtype.raw, device.raw)) }
    public func to(_ device: Device) throws -> Tensor { try Tensor.make(ct_to(handle, dtype.raw, device.raw)) }
    public func to(_ device: Device, _ dtype: DType) throws -> Tensor {
        try Tensor.make(ct_to(handle, dtype.raw, device.raw))
    }

    public func contiguous() throws -> Tensor { try Tensor.make(ct_contiguous(handle)) }
    public func clone() throws -> Tensor { try Tensor.make(ct_clone(handle)) }
}

#if canImport(Glibc)
    import Glibc
#endif

extension Tensor {
    /// Asks the kernel to reclaim the resident pages of a CPU tensor's memory now (whole pages
    /// inside it only). Contents never change (MADV_PAGEOUT is non-destructive): a later read
    /// faults pages back in from the checkpoint file, or from swap for anonymous memory.
    /// Meant for weights that are kept but no longer read, e.g. after packing a copy.
    /// Returns the bytes advised (0 when not applicable or unsupported).
    @discardableResult
    public func adviseReclaim() -> Int {
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        return withUnsafeBytes { bytes -> Int in
            guard let base = bytes.baseAddress, pageSize > 0 else { return 0 }
            let start = (Int(bitPattern: base) + pageSize - 1) / pageSize * pageSize
            let end = (Int(bitPattern: base) + bytes.count) / pageSize * pageSize
            guard end > start, let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return 0 }
            let pageOut: Int32 = 21  // MADV_PAGEOUT (Linux 5.4+); EINVAL on older kernels
            return madvise(pointer, end - start, pageOut) == 0 ? end - start : 0
        } ?? 0
    }
}
