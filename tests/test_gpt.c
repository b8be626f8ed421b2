// Tests of the GPT model (src/models/gpt*.c) through the generic model interface that
// need no files: the tensor table (layout, shapes, decay), a finite-difference gradient
// check of the whole model with dropout on, frozen tensors, KV-cache decoding against the
// full forward, bad input. PyTorch references: test_gpt_ref.c; model directories:
// test_gpt_io.c.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gpt_util.h"
#include "harness.h"
#include "zhuyi/gemm.h"
#include "zhuyi/model.h"

// A tiny model with every parameter randomised (layernorm gains around 1, biases
// nonzero) so no gradient is trivially zero or one.
static zy_model *tiny_model(int L, int H, int C, int P, int V, float dropout, uint64_t seed) {
    zy_model *m = zt_gpt_create(L, H, C, P, V, dropout, seed);
    if (!m) return NULL;
    size_t n;
    float *p = zy_model_params(m, &n);
    float *noise = zt_floats(n);
    zt_fill_uniform(noise, n, seed + 1, -0.3f, 0.3f);
    for (size_t i = 0; i < n; i++) p[i] += noise[i];
    free(noise);
    return m;
}

static int cfg_int(const zy_config *c, const char *key) {
    int v = -1;
    zy_config_get_int(c, key, 0, 1 << 30, &v);
    return v;
}

TEST(gpt_presets_and_layout) {
    zy_config *c;
    ASSERT(zy_model_preset(&c, "gpt2-124m") == ZY_STATUS_OK);
    CHECK(cfg_int(c, "n_layer") == 12 && cfg_int(c, "n_head") == 12 &&
          cfg_int(c, "n_embd") == 768 && cfg_int(c, "n_positions") == 1024 &&
          cfg_int(c, "vocab_size") == 50257);
    // gpt2-124m has 124,439,808 parameters (HF's count, tied head counted once).
    zy_model *big;
    ASSERT(zy_model_create(&big, c) == ZY_STATUS_OK);
    CHECK(zy_model_get_info(big)->n_params == 124439808);
    double flops = zy_model_train_flops(big, 4, 64);
    zt_note("gpt2-124m step B=4 T=64: %.1f GFLOP", flops / 1e9);
    CHECK(flops > 180e9 && flops < 200e9);
    zy_model_free(big);
    zy_config_free(c);

    zy_model *m;
    ASSERT(zy_model_preset(&c, "gpt-nano") == ZY_STATUS_OK);
    CHECK(cfg_int(c, "vocab_size") == 0 && zy_model_create(&m, c) != ZY_STATUS_OK);
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "vocab_size") != NULL);
    ASSERT(zy_config_set_int(c, "vocab_size", 50257) == ZY_STATUS_OK);
    ASSERT(zy_config_set_int(c, "n_head", 5) == ZY_STATUS_OK); // 48 % 5 != 0
    CHECK(zy_model_create(&m, c) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "n_head") != NULL);
    zy_config_free(c);
    CHECK(zy_model_preset(&c, "gpt5") == ZY_STATUS_NOT_FOUND);
    CHECK(strstr(zy_last_error(), "gpt-nano") != NULL); // the message lists the presets

    m = tiny_model(2, 2, 8, 6, 11, 0.0f, 1);
    ASSERT(m != NULL);
    const zy_model_info *info = zy_model_get_info(m);
    CHECK(!strcmp(info->model_type, "gpt2") && info->causal_lm && info->vocab_size == 11 &&
          info->max_positions == 6 && info->d_model == 8);
    size_t n;
    zy_model_params(m, &n);
    const zy_tensor_table *tab = zy_model_tensors(m);
    ASSERT_EQ_INT(zy_tensor_table_count(tab), 4 + 12 * 2);
    size_t off = 0, decayed = 0;
    for (int i = 0; i < zy_tensor_table_count(tab); i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        CHECK(t->offset == off);
        off += t->count;
        if (t->decay) decayed += t->count;
    }
    CHECK(off == n && info->n_params == n && zy_model_trainable_floats(m) == n);
    const zy_tensor *t = zy_tensor_table_at(tab, 4); // h.0.attn.c_attn.weight, HF (C, 3C)
    CHECK(!strcmp(t->name, "transformer.h.0.attn.c_attn.weight"));
    CHECK(t->shape[0] == 8 && t->shape[1] == 24 && t->transposed && t->decay);
    CHECK(!strcmp(zy_tensor_table_at(tab, 0)->name, "transformer.wte.weight"));
    CHECK(!strcmp(zy_tensor_table_at(tab, 27)->name, "transformer.ln_f.bias"));
    CHECK(decayed == 2 * (size_t)(12 * 8 * 8));
    zy_model_free(m);
}

typedef struct fd_ctx {
    zy_session *s;
    int *x, *y;
    int B, T, V;
    uint64_t seed;
} fd_ctx;

// The model's mean cross-entropy, recomputed in double from its float logits: the
// float loss the forward returns would add ~1e-5 of rounding noise to each central
// difference, as large as the smallest gradients here.
static double fd_loss(void *p) {
    fd_ctx *c = p;
    zy_session_set_mode(c->s, true, c->seed); // the same masks in every pass
    zy_batch b = zt_batch(c->x, c->y, c->B, c->T);
    if (zy_session_forward(c->s, &b, NULL, NULL) != ZY_STATUS_OK) return NAN;
    const float *logits = zt_logits(c->s);
    int V = c->V, count = 0;
    double sum = 0;
    for (int r = 0; r < c->B * c->T; r++) {
        if (c->y[r] < 0) continue;
        const float *x = logits + (size_t)r * V;
        double mx = x[0], se = 0;
        for (int v = 1; v < V; v++) mx = fmax(mx, x[v]);
        for (int v = 0; v < V; v++) se += exp(x[v] - mx);
        sum += mx + log(se) - x[c->y[r]];
        count++;
    }
    return sum / count;
}

// Whole-model gradient check, L=2 H=2 C=8 T=5 V=11 B=2, dropout 0.1 everywhere (the
// masks depend only on the seed, so the central differences see the same network).
// eps 1e-2 on O(1) weights with the loss recomputed in double (fd_loss); tol 2e-2
// relative (floor 1% of the tensor's largest gradient) fails on any real mistake (a
// dropped term or wrong index gives O(1) relative errors).
TEST(gpt_gradcheck_whole_model) {
    int B = 2, T = 5, V = 11;
    zy_model *m = tiny_model(2, 2, 8, 6, V, 0.1f, 7);
    ASSERT(m != NULL);
    zy_session *s = zt_session(m, B, T, true);
    ASSERT(s != NULL);
    int x[10] = {1, 5, 3, 10, 0, 7, 7, 2, 9, 4};
    int y[10] = {5, 3, 10, 0, -1, 7, 2, 9, 4, 6}; // one ignored target
    fd_ctx ctx = {s, x, y, B, T, V, 42};
    zy_batch b = zt_batch(x, y, B, T);
    zy_session_zero_grads(s);
    float l0;
    double count;
    zy_session_set_mode(s, true, ctx.seed);
    ASSERT(zy_session_forward(s, &b, &l0, &count) == ZY_STATUS_OK);
    CHECK(count == 9);
    ASSERT_NEAR(l0, fd_loss(&ctx), 1e-6); // the double recomputation is the same loss
    zy_session_set_mode(s, true, ctx.seed);
    ASSERT(zy_session_forward(s, &b, &l0, NULL) == ZY_STATUS_OK);
    ASSERT(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
    // A second backward of the same forward is refused (dlogits replaced the logits).
    CHECK(zy_session_backward(s, 1.0f) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zt_logits(s) == NULL);
    size_t n;
    float *p = zy_model_params(m, &n), *g = zy_session_grads(s, NULL);
    const zy_tensor_table *tab = zy_model_tensors(m);
    for (int i = 0; i < zy_tensor_table_count(tab); i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        CHECK(zy_session_tensor_grad(s, i) == g + t->offset); // all trainable: same layout
        GRADCHECK(t->name, fd_loss, &ctx, p + t->offset, g + t->offset, t->count, 1e-2, 2e-2);
    }
    // loss_scale scales the gradients.
    float *g1 = zt_floats(n);
    memcpy(g1, g, n * sizeof *g);
    zy_session_zero_grads(s);
    zy_session_set_mode(s, true, ctx.seed);
    ASSERT(zy_session_forward(s, &b, &l0, NULL) == ZY_STATUS_OK);
    ASSERT(zy_session_backward(s, 0.5f) == ZY_STATUS_OK);
    for (size_t i = 0; i < n; i++) g1[i] *= 0.5f;
    CHECK_CLOSE("grads at loss_scale 0.5", g, g1, n, 1e-7, 1e-5);
    free(g1);
    zy_session_free(s);
    zy_model_free(m);
}

// Frozen tensors get no gradient memory; the trainable ones get exactly the gradients a
// fully trainable model computes (frozen weights still pass gradients through).
TEST(gpt_frozen_tensors) {
    int B = 2, T = 5, V = 11;
    zy_model *m = tiny_model(2, 2, 8, 6, V, 0.1f, 9);
    ASSERT(m != NULL);
    int x[10] = {1, 5, 3, 10, 0, 7, 7, 2, 9, 4}, y[10] = {5, 3, 10, 0, 1, 7, 2, 9, 4, 6};
    zy_batch b = zt_batch(x, y, B, T);
    zy_session *full = zt_session(m, B, T, true);
    ASSERT(full != NULL);
    zy_session_zero_grads(full);
    zy_session_set_mode(full, true, 3);
    ASSERT(zy_session_forward(full, &b, NULL, NULL) == ZY_STATUS_OK);
    ASSERT(zy_session_backward(full, 1.0f) == ZY_STATUS_OK);

    // Freeze everything but the second block's MLP and the final layernorm.
    const zy_tensor_table *tab = zy_model_tensors(m);
    int nt = zy_tensor_table_count(tab);
    ASSERT(zy_model_set_trainable(m, -1, false) == ZY_STATUS_OK);
    CHECK(zy_model_trainable_floats(m) == 0);
    size_t want = 0;
    for (int i = 0; i < nt; i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        if (strstr(t->name, "h.1.mlp") || strstr(t->name, "ln_f")) {
            ASSERT(zy_model_set_trainable(m, i, true) == ZY_STATUS_OK);
            want += t->count;
        }
    }
    CHECK(zy_model_trainable_floats(m) == want);
    zy_session *part = zt_session(m, B, T, true);
    ASSERT(part != NULL);
    size_t n;
    zy_session_grads(part, &n);
    CHECK(n == want);
    zy_session_zero_grads(part);
    zy_session_set_mode(part, true, 3);
    ASSERT(zy_session_forward(part, &b, NULL, NULL) == ZY_STATUS_OK);
    ASSERT(zy_session_backward(part, 1.0f) == ZY_STATUS_OK);
    for (int i = 0; i < nt; i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        const float *gp = zy_session_tensor_grad(part, i);
        if (!zy_model_is_trainable(m, i)) {
            CHECK(gp == NULL);
            continue;
        }
        ASSERT(gp != NULL);
        CHECK(memcmp(gp, zy_session_tensor_grad(full, i), t->count * sizeof *gp) == 0);
    }
    CHECK(zy_model_set_trainable(m, nt, true) == ZY_STATUS_INVALID_ARGUMENT);
    zy_session_free(part);
    zy_session_free(full);
    zy_model_free(m);
}

// Under bf16 matmuls a training session reads its weights from a bf16 copy it makes at
// each forward (session.c): its forward equals an inference session's bit for bit (which
// rounds the weights while packing), before and after the weights change between forwards;
// zy_session_weights_unchanged keeps the copy for the next forward only.
TEST(gpt_bf16_training_session_reads_current_weights) {
    int B = 2, T = 8, V = 40;
    zy_model *m = tiny_model(2, 2, 32, 8, V, 0.0f, 21);
    ASSERT(m != NULL);
    int x[16], y[16];
    for (int i = 0; i < 16; i++) x[i] = (7 * i + 3) % V, y[i] = (5 * i + 1) % V;
    zy_batch b = zt_batch(x, y, B, T);
    zy_session *tr = zt_session(m, B, T, true), *ev = zt_session(m, B, T, false);
    ASSERT(tr != NULL && ev != NULL);
    zy_precision old = zy_gemm_precision_set(ZY_PRECISION_BF16);
    size_t n, nl = (size_t)B * T * V;
    float *p = zy_model_params(m, &n), *before = zt_floats(nl);
    for (int round = 0; round < 2 && !zt_failed(); round++) {
        float lt, le;
        zy_session_zero_grads(tr);
        ASSERT(zy_session_forward(tr, &b, &lt, NULL) == ZY_STATUS_OK);
        ASSERT(zy_session_forward(ev, &b, &le, NULL) == ZY_STATUS_OK);
        CHECK(memcmp(&lt, &le, sizeof lt) == 0);
        const float *lg = zt_logits(tr); // (before the backward, which may overwrite them)
        ASSERT(lg != NULL && zt_logits(ev) != NULL);
        CHECK(memcmp(lg, zt_logits(ev), nl * sizeof(float)) == 0);
        if (round == 0) memcpy(before, lg, nl * sizeof(float));
        else CHECK(memcmp(before, lg, nl * sizeof(float)) != 0);
        ASSERT(zy_session_backward(tr, 1.0f) == ZY_STATUS_OK);
        for (size_t i = 0; i < n; i++) p[i] *= 1.25f; // new weights for the next forward
    }
    // Told the weights are unchanged, the next forward keeps the copy it has (so here,
    // where a matrix only the products read did change, it computes with the old one: the
    // reuse is visible).
    float lt;
    ASSERT(zy_session_forward(tr, &b, &lt, NULL) == ZY_STATUS_OK);
    memcpy(before, zt_logits(tr), nl * sizeof(float));
    const zy_tensor_table *tab = zy_model_tensors(m);
    const zy_tensor *w = NULL;
    for (int i = 0; i < zy_tensor_table_count(tab) && !w; i++)
        if (strstr(zy_tensor_table_at(tab, i)->name, "h.0.attn.c_attn.weight"))
            w = zy_tensor_table_at(tab, i);
    ASSERT(w != NULL);
    for (size_t i = 0; i < w->count; i++) p[w->offset + i] *= 0.5f;
    zy_session_weights_unchanged(tr);
    ASSERT(zy_session_forward(tr, &b, &lt, NULL) == ZY_STATUS_OK);
    CHECK(memcmp(before, zt_logits(tr), nl * sizeof(float)) == 0);
    ASSERT(zy_session_forward(tr, &b, &lt, NULL) == ZY_STATUS_OK); // only the next one
    CHECK(memcmp(before, zt_logits(tr), nl * sizeof(float)) != 0);
    zy_gemm_precision_set(old);
    free(before);
    zy_session_free(tr);
    zy_session_free(ev);
    zy_model_free(m);
}

// zy_session_zero_grads clears every gradient, past 8 MB of them with non-temporal stores
// in 4 MB items (session.c): a vocabulary of 40,003 x 64 makes about 2.6 M floats, the last
// item not a whole number of cache lines.
TEST(gpt_zero_grads_clears_large_arrays) {
    zy_model *m = zt_gpt_create(1, 2, 64, 8, 40003, 0.0f, 3);
    ASSERT(m != NULL);
    zy_session *s = zt_session(m, 1, 8, true);
    ASSERT(s != NULL);
    size_t n;
    float *g = zy_session_grads(s, &n);
    ASSERT(g != NULL && n > ((size_t)1 << 21));
    for (size_t i = 0; i < n; i++) g[i] = 1.0f + (float)(i % 7);
    zy_session_zero_grads(s);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += g[i] != 0.0f;
    CHECK(bad == 0);
    zy_session_free(s);
    zy_model_free(m);
}

TEST(gpt_dropout_is_seeded) {
    int B = 2, T = 5;
    zy_model *m = tiny_model(2, 2, 8, 6, 11, 0.2f, 3);
    ASSERT(m != NULL);
    zy_session *s = zt_session(m, B, T, false);
    ASSERT(s != NULL);
    int x[10] = {1, 5, 3, 10, 0, 7, 7, 2, 9, 4}, y[10] = {5, 3, 10, 0, 1, 7, 2, 9, 4, 6};
    zy_batch bt = zt_batch(x, y, B, T);
    float a, b, c, e1, e2;
    zy_session_set_mode(s, true, 1);
    ASSERT(zy_session_forward(s, &bt, &a, NULL) == ZY_STATUS_OK);
    zy_session_set_mode(s, true, 1);
    ASSERT(zy_session_forward(s, &bt, &b, NULL) == ZY_STATUS_OK);
    zy_session_set_mode(s, true, 2);
    ASSERT(zy_session_forward(s, &bt, &c, NULL) == ZY_STATUS_OK);
    zy_session_set_mode(s, false, 1);
    ASSERT(zy_session_forward(s, &bt, &e1, NULL) == ZY_STATUS_OK);
    zy_session_set_mode(s, false, 2);
    ASSERT(zy_session_forward(s, &bt, &e2, NULL) == ZY_STATUS_OK);
    zt_note("loss seed 1 %.7f, seed 2 %.7f, eval %.7f", a, c, e1);
    CHECK(a == b && a != c && e1 == e2 && e1 != a);
    // Without gradients a session cannot run backward.
    CHECK(zy_session_backward(s, 1.0f) == ZY_STATUS_INVALID_ARGUMENT);
    // Setting the model's dropout to 0 makes training mode deterministic.
    CHECK(zy_model_set_dropout(m, 1.5f) == ZY_STATUS_INVALID_ARGUMENT);
    zy_session_free(s);
    zy_model_free(m);
}

// Decoding with the KV cache must give the full forward's logits at every position:
// the prompt in one call (crossing the 256-position chunk), then one token at a time.
// Tolerance 1e-4 absolute on logits of size ~1: the two paths sum in different orders.
TEST(gpt_decode_matches_forward) {
    int T = 300, V = 13;
    zy_model *m = tiny_model(2, 2, 16, T, V, 0.1f, 11);
    ASSERT(m != NULL);
    zy_session *s = zt_session(m, 1, T, false);
    ASSERT(s != NULL);
    int x[300];
    for (int t = 0; t < T; t++) x[t] = (t * 7 + 3) % V;
    zy_batch b = zt_batch(x, NULL, 1, T);
    ASSERT(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_OK);
    const float *full = zt_logits(s);
    ASSERT(full != NULL);
    float *got = zt_floats((size_t)T * V);
    int prompt = 290, seq = 0;
    ASSERT(zy_session_seq_len(s, 0) == 0);
    ASSERT(zy_session_decode(s, 1, &seq, x, prompt, got + (size_t)(prompt - 1) * V) ==
           ZY_STATUS_OK);
    for (int t = prompt; t < T; t++)
        ASSERT(zy_session_decode(s, 1, &seq, x + t, 1, got + (size_t)t * V) == ZY_STATUS_OK);
    CHECK(zy_session_seq_len(s, 0) == T);
    size_t from = (size_t)(prompt - 1) * V;
    CHECK_CLOSE("decode vs forward logits", got + from, full + from, (size_t)T * V - from, 1e-4,
                1e-4);
    // Full: the cache refuses to grow past n_positions and is left as it was.
    CHECK(zy_session_decode(s, 1, &seq, x, 1, got) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_session_seq_len(s, 0) == T);
    // Reset, then every position one token at a time.
    zy_session_seq_reset(s, 0);
    CHECK(zy_session_seq_len(s, 0) == 0);
    for (int t = 0; t < T; t++)
        ASSERT(zy_session_decode(s, 1, &seq, x + t, 1, got + (size_t)t * V) == ZY_STATUS_OK);
    CHECK_CLOSE("decode one by one vs forward", got, full, (size_t)T * V, 1e-4, 1e-4);
    int bad = V;
    zy_session_seq_reset(s, -1);
    CHECK(zy_session_decode(s, 1, &seq, &bad, 1, got) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_session_seq_len(s, 0) == 0);
    int seq1 = 1; // the session holds one sequence
    CHECK(zy_session_decode(s, 1, &seq1, x, 1, got) == ZY_STATUS_INVALID_ARGUMENT);
    free(got);
    zy_session_free(s);
    zy_model_free(m);
}

// Several sequences in one session decode independently: stepping them together gives
// each the logits it gets alone.
TEST(gpt_decode_several_sequences) {
    int T = 24, V = 13, P = 32;
    zy_model *m = tiny_model(2, 2, 16, P, V, 0.0f, 12);
    ASSERT(m != NULL);
    zy_session_params sp = zy_session_default_params();
    sp.n_seq = 3;
    zy_session *s, *one;
    ASSERT(zy_session_create(&s, m, &sp) == ZY_STATUS_OK);
    ASSERT(zy_session_create(&one, m, NULL) == ZY_STATUS_OK);
    int x[3][24];
    for (int q = 0; q < 3; q++)
        for (int t = 0; t < T; t++) x[q][t] = (t * (q + 3) + q) % V;
    float *want = zt_floats((size_t)3 * V), *got = zt_floats((size_t)3 * V);
    int seqs[3] = {2, 0, 1}, zero = 0;
    // Prompts of 10, 11, 12 tokens, then 5 joint steps.
    for (int q = 0; q < 3; q++)
        ASSERT(zy_session_decode(s, 1, &seqs[q], x[q], 10 + q, got) == ZY_STATUS_OK);
    for (int step = 0; step < 5; step++) {
        int tok[3];
        for (int q = 0; q < 3; q++) tok[q] = x[q][10 + q + step];
        ASSERT(zy_session_decode(s, 3, seqs, tok, 1, got) == ZY_STATUS_OK);
    }
    for (int q = 0; q < 3; q++) {
        CHECK(zy_session_seq_len(s, seqs[q]) == 15 + q);
        zy_session_seq_reset(one, 0);
        ASSERT(zy_session_decode(one, 1, &zero, x[q], 15 + q, want + (size_t)q * V) ==
               ZY_STATUS_OK);
    }
    CHECK_CLOSE("3 sequences stepped together vs alone", got, want, (size_t)3 * V, 1e-5, 1e-5);
    int dup[2] = {1, 1};
    CHECK(zy_session_decode(s, 2, dup, x[0], 1, got) == ZY_STATUS_INVALID_ARGUMENT);
    // Forking (beam search): sequence 1 becomes a copy of sequence 2 (x[0]'s 10 + 5
    // positions); fed the same next token, both give x[0]'s logits alone.
    ASSERT(zy_session_seq_copy(s, 1, 2) == ZY_STATUS_OK);
    CHECK(zy_session_seq_len(s, 1) == 15);
    int both[2] = {2, 1}, tok2[2] = {x[0][15], x[0][15]};
    ASSERT(zy_session_decode(s, 2, both, tok2, 1, got) == ZY_STATUS_OK);
    zy_session_seq_reset(one, 0);
    ASSERT(zy_session_decode(one, 1, &zero, x[0], 16, want) == ZY_STATUS_OK);
    CHECK_CLOSE("forked sequence", got + V, want, (size_t)V, 1e-5, 1e-5);
    CHECK_CLOSE("its origin", got, want, (size_t)V, 1e-5, 1e-5);
    CHECK(zy_session_seq_copy(s, 3, 0) == ZY_STATUS_INVALID_ARGUMENT);
    free(want), free(got);
    zy_session_free(one);
    zy_session_free(s);
    zy_model_free(m);
}

TEST(gpt_bad_batches) {
    zy_model *m = tiny_model(1, 2, 8, 6, 11, 0.0f, 5);
    ASSERT(m != NULL);
    zy_session *s = zt_session(m, 0, 0, true);
    ASSERT(s != NULL);
    int x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {2, 3, 4, 5, 6, 7};
    zy_batch b16 = zt_batch(x, y, 1, 6), b23 = zt_batch(x, y, 2, 3);
    float loss;
    CHECK(zy_session_forward(s, &b16, &loss, NULL) == ZY_STATUS_INVALID_ARGUMENT); // unprepared
    CHECK(strstr(zy_last_error(), "zy_session_prepare") != NULL);
    CHECK(zy_session_prepare(s, 1, 7, 0) == ZY_STATUS_INVALID_ARGUMENT); // T > n_positions
    ASSERT(zy_session_prepare(s, 2, 3, 0) == ZY_STATUS_OK);
    CHECK(zy_session_forward(s, &b16, &loss, NULL) == ZY_STATUS_INVALID_ARGUMENT); // T > cap
    CHECK(zy_session_backward(s, 1.0f) == ZY_STATUS_INVALID_ARGUMENT); // no forward yet
    x[4] = 11;
    CHECK(zy_session_forward(s, &b23, &loss, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "b=1, t=1") != NULL && strstr(zy_last_error(), "11"));
    x[4] = 5;
    y[2] = -5;
    CHECK(zy_session_forward(s, &b23, &loss, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "b=0, t=2") != NULL);
    y[2] = 4;
    CHECK(zy_session_forward(s, &b23, &loss, NULL) == ZY_STATUS_OK && isfinite(loss));
    // Growing the activations keeps the model usable at the new size.
    ASSERT(zy_session_prepare(s, 1, 6, 0) == ZY_STATUS_OK);
    CHECK(zy_session_forward(s, &b16, &loss, NULL) == ZY_STATUS_OK && isfinite(loss));
    CHECK(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
    zy_session_free(s);
    zy_model_free(m);
}

// The decoding GEMV (src/kernels/gemv*.c, private): the AVX2 and AVX-512 rows against the
// scalar reference and both against a double-precision product, at sizes with tails
// (K not a multiple of 16, N not a multiple of 4) and at gpt2 widths. Tolerance 1e-5
// relative to Σ|w·x| (float sums of up to 3072 terms in different orders).
void zy__gemv(float *y, const float *W, const float *x, const float *b, int N, int K);

TEST(gpt_gemv_simd_matches_scalar) {
    int sizes[][2] = {{13, 77}, {5, 16}, {130, 768}, {771, 3072}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int N = sizes[s][0], K = sizes[s][1];
        float *W = zt_floats((size_t)N * K), *x = zt_floats(K), *b = zt_floats(N);
        float *ref = zt_floats(N), *y = zt_floats(N), *scale = zt_floats(N);
        zt_fill_uniform(W, (size_t)N * K, 10 + s, -1, 1);
        zt_fill_uniform(x, K, 20 + s, -1, 1);
        zt_fill_uniform(b, N, 30 + s, -1, 1);
        for (int r = 0; r < N; r++) {
            double acc = b[r], mag = fabs(b[r]);
            for (int k = 0; k < K; k++) {
                acc += (double)W[(size_t)r * K + k] * x[k];
                mag += fabs((double)W[(size_t)r * K + k] * x[k]);
            }
            ref[r] = (float)acc;
            scale[r] = (float)mag;
        }
        for (int lvl = ZY_SIMD_SCALAR; lvl <= ZY_SIMD_AVX512; lvl++) {
            if (!zt_use_simd(lvl)) continue; // a level this CPU lacks: skipped
            zy__gemv(y, W, x, b, N, K);
            double worst = 0;
            for (int r = 0; r < N; r++) worst = fmax(worst, fabs(y[r] - ref[r]) / scale[r]);
            zt_note("gemv %s N=%d K=%d: worst |err| / sum|terms| %.3g", zy_simd_name(lvl), N, K,
                    worst);
            CHECK(worst <= 1e-5);
        }
        free(W), free(x), free(b), free(ref), free(y), free(scale);
    }
}

// GPT-2 initialisation: N(0, 0.02) weights, N(0, 0.02/√(2L)) residual projections, zero
// biases, unit layernorm gains; the same seed gives the same weights at any thread count.
TEST(gpt_init_weights) {
    zy_model *a = zt_gpt_create(2, 4, 64, 32, 3000, 0.0f, 5);
    zy_model *b = zt_gpt_create(2, 4, 64, 32, 3000, 0.0f, 7);
    ASSERT(a && b);
    int threads = zy_threads_get();
    zy_threads_set(1);
    zy_model_init_weights(a, 5);
    zy_threads_set(threads);
    zy_model_init_weights(b, 5);
    size_t n;
    float *pa = zy_model_params(a, &n), *pb = zy_model_params(b, NULL);
    CHECK(memcmp(pa, pb, n * sizeof *pa) == 0);
    zy_model_init_weights(b, 6);
    CHECK(memcmp(pa, pb, n * sizeof *pa) != 0);
    const zy_tensor_table *tab = zy_model_tensors(a);
    for (int i = 0; i < zy_tensor_table_count(tab); i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        double s = 0, s2 = 0;
        for (size_t k = 0; k < t->count; k++) {
            s += pa[t->offset + k];
            s2 += (double)pa[t->offset + k] * pa[t->offset + k];
        }
        double mean = s / t->count, sd = sqrt(s2 / t->count - mean * mean);
        const char *name = t->name;
        if (strstr(name, ".bias")) {
            CHECK(s2 == 0);
        } else if (strstr(name, ".ln_")) {
            CHECK(s == (double)t->count && sd < 1e-9);
        } else {
            double want = strstr(name, "c_proj.weight") ? 0.02 / sqrt(4.0) : 0.02;
            // Standard error of the sd estimate is want/√(2n); n >= 4096 here: 5% is > 4σ.
            if (fabs(sd - want) > 0.05 * want || fabs(mean) > 0.1 * want)
                zt_fail(__FILE__, __LINE__, "%s: mean %g sd %g, want sd %g", name, mean, sd, want);
        }
    }
    zy_model_free(a);
    zy_model_free(b);
    // The weights a seed gives did not change when GPT moved onto the tensor table: the
    // hash of this model's weights at seed 1, computed by the code before it did.
    zy_model *c = zt_gpt_create(2, 2, 16, 32, 5000, 0.0f, 1);
    ASSERT(c != NULL);
    float *pc = zy_model_params(c, &n);
    CHECK(n == 87104 && zy_hash_bytes(pc, n * sizeof *pc) == 0x9a227ac80851f23dull);
    zy_model_free(c);
}
