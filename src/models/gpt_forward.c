// GPT forward pass for training and evaluation: the activation block (sized once by
// prepare and carved per batch), dropout seeding, and the forward itself:
//   x = Drop(wte[tokens] + wpe[t])
//   per block:  x = x + Drop(Attn(LN1(x)));  x = x + Drop(W2 · gelu_tanh(W1 · LN2(x)))
//   logits = LN_f(x) · wteᵀ;  loss = mean cross-entropy
// Every intermediate backward needs is kept; nothing is allocated here. Incremental
// decoding (one token at a time, KV cache) is gpt_decode.c.
#include <string.h>

#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "core/pool.h"
#include "models/gpt_internal.h"

// Each sub-buffer starts on a 64-byte boundary (16 floats) so SIMD kernels see aligned rows.
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

uint64_t zy__gpt_site_seed(const gpt_session *g, int site) {
    return zy_hash64(g->seed, 0x9e3779b97f4a7c15ull + (uint64_t)site);
}

// Carves the block for a (B, T) batch; with base NULL only counts (returns the total
// through *total). One function for both so the count and the carving cannot disagree.
static gpt_acts carve(const gpt_session *g, float *base, int B, int T, size_t *total,
                      gpt_layer_acts *layer, int want_layer) {
    size_t N = (size_t)B * T, C = (size_t)g->h.n_embd, V = (size_t)g->h.vocab_size;
    int L = g->h.n_layer;
    size_t attn = round16(zy__gpt_attn_acts_floats(g, B, T));
    size_t attn_scratch = round16(zy__gpt_attn_scratch_floats(g, B, T));
    size_t nc = round16(N * C), n1 = round16(N), n4 = round16(4 * N * C);
    size_t off = 0;
#define TAKE(n) (base ? base + (off += (n), off - (n)) : (off += (n), NULL))
    gpt_acts a;
    a.res = TAKE((size_t)(L + 1) * nc);
    for (int l = 0; l < L; l++) {
        gpt_layer_acts la;
        la.ln1 = TAKE(nc);
        la.ln1_mean = TAKE(n1);
        la.ln1_rstd = TAKE(n1);
        la.attn = TAKE(attn);
        la.res_mid = TAKE(nc);
        la.ln2 = TAKE(nc);
        la.ln2_mean = TAKE(n1);
        la.ln2_rstd = TAKE(n1);
        la.fc_pre = TAKE(n4);
        la.fc_act = TAKE(n4);
        if (layer && l == want_layer) *layer = la;
    }
    a.lnf = TAKE(nc);
    a.lnf_mean = TAKE(n1);
    a.lnf_rstd = TAKE(n1);
    a.logits = TAKE(round16(N * V));
    a.lse = TAKE(n1);
    a.tokens = (int *)TAKE(n1);
    a.targets = (int *)TAKE(n1);
    a.branch = TAKE(nc);
    a.dres = TAKE(nc);
    a.dln = TAKE(nc);
    a.dfc_act = TAKE(n4);
    a.dfc_pre = TAKE(n4);
    a.attn_scratch = TAKE(attn_scratch);
    a.attn_scratch_floats = attn_scratch;
    a.ce_rows = TAKE(GPT_CE_CHUNKS * round16(V));
#undef TAKE
    if (total) *total = off;
    return a;
}

size_t zy__gpt_acts_floats(const gpt_session *g, int B, int T) {
    size_t total;
    carve(g, NULL, B, T, &total, NULL, -1);
    return total;
}

gpt_acts zy__gpt_acts(const gpt_session *g, int B, int T) {
    return carve(g, g->acts, B, T, NULL, NULL, -1);
}

gpt_layer_acts zy__gpt_layer_acts(const gpt_session *g, int B, int T, int l) {
    gpt_layer_acts la;
    carve(g, g->acts, B, T, NULL, &la, l);
    return la;
}

// Sizes are checked by the generic session (B*T <= 2^24, T <= n_positions).
zy_status zy__gpt_prepare(zy_session *s, int B, int T, int seq_dec) {
    (void)seq_dec;
    gpt_session *g = zy_session_impl(s);
    int threads = g->flash_threads;
    g->flash_threads = zy__parallel_threads(); // the carving sizes attention scratch by it
    size_t n = zy__gpt_acts_floats(g, B, T);
    float *acts = zy_alloc(n * sizeof(float));
    if (!acts) {
        g->flash_threads = threads;
        return zy__error(ZY_STATUS_OUT_OF_MEMORY,
                         "gpt prepare: out of memory for activations of B=%d T=%d (%.1f MiB)",
                         B, T, (double)n * 4 / (1 << 20));
    }
    zy_free(g->acts);
    g->acts = acts;
    g->cap_B = B;
    g->cap_T = T;
    g->backward_ok = g->logits_ok = false;
    return ZY_STATUS_OK;
}

// Targets are checked here (not only in cross-entropy) so the error names (b, t).
static zy_status check_targets(const int *targets, int B, int T, int V) {
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int y = targets[(size_t)b * T + t];
            if (y != -1 && (y < 0 || y >= V))
                return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                                 "gpt forward: target id %d at (b=%d, t=%d) is outside [0, %d) "
                                 "and not -1 (ignored)",
                                 y, b, t, V);
        }
    return ZY_STATUS_OK;
}

// Ids and shapes are checked by the generic session; targets here.
zy_status zy__gpt_forward(zy_session *s, const zy_batch *batch, float *loss, double *count) {
    gpt_session *g = zy_session_impl(s);
    const gpt_hparams *c = &g->h;
    int B = batch->B, T = batch->T;
    const int *inputs = batch->input_ids, *targets = batch->targets;
    int C = c->n_embd, V = c->vocab_size, L = c->n_layer, N = B * T;
    float eps = c->layer_norm_epsilon;
    g->backward_ok = g->logits_ok = false;
    zy_status st;
    if (targets && (st = check_targets(targets, B, T, V))) return st;
    // The masks of this forward, kept for its backward whatever the session does between.
    g->seed = zy_session_seed(s);
    g->p = zy_session_training(s) ? c->dropout : 0.0f;
    gpt_acts a = zy__gpt_acts(g, B, T);
    const gpt_weights *w = &g->ew;
    size_t nc = (size_t)N * C;
    float p = g->p;

    st = zy_embedding_forward(a.res, inputs, w->wte, w->wpe, B, T, C, V);
    if (st) return st;
    g->B = B;
    g->T = T;
    memcpy(a.tokens, inputs, (size_t)N * sizeof *inputs);
    if (p > 0) zy_dropout_forward(a.res, a.res, nc, p, zy__gpt_site_seed(g, 0), 0);

    for (int l = 0; l < L; l++) {
        const gpt_layer *gl = &g->w[l];
        gpt_layer_acts la = zy__gpt_layer_acts(g, B, T, l);
        float *x = a.res + (size_t)l * nc, *y = x + nc;

        zy_layernorm_forward(la.ln1, la.ln1_mean, la.ln1_rstd, x, gl->ln1w, gl->ln1b, N, C, eps);
        st = zy__gpt_attn_forward(g, a.branch, la.attn, a.attn_scratch, a.attn_scratch_floats,
                                  la.ln1, gl, B, T, l);
        if (st) return st;
        if (p > 0) zy_dropout_forward(a.branch, a.branch, nc, p, zy__gpt_site_seed(g, 2 + 3 * l), 0);
        zy_residual_forward(la.res_mid, x, a.branch, nc);

        zy_layernorm_forward(la.ln2, la.ln2_mean, la.ln2_rstd, la.res_mid, gl->ln2w, gl->ln2b,
                             N, C, eps);
        zy_linear_forward(la.fc_pre, la.ln2, gl->fcw, gl->fcb, N, C, 4 * C);
        zy_gelu_forward(la.fc_act, la.fc_pre, 4 * nc, ZY_GELU_TANH);
        zy_linear_forward(a.branch, la.fc_act, gl->projw, gl->projb, N, 4 * C, C);
        if (p > 0) zy_dropout_forward(a.branch, a.branch, nc, p, zy__gpt_site_seed(g, 3 + 3 * l), 0);
        zy_residual_forward(y, la.res_mid, a.branch, nc);
    }

    zy_layernorm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, a.res + (size_t)L * nc, w->lnfw,
                         w->lnfb, N, C, eps);
    // Tied head: logits (N, V) = lnf (N, C) · wteᵀ, one GEMM over all B*T rows.
    zy_sgemm(false, true, N, V, C, 1.0f, a.lnf, C, w->wte, C, 0.0f, a.logits, V);
    g->logits_ok = true;
    if (!targets) return ZY_STATUS_OK;
    memcpy(a.targets, targets, (size_t)N * sizeof *targets);
    float l;
    st = zy_cross_entropy_forward(&l, &g->n_valid, a.lse, a.logits, a.targets, N, V, -1, 0.0f);
    if (st) return st;
    if (loss) *loss = l;
    if (count) *count = g->n_valid;
    g->backward_ok = true;
    return ZY_STATUS_OK;
}
