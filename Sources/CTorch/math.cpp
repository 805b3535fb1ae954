// Elementwise math, neural-network operations and reductions.
#include "bridge.h"

#include <cmath>

using ctorch::ints;
using ctorch::optional;
using ctorch::unwrap;

namespace {

at::Tensor unary(const at::Tensor &t, ct_unary_op op) {
    switch (op) {
        case CT_NEG: return t.neg();
        case CT_EXP: return t.exp();
        case CT_LOG: return t.log();
        case CT_SQRT: return t.sqrt();
        case CT_RSQRT: return t.rsqrt();
        case CT_TANH: return t.tanh();
        case CT_SIN: return t.sin();
        case CT_COS: return t.cos();
        case CT_SIGMOID: return t.sigmoid();
        case CT_RELU: return t.relu();
        case CT_SILU: return at::silu(t);
        case CT_ABS: return t.abs();
        case CT_GELU: return at::gelu(t, "none");
        case CT_GELU_TANH: return at::gelu(t, "tanh");
        case CT_LOGICAL_NOT: return t.logical_not();
        case CT_RECIPROCAL: return t.reciprocal();
    }
    throw std::invalid_argument("unknown unary op " + std::to_string(static_cast<int>(op)));
}

// `B` is at::Tensor or at::Scalar: the same switch serves both forms.
template <typename B>
at::Tensor binary(const at::Tensor &a, const B &b, ct_binary_op op) {
    switch (op) {
        case CT_ADD: return at::add(a, b);
        case CT_SUB: return at::sub(a, b);
        case CT_MUL: return at::mul(a, b);
        case CT_DIV: return at::div(a, b);
        case CT_POW: return at::pow(a, b);
        case CT_EQ: return at::eq(a, b);
        case CT_NE: return at::ne(a, b);
        case CT_LT: return at::lt(a, b);
        case CT_LE: return at::le(a, b);
        case CT_GT: return at::gt(a, b);
        case CT_GE: return at::ge(a, b);
        case CT_MAXIMUM:
        case CT_MINIMUM:
        case CT_LOGICAL_AND:
        case CT_LOGICAL_OR: {
            at::Tensor other;
            if constexpr (std::is_same_v<B, at::Tensor>) {
                other = b;
            } else {
                other = at::scalar_tensor(b, a.options());
            }
            if (op == CT_MAXIMUM) return at::maximum(a, other);
            if (op == CT_MINIMUM) return at::minimum(a, other);
            if (op == CT_LOGICAL_AND) return at::logical_and(a, other);
            return at::logical_or(a, other);
        }
    }
    throw std::invalid_argument("unknown binary op " + std::to_string(static_cast<int>(op)));
}

}  // namespace

extern "C" {

ct_tensor ct_unary(ct_tensor t, ct_unary_op op) { CT_TENSOR(unary(unwrap(t), op)) }

ct_tensor ct_binary(ct_tensor a, ct_tensor b, ct_binary_op op) { CT_TENSOR(binary(unwrap(a), unwrap(b), op)) }

ct_tensor ct_binary_scalar(ct_tensor a, double b, ct_binary_op op) {
    CT_TENSOR(binary(unwrap(a), at::Scalar(b), op))
}

ct_tensor ct_clamp(ct_tensor t, int has_min, double min, int has_max, double max) {
    CT_TENSOR(at::clamp(unwrap(t), has_min ? c10::optional<at::Scalar>(min) : c10::nullopt,
                        has_max ? c10::optional<at::Scalar>(max) : c10::nullopt))
}

ct_tensor ct_matmul(ct_tensor a, ct_tensor b) { CT_TENSOR(at::matmul(unwrap(a), unwrap(b))) }

ct_tensor ct_linear(ct_tensor x, ct_tensor weight, ct_tensor bias) {
    CT_TENSOR(at::linear(unwrap(x), unwrap(weight), optional(bias)))
}

ct_tensor ct_layer_norm(ct_tensor x, const int64_t *normalized_shape, int ndim, ct_tensor weight, ct_tensor bias,
                        double eps) {
    CT_TENSOR(at::layer_norm(unwrap(x), ints(normalized_shape, ndim), optional(weight), optional(bias), eps))
}

ct_tensor ct_softmax(ct_tensor t, int64_t dim) { CT_TENSOR(at::softmax(unwrap(t), dim)) }

ct_tensor ct_sdpa(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask, int is_causal, double scale) {
    CT_TENSOR(at::scaled_dot_product_attention(unwrap(q), unwrap(k), unwrap(v), optional(mask), 0.0, is_causal != 0,
                                               scale < 0 ? c10::nullopt : c10::optional<double>(scale)))
}

ct_tensor ct_conv2d(ct_tensor x, ct_tensor weight, ct_tensor bias, const int64_t *stride, const int64_t *padding,
                    const int64_t *dilation, int64_t groups) {
    CT_TENSOR(at::conv2d(unwrap(x), unwrap(weight), optional(bias), ints(stride, 2), ints(padding, 2),
                         ints(dilation, 2), groups))
}

ct_tensor ct_embedding(ct_tensor weight, ct_tensor indices) { CT_TENSOR(at::embedding(unwrap(weight), unwrap(indices))) }

ct_tensor ct_normalize(ct_tensor t, double p, int64_t dim, double eps) {
    CT_GUARDED(nullptr, {
        const at::Tensor &x = unwrap(t);
        at::Tensor norm = at::norm(x, p, {dim}, true).clamp_min(eps).expand_as(x);
        return ctorch::wrap(x / norm);
    })
}

ct_tensor ct_reduce(ct_tensor t, ct_reduce_op op, const int64_t *dims, int ndim, int keepdim) {
    CT_GUARDED(nullptr, {
        const at::Tensor &x = unwrap(t);
        // An empty dimension list means "all dimensions" for every op here.
        std::vector<int64_t> all;
        at::IntArrayRef over = ints(dims, ndim);
        if (ndim == 0) {
            for (int64_t d = 0; d < x.dim(); ++d) all.push_back(d);
            over = all;
        }
        switch (op) {
            case CT_SUM: return ctorch::wrap(at::sum(x, over, keepdim != 0));
            case CT_MEAN: return ctorch::wrap(at::mean(x, over, keepdim != 0));
            case CT_AMAX: return ctorch::wrap(at::amax(x, over, keepdim != 0));
            case CT_AMIN: return ctorch::wrap(at::amin(x, over, keepdim != 0));
        }
        throw std::invalid_argument("unknown reduction " + std::to_string(static_cast<int>(op)));
    })
}

ct_tensor ct_argmax(ct_tensor t, int64_t dim, int keepdim) { CT_TENSOR(at::argmax(unwrap(t), dim, keepdim != 0)) }

ct_tensor ct_norm(ct_tensor t, double p, const int64_t *dims, int ndim, int keepdim) {
    CT_GUARDED(nullptr, {
        const at::Tensor &x = unwrap(t);
        if (ndim == 0) {
            at::Tensor n = at::norm(x, p);
            if (keepdim) {
                std::vector<int64_t> ones(static_cast<size_t>(x.dim()), 1);
                n = n.reshape(ones);
            }
            return ctorch::wrap(std::move(n));
        }
        return ctorch::wrap(at::norm(x, p, ints(dims, ndim), keepdim != 0));
    })
}

}  // extern "C"
