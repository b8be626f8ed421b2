// Next-token sampling: greedy, temperature, top-k and top-p (nucleus) over one row of
// logits, in caller scratch (no allocation). Not the generation loop (generate.c).
//
// Order of candidates: by probability, descending, ties to the lower id ("ranks before").
// Selection uses a binary heap whose root is the LAST-ranked element kept, so top-k is
// O(V log k) and no library sort is needed (glibc's qsort may call malloc).
#include <math.h>
#include <stdint.h>

#include "core/internal.h"
#include "zhuyi/sample.h"

zy_sample_params zy_sample_default_params(void) {
    return (zy_sample_params){.temperature = 1.0f, .top_k = 0, .top_p = 1.0f};
}

zy_status zy_sample_params_validate(const zy_sample_params *p) {
    if (!p) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "sample: params is NULL");
    if (!isfinite(p->temperature) || p->temperature < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "sample: temperature %g must be finite and >= 0", p->temperature);
    if (p->top_k < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "sample: top_k %d must be >= 0 (0 = off)",
                         p->top_k);
    if (!(p->top_p > 0 && p->top_p <= 1))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "sample: top_p %g must be in (0, 1] (1 = off)", p->top_p);
    return ZY_STATUS_OK;
}

// Scratch layout: prob (V floats, indexed by id), ids (V ints, candidate order),
// cand (V floats, the candidates' renormalised probabilities).
size_t zy_sample_scratch_size(int V) {
    return V > 0 ? (size_t)V * (2 * sizeof(float) + sizeof(int)) : 0;
}

// Does token a rank before token b?
static inline int before(const float *prob, int a, int b) {
    return prob[a] > prob[b] || (prob[a] == prob[b] && a < b);
}

// Restore the heap below position i: every parent ranks after its children.
static void sift(int *ids, int n, int i, const float *prob) {
    for (;;) {
        int l = 2 * i + 1, c = l;
        if (l >= n) return;
        if (l + 1 < n && before(prob, ids[l], ids[l + 1])) c = l + 1; // the later-ranked child
        if (!before(prob, ids[i], ids[c])) return;
        int t = ids[i];
        ids[i] = ids[c], ids[c] = t;
        i = c;
    }
}

static void heapify(int *ids, int n, const float *prob) {
    for (int i = n / 2 - 1; i >= 0; i--) sift(ids, n, i, prob);
}

// A heap of n ids -> ids sorted first-ranked first (the root, ranked last, goes to the end).
static void heap_sort(int *ids, int n, const float *prob) {
    for (int end = n - 1; end > 0; end--) {
        int t = ids[0];
        ids[0] = ids[end], ids[end] = t;
        sift(ids, end, 0, prob);
    }
}

static int argmax(const float *logits, int V) {
    int best = -1;
    for (int i = 0; i < V; i++)
        if (!isnan(logits[i]) && (best < 0 || logits[i] > logits[best])) best = i;
    return best >= 0 && logits[best] == -INFINITY ? -1 : best;
}

// Unnormalised probabilities exp((x - max) / temperature) into prob; returns their sum
// (0 if no logit is usable). +inf logits share all the mass.
static double softmax_unnorm(float *prob, const float *logits, int V, float temperature) {
    float mx = -INFINITY;
    for (int i = 0; i < V; i++)
        if (logits[i] > mx) mx = logits[i]; // NaN compares false: skipped
    double sum = 0;
    if (mx == -INFINITY) return 0;
    float inv_t = 1.0f / temperature;
    for (int i = 0; i < V; i++) {
        float x = logits[i];
        float e = isnan(x)             ? 0.0f
                  : mx == INFINITY     ? (x == INFINITY ? 1.0f : 0.0f)
                                       : expf((x - mx) * inv_t);
        prob[i] = e;
        sum += e;
    }
    return sum;
}

// Fill ids[0..*n) with the candidate set (see sample.h). `sorted` = 0 lets the unfiltered
// case keep id order (sampling does not need it sorted, and sorting 50k ids per token is
// wasted work). Returns the set's probability mass (unnormalised) or a negative on error.
static double filter(const float *logits, int V, const zy_sample_params *p, float *prob,
                     int *ids, int *n, int sorted) {
    // A temperature so small that 1/T overflows is greedy too (else 0 * inf = NaN below).
    if (p->temperature == 0 || isinf(1.0f / p->temperature)) {
        int best = argmax(logits, V);
        if (best < 0) return -1;
        ids[0] = best, prob[best] = 1.0f, *n = 1;
        return 1.0;
    }
    double total = softmax_unnorm(prob, logits, V, p->temperature);
    if (!(total > 0)) return -1;
    int k = V, top_k = p->top_k > 0 && p->top_k < V;
    if (top_k) {
        k = p->top_k;
        for (int i = 0; i < k; i++) ids[i] = i;
        heapify(ids, k, prob);
        for (int i = k; i < V; i++) {
            if (prob[i] <= prob[ids[0]]) continue; // cannot beat the last kept (ties: lower id)
            ids[0] = i;
            sift(ids, k, 0, prob);
        }
        heap_sort(ids, k, prob);
    } else if (p->top_p < 1) {
        // A token below (1 - top_p) / (V - 1) of the mass can never be in the nucleus: if it
        // were, the tokens from it on (at most V - 1 of them, all smaller) would hold more
        // than 1 - top_p. The most probable token always qualifies, hence the min. The
        // 0.999 keeps rounding from dropping a token right at the bound.
        float mx = 0;
        for (int i = 0; i < V; i++) mx = prob[i] > mx ? prob[i] : mx;
        double cut = V > 1 ? (1.0 - p->top_p) / (V - 1) * total * 0.999 : 0;
        if (cut > mx) cut = mx;
        k = 0;
        for (int i = 0; i < V; i++)
            if (prob[i] >= cut) ids[k++] = i;
        heapify(ids, k, prob);
        heap_sort(ids, k, prob);
    } else {
        for (int i = 0; i < V; i++) ids[i] = i;
        if (sorted) heapify(ids, V, prob), heap_sort(ids, V, prob);
    }
    double mass = 0;
    for (int i = 0; i < k; i++) mass += prob[ids[i]];
    if (p->top_p < 1) {
        // The smallest first-ranked prefix holding at least top_p of the top-k mass, or
        // of the whole mass (not just the tokens above the cut) without top-k.
        double want = p->top_p * (top_k ? mass : total), cum = 0;
        int i = 0;
        while (i < k - 1 && (cum += prob[ids[i]]) < want) i++;
        k = i + 1;
        mass = 0;
        for (i = 0; i < k; i++) mass += prob[ids[i]];
    }
    *n = k;
    return mass;
}

static zy_status check(const float *logits, int V, const zy_sample_params *p, void *scratch) {
    zy_status s = zy_sample_params_validate(p);
    if (s) return s;
    if (!logits || !scratch || V < 1)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "sample: V %d < 1 or NULL buffer", V);
    return ZY_STATUS_OK;
}

zy_status zy_sample(const float *logits, int V, const zy_sample_params *p, zy_rng *rng,
                    void *scratch, int *token) {
    zy_status s = check(logits, V, p, scratch);
    if (s) return s;
    if (!rng || !token) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "sample: NULL rng/token");
    float *prob = scratch;
    int *ids = (int *)(prob + V);
    int n;
    double mass = filter(logits, V, p, prob, ids, &n, 0);
    if (mass < 0) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "sample: no finite logit");
    if (p->temperature == 0) {
        *token = ids[0];
        return ZY_STATUS_OK;
    }
    // 53 random bits: at V = 50k a 24-bit float would make rare tokens visibly coarse.
    double u = (double)(zy_rng_u64(rng) >> 11) * 0x1.0p-53 * mass, cum = 0;
    int pick = ids[n - 1];
    for (int i = 0; i < n; i++) {
        cum += prob[ids[i]];
        if (cum > u) {
            pick = ids[i];
            break;
        }
    }
    // Rounding can leave u just past the last cumulative sum; never pick a zero-mass token.
    while (prob[pick] == 0 && n > 1) pick = ids[--n - 1];
    *token = pick;
    return ZY_STATUS_OK;
}

zy_status zy_sample_candidates(const float *logits, int V, const zy_sample_params *p,
                               void *scratch, const int **ids_out, const float **probs_out,
                               int *n_out) {
    zy_status s = check(logits, V, p, scratch);
    if (s) return s;
    float *prob = scratch, *cand = prob + 2 * (size_t)V;
    int *ids = (int *)(prob + V), n;
    double mass = filter(logits, V, p, prob, ids, &n, 1);
    if (mass < 0) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "sample: no finite logit");
    for (int i = 0; i < n; i++) cand[i] = (float)(prob[ids[i]] / mass);
    *ids_out = ids, *probs_out = cand, *n_out = n;
    return ZY_STATUS_OK;
}

size_t zy_utf8_complete_len(const char *s, size_t n) {
    // Look back over at most 3 bytes for the lead byte of an unfinished sequence.
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = (unsigned char)s[n - back];
        if ((c & 0xC0) == 0x80) continue; // a continuation byte: keep looking back
        size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 && c <= 0xEF ? 3
                      : c >= 0xC2 && c <= 0xDF ? 2 : 1;
        if (need <= back) return n; // complete (or not a lead byte at all)
        // Could the bytes so far still start a valid sequence? (E0 needs A0.., ED needs
        // ..9F, F0 needs 90.., F4 needs ..8F: overlongs and surrogates never complete.)
        if (back >= 2) {
            unsigned char c1 = (unsigned char)s[n - back + 1];
            if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) ||
                (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
                return n;
        }
        return n - back;
    }
    return n;
}
