// Internal helpers shared by the bridge's translation units (not part of the C API).
#pragma once

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <string>
#include <vector>

#include "ctorch.h"

struct ct_tensor_opaque {
    at::Tensor tensor;
};

namespace ctorch {

void set_error(const char *message);
void clear_error();

inline ct_tensor wrap(at::Tensor t) { return new ct_tensor_opaque{std::move(t)}; }
inline const at::Tensor &unwrap(ct_tensor t) {
    if (t == nullptr) throw std::invalid_argument("null tensor handle");
    return t->tensor;
}
inline c10::optional<at::Tensor> optional(ct_tensor t) {
    if (t == nullptr) return c10::nullopt;
    return t->tensor;
}
inline at::IntArrayRef ints(const int64_t *values, int count) {
    if (count < 0) throw std::invalid_argument("negative dimension count");
    return at::IntArrayRef(values, static_cast<size_t>(count));
}

at::ScalarType scalar_type(ct_dtype dtype);
ct_dtype from_scalar_type(at::ScalarType type);
at::Device device(ct_device device);
ct_device from_device(const at::Device &device);

/// This machine's CPU features (`ct_cpu_features_detect`), detected once per process.
const ct_cpu_features &cpu_features();
/// The bridge's own kernels' instruction sets, usable when both the CPU and its OS allow them.
bool avx2_usable();    // AVX2 + FMA, YMM state saved
bool avx512_usable();  // and AVX-512 (F, DQ, BW, VL), ZMM state saved

}  // namespace ctorch

// Runs `body` (which returns a value) under inference mode, converting any C++
// exception into the thread's last error and `failure`.
#define CT_GUARDED(failure, ...)                                                   \
    try {                                                                          \
        c10::InferenceMode ct_inference_guard;                                     \
        __VA_ARGS__                                                                \
    } catch (const c10::Error &e) {                                                \
        ctorch::set_error(e.what_without_backtrace());                             \
    } catch (const std::exception &e) {                                            \
        ctorch::set_error(e.what());                                               \
    } catch (...) {                                                                \
        ctorch::set_error("unknown C++ exception in libtorch");                    \
    }                                                                              \
    return failure;

// The common case: an expression yielding an at::Tensor, returned as a new handle.
#define CT_TENSOR(...) CT_GUARDED(nullptr, { return ctorch::wrap(__VA_ARGS__); })
