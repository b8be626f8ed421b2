// Residual add: out = a + b, and its backward (the gradient passes to both branches).
// Memory-bound, so threads only help on large buffers. Not a fused add + layernorm.
#include "zhuyi/nn.h"

#include "core/internal.h"

// Elements per chunk; a parallel region pays off only past a few chunks.
#define RES_CHUNK 16384
#define RES_PAR_MIN (4 * RES_CHUNK)

// a, b (n) -> out (n) = a + b; out may alias a or b (elementwise, same index only).
void zy_residual_forward(float *out, const float *a, const float *b, size_t n) {
    long long nchunks = (long long)((n + RES_CHUNK - 1) / RES_CHUNK);
    int par = n >= RES_PAR_MIN && !zy__in_parallel();
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (long long k = 0; k < nchunks; k++) {
        size_t lo = (size_t)k * RES_CHUNK, hi = ZY_MIN(n, lo + RES_CHUNK);
        for (size_t i = lo; i < hi; i++) out[i] = a[i] + b[i];
    }
}

// dout (n) -> da (n) += dout, db (n) += dout; either may be NULL.
void zy_residual_backward(float *da, float *db, const float *dout, size_t n) {
    long long nchunks = (long long)((n + RES_CHUNK - 1) / RES_CHUNK);
    int par = n >= RES_PAR_MIN && !zy__in_parallel();
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (long long k = 0; k < nchunks; k++) {
        size_t lo = (size_t)k * RES_CHUNK, hi = ZY_MIN(n, lo + RES_CHUNK);
        if (da)
            for (size_t i = lo; i < hi; i++) da[i] += dout[i];
        if (db)
            for (size_t i = lo; i < hi; i++) db[i] += dout[i];
    }
}
