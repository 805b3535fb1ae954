// Self-attention over the patches of a vision tile in bfloat16 (SigLIP: no mask, 1024 patches, 12
// heads of 64), from the fused q/k/v projection's output to the output projection's input, on
// AVX512_BF16's pair dot products (VDPBF16PS: 32 bfloat16 products summed into 16 float32 lanes).
//
// Why: in the mixed mode the tower's matrix products run in oneDNN at ~400 GFLOP/s on 2 threads
// (Zen 4), but libtorch's CPU flash attention in bfloat16 runs its two products through its own
// GEMM at ~142 GFLOP/s, no faster than in float32 (~158): attention was a third of the tower's
// time for 18 % of its FLOPs. Here each (tile, head) pair is one task: its keys are regrouped
// once into pairs along the head dimension and its values into pairs along the keys (both
// [P, D] -> 2·P·D bytes of scratch, from cache afterwards), then for each block of 6 queries the
// scores against all keys (6 x 64 per step in 24 ZMM accumulators), scaled and their row maxima
// taken as they are stored, the softmax of each row in float32, the weights rounded to bfloat16,
// and the weighted sum of values (6 x 64 per step). Measured on a 2-tile batch (Zen 5, 2 threads,
// PrecisionBenchmark): 12.8-13.2 ms (~500 GFLOP/s); with each step's 64 keys in one contiguous
// block 9.8-10.1 ms; with the scale and maxima in the scoring pass and an exp without clamp (its
// 2^n by VSCALEFPS, the tail's padding keys masked only) 9.3-9.6 ms (~680; oneDNN's bfloat16
// GEMM ~900 in the same runs).
//
// The arithmetic is libtorch's flash attention's up to summation order: q·kᵀ accumulated in
// float32, scaled, the row maximum subtracted, exp in float32, the weights rounded to bfloat16
// (round to nearest even) for the product with v, the sum of the unrounded weights dividing the
// float32 result, which is rounded to bfloat16 once. The whole row is scored before the softmax
// (no online rescaling): 6 rows of P floats stay in L1/L2 for the P up to a few thousand of a tile.
#include "bridge.h"
#include "ctorch_extra.h"
#include "intraop.h"

// The kernels' target (AVX512_BF16 CPUs all have BW and VL; `avx512_usable` checks them).
#define CT_ATTENTION_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#include "attention_rows.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

using ctorch::unwrap;

namespace {

constexpr int kRows = 6;       // queries per block: 6 x 4 accumulators in both products
constexpr int64_t kKeys = 64;  // keys per scoring step: 4 ZMM of 16 lanes

struct Problem {
    const uint16_t *qkv;  // [N, P, 3, H, D], bfloat16 bits
    int64_t patches, heads, dim;
    float scale;
    uint16_t *out;  // [N, P, H·D]

    const uint16_t *row(int64_t n, int64_t i, int part, int64_t h) const {
        return qkv + ((n * patches + i) * 3 + part) * heads * dim + h * dim;
    }
};

struct Scratch {
    std::vector<uint32_t> keys;     // [padded/64, D/2, 64]: block b, pair p, lane c = (k[64b+c][2p], k[64b+c][2p+1])
    std::vector<uint32_t> values;   // [padded/2, D]: lane d of pair q = (v[2q][d], v[2q+1][d])
    std::vector<uint32_t> queries;  // [kRows, D/2]: the block's queries as pairs along D
    std::vector<float> scores;      // [kRows, padded]
    std::vector<uint16_t> weights;  // [kRows, padded], bfloat16 (pairs along the keys)
};

inline uint32_t pair(uint16_t low, uint16_t high) { return uint32_t(low) | uint32_t(high) << 16; }

CT_ATTENTION_TARGET inline __m512bh as_pairs(__m512i v) { return reinterpret_cast<__m512bh>(v); }

// Scaled scores of the block's kRows queries against keys [0, padded), kKeys at a time, keys from
// `real` on −inf, and each row's maximum.
CT_ATTENTION_TARGET void score_block(const uint32_t *queries, const uint32_t *keys, int64_t pairs, int64_t padded,
                                     int64_t real, __m512 scale, float *scores, float *maxima) {
    ctorch::ScoreRows<kRows> rows(scores, padded, real);
    for (int64_t c0 = 0; c0 < padded; c0 += kKeys) {
        __m512 acc[kRows][4];
        for (int r = 0; r < kRows; r++)
            for (int j = 0; j < 4; j++) acc[r][j] = _mm512_setzero_ps();
        // The block's 64 keys lie together, pair after pair: one contiguous 8 KB run per step. (As
        // [D/2, padded] rows 4 KB apart, the 32 pairs' lines of a step fell into the same L1 sets.)
        const uint32_t *column = keys + c0 * pairs;
        for (int64_t p = 0; p < pairs; p++, column += kKeys) {
            const __m512bh k0 = as_pairs(_mm512_loadu_si512(column)), k1 = as_pairs(_mm512_loadu_si512(column + 16));
            const __m512bh k2 = as_pairs(_mm512_loadu_si512(column + 32)), k3 = as_pairs(_mm512_loadu_si512(column + 48));
            for (int r = 0; r < kRows; r++) {
                const __m512bh q = as_pairs(_mm512_set1_epi32(static_cast<int>(queries[r * pairs + p])));
                acc[r][0] = _mm512_dpbf16_ps(acc[r][0], q, k0);
                acc[r][1] = _mm512_dpbf16_ps(acc[r][1], q, k1);
                acc[r][2] = _mm512_dpbf16_ps(acc[r][2], q, k2);
                acc[r][3] = _mm512_dpbf16_ps(acc[r][3], q, k3);
            }
        }
        rows.store(acc, c0, scale, nullptr);
    }
    rows.maxima(maxima);
}

// The softmax weights as bfloat16, rounded to nearest even (as libtorch's flash attention rounds them).
struct BFloat16Weights {
    uint16_t *weights;
    CT_ATTENTION_TARGET void operator()(int64_t c, __m512 w) const {
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(weights + c), reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(w)));
    }
};

// Σ_c weights[r][c]·v[c][d0 + ...] for the block's rows and Vectors·16 columns from d0, keys in
// pairs (the weights rows as pairs along the keys, `values` as regrouped in Scratch).
template <int Vectors>
CT_ATTENTION_TARGET void weigh_values(const uint16_t *weights, const uint32_t *values,
                                                                 int64_t padded, int64_t dim, int64_t d0,
                                                                 __m512 (&acc)[kRows][Vectors]) {
    for (int r = 0; r < kRows; r++)
        for (int j = 0; j < Vectors; j++) acc[r][j] = _mm512_setzero_ps();
    const uint32_t *rows = reinterpret_cast<const uint32_t *>(weights);
    const int64_t row_pairs = padded / 2;
    for (int64_t q = 0; q < row_pairs; q++) {
        __m512bh v[Vectors];
        for (int j = 0; j < Vectors; j++) v[j] = as_pairs(_mm512_loadu_si512(values + q * dim + d0 + 16 * j));
        for (int r = 0; r < kRows; r++) {
            uint32_t w;
            std::memcpy(&w, rows + r * row_pairs + q, sizeof w);
            const __m512bh weight = as_pairs(_mm512_set1_epi32(static_cast<int>(w)));
            for (int j = 0; j < Vectors; j++) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], weight, v[j]);
        }
    }
}

template <int Vectors>
CT_ATTENTION_TARGET void store_rows(__m512 (&acc)[kRows][Vectors], const float *inverse_sums,
                                                               int valid, uint16_t *const *out_rows, int64_t d0) {
    for (int r = 0; r < valid; r++) {
        const __m512 inverse = _mm512_set1_ps(inverse_sums[r]);
        for (int j = 0; j < Vectors; j++) {
            const __m256bh rounded = _mm512_cvtneps_pbh(_mm512_mul_ps(acc[r][j], inverse));
            _mm256_storeu_si256(reinterpret_cast<__m256i *>(out_rows[r] + d0 + 16 * j),
                                reinterpret_cast<__m256i>(rounded));
        }
    }
}

CT_ATTENTION_TARGET void head(const Problem &p, int64_t n, int64_t h, Scratch &s) {
    const int64_t P = p.patches, D = p.dim, pairs = D / 2;
    const int64_t padded = (P + kKeys - 1) / kKeys * kKeys;
    s.keys.assign(pairs * padded, 0);  // padding keys score 0 and are masked below
    s.values.assign(padded / 2 * D, 0);
    s.queries.resize(kRows * pairs);
    s.scores.resize(kRows * padded);
    s.weights.resize(kRows * padded);
    for (int64_t c = 0; c < P; c++) {
        const uint16_t *k = p.row(n, c, 1, h);
        uint32_t *target = s.keys.data() + c / kKeys * pairs * kKeys + c % kKeys;
        for (int64_t q = 0; q < pairs; q++) target[q * kKeys] = pair(k[2 * q], k[2 * q + 1]);
    }
    for (int64_t c = 0; c + 1 < P; c += 2) {
        const uint16_t *even = p.row(n, c, 2, h), *odd = p.row(n, c + 1, 2, h);
        uint32_t *target = s.values.data() + c / 2 * D;
        for (int64_t d = 0; d < D; d++) target[d] = pair(even[d], odd[d]);
    }
    if (P % 2 == 1) {  // the last key pairs with a zero value (its weight is zero too)
        const uint16_t *last = p.row(n, P - 1, 2, h);
        uint32_t *target = s.values.data() + (P - 1) / 2 * D;
        for (int64_t d = 0; d < D; d++) target[d] = pair(last[d], 0);
    }
    const __m512 scale = _mm512_set1_ps(p.scale);
    for (int64_t i0 = 0; i0 < P; i0 += kRows) {
        const int valid = static_cast<int>(std::min<int64_t>(kRows, P - i0));
        for (int r = 0; r < kRows; r++) {
            uint32_t *target = s.queries.data() + r * pairs;
            if (r >= valid) {
                std::fill(target, target + pairs, 0u);
                continue;
            }
            const uint16_t *query = p.row(n, i0 + r, 0, h);
            for (int64_t q = 0; q < pairs; q++) target[q] = pair(query[2 * q], query[2 * q + 1]);
        }
        float maxima[kRows];
        score_block(s.queries.data(), s.keys.data(), pairs, padded, P, scale, s.scores.data(), maxima);
        float inverse_sums[kRows];
        for (int r = 0; r < kRows; r++) {
            uint16_t *weights = s.weights.data() + r * padded;
            if (r >= valid) {
                std::fill(weights, weights + padded, uint16_t(0));
                continue;
            }
            const float *scores = s.scores.data() + r * padded;
            inverse_sums[r] = 1.0f / ctorch::exponentiate_row(scores, padded, P, false, maxima[r], BFloat16Weights{weights});
        }
        uint16_t *out_rows[kRows];
        for (int r = 0; r < valid; r++) out_rows[r] = p.out + (n * P + i0 + r) * p.heads * D + h * D;
        int64_t d0 = 0;
        for (; d0 + 64 <= D; d0 += 64) {
            __m512 acc[kRows][4];
            weigh_values<4>(s.weights.data(), s.values.data(), padded, D, d0, acc);
            store_rows<4>(acc, inverse_sums, valid, out_rows, d0);
        }
        if (d0 < D) {  // D % 64 == 32
            __m512 acc[kRows][2];
            weigh_values<2>(s.weights.data(), s.values.data(), padded, D, d0, acc);
            store_rows<2>(acc, inverse_sums, valid, out_rows, d0);
        }
    }
}

bool avx512_bf16_usable() { return ctorch::avx512_usable() && ctorch::cpu_features().cpu_avx512_bf16; }

at::Tensor tile_attention(const at::Tensor &qkv_input, int64_t heads, double scale) {
    TORCH_CHECK(avx512_bf16_usable(), "tile attention: this CPU (or its OS) lacks AVX512_BF16");
    TORCH_CHECK(qkv_input.device().is_cpu() && qkv_input.scalar_type() == at::kBFloat16,
                "tile attention: qkv must be a bfloat16 CPU tensor, got ", qkv_input.scalar_type(), " on ",
                qkv_input.device());
    const at::Tensor qkv = qkv_input.contiguous();
    TORCH_CHECK(qkv.dim() == 3, "tile attention: qkv must be [tiles, patches, 3·heads·head_dim], got ", qkv.sizes());
    TORCH_CHECK(heads > 0 && qkv.size(2) % (3 * heads) == 0, "tile attention: qkv's last dimension ", qkv.size(2),
                " is not 3 x ", heads, " heads");
    const int64_t tiles = qkv.size(0), patches = qkv.size(1), dim = qkv.size(2) / (3 * heads);
    TORCH_CHECK(dim > 0 && dim % 32 == 0, "tile attention: the head dimension ", dim, " is not a multiple of 32");
    at::Tensor out = at::empty({tiles, patches, heads * dim}, qkv.options());
    if (out.numel() == 0) return out;
    const Problem problem{reinterpret_cast<const uint16_t *>(qkv.data_ptr<at::BFloat16>()),
                          patches,
                          heads,
                          dim,
                          static_cast<float>(scale),
                          reinterpret_cast<uint16_t *>(out.data_ptr<at::BFloat16>())};
    ctorch::parallel_runs(tiles * heads, [&](int64_t first, int64_t end) {
        Scratch scratch;
        for (int64_t task = first; task < end; task++) head(problem, task / heads, task % heads, scratch);
    });
    return out;
}

}  // namespace

extern "C" {

int ct_tile_attention_available(void) { return avx512_bf16_usable() ? 1 : 0; }

ct_tensor ct_tile_attention(ct_tensor qkv, int64_t heads, double scale) {
    CT_TENSOR(tile_attention(unwrap(qkv), heads, scale))
}

}  // extern "C"
