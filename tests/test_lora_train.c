// LoRA adapters in training (lora.h): freezing (adapters, modules_to_save and the biases
// of each bias mode, and the names the adapter file gives them), BERT's query/key/value
// biases trained apart (lora_only), the backward stopping below the lowest adapted layer,
// a frozen base's blocks saving no input only its weights' gradients would read,
// decoding and the training forward agreeing, the adapters' dropout, and a LoRA run's
// checkpoints: adapter directories that resume bit for bit. Against PyTorch:
// tests/test_lora.c.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lora_util.h"
#include "models/gpt_internal.h"
#include "train_util.h"
#include "zhuyi/io.h"

static zy_model *load_lora(const char *dir, const zy_config *cfg, const zy_lora_config *lc) {
    zy_model *m = NULL;
    if (zy_model_load_lora(&m, dir, cfg, lc) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "load lora %s: %s", dir, zy_last_error());
        return NULL;
    }
    return m;
}

// The BERT base as a 3-label sequence classifier.
static zy_config *seqcls_config(void) {
    zy_config *c = NULL;
    if (zy_config_load(&c, ZT_LORA_BERT_BASE "/config.json")) return NULL;
    const char *arch = "BertForSequenceClassification";
    zy_config_set_strings(c, "architectures", &arch, 1);
    zy_config_set_int(c, "num_labels", 3);
    return c;
}

static int index_of(const zy_model *m, const char *name) {
    return zy_tensor_table_find(zy_model_tensors(m), name);
}

static bool trains(const zy_model *m, const char *name) {
    int i = index_of(m, name);
    if (i < 0) zt_fail(__FILE__, __LINE__, "no tensor '%s'", name);
    return i >= 0 && zy_model_is_trainable(m, i);
}

// Which tensors train, and the names they get in the adapter file, for the bias modes and
// modules_to_save on the BERT classifier (adapters on query and value):
//  none, modules_to_save default: the adapters and the classifier (PEFT's task head);
//  all: also every bias (LayerNorms', the pooler's), an adapted module's under
//       <module>.base_layer.bias; modules_to_save "pooler": the pooler in full, not the
//       classifier; "" none at all;
//  lora_only: query's and value's biases, not key's (the fused projection's gradient is
//       staged: each part gets what it gets when all three train).
TEST(lora_bias_modes_and_modules_to_save) {
    zt_ref *r = zt_ref_load(ZT_LORA_REF);
    ASSERT(r != NULL);
    zy_config *cfg = seqcls_config();
    zt_lora_batch lb;
    ASSERT(cfg && zt_lora_batch_bert(r, &lb));
    const char *q = "bert.encoder.layer.0.attention.self.query.bias";
    const char *k = "bert.encoder.layer.0.attention.self.key.bias";
    const char *ln = "bert.encoder.layer.1.output.LayerNorm.bias";
    zy_lora_config lc = zy_lora_default_config();
    lc.r = 2, lc.seed = 3;
    zy_model *none = load_lora(ZT_LORA_BERT_BASE, cfg, &lc);
    if (none) {
        CHECK(trains(none, "classifier.weight") && trains(none, "classifier.bias"));
        CHECK(!trains(none, q) && !trains(none, "bert.pooler.dense.weight"));
        size_t want = 2 * (2 * 2 * 16 + 2 * 16 * 2) + 3 * 16 + 3; // 4 adapters, classifier
        CHECK(zy_model_trainable_floats(none) == want);
    }
    lc.bias = ZY_LORA_BIAS_ALL, lc.modules_to_save = "pooler";
    zy_model *all = load_lora(ZT_LORA_BERT_BASE, cfg, &lc);
    char dir[64];
    ASSERT(zt_lora_tmpdir(dir));
    if (all) {
        CHECK(trains(all, q) && trains(all, k) && trains(all, ln));
        CHECK(trains(all, "bert.embeddings.LayerNorm.bias") && trains(all, "bert.pooler.dense.weight"));
        // modules_to_save leaves the classifier out, but the base's file lacks it: it
        // trains in full all the same, and is saved (the base cannot give it back)
        CHECK(trains(all, "classifier.weight") && trains(all, "classifier.bias"));
        CHECK(!strcmp(zy_model_lora_config(all)->modules_to_save, "pooler,classifier"));
        CHECK(zy_model_save(all, dir) == ZY_STATUS_OK);
        zy_safetensors *st = NULL;
        char path[128];
        snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
        ASSERT(zy_safetensors_open(&st, path) == ZY_STATUS_OK);
        const char *present[] = {
            "base_model.model.bert.encoder.layer.0.attention.self.query.base_layer.bias",
            "base_model.model.bert.encoder.layer.0.attention.self.key.bias",
            "base_model.model.bert.encoder.layer.1.output.LayerNorm.bias",
            "base_model.model.bert.pooler.dense.weight", "base_model.model.bert.pooler.dense.bias",
            "base_model.model.classifier.bias", "base_model.model.classifier.weight"};
        for (size_t i = 0; i < sizeof present / sizeof *present; i++)
            if (!zy_safetensors_find(st, present[i])) zt_fail(__FILE__, __LINE__, "no %s", present[i]);
        CHECK(!zy_safetensors_find(st, "base_model.model.bert.encoder.layer.0.attention.self.query.bias"));
        zy_safetensors_free(st);
        zy_model *back = NULL; // and it loads back
        CHECK(zy_model_load(&back, dir) == ZY_STATUS_OK);
        if (back) CHECK(!memcmp(zy_model_params(back, NULL), zy_model_params(all, NULL),
                                zy_model_get_info(all)->n_params * sizeof(float)));
        zy_model_free(back);
    }
    lc.bias = ZY_LORA_BIAS_LORA_ONLY, lc.modules_to_save = "";
    zy_model *only = load_lora(ZT_LORA_BERT_BASE, cfg, &lc);
    if (only && all) {
        CHECK(trains(only, q) && !trains(only, k) && !trains(only, ln));
        CHECK(trains(only, "bert.encoder.layer.1.attention.self.value.bias"));
        CHECK(trains(only, "classifier.weight") && trains(only, "classifier.bias"));
        // same weights (same seed, same table up to the adapters): q's bias gradient as
        // when every bias trains; k's none
        zy_session *so = zt_session(only, 3, 7, true), *sa = zt_session(all, 3, 7, true);
        if (so && sa && !zy_session_forward(so, &lb.b, NULL, NULL) &&
            !zy_session_forward(sa, &lb.b, NULL, NULL) && !zy_session_backward(so, 1.0f) &&
            !zy_session_backward(sa, 1.0f)) {
            const float *go = zy_session_tensor_grad(so, index_of(only, q));
            const float *ga = zy_session_tensor_grad(sa, index_of(all, q));
            CHECK(go && ga && !memcmp(go, ga, 16 * sizeof *go));
            CHECK(zy_session_tensor_grad(so, index_of(only, k)) == NULL);
            double norm = 0;
            for (int i = 0; go && i < 16; i++) norm += (double)go[i] * go[i];
            CHECK(norm > 0);
        } else {
            zt_fail(__FILE__, __LINE__, "lora_only: %s", zy_last_error());
        }
        zy_session_free(so);
        zy_session_free(sa);
    }
    // a module both adapted and saved in full is refused
    lc.bias = ZY_LORA_BIAS_NONE, lc.modules_to_save = "value";
    zy_model *both = NULL;
    CHECK(zy_model_load_lora(&both, ZT_LORA_BERT_BASE, cfg, &lc) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "both") != NULL && both == NULL);
    CHECK(zt_rm_tree(dir));
    zy_model_free(none);
    zy_model_free(all);
    zy_model_free(only);
    zy_config_free(cfg);
    zt_lora_batch_free(&lb);
    zt_ref_free(r);
}

// GPT2ForSequenceClassification: PEFT's SEQ_CLS default trains score in full; targeting
// score itself (modules_to_save "") adapts it instead, and the adapter on score is wired
// (a new adapter changes no logit; a nonzero B changes them).
TEST(lora_gpt_score_head) {
    zy_config *c = NULL;
    ASSERT(zy_config_load(&c, ZT_LORA_GPT_BASE "/config.json") == ZY_STATUS_OK);
    const char *arch = "GPT2ForSequenceClassification";
    zy_config_set_strings(c, "architectures", &arch, 1);
    zy_config_set_int(c, "num_labels", 2);
    zy_lora_config lc = zy_lora_default_config();
    zy_model *m = load_lora(ZT_LORA_GPT_BASE, c, &lc);
    if (m) {
        CHECK(trains(m, "score.weight") && !strcmp(zy_model_lora_config(m)->modules_to_save,
                                                   "classifier,score"));
        zy_model_free(m);
    }
    // An adapter on a score the base's file lacks (a random W) is refused; on a base
    // that has one (a classifier saved plain), it adapts it.
    lc.targets = "c_fc,score", lc.modules_to_save = "";
    zy_model *bad = NULL;
    CHECK(zy_model_load_lora(&bad, ZT_LORA_GPT_BASE, c, &lc) == ZY_STATUS_INVALID_ARGUMENT &&
          strstr(zy_last_error(), "'score.weight' is not in the base model's file"));
    zy_model_free(bad);
    char dir[64];
    ASSERT(zt_lora_tmpdir(dir));
    zy_model *plain = NULL;
    if (zy_model_load_with_config(&plain, ZT_LORA_GPT_BASE, c) == ZY_STATUS_OK) {
        CHECK(zy_model_save(plain, dir) == ZY_STATUS_OK);
        zy_model_free(plain);
    } else {
        zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
    }
    m = load_lora(dir, NULL, &lc);
    if (m) {
        CHECK(!trains(m, "score.weight") && trains(m, "score.lora_A.weight"));
        int ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        zy_batch b = {.B = 1, .T = 8, .input_ids = ids};
        float before[2], after[2];
        zy_session *s = zt_session(m, 1, 8, false);
        if (s && !zy_session_forward(s, &b, NULL, NULL)) {
            memcpy(before, zy_session_output(s, "logits", NULL, NULL), sizeof before);
            size_t n;
            float *p = zy_model_params(m, &n);
            const zy_tensor *e = zy_tensor_table_at(zy_model_tensors(m), index_of(m, "score.lora_B.weight"));
            zt_fill_uniform(p + e->offset, e->count, 9, -1.0f, 1.0f);
            CHECK(!zy_session_forward(s, &b, NULL, NULL));
            memcpy(after, zy_session_output(s, "logits", NULL, NULL), sizeof after);
            CHECK(fabsf(after[0] - before[0]) > 1e-4f);
        }
        zy_session_free(s);
        zy_model_free(m);
    }
    CHECK(zt_rm_tree(dir));
    zy_config_free(c);
}

// With the base frozen and only block 1 adapted, backward stops at block 1 (block 0 and
// the embeddings get no work) and the adapter's gradients are those of a session where
// every tensor trains, and of a model whose block 0 has a (new) adapter too.
TEST(lora_backward_stops_at_lowest_adapter) {
    zt_ref *r = zt_ref_load(ZT_LORA_REF);
    ASSERT(r != NULL);
    zt_lora_batch lb;
    ASSERT(zt_lora_batch_gpt(r, &lb));
    zy_lora_config lc = zy_lora_default_config();
    lc.targets = "h.1.attn.c_attn,h.1.mlp.c_proj", lc.r = 3, lc.seed = 11;
    zy_model *m = load_lora(ZT_LORA_GPT_BASE, NULL, &lc);
    if (!m) goto done;
    const zy_tensor_table *t = zy_model_tensors(m);
    CHECK(zy_tensor_table_count(t) == 28 + 4);
    size_t n;
    float *p = zy_model_params(m, &n);
    for (int i = 28; i < 32; i++) { // B nonzero, so every gradient is
        const zy_tensor *e = zy_tensor_table_at(t, i);
        zt_fill_uniform(p + e->offset, e->count, 40 + i, -0.5f, 0.5f);
    }
    float g[2][4096];
    size_t sizes[4];
    for (int all = 0; all < 2; all++) {
        if (all) zy_model_set_trainable(m, -1, true);
        zy_session *s = zt_session(m, 2, 8, true);
        if (!s || zy_session_forward(s, &lb.b, NULL, NULL) || zy_session_backward(s, 1.0f)) {
            zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
            zy_session_free(s);
            goto done;
        }
        size_t off = 0;
        for (int i = 28; i < 32; i++) {
            sizes[i - 28] = zy_tensor_table_at(t, i)->count;
            memcpy(g[all] + off, zy_session_tensor_grad(s, i), sizes[i - 28] * sizeof(float));
            off += sizes[i - 28];
        }
        zy_session_free(s);
    }
    CHECK_CLOSE("adapter gradients", g[0], g[1], sizes[0] + sizes[1] + sizes[2] + sizes[3], 0, 0);
    // Blocks with adapters save more than blocks without: with block 0 given a new
    // adapter (B zero: nothing changes), block 1's adapters get the same gradients, so
    // neither layout overlaps the next buffer.
    lc.targets = "h.0.mlp.c_fc,h.1.attn.c_attn,h.1.mlp.c_proj";
    zy_model *m2 = load_lora(ZT_LORA_GPT_BASE, NULL, &lc);
    if (m2) {
        const zy_tensor_table *t2 = zy_model_tensors(m2);
        float *p2 = zy_model_params(m2, NULL);
        for (int i = 30; i < 34; i++) // block 1's adapters: m's
            memcpy(p2 + zy_tensor_table_at(t2, i)->offset, p + zy_tensor_table_at(t, i - 2)->offset,
                   zy_tensor_table_at(t, i - 2)->count * sizeof(float));
        zy_session *s = zt_session(m2, 2, 8, true);
        if (s && !zy_session_forward(s, &lb.b, NULL, NULL) && !zy_session_backward(s, 1.0f)) {
            size_t off = 0;
            for (int i = 30; i < 34; i++) {
                CHECK(!memcmp(zy_session_tensor_grad(s, i), g[1] + off, sizes[i - 30] * sizeof(float)));
                off += sizes[i - 30];
            }
        } else {
            zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
        }
        zy_session_free(s);
        zy_model_free(m2);
    }
done:
    zy_model_free(m);
    zt_lora_batch_free(&lb);
    zt_ref_free(r);
}

// PEFT's default for GPT-2 (an adapter on c_attn, the base frozen) with dropout everywhere:
// each block saves neither the layernorm output feeding the frozen c_fc nor the GELU
// output feeding the frozen mlp.c_proj (both (B,T) rows, C and 4C wide), and the loss and
// the adapters' gradients are bit for bit those of a session where every tensor trains
// (which saves both).
TEST(lora_gpt_frozen_base_saves_less) {
    zt_ref *r = zt_ref_load(ZT_LORA_REF);
    ASSERT(r != NULL);
    zt_lora_batch lb;
    ASSERT(zt_lora_batch_gpt(r, &lb));
    zy_config *cfg = NULL;
    ASSERT(zy_config_load(&cfg, ZT_LORA_GPT_BASE "/config.json") == ZY_STATUS_OK);
    const char *drops[] = {"resid_pdrop", "embd_pdrop", "attn_pdrop"};
    for (int i = 0; i < 3; i++) zy_config_set_float(cfg, drops[i], 0.1);
    zy_lora_config lc = zy_lora_default_config();
    lc.targets = "c_attn", lc.r = 4, lc.dropout = 0.1f, lc.seed = 13;
    zy_model *m = load_lora(ZT_LORA_GPT_BASE, cfg, &lc);
    if (!m) goto done;
    const zy_tensor_table *t = zy_model_tensors(m);
    const int first = 28, n_ad = zy_tensor_table_count(t) - first; // 2 blocks x (A, B)
    CHECK(n_ad == 4);
    float *p = zy_model_params(m, NULL);
    for (int i = first; i < first + n_ad; i++) { // B nonzero, so every gradient is
        const zy_tensor *e = zy_tensor_table_at(t, i);
        zt_fill_uniform(p + e->offset, e->count, 60 + i, -0.5f, 0.5f);
    }
    float loss[2], g[2][2048];
    size_t block_acts[2], off = 0;
    for (int all = 0; all < 2; all++) {
        if (all) zy_model_set_trainable(m, -1, true);
        zy_session *s = zt_session(m, 2, 8, true);
        if (s) zy_session_set_mode(s, true, 77);
        if (!s || zy_session_forward(s, &lb.b, &loss[all], NULL) || zy_session_backward(s, 1.0f)) {
            zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
            zy_session_free(s);
            goto done;
        }
        block_acts[all] = zy__gpt_acts(zy_session_impl(s)).block_acts;
        off = 0;
        for (int i = first; i < first + n_ad; i++) {
            size_t k = zy_tensor_table_at(t, i)->count;
            ASSERT(off + k <= 2048);
            memcpy(g[all] + off, zy_session_tensor_grad(s, i), k * sizeof(float));
            off += k;
        }
        zy_session_free(s);
    }
    CHECK(!memcmp(&loss[0], &loss[1], sizeof(float)));
    CHECK(!memcmp(g[0], g[1], off * sizeof(float)));
    const size_t N = 2 * 8, C = 16;
    CHECK(block_acts[1] - block_acts[0] == N * C + N * 4 * C);
done:
    zy_model_free(m);
    zy_config_free(cfg);
    zt_lora_batch_free(&lb);
    zt_ref_free(r);
}

// Decoding with unmerged adapters (every linear layer of both blocks) gives the training
// forward's logits at every position.
TEST(lora_decode_matches_forward) {
    zt_ref *r = zt_ref_load(ZT_LORA_REF);
    ASSERT(r != NULL);
    zy_model *m = NULL;
    ASSERT(zy_model_load(&m, ZT_LORA_GPT_ADAPTER) == ZY_STATUS_OK);
    const float *want = zt_ref_f(r, "gpt.logits", NULL);
    const int *x = zt_ref_i(r, "gpt.x", NULL);
    zy_session_params sp = zy_session_default_params();
    sp.n_seq = 2;
    zy_session *s = NULL;
    ASSERT(want && x && zy_session_create(&s, m, &sp) == ZY_STATUS_OK);
    float logits[2 * 40];
    for (int b = 0; b < 2; b++) { // a prompt of 5, then one token at a time
        int seq = b;
        ASSERT(zy_session_decode(s, 1, &seq, x + b * 8, 5, logits) == ZY_STATUS_OK);
        CHECK_CLOSE("prompt", logits, want + (b * 8 + 4) * 40, 40, 2e-5, 1e-4);
        for (int t = 5; t < 8; t++) {
            ASSERT(zy_session_decode(s, 1, &seq, x + b * 8 + t, 1, logits) == ZY_STATUS_OK);
            CHECK_CLOSE("step", logits, want + (b * 8 + t) * 40, 40, 2e-5, 1e-4);
        }
    }
    zy_session_free(s);
    zy_model_free(m);
    zt_ref_free(r);
}

// The adapters' dropout: a training forward with a seed is repeatable, another seed
// changes it, evaluation mode has none (the adapter's logits).
TEST(lora_dropout_streams) {
    zt_ref *r = zt_ref_load(ZT_LORA_REF);
    ASSERT(r != NULL);
    zt_lora_batch lb;
    ASSERT(zt_lora_batch_gpt(r, &lb));
    zy_lora_config lc = zy_lora_default_config();
    lc.targets = "c_attn,c_fc", lc.dropout = 0.3f, lc.seed = 2;
    zy_model *m = load_lora(ZT_LORA_GPT_BASE, NULL, &lc);
    zy_session *s = m ? zt_session(m, 2, 8, true) : NULL;
    if (s) {
        size_t n;
        float *p = zy_model_params(m, &n);
        const zy_tensor_table *t = zy_model_tensors(m);
        for (int i = 28; i < zy_tensor_table_count(t); i++) {
            const zy_tensor *e = zy_tensor_table_at(t, i);
            zt_fill_uniform(p + e->offset, e->count, 50 + i, -0.5f, 0.5f);
        }
        float l[4];
        zy_session_set_mode(s, true, 100);
        CHECK(!zy_session_forward(s, &lb.b, &l[0], NULL));
        CHECK(!zy_session_forward(s, &lb.b, &l[1], NULL));
        zy_session_set_mode(s, true, 101);
        CHECK(!zy_session_forward(s, &lb.b, &l[2], NULL));
        zy_session_set_mode(s, false, 0);
        CHECK(!zy_session_forward(s, &lb.b, &l[3], NULL));
        zt_note("losses %.6f %.6f %.6f %.6f", l[0], l[1], l[2], l[3]);
        CHECK(l[0] == l[1] && l[0] != l[2] && l[0] != l[3] && l[2] != l[3]);
    }
    zy_session_free(s);
    zy_model_free(m);
    zt_lora_batch_free(&lb);
    zt_ref_free(r);
}

// ---- checkpoints ----------------------------------------------------------------------------

// A LoRA run (the tiny GPT's base frozen; adapters on c_attn and c_fc with dropout 0.1,
// lora_only biases; the trainer's dropout too) saved at step 3 and 5: each checkpoint is
// an adapter directory plus the training state, DIR's adapter files are links to the
// newest, zy_model_load(DIR) is base + adapter; a fresh model and trainer resumed from
// DIR/checkpoint reach the uninterrupted run's weights at step 8 bit for bit.
TEST(lora_checkpoint_resume_bit_exact) {
    int32_t *tok = zt_stream(400, 21);
    zy_trainer_params p = zt_train_params();
    char base[64], dir[64];
    ASSERT(zt_lora_tmpdir(base) && zt_lora_tmpdir(dir));
    zy_model *tiny = zt_tiny_gpt(p.dropout);
    ASSERT(tiny && zy_model_save(tiny, base) == ZY_STATUS_OK);
    zy_model_free(tiny);
    zy_lora_config lc = zy_lora_default_config();
    lc.r = 4, lc.alpha = 8, lc.dropout = 0.1f, lc.targets = "c_attn,c_fc";
    lc.bias = ZY_LORA_BIAS_LORA_ONLY, lc.seed = 9;
    zy_model *ma = load_lora(base, NULL, &lc), *mb = load_lora(base, NULL, &lc), *mc = NULL;
    zt_run a = {0}, b = {0}, c = {0};
    ASSERT(ma && mb);
    size_t n;
    zy_model_params(ma, &n);
    CHECK(zy_model_trainable_floats(ma) < n / 4);
    ASSERT(zt_run_start(&a, ma, tok, 400, NULL, 0, &p) == ZY_STATUS_OK);
    for (int s = 0; s < 8; s++) ASSERT(zy_trainer_step(a.t, NULL) == ZY_STATUS_OK);

    ASSERT(zt_run_start(&b, mb, tok, 400, NULL, 0, &p) == ZY_STATUS_OK);
    for (int s = 0; s < 3; s++) ASSERT(zy_trainer_step(b.t, NULL) == ZY_STATUS_OK);
    ASSERT(zy_trainer_save_checkpoint(b.t, dir, NULL, 0, 0) == ZY_STATUS_OK);
    for (int s = 0; s < 2; s++) ASSERT(zy_trainer_step(b.t, NULL) == ZY_STATUS_OK);
    ASSERT(zy_trainer_save_checkpoint(b.t, dir, NULL, 0, 0) == ZY_STATUS_OK);
    char ckpt[512];
    ASSERT(zy_checkpoint_find(dir, ckpt, sizeof ckpt) == ZY_STATUS_OK);
    CHECK(strstr(ckpt, "/checkpoint-5") != NULL && !zt_exists(dir, "checkpoint-3"));
    const char *files[] = {"adapter_config.json", "adapter_model.safetensors", "config.json"};
    for (int i = 0; i < 3; i++)
        CHECK(zt_exists(ckpt, files[i]) && zt_inode(dir, files[i]) == zt_inode(ckpt, files[i]));
    CHECK(zt_exists(ckpt, ZY_TRAINING_STATE_FILE) && !zt_exists(ckpt, "model.safetensors") &&
          !zt_exists(dir, "model.safetensors"));
    zy_model *md = NULL;
    ASSERT(zy_model_load(&md, dir) == ZY_STATUS_OK);
    CHECK(zy_model_has_adapter(md) &&
          !memcmp(zy_model_params(md, NULL), zy_model_params(mb, NULL), n * sizeof(float)));
    zy_model_free(md);

    char state[600];
    snprintf(state, sizeof state, "%s/%s", ckpt, ZY_TRAINING_STATE_FILE);
    zy_trainer_params pr;
    long step;
    ASSERT(zy_trainer_read_params(state, &pr, &step) == ZY_STATUS_OK && step == 5);
    ASSERT(zy_model_load(&mc, ckpt) == ZY_STATUS_OK);
    CHECK(zy_model_trainable_floats(mc) == zy_model_trainable_floats(mb));
    ASSERT(zt_run_start(&c, mc, tok, 400, NULL, 0, &pr) == ZY_STATUS_OK);
    ASSERT(zy_trainer_load_state(c.t, state) == ZY_STATUS_OK);
    for (int s = 0; s < 3; s++) ASSERT(zy_trainer_step(c.t, NULL) == ZY_STATUS_OK);
    CHECK(!memcmp(zy_model_params(mc, NULL), zy_model_params(ma, NULL), n * sizeof(float)));
    // and a plain model's checkpoint in the same DIR takes the adapter's files away
    zy_model *plain = zt_tiny_gpt(p.dropout);
    zt_run d = {0};
    ASSERT(plain && zt_run_start(&d, plain, tok, 400, NULL, 0, &p) == ZY_STATUS_OK);
    ASSERT(zy_trainer_step(d.t, NULL) == ZY_STATUS_OK);
    ASSERT(zy_trainer_save_checkpoint(d.t, dir, NULL, 0, 0) == ZY_STATUS_OK);
    CHECK(zt_exists(dir, "model.safetensors") && !zt_exists(dir, "adapter_config.json") &&
          !zt_exists(dir, "adapter_model.safetensors"));
    zt_run_stop(&d);
    zy_model_free(plain);
    zt_run_stop(&a);
    zt_run_stop(&b);
    zt_run_stop(&c);
    zy_model_free(ma);
    zy_model_free(mb);
    zy_model_free(mc);
    CHECK(zt_rm_tree(base));
    CHECK(zt_rm_tree(dir));
    free(tok);
}
