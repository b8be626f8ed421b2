// GPT2ForSequenceClassification against PyTorch (tests/ref_gpt_heads.py ->
// tests/ref/gpt_heads.zyr and the GPT2LMHeadModel directory tests/ref/gpt_heads_base):
// the classifier made from that directory by zy_model_load_with_config (lm_head.weight
// skipped and listed, score.weight new), score set to the reference's, then logits, loss,
// the accuracy metric and every gradient for the three problem types; padding ignored;
// head-only training; the directory round trip (and tests/roundtrip_gpt.py); bad batches.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "task_util.h"

#define REF_PATH "tests/ref/gpt_heads.zyr"
#define BASE_DIR "tests/ref/gpt_heads_base"
#define ARCH "GPT2ForSequenceClassification"
#define ROUNDTRIP_DIR "build/gpt_roundtrip_seqcls"

enum { B = 4, T = 8, C = 16 };

typedef struct gpt_inputs {
    int ids[B * T], lengths[B], labels[B];
    float multi[B * 3], regression[B];
} gpt_inputs;

static int load_inputs(zt_ref *r, gpt_inputs *x) {
    const int *ids = zt_ref_i(r, "ids", NULL), *len = zt_ref_i(r, "lengths", NULL),
              *lab = zt_ref_i(r, "labels", NULL);
    const float *mu = zt_ref_f(r, "multi", NULL), *re = zt_ref_f(r, "regression", NULL);
    if (!ids || !len || !lab || !mu || !re) return 0;
    memcpy(x->ids, ids, sizeof x->ids);
    memcpy(x->lengths, len, sizeof x->lengths);
    memcpy(x->labels, lab, sizeof x->labels);
    memcpy(x->multi, mu, sizeof x->multi);
    memcpy(x->regression, re, sizeof x->regression);
    return 1;
}

static const struct {
    const char *name, *problem;
    int K;
} CASES[] = {{"single", "single_label_classification", 3},
             {"multi", "multi_label_classification", 3},
             {"regression", "regression", 1}};

static zy_batch case_batch(gpt_inputs *x, int c) {
    zy_batch b = {.B = B, .T = T, .input_ids = x->ids, .lengths = x->lengths};
    if (c == 0) b.labels = x->labels;
    if (c == 1) b.values = x->multi, b.n_values = 3;
    if (c == 2) b.values = x->regression, b.n_values = 1;
    return b;
}

static zy_session *session(const zy_model *m, bool training) {
    zy_session_params sp = zy_session_default_params();
    sp.batch = B, sp.seq = T, sp.training = training;
    zy_session *s = NULL;
    if (zy_session_create(&s, m, &sp) != ZY_STATUS_OK)
        zt_fail(__FILE__, __LINE__, "session: %s", zy_last_error());
    return s;
}

// Logits 2e-5 abs + 1e-4 rel, loss 1e-5 rel, gradients 2e-6 abs + 2e-3 rel (as BERT's).
TEST(gpt_heads_match_torch) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    gpt_inputs x;
    ASSERT(load_inputs(r, &x));
    for (int c = 0; c < 3; c++) {
        zy_model *m = zt_task_load(BASE_DIR, ARCH, CASES[c].K, CASES[c].problem);
        if (!m) continue;
        const zy_model_info *info = zy_model_get_info(m);
        CHECK(!strcmp(info->architecture, ARCH) && !info->causal_lm);
        const zy_tensor_table *t = zy_model_tensors(m);
        for (int i = 0; i < zy_tensor_table_count(t); i++) {
            bool score = !strcmp(zy_tensor_table_at(t, i)->name, "score.weight");
            CHECK(zy_model_tensor_missing(m, i) == score && zy_model_tensor_is_head(m, i) == score);
        }
        const char *unused[4];
        CHECK(zy_model_unused_tensors(m, unused, 4) == 1 && !strcmp(unused[0], "lm_head.weight"));
        zt_set_head(m, r, CASES[c].name, "score.weight", NULL);
        zy_session *s = session(m, true);
        zy_batch b = case_batch(&x, c);
        float loss;
        double count;
        char what[64];
        if (s && zy_session_forward(s, &b, &loss, &count) == ZY_STATUS_OK) {
            snprintf(what, sizeof what, "%s.loss", CASES[c].name);
            float want = zt_ref_scalar(r, what);
            zt_note("%s: loss %.7f, torch %.7f, count %g", CASES[c].name, loss, want, count);
            CHECK(fabsf(loss - want) <= 1e-5f * fmaxf(1.0f, fabsf(want)));
            snprintf(what, sizeof what, "%s.logits", CASES[c].name);
            const float *o = zt_output(s, "logits", (size_t)B * CASES[c].K);
            if (o) CHECK_CLOSE(what, o, zt_ref_f(r, what, NULL), (size_t)B * CASES[c].K, 2e-5, 1e-4);
            zy_metric_set ms;
            zy_session_metrics(s, &ms);
            CHECK((zy_metric_set_find(&ms, "accuracy") != NULL) == (c < 2));
            CHECK(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
            zt_check_grads(r, s, CASES[c].name, 2e-6, 2e-3);
            CHECK(zy_session_output(s, "logits", NULL, NULL) != NULL); // backward leaves them
        } else {
            zt_fail(__FILE__, __LINE__, "%s: %s", CASES[c].name, zy_last_error());
        }
        zy_session_free(s);
        zy_model_free(m);
    }
    zt_ref_free(r);
}

// Padding: whatever ids sit past each row's length (even ones outside the vocabulary), the
// logits are the same; without lengths every row's last token is at T - 1. The classifier
// does not decode. Freezing the body leaves score.weight alone with a gradient.
TEST(gpt_heads_padding_and_freezing) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    gpt_inputs x;
    ASSERT(load_inputs(r, &x));
    zy_model *m = zt_task_load(BASE_DIR, ARCH, 3, NULL);
    ASSERT(m != NULL);
    zt_set_head(m, r, "single", "score.weight", NULL);
    zy_session *s = session(m, true);
    ASSERT(s != NULL);
    zy_batch b = case_batch(&x, 0);
    float want[B * 3], l1, l2;
    ASSERT(zy_session_forward(s, &b, &l1, NULL) == ZY_STATUS_OK);
    memcpy(want, zy_session_output(s, "logits", NULL, NULL), sizeof want);
    for (int i = 0; i < B; i++)
        for (int t = x.lengths[i]; t < T; t++) x.ids[i * T + t] = 1000 + t;
    ASSERT(zy_session_forward(s, &b, &l2, NULL) == ZY_STATUS_OK);
    CHECK(!memcmp(want, zy_session_output(s, "logits", NULL, NULL), sizeof want) && l1 == l2);
    int seq = 0, tok = 1;
    float lg[30];
    CHECK(zy_session_decode(s, 1, &seq, &tok, 1, lg) != ZY_STATUS_OK);
    zt_note("decode: %s", zy_last_error());
    zy_session_free(s);
    // Row 0 is full (length T): alone and without lengths, the same logits (to rounding: a
    // batch of one row takes other GEMM paths).
    zy_batch one = {.B = 1, .T = T, .input_ids = x.ids, .labels = x.labels};
    s = session(m, false);
    ASSERT(s != NULL);
    ASSERT(zy_session_forward(s, &one, NULL, NULL) == ZY_STATUS_OK);
    const float *alone = zy_session_output(s, "logits", NULL, NULL);
    if (alone) CHECK_CLOSE("row 0 alone, no lengths", alone, want, 3, 1e-6, 1e-6);
    zy_session_free(s);

    ASSERT(zy_model_freeze_body(m) == ZY_STATUS_OK);
    CHECK(zy_model_trainable_floats(m) == 3 * C);
    s = session(m, true);
    ASSERT(s != NULL);
    ASSERT(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_OK);
    ASSERT(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
    const zy_tensor_table *t = zy_model_tensors(m);
    for (int i = 0; i < zy_tensor_table_count(t); i++) {
        const float *g = zy_session_tensor_grad(s, i);
        CHECK((g != NULL) == zy_model_tensor_is_head(m, i));
        if (g) CHECK_CLOSE("frozen body: score grad", g,
                           zt_ref_f(r, "single.grad.score.weight", NULL), 3 * C, 2e-6, 2e-3);
    }
    zy_session_free(s);
    zy_model_free(m);
    zt_ref_free(r);
}

// Save, load back (zy_model_load): the same logits bit for bit, the config with
// architectures, id2label, label2id, problem_type and pad_token_id. The directory and the
// batch's logits stay in build/ for tests/roundtrip_gpt.py.
TEST(gpt_heads_roundtrip_dir) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    gpt_inputs x;
    ASSERT(load_inputs(r, &x));
    zy_config *c = zt_task_config(BASE_DIR, ARCH, 3, "single_label_classification");
    ASSERT(c != NULL);
    zy_config_set_int(c, "pad_token_id", 0);
    zy_model *m = NULL, *back = NULL;
    ASSERT(zy_model_load_with_config(&m, BASE_DIR, c) == ZY_STATUS_OK);
    zy_config_free(c);
    zt_set_head(m, r, "single", "score.weight", NULL);
    zy_batch b = case_batch(&x, 0);
    float a[B * 3];
    zy_session *s = session(m, false);
    ASSERT(s && zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_OK);
    memcpy(a, zy_session_output(s, "logits", NULL, NULL), sizeof a);
    zy_session_free(s);
    if (zy_model_save(m, ROUNDTRIP_DIR) != ZY_STATUS_OK ||
        zy_model_load(&back, ROUNDTRIP_DIR) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "round trip: %s", zy_last_error());
    } else {
        s = session(back, false);
        if (s && zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_OK) {
            const float *o = zy_session_output(s, "logits", NULL, NULL);
            CHECK(!memcmp(a, o, sizeof a));
            const char *names[] = {"x", "lengths", "logits"};
            const void *data[] = {x.ids, x.lengths, o};
            int dt[] = {1, 1, 0}, d0[] = {B, 1, B}, d1[] = {T, B, 3};
            CHECK(zt_ref_write(ROUNDTRIP_DIR "/logits.zyr", names, data, dt, d0, d1, 3));
        }
        zy_session_free(s);
        zy_config *w = NULL;
        int pad;
        const char *problem;
        CHECK(zy_model_get_config(back, &w) == ZY_STATUS_OK &&
              zy_config_get_int(w, "pad_token_id", 0, 100, &pad) == ZY_STATUS_OK && pad == 0 &&
              zy_config_object_count(w, "id2label") == 3 &&
              zy_config_object_count(w, "label2id") == 3 &&
              zy_config_get_string(w, "problem_type", &problem) == ZY_STATUS_OK &&
              !strcmp(problem, "single_label_classification"));
        zy_config_free(w);
        CHECK(zy_model_unused_tensors(back, NULL, 0) == 0);
    }
    zy_model_free(back);
    zy_model_free(m);
    zt_ref_free(r);
}

TEST(gpt_heads_bad_batches) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    gpt_inputs x;
    ASSERT(load_inputs(r, &x));
    zy_model *m = zt_task_load(BASE_DIR, ARCH, 3, NULL);
    ASSERT(m != NULL);
    zy_session *s = session(m, false);
    ASSERT(s != NULL);
    zy_batch b = case_batch(&x, 0);
    x.labels[2] = 3;
    CHECK(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_INVALID_ARGUMENT &&
          strstr(zy_last_error(), "label 3 of row 2 (b=2)") != NULL);
    zt_note("%s", zy_last_error());
    x.labels[2] = 0;
    x.lengths[1] = 0;
    CHECK(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_INVALID_ARGUMENT &&
          strstr(zy_last_error(), "row 1 has length 0") != NULL);
    zt_note("%s", zy_last_error());
    zy_session_free(s);
    zy_model_free(m);
    zt_ref_free(r);
}
