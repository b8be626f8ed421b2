// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"), one flat loop over
// the parameter groups (all in one parallel region) of buffers that share the parameters'
// layout.
//
// The arithmetic follows torch.optim.AdamW 1.13 (the default single-tensor path) operation
// by operation, so the two agree to float rounding (a few ulps):
//   param *= 1 - lr*wd;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g;
//   denom = sqrt(v) / sqrt(1 - b2^t) + eps;  param += (-lr / (1 - b1^t)) * m / denom
// Scalars are formed in double (as Python does) and rounded to float once, as torch does
// when it applies a Python scalar to a float tensor. Not here: AMSGrad, maximize.
#include <math.h>

#include "core/internal.h"
#include "train/groups.h"
#include "zhuyi/optim.h"

zy_adamw_params zy_adamw_default_params(void) {
    zy_adamw_params p = {.beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f};
    return p;
}

// The per-step constants, shared by every group (only the decay factor differs).
typedef struct adamw_consts {
    float b1, one_minus_b1;
    float b2, one_minus_b2;
    float bc2_sqrt;  // sqrt(1 - b2^t)
    float neg_step;  // -lr / (1 - b1^t)
    float eps;
} adamw_consts;

typedef struct adamw_job {
    adamw_consts c;
    float lr;
    float *params, *m, *v;
    const float *grads;
} adamw_job;

// Floats [lo, hi) of range g. Every element is independent, so the result is the same for
// any thread count and any chunking.
static void adamw_range(void *ctx, const zy_param_range *g, size_t lo, size_t hi) {
    const adamw_job *j = ctx;
    const adamw_consts *c = &j->c;
    const float decay = (float)(1.0 - (double)j->lr * g->weight_decay);
    const float b1 = c->b1, omb1 = c->one_minus_b1, b2 = c->b2, omb2 = c->one_minus_b2;
    const float bc2_sqrt = c->bc2_sqrt, neg_step = c->neg_step, eps = c->eps;
    float *restrict params = j->params + lo;
    float *restrict m = j->m + g->state_offset + (lo - g->offset);
    float *restrict v = j->v + g->state_offset + (lo - g->offset);
    const float *restrict grads = j->grads + g->state_offset + (lo - g->offset);
    for (size_t i = 0; i < hi - lo; i++) {
        float gi = grads[i];
        float p = params[i] * decay;
        float mi = m[i] * b1 + omb1 * gi;
        float vi = v[i] * b2 + omb2 * gi * gi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        params[i] = p + neg_step * mi / denom;
        m[i] = mi;
        v[i] = vi;
    }
}

static adamw_job make_job(const zy_adamw_params *p, float lr, long t, float *params,
                          const float *grads, float *m, float *v) {
    ZY_ASSERT(p != NULL && t >= 1);
    double b1 = p->beta1, b2 = p->beta2;
    adamw_consts c = {
        .b1 = p->beta1,
        .one_minus_b1 = (float)(1.0 - b1),
        .b2 = p->beta2,
        .one_minus_b2 = (float)(1.0 - b2),
        .bc2_sqrt = (float)sqrt(1.0 - pow(b2, (double)t)),
        .neg_step = (float)(-(double)lr / (1.0 - pow(b1, (double)t))),
        .eps = p->eps,
    };
    return (adamw_job){c, lr, params, m, v, grads};
}

void zy_adamw_step(const zy_adamw_params *p, float lr, long t, float *params,
                   const float *grads, float *m, float *v, size_t n,
                   const zy_param_group *groups, int ngroups) {
    ZY_ASSERT(n == 0 || (params && grads && m && v));
    ZY_ASSERT(ngroups >= 0 && (groups != NULL || ngroups == 0));
    adamw_job j = make_job(p, lr, t, params, grads, m, v);
    // Without groups, one group of everything with the default decay.
    zy_param_group all = {0, n, p->weight_decay};
    if (!groups) {
        groups = &all;
        ngroups = 1;
    }
    // Floats outside every group are left untouched (frozen). Groups must not overlap.
    for (int k = 0; k < ngroups; k++)
        ZY_ASSERT(groups[k].offset <= n && groups[k].count <= n - groups[k].offset);
    zy__for_each_group_chunk(groups, ngroups, adamw_range, &j);
}

void zy_adamw_step_ranges(const zy_adamw_params *p, float lr, long t, float *params,
                          const float *grads, float *m, float *v,
                          const zy_param_range *ranges, int nranges) {
    ZY_ASSERT(nranges >= 0 && (ranges != NULL || nranges == 0));
    adamw_job j = make_job(p, lr, t, params, grads, m, v);
    zy__for_each_range_chunk(ranges, nranges, adamw_range, &j);
}
