import CTorch

extension Tensor {
    /// `-1` in `shape` is inferred, as in PyTorch.
    public func reshape(_ shape: [Int]) throws -> Tensor {
        try Tensor.make(withInt64s(shape) { ct_reshape(handle, $0, $1) })
    }

    /// Like `reshape`, but fails instead of copying when strides do not allow a view.
    public func view(_ shape: [Int]) throws -> Tensor {
        try Tensor.make(withInt64s(shape) { ct_view(handle, $0, $1) })
    }

    public func permute(_ dims: [Int]) throws -> Tensor {
        try Tensor.make(withInt64s(dims) { ct_permute(handle, $0, $1) })
    }

    public func transpose(_ dim0: Int, _ dim1: Int) throws -> Tensor {
        try Tensor.make(ct_transpose(handle, Int64(dim0), Int64(dim1)))
    }

    public func unsqueeze(_ dim: Int) throws -> Tensor { try Tensor.make(ct_unsqueeze(handle, Int64(dim))) }
    public func squeeze(_ dim: Int) throws -> Tensor { try Tensor.make(ct_squeeze(handle, Int64(dim))) }

    public func flatten(_ start: Int = 0, _ end: Int = -1) throws -> Tensor {
        try Tensor.make(ct_flatten(handle, Int64(start), Int64(end)))
    }

    /// Broadcasts size-1 dimensions to `shape` without copying (`-1` keeps a size).
    public func expand(_ shape: [Int]) throws -> Tensor {
        try Tensor.make(withInt64s(shape) { ct_expand(handle, $0, $1) })
    }

    public func narrow(dim: Int, start: Int, length: Int) throws -> Tensor {
        try Tensor.make(ct_narrow(handle, Int64(dim), Int64(start), Int64(length)))
    }

    /// Removes `dim` by taking element `index` along it.
    public func select(dim: Int, index: Int) throws -> Tensor {
        try Tensor.make(ct_select(handle, Int64(dim), Int64(index)))
    }

    public func slice(dim: Int, start: Int = 0, end: Int = Int.max, step: Int = 1) throws -> Tensor {
        try Tensor.make(ct_slice(handle, Int64(dim), Int64(start), Int64(clamping: end), Int64(step)))
    }

    public static func cat(_ tensors: [Tensor], dim: Int) throws -> Tensor {
        try make(
            tensors.map(\.handle).withUnsafeBufferPointer { handles in
                ct_cat(handles.baseAddress, Int32(handles.count), Int64(dim))
            })
    }

    public static func stack(_ tensors: [Tensor], dim: Int) throws -> Tensor {
        try make(
            tensors.map(\.handle).withUnsafeBufferPointer { handles in
                ct_stack(handles.baseAddress, Int32(handles.count), Int64(dim))
            })
    }

    /// Splits along `dim` into pieces of the given sizes (which must add up to the dimension).
    public func split(sizes: [Int], dim: Int) throws -> [Tensor] {
        var out = [ct_tensor?](repeating: nil, count: sizes.count)
        let count = withInt64s(sizes) { pointer, n in
            out.withUnsafeMutableBufferPointer { ct_split(handle, pointer, n, Int64(dim), $0.baseAddress) }
        }
        guard count >= 0 else { throw TorchError.last() }
        return out.prefix(Int(count)).compactMap { $0 }.map { Tensor(owning: $0) }
    }

    /// Splits along `dim` into `chunks` pieces; the last may be smaller.
    public func chunk(_ chunks: Int, dim: Int) throws -> [Tensor] {
        guard chunks > 0 else { throw TorchError("chunk expects a positive number of chunks, got \(chunks)") }
        let total = size(dim)
        let step = (total + chunks - 1) / chunks
        var sizes: [Int] = []
        var remaining = total
        while remaining > 0 {
            sizes.append(min(step, remaining))
            remaining -= step
        }
        return try split(sizes: sizes.isEmpty ? [0] : sizes, dim: dim)
    }

    public func indexSelect(dim: Int, index: Tensor) throws -> Tensor {
        try Tensor.make(ct_index_select(handle, Int64(dim), index.handle))
    }

    /// Sets `value` where `mask` (bool, broadcastable) is true.
    public func maskedFill(_ mask: Tensor, value: Double) throws -> Tensor {
        try Tensor.make(ct_masked_fill(handle, mask.handle, value))
    }

    /// Fills the positions where `mask` is true with consecutive elements of `source`.
    public func maskedScatter(_ mask: Tensor, source: Tensor) throws -> Tensor {
        try Tensor.make(ct_masked_scatter(handle, mask.handle, source.handle))
    }

    /// The elements where `mask` is true, as a 1-D tensor.
    public func maskedSelect(_ mask: Tensor) throws -> Tensor {
        try Tensor.make(ct_masked_select(handle, mask.handle))
    }

    /// `a` where `condition` is true, else `b`.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        try make(ct_where(condition.handle, a.handle, b.handle))
    }

    /// Indices of non-zero elements, shape [n, rank], int64.
    public func nonzero() throws -> Tensor { try Tensor.make(ct_nonzero(handle)) }

    /// Constant padding; `pads` as torch.nn.functional.pad (last dimension first).
    public func pad(_ pads: [Int], value: Double = 0) throws -> Tensor {
        try Tensor.make(withInt64s(pads) { ct_pad(handle, $0, $1, value) })
    }

    public func repeatInterleave(_ repeats: Int, dim: Int) throws -> Tensor {
        try Tensor.make(ct_repeat_interleave(handle, Int64(repeats), Int64(dim)))
    }
}
