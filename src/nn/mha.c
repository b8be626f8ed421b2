// Multi-head attention (PyTorch nn.MultiheadAttention, batch_first): input projections,
// the attention core, output projection; forward and backward. Self-attention (xq == xkv)
// runs one fused (3C) projection; cross-attention a (C) projection of the queries and a
// (2C) one of the keys/values. The cores read q, k and v in place from the projection
// rows and write the heads side by side into ctx (B, Tq, C), so there is no head split or
// merge. The tiled core runs unless the weights are wanted or a mask needs the plain one.
// Parameter layout and the Hugging Face conversions are in mha_params.c; decoding with a
// KV cache is in kv_cache.c; the split below mha_internal.h serves the blocks.
#include <string.h>

#include "zhuyi/attention.h"
#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "core/pool.h"
#include "nn/attention_internal.h"
#include "nn/mha_internal.h"

zy_mha_config zy_mha_default_config(int B, int Tq, int Tk, int C, int H) {
    zy_mha_config c = {0};
    c.C = C;
    c.attn = zy_attn_default_desc(B, H, Tq, Tk, H > 0 ? C / H : 0, H > 0 ? C / H : 0);
    return c;
}

bool zy_mha_uses_tiled(const zy_mha_config *c) {
    return !c->need_weights && zy__attn_is_dot(&c->attn) && !c->attn.bool_mask &&
           !c->attn.add_mask;
}

zy_attn_desc zy__mha_desc(const zy_mha_config *c, bool self) {
    zy_attn_desc d = c->attn;
    int C = c->C, hd = d.H > 0 ? C / d.H : 0;
    d.Dq = d.Dk = d.Dv = hd;
    if (self) {
        d.q_layout = d.k_layout = d.v_layout = zy_attn_layout_rows(d.Tq, hd, 3 * C);
    } else {
        d.q_layout = zy_attn_layout_rows(d.Tq, hd, C);
        d.k_layout = d.v_layout = zy_attn_layout_rows(d.Tk, hd, 2 * C);
    }
    d.out_layout = zy_attn_layout_rows(d.Tq, hd, C);
    return d;
}

zy_status zy__mha_validate(const zy_mha_config *c, bool self, const char *who) {
    const zy_attn_desc *a = &c->attn;
    if (a->B <= 0 || a->Tq <= 0 || a->Tk < 0 || c->C <= 0 || a->H <= 0 || c->C % a->H)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: bad config B=%d Tq=%d Tk=%d C=%d H=%d (C %% H must be 0)", who,
                         a->B, a->Tq, a->Tk, c->C, a->H);
    if (self && a->Tq != a->Tk)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: self-attention (xq == xkv) needs Tq == Tk (%d != %d)", who,
                         a->Tq, a->Tk);
    if (!zy__attn_is_dot(a))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: score %d: multi-head attention is DOT or SCALED_DOT", who,
                         (int)a->score);
    zy_attn_desc d = zy__mha_desc(c, self);
    return zy__attn_validate(&d, who);
}

size_t zy__mha_carve(zy__mha_acts *a, float *base, const zy_mha_config *c, bool self) {
    const zy_attn_desc *d = &c->attn;
    size_t nq = (size_t)d->B * d->Tq * c->C, nk = (size_t)d->B * d->Tk * c->C, off = 0;
#define TAKE(n) (base ? base + (off += zy__round16(n), off - zy__round16(n)) \
                      : (off += zy__round16(n), NULL))
    zy__mha_acts z = {0};
    // ctx and the core's buffers first: where the weights sit does not depend on self
    z.ctx = TAKE(nq);
    if (zy_mha_uses_tiled(c)) {
        z.lse = TAKE((size_t)d->B * d->H * d->Tq);
    } else {
        zy_attn_desc cd = zy__mha_desc(c, self);
        z.att = TAKE((size_t)d->B * d->H * d->Tq * d->Tk);
        size_t ns = zy_attn_saved_floats(&cd);
        z.saved = ns ? TAKE(ns) : NULL;
    }
    if (self) {
        z.projq = TAKE(3 * nq);
    } else {
        z.projq = TAKE(nq);
        z.projkv = TAKE(2 * nk);
    }
#undef TAKE
    if (a) *a = z;
    return off;
}

size_t zy__mha_core_scratch_floats(const zy_mha_config *c, bool self) {
    zy_attn_desc d = zy__mha_desc(c, self);
    if (zy_mha_uses_tiled(c))
        return zy__round16(zy_flash_scratch_floats(&d)) * (size_t)zy__parallel_threads();
    return zy_attn_scratch_floats(&d);
}

size_t zy__mha_attend_backward_floats(const zy_mha_config *c, bool self) {
    const zy_attn_desc *d = &c->attn;
    size_t nq = (size_t)d->B * d->Tq * c->C, nk = (size_t)d->B * d->Tk * c->C;
    size_t dproj = self ? zy__round16(3 * nq) : zy__round16(nq) + zy__round16(2 * nk);
    return dproj + zy__mha_core_scratch_floats(c, self);
}

// The cores' q, k, v pointers inside the saved projections.
static void qkv(const zy__mha_acts *a, bool self, int C, const float **q, const float **k,
                const float **v) {
    *q = a->projq;
    *k = self ? a->projq + C : a->projkv;
    *v = self ? a->projq + 2 * C : a->projkv + C;
}

zy_status zy__mha_attend(const zy__mha_acts *a, float *scratch, size_t scratch_floats,
                         const float *xq, const float *xkv, bool self, const zy_mha_params *p,
                         const zy_mha_config *c, const zy__lora_run *lora) {
    const int B = c->attn.B, Tq = c->attn.Tq, Tk = c->attn.Tk, C = c->C;
    if (self) {
        zy_linear_forward(a->projq, xq, p->in_proj_weight, p->in_proj_bias, B * Tq, C, 3 * C);
        zy__lora_run_forward(lora, a->projq, 3 * C, 0, 3 * C, xq, B * Tq);
    } else {
        zy_linear_forward(a->projq, xq, p->in_proj_weight, p->in_proj_bias, B * Tq, C, C);
        zy_linear_forward(a->projkv, xkv, p->in_proj_weight + (size_t)C * C,
                          p->in_proj_bias + C, B * Tk, C, 2 * C);
        zy__lora_run_forward(lora, a->projq, C, 0, C, xq, B * Tq);
        zy__lora_run_forward(lora, a->projkv, 2 * C, C, 3 * C, xkv, B * Tk);
    }
    zy_attn_desc d = zy__mha_desc(c, self);
    const float *q, *k, *v;
    qkv(a, self, C, &q, &k, &v);
    if (zy_mha_uses_tiled(c))
        return zy_flash_forward(a->ctx, a->lse, q, k, v, &d, scratch, scratch_floats);
    return zy_attn_forward(a->ctx, a->att, a->saved, q, k, v, NULL, &d);
}

zy_status zy__mha_attend_backward(float *dxq, float beta, float *dxkv, const zy_mha_params *dp,
                                  float *scratch, size_t scratch_floats, const float *dctx,
                                  const zy__mha_acts *a, const float *xq, const float *xkv,
                                  bool self, const zy_mha_params *p, const zy_mha_config *c,
                                  const zy__lora_run *lora) {
    const int B = c->attn.B, Tq = c->attn.Tq, Tk = c->attn.Tk, C = c->C;
    const size_t nq = (size_t)B * Tq * C, nk = (size_t)B * Tk * C;
    const size_t ndproj = self ? zy__round16(3 * nq) : zy__round16(nq) + zy__round16(2 * nk);
    zy_attn_desc d = zy__mha_desc(c, self);
    const bool tiled = zy_mha_uses_tiled(c);
    size_t core_min = tiled ? zy_flash_scratch_floats(&d) : zy_attn_scratch_floats(&d);
    if (scratch_floats < ndproj + core_min)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "mha backward: scratch of %zu floats, need at least %zu", scratch_floats,
                         ndproj + core_min);
    // dq | dk | dv as the cores write them: into one (B,Tq,3C) buffer (self), or (B,Tq,C)
    // and (B,Tk,2C) (cross), the layouts of the projections they came from. The tiled core
    // writes every row; the plain one adds, into zeros.
    float *dproj = scratch, *dprojkv = self ? NULL : scratch + zy__round16(nq);
    float *core = scratch + ndproj;
    const float *q, *k, *v;
    qkv(a, self, C, &q, &k, &v);
    float *dq = dproj, *dk = self ? dproj + C : dprojkv, *dv = self ? dproj + 2 * C : dprojkv + C;
    if (tiled) {
        zy_status st = zy__flash_backward_assign(dq, dk, dv, dctx, q, k, v, a->ctx, a->lse, &d,
                                                 core, scratch_floats - ndproj);
        if (st != ZY_STATUS_OK) return st;
    } else {
        memset(dproj, 0, (self ? 3 * nq : nq) * sizeof *dproj);
        if (!self) memset(dprojkv, 0, 2 * nk * sizeof *dprojkv);
        zy_attn_backward(dq, dk, dv, NULL, core, dctx, a->att, a->saved, q, k, v, NULL, &d);
    }
    const float *W = p->in_proj_weight;
    float *dW = dp ? dp->in_proj_weight : NULL, *db = dp ? dp->in_proj_bias : NULL;
    if (self) {
        if (dxq) zy_sgemm(false, false, B * Tq, C, 3 * C, 1.0f, dproj, 3 * C, W, C, beta, dxq, C);
        zy_linear_backward(NULL, dW, db, dproj, xq, W, B * Tq, C, 3 * C);
        zy__lora_run_backward(lora, dxq, dproj, 3 * C, 0, 3 * C, xq, B * Tq);
        return ZY_STATUS_OK;
    }
    if (dxq) zy_sgemm(false, false, B * Tq, C, C, 1.0f, dproj, C, W, C, beta, dxq, C);
    zy_linear_backward(NULL, dW, db, dproj, xq, W, B * Tq, C, C);
    zy__lora_run_backward(lora, dxq, dproj, C, 0, C, xq, B * Tq);
    const float *Wkv = W + (size_t)C * C;
    if (dxkv) zy_sgemm(false, false, B * Tk, C, 2 * C, 1.0f, dprojkv, 2 * C, Wkv, C, 1.0f, dxkv, C);
    zy_linear_backward(NULL, dW ? dW + (size_t)C * C : NULL, db ? db + C : NULL, dprojkv, xkv,
                       Wkv, B * Tk, C, 2 * C);
    zy__lora_run_backward(lora, dxkv, dprojkv, 2 * C, C, 3 * C, xkv, B * Tk);
    return ZY_STATUS_OK;
}

// ---- the public module --------------------------------------------------------------------
// acts and scratch sizes do not depend on self vs cross: with Tq == Tk the fused (3C)
// projection is as large as the (C) + (2C) pair.
size_t zy_mha_acts_floats(const zy_mha_config *c) { return zy__mha_carve(NULL, NULL, c, false); }

size_t zy_mha_scratch_floats(const zy_mha_config *c) {
    size_t nq = (size_t)c->attn.B * c->attn.Tq * c->C;
    return zy__round16(nq) + zy__mha_attend_backward_floats(c, false);
}

const float *zy_mha_attention_weights(const float *acts, const zy_mha_config *c) {
    zy__mha_acts a;
    zy__mha_carve(&a, (float *)acts, c, false); // att's place is the same for self
    return a.att;
}

zy_status zy_mha_forward(float *out, float *acts, float *scratch, size_t scratch_floats,
                         const float *xq, const float *xkv, const zy_mha_params *p,
                         const zy_mha_config *c) {
    const bool self = xq == xkv;
    zy_status st = zy__mha_validate(c, self, "mha");
    if (st != ZY_STATUS_OK) return st;
    zy__mha_acts a;
    zy__mha_carve(&a, acts, c, self);
    if ((st = zy__mha_attend(&a, scratch, scratch_floats, xq, xkv, self, p, c, NULL))) return st;
    const int C = c->C;
    zy_linear_forward(out, a.ctx, p->out_proj_weight, p->out_proj_bias, c->attn.B * c->attn.Tq,
                      C, C);
    return ZY_STATUS_OK;
}

zy_status zy_mha_backward(float *dxq, float *dxkv, const zy_mha_params *dp, float *scratch,
                          size_t scratch_floats, const float *dout, const float *acts,
                          const float *xq, const float *xkv, const zy_mha_params *p,
                          const zy_mha_config *c) {
    const bool self = xq == xkv;
    zy_status st = zy__mha_validate(c, self, "mha backward");
    if (st != ZY_STATUS_OK) return st;
    const int C = c->C, N = c->attn.B * c->attn.Tq;
    const size_t ndctx = zy__round16((size_t)N * C);
    if (scratch_floats < ndctx)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "mha backward: scratch of %zu floats",
                         scratch_floats);
    zy__mha_acts a;
    zy__mha_carve(&a, (float *)acts, c, self);
    // out = ctx·Woᵀ + bo: dctx = dout·Wo (written), dWo += doutᵀ·ctx, dbo += Σ dout
    float *dctx = scratch;
    zy_sgemm(false, false, N, C, C, 1.0f, dout, C, p->out_proj_weight, C, 0.0f, dctx, C);
    zy_linear_backward(NULL, dp ? dp->out_proj_weight : NULL, dp ? dp->out_proj_bias : NULL,
                       dout, a.ctx, p->out_proj_weight, N, C, C);
    // Self-attention: the one input's gradient goes once, into dxq (or dxkv).
    float *dx_q = self ? (dxq ? dxq : dxkv) : dxq;
    return zy__mha_attend_backward(dx_q, 1.0f, self ? NULL : dxkv, dp, scratch + ndctx,
                                   scratch_floats - ndctx, dctx, &a, xq, xkv, self, p, c, NULL);
}

// ---- head split / merge (heads-outer copies for callers that want them) ----------------------
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
