// A second model written only here, to show the seams of the model interface are real: a
// 1-layer Transformer encoder that classifies token sequences ("zt-encoder-classifier").
// It declares its tensors, reads/writes its config.json, and implements forward/backward
// through zy_model_ops; its data come from a data source also defined here. The library's
// trainer, evaluation, model-directory I/O, freezing and state files run it unchanged.
//
// Model: x = E[ids] + P[t]; h = EncoderLayer(x) (post-LN, ReLU, padding by lengths);
// pooled = mean of h over each row's real tokens; logits = pooled · Wcᵀ + bc; loss = mean
// cross-entropy over the rows' labels. The file stores q, k and v separately (as BERT
// does); the table keeps them as one fused (3C, C) projection (adjacent entries). The
// classifier is optional: a checkpoint without it gets a fresh, reported head.
//
// Data: example i of the task is a pure function of (seed, i): a length in [T/2, T],
// tokens uniform in [1, V), label 1 iff more of them are below V/2 than not. Position =
// examples consumed; shards take their rows of each global batch.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "train_util.h"
#include "zhuyi/attention.h"
#include "zhuyi/nn.h"
#include "zhuyi/trainer.h"

// ---- the model -----------------------------------------------------------------------------
enum { T_E, T_P, T_BLOCK0 }; // tensor indices: embeddings, then 16 block entries, then head
#define N_BLOCK 16
#define T_WC (T_BLOCK0 + N_BLOCK)
#define T_BC (T_WC + 1)

typedef struct enc_hp {
    int V, C, H, FF, P, K;
} enc_hp;

static zy_status enc_read(const zy_config *c, enc_hp *h) {
    zy_status st;
    if ((st = zy_config_get_int(c, "vocab_size", 2, 1 << 20, &h->V)) ||
        (st = zy_config_get_int(c, "hidden_size", 1, 4096, &h->C)) ||
        (st = zy_config_get_int(c, "num_attention_heads", 1, 64, &h->H)) ||
        (st = zy_config_get_int(c, "intermediate_size", 1, 16384, &h->FF)) ||
        (st = zy_config_get_int(c, "max_position_embeddings", 1, 4096, &h->P)) ||
        (st = zy_config_get_int(c, "num_labels", 2, 1000, &h->K)))
        return st;
    if (h->C % h->H)
        return zy_error(ZY_STATUS_INVALID_ARGUMENT, "hidden_size %d is not a multiple of num_attention_heads %d",
                              h->C, h->H);
    return ZY_STATUS_OK;
}

static zy_status add(zy_tensor_table *t, const char *name, int64_t r, int64_t c, zy_init init,
                     bool decay, bool optional) {
    zy_tensor_def d = {.name = name, .ndim = c ? 2 : 1, .shape = {r, c}, .decay = decay,
                       .optional = optional, .init = init, .init_std = 0.1f};
    return zy_tensor_table_add(t, &d, NULL);
}

static zy_status enc_init(zy_model *m, const zy_config *c, zy_model_info *info) {
    enc_hp *h = calloc(1, sizeof *h);
    if (!h) return zy_error(ZY_STATUS_OUT_OF_MEMORY, "encoder: out of memory");
    zy_model_set_impl(m, h);
    zy_status st = enc_read(c, h);
    if (st) return st;
    zy_tensor_table *t = zy_model_table(m);
    int C = h->C, FF = h->FF;
    // The block's flat layout is PyTorch's (zy_block_params_init): q, k, v weights adjacent
    // form in_proj_weight (3C, C), their biases in_proj_bias (3C), and so on.
    const struct {
        const char *name;
        int64_t r, c;
        zy_init init;
        bool decay;
    } block[N_BLOCK] = {
        {"encoder.attention.query.weight", C, C, ZY_INIT_NORMAL, true},
        {"encoder.attention.key.weight", C, C, ZY_INIT_NORMAL, true},
        {"encoder.attention.value.weight", C, C, ZY_INIT_NORMAL, true},
        {"encoder.attention.query.bias", C, 0, ZY_INIT_ZEROS, false},
        {"encoder.attention.key.bias", C, 0, ZY_INIT_ZEROS, false},
        {"encoder.attention.value.bias", C, 0, ZY_INIT_ZEROS, false},
        {"encoder.attention.output.weight", C, C, ZY_INIT_NORMAL, true},
        {"encoder.attention.output.bias", C, 0, ZY_INIT_ZEROS, false},
        {"encoder.intermediate.weight", FF, C, ZY_INIT_NORMAL, true},
        {"encoder.intermediate.bias", FF, 0, ZY_INIT_ZEROS, false},
        {"encoder.output.weight", C, FF, ZY_INIT_NORMAL, true},
        {"encoder.output.bias", C, 0, ZY_INIT_ZEROS, false},
        {"encoder.norm1.weight", C, 0, ZY_INIT_ONES, false},
        {"encoder.norm1.bias", C, 0, ZY_INIT_ZEROS, false},
        {"encoder.norm2.weight", C, 0, ZY_INIT_ONES, false},
        {"encoder.norm2.bias", C, 0, ZY_INIT_ZEROS, false},
    };
    if ((st = add(t, "embeddings.word.weight", h->V, C, ZY_INIT_NORMAL, false, false)) ||
        (st = add(t, "embeddings.position.weight", h->P, C, ZY_INIT_NORMAL, false, false)))
        return st;
    for (int i = 0; i < N_BLOCK; i++)
        if ((st = add(t, block[i].name, block[i].r, block[i].c, block[i].init, block[i].decay,
                      false)))
            return st;
    if ((st = add(t, "classifier.weight", h->K, C, ZY_INIT_NORMAL, true, true)) ||
        (st = add(t, "classifier.bias", h->K, 0, ZY_INIT_ZEROS, false, true)))
        return st;
    *info = (zy_model_info){.model_type = "zt-encoder", .architecture = "ZtEncoderClassifier",
                            .vocab_size = h->V, .max_positions = h->P, .n_layer = 1,
                            .n_head = h->H, .d_model = C};
    return ZY_STATUS_OK;
}

static void enc_free(zy_model *m) { free(zy_model_impl(m)); }

static zy_status enc_write(const zy_model *m, zy_config *c) {
    const enc_hp *h = zy_model_impl(m);
    zy_status st;
    if ((st = zy_config_set_int(c, "vocab_size", h->V)) ||
        (st = zy_config_set_int(c, "hidden_size", h->C)) ||
        (st = zy_config_set_int(c, "num_attention_heads", h->H)) ||
        (st = zy_config_set_int(c, "intermediate_size", h->FF)) ||
        (st = zy_config_set_int(c, "max_position_embeddings", h->P)) ||
        (st = zy_config_set_int(c, "num_labels", h->K)))
        return st;
    return ZY_STATUS_OK;
}

// Per session: the block's activations and scratch for cap_B x cap_T, and the last batch.
typedef struct enc_sess {
    enc_hp h;
    int cap_B, cap_T;
    float *x, *y, *acts, *scratch, *pooled, *logits, *dlogits, *dpooled, *dy, *dx;
    size_t scratch_floats;
    int *labels, *lengths, *ids;
    int B, T;
    bool ready;
} enc_sess;

static zy_block_config block_cfg(const enc_sess *e, int B, int T, const int *lengths) {
    zy_block_config c = zy_block_default_config(ZY_BLOCK_ENCODER, B, T, e->h.C, e->h.H, e->h.FF);
    c.self_attn.key_lengths = lengths;
    return c;
}

static void sess_release(enc_sess *e) {
    float *f[] = {e->x, e->y, e->acts, e->scratch, e->pooled, e->logits, e->dlogits,
                  e->dpooled, e->dy, e->dx};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) free(f[i]);
    free(e->labels), free(e->lengths), free(e->ids);
}

static void enc_session_free(zy_session *s) {
    enc_sess *e = zy_session_impl(s);
    if (!e) return;
    sess_release(e);
    free(e);
}

static zy_status enc_session_init(zy_session *s, const zy_session_params *p) {
    (void)p;
    enc_sess *e = calloc(1, sizeof *e);
    if (!e) return zy_error(ZY_STATUS_OUT_OF_MEMORY, "encoder: out of memory");
    e->h = *(const enc_hp *)zy_model_impl(zy_session_model(s));
    zy_session_set_impl(s, e);
    return ZY_STATUS_OK;
}

static zy_status enc_prepare(zy_session *s, int B, int T, int Td) {
    (void)Td;
    enc_sess *e = zy_session_impl(s);
    sess_release(e);
    zy_block_config c = block_cfg(e, B, T, NULL);
    size_t n = (size_t)B * T * e->h.C;
    e->x = calloc(n, 4), e->y = calloc(n, 4), e->dy = calloc(n, 4), e->dx = calloc(n, 4);
    e->acts = calloc(zy_block_acts_floats(&c), 4);
    e->scratch_floats = zy_block_scratch_floats(&c);
    e->scratch = calloc(e->scratch_floats, 4);
    e->pooled = calloc((size_t)B * e->h.C, 4), e->dpooled = calloc((size_t)B * e->h.C, 4);
    e->logits = calloc((size_t)B * e->h.K, 4), e->dlogits = calloc((size_t)B * e->h.K, 4);
    e->labels = calloc((size_t)B, sizeof(int)), e->lengths = calloc((size_t)B, sizeof(int));
    e->ids = calloc((size_t)B * T, sizeof(int));
    if (!e->x || !e->y || !e->dy || !e->dx || !e->acts || !e->scratch || !e->pooled ||
        !e->dpooled || !e->logits || !e->dlogits || !e->labels || !e->lengths || !e->ids)
        return zy_error(ZY_STATUS_OUT_OF_MEMORY, "encoder: out of memory");
    e->cap_B = B, e->cap_T = T;
    e->ready = false;
    return ZY_STATUS_OK;
}

// The block's parameters (or gradients: NULL where frozen) from per-tensor pointers.
static zy_block_params block_params(float *(*ptr)(const void *, int), const void *src) {
    zy_block_params p = {0};
    p.self_attn.in_proj_weight = ptr(src, T_BLOCK0 + 0);
    p.self_attn.in_proj_bias = ptr(src, T_BLOCK0 + 3);
    p.self_attn.out_proj_weight = ptr(src, T_BLOCK0 + 6);
    p.self_attn.out_proj_bias = ptr(src, T_BLOCK0 + 7);
    p.w1 = ptr(src, T_BLOCK0 + 8), p.b1 = ptr(src, T_BLOCK0 + 9);
    p.w2 = ptr(src, T_BLOCK0 + 10), p.b2 = ptr(src, T_BLOCK0 + 11);
    p.ln1w = ptr(src, T_BLOCK0 + 12), p.ln1b = ptr(src, T_BLOCK0 + 13);
    p.ln2w = ptr(src, T_BLOCK0 + 14), p.ln2b = ptr(src, T_BLOCK0 + 15);
    return p;
}

static float *wptr(const void *m, int i) {
    return (float *)zy_model_tensor_data((const zy_model *)m, i);
}
static float *gptr(const void *s, int i) { return zy_session_tensor_grad((zy_session *)s, i); }

static zy_status enc_forward(zy_session *s, const zy_batch *b, float *loss, double *count) {
    enc_sess *e = zy_session_impl(s);
    const zy_model *m = zy_session_model(s);
    int B = b->B, T = b->T, C = e->h.C, K = e->h.K;
    if (!b->lengths) return zy_error(ZY_STATUS_INVALID_ARGUMENT, "the encoder needs lengths");
    for (int r = 0; r < B; r++) {
        if (b->lengths[r] < 1) return zy_error(ZY_STATUS_INVALID_ARGUMENT, "row %d is empty", r);
        if (b->labels && (b->labels[r] < 0 || b->labels[r] >= K))
            return zy_error(ZY_STATUS_INVALID_ARGUMENT, "label %d of row %d is outside [0, %d)", b->labels[r], r, K);
    }
    memcpy(e->lengths, b->lengths, (size_t)B * sizeof(int));
    memcpy(e->ids, b->input_ids, (size_t)B * T * sizeof(int));
    zy_status st = zy_embedding_forward(e->x, b->input_ids, zy_model_tensor_data(m, T_E),
                                        zy_model_tensor_data(m, T_P), B, T, C, e->h.V);
    if (st) return st;
    zy_block_config bc = block_cfg(e, B, T, e->lengths);
    zy_block_params p = block_params(wptr, m);
    if ((st = zy_block_forward(e->y, e->acts, e->scratch, e->scratch_floats, e->x, NULL, &p,
                               &bc)))
        return st;
    for (int r = 0; r < B; r++) { // mean over the real tokens
        float *o = e->pooled + (size_t)r * C;
        memset(o, 0, (size_t)C * sizeof *o);
        for (int t = 0; t < e->lengths[r]; t++)
            for (int c = 0; c < C; c++) o[c] += e->y[((size_t)r * T + t) * C + c];
        for (int c = 0; c < C; c++) o[c] /= (float)e->lengths[r];
    }
    zy_linear_forward(e->logits, e->pooled, zy_model_tensor_data(m, T_WC),
                      zy_model_tensor_data(m, T_BC), B, C, K);
    e->B = B, e->T = T;
    e->ready = b->labels != NULL;
    if (!b->labels) return ZY_STATUS_OK;
    memcpy(e->labels, b->labels, (size_t)B * sizeof(int));
    float lse[64];
    if (B > 64) return zy_error(ZY_STATUS_INVALID_ARGUMENT, "batch too large for this test model");
    int n;
    if ((st = zy_cross_entropy_forward(loss, &n, lse, e->logits, e->labels, B, K, -1, 0.0f)))
        return st;
    if (count) *count = n;
    return ZY_STATUS_OK;
}

static zy_status enc_backward(zy_session *s, float scale) {
    enc_sess *e = zy_session_impl(s);
    const zy_model *m = zy_session_model(s);
    if (!e->ready) return zy_error(ZY_STATUS_INVALID_ARGUMENT, "backward needs a forward with labels");
    e->ready = false;
    int B = e->B, T = e->T, C = e->h.C, K = e->h.K;
    float lse[64];
    int n;
    float l;
    zy_cross_entropy_forward(&l, &n, lse, e->logits, e->labels, B, K, -1, 0.0f);
    memset(e->dlogits, 0, (size_t)B * K * sizeof(float));
    zy_cross_entropy_backward(e->dlogits, e->logits, lse, e->labels, B, K, -1, 0.0f, scale);
    memset(e->dpooled, 0, (size_t)B * C * sizeof(float));
    zy_linear_backward(e->dpooled, gptr(s, T_WC), gptr(s, T_BC), e->dlogits, e->pooled,
                       zy_model_tensor_data(m, T_WC), B, C, K);
    memset(e->dy, 0, (size_t)B * T * C * sizeof(float));
    for (int r = 0; r < B; r++)
        for (int t = 0; t < e->lengths[r]; t++)
            for (int c = 0; c < C; c++)
                e->dy[((size_t)r * T + t) * C + c] = e->dpooled[(size_t)r * C + c] / e->lengths[r];
    memset(e->dx, 0, (size_t)B * T * C * sizeof(float));
    zy_block_config bc = block_cfg(e, B, T, e->lengths);
    zy_block_params p = block_params(wptr, m), dp = block_params(gptr, s);
    zy_status st = zy_block_backward(e->dx, NULL, &dp, e->scratch, e->scratch_floats, e->dy,
                                     e->acts, e->x, NULL, &p, &bc);
    if (st) return st;
    zy_embedding_backward(gptr(s, T_E), gptr(s, T_P), e->dx, e->ids, B, T, C);
    return ZY_STATUS_OK;
}

static const zy_model_ops ENCODER_OPS = {
    .model_type = "zt-encoder",
    .init = enc_init,
    .free = enc_free,
    .write_config = enc_write,
    .session_init = enc_session_init,
    .session_free = enc_session_free,
    .prepare = enc_prepare,
    .forward = enc_forward,
    .backward = enc_backward,
};

// ---- the data -------------------------------------------------------------------------------
// Example i into row r of b: tokens, length and label, a pure function of (seed, i); the
// label says whether most tokens are in the lower half of the vocabulary.
static void example(const zt_examples *e, uint64_t i, zy_batch *b, int r) {
    zy_rng rng;
    zy_rng_seed(&rng, zy_hash64(e->seed, i));
    int *ids = b->input_ids + (size_t)r * e->T, *len = &b->lengths[r];
    *len = e->T / 2 + (int)zy_rng_below(&rng, (uint64_t)(e->T - e->T / 2 + 1));
    int low = 0;
    for (int t = 0; t < e->T; t++) {
        ids[t] = t < *len ? 1 + (int)zy_rng_below(&rng, (uint64_t)e->V - 1) : 0;
        if (t < *len) low += ids[t] < e->V / 2;
    }
    b->labels[r] = 2 * low > *len;
}

static zy_data_source *task_source(int B, int T, int V, uint64_t seed, uint64_t n_one_pass) {
    zt_examples e = {.kind = "zt-task", .B = B, .T = T, .V = V, .seed = seed,
                     .fields = ZY_BATCH_LENGTHS | ZY_BATCH_LABELS, .n_one_pass = n_one_pass,
                     .example = example};
    return zt_example_source(&e);
}

// ---- the tests ---------------------------------------------------------------------------------
static zy_model *encoder(int V, int C, int H, int FF, int P, int K, uint64_t seed) {
    zy_config *c;
    if (zy_config_create(&c, "encoder test config")) return NULL;
    zy_config_set_string(c, "model_type", "zt-encoder");
    zy_config_set_int(c, "vocab_size", V);
    zy_config_set_int(c, "hidden_size", C);
    zy_config_set_int(c, "num_attention_heads", H);
    zy_config_set_int(c, "intermediate_size", FF);
    zy_config_set_int(c, "max_position_embeddings", P);
    zy_config_set_int(c, "num_labels", K);
    zy_model *m = NULL;
    if (zy_model_create(&m, c)) zt_fail(__FILE__, __LINE__, "create: %s", zy_last_error());
    else zy_model_init_weights(m, seed);
    zy_config_free(c);
    return m;
}

static zy_trainer_params train_params(void) {
    zy_trainer_params p = zy_trainer_default_params();
    p.batch = 16, p.seq = 12, p.steps = 120, p.warmup = 10, p.lr = 3e-3f, p.min_lr = 3e-4f;
    p.weight_decay = 0.01f, p.eval_batches = 0, p.seed = 3;
    return p;
}

TEST(plugin_encoder_trains_through_generic_trainer) {
    ASSERT(zy_model_register(&ENCODER_OPS) == ZY_STATUS_OK);
    zy_model *m = encoder(20, 16, 2, 32, 12, 2, 1);
    ASSERT(m != NULL);
    CHECK(!strcmp(zy_model_get_info(m)->model_type, "zt-encoder"));
    zy_trainer_params p = train_params();
    zy_data_source *train = task_source(p.batch, p.seq, 20, 11, 0);
    zy_data_source *val = task_source(p.batch, p.seq, 20, 99, 200);
    ASSERT(train && val);
    zy_trainer *t;
    ASSERT(zy_trainer_create(&t, m, train, val, &p) == ZY_STATUS_OK);
    zt_train_losses l;
    ASSERT(zt_train_measured(t, p.steps, &l) == ZY_STATUS_OK);
    zt_note("encoder classifier: train loss %.3f -> %.3f, val loss %.3f -> %.3f (ln 2 = 0.693)",
            l.first, l.last, l.before, l.after);
    CHECK(l.after < 0.6f && l.after < l.before - 0.08f && l.last < l.first);

    // Model directory I/O through the table: q/k/v written as three file tensors, loaded
    // back bit for bit; a checkpoint without the head loads with a fresh, reported one.
    char dir[] = "/tmp/zy_plugin_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    ASSERT(zy_model_save(m, dir) == ZY_STATUS_OK);
    zy_model *back;
    ASSERT(zy_model_load(&back, dir) == ZY_STATUS_OK);
    size_t n, n2;
    float *a = zy_model_params(m, &n), *b = zy_model_params(back, &n2);
    CHECK(n == n2 && !memcmp(a, b, n * sizeof *a));
    char path[128];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    zy_safetensors *st;
    ASSERT(zy_safetensors_open(&st, path) == ZY_STATUS_OK);
    CHECK(zy_safetensors_find(st, "encoder.attention.key.weight") != NULL);
    zy_safetensors_free(st);
    ASSERT(zy_model_set_trainable(back, -1, false) == ZY_STATUS_OK);
    ASSERT(zy_model_set_trainable(back, T_WC, true) == ZY_STATUS_OK);
    ASSERT(zy_model_set_trainable(back, T_BC, true) == ZY_STATUS_OK);
    CHECK(zy_model_trainable_floats(back) == 2 * 16 + 2);
    zy_model_free(back);

    // Evaluate the saved model on the same data through zy_evaluate directly.
    zy_model *loaded;
    ASSERT(zy_model_load(&loaded, dir) == ZY_STATUS_OK);
    zy_session *s;
    ASSERT(zy_session_create(&s, loaded, NULL) == ZY_STATUS_OK);
    ASSERT(zy_data_source_seek(val, (zy_data_pos){0, 0}) == ZY_STATUS_OK);
    double mean, count;
    ASSERT(zy_evaluate(s, val, NULL, &mean, &count) == ZY_STATUS_OK);
    CHECK(count == 200 && fabs(mean - l.after) < 1e-6);
    zy_session_free(s);
    zy_model_free(loaded);
    // Decoding is refused: this model is not a language model.
    ASSERT(zy_session_create(&s, m, NULL) == ZY_STATUS_OK);
    int seq = 0, tok = 1;
    float lg[20];
    CHECK(zy_session_decode(s, 1, &seq, &tok, 1, lg) == ZY_STATUS_UNSUPPORTED);
    zy_session_free(s);

    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    unlink(path);
    rmdir(dir);
    zy_trainer_free(t);
    zy_data_source_free(train);
    zy_data_source_free(val);
    zy_model_free(m);
}

// Head-only fine-tuning, resumed bit-exactly through the state file: only the classifier
// moves, and 6 + resume 6 steps equal 12.
TEST(plugin_encoder_frozen_body_resume) {
    ASSERT(zy_model_register(&ENCODER_OPS) == ZY_STATUS_OK);
    zy_trainer_params p = train_params();
    p.steps = 12;
    char dir[] = "/tmp/zy_plugin_state_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, ZY_TRAINING_STATE_FILE);
    zy_model *ms[3];
    for (int k = 0; k < 3; k++) {
        ms[k] = encoder(20, 16, 2, 32, 12, 2, 4);
        ASSERT(ms[k] != NULL);
        zy_model_set_trainable(ms[k], -1, false);
        zy_model_set_trainable(ms[k], T_WC, true);
        zy_model_set_trainable(ms[k], T_BC, true);
    }
    size_t n;
    const float *p0 = zy_model_params(ms[0], &n);
    float *start = zt_floats(n);
    memcpy(start, p0, n * sizeof *start);
    // 0: 12 steps; 1: 6 steps, save; 2: load weights + state, 6 more.
    for (int k = 0; k < 2; k++) {
        zy_data_source *src = task_source(p.batch, p.seq, 20, 11, 0);
        zy_trainer *t;
        ASSERT(zy_trainer_create(&t, ms[k], src, NULL, &p) == ZY_STATUS_OK);
        for (int s = 0; s < (k ? 6 : 12); s++) ASSERT(zy_trainer_step(t, NULL) == ZY_STATUS_OK);
        if (k) ASSERT(zy_trainer_save_state(t, path, NULL, 0) == ZY_STATUS_OK);
        zy_trainer_free(t);
        zy_data_source_free(src);
    }
    memcpy(zy_model_params(ms[2], NULL), zy_model_params(ms[1], NULL), n * sizeof(float));
    zy_data_source *src = task_source(p.batch, p.seq, 20, 11, 0);
    zy_trainer *t;
    ASSERT(zy_trainer_create(&t, ms[2], src, NULL, &p) == ZY_STATUS_OK);
    ASSERT(zy_trainer_load_state(t, path) == ZY_STATUS_OK);
    for (int s = 0; s < 6; s++) ASSERT(zy_trainer_step(t, NULL) == ZY_STATUS_OK);
    const float *a = zy_model_params(ms[0], NULL), *c = zy_model_params(ms[2], NULL);
    CHECK(!memcmp(a, c, n * sizeof *a));
    const zy_tensor_table *tab = zy_model_tensors(ms[0]);
    size_t head = zy_tensor_table_at(tab, T_WC)->offset;
    CHECK(!memcmp(a, start, head * sizeof *a));      // the body did not move
    CHECK(memcmp(a + head, start + head, (n - head) * sizeof *a) != 0); // the head did
    zy_trainer_free(t);
    zy_data_source_free(src);
    for (int k = 0; k < 3; k++) zy_model_free(ms[k]);
    free(start);
    unlink(path);
    rmdir(dir);
}
