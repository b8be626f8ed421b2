// libFuzzer harness: the BERT pretraining source -- a corpus of documents built from text
// (zy_corpus_add_text, src/data/corpus.c) or sentence by sentence from fuzzed ids
// (zy_corpus_add_sentence / zy_corpus_end_document), then zy_mlm_source_create
// (mlm_build.c, mlm_source.c) with fuzzed parameters and next/tell/seek/shard on it.
//
// Input: 12 control bytes, then the body.
//   [0] bits 0-1 the corpus: 0 text through a byte-level BPE of 257 tokens (no merges:
//       ids are bytes; the four specials are 257..260, vocab_size 261), 1 text through a
//       tiny WordPiece ([PAD] [UNK] [CLS] [SEP] [MASK] = 0..4), 2 the body as ids (each
//       byte an id below vocab_size that is not special; 0xFF ends a sentence, 0xFE a
//       document), 3 the same with ids that may be out of range or special;
//       bit 2 nsp, 3 shuffle, 4 one_pass, 5 static_masking, 6 whole-word masking
//       (continuation flags: WordPiece "##" tokens, UTF-8 continuation bytes, or a
//       seeded third of the ids), 7 omit_labels
//   [1] seq (3..47, or one of 8 bad or edge values)   [2] batch (1..4, or bad)
//   [3] seed   [4] mask_prob (bits 0-2), mask/random token probabilities (bits 3-5),
//   short_seq_prob (bits 6-7)   [5] max_predictions (0..7, or -1, 1000)
//   [6] dupe_factor (1..3, or 0, 10001)   [7] vocab_size for the id corpora (5..68)
//   [8] bits 0-1 where the specials are (top or bottom of the vocabulary, or two equal,
//       or one out of range), bits 4-6 a malformed copy of the corpus to be refused,
//       bit 7 the text added as two texts
//   [9] bits 0-2 the told batch   [10], [11] two fuzzed seek positions
// Properties checked on every input:
//  - the corpus from text is an independent reading of data.h's rules (one sentence a
//    line, stripped of ASCII white space, blank lines and each text's end ending the
//    document, lines encoding to no ids skipped), every offset consistent;
//  - create accepts exactly when the documented checks pass (a refusal is
//    ZY_STATUS_INVALID_ARGUMENT whose message names a rule that is broken: the sizes,
//    seq, shuffle with one_pass, vocab_size, a special id, dupe_factor, the probabilities,
//    max_predictions, an empty corpus, the document/sentence/position of a bad id, NSP
//    with one document, too few examples); without NSP and short sequences the example
//    count is modelled exactly; a malformed copy of the corpus is refused;
//  - every batch: ids in [0, vocab_size); rows [CLS] A [SEP] B [SEP] (or [CLS] text [SEP])
//    with A, B >= 1 token, lengths <= seq, then [PAD] to seq; token types 0 for [CLS] A
//    [SEP] and padding, 1 for B [SEP]; NSP labels 0/1; targets -1 except at masked text
//    positions, where they are the original (never special) id; [MASK] only there, a
//    replaced token never special, and as the probabilities say; per row exactly
//    max(1, round(n * mask_prob)) targets (capped by max_predictions), with whole-word
//    masking whole words and at most that many, or the documented fallback;
//  - the order: rows are the examples of a one-pass source (list order) at the model's
//    positions (sequential), or, shuffled, each epoch a sub-multiset of them; masks equal
//    the one-pass ones where the mask epoch is 0 (static masking, or epoch 0); tell()
//    follows the model (epoch, examples taken); without NSP the examples tile each pass
//    of the corpus (greedy packing, exactly when short_seq_prob is 0); with NSP A and B
//    are runs of documents, the same one after A for IsNext and another one for NotNext;
//  - a fresh source seeked to a told position yields the same batches; the same
//    parameters twice give the same batches; fuzzed seeks are refused exactly when
//    impossible and are followed by the model's batch;
//  - two shards of B rows = one source of 2B rows (or both refused when the examples do
//    not fill 2B rows), with the same fingerprint; bad ranks are refused.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static zy_tokenizer *bpe, *wp;

static const char TRAIN_TEXT[] =
    "In the beginning God created the heaven and the earth.\n"
    "And the earth was without form, and void; and darkness was upon the face of the deep.\n"
    "And the Spirit of God moved upon the face of the waters. caf\xc3\xa9 na\xc3\xafve "
    "running jumped quickly unbelievable \xe4\xb8\xad\xe6\x96\x87 12345 don't\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    zy_bpe_train_params bp = zy_bpe_train_default_params();
    bp.vocab_size = 257;
    const char *text = TRAIN_TEXT;
    size_t len = sizeof TRAIN_TEXT - 1;
    zy_wordpiece_train_params wpp = zy_wordpiece_train_default_params();
    wpp.vocab_size = 160;
    if (zy_tokenizer_train_bpe_texts(&bpe, &text, &len, 1, bp) ||
        zy_tokenizer_vocab_size(bpe) != 257 ||
        zy_tokenizer_train_wordpiece_texts(&wp, &text, &len, 1, wpp) ||
        zy_tokenizer_find(wp, "[CLS]", 5) != 2 || zy_tokenizer_find(wp, "[PAD]", 5) != 0) {
        fprintf(stderr, "fuzz_mlm: training the tokenizers failed: %s\n", zy_last_error());
        abort();
    }
    return 0;
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    FZ_CHECK(p);
    return p;
}

// ---- the corpus ------------------------------------------------------------------------------
static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// The corpus data.h's rules make of texts[0..n): built here with zy_corpus_add_sentence.
static void model_text(zy_corpus *m, zy_tokenizer *tok, const char *const *texts,
                       const size_t *lens, int n) {
    for (int k = 0; k < n; k++) {
        const char *s = texts[k];
        size_t len = lens[k], i = 0;
        while (i < len) { // each line: up to '\n' or the end
            size_t e = i;
            while (e < len && s[e] != '\n') e++;
            size_t a = i, b = e;
            while (a < b && is_space(s[a])) a++;
            while (b > a && is_space(s[b - 1])) b--;
            if (a == b) {
                zy_corpus_end_document(m);
            } else {
                int32_t *ids = xmalloc((b - a) * sizeof *ids);
                size_t got;
                FZ_CHECK(zy_tokenizer_encode(tok, s + a, b - a, 0, ids, b - a, &got) == 0);
                FZ_CHECK(zy_corpus_add_sentence(m, ids, got) == ZY_STATUS_OK);
                free(ids);
            }
            i = e + 1;
        }
        zy_corpus_end_document(m);
    }
}

static void check_corpus_shape(const zy_corpus *c) {
    if (c->n_documents == 0) {
        FZ_CHECK(c->n_sentences == 0 && c->n_tokens == 0);
        return;
    }
    FZ_CHECK(c->documents[0] == 0 && c->sentences[0] == 0);
    FZ_CHECK(c->documents[c->n_documents] == c->n_sentences);
    FZ_CHECK(c->sentences[c->n_sentences] == c->n_tokens);
    for (uint64_t d = 0; d < c->n_documents; d++) FZ_CHECK(c->documents[d] < c->documents[d + 1]);
    for (uint64_t s = 0; s < c->n_sentences; s++) FZ_CHECK(c->sentences[s] < c->sentences[s + 1]);
}

static int same_corpus(const zy_corpus *a, const zy_corpus *b) {
    if (a->n_tokens != b->n_tokens || a->n_sentences != b->n_sentences ||
        a->n_documents != b->n_documents)
        return 0;
    if (!a->n_documents) return 1;
    return !memcmp(a->tokens, b->tokens, a->n_tokens * sizeof *a->tokens) &&
           !memcmp(a->sentences, b->sentences, (a->n_sentences + 1) * sizeof *a->sentences) &&
           !memcmp(a->documents, b->documents, (a->n_documents + 1) * sizeof *a->documents);
}

// ---- the rules of zy_mlm_source_create ----------------------------------------------------------
typedef struct world {
    const zy_corpus *c;
    zy_mlm_source_params p;
    int special[4]; // cls, sep, mask, pad
    uint64_t doc_of_cap;
    uint32_t *doc_of; // (n_tokens) document of each token
} world;

static int is_special(const world *w, int id) {
    for (int k = 0; k < 4; k++)
        if (id == w->special[k]) return 1;
    return 0;
}

static int bad_id(const world *w, int32_t id) {
    return id < 0 || id >= w->p.vocab_size || is_special(w, id);
}

// Keywords of the documented checks of the parameters that p breaks (n of them).
static int param_problems(const world *w, const char **kw) {
    const zy_mlm_source_params *p = &w->p;
    int n = 0;
    if (p->batch <= 0 || p->batch > (1 << 20) || p->seq > (1 << 24)) kw[n++] = "bad sizes";
    else if (p->seq < (p->nsp ? 5 : 3)) kw[n++] = "too short";
    if (p->shuffle && p->one_pass) kw[n++] = "one-pass";
    if (p->vocab_size < 5 || p->vocab_size > (1 << 30)) {
        kw[n++] = "vocab_size";
    } else {
        for (int k = 0; k < 4; k++) {
            if (w->special[k] < 0 || w->special[k] >= p->vocab_size) kw[n++] = "outside";
            for (int j = 0; j < k; j++)
                if (w->special[j] == w->special[k]) kw[n++] = "same id";
        }
    }
    if (p->dupe_factor < 1 || p->dupe_factor > 10000) kw[n++] = "dupe_factor";
    int in01 = p->short_seq_prob >= 0 && p->short_seq_prob <= 1 && p->mask_prob > 0 &&
               p->mask_prob <= 1 && p->mask_token_prob >= 0 && p->mask_token_prob <= 1 &&
               p->random_token_prob >= 0 && p->random_token_prob <= 1;
    // <= 1 as documented; 1e-6 of room for sums like 0.8f + 0.2f, which are 1 + 1.5e-8
    if (!in01 || (double)p->mask_token_prob + (double)p->random_token_prob > 1.0 + 1e-6)
        kw[n++] = "probabilities";
    if (p->max_predictions < 0) kw[n++] = "max_predictions";
    return n;
}

// The same for the corpus (checked after the parameters).
static int problems(const world *w, const char **kw) {
    int n = param_problems(w, kw);
    if (n) return n;
    const zy_mlm_source_params *p = &w->p;
    const zy_corpus *c = w->c;
    if (c->n_documents == 0) {
        kw[n++] = "empty";
        return n;
    }
    for (uint64_t t = 0; t < c->n_tokens; t++)
        if (bad_id(w, c->tokens[t])) {
            kw[n++] = "document "; // checked in detail by check_refusal
            return n;
        }
    if (p->nsp && c->n_documents < 2) kw[n++] = "2 documents";
    return n;
}

// A bad id's message names its document, sentence (corpus-wide) and position.
static int names_bad_id(const world *w, const char *msg) {
    const char *at = strstr(msg, "document ");
    unsigned long long d, s, pos;
    int id;
    if (!at || sscanf(at, "document %llu, sentence %llu, position %llu: id %d", &d, &s, &pos,
                      &id) != 4)
        return 0;
    const zy_corpus *c = w->c;
    if (d >= c->n_documents || s < c->documents[d] || s >= c->documents[d + 1]) return 0;
    if (pos >= c->sentences[s + 1] - c->sentences[s]) return 0;
    int32_t v = c->tokens[c->sentences[s] + pos];
    return v == id && bad_id(w, v);
}

static void check_refusal(const world *w, zy_status s, const char **kw, int n) {
    FZ_CHECKF(s == ZY_STATUS_INVALID_ARGUMENT, "refusal with status %d (%s)", (int)s,
              zy_status_str(s));
    const char *msg = zy_last_error();
    for (int i = 0; i < n; i++) {
        if (!strcmp(kw[i], "document ") ? names_bad_id(w, msg) : strstr(msg, kw[i]) != NULL)
            return;
    }
    fz_fail(__FILE__, __LINE__, "the refusal names none of the broken rules (first: %s)", kw[0]);
}

// Without NSP and with short_seq_prob 0 the examples are a pure function of the corpus:
// each document packed greedily into runs of whole sentences of at most T - 2 tokens, a
// longer sentence cut into pieces of exactly that.
static uint64_t model_count(const world *w) {
    const zy_corpus *c = w->c;
    uint64_t M = (uint64_t)w->p.seq - 2, n = 0;
    for (uint64_t d = 0; d < c->n_documents; d++) {
        uint64_t s0 = c->documents[d], s1 = c->documents[d + 1];
        uint64_t t = c->sentences[s0], end = c->sentences[s1];
        while (t < end) {
            uint64_t e = end;
            if (end - t > M) {
                e = t + M;
                uint64_t best = 0;
                for (uint64_t s = s0 + 1; s <= s1; s++)
                    if (c->sentences[s] > t && c->sentences[s] <= t + M) best = c->sentences[s];
                if (best) e = best;
            }
            n++;
            t = e;
        }
    }
    return n * (uint64_t)w->p.dupe_factor;
}

// ---- rows ---------------------------------------------------------------------------------------
typedef struct row {
    int len, la, lb, label;
    const int *x, *y, *ty;
    int *orig; // (T) the input with the targets put back
} row;

// Check row r of b against the layout and masking rules; fill *o (orig in buf).
static void check_row(const world *w, const zy_batch *b, int r, row *o, int *buf) {
    const zy_mlm_source_params *p = &w->p;
    int T = p->seq, V = p->vocab_size, cls = p->cls_id, sep = p->sep_id, pad = p->pad_id;
    const int *x = b->input_ids + (size_t)r * T, *y = b->targets + (size_t)r * T;
    int L = b->lengths[r];
    FZ_CHECKF(L >= (p->nsp ? 5 : 3) && L <= T, "row %d: length %d (seq %d)", r, L, T);
    for (int t = 0; t < T; t++) {
        FZ_CHECKF(x[t] >= 0 && x[t] < V, "row %d: input %d at %d", r, x[t], t);
        buf[t] = y[t] >= 0 ? y[t] : x[t];
    }
    // The segments from the original row: [CLS] A [SEP] (B [SEP]).
    int la = 0;
    while (1 + la < L && buf[1 + la] != sep) la++;
    int lb = p->nsp ? L - la - 3 : 0;
    FZ_CHECKF(buf[0] == cls && x[0] == cls && 1 + la < L && la >= 1, "row %d: no [CLS] A [SEP]", r);
    FZ_CHECKF(p->nsp ? lb >= 1 : la == L - 2, "row %d: segments %d and %d of a %d-token row", r,
              la, lb, L);
    FZ_CHECK(x[la + 1] == sep && x[L - 1] == sep && buf[L - 1] == sep);
    for (int t = L; t < T; t++) FZ_CHECKF(x[t] == pad && y[t] == -1, "row %d: padding at %d", r, t);
    FZ_CHECK(y[0] == -1 && y[la + 1] == -1 && y[L - 1] == -1);
    int count = 0, n = la + lb;
    for (int t = 1; t < L - 1; t++) {
        if (t == la + 1) continue;
        FZ_CHECKF(!is_special(w, buf[t]), "row %d: special id %d in the text at %d", r, buf[t], t);
        if (y[t] < 0) continue;
        count++;
        FZ_CHECKF(x[t] == p->mask_id || !is_special(w, x[t]), "row %d: %d replaced by a special "
                  "id %d", r, y[t], x[t]);
        if (p->mask_token_prob >= 1.0f) FZ_CHECK(x[t] == p->mask_id);
        if (p->random_token_prob == 0.0f) FZ_CHECK(x[t] == p->mask_id || x[t] == y[t]);
        if (p->mask_token_prob == 0.0f && p->random_token_prob == 0.0f) FZ_CHECK(x[t] == y[t]);
    }
    if (b->token_type_ids) {
        const int *ty = b->token_type_ids + (size_t)r * T;
        for (int t = 0; t < T; t++)
            FZ_CHECKF(ty[t] == (t >= la + 2 && t < L), "row %d: token type %d at %d", r, ty[t], t);
    }
    if (b->labels) FZ_CHECKF(b->labels[r] == 0 || b->labels[r] == 1, "label %d", b->labels[r]);
    // How many targets: max(1, floor(n mask_prob + 0.5)), capped by max_predictions.
    int num = (int)floor((double)n * (double)p->mask_prob + 0.5);
    if (num < 1) num = 1;
    if (p->max_predictions > 0 && num > p->max_predictions) num = p->max_predictions;
    if (!p->word_continuation) {
        FZ_CHECKF(count == num, "row %d: %d targets of %d tokens, the rule gives %d", r, count,
                  n, num);
    } else { // whole words: a token and the continuations after it in its segment
        int longest = 0, all_longer = 1, over_max = 0;
        for (int k = 0; k < 1 + p->nsp; k++) {
            int s0 = k ? la + 2 : 1, s1 = k ? L - 1 : la + 1;
            for (int t = s0; t < s1;) {
                int e = t + 1;
                while (e < s1 && p->word_continuation[buf[e]]) e++;
                int m = 0;
                for (int q = t; q < e; q++) m += y[q] >= 0;
                FZ_CHECKF(m == 0 || m == e - t, "row %d: part of the word at %d masked", r, t);
                longest = e - t > longest ? e - t : longest;
                all_longer &= e - t > num;
                over_max |= p->max_predictions > 0 && e - t > p->max_predictions;
                t = e;
            }
        }
        if (count == 0)
            FZ_CHECKF(all_longer && over_max, "row %d: nothing masked", r);
        else if (count > num)
            FZ_CHECKF(all_longer && count <= longest &&
                      (p->max_predictions <= 0 || count <= p->max_predictions),
                      "row %d: %d targets, more than %d", r, count, num);
    }
    *o = (row){.len = L, .la = la, .lb = lb, .label = b->labels ? b->labels[r] : -1, .x = x,
               .y = y, .ty = b->token_type_ids ? b->token_type_ids + (size_t)r * T : NULL,
               .orig = buf};
}

// ---- the example list (a one-pass source read whole) ---------------------------------------------
enum { LIST_MAX = 2048 };

typedef struct list {
    uint64_t n;
    int T;
    int *x, *y, *orig, *len, *label; // (n, T) and (n)
    uint64_t *hash;                  // (n) of orig, len, label
    uint64_t *rep;                   // (n) the first example with the same original row
    uint32_t *used;                  // (n) per epoch, rows seen of each rep (shuffled)
} list;

static uint64_t row_hash(const int *orig, int T, int len, int label) {
    return zy_hash64(zy_hash_bytes(orig, (size_t)T * sizeof *orig), (uint64_t)len * 4 + (uint64_t)(label + 1));
}

static const uint64_t *sort_hash;
static int by_hash(const void *a, const void *b) {
    uint64_t i = *(const uint64_t *)a, j = *(const uint64_t *)b;
    if (sort_hash[i] != sort_hash[j]) return sort_hash[i] < sort_hash[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

static int same_orig(const list *l, uint64_t i, const row *o) {
    return l->len[i] == o->len && l->label[i] == o->label &&
           !memcmp(l->orig + i * (size_t)l->T, o->orig, (size_t)l->T * sizeof *o->orig);
}

// Read the whole one-pass source of w's corpus and parameters; 0 if too many examples.
static int read_list(const world *w, list *l, uint64_t n) {
    memset(l, 0, sizeof *l);
    if (n > LIST_MAX) return 0;
    zy_mlm_source_params p = w->p;
    p.one_pass = true;
    p.shuffle = false;
    p.batch = 16;
    zy_data_source *s;
    FZ_CHECKF(zy_mlm_source_create(&s, w->c, &p) == ZY_STATUS_OK, "the one-pass source is refused");
    FZ_CHECK(zy_data_source_get_info(s)->n_items == n);
    int T = p.seq;
    l->n = n, l->T = T;
    l->x = xmalloc(n * T * sizeof(int)), l->y = xmalloc(n * T * sizeof(int));
    l->orig = xmalloc(n * T * sizeof(int));
    l->len = xmalloc(n * sizeof(int)), l->label = xmalloc(n * sizeof(int));
    l->hash = xmalloc(n * sizeof(uint64_t)), l->rep = xmalloc(n * sizeof(uint64_t));
    l->used = calloc(n ? n : 1, sizeof(uint32_t));
    FZ_CHECK(l->used);
    zy_batch b;
    FZ_CHECK(zy_batch_init(&b, &zy_data_source_get_info(s)->dims) == 0);
    uint64_t got = 0;
    for (;;) {
        FZ_CHECK(zy_data_source_next(s, &b) == ZY_STATUS_OK);
        if (b.B == 0) break;
        FZ_CHECK(got + (uint64_t)b.B <= n);
        for (int r = 0; r < b.B; r++, got++) {
            row o;
            check_row(w, &b, r, &o, l->orig + got * T);
            memcpy(l->x + got * T, o.x, T * sizeof(int));
            memcpy(l->y + got * T, o.y, T * sizeof(int));
            l->len[got] = o.len;
            l->label[got] = o.label;
            l->hash[got] = row_hash(o.orig, T, o.len, o.label);
        }
    }
    FZ_CHECKF(got == n, "the one-pass source gave %llu of %llu examples",
              (unsigned long long)got, (unsigned long long)n);
    FZ_CHECK(zy_data_source_next(s, &b) == 0 && b.B == 0); // and stays done
    zy_batch_destroy(&b);
    zy_data_source_free(s);
    uint64_t *idx = xmalloc(n * sizeof *idx);
    for (uint64_t i = 0; i < n; i++) idx[i] = i;
    sort_hash = l->hash;
    qsort(idx, n, sizeof *idx, by_hash);
    for (uint64_t k = 0; k < n; k++) {
        uint64_t i = idx[k];
        l->rep[i] = i;
        for (uint64_t j = k; j-- > 0 && l->hash[idx[j]] == l->hash[i];) {
            row o = {.len = l->len[i], .label = l->label[i], .orig = l->orig + i * T};
            if (same_orig(l, idx[j], &o)) {
                l->rep[i] = l->rep[idx[j]];
                break;
            }
        }
    }
    free(idx);
    return 1;
}

static void free_list(list *l) {
    free(l->x), free(l->y), free(l->orig), free(l->len), free(l->label), free(l->hash);
    free(l->rep), free(l->used);
}

// Where the run v[0..n) occurs inside one document: per document the first and the last
// start (-1: nowhere); returns the number of documents holding it.
static uint64_t find_runs(const world *w, const int *v, int n, int64_t *first, int64_t *last) {
    const zy_corpus *c = w->c;
    uint64_t docs = 0;
    for (uint64_t d = 0; d < c->n_documents; d++) first[d] = last[d] = -1;
    for (uint64_t p = 0; p + (uint64_t)n <= c->n_tokens; p++) {
        int k = 0;
        while (k < n && c->tokens[p + k] == v[k]) k++;
        uint32_t d = w->doc_of[p];
        if (k < n || d != w->doc_of[p + n - 1]) continue;
        docs += first[d] < 0;
        if (first[d] < 0) first[d] = (int64_t)p;
        last[d] = (int64_t)p;
    }
    return docs;
}

// The examples against the construction rules of data.h.
static void check_examples(const world *w, const list *l) {
    const zy_corpus *c = w->c;
    int T = l->T;
    if (!w->p.nsp) { // the examples tile each pass of the corpus, never crossing documents
        uint64_t t = 0, M = (uint64_t)T - 2, passes = 0;
        for (uint64_t i = 0; i < l->n; i++) {
            const int *text = l->orig + i * T + 1;
            uint64_t k = (uint64_t)l->len[i] - 2, d = w->doc_of[t];
            FZ_CHECKF(k <= M && t + k <= c->n_tokens, "example %llu: %llu tokens",
                      (unsigned long long)i, (unsigned long long)k);
            FZ_CHECKF(!memcmp(text, c->tokens + t, k * sizeof *text) && w->doc_of[t + k - 1] == d,
                      "example %llu is not the corpus from token %llu on, within a document",
                      (unsigned long long)i, (unsigned long long)t);
            if (w->p.short_seq_prob == 0.0f) { // greedy: whole sentences, or a cut sentence
                uint64_t end = c->sentences[c->documents[d + 1]], want = end - t;
                if (end - t > M) {
                    want = M;
                    uint64_t best = 0;
                    for (uint64_t s = c->documents[d] + 1; s <= c->documents[d + 1]; s++)
                        if (c->sentences[s] > t && c->sentences[s] <= t + M) best = c->sentences[s];
                    if (best) want = best - t;
                }
                FZ_CHECKF(k == want, "example %llu: %llu tokens, greedy packing gives %llu",
                          (unsigned long long)i, (unsigned long long)k, (unsigned long long)want);
            }
            t += k;
            if (t == c->n_tokens) t = 0, passes++; // the next pass
            else FZ_CHECKF(i + 1 < l->n, "the examples end inside a pass");
        }
        FZ_CHECKF(passes == (uint64_t)w->p.dupe_factor, "%llu passes over the corpus, "
                  "dupe_factor %d", (unsigned long long)passes, w->p.dupe_factor);
        return;
    }
    if (c->n_tokens > 2048) return; // a search of the corpus per example
    uint64_t D = c->n_documents;
    int64_t *fa = xmalloc(D * sizeof *fa), *la_ = xmalloc(D * sizeof *la_);
    int64_t *fb = xmalloc(D * sizeof *fb), *lb_ = xmalloc(D * sizeof *lb_);
    for (uint64_t i = 0; i < l->n && i < 64; i++) {
        const int *o = l->orig + i * T;
        int la = 0;
        while (o[1 + la] != w->p.sep_id) la++;
        int lb = l->len[i] - la - 3, found = 0;
        uint64_t na = find_runs(w, o + 1, la, fa, la_), nb = find_runs(w, o + la + 2, lb, fb, lb_);
        if (l->label[i] == 0) { // IsNext: B after A in one document
            for (uint64_t d = 0; d < D && !found; d++)
                found = fa[d] >= 0 && fb[d] >= 0 && lb_[d] >= fa[d] + la;
        } else if (l->label[i] == 1) { // NotNext: B from another document than A's
            uint64_t d = 0; // unless both are in one and the same document only
            while (d < D && fa[d] < 0) d++;
            found = na && nb && !(na == 1 && nb == 1 && fb[d] >= 0);
        } else {
            found = na && nb;
        }
        FZ_CHECKF(found, "example %llu (label %d): A and B are not runs of %s",
                  (unsigned long long)i, l->label[i],
                  l->label[i] ? "two documents" : "one document, B after A");
    }
    free(fa), free(la_), free(fb), free(lb_);
}

// ---- the order ----------------------------------------------------------------------------------
// data.h's position rule: (epoch, examples taken), R rows a global batch.
typedef struct order {
    uint64_t n, R, first, B, epoch, pos;
    int one_pass;
} order;

// Rows of the next batch as example positions [*lo, *lo + rows) of the epoch; advances.
static uint64_t order_next(order *m, uint64_t *lo) {
    uint64_t rows = m->R;
    if (m->one_pass) {
        rows = m->pos < m->n ? (m->n - m->pos < m->R ? m->n - m->pos : m->R) : 0;
    } else if (m->n - m->pos < m->R) {
        m->epoch++;
        m->pos = 0;
    }
    uint64_t mine = rows > m->first ? rows - m->first : 0;
    if (mine > m->B) mine = m->B;
    *lo = m->pos + m->first;
    m->pos += rows;
    return mine;
}

// Batch b (rows at example positions lo..) against the list: the original rows, and the
// masked rows too when the mask epoch is 0.
static void check_order(const world *w, list *l, const zy_batch *b, uint64_t lo,
                        uint64_t epoch, int *buf) {
    int T = w->p.seq;
    int mask0 = w->p.static_masking || w->p.one_pass || epoch == 0;
    for (int r = 0; r < b->B; r++) {
        row o;
        check_row(w, b, r, &o, buf);
        if (!l->n) continue;
        if (!w->p.shuffle) {
            uint64_t i = lo + (uint64_t)r;
            FZ_CHECKF(same_orig(l, i, &o), "row %d is not example %llu", r, (unsigned long long)i);
            if (mask0)
                FZ_CHECKF(!memcmp(o.x, l->x + i * T, T * sizeof(int)) &&
                          !memcmp(o.y, l->y + i * T, T * sizeof(int)),
                          "row %d: masked otherwise than example %llu in epoch 0", r,
                          (unsigned long long)i);
            continue;
        }
        uint64_t h = row_hash(o.orig, T, o.len, o.label), i = 0, size = 0;
        int masked = !mask0;
        for (uint64_t j = 0; j < l->n; j++)
            if (l->hash[j] == h && same_orig(l, j, &o)) {
                i = l->rep[j];
                size++;
                masked |= !memcmp(o.x, l->x + j * T, T * sizeof(int)) &&
                          !memcmp(o.y, l->y + j * T, T * sizeof(int));
            }
        FZ_CHECKF(size > 0, "row %d is none of the examples", r);
        FZ_CHECKF(masked, "row %d: masked otherwise than its example in epoch 0", r);
        FZ_CHECKF(++l->used[i] <= size, "row %d: example seen %u times in one epoch (%llu such)",
                  r, l->used[i], (unsigned long long)size);
    }
}

// ---- batches --------------------------------------------------------------------------------------
enum { RUN = 10 };

typedef struct saved {
    zy_batch b[RUN];
    zy_data_pos at[RUN]; // told before each
} saved;

static int same_batch(const zy_batch *a, const zy_batch *b, int T) {
    size_t n = (size_t)a->B * (size_t)T;
    if (a->B != b->B) return 0;
    if (!a->B) return 1;
    return !memcmp(a->input_ids, b->input_ids, n * sizeof(int)) &&
           !memcmp(a->targets, b->targets, n * sizeof(int)) &&
           !memcmp(a->lengths, b->lengths, (size_t)a->B * sizeof(int)) &&
           (!a->token_type_ids || !memcmp(a->token_type_ids, b->token_type_ids, n * sizeof(int))) &&
           (!a->labels || !memcmp(a->labels, b->labels, (size_t)a->B * sizeof(int)));
}

static zy_data_source *create(const world *w, const zy_mlm_source_params *p) {
    zy_data_source *s = NULL;
    FZ_CHECKF(zy_mlm_source_create(&s, w->c, p) == ZY_STATUS_OK, "a source like an accepted one "
              "is refused");
    return s;
}

// Fuzzed positions: refused exactly when impossible, else followed by the model's batch.
static void check_seeks(const world *w, list *l, const uint8_t *ctl, uint64_t n, int *buf) {
    const zy_mlm_source_params *p = &w->p;
    zy_data_source *s = create(w, p);
    zy_batch b;
    FZ_CHECK(zy_batch_init(&b, &zy_data_source_get_info(s)->dims) == 0);
    for (int k = 0; k < 2; k++) {
        static const uint64_t E[4] = {0, 1, 7, UINT64_MAX};
        uint64_t e = E[ctl[10 + k] & 3], v = ctl[10 + k] >> 2;
        zy_data_pos at = {e, v * (n + 2) / 63}; // 0 .. n + 2
        zy_status st = zy_data_source_seek(s, at);
        if ((p->one_pass && e != 0) || at.pos > n) {
            FZ_CHECKF(st == ZY_STATUS_INVALID_ARGUMENT, "seek to (%llu, %llu) of %llu accepted",
                      (unsigned long long)e, (unsigned long long)at.pos, (unsigned long long)n);
            continue;
        }
        FZ_CHECKF(st == ZY_STATUS_OK, "seek to (%llu, %llu) refused", (unsigned long long)e,
                  (unsigned long long)at.pos);
        zy_data_pos told;
        zy_data_source_tell(s, &told);
        FZ_CHECK(told.epoch == at.epoch && told.pos == at.pos);
        order m = {.n = n, .R = (uint64_t)p->batch, .B = (uint64_t)p->batch, .epoch = e,
                   .pos = at.pos, .one_pass = p->one_pass};
        uint64_t lo, rows = order_next(&m, &lo);
        FZ_CHECK(zy_data_source_next(s, &b) == ZY_STATUS_OK && (uint64_t)b.B == rows);
        memset(l->used, 0, l->n * sizeof *l->used); // a new stretch of an epoch
        check_order(w, l, &b, lo, m.epoch, buf);
        zy_data_source_tell(s, &told);
        FZ_CHECK(told.epoch == m.epoch && told.pos == m.pos);
    }
    zy_batch_destroy(&b);
    zy_data_source_free(s);
}

// A fresh source seeked to the position told before batch j yields the batches after it.
static void check_told(const world *w, const saved *sv, int j) {
    const zy_mlm_source_params *p = &w->p;
    zy_data_source *s = create(w, p);
    zy_batch b;
    FZ_CHECK(zy_batch_init(&b, &zy_data_source_get_info(s)->dims) == 0);
    FZ_CHECK(zy_data_source_seek(s, sv->at[j]) == ZY_STATUS_OK);
    for (int k = j; k < j + 3; k++) {
        FZ_CHECK(zy_data_source_next(s, &b) == ZY_STATUS_OK);
        FZ_CHECKF(same_batch(&b, &sv->b[k], p->seq), "after seek to (%llu, %llu): batch %d "
                  "differs", (unsigned long long)sv->at[j].epoch,
                  (unsigned long long)sv->at[j].pos, k - j);
    }
    zy_batch_destroy(&b);
    zy_data_source_free(s);
}

// Two shards of B rows = one source of 2B rows; bad ranks refused.
static void check_shards(const world *w, uint64_t n) {
    zy_mlm_source_params pg = w->p;
    pg.batch = 2 * w->p.batch;
    zy_data_source *g = NULL, *s[2];
    zy_status sg = zy_mlm_source_create(&g, w->c, &pg);
    int fits = w->p.one_pass ? n >= 1 : n >= (uint64_t)pg.batch;
    FZ_CHECKF(fits ? sg == ZY_STATUS_OK : sg == ZY_STATUS_INVALID_ARGUMENT,
              "a source of %d rows: status %d with %llu examples", pg.batch, (int)sg,
              (unsigned long long)n);
    for (int r = 0; r < 2; r++) {
        s[r] = create(w, &w->p);
        FZ_CHECK(zy_data_source_shard(s[r], 2, 2) == ZY_STATUS_INVALID_ARGUMENT);
        FZ_CHECK(zy_data_source_shard(s[r], -1, 2) == ZY_STATUS_INVALID_ARGUMENT);
        FZ_CHECK(zy_data_source_shard(s[r], 0, 0) == ZY_STATUS_INVALID_ARGUMENT);
        zy_status st = zy_data_source_shard(s[r], r, 2);
        FZ_CHECKF(fits ? st == ZY_STATUS_OK : st == ZY_STATUS_INVALID_ARGUMENT,
                  "shard %d of 2: status %d with %llu examples", r, (int)st, (unsigned long long)n);
    }
    if (fits) {
        const zy_data_source_info *ig = zy_data_source_get_info(g);
        FZ_CHECK(ig->fingerprint == zy_data_source_get_info(s[0])->fingerprint);
        FZ_CHECK(ig->n_items == n);
        zy_batch bg, b[2];
        FZ_CHECK(zy_batch_init(&bg, &ig->dims) == 0);
        for (int r = 0; r < 2; r++)
            FZ_CHECK(zy_batch_init(&b[r], &zy_data_source_get_info(s[r])->dims) == 0);
        size_t T = (size_t)w->p.seq, B = (size_t)w->p.batch;
        for (int k = 0; k < 6; k++) {
            FZ_CHECK(zy_data_source_next(g, &bg) == 0);
            FZ_CHECK(zy_data_source_next(s[0], &b[0]) == 0 && zy_data_source_next(s[1], &b[1]) == 0);
            FZ_CHECKF(b[0].B + b[1].B == bg.B, "batch %d: shards %d + %d rows, global %d", k,
                      b[0].B, b[1].B, bg.B);
            for (int r = 0; r < 2; r++) {
                size_t at = (size_t)r * B, m = (size_t)b[r].B;
                int same = !memcmp(b[r].input_ids, bg.input_ids + at * T, m * T * sizeof(int)) &&
                           !memcmp(b[r].targets, bg.targets + at * T, m * T * sizeof(int)) &&
                           !memcmp(b[r].lengths, bg.lengths + at, m * sizeof(int)) &&
                           (!bg.token_type_ids || !memcmp(b[r].token_type_ids,
                                                          bg.token_type_ids + at * T,
                                                          m * T * sizeof(int))) &&
                           (!bg.labels || !memcmp(b[r].labels, bg.labels + at, m * sizeof(int)));
                FZ_CHECKF(same, "batch %d: shard %d's rows are not the global batch's", k, r);
            }
            if (bg.B == 0) break;
        }
        for (int r = 0; r < 2; r++) zy_batch_destroy(&b[r]);
        zy_batch_destroy(&bg);
    }
    for (int r = 0; r < 2; r++) zy_data_source_free(s[r]);
    zy_data_source_free(g);
}

// An accepted source: its batches, positions, seeks, shards.
static void check_source(const world *w, zy_data_source *s, const uint8_t *ctl) {
    const zy_mlm_source_params *p = &w->p;
    const zy_data_source_info *info = zy_data_source_get_info(s);
    uint64_t n = info->n_items;
    unsigned fields = ZY_BATCH_TARGETS | ZY_BATCH_LENGTHS | (p->nsp ? ZY_BATCH_TOKEN_TYPES : 0) |
                      (p->nsp && !p->omit_labels ? ZY_BATCH_LABELS : 0);
    FZ_CHECK(!strcmp(info->kind, "bert-mlm") && info->one_pass == p->one_pass);
    FZ_CHECK(info->dims.batch == p->batch && info->dims.seq == p->seq && info->dims.fields == fields);
    FZ_CHECK(n >= (p->one_pass ? 1 : (uint64_t)p->batch));
    if (!p->nsp && p->short_seq_prob == 0.0f) FZ_CHECK(n == model_count(w));
    list l;
    int *buf = xmalloc((size_t)p->seq * sizeof *buf);
    if (read_list(w, &l, n)) check_examples(w, &l);
    if (l.n && !p->shuffle) {
        zy_mlm_source_params q = *p;
        q.one_pass = 1, q.batch = 16;
        zy_data_source *ls = create(w, &q);
        FZ_CHECK(zy_data_source_get_info(ls)->fingerprint == info->fingerprint);
        zy_data_source_free(ls);
    }
    // The run: RUN batches, each against the order model and the list.
    saved sv;
    order m = {.n = n, .R = (uint64_t)p->batch, .B = (uint64_t)p->batch, .one_pass = p->one_pass};
    uint64_t epoch = 0;
    for (int k = 0; k < RUN; k++) {
        FZ_CHECK(zy_batch_init(&sv.b[k], &info->dims) == 0);
        zy_data_source_tell(s, &sv.at[k]);
        FZ_CHECKF(sv.at[k].epoch == m.epoch && sv.at[k].pos == m.pos, "tell (%llu, %llu), the "
                  "rules give (%llu, %llu)", (unsigned long long)sv.at[k].epoch,
                  (unsigned long long)sv.at[k].pos, (unsigned long long)m.epoch,
                  (unsigned long long)m.pos);
        FZ_CHECK(zy_data_source_next(s, &sv.b[k]) == ZY_STATUS_OK);
        uint64_t lo, rows = order_next(&m, &lo);
        FZ_CHECKF((uint64_t)sv.b[k].B == rows, "batch %d: %d rows, the rules give %llu", k,
                  sv.b[k].B, (unsigned long long)rows);
        if (m.epoch != epoch && l.n) memset(l.used, 0, l.n * sizeof *l.used);
        epoch = m.epoch;
        check_order(w, &l, &sv.b[k], lo, m.epoch, buf);
    }
    // The same parameters again: the same batches.
    zy_data_source *s3 = create(w, p);
    zy_batch b;
    FZ_CHECK(zy_batch_init(&b, &info->dims) == 0);
    FZ_CHECK(zy_data_source_get_info(s3)->fingerprint == info->fingerprint);
    for (int k = 0; k < 3; k++) {
        FZ_CHECK(zy_data_source_next(s3, &b) == 0);
        FZ_CHECKF(same_batch(&b, &sv.b[k], p->seq), "same parameters, batch %d differs", k);
    }
    zy_batch_destroy(&b);
    zy_data_source_free(s3);
    check_told(w, &sv, ctl[9] & 7);
    if (l.n) check_seeks(w, &l, ctl, n, buf);
    check_shards(w, n);
    for (int k = 0; k < RUN; k++) zy_batch_destroy(&sv.b[k]);
    free_list(&l);
    free(buf);
}

// A malformed copy of the corpus (offsets that do not add up, an empty document or
// sentence) is refused, naming the problem.
static void check_malformed(const world *w, int how) {
    const zy_corpus *c = w->c;
    if (!how || c->n_documents == 0) return;
    uint64_t S = c->n_sentences, D = c->n_documents;
    zy_corpus m = *c;
    m.sentences = xmalloc((S + 1) * sizeof *m.sentences);
    m.documents = xmalloc((D + 1) * sizeof *m.documents);
    memcpy(m.sentences, c->sentences, (S + 1) * sizeof *m.sentences);
    memcpy(m.documents, c->documents, (D + 1) * sizeof *m.documents);
    const char *kw = NULL;
    switch (how) {
    case 1: m.sentences[S] = c->n_tokens + 1, kw = "offsets"; break;
    case 2: m.documents[D] = S + 1, kw = "offsets"; break;
    case 3: m.n_tokens = c->n_tokens - 1, kw = c->n_tokens == 1 ? "empty" : "offsets"; break;
    case 4: m.documents[0] = 1, kw = "offsets"; break;
    case 5:
        if (S < 2) break;
        m.sentences[1] = m.sentences[0], kw = "sentence 0 is empty";
        break;
    case 6:
        if (D < 2) break;
        m.documents[1] = 0, kw = "document 0 has no sentence";
        break;
    default: m.n_documents = 0, kw = "empty"; break;
    }
    world w2 = *w;
    w2.p.one_pass = w2.p.shuffle = false;
    const char *k2[32];
    if (kw && !param_problems(&w2, k2)) {
        zy_data_source *s = NULL;
        zy_status st = zy_mlm_source_create(&s, &m, &w2.p);
        FZ_CHECKF(s == NULL && st == ZY_STATUS_INVALID_ARGUMENT, "a malformed corpus (%d) is "
                  "accepted (status %d)", how, (int)st);
        FZ_CHECKF(strstr(zy_last_error(), kw), "malformed corpus %d: the message does not say "
                  "'%s'", how, kw);
    }
    free(m.sentences);
    free(m.documents);
}

// ---- the harness --------------------------------------------------------------------------------
static float pick(const uint8_t v, const float *from) { return from[v & 7]; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 12) return 0;
    const uint8_t *ctl = data, *body = data + 12;
    size_t nb = size - 12;
    int kind = ctl[0] & 3;
    zy_mlm_source_params p = zy_mlm_source_default_params();
    p.nsp = ctl[0] >> 2 & 1, p.shuffle = ctl[0] >> 3 & 1, p.one_pass = ctl[0] >> 4 & 1;
    p.static_masking = ctl[0] >> 5 & 1, p.omit_labels = ctl[0] >> 7 & 1;
    static const int BAD_SEQ[8] = {0, 1, 2, 4, -1, (1 << 24) + 1, 2147483647, -2147483647 - 1};
    p.seq = ctl[1] >= 248 ? BAD_SEQ[ctl[1] - 248] : 3 + ctl[1] % 45;
    static const int BAD_BATCH[4] = {0, -1, (1 << 20) + 1, 7};
    p.batch = ctl[2] >= 252 ? BAD_BATCH[ctl[2] - 252] : 1 + ctl[2] % 4;
    p.seed = ctl[3];
    static const float MP[8] = {0.15f, 1.0f, 0.5f, 0.01f, 0.0f, -0.25f, NAN, 0.3f};
    static const float PM[8] = {0.8f, 1.0f, 0.0f, 0.0f, 0.5f, 0.8f, 0.7f, NAN};
    static const float PR[8] = {0.1f, 0.0f, 0.0f, 1.0f, 0.5f, 0.2f, 0.4f, 0.0f};
    static const float SS[4] = {0.0f, 0.1f, 1.0f, 0.5f};
    p.mask_prob = pick(ctl[4], MP);
    p.mask_token_prob = pick(ctl[4] >> 3, PM), p.random_token_prob = pick(ctl[4] >> 3, PR);
    p.short_seq_prob = SS[ctl[4] >> 6];
    p.max_predictions = ctl[5] == 255 ? -1 : ctl[5] == 254 ? 1000 : ctl[5] % 8;
    if (ctl[5] == 253) p.short_seq_prob = 1.5f;
    p.dupe_factor = ctl[6] == 255 ? 0 : ctl[6] == 254 ? 10001 : 1 + ctl[6] % 3;

    // The corpus, and the vocabulary it is in.
    zy_corpus c;
    zy_corpus_init(&c);
    int V, top = !(ctl[8] & 1);
    if (kind == 0 || kind == 1) {
        zy_tokenizer *tok = kind ? wp : bpe;
        int cut = ctl[8] >> 7 ? (int)(nb / 2) : (int)nb;
        const char *texts[2] = {(const char *)body, (const char *)body + cut};
        size_t lens[2] = {(size_t)cut, nb - (size_t)cut};
        int nt = ctl[8] >> 7 ? 2 : 1;
        for (int k = 0; k < nt; k++)
            FZ_CHECK(zy_corpus_add_text(&c, tok, texts[k], lens[k]) == ZY_STATUS_OK);
        zy_corpus m;
        zy_corpus_init(&m);
        model_text(&m, tok, texts, lens, nt);
        FZ_CHECKF(same_corpus(&c, &m), "the corpus from text is not the rules' (%llu/%llu "
                  "documents, %llu/%llu sentences, %llu/%llu tokens)",
                  (unsigned long long)c.n_documents, (unsigned long long)m.n_documents,
                  (unsigned long long)c.n_sentences, (unsigned long long)m.n_sentences,
                  (unsigned long long)c.n_tokens, (unsigned long long)m.n_tokens);
        zy_corpus_destroy(&m);
        if (kind == 0) {
            V = 261;
            p.cls_id = 257, p.sep_id = 258, p.mask_id = 259, p.pad_id = 260;
        } else {
            V = zy_tokenizer_vocab_size(wp);
            p.pad_id = 0, p.cls_id = 2, p.sep_id = 3, p.mask_id = 4;
        }
    } else {
        V = 5 + ctl[7] % 64;
        int lo = top ? 0 : 4; // the text ids: [lo, lo + V - 4)
        if (top) p.cls_id = V - 4, p.sep_id = V - 3, p.mask_id = V - 2, p.pad_id = V - 1;
        else p.cls_id = 0, p.sep_id = 1, p.mask_id = 2, p.pad_id = 3;
        int32_t *ids = xmalloc(nb * sizeof *ids);
        size_t k = 0;
        for (size_t i = 0; i < nb; i++) {
            if (body[i] >= 0xFE) {
                FZ_CHECK(zy_corpus_add_sentence(&c, ids, k) == ZY_STATUS_OK);
                k = 0;
                if (body[i] == 0xFE) zy_corpus_end_document(&c);
                continue;
            }
            ids[k++] = kind == 2 ? lo + body[i] % (V - 4) : (int32_t)(body[i] % (V + 4)) - 2;
        }
        FZ_CHECK(zy_corpus_add_sentence(&c, ids, k) == ZY_STATUS_OK);
        free(ids);
    }
    check_corpus_shape(&c);
    p.vocab_size = V;
    if ((ctl[8] & 6) == 2) p.sep_id = p.cls_id;   // two equal
    if ((ctl[8] & 6) == 4) p.mask_id = V + (ctl[8] & 8 ? 100 : 0); // out of range
    if ((ctl[8] & 6) == 6 && (ctl[8] & 8)) p.vocab_size = 4;
    uint8_t *cont = NULL;
    if (ctl[0] & 64) { // continuation flags
        cont = xmalloc((size_t)V);
        for (int id = 0; id < V; id++) {
            size_t len;
            const char *tb = kind == 1 ? zy_tokenizer_token_bytes(wp, id, &len) : NULL;
            cont[id] = kind == 1 ? tb && len > 2 && tb[0] == '#' && tb[1] == '#'
                       : kind == 0 ? (id & 0xC0) == 0x80
                                   : (zy_hash64(p.seed, (uint64_t)id) % 3) == 0;
        }
        p.word_continuation = cont;
    }

    world w = {.c = &c, .p = p, .special = {p.cls_id, p.sep_id, p.mask_id, p.pad_id}};
    w.doc_of = xmalloc((size_t)c.n_tokens * sizeof *w.doc_of);
    for (uint64_t d = 0; d < c.n_documents; d++)
        for (uint64_t t = c.sentences[c.documents[d]]; t < c.sentences[c.documents[d + 1]]; t++)
            w.doc_of[t] = (uint32_t)d;
    const char *kw[32];
    int nk = problems(&w, kw);
    zy_data_source *s = NULL;
    zy_status st = zy_mlm_source_create(&s, &c, &p);
    if (nk) {
        FZ_CHECK(s == NULL);
        check_refusal(&w, st, kw, nk);
    } else if (!p.nsp && p.short_seq_prob == 0.0f &&
               model_count(&w) < (p.one_pass ? 1 : (uint64_t)p.batch)) {
        FZ_CHECK(s == NULL);
        const char *k1[2] = {"examples", "no example"};
        check_refusal(&w, st, k1, 2);
    } else if (st) {
        FZ_CHECK(s == NULL);
        const char *k1[2] = {"examples", "no example"}; // NSP: the count is not modelled
        check_refusal(&w, st, k1, 2);
    } else {
        check_source(&w, s, ctl);
    }
    zy_data_source_free(s);
    check_malformed(&w, ctl[8] >> 4 & 7);
    free(w.doc_of);
    free(cont);
    zy_corpus_destroy(&c);
    return 0;
}
