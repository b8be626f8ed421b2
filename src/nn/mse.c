// Mean-squared error, mean((pred - target)²), and its gradient: the loss for regression
// heads and toy models. The sum is in double over a fixed split into chunks (chunk sums
// added in order), so the value is bit-identical at any thread count.
#include "core/internal.h"
#include "zhuyi/nn.h"

#define MSE_CHUNKS 64
#define MSE_PARALLEL_MIN 65536

float zy_mse_forward(const float *pred, const float *target, size_t n) {
    if (n == 0) return 0.0f;
    // Small inputs are one chunk; the split depends on n only, never on threads.
    size_t nchunks = n < MSE_PARALLEL_MIN ? 1 : MSE_CHUNKS;
    double part[MSE_CHUNKS];
    int par = nchunks > 1 && !zy__in_parallel();
    (void)par;
#pragma omp parallel for schedule(static) if (par)
    for (size_t c = 0; c < nchunks; c++) {
        size_t i0 = c * n / nchunks, i1 = (c + 1) * n / nchunks;
        double acc = 0;
        for (size_t i = i0; i < i1; i++) {
            double d = (double)pred[i] - target[i];
            acc += d * d;
        }
        part[c] = acc;
    }
    double total = 0;
    for (size_t c = 0; c < nchunks; c++) total += part[c];
    return (float)(total / (double)n);
}

void zy_mse_backward(float *dpred, const float *pred, const float *target, size_t n,
                     float dloss) {
    if (!dpred || n == 0) return;
    float scale = 2.0f * dloss / (float)n;
    int par = n >= MSE_PARALLEL_MIN && !zy__in_parallel();
    (void)par;
#pragma omp parallel for schedule(static) if (par)
    for (size_t i = 0; i < n; i++) dpred[i] += scale * (pred[i] - target[i]);
}
