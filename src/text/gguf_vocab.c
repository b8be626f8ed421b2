// A byte-level BPE tokenizer as GGUF's "gpt2" tokenizer arrays and back (gguf_vocab.h):
// the spelling of llama.cpp's converter, which writes vocab.json's strings, added tokens
// as text, and merges as "left right". Reading is as strict as tokenizer.json's: every
// string must spell bytes, ids and merges must make sense, each failure naming the
// array element.
#include <string.h>

#include "bpe.h"
#include "core/internal.h"
#include "gguf_vocab.h"
#include "wordpiece.h"

#define BAD(...) zy__error(ZY_STATUS_BAD_FORMAT, __VA_ARGS__)

void zy__gguf_vocab_free(zy__gguf_vocab *v) {
    if (!v) return;
    zy_free(v->tok);
    zy_free(v->len);
    zy_free(v->type);
    zy_free(v->merge);
    zy_free(v->merge_len);
    zy_free(v->pool);
    memset(v, 0, sizeof *v);
}

// Byte-level spelling of a normal token, an added token's text, or "[PAD<i>]".
static size_t spell(const zy_tokenizer *t, int id, char *out, int32_t *type) {
    size_t n;
    const char *b = zy_tokenizer_token_bytes(t, id, &n);
    if (!b) {
        *type = ZY__TOKTYPE_UNUSED;
        return (size_t)snprintf(out, 32, "[PAD%d]", id);
    }
    if (t->tok_added[id]) {
        *type = t->tok_added[id] == 2 ? ZY__TOKTYPE_CONTROL : ZY__TOKTYPE_USER_DEFINED;
        memcpy(out, b, n);
        return n;
    }
    *type = ZY__TOKTYPE_NORMAL;
    return zy__bytelevel_encode((const uint8_t *)b, n, out);
}

zy_status zy__gguf_vocab_bpe(const zy_tokenizer *t, zy__gguf_vocab *v) {
    memset(v, 0, sizeof *v);
    if (t->type != ZY_TOKENIZER_BPE)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: a %s tokenizer, not byte-level BPE",
                         t->source, zy_tokenizer_type_name(t->type));
    int n = t->n_vocab, m = t->n_merges;
    // Room: two bytes per raw byte (or the [PAD] text) for every token; a merge is its two
    // halves spelled and a space.
    size_t room = 0;
    for (int id = 0; id < n; id++)
        room += 2 * (size_t)(t->tok_len[id] == UINT32_MAX ? 16 : t->tok_len[id]) + 1;
    for (int r = 0; r < m; r++)
        room += 2 * ((size_t)t->tok_len[t->merge_a[r]] + t->tok_len[t->merge_b[r]]) + 2;
    v->tok = zy_alloc((size_t)n * sizeof *v->tok);
    v->len = zy_alloc((size_t)n * sizeof *v->len);
    v->type = zy_alloc((size_t)n * sizeof *v->type);
    v->merge = zy_alloc(((size_t)m + 1) * sizeof *v->merge);
    v->merge_len = zy_alloc(((size_t)m + 1) * sizeof *v->merge_len);
    v->pool = zy_alloc(room + 32);
    if (!v->tok || !v->len || !v->type || !v->merge || !v->merge_len || !v->pool) {
        zy__gguf_vocab_free(v);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", t->source);
    }
    char *p = v->pool;
    for (int id = 0; id < n; id++) {
        v->tok[id] = p;
        v->len[id] = spell(t, id, p, &v->type[id]);
        p += v->len[id] + 1;
    }
    for (int r = 0; r < m; r++) {
        int32_t type;
        v->merge[r] = p;
        size_t k = spell(t, t->merge_a[r], p, &type);
        p[k++] = ' ';
        k += spell(t, t->merge_b[r], p + k, &type);
        v->merge_len[r] = k;
        p += k + 1;
    }
    v->n = n;
    v->n_merges = m;
    return ZY_STATUS_OK;
}

zy_status zy__gguf_vocab_wordpiece(const zy_tokenizer *t, zy__gguf_vocab *v) {
    memset(v, 0, sizeof *v);
    if (t->type != ZY_TOKENIZER_WORDPIECE)
        return zy__error(ZY_STATUS_UNSUPPORTED, "%s: a %s tokenizer, not WordPiece", t->source,
                         zy_tokenizer_type_name(t->type));
    int n = t->n_vocab;
    size_t room = 0;
    for (int id = 0; id < n; id++)
        room += (t->tok_len[id] == UINT32_MAX ? 16 : t->tok_len[id]) + 4;
    v->tok = zy_alloc((size_t)n * sizeof *v->tok);
    v->len = zy_alloc((size_t)n * sizeof *v->len);
    v->type = zy_alloc((size_t)n * sizeof *v->type);
    v->merge = zy_alloc(sizeof *v->merge);
    v->merge_len = zy_alloc(sizeof *v->merge_len);
    v->pool = zy_alloc(room + 32);
    if (!v->tok || !v->len || !v->type || !v->merge || !v->merge_len || !v->pool) {
        zy__gguf_vocab_free(v);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", t->source);
    }
    char *p = v->pool;
    size_t k = t->wp.prefix_len;
    for (int id = 0; id < n; id++) {
        size_t len;
        const char *b = zy_tokenizer_token_bytes(t, id, &len);
        v->tok[id] = p;
        if (!b) {
            v->type[id] = ZY__TOKTYPE_UNUSED;
            len = (size_t)snprintf(p, 32, "[PAD%d]", id);
        } else if (t->tok_added[id]) { // special and added tokens: as they are
            v->type[id] = t->tok_added[id] == 2 ? ZY__TOKTYPE_CONTROL : ZY__TOKTYPE_USER_DEFINED;
            memcpy(p, b, len);
        } else if (zy_tokenizer_is_continuation(t, id)) { // "##ing" -> "ing"
            v->type[id] = ZY__TOKTYPE_NORMAL;
            memcpy(p, b + k, len - k);
            len -= k;
        } else { // a word's first piece: U+2581 (3 bytes) in front
            v->type[id] = ZY__TOKTYPE_NORMAL;
            memcpy(p, "\xe2\x96\x81", 3);
            memcpy(p + 3, b, len);
            len += 3;
        }
        p[len] = '\0';
        v->len[id] = len;
        p += len + 1;
    }
    v->n = n;
    return ZY_STATUS_OK;
}

bool zy__gguf_wordpiece_is_uncased(const zy_tokenizer *t) {
    int8_t strip = t->wp.strip_accents < 0 ? (int8_t)t->wp.lowercase : t->wp.strip_accents;
    return t->type == ZY_TOKENIZER_WORDPIECE && t->wp.lowercase && strip && t->wp.chinese;
}

zy_status zy__gguf_vocab_load_bpe(zy_tokenizer **out, const zy_gguf_str *tokens, int n,
                                  const int32_t *types, const zy_gguf_str *merges,
                                  int n_merges, int32_t eos, const char *source) {
    *out = NULL;
    if (n < 256)
        return BAD("%s: tokenizer.ggml.tokens has %d tokens; byte-level BPE needs at least the "
                   "256 single bytes", source, n);
    zy_tokenizer *t;
    zy_status s = zy__tok_create(&t, n);
    if (s) return s;
    uint8_t *buf = zy_alloc(2 * (size_t)ZY__TOK_MAX_LEN + 2);
    if (!buf) {
        zy_tokenizer_free(t);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", source);
    }
    char what[400];
    for (int id = 0; id < n && !s; id++) {
        int32_t ty = types ? types[id] : ZY__TOKTYPE_NORMAL;
        const zy_gguf_str *w = &tokens[id];
        snprintf(what, sizeof what, "%s: tokenizer.ggml.tokens[%d]", source, id);
        if (ty == ZY__TOKTYPE_UNUSED) continue; // an id without a token
        if (ty == ZY__TOKTYPE_CONTROL || ty == ZY__TOKTYPE_USER_DEFINED) {
            if (memchr(w->s, 0, w->len)) s = BAD("%s holds a NUL byte", what);
            else s = zy__tok_add(t, id, (const uint8_t *)w->s, w->len,
                                 ty == ZY__TOKTYPE_CONTROL ? 2 : 1, what);
            continue;
        }
        if (ty != ZY__TOKTYPE_NORMAL && ty != ZY__TOKTYPE_BYTE) {
            s = zy__error(ZY_STATUS_UNSUPPORTED, "%s has token type %d (zhuyi reads normal 1, "
                          "control 3, user-defined 4, unused 5 and byte 6)", what, (int)ty);
            continue;
        }
        long k = w->len <= 2 * (uint64_t)ZY__TOK_MAX_LEN
                     ? zy__bytelevel_decode(w->s, (size_t)w->len, buf) : -1;
        if (k <= 0) s = BAD("%s '%.40s' is not spelled in GPT-2's byte-level alphabet (or is "
                            "empty or too long)", what, w->s);
        else s = zy__tok_add(t, id, buf, (size_t)k, 0, what);
    }
    for (int r = 0; r < n_merges && !s; r++) {
        const zy_gguf_str *w = &merges[r];
        snprintf(what, sizeof what, "%s: tokenizer.ggml.merges[%d]", source, r);
        char mwhat[420]; // zy__tok_add_merge appends " <index>: ..."
        snprintf(mwhat, sizeof mwhat, "%s: tokenizer.ggml.merges entry", source);
        // llama.cpp splits at the first space after the first byte.
        const char *sp = w->len > 1 ? memchr(w->s + 1, ' ', w->len - 1) : NULL;
        if (!sp) {
            s = BAD("%s '%.40s' is not \"left right\"", what, w->s);
            break;
        }
        size_t la = (size_t)(sp - w->s), lb = w->len - la - 1;
        long ka = la <= 2 * (size_t)ZY__TOK_MAX_LEN ? zy__bytelevel_decode(w->s, la, buf) : -1;
        int32_t a = ka > 0 ? zy_tokenizer_find(t, (const char *)buf, (size_t)ka) : -1;
        long kb = lb <= 2 * (size_t)ZY__TOK_MAX_LEN ? zy__bytelevel_decode(sp + 1, lb, buf) : -1;
        int32_t b = kb > 0 ? zy_tokenizer_find(t, (const char *)buf, (size_t)kb) : -1;
        if (a < 0 || b < 0)
            s = BAD("%s '%.40s' names a token that is not in tokenizer.ggml.tokens", what, w->s);
        else
            s = zy__tok_add_merge(t, a, b, mwhat, r);
    }
    if (!s && eos >= 0) {
        if (eos >= n || t->tok_len[eos] == UINT32_MAX)
            s = BAD("%s: tokenizer.ggml.eos_token_id %d is not a token", source, (int)eos);
        else
            t->special[ZY_SPECIAL_EOS] = eos;
    }
    if (!s) s = zy__tok_finish(t, source);
    zy_free(buf);
    if (s) {
        zy_tokenizer_free(t);
        return s;
    }
    zy__tok_set_source(t, source);
    *out = t;
    return ZY_STATUS_OK;
}
