// GPT incremental decoding over the KV cache of a batch of sequences (no dropout): a
// prompt in chunks, then one token at a time, or one token of each of several sequences
// in one step (beams, parallel requests: each weight is read once for all of them). Each
// position's keys and values are kept, so a new token costs one query per layer instead
// of recomputing the sequence. The blocks are the shared decoder block's cached path
// (zy_block_decode / zy_block_decode_step), equal to the training forward in
// gpt_forward.c (the tests check logits agree at every position).
//
// Memory: the first decode of a session allocates the cache, (L, n_seq, 2, n_positions, C)
// floats (or 16-bit values: zy_session_params.kv_cache), and a scratch block for chunks of
// up to DEC_CHUNK positions (or n_seq rows; long prompts are fed in chunks, so the scratch
// does not grow with the prompt: about 12 MB for GPT-2 124M). Later calls allocate
// nothing.
#include <string.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "kernels/gemv.h"
#include "kernels/wgemv.h"
#include "models/gpt_internal.h"

// Prompt positions a chunk: its products are GEMMs, which grow more efficient with the
// rows (GPT-2 124M, 2 threads, bf16 GEMMs: a 512-token prompt at 1090 tok/s in chunks of
// 128, 1345 in chunks of 256; chunks of 64 were 1000 on a 128-token prompt).
#define DEC_CHUNK 256

typedef struct dec_bufs {
    float *x;           // (R, C) rows being decoded: a chunk, or one per sequence
    float *h;           // (R, C) layernorm output of the rows whose logits are wanted
    float *mean, *rstd; // (R)
    float *scratch;     // the blocks' decode scratch
    size_t scratch_floats;
} dec_bufs;

static int dec_rows(const gpt_session *g) { return ZY_MAX(DEC_CHUNK, g->n_seq); }

// The blocks' configuration for decoding: never any dropout, and no kept attention
// weights (decoding reads the KV cache; only forward keeps them).
static zy_block_config dec_config(const gpt_session *g, int B, int T, int l) {
    zy_block_config c = zy__gpt_block_config(g, B, T, l);
    c.dropout = (zy_block_dropout){0};
    c.need_weights = false;
    c.typed = g->typed ? g->typed[l] : NULL;
    return c;
}

static dec_bufs dec_carve(const gpt_session *g, float *base, size_t *total) {
    size_t R = (size_t)dec_rows(g), C = (size_t)g->h.n_embd, off = 0, scratch = 0;
    for (int l = 0; l < g->h.n_layer; l++) { // the largest block's (their adapters differ)
        zy_block_config bc = dec_config(g, 1, 1, l);
        scratch = ZY_MAX(scratch, zy_block_decode_scratch_floats(&bc, g->cache, NULL, (int)R));
    }
#define TAKE(n) (base ? base + (off += (n), off - (n)) : (off += (n), NULL))
    dec_bufs d;
    d.x = TAKE(R * C);
    d.h = TAKE(R * C);
    d.mean = TAKE(R);
    d.rstd = TAKE(R);
    d.scratch_floats = scratch;
    d.scratch = TAKE(d.scratch_floats);
#undef TAKE
    if (total) *total = off;
    return d;
}

static zy_status dec_alloc(gpt_session *g) {
    const gpt_hparams *h = &g->h;
    zy_status st = zy_kv_cache_create_typed(&g->cache, h->n_layer, g->n_seq, h->n_head,
                                            h->n_positions, h->n_embd / h->n_head, g->kv_cache);
    if (st) return st;
    size_t n;
    dec_carve(g, NULL, &n);
    g->dec = zy_alloc(n * sizeof(float));
    if (!g->dec) {
        zy_kv_cache_free(g->cache);
        g->cache = NULL;
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "gpt decode: out of memory for the scratch "
                         "(%.1f MiB)", (double)n * 4 / (1 << 20));
    }
    g->dec_floats = n;
    return ZY_STATUS_OK;
}

void zy__gpt_decode_free(gpt_session *g) {
    zy_kv_cache_free(g->cache);
    zy_free(g->dec);
}

void zy__gpt_seq_reset(zy_session *s, int seq) {
    gpt_session *g = zy_session_impl(s);
    if (!g->cache) return;
    if (seq < 0) zy_kv_cache_reset(g->cache);
    else zy_kv_cache_reset_seq(g->cache, seq);
}

int zy__gpt_seq_len(const zy_session *s, int seq) {
    const gpt_session *g = zy_session_impl(s);
    return g->cache ? zy_kv_cache_len(g->cache, seq) : 0;
}

zy_status zy__gpt_seq_copy(zy_session *s, int dst, int src) {
    gpt_session *g = zy_session_impl(s);
    zy_status st;
    if (!g->cache && (st = dec_alloc(g))) return st;
    return zy_kv_cache_copy_seq(g->cache, dst, src);
}

// Rows x (n, C) -> logits (n, V) of the final layernorm: one GEMV over the tied head for a
// row, a multi-input GEMV (each weight row read once) for several; over its typed copy
// when the model has a weight type.
static void head(const gpt_session *g, const dec_bufs *d, const float *x, int n, float *logits) {
    const gpt_weights *w = &g->ew;
    int C = g->h.n_embd, V = g->h.vocab_size;
    zy_layernorm_forward(d->h, d->mean, d->rstd, x, w->lnfw, w->lnfb, n, C,
                         g->h.layer_norm_epsilon);
    if (g->head_typed) zy__wgemv(logits, V, g->head_typed, d->h, C, NULL, n);
    else if (n == 1) zy__gemv(logits, w->wte, d->h, NULL, V, C);
    else zy__gemv_multi(logits, V, w->wte, d->h, C, NULL, n, V, C);
}

// Rows x (n, C) = wte[tokens] + wpe[pos .. pos + n): zy_embedding_forward, or with the
// head's typed copy each token's row decoded from it (zy__wdecode_row), the values the
// fp32 wte holds (zy_model_set_weight_type rounded it to them), plus wpe's in the same
// sum: the same bits, and the fp32 wte is not read (zy_model_drop_fp32 may have freed
// it). The ids were checked by zy_session_decode.
static zy_status embed(const gpt_session *g, float *x, const int *tokens, int n, int pos) {
    const int C = g->h.n_embd;
    const float *p = g->ew.wpe + (size_t)pos * C;
    const zy_wmatrix *w = g->head_typed;
    if (!w) return zy_embedding_forward(x, tokens, g->ew.wte, p, 1, n, C, g->h.vocab_size);
    for (int r = 0; r < n; r++, x += C, p += C) {
        zy__wdecode_row(w->type, (const uint8_t *)w->data + (size_t)tokens[r] * w->row_bytes,
                        x, (size_t)C);
        for (int c = 0; c < C; c++) x[c] += p[c];
    }
    return ZY_STATUS_OK;
}

// One sequence: tokens (n) appended in chunks; the last position's logits (V).
static zy_status decode_seq(gpt_session *g, const dec_bufs *d, int seq, const int *tokens,
                            int n, float *logits) {
    const gpt_hparams *c = &g->h;
    int C = c->n_embd, last = 0;
    for (int i = 0; i < n; i += DEC_CHUNK) {
        last = ZY_MIN(DEC_CHUNK, n - i);
        int pos = zy_kv_cache_len(g->cache, seq);
        zy_status st = embed(g, d->x, tokens + i, last, pos);
        for (int l = 0; l < c->n_layer && !st; l++) {
            zy_block_config bc = dec_config(g, 1, last, l);
            st = zy_block_decode(d->x, d->scratch, d->scratch_floats, d->x, last, seq, l,
                                 g->cache, NULL, &g->w[l], &bc);
        }
        if (!st) st = zy_kv_cache_advance(g->cache, seq, last);
        if (st) return st;
    }
    head(g, d, d->x + (size_t)(last - 1) * C, 1, logits);
    return ZY_STATUS_OK;
}

// One new token for each of n sequences (row i for seqs[i]), each at its own position.
static zy_status decode_step(gpt_session *g, const dec_bufs *d, int n, const int *seqs,
                             const int *tokens, float *logits) {
    const gpt_hparams *c = &g->h;
    int C = c->n_embd;
    zy_status st = ZY_STATUS_OK;
    for (int i = 0; i < n && !st; i++) {
        int pos = zy_kv_cache_len(g->cache, seqs[i]);
        st = embed(g, d->x + (size_t)i * C, tokens + i, 1, pos);
    }
    for (int l = 0; l < c->n_layer && !st; l++) {
        zy_block_config bc = dec_config(g, n, 1, l);
        st = zy_block_decode_step(d->x, d->scratch, d->scratch_floats, d->x, seqs, n, l,
                                  g->cache, NULL, &g->w[l], &bc);
    }
    for (int i = 0; i < n && !st; i++) st = zy_kv_cache_advance(g->cache, seqs[i], 1);
    if (st) return st;
    head(g, d, d->x, n, logits);
    return ZY_STATUS_OK;
}

// Arguments were checked by the generic session (sequences, ids, room in the context).
zy_status zy__gpt_decode(zy_session *s, int n_seq, const int *seqs, const int *tokens, int n,
                         float *logits) {
    gpt_session *g = zy_session_impl(s);
    zy_status st;
    if (!g->cache && (st = dec_alloc(g))) return st;
    dec_bufs d = dec_carve(g, g->dec, NULL);
    if (n == 1 && n_seq > 1) return decode_step(g, &d, n_seq, seqs, tokens, logits);
    for (int i = 0; i < n_seq; i++) {
        st = decode_seq(g, &d, seqs[i], tokens + (size_t)i * n, n,
                        logits + (size_t)i * g->h.vocab_size);
        if (st) return st;
    }
    return ZY_STATUS_OK;
}
