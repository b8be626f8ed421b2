// Corpus chrF as SacreBLEU 2.x's CHRF computes it by default: character n-grams of 1..6
// code points over the text with its whitespace removed, β = 2, no word n-grams, the
// effective-order average (eps_smoothing=False). Not chrF++ (word n-grams) nor the
// eps-smoothed variant.
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "eval_internal.h"

enum { ORDER = 6 };

// The code points of s without Python whitespace (''.join(s.split())) into out (room for
// strlen(s)); their count. s is valid UTF-8 (checked by the caller).
static size_t chars(const char *s, int32_t *out) {
    const size_t n = strlen(s);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        int32_t c;
        size_t l = zy__utf8_next(s + i, n - i, &c);
        if (!l) break; // not reached: the input was checked
        if (!zy__py_isspace(c)) out[k++] = c;
        i += l;
    }
    return k;
}

typedef struct gram {
    const int32_t *c;
    int n;
} gram;

static int gram_cmp(const void *pa, const void *pb) {
    const gram *a = pa, *b = pb;
    for (int i = 0; i < a->n; i++)
        if (a->c[i] != b->c[i]) return a->c[i] < b->c[i] ? -1 : 1;
    return 0;
}

// The sorted n-grams of order n of c[0..len) into g; their count.
static size_t grams(const int32_t *c, size_t len, int n, gram *g) {
    if (len < (size_t)n) return 0;
    const size_t k = len - (size_t)n + 1;
    for (size_t i = 0; i < k; i++) g[i] = (gram){c + i, n};
    qsort(g, k, sizeof *g, gram_cmp);
    return k;
}

// Σ min(count in a, count in b) over the distinct n-grams of two sorted lists.
static int64_t matches(const gram *a, size_t na, const gram *b, size_t nb) {
    int64_t m = 0;
    for (size_t i = 0, j = 0; i < na && j < nb;) {
        int c = gram_cmp(&a[i], &b[j]);
        if (c < 0) i++;
        else if (c > 0) j++;
        else m++, i++, j++; // equal runs pair off one by one: min of the two counts
    }
    return m;
}

// CHRF._compute_f_score with eps_smoothing False: stats[3i..3i+2] = hyp, ref, match of
// order i + 1.
static double f_score(const int64_t *stats) {
    const double factor = 4.0; // β²
    double avg_prec = 0.0, avg_rec = 0.0;
    int eff = 0;
    for (int i = 0; i < ORDER; i++) {
        const int64_t h = stats[3 * i], r = stats[3 * i + 1], m = stats[3 * i + 2];
        if (h > 0 && r > 0) {
            avg_prec += (double)m / (double)h;
            avg_rec += (double)m / (double)r;
            eff++;
        }
    }
    if (eff) avg_prec /= eff, avg_rec /= eff;
    else avg_prec = avg_rec = 0.0;
    if (avg_prec + avg_rec == 0.0) return 0.0;
    double score = (1 + factor) * avg_prec * avg_rec;
    score /= factor * avg_prec + avg_rec;
    return 100 * score;
}

zy_status zy_chrf_corpus(const char *const *hyps, size_t n, const char *const *const *refs,
                         size_t n_refs, zy_chrf_score *out) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "chrf: NULL result");
    int nrefs;
    zy_status st = zy__mt_check("chrf", hyps, n, refs, n_refs, &nrefs);
    if (st) return st;
    // one buffer for the longest text: its code points (hypothesis, one reference) and
    // n-grams (hypothesis, reference)
    size_t most = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(hyps[i]);
        if (l > most) most = l;
        for (size_t r = 0; r < n_refs; r++)
            if (refs[r][i] && (l = strlen(refs[r][i])) > most) most = l;
    }
    if (most > SIZE_MAX / (2 * sizeof(int32_t) + 2 * sizeof(gram)) - 1)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "chrf: a text of %zu bytes is too long", most);
    int32_t *hc = zy_alloc(2 * (most + 1) * sizeof *hc);
    gram *g = zy_alloc(2 * (most + 1) * sizeof *g);
    if (!hc || !g) {
        zy_free(hc), zy_free(g);
        return ZY_STATUS_OUT_OF_MEMORY;
    }
    int32_t *rc = hc + most + 1;
    gram *hg = g, *rg = g + most + 1;
    int64_t total[3 * ORDER] = {0};
    for (size_t i = 0; i < n; i++) {
        const size_t hl = chars(hyps[i], hc);
        int64_t best[3 * ORDER] = {0};
        double best_f = -1.0;
        for (size_t r = 0; r < n_refs; r++) {
            if (!refs[r][i]) continue;
            const size_t rl = chars(refs[r][i], rc);
            int64_t stats[3 * ORDER];
            for (int o = 1; o <= ORDER; o++) {
                // the hypothesis is sorted again for each reference: one buffer pair
                // serves every text
                const size_t nh = grams(hc, hl, o, hg), nr = grams(rc, rl, o, rg);
                // sacrebleu counts no hypothesis n-grams where the reference has none
                stats[3 * (o - 1)] = nr ? (int64_t)nh : 0;
                stats[3 * (o - 1) + 1] = (int64_t)nr;
                stats[3 * (o - 1) + 2] = matches(hg, nh, rg, nr);
            }
            const double f = f_score(stats);
            if (f > best_f) {
                best_f = f;
                memcpy(best, stats, sizeof best);
            }
        }
        for (int j = 0; j < 3 * ORDER; j++) total[j] += best[j];
    }
    zy_free(hc), zy_free(g);
    zy_chrf_score s = {0};
    s.nrefs = nrefs;
    for (int o = 0; o < ORDER; o++) {
        s.hyp[o] = total[3 * o];
        s.ref[o] = total[3 * o + 1];
        s.match[o] = total[3 * o + 2];
    }
    s.score = f_score(total);
    *out = s;
    return ZY_STATUS_OK;
}
