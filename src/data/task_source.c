// Fine-tuning features as a data source (task.h): a row source (row_source.h) whose rows
// are the features, with their token types and labels; a training epoch bucketed by
// length (windows of k global batches sorted longest first, the batches then visited in
// a seeded order). Not here: the features (task_*.c), epochs, positions and shards
// (row_source.c).
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "data/row_source.h"
#include "data/task_internal.h"

typedef unsigned long long ull;

typedef struct task_source {
    zy__row_source rows;        // first: the shared core
    const zy_task_features *fs; // borrowed
    int k;
    bool labels;
    uint64_t *key;              // (n) sort keys: length, then position
    uint32_t *perm;             // (n / B + 1) batch order
} task_source;

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

// After P_e: the buckets and the order of batches (task.h's rules).
static void arrange(zy__row_source *rs) {
    task_source *s = (task_source *)rs;
    uint32_t *order = rs->order;
    uint64_t R = zy__row_global(rs), nb = rs->n / R, m = nb * R;
    if (s->k > 0) {
        uint64_t W = (uint64_t)s->k * R;
        for (uint64_t w = 0; w < m; w += W) {
            uint64_t end = ZY_MIN(w + W, m);
            // Key: longest first (complemented length), then the position in P_e (< 2^32).
            const uint64_t POS = (1ull << 40) - 1;
            for (uint64_t i = w; i < end; i++) {
                uint64_t len = (uint64_t)s->fs->f[order[i]].n;
                s->key[i] = ((0xFFFFFFull - len) << 40) | i;
            }
            qsort(s->key + w, end - w, sizeof *s->key, cmp_u64);
            for (uint64_t i = w; i < end; i++) s->key[i] = order[s->key[i] & POS];
            for (uint64_t i = w; i < end; i++) order[i] = (uint32_t)s->key[i];
        }
    }
    for (uint64_t j = 0; j < nb; j++) s->perm[j] = (uint32_t)j;
    if (!rs->shuffle) return;
    zy__row_shuffle(s->perm, nb, zy_hash64(rs->seed ^ ZY_TASK_BATCH_SALT, rs->epoch));
    for (uint64_t j = 0; j < nb; j++)
        for (uint64_t r = 0; r < R; r++) s->key[j * R + r] = order[s->perm[j] * R + r];
    for (uint64_t i = 0; i < m; i++) order[i] = (uint32_t)s->key[i];
}

static int length(const zy__row_source *rs, uint64_t i) {
    return ((const task_source *)rs)->fs->f[i].n;
}

static void put_row(const zy__row_source *rs, zy_batch *b, int row, uint64_t i) {
    const task_source *s = (const task_source *)rs;
    const zy_task_features *fs = s->fs;
    const zy_task_feature *f = &fs->f[i];
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

static void free_task(zy__row_source *rs) {
    task_source *s = (task_source *)rs;
    zy_free(s->key);
    zy_free(s->perm);
}

static const zy__row_kind TASK_ROWS = {
    .name = "task", .items = "features", .salt = ZY_TASK_ORDER_SALT, .arrange = arrange,
    .length = length, .put = put_row, .free = free_task,
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
    zy__row_source *rs;
    zy__row_params rp = {.batch = p->batch, .seed = p->seed, .shuffle = p->shuffle,
                         .one_pass = p->one_pass};
    zy_status st = zy__row_source_new(&rs, &TASK_ROWS, sizeof(task_source), fs->n, &rp);
    if (st) return st;
    task_source *s = (task_source *)rs;
    s->fs = fs;
    s->k = p->bucket_batches;
    s->labels = fs->labelled && !p->omit_labels;
    if (!(s->key = zy_alloc(rs->n * sizeof *s->key)) ||
        !(s->perm = zy_alloc((rs->n / (uint64_t)p->batch + 1) * sizeof *s->perm))) {
        zy__row_source_free(rs);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "task source: out of memory for %llu "
                         "features", (ull)fs->n);
    }
    int T = 1;
    for (size_t i = 0; i < fs->n; i++) T = ZY_MAX(T, fs->f[i].n);
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
        .dims = {.seq = T, .n_values = n_values, .fields = fields},
        .fingerprint = fingerprint(fs, p),
    };
    return zy__row_source_open(out, rs, info);
}
