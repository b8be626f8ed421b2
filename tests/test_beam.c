// Encoder-decoder decoding (zy_seq2seq, src/infer/seq2seq.c) on the tiny Marian model of
// tests/ref/marian_tiny: beam search against the plain PyTorch beam search of
// tests/ref_beam.py (tests/ref/beam_cases.jsonl: the n-best token lists exactly, scores to
// 1e-4), with every sentence alone and all batched together, on 1 and 2 threads; greedy
// equals beam 1; sampling is seeded per sentence (batching does not change it); arguments
// are checked.
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/sample.h"
#include "zhuyi/zhuyi.h"

#define CASES "tests/ref/beam_cases.jsonl"
#define MODEL_DIR "tests/ref/marian_tiny"
#define GPT_DIR "tests/ref/gpt_tiny"
#define MAX_CASES 64
#define MAX_SRC 16
#define MAX_HYP 8

typedef struct ref_hyp {
    int tokens[MAX_SRC + 1], n, eos;
    double score, sum;
} ref_hyp;

typedef struct ref_case {
    int src[MAX_SRC], n_src, beam, n_best, early, max_len_b, n_hyp;
    double lp, max_len_a;
    ref_hyp hyp[MAX_HYP];
} ref_case;

typedef struct cases {
    ref_case c[MAX_CASES];
    int n;
} cases;

static int int_list(const cJSON *j, int *out, int max) {
    int n = 0;
    if (!cJSON_IsArray(j)) return -1;
    for (const cJSON *v = j->child; v; v = v->next) {
        if (n == max || !cJSON_IsNumber(v)) return -1;
        out[n++] = v->valueint;
    }
    return n;
}

static double num(const cJSON *c, const char *name) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(c, name);
    return cJSON_IsNumber(j) ? j->valuedouble : NAN;
}

static int collect(const cJSON *j, void *ctx) {
    cases *cs = ctx;
    if (cs->n == MAX_CASES) return 1;
    ref_case *c = &cs->c[cs->n];
    memset(c, 0, sizeof *c);
    c->n_src = int_list(cJSON_GetObjectItemCaseSensitive(j, "src"), c->src, MAX_SRC);
    c->beam = (int)num(j, "beam"), c->n_best = (int)num(j, "n_best");
    c->lp = num(j, "length_penalty"), c->max_len_a = num(j, "max_len_a");
    c->max_len_b = (int)num(j, "max_len_b");
    c->early = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "early_stopping"));
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(j, "hyps"), *h;
    if (c->n_src < 1 || !cJSON_IsArray(hs)) return 1;
    cJSON_ArrayForEach(h, hs) {
        if (c->n_hyp == MAX_HYP) return 1;
        ref_hyp *r = &c->hyp[c->n_hyp++];
        r->n = int_list(cJSON_GetObjectItemCaseSensitive(h, "tokens"), r->tokens, MAX_SRC + 1);
        r->eos = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "eos"));
        r->score = num(h, "score"), r->sum = num(h, "sum_logp");
        if (r->n < 0) return 1;
    }
    cs->n++;
    return 0;
}

static cases *load_cases(void) {
    static cases cs;
    cs.n = 0;
    int failed = 0;
    if (zt_ref_cases(CASES, collect, &cs, &failed) < 0 || failed) return NULL;
    return &cs;
}

static zy_seq2seq_params params_of(const ref_case *c) {
    zy_seq2seq_params p = zy_seq2seq_default_params();
    p.beam = c->beam, p.n_best = c->n_best, p.length_penalty = (float)c->lp;
    p.early_stopping = c->early, p.max_len_a = (float)c->max_len_a, p.max_len_b = c->max_len_b;
    return p;
}

// Sentence i of d's last run against reference case c: 1 if equal.
static int same_as_ref(const zy_seq2seq *d, int i, const ref_case *c, const char *what) {
    int n = zy_seq2seq_n_hyps(d, i), ok = n == c->n_hyp;
    for (int r = 0; ok && r < n; r++) {
        zy_seq2seq_hyp h;
        const ref_hyp *w = &c->hyp[r];
        ok = zy_seq2seq_hyp_get(d, i, r, &h) == ZY_STATUS_OK && h.n == w->n &&
             h.eos == (w->eos != 0) && !memcmp(h.tokens, w->tokens, sizeof(int) * (size_t)h.n) &&
             fabs(h.score - w->score) <= 1e-4 && fabs(h.sum_logp - w->sum) <= 1e-4;
        if (!ok)
            zt_note("%s: hypothesis %d: %d tokens (eos %d) score %.6f, reference %d (eos %d) "
                    "score %.6f", what, r, h.n, h.eos, h.score, w->n, w->eos, w->score);
    }
    if (n != c->n_hyp) zt_note("%s: %d hypotheses, reference %d", what, n, c->n_hyp);
    return ok;
}

// Cases with the same settings (consecutive per source in the file) batched: the sources
// of settings case k are cases k, k + S, k + 2S, ... (S settings).
TEST(beam_matches_torch_reference) {
    cases *cs = load_cases();
    ASSERT(cs && cs->n > 0);
    zy_model *m = NULL;
    ASSERT(zy_model_load(&m, MODEL_DIR) == ZY_STATUS_OK);
    int S = 0; // settings per source: the cases until the source changes
    while (S < cs->n && cs->c[S].n_src == cs->c[0].n_src &&
           !memcmp(cs->c[S].src, cs->c[0].src, sizeof(int) * (size_t)cs->c[0].n_src))
        S++;
    ASSERT(S > 0 && cs->n % S == 0);
    int n_src = cs->n / S, compared = 0;
    for (int threads = 1; threads <= 2; threads++) {
        zy_threads_set(threads);
        for (int k = 0; k < S; k++) {
            zy_seq2seq_params p = params_of(&cs->c[k]);
            zy_seq2seq *d = NULL;
            ASSERT(zy_seq2seq_create(&d, m, &p, n_src) == ZY_STATUS_OK);
            int tok[8 * MAX_SRC], len[8], T = 0;
            ASSERT(n_src <= 8);
            for (int i = 0; i < n_src; i++) T = cs->c[i * S].n_src > T ? cs->c[i * S].n_src : T;
            for (int i = 0; i < n_src; i++) {
                const ref_case *c = &cs->c[i * S + k];
                len[i] = c->n_src;
                for (int t = 0; t < T; t++) tok[i * T + t] = t < c->n_src ? c->src[t] : 39;
                // alone
                ASSERT(zy_seq2seq_run(d, 1, c->src, c->n_src, NULL, NULL) == ZY_STATUS_OK);
                char what[96];
                snprintf(what, sizeof what, "threads %d, setting %d, source %d alone", threads,
                         k, i);
                CHECK(same_as_ref(d, 0, c, what));
                compared++;
            }
            // all together, padded to the longest
            ASSERT(zy_seq2seq_run(d, n_src, tok, T, len, NULL) == ZY_STATUS_OK);
            for (int i = 0; i < n_src; i++) {
                char what[96];
                snprintf(what, sizeof what, "threads %d, setting %d, source %d of %d batched",
                         threads, k, i, n_src);
                CHECK(same_as_ref(d, i, &cs->c[i * S + k], what));
            }
            zy_seq2seq_free(d);
        }
    }
    zt_note("%d reference cases x 2 (alone, batched) x 2 thread counts", compared / 2);
    zy_model_free(m);
}

// Random sources of lengths 2..9 ending in eos; returns T (the longest).
static int random_sources(zy_rng *r, int n, int *tok, int *len, int T) {
    for (int i = 0; i < n; i++) {
        len[i] = 2 + (int)zy_rng_below(r, (uint64_t)T - 1);
        for (int t = 0; t < T; t++)
            tok[i * T + t] = t < len[i] - 1 ? 1 + (int)zy_rng_below(r, 38) : t == len[i] - 1 ? 0 : 39;
    }
    return T;
}

// Hypothesis `rank` of a's sentence i and b's sentence j: the same tokens, scores within
// tol (0: bit for bit).
static int same_hyp_tol(const zy_seq2seq *a, int i, const zy_seq2seq *b, int j, int rank,
                        float tol) {
    zy_seq2seq_hyp x, y;
    if (zy_seq2seq_hyp_get(a, i, rank, &x) || zy_seq2seq_hyp_get(b, j, rank, &y)) return 0;
    int ok = x.n == y.n && x.eos == y.eos && fabsf(x.score - y.score) <= tol &&
             fabsf(x.sum_logp - y.sum_logp) <= tol &&
             !memcmp(x.tokens, y.tokens, sizeof(int) * (size_t)x.n);
    if (!ok)
        zt_note("sentence %d/%d rank %d: %d/%d tokens, eos %d/%d, score %.9g/%.9g", i, j, rank,
                x.n, y.n, x.eos, y.eos, x.score, y.score);
    return ok;
}

static int same_hyp(const zy_seq2seq *a, int i, const zy_seq2seq *b, int j, int rank) {
    return same_hyp_tol(a, i, b, j, rank, 0);
}

TEST(beam_greedy_equals_beam_one) {
    zy_model *m = NULL;
    ASSERT(zy_model_load(&m, MODEL_DIR) == ZY_STATUS_OK);
    zy_rng r;
    zy_rng_seed(&r, 7);
    enum { N = 12, T = 9 };
    int tok[N * T], len[N];
    random_sources(&r, N, tok, len, T);
    const float lps[2] = {1.0f, 0.6f};
    for (int k = 0; k < 4; k++) {
        zy_seq2seq_params pb = zy_seq2seq_default_params(), pg;
        pb.beam = 1, pb.length_penalty = lps[k % 2], pb.early_stopping = k >= 2;
        pb.max_len_a = 1.0f, pb.max_len_b = 4;
        pg = pb;
        pg.mode = ZY_SEQ2SEQ_GREEDY;
        zy_seq2seq *db = NULL, *dg = NULL;
        ASSERT(zy_seq2seq_create(&db, m, &pb, N) == ZY_STATUS_OK);
        ASSERT(zy_seq2seq_create(&dg, m, &pg, N) == ZY_STATUS_OK);
        ASSERT(zy_seq2seq_run(db, N, tok, T, len, NULL) == ZY_STATUS_OK);
        ASSERT(zy_seq2seq_run(dg, N, tok, T, len, NULL) == ZY_STATUS_OK);
        int eos = 0;
        for (int i = 0; i < N; i++) {
            CHECK(zy_seq2seq_n_hyps(db, i) == 1 && zy_seq2seq_n_hyps(dg, i) == 1);
            CHECK(same_hyp(db, i, dg, i, 0));
            zy_seq2seq_hyp h;
            if (!zy_seq2seq_hyp_get(dg, i, 0, &h)) eos += h.eos;
        }
        zt_note("length_penalty %g, early %d: %d of %d ended by eos", lps[k % 2], k >= 2, eos,
                N);
        zy_seq2seq_free(db);
        zy_seq2seq_free(dg);
    }
    zy_model_free(m);
}

static long n_allocs;
static void *count_alloc(size_t size, size_t align, void *user) {
    n_allocs++;
    return aligned_alloc(align, (size + align - 1) / align * align);
}
static void count_free(void *ptr, void *user) { free(ptr); }

// Beam search and sampling: a sentence's result is the same alone, batched with others
// in another order, and on another thread count; sampling depends on (seed, id) only.
TEST(beam_batching_and_threads_do_not_matter) {
    zy_model *m = NULL;
    ASSERT(zy_model_load(&m, MODEL_DIR) == ZY_STATUS_OK);
    zy_rng r;
    zy_rng_seed(&r, 11);
    enum { N = 14, T = 9 }; // 14 x beam 5: over 64 decoder rows
    int tok[N * T], len[N], rev[N * T], rlen[N];
    uint64_t ids[N], rids[N];
    random_sources(&r, N, tok, len, T);
    for (int i = 0; i < N; i++) { // the batch reversed, each sentence keeping its id
        memcpy(rev + (N - 1 - i) * T, tok + i * T, sizeof(int) * T);
        rlen[N - 1 - i] = len[i];
        ids[i] = 100 + i, rids[N - 1 - i] = 100 + i;
    }
    for (int mode = 0; mode < 3; mode++) {
        zy_seq2seq_params p = zy_seq2seq_default_params();
        p.mode = (zy_seq2seq_mode)mode;
        p.n_best = mode == ZY_SEQ2SEQ_BEAM ? 3 : 1;
        p.beam = 5, p.max_len_a = 1.0f, p.max_len_b = 3;
        p.sample.top_k = 10, p.sample.temperature = 1.5f, p.seed = 5;
        zy_seq2seq *all = NULL, *one = NULL;
        ASSERT(zy_seq2seq_create(&all, m, &p, N) == ZY_STATUS_OK);
        ASSERT(zy_seq2seq_create(&one, m, &p, 1) == ZY_STATUS_OK);
        zy_seq2seq *back = NULL;
        ASSERT(zy_seq2seq_create(&back, m, &p, N) == ZY_STATUS_OK);
        zy_threads_set(2);
        ASSERT(zy_seq2seq_run(all, N, tok, T, len, ids) == ZY_STATUS_OK);
        // A rerun of a shape seen before allocates nothing (the step loop never does).
        zy_allocator counting = {count_alloc, count_free, NULL};
        n_allocs = 0;
        zy_allocator_set(&counting);
        zy_status st = zy_seq2seq_run(all, N, tok, T, len, ids);
        zy_allocator_set(NULL);
        CHECK(st == ZY_STATUS_OK && n_allocs == 0);
        zy_threads_set(1); // the same batch on one thread: bit for bit
        ASSERT(zy_seq2seq_run(back, N, tok, T, len, ids) == ZY_STATUS_OK);
        for (int i = 0; i < N; i++)
            for (int k = 0; k < zy_seq2seq_n_hyps(all, i); k++)
                CHECK(same_hyp(all, i, back, i, k));
        // Alone, or in another order: the same tokens; the scores may differ in the last
        // bits (the kernels round a batch of rows and a single row differently).
        for (int i = 0; i < N; i++) {
            ASSERT(zy_seq2seq_run(one, 1, tok + i * T, len[i], NULL, &ids[i]) == ZY_STATUS_OK);
            int n = zy_seq2seq_n_hyps(all, i);
            CHECK(n == zy_seq2seq_n_hyps(one, 0) && n >= 1);
            for (int k = 0; k < n; k++) CHECK(same_hyp_tol(all, i, one, 0, k, 1e-5f));
        }
        ASSERT(zy_seq2seq_run(back, N, rev, T, rlen, rids) == ZY_STATUS_OK);
        for (int i = 0; i < N; i++)
            for (int k = 0; k < zy_seq2seq_n_hyps(all, i); k++)
                CHECK(same_hyp_tol(all, i, back, N - 1 - i, k, 1e-5f));
        if (mode == ZY_SEQ2SEQ_SAMPLE) { // same seed and ids: the same draws; another seed differs
            ASSERT(zy_seq2seq_run(back, N, tok, T, len, ids) == ZY_STATUS_OK);
            int differ = 0;
            for (int i = 0; i < N; i++) CHECK(same_hyp(all, i, back, i, 0));
            zy_seq2seq_free(back);
            p.seed = 6;
            ASSERT(zy_seq2seq_create(&back, m, &p, N) == ZY_STATUS_OK);
            ASSERT(zy_seq2seq_run(back, N, tok, T, len, ids) == ZY_STATUS_OK);
            for (int i = 0; i < N; i++) differ += !same_hyp(all, i, back, i, 0);
            CHECK(differ > 0);
        }
        if (mode == ZY_SEQ2SEQ_BEAM) { // n-best sorted, scores = sum / length^alpha
            for (int i = 0; i < N; i++) {
                zy_seq2seq_hyp a, b;
                for (int k = 0; k + 1 < zy_seq2seq_n_hyps(all, i); k++) {
                    ASSERT(!zy_seq2seq_hyp_get(all, i, k, &a) && !zy_seq2seq_hyp_get(all, i, k + 1, &b));
                    CHECK(a.score >= b.score);
                    CHECK(fabsf(a.score - a.sum_logp / (float)(a.n + a.eos)) < 1e-5f);
                }
            }
        }
        zy_seq2seq_free(all);
        zy_seq2seq_free(one);
        zy_seq2seq_free(back);
    }
    zy_model_free(m);
}

// 16-bit KV caches (zy_seq2seq_params.kv_cache): greedy decoding's tokens as with f32
// caches wherever the f32 log-probabilities were not a near tie, and its sums of
// log-probabilities within 16-bit rounding of f32's, not all equal (the caches are 16-bit).
TEST(beam_kv_cache_16_bit) {
    zy_model *m = NULL;
    ASSERT(zy_model_load(&m, MODEL_DIR) == ZY_STATUS_OK);
    zy_rng r;
    zy_rng_seed(&r, 13);
    enum { N = 8, T = 9 };
    int tok[N * T], len[N];
    random_sources(&r, N, tok, len, T);
    zy_seq2seq_params p = zy_seq2seq_default_params();
    p.mode = ZY_SEQ2SEQ_GREEDY, p.beam = 1;
    zy_seq2seq *f32 = NULL;
    ASSERT(zy_seq2seq_create(&f32, m, &p, N) == ZY_STATUS_OK);
    ASSERT(zy_seq2seq_run(f32, N, tok, T, len, NULL) == ZY_STATUS_OK);
    const zy_wtype types[2] = {ZY_WTYPE_F16, ZY_WTYPE_BF16};
    for (int t = 0; t < 2; t++) {
        p.kv_cache = types[t];
        zy_seq2seq *d = NULL;
        ASSERT(zy_seq2seq_create(&d, m, &p, N) == ZY_STATUS_OK);
        ASSERT(zy_seq2seq_run(d, N, tok, T, len, NULL) == ZY_STATUS_OK);
        int same = 0, differ = 0;
        for (int i = 0; i < N; i++) {
            zy_seq2seq_hyp a, b;
            ASSERT(!zy_seq2seq_hyp_get(f32, i, 0, &a) && !zy_seq2seq_hyp_get(d, i, 0, &b));
            if (a.n != b.n || memcmp(a.tokens, b.tokens, sizeof(int) * (size_t)a.n)) continue;
            same++;
            CHECK(fabsf(a.sum_logp - b.sum_logp) <= 0.02f * (1.0f + fabsf(a.sum_logp)));
            differ += a.sum_logp != b.sum_logp;
        }
        zt_note("%s cache: %d of %d sentences' tokens as with f32, %d of them scored "
                "differently", zy_wtype_name(types[t]), same, N, differ);
        CHECK(same >= N - 2 && differ > 0);
        zy_seq2seq_free(d);
    }
    p.kv_cache = ZY_WTYPE_Q8_0; // not a cache type
    zy_seq2seq *d = NULL;
    CHECK(zy_seq2seq_create(&d, m, &p, N) == ZY_STATUS_INVALID_ARGUMENT && !d);
    CHECK(strstr(zy_last_error(), "KV cache") != NULL);
    zy_seq2seq_free(f32);
    zy_model_free(m);
}

TEST(beam_checks_arguments) {
    zy_model *m = NULL, *gpt = NULL;
    ASSERT(zy_model_load(&m, MODEL_DIR) == ZY_STATUS_OK);
    zy_seq2seq_params p = zy_seq2seq_default_params();
    zy_seq2seq *d = NULL;
    p.beam = 0;
    CHECK(zy_seq2seq_create(&d, m, &p, 2) == ZY_STATUS_INVALID_ARGUMENT && !d);
    p.beam = 3, p.n_best = 4;
    CHECK(zy_seq2seq_create(&d, m, &p, 2) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "n_best") != NULL);
    p.n_best = 2, p.mode = ZY_SEQ2SEQ_GREEDY;
    CHECK(zy_seq2seq_create(&d, m, &p, 2) == ZY_STATUS_INVALID_ARGUMENT);
    p.mode = ZY_SEQ2SEQ_BEAM, p.length_penalty = NAN;
    CHECK(zy_seq2seq_create(&d, m, &p, 2) == ZY_STATUS_INVALID_ARGUMENT);
    p.length_penalty = 1, p.max_len_a = -1;
    CHECK(zy_seq2seq_create(&d, m, &p, 2) == ZY_STATUS_INVALID_ARGUMENT);
    p.max_len_a = 1, p.mode = ZY_SEQ2SEQ_SAMPLE, p.n_best = 1, p.sample.top_p = 0;
    CHECK(zy_seq2seq_create(&d, m, &p, 2) == ZY_STATUS_INVALID_ARGUMENT);
    p = zy_seq2seq_default_params();
    CHECK(zy_seq2seq_create(&d, m, &p, 0) == ZY_STATUS_INVALID_ARGUMENT);
    if (zy_model_load(&gpt, GPT_DIR) == ZY_STATUS_OK) {
        CHECK(zy_seq2seq_create(&d, gpt, &p, 1) == ZY_STATUS_UNSUPPORTED && !d);
        CHECK(strstr(zy_last_error(), "gpt2") != NULL);
        zy_model_free(gpt);
    } else {
        zt_fail(__FILE__, __LINE__, "%s: %s", GPT_DIR, zy_last_error());
    }
    ASSERT(zy_seq2seq_create(&d, m, &p, 2) == ZY_STATUS_OK);
    int tok[2 * 17] = {5, 6, 0, 7, 0, 39}, len[2] = {3, 2};
    zy_seq2seq_hyp h;
    CHECK(zy_seq2seq_hyp_get(d, 0, 0, &h) == ZY_STATUS_INVALID_ARGUMENT); // no run yet
    CHECK(zy_seq2seq_run(d, 3, tok, 3, len, NULL) == ZY_STATUS_INVALID_ARGUMENT); // > max
    CHECK(zy_seq2seq_run(d, 0, tok, 3, len, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_seq2seq_run(d, 2, tok, 17, NULL, NULL) == ZY_STATUS_INVALID_ARGUMENT); // > P
    len[1] = 0;
    CHECK(zy_seq2seq_run(d, 2, tok, 3, len, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    len[1] = 4;
    CHECK(zy_seq2seq_run(d, 2, tok, 3, len, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    len[1] = 2, tok[3] = 40;
    CHECK(zy_seq2seq_run(d, 2, tok, 3, len, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "sentence 1 token 0") != NULL);
    tok[3] = 7;
    ASSERT(zy_seq2seq_run(d, 2, tok, 3, len, NULL) == ZY_STATUS_OK);
    CHECK(zy_seq2seq_n_hyps(d, 1) == 1 && zy_seq2seq_n_hyps(d, 2) == 0);
    CHECK(zy_seq2seq_hyp_get(d, 0, 0, &h) == ZY_STATUS_OK);
    CHECK(zy_seq2seq_hyp_get(d, 0, 1, &h) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_seq2seq_hyp_get(d, 2, 0, &h) == ZY_STATUS_INVALID_ARGUMENT);
    // a failed run leaves no results
    CHECK(zy_seq2seq_run(d, 2, tok, 0, len, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_seq2seq_n_hyps(d, 0) == 0);
    zy_seq2seq_free(d);
    zy_seq2seq_free(NULL);
    zy_model_free(m);
}
