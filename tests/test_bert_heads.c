// BERT's task heads against PyTorch (tests/ref_bert_heads.py -> tests/ref/bert_heads.zyr
// and the BertForPreTraining directory tests/ref/bert_heads_base): each architecture made
// from that directory by zy_model_load_with_config (cls.* skipped and listed, the new head
// reported missing), its head set to the reference's weights, then logits, loss, metrics
// and the gradient of every parameter for single-label, multi-label and regression
// sequence classification, token classification and question answering.
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "task_util.h"

#define REF_PATH "tests/ref/bert_heads.zyr"
#define BASE_DIR "tests/ref/bert_heads_base"

enum { B = 4, T = 8, C = 16 };

typedef struct heads_batch {
    int ids[B * T], types[B * T], tags[B * T], labels[B], lengths[B], starts[B], ends[B];
    float multi[B * 3], regression[B];
} heads_batch;

static int load_inputs(zt_ref *r, heads_batch *h) {
    struct {
        const char *name;
        void *dst;
        size_t bytes;
        int is_int;
    } f[] = {{"ids", h->ids, sizeof h->ids, 1},          {"types", h->types, sizeof h->types, 1},
             {"tags", h->tags, sizeof h->tags, 1},       {"labels", h->labels, sizeof h->labels, 1},
             {"lengths", h->lengths, sizeof h->lengths, 1}, {"starts", h->starts, sizeof h->starts, 1},
             {"ends", h->ends, sizeof h->ends, 1},       {"multi", h->multi, sizeof h->multi, 0},
             {"regression", h->regression, sizeof h->regression, 0}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        size_t n;
        const void *src = f[i].is_int ? (const void *)zt_ref_i(r, f[i].name, &n)
                                      : (const void *)zt_ref_f(r, f[i].name, &n);
        if (!src || n * 4 != f[i].bytes) return 0;
        memcpy(f[i].dst, src, f[i].bytes);
    }
    return 1;
}

typedef struct head_case {
    const char *name, *arch, *problem;
    int K;
} head_case;

static const head_case CASES[] = {
    {"single", "BertForSequenceClassification", "single_label_classification", 3},
    {"multi", "BertForSequenceClassification", "multi_label_classification", 3},
    {"regression", "BertForSequenceClassification", "regression", 1},
    {"token", "BertForTokenClassification", NULL, 5},
    {"qa", "BertForQuestionAnswering", NULL, 2},
};

static zy_batch case_batch(heads_batch *h, const head_case *c) {
    zy_batch b = {.B = B, .T = T, .input_ids = h->ids, .token_type_ids = h->types,
                  .lengths = h->lengths};
    if (!strcmp(c->name, "single")) b.labels = h->labels;
    if (!strcmp(c->name, "multi")) b.values = h->multi, b.n_values = 3;
    if (!strcmp(c->name, "regression")) b.values = h->regression, b.n_values = 1;
    if (!strcmp(c->name, "token")) b.targets = h->tags;
    if (!strcmp(c->name, "qa")) b.span_starts = h->starts, b.span_ends = h->ends;
    return b;
}

static const char *head_name(const head_case *c, bool bias) {
    bool qa = !strcmp(c->arch, "BertForQuestionAnswering");
    return qa ? (bias ? "qa_outputs.bias" : "qa_outputs.weight")
              : (bias ? "classifier.bias" : "classifier.weight");
}

// The conversion: the head (2 tensors) is new and reported, every other tensor came from
// the file; the file's 7 cls.* tensors (MLM, NSP) are skipped and listed (and its pooler,
// by the architectures without one).
static void check_conversion(const zy_model *m, const head_case *c) {
    const zy_tensor_table *t = zy_model_tensors(m);
    int missing = 0, heads = 0;
    for (int i = 0; i < zy_tensor_table_count(t); i++) {
        const char *name = zy_tensor_table_at(t, i)->name;
        bool head = !strcmp(name, head_name(c, false)) || !strcmp(name, head_name(c, true));
        CHECK(zy_model_tensor_missing(m, i) == head);
        CHECK(zy_model_tensor_is_head(m, i) == head);
        missing += zy_model_tensor_missing(m, i);
        heads += head;
    }
    CHECK(missing == 2 && heads == 2);
    // Token classification and QA have no pooler (as HF builds them): the file's is
    // skipped too.
    bool pooler = !strcmp(c->arch, "BertForSequenceClassification");
    const char *unused[16];
    int n = zy_model_unused_tensors(m, unused, 16);
    CHECK(n == (pooler ? 7 : 9));
    for (int i = 0; i < n && i < 16; i++)
        CHECK(!strncmp(unused[i], "cls.", 4) ||
              (!pooler && !strncmp(unused[i], "bert.pooler.", 12)));
    if (n > 0) zt_note("%s: %d file tensors skipped (first '%s')", c->arch, n, unused[0]);
    CHECK(!strcmp(zy_model_get_info(m)->architecture, c->arch));
}

// Every case: logits 2e-5 abs + 1e-4 rel (float against float64 through one post-LN layer);
// losses 1e-5; gradients 2e-6 abs + 2e-3 rel (as tests/test_bert_ref.c). The worst
// differences are noted (build/zhuyi-tests -v bert_heads).
static void run_case(zt_ref *r, heads_batch *h, const head_case *c, bool freeze) {
    zy_model *m = zt_task_load(BASE_DIR, c->arch, c->K, c->problem);
    if (!m) return;
    check_conversion(m, c);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%s", c->name);
    zt_set_head(m, r, prefix, head_name(c, false), head_name(c, true));
    if (freeze) CHECK(zy_model_freeze_body(m) == ZY_STATUS_OK);
    zy_session_params sp = zy_session_default_params();
    sp.batch = B, sp.seq = T, sp.training = true;
    zy_session *s = NULL;
    if (zy_session_create(&s, m, &sp) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "%s session: %s", c->name, zy_last_error());
        zy_model_free(m);
        return;
    }
    zy_batch b = case_batch(h, c);
    float loss = 0;
    double count = 0;
    char what[64];
    if (zy_session_forward(s, &b, &loss, &count) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "%s forward: %s", c->name, zy_last_error());
    } else {
        snprintf(what, sizeof what, "%s.loss", c->name);
        float want = zt_ref_scalar(r, what);
        zt_note("%s: loss %.7f, torch %.7f, count %g", c->name, loss, want, count);
        CHECK(fabsf(loss - want) <= 1e-5f);
        const char *outs[2] = {"logits", NULL};
        size_t n = (size_t)B * c->K;
        if (!strcmp(c->name, "token")) n = (size_t)B * T * c->K;
        if (!strcmp(c->name, "qa")) outs[0] = "start_logits", outs[1] = "end_logits", n = B * T;
        for (int k = 0; k < 2 && outs[k]; k++) {
            snprintf(what, sizeof what, "%s.%s", c->name, outs[k]);
            const float *o = zt_output(s, outs[k], n);
            if (o) CHECK_CLOSE(what, o, zt_ref_f(r, what, NULL), n, 2e-5, 1e-4);
        }
        CHECK(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
        if (!freeze) {
            zt_check_grads(r, s, c->name, 2e-6, 2e-3);
        } else { // only the head has gradients, and they are the unfrozen ones
            const zy_tensor_table *t = zy_model_tensors(m);
            for (int i = 0; i < zy_tensor_table_count(t); i++) {
                const zy_tensor *e = zy_tensor_table_at(t, i);
                float *g = zy_session_tensor_grad(s, i);
                CHECK((g != NULL) == zy_model_tensor_is_head(m, i));
                snprintf(what, sizeof what, "%s.grad.%s", c->name, e->name);
                if (g) CHECK_CLOSE(what, g, zt_ref_f(r, what, NULL), e->count, 2e-6, 2e-3);
            }
            CHECK(zy_model_trainable_floats(m) == (size_t)c->K * C + c->K);
        }
    }
    zy_session_free(s);
    zy_model_free(m);
}

TEST(bert_heads_match_torch) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    heads_batch h;
    ASSERT(load_inputs(r, &h));
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) run_case(r, &h, &CASES[i], false);
    zt_ref_free(r);
}

// --freeze-body: zy_model_freeze_body leaves the head alone trainable; backward gives it
// the same gradient as when everything trains, and nothing else gets one.
TEST(bert_heads_freeze_body) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    heads_batch h;
    ASSERT(load_inputs(r, &h));
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) run_case(r, &h, &CASES[i], true);
    // A model without a task head has nothing to train alone... except its pretraining
    // heads: BertModel has none.
    zy_config *c = zt_task_config(BASE_DIR, "BertModel", 2, NULL);
    zy_model *m = NULL;
    ASSERT(c && zy_model_load_with_config(&m, BASE_DIR, c) == ZY_STATUS_OK);
    CHECK(zy_model_freeze_body(m) == ZY_STATUS_UNSUPPORTED);
    zt_note("freeze BertModel: %s", zy_last_error());
    CHECK(strstr(zy_last_error(), "BertModel") != NULL);
    zy_model_free(m);
    zy_config_free(c);
    zt_ref_free(r);
}

// Named metrics: "accuracy" of single-label (the argmax of each scored row's logits,
// recomputed here), multi-label (rows with every label right) and token classification;
// QA's start/end/span accuracies. Regression reports none.
TEST(bert_heads_metrics) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    heads_batch h;
    ASSERT(load_inputs(r, &h));
    for (size_t ci = 0; ci < sizeof CASES / sizeof CASES[0]; ci++) {
        const head_case *c = &CASES[ci];
        zy_model *m = zt_task_load(BASE_DIR, c->arch, c->K, c->problem);
        if (!m) continue;
        zt_set_head(m, r, c->name, head_name(c, false), head_name(c, true));
        zy_session_params sp = zy_session_default_params();
        sp.batch = B, sp.seq = T;
        zy_session *s = NULL;
        zy_batch b = case_batch(&h, c);
        zy_metric_set ms;
        if (zy_session_create(&s, m, &sp) || zy_session_forward(s, &b, NULL, NULL)) {
            zt_fail(__FILE__, __LINE__, "%s: %s", c->name, zy_last_error());
        } else {
            zy_session_metrics(s, &ms);
            const zy_metric *acc = zy_metric_set_find(&ms, "accuracy");
            int64_t shape[4];
            const float *lg = zy_session_output(s, "logits", NULL, shape);
            double ok = 0, n = 0;
            if (!strcmp(c->name, "single") || !strcmp(c->name, "token")) {
                bool tok = !strcmp(c->name, "token");
                int R = tok ? B * T : B;
                const int *y = tok ? h.tags : h.labels;
                for (int i = 0; lg && i < R; i++) {
                    if (y[i] < 0) continue;
                    int best = 0;
                    for (int k = 1; k < c->K; k++)
                        if (lg[i * c->K + k] > lg[i * c->K + best]) best = k;
                    ok += best == y[i], n++;
                }
            } else if (!strcmp(c->name, "multi")) {
                for (int i = 0; lg && i < B; i++) {
                    int all = 1;
                    for (int k = 0; k < 3; k++) all &= (lg[i * 3 + k] > 0) == (h.multi[i * 3 + k] >= 0.5f);
                    ok += all, n++;
                }
            }
            if (n > 0) {
                zt_note("%s: accuracy %g over %g (recomputed %g)", c->name, acc ? acc->value : -1,
                        acc ? acc->count : -1, ok / n);
                CHECK(acc && acc->count == n && fabs(acc->value - ok / n) < 1e-12);
            } else if (!strcmp(c->name, "regression")) {
                CHECK(ms.n == 0);
            } else { // qa: start 4 rows scored (0, 1, 2 and 3's start 7 >= its length: not)
                const zy_metric *st = zy_metric_set_find(&ms, "start_accuracy"),
                                *en = zy_metric_set_find(&ms, "end_accuracy"),
                                *sp_ = zy_metric_set_find(&ms, "span_accuracy");
                CHECK(st && en && sp_ && st->count == 3 && en->count == 3 && sp_->count == 3);
            }
        }
        zy_session_free(s);
        zy_model_free(m);
    }
    zt_ref_free(r);
}
