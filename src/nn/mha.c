// Multi-head attention (PyTorch nn.MultiheadAttention, batch_first): input projections,
// head split, scaled dot-product attention (attention.c), head merge, output projection;
// forward and backward. Self-attention (xq == xkv) runs one fused (3C) projection.
// Parameter layout and the Hugging Face conversions are in mha_params.c; incremental
// decoding with a KV cache is in kv_cache.c.
#include <string.h>

#include "zhuyi/attention.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "core/pool.h"
#include "nn/attention_internal.h"

typedef struct heads_job {
    float *dst;
    const float *src;
    int T, H, hd, ld, col, add;
} heads_job;

static void split_rows(void *ctx, size_t b0, size_t b1, int thread) {
    (void)thread;
    const heads_job *j = ctx;
    for (size_t bh = b0; bh < b1; bh++) {
        size_t b = bh / j->H, h = bh % j->H;
        for (int t = 0; t < j->T; t++)
            memcpy(j->dst + (bh * j->T + t) * j->hd,
                   j->src + (b * j->T + t) * j->ld + j->col + h * j->hd, j->hd * sizeof(float));
    }
}

static void merge_rows(void *ctx, size_t b0, size_t b1, int thread) {
    (void)thread;
    const heads_job *j = ctx;
    for (size_t bh = b0; bh < b1; bh++) {
        size_t b = bh / j->H, h = bh % j->H;
        for (int t = 0; t < j->T; t++) {
            float *o = j->dst + (b * j->T + t) * j->ld + j->col + h * j->hd;
            const float *s = j->src + (bh * j->T + t) * j->hd;
            if (j->add)
                for (int i = 0; i < j->hd; i++) o[i] += s[i];
            else
                memcpy(o, s, j->hd * sizeof *o);
        }
    }
}

// Heads per pool chunk: about ZY__ATTN_PAR_MIN floats, so small copies run inline.
static size_t heads_grain(int T, int hd) {
    return ZY_MAX((size_t)1, ZY__ATTN_PAR_MIN / ((size_t)T * hd + 1));
}

// src rows (B,T) of row stride ld, columns [col, col + H*hd) -> dst (B,H,T,hd)
void zy__mha_split_heads(float *dst, const float *src, int B, int T, int H, int hd, int ld,
                         int col) {
    heads_job j = {dst, src, T, H, hd, ld, col, 0};
    zy__parallel((size_t)B * H, heads_grain(T, hd), 0, split_rows, &j);
}

// src (B,H,T,hd) -> dst rows (B,T) of row stride ld at column col; add != 0 adds
void zy__mha_merge_heads(float *dst, const float *src, int B, int T, int H, int hd, int ld,
                         int col, int add) {
    heads_job j = {dst, src, T, H, hd, ld, col, add};
    zy__parallel((size_t)B * H, heads_grain(T, hd), 0, merge_rows, &j);
}

zy_mha_config zy_mha_default_config(int B, int Tq, int Tk, int C, int H) {
    zy_mha_config c = {0};
    c.B = B;
    c.Tq = Tq;
    c.Tk = Tk;
    c.C = C;
    c.H = H;
    return c;
}

static zy_attn_desc core_desc(const zy_mha_config *c) {
    zy_attn_desc d = zy_attn_default_desc(c->B, c->H, c->Tq, c->Tk, c->C / c->H, c->C / c->H);
    d.causal = c->causal;
    d.key_lengths = c->key_lengths;
    d.bool_mask = c->bool_mask;
    d.add_mask = c->add_mask;
    d.mask_per_head = c->mask_per_head;
    d.dropout = c->dropout;
    d.seed = c->seed;
    d.offset = c->offset;
    return d;
}

// acts: qh (B,H,Tq,hd) | kh (B,H,Tk,hd) | vh (B,H,Tk,hd) | att (B,H,Tq,Tk) | core saved |
//       ctx (B,Tq,C)
typedef struct acts_layout {
    float *qh, *kh, *vh, *att, *saved, *ctx;
} acts_layout;

static acts_layout layout(float *acts, const zy_mha_config *c) {
    zy_attn_desc d = core_desc(c);
    size_t nq = (size_t)c->B * c->Tq * c->C, nk = (size_t)c->B * c->Tk * c->C;
    acts_layout l;
    l.qh = acts;
    l.kh = l.qh + nq;
    l.vh = l.kh + nk;
    l.att = l.vh + nk;
    l.saved = l.att + (size_t)c->B * c->H * c->Tq * c->Tk;
    l.ctx = l.saved + zy_attn_saved_floats(&d);
    return l;
}

size_t zy_mha_acts_floats(const zy_mha_config *c) {
    zy_attn_desc d = core_desc(c);
    size_t nq = (size_t)c->B * c->Tq * c->C, nk = (size_t)c->B * c->Tk * c->C;
    return 2 * nq + 2 * nk + (size_t)c->B * c->H * c->Tq * c->Tk + zy_attn_saved_floats(&d);
}

size_t zy_mha_scratch_floats(const zy_mha_config *c) {
    zy_attn_desc d = core_desc(c);
    size_t nq = (size_t)c->B * c->Tq * c->C, nk = (size_t)c->B * c->Tk * c->C;
    size_t proj = nq + 2 * nk; // (B,T,3C) for self, (B,Tq,C) + (B,Tk,2C) for cross
    size_t fwd = proj + nq;    // + head outputs before the merge
    // dctx, dheads-out, core scratch, dqh, dkh, dvh, dproj
    size_t bwd = nq + nq + zy_attn_scratch_floats(&d) + nq + 2 * nk + proj;
    return ZY_MAX(fwd, bwd);
}

float *zy_mha_attention_weights(float *acts, const zy_mha_config *c) {
    return layout(acts, c).att;
}

static zy_status validate(const zy_mha_config *c, const float *xq, const float *xkv) {
    if (c->B <= 0 || c->Tq <= 0 || c->Tk < 0 || c->C <= 0 || c->H <= 0 || c->C % c->H)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "mha: bad config B=%d Tq=%d Tk=%d C=%d H=%d (C %% H must be 0)",
                         c->B, c->Tq, c->Tk, c->C, c->H);
    if (xq == xkv && c->Tq != c->Tk)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "mha: self-attention (xq == xkv) needs Tq == Tk (%d != %d)", c->Tq,
                         c->Tk);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "mha: dropout %g not in [0, 1)",
                         (double)c->dropout);
    return ZY_STATUS_OK;
}

zy_status zy_mha_forward(float *out, float *acts, float *scratch, const float *xq,
                         const float *xkv, const zy_mha_params *p, const zy_mha_config *c) {
    zy_status st = validate(c, xq, xkv);
    if (st != ZY_STATUS_OK) return st;
    int B = c->B, Tq = c->Tq, Tk = c->Tk, C = c->C, H = c->H, hd = C / H;
    acts_layout l = layout(acts, c);
    size_t nq = (size_t)B * Tq * C, nk = (size_t)B * Tk * C;
    float *proj = scratch, *oh = scratch + nq + 2 * nk;
    if (xq == xkv) {
        zy_linear_forward(proj, xq, p->in_proj_weight, p->in_proj_bias, B * Tq, C, 3 * C);
        zy__mha_split_heads(l.qh, proj, B, Tq, H, hd, 3 * C, 0);
        zy__mha_split_heads(l.kh, proj, B, Tk, H, hd, 3 * C, C);
        zy__mha_split_heads(l.vh, proj, B, Tk, H, hd, 3 * C, 2 * C);
    } else {
        float *pkv = proj + nq;
        zy_linear_forward(proj, xq, p->in_proj_weight, p->in_proj_bias, B * Tq, C, C);
        zy_linear_forward(pkv, xkv, p->in_proj_weight + (size_t)C * C, p->in_proj_bias + C,
                          B * Tk, C, 2 * C);
        zy__mha_split_heads(l.qh, proj, B, Tq, H, hd, C, 0);
        zy__mha_split_heads(l.kh, pkv, B, Tk, H, hd, 2 * C, 0);
        zy__mha_split_heads(l.vh, pkv, B, Tk, H, hd, 2 * C, C);
    }
    zy_attn_desc d = core_desc(c);
    st = zy_attn_forward(oh, l.att, l.saved, l.qh, l.kh, l.vh, NULL, &d);
    if (st != ZY_STATUS_OK) return st;
    zy__mha_merge_heads(l.ctx, oh, B, Tq, H, hd, C, 0, 0);
    zy_linear_forward(out, l.ctx, p->out_proj_weight, p->out_proj_bias, B * Tq, C, C);
    return ZY_STATUS_OK;
}

void zy_mha_backward(float *dxq, float *dxkv, const zy_mha_params *dp, float *scratch,
                     const float *dout, float *acts, const float *xq, const float *xkv,
                     const zy_mha_params *p, const zy_mha_config *c) {
    int B = c->B, Tq = c->Tq, Tk = c->Tk, C = c->C, H = c->H, hd = C / H;
    acts_layout l = layout(acts, c);
    zy_attn_desc d = core_desc(c);
    size_t nq = (size_t)B * Tq * C, nk = (size_t)B * Tk * C;
    float *dctx = scratch, *doh = dctx + nq, *core = doh + nq;
    float *dqh = core + zy_attn_scratch_floats(&d), *dkh = dqh + nq, *dvh = dkh + nk;
    float *dproj = dvh + nk;

    memset(dctx, 0, nq * sizeof *dctx);
    zy_linear_backward(dctx, dp->out_proj_weight, dp->out_proj_bias, dout, l.ctx,
                       p->out_proj_weight, B * Tq, C, C);
    zy__mha_split_heads(doh, dctx, B, Tq, H, hd, C, 0);
    memset(dqh, 0, (nq + 2 * nk) * sizeof *dqh); // dqh, dkh, dvh are adjacent
    zy_attn_backward(dqh, dkh, dvh, NULL, core, doh, l.att, l.saved, l.qh, l.kh, l.vh, NULL,
                     &d);
    if (xq == xkv) {
        zy__mha_merge_heads(dproj, dqh, B, Tq, H, hd, 3 * C, 0, 0);
        zy__mha_merge_heads(dproj, dkh, B, Tk, H, hd, 3 * C, C, 0);
        zy__mha_merge_heads(dproj, dvh, B, Tk, H, hd, 3 * C, 2 * C, 0);
        // dxq and dxkv are the one input's gradient: it is added once, into dxq (or into
        // dxkv when dxq is NULL).
        zy_linear_backward(dxq ? dxq : dxkv, dp->in_proj_weight, dp->in_proj_bias, dproj, xq,
                           p->in_proj_weight, B * Tq, C, 3 * C);
    } else {
        float *dpkv = dproj + nq;
        zy__mha_merge_heads(dproj, dqh, B, Tq, H, hd, C, 0, 0);
        zy__mha_merge_heads(dpkv, dkh, B, Tk, H, hd, 2 * C, 0, 0);
        zy__mha_merge_heads(dpkv, dvh, B, Tk, H, hd, 2 * C, C, 0);
        zy_linear_backward(dxq, dp->in_proj_weight, dp->in_proj_bias, dproj, xq,
                           p->in_proj_weight, B * Tq, C, C);
        zy_linear_backward(dxkv, dp->in_proj_weight ? dp->in_proj_weight + (size_t)C * C : NULL,
                           dp->in_proj_bias ? dp->in_proj_bias + C : NULL, dpkv, xkv,
                           p->in_proj_weight + (size_t)C * C, B * Tk, C, 2 * C);
    }
}
