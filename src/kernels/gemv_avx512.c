// AVX-512 rows of the decoding GEMV (gemv.h), one input or several; the scalar references
// are in gemv.c. Four rows at a time share each load of x; 16 lanes per row with a masked
// tail. Called only when zy_simd_level() is AVX512 (compiled with AVX-512 flags).
#include <immintrin.h>
#include <stddef.h>

#include "kernels/gemv.h"

// Bytes ahead of the rows being read to prefetch (as the typed kernels, wgemv.h).
#define PREFETCH 4096

void zy__gemv_rows_avx512(float *y, const float *W, const float *x, const float *b,
                              int r0, int r1, int K) {
    int r = r0;
    for (; r + 4 <= r1; r += 4) {
        const float *w0 = W + (size_t)r * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (int k = 0; k < K; k += 16) {
            __mmask16 m = K - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (K - k)) - 1);
            _mm_prefetch((const char *)(w0 + k) + PREFETCH, _MM_HINT_T0);
            _mm_prefetch((const char *)(w1 + k) + PREFETCH, _MM_HINT_T0);
            _mm_prefetch((const char *)(w2 + k) + PREFETCH, _MM_HINT_T0);
            _mm_prefetch((const char *)(w3 + k) + PREFETCH, _MM_HINT_T0);
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
            // sRC: weight row R, input C (named, not an array: GCC keeps an array of
            // vectors in memory and stores it back every iteration)
            __m512 s00 = _mm512_setzero_ps(), s01 = s00, s02 = s00, s03 = s00;
            __m512 s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            __m512 s20 = s00, s21 = s00, s22 = s00, s23 = s00;
            __m512 s30 = s00, s31 = s00, s32 = s00, s33 = s00;
            for (int k = 0; k < K; k += 16) {
                __mmask16 mk = kmask(K - k);
                __m512 a0 = _mm512_maskz_loadu_ps(mk, w0 + k), a1 = _mm512_maskz_loadu_ps(mk, w1 + k);
                __m512 a2 = _mm512_maskz_loadu_ps(mk, w2 + k), a3 = _mm512_maskz_loadu_ps(mk, w3 + k);
                __m512 v0 = _mm512_maskz_loadu_ps(mk, x0 + k), v1 = _mm512_maskz_loadu_ps(mk, x1 + k);
                __m512 v2 = _mm512_maskz_loadu_ps(mk, x2 + k), v3 = _mm512_maskz_loadu_ps(mk, x3 + k);
                s00 = _mm512_fmadd_ps(a0, v0, s00), s01 = _mm512_fmadd_ps(a0, v1, s01);
                s02 = _mm512_fmadd_ps(a0, v2, s02), s03 = _mm512_fmadd_ps(a0, v3, s03);
                s10 = _mm512_fmadd_ps(a1, v0, s10), s11 = _mm512_fmadd_ps(a1, v1, s11);
                s12 = _mm512_fmadd_ps(a1, v2, s12), s13 = _mm512_fmadd_ps(a1, v3, s13);
                s20 = _mm512_fmadd_ps(a2, v0, s20), s21 = _mm512_fmadd_ps(a2, v1, s21);
                s22 = _mm512_fmadd_ps(a2, v2, s22), s23 = _mm512_fmadd_ps(a2, v3, s23);
                s30 = _mm512_fmadd_ps(a3, v0, s30), s31 = _mm512_fmadd_ps(a3, v1, s31);
                s32 = _mm512_fmadd_ps(a3, v2, s32), s33 = _mm512_fmadd_ps(a3, v3, s33);
            }
            const float b0 = b ? b[r] : 0.0f, b1 = b ? b[r + 1] : 0.0f;
            const float b2 = b ? b[r + 2] : 0.0f, b3 = b ? b[r + 3] : 0.0f;
            float *y0 = Y + (size_t)m * ldy + r, *y1 = y0 + ldy, *y2 = y1 + ldy, *y3 = y2 + ldy;
            y0[0] = _mm512_reduce_add_ps(s00) + b0, y0[1] = _mm512_reduce_add_ps(s10) + b1;
            y0[2] = _mm512_reduce_add_ps(s20) + b2, y0[3] = _mm512_reduce_add_ps(s30) + b3;
            y1[0] = _mm512_reduce_add_ps(s01) + b0, y1[1] = _mm512_reduce_add_ps(s11) + b1;
            y1[2] = _mm512_reduce_add_ps(s21) + b2, y1[3] = _mm512_reduce_add_ps(s31) + b3;
            y2[0] = _mm512_reduce_add_ps(s02) + b0, y2[1] = _mm512_reduce_add_ps(s12) + b1;
            y2[2] = _mm512_reduce_add_ps(s22) + b2, y2[3] = _mm512_reduce_add_ps(s32) + b3;
            y3[0] = _mm512_reduce_add_ps(s03) + b0, y3[1] = _mm512_reduce_add_ps(s13) + b1;
            y3[2] = _mm512_reduce_add_ps(s23) + b2, y3[3] = _mm512_reduce_add_ps(s33) + b3;
        }
        for (; m + 2 <= M; m += 2) { // two inputs left: 4 x 2 accumulators
            const float *x0 = X + (size_t)m * ldx, *x1 = x0 + ldx;
            __m512 s00 = _mm512_setzero_ps(), s01 = s00, s10 = s00, s11 = s00;
            __m512 s20 = s00, s21 = s00, s30 = s00, s31 = s00;
            for (int k = 0; k < K; k += 16) {
                __mmask16 mk = kmask(K - k);
                __m512 v0 = _mm512_maskz_loadu_ps(mk, x0 + k), v1 = _mm512_maskz_loadu_ps(mk, x1 + k);
                __m512 a0 = _mm512_maskz_loadu_ps(mk, w0 + k), a1 = _mm512_maskz_loadu_ps(mk, w1 + k);
                s00 = _mm512_fmadd_ps(a0, v0, s00), s01 = _mm512_fmadd_ps(a0, v1, s01);
                s10 = _mm512_fmadd_ps(a1, v0, s10), s11 = _mm512_fmadd_ps(a1, v1, s11);
                __m512 a2 = _mm512_maskz_loadu_ps(mk, w2 + k), a3 = _mm512_maskz_loadu_ps(mk, w3 + k);
                s20 = _mm512_fmadd_ps(a2, v0, s20), s21 = _mm512_fmadd_ps(a2, v1, s21);
                s30 = _mm512_fmadd_ps(a3, v0, s30), s31 = _mm512_fmadd_ps(a3, v1, s31);
            }
            const float b0 = b ? b[r] : 0.0f, b1 = b ? b[r + 1] : 0.0f;
            const float b2 = b ? b[r + 2] : 0.0f, b3 = b ? b[r + 3] : 0.0f;
            float *y0 = Y + (size_t)m * ldy + r, *y1 = y0 + ldy;
            y0[0] = _mm512_reduce_add_ps(s00) + b0, y0[1] = _mm512_reduce_add_ps(s10) + b1;
            y0[2] = _mm512_reduce_add_ps(s20) + b2, y0[3] = _mm512_reduce_add_ps(s30) + b3;
            y1[0] = _mm512_reduce_add_ps(s01) + b0, y1[1] = _mm512_reduce_add_ps(s11) + b1;
            y1[2] = _mm512_reduce_add_ps(s21) + b2, y1[3] = _mm512_reduce_add_ps(s31) + b3;
        }
        if (m < M) // the last input: the one-input kernel on these four rows
            zy__gemv_rows_avx512(Y + (size_t)m * ldy, W, X + (size_t)m * ldx, b, r, r + 4, K);
    }
    for (int m = 0; r < r1 && m < M; m++)
        zy__gemv_rows_avx512(Y + (size_t)m * ldy, W, X + (size_t)m * ldx, b, r, r1, K);
}
