// Tests of cached decoding through transformer blocks (src/nn/block_decode.c): a stack of
// two decoder blocks (with cross-attention over per-sequence memories, and without)
// decoded through KV caches — chunks of positions, single tokens, several sequences in one
// step — equals the full forward; a step of several sequences equals separate steps bit
// for bit, and is computed in fp32 under bf16 precision too; bad uses are refused.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/attention.h"
#include "zhuyi/gemm.h"

enum { NB = 2, S = 3, T = 11, TM = 6, C = 16, H = 2, FF = 32 };

typedef struct dctx {
    zy_block_config c;
    float *params, *x, *mem, *full[NB + 1], *acts, *scratch, *dscratch, *got;
    zy_block_params p[NB];
    zy_kv_cache *cache, *memc;
    size_t np, nscratch, ndscratch;
} dctx;

static const int mlens[S] = {6, 4, 5};

static void dctx_init(dctx *d, int pre, zy_block_act act, int cross, uint64_t seed) {
    memset(d, 0, sizeof *d);
    zy_block_config c = zy_block_default_config(ZY_BLOCK_DECODER, S, T, C, H, FF);
    c.norm_first = pre;
    c.act = act;
    if (cross) c.Tm = TM, c.cross_attn.key_lengths = mlens;
    d->c = c;
    d->np = zy_block_param_count(&c);
    d->params = zt_floats(d->np * NB);
    zt_fill_uniform(d->params, d->np * NB, seed, -0.4f, 0.4f);
    for (int l = 0; l < NB; l++) {
        zy_block_params_init(&d->p[l], d->params + l * d->np, &c);
        float *lnw[3] = {d->p[l].ln1w, d->p[l].ln2w, d->p[l].ln3w};
        for (int i = 0; i < 3; i++)
            if (lnw[i]) zt_fill_uniform(lnw[i], C, seed + 10 + i, 0.7f, 1.3f);
    }
    size_t nx = (size_t)S * T * C;
    d->x = zt_floats(nx);
    zt_fill_uniform(d->x, nx, seed + 1, -1, 1);
    if (cross) {
        d->mem = zt_floats((size_t)S * TM * C);
        zt_fill_uniform(d->mem, (size_t)S * TM * C, seed + 2, -1, 1);
    }
    // the full forward through the stack
    d->acts = zt_floats(zy_block_acts_floats(&c));
    d->nscratch = zy_block_scratch_floats(&c);
    d->scratch = zt_floats(d->nscratch);
    d->full[0] = d->x;
    for (int l = 0; l < NB; l++) {
        d->full[l + 1] = zt_floats(nx);
        if (zy_block_forward(d->full[l + 1], d->acts, d->scratch, d->nscratch, d->full[l],
                             d->mem, &d->p[l], &c) != ZY_STATUS_OK)
            zt_fail(__FILE__, __LINE__, "forward: %s", zy_last_error());
    }
    // the caches, memories filled
    if (zy_kv_cache_create(&d->cache, NB, S, H, T + 1, C / H) != ZY_STATUS_OK ||
        (cross && zy_kv_cache_create(&d->memc, NB, S, H, TM, C / H) != ZY_STATUS_OK))
        zt_fail(__FILE__, __LINE__, "cache: %s", zy_last_error());
    d->ndscratch = zy_block_decode_scratch_floats(&c, d->cache, d->memc, T);
    d->dscratch = zt_floats(d->ndscratch);
    for (int s = 0; cross && s < S; s++) {
        for (int l = 0; l < NB; l++)
            if (zy_block_decode_memory(d->dscratch, d->ndscratch, d->mem + (size_t)s * TM * C,
                                       mlens[s], s, l, d->memc, &d->p[l], &c) != ZY_STATUS_OK)
                zt_fail(__FILE__, __LINE__, "memory: %s", zy_last_error());
        if (zy_kv_cache_advance(d->memc, s, mlens[s]) != ZY_STATUS_OK)
            zt_fail(__FILE__, __LINE__, "advance memory: %s", zy_last_error());
    }
    d->got = zt_floats(nx);
}

static void dctx_free(dctx *d) {
    for (int l = 1; l <= NB; l++) free(d->full[l]);
    free(d->params), free(d->x), free(d->mem), free(d->acts), free(d->scratch);
    free(d->dscratch), free(d->got);
    zy_kv_cache_free(d->cache);
    zy_kv_cache_free(d->memc);
}

// n positions of sequence s through the stack (in place in got's rows), then advance.
static void chunk(dctx *d, int s, int n) {
    int t0 = zy_kv_cache_len(d->cache, s);
    float *rows = d->got + ((size_t)s * T + t0) * C;
    memcpy(rows, d->x + ((size_t)s * T + t0) * C, (size_t)n * C * sizeof(float));
    for (int l = 0; l < NB; l++)
        if (zy_block_decode(rows, d->dscratch, d->ndscratch, rows, n, s, l, d->cache, d->memc,
                            &d->p[l], &d->c) != ZY_STATUS_OK)
            zt_fail(__FILE__, __LINE__, "decode: %s", zy_last_error());
    if (zy_kv_cache_advance(d->cache, s, n) != ZY_STATUS_OK)
        zt_fail(__FILE__, __LINE__, "advance: %s", zy_last_error());
}

// the next position of each sequence in seqs, together
static void step(dctx *d, const int *seqs, int n) {
    float rows[S * C];
    for (int i = 0; i < n; i++) {
        int t = zy_kv_cache_len(d->cache, seqs[i]);
        memcpy(rows + i * C, d->x + ((size_t)seqs[i] * T + t) * C, C * sizeof(float));
    }
    for (int l = 0; l < NB; l++)
        if (zy_block_decode_step(rows, d->dscratch, d->ndscratch, rows, seqs, n, l, d->cache,
                                 d->memc, &d->p[l], &d->c) != ZY_STATUS_OK)
            zt_fail(__FILE__, __LINE__, "decode step: %s", zy_last_error());
    for (int i = 0; i < n; i++) {
        int t = zy_kv_cache_len(d->cache, seqs[i]);
        memcpy(d->got + ((size_t)seqs[i] * T + t) * C, rows + i * C, C * sizeof(float));
        if (zy_kv_cache_advance(d->cache, seqs[i], 1) != ZY_STATUS_OK)
            zt_fail(__FILE__, __LINE__, "advance: %s", zy_last_error());
    }
}

// Sequence 0: a chunk of 4 (GEMV products), then single tokens; sequence 2: its whole
// prompt of 9 at once (GEMM products, tiled attention over the cache); sequence 1: one
// token, then steps together with the others; everything ends at T. atol 1e-5 rtol 1e-5
// against the full forward (GEMV vs GEMM and decode kernel vs tiled core: different
// summation orders, values O(1)).
static void decode_vs_forward(int pre, zy_block_act act, int cross, uint64_t seed) {
    dctx d;
    dctx_init(&d, pre, act, cross, seed);
    chunk(&d, 0, 4);
    chunk(&d, 2, 9);
    chunk(&d, 1, 1);
    chunk(&d, 0, 1);
    const int all[3] = {1, 0, 2}, two[2] = {0, 1};
    step(&d, all, 3); // lengths 6, 2, 10
    step(&d, two, 2);
    step(&d, two, 2);
    step(&d, all, 3); // 9, 5, 11
    while (zy_kv_cache_len(d.cache, 1) < T) {
        int n = zy_kv_cache_len(d.cache, 0) < T ? 2 : 1, s1[2] = {1, 0};
        step(&d, s1, n);
    }
    for (int s = 0; s < S; s++) CHECK(zy_kv_cache_len(d.cache, s) == T);
    zt_note("%s-LN, act %d, %s", pre ? "pre" : "post", (int)act,
            cross ? "cross-attention over memories of 6, 4, 5" : "decoder-only");
    CHECK_CLOSE("decode vs forward", d.got, d.full[NB], (size_t)S * T * C, 1e-5, 1e-5);
    dctx_free(&d);
}

TEST(block_decode_matches_forward_cross_pre_ln) { decode_vs_forward(1, ZY_BLOCK_GELU_TANH, 1, 1); }
TEST(block_decode_matches_forward_cross_post_ln) { decode_vs_forward(0, ZY_BLOCK_RELU, 1, 2); }
TEST(block_decode_matches_forward_decoder_only) {
    decode_vs_forward(1, ZY_BLOCK_GELU_TANH, 0, 3);
    decode_vs_forward(0, ZY_BLOCK_GELU_ERF, 0, 4);
}

// Several sequences in one step give the bits of stepping each alone (each weight row's
// dot product is the same accumulator in the multi-input GEMV, and each query the same
// decode kernel).
TEST(block_decode_step_equals_single_steps) {
    dctx a, b;
    dctx_init(&a, 1, ZY_BLOCK_GELU_TANH, 1, 5);
    dctx_init(&b, 1, ZY_BLOCK_GELU_TANH, 1, 5);
    chunk(&a, 0, 3), chunk(&a, 1, 5), chunk(&a, 2, 2);
    chunk(&b, 0, 3), chunk(&b, 1, 5), chunk(&b, 2, 2);
    const int all[3] = {2, 0, 1};
    for (int k = 0; k < 4; k++) {
        step(&a, all, 3);
        for (int i = 0; i < 3; i++) step(&b, all + i, 1);
    }
    CHECK_CLOSE("batched step == single steps", a.got, b.got, (size_t)S * T * C, 0, 0);
    dctx_free(&a), dctx_free(&b);
}

TEST(block_decode_rejects_bad_use) {
    dctx d;
    dctx_init(&d, 1, ZY_BLOCK_RELU, 1, 6);
    float row[C] = {0};
    zy_block_config enc = d.c;
    enc.kind = ZY_BLOCK_ENCODER; // not causal
    CHECK(zy_block_decode(row, d.dscratch, d.ndscratch, row, 1, 0, 0, d.cache, d.memc, &d.p[0],
                          &enc) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_block_decode(row, d.dscratch, d.ndscratch, row, 1, 0, 0, d.cache, NULL, &d.p[0],
                          &d.c) == ZY_STATUS_INVALID_ARGUMENT); // no memory cache
    CHECK(zy_block_decode(row, d.dscratch, d.ndscratch, row, 1, 0, NB, d.cache, d.memc, &d.p[0],
                          &d.c) == ZY_STATUS_INVALID_ARGUMENT); // layer
    CHECK(zy_block_decode(row, d.dscratch, 10, row, 1, 0, 0, d.cache, d.memc, &d.p[0], &d.c) ==
          ZY_STATUS_INVALID_ARGUMENT); // scratch
    zy_kv_cache *wrong;
    ASSERT(zy_kv_cache_create(&wrong, NB, S, 4, 8, C / 4) == ZY_STATUS_OK); // 4 heads
    CHECK(zy_block_decode(row, d.dscratch, d.ndscratch, row, 1, 0, 0, wrong, d.memc, &d.p[0],
                          &d.c) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    zy_kv_cache_free(wrong);
    dctx_free(&d);
}

// A step's products are fp32 whatever the thread's precision (block_decode.c): under
// ZY_PRECISION_BF16, twelve sequences stepped together (products over more than 8 rows:
// GEMMs, which bf16 would round) give the bits of the same step in fp32.
TEST(block_decode_step_fp32_at_any_precision) {
    enum { NS = 12, P = 2 };
    zy_block_config c = zy_block_default_config(ZY_BLOCK_DECODER, NS, T, C, H, FF);
    size_t np = zy_block_param_count(&c);
    float *params = zt_floats(np), *x = zt_floats((size_t)NS * (P + 1) * C);
    float *got[2] = {zt_floats((size_t)NS * C), zt_floats((size_t)NS * C)};
    zt_fill_uniform(params, np, 9, -0.4f, 0.4f);
    zt_fill_uniform(x, (size_t)NS * (P + 1) * C, 10, -1, 1);
    zy_block_params p;
    zy_block_params_init(&p, params, &c);
    int seqs[NS];
    for (int s = 0; s < NS; s++) seqs[s] = s;
    for (int v = 0; v < 2; v++) {
        zy_kv_cache *cache;
        ASSERT(zy_kv_cache_create(&cache, 1, NS, H, T, C / H) == ZY_STATUS_OK);
        size_t ns = zy_block_decode_scratch_floats(&c, cache, NULL, NS);
        float *scratch = zt_floats(ns), prompt[P * C];
        for (int s = 0; s < NS; s++) { // a prompt of P positions each, in fp32
            memcpy(prompt, x + (size_t)s * (P + 1) * C, sizeof prompt);
            CHECK(zy_block_decode(prompt, scratch, ns, prompt, P, s, 0, cache, NULL, &p, &c) ==
                      ZY_STATUS_OK &&
                  zy_kv_cache_advance(cache, s, P) == ZY_STATUS_OK);
        }
        for (int s = 0; s < NS; s++)
            memcpy(got[v] + (size_t)s * C, x + ((size_t)s * (P + 1) + P) * C, C * sizeof(float));
        zy_precision was = zy_gemm_precision_set(v ? ZY_PRECISION_BF16 : ZY_PRECISION_FP32);
        CHECK(zy_block_decode_step(got[v], scratch, ns, got[v], seqs, NS, 0, cache, NULL, &p,
                                   &c) == ZY_STATUS_OK);
        CHECK(zy_gemm_precision_set(was) == (v ? ZY_PRECISION_BF16 : ZY_PRECISION_FP32));
        free(scratch);
        zy_kv_cache_free(cache);
    }
    CHECK_CLOSE("a step under bf16 == in fp32", got[1], got[0], (size_t)NS * C, 0, 0);
    free(params), free(x), free(got[0]), free(got[1]);
}
