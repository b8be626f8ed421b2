// BERT against PyTorch (tests/ref_bert.py -> tests/ref/bert.zyr and the model directories
// tests/ref/bert_tiny, bert_tiny_legacy, bert_tiny_base): hidden states, pooled output,
// attention probabilities, MLM and NSP logits and losses of a padded batch with token
// types; every gradient and one AdamW step taken by the library's trainer; the legacy
// names (no "bert." prefix, gamma/beta, tied decoder tensors present, an int64 buffer);
// a BertModel checkpoint as itself and under a BertForPreTraining config (heads new,
// reported). And the directories the round trip (tests/roundtrip_bert.py) loads back.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bert_util.h"
#include "harness.h"
#include "ref_model.h"
#include "zhuyi/trainer.h"

#define REF_PATH "tests/ref/bert.zyr"
#define ROUNDTRIP_DIR "build/bert_roundtrip"
#define ROUNDTRIP_BASE_DIR "build/bert_roundtrip_base"

enum { B = 3, T = 10, C = 32, V = 50, H = 4, L = 2 };

// The reference batch (ids 0 = pad past each length, as torch saw them).
typedef struct ref_batch {
    int ids[B * T], types[B * T], targets[B * T], labels[B], lengths[B];
} ref_batch;

static int load_batch(zt_ref *r, ref_batch *b) {
    const int *x[] = {zt_ref_i(r, "ids", NULL), zt_ref_i(r, "types", NULL),
                      zt_ref_i(r, "targets", NULL), zt_ref_i(r, "labels", NULL),
                      zt_ref_i(r, "lengths", NULL)};
    for (int i = 0; i < 5; i++)
        if (!x[i]) return 0;
    memcpy(b->ids, x[0], sizeof b->ids);
    memcpy(b->types, x[1], sizeof b->types);
    memcpy(b->targets, x[2], sizeof b->targets);
    memcpy(b->labels, x[3], sizeof b->labels);
    memcpy(b->lengths, x[4], sizeof b->lengths);
    return 1;
}

static zy_batch as_batch(ref_batch *r, bool targets, bool labels) {
    return (zy_batch){.B = B, .T = T, .input_ids = r->ids, .token_type_ids = r->types,
                      .lengths = r->lengths, .targets = targets ? r->targets : NULL,
                      .labels = labels ? r->labels : NULL};
}

static const float *output(const zy_session *s, const char *name, size_t n) {
    int nd = 0;
    int64_t shape[4];
    const float *o = zy_session_output(s, name, &nd, shape);
    size_t count = 1;
    for (int i = 0; i < nd; i++) count *= (size_t)shape[i];
    if (!o || count != n) {
        zt_fail(__FILE__, __LINE__, "output '%s': %s (%zu values, expected %zu)", name,
                o ? "wrong shape" : "missing", count, n);
        return NULL;
    }
    return o;
}

// Tolerances (float zhuyi against the float64 reference through two post-LN layers with
// eps 1e-12): activations 1e-5 abs + 1e-4 rel; logits 2e-5 + 1e-4 rel; losses 1e-5. The
// worst differences seen are noted (build/zhuyi-tests -v bert_ref).
static void check_outputs(zt_ref *r, const zy_session *s, bool attentions) {
    const float *o;
    if ((o = output(s, "hidden", (size_t)B * T * C)))
        CHECK_CLOSE("hidden", o, zt_ref_f(r, "hidden", NULL), (size_t)B * T * C, 1e-5, 1e-4);
    if ((o = output(s, "pooled", (size_t)B * C)))
        CHECK_CLOSE("pooled", o, zt_ref_f(r, "pooled", NULL), (size_t)B * C, 1e-5, 1e-4);
    if ((o = output(s, "nsp_logits", (size_t)B * 2)))
        CHECK_CLOSE("nsp_logits", o, zt_ref_f(r, "nsp_logits", NULL), (size_t)B * 2, 2e-5, 1e-4);
    if ((o = output(s, "mlm_logits", (size_t)B * T * V)))
        CHECK_CLOSE("mlm_logits", o, zt_ref_f(r, "mlm_logits", NULL), (size_t)B * T * V, 2e-5,
                    1e-4);
    for (int l = 0; attentions && l < L; l++) {
        char name[32];
        snprintf(name, sizeof name, "attentions.%d", l);
        if ((o = output(s, name, (size_t)B * H * T * T)))
            CHECK_CLOSE(name, o, zt_ref_f(r, name, NULL), (size_t)B * H * T * T, 1e-6, 1e-4);
    }
    if (!attentions) CHECK(zy_session_output(s, "attentions.0", NULL, NULL) == NULL);
}

// Forward of the reference batch: outputs, the MLM + NSP loss, each alone; padding that
// holds garbage (ids and types past each length) changes nothing.
static void check_forward(zt_ref *r, zy_session *s, bool attentions) {
    ref_batch rb;
    ASSERT(load_batch(r, &rb));
    float mlm = zt_ref_scalar(r, "mlm_loss"), nsp = zt_ref_scalar(r, "nsp_loss"), loss;
    double count;
    zy_batch b = as_batch(&rb, true, true);
    ASSERT(zy_session_forward(s, &b, &loss, &count) == ZY_STATUS_OK);
    zt_note("loss %.7f, torch %.7f + %.7f", loss, mlm, nsp);
    CHECK(fabsf(loss - (mlm + nsp)) <= 1e-5f);
    int scored = 0;
    for (int i = 0; i < B * T; i++) scored += rb.targets[i] != -1;
    CHECK(count == scored);
    check_outputs(r, s, attentions);
    b = as_batch(&rb, true, false);
    ASSERT(zy_session_forward(s, &b, &loss, &count) == ZY_STATUS_OK);
    CHECK(fabsf(loss - mlm) <= 1e-5f && count == scored);
    b = as_batch(&rb, false, true);
    ASSERT(zy_session_forward(s, &b, &loss, &count) == ZY_STATUS_OK);
    CHECK(fabsf(loss - nsp) <= 1e-5f && count == B);
    for (int r0 = 0; r0 < B; r0++)
        for (int t = rb.lengths[r0]; t < T; t++) {
            rb.ids[r0 * T + t] = 999 + t;  // outside the vocabulary: read as pad_token_id
            rb.types[r0 * T + t] = -7;     // outside type_vocab_size: read as 0
        }
    b = as_batch(&rb, true, true);
    ASSERT(zy_session_forward(s, &b, &loss, NULL) == ZY_STATUS_OK);
    CHECK(fabsf(loss - (mlm + nsp)) <= 1e-5f);
    check_outputs(r, s, attentions);
}

// ---- one trainer step on the reference batch --------------------------------------------
typedef struct one_batch {
    ref_batch b;
    uint64_t pos;
} one_batch;

static zy_status one_next(void *impl, zy_batch *b) {
    one_batch *o = impl;
    b->B = B, b->T = T;
    memcpy(b->input_ids, o->b.ids, sizeof o->b.ids);
    memcpy(b->token_type_ids, o->b.types, sizeof o->b.types);
    memcpy(b->targets, o->b.targets, sizeof o->b.targets);
    memcpy(b->labels, o->b.labels, sizeof o->b.labels);
    memcpy(b->lengths, o->b.lengths, sizeof o->b.lengths);
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

static zy_data_source *one_source(zt_ref *r) {
    one_batch *o = calloc(1, sizeof *o);
    if (!o || !load_batch(r, &o->b)) {
        free(o);
        return NULL;
    }
    zy_data_source_info info = {
        .kind = "zt-bert-ref",
        .dims = {.batch = B, .seq = T, .fields = ZY_BATCH_TARGETS | ZY_BATCH_LENGTHS |
                                                 ZY_BATCH_TOKEN_TYPES | ZY_BATCH_LABELS},
        .n_items = 1,
        .fingerprint = 1,
    };
    zy_data_source *s = NULL;
    if (zy_data_source_create(&s, &ONE_OPS, o, &info)) free(o);
    return s;
}

// BertForPreTraining, L=2 H=4 C=32 FF=64 V=50 P=16, B=3 T=10 with lengths 10/7/4, two
// segments, 10 masked targets (one of them the pad id), NSP labels; dropout 0 (config).
// Forward on the tiled and on the plain attention core (which keeps the probabilities);
// then one step of zy_trainer (AdamW lr 1e-3, betas 0.9/0.95, eps 1e-8, decay 0.1 on the
// tensors the table marks, no clipping, constant schedule): the gradients it summed and
// the weights it wrote. Gradients 2e-6 abs + 2e-3 rel (sums over 30 rows in float; the
// largest are ~1, so a wrong term is orders above this); AdamW weights 2e-6 abs (a step
// moves each by ~1e-3: a wrong sign, decay or bias correction shows at 1e-4).
TEST(bert_ref_tiny_matches_torch) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_model *m = NULL;
    if (zy_model_load(&m, "tests/ref/bert_tiny") != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "load: %s", zy_last_error());
        zt_ref_free(r);
        return;
    }
    const zy_model_info *info = zy_model_get_info(m);
    CHECK(!strcmp(info->model_type, "bert") && !strcmp(info->architecture, "BertForPreTraining") &&
          info->n_layer == L && info->n_head == H && info->d_model == C && info->vocab_size == V &&
          info->max_positions == 16 && !info->causal_lm && info->dropout == 0.0f);
    for (int i = 0; i < zy_tensor_table_count(zy_model_tensors(m)); i++)
        CHECK(!zy_model_tensor_missing(m, i));
    for (int attn = 0; attn < 2; attn++) {
        zy_session *s = zt_bert_session(m, B, T, false, attn);
        if (!s) break;
        check_forward(r, s, attn);
        zy_session_free(s);
    }

    zy_data_source *src = one_source(r);
    ASSERT(src != NULL);
    zy_trainer_params p = zy_trainer_default_params();
    p.batch = B, p.seq = T, p.steps = 1, p.schedule = ZY_SCHEDULE_CONSTANT, p.warmup = 0;
    p.lr = 1e-3f, p.weight_decay = 0.1f, p.grad_clip = 0.0f, p.eval_batches = 0;
    zy_trainer *t = NULL;
    if (zy_trainer_create(&t, m, src, NULL, &p) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "trainer: %s", zy_last_error());
    } else {
        zy_step_info step;
        ASSERT(zy_trainer_step(t, &step) == ZY_STATUS_OK);
        float want = zt_ref_scalar(r, "mlm_loss") + zt_ref_scalar(r, "nsp_loss");
        zt_note("step loss %.7f, torch %.7f", step.loss, want);
        CHECK(fabsf(step.loss - want) <= 1e-5f);
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

// The same weights under the old names (no "bert." prefix, LayerNorm gamma/beta), with
// the tied cls.predictions.decoder.{weight,bias} present (equal to their targets) and an
// int64 embeddings.position_ids buffer (ignored): the same outputs.
TEST(bert_ref_legacy_names_load) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_model *m = NULL;
    if (zy_model_load(&m, "tests/ref/bert_tiny_legacy") != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "load: %s", zy_last_error());
    } else {
        for (int i = 0; i < zy_tensor_table_count(zy_model_tensors(m)); i++)
            CHECK(!zy_model_tensor_missing(m, i));
        zy_session *s = zt_bert_session(m, B, T, false, false);
        if (s) check_forward(r, s, false);
        zy_session_free(s);
    }
    zy_model_free(m);
    zt_ref_free(r);
}

// A BertModel checkpoint (body and pooler, no prefix, no heads): as "BertModel" it gives
// the hidden states and pooled output and has no loss; under a BertForPreTraining
// config.json it loads with new heads, each reported missing, and the same body.
TEST(bert_ref_base_model_and_new_heads) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    ref_batch rb;
    ASSERT(load_batch(r, &rb));
    zy_model *m = NULL;
    if (zy_model_load(&m, "tests/ref/bert_tiny_base") != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "load: %s", zy_last_error());
        zt_ref_free(r);
        return;
    }
    CHECK(!strcmp(zy_model_get_info(m)->architecture, "BertModel"));
    CHECK(!strcmp(zy_tensor_table_at(zy_model_tensors(m), 0)->name,
                  "embeddings.word_embeddings.weight"));
    zy_session *s = zt_bert_session(m, B, T, true, false);
    ASSERT(s != NULL);
    zy_batch b = as_batch(&rb, true, true);
    float loss = 1;
    double count = 1;
    ASSERT(zy_session_forward(s, &b, &loss, &count) == ZY_STATUS_OK);
    CHECK(loss == 0 && count == 0); // no heads: nothing scored
    const float *o;
    if ((o = output(s, "hidden", (size_t)B * T * C)))
        CHECK_CLOSE("base hidden", o, zt_ref_f(r, "hidden", NULL), (size_t)B * T * C, 1e-5, 1e-4);
    if ((o = output(s, "pooled", (size_t)B * C)))
        CHECK_CLOSE("base pooled", o, zt_ref_f(r, "pooled", NULL), (size_t)B * C, 1e-5, 1e-4);
    CHECK(zy_session_output(s, "mlm_logits", NULL, NULL) == NULL);
    CHECK(zy_session_output(s, "nsp_logits", NULL, NULL) == NULL);
    CHECK(zy_session_backward(s, 1.0f) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("backward: %s", zy_last_error());
    CHECK(strstr(zy_last_error(), "BertModel has no heads") != NULL);
    zy_session_free(s);
    zy_model_free(m);

    char dir[128], path[256];
    snprintf(dir, sizeof dir, "/tmp/zhuyi_bert_base_%ld", (long)getpid());
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(zt_copy_file("tests/ref/bert_tiny_base/model.safetensors", path));
    zt_bert_dims d = {"BertForPreTraining", L, H, C, 64, 16, 2, V, 0.0f};
    zy_config *c = zt_bert_config(&d);
    ASSERT(c != NULL);
    zy_config_set_float(c, "layer_norm_eps", 1e-12);
    snprintf(path, sizeof path, "%s/config.json", dir);
    CHECK(zy_config_save(c, path) == ZY_STATUS_OK);
    zy_config_free(c);
    if (zy_model_load(&m, dir) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "load: %s", zy_last_error());
    } else {
        const zy_tensor_table *tab = zy_model_tensors(m);
        int missing = 0;
        for (int i = 0; i < zy_tensor_table_count(tab); i++) {
            bool head = !strncmp(zy_tensor_table_at(tab, i)->name, "cls.", 4);
            CHECK(zy_model_tensor_missing(m, i) == head);
            missing += head;
        }
        CHECK(missing == 7);
        s = zt_bert_session(m, B, T, false, false);
        if (s && zy_session_forward(s, &b, &loss, NULL) == ZY_STATUS_OK &&
            (o = output(s, "hidden", (size_t)B * T * C)))
            CHECK_CLOSE("body under new heads", o, zt_ref_f(r, "hidden", NULL),
                        (size_t)B * T * C, 1e-5, 1e-4);
        CHECK(loss > 0 && isfinite(loss));
        zy_session_free(s);
        zy_model_free(m);
    }
    const char *files[] = {"config.json", "model.safetensors"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    rmdir(dir);
    zt_ref_free(r);
}

// Perturb a loaded model (so the check is not of the reference file itself), run the
// reference batch, save the directory and the outputs for tests/roundtrip_bert.py.
static void write_roundtrip(const char *src, const char *dir, bool heads) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    ref_batch rb;
    zy_model *m = NULL;
    if (!load_batch(r, &rb) || zy_model_load(&m, src) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "%s: %s", src, zy_last_error());
        zt_ref_free(r);
        return;
    }
    size_t n;
    float *p = zy_model_params(m, &n);
    for (size_t i = 0; i < n; i++) p[i] *= 1.0f + 0.01f * (float)((i * 7) % 5);
    zy_session *s = zt_bert_session(m, B, T, false, false);
    zy_batch b = as_batch(&rb, false, false);
    if (s && zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_OK) {
        if (zy_model_save(m, dir) != ZY_STATUS_OK)
            zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
        const char *names[] = {"ids", "types", "lengths", "hidden", "pooled", "mlm_logits",
                               "nsp_logits"};
        const void *data[] = {rb.ids, rb.types, rb.lengths,
                              zy_session_output(s, "hidden", NULL, NULL),
                              zy_session_output(s, "pooled", NULL, NULL),
                              zy_session_output(s, "mlm_logits", NULL, NULL),
                              zy_session_output(s, "nsp_logits", NULL, NULL)};
        int dt[] = {1, 1, 1, 0, 0, 0, 0}, d0[] = {B, B, 1, B * T, B, B * T, B},
            d1[] = {T, T, B, C, C, V, 2};
        int count = heads ? 7 : 5;
        for (int i = 0; i < count; i++) CHECK(data[i] != NULL);
        char path[256];
        snprintf(path, sizeof path, "%s/outputs.zyr", dir);
        CHECK(zt_ref_write(path, names, data, dt, d0, d1, count));
    } else {
        zt_fail(__FILE__, __LINE__, "forward: %s", zy_last_error());
    }
    zy_session_free(s);
    zy_model_free(m);
    zt_ref_free(r);
}

// Then /usr/bin/python3 tests/roundtrip_bert.py build/bert_roundtrip build/bert_roundtrip_base
// (scripts/test.sh) loads both into the PyTorch reference: the names written must be
// exactly BertForPreTraining's (with "bert.") and BertModel's (without), and the outputs
// the same.
TEST(bert_io_roundtrip_dirs_for_torch) {
    write_roundtrip("tests/ref/bert_tiny", ROUNDTRIP_DIR, true);
    write_roundtrip("tests/ref/bert_tiny_base", ROUNDTRIP_BASE_DIR, false);
}
