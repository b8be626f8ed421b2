// Marian backward pass: gradients of the last forward's loss, added (times loss_scale)
// into the session's gradients. The head's gradient is written over the logits; the
// decoder layers run in place on one residual-gradient buffer while every cross-attention
// adds into the gradient of the encoder output, which the encoder layers then turn, in
// place, into the gradient of the source embeddings. As nn.Embedding's padding_idx in
// Hugging Face, lookups of pad_token_id add nothing to its row (the tied output
// projection does).
#include <math.h>
#include <string.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "models/marian_internal.h"
#include "nn/cross_entropy_inplace.h"

// d(embeddings) (B*T rows of C) through the embedding dropout at site, then scattered
// into dshared times the embedding scale, pad lookups left out.
static void embed_backward(marian_session *g, const marian_acts *a, const float *dx,
                           const int *ids, int B, int T, int site) {
    if (!g->dshared) return;
    const marian_hparams *h = &g->h;
    size_t C = (size_t)h->d_model, n = (size_t)B * T * C;
    float *d = a->tmp;
    float scale = h->scale_embedding ? sqrtf((float)C) : 1.0f;
    if (g->p > 0) {
        memset(d, 0, n * sizeof *d);
        zy_dropout_backward(d, dx, n, g->p, zy__marian_site_seed(g, site), 0);
        for (size_t i = 0; i < n; i++) d[i] *= scale;
    } else {
        for (size_t i = 0; i < n; i++) d[i] = scale * dx[i];
    }
    for (int r = 0; r < B * T; r++)
        if (ids[r] == h->pad_id) memset(d + (size_t)r * C, 0, C * sizeof *d);
    zy_embedding_backward(g->dshared, NULL, d, ids, B, T, (int)C);
}

zy_status zy__marian_backward(zy_session *s, float loss_scale) {
    marian_session *g = zy_session_impl(s);
    if (!g->backward_ok)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "marian backward: needs a forward with "
                         "dec_targets first (once per forward)");
    g->backward_ok = g->logits_ok = false;
    const marian_hparams *h = &g->h;
    int B = g->B, T = g->T, Td = g->Td, C = h->d_model, V = h->vocab;
    int Nd = B * Td, Ne = B * T;
    marian_acts a;
    zy__marian_acts_carve(g, g->acts, B, T, Td, &a);
    zy_status st;

    // Head: dlogits over the logits; d(decoder output) = dlogits · shared, dshared +=
    // dlogitsᵀ · out, dflb += Σ dlogits.
    zy__cross_entropy_backward_inplace(a.logits, a.ce_rows, a.lse, a.targets, Nd, V,
                                       g->n_valid, g->eps, loss_scale);
    const float *out = a.dec + (size_t)h->dec_layers * a.dec_stride;
    memset(a.ddec, 0, (size_t)Nd * C * sizeof *a.ddec);
    zy_linear_backward(a.ddec, g->dshared, g->dflb, a.logits, out, g->shared, Nd, C, V);

    memset(a.dmem, 0, (size_t)Ne * C * sizeof *a.dmem);
    const float *mem = a.enc + (size_t)h->enc_layers * a.enc_stride;
    for (int l = h->dec_layers - 1; l >= 0; l--) {
        zy_block_config c = zy__marian_block_config(g, true, l, B, Td, T, a.tgt_len, a.src_len);
        st = zy_block_backward(a.ddec, a.dmem, &g->dwd[l], a.scratch, a.scratch_floats, a.ddec,
                               a.dec_blocks + (size_t)l * a.dec_block,
                               a.dec + (size_t)l * a.dec_stride, mem, &g->wd[l], &c);
        if (st) return st;
    }
    embed_backward(g, &a, a.ddec, a.tgt, B, Td, 1);
    for (int l = h->enc_layers - 1; l >= 0; l--) {
        zy_block_config c = zy__marian_block_config(g, false, l, B, T, 0, a.src_len, NULL);
        st = zy_block_backward(a.dmem, NULL, &g->dwe[l], a.scratch, a.scratch_floats, a.dmem,
                               a.enc_blocks + (size_t)l * a.enc_block,
                               a.enc + (size_t)l * a.enc_stride, NULL, &g->we[l], &c);
        if (st) return st;
    }
    embed_backward(g, &a, a.dmem, a.src, B, T, 0);
    return ZY_STATUS_OK;
}
