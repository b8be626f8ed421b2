// Tests of the CTC decoders (src/infer/ctc_decode.c; include/zhuyi/ctc.h). Names start
// "ctc_decode".
// - Reference cases (tests/ref_ctc_beam.py -> tests/ref/ctc_beam_cases.jsonl: an
//   independent standard-library Python greedy decoder and prefix beam search, dict-based):
//   greedy labels exact and score to 1e-4; for beams 1, 4 and 8 the n-best lists agree
//   exactly on their number, order and labels, and on every score to 1e-4 (the worst
//   difference is noted).
// - What is true of beam width 1: it is not greedy (a case where they differ, and the
//   count of reference cases where they do); a wider beam can find a better sequence.
// - Padding frames past input_lengths, T = 0, non-finite frames, argument errors.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "zhuyi/core.h"
#include "zhuyi/ctc.h"

#define CASES "tests/ref/ctc_beam_cases.jsonl"

static const int beams[3] = {1, 4, 8};

typedef struct tally {
    int cases, differ_greedy;
    double worst;
} tally;

static int int_of(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valueint : -1;
}

static double num_of(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static int score_ok(tally *t, const char *name, const char *what, double got, double want) {
    double d = fabs(got - want);
    if (d > t->worst || isnan(d)) t->worst = d;
    if (d <= 1e-4) return 1;
    zt_fail(__FILE__, __LINE__, "%s: %s score %.9g, reference %.9g", name, what, got, want);
    return 0;
}

static int labels_ok(const char *name, const char *what, const int32_t *got, int n,
                     const cJSON *want) {
    if (cJSON_GetArraySize(want) == n && zt_json_same_ints(got, n, want)) return 1;
    char buf[256];
    int k = 0;
    for (int i = 0; i < n && k < 200; i++) k += snprintf(buf + k, sizeof buf - k, " %d", got[i]);
    buf[k] = 0;
    char *w = cJSON_PrintUnformatted(want);
    zt_fail(__FILE__, __LINE__, "%s: %s labels [%s ], reference %s", name, what, buf, w);
    free(w);
    return 0;
}

static int each_case(const cJSON *c, void *ctx) {
    tally *t = ctx;
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
    if (!name) name = "?";
    const int T = int_of(c, "T"), V = int_of(c, "V"), blank = int_of(c, "blank");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(c, "logits");
    if (T < 0 || V < 0 || cJSON_GetArraySize(rows) != T) {
        zt_fail(__FILE__, __LINE__, "%s: malformed case", name);
        return 1;
    }
    const int Vx = V > 0 ? V : 1;
    float *logits = zt_floats((size_t)T * Vx + 1);
    int t0 = 0;
    for (const cJSON *r = rows->child; r; r = r->next, t0++) {
        int v = 0;
        for (const cJSON *x = r->child; x && v < V; x = x->next) logits[t0 * V + v++] = (float)x->valuedouble;
    }
    int32_t *labels = zt_malloc(sizeof(int32_t) * (8 * (size_t)T + 1)), len[8];
    float scores[8];
    int bad = 0;
    t->cases++;
    // greedy (a case without frames has V = 0: only beam search's T = 0 is tried)
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(c, "greedy");
    int32_t glen = 0;
    float gscore = 0;
    if (V > 0) {
        if (zy_ctc_greedy(logits, NULL, 1, T, V, blank, labels, &glen, &gscore)) {
            zt_fail(__FILE__, __LINE__, "%s: greedy: %s", name, zy_last_error());
            bad = 1;
        } else {
            bad |= !labels_ok(name, "greedy", labels, glen,
                              cJSON_GetObjectItemCaseSensitive(g, "labels"));
            bad |= !score_ok(t, name, "greedy", gscore, num_of(g, "score"));
        }
    }
    int32_t *g_labels = zt_malloc(sizeof(int32_t) * ((size_t)glen + 1));
    memcpy(g_labels, labels, sizeof(int32_t) * (size_t)glen);
    const cJSON *bs = cJSON_GetObjectItemCaseSensitive(c, "beams");
    for (int k = 0; k < 3; k++) {
        char key[8], what[32];
        snprintf(key, sizeof key, "%d", beams[k]);
        const cJSON *want = cJSON_GetObjectItemCaseSensitive(bs, key);
        size_t need = zy_ctc_beam_scratch_size(T, Vx, beams[k]);
        void *scratch = zt_malloc(need);
        int n = -1;
        zy_status st = zy_ctc_beam_search(logits, T, Vx, V > 0 ? blank : 0, beams[k], scratch,
                                          need, labels, len, scores, &n);
        free(scratch);
        if (st) {
            zt_fail(__FILE__, __LINE__, "%s: beam %d: %s", name, beams[k], zy_last_error());
            bad = 1;
            continue;
        }
        if (n != cJSON_GetArraySize(want)) {
            zt_fail(__FILE__, __LINE__, "%s: beam %d gives %d hypotheses, reference %d", name,
                    beams[k], n, cJSON_GetArraySize(want));
            bad = 1;
            continue;
        }
        int i = 0;
        for (const cJSON *h = want->child; h && i < n; h = h->next, i++) {
            snprintf(what, sizeof what, "beam %d #%d", beams[k], i);
            bad |= !labels_ok(name, what, labels + (size_t)i * T, len[i],
                              cJSON_GetObjectItemCaseSensitive(h, "labels"));
            bad |= !score_ok(t, name, what, scores[i], num_of(h, "score"));
        }
        if (beams[k] == 1 && V > 0 &&
            (len[0] != glen || memcmp(labels, g_labels, sizeof(int32_t) * (size_t)glen)))
            t->differ_greedy++;
    }
    free(g_labels);
    free(labels);
    free(logits);
    return bad;
}

TEST(ctc_decode_matches_python_reference) {
    tally t = {0};
    int failed = 0, n = zt_ref_cases(CASES, each_case, &t, &failed);
    if (n < 0) return;
    zt_note("%d cases (beams 1, 4, 8); %d differ; worst score difference %.3g; beam 1 "
            "differs from greedy in %d",
            t.cases, failed, t.worst, t.differ_greedy);
    CHECK(t.cases >= 200 && failed == 0);
    // The reference was made to hold such cases: beam 1 is not greedy.
    CHECK(t.differ_greedy > 0);
}

// Probabilities (T, V) -> logits (their logs).
static void logs_of(float *x, const double *p, int n) {
    for (int i = 0; i < n; i++) x[i] = (float)log(p[i]);
}

TEST(ctc_decode_beam1_is_not_greedy) {
    // blank, a, b. Best path "a b" (0.7 · 0.4 = 0.28); prefix "a" sums "a -" and "a a":
    // 0.7 · 0.6 = 0.42, and beam 1 keeps it.
    const double p[6] = {0.2, 0.7, 0.1, 0.3, 0.3, 0.4};
    float x[6];
    logs_of(x, p, 6);
    int32_t lab[2 * 2], len[2], glen;
    float sc[2], gsc;
    int n;
    char scratch[4096];
    ASSERT(zy_ctc_beam_scratch_size(2, 3, 2) <= sizeof scratch);
    ASSERT(zy_ctc_greedy(x, NULL, 1, 2, 3, 0, lab, &glen, &gsc) == ZY_STATUS_OK);
    ASSERT(glen == 2 && lab[0] == 1 && lab[1] == 2);
    ASSERT_NEAR(gsc, log(0.28), 1e-6);
    ASSERT(zy_ctc_beam_search(x, 2, 3, 0, 1, scratch, sizeof scratch, lab, len, sc, &n) ==
           ZY_STATUS_OK);
    ASSERT(n == 1 && len[0] == 1 && lab[0] == 1);
    ASSERT_NEAR(sc[0], log(0.42), 1e-6);
    // Beam 2 keeps "a" and "a b": "a" now also gains "- a" (0.2 · 0.3): 0.48.
    ASSERT(zy_ctc_beam_search(x, 2, 3, 0, 2, scratch, sizeof scratch, lab, len, sc, &n) ==
           ZY_STATUS_OK);
    ASSERT(n == 2 && len[0] == 1 && lab[0] == 1);
    ASSERT_NEAR(sc[0], log(0.42 + 0.2 * 0.3), 1e-6);
}

TEST(ctc_decode_greedy_batch_and_lengths) {
    // B = 2, T = 5, V = 3 (blank 0). Row 0 frames: a a - a b -> "a a b"; row 1 has 3
    // frames (b b a), then padding that would add labels if it were read.
    const int B = 2, T = 5, V = 3;
    const int path[2][5] = {{1, 1, 0, 1, 2}, {2, 2, 1, 2, 1}};
    float x[2 * 5 * 3];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int v = 0; v < V; v++) x[(b * T + t) * V + v] = v == path[b][t] ? 2.0f : 0.0f;
    int32_t il[2] = {5, 3}, lab[2 * 5], len[2];
    float sc[2];
    ASSERT(zy_ctc_greedy(x, il, B, T, V, 0, lab, len, sc) == ZY_STATUS_OK);
    ASSERT(len[0] == 3 && lab[0] == 1 && lab[1] == 1 && lab[2] == 2);
    ASSERT(len[1] == 2 && lab[T] == 2 && lab[T + 1] == 1);
    double one = 2.0 - log(exp(2.0) + 2.0); // log-probability of the 2.0 logit
    ASSERT_NEAR(sc[0], 5 * one, 1e-5);
    ASSERT_NEAR(sc[1], 3 * one, 1e-5);
    // Beam search agrees on such a peaked row.
    char scratch[8192];
    int32_t bl[4 * 5], blen[4];
    float bsc[4];
    int n;
    ASSERT(zy_ctc_beam_search(x, T, V, 0, 4, scratch, sizeof scratch, bl, blen, bsc, &n) == 0);
    ASSERT(n == 4 && blen[0] == 3 && bl[0] == 1 && bl[1] == 1 && bl[2] == 2);
}

TEST(ctc_decode_edges_and_errors) {
    char scratch[4096];
    int32_t lab[8], len[4];
    float sc[4], x[6] = {0, 1, 2, 3, 4, 5};
    int n = -1;
    // No frames: the empty sequence, log-probability 0.
    ASSERT(zy_ctc_beam_search(NULL, 0, 3, 0, 4, scratch, sizeof scratch, lab, len, sc, &n) == 0);
    ASSERT(n == 1 && len[0] == 0 && sc[0] == 0.0f);
    // A frame of NaN leaves nothing.
    float y[6] = {0, 1, 2, NAN, NAN, NAN};
    ASSERT(zy_ctc_beam_search(y, 2, 3, 0, 4, scratch, sizeof scratch, lab, len, sc, &n) == 0);
    CHECK(n == 0);
    // Errors name what is wrong and write nothing.
    n = 42;
    CHECK(zy_ctc_beam_search(x, 2, 3, 3, 4, scratch, sizeof scratch, lab, len, sc, &n) ==
          ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "blank 3 is outside [0, 3)") != NULL);
    CHECK(zy_ctc_beam_search(x, 2, 3, 0, 0, scratch, sizeof scratch, lab, len, sc, &n) ==
          ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "beam=0") != NULL);
    CHECK(zy_ctc_beam_search(x, 2, 3, 0, 4, scratch, 16, lab, len, sc, &n) ==
          ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "scratch of 16 bytes") != NULL);
    CHECK(n == 42);
    CHECK(zy_ctc_beam_scratch_size(1 << 30, 8, 1 << 30) == 0);
    CHECK(zy_ctc_beam_scratch_size(10, 0, 4) == 0);
    int32_t il[1] = {3};
    CHECK(zy_ctc_greedy(x, il, 1, 2, 3, 0, lab, len, sc) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "input_lengths[0] = 3 is outside [0, T=2]") != NULL);
    CHECK(zy_ctc_greedy(x, NULL, 1, 2, 3, -1, lab, len, sc) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_ctc_greedy(x, NULL, 1, 2, 3, 0, lab, NULL, sc) == ZY_STATUS_INVALID_ARGUMENT);
}
