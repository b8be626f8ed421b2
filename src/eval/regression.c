// Regression metrics: mean squared and absolute error, Pearson's and Spearman's
// correlation (definitions in include/zhuyi/metrics.h). Everything in double.
#include <math.h>
#include <stdlib.h>

#include "core/internal.h"
#include "eval_internal.h"

// Pearson's r of x and y (n), or NaN when either is constant. tmp holds n doubles.
static double pearson(const double *x, const double *y, size_t n, double *tmp) {
    for (size_t i = 0; i < n; i++) tmp[i] = x[i];
    double mx = zy__pairwise_sum(tmp, n, 1) / (double)n;
    for (size_t i = 0; i < n; i++) tmp[i] = y[i];
    double my = zy__pairwise_sum(tmp, n, 1) / (double)n;
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        double dx = x[i] - mx, dy = y[i] - my;
        sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
    }
    if (sxx == 0 || syy == 0) return NAN;
    double r = sxy / sqrt(sxx * syy);
    return r > 1 ? 1 : r < -1 ? -1 : r; // rounding can step just outside
}

typedef struct { double v; size_t i; } keyed;

static int by_value(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

// Average ranks (1-based; ties share the mean of their positions). k is scratch (n).
static void ranks(const double *x, size_t n, double *rank, keyed *k) {
    for (size_t i = 0; i < n; i++) k[i] = (keyed){x[i], i};
    qsort(k, n, sizeof *k, by_value);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && k[j].v == k[i].v) j++;
        double r = (double)(i + 1 + j) / 2.0; // mean of i+1 .. j
        for (size_t t = i; t < j; t++) rank[k[t].i] = r;
        i = j;
    }
}

zy_status zy_regression_scores(const float *gold, const float *pred, size_t n,
                               zy_regression_metrics *out) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "regression scores: out is NULL");
    if (n == 0) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "regression scores: no values");
    if (!gold || !pred)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "regression scores: NULL %s values",
                         gold ? "predicted" : "gold");
    for (size_t i = 0; i < n; i++)
        if (!isfinite(gold[i]) || !isfinite(pred[i]))
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "regression scores: %s value at index %zu is not finite",
                             isfinite(gold[i]) ? "predicted" : "gold", i);
    if (n > SIZE_MAX / (6 * sizeof(double) + sizeof(keyed)))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "regression scores: %zu values is too many", n);
    double *g = zy_alloc(n * (6 * sizeof(double) + sizeof(keyed)));
    if (!g) return ZY_STATUS_OUT_OF_MEMORY;
    double *p = g + n, *t = p + n, *rg = t + n, *rp = rg + n, *tmp = rp + n;
    keyed *k = (keyed *)(tmp + n);
    for (size_t i = 0; i < n; i++) g[i] = gold[i], p[i] = pred[i];
    zy_regression_metrics r = {.n = (int64_t)n};
    for (size_t i = 0; i < n; i++) t[i] = (p[i] - g[i]) * (p[i] - g[i]);
    r.mse = zy__pairwise_sum(t, n, 1) / (double)n;
    for (size_t i = 0; i < n; i++) t[i] = fabs(p[i] - g[i]);
    r.mae = zy__pairwise_sum(t, n, 1) / (double)n;
    r.pearson = pearson(g, p, n, tmp);
    ranks(g, n, rg, k);
    ranks(p, n, rp, k);
    r.spearman = pearson(rg, rp, n, tmp);
    zy_free(g);
    *out = r;
    return ZY_STATUS_OK;
}
