// The zy_tokenizer object, for both kinds: vocabulary (id <-> bytes), merges (pair ->
// rank, BPE), added tokens, special-token roles, and the build steps the loaders and the
// trainers share. Encoding is in encode.c / wp_encode.c, file formats in load.c / save.c /
// wp_load.c / wp_save.c. Not for pre-tokenizing, normalising or merging words.
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "core/internal.h"

// Printable form of a token for error messages (truncated, non-printables as \xNN).
static const char *show(const uint8_t *p, size_t n, char *buf, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7F && p[i] != '\\') buf[o++] = (char)p[i];
        else o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", p[i]);
    }
    buf[o] = '\0';
    return buf;
}

static size_t pow2_at_least(size_t n) {
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
}

// Grow *p (elem bytes each) from *cap to hold at least need elements.
static zy_status grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return ZY_STATUS_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = zy_alloc(c * elem);
    if (!q) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer: out of memory");
    if (*p) memcpy(q, *p, *cap * elem);
    zy_free(*p);
    *p = q;
    *cap = c;
    return ZY_STATUS_OK;
}

zy_status zy__tok_create(zy_tokenizer **out, int32_t n_vocab) {
    *out = NULL;
    if (n_vocab < 1 || n_vocab > ZY__TOK_MAX_ID)
        return zy__error(ZY_STATUS_BAD_FORMAT, "tokenizer: vocabulary size %d not in 1..%d",
                         (int)n_vocab, ZY__TOK_MAX_ID);
    zy_tokenizer *t = zy_calloc(1, sizeof *t);
    if (!t) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer: out of memory");
    t->n_vocab = n_vocab;
    t->tok_off = zy_alloc((size_t)n_vocab * sizeof *t->tok_off);
    t->tok_len = zy_alloc((size_t)n_vocab * sizeof *t->tok_len);
    t->tok_added = zy_calloc((size_t)n_vocab, 1);
    t->find_cap = pow2_at_least((size_t)n_vocab * 2);
    t->find = zy_alloc(t->find_cap * sizeof *t->find);
    if (!t->tok_off || !t->tok_len || !t->tok_added || !t->find) {
        zy_tokenizer_free(t);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer: out of memory");
    }
    memset(t->tok_len, 0xFF, (size_t)n_vocab * sizeof *t->tok_len);
    memset(t->find, 0xFF, t->find_cap * sizeof *t->find);
    for (int b = 0; b < 256; b++) t->byte_id[b] = -1;
    t->type = ZY_TOKENIZER_BPE;
    for (int r = 0; r < ZY_SPECIAL_COUNT; r++) t->special[r] = -1;
    snprintf(t->source, sizeof t->source, "tokenizer");
    *out = t;
    return ZY_STATUS_OK;
}

void zy__tok_set_source(zy_tokenizer *t, const char *path) {
    snprintf(t->source, sizeof t->source, "%s", path);
}

void zy_tokenizer_free(zy_tokenizer *t) {
    if (!t) return;
    zy_free(t->tok_off);
    zy_free(t->tok_len);
    zy_free(t->tok_added);
    zy_free(t->pool);
    zy_free(t->find);
    zy_free(t->merge_a);
    zy_free(t->merge_b);
    zy_free(t->merge_c);
    zy_free(t->mkey);
    zy_free(t->mrank);
    zy_free(t->added);
    for (int i = 0; i < ZY__TOK_CACHE_SLOTS; i++) {
        zy__tok_cache *c = &t->cache[i];
        zy_free(c->hash);
        zy_free(c->word_off);
        zy_free(c->ids_off);
        zy_free(c->word_len);
        zy_free(c->n_ids);
        zy_free(c->bytes);
        zy_free(c->ids);
    }
    zy_free(t);
}

int zy_tokenizer_find(const zy_tokenizer *t, const char *bytes, size_t len) {
    size_t m = t->find_cap - 1, i = zy__hash_bytes((const uint8_t *)bytes, len) & m;
    for (;; i = (i + 1) & m) {
        int32_t id = t->find[i];
        if (id < 0) return -1;
        if (t->tok_len[id] == len && !memcmp(t->pool + t->tok_off[id], bytes, len)) return id;
    }
}

zy_status zy__tok_add(zy_tokenizer *t, int32_t id, const uint8_t *bytes, size_t len,
                      int added, const char *what) {
    char b1[96], b2[96];
    if (id < 0 || id >= t->n_vocab)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: token '%s' has id %ld outside 0..%d", what,
                         show(bytes, len, b1, sizeof b1), (long)id, (int)t->n_vocab - 1);
    if (len == 0)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: token id %d is empty (a token is 1 to %d "
                         "bytes)", what, (int)id, ZY__TOK_MAX_LEN);
    if (len > ZY__TOK_MAX_LEN)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: token id %d is %zu bytes long, more than "
                         "the limit of %d bytes", what, (int)id, len, ZY__TOK_MAX_LEN);
    int other = zy_tokenizer_find(t, (const char *)bytes, len);
    if (t->tok_len[id] != UINT32_MAX) {
        // The same token listed again (an added token also in the vocab) is fine.
        if (other == id) {
            if (added > t->tok_added[id]) t->tok_added[id] = (uint8_t)added;
            return ZY_STATUS_OK;
        }
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: duplicate id %d ('%s' and '%s')", what,
                         (int)id, show((const uint8_t *)t->pool + t->tok_off[id],
                                       t->tok_len[id], b1, sizeof b1),
                         show(bytes, len, b2, sizeof b2));
    }
    if (other >= 0)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: token '%s' has two ids, %d and %d", what,
                         show(bytes, len, b1, sizeof b1), other, (int)id);
    zy_status s = grow((void **)&t->pool, &t->pool_cap, t->pool_len + len, 1);
    if (s) return s;
    if (t->pool_len + len > UINT32_MAX)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: tokens too long in total", what);
    memcpy(t->pool + t->pool_len, bytes, len);
    t->tok_off[id] = (uint32_t)t->pool_len;
    t->tok_len[id] = (uint32_t)len;
    t->tok_added[id] = (uint8_t)added;
    t->pool_len += len;
    size_t m = t->find_cap - 1, i = zy__hash_bytes(bytes, len) & m;
    while (t->find[i] >= 0) i = (i + 1) & m;
    t->find[i] = id;
    if (len == 1) t->byte_id[bytes[0]] = id; // an added single byte is that byte's token too
    return ZY_STATUS_OK;
}

zy_status zy__tok_add_merge(zy_tokenizer *t, int32_t a, int32_t b, const char *what,
                            long line) {
    char b1[96], b2[96];
    if (a < 0 || b < 0 || a >= t->n_vocab || b >= t->n_vocab ||
        t->tok_len[a] == UINT32_MAX || t->tok_len[b] == UINT32_MAX)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s %ld: merge names an unused id", what,
                         line);
    size_t la = t->tok_len[a], lb = t->tok_len[b];
    uint8_t buf[512];
    if (la + lb > sizeof buf) // no real merge is this long; refuse rather than allocate
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s %ld: merged token longer than %zu",
                         what, line, sizeof buf);
    memcpy(buf, t->pool + t->tok_off[a], la);
    memcpy(buf + la, t->pool + t->tok_off[b], lb);
    int c = zy_tokenizer_find(t, (const char *)buf, la + lb);
    if (c < 0)
        return zy__error(ZY_STATUS_BAD_FORMAT,
                         "%s %ld: merge '%s' + '%s' makes a token not in the vocab", what,
                         line, show(buf, la, b1, sizeof b1), show(buf + la, lb, b2, sizeof b2));
    size_t n = (size_t)t->n_merges + 1;
    if (n > t->merge_cap) { // the three arrays grow together
        size_t ca = t->merge_cap, cb = ca, cc = ca;
        zy_status s;
        if ((s = grow((void **)&t->merge_a, &ca, n, 4)) ||
            (s = grow((void **)&t->merge_b, &cb, n, 4)) ||
            (s = grow((void **)&t->merge_c, &cc, n, 4)))
            return s;
        t->merge_cap = ca;
    }
    t->merge_a[t->n_merges] = a;
    t->merge_b[t->n_merges] = b;
    t->merge_c[t->n_merges] = c;
    t->n_merges++;
    return ZY_STATUS_OK;
}

zy_status zy__tok_finish(zy_tokenizer *t, const char *what) {
    for (int b = 0; b < 256 && t->type == ZY_TOKENIZER_BPE; b++)
        if (t->byte_id[b] < 0)
            return zy__error(ZY_STATUS_BAD_FORMAT,
                             "%s: no token for the single byte 0x%02x (byte-level BPE needs "
                             "all 256)",
                             what, b);
    t->mcap = pow2_at_least((size_t)t->n_merges * 2 + 2);
    t->mkey = zy_alloc(t->mcap * sizeof *t->mkey);
    t->mrank = zy_alloc(t->mcap * sizeof *t->mrank);
    if (!t->mkey || !t->mrank) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer: out of memory");
    memset(t->mkey, 0xFF, t->mcap * sizeof *t->mkey);
    for (int32_t r = 0; r < t->n_merges; r++) {
        uint64_t k = zy__pair_key(t->merge_a[r], t->merge_b[r]);
        size_t m = t->mcap - 1, i = zy__hash_u64(k) & m;
        while (t->mkey[i] != UINT64_MAX && t->mkey[i] != k) i = (i + 1) & m;
        if (t->mkey[i] == k) {
            char b1[96], b2[96];
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: merge %d ('%s' '%s') is listed twice",
                             what, (int)r + 1,
                             show((const uint8_t *)t->pool + t->tok_off[t->merge_a[r]],
                                  t->tok_len[t->merge_a[r]], b1, sizeof b1),
                             show((const uint8_t *)t->pool + t->tok_off[t->merge_b[r]],
                                  t->tok_len[t->merge_b[r]], b2, sizeof b2));
        }
        t->mkey[i] = k;
        t->mrank[i] = r;
    }
    // Added tokens, in id order, for matching in text.
    int32_t n = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) n += t->tok_added[id] != 0;
    t->added = zy_alloc((size_t)n * sizeof *t->added + 4);
    if (!t->added) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer: out of memory");
    t->n_added = 0;
    t->added_max_len = 0;
    memset(t->added_first, 0, sizeof t->added_first);
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (!t->tok_added[id]) continue;
        t->added[t->n_added++] = id;
        t->added_max_len = ZY_MAX(t->added_max_len, (size_t)t->tok_len[id]);
        t->added_first[(uint8_t)t->pool[t->tok_off[id]]] = 1;
    }
    if (t->type == ZY_TOKENIZER_BPE) {
        int32_t eot = zy_tokenizer_find(t, "<|endoftext|>", 13);
        for (int r = ZY_SPECIAL_BOS; r <= ZY_SPECIAL_EOS; r++) {
            snprintf(t->special_name[r], sizeof t->special_name[r], "<|endoftext|>");
            if (t->special[r] < 0) t->special[r] = eot;
        }
    } else {
        t->wp.max_len = 0;
        for (int32_t id = 0; id < t->n_vocab; id++)
            if (t->tok_len[id] != UINT32_MAX)
                t->wp.max_len = ZY_MAX(t->wp.max_len, (size_t)t->tok_len[id]);
    }
    return ZY_STATUS_OK;
}

int32_t zy__tok_match_added(const zy_tokenizer *t, const uint8_t *s, size_t len) {
    int32_t best = -1;
    size_t best_len = 0;
    for (int32_t k = 0; k < t->n_added; k++) {
        int32_t id = t->added[k];
        size_t n = t->tok_len[id];
        if (n <= len && n > best_len && !memcmp(t->pool + t->tok_off[id], s, n)) {
            best = id;
            best_len = n;
        }
    }
    return best;
}

zy_tokenizer_type zy_tokenizer_get_type(const zy_tokenizer *t) { return t->type; }

const char *zy_tokenizer_type_name(zy_tokenizer_type type) {
    return type == ZY_TOKENIZER_WORDPIECE ? "wordpiece" : type == ZY_TOKENIZER_BPE ? "bpe" : "?";
}

zy_status zy_tokenizer_special_id(const zy_tokenizer *t, zy_special role, int32_t *id) {
    static const char *const roles[ZY_SPECIAL_COUNT] = {"unknown", "classifier (CLS)",
                                                        "separator (SEP)", "padding",
                                                        "mask", "beginning", "end"};
    if (!t || !id || (int)role < 0 || role >= ZY_SPECIAL_COUNT)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer special_id: bad argument");
    *id = t->special[role];
    if (*id >= 0) return ZY_STATUS_OK;
    if (t->special_name[role][0])
        return zy__error(ZY_STATUS_NOT_FOUND, "%s: no %s token (the %s token)", t->source,
                         t->special_name[role], roles[role]);
    return zy__error(ZY_STATUS_NOT_FOUND, "%s: no %s token (a %s tokenizer has none)",
                     t->source, roles[role], zy_tokenizer_type_name(t->type));
}

int zy_tokenizer_vocab_size(const zy_tokenizer *t) { return t->n_vocab; }
int zy_tokenizer_merge_count(const zy_tokenizer *t) { return t->n_merges; }

const char *zy_tokenizer_token_bytes(const zy_tokenizer *t, int id, size_t *len) {
    if (id < 0 || id >= t->n_vocab || t->tok_len[id] == UINT32_MAX) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = t->tok_len[id];
    return t->pool + t->tok_off[id];
}

bool zy_tokenizer_is_continuation(const zy_tokenizer *t, int32_t id) {
    if (!t || t->type != ZY_TOKENIZER_WORDPIECE || id < 0 || id >= t->n_vocab ||
        t->tok_len[id] == UINT32_MAX || t->tok_added[id])
        return false;
    size_t n = t->tok_len[id], k = t->wp.prefix_len;
    return k > 0 && n > k && !memcmp(t->pool + t->tok_off[id], t->wp.prefix, k);
}
