// ctorch.h: a small plain-C API over libtorch.
//
// Conventions
// - `ct_tensor` is an opaque, owned handle. Every function that returns one hands the
//   caller a new reference that must be released exactly once with `ct_free`.
// - Failure: functions returning a handle return NULL, functions returning int return
//   a negative value. The message (libtorch's own, without its C++ backtrace) is then
//   available from `ct_last_error()` on the same thread until the next failing call.
// - No C++ exception ever leaves this API.
// - Every operation runs under c10::InferenceMode: no autograd bookkeeping.
#ifndef CTORCH_H
#define CTORCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_tensor_opaque *ct_tensor;

typedef enum {
    CT_FLOAT32 = 0,
    CT_FLOAT16 = 1,
    CT_BFLOAT16 = 2,
    CT_FLOAT64 = 3,
    CT_INT64 = 4,
    CT_INT32 = 5,
    CT_INT8 = 6,
    CT_UINT8 = 7,
    CT_BOOL = 8,
} ct_dtype;

typedef enum { CT_CPU = 0, CT_CUDA = 1 } ct_device_type;

typedef struct {
    ct_device_type type;
    int index;  // -1 for "current"/unspecified
} ct_device;

/// Message of the last failure on this thread ("" if none).
const char *ct_last_error(void);

/// Releases a handle (NULL is ignored).
void ct_free(ct_tensor t);

// MARK: runtime

int ct_cuda_is_available(void);
int ct_cuda_device_count(void);
/// Waits for all work on a CUDA device; no-op on CPU. Returns 0 or -1.
int ct_synchronize(ct_device device);
void ct_set_num_threads(int n);
int ct_get_num_threads(void);
void ct_manual_seed(uint64_t seed);
/// libtorch version string, e.g. "2.13.0".
const char *ct_version(void);

// MARK: creation

typedef void (*ct_deleter)(void *context);

/// Wraps memory without copying. `deleter(context)` runs when the last tensor that
/// shares the memory is freed. `strides` may be NULL (contiguous).
ct_tensor ct_from_blob(void *data, const int64_t *shape, int ndim, const int64_t *strides,
                       ct_dtype dtype, ct_deleter deleter, void *context);
/// Copies `nbytes` from `data` into a new contiguous CPU tensor.
ct_tensor ct_from_data(const void *data, size_t nbytes, const int64_t *shape, int ndim, ct_dtype dtype);
ct_tensor ct_full(const int64_t *shape, int ndim, double value, ct_dtype dtype, ct_device device);
ct_tensor ct_empty(const int64_t *shape, int ndim, ct_dtype dtype, ct_device device);
ct_tensor ct_arange(double start, double end, double step, ct_dtype dtype, ct_device device);
/// Uniform [0, 1) or standard normal random values (`normal` != 0).
ct_tensor ct_rand(const int64_t *shape, int ndim, int normal, ct_dtype dtype, ct_device device);

// MARK: information

int ct_ndim(ct_tensor t);
/// Writes ct_ndim(t) sizes into `out`.
void ct_shape(ct_tensor t, int64_t *out);
int64_t ct_numel(ct_tensor t);
ct_dtype ct_get_dtype(ct_tensor t);
ct_device ct_get_device(ct_tensor t);
int ct_is_contiguous(ct_tensor t);
/// Data pointer of a CPU tensor (NULL for other devices).
const void *ct_data_ptr(ct_tensor t);
size_t ct_element_size(ct_dtype dtype);

// MARK: reading back

/// Converts to `dtype`, moves to CPU, makes contiguous and copies numel*elementsize
/// bytes into `dst` (which must hold `nbytes`). Returns 0 or -1 (size mismatch included).
int ct_copy_out(ct_tensor t, ct_dtype dtype, void *dst, size_t nbytes);
/// Value of a one-element tensor as double.
int ct_item(ct_tensor t, double *out);

// MARK: conversion

ct_tensor ct_to(ct_tensor t, ct_dtype dtype, ct_device device);
ct_tensor ct_contiguous(ct_tensor t);
ct_tensor ct_clone(ct_tensor t);

// MARK: shape

ct_tensor ct_reshape(ct_tensor t, const int64_t *shape, int ndim);
ct_tensor ct_view(ct_tensor t, const int64_t *shape, int ndim);
ct_tensor ct_permute(ct_tensor t, const int64_t *dims, int ndim);
ct_tensor ct_transpose(ct_tensor t, int64_t dim0, int64_t dim1);
ct_tensor ct_unsqueeze(ct_tensor t, int64_t dim);
ct_tensor ct_squeeze(ct_tensor t, int64_t dim);
ct_tensor ct_flatten(ct_tensor t, int64_t start, int64_t end);
ct_tensor ct_expand(ct_tensor t, const int64_t *shape, int ndim);
ct_tensor ct_narrow(ct_tensor t, int64_t dim, int64_t start, int64_t length);
ct_tensor ct_select(ct_tensor t, int64_t dim, int64_t index);
ct_tensor ct_slice(ct_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step);
ct_tensor ct_cat(const ct_tensor *tensors, int count, int64_t dim);
ct_tensor ct_stack(const ct_tensor *tensors, int count, int64_t dim);
/// Splits into `count` pieces of `sizes` along `dim`, writing new handles into `out`.
int ct_split(ct_tensor t, const int64_t *sizes, int count, int64_t dim, ct_tensor *out);
ct_tensor ct_index_select(ct_tensor t, int64_t dim, ct_tensor index);
ct_tensor ct_masked_fill(ct_tensor t, ct_tensor mask, double value);
/// Copies `source` elements (in order) into the positions where `mask` is true.
ct_tensor ct_masked_scatter(ct_tensor t, ct_tensor mask, ct_tensor source);
ct_tensor ct_masked_select(ct_tensor t, ct_tensor mask);
ct_tensor ct_where(ct_tensor condition, ct_tensor a, ct_tensor b);
/// Indices of non-zero elements, shape [n, ndim], int64.
ct_tensor ct_nonzero(ct_tensor t);
/// Constant padding; `pads` as torch.nn.functional.pad (last dimension first).
ct_tensor ct_pad(ct_tensor t, const int64_t *pads, int count, double value);
ct_tensor ct_repeat_interleave(ct_tensor t, int64_t repeats, int64_t dim);

// MARK: elementwise

typedef enum {
    CT_NEG, CT_EXP, CT_LOG, CT_SQRT, CT_RSQRT, CT_TANH, CT_SIN, CT_COS, CT_SIGMOID,
    CT_RELU, CT_SILU, CT_ABS, CT_GELU, CT_GELU_TANH, CT_LOGICAL_NOT, CT_RECIPROCAL,
} ct_unary_op;

typedef enum {
    CT_ADD, CT_SUB, CT_MUL, CT_DIV, CT_POW, CT_MAXIMUM, CT_MINIMUM,
    CT_EQ, CT_NE, CT_LT, CT_LE, CT_GT, CT_GE, CT_LOGICAL_AND, CT_LOGICAL_OR,
} ct_binary_op;

ct_tensor ct_unary(ct_tensor t, ct_unary_op op);
ct_tensor ct_binary(ct_tensor a, ct_tensor b, ct_binary_op op);
ct_tensor ct_binary_scalar(ct_tensor a, double b, ct_binary_op op);
/// Clamp; a bound is applied only when its `has_` flag is set.
ct_tensor ct_clamp(ct_tensor t, int has_min, double min, int has_max, double max);

// MARK: neural network

ct_tensor ct_matmul(ct_tensor a, ct_tensor b);
/// x @ weight^T + bias; `bias` may be NULL.
ct_tensor ct_linear(ct_tensor x, ct_tensor weight, ct_tensor bias);
/// `weight` and `bias` may be NULL.
ct_tensor ct_layer_norm(ct_tensor x, const int64_t *normalized_shape, int ndim, ct_tensor weight,
                        ct_tensor bias, double eps);
ct_tensor ct_softmax(ct_tensor t, int64_t dim);
/// Fused scaled-dot-product attention. `mask` may be NULL; a bool mask keeps true
/// positions, a float mask is added to the scores. `scale` < 0 means 1/sqrt(head_dim).
ct_tensor ct_sdpa(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask, int is_causal, double scale);
/// `bias` may be NULL. stride/padding/dilation hold 2 values each.
ct_tensor ct_conv2d(ct_tensor x, ct_tensor weight, ct_tensor bias, const int64_t *stride,
                    const int64_t *padding, const int64_t *dilation, int64_t groups);
ct_tensor ct_embedding(ct_tensor weight, ct_tensor indices);
/// x / max(||x||_p over dim, eps)
ct_tensor ct_normalize(ct_tensor t, double p, int64_t dim, double eps);

// MARK: reductions

typedef enum { CT_SUM, CT_MEAN, CT_AMAX, CT_AMIN } ct_reduce_op;

/// Reduces over `dims` (all dimensions when ndim == 0).
ct_tensor ct_reduce(ct_tensor t, ct_reduce_op op, const int64_t *dims, int ndim, int keepdim);
ct_tensor ct_argmax(ct_tensor t, int64_t dim, int keepdim);
/// p-norm over `dims` (all dimensions when ndim == 0).
ct_tensor ct_norm(ct_tensor t, double p, const int64_t *dims, int ndim, int keepdim);

// MARK: CPU features

/// What this CPU and its OS let the process use, for choosing compute paths at run time. Each
/// `cpu_` flag is the hardware's (cpuid); each `os_` flag says the kernel saves that register
/// state (XCR0): an instruction set is usable only with both. All zero on non-x86 machines.
typedef struct {
    int cpu_fma;
    int cpu_avx2;
    /// AVX-512 F, DQ, BW and VL (oneDNN's "avx512_core").
    int cpu_avx512_core;
    /// VDPBF16PS and the bf16 conversions (AVX512_BF16).
    int cpu_avx512_bf16;
    int cpu_amx_tile;
    int cpu_amx_bf16;
    /// XCR0 bits 1-2 (YMM state), bits 1-2 and 5-7 (ZMM and opmask state), bits 17-18 (AMX tiles).
    int os_ymm;
    int os_zmm;
    int os_amx;
    /// Linux granted this process the AMX tile data state (arch_prctl ARCH_REQ_XCOMP_PERM, requested
    /// here as oneDNN would before its first AMX kernel); 0 when AMX is absent or refused.
    int amx_permitted;
} ct_cpu_features;

/// Fills `out` (cannot fail; NULL is ignored).
void ct_cpu_features_detect(ct_cpu_features *out);
/// libtorch's own answer (cpuinfo) for a capability name such as "avx2", "avx512_bf16" or
/// "amx_bf16": 1 or 0, or -1 when libtorch does not know the name.
int ct_cpu_capability(const char *name);

#ifdef __cplusplus
}
#endif

#endif
