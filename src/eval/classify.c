// Classification metrics: the confusion matrix of single-label predictions and the scores
// scikit-learn derives from it, and multi-label scores from 0/1 matrices (definitions in
// include/zhuyi/metrics.h and docs/METRICS.md). Not rendering: tools/zhuyi/confusion.c.
#include <string.h>

#include "core/internal.h"
#include "eval_internal.h"

struct zy_confusion {
    int k;
    int64_t total;
    int64_t *counts; // (k, k), row = gold
};

enum { MAX_CLASSES = 65536 };

zy_status zy_confusion_create(zy_confusion **out, int num_classes) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "confusion: out is NULL");
    *out = NULL;
    if (num_classes < 1 || num_classes > MAX_CLASSES)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "confusion: num_classes %d is outside 1..%d", num_classes, MAX_CLASSES);
    zy_confusion *c = zy_calloc(1, sizeof *c);
    if (!c) return ZY_STATUS_OUT_OF_MEMORY;
    c->k = num_classes;
    c->counts = zy_calloc((size_t)num_classes * (size_t)num_classes, sizeof *c->counts);
    if (!c->counts) {
        zy_free(c);
        return ZY_STATUS_OUT_OF_MEMORY;
    }
    *out = c;
    return ZY_STATUS_OK;
}

void zy_confusion_free(zy_confusion *c) {
    if (!c) return;
    zy_free(c->counts);
    zy_free(c);
}

zy_status zy_confusion_add(zy_confusion *c, const int *gold, const int *pred, size_t n) {
    if (!c) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "confusion: NULL matrix");
    if (n && (!gold || !pred))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "confusion: NULL %s ids for %zu examples",
                         gold ? "predicted" : "gold", n);
    for (size_t i = 0; i < n; i++) {
        if (gold[i] < 0 || gold[i] >= c->k)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "confusion: gold id %d at index %zu is outside 0..%d", gold[i], i,
                             c->k - 1);
        if (pred[i] < 0 || pred[i] >= c->k)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "confusion: predicted id %d at index %zu is outside 0..%d", pred[i],
                             i, c->k - 1);
    }
    for (size_t i = 0; i < n; i++) c->counts[(size_t)gold[i] * c->k + pred[i]]++;
    c->total += (int64_t)n;
    return ZY_STATUS_OK;
}

int zy_confusion_classes(const zy_confusion *c) { return c ? c->k : 0; }
int64_t zy_confusion_total(const zy_confusion *c) { return c ? c->total : 0; }
const int64_t *zy_confusion_counts(const zy_confusion *c) { return c ? c->counts : NULL; }

zy_status zy_confusion_scores(const zy_confusion *c, zy_class_score *per_class, zy_scores *out) {
    if (!c || !out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "confusion scores: NULL argument");
    const size_t k = (size_t)c->k;
    // the classes that occur (compacted: the averages run over them only), + 4 per class
    // of scratch for the averages
    zy_class_score *cs = zy_alloc(k * (sizeof *cs + 4 * sizeof(double)));
    if (!cs) return ZY_STATUS_OUT_OF_MEMORY;
    double *scratch = (double *)(cs + k);
    size_t present = 0;
    int64_t correct = 0;
    for (size_t g = 0; g < k; g++) {
        zy_class_score s = {.tp = c->counts[g * k + g]};
        for (size_t p = 0; p < k; p++) {
            s.support += c->counts[g * k + p];
            s.predicted += c->counts[p * k + g];
        }
        zy__class_score_finish(&s, 0);
        if (per_class) per_class[g] = s;
        if (s.support || s.predicted) cs[present++] = s;
        correct += s.tp;
    }
    zy_scores r = {.correct = correct, .n = c->total};
    r.accuracy = c->total ? (double)correct / (double)c->total : 0.0;
    zy__scores_average(&r, cs, present, 0, scratch);
    zy_free(cs);
    *out = r;
    return ZY_STATUS_OK;
}

zy_status zy_multilabel_scores(const uint8_t *gold, const uint8_t *pred, size_t n, int num_labels,
                               zy_class_score *per_label, zy_scores *out) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "multilabel scores: out is NULL");
    if (num_labels < 1 || num_labels > MAX_CLASSES)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "multilabel scores: num_labels %d is outside 1..%d", num_labels,
                         MAX_CLASSES);
    if (n && (!gold || !pred))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "multilabel scores: NULL %s matrix",
                         gold ? "predicted" : "gold");
    const size_t L = (size_t)num_labels;
    if (n > SIZE_MAX / L)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "multilabel scores: %zu x %zu overflows",
                         n, L);
    for (size_t i = 0; i < n * L; i++)
        if (gold[i] > 1 || pred[i] > 1)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "multilabel scores: %s value %d at row %zu, label %zu is not 0 or 1",
                             gold[i] > 1 ? "gold" : "predicted", gold[i] > 1 ? gold[i] : pred[i],
                             i / L, i % L);
    zy_class_score *cs = zy_alloc(L * (sizeof *cs + 4 * sizeof(double)));
    if (!cs) return ZY_STATUS_OUT_OF_MEMORY;
    double *scratch = (double *)(cs + L);
    memset(cs, 0, L * sizeof *cs);
    int64_t exact = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *g = gold + i * L, *p = pred + i * L;
        int same = 1;
        for (size_t j = 0; j < L; j++) {
            cs[j].tp += g[j] & p[j];
            cs[j].support += g[j];
            cs[j].predicted += p[j];
            same &= g[j] == p[j];
        }
        exact += same;
    }
    for (size_t j = 0; j < L; j++) zy__class_score_finish(&cs[j], 0);
    if (per_label) memcpy(per_label, cs, L * sizeof *cs);
    zy_scores r = {.correct = exact, .n = (int64_t)n};
    r.accuracy = n ? (double)exact / (double)n : 0.0;
    zy__scores_average(&r, cs, L, 0, scratch);
    zy_free(cs);
    *out = r;
    return ZY_STATUS_OK;
}
