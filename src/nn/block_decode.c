// Decoding through a transformer block with KV caches (attention.h, "decoding through a
// block"): a chunk of new positions of one sequence, or one new position of each of
// several sequences. The same arithmetic as zy_block_forward without dropout, row by row:
// the residual stream h of the new positions goes through each sublayer, the self-
// attention's keys/values of the new positions are written to the cache and every query
// attends its sequence's cache; cross-attention attends the memory cache.
// Products over a few rows are multi-input GEMVs (each weight streamed once for all rows:
// decoding is memory-bound), over more rows GEMMs. LoRA adapters (c->lora) add their
// products after each linear layer, as in forward (no dropout; merging them into the
// weights, zy_model_merge_adapter, saves that cost).
#include <string.h>

#include "zhuyi/attention.h"
#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "kernels/gemm_bias.h"
#include "kernels/gemv.h"
#include "kernels/wgemv.h"
#include "nn/attention_internal.h"
#include "nn/block_internal.h"

// Rows up to which a product is a GEMV: below this a GEMM spends as long packing the
// weights as multiplying them.
#define DEC_GEMV_MAX 8

// in (R, Cin) -> out (R, Cout) = in·Wᵀ + b (b may be NULL) for linear layer j: over its
// typed copy (c->typed) when it has one, else over its fp32 weights W; a GEMV for a few
// rows, a GEMM for more (the typed one decodes W a panel at a time as it packs it, so a
// model that keeps only its typed weights, zy_model_drop_fp32, decodes the same bits).
static void dec_linear(const zy_block_config *c, int j, float *out, const float *in,
                       const float *W, const float *b, int R, int Cin, int Cout) {
    if (c->typed && c->typed[j].data) {
        zy_wmatrix t = c->typed[j]; // its first Cout rows (cross-attention's q of q|k|v)
        t.rows = Cout;
        if (R <= DEC_GEMV_MAX) zy__wgemv(out, Cout, &t, in, Cin, b, R);
        else zy__wgemm(out, Cout, &t, in, Cin, b, R);
    } else if (R <= DEC_GEMV_MAX)
        zy__gemv_multi(out, Cout, W, in, Cin, b, R, Cout, Cin);
    else
        zy_linear_forward(out, in, W, b, R, Cin, Cout);
}

typedef struct dec_bufs {
    float *h, *nrm, *br, *proj, *ctx, *u, *a, *mean, *rstd, *lt, *attn;
    size_t attn_floats;
} dec_bufs;

// The largest rank of the block's adapters (0 without).
static int lora_rmax(const zy_block_config *c) {
    int r = 0;
    for (int j = 0; c->lora && j < ZY_BLOCK_LINEARS; j++)
        for (int k = 0; k < c->lora->n[j]; k++) r = ZY_MAX(r, c->lora->a[j][k].r);
    return r;
}

// The adapters of linear layer j whose columns lie in [lo, hi) on x (R, in): y (R, ·) +=
// (no dropout; each adapter's (R, r) product in t, used once).
static void dec_lora(const zy_block_config *c, int j, float *t, float *y, int ldy, int lo,
                     int hi, const float *x, int R) {
    if (!c->lora || !c->lora->n[j]) return;
    zy__lora_run run = {.n = c->lora->n[j], .a = c->lora->a[j]};
    for (int k = 0; k < run.n; k++) run.t[k] = t;
    zy__lora_run_forward(&run, y, ldy, lo, hi, x, R);
}

static size_t attn_share(const zy_block_config *c, const zy_kv_cache *cache,
                         const zy_kv_cache *mem_cache, int R) {
    size_t a = zy_kv_cache_scratch_floats(cache, R);
    if (mem_cache && zy__block_has_cross(c)) a = ZY_MAX(a, zy_kv_cache_scratch_floats(mem_cache, R));
    return a;
}

// Carves the buffers for R rows (base NULL: counts); returns the floats.
static size_t dec_carve(dec_bufs *d, float *base, const zy_block_config *c,
                        const zy_kv_cache *cache, const zy_kv_cache *mem_cache, int R) {
    const size_t rc = (size_t)R * c->C, rf = (size_t)R * c->FF;
    size_t off = 0;
#define TAKE(k) (base ? base + (off += zy__round16(k), off - zy__round16(k)) \
                      : (off += zy__round16(k), NULL))
    dec_bufs z;
    z.h = TAKE(rc);
    z.nrm = TAKE(rc);
    z.br = TAKE(rc);
    z.proj = TAKE(3 * rc);
    z.ctx = TAKE(rc);
    z.u = TAKE(rf);
    z.a = TAKE(rf);
    z.mean = TAKE((size_t)R);
    z.rstd = TAKE((size_t)R);
    z.lt = TAKE((size_t)R * lora_rmax(c));
    z.attn_floats = attn_share(c, cache, mem_cache, R);
    z.attn = TAKE(z.attn_floats);
#undef TAKE
    if (d) *d = z;
    return off;
}

size_t zy_block_decode_scratch_floats(const zy_block_config *c, const zy_kv_cache *cache,
                                      const zy_kv_cache *mem_cache, int n) {
    size_t s = dec_carve(NULL, NULL, c, cache, mem_cache, n);
    if (mem_cache && zy__block_has_cross(c)) { // zy_block_decode_memory: (Tm, 2C)
        int maxT;
        zy_kv_cache_shape(mem_cache, NULL, NULL, NULL, &maxT, NULL);
        s = ZY_MAX(s, (2 * (size_t)c->C + lora_rmax(c)) * maxT);
    }
    return s;
}

static zy_status check_cache(const zy_kv_cache *k, const zy_block_config *c, int layer,
                             const char *who, const char *which) {
    int layers, H, D;
    zy_kv_cache_shape(k, &layers, NULL, &H, NULL, &D);
    if (H != c->H || H * D != c->C || layer < 0 || layer >= layers)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: %s cache of %d layers x %d heads x %d, block has %d heads of "
                         "C=%d, layer %d",
                         who, which, layers, H, D, c->H, c->C, layer);
    return ZY_STATUS_OK;
}

static zy_status dec_validate(const zy_block_config *c, const zy_kv_cache *cache,
                              const zy_kv_cache *mem_cache, int layer, int n, const char *who) {
    if (c->C <= 0 || c->H <= 0 || c->FF <= 0 || c->C % c->H || n <= 0 || !(c->eps > 0.0f) ||
        (unsigned)c->kind > ZY_BLOCK_DECODER || (unsigned)c->act > ZY_BLOCK_SILU)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: bad config C=%d H=%d FF=%d (C %% H must be 0) or n=%d", who, c->C,
                         c->H, c->FF, n);
    if (c->kind != ZY_BLOCK_DECODER && !c->self_attn.causal)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: an encoder block without causal self-attention cannot decode",
                         who);
    if (!zy__attn_is_dot(&c->self_attn) || !zy__attn_is_dot(&c->cross_attn))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: attention scores must be dot products",
                         who);
    if (!cache) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: no KV cache", who);
    for (int j = 0; c->typed && j < ZY_BLOCK_LINEARS; j++) { // (rows >= out, cols = in)
        const zy_wmatrix *t = &c->typed[j];
        const int in = j == ZY_BLOCK_FF2 ? c->FF : c->C;
        const int out = j == ZY_BLOCK_SELF_IN ? 3 * c->C : j == ZY_BLOCK_FF1 ? c->FF : c->C;
        if (t->data && (t->cols != in || t->rows < out ||
                        t->row_bytes != zy_wtype_row_bytes(t->type, (size_t)in) || !t->row_bytes))
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "%s: typed weight %d is (%d, %d) %s, the layer needs (%d, %d)", who,
                             j, t->rows, t->cols, zy_wtype_name(t->type) ? zy_wtype_name(t->type)
                             : "of no type", out, in);
    }
    zy_status st = zy__block_lora_validate(c, who);
    if (st == ZY_STATUS_OK) st = check_cache(cache, c, layer, who, "self-attention");
    if (st != ZY_STATUS_OK) return st;
    if (zy__block_has_cross(c)) {
        if (!mem_cache)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "%s: the block has cross-attention but no memory cache", who);
        return check_cache(mem_cache, c, layer, who, "memory");
    }
    return ZY_STATUS_OK;
}

// The self-attention's score scale (and the cross-attention's): 0 means 1/√D.
static float desc_scale(const zy_attn_desc *d, int D) {
    if (d->score == ZY_ATTN_DOT) return 1.0f;
    return d->scale != 0.0f ? d->scale : 1.0f / sqrtf((float)D);
}

// R rows: x (R, C) -> y (R, C). seqs NULL: the rows are positions of sequence seq;
// otherwise row i is the next position of sequence seqs[i], attending to memory
// mem_seqs[i] (mem_seqs NULL: seqs[i]).
static zy_status rows_at(float *y, float *scratch, size_t scratch_floats, const float *x,
                         int R, int seq, const int *seqs, const int *mem_seqs, int layer,
                         zy_kv_cache *cache, const zy_kv_cache *mem_cache,
                         const zy_block_params *p, const zy_block_config *c, const char *who) {
    zy_status st = dec_validate(c, cache, mem_cache, layer, R, who);
    if (st != ZY_STATUS_OK) return st;
    dec_bufs d;
    const size_t need = dec_carve(&d, scratch, c, cache, mem_cache, R);
    if (!scratch || scratch_floats < need - d.attn_floats) // the attention checks its share
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: scratch of %zu floats, need %zu", who,
                         scratch ? scratch_floats : (size_t)0, need);
    const size_t attn_floats = scratch_floats - (size_t)(d.attn - scratch);
    const int C = c->C, FF = c->FF, D = C / c->H;
    const size_t rc = (size_t)R * C;
    memcpy(d.h, x, rc * sizeof *d.h);
    zy__block_sub subs[3];
    const int ns = zy__block_subs(subs, NULL, NULL, NULL, p, c);
    for (int i = 0; i < ns; i++) {
        const zy__block_sub *s = &subs[i];
        const float *in = d.h;
        if (c->norm_first) {
            zy_layernorm_forward(d.nrm, d.mean, d.rstd, d.h, s->lnw, s->lnb, R, C, c->eps);
            in = d.nrm;
        }
        if (s->kind == ZY__SUB_FF) {
            dec_linear(c, ZY_BLOCK_FF1, d.u, in, p->w1, p->b1, R, C, FF);
            dec_lora(c, ZY_BLOCK_FF1, d.lt, d.u, FF, 0, FF, in, R);
            zy__block_act_forward(d.a, d.u, NULL, (size_t)R, FF, c->act);
            dec_linear(c, ZY_BLOCK_FF2, d.br, d.a, p->w2, NULL, R, FF, C);
            dec_lora(c, ZY_BLOCK_FF2, d.lt, d.br, C, 0, C, d.a, R);
        } else if (s->kind == ZY__SUB_SELF) {
            const zy_mha_params *m = &p->self_attn;
            const float scale = desc_scale(&c->self_attn, D);
            dec_linear(c, ZY_BLOCK_SELF_IN, d.proj, in, m->in_proj_weight, m->in_proj_bias, R, C,
                       3 * C);
            dec_lora(c, ZY_BLOCK_SELF_IN, d.lt, d.proj, 3 * C, 0, 3 * C, in, R);
            if (seqs) {
                for (int r = 0; r < R; r++) {
                    const float *row = d.proj + (size_t)r * 3 * C;
                    st = zy_kv_cache_write(cache, layer, seqs[r], row + C, row + 2 * C, 1, 3 * C);
                    if (st != ZY_STATUS_OK) return st;
                }
                st = zy_kv_cache_attend_step(cache, layer, seqs, R, true, scale, d.proj, 3 * C,
                                             d.ctx, C, d.attn, attn_floats);
            } else {
                st = zy_kv_cache_write(cache, layer, seq, d.proj + C, d.proj + 2 * C, R, 3 * C);
                if (st != ZY_STATUS_OK) return st;
                st = zy_kv_cache_attend(cache, layer, seq, true, scale, d.proj, 3 * C, R, d.ctx,
                                        C, d.attn, attn_floats);
            }
            if (st != ZY_STATUS_OK) return st;
            dec_linear(c, ZY_BLOCK_SELF_OUT, d.br, d.ctx, m->out_proj_weight, NULL, R, C, C);
            dec_lora(c, ZY_BLOCK_SELF_OUT, d.lt, d.br, C, 0, C, d.ctx, R);
        } else {
            const zy_mha_params *m = &p->cross_attn;
            const float scale = desc_scale(&c->cross_attn, D);
            dec_linear(c, ZY_BLOCK_CROSS_IN, d.proj, in, m->in_proj_weight, m->in_proj_bias, R,
                       C, C);
            dec_lora(c, ZY_BLOCK_CROSS_IN, d.lt, d.proj, C, 0, C, in, R);
            if (seqs)
                st = zy_kv_cache_attend_step(mem_cache, layer, mem_seqs ? mem_seqs : seqs, R,
                                             false, scale, d.proj, C, d.ctx, C, d.attn,
                                             attn_floats);
            else
                st = zy_kv_cache_attend(mem_cache, layer, seq, false, scale, d.proj, C, R,
                                        d.ctx, C, d.attn, attn_floats);
            if (st != ZY_STATUS_OK) return st;
            dec_linear(c, ZY_BLOCK_CROSS_OUT, d.br, d.ctx, m->out_proj_weight, NULL, R, C, C);
            dec_lora(c, ZY_BLOCK_CROSS_OUT, d.lt, d.br, C, 0, C, d.ctx, R);
        }
        if (c->norm_first) {
            zy__block_residual(d.h, d.h, d.br, s->bout, (size_t)R, C, 0.0f, 0, 0);
        } else {
            zy__block_residual(d.nrm, d.h, d.br, s->bout, (size_t)R, C, 0.0f, 0, 0);
            zy_layernorm_forward(d.h, d.mean, d.rstd, d.nrm, s->lnw, s->lnb, R, C, c->eps);
        }
    }
    memcpy(y, d.h, rc * sizeof *y);
    return ZY_STATUS_OK;
}

// rows_at, with a decoding step's products (one position of each of several sequences) in
// fp32 whatever the thread's precision: a few rows are a GEMV, which is fp32 and bound by
// memory anyway, more rows a GEMM, and in bf16 a sequence's tokens would then depend on
// how many others share its steps. A prompt's chunk runs at the thread's precision.
static zy_status decode_rows(float *y, float *scratch, size_t scratch_floats, const float *x,
                             int R, int seq, const int *seqs, const int *mem_seqs, int layer,
                             zy_kv_cache *cache, const zy_kv_cache *mem_cache,
                             const zy_block_params *p, const zy_block_config *c,
                             const char *who) {
    zy_precision was = seqs ? zy_gemm_precision_set(ZY_PRECISION_FP32) : zy_gemm_precision();
    zy_status st = rows_at(y, scratch, scratch_floats, x, R, seq, seqs, mem_seqs, layer, cache,
                           mem_cache, p, c, who);
    zy_gemm_precision_set(was);
    return st;
}

zy_status zy_block_decode(float *y, float *scratch, size_t scratch_floats, const float *x,
                          int n, int seq, int layer, zy_kv_cache *cache,
                          const zy_kv_cache *mem_cache, const zy_block_params *p,
                          const zy_block_config *c) {
    return decode_rows(y, scratch, scratch_floats, x, n, seq, NULL, NULL, layer, cache,
                       mem_cache, p, c, "block decode");
}

zy_status zy_block_decode_step(float *y, float *scratch, size_t scratch_floats, const float *x,
                               const int *seqs, int n, int layer, zy_kv_cache *cache,
                               const zy_kv_cache *mem_cache, const zy_block_params *p,
                               const zy_block_config *c) {
    return zy_block_decode_step_mem(y, scratch, scratch_floats, x, seqs, NULL, n, layer, cache,
                                    mem_cache, p, c);
}

zy_status zy_block_decode_step_mem(float *y, float *scratch, size_t scratch_floats,
                                   const float *x, const int *seqs, const int *mem_seqs, int n,
                                   int layer, zy_kv_cache *cache, const zy_kv_cache *mem_cache,
                                   const zy_block_params *p, const zy_block_config *c) {
    if (!seqs) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "block decode step: no seqs");
    return decode_rows(y, scratch, scratch_floats, x, n, -1, seqs, mem_seqs, layer, cache,
                       mem_cache, p, c, "block decode step");
}

zy_status zy_block_decode_memory(float *scratch, size_t scratch_floats, const float *mem, int Tm,
                                 int seq, int layer, zy_kv_cache *mem_cache,
                                 const zy_block_params *p, const zy_block_config *c) {
    if (!zy__block_has_cross(c) || !mem_cache || Tm < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "block decode memory: the block has no cross-attention (kind %d, Tm "
                         "%d), no memory cache, or Tm = %d < 0",
                         (int)c->kind, c->Tm, Tm);
    zy_status st = check_cache(mem_cache, c, layer, "block decode memory", "memory");
    if (st == ZY_STATUS_OK) st = zy__block_lora_validate(c, "block decode memory");
    if (st != ZY_STATUS_OK) return st;
    const int C = c->C;
    const size_t need = (2 * (size_t)C + lora_rmax(c)) * Tm;
    if (!scratch || scratch_floats < need)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "block decode memory: scratch of %zu floats, need %zu", scratch_floats,
                         need);
    if (Tm == 0) return zy_kv_cache_write(mem_cache, layer, seq, scratch, scratch, 0, C);
    // k | v = mem · W_kvᵀ + b_kv (+ the adapters on those rows), the cross-attention's (2C)
    // projection
    const zy_mha_params *m = &p->cross_attn;
    zy_linear_forward(scratch, mem, m->in_proj_weight + (size_t)C * C, m->in_proj_bias + C, Tm,
                      C, 2 * C);
    dec_lora(c, ZY_BLOCK_CROSS_IN, scratch + 2 * (size_t)Tm * C, scratch, 2 * C, C, 3 * C, mem,
             Tm);
    return zy_kv_cache_write(mem_cache, layer, seq, scratch, scratch + C, Tm, 2 * C);
}
