// GEMV for one-token decoding (see gemv.h): the scalar references and the dispatch that
// splits rows over threads, for one input vector and for several (decoding several
// sequences in one step). The vector kernels are gemv_avx2.c and gemv_avx512.c.
#include <stddef.h>

#include "core/internal.h"
#include "core/pool.h"
#include "kernels/gemv.h"

// Rows per parallel chunk: 64 rows of a 768-wide matrix is 192 KiB, enough to amortise
// the scheduling and small enough to balance 2..16 threads on the (50257, 768) head.
#define GEMV_ROWS 64
#define GEMV_PAR_MIN (1 << 16) // N*K below which one thread is faster

typedef void (*rows_fn)(float *, const float *, const float *, const float *, int, int, int);

void zy__gemv_rows_scalar(float *y, const float *W, const float *x, const float *b, int r0,
                          int r1, int K) {
    for (int r = r0; r < r1; r++) {
        const float *w = W + (size_t)r * K;
        float s = 0.0f;
        for (int k = 0; k < K; k++) s += w[k] * x[k];
        y[r] = b ? s + b[r] : s;
    }
}

typedef struct gemv_job {
    rows_fn rows;
    float *y;
    const float *W, *x, *b;
    int K;
} gemv_job;

static void gemv_range(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const gemv_job *j = ctx;
    j->rows(j->y, j->W, j->x, j->b, (int)r0, (int)r1, j->K);
}

void zy__gemv(float *y, const float *W, const float *x, const float *b, int N, int K) {
    rows_fn rows = zy_simd_level() >= ZY_SIMD_AVX512 ? zy__gemv_rows_avx512
                   : zy_simd_level() >= ZY_SIMD_AVX2 ? zy__gemv_rows_avx2
                                                     : zy__gemv_rows_scalar;
    if ((long long)N * K < GEMV_PAR_MIN) {
        rows(y, W, x, b, 0, N, K);
        return;
    }
    gemv_job j = {rows, y, W, x, b, K};
    zy__parallel((size_t)N, GEMV_ROWS, 0, gemv_range, &j);
}

// ---- several inputs ----------------------------------------------------------------------
void zy__gemv_multi_rows_scalar(float *Y, int ldy, const float *W, const float *X, int ldx,
                                const float *b, int M, int r0, int r1, int K) {
    for (int m = 0; m < M; m++)
        zy__gemv_rows_scalar(Y + (size_t)m * ldy, W, X + (size_t)m * ldx, b, r0, r1, K);
}

typedef void (*multi_fn)(float *, int, const float *, const float *, int, const float *, int,
                         int, int, int);

typedef struct multi_job {
    multi_fn rows;
    float *Y;
    const float *W, *X, *b;
    int ldy, ldx, M, K;
} multi_job;

static void multi_range(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const multi_job *j = ctx;
    j->rows(j->Y, j->ldy, j->W, j->X, j->ldx, j->b, j->M, (int)r0, (int)r1, j->K);
}

void zy__gemv_multi(float *Y, int ldy, const float *W, const float *X, int ldx, const float *b,
                    int M, int N, int K) {
    if (M == 1) {
        zy__gemv(Y, W, X, b, N, K);
        return;
    }
    multi_fn rows = zy_simd_level() >= ZY_SIMD_AVX512 ? zy__gemv_multi_rows_avx512
                    : zy_simd_level() >= ZY_SIMD_AVX2 ? zy__gemv_multi_rows_avx2
                                                      : zy__gemv_multi_rows_scalar;
    if ((long long)N * K < GEMV_PAR_MIN) {
        rows(Y, ldy, W, X, ldx, b, M, 0, N, K);
        return;
    }
    multi_job j = {rows, Y, W, X, b, ldy, ldx, M, K};
    zy__parallel((size_t)N, GEMV_ROWS, 0, multi_range, &j);
}
