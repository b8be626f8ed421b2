// Encoded pairs as encoder-decoder batches (pairs.h): rows sorted by length and cut into
// batches by token count once, at creation; epochs visit the batches in a seeded order,
// `world` batches a global step. The batches form one stream over the epochs: a global
// step that runs past an epoch's end takes its rest from the next epoch's order, so N
// ranks read exactly the batches one process reads in N accumulated micro-batches. Not
// here: reading and encoding (pairs_read.c,
// pairs_encode.c).
//
// Why not a row source (row_source.h): that core counts its position in rows and slices
// global batches of a fixed R = world x B rows out of an order of rows, which is what
// makes a run resume on another world size there. Here a batch is a run of rows of
// varying count and the unit of order, position and sharding is the batch, so the
// core's next/seek/shard would each need a second path; what is truly the same, the
// seeded Fisher-Yates draw, is shared (zy__row_shuffle).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "data/row_source.h"
#include "zhuyi/pairs.h"

typedef unsigned long long ull;

typedef struct pairs_source {
    const zy_pairs_ids *t;  // borrowed
    zy_pairs_source_params p;
    uint64_t nb;            // batches
    uint32_t *rows;         // (n) pairs in sorted order
    uint64_t *bstart;       // (nb + 1) batch b is rows[bstart[b] .. bstart[b + 1])
    uint32_t *order;        // (2 nb) this epoch's order of the batches, then the next's
    bool has_next;          // order[nb ..) holds the next epoch's
    uint64_t epoch, pos;    // pos: batches of the epoch taken by all ranks
    int rank, world;
} pairs_source;

zy_pairs_source_params zy_pairs_source_default_params(void) {
    return (zy_pairs_source_params){.max_tokens = 4096, .seed = 12345, .shuffle = true,
                                    .pad_id = -1, .eos_id = -1, .decoder_start_id = -1};
}

static int src_len(const zy_pairs_ids *t, uint64_t i) {
    return (int)(t->start[2 * i + 1] - t->start[2 * i]);
}
static int tgt_len(const zy_pairs_ids *t, uint64_t i) {
    return (int)(t->start[2 * i + 2] - t->start[2 * i + 1]);
}

// o (nb) = the order of the batches in epoch e.
static void fill_order(const pairs_source *s, uint32_t *o, uint64_t e) {
    for (uint64_t b = 0; b < s->nb; b++) o[b] = (uint32_t)b;
    if (s->p.shuffle) zy__row_shuffle(o, s->nb, zy_hash64(s->p.seed ^ ZY_PAIRS_ORDER_SALT, e));
}

static void start_epoch(pairs_source *s, uint64_t e) {
    s->epoch = e;
    s->pos = 0;
    s->has_next = false;
    fill_order(s, s->order, e);
}

static void put_batch(const pairs_source *s, zy_batch *b, uint64_t k) {
    const zy_pairs_ids *t = s->t;
    const uint32_t *r = s->rows + s->bstart[k];
    int B = (int)(s->bstart[k + 1] - s->bstart[k]), T = 1, Td = 1;
    for (int i = 0; i < B; i++) {
        T = ZY_MAX(T, src_len(t, r[i]) + 1);
        Td = ZY_MAX(Td, tgt_len(t, r[i]) + 1);
    }
    b->B = B;
    b->T = T;
    b->T_dec = Td;
    for (int i = 0; i < B; i++) {
        const int32_t *x = t->ids + t->start[2 * (uint64_t)r[i]];
        const int32_t *y = t->ids + t->start[2 * (uint64_t)r[i] + 1];
        int m = src_len(t, r[i]), q = tgt_len(t, r[i]);
        int *in = b->input_ids + (size_t)i * T;
        int *din = b->dec_input_ids + (size_t)i * Td, *dy = b->dec_targets + (size_t)i * Td;
        for (int j = 0; j < T; j++) in[j] = j < m ? x[j] : j == m ? s->p.eos_id : s->p.pad_id;
        for (int j = 0; j < Td; j++) {
            din[j] = j == 0 ? s->p.decoder_start_id : j <= q ? y[j - 1] : s->p.pad_id;
            dy[j] = j < q ? y[j] : j == q ? s->p.eos_id : -1;
        }
        b->lengths[i] = m + 1;
        b->dec_lengths[i] = q + 1;
    }
}

static zy_status ps_next(void *impl, zy_batch *b) {
    pairs_source *s = impl;
    uint64_t W = (uint64_t)s->world, k;
    if (s->p.one_pass) {
        k = s->pos + (uint64_t)s->rank;
        s->pos = ZY_MIN(s->pos + W, s->nb);
        if (k >= s->nb) {
            b->B = 0;
            b->T = b->T_dec = 1;
            return ZY_STATUS_OK;
        }
    } else {
        uint64_t i = s->pos + (uint64_t)s->rank; // < 2 nb: shard keeps W <= nb
        if (i >= s->nb && !s->has_next) {
            fill_order(s, s->order + s->nb, s->epoch + 1);
            s->has_next = true;
        }
        k = s->order[i];
        s->pos += W;
        if (s->pos >= s->nb) {
            uint64_t rest = s->pos - s->nb;
            start_epoch(s, s->epoch + 1);
            s->pos = rest;
        }
    }
    put_batch(s, b, k);
    return ZY_STATUS_OK;
}

static void ps_tell(const void *impl, zy_data_pos *pos) {
    const pairs_source *s = impl;
    *pos = (zy_data_pos){s->epoch, s->pos};
}

static zy_status ps_seek(void *impl, zy_data_pos p) {
    pairs_source *s = impl;
    if ((s->p.one_pass && p.epoch != 0) || p.pos > s->nb)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "data position (%llu, %llu) is not one "
                         "of this %s pairs source of %llu batches", (ull)p.epoch, (ull)p.pos,
                         s->p.one_pass ? "one-pass" : "training", (ull)s->nb);
    start_epoch(s, p.epoch);
    s->pos = p.pos;
    return ZY_STATUS_OK;
}

static zy_status ps_shard(void *impl, int rank, int world) {
    pairs_source *s = impl;
    if (!s->p.one_pass && s->nb < (uint64_t)world)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs source: %llu batches, fewer than "
                         "the %d ranks of a global step (lower max_tokens or use fewer "
                         "ranks)", (ull)s->nb, world);
    s->rank = rank;
    s->world = world;
    return ZY_STATUS_OK;
}

static void ps_free(void *impl) {
    pairs_source *s = impl;
    if (!s) return;
    zy_free(s->rows);
    zy_free(s->bstart);
    zy_free(s->order);
    zy_free(s);
}

static const zy_data_source_ops PAIRS_OPS = {
    .next = ps_next, .tell = ps_tell, .seek = ps_seek, .shard = ps_shard, .free = ps_free,
};

typedef struct sort_key {
    uint32_t src, tgt, i;
} sort_key;

static int cmp_key(const void *a, const void *b) {
    const sort_key *x = a, *y = b;
    if (x->src != y->src) return x->src < y->src ? -1 : 1;
    if (x->tgt != y->tgt) return x->tgt < y->tgt ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static uint64_t fingerprint(const zy_pairs_ids *t, const zy_pairs_source_params *p) {
    uint64_t h = zy_hash64(0x5a595041495253ull, t->n);
    h = zy_hash64(h ^ zy_hash_bytes(t->ids, t->start[2 * t->n] * sizeof *t->ids),
                  zy_hash_bytes(t->start, (2 * t->n + 1) * sizeof *t->start));
    uint64_t q[] = {(uint64_t)p->max_tokens, (uint64_t)p->max_rows, p->seed, p->shuffle,
                    (uint64_t)p->pad_id, (uint64_t)p->eos_id, (uint64_t)p->decoder_start_id};
    return zy_hash64(h, zy_hash_bytes(q, sizeof q));
}

static zy_status check(const zy_pairs_ids *t, const zy_pairs_source_params *p) {
    if (!t->n || t->n > UINT32_MAX || !t->ids || !t->start)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs source: %llu pairs (1 to %llu "
                         "needed)", (ull)t->n, (ull)UINT32_MAX);
    if (p->max_tokens < 2 || p->max_rows < 0 || p->max_rows > (1 << 24))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs source: max_tokens %d (>= 2) or "
                         "max_rows %d (0 to %d) is out of range", p->max_tokens, p->max_rows,
                         1 << 24);
    if (p->pad_id < 0 || p->eos_id < 0 || p->decoder_start_id < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs source: pad_id %d, eos_id %d and "
                         "decoder_start_id %d must be set (>= 0)", p->pad_id, p->eos_id,
                         p->decoder_start_id);
    if (p->shuffle && p->one_pass)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs source: a one-pass source is read "
                         "in order (turn shuffle off)");
    if (t->start[0] != 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs source: start[0] is not 0");
    for (uint64_t k = 0; k < 2 * t->n; k++)
        if (t->start[k + 1] < t->start[k] || t->start[k + 1] - t->start[k] >= (1u << 24))
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs source: the %s of pair %llu "
                             "has a bad length (offsets %llu, %llu)", k & 1 ? "target" :
                             "source", (ull)(k / 2), (ull)t->start[k], (ull)t->start[k + 1]);
    return ZY_STATUS_OK;
}

// The pair's place for messages: file:line when the ids remember their pairs.
static void where(const zy_pairs_ids *t, uint64_t i, char *buf, size_t cap) {
    zy_pair q = zy_pairs_get(t->pairs, i);
    if (q.src) snprintf(buf, cap, "%s:%llu", q.src_file, (ull)q.line);
    else snprintf(buf, cap, "pair %llu", (ull)i);
}

// Sorted rows cut greedily into batches (pairs.h's rule); the dims they need.
static zy_status cut(pairs_source *s, zy_batch_dims *dims) {
    const zy_pairs_ids *t = s->t;
    uint64_t n = t->n;
    sort_key *key = zy_alloc(n * sizeof *key);
    if (!key) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "pairs source: out of memory");
    for (uint64_t i = 0; i < n; i++)
        key[i] = (sort_key){(uint32_t)src_len(t, i), (uint32_t)tgt_len(t, i), (uint32_t)i};
    qsort(key, n, sizeof *key, cmp_key);
    uint64_t rows = 0, nb = 0;
    long long cap = s->p.max_tokens, T = 0, Td = 0;
    for (uint64_t i = 0; i < n; i++) {
        long long a = (long long)key[i].src + 1, c = (long long)key[i].tgt + 1;
        if (ZY_MAX(a, c) > cap) {
            char at[300];
            where(t, key[i].i, at, sizeof at);
            zy_free(key);
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs source: %s: its rows (source "
                             "%lld, decoder %lld positions) exceed max_tokens %d", at, a, c,
                             s->p.max_tokens);
        }
        long long nT = ZY_MAX(T, a), nTd = ZY_MAX(Td, c);
        bool full = (long long)(rows + 1) * ZY_MAX(nT, nTd) > cap ||
                    (s->p.max_rows > 0 && rows + 1 > (uint64_t)s->p.max_rows);
        if (rows > 0 && full) {
            dims->tokens = (int)ZY_MAX(dims->tokens, (long long)rows * ZY_MAX(T, Td));
            dims->batch = (int)ZY_MAX((uint64_t)dims->batch, rows);
            s->bstart[++nb] = i;
            rows = 0;
            nT = a;
            nTd = c;
        }
        s->rows[i] = key[i].i;
        rows++;
        T = nT;
        Td = nTd;
        dims->seq = (int)ZY_MAX(dims->seq, a);
        dims->seq_dec = (int)ZY_MAX(dims->seq_dec, c);
    }
    dims->tokens = (int)ZY_MAX(dims->tokens, (long long)rows * ZY_MAX(T, Td));
    dims->batch = (int)ZY_MAX((uint64_t)dims->batch, rows);
    s->bstart[++nb] = n;
    s->nb = nb;
    zy_free(key);
    return ZY_STATUS_OK;
}

zy_status zy_pairs_source_create(zy_data_source **out, const zy_pairs_ids *t,
                                 const zy_pairs_source_params *p) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs source: nowhere to put it");
    *out = NULL;
    if (!t || !p) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs source: no pairs");
    zy_status st = check(t, p);
    if (st) return st;
    pairs_source *s = zy_calloc(1, sizeof *s);
    if (!s) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "pairs source: out of memory");
    *s = (pairs_source){.t = t, .p = *p, .world = 1};
    s->rows = zy_alloc(t->n * sizeof *s->rows);
    s->bstart = zy_alloc((t->n + 1) * sizeof *s->bstart);
    s->order = zy_alloc(2 * t->n * sizeof *s->order); // nb <= n
    if (!s->rows || !s->bstart || !s->order) {
        ps_free(s);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "pairs source: out of memory for %llu "
                         "pairs", (ull)t->n);
    }
    s->bstart[0] = 0;
    zy_data_source_info info = {
        .kind = "pairs", .dims = {.fields = ZY_BATCH_LENGTHS | ZY_BATCH_DECODER},
        .n_items = t->n, .fingerprint = fingerprint(t, p), .one_pass = p->one_pass,
    };
    if ((st = cut(s, &info.dims))) {
        ps_free(s);
        return st;
    }
    start_epoch(s, 0);
    st = zy_data_source_create(out, &PAIRS_OPS, s, &info);
    if (st) ps_free(s);
    return st;
}
