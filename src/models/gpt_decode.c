// GPT incremental decoding with a KV cache per sequence (no dropout): the prompt and then
// one token at a time, each position's keys and values kept so a new token costs one
// query per layer instead of recomputing the sequence. Same arithmetic as the forward in
// gpt_forward.c (the test checks logits agree at every position).
//
// Memory: the first decode of a sequence allocates its cache, (L, 2, n_positions, C)
// floats; the first decode of the session a scratch block for chunks of up to DEC_CHUNK
// positions (long prompts are fed in chunks, so the scratch does not grow with the
// prompt). Later calls allocate nothing.
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

static zy_status new_cache(const gpt_hparams *h, zy_kv_cache **c) {
    return zy_kv_cache_create(c, h->n_layer, 1, h->n_head, h->n_positions, h->n_embd / h->n_head);
}

// The scratch (sized with any cache: it depends only on the model's shape).
static zy_status dec_alloc(gpt_session *g, const zy_kv_cache *cache) {
    size_t n;
    dec_carve(NULL, cache, g->h.n_embd, &n);
    g->dec = zy_alloc(n * sizeof(float));
    if (!g->dec)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gpt decode: out of memory for the scratch");
    return ZY_STATUS_OK;
}

void zy__gpt_decode_free(gpt_session *g, int n_seq) {
    for (int i = 0; g->caches && i < n_seq; i++) zy_kv_cache_free(g->caches[i]);
    zy_free(g->caches);
    zy_free(g->dec);
}

void zy__gpt_seq_reset(zy_session *s, int seq) {
    gpt_session *g = zy_session_impl(s);
    for (int i = seq < 0 ? 0 : seq; i < (seq < 0 ? zy_session_n_seq(s) : seq + 1); i++)
        if (g->caches[i]) zy_kv_cache_reset(g->caches[i]);
}

int zy__gpt_seq_len(const zy_session *s, int seq) {
    const gpt_session *g = zy_session_impl(s);
    return g->caches[seq] ? zy_kv_cache_len(g->caches[seq], 0) : 0;
}

zy_status zy__gpt_seq_copy(zy_session *s, int dst, int src) {
    (void)s, (void)dst, (void)src;
    return zy__error(ZY_STATUS_UNSUPPORTED, "gpt: copying a sequence's cache is not "
                     "implemented yet");
}

// One token at position pos (the common case while generating): every product is a GEMV
// over the weights, and the new key/value go straight into the cache (with B = 1 and one
// position, the (3C) projection is already q | k | v in the cache's (H, 1, D) layout).
static zy_status dec_one(const gpt_session *g, zy_kv_cache *cache, const dec_bufs *d,
                         int token, int pos) {
    const gpt_hparams *c = &g->h;
    int C = c->n_embd;
    float eps = c->layer_norm_epsilon;
    const gpt_weights *w = &g->ew;
    zy_status st = zy_embedding_forward(d->x, &token, w->wte, w->wpe + (size_t)pos * C, 1, 1, C,
                                        c->vocab_size);
    if (st) return st;
    float *qkv = d->fc, *ctx = d->branch, *out = d->act;
    for (int l = 0; l < c->n_layer; l++) {
        const gpt_layer *gl = &g->w[l];
        zy_layernorm_forward(d->h, d->mean, d->rstd, d->x, gl->ln1w, gl->ln1b, 1, C, eps);
        zy__gemv(qkv, gl->attn.in_proj_weight, d->h, gl->attn.in_proj_bias, 3 * C, C);
        if ((st = zy_kv_cache_append(cache, l, qkv + C, qkv + 2 * C, 1))) return st;
        if ((st = zy_kv_cache_attend(cache, l, ctx, d->mha, qkv, 1, NULL))) return st;
        zy__gemv(out, gl->attn.out_proj_weight, ctx, gl->attn.out_proj_bias, C, C);
        zy_residual_forward(d->x, d->x, out, (size_t)C);
        zy_layernorm_forward(d->h, d->mean, d->rstd, d->x, gl->ln2w, gl->ln2b, 1, C, eps);
        zy__gemv(d->fc, gl->fcw, d->h, gl->fcb, 4 * C, C);
        zy_gelu_forward(d->act, d->fc, 4 * (size_t)C, ZY_GELU_TANH);
        zy__gemv(d->branch, gl->projw, d->act, gl->projb, C, 4 * C);
        zy_residual_forward(d->x, d->x, d->branch, (size_t)C);
    }
    return ZY_STATUS_OK;
}

// tokens (n) at positions pos.. (pos + n <= n_positions, ids valid) -> the residual stream
// after the last block in d->x (n, C).
static zy_status dec_chunk(const gpt_session *g, zy_kv_cache *cache, const dec_bufs *d,
                           const int *tokens, int n, int pos) {
    const gpt_hparams *c = &g->h;
    int C = c->n_embd;
    size_t nc = (size_t)n * C;
    float eps = c->layer_norm_epsilon;
    const gpt_weights *w = &g->ew;
    zy_status st = zy_embedding_forward(d->x, tokens, w->wte, w->wpe + (size_t)pos * C, 1, n, C,
                                        c->vocab_size);
    if (st) return st;
    for (int l = 0; l < c->n_layer; l++) {
        const gpt_layer *gl = &g->w[l];
        zy_layernorm_forward(d->h, d->mean, d->rstd, d->x, gl->ln1w, gl->ln1b, n, C, eps);
        st = zy_mha_forward_cached(d->branch, d->mha, cache, l, d->h, n, &gl->attn, C);
        if (st) return st;
        zy_residual_forward(d->x, d->x, d->branch, nc);
        zy_layernorm_forward(d->h, d->mean, d->rstd, d->x, gl->ln2w, gl->ln2b, n, C, eps);
        zy_linear_forward(d->fc, d->h, gl->fcw, gl->fcb, n, C, 4 * C);
        zy_gelu_forward(d->act, d->fc, 4 * nc, ZY_GELU_TANH);
        zy_linear_forward(d->branch, d->act, gl->projw, gl->projb, n, 4 * C, C);
        zy_residual_forward(d->x, d->x, d->branch, nc);
    }
    return ZY_STATUS_OK;
}

// One sequence: tokens (n) appended to `cache`, the last position's logits (V).
static zy_status decode_seq(gpt_session *g, zy_kv_cache *cache, const int *tokens, int n,
                            float *logits) {
    const gpt_hparams *c = &g->h;
    int C = c->n_embd, V = c->vocab_size, pos = zy_kv_cache_len(cache, 0);
    dec_bufs d = dec_carve(g->dec, cache, C, NULL);
    int last = 0;
    for (int i = 0; i < n; i += DEC_CHUNK) {
        last = ZY_MIN(DEC_CHUNK, n - i);
        zy_status st = last == 1 ? dec_one(g, cache, &d, tokens[i], pos + i)
                                 : dec_chunk(g, cache, &d, tokens + i, last, pos + i);
        if (st) return st;
    }
    // Only the last position's logits are asked for: layernorm one row, one GEMV.
    const gpt_weights *w = &g->ew;
    float *x = d.x + (size_t)(last - 1) * C;
    zy_layernorm_forward(d.h, d.mean, d.rstd, x, w->lnfw, w->lnfb, 1, C, c->layer_norm_epsilon);
    zy__gemv(logits, w->wte, d.h, NULL, V, C);
    return ZY_STATUS_OK;
}

// Arguments were checked by the generic session (sequences, ids, room in the context).
zy_status zy__gpt_decode(zy_session *s, int n_seq, const int *seqs, const int *tokens, int n,
                         float *logits) {
    gpt_session *g = zy_session_impl(s);
    zy_status st;
    for (int i = 0; i < n_seq; i++) {
        zy_kv_cache **cache = &g->caches[seqs[i]];
        if (!*cache && (st = new_cache(&g->h, cache))) return st;
        if (!g->dec && (st = dec_alloc(g, *cache))) return st;
        st = decode_seq(g, *cache, tokens + (size_t)i * n, n, logits + (size_t)i * g->h.vocab_size);
        if (st) return st;
    }
    return ZY_STATUS_OK;
}
