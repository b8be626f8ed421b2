// Tests of multi-head attention (src/nn/mha*.c):
// PyTorch nn.MultiheadAttention outputs, averaged weights and every gradient (self with
// causal + padding, cross with padding with and without an additive mask, self with a
// boolean mask) on both cores; the tiled core against the plain one (self/cross, causal,
// key lengths, dropout); finite-difference checks of all parameters and inputs; frozen
// (NULL) gradients; the Hugging Face layout helpers. The KV cache: tests/test_kv_cache.c.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/attention.h"

#define REF_PATH "tests/ref/attention.zyr"

typedef struct mctx {
    zy_mha_config c;
    float *params, *grads, *xq, *xkv, *dxq, *dxkv, *out, *acts, *scratch, *wout;
    zy_mha_params p, g;
    size_t np, nq, nk, nout, nscratch;
    int self;
} mctx;

static void mctx_init(mctx *m, zy_mha_config c, int self, uint64_t seed) {
    memset(m, 0, sizeof *m);
    m->c = c;
    m->self = self;
    m->np = zy_mha_param_count(c.C);
    m->nq = (size_t)c.attn.B * c.attn.Tq * c.C;
    m->nk = (size_t)c.attn.B * c.attn.Tk * c.C;
    m->nout = m->nq;
    m->params = zt_floats(m->np);
    m->grads = zt_floats(m->np);
    zt_fill_uniform(m->params, m->np, seed, -0.5f, 0.5f);
    zy_mha_params_init(&m->p, m->params, c.C);
    zy_mha_params_init(&m->g, m->grads, c.C);
    m->xq = zt_floats(m->nq);
    m->dxq = zt_floats(m->nq);
    zt_fill_uniform(m->xq, m->nq, seed + 1, -1.0f, 1.0f);
    if (self) {
        m->xkv = m->xq;
    } else {
        m->xkv = zt_floats(m->nk);
        m->dxkv = zt_floats(m->nk);
        zt_fill_uniform(m->xkv, m->nk, seed + 2, -1.0f, 1.0f);
    }
    m->out = zt_floats(m->nout);
    m->acts = zt_floats(zy_mha_acts_floats(&c));
    m->nscratch = zy_mha_scratch_floats(&c);
    m->scratch = zt_floats(m->nscratch);
    m->wout = zt_floats(m->nout);
    zt_fill_uniform(m->wout, m->nout, seed + 3, -1.0f, 1.0f);
}

static void mctx_free(mctx *m) {
    free(m->params), free(m->grads), free(m->xq), free(m->dxq), free(m->out);
    free(m->acts), free(m->scratch), free(m->wout);
    if (!m->self) free(m->xkv), free(m->dxkv);
}

static double mha_loss(void *p) {
    mctx *m = p;
    if (zy_mha_forward(m->out, m->acts, m->scratch, m->nscratch, m->xq, m->xkv, &m->p, &m->c) !=
        ZY_STATUS_OK)
        return NAN;
    return zt_dot(m->out, m->wout, m->nout);
}

static void mha_grads(mctx *m) {
    zy_status st = zy_mha_backward(m->dxq, m->dxkv, &m->g, m->scratch, m->nscratch, m->wout,
                                   m->acts, m->xq, m->xkv, &m->p, &m->c);
    if (st != ZY_STATUS_OK) zt_fail(__FILE__, __LINE__, "mha backward: %s", zy_last_error());
}

// eps 1e-2, tol 1e-2 (as test_attention.c: float forward, loss summed in double; a wrong
// term is an O(1) relative error). 64 spread elements of each parameter tensor.
static void mha_gradcheck(mctx *m, const char *tag) {
    ASSERT(!isnan(mha_loss(m)));
    mha_grads(m);
    char what[96];
    float *x[] = {m->p.in_proj_weight, m->p.in_proj_bias, m->p.out_proj_weight,
                  m->p.out_proj_bias, m->xq, m->xkv};
    float *g[] = {m->g.in_proj_weight, m->g.in_proj_bias, m->g.out_proj_weight,
                  m->g.out_proj_bias, m->dxq, m->dxkv};
    size_t C = m->c.C;
    size_t n[] = {3 * C * C, 3 * C, C * C, C, m->nq, m->nk};
    const char *names[] = {"in_proj_weight", "in_proj_bias", "out_proj_weight",
                           "out_proj_bias", "xq", "xkv"};
    zt_note("%s: %s core", tag, zy_mha_uses_tiled(&m->c) ? "tiled" : "plain");
    for (int i = 0; i < (m->self ? 5 : 6); i++) {
        snprintf(what, sizeof what, "%s d%s", tag, names[i]);
        GRADCHECK(what, mha_loss, m, x[i], g[i], n[i], 1e-2, 1e-2);
    }
}

static const int len_53[2] = {5, 3};
static const int len_64[2] = {6, 4};

// Both cores: the tiled one (default) and the plain one (need_weights).
TEST(mha_gradcheck_self_causal_padding) {
    for (int plain = 0; plain < 2; plain++) {
        mctx m;
        zy_mha_config c = zy_mha_default_config(2, 5, 5, 8, 2);
        c.attn.causal = true;
        c.attn.key_lengths = len_53;
        c.need_weights = plain;
        mctx_init(&m, c, 1, 100);
        mha_gradcheck(&m, plain ? "self plain" : "self tiled");
        mctx_free(&m);
    }
}

TEST(mha_gradcheck_cross_masks_dropout) {
    static float am[4 * 6];
    zt_fill_uniform(am, 24, 9, -1.0f, 1.0f);
    mctx m;
    zy_mha_config c = zy_mha_default_config(2, 4, 6, 8, 2);
    c.attn.key_lengths = len_64;
    c.attn.add_mask = am;
    c.attn.dropout = 0.25f;
    c.attn.seed = 3;
    mctx_init(&m, c, 0, 200);
    mha_gradcheck(&m, "cross+addmask+dropout");
    mctx_free(&m);
}

// Cross-attention on the tiled core (Tq != Tk, key lengths of the memory, dropout).
TEST(mha_gradcheck_cross_tiled_dropout) {
    mctx m;
    zy_mha_config c = zy_mha_default_config(2, 4, 6, 8, 2);
    c.attn.key_lengths = len_64;
    c.attn.dropout = 0.25f;
    c.attn.seed = 3;
    mctx_init(&m, c, 0, 210);
    ASSERT(zy_mha_uses_tiled(&c));
    mha_gradcheck(&m, "cross tiled+dropout");
    mctx_free(&m);
}

// ---- against PyTorch ---------------------------------------------------------------------
// Outputs atol 1e-5 rtol 1e-5, gradients atol 2e-5 rtol 1e-5: float32 against float64,
// O(1) values, C = 8 terms per projection sum. Every case runs on the plain core with
// need_weights (the head-averaged weights are checked too) and, where its masks allow, on
// the tiled core.
static void mha_ref(const char *name, int Tq, int Tk, int self, int causal, int lengths,
                    int boolmask, int addmask) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_mha_config c = zy_mha_default_config(2, Tq, Tk, 8, 2);
    static int len[2];
    static uint8_t bm[64];
    static float am[64];
    char key[128];
    size_t n = 0;
    c.attn.causal = causal;
    if (lengths) {
        snprintf(key, sizeof key, "%s.lengths", name);
        const int *l = zt_ref_i(r, key, &n);
        ASSERT(l && n == 2);
        len[0] = l[0], len[1] = l[1];
        c.attn.key_lengths = len;
    }
    if (boolmask) {
        snprintf(key, sizeof key, "%s.bool_mask", name);
        const int *bmi = zt_ref_i(r, key, &n);
        ASSERT(bmi && n == (size_t)Tq * Tk);
        for (size_t i = 0; i < n; i++) bm[i] = (uint8_t)(bmi[i] != 0);
        c.attn.bool_mask = bm;
    }
    if (addmask) {
        zt_ref_copy(am, r, name, "add_mask", (size_t)Tq * Tk);
        c.attn.add_mask = am;
    }
    for (int plain = 1; plain >= 0; plain--) {
        c.need_weights = plain;
        if (!plain && !zy_mha_uses_tiled(&c)) break; // masks only the plain core has
        zt_note("%s on the %s core", name, plain ? "plain" : "tiled");
        mctx m;
        mctx_init(&m, c, self, 1);
        zt_ref_copy(m.p.in_proj_weight, r, name, "in_proj_weight", 3 * 64);
        zt_ref_copy(m.p.in_proj_bias, r, name, "in_proj_bias", 24);
        zt_ref_copy(m.p.out_proj_weight, r, name, "out_proj.weight", 64);
        zt_ref_copy(m.p.out_proj_bias, r, name, "out_proj.bias", 8);
        zt_ref_copy(m.xq, r, name, "xq", m.nq);
        if (!self) zt_ref_copy(m.xkv, r, name, "xkv", m.nk);
        zt_ref_copy(m.wout, r, name, "dout", m.nout);
        ASSERT(!isnan(mha_loss(&m)));
        mha_grads(&m);
        zt_ref_check(r, name, "out", m.out, m.nout, 1e-5, 1e-5);
        const float *att = zy_mha_attention_weights(m.acts, &c);
        CHECK((att != NULL) == plain);
        if (att) { // PyTorch's need_weights output: the per-head weights averaged over heads
            float mean[2 * 6 * 6];
            for (int b = 0; b < 2; b++)
                for (int ij = 0; ij < Tq * Tk; ij++)
                    mean[b * Tq * Tk + ij] = 0.5f * (att[(b * 2 + 0) * Tq * Tk + ij] +
                                                     att[(b * 2 + 1) * Tq * Tk + ij]);
            zt_ref_check(r, name, "weights_mean", mean, (size_t)2 * Tq * Tk, 1e-5, 1e-5);
        }
        zt_ref_check(r, name, "dxq", m.dxq, m.nq, 2e-5, 1e-5);
        if (!self) zt_ref_check(r, name, "dxkv", m.dxkv, m.nk, 2e-5, 1e-5);
        zt_ref_check(r, name, "d.in_proj_weight", m.g.in_proj_weight, 3 * 64, 2e-5, 1e-5);
        zt_ref_check(r, name, "d.in_proj_bias", m.g.in_proj_bias, 24, 2e-5, 1e-5);
        zt_ref_check(r, name, "d.out_proj.weight", m.g.out_proj_weight, 64, 2e-5, 1e-5);
        zt_ref_check(r, name, "d.out_proj.bias", m.g.out_proj_bias, 8, 2e-5, 1e-5);
        mctx_free(&m);
    }
    zt_ref_free(r);
}

TEST(mha_torch_self_causal_padding) { mha_ref("mha_self", 5, 5, 1, 1, 1, 0, 0); }
TEST(mha_torch_cross_padding_addmask) { mha_ref("mha_cross", 4, 6, 0, 0, 1, 0, 1); }
TEST(mha_torch_self_boolmask) { mha_ref("mha_bool", 5, 5, 1, 0, 0, 1, 0); }
TEST(mha_torch_cross_padding) { mha_ref("mha_cross_pad", 4, 6, 0, 0, 1, 0, 0); }

static float max_abs(const float *x, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
    return m;
}

// The tiled core (default) equals the plain one (need_weights) on the same module:
// self and cross, causal or not, key lengths, dropout on the weights (the same mask on
// both) — outputs and every gradient, |diff| <= 1e-5·max|want| + 2e-5·|want|.
TEST(mha_tiled_equals_plain) {
    static const int lens[2] = {53, 20}, qlens[2] = {37, 11};
    for (int k = 0; k < 8; k++) {
        int self = k & 1, causal = (k >> 1) & 1, drop = (k >> 2) & 1;
        int Tq = 37, Tk = self ? 37 : 53;
        zy_mha_config c = zy_mha_default_config(2, Tq, Tk, 48, 3);
        c.attn.causal = causal;
        c.attn.key_lengths = self ? qlens : lens;
        c.attn.dropout = drop ? 0.2f : 0.0f;
        c.attn.seed = 77;
        c.attn.block_q = 16; // several tiles
        c.attn.block_k = 32;
        mctx t, p;
        mctx_init(&t, c, self, 500);
        c.need_weights = true;
        mctx_init(&p, c, self, 500);
        ASSERT(zy_mha_uses_tiled(&t.c) && !zy_mha_uses_tiled(&p.c));
        ASSERT(!isnan(mha_loss(&t)) && !isnan(mha_loss(&p)));
        mha_grads(&t);
        mha_grads(&p);
        zt_note("%s causal %d dropout %g", self ? "self" : "cross", causal, c.attn.dropout);
        CHECK_CLOSE("  out", t.out, p.out, p.nout, 1e-5 * max_abs(p.out, p.nout), 2e-5);
        CHECK_CLOSE("  dxq", t.dxq, p.dxq, p.nq, 1e-5 * max_abs(p.dxq, p.nq), 2e-5);
        if (!self) CHECK_CLOSE("  dxkv", t.dxkv, p.dxkv, p.nk, 1e-5 * max_abs(p.dxkv, p.nk), 2e-5);
        CHECK_CLOSE("  dparams", t.grads, p.grads, p.np, 1e-5 * max_abs(p.grads, p.np), 2e-5);
        mctx_free(&t), mctx_free(&p);
    }
}

// Frozen tensors (NULL gradient pointers, or no gradient struct at all) get nothing; the
// others are exactly what a full backward gives.
TEST(mha_null_grads_skip_frozen_tensors) {
    zy_mha_config c = zy_mha_default_config(2, 5, 6, 8, 2);
    c.attn.key_lengths = len_64;
    mctx full, part;
    mctx_init(&full, c, 0, 600);
    mctx_init(&part, c, 0, 600);
    ASSERT(!isnan(mha_loss(&full)) && !isnan(mha_loss(&part)));
    mha_grads(&full);
    zy_mha_params dp = part.g;
    dp.in_proj_weight = NULL; // frozen
    dp.out_proj_bias = NULL;
    ASSERT(zy_mha_backward(part.dxq, NULL, &dp, part.scratch, part.nscratch, part.wout,
                           part.acts, part.xq, part.xkv, &part.p, &c) == ZY_STATUS_OK);
    size_t C = 8;
    CHECK_CLOSE("dxq", part.dxq, full.dxq, full.nq, 0, 0);
    CHECK_CLOSE("in_proj_bias", part.g.in_proj_bias, full.g.in_proj_bias, 3 * C, 0, 0);
    CHECK_CLOSE("out_proj_weight", part.g.out_proj_weight, full.g.out_proj_weight, C * C, 0, 0);
    for (size_t i = 0; i < 3 * C * C; i++) CHECK(part.g.in_proj_weight[i] == 0.0f);
    for (size_t i = 0; i < C; i++) CHECK(part.g.out_proj_bias[i] == 0.0f);
    for (size_t i = 0; i < full.nk; i++) CHECK(part.dxkv[i] == 0.0f);
    // no parameter gradients at all, only the input's
    memset(part.dxq, 0, full.nq * sizeof(float));
    ASSERT(zy_mha_backward(part.dxq, NULL, NULL, part.scratch, part.nscratch, part.wout,
                           part.acts, part.xq, part.xkv, &part.p, &c) == ZY_STATUS_OK);
    CHECK_CLOSE("dxq, no dp", part.dxq, full.dxq, full.nq, 0, 0);
    mctx_free(&full), mctx_free(&part);
}

// Self-attention through the cross path (two different pointers holding the same x) gives
// the same output and gradients as the fused self path.
TEST(mha_self_equals_cross_with_same_input) {
    mctx s, x;
    zy_mha_config c = zy_mha_default_config(2, 5, 5, 8, 2);
    c.attn.causal = true;
    mctx_init(&s, c, 1, 300);
    mctx_init(&x, c, 0, 300);
    memcpy(x.xkv, s.xq, s.nq * sizeof(float));
    mha_loss(&s), mha_grads(&s);
    mha_loss(&x), mha_grads(&x);
    CHECK_CLOSE("out", x.out, s.out, s.nout, 1e-6, 1e-6);
    for (size_t i = 0; i < x.nq; i++) x.dxq[i] += x.dxkv[i];
    CHECK_CLOSE("dx", x.dxq, s.dxq, s.nq, 1e-6, 1e-5);
    CHECK_CLOSE("dparams", x.grads, s.grads, s.np, 1e-6, 1e-5);
    mctx_free(&s), mctx_free(&x);
}

// BERT's separate q/k/v (nn.Linear) and GPT-2's Conv1D (transposed) land in the layout.
TEST(mha_hf_layout_helpers) {
    int C = 8;
    size_t np = zy_mha_param_count(C), CC = (size_t)C * C;
    float *a = zt_floats(np), *b = zt_floats(np), *conv = zt_floats(3 * CC), *proj = zt_floats(CC);
    zt_fill_uniform(a, np, 7, -1, 1);
    zy_mha_params pa, pb;
    zy_mha_params_init(&pa, a, C);
    zy_mha_params_init(&pb, b, C);
    CHECK(pa.out_proj_bias + C == a + np);
    zy_mha_from_separate(&pb, pa.in_proj_weight, pa.in_proj_bias, pa.in_proj_weight + CC,
                         pa.in_proj_bias + C, pa.in_proj_weight + 2 * CC, NULL, C);
    CHECK_CLOSE("separate weights", pb.in_proj_weight, pa.in_proj_weight, 3 * CC, 0, 0);
    CHECK_CLOSE("separate biases", pb.in_proj_bias, pa.in_proj_bias, 2 * C, 0, 0);
    for (int i = 0; i < C; i++) CHECK(pb.in_proj_bias[2 * C + i] == 0.0f);
    // GPT-2 stores c_attn as (in=C, out=3C): element [i][o] is in_proj_weight[o][i]
    for (int o = 0; o < 3 * C; o++)
        for (int i = 0; i < C; i++)
            conv[(size_t)i * 3 * C + o] = pa.in_proj_weight[(size_t)o * C + i];
    for (int o = 0; o < C; o++)
        for (int i = 0; i < C; i++) proj[(size_t)i * C + o] = pa.out_proj_weight[(size_t)o * C + i];
    zy_mha_from_conv1d(&pb, conv, pa.in_proj_bias, proj, pa.out_proj_bias, C);
    CHECK_CLOSE("conv1d params", b, a, np, 0, 0);
    free(a), free(b), free(conv), free(proj);
}

TEST(mha_rejects_bad_config) {
    float x[64] = {0};
    zy_mha_params p = {x, x, x, x};
    zy_mha_config c = zy_mha_default_config(1, 1, 1, 6, 4); // 6 % 4 != 0
    CHECK(zy_mha_forward(x, x, x, 64, x, x, &p, &c) == ZY_STATUS_INVALID_ARGUMENT);
    c = zy_mha_default_config(1, 2, 3, 4, 2); // self-attention with Tq != Tk
    CHECK(zy_mha_forward(x, x, x, 64, x, x, &p, &c) == ZY_STATUS_INVALID_ARGUMENT);
    c = zy_mha_default_config(1, 2, 2, 4, 2);
    c.attn.score = ZY_ATTN_ADDITIVE; // not a multi-head score
    CHECK(zy_mha_forward(x, x, x, 64, x, x, &p, &c) == ZY_STATUS_INVALID_ARGUMENT);
    c = zy_mha_default_config(1, 2, 2, 4, 2);
    CHECK(zy_mha_forward(x, x, x, 1, x, x, &p, &c) == ZY_STATUS_INVALID_ARGUMENT); // scratch
}
