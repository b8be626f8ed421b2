// Private to the AVX-512 files of the typed weights (wgemv_avx512.c, and the GEMM's bf16
// packer of typed rows, gemm_bf16_pack_avx512bf16.c): 32 weights of a typed row as two
// vectors of their fp32 values. Include only from files compiled with AVX-512 flags.
#ifndef ZHUYI_KERNELS_WGEMV_LOAD_AVX512_H
#define ZHUYI_KERNELS_WGEMV_LOAD_AVX512_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/wgemv.h"

#define WLOAD_INLINE static inline __attribute__((always_inline))

WLOAD_INLINE __m512 bf16x16(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// A block's scale in every lane: one broadcast load from the f16 table.
WLOAD_INLINE __m512 f16_splat(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _mm512_set1_ps(zy__f16_lut[h]);
}

// Weights [32j, 32j + 32) of row as lo, hi (16 each); for the block types the values are
// the integers q (or nibble - 8) and *d the block's scale, for f16/bf16 the weights.
WLOAD_INLINE void load32(zy_wtype t, const uint8_t *row, int j, __m512 *lo, __m512 *hi, __m512 *d) {
    if (t == ZY_WTYPE_F16) {
        const uint8_t *p = row + (size_t)j * 64;
        *lo = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
        *hi = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + 32)));
    } else if (t == ZY_WTYPE_BF16) {
        const uint8_t *p = row + (size_t)j * 64;
        *lo = bf16x16(_mm256_loadu_si256((const __m256i *)p));
        *hi = bf16x16(_mm256_loadu_si256((const __m256i *)(p + 32)));
    } else if (t == ZY_WTYPE_Q8_0) {
        const uint8_t *p = row + (size_t)j * ZY_Q8_0_BLOCK_BYTES;
        *d = f16_splat(p);
        *lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 2))));
        *hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(p + 18))));
    } else { // Q4_0: low nibbles are weights 0..15, high nibbles 16..31
        const uint8_t *p = row + (size_t)j * ZY_Q4_0_BLOCK_BYTES;
        *d = f16_splat(p);
        const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p + 2)));
        const __m512i eight = _mm512_set1_epi32(8);
        *lo = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_and_si512(v, _mm512_set1_epi32(15)), eight));
        *hi = _mm512_cvtepi32_ps(_mm512_sub_epi32(_mm512_srli_epi32(v, 4), eight));
    }
}

#endif
