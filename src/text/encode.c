// Encoding text to ids and back: added-token matching, pre-tokenizing, a per-thread cache
// of encoded words, parallel encoding in chunks, and decoding. The merge rules themselves
// are in bpe_merge.c; the pre-tokenizer in pretok.c. A WordPiece tokenizer is handed to
// wp_encode.c here (parallel encoding cuts its text the same way).
#include <string.h>

#include "bpe.h"
#include "core/internal.h"
#include "core/pool.h"
#include "wordpiece.h"

// ---- word cache -----------------------------------------------------------------------
// Most words repeat, so each thread keeps word -> ids. It is cleared when full rather than
// evicting one by one: simple, bounded memory (about 1.5 MiB a slot), and a refill costs
// only the distinct words of the next stretch of text.
enum { CACHE_CAP = 1 << 15, CACHE_BYTES = CACHE_CAP * 12, CACHE_IDS = CACHE_CAP * 6 };

static int cache_init(zy__tok_cache *c) {
    if (c->hash) return 1;
    c->hash = zy_calloc(CACHE_CAP, sizeof *c->hash);
    c->word_off = zy_alloc(CACHE_CAP * sizeof *c->word_off);
    c->ids_off = zy_alloc(CACHE_CAP * sizeof *c->ids_off);
    c->word_len = zy_alloc(CACHE_CAP * sizeof *c->word_len);
    c->n_ids = zy_alloc(CACHE_CAP * sizeof *c->n_ids);
    c->bytes = zy_alloc(CACHE_BYTES);
    c->ids = zy_alloc(CACHE_IDS * sizeof *c->ids);
    if (!c->hash || !c->word_off || !c->ids_off || !c->word_len || !c->n_ids || !c->bytes ||
        !c->ids) {
        // Leave the slot empty so a later call can try again.
        zy_free(c->hash), zy_free(c->word_off), zy_free(c->ids_off), zy_free(c->word_len);
        zy_free(c->n_ids), zy_free(c->bytes), zy_free(c->ids);
        *c = (zy__tok_cache){0};
        return 0;
    }
    c->cap = CACHE_CAP;
    c->bytes_cap = CACHE_BYTES;
    c->ids_cap = CACHE_IDS;
    return 1;
}

// Encode one pre-token word[0..n) into ids (room for n); returns the count.
static size_t encode_word(const zy_tokenizer *t, zy__tok_cache *c, const uint8_t *w, size_t n,
                          int32_t *ids, int *oom) {
    if (n == 1) {
        ids[0] = t->byte_id[w[0]];
        return 1;
    }
    if (n > ZY__TOK_CACHE_WORD_MAX) {
        void *scratch = zy_alloc(zy__bpe_scratch_size(n));
        if (!scratch) {
            *oom = 1;
            return 0;
        }
        size_t k = zy__bpe_word(t, w, n, ids, scratch);
        zy_free(scratch);
        return k;
    }
    uint64_t h = zy__hash_bytes(w, n) | 1; // 0 marks an empty slot
    size_t m = c->cap - 1, i = h & m;
    for (; c->hash[i]; i = (i + 1) & m) {
        if (c->hash[i] == h && c->word_len[i] == n && !memcmp(c->bytes + c->word_off[i], w, n)) {
            memcpy(ids, c->ids + c->ids_off[i], c->n_ids[i] * sizeof *ids);
            return c->n_ids[i];
        }
    }
    _Alignas(64) unsigned char scratch[ZY__BPE_SCRATCH(ZY__TOK_CACHE_WORD_MAX)];
    size_t k = zy__bpe_word(t, w, n, ids, scratch);
    if (2 * (c->used + 1) > c->cap || c->bytes_used + n > c->bytes_cap ||
        c->ids_used + k > c->ids_cap) {
        memset(c->hash, 0, c->cap * sizeof *c->hash);
        c->used = c->bytes_used = c->ids_used = 0;
        for (i = h & m; c->hash[i]; i = (i + 1) & m) {}
    }
    c->hash[i] = h;
    c->word_off[i] = (uint32_t)c->bytes_used;
    c->ids_off[i] = (uint32_t)c->ids_used;
    c->word_len[i] = (uint16_t)n;
    c->n_ids[i] = (uint16_t)k;
    memcpy(c->bytes + c->bytes_used, w, n);
    memcpy(c->ids + c->ids_used, ids, k * sizeof *ids);
    c->bytes_used += n;
    c->ids_used += k;
    c->used++;
    return k;
}

// Plain text (no added tokens) -> ids at ids[*o..); cap checked per word.
static zy_status encode_plain(const zy_tokenizer *t, zy__tok_cache *c, const uint8_t *s,
                              size_t len, int32_t *ids, size_t cap, size_t *o) {
    size_t i = 0;
    while (i < len) {
        size_t k = zy__pretok_next(s + i, len - i);
        if (cap - *o < k)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "tokenizer encode: output room %zu ids too small (give >= %zu, "
                             "the text length)", cap, len);
        int oom = 0;
        *o += encode_word(t, c, s + i, k, ids + *o, &oom);
        if (oom) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer encode: out of memory");
        i += k;
    }
    return ZY_STATUS_OK;
}

static zy_status encode_slot(zy_tokenizer *t, int slot, const uint8_t *s, size_t len,
                             unsigned flags, int32_t *ids, size_t cap, size_t *n_ids) {
    if (t->type == ZY_TOKENIZER_WORDPIECE) return zy__wp_encode(t, s, len, flags, ids, NULL, cap, n_ids);
    zy__tok_cache *c = &t->cache[slot];
    *n_ids = 0;
    if (!cache_init(c)) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer encode: out of memory");
    size_t o = 0, start = 0;
    zy_status st;
    if ((flags & ZY_ENCODE_SPECIAL) && t->n_added) {
        // Leftmost match first, the longest one at that position; text between matches is
        // encoded on its own, as GPT-2 / tiktoken split on special tokens first.
        for (size_t i = 0; i < len; i++) {
            if (!t->added_first[s[i]]) continue;
            int32_t id = zy__tok_match_added(t, s + i, len - i);
            if (id < 0) continue;
            if ((st = encode_plain(t, c, s + start, i - start, ids, cap, &o))) return st;
            if (o >= cap)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                                 "tokenizer encode: output room %zu ids too small", cap);
            ids[o++] = id;
            i += t->tok_len[id] - 1;
            start = i + 1;
        }
    }
    if ((st = encode_plain(t, c, s + start, len - start, ids, cap, &o))) return st;
    *n_ids = o;
    return ZY_STATUS_OK;
}

zy_status zy_tokenizer_encode(zy_tokenizer *t, const char *text, size_t len, unsigned flags,
                              int32_t *ids, size_t cap, size_t *n_ids) {
    if (!t || (!text && len) || !n_ids || (!ids && cap))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer encode: NULL argument");
    return encode_slot(t, 0, (const uint8_t *)text, len, flags, ids, cap, n_ids);
}

zy_status zy__tok_encode_slot(zy_tokenizer *t, int slot, const char *text, size_t len,
                              unsigned flags, int32_t *ids, size_t cap, size_t *n_ids) {
    ZY_ASSERT(slot >= 0 && slot < ZY__TOK_CACHE_SLOTS);
    return encode_slot(t, slot, (const uint8_t *)text, len, flags, ids, cap, n_ids);
}

// ---- parallel encode ------------------------------------------------------------------
// A safe cut (BPE) is at a '\n' followed by a non-space character, and goes before the
// '\n'. In the whole text a pre-token boundary lies there: what precedes is either not
// whitespace (its pre-token stops at the '\n') or a whitespace run that the non-space
// character follows, and such a run gives its last character, this '\n', to a pre-token
// of its own (\s+(?!\S), then \s). At the end of a chunk the run is taken whole, so it
// ends at the cut there too, and the next chunk starts with that lone "\n". (Cutting
// after the '\n' is not safe: "\n\n\n" would end a chunk whole where the whole text has
// "\n\n" + "\n".) For WordPiece any '\n' ends a word, so the position after one is safe.
static size_t next_safe_cut(const zy_tokenizer *t, const uint8_t *s, size_t len, size_t from) {
    for (size_t p = from; p < len;) {
        const uint8_t *nl = memchr(s + p, '\n', len - p);
        if (!nl) return len;
        p = (size_t)(nl - s) + 1;
        size_t n;
        if (p < len && t->type == ZY_TOKENIZER_WORDPIECE) return p;
        if (p < len && zy__pretok_class(s + p, len - p, &n) != 3) return p - 1;
    }
    return len;
}

typedef struct chunks_job {
    zy_tokenizer *t;
    const uint8_t *s;
    unsigned flags;
    int32_t *ids;
    const size_t *cut;
    size_t *got;
    zy_status *st;
} chunks_job;

static void encode_chunks(void *ctx, size_t k0, size_t k1, int thread) {
    const chunks_job *j = ctx;
    for (size_t k = k0; k < k1; k++) {
        size_t len = j->cut[k + 1] - j->cut[k];
        j->st[k] = encode_slot(j->t, thread, j->s + j->cut[k], len, j->flags,
                               j->ids + j->cut[k], len, &j->got[k]);
    }
}

zy_status zy_tokenizer_encode_parallel(zy_tokenizer *t, const char *text, size_t len,
                                       unsigned flags, int32_t *ids, size_t cap,
                                       size_t *n_ids) {
    if (!t || (!text && len) || !n_ids || (!ids && cap))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer encode: NULL argument");
    int threads = ZY_MIN(zy_threads_get(), ZY__TOK_CACHE_SLOTS);
    // Added tokens containing '\n' could straddle a cut; they are rare, so go sequential.
    int special_nl = 0;
    if (flags & ZY_ENCODE_SPECIAL)
        for (int32_t k = 0; k < t->n_added; k++)
            special_nl |= memchr(t->pool + t->tok_off[t->added[k]], '\n',
                                 t->tok_len[t->added[k]]) != NULL;
    if (threads <= 1 || len < (1u << 16) || special_nl || zy__in_parallel())
        return zy_tokenizer_encode(t, text, len, flags, ids, cap, n_ids);
    if (cap < len)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "tokenizer encode_parallel: output room %zu ids < text length %zu",
                         cap, len);
    const uint8_t *s = (const uint8_t *)text;
    enum { MAX_CHUNKS = 4 * ZY__TOK_CACHE_SLOTS };
    size_t cut[MAX_CHUNKS + 1], got[MAX_CHUNKS];
    zy_status st[MAX_CHUNKS];
    int nchunks = ZY_MIN(4 * threads, MAX_CHUNKS);
    cut[0] = 0;
    for (int k = 1; k < nchunks; k++)
        cut[k] = next_safe_cut(t, s, len, ZY_MAX(cut[k - 1], len / (size_t)nchunks * (size_t)k));
    cut[nchunks] = len;
    // Each chunk writes its ids from its own byte offset: it makes at most one id per
    // byte, so chunks never overlap, and a left-to-right compaction joins them. The pool
    // runs them on at most `threads` threads, so its thread index is a valid cache slot.
    chunks_job j = {t, s, flags, ids, cut, got, st};
    zy__parallel((size_t)nchunks, 1, threads, encode_chunks, &j);
    size_t o = 0;
    for (int k = 0; k < nchunks; k++) {
        if (st[k]) {
            *n_ids = 0;
            return zy__error(st[k], "tokenizer encode_parallel: chunk %d failed (%s)", k,
                             zy_status_str(st[k]));
        }
        memmove(ids + o, ids + cut[k], got[k] * sizeof *ids);
        o += got[k];
    }
    *n_ids = o;
    return ZY_STATUS_OK;
}

// ---- decode ---------------------------------------------------------------------------
zy_status zy_tokenizer_decode(const zy_tokenizer *t, const int32_t *ids, size_t n, char *out,
                              size_t cap, size_t *len) {
    if (!t || (!ids && n) || !len)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer decode: NULL argument");
    if (t->type == ZY_TOKENIZER_WORDPIECE) return zy__wp_decode(t, ids, n, out, cap, len);
    size_t total = 0;
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_vocab || t->tok_len[id] == UINT32_MAX)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "tokenizer decode: id %ld at position %zu is not a token "
                             "(vocabulary 0..%d)", (long)id, i, (int)t->n_vocab - 1);
        total += t->tok_len[id];
    }
    *len = total;
    if (!out) return ZY_STATUS_OK;
    if (cap < total)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "tokenizer decode: output room %zu bytes < %zu needed", cap, total);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(out + o, t->pool + t->tok_off[ids[i]], t->tok_len[ids[i]]);
        o += t->tok_len[ids[i]];
    }
    return ZY_STATUS_OK;
}
