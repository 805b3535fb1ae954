// Errors, runtime, creation, information, reading back and conversions.
#include "bridge.h"

#include <torch/cuda.h>
#include <torch/version.h>
#include <ATen/Parallel.h>

#include <cstring>

namespace ctorch {

namespace {
thread_local std::string last_error;
}

void set_error(const char *message) { last_error = message ? message : "unknown error"; }
void clear_error() { last_error.clear(); }

at::ScalarType scalar_type(ct_dtype dtype) {
    switch (dtype) {
        case CT_FLOAT32: return at::kFloat;
        case CT_FLOAT16: return at::kHalf;
        case CT_BFLOAT16: return at::kBFloat16;
        case CT_FLOAT64: return at::kDouble;
        case CT_INT64: return at::kLong;
        case CT_INT32: return at::kInt;
        case CT_INT8: return at::kChar;
        case CT_UINT8: return at::kByte;
        case CT_BOOL: return at::kBool;
    }
    throw std::invalid_argument("unknown ct_dtype " + std::to_string(static_cast<int>(dtype)));
}

ct_dtype from_scalar_type(at::ScalarType type) {
    switch (type) {
        case at::kFloat: return CT_FLOAT32;
        case at::kHalf: return CT_FLOAT16;
        case at::kBFloat16: return CT_BFLOAT16;
        case at::kDouble: return CT_FLOAT64;
        case at::kLong: return CT_INT64;
        case at::kInt: return CT_INT32;
        case at::kChar: return CT_INT8;
        case at::kByte: return CT_UINT8;
        case at::kBool: return CT_BOOL;
        default: throw std::invalid_argument(std::string("unsupported scalar type ") + c10::toString(type));
    }
}

at::Device device(ct_device d) {
    switch (d.type) {
        case CT_CPU: return at::Device(at::kCPU);
        case CT_CUDA: return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(d.index < 0 ? 0 : d.index));
    }
    throw std::invalid_argument("unknown device type");
}

ct_device from_device(const at::Device &d) {
    if (d.is_cuda()) return ct_device{CT_CUDA, d.index()};
    return ct_device{CT_CPU, -1};
}

}  // namespace ctorch

using ctorch::unwrap;

extern "C" {

const char *ct_last_error(void) { return ctorch::last_error.c_str(); }

void ct_free(ct_tensor t) { delete t; }

// MARK: runtime

int ct_cuda_is_available(void) {
    try { return torch::cuda::is_available() ? 1 : 0; } catch (...) { return 0; }
}

int ct_cuda_device_count(void) {
    try { return static_cast<int>(torch::cuda::device_count()); } catch (...) { return 0; }
}

int ct_synchronize(ct_device device) {
    CT_GUARDED(-1, {
        if (device.type == CT_CUDA) torch::cuda::synchronize(device.index < 0 ? -1 : device.index);
        return 0;
    })
}

void ct_set_num_threads(int n) {
    try { if (n > 0) at::set_num_threads(n); } catch (...) {}
}

int ct_get_num_threads(void) { return at::get_num_threads(); }

void ct_manual_seed(uint64_t seed) {
    try { at::manual_seed(seed); } catch (...) {}
}

const char *ct_version(void) { return TORCH_VERSION; }

// MARK: creation

ct_tensor ct_from_blob(void *data, const int64_t *shape, int ndim, const int64_t *strides, ct_dtype dtype,
                       ct_deleter deleter, void *context) {
    CT_GUARDED(nullptr, {
        auto options = at::TensorOptions().dtype(ctorch::scalar_type(dtype));
        auto release = [deleter, context](void *) {
            if (deleter) deleter(context);
        };
        at::Tensor t = strides
            ? at::from_blob(data, ctorch::ints(shape, ndim), ctorch::ints(strides, ndim), release, options)
            : at::from_blob(data, ctorch::ints(shape, ndim), release, options);
        return ctorch::wrap(std::move(t));
    })
}

ct_tensor ct_from_data(const void *data, size_t nbytes, const int64_t *shape, int ndim, ct_dtype dtype) {
    CT_GUARDED(nullptr, {
        at::Tensor t = at::empty(ctorch::ints(shape, ndim), at::TensorOptions().dtype(ctorch::scalar_type(dtype)));
        if (t.nbytes() != nbytes) {
            throw std::invalid_argument("buffer holds " + std::to_string(nbytes) + " bytes but shape " +
                                        c10::str(t.sizes()) + " needs " + std::to_string(t.nbytes()));
        }
        if (nbytes > 0) std::memcpy(t.data_ptr(), data, nbytes);
        return ctorch::wrap(std::move(t));
    })
}

ct_tensor ct_full(const int64_t *shape, int ndim, double value, ct_dtype dtype, ct_device device) {
    CT_TENSOR(at::full(ctorch::ints(shape, ndim), value,
                       at::TensorOptions().dtype(ctorch::scalar_type(dtype)).device(ctorch::device(device))))
}

ct_tensor ct_empty(const int64_t *shape, int ndim, ct_dtype dtype, ct_device device) {
    CT_TENSOR(at::empty(ctorch::ints(shape, ndim),
                        at::TensorOptions().dtype(ctorch::scalar_type(dtype)).device(ctorch::device(device))))
}

ct_tensor ct_arange(double start, double end, double step, ct_dtype dtype, ct_device device) {
    CT_TENSOR(at::arange(start, end, step,
                         at::TensorOptions().dtype(ctorch::scalar_type(dtype)).device(ctorch::device(device))))
}

ct_tensor ct_rand(const int64_t *shape, int ndim, int normal, ct_dtype dtype, ct_device device) {
    auto options = [&] { return at::TensorOptions().dtype(ctorch::scalar_type(dtype)).device(ctorch::device(device)); };
    CT_TENSOR(normal ? at::randn(ctorch::ints(shape, ndim), options()) : at::rand(ctorch::ints(shape, ndim), options()))
}

// MARK: information (these cannot fail for a valid handle)

int ct_ndim(ct_tensor t) { return static_cast<int>(t->tensor.dim()); }

void ct_shape(ct_tensor t, int64_t *out) {
    auto sizes = t->tensor.sizes();
    for (size_t i = 0; i < sizes.size(); ++i) out[i] = sizes[i];
}

int64_t ct_numel(ct_tensor t) { return t->tensor.numel(); }

ct_dtype ct_get_dtype(ct_tensor t) {
    try { return ctorch::from_scalar_type(t->tensor.scalar_type()); } catch (...) { return CT_FLOAT32; }
}

ct_device ct_get_device(ct_tensor t) { return ctorch::from_device(t->tensor.device()); }

int ct_is_contiguous(ct_tensor t) { return t->tensor.is_contiguous() ? 1 : 0; }

const void *ct_data_ptr(ct_tensor t) {
    if (!t->tensor.device().is_cpu()) return nullptr;
    return t->tensor.data_ptr();
}

size_t ct_element_size(ct_dtype dtype) {
    try { return c10::elementSize(ctorch::scalar_type(dtype)); } catch (...) { return 0; }
}

// MARK: reading back

int ct_copy_out(ct_tensor t, ct_dtype dtype, void *dst, size_t nbytes) {
    CT_GUARDED(-1, {
        at::Tensor src = unwrap(t).to(at::kCPU, ctorch::scalar_type(dtype)).contiguous();
        if (src.nbytes() != nbytes) {
            throw std::invalid_argument("destination holds " + std::to_string(nbytes) + " bytes but tensor of shape " +
                                        c10::str(src.sizes()) + " needs " + std::to_string(src.nbytes()));
        }
        if (nbytes > 0) std::memcpy(dst, src.data_ptr(), nbytes);
        return 0;
    })
}

int ct_item(ct_tensor t, double *out) {
    CT_GUARDED(-1, {
        *out = unwrap(t).item<double>();
        return 0;
    })
}

// MARK: conversion

ct_tensor ct_to(ct_tensor t, ct_dtype dtype, ct_device device) {
    CT_TENSOR(unwrap(t).to(ctorch::device(device), ctorch::scalar_type(dtype)))
}

ct_tensor ct_contiguous(ct_tensor t) { CT_TENSOR(unwrap(t).contiguous()) }

ct_tensor ct_clone(ct_tensor t) { CT_TENSOR(unwrap(t).clone()) }

}  // extern "C"
