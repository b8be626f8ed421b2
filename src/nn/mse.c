// Mean-squared error, mean((pred - target)²), and its gradient: the loss for regression
// heads and toy models. The sum is in double over a fixed split into chunks (chunk sums
// added in order), so the value is bit-identical at any thread count.
#include "core/internal.h"
#include "core/pool.h"
#include "zhuyi/nn.h"

#define MSE_CHUNKS 64
#define MSE_PARALLEL_MIN 65536

#define MSE_CHUNK 16384 // backward: elements per chunk

typedef struct mse_job {
    const float *pred, *target;
    float *dpred;
    size_t n, nchunks;
    float scale;
    double *part;
} mse_job;

// Items are the fixed chunks c = [c*n/nchunks, (c+1)*n/nchunks).
static void forward_chunks(void *ctx, size_t c0, size_t c1, int thread) {
    (void)thread;
    const mse_job *j = ctx;
    for (size_t c = c0; c < c1; c++) {
        size_t i0 = c * j->n / j->nchunks, i1 = (c + 1) * j->n / j->nchunks;
        double acc = 0;
        for (size_t i = i0; i < i1; i++) {
            double d = (double)j->pred[i] - j->target[i];
            acc += d * d;
        }
        j->part[c] = acc;
    }
}

float zy_mse_forward(const float *pred, const float *target, size_t n) {
    if (n == 0) return 0.0f;
    // Small inputs are one chunk; the split depends on n only, never on threads.
    double part[MSE_CHUNKS];
    mse_job j = {.pred = pred, .target = target, .n = n, .part = part};
    j.nchunks = n < MSE_PARALLEL_MIN ? 1 : MSE_CHUNKS;
    zy__parallel(j.nchunks, 1, 0, forward_chunks, &j);
    double total = 0;
    for (size_t c = 0; c < j.nchunks; c++) total += part[c];
    return (float)(total / (double)n);
}

static void backward_range(void *ctx, size_t lo, size_t hi, int thread) {
    (void)thread;
    const mse_job *j = ctx;
    for (size_t i = lo; i < hi; i++) j->dpred[i] += j->scale * (j->pred[i] - j->target[i]);
}

void zy_mse_backward(float *dpred, const float *pred, const float *target, size_t n,
                     float dloss) {
    if (!dpred || n == 0) return;
    mse_job j = {.pred = pred, .target = target, .dpred = dpred, .n = n};
    j.scale = 2.0f * dloss / (float)n;
    if (n < MSE_PARALLEL_MIN) backward_range(&j, 0, n, 0);
    else zy__parallel(n, MSE_CHUNK, 0, backward_range, &j);
}
