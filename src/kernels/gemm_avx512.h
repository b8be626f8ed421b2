// Private to src/kernels: pieces the AVX-512 GEMM kernels and packers share (the fp32
// 14x32 kernel, the bf16 kernels, the bf16 packers). Include only from files compiled with
// AVX-512 flags.
#ifndef ZHUYI_KERNELS_GEMM_AVX512_H
#define ZHUYI_KERNELS_GEMM_AVX512_H

#include <immintrin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// The first n of 16 lanes (n <= 0: none, n >= 16: all).
static inline __mmask16 zy__mask16(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

// Whether stores into C at c (rows ldc apart) may be non-temporal, when asked (stream) and
// beta is 0: only whole aligned lines are streamed, so C's rows must start on lines.
static inline bool zy__gemm_lines_stream(const float *c, int ldc, float beta, bool stream) {
    return stream && beta == 0.0f && ((uintptr_t)c & 63) == 0 && ldc % 16 == 0;
}

// The epilogue of a C tile of `rows` rows of nv vectors (acc: the accumulators, rows ld
// vectors apart): C = alpha * acc, + beta * C unless beta == 0 (C then not read), each
// element one multiply and one fused multiply-add, columns from n on left untouched.
static inline __attribute__((always_inline)) void
zy__gemm_store_tile(float *c, int ldc, const __m512 *acc, int ld, int rows, int nv, int n,
                    float alpha, float beta, bool stream) {
    __m512 va = _mm512_set1_ps(alpha);
    // Non-temporal when asked (zy__gemm_hints) and every store is a whole aligned line.
    if (n == 16 * nv && zy__gemm_lines_stream(c, ldc, beta, stream)) {
#pragma GCC unroll 32
        for (int i = 0; i < rows; i++) {
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++)
                _mm512_stream_ps(c + (size_t)i * ldc + 16 * v,
                                 _mm512_mul_ps(va, acc[i * ld + v]));
        }
        return;
    }
    __mmask16 mask[4];
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) mask[v] = zy__mask16(n - 16 * v);
    __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 32
    for (int i = 0; i < rows; i++) {
        float *ci = c + (size_t)i * ldc;
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            __m512 r = _mm512_mul_ps(va, acc[i * ld + v]);
            if (beta != 0.0f)
                r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mask[v], ci + 16 * v), r);
            _mm512_mask_storeu_ps(ci + 16 * v, mask[v], r);
        }
    }
}

#endif
