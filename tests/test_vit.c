// The Vision Transformer (src/models/vit*.c) against tests/ref_vit.py's plain-torch
// ViTForImageClassification: logits, final hidden states, the loss (one label not scored),
// layer 1's attention probabilities and every parameter's gradient, read from a Hugging
// Face directory (tests/ref/vit_tiny); the directory written back and read again; a
// finite-difference check of every gradient with dropout on; a frozen body; presets; and
// bad input (an image of another size, a batch without pixels, configs zhuyi refuses).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "ref_model.h"
#include "zhuyi/zhuyi.h"

#define REF_DIR "tests/ref/vit_tiny"
#define REF_PATH "tests/ref/vit.zyr"
enum { RB = 3, RT = 5, RC = 16, RK = 3, RS = 8, RCH = 3 };

static zy_session *session(const zy_model *m, int B, bool training, bool attention) {
    zy_session_params p = zy_session_default_params();
    p.batch = B, p.seq = 1, p.training = training, p.attention_weights = attention;
    zy_session *s = NULL;
    if (zy_session_create(&s, m, &p) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "vit session: %s", zy_last_error());
        return NULL;
    }
    return s;
}

static zy_batch image_batch(int B, float *pixels, int *labels, int ch, int S) {
    return (zy_batch){.B = B, .T = 1, .labels = labels, .pixels = pixels, .channels = ch,
                      .height = S, .width = S};
}

// On the tiled attention core and on the plain one (weights kept): the same as torch.
TEST(vit_matches_torch) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_model *m = NULL;
    ASSERT(zy_model_load(&m, REF_DIR) == ZY_STATUS_OK);
    const zy_model_info *info = zy_model_get_info(m);
    CHECK(info->image_channels == RCH && info->image_size == RS && info->max_positions == RT);
    CHECK(!strcmp(info->architecture, "ViTForImageClassification"));
    size_t n;
    const float *pix = zt_ref_f(r, "pixels", &n);
    const int *lab = zt_ref_i(r, "labels", NULL);
    ASSERT(pix && lab && n == (size_t)RB * RCH * RS * RS);
    float *pixels = zt_floats(n);
    int labels[RB];
    memcpy(pixels, pix, n * sizeof *pixels);
    memcpy(labels, lab, sizeof labels);
    for (int attn = 0; attn < 2; attn++) {
        zy_session *s = session(m, RB, true, attn);
        ASSERT(s != NULL);
        zy_batch b = image_batch(RB, pixels, labels, RCH, RS);
        zy_session_zero_grads(s);
        float loss;
        double count;
        ASSERT(zy_session_forward(s, &b, &loss, &count) == ZY_STATUS_OK);
        zt_note("%s core: loss %.7f, torch %.7f", attn ? "plain" : "tiled", loss,
                zt_ref_scalar(r, "loss"));
        CHECK(fabsf(loss - zt_ref_scalar(r, "loss")) <= 1e-5f && count == 2);
        int nd;
        int64_t sh[4];
        const float *logits = zy_session_output(s, "logits", &nd, sh);
        ASSERT(logits && nd == 2 && sh[0] == RB && sh[1] == RK);
        CHECK_CLOSE("logits", logits, zt_ref_f(r, "logits", NULL), RB * RK, 1e-5, 1e-4);
        const float *hidden = zy_session_output(s, "hidden", &nd, sh);
        ASSERT(hidden && nd == 3 && sh[1] == RT && sh[2] == RC);
        CHECK_CLOSE("hidden", hidden, zt_ref_f(r, "hidden", NULL), RB * RT * RC, 1e-5, 1e-4);
        const float *a = zy_session_output(s, "attentions.1", &nd, sh);
        if (attn) {
            ASSERT(a && nd == 4 && sh[2] == RT && sh[3] == RT);
            CHECK_CLOSE("attentions.1", a, zt_ref_f(r, "attentions.1", NULL),
                        RB * 2 * RT * RT, 1e-6, 1e-4);
        } else {
            CHECK(a == NULL);
        }
        zy_metric_set ms;
        zy_session_metrics(s, &ms);
        const zy_metric *acc = zy_metric_set_find(&ms, "accuracy");
        CHECK(acc && acc->count == 2);
        ASSERT(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
        CHECK(zy_session_backward(s, 1.0f) == ZY_STATUS_INVALID_ARGUMENT); // once per forward
        zt_ref_check_tensors(r, m, zy_session_grads(s, NULL), "grad.", NULL, 2e-6, 2e-3);
        zy_session_free(s);
    }
    free(pixels);
    zy_model_free(m);
    zt_ref_free(r);
}

// Saved by zhuyi and read back: the same config fields and weights, the same logits.
TEST(vit_directory_round_trip) {
    zy_model *m = NULL, *back = NULL;
    ASSERT(zy_model_load(&m, REF_DIR) == ZY_STATUS_OK);
    char dir[] = "/tmp/zy_vit_XXXXXX";
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
    CHECK(zy_config_get_int(c, "image_size", 0, 1 << 20, &v) == 0 && v == RS);
    CHECK(zy_config_get_int(c, "patch_size", 0, 1 << 20, &v) == 0 && v == 4);
    CHECK(zy_config_get_int(c, "num_channels", 0, 8, &v) == 0 && v == RCH);
    CHECK(zy_config_get_string(c, "model_type", &s) == 0 && !strcmp(s, "vit"));
    CHECK(zy_config_get_string_at(c, "architectures", 0, &s) == 0 &&
          !strcmp(s, "ViTForImageClassification"));
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
enum { GB = 2, GS = 6, GCH = 2, GK = 3 };

typedef struct fd_ctx {
    zy_session *s;
    zy_batch b;
    uint64_t seed;
} fd_ctx;

// The mean cross-entropy recomputed in double from the float logits.
static double fd_loss(void *p) {
    fd_ctx *c = p;
    zy_session_set_mode(c->s, true, c->seed); // the same masks in every pass
    if (zy_session_forward(c->s, &c->b, NULL, NULL) != ZY_STATUS_OK) return NAN;
    const float *logits = zy_session_output(c->s, "logits", NULL, NULL);
    if (!logits) return NAN;
    double sum = 0;
    int count = 0;
    for (int r = 0; r < c->b.B; r++) {
        int y = c->b.labels[r];
        if (y < 0) continue;
        const float *x = logits + (size_t)r * GK;
        double mx = x[0], se = 0;
        for (int k = 1; k < GK; k++) mx = fmax(mx, x[k]);
        for (int k = 0; k < GK; k++) se += exp(x[k] - mx);
        sum += mx + log(se) - x[y];
        count++;
    }
    return count ? sum / count : 0;
}

static zy_model *tiny(float dropout, const char *act) {
    zy_config *c = NULL;
    zy_status st = zy_config_create(&c, "vit test config");
    const char *arch = "ViTForImageClassification";
    if (!st) st = zy_config_set_string(c, "model_type", "vit");
    if (!st) st = zy_config_set_strings(c, "architectures", &arch, 1);
    if (!st) st = zy_config_set_int(c, "num_hidden_layers", 2);
    if (!st) st = zy_config_set_int(c, "num_attention_heads", 2);
    if (!st) st = zy_config_set_int(c, "hidden_size", 8);
    if (!st) st = zy_config_set_int(c, "intermediate_size", 12);
    if (!st) st = zy_config_set_int(c, "image_size", GS);
    if (!st) st = zy_config_set_int(c, "patch_size", 3);
    if (!st) st = zy_config_set_int(c, "num_channels", GCH);
    if (!st) st = zy_config_set_int(c, "num_labels", GK);
    if (!st) st = zy_config_set_float(c, "hidden_dropout_prob", dropout);
    if (!st) st = zy_config_set_float(c, "attention_probs_dropout_prob", dropout);
    if (!st && act) st = zy_config_set_string(c, "hidden_act", act);
    zy_model *m = NULL;
    if (!st) st = zy_model_create(&m, c);
    if (st) zt_fail(__FILE__, __LINE__, "vit: %s", zy_last_error());
    zy_config_free(c);
    return m;
}

// Whole-model gradient check, L=2 H=2 C=8 FF=12, 2 x 6 x 6 images in 3 x 3 patches, B=2
// (both labels scored; query and key weights x3), dropout 0.1 on every site (masks fixed by
// the seed), tiled and plain attention: eps 1e-2 on O(1) weights, the loss in double, tol
// 2e-2 relative (floor 1% of the tensor's largest gradient). (The tanh GELU of "gelu_new"
// is the shared block's, checked with GPT-2's.)
TEST(vit_gradcheck_whole_model) {
    for (int k = 0; k < 2; k++) {
        zy_model *m = tiny(0.1f, NULL);
        ASSERT(m != NULL);
        size_t n;
        float *p = zy_model_params(m, &n);
        zt_fill_uniform(p, n, 31, -0.5f, 0.5f);
        const zy_tensor_table *tab = zy_model_tensors(m);
        for (int i = 0; i < zy_tensor_table_count(tab); i++) {
            const zy_tensor *t = zy_tensor_table_at(tab, i);
            if (strstr(t->name, "layernorm") && strstr(t->name, "weight"))
                for (size_t j = 0; j < t->count; j++) p[t->offset + j] += 1.0f;
            // Sharper attention, so the query and key gradients stand above float noise
            // (the central difference of a float loss carries ~3e-6 of it at eps 1e-2).
            if (strstr(t->name, "query.weight") || strstr(t->name, "key.weight"))
                for (size_t j = 0; j < t->count; j++) p[t->offset + j] *= 3.0f;
        }
        float pixels[GB * GCH * GS * GS];
        zt_fill_uniform(pixels, GB * GCH * GS * GS, 5, -1.0f, 1.0f);
        int labels[GB] = {2, 0};
        zy_session *s = session(m, GB, true, k == 1);
        ASSERT(s != NULL);
        fd_ctx ctx = {s, image_batch(GB, pixels, labels, GCH, GS), 42};
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
            char what[160];
            snprintf(what, sizeof what, "%s %s", k ? "plain" : "tiled", t->name);
            if (strstr(t->name, "key.bias")) { // exactly 0: the softmax cancels it
                float worst = 0;
                for (size_t j = 0; j < t->count; j++) worst = fmaxf(worst, fabsf(g[t->offset + j]));
                CHECK(worst < 1e-6f);
                continue;
            }
            GRADCHECK(what, fd_loss, &ctx, p + t->offset, g + t->offset, t->count, 1e-2, 2e-2);
        }
        free(g);
        zy_session_free(s);
        zy_model_free(m);
    }
}

// A frozen body: only the classifier trains, and its gradient is the full model's.
TEST(vit_frozen_body) {
    zy_model *m = tiny(0.0f, NULL), *f = tiny(0.0f, NULL);
    ASSERT(m && f);
    size_t n;
    float *p = zy_model_params(m, &n);
    zt_fill_uniform(p, n, 8, -0.5f, 0.5f);
    memcpy(zy_model_params(f, NULL), p, n * sizeof *p);
    ASSERT(zy_model_freeze_body(f) == ZY_STATUS_OK);
    float pixels[GB * GCH * GS * GS];
    zt_fill_uniform(pixels, GB * GCH * GS * GS, 6, -1.0f, 1.0f);
    int labels[GB] = {1, 2};
    zy_batch b = image_batch(GB, pixels, labels, GCH, GS);
    zy_session *s = session(m, GB, true, false), *sf = session(f, GB, true, false);
    ASSERT(s && sf);
    float l, lf;
    zy_session_zero_grads(s);
    zy_session_zero_grads(sf);
    ASSERT(zy_session_forward(s, &b, &l, NULL) == 0 && zy_session_backward(s, 1.0f) == 0);
    ASSERT(zy_session_forward(sf, &b, &lf, NULL) == 0 && zy_session_backward(sf, 1.0f) == 0);
    CHECK(l == lf);
    size_t nf;
    const float *gf = zy_session_grads(sf, &nf);
    const zy_tensor_table *tab = zy_model_tensors(m);
    int L = zy_tensor_table_count(tab);
    const zy_tensor *w = zy_tensor_table_at(tab, L - 2), *bias = zy_tensor_table_at(tab, L - 1);
    CHECK(nf == w->count + bias->count);
    const float *g = zy_session_grads(s, NULL);
    size_t off = 0;
    for (int i = 0; i < L - 2; i++) off += zy_tensor_table_at(tab, i)->count;
    CHECK_CLOSE("classifier gradient", gf, g + off, nf, 1e-7, 1e-6);
    zy_session_free(s);
    zy_session_free(sf);
    zy_model_free(m);
    zy_model_free(f);
}

TEST(vit_presets) {
    const char *names[] = {"vit-mnist", "vit-tiny", "vit-base"};
    const int sizes[] = {28, 224, 224};
    for (int i = 0; i < 3; i++) {
        zy_config *c = NULL;
        ASSERT(zy_model_preset(&c, names[i]) == ZY_STATUS_OK);
        zy_model *m = NULL;
        if (i < 2) { // vit-base would allocate 86M parameters
            ASSERT(zy_model_create(&m, c) == ZY_STATUS_OK);
            const zy_model_info *info = zy_model_get_info(m);
            zt_note("%s: %.2fM parameters, %d tokens", names[i], info->n_params / 1e6,
                    info->max_positions);
            CHECK(info->image_size == sizes[i]);
            zy_model_free(m);
        }
        zy_config_free(c);
    }
}

TEST(vit_bad_input) {
    zy_model *m = tiny(0.0f, NULL);
    ASSERT(m != NULL);
    zy_session *s = session(m, GB, false, false);
    ASSERT(s != NULL);
    float pixels[GB * 3 * 8 * 8] = {0};
    int labels[GB] = {0, 1};
    zy_batch b = image_batch(GB, pixels, labels, 3, 8); // the model reads 2 x 6 x 6
    CHECK(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "2 x 6 x 6") && strstr(zy_last_error(), "3 x 8 x 8"));
    b = image_batch(GB, NULL, labels, GCH, GS);
    int ids[GB] = {0};
    b.input_ids = ids;
    CHECK(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "no pixels") != NULL);
    b = image_batch(GB, pixels, labels, GCH, GS);
    labels[1] = GK; // outside [0, num_labels)
    CHECK(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    zy_session_free(s);
    zy_model_free(m);
    // Configs: a patch that does not divide the image, qkv_bias false, another activation.
    const char *bad[][2] = {{"patch_size", "4"}, {"qkv_bias", "false"}, {"hidden_act", "relu"}};
    for (int i = 0; i < 3; i++) {
        char text[512];
        snprintf(text, sizeof text, "{\"model_type\": \"vit\", \"hidden_size\": 8, "
                 "\"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"intermediate_size\": "
                 "8, \"image_size\": 6, \"%s\": %s%s%s}", bad[i][0], i == 2 ? "\"" : "",
                 bad[i][1], i == 2 ? "\"" : "");
        zy_config *c = NULL;
        ASSERT(zy_config_parse(&c, text, strlen(text), "bad.json") == ZY_STATUS_OK);
        zy_model *x = NULL;
        CHECK(zy_model_create(&x, c) != ZY_STATUS_OK);
        zt_note("%s", zy_last_error());
        CHECK(strstr(zy_last_error(), bad[i][0]) != NULL);
        zy_config_free(c);
    }
}
