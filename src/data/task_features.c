// Fine-tuning examples -> features, the rows a model reads (task.h): classification through
// the tokenizer's pair encoding (template, longest-first truncation), tagging word by word
// with the tag on each word's first piece (as Hugging Face's run_ner with
// label_all_tokens=False), and the feature set's bookkeeping. Question answering's
// windows: task_qa.c.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "data/task_internal.h"

typedef unsigned long long ull;

zy_task_feature_params zy_task_feature_default_params(void) {
    return (zy_task_feature_params){.max_length = 128, .doc_stride = 32, .pad_id = -1};
}

zy_task_feature *zy__task_feature_add(zy_task_features *fs, uint64_t example, int n,
                                      bool with_targets) {
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 64;
        zy_task_feature *f = zy_alloc(cap * sizeof *f);
        float *v = fs->K ? zy_alloc(cap * (size_t)fs->K * sizeof *v) : NULL;
        if (!f || (fs->K && !v)) {
            zy_free(f);
            zy_free(v);
            zy__error(ZY_STATUS_OUT_OF_MEMORY, "features: out of memory for %llu", (ull)cap);
            return NULL;
        }
        if (fs->n) memcpy(f, fs->f, fs->n * sizeof *f);
        if (fs->n && fs->K) memcpy(v, fs->values, fs->n * (size_t)fs->K * sizeof *v);
        zy_free(fs->f);
        zy_free(fs->values);
        fs->f = f;
        fs->values = v;
        fs->cap = cap;
    }
    // One block: ids, type_ids, word_ids (N each), offsets, byte_offsets (2N each),
    // targets (N, tagging).
    size_t N = (size_t)ZY_MAX(n, 1), per = with_targets ? 8 : 7;
    int32_t *block = zy_calloc(per * N, sizeof *block);
    if (!block) {
        zy__error(ZY_STATUS_OUT_OF_MEMORY, "features: out of memory");
        return NULL;
    }
    zy_task_feature *f = &fs->f[fs->n++];
    *f = (zy_task_feature){
        .example = example, .n = n, .ids = block, .type_ids = block + N,
        .word_ids = block + 2 * N, .offsets = block + 3 * N, .byte_offsets = block + 5 * N,
        .targets = with_targets ? block + 7 * N : NULL, .label = -1,
    };
    return f;
}

void zy__task_chars(const char *s, size_t len, const int32_t *pos, int32_t *out, int n) {
    // Positions mostly ascend (token offsets): count on from the previous one.
    size_t b = 0, c = 0;
    for (int i = 0; i < n; i++) {
        if (pos[i] < 0) {
            out[i] = -1;
            continue;
        }
        size_t p = ZY_MIN((size_t)pos[i], len);
        if (p < b) b = 0, c = 0;
        c += zy__utf8_count(s + b, p - b);
        b = p;
        out[i] = (int32_t)c;
    }
}

// Room for encoding: ids, type ids and offsets of up to cap tokens.
typedef struct scratch {
    int32_t *ids, *types;
    size_t *off;
    size_t cap;
    char *text;       // a word with a space before it (BPE)
    size_t text_cap;
} scratch;

static zy_status scratch_reserve(scratch *s, size_t cap, size_t text) {
    if (cap > s->cap) {
        cap = ZY_MAX(cap, 2 * s->cap);
        zy_free(s->ids), zy_free(s->types), zy_free(s->off);
        s->ids = zy_alloc(cap * sizeof *s->ids);
        s->types = zy_alloc(cap * sizeof *s->types);
        s->off = zy_alloc(2 * cap * sizeof *s->off);
        s->cap = s->ids && s->types && s->off ? cap : 0;
        if (!s->cap) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "features: out of memory");
    }
    if (text > s->text_cap) {
        zy_free(s->text);
        s->text = zy_alloc(ZY_MAX(text, 2 * s->text_cap));
        s->text_cap = s->text ? ZY_MAX(text, 2 * s->text_cap) : 0;
        if (!s->text) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "features: out of memory");
    }
    return ZY_STATUS_OK;
}

static void scratch_free(scratch *s) {
    zy_free(s->ids), zy_free(s->types), zy_free(s->off), zy_free(s->text);
}

static void put_labels(zy_task_features *fs, const zy_task_data *d, const zy_task_example *e,
                       zy_task_feature *f) {
    if (d->problem == ZY_PROBLEM_SINGLE_LABEL) {
        f->label = e->label;
        return;
    }
    float *v = fs->values + (fs->n - 1) * (size_t)fs->K;
    if (d->problem == ZY_PROBLEM_REGRESSION) {
        v[0] = e->value;
        return;
    }
    for (int k = 0; k < fs->K; k++) v[k] = e->n_labels < 0 ? NAN : 0.0f;
    for (int k = 0; k < e->n_labels; k++) v[e->labels[k]] = 1.0f;
}

static zy_status classify(zy_task_features *fs, const zy_task_data *d, size_t i,
                          zy_tokenizer *tok, const zy_task_feature_params *p, scratch *s) {
    const zy_task_example *e = &d->ex[i];
    zy_encode_params ep = zy_encode_default_params();
    ep.max_length = (size_t)p->max_length;
    ep.truncation = ZY_TRUNCATE_LONGEST_FIRST;
    size_t cap = zy_tokenizer_encode_pair_cap(tok, e->text_len, e->pair ? e->pair_len : 0, ep);
    zy_status st = scratch_reserve(s, cap, 0);
    if (st) return st;
    zy_encoding enc = {.ids = s->ids, .type_ids = s->types, .cap = s->cap};
    st = zy_tokenizer_encode_pair(tok, e->text, e->text_len, e->pair, e->pair_len, ep, &enc);
    if (st) return st;
    zy_task_feature *f = zy__task_feature_add(fs, i, (int)enc.n, false);
    if (!f) return ZY_STATUS_OUT_OF_MEMORY;
    for (size_t t = 0; t < enc.n; t++) {
        ((int32_t *)f->ids)[t] = s->ids[t];
        ((int32_t *)f->type_ids)[t] = s->types[t];
        ((int32_t *)f->word_ids)[t] = -1;
        ((int32_t *)f->offsets)[2 * t] = ((int32_t *)f->offsets)[2 * t + 1] = -1;
        ((int32_t *)f->byte_offsets)[2 * t] = ((int32_t *)f->byte_offsets)[2 * t + 1] = -1;
    }
    fs->stats.n_truncated += enc.n_truncated > 0;
    put_labels(fs, d, e, f);
    return ZY_STATUS_OK;
}

// [CLS] and [SEP] for WordPiece (the BERT template), none for byte-level BPE.
static zy_status specials(zy_tokenizer *tok, int32_t *cls, int32_t *sep) {
    *cls = *sep = -1;
    if (zy_tokenizer_get_type(tok) != ZY_TOKENIZER_WORDPIECE) return ZY_STATUS_OK;
    zy_status st = zy_tokenizer_special_id(tok, ZY_SPECIAL_CLS, cls);
    if (!st) st = zy_tokenizer_special_id(tok, ZY_SPECIAL_SEP, sep);
    return st;
}

static zy_status tag(zy_task_features *fs, const zy_task_data *d, size_t i,
                     zy_tokenizer *tok, const zy_task_feature_params *p, scratch *s) {
    const zy_task_example *e = &d->ex[i];
    int32_t cls, sep;
    zy_status st = specials(tok, &cls, &sep);
    if (st) return st;
    bool bpe = zy_tokenizer_get_type(tok) == ZY_TOKENIZER_BPE;
    int T = p->max_length, room = T - (cls >= 0) - (sep >= 0);
    // Worst case: every byte a token (+1: BPE's space).
    size_t total = 0;
    for (int w = 0; w < e->n_words; w++) total += e->word_lens[w] + 1;
    int n_max = (int)ZY_MIN(total, (size_t)room) + (cls >= 0) + (sep >= 0);
    zy_task_feature *f = zy__task_feature_add(fs, i, n_max, e->tags != NULL);
    if (!f) return ZY_STATUS_OUT_OF_MEMORY;
    int32_t *ids = (int32_t *)f->ids, *wid = (int32_t *)f->word_ids;
    int32_t *off = (int32_t *)f->offsets, *boff = (int32_t *)f->byte_offsets;
    int32_t *tg = (int32_t *)f->targets;
    int n = 0;
    bool cut = false;
    if (cls >= 0) ids[n] = cls, wid[n] = -1, off[2 * n] = off[2 * n + 1] = -1, n++;
    zy_encode_params ep = zy_encode_default_params();
    ep.add_special = 0;
    for (int w = 0; w < e->n_words; w++) {
        size_t len = e->word_lens[w] + (bpe ? 1 : 0);
        if ((st = scratch_reserve(s, len + 1, len))) return st;
        if (bpe) s->text[0] = ' ';
        memcpy(s->text + (bpe ? 1 : 0), e->words[w], e->word_lens[w]);
        zy_encoding enc = {.ids = s->ids, .offsets = s->off, .cap = s->cap};
        if ((st = zy_tokenizer_encode_pair(tok, s->text, len, NULL, 0, ep, &enc))) return st;
        if (enc.n == 0) fs->stats.n_words_empty++;
        if (enc.n > 0 && n - (cls >= 0) >= room) fs->stats.n_words_truncated++;
        for (size_t k = 0; k < enc.n; k++) {
            if (n - (cls >= 0) >= room) {
                cut = true;
                break;
            }
            size_t a = s->off[2 * k], b = s->off[2 * k + 1];
            if (bpe) a = a ? a - 1 : 0, b = b ? b - 1 : 0; // the space is not the word's
            ids[n] = s->ids[k];
            wid[n] = w;
            boff[2 * n] = (int32_t)a, boff[2 * n + 1] = (int32_t)b;
            off[2 * n] = (int32_t)zy__utf8_count(e->words[w], a);
            off[2 * n + 1] = (int32_t)zy__utf8_count(e->words[w], b);
            if (tg) tg[n] = k == 0 ? e->tags[w] : -1;
            n++;
        }
    }
    if (sep >= 0) ids[n] = sep, wid[n] = -1, off[2 * n] = off[2 * n + 1] = -1, n++;
    for (int t = 0; t < n; t++) {
        if (wid[t] < 0) {
            boff[2 * t] = boff[2 * t + 1] = -1;
            if (tg) tg[t] = -1;
        }
    }
    f->n = n;
    fs->stats.n_truncated += cut;
    return ZY_STATUS_OK;
}

void zy_task_features_free(zy_task_features *fs) {
    if (!fs) return;
    for (size_t i = 0; i < fs->n; i++) zy_free((void *)fs->f[i].ids);
    zy_free(fs->f);
    zy_free(fs->values);
    zy_free(fs);
}

zy_status zy_task_features_create(zy_task_features **out, const zy_task_data *d,
                                  zy_tokenizer *tok, const zy_task_feature_params *p) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "features: nowhere to put them");
    *out = NULL;
    if (!d || !tok || !p)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "features: no data, tokenizer or params");
    if (p->max_length < 4 || p->max_length > (1 << 20))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "features: max_length %d is outside "
                         "[4, 2^20]", p->max_length);
    if (d->task == ZY_TASK_QA && (p->doc_stride < 0 || p->doc_stride >= p->max_length))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "features: doc_stride %d is outside "
                         "[0, max_length %d)", p->doc_stride, p->max_length);
    int pad = p->pad_id;
    if (pad < 0) {
        int32_t id = 0;
        if (zy_tokenizer_special_id(tok, ZY_SPECIAL_PAD, &id) &&
            zy_tokenizer_special_id(tok, ZY_SPECIAL_EOS, &id))
            id = 0;
        zy_clear_error();
        pad = id;
    }
    zy_task_features *fs = zy_calloc(1, sizeof *fs);
    if (!fs) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "features: out of memory");
    fs->task = d->task;
    fs->problem = d->problem;
    fs->labelled = d->labelled;
    fs->pad_id = pad;
    fs->max_length = p->max_length;
    if (d->task == ZY_TASK_CLASSIFY && d->problem != ZY_PROBLEM_SINGLE_LABEL)
        fs->K = d->problem == ZY_PROBLEM_REGRESSION ? 1 : zy_label_set_count(d->labels);
    if (d->task == ZY_TASK_CLASSIFY && d->problem == ZY_PROBLEM_MULTI_LABEL && fs->K == 0)
        fs->K = 1; // unlabelled data read without a set: values are never used
    scratch s = {0};
    zy_status st = ZY_STATUS_OK;
    for (size_t i = 0; i < d->n && !st; i++) {
        st = d->task == ZY_TASK_CLASSIFY ? classify(fs, d, i, tok, p, &s)
             : d->task == ZY_TASK_TAG    ? tag(fs, d, i, tok, p, &s)
                                         : zy__task_qa_features(fs, d, i, tok, p);
        if (st && st != ZY_STATUS_OUT_OF_MEMORY && d->path) {
            char why[512];
            snprintf(why, sizeof why, "%s", zy_last_error());
            st = zy__error(st, "%s:%llu: %s", d->path, (ull)d->ex[i].line, why);
        }
    }
    scratch_free(&s);
    if (st) {
        zy_task_features_free(fs);
        return st;
    }
    for (size_t i = 0; fs->K && fs->labelled && i < fs->n; i++)
        fs->f[i].values = fs->values + i * (size_t)fs->K;
    fs->stats.n_features = fs->n;
    *out = fs;
    return ZY_STATUS_OK;
}

size_t zy_task_features_count(const zy_task_features *f) { return f ? f->n : 0; }
const zy_task_feature *zy_task_features_get(const zy_task_features *f, size_t i) {
    return f && i < f->n ? &f->f[i] : NULL;
}
const zy_task_feature_stats *zy_task_features_stats(const zy_task_features *f) {
    return &f->stats;
}
