// Tests of src/infer/generate.c on a tiny random GPT: greedy generation over the KV cache
// equals argmax of a full forward pass at every step; stop token, max_tokens, n_positions
// and callback stops; determinism by seed; bad prompts; no allocation per token; two
// threads generating from one model at once; a next turn reusing the KV cache (n_cached).
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gpt_util.h"
#include "harness.h"
#include "zhuyi/core.h"
#include "zhuyi/model.h"
#include "zhuyi/sample.h"

typedef struct tiny {
    zy_model *m;
    zy_session *s;
} tiny;

static void tiny_free(tiny t) {
    zy_session_free(t.s);
    zy_model_free(t.m);
}

// L=2, H=2, C=16, T=24, V=40, GPT-2 init times `scale`: 20 makes the next-token
// distribution peaked (near-uniform logits would make argmax depend on rounding), 1 keeps
// it flat (so different seeds visibly sample differently).
static tiny tiny_model_scaled(float scale) {
    tiny t = {zt_gpt_create(2, 2, 16, 24, 40, 0.0f, 3), NULL};
    if (!t.m) return t;
    size_t n;
    float *p = zy_model_params(t.m, &n);
    for (size_t i = 0; i < n; i++) p[i] *= scale;
    t.s = zt_session(t.m, 0, 0, false);
    return t;
}

static tiny tiny_model(void) { return tiny_model_scaled(20); }

static int argmax_row(const float *x, int V, float *margin) {
    int b = 0;
    for (int i = 1; i < V; i++)
        if (x[i] > x[b]) b = i;
    float second = -INFINITY;
    for (int i = 0; i < V; i++)
        if (i != b && x[i] > second) second = x[i];
    *margin = x[b] - second;
    return b;
}

TEST(sample_generate_greedy_matches_forward) {
    tiny m = tiny_model();
    ASSERT(m.s);
    const int V = 40, T = 24;
    int prompt[3] = {5, 17, 2}, out[32], n = -1;
    zy_generate_params p = zy_generate_default_params();
    p.sample.temperature = 0, p.max_tokens = 15;
    ASSERT(zy_generate(m.s, prompt, 3, &p, out, &n) == ZY_STATUS_OK);
    ASSERT_EQ_INT(n, 15);
    // Recompute every step with a full (uncached) forward over prompt + tokens so far.
    ASSERT(zy_session_prepare(m.s, 1, T, 0) == ZY_STATUS_OK);
    int seq[32];
    memcpy(seq, prompt, sizeof prompt);
    float min_margin = INFINITY;
    for (int i = 0; i < n; i++) {
        int len = 3 + i;
        zy_batch b = zt_batch(seq, NULL, 1, len);
        ASSERT(zy_session_forward(m.s, &b, NULL, NULL) == ZY_STATUS_OK);
        float margin;
        int want = argmax_row(zt_logits(m.s) + (size_t)(len - 1) * V, V, &margin);
        min_margin = margin < min_margin ? margin : min_margin;
        if (out[i] != want) {
            zt_fail(__FILE__, __LINE__, "step %d: generated %d, forward argmax %d", i, out[i],
                    want);
            break;
        }
        seq[len] = out[i];
    }
    zt_note("15 greedy tokens equal the full-forward argmax; smallest top-2 margin %.3g",
            min_margin);
    CHECK(min_margin > 1e-3); // otherwise the comparison would be at the mercy of rounding
    tiny_free(m);
}

static int stop_after(int token, int i, void *user) {
    (void)token;
    return i + 1 >= *(int *)user;
}

TEST(sample_generate_stops) {
    tiny m = tiny_model();
    ASSERT(m.s);
    int prompt[2] = {1, 2}, out[32], n;
    zy_generate_params p = zy_generate_default_params();
    p.sample.temperature = 0, p.max_tokens = 10;
    ASSERT(!zy_generate(m.s, prompt, 2, &p, out, &n));
    ASSERT_EQ_INT(n, 10);
    // Stop token: not emitted, generation ends there.
    int first_of[10];
    memcpy(first_of, out, sizeof first_of);
    p.stop_token = first_of[0];
    ASSERT(!zy_generate(m.s, prompt, 2, &p, out, &n));
    ASSERT_EQ_INT(n, 0);
    int k = 1; // the first position whose token did not occur before it
    for (; k < 10; k++) {
        int seen = 0;
        for (int j = 0; j < k; j++) seen |= first_of[j] == first_of[k];
        if (!seen) break;
    }
    zt_note("greedy tokens: first new token after the first at position %d", k);
    if (k < 10) {
        p.stop_token = first_of[k];
        ASSERT(!zy_generate(m.s, prompt, 2, &p, out, &n));
        ASSERT_EQ_INT(n, k);
        CHECK(!memcmp(out, first_of, sizeof(int) * k));
    }
    // n_positions (24): prompt + continuation never exceed it.
    p.stop_token = -1, p.max_tokens = 100;
    int longp[21] = {0};
    ASSERT(!zy_generate(m.s, longp, 21, &p, out, &n));
    ASSERT_EQ_INT(n, 3);
    // The callback can stop it.
    int limit = 4;
    p.on_token = stop_after, p.user = &limit;
    ASSERT(!zy_generate(m.s, prompt, 2, &p, out, &n));
    ASSERT_EQ_INT(n, 4);
    // max_tokens 0 generates nothing.
    p.on_token = NULL, p.max_tokens = 0;
    ASSERT(!zy_generate(m.s, prompt, 2, &p, out, &n));
    ASSERT_EQ_INT(n, 0);
    tiny_free(m);
}

TEST(sample_generate_deterministic) {
    tiny m = tiny_model_scaled(1);
    ASSERT(m.s);
    int prompt[2] = {7, 8}, a[40], b[40], c[40], na, nb, nc;
    zy_generate_params p = zy_generate_default_params();
    p.max_tokens = 20, p.sample.temperature = 1.5f, p.sample.top_p = 0.95f;
    p.seed = 123;
    ASSERT(!zy_generate(m.s, prompt, 2, &p, a, &na));
    ASSERT(!zy_generate(m.s, prompt, 2, &p, b, &nb));
    p.seed = 124;
    ASSERT(!zy_generate(m.s, prompt, 2, &p, c, &nc));
    ASSERT(na == 20 && nb == 20 && nc == 20);
    CHECK(!memcmp(a, b, sizeof(int) * 20));
    CHECK(memcmp(a, c, sizeof(int) * 20) != 0);
    tiny_free(m);
}

TEST(sample_generate_rejects_bad_prompts) {
    tiny m = tiny_model();
    ASSERT(m.s);
    int big[24] = {0}, bad[2] = {3, 40}, n = 7;
    zy_generate_params p = zy_generate_default_params();
    CHECK(zy_generate(m.s, big, 24, &p, NULL, &n) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "max_positions") != NULL);
    CHECK(n == 0);
    CHECK(zy_generate(m.s, bad, 2, &p, NULL, &n) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_generate(m.s, big, 0, &p, NULL, &n) == ZY_STATUS_INVALID_ARGUMENT);
    p.sample.top_p = 2;
    CHECK(zy_generate(m.s, big, 1, &p, NULL, &n) == ZY_STATUS_INVALID_ARGUMENT);
    tiny_free(m);
}

static long gen_allocs;
static void *gen_alloc(size_t size, size_t align, void *user) {
    (void)user;
    gen_allocs++;
    return aligned_alloc(align, (size + align - 1) / align * align);
}
static void gen_free(void *q, void *user) {
    (void)user;
    free(q);
}

// The allocations of a call do not grow with the number of tokens generated.
TEST(sample_generate_no_allocation_per_token) {
    zy_allocator a = {gen_alloc, gen_free, NULL};
    zy_allocator_set(&a); // before the model: memory must go back to its own allocator
    tiny m = tiny_model();
    if (!m.s) zy_allocator_set(NULL);
    ASSERT(m.s);
    int prompt[2] = {1, 2}, n;
    zy_generate_params p = zy_generate_default_params();
    p.max_tokens = 2;
    long counts[2];
    ASSERT(!zy_generate(m.s, prompt, 2, &p, NULL, &n)); // first call may set the cache up
    for (int r = 0; r < 2; r++) {
        p.max_tokens = r ? 20 : 2;
        gen_allocs = 0;
        CHECK(!zy_generate(m.s, prompt, 2, &p, NULL, &n));
        counts[r] = gen_allocs;
    }
    tiny_free(m);
    zy_allocator_set(NULL);
    zt_note("allocations per call: %ld for 2 tokens, %ld for 20", counts[0], counts[1]);
    CHECK(counts[0] == counts[1]);
}

// Two threads generating from one model at once, each with its own session, give exactly
// the tokens each gives alone (the weights are shared read-only; kernels called while the
// other thread holds the thread pool run on the caller's thread, with the same bits).
typedef struct gen_job {
    const zy_model *m;
    uint64_t seed;
    int out[48], n;
    zy_status st;
} gen_job;

static void *gen_thread(void *arg) {
    gen_job *j = arg;
    zy_session *s;
    j->st = zy_session_create(&s, j->m, NULL);
    if (j->st) return NULL;
    int prompt[4] = {3, 1, 4, 1};
    zy_generate_params p = zy_generate_default_params();
    p.max_tokens = 48, p.seed = j->seed, p.sample.temperature = 0.9f, p.sample.top_k = 50;
    for (int rep = 0; rep < 3 && !j->st; rep++)
        j->st = zy_generate(s, prompt, 4, &p, j->out, &j->n);
    zy_session_free(s);
    return NULL;
}

TEST(sample_generate_two_threads_one_model) {
    // Wide enough that the GEMVs and GEMMs run on the thread pool.
    zy_model *m = zt_gpt_create(2, 4, 128, 64, 1000, 0.0f, 21);
    ASSERT(m != NULL);
    gen_job alone[2] = {{.m = m, .seed = 5}, {.m = m, .seed = 6}};
    gen_job both[2] = {{.m = m, .seed = 5}, {.m = m, .seed = 6}};
    for (int i = 0; i < 2; i++) gen_thread(&alone[i]);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) ASSERT(pthread_create(&th[i], NULL, gen_thread, &both[i]) == 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) {
        CHECK(alone[i].st == ZY_STATUS_OK && both[i].st == ZY_STATUS_OK);
        CHECK(alone[i].n == 48 && both[i].n == 48);
        CHECK(!memcmp(alone[i].out, both[i].out, sizeof alone[i].out));
    }
    CHECK(memcmp(alone[0].out, alone[1].out, sizeof alone[0].out) != 0);
    zy_model_free(m);
}

// n_cached: a conversation's next turn decodes only its new tokens on top of the cache the
// previous turn left (prompt + every generated token but the last), and continues as a
// fresh decoding of the whole prompt does; a wrong n_cached is refused.
TEST(sample_generate_reuses_the_cache) {
    tiny m = tiny_model();
    ASSERT(m.s);
    int prompt[16] = {5, 17, 2}, out[8], again[8], n = 0, n2 = 0;
    zy_generate_params p = zy_generate_default_params();
    p.sample.temperature = 0, p.max_tokens = 4;
    ASSERT(zy_generate(m.s, prompt, 3, &p, out, &n) == ZY_STATUS_OK);
    ASSERT_EQ_INT(n, 4);
    ASSERT_EQ_INT(zy_session_seq_len(m.s, 0), 3 + 3); // the 4th token was not decoded
    // The next turn: the prompt, the reply and two new tokens.
    memcpy(prompt + 3, out, 4 * sizeof *out);
    prompt[7] = 9, prompt[8] = 30;
    p.n_cached = 7; // not the cache's length (6)
    CHECK(zy_generate(m.s, prompt, 9, &p, again, &n2) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "n_cached 7") != NULL);
    p.n_cached = 6;
    CHECK(zy_generate(m.s, prompt, 6, &p, again, &n2) == ZY_STATUS_INVALID_ARGUMENT);
    ASSERT(zy_generate(m.s, prompt, 9, &p, again, &n2) == ZY_STATUS_OK);
    ASSERT_EQ_INT(n2, 4);
    ASSERT_EQ_INT(zy_session_seq_len(m.s, 0), 9 + 3);
    int fresh[8], n3 = 0;
    p.n_cached = 0; // the cache reset, the whole prompt decoded
    ASSERT(zy_generate(m.s, prompt, 9, &p, fresh, &n3) == ZY_STATUS_OK);
    ASSERT_EQ_INT(n3, 4);
    CHECK(memcmp(again, fresh, 4 * sizeof *fresh) == 0);
    tiny_free(m);
}

// Slots of a generator stepped together (a server's parallel requests) give each the
// tokens zy_generate gives it alone: slots started at different steps, one greedy and two
// sampling, one cancelled midway and its slot reused; the end reasons; logits in on_token.
typedef struct slot_rec {
    int toks[32], n;
    const zy_generator *g;
    int slot;
    bool logits_ok;
} slot_rec;

static int rec_token(int token, int i, void *user) {
    slot_rec *r = user;
    r->toks[i] = token;
    r->n = i + 1;
    const float *l = zy_generator_logits(r->g, r->slot);
    r->logits_ok &= l != NULL && isfinite(l[token]);
    return 0;
}

TEST(sample_generator_slots_match_alone) {
    tiny m = tiny_model_scaled(1);
    ASSERT(m.s);
    zy_session_params sp = zy_session_default_params();
    sp.n_seq = 3;
    zy_session *s3 = NULL;
    ASSERT(!zy_session_create(&s3, m.m, &sp));
    int pa[3] = {5, 17, 2}, pb[2] = {7, 8}, pc[4] = {1, 2, 3, 4};
    zy_generate_params p[3];
    for (int i = 0; i < 3; i++) p[i] = zy_generate_default_params();
    p[0].sample.temperature = 0, p[0].max_tokens = 12;
    p[1].seed = 9, p[1].max_tokens = 15, p[1].sample.top_k = 5;
    p[2].seed = 4, p[2].max_tokens = 20, p[2].stop_token = 11;
    int alone[3][32], na[3];
    const int *prompts[3] = {pa, pb, pc}, lens[3] = {3, 2, 4};
    for (int i = 0; i < 3; i++)
        ASSERT(!zy_generate(m.s, prompts[i], lens[i], &p[i], alone[i], &na[i]));
    zy_generator *g = NULL;
    ASSERT(!zy_generator_create(&g, s3, 3));
    CHECK(zy_generator_end(g, 0) == ZY_GENERATE_IDLE);
    slot_rec r[3] = {{.g = g, .slot = 0, .logits_ok = true}, {.g = g, .slot = 1, .logits_ok = true},
                     {.g = g, .slot = 2, .logits_ok = true}};
    for (int i = 0; i < 3; i++) p[i].on_token = rec_token, p[i].user = &r[i];
    // slot 0 starts, steps twice; slot 1 joins; then slot 2; all run to their ends
    ASSERT(!zy_generator_start(g, 0, pa, 3, &p[0]));
    int running = 0;
    ASSERT(!zy_generator_step(g, &running) && running == 1);
    ASSERT(!zy_generator_step(g, &running));
    ASSERT(!zy_generator_start(g, 1, pb, 2, &p[1]));
    CHECK(zy_generator_start(g, 1, pb, 2, &p[1]) == ZY_STATUS_INVALID_ARGUMENT); // running
    ASSERT(!zy_generator_step(g, &running) && running == 2);
    ASSERT(!zy_generator_start(g, 2, pc, 4, &p[2]));
    for (int k = 0; k < 40 && running; k++) ASSERT(!zy_generator_step(g, &running));
    for (int i = 0; i < 3; i++) {
        CHECK(r[i].n == na[i]);
        CHECK(zy_generator_count(g, i) == na[i]);
        CHECK(!memcmp(r[i].toks, alone[i], sizeof(int) * (size_t)na[i]));
        CHECK(r[i].logits_ok);
    }
    CHECK(zy_generator_end(g, 0) == ZY_GENERATE_LENGTH);
    CHECK(zy_generator_end(g, 2) == (na[2] < 20 ? ZY_GENERATE_STOP_TOKEN : ZY_GENERATE_LENGTH));
    // cancel midway, reuse the slot
    r[1] = (slot_rec){.g = g, .slot = 1, .logits_ok = true};
    ASSERT(!zy_generator_start(g, 1, pb, 2, &p[1]));
    ASSERT(!zy_generator_step(g, &running));
    zy_generator_cancel(g, 1);
    CHECK(zy_generator_end(g, 1) == ZY_GENERATE_CANCELLED);
    ASSERT(!zy_generator_step(g, &running));
    CHECK(running == 0);
    CHECK(r[1].n == 1);
    r[1] = (slot_rec){.g = g, .slot = 1, .logits_ok = true};
    ASSERT(!zy_generator_start(g, 1, pb, 2, &p[1]));
    while (running || zy_generator_end(g, 1) == ZY_GENERATE_RUNNING)
        ASSERT(!zy_generator_step(g, &running));
    CHECK(r[1].n == na[1] && !memcmp(r[1].toks, alone[1], sizeof(int) * (size_t)na[1]));
    // more slots than the session's sequences
    zy_generator *g4 = NULL;
    CHECK(zy_generator_create(&g4, s3, 4) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(g4 == NULL);
    zy_generator_free(g);
    zy_session_free(s3);
    tiny_free(m);
}
