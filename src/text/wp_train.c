// Training a WordPiece vocabulary the way the tokenizers library's WordPieceTrainer does:
// BPE merges over the words of the text (normalised and split by wp_basic.c), each word
// spelled as its first character and "##"-prefixed continuation characters; a merge's
// spelling is the left symbol's followed by the right one's without its prefix. The
// vocabulary is the special tokens, the alphabet (every character, then the "##" form of
// every character seen inside a word, each in code point order) and the merged spellings
// in merge order, a spelling made twice listed once. The merge loop (pair counts, the
// heap, ties to the smaller (left id, right id)) is train.c's. Words longer than
// max_input_chars_per_word (100) characters are left out: encoding makes them [UNK].
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "wordpiece.h"

zy_wordpiece_train_params zy_wordpiece_train_default_params(void) {
    static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    return (zy_wordpiece_train_params){.vocab_size = 30522, .min_frequency = 2,
                                       .special_tokens = specials, .n_special = 5,
                                       .lowercase = 1, .strip_accents = -1,
                                       .tokenize_chinese_chars = 1};
}

// A set of strings with ids (the vocabulary being built), open addressing.
typedef struct strset {
    char *pool;
    size_t pool_len, pool_cap;
    uint32_t *off, *len; // (n)
    size_t n, cap;
    int32_t *slot;       // (hcap) -1 empty
    size_t hcap;
} strset;

static zy_status grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return ZY_STATUS_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = zy_alloc(c * elem);
    if (!q) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "wordpiece train: out of memory");
    if (*p) memcpy(q, *p, *cap * elem);
    zy_free(*p);
    *p = q;
    *cap = c;
    return ZY_STATUS_OK;
}

static int32_t set_find(const strset *S, const char *s, size_t n) {
    if (!S->hcap) return -1;
    size_t m = S->hcap - 1, i = zy__hash_bytes((const uint8_t *)s, n) & m;
    for (; S->slot[i] >= 0; i = (i + 1) & m) {
        int32_t k = S->slot[i];
        if (S->len[k] == n && !memcmp(S->pool + S->off[k], s, n)) return k;
    }
    return -1;
}

// The id of s (added if new).
static zy_status set_add(strset *S, const char *s, size_t n, int32_t *id) {
    if ((*id = set_find(S, s, n)) >= 0) return ZY_STATUS_OK;
    zy_status st;
    if (2 * (S->n + 1) > S->hcap) {
        size_t cap = S->hcap ? 2 * S->hcap : 1024;
        int32_t *sl = zy_alloc(cap * sizeof *sl);
        if (!sl) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "wordpiece train: out of memory");
        memset(sl, 0xFF, cap * sizeof *sl);
        for (size_t k = 0; k < S->n; k++) {
            size_t j = zy__hash_bytes((uint8_t *)S->pool + S->off[k], S->len[k]) & (cap - 1);
            while (sl[j] >= 0) j = (j + 1) & (cap - 1);
            sl[j] = (int32_t)k;
        }
        zy_free(S->slot);
        S->slot = sl;
        S->hcap = cap;
    }
    size_t c1 = S->cap, c2 = S->cap;
    if ((st = grow((void **)&S->pool, &S->pool_cap, S->pool_len + n, 1)) ||
        (st = grow((void **)&S->off, &c1, S->n + 1, sizeof *S->off)) ||
        (st = grow((void **)&S->len, &c2, S->n + 1, sizeof *S->len)))
        return st;
    S->cap = c1;
    memcpy(S->pool + S->pool_len, s, n);
    S->off[S->n] = (uint32_t)S->pool_len;
    S->len[S->n] = (uint32_t)n;
    S->pool_len += n;
    size_t m = S->hcap - 1, i = zy__hash_bytes((const uint8_t *)s, n) & m;
    while (S->slot[i] >= 0) i = (i + 1) & m;
    S->slot[i] = (int32_t)S->n;
    *id = (int32_t)S->n++;
    return ZY_STATUS_OK;
}

static void set_free(strset *S) {
    zy_free(S->pool);
    zy_free(S->off);
    zy_free(S->len);
    zy_free(S->slot);
}

// Distinct words (as code point strings) with counts.
typedef struct counter {
    strset words;   // word UTF-32 bytes -> index
    int64_t *freq;
    size_t freq_cap;
    int32_t max_chars;
    zy_tokenizer_progress_fn progress;
    void *user;
} counter;

static zy_status count_word(void *ctx, const zy__wp_char *w, size_t n) {
    counter *C = ctx;
    if (n > (size_t)C->max_chars) return ZY_STATUS_OK;
    int32_t cps[128];
    for (size_t i = 0; i < n; i++) cps[i] = w[i].cp;
    int32_t id;
    zy_status s = set_add(&C->words, (const char *)cps, n * sizeof *cps, &id);
    if (!s && (size_t)id >= C->freq_cap) {
        size_t cap = C->freq_cap;
        if (!(s = grow((void **)&C->freq, &cap, (size_t)id + 1, sizeof *C->freq))) {
            memset(C->freq + C->freq_cap, 0, (cap - C->freq_cap) * sizeof *C->freq);
            C->freq_cap = cap;
        }
    }
    if (!s) C->freq[id]++;
    return s;
}

static int cmp_cp(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static size_t utf8(int32_t cp, char *o) {
    if (cp < 0x80) return o[0] = (char)cp, 1;
    if (cp < 0x800) return o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 63)), 2;
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 63));
        o[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 63));
    o[2] = (char)(0x80 | ((cp >> 6) & 63));
    o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

typedef struct merger {
    strset *vocab;
    int32_t vocab_size, base; // base: the specials and the alphabet
    const char *prefix;
    size_t prefix_len;
    zy_tokenizer_progress_fn progress;
    void *user;
} merger;

static int32_t merge_symbol(void *ctx, int32_t a, int32_t b, zy_status *st) {
    merger *M = ctx;
    strset *V = M->vocab;
    char buf[2 * ZY__WP_TOKEN_MAX];
    size_t la = V->len[a], lb = V->len[b];
    const char *pb = V->pool + V->off[b];
    if (lb >= M->prefix_len && !memcmp(pb, M->prefix, M->prefix_len))
        pb += M->prefix_len, lb -= M->prefix_len;
    if (la + lb > ZY__WP_TOKEN_MAX) return -1; // cannot happen for words of <= 100 chars
    memcpy(buf, V->pool + V->off[a], la);
    memcpy(buf + la, pb, lb);
    int32_t id = set_find(V, buf, la + lb);
    if (id >= 0) return id;
    if ((int32_t)V->n >= M->vocab_size) return -1; // full
    if ((*st = set_add(V, buf, la + lb, &id))) return -2;
    size_t done = V->n - (size_t)M->base, total = (size_t)(M->vocab_size - M->base);
    if (M->progress && (done % 64 == 0 || done == total) &&
        M->progress("merging", done, total, M->user)) {
        *st = zy__error(ZY_STATUS_INTERRUPTED, "wordpiece train: stopped by the caller");
        return -2;
    }
    return id;
}

zy_status zy_tokenizer_train_wordpiece_texts(zy_tokenizer **out, const char *const *texts,
                                             const size_t *lens, int n_texts,
                                             zy_wordpiece_train_params p) {
    if (!out || (n_texts && (!texts || !lens)) || n_texts < 0 || p.n_special < 0 ||
        (p.n_special && !p.special_tokens))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "wordpiece train: NULL argument");
    *out = NULL;
    if (p.vocab_size < 1 || p.vocab_size > ZY__TOK_MAX_ID)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "wordpiece train: vocab_size %d not in "
                         "1..%d", p.vocab_size, ZY__TOK_MAX_ID);
    zy__wp opt = {.lowercase = p.lowercase != 0, .chinese = p.tokenize_chinese_chars != 0,
                  .strip_accents = (int8_t)(p.strip_accents < 0 ? -1 : p.strip_accents != 0),
                  .cleanup = 1, .max_chars = 100, .prefix = "##", .prefix_len = 2};
    counter C = {.max_chars = opt.max_chars, .progress = p.progress, .user = p.progress_user};
    strset V = {0};
    zy__wp_scratch sc = {0};
    int32_t *cps = NULL, *sym = NULL, *wlen = NULL;
    uint32_t *woff = NULL;
    zy_tokenizer *t = NULL;
    zy_status s = ZY_STATUS_OK;
    int32_t id;
    for (int k = 0; k < p.n_special && !s; k++) {
        const char *sp = p.special_tokens[k];
        size_t n = sp ? strlen(sp) : 0;
        if (!n || n > ZY__WP_TOKEN_MAX) {
            s = zy__error(ZY_STATUS_INVALID_ARGUMENT, "wordpiece train: special token %d is "
                          "empty or longer than %d bytes", k, ZY__WP_TOKEN_MAX);
            break;
        }
        if (!(s = set_add(&V, sp, n, &id)) && id != k)
            s = zy__error(ZY_STATUS_INVALID_ARGUMENT, "wordpiece train: special token '%s' "
                          "listed twice", sp);
    }
    // 1. Words and counts.
    size_t all = 0, done = 0;
    for (int k = 0; k < n_texts; k++) all += lens[k];
    for (int k = 0; k < n_texts && !s; k++) {
        const size_t step = 1 << 20; // in pieces that end after a newline, for progress
        for (size_t i = 0; i < lens[k] && !s;) {
            size_t e = ZY_MIN(lens[k], i + step);
            while (e < lens[k] && texts[k][e - 1] != '\n') e++;
            s = zy__wp_basic(&opt, (const uint8_t *)texts[k] + i, e - i, 0, &sc, count_word, &C);
            done += e - i;
            i = e;
            if (!s && p.progress && p.progress("counting", done, all, p.progress_user))
                s = zy__error(ZY_STATUS_INTERRUPTED, "wordpiece train: stopped by the caller");
        }
    }
    if (s) goto done;
    // 2. The alphabet: characters, then their "##" forms, each in code point order.
    size_t nw = C.words.n, total = 0, nc = 0;
    for (size_t w = 0; w < nw; w++) total += C.words.len[w] / sizeof(int32_t);
    cps = zy_alloc(2 * total * sizeof *cps + 8);
    if (!cps) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "wordpiece train: out of memory");
        goto done;
    }
    for (int pass = 0; pass < 2 && !s; pass++) {
        nc = 0;
        for (size_t w = 0; w < nw; w++) {
            const int32_t *c = (const int32_t *)(C.words.pool + C.words.off[w]);
            size_t n = C.words.len[w] / sizeof *c;
            for (size_t i = pass; i < n; i++) cps[nc++] = c[i];
        }
        qsort(cps, nc, sizeof *cps, cmp_cp);
        for (size_t i = 0; i < nc && !s; i++) {
            if (i && cps[i] == cps[i - 1]) continue;
            char b[8];
            size_t k = 0;
            if (pass) memcpy(b, opt.prefix, opt.prefix_len), k = opt.prefix_len;
            k += utf8(cps[i], b + k);
            s = set_add(&V, b, k, &id);
        }
    }
    if (s) goto done;
    if ((int64_t)V.n > p.vocab_size) {
        s = zy__error(ZY_STATUS_INVALID_ARGUMENT, "wordpiece train: vocab_size %d is smaller "
                      "than the %d special tokens + the %zu-symbol alphabet of the text",
                      p.vocab_size, p.n_special, V.n - (size_t)p.n_special);
        goto done;
    }
    // 3. The words as symbols, then the merges.
    sym = zy_alloc(total * sizeof *sym + 4);
    woff = zy_alloc(nw * sizeof *woff + 4);
    wlen = zy_alloc(nw * sizeof *wlen + 4);
    if (!sym || !woff || !wlen) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "wordpiece train: out of memory");
        goto done;
    }
    size_t o = 0;
    for (size_t w = 0; w < nw && !s; w++) {
        const int32_t *c = (const int32_t *)(C.words.pool + C.words.off[w]);
        size_t n = C.words.len[w] / sizeof *c;
        woff[w] = (uint32_t)o;
        wlen[w] = (int32_t)n;
        for (size_t i = 0; i < n; i++) {
            char b[8];
            size_t k = 0;
            if (i) memcpy(b, opt.prefix, opt.prefix_len), k = opt.prefix_len;
            k += utf8(c[i], b + k);
            sym[o++] = set_find(&V, b, k);
        }
    }
    // Merges making a spelling already listed add nothing, so the loop runs until the
    // vocabulary is full (merge_symbol says stop), not for a fixed number of merges.
    merger M = {&V, p.vocab_size, (int32_t)V.n, opt.prefix, opt.prefix_len, p.progress,
                p.progress_user};
    int32_t nm = 0;
    if ((s = zy__merge_learn(sym, woff, wlen, C.freq, nw, p.min_frequency, INT32_MAX,
                             merge_symbol, &M, NULL, NULL, &nm)))
        goto done;
    // 4. The tokenizer.
    if ((s = zy__tok_create(&t, (int32_t)V.n))) goto done;
    zy__wp_defaults(t);
    t->wp.lowercase = opt.lowercase;
    t->wp.strip_accents = opt.strip_accents;
    t->wp.chinese = opt.chinese;
    zy__tok_set_source(t, "trained tokenizer");
    for (size_t k = 0; k < V.n && !s; k++)
        s = zy__tok_add(t, (int32_t)k, (const uint8_t *)V.pool + V.off[k], V.len[k],
                        (int)k < p.n_special ? 2 : 0, "wordpiece train");
    if (!s) s = zy__wp_finish(t, "wordpiece train");
done:
    zy__wp_scratch_free(&sc);
    set_free(&C.words);
    zy_free(C.freq);
    set_free(&V);
    zy_free(cps);
    zy_free(sym);
    zy_free(woff);
    zy_free(wlen);
    if (s) {
        zy_tokenizer_free(t);
        return s;
    }
    *out = t;
    return ZY_STATUS_OK;
}

zy_status zy_tokenizer_train_wordpiece(zy_tokenizer **out, const char *const *files,
                                       int n_files, zy_wordpiece_train_params p) {
    if (!out || n_files <= 0 || !files)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "wordpiece train: no input files");
    *out = NULL;
    char **texts = zy_calloc((size_t)n_files, sizeof *texts);
    size_t *lens = zy_calloc((size_t)n_files, sizeof *lens);
    zy_status s = ZY_STATUS_OK;
    if (!texts || !lens) s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "wordpiece train: out of memory");
    for (int k = 0; k < n_files && !s; k++) {
        s = zy_file_read(files[k], &texts[k], &lens[k]);
        if (!s && p.progress && p.progress("reading", (size_t)k + 1, (size_t)n_files, p.progress_user))
            s = zy__error(ZY_STATUS_INTERRUPTED, "wordpiece train: stopped by the caller");
    }
    if (!s) s = zy_tokenizer_train_wordpiece_texts(out, (const char *const *)texts, lens, n_files, p);
    for (int k = 0; texts && k < n_files; k++) zy_free(texts[k]);
    zy_free(texts);
    zy_free(lens);
    return s;
}
