// GPT against PyTorch (tests/ref_gpt.py -> tests/ref/gpt.zyr and the model directories
// tests/ref/gpt_small, gpt_small_bf16, gpt_tiny): logits, loss, every gradient and one
// AdamW step of a model loaded from a Hugging Face directory; BF16 and F16 files; the real
// 50257-token GPT-2 vocabulary with the GPT-2 tokenizer beside it.
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpt_util.h"
#include "harness.h"
#include "ref_model.h"
#include "zhuyi/model.h"
#include "zhuyi/optim.h"
#include "zhuyi/tokenizer.h"

#define REF_PATH "tests/ref/gpt.zyr"

// L=2 H=4 C=48 T=32 V=96, B=2, two ignored targets, dropout off. Tolerances: logits
// 2e-5 abs + 1e-4 rel and loss 1e-5 (float vs the float64 reference through two blocks);
// gradients 2e-6 abs + 2e-3 rel (sums over 64 rows and a 96-wide softmax in float; the
// largest are ~0.1, so a wrong term is orders above this); AdamW params 2e-6 abs (the
// first step moves each weight by ~lr = 1e-3, so a wrong sign, decay or bias correction
// shows at 1e-4 or more; a gradient within float noise of 0 could flip its step, none do).
TEST(gpt_ref_small_matches_torch) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_model *m;
    if (zy_model_load(&m, "tests/ref/gpt_small") != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "load: %s", zy_last_error());
        zt_ref_free(r);
        return;
    }
    const zy_model_info *c = zy_model_get_info(m);
    CHECK(c->n_layer == 2 && c->n_head == 4 && c->d_model == 48 && c->max_positions == 32 &&
          c->vocab_size == 96 && c->dropout == 0.0f);
    int B = 2, T = 32, V = 96;
    int *x = (int *)zt_ref_i(r, "small.x", NULL), *y = (int *)zt_ref_i(r, "small.y", NULL);
    ASSERT(x && y);
    zy_session *s = zt_session(m, B, T, true);
    ASSERT(s != NULL);
    zy_session_set_mode(s, true, 9); // training mode, but p = 0 from config.json
    zy_batch b = zt_batch(x, y, B, T);
    float loss;
    ASSERT(zy_session_forward(s, &b, &loss, NULL) == ZY_STATUS_OK);
    CHECK_CLOSE("logits", zt_logits(s), zt_ref_f(r, "small.logits", NULL), (size_t)B * T * V,
                2e-5, 1e-4);
    float want_loss = zt_ref_scalar(r, "small.loss");
    zt_note("loss %.7f, torch %.7f", loss, want_loss);
    CHECK(fabsf(loss - want_loss) <= 1e-5f);

    zy_session_zero_grads(s);
    ASSERT(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
    size_t n;
    float *p = zy_model_params(m, &n), *g = zy_session_grads(s, NULL);
    zt_ref_check_tensors(r, m, g, "small.grad.", NULL, 2e-6, 2e-3);

    // One AdamW step, decay 0.1 on the tensors the table marks.
    const zy_tensor_table *tab = zy_model_tensors(m);
    zy_param_group groups[64];
    int ng = zy_tensor_table_count(tab);
    ASSERT(ng <= 64);
    for (int i = 0; i < ng; i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        groups[i] = (zy_param_group){t->offset, t->count, t->decay ? 0.1f : 0.0f};
    }
    float *mom = zt_floats(n), *var = zt_floats(n);
    zy_adamw_params ap = zy_adamw_default_params();
    zy_adamw_step(&ap, 1e-3f, 1, p, g, mom, var, n, groups, ng);
    zt_ref_check_tensors(r, m, p, "small.adamw.", "small.grad.", 2e-6, 0);
    free(mom);
    free(var);
    zy_session_free(s);
    zy_model_free(m);
    zt_ref_free(r);
}

// The same weights in BF16 under GPT2Model names (no "transformer." prefix), with the old
// attn.bias / attn.masked_bias buffers (ignored) and a tied lm_head.weight: loads
// converted, and gives the logits torch computes from the BF16-rounded weights.
TEST(gpt_ref_bf16_dir_loads) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_model *m;
    if (zy_model_load(&m, "tests/ref/gpt_small_bf16") != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "load: %s", zy_last_error());
        zt_ref_free(r);
        return;
    }
    int B = 2, T = 32, V = 96;
    int *x = (int *)zt_ref_i(r, "small.x", NULL);
    ASSERT(x);
    zy_session *s = zt_session(m, B, T, false);
    ASSERT(s != NULL);
    zy_batch b = zt_batch(x, NULL, B, T);
    ASSERT(zy_session_forward(s, &b, NULL, NULL) == ZY_STATUS_OK);
    CHECK_CLOSE("bf16 logits", zt_logits(s), zt_ref_f(r, "small_bf16.logits", NULL),
                (size_t)B * T * V, 2e-5, 1e-4);
    zy_session_free(s);
    zy_model_free(m);
    zt_ref_free(r);
}

// The real GPT-2 vocabulary (V = 50257) in F16: log-sum-exp of every row (all 50257
// logits) and the last 2000 logits of each row against torch; and the GPT-2 tokenizer
// from build/data/gpt2 has exactly the model's vocabulary size.
TEST(gpt_ref_tiny_real_vocab_f16) {
    zt_ref *r = zt_ref_load(REF_PATH);
    ASSERT(r != NULL);
    zy_model *m;
    if (zy_model_load(&m, "tests/ref/gpt_tiny") != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "load: %s", zy_last_error());
        zt_ref_free(r);
        return;
    }
    int T = 8, V = 50257, K = 2000;
    ASSERT(zy_model_get_info(m)->vocab_size == V);
    int *x = (int *)zt_ref_i(r, "tiny.x", NULL);
    ASSERT(x);
    zy_session *ses = zt_session(m, 1, T, false);
    ASSERT(ses != NULL);
    zy_batch b = zt_batch(x, NULL, 1, T);
    ASSERT(zy_session_forward(ses, &b, NULL, NULL) == ZY_STATUS_OK);
    const float *lg = zt_logits(ses);
    float lse[8], *tail = zt_floats((size_t)T * K);
    for (int t = 0; t < T; t++) {
        const float *row = lg + (size_t)t * V;
        double mx = -INFINITY, s = 0;
        for (int v = 0; v < V; v++) mx = fmax(mx, row[v]);
        for (int v = 0; v < V; v++) s += exp(row[v] - mx);
        lse[t] = (float)(mx + log(s));
        memcpy(tail + (size_t)t * K, row + V - K, K * sizeof *tail);
    }
    CHECK_CLOSE("tiny lse (all 50257 logits)", lse, zt_ref_f(r, "tiny.lse", NULL), T, 2e-5, 1e-5);
    CHECK_CLOSE("tiny logits[-2000:]", tail, zt_ref_f(r, "tiny.logits_last_2000", NULL),
                (size_t)T * K, 2e-5, 1e-4);
    free(tail);

    zy_tokenizer *tok;
    if (zy_tokenizer_load_gpt2(&tok, "build/data/gpt2/encoder.json",
                               "build/data/gpt2/vocab.bpe") != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "GPT-2 tokenizer files missing from build/data/gpt2/ "
                "(run: scripts/data.sh gpt2-tokenizer): %s", zy_last_error());
    } else {
        // A complete model directory: the reference's config.json and weights with the
        // GPT-2 tokenizer.json saved beside them; all three load and the sizes agree.
        char dir[128], path[256];
        snprintf(dir, sizeof dir, "/tmp/zhuyi_gpt_tiny_%ld", (long)getpid());
        mkdir(dir, 0755);
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
        CHECK(zy_tokenizer_vocab_size(tok) == V);
        CHECK(zy_tokenizer_save(tok, path) == ZY_STATUS_OK);
        zy_tokenizer_free(tok);
        const char *files[] = {"config.json", "model.safetensors"};
        for (int i = 0; i < 2; i++) {
            char src[128];
            snprintf(src, sizeof src, "tests/ref/gpt_tiny/%s", files[i]);
            snprintf(path, sizeof path, "%s/%s", dir, files[i]);
            CHECK(zt_copy_file(src, path));
        }
        zy_model *m2 = NULL;
        snprintf(path, sizeof path, "%s/tokenizer.json", dir);
        if (zy_model_load(&m2, dir) != ZY_STATUS_OK || zy_tokenizer_load(&tok, path) != ZY_STATUS_OK) {
            zt_fail(__FILE__, __LINE__, "model directory: %s", zy_last_error());
        } else {
            CHECK(zy_tokenizer_vocab_size(tok) == zy_model_get_info(m2)->vocab_size);
            int32_t ids[16];
            size_t nids = 0;
            CHECK(zy_tokenizer_encode(tok, "Hello world", 11, 0, ids, 16, &nids) == ZY_STATUS_OK);
            CHECK(nids == 2 && ids[0] == 15496 && ids[1] == 995); // GPT-2's ids
            zy_tokenizer_free(tok);
        }
        zy_model_free(m2);
        const char *all[] = {"config.json", "model.safetensors", "tokenizer.json"};
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, all[i]);
            remove(path);
        }
        rmdir(dir);
    }
    zy_session_free(ses);
    zy_model_free(m);
    zt_ref_free(r);
}
