// Private to src/kernels: a 16x16 transpose of 32-bit lanes in AVX-512 registers, for the
// packers (gemm_pack_avx512.c, gemm_bf16_pack_avx512.c). Include only from files compiled
// with AVX-512 flags.
#ifndef ZHUYI_KERNELS_TRANSPOSE_AVX512_H
#define ZHUYI_KERNELS_TRANSPOSE_AVX512_H

#include <immintrin.h>

// In-register transpose: r[i] lane k -> r[k] lane i, 16x16 floats (64 shuffles).
static inline __attribute__((always_inline)) void zy__transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // u[4g+e], 128-bit lane L: rows 4g..4g+3 of column 4L+e.
    for (int g = 0; g < 4; g++) {
        u[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    // 4x4 transpose of 128-bit lanes across u[e], u[4+e], u[8+e], u[12+e].
    for (int e = 0; e < 4; e++) {
        __m512 a0 = _mm512_shuffle_f32x4(u[e], u[4 + e], 0x44);
        __m512 a1 = _mm512_shuffle_f32x4(u[e], u[4 + e], 0xEE);
        __m512 a2 = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0x44);
        __m512 a3 = _mm512_shuffle_f32x4(u[8 + e], u[12 + e], 0xEE);
        r[0 + e] = _mm512_shuffle_f32x4(a0, a2, 0x88);
        r[4 + e] = _mm512_shuffle_f32x4(a0, a2, 0xDD);
        r[8 + e] = _mm512_shuffle_f32x4(a1, a3, 0x88);
        r[12 + e] = _mm512_shuffle_f32x4(a1, a3, 0xDD);
    }
}

#endif
