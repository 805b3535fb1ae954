// The softmax side of the bridge's two whole-row attention kernels (tile_attention.cpp in
// bfloat16, long_attention.cpp in float32): both score a block of query rows against 64 keys
// per step in 4 ZMM accumulators per row, store the scaled scores with excluded keys on −inf
// while taking each row's maximum, then turn each row into e^(s − max) weights and their sum.
// Only the products and the weights' storage type differ between them.
//
// The includer defines CT_ATTENTION_TARGET, its kernels' target attribute (at least avx512f,
// avx512bw, avx512vl), so that these inline into them; the contents have internal linkage, so
// each translation unit keeps its own build of them.
#pragma once
#include "vector_exp.h"

#include <immintrin.h>

#include <cstdint>
#include <limits>

#ifndef CT_ATTENTION_TARGET
#error "define CT_ATTENTION_TARGET before including attention_rows.h"
#endif

namespace ctorch {
namespace {

// The lanes of keys [c, c + 16) that lie below `length`.
inline __mmask16 keys_below(int64_t length, int64_t c) {
    return length - c >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (length > c ? length - c : 0)) - 1);
}

// A block of Rows query rows' scores, one scoring step (64 keys) after another, and their maxima.
template <int Rows>
struct ScoreRows {
    float *scores;   // [Rows, padded]
    int64_t padded;  // keys rounded up to the step
    int64_t length;  // real keys; those past it score −inf
    __m512 top[Rows];

    CT_ATTENTION_TARGET ScoreRows(float *scores, int64_t padded, int64_t length)
        : scores(scores), padded(padded), length(length) {
        for (int r = 0; r < Rows; r++) top[r] = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    }

    // Stores step c0's unscaled products acc[r][j] (keys c0 + 16j ...) times `scale`; keys past
    // `length`, and where `mask_rows` (bool rows, or null) is false, on −inf.
    CT_ATTENTION_TARGET void store(const __m512 (&acc)[Rows][4], int64_t c0, __m512 scale, const uint8_t *const *mask_rows) {
        const __m512 minus_infinity = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
        for (int j = 0; j < 4; j++) {
            const int64_t c = c0 + 16 * j;
            const __mmask16 real = keys_below(length, c);
            for (int r = 0; r < Rows; r++) {
                __mmask16 allowed = real;
                if (mask_rows != nullptr && real != 0)
                    allowed = _mm_mask_cmpneq_epi8_mask(real, _mm_maskz_loadu_epi8(real, mask_rows[r] + c), _mm_setzero_si128());
                const __m512 score = _mm512_mask_blend_ps(allowed, minus_infinity, _mm512_mul_ps(acc[r][j], scale));
                _mm512_storeu_ps(scores + r * padded + c, score);
                top[r] = _mm512_max_ps(top[r], score);
            }
        }
    }

    CT_ATTENTION_TARGET void maxima(float *out) const {
        for (int r = 0; r < Rows; r++) out[r] = _mm512_reduce_max_ps(top[r]);
    }
};

// Weights stored as float32 (`exponentiate_row`'s Store; a kernel storing them otherwise brings its own).
struct FloatWeights {
    float *weights;
    CT_ATTENTION_TARGET void operator()(int64_t c, __m512 w) const { _mm512_storeu_ps(weights + c, w); }
};

// store(c, e^(scores[c ..< c + 16] − top)) over [0, padded), excluded keys (−inf) 0; returns the sum of
// the unrounded weights. Scores are at most `top`, so the exp needs no clamp; −inf, whose exp is
// NaN, is masked where there can be any: in the tail past `length`, and everywhere when `masked`.
// `top` must be finite (a row with some key to attend to).
template <typename Store>
CT_ATTENTION_TARGET inline float exponentiate_row(const float *scores, int64_t padded, int64_t length, bool masked, float top,
                                                  Store store) {
    const __m512 minus_infinity = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    const __m512 maximum = _mm512_set1_ps(top);
    __m512 sum = _mm512_setzero_ps();
    for (int64_t c = 0; c < padded; c += 16) {
        const __m512 score = _mm512_loadu_ps(scores + c);
        __m512 weight = exp_nonpositive_avx512(_mm512_sub_ps(score, maximum));
        if (masked || c + 16 > length)
            weight = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(score, minus_infinity, _CMP_NEQ_OQ), weight);
        sum = _mm512_add_ps(sum, weight);
        store(c, weight);
    }
    return _mm512_reduce_add_ps(sum);
}

}  // namespace
}  // namespace ctorch
