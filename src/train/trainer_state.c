// The training-state file, DIR/training_state.safetensors: everything besides the model
// weights that a run needs to continue bit-exactly. Not here: the model weights (written
// by zy_model_save as model.safetensors beside it).
//
// Format: a safetensors file (little-endian, header validated by the shared reader) with
//   "adamw.m", "adamw.v"  F32 (n_params): AdamW first and second moments of the trainable
//                         floats, in the layout of the session's gradient array (the
//                         trainable tensors one after another, in table order)
//   "__metadata__"        strings: format "zhuyi-training-state", version "1", step,
//                         data_epoch, data_pos, every zy_trainer_params field (floats as
//                         %.9g, which reads back to the same float), n_params (the
//                         trainable floats), params_hash (every parameter) / train_hash
//                         (the training source's fingerprint; 16 hex digits,
//                         zy_hash_bytes), train_tokens (its n_items), plus the caller's
//                         extra pairs; skip_nonfinite and skipped (the steps skipped
//                         so far), absent from files of older versions (read as 0).
// The randomness needs no saved generator: dropout and shuffling derive from (seed,
// step, micro-step, epoch), so the seed, step and data position are the RNG state.
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "train/trainer_internal.h"

#define STATE_FORMAT "zhuyi-training-state"
#define STATE_VERSION "1"
#define MAX_KV 64

static const char *const SCHEDULES[] = {"constant", "cosine", "linear", "noam",
                                          "inverse_sqrt"};

typedef struct kvbuf {
    zy_safetensors_kv kv[MAX_KV];
    char val[MAX_KV][40];
    int n;
} kvbuf;

static void put(kvbuf *b, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void put(kvbuf *b, const char *key, const char *fmt, ...) {
    ZY_ASSERT(b->n < MAX_KV);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->val[b->n], sizeof b->val[b->n], fmt, ap);
    va_end(ap);
    b->kv[b->n] = (zy_safetensors_kv){key, b->val[b->n]};
    b->n++;
}

zy_status zy_trainer_save_state(const zy_trainer *t, const char *path,
                                const zy_safetensors_kv *extra, int n_extra) {
    if (n_extra < 0 || n_extra > 16 || (n_extra && !extra))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "training state: at most 16 extra pairs");
    const zy_trainer_params *p = &t->p;
    size_t n = t->n_grads, n_all;
    const float *params = zy_model_params(t->m, &n_all);
    const zy_data_source_info *data = zy_data_source_get_info(t->train);
    zy_data_pos dp;
    zy_data_source_tell(t->train, &dp);
    uint64_t epoch = dp.epoch, pos = dp.pos;
    kvbuf b = {.n = 0};
    put(&b, "format", "%s", STATE_FORMAT);
    put(&b, "version", "%s", STATE_VERSION);
    put(&b, "step", "%ld", t->step);
    put(&b, "data_epoch", "%" PRIu64, epoch);
    put(&b, "data_pos", "%" PRIu64, pos);
    put(&b, "batch", "%d", p->batch);
    put(&b, "seq", "%d", p->seq);
    put(&b, "grad_accum", "%d", p->grad_accum);
    put(&b, "steps", "%ld", p->steps);
    put(&b, "schedule", "%s", SCHEDULES[p->schedule]);
    put(&b, "lr", "%.9g", (double)p->lr);
    put(&b, "min_lr", "%.9g", (double)p->min_lr);
    put(&b, "warmup", "%ld", p->warmup);
    put(&b, "weight_decay", "%.9g", (double)p->weight_decay);
    put(&b, "beta1", "%.9g", (double)p->beta1);
    put(&b, "beta2", "%.9g", (double)p->beta2);
    put(&b, "eps", "%.9g", (double)p->eps);
    put(&b, "grad_clip", "%.9g", (double)p->grad_clip);
    put(&b, "dropout", "%.9g", (double)p->dropout);
    put(&b, "label_smoothing", "%.9g", (double)p->label_smoothing);
    put(&b, "precision", "%s", p->precision == ZY_PRECISION_BF16 ? "bf16" : "fp32");
    put(&b, "shuffle", "%s", p->shuffle ? "true" : "false");
    put(&b, "seed", "%" PRIu64, p->seed);
    put(&b, "eval_batches", "%d", p->eval_batches);
    put(&b, "skip_nonfinite", "%d", p->skip_nonfinite);
    put(&b, "skipped", "%ld", t->n_skipped);
    put(&b, "n_params", "%zu", n);
    put(&b, "params_hash", "%016" PRIx64, zy_hash_bytes(params, n_all * sizeof *params));
    put(&b, "train_tokens", "%" PRIu64, data->n_items);
    put(&b, "train_hash", "%016" PRIx64, data->fingerprint);
    for (int i = 0; i < n_extra; i++) {
        for (int j = 0; j < b.n; j++)
            if (!strcmp(extra[i].key, b.kv[j].key))
                return zy__error(ZY_STATUS_INVALID_ARGUMENT, "training state: extra key "
                                 "'%s' is a reserved name", extra[i].key);
        b.kv[b.n++] = extra[i];
    }
    zy_safetensors_tensor ts[2] = {
        {.name = "adamw.m", .data = t->mom_m, .ndim = 1, .shape = {(int64_t)n}},
        {.name = "adamw.v", .data = t->mom_v, .ndim = 1, .shape = {(int64_t)n}},
    };
    zy_safetensors_write_params wp = zy_safetensors_write_default_params();
    wp.metadata = b.kv;
    wp.n_metadata = b.n;
    return zy_safetensors_write(path, ts, 2, wp);
}

// ---- reading --------------------------------------------------------------------------

static zy_status open_state(zy_safetensors **st, const char *path) {
    zy_status s = zy_safetensors_open(st, path);
    if (s) return s;
    const char *f = zy_safetensors_metadata_get(*st, "format");
    const char *v = zy_safetensors_metadata_get(*st, "version");
    if (!f || strcmp(f, STATE_FORMAT) || !v || strcmp(v, STATE_VERSION)) {
        // The message quotes f and v, which the handle owns: format it before freeing.
        s = zy__error(ZY_STATUS_BAD_FORMAT, "%s: not a zhuyi training state (format '%s' "
                      "version '%s'; expected '%s' version %s)", path, f ? f : "",
                      v ? v : "", STATE_FORMAT, STATE_VERSION);
        zy_safetensors_free(*st);
        *st = NULL;
        return s;
    }
    return ZY_STATUS_OK;
}

// Parsers of one metadata value; each names the key when it is missing or malformed.
static zy_status get_str(const zy_safetensors *st, const char *path, const char *key,
                         const char **out) {
    *out = zy_safetensors_metadata_get(st, key);
    if (!*out)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: metadata '%s' is missing", path, key);
    return ZY_STATUS_OK;
}

static zy_status get_u64(const zy_safetensors *st, const char *path, const char *key,
                         int base, uint64_t max, uint64_t *out) {
    const char *v;
    zy_status s = get_str(st, path, key, &v);
    if (s) return s;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, base);
    if (!*v || *v == '-' || *end || errno || x > max)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: metadata '%s' = '%s' is not a number in "
                         "range", path, key, v);
    *out = x;
    return ZY_STATUS_OK;
}

static zy_status get_int(const zy_safetensors *st, const char *path, const char *key,
                         long max, long *out) {
    uint64_t x = 0;
    zy_status s = get_u64(st, path, key, 10, (uint64_t)max, &x);
    if (!s) *out = (long)x;
    return s;
}

static zy_status get_float(const zy_safetensors *st, const char *path, const char *key,
                           float *out) {
    const char *v;
    zy_status s = get_str(st, path, key, &v);
    if (s) return s;
    char *end;
    float x = strtof(v, &end);
    if (!*v || *end || !(x >= 0 && x < 1e30f))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: metadata '%s' = '%s' is not a "
                         "non-negative number", path, key, v);
    *out = x;
    return ZY_STATUS_OK;
}

// As get_float, for a key that older state files lack: *out is left alone when absent.
static zy_status get_optional_float(const zy_safetensors *st, const char *path,
                                    const char *key, float *out) {
    return zy_safetensors_metadata_get(st, key) ? get_float(st, path, key, out) : ZY_STATUS_OK;
}

// As get_int, for a key that older state files lack: *out is left alone when absent.
static zy_status get_optional_int(const zy_safetensors *st, const char *path,
                                  const char *key, long max, long *out) {
    return zy_safetensors_metadata_get(st, key) ? get_int(st, path, key, max, out)
                                                : ZY_STATUS_OK;
}

static zy_status read_params(const zy_safetensors *st, const char *path, zy_trainer_params *p,
                             long *step) {
    zy_status s;
    long v[7] = {0};
    const char *sched, *shuffle;
    uint64_t seed;
    if ((s = get_int(st, path, "batch", 1 << 30, &v[0])) ||
        (s = get_int(st, path, "seq", 1 << 30, &v[1])) ||
        (s = get_int(st, path, "grad_accum", 65535, &v[2])) ||
        (s = get_int(st, path, "steps", 1L << 50, &v[3])) ||
        (s = get_int(st, path, "warmup", 1L << 50, &v[4])) ||
        (s = get_int(st, path, "eval_batches", 1 << 30, &v[5])) ||
        (s = get_optional_int(st, path, "skip_nonfinite", 1 << 30, &v[6])) ||
        (s = get_int(st, path, "step", 1L << 50, step)) ||
        (s = get_float(st, path, "lr", &p->lr)) ||
        (s = get_float(st, path, "min_lr", &p->min_lr)) ||
        (s = get_float(st, path, "weight_decay", &p->weight_decay)) ||
        (s = get_float(st, path, "beta1", &p->beta1)) ||
        (s = get_float(st, path, "beta2", &p->beta2)) ||
        (s = get_float(st, path, "eps", &p->eps)) ||
        (s = get_float(st, path, "grad_clip", &p->grad_clip)) ||
        (s = get_float(st, path, "dropout", &p->dropout)) ||
        (s = get_optional_float(st, path, "label_smoothing", &p->label_smoothing)) ||
        (s = get_u64(st, path, "seed", 10, UINT64_MAX, &seed)) ||
        (s = get_str(st, path, "schedule", &sched)) ||
        (s = get_str(st, path, "shuffle", &shuffle)))
        return s;
    p->batch = (int)v[0];
    p->seq = (int)v[1];
    p->grad_accum = (int)v[2];
    p->steps = v[3];
    p->warmup = v[4];
    p->eval_batches = (int)v[5];
    p->skip_nonfinite = (int)v[6];
    p->seed = seed;
    if (zy_schedule_kind_parse(sched, &p->schedule))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: metadata 'schedule' = '%s' is not a "
                         "schedule", path, sched);
    if (strcmp(shuffle, "true") && strcmp(shuffle, "false"))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: metadata 'shuffle' = '%s' is not true or "
                         "false", path, shuffle);
    p->shuffle = !strcmp(shuffle, "true");
    const char *prec = zy_safetensors_metadata_get(st, "precision"); // older states: fp32
    if (prec && strcmp(prec, "fp32") && strcmp(prec, "bf16"))
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: metadata 'precision' = '%s' is not fp32 "
                         "or bf16", path, prec);
    p->precision = prec && !strcmp(prec, "bf16") ? ZY_PRECISION_BF16 : ZY_PRECISION_FP32;
    return ZY_STATUS_OK;
}

zy_status zy_trainer_read_params(const char *path, zy_trainer_params *p, long *step) {
    zy_safetensors *st;
    zy_status s = open_state(&st, path);
    if (s) return s;
    *p = zy_trainer_default_params();
    long dummy;
    s = read_params(st, path, p, step ? step : &dummy);
    zy_safetensors_free(st);
    return s;
}

zy_status zy_trainer_state_get(const char *path, const char *key, char *buf, size_t cap) {
    zy_safetensors *st;
    zy_status s = open_state(&st, path);
    if (s) return s;
    const char *v = zy_safetensors_metadata_get(st, key);
    if (!v) {
        s = zy__error(ZY_STATUS_NOT_FOUND, "%s: metadata '%s' is missing", path, key);
    } else if (strlen(v) >= cap) {
        s = zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: metadata '%s' is longer than %zu "
                      "bytes", path, key, cap - 1);
    } else {
        memcpy(buf, v, strlen(v) + 1);
    }
    zy_safetensors_free(st);
    return s;
}

zy_status zy_trainer_load_state(zy_trainer *t, const char *path) {
    zy_safetensors *st;
    zy_status s = open_state(&st, path);
    if (s) return s;
    zy_trainer_params p = t->p;
    long step, skipped = 0;
    uint64_t n_params, params_hash, n_train, train_hash, epoch, pos;
    size_t n = t->n_grads, n_all;
    const float *params = zy_model_params(t->m, &n_all);
    const zy_data_source_info *data = zy_data_source_get_info(t->train);
    if ((s = read_params(st, path, &p, &step)) ||
        (s = get_u64(st, path, "n_params", 10, UINT64_MAX, &n_params)) ||
        (s = get_u64(st, path, "params_hash", 16, UINT64_MAX, &params_hash)) ||
        (s = get_u64(st, path, "train_tokens", 10, UINT64_MAX, &n_train)) ||
        (s = get_u64(st, path, "train_hash", 16, UINT64_MAX, &train_hash)) ||
        (s = get_u64(st, path, "data_epoch", 10, UINT64_MAX, &epoch)) ||
        (s = get_u64(st, path, "data_pos", 10, UINT64_MAX, &pos)) ||
        (s = get_optional_int(st, path, "skipped", 1L << 50, &skipped)))
        goto done;
    if (p.batch != t->p.batch || p.seq != t->p.seq || p.shuffle != t->p.shuffle ||
        p.seed != t->p.seed || p.grad_accum != t->p.grad_accum) {
        s = zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: saved with batch %d, seq %d, "
                      "grad_accum %d, shuffle %d, seed %" PRIu64 "; this run differs", path,
                      p.batch, p.seq, p.grad_accum, (int)p.shuffle, p.seed);
        goto done;
    }
    if (n_params != n) {
        s = zy__error(ZY_STATUS_SHAPE_MISMATCH, "%s: state for %" PRIu64 " trainable "
                      "parameters, the model has %zu", path, n_params, n);
        goto done;
    }
    if (params_hash != zy_hash_bytes(params, n_all * sizeof *params)) {
        s = zy__error(ZY_STATUS_BAD_FORMAT, "%s: the model weights are not the ones saved "
                      "with this state (step %ld): model.safetensors was replaced or "
                      "written at another step", path, step);
        goto done;
    }
    if (n_train != data->n_items || train_hash != data->fingerprint) {
        s = zy__error(ZY_STATUS_BAD_FORMAT, "%s: the training data differs from the run's "
                      "(%" PRIu64 " tokens then, %" PRIu64 " now, or other tokens): resume "
                      "needs the same files and tokenizer", path, n_train, data->n_items);
        goto done;
    }
    if ((s = zy_safetensors_read_f32(st, "adamw.m", t->mom_m, n)) ||
        (s = zy_safetensors_read_f32(st, "adamw.v", t->mom_v, n)) ||
        (s = zy_data_source_seek(t->train, (zy_data_pos){epoch, pos})))
        goto done;
    t->step = step;
    t->n_skipped = skipped;
done:
    zy_safetensors_free(st);
    return s;
}
