// Parallel text encoded (pairs.h): both sides of every pair -> ids, cut to the model's
// positions or refused. Pairs are encoded on the library's threads, each thread with its
// own word cache of the one tokenizer (zy__tok_encode_slot), so the ids are the ones
// sequential encoding gives. Not here: reading (pairs_read.c), batches (pairs_source.c).
#include <string.h>

#include "core/internal.h"
#include "core/pool.h"
#include "text/bpe.h"
#include "zhuyi/pairs.h"

typedef unsigned long long ull;

zy_pairs_encode_params zy_pairs_encode_default_params(void) {
    return (zy_pairs_encode_params){.max_src = 512, .max_tgt = 512};
}

void zy_pairs_ids_destroy(zy_pairs_ids *t) {
    if (!t) return;
    zy_free(t->ids);
    zy_free(t->start);
    memset(t, 0, sizeof *t);
}

// Side k (pair k / 2; source when k is even) is encoded into ids[start[k] ..), room for
// one id per byte (every token covers a byte), its count into got[k].
typedef struct enc_job {
    zy_tokenizer *tok;
    const zy_pairs *d;
    unsigned flags;
    int32_t *ids;
    const uint64_t *start;
    uint64_t *got;
    signed char *st;
} enc_job;

static void encode_range(void *ctx, size_t i0, size_t i1, int thread) {
    const enc_job *j = ctx;
    for (size_t i = i0; i < i1; i++) {
        zy_pair p = zy_pairs_get(j->d, i);
        for (int side = 0; side < 2; side++) {
            size_t k = 2 * i + (size_t)side, n = 0, len = side ? p.tgt_len : p.src_len;
            zy_status s = zy__tok_encode_slot(j->tok, thread, side ? p.tgt : p.src, len,
                                              j->flags, j->ids + j->start[k], len, &n);
            j->st[k] = (signed char)s;
            j->got[k] = s ? 0 : n;
        }
    }
}

zy_status zy_pairs_encode(zy_pairs_ids *out, const zy_pairs *d, zy_tokenizer *tok,
                          const zy_pairs_encode_params *p) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs encode: nowhere to put it");
    memset(out, 0, sizeof *out);
    if (!d || !tok || !p)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs encode: no pairs, tokenizer or "
                         "parameters");
    if (p->max_src < 2 || p->max_tgt < 2 || p->max_src > (1 << 24) || p->max_tgt > (1 << 24))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "pairs encode: max_src %d and max_tgt %d "
                         "must be in [2, %d] (a row holds an id and eos, or start and an id)",
                         p->max_src, p->max_tgt, 1 << 24);
    size_t n = zy_pairs_count(d), bytes = 0;
    for (size_t i = 0; i < n; i++) {
        zy_pair q = zy_pairs_get(d, i);
        bytes += q.src_len + q.tgt_len;
    }
    uint64_t *start = zy_alloc((2 * n + 1) * sizeof *start);
    uint64_t *got = zy_alloc((2 * n + 1) * sizeof *got);
    signed char *st = zy_alloc(2 * n + 1);
    int32_t *ids = zy_alloc(ZY_MAX(bytes, 1) * sizeof *ids);
    zy_status rc = ZY_STATUS_OK;
    if (!start || !got || !st || !ids) {
        rc = zy__error(ZY_STATUS_OUT_OF_MEMORY, "pairs encode: out of memory for %llu bytes "
                       "of text", (ull)bytes);
        goto done;
    }
    start[0] = 0;
    for (size_t i = 0; i < n; i++) {
        zy_pair q = zy_pairs_get(d, i);
        start[2 * i + 1] = start[2 * i] + q.src_len;
        start[2 * i + 2] = start[2 * i + 1] + q.tgt_len;
    }
    enc_job j = {tok, d, p->flags, ids, start, got, st};
    int threads = ZY_MIN(zy_threads_get(), ZY__TOK_CACHE_SLOTS);
    zy__parallel(n, 64, threads, encode_range, &j);
    // Compact left to right (a side's ids start at or after where they land), cutting.
    uint64_t o = 0;
    uint64_t first = UINT64_MAX;
    for (size_t k = 0; k < 2 * n; k++) {
        zy_pair q = zy_pairs_get(d, k / 2);
        bool tgt = k & 1;
        const char *file = tgt ? q.tgt_file : q.src_file, *side = tgt ? "target" : "source";
        if (st[k]) {
            rc = zy__error((zy_status)st[k], "%s:%llu: the %s side failed to encode (%s)",
                           file, (ull)q.line, side, zy_status_str((zy_status)st[k]));
            goto done;
        }
        uint64_t keep = (uint64_t)(tgt ? p->max_tgt : p->max_src) - 1, m = got[k];
        if (m > keep) {
            if (p->error_on_long) {
                rc = zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: the %s is %llu tokens; %s %d "
                               "allows %llu (and %s)", file, (ull)q.line, side, (ull)m,
                               tgt ? "max_tgt" : "max_src", tgt ? p->max_tgt : p->max_src,
                               (ull)keep, tgt ? "the decoder start or eos" : "eos");
                goto done;
            }
            m = keep;
            if (tgt) out->n_cut_tgt++;
            else out->n_cut_src++;
            first = ZY_MIN(first, (uint64_t)(k / 2));
        }
        memmove(ids + o, ids + start[k], m * sizeof *ids);
        start[k] = o;
        o += m;
        if (tgt) out->longest_tgt = ZY_MAX(out->longest_tgt, (int)m);
        else out->longest_src = ZY_MAX(out->longest_src, (int)m);
    }
    start[2 * n] = o;
    int32_t *exact = zy_alloc(ZY_MAX(o, 1) * sizeof *exact);
    if (!exact) {
        rc = zy__error(ZY_STATUS_OUT_OF_MEMORY, "pairs encode: out of memory for %llu ids",
                       (ull)o);
        goto done;
    }
    memcpy(exact, ids, o * sizeof *ids);
    out->n = n;
    out->ids = exact;
    out->start = start;
    start = NULL;
    out->pairs = d;
    out->first_cut = first == UINT64_MAX ? 0 : first;
done:
    if (rc) memset(out, 0, sizeof *out);
    zy_free(start);
    zy_free(got);
    zy_free(st);
    zy_free(ids);
    return rc;
}
