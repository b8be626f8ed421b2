// The task heads' shared part (task_head.h): label fields of config.json, the three
// problem types of sequence classification, cross-entropy over rows with accuracy. Model
// code computes the logits (B, K) or (R, K) and hands them here; the losses are the ops of
// src/nn (cross-entropy, BCE with logits, MSE). Not here: any weights or GEMM.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "kernels/argmax.h"
#include "models/task_head.h"

const char *const zy__problem_names[] = {NULL, "single_label_classification",
                                         "multi_label_classification", "regression"};

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

// ---- labels -------------------------------------------------------------------------------

void zy__labels_free(zy__labels *l) {
    zy_free(l->names);
    l->names = NULL;
}

// names (n) -> one allocation of the pointers and the text; NULL names: "LABEL_i".
static zy_status set_names(zy__labels *l, int n, const char *const *names, const char *who) {
    size_t bytes = (size_t)n * sizeof(char *);
    char tmp[32];
    for (int i = 0; i < n; i++)
        bytes += (names ? strlen(names[i]) : (size_t)snprintf(tmp, sizeof tmp, "LABEL_%d", i)) + 1;
    char **p = zy_alloc(bytes);
    if (!p) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for %d labels", who, n);
    char *text = (char *)(p + n);
    for (int i = 0; i < n; i++) {
        int k = names ? (int)strlen(names[i]) : snprintf(tmp, sizeof tmp, "LABEL_%d", i);
        memcpy(text, names ? names[i] : tmp, (size_t)k + 1);
        p[i] = text;
        text += k + 1;
    }
    zy_free(l->names);
    l->names = p;
    l->n = n;
    return ZY_STATUS_OK;
}

// "0" .. "n-1" written as Python's str(int) does: no sign, no leading zeros.
static int parse_id(const char *s, int n) {
    if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 9) return -1;
    int v = 0;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9') return -1;
        v = 10 * v + (*c - '0');
    }
    return v < n ? v : -1;
}

// id2label (n members) -> names by id (borrowed from c), checked.
static zy_status read_id2label(const zy_config *c, int n, const char **names) {
    const char *file = zy_config_name(c);
    for (int i = 0; i < n; i++) names[i] = NULL;
    for (int i = 0; i < n; i++) {
        const char *key, *value;
        zy_status st = zy_config_get_member_string(c, "id2label", i, &key, &value);
        if (st) return st;
        int id = parse_id(key, n);
        if (id < 0 || names[id])
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field 'id2label': key \"%s\" %s (the "
                             "keys must be \"0\" to \"%d\", each once)", file, key,
                             id < 0 ? "is not a label id" : "appears twice", n - 1);
        names[id] = value;
    }
    return ZY_STATUS_OK;
}

// label2id (n members) -> names by id, checked.
static zy_status read_label2id(const zy_config *c, int n, const char **names) {
    for (int i = 0; i < n; i++) names[i] = NULL;
    for (int i = 0; i < n; i++) {
        const char *key;
        int id;
        zy_status st = zy_config_get_member_int(c, "label2id", i, 0, n - 1, &key, &id);
        if (st) return st;
        if (names[id])
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field 'label2id': id %d is given to "
                             "\"%s\" and \"%s\"", zy_config_name(c), id, names[id], key);
        names[id] = key;
    }
    return ZY_STATUS_OK;
}

// label2id must map each name of names (n) to its id.
static zy_status check_label2id(const zy_config *c, int n, const char *const *names) {
    int m = zy_config_object_count(c, "label2id");
    if (m < 0) return (zy_status)m;
    if (m == 0) return ZY_STATUS_OK;
    for (int i = 0; i < m; i++) {
        const char *key;
        int id;
        zy_status st = zy_config_get_member_int(c, "label2id", i, 0, ZY__MAX_LABELS, &key, &id);
        if (st) return st;
        if (m != n || id >= n || strcmp(names[id], key))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field 'label2id' is not the inverse "
                             "of id2label (\"%s\": %d; id2label has %d labels%s%s%s)",
                             zy_config_name(c), key, id, n, id < n ? ", label " : "",
                             id < n ? "of that id: " : "", id < n ? names[id] : "");
    }
    return ZY_STATUS_OK;
}

zy_status zy__labels_read(const zy_config *c, zy__labels *l) {
    memset(l, 0, sizeof *l);
    const char *file = zy_config_name(c);
    zy_status st;
    int n = 2, from_num = -1;
    if (zy_config_has(c, "num_labels") &&
        (st = zy_config_get_int(c, "num_labels", 1, ZY__MAX_LABELS, &from_num)))
        return st;
    int n_id = zy_config_object_count(c, "id2label"), n_l2i = zy_config_object_count(c, "label2id");
    if (n_id < 0) return (zy_status)n_id;
    if (n_l2i < 0) return (zy_status)n_l2i;
    const char *map = n_id ? "id2label" : n_l2i ? "label2id" : NULL;
    int n_map = n_id ? n_id : n_l2i;
    if (map && n_map > ZY__MAX_LABELS)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field '%s' has %d labels (at most %d)",
                         file, map, n_map, ZY__MAX_LABELS);
    if (map && from_num >= 0 && from_num != n_map)
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field 'num_labels' = %d does not match "
                         "the %d labels of '%s'", file, from_num, n_map, map);
    n = map ? n_map : from_num >= 0 ? from_num : 2;
    const char **names = NULL;
    if (map) {
        names = zy_alloc((size_t)n * sizeof *names);
        if (!names) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", file);
        st = n_id ? read_id2label(c, n, names) : read_label2id(c, n, names);
        if (!st && n_id) st = check_label2id(c, n, names);
        if (st) {
            zy_free(names);
            return st;
        }
    }
    st = set_names(l, n, names, file);
    zy_free(names);
    if (st) return st;
    for (int i = 1; i < n && map; i++) // distinct names (label2id keys them)
        for (int j = 0; j < i; j++)
            if (!strcmp(l->names[i], l->names[j])) {
                st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: field '%s': labels %d and %d are "
                               "both named \"%s\"", file, map, j, i, l->names[i]);
                zy__labels_free(l);
                return st;
            }
    if (zy_config_has(c, "problem_type")) {
        const char *p;
        if ((st = zy_config_get_string(c, "problem_type", &p))) goto fail;
        int k = 1;
        while (k <= 3 && strcmp(p, zy__problem_names[k])) k++;
        if (k > 3) {
            st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: field 'problem_type' is \"%s\" (one of "
                           "\"regression\", \"single_label_classification\", "
                           "\"multi_label_classification\", or null)", file, p);
            goto fail;
        }
        l->problem = (zy__problem)k;
    }
    return ZY_STATUS_OK;
fail:
    zy__labels_free(l);
    return st;
}

zy_status zy__labels_write(const zy__labels *l, zy_config *c) {
    int n = l->n;
    char (*ids)[12] = zy_alloc((size_t)n * sizeof *ids);
    const char **keys = zy_alloc((size_t)n * sizeof *keys);
    int *values = zy_alloc((size_t)n * sizeof *values);
    zy_status st = ZY_STATUS_OK;
    if (!ids || !keys || !values) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", zy_config_name(c));
        goto done;
    }
    for (int i = 0; i < n; i++) {
        snprintf(ids[i], sizeof ids[i], "%d", i);
        keys[i] = ids[i];
        values[i] = i;
    }
    if ((st = zy_config_set_object_strings(c, "id2label", keys, (const char *const *)l->names,
                                           n)) ||
        (st = zy_config_set_object_ints(c, "label2id", (const char *const *)l->names, values,
                                        n)))
        goto done;
    if (l->problem) st = zy_config_set_string(c, "problem_type", zy__problem_names[l->problem]);
done:
    zy_free(ids);
    zy_free(keys);
    zy_free(values);
    return st;
}

zy_status zy__labels_copy(zy__labels *dst, const zy__labels *src) {
    *dst = (zy__labels){.problem = src->problem};
    return set_names(dst, src->n, (const char *const *)src->names, "labels");
}

// ---- cross-entropy over rows ----------------------------------------------------------------

zy_status zy__ce_forward(zy__ce *c, const float *logits, int R, int K) {
    c->R = R, c->K = K;
    c->n = c->correct = 0;
    c->loss = 0;
    zy_status st = zy_cross_entropy_forward(&c->loss, &c->n, c->lse, logits, c->targets, R, K,
                                            -1, 0.0f);
    if (st) return st;
    c->correct = zy__argmax_hits(logits, c->targets, R, K);
    return ZY_STATUS_OK;
}

void zy__ce_backward(const zy__ce *c, float *dlogits, const float *logits, float scale) {
    if (c->n)
        zy_cross_entropy_backward(dlogits, logits, c->lse, c->targets, c->R, c->K, -1, 0.0f,
                                  scale);
}

// ---- sequence classification --------------------------------------------------------------

size_t zy__seqcls_floats(int B, int K) {
    return 2 * round16((size_t)B) + round16((size_t)B * K);
}

void zy__seqcls_carve(zy__seqcls *h, float *base, int B, int K) {
    h->ce.targets = (int *)base;
    h->ce.lse = base + round16((size_t)B);
    h->values = base + 2 * round16((size_t)B);
    h->K = K;
}

zy_status zy__seqcls_check(const zy__labels *l, const zy_batch *b, const char *who,
                           zy__problem *problem) {
    int K = l->n;
    zy__problem p = l->problem;
    if (!p) p = K == 1 ? ZY__PROBLEM_REGRESSION
              : b->labels ? ZY__PROBLEM_SINGLE_LABEL
              : ZY__PROBLEM_MULTI_LABEL;
    bool single = p == ZY__PROBLEM_SINGLE_LABEL;
    *problem = ZY__PROBLEM_NONE;
    if (single ? !b->labels : !b->values) {
        if (single ? !b->values : !b->labels) return ZY_STATUS_OK; // outputs only
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: %s (%s, num_labels %d) is scored "
                         "against the batch's %s, which it lacks (it has %s)", who,
                         zy__problem_names[p], l->problem ? "problem_type" : "inferred", K,
                         single ? "labels" : "values (B, num_labels)",
                         single ? "values" : "labels");
    }
    if (single) {
        for (int r = 0; r < b->B; r++)
            if (b->labels[r] != -1 && (b->labels[r] < 0 || b->labels[r] >= K))
                return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: label %d of row %d (b=%d) is "
                                 "outside [0, %d) (num_labels) and not -1 (not scored)", who,
                                 b->labels[r], r, r, K);
    } else {
        if (b->n_values != K)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: %s needs values (B, num_labels = "
                             "%d); the batch has n_values = %d", who, zy__problem_names[p], K,
                             b->n_values);
        bool multi = p == ZY__PROBLEM_MULTI_LABEL;
        for (int r = 0; r < b->B; r++)
            for (int k = 0; k < K; k++) {
                float v = b->values[(size_t)r * K + k];
                if (!isfinite(v) || (multi && !(v >= 0.0f && v <= 1.0f)))
                    return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: value %g at (b=%d, k=%d) "
                                     "is %s", who, (double)v, r, k,
                                     multi ? "not in [0, 1] (multi-label targets are 0 or 1)"
                                           : "not finite");
            }
    }
    *problem = p;
    return ZY_STATUS_OK;
}

zy_status zy__seqcls_forward(zy__seqcls *h, zy__problem problem, const float *logits,
                             const zy_batch *b) {
    int B = b->B, K = h->K;
    h->problem = problem;
    h->B = B;
    h->loss = 0;
    h->count = 0;
    h->exact = 0;
    h->ce.n = 0;
    if (problem == ZY__PROBLEM_NONE) return ZY_STATUS_OK;
    if (problem == ZY__PROBLEM_SINGLE_LABEL) {
        memcpy(h->ce.targets, b->labels, (size_t)B * sizeof *b->labels);
        zy_status st = zy__ce_forward(&h->ce, logits, B, K);
        if (st) return st;
        h->loss = h->ce.loss;
        h->count = h->ce.n;
        return ZY_STATUS_OK;
    }
    size_t n = (size_t)B * K;
    memcpy(h->values, b->values, n * sizeof *h->values);
    h->count = (double)n;
    if (problem == ZY__PROBLEM_REGRESSION) {
        h->loss = zy_mse_forward(logits, h->values, n);
        return ZY_STATUS_OK;
    }
    h->loss = zy_bce_logits_forward(logits, h->values, n);
    for (int r = 0; r < B; r++) {
        bool all = true;
        for (int k = 0; k < K; k++) {
            size_t i = (size_t)r * K + k;
            all &= (logits[i] > 0) == (h->values[i] >= 0.5f);
        }
        h->exact += all;
    }
    return ZY_STATUS_OK;
}

void zy__seqcls_backward(const zy__seqcls *h, float *dlogits, const float *logits,
                         float scale) {
    size_t n = (size_t)h->B * h->K;
    switch (h->problem) {
    case ZY__PROBLEM_SINGLE_LABEL: zy__ce_backward(&h->ce, dlogits, logits, scale); break;
    case ZY__PROBLEM_MULTI_LABEL: zy_bce_logits_backward(dlogits, logits, h->values, n, scale); break;
    case ZY__PROBLEM_REGRESSION: zy_mse_backward(dlogits, logits, h->values, n, scale); break;
    case ZY__PROBLEM_NONE: break;
    }
}

void zy__seqcls_metrics(const zy__seqcls *h, zy_metric_set *out) {
    if (h->problem == ZY__PROBLEM_SINGLE_LABEL) {
        double n = h->ce.n;
        out->m[out->n++] = (zy_metric){"accuracy", n ? h->ce.correct / n : 0, n};
    } else if (h->problem == ZY__PROBLEM_MULTI_LABEL) {
        double n = h->B;
        out->m[out->n++] = (zy_metric){"accuracy", n ? h->exact / n : 0, n};
    }
}
