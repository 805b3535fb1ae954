import CTorch

/// oneDNN linear layers with weights packed once into oneDNN's blocked layout. On the CPU this is
/// faster than the BLAS path for few input rows (a short query: ~20 rows) and on par for many.
extension Tensor {
    /// Whether this libtorch has oneDNN and the CPU supports it.
    public static var oneDNNAvailable: Bool { ct_onednn_available() != 0 }

    /// Packs a float32 CPU weight [out, in]; the result is opaque, for `oneDNNLinear` only.
    public func oneDNNPackedLinearWeight(batchHint: Int) throws -> Tensor {
        try Tensor.make(ct_onednn_pack_linear_weight(handle, Int64(batchHint)))
    }

    /// self·Wᵀ + bias with `packedWeight` from `oneDNNPackedLinearWeight`.
    public func oneDNNLinear(packedWeight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        try Tensor.make(ct_onednn_linear(handle, packedWeight.handle, bias?.handle))
    }
}
