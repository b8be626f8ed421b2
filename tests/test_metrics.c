// Tests of the evaluation metrics (src/eval, include/zhuyi/metrics.h).
// - Reference cases (tests/ref_metrics.py -> tests/ref/metrics.jsonl: an independent
//   standard-library Python implementation of scikit-learn's classification scores,
//   seqeval's default-mode entity scores, the SQuAD v1.1 script and the regression
//   metrics): every count agrees exactly, and every float of the classification, entity
//   and SQuAD metrics is bit-identical (both sides compute the same expression in the same
//   order); regression floats agree to 1e-12 relative.
// - Hand-checked numbers published with the tools: seqeval's README example, scikit-learn's
//   classification_report docs example, SQuAD cases worked by hand.
// - Bad input: ids out of range, lengths that disagree, NULL / empty tags, 0/1 matrices
//   holding 2, non-finite values, no gold answers: errors naming the place, accumulators
//   unchanged.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "zhuyi/metrics.h"

#define REF_PATH "tests/ref/metrics.jsonl"

// ---- reading the reference cases --------------------------------------------------------------
typedef struct cases {
    cJSON **c;
    int n;
} cases;

static cases load(const char *kind) {
    cases r = {0};
    char *text;
    size_t len;
    if (zy_file_read(REF_PATH, &text, &len)) {
        zt_fail(__FILE__, __LINE__, "%s: %s (run: /usr/bin/python3 tests/ref_metrics.py)",
                REF_PATH, zy_last_error());
        return r;
    }
    int cap = 0;
    for (char *line = text, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl) nl = line + strlen(line) - 1;
        cJSON *j = cJSON_ParseWithLength(line, (size_t)(nl - line + 1));
        if (!j) {
            zt_fail(__FILE__, __LINE__, "%s: a line does not parse", REF_PATH);
            break;
        }
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "kind");
        if (!cJSON_IsString(k) || strcmp(k->valuestring, kind)) {
            cJSON_Delete(j);
            continue;
        }
        if (r.n == cap) r.c = realloc(r.c, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *r.c);
        r.c[r.n++] = j;
    }
    zy_free(text);
    if (!r.n) zt_fail(__FILE__, __LINE__, "%s: no '%s' cases", REF_PATH, kind);
    return r;
}

static void unload(cases *r) {
    for (int i = 0; i < r->n; i++) cJSON_Delete(r->c[i]);
    free(r->c);
}

static const cJSON *get(const cJSON *o, const char *name) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    if (!x) zt_fail(__FILE__, __LINE__, "reference field '%s' missing", name);
    return x;
}

static double num(const cJSON *o, const char *name) {
    const cJSON *x = get(o, name);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN; // null = NaN
}

// The JSON array as ints (malloc'd, at least 1 element).
static int *ints(const cJSON *a, int *n) {
    *n = cJSON_GetArraySize(a);
    int *v = zt_malloc(sizeof *v * (size_t)(*n + 1));
    int i = 0;
    for (const cJSON *x = a ? a->child : NULL; x; x = x->next) v[i++] = (int)x->valuedouble;
    return v;
}

// Exact agreement (or both NaN); notes and records the first few differences.
static int n_bad;
static void same(const char *where, const char *what, double got, double want) {
    if (got == want || (isnan(got) && isnan(want))) return;
    if (n_bad++ < 10)
        zt_fail(__FILE__, __LINE__, "%s: %s = %.17g, reference %.17g", where, what, got, want);
}

static void near(const char *where, const char *what, double got, double want) {
    if (isnan(got) && isnan(want)) return;
    if (fabs(got - want) <= 1e-12 * fmax(1, fabs(want))) return;
    if (n_bad++ < 10)
        zt_fail(__FILE__, __LINE__, "%s: %s = %.17g, reference %.17g", where, what, got, want);
}

static void check_class(const char *where, const zy_class_score *s, const cJSON *w) {
    same(where, "tp", (double)s->tp, num(w, "tp"));
    same(where, "predicted", (double)s->predicted, num(w, "predicted"));
    same(where, "support", (double)s->support, num(w, "support"));
    same(where, "precision", s->precision, num(w, "p"));
    same(where, "recall", s->recall, num(w, "r"));
    same(where, "f1", s->f1, num(w, "f1"));
}

static void check_prf(const char *where, const char *what, zy_prf got, const cJSON *w) {
    char name[64];
    const double v[3] = {got.precision, got.recall, got.f1};
    const char *part[3] = {"precision", "recall", "f1"};
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s %s", what, part[i]);
        const cJSON *x = cJSON_GetArrayItem(w, i);
        same(where, name, v[i], x ? x->valuedouble : NAN);
    }
}

static void check_scores(const char *where, const zy_scores *s, const cJSON *c) {
    same(where, "accuracy", s->accuracy, num(c, "accuracy"));
    same(where, "correct", (double)s->correct, num(c, "correct"));
    same(where, "tp", (double)s->tp, num(c, "tp"));
    same(where, "predicted", (double)s->predicted, num(c, "predicted"));
    same(where, "support", (double)s->support, num(c, "support"));
    same(where, "classes", s->classes, num(c, "classes"));
    check_prf(where, "micro", s->micro, get(c, "micro"));
    check_prf(where, "macro", s->macro, get(c, "macro"));
    check_prf(where, "weighted", s->weighted, get(c, "weighted"));
}

// ---- classification ----------------------------------------------------------------------------
TEST(metrics_classification_ref) {
    cases cs = load("class");
    n_bad = 0;
    for (int i = 0; i < cs.n; i++) {
        const cJSON *c = cs.c[i];
        char where[64];
        snprintf(where, sizeof where, "class case %d", i);
        int K = (int)num(c, "K"), n, n2;
        int *gold = ints(get(c, "gold"), &n), *pred = ints(get(c, "pred"), &n2);
        zy_confusion *m = NULL;
        ASSERT(zy_confusion_create(&m, K) == ZY_STATUS_OK);
        // in two batches: counts accumulate
        CHECK(zy_confusion_add(m, gold, pred, (size_t)n / 2) == ZY_STATUS_OK);
        CHECK(zy_confusion_add(m, gold + n / 2, pred + n / 2, (size_t)(n - n / 2)) == 0);
        CHECK(zy_confusion_total(m) == n);
        zy_class_score *per = zt_malloc(sizeof *per * (size_t)K);
        zy_scores s;
        CHECK(zy_confusion_scores(m, per, &s) == ZY_STATUS_OK);
        const cJSON *w = get(c, "per");
        for (int k = 0; k < K; k++) check_class(where, &per[k], cJSON_GetArrayItem(w, k));
        check_scores(where, &s, c);
        same(where, "n", (double)s.n, n);
        // the matrix itself
        const int64_t *counts = zy_confusion_counts(m);
        for (int t = 0; t < n; t++) {
            int64_t want = 0;
            for (int u = 0; u < n; u++) want += gold[u] == gold[t] && pred[u] == pred[t];
            same(where, "count", (double)counts[(size_t)gold[t] * K + pred[t]], (double)want);
        }
        free(per), free(gold), free(pred);
        zy_confusion_free(m);
    }
    zt_note("%d classification cases", cs.n);
    unload(&cs);
}

TEST(metrics_multilabel_ref) {
    cases cs = load("multilabel");
    n_bad = 0;
    for (int i = 0; i < cs.n; i++) {
        const cJSON *c = cs.c[i];
        char where[64];
        snprintf(where, sizeof where, "multilabel case %d", i);
        int L = (int)num(c, "L");
        const cJSON *g = get(c, "gold"), *p = get(c, "pred");
        int n = cJSON_GetArraySize(g);
        uint8_t *gm = zt_malloc((size_t)n * L + 1), *pm = zt_malloc((size_t)n * L + 1);
        for (int r = 0; r < n; r++)
            for (int j = 0; j < L; j++) {
                gm[r * L + j] = (uint8_t)cJSON_GetArrayItem(cJSON_GetArrayItem(g, r), j)->valuedouble;
                pm[r * L + j] = (uint8_t)cJSON_GetArrayItem(cJSON_GetArrayItem(p, r), j)->valuedouble;
            }
        zy_class_score *per = zt_malloc(sizeof *per * (size_t)L);
        zy_scores s;
        CHECK(zy_multilabel_scores(gm, pm, (size_t)n, L, per, &s) == ZY_STATUS_OK);
        const cJSON *w = get(c, "per");
        for (int k = 0; k < L; k++) check_class(where, &per[k], cJSON_GetArrayItem(w, k));
        check_scores(where, &s, c);
        free(gm), free(pm), free(per);
    }
    zt_note("%d multi-label cases", cs.n);
    unload(&cs);
}

TEST(metrics_regression_ref) {
    cases cs = load("regression");
    n_bad = 0;
    for (int i = 0; i < cs.n; i++) {
        const cJSON *c = cs.c[i];
        char where[64];
        snprintf(where, sizeof where, "regression case %d", i);
        const cJSON *g = get(c, "gold"), *p = get(c, "pred");
        int n = cJSON_GetArraySize(g);
        float *gv = zt_floats((size_t)n), *pv = zt_floats((size_t)n);
        for (int k = 0; k < n; k++) {
            gv[k] = (float)cJSON_GetArrayItem(g, k)->valuedouble;
            pv[k] = (float)cJSON_GetArrayItem(p, k)->valuedouble;
        }
        zy_regression_metrics r;
        CHECK(zy_regression_scores(gv, pv, (size_t)n, &r) == ZY_STATUS_OK);
        same(where, "mse", r.mse, num(c, "mse")); // a pairwise sum on both sides: exact
        same(where, "mae", r.mae, num(c, "mae"));
        near(where, "pearson", r.pearson, num(c, "pearson"));
        near(where, "spearman", r.spearman, num(c, "spearman"));
        free(gv), free(pv);
    }
    zt_note("%d regression cases", cs.n);
    unload(&cs);
}

// ---- tagging -------------------------------------------------------------------------------------
// The sentences of a JSON array of arrays of strings (pointers into the JSON).
static const char **sentence(const cJSON *a, int *n) {
    *n = cJSON_GetArraySize(a);
    const char **v = zt_malloc(sizeof *v * (size_t)(*n + 1));
    int i = 0;
    for (const cJSON *x = a->child; x; x = x->next) v[i++] = x->valuestring;
    return v;
}

TEST(metrics_seqeval_ref) {
    cases cs = load("seqeval");
    n_bad = 0;
    for (int i = 0; i < cs.n; i++) {
        const cJSON *c = cs.c[i];
        char where[96];
        snprintf(where, sizeof where, "seqeval case %d (%s)", i, get(c, "name")->valuestring);
        zy_entity_eval *e = NULL;
        ASSERT(zy_entity_eval_create(&e) == ZY_STATUS_OK);
        const cJSON *g = get(c, "gold"), *p = get(c, "pred");
        const cJSON *alone = get(c, "alone")->child;
        for (const cJSON *gs = g->child, *ps = p->child; gs && ps; gs = gs->next, ps = ps->next) {
            int ng, np;
            const char **gt = sentence(gs, &ng), **pt = sentence(ps, &np);
            CHECK(zy_entity_eval_add(e, gt, (size_t)ng, pt, (size_t)np) == ZY_STATUS_OK);
            // the predicted sentence's entities on their own
            zy_entity *ent = zt_malloc(sizeof *ent * (size_t)(np + 1));
            size_t k = 0;
            CHECK(zy_tags_entities(pt, (size_t)np, ent, &k) == ZY_STATUS_OK);
            same(where, "entities alone", (double)k, cJSON_GetArraySize(alone));
            for (size_t j = 0; j < k && j < (size_t)cJSON_GetArraySize(alone); j++) {
                const cJSON *w = cJSON_GetArrayItem(alone, (int)j);
                const char *type = cJSON_GetArrayItem(w, 0)->valuestring;
                if ((strlen(type) != ent[j].type_len || memcmp(type, ent[j].type, ent[j].type_len)) &&
                    n_bad++ < 10)
                    zt_fail(__FILE__, __LINE__, "%s: entity %zu type '%.*s', reference '%s'", where,
                            j, (int)ent[j].type_len, ent[j].type, type);
                same(where, "entity start", (double)ent[j].start, cJSON_GetArrayItem(w, 1)->valuedouble);
                same(where, "entity end", (double)ent[j].end, cJSON_GetArrayItem(w, 2)->valuedouble);
            }
            alone = alone ? alone->next : NULL;
            free(gt), free(pt), free(ent);
        }
        const cJSON *types = get(c, "types"), *w = get(c, "per");
        int nt = zy_entity_eval_types(e);
        same(where, "types", nt, cJSON_GetArraySize(types));
        zy_class_score *per = zt_malloc(sizeof *per * (size_t)(nt + 1));
        zy_scores s;
        CHECK(zy_entity_eval_scores(e, per, &s) == ZY_STATUS_OK);
        for (int k = 0; k < nt && k < cJSON_GetArraySize(types); k++) {
            const char *want = cJSON_GetArrayItem(types, k)->valuestring;
            if (strcmp(zy_entity_eval_type(e, k), want) && n_bad++ < 10)
                zt_fail(__FILE__, __LINE__, "%s: type %d is '%s', reference '%s'", where, k,
                        zy_entity_eval_type(e, k), want);
            check_class(where, &per[k], cJSON_GetArrayItem(w, k));
        }
        check_scores(where, &s, c);
        same(where, "tokens", (double)s.n, num(c, "tokens"));
        free(per);
        zy_entity_eval_free(e);
    }
    zt_note("%d seqeval cases", cs.n);
    unload(&cs);
}

// seqeval's README: f1 0.5, accuracy 0.8, and its classification_report
//               precision    recall  f1-score   support
//          MISC       0.00      0.00      0.00         1
//           PER       1.00      1.00      1.00         1
//     micro avg       0.50      0.50      0.50         2
//     macro avg       0.50      0.50      0.50         2
//  weighted avg       0.50      0.50      0.50         2
TEST(metrics_seqeval_readme) {
    const char *g1[] = {"O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"}, *g2[] = {"B-PER", "I-PER", "O"};
    const char *p1[] = {"O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"}, *p2[] = {"B-PER", "I-PER", "O"};
    zy_entity_eval *e;
    ASSERT(zy_entity_eval_create(&e) == 0);
    ASSERT(zy_entity_eval_add(e, g1, 7, p1, 7) == 0);
    ASSERT(zy_entity_eval_add(e, g2, 3, p2, 3) == 0);
    zy_class_score per[2];
    zy_scores s;
    ASSERT(zy_entity_eval_scores(e, per, &s) == 0);
    ASSERT_EQ_INT(zy_entity_eval_types(e), 2);
    CHECK(!strcmp(zy_entity_eval_type(e, 0), "MISC") && !strcmp(zy_entity_eval_type(e, 1), "PER"));
    CHECK(per[0].tp == 0 && per[0].support == 1 && per[0].predicted == 1 && per[0].f1 == 0);
    CHECK(per[1].tp == 1 && per[1].f1 == 1);
    CHECK(s.micro.f1 == 0.5 && s.micro.precision == 0.5 && s.micro.recall == 0.5);
    CHECK(s.macro.f1 == 0.5 && s.weighted.f1 == 0.5 && s.support == 2);
    CHECK(s.accuracy == 0.8 && s.n == 10);
    zy_entity_eval_free(e);

    // get_entities' docstring: ['B-PER', 'I-PER', 'O', 'B-LOC'] -> (PER, 0, 1), (LOC, 3, 3)
    const char *t[] = {"B-PER", "I-PER", "O", "B-LOC"};
    zy_entity ent[4];
    size_t k;
    ASSERT(zy_tags_entities(t, 4, ent, &k) == 0);
    ASSERT_EQ_INT(k, 2);
    CHECK(ent[0].type_len == 3 && !memcmp(ent[0].type, "PER", 3) && ent[0].start == 0 && ent[0].end == 1);
    CHECK(ent[1].type_len == 3 && !memcmp(ent[1].type, "LOC", 3) && ent[1].start == 3 && ent[1].end == 3);
    // I- without B- starts one; a type change splits a run; an open entity ends at the end
    const char *u[] = {"I-PER", "I-LOC", "O", "B"};
    ASSERT(zy_tags_entities(u, 4, ent, &k) == 0);
    ASSERT_EQ_INT(k, 3);
    CHECK(ent[0].start == 0 && ent[0].end == 0 && ent[1].start == 1 && ent[1].end == 1);
    CHECK(ent[2].start == 3 && ent[2].end == 3 && ent[2].type_len == 1 && ent[2].type[0] == '_');
}

// scikit-learn's classification_report example (y_true [0 1 2 2 2], y_pred [0 0 2 2 1]):
//     class 0   0.50  1.00  0.67  1 / class 1  0.00 0.00 0.00 1 / class 2  1.00 0.67 0.80 3
//     accuracy 0.60 / macro avg 0.50 0.56 0.49 / weighted avg 0.70 0.60 0.61
TEST(metrics_classification_sklearn_example) {
    const int g[] = {0, 1, 2, 2, 2}, p[] = {0, 0, 2, 2, 1};
    zy_confusion *m;
    ASSERT(zy_confusion_create(&m, 3) == 0);
    ASSERT(zy_confusion_add(m, g, p, 5) == 0);
    zy_class_score c[3];
    zy_scores s;
    ASSERT(zy_confusion_scores(m, c, &s) == 0);
    ASSERT_NEAR(c[0].precision, 0.5, 0);
    ASSERT_NEAR(c[0].f1, 2.0 / 3, 1e-15);
    ASSERT_NEAR(c[2].recall, 2.0 / 3, 1e-15);
    ASSERT_NEAR(c[2].f1, 0.8, 1e-15);
    ASSERT_NEAR(s.accuracy, 0.6, 0);
    ASSERT_NEAR(s.macro.recall, (1 + 0 + 2.0 / 3) / 3, 1e-15);
    ASSERT_NEAR(s.weighted.precision, 0.7, 1e-15);
    ASSERT_NEAR(s.micro.f1, 0.6, 1e-15);
    const int64_t *n = zy_confusion_counts(m);
    const int64_t want[9] = {1, 0, 0, 1, 0, 0, 0, 1, 2};
    for (int i = 0; i < 9; i++) CHECK(n[i] == want[i]);
    // a bad id rejects the batch and says where
    const int bad[] = {0, 3};
    CHECK(zy_confusion_add(m, bad, bad, 2) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "index 1") != NULL);
    CHECK(zy_confusion_total(m) == 5 && n[0] == 1);
    const int neg[] = {-1};
    CHECK(zy_confusion_add(m, g, neg, 1) == ZY_STATUS_INVALID_ARGUMENT);
    zy_confusion_free(m);
    CHECK(zy_confusion_create(&m, 0) == ZY_STATUS_INVALID_ARGUMENT && m == NULL);
}

// ---- question answering ----------------------------------------------------------------------------
TEST(metrics_squad_ref) {
    cases cs = load("squad");
    n_bad = 0;
    int questions = 0;
    for (int i = 0; i < cs.n; i++) {
        const cJSON *c = cs.c[i];
        char where[96];
        snprintf(where, sizeof where, "squad case %d (%s)", i, get(c, "name")->valuestring);
        zy_squad_totals t = {0};
        for (const cJSON *q = get(c, "questions")->child; q; q = q->next, questions++) {
            const cJSON *pj = get(q, "pred");
            const char *pred = cJSON_IsString(pj) ? pj->valuestring : NULL;
            int ng;
            const char **gold = sentence(get(q, "gold"), &ng);
            CHECK(zy_squad_add(&t, pred, gold, (size_t)ng) == ZY_STATUS_OK);
            if (pred) {
                char *norm;
                size_t len;
                CHECK(zy_squad_normalize(pred, &norm, &len) == 0);
                const char *want = get(q, "norm_pred")->valuestring;
                if ((strcmp(norm, want) || len != strlen(want)) && n_bad++ < 10)
                    zt_fail(__FILE__, __LINE__, "%s: normalize('%s') = '%s', reference '%s'",
                            where, pred, norm, want);
                zy_free(norm);
                int k = 0;
                for (const cJSON *ngj = get(q, "norm_gold")->child; ngj; ngj = ngj->next, k++) {
                    CHECK(zy_squad_normalize(gold[k], &norm, &len) == 0);
                    if (strcmp(norm, ngj->valuestring) && n_bad++ < 10)
                        zt_fail(__FILE__, __LINE__, "%s: normalize('%s') = '%s', reference '%s'",
                                where, gold[k], norm, ngj->valuestring);
                    zy_free(norm);
                }
                int exact;
                double f1;
                CHECK(zy_squad_score(pred, gold, (size_t)ng, &exact, &f1) == 0);
                same(where, "exact", exact, num(q, "exact"));
                same(where, "f1", f1, num(q, "f1"));
            }
            free(gold);
        }
        same(where, "exact_match", zy_squad_exact_match(&t), num(c, "exact_match"));
        same(where, "f1 total", zy_squad_f1(&t), num(c, "f1"));
    }
    zt_note("%d squad cases, %d questions", cs.n, questions);
    unload(&cs);
}

TEST(metrics_squad_by_hand) {
    struct { const char *pred, *gold; int exact; double f1; } x[] = {
        {"The Cat!", "cat", 1, 1},
        {"cat cat dog", "cat dog dog", 0, 2.0 / 3},     // multiset: cat and dog once each
        {"", "the", 1, 0},                              // both normalise to ""
        {"an apple", "apple", 1, 1},
        {"theatre", "atre", 0, 0},                      // "the" only as a whole word
        {"A\xc2\xa0" "B", "a  b", 1, 1},                // both "b": no-break space splits, a goes
        {"\xce\x9f\xce\x94\xce\x9f\xce\xa3", "\xce\xbf\xce\xb4\xce\xbf\xcf\x82", 1, 1}, // ΟΔΟΣ, οδος
        {"Paris, France", "paris", 0, 2.0 / 3},
    };
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
        int exact;
        double f1;
        const char *g = x[i].gold;
        ASSERT(zy_squad_score(x[i].pred, &g, 1, &exact, &f1) == 0);
        if (exact != x[i].exact || fabs(f1 - x[i].f1) > 1e-15)
            zt_fail(__FILE__, __LINE__, "case %zu: exact %d f1 %.17g", i, exact, f1);
    }
    // several gold answers: the best of each
    const char *golds[] = {"the dog", "a big dog", "cat"};
    int exact;
    double f1;
    ASSERT(zy_squad_score("big dog", golds, 3, &exact, &f1) == 0);
    CHECK(exact == 1 && f1 == 1);
    ASSERT(zy_squad_score("dog cat", golds, 3, &exact, &f1) == 0);
    CHECK(exact == 0 && fabs(f1 - 2.0 / 3) < 1e-15);
    zy_squad_totals t = {0};
    ASSERT(zy_squad_add(&t, "dog", golds, 3) == 0);
    ASSERT(zy_squad_add(&t, NULL, golds, 3) == 0); // unanswered: counts as 0
    CHECK(t.total == 2 && t.answered == 1 && zy_squad_exact_match(&t) == 50.0);
    CHECK(zy_squad_f1(&t) == 50.0);
    CHECK(zy_squad_add(&t, "x", golds, 0) == ZY_STATUS_INVALID_ARGUMENT && t.total == 2);
}

// ---- bad input --------------------------------------------------------------------------------------
TEST(metrics_bad_input) {
    zy_entity_eval *e;
    ASSERT(zy_entity_eval_create(&e) == 0);
    const char *g[] = {"B-PER", "I-PER"}, *p[] = {"B-PER", NULL}, *q[] = {"B-PER", ""};
    CHECK(zy_entity_eval_add(e, g, 2, g, 1) == ZY_STATUS_SHAPE_MISMATCH);
    CHECK(strstr(zy_last_error(), "sentence 0") != NULL);
    CHECK(zy_entity_eval_add(e, g, 2, p, 2) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "token 1") != NULL);
    CHECK(zy_entity_eval_add(e, q, 2, g, 2) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_entity_eval_sentences(e) == 0 && zy_entity_eval_types(e) == 0);
    CHECK(zy_entity_eval_add(e, g, 2, g, 2) == 0 && zy_entity_eval_sentences(e) == 1);
    zy_entity_eval_free(e);

    const uint8_t a[] = {0, 1, 1, 0}, b[] = {0, 2, 1, 0};
    zy_scores s;
    CHECK(zy_multilabel_scores(a, b, 2, 2, NULL, &s) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "row 0, label 1") != NULL);
    CHECK(zy_multilabel_scores(a, a, 2, 0, NULL, &s) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_multilabel_scores(a, a, 2, 2, NULL, &s) == 0 && s.accuracy == 1);

    const float x[] = {1, 2, NAN}, y[] = {1, 2, 3};
    zy_regression_metrics r;
    CHECK(zy_regression_scores(x, y, 0, &r) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_regression_scores(x, y, 3, &r) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "index 2") != NULL);
    CHECK(zy_regression_scores(y, y, 3, &r) == 0 && r.mse == 0 && r.pearson == 1 &&
          r.spearman == 1);

    int exact;
    double f1;
    const char *none[] = {NULL};
    CHECK(zy_squad_score("x", none, 1, &exact, &f1) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_squad_score("x", none, 0, &exact, &f1) == ZY_STATUS_INVALID_ARGUMENT);
}

// A refused allocation in the middle of an add (a new type's name, the type table
// growing) leaves the accumulator as it was: the same sentence added again afterwards
// gives the scores of a run that never failed.
TEST(metrics_entity_add_out_of_memory) {
    const char *s1[] = {"B-PER", "I-PER", "O", "B-LOC"};
    const char *s2[] = {"B-A", "I-B", "B-C", "B-D", "S-E", "B-F", "B-G", "B-H", "B-I", "B-PER"};
    const char *p2[] = {"B-A", "B-B", "B-C", "O", "S-E", "B-F", "B-G", "B-X", "B-I", "I-PER"};
    zy_entity_eval *ref;
    ASSERT(zy_entity_eval_create(&ref) == 0);
    ASSERT(zy_entity_eval_add(ref, s1, 4, s1, 4) == 0 && zy_entity_eval_add(ref, s2, 10, p2, 10) == 0);
    zy_scores want, got;
    ASSERT(zy_entity_eval_scores(ref, NULL, &want) == 0);
    int refused = 0;
    for (long k = 0; k < 64; k++) {
        zy_entity_eval *e;
        ASSERT(zy_entity_eval_create(&e) == 0);
        ASSERT(zy_entity_eval_add(e, s1, 4, s1, 4) == 0);
        zt_allocations_fail_after(k);
        zy_status st = zy_entity_eval_add(e, s2, 10, p2, 10);
        zy_allocator_set(NULL);
        if (st) {
            refused++;
            CHECK(st == ZY_STATUS_OUT_OF_MEMORY);
            CHECK(zy_entity_eval_types(e) == 2 && zy_entity_eval_sentences(e) == 1);
            ASSERT(zy_entity_eval_add(e, s2, 10, p2, 10) == 0);
        }
        ASSERT(zy_entity_eval_scores(e, NULL, &got) == 0);
        CHECK(zy_entity_eval_types(e) == zy_entity_eval_types(ref));
        CHECK(got.tp == want.tp && got.predicted == want.predicted && got.support == want.support);
        CHECK(got.micro.f1 == want.micro.f1 && got.macro.f1 == want.macro.f1);
        zy_entity_eval_free(e);
        if (!st) break;
    }
    CHECK(refused > 5);
    zt_note("%d adds refused part way", refused);
    zy_entity_eval_free(ref);
}
