// The training loop over any model and data source: micro-batches with gradient
// accumulation, the gradient hook, global-norm clipping, AdamW over the trainable
// tensors, an LR schedule, and evaluation. Not here: the state file (trainer_state.c),
// the data (src/data/), anything printed (the CLI draws progress from zy_step_info).
//
// A step is a pure function of (parameters, moments, step number, data position, params):
// dropout seeds come from (seed, step, micro-step) and the batch from the data source, so
// saving those few things is enough to continue bit-exactly.
#include <math.h>
#include <string.h>

#include "core/internal.h"
#include "train/trainer_internal.h"

zy_trainer_params zy_trainer_default_params(void) {
    zy_trainer_params p = {
        .batch = 8,
        .seq = 128,
        .grad_accum = 1,
        .steps = 1000,
        .schedule = ZY_SCHEDULE_COSINE,
        .lr = 6e-4f,
        .min_lr = 6e-5f,
        .warmup = 100,
        .weight_decay = 0.1f,
        .beta1 = 0.9f,
        .beta2 = 0.95f,
        .eps = 1e-8f,
        .grad_clip = 1.0f,
        .dropout = 0.0f,
        .shuffle = true,
        .seed = 1337,
        .eval_batches = 20,
    };
    return p;
}

static zy_status check_params(const zy_trainer_params *p, const zy_model_info *info) {
    if (p->batch <= 0 || p->seq <= 0 || p->grad_accum <= 0 || p->steps < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: batch %d, seq %d, grad_accum "
                         "%d must be positive and steps %ld not negative", p->batch, p->seq,
                         p->grad_accum, p->steps);
    if (p->seq > info->max_positions)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: seq %d is longer than the "
                         "model's n_positions %d", p->seq, info->max_positions);
    if (p->grad_accum > 65535)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: grad_accum %d above 65535",
                         p->grad_accum);
    const char *nonneg = "a finite number >= 0", *unit = "in [0, 1)";
    const struct {
        const char *name, *range;
        float v;
        bool ok;
    } f[] = {
        {"lr", nonneg, p->lr, p->lr >= 0 && isfinite(p->lr)},
        {"min_lr", nonneg, p->min_lr, p->min_lr >= 0 && isfinite(p->min_lr)},
        {"weight_decay", nonneg, p->weight_decay,
         p->weight_decay >= 0 && isfinite(p->weight_decay)},
        {"grad_clip", nonneg, p->grad_clip, p->grad_clip >= 0 && isfinite(p->grad_clip)},
        {"beta1", unit, p->beta1, p->beta1 >= 0 && p->beta1 < 1},
        {"beta2", unit, p->beta2, p->beta2 >= 0 && p->beta2 < 1},
        {"eps", "a finite number > 0", p->eps, p->eps > 0 && isfinite(p->eps)},
        {"label_smoothing", unit, p->label_smoothing,
         p->label_smoothing >= 0 && p->label_smoothing < 1},
        {"precision", "ZY_PRECISION_FP32 or ZY_PRECISION_BF16", (float)p->precision,
         p->precision == ZY_PRECISION_FP32 || p->precision == ZY_PRECISION_BF16},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!f[i].ok)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: %s = %g is not %s",
                             f[i].name, (double)f[i].v, f[i].range);
    int kind = (int)p->schedule;
    if (kind < (int)ZY_SCHEDULE_CONSTANT || kind > (int)ZY_SCHEDULE_INVERSE_SQRT)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: schedule %d is not a "
                         "zy_schedule_kind", kind);
    if (p->warmup < 0 || p->eval_batches < 0 || p->skip_nonfinite < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: warmup %ld, eval_batches %d "
                         "and skip_nonfinite %d must not be negative", p->warmup,
                         p->eval_batches, p->skip_nonfinite);
    // A contradiction: the decay from lr to min_lr would raise the rate (CONSTANT, NOAM and
    // INVERSE_SQRT do not read min_lr). warmup > steps is not one: a resumed run may be cut short
    // inside its warmup (zhuyi pretrain --resume --steps N), its rate still on the ramp.
    bool decays = p->schedule == ZY_SCHEDULE_COSINE || p->schedule == ZY_SCHEDULE_LINEAR;
    if (decays && p->min_lr > p->lr)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: min_lr = %g is above lr = %g: "
                         "the decay from lr down to min_lr would raise the learning rate "
                         "(min_lr must be at most lr)", (double)p->min_lr, (double)p->lr);
    return ZY_STATUS_OK;
}

// The trainable tensors as ranges (param offset, gradient offset, count, decay); adjacent
// tensors with the same decay merge (12 GPT-2 blocks give ~100 ranges, not 150).
static zy_status build_ranges(zy_trainer *t) {
    const zy_tensor_table *tab = zy_model_tensors(t->m);
    int nt = zy_tensor_table_count(tab);
    t->ranges = zy_alloc((size_t)nt * sizeof *t->ranges);
    if (!t->ranges) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "trainer: out of memory");
    size_t goff = 0;
    for (int i = 0; i < nt; i++) {
        if (!zy_model_is_trainable(t->m, i)) continue;
        const zy_tensor *x = zy_tensor_table_at(tab, i);
        float wd = x->decay ? t->p.weight_decay : 0.0f;
        zy_param_range *last = t->n_ranges ? &t->ranges[t->n_ranges - 1] : NULL;
        if (last && last->weight_decay == wd && last->offset + last->count == x->offset &&
            last->state_offset + last->count == goff) {
            last->count += x->count;
        } else {
            t->ranges[t->n_ranges++] = (zy_param_range){x->offset, goff, x->count, wd};
        }
        goff += x->count;
    }
    return ZY_STATUS_OK;
}

zy_status zy_trainer_create(zy_trainer **out, zy_model *model, zy_data_source *train,
                            zy_data_source *val, const zy_trainer_params *p) {
    if (!out || !model || !train || !p)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: missing model, data or params");
    *out = NULL;
    const zy_model_info *info = zy_model_get_info(model);
    zy_status s = check_params(p, info);
    if (s) return s;
    const zy_batch_dims *d = &zy_data_source_get_info(train)->dims;
    // Rows may be shorter than seq (fine-tuning batches are padded to their longest row).
    if (d->batch != p->batch || d->seq > p->seq)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: the training data yields %d x "
                         "%d batches, the trainer expects batch %d x seq %d (or shorter "
                         "rows)", d->batch, d->seq, p->batch, p->seq);
    if (val && zy_data_source_get_info(val)->dims.seq > info->max_positions)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: validation sequences of %d are "
                         "longer than the model's n_positions %d",
                         zy_data_source_get_info(val)->dims.seq, info->max_positions);
    if (zy_model_trainable_floats(model) == 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: every tensor of the model is "
                         "frozen: nothing to train");

    zy_trainer *t = zy_calloc(1, sizeof *t);
    if (!t) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "trainer: out of memory");
    t->m = model;
    t->p = *p;
    t->train = train;
    t->val = val;
    zy_session_params sp = zy_session_default_params();
    sp.batch = p->batch;
    sp.seq = p->seq;
    sp.seq_dec = d->seq_dec;
    // Token-count batches (both sources bounded): the larger bound, so evaluations fit.
    sp.tokens = d->tokens;
    if (val && sp.tokens) {
        const zy_batch_dims *dv = &zy_data_source_get_info(val)->dims;
        sp.tokens = dv->tokens ? ZY_MAX(sp.tokens, dv->tokens) : 0;
    }
    sp.label_smoothing = p->label_smoothing;
    sp.training = true;
    sp.loss_only = true; // the trainer reads losses, metrics and gradients, no outputs
    if ((s = zy_session_create(&t->s, model, &sp)) || (s = zy_batch_init(&t->batch, d)) ||
        (s = build_ranges(t)))
        goto fail;
    zy_session_grads(t->s, &t->n_grads);
    t->mom_m = zy_calloc(t->n_grads, sizeof(float));
    t->mom_v = zy_calloc(t->n_grads, sizeof(float));
    if (!t->mom_m || !t->mom_v) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "trainer: out of memory for the optimizer "
                      "state (%zu parameters)", t->n_grads);
        goto fail;
    }
    *out = t;
    return ZY_STATUS_OK;
fail:
    zy_trainer_free(t);
    return s;
}

void zy_trainer_free(zy_trainer *t) {
    if (!t) return;
    zy_session_free(t->s);
    zy_batch_destroy(&t->batch);
    zy_free(t->mom_m);
    zy_free(t->mom_v);
    zy_free(t->ranges);
    zy_free(t);
}

const zy_trainer_params *zy_trainer_get_params(const zy_trainer *t) { return &t->p; }
zy_session *zy_trainer_session(zy_trainer *t) { return t->s; }
long zy_trainer_step_count(const zy_trainer *t) { return t->step; }
void zy_trainer_set_total_steps(zy_trainer *t, long steps) { t->p.steps = steps; }

void zy_trainer_set_grad_hook(zy_trainer *t, zy_grad_hook fn, void *user) {
    t->hook = fn;
    t->hook_user = user;
}

float zy__trainer_lr(const zy_trainer *t, long step) {
    zy_schedule sch = {.kind = t->p.schedule, .lr = t->p.lr, .min_lr = t->p.min_lr,
                       .warmup = t->p.warmup, .total = t->p.steps,
                       .d_model = zy_model_get_info(t->m)->d_model};
    return zy_schedule_lr(&sch, step);
}

// Forward + backward of the step's micro-batches, micro-batch k's mean loss weighted by
// its count c_k: the gradient array receives Σ c_k ∇L_k / ref, *sums = {Σ c_k L_k, Σ c_k}.
// ref = c_0 for one process (so one micro-batch's gradient is its own, with no rescaling);
// with a hook, 1 (sums whose addition over processes means something). *metrics = the
// model's metrics over the micro-batches.
static zy_status accumulate(zy_trainer *t, double sums[2], double *ref,
                            zy_metric_set *metrics) {
    const zy_trainer_params *p = &t->p;
    zy_status s = ZY_STATUS_OK;
    sums[0] = sums[1] = 0;
    *ref = 1;
    memset(metrics, 0, sizeof *metrics);
    zy_session_zero_grads(t->s);
    for (int k = 0; k < p->grad_accum && !s; k++) {
        if ((s = zy_data_source_next(t->train, &t->batch))) break;
        uint64_t counter = (uint64_t)t->step * 65536u + (uint64_t)k;
        zy_session_set_mode(t->s, true, zy_hash64(p->seed, counter));
        if (k > 0) zy_session_weights_unchanged(t->s); // (the update comes after the last)
        float loss;
        double c;
        if ((s = zy_session_forward(t->s, &t->batch, &loss, &c))) break;
        zy_metric_set m; // read before backward, which may overwrite what they came from
        zy_session_metrics(t->s, &m);
        zy_metric_set_merge(metrics, &m);
        if (k == 0 && !t->hook && c > 0) *ref = c;
        if ((s = zy_session_backward(t->s, (float)(c / *ref)))) break;
        sums[0] += (double)loss * c;
        sums[1] += c;
    }
    zy_session_set_mode(t->s, false, 0);
    return s;
}

zy_status zy_trainer_step(zy_trainer *t, zy_step_info *info) {
    const zy_trainer_params *p = &t->p;
    size_t n;
    float *params = zy_model_params(t->m, NULL);
    float *grads = zy_session_grads(t->s, &n);
    double sums[2], ref;
    zy_metric_set metrics;
    zy_precision prev = zy_gemm_precision_set(p->precision);
    zy_status s = accumulate(t, sums, &ref, &metrics);
    zy_gemm_precision_set(prev);
    if (!s && t->hook) s = t->hook(grads, n, sums, 2, t->hook_user);
    if (s) return s;
    // No targets at all (e.g. no masked token in any MLM batch): loss 0, no gradient.
    float loss = sums[1] > 0 ? (float)(sums[0] / sums[1]) : 0.0f;
    float scale = sums[1] > 0 ? (float)(ref / sums[1]) : 0.0f;
    float lr = zy__trainer_lr(t, t->step);
    float norm = isfinite(loss) ? zy_grad_scale_clip_norm(grads, n, scale, p->grad_clip) : loss;
    if (!isfinite(norm)) {
        const char *what = isfinite(loss) ? "the gradient norm" : "the training loss";
        if (t->n_skipped >= p->skip_nonfinite)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "step %ld: %s is %g: the run "
                             "diverged (try a lower --lr or --grad-clip%s); the weights are "
                             "those of step %ld", t->step + 1, what, (double)norm,
                             p->skip_nonfinite ? ", or a larger --skip-nonfinite" : "",
                             t->step);
        t->step++;
        t->n_skipped++;
        if (info) *info = (zy_step_info){.step = t->step, .loss = loss, .lr = lr,
                                         .grad_norm = norm, .skipped = true,
                                         .n_skipped = t->n_skipped, .metrics = metrics};
        return ZY_STATUS_OK;
    }
    zy_adamw_params ap = {.beta1 = p->beta1, .beta2 = p->beta2, .eps = p->eps,
                          .weight_decay = p->weight_decay};
    t->step++;
    zy_adamw_step_ranges(&ap, lr, t->step, params, grads, t->mom_m, t->mom_v, t->ranges,
                         t->n_ranges);
    if (info) *info = (zy_step_info){.step = t->step, .loss = loss, .lr = lr,
                                     .grad_norm = norm, .n_skipped = t->n_skipped,
                                     .metrics = metrics};
    return ZY_STATUS_OK;
}

zy_status zy_trainer_evaluate(zy_trainer *t, float *val_loss) {
    return zy_trainer_evaluate_metrics(t, val_loss, NULL);
}

zy_status zy_trainer_evaluate_metrics(zy_trainer *t, float *val_loss, zy_metric_set *metrics) {
    if (!t->val)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: no validation data");
    zy_status s = zy_data_source_seek(t->val, (zy_data_pos){0, 0});
    if (s) return s;
    zy_eval_params ep = {.max_batches = t->p.eval_batches, .metrics = metrics};
    double mean;
    zy_precision prev = zy_gemm_precision_set(t->p.precision);
    s = zy_evaluate(t->s, t->val, &ep, &mean, NULL);
    zy_gemm_precision_set(prev);
    if (s) return s;
    *val_loss = (float)mean;
    return ZY_STATUS_OK;
}
