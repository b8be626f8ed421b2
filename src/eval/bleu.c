// Corpus BLEU as SacreBLEU 2.x computes it by default: the 13a tokenizer, n-grams of 1..4
// tokens clipped by the maximum count in any one reference, the closest reference length
// (ties: the shorter), 'exp' smoothing, effective order off. Not sentence BLEU with
// effective order, nor sacrebleu's other tokenizers or smoothing methods.
//
// 13a is four regular-expression substitutions in sacrebleu; here each is one left-to-right
// pass over the bytes that makes the same non-overlapping matches. Working on bytes rather
// than code points changes nothing: every pattern character is ASCII except [^0-9], and a
// multi-byte character's bytes are all non-digits that no other pattern starts with.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "eval_internal.h"

enum { ORDER = 4 };

static int is_digit(char c) { return c >= '0' && c <= '9'; }

// sacrebleu's first 13a rule: [\{-\~\[-\` -\&\(-\+\:-\@\/] -> " \1 " (ASCII punctuation and
// the space, except ' , - .)
static int is_split_punct(unsigned char c) {
    return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
           (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == '/';
}

// str.replace(from, to) in place, len(to) <= len(from): non-overlapping, left to right.
static size_t replace_all(char *s, size_t n, const char *from, const char *to) {
    const size_t nf = strlen(from), nt = strlen(to);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (n - i >= nf && !memcmp(s + i, from, nf)) {
            memcpy(s + k, to, nt);
            k += nt, i += nf;
        } else {
            s[k++] = s[i++];
        }
    }
    return k;
}

typedef struct tok {
    const char *p;
    size_t n;
} tok;

// The 13a steps up to the final split: *buf (zy_alloc'd, *len bytes) holds the text whose
// whitespace-separated pieces are the tokens.
static zy_status tokenize_raw(const char *s, char **buf, size_t *len) {
    size_t n = strlen(s);
    if (n > SIZE_MAX / 32 - 8)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bleu: segment too long (%zu bytes)", n);
    // rstrip(): the end of the last character that is not Python whitespace
    size_t end = 0;
    for (size_t i = 0; i < n;) {
        int32_t c;
        size_t l = zy__utf8_next(s + i, n - i, &c);
        if (!l)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bleu: text is not valid UTF-8 (byte %zu)",
                             i);
        i += l;
        if (!zy__py_isspace(c)) end = i;
    }
    n = end;
    // Each pass at most doubles (rules 2-4) or triples (rule 1) the text: two buffers of 24n.
    const size_t cap = 24 * (n + 2);
    char *a = zy_alloc(2 * cap);
    if (!a) return ZY_STATUS_OUT_OF_MEMORY;
    char *b = a + cap;
    a[0] = ' '; // f' {line} '
    memcpy(a + 1, s, n);
    size_t m = n + 1;
    m = 1 + replace_all(a + 1, m - 1, "<skipped>", "");
    m = 1 + replace_all(a + 1, m - 1, "-\n", "");
    m = 1 + replace_all(a + 1, m - 1, "\n", " ");
    if (memchr(a, '&', m)) {
        m = 1 + replace_all(a + 1, m - 1, "&quot;", "\"");
        m = 1 + replace_all(a + 1, m - 1, "&amp;", "&");
        m = 1 + replace_all(a + 1, m - 1, "&lt;", "<");
        m = 1 + replace_all(a + 1, m - 1, "&gt;", ">");
    }
    a[m++] = ' ';
    // rule 1: punctuation apart
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        if (is_split_punct((unsigned char)a[i])) b[k++] = ' ', b[k++] = a[i], b[k++] = ' ';
        else b[k++] = a[i];
    }
    // rule 2: ([^0-9])([\.,]) -> "\1 \2 "
    m = 0;
    for (size_t i = 0; i < k;) {
        if (i + 1 < k && !is_digit(b[i]) && (b[i + 1] == '.' || b[i + 1] == ',')) {
            a[m++] = b[i], a[m++] = ' ', a[m++] = b[i + 1], a[m++] = ' ';
            i += 2;
        } else {
            a[m++] = b[i++];
        }
    }
    // rule 3: ([\.,])([^0-9]) -> " \1 \2"
    k = 0;
    for (size_t i = 0; i < m;) {
        if (i + 1 < m && (a[i] == '.' || a[i] == ',') && !is_digit(a[i + 1])) {
            b[k++] = ' ', b[k++] = a[i], b[k++] = ' ', b[k++] = a[i + 1];
            i += 2;
        } else {
            b[k++] = a[i++];
        }
    }
    // rule 4: ([0-9])(-) -> "\1 \2 "
    m = 0;
    for (size_t i = 0; i < k;) {
        if (i + 1 < k && is_digit(b[i]) && b[i + 1] == '-') {
            a[m++] = b[i], a[m++] = ' ', a[m++] = '-', a[m++] = ' ';
            i += 2;
        } else {
            a[m++] = b[i++];
        }
    }
    *buf = a;
    *len = m;
    return ZY_STATUS_OK;
}

// str.split(): the pieces of s[0..n) between runs of Python whitespace, into out (room for
// n / 2 + 1). s is valid UTF-8.
static size_t split(const char *s, size_t n, tok *out) {
    size_t k = 0, start = 0;
    int in_word = 0;
    for (size_t i = 0; i < n;) {
        int32_t c;
        size_t l = zy__utf8_next(s + i, n - i, &c);
        if (zy__py_isspace(c)) {
            if (in_word) out[k++] = (tok){s + start, i - start};
            in_word = 0;
        } else if (!in_word) {
            start = i, in_word = 1;
        }
        i += l;
    }
    if (in_word) out[k++] = (tok){s + start, n - start};
    return k;
}

// One segment tokenized: its buffer and tokens (one allocation each).
typedef struct words {
    char *buf;
    tok *t;
    size_t n;
} words;

static zy_status words_of(const char *s, words *w) {
    size_t len = 0;
    w->buf = NULL, w->t = NULL, w->n = 0;
    zy_status st = tokenize_raw(s, &w->buf, &len);
    if (st) return st;
    if (!(w->t = zy_alloc((len / 2 + 1) * sizeof *w->t))) {
        zy_free(w->buf);
        w->buf = NULL;
        return ZY_STATUS_OUT_OF_MEMORY;
    }
    w->n = split(w->buf, len, w->t);
    return ZY_STATUS_OK;
}

static void words_free(words *w) {
    zy_free(w->buf), zy_free(w->t);
    w->buf = NULL, w->t = NULL;
}

zy_status zy_bleu_tokenize_13a(const char *s, char **out, size_t *out_len) {
    if (!s || !out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bleu tokenize: NULL argument");
    *out = NULL;
    words w;
    zy_status st = words_of(s, &w);
    if (st) return st;
    // the tokens joined by single spaces: never longer than the buffer they came from
    size_t k = 0;
    for (size_t i = 0; i < w.n; i++) {
        if (i) w.buf[k++] = ' ';
        memmove(w.buf + k, w.t[i].p, w.t[i].n);
        k += w.t[i].n;
    }
    w.buf[k] = 0;
    zy_free(w.t);
    *out = w.buf;
    if (out_len) *out_len = k;
    return ZY_STATUS_OK;
}

// An n-gram: ORDER-gram slots, `n` of them used (n is the same within one sort).
typedef struct gram {
    const tok *t;
    int n;
} gram;

static int gram_cmp(const void *pa, const void *pb) {
    const gram *a = pa, *b = pb;
    for (int i = 0; i < a->n; i++) {
        const tok *x = &a->t[i], *y = &b->t[i];
        int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
        if (!c) c = (x->n > y->n) - (x->n < y->n);
        if (c) return c;
    }
    return 0;
}

// The sorted n-grams of order n of w into g; their count.
static size_t grams(const words *w, int n, gram *g) {
    if (w->n < (size_t)n) return 0;
    const size_t k = w->n - (size_t)n + 1;
    for (size_t i = 0; i < k; i++) g[i] = (gram){w->t + i, n};
    qsort(g, k, sizeof *g, gram_cmp);
    return k;
}

// sacrebleu's closest reference length: smallest |hyp - ref|, ties to the shorter.
static int64_t closest(int64_t hyp, const int64_t *lens, size_t k) {
    int64_t best = lens[0];
    for (size_t i = 1; i < k; i++) {
        int64_t d = llabs(hyp - lens[i]), db = llabs(hyp - best);
        if (d < db || (d == db && lens[i] < best)) best = lens[i];
    }
    return best;
}

// One segment's statistics added to out (sys_len, ref_len, counts, totals). ws[0] is the
// hypothesis, ws[1..k] its references; scratch holds `room` (> any token count) grams per
// list, k + 1 lists; lens k lengths.
// idx holds 2k sizes.
static void segment(const words *ws, size_t k, gram *scratch, size_t room, int64_t *lens,
                    size_t *idx, zy_bleu_score *out) {
    for (size_t r = 0; r < k; r++) lens[r] = (int64_t)ws[1 + r].n;
    out->sys_len += (int64_t)ws[0].n;
    out->ref_len += closest((int64_t)ws[0].n, lens, k);
    for (int n = 1; n <= ORDER; n++) {
        gram *h = scratch;
        const size_t nh = grams(&ws[0], n, h);
        size_t *nr = idx, *pos = idx + k;
        for (size_t r = 0; r < k; r++) {
            nr[r] = grams(&ws[1 + r], n, scratch + (1 + r) * room);
            pos[r] = 0;
        }
        int64_t correct = 0;
        for (size_t i = 0; i < nh;) {
            size_t j = i + 1;
            while (j < nh && !gram_cmp(&h[i], &h[j])) j++;
            const int64_t c = (int64_t)(j - i);
            int64_t best = 0; // the most of this n-gram in one reference
            for (size_t r = 0; r < k; r++) {
                const gram *g = scratch + (1 + r) * room;
                while (pos[r] < nr[r] && gram_cmp(&g[pos[r]], &h[i]) < 0) pos[r]++;
                int64_t m = 0;
                while (pos[r] < nr[r] && !gram_cmp(&g[pos[r]], &h[i])) pos[r]++, m++;
                if (m > best) best = m;
            }
            correct += c < best ? c : best;
            i = j;
        }
        out->counts[n - 1] += correct;
        out->totals[n - 1] += (int64_t)nh;
    }
}

// sacrebleu's my_log: log, with log(0) floored to -9999999999.
static double floored_log(double x) { return x == 0.0 ? -9999999999.0 : log(x); }

// BLEU.compute_bleu with smooth_method 'exp', effective_order False, order 4.
static void finish(zy_bleu_score *s) {
    s->bp = 1.0;
    if (s->sys_len < s->ref_len)
        s->bp = s->sys_len > 0 ? exp(1 - (double)s->ref_len / (double)s->sys_len) : 0.0;
    s->ratio = s->ref_len ? (double)s->sys_len / (double)s->ref_len : 0.0;
    for (int i = 0; i < ORDER; i++) s->precisions[i] = 0.0;
    s->score = 0.0;
    int any = 0;
    for (int i = 0; i < ORDER; i++) any |= s->counts[i] != 0;
    if (!any) return; // sacrebleu's early stop: score 0, precisions 0
    double smooth = 1.0;
    for (int i = 0; i < ORDER; i++) {
        if (s->totals[i] == 0) break; // higher orders keep precision 0
        if (s->counts[i] == 0) {
            smooth *= 2;
            s->precisions[i] = 100.0 / (smooth * (double)s->totals[i]);
        } else {
            s->precisions[i] = 100.0 * (double)s->counts[i] / (double)s->totals[i];
        }
    }
    double sum = 0.0;
    for (int i = 0; i < ORDER; i++) sum += floored_log(s->precisions[i]);
    s->score = s->bp * exp(sum / ORDER);
}

zy_status zy_bleu_corpus(const char *const *hyps, size_t n, const char *const *const *refs,
                         size_t n_refs, zy_bleu_score *out) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bleu: NULL result");
    int nrefs;
    zy_status st = zy__mt_check("bleu", hyps, n, refs, n_refs, &nrefs);
    if (st) return st;
    zy_bleu_score s = {0};
    s.nrefs = nrefs;
    words *ws = zy_alloc((n_refs + 1) * sizeof *ws);
    int64_t *lens = zy_alloc(n_refs * sizeof *lens);
    size_t *idx = zy_alloc(2 * n_refs * sizeof *idx);
    gram *scratch = NULL;
    size_t scratch_room = 0;
    if (!ws || !lens || !idx) {
        st = ZY_STATUS_OUT_OF_MEMORY;
        goto done;
    }
    for (size_t r = 0; r <= n_refs; r++) ws[r] = (words){0};
    for (size_t i = 0; i < n; i++) {
        size_t k = 0, most = 0; // references of this segment, the longest token list
        if ((st = words_of(hyps[i], &ws[0]))) goto seg_fail;
        most = ws[0].n;
        for (size_t r = 0; r < n_refs; r++) {
            if (!refs[r][i]) continue;
            if ((st = words_of(refs[r][i], &ws[1 + k]))) goto seg_fail;
            if (ws[1 + k].n > most) most = ws[1 + k].n;
            k++;
        }
        if (most + 1 > scratch_room) {
            zy_free(scratch);
            scratch_room = 2 * most + 1;
            if (scratch_room > SIZE_MAX / sizeof *scratch / (n_refs + 1) ||
                !(scratch = zy_alloc(scratch_room * (n_refs + 1) * sizeof *scratch))) {
                scratch = NULL;
                st = ZY_STATUS_OUT_OF_MEMORY;
                goto seg_fail;
            }
        }
        segment(ws, k, scratch, scratch_room, lens, idx, &s);
    seg_fail:
        for (size_t r = 0; r <= n_refs; r++) words_free(&ws[r]);
        if (st) goto done;
    }
    finish(&s);
    *out = s;
done:
    zy_free(scratch), zy_free(idx), zy_free(lens), zy_free(ws);
    return st;
}
