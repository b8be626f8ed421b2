// Tests of the transformer blocks (src/nn/block*.c): PyTorch nn.TransformerEncoderLayer
// (post-LN and pre-LN; ReLU, GELU-erf and GELU-tanh; a causal pre-LN one, GPT-2's shape)
// and nn.TransformerDecoderLayer (post-LN ReLU and GELU, pre-LN GELU-erf and GELU-tanh)
// outputs and every parameter/input gradient, on the tiled core and on the plain one;
// finite-difference checks of every block form over all parameters and inputs (dropout at
// every site in one); tiled equals plain with dropout; frozen (NULL) gradients; the
// in-place dx == dy backward. Cached decoding: tests/test_block_decode.c.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/attention.h"

#define REF_PATH "tests/ref/attention.zyr"

typedef struct bctx {
    zy_block_config c;
    float *params, *grads, *x, *mem, *dx, *dmem, *y, *acts, *scratch, *wy;
    zy_block_params p, g;
    size_t np, nx, nm, nscratch;
} bctx;

static const int len_54[2] = {5, 4};
static const int len_64[2] = {6, 4};

// B=2, T=5, C=8, H=2, FF=16; decoders with cross-attention have memory Tm=6
static zy_block_config small_config(zy_block_kind kind, int norm_first, zy_block_act act,
                                    int cross) {
    zy_block_config c = zy_block_default_config(kind, 2, 5, 8, 2, 16);
    c.norm_first = norm_first;
    c.act = act;
    if (kind == ZY_BLOCK_ENCODER) c.self_attn.key_lengths = len_54;
    if (cross) c.Tm = 6, c.cross_attn.key_lengths = len_64;
    return c;
}

static void bctx_init(bctx *b, zy_block_config c, uint64_t seed) {
    memset(b, 0, sizeof *b);
    b->c = c;
    b->np = zy_block_param_count(&c);
    b->nx = (size_t)c.B * c.T * c.C;
    b->nm = (size_t)c.B * c.Tm * c.C;
    b->params = zt_floats(b->np);
    b->grads = zt_floats(b->np);
    zt_fill_uniform(b->params, b->np, seed, -0.4f, 0.4f);
    zy_block_params_init(&b->p, b->params, &c);
    zy_block_params_init(&b->g, b->grads, &c);
    float *lnw[3] = {b->p.ln1w, b->p.ln2w, b->p.ln3w};
    for (int i = 0; i < 3; i++)
        if (lnw[i]) zt_fill_uniform(lnw[i], c.C, seed + 10 + i, 0.7f, 1.3f);
    b->x = zt_floats(b->nx);
    b->dx = zt_floats(b->nx);
    zt_fill_uniform(b->x, b->nx, seed + 1, -1.0f, 1.0f);
    if (b->nm) {
        b->mem = zt_floats(b->nm);
        b->dmem = zt_floats(b->nm);
        zt_fill_uniform(b->mem, b->nm, seed + 2, -1.0f, 1.0f);
    }
    b->y = zt_floats(b->nx);
    b->acts = zt_floats(zy_block_acts_floats(&c));
    b->nscratch = zy_block_scratch_floats(&c);
    b->scratch = zt_floats(b->nscratch);
    b->wy = zt_floats(b->nx);
    zt_fill_uniform(b->wy, b->nx, seed + 3, -1.0f, 1.0f);
}

static void bctx_free(bctx *b) {
    free(b->params), free(b->grads), free(b->x), free(b->dx), free(b->mem), free(b->dmem);
    free(b->y), free(b->acts), free(b->scratch), free(b->wy);
}

static double block_loss(void *p) {
    bctx *b = p;
    zy_status st = zy_block_forward(b->y, b->acts, b->scratch, b->nscratch, b->x, b->mem, &b->p,
                                    &b->c);
    if (st != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "block forward: %s", zy_last_error());
        return NAN;
    }
    return zt_dot(b->y, b->wy, b->nx);
}

static void block_grads(bctx *b) {
    zy_status st = zy_block_backward(b->dx, b->dmem, &b->g, b->scratch, b->nscratch, b->wy,
                                     b->acts, b->x, b->mem, &b->p, &b->c);
    if (st != ZY_STATUS_OK) zt_fail(__FILE__, __LINE__, "block backward: %s", zy_last_error());
}

// Every parameter tensor by its PyTorch name, with its value, gradient and size.
typedef struct named {
    const char *name;
    float *val, *grad;
    size_t n;
} named;

static int param_table(named *t, bctx *b) {
    size_t C = b->c.C, FF = b->c.FF;
    int k = 0;
    const zy_mha_params *mp[2] = {&b->p.self_attn, &b->p.cross_attn};
    const zy_mha_params *mg[2] = {&b->g.self_attn, &b->g.cross_attn};
    const char *pre[2] = {"self_attn", "multihead_attn"};
    static char names[2][4][48];
    for (int a = 0; a < (b->nm ? 2 : 1); a++) {
        snprintf(names[a][0], 48, "%s.in_proj_weight", pre[a]);
        snprintf(names[a][1], 48, "%s.in_proj_bias", pre[a]);
        snprintf(names[a][2], 48, "%s.out_proj.weight", pre[a]);
        snprintf(names[a][3], 48, "%s.out_proj.bias", pre[a]);
        t[k++] = (named){names[a][0], mp[a]->in_proj_weight, mg[a]->in_proj_weight, 3 * C * C};
        t[k++] = (named){names[a][1], mp[a]->in_proj_bias, mg[a]->in_proj_bias, 3 * C};
        t[k++] = (named){names[a][2], mp[a]->out_proj_weight, mg[a]->out_proj_weight, C * C};
        t[k++] = (named){names[a][3], mp[a]->out_proj_bias, mg[a]->out_proj_bias, C};
    }
    t[k++] = (named){"linear1.weight", b->p.w1, b->g.w1, FF * C};
    t[k++] = (named){"linear1.bias", b->p.b1, b->g.b1, FF};
    t[k++] = (named){"linear2.weight", b->p.w2, b->g.w2, C * FF};
    t[k++] = (named){"linear2.bias", b->p.b2, b->g.b2, C};
    t[k++] = (named){"norm1.weight", b->p.ln1w, b->g.ln1w, C};
    t[k++] = (named){"norm1.bias", b->p.ln1b, b->g.ln1b, C};
    t[k++] = (named){"norm2.weight", b->p.ln2w, b->g.ln2w, C};
    t[k++] = (named){"norm2.bias", b->p.ln2b, b->g.ln2b, C};
    if (b->nm) {
        t[k++] = (named){"norm3.weight", b->p.ln3w, b->g.ln3w, C};
        t[k++] = (named){"norm3.bias", b->p.ln3b, b->g.ln3b, C};
    }
    return k;
}

// eps 1e-2, tol 2e-2: a block is ~10 float ops deep, so the float forward's rounding in
// the loss is larger than in one op; wrong terms give O(1) relative errors. The memory
// input uses eps 3e-2: its gradients are small after post-LN and the FD error there falls
// as eps grows (rounding, not truncation, dominates: 0.024 at 3e-3, 0.0025 at 3e-2).
// The checks use GELU: a ±eps step across ReLU's kink makes the central difference
// meaningless. ReLU blocks are proven against PyTorch below (block_torch_*_relu).
// At the scalar level: libm's exp and erf keep the forward's rounding lowest and the same on
// every CPU (the vector exps' 1-2 ulp moved a cross-attention query gradient's difference
// past 2 % on AVX2); the vector kernels are held to the scalar ones by their own tests, and
// the block's gradients at the machine's level to PyTorch's (block_torch_*).
static void block_gradcheck(zy_block_config c, const char *tag, uint64_t seed) {
    zt_use_simd(ZY_SIMD_SCALAR);
    bctx b;
    bctx_init(&b, c, seed);
    ASSERT(!isnan(block_loss(&b)));
    block_grads(&b);
    named t[20];
    int nt = param_table(t, &b);
    size_t total = 0;
    char what[96];
    for (int i = 0; i < nt; i++) {
        snprintf(what, sizeof what, "%s %s", tag, t[i].name);
        GRADCHECK(what, block_loss, &b, t[i].val, t[i].grad, t[i].n, 1e-2, 2e-2);
        total += t[i].n;
    }
    CHECK(total == b.np); // the table covers the whole parameter array
    snprintf(what, sizeof what, "%s x", tag);
    GRADCHECK(what, block_loss, &b, b.x, b.dx, b.nx, 1e-2, 2e-2);
    if (b.nm) {
        snprintf(what, sizeof what, "%s memory", tag);
        GRADCHECK(what, block_loss, &b, b.mem, b.dmem, b.nm, 3e-2, 2e-2);
    }
    bctx_free(&b);
}

// The attention of these runs on the tiled core (key lengths and causal only); the last
// two also check the plain core and GELU-tanh.
TEST(block_gradcheck_encoder_post_ln) {
    block_gradcheck(small_config(ZY_BLOCK_ENCODER, 0, ZY_BLOCK_GELU_ERF, 0), "enc post", 10);
}
TEST(block_gradcheck_encoder_pre_ln_gelu) {
    block_gradcheck(small_config(ZY_BLOCK_ENCODER, 1, ZY_BLOCK_GELU_ERF, 0), "enc pre", 20);
}
TEST(block_gradcheck_decoder_post_ln_cross) {
    block_gradcheck(small_config(ZY_BLOCK_DECODER, 0, ZY_BLOCK_GELU_ERF, 1), "dec post", 30);
}
TEST(block_gradcheck_decoder_pre_ln_cross) {
    block_gradcheck(small_config(ZY_BLOCK_DECODER, 1, ZY_BLOCK_GELU_ERF, 1), "dec pre", 40);
}
// Dropout at all four sites, each its own probability (GPT-2 style: decoder-only, pre-LN,
// GELU-tanh), then the same with cross-attention on the plain core.
TEST(block_gradcheck_decoder_only_dropout) {
    zy_block_config c = small_config(ZY_BLOCK_DECODER, 1, ZY_BLOCK_GELU_TANH, 0);
    c.dropout = (zy_block_dropout){0.2f, 0.1f, 0.15f, 0.25f, 0.0f};
    c.seed = 9;
    block_gradcheck(c, "dec-only drop", 50);
}
TEST(block_gradcheck_cross_dropout_plain_core) {
    zy_block_config c = small_config(ZY_BLOCK_DECODER, 0, ZY_BLOCK_GELU_TANH, 1);
    c.dropout = (zy_block_dropout){0.2f, 0.1f, 0.15f, 0.25f, 0.0f};
    c.seed = 11;
    c.need_weights = true;
    block_gradcheck(c, "dec post plain drop", 55);
}
TEST(block_gradcheck_gelu_tanh_post_ln) {
    block_gradcheck(small_config(ZY_BLOCK_ENCODER, 0, ZY_BLOCK_GELU_TANH, 0), "enc post tanh",
                    57);
}

// Backward adds: a second backward doubles every gradient (nothing is overwritten).
TEST(block_backward_accumulates) {
    for (int pre = 0; pre < 2; pre++) {
        bctx b;
        bctx_init(&b, small_config(ZY_BLOCK_DECODER, pre, ZY_BLOCK_RELU, 1), 60);
        ASSERT(!isnan(block_loss(&b)));
        block_grads(&b);
        float *g1 = zt_floats(b.np), *dx1 = zt_floats(b.nx), *dm1 = zt_floats(b.nm);
        memcpy(g1, b.grads, b.np * 4), memcpy(dx1, b.dx, b.nx * 4), memcpy(dm1, b.dmem, b.nm * 4);
        block_grads(&b);
        for (size_t i = 0; i < b.np; i++) g1[i] *= 2;
        for (size_t i = 0; i < b.nx; i++) dx1[i] *= 2;
        for (size_t i = 0; i < b.nm; i++) dm1[i] *= 2;
        CHECK_CLOSE("2x dparams", b.grads, g1, b.np, 1e-6, 1e-6);
        CHECK_CLOSE("2x dx", b.dx, dx1, b.nx, 1e-6, 1e-6);
        CHECK_CLOSE("2x dmem", b.dmem, dm1, b.nm, 1e-6, 1e-6);
        free(g1), free(dx1), free(dm1);
        bctx_free(&b);
    }
}

// dx == dy: the buffer turns into dx in place and equals the separate-buffer result.
TEST(block_backward_in_place) {
    for (int pre = 0; pre < 2; pre++) {
        bctx a, b;
        zy_block_config c = small_config(ZY_BLOCK_DECODER, pre, ZY_BLOCK_GELU_TANH, 1);
        c.dropout = (zy_block_dropout){0, 0.1f, 0, 0.2f, 0};
        bctx_init(&a, c, 65);
        bctx_init(&b, c, 65);
        ASSERT(!isnan(block_loss(&a)) && !isnan(block_loss(&b)));
        block_grads(&a);
        ASSERT(zy_block_backward(b.wy, b.dmem, &b.g, b.scratch, b.nscratch, b.wy, b.acts, b.x,
                                 b.mem, &b.p, &c) == ZY_STATUS_OK);
        CHECK_CLOSE(pre ? "pre: in-place dx" : "post: in-place dx", b.wy, a.dx, a.nx, 0, 0);
        CHECK_CLOSE("in-place dparams", b.grads, a.grads, a.np, 0, 0);
        bctx_free(&a), bctx_free(&b);
    }
}

// Frozen tensors (NULL gradient fields) get nothing and the rest equal a full backward;
// dx NULL and no gradient struct at all are allowed.
TEST(block_null_grads_skip_frozen_tensors) {
    for (int pre = 0; pre < 2; pre++) {
        zy_block_config c = small_config(ZY_BLOCK_DECODER, pre, ZY_BLOCK_GELU_TANH, 1);
        bctx full, part;
        bctx_init(&full, c, 70);
        bctx_init(&part, c, 70);
        ASSERT(!isnan(block_loss(&full)) && !isnan(block_loss(&part)));
        block_grads(&full);
        zy_block_params dp = part.g; // LoRA-like: attention and FF weights frozen
        dp.self_attn.in_proj_weight = dp.self_attn.out_proj_weight = NULL;
        dp.cross_attn.in_proj_weight = NULL;
        dp.w1 = dp.w2 = NULL;
        dp.ln1w = dp.ln1b = NULL;
        ASSERT(zy_block_backward(NULL, part.dmem, &dp, part.scratch, part.nscratch, part.wy,
                                 part.acts, part.x, part.mem, &part.p, &c) == ZY_STATUS_OK);
        named tf[20], tp[20];
        int nt = param_table(tf, &full);
        param_table(tp, &part);
        for (int i = 0; i < nt; i++) {
            int frozen = !strcmp(tp[i].name, "self_attn.in_proj_weight") ||
                         !strcmp(tp[i].name, "self_attn.out_proj.weight") ||
                         !strcmp(tp[i].name, "multihead_attn.in_proj_weight") ||
                         !strcmp(tp[i].name, "linear1.weight") ||
                         !strcmp(tp[i].name, "linear2.weight") ||
                         !strcmp(tp[i].name, "norm1.weight") || !strcmp(tp[i].name, "norm1.bias");
            if (frozen) {
                int nz = 0;
                for (size_t k = 0; k < tp[i].n; k++) nz += tp[i].grad[k] != 0.0f;
                if (nz) zt_fail(__FILE__, __LINE__, "frozen %s got a gradient", tp[i].name);
            } else {
                CHECK_CLOSE(tp[i].name, tp[i].grad, tf[i].grad, tp[i].n, 1e-6, 1e-6);
            }
        }
        CHECK_CLOSE("dmem", part.dmem, full.dmem, full.nm, 1e-6, 1e-6);
        // nothing but the input gradient
        ASSERT(zy_block_backward(part.dx, NULL, NULL, part.scratch, part.nscratch, part.wy,
                                 part.acts, part.x, part.mem, &part.p, &c) == ZY_STATUS_OK);
        CHECK_CLOSE("dx, no dp", part.dx, full.dx, full.nx, 1e-6, 1e-6);
        bctx_free(&full), bctx_free(&part);
    }
}

static float max_abs(const float *x, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
    return m;
}

// A larger block (T=37 in tiles of 16, memory 53, dropout at every site) on the tiled
// core equals the plain core: outputs and every gradient, 1e-5·max + 2e-5 relative.
TEST(block_tiled_equals_plain) {
    static const int lens[2] = {37, 20}, mlens[2] = {53, 31};
    for (int k = 0; k < 4; k++) {
        int pre = k & 1, dec = k >> 1;
        zy_block_config c = zy_block_default_config(dec ? ZY_BLOCK_DECODER : ZY_BLOCK_ENCODER, 2,
                                                    37, 48, 3, 96);
        c.norm_first = pre;
        c.act = ZY_BLOCK_GELU_TANH;
        c.dropout = (zy_block_dropout){0.1f, 0.1f, 0.1f, 0.1f, 0.0f};
        c.seed = 21;
        c.self_attn.key_lengths = dec ? NULL : lens;
        c.self_attn.block_q = c.cross_attn.block_q = 16;
        c.self_attn.block_k = c.cross_attn.block_k = 32;
        if (dec) c.Tm = 53, c.cross_attn.key_lengths = mlens;
        bctx t, p;
        bctx_init(&t, c, 80);
        c.need_weights = true;
        bctx_init(&p, c, 80);
        ASSERT(!isnan(block_loss(&t)) && !isnan(block_loss(&p)));
        block_grads(&t);
        block_grads(&p);
        CHECK(zy_block_attention_weights(t.acts, &t.c, false) == NULL);
        CHECK(zy_block_attention_weights(p.acts, &p.c, false) != NULL);
        zt_note("%s %s-LN, dropout 0.1 everywhere", dec ? "decoder+cross" : "encoder",
                pre ? "pre" : "post");
        CHECK_CLOSE("  y", t.y, p.y, p.nx, 1e-5 * max_abs(p.y, p.nx), 2e-5);
        CHECK_CLOSE("  dx", t.dx, p.dx, p.nx, 1e-5 * max_abs(p.dx, p.nx), 2e-5);
        if (dec) CHECK_CLOSE("  dmem", t.dmem, p.dmem, p.nm, 1e-5 * max_abs(p.dmem, p.nm), 2e-5);
        CHECK_CLOSE("  dparams", t.grads, p.grads, p.np, 1e-5 * max_abs(p.grads, p.np), 2e-5);
        bctx_free(&t), bctx_free(&p);
    }
}

TEST(block_rejects_bad_config) {
    float buf[64] = {0};
    zy_block_params p = {0};
    zy_block_config c = small_config(ZY_BLOCK_DECODER, 1, ZY_BLOCK_RELU, 1);
    CHECK(zy_block_forward(buf, buf, buf, 64, buf, NULL, &p, &c) == ZY_STATUS_INVALID_ARGUMENT);
    c = small_config(ZY_BLOCK_ENCODER, 1, ZY_BLOCK_RELU, 0);
    c.dropout.ff_out = 1.0f;
    CHECK(zy_block_forward(buf, buf, buf, 64, buf, NULL, &p, &c) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    c = small_config(ZY_BLOCK_ENCODER, 1, ZY_BLOCK_RELU, 0);
    c.C = 9; // 9 % 2
    CHECK(zy_block_forward(buf, buf, buf, 64, buf, NULL, &p, &c) == ZY_STATUS_INVALID_ARGUMENT);
    c = small_config(ZY_BLOCK_ENCODER, 1, ZY_BLOCK_RELU, 0);
    CHECK(zy_block_forward(buf, buf, buf, 4, buf, NULL, &p, &c) == ZY_STATUS_INVALID_ARGUMENT);
}

// ---- against PyTorch ---------------------------------------------------------------------
// Output atol 1e-5 rtol 1e-5; gradients atol 2e-5 rtol 1e-5: float32 through two or
// three sublayers (attention, layernorm, FF) against float64; worst seen ~3e-6. Each case
// runs on the tiled core (the default) and on the plain one (need_weights).
static void block_ref(const char *name, zy_block_config c) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    for (int plain = 0; plain < 2; plain++) {
        c.need_weights = plain;
        bctx b;
        bctx_init(&b, c, 1);
        named t[20];
        int nt = param_table(t, &b);
        char key[128];
        size_t n = 0;
        for (int i = 0; i < nt; i++) {
            snprintf(key, sizeof key, "%s.%s", name, t[i].name);
            const float *v = zt_ref_f(r, key, &n);
            ASSERT(v && n == t[i].n);
            memcpy(t[i].val, v, n * 4);
        }
        const char *in[3] = {"x", "mem", "dy"};
        float *dst[3] = {b.x, b.mem, b.wy};
        size_t cnt[3] = {b.nx, b.nm, b.nx};
        for (int i = 0; i < 3; i++) {
            if (!cnt[i]) continue;
            snprintf(key, sizeof key, "%s.%s", name, in[i]);
            const float *v = zt_ref_f(r, key, &n);
            ASSERT(v && n == cnt[i]);
            memcpy(dst[i], v, n * 4);
        }
        zt_note("%s core", plain ? "plain" : "tiled");
        ASSERT(!isnan(block_loss(&b)));
        block_grads(&b);
        zt_ref_check(r, name, "y", b.y, b.nx, 1e-5, 1e-5);
        zt_ref_check(r, name, "dx", b.dx, b.nx, 2e-5, 1e-5);
        if (b.nm) zt_ref_check(r, name, "dmem", b.dmem, b.nm, 2e-5, 1e-5);
        for (int i = 0; i < nt; i++) {
            snprintf(key, sizeof key, "d.%s", t[i].name);
            zt_ref_check(r, name, key, t[i].grad, t[i].n, 2e-5, 1e-5);
        }
        bctx_free(&b);
    }
    zt_ref_free(r);
}

TEST(block_torch_encoder_post_relu) {
    block_ref("enc_post_relu", small_config(ZY_BLOCK_ENCODER, 0, ZY_BLOCK_RELU, 0));
}
TEST(block_torch_encoder_post_gelu) {
    block_ref("enc_post_gelu", small_config(ZY_BLOCK_ENCODER, 0, ZY_BLOCK_GELU_ERF, 0));
}
TEST(block_torch_encoder_pre_relu) {
    block_ref("enc_pre_relu", small_config(ZY_BLOCK_ENCODER, 1, ZY_BLOCK_RELU, 0));
}
TEST(block_torch_encoder_pre_gelu) {
    block_ref("enc_pre_gelu", small_config(ZY_BLOCK_ENCODER, 1, ZY_BLOCK_GELU_ERF, 0));
}
TEST(block_torch_decoder_post_relu) {
    block_ref("dec_post_relu", small_config(ZY_BLOCK_DECODER, 0, ZY_BLOCK_RELU, 1));
}
TEST(block_torch_decoder_pre_gelu) {
    block_ref("dec_pre_gelu", small_config(ZY_BLOCK_DECODER, 1, ZY_BLOCK_GELU_ERF, 1));
}
TEST(block_torch_encoder_post_gelu_tanh) {
    block_ref("enc_post_gelut", small_config(ZY_BLOCK_ENCODER, 0, ZY_BLOCK_GELU_TANH, 0));
}
TEST(block_torch_encoder_pre_gelu_tanh_causal) {
    zy_block_config c = small_config(ZY_BLOCK_ENCODER, 1, ZY_BLOCK_GELU_TANH, 0);
    c.self_attn.causal = true;
    block_ref("enc_pre_gelut_causal", c);
}
TEST(block_torch_decoder_pre_gelu_tanh) {
    block_ref("dec_pre_gelut", small_config(ZY_BLOCK_DECODER, 1, ZY_BLOCK_GELU_TANH, 1));
}
TEST(block_torch_decoder_post_gelu) {
    block_ref("dec_post_gelu", small_config(ZY_BLOCK_DECODER, 0, ZY_BLOCK_GELU_ERF, 1));
}
