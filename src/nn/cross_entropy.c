// Cross-entropy over logits fused with log-softmax (the language-model loss), with
// PyTorch nn.CrossEntropyLoss semantics: mean over non-ignored rows, ignore_index, label
// smoothing. Built for (B·T, 50257) logits: forward reads each row twice (max, then
// Σ exp and Σ x together), backward once, and nothing of size V is ever stored besides
// dlogits. Not a general NLL over given log-probabilities.
//
// Per row r with target t:  lse = max + log Σ_v e^(x_v - max)
//   loss_r = (1-ε)(lse - x_t) + ε(lse - Σ_v x_v / V)
//   ∂loss_r/∂x_v = p_v - (1-ε)[v = t] - ε/V,   p_v = e^(x_v - lse)
#include <math.h>

#include "core/internal.h"
#include "core/pool.h"
#include "nn/exp_rows.h"
#include "zhuyi/nn.h"

// The loss is summed in double over a fixed split of the rows into at most XENT_CHUNKS
// chunks (each summed in row order, then the chunk sums in chunk order), so the result is
// bit-identical at any thread count while the rows still spread over threads.
#define XENT_CHUNKS 64
#define XENT_PARALLEL_MIN 32768

// Scalar reference of zy__xent_row_stats_avx512/_avx2: x (V) -> max, Σ e^(x - max), Σ x.
static void xent_row_stats_scalar(const float *x, int V, float *max, double *sumexp,
                                  double *sumx) {
    float mx = -INFINITY;
    for (int v = 0; v < V; v++)
        if (x[v] > mx) mx = x[v];
    double se = 0, sx = 0;
    for (int v = 0; v < V; v++) {
        se += expf(x[v] - mx);
        sx += x[v];
    }
    *max = mx;
    *sumexp = se;
    *sumx = sx;
}

// Scalar reference of zy__xent_row_grad_avx512/_avx2: d (V) += scale * (e^(x - lse) - sub).
static void xent_row_grad_scalar(float *d, const float *x, int V, float lse, float scale,
                                 float sub) {
    for (int v = 0; v < V; v++) d[v] += scale * (expf(x[v] - lse) - sub);
}

typedef void (*xent_stats_fn)(const float *x, int V, float *max, double *sumexp, double *sumx);
typedef void (*xent_grad_fn)(float *d, const float *x, int V, float lse, float scale,
                             float sub);

// The row kernels for the SIMD level in force (chosen once per call, not per row).
static xent_stats_fn pick_stats(void) {
    switch (zy_simd_level()) {
    case ZY_SIMD_AVX512:
        return zy__xent_row_stats_avx512;
    case ZY_SIMD_AVX2:
        return zy__xent_row_stats_avx2;
    default:
        return xent_row_stats_scalar;
    }
}

static xent_grad_fn pick_grad(void) {
    switch (zy_simd_level()) {
    case ZY_SIMD_AVX512:
        return zy__xent_row_grad_avx512;
    case ZY_SIMD_AVX2:
        return zy__xent_row_grad_avx2;
    default:
        return xent_row_grad_scalar;
    }
}

static int count_rows(const int *targets, int N, int ignore_index) {
    int c = 0;
    for (int r = 0; r < N; r++) c += targets[r] != ignore_index;
    return c;
}

typedef struct xent_job {
    xent_stats_fn stats;
    xent_grad_fn grad;
    float *dlogits, *lse;
    const float *logits, *clse;
    const int *targets;
    double *part; // forward: one partial loss per chunk
    int N, V, ignore_index, nchunks;
    double eps;            // forward: label smoothing
    float scale, sub, hit; // backward
} xent_job;

// Forward items are the fixed chunks c of rows [c*N/nchunks, (c+1)*N/nchunks).
static void forward_chunks(void *ctx, size_t c0, size_t c1, int thread) {
    (void)thread;
    const xent_job *j = ctx;
    const int N = j->N, V = j->V, nchunks = j->nchunks;
    const double eps = j->eps;
    for (size_t c = c0; c < c1; c++) {
        int r0 = (int)((long)c * N / nchunks), r1 = (int)((long)(c + 1) * N / nchunks);
        double acc = 0;
        for (int r = r0; r < r1; r++) {
            const float *x = j->logits + (size_t)r * V;
            float mx;
            double se, sx;
            j->stats(x, V, &mx, &se, &sx);
            double l = mx + log(se);
            j->lse[r] = (float)l; // for every row, ignored ones too (handy for evaluation)
            int t = j->targets[r];
            if (t == j->ignore_index) continue;
            double nll = l - x[t];
            acc += eps == 0 ? nll : (1 - eps) * nll + eps * (l - sx / V);
        }
        j->part[c] = acc;
    }
}

static void backward_rows(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const xent_job *j = ctx;
    const int V = j->V;
    for (size_t r = r0; r < r1; r++) {
        int t = j->targets[r];
        if (t == j->ignore_index) continue;
        float *d = j->dlogits + r * V;
        j->grad(d, j->logits + r * V, V, j->clse[r], j->scale, j->sub);
        d[t] -= j->hit;
    }
}

zy_status zy_cross_entropy_forward(float *loss, int *count, float *lse, const float *logits,
                                   const int *targets, int N, int V, int ignore_index,
                                   float label_smoothing) {
    if (N < 0 || (N > 0 && V <= 0))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "cross_entropy: bad shape N=%d, V=%d", N,
                         V);
    if (!(label_smoothing >= 0.0f && label_smoothing <= 1.0f)) // as PyTorch: ε in [0, 1]
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "cross_entropy: label_smoothing %g is outside [0, 1]",
                         (double)label_smoothing);
    // Validate every target before any work, so the error names the first bad row.
    for (int r = 0; r < N; r++) {
        int t = targets[r];
        if (t != ignore_index && (t < 0 || t >= V))
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "cross_entropy: target %d at row %d is outside [0, %d) and is "
                             "not ignore_index (%d)",
                             t, r, V, ignore_index);
    }
    int n_valid = count_rows(targets, N, ignore_index);
    const double eps = label_smoothing;
    double part[XENT_CHUNKS];
    xent_job j = {.stats = pick_stats(), .logits = logits, .targets = targets, .lse = lse,
                  .part = part, .N = N, .V = V, .ignore_index = ignore_index, .eps = eps};
    j.nchunks = N < XENT_CHUNKS ? N : XENT_CHUNKS;
    int par = (long)N * V >= XENT_PARALLEL_MIN;
    zy__parallel((size_t)j.nchunks, 1, par ? 0 : 1, forward_chunks, &j);
    double total = 0;
    for (int c = 0; c < j.nchunks; c++) total += part[c];
    if (count) *count = n_valid;
    // With no rows to average PyTorch gives 0/0 = NaN; 0 keeps a padded batch harmless.
    *loss = n_valid ? (float)(total / n_valid) : 0.0f;
    return ZY_STATUS_OK;
}

void zy_cross_entropy_backward(float *dlogits, const float *logits, const float *lse,
                               const int *targets, int N, int V, int ignore_index,
                               float label_smoothing, float dloss) {
    if (!dlogits || N <= 0 || V <= 0) return;
    int n_valid = count_rows(targets, N, ignore_index);
    if (!n_valid) return;
    xent_job j = {.grad = pick_grad(), .dlogits = dlogits, .logits = logits,
                  .targets = targets, .clse = lse, .N = N, .V = V,
                  .ignore_index = ignore_index, .scale = dloss / (float)n_valid,
                  .sub = label_smoothing / (float)V};
    j.hit = j.scale * (1.0f - label_smoothing);
    // One row per chunk: a row of the LM head is 50257 exps, tens of microseconds.
    int par = (long)N * V >= XENT_PARALLEL_MIN;
    zy__parallel((size_t)N, 1, par ? 0 : 1, backward_rows, &j);
}
