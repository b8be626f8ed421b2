// Instruction rows as a data source (instruct.h): batches padded to their longest row,
// next-token targets where the template marked a reply, training epochs in a seeded order
// of rows, one pass in order for evaluation. The order of an epoch is a pure function of
// (seed, epoch, global batch rows), made whole at the epoch's start, so tell/seek are
// exact and a resumed run sees the batches an uninterrupted one does. Not here: making
// the rows (instruct_rows.c).
#include <string.h>

#include "core/internal.h"
#include "data/instruct_internal.h"

typedef unsigned long long ull;

typedef struct instruct_source {
    const zy_instruct_rows *r; // borrowed
    uint64_t n;
    int B, rank, world;
    uint64_t seed, epoch, pos; // pos: rows of epoch `epoch` taken (global)
    bool shuffle, one_pass;
    uint32_t *order;           // (n) this epoch's visiting order
} instruct_source;

static uint64_t global_rows(const instruct_source *s) {
    return (uint64_t)s->B * (uint64_t)s->world;
}

static void start_epoch(instruct_source *s, uint64_t e) {
    s->epoch = e;
    s->pos = 0;
    for (uint64_t i = 0; i < s->n; i++) s->order[i] = (uint32_t)i;
    if (!s->shuffle) return;
    zy_rng rng;
    zy_rng_seed(&rng, zy_hash64(s->seed ^ ZY_INSTRUCT_ORDER_SALT, e));
    for (uint64_t i = s->n; i > 1; i--) { // Fisher-Yates, as the other sources
        uint64_t j = zy_rng_below(&rng, i);
        uint32_t t = s->order[i - 1];
        s->order[i - 1] = s->order[j];
        s->order[j] = t;
    }
}

// Row i of the rows into batch row b (T = the batch's inputs).
static void put_row(const instruct_source *s, zy_batch *b, int row, uint64_t i) {
    const zy_instruct_rows *r = s->r;
    const int32_t *x = r->ids + r->start[i];
    const uint8_t *sc = r->scored + r->start[i];
    int m = (int)(r->start[i + 1] - r->start[i]), T = b->T;
    int *in = b->input_ids + (size_t)row * T, *y = b->targets + (size_t)row * T;
    for (int t = 0; t < T; t++) {
        bool real = t < m - 1;
        in[t] = real ? x[t] : r->pad_id;
        y[t] = real && sc[t + 1] ? x[t + 1] : -1;
    }
    b->lengths[row] = m - 1;
}

static zy_status is_next(void *impl, zy_batch *b) {
    instruct_source *s = impl;
    uint64_t R = global_rows(s), first = (uint64_t)s->rank * (uint64_t)s->B, rows = R;
    if (s->one_pass) rows = s->pos < s->n ? ZY_MIN(R, s->n - s->pos) : 0;
    else if (s->pos + R > s->n / R * R) start_epoch(s, s->epoch + 1);
    uint64_t lo = ZY_MIN(first, rows), hi = ZY_MIN(first + (uint64_t)s->B, rows);
    int T = 1;
    for (uint64_t k = lo; k < hi; k++) {
        uint64_t i = s->order[s->pos + k];
        T = ZY_MAX(T, (int)(s->r->start[i + 1] - s->r->start[i] - 1));
    }
    b->B = (int)(hi - lo);
    b->T = T;
    for (uint64_t k = lo; k < hi; k++) put_row(s, b, (int)(k - lo), s->order[s->pos + k]);
    s->pos += rows;
    return ZY_STATUS_OK;
}

static void is_tell(const void *impl, zy_data_pos *pos) {
    const instruct_source *s = impl;
    *pos = (zy_data_pos){s->epoch, s->pos};
}

static zy_status is_seek(void *impl, zy_data_pos p) {
    instruct_source *s = impl;
    if ((s->one_pass && p.epoch != 0) || p.pos > s->n)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "data position (%llu, %llu) is not one "
                         "of this %s source of %llu rows", (ull)p.epoch, (ull)p.pos,
                         s->one_pass ? "one-pass" : "training", (ull)s->n);
    start_epoch(s, p.epoch);
    s->pos = p.pos;
    return ZY_STATUS_OK;
}

static zy_status check_count(uint64_t n, uint64_t R, bool one_pass) {
    if (n >= (one_pass ? 1 : R)) return ZY_STATUS_OK;
    return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct data: %llu rows, fewer than one "
                     "%s needs (%llu)", (ull)n, one_pass ? "pass" : "global batch",
                     (ull)(one_pass ? 1 : R));
}

static zy_status is_shard(void *impl, int rank, int world) {
    instruct_source *s = impl;
    zy_status st = check_count(s->n, (uint64_t)s->B * (uint64_t)world, s->one_pass);
    if (st) return st;
    s->rank = rank;
    s->world = world;
    return ZY_STATUS_OK; // the order does not depend on the rows of a global batch
}

static void is_free(void *impl) {
    instruct_source *s = impl;
    if (!s) return;
    zy_free(s->order);
    zy_free(s);
}

static const zy_data_source_ops INSTRUCT_OPS = {
    .next = is_next, .tell = is_tell, .seek = is_seek, .shard = is_shard, .free = is_free,
};

zy_instruct_source_params zy_instruct_source_default_params(void) {
    return (zy_instruct_source_params){.batch = 8, .seed = 12345, .shuffle = true};
}

static uint64_t fingerprint(const zy_instruct_rows *r, const zy_instruct_source_params *p) {
    uint64_t n = r->stats.n_tokens;
    uint64_t h = zy_hash64(0x5a59494e53544650ull, r->n_rows);
    h = zy_hash64(h ^ zy_hash_bytes(r->ids, n * sizeof *r->ids), zy_hash_bytes(r->scored, n));
    h = zy_hash64(h, zy_hash_bytes(r->start, (r->n_rows + 1) * sizeof *r->start));
    uint64_t q[] = {p->seed, p->shuffle, (uint64_t)r->pad_id};
    return zy_hash64(h, zy_hash_bytes(q, sizeof q));
}

zy_status zy_instruct_source_create(zy_data_source **out, const zy_instruct_rows *r,
                                    const zy_instruct_source_params *p) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct source: nowhere to put it");
    *out = NULL;
    if (!r || !p) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct source: no rows");
    if (p->batch <= 0 || p->batch > (1 << 20))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct source: batch %d is out of "
                         "range", p->batch);
    if (p->shuffle && p->one_pass)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct source: a one-pass source is "
                         "read in order (turn shuffle off)");
    if (r->n_rows > UINT32_MAX)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct source: %llu rows is too many",
                         (ull)r->n_rows);
    if (!r->n_rows)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct source: no rows (every "
                         "example was left out: its last reply is longer than seq %d)",
                         r->seq);
    zy_status st = check_count(r->n_rows, (uint64_t)p->batch, p->one_pass);
    if (st) return st;
    instruct_source *s = zy_calloc(1, sizeof *s);
    if (!s) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "instruct source: out of memory");
    *s = (instruct_source){.r = r, .n = r->n_rows, .B = p->batch, .world = 1, .seed = p->seed,
                           .shuffle = p->shuffle, .one_pass = p->one_pass};
    if (!(s->order = zy_alloc(s->n * sizeof *s->order))) {
        is_free(s);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "instruct source: out of memory for %llu "
                         "rows", (ull)r->n_rows);
    }
    start_epoch(s, 0);
    zy_data_source_info info = {
        .kind = "instruct",
        .dims = {.batch = p->batch, .seq = ZY_MAX(r->longest, 1),
                 .fields = ZY_BATCH_TARGETS | ZY_BATCH_LENGTHS},
        .n_items = r->n_rows,
        .fingerprint = fingerprint(r, p),
        .one_pass = p->one_pass,
    };
    if ((st = zy_data_source_create(out, &INSTRUCT_OPS, s, &info))) is_free(s);
    return st;
}
