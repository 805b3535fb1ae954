// e^t on 8 float lanes (AVX2 + FMA), and for t ≤ 0 on 16 (AVX-512F), shared by the bridge's kernels that need an exp.
//
// n = round(t·log2 e), r = t − n·ln 2 (ln 2 in two parts), e^r by Cephes' degree-6 polynomial
// for expf (its published coefficients, ~1 ulp on |r| ≤ ln2/2), 2^n into the exponent bits.
// t is clamped to [−87.3, 88.376] so that n stays in [−126, 127] and 2^n a normal float: below
// the clamp e^t is taken as e^−87.3 ≈ 1.2e-38, above it as e^88.376 ≈ 2.4e38 (callers that
// need 0 for −inf mask it themselves).
#pragma once

#include <immintrin.h>

namespace ctorch {

constexpr float kExpMinArgument = -87.3f;
constexpr float kExpMaxArgument = 88.376f;

__attribute__((target("avx2,fma"))) inline __m256 exp_avx2(__m256 t) {
    t = _mm256_min_ps(_mm256_max_ps(t, _mm256_set1_ps(kExpMinArgument)), _mm256_set1_ps(kExpMaxArgument));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(t, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // r = t − n·ln2, ln2 = 0.693359375 − 2.12194440e-4 (Cephes' split: the first part exact in float).
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), t);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i exponent = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(exponent));
}

// e^t for t ≤ 0 on 16 lanes (AVX-512F), a softmax's case: the same reduction and polynomial,
// 2^n applied by VSCALEFPS, so no clamp is needed (below −87.3 the result falls through the
// subnormals to 0). −inf gives NaN: callers mask it.
__attribute__((target("avx512f"))) inline __m512 exp_nonpositive_avx512(__m512 t) {
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), t);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}
}  // namespace ctorch
