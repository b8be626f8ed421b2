// The CTC speech encoder (src/models/speech*.c) against tests/ref_speech.py's plain-torch
// model: logits, final hidden states, the encoder lengths, the CTC loss and every
// parameter's gradient, read from a directory (tests/ref/speech_tiny) whose padded frames
// hold noise; a row's result alone equals its result in a padded batch; the directory
// written back and read again; a finite-difference check of every gradient with dropout
// on; presets; bad input.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "ref_model.h"
#include "zhuyi/zhuyi.h"

#define REF_DIR "tests/ref/speech_tiny"
#define REF_PATH "tests/ref/speech.zyr"
enum { RB = 3, RT = 19, RF = 6, RC = 16, RV = 7, RTO = 5 };

static zy_session *session(const zy_model *m, int B, int T, bool training) {
    zy_session_params p = zy_session_default_params();
    p.batch = B, p.seq = T, p.training = training;
    zy_session *s = NULL;
    if (zy_session_create(&s, m, &p) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "speech session: %s", zy_last_error());
        return NULL;
    }
    return s;
}

static zy_batch speech_batch(int B, int T, int F, float *feats, int *lengths, int *targets) {
    return (zy_batch){.B = B, .T = T, .features = feats, .n_features = F, .lengths = lengths,
                      .targets = targets};
}

TEST(speech_matches_torch) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_model *m = NULL;
    ASSERT(zy_model_load(&m, REF_DIR) == ZY_STATUS_OK);
    const zy_model_info *info = zy_model_get_info(m);
    CHECK(info->audio_features == RF && info->vocab_size == RV && info->max_positions == 64);
    CHECK(!strcmp(info->architecture, "SpeechEncoderForCTC"));
    size_t n;
    const float *f = zt_ref_f(r, "features", &n);
    const int *len = zt_ref_i(r, "lengths", NULL), *tg = zt_ref_i(r, "targets", NULL);
    ASSERT(f && len && tg && n == (size_t)RB * RT * RF);
    float *feats = zt_floats(n);
    int lengths[RB], targets[RB * RT];
    memcpy(feats, f, n * sizeof *feats);
    memcpy(lengths, len, sizeof lengths);
    memcpy(targets, tg, sizeof targets);
    zy_session *s = session(m, RB, RT, true);
    ASSERT(s != NULL);
    zy_batch b = speech_batch(RB, RT, RF, feats, lengths, targets);
    zy_session_zero_grads(s);
    float loss;
    double count;
    ASSERT(zy_session_forward(s, &b, &loss, &count) == ZY_STATUS_OK);
    zt_note("loss %.7f, torch %.7f", loss, zt_ref_scalar(r, "loss"));
    CHECK(fabsf(loss - zt_ref_scalar(r, "loss")) <= 1e-5f && count == 9);
    int nd;
    int64_t sh[4];
    const float *logits = zy_session_output(s, "logits", &nd, sh);
    ASSERT(logits && nd == 3 && sh[0] == RB && sh[1] == RTO && sh[2] == RV);
    CHECK_CLOSE("logits", logits, zt_ref_f(r, "logits", NULL), RB * RTO * RV, 1e-5, 1e-4);
    const float *hidden = zy_session_output(s, "hidden", &nd, sh);
    ASSERT(hidden && nd == 3 && sh[1] == RTO && sh[2] == RC);
    CHECK_CLOSE("hidden", hidden, zt_ref_f(r, "hidden", NULL), RB * RTO * RC, 1e-5, 1e-4);
    const float *lo = zy_session_output(s, "lengths", &nd, sh);
    ASSERT(lo && nd == 1 && sh[0] == RB);
    CHECK_CLOSE("lengths", lo, zt_ref_f(r, "out_lengths", NULL), RB, 0, 0);
    ASSERT(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
    CHECK(zy_session_backward(s, 1.0f) == ZY_STATUS_INVALID_ARGUMENT); // once per forward
    zt_ref_check_tensors(r, m, zy_session_grads(s, NULL), "grad.", NULL, 2e-6, 2e-3);
    zy_session_free(s);

    // Row 2 alone, its 9 frames unpadded: the logits of its 3 encoder frames as in the batch.
    zy_session *one = session(m, 1, 9, false);
    ASSERT(one != NULL);
    zy_batch b1 = speech_batch(1, 9, RF, feats + (size_t)2 * RT * RF, NULL, NULL);
    ASSERT(zy_session_forward(one, &b1, NULL, NULL) == ZY_STATUS_OK);
    const float *l1 = zy_session_output(one, "logits", &nd, sh);
    ASSERT(l1 && sh[1] == 3);
    CHECK_CLOSE("row 2 alone", l1, zt_ref_f(r, "logits", NULL) + (size_t)2 * RTO * RV, 3 * RV,
                1e-5, 1e-4);
    zy_session_free(one);
    free(feats);
    zy_model_free(m);
    zt_ref_free(r);
}

TEST(speech_directory_round_trip) {
    zy_model *m = NULL, *back = NULL;
    ASSERT(zy_model_load(&m, REF_DIR) == ZY_STATUS_OK);
    char dir[] = "/tmp/zy_speech_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    ASSERT(zy_model_save(m, dir) == ZY_STATUS_OK);
    ASSERT(zy_model_load(&back, dir) == ZY_STATUS_OK);
    size_t n, nb;
    const float *p = zy_model_params(m, &n), *q = zy_model_params(back, &nb);
    CHECK(n == nb && !memcmp(p, q, n * sizeof *p));
    zy_config *c = NULL;
    char path[64];
    snprintf(path, sizeof path, "%s/config.json", dir);
    ASSERT(zy_config_load(&c, path) == ZY_STATUS_OK);
    int v;
    const char *s;
    CHECK(zy_config_get_int(c, "num_mel_bins", 0, 1 << 20, &v) == 0 && v == RF);
    CHECK(zy_config_get_int(c, "vocab_size", 0, 1 << 20, &v) == 0 && v == RV);
    CHECK(zy_config_get_string(c, "model_type", &s) == 0 && !strcmp(s, "speech_ctc"));
    zy_config_free(c);
    const char *files[] = {"config.json", "model.safetensors"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    zy_model_free(back);
    zy_model_free(m);
}

// ---- finite differences -----------------------------------------------------------------
enum { GB = 2, GT = 24, GF = 4 };

typedef struct fd_ctx {
    zy_session *s;
    zy_batch b;
    uint64_t seed;
} fd_ctx;

static double lse(double a, double b) {
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

// The loss recomputed in double from the float logits (the model's float loss is
// quantized to ~2e-7, which a central difference at eps 1e-2 turns into noise of ~1e-5,
// the size of the attention weights' gradients here): CTC's forward recursion over the
// extended label sequence (blank 0), summed over the rows and divided by the labels.
static double fd_loss(void *p) {
    fd_ctx *c = p;
    zy_session_set_mode(c->s, true, c->seed); // the same masks in every pass
    if (zy_session_forward(c->s, &c->b, NULL, NULL) != ZY_STATUS_OK) return NAN;
    int64_t sh[4];
    const float *logits = zy_session_output(c->s, "logits", NULL, sh);
    const float *lens = zy_session_output(c->s, "lengths", NULL, NULL);
    if (!logits || !lens) return NAN;
    int To = (int)sh[1], V = (int)sh[2];
    double total = 0;
    int count = 0;
    for (int r = 0; r < c->b.B; r++) {
        const int *lab = c->b.targets + (size_t)r * c->b.T;
        int L = 0;
        while (L < c->b.T && lab[L] != -1) L++;
        int S = 2 * L + 1;
        double alpha[64], next[64];
        for (int t = 0; t < (int)lens[r]; t++) {
            const float *x = logits + ((size_t)r * To + t) * V;
            double mx = x[0], se = 0;
            for (int v = 1; v < V; v++) mx = fmax(mx, x[v]);
            for (int v = 0; v < V; v++) se += exp(x[v] - mx);
            double norm = mx + log(se);
            for (int k = 0; k < S; k++) {
                int y = k % 2 ? lab[k / 2] : 0;
                double a;
                if (t == 0) {
                    a = k < 2 ? 0.0 : -INFINITY;
                } else {
                    a = alpha[k];
                    if (k >= 1) a = lse(a, alpha[k - 1]);
                    if (k >= 2 && k % 2 && lab[k / 2] != lab[k / 2 - 1]) a = lse(a, alpha[k - 2]);
                }
                next[k] = a == -INFINITY ? a : a + x[y] - norm;
            }
            memcpy(alpha, next, (size_t)S * sizeof *alpha);
        }
        total -= S > 1 ? lse(alpha[S - 1], alpha[S - 2]) : alpha[0];
        count += L;
    }
    return total / count;
}

static zy_model *tiny(float dropout) {
    zy_config *c = NULL;
    zy_status st = zy_config_create(&c, "speech test config");
    if (!st) st = zy_config_set_string(c, "model_type", "speech_ctc");
    if (!st) st = zy_config_set_int(c, "num_hidden_layers", 2);
    if (!st) st = zy_config_set_int(c, "num_attention_heads", 2);
    if (!st) st = zy_config_set_int(c, "hidden_size", 8);
    if (!st) st = zy_config_set_int(c, "intermediate_size", 12);
    if (!st) st = zy_config_set_int(c, "num_mel_bins", GF);
    if (!st) st = zy_config_set_int(c, "vocab_size", 5);
    if (!st) st = zy_config_set_float(c, "hidden_dropout", dropout);
    if (!st) st = zy_config_set_float(c, "attention_dropout", dropout);
    zy_model *m = NULL;
    if (!st) st = zy_model_create(&m, c);
    if (st) zt_fail(__FILE__, __LINE__, "speech: %s", zy_last_error());
    zy_config_free(c);
    return m;
}

// Whole-model gradient check, L=2 H=2 C=8 FF=12, 4 features, rows of 24 and 15 frames (6
// and 4 encoder frames), dropout 0.1 on every site (masks fixed by the seed): eps 1e-2 on
// O(1) weights (query and key weights x3), the loss in double from the float logits, tol
// 3e-2 relative (floor 1% of the tensor's largest gradient). The first layer's query and
// key gradients are ~1e-4 here, and the float forward's rounding (~1e-6 of the loss) moves
// their central differences by ~2 %: halving eps makes them worse, so it is noise, not
// truncation. The block's own checks (test_block.c) hold attention to tighter bounds.
// At the scalar level (libm's exp: the lowest rounding noise, the same on every CPU; see
// block_gradcheck); speech_torch_* compare the gradients at the machine's level.
TEST(speech_gradcheck_whole_model) {
    zt_use_simd(ZY_SIMD_SCALAR);
    zy_model *m = tiny(0.1f);
    ASSERT(m != NULL);
    size_t n;
    float *p = zy_model_params(m, &n);
    zt_fill_uniform(p, n, 31, -0.5f, 0.5f);
    const zy_tensor_table *tab = zy_model_tensors(m);
    for (int i = 0; i < zy_tensor_table_count(tab); i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        if (strstr(t->name, "norm") && strstr(t->name, "weight"))
            for (size_t j = 0; j < t->count; j++) p[t->offset + j] += 1.0f;
        if (strstr(t->name, "q_proj.weight") || strstr(t->name, "k_proj.weight"))
            for (size_t j = 0; j < t->count; j++) p[t->offset + j] *= 3.0f;
    }
    float feats[GB * GT * GF];
    zt_fill_uniform(feats, GB * GT * GF, 5, -1.0f, 1.0f);
    int lengths[GB] = {24, 15}, targets[GB * GT];
    for (int i = 0; i < GB * GT; i++) targets[i] = -1;
    targets[0] = 1, targets[1] = 3, targets[GT] = 4;
    zy_session *s = session(m, GB, GT, true);
    ASSERT(s != NULL);
    fd_ctx ctx = {s, speech_batch(GB, GT, GF, feats, lengths, targets), 42};
    zy_session_zero_grads(s);
    float l0;
    zy_session_set_mode(s, true, ctx.seed);
    ASSERT(zy_session_forward(s, &ctx.b, &l0, NULL) == ZY_STATUS_OK);
    ASSERT_NEAR(l0, fd_loss(&ctx), 1e-5);
    zy_session_set_mode(s, true, ctx.seed);
    ASSERT(zy_session_forward(s, &ctx.b, &l0, NULL) == ZY_STATUS_OK);
    ASSERT(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
    float *g = zt_floats(n);
    memcpy(g, zy_session_grads(s, NULL), n * sizeof *g);
    for (int i = 0; i < zy_tensor_table_count(tab); i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        if (strstr(t->name, "k_proj.bias")) { // exactly 0: the softmax cancels it
            float worst = 0;
            for (size_t j = 0; j < t->count; j++) worst = fmaxf(worst, fabsf(g[t->offset + j]));
            CHECK(worst < 1e-6f);
            continue;
        }
        GRADCHECK(t->name, fd_loss, &ctx, p + t->offset, g + t->offset, t->count, 1e-2, 3e-2);
    }
    free(g);
    zy_session_free(s);
    zy_model_free(m);
}

TEST(speech_presets) {
    const char *names[] = {"speech-small", "speech-tiny"};
    for (int i = 0; i < 2; i++) {
        zy_config *c = NULL;
        ASSERT(zy_model_preset(&c, names[i]) == ZY_STATUS_OK);
        zy_model *m = NULL;
        ASSERT(zy_model_create(&m, c) == ZY_STATUS_OK);
        const zy_model_info *info = zy_model_get_info(m);
        zt_note("%s: %.2fM parameters", names[i], info->n_params / 1e6);
        CHECK(info->audio_features == 80);
        zy_model_free(m);
        zy_config_free(c);
    }
}

TEST(speech_bad_input) {
    zy_model *m = tiny(0.0f);
    ASSERT(m != NULL);
    zy_session *s = session(m, GB, GT, false);
    ASSERT(s != NULL);
    float feats[GB * GT * 5] = {0};
    int lengths[GB] = {GT, GT}, targets[GB * GT];
    for (int i = 0; i < GB * GT; i++) targets[i] = -1;
    zy_batch b = speech_batch(GB, GT, 5, feats, lengths, targets); // the model reads 4
    CHECK(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "4 features") != NULL);
    b = speech_batch(GB, GT, GF, feats, lengths, targets);
    targets[0] = 0; // the blank
    CHECK(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "row 0, position 0") != NULL);
    targets[0] = 1, targets[2] = 2; // after the -1 at position 1
    CHECK(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    targets[2] = -1;
    lengths[1] = GT + 1;
    CHECK(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    lengths[1] = GT;
    float loss;
    CHECK(zy_session_forward(s, &b, &loss, NULL) == ZY_STATUS_OK && isfinite(loss));
    zy_session_free(s);
    zy_model_free(m);
    const char *bad[][2] = {{"conv_kernel_size", "4"}, {"hidden_act", "\"relu\""},
                            {"vocab_size", "1"}};
    for (int i = 0; i < 3; i++) {
        char text[512];
        snprintf(text, sizeof text, "{\"model_type\": \"speech_ctc\", \"hidden_size\": 8, "
                 "\"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": "
                 "8, %s\"%s\": %s}", i == 2 ? "" : "\"vocab_size\": 5, ", bad[i][0], bad[i][1]);
        zy_config *c = NULL;
        ASSERT(zy_config_parse(&c, text, strlen(text), "bad.json") == ZY_STATUS_OK);
        zy_model *x = NULL;
        CHECK(zy_model_create(&x, c) != ZY_STATUS_OK);
        zt_note("%s", zy_last_error());
        CHECK(strstr(zy_last_error(), bad[i][0]) != NULL);
        zy_config_free(c);
    }
}
