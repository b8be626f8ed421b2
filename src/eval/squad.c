// Extractive QA metrics: the official SQuAD v1.1 evaluation (evaluate-v1.1.py): answer
// normalisation, exact match, token F1, the maximum over the gold answers and the dataset
// totals. The rules, including the parts of Python they rest on (str.lower, re's \b,
// str.split), are stated in include/zhuyi/metrics.h. Not SQuAD v2 (no "no answer").
//
// Text is decoded to code points once; a byte that is not UTF-8 becomes the code point
// RAW + byte, which no rule matches and which is written back as that byte.
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "core/internal.h"
#include "eval_internal.h"

enum { RAW = 0x200000 };

// string.punctuation: the ASCII characters !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
static int is_punct(int32_t c) {
    return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
           (c >= 0x7B && c <= 0x7E);
}

// re's \w for str patterns: str.isalnum() (letters and numbers) or '_'.
static int is_word(int32_t c) {
    if (c == '_') return 1;
    if (c < 0 || c >= RAW) return 0;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return 1;
    default:
        return 0;
    }
}

// Unicode's Cased and Case_Ignorable (for final sigma), from categories and case mappings.
static int is_cased(int32_t c) {
    if (c >= RAW) return 0;
    int cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
           cat == UTF8PROC_CATEGORY_LT || utf8proc_tolower(c) != c || utf8proc_toupper(c) != c;
}

static int is_case_ignorable(int32_t c) {
    if (c >= RAW) return 0;
    switch (c) { // Word_Break MidLetter, MidNumLet, Single_Quote
    case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x55F: case 0x5F4:
    case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55:
    case 0xFF07: case 0xFF0E: case 0xFF1A:
        return 1;
    }
    int cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME ||
           cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_LM ||
           cat == UTF8PROC_CATEGORY_SK;
}

// Python's rule for U+03A3: final unless a cased letter follows (case-ignorables skipped),
// and only after a cased letter.
static int final_sigma(const int32_t *c, size_t n, size_t i) {
    size_t j = i;
    while (j > 0 && is_case_ignorable(c[j - 1])) j--;
    if (j == 0 || !is_cased(c[j - 1])) return 0;
    j = i + 1;
    while (j < n && is_case_ignorable(c[j])) j++;
    return j == n || !is_cased(c[j]);
}

static size_t decode(const char *s, size_t n, int32_t *out) {
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t len = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                                                (utf8proc_ssize_t)(n - i < 4 ? n - i : 4), &cp);
        if (len <= 0) cp = RAW + (unsigned char)s[i], len = 1;
        out[k++] = cp;
        i += (size_t)len;
    }
    return k;
}

static size_t encode(const int32_t *c, size_t n, char *out) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i] >= RAW) out[k++] = (char)(c[i] - RAW);
        else k += (size_t)utf8proc_encode_char(c[i], (utf8proc_uint8_t *)out + k);
    }
    return k;
}

static int is_article(const int32_t *c, size_t n) {
    if (n == 1) return c[0] == 'a';
    if (n == 2) return c[0] == 'a' && c[1] == 'n';
    return n == 3 && c[0] == 't' && c[1] == 'h' && c[2] == 'e';
}

zy_status zy_squad_normalize(const char *s, char **out, size_t *out_len) {
    if (!s || !out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "squad normalize: NULL argument");
    *out = NULL;
    const size_t n = strlen(s);
    // code points: n for the input, 2n for the lower-cased text (U+0130 becomes two)
    if (n > SIZE_MAX / 16 - 4)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "squad normalize: text too long");
    int32_t *in = zy_alloc((3 * n + 2) * sizeof *in);
    if (!in) return ZY_STATUS_OUT_OF_MEMORY;
    int32_t *low = in + n + 1;
    const size_t m = decode(s, n, in);
    // 1. lower()
    size_t k = 0;
    for (size_t i = 0; i < m; i++) {
        int32_t c = in[i];
        if (c >= RAW) low[k++] = c;
        else if (c == 0x130) low[k++] = 'i', low[k++] = 0x307;
        else if (c == 0x3A3) low[k++] = final_sigma(in, m, i) ? 0x3C2 : 0x3C3;
        else low[k++] = utf8proc_tolower(c);
    }
    // 2. remove punctuation (in place)
    size_t t = 0;
    for (size_t i = 0; i < k; i++)
        if (!is_punct(low[i])) low[t++] = low[i];
    k = t;
    // 3. \b(a|an|the)\b -> ' ': a maximal run of word characters spelling an article
    t = 0;
    for (size_t i = 0; i < k;) {
        if (!is_word(low[i])) {
            low[t++] = low[i++];
            continue;
        }
        size_t j = i;
        while (j < k && is_word(low[j])) j++;
        if (is_article(low + i, j - i)) low[t++] = ' ';
        else while (i < j) low[t++] = low[i++];
        i = j;
    }
    k = t;
    // 4. ' '.join(text.split())
    t = 0;
    for (size_t i = 0; i < k;) {
        if (zy__py_isspace(low[i])) {
            i++;
            continue;
        }
        if (t) low[t++] = ' ';
        while (i < k && !zy__py_isspace(low[i])) low[t++] = low[i++];
    }
    // UTF-8 out: at most 4 bytes per code point (and 1 per raw byte)
    char *o = zy_alloc(4 * t + 1);
    if (!o) {
        zy_free(in);
        return ZY_STATUS_OUT_OF_MEMORY;
    }
    size_t len = encode(low, t, o);
    o[len] = 0;
    zy_free(in);
    *out = o;
    if (out_len) *out_len = len;
    return ZY_STATUS_OK;
}

typedef struct token {
    const char *s;
    size_t n;
} token;

static int by_bytes(const void *a, const void *b) {
    const token *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

// The normalised text's tokens (split at the single spaces), sorted.
static size_t tokens(const char *s, size_t n, token *out) {
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] != ' ') j++;
        out[k++] = (token){s + i, j - i};
        i = j + 1;
    }
    qsort(out, k, sizeof *out, by_bytes);
    return k;
}

zy_status zy_squad_score(const char *pred, const char *const *gold, size_t n_gold, int *exact,
                         double *f1) {
    if (!pred || !exact || !f1)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "squad score: NULL argument");
    if (n_gold == 0 || !gold)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "squad score: no gold answers");
    for (size_t i = 0; i < n_gold; i++)
        if (!gold[i])
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "squad score: gold answer %zu is NULL", i);
    char *np = NULL, *ng = NULL;
    token *tp = NULL, *tg = NULL;
    size_t lp, lg;
    zy_status s = zy_squad_normalize(pred, &np, &lp);
    if (s) return s;
    tp = zy_alloc((lp / 2 + 1) * sizeof *tp); // tokens are separated by spaces
    if (!tp) {
        s = ZY_STATUS_OUT_OF_MEMORY;
        goto fail;
    }
    const size_t kp = tokens(np, lp, tp);
    int best_exact = 0;
    double best_f1 = 0;
    for (size_t a = 0; a < n_gold; a++) {
        if ((s = zy_squad_normalize(gold[a], &ng, &lg))) goto fail;
        if (!(tg = zy_alloc((lg / 2 + 1) * sizeof *tg))) {
            s = ZY_STATUS_OUT_OF_MEMORY;
            goto fail;
        }
        const size_t kg = tokens(ng, lg, tg);
        if (lp == lg && !memcmp(np, ng, lp)) best_exact = 1;
        // the multiset intersection of two sorted lists
        size_t same = 0;
        for (size_t i = 0, j = 0; i < kp && j < kg;) {
            int c = by_bytes(&tp[i], &tg[j]);
            if (!c) same++, i++, j++;
            else if (c < 0) i++;
            else j++;
        }
        if (same) {
            double p = 1.0 * (double)same / (double)kp, r = 1.0 * (double)same / (double)kg;
            double f = (2 * p * r) / (p + r);
            if (f > best_f1) best_f1 = f;
        }
        zy_free(ng), zy_free(tg);
        ng = NULL, tg = NULL;
    }
    zy_free(np), zy_free(tp);
    *exact = best_exact;
    *f1 = best_f1;
    return ZY_STATUS_OK;
fail:
    zy_free(np), zy_free(tp), zy_free(ng), zy_free(tg);
    return s;
}

zy_status zy_squad_add(zy_squad_totals *t, const char *pred, const char *const *gold,
                       size_t n_gold) {
    if (!t) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "squad add: NULL totals");
    if (!pred) {
        if (n_gold == 0 || !gold)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "squad add: no gold answers");
        t->total++;
        return ZY_STATUS_OK;
    }
    int exact;
    double f1;
    zy_status s = zy_squad_score(pred, gold, n_gold, &exact, &f1);
    if (s) return s;
    t->total++, t->answered++, t->exact += exact;
    t->f1_sum += f1;
    return ZY_STATUS_OK;
}

double zy_squad_exact_match(const zy_squad_totals *t) {
    return t && t->total ? 100.0 * (double)t->exact / (double)t->total : 0.0;
}

double zy_squad_f1(const zy_squad_totals *t) {
    return t && t->total ? 100.0 * t->f1_sum / (double)t->total : 0.0;
}
