// AVX-512 rows of the decoding GEMV (gemv.h), one input or several; the scalar references
// are in gemv.c. Four rows at a time share each load of x; 16 lanes per row with a masked
// tail. Called only when zy_simd_level() is AVX512 (compiled with AVX-512 flags).
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

// Four weight rows against four inputs: 16 accumulators, each (row, input) summed over k
// exactly as zy__gemv_rows_avx512 sums one row (same lanes, same order), so the bits agree.
// The four rows (4K floats) come from memory once and stay in L1 while every group of
// inputs passes over them.
static inline __mmask16 kmask(int left) {
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
}

void zy__gemv_multi_rows_avx512(float *Y, int ldy, const float *W, const float *X, int ldx,
                                const float *b, int M, int r0, int r1, int K) {
    int r = r0;
    for (; r + 4 <= r1; r += 4) {
        const float *w0 = W + (size_t)r * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
        int m = 0;
        for (; m + 4 <= M; m += 4) {
            const float *x0 = X + (size_t)m * ldx, *x1 = x0 + ldx, *x2 = x1 + ldx, *x3 = x2 + ldx;
            __m512 s[4][4];
            for (int i = 0; i < 4; i++)
                for (int c = 0; c < 4; c++) s[i][c] = _mm512_setzero_ps();
            for (int k = 0; k < K; k += 16) {
                __mmask16 mk = kmask(K - k);
                __m512 a0 = _mm512_maskz_loadu_ps(mk, w0 + k), a1 = _mm512_maskz_loadu_ps(mk, w1 + k);
                __m512 a2 = _mm512_maskz_loadu_ps(mk, w2 + k), a3 = _mm512_maskz_loadu_ps(mk, w3 + k);
                __m512 xv[4] = {_mm512_maskz_loadu_ps(mk, x0 + k), _mm512_maskz_loadu_ps(mk, x1 + k),
                                _mm512_maskz_loadu_ps(mk, x2 + k), _mm512_maskz_loadu_ps(mk, x3 + k)};
                for (int c = 0; c < 4; c++) {
                    s[0][c] = _mm512_fmadd_ps(a0, xv[c], s[0][c]);
                    s[1][c] = _mm512_fmadd_ps(a1, xv[c], s[1][c]);
                    s[2][c] = _mm512_fmadd_ps(a2, xv[c], s[2][c]);
                    s[3][c] = _mm512_fmadd_ps(a3, xv[c], s[3][c]);
                }
            }
            for (int c = 0; c < 4; c++)
                for (int i = 0; i < 4; i++)
                    Y[(size_t)(m + c) * ldy + r + i] =
                        _mm512_reduce_add_ps(s[i][c]) + (b ? b[r + i] : 0.0f);
        }
        for (; m < M; m++) // the last inputs: the one-input kernel on these four rows
            zy__gemv_rows_avx512(Y + (size_t)m * ldy, W, X + (size_t)m * ldx, b, r, r + 4, K);
    }
    for (int m = 0; r < r1 && m < M; m++)
        zy__gemv_rows_avx512(Y + (size_t)m * ldy, W, X + (size_t)m * ldx, b, r, r1, K);
}
