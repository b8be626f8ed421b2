// The language-model token stream as a data source: (B, T) windows of one stream of ids
// with next-token targets, sequential or in a seeded random order of windows, cycling
// through epochs (training) or once (evaluation). The rules are spelled out in
// include/zhuyi/data.h; this file follows them. Not here: encoding text (encode.c).
#include <string.h>

#include "core/internal.h"
#include "zhuyi/data.h"

typedef struct lm_stream {
    const int32_t *tokens; // (n) borrowed
    size_t n;
    int B, T;
    bool shuffle, one_pass;
    uint64_t seed;
    int rank, world;
    // Sequential: pos = p, a token offset. Shuffled: pos = windows taken in epoch
    // `epoch`, whose order is perm[0..n_windows) with windows at offset + i*T.
    uint64_t epoch, pos;
    size_t offset, n_windows;
    uint32_t *perm; // capacity: the windows of epoch 0 (the most any epoch has)
} lm_stream;

// Rows of a global batch.
static size_t global_rows(const lm_stream *s) { return (size_t)s->B * (size_t)s->world; }

// The cut and order of one epoch: a pure function of (seed, epoch).
static void shuffle_epoch(lm_stream *s, uint64_t epoch) {
    size_t T = (size_t)s->T, off = 0;
    if (epoch > 0) {
        off = (size_t)(zy_hash64(s->seed, epoch) % T);
        if ((s->n - 1 - off) / T < global_rows(s)) off = 0;
    }
    s->offset = off;
    s->n_windows = (s->n - 1 - off) / T;
    for (size_t i = 0; i < s->n_windows; i++) s->perm[i] = (uint32_t)i;
    zy_rng r;
    zy_rng_seed(&r, zy_hash64(s->seed ^ ZY_LM_STREAM_SALT, epoch));
    for (size_t i = s->n_windows - 1; i > 0; i--) {
        size_t j = (size_t)zy_rng_below(&r, (uint64_t)i + 1);
        uint32_t t = s->perm[i];
        s->perm[i] = s->perm[j];
        s->perm[j] = t;
    }
    s->epoch = epoch;
    s->pos = 0;
}

// Row r of the batch = the window of T + 1 tokens starting at src.
static void put_row(zy_batch *b, int r, const int32_t *src, int T) {
    int *x = b->input_ids + (size_t)r * T, *y = b->targets + (size_t)r * T;
    for (int t = 0; t < T; t++) {
        x[t] = src[t];
        y[t] = src[t + 1];
    }
}

static zy_status lm_next(void *impl, zy_batch *b) {
    lm_stream *s = impl;
    size_t T = (size_t)s->T, R = global_rows(s), first = (size_t)s->rank * s->B;
    b->T = s->T;
    b->B = 0;
    if (s->shuffle) {
        if (s->n_windows - s->pos < R) shuffle_epoch(s, s->epoch + 1);
        for (int r = 0; r < s->B; r++)
            put_row(b, r, s->tokens + s->offset + (size_t)s->perm[s->pos + first + r] * T, s->T);
        b->B = s->B;
        s->pos += R;
        return ZY_STATUS_OK;
    }
    size_t rows = R; // windows in this global batch
    if (s->one_pass) {
        size_t W = (s->n - 1) / T, w = s->pos / T;
        rows = w < W ? ZY_MIN(R, W - w) : 0;
    } else if (s->n - s->pos < R * T + 1) {
        s->pos = 0; // (only after a seek near the end: next() wraps as it advances)
    }
    for (size_t r = first; r < rows && r < first + (size_t)s->B; r++)
        put_row(b, b->B++, s->tokens + s->pos + r * T, s->T);
    s->pos += rows * T;
    if (!s->one_pass && s->n - s->pos < R * T + 1) s->pos = 0;
    return ZY_STATUS_OK;
}

static void lm_tell(const void *impl, zy_data_pos *pos) {
    const lm_stream *s = impl;
    pos->epoch = s->shuffle ? s->epoch : 0;
    pos->pos = s->pos;
}

static zy_status lm_seek(void *impl, zy_data_pos p) {
    lm_stream *s = impl;
    if (!s->shuffle) {
        if (p.epoch != 0 || p.pos % (uint64_t)s->T || p.pos > s->n - 1)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "data position (%llu, %llu) is not "
                             "one of this %zu-token stream", (unsigned long long)p.epoch,
                             (unsigned long long)p.pos, s->n);
        s->pos = p.pos;
        return ZY_STATUS_OK;
    }
    shuffle_epoch(s, p.epoch);
    if (p.pos > s->n_windows)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "data position: window %llu is past the "
                         "%zu windows of epoch %llu", (unsigned long long)p.pos, s->n_windows,
                         (unsigned long long)p.epoch);
    s->pos = p.pos;
    return ZY_STATUS_OK;
}

// The stream must hold one global batch (training) or one window (one pass).
static zy_status check_length(const lm_stream *s, size_t R) {
    size_t T = (size_t)s->T;
    size_t need = s->one_pass ? T + 1 : R * T + 1;
    if (s->n >= need) return ZY_STATUS_OK;
    if (s->one_pass)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "the data has %zu tokens, fewer than one "
                         "window needs (seq %d + 1)", s->n, s->T);
    return zy__error(ZY_STATUS_INVALID_ARGUMENT, "the training data has %zu tokens, fewer "
                     "than one batch needs (batch %zu x seq %d + 1 = %zu)", s->n, R, s->T,
                     need);
}

static zy_status lm_shard(void *impl, int rank, int world) {
    lm_stream *s = impl;
    zy_status st = check_length(s, (size_t)s->B * (size_t)world);
    if (st) return st;
    s->rank = rank;
    s->world = world;
    if (s->shuffle) shuffle_epoch(s, s->epoch); // the offset rule depends on the rows
    return ZY_STATUS_OK;
}

static void lm_free(void *impl) {
    lm_stream *s = impl;
    if (!s) return;
    zy_free(s->perm);
    zy_free(s);
}

static const zy_data_source_ops LM_OPS = {
    .next = lm_next, .tell = lm_tell, .seek = lm_seek, .shard = lm_shard, .free = lm_free,
};

zy_status zy_lm_stream_create(zy_data_source **out, const int32_t *tokens, size_t n,
                              const zy_lm_stream_params *p) {
    *out = NULL;
    if (!p || !tokens || p->batch <= 0 || p->seq <= 0 || p->batch > (1 << 20) ||
        p->seq > (1 << 24))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lm stream: bad arguments (batch %d, "
                         "seq %d)", p ? p->batch : 0, p ? p->seq : 0);
    if (p->shuffle && p->one_pass)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lm stream: a one-pass stream is read "
                         "in order (no shuffle)");
    lm_stream tmp = {.tokens = tokens, .n = n, .B = p->batch, .T = p->seq,
                     .shuffle = p->shuffle, .one_pass = p->one_pass, .seed = p->seed,
                     .world = 1};
    zy_status st = check_length(&tmp, (size_t)p->batch);
    if (st) return st;
    size_t windows = (n - 1) / (size_t)p->seq;
    if (p->shuffle && windows > UINT32_MAX)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "lm stream: %zu windows is too many to "
                         "shuffle (at most 2^32)", windows);
    lm_stream *s = zy_calloc(1, sizeof *s);
    if (!s) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "lm stream: out of memory");
    *s = tmp;
    if (p->shuffle) {
        s->perm = zy_alloc(windows * sizeof *s->perm);
        if (!s->perm) {
            zy_free(s);
            return zy__error(ZY_STATUS_OUT_OF_MEMORY, "lm stream: out of memory for %zu "
                             "windows", windows);
        }
        shuffle_epoch(s, 0);
    }
    zy_data_source_info info = {
        .kind = "lm-stream",
        .dims = {.batch = p->batch, .seq = p->seq, .fields = ZY_BATCH_TARGETS},
        .n_items = n,
        .fingerprint = zy_hash_bytes(tokens, n * sizeof *tokens),
        .one_pass = p->one_pass,
    };
    if ((st = zy_data_source_create(out, &LM_OPS, s, &info))) lm_free(s);
    return st;
}
