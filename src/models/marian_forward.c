// Marian forward pass for training and evaluation: the activation block, dropout seeding,
// the embeddings and the forward itself (Hugging Face's MarianMTModel):
//   e = Drop(s · shared[src] + PE(t))                s = sqrt(d_model) if scale_embedding
//   per encoder layer (post-LN, the shared block):  e = LN1(e + Drop(SA(e)));
//                                                    e = LN2(e + Drop(FF(e)))
//   d = Drop(s · shared[dec_input] + PE(t))
//   per decoder layer: d = LN1(d + Drop(causal SA(d))); d = LN2(d + Drop(CA(d, e)));
//                      d = LN3(d + Drop(FF(d)))
//   logits = d · sharedᵀ + final_logits_bias;  loss = label-smoothed cross-entropy over
//   dec_targets (-1 not scored), mean over the scored targets
// Source keys are masked by the source lengths (self- and cross-attention), decoder keys by
// causality. FF(x) = W2 · Drop_act(act(W1 x + b1)) + b2. Nothing is allocated here.
#include <math.h>
#include <string.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "core/pool.h"
#include "kernels/argmax.h"
#include "models/marian_internal.h"
#include "nn/cross_entropy_inplace.h"

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

uint64_t zy__marian_site_seed(const marian_session *g, int site) {
    return zy_hash64(g->seed, 0x6d617269616e0000ull + (uint64_t)site); // "marian"
}

zy_block_config zy__marian_block_config(const marian_session *g, bool dec, int l, int B,
                                        int T, int Tm, const int *lengths,
                                        const int *mem_lengths) {
    const marian_hparams *h = &g->h;
    zy_block_config c = zy_block_default_config(dec ? ZY_BLOCK_DECODER : ZY_BLOCK_ENCODER, B,
                                                T, h->d_model, dec ? h->dec_heads : h->enc_heads,
                                                dec ? h->dec_ffn : h->enc_ffn);
    c.norm_first = false;
    c.act = h->act;
    c.eps = 1e-5f;
    c.Tm = dec ? Tm : 0;
    c.dropout = (zy_block_dropout){.attn = g->p_attn, .attn_out = g->p, .ff_hidden = g->p_act,
                                   .ff_out = g->p, .lora = g->p_lora};
    c.seed = zy__marian_site_seed(g, 2 + (dec ? h->enc_layers : 0) + l);
    c.self_attn.key_lengths = lengths;
    if (dec) c.cross_attn.key_lengths = mem_lengths;
    const zy_block_lora *lo = dec ? g->lora_d : g->lora_e;
    c.lora = lo ? &lo[l] : NULL;
    const zy_block_params *dw = dec ? g->dwd : g->dwe;
    c.frozen_linears = zy_block_frozen_linears(dw ? &dw[l] : NULL);
    return c;
}

// Carves the block for (B, T, Td); with base NULL only counts. Every share is sized with
// the model's dropout whatever the last forward used, so the carving does not move.
size_t zy__marian_acts_carve(const marian_session *g, float *base, int B, int T, int Td,
                             marian_acts *a) {
    const marian_hparams *h = &g->h;
    size_t C = (size_t)h->d_model, V = (size_t)h->vocab, Ne = (size_t)B * T,
           Nd = (size_t)B * Td;
    marian_session sizing = *g;
    sizing.p = h->dropout, sizing.p_attn = h->attn_dropout, sizing.p_act = h->act_dropout;
    sizing.p_lora = g->lora_dropout;
    size_t eb = 0, db = 0, scratch = 0;
    for (int l = 0; l < h->enc_layers; l++) {
        zy_block_config c = zy__marian_block_config(&sizing, false, l, B, T, 0, NULL, NULL);
        eb = ZY_MAX(eb, zy_block_acts_floats(&c));
        scratch = ZY_MAX(scratch, zy_block_scratch_floats(&c));
    }
    for (int l = 0; l < h->dec_layers; l++) {
        zy_block_config c = zy__marian_block_config(&sizing, true, l, B, Td, T, NULL, NULL);
        db = ZY_MAX(db, zy_block_acts_floats(&c));
        scratch = ZY_MAX(scratch, zy_block_scratch_floats(&c));
    }
    size_t off = 0;
#define TAKE(n) (base ? base + (off += round16(n), off - round16(n)) : (off += round16(n), NULL))
    marian_acts x;
    x.enc_stride = round16(Ne * C);
    x.dec_stride = round16(Nd * C);
    x.enc = TAKE((size_t)(h->enc_layers + 1) * x.enc_stride);
    x.dec = TAKE((size_t)(h->dec_layers + 1) * x.dec_stride);
    x.enc_block = round16(eb);
    x.dec_block = round16(db);
    x.enc_blocks = TAKE((size_t)h->enc_layers * x.enc_block);
    x.dec_blocks = TAKE((size_t)h->dec_layers * x.dec_block);
    x.src = (int *)TAKE(Ne);
    x.tgt = (int *)TAKE(Nd);
    x.targets = (int *)TAKE(Nd);
    x.src_len = (int *)TAKE((size_t)B);
    x.tgt_len = (int *)TAKE((size_t)B);
    x.logits = TAKE(Nd * V);
    x.lse = TAKE(Nd);
    x.ce_rows = TAKE(zy__cross_entropy_inplace_floats((int)V));
    x.ddec = TAKE(Nd * C);
    x.dmem = TAKE(Ne * C);
    x.tmp = TAKE(ZY_MAX(Ne, Nd) * C);
    x.scratch_floats = round16(scratch);
    x.scratch = TAKE(x.scratch_floats);
#undef TAKE
    if (a) *a = x;
    return off;
}

// The most floats any batch the session admits needs: B <= batch, T <= seq, Td <= seq_dec
// and, with a token bound, B x max(T, Td) <= tokens. The count grows with each of B, T
// and Td, so for a longest side m the largest batch has B = min(batch, tokens / m) rows of
// min(m, seq) and min(m, seq_dec) positions: one carving per m.
static size_t max_floats(const marian_session *g, int batch, int seq, int seq_dec) {
    if (!g->tokens) return zy__marian_acts_carve(g, NULL, batch, seq, ZY_MAX(seq_dec, 1), NULL);
    size_t most = 0;
    for (int m = 1; m <= ZY_MAX(seq, seq_dec); m++) {
        int B = ZY_MIN(batch, g->tokens / m);
        if (B < 1) break;
        most = ZY_MAX(most, zy__marian_acts_carve(g, NULL, B, ZY_MIN(m, seq),
                                                  ZY_MAX(1, ZY_MIN(m, seq_dec)), NULL));
    }
    return most;
}

zy_status zy__marian_prepare(zy_session *s, int B, int T, int Td) {
    marian_session *g = zy_session_impl(s);
    size_t n = max_floats(g, B, T, Td), bytes;
    if (!zy__mul_size(n, sizeof(float), &bytes) || zy__exceeds_memory(bytes))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY,
                         "marian prepare: activations for batch %d x seq %d (decoder %d, "
                         "tokens %d) need %.1f GiB, more than this machine's %.1f GiB",
                         B, T, Td, g->tokens, ZY_GIB((double)n * sizeof(float)),
                         ZY_GIB(zy__physical_memory()));
    float *acts = zy_alloc(bytes);
    if (!acts)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "marian prepare: out of memory for "
                         "activations (%.1f MiB)", (double)bytes / (1 << 20));
    zy_free(g->acts);
    g->acts = acts;
    g->acts_floats = n;
    g->backward_ok = g->logits_ok = g->outputs_ok = false;
    return ZY_STATUS_OK;
}

void zy__marian_embed(const marian_session *g, float *out, const int *ids, int n, int pos0,
                      const int *pos) {
    const marian_hparams *h = &g->h;
    int C = h->d_model;
    float scale = h->scale_embedding ? sqrtf((float)C) : 1.0f;
    for (int i = 0; i < n; i++) {
        const float *e = g->shared + (size_t)ids[i] * C;
        const float *p = h->pe + (size_t)(pos ? pos[i] : pos0 + i) * C;
        float *o = out + (size_t)i * C;
        for (int c = 0; c < C; c++) o[c] = scale * e[c] + p[c];
    }
}

// Rows of ids padded past their length with pad_id (what the embeddings read there); the
// lengths (T when the batch has none).
static void take_ids(int *dst, int *len, const int *ids, const int *lengths, int B, int T,
                     int pad) {
    for (int b = 0; b < B; b++) {
        len[b] = lengths ? lengths[b] : T;
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)b * T + t;
            dst[i] = t < len[b] ? ids[i] : pad;
        }
    }
}

static zy_status take_targets(int *dst, const zy_batch *b, const int *len, int V) {
    for (int r = 0; r < b->B; r++)
        for (int t = 0; t < b->T_dec; t++) {
            size_t i = (size_t)r * b->T_dec + t;
            int y = b->dec_targets[i];
            if (y != -1 && (y < 0 || y >= V || t >= len[r]))
                return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                                 "marian forward: target %d at (b=%d, t=%d) is %s", y, r, t,
                                 t >= len[r] ? "past the row's decoder length and not -1"
                                             : "outside the vocabulary and not -1 (ignored)");
            dst[i] = y;
        }
    return ZY_STATUS_OK;
}

// The embeddings of B rows of T ids, each row at positions 0..T-1, then dropout at site.
static void embed_rows(const marian_session *g, float *out, const int *ids, int B, int T,
                       int site) {
    for (int b = 0; b < B; b++)
        zy__marian_embed(g, out + (size_t)b * T * g->h.d_model, ids + (size_t)b * T, T, 0, NULL);
    size_t n = (size_t)B * T * g->h.d_model;
    if (g->p > 0) zy_dropout_forward(out, out, n, g->p, zy__marian_site_seed(g, site), 0);
}

// The plain cross-entropy and the argmax hits of the scored rows (the metrics), before
// backward overwrites the logits.
typedef struct score_job {
    const marian_acts *a;
    int V;
} score_job;

// Rows [r0, r1) scored into acc: {Σ -log p(target), targets that are the argmax}.
static void score_some(void *ctx, size_t r0, size_t r1, double *acc) {
    const score_job *j = ctx;
    const marian_acts *a = j->a;
    int V = j->V;
    for (size_t r = r0; r < r1; r++) {
        int y = a->targets[r];
        if (y < 0) continue;
        const float *z = a->logits + r * (size_t)V;
        acc[0] += (double)a->lse[r] - z[y];
        acc[1] += zy__argmax(z, V) == y;
    }
}

// The metrics' sums over the logits (a pass over all of them, for the argmax: by groups of
// rows on the pool's threads; one thread when there is no scratch for the groups).
static void score_rows(marian_session *g, const marian_acts *a, int N) {
    double sums[2] = {0.0, 0.0};
    score_job j = {a, g->h.vocab};
    if (!zy__parallel_row_sums((size_t)N, 2, 0, score_some, &j, sums))
        score_some(&j, 0, (size_t)N, sums);
    g->nll = g->n_valid ? (float)(sums[0] / g->n_valid) : 0.0f;
    g->n_correct = (int)sums[1];
}

zy_status zy__marian_forward(zy_session *s, const zy_batch *b, float *loss, double *count) {
    marian_session *g = zy_session_impl(s);
    const marian_hparams *h = &g->h;
    g->backward_ok = g->logits_ok = g->outputs_ok = g->scored = false;
    if (!b->dec_input_ids || b->T_dec < 1)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "marian forward: the batch has no "
                         "decoder rows (dec_input_ids, T_dec >= 1)");
    int B = b->B, T = b->T, Td = b->T_dec, C = h->d_model, V = h->vocab;
    int Nd = B * Td;
    marian_acts a;
    // prepare sized the block for the largest admissible batch (max_floats)
    ZY_ASSERT(zy__marian_acts_carve(g, g->acts, B, T, Td, &a) <= g->acts_floats);
    take_ids(a.src, a.src_len, b->input_ids, b->lengths, B, T, h->pad_id);
    take_ids(a.tgt, a.tgt_len, b->dec_input_ids, b->dec_lengths, B, Td, h->pad_id);
    for (int r = 0; r < B; r++)
        if (a.src_len[r] < 1)
            return zy__error(ZY_STATUS_INVALID_ARGUMENT, "marian forward: source row %d is "
                             "empty (every source ends with eos)", r);
    zy_status st;
    if (b->dec_targets && (st = take_targets(a.targets, b, a.tgt_len, V))) return st;
    g->seed = zy_session_seed(s);
    bool train = zy_session_training(s);
    g->p = train ? h->dropout : 0.0f;
    g->p_attn = train ? h->attn_dropout : 0.0f;
    g->p_act = train ? h->act_dropout : 0.0f;
    g->p_lora = train ? g->lora_dropout : 0.0f;
    g->eps = zy_session_label_smoothing(s);
    g->B = B, g->T = T, g->Td = Td;

    embed_rows(g, a.enc, a.src, B, T, 0);
    for (int l = 0; l < h->enc_layers; l++) {
        zy_block_config c = zy__marian_block_config(g, false, l, B, T, 0, a.src_len, NULL);
        st = zy_block_forward(a.enc + (size_t)(l + 1) * a.enc_stride,
                              a.enc_blocks + (size_t)l * a.enc_block, a.scratch,
                              a.scratch_floats, a.enc + (size_t)l * a.enc_stride, NULL,
                              &g->we[l], &c);
        if (st) return st;
    }
    const float *mem = a.enc + (size_t)h->enc_layers * a.enc_stride;
    embed_rows(g, a.dec, a.tgt, B, Td, 1);
    for (int l = 0; l < h->dec_layers; l++) {
        zy_block_config c = zy__marian_block_config(g, true, l, B, Td, T, a.tgt_len, a.src_len);
        st = zy_block_forward(a.dec + (size_t)(l + 1) * a.dec_stride,
                              a.dec_blocks + (size_t)l * a.dec_block, a.scratch,
                              a.scratch_floats, a.dec + (size_t)l * a.dec_stride, mem,
                              &g->wd[l], &c);
        if (st) return st;
    }
    const float *out = a.dec + (size_t)h->dec_layers * a.dec_stride;
    zy_linear_forward(a.logits, out, g->shared, g->flb, Nd, C, V);
    g->logits_ok = g->outputs_ok = true;
    if (!b->dec_targets) return ZY_STATUS_OK;
    float l;
    if ((st = zy_cross_entropy_forward(&l, &g->n_valid, a.lse, a.logits, a.targets, Nd, V, -1,
                                       g->eps)))
        return st;
    score_rows(g, &a, Nd);
    g->scored = true;
    if (loss) *loss = l;
    if (count) *count = g->n_valid;
    g->backward_ok = true;
    return ZY_STATUS_OK;
}

// "nll_loss" (the plain cross-entropy, whatever the label smoothing: its exp is the
// perplexity) and "accuracy" (argmax of the logits) over the scored targets.
void zy__marian_metrics(const zy_session *s, zy_metric_set *out) {
    const marian_session *g = zy_session_impl(s);
    if (!g->scored) return;
    out->n = 2;
    out->m[0] = (zy_metric){"nll_loss", g->nll, g->n_valid};
    out->m[1] = (zy_metric){"accuracy", g->n_valid ? (double)g->n_correct / g->n_valid : 0.0,
                            g->n_valid};
}
