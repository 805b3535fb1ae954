import CTorch

/// oneDNN linear layers with weights packed once into oneDNN's blocked layout. On the CPU this is
/// faster than the BLAS path for few input rows (a short query: ~20 rows) and on par for many.
extension Tensor {
    /// Whether this libtorch has oneDNN and the CPU supports it.
    public static var oneDNNAvailable: Bool { ct_onednn_available() != 0 }

    /// Packs a float32 or bfloat16 CPU weight [out, in]; the result is opaque, for `oneDNNLinear` only.
    public func oneDNNPackedLinearWeight(batchHint: Int) throws -> Tensor {
        try Tensor.make(ct_onednn_pack_linear_weight(handle, Int64(batchHint)))
    }

    /// act(self·Wᵀ + bias) on oneDNN's matmul, the bias and the GELU (when given) applied to the
    /// float32 accumulator as the product is stored. `weight` is packed by
    /// `oneDNNPackedLinearWeight` or a plain contiguous [out, in] tensor, read in place. float32,
    /// or bfloat16 on a CPU with AVX-512.
    public func oneDNNLinear(weight: Tensor, bias: Tensor? = nil, gelu: GeluApproximation? = nil) throws -> Tensor {
        let activation: Int32 =
            switch gelu {
            case nil: Int32(CT_ONEDNN_IDENTITY)
            case .some(.tanh): Int32(CT_ONEDNN_GELU_TANH)
            case .some(.none): Int32(CT_ONEDNN_GELU_ERF)
            }
        return try Tensor.make(ct_onednn_linear(handle, weight.handle, bias?.handle, activation))
    }
}

/// Linear layers on weights repacked into column panels for the bridge's CPU kernel (float32,
/// AVX2 + FMA, or AVX-512): each panel streams from memory once per call, which matters when few
/// input rows share many weights (a short query).
extension Tensor {
    /// Whether this CPU can run the panel kernel (at least its AVX2 tile).
    public static var panelLinearAvailable: Bool { ct_panel_linear_available() != 0 }

    /// The instruction set the panel kernel computes with on a CPU of tier `isa`: its AVX-512 tile
    /// from the `avx512` tier up, else its AVX2 tile. The packed layout is the same for both.
    public static func panelTile(for isa: CPUISA) -> CPUISA { isa >= .avx512 ? .avx512 : .avx2 }

    /// Whether this CPU and its OS can run the panel tile `panelTile(for: isa)`.
    public static func panelLinearSupports(_ isa: CPUISA) -> Bool {
        panelLinearSupports(tile: PanelTile(isa))
    }

    /// Whether this CPU and its OS can run `tile`.
    static func panelLinearSupports(tile: PanelTile) -> Bool {
        ct_panel_linear_supports(tile.code) != 0
    }

    /// Changes whenever the packed layout does: files of packed weights record it (`SharedTensorFile`).
    public static let panelLayoutVersion = 1

    /// The shape `panelPackedLinearWeight` gives a weight [outFeatures, inFeatures].
    public static func panelPackedShape(outFeatures: Int, inFeatures: Int) -> [Int] {
        [(outFeatures + 15) / 16, inFeatures, 16]
    }

    /// Packs a float32 CPU weight [out, in] into panels [⌈out/16⌉, in, 16], for `panelLinear`.
    public func panelPackedLinearWeight() throws -> Tensor {
        try Tensor.make(ct_panel_pack_linear_weight(handle))
    }

    /// self·Wᵀ (+ bias) (+ residual) with `packedWeight` from `panelPackedLinearWeight` of a W with
    /// `outFeatures` rows; self [..., in], residual [..., outFeatures]. Computes on the tile for
    /// `isa` (`panelTile(for:)`); one this CPU cannot run is an error.
    public func panelLinear(
        packedWeight: Tensor, outFeatures: Int, bias: Tensor? = nil, residual: Tensor? = nil, isa: CPUISA = .avx2
    ) throws -> Tensor {
        try panelLinear(packedWeight: packedWeight, outFeatures: outFeatures, bias: bias, residual: residual, tile: PanelTile(isa))
    }

    /// `panelLinear` on one of the bridge's tiles by name, including the test-only one.
    func panelLinear(packedWeight: Tensor, outFeatures: Int, bias: Tensor?, residual: Tensor?, tile: PanelTile) throws -> Tensor {
        try Tensor.make(
            ct_panel_linear(handle, packedWeight.handle, Int64(outFeatures), bias?.handle, residual?.handle, tile.code))
    }
}

/// The bridge's panel tiles (`CT_PANEL_*`). `avx512OnAVX2` is the AVX-512 tile's source built for
/// AVX2 registers: slow, never chosen by the model, there so that tests run the AVX-512 tile's
/// 12-row blocking on CPUs without AVX-512.
enum PanelTile: CaseIterable, Sendable {
    case avx2, avx512, avx512OnAVX2

    var code: Int32 {
        switch self {
        case .avx2: Int32(CT_PANEL_AVX2)
        case .avx512: Int32(CT_PANEL_AVX512)
        case .avx512OnAVX2: Int32(CT_PANEL_AVX512_ON_AVX2)
        }
    }

    /// The tile the model runs on a CPU of tier `isa` (`Tensor.panelTile(for:)`).
    init(_ isa: CPUISA) {
        self = Tensor.panelTile(for: isa) == .avx512 ? .avx512 : .avx2
    }
}

/// The tanh GELU with its bias in one pass (SigLIP's MLP), by the bridge.
extension Tensor {
    /// gelu_tanh(self + bias), written into this tensor's memory (float32, contiguous, CPU) and
    /// returned: only for a tensor nothing else reads, such as a product just computed. The same
    /// function as `gelu(.tanh)` within a few float ulps, ~3x faster (it needs one exp where
    /// libtorch's needs a tanh). `vectorized: false` forces the scalar path.
    public func geluTanhInPlace(addingBias bias: Tensor?, vectorized: Bool = true) throws -> Tensor {
        try Tensor.make(ct_bias_gelu_tanh_(handle, bias?.handle, vectorized ? 1 : 0))
    }
}

/// Self-attention of vision tiles in bfloat16 on AVX512_BF16, by the bridge (SigLIP's attention
/// in the mixed and bfloat16 modes).
extension Tensor {
    /// Whether this CPU runs `tileAttention` (AVX-512 with AVX512_BF16, enabled by the OS).
    public static var tileAttentionAvailable: Bool { ct_tile_attention_available() != 0 }

    /// softmax(q·kᵀ·scale)·v per tile and head, from this tensor as the fused projection
    /// [N, P, 3·heads·D] (bfloat16 CPU, D a multiple of 32) to [N, P, heads·D] bfloat16. See
    /// `ct_tile_attention` for the contract; an error where `tileAttentionAvailable` is false.
    public func tileAttention(heads: Int, scale: Double) throws -> Tensor {
        try Tensor.make(ct_tile_attention(handle, Int64(heads), scale))
    }
}

/// Attention of long float32 sequences on AVX-512, by the bridge (ModernBERT's attention over a
/// page's tokens).
extension Tensor {
    /// Whether this CPU runs `longAttention` (AVX-512, enabled by the OS).
    public static var longAttentionAvailable: Bool { ct_long_attention_available() != 0 }

    /// softmax(q·kᵀ·scale, masked)·v: query [B, H, Lq, D], key and value [B, H, Lk, D] (float32
    /// CPU, D a multiple of 16), mask nil or bool [1 or B, 1, Lq, Lk] (true: attend) → [B, H, Lq,
    /// D], as `scaledDotProductAttention`. See `ct_long_attention` for the contract; an error where
    /// `longAttentionAvailable` is false.
    public static func longAttention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor?, scale: Double) throws -> Tensor {
        try Tensor.make(ct_long_attention(query.handle, key.handle, value.handle, mask?.handle, scale))
    }
}

/// Rotary self-attention of short sequences in one pass, by the bridge (ModernBERT's attention
/// for text queries).
extension Tensor {
    /// The longest sequence `shortAttention` takes.
    public static var shortAttentionMaxLength: Int { Int(CT_SHORT_ATTENTION_MAX_LENGTH) }

    /// softmax(rotate(q)·rotate(k)ᵀ·scale, masked)·v per head, from this tensor as the fused
    /// projection [B, L, 3·heads·D] (float32 CPU) to [B, L, heads·D]; rotate(x) = x·cos +
    /// swap(x)·signedSin with `cos` and `signedSin` holding L·D values in [L, D] order; `mask`
    /// nil or bool [1 or B, 1, L, L] (true: attend). See `ct_short_attention` for the contract.
    /// `vectorized: false` forces the scalar path.
    public func shortAttention(
        cos: Tensor, signedSin: Tensor, mask: Tensor?, heads: Int, scale: Double, vectorized: Bool = true
    ) throws -> Tensor {
        try Tensor.make(
            ct_short_attention(handle, cos.handle, signedSin.handle, mask?.handle, Int64(heads), scale, vectorized ? 1 : 0))
    }
}
