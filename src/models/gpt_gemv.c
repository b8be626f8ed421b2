// GEMV for one-token decoding (see gpt_gemv.h): the scalar reference and the dispatch
// that splits rows over threads. The AVX-512 kernel is gpt_gemv_avx512.c.
#include <stddef.h>

#include "core/internal.h"
#include "models/gpt_gemv.h"

// Rows per parallel chunk: 64 rows of a 768-wide matrix is 192 KiB, enough to amortise
// the scheduling and small enough to balance 2..16 threads on the (50257, 768) head.
#define GEMV_ROWS 64
#define GEMV_PAR_MIN (1 << 16) // N*K below which one thread is faster

void zy__gpt_gemv_rows_scalar(float *y, const float *W, const float *x, const float *b,
                              int r0, int r1, int K) {
    for (int r = r0; r < r1; r++) {
        const float *w = W + (size_t)r * K;
        float s = 0.0f;
        for (int k = 0; k < K; k++) s += w[k] * x[k];
        y[r] = b ? s + b[r] : s;
    }
}

void zy__gpt_gemv(float *y, const float *W, const float *x, const float *b, int N, int K) {
    void (*rows)(float *, const float *, const float *, const float *, int, int, int) =
        zy_simd_level() >= ZY_SIMD_AVX512 ? zy__gpt_gemv_rows_avx512
                                          : zy__gpt_gemv_rows_scalar;
    int chunks = (N + GEMV_ROWS - 1) / GEMV_ROWS;
    int par = !zy__in_parallel() && chunks > 1 && (long long)N * K >= GEMV_PAR_MIN;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (int c = 0; c < chunks; c++)
        rows(y, W, x, b, c * GEMV_ROWS, ZY_MIN(N, (c + 1) * GEMV_ROWS), K);
}
