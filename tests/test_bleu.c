// Tests of BLEU and chrF (src/eval/bleu.c, chrf.c, mt.c; include/zhuyi/metrics.h).
// - Reference cases (tests/ref_bleu.py -> tests/ref/bleu_cases.jsonl: an independent
//   standard-library Python implementation of SacreBLEU 2.x's default BLEU, its 13a
//   tokenizer and its default chrF): every token string and count agrees exactly, every
//   score, precision, brevity penalty and ratio to 1e-9 (the worst difference is noted).
// - SacreBLEU's README example (BLEU = 48.53 82.4/50.0/45.5/37.5, BP = 0.943,
//   hyp_len = 17, ref_len = 18; chrF2 = 59.73) and the signature lines.
// - Bad input: NULL strings and streams, a segment without references, invalid UTF-8:
//   errors naming the hypothesis, reference and byte.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "zhuyi/metrics.h"

#define CASES "tests/ref/bleu_cases.jsonl"

typedef struct tally {
    int tok, corpus;
    double worst; // largest |C - Python| of any float
} tally;

static int close_to(tally *t, const char *name, const char *what, double got, double want) {
    double d = fabs(got - want);
    if (d > t->worst) t->worst = d;
    if (d <= 1e-9) return 0;
    zt_fail(__FILE__, __LINE__, "%s: %s = %.17g, reference %.17g", name, what, got, want);
    return 1;
}

static int same_int(const char *name, const char *what, int64_t got, const cJSON *want) {
    if (cJSON_IsNumber(want) && (double)got == want->valuedouble) return 0;
    zt_fail(__FILE__, __LINE__, "%s: %s = %lld, reference %g", name, what, (long long)got,
            cJSON_IsNumber(want) ? want->valuedouble : NAN);
    return 1;
}

static double field(const cJSON *o, const char *k) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static int tok_case(const cJSON *c) {
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "text"));
    const char *want = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "tokens"));
    if (!text || !want) {
        zt_fail(__FILE__, __LINE__, "tok13a case without text or tokens");
        return 1;
    }
    char *got;
    if (zy_bleu_tokenize_13a(text, &got, NULL)) {
        zt_fail(__FILE__, __LINE__, "13a of '%s': %s", text, zy_last_error());
        return 1;
    }
    int bad = strcmp(got, want) != 0;
    if (bad) zt_fail(__FILE__, __LINE__, "13a of '%s': '%s', reference '%s'", text, got, want);
    zy_free(got);
    return bad;
}

// The case's hypotheses and reference streams as C arrays (NULL for JSON null).
typedef struct corpus {
    const char **hyps;
    const char ***refs;
    size_t n, n_refs;
} corpus;

static int corpus_read(const cJSON *c, corpus *k) {
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(c, "hyps");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(c, "refs");
    k->n = (size_t)cJSON_GetArraySize(h);
    k->n_refs = (size_t)cJSON_GetArraySize(r);
    k->hyps = zt_malloc((k->n + 1) * sizeof *k->hyps);
    k->refs = zt_malloc((k->n_refs + 1) * sizeof *k->refs);
    size_t i = 0;
    for (const cJSON *x = h ? h->child : NULL; x; x = x->next) k->hyps[i++] = x->valuestring;
    size_t s = 0;
    for (const cJSON *stream = r ? r->child : NULL; stream; stream = stream->next, s++) {
        k->refs[s] = zt_malloc((k->n + 1) * sizeof **k->refs);
        i = 0;
        for (const cJSON *x = stream->child; x && i < k->n; x = x->next)
            k->refs[s][i++] = cJSON_IsNull(x) ? NULL : x->valuestring;
    }
    return k->n_refs > 0 && k->hyps;
}

static void corpus_free(corpus *k) {
    for (size_t s = 0; s < k->n_refs; s++) free(k->refs[s]);
    free(k->refs);
    free(k->hyps);
}

static int corpus_case(const cJSON *c, tally *t) {
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
    if (!name) name = "?";
    corpus k;
    if (!corpus_read(c, &k)) {
        zt_fail(__FILE__, __LINE__, "%s: no references in the case", name);
        corpus_free(&k);
        return 1;
    }
    int bad = 0;
    const cJSON *wb = cJSON_GetObjectItemCaseSensitive(c, "bleu");
    const cJSON *wc = cJSON_GetObjectItemCaseSensitive(c, "chrf");
    const cJSON *nrefs = cJSON_GetObjectItemCaseSensitive(c, "nrefs");
    zy_bleu_score b;
    zy_chrf_score f;
    if (zy_bleu_corpus(k.hyps, k.n, (const char *const *const *)k.refs, k.n_refs, &b)) {
        zt_fail(__FILE__, __LINE__, "%s: bleu: %s", name, zy_last_error());
        bad = 1;
    } else {
        bad |= close_to(t, name, "bleu score", b.score, field(wb, "score"));
        bad |= close_to(t, name, "bp", b.bp, field(wb, "bp"));
        bad |= close_to(t, name, "ratio", b.ratio, field(wb, "ratio"));
        bad |= same_int(name, "sys_len", b.sys_len, cJSON_GetObjectItemCaseSensitive(wb, "sys_len"));
        bad |= same_int(name, "ref_len", b.ref_len, cJSON_GetObjectItemCaseSensitive(wb, "ref_len"));
        bad |= same_int(name, "bleu nrefs", b.nrefs, nrefs);
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(wb, "precisions");
        const cJSON *cn = cJSON_GetObjectItemCaseSensitive(wb, "counts");
        const cJSON *tt = cJSON_GetObjectItemCaseSensitive(wb, "totals");
        for (int i = 0; i < 4; i++) {
            const cJSON *pi = cJSON_GetArrayItem(p, i);
            bad |= close_to(t, name, "precision", b.precisions[i], pi ? pi->valuedouble : NAN);
            bad |= same_int(name, "count", b.counts[i], cJSON_GetArrayItem(cn, i));
            bad |= same_int(name, "total", b.totals[i], cJSON_GetArrayItem(tt, i));
        }
    }
    if (zy_chrf_corpus(k.hyps, k.n, (const char *const *const *)k.refs, k.n_refs, &f)) {
        zt_fail(__FILE__, __LINE__, "%s: chrf: %s", name, zy_last_error());
        bad = 1;
    } else {
        bad |= close_to(t, name, "chrf score", f.score, field(wc, "score"));
        bad |= same_int(name, "chrf nrefs", f.nrefs, nrefs);
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(wc, "hyp");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(wc, "ref");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(wc, "match");
        for (int i = 0; i < 6; i++) {
            bad |= same_int(name, "chrf hyp", f.hyp[i], cJSON_GetArrayItem(h, i));
            bad |= same_int(name, "chrf ref", f.ref[i], cJSON_GetArrayItem(r, i));
            bad |= same_int(name, "chrf match", f.match[i], cJSON_GetArrayItem(m, i));
        }
    }
    corpus_free(&k);
    return bad;
}

static int each_case(const cJSON *c, void *ctx) {
    tally *t = ctx;
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "kind"));
    if (kind && !strcmp(kind, "tok13a")) return t->tok++, tok_case(c);
    if (kind && !strcmp(kind, "corpus")) return t->corpus++, corpus_case(c, t);
    zt_fail(__FILE__, __LINE__, "unknown case kind");
    return 1;
}

TEST(bleu_chrf_match_python_reference) {
    tally t = {0};
    int failed = 0, n = zt_ref_cases(CASES, each_case, &t, &failed);
    if (n < 0) return;
    zt_note("%d 13a cases, %d corpora; %d differ; worst float difference %.3g", t.tok,
            t.corpus, failed, t.worst);
    CHECK(t.tok >= 150 && t.corpus >= 250 && failed == 0);
}

// SacreBLEU's README: two reference streams, three segments.
TEST(bleu_chrf_sacrebleu_readme_example) {
    const char *sys[] = {"The dog bit the man.", "It wasn't surprising.",
                         "The man had just bitten him."};
    const char *r1[] = {"The dog bit the man.", "It was not unexpected.", "The man bit him first."};
    const char *r2[] = {"The dog had bit the man.", "No one was surprised.",
                        "The man had bitten the dog."};
    const char *const *refs[] = {r1, r2};
    zy_bleu_score b;
    ASSERT(zy_bleu_corpus(sys, 3, refs, 2, &b) == ZY_STATUS_OK);
    char line[128];
    snprintf(line, sizeof line, "%.2f %.1f/%.1f/%.1f/%.1f %.3f %.3f %lld %lld", b.score,
             b.precisions[0], b.precisions[1], b.precisions[2], b.precisions[3], b.bp, b.ratio,
             (long long)b.sys_len, (long long)b.ref_len);
    zt_note("%s", line);
    CHECK(!strcmp(line, "48.53 82.4/50.0/45.5/37.5 0.943 0.944 17 18"));
    zy_chrf_score f;
    ASSERT(zy_chrf_corpus(sys, 3, refs, 2, &f) == ZY_STATUS_OK);
    snprintf(line, sizeof line, "%.2f", f.score);
    CHECK(!strcmp(line, "59.73"));

    char sig[128];
    int len = zy_bleu_signature(&b, sig, sizeof sig);
    CHECK(len == (int)strlen(sig));
    CHECK(!strcmp(sig, "BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:zhuyi-" ZY_VERSION_STRING));
    zy_chrf_signature(&f, sig, sizeof sig);
    CHECK(!strcmp(sig, "chrF2|nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:zhuyi-" ZY_VERSION_STRING));
    // too small a buffer: cut and NUL-terminated, the length needed returned
    CHECK(zy_bleu_signature(&b, sig, 5) == len && !strcmp(sig, "BLEU"));

    // README's variable references: the first segment's first reference missing
    const char *r1v[] = {NULL, "It was not unexpected.", "The man bit him first."};
    const char *const *refs_v[] = {r1v, r2};
    ASSERT(zy_bleu_corpus(sys, 3, refs_v, 2, &b) == ZY_STATUS_OK);
    snprintf(line, sizeof line, "%.2f %.1f/%.1f/%.1f/%.1f %.3f %.3f %lld %lld", b.score,
             b.precisions[0], b.precisions[1], b.precisions[2], b.precisions[3], b.bp, b.ratio,
             (long long)b.sys_len, (long long)b.ref_len);
    zt_note("%s", line);
    CHECK(!strcmp(line, "29.44 82.4/42.9/27.3/12.5 0.889 0.895 17 19"));
    CHECK(b.nrefs == -1);
    zy_bleu_signature(&b, sig, sizeof sig);
    CHECK(!strncmp(sig, "BLEU|nrefs:var|", 15));
}

static void expect_error(zy_status st, const char *needle) {
    if (st != ZY_STATUS_INVALID_ARGUMENT)
        zt_fail(__FILE__, __LINE__, "status %d, expected invalid argument (%s)", st, needle);
    else if (!strstr(zy_last_error(), needle))
        zt_fail(__FILE__, __LINE__, "message '%s' does not say '%s'", zy_last_error(), needle);
}

// 13a is not idempotent around '.' and ',' (mteval-v13a's rules, which SacreBLEU and
// tests/ref_bleu.py apply alike): a comma before a digit stays attached, until tokenizing
// the result again finds it after a space. The input fuzz_bleu's first long run found.
TEST(bleu_13a_comma_before_digit) {
    char *t = NULL, *t2 = NULL;
    ASSERT(zy_bleu_tokenize_13a("UTF,,8", &t, NULL) == ZY_STATUS_OK);
    CHECK(!strcmp(t, "UTF , ,8"));
    ASSERT(zy_bleu_tokenize_13a(t, &t2, NULL) == ZY_STATUS_OK);
    CHECK(!strcmp(t2, "UTF , , 8"));
    zy_free(t);
    zy_free(t2);
}

TEST(bleu_chrf_bad_input) {
    const char *hyps[] = {"a b", "c d"};
    const char *r[] = {"a b", "c d"};
    const char *const *refs[] = {r};
    zy_bleu_score b;
    zy_chrf_score f;
    expect_error(zy_bleu_corpus(NULL, 2, refs, 1, &b), "hypotheses are NULL");
    expect_error(zy_bleu_corpus(hyps, 2, refs, 0, &b), "no reference streams");
    const char *const *null_stream[] = {r, NULL};
    expect_error(zy_chrf_corpus(hyps, 2, null_stream, 2, &f), "reference stream 1 is NULL");
    const char *hn[] = {"a", NULL};
    expect_error(zy_bleu_corpus(hn, 2, refs, 1, &b), "hypothesis 1 is NULL");
    const char *rn[] = {"a b", NULL};
    const char *const *refs_n[] = {rn};
    expect_error(zy_chrf_corpus(hyps, 2, refs_n, 1, &f), "segment 1 has no reference");
    const char *hbad[] = {"ok", "caf\xc3"};
    expect_error(zy_bleu_corpus(hbad, 2, refs, 1, &b), "hypothesis 1 is not valid UTF-8 (byte 3)");
    const char *rbad[] = {"\xed\xa0\x80 surrogate", "x"};
    const char *const *refs_bad[] = {r, rbad};
    expect_error(zy_chrf_corpus(hyps, 2, refs_bad, 2, &f),
                 "reference 1 of segment 0 is not valid UTF-8 (byte 0)");
    char *tok;
    expect_error(zy_bleu_tokenize_13a("\xff", &tok, NULL), "not valid UTF-8");
    // no segments: scores 0, the streams counted
    ASSERT(zy_bleu_corpus(NULL, 0, refs, 1, &b) == ZY_STATUS_OK);
    CHECK(b.score == 0 && b.sys_len == 0 && b.bp == 1.0 && b.nrefs == 1);
    ASSERT(zy_chrf_corpus(NULL, 0, refs, 1, &f) == ZY_STATUS_OK);
    CHECK(f.score == 0);
}
