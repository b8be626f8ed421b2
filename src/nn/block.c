// Transformer encoder and decoder blocks (PyTorch nn.TransformerEncoderLayer /
// nn.TransformerDecoderLayer, batch_first; GPT-2's block is the pre-LN decoder without
// cross-attention), forward pass. The sublayer chain and the saved activations are laid
// out in block_layout.c; backward is block_backward.c, cached decoding block_decode.c.
//
// What keeps it lean (the same as GPT's own layer code, and a little less): attention
// reads q, k, v in place from one fused projection and writes the heads side by side, so
// nothing is split or merged; output projections are GEMMs with beta = 0 whose bias is
// added in the one pass that also does the residual sum and the dropout (skipped when its
// probability is 0); of the FF hidden layer only w2's input is saved (with dropout the
// dropped copy, the activation staying in scratch), and inputs only a frozen weight's
// gradient would read are not saved at all (c->frozen_linears: in scratch); the last
// sublayer writes the caller's y, which the next block reads as its x. LoRA adapters
// (c->lora) add their low-rank products into each linear layer's output right after its
// GEMM (lora.c; the in-projection's inside mha.c, before the core). Not here: embeddings,
// the final LN of a pre-LN stack, heads.
#include <string.h>

#include "zhuyi/attention.h"
#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "core/pool.h"
#include "nn/activation.h"
#include "nn/block_internal.h"

// ---- residual + bias + dropout, one pass ------------------------------------------------
typedef struct residual_job {
    float *out, *br;
    const float *a, *bias;
    int C;
    float p;
    uint64_t seed, offset;
} residual_job;

// rows [r0, r1): br += bias, br = Drop(br) (zy_dropout_forward on the chunk, in L1), out =
// a + br. br is the caller's scratch branch output, overwritten.
static void residual_rows(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const residual_job *j = ctx;
    const size_t C = (size_t)j->C, lo = r0 * C, n = (r1 - r0) * C;
    float *o = j->out + lo, *br = j->br + lo;
    const float *a = j->a + lo, *b = j->bias;
    if (j->p <= 0.0f) {
        if (b)
            for (size_t r = 0; r < r1 - r0; r++)
                for (size_t c = 0; c < C; c++) o[r * C + c] = a[r * C + c] + (br[r * C + c] + b[c]);
        else
            for (size_t i = 0; i < n; i++) o[i] = a[i] + br[i];
        return;
    }
    if (b)
        for (size_t r = 0; r < r1 - r0; r++)
            for (size_t c = 0; c < C; c++) br[r * C + c] += b[c];
    zy_dropout_forward(br, br, n, j->p, j->seed, j->offset + lo);
    for (size_t i = 0; i < n; i++) o[i] = a[i] + br[i];
}

void zy__block_residual(float *out, const float *a, float *br, const float *bias, size_t N,
                        int C, float p, uint64_t seed, uint64_t offset) {
    residual_job j = {out, br, a, bias, C, p, seed, offset};
    // rows per chunk: ~16K floats without dropout, ~2K with (a hash per element)
    size_t per = p > 0.0f ? 2048 : 16384;
    zy__parallel(N, ZY_MAX((size_t)1, per / (size_t)C), 0, residual_rows, &j);
}

// ---- the FF activation, bias folded in ------------------------------------------------------
// The GELU chunk kernels are zy_gelu_forward/backward's (activation.h), so the results are
// those of zy_linear_forward + zy_gelu_forward bit for bit.
typedef struct act_job {
    float *u, *a, *du;
    const float *b, *da;
    int FF;
    zy_block_act act;
    zy__gelu_fwd_fn fwd;
    zy__gelu_bwd_fn bwd;
} act_job;

// rows [r0, r1): u += b, a = act(u) (forward); du = act'(u) · da (backward)
static void act_rows(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const act_job *j = ctx;
    const size_t FF = (size_t)j->FF, lo = r0 * FF, n = (r1 - r0) * FF;
    float *u = j->u + lo;
    const zy_gelu_kind kind = j->act == ZY_BLOCK_GELU_TANH ? ZY_GELU_TANH : ZY_GELU_ERF;
    if (j->da) { // backward: du = act'(u) · da
        float *du = j->du + lo;
        const float *da = j->da + lo;
        if (j->act == ZY_BLOCK_RELU) {
            for (size_t i = 0; i < n; i++) { // da read either way: a select, not a branch
                float d = da[i];
                du[i] = u[i] > 0.0f ? d : 0.0f;
            }
            return;
        }
        memset(du, 0, n * sizeof *du); // (the kernels below add; du is in cache here)
        if (j->act == ZY_BLOCK_SILU)
            zy__silu_bwd_kernel()(du, da, u, n);
        else
            j->bwd(du, da, u, n, kind);
        return;
    }
    if (j->b)
        for (size_t r = 0; r < r1 - r0; r++)
            for (size_t c = 0; c < FF; c++) u[r * FF + c] += j->b[c];
    float *a = j->a + lo;
    if (j->act == ZY_BLOCK_RELU)
        for (size_t i = 0; i < n; i++) a[i] = u[i] < 0.0f ? 0.0f : u[i];
    else if (j->act == ZY_BLOCK_SILU)
        zy__silu_fwd_kernel()(a, u, n);
    else
        j->fwd(a, u, n, kind);
}

// ~16K elements per chunk (GELU costs ~10 ns each: enough to amortise a chunk)
static size_t act_grain(int FF) { return ZY_MAX((size_t)1, (size_t)16384 / (size_t)FF); }

void zy__block_act_forward(float *a, float *u, const float *b, size_t N, int FF,
                           zy_block_act act) {
    act_job j = {u, a, NULL, b, NULL, FF, act, zy__gelu_fwd_kernel(), NULL};
    zy__parallel(N, act_grain(FF), 0, act_rows, &j);
}

void zy__block_act_backward(float *du, const float *da, const float *u, size_t N, int FF,
                            zy_block_act act) {
    act_job j = {(float *)u, NULL, du, NULL, da, FF, act, NULL, zy__gelu_bwd_kernel()};
    zy__parallel(N, act_grain(FF), 0, act_rows, &j);
}

// ---- one sublayer's branch: br (N,C) = S(in) before the output bias ----------------------
static zy_status branch_forward(float *br, float *core, size_t core_floats,
                                const zy__block_sub *s, const float *in, const float *mem,
                                const zy_block_params *p, const zy_block_config *c) {
    const int N = c->B * c->T, C = c->C, FF = c->FF;
    // the adapters of the sublayer's two linear layers (drop(x) in the core's scratch)
    zy__lora_run lin = zy__block_lora_run(c, s, 0, core), lout = zy__block_lora_run(c, s, 1, core);
    if (s->kind == ZY__SUB_FF) {
        const size_t nf = (size_t)N * FF;
        // u = in·W1ᵀ (beta 0) + the adapters, then u += b1 and a = act(u) in one pass
        zy_sgemm(false, true, N, FF, C, 1.0f, in, C, p->w1, C, 0.0f, s->u, FF);
        zy__lora_run_forward(&lin, s->u, FF, 0, FF, in, N);
        zy__block_act_forward(s->a, s->u, p->b1, (size_t)N, FF, c->act);
        const float *h = s->a;
        if (c->dropout.ff_hidden > 0.0f) { // into ad, or a itself when w2 needs neither
            zy_dropout_forward(s->ad, s->a, nf, c->dropout.ff_hidden,
                               zy__block_seed(c, ZY__SITE_FF_HIDDEN), c->offset);
            h = s->ad;
        }
        zy_sgemm(false, true, N, C, FF, 1.0f, h, FF, p->w2, FF, 0.0f, br, C);
        zy__lora_run_forward(&lout, br, C, 0, C, h, N);
        return ZY_STATUS_OK;
    }
    const bool self = s->kind == ZY__SUB_SELF;
    zy_mha_config m = zy__block_mha_config(c, s->kind);
    zy_status st = zy__mha_attend(&s->mha_acts, core, core_floats, in, self ? in : mem, self,
                                  s->mha, &m, &lin);
    if (st != ZY_STATUS_OK) return st;
    zy_sgemm(false, true, N, C, C, 1.0f, s->mha_acts.ctx, C, s->wout, C, 0.0f, br, C);
    zy__lora_run_forward(&lout, br, C, 0, C, s->mha_acts.ctx, N);
    return ZY_STATUS_OK;
}

zy_status zy_block_forward(float *y, float *acts, float *scratch, size_t scratch_floats,
                           const float *x, const float *mem, const zy_block_params *p,
                           const zy_block_config *c) {
    zy_status st = zy__block_validate(c, mem, "block forward");
    if (st != ZY_STATUS_OK) return st;
    const size_t N = (size_t)c->B * c->T, n = N * c->C, nc = zy__round16(n);
    // scratch: the branch output | the inputs backward does not need | the core's
    zy__block_sub subs[3];
    zy__block_sizes z;
    const int ns = zy__block_subs(subs, acts, scratch ? scratch + nc : NULL, &z, p, c);
    const size_t head = nc + z.unsaved;
    if (!scratch || scratch_floats < head)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "block forward: scratch of %zu floats, need at least %zu",
                         scratch ? scratch_floats : (size_t)0, head);
    float *br = scratch, *core = scratch + head;
    const float *h = x;
    for (int i = 0; i < ns; i++) {
        const zy__block_sub *s = &subs[i];
        float *hout = i == ns - 1 ? y : s->hout;
        const uint64_t seed = zy__block_seed(c, s->out_site);
        const float *in = h;
        if (c->norm_first) {
            zy_layernorm_forward(s->nbuf, s->mean, s->rstd, h, s->lnw, s->lnb, (int)N, c->C,
                                 c->eps);
            in = s->nbuf;
        }
        st = branch_forward(br, core, scratch_floats - head, s, in, mem, p, c);
        if (st != ZY_STATUS_OK) return st;
        if (c->norm_first) {
            zy__block_residual(hout, h, br, s->bout, N, c->C, s->p_out, seed, c->offset);
        } else {
            zy__block_residual(s->nbuf, h, br, s->bout, N, c->C, s->p_out, seed, c->offset);
            zy_layernorm_forward(hout, s->mean, s->rstd, s->nbuf, s->lnw, s->lnb, (int)N, c->C,
                                 c->eps);
        }
        h = hout;
    }
    return ZY_STATUS_OK;
}
