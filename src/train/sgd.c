// SGD with momentum (Polyak or Nesterov), one flat loop per parameter group.
//
// Follows torch.optim.SGD 1.13 (the default single-tensor path) operation by operation:
//   d = g + wd * param                       (L2 decay, added to the gradient)
//   buf = d                 on the first step (t == 1)
//   buf = mu * buf + (1 - dampening) * d     after
//   d = nesterov ? d + mu * buf : buf;  param -= lr * d
// With momentum == 0 the buffer is neither read nor written (it may be NULL).
#include "core/internal.h"
#include "zhuyi/optim.h"

#ifdef _OPENMP
#include <omp.h>
#endif

// Below this many floats a group runs on one thread (a team costs more than the loop).
#define SGD_PARALLEL_MIN 32768

zy_sgd_params zy_sgd_default_params(void) {
    zy_sgd_params p = {.momentum = 0.0f, .dampening = 0.0f, .weight_decay = 0.0f,
                       .nesterov = false};
    return p;
}

// params, grads, buf (n): one contiguous range; buf unused when momentum is 0. Every
// element is independent, so the result is the same for any thread count.
static void sgd_range(const zy_sgd_params *p, float lr, float wd, bool first,
                      float *restrict params, const float *restrict grads,
                      float *restrict buf, size_t n) {
    const float mu = p->momentum, neg_lr = -lr;
    // torch applies Python's (1 - dampening) in double, rounded to float once.
    const float one_minus_damp = (float)(1.0 - (double)p->dampening);
    const bool nesterov = p->nesterov, use_buf = mu != 0.0f;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(zy_threads_get())                   \
    if (n >= SGD_PARALLEL_MIN && !zy__in_parallel())
#endif
    for (size_t i = 0; i < n; i++) {
        float d = grads[i];
        if (wd != 0.0f) d = d + wd * params[i];
        if (use_buf) {
            float b = first ? d : buf[i] * mu + one_minus_damp * d;
            buf[i] = b;
            d = nesterov ? d + mu * b : b;
        }
        params[i] = params[i] + neg_lr * d;
    }
}

void zy_sgd_step(const zy_sgd_params *p, float lr, long t, float *params, const float *grads,
                 float *buf, size_t n, const zy_param_group *groups, int ngroups) {
    ZY_ASSERT(p != NULL && t >= 1);
    ZY_ASSERT(n == 0 || (params && grads && (buf || p->momentum == 0.0f)));
    ZY_ASSERT(ngroups >= 0 && (groups != NULL || ngroups == 0));
    bool first = t == 1;

    if (!groups) {
        sgd_range(p, lr, p->weight_decay, first, params, grads, buf, n);
        return;
    }
    // Floats outside every group are left untouched (frozen). Groups must not overlap.
    for (int k = 0; k < ngroups; k++) {
        const zy_param_group *g = &groups[k];
        ZY_ASSERT(g->offset <= n && g->count <= n - g->offset);
        sgd_range(p, lr, g->weight_decay, first, params + g->offset, grads + g->offset,
                  buf ? buf + g->offset : NULL, g->count);
    }
}
