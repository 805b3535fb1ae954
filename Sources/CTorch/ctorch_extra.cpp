// oneDNN (mkldnn) linear with pre-packed weights, through libtorch's registered
// mkldnn::_reorder_linear_weight and mkldnn::_linear_pointwise operators.
#include "bridge.h"
#include "ctorch_extra.h"

#include <ATen/Config.h>
#include <ATen/core/dispatch/Dispatcher.h>

#include <optional>
#include <stdexcept>
#include <string>
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

at::Tensor pointwise_linear(const at::Tensor &x, const at::Tensor &weight, const std::optional<at::Tensor> &bias,
                            int32_t activation) {
    if (activation < CT_ONEDNN_IDENTITY || activation > CT_ONEDNN_GELU_ERF)
        throw std::invalid_argument("ct_onednn_linear: unknown activation " + std::to_string(activation));
    // mkldnn::_linear_pointwise's attribute names: "gelu" with algorithm "tanh", or "none" for erf.
    // oneDNN reads x as a [rows, in] matrix: a strided view is made contiguous first.
    const at::Tensor input = x.contiguous();
    if (activation == CT_ONEDNN_IDENTITY)
        return linear_op().call(input, weight, bias, "none", c10::List<std::optional<at::Scalar>>(), std::nullopt);
    return linear_op().call(input, weight, bias, "gelu", c10::List<std::optional<at::Scalar>>(),
                            activation == CT_ONEDNN_GELU_TANH ? "tanh" : "none");
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

ct_tensor ct_onednn_linear(ct_tensor x, ct_tensor weight, ct_tensor bias, int32_t activation) {
    CT_TENSOR(pointwise_linear(unwrap(x), unwrap(weight), optional(bias), activation))
}

}  // extern "C"
