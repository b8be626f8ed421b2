// Layer normalisation over the last dimension, forward and backward (PyTorch F.layer_norm
// semantics: biased variance, eps inside the square root). Rows are independent, so they
// are split across threads; dweight/dbias are reduced per column block so the result does
// not depend on the thread count. Not RMSNorm, not a fused residual + norm.
#include <math.h>

#include "zhuyi/nn.h"

#include "core/internal.h"

#define LN_COL_BLOCK 64
#define LN_PAR_MIN (1 << 14)

// Σ x[0..n) with 8 independent partial sums: fixed order (deterministic) and shaped so the
// compiler can keep the partials in one vector register.
static float sum8(const float *x, int n) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += x[i + j];
    float s = 0.0f;
    for (; i < n; i++) s += x[i];
    for (int j = 0; j < 8; j++) s += acc[j];
    return s;
}

// Σ (x - m)² over x[0..n), same shape as sum8. Two passes (mean first) so a large common
// offset does not cancel catastrophically as E[x²] - E[x]² would.
static float sqdev8(const float *x, float m, int n) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            float d = x[i + j] - m;
            acc[j] += d * d;
        }
    float s = 0.0f;
    for (; i < n; i++) s += (x[i] - m) * (x[i] - m);
    for (int j = 0; j < 8; j++) s += acc[j];
    return s;
}

// inp (N, C), weight (C), bias (C) -> out (N, C); mean, rstd (N)
void zy_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, int N, int C, float eps) {
    int par = (long long)N * C >= LN_PAR_MIN && !zy__in_parallel();
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C;
        float *o = out + (size_t)n * C;
        float m = sum8(x, C) / (float)C;
        float var = sqdev8(x, m, C) / (float)C;
        float s = 1.0f / sqrtf(var + eps);
        for (int c = 0; c < C; c++) o[c] = (x[c] - m) * s * weight[c] + bias[c];
        mean[n] = m;
        rstd[n] = s;
    }
}

// With xhat = (x - mean) * rstd and g = dout * weight, the input gradient of one row is
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
static void ln_backward_rows(float *dinp, const float *dout, const float *inp,
                             const float *weight, const float *mean, const float *rstd, int N,
                             int C, int par) {
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (int n = 0; n < N; n++) {
        const float *x = inp + (size_t)n * C, *d = dout + (size_t)n * C;
        float *dx = dinp + (size_t)n * C;
        float m = mean[n], s = rstd[n];
        float g_sum = 0.0f, gx_sum = 0.0f;
        for (int c = 0; c < C; c++) {
            float g = d[c] * weight[c];
            g_sum += g;
            gx_sum += g * (x[c] - m) * s;
        }
        float g_mean = g_sum / (float)C, gx_mean = gx_sum / (float)C;
        for (int c = 0; c < C; c++) {
            float xhat = (x[c] - m) * s;
            dx[c] += s * (d[c] * weight[c] - g_mean - xhat * gx_mean);
        }
    }
}

// dweight (C) += Σ_n dout * xhat, dbias (C) += Σ_n dout. Each column block is owned by one
// thread and sums rows in order (in double), recomputing xhat instead of storing it.
static void ln_backward_params(float *dweight, float *dbias, const float *dout,
                               const float *inp, const float *mean, const float *rstd, int N,
                               int C, int par) {
    int nblocks = (C + LN_COL_BLOCK - 1) / LN_COL_BLOCK;
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (par && nblocks > 1)
#endif
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * LN_COL_BLOCK, nc = ZY_MIN(LN_COL_BLOCK, C - c0);
        double aw[LN_COL_BLOCK] = {0}, ab[LN_COL_BLOCK] = {0};
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C + c0, *d = dout + (size_t)n * C + c0;
            float m = mean[n], s = rstd[n];
            for (int c = 0; c < nc; c++) {
                aw[c] += (double)(d[c] * ((x[c] - m) * s));
                ab[c] += d[c];
            }
        }
        if (dweight)
            for (int c = 0; c < nc; c++) dweight[c0 + c] += (float)aw[c];
        if (dbias)
            for (int c = 0; c < nc; c++) dbias[c0 + c] += (float)ab[c];
    }
}

// dout (N, C), inp (N, C), weight (C), mean, rstd (N) from forward ->
// dinp (N, C) +=, dweight (C) +=, dbias (C) +=
void zy_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, const float *mean,
                           const float *rstd, int N, int C) {
    int par = (long long)N * C >= LN_PAR_MIN && !zy__in_parallel();
    if (dinp) ln_backward_rows(dinp, dout, inp, weight, mean, rstd, N, C, par);
    if (dweight || dbias) ln_backward_params(dweight, dbias, dout, inp, mean, rstd, N, C, par);
}
