// The GPT pretraining loop: micro-batches with gradient accumulation, global-norm
// clipping, AdamW over the model's parameter groups, an LR schedule, and evaluation on
// held-out windows. Not here: the state file (trainer_state.c), data batching
// (src/io/dataset.c), anything printed (the CLI draws progress from zy_step_info).
//
// A step is a pure function of (parameters, moments, step number, data position, params):
// dropout seeds come from (seed, step, micro-step) and the batch from the batcher, so
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

static zy_status check_ids(const int32_t *ids, size_t n, int vocab, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= vocab)
            return zy__error(ZY_STATUS_SHAPE_MISMATCH, "%s token %zu has id %d, outside the "
                             "model's vocabulary 0..%d (tokenizer and model disagree)", what,
                             i, (int)ids[i], vocab - 1);
    return ZY_STATUS_OK;
}

static zy_status check_params(const zy_trainer_params *p, const zy_gpt_config *c) {
    if (p->batch <= 0 || p->seq <= 0 || p->grad_accum <= 0 || p->steps < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: batch %d, seq %d, grad_accum "
                         "%d must be positive and steps %ld not negative", p->batch, p->seq,
                         p->grad_accum, p->steps);
    if (p->seq > c->n_positions)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: seq %d is longer than the "
                         "model's n_positions %d", p->seq, c->n_positions);
    if (p->grad_accum > 65535)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: grad_accum %d above 65535",
                         p->grad_accum);
    if (!(p->lr >= 0) || !(p->min_lr >= 0) || p->warmup < 0 || !(p->weight_decay >= 0) ||
        !(p->grad_clip >= 0) || !(p->beta1 >= 0 && p->beta1 < 1) ||
        !(p->beta2 >= 0 && p->beta2 < 1) || !(p->eps > 0) || p->eval_batches < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: a hyper-parameter is out of "
                         "range (lr, min_lr, warmup, weight_decay, grad_clip, betas, eps)");
    return ZY_STATUS_OK;
}

zy_status zy_trainer_create(zy_trainer **out, zy_gpt *model, const int32_t *train,
                            size_t n_train, const int32_t *val, size_t n_val,
                            const zy_trainer_params *p) {
    if (!out || !model || !train || !p || (n_val && !val))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: missing model, data or params");
    *out = NULL;
    const zy_gpt_config *c = zy_gpt_get_config(model);
    zy_status s = check_params(p, c);
    if (s) return s;
    if (val && n_val < (size_t)p->seq + 1)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "the validation data has %zu tokens, "
                         "fewer than one window needs (seq %d + 1)", n_val, p->seq);
    if ((s = check_ids(train, n_train, c->vocab_size, "training"))) return s;
    if (val && (s = check_ids(val, n_val, c->vocab_size, "validation"))) return s;

    zy_trainer *t = zy_calloc(1, sizeof *t);
    if (!t) return ZY_STATUS_OUT_OF_MEMORY;
    t->m = model;
    t->p = *p;
    t->train = train;
    t->n_train = n_train;
    t->val = val;
    t->n_val = val ? n_val : 0;
    if ((s = zy_batcher_create(&t->batcher, train, n_train, p->batch, p->seq, p->shuffle,
                               p->seed)))
        goto fail;
    zy_gpt_params(model, &t->n_params);
    size_t bt = (size_t)p->batch * (size_t)p->seq;
    t->mom_m = zy_calloc(t->n_params, sizeof(float));
    t->mom_v = zy_calloc(t->n_params, sizeof(float));
    t->inputs = zy_alloc(bt * sizeof(int));
    t->targets = zy_alloc(bt * sizeof(int));
    t->ngroups_cap = zy_gpt_tensor_count(model) + 1;
    t->groups = zy_alloc((size_t)t->ngroups_cap * sizeof *t->groups);
    if (!t->mom_m || !t->mom_v || !t->inputs || !t->targets || !t->groups) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "trainer: out of memory for the optimizer "
                      "state (%zu parameters)", t->n_params);
        goto fail;
    }
    t->ngroups = zy_gpt_param_groups(model, p->weight_decay, t->groups, t->ngroups_cap);
    if ((s = zy_gpt_prepare(model, p->batch, p->seq))) goto fail;
    t->train_hash = zy_trainer_hash(train, n_train * sizeof *train);
    zy_gpt_set_dropout(model, false, 0);
    *out = t;
    return ZY_STATUS_OK;
fail:
    zy_trainer_free(t);
    return s;
}

void zy_trainer_free(zy_trainer *t) {
    if (!t) return;
    zy_batcher_free(t->batcher);
    zy_free(t->mom_m);
    zy_free(t->mom_v);
    zy_free(t->inputs);
    zy_free(t->targets);
    zy_free(t->groups);
    zy_free(t);
}

const zy_trainer_params *zy_trainer_get_params(const zy_trainer *t) { return &t->p; }
long zy_trainer_step_count(const zy_trainer *t) { return t->step; }
void zy_trainer_set_total_steps(zy_trainer *t, long steps) { t->p.steps = steps; }

float zy__trainer_lr(const zy_trainer *t, long step) {
    zy_schedule sch = {.kind = t->p.schedule, .lr = t->p.lr, .min_lr = t->p.min_lr,
                       .warmup = t->p.warmup, .total = t->p.steps,
                       .d_model = zy_gpt_get_config(t->m)->n_embd};
    return zy_schedule_lr(&sch, step);
}

zy_status zy_trainer_step(zy_trainer *t, zy_step_info *info) {
    const zy_trainer_params *p = &t->p;
    int B = p->batch, T = p->seq;
    size_t n;
    float *params = zy_gpt_params(t->m, &n);
    float *grads = zy_gpt_grads(t->m, &n);
    zy_gpt_zero_grads(t->m);
    double loss_sum = 0;
    zy_status s = ZY_STATUS_OK;
    for (int k = 0; k < p->grad_accum; k++) {
        zy_batcher_next(t->batcher, t->inputs, t->targets);
        uint64_t counter = (uint64_t)t->step * 65536u + (uint64_t)k;
        zy_gpt_set_dropout(t->m, true, zy_hash64(p->seed, counter));
        float loss;
        if ((s = zy_gpt_forward(t->m, t->inputs, t->targets, B, T, &loss))) break;
        if ((s = zy_gpt_backward(t->m, 1.0f / (float)p->grad_accum))) break;
        loss_sum += loss;
    }
    zy_gpt_set_dropout(t->m, false, 0);
    if (s) return s;
    float loss = (float)(loss_sum / p->grad_accum);
    if (!isfinite(loss))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "training loss is %g at step %ld: the "
                         "run diverged (try a lower --lr or --grad-clip)", (double)loss,
                         t->step + 1);
    float lr = zy__trainer_lr(t, t->step);
    float norm = p->grad_clip > 0 ? zy_grad_clip_norm(grads, n, p->grad_clip)
                                  : zy_grad_norm(grads, n);
    zy_adamw_params ap = {.beta1 = p->beta1, .beta2 = p->beta2, .eps = p->eps,
                          .weight_decay = p->weight_decay};
    t->step++;
    zy_adamw_step(&ap, lr, t->step, params, grads, t->mom_m, t->mom_v, n, t->groups,
                  t->ngroups);
    if (info) *info = (zy_step_info){.step = t->step, .loss = loss, .lr = lr,
                                     .grad_norm = norm};
    return ZY_STATUS_OK;
}

zy_status zy_trainer_evaluate(zy_trainer *t, float *val_loss) {
    if (!t->val)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "trainer: no validation data");
    size_t T = (size_t)t->p.seq, B = (size_t)t->p.batch;
    size_t windows = (t->n_val - 1) / T;
    if (t->p.eval_batches > 0 && windows > (size_t)t->p.eval_batches * B)
        windows = (size_t)t->p.eval_batches * B;
    zy_gpt_set_dropout(t->m, false, 0);
    double sum = 0;
    for (size_t w = 0; w < windows; w += B) {
        size_t nb = ZY_MIN(B, windows - w);
        for (size_t r = 0; r < nb; r++) {
            const int32_t *src = t->val + (w + r) * T;
            for (size_t i = 0; i < T; i++) {
                t->inputs[r * T + i] = src[i];
                t->targets[r * T + i] = src[i + 1];
            }
        }
        float loss;
        zy_status s = zy_gpt_forward(t->m, t->inputs, t->targets, (int)nb, (int)T, &loss);
        if (s) return s;
        sum += (double)loss * (double)nb; // every row has T targets: weight by rows
    }
    *val_loss = (float)(sum / (double)windows);
    return ZY_STATUS_OK;
}

uint64_t zy_trainer_hash(const void *data, size_t n) {
    // Word-at-a-time multiply-xorshift: fast over hundreds of MB, enough to tell two
    // different parameter sets or token streams apart (not an adversarial setting).
    const unsigned char *p = data;
    uint64_t h = 0x243F6A8885A308D3ull ^ (uint64_t)n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ p[i]) * 0x100000001B3ull;
    return zy_hash64(h, n);
}
