// Trainer test helpers (train_util.h).
#include "train_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "gpt_util.h"
#include "harness.h"

zy_model *zt_tiny_gpt(float dropout) {
    return zt_gpt_create(2, 2, 16, 16, ZT_TINY_V, dropout, 5);
}

int32_t *zt_stream(size_t n, uint64_t seed) {
    int32_t *t = zt_malloc(n * sizeof *t);
    zy_rng r;
    zy_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        t[i] = zy_rng_below(&r, 4) ? (int32_t)(i * 7 % ZT_TINY_V)
                                   : (int32_t)zy_rng_below(&r, ZT_TINY_V);
    return t;
}

zy_trainer_params zt_train_params(void) {
    zy_trainer_params p = zy_trainer_default_params();
    p.batch = 3;
    p.seq = 8;
    p.grad_accum = 2;
    p.steps = 8;
    p.warmup = 2;
    p.lr = 3e-3f;
    p.min_lr = 3e-4f;
    p.dropout = 0.1f;
    p.seed = 77;
    return p;
}

zy_status zt_run_start(zt_run *r, zy_model *m, const int32_t *train, size_t n_train,
                       const int32_t *val, size_t n_val, const zy_trainer_params *p) {
    *r = (zt_run){0};
    zy_lm_stream_params tp = {.batch = p->batch, .seq = p->seq, .shuffle = p->shuffle,
                              .seed = p->seed};
    zy_lm_stream_params vp = {.batch = p->batch, .seq = p->seq, .one_pass = true};
    zy_status st = zy_lm_stream_create(&r->train, train, n_train, &tp);
    if (!st && n_val) st = zy_lm_stream_create(&r->val, val, n_val, &vp);
    if (!st) st = zy_trainer_create(&r->t, m, r->train, r->val, p);
    return st;
}

void zt_run_stop(zt_run *r) {
    zy_trainer_free(r->t);
    zy_data_source_free(r->train);
    zy_data_source_free(r->val);
    *r = (zt_run){0};
}

zy_status zt_train_measured(zy_trainer *t, long steps, zt_train_losses *l) {
    *l = (zt_train_losses){0};
    zy_status st = zy_trainer_evaluate(t, &l->before);
    for (long s = 0; s < steps && !st; s++) {
        zy_step_info info;
        st = zy_trainer_step(t, &info);
        if (s < 10) l->first += info.loss / 10;
        if (s >= steps - 10) l->last += info.loss / 10;
    }
    return st ? st : zy_trainer_evaluate(t, &l->after);
}

// ---- synthetic examples --------------------------------------------------------------------
typedef struct examples {
    zt_examples e;
    uint64_t pos; // examples consumed (by all ranks)
    int rank, world;
} examples;

static zy_status examples_next(void *impl, zy_batch *b) {
    examples *k = impl;
    const zt_examples *e = &k->e;
    uint64_t R = (uint64_t)e->B * k->world, first = (uint64_t)k->rank * e->B;
    b->B = 0, b->T = e->T;
    if (e->n_one_pass && k->pos >= e->n_one_pass) return ZY_STATUS_OK;
    uint64_t rows = e->n_one_pass && e->n_one_pass - k->pos < R ? e->n_one_pass - k->pos : R;
    for (uint64_t r = first; r < rows && r < first + (uint64_t)e->B; r++, b->B++)
        e->example(e, k->pos + r, b, b->B);
    k->pos += rows;
    return ZY_STATUS_OK;
}

static void examples_tell(const void *impl, zy_data_pos *p) {
    *p = (zy_data_pos){0, ((const examples *)impl)->pos};
}

static zy_status examples_seek(void *impl, zy_data_pos p) {
    examples *k = impl;
    if (p.epoch || (k->e.n_one_pass && p.pos > k->e.n_one_pass))
        return zy_error(ZY_STATUS_INVALID_ARGUMENT, "%s: bad position", k->e.kind);
    k->pos = p.pos;
    return ZY_STATUS_OK;
}

static zy_status examples_shard(void *impl, int rank, int world) {
    examples *k = impl;
    k->rank = rank, k->world = world;
    return ZY_STATUS_OK;
}

static const zy_data_source_ops EXAMPLES_OPS = {examples_next, examples_tell, examples_seek,
                                                examples_shard, free};

zy_data_source *zt_example_source(const zt_examples *e) {
    examples *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    *k = (examples){.e = *e, .world = 1};
    zy_data_source_info info = {
        .kind = e->kind,
        .dims = {.batch = e->B, .seq = e->T, .fields = e->fields},
        .n_items = e->n_one_pass,
        .fingerprint = zy_hash64(e->seed, (uint64_t)e->V),
        .one_pass = e->n_one_pass > 0,
    };
    zy_data_source *s = NULL;
    if (zy_data_source_create(&s, &EXAMPLES_OPS, k, &info)) free(k);
    return s;
}

bool zt_exists(const char *dir, const char *name) {
    char p[1024];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return lstat(p, &sb) == 0;
}

ino_t zt_inode(const char *dir, const char *name) {
    char p[1024];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &sb) ? 0 : sb.st_ino;
}
