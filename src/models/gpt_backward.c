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
#include "core/pool.h"
#include "models/gpt_internal.h"

// logits (N, V) -> dlogits (N, V) in place: dloss * ∂loss/∂logits (mean over valid rows).
// cross_entropy_backward adds into a separate gradient, so each row is copied to a per-
// chunk scratch row (it stays in L2), the row zeroed, and the gradient added into it.
// Rows are split into fixed chunks: same result at any thread count.
typedef struct xent_job {
    float *logits, *rows;
    const float *lse;
    const int *targets;
    int N, V, chunks;
    size_t stride;
    float scale;
} xent_job;

static void xent_chunks(void *ctx, size_t c0, size_t c1, int thread) {
    (void)thread;
    const xent_job *j = ctx;
    for (size_t c = c0; c < c1; c++) {
        float *tmp = j->rows + c * j->stride;
        int r0 = (int)((long long)c * j->N / j->chunks);
        int r1 = (int)((long long)(c + 1) * j->N / j->chunks);
        for (int r = r0; r < r1; r++) {
            float *x = j->logits + (size_t)r * j->V;
            if (j->targets[r] != -1) memcpy(tmp, x, (size_t)j->V * sizeof *x);
            memset(x, 0, (size_t)j->V * sizeof *x);
            if (j->targets[r] == -1) continue;
            // One row with count 1: dloss already divided by the batch's valid rows.
            zy_cross_entropy_backward(x, tmp, j->lse + r, j->targets + r, 1, j->V, -1, 0.0f,
                                      j->scale);
        }
    }
}

static void xent_backward_inplace(float *logits, float *rows, const float *lse,
                                  const int *targets, int N, int V, int n_valid, float dloss) {
    int chunks = ZY_MIN(N, GPT_CE_CHUNKS);
    xent_job j = {logits, rows, lse, targets, N, V, chunks, ((size_t)V + 15) & ~(size_t)15,
                  n_valid ? dloss / (float)n_valid : 0.0f};
    if ((long long)N * V < (1 << 16)) xent_chunks(&j, 0, (size_t)chunks, 0);
    else zy__parallel((size_t)chunks, 1, 0, xent_chunks, &j);
}

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
                         "gpt backward: needs a forward with targets first (once per forward)");
    // dlogits overwrite the logits: a second backward would be wrong
    g->backward_ok = g->logits_ok = false;
    const gpt_hparams *c = &g->h;
    int B = g->B, T = g->T, N = B * T, C = c->n_embd, V = c->vocab_size, L = c->n_layer;
    size_t nc = (size_t)N * C, stride = ((size_t)g->cap_B * g->cap_T * C + 15) & ~(size_t)15;
    gpt_acts a = zy__gpt_acts(g);
    const gpt_weights *w = &g->ew, *dw = &g->edw;

    xent_backward_inplace(a.logits, a.ce_rows, a.lse, a.targets, N, V, g->n_valid, loss_scale);
    const float *dlogits = a.logits;
    // Tied head: dlnf (N, C) = dlogits · wte; dwte (V, C) += dlogitsᵀ · lnf.
    zy_sgemm(false, false, N, C, V, 1.0f, dlogits, V, w->wte, C, 0.0f, a.dln, C);
    if (dw->wte) zy_sgemm(true, false, V, C, N, 1.0f, dlogits, V, a.lnf, C, 1.0f, dw->wte, C);
    memset(a.dres, 0, nc * sizeof *a.dres);
    zy_layernorm_backward(a.dres, dw->lnfw, dw->lnfb, a.dln, a.res + (size_t)L * stride, w->lnfw,
                          a.lnf_mean, a.lnf_rstd, N, C);

    // Each block turns dres from the gradient of its output into that of its input.
    for (int l = L - 1; l >= 0; l--) {
        zy_block_config bc = zy__gpt_block_config(g, B, T, l);
        zy_status st = zy_block_backward(a.dres, NULL, &g->dw[l], a.scratch, a.scratch_floats,
                                         a.dres, a.blocks + (size_t)l * a.block_acts,
                                         a.res + (size_t)l * stride, NULL, &g->w[l], &bc);
        if (st) return st;
    }

    if (!dw->wte && !dw->wpe) return ZY_STATUS_OK;
    const float *demb = through_dropout(a.dln, a.dres, nc, g->p, zy__gpt_site_seed(g, 0));
    zy_embedding_backward(dw->wte, dw->wpe, demb, a.tokens, B, T, C);
    return ZY_STATUS_OK;
}
