// BERT task heads beyond the numbers (those are test_bert_heads.c): bad configs and bad
// batches refused with messages naming the field or (b, label); fine-tuned directories that
// load back to the same logits with Hugging Face's config fields (and the directories
// tests/roundtrip_bert.py reads into the PyTorch reference); a BertForMaskedLM checkpoint
// converted (pooler and classifier new, the MLM head skipped); head-only training through
// zy_trainer lowering the loss while the body stays bit for bit.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "task_util.h"
#include "zhuyi/trainer.h"

#define BASE_DIR "tests/ref/bert_heads_base"
#define REF_PATH "tests/ref/bert_heads.zyr"

enum { B = 4, T = 8, C = 16, V = 30 };

// ---- bad configs ---------------------------------------------------------------------------

// Load BASE_DIR under its config with `json`'s fields set on top (a JSON object's members).
static zy_status load_with(const char *json, zy_model **m) {
    zy_config *c = NULL, *extra = NULL;
    zy_status st = zy_config_load(&c, BASE_DIR "/config.json");
    if (!st) st = zy_config_parse(&extra, json, strlen(json), "extra");
    // Copy the few fields the cases use.
    const char *keys[] = {"num_labels", "problem_type", "classifier_dropout"};
    for (int k = 0; !st && k < 3; k++) {
        if (!zy_config_has(extra, keys[k])) continue;
        const char *s;
        int i;
        float f;
        if (!zy_config_get_string(extra, keys[k], &s)) st = zy_config_set_string(c, keys[k], s);
        else if (!zy_config_get_int(extra, keys[k], -100, 100, &i)) st = zy_config_set_int(c, keys[k], i);
        else if (!zy_config_get_float(extra, keys[k], -100, 100, &f)) st = zy_config_set_float(c, keys[k], f);
    }
    const char *maps[] = {"id2label", "label2id"};
    for (int k = 0; !st && k < 2; k++) {
        int n = zy_config_object_count(extra, maps[k]);
        const char *names[8], *strs[8];
        int ints[8];
        for (int i = 0; i < n && i < 8 && !st; i++)
            st = k == 0 ? zy_config_get_member_string(extra, maps[k], i, &names[i], &strs[i])
                        : zy_config_get_member_int(extra, maps[k], i, -100, 100, &names[i], &ints[i]);
        if (n > 0 && !st)
            st = k == 0 ? zy_config_set_object_strings(c, maps[k], names, strs, n)
                        : zy_config_set_object_ints(c, maps[k], names, ints, n);
    }
    const char *arch;
    if (!st && !zy_config_get_string(extra, "arch", &arch))
        st = zy_config_set_strings(c, "architectures", &arch, 1);
    if (!st) st = zy_model_load_with_config(m, BASE_DIR, c);
    zy_config_free(c);
    zy_config_free(extra);
    return st;
}

TEST(bert_heads_bad_configs) {
    struct {
        const char *json, *want;
    } bad[] = {
        {"{\"arch\":\"BertForSequenceClassification\",\"num_labels\":0}", "num_labels"},
        {"{\"arch\":\"BertForSequenceClassification\",\"num_labels\":-2}", "num_labels"},
        {"{\"arch\":\"BertForSequenceClassification\",\"num_labels\":3,"
         "\"id2label\":{\"0\":\"neg\",\"1\":\"pos\"}}",
         "num_labels' = 3 does not match the 2 labels of 'id2label'"},
        {"{\"arch\":\"BertForSequenceClassification\",\"problem_type\":\"binary\"}",
         "problem_type' is \"binary\""},
        {"{\"arch\":\"BertForSequenceClassification\",\"id2label\":{\"0\":\"a\",\"2\":\"b\"}}",
         "key \"2\" is not a label id"},
        {"{\"arch\":\"BertForSequenceClassification\",\"id2label\":{\"0\":\"a\",\"1\":\"a\"}}",
         "both named \"a\""},
        {"{\"arch\":\"BertForSequenceClassification\",\"id2label\":{\"0\":\"a\",\"1\":\"b\"},"
         "\"label2id\":{\"a\":1,\"b\":0}}", "label2id' is not the inverse of id2label"},
        {"{\"arch\":\"BertForSequenceClassification\",\"classifier_dropout\":1.5}",
         "classifier_dropout"},
        {"{\"arch\":\"BertForQuestionAnswering\",\"num_labels\":3}", "num_labels = 2"},
        {"{\"arch\":\"BertForTokenClassification\",\"problem_type\":\"regression\"}",
         "problem_type is for sequence classification"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zy_model *m = NULL;
        zy_status st = load_with(bad[i].json, &m);
        zt_note("bad config %zu: %s", i, zy_last_error());
        CHECK(st != ZY_STATUS_OK && m == NULL && strstr(zy_last_error(), bad[i].want) != NULL);
        zy_model_free(m);
    }
    // HF's inference when problem_type is absent, and label2id alone giving the names.
    zy_model *m = NULL;
    CHECK(load_with("{\"arch\":\"BertForSequenceClassification\",\"label2id\":{\"b\":1,"
                    "\"a\":0,\"c\":2}}", &m) == ZY_STATUS_OK);
    zy_config *out = NULL;
    const char *name, *value;
    if (m && zy_model_get_config(m, &out) == ZY_STATUS_OK) {
        CHECK(zy_config_object_count(out, "id2label") == 3);
        CHECK(zy_config_get_member_string(out, "id2label", 1, &name, &value) == ZY_STATUS_OK &&
              !strcmp(name, "1") && !strcmp(value, "b"));
        CHECK(!zy_config_has(out, "problem_type") && !zy_config_has(out, "num_labels"));
    }
    zy_config_free(out);
    zy_model_free(m);
}

// ---- bad batches ---------------------------------------------------------------------------

TEST(bert_heads_bad_batches) {
    int ids[B * T] = {0}, lengths[B] = {8, 5, 3, 6}, labels[B] = {0, 3, 1, -1};
    int tags[B * T], starts[B] = {0};
    float values[B * 3] = {0};
    for (int i = 0; i < B * T; i++) ids[i] = 1 + i % (V - 1), tags[i] = -1;
    struct {
        const char *arch, *problem;
        int K;
        int field; // 0 labels, 1 values, 2 targets, 3 starts only, 4 values without labels
        const char *want;
    } bad[] = {
        {"BertForSequenceClassification", NULL, 3, 0, "label 3 of row 1 (b=1) is outside [0, 3)"},
        {"BertForSequenceClassification", "multi_label_classification", 3, 1,
         "value 2 at (b=2, k=1) is not in [0, 1]"},
        {"BertForSequenceClassification", "regression", 1, 0, "lacks"},
        {"BertForSequenceClassification", "multi_label_classification", 2, 1, "n_values = 3"},
        {"BertForTokenClassification", NULL, 5, 2, "target 5 at (b=0, t=2) is outside [0, 5)"},
        {"BertForTokenClassification", NULL, 5, 5, "past the row's length 3"},
        {"BertForQuestionAnswering", NULL, 2, 3, "needs both span_starts and span_ends"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zy_model *m = zt_task_load(BASE_DIR, bad[i].arch, bad[i].K, bad[i].problem);
        if (!m) continue;
        zy_session_params sp = zy_session_default_params();
        sp.batch = B, sp.seq = T;
        zy_session *s = NULL;
        ASSERT(zy_session_create(&s, m, &sp) == ZY_STATUS_OK);
        zy_batch b = {.B = B, .T = T, .input_ids = ids, .lengths = lengths};
        for (int k = 0; k < B * T; k++) tags[k] = -1;
        values[2 * 3 + 1] = 2.0f;
        switch (bad[i].field) {
        case 0: b.labels = labels; break;
        case 1: b.values = values, b.n_values = 3; break;
        case 2: b.targets = tags, tags[2] = 5; break;
        case 3: b.span_starts = starts; break;
        case 5: b.targets = tags, tags[2 * T + 4] = 1; break;
        }
        if (!strcmp(bad[i].problem ? bad[i].problem : "", "regression")) b.labels = labels;
        if (bad[i].field == 0 && bad[i].K == 1) labels[1] = 0; // regression: labels only
        float loss = 7;
        zy_status st = zy_session_forward(s, &b, &loss, NULL);
        zt_note("bad batch %zu (%s): %s", i, bad[i].arch, zy_last_error());
        CHECK(st == ZY_STATUS_INVALID_ARGUMENT && strstr(zy_last_error(), bad[i].want) != NULL);
        CHECK(zy_session_output(s, "logits", NULL, NULL) == NULL); // nothing computed
        labels[1] = 3;
        zy_session_free(s);
        zy_model_free(m);
    }
}

// ---- round trips ---------------------------------------------------------------------------

static zy_batch ref_batch(zt_ref *r, int *ids, int *types, int *lengths) {
    memcpy(ids, zt_ref_i(r, "ids", NULL), B * T * sizeof *ids);
    memcpy(types, zt_ref_i(r, "types", NULL), B * T * sizeof *types);
    memcpy(lengths, zt_ref_i(r, "lengths", NULL), B * sizeof *lengths);
    return (zy_batch){.B = B, .T = T, .input_ids = ids, .token_type_ids = types,
                      .lengths = lengths};
}

// The logits (or start and end logits, one after the other) of m on the reference batch
// into out (n floats); 1 on success.
static int logits_of(const zy_model *m, zt_ref *r, float *out, size_t n) {
    int ids[B * T], types[B * T], lengths[B];
    zy_batch b = ref_batch(r, ids, types, lengths);
    zy_session_params sp = zy_session_default_params();
    sp.batch = B, sp.seq = T;
    zy_session *s = NULL;
    int ok = zy_session_create(&s, m, &sp) == ZY_STATUS_OK &&
             zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_OK;
    const float *a = ok ? zy_session_output(s, "logits", NULL, NULL) : NULL;
    if (ok && a) {
        memcpy(out, a, n * sizeof *out);
    } else if (ok) {
        const float *st = zy_session_output(s, "start_logits", NULL, NULL);
        const float *en = zy_session_output(s, "end_logits", NULL, NULL);
        ok = st && en;
        if (ok) memcpy(out, st, n / 2 * sizeof *out), memcpy(out + n / 2, en, n / 2 * sizeof *out);
    }
    if (!ok) zt_fail(__FILE__, __LINE__, "logits: %s", zy_last_error());
    zy_session_free(s);
    return ok;
}

// Writes dir/outputs.zyr (the batch and the model's outputs) for tests/roundtrip_bert.py.
static void write_outputs(const zy_model *m, zt_ref *r, const char *dir) {
    int ids[B * T], types[B * T], lengths[B];
    zy_batch b = ref_batch(r, ids, types, lengths);
    zy_session_params sp = zy_session_default_params();
    sp.batch = B, sp.seq = T;
    zy_session *s = NULL;
    if (zy_session_create(&s, m, &sp) || zy_session_forward(s, &b, NULL, NULL)) {
        zt_fail(__FILE__, __LINE__, "%s: %s", dir, zy_last_error());
        zy_session_free(s);
        return;
    }
    const char *names[6] = {"ids", "types", "lengths", "logits", "start_logits", "end_logits"};
    const void *data[6] = {ids, types, lengths};
    int dt[6] = {1, 1, 1, 0, 0, 0}, d0[6] = {B, B, 1, B, B, B}, d1[6] = {T, T, B, 0, T, T};
    int count = 3;
    for (int k = 3; k < 6; k++) {
        int nd = 0;
        int64_t sh[4];
        const float *o = zy_session_output(s, names[k], &nd, sh);
        if (!o) continue;
        names[count] = names[k], data[count] = o, dt[count] = 0;
        d0[count] = (int)sh[0], d1[count] = (int)(nd == 3 ? sh[1] * sh[2] : sh[1]);
        count++;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/outputs.zyr", dir);
    CHECK(count > 3 && zt_ref_write(path, names, data, dt, d0, d1, count));
    zy_session_free(s);
}

// Each architecture converted from the base directory (named labels for the sequence
// classifier), perturbed, saved, loaded back with zy_model_load: the same logits bit for
// bit, nothing missing or skipped, the label fields as written. The saved directories are
// left in build/ for tests/roundtrip_bert.py (scripts/test.sh).
TEST(bert_heads_roundtrip_dirs) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    struct {
        const char *arch, *dir;
        int K;
        size_t n;
    } cases[] = {
        {"BertForSequenceClassification", "build/bert_roundtrip_seqcls", 3, B * 3},
        {"BertForTokenClassification", "build/bert_roundtrip_tokcls", 5, B * T * 5},
        {"BertForQuestionAnswering", "build/bert_roundtrip_qa", 2, 2 * B * T},
    };
    for (int i = 0; i < 3; i++) {
        zy_model *m = zt_task_load(BASE_DIR, cases[i].arch, cases[i].K, NULL);
        if (!m) continue;
        size_t n;
        float *p = zy_model_params(m, &n);
        for (size_t k = 0; k < n; k++) p[k] *= 1.0f + 0.01f * (float)((k * 7) % 5);
        float *a = zt_floats(cases[i].n), *b = zt_floats(cases[i].n);
        zy_model *back = NULL;
        if (logits_of(m, r, a, cases[i].n) && zy_model_save(m, cases[i].dir) == ZY_STATUS_OK &&
            zy_model_load(&back, cases[i].dir) == ZY_STATUS_OK && logits_of(back, r, b, cases[i].n)) {
            CHECK(!memcmp(a, b, cases[i].n * sizeof *a));
            CHECK(!strcmp(zy_model_get_info(back)->architecture, cases[i].arch));
            for (int t = 0; t < zy_tensor_table_count(zy_model_tensors(back)); t++)
                CHECK(!zy_model_tensor_missing(back, t));
            CHECK(zy_model_unused_tensors(back, NULL, 0) == 0);
            write_outputs(back, r, cases[i].dir);
        } else {
            zt_fail(__FILE__, __LINE__, "%s: %s", cases[i].dir, zy_last_error());
        }
        free(a);
        free(b);
        zy_model_free(back);
        zy_model_free(m);
    }
    // The label fields as HF writes them: id2label, label2id, problem_type, classifier_dropout.
    zy_config *c = NULL;
    zy_status st = zy_config_load(&c, BASE_DIR "/config.json");
    const char *arch = "BertForSequenceClassification", *names[3] = {"neg", "neu", "pos"},
               *ids[3] = {"0", "1", "2"};
    if (!st) st = zy_config_set_strings(c, "architectures", &arch, 1);
    if (!st) st = zy_config_set_object_strings(c, "id2label", ids, names, 3);
    if (!st) st = zy_config_set_string(c, "problem_type", "multi_label_classification");
    if (!st) st = zy_config_set_float(c, "classifier_dropout", 0.25);
    zy_model *m = NULL, *back = NULL;
    zy_config *w = NULL;
    if (!st) st = zy_model_load_with_config(&m, BASE_DIR, c);
    if (!st) st = zy_model_save(m, "build/bert_roundtrip_labels");
    if (!st) st = zy_model_load(&back, "build/bert_roundtrip_labels");
    if (!st) st = zy_model_get_config(back, &w);
    if (st) {
        zt_fail(__FILE__, __LINE__, "labels: %s", zy_last_error());
    } else {
        const char *name, *value, *problem;
        int id;
        float cd;
        CHECK(zy_config_get_member_string(w, "id2label", 2, &name, &value) == ZY_STATUS_OK &&
              !strcmp(name, "2") && !strcmp(value, "pos"));
        CHECK(zy_config_object_count(w, "label2id") == 3 &&
              zy_config_get_member_int(w, "label2id", 0, 0, 2, &name, &id) == ZY_STATUS_OK);
        CHECK(zy_config_get_string(w, "problem_type", &problem) == ZY_STATUS_OK &&
              !strcmp(problem, "multi_label_classification"));
        CHECK(zy_config_get_float(w, "classifier_dropout", 0, 1, &cd) == ZY_STATUS_OK &&
              cd == 0.25f);
    }
    zy_config_free(w);
    zy_config_free(c);
    zy_model_free(back);
    zy_model_free(m);
    zt_ref_free(r);
}

// Removes a directory zy_model_save wrote (config.json, model.safetensors).
static void remove_model_dir(const char *dir) {
    char path[256];
    const char *files[] = {"config.json", "model.safetensors"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    rmdir(dir);
}

// A BertForMaskedLM checkpoint (no pooler) as a sequence classifier: the pooler and the
// classifier are new (4 tensors reported), the 5 MLM tensors skipped; zy_model_init_missing
// reseeds exactly the new ones.
TEST(bert_heads_from_masked_lm) {
    zy_config *c = zt_task_config(BASE_DIR, "BertForMaskedLM", 2, NULL);
    ASSERT(c != NULL);
    zy_config_remove(c, "num_labels");
    zy_model *mlm = NULL;
    char dir[128];
    snprintf(dir, sizeof dir, "/tmp/zhuyi_heads_mlm_%ld", (long)getpid());
    ASSERT(zy_model_create(&mlm, c) == ZY_STATUS_OK);
    zy_model_init_weights(mlm, 3);
    ASSERT(zy_model_save(mlm, dir) == ZY_STATUS_OK);
    zy_model_free(mlm);
    zy_config_free(c);
    zy_model *m = zt_task_load(dir, "BertForSequenceClassification", 2, NULL);
    if (m) {
        const zy_tensor_table *t = zy_model_tensors(m);
        int missing = 0;
        for (int i = 0; i < zy_tensor_table_count(t); i++) {
            const char *name = zy_tensor_table_at(t, i)->name;
            bool is_new = !strncmp(name, "bert.pooler.", 12) || !strncmp(name, "classifier.", 11);
            CHECK(zy_model_tensor_missing(m, i) == is_new);
            missing += is_new;
        }
        CHECK(missing == 4);
        const char *unused[8];
        int n = zy_model_unused_tensors(m, unused, 8);
        CHECK(n == 5);
        for (int i = 0; i < n && i < 8; i++) CHECK(!strncmp(unused[i], "cls.predictions.", 16));
        size_t nw;
        float *w = zt_tensor(m, "classifier.weight", &nw), *word =
            zt_tensor(m, "bert.embeddings.word_embeddings.weight", NULL);
        ASSERT(w && word);
        float w0 = w[0], e0 = word[0];
        zy_model_init_missing(m, 99);
        CHECK(w[0] != w0 && word[0] == e0);
        zy_model_free(m);
    }
    remove_model_dir(dir);
}

// A sequence classifier of 2 labels (saved, its classifier perturbed) read as a token
// classifier of 2 tags: the same shape, but another architecture's head, so the classifier
// is new (missing, the file's two tensors unused, with the pooler's); read as a sequence
// classifier again, its classifier is the saved one and nothing is missing.
TEST(bert_heads_other_architecture_new) {
    zy_model *cls = zt_task_load(BASE_DIR, "BertForSequenceClassification", 2, NULL);
    ASSERT(cls != NULL);
    size_t n;
    float *saved = zt_tensor(cls, "classifier.weight", &n);
    ASSERT(saved != NULL);
    for (size_t k = 0; k < n; k++) saved[k] = 0.5f + 0.001f * (float)k;
    char dir[128];
    snprintf(dir, sizeof dir, "/tmp/zhuyi_heads_cls_%ld", (long)getpid());
    ASSERT(zy_model_save(cls, dir) == ZY_STATUS_OK);
    zy_model *tag = zt_task_load(dir, "BertForTokenClassification", 2, NULL);
    if (tag) {
        const zy_tensor_table *t = zy_model_tensors(tag);
        for (int i = 0; i < zy_tensor_table_count(t); i++) {
            const char *name = zy_tensor_table_at(t, i)->name;
            CHECK(zy_model_tensor_missing(tag, i) == !strncmp(name, "classifier.", 11));
        }
        const char *unused[8];
        int nu = zy_model_unused_tensors(tag, unused, 8), heads = 0;
        for (int i = 0; i < nu && i < 8; i++) heads += !strncmp(unused[i], "classifier.", 11);
        CHECK(nu == 4 && heads == 2);
        float *w = zt_tensor(tag, "classifier.weight", NULL);
        CHECK(w && w[0] != 0.5f);
        zy_model_free(tag);
    }
    zy_model *again = zt_task_load(dir, "BertForSequenceClassification", 2, NULL);
    if (again) {
        for (int i = 0; i < zy_tensor_table_count(zy_model_tensors(again)); i++)
            CHECK(!zy_model_tensor_missing(again, i));
        CHECK(zy_model_unused_tensors(again, NULL, 0) == 0);
        float *w = zt_tensor(again, "classifier.weight", NULL);
        CHECK(w && !memcmp(w, saved, n * sizeof *w));
        zy_model_free(again);
    }
    zy_model_free(cls);
    remove_model_dir(dir);
}

// ---- head-only training --------------------------------------------------------------------
// 16 fixed examples (a pool the head can fit): random ids, label = the parity of the
// second token. Batches of B drawn in order from the pool, cycling.
typedef struct cls_task {
    int pos;
} cls_task;

static void cls_example(int i, int *ids, int *len, int *label) {
    zy_rng r;
    zy_rng_seed(&r, zy_hash64(42, (uint64_t)(i % 16)));
    *len = 4 + (int)zy_rng_below(&r, T - 3);
    for (int t = 0; t < T; t++) ids[t] = t < *len ? 1 + (int)zy_rng_below(&r, V - 1) : 0;
    *label = ids[1] % 2;
}

static zy_status cls_next(void *impl, zy_batch *b) {
    cls_task *k = impl;
    b->B = B, b->T = T;
    for (int r = 0; r < B; r++, k->pos++) {
        cls_example(k->pos, b->input_ids + r * T, &b->lengths[r], &b->labels[r]);
        for (int t = 0; t < T; t++) b->token_type_ids[r * T + t] = 0;
    }
    return ZY_STATUS_OK;
}
static void cls_tell(const void *impl, zy_data_pos *p) {
    *p = (zy_data_pos){0, (uint64_t)((const cls_task *)impl)->pos};
}
static zy_status cls_seek(void *impl, zy_data_pos p) {
    ((cls_task *)impl)->pos = (int)p.pos;
    return ZY_STATUS_OK;
}
static zy_status cls_shard(void *impl, int rank, int world) {
    (void)impl;
    return rank == 0 && world == 1 ? ZY_STATUS_OK : ZY_STATUS_UNSUPPORTED;
}
static const zy_data_source_ops CLS_OPS = {cls_next, cls_tell, cls_seek, cls_shard, free};

// BertForSequenceClassification from the base directory with --freeze-body, classifier
// dropout 0.1: 200 AdamW steps (lr 5e-2) on the 16 examples lower the mean training loss
// of the last 10 steps below 75 % of the first 10's (0.643 -> 0.425 when written), the
// accuracy metric is reported at every step, and every body tensor is bit for bit what was
// loaded (the head's changed).
TEST(bert_heads_train_frozen_body) {
    zy_config *c = zt_task_config(BASE_DIR, "BertForSequenceClassification", 2, NULL);
    ASSERT(c != NULL);
    zy_config_set_float(c, "classifier_dropout", 0.1);
    zy_model *m = NULL;
    ASSERT(zy_model_load_with_config(&m, BASE_DIR, c) == ZY_STATUS_OK);
    zy_config_free(c);
    ASSERT(zy_model_freeze_body(m) == ZY_STATUS_OK);
    size_t n;
    const float *params = zy_model_params(m, &n);
    float *before = zt_floats(n);
    memcpy(before, params, n * sizeof *before);
    cls_task *k = calloc(1, sizeof *k);
    zy_data_source_info info = {
        .kind = "zt-cls", .n_items = 16, .fingerprint = 16,
        .dims = {.batch = B, .seq = T,
                 .fields = ZY_BATCH_LENGTHS | ZY_BATCH_TOKEN_TYPES | ZY_BATCH_LABELS}};
    zy_data_source *src = NULL;
    ASSERT(zy_data_source_create(&src, &CLS_OPS, k, &info) == ZY_STATUS_OK);
    zy_trainer_params p = zy_trainer_default_params();
    p.batch = B, p.seq = T, p.steps = 200, p.warmup = 0, p.lr = 5e-2f, p.min_lr = 5e-2f;
    p.weight_decay = 0.0f, p.eval_batches = 0, p.seed = 5;
    zy_trainer *t = NULL;
    if (zy_trainer_create(&t, m, src, NULL, &p) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "trainer: %s", zy_last_error());
    } else {
        double first = 0, last = 0;
        for (long s = 0; s < p.steps; s++) {
            zy_step_info si;
            ASSERT(zy_trainer_step(t, &si) == ZY_STATUS_OK);
            CHECK(zy_metric_set_find(&si.metrics, "accuracy") != NULL);
            if (s < 10) first += si.loss / 10;
            if (s >= p.steps - 10) last += si.loss / 10;
        }
        zt_note("head-only training loss %.4f -> %.4f", first, last);
        CHECK(last < 0.75 * first);
        const zy_tensor_table *tab = zy_model_tensors(m);
        for (int i = 0; i < zy_tensor_table_count(tab); i++) {
            const zy_tensor *e = zy_tensor_table_at(tab, i);
            bool same = !memcmp(before + e->offset, params + e->offset, e->count * sizeof *before);
            CHECK(same == !zy_model_tensor_is_head(m, i));
        }
        zy_trainer_free(t);
    }
    free(before);
    zy_data_source_free(src);
    zy_model_free(m);
}

// ---- dropout before the classifier -----------------------------------------------------------
typedef struct drop_ctx {
    zy_session *s;
    zy_batch b;
} drop_ctx;

static double drop_loss(void *ctx) {
    drop_ctx *c = ctx;
    float loss = 0;
    zy_session_set_mode(c->s, true, 1234); // the same masks every time
    if (zy_session_forward(c->s, &c->b, &loss, NULL) != ZY_STATUS_OK) return NAN;
    return loss;
}

// classifier_dropout 0.3 (the body's dropout 0): in training mode the logits differ from
// evaluation mode, and the gradients of the classifier and of the tensor below the
// dropout (the pooler; the last layer's output LayerNorm for token classification) agree
// with finite differences of the loss under the same masks (eps 2e-2, tolerance 5e-2: a
// float32 loss's differences are noisy at 1e-2 relative, while a missing mask or 1/(1-p)
// scale is off by 30 % or more).
TEST(bert_heads_classifier_dropout_gradcheck) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    int ids[B * T], types[B * T], lengths[B];
    zy_batch b = ref_batch(r, ids, types, lengths);
    int labels[B] = {0, 2, 1, 1}, tags[B * T];
    for (int i = 0; i < B * T; i++) tags[i] = i % T < lengths[i / T] ? (i * 7) % 5 : -1;
    const char *archs[2] = {"BertForSequenceClassification", "BertForTokenClassification"};
    const char *below[2] = {"bert.pooler.dense.weight",
                            "bert.encoder.layer.0.output.LayerNorm.weight"};
    for (int k = 0; k < 2; k++) {
        zy_config *c = zt_task_config(BASE_DIR, archs[k], k ? 5 : 3, NULL);
        ASSERT(c != NULL);
        zy_config_set_float(c, "classifier_dropout", 0.3);
        zy_model *m = NULL;
        ASSERT(zy_model_load_with_config(&m, BASE_DIR, c) == ZY_STATUS_OK);
        zy_config_free(c);
        zy_session_params sp = zy_session_default_params();
        sp.batch = B, sp.seq = T, sp.training = true;
        drop_ctx dc = {NULL, b};
        if (k) dc.b.targets = tags;
        else dc.b.labels = labels;
        ASSERT(zy_session_create(&dc.s, m, &sp) == ZY_STATUS_OK);
        size_t nl = (size_t)B * (k ? T * 5 : 3);
        float *eval = zt_floats(nl);
        ASSERT(zy_session_forward(dc.s, &dc.b, NULL, NULL) == ZY_STATUS_OK);
        memcpy(eval, zy_session_output(dc.s, "logits", NULL, NULL), nl * sizeof *eval);
        double l0 = drop_loss(&dc);
        CHECK(isfinite(l0) && memcmp(eval, zy_session_output(dc.s, "logits", NULL, NULL),
                                     nl * sizeof *eval) != 0);
        zy_session_zero_grads(dc.s);
        ASSERT(zy_session_backward(dc.s, 1.0f) == ZY_STATUS_OK);
        const char *names[2] = {"classifier.weight", below[k]};
        for (int j = 0; j < 2; j++) {
            size_t n;
            float *x = zt_tensor(m, names[j], &n);
            int idx = zy_tensor_table_find(zy_model_tensors(m), names[j]);
            const float *g = zy_session_tensor_grad(dc.s, idx);
            char what[96];
            snprintf(what, sizeof what, "%s: d%s (classifier dropout 0.3)", archs[k], names[j]);
            if (x && g) GRADCHECK(what, drop_loss, &dc, x, g, n, 2e-2, 5e-2);
        }
        free(eval);
        zy_session_free(dc.s);
        zy_model_free(m);
    }
    zt_ref_free(r);
}

// A plain zy_model_load lists what it skipped too (and still loads): an old BERT
// checkpoint's embeddings.position_ids buffer, an old GPT-2's causal-mask buffers. A
// created model lists nothing.
TEST(bert_heads_plain_load_lists_unused) {
    zy_model *m = NULL;
    const char *names[8];
    ASSERT(zy_model_load(&m, "tests/ref/bert_tiny_legacy") == ZY_STATUS_OK);
    CHECK(zy_model_unused_tensors(m, names, 8) == 1 &&
          !strcmp(names[0], "embeddings.position_ids"));
    zy_model_free(m);
    ASSERT(zy_model_load(&m, "tests/ref/gpt_small_bf16") == ZY_STATUS_OK);
    int n = zy_model_unused_tensors(m, names, 8);
    zt_note("gpt_small_bf16: %d unused, first '%s'", n, n ? names[0] : "");
    CHECK(n == 4);
    for (int i = 0; i < n && i < 8; i++) CHECK(strstr(names[i], ".attn.") != NULL);
    zy_config *c = NULL;
    CHECK(zy_model_get_config(m, &c) == ZY_STATUS_OK);
    zy_model *fresh = NULL;
    CHECK(c && zy_model_create(&fresh, c) == ZY_STATUS_OK &&
          zy_model_unused_tensors(fresh, names, 8) == 0);
    zy_model_free(fresh);
    zy_config_free(c);
    zy_model_free(m);
}

// config.json objects: counts, members, type errors naming the field and the member.
TEST(bert_heads_config_objects) {
    const char *json = "{\"id2label\":{\"0\":\"neg\",\"1\":7},\"label2id\":{\"neg\":0.5},"
                       "\"n\":3,\"empty\":{},\"none\":null}";
    zy_config *c = NULL;
    ASSERT(zy_config_parse(&c, json, strlen(json), "t.json") == ZY_STATUS_OK);
    const char *name, *value;
    int v;
    CHECK(zy_config_object_count(c, "id2label") == 2 && zy_config_object_count(c, "empty") == 0 &&
          zy_config_object_count(c, "none") == 0 && zy_config_object_count(c, "absent") == 0);
    CHECK(zy_config_object_count(c, "n") == ZY_STATUS_BAD_FORMAT &&
          strstr(zy_last_error(), "field 'n' must be an object"));
    CHECK(zy_config_get_member_string(c, "id2label", 0, &name, &value) == ZY_STATUS_OK &&
          !strcmp(name, "0") && !strcmp(value, "neg"));
    CHECK(zy_config_get_member_string(c, "id2label", 1, &name, &value) == ZY_STATUS_BAD_FORMAT &&
          strstr(zy_last_error(), "'id2label': the value of \"1\" must be a string"));
    CHECK(zy_config_get_member_int(c, "label2id", 0, 0, 9, &name, &v) == ZY_STATUS_BAD_FORMAT &&
          strstr(zy_last_error(), "the value of \"neg\" must be an integer in [0, 9]"));
    CHECK(zy_config_get_member_string(c, "id2label", 2, &name, &value) == ZY_STATUS_NOT_FOUND);
    const char *keys[2] = {"a", "b"}, *vals[2] = {"x", "y"};
    int ints[2] = {4, 5};
    CHECK(zy_config_set_object_strings(c, "s", keys, vals, 2) == ZY_STATUS_OK &&
          zy_config_set_object_ints(c, "i", keys, ints, 2) == ZY_STATUS_OK);
    CHECK(zy_config_get_member_int(c, "i", 1, 0, 9, &name, &v) == ZY_STATUS_OK &&
          !strcmp(name, "b") && v == 5);
    CHECK(zy_config_get_member_string(c, "s", 0, &name, &value) == ZY_STATUS_OK &&
          !strcmp(value, "x"));
    zy_config_free(c);
}
