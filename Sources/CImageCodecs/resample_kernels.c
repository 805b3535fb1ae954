#include "resample_kernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>
#include <immintrin.h>

static int detect_avx2(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) {
        return 0;
    }
    // OSXSAVE and AVX, and the OS saves the YMM state.
    if (!(ecx & (1u << 27)) || !(ecx & (1u << 28))) {
        return 0;
    }
    unsigned int low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    if ((low & 6) != 6) {
        return 0;
    }
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        return 0;
    }
    return (ebx & (1u << 5)) != 0;
}

int ic_resample_has_avx2(void) {
    // Computed on every call (cheap) rather than cached in a global: no shared state.
    return detect_avx2();
}

__attribute__((target("avx2"))) static size_t vertical_row_avx2(const uint8_t *rows, size_t stride,
                                                                 const int32_t *weights, int count, int shift,
                                                                 uint8_t *out, size_t length) {
    const __m256i half = _mm256_set1_epi32(1 << (shift - 1));
    const __m128i bits = _mm_cvtsi32_si128(shift);
    const __m256i zero = _mm256_setzero_si256();
    const __m256i top = _mm256_set1_epi32(255);
    size_t index = 0;
    for (; index + 32 <= length; index += 32) {
        __m256i sum0 = half, sum1 = half, sum2 = half, sum3 = half;
        for (int tap = 0; tap < count; tap++) {
            const __m256i weight = _mm256_set1_epi32(weights[tap]);
            const uint8_t *source = rows + (size_t)tap * stride + index;
            __m128i low = _mm_loadu_si128((const __m128i *)source);
            __m128i high = _mm_loadu_si128((const __m128i *)(source + 16));
            sum0 = _mm256_add_epi32(sum0, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(low), weight));
            sum1 = _mm256_add_epi32(sum1, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(low, 8)), weight));
            sum2 = _mm256_add_epi32(sum2, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(high), weight));
            sum3 = _mm256_add_epi32(sum3, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(high, 8)), weight));
        }
        // clip8: arithmetic shift, then clamp to 0...255.
        sum0 = _mm256_min_epi32(_mm256_max_epi32(_mm256_sra_epi32(sum0, bits), zero), top);
        sum1 = _mm256_min_epi32(_mm256_max_epi32(_mm256_sra_epi32(sum1, bits), zero), top);
        sum2 = _mm256_min_epi32(_mm256_max_epi32(_mm256_sra_epi32(sum2, bits), zero), top);
        sum3 = _mm256_min_epi32(_mm256_max_epi32(_mm256_sra_epi32(sum3, bits), zero), top);
        // Pack 32 x int32 -> 32 x uint8 (values already in range), undoing the lane interleave.
        __m256i words01 = _mm256_packs_epi32(sum0, sum1);
        __m256i words23 = _mm256_packs_epi32(sum2, sum3);
        __m256i bytes = _mm256_packus_epi16(words01, words23);
        bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(out + index), bytes);
    }
    return index;
}

size_t ic_resample_vertical_row_avx2(const uint8_t *rows, size_t stride, const int32_t *weights, int count,
                                     int shift, uint8_t *out, size_t length) {
    if (shift < 1 || shift > 22) {
        return 0;  // outside the contract: leave every byte to the caller's portable loop
    }
    return vertical_row_avx2(rows, stride, weights, count, shift, out, length);
}

#else

int ic_resample_has_avx2(void) {
    return 0;
}

size_t ic_resample_vertical_row_avx2(const uint8_t *rows, size_t stride, const int32_t *weights, int count,
                                     int shift, uint8_t *out, size_t length) {
    (void)rows;
    (void)stride;
    (void)weights;
    (void)count;
    (void)shift;
    (void)out;
    (void)length;
    return 0;
}

#endif
