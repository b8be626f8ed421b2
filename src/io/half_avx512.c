// AVX-512 F16/BF16 <-> F32 conversion (16 elements per step, masked tails). Compiled with
// AVX-512 flags: only called through half.c after checking zy_simd_level(). Bit for bit
// the scalar functions of half.c: the F16 instructions round to nearest even (explicit
// rounding immediate, so MXCSR does not matter) and quiet NaNs the same way; BF16 uses the
// same integer rounding as the scalar code.
#include <immintrin.h>

#include "half.h"

// The rounding immediate of _mm512_cvtps_ph: an integer constant expression, as clang
// requires of intrinsic immediates (a `const int` variable is not one in C).
enum { F16_ROUNDING = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC };

void zy__f16_to_f32_avx512(float *dst, const uint16_t *src, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(src + i))));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m256i h = _mm256_maskz_loadu_epi16(m, src + i);
        _mm512_mask_storeu_ps(dst + i, m, _mm512_cvtph_ps(h));
    }
}

void zy__f32_to_f16_avx512(uint16_t *dst, const float *src, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((void *)(dst + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(src + i), F16_ROUNDING));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(m, src + i);
        _mm256_mask_storeu_epi16(dst + i, m, _mm512_cvtps_ph(x, F16_ROUNDING));
    }
}

static inline __m512 bf16x16_to_f32(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

void zy__bf16_to_f32_avx512(float *dst, const uint16_t *src, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, bf16x16_to_f32(_mm256_loadu_si256((const void *)(src + i))));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(dst + i, m, bf16x16_to_f32(_mm256_maskz_loadu_epi16(m, src + i)));
    }
}

// x + 0x7FFF + lsb, >> 16; NaN: x >> 16 with the quiet bit set (as the scalar code).
static inline __m256i f32x16_to_bf16(__m512i x) {
    const __m512i one = _mm512_set1_epi32(1);
    __m512i hi = _mm512_srli_epi32(x, 16);
    __m512i r = _mm512_add_epi32(x, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF),
                                                     _mm512_and_si512(hi, one)));
    r = _mm512_srli_epi32(r, 16);
    __m512i ax = _mm512_and_si512(x, _mm512_set1_epi32(0x7FFFFFFF));
    __mmask16 nan = _mm512_cmpgt_epu32_mask(ax, _mm512_set1_epi32(0x7F800000));
    r = _mm512_mask_or_epi32(r, nan, hi, _mm512_set1_epi32(0x0040));
    return _mm512_cvtepi32_epi16(r);
}

void zy__f32_to_bf16_avx512(uint16_t *dst, const float *src, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((void *)(dst + i),
                            f32x16_to_bf16(_mm512_loadu_si512((const void *)(src + i))));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512i x = _mm512_maskz_loadu_epi32(m, src + i);
        _mm256_mask_storeu_epi16(dst + i, m, f32x16_to_bf16(x));
    }
}
