// ctorch_extra.h: additions to the ctorch C API for the model (same conventions as ctorch.h).
#ifndef CTORCH_EXTRA_H
#define CTORCH_EXTRA_H

#include "ctorch.h"

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when libtorch was built with oneDNN (mkldnn) and it can run on this CPU.
int ct_onednn_available(void);

/// Reorders a float32 or bfloat16 CPU linear weight [out, in] into oneDNN's blocked layout, for
/// `ct_onednn_linear`. `batch_hint` is the typical number of input rows (<= 0: none).
/// The result is an opaque oneDNN tensor: pass it only to `ct_onednn_linear`.
ct_tensor ct_onednn_pack_linear_weight(ct_tensor weight, int64_t batch_hint);

/// What `ct_onednn_linear` applies to x·Wᵀ + b before it stores its output (oneDNN post-op, on
/// the float32 accumulator, before any rounding to the output's dtype).
enum { CT_ONEDNN_IDENTITY = 0, CT_ONEDNN_GELU_TANH = 1, CT_ONEDNN_GELU_ERF = 2 };

/// act(x·Wᵀ + b) on oneDNN's matmul. `weight` is either packed by `ct_onednn_pack_linear_weight`
/// or a plain contiguous [out, in] CPU tensor (oneDNN then reads it in place: nothing is copied
/// at load, so a mapped weight stays shared). x [..., in], weight and bias in one dtype: float32,
/// or bfloat16 on a CPU with AVX-512 (oneDNN's bfloat16 kernels need avx512_core). `activation`
/// is a CT_ONEDNN_* value; the output has x's dtype.
ct_tensor ct_onednn_linear(ct_tensor x, ct_tensor weight, ct_tensor bias, int32_t activation);

/// 1 when this CPU can run the panel linear kernel (AVX2 + FMA).
int ct_panel_linear_available(void);

/// The tile a panel linear call computes with; same packed layout for all. CT_PANEL_AVX512_ON_AVX2
/// is the AVX-512 tile's code (12-row blocks) built for AVX2 registers: it needs only AVX2, spills
/// and is slow, and exists so that tests cover the AVX-512 tile's logic on any AVX2 CPU.
enum { CT_PANEL_AVX2 = 0, CT_PANEL_AVX512 = 1, CT_PANEL_AVX512_ON_AVX2 = 2 };

/// 1 when this CPU and its OS can run the panel kernel's tile for `isa` (a CT_PANEL_* value).
int ct_panel_linear_supports(int isa);

/// Repacks a float32 CPU linear weight [out, in] into column panels [ceil(out/16), in, 16] for
/// `ct_panel_linear` (a plain float32 tensor; the original is not referenced).
ct_tensor ct_panel_pack_linear_weight(ct_tensor weight);

/// x·Wᵀ (+ bias) (+ residual) on a weight packed by `ct_panel_pack_linear_weight`, where W had
/// `out_features` rows. x [..., in] float32 CPU; bias [out] and residual [..., out] may be null.
/// `isa` (CT_PANEL_*) picks the tile; one the CPU cannot run is an error, never a fallback.
ct_tensor ct_panel_linear(ct_tensor x, ct_tensor packed_weight, int64_t out_features, ct_tensor bias,
                          ct_tensor residual, int isa);

/// gelu_tanh(x + bias) written into x (float32, contiguous, CPU; bias [last dim] or null) and
/// returned as a new handle to it, computed as v / (1 + exp(-2u)) (the same function as
/// libtorch's 0.5·v·(1 + tanh(u)), within a few float ulps). `vectorized` 0 forces the scalar
/// path (for tests); otherwise AVX2 + FMA where the CPU has it.
ct_tensor ct_bias_gelu_tanh_(ct_tensor x, ct_tensor bias, int vectorized);

/// The longest sequence `ct_short_attention` takes.
enum { CT_SHORT_ATTENTION_MAX_LENGTH = 256 };

/// Rotary self-attention of short sequences, from the fused projection to the output
/// projection's input: for each sequence b and head h of D = qkv.size(2) / (3·heads),
/// q, k, v = the [L, D] slices of qkv [B, L, 3·heads·D] (float32 CPU; q, k, v each heads x D),
/// q and k rotated as x·cos + swap(x)·signed_sin (cos, signed_sin: L·D floats in [L, D] order,
/// swap exchanging the halves of D), then softmax(q·kᵀ·scale, keys where mask is false
/// excluded)·v into out[b, :, h·D ..< (h+1)·D], out [B, L, heads·D]. mask: null or bool
/// [1 or B, 1, L, L], true = attend; a query with no key to attend to gets zeros. L at most
/// CT_SHORT_ATTENTION_MAX_LENGTH, D even. `vectorized` 0 forces the scalar path (for tests);
/// otherwise AVX2 + FMA where the CPU has it and D is a multiple of 16 up to 128.
ct_tensor ct_short_attention(ct_tensor qkv, ct_tensor cos, ct_tensor signed_sin, ct_tensor mask, int64_t heads,
                             double scale, int vectorized);

/// 1 when this CPU and its OS can run `ct_tile_attention` (AVX-512 with AVX512_BF16).
int ct_tile_attention_available(void);

/// Unmasked self-attention of vision tiles in bfloat16, from the fused projection to the output
/// projection's input: for each tile n and head h of D = qkv.size(2) / (3·heads), q, k, v = the
/// [P, D] slices of qkv [N, P, 3·heads·D] (bfloat16 CPU; q, k, v each heads x D), then
/// softmax(q·kᵀ·scale)·v into out[n, :, h·D ..< (h+1)·D], out [N, P, heads·D] bfloat16. Products
/// accumulate in float32, the softmax is computed in float32 and its weights are rounded to
/// bfloat16 for the product with v (as libtorch's flash attention does); D a multiple of 32. An
/// error on a CPU without AVX512_BF16 (`ct_tile_attention_available`), never a silent fallback.
ct_tensor ct_tile_attention(ct_tensor qkv, int64_t heads, double scale);

/// 1 when this CPU and its OS can run `ct_long_attention` (AVX-512 F, BW, VL).
int ct_long_attention_available(void);

/// softmax(q·kᵀ·scale, keys where mask is false excluded)·v for each sequence b and head h, in
/// float32: query [B, H, Lq, D], key and value [B, H, Lk, D] (float32 CPU, any strides; D a
/// multiple of 16), mask null or bool [1 or B, 1, Lq, Lk] (true = attend) → [B, H, Lq, D]
/// contiguous, as libtorch's scaled_dot_product_attention with a boolean mask; a query with no
/// key to attend to gets zeros. For long sequences (its scratch holds a head's keys); an error
/// on a CPU without AVX-512 (`ct_long_attention_available`), never a silent fallback.
ct_tensor ct_long_attention(ct_tensor query, ct_tensor key, ct_tensor value, ct_tensor mask, double scale);

#ifdef __cplusplus
}
#endif

#endif
