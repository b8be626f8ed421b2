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
    xent_stats_fn stats = pick_stats();
    int nchunks = N < XENT_CHUNKS ? N : XENT_CHUNKS;
    double part[XENT_CHUNKS];
    int par = (long)N * V >= XENT_PARALLEL_MIN && nchunks > 1 && !zy__in_parallel();
    (void)par;
#pragma omp parallel for schedule(dynamic, 1) if (par)
    for (int c = 0; c < nchunks; c++) {
        int r0 = (int)((long)c * N / nchunks), r1 = (int)((long)(c + 1) * N / nchunks);
        double acc = 0;
        for (int r = r0; r < r1; r++) {
            const float *x = logits + (size_t)r * V;
            float mx;
            double se, sx;
            stats(x, V, &mx, &se, &sx);
            double l = mx + log(se);
            lse[r] = (float)l; // for every row, ignored ones too (handy for evaluation)
            int t = targets[r];
            if (t == ignore_index) continue;
            double nll = l - x[t];
            acc += eps == 0 ? nll : (1 - eps) * nll + eps * (l - sx / V);
        }
        part[c] = acc;
    }
    double total = 0;
    for (int c = 0; c < nchunks; c++) total += part[c];
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
    float scale = dloss / (float)n_valid;
    float sub = label_smoothing / (float)V;
    float hit = scale * (1.0f - label_smoothing);
    xent_grad_fn grad = pick_grad();
    int par = (long)N * V >= XENT_PARALLEL_MIN && N > 1 && !zy__in_parallel();
    (void)par;
#pragma omp parallel for schedule(static) if (par)
    for (int r = 0; r < N; r++) {
        int t = targets[r];
        if (t == ignore_index) continue;
        const float *x = logits + (size_t)r * V;
        float *d = dlogits + (size_t)r * V;
        grad(d, x, V, lse[r], scale, sub);
        d[t] -= hit;
    }
}
