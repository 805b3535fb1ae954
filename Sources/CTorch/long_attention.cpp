// Attention of long float32 sequences (a page's text pass: ModernBERT's full layers over ~1100
// tokens, and its sliding layers' blocks of 128 queries against their window), on AVX-512 FMAs.
//
// Why: libtorch's CPU flash attention runs its two products through its BLAS, which on AMD is
// MKL's AVX2 kernel: ~150 GFLOP/s on 2 Zen 5 threads, where the panel kernel runs the text
// tower's linears at ~400. Attention was a quarter of a 1145-token text pass (MKL's sgemm, its
// copies and scaling: 24 % of the samples) for ~15 % of its FLOPs.
//
// Per (sequence, head) task: the keys are regrouped once into blocks of 64 keys, head dimension
// after head dimension ([padded/64, D, 64]: each scoring step reads one contiguous run), then
// for each block of 6 queries the scaled, masked scores against all keys (6 x 64 per step in 24
// ZMM accumulators), the row maxima taken as they are stored, the softmax of each whole row in
// float32 (no online rescaling: 6 rows of L floats stay in L1/L2), and the weighted sum of the
// values, read in place (6 x 64 per step). The arithmetic is flash attention's up to summation
// order and the exp's last bits; a query that may attend to no key gets zeros.
#include "bridge.h"
#include "ctorch_extra.h"
#include "intraop.h"

#define CT_ATTENTION_TARGET __attribute__((target("avx512f,avx512bw,avx512vl")))
#include "attention_rows.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

using ctorch::unwrap;

namespace {

constexpr int kRows = 6;       // queries per block: 6 x 4 accumulators in both products
constexpr int64_t kKeys = 64;  // keys per scoring step: 4 ZMM of 16 lanes

// A [B, H, L, D] float32 tensor with unit stride along D.
struct View {
    const float *data;
    int64_t batch_stride, head_stride, row_stride;

    const float *row(int64_t b, int64_t h, int64_t i) const { return data + b * batch_stride + h * head_stride + i * row_stride; }
};

struct Problem {
    View query, key, value;
    int64_t heads, queries, keys, dim;
    float scale;
    const uint8_t *mask;  // [B or 1, 1, Lq, Lk] bool, unit stride along keys, or null
    int64_t mask_batch_stride, mask_row_stride;
    float *out;  // [B, H, Lq, D]
};

// Scaled scores of up to kRows queries (rows `query_rows`) against keys [0, padded) in `keys`
// ([padded/64, D, 64]); keys from `length` and those `mask_rows` excludes on −inf; each row's
// maximum in `maxima`.
CT_ATTENTION_TARGET void score_block(const float *const *query_rows, const float *keys, int64_t dim, int64_t padded,
                                     int64_t length, const uint8_t *const *mask_rows, __m512 scale, float *scores,
                                     float *maxima) {
    ctorch::ScoreRows<kRows> rows(scores, padded, length);
    for (int64_t c0 = 0; c0 < padded; c0 += kKeys) {
        __m512 acc[kRows][4];
        for (int r = 0; r < kRows; r++)
            for (int j = 0; j < 4; j++) acc[r][j] = _mm512_setzero_ps();
        const float *column = keys + c0 * dim;
        for (int64_t d = 0; d < dim; d++, column += kKeys) {
            const __m512 k0 = _mm512_loadu_ps(column), k1 = _mm512_loadu_ps(column + 16);
            const __m512 k2 = _mm512_loadu_ps(column + 32), k3 = _mm512_loadu_ps(column + 48);
            for (int r = 0; r < kRows; r++) {
                const __m512 q = _mm512_set1_ps(query_rows[r][d]);
                acc[r][0] = _mm512_fmadd_ps(q, k0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(q, k1, acc[r][1]);
                acc[r][2] = _mm512_fmadd_ps(q, k2, acc[r][2]);
                acc[r][3] = _mm512_fmadd_ps(q, k3, acc[r][3]);
            }
        }
        rows.store(acc, c0, scale, mask_rows);
    }
    rows.maxima(maxima);
}

// out_rows[r][d0 ..< d0 + 16·Vectors] = Σ_c weights[r][c]·v[c][d0 ...] · inverse_sums[r], keys [0, length).
template <int Vectors>
CT_ATTENTION_TARGET void weigh_values(const float *weights, int64_t padded, const Problem &p, int64_t b,
                                                     int64_t h, int64_t d0, const float *inverse_sums, int valid,
                                                     float *const *out_rows) {
    __m512 acc[kRows][Vectors];
    for (int r = 0; r < kRows; r++)
        for (int j = 0; j < Vectors; j++) acc[r][j] = _mm512_setzero_ps();
    for (int64_t c = 0; c < p.keys; c++) {
        const float *v_row = p.value.row(b, h, c) + d0;
        __m512 v[Vectors];
        for (int j = 0; j < Vectors; j++) v[j] = _mm512_loadu_ps(v_row + 16 * j);
        for (int r = 0; r < kRows; r++) {
            const __m512 weight = _mm512_set1_ps(weights[r * padded + c]);
            for (int j = 0; j < Vectors; j++) acc[r][j] = _mm512_fmadd_ps(weight, v[j], acc[r][j]);
        }
    }
    for (int r = 0; r < valid; r++) {
        const __m512 inverse = _mm512_set1_ps(inverse_sums[r]);
        for (int j = 0; j < Vectors; j++) _mm512_storeu_ps(out_rows[r] + d0 + 16 * j, _mm512_mul_ps(acc[r][j], inverse));
    }
}

CT_ATTENTION_TARGET void head(const Problem &p, int64_t b, int64_t h, std::vector<float> &keys,
                                                                std::vector<float> &scores) {
    const int64_t L = p.keys, D = p.dim;
    const int64_t padded = (L + kKeys - 1) / kKeys * kKeys;
    keys.assign(padded * D, 0.0f);
    scores.resize(kRows * padded);
    for (int64_t c = 0; c < L; c++) {
        const float *k = p.key.row(b, h, c);
        float *target = keys.data() + c / kKeys * D * kKeys + c % kKeys;
        for (int64_t d = 0; d < D; d++) target[d * kKeys] = k[d];
    }
    const __m512 scale = _mm512_set1_ps(p.scale);
    const uint8_t *mask = p.mask != nullptr ? p.mask + b * p.mask_batch_stride : nullptr;
    for (int64_t i0 = 0; i0 < p.queries; i0 += kRows) {
        const int valid = static_cast<int>(std::min<int64_t>(kRows, p.queries - i0));
        const float *query_rows[kRows];
        const uint8_t *mask_rows[kRows];
        float *out_rows[kRows];
        for (int r = 0; r < kRows; r++) {
            const int64_t i = i0 + std::min(r, valid - 1);  // rows past the end repeat the last (not stored)
            query_rows[r] = p.query.row(b, h, i);
            mask_rows[r] = mask != nullptr ? mask + i * p.mask_row_stride : nullptr;
            out_rows[r] = p.out + ((b * p.heads + h) * p.queries + i) * D;
        }
        float maxima[kRows];
        score_block(query_rows, keys.data(), D, padded, L, mask != nullptr ? mask_rows : nullptr, scale, scores.data(), maxima);
        float inverse_sums[kRows];
        for (int r = 0; r < kRows; r++) {
            float *row = scores.data() + r * padded;
            if (maxima[r] == -std::numeric_limits<float>::infinity()) {  // no key to attend to: zeros
                std::fill(row, row + padded, 0.0f);
                inverse_sums[r] = 0.0f;
                continue;
            }
            inverse_sums[r] = 1.0f / ctorch::exponentiate_row(row, padded, L, mask != nullptr, maxima[r], ctorch::FloatWeights{row});
        }
        int64_t d0 = 0;
        for (; d0 + 64 <= D; d0 += 64) weigh_values<4>(scores.data(), padded, p, b, h, d0, inverse_sums, valid, out_rows);
        switch ((D - d0) / 16) {
            case 3: weigh_values<3>(scores.data(), padded, p, b, h, d0, inverse_sums, valid, out_rows); break;
            case 2: weigh_values<2>(scores.data(), padded, p, b, h, d0, inverse_sums, valid, out_rows); break;
            case 1: weigh_values<1>(scores.data(), padded, p, b, h, d0, inverse_sums, valid, out_rows); break;
            default: break;
        }
    }
}

// q, k, v [B, H, L, D] with unit stride along D (else made so).
View view(const at::Tensor &t) { return View{t.data_ptr<float>(), t.stride(0), t.stride(1), t.stride(2)}; }

at::Tensor unit_stride(const at::Tensor &t) { return t.stride(-1) == 1 ? t : t.contiguous(); }

at::Tensor long_attention(const at::Tensor &query_input, const at::Tensor &key_input, const at::Tensor &value_input,
                          const c10::optional<at::Tensor> &mask_input, double scale) {
    TORCH_CHECK(ctorch::avx512_usable(), "long attention: this CPU (or its OS) lacks AVX-512");
    for (const at::Tensor *t : {&query_input, &key_input, &value_input})
        TORCH_CHECK(t->device().is_cpu() && t->scalar_type() == at::kFloat && t->dim() == 4,
                    "long attention: q, k and v must be float32 CPU tensors [B, H, L, D], got ", t->scalar_type(), " ",
                    t->sizes(), " on ", t->device());
    const at::Tensor query = unit_stride(query_input), key = unit_stride(key_input), value = unit_stride(value_input);
    const int64_t B = query.size(0), H = query.size(1), Lq = query.size(2), D = query.size(3), Lk = key.size(2);
    TORCH_CHECK(key.size(0) == B && key.size(1) == H && key.size(3) == D && value.sizes() == key.sizes(),
                "long attention: q ", query.sizes(), ", k ", key.sizes(), " and v ", value.sizes(), " do not fit");
    TORCH_CHECK(D > 0 && D % 16 == 0, "long attention: the head dimension ", D, " is not a multiple of 16");
    at::Tensor mask;
    if (mask_input.has_value()) {
        mask = *mask_input;
        TORCH_CHECK(mask.device().is_cpu() && mask.scalar_type() == at::kBool && mask.dim() == 4 &&
                        (mask.size(0) == 1 || mask.size(0) == B) && mask.size(1) == 1 && mask.size(2) == Lq &&
                        mask.size(3) == Lk,
                    "long attention: the mask must be bool [1 or ", B, ", 1, ", Lq, ", ", Lk, "], got ", mask.scalar_type(),
                    " ", mask.sizes());
        if (mask.stride(3) != 1) mask = mask.contiguous();
    }
    at::Tensor out = at::empty({B, H, Lq, D}, query.options());
    if (out.numel() == 0) return out;
    if (Lk == 0) return out.zero_();
    const Problem problem{view(query),
                          view(key),
                          view(value),
                          H,
                          Lq,
                          Lk,
                          D,
                          static_cast<float>(scale),
                          mask.defined() ? reinterpret_cast<const uint8_t *>(mask.data_ptr<bool>()) : nullptr,
                          mask.defined() && mask.size(0) > 1 ? mask.stride(0) : 0,
                          mask.defined() ? mask.stride(2) : 0,
                          out.data_ptr<float>()};
    ctorch::parallel_runs(B * H, [&](int64_t first, int64_t end) {
        std::vector<float> keys, scores;
        for (int64_t task = first; task < end; task++) head(problem, task / H, task % H, keys, scores);
    });
    return out;
}

}  // namespace

extern "C" {

int ct_long_attention_available(void) { return ctorch::avx512_usable() ? 1 : 0; }

ct_tensor ct_long_attention(ct_tensor query, ct_tensor key, ct_tensor value, ct_tensor mask, double scale) {
    CT_TENSOR(long_attention(unwrap(query), unwrap(key), unwrap(value), ctorch::optional(mask), scale))
}

}  // extern "C"
