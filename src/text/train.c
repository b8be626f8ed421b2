// Training a byte-level BPE vocabulary: pre-tokenize (GPT-2 pattern), count distinct
// words, then repeatedly merge the most frequent adjacent pair. Pair counts are updated
// incrementally: each pair keeps the list of words it occurs in, so a merge touches only
// those words, and a lazy max-heap finds the next best pair. Ties go to the smaller
// (left id, right id), so the same data always gives the same tokenizer.
// Not for encoding (encode.c) or file formats (save.c).
#include <string.h>
#include <utf8proc.h>

#include "bpe.h"
#include "core/internal.h"

typedef struct {
    int32_t *w;
    uint32_t n, cap;
} wlist; // word indices a pair occurs in (may hold duplicates and stale entries)

typedef struct {
    int64_t count;
    int32_t a, b;
} hentry;

typedef struct {
    // distinct words
    uint64_t *whash; int32_t *wslot; size_t wcap; // word bytes -> word index
    uint8_t *bytes; size_t bytes_len, bytes_cap;  // word bytes (for counting only)
    uint32_t *woff; int32_t *wlen; int64_t *wfreq; size_t nw, nw_cap;
    int32_t *sym; // symbols of word i at sym[woff[i] .. woff[i] + wlen[i])
    // pairs
    uint64_t *pkey; int32_t *pslot; size_t pcap; // pair key -> pair index
    int64_t *pcount; wlist *pwhere; int32_t *pa, *pb; size_t np, np_cap;
    hentry *heap; size_t nheap, heap_cap;
    int32_t *stamp;  // (nw) last merge that visited the word
    int32_t *touched; size_t ntouched, touched_cap;
    uint8_t *is_touched; size_t is_touched_cap;
} trainer;

static zy_status grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return ZY_STATUS_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = zy_alloc(c * elem);
    if (!q) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer train: out of memory");
    if (*p) memcpy(q, *p, *cap * elem);
    zy_free(*p);
    *p = q;
    *cap = c;
    return ZY_STATUS_OK;
}

#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof *(arr))

// ---- counting words -------------------------------------------------------------------
static zy_status rehash_words(trainer *T) {
    size_t cap = T->wcap ? T->wcap * 2 : 1 << 16;
    uint64_t *h = zy_calloc(cap, sizeof *h);
    int32_t *s = zy_alloc(cap * sizeof *s);
    if (!h || !s) {
        zy_free(h);
        zy_free(s);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer train: out of memory");
    }
    for (size_t i = 0; i < T->wcap; i++) {
        if (!T->whash[i]) continue;
        size_t j = T->whash[i] & (cap - 1);
        while (h[j]) j = (j + 1) & (cap - 1);
        h[j] = T->whash[i];
        s[j] = T->wslot[i];
    }
    zy_free(T->whash);
    zy_free(T->wslot);
    T->whash = h;
    T->wslot = s;
    T->wcap = cap;
    return ZY_STATUS_OK;
}

static zy_status count_word(trainer *T, const uint8_t *w, size_t n) {
    zy_status s;
    if (2 * (T->nw + 1) > T->wcap && (s = rehash_words(T))) return s;
    uint64_t h = zy__hash_bytes(w, n) | 1;
    size_t m = T->wcap - 1, i = h & m;
    for (; T->whash[i]; i = (i + 1) & m) {
        int32_t k = T->wslot[i];
        if (T->whash[i] == h && (size_t)T->wlen[k] == n && !memcmp(T->bytes + T->woff[k], w, n)) {
            T->wfreq[k]++;
            return ZY_STATUS_OK;
        }
    }
    size_t cw = T->nw_cap, cl = cw, cf = cw;
    if ((s = GROW(T->bytes, T->bytes_cap, T->bytes_len + n)) || (s = GROW(T->woff, cw, T->nw + 1)) ||
        (s = GROW(T->wlen, cl, T->nw + 1)) || (s = GROW(T->wfreq, cf, T->nw + 1)))
        return s;
    T->nw_cap = cw;
    if (T->bytes_len + n > UINT32_MAX)
        return zy__error(ZY_STATUS_UNSUPPORTED, "tokenizer train: more than 4 GiB of distinct words");
    memcpy(T->bytes + T->bytes_len, w, n);
    T->woff[T->nw] = (uint32_t)T->bytes_len;
    T->wlen[T->nw] = (int32_t)n;
    T->wfreq[T->nw] = 1;
    T->bytes_len += n;
    T->whash[i] = h;
    T->wslot[i] = (int32_t)T->nw++;
    return ZY_STATUS_OK;
}

// ---- pairs ----------------------------------------------------------------------------
static zy_status pair_index(trainer *T, int32_t a, int32_t b, int32_t *out) {
    zy_status s;
    if (2 * (T->np + 1) > T->pcap) { // rehash
        size_t cap = T->pcap ? T->pcap * 2 : 1 << 14;
        uint64_t *k = zy_alloc(cap * sizeof *k);
        int32_t *sl = zy_alloc(cap * sizeof *sl);
        if (!k || !sl) {
            zy_free(k);
            zy_free(sl);
            return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer train: out of memory");
        }
        memset(k, 0xFF, cap * sizeof *k);
        for (size_t i = 0; i < T->pcap; i++) {
            if (T->pkey[i] == UINT64_MAX) continue;
            size_t j = zy__hash_u64(T->pkey[i]) & (cap - 1);
            while (k[j] != UINT64_MAX) j = (j + 1) & (cap - 1);
            k[j] = T->pkey[i];
            sl[j] = T->pslot[i];
        }
        zy_free(T->pkey);
        zy_free(T->pslot);
        T->pkey = k;
        T->pslot = sl;
        T->pcap = cap;
    }
    uint64_t key = zy__pair_key(a, b);
    size_t m = T->pcap - 1, i = zy__hash_u64(key) & m;
    for (; T->pkey[i] != UINT64_MAX; i = (i + 1) & m)
        if (T->pkey[i] == key) {
            *out = T->pslot[i];
            return ZY_STATUS_OK;
        }
    size_t c1 = T->np_cap, c2 = c1, c3 = c1, c4 = c1;
    if ((s = GROW(T->pcount, c1, T->np + 1)) || (s = GROW(T->pwhere, c2, T->np + 1)) ||
        (s = GROW(T->pa, c3, T->np + 1)) || (s = GROW(T->pb, c4, T->np + 1)))
        return s;
    T->np_cap = c1;
    T->pcount[T->np] = 0;
    T->pwhere[T->np] = (wlist){0};
    T->pa[T->np] = a;
    T->pb[T->np] = b;
    T->pkey[i] = key;
    T->pslot[i] = (int32_t)T->np;
    *out = (int32_t)T->np++;
    return ZY_STATUS_OK;
}

// Add delta (word frequency, +/-) to every adjacent pair of word w; with add_where, also
// record w in the lists of pairs that contain token `fresh` (the only new pairs).
static zy_status word_pairs(trainer *T, int32_t w, int64_t delta, int32_t fresh) {
    const int32_t *s = T->sym + T->woff[w];
    for (int32_t i = 0; i + 1 < T->wlen[w]; i++) {
        int32_t p;
        zy_status st = pair_index(T, s[i], s[i + 1], &p);
        if (st) return st;
        T->pcount[p] += delta;
        if ((fresh < 0 || s[i] == fresh || s[i + 1] == fresh) && delta > 0) {
            wlist *l = &T->pwhere[p];
            if (l->n == l->cap) {
                size_t cap = l->cap;
                if ((st = grow((void **)&l->w, &cap, (size_t)l->n + 1, sizeof *l->w))) return st;
                l->cap = (uint32_t)cap;
            }
            l->w[l->n++] = w;
        }
        if (!T->is_touched[p]) {
            if ((st = GROW(T->touched, T->touched_cap, T->ntouched + 1))) return st;
            T->is_touched[p] = 1;
            T->touched[T->ntouched++] = p;
        }
    }
    return ZY_STATUS_OK;
}

static int hbetter(hentry x, hentry y) { // max count, then smallest (a, b)
    if (x.count != y.count) return x.count > y.count;
    return x.a != y.a ? x.a < y.a : x.b < y.b;
}

static zy_status hpush(trainer *T, hentry e) {
    zy_status s = GROW(T->heap, T->heap_cap, T->nheap + 1);
    if (s) return s;
    size_t i = T->nheap++;
    while (i > 0 && hbetter(e, T->heap[(i - 1) / 2])) {
        T->heap[i] = T->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    T->heap[i] = e;
    return ZY_STATUS_OK;
}

static hentry hpop(trainer *T) {
    hentry top = T->heap[0], e = T->heap[--T->nheap];
    size_t i = 0, n = T->nheap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        hentry best = e;
        if (l < n && hbetter(T->heap[l], best)) m = l, best = T->heap[l];
        if (r < n && hbetter(T->heap[r], best)) m = r;
        if (m == i) break;
        T->heap[i] = T->heap[m];
        i = m;
    }
    if (n) T->heap[i] = e;
    return top;
}

// is_touched must cover every pair index, including the up to `extra` a call may create.
static zy_status ensure_touched(trainer *T, size_t extra) {
    size_t old = T->is_touched_cap, need = T->np + extra;
    zy_status s = GROW(T->is_touched, T->is_touched_cap, need);
    if (!s && T->is_touched_cap > old) memset(T->is_touched + old, 0, T->is_touched_cap - old);
    return s;
}

// Push every pair whose count changed since the last flush.
static zy_status flush_touched(trainer *T) {
    zy_status s;
    for (size_t k = 0; k < T->ntouched; k++) {
        int32_t p = T->touched[k];
        T->is_touched[p] = 0;
        if (T->pcount[p] > 0 && (s = hpush(T, (hentry){T->pcount[p], T->pa[p], T->pb[p]})))
            return s;
    }
    T->ntouched = 0;
    return ZY_STATUS_OK;
}

static void trainer_free(trainer *T) {
    zy_free(T->whash); zy_free(T->wslot); zy_free(T->bytes); zy_free(T->woff);
    zy_free(T->wlen); zy_free(T->wfreq); zy_free(T->sym); zy_free(T->pkey);
    zy_free(T->pslot); zy_free(T->pcount); zy_free(T->pa); zy_free(T->pb);
    for (size_t p = 0; p < T->np; p++) zy_free(T->pwhere[p].w);
    zy_free(T->pwhere); zy_free(T->heap); zy_free(T->stamp); zy_free(T->touched);
    zy_free(T->is_touched);
}

zy_bpe_train_params zy_bpe_train_default_params(void) {
    static const char *const eot[] = {"<|endoftext|>"};
    return (zy_bpe_train_params){.vocab_size = 8192, .min_frequency = 2,
                                 .special_tokens = eot, .n_special = 1};
}

static int valid_utf8(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) return 0;
        i += (size_t)k;
    }
    return 1;
}

// The merge loop on T's words (T->sym, woff, wlen, wfreq set): each step asks fn for the
// symbol that (a, b) becomes; fn returns it, -1 to stop (nothing merged), or -2 after
// setting an error (its status in *st).
static zy_status merge_loop(trainer *T, int64_t min_frequency, int32_t max_merges,
                            zy__merge_fn fn, void *ctx, zy_tokenizer_progress_fn progress,
                            void *user, int32_t *nm) {
    zy_status s;
    T->stamp = zy_alloc(T->nw * sizeof *T->stamp + 4);
    if (!T->stamp) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer train: out of memory");
    for (size_t w = 0; w < T->nw; w++) T->stamp[w] = -1;
    for (size_t w = 0; w < T->nw; w++) {
        if ((s = ensure_touched(T, (size_t)T->wlen[w]))) return s;
        if ((s = word_pairs(T, (int32_t)w, T->wfreq[w], -1))) return s;
    }
    if ((s = flush_touched(T))) return s;
    *nm = 0;
    while (*nm < max_merges && T->nheap) {
        hentry e = hpop(T);
        int32_t pi;
        if ((s = pair_index(T, e.a, e.b, &pi))) return s;
        if (T->pcount[pi] != e.count) continue; // stale
        if (e.count < min_frequency) break;
        zy_status fs = ZY_STATUS_OK;
        int32_t c = fn(ctx, e.a, e.b, &fs);
        if (c == -1) break;
        if (c < 0) return fs; // fn set the message
        wlist where = T->pwhere[pi];
        T->pwhere[pi] = (wlist){0};
        for (uint32_t k = 0; k < where.n && !s; k++) {
            int32_t w = where.w[k];
            if (T->stamp[w] == *nm) continue;
            T->stamp[w] = *nm;
            int32_t *sy = T->sym + T->woff[w], n = T->wlen[w], i, o;
            for (i = 0; i + 1 < n && !(sy[i] == e.a && sy[i + 1] == e.b); i++) {}
            if (i + 1 >= n) continue; // stale entry: the pair left this word earlier
            if ((s = ensure_touched(T, (size_t)n))) break;
            if ((s = word_pairs(T, w, -T->wfreq[w], -1))) break;
            for (i = o = 0; i < n;) {
                if (i + 1 < n && sy[i] == e.a && sy[i + 1] == e.b) sy[o++] = c, i += 2;
                else sy[o++] = sy[i++];
            }
            T->wlen[w] = o;
            s = word_pairs(T, w, T->wfreq[w], c);
        }
        zy_free(where.w);
        if (s) return s;
        (*nm)++;
        if ((s = flush_touched(T))) return s;
        if (progress && ((*nm & 63) == 0 || *nm == max_merges) &&
            progress("merging", (size_t)*nm, (size_t)max_merges, user))
            return zy__error(ZY_STATUS_INTERRUPTED, "tokenizer train: stopped by the caller");
    }
    return ZY_STATUS_OK;
}

zy_status zy__merge_learn(int32_t *sym, const uint32_t *off, int32_t *len, const int64_t *freq,
                          size_t n_words, int64_t min_frequency, int32_t max_merges,
                          zy__merge_fn fn, void *ctx, zy_tokenizer_progress_fn progress,
                          void *user, int32_t *n_merges) {
    // The trainer borrows the caller's arrays (handed back before it is freed).
    trainer T = {0};
    T.sym = sym;
    T.woff = (uint32_t *)off;
    T.wlen = len;
    T.wfreq = (int64_t *)freq;
    T.nw = n_words;
    zy_status s = merge_loop(&T, min_frequency, max_merges, fn, ctx, progress, user, n_merges);
    T.sym = NULL, T.woff = NULL, T.wlen = NULL, T.wfreq = NULL;
    trainer_free(&T);
    return s;
}

typedef struct bpe_merges {
    int32_t *ma, *mb;
    int32_t n;
} bpe_merges;

static int32_t bpe_new_symbol(void *ctx, int32_t a, int32_t b, zy_status *st) {
    (void)st;
    bpe_merges *m = ctx;
    m->ma[m->n] = a;
    m->mb[m->n] = b;
    return 256 + m->n++;
}

// BPE: the words' bytes are the first symbols; merge k makes symbol 256 + k.
static zy_status learn(trainer *T, zy_bpe_train_params p, int32_t *ma, int32_t *mb, int32_t *nm,
                       int32_t max_merges) {
    size_t total = 0;
    for (size_t w = 0; w < T->nw; w++) total += (size_t)T->wlen[w];
    T->sym = zy_alloc(total * sizeof *T->sym + 4);
    if (!T->sym) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer train: out of memory");
    for (size_t w = 0; w < T->nw; w++)
        for (int32_t i = 0; i < T->wlen[w]; i++) T->sym[T->woff[w] + i] = T->bytes[T->woff[w] + i];
    bpe_merges m = {ma, mb, 0};
    return merge_loop(T, p.min_frequency, max_merges, bpe_new_symbol, &m, p.progress,
                      p.progress_user, nm);
}

zy_status zy_tokenizer_train_bpe_texts(zy_tokenizer **out, const char *const *texts,
                                       const size_t *lens, int n_texts,
                                       zy_bpe_train_params p) {
    if (!out || (n_texts && (!texts || !lens)) || n_texts < 0 || p.n_special < 0 ||
        (p.n_special && !p.special_tokens))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer train: NULL argument");
    *out = NULL;
    if (p.vocab_size < 256 + p.n_special || p.vocab_size > ZY__TOK_MAX_ID)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer train: vocab_size %d must be "
                         "at least 256 + %d special tokens (and below %d)", p.vocab_size,
                         p.n_special, ZY__TOK_MAX_ID);
    for (int k = 0; k < p.n_special; k++) {
        const char *sp = p.special_tokens[k];
        if (!sp || !*sp || strlen(sp) > 65535 || !valid_utf8(sp, strlen(sp)))
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer train: special token %d "
                             "is empty, too long or not valid UTF-8", k);
    }
    trainer T = {0};
    zy_tokenizer *t = NULL;
    int32_t max_merges = p.vocab_size - 256 - p.n_special, nm = 0;
    int32_t *ma = zy_alloc((size_t)max_merges * 4 + 4), *mb = zy_alloc((size_t)max_merges * 4 + 4);
    zy_status s = ZY_STATUS_OK;
    if (!ma || !mb) {
        s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer train: out of memory");
        goto done;
    }
    size_t all = 0, done_bytes = 0;
    for (int k = 0; k < n_texts; k++) all += lens[k];
    for (int k = 0; k < n_texts && !s; k++) {
        const uint8_t *x = (const uint8_t *)texts[k];
        for (size_t i = 0; i < lens[k] && !s;) {
            size_t n = zy__pretok_next(x + i, lens[k] - i);
            s = count_word(&T, x + i, n);
            i += n;
            if (p.progress && ((done_bytes + i) >> 20) != ((done_bytes + i - n) >> 20) &&
                p.progress("counting", done_bytes + i, all, p.progress_user))
                s = zy__error(ZY_STATUS_INTERRUPTED, "tokenizer train: stopped by the caller");
        }
        done_bytes += lens[k];
    }
    if (s || (s = learn(&T, p, ma, mb, &nm, max_merges))) goto done;
    if ((s = zy__tok_create(&t, 256 + nm + p.n_special))) goto done;
    for (int b = 0; b < 256 && !s; b++) {
        uint8_t c = (uint8_t)b;
        s = zy__tok_add(t, b, &c, 1, 0, "tokenizer train");
    }
    uint8_t buf[1024];
    for (int32_t r = 0; r < nm && !s; r++) {
        size_t la, lb;
        const char *a = zy_tokenizer_token_bytes(t, ma[r], &la);
        const char *b = zy_tokenizer_token_bytes(t, mb[r], &lb);
        if (la + lb > sizeof buf) { // refuse absurdly long tokens (> 1 KiB) rather than allocate
            nm = r;
            break;
        }
        memcpy(buf, a, la);
        memcpy(buf + la, b, lb);
        s = zy__tok_add(t, 256 + r, buf, la + lb, 0, "tokenizer train");
    }
    for (int32_t r = 0; r < nm && !s; r++) s = zy__tok_add_merge(t, ma[r], mb[r], "tokenizer train merge", r);
    // Special tokens take the ids right after the merges (so ids stay dense).
    for (int k = 0; k < p.n_special && !s; k++)
        s = zy__tok_add(t, 256 + nm + k, (const uint8_t *)p.special_tokens[k],
                        strlen(p.special_tokens[k]), 2, "tokenizer train: special tokens");
    if (!s) t->n_vocab = 256 + nm + p.n_special; // fewer merges than planned: no holes
    if (!s) s = zy__tok_finish(t, "tokenizer train");
done:
    trainer_free(&T);
    zy_free(ma);
    zy_free(mb);
    if (s) {
        zy_tokenizer_free(t);
        return s;
    }
    *out = t;
    return ZY_STATUS_OK;
}

zy_status zy_tokenizer_train_bpe(zy_tokenizer **out, const char *const *files, int n_files,
                                 zy_bpe_train_params p) {
    if (!out || n_files <= 0 || !files)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "tokenizer train: no input files");
    *out = NULL;
    char **texts = zy_calloc((size_t)n_files, sizeof *texts);
    size_t *lens = zy_calloc((size_t)n_files, sizeof *lens);
    zy_status s = ZY_STATUS_OK;
    if (!texts || !lens) s = zy__error(ZY_STATUS_OUT_OF_MEMORY, "tokenizer train: out of memory");
    for (int k = 0; k < n_files && !s; k++) {
        s = zy_file_read(files[k], &texts[k], &lens[k]);
        if (!s && p.progress && p.progress("reading", (size_t)k + 1, (size_t)n_files, p.progress_user))
            s = zy__error(ZY_STATUS_INTERRUPTED, "tokenizer train: stopped by the caller");
    }
    if (!s) s = zy_tokenizer_train_bpe_texts(out, (const char *const *)texts, lens, n_files, p);
    for (int k = 0; texts && k < n_files; k++) zy_free(texts[k]);
    zy_free(texts);
    zy_free(lens);
    return s;
}
