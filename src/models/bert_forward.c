// BERT forward pass for training and evaluation: the activation block (sized once by
// prepare and carved for the prepared shape), dropout seeding, batch checks, and the
// forward itself:
//   x = Drop(LN(word[ids] + pos[t] + type[types]))
//   per layer (the shared post-LN encoder block of src/nn, keys masked by lengths):
//     h = LN1(x + Drop(Attn(x)));  x = LN2(h + Drop(W2 · act(W1 · h)))
//   pooled = tanh(Wp · x[:, 0] + bp);           nsp_logits = Ws · pooled + bs
//   mlm_logits = LN(act(Wt · x + bt)) · wordᵀ + cls.predictions.bias
//   loss = mean CE(mlm_logits, targets) + mean CE(nsp_logits, labels)
//   or the task head's (bert_task.c) on the pooled output or the hidden states
// Positions at or past a row's length are padding: their ids are read as pad_token_id and
// their token types as 0 whatever the batch holds there, no key attends to them, and they
// must not carry an MLM target. Every intermediate backward needs is kept; nothing is
// allocated here.
#include <math.h>
#include <string.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "kernels/argmax.h"
#include "models/bert_internal.h"
#include "nn/cross_entropy_inplace.h"

// Each sub-buffer starts on a 64-byte boundary (16 floats) so SIMD kernels see aligned rows.
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

uint64_t zy__bert_site_seed(const bert_session *g, int site) {
    return zy_hash64(g->seed, 0x9e3779b97f4a7c15ull + (uint64_t)site);
}

static zy_block_act block_act(bert_act a) {
    return a == BERT_ACT_GELU ? ZY_BLOCK_GELU_ERF : a == BERT_ACT_RELU ? ZY_BLOCK_RELU
                                                                       : ZY_BLOCK_GELU_TANH;
}

zy_block_config zy__bert_block_config(const bert_session *g, int B, int T, int l,
                                      const int *lengths) {
    const bert_hparams *h = &g->h;
    zy_block_config c =
        zy_block_default_config(ZY_BLOCK_ENCODER, B, T, h->hidden, h->n_head, h->intermediate);
    c.norm_first = false;
    c.act = block_act(h->act);
    c.eps = h->eps;
    c.dropout = (zy_block_dropout){.attn = g->p_attn, .attn_out = g->p_hidden,
                                   .ff_out = g->p_hidden};
    c.seed = zy__bert_site_seed(g, 1 + l);
    c.self_attn.key_lengths = lengths;
    c.need_weights = g->keep_attention;
    c.lora = g->lora ? &g->lora[l] : NULL;
    c.dropout.lora = g->p_lora;
    // Which weights train is fixed when the session is made (no backward at all without
    // gradients): forward keeps no input only a frozen weight's gradient would read.
    c.frozen_linears = zy_block_frozen_linears(g->dw ? &g->dw[l] : NULL);
    return c;
}

// The heads' adapters run with their own dropout streams (sites 2 + L + k).
static uint64_t lora_seed(const bert_session *g, int k) {
    return zy__bert_site_seed(g, 2 + g->h.n_layer + k);
}

void zy__bert_lora_forward(const bert_session *g, const bert_acts *a, int k, const zy_lora *l,
                           float *t, float *y, int ldy, const float *x, int R) {
    if (l->A) zy_lora_forward(y, ldy, t, a->lora_scratch, x, R, l, g->p_lora, lora_seed(g, k), 0);
}

void zy__bert_lora_backward(const bert_session *g, const bert_acts *a, int k,
                            const zy_lora *l, const float *t, float *dx, const float *dy,
                            int ldy, const float *x, int R) {
    if (l->A)
        zy_lora_backward(dx, a->lora_scratch, dy, ldy, t, x, R, l, g->p_lora, lora_seed(g, k),
                         0);
}

// Carves the block for (B, T); with base NULL only counts (returns the total through
// *total). One function for both so the count and the carving cannot disagree. The
// layers' shares are sized with the model's dropout whatever the last forward used: what
// the plain attention core saves grows with it, and the carving must not move between
// prepare and a forward in either mode.
static bert_acts carve(const bert_session *g, float *base, int B, int T, size_t *total) {
    const bert_hparams *h = &g->h;
    size_t N = (size_t)B * T, C = (size_t)h->hidden, V = (size_t)h->vocab;
    int L = h->n_layer;
    bert_session sizing = *g;
    sizing.p_hidden = h->hidden_dropout;
    sizing.p_attn = h->attn_dropout;
    sizing.p_lora = g->lora_dropout;
    // The layers' shares: the largest layer's (layers differ only by their adapters).
    size_t block_acts = 0, block_scratch = 0;
    for (int l = 0; l < L; l++) {
        zy_block_config bl = zy__bert_block_config(&sizing, B, T, l, NULL);
        block_acts = ZY_MAX(block_acts, zy_block_acts_floats(&bl));
        block_scratch = ZY_MAX(block_scratch, zy_block_scratch_floats(&bl));
    }
    size_t nc = round16(N * C), n1 = round16(N), b1 = round16((size_t)B);
    size_t bc_ = round16((size_t)B * C);
    size_t off = 0;
#define TAKE(n) (base ? base + (off += (n), off - (n)) : (off += (n), NULL))
    bert_acts a = {0};
    a.res_stride = nc;
    a.res = TAKE((size_t)(L + 1) * nc);
    a.emb = TAKE(nc);
    a.emb_mean = TAKE(n1);
    a.emb_rstd = TAKE(n1);
    a.block_acts = round16(block_acts);
    a.blocks = TAKE((size_t)L * a.block_acts);
    a.tokens = (int *)TAKE(n1);
    a.types = (int *)TAKE(n1);
    a.targets = (int *)TAKE(n1);
    a.lengths = (int *)TAKE(b1);
    a.labels = (int *)TAKE(b1);
    if (h->has_pooler) {
        a.cls = TAKE(bc_);
        a.pooled = TAKE(bc_);
        a.dcls = TAKE(bc_);
        a.dpooled = TAKE(bc_);
    }
    if (h->has_nsp) {
        a.nsp_logits = TAKE(round16(2 * (size_t)B));
        a.nsp_lse = TAKE(b1);
        a.dnsp = TAKE(round16(2 * (size_t)B));
    }
    if (h->has_mlm) {
        a.tr_u = TAKE(nc);
        a.tr_a = TAKE(nc);
        a.tr_h = TAKE(nc);
        a.tr_mean = TAKE(n1);
        a.tr_rstd = TAKE(n1);
        a.logits = TAKE(round16(N * V));
        a.mlm_pos = (int *)TAKE(n1);
        a.mlm_tg = (int *)TAKE(n1);
        a.mlm_x = TAKE(nc);
        a.lse = TAKE(n1);
        a.ce_rows = TAKE(zy__cross_entropy_inplace_floats((int)V));
    }
    if (h->has_task) {
        size_t K = (size_t)h->n_out;
        if (h->arch == BERT_SEQ_CLS) {
            a.task_x = TAKE(bc_);
            a.task_logits = TAKE(round16((size_t)B * K));
            a.dtask = TAKE(round16((size_t)B * K));
            a.seq_buf = TAKE(zy__seqcls_floats(B, (int)K));
        } else if (h->arch == BERT_TOKEN_CLS) {
            a.task_x = TAKE(nc);
            a.task_logits = TAKE(round16(N * K));
            a.dtask = TAKE(round16(N * K));
            a.tok_lse = TAKE(n1);
        } else { // QA
            a.task_logits = TAKE(round16(2 * N));
            a.dtask = TAKE(round16(2 * N));
            a.qa_logits = TAKE(round16(2 * N));
            a.dqa = TAKE(round16(2 * N));
            a.qa_tg = (int *)TAKE(round16(2 * (size_t)B));
            a.qa_lse = TAKE(round16(2 * (size_t)B));
        }
    }
    // the heads' adapters: products and one scratch for the largest
    const zy_lora *hl[4] = {&g->pool_lora, &g->tr_lora, &g->nsp_lora, &g->task_lora};
    float **ht[4] = {&a.pool_t, &a.tr_t, &a.nsp_t, &a.task_t};
    size_t ls = 0;
    for (int k = 0; k < 4; k++) {
        if (!hl[k]->A) continue;
        bool per_row = k == BERT_LORA_POOL || k == BERT_LORA_NSP ||
                       (k == BERT_LORA_TASK && h->arch == BERT_SEQ_CLS);
        int R = per_row ? B : (int)N;
        *ht[k] = TAKE(round16((size_t)R * hl[k]->r));
        ls = ZY_MAX(ls, zy_lora_backward_floats(R, hl[k], g->lora_dropout));
    }
    a.lora_scratch = ls ? TAKE(ls) : NULL;
    a.dres = TAKE(nc);
    a.d1 = TAKE(nc);
    a.d2 = TAKE(nc);
    a.scratch_floats = round16(block_scratch);
    a.scratch = TAKE(a.scratch_floats);
#undef TAKE
    if (total) *total = off;
    return a;
}

size_t zy__bert_acts_floats(const bert_session *g, int B, int T) {
    size_t total;
    carve(g, NULL, B, T, &total);
    return total;
}

bert_acts zy__bert_acts(const bert_session *g) {
    return carve(g, g->acts, g->cap_B, g->cap_T, NULL);
}

// Sizes are checked by the generic session (B*T <= 2^24, T <= max_position_embeddings).
zy_status zy__bert_prepare(zy_session *s, int B, int T, int seq_dec) {
    (void)seq_dec;
    bert_session *g = zy_session_impl(s);
    size_t n = zy__bert_acts_floats(g, B, T); // the blocks' scratch fits today's threads
    float *acts = zy_alloc(n * sizeof(float));
    if (!acts)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY,
                         "bert prepare: out of memory for activations of B=%d T=%d (%.1f MiB)",
                         B, T, (double)n * 4 / (1 << 20));
    zy_free(g->acts);
    g->acts = acts;
    g->cap_B = B;
    g->cap_T = T;
    g->outputs_ok = g->mlm_logits_ok = g->mlm_loss = g->nsp_loss = false;
    g->task_loss = g->task_logits_ok = g->task_loss_scored = false;
    return ZY_STATUS_OK;
}

// The batch fields the model reads, checked before anything is written (ids and lengths
// are checked by the generic session). Messages name (b, t) and the value.
static zy_status check_batch(const bert_hparams *h, const zy_batch *b, zy__problem *problem) {
    int B = b->B, T = b->T;
    // Per-token targets: MLM ids in [0, vocab_size), token classes in [0, num_labels).
    int V = h->has_mlm ? h->vocab : h->arch == BERT_TOKEN_CLS ? h->n_out : 0;
    const char *range = h->has_mlm ? "" : " (num_labels)";
    for (int r = 0; r < B; r++) {
        int n = b->lengths ? b->lengths[r] : T;
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)r * T + t;
            int y = b->targets && V ? b->targets[i] : -1;
            if (y != -1 && t >= n)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert forward: target %d at (b=%d, "
                                 "t=%d) is past the row's length %d (padding takes -1)", y, r,
                                 t, n);
            if (y != -1 && (y < 0 || y >= V))
                return zy__error(ZY_STATUS_INVALID_ARGUMENT, "bert forward: target %d at (b=%d, "
                                 "t=%d) is outside [0, %d)%s and not -1 (not scored)", y, r, t,
                                 V, range);
            int ty = b->token_type_ids && t < n ? b->token_type_ids[i] : 0;
            if (ty < 0 || ty >= h->type_vocab)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                                 "bert forward: token type id %d at (b=%d, t=%d) is outside "
                                 "[0, %d) (type_vocab_size)", ty, r, t, h->type_vocab);
        }
        int lab = b->labels && h->has_nsp ? b->labels[r] : -1;
        if (lab != -1 && (lab < 0 || lab > 1))
            return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                             "bert forward: next-sentence label %d of row %d is not 0, 1 or -1 "
                             "(not scored)", lab, r);
    }
    return h->has_task ? zy__bert_task_check(h, b, problem) : ZY_STATUS_OK;
}

// The ids, types, lengths, targets and labels the model uses, copied for backward.
static void copy_batch(const bert_session *g, const bert_acts *a, const zy_batch *b) {
    const bert_hparams *h = &g->h;
    int B = b->B, T = b->T;
    for (int r = 0; r < B; r++) {
        int n = b->lengths ? b->lengths[r] : T;
        a->lengths[r] = n;
        a->labels[r] = b->labels && h->has_nsp ? b->labels[r] : -1;
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)r * T + t;
            a->tokens[i] = t < n ? b->input_ids[i] : h->pad_token_id;
            a->types[i] = t < n && b->token_type_ids ? b->token_type_ids[i] : 0;
            a->targets[i] = b->targets ? b->targets[i] : -1;
        }
    }
}

// out (N, C) = act(inp) for the MLM transform (hidden_act).
static void act_forward(float *out, const float *inp, size_t n, bert_act act) {
    if (act == BERT_ACT_RELU) zy_relu_forward(out, inp, n);
    else zy_gelu_forward(out, inp, n, act == BERT_ACT_GELU ? ZY_GELU_ERF : ZY_GELU_TANH);
}

// res0 (N, C) = Drop(LN(word[tokens] + pos[t] + type[types])), the sum kept in a.emb.
static zy_status embed(const bert_session *g, const bert_acts *a, int B, int T) {
    const bert_hparams *h = &g->h;
    const bert_weights *w = &g->ew;
    int C = h->hidden, N = B * T;
    zy_status st = zy_embedding_forward(a->emb, a->tokens, w->word, w->pos, B, T, C, h->vocab);
    if (st) return st;
    for (int r = 0; r < N; r++) {
        float *e = a->emb + (size_t)r * C;
        const float *ty = w->type + (size_t)a->types[r] * C;
        for (int c = 0; c < C; c++) e[c] += ty[c];
    }
    zy_layernorm_forward(a->res, a->emb_mean, a->emb_rstd, a->emb, w->elnw, w->elnb, N, C,
                         h->eps);
    if (g->p_hidden > 0)
        zy_dropout_forward(a->res, a->res, (size_t)N * C, g->p_hidden,
                           zy__bert_site_seed(g, 0), 0);
    return ZY_STATUS_OK;
}

// The pooler on each row's first ([CLS]) hidden state, and the NSP logits.
static void pool(const bert_session *g, const bert_acts *a, const float *x, int B, int T) {
    const bert_weights *w = &g->ew;
    int C = g->h.hidden;
    for (int r = 0; r < B; r++)
        memcpy(a->cls + (size_t)r * C, x + (size_t)r * T * C, (size_t)C * sizeof *x);
    zy_linear_forward(a->pooled, a->cls, w->pool_w, w->pool_b, B, C, C);
    zy__bert_lora_forward(g, a, BERT_LORA_POOL, &g->pool_lora, a->pool_t, a->pooled, C, a->cls,
                          B);
    for (size_t i = 0; i < (size_t)B * C; i++) a->pooled[i] = tanhf(a->pooled[i]);
    if (!g->h.has_nsp) return;
    zy_linear_forward(a->nsp_logits, a->pooled, w->nsp_w, w->nsp_b, B, C, 2);
    zy__bert_lora_forward(g, a, BERT_LORA_NSP, &g->nsp_lora, a->nsp_t, a->nsp_logits, 2,
                          a->pooled, B);
}

// The MLM head over the rows x (N, C) (every position, or the gathered scored ones):
// transform, then the decoder tied to the word embeddings, logits (N, V).
static void mlm_head(const bert_session *g, const bert_acts *a, const float *x, int N) {
    const bert_hparams *h = &g->h;
    const bert_weights *w = &g->ew;
    int C = h->hidden;
    zy_linear_forward(a->tr_u, x, w->tr_w, w->tr_b, N, C, C);
    zy__bert_lora_forward(g, a, BERT_LORA_TR, &g->tr_lora, a->tr_t, a->tr_u, C, x, N);
    act_forward(a->tr_a, a->tr_u, (size_t)N * C, h->act);
    zy_layernorm_forward(a->tr_h, a->tr_mean, a->tr_rstd, a->tr_a, w->tr_lnw, w->tr_lnb, N, C,
                         h->eps);
    zy_linear_forward(a->logits, a->tr_h, w->word, w->mlm_bias, N, C, h->vocab);
}

void zy__bert_metrics(const zy_session *s, zy_metric_set *out) {
    const bert_session *g = zy_session_impl(s);
    if (!g->outputs_ok) return;
    if (g->h.has_task) zy__bert_task_metrics(g, out);
    if (g->h.has_mlm && g->has_targets) {
        double n = g->n_mlm;
        out->m[out->n++] = (zy_metric){"mlm_loss", n ? g->l_mlm : 0, n};
        out->m[out->n++] = (zy_metric){"mlm_accuracy", n ? g->ok_mlm / n : 0, n};
    }
    if (g->h.has_nsp && g->has_labels) {
        double n = g->n_nsp;
        out->m[out->n++] = (zy_metric){"nsp_loss", n ? g->l_nsp : 0, n};
        out->m[out->n++] = (zy_metric){"nsp_accuracy", n ? g->ok_nsp / n : 0, n};
    }
}

zy_status zy__bert_forward(zy_session *s, const zy_batch *batch, float *loss, double *count) {
    bert_session *g = zy_session_impl(s);
    const bert_hparams *h = &g->h;
    int B = batch->B, T = batch->T, N = B * T, L = h->n_layer;
    g->outputs_ok = g->mlm_logits_ok = g->mlm_loss = g->nsp_loss = false;
    g->task_loss = g->task_logits_ok = g->task_loss_scored = false;
    zy__problem problem;
    zy_status st = check_batch(h, batch, &problem);
    if (st) return st;
    // The masks of this forward, kept for its backward whatever the session does between.
    g->seed = zy_session_seed(s);
    bool training = zy_session_training(s);
    g->p_hidden = training ? h->hidden_dropout : 0.0f;
    g->p_attn = training ? h->attn_dropout : 0.0f;
    g->p_cls = training ? h->cls_dropout : 0.0f;
    g->p_lora = training ? g->lora_dropout : 0.0f;
    g->B = B;
    g->T = T;
    g->has_lengths = batch->lengths != NULL;
    g->has_targets = batch->targets != NULL;
    g->has_labels = batch->labels != NULL;
    bert_acts a = zy__bert_acts(g);
    copy_batch(g, &a, batch);
    if ((st = embed(g, &a, B, T))) return st;
    const int *lengths = g->has_lengths ? a.lengths : NULL;
    for (int l = 0; l < L; l++) {
        zy_block_config bc = zy__bert_block_config(g, B, T, l, lengths);
        st = zy_block_forward(a.res + (size_t)(l + 1) * a.res_stride,
                              a.blocks + (size_t)l * a.block_acts, a.scratch, a.scratch_floats,
                              a.res + (size_t)l * a.res_stride, NULL, &g->w[l], &bc);
        if (st) return st;
    }
    const float *x = a.res + (size_t)L * a.res_stride;
    if (h->has_pooler) pool(g, &a, x, B, T);
    // A session that wants only the loss runs the MLM head where targets are scored
    // (BERT masks ~15 % of the tokens: the (N, V) decoder GEMM is most of the head).
    g->mlm_compact = h->has_mlm && g->loss_only && batch->targets;
    g->mlm_rows = N;
    const int *mlm_targets = a.targets;
    if (g->mlm_compact) {
        int R = 0, C = h->hidden;
        for (int i = 0; i < N; i++) {
            if (a.targets[i] < 0) continue;
            a.mlm_pos[R] = i;
            a.mlm_tg[R] = a.targets[i];
            memcpy(a.mlm_x + (size_t)R * C, x + (size_t)i * C, (size_t)C * sizeof *x);
            R++;
        }
        g->mlm_rows = R;
        mlm_targets = a.mlm_tg;
        if (R) mlm_head(g, &a, a.mlm_x, R);
    } else if (h->has_mlm) {
        mlm_head(g, &a, x, N);
    }
    g->outputs_ok = true;
    g->mlm_logits_ok = h->has_mlm && !g->mlm_compact;

    // The losses of the heads the model has, over the fields the batch carries, and how
    // many of the scored ids the logits rank first (the metrics).
    float l_mlm = 0, l_nsp = 0;
    g->l_mlm = g->l_nsp = 0;
    g->eps = zy_session_label_smoothing(s);
    g->n_mlm = g->n_nsp = g->ok_mlm = g->ok_nsp = 0;
    if (h->has_mlm && batch->targets) {
        int R = g->mlm_rows;
        if (R && (st = zy_cross_entropy_forward(&l_mlm, &g->n_mlm, a.lse, a.logits,
                                                mlm_targets, R, h->vocab, -1, g->eps)))
            return st;
        g->mlm_loss = true;
        g->l_mlm = l_mlm;
        g->ok_mlm = zy__argmax_hits(a.logits, mlm_targets, R, h->vocab);
    }
    if (h->has_nsp && batch->labels) {
        st = zy_cross_entropy_forward(&l_nsp, &g->n_nsp, a.nsp_lse, a.nsp_logits, a.labels, B,
                                      2, -1, 0.0f);
        if (st) return st;
        g->nsp_loss = true;
        g->l_nsp = l_nsp;
        g->ok_nsp = zy__argmax_hits(a.nsp_logits, a.labels, B, 2);
    }
    if (h->has_task) { // no MLM or NSP head: the task head's loss alone
        float l;
        double n;
        if ((st = zy__bert_task_forward(g, &a, x, batch, problem, &l, &n))) return st;
        g->task_loss_scored = g->task_loss;
        if (loss) *loss = l;
        if (count) *count = n;
        return ZY_STATUS_OK;
    }
    if (loss) *loss = l_mlm + l_nsp;
    if (count) *count = g->mlm_loss ? g->n_mlm : g->nsp_loss ? g->n_nsp : 0;
    return ZY_STATUS_OK;
}
