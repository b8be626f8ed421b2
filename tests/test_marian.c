// The encoder-decoder Transformer (MarianMT layout) against PyTorch (tests/ref_marian.py ->
// tests/ref/marian.zyr and tests/ref/marian_tiny): encoder and decoder outputs, logits,
// the label-smoothed and plain losses of a padded batch, every gradient and one AdamW step
// through the library's trainer; a whole-model gradient check with dropout; a directory
// written by zhuyi loads back with the same outputs; decoding over the KV caches (the
// encoder run once per source, beams sharing its memory) equals the training forward.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ref_model.h"
#include "zhuyi/trainer.h"

#define REF_PATH "tests/ref/marian.zyr"
#define REF_DIR "tests/ref/marian_tiny"
#define EPS_FD 1e-2
#define TOL_FD 1e-1





enum { B = 3, T = 7, TD = 6, C = 32, V = 40 };

typedef struct ref_batch {
    int src[B * T], dec[B * TD], targets[B * TD], src_len[B], dec_len[B];
} ref_batch;

static int load_batch(zt_ref *r, ref_batch *b) {
    const int *x[] = {zt_ref_i(r, "src", NULL), zt_ref_i(r, "dec", NULL),
                      zt_ref_i(r, "targets", NULL), zt_ref_i(r, "src_len", NULL),
                      zt_ref_i(r, "dec_len", NULL)};
    for (int i = 0; i < 5; i++)
        if (!x[i]) return 0;
    memcpy(b->src, x[0], sizeof b->src);
    memcpy(b->dec, x[1], sizeof b->dec);
    memcpy(b->targets, x[2], sizeof b->targets);
    memcpy(b->src_len, x[3], sizeof b->src_len);
    memcpy(b->dec_len, x[4], sizeof b->dec_len);
    return 1;
}

static zy_batch as_batch(ref_batch *r, bool targets) {
    return (zy_batch){.B = B, .T = T, .input_ids = r->src, .lengths = r->src_len,
                      .T_dec = TD, .dec_input_ids = r->dec, .dec_lengths = r->dec_len,
                      .dec_targets = targets ? r->targets : NULL};
}

static zy_session *session(const zy_model *m, bool training, float eps) {
    zy_session_params p = zy_session_default_params();
    p.batch = B, p.seq = T, p.seq_dec = TD, p.training = training, p.label_smoothing = eps;
    p.n_seq = 8, p.n_memory = 3;
    zy_session *s = NULL;
    if (zy_session_create(&s, m, &p) != ZY_STATUS_OK)
        zt_fail(__FILE__, __LINE__, "session: %s", zy_last_error());
    return s;
}

// Rows past each length are not compared (the reference zeroed them).
static void check_rows(const char *what, const float *got, const float *want, const int *len,
                       int Tn, int width, double atol, double rtol) {
    float *g = zt_floats((size_t)B * Tn * width);
    for (int b = 0; b < B; b++)
        memcpy(g + (size_t)b * Tn * width, got + (size_t)b * Tn * width,
               (size_t)len[b] * width * sizeof *g);
    CHECK_CLOSE(what, g, want, (size_t)B * Tn * width, atol, rtol);
    free(g);
}

static const float *output(const zy_session *s, const char *name) {
    const float *o = zy_session_output(s, name, NULL, NULL);
    if (!o) zt_fail(__FILE__, __LINE__, "output '%s' missing", name);
    return o;
}

// Outputs 1e-5 abs + 1e-4 rel, logits 2e-5 + 1e-4 (float against float64 through four
// post-LN layers); losses 1e-5.
static void check_forward(zt_ref *r, zy_session *s) {
    ref_batch rb;
    ASSERT(load_batch(r, &rb));
    zy_batch b = as_batch(&rb, true);
    float loss;
    double count;
    ASSERT(zy_session_forward(s, &b, &loss, &count) == ZY_STATUS_OK);
    zt_note("loss %.7f, torch %.7f", loss, zt_ref_scalar(r, "loss"));
    CHECK(fabsf(loss - zt_ref_scalar(r, "loss")) <= 1e-5f);
    CHECK(count == 6 + 4 + 5);
    zy_metric_set ms;
    zy_session_metrics(s, &ms);
    const zy_metric *nll = zy_metric_set_find(&ms, "nll_loss");
    CHECK(nll && fabs(nll->value - zt_ref_scalar(r, "nll_loss")) <= 1e-5 && nll->count == 15);
    CHECK(zy_metric_set_find(&ms, "accuracy") != NULL);
    const float *o;
    if ((o = output(s, "encoder_hidden")))
        check_rows("encoder_hidden", o, zt_ref_f(r, "encoder_hidden", NULL), rb.src_len, T, C,
                   1e-5, 1e-4);
    if ((o = output(s, "hidden")))
        check_rows("hidden", o, zt_ref_f(r, "hidden", NULL), rb.dec_len, TD, C, 1e-5, 1e-4);
    if ((o = output(s, "logits")))
        check_rows("logits", o, zt_ref_f(r, "logits", NULL), rb.dec_len, TD, V, 2e-5, 1e-4);
    // Garbage past each length changes nothing.
    for (int i = 0; i < B; i++) {
        for (int t = rb.src_len[i]; t < T; t++) rb.src[i * T + t] = 1000 + t;
        for (int t = rb.dec_len[i]; t < TD; t++) rb.dec[i * TD + t] = -3;
    }
    b = as_batch(&rb, true);
    float again;
    ASSERT(zy_session_forward(s, &b, &again, NULL) == ZY_STATUS_OK);
    CHECK(again == loss);
}

// ---- one trainer step -----------------------------------------------------------------
typedef struct one_batch {
    ref_batch b;
    uint64_t pos;
} one_batch;

static zy_status one_next(void *impl, zy_batch *b) {
    one_batch *o = impl;
    b->B = B, b->T = T, b->T_dec = TD;
    memcpy(b->input_ids, o->b.src, sizeof o->b.src);
    memcpy(b->lengths, o->b.src_len, sizeof o->b.src_len);
    memcpy(b->dec_input_ids, o->b.dec, sizeof o->b.dec);
    memcpy(b->dec_targets, o->b.targets, sizeof o->b.targets);
    memcpy(b->dec_lengths, o->b.dec_len, sizeof o->b.dec_len);
    o->pos++;
    return ZY_STATUS_OK;
}
static void one_tell(const void *impl, zy_data_pos *p) {
    *p = (zy_data_pos){0, ((const one_batch *)impl)->pos};
}
static zy_status one_seek(void *impl, zy_data_pos p) {
    ((one_batch *)impl)->pos = p.pos;
    return ZY_STATUS_OK;
}
static zy_status one_shard(void *impl, int rank, int world) {
    (void)impl;
    return rank == 0 && world == 1 ? ZY_STATUS_OK : ZY_STATUS_UNSUPPORTED;
}
static const zy_data_source_ops ONE_OPS = {one_next, one_tell, one_seek, one_shard, free};

static zy_data_source *one_source(zt_ref *r, int tokens) {
    one_batch *o = calloc(1, sizeof *o);
    if (!o || !load_batch(r, &o->b)) {
        free(o);
        return NULL;
    }
    zy_data_source_info info = {
        .kind = "zt-marian-ref",
        .dims = {.batch = B, .seq = T, .seq_dec = TD, .tokens = tokens,
                 .fields = ZY_BATCH_LENGTHS | ZY_BATCH_DECODER},
        .n_items = 1,
        .fingerprint = 1,
    };
    zy_data_source *s = NULL;
    if (zy_data_source_create(&s, &ONE_OPS, o, &info)) free(o);
    return s;
}

// MarianMTModel, 2+2 layers, C=32, H=4, FF 48/40, V=40, P=16, SiLU ("swish"),
// scale_embedding, pad 39 = decoder start, eos 0; B=3, source lengths 7/5/3, decoder
// lengths 6/4/5 (one target is the pad id). Forward in evaluation mode, then one
// zy_trainer step with label smoothing 0.1 (AdamW lr 1e-3, betas 0.9/0.95, eps 1e-8, decay
// 0.1 on the matmul weights, no clipping) in a session bounded by tokens (B x T = 21 <= 24):
// gradients 2e-6 abs + 2e-3 rel, AdamW weights 2e-6.
TEST(marian_ref_tiny_matches_torch) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_model *m = NULL;
    if (zy_model_load(&m, REF_DIR) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "load: %s", zy_last_error());
        zt_ref_free(r);
        return;
    }
    const zy_model_info *info = zy_model_get_info(m);
    CHECK(!strcmp(info->model_type, "marian") && !strcmp(info->architecture, "MarianMTModel") &&
          info->encoder_decoder && !info->causal_lm && info->vocab_size == V &&
          info->decoder_start_id == 39 && info->eos_id == 0 && info->max_positions == 16);
    zy_session *s = session(m, false, 0.1f);
    if (s) check_forward(r, s);
    zy_session_free(s);

    zy_data_source *src = one_source(r, 24);
    ASSERT(src != NULL);
    zy_trainer_params p = zy_trainer_default_params();
    p.batch = B, p.seq = T, p.steps = 1, p.schedule = ZY_SCHEDULE_CONSTANT, p.warmup = 0;
    p.lr = 1e-3f, p.weight_decay = 0.1f, p.grad_clip = 0.0f, p.eval_batches = 0;
    p.label_smoothing = 0.1f;
    zy_trainer *t = NULL;
    if (zy_trainer_create(&t, m, src, NULL, &p) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "trainer: %s", zy_last_error());
    } else {
        zy_step_info step;
        ASSERT(zy_trainer_step(t, &step) == ZY_STATUS_OK);
        zt_note("step loss %.7f, torch %.7f", step.loss, zt_ref_scalar(r, "loss"));
        CHECK(fabsf(step.loss - zt_ref_scalar(r, "loss")) <= 1e-5f);
        size_t n;
        const float *g = zy_session_grads(zy_trainer_session(t), &n);
        CHECK(n == info->n_params);
        zt_ref_check_tensors(r, m, g, "grad.", NULL, 2e-6, 2e-3);
        zt_ref_check_tensors(r, m, zy_model_params(m, NULL), "adamw.", "grad.", 2e-6, 0);
        zy_trainer_free(t);
    }
    zy_data_source_free(src);
    zy_model_free(m);
    zt_ref_free(r);
}

// Saved by zhuyi and loaded back: the same config fields and weights, the tied tensors not
// written, the same forward.
TEST(marian_directory_round_trip) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_model *m = NULL, *m2 = NULL;
    ASSERT(zy_model_load(&m, REF_DIR) == ZY_STATUS_OK);
    const char *dir = "build/test_marian_roundtrip";
    ASSERT(zy_model_save(m, dir) == ZY_STATUS_OK);
    if (zy_model_load(&m2, dir) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "reload: %s", zy_last_error());
    } else {
        size_t n1, n2;
        const float *a = zy_model_params(m, &n1), *b = zy_model_params(m2, &n2);
        CHECK(n1 == n2 && !memcmp(a, b, n1 * sizeof *a));
        zy_config *c = NULL;
        ASSERT(zy_model_get_config(m2, &c) == ZY_STATUS_OK);
        bool scale = false;
        const char *act = NULL;
        CHECK(!zy_config_get_bool(c, "scale_embedding", &scale) && scale);
        CHECK(!zy_config_get_string(c, "activation_function", &act) && !strcmp(act, "swish"));
        zy_config_free(c);
        zy_session *s = session(m2, false, 0.1f);
        if (s) check_forward(r, s);
        zy_session_free(s);
    }
    zy_model_free(m2);
    zy_model_free(m);
    zt_ref_free(r);
}

// ---- gradient check --------------------------------------------------------------------
typedef struct fd_ctx {
    zy_session *s;
    ref_batch *b;
    uint64_t seed;
} fd_ctx;

// The label-smoothed loss recomputed in double from the float logits.
static double fd_loss(void *p) {
    fd_ctx *c = p;
    zy_session_set_mode(c->s, true, c->seed);
    zy_batch b = as_batch(c->b, true);
    if (zy_session_forward(c->s, &b, NULL, NULL) != ZY_STATUS_OK) return NAN;
    const float *logits = zy_session_output(c->s, "logits", NULL, NULL);
    double sum = 0;
    int count = 0;
    for (int i = 0; i < B * TD; i++) {
        int y = c->b->targets[i];
        if (y < 0) continue;
        const float *x = logits + (size_t)i * V;
        double mx = x[0], se = 0, mean = 0;
        for (int v = 1; v < V; v++) mx = fmax(mx, x[v]);
        for (int v = 0; v < V; v++) se += exp(x[v] - mx), mean += x[v];
        double lse = mx + log(se);
        sum += 0.9 * (lse - x[y]) + 0.1 * (lse - mean / V);
        count++;
    }
    return sum / count;
}

// Whole model with dropout 0.1 on the residual branches, 0.1 on the attention weights and
// 0.1 on the FF hidden layer (the masks depend only on the seed), label smoothing 0.1:
// eps 1e-2 (the central differences converge there; at 2e-2 curvature shows), tol 10 %
// relative (floor 1% of the tensor's largest gradient). The loss comes from a float
// forward through four post-LN layers: ~1e-5 of noise in each difference against
// gradients down to 1e-4 (worst seen 4.6 % with AVX-512, 8.4 % scalar). Exact agreement
// without dropout is marian_ref_tiny_matches_torch's (2e-3 against float64 torch); this
// test proves the masks: a site whose backward missed its mask is off by O(1).
TEST(marian_gradcheck_whole_model) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_config *c = NULL;
    ASSERT(zy_config_load(&c, REF_DIR "/config.json") == ZY_STATUS_OK);
    ASSERT(zy_config_set_float(c, "dropout", 0.1) == ZY_STATUS_OK);
    ASSERT(zy_config_set_float(c, "attention_dropout", 0.1) == ZY_STATUS_OK);
    ASSERT(zy_config_set_float(c, "activation_dropout", 0.1) == ZY_STATUS_OK);
    zy_model *m = NULL;
    ASSERT(zy_model_load_with_config(&m, REF_DIR, c) == ZY_STATUS_OK);
    zy_config_free(c);
    zy_session *s = session(m, true, 0.1f);
    ASSERT(s != NULL);
    ref_batch rb;
    ASSERT(load_batch(r, &rb));
    fd_ctx ctx = {s, &rb, 99};
    zy_session_zero_grads(s);
    zy_session_set_mode(s, true, ctx.seed);
    zy_batch b = as_batch(&rb, true);
    float l0;
    ASSERT(zy_session_forward(s, &b, &l0, NULL) == ZY_STATUS_OK);
    ASSERT_NEAR(l0, fd_loss(&ctx), 1e-5);
    zy_session_set_mode(s, true, ctx.seed);
    ASSERT(zy_session_forward(s, &b, &l0, NULL) == ZY_STATUS_OK);
    ASSERT(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
    CHECK(zy_session_backward(s, 1.0f) == ZY_STATUS_INVALID_ARGUMENT);
    float *p = zy_model_params(m, NULL), *g = zy_session_grads(s, NULL);
    const zy_tensor_table *tab = zy_model_tensors(m);
    for (int i = 0; i < zy_tensor_table_count(tab); i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        size_t n = t->count;
        if (strstr(t->name, "k_proj.bias")) { // softmax ignores a key bias: exactly 0
            for (size_t k = 0; k < n; k++) CHECK(fabsf(g[t->offset + k]) < 1e-6f);
            continue;
        }
        // The pad row (39, the decoder's start token) takes no gradient from its lookups
        // (padding_idx), which the finite difference does see: rows 0..38 only.
        if (i == 0) n = (size_t)(V - 1) * C;
        GRADCHECK(t->name, fd_loss, &ctx, p + t->offset, g + t->offset, n, EPS_FD, TOL_FD);
    }
    zy_session_free(s);
    zy_model_free(m);
    zt_ref_free(r);
}

// ---- decoding --------------------------------------------------------------------------
// Each source encoded once into its memory slot; the decoder inputs fed one token at a
// time as a batched step of all three sequences, and again with two beams forked from
// sequence 0 (attached to its slot, caches copied): every step's logits equal the training
// forward's logits at that position (1e-4).
TEST(marian_decode_equals_forward) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_model *m = NULL;
    ASSERT(zy_model_load(&m, REF_DIR) == ZY_STATUS_OK);
    zy_session *s = session(m, false, 0.0f);
    ASSERT(s != NULL);
    ref_batch rb;
    ASSERT(load_batch(r, &rb));
    zy_batch b = as_batch(&rb, false);
    ASSERT(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_OK);
    float *want = zt_floats((size_t)B * TD * V);
    memcpy(want, zy_session_output(s, "logits", NULL, NULL), sizeof(float) * B * TD * V);

    int slots[B] = {0, 1, 2}, seqs[B] = {0, 1, 2}, tok[8];
    float logits[8 * V];
    // decoding before any encode is refused by name
    tok[0] = 39;
    CHECK(zy_session_decode(s, 1, seqs, tok, 1, logits) == ZY_STATUS_INVALID_ARGUMENT);
    ASSERT(zy_session_encode(s, B, slots, rb.src, T, rb.src_len) == ZY_STATUS_OK);
    for (int t = 0; t < TD; t++) {
        for (int i = 0; i < B; i++) tok[i] = rb.dec[i * TD + t];
        ASSERT(zy_session_decode(s, B, seqs, tok, 1, logits) == ZY_STATUS_OK);
        for (int i = 0; i < B; i++) {
            if (t >= rb.dec_len[i]) continue;
            char what[48];
            snprintf(what, sizeof what, "step %d seq %d", t, i);
            CHECK_CLOSE(what, logits + (size_t)i * V, want + ((size_t)i * TD + t) * V, V, 1e-4,
                        1e-4);
        }
    }
    // beams 3 and 4 fork sequence 0 after two tokens; they read slot 0
    zy_session_seq_reset(s, -1);
    int s0 = 0;
    for (int t = 0; t < 2; t++)
        ASSERT(zy_session_decode(s, 1, &s0, &rb.dec[t], 1, logits) == ZY_STATUS_OK);
    ASSERT(zy_session_seq_copy(s, 3, 0) == ZY_STATUS_OK);
    ASSERT(zy_session_seq_attach(s, 4, 0) == ZY_STATUS_OK);
    ASSERT(zy_session_seq_copy(s, 4, 0) == ZY_STATUS_OK);
    int beams[2] = {3, 4};
    for (int t = 2; t < TD; t++) {
        tok[0] = tok[1] = rb.dec[t];
        ASSERT(zy_session_decode(s, 2, beams, tok, 1, logits) == ZY_STATUS_OK);
        CHECK_CLOSE("beam 3", logits, want + (size_t)t * V, V, 1e-4, 1e-4);
        CHECK_CLOSE("beam 4", logits + V, want + (size_t)t * V, V, 1e-4, 1e-4);
    }
    CHECK(zy_session_seq_len(s, 3) == TD && zy_session_seq_len(s, 0) == 2);
    CHECK(zy_session_seq_attach(s, 0, 3) == ZY_STATUS_INVALID_ARGUMENT); // 3 slots
    free(want);
    zy_session_free(s);
    zy_model_free(m);
    zt_ref_free(r);
}

// A model zhuyi makes (the reference's sizes, ReLU, no embedding scale, new random
// weights) saved for tests/roundtrip_marian.py, which loads build/marian_roundtrip into
// the PyTorch reference and compares the logits and encoder output written beside it
// (outputs.zyr), the config.json fields and the tensor names with MarianMTModel's.
TEST(marian_roundtrip_dir_for_torch) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_config *c = NULL;
    ASSERT(zy_config_load(&c, REF_DIR "/config.json") == ZY_STATUS_OK);
    ASSERT(zy_config_set_string(c, "activation_function", "relu") == ZY_STATUS_OK);
    ASSERT(zy_config_set_bool(c, "scale_embedding", false) == ZY_STATUS_OK);
    zy_model *m = NULL;
    ASSERT(zy_model_create(&m, c) == ZY_STATUS_OK);
    zy_config_free(c);
    zy_model_init_weights(m, 5);
    const char *dir = "build/marian_roundtrip";
    ASSERT(zy_model_save(m, dir) == ZY_STATUS_OK);
    zy_session *s = session(m, false, 0.0f);
    ref_batch rb;
    ASSERT(s && load_batch(r, &rb));
    zy_batch b = as_batch(&rb, false);
    ASSERT(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_OK);
    const char *names[] = {"src", "dec", "src_len", "dec_len", "logits", "encoder_hidden"};
    const void *data[] = {rb.src, rb.dec, rb.src_len, rb.dec_len,
                          zy_session_output(s, "logits", NULL, NULL),
                          zy_session_output(s, "encoder_hidden", NULL, NULL)};
    const int dtypes[] = {1, 1, 1, 1, 0, 0};
    const int d0[] = {B, B, 1, 1, B * TD, B * T}, d1[] = {T, TD, B, B, V, C};
    CHECK(zt_ref_write("build/marian_roundtrip/outputs.zyr", names, data, dtypes, d0, d1, 6));
    zy_session_free(s);
    zy_model_free(m);
    zt_ref_free(r);
}

// A session bounded by tokens (token-count batches): sized for B x max(T, T_dec) <= 24
// however the rows and lengths split it, it takes 3 rows of 7 (the reference's loss) and
// 6 rows of 4 (the reference rows cut short), and refuses 4 rows of 7 naming the bound.
TEST(marian_token_bounded_session) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_model *m = NULL;
    ASSERT(zy_model_load(&m, REF_DIR) == ZY_STATUS_OK);
    zy_session_params p = zy_session_default_params();
    p.batch = 8, p.seq = T, p.seq_dec = TD, p.tokens = 24;
    zy_session *s = NULL;
    ASSERT(zy_session_create(&s, m, &p) == ZY_STATUS_OK);
    ref_batch rb;
    ASSERT(load_batch(r, &rb));
    zy_batch b = as_batch(&rb, true);
    float l3;
    ASSERT(zy_session_forward(s, &b, &l3, NULL) == ZY_STATUS_OK); // 3 x 7
    CHECK(fabsf(l3 - zt_ref_scalar(r, "nll_loss")) <= 1e-5f); // no label smoothing here
    // 6 rows of 4: each reference row twice, sources cut to 3 ids + eos, decoders to 4
    enum { R6 = 6, T4 = 4 };
    int src[R6 * T4], dec[R6 * T4], tg[R6 * T4], sl[R6], dl[R6];
    for (int i = 0; i < R6; i++) {
        int k = i % B;
        for (int t = 0; t < T4; t++) {
            src[i * T4 + t] = t < 3 ? rb.src[k * T + t] : 0; // 0 = eos
            dec[i * T4 + t] = rb.dec[k * TD + t];
            tg[i * T4 + t] = t + 1 < T4 ? rb.dec[k * TD + t + 1] : 0;
        }
        sl[i] = T4, dl[i] = T4;
    }
    zy_batch b6 = {.B = R6, .T = T4, .input_ids = src, .lengths = sl, .T_dec = T4,
                   .dec_input_ids = dec, .dec_lengths = dl, .dec_targets = tg};
    float l6;
    double n6;
    CHECK(zy_session_forward(s, &b6, &l6, &n6) == ZY_STATUS_OK && n6 == R6 * T4 &&
          isfinite(l6));
    // 4 rows of 7 = 28 tokens: refused
    int src4[4 * T], sl4[4], dec4[4 * TD], dl4[4], tg4[4 * TD];
    for (int i = 0; i < 4; i++) {
        memcpy(src4 + i * T, rb.src + (i % B) * T, sizeof(int) * T);
        memcpy(dec4 + i * TD, rb.dec + (i % B) * TD, sizeof(int) * TD);
        memcpy(tg4 + i * TD, rb.targets + (i % B) * TD, sizeof(int) * TD);
        sl4[i] = rb.src_len[i % B], dl4[i] = rb.dec_len[i % B];
    }
    zy_batch b4 = {.B = 4, .T = T, .input_ids = src4, .lengths = sl4, .T_dec = TD,
                   .dec_input_ids = dec4, .dec_lengths = dl4, .dec_targets = tg4};
    CHECK(zy_session_forward(s, &b4, NULL, NULL) == ZY_STATUS_INVALID_ARGUMENT &&
          strstr(zy_last_error(), "tokens") != NULL);
    zy_session_free(s);
    zy_model_free(m);
    zt_ref_free(r);
}
