// The CTC speech encoder's forward and backward passes, with the activation block (sized
// by prepare for B rows of up to T frames):
//   h_0 = frames (B, T, F), zero past each row's length
//   per convolution i:  h_{i+1} = act(Conv1d(h_i; kernel K, stride 2, padding K/2)),
//                       frames past the row's length after it set to zero
//   x = h_n + PE (sinusoidal, position.h; To = T / 2^n frames, rounded up per layer)
//   x = Drop(x); per layer (the shared pre-LN encoder block of src/nn, keys past the row's
//   length masked): h = x + Drop(Attn(LN1(x))); x = h + Drop(W2 · act(W1 · LN2(h)))
//   hidden = LN(x);  logits = lm_head(hidden)    (B, To, V)
//   loss: CTC (nn.h) summed over the rows and divided by their labels (count), so batches
//         and processes combine by label count; a row whose labels need more frames than
//         it has adds 0 (zero_infinity)
// Zeroing past each row's length after every convolution makes a row's result the same
// whatever the batch pads it to. Backward runs it in reverse on what forward kept.
// Nothing is allocated here.
#include <string.h>

#include "zhuyi/nn.h"
#include "zhuyi/position.h"

#include "core/internal.h"
#include "models/speech_internal.h"

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static uint64_t site_seed(const speech_session *g, int site) {
    return zy_hash64(g->seed, 0x9e3779b97f4a7c15ull + (uint64_t)site);
}

static zy_gelu_kind gelu_kind(const speech_hparams *h) {
    return h->gelu_tanh ? ZY_GELU_TANH : ZY_GELU_ERF;
}

zy_block_config zy__speech_block_config(const speech_session *g, int B, int l,
                                        const int *key_lengths) {
    const speech_hparams *h = &g->h;
    int To = zy__speech_out_len(h, g->T);
    zy_block_config c = zy_block_default_config(ZY_BLOCK_ENCODER, B, To, h->hidden, h->n_head,
                                                h->intermediate);
    c.norm_first = true;
    c.act = h->gelu_tanh ? ZY_BLOCK_GELU_TANH : ZY_BLOCK_GELU_ERF;
    c.eps = h->eps;
    c.dropout = (zy_block_dropout){.attn = g->p_attn, .attn_out = g->p_hidden,
                                   .ff_out = g->p_hidden};
    c.seed = site_seed(g, 1 + l);
    c.need_weights = g->keep_attention;
    c.frozen_linears = zy_block_frozen_linears(g->dw ? &g->dw[l] : NULL);
    c.self_attn.key_lengths = key_lengths;
    return c;
}

// Carves the block for B rows of T frames; with base NULL only counts (through *total).
static speech_acts carve(const speech_session *g, float *base, int B, int T, size_t *total) {
    const speech_hparams *h = &g->h;
    int L = h->n_layer, K = h->conv_kernel, To = zy__speech_out_len(h, T);
    size_t N = (size_t)B * To, C = (size_t)h->hidden, V = (size_t)h->vocab;
    speech_session sizing = *g;
    sizing.T = T;
    sizing.p_hidden = h->hidden_dropout;
    sizing.p_attn = h->attn_dropout;
    zy_block_config bl = zy__speech_block_config(&sizing, B, 0, NULL);
    size_t nc = round16(N * C), off = 0, conv_scratch = 0;
    size_t first = (size_t)B * zy__speech_conv_len(h, T, 0) * C;
#define TAKE(n) (base ? base + (off += (n), off - (n)) : (off += (n), NULL))
    speech_acts a = {0};
    a.feats = TAKE(round16((size_t)B * T * h->n_mels));
    for (int i = 0, Tin = T; i < h->n_conv; i++) {
        int Ti = zy__speech_conv_len(h, T, i);
        a.conv_pre[i] = TAKE(round16((size_t)B * Ti * C));
        a.conv_out[i] = TAKE(round16((size_t)B * Ti * C));
        conv_scratch = ZY_MAX(conv_scratch, zy_conv1d_scratch_floats(
                                                B, Tin, i ? (int)C : h->n_mels, K, 2, K / 2));
        Tin = Ti;
    }
    a.conv_scratch = TAKE(round16(conv_scratch));
    a.res_stride = nc;
    a.res = TAKE((size_t)(L + 1) * nc);
    a.block_acts = round16(zy_block_acts_floats(&bl));
    a.blocks = TAKE((size_t)L * a.block_acts);
    a.hidden = TAKE(nc);
    a.ln_mean = TAKE(round16(N));
    a.ln_rstd = TAKE(round16(N));
    a.logits = TAKE(round16(N * V));
    a.dlogits = TAKE(round16(N * V));
    a.lengths_out = TAKE(round16((size_t)B));
    a.ctc_work = TAKE(round16((zy_ctc_work_size(B, To, T) + 3) / 4));
    a.dres = TAKE(nc);
    a.d1 = TAKE(nc);
    a.dconv = TAKE(round16(first));
    a.dconv2 = TAKE(round16(first));
    a.scratch_floats = round16(zy_block_scratch_floats(&bl));
    a.scratch = TAKE(a.scratch_floats);
#undef TAKE
    if (total) *total = off;
    return a;
}

size_t zy__speech_acts_floats(const speech_session *g, int B, int T) {
    size_t total;
    carve(g, NULL, B, T, &total);
    return total;
}

// The block is allocated for cap_B x cap_T; a forward of T frames lays out (cap_B, T)
// within it (every share grows with T), so the views are those of the last forward's T.
speech_acts zy__speech_acts(const speech_session *g) {
    return carve(g, g->acts, g->cap_B, g->T, NULL);
}

zy_status zy__speech_prepare(zy_session *s, int B, int T, int seq_dec) {
    (void)seq_dec;
    speech_session *g = zy_session_impl(s);
    if (zy_ctc_work_size(B, zy__speech_out_len(&g->h, T), T) == 0)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech_ctc prepare: %d rows of %d "
                         "frames are too many for the CTC buffers", B, T);
    size_t n = zy__speech_acts_floats(g, B, T);
    float *acts = zy_alloc(n * sizeof(float));
    int32_t *ints = zy_alloc((size_t)(g->h.n_conv + 2) * (size_t)B * sizeof *ints);
    int32_t *labels = zy_alloc((size_t)B * (size_t)T * sizeof *labels);
    if (!acts || !ints || !labels) {
        zy_free(acts), zy_free(ints), zy_free(labels);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "speech_ctc prepare: out of memory for "
                         "activations of %d x %d frames (%.1f MiB)", B, T,
                         (double)n * 4 / (1 << 20));
    }
    zy_free(g->acts), zy_free(g->ints), zy_free(g->labels);
    g->acts = acts, g->ints = ints, g->labels = labels;
    g->cap_B = B, g->cap_T = T;
    g->outputs_ok = g->loss_pending = false;
    return ZY_STATUS_OK;
}

// Row r's frames after convolution i, i = -1 the input's.
static int32_t *lens(const speech_session *g, int i) { return g->ints + (size_t)(i + 1) * g->cap_B; }
static int32_t *label_lens(const speech_session *g) {
    return g->ints + (size_t)(g->h.n_conv + 1) * g->cap_B;
}

// Zero frames t >= len[r] of x (B, T, C).
static void zero_tail(float *x, const int32_t *len, int B, int T, int C) {
    for (int r = 0; r < B; r++)
        if (len[r] < T)
            memset(x + ((size_t)r * T + len[r]) * C, 0, (size_t)(T - len[r]) * C * sizeof *x);
}

// targets (B, T): row r's labels left-aligned, then -1 -> packed labels (B, Lmax), their
// lengths. Errors name the row and position.
static zy_status read_labels(speech_session *g, const zy_batch *b) {
    const speech_hparams *h = &g->h;
    int B = b->B, T = b->T, Lmax = 0;
    int32_t *tl = label_lens(g);
    for (int r = 0; r < B; r++) {
        const int *t = b->targets + (size_t)r * T;
        int n = 0;
        while (n < T && t[n] != -1) {
            if (t[n] < 0 || t[n] >= h->vocab || t[n] == h->blank)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech_ctc forward: label %d at "
                                 "(row %d, position %d) is not in [0, %d) or is the blank "
                                 "(%d)", t[n], r, n, h->vocab, h->blank);
            n++;
        }
        for (int j = n; j < T; j++)
            if (t[j] != -1)
                return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech_ctc forward: label %d at "
                                 "(row %d, position %d) follows the -1 that ends the row's "
                                 "labels", t[j], r, j);
        tl[r] = n;
        Lmax = ZY_MAX(Lmax, n);
    }
    g->Lmax = Lmax;
    double count = 0;
    for (int r = 0; r < B; r++) {
        for (int j = 0; j < Lmax; j++)
            g->labels[(size_t)r * Lmax + j] = j < tl[r] ? b->targets[(size_t)r * T + j] : 0;
        count += tl[r];
    }
    g->count = (float)count;
    return ZY_STATUS_OK;
}

static zy_ctc_params ctc_params(const speech_hparams *h) {
    zy_ctc_params p = zy_ctc_default_params();
    p.blank = h->blank;
    p.reduction = ZY_CTC_REDUCTION_SUM;
    p.zero_infinity = 1;
    return p;
}

zy_status zy__speech_forward(zy_session *s, const zy_batch *b, float *loss, double *count) {
    speech_session *g = zy_session_impl(s);
    const speech_hparams *h = &g->h;
    const speech_weights *w = &g->ew;
    int B = b->B, T = b->T, C = h->hidden, F = h->n_mels, K = h->conv_kernel, L = h->n_layer;
    int V = h->vocab;
    g->outputs_ok = g->loss_pending = false;
    if (B > g->cap_B || T > g->cap_T)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech_ctc forward: %d x %d frames, more "
                         "than the %d x %d prepared", B, T, g->cap_B, g->cap_T);
    g->B = B, g->T = T, g->To = zy__speech_out_len(h, T);
    int To = g->To;
    if (To < 1)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech_ctc forward: %d frames are too "
                         "few for the convolutions", T);
    zy_status st;
    if (b->targets && (st = read_labels(g, b))) return st;
    g->seed = zy_session_seed(s);
    bool training = zy_session_training(s);
    g->p_hidden = training ? h->hidden_dropout : 0.0f;
    g->p_attn = training ? h->attn_dropout : 0.0f;
    speech_acts a = zy__speech_acts(g);
    int32_t *len0 = lens(g, -1);
    for (int r = 0; r < B; r++) {
        len0[r] = b->lengths ? b->lengths[r] : T;
        for (int i = 0; i < h->n_conv; i++) lens(g, i)[r] = zy__speech_conv_len(h, len0[r], i);
    }
    memcpy(a.feats, b->features, (size_t)B * T * F * sizeof *a.feats);
    zero_tail(a.feats, len0, B, T, F);
    for (int i = 0, Tin = T; i < h->n_conv; i++) {
        int Ti = zy__speech_conv_len(h, T, i);
        zy_conv1d_forward(a.conv_pre[i], a.conv_scratch, i ? a.conv_out[i - 1] : a.feats,
                          w->conv_w[i], w->conv_b[i], B, Tin, i ? C : F, C, K, 2, K / 2);
        zy_gelu_forward(a.conv_out[i], a.conv_pre[i], (size_t)B * Ti * C, gelu_kind(h));
        zero_tail(a.conv_out[i], lens(g, i), B, Ti, C);
        Tin = Ti;
    }
    const int32_t *len_o = lens(g, h->n_conv - 1);
    zy_sinusoid_add_forward(a.res, a.conv_out[h->n_conv - 1], B, To, C, 0);
    size_t N = (size_t)B * To, nc = N * C;
    if (g->p_hidden > 0) zy_dropout_forward(a.res, a.res, nc, g->p_hidden, site_seed(g, 0), 0);
    for (int l = 0; l < L; l++) {
        zy_block_config bc = zy__speech_block_config(g, B, l, len_o);
        st = zy_block_forward(a.res + (size_t)(l + 1) * a.res_stride,
                              a.blocks + (size_t)l * a.block_acts, a.scratch, a.scratch_floats,
                              a.res + (size_t)l * a.res_stride, NULL, &g->w[l], &bc);
        if (st) return st;
    }
    zy_layernorm_forward(a.hidden, a.ln_mean, a.ln_rstd, a.res + (size_t)L * a.res_stride,
                         w->lnw, w->lnb, (int)N, C, h->eps);
    zy_linear_forward(a.logits, a.hidden, w->head_w, w->head_b, (int)N, C, V);
    for (int r = 0; r < B; r++) a.lengths_out[r] = (float)len_o[r];
    g->outputs_ok = true;
    if (!b->targets) return ZY_STATUS_OK; // outputs only
    float sum = 0.0f;
    if (g->count > 0 &&
        (st = zy_ctc_forward(&sum, a.ctc_work, a.logits, g->labels, len_o, label_lens(g), B,
                             To, V, g->Lmax, ctc_params(h))))
        return st;
    g->loss_pending = true;
    if (loss) *loss = g->count > 0 ? sum / g->count : 0.0f;
    if (count) *count = g->count;
    return ZY_STATUS_OK;
}

zy_status zy__speech_backward(zy_session *s, float loss_scale) {
    speech_session *g = zy_session_impl(s);
    if (!g->loss_pending)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "speech_ctc backward: needs a forward "
                         "that scored a loss first (targets), once per forward");
    g->loss_pending = false;
    if (g->count <= 0) return ZY_STATUS_OK; // no labels: no gradient
    const speech_hparams *h = &g->h;
    const speech_weights *w = &g->ew, *dw = &g->edw;
    int B = g->B, T = g->T, To = g->To, C = h->hidden, F = h->n_mels, K = h->conv_kernel;
    int L = h->n_layer, V = h->vocab;
    speech_acts a = zy__speech_acts(g);
    size_t N = (size_t)B * To, nc = N * C;
    const int32_t *len_o = lens(g, h->n_conv - 1);
    memset(a.dlogits, 0, N * V * sizeof *a.dlogits);
    float dout = loss_scale / g->count;
    zy_ctc_backward(a.dlogits, &dout, a.ctc_work, a.logits, g->labels, len_o, label_lens(g), B,
                    To, V, g->Lmax, ctc_params(h));
    memset(a.d1, 0, nc * sizeof *a.d1);
    zy_linear_backward(a.d1, dw->head_w, dw->head_b, a.dlogits, a.hidden, w->head_w, (int)N, C,
                       V);
    memset(a.dres, 0, nc * sizeof *a.dres);
    zy_layernorm_backward(a.dres, dw->lnw, dw->lnb, a.d1, a.res + (size_t)L * a.res_stride,
                          w->lnw, a.ln_mean, a.ln_rstd, (int)N, C);
    bool conv = false;
    for (int i = 0; i < h->n_conv; i++) conv = conv || dw->conv_w[i] || dw->conv_b[i];
    int stop = conv ? 0 : L;
    for (int l = 0; l < L && stop == L; l++)
        for (int k = 0; k < SP_TENSORS_PER_LAYER && stop == L; k++)
            if (zy_session_tensor_grad(s, SP_T_LAYER(h, l, k))) stop = l;
    for (int l = L - 1; l >= stop; l--) {
        zy_block_config cfg = zy__speech_block_config(g, B, l, len_o);
        zy_status st = zy_block_backward(l > stop || conv ? a.dres : NULL, NULL, &g->dw[l],
                                         a.scratch, a.scratch_floats, a.dres,
                                         a.blocks + (size_t)l * a.block_acts,
                                         a.res + (size_t)l * a.res_stride, NULL, &g->w[l], &cfg);
        if (st) return st;
    }
    if (!conv) return ZY_STATUS_OK;
    // d(h_n) = d(x) through the dropout (the positions are a constant), masked as forward
    memset(a.dconv, 0, nc * sizeof *a.dconv);
    if (g->p_hidden > 0)
        zy_dropout_backward(a.dconv, a.dres, nc, g->p_hidden, site_seed(g, 0), 0);
    else
        memcpy(a.dconv, a.dres, nc * sizeof *a.dconv);
    zero_tail(a.dconv, len_o, B, To, C);
    for (int i = h->n_conv - 1; i >= 0; i--) {
        int Ti = zy__speech_conv_len(h, T, i), Tin = i ? zy__speech_conv_len(h, T, i - 1) : T;
        size_t n = (size_t)B * Ti * C;
        memset(a.dconv2, 0, n * sizeof *a.dconv2);
        zy_gelu_backward(a.dconv2, a.dconv, a.conv_pre[i], n, gelu_kind(h));
        if (i) memset(a.dconv, 0, (size_t)B * Tin * C * sizeof *a.dconv);
        zy_conv1d_backward(i ? a.dconv : NULL, dw->conv_w[i], dw->conv_b[i], a.conv_scratch,
                           a.dconv2, i ? a.conv_out[i - 1] : a.feats, w->conv_w[i], B, Tin,
                           i ? C : F, C, K, 2, K / 2);
        if (i) zero_tail(a.dconv, lens(g, i - 1), B, Tin, C);
    }
    return ZY_STATUS_OK;
}
