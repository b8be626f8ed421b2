// Word and character error rates as jiwer computes them by default (metrics.h states the
// rules): tokens from jiwer's default transforms, one Levenshtein alignment per segment,
// counts summed over the corpus. Not jiwer's other measures (MER, WIL, WIP) nor its
// optional transforms (case, punctuation, contractions).
//
// The alignment is a dynamic program over (edits, hits) pairs, fewer edits first and then
// more hits, in two rows. Its end gives E and H, and with N = ref_len, M = hyp_len:
//   S = N + M - E - 2H,  D = N - H - S,  I = M - H - S
// (H + S + D = N and H + S + I = M), so no backtrace is needed.
#include <string.h>

#include "core/internal.h"
#include "eval_internal.h"

// A token: bytes [off, off + len) of its segment (a word), or one code point (len 0).
typedef struct tok {
    int32_t off, len;
    int32_t cp;
} tok;

typedef struct cell {
    int64_t e, h; // edits, hits
} cell;

// Python's str.strip(): the bytes [*a, *b) of s[0..n) without whitespace at either end.
static void strip(const char *s, size_t n, size_t *a, size_t *b) {
    size_t i = 0, end = n, last = 0;
    int32_t c;
    while (i < n) {
        size_t l = zy__utf8_next(s + i, n - i, &c);
        if (!l || !zy__py_isspace(c)) break;
        i += l;
    }
    for (size_t k = i; k < n;) { // the end of the last non-space character
        size_t l = zy__utf8_next(s + k, n - k, &c);
        if (!l) break;
        k += l;
        if (!zy__py_isspace(c)) last = k;
    }
    end = last > i ? last : i;
    *a = i;
    *b = end;
}

// jiwer's words of s: within the stripped text, a separator is a run of two or more
// whitespace characters, or one U+0020; a lone other whitespace character stays in its
// word. Returns the count written to out (room for strlen(s) / 2 + 1).
static size_t words(const char *s, tok *out) {
    const size_t n = strlen(s);
    size_t a, b, k = 0;
    strip(s, n, &a, &b);
    size_t start = a; // of the current word
    for (size_t i = a; i < b;) {
        int32_t c;
        size_t l = zy__utf8_next(s + i, b - i, &c);
        if (!zy__py_isspace(c)) {
            i += l;
            continue;
        }
        size_t run = i, count = 0, j = i; // the whole whitespace run at i
        int32_t first = c;
        while (j < b) {
            int32_t d;
            size_t m = zy__utf8_next(s + j, b - j, &d);
            if (!zy__py_isspace(d)) break;
            j += m;
            count++;
        }
        if (count >= 2 || first == ' ') { // a separator (never at the ends: stripped)
            if (run > start) out[k++] = (tok){(int32_t)start, (int32_t)(run - start), 0};
            start = j;
        }
        i = j;
    }
    if (b > start) out[k++] = (tok){(int32_t)start, (int32_t)(b - start), 0};
    return k;
}

// The code points of the stripped s. Returns the count (room for strlen(s)).
static size_t chars(const char *s, tok *out) {
    const size_t n = strlen(s);
    size_t a, b, k = 0;
    strip(s, n, &a, &b);
    for (size_t i = a; i < b;) {
        int32_t c;
        size_t l = zy__utf8_next(s + i, b - i, &c);
        out[k++] = (tok){0, 0, c};
        i += l;
    }
    return k;
}

static int tok_eq(const char *hs, const tok *h, const char *rs, const tok *r) {
    if (h->len == 0) return h->cp == r->cp;
    return h->len == r->len && memcmp(hs + h->off, rs + r->off, (size_t)h->len) == 0;
}

static inline int better(cell a, cell b) { // a before b
    return a.e < b.e || (a.e == b.e && a.h > b.h);
}

// Edits and hits of the best alignment of r (N) with h (M); rows: 2 (M + 1) cells.
static cell align(const char *rs, const tok *r, size_t N, const char *hs, const tok *h,
                  size_t M, cell *rows) {
    cell *prev = rows, *cur = rows + M + 1;
    for (size_t j = 0; j <= M; j++) prev[j] = (cell){(int64_t)j, 0}; // insertions
    for (size_t i = 1; i <= N; i++) {
        cur[0] = (cell){(int64_t)i, 0}; // deletions
        for (size_t j = 1; j <= M; j++) {
            cell best = prev[j - 1];
            if (tok_eq(hs, &h[j - 1], rs, &r[i - 1])) best.h++;
            else best.e++;
            cell del = {prev[j].e + 1, prev[j].h}, ins = {cur[j - 1].e + 1, cur[j - 1].h};
            if (better(del, best)) best = del;
            if (better(ins, best)) best = ins;
            cur[j] = best;
        }
        cell *t = prev;
        prev = cur;
        cur = t;
    }
    return prev[M];
}

static zy_status error_rate(const char *what, int by_word, const char *const *hyps,
                            const char *const *refs, size_t n, zy_error_rate *out) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: out is NULL", what);
    if (n && !refs) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: references are NULL", what);
    int nrefs;
    const char *const *const streams[1] = {refs};
    zy_status st = zy__mt_check(what, hyps, n, streams, 1, &nrefs);
    if (st) return st;
    size_t max_len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t a = strlen(hyps[i]), b = strlen(refs[i]);
        if (a > max_len) max_len = a;
        if (b > max_len) max_len = b;
    }
    if (max_len >= INT32_MAX)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: a segment of %zu bytes (at most %d)",
                         what, max_len, INT32_MAX - 1);
    // One buffer: the tokens of both sides and two rows of cells, sized for the longest.
    const size_t nt = max_len + 1;
    size_t bytes = 2 * nt * sizeof(tok) + 2 * (nt + 1) * sizeof(cell);
    char *buf = zy_alloc(bytes);
    if (!buf) return ZY_STATUS_OUT_OF_MEMORY; // zy_alloc said so
    tok *rt = (tok *)buf, *ht = rt + nt;
    cell *rows = (cell *)(ht + nt);
    zy_error_rate r = {0};
    for (size_t i = 0; i < n; i++) {
        size_t N = by_word ? words(refs[i], rt) : chars(refs[i], rt);
        size_t M = by_word ? words(hyps[i], ht) : chars(hyps[i], ht);
        cell c = align(refs[i], rt, N, hyps[i], ht, M, rows);
        int64_t S = (int64_t)N + (int64_t)M - c.e - 2 * c.h;
        r.hits += c.h;
        r.substitutions += S;
        r.deletions += (int64_t)N - c.h - S;
        r.insertions += (int64_t)M - c.h - S;
        r.ref_len += (int64_t)N;
        r.hyp_len += (int64_t)M;
    }
    zy_free(buf);
    r.rate = (double)(r.substitutions + r.deletions + r.insertions) /
             (double)(r.ref_len > 1 ? r.ref_len : 1);
    *out = r;
    return ZY_STATUS_OK;
}

zy_status zy_wer_corpus(const char *const *hyps, const char *const *refs, size_t n,
                        zy_error_rate *out) {
    return error_rate("wer", 1, hyps, refs, n, out);
}

zy_status zy_cer_corpus(const char *const *hyps, const char *const *refs, size_t n,
                        zy_error_rate *out) {
    return error_rate("cer", 0, hyps, refs, n, out);
}
