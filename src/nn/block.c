// Transformer encoder and decoder blocks (PyTorch nn.TransformerEncoderLayer /
// nn.TransformerDecoderLayer, batch_first; GPT-2's block is the pre-LN decoder without
// cross-attention), forward pass. The sublayer chain and the saved activations are laid
// out in block_layout.c; backward is block_backward.c, cached decoding block_decode.c.
//
// What keeps it lean (the same as GPT's own layer code, and a little less): attention
// reads q, k, v in place from one fused projection and writes the heads side by side, so
// nothing is split or merged; output projections are GEMMs with beta = 0 whose bias is
// added in the one pass that also does the residual sum and the dropout (skipped when its
// probability is 0); the FF hidden layer is saved once more only when it has dropout; the
// last sublayer writes the caller's y, which the next block reads as its x. Not here:
// embeddings, the final LN of a pre-LN stack, heads.
#include <string.h>

#include "zhuyi/attention.h"
#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "core/pool.h"
#include "nn/block_internal.h"

// ---- residual + bias + dropout, one pass ------------------------------------------------
typedef struct residual_job {
    float *out;
    const float *a, *br, *bias;
    int C;
    float p;
    uint64_t seed, offset;
} residual_job;

static void residual_rows(void *ctx, size_t r0, size_t r1, int thread) {
    (void)thread;
    const residual_job *j = ctx;
    const int C = j->C;
    const float scale = j->p > 0.0f ? 1.0f / (1.0f - j->p) : 1.0f;
    for (size_t r = r0; r < r1; r++) {
        float *o = j->out + r * C;
        const float *a = j->a + r * C, *br = j->br + r * C, *b = j->bias;
        if (j->p <= 0.0f) {
            if (b)
                for (int c = 0; c < C; c++) o[c] = a[c] + (br[c] + b[c]);
            else
                for (int c = 0; c < C; c++) o[c] = a[c] + br[c];
            continue;
        }
        const uint64_t row = j->offset + r * C;
        for (int c = 0; c < C; c++) {
            float v = br[c] + (b ? b[c] : 0.0f);
            o[c] = a[c] + (zy_dropout_keep(j->p, j->seed, row + c) ? v * scale : 0.0f);
        }
    }
}

void zy__block_residual(float *out, const float *a, const float *br, const float *bias,
                        size_t N, int C, float p, uint64_t seed, uint64_t offset) {
    residual_job j = {out, a, br, bias, C, p, seed, offset};
    // rows per chunk: ~16K floats without dropout, ~2K with (a hash per element)
    size_t per = p > 0.0f ? 2048 : 16384;
    zy__parallel(N, ZY_MAX((size_t)1, per / (size_t)C), 0, residual_rows, &j);
}

// ---- one sublayer's branch: br (N,C) = S(in) before the output bias ----------------------
static zy_status branch_forward(float *br, float *core, size_t core_floats,
                                const zy__block_sub *s, const float *in, const float *mem,
                                const zy_block_params *p, const zy_block_config *c) {
    const int N = c->B * c->T, C = c->C, FF = c->FF;
    if (s->kind == ZY__SUB_FF) {
        const size_t nf = (size_t)N * FF;
        zy_linear_forward(s->u, in, p->w1, p->b1, N, C, FF);
        if (c->act == ZY_BLOCK_RELU)
            zy_relu_forward(s->a, s->u, nf);
        else
            zy_gelu_forward(s->a, s->u, nf,
                            c->act == ZY_BLOCK_GELU_TANH ? ZY_GELU_TANH : ZY_GELU_ERF);
        const float *h = s->a;
        if (s->ad) {
            zy_dropout_forward(s->ad, s->a, nf, c->dropout.ff_hidden,
                               zy__block_seed(c, ZY__SITE_FF_HIDDEN), c->offset);
            h = s->ad;
        }
        zy_sgemm(false, true, N, C, FF, 1.0f, h, FF, p->w2, FF, 0.0f, br, C);
        return ZY_STATUS_OK;
    }
    const bool self = s->kind == ZY__SUB_SELF;
    zy_mha_config m = zy__block_mha_config(c, s->kind);
    zy_status st = zy__mha_attend(&s->mha_acts, core, core_floats, in, self ? in : mem, self,
                                  s->mha, &m);
    if (st != ZY_STATUS_OK) return st;
    zy_sgemm(false, true, N, C, C, 1.0f, s->mha_acts.ctx, C, s->wout, C, 0.0f, br, C);
    return ZY_STATUS_OK;
}

zy_status zy_block_forward(float *y, float *acts, float *scratch, size_t scratch_floats,
                           const float *x, const float *mem, const zy_block_params *p,
                           const zy_block_config *c) {
    zy_status st = zy__block_validate(c, mem, "block forward");
    if (st != ZY_STATUS_OK) return st;
    const size_t N = (size_t)c->B * c->T, n = N * c->C, head = zy__round16(n);
    if (!scratch || scratch_floats < head)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "block forward: scratch of %zu floats, need at least %zu",
                         scratch ? scratch_floats : (size_t)0, head);
    zy__block_sub subs[3];
    const int ns = zy__block_subs(subs, acts, NULL, p, c);
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
