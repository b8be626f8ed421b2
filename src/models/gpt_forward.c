// GPT forward pass for training and evaluation: the activation block (sized once by
// prepare and carved for the prepared shape), dropout seeding, and the forward itself:
//   x = Drop(wte[tokens] + wpe[t])
//   per block (the shared pre-LN decoder block of src/nn, GELU-tanh):
//     x = x + Drop(Attn(LN1(x)));  x = x + Drop(W2 · gelu_tanh(W1 · LN2(x)))
//   logits = LN_f(x) · wteᵀ;  loss = mean cross-entropy
//   (GPT2ForSequenceClassification: logits (B, K) = score(LN_f(x) at each row's last token),
//   the loss of its problem type: gpt_task.c)
// Every intermediate backward needs is kept; nothing is allocated here. Incremental
// decoding (KV cache) is gpt_decode.c.
#include <string.h>

#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "models/gpt_internal.h"
#include "nn/cross_entropy_inplace.h"

// Each sub-buffer starts on a 64-byte boundary (16 floats) so SIMD kernels see aligned rows.
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

uint64_t zy__gpt_site_seed(const gpt_session *g, int site) {
    return zy_hash64(g->seed, 0x9e3779b97f4a7c15ull + (uint64_t)site);
}

zy_block_config zy__gpt_block_config(const gpt_session *g, int B, int T, int l) {
    const gpt_hparams *h = &g->h;
    zy_block_config c =
        zy_block_default_config(ZY_BLOCK_DECODER, B, T, h->n_embd, h->n_head, 4 * h->n_embd);
    c.norm_first = true;
    c.act = ZY_BLOCK_GELU_TANH;
    c.eps = h->layer_norm_epsilon;
    c.dropout = (zy_block_dropout){.attn = g->p, .attn_out = g->p, .ff_out = g->p};
    c.seed = zy__gpt_site_seed(g, 1 + l);
    c.need_weights = g->keep_attention;
    c.lora = g->lora ? &g->lora[l] : NULL;
    c.dropout.lora = g->p_lora;
    // Which weights train is fixed when the session is made (no backward at all without
    // gradients): forward keeps no input only a frozen weight's gradient would read.
    c.frozen_linears = zy_block_frozen_linears(g->dw ? &g->dw[l] : NULL);
    return c;
}

// Carves the block for (B, T); with base NULL only counts (returns the total through
// *total). One function for both so the count and the carving cannot disagree. The
// blocks' shares are sized with the model's dropout whatever the last forward used: what
// the plain attention core saves (kept weights) grows with it, and the carving must not
// move between prepare and a forward in either mode.
static gpt_acts carve(const gpt_session *g, float *base, int B, int T, size_t *total) {
    size_t N = (size_t)B * T, C = (size_t)g->h.n_embd, V = (size_t)g->h.vocab_size;
    int L = g->h.n_layer;
    gpt_session sizing = *g;
    sizing.p = g->h.dropout;
    sizing.p_lora = g->lora_dropout;
    // The blocks' shares: the largest block's (blocks differ only by their adapters).
    size_t block_acts = 0, block_scratch = 0;
    for (int l = 0; l < L; l++) {
        zy_block_config bl = zy__gpt_block_config(&sizing, B, T, l);
        block_acts = ZY_MAX(block_acts, zy_block_acts_floats(&bl));
        block_scratch = ZY_MAX(block_scratch, zy_block_scratch_floats(&bl));
    }
    size_t nc = round16(N * C), n1 = round16(N);
    size_t off = 0;
#define TAKE(n) (base ? base + (off += (n), off - (n)) : (off += (n), NULL))
    gpt_acts a;
    a.res = TAKE((size_t)(L + 1) * nc);
    a.block_acts = round16(block_acts);
    a.blocks = TAKE((size_t)L * a.block_acts);
    a.lnf = TAKE(nc);
    a.lnf_mean = TAKE(n1);
    a.lnf_rstd = TAKE(n1);
    bool cls = g->h.seq_cls;
    a.logits = cls ? NULL : TAKE(round16(N * V)); // the classifier has no LM head
    a.lse = TAKE(n1);
    a.tokens = (int *)TAKE(n1);
    a.targets = (int *)TAKE(n1);
    a.dres = TAKE(nc);
    a.dln = TAKE(nc);
    a.scratch_floats = round16(block_scratch);
    a.scratch = TAKE(a.scratch_floats);
    a.ce_rows = cls ? NULL : TAKE(zy__cross_entropy_inplace_floats((int)V));
    a.last = NULL;
    a.cls_x = a.dcls_x = a.cls_logits = a.dcls = a.cls_buf = a.score_t = a.lora_scratch = NULL;
    if (cls) {
        size_t K = (size_t)g->h.labels.n, rows = round16((size_t)B * C);
        a.last = (int *)TAKE(round16((size_t)B));
        a.cls_x = TAKE(rows);
        a.dcls_x = TAKE(rows);
        a.cls_logits = TAKE(round16((size_t)B * K));
        a.dcls = TAKE(round16((size_t)B * K));
        a.cls_buf = TAKE(zy__seqcls_floats(B, (int)K));
        if (g->score_lora.A) {
            a.score_t = TAKE(round16((size_t)B * g->score_lora.r));
            a.lora_scratch = TAKE(zy_lora_backward_floats(B, &g->score_lora, g->lora_dropout));
        }
    }
#undef TAKE
    if (total) *total = off;
    return a;
}

size_t zy__gpt_acts_floats(const gpt_session *g, int B, int T) {
    size_t total;
    carve(g, NULL, B, T, &total);
    return total;
}

gpt_acts zy__gpt_acts(const gpt_session *g) {
    return carve(g, g->acts, g->cap_B, g->cap_T, NULL);
}

// Sizes are checked by the generic session (B*T <= 2^24, T <= n_positions) and the config
// (n_layer <= 2^12, n_embd <= 2^16, vocab_size <= 2^24: gpt_config.c), so the count below
// stays under 2^60 floats (the (B*T, V) logits at most 2^48, each layer's saved
// activations a few (B*T, 4C) at most 2^43, attention on the tiled core O(T); kept
// attention weights B*H*T*T per layer, at most 2^24 * 2^16 with H <= C) and cannot wrap. A block beyond the machine's memory is refused before anything is allocated,
// naming the sizes that set it.
zy_status zy__gpt_prepare(zy_session *s, int B, int T, int seq_dec) {
    (void)seq_dec;
    gpt_session *g = zy_session_impl(s);
    size_t n = zy__gpt_acts_floats(g, B, T), bytes; // the blocks' scratch fits today's threads
    if (!zy__mul_size(n, sizeof(float), &bytes) || zy__exceeds_memory(bytes))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY,
                         "gpt prepare: activations for batch %d x seq %d need %.1f GiB, more "
                         "than this machine's %.1f GiB of memory (n_layer = %d, n_embd = %d; "
                         "the logits alone are batch x seq x vocab_size = %d x %d x %d floats)",
                         B, T, ZY_GIB((double)n * sizeof(float)),
                         ZY_GIB(zy__physical_memory()), g->h.n_layer, g->h.n_embd, B, T,
                         g->h.vocab_size);
    float *acts = zy_alloc(bytes);
    if (!acts)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY,
                         "gpt prepare: out of memory for activations of B=%d T=%d (%.1f MiB)",
                         B, T, (double)n * 4 / (1 << 20));
    zy_free(g->acts);
    g->acts = acts;
    g->cap_B = B;
    g->cap_T = T;
    g->backward_ok = g->logits_ok = g->outputs_ok = false;
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

// Ids and shapes are checked by the generic session; targets here (the classifier's
// labels and values in gpt_task.c; it reads no targets).
zy_status zy__gpt_forward(zy_session *s, const zy_batch *batch, float *loss, double *count) {
    gpt_session *g = zy_session_impl(s);
    const gpt_hparams *c = &g->h;
    int B = batch->B, T = batch->T;
    const int *targets = c->seq_cls ? NULL : batch->targets;
    int C = c->n_embd, V = c->vocab_size, L = c->n_layer, N = B * T;
    g->backward_ok = g->logits_ok = g->outputs_ok = false;
    zy_status st;
    zy__problem problem = ZY__PROBLEM_NONE;
    if (targets && (st = check_targets(targets, B, T, V))) return st;
    if (c->seq_cls && (st = zy__gpt_task_check(c, batch, &problem))) return st;
    // The masks of this forward, kept for its backward whatever the session does between.
    g->seed = zy_session_seed(s);
    g->p = zy_session_training(s) ? c->dropout : 0.0f;
    g->p_lora = zy_session_training(s) ? g->lora_dropout : 0.0f;
    gpt_acts a = zy__gpt_acts(g);
    const gpt_weights *w = &g->ew;
    size_t nc = (size_t)N * C, stride = ((size_t)g->cap_B * g->cap_T * C + 15) & ~(size_t)15;

    // The ids used: padding (past a row's length, when the batch gives lengths) read as 0.
    // Causal attention keeps padding on the right from changing any earlier position.
    for (int r = 0; r < B; r++) {
        int n = batch->lengths ? batch->lengths[r] : T;
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)r * T + t;
            a.tokens[i] = t < n ? batch->input_ids[i] : 0;
        }
    }
    if ((st = zy_embedding_forward(a.res, a.tokens, w->wte, w->wpe, B, T, C, V))) return st;
    g->B = B;
    g->T = T;
    if (g->p > 0) zy_dropout_forward(a.res, a.res, nc, g->p, zy__gpt_site_seed(g, 0), 0);

    for (int l = 0; l < L; l++) {
        zy_block_config bc = zy__gpt_block_config(g, B, T, l);
        const float *x = a.res + (size_t)l * stride;
        st = zy_block_forward(a.res + (size_t)(l + 1) * stride, a.blocks + (size_t)l * a.block_acts,
                              a.scratch, a.scratch_floats, x, NULL, &g->w[l], &bc);
        if (st) return st;
    }

    zy_layernorm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, a.res + (size_t)L * stride, w->lnfw,
                         w->lnfb, N, C, c->layer_norm_epsilon);
    if (c->seq_cls) {
        float l;
        double n;
        if ((st = zy__gpt_task_forward(g, &a, batch, problem, &l, &n))) return st;
        g->outputs_ok = true;
        g->backward_ok = problem != ZY__PROBLEM_NONE;
        if (loss) *loss = l;
        if (count) *count = n;
        return ZY_STATUS_OK;
    }
    // Tied head: logits (N, V) = lnf (N, C) · wteᵀ, one GEMM over all B*T rows.
    zy_sgemm(false, true, N, V, C, 1.0f, a.lnf, C, w->wte, C, 0.0f, a.logits, V);
    g->logits_ok = g->outputs_ok = true;
    if (!targets) return ZY_STATUS_OK;
    memcpy(a.targets, targets, (size_t)N * sizeof *targets);
    float l;
    g->eps = zy_session_label_smoothing(s);
    st = zy_cross_entropy_forward(&l, &g->n_valid, a.lse, a.logits, a.targets, N, V, -1, g->eps);
    if (st) return st;
    if (loss) *loss = l;
    if (count) *count = g->n_valid;
    g->backward_ok = true;
    return ZY_STATUS_OK;
}
