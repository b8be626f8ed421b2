// Marian decoding: the encoder run once per source row, its output kept as every decoder
// layer's cross-attention keys/values in a memory slot; then decoder tokens appended to
// sequences of a self-attention KV cache, each sequence reading the slot it is attached
// to (beams of one source share it, so their cross-attention keys and values exist once).
// No dropout. Equal to the training forward (tests compare logits at every position).
//
// Memory: the first encode or decode allocates both caches, (Ld, n_seq, 2, P, C) and
// (Ld, n_memory, 2, P, C) floats, and the decode scratch (n_seq rows); an encode of more
// rows or longer ones than any before grows the encoder's buffers (its only allocation).
#include <string.h>

#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "kernels/gemv.h"
#include "kernels/wgemv.h"
#include "models/marian_internal.h"

// The decoder blocks' configuration for decoding: no dropout, R rows of one position.
static zy_block_config dec_config(const marian_session *g, int l, int R) {
    marian_session q = *g;
    q.p = q.p_attn = q.p_act = q.p_lora = 0.0f;
    zy_block_config c = zy__marian_block_config(&q, true, l, R, 1, 1, NULL, NULL);
    c.typed = g->typed ? g->typed[l] : NULL;
    return c;
}

static zy_block_config enc_config(const marian_session *g, int l, int B, int T,
                                  const int *lengths) {
    marian_session q = *g;
    q.p = q.p_attn = q.p_act = q.p_lora = 0.0f;
    return zy__marian_block_config(&q, false, l, B, T, 0, lengths, NULL);
}

// The decode scratch: x (R, C) rows being decoded, then the blocks' scratch.
static size_t dec_scratch(const marian_session *g, int R) {
    size_t s = 0;
    for (int l = 0; l < g->h.dec_layers; l++) {
        zy_block_config c = dec_config(g, l, R);
        s = ZY_MAX(s, zy_block_decode_scratch_floats(&c, g->cache, g->mem, R));
    }
    return s;
}

static zy_status dec_alloc(marian_session *g) {
    if (g->cache) return ZY_STATUS_OK;
    const marian_hparams *h = &g->h;
    int D = h->d_model / h->dec_heads;
    zy_status st = zy_kv_cache_create_typed(&g->cache, h->dec_layers, g->n_seq, h->dec_heads,
                                            h->max_positions, D, g->kv_cache);
    if (!st) st = zy_kv_cache_create_typed(&g->mem, h->dec_layers, g->n_mem, h->dec_heads,
                                           h->max_positions, D, g->kv_cache);
    if (st) goto fail;
    g->dec_rows = g->n_seq;
    g->dec_floats = (size_t)g->n_seq * h->d_model + dec_scratch(g, g->n_seq);
    g->dec = zy_alloc(g->dec_floats * sizeof(float));
    g->mem_of = zy_alloc((size_t)g->n_seq * sizeof *g->mem_of);
    g->mem_rows = zy_alloc((size_t)g->n_seq * sizeof *g->mem_rows);
    if (!g->dec || !g->mem_of || !g->mem_rows) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "marian decode: out of memory for the scratch "
                       "(%.1f MiB)", (double)g->dec_floats * 4 / (1 << 20));
        goto fail;
    }
    for (int i = 0; i < g->n_seq; i++) g->mem_of[i] = i % g->n_mem;
    return ZY_STATUS_OK;
fail:
    zy__marian_decode_free(g);
    return st;
}

void zy__marian_decode_free(marian_session *g) {
    zy_kv_cache_free(g->cache);
    zy_kv_cache_free(g->mem);
    zy_free(g->dec);
    zy_free(g->mem_of);
    zy_free(g->mem_rows);
    zy_free(g->enc_buf);
    g->cache = g->mem = NULL;
    g->dec = g->enc_buf = NULL;
    g->mem_of = g->mem_rows = NULL;
    g->enc_floats = 0;
}

// The encoder's buffers for n rows of T: two residual buffers, one layer's saved
// activations (reused: nothing runs backward), the blocks' scratch, the lengths.
typedef struct enc_bufs {
    float *x, *y, *acts, *scratch;
    size_t acts_floats, scratch_floats;
    int *len;
} enc_bufs;

static size_t enc_carve(const marian_session *g, float *base, int n, int T, enc_bufs *e) {
    size_t NC = (size_t)n * T * g->h.d_model, acts = 0, scratch = 0;
    for (int l = 0; l < g->h.enc_layers; l++) {
        zy_block_config c = enc_config(g, l, n, T, NULL);
        acts = ZY_MAX(acts, zy_block_acts_floats(&c));
        scratch = ZY_MAX(scratch, zy_block_scratch_floats(&c));
    }
    for (int l = 0; l < g->h.dec_layers; l++) { // zy_block_decode_memory's
        zy_block_config c = dec_config(g, l, 1);
        scratch = ZY_MAX(scratch, zy_block_decode_scratch_floats(&c, g->cache, g->mem, 1));
    }
    size_t off = 0;
#define TAKE(k) (base ? base + (off += (k), off - (k)) : (off += (k), NULL))
    enc_bufs b;
    b.x = TAKE(NC);
    b.y = TAKE(NC);
    b.acts_floats = acts;
    b.acts = TAKE(acts);
    b.scratch_floats = scratch;
    b.scratch = TAKE(scratch);
    b.len = (int *)TAKE((size_t)n);
#undef TAKE
    if (e) *e = b;
    return off;
}

zy_status zy__marian_encode(zy_session *s, int n, const int *slots, const int *tokens, int T,
                            const int *lengths) {
    marian_session *g = zy_session_impl(s);
    const marian_hparams *h = &g->h;
    zy_status st = dec_alloc(g);
    if (st) return st;
    size_t need = enc_carve(g, NULL, n, T, NULL);
    if (need > g->enc_floats) {
        float *buf = zy_alloc(need * sizeof(float));
        if (!buf)
            return zy__error(ZY_STATUS_OUT_OF_MEMORY, "marian encode: out of memory for %d "
                             "rows of %d (%.1f MiB)", n, T, (double)need * 4 / (1 << 20));
        zy_free(g->enc_buf);
        g->enc_buf = buf;
        g->enc_floats = need;
    }
    enc_bufs e;
    enc_carve(g, g->enc_buf, n, T, &e);
    int C = h->d_model;
    for (int i = 0; i < n; i++) {
        e.len[i] = lengths ? lengths[i] : T;
        for (int t = 0; t < T; t++) {
            int id = t < e.len[i] ? tokens[(size_t)i * T + t] : h->pad_id;
            zy__marian_embed(g, e.x + ((size_t)i * T + t) * C, &id, 1, t, NULL);
        }
    }
    for (int l = 0; l < h->enc_layers; l++) {
        zy_block_config c = enc_config(g, l, n, T, e.len);
        if ((st = zy_block_forward(e.y, e.acts, e.scratch, e.scratch_floats, e.x, NULL,
                                   &g->we[l], &c)))
            return st;
        float *t = e.x;
        e.x = e.y, e.y = t;
    }
    for (int i = 0; i < n; i++) {
        if ((st = zy_kv_cache_reset_seq(g->mem, slots[i]))) return st;
        for (int l = 0; l < h->dec_layers && !st; l++) {
            zy_block_config c = dec_config(g, l, 1);
            st = zy_block_decode_memory(e.scratch, e.scratch_floats, e.x + (size_t)i * T * C,
                                        e.len[i], slots[i], l, g->mem, &g->wd[l], &c);
        }
        if (st || (st = zy_kv_cache_advance(g->mem, slots[i], e.len[i]))) return st;
    }
    return ZY_STATUS_OK;
}

// Rows x (R, C) -> logits (R, V) = x · sharedᵀ + final_logits_bias: a GEMV for one row, the
// multi-input GEMV for a few (over the typed copy with a weight type), a GEMM for many.
static void head(const marian_session *g, const float *x, int R, float *logits) {
    int C = g->h.d_model, V = g->h.vocab;
    if (R <= 12 && g->head_typed) zy__wgemv(logits, V, g->head_typed, x, C, g->flb, R);
    else if (R == 1) zy__gemv(logits, g->shared, x, g->flb, V, C);
    else if (R <= 12) zy__gemv_multi(logits, V, g->shared, x, C, g->flb, R, V, C);
    else zy_linear_forward(logits, x, g->shared, g->flb, R, C, V);
}

zy_status zy__marian_decode(zy_session *s, int n_seq, const int *seqs, const int *tokens, int n,
                            float *logits) {
    marian_session *g = zy_session_impl(s);
    const marian_hparams *h = &g->h;
    zy_status st = dec_alloc(g);
    if (st) return st;
    int C = h->d_model;
    for (int i = 0; i < n_seq; i++)
        if (zy_kv_cache_len(g->mem, g->mem_of[seqs[i]]) == 0)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "marian decode: sequence %d reads "
                             "memory slot %d, which holds no encoded source (zy_session_encode)",
                             seqs[i], g->mem_of[seqs[i]]);
    float *x = g->dec, *scratch = g->dec + (size_t)g->dec_rows * C;
    size_t scratch_floats = g->dec_floats - (size_t)g->dec_rows * C;
    int *ms = g->mem_rows;
    for (int i = 0; i < n_seq; i++) ms[i] = g->mem_of[seqs[i]];
    for (int t = 0; t < n && !st; t++) {
        for (int i = 0; i < n_seq; i++) {
            int id = tokens[(size_t)i * n + t];
            zy__marian_embed(g, x + (size_t)i * C, &id, 1, zy_kv_cache_len(g->cache, seqs[i]),
                             NULL);
        }
        for (int l = 0; l < h->dec_layers && !st; l++) {
            zy_block_config c = dec_config(g, l, n_seq);
            st = zy_block_decode_step_mem(x, scratch, scratch_floats, x, seqs, ms, n_seq, l,
                                          g->cache, g->mem, &g->wd[l], &c);
        }
        for (int i = 0; i < n_seq && !st; i++) st = zy_kv_cache_advance(g->cache, seqs[i], 1);
    }
    if (st) return st;
    zy_precision was = zy_gemm_precision_set(ZY_PRECISION_FP32); // a step's (block_decode.c)
    head(g, x, n_seq, logits);
    zy_gemm_precision_set(was);
    return ZY_STATUS_OK;
}

void zy__marian_seq_reset(zy_session *s, int seq) {
    marian_session *g = zy_session_impl(s);
    if (!g->cache) return;
    if (seq < 0) zy_kv_cache_reset(g->cache);
    else zy_kv_cache_reset_seq(g->cache, seq);
}

int zy__marian_seq_len(const zy_session *s, int seq) {
    const marian_session *g = zy_session_impl(s);
    return g->cache ? zy_kv_cache_len(g->cache, seq) : 0;
}

zy_status zy__marian_seq_copy(zy_session *s, int dst, int src) {
    marian_session *g = zy_session_impl(s);
    zy_status st = dec_alloc(g);
    if (st || (st = zy_kv_cache_copy_seq(g->cache, dst, src))) return st;
    g->mem_of[dst] = g->mem_of[src];
    return ZY_STATUS_OK;
}

zy_status zy__marian_seq_attach(zy_session *s, int seq, int slot) {
    marian_session *g = zy_session_impl(s);
    zy_status st = dec_alloc(g);
    if (st) return st;
    g->mem_of[seq] = slot;
    return ZY_STATUS_OK;
}
