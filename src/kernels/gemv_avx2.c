// AVX2 rows of the decoding GEMV (gemv.h), one input or several; the scalar references are
// in gemv.c, the AVX-512 kernels in gemv_avx512.c. Four rows at a time share each load of
// x; 8 lanes per row with a masked tail. Every (row, input) sum is one 8-lane accumulator
// over k in order, reduced by zy__hsum256, in the one-input and the several-input kernel
// alike, so their bits agree. Called only when zy_simd_level() >= AVX2 (compiled with AVX2
// flags).
#include <immintrin.h>
#include <stddef.h>

#include "kernels/exp_avx2.h"
#include "kernels/gemv.h"

// Bytes ahead of the rows being read to prefetch (as the AVX-512 kernel).
#define PREFETCH 4096

static inline __m256 load(const float *p, int left) {
    return left >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, zy__tail8(left));
}

void zy__gemv_rows_avx2(float *y, const float *W, const float *x, const float *b, int r0,
                        int r1, int K) {
    int r = r0;
    for (; r + 4 <= r1; r += 4) {
        const float *w0 = W + (size_t)r * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (int k = 0; k < K; k += 8) {
            _mm_prefetch((const char *)(w0 + k) + PREFETCH, _MM_HINT_T0);
            _mm_prefetch((const char *)(w1 + k) + PREFETCH, _MM_HINT_T0);
            _mm_prefetch((const char *)(w2 + k) + PREFETCH, _MM_HINT_T0);
            _mm_prefetch((const char *)(w3 + k) + PREFETCH, _MM_HINT_T0);
            __m256 xv = load(x + k, K - k);
            s0 = _mm256_fmadd_ps(load(w0 + k, K - k), xv, s0);
            s1 = _mm256_fmadd_ps(load(w1 + k, K - k), xv, s1);
            s2 = _mm256_fmadd_ps(load(w2 + k, K - k), xv, s2);
            s3 = _mm256_fmadd_ps(load(w3 + k, K - k), xv, s3);
        }
        y[r] = zy__hsum256(s0) + (b ? b[r] : 0.0f);
        y[r + 1] = zy__hsum256(s1) + (b ? b[r + 1] : 0.0f);
        y[r + 2] = zy__hsum256(s2) + (b ? b[r + 2] : 0.0f);
        y[r + 3] = zy__hsum256(s3) + (b ? b[r + 3] : 0.0f);
    }
    for (; r < r1; r++) {
        const float *w = W + (size_t)r * K;
        __m256 s = _mm256_setzero_ps();
        for (int k = 0; k < K; k += 8) s = _mm256_fmadd_ps(load(w + k, K - k), load(x + k, K - k), s);
        y[r] = zy__hsum256(s) + (b ? b[r] : 0.0f);
    }
}

// Four weight rows against two inputs at a time: 8 accumulators + 4 rows + 2 inputs fit the
// 16 registers. The four rows (4K floats) stay in L1 while the pairs of inputs pass over.
void zy__gemv_multi_rows_avx2(float *Y, int ldy, const float *W, const float *X, int ldx,
                              const float *b, int M, int r0, int r1, int K) {
    int r = r0;
    for (; r + 4 <= r1; r += 4) {
        const float *w0 = W + (size_t)r * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
        int m = 0;
        for (; m + 2 <= M; m += 2) {
            const float *x0 = X + (size_t)m * ldx, *x1 = x0 + ldx;
            // sRC: weight row R, input C (named, not an array, so they stay in registers)
            __m256 s00 = _mm256_setzero_ps(), s01 = s00, s10 = s00, s11 = s00;
            __m256 s20 = s00, s21 = s00, s30 = s00, s31 = s00;
            for (int k = 0; k < K; k += 8) {
                const int left = K - k;
                __m256 v0 = load(x0 + k, left), v1 = load(x1 + k, left);
                __m256 a0 = load(w0 + k, left), a1 = load(w1 + k, left);
                s00 = _mm256_fmadd_ps(a0, v0, s00), s01 = _mm256_fmadd_ps(a0, v1, s01);
                s10 = _mm256_fmadd_ps(a1, v0, s10), s11 = _mm256_fmadd_ps(a1, v1, s11);
                __m256 a2 = load(w2 + k, left), a3 = load(w3 + k, left);
                s20 = _mm256_fmadd_ps(a2, v0, s20), s21 = _mm256_fmadd_ps(a2, v1, s21);
                s30 = _mm256_fmadd_ps(a3, v0, s30), s31 = _mm256_fmadd_ps(a3, v1, s31);
            }
            const float b0 = b ? b[r] : 0.0f, b1 = b ? b[r + 1] : 0.0f;
            const float b2 = b ? b[r + 2] : 0.0f, b3 = b ? b[r + 3] : 0.0f;
            float *y0 = Y + (size_t)m * ldy + r, *y1 = y0 + ldy;
            y0[0] = zy__hsum256(s00) + b0, y0[1] = zy__hsum256(s10) + b1;
            y0[2] = zy__hsum256(s20) + b2, y0[3] = zy__hsum256(s30) + b3;
            y1[0] = zy__hsum256(s01) + b0, y1[1] = zy__hsum256(s11) + b1;
            y1[2] = zy__hsum256(s21) + b2, y1[3] = zy__hsum256(s31) + b3;
        }
        if (m < M) // the last input: the one-input kernel on these four rows
            zy__gemv_rows_avx2(Y + (size_t)m * ldy, W, X + (size_t)m * ldx, b, r, r + 4, K);
    }
    for (int m = 0; r < r1 && m < M; m++)
        zy__gemv_rows_avx2(Y + (size_t)m * ldy, W, X + (size_t)m * ldx, b, r, r1, K);
}
