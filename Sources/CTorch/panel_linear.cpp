// A float32 linear layer for the CPU on weights repacked into column panels (AVX2 + FMA, or
// AVX-512 where the caller asks for it and the CPU has it).
//
// Why: a short query is ~20-30 rows against ~440 MB of text weights, so each weight is used only
// ~30 times and the product is bound by how fast the weights stream in from memory and how busy
// the FMA units stay. libtorch's BLAS and oneDNN kernels leave memory idle part of the time on such
// shapes. Here every weight panel is read from memory once per call, in address order, with the
// next panel prefetched while the current one is multiplied with all input rows; measured ~1.3x
// oneDNN and ~2x MKL on the text tower's shapes at 20 rows, and on par or better at ~900 rows
// (Zen 3). On a Xeon with AVX-512 and AMX, MKL's was faster at ~900 rows (a page's text pass:
// 1.43-1.57 s against 1.98-2.14 on one panel at a time, 2 threads): a 12 x 16 tile loads a
// broadcast per FMA, where a wider tile halves that. So from 12 rows AVX-512 takes two panels at
// once (pair_16_lanes).
//
// Packed layout: [panels, in, 16], panel p holding output columns 16p ..< 16p+16 (zero-padded
// past `out`), so one input position k of one panel is a single 64-byte line: two YMM registers
// or one ZMM register. The layout does not depend on the instruction set, so one packed copy
// (the shared file) serves workers whatever tile they run.
//
// Tiles: AVX2, up to 5 input rows x 16 columns = 10 YMM accumulators (per k: two panel loads, one
// broadcast per row, 2 FMAs per row); AVX-512, up to 12 rows x 16 columns = 12 ZMM accumulators
// (per k: one panel load, one broadcast and one FMA per row), so a 30-row query reads each panel
// from cache 3 times instead of 6. The AVX-512 tile's source also builds for AVX2
// (CT_PANEL_AVX512_ON_AVX2), so its blocking is tested on CPUs without AVX-512.
//
// Prefetch: the next panel is prefetched one 64-byte line per k step, its lines spread over all
// row blocks of the current panel (block b fetches the lines k = b, b + blocks, ...); a pair of
// panels prefetches the next pair the same way (see pair_16_lanes). Measured on a
// 2-core Zen 3 (AVX2, one thread, 32 rows x 768 -> 2304 streaming 425 MB of weights): prefetching
// it all during the first block, as before, asked memory for a panel in 1/7 of the panel's time and
// ran at 74 GFLOP/s; spread, 89 GFLOP/s, the same as with the weights in cache (peak 100).
#include "bridge.h"
#include "ctorch_extra.h"
#include "intraop.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <utility>

using ctorch::optional;
using ctorch::unwrap;

namespace {

constexpr int64_t kPanelWidth = 16;

// The tile a call runs on; values match CT_PANEL_*.
enum class TileISA { avx2 = CT_PANEL_AVX2, avx512 = CT_PANEL_AVX512, avx512_on_avx2 = CT_PANEL_AVX512_ON_AVX2 };

bool is_tile_code(int code) {
    return code == CT_PANEL_AVX2 || code == CT_PANEL_AVX512 || code == CT_PANEL_AVX512_ON_AVX2;
}

bool cpu_supports(TileISA isa) {
    switch (isa) {
        case TileISA::avx2: return ctorch::avx2_usable();
        case TileISA::avx512: return ctorch::avx512_usable();
        case TileISA::avx512_on_avx2: return ctorch::avx2_usable();
    }
    return false;
}

struct Epilogue {
    const float *bias;      // [16] for this panel (padded), or null
    const float *residual;  // row 0 of this tile, or null
    int64_t residual_stride;
};

// Which lines of the next panel a tile prefetches: k = phase, phase + stride, ... (none when
// `next` is null). A pair of panels prefetches the next pair's two panels, `next` and `second`
// (null when only one panel follows).
struct Prefetch {
    const float *next;
    int64_t phase;
    int64_t stride;
    const float *second = nullptr;

    // Called at every k of a tile with `countdown` starting at phase + 1: prefetches line k when
    // its turn comes.
    __attribute__((always_inline)) void step(int64_t &countdown, int64_t k) const {
        if (--countdown == 0) {
            _mm_prefetch(reinterpret_cast<const char *>(next + k * kPanelWidth), _MM_HINT_T0);
            if (second != nullptr) _mm_prefetch(reinterpret_cast<const char *>(second + k * kPanelWidth), _MM_HINT_T0);
            countdown = stride;
        }
    }
};

// Stores one tile row (16 accumulated columns in `row`) to `out`, adding the residual.
inline void store_row(const float *row, float *out, int64_t columns, const Epilogue &epilogue, int r) {
    if (epilogue.residual != nullptr) {
        const float *add = epilogue.residual + r * epilogue.residual_stride;
        for (int64_t c = 0; c < columns; c++) out[c] = row[c] + add[c];
    } else {
        std::memcpy(out, row, static_cast<size_t>(columns) * sizeof(float));
    }
}

// Bytes of input rows one pass over a thread's panels works on (see `multiply`). Measured (Xeon
// with AMX, 2 MB L2 per core, 2 threads; a page's text pass, 877 rows, ModelBenchmark
// imageTextMilliseconds): no chunks 2249-2403 ms, 128 KB 2281-2283, 256 KB 1982-2141, 512 KB
// 2222-2253, 1 MB 2097-2205; queries (20 rows, one chunk) unchanged.
constexpr int64_t kChunkBytes = 256 * 1024;

// Rows from which a chunk runs on pairs of panels where the tile set has them (see pair_16_lanes).
// Measured (Xeon with AMX, 2 threads, ModelBenchmark, alternating runs): a page's text pass (877
// rows) 2057-2177 ms on single panels, 1659-1893 on pairs; a 20-token query's median 46.7-48.8 ms
// on single panels, 40.9-42.2 with pairs from 12 rows (one full AVX-512 block).
constexpr int64_t kPairRows = 12;

// y[rows x columns] (stride ldy) = x[rows x k] (stride ldx) · panel[k x 16] (+ bias) (+ residual).
template <int Rows, bool Prefetching>
__attribute__((target("avx2,fma"))) void tile_avx2(const float *__restrict x, int64_t ldx, int64_t k,
                                                   const float *__restrict panel, const Prefetch &prefetch,
                                                   float *__restrict y, int64_t ldy, int64_t columns,
                                                   const Epilogue &epilogue) {
    __m256 low[Rows], high[Rows];
    for (int r = 0; r < Rows; r++) {
        low[r] = _mm256_setzero_ps();
        high[r] = _mm256_setzero_ps();
    }
    int64_t countdown = prefetch.phase + 1;
    for (int64_t i = 0; i < k; i++) {
        const __m256 b0 = _mm256_loadu_ps(panel + i * kPanelWidth);
        const __m256 b1 = _mm256_loadu_ps(panel + i * kPanelWidth + 8);
        if constexpr (Prefetching) prefetch.step(countdown, i);
        for (int r = 0; r < Rows; r++) {
            const __m256 a = _mm256_broadcast_ss(x + r * ldx + i);
            low[r] = _mm256_fmadd_ps(a, b0, low[r]);
            high[r] = _mm256_fmadd_ps(a, b1, high[r]);
        }
    }
    if (epilogue.bias != nullptr) {
        const __m256 bias0 = _mm256_loadu_ps(epilogue.bias), bias1 = _mm256_loadu_ps(epilogue.bias + 8);
        for (int r = 0; r < Rows; r++) {
            low[r] = _mm256_add_ps(low[r], bias0);
            high[r] = _mm256_add_ps(high[r], bias1);
        }
    }
    for (int r = 0; r < Rows; r++) {
        alignas(32) float row[kPanelWidth];
        _mm256_store_ps(row, low[r]);
        _mm256_store_ps(row + 8, high[r]);
        store_row(row, y + r * ldy, columns, epilogue, r);
    }
}

// 16 float lanes, one panel line: one ZMM register in a function that targets AVX-512, two YMM
// registers in one that targets AVX2. The AVX-512 tile is written once on it (clang's vector
// extensions instead of _mm512 intrinsics, which compile only for AVX-512), so the same source
// also builds for AVX2, where tests run its 12-row blocking on CPUs without AVX-512.
typedef float Lanes16 __attribute__((vector_size(64)));

// The helpers fill a reference: a default-target function returning a 64-byte vector would have
// an ABI that depends on AVX-512 (-Wpsabi), even though they are always inlined.
__attribute__((always_inline)) inline void load16(Lanes16 &v, const float *p) { std::memcpy(&v, p, sizeof v); }

// Not `Lanes16{} + a`: that is an add (0 + -0 is +0), one more FP instruction per row and k.
__attribute__((always_inline)) inline void splat16(Lanes16 &v, float a) {
    for (int lane = 0; lane < 16; lane++) v[lane] = a;
}

// y[rows x columns] = x · panel (+ bias) (+ residual), one 16-lane accumulator per row. Inlined
// into the functions below, which give it its instruction set.
template <int Rows, bool Prefetching>
__attribute__((always_inline)) inline void tile_16_lanes(const float *__restrict x, int64_t ldx, int64_t k,
                                                         const float *__restrict panel, const Prefetch &prefetch,
                                                         float *__restrict y, int64_t ldy, int64_t columns,
                                                         const Epilogue &epilogue) {
    Lanes16 acc[Rows];
    for (int r = 0; r < Rows; r++) acc[r] = Lanes16{};
    int64_t countdown = prefetch.phase + 1;
    for (int64_t i = 0; i < k; i++) {
        Lanes16 b;
        load16(b, panel + i * kPanelWidth);
        if constexpr (Prefetching) prefetch.step(countdown, i);
        for (int r = 0; r < Rows; r++) {
            Lanes16 a;
            splat16(a, x[r * ldx + i]);
            acc[r] = __builtin_elementwise_fma(a, b, acc[r]);
        }
    }
    if (epilogue.bias != nullptr) {
        Lanes16 bias;
        load16(bias, epilogue.bias);
        for (int r = 0; r < Rows; r++) acc[r] += bias;
    }
    for (int r = 0; r < Rows; r++) {
        alignas(64) float row[kPanelWidth];
        std::memcpy(row, &acc[r], sizeof row);
        store_row(row, y + r * ldy, columns, epilogue, r);
    }
}

// The AVX-512 tile: 12 ZMM accumulators at most, per k one panel load, one broadcast and one
// FMA per row.
template <int Rows, bool Prefetching>
__attribute__((target("avx512f,avx2,fma"))) void tile_avx512(const float *__restrict x, int64_t ldx, int64_t k,
                                                              const float *__restrict panel, const Prefetch &prefetch,
                                                              float *__restrict y, int64_t ldy, int64_t columns,
                                                              const Epilogue &epilogue) {
    tile_16_lanes<Rows, Prefetching>(x, ldx, k, panel, prefetch, y, ldy, columns, epilogue);
}

// The same source built for AVX2 (CT_PANEL_AVX512_ON_AVX2): 24 YMM accumulators for 16
// registers, so it spills and is slow; tests only, never picked by the model.
template <int Rows, bool Prefetching>
__attribute__((target("avx2,fma"))) void tile_avx512_on_avx2(const float *__restrict x, int64_t ldx, int64_t k,
                                                              const float *__restrict panel, const Prefetch &prefetch,
                                                              float *__restrict y, int64_t ldy, int64_t columns,
                                                              const Epilogue &epilogue) {
    tile_16_lanes<Rows, Prefetching>(x, ldx, k, panel, prefetch, y, ldy, columns, epilogue);
}

// Two adjacent panels at once (32 columns, from 12 rows): per k two panel loads and one
// broadcast for two FMAs per row, where one panel takes a broadcast per FMA and the loads, not
// the FMAs, bound the tile. `panel` is the first of the two (the second follows it); `columns`
// counts the second's. The next pair is prefetched as a single tile prefetches its next panel:
// a 32-token query has three row blocks, and without it the first block of each pair waited on
// memory (perf: ~40% of the tile's samples on its panel loads). Measured (Xeon with AMX, 2 threads,
// ModelBenchmark, alternating runs): 32-token query median 62-65 -> 43-53 ms, 20 tokens 43-47 ->
// 38-40 ms; a page's text pass (877 rows) unchanged, 1813-1936 against 1755-1882 ms. Prefetching
// into L2 only (T1) measured the same.
template <int Rows, bool Prefetching>
__attribute__((always_inline)) inline void pair_16_lanes(const float *__restrict x, int64_t ldx, int64_t k,
                                                         const float *__restrict panel, const Prefetch &prefetch,
                                                         float *__restrict y, int64_t ldy, int64_t columns,
                                                         const Epilogue &first, const Epilogue &second) {
    Lanes16 acc0[Rows], acc1[Rows];
#pragma clang loop unroll(full)
    for (int r = 0; r < Rows; r++) {
        acc0[r] = Lanes16{};
        acc1[r] = Lanes16{};
    }
    const float *__restrict other = panel + k * kPanelWidth;
    int64_t countdown = prefetch.phase + 1;
    for (int64_t i = 0; i < k; i++) {
        Lanes16 b0, b1;
        load16(b0, panel + i * kPanelWidth);
        load16(b1, other + i * kPanelWidth);
        if constexpr (Prefetching) prefetch.step(countdown, i);
        // Unrolled as asked: left to itself clang kept the 24 accumulators on the stack (and the
        // pairs ran 1.6x slower than single panels).
#pragma clang loop unroll(full)
        for (int r = 0; r < Rows; r++) {
            Lanes16 a;
            splat16(a, x[r * ldx + i]);
            acc0[r] = __builtin_elementwise_fma(a, b0, acc0[r]);
            acc1[r] = __builtin_elementwise_fma(a, b1, acc1[r]);
        }
    }
    if (first.bias != nullptr) {
        Lanes16 bias0, bias1;
        load16(bias0, first.bias);
        load16(bias1, second.bias);
        for (int r = 0; r < Rows; r++) {
            acc0[r] += bias0;
            acc1[r] += bias1;
        }
    }
    for (int r = 0; r < Rows; r++) {
        alignas(64) float row[kPanelWidth];
        std::memcpy(row, &acc0[r], sizeof row);
        store_row(row, y + r * ldy, kPanelWidth, first, r);
        std::memcpy(row, &acc1[r], sizeof row);
        store_row(row, y + r * ldy + kPanelWidth, columns, second, r);
    }
}

template <int Rows, bool Prefetching>
__attribute__((target("avx512f,avx2,fma"))) void pair_avx512(const float *__restrict x, int64_t ldx, int64_t k,
                                                              const float *__restrict panel, const Prefetch &prefetch,
                                                              float *__restrict y, int64_t ldy, int64_t columns,
                                                              const Epilogue &first, const Epilogue &second) {
    pair_16_lanes<Rows, Prefetching>(x, ldx, k, panel, prefetch, y, ldy, columns, first, second);
}

// Tests only, as tile_avx512_on_avx2.
template <int Rows, bool Prefetching>
__attribute__((target("avx2,fma"))) void pair_avx512_on_avx2(const float *__restrict x, int64_t ldx, int64_t k,
                                                              const float *__restrict panel, const Prefetch &prefetch,
                                                              float *__restrict y, int64_t ldy, int64_t columns,
                                                              const Epilogue &first, const Epilogue &second) {
    pair_16_lanes<Rows, Prefetching>(x, ldx, k, panel, prefetch, y, ldy, columns, first, second);
}

using TileFn = void (*)(const float *, int64_t, int64_t, const float *, const Prefetch &, float *, int64_t, int64_t,
                        const Epilogue &);
using PairFn = void (*)(const float *, int64_t, int64_t, const float *, const Prefetch &, float *, int64_t, int64_t,
                        const Epilogue &, const Epilogue &);

// One instruction set's tiles: tiles[prefetching][rows] for rows 1 ... max_rows, and
// pairs[prefetching][rows] (two panels at once; none on AVX2, whose 16 YMM registers hold one
// panel's tile).
struct TileSet {
    static constexpr int kCapacity = 12;
    int max_rows;
    TileFn tiles[2][kCapacity + 1];
    PairFn pairs[2][kCapacity + 1];
};

template <int... Rows>
constexpr TileSet avx2_tiles(std::integer_sequence<int, Rows...>) {
    return TileSet{sizeof...(Rows), {{nullptr, tile_avx2<Rows + 1, false>...}, {nullptr, tile_avx2<Rows + 1, true>...}}, {}};
}
template <int... Rows>
constexpr TileSet avx512_tiles(std::integer_sequence<int, Rows...>) {
    return TileSet{sizeof...(Rows),
                   {{nullptr, tile_avx512<Rows + 1, false>...}, {nullptr, tile_avx512<Rows + 1, true>...}},
                   {{nullptr, pair_avx512<Rows + 1, false>...}, {nullptr, pair_avx512<Rows + 1, true>...}}};
}
template <int... Rows>
constexpr TileSet avx512_on_avx2_tiles(std::integer_sequence<int, Rows...>) {
    return TileSet{sizeof...(Rows),
                   {{nullptr, tile_avx512_on_avx2<Rows + 1, false>...}, {nullptr, tile_avx512_on_avx2<Rows + 1, true>...}},
                   {{nullptr, pair_avx512_on_avx2<Rows + 1, false>...}, {nullptr, pair_avx512_on_avx2<Rows + 1, true>...}}};
}
// AVX2 has 16 YMM registers: 10 accumulators, 2 panel halves, 1 broadcast. AVX-512 has 32.
constexpr TileSet kAVX2Tiles = avx2_tiles(std::make_integer_sequence<int, 5>{});
constexpr TileSet kAVX512Tiles = avx512_tiles(std::make_integer_sequence<int, 12>{});
constexpr TileSet kAVX512OnAVX2Tiles = avx512_on_avx2_tiles(std::make_integer_sequence<int, 12>{});

const TileSet &tile_set(TileISA isa) {
    switch (isa) {
        case TileISA::avx2: return kAVX2Tiles;
        case TileISA::avx512: return kAVX512Tiles;
        case TileISA::avx512_on_avx2: return kAVX512OnAVX2Tiles;
    }
    return kAVX2Tiles;
}

void check_float_cpu(const at::Tensor &t, const char *what) {
    TORCH_CHECK(t.device().is_cpu() && t.scalar_type() == at::kFloat, "panel linear: ", what,
                " must be a float32 CPU tensor, got ", t.scalar_type(), " on ", t.device());
}

at::Tensor pack(const at::Tensor &weight) {
    TORCH_CHECK(cpu_supports(TileISA::avx2), "panel linear: this CPU lacks AVX2/FMA");
    check_float_cpu(weight, "weight");
    TORCH_CHECK(weight.dim() == 2, "panel linear: weight must be [out, in], got ", weight.sizes());
    const int64_t out = weight.size(0), in = weight.size(1);
    const int64_t panels = (out + kPanelWidth - 1) / kPanelWidth;
    // [out, in] → zero-pad to [panels·16, in] → [panels, 16, in] → [panels, in, 16]
    at::Tensor padded = weight;
    if (panels * kPanelWidth != out) {
        padded = at::zeros({panels * kPanelWidth, in}, weight.options());
        padded.narrow(0, 0, out).copy_(weight);
    }
    return padded.view({panels, kPanelWidth, in}).transpose(1, 2).contiguous();
}

at::Tensor multiply(const at::Tensor &input, const at::Tensor &packed, int64_t out, const c10::optional<at::Tensor> &bias,
                    const c10::optional<at::Tensor> &residual, int isa_code) {
    TORCH_CHECK(is_tile_code(isa_code), "panel linear: unknown tile instruction set ", isa_code);
    const auto isa = static_cast<TileISA>(isa_code);
    TORCH_CHECK(cpu_supports(isa), "panel linear: this CPU (or its OS) lacks ",
                isa == TileISA::avx512 ? "AVX-512 (F, DQ, BW, VL)" : "AVX2/FMA", " for the requested tile");
    check_float_cpu(input, "input");
    check_float_cpu(packed, "packed weight");
    TORCH_CHECK(packed.dim() == 3 && packed.size(2) == kPanelWidth && packed.is_contiguous(),
                "panel linear: not a packed weight: ", packed.sizes());
    const int64_t panels = packed.size(0), in = packed.size(1);
    TORCH_CHECK(out > 0 && (out + kPanelWidth - 1) / kPanelWidth == panels, "panel linear: ", out,
                " output features do not fit ", panels, " panels");
    TORCH_CHECK(input.dim() >= 1 && input.size(-1) == in, "panel linear: input ", input.sizes(),
                " does not end in the weight's ", in, " input features");
    const at::Tensor x = input.contiguous();
    auto shape = x.sizes().vec();
    shape.back() = out;
    at::Tensor y = at::empty(shape, x.options());
    const int64_t rows = c10::multiply_integers(shape.begin(), shape.end() - 1);

    at::Tensor paddedBias;
    if (bias.has_value()) {
        check_float_cpu(*bias, "bias");
        TORCH_CHECK(bias->dim() == 1 && bias->size(0) == out, "panel linear: bias ", bias->sizes(), " for ", out,
                    " outputs");
        paddedBias = at::zeros({panels * kPanelWidth}, bias->options());
        paddedBias.narrow(0, 0, out).copy_(*bias);
    }
    at::Tensor add;
    if (residual.has_value()) {
        check_float_cpu(*residual, "residual");
        TORCH_CHECK(residual->sizes() == y.sizes(), "panel linear: residual ", residual->sizes(), " for output ",
                    y.sizes());
        add = residual->contiguous();
    }
    if (rows == 0) return y;
    if (in == 0) {  // an empty sum: bias and residual only
        y.zero_();
        if (bias.has_value()) y.add_(*bias);
        if (add.defined()) y.add_(add);
        return y;
    }

    const float *xs = x.data_ptr<float>();
    const float *weights = packed.data_ptr<float>();
    const float *biases = paddedBias.defined() ? paddedBias.data_ptr<float>() : nullptr;
    const float *adds = add.defined() ? add.data_ptr<float>() : nullptr;
    float *ys = y.data_ptr<float>();
    const TileSet &set = tile_set(isa);
    // Rows in chunks whose input stays in a core's L2 while every panel of a thread's run passes
    // over it; each panel (in x 16 floats) then streams once per chunk. Without chunks a page's
    // text pass (877 rows) read all of x (2.7-4 MB) from L3 for every panel. Measured (Xeon with
    // AMX, 2 threads): see kChunkBytes. A query's few rows are one chunk, as before.
    const int64_t chunkRows =
        std::max<int64_t>(set.max_rows, kChunkBytes / (in * int64_t(sizeof(float))) / set.max_rows * set.max_rows);
    // The epilogue of the tile whose first output is row r, column `column`.
    const auto epilogue_at = [&](int64_t r, int64_t column) {
        return Epilogue{biases == nullptr ? nullptr : biases + column, adds == nullptr ? nullptr : adds + r * out + column,
                        out};
    };
    // Threads take contiguous runs of panels, each streaming its own part of the weight in order.
    ctorch::parallel_runs(panels, [&](int64_t first, int64_t end) {
        for (int64_t start = 0; start < rows; start += chunkRows) {
            const int64_t chunk = std::min(chunkRows, rows - start);
            // Rows split evenly over the fewest blocks a tile allows (32 rows on AVX2: 5,5,5,5,4,4,4,
            // not 5 x 6 + 2): a block of 1-3 rows keeps too few accumulators to cover the FMA
            // latency. Measured (one Zen 3 core, 768 -> 2304, streaming): 22 rows 74-84 -> 92-93
            // GFLOP/s, 27 rows 80-82 -> 87-88.
            const int64_t blocks = (chunk + set.max_rows - 1) / set.max_rows;
            const int64_t base = chunk / blocks, extra = chunk % blocks;
            // Block b: its first row and its row count.
            const auto block_first = [&](int64_t block) { return start + block * base + std::min(block, extra); };
            const auto block_count = [&](int64_t block) { return base + (block < extra ? 1 : 0); };
            const bool pairs = set.pairs[0][1] != nullptr && chunk >= kPairRows;
            for (int64_t p = first; p < end; p++) {
                const float *panel = weights + p * in * kPanelWidth;
                const int64_t column = p * kPanelWidth;
                if (pairs && p + 1 < end) {
                    const int64_t columns = std::min(kPanelWidth, out - column - kPanelWidth);
                    // The next one or two panels of this run, prefetched as for single panels.
                    const float *next = p + 2 < end ? panel + 2 * in * kPanelWidth : nullptr;
                    const float *second = p + 3 < end ? panel + 3 * in * kPanelWidth : nullptr;
                    for (int64_t block = 0; block < blocks; block++) {
                        const int64_t r = block_first(block);
                        const Prefetch prefetch{next, block, blocks, second};
                        const bool prefetching = next != nullptr && block < in;
                        set.pairs[prefetching][block_count(block)](xs + r * in, in, in, panel, prefetch,
                                                                   ys + r * out + column, out, columns,
                                                                   epilogue_at(r, column),
                                                                   epilogue_at(r, column + kPanelWidth));
                    }
                    p++;  // the pair's second panel
                    continue;
                }
                const float *next = p + 1 < end ? panel + in * kPanelWidth : nullptr;
                const int64_t columns = std::min(kPanelWidth, out - column);
                for (int64_t block = 0; block < blocks; block++) {
                    const int64_t r = block_first(block);
                    // Block b prefetches lines b, b + blocks, ... of the next panel (none past its end).
                    const Prefetch prefetch{next, block, blocks};
                    const bool prefetching = next != nullptr && block < in;
                    set.tiles[prefetching][block_count(block)](xs + r * in, in, in, panel, prefetch, ys + r * out + column,
                                                               out, columns, epilogue_at(r, column));
                }
            }
        }
    });
    return y;
}

}  // namespace

extern "C" {

int ct_panel_linear_available(void) {
    try {
        return cpu_supports(TileISA::avx2) ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

ct_tensor ct_panel_pack_linear_weight(ct_tensor weight) { CT_TENSOR(pack(unwrap(weight))) }

int ct_panel_linear_supports(int isa) {
    try {
        return is_tile_code(isa) && cpu_supports(static_cast<TileISA>(isa)) ? 1 : 0;
    } catch (...) {
        return 0;
    }
}

ct_tensor ct_panel_linear(ct_tensor x, ct_tensor packed_weight, int64_t out_features, ct_tensor bias,
                          ct_tensor residual, int isa) {
    CT_TENSOR(multiply(unwrap(x), unwrap(packed_weight), out_features, optional(bias), optional(residual), isa))
}

}  // extern "C"
