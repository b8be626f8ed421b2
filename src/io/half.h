// Internal to src/io: the AVX-512 conversion kernels (half_avx512.c, compiled with AVX-512
// flags; call only when zy_simd_level() >= ZY_SIMD_AVX512). Each handles all n elements and
// gives bit for bit the result of the scalar functions in half.c.
#ifndef ZHUYI_IO_HALF_H
#define ZHUYI_IO_HALF_H

#include <stddef.h>
#include <stdint.h>

void zy__f16_to_f32_avx512(float *dst, const uint16_t *src, size_t n);
void zy__f32_to_f16_avx512(uint16_t *dst, const float *src, size_t n);
void zy__bf16_to_f32_avx512(float *dst, const uint16_t *src, size_t n);
void zy__f32_to_bf16_avx512(uint16_t *dst, const float *src, size_t n);

#endif
