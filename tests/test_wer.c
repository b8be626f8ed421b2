// Tests of the word and character error rates (src/eval/wer.c; include/zhuyi/metrics.h).
// Names start "wer_".
// - Reference cases (tests/ref_wer.py -> tests/ref/wer_cases.jsonl: an independent
//   standard-library Python implementation of jiwer's default WER and CER): every count
//   (hits, substitutions, deletions, insertions, reference and hypothesis tokens) agrees
//   exactly and every rate to the bit, on 324 corpora: empty hypotheses and references,
//   all-empty references, whitespace-only text, runs of spaces, a lone tab or no-break
//   space inside a word, U+0085, U+001C, ideographic spaces, combining marks, CJK, emoji.
// - jiwer's README example (WER 0.5) and its empty-reference rules (jiwer 4's tests).
// - Bad input: NULL strings, invalid UTF-8: errors naming the segment and byte.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "zhuyi/metrics.h"

#define CASES "tests/ref/wer_cases.jsonl"

static int same(const char *name, const char *what, const char *field, int64_t got,
                const cJSON *want) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(want, field);
    if (cJSON_IsNumber(x) && (double)got == x->valuedouble) return 0;
    zt_fail(__FILE__, __LINE__, "%s: %s %s = %lld, reference %g", name, what, field,
            (long long)got, cJSON_IsNumber(x) ? x->valuedouble : NAN);
    return 1;
}

static int check_rate(const char *name, const char *what, const zy_error_rate *r,
                      const cJSON *want) {
    int bad = same(name, what, "hits", r->hits, want);
    bad |= same(name, what, "substitutions", r->substitutions, want);
    bad |= same(name, what, "deletions", r->deletions, want);
    bad |= same(name, what, "insertions", r->insertions, want);
    bad |= same(name, what, "ref_len", r->ref_len, want);
    bad |= same(name, what, "hyp_len", r->hyp_len, want);
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(want, "rate");
    if (!cJSON_IsNumber(x) || r->rate != x->valuedouble) {
        zt_fail(__FILE__, __LINE__, "%s: %s rate = %.17g, reference %.17g", name, what,
                r->rate, cJSON_IsNumber(x) ? x->valuedouble : NAN);
        bad = 1;
    }
    return bad;
}

static int each_case(const cJSON *c, void *ctx) {
    int *count = ctx;
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
    if (!name) name = "?";
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(c, "hyps");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(c, "refs");
    size_t n = (size_t)cJSON_GetArraySize(h);
    if ((size_t)cJSON_GetArraySize(r) != n) {
        zt_fail(__FILE__, __LINE__, "%s: malformed case", name);
        return 1;
    }
    const char **hyps = zt_malloc((n + 1) * sizeof *hyps), **refs = zt_malloc((n + 1) * sizeof *refs);
    size_t i = 0;
    for (const cJSON *x = h->child, *y = r->child; x && y; x = x->next, y = y->next, i++)
        hyps[i] = x->valuestring, refs[i] = y->valuestring;
    int bad = 0;
    zy_error_rate w, k;
    if (zy_wer_corpus(hyps, refs, n, &w) || zy_cer_corpus(hyps, refs, n, &k)) {
        zt_fail(__FILE__, __LINE__, "%s: %s", name, zy_last_error());
        bad = 1;
    } else {
        bad |= check_rate(name, "wer", &w, cJSON_GetObjectItemCaseSensitive(c, "wer"));
        bad |= check_rate(name, "cer", &k, cJSON_GetObjectItemCaseSensitive(c, "cer"));
    }
    (*count)++;
    free(hyps), free(refs);
    return bad;
}

TEST(wer_cer_match_python_reference) {
    int count = 0, failed = 0, n = zt_ref_cases(CASES, each_case, &count, &failed);
    if (n < 0) return;
    zt_note("%d corpora, %d differ", count, failed);
    CHECK(count >= 300 && failed == 0);
}

TEST(wer_jiwer_examples) {
    // jiwer's README: "hello world" against "hello duck" is one substitution in two words.
    const char *h1[] = {"hello duck"}, *r1[] = {"hello world"};
    zy_error_rate w;
    ASSERT(zy_wer_corpus(h1, r1, 1, &w) == ZY_STATUS_OK);
    ASSERT(w.rate == 0.5 && w.substitutions == 1 && w.hits == 1);
    // jiwer 4's empty references: "" vs "hello" is 1 insertion, rate 1; with another
    // segment the denominator is the other segment's 2 words.
    const char *h2[] = {"hello"}, *r2[] = {""};
    ASSERT(zy_wer_corpus(h2, r2, 1, &w) == ZY_STATUS_OK);
    ASSERT(w.insertions == 1 && w.rate == 1.0 && w.ref_len == 0);
    const char *h3[] = {"hello world", "done"}, *r3[] = {"hello world", ""};
    ASSERT(zy_wer_corpus(h3, r3, 2, &w) == ZY_STATUS_OK);
    ASSERT(w.insertions == 1 && w.rate == 0.5);
    // CER: "abc" vs "" is 3 deletions of 3 characters; "" vs "abd" is 3 insertions, rate 3.
    const char *h4[] = {"", "abd"}, *r4[] = {"abc", ""};
    ASSERT(zy_cer_corpus(h4, r4, 1, &w) == ZY_STATUS_OK);
    ASSERT(w.deletions == 3 && w.rate == 1.0);
    ASSERT(zy_cer_corpus(h4 + 1, r4 + 1, 1, &w) == ZY_STATUS_OK);
    ASSERT(w.insertions == 3 && w.rate == 3.0);
    // Nothing at all: zeros.
    ASSERT(zy_wer_corpus(NULL, NULL, 0, &w) == ZY_STATUS_OK);
    ASSERT(w.rate == 0 && w.ref_len == 0 && w.hits == 0);
}

TEST(wer_errors) {
    zy_error_rate w = {.rate = 42};
    const char *h[] = {"ok", "b\xff"}, *r[] = {"ok", "b"};
    CHECK(zy_wer_corpus(h, r, 2, &w) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "hypothesis 1 is not valid UTF-8 (byte 1)") != NULL);
    CHECK(w.rate == 42);
    const char *h2[] = {"ok", "b"}, *r2[] = {"ok", "\xc3("};
    CHECK(zy_cer_corpus(h2, r2, 2, &w) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "segment 1") != NULL && strstr(zy_last_error(), "cer") != NULL);
    const char *h3[] = {"ok", NULL};
    CHECK(zy_wer_corpus(h3, r2, 2, &w) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "hypothesis 1 is NULL") != NULL);
    const char *r3[] = {NULL, "b"};
    CHECK(zy_wer_corpus(h2, r3, 2, &w) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "segment 0") != NULL);
    CHECK(zy_wer_corpus(h2, NULL, 2, &w) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_wer_corpus(h2, r2, 2, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(w.rate == 42);
}
