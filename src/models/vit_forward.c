// ViT forward and backward passes for training and evaluation, with the activation block
// (sized once by prepare for B images; T = n_patches + 1 tokens each, whatever the batch's
// T, which is 1 for images):
//   e = [cls; patch_embed(pixels)] + pos                  (B, T, C)
//   x = Drop(e)
//   per layer (the shared pre-LN encoder block of src/nn, no mask):
//     h = x + Drop(Attn(LN1(x)));  x = h + Drop(W2 · act(W1 · LN2(h)))
//   hidden = LN(x);  logits = classifier(hidden[:, 0])    (B, K)
//   loss: the sequence classifier's (task_head.c: single-label CE over labels, multi-label
//         BCE or regression MSE over values)
// Backward runs it in reverse on what forward kept, adding into the session's gradients;
// dropout masks are recomputed from the same seeds. Nothing is allocated here.
#include <string.h>

#include "zhuyi/nn.h"

#include "core/internal.h"
#include "models/vit_internal.h"

// Each sub-buffer starts on a 64-byte boundary (16 floats) so SIMD kernels see aligned rows.
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

uint64_t zy__vit_site_seed(const vit_session *g, int site) {
    return zy_hash64(g->seed, 0x9e3779b97f4a7c15ull + (uint64_t)site);
}

zy_block_config zy__vit_block_config(const vit_session *g, int B, int l) {
    const vit_hparams *h = &g->h;
    zy_block_config c = zy_block_default_config(ZY_BLOCK_ENCODER, B, h->n_patches + 1,
                                                h->hidden, h->n_head, h->intermediate);
    c.norm_first = true;
    c.act = h->gelu_tanh ? ZY_BLOCK_GELU_TANH : ZY_BLOCK_GELU_ERF;
    c.eps = h->eps;
    c.dropout = (zy_block_dropout){.attn = g->p_attn, .attn_out = g->p_hidden,
                                   .ff_out = g->p_hidden};
    c.seed = zy__vit_site_seed(g, 1 + l);
    c.need_weights = g->keep_attention;
    c.frozen_linears = zy_block_frozen_linears(g->dw ? &g->dw[l] : NULL);
    return c;
}

// Carves the block for B images; with base NULL only counts (the total through *total).
// The layers' shares are sized with the model's dropout whatever the last forward used.
static vit_acts carve(const vit_session *g, float *base, int B, size_t *total) {
    const vit_hparams *h = &g->h;
    int T = h->n_patches + 1, S = h->image_size, L = h->n_layer;
    size_t N = (size_t)B * T, C = (size_t)h->hidden, K = (size_t)h->labels.n;
    vit_session sizing = *g;
    sizing.p_hidden = h->hidden_dropout;
    sizing.p_attn = h->attn_dropout;
    zy_block_config bl = zy__vit_block_config(&sizing, B, 0);
    size_t nc = round16(N * C), bc = round16((size_t)B * C);
    size_t off = 0;
#define TAKE(n) (base ? base + (off += (n), off - (n)) : (off += (n), NULL))
    vit_acts a = {0};
    a.pixels = TAKE(round16((size_t)B * h->channels * S * S));
    a.patches = TAKE(round16((size_t)B * h->n_patches * C));
    a.patch_scratch =
        TAKE(round16(zy_patch_embed_scratch_floats(B, h->channels, S, S, h->patch_size)));
    a.res_stride = nc;
    a.res = TAKE((size_t)(L + 1) * nc);
    a.block_acts = round16(zy_block_acts_floats(&bl));
    a.blocks = TAKE((size_t)L * a.block_acts);
    a.hidden = TAKE(nc);
    a.ln_mean = TAKE(round16(N));
    a.ln_rstd = TAKE(round16(N));
    a.cls_x = TAKE(bc);
    a.logits = TAKE(round16((size_t)B * K));
    a.dlogits = TAKE(round16((size_t)B * K));
    a.seq_buf = TAKE(zy__seqcls_floats(B, (int)K));
    a.dres = TAKE(nc);
    a.d1 = TAKE(nc);
    a.dcls = TAKE(bc);
    a.scratch_floats = round16(zy_block_scratch_floats(&bl));
    a.scratch = TAKE(a.scratch_floats);
#undef TAKE
    if (total) *total = off;
    return a;
}

size_t zy__vit_acts_floats(const vit_session *g, int B) {
    size_t total;
    carve(g, NULL, B, &total);
    return total;
}

vit_acts zy__vit_acts(const vit_session *g) { return carve(g, g->acts, g->cap_B, NULL); }

// The session's T is the model's tokens (max_positions); any B images up to the batch.
zy_status zy__vit_prepare(zy_session *s, int B, int T, int seq_dec) {
    (void)T, (void)seq_dec;
    vit_session *g = zy_session_impl(s);
    size_t n = zy__vit_acts_floats(g, B);
    float *acts = zy_alloc(n * sizeof(float));
    if (!acts)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "vit prepare: out of memory for activations "
                         "of %d images (%.1f MiB)", B, (double)n * 4 / (1 << 20));
    zy_free(g->acts);
    g->acts = acts;
    g->cap_B = B;
    g->outputs_ok = g->loss_pending = g->scored = false;
    return ZY_STATUS_OK;
}

void zy__vit_metrics(const zy_session *s, zy_metric_set *out) {
    const vit_session *g = zy_session_impl(s);
    if (g->outputs_ok && g->scored) zy__seqcls_metrics(&g->seq, out);
}

zy_status zy__vit_forward(zy_session *s, const zy_batch *b, float *loss, double *count) {
    vit_session *g = zy_session_impl(s);
    const vit_hparams *h = &g->h;
    const vit_weights *w = &g->ew;
    int B = b->B, T = h->n_patches + 1, C = h->hidden, S = h->image_size, L = h->n_layer;
    int K = h->labels.n;
    g->outputs_ok = g->loss_pending = g->scored = false;
    if (B > g->cap_B)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "vit forward: %d images, more than the "
                         "%d prepared", B, g->cap_B);
    zy__problem problem;
    zy_status st = zy__seqcls_check(&h->labels, b, "vit forward", &problem);
    if (st) return st;
    g->seed = zy_session_seed(s);
    bool training = zy_session_training(s);
    g->p_hidden = training ? h->hidden_dropout : 0.0f;
    g->p_attn = training ? h->attn_dropout : 0.0f;
    g->B = B;
    vit_acts a = zy__vit_acts(g);
    size_t npix = (size_t)B * h->channels * S * S;
    memcpy(a.pixels, b->pixels, npix * sizeof *a.pixels);
    zy_patch_embed_forward(a.patches, a.patch_scratch, a.pixels, w->patch_w, w->patch_b, B,
                           h->channels, S, S, h->patch_size, C);
    for (int r = 0; r < B; r++) { // [cls; patches] + positions
        float *x = a.res + (size_t)r * T * C;
        const float *p = a.patches + (size_t)r * h->n_patches * C;
        for (int c = 0; c < C; c++) x[c] = w->cls[c] + w->pos[c];
        for (size_t i = 0; i < (size_t)h->n_patches * C; i++) x[C + i] = p[i] + w->pos[C + i];
    }
    size_t nc = (size_t)B * T * C;
    if (g->p_hidden > 0)
        zy_dropout_forward(a.res, a.res, nc, g->p_hidden, zy__vit_site_seed(g, 0), 0);
    for (int l = 0; l < L; l++) {
        zy_block_config bc = zy__vit_block_config(g, B, l);
        st = zy_block_forward(a.res + (size_t)(l + 1) * a.res_stride,
                              a.blocks + (size_t)l * a.block_acts, a.scratch, a.scratch_floats,
                              a.res + (size_t)l * a.res_stride, NULL, &g->w[l], &bc);
        if (st) return st;
    }
    zy_layernorm_forward(a.hidden, a.ln_mean, a.ln_rstd, a.res + (size_t)L * a.res_stride,
                         w->lnw, w->lnb, B * T, C, h->eps);
    for (int r = 0; r < B; r++)
        memcpy(a.cls_x + (size_t)r * C, a.hidden + (size_t)r * T * C, (size_t)C * sizeof(float));
    zy_linear_forward(a.logits, a.cls_x, w->cls_w, w->cls_b, B, C, K);
    g->outputs_ok = true;
    if (problem == ZY__PROBLEM_NONE) return ZY_STATUS_OK; // outputs only
    zy__seqcls_carve(&g->seq, a.seq_buf, g->cap_B, K);
    if ((st = zy__seqcls_forward(&g->seq, problem, a.logits, b))) return st;
    g->loss_pending = g->scored = true;
    if (loss) *loss = g->seq.loss;
    if (count) *count = g->seq.count;
    return ZY_STATUS_OK;
}

zy_status zy__vit_backward(zy_session *s, float loss_scale) {
    vit_session *g = zy_session_impl(s);
    if (!g->loss_pending)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "vit backward: needs a forward that "
                         "scored a loss first, once per forward (labels, or values for "
                         "multi-label and regression)");
    g->loss_pending = false;
    const vit_hparams *h = &g->h;
    const vit_weights *w = &g->ew, *dw = &g->edw;
    int B = g->B, T = h->n_patches + 1, C = h->hidden, S = h->image_size, L = h->n_layer;
    int K = h->labels.n;
    vit_acts a = zy__vit_acts(g);
    size_t nc = (size_t)B * T * C, bc = (size_t)B * C;
    // classifier -> d[CLS] rows of hidden -> the final LayerNorm -> dres
    memset(a.dlogits, 0, (size_t)B * K * sizeof *a.dlogits);
    zy__seqcls_backward(&g->seq, a.dlogits, a.logits, loss_scale);
    memset(a.dcls, 0, bc * sizeof *a.dcls);
    zy_linear_backward(a.dcls, dw->cls_w, dw->cls_b, a.dlogits, a.cls_x, w->cls_w, B, C, K);
    memset(a.d1, 0, nc * sizeof *a.d1);
    for (int r = 0; r < B; r++)
        memcpy(a.d1 + (size_t)r * T * C, a.dcls + (size_t)r * C, (size_t)C * sizeof(float));
    memset(a.dres, 0, nc * sizeof *a.dres);
    zy_layernorm_backward(a.dres, dw->lnw, dw->lnb, a.d1, a.res + (size_t)L * a.res_stride,
                          w->lnw, a.ln_mean, a.ln_rstd, B * T, C);
    // The layers down to the lowest one with a trainable tensor (all of them when the
    // embeddings train): a frozen body with a trainable classifier costs no backward
    // through the layers.
    bool emb = dw->cls || dw->pos || dw->patch_w || dw->patch_b;
    int stop = emb ? 0 : L;
    for (int l = 0; l < L && stop == L; l++)
        for (int k = 0; k < VIT_TENSORS_PER_LAYER && stop == L; k++)
            if (zy_session_tensor_grad(s, VIT_T_LAYER(l, k))) stop = l;
    for (int l = L - 1; l >= stop; l--) {
        zy_block_config cfg = zy__vit_block_config(g, B, l);
        zy_status st = zy_block_backward(l > stop || emb ? a.dres : NULL, NULL, &g->dw[l],
                                         a.scratch, a.scratch_floats, a.dres,
                                         a.blocks + (size_t)l * a.block_acts,
                                         a.res + (size_t)l * a.res_stride, NULL, &g->w[l], &cfg);
        if (st) return st;
    }
    if (!emb) return ZY_STATUS_OK;
    const float *de = a.dres; // the gradient of e = [cls; patches] + pos
    if (g->p_hidden > 0) {
        memset(a.d1, 0, nc * sizeof *a.d1);
        zy_dropout_backward(a.d1, a.dres, nc, g->p_hidden, zy__vit_site_seed(g, 0), 0);
        de = a.d1;
    }
    for (int r = 0; r < B; r++) {
        const float *d = de + (size_t)r * T * C;
        if (dw->pos)
            for (size_t i = 0; i < (size_t)T * C; i++) dw->pos[i] += d[i];
        if (dw->cls)
            for (int c = 0; c < C; c++) dw->cls[c] += d[c];
    }
    if (!dw->patch_w && !dw->patch_b) return ZY_STATUS_OK;
    // the patch rows' gradient, contiguous (B, n_patches, C), into the patches buffer
    for (int r = 0; r < B; r++)
        memcpy(a.patches + (size_t)r * h->n_patches * C, de + ((size_t)r * T + 1) * C,
               (size_t)h->n_patches * C * sizeof(float));
    zy_patch_embed_backward(NULL, dw->patch_w, dw->patch_b, a.patch_scratch, a.patches,
                            a.pixels, w->patch_w, B, h->channels, S, S, h->patch_size, C);
    return ZY_STATUS_OK;
}
