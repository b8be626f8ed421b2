// Token + position embedding lookup (GPT-2 style wte/wpe) forward and backward.
// Forward is the one place token ids enter the model, so it validates them all before
// writing anything; backward trusts them. Not a general gather/scatter.
#include "zhuyi/nn.h"

#include "core/internal.h"

// Columns per backward block. A block is owned by one thread, which visits every (b, t)
// in order: repeated tokens accumulate in a fixed order with no races, so dwte is
// bit-identical at any thread count. 64 floats = one 256-byte run per row touched.
// (Repeated ids add into dwte one by one, so backward twice is 2x only up to rounding;
// exact would need scratch to pre-sum by id, and nothing here allocates.)
#define EMB_COL_BLOCK 64
#define EMB_PAR_MIN (1 << 15)

// tokens (B, T) in [0, V), wte (V, C), wpe (maxT >= T, C) or NULL -> out (B, T, C)
zy_status zy_embedding_forward(float *out, const int *tokens, const float *wte,
                               const float *wpe, int B, int T, int C, int V) {
    // Check every id first so a bad batch leaves out untouched.
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int id = tokens[(size_t)b * T + t];
            if (id < 0 || id >= V)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                                 "embedding: token id %d at (b=%d, t=%d) is outside [0, %d)",
                                 id, b, t, V);
        }
    int rows = B * T;
    int par = (long long)rows * C >= EMB_PAR_MIN && !zy__in_parallel();
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (int r = 0; r < rows; r++) {
        float *o = out + (size_t)r * C;
        const float *e = wte + (size_t)tokens[r] * C;
        if (wpe) {
            const float *p = wpe + (size_t)(r % T) * C;
            for (int c = 0; c < C; c++) o[c] = e[c] + p[c];
        } else {
            for (int c = 0; c < C; c++) o[c] = e[c];
        }
    }
    return ZY_STATUS_OK;
}

// dout (B, T, C), tokens (B, T) -> dwte (V, C) += scatter by token,
// dwpe (maxT, C) += Σ_b dout[b, t]
void zy_embedding_backward(float *dwte, float *dwpe, const float *dout, const int *tokens,
                           int B, int T, int C) {
    int rows = B * T;
    int nblocks = (C + EMB_COL_BLOCK - 1) / EMB_COL_BLOCK;
    int par = (long long)rows * C >= EMB_PAR_MIN && !zy__in_parallel();
    (void)par;
    if (dwte) {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par && nblocks > 1)
#endif
        for (int blk = 0; blk < nblocks; blk++) {
            int c0 = blk * EMB_COL_BLOCK, nc = ZY_MIN(EMB_COL_BLOCK, C - c0);
            for (int r = 0; r < rows; r++) {
                const float *d = dout + (size_t)r * C + c0;
                float *g = dwte + (size_t)tokens[r] * C + c0;
                for (int c = 0; c < nc; c++) g[c] += d[c];
            }
        }
    }
    if (dwpe) {
        // Each (position, column block) is owned by one iteration, summed over b in order
        // in double and added once: deterministic, and exactly additive across calls.
        int items = T * nblocks;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par && items > 1)
#endif
        for (int it = 0; it < items; it++) {
            int t = it / nblocks, c0 = (it % nblocks) * EMB_COL_BLOCK;
            int nc = ZY_MIN(EMB_COL_BLOCK, C - c0);
            double acc[EMB_COL_BLOCK] = {0};
            for (int b = 0; b < B; b++) {
                const float *d = dout + ((size_t)b * T + t) * C + c0;
                for (int c = 0; c < nc; c++) acc[c] += d[c];
            }
            float *g = dwpe + (size_t)t * C + c0;
            for (int c = 0; c < nc; c++) g[c] += (float)acc[c];
        }
    }
}
