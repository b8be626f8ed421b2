// GPT backward pass: gradients of the mean cross-entropy of the last forward, added
// (scaled by loss_scale) into the flat gradient array. Runs the forward in reverse using
// the activations it saved; dropout masks are recomputed from the same seeds.
//
// Memory: the LM-head gradient dlogits (N, V) is written over the logits themselves (the
// largest buffer at small T: 4·N·V bytes saved), so zy_gpt_logits() is stale afterwards.
#include <string.h>

#include "zhuyi/gemm.h"
#include "zhuyi/nn.h"

#include "core/internal.h"
#include "models/gpt_internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

// logits (N, V) -> dlogits (N, V) in place: dloss * ∂loss/∂logits (mean over valid rows).
// cross_entropy_backward adds into a separate gradient, so each row is copied to a per-
// chunk scratch row (it stays in L2), the row zeroed, and the gradient added into it.
// Rows are split into fixed chunks: same result at any thread count.
static void xent_backward_inplace(float *logits, float *rows, const float *lse,
                                  const int *targets, int N, int V, int n_valid, float dloss) {
    size_t stride = ((size_t)V + 15) & ~(size_t)15;
    int chunks = ZY_MIN(N, GPT_CE_CHUNKS);
    float scale = n_valid ? dloss / (float)n_valid : 0.0f;
    int par = !zy__in_parallel() && chunks > 1 && (long long)N * V >= (1 << 16);
    (void)par;
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (par)
#endif
    for (int c = 0; c < chunks; c++) {
        float *tmp = rows + (size_t)c * stride;
        int r0 = (int)((long long)c * N / chunks), r1 = (int)((long long)(c + 1) * N / chunks);
        for (int r = r0; r < r1; r++) {
            float *x = logits + (size_t)r * V;
            if (targets[r] != -1) memcpy(tmp, x, (size_t)V * sizeof *x);
            memset(x, 0, (size_t)V * sizeof *x);
            if (targets[r] == -1) continue;
            // One row with count 1: dloss already divided by the batch's valid rows.
            zy_cross_entropy_backward(x, tmp, lse + r, targets + r, 1, V, -1, 0.0f, scale);
        }
    }
}

// dout (N, Cout), inp (N, Cin), weight (Cout, Cin): dinp (N, Cin) = dout·W (overwritten,
// saving a memset), dweight += doutᵀ·inp, dbias += Σ dout.
static void linear_backward_set(float *dinp, float *dweight, float *dbias, const float *dout,
                                const float *inp, const float *weight, int N, int Cin,
                                int Cout) {
    zy_sgemm(false, false, N, Cin, Cout, 1.0f, dout, Cout, weight, Cin, 0.0f, dinp, Cin);
    zy_linear_backward(NULL, dweight, dbias, dout, inp, weight, N, Cin, Cout);
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

zy_status zy_gpt_backward(zy_gpt *m, float loss_scale) {
    if (!m->backward_ok)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT,
                         "gpt backward: needs a forward with targets first (once per forward)");
    m->backward_ok = false; // dlogits overwrite the logits: a second backward would be wrong
    const zy_gpt_config *c = &m->cfg;
    int B = m->B, T = m->T, N = B * T, C = c->n_embd, V = c->vocab_size, L = c->n_layer;
    size_t nc = (size_t)N * C;
    float p = zy__gpt_dropout(m);
    gpt_acts a = zy__gpt_acts(m, B, T);
    gpt_weights w = zy__gpt_weights(m, m->params), dw = zy__gpt_weights(m, m->grads);

    xent_backward_inplace(a.logits, a.ce_rows, a.lse, a.targets, N, V, m->n_valid, loss_scale);
    const float *dlogits = a.logits;
    // Tied head: dlnf (N, C) = dlogits · wte; dwte (V, C) += dlogitsᵀ · lnf.
    zy_sgemm(false, false, N, C, V, 1.0f, dlogits, V, w.wte, C, 0.0f, a.dln, C);
    zy_sgemm(true, false, V, C, N, 1.0f, dlogits, V, a.lnf, C, 1.0f, dw.wte, C);
    memset(a.dres, 0, nc * sizeof *a.dres);
    zy_layernorm_backward(a.dres, dw.lnfw, dw.lnfb, a.dln, a.res + (size_t)L * nc, w.lnfw,
                          a.lnf_mean, a.lnf_rstd, N, C);

    for (int l = L - 1; l >= 0; l--) {
        gpt_layer g = zy__gpt_layer(m, m->params, l), dg = zy__gpt_layer(m, m->grads, l);
        gpt_layer_acts la = zy__gpt_layer_acts(m, B, T, l);
        float *x = a.res + (size_t)l * nc;

        // MLP branch: y = res_mid + Drop(proj(gelu(fc(LN2(res_mid))))); dres is dy.
        const float *db =
            through_dropout(a.branch, a.dres, nc, p, zy__gpt_site_seed(m, 3 + 3 * l));
        linear_backward_set(a.dfc_act, dg.projw, dg.projb, db, la.fc_act, g.projw, N, 4 * C, C);
        memset(a.dfc_pre, 0, 4 * nc * sizeof *a.dfc_pre);
        zy_gelu_backward(a.dfc_pre, a.dfc_act, la.fc_pre, 4 * nc, ZY_GELU_TANH);
        linear_backward_set(a.dln, dg.fcw, dg.fcb, a.dfc_pre, la.ln2, g.fcw, N, C, 4 * C);
        // The residual passes dy through unchanged; LN2 adds its part: dres = d(res_mid).
        zy_layernorm_backward(a.dres, dg.ln2w, dg.ln2b, a.dln, la.res_mid, g.ln2w, la.ln2_mean,
                              la.ln2_rstd, N, C);

        // Attention branch: res_mid = x + Drop(Attn(LN1(x))).
        db = through_dropout(a.branch, a.dres, nc, p, zy__gpt_site_seed(m, 2 + 3 * l));
        zy_status st = zy__gpt_attn_backward(m, a.dln, &dg, a.attn_scratch,
                                             a.attn_scratch_floats, db, la.attn, la.ln1, &g,
                                             B, T, l);
        if (st) return st;
        zy_layernorm_backward(a.dres, dg.ln1w, dg.ln1b, a.dln, x, g.ln1w, la.ln1_mean,
                              la.ln1_rstd, N, C);
    }

    const float *demb = through_dropout(a.branch, a.dres, nc, p, zy__gpt_site_seed(m, 0));
    zy_embedding_backward(dw.wte, dw.wpe, demb, a.tokens, B, T, C);
    return ZY_STATUS_OK;
}
