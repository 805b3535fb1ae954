// Self-attention of a short sequence (a text query) with the rotary embedding, in one pass from
// the fused q/k/v projection's output to the output projection's input.
//
// Why: for a 32-token query ModernBERT's attention is ~3 MFLOP per layer, but libtorch runs it
// as ~12 operators (view, permute, the rotary embedding's cat, two products and a sum, three
// selects, flash attention, the transpose's copy), each with its own dispatch, allocation and,
// above 32K elements, its own parallel region. Measured per layer (PrecisionBenchmark, Zen 3):
// 126 -> 71 µs on one thread, 164-190 -> 54-58 µs on two. Here each (sequence, head) pair is one task:
// its rotated queries and keys are written once into a small scratch (keys transposed, so a
// query's scores come out 8 at a time without horizontal sums), then scores, softmax and the
// weighted sum of values run from cache, and the result lands in [B, L, H·D] for Wo.
//
// The arithmetic is the reference's up to rounding order: rotate(x) = x·cos + swap(x)·signed_sin
// (two rounded products and a rounded sum, as libtorch computes it), scores q·kᵀ then ·scale,
// softmax with the row maximum subtracted, then divided by the row sum after the weighted sum.
// exp is `ctorch::exp_avx2` (vector_exp.h) on the vector path, std::exp on the scalar one.
#include "bridge.h"
#include "ctorch_extra.h"
#include "intraop.h"
#include "vector_exp.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using ctorch::optional;
using ctorch::unwrap;

namespace {

// Longer sequences (image prompts: ~1150 tokens a page) are left to libtorch's flash attention,
// which blocks them for the caches; the scratch here is 2·L·D floats plus L·L scores (L rounded
// up to 32 on the vector path).
constexpr int64_t kMaxLength = CT_SHORT_ATTENTION_MAX_LENGTH;

struct Problem {
    const float *qkv;  // [B, L, 3, H, D]
    const float *cos;  // [L, D]
    const float *sin;  // [L, D] (signed: −sin on the first half, sin on the second)
    const bool *mask;  // [Bm, 1, L, L] or null
    int64_t mask_stride;  // L·L when the mask has a batch dimension, else 0
    int64_t length, heads, dim;
    float scale;
    float *out;  // [B, L, H·D]

    const float *row(int64_t b, int64_t i, int part, int64_t h) const {
        return qkv + ((b * length + i) * 3 + part) * heads * dim + h * dim;
    }
    bool allowed(int64_t b, int64_t i, int64_t j) const {
        return mask == nullptr || mask[b * mask_stride + i * length + j];
    }
};

// x·cos + swap(x)·signed_sin at position i, swap exchanging the two halves of the head.
// Separate statements: no contraction into an FMA, so the rounding is libtorch's.
inline float rotated(const Problem &p, const float *x, int64_t i, int64_t d) {
    const int64_t half = p.dim / 2;
    const float straight = x[d] * p.cos[i * p.dim + d];
    const float swapped = x[d < half ? d + half : d - half] * p.sin[i * p.dim + d];
    return straight + swapped;
}

struct Scratch {
    std::vector<float> queries;  // [L, D], rotated
    std::vector<float> keys;     // scalar path: [L, D]; vector path: [D, padded L], transposed
    std::vector<float> scores;   // scalar path: [L], one query row; vector path: [L, padded L]
};

void head_scalar(const Problem &p, int64_t b, int64_t h, Scratch &s) {
    const int64_t L = p.length, D = p.dim;
    s.queries.resize(L * D);
    s.keys.resize(L * D);
    s.scores.resize(L);
    for (int64_t i = 0; i < L; i++) {
        const float *q = p.row(b, i, 0, h), *k = p.row(b, i, 1, h);
        for (int64_t d = 0; d < D; d++) {
            s.queries[i * D + d] = rotated(p, q, i, d);
            s.keys[i * D + d] = rotated(p, k, i, d);
        }
    }
    for (int64_t i = 0; i < L; i++) {
        float *out = p.out + (b * L + i) * p.heads * D + h * D;
        float top = -std::numeric_limits<float>::infinity();
        for (int64_t j = 0; j < L; j++) {
            float score = -std::numeric_limits<float>::infinity();
            if (p.allowed(b, i, j)) {
                float dot = 0;
                for (int64_t d = 0; d < D; d++) dot += s.queries[i * D + d] * s.keys[j * D + d];
                score = dot * p.scale;
            }
            s.scores[j] = score;
            top = std::max(top, score);
        }
        if (top == -std::numeric_limits<float>::infinity()) {  // no key to attend to
            std::fill(out, out + D, 0.0f);
            continue;
        }
        float sum = 0;
        for (int64_t j = 0; j < L; j++) {
            s.scores[j] = s.scores[j] == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(s.scores[j] - top);
            sum += s.scores[j];
        }
        for (int64_t d = 0; d < D; d++) {
            float acc = 0;
            for (int64_t j = 0; j < L; j++) acc += s.scores[j] * p.row(b, j, 2, h)[d];
            out[d] = acc / sum;
        }
    }
}

__attribute__((target("avx2,fma"))) inline float horizontal_max(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

__attribute__((target("avx2,fma"))) inline float horizontal_sum(__m256 v) {
    __m128 m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    m = _mm_add_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

// x·cos + swap(x)·signed_sin for 8 lanes d ..< d + 8 at position i (d + 8 within one half).
__attribute__((target("avx2,fma"))) inline __m256 rotated8(const Problem &p, const float *x, int64_t i, int64_t d) {
    const int64_t half = p.dim / 2;
    const __m256 straight = _mm256_mul_ps(_mm256_loadu_ps(x + d), _mm256_loadu_ps(p.cos + i * p.dim + d));
    const __m256 swapped =
        _mm256_mul_ps(_mm256_loadu_ps(x + (d < half ? d + half : d - half)), _mm256_loadu_ps(p.sin + i * p.dim + d));
    return _mm256_add_ps(straight, swapped);
}

// Unscaled scores q·kᵀ of `Rows` consecutive queries against all keys, 32 keys at a time
// (keys transposed, [D, padded]): Rows x 4 accumulators, each key vector loaded once per d
// for all rows. Two rows give 8 independent FMA chains, enough to cover the FMA latency.
template <int Rows, int64_t D>
__attribute__((target("avx2,fma"))) inline void raw_scores(const float *queries, const float *keys, int64_t padded,
                                                           float *scores) {
    for (int64_t j0 = 0; j0 < padded; j0 += 32) {
        __m256 acc[Rows][4];
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < 4; c++) acc[r][c] = _mm256_setzero_ps();
        const float *column = keys + j0;
        for (int64_t d = 0; d < D; d++, column += padded) {
            const __m256 k0 = _mm256_loadu_ps(column), k1 = _mm256_loadu_ps(column + 8);
            const __m256 k2 = _mm256_loadu_ps(column + 16), k3 = _mm256_loadu_ps(column + 24);
            for (int r = 0; r < Rows; r++) {
                const __m256 q = _mm256_broadcast_ss(queries + r * D + d);
                acc[r][0] = _mm256_fmadd_ps(q, k0, acc[r][0]);
                acc[r][1] = _mm256_fmadd_ps(q, k1, acc[r][1]);
                acc[r][2] = _mm256_fmadd_ps(q, k2, acc[r][2]);
                acc[r][3] = _mm256_fmadd_ps(q, k3, acc[r][3]);
            }
        }
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < 4; c++) _mm256_storeu_ps(scores + r * padded + j0 + 8 * c, acc[r][c]);
    }
}

// One (sequence, head) pair with D = 8·Vectors (D/2 a multiple of 8): every accumulator array
// has a compile-time size, so it stays in registers (a runtime count spilled them to the stack
// and made each FMA chain wait on store forwarding).
template <int Vectors>
__attribute__((target("avx2,fma"))) void head_avx2(const Problem &p, int64_t b, int64_t h, Scratch &s) {
    constexpr int64_t D = 8 * Vectors;
    const int64_t L = p.length;
    const int64_t padded = (L + 31) / 32 * 32;
    s.queries.resize(L * D);
    s.keys.assign(D * padded, 0.0f);  // the padding columns score 0 and are masked below
    s.scores.resize(L * padded);      // [L, padded]
    alignas(32) float rotated_key[D];
    for (int64_t i = 0; i < L; i++) {
        const float *q = p.row(b, i, 0, h), *k = p.row(b, i, 1, h);
        for (int64_t d = 0; d < D; d += 8) {
            _mm256_storeu_ps(s.queries.data() + i * D + d, rotated8(p, q, i, d));
            _mm256_store_ps(rotated_key + d, rotated8(p, k, i, d));
        }
        for (int64_t d = 0; d < D; d++) s.keys[d * padded + i] = rotated_key[d];
    }
    int64_t i = 0;
    for (; i + 2 <= L; i += 2) raw_scores<2, D>(s.queries.data() + i * D, s.keys.data(), padded, s.scores.data() + i * padded);
    if (i < L) raw_scores<1, D>(s.queries.data() + i * D, s.keys.data(), padded, s.scores.data() + i * padded);

    const __m256 minus_infinity = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    const __m256 scale = _mm256_set1_ps(p.scale);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i length = _mm256_set1_epi32(static_cast<int>(L));
    for (int64_t i = 0; i < L; i++) {
        float *scores = s.scores.data() + i * padded;
        // Scaled; keys past L, and keys the mask forbids, score −inf.
        __m256 top_vector = minus_infinity;
        for (int64_t j = 0; j < padded; j += 8) {
            const __m256i index = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(j)), lane);
            __m256 keep = _mm256_castsi256_ps(_mm256_cmpgt_epi32(length, index));
            if (p.mask != nullptr) {
                alignas(32) int allowed[8];
                for (int l = 0; l < 8; l++) allowed[l] = j + l < L && p.allowed(b, i, j + l) ? -1 : 0;
                keep = _mm256_and_ps(keep, _mm256_castsi256_ps(_mm256_load_si256(reinterpret_cast<__m256i *>(allowed))));
            }
            const __m256 score = _mm256_blendv_ps(minus_infinity, _mm256_mul_ps(_mm256_loadu_ps(scores + j), scale), keep);
            _mm256_storeu_ps(scores + j, score);
            top_vector = _mm256_max_ps(top_vector, score);
        }
        const float top = horizontal_max(top_vector);
        float *out = p.out + (b * L + i) * p.heads * D + h * D;
        if (top == -std::numeric_limits<float>::infinity()) {  // no key to attend to
            std::fill(out, out + D, 0.0f);
            continue;
        }
        const __m256 top_broadcast = _mm256_set1_ps(top);
        __m256 sum_vector = _mm256_setzero_ps();
        for (int64_t j = 0; j < padded; j += 8) {
            const __m256 score = _mm256_loadu_ps(scores + j);
            const __m256 forbidden = _mm256_cmp_ps(score, minus_infinity, _CMP_EQ_OQ);
            const __m256 weight = _mm256_andnot_ps(forbidden, ctorch::exp_avx2(_mm256_sub_ps(score, top_broadcast)));
            _mm256_storeu_ps(scores + j, weight);
            sum_vector = _mm256_add_ps(sum_vector, weight);
        }
        const __m256 inverse_sum = _mm256_set1_ps(1.0f / horizontal_sum(sum_vector));
        __m256 acc[Vectors];
        for (int c = 0; c < Vectors; c++) acc[c] = _mm256_setzero_ps();
        for (int64_t j = 0; j < L; j++) {
            const __m256 weight = _mm256_broadcast_ss(scores + j);
            const float *value = p.row(b, j, 2, h);
            for (int c = 0; c < Vectors; c++) acc[c] = _mm256_fmadd_ps(weight, _mm256_loadu_ps(value + 8 * c), acc[c]);
        }
        for (int c = 0; c < Vectors; c++) _mm256_storeu_ps(out + 8 * c, _mm256_mul_ps(acc[c], inverse_sum));
    }
}

using HeadFn = void (*)(const Problem &, int64_t, int64_t, Scratch &);

// The vector path for D = 16, 32, ..., 128 (D/2 a multiple of 8); null otherwise (the scalar one).
HeadFn vector_head(int64_t dim) {
    switch (dim) {
        case 16: return head_avx2<2>;
        case 32: return head_avx2<4>;
        case 48: return head_avx2<6>;
        case 64: return head_avx2<8>;
        case 80: return head_avx2<10>;
        case 96: return head_avx2<12>;
        case 112: return head_avx2<14>;
        case 128: return head_avx2<16>;
        default: return nullptr;
    }
}

at::Tensor contiguous_float(const at::Tensor &t, const char *what) {
    TORCH_CHECK(t.device().is_cpu() && t.scalar_type() == at::kFloat, "short attention: ", what,
                " must be a float32 CPU tensor, got ", t.scalar_type(), " on ", t.device());
    return t.contiguous();
}

at::Tensor short_attention(const at::Tensor &qkv_input, const at::Tensor &cos_input, const at::Tensor &sin_input,
                           const c10::optional<at::Tensor> &mask_input, int64_t heads, double scale, bool vectorized) {
    const at::Tensor qkv = contiguous_float(qkv_input, "qkv");
    TORCH_CHECK(qkv.dim() == 3, "short attention: qkv must be [batch, length, 3·heads·head_dim], got ", qkv.sizes());
    TORCH_CHECK(heads > 0 && qkv.size(2) % (3 * heads) == 0, "short attention: qkv's last dimension ", qkv.size(2),
                " is not 3 x ", heads, " heads");
    const int64_t batch = qkv.size(0), length = qkv.size(1), dim = qkv.size(2) / (3 * heads);
    TORCH_CHECK(dim % 2 == 0, "short attention: the head dimension ", dim, " is odd (the rotary embedding needs halves)");
    TORCH_CHECK(length <= kMaxLength, "short attention: ", length, " tokens, more than the ", kMaxLength, " it is for");
    const at::Tensor cos = contiguous_float(cos_input, "cos");
    const at::Tensor sin = contiguous_float(sin_input, "signed sin");
    TORCH_CHECK(cos.numel() == length * dim && sin.numel() == length * dim, "short attention: rotary tables ",
                cos.sizes(), " and ", sin.sizes(), " for ", length, " positions of ", dim);
    at::Tensor mask;
    int64_t mask_stride = 0;
    if (mask_input.has_value()) {
        mask = mask_input->contiguous();
        TORCH_CHECK(mask.device().is_cpu() && mask.scalar_type() == at::kBool && mask.dim() == 4 &&
                        (mask.size(0) == 1 || mask.size(0) == batch) && mask.size(1) == 1 &&
                        mask.size(2) == length && mask.size(3) == length,
                    "short attention: the mask must be bool [1 or ", batch, ", 1, ", length, ", ", length, "], got ",
                    mask.scalar_type(), " ", mask.sizes());
        mask_stride = mask.size(0) == 1 ? 0 : length * length;
    }
    at::Tensor out = at::empty({batch, length, heads * dim}, qkv.options());
    if (out.numel() == 0) return out;
    const Problem problem{qkv.data_ptr<float>(),
                          cos.data_ptr<float>(),
                          sin.data_ptr<float>(),
                          mask.defined() ? mask.data_ptr<bool>() : nullptr,
                          mask_stride,
                          length,
                          heads,
                          dim,
                          static_cast<float>(scale),
                          out.data_ptr<float>()};
    const HeadFn head = vectorized && ctorch::avx2_usable() ? vector_head(dim) : nullptr;
    ctorch::parallel_runs(batch * heads, [&](int64_t first, int64_t end) {
        Scratch scratch;
        for (int64_t task = first; task < end; task++) (head ? head : head_scalar)(problem, task / heads, task % heads, scratch);
    });
    return out;
}

}  // namespace

extern "C" {

ct_tensor ct_short_attention(ct_tensor qkv, ct_tensor cos, ct_tensor signed_sin, ct_tensor mask, int64_t heads,
                             double scale, int vectorized) {
    CT_TENSOR(short_attention(unwrap(qkv), unwrap(cos), unwrap(signed_sin), optional(mask), heads, scale,
                              vectorized != 0))
}

}  // extern "C"
