// Question-answering features (task.h, FORMATS.md "Fine-tuning data"): question first,
// context second, as Hugging Face's run_qa.py tokenizes them. The context's tokens are cut
// into windows of L = T - |question| - specials tokens; window k starts at k·(L - stride)
// and the last is the first to reach the context's end (the tokenizers library's
// overflowing tokens with stride = the overlap). Each window is
// [CLS] question [SEP] window [SEP] (WordPiece; byte-level BPE: question window), token
// types 0 for the first part and 1 from the window on. The first answer is mapped to
// tokens through the byte offsets: when the window's first token starts at or before the
// answer's start and its last token ends at or after the answer's end, the span is the
// last window token starting at or before the answer's start and the first window token
// ending at or after its end (run_qa.py's two loops, kept inside the window); otherwise
// (and for examples without an answer) the span is (0, 0), the [CLS] position.
#include <string.h>

#include "core/internal.h"
#include "data/task_internal.h"

typedef unsigned long long ull;

// The ids (and byte offsets) of text alone, no special tokens; zy_alloc'd.
static zy_status encode(zy_tokenizer *tok, const char *text, size_t len, int32_t **ids,
                        size_t **off, size_t *n) {
    zy_encode_params ep = zy_encode_default_params();
    ep.add_special = 0;
    size_t cap = zy_tokenizer_encode_pair_cap(tok, len, 0, ep);
    *ids = zy_alloc(cap * sizeof **ids);
    *off = zy_alloc(2 * cap * sizeof **off);
    if (!*ids || !*off) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "features: out of memory");
    zy_encoding enc = {.ids = *ids, .offsets = *off, .cap = cap};
    zy_status st = zy_tokenizer_encode_pair(tok, text, len, NULL, 0, ep, &enc);
    *n = enc.n;
    return st;
}

zy_status zy__task_qa_features(zy_task_features *fs, const zy_task_data *d, size_t i,
                               zy_tokenizer *tok, const zy_task_feature_params *p) {
    const zy_task_example *e = &d->ex[i];
    int32_t cls = -1, sep = -1, *q = NULL, *c = NULL, *chars = NULL;
    size_t *qoff = NULL, *coff = NULL, nq = 0, nc = 0;
    zy_status st = ZY_STATUS_OK;
    if (zy_tokenizer_get_type(tok) == ZY_TOKENIZER_WORDPIECE &&
        ((st = zy_tokenizer_special_id(tok, ZY_SPECIAL_CLS, &cls)) ||
         (st = zy_tokenizer_special_id(tok, ZY_SPECIAL_SEP, &sep))))
        return st;
    int n_special = cls >= 0 ? 3 : 0, head = cls >= 0 ? 2 : 0; // [CLS] q [SEP] .. [SEP]
    if ((st = encode(tok, e->pair, e->pair_len, &q, &qoff, &nq)) ||
        (st = encode(tok, e->text, e->text_len, &c, &coff, &nc)))
        goto done;
    long long L = (long long)p->max_length - (long long)nq - n_special;
    if (L <= 0 || L <= p->doc_stride) {
        st = zy__error(ZY_STATUS_INVALID_ARGUMENT, "the question's %llu tokens leave %lld "
                       "for the context in %d, not more than doc_stride %d (a larger "
                       "max_length or a smaller doc_stride)", (ull)nq, L, p->max_length,
                       p->doc_stride);
        goto done;
    }
    // Character offsets of every context token's start and end.
    if (!(chars = zy_alloc((2 * nc + 1) * sizeof *chars))) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "features: out of memory");
        goto done;
    }
    for (size_t t = 0; t < 2 * nc; t++) chars[t] = (int32_t)coff[t];
    zy__task_chars(e->text, e->text_len, chars, chars, (int)(2 * nc));
    bool has = e->n_answers > 0, held = false;
    size_t sb = has ? e->answer_byte_starts[0] : 0, eb = has ? sb + e->answer_lens[0] : 0;
    for (size_t s = 0, w = 0;; w++) {
        size_t end = ZY_MIN(s + (size_t)L, nc), nw = end - s;
        int n = (int)(nq + nw) + n_special, ctx = (int)nq + head;
        zy_task_feature *f = zy__task_feature_add(fs, i, n, false);
        if (!f) {
            st = ZY_STATUS_OUT_OF_MEMORY;
            goto done;
        }
        int32_t *ids = (int32_t *)f->ids, *ty = (int32_t *)f->type_ids;
        int32_t *off = (int32_t *)f->offsets, *boff = (int32_t *)f->byte_offsets;
        for (int t = 0; t < n; t++) {
            ((int32_t *)f->word_ids)[t] = -1;
            off[2 * t] = off[2 * t + 1] = boff[2 * t] = boff[2 * t + 1] = -1;
        }
        int k = 0;
        if (cls >= 0) ids[k++] = cls;
        for (size_t t = 0; t < nq; t++) ids[k++] = q[t];
        if (sep >= 0) ids[k++] = sep;
        for (size_t t = s; t < end; t++, k++) {
            ids[k] = c[t];
            ty[k] = 1;
            boff[2 * k] = (int32_t)coff[2 * t], boff[2 * k + 1] = (int32_t)coff[2 * t + 1];
            off[2 * k] = chars[2 * t], off[2 * k + 1] = chars[2 * t + 1];
        }
        if (sep >= 0) ids[k] = sep, ty[k] = 1, k++;
        f->context_start = ctx;
        f->context_end = ctx + (int)nw;
        f->window = (int)w;
        f->span_start = f->span_end = e->n_answers < 0 ? -1 : 0;
        if (has && nw > 0 && coff[2 * s] <= sb && coff[2 * (end - 1) + 1] >= eb) {
            size_t a = s, b = end - 1;
            while (a + 1 < end && coff[2 * (a + 1)] <= sb) a++;
            while (b > s && coff[2 * (b - 1) + 1] >= eb) b--;
            f->span_start = ctx + (int)(a - s);
            f->span_end = ctx + (int)(b - s);
            held = true;
        } else if (e->n_answers >= 0) {
            fs->stats.n_windows_without_answer++;
        }
        if (end >= nc) break;
        s += (size_t)(L - p->doc_stride);
    }
    fs->stats.n_answers_outside += has && !held;
done:
    zy_free(q), zy_free(qoff), zy_free(c), zy_free(coff), zy_free(chars);
    return st;
}
