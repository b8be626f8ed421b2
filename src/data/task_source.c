// Fine-tuning features as a data source (task.h): batches padded to their longest row,
// training epochs in a seeded order bucketed by length, one pass in order for evaluation.
// The order of an epoch is a pure function of (seed, epoch, global batch rows), made
// whole at the epoch's start, so tell/seek are exact. Not here: the features (task_*.c).
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "data/task_internal.h"

typedef unsigned long long ull;

typedef struct task_source {
    const zy_task_features *fs; // borrowed
    uint64_t n;
    int B, rank, world, k, T;
    uint64_t seed, epoch, pos; // pos: rows of epoch `epoch` taken (global)
    bool shuffle, one_pass, labels;
    uint32_t *order;           // (n) this epoch's visiting order
    uint64_t *key;             // (n) sort keys: length, then position
    uint32_t *perm;            // (n / R + 1) batch order
} task_source;

static uint64_t global_rows(const task_source *s) { return (uint64_t)s->B * (uint64_t)s->world; }

static void fisher_yates(uint32_t *a, uint64_t n, uint64_t seed) {
    zy_rng r;
    zy_rng_seed(&r, seed);
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = zy_rng_below(&r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

// The order of epoch e (data.h's rules, in task.h).
static void start_epoch(task_source *s, uint64_t e) {
    s->epoch = e;
    s->pos = 0;
    for (uint64_t i = 0; i < s->n; i++) s->order[i] = (uint32_t)i;
    if (s->one_pass) return;
    if (s->shuffle) fisher_yates(s->order, s->n, zy_hash64(s->seed ^ ZY_TASK_ORDER_SALT, e));
    uint64_t R = global_rows(s), nb = s->n / R, m = nb * R;
    if (s->k > 0) {
        uint64_t W = (uint64_t)s->k * R;
        for (uint64_t w = 0; w < m; w += W) {
            uint64_t end = ZY_MIN(w + W, m);
            // Key: longest first (complemented length), then the position in P_e (< 2^32).
            const uint64_t POS = (1ull << 40) - 1;
            for (uint64_t i = w; i < end; i++) {
                uint64_t len = (uint64_t)s->fs->f[s->order[i]].n;
                s->key[i] = ((0xFFFFFFull - len) << 40) | i;
            }
            qsort(s->key + w, end - w, sizeof *s->key, cmp_u64);
            for (uint64_t i = w; i < end; i++) s->key[i] = s->order[s->key[i] & POS];
            for (uint64_t i = w; i < end; i++) s->order[i] = (uint32_t)s->key[i];
        }
    }
    for (uint64_t j = 0; j < nb; j++) s->perm[j] = (uint32_t)j;
    if (!s->shuffle) return;
    fisher_yates(s->perm, nb, zy_hash64(s->seed ^ ZY_TASK_BATCH_SALT, e));
    for (uint64_t j = 0; j < nb; j++)
        for (uint64_t r = 0; r < R; r++) s->key[j * R + r] = s->order[s->perm[j] * R + r];
    for (uint64_t i = 0; i < m; i++) s->order[i] = (uint32_t)s->key[i];
}

static void put_row(const task_source *s, zy_batch *b, int row, const zy_task_feature *f,
                    uint64_t i) {
    const zy_task_features *fs = s->fs;
    int T = b->T;
    int *x = b->input_ids + (size_t)row * T, *ty = b->token_type_ids + (size_t)row * T;
    for (int t = 0; t < T; t++) {
        x[t] = t < f->n ? f->ids[t] : fs->pad_id;
        ty[t] = t < f->n ? f->type_ids[t] : 0;
    }
    b->lengths[row] = f->n;
    if (!s->labels) return;
    if (fs->task == ZY_TASK_TAG) {
        int *y = b->targets + (size_t)row * T;
        for (int t = 0; t < T; t++) y[t] = t < f->n ? f->targets[t] : -1;
    } else if (fs->task == ZY_TASK_QA) {
        b->span_starts[row] = f->span_start;
        b->span_ends[row] = f->span_end;
    } else if (fs->K) {
        memcpy(b->values + (size_t)row * fs->K, fs->values + i * (size_t)fs->K,
               (size_t)fs->K * sizeof(float));
    } else {
        b->labels[row] = f->label;
    }
}

static zy_status ts_next(void *impl, zy_batch *b) {
    task_source *s = impl;
    uint64_t R = global_rows(s), first = (uint64_t)s->rank * (uint64_t)s->B, rows = R;
    if (s->one_pass) rows = s->pos < s->n ? ZY_MIN(R, s->n - s->pos) : 0;
    else if (s->pos + R > s->n / R * R) start_epoch(s, s->epoch + 1);
    uint64_t lo = ZY_MIN(first, rows), hi = ZY_MIN(first + (uint64_t)s->B, rows);
    int T = 1;
    for (uint64_t r = lo; r < hi; r++) T = ZY_MAX(T, s->fs->f[s->order[s->pos + r]].n);
    b->B = (int)(hi - lo);
    b->T = T;
    for (uint64_t r = lo; r < hi; r++) {
        uint64_t i = s->order[s->pos + r];
        put_row(s, b, (int)(r - lo), &s->fs->f[i], i);
    }
    s->pos += rows;
    return ZY_STATUS_OK;
}

static void ts_tell(const void *impl, zy_data_pos *pos) {
    const task_source *s = impl;
    *pos = (zy_data_pos){s->epoch, s->pos};
}

static zy_status ts_seek(void *impl, zy_data_pos p) {
    task_source *s = impl;
    if ((s->one_pass && p.epoch != 0) || p.pos > s->n)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "data position (%llu, %llu) is not one "
                         "of this %s source of %llu features", (ull)p.epoch, (ull)p.pos,
                         s->one_pass ? "one-pass" : "training", (ull)s->n);
    start_epoch(s, p.epoch);
    s->pos = p.pos;
    return ZY_STATUS_OK;
}

static zy_status check_count(uint64_t n, uint64_t R, bool one_pass) {
    if (n >= (one_pass ? 1 : R)) return ZY_STATUS_OK;
    return zy__error(ZY_STATUS_INVALID_ARGUMENT, "task data: %llu features, fewer than one "
                     "%s needs (%llu)", (ull)n, one_pass ? "pass" : "global batch",
                     (ull)(one_pass ? 1 : R));
}

static zy_status ts_shard(void *impl, int rank, int world) {
    task_source *s = impl;
    zy_status st = check_count(s->n, (uint64_t)s->B * (uint64_t)world, s->one_pass);
    if (st) return st;
    s->rank = rank;
    s->world = world;
    start_epoch(s, s->epoch); // the order depends on the global batch
    return ZY_STATUS_OK;
}

static void ts_free(void *impl) {
    task_source *s = impl;
    if (!s) return;
    zy_free(s->order);
    zy_free(s->key);
    zy_free(s->perm);
    zy_free(s);
}

static const zy_data_source_ops TASK_OPS = {
    .next = ts_next, .tell = ts_tell, .seek = ts_seek, .shard = ts_shard, .free = ts_free,
};

zy_task_source_params zy_task_source_default_params(void) {
    return (zy_task_source_params){.batch = 8, .seed = 12345, .shuffle = true,
                                   .bucket_batches = 50};
}

static uint64_t fingerprint(const zy_task_features *fs, const zy_task_source_params *p) {
    uint64_t h = zy_hash64(0x5a595441534b4650ull, fs->n);
    for (size_t i = 0; i < fs->n; i++) {
        const zy_task_feature *f = &fs->f[i];
        size_t n = (size_t)f->n * sizeof(int32_t);
        h = zy_hash64(h ^ zy_hash_bytes(f->ids, n), zy_hash_bytes(f->type_ids, n));
        if (f->targets) h = zy_hash64(h, zy_hash_bytes(f->targets, n));
        int32_t lab[3] = {f->label, f->span_start, f->span_end};
        h = zy_hash64(h, zy_hash_bytes(lab, sizeof lab));
    }
    if (fs->values) h = zy_hash64(h, zy_hash_bytes(fs->values, fs->n * (size_t)fs->K * 4));
    uint64_t q[] = {p->seed, p->shuffle, (uint64_t)p->bucket_batches, p->omit_labels,
                    (uint64_t)fs->pad_id};
    return zy_hash64(h, zy_hash_bytes(q, sizeof q));
}

zy_status zy_task_source_create(zy_data_source **out, const zy_task_features *fs,
                                const zy_task_source_params *p) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "task source: nowhere to put it");
    *out = NULL;
    if (!fs || !p) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "task source: no features");
    if (p->batch <= 0 || p->batch > (1 << 20) || p->bucket_batches < 0 ||
        p->bucket_batches > (1 << 20))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "task source: batch %d or bucket_batches "
                         "%d is out of range", p->batch, p->bucket_batches);
    if (p->shuffle && p->one_pass)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "task source: a one-pass source is read "
                         "in order (turn shuffle off)");
    if (fs->n > UINT32_MAX)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "task source: %llu features is too many",
                         (ull)fs->n);
    zy_status st = check_count(fs->n, (uint64_t)p->batch, p->one_pass);
    if (st) return st;
    task_source *s = zy_calloc(1, sizeof *s);
    if (!s) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "task source: out of memory");
    *s = (task_source){.fs = fs, .n = fs->n, .B = p->batch, .world = 1, .k = p->bucket_batches,
                       .seed = p->seed, .shuffle = p->shuffle, .one_pass = p->one_pass,
                       .labels = fs->labelled && !p->omit_labels};
    if (!(s->order = zy_alloc(s->n * sizeof *s->order)) ||
        !(s->key = zy_alloc(s->n * sizeof *s->key)) ||
        !(s->perm = zy_alloc((s->n / (uint64_t)p->batch + 1) * sizeof *s->perm))) {
        ts_free(s);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "task source: out of memory for %llu "
                         "features", (ull)fs->n);
    }
    int T = 1;
    for (size_t i = 0; i < fs->n; i++) T = ZY_MAX(T, fs->f[i].n);
    start_epoch(s, 0);
    unsigned fields = ZY_BATCH_LENGTHS | ZY_BATCH_TOKEN_TYPES;
    int n_values = 0;
    if (s->labels) {
        if (fs->task == ZY_TASK_TAG) fields |= ZY_BATCH_TARGETS;
        else if (fs->task == ZY_TASK_QA) fields |= ZY_BATCH_SPANS;
        else if (fs->K) fields |= ZY_BATCH_VALUES, n_values = fs->K;
        else fields |= ZY_BATCH_LABELS;
    }
    zy_data_source_info info = {
        .kind = fs->task == ZY_TASK_CLASSIFY ? "task-classify"
                : fs->task == ZY_TASK_TAG    ? "task-tag"
                                             : "task-qa",
        .dims = {.batch = p->batch, .seq = T, .n_values = n_values, .fields = fields},
        .n_items = fs->n,
        .fingerprint = fingerprint(fs, p),
        .one_pass = p->one_pass,
    };
    if ((st = zy_data_source_create(out, &TASK_OPS, s, &info))) ts_free(s);
    return st;
}
