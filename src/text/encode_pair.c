// Encoding with options over either kind of tokenizer: each text alone with byte offsets,
// truncation to max_length (longest-first as BertTokenizer does it, only-first,
// only-second), the post-processor's template ([CLS] A [SEP] B [SEP] with token type
// ids), and padding. Not for the tokenization itself (encode.c, wp_encode.c).
#include <string.h>

#include "bpe.h"
#include "core/internal.h"
#include "wordpiece.h"

zy_encode_params zy_encode_default_params(void) {
    return (zy_encode_params){.flags = 0, .add_special = 1, .max_length = 0,
                              .truncation = ZY_TRUNCATE_LONGEST_FIRST, .pad = 0};
}

zy_status zy__tok_encode_spans(zy_tokenizer *t, const uint8_t *s, size_t len, unsigned flags,
                               int32_t *ids, size_t *offsets, size_t cap, size_t *n) {
    if (t->type == ZY_TOKENIZER_WORDPIECE)
        return zy__wp_encode(t, s, len, flags, ids, offsets, cap, n);
    zy_status st = zy_tokenizer_encode(t, (const char *)s, len, flags, ids, cap, n);
    if (st || !offsets) return st;
    // Byte-level BPE tokens tile the text exactly: each covers its own bytes.
    size_t at = 0;
    for (size_t i = 0; i < *n; i++) {
        offsets[2 * i] = at;
        at += t->tok_len[ids[i]];
        offsets[2 * i + 1] = at;
    }
    return ZY_STATUS_OK;
}

// The template to use, as pieces; for no template: A (type 0) and B (type 1).
static zy_status pieces(const zy_tokenizer *t, int pair, int add_special,
                        const zy__tpl_piece **p, int *n) {
    static const zy__tpl_piece plain[2] = {{0, 0, -1}, {1, 1, -1}};
    if (add_special && t->type == ZY_TOKENIZER_WORDPIECE && !t->tpl.n_single) {
        int32_t id;
        zy_status s; // name the missing token and the file
        if ((s = zy_tokenizer_special_id(t, ZY_SPECIAL_CLS, &id)) ||
            (s = zy_tokenizer_special_id(t, ZY_SPECIAL_SEP, &id)))
            return s;
    }
    if (add_special && t->tpl.n_single) {
        *p = pair ? t->tpl.pair : t->tpl.single;
        *n = pair ? t->tpl.n_pair : t->tpl.n_single;
    } else {
        *p = plain;
        *n = pair ? 2 : 1;
    }
    return ZY_STATUS_OK;
}

static int n_specials(const zy__tpl_piece *p, int n) {
    int k = 0;
    for (int i = 0; i < n; i++) k += p[i].seq < 0;
    return k;
}

size_t zy_tokenizer_encode_pair_cap(const zy_tokenizer *t, size_t len_a, size_t len_b,
                                    zy_encode_params params) {
    int k = 0;
    if (t && params.add_special) k = ZY_MAX(n_specials(t->tpl.single, t->tpl.n_single),
                                            n_specials(t->tpl.pair, t->tpl.n_pair));
    size_t n = len_a + len_b + (size_t)k; // every token covers at least one byte
    if (params.max_length && params.truncation != ZY_TRUNCATE_NONE)
        n = ZY_MIN(n, params.max_length);
    if (params.pad) n = ZY_MAX(n, params.max_length);
    return n;
}

zy_status zy_tokenizer_encode_pair(zy_tokenizer *t, const char *a, size_t len_a,
                                   const char *b, size_t len_b, zy_encode_params params,
                                   zy_encoding *out) {
    if (!t || !out || !out->ids || (!a && len_a) || (!b && len_b))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer encode_pair: NULL argument");
    if ((unsigned)params.truncation > ZY_TRUNCATE_ONLY_SECOND)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer encode_pair: unknown "
                         "truncation %d", (int)params.truncation);
    out->n = out->n_attend = out->n_truncated = 0;
    int pair = b != NULL, np;
    const zy__tpl_piece *tp;
    zy_status s = pieces(t, pair, params.add_special, &tp, &np);
    if (s) return s;
    size_t n_sp = (size_t)n_specials(tp, np), cap[2] = {len_a + 1, len_b + 1}, n[2] = {0, 0};
    if (params.pad && !params.max_length)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer encode_pair: padding needs "
                         "max_length");
    int32_t pad_id = -1;
    if (params.pad && (s = zy_tokenizer_special_id(t, ZY_SPECIAL_PAD, &pad_id))) return s;
    int32_t *ids[2] = {zy_alloc(cap[0] * sizeof(int32_t)), zy_alloc(cap[1] * sizeof(int32_t))};
    size_t *off[2] = {zy_alloc(2 * cap[0] * sizeof(size_t)), zy_alloc(2 * cap[1] * sizeof(size_t))};
    if (!ids[0] || !ids[1] || !off[0] || !off[1]) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer encode_pair: out of memory");
        goto done;
    }
    if ((s = zy__tok_encode_spans(t, (const uint8_t *)a, len_a, params.flags, ids[0], off[0],
                                  cap[0], &n[0])))
        goto done;
    if (pair && (s = zy__tok_encode_spans(t, (const uint8_t *)b, len_b, params.flags, ids[1],
                                          off[1], cap[1], &n[1])))
        goto done;
    size_t max = params.max_length;
    if (max) {
        if (max < n_sp) {
            s = zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer encode_pair: max_length %zu "
                          "leaves no room beside the %zu special tokens", max, n_sp);
            goto done;
        }
        size_t budget = max - n_sp, total = n[0] + n[1];
        if (total > budget) {
            size_t excess = total - budget;
            switch (params.truncation) {
            case ZY_TRUNCATE_NONE:
                s = zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer encode_pair: %zu tokens, "
                              "more than max_length %zu, and no truncation asked", total + n_sp,
                              max);
                goto done;
            case ZY_TRUNCATE_LONGEST_FIRST:
                // One token at a time from the longer text; the second on a tie.
                if (n[0] > n[1]) {
                    size_t d = ZY_MIN(excess, n[0] - n[1]);
                    n[0] -= d, excess -= d;
                } else if (n[1] > n[0]) {
                    size_t d = ZY_MIN(excess, n[1] - n[0]);
                    n[1] -= d, excess -= d;
                }
                // Now equal (or done): alternate, the second first.
                n[1] -= (excess + 1) / 2;
                n[0] -= excess / 2;
                break;
            case ZY_TRUNCATE_ONLY_FIRST:
            case ZY_TRUNCATE_ONLY_SECOND: {
                int which = params.truncation == ZY_TRUNCATE_ONLY_SECOND;
                if ((which && !pair) || n[which] < excess) {
                    s = zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer encode_pair: "
                                  "truncating only the %s text cannot remove %zu tokens (it "
                                  "has %zu)", which ? "second" : "first", excess, n[which]);
                    goto done;
                }
                n[which] -= excess;
                break;
            }
            }
            out->n_truncated = total - n[0] - n[1];
        }
    }
    size_t total = n_sp + n[0] + n[1], padded = params.pad ? ZY_MAX(total, max) : total;
    if (out->cap < padded) {
        s = zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer encode_pair: output room %zu "
                      "tokens, %zu needed", out->cap, padded);
        goto done;
    }
    size_t o = 0;
    for (int i = 0; i < np; i++) {
        int q = tp[i].seq;
        size_t m = q < 0 ? 1 : n[q];
        for (size_t k = 0; k < m; k++, o++) {
            out->ids[o] = q < 0 ? tp[i].id : ids[q][k];
            if (out->type_ids) out->type_ids[o] = tp[i].type_id;
            if (out->seq_ids) out->seq_ids[o] = (int8_t)q;
            if (out->offsets) {
                out->offsets[2 * o] = q < 0 ? 0 : off[q][2 * k];
                out->offsets[2 * o + 1] = q < 0 ? 0 : off[q][2 * k + 1];
            }
        }
    }
    for (; o < padded; o++) {
        out->ids[o] = pad_id;
        if (out->type_ids) out->type_ids[o] = 0;
        if (out->seq_ids) out->seq_ids[o] = -1;
        if (out->offsets) out->offsets[2 * o] = out->offsets[2 * o + 1] = 0;
    }
    out->n = padded;
    out->n_attend = total;
done:
    zy_free(ids[0]);
    zy_free(ids[1]);
    zy_free(off[0]);
    zy_free(off[1]);
    return s;
}
