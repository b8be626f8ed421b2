// Tests of LoRA's arithmetic (src/nn/lora.c) and of the adapters inside the shared
// transformer block (src/nn/block*.c, mha.c): finite-difference checks of the adapter op
// (without and with dropout, whose mask is fixed by its seed) and of a block's adapters on
// all six linear layers; a block with adapters equals the block whose weights have
// W + scale·B·A folded in (outputs and input gradients); cached decoding through a block
// with adapters equals its forward. The model level (tables, files, training) is
// tests/test_lora.c.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/attention.h"
#include "zhuyi/gemm.h"

// ---- the op -------------------------------------------------------------------------------

enum { N = 6, IN = 10, LD = 12, ROWS = 7, COL0 = 3, R = 3 };

typedef struct op_ctx {
    zy_lora a;
    float *A, *B, *dA, *dB, *x, *dx, *y, *t, *xd, *w, *scratch;
    float p;
} op_ctx;

static double op_loss(void *p) {
    op_ctx *o = p;
    for (size_t i = 0; i < (size_t)N * LD; i++) o->y[i] = 0.01f * (float)i; // a base output
    zy_lora_forward(o->y, LD, o->t, o->xd, o->x, N, &o->a, o->p, 99, 5);
    return zt_dot(o->y, o->w, (size_t)N * LD);
}

// y[:, 3:10] += 1.5 · (drop(x)·Aᵀ)·Bᵀ over a (6, 12) output: every gradient against
// finite differences, with p = 0 and with p = 0.3 (the mask depends only on the seed, so
// the loss stays a smooth function of A, B and x).
TEST(lora_op_gradcheck) {
    for (int drop = 0; drop < 2; drop++) {
        op_ctx o = {0};
        o.p = drop ? 0.3f : 0.0f;
        o.A = zt_floats(R * IN), o.B = zt_floats(ROWS * R), o.dA = zt_floats(R * IN);
        o.dB = zt_floats(ROWS * R), o.x = zt_floats(N * IN), o.dx = zt_floats(N * IN);
        o.y = zt_floats(N * LD), o.t = zt_floats(N * R), o.xd = zt_floats(N * IN);
        o.w = zt_floats(N * LD);
        zt_fill_uniform(o.A, R * IN, 1, -0.5f, 0.5f);
        zt_fill_uniform(o.B, ROWS * R, 2, -0.5f, 0.5f);
        zt_fill_uniform(o.x, N * IN, 3, -1.0f, 1.0f);
        zt_fill_uniform(o.w, N * LD, 4, -1.0f, 1.0f);
        o.a = (zy_lora){o.A, o.B, o.dA, o.dB, R, IN, ROWS, COL0, 1.5f};
        o.scratch = zt_floats(zy_lora_backward_floats(N, &o.a, o.p));
        op_loss(&o);
        zy_lora_backward(o.dx, o.scratch, o.w, LD, o.t, o.x, N, &o.a, o.p, 99, 5);
        // columns outside [3, 10) are the base's: the adapter leaves them
        for (int n = 0; n < N; n++)
            for (int c = 0; c < LD; c++)
                if (c < COL0 || c >= COL0 + ROWS) CHECK(o.y[n * LD + c] == 0.01f * (float)(n * LD + c));
        GRADCHECK(drop ? "A (p 0.3)" : "A", op_loss, &o, o.A, o.dA, R * IN, 1e-2, 1e-2);
        GRADCHECK(drop ? "B (p 0.3)" : "B", op_loss, &o, o.B, o.dB, ROWS * R, 1e-2, 1e-2);
        GRADCHECK(drop ? "x (p 0.3)" : "x", op_loss, &o, o.x, o.dx, N * IN, 1e-2, 1e-2);
        if (drop) { // some inputs dropped: their gradient is exactly 0
            int zeros = 0;
            for (int i = 0; i < N * IN; i++) zeros += o.dx[i] == 0.0f;
            CHECK(zeros > 0);
        }
        free(o.A), free(o.B), free(o.dA), free(o.dB), free(o.x), free(o.dx), free(o.y);
        free(o.t), free(o.xd), free(o.w), free(o.scratch);
    }
}

// Without dropout the adapter is the weight delta: x·Wᵀ + 1.5·(x·Aᵀ)·Bᵀ = x·(W + 1.5·B·A)ᵀ.
TEST(lora_op_is_the_weight_delta) {
    float A[R * IN], B[ROWS * R], W[ROWS * IN], Wm[ROWS * IN], x[N * IN], y[N * ROWS],
        ym[N * ROWS], t[N * R];
    zt_fill_uniform(A, R * IN, 11, -0.5f, 0.5f);
    zt_fill_uniform(B, ROWS * R, 12, -0.5f, 0.5f);
    zt_fill_uniform(W, ROWS * IN, 13, -0.5f, 0.5f);
    zt_fill_uniform(x, N * IN, 14, -1.0f, 1.0f);
    zy_lora a = {A, B, NULL, NULL, R, IN, ROWS, 0, 1.5f};
    zy_linear_forward(y, x, W, NULL, N, IN, ROWS);
    zy_lora_forward(y, ROWS, t, NULL, x, N, &a, 0.0f, 0, 0);
    memcpy(Wm, W, sizeof W);
    zy_sgemm(false, false, ROWS, IN, R, 1.5f, B, R, A, IN, 1.0f, Wm, IN);
    zy_linear_forward(ym, x, Wm, NULL, N, IN, ROWS);
    CHECK_CLOSE("x·(W + sBA)ᵀ", y, ym, N * ROWS, 1e-5, 1e-5);
}

// ---- in a block ---------------------------------------------------------------------------

typedef struct blk {
    zy_block_config c;
    zy_block_lora lora;
    float *params, *x, *mem, *y, *acts, *scratch, *wy, *dx, *dmem;
    float *ad[ZY_BLOCK_LINEARS][ZY_BLOCK_LORA_MAX][4]; // A, B, dA, dB of each adapter
    zy_block_params p;
    size_t np, nx, nm, ns;
} blk;

// B=2 T=5 C=8 H=2 FF=16, Tm=6 with cross-attention. Adapters: self in_proj three (one per
// q/k/v part, BERT's) or one over all 3C (GPT-2's c_attn); cross in_proj one on the query
// rows and one on the key/value rows; one on every other linear layer. Ranks 1-3.
static void blk_init(blk *b, zy_block_kind kind, bool norm_first, bool cross, bool qkv_parts) {
    memset(b, 0, sizeof *b);
    zy_block_config c = zy_block_default_config(kind, 2, 5, 8, 2, 16);
    c.norm_first = norm_first;
    c.act = norm_first ? ZY_BLOCK_GELU_TANH : ZY_BLOCK_GELU_ERF;
    if (cross) c.Tm = 6;
    const int C = c.C, FF = c.FF;
    int k = 0;
    for (int j = 0; j < ZY_BLOCK_LINEARS; j++) {
        bool is_cross = j == ZY_BLOCK_CROSS_IN || j == ZY_BLOCK_CROSS_OUT;
        if (is_cross && !cross) continue;
        int in = j == ZY_BLOCK_FF2 ? FF : C;
        int out = j == ZY_BLOCK_SELF_IN || j == ZY_BLOCK_CROSS_IN ? 3 * C : j == ZY_BLOCK_FF1 ? FF : C;
        int parts = j == ZY_BLOCK_SELF_IN ? (qkv_parts ? 3 : 1) : j == ZY_BLOCK_CROSS_IN ? 2 : 1;
        for (int q = 0; q < parts; q++) {
            int r = 1 + (k++ % 3);
            int rows = parts == 3 ? C : j == ZY_BLOCK_CROSS_IN ? (q ? 2 * C : C) : out;
            int col0 = parts == 3 ? q * C : j == ZY_BLOCK_CROSS_IN ? (q ? C : 0) : 0;
            float **t = b->ad[j][q];
            t[0] = zt_floats((size_t)r * in), t[1] = zt_floats((size_t)rows * r);
            t[2] = zt_floats((size_t)r * in), t[3] = zt_floats((size_t)rows * r);
            zt_fill_uniform(t[0], (size_t)r * in, 100 + k, -0.4f, 0.4f);
            zt_fill_uniform(t[1], (size_t)rows * r, 200 + k, -0.4f, 0.4f);
            b->lora.a[j][q] = (zy_lora){t[0], t[1], t[2], t[3], r, in, rows, col0, 0.75f};
        }
        b->lora.n[j] = parts;
    }
    c.lora = &b->lora;
    b->c = c;
    b->np = zy_block_param_count(&c);
    b->params = zt_floats(b->np);
    zt_fill_uniform(b->params, b->np, 7, -0.4f, 0.4f);
    zy_block_params_init(&b->p, b->params, &c);
    float *lnw[3] = {b->p.ln1w, b->p.ln2w, b->p.ln3w};
    for (int i = 0; i < 3; i++)
        if (lnw[i]) zt_fill_uniform(lnw[i], C, 8 + i, 0.7f, 1.3f);
    b->nx = (size_t)c.B * c.T * C;
    b->nm = (size_t)c.B * c.Tm * C;
    b->x = zt_floats(b->nx), b->dx = zt_floats(b->nx), b->y = zt_floats(b->nx);
    b->wy = zt_floats(b->nx);
    zt_fill_uniform(b->x, b->nx, 9, -1.0f, 1.0f);
    zt_fill_uniform(b->wy, b->nx, 10, -1.0f, 1.0f);
    if (b->nm) {
        b->mem = zt_floats(b->nm), b->dmem = zt_floats(b->nm);
        zt_fill_uniform(b->mem, b->nm, 11, -1.0f, 1.0f);
    }
}

// Activations and scratch for the config as it is now (dropout and the plain core change
// their sizes).
static void blk_alloc(blk *b) {
    free(b->acts), free(b->scratch);
    b->acts = zt_floats(zy_block_acts_floats(&b->c));
    b->ns = zy_block_scratch_floats(&b->c);
    b->scratch = zt_floats(b->ns);
}

static void blk_free(blk *b) {
    for (int j = 0; j < ZY_BLOCK_LINEARS; j++)
        for (int q = 0; q < ZY_BLOCK_LORA_MAX; q++)
            for (int i = 0; i < 4; i++) free(b->ad[j][q][i]);
    free(b->params), free(b->x), free(b->mem), free(b->y), free(b->acts), free(b->scratch);
    free(b->wy), free(b->dx), free(b->dmem);
}

static const char *const LIN[ZY_BLOCK_LINEARS] = {"self_in", "self_out", "cross_in",
                                                  "cross_out", "ff1", "ff2"};

static double blk_loss(void *p) {
    blk *b = p;
    zy_status st = zy_block_forward(b->y, b->acts, b->scratch, b->ns, b->x, b->mem, &b->p, &b->c);
    if (st) {
        zt_fail(__FILE__, __LINE__, "block forward: %s", zy_last_error());
        return NAN;
    }
    return zt_dot(b->y, b->wy, b->nx);
}

static void blk_backward(blk *b) {
    memset(b->dx, 0, b->nx * sizeof *b->dx);
    if (b->dmem) memset(b->dmem, 0, b->nm * sizeof *b->dmem);
    for (int j = 0; j < ZY_BLOCK_LINEARS; j++)
        for (int q = 0; q < b->lora.n[j]; q++) {
            const zy_lora *a = &b->lora.a[j][q];
            memset(a->dA, 0, (size_t)a->r * a->in * sizeof(float));
            memset(a->dB, 0, (size_t)a->rows * a->r * sizeof(float));
        }
    // the base frozen: no parameter gradients but the adapters'
    zy_status st = zy_block_backward(b->dx, b->dmem, NULL, b->scratch, b->ns, b->wy, b->acts,
                                     b->x, b->mem, &b->p, &b->c);
    if (st) zt_fail(__FILE__, __LINE__, "block backward: %s", zy_last_error());
}


// The in-projections' adapters have small gradients (the keys' ~1e-4 against a loss of ~1
// summed in float), so their steps are 4e-2: the difference then stands well above the
// float noise.
static void blk_gradcheck(blk *b) {
    blk_alloc(b);
    if (!isfinite(blk_loss(b))) return;
    blk_backward(b);
    char what[64];
    for (int j = 0; j < ZY_BLOCK_LINEARS; j++)
        for (int q = 0; q < b->lora.n[j]; q++) {
            zy_lora *a = &b->lora.a[j][q];
            snprintf(what, sizeof what, "%s[%d].A", LIN[j], q);
            double eps = j == ZY_BLOCK_SELF_IN || j == ZY_BLOCK_CROSS_IN ? 4e-2 : 1e-2;
            GRADCHECK(what, blk_loss, b, (float *)a->A, a->dA, (size_t)a->r * a->in, eps, 2e-2);
            snprintf(what, sizeof what, "%s[%d].B", LIN[j], q);
            GRADCHECK(what, blk_loss, b, (float *)a->B, a->dB, (size_t)a->rows * a->r, eps, 2e-2);
        }
    GRADCHECK("x", blk_loss, b, b->x, b->dx, b->nx, 1e-2, 2e-2);
    if (b->mem) GRADCHECK("mem", blk_loss, b, b->mem, b->dmem, b->nm, 3e-2, 2e-2);
}

// Adapters on every linear layer of a post-LN encoder (q/k/v parts) and of a pre-LN
// decoder with cross-attention (one c_attn-like adapter), with dropout at every site and on
// the adapters' inputs: every adapter's A and B and the inputs against finite differences.
TEST(lora_block_gradcheck) {
    blk b;
    blk_init(&b, ZY_BLOCK_ENCODER, false, false, true);
    b.c.dropout = (zy_block_dropout){0.1f, 0.1f, 0.15f, 0.2f, 0.25f};
    b.c.seed = 31;
    blk_gradcheck(&b);
    blk_free(&b);
    blk_init(&b, ZY_BLOCK_DECODER, true, true, false);
    b.c.dropout = (zy_block_dropout){0.1f, 0.1f, 0.0f, 0.2f, 0.3f};
    b.c.seed = 32;
    blk_gradcheck(&b);
    blk_free(&b);
}

// W += 0.75·B·A into the block's own weights, at each adapter's rows.
static void fold(blk *b) {
    zy_mha_params *m[2] = {&b->p.self_attn, &b->p.cross_attn};
    float *W[ZY_BLOCK_LINEARS] = {m[0]->in_proj_weight, m[0]->out_proj_weight,
                                  m[1]->in_proj_weight, m[1]->out_proj_weight, b->p.w1, b->p.w2};
    for (int j = 0; j < ZY_BLOCK_LINEARS; j++)
        for (int q = 0; q < b->lora.n[j]; q++) {
            const zy_lora *a = &b->lora.a[j][q];
            zy_sgemm(false, false, a->rows, a->in, a->r, a->scale, a->B, a->r, a->A, a->in, 1.0f,
                     W[j] + (size_t)a->col0 * a->in, a->in);
        }
}

// Without dropout a block with adapters is the block with the adapters folded into its
// weights: the same output and the same input gradients (to float rounding), on the tiled
// and the plain attention core; and each adapter's gradients are the folded weight's
// gradient carried through it.
TEST(lora_block_equals_folded_weights) {
    for (int form = 0; form < 2; form++)
        for (int plain = 0; plain < 2; plain++) {
            blk b;
            blk_init(&b, form ? ZY_BLOCK_DECODER : ZY_BLOCK_ENCODER, form == 1, form == 1, form == 0);
            b.c.need_weights = plain;
            blk_alloc(&b);
            blk_loss(&b);
            blk_backward(&b);
            float *y = zt_floats(b.nx), *dx = zt_floats(b.nx), *dmem = zt_floats(b.nm + 1);
            memcpy(y, b.y, b.nx * sizeof *y);
            memcpy(dx, b.dx, b.nx * sizeof *dx);
            if (b.nm) memcpy(dmem, b.dmem, b.nm * sizeof *dmem);
            fold(&b);
            zy_block_config c = b.c;
            c.lora = NULL;
            ASSERT(zy_block_forward(b.y, b.acts, b.scratch, b.ns, b.x, b.mem, &b.p, &c) == 0);
            memset(b.dx, 0, b.nx * sizeof *b.dx);
            if (b.nm) memset(b.dmem, 0, b.nm * sizeof *b.dmem);
            float *grads = zt_floats(b.np);
            zy_block_params g;
            zy_block_params_init(&g, grads, &c);
            ASSERT(zy_block_backward(b.dx, b.dmem, &g, b.scratch, b.ns, b.wy, b.acts, b.x,
                                     b.mem, &b.p, &c) == 0);
            CHECK_CLOSE(form ? "decoder y" : "encoder y", y, b.y, b.nx, 2e-5, 2e-5);
            CHECK_CLOSE(form ? "decoder dx" : "encoder dx", dx, b.dx, b.nx, 2e-5, 2e-5);
            if (b.nm) CHECK_CLOSE("decoder dmem", dmem, b.dmem, b.nm, 2e-5, 2e-5);
            // The adapters' gradients are the folded weight's dW seen through them:
            // dB = scale·dW·Aᵀ, dA = scale·Bᵀ·dW, dW the adapter's rows of the weight's.
            float *dW[ZY_BLOCK_LINEARS] = {g.self_attn.in_proj_weight, g.self_attn.out_proj_weight,
                                           g.cross_attn.in_proj_weight,
                                           g.cross_attn.out_proj_weight, g.w1, g.w2};
            for (int j = 0; j < ZY_BLOCK_LINEARS; j++)
                for (int q = 0; q < b.lora.n[j]; q++) {
                    const zy_lora *a = &b.lora.a[j][q];
                    const float *dw = dW[j] + (size_t)a->col0 * a->in;
                    float *wA = zt_floats((size_t)a->r * a->in), *wB = zt_floats((size_t)a->rows * a->r);
                    zy_sgemm(false, true, a->rows, a->r, a->in, a->scale, dw, a->in, a->A, a->in,
                             0.0f, wB, a->r);
                    zy_sgemm(true, false, a->r, a->in, a->rows, a->scale, a->B, a->r, dw, a->in,
                             0.0f, wA, a->in);
                    char what[64];
                    snprintf(what, sizeof what, "%s[%d] dA", LIN[j], q);
                    CHECK_CLOSE(what, a->dA, wA, (size_t)a->r * a->in, 1e-5, 1e-4);
                    snprintf(what, sizeof what, "%s[%d] dB", LIN[j], q);
                    CHECK_CLOSE(what, a->dB, wB, (size_t)a->rows * a->r, 1e-5, 1e-4);
                    free(wA), free(wB);
                }
            free(grads), free(y), free(dx), free(dmem);
            blk_free(&b);
        }
}

// A causal pre-LN decoder with cross-attention and adapters on every linear layer:
// decoding the sequence (a chunk of 3, then one position at a time) gives the rows of
// the forward's output.
TEST(lora_block_decode_equals_forward) {
    blk b;
    blk_init(&b, ZY_BLOCK_DECODER, true, true, false);
    blk_alloc(&b);
    blk_loss(&b); // y over the whole batch
    const int C = b.c.C, T = b.c.T, Tm = b.c.Tm;
    zy_kv_cache *cache = NULL, *mem = NULL;
    ASSERT(zy_kv_cache_create(&cache, 1, 2, b.c.H, T, C / b.c.H) == 0);
    ASSERT(zy_kv_cache_create(&mem, 1, 2, b.c.H, Tm, C / b.c.H) == 0);
    size_t ns = zy_block_decode_scratch_floats(&b.c, cache, mem, T);
    float *scratch = zt_floats(ns), *y = zt_floats((size_t)T * C);
    for (int s = 0; s < 2; s++) {
        ASSERT(zy_block_decode_memory(scratch, ns, b.mem + (size_t)s * Tm * C, Tm, s, 0, mem,
                                      &b.p, &b.c) == 0);
        ASSERT(zy_kv_cache_advance(mem, s, Tm) == 0);
        const float *x = b.x + (size_t)s * T * C;
        ASSERT(zy_block_decode(y, scratch, ns, x, 3, s, 0, cache, mem, &b.p, &b.c) == 0);
        ASSERT(zy_kv_cache_advance(cache, s, 3) == 0);
        for (int t = 3; t < T; t++) {
            ASSERT(zy_block_decode(y + (size_t)t * C, scratch, ns, x + (size_t)t * C, 1, s, 0,
                                   cache, mem, &b.p, &b.c) == 0);
            ASSERT(zy_kv_cache_advance(cache, s, 1) == 0);
        }
        CHECK_CLOSE(s ? "sequence 1" : "sequence 0", y, b.y + (size_t)s * T * C, (size_t)T * C,
                    1e-5, 1e-5);
    }
    free(scratch), free(y);
    zy_kv_cache_free(cache);
    zy_kv_cache_free(mem);
    blk_free(&b);
}

// Adapters that do not fit the block are refused, naming the linear layer.
TEST(lora_block_bad_adapters) {
    blk b;
    blk_init(&b, ZY_BLOCK_DECODER, true, true, false);
    blk_alloc(&b);
    zy_lora keep = b.lora.a[ZY_BLOCK_CROSS_IN][0];
    b.lora.a[ZY_BLOCK_CROSS_IN][0].rows = 2 * b.c.C; // query and key rows at once
    CHECK(zy_block_forward(b.y, b.acts, b.scratch, b.ns, b.x, b.mem, &b.p, &b.c) ==
          ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "cross-attention in_proj") != NULL);
    b.lora.a[ZY_BLOCK_CROSS_IN][0] = keep;
    b.lora.a[ZY_BLOCK_FF2][0].in = b.c.C; // w2's input is FF wide
    CHECK(zy_block_forward(b.y, b.acts, b.scratch, b.ns, b.x, b.mem, &b.p, &b.c) ==
          ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "FF w2") != NULL);
    blk_free(&b);
}

// ---- inputs a frozen base does not need (zy_block_config.frozen_linears) ------------------

// One forward and backward of b with the base's weights frozen (biases and layernorms
// train) and frozen_linears as given: y, dx, dmem, the gradients and the adapters' dA, dB
// appended to out (n floats so far, returned). Between the passes the scratch is poisoned
// with NaN, so backward reading an input forward left there would show.
static size_t frozen_run(blk *b, unsigned frozen, float *out) {
    b->c.frozen_linears = frozen;
    blk_alloc(b);
    float *grads = zt_floats(b->np);
    zy_block_params g;
    zy_block_params_init(&g, grads, &b->c);
    g.self_attn.in_proj_weight = g.self_attn.out_proj_weight = NULL;
    g.cross_attn.in_proj_weight = g.cross_attn.out_proj_weight = NULL;
    g.w1 = g.w2 = NULL;
    size_t n = 0;
    if (isfinite(blk_loss(b))) {
        for (size_t i = 0; i < b->ns; i++) b->scratch[i] = NAN;
        memset(b->dx, 0, b->nx * sizeof *b->dx);
        if (b->dmem) memset(b->dmem, 0, b->nm * sizeof *b->dmem);
        for (int j = 0; j < ZY_BLOCK_LINEARS; j++)
            for (int q = 0; q < b->lora.n[j]; q++) {
                const zy_lora *a = &b->lora.a[j][q];
                memset(a->dA, 0, (size_t)a->r * a->in * sizeof(float));
                memset(a->dB, 0, (size_t)a->rows * a->r * sizeof(float));
            }
        if (zy_block_backward(b->dx, b->dmem, &g, b->scratch, b->ns, b->wy, b->acts, b->x,
                              b->mem, &b->p, &b->c))
            zt_fail(__FILE__, __LINE__, "block backward: %s", zy_last_error());
    }
#define PUT(p, k) (memcpy(out + n, (p), (k) * sizeof(float)), n += (k))
    PUT(b->y, b->nx);
    PUT(b->dx, b->nx);
    if (b->dmem) PUT(b->dmem, b->nm);
    PUT(grads, b->np);
    for (int j = 0; j < ZY_BLOCK_LINEARS; j++)
        for (int q = 0; q < b->lora.n[j]; q++) {
            const zy_lora *a = &b->lora.a[j][q];
            PUT(a->dA, (size_t)a->r * a->in);
            PUT(a->dB, (size_t)a->rows * a->r);
        }
#undef PUT
    free(grads);
    return n;
}

// A block whose frozen weights are marked (frozen_linears) saves less: the inputs only
// those weights' gradients read (pre-LN the layernorm outputs feeding frozen, unadapted
// in-projections and w1; post-LN the attention output feeding a frozen w1; the FF
// activation feeding a frozen, unadapted w2) stay in the forward scratch. Output, input
// gradients, the biases' and layernorms' gradients and the adapters' are the same bit
// for bit as when every input is kept, on a post-LN encoder and a pre-LN decoder with
// cross-attention, with and without dropout on the FF hidden layer, for adapters on
// c_attn alone (GPT-2's PEFT default), on the other linear layers, and none. With hidden
// dropout the activation itself is never saved (its dropped copy is w2's input). The same
// on a post-LN encoder with ReLU, whose activation shares u's buffer (its sign is all
// backward needs): without hidden dropout it saves one (N, FF) buffer less than GELU.
TEST(lora_block_frozen_inputs_not_saved) {
    const unsigned all = (1u << ZY_BLOCK_LINEARS) - 1;
    const unsigned sets[3] = {1u << ZY_BLOCK_SELF_IN,
                              all & ~(1u << ZY_BLOCK_SELF_IN) & ~(1u << ZY_BLOCK_CROSS_OUT), 0};
    for (int form = 0; form < 3; form++)
        for (int si = 0; si < 3; si++)
            for (int hid = 0; hid < 2; hid++) {
                blk b;
                blk_init(&b, form == 1 ? ZY_BLOCK_DECODER : ZY_BLOCK_ENCODER, form == 1,
                         form == 1, form != 1);
                if (form == 2) b.c.act = ZY_BLOCK_RELU;
                zy_block_lora adapters = b.lora;
                for (int j = 0; j < ZY_BLOCK_LINEARS; j++)
                    if (!(sets[si] >> j & 1u)) b.lora.n[j] = 0;
                b.c.dropout = (zy_block_dropout){0.1f, 0.1f, hid ? 0.15f : 0.0f, 0.2f, 0.25f};
                b.c.seed = 41;
                size_t cap = 4 * b.nx + 2 * b.nm + b.np + 4096;
                float *want = zt_floats(cap), *got = zt_floats(cap);
                size_t n0 = frozen_run(&b, 0, want);
                const size_t kept = zy_block_acts_floats(&b.c);
                size_t n1 = frozen_run(&b, all, got);
                const size_t saved = zy_block_acts_floats(&b.c);
                char what[64];
                snprintf(what, sizeof what, "%s, adapters %d, hidden dropout %d",
                         form == 1 ? "pre-LN decoder" : form ? "ReLU encoder" : "post-LN encoder",
                         si, hid);
                CHECK(n0 == n1 && n0 <= cap);
                if (memcmp(want, got, n0 * sizeof *want))
                    zt_fail(__FILE__, __LINE__, "%s: results differ", what);
                // post-LN with w1 adapted keeps everything; any other case saves less
                bool less = form == 1 || sets[si] != sets[1];
                if (less ? saved >= kept : saved != kept)
                    zt_fail(__FILE__, __LINE__, "%s: %zu floats saved, %zu when all kept", what,
                            saved, kept);
                if (hid && form < 2) { // Drop(a) replaces a: hidden dropout saves no more
                    zy_block_config c = b.c;
                    c.dropout.ff_hidden = 0.0f;
                    c.frozen_linears = 0;
                    b.c.frozen_linears = 0;
                    CHECK(zy_block_acts_floats(&c) == zy_block_acts_floats(&b.c));
                }
                if (!hid && form == 2) { // ReLU's a in u's buffer
                    zy_block_config c = b.c;
                    c.act = ZY_BLOCK_GELU_ERF;
                    c.frozen_linears = b.c.frozen_linears = 0;
                    const size_t nf = ((size_t)c.B * c.T * c.FF + 15) & ~(size_t)15; // rounded
                    CHECK(zy_block_acts_floats(&b.c) + nf == zy_block_acts_floats(&c));
                }
                free(want), free(got);
                b.lora = adapters;
                blk_free(&b);
            }
}

// A gradient for a weight the config marks frozen is refused (forward may not have kept
// its input), naming the layer; bits past the six linear layers are refused.
TEST(lora_block_frozen_linears_checked) {
    blk b;
    blk_init(&b, ZY_BLOCK_DECODER, true, true, false);
    b.lora.n[ZY_BLOCK_FF2] = 0;
    b.c.frozen_linears = 1u << ZY_BLOCK_FF2;
    blk_alloc(&b);
    float *grads = zt_floats(b.np);
    zy_block_params g;
    zy_block_params_init(&g, grads, &b.c);
    ASSERT(zy_block_forward(b.y, b.acts, b.scratch, b.ns, b.x, b.mem, &b.p, &b.c) == 0);
    CHECK(zy_block_backward(b.dx, b.dmem, &g, b.scratch, b.ns, b.wy, b.acts, b.x, b.mem, &b.p,
                            &b.c) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "FF w2") != NULL);
    CHECK(zy_block_frozen_linears(&g) == 0);
    g.w2 = NULL;
    CHECK(zy_block_frozen_linears(&g) == 1u << ZY_BLOCK_FF2);
    CHECK(zy_block_frozen_linears(NULL) == (1u << ZY_BLOCK_LINEARS) - 1);
    CHECK(zy_block_backward(b.dx, b.dmem, &g, b.scratch, b.ns, b.wy, b.acts, b.x, b.mem, &b.p,
                            &b.c) == ZY_STATUS_OK);
    b.c.frozen_linears = 1u << ZY_BLOCK_LINEARS;
    CHECK(zy_block_forward(b.y, b.acts, b.scratch, b.ns, b.x, b.mem, &b.p, &b.c) ==
          ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "frozen_linears") != NULL);
    free(grads);
    blk_free(&b);
}
