// AVX-512 rows of the decoding GEMV (gemv.h); the scalar reference is in gemv.c.
// Four rows at a time share each load of x; 16 lanes per row with a masked tail. Called
// only when zy_simd_level() is AVX512 (this file is compiled with AVX-512 flags).
#include <immintrin.h>
#include <stddef.h>

#include "kernels/gemv.h"

void zy__gemv_rows_avx512(float *y, const float *W, const float *x, const float *b,
                              int r0, int r1, int K) {
    int r = r0;
    for (; r + 4 <= r1; r += 4) {
        const float *w0 = W + (size_t)r * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (int k = 0; k < K; k += 16) {
            __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
            __m512 xv = _mm512_maskz_loadu_ps(m, x + k);
            s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w0 + k), xv, s0);
            s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w1 + k), xv, s1);
            s2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w2 + k), xv, s2);
            s3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w3 + k), xv, s3);
        }
        y[r] = _mm512_reduce_add_ps(s0) + (b ? b[r] : 0.0f);
        y[r + 1] = _mm512_reduce_add_ps(s1) + (b ? b[r + 1] : 0.0f);
        y[r + 2] = _mm512_reduce_add_ps(s2) + (b ? b[r + 2] : 0.0f);
        y[r + 3] = _mm512_reduce_add_ps(s3) + (b ? b[r + 3] : 0.0f);
    }
    for (; r < r1; r++) {
        const float *w = W + (size_t)r * K;
        __m512 s = _mm512_setzero_ps();
        for (int k = 0; k < K; k += 16) {
            __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
            s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w + k), _mm512_maskz_loadu_ps(m, x + k), s);
        }
        y[r] = _mm512_reduce_add_ps(s) + (b ? b[r] : 0.0f);
    }
}
