// GPT incremental decoding with a KV cache (batch 1, no dropout): the prompt and then
// one token at a time, each position's keys and values kept so a new token costs one
// query per layer instead of recomputing the sequence. Same arithmetic as the forward in
// gpt_forward.c (the test checks logits agree at every position).
//
// Memory: the first zy_gpt_decode allocates the cache, (L, 2, n_positions, C) floats, and
// a scratch block for chunks of up to DEC_CHUNK positions (long prompts are fed in
// chunks, so the scratch does not grow with the prompt). Later calls allocate nothing.
#include <string.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "kernels/gemv.h"
#include "models/gpt_internal.h"

#define DEC_CHUNK 64

typedef struct dec_bufs {
    float *x;      // (DEC_CHUNK, C) residual stream
    float *h;      // (DEC_CHUNK, C) layernorm output
    float *branch; // (DEC_CHUNK, C)
    float *fc;     // (DEC_CHUNK, 4C)
    float *act;    // (DEC_CHUNK, 4C)
    float *mean, *rstd; // (DEC_CHUNK)
    float *mha;    // zy_mha_cached_scratch_floats(cache, DEC_CHUNK, C)
} dec_bufs;

static dec_bufs dec_carve(float *base, const zy_kv_cache *cache, int C, size_t *total) {
    size_t off = 0, nc = (size_t)DEC_CHUNK * C;
#define TAKE(n) (base ? base + (off += (n), off - (n)) : (off += (n), NULL))
    dec_bufs d;
    d.x = TAKE(nc);
    d.h = TAKE(nc);
    d.branch = TAKE(nc);
    d.fc = TAKE(4 * nc);
    d.act = TAKE(4 * nc);
    d.mean = TAKE(DEC_CHUNK);
    d.rstd = TAKE(DEC_CHUNK);
    d.mha = TAKE(zy_mha_cached_scratch_floats(cache, DEC_CHUNK, C));
#undef TAKE
    if (total) *total = off;
    return d;
}

static zy_status dec_alloc(zy_gpt *m) {
    const zy_gpt_config *c = &m->cfg;
    zy_status st = zy_kv_cache_create(&m->cache, c->n_layer, 1, c->n_head, c->n_positions,
                                      c->n_embd / c->n_head);
    if (st) return st;
    size_t n;
    dec_carve(NULL, m->cache, c->n_embd, &n);
    m->dec = zy_alloc(n * sizeof(float));
    if (!m->dec) {
        zy_kv_cache_free(m->cache);
        m->cache = NULL;
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gpt decode: out of memory for the cache");
    }
    m->dec_floats = n;
    return ZY_STATUS_OK;
}

void zy_gpt_cache_reset(zy_gpt *m) {
    if (m->cache) zy_kv_cache_reset(m->cache);
}

int zy_gpt_cache_len(const zy_gpt *m) { return m->cache ? zy_kv_cache_len(m->cache, 0) : 0; }

// One token at position pos (the common case while generating): every product is a GEMV
// over the weights, and the new key/value go straight into the cache (with B = 1 and one
// position, the (3C) projection is already q | k | v in the cache's (H, 1, D) layout).
static zy_status dec_one(zy_gpt *m, const dec_bufs *d, int token, int pos) {
    const zy_gpt_config *c = &m->cfg;
    int C = c->n_embd;
    float eps = c->layer_norm_epsilon;
    gpt_weights w = zy__gpt_weights(m, m->params);
    zy_status st = zy_embedding_forward(d->x, &token, w.wte, w.wpe + (size_t)pos * C, 1, 1, C,
                                        c->vocab_size);
    if (st) return st;
    float *qkv = d->fc, *ctx = d->branch, *out = d->act;
    size_t mha_floats = m->dec_floats - (size_t)(d->mha - m->dec);
    for (int l = 0; l < c->n_layer; l++) {
        gpt_layer g = zy__gpt_layer(m, m->params, l);
        zy_layernorm_forward(d->h, d->mean, d->rstd, d->x, g.ln1w, g.ln1b, 1, C, eps);
        zy__gemv(qkv, g.attn.in_proj_weight, d->h, g.attn.in_proj_bias, 3 * C, C);
        if ((st = zy_kv_cache_write(m->cache, l, 0, qkv + C, qkv + 2 * C, 1, 3 * C))) return st;
        st = zy_kv_cache_attend(m->cache, l, 0, true, 0.0f, qkv, 3 * C, 1, ctx, C, d->mha,
                                mha_floats);
        if (st) return st;
        zy__gemv(out, g.attn.out_proj_weight, ctx, g.attn.out_proj_bias, C, C);
        zy_residual_forward(d->x, d->x, out, (size_t)C);
        zy_layernorm_forward(d->h, d->mean, d->rstd, d->x, g.ln2w, g.ln2b, 1, C, eps);
        zy__gemv(d->fc, g.fcw, d->h, g.fcb, 4 * C, C);
        zy_gelu_forward(d->act, d->fc, 4 * (size_t)C, ZY_GELU_TANH);
        zy__gemv(d->branch, g.projw, d->act, g.projb, C, 4 * C);
        zy_residual_forward(d->x, d->x, d->branch, (size_t)C);
    }
    return zy_kv_cache_advance(m->cache, 0, 1);
}

// tokens (n) at positions pos.. (pos + n <= n_positions, ids valid) -> the residual stream
// after the last block in d->x (n, C).
static zy_status dec_chunk(zy_gpt *m, const dec_bufs *d, const int *tokens, int n, int pos) {
    const zy_gpt_config *c = &m->cfg;
    int C = c->n_embd;
    size_t nc = (size_t)n * C;
    float eps = c->layer_norm_epsilon;
    gpt_weights w = zy__gpt_weights(m, m->params);
    zy_status st = zy_embedding_forward(d->x, tokens, w.wte, w.wpe + (size_t)pos * C, 1, n, C,
                                        c->vocab_size);
    if (st) return st;
    for (int l = 0; l < c->n_layer; l++) {
        gpt_layer g = zy__gpt_layer(m, m->params, l);
        zy_layernorm_forward(d->h, d->mean, d->rstd, d->x, g.ln1w, g.ln1b, n, C, eps);
        st = zy_mha_forward_cached(d->branch, d->mha, m->dec_floats - (size_t)(d->mha - m->dec),
                                   m->cache, l, 0, d->h, n, &g.attn, C);
        if (st) return st;
        zy_residual_forward(d->x, d->x, d->branch, nc);
        zy_layernorm_forward(d->h, d->mean, d->rstd, d->x, g.ln2w, g.ln2b, n, C, eps);
        zy_linear_forward(d->fc, d->h, g.fcw, g.fcb, n, C, 4 * C);
        zy_gelu_forward(d->act, d->fc, 4 * nc, ZY_GELU_TANH);
        zy_linear_forward(d->branch, d->act, g.projw, g.projb, n, 4 * C, C);
        zy_residual_forward(d->x, d->x, d->branch, nc);
    }
    return zy_kv_cache_advance(m->cache, 0, n);
}

zy_status zy_gpt_decode(zy_gpt *m, const int *tokens, int n, float *logits) {
    const zy_gpt_config *c = &m->cfg;
    int C = c->n_embd, V = c->vocab_size;
    int pos = zy_gpt_cache_len(m);
    if (n <= 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "gpt decode: n = %d tokens (need > 0)", n);
    if (n > c->n_positions - pos)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "gpt decode: %d cached + %d new positions exceed n_positions = %d",
                         pos, n, c->n_positions);
    // Every id is checked before the cache changes, so a bad call leaves it as it was.
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "gpt decode: token id %d at (b=0, t=%d) is outside [0, %d)",
                             tokens[i], pos + i, V);
    zy_status st;
    if (!m->cache && (st = dec_alloc(m))) return st;
    dec_bufs d = dec_carve(m->dec, m->cache, C, NULL);
    int last = 0;
    for (int i = 0; i < n; i += DEC_CHUNK) {
        last = ZY_MIN(DEC_CHUNK, n - i);
        st = last == 1 ? dec_one(m, &d, tokens[i], pos + i)
                       : dec_chunk(m, &d, tokens + i, last, pos + i);
        if (st) return st;
    }
    // Only the last position's logits are asked for: layernorm one row, one GEMV.
    gpt_weights w = zy__gpt_weights(m, m->params);
    float *x = d.x + (size_t)(last - 1) * C;
    zy_layernorm_forward(d.h, d.mean, d.rstd, x, w.lnfw, w.lnfb, 1, C, c->layer_norm_epsilon);
    zy__gemv(logits, w.wte, d.h, NULL, V, C);
    return ZY_STATUS_OK;
}
