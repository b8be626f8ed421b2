// WordPiece encoding and decoding: special tokens found in the text (ZY_ENCODE_SPECIAL),
// the basic tokenizer (wp_basic.c) between them, then greedy longest-match-first over
// each word: the longest prefix of the rest that is in the vocabulary (spelled with "##"
// after the first piece) is taken, and a word with a rest that matches nothing, or longer
// than max_input_chars_per_word characters, is one [UNK]. Reentrant: all scratch is per
// call. Not for normalisation (wp_basic.c) or files (wp_load.c, wp_save.c).
#include <string.h>

#include "core/internal.h"
#include "wordpiece.h"

typedef struct wp_out {
    const zy_tokenizer *t;
    zy__wp_scratch *sc;
    int32_t *ids;
    size_t *offsets; // may be NULL
    size_t cap, n;
} wp_out;

static zy_status emit(wp_out *o, int32_t id, size_t start, size_t end) {
    if (o->n >= o->cap)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "tokenizer encode: output room %zu ids too small", o->cap);
    o->ids[o->n] = id;
    if (o->offsets) {
        o->offsets[2 * o->n] = start;
        o->offsets[2 * o->n + 1] = end;
    }
    o->n++;
    return ZY_STATUS_OK;
}

// Byte range covered by w[0..n) (normalisation can reorder characters: min and max).
static void span(const zy__wp_char *w, size_t n, size_t *start, size_t *end) {
    *start = w[0].start;
    *end = w[0].end;
    for (size_t i = 1; i < n; i++) {
        *start = ZY_MIN(*start, w[i].start);
        *end = ZY_MAX(*end, w[i].end);
    }
}

static zy_status grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return ZY_STATUS_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = zy_alloc(c * elem);
    if (!q) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "wordpiece: out of memory");
    zy_free(*p);
    *p = q;
    *cap = c;
    return ZY_STATUS_OK;
}

static size_t put_utf8(int32_t cp, uint8_t *o) {
    if (cp < 0x80) return o[0] = (uint8_t)cp, 1;
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xC0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 63));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xE0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | ((cp >> 6) & 63));
        o[2] = (uint8_t)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (uint8_t)(0xF0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | ((cp >> 12) & 63));
    o[2] = (uint8_t)(0x80 | ((cp >> 6) & 63));
    o[3] = (uint8_t)(0x80 | (cp & 63));
    return 4;
}

// One word: greedy longest-match-first.
static zy_status wordpiece(void *ctx, const zy__wp_char *w, size_t n) {
    wp_out *o = ctx;
    const zy_tokenizer *t = o->t;
    const zy__wp *wp = &t->wp;
    zy__wp_scratch *sc = o->sc;
    size_t ws, we;
    span(w, n, &ws, &we);
    if (n > (size_t)wp->max_chars) return emit(o, t->special[ZY_SPECIAL_UNK], ws, we);
    // The word's UTF-8 after room for the prefix; pos[k] = where character k starts.
    zy_status s;
    size_t pl = wp->prefix_len;
    if ((s = grow((void **)&sc->buf, &sc->cap_buf, pl + 4 * n, 1)) ||
        (s = grow((void **)&sc->pos, &sc->cap_pos, n + 1, sizeof *sc->pos)))
        return s;
    uint8_t *b = sc->buf + pl;
    size_t *pos = sc->pos;
    pos[0] = 0;
    for (size_t k = 0; k < n; k++) pos[k + 1] = pos[k] + put_utf8(w[k].cp, b + pos[k]);
    size_t first = o->n;
    for (size_t start = 0; start < n;) {
        size_t p = start ? pl : 0, end = n;
        int32_t id = -1;
        // Shrink to the longest candidate a token could match, then try each length.
        while (end > start && pos[end] - pos[start] + p > wp->max_len) end--;
        for (; end > start; end--) {
            uint8_t *at = b + pos[start] - p;
            if (p) { // the prefix goes just before the piece (restored below)
                uint8_t save[16];
                memcpy(save, at, p);
                memcpy(at, wp->prefix, p);
                id = zy_tokenizer_find(t, (const char *)at, pos[end] - pos[start] + p);
                memcpy(at, save, p);
            } else {
                id = zy_tokenizer_find(t, (const char *)at, pos[end] - pos[start]);
            }
            if (id >= 0) break;
        }
        if (id < 0) { // the whole word is [UNK]
            o->n = first;
            return emit(o, t->special[ZY_SPECIAL_UNK], ws, we);
        }
        size_t ps, pe;
        span(w + start, end - start, &ps, &pe);
        if ((s = emit(o, id, ps, pe))) return s;
        start = end;
    }
    return ZY_STATUS_OK;
}

zy_status zy__wp_encode(const zy_tokenizer *t, const uint8_t *s, size_t len, unsigned flags,
                        int32_t *ids, size_t *offsets, size_t cap, size_t *n) {
    zy__wp_scratch sc = {0};
    wp_out o = {t, &sc, ids, offsets, cap, 0};
    zy_status st = ZY_STATUS_OK;
    size_t start = 0;
    *n = 0;
    if ((flags & ZY_ENCODE_SPECIAL) && t->n_added) {
        // Leftmost match first, the longest at that position; the text between matches is
        // tokenized on its own (so a special token also ends the word before it).
        for (size_t i = 0; i < len && !st; i++) {
            if (!t->added_first[s[i]]) continue;
            int32_t id = zy__tok_match_added(t, s + i, len - i);
            if (id < 0) continue;
            st = zy__wp_basic(&t->wp, s + start, i - start, start, &sc, wordpiece, &o);
            if (!st) st = emit(&o, id, i, i + t->tok_len[id]);
            i += t->tok_len[id] - 1;
            start = i + 1;
        }
    }
    if (!st) st = zy__wp_basic(&t->wp, s + start, len - start, start, &sc, wordpiece, &o);
    zy__wp_scratch_free(&sc);
    if (!st) *n = o.n;
    return st;
}

// ---- decode -----------------------------------------------------------------------------
// The tokenizers WordPiece decoder: token i > 0 gets a leading space unless it starts
// with the prefix (which is then dropped); with cleanup, its replacements run over each
// token (leading space included) in its order. Only " ." " ?" " !" " ," can match a BERT
// token (punctuation is always a token of its own); the rest are kept to be exact.
static size_t cleanup(const char *in, size_t n, char *out) {
    static const char *const from[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm",
                                       " do not", " 's", " 've", " 're"};
    static const char *const to[] = {".", "?", "!", ",", "'", "n't", "'m",
                                     " don't", "'s", "'ve", "'re"};
    // Each replacement runs over the whole token in turn (like chained str::replace);
    // none makes the text longer (" do not" -> " don't" keeps the length).
    char tmp[2][ZY__WP_TOKEN_MAX + 8];
    size_t len = n;
    memcpy(tmp[0], in, n);
    int cur = 0;
    for (size_t r = 0; r < sizeof from / sizeof from[0]; r++) {
        size_t fl = strlen(from[r]), tl = strlen(to[r]), o = 0;
        for (size_t i = 0; i < len;) {
            if (i + fl <= len && !memcmp(tmp[cur] + i, from[r], fl)) {
                memcpy(tmp[!cur] + o, to[r], tl);
                o += tl;
                i += fl;
            } else {
                tmp[!cur][o++] = tmp[cur][i++];
            }
        }
        cur = !cur;
        len = o;
    }
    if (out) memcpy(out, tmp[cur], len);
    return len;
}

zy_status zy__wp_decode(const zy_tokenizer *t, const int32_t *ids, size_t n, char *out,
                        size_t cap, size_t *len) {
    size_t total = 0;
    *len = 0;
    char piece[ZY__WP_TOKEN_MAX + 8];
    for (int pass = 0; pass < 2; pass++) { // 0: measure and check, 1: write
        size_t o = 0;
        for (size_t i = 0; i < n; i++) {
            int32_t id = ids[i];
            if (id < 0 || id >= t->n_vocab || t->tok_len[id] == UINT32_MAX)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                                 "tokenizer decode: id %ld at position %zu is not a token "
                                 "(vocabulary 0..%d)", (long)id, i, (int)t->n_vocab - 1);
            const char *p = t->pool + t->tok_off[id];
            size_t k = t->tok_len[id], m = 0, pl = t->wp.prefix_len;
            if (i > 0) {
                if (k >= pl && !memcmp(p, t->wp.prefix, pl)) p += pl, k -= pl;
                else piece[m++] = ' ';
            }
            memcpy(piece + m, p, k);
            m += k;
            if (t->wp.cleanup) m = cleanup(piece, m, piece);
            if (pass) memcpy(out + o, piece, m);
            o += m;
        }
        if (!pass) {
            total = o;
            *len = total;
            if (!out) return ZY_STATUS_OK;
            if (cap < total)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                                 "tokenizer decode: output room %zu bytes < %zu needed", cap,
                                 total);
        }
    }
    return ZY_STATUS_OK;
}
