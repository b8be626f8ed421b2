// Learning-rate schedules: a pure function of the 0-based step, so a resumed run needs
// only the step counter. Values are computed in double and rounded once.
//
// Each equals a PyTorch construction (checked by tests/ref_optim.py + tests/test_optim.c,
// reading optimizer.param_groups[0]['lr'] before the step's update, scheduler.step() after):
//   warmup (all but NOAM), for step < warmup: lr * (step + 1) / warmup, i.e.
//     W = LinearLR(opt, start_factor=1/warmup, end_factor=1, total_iters=warmup-1)
//   CONSTANT  W alone (plain lr when warmup is 0).
//   COSINE    SequentialLR([W, CosineAnnealingLR(T_max=total-warmup, eta_min=min_lr),
//             ConstantLR(factor=min_lr/lr, total_iters=huge)], milestones=[warmup, total]):
//             cosine from lr at step `warmup` to min_lr at `total`, min_lr after.
//   LINEAR    SequentialLR([W, LinearLR(start_factor=1, end_factor=min_lr/lr,
//             total_iters=total-warmup)], milestones=[warmup]).
//   NOAM      LambdaLR(opt, lambda e: d_model**-0.5 * min((e+1)**-0.5,
//             (e+1) * warmup**-1.5)) with base lr = the factor (Vaswani et al. 2017).
//   INVERSE_SQRT  LambdaLR(opt, lambda e: min((e+1) / w, (w / (e+1))**0.5)), w =
//             max(warmup, 1), base lr = the peak: NOAM's curve scaled to peak at lr (for
//             e < warmup it is W exactly).
// The warmup starts at lr/warmup rather than 0 so that no step is wasted at lr 0.
// Not here: restarts, per-group schedules, plateau detection.
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "zhuyi/optim.h"

static const double PI = 3.14159265358979323846;

float zy_schedule_lr(const zy_schedule *s, long step) {
    ZY_ASSERT(s != NULL);
    if (step < 0) step = 0;
    double lr = s->lr, min_lr = s->min_lr;

    if (s->kind == ZY_SCHEDULE_NOAM) {
        double t = (double)step + 1.0;
        // d_model <= 0 means "no model-size scaling"; warmup <= 0 means pure t^-0.5 decay.
        double scale = s->d_model > 0 ? 1.0 / sqrt((double)s->d_model) : 1.0;
        double f = 1.0 / sqrt(t);
        if (s->warmup > 0) f = fmin(f, t * pow((double)s->warmup, -1.5));
        return (float)(lr * scale * f);
    }
    if (step < s->warmup) return (float)(lr * ((double)step + 1.0) / (double)s->warmup);
    if (s->kind == ZY_SCHEDULE_INVERSE_SQRT) {
        double w = s->warmup > 0 ? (double)s->warmup : 1.0;
        return (float)(lr * sqrt(w / ((double)step + 1.0)));
    }

    switch (s->kind) {
    case ZY_SCHEDULE_COSINE:
    case ZY_SCHEDULE_LINEAR: {
        if (step >= s->total) return (float)min_lr;
        // warmup <= step < total here, so the span is at least 1.
        double r = (double)(step - s->warmup) / (double)(s->total - s->warmup);
        if (s->kind == ZY_SCHEDULE_COSINE)
            return (float)(min_lr + 0.5 * (1.0 + cos(PI * r)) * (lr - min_lr));
        return (float)(lr + (min_lr - lr) * r);
    }
    case ZY_SCHEDULE_CONSTANT:
    default:
        return (float)lr;
    }
}

float zy_schedule_noam_peak(float factor, int d_model, long warmup) {
    double d = d_model > 0 ? (double)d_model : 1.0, w = warmup > 0 ? (double)warmup : 1.0;
    return (float)((double)factor / sqrt(d * w));
}

static const struct {
    const char *name;
    zy_schedule_kind kind;
} KINDS[] = {
    {"constant", ZY_SCHEDULE_CONSTANT},
    {"cosine", ZY_SCHEDULE_COSINE},
    {"linear", ZY_SCHEDULE_LINEAR},
    {"noam", ZY_SCHEDULE_NOAM},
    {"inverse_sqrt", ZY_SCHEDULE_INVERSE_SQRT},
};

zy_status zy_schedule_kind_parse(const char *name, zy_schedule_kind *out) {
    if (!name || !out)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "schedule kind: %s is NULL",
                         name ? "out" : "name");
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++) {
        if (!strcmp(name, KINDS[i].name)) {
            *out = KINDS[i].kind;
            return ZY_STATUS_OK;
        }
    }
    return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                     "unknown learning-rate schedule '%s' (valid: constant, cosine, linear, "
                     "noam, inverse_sqrt)",
                     name);
}
