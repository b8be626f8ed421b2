// Transformer block bookkeeping: default config, parameter layout (PyTorch
// named_parameters() order), the sublayer chain with its saved activations, sizes,
// validation. The arithmetic is in block.c (forward), block_backward.c and block_decode.c.
#include "zhuyi/attention.h"

#include "core/internal.h"
#include "nn/block_internal.h"

zy_block_config zy_block_default_config(zy_block_kind kind, int B, int T, int C, int H,
                                        int FF) {
    zy_block_config c = {0};
    c.kind = kind;
    c.act = ZY_BLOCK_RELU; // PyTorch's default activation
    c.B = B;
    c.T = T;
    c.C = C;
    c.H = H;
    c.FF = FF;
    c.eps = 1e-5f;
    c.self_attn = zy_attn_default_desc(B, H, T, T, H > 0 ? C / H : 0, H > 0 ? C / H : 0);
    c.cross_attn = c.self_attn;
    return c;
}

zy_mha_config zy__block_mha_config(const zy_block_config *c, int kind) {
    const int cross = kind == ZY__SUB_CROSS;
    zy_mha_config m = {0};
    m.C = c->C;
    m.need_weights = c->need_weights;
    m.attn = cross ? c->cross_attn : c->self_attn;
    m.attn.B = c->B;
    m.attn.H = c->H;
    m.attn.Tq = c->T;
    m.attn.Tk = cross ? c->Tm : c->T;
    if (!cross && c->kind == ZY_BLOCK_DECODER) m.attn.causal = true;
    m.attn.dropout = c->dropout.attn;
    m.attn.seed = zy__block_seed(c, cross ? ZY__SITE_CROSS_ATTN : ZY__SITE_SELF_ATTN);
    m.attn.offset = c->offset;
    return m;
}

static int prob_ok(float p) { return p >= 0.0f && p < 1.0f; }

zy_status zy__block_validate(const zy_block_config *c, const float *mem, const char *who) {
    if (c->B <= 0 || c->T <= 0 || c->C <= 0 || c->H <= 0 || c->FF <= 0 || c->C % c->H ||
        c->Tm < 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: bad config B=%d T=%d C=%d H=%d FF=%d Tm=%d (C %% H must be 0)",
                         who, c->B, c->T, c->C, c->H, c->FF, c->Tm);
    if ((unsigned)c->kind > ZY_BLOCK_DECODER || (unsigned)c->act > ZY_BLOCK_SILU)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: unknown kind %d or activation %d",
                         who, (int)c->kind, (int)c->act);
    if (zy__block_has_cross(c) && !mem)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: decoder with Tm=%d needs a memory tensor", who, c->Tm);
    const zy_block_dropout *d = &c->dropout;
    if (!prob_ok(d->attn) || !prob_ok(d->attn_out) || !prob_ok(d->ff_hidden) ||
        !prob_ok(d->ff_out) || !(c->eps > 0.0f))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "%s: dropout (attn %g, attn_out %g, ff_hidden %g, ff_out %g) not in "
                         "[0, 1) or eps %g <= 0",
                         who, (double)d->attn, (double)d->attn_out, (double)d->ff_hidden,
                         (double)d->ff_out, (double)c->eps);
    if (c->frozen_linears >> ZY_BLOCK_LINEARS)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: frozen_linears 0x%x names linear "
                         "layers past the block's %d", who, c->frozen_linears,
                         ZY_BLOCK_LINEARS);
    zy_mha_config m = zy__block_mha_config(c, ZY__SUB_SELF);
    zy_status st = zy__mha_validate(&m, true, who);
    if (st == ZY_STATUS_OK && zy__block_has_cross(c)) {
        m = zy__block_mha_config(c, ZY__SUB_CROSS);
        st = zy__mha_validate(&m, false, who);
    }
    return st ? st : zy__block_lora_validate(c, who);
}

// ---- LoRA -----------------------------------------------------------------------------------

static const char *const LINEAR_NAMES[ZY_BLOCK_LINEARS] = {
    "self-attention in_proj", "self-attention out_proj", "cross-attention in_proj",
    "cross-attention out_proj", "FF w1", "FF w2"};

const char *zy__block_linear_name(int j) { return LINEAR_NAMES[j]; }

// Linear layer j's input and output widths.
static void linear_dims(const zy_block_config *c, int j, int *in, int *out) {
    *in = j == ZY_BLOCK_FF2 ? c->FF : c->C;
    *out = j == ZY_BLOCK_SELF_IN || j == ZY_BLOCK_CROSS_IN ? 3 * c->C
         : j == ZY_BLOCK_FF1                               ? c->FF
                                                           : c->C;
}

zy_status zy__block_lora_validate(const zy_block_config *c, const char *who) {
    if (!c->lora) return ZY_STATUS_OK;
    if (!prob_ok(c->dropout.lora))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: LoRA dropout %g not in [0, 1)", who,
                         (double)c->dropout.lora);
    for (int j = 0; j < ZY_BLOCK_LINEARS; j++) {
        int n = c->lora->n[j], in, out;
        bool cross = j == ZY_BLOCK_CROSS_IN || j == ZY_BLOCK_CROSS_OUT;
        if (n < 0 || n > ZY_BLOCK_LORA_MAX || (n && cross && !zy__block_has_cross(c)))
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: %d LoRA adapters on the %s (at "
                             "most %d, and none on a block without cross-attention)", who, n,
                             LINEAR_NAMES[j], ZY_BLOCK_LORA_MAX);
        linear_dims(c, j, &in, &out);
        for (int k = 0; k < n; k++) {
            const zy_lora *a = &c->lora->a[j][k];
            bool ok = a->A && a->B && a->r >= 1 && a->in == in && a->rows >= 1 &&
                      a->col0 >= 0 && a->col0 <= out - a->rows;
            // cross-attention's query rows and key/value rows see different inputs
            if (ok && j == ZY_BLOCK_CROSS_IN)
                ok = a->col0 + a->rows <= c->C || a->col0 >= c->C;
            if (!ok)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: LoRA adapter %d on the %s "
                                 "(%d x %d): r %d, in %d, rows [%d, %d) do not fit (or A/B "
                                 "missing)", who, k, LINEAR_NAMES[j], out, in, a->r, a->in,
                                 a->col0, a->col0 + a->rows);
        }
    }
    return ZY_STATUS_OK;
}

int zy__block_lora_rows(const zy_block_config *c, int j, const zy_lora *a) {
    bool kv = j == ZY_BLOCK_CROSS_IN && a->col0 >= c->C;
    return c->B * (kv ? c->Tm : c->T);
}

size_t zy__block_lora_fwd_floats(const zy_block_config *c) {
    size_t n = 0;
    for (int j = 0; c->lora && c->dropout.lora > 0.0f && j < ZY_BLOCK_LINEARS; j++)
        for (int k = 0; k < c->lora->n[j]; k++) {
            const zy_lora *a = &c->lora->a[j][k];
            n = ZY_MAX(n, zy__round16((size_t)zy__block_lora_rows(c, j, a) * a->in));
        }
    return n;
}

size_t zy__block_lora_bwd_floats(const zy_block_config *c) {
    size_t n = 0;
    for (int j = 0; c->lora && j < ZY_BLOCK_LINEARS; j++)
        for (int k = 0; k < c->lora->n[j]; k++) {
            const zy_lora *a = &c->lora->a[j][k];
            n = ZY_MAX(n, zy_lora_backward_floats(zy__block_lora_rows(c, j, a), a,
                                                  c->dropout.lora));
        }
    return n;
}

zy__lora_run zy__block_lora_run(const zy_block_config *c, const zy__block_sub *s, int i,
                                float *scratch) {
    zy__lora_run r = {0};
    int j = s->lin[i];
    if (!c->lora || !c->lora->n[j]) return r;
    r.n = c->lora->n[j];
    r.a = c->lora->a[j];
    for (int k = 0; k < r.n; k++) {
        r.t[k] = s->lt[i][k];
        r.seed[k] = zy__block_seed(c, ZY__SITE_LORA + j * ZY_BLOCK_LORA_MAX + k);
    }
    r.p = c->dropout.lora;
    r.offset = c->offset;
    r.scratch = scratch;
    return r;
}

size_t zy_block_param_count(const zy_block_config *c) {
    int nln = zy__block_has_cross(c) ? 3 : 2;
    size_t C = (size_t)c->C, FF = (size_t)c->FF;
    return zy_mha_param_count(c->C) * (zy__block_has_cross(c) ? 2 : 1) + FF * C + FF + C * FF +
           C + 2 * C * nln;
}

// base: self_attn | [cross_attn] | w1 b1 w2 b2 | ln1 w,b | ln2 w,b | [ln3 w,b]
void zy_block_params_init(zy_block_params *p, float *base, const zy_block_config *c) {
    size_t C = (size_t)c->C, FF = (size_t)c->FF;
    float *q = base;
    *p = (zy_block_params){0};
    zy_mha_params_init(&p->self_attn, q, c->C);
    q += zy_mha_param_count(c->C);
    if (zy__block_has_cross(c)) {
        zy_mha_params_init(&p->cross_attn, q, c->C);
        q += zy_mha_param_count(c->C);
    }
    p->w1 = q, q += FF * C;
    p->b1 = q, q += FF;
    p->w2 = q, q += C * FF;
    p->b2 = q, q += C;
    p->ln1w = q, q += C;
    p->ln1b = q, q += C;
    p->ln2w = q, q += C;
    p->ln2b = q, q += C;
    if (zy__block_has_cross(c)) {
        p->ln3w = q, q += C;
        p->ln3b = q;
    }
}

int zy__block_subs(zy__block_sub *subs, float *acts, float *unsaved, zy__block_sizes *sizes,
                   const zy_block_params *p, const zy_block_config *c) {
    const int cross = zy__block_has_cross(c);
    const size_t N = (size_t)c->B * c->T, n = N * c->C, nf = N * c->FF;
    int ns = 0;
    subs[ns++] = (zy__block_sub){.kind = ZY__SUB_SELF, .out_site = ZY__SITE_SELF_OUT,
                                 .p_out = c->dropout.attn_out, .mha = &p->self_attn,
                                 .lnw = p->ln1w, .lnb = p->ln1b,
                                 .wout = p->self_attn.out_proj_weight,
                                 .bout = p->self_attn.out_proj_bias,
                                 .lin = {ZY_BLOCK_SELF_IN, ZY_BLOCK_SELF_OUT}};
    if (cross)
        subs[ns++] = (zy__block_sub){.kind = ZY__SUB_CROSS, .out_site = ZY__SITE_CROSS_OUT,
                                     .p_out = c->dropout.attn_out, .mha = &p->cross_attn,
                                     .lnw = p->ln2w, .lnb = p->ln2b,
                                     .wout = p->cross_attn.out_proj_weight,
                                     .bout = p->cross_attn.out_proj_bias,
                                     .lin = {ZY_BLOCK_CROSS_IN, ZY_BLOCK_CROSS_OUT}};
    subs[ns++] = (zy__block_sub){.kind = ZY__SUB_FF, .out_site = ZY__SITE_FF_OUT,
                                 .p_out = c->dropout.ff_out, .lnw = cross ? p->ln3w : p->ln2w,
                                 .lnb = cross ? p->ln3b : p->ln2b, .wout = p->w2, .bout = p->b2,
                                 .lin = {ZY_BLOCK_FF1, ZY_BLOCK_FF2}};
    // The inputs backward does not read: sublayer i's in-projection input (pre-LN its n,
    // post-LN the previous sublayer's h'; sublayer 0's is then x, the caller's) share one
    // (B,T,C) slot of the forward scratch, each used only until the next is written; the
    // FF activation a has a (B,T,FF) slot when w2 does not need it or it is not w2's input
    // (with hidden dropout, Drop(a) is: backward recomputes the mask, and reads u).
    const bool hid = c->dropout.ff_hidden > 0.0f, ff2 = zy__block_keeps_input(c, ZY_BLOCK_FF2);
    bool slot = false;
    for (int i = c->norm_first ? 0 : 1; i < ns; i++)
        slot = slot || !zy__block_keeps_input(c, subs[i].lin[0]);
    const bool a_slot = hid || !ff2;
    float *xin = unsaved && slot ? unsaved : NULL;
    float *ain = unsaved && a_slot ? unsaved + (slot ? zy__round16(n) : 0) : NULL;
    size_t off = 0;
#define TAKE(k) (acts ? acts + (off += zy__round16(k), off - zy__round16(k)) \
                      : (off += zy__round16(k), NULL))
    for (int i = 0; i < ns; i++) {
        zy__block_sub *s = &subs[i];
        const bool in_kept = zy__block_keeps_input(c, s->lin[0]);
        s->nbuf = !c->norm_first || in_kept ? TAKE(n) : xin;
        s->mean = TAKE(N);
        s->rstd = TAKE(N);
        const bool next_kept = i < ns - 1 && zy__block_keeps_input(c, subs[i + 1].lin[0]);
        s->hout = i == ns - 1 ? NULL : c->norm_first || next_kept ? TAKE(n) : xin;
        if (s->kind == ZY__SUB_FF) {
            // ReLU's backward needs only the sign of u, which a = max(u, 0) keeps: one
            // buffer holds u and then, in place, a (saved either way)
            s->u = TAKE(nf);
            s->a = c->act == ZY_BLOCK_RELU ? s->u : a_slot ? ain : TAKE(nf);
            s->ad = !hid ? NULL : ff2 ? TAKE(nf) : ain; // ain: Drop(a) in place
        } else {
            zy_mha_config m = zy__block_mha_config(c, s->kind);
            size_t k = zy__mha_carve(&s->mha_acts, acts ? acts + off : NULL, &m,
                                     s->kind == ZY__SUB_SELF);
            off += k;
        }
        for (int li = 0; li < 2 && c->lora; li++) { // each adapter's (rows, r) product
            int j = s->lin[li];
            for (int k = 0; k < c->lora->n[j] && k < ZY_BLOCK_LORA_MAX; k++) {
                const zy_lora *a = &c->lora->a[j][k];
                s->lt[li][k] = TAKE((size_t)zy__block_lora_rows(c, j, a) * a->r);
            }
        }
    }
#undef TAKE
    if (sizes) {
        sizes->acts = off;
        sizes->unsaved = (slot ? zy__round16(n) : 0) + (a_slot ? zy__round16(nf) : 0);
    }
    return ns;
}

size_t zy_block_acts_floats(const zy_block_config *c) {
    zy__block_sub subs[3];
    zy_block_params p = {0};
    zy__block_sizes z;
    zy__block_subs(subs, NULL, NULL, &z, &p, c);
    return z.acts;
}

unsigned zy_block_frozen_linears(const zy_block_params *dp) {
    if (!dp) return (1u << ZY_BLOCK_LINEARS) - 1;
    const float *w[ZY_BLOCK_LINEARS] = {
        [ZY_BLOCK_SELF_IN] = dp->self_attn.in_proj_weight,
        [ZY_BLOCK_SELF_OUT] = dp->self_attn.out_proj_weight,
        [ZY_BLOCK_CROSS_IN] = dp->cross_attn.in_proj_weight,
        [ZY_BLOCK_CROSS_OUT] = dp->cross_attn.out_proj_weight,
        [ZY_BLOCK_FF1] = dp->w1,
        [ZY_BLOCK_FF2] = dp->w2};
    unsigned bits = 0;
    for (int j = 0; j < ZY_BLOCK_LINEARS; j++)
        if (!w[j]) bits |= 1u << j;
    return bits;
}

// forward: the branch output (B,T,C), the inputs not saved (zy__block_sizes.unsaved),
// then the attention core's scratch (which the adapters' drop(x) shares: they run before
// or after the core)
size_t zy__block_fwd_floats(const zy_block_config *c) {
    size_t n = zy__round16((size_t)c->B * c->T * c->C);
    zy_mha_config m = zy__block_mha_config(c, ZY__SUB_SELF);
    size_t core = zy__mha_core_scratch_floats(&m, true);
    if (zy__block_has_cross(c)) {
        m = zy__block_mha_config(c, ZY__SUB_CROSS);
        core = ZY_MAX(core, zy__mha_core_scratch_floats(&m, false));
    }
    zy__block_sub subs[3];
    zy_block_params p = {0};
    zy__block_sizes z;
    zy__block_subs(subs, NULL, NULL, &z, &p, c);
    return n + z.unsaved + ZY_MAX(core, zy__block_lora_fwd_floats(c));
}

// backward: four (B,T,C) buffers (residual-stream gradients, the dropped branch gradient,
// the sublayer input's gradient), the adapters' scratch, then the larger of an attention
// sublayer's (dctx and zy__mha_attend_backward's) and the FF sublayer's (d act, d
// pre-activation) scratch
size_t zy__block_bwd_floats(const zy_block_config *c) {
    size_t n = zy__round16((size_t)c->B * c->T * c->C);
    size_t sub = 2 * zy__round16((size_t)c->B * c->T * c->FF);
    zy_mha_config m = zy__block_mha_config(c, ZY__SUB_SELF);
    sub = ZY_MAX(sub, n + zy__mha_attend_backward_floats(&m, true));
    if (zy__block_has_cross(c)) {
        m = zy__block_mha_config(c, ZY__SUB_CROSS);
        sub = ZY_MAX(sub, n + zy__mha_attend_backward_floats(&m, false));
    }
    return 4 * n + zy__block_lora_bwd_floats(c) + sub;
}

size_t zy_block_scratch_floats(const zy_block_config *c) {
    return ZY_MAX(zy__block_fwd_floats(c), zy__block_bwd_floats(c));
}

const float *zy_block_attention_weights(const float *acts, const zy_block_config *c,
                                        bool cross) {
    if (cross && !zy__block_has_cross(c)) return NULL;
    zy__block_sub subs[3];
    zy_block_params p = {0};
    zy__block_subs(subs, (float *)acts, NULL, NULL, &p, c);
    return subs[cross ? 1 : 0].mha_acts.att;
}
