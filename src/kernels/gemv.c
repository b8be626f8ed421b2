// GEMV for one-token decoding (see gemv.h): the scalar reference and the dispatch that
// splits rows over threads. The AVX-512 kernel is gemv_avx512.c.
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
                                                     : zy__gemv_rows_scalar;
    if ((long long)N * K < GEMV_PAR_MIN) {
        rows(y, W, x, b, 0, N, K);
        return;
    }
    gemv_job j = {rows, y, W, x, b, K};
    zy__parallel((size_t)N, GEMV_ROWS, 0, gemv_range, &j);
}
