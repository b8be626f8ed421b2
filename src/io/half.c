// F16 (IEEE binary16) and BF16 <-> F32 conversion: the scalar reference and the run-time
// choice of the AVX-512 kernels in half_avx512.c. Not a general numeric-format library:
// only what safetensors F16/BF16 tensors need.
//
// Both conversions to 16 bits round to nearest, ties to even, on the bit patterns:
// adding 0x7FFF (BF16) or 0xFFF (F16 normals) plus the lowest kept bit, then truncating,
// rounds exactly and carries into the exponent (up to Inf) on its own.
#include <string.h>

#include "half.h"
#include "zhuyi/io.h"

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float zy_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    // Inf, NaN; a signalling NaN comes out quiet, as the F16C instruction makes it.
    if (exp == 0x1F) return bits_f32(sign | 0x7F800000u | (mant << 13) | (mant ? 0x400000u : 0));
    if (exp != 0) return bits_f32(sign | ((exp + 112) << 23) | (mant << 13));
    if (mant == 0) return bits_f32(sign);
    // Subnormal: mant * 2^-24, exact in float (2^-24 is a power of two, mant < 2^10).
    float v = (float)mant * (1.0f / 16777216.0f);
    return bits_f32(sign | f32_bits(v));
}

uint16_t zy_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) return sign | 0x7E00 | (uint16_t)((ax >> 13) & 0x3FF); // NaN
    if (ax >= 0x477FF000u) return sign | 0x7C00; // >= 65520: rounds to Inf (or is Inf)
    if (ax >= 0x38800000u) {                     // >= 2^-14: a normal half
        ax += 0xFFF + ((ax >> 13) & 1);
        return sign | (uint16_t)((ax - 0x38000000u) >> 13); // rebias 127 -> 15
    }
    if (ax <= 0x33000000u) return sign; // <= 2^-25: half the smallest subnormal, ties to 0
    // Subnormal result: round(|f| * 2^24) with |f| = m * 2^(e-150), so shift by 126 - e
    // (14..24 here).
    uint32_t e = ax >> 23, m = (ax & 0x7FFFFF) | 0x800000;
    uint32_t shift = 126 - e, r = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1))) r++;
    return sign | (uint16_t)r; // r == 0x400 is the smallest normal: the encoding carries
}

float zy_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t zy_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((x >> 16) | 0x0040); // quiet NaN
    x += 0x7FFF + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

void zy_f16_to_f32_array(float *dst, const uint16_t *src, size_t n) {
    if (zy_simd_level() >= ZY_SIMD_AVX512) {
        zy__f16_to_f32_avx512(dst, src, n);
        return;
    }
    for (size_t i = 0; i < n; i++) dst[i] = zy_f16_to_f32(src[i]);
}

void zy_f32_to_f16_array(uint16_t *dst, const float *src, size_t n) {
    if (zy_simd_level() >= ZY_SIMD_AVX512) {
        zy__f32_to_f16_avx512(dst, src, n);
        return;
    }
    for (size_t i = 0; i < n; i++) dst[i] = zy_f32_to_f16(src[i]);
}

void zy_bf16_to_f32_array(float *dst, const uint16_t *src, size_t n) {
    if (zy_simd_level() >= ZY_SIMD_AVX512) {
        zy__bf16_to_f32_avx512(dst, src, n);
        return;
    }
    for (size_t i = 0; i < n; i++) dst[i] = zy_bf16_to_f32(src[i]);
}

void zy_f32_to_bf16_array(uint16_t *dst, const float *src, size_t n) {
    if (zy_simd_level() >= ZY_SIMD_AVX512) {
        zy__f32_to_bf16_avx512(dst, src, n);
        return;
    }
    for (size_t i = 0; i < n; i++) dst[i] = zy_f32_to_bf16(src[i]);
}
