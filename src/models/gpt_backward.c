// GPT backward pass: gradients of the mean cross-entropy of the last forward, added
// (scaled by loss_scale) into the session's gradients. Runs the forward in reverse using
// the activations it saved (the blocks' backward is the shared block's, in place on one
// residual-gradient buffer); dropout masks are recomputed from the same seeds.
//
// Memory: the LM-head gradient dlogits (N, V) is written over the logits themselves (the
// largest buffer at small T: 4·N·V bytes saved), so the "logits" output is gone afterwards.
#include <string.h>

#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "models/gpt_internal.h"
#include "models/lora_internal.h"
#include "nn/cross_entropy_inplace.h"

// The gradient entering a dropout site: dout itself when dropout is off, otherwise
// dout ∘ mask / (1-p) written to buf.
static const float *through_dropout(float *buf, const float *dout, size_t n, float p,
                                    uint64_t seed) {
    if (p <= 0) return dout;
    memset(buf, 0, n * sizeof *buf);
    zy_dropout_backward(buf, dout, n, p, seed, 0);
    return buf;
}

// Frozen tensors have NULL gradient views: their weight gradients are skipped (the ops
// skip NULL outputs), while the input gradients that flow through them are still formed.
zy_status zy__gpt_backward(zy_session *s, float loss_scale) {
    gpt_session *g = zy_session_impl(s);
    if (!g->backward_ok)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         g->h.seq_cls ? "gpt backward: needs a forward with labels or values "
                                        "first (once per forward)"
                                      : "gpt backward: needs a forward with targets first "
                                        "(once per forward)");
    // dlogits overwrite the logits: a second backward would be wrong
    g->backward_ok = false;
    g->logits_ok = g->logits_ok && g->h.seq_cls;
    const gpt_hparams *c = &g->h;
    int B = g->B, T = g->T, N = B * T, C = c->n_embd, V = c->vocab_size, L = c->n_layer;
    size_t nc = (size_t)N * C, stride = ((size_t)g->cap_B * g->cap_T * C + 15) & ~(size_t)15;
    gpt_acts a = zy__gpt_acts(g);
    const gpt_weights *w = &g->ew, *dw = &g->edw;

    if (c->seq_cls) {
        zy__gpt_task_backward(g, &a, loss_scale); // dln: the score head's gradient
    } else {
        zy__cross_entropy_backward_inplace(a.logits, a.ce_rows, a.lse, a.targets, N, V,
                                           g->n_valid, g->eps, loss_scale);
        const float *dlogits = a.logits;
        // Tied head: dlnf (N, C) = dlogits · wte; dwte (V, C) += dlogitsᵀ · lnf.
        zy_sgemm(false, false, N, C, V, 1.0f, dlogits, V, w->wte, C, 0.0f, a.dln, C);
        if (dw->wte)
            zy_sgemm(true, false, V, C, N, 1.0f, dlogits, V, a.lnf, C, 1.0f, dw->wte, C);
    }
    memset(a.dres, 0, nc * sizeof *a.dres);
    zy_layernorm_backward(a.dres, dw->lnfw, dw->lnfb, a.dln, a.res + (size_t)L * stride, w->lnfw,
                          a.lnf_mean, a.lnf_rstd, N, C);

    // Each block turns dres from the gradient of its output into that of its input, down
    // to the lowest block with a trainable tensor or adapter (all of them when the
    // embeddings train): with a frozen base only the adapted blocks run backward, and the
    // lowest forms no input gradient.
    bool emb = dw->wte || dw->wpe;
    int stop = emb ? 0 : L;
    for (int l = 0; l < L && stop == L; l++)
        if (zy__block_params_any(&g->dw[l]) || zy__lora_block_trains(g->lora ? &g->lora[l] : NULL))
            stop = l;
    for (int l = L - 1; l >= stop; l--) {
        zy_block_config bc = zy__gpt_block_config(g, B, T, l);
        float *dx = l > stop || emb ? a.dres : NULL;
        zy_status st = zy_block_backward(dx, NULL, &g->dw[l], a.scratch, a.scratch_floats,
                                         a.dres, a.blocks + (size_t)l * a.block_acts,
                                         a.res + (size_t)l * stride, NULL, &g->w[l], &bc);
        if (st) return st;
    }

    if (!emb) return ZY_STATUS_OK;
    const float *demb = through_dropout(a.dln, a.dres, nc, g->p, zy__gpt_site_seed(g, 0));
    zy_embedding_backward(dw->wte, dw->wpe, demb, a.tokens, B, T, C);
    return ZY_STATUS_OK;
}
