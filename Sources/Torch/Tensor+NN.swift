import CTorch

/// The two GELU forms transformer checkpoints use.
public enum GeluApproximation: Sendable {
    /// 0.5·x·(1 + erf(x/√2))
    case none
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    case tanh
}

extension Tensor {
    public func matmul(_ other: Tensor) throws -> Tensor { try Tensor.make(ct_matmul(handle, other.handle)) }

    /// x·Wᵀ + b with W of shape [out, in].
    public func linear(weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        try Tensor.make(ct_linear(handle, weight.handle, bias?.handle))
    }

    public func layerNorm(normalizedShape: [Int], weight: Tensor?, bias: Tensor?, eps: Double) throws -> Tensor {
        try Tensor.make(
            withInt64s(normalizedShape) {
                ct_layer_norm(handle, $0, $1, weight?.handle, bias?.handle, eps)
            })
    }

    public func gelu(_ approximation: GeluApproximation = .none) throws -> Tensor {
        try Tensor.make(ct_unary(handle, approximation == .none ? CT_GELU : CT_GELU_TANH))
    }

    public func softmax(dim: Int) throws -> Tensor { try Tensor.make(ct_softmax(handle, Int64(dim))) }

    /// libtorch's fused attention over [..., L, E] query and [..., S, E] key/value.
    /// A bool `mask` keeps the true positions; a float mask is added to the scores.
    /// `scale` defaults to 1/√E.
    public static func scaledDotProductAttention(
        query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil, scale: Double? = nil, isCausal: Bool = false
    ) throws -> Tensor {
        try make(ct_sdpa(query.handle, key.handle, value.handle, mask?.handle, isCausal ? 1 : 0, scale ?? -1))
    }

    /// 2-D convolution of [N, C, H, W] with weight [O, C/groups, kH, kW].
    public func conv2d(
        weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1, 1], padding: [Int] = [0, 0],
        dilation: [Int] = [1, 1], groups: Int = 1
    ) throws -> Tensor {
        guard stride.count == 2, padding.count == 2, dilation.count == 2 else {
            throw TorchError("conv2d expects two values each for stride, padding and dilation")
        }
        return try withInt64s(stride) { s, _ in
            try withInt64s(padding) { p, _ in
                try withInt64s(dilation) { d, _ in
                    try Tensor.make(ct_conv2d(handle, weight.handle, bias?.handle, s, p, d, Int64(groups)))
                }
            }
        }
    }

    /// Rows of `weight` ([vocab, dim]) picked by integer `indices` of any shape.
    public static func embedding(weight: Tensor, indices: Tensor) throws -> Tensor {
        try make(ct_embedding(weight.handle, indices.handle))
    }

    /// x / max(‖x‖ₚ along `dim`, eps).
    public func normalize(p: Double = 2, dim: Int, eps: Double = 1e-12) throws -> Tensor {
        try Tensor.make(ct_normalize(handle, p, Int64(dim), eps))
    }
}
