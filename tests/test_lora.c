// LoRA adapters on models (lora.h) against the PyTorch reference (tests/ref_lora.py ->
// tests/ref/lora.zyr and the PEFT-layout directories tests/ref/lora_*): a GPT-2 with
// adapters on c_attn, c_proj and c_fc (rsLoRA) and a BERT sequence classifier with
// adapters on query, value and every dense (the pooler's too), lora_only biases and the
// classifier in modules_to_save, loaded by zy_model_load_adapter from the directories
// Python wrote: logits, loss, every trainable gradient and the weights after one AdamW
// step of the trainer. Then: merging equals the adapter; a new adapter changes nothing;
// the adapter directory zhuyi writes (PEFT's names and fields; loaded back bit for bit,
// and by tests/roundtrip_lora.py); rsLoRA's scale; the errors for bad input.
// Training, freezing, bias modes and checkpoints: tests/test_lora_train.c.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lora_util.h"
#include "zhuyi/io.h"

#define GPT_ROUNDTRIP "build/lora_roundtrip_gpt"
#define BERT_ROUNDTRIP "build/lora_roundtrip_bert"

static zy_model *load_adapter(const char *base, const char *dir) {
    zy_model *m = NULL;
    if (zy_model_load_adapter(&m, base, dir) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "load adapter %s: %s", dir, zy_last_error());
        return NULL;
    }
    return m;
}

// Each trainable tensor's array (gradients or weights, in the table's order as the
// gradient array holds them; base: NULL for the gradient array) against "<prefix>.<name>".
static int check_trainable(zt_ref *r, const zy_model *m, const float *grads, const char *prefix,
                           double atol, double rtol) {
    const zy_tensor_table *t = zy_model_tensors(m);
    size_t off = 0;
    int n = 0;
    for (int i = 0; i < zy_tensor_table_count(t); i++) {
        if (!zy_model_is_trainable(m, i)) continue;
        const zy_tensor *e = zy_tensor_table_at(t, i);
        const float *got = grads ? grads + off : zy_model_tensor_data(m, i);
        zt_ref_check(r, prefix, e->name, got, e->count, atol, rtol);
        off += e->count;
        n++;
    }
    return n;
}

// The logits of one evaluation forward of b (n values) into out.
static bool logits_of(const zy_model *m, const zy_batch *b, float *out, size_t n) {
    zy_session *s = zt_session(m, b->B, b->T, false);
    bool ok = s && zy_session_forward(s, b, NULL, NULL) == ZY_STATUS_OK;
    const float *o = ok ? zy_session_output(s, "logits", NULL, NULL) : NULL;
    if (o) memcpy(out, o, n * sizeof *out);
    else zt_fail(__FILE__, __LINE__, "forward: %s", zy_last_error());
    zy_session_free(s);
    return o != NULL;
}

// One step of the trainer (AdamW lr 1e-3, betas 0.9/0.95, eps 1e-8, decay 0.1 on the
// tensors the table marks, no clipping) on the batch: its loss, gradients and weights
// against the reference.
static void trainer_step_matches(zt_ref *r, zy_model *m, const zt_lora_batch *lb,
                                 const char *prefix, int want_trainable) {
    char grad[32], adamw[32];
    snprintf(grad, sizeof grad, "%s.grad", prefix);
    snprintf(adamw, sizeof adamw, "%s.adamw", prefix);
    zy_data_source *src = zt_lora_source(lb);
    ASSERT(src != NULL);
    zy_trainer_params p = zy_trainer_default_params();
    p.batch = lb->b.B, p.seq = lb->b.T, p.steps = 1, p.schedule = ZY_SCHEDULE_CONSTANT;
    p.warmup = 0, p.lr = 1e-3f, p.weight_decay = 0.1f, p.grad_clip = 0.0f, p.eval_batches = 0;
    zy_trainer *t = NULL;
    if (zy_trainer_create(&t, m, src, NULL, &p) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "trainer: %s", zy_last_error());
        zy_data_source_free(src);
        return;
    }
    zy_step_info step;
    if (zy_trainer_step(t, &step) == ZY_STATUS_OK) {
        char name[32];
        snprintf(name, sizeof name, "%s.loss", prefix);
        float want = zt_ref_scalar(r, name);
        zt_note("%s: step loss %.7f, torch %.7f", prefix, step.loss, want);
        CHECK(fabsf(step.loss - want) <= 1e-5f * fmaxf(1.0f, fabsf(want)));
        size_t n;
        const float *g = zy_session_grads(zy_trainer_session(t), &n);
        CHECK(n == zy_model_trainable_floats(m));
        CHECK(check_trainable(r, m, g, grad, 2e-6, 2e-3) == want_trainable);
        check_trainable(r, m, NULL, adamw, 2e-6, 0);
    } else {
        zt_fail(__FILE__, __LINE__, "step: %s", zy_last_error());
    }
    zy_trainer_free(t);
    zy_data_source_free(src);
}

// GPT-2 L=2 C=16 with adapters (r 4, alpha 8, rsLoRA) on c_attn, attn.c_proj, mlp.c_fc and
// mlp.c_proj of both blocks, from the directory Python wrote as PEFT does: the logits
// (2e-5 abs + 1e-4 rel), the loss (1e-5 rel), the 16 adapter gradients (2e-6 abs + 2e-3
// rel) and the adapters after one AdamW step (2e-6 abs).
TEST(lora_gpt_matches_torch) {
    zt_ref *r = zt_ref_load(ZT_LORA_REF);
    ASSERT(r != NULL);
    zt_lora_batch lb;
    zy_model *m = NULL;
    if (!zt_lora_batch_gpt(r, &lb) || !(m = load_adapter(NULL, ZT_LORA_GPT_ADAPTER))) goto done;
    const zy_lora_config *lc = zy_model_lora_config(m);
    ASSERT(zy_model_has_adapter(m) && lc != NULL);
    CHECK(lc->r == 4 && lc->alpha == 8.0f && lc->use_rslora && lc->bias == ZY_LORA_BIAS_NONE);
    CHECK(!strcmp(lc->targets, "c_attn,c_proj,c_fc") && lc->modules_to_save == NULL);
    CHECK(!strcmp(lc->base_model_name_or_path, "tests/ref/lora_gpt_base"));
    const zy_tensor_table *t = zy_model_tensors(m);
    const zy_tensor *a0 = zy_tensor_table_at(t, 28), *b0 = zy_tensor_table_at(t, 29);
    CHECK(zy_tensor_table_count(t) == 28 + 16);
    CHECK(!strcmp(a0->name, "transformer.h.0.attn.c_attn.lora_A.weight") && a0->adapter &&
          a0->shape[0] == 4 && a0->shape[1] == 16);
    CHECK(!strcmp(b0->name, "transformer.h.0.attn.c_attn.lora_B.weight") && b0->adapter &&
          b0->shape[0] == 48 && b0->shape[1] == 4);
    for (int i = 0; i < zy_tensor_table_count(t); i++)
        CHECK(zy_model_is_trainable(m, i) == (i >= 28));
    float logits[2 * 8 * 40];
    if (logits_of(m, &lb.b, logits, sizeof logits / sizeof *logits))
        CHECK_CLOSE("gpt logits", logits, zt_ref_f(r, "gpt.logits", NULL), 640, 2e-5, 1e-4);
    trainer_step_matches(r, m, &lb, "gpt", 16);
done:
    zy_model_free(m);
    zt_lora_batch_free(&lb);
    zt_ref_free(r);
}

// BertForSequenceClassification (3 labels, config.json beside the adapter) on a
// BertForPreTraining base: adapters (r 2, alpha 6) on query, value and the attention
// output, intermediate, output and pooler denses; their biases (lora_only, stored as
// <module>.base_layer.bias and different from the base's) and the classifier
// (modules_to_save) from the adapter file. Tolerances as GPT's.
TEST(lora_bert_matches_torch) {
    zt_ref *r = zt_ref_load(ZT_LORA_REF);
    ASSERT(r != NULL);
    zt_lora_batch lb;
    zy_model *m = NULL;
    if (!zt_lora_batch_bert(r, &lb) || !(m = load_adapter(NULL, ZT_LORA_BERT_ADAPTER)))
        goto done;
    const zy_lora_config *lc = zy_model_lora_config(m);
    CHECK(!strcmp(zy_model_get_info(m)->architecture, "BertForSequenceClassification"));
    CHECK(lc->r == 2 && lc->bias == ZY_LORA_BIAS_LORA_ONLY && !lc->use_rslora);
    CHECK(!strcmp(lc->modules_to_save, "classifier,score"));
    // "../lora_bert_base", found beside the adapter: as an absolute path
    const char *bp = lc->base_model_name_or_path, *tail = "/" ZT_LORA_BERT_ADAPTER "/../lora_bert_base";
    CHECK(bp[0] == '/' && strlen(bp) > strlen(tail) && !strcmp(bp + strlen(bp) - strlen(tail), tail));
    const zy_tensor_table *t = zy_model_tensors(m);
    for (int i = 0; i < zy_tensor_table_count(t); i++) // the classifier came from the adapter
        CHECK(!zy_model_tensor_missing(m, i));
    float logits[3 * 3];
    if (logits_of(m, &lb.b, logits, 9))
        CHECK_CLOSE("bert logits", logits, zt_ref_f(r, "bert.logits", NULL), 9, 2e-5, 1e-4);
    // zy_model_load_with_config of the adapter directory: the base through that config,
    // then the adapter (the same model)
    zy_config *c = NULL;
    zy_model *m2 = NULL;
    if (zy_config_load(&c, ZT_LORA_BERT_ADAPTER "/config.json") ||
        zy_model_load_with_config(&m2, ZT_LORA_BERT_ADAPTER, c)) {
        zt_fail(__FILE__, __LINE__, "load with config: %s", zy_last_error());
    } else {
        size_t n1, n2;
        const float *p1 = zy_model_params(m, &n1), *p2 = zy_model_params(m2, &n2);
        CHECK(zy_model_has_adapter(m2) && n1 == n2 && !memcmp(p1, p2, n1 * sizeof *p1));
    }
    zy_model_free(m2);
    zy_config_free(c);
    // 11 adapted modules (5 per layer and the pooler): 22 adapters, 11 biases, classifier
    trainer_step_matches(r, m, &lb, "bert", 22 + 11 + 2);
done:
    zy_model_free(m);
    zt_lora_batch_free(&lb);
    zt_ref_free(r);
}

// A new adapter (B zero) leaves the model's outputs as they were, bit for bit; A is drawn
// in PEFT's bounds; the defaults are PEFT's (GPT-2: c_attn, r 8, alpha 8).
TEST(lora_new_adapter_changes_nothing) {
    zt_ref *r = zt_ref_load(ZT_LORA_REF);
    ASSERT(r != NULL);
    zt_lora_batch lb;
    zy_model *base = NULL, *m = NULL;
    ASSERT(zt_lora_batch_gpt(r, &lb));
    zy_lora_config lc = zy_lora_default_config();
    lc.seed = 5;
    if (zy_model_load(&base, ZT_LORA_GPT_BASE) || zy_model_load_lora(&m, ZT_LORA_GPT_BASE, NULL, &lc)) {
        zt_fail(__FILE__, __LINE__, "load: %s", zy_last_error());
        goto done;
    }
    CHECK(!zy_model_has_adapter(base) && zy_model_lora_config(base) == NULL);
    CHECK(!strcmp(zy_model_lora_config(m)->targets, "c_attn"));
    CHECK(!strcmp(zy_model_lora_config(m)->base_model_name_or_path, ZT_LORA_GPT_BASE));
    const zy_tensor_table *t = zy_model_tensors(m);
    CHECK(zy_tensor_table_count(t) == 28 + 4);
    for (int i = 28; i < zy_tensor_table_count(t); i++) {
        const zy_tensor *e = zy_tensor_table_at(t, i);
        const float *x = zy_model_tensor_data(m, i);
        float lo = 0, hi = 0;
        for (size_t k = 0; k < e->count; k++) lo = fminf(lo, x[k]), hi = fmaxf(hi, x[k]);
        if (strstr(e->name, "lora_A")) CHECK(lo < -0.1f && hi > 0.1f && hi <= 0.25f && lo >= -0.25f);
        else CHECK(lo == 0 && hi == 0);
    }
    float a[640], b[640];
    if (logits_of(base, &lb.b, a, 640) && logits_of(m, &lb.b, b, 640))
        CHECK(!memcmp(a, b, sizeof a));
    CHECK_CLOSE("base logits", a, zt_ref_f(r, "gpt.base_logits", NULL), 640, 2e-5, 1e-4);
done:
    zy_model_free(base);
    zy_model_free(m);
    zt_lora_batch_free(&lb);
    zt_ref_free(r);
}

// Merging folds W += scale·B·A into the base's layout (GPT-2's transposed Conv1D weights,
// BERT's q/k/v parts): the same logits within float rounding, a plain model (no adapter
// entries, every tensor trainable) that saves as config.json + model.safetensors and
// loads back bit for bit.
TEST(lora_merge_equals_adapter) {
    zt_ref *r = zt_ref_load(ZT_LORA_REF);
    ASSERT(r != NULL);
    char dir[64];
    ASSERT(zt_lora_tmpdir(dir));
    for (int bert = 0; bert < 2; bert++) {
        zt_lora_batch lb;
        zy_model *m = NULL, *back = NULL;
        size_t n = bert ? 9 : 640;
        float a[640], b[640], c[640];
        if (!(bert ? zt_lora_batch_bert(r, &lb) : zt_lora_batch_gpt(r, &lb)) ||
            !(m = load_adapter(NULL, bert ? ZT_LORA_BERT_ADAPTER : ZT_LORA_GPT_ADAPTER)) ||
            !logits_of(m, &lb.b, a, n)) {
            zy_model_free(m);
            zt_lora_batch_free(&lb);
            continue;
        }
        int n_base = bert ? zy_tensor_table_count(zy_model_tensors(m)) - 22
                          : zy_tensor_table_count(zy_model_tensors(m)) - 16;
        CHECK(zy_model_merge_adapter(m) == ZY_STATUS_OK);
        CHECK(!zy_model_has_adapter(m) && zy_model_lora_config(m) == NULL);
        CHECK(zy_tensor_table_count(zy_model_tensors(m)) == n_base);
        CHECK(zy_model_trainable_floats(m) == zy_model_get_info(m)->n_params);
        CHECK(zy_model_merge_adapter(m) == ZY_STATUS_INVALID_ARGUMENT);
        if (logits_of(m, &lb.b, b, n))
            CHECK_CLOSE(bert ? "bert merged" : "gpt merged", b, a, n, 2e-5, 1e-5);
        const char *files[4];
        CHECK(zy_model_file_names(m, files, 4) == 2 && !strcmp(files[1], "model.safetensors"));
        // saved over an adapter directory: the adapter's files go
        CHECK(zy_model_save_adapter(m, dir) == ZY_STATUS_INVALID_ARGUMENT);
        char path[128];
        snprintf(path, sizeof path, "%s/adapter_config.json", dir);
        FILE *f = fopen(path, "w");
        if (f) fputs("{}", f), fclose(f);
        ASSERT(zy_model_save(m, dir) == ZY_STATUS_OK);
        CHECK(access(path, F_OK) != 0);
        if (zy_model_load(&back, dir) == ZY_STATUS_OK && logits_of(back, &lb.b, c, n))
            CHECK(!memcmp(b, c, n * sizeof *b));
        else
            zt_fail(__FILE__, __LINE__, "merged model: %s", zy_last_error());
        zy_model_free(back);
        zy_model_free(m);
        zt_lora_batch_free(&lb);
    }
    CHECK(zt_rm_tree(dir));
    zt_ref_free(r);
}

// ---- the directory zhuyi writes ---------------------------------------------------------------

static void check_tensor(const zy_safetensors *st, const char *name, int64_t d0, int64_t d1) {
    const zy_tensor_info *i = zy_safetensors_find(st, name);
    if (!i) {
        zt_fail(__FILE__, __LINE__, "adapter_model.safetensors: no '%s'", name);
        return;
    }
    CHECK(i->dtype == ZY_DTYPE_F32 && i->ndim == (d1 ? 2 : 1) && i->shape[0] == d0 &&
          (!d1 || i->shape[1] == d1));
}

// After one trainer step (so the weights differ from Python's), saved: PEFT's files and
// names, config fields; loaded back (zy_model_load of the directory) bit for bit; the
// directory and the batch's logits stay in build/ for tests/roundtrip_lora.py.
static void roundtrip(zt_ref *r, bool bert) {
    zt_lora_batch lb;
    zy_model *m = NULL, *back = NULL;
    const char *dir = bert ? BERT_ROUNDTRIP : GPT_ROUNDTRIP;
    size_t n = bert ? 9 : 640;
    float a[640], b[640];
    if (!(bert ? zt_lora_batch_bert(r, &lb) : zt_lora_batch_gpt(r, &lb)) ||
        !(m = load_adapter(NULL, bert ? ZT_LORA_BERT_ADAPTER : ZT_LORA_GPT_ADAPTER)))
        goto done;
    zy_data_source *src = zt_lora_source(&lb);
    zy_trainer_params p = zy_trainer_default_params();
    p.batch = lb.b.B, p.seq = lb.b.T, p.steps = 1, p.warmup = 0, p.lr = 1e-2f, p.eval_batches = 0;
    zy_trainer *t = NULL;
    ASSERT(src && zy_trainer_create(&t, m, src, NULL, &p) == ZY_STATUS_OK);
    CHECK(zy_trainer_step(t, NULL) == ZY_STATUS_OK);
    zy_trainer_free(t);
    zy_data_source_free(src);
    const char *files[4];
    CHECK(zy_model_file_names(m, files, 4) == 3 && !strcmp(files[0], "adapter_config.json"));
    char path[128];
    CHECK(zt_rm_tree(dir));
    ASSERT(zy_model_save(m, dir) == ZY_STATUS_OK);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK(access(path, F_OK) != 0);
    // adapter_config.json
    zy_config *c = NULL;
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    ASSERT(zy_config_load(&c, path) == ZY_STATUS_OK);
    const char *s;
    bool flag;
    int r_ = 0;
    float alpha = 0;
    CHECK(!zy_config_get_string(c, "peft_type", &s) && !strcmp(s, "LORA"));
    CHECK(!zy_config_get_string(c, "task_type", &s) && !strcmp(s, bert ? "SEQ_CLS" : "CAUSAL_LM"));
    CHECK(!zy_config_get_string(c, "bias", &s) && !strcmp(s, bert ? "lora_only" : "none"));
    CHECK(!zy_config_get_string(c, "base_model_name_or_path", &s) &&
          (bert ? s[0] == '/' && strstr(s, "/lora_bert_adapter/../lora_bert_base")
                : !strcmp(s, "tests/ref/lora_gpt_base")));
    CHECK(!zy_config_get_bool(c, "fan_in_fan_out", &flag) && flag == !bert);
    CHECK(!zy_config_get_bool(c, "use_rslora", &flag) && flag == !bert);
    CHECK(!zy_config_get_bool(c, "inference_mode", &flag) && flag);
    CHECK(!zy_config_get_int(c, "r", 1, 99, &r_) && r_ == (bert ? 2 : 4));
    CHECK(!zy_config_get_float(c, "lora_alpha", 0, 99, &alpha) && alpha == (bert ? 6.0f : 8.0f));
    CHECK(zy_config_array_count(c, "target_modules") == 3);
    CHECK(!zy_config_get_string_at(c, "target_modules", 1, &s) && !strcmp(s, bert ? "value" : "c_proj"));
    CHECK(zy_config_array_count(c, "modules_to_save") == (bert ? 2 : 0));
    CHECK(zy_config_object_count(c, "rank_pattern") == 0 && zy_config_has(c, "rank_pattern"));
    zy_config_free(c);
    // adapter_model.safetensors: PEFT's names
    zy_safetensors *st = NULL;
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    ASSERT(zy_safetensors_open(&st, path) == ZY_STATUS_OK);
    if (bert) {
        CHECK(zy_safetensors_count(st) == 22 + 11 + 2);
        check_tensor(st, "base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight", 2, 16);
        check_tensor(st, "base_model.model.bert.encoder.layer.1.output.dense.lora_B.weight", 16, 2);
        check_tensor(st, "base_model.model.bert.encoder.layer.1.intermediate.dense.lora_A.weight", 2, 16);
        check_tensor(st, "base_model.model.bert.pooler.dense.lora_B.weight", 16, 2);
        check_tensor(st, "base_model.model.bert.encoder.layer.0.attention.self.value.base_layer.bias", 16, 0);
        check_tensor(st, "base_model.model.bert.pooler.dense.base_layer.bias", 16, 0);
        check_tensor(st, "base_model.model.classifier.weight", 3, 16);
        check_tensor(st, "base_model.model.classifier.bias", 3, 0);
    } else {
        CHECK(zy_safetensors_count(st) == 16);
        check_tensor(st, "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", 4, 16);
        check_tensor(st, "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight", 48, 4);
        check_tensor(st, "base_model.model.transformer.h.1.mlp.c_proj.lora_A.weight", 4, 64);
        check_tensor(st, "base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight", 64, 4);
    }
    const char *fmt = zy_safetensors_metadata_get(st, "format");
    CHECK(fmt && !strcmp(fmt, "pt"));
    zy_safetensors_free(st);
    // config.json: the adapted architecture
    snprintf(path, sizeof path, "%s/config.json", dir);
    ASSERT(zy_config_load(&c, path) == ZY_STATUS_OK);
    CHECK(zy_config_object_count(c, "id2label") == (bert ? 3 : 0));
    zy_config_free(c);
    // loaded back: the same parameters and outputs; the logits for Python
    if (!logits_of(m, &lb.b, a, n)) goto done;
    if (zy_model_load(&back, dir) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "load %s: %s", dir, zy_last_error());
        goto done;
    }
    size_t na, nb;
    const float *pa = zy_model_params(m, &na), *pb = zy_model_params(back, &nb);
    CHECK(na == nb && !memcmp(pa, pb, na * sizeof *pa));
    CHECK(zy_model_trainable_floats(back) == zy_model_trainable_floats(m));
    if (logits_of(back, &lb.b, b, n)) CHECK(!memcmp(a, b, n * sizeof *a));
    int B = lb.b.B, T = lb.b.T, V = bert ? 3 : 40;
    const char *names[] = {"x", "lengths", "types", "logits"};
    int ones[8] = {0};
    for (int i = 0; i < B; i++) ones[i] = T;
    const void *data[] = {lb.b.input_ids, lb.b.lengths ? lb.b.lengths : ones,
                          lb.b.token_type_ids ? lb.b.token_type_ids : lb.b.input_ids, b};
    int dt[] = {1, 1, 1, 0}, d0[] = {B, 1, B, bert ? B : B * T}, d1[] = {T, B, T, V};
    snprintf(path, sizeof path, "%s/logits.zyr", dir);
    CHECK(zt_ref_write(path, names, data, dt, d0, d1, 4));
done:
    zy_model_free(back);
    zy_model_free(m);
    zt_lora_batch_free(&lb);
}

TEST(lora_adapter_dir_roundtrip) {
    zt_ref *r = zt_ref_load(ZT_LORA_REF);
    ASSERT(r != NULL);
    roundtrip(r, false);
    roundtrip(r, true);
    zt_ref_free(r);
}

// rsLoRA's scale is alpha / √r: Python's adapter (r 4, alpha 8, rsLoRA: 4) gives the logits
// of the same A and B under alpha 16 without rsLoRA (16 / 4 = 4), not those of alpha 8
// (scale 2).
TEST(lora_rslora_scale) {
    zt_ref *r = zt_ref_load(ZT_LORA_REF);
    ASSERT(r != NULL);
    zt_lora_batch lb;
    zy_model *rs = NULL;
    if (!zt_lora_batch_gpt(r, &lb) || !(rs = load_adapter(NULL, ZT_LORA_GPT_ADAPTER))) goto done;
    float want[640], got[640];
    if (!logits_of(rs, &lb.b, want, 640)) goto done;
    for (int alpha = 8; alpha <= 16; alpha += 8) {
        zy_lora_config lc = zy_lora_default_config();
        lc.r = 4, lc.alpha = (float)alpha, lc.targets = "c_attn,c_proj,c_fc";
        zy_model *m = NULL;
        if (zy_model_load_lora(&m, ZT_LORA_GPT_BASE, NULL, &lc) != ZY_STATUS_OK) {
            zt_fail(__FILE__, __LINE__, "load: %s", zy_last_error());
            continue;
        }
        size_t n;
        float *dst = zy_model_params(m, &n);
        CHECK(n == zy_model_get_info(rs)->n_params);
        memcpy(dst, zy_model_params(rs, NULL), n * sizeof *dst);
        if (logits_of(m, &lb.b, got, 640)) {
            if (alpha == 16) CHECK(!memcmp(got, want, sizeof got));
            else CHECK(memcmp(got, want, sizeof got) != 0);
        }
        zy_model_free(m);
    }
done:
    zy_model_free(rs);
    zt_lora_batch_free(&lb);
    zt_ref_free(r);
}

// ---- bad input ----------------------------------------------------------------------------------

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        zt_fail(__FILE__, __LINE__, "cannot write %s", path);
        return;
    }
    fputs(text, f);
    fclose(f);
}

// An adapter_config.json (text) beside Python's GPT adapter weights: the load fails with
// `want`, naming `field`.
static void bad_config(const char *dir, const char *text, zy_status want, const char *field) {
    char path[128];
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    write_file(path, text);
    zy_model *m = NULL;
    zy_status st = zy_model_load(&m, dir);
    zt_note("%s -> %s", text, zy_last_error());
    CHECK(st == want && m == NULL);
    CHECK(strstr(zy_last_error(), field) && strstr(zy_last_error(), "adapter_config.json"));
    zy_model_free(m);
}

TEST(lora_bad_input) {
    zy_model *m = NULL;
    zy_lora_config lc = zy_lora_default_config();
    // a target that matches no linear layer: the message lists the model's
    lc.targets = "c_attn,attn.c_atn";
    CHECK(zy_model_load_lora(&m, ZT_LORA_GPT_BASE, NULL, &lc) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "'attn.c_atn'") && strstr(zy_last_error(), "attn.c_attn, "
          "attn.c_proj, mlp.c_fc, mlp.c_proj"));
    lc.targets = "wte"; // an embedding, not a linear layer
    CHECK(zy_model_load_lora(&m, ZT_LORA_GPT_BASE, NULL, &lc) == ZY_STATUS_INVALID_ARGUMENT);
    lc.targets = "decoder"; // BERT's MLM decoder is tied to the embeddings: not adapted
    CHECK(zy_model_load_lora(&m, ZT_LORA_BERT_BASE, NULL, &lc) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "attention.self.query") && strstr(zy_last_error(), "bert.pooler.dense"));
    lc.targets = NULL;
    lc.r = 0;
    CHECK(zy_model_load_lora(&m, ZT_LORA_GPT_BASE, NULL, &lc) == ZY_STATUS_INVALID_ARGUMENT);
    lc.r = 8, lc.alpha = 0;
    CHECK(zy_model_load_lora(&m, ZT_LORA_GPT_BASE, NULL, &lc) == ZY_STATUS_INVALID_ARGUMENT);
    lc.alpha = 8, lc.dropout = 1.0f;
    CHECK(zy_model_load_lora(&m, ZT_LORA_GPT_BASE, NULL, &lc) == ZY_STATUS_INVALID_ARGUMENT);
    lc.dropout = 0, lc.modules_to_save = "nothing_here";
    CHECK(zy_model_load_lora(&m, ZT_LORA_GPT_BASE, NULL, &lc) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "nothing_here") != NULL);
    CHECK(m == NULL);

    // an adapter for another base model: the tensor and both shapes
    CHECK(zy_model_load_adapter(&m, "tests/ref/gpt_small", ZT_LORA_GPT_ADAPTER) ==
          ZY_STATUS_SHAPE_MISMATCH);
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight") &&
          strstr(zy_last_error(), "(4, 16)") && strstr(zy_last_error(), "(4, 48)"));

    // broken adapter_config.json files
    char dir[64], path[128];
    ASSERT(zt_lora_tmpdir(dir));
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    CHECK(zt_copy_file(ZT_LORA_GPT_ADAPTER "/adapter_model.safetensors", path));
#define BASE "\"base_model_name_or_path\": \"tests/ref/lora_gpt_base\", "
#define TARGETS "\"target_modules\": [\"c_attn\", \"c_proj\", \"c_fc\"]"
    bad_config(dir, "{\"peft_type\": \"LORA\", " BASE, ZY_STATUS_BAD_FORMAT, "line");
    bad_config(dir, "{" BASE TARGETS "}", ZY_STATUS_NOT_FOUND, "'peft_type'");
    bad_config(dir, "{\"peft_type\": \"PREFIX_TUNING\", " BASE TARGETS "}", ZY_STATUS_BAD_FORMAT,
               "'peft_type'");
    bad_config(dir, "{\"peft_type\": \"LORA\", \"r\": 0, " BASE TARGETS "}", ZY_STATUS_BAD_FORMAT,
               "'r'");
    bad_config(dir, "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": \"8\", " BASE TARGETS "}",
               ZY_STATUS_BAD_FORMAT, "'lora_alpha'");
    bad_config(dir, "{\"peft_type\": \"LORA\", \"r\": 4, \"bias\": \"some\", " BASE TARGETS "}",
               ZY_STATUS_BAD_FORMAT, "'bias'");
    bad_config(dir, "{\"peft_type\": \"LORA\", \"r\": 4, \"use_dora\": true, " BASE TARGETS "}",
               ZY_STATUS_UNSUPPORTED, "'use_dora'");
    bad_config(dir, "{\"peft_type\": \"LORA\", \"r\": 4, \"init_lora_weights\": \"pissa_niter_4\", "
               BASE TARGETS "}", ZY_STATUS_UNSUPPORTED, "'init_lora_weights'");
    bad_config(dir, "{\"peft_type\": \"LORA\", \"r\": 4, \"rank_pattern\": {\"c_fc\": 2}, " BASE
               TARGETS "}", ZY_STATUS_UNSUPPORTED, "'rank_pattern'");
    bad_config(dir, "{\"peft_type\": \"LORA\", \"r\": 4, " BASE "\"target_modules\": \".*c_attn\"}",
               ZY_STATUS_BAD_FORMAT, "'target_modules'");
    bad_config(dir, "{\"peft_type\": \"LORA\", \"r\": 4, " BASE "\"target_modules\": [\"c_attn\", 3]}",
               ZY_STATUS_BAD_FORMAT, "'target_modules'");
    bad_config(dir, "{\"peft_type\": \"LORA\", \"r\": 4, " BASE "\"target_modules\": [\"c_atn\"]}",
               ZY_STATUS_INVALID_ARGUMENT, "'c_atn'");
    bad_config(dir, "{\"peft_type\": \"LORA\", \"r\": 4, \"base_model_name_or_path\": \"nowhere\", "
               TARGETS "}", ZY_STATUS_NOT_FOUND, "'base_model_name_or_path'");
    bad_config(dir, "{\"peft_type\": \"LORA\", \"r\": 4, " TARGETS "}", ZY_STATUS_NOT_FOUND,
               "'base_model_name_or_path'");
    // an adapter of a task head on a base that loads without one
    bad_config(dir, "{\"peft_type\": \"LORA\", \"r\": 4, \"task_type\": \"SEQ_CLS\", " BASE
               TARGETS "}", ZY_STATUS_INVALID_ARGUMENT, "'task_type'");
    // the config implies tensors the file lacks (r 8 for r 4; the biases of bias "all")
    snprintf(path, sizeof path, "%s/adapter_config.json", dir);
    write_file(path, "{\"peft_type\": \"LORA\", \"r\": 8, " BASE TARGETS "}");
    CHECK(zy_model_load(&m, dir) == ZY_STATUS_SHAPE_MISMATCH && strstr(zy_last_error(), "(8, 16)"));
    write_file(path, "{\"peft_type\": \"LORA\", \"r\": 4, \"bias\": \"all\", " BASE TARGETS "}");
    CHECK(zy_model_load(&m, dir) == ZY_STATUS_NOT_FOUND);
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "base_model.model.transformer.h.0.ln_1.bias") &&
          strstr(zy_last_error(), "missing"));
    // the file adapts more modules than the config names
    write_file(path, "{\"peft_type\": \"LORA\", \"r\": 4, " BASE "\"target_modules\": [\"c_attn\"]}");
    CHECK(zy_model_load(&m, dir) == ZY_STATUS_INVALID_ARGUMENT && strstr(zy_last_error(), "c_proj"));
    write_file(path, "{\"peft_type\": \"LORA\", \"r\": 4, " BASE TARGETS "}");
    CHECK(zy_model_load(&m, dir) == ZY_STATUS_OK); // the same files, as they should be
    zy_model_free(m);
    m = NULL;
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    unlink(path);
    CHECK(zy_model_load(&m, dir) == ZY_STATUS_NOT_FOUND && strstr(zy_last_error(), "adapter_model"));
#undef BASE
#undef TARGETS
    CHECK(zt_rm_tree(dir));
}
