// Layer normalisation over the last dimension, forward and backward (PyTorch F.layer_norm
// semantics: biased variance, eps inside the square root). Rows are independent, so they
// are split across the pool's threads; dweight/dbias are summed by fixed groups of rows
// (or, without scratch for the groups' sums, per column block) so the result does not
// depend on the thread count. Not RMSNorm, not a fused residual + norm.
#include <math.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "core/pool.h"
#include "nn/layernorm.h"

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

// Rows per chunk: about LN_CHUNK_ELEMS elements, whatever C (rows are independent, so
// the split never changes a result).
#define LN_CHUNK_ELEMS 16384

static size_t rows_per_chunk(int C) {
    return (size_t)ZY_MAX(1, LN_CHUNK_ELEMS / ZY_MAX(C, 1));
}

typedef struct ln_job {
    float *out, *mean, *rstd;      // forward outputs
    float *dinp, *dweight, *dbias; // backward outputs
    const float *inp, *dout, *weight, *bias;
    const float *cmean, *crstd; // backward: forward's statistics
    int N, C;
    float eps;
    bool assign;       // backward: dinp = (zy__layernorm_backward_assign), not +=
    size_t row_chunks; // backward: items [0, row_chunks) are row chunks, then column blocks
} ln_job;

// One row x -> o, its mean and rstd (the AVX-512 twin, layernorm_avx512.c, gives its bits).
static void ln_forward_row(const float *x, const float *w, const float *b, int C, float eps,
                           float *o, float *mean, float *rstd) {
    float m = sum8(x, C) / (float)C;
    float var = sqdev8(x, m, C) / (float)C;
    float s = 1.0f / sqrtf(var + eps);
    for (int c = 0; c < C; c++) o[c] = (x[c] - m) * s * w[c] + b[c];
    *mean = m;
    *rstd = s;
}

static void ln_forward_rows(void *ctx, size_t n0, size_t n1, int thread) {
    (void)thread;
    const ln_job *j = ctx;
    const int C = j->C;
    bool vec = zy_simd_level() >= ZY_SIMD_AVX512;
    for (size_t n = n0; n < n1; n++)
        (vec ? zy__ln_forward_row_avx512 : ln_forward_row)(j->inp + n * C, j->weight, j->bias,
                                                            C, j->eps, j->out + n * C,
                                                            j->mean + n, j->rstd + n);
}

// inp (N, C), weight (C), bias (C) -> out (N, C); mean, rstd (N)
void zy_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, int N, int C, float eps) {
    if (N <= 0) return;
    ln_job j = {.out = out, .mean = mean, .rstd = rstd, .inp = inp, .weight = weight,
                .bias = bias, .N = N, .C = C, .eps = eps};
    if ((long long)N * C < LN_PAR_MIN) ln_forward_rows(&j, 0, (size_t)N, 0);
    else zy__parallel((size_t)N, rows_per_chunk(C), 0, ln_forward_rows, &j);
}

// With xhat = (x - mean) * rstd and g = dout * weight, the input gradient of one row is
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
// and the parameters' gradients sum dout * xhat (dweight) and dout (dbias) over the rows.
// One row (x, d: its input and output gradient; m, s: its mean and rstd): the parameter
// terms added into pw and pb (C doubles each) when pw, then dx = (assign) or += the input
// gradient when dx. Its two row sums run in LN_LANES partial sums, element c in lane
// c % LN_LANES, the lanes then added in order: the AVX-512 twin's order
// (layernorm_avx512.c), so both give the same bits. (A single running sum each was a chain
// of dependent adds as long as the row; with the twin, 4,096 x 512 on 2 threads of the AMX
// machine: 2.0-2.5 -> 1.0-1.15 ms.)
#define LN_LANES 16
static void ln_backward_row(const float *x, const float *d, const float *w, float m, float s,
                            int C, double *pw, double *pb, float *dx, bool assign) {
    if (pw)
        for (int c = 0; c < C; c++) {
            pw[c] += (double)(d[c] * ((x[c] - m) * s));
            pb[c] += d[c];
        }
    if (!dx) return;
    float ag[LN_LANES] = {0}, agx[LN_LANES] = {0};
    for (int c = 0; c < C; c++) {
        float g = d[c] * w[c];
        ag[c % LN_LANES] += g;
        agx[c % LN_LANES] += g * ((x[c] - m) * s);
    }
    float g_sum = 0.0f, gx_sum = 0.0f;
    for (int k = 0; k < LN_LANES; k++) g_sum += ag[k], gx_sum += agx[k];
    float g_mean = g_sum / (float)C, gx_mean = gx_sum / (float)C;
    for (int c = 0; c < C; c++) {
        float xhat = (x[c] - m) * s;
        float g = s * (d[c] * w[c] - g_mean - xhat * gx_mean);
        dx[c] = assign ? g : dx[c] + g;
    }
}

// Rows [n0, n1): dx += (= with assign; when dinp), and the parameter terms (when pw)
// summed in double into pw and pb (C each), added to what they hold.
static void ln_backward_rows(const ln_job *j, size_t n0, size_t n1, double *pw, double *pb) {
    const int C = j->C;
    bool vec = zy_simd_level() >= ZY_SIMD_AVX512;
    for (size_t n = n0; n < n1; n++) {
        const float *x = j->inp + n * C, *d = j->dout + n * C;
        float *dx = j->dinp ? j->dinp + n * C : NULL;
        if (vec)
            zy__ln_backward_row_avx512(x, d, j->weight, j->cmean[n], j->crstd[n], C, pw, pb,
                                       dx, j->assign);
        else
            ln_backward_row(x, d, j->weight, j->cmean[n], j->crstd[n], C, pw, pb, dx,
                            j->assign);
    }
}

// Column block blk: dweight += Σ_n dout * xhat, dbias += Σ_n dout. Each block is owned by
// one chunk and sums rows in order (in double), recomputing xhat instead of storing it.
// (The parameters' pass when there is no scratch for ln_backward_group's sums.)
static void ln_backward_params(const ln_job *j, int blk) {
    const int C = j->C, c0 = blk * LN_COL_BLOCK, nc = ZY_MIN(LN_COL_BLOCK, C - c0);
    double aw[LN_COL_BLOCK] = {0}, ab[LN_COL_BLOCK] = {0};
    for (int n = 0; n < j->N; n++) {
        const float *x = j->inp + (size_t)n * C + c0, *d = j->dout + (size_t)n * C + c0;
        float m = j->cmean[n], s = j->crstd[n];
        if (n + ZY_ROW_AHEAD < j->N) {
            zy__prefetch_floats(x + (size_t)ZY_ROW_AHEAD * C, nc);
            zy__prefetch_floats(d + (size_t)ZY_ROW_AHEAD * C, nc);
        }
        for (int c = 0; c < nc; c++) {
            aw[c] += (double)(d[c] * ((x[c] - m) * s));
            ab[c] += d[c];
        }
    }
    if (j->dweight)
        for (int c = 0; c < nc; c++) j->dweight[c0 + c] += (float)aw[c];
    if (j->dbias)
        for (int c = 0; c < nc; c++) j->dbias[c0 + c] += (float)ab[c];
}

// One parallel region for both halves of backward (they write different buffers): items
// [0, row_chunks) are chunks of rows for dinp, the rest are column blocks for the params.
static void ln_backward_item(void *ctx, size_t i0, size_t i1, int thread) {
    (void)thread;
    const ln_job *j = ctx;
    size_t grain = rows_per_chunk(j->C), N = (size_t)j->N;
    for (size_t i = i0; i < i1; i++) {
        if (i < j->row_chunks)
            ln_backward_rows(j, i * grain, ZY_MIN(N, (i + 1) * grain), NULL, NULL);
        else ln_backward_params(j, (int)(i - j->row_chunks));
    }
}

// With the parameters' gradients wanted, one pass over the rows does both: the rows'
// parameter terms are summed by fixed groups of rows (zy__parallel_row_sums: dweight's C
// sums, then dbias's C), the same sums whatever the thread count, and x and dout are read
// once instead of twice.
static void ln_backward_group(void *ctx, size_t n0, size_t n1, double *acc) {
    const ln_job *j = ctx;
    ln_backward_rows(j, n0, n1, acc, acc + j->C);
}

// dout (N, C), inp (N, C), weight (C), mean, rstd (N) from forward ->
// dinp (N, C) += (= with assign), dweight (C) +=, dbias (C) +=
static void backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, const float *mean,
                     const float *rstd, int N, int C, bool assign) {
    if (N <= 0 || C <= 0) return;
    ln_job j = {.dinp = dinp, .dweight = dweight, .dbias = dbias, .inp = inp, .dout = dout,
                .weight = weight, .cmean = mean, .crstd = rstd, .N = N, .C = C,
                .assign = assign};
    int par = (long long)N * C >= LN_PAR_MIN;
    double *sums = par && (dweight || dbias) ? zy_alloc(2 * (size_t)C * sizeof *sums) : NULL;
    if (sums && zy__parallel_row_sums((size_t)N, 2 * (size_t)C, 0, ln_backward_group, &j, sums)) {
        for (int c = 0; c < C; c++) {
            if (dweight) dweight[c] += (float)sums[c];
            if (dbias) dbias[c] += (float)sums[C + c];
        }
        zy_free(sums);
        return;
    }
    zy_free(sums);
    size_t grain = rows_per_chunk(C);
    j.row_chunks = dinp ? ((size_t)N + grain - 1) / grain : 0;
    size_t blocks = dweight || dbias ? (size_t)(C + LN_COL_BLOCK - 1) / LN_COL_BLOCK : 0;
    zy__parallel(j.row_chunks + blocks, 1, par ? 0 : 1, ln_backward_item, &j);
}

void zy_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, const float *mean,
                           const float *rstd, int N, int C) {
    backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C, false);
}

void zy__layernorm_backward_assign(float *dinp, float *dweight, float *dbias,
                                   const float *dout, const float *inp, const float *weight,
                                   const float *mean, const float *rstd, int N, int C) {
    backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C, true);
}
