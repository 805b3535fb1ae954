// ctorch_extra.h: additions to the ctorch C API for the model (same conventions as ctorch.h).
#ifndef CTORCH_EXTRA_H
#define CTORCH_EXTRA_H

#include "ctorch.h"

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when libtorch was built with oneDNN (mkldnn) and it can run on this CPU.
int ct_onednn_available(void);

/// Reorders a float32 CPU linear weight [out, in] into oneDNN's blocked layout, for
/// `ct_onednn_linear`. `batch_hint` is the typical number of input rows (<= 0: none).
/// The result is an opaque oneDNN tensor: pass it only to `ct_onednn_linear`.
ct_tensor ct_onednn_pack_linear_weight(ct_tensor weight, int64_t batch_hint);

/// x·Wᵀ + b with a weight packed by `ct_onednn_pack_linear_weight`; x [..., in] float32 CPU.
ct_tensor ct_onednn_linear(ct_tensor x, ct_tensor packed_weight, ct_tensor bias);

/// 1 when this CPU can run the panel linear kernel (AVX2 + FMA).
int ct_panel_linear_available(void);

/// Repacks a float32 CPU linear weight [out, in] into column panels [ceil(out/16), in, 16] for
/// `ct_panel_linear` (a plain float32 tensor; the original is not referenced).
ct_tensor ct_panel_pack_linear_weight(ct_tensor weight);

/// x·Wᵀ (+ bias) (+ residual) on a weight packed by `ct_panel_pack_linear_weight`, where W had
/// `out_features` rows. x [..., in] float32 CPU; bias [out] and residual [..., out] may be null.
ct_tensor ct_panel_linear(ct_tensor x, ct_tensor packed_weight, int64_t out_features, ct_tensor bias,
                          ct_tensor residual);

#ifdef __cplusplus
}
#endif

#endif
