// What every metric shares: per-class precision / recall / F1 from counts with the 0/0 = 0
// rule, and the micro / macro / weighted averages, summed in numpy's order so that they
// equal scikit-learn's and seqeval's to the bit. Not a metric itself.
#include "eval_internal.h"

double zy__pairwise_sum(const double *x, size_t n, size_t stride) {
    if (n < 8) {
        double s = 0.;
        for (size_t i = 0; i < n; i++) s += x[i * stride];
        return s;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++) r[j] = x[j * stride];
        size_t i = 8;
        for (; i < n - n % 8; i += 8)
            for (int j = 0; j < 8; j++) r[j] += x[(i + j) * stride];
        double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) s += x[i * stride];
        return s;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return zy__pairwise_sum(x, n2, stride) + zy__pairwise_sum(x + n2 * stride, n - n2, stride);
}

static double ratio(int64_t a, int64_t b) { return b ? (double)a / (double)b : 0.0; }

void zy__class_score_finish(zy_class_score *s, int f1_from_pr) {
    s->precision = ratio(s->tp, s->predicted);
    s->recall = ratio(s->tp, s->support);
    if (f1_from_pr) {
        double p = s->precision, r = s->recall;
        // seqeval: (1 + β²) p r / (β² p + r) with β = 1, a zero denominator read as 1
        s->f1 = p + r == 0 ? 0.0 : 2.0 * p * r / (p + r);
    } else {
        s->f1 = ratio(2 * s->tp, s->support + s->predicted);
    }
}

void zy__scores_average(zy_scores *out, const zy_class_score *cs, size_t k, int f1_from_pr,
                        double *scratch) {
    zy_class_score sum = {0};
    for (size_t i = 0; i < k; i++) {
        sum.tp += cs[i].tp;
        sum.predicted += cs[i].predicted;
        sum.support += cs[i].support;
    }
    zy__class_score_finish(&sum, f1_from_pr);
    out->tp = sum.tp, out->predicted = sum.predicted, out->support = sum.support;
    out->micro = (zy_prf){sum.precision, sum.recall, sum.f1};
    out->classes = (int)k;
    // macro: numpy's mean of each column; weighted: np.average(x, weights=support), i.e.
    // the pairwise sum of x * w over the (exact) sum of the weights.
    double *v = scratch, *w = scratch + k, *u = scratch + 2 * k, *z = scratch + 3 * k;
    for (size_t i = 0; i < k; i++) v[i] = cs[i].precision;
    for (size_t i = 0; i < k; i++) w[i] = cs[i].recall;
    for (size_t i = 0; i < k; i++) u[i] = cs[i].f1;
    out->macro = (zy_prf){0, 0, 0};
    if (k) {
        out->macro.precision = zy__pairwise_sum(v, k, 1) / (double)k;
        out->macro.recall = zy__pairwise_sum(w, k, 1) / (double)k;
        out->macro.f1 = zy__pairwise_sum(u, k, 1) / (double)k;
    }
    out->weighted = (zy_prf){0, 0, 0};
    if (sum.support > 0) {
        double ws = (double)sum.support, *col[3] = {v, w, u};
        double got[3];
        for (int c = 0; c < 3; c++) {
            for (size_t i = 0; i < k; i++) z[i] = col[c][i] * (double)cs[i].support;
            got[c] = zy__pairwise_sum(z, k, 1) / ws;
        }
        out->weighted = (zy_prf){got[0], got[1], got[2]};
    }
}
