// BERT backward pass: gradients of the last forward's loss (mean MLM cross-entropy + mean
// NSP cross-entropy, whichever it scored), added (scaled by loss_scale) into the session's
// gradients. Runs the forward in reverse on the activations it saved: the heads into one
// residual-gradient buffer, then the shared block's backward per layer in place on it,
// then the embeddings; dropout masks are recomputed from the same seeds.
//
// As in Hugging Face (nn.Embedding's padding_idx), the word-embedding lookup of
// pad_token_id adds no gradient to that row; the tied MLM decoder still does.
// Memory: the MLM logits' gradient is written over the logits (the largest buffer at
// small T), so the "mlm_logits" output is gone after a backward that scored them.
#include <string.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "models/bert_internal.h"
#include "models/lora_internal.h"
#include "nn/cross_entropy_inplace.h"

// dout, inp (n) -> dinp (n) += act'(inp) · dout (hidden_act of the MLM transform).
static void act_backward(float *dinp, const float *dout, const float *inp, size_t n,
                         bert_act act) {
    if (act == BERT_ACT_RELU) zy_relu_backward(dinp, dout, inp, n);
    else zy_gelu_backward(dinp, dout, inp, n, act == BERT_ACT_GELU ? ZY_GELU_ERF : ZY_GELU_TANH);
}

// MLM head: dres (N, C) += ∂/∂x of the scaled mean cross-entropy (x the last hidden states).
// The head ran on N rows of x, or on the R scored positions gathered into mlm_x (compact):
// their gradient is then formed for R rows and added at those positions.
static void mlm_backward(bert_session *g, const bert_acts *a, const float *x, float scale) {
    const bert_hparams *h = &g->h;
    const bert_weights *w = &g->ew, *dw = &g->edw;
    int N = g->mlm_rows, C = h->hidden, V = h->vocab;
    size_t nc = (size_t)N * C;
    g->mlm_logits_ok = false;
    if (N == 0) return; // nothing was masked: no gradient
    zy__cross_entropy_backward_inplace(a->logits, a->ce_rows, a->lse,
                                       g->mlm_compact ? a->mlm_tg : a->targets, N, V, g->n_mlm,
                                       g->eps, scale);
    const float *dlogits = a->logits;
    // decoder: d tr_h (N, C) = dlogits · word; dword += dlogitsᵀ · tr_h; dbias += Σ dlogits
    memset(a->d1, 0, nc * sizeof *a->d1);
    zy_linear_backward(a->d1, dw->word, dw->mlm_bias, dlogits, a->tr_h, w->word, N, C, V);
    memset(a->d2, 0, nc * sizeof *a->d2);
    zy_layernorm_backward(a->d2, dw->tr_lnw, dw->tr_lnb, a->d1, a->tr_a, w->tr_lnw, a->tr_mean,
                          a->tr_rstd, N, C);
    memset(a->d1, 0, nc * sizeof *a->d1);
    act_backward(a->d1, a->d2, a->tr_u, nc, h->act);
    if (!g->mlm_compact) {
        zy_linear_backward(a->dres, dw->tr_w, dw->tr_b, a->d1, x, w->tr_w, N, C, C);
        zy__bert_lora_backward(g, a, BERT_LORA_TR, &g->tr_lora, a->tr_t, a->dres, a->d1, C, x,
                               N);
        return;
    }
    memset(a->d2, 0, nc * sizeof *a->d2);
    zy_linear_backward(a->d2, dw->tr_w, dw->tr_b, a->d1, a->mlm_x, w->tr_w, N, C, C);
    zy__bert_lora_backward(g, a, BERT_LORA_TR, &g->tr_lora, a->tr_t, a->d2, a->d1, C, a->mlm_x,
                           N);
    for (int r = 0; r < N; r++) {
        float *d = a->dres + (size_t)a->mlm_pos[r] * C;
        const float *s = a->d2 + (size_t)r * C;
        for (int c = 0; c < C; c++) d[c] += s[c];
    }
}

// NSP head: dpooled (B, C) += its gradient.
static void nsp_backward(bert_session *g, const bert_acts *a, float scale) {
    const bert_weights *w = &g->ew, *dw = &g->edw;
    int B = g->B, C = g->h.hidden;
    memset(a->dnsp, 0, 2 * (size_t)B * sizeof *a->dnsp);
    zy_cross_entropy_backward(a->dnsp, a->nsp_logits, a->nsp_lse, a->labels, B, 2, -1, 0.0f,
                              scale);
    zy_linear_backward(a->dpooled, dw->nsp_w, dw->nsp_b, a->dnsp, a->pooled, w->nsp_w, B, C, 2);
    zy__bert_lora_backward(g, a, BERT_LORA_NSP, &g->nsp_lora, a->nsp_t, a->dpooled, a->dnsp, 2,
                           a->pooled, B);
}

// The pooler: dres[b, 0] (the [CLS] rows) += the gradient of dpooled (B, C).
static void pool_backward(bert_session *g, const bert_acts *a) {
    const bert_weights *w = &g->ew, *dw = &g->edw;
    int B = g->B, T = g->T, C = g->h.hidden;
    size_t bc = (size_t)B * C;
    for (size_t i = 0; i < bc; i++) a->dpooled[i] *= 1.0f - a->pooled[i] * a->pooled[i]; // tanh
    memset(a->dcls, 0, bc * sizeof *a->dcls);
    zy_linear_backward(a->dcls, dw->pool_w, dw->pool_b, a->dpooled, a->cls, w->pool_w, B, C, C);
    zy__bert_lora_backward(g, a, BERT_LORA_POOL, &g->pool_lora, a->pool_t, a->dcls, a->dpooled,
                           C, a->cls, B);
    for (int r = 0; r < B; r++) {
        float *d = a->dres + (size_t)r * T * C;
        const float *s = a->dcls + (size_t)r * C;
        for (int c = 0; c < C; c++) d[c] += s[c];
    }
}

// Embeddings: dres holds the gradient of the (dropped-out) embedding output.
static void embed_backward(const bert_session *g, const bert_acts *a) {
    const bert_hparams *h = &g->h;
    const bert_weights *w = &g->ew, *dw = &g->edw;
    int B = g->B, T = g->T, N = B * T, C = h->hidden;
    size_t nc = (size_t)N * C;
    const float *dln = a->dres;
    if (g->p_hidden > 0) {
        memset(a->d1, 0, nc * sizeof *a->d1);
        zy_dropout_backward(a->d1, a->dres, nc, g->p_hidden, zy__bert_site_seed(g, 0), 0);
        dln = a->d1;
    }
    float *demb = a->d2;
    memset(demb, 0, nc * sizeof *demb);
    zy_layernorm_backward(demb, dw->elnw, dw->elnb, dln, a->emb, w->elnw, a->emb_mean,
                          a->emb_rstd, N, C);
    if (dw->pos) zy_embedding_backward(NULL, dw->pos, demb, a->tokens, B, T, C);
    if (dw->type) zy_embedding_backward(dw->type, NULL, demb, a->types, B, T, C);
    if (!dw->word) return;
    for (int r = 0; r < N; r++) // padding_idx: no gradient through the pad id's lookups
        if (a->tokens[r] == h->pad_token_id) memset(demb + (size_t)r * C, 0, C * sizeof *demb);
    zy_embedding_backward(dw->word, NULL, demb, a->tokens, B, T, C);
}

// Layer l's staged q|k|v gradients (bert.c stage_fused): zeroed before its backward, then
// each trainable part added to its own gradient.
static void stage_begin(bert_session *g, int l) {
    size_t C = (size_t)g->h.hidden;
    if (g->stage_w && g->stage_w[l]) memset(g->stage_w[l], 0, 3 * C * C * sizeof(float));
    if (g->stage_b && g->stage_b[l]) memset(g->stage_b[l], 0, 3 * C * sizeof(float));
}

static void stage_end(zy_session *s, const bert_session *g, int l) {
    size_t C = (size_t)g->h.hidden;
    for (int bias = 0; bias < 2; bias++) {
        const float *st = bias ? (g->stage_b ? g->stage_b[l] : NULL)
                               : (g->stage_w ? g->stage_w[l] : NULL);
        size_t n = bias ? C : C * C;
        const int first = bias ? BERT_L_QB : BERT_L_QW;
        for (int k = 0; st && k < 3; k++) {
            float *d = zy_session_tensor_grad(s, BERT_T_LAYER(l, first + k));
            for (size_t i = 0; d && i < n; i++) d[i] += st[k * n + i];
        }
    }
}

// Frozen tensors have NULL gradient views: their weight gradients are skipped (the ops
// skip NULL outputs), while the input gradients that flow through them are still formed.
zy_status zy__bert_backward(zy_session *s, float loss_scale) {
    bert_session *g = zy_session_impl(s);
    static const char *const scores[] = {
        "has the MLM and NSP heads: targets score the first, labels the second",
        "has the MLM head only: targets score it",
        "has no heads",
        ("has a sequence classifier: labels (single-label) or values (multi-label, "
         "regression) score it"),
        "has a token classifier: targets score it",
        "has qa_outputs: span_starts and span_ends score it"};
    if (!g->mlm_loss && !g->nsp_loss && !g->task_loss)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "bert backward: needs a forward that scored a loss first, once per "
                         "forward (%s %s)", zy__bert_arch_names[g->h.arch], scores[g->h.arch]);
    bool mlm = g->mlm_loss, nsp = g->nsp_loss, task = g->task_loss;
    // dlogits overwrite the MLM logits: once per forward
    g->mlm_loss = g->nsp_loss = g->task_loss = false;
    const bert_hparams *h = &g->h;
    int B = g->B, T = g->T, L = h->n_layer;
    bert_acts a = zy__bert_acts(g);
    const float *x = a.res + (size_t)L * a.res_stride;
    memset(a.dres, 0, (size_t)B * T * h->hidden * sizeof *a.dres);
    if (mlm) mlm_backward(g, &a, x, loss_scale);
    if (h->has_pooler) memset(a.dpooled, 0, (size_t)B * h->hidden * sizeof *a.dpooled);
    if (nsp) nsp_backward(g, &a, loss_scale);
    if (task) zy__bert_task_backward(g, &a, loss_scale); // into dpooled or dres
    if (nsp || (task && h->arch == BERT_SEQ_CLS)) pool_backward(g, &a);

    // Each layer turns dres from the gradient of its output into that of its input, down
    // to the lowest layer with a trainable tensor or adapter (all of them when the
    // embeddings train): a frozen body with trainable heads costs no backward through the
    // layers, LoRA on a frozen body none below the lowest adapted layer, which forms no
    // input gradient.
    const bert_weights *dw = &g->edw;
    bool emb = dw->word || dw->pos || dw->type || dw->elnw || dw->elnb;
    int stop = emb ? 0 : L;
    for (int l = 0; l < L && stop == L; l++) {
        for (int k = 0; k < BERT_TENSORS_PER_LAYER && stop == L; k++)
            if (zy_session_tensor_grad(s, BERT_T_LAYER(l, k))) stop = l;
        if (zy__lora_block_trains(g->lora ? &g->lora[l] : NULL)) stop = l;
    }
    const int *lengths = g->has_lengths ? a.lengths : NULL;
    for (int l = L - 1; l >= stop; l--) {
        zy_block_config bc = zy__bert_block_config(g, B, T, l, lengths);
        stage_begin(g, l);
        zy_status st = zy_block_backward(l > stop || emb ? a.dres : NULL, NULL, &g->dw[l],
                                         a.scratch, a.scratch_floats, a.dres,
                                         a.blocks + (size_t)l * a.block_acts,
                                         a.res + (size_t)l * a.res_stride, NULL, &g->w[l], &bc);
        if (st) return st;
        stage_end(s, g, l);
    }
    if (emb) embed_backward(g, &a);
    return ZY_STATUS_OK;
}
