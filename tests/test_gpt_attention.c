// GPT-2's kept attention weights (zy_session_params.attention_weights, "attentions.L"):
// each layer's (B, H, T, T) equals the plain attention core run directly on the queries
// and keys of that layer's input (the model rebuilt from its tensors with the public
// layer functions); rows sum to 1 and are 0 above the diagonal (causal); the logits and
// the "hidden" output are those of a session on the tiled core; a training step (dropout
// on, the session prepared before training mode was set) gives the tiled core's loss and
// gradients; decoding on such a session is unchanged.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt_util.h"
#include "harness.h"
#include "models/gpt_internal.h"
#include "zhuyi/zhuyi.h"

enum { L = 2, H = 4, C = 32, P = 16, V = 40, B = 2, T = 9, D = C / H };

static zy_session *session(const zy_model *m, int b, int t, bool training, bool weights) {
    zy_session_params p = zy_session_default_params();
    p.batch = b, p.seq = t, p.training = training, p.attention_weights = weights;
    zy_session *s = NULL;
    if (zy_session_create(&s, m, &p) != ZY_STATUS_OK)
        zt_fail(__FILE__, __LINE__, "session: %s", zy_last_error());
    return s;
}

static float *tensor(const zy_model *m, int l, int k) {
    return (float *)zy_model_tensor_data(m, GPT_T_LAYER(l, k));
}

static void fill_ids(int *ids, int n, uint64_t seed) {
    for (int i = 0; i < n; i++) ids[i] = (int)(zy_hash64(seed, (uint64_t)i) % V);
}

TEST(gpt_attention_weights_match_plain_core) {
    zy_model *m = zt_gpt_create(L, H, C, P, V, 0.0f, 7);
    ASSERT(m != NULL);
    int ids[B * T];
    fill_ids(ids, B * T, 3);
    zy_batch b = zt_batch(ids, NULL, B, T);
    zy_session *tiled = session(m, B, T, false, false), *plain = session(m, B, T, false, true);
    ASSERT(tiled && plain);
    ASSERT(zy_session_forward(tiled, &b, NULL, NULL) == ZY_STATUS_OK);
    ASSERT(zy_session_forward(plain, &b, NULL, NULL) == ZY_STATUS_OK);
    CHECK(zy_session_output(tiled, "attentions.0", NULL, NULL) == NULL);
    CHECK(zy_session_output(plain, "attentions.2", NULL, NULL) == NULL);
    CHECK(zy_session_output(plain, "attentions.", NULL, NULL) == NULL);
    CHECK(zy_session_output(plain, "attentions.-1", NULL, NULL) == NULL);
    CHECK(zy_session_output(plain, "attention.0", NULL, NULL) == NULL);
    CHECK_CLOSE("logits, plain vs tiled", zt_logits(plain), zt_logits(tiled),
                (size_t)B * T * V, 1e-5, 1e-4);

    // "hidden" is ln_f's output: the tied head maps it to the logits.
    int nd = 0;
    int64_t sh[4] = {0};
    const float *hid = zy_session_output(plain, "hidden", &nd, sh);
    ASSERT(hid != NULL);
    CHECK(nd == 3 && sh[0] == B && sh[1] == T && sh[2] == C);
    float *lg = zt_floats((size_t)B * T * V);
    zy_sgemm(false, true, B * T, V, C, 1.0f, hid, C, zy_model_tensor_data(m, GPT_T_WTE), C,
             0.0f, lg, V);
    CHECK_CLOSE("hidden x wte^T vs logits", lg, zt_logits(plain), (size_t)B * T * V, 1e-5, 1e-5);
    CHECK_CLOSE("hidden, plain vs tiled", hid, zy_session_output(tiled, "hidden", NULL, NULL),
                (size_t)B * T * C, 1e-5, 1e-4);

    // The model rebuilt from its tensors: x = wte[ids] + wpe; per layer h = LN1(x),
    // qkv = h W_attnᵀ + b, and the plain core on q, k (causal) gives the weights; the
    // public block gives the next layer's input.
    float *x = zt_floats((size_t)B * T * C), *y = zt_floats((size_t)B * T * C);
    float *h = zt_floats((size_t)B * T * C), *mean = zt_floats(B * T), *rstd = zt_floats(B * T);
    float *qkv = zt_floats((size_t)B * T * 3 * C), *out = zt_floats((size_t)B * T * C);
    float *att = zt_floats((size_t)B * H * T * T);
    ASSERT(zy_embedding_forward(x, ids, zy_model_tensor_data(m, GPT_T_WTE),
                                zy_model_tensor_data(m, GPT_T_WPE), B, T, C, V) == ZY_STATUS_OK);
    zy_block_config bc = zy_block_default_config(ZY_BLOCK_DECODER, B, T, C, H, 4 * C);
    bc.norm_first = true, bc.act = ZY_BLOCK_GELU_TANH, bc.eps = 1e-5f;
    size_t na = zy_block_acts_floats(&bc), ns = zy_block_scratch_floats(&bc);
    float *acts = zt_floats(na), *scratch = zt_floats(ns);
    for (int l = 0; l < L; l++) {
        zy_layernorm_forward(h, mean, rstd, x, tensor(m, l, 0), tensor(m, l, 1), B * T, C, 1e-5f);
        zy_linear_forward(qkv, h, tensor(m, l, 2), tensor(m, l, 3), B * T, C, 3 * C);
        zy_attn_desc d = zy_attn_default_desc(B, H, T, T, D, D);
        d.causal = true;
        d.q_layout = d.k_layout = d.v_layout = zy_attn_layout_rows(T, D, 3 * C);
        ASSERT(zy_attn_forward(out, att, NULL, qkv, qkv + C, qkv + 2 * C, NULL, &d) ==
               ZY_STATUS_OK);
        char name[32];
        snprintf(name, sizeof name, "attentions.%d", l);
        const float *got = zy_session_output(plain, name, &nd, sh);
        ASSERT(got != NULL);
        CHECK(nd == 4 && sh[0] == B && sh[1] == H && sh[2] == T && sh[3] == T);
        CHECK_CLOSE(name, got, att, (size_t)B * H * T * T, 1e-6, 1e-5);
        double worst = 0;
        for (int r = 0; r < B * H * T; r++) {
            int i = r % T;
            double sum = 0;
            for (int j = 0; j < T; j++) {
                float w = got[(size_t)r * T + j];
                if (j > i) CHECK(w == 0.0f);
                sum += w;
            }
            worst = fmax(worst, fabs(sum - 1.0));
        }
        zt_note("%s: rows sum to 1 within %.2g", name, worst);
        CHECK(worst < 1e-5);
        zy_block_params p = {
            .self_attn = {.in_proj_weight = tensor(m, l, 2), .in_proj_bias = tensor(m, l, 3),
                          .out_proj_weight = tensor(m, l, 4), .out_proj_bias = tensor(m, l, 5)},
            .ln1w = tensor(m, l, 0), .ln1b = tensor(m, l, 1), .ln2w = tensor(m, l, 6),
            .ln2b = tensor(m, l, 7), .w1 = tensor(m, l, 8), .b1 = tensor(m, l, 9),
            .w2 = tensor(m, l, 10), .b2 = tensor(m, l, 11)};
        ASSERT(zy_block_forward(y, acts, scratch, ns, x, NULL, &p, &bc) == ZY_STATUS_OK);
        memcpy(x, y, (size_t)B * T * C * sizeof *x);
    }
    free(x), free(y), free(h), free(mean), free(rstd), free(qkv), free(out), free(att);
    free(acts), free(scratch), free(lg);
    zy_session_free(tiled);
    zy_session_free(plain);
    zy_model_free(m);
}

// Dropout 0.1 on every site, training mode set after the sessions were prepared (the
// kept weights' share of the activations is sized for the model's dropout from the
// start): the same loss and gradients as the tiled core (the same dropout masks), and the
// kept weights are those before dropout (rows still sum to 1).
TEST(gpt_attention_weights_training_step) {
    zy_model *m = zt_gpt_create(L, H, C, P, V, 0.1f, 9);
    ASSERT(m != NULL);
    int ids[B * T], targets[B * T];
    fill_ids(ids, B * T, 5);
    fill_ids(targets, B * T, 6);
    targets[3] = -1;
    zy_batch b = zt_batch(ids, targets, B, T);
    float loss[2];
    float *g[2];
    size_t n = 0;
    for (int keep = 0; keep < 2; keep++) {
        zy_session *s = session(m, B, T, true, keep);
        ASSERT(s != NULL);
        zy_session_set_mode(s, true, 1234);
        ASSERT(zy_session_forward(s, &b, &loss[keep], NULL) == ZY_STATUS_OK);
        ASSERT(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
        const float *a = zy_session_output(s, "attentions.1", NULL, NULL);
        CHECK((a != NULL) == keep);
        CHECK(zy_session_output(s, "logits", NULL, NULL) == NULL); // gone after backward
        CHECK(zy_session_output(s, "hidden", NULL, NULL) != NULL);
        for (int r = 0; a && r < B * H * T; r++) {
            double sum = 0;
            for (int j = 0; j < T; j++) sum += a[(size_t)r * T + j];
            CHECK(fabs(sum - 1.0) < 1e-5);
        }
        const float *gr = zy_session_grads(s, &n);
        g[keep] = zt_floats(n);
        memcpy(g[keep], gr, n * sizeof *gr);
        zy_session_free(s);
    }
    ASSERT_NEAR(loss[1], loss[0], 1e-5);
    CHECK_CLOSE("gradients, plain vs tiled", g[1], g[0], n, 1e-6, 1e-4);
    free(g[0]), free(g[1]);
    zy_model_free(m);
}

// Decoding ignores the option (it reads the KV cache) and gives the forward's logits; a
// forward after decoding still keeps the weights.
TEST(gpt_attention_weights_session_decodes) {
    zy_model *m = zt_gpt_create(L, H, C, P, V, 0.0f, 11);
    ASSERT(m != NULL);
    zy_session *s = session(m, 1, T, false, true);
    ASSERT(s != NULL);
    int ids[T];
    fill_ids(ids, T, 8);
    zy_batch b = zt_batch(ids, NULL, 1, T);
    ASSERT(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_OK);
    float *full = zt_floats((size_t)T * V), *got = zt_floats(V);
    memcpy(full, zt_logits(s), (size_t)T * V * sizeof *full);
    int seq = 0;
    ASSERT(zy_session_decode(s, 1, &seq, ids, T, got) == ZY_STATUS_OK);
    CHECK_CLOSE("decode vs forward, last position", got, full + (size_t)(T - 1) * V, V, 1e-4,
                1e-4);
    ASSERT(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_OK);
    CHECK(zy_session_output(s, "attentions.0", NULL, NULL) != NULL);
    free(full), free(got);
    zy_session_free(s);
    zy_model_free(m);
}
