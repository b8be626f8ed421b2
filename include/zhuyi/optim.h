// zhuyi optimizers, gradient clipping and learning-rate schedules. Parameters, gradients
// and moments are flat float buffers sharing one layout, so each update is one loop.
#ifndef ZHUYI_OPTIM_H
#define ZHUYI_OPTIM_H

#include <stdbool.h>
#include <stddef.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

// A contiguous range of the flat parameter buffer with its own weight decay, so that
// layernorm gains, biases and embeddings can be excluded from decay (weight_decay = 0).
typedef struct zy_param_group {
    size_t offset;      // first float of the range
    size_t count;       // number of floats
    float weight_decay; // decoupled (AdamW) or L2 (SGD) coefficient for this range
} zy_param_group;

// A range when gradients and optimizer state are stored compactly, only for trainable
// tensors (what zy_session_grads holds): params[offset .. offset + count) pair with
// grads, moments and buffers [state_offset .. state_offset + count).
typedef struct zy_param_range {
    size_t offset;       // first float of the range in the parameters
    size_t state_offset; // first float of the range in gradients and optimizer state
    size_t count;
    float weight_decay;
} zy_param_range;

// ---- AdamW (Loshchilov & Hutter), matching torch.optim.AdamW ---------------------------
typedef struct zy_adamw_params {
    float beta1;        // 0.9
    float beta2;        // 0.999
    float eps;          // 1e-8
    float weight_decay; // 0.01, used when groups is NULL
} zy_adamw_params;

zy_adamw_params zy_adamw_default_params(void);

// One step, t = 1 for the first (bias correction uses t). Over the groups, or over the
// whole buffer [0, n) with p->weight_decay when groups is NULL:
//   param -= lr * wd * param;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g²;
//   param -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
void zy_adamw_step(const zy_adamw_params *p, float lr, long t, float *params,
                   const float *grads, float *m, float *v, size_t n,
                   const zy_param_group *groups, int ngroups);
// The same step over ranges whose gradients and moments are stored compactly (frozen
// parameters have none): params[r.offset + i] uses grads/m/v[r.state_offset + i] and
// r.weight_decay. Ranges must not overlap in either space. The trainer's step.
void zy_adamw_step_ranges(const zy_adamw_params *p, float lr, long t, float *params,
                          const float *grads, float *m, float *v,
                          const zy_param_range *ranges, int nranges);

// ---- SGD with momentum, matching torch.optim.SGD ---------------------------------------
typedef struct zy_sgd_params {
    float momentum;     // 0 = plain SGD
    float dampening;    // 0
    float weight_decay; // L2, added to the gradient; used when groups is NULL
    bool nesterov;
} zy_sgd_params;

zy_sgd_params zy_sgd_default_params(void);

// One step (t = 1 for the first: the momentum buffer starts as the gradient).
// buf (n) is the momentum buffer (unused when momentum == 0).
void zy_sgd_step(const zy_sgd_params *p, float lr, long t, float *params, const float *grads,
                 float *buf, size_t n, const zy_param_group *groups, int ngroups);

// ---- gradient clipping -----------------------------------------------------------------
// Global L2 norm of grads (n) (accumulated in double). If it exceeds max_norm (> 0), scales
// grads by max_norm / (norm + 1e-6) as torch.nn.utils.clip_grad_norm_ does. Returns the
// norm before clipping.
float zy_grad_clip_norm(float *grads, size_t n, float max_norm);
// The same for the gradients scale * grads (what a sum over several batches divided by
// their count is): returns scale x the norm of grads, and rescales grads in one pass by
// scale x the clipping factor, none when that product is 1.
float zy_grad_scale_clip_norm(float *grads, size_t n, float scale, float max_norm);
float zy_grad_norm(const float *grads, size_t n);

// ---- learning-rate schedules -----------------------------------------------------------
typedef enum zy_schedule_kind {
    ZY_SCHEDULE_CONSTANT = 0, // lr (after optional linear warmup)
    ZY_SCHEDULE_COSINE = 1,   // linear warmup, then cosine decay from lr to min_lr at total
    ZY_SCHEDULE_LINEAR = 2,   // linear warmup, then linear decay from lr to min_lr at total
    ZY_SCHEDULE_NOAM = 3,     // lr * d_model^-0.5 * min(s^-0.5, s * warmup^-1.5), s = step+1
                              // (lr is the paper's "factor", not the peak)
    ZY_SCHEDULE_INVERSE_SQRT = 4, // the same curve with lr the peak: lr * min(s / warmup,
                              // sqrt(warmup / s)), s = step+1 (below)
} zy_schedule_kind;

typedef struct zy_schedule {
    zy_schedule_kind kind;
    float lr;     // peak learning rate (NOAM: the "factor"; INVERSE_SQRT: the peak)
    float min_lr; // floor reached at `total` (COSINE, LINEAR)
    long warmup;  // warmup steps
    long total;   // total steps (COSINE, LINEAR)
    int d_model;  // NOAM only
} zy_schedule;

// Learning rate for 0-based step (the value to use for the update of that step).
float zy_schedule_lr(const zy_schedule *s, long step);

// The inverse-square-root ("Noam") schedule of "Attention Is All You Need" (eq. 3),
//   lr(s) = d_model^-0.5 * min(s^-0.5, s * warmup^-1.5),  s = step + 1,
// rises linearly to its peak d_model^-0.5 * warmup^-0.5 at s = warmup and then decays as
// s^-0.5. INVERSE_SQRT takes that peak as lr, the way the other schedules do:
//   lr(s) = lr * s / warmup            for s <= warmup (the other schedules' warmup)
//         = lr * sqrt(warmup / s)      after,
// (warmup 0 is taken as 1: lr at step 0, then lr / sqrt(s)). The paper's exact rates are
// INVERSE_SQRT with lr = zy_schedule_noam_peak(1, d_model, warmup); NOAM with factor f is
// INVERSE_SQRT with lr = zy_schedule_noam_peak(f, d_model, warmup).
// Returns factor * (d_model * max(warmup, 1))^-0.5 (d_model <= 0 counts as 1).
float zy_schedule_noam_peak(float factor, int d_model, long warmup);

// Parses "constant", "cosine", "linear", "noam", "inverse_sqrt";
// ZY_STATUS_INVALID_ARGUMENT otherwise.
zy_status zy_schedule_kind_parse(const char *name, zy_schedule_kind *out);

#ifdef __cplusplus
}
#endif
#endif
