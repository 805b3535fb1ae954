// oneDNN (mkldnn) linear with pre-packed weights, through libtorch's registered
// mkldnn::_reorder_linear_weight and mkldnn::_linear_pointwise operators.
#include "bridge.h"
#include "ctorch_extra.h"

#include <ATen/Config.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <optional>
#include <string_view>

using ctorch::optional;
using ctorch::unwrap;

namespace {

using ReorderFn = at::Tensor(const at::Tensor &, std::optional<int64_t>);
using LinearFn = at::Tensor(const at::Tensor &, const at::Tensor &, const std::optional<at::Tensor> &,
                            std::string_view, c10::List<std::optional<at::Scalar>>, std::optional<std::string_view>);

const c10::TypedOperatorHandle<ReorderFn> &reorder_op() {
    static const auto op =
        c10::Dispatcher::singleton().findSchemaOrThrow("mkldnn::_reorder_linear_weight", "").typed<ReorderFn>();
    return op;
}

const c10::TypedOperatorHandle<LinearFn> &linear_op() {
    static const auto op =
        c10::Dispatcher::singleton().findSchemaOrThrow("mkldnn::_linear_pointwise", "").typed<LinearFn>();
    return op;
}

}  // namespace

extern "C" {

int ct_onednn_available(void) {
    try {
#if AT_MKLDNN_ENABLED()
        return at::hasMKLDNN() ? 1 : 0;
#else
        return 0;
#endif
    } catch (...) {
        return 0;
    }
}

ct_tensor ct_onednn_pack_linear_weight(ct_tensor weight, int64_t batch_hint) {
    CT_TENSOR(reorder_op().call(unwrap(weight), batch_hint > 0 ? std::optional<int64_t>(batch_hint) : std::nullopt))
}

ct_tensor ct_onednn_linear(ct_tensor x, ct_tensor packed_weight, ct_tensor bias) {
    CT_TENSOR(linear_op().call(unwrap(x), unwrap(packed_weight), optional(bias), "none",
                               c10::List<std::optional<at::Scalar>>(), std::nullopt))
}

}  // extern "C"
