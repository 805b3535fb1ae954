import CTorch

extension Tensor {
    private func reduce(_ op: ct_reduce_op, _ dims: [Int], _ keepDim: Bool) throws -> Tensor {
        try Tensor.make(withInt64s(dims) { ct_reduce(handle, op, $0, $1, keepDim ? 1 : 0) })
    }

    /// Sum over `dims`; all dimensions when `dims` is empty.
    public func sum(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_SUM, dims, keepDim) }
    public func mean(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_MEAN, dims, keepDim) }
    public func amax(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_AMAX, dims, keepDim) }
    public func amin(dims: [Int] = [], keepDim: Bool = false) throws -> Tensor { try reduce(CT_AMIN, dims, keepDim) }

    public func argmax(dim: Int, keepDim: Bool = false) throws -> Tensor {
        try Tensor.make(ct_argmax(handle, Int64(dim), keepDim ? 1 : 0))
    }

    /// p-norm over `dims`; all dimensions when `dims` is empty.
    public func norm(p: Double = 2, dims: [Int] = [], keepDim: Bool = false) throws -> Tensor {
        try Tensor.make(withInt64s(dims) { ct_norm(handle, p, $0, $1, keepDim ? 1 : 0) })
    }
}
