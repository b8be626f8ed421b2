// Binary cross-entropy on logits (PyTorch's BCEWithLogitsLoss, mean reduction): the loss
// of multi-label classification heads, each logit an independent yes/no. Computed in the
// stable form max(x, 0) - x·y + log1p(exp(-|x|)), which neither overflows for large |x|
// nor loses the small probabilities (a naive log(sigmoid(x)) gives -inf at x = -90).
// Sums are in double, in index order: the value does not depend on the thread count.
// Heads are small (B x num_labels), so nothing here is threaded.
#include <math.h>

#include "zhuyi/nn.h"

float zy_bce_logits_forward(const float *logits, const float *targets, size_t n) {
    if (n == 0) return 0.0f;
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        double x = logits[i], y = targets[i];
        acc += (x > 0 ? x : 0) - x * y + log1p(exp(-fabs(x)));
    }
    return (float)(acc / (double)n);
}

// sigmoid(x) without overflow: exp of a non-positive number only.
static double sigmoid(double x) {
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

void zy_bce_logits_backward(float *dlogits, const float *logits, const float *targets,
                            size_t n, float dloss) {
    if (!dlogits || n == 0) return;
    double scale = (double)dloss / (double)n;
    for (size_t i = 0; i < n; i++)
        dlogits[i] += (float)(scale * (sigmoid(logits[i]) - targets[i]));
}
