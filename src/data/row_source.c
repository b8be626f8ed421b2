// The row source (row_source.h): order, epochs, position, shards, one pass and the
// slicing of global batches, shared by the fine-tuning data sources. Not here: what a
// row is (task_source.c: features; instruct_source.c: instruction rows).
#include "data/row_source.h"

#include "core/internal.h"

typedef unsigned long long ull;

void zy__row_shuffle(uint32_t *a, uint64_t n, uint64_t seed) {
    zy_rng r;
    zy_rng_seed(&r, seed);
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = zy_rng_below(&r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

// The order of epoch e (row_source.h's rules).
static void start_epoch(zy__row_source *s, uint64_t e) {
    s->epoch = e;
    s->pos = 0;
    for (uint64_t i = 0; i < s->n; i++) s->order[i] = (uint32_t)i;
    if (s->one_pass) return;
    if (s->shuffle) zy__row_shuffle(s->order, s->n, zy_hash64(s->seed ^ s->kind->salt, e));
    if (s->kind->arrange) s->kind->arrange(s);
}

static zy_status rs_next(void *impl, zy_batch *b) {
    zy__row_source *s = impl;
    const zy__row_kind *k = s->kind;
    uint64_t R = zy__row_global(s), first = (uint64_t)s->rank * (uint64_t)s->B, rows = R;
    if (s->one_pass) rows = s->pos < s->n ? ZY_MIN(R, s->n - s->pos) : 0;
    else if (s->pos + R > s->n / R * R) start_epoch(s, s->epoch + 1);
    uint64_t lo = ZY_MIN(first, rows), hi = ZY_MIN(first + (uint64_t)s->B, rows);
    int T = 1;
    for (uint64_t r = lo; r < hi; r++) T = ZY_MAX(T, k->length(s, s->order[s->pos + r]));
    b->B = (int)(hi - lo);
    b->T = T;
    for (uint64_t r = lo; r < hi; r++) k->put(s, b, (int)(r - lo), s->order[s->pos + r]);
    s->pos += rows;
    return ZY_STATUS_OK;
}

static void rs_tell(const void *impl, zy_data_pos *pos) {
    const zy__row_source *s = impl;
    *pos = (zy_data_pos){s->epoch, s->pos};
}

static zy_status rs_seek(void *impl, zy_data_pos p) {
    zy__row_source *s = impl;
    if ((s->one_pass && p.epoch != 0) || p.pos > s->n)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "data position (%llu, %llu) is not one "
                         "of this %s source of %llu %s", (ull)p.epoch, (ull)p.pos,
                         s->one_pass ? "one-pass" : "training", (ull)s->n, s->kind->items);
    start_epoch(s, p.epoch);
    s->pos = p.pos;
    return ZY_STATUS_OK;
}

static zy_status check_count(const zy__row_kind *k, uint64_t n, uint64_t R, bool one_pass) {
    if (n >= (one_pass ? 1 : R)) return ZY_STATUS_OK;
    return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s data: %llu %s, fewer than one %s needs "
                     "(%llu)", k->name, (ull)n, k->items, one_pass ? "pass" : "global batch",
                     (ull)(one_pass ? 1 : R));
}

static zy_status rs_shard(void *impl, int rank, int world) {
    zy__row_source *s = impl;
    zy_status st = check_count(s->kind, s->n, (uint64_t)s->B * (uint64_t)world, s->one_pass);
    if (st) return st;
    s->rank = rank;
    s->world = world;
    // A kind's order may depend on the rows of a global batch (task's buckets): the epoch
    // is made again for the new R; the position stays.
    uint64_t pos = s->pos;
    start_epoch(s, s->epoch);
    s->pos = pos;
    return ZY_STATUS_OK;
}

void zy__row_source_free(zy__row_source *s) {
    if (!s) return;
    if (s->kind->free) s->kind->free(s);
    zy_free(s->order);
    zy_free(s);
}

static void rs_free(void *impl) { zy__row_source_free(impl); }

static const zy_data_source_ops ROW_OPS = {
    .next = rs_next, .tell = rs_tell, .seek = rs_seek, .shard = rs_shard, .free = rs_free,
};

zy_status zy__row_source_new(zy__row_source **out, const zy__row_kind *k, size_t size,
                             uint64_t n, const zy__row_params *p) {
    *out = NULL;
    if (p->shuffle && p->one_pass)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s source: a one-pass source is read "
                         "in order (turn shuffle off)", k->name);
    if (n > UINT32_MAX)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s source: %llu %s is too many",
                         k->name, (ull)n, k->items);
    zy_status st = check_count(k, n, (uint64_t)p->batch, p->one_pass);
    if (st) return st;
    ZY_ASSERT(size >= sizeof(zy__row_source));
    zy__row_source *s = zy_calloc(1, size);
    if (!s) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s source: out of memory", k->name);
    *s = (zy__row_source){.kind = k, .n = n, .B = p->batch, .world = 1, .seed = p->seed,
                          .shuffle = p->shuffle, .one_pass = p->one_pass};
    if (!(s->order = zy_alloc(n * sizeof *s->order))) {
        zy_free(s);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s source: out of memory for %llu %s",
                         k->name, (ull)n, k->items);
    }
    *out = s;
    return ZY_STATUS_OK;
}

zy_status zy__row_source_open(zy_data_source **out, zy__row_source *s,
                              zy_data_source_info info) {
    start_epoch(s, 0);
    info.dims.batch = s->B;
    info.n_items = s->n;
    info.one_pass = s->one_pass;
    zy_status st = zy_data_source_create(out, &ROW_OPS, s, &info);
    if (st) zy__row_source_free(s);
    return st;
}
