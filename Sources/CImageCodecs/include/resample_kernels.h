// Hot loop of the Pillow-exact resampler (Imaging's Resampler), in C so that an
// AVX2 version can be chosen at run time on CPUs that have it, while the build
// stays portable (the baseline x86-64 target has no 32-bit vector multiply).
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// True when this CPU and OS support AVX2, i.e. when
/// `ic_resample_vertical_row_avx2` may be called. Checks CPUID each time (no
/// cached global); call it once per resize, not per row.
int ic_resample_has_avx2(void);

/// One output row of a vertical resampling pass, exactly as Pillow's 8-bit
/// path (shift 22) and Pillow-SIMD's / torch's uint8 path (weights with `shift`
/// fraction bits, chosen per axis) compute it: for every byte index i < length,
///   out[i] = clamp(((1 << (shift - 1)) + sum_t rows[t * stride + i] * weights[t]) >> shift, 0, 255)
/// in 32-bit integers with an arithmetic shift; 1 <= shift <= 22.
/// Returns the number of leading bytes written (a multiple of 32; 0 for a shift
/// outside that range); the caller computes the rest. Only call it when
/// `ic_resample_has_avx2()` is true.
size_t ic_resample_vertical_row_avx2(const uint8_t *rows, size_t stride, const int32_t *weights, int count, int shift,
                                     uint8_t *out, size_t length);

#ifdef __cplusplus
}
#endif
