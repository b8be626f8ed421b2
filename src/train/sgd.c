// SGD with momentum (Polyak or Nesterov), one flat loop over the parameter groups (all in
// one parallel region).
//
// Follows torch.optim.SGD 1.13 (the default single-tensor path) operation by operation:
//   d = g + wd * param                       (L2 decay, added to the gradient)
//   buf = d                 on the first step (t == 1)
//   buf = mu * buf + (1 - dampening) * d     after
//   d = nesterov ? d + mu * buf : buf;  param -= lr * d
// With momentum == 0 the buffer is neither read nor written (it may be NULL).
#include "core/internal.h"
#include "train/groups.h"
#include "zhuyi/optim.h"

zy_sgd_params zy_sgd_default_params(void) {
    zy_sgd_params p = {.momentum = 0.0f, .dampening = 0.0f, .weight_decay = 0.0f,
                       .nesterov = false};
    return p;
}

typedef struct sgd_job {
    const zy_sgd_params *p;
    float lr;
    bool first;
    float *params, *buf;
    const float *grads;
} sgd_job;

// Floats [lo, hi) of group g; buf unused when momentum is 0. Every element is independent,
// so the result is the same for any thread count and any chunking.
static void sgd_range(void *ctx, const zy_param_range *g, size_t lo, size_t hi) {
    const sgd_job *j = ctx;
    const float mu = j->p->momentum, neg_lr = -j->lr, wd = g->weight_decay;
    // torch applies Python's (1 - dampening) in double, rounded to float once.
    const float one_minus_damp = (float)(1.0 - (double)j->p->dampening);
    const bool nesterov = j->p->nesterov, use_buf = mu != 0.0f, first = j->first;
    float *restrict params = j->params, *restrict buf = j->buf;
    const float *restrict grads = j->grads;
    for (size_t i = lo; i < hi; i++) {
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
    sgd_job j = {p, lr, t == 1, params, buf, grads};
    // Without groups, one group of everything with the default decay.
    zy_param_group all = {0, n, p->weight_decay};
    if (!groups) {
        groups = &all;
        ngroups = 1;
    }
    // Floats outside every group are left untouched (frozen). Groups must not overlap.
    for (int k = 0; k < ngroups; k++)
        ZY_ASSERT(groups[k].offset <= n && groups[k].count <= n - groups[k].offset);
    zy__for_each_group_chunk(groups, ngroups, sgd_range, &j);
}
