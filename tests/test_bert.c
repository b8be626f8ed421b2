// BERT through the model interface: presets, the tensor table per architecture, config.json
// written and read back, a finite-difference check of every gradient (padding, token
// types, dropout, both attention cores), the named outputs, freezing, and bad input
// (configs, weights, batches) refused with messages that name what is wrong.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bert_util.h"
#include "harness.h"

TEST(bert_presets_and_table) {
    const char *want[] = {"bert-tiny", "bert-mini", "bert-small", "bert-base"};
    const int dims[][3] = {{2, 128, 2}, {4, 256, 4}, {4, 512, 8}, {12, 768, 12}};
    for (int i = 0; i < 4; i++) {
        zy_config *c;
        ASSERT(zy_model_preset(&c, want[i]) == ZY_STATUS_OK);
        zy_model *m;
        ASSERT(zy_model_create(&m, c) == ZY_STATUS_OK);
        zy_config_free(c);
        const zy_model_info *info = zy_model_get_info(m);
        CHECK(!strcmp(info->model_type, "bert") &&
              !strcmp(info->architecture, "BertForPreTraining") && !info->causal_lm);
        CHECK(info->n_layer == dims[i][0] && info->d_model == dims[i][1] &&
              info->n_head == dims[i][2] && info->vocab_size == 30522 &&
              info->max_positions == 512 && info->dropout == 0.1f);
        // BERT-base: 110M in the body (Devlin et al.), 110,106,428 with the pretraining
        // heads as BertForPreTraining counts them (the decoder tied).
        if (i == 3) CHECK(info->n_params == 110106428);
        // 6 FLOPs per parameter and token (the embedding lookups are not products, the
        // tied decoder is) plus attention's scores: within a few percent for BERT-base.
        double flops = zy_model_train_flops(m, 8, 128), approx = 6.0 * info->n_params * 8 * 128;
        CHECK(flops > 0 && (i < 3 || (flops > 0.98 * approx && flops < 1.05 * approx)));
        zy_model_free(m);
    }
    const char *names[64];
    int n = zy_model_preset_names(names, 64), found = 0;
    for (int i = 0; i < n && i < 64; i++)
        for (int j = 0; j < 4; j++) found += !strcmp(names[i], want[j]);
    CHECK(found == 4);
    const char *types[8];
    n = zy_model_types(types, 8);
    found = 0;
    for (int i = 0; i < n && i < 8; i++) found += !strcmp(types[i], "bert");
    CHECK(found == 1);

    // Which heads each architecture has, and the table's layout.
    const struct {
        const char *arch, *first, *last;
        int count;
    } archs[] = {
        {"BertForPreTraining", "bert.embeddings.word_embeddings.weight",
         "cls.seq_relationship.bias", 5 + 16 * 2 + 2 + 5 + 2},
        {"BertForMaskedLM", "bert.embeddings.word_embeddings.weight",
         "cls.predictions.transform.LayerNorm.bias", 5 + 16 * 2 + 5},
        {"BertModel", "embeddings.word_embeddings.weight", "pooler.dense.bias", 5 + 16 * 2 + 2},
        {NULL, "bert.embeddings.word_embeddings.weight", "cls.seq_relationship.bias",
         5 + 16 * 2 + 2 + 5 + 2},
    };
    for (size_t a = 0; a < sizeof archs / sizeof archs[0]; a++) {
        zt_bert_dims d = {archs[a].arch, 2, 2, 8, 12, 8, 3, 13, 0.0f};
        zy_model *m = zt_bert_create(&d, 1);
        ASSERT(m != NULL);
        const zy_tensor_table *tab = zy_model_tensors(m);
        int nt = zy_tensor_table_count(tab);
        CHECK(nt == archs[a].count);
        CHECK(!strcmp(zy_tensor_table_at(tab, 0)->name, archs[a].first));
        CHECK(!strcmp(zy_tensor_table_at(tab, nt - 1)->name, archs[a].last));
        CHECK(!strcmp(zy_model_get_info(m)->architecture,
                      archs[a].arch ? archs[a].arch : "BertForPreTraining"));
        size_t off = 0;
        for (int i = 0; i < nt; i++) {
            const zy_tensor *t = zy_tensor_table_at(tab, i);
            CHECK(t->offset == off && !t->transposed);
            off += t->count;
            // decay on matmul weights only; the pooler and heads optional
            bool matmul = t->ndim == 2 && !strstr(t->name, "embeddings");
            CHECK(t->decay == matmul);
            CHECK(t->optional == (strstr(t->name, "pooler") || !strncmp(t->name, "cls.", 4)));
        }
        // q, k, v weights adjacent: the fused (3C, C) projection
        const zy_tensor *q = zy_tensor_table_at(tab, 5), *v = zy_tensor_table_at(tab, 7);
        CHECK(strstr(q->name, "layer.0.attention.self.query.weight") &&
              strstr(v->name, "layer.0.attention.self.value.weight") &&
              v->offset == q->offset + 2 * 64);
        zy_model_free(m);
    }
}

// config.json written as BertForPreTraining writes it, and read back to the same model.
TEST(bert_config_roundtrip) {
    zt_bert_dims d = {"BertForMaskedLM", 2, 2, 8, 12, 8, 3, 13, 0.25f};
    zy_config *c = zt_bert_config(&d);
    ASSERT(c != NULL);
    zy_config_set_string(c, "hidden_act", "gelu_new");
    zy_config_set_float(c, "layer_norm_eps", 1e-7);
    zy_config_set_int(c, "pad_token_id", 5);
    zy_config_set_float(c, "attention_probs_dropout_prob", 0.125);
    zy_model *m;
    ASSERT(zy_model_create(&m, c) == ZY_STATUS_OK);
    zy_config_free(c);
    zy_config *w;
    ASSERT(zy_model_get_config(m, &w) == ZY_STATUS_OK);
    const char *s;
    float f;
    int i;
    CHECK(!zy_config_get_string(w, "model_type", &s) && !strcmp(s, "bert"));
    CHECK(!zy_config_get_string_at(w, "architectures", 0, &s) && !strcmp(s, "BertForMaskedLM"));
    CHECK(!zy_config_get_string(w, "hidden_act", &s) && !strcmp(s, "gelu_new"));
    CHECK(!zy_config_get_string(w, "position_embedding_type", &s) && !strcmp(s, "absolute"));
    CHECK(!zy_config_get_float(w, "layer_norm_eps", 0, 1, &f) && f == 1e-7f);
    CHECK(!zy_config_get_float(w, "hidden_dropout_prob", 0, 1, &f) && f == 0.25f);
    CHECK(!zy_config_get_float(w, "attention_probs_dropout_prob", 0, 1, &f) && f == 0.125f);
    CHECK(!zy_config_get_float(w, "initializer_range", 0, 1, &f) && f == 0.02f);
    CHECK(!zy_config_get_int(w, "pad_token_id", 0, 100, &i) && i == 5);
    CHECK(!zy_config_get_int(w, "type_vocab_size", 0, 100, &i) && i == 3);
    CHECK(!zy_config_get_int(w, "intermediate_size", 0, 100, &i) && i == 12);
    CHECK(zy_config_has(w, "use_cache") && !zy_config_has(w, "classifier_dropout"));
    zy_model *m2;
    ASSERT(zy_model_create(&m2, w) == ZY_STATUS_OK);
    CHECK(zy_model_get_info(m2)->n_params == zy_model_get_info(m)->n_params);
    zy_config_free(w);
    // one dropout value for every site
    ASSERT(zy_model_set_dropout(m2, 0.3f) == ZY_STATUS_OK);
    ASSERT(zy_model_get_config(m2, &w) == ZY_STATUS_OK);
    CHECK(!zy_config_get_float(w, "attention_probs_dropout_prob", 0, 1, &f) && f == 0.3f);
    zy_config_free(w);
    zy_model_free(m2);
    zy_model_free(m);
}

// ---- gradients ------------------------------------------------------------------------------
enum { GB = 3, GT = 6, GV = 13 };

typedef struct fd_ctx {
    zy_session *s;
    zy_batch b;
    uint64_t seed;
} fd_ctx;

// Mean cross-entropy of rows (N, K) in double over targets (-1 ignored).
static double xent(const float *logits, const int *y, int N, int K) {
    double sum = 0;
    int count = 0;
    for (int r = 0; r < N; r++) {
        if (y[r] < 0) continue;
        const float *x = logits + (size_t)r * K;
        double mx = x[0], se = 0;
        for (int v = 1; v < K; v++) mx = fmax(mx, x[v]);
        for (int v = 0; v < K; v++) se += exp(x[v] - mx);
        sum += mx + log(se) - x[y[r]];
        count++;
    }
    return count ? sum / count : 0;
}

// MLM + NSP loss recomputed in double from the float logits (the float loss would add
// ~1e-6 of rounding noise to each central difference).
static double fd_loss(void *p) {
    fd_ctx *c = p;
    zy_session_set_mode(c->s, true, c->seed); // the same masks in every pass
    if (zy_session_forward(c->s, &c->b, NULL, NULL) != ZY_STATUS_OK) return NAN;
    const float *mlm = zy_session_output(c->s, "mlm_logits", NULL, NULL);
    const float *nsp = zy_session_output(c->s, "nsp_logits", NULL, NULL);
    if (!mlm || !nsp) return NAN;
    return xent(mlm, c->b.targets, GB * GT, GV) + xent(nsp, c->b.labels, GB, 2);
}

// Whole-model gradient check of BertForPreTraining, L=2 H=2 C=8 FF=12 V=13 P=8 TV=3,
// B=3 T=6 with lengths 6/4/2 (garbage past them), three segment ids, 7 masked targets
// (one the pad id), an ignored NSP label, dropout 0.1 on every site (masks fixed by the
// seed), on the tiled core and on the plain one (attention weights kept). eps 1e-2 on O(1)
// weights with the loss in double; tol 2e-2 relative, floor 1% of the tensor's largest
// gradient: a dropped term or wrong index gives O(1) errors.
TEST(bert_gradcheck_whole_model) {
    zt_bert_dims d = {"BertForPreTraining", 2, 2, 8, 12, 8, 3, GV, 0.1f};
    zy_model *m = zt_bert_create(&d, 7);
    ASSERT(m != NULL);
    size_t n;
    float *p = zy_model_params(m, &n);
    // Larger weights than the 0.02 init, so every path carries a visible gradient.
    zt_fill_uniform(p, n, 99, -0.5f, 0.5f);
    const zy_tensor_table *tab = zy_model_tensors(m);
    for (int i = 0; i < zy_tensor_table_count(tab); i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        if (strstr(t->name, "LayerNorm.weight"))
            for (size_t k = 0; k < t->count; k++) p[t->offset + k] += 1.0f;
    }
    int ids[GB * GT] = {1, 4, 2, 7, 12, 3, 1, 2, 9, 5, 77, -3, 1, 2, 50, 50, 50, 50};
    int types[GB * GT] = {0, 0, 0, 1, 1, 2, 0, 0, 1, 1, 9, 9, 0, 1, -1, -1, -1, -1};
    int targets[GB * GT] = {-1, 6, 11, -1, -1, 0, -1, 10, -1, 3, -1, -1, -1, 8, -1, -1, -1, -1};
    int labels[GB] = {1, -1, 0}, lengths[GB] = {6, 4, 2};
    for (int attn = 0; attn < 2; attn++) {
        zy_session *s = zt_bert_session(m, GB, GT, true, attn);
        ASSERT(s != NULL);
        fd_ctx ctx = {s, {.B = GB, .T = GT, .input_ids = ids, .token_type_ids = types,
                          .targets = targets, .labels = labels, .lengths = lengths}, 42};
        zy_session_zero_grads(s);
        float l0;
        double count;
        zy_session_set_mode(s, true, ctx.seed);
        ASSERT(zy_session_forward(s, &ctx.b, &l0, &count) == ZY_STATUS_OK);
        CHECK(count == 6);
        ASSERT_NEAR(l0, fd_loss(&ctx), 1e-5); // the double recomputation is the same loss
        zy_session_set_mode(s, true, ctx.seed);
        ASSERT(zy_session_forward(s, &ctx.b, &l0, NULL) == ZY_STATUS_OK);
        ASSERT(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
        // A second backward of the same forward is refused (dlogits replaced the logits).
        CHECK(zy_session_backward(s, 1.0f) == ZY_STATUS_INVALID_ARGUMENT);
        CHECK(zy_session_output(s, "mlm_logits", NULL, NULL) == NULL);
        CHECK(zy_session_output(s, "hidden", NULL, NULL) != NULL);
        const float *g = zy_session_grads(s, NULL);
        float *gcopy = zt_floats(n);
        memcpy(gcopy, g, n * sizeof *g);
        for (int i = 0; i < zy_tensor_table_count(tab); i++) {
            const zy_tensor *t = zy_tensor_table_at(tab, i);
            char what[160];
            snprintf(what, sizeof what, "%s %s", attn ? "plain" : "tiled", t->name);
            if (strstr(t->name, "key.bias")) {
                // Exactly 0: a key bias adds q·b_k to every score of a query, which the
                // softmax cancels. The central difference is float noise there (~1e-6).
                float worst = 0;
                for (size_t k = 0; k < t->count; k++)
                    worst = fmaxf(worst, fabsf(gcopy[t->offset + k]));
                zt_note("%s: |grad| <= %.3g (exactly 0 in exact arithmetic)", what, worst);
                CHECK(worst < 1e-6f);
                continue;
            }
            GRADCHECK(what, fd_loss, &ctx, p + t->offset, gcopy + t->offset, t->count, 1e-2,
                      2e-2);
        }
        free(gcopy);
        zy_session_free(s);
    }
    zy_model_free(m);
}

// The plain core (attention weights kept) and the tiled one give the same forward and
// gradients; the weights are probabilities over each row's real keys, and stay readable
// after backward.
TEST(bert_attention_weights_output) {
    zt_bert_dims d = {"BertForPreTraining", 2, 2, 8, 12, 8, 2, GV, 0.1f};
    zy_model *m = zt_bert_create(&d, 3);
    ASSERT(m != NULL);
    int ids[GB * GT] = {1, 4, 2, 7, 12, 3, 1, 2, 9, 5, 0, 0, 1, 2, 0, 0, 0, 0};
    int targets[GB * GT] = {-1, 6, 11, -1, -1, 0, -1, 10, -1, 3, -1, -1, -1, 8, -1, -1, -1, -1};
    int labels[GB] = {1, 0, 0}, lengths[GB] = {6, 4, 2};
    zy_batch b = {.B = GB, .T = GT, .input_ids = ids, .targets = targets, .labels = labels,
                  .lengths = lengths};
    float *h[2], *g[2];
    size_t n;
    zy_model_params(m, &n);
    for (int attn = 0; attn < 2; attn++) {
        zy_session *s = zt_bert_session(m, GB, GT, true, attn);
        ASSERT(s != NULL);
        zy_session_set_mode(s, true, 5);
        float loss;
        ASSERT(zy_session_forward(s, &b, &loss, NULL) == ZY_STATUS_OK);
        ASSERT(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
        h[attn] = zt_floats((size_t)GB * GT * 8);
        g[attn] = zt_floats(n);
        memcpy(h[attn], zy_session_output(s, "hidden", NULL, NULL), GB * GT * 8 * sizeof(float));
        memcpy(g[attn], zy_session_grads(s, NULL), n * sizeof(float));
        int nd = 0;
        int64_t shape[4];
        const float *a = zy_session_output(s, "attentions.1", &nd, shape);
        if (!attn) {
            CHECK(a == NULL);
        } else {
            ASSERT(a != NULL);
            CHECK(nd == 4 && shape[0] == GB && shape[1] == 2 && shape[2] == GT && shape[3] == GT);
            for (int r = 0; r < GB * 2 * GT; r++) {
                int len = lengths[r / (2 * GT)];
                double sum = 0;
                for (int k = 0; k < GT; k++) {
                    float w = a[(size_t)r * GT + k];
                    if (k >= len) CHECK(w == 0.0f);
                    sum += w;
                }
                CHECK(fabs(sum - 1.0) < 1e-5);
            }
            CHECK(zy_session_output(s, "attentions.2", NULL, NULL) == NULL);
            CHECK(zy_session_output(s, "attentions.x", NULL, NULL) == NULL);
            CHECK(zy_session_output(s, "attentions.", NULL, NULL) == NULL);
        }
        zy_session_free(s);
    }
    CHECK_CLOSE("hidden, plain vs tiled", h[1], h[0], (size_t)GB * GT * 8, 1e-6, 1e-5);
    CHECK_CLOSE("gradients, plain vs tiled", g[1], g[0], n, 1e-6, 1e-4);
    for (int i = 0; i < 2; i++) free(h[i]), free(g[i]);
    zy_model_free(m);
}

// The named outputs and their shapes, per architecture; MLM-only and NSP-only batches.
TEST(bert_outputs_per_architecture) {
    int ids[2 * 4] = {1, 5, 6, 2, 1, 7, 0, 0}, lengths[2] = {4, 2};
    int targets[2 * 4] = {-1, 3, -1, -1, -1, 4, -1, -1}, labels[2] = {0, 1};
    zy_batch b = {.B = 2, .T = 4, .input_ids = ids, .lengths = lengths, .targets = targets,
                  .labels = labels};
    const char *archs[] = {"BertForPreTraining", "BertForMaskedLM", "BertModel"};
    for (int a = 0; a < 3; a++) {
        zt_bert_dims d = {archs[a], 1, 2, 8, 16, 8, 2, 11, 0.0f};
        zy_model *m = zt_bert_create(&d, 2);
        ASSERT(m != NULL);
        zy_session *s = zt_bert_session(m, 2, 4, true, false);
        ASSERT(s != NULL);
        float loss = -1;
        double count = -1;
        CHECK(zy_session_output(s, "hidden", NULL, NULL) == NULL); // nothing run yet
        ASSERT(zy_session_forward(s, &b, &loss, &count) == ZY_STATUS_OK);
        int nd;
        int64_t sh[4];
        CHECK(zy_session_output(s, "hidden", &nd, sh) && nd == 3 && sh[0] == 2 && sh[1] == 4 &&
              sh[2] == 8);
        CHECK(!zy_session_output(s, "pooled", &nd, sh) == (a == 1));
        CHECK(!zy_session_output(s, "nsp_logits", &nd, sh) == (a != 0));
        if (a == 0) CHECK(nd == 2 && sh[0] == 2 && sh[1] == 2);
        CHECK(!zy_session_output(s, "mlm_logits", &nd, sh) == (a == 2));
        if (a < 2) CHECK(nd == 3 && sh[2] == 11);
        CHECK(zy_session_output(s, "logits", NULL, NULL) == NULL);
        CHECK(count == (a < 2 ? 2 : 0) && (a == 2 ? loss == 0 : loss > 0));
        CHECK((zy_session_backward(s, 1.0f) == ZY_STATUS_OK) == (a < 2));
        if (a == 0) { // NSP alone: count = the labels; MLM alone: the targets
            zy_batch nb = b;
            nb.targets = NULL;
            ASSERT(zy_session_forward(s, &nb, &loss, &count) == ZY_STATUS_OK);
            CHECK(count == 2 && loss > 0);
            CHECK(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
            nb = b;
            nb.labels = NULL;
            ASSERT(zy_session_forward(s, &nb, &loss, &count) == ZY_STATUS_OK);
            CHECK(count == 2 && loss > 0);
            nb.targets = NULL; // nothing to score
            ASSERT(zy_session_forward(s, &nb, &loss, &count) == ZY_STATUS_OK);
            CHECK(count == 0 && loss == 0);
            CHECK(zy_session_backward(s, 1.0f) == ZY_STATUS_INVALID_ARGUMENT);
        }
        zy_session_free(s);
        zy_model_free(m);
    }
}

// The named metrics of a forward (zy_session_metrics): per head present and scored, the
// loss and the accuracy (argmax of the logits, checked against the outputs), with counts;
// read before backward overwrites the MLM logits; merged weighted by counts.
TEST(bert_metrics_of_forward) {
    int ids[2 * 4] = {1, 5, 6, 2, 1, 7, 0, 0}, lengths[2] = {4, 2};
    int targets[2 * 4] = {-1, 3, 9, -1, -1, 4, -1, -1}, labels[2] = {0, 1};
    zy_batch b = {.B = 2, .T = 4, .input_ids = ids, .lengths = lengths, .targets = targets,
                  .labels = labels};
    zt_bert_dims d = {"BertForPreTraining", 1, 2, 8, 16, 8, 2, 11, 0.0f};
    zy_model *m = zt_bert_create(&d, 4);
    ASSERT(m != NULL);
    zy_session *s = zt_bert_session(m, 2, 4, true, false);
    ASSERT(s != NULL);
    zy_metric_set ms;
    zy_session_metrics(s, &ms);
    CHECK(ms.n == 0); // no forward yet
    float loss;
    double count;
    ASSERT(zy_session_forward(s, &b, &loss, &count) == ZY_STATUS_OK);
    zy_session_metrics(s, &ms);
    const zy_metric *ml = zy_metric_set_find(&ms, "mlm_loss"),
                    *ma = zy_metric_set_find(&ms, "mlm_accuracy"),
                    *nl = zy_metric_set_find(&ms, "nsp_loss"),
                    *na = zy_metric_set_find(&ms, "nsp_accuracy");
    ASSERT(ms.n == 4 && ml && ma && nl && na);
    CHECK(ml->count == 3 && ma->count == 3 && nl->count == 2 && na->count == 2);
    CHECK(fabs(ml->value + nl->value - loss) < 1e-5);
    // Accuracy from the outputs: argmax of each scored row.
    const float *lg = zy_session_output(s, "mlm_logits", NULL, NULL);
    const float *nsp = zy_session_output(s, "nsp_logits", NULL, NULL);
    ASSERT(lg && nsp);
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        if (targets[i] < 0) continue;
        int best = 0;
        for (int v = 1; v < 11; v++)
            if (lg[i * 11 + v] > lg[i * 11 + best]) best = v;
        ok += best == targets[i];
    }
    int ok_nsp = (nsp[1] > nsp[0]) == labels[0] ? 1 : 0;
    ok_nsp += (nsp[3] > nsp[2]) == labels[1];
    CHECK(fabs(ma->value - ok / 3.0) < 1e-12 && fabs(na->value - ok_nsp / 2.0) < 1e-12);
    // Backward overwrites the logits; the metrics stay those of the forward.
    ASSERT(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
    zy_metric_set after;
    zy_session_metrics(s, &after);
    CHECK(after.n == 4 && after.m[1].value == ma->value);
    // Without labels: the MLM metrics only.
    zy_batch nb = b;
    nb.labels = NULL;
    ASSERT(zy_session_forward(s, &nb, &loss, &count) == ZY_STATUS_OK);
    zy_metric_set mlm_only;
    zy_session_metrics(s, &mlm_only);
    CHECK(mlm_only.n == 2 && zy_metric_set_find(&mlm_only, "mlm_accuracy") &&
          !zy_metric_set_find(&mlm_only, "nsp_loss"));
    // Merging weights by counts: 3 items at a, 1 at b -> (3a + b) / 4; new names append.
    zy_metric_set acc = {0}, one = {1, {{"mlm_loss", 2.0, 3}}}, two = {2, {{"mlm_loss", 6.0, 1},
                                                                          {"x", 1.0, 5}}};
    zy_metric_set_merge(&acc, &one);
    zy_metric_set_merge(&acc, &two);
    CHECK(acc.n == 2 && acc.m[0].value == 3.0 && acc.m[0].count == 4 && acc.m[1].count == 5);
    zy_session_free(s);
    zy_model_free(m);
}

// A loss-only session (the trainer's) runs the MLM head at the scored positions only: the
// same loss, metrics and gradients as the head over every position (dropout on, padding,
// NSP), no "mlm_logits" output; a batch with nothing masked gives no MLM gradient.
TEST(bert_loss_only_mlm_head_at_scored_positions) {
    zt_bert_dims d = {"BertForPreTraining", 2, 2, 16, 32, 8, 2, 37, 0.1f};
    zy_model *m = zt_bert_create(&d, 6);
    ASSERT(m != NULL);
    int ids[3 * 6] = {1, 5, 6, 2, 9, 2, 1, 7, 3, 2, 0, 0, 1, 30, 31, 32, 2, 0};
    int targets[3 * 6] = {-1, 4, -1, -1, 12, -1, -1, -1, 36, -1, -1, -1, -1, 0, -1, 5, -1, -1};
    int lengths[3] = {6, 4, 5}, labels[3] = {0, 1, -1};
    zy_batch b = {.B = 3, .T = 6, .input_ids = ids, .lengths = lengths, .targets = targets,
                  .labels = labels};
    zy_session_params p = zy_session_default_params();
    p.batch = 3, p.seq = 6, p.training = true;
    zy_session *full = NULL, *part = NULL;
    ASSERT(zy_session_create(&full, m, &p) == ZY_STATUS_OK);
    p.loss_only = true;
    ASSERT(zy_session_create(&part, m, &p) == ZY_STATUS_OK);
    float lf, lp;
    double cf, cp;
    zy_metric_set mf, mp;
    zy_session *ss[2] = {full, part};
    for (int i = 0; i < 2; i++) {
        zy_session_zero_grads(ss[i]);
        zy_session_set_mode(ss[i], true, 77);
        ASSERT(zy_session_forward(ss[i], &b, i ? &lp : &lf, i ? &cp : &cf) == ZY_STATUS_OK);
        zy_session_metrics(ss[i], i ? &mp : &mf);
        ASSERT(zy_session_backward(ss[i], 0.5f) == ZY_STATUS_OK);
    }
    CHECK(fabsf(lf - lp) < 1e-5f && cf == 5 && cp == 5);
    CHECK(zy_session_output(part, "mlm_logits", NULL, NULL) == NULL);
    ASSERT(mf.n == 4 && mp.n == 4);
    for (int i = 0; i < 4; i++)
        CHECK(fabs(mf.m[i].value - mp.m[i].value) < 1e-5 && mf.m[i].count == mp.m[i].count);
    size_t n;
    const float *gf = zy_session_grads(full, &n), *gp = zy_session_grads(part, NULL);
    CHECK_CLOSE("gradients", gp, gf, n, 1e-6, 1e-4);
    // Nothing masked: loss 0 from the MLM head, only the NSP head's gradient.
    int none[3 * 6];
    for (int i = 0; i < 18; i++) none[i] = -1;
    b.targets = none;
    zy_session_zero_grads(part);
    zy_session_set_mode(part, true, 78);
    ASSERT(zy_session_forward(part, &b, &lp, &cp) == ZY_STATUS_OK);
    ASSERT(zy_session_backward(part, 1.0f) == ZY_STATUS_OK);
    const zy_tensor_table *tab = zy_model_tensors(m);
    for (int i = 0; i < zy_tensor_table_count(tab); i++)
        if (!strcmp(zy_tensor_table_at(tab, i)->name, "cls.predictions.transform.dense.weight")) {
            const float *g = zy_session_tensor_grad(part, i);
            float worst = 0;
            for (size_t k = 0; g && k < zy_tensor_table_at(tab, i)->count; k++)
                worst = fmaxf(worst, fabsf(g[k]));
            CHECK(g && worst == 0);
        }
    zy_session_free(full);
    zy_session_free(part);
    zy_model_free(m);
}

// Runs forward and backward of a fresh training session of m on b; NULL on failure.
static zy_session *trained(zy_model *m, const zy_batch *b) {
    zy_session_params sp = zy_session_default_params();
    sp.training = true, sp.batch = 2, sp.seq = 4;
    zy_session *s = NULL;
    if (zy_session_create(&s, m, &sp) || zy_session_forward(s, b, NULL, NULL) ||
        zy_session_backward(s, 1.0f)) {
        zt_fail(__FILE__, __LINE__, "session: %s", zy_last_error());
        zy_session_free(s);
        return NULL;
    }
    return s;
}

// q, k and v are one fused projection, and may still be frozen apart (LoRA's lora_only
// biases train query's and value's): the block's fused gradient is staged and the
// trainable parts get exactly what they get when everything trains. A frozen body with
// trainable heads (no backward through the layers) gives the heads the gradients they
// get when everything trains.
TEST(bert_freezing_fused_qkv) {
    zt_bert_dims d = {"BertForPreTraining", 1, 2, 8, 16, 8, 2, 11, 0.0f};
    zy_model *m = zt_bert_create(&d, 2);
    ASSERT(m != NULL);
    const zy_tensor_table *tab = zy_model_tensors(m);
    int ids[8] = {1, 5, 6, 2, 1, 7, 3, 4}, targets[8] = {-1, 3, -1, -1, -1, 4, -1, 9};
    int labels[2] = {0, 1};
    zy_batch b = {.B = 2, .T = 4, .input_ids = ids, .targets = targets, .labels = labels};
    zy_session *full = trained(m, &b);
    ASSERT(full != NULL);
    ASSERT(zy_model_set_trainable(m, 6, false) == ZY_STATUS_OK); // layer 0 key.weight
    ASSERT(zy_model_set_trainable(m, 8, false) == ZY_STATUS_OK); // layer 0 query.bias
    CHECK(!strcmp(zy_tensor_table_at(tab, 6)->name,
                  "bert.encoder.layer.0.attention.self.key.weight"));
    CHECK(!strcmp(zy_tensor_table_at(tab, 8)->name,
                  "bert.encoder.layer.0.attention.self.query.bias"));
    zy_session *part = trained(m, &b);
    for (int i = 0; part && i < zy_tensor_table_count(tab); i++) {
        const float *g = zy_session_tensor_grad(part, i), *f = zy_session_tensor_grad(full, i);
        CHECK((g == NULL) == (i == 6 || i == 8));
        if (g) CHECK(!memcmp(g, f, zy_tensor_table_at(tab, i)->count * sizeof *g));
    }
    zy_session_free(part);
    zy_session_free(full);
    zy_model_set_trainable(m, -1, true);
    zy_session_params sp = zy_session_default_params();
    sp.training = true, sp.batch = 2, sp.seq = 4;
    zy_session *s = NULL;
    for (int i = 0; i < zy_tensor_table_count(tab); i++) // the whole body frozen
        zy_model_set_trainable(m, i, !!strncmp(zy_tensor_table_at(tab, i)->name, "bert.", 5));
    ASSERT(zy_session_create(&s, m, &sp) == ZY_STATUS_OK);
    float loss;
    zy_session_zero_grads(s);
    ASSERT(zy_session_forward(s, &b, &loss, NULL) == ZY_STATUS_OK);
    ASSERT(zy_session_backward(s, 1.0f) == ZY_STATUS_OK);
    size_t n;
    const float *g = zy_session_grads(s, &n);
    CHECK(n == zy_model_trainable_floats(m) && n < zy_model_get_info(m)->n_params);
    double norm = 0;
    for (size_t i = 0; i < n; i++) norm += (double)g[i] * g[i];
    CHECK(norm > 0 && isfinite(norm));
    // the heads' gradients are those of a session where everything trains
    zy_model_set_trainable(m, -1, true);
    zy_session *all = NULL;
    ASSERT(zy_session_create(&all, m, &sp) == ZY_STATUS_OK);
    zy_session_zero_grads(all);
    ASSERT(zy_session_forward(all, &b, &loss, NULL) == ZY_STATUS_OK);
    ASSERT(zy_session_backward(all, 1.0f) == ZY_STATUS_OK);
    for (int i = 0; i < zy_tensor_table_count(tab); i++) {
        const zy_tensor *t = zy_tensor_table_at(tab, i);
        if (strncmp(t->name, "cls.", 4)) continue; // (the pooler is "bert.": frozen)
        CHECK(zy_session_tensor_grad(s, i) && memcmp(zy_session_tensor_grad(s, i), zy_session_tensor_grad(all, i),
                     t->count * sizeof(float)) == 0);
    }
    zy_session_free(all);
    zy_session_free(s);
    zy_model_free(m);
}

// ---- bad input --------------------------------------------------------------------------
static zy_model *from_json(const char *json, zy_status *st) {
    zy_config *c;
    *st = zy_config_parse(&c, json, strlen(json), "test config.json");
    if (*st) return NULL;
    zy_model *m = NULL;
    *st = zy_model_create(&m, c);
    zy_config_free(c);
    return m;
}

#define BODY "\"model_type\":\"bert\",\"vocab_size\":20,\"num_hidden_layers\":1," \
             "\"max_position_embeddings\":8,\"intermediate_size\":16"

TEST(bert_bad_configs) {
    struct {
        const char *json, *want;
        zy_status st; // 0: any error
    } bad[] = {
        {"{" BODY ",\"hidden_size\":30,\"num_attention_heads\":4}",
         "hidden_size = 30 is not a multiple of num_attention_heads = 4",
         ZY_STATUS_INVALID_ARGUMENT},
        {"{" BODY ",\"num_attention_heads\":4}", "hidden_size", ZY_STATUS_NOT_FOUND},
        {"{" BODY ",\"hidden_size\":8,\"num_attention_heads\":2,\"hidden_act\":\"swish\"}",
         "hidden_act \"swish\"", ZY_STATUS_UNSUPPORTED},
        {"{" BODY ",\"hidden_size\":8,\"num_attention_heads\":2,"
         "\"position_embedding_type\":\"relative_key\"}", "position_embedding_type",
         ZY_STATUS_UNSUPPORTED},
        {"{" BODY ",\"hidden_size\":8,\"num_attention_heads\":2,\"pad_token_id\":20}",
         "pad_token_id", ZY_STATUS_BAD_FORMAT},
        {"{" BODY ",\"hidden_size\":8,\"num_attention_heads\":2,\"type_vocab_size\":0}",
         "type_vocab_size", ZY_STATUS_BAD_FORMAT},
        {"{" BODY ",\"hidden_size\":8,\"num_attention_heads\":2,\"is_decoder\":true}",
         "is_decoder", ZY_STATUS_UNSUPPORTED},
        {"{" BODY ",\"hidden_size\":8,\"num_attention_heads\":2,"
         "\"hidden_dropout_prob\":1.5}", "hidden_dropout_prob", ZY_STATUS_BAD_FORMAT},
        {"{" BODY ",\"hidden_size\":8,\"num_attention_heads\":2,"
         "\"architectures\":[\"BertForMultipleChoice\"]}",
         "BertForMultipleChoice", ZY_STATUS_UNSUPPORTED},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zy_status st;
        zy_model *x = from_json(bad[i].json, &st);
        zt_note("bad config %zu: %s", i, zy_last_error());
        CHECK(x == NULL && st != ZY_STATUS_OK && (!bad[i].st || st == bad[i].st) &&
              strstr(zy_last_error(), bad[i].want) != NULL);
        zy_model_free(x);
    }
    zy_status st;
    zy_model *ok = from_json("{" BODY ",\"hidden_size\":8,\"num_attention_heads\":2,"
                             "\"hidden_act\":\"relu\"}", &st);
    CHECK(ok != NULL);
    zy_model_free(ok);
}

// config.json that does not fit the weights: the tensor, the file's shape and the shape
// config.json implies are named.
TEST(bert_config_weights_mismatch) {
    char dir[128], path[256];
    snprintf(dir, sizeof dir, "/tmp/zhuyi_bert_mismatch_%ld", (long)getpid());
    mkdir(dir, 0755);
    zt_bert_dims d = {"BertForPreTraining", 2, 4, 32, 48, 16, 2, 50, 0.0f};
    zy_config *c = zt_bert_config(&d);
    ASSERT(c != NULL);
    snprintf(path, sizeof path, "%s/config.json", dir);
    CHECK(zy_config_save(c, path) == ZY_STATUS_OK);
    zy_config_free(c);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    FILE *in = fopen("tests/ref/bert_tiny/model.safetensors", "rb"), *out = fopen(path, "wb");
    ASSERT(in && out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    fclose(in);
    fclose(out);
    zy_model *m = NULL;
    CHECK(zy_model_load(&m, dir) == ZY_STATUS_SHAPE_MISMATCH && m == NULL);
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "bert.encoder.layer.0.intermediate.dense.weight") &&
          strstr(zy_last_error(), "(64, 32)") && strstr(zy_last_error(), "(48, 32)"));
    remove(path);
    snprintf(path, sizeof path, "%s/config.json", dir);
    remove(path);
    rmdir(dir);
}

// Batches the model refuses, each naming the field and position; nothing is scored.
TEST(bert_bad_batches) {
    zt_bert_dims d = {"BertForPreTraining", 1, 2, 8, 16, 8, 2, 11, 0.0f};
    zy_model *m = zt_bert_create(&d, 2);
    ASSERT(m != NULL);
    zy_session *s = zt_bert_session(m, 2, 4, false, false);
    ASSERT(s != NULL);
    // longer than max_position_embeddings (8)
    CHECK(zy_session_prepare(s, 2, 9, 0) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "max_positions = 8") != NULL);
    zy_session_params sp = zy_session_default_params();
    sp.batch = 1, sp.seq = 9;
    zy_session *s2 = NULL;
    CHECK(zy_session_create(&s2, m, &sp) == ZY_STATUS_INVALID_ARGUMENT && !s2);
    struct {
        int ids[8], types[8], targets[8], labels[2], lengths[2];
        const char *want;
    } bad[] = {
        {{1, 2, 3, 4, 1, 2, 0, 0}, {0, 0, 1, 2, 0, 0, 0, 0}, {-1}, {0, 0}, {4, 2},
         "token type id 2 at (b=0, t=3) is outside [0, 2)"},
        {{1, 2, 3, 4, 1, 2, 0, 0}, {0, 0, 1, -1, 0, 0, 0, 0}, {-1}, {0, 0}, {4, 2},
         "token type id -1 at (b=0, t=3)"},
        {{1, 2, 3, 4, 1, 2, 0, 0}, {0}, {-1, -1, -1, -1, -1, -1, 5, -1}, {0, 0}, {4, 2},
         "target 5 at (b=1, t=2) is past the row's length 2"},
        {{1, 2, 3, 4, 1, 2, 0, 0}, {0}, {-1, 11, -1, -1, -1, -1, -1, -1}, {0, 0}, {4, 2},
         "target 11 at (b=0, t=1) is outside [0, 11)"},
        {{1, 2, 3, 4, 1, 2, 0, 0}, {0}, {-1, -1, -1, -1, -1, -1, -1, -1}, {0, 2}, {4, 2},
         "next-sentence label 2 of row 1"},
        {{1, 2, 3, 11, 1, 2, 0, 0}, {0}, {-1, -1, -1, -1, -1, -1, -1, -1}, {0, 0}, {4, 2},
         "input id 11 at (b=0, t=3)"},
        {{1, 2, 3, 4, 1, 2, 0, 0}, {0}, {-1, -1, -1, -1, -1, -1, -1, -1}, {0, 0}, {4, 5},
         "lengths[1] = 5"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zy_batch b = {.B = 2, .T = 4, .input_ids = bad[i].ids, .token_type_ids = bad[i].types,
                      .targets = bad[i].targets, .labels = bad[i].labels,
                      .lengths = bad[i].lengths};
        if (i < 2) b.targets = NULL;
        float loss = 1;
        zy_status st = zy_session_forward(s, &b, &loss, NULL);
        zt_note("bad batch %zu: %s", i, zy_last_error());
        CHECK(st == ZY_STATUS_INVALID_ARGUMENT && loss == 0 &&
              strstr(zy_last_error(), bad[i].want) != NULL);
        CHECK(zy_session_output(s, "hidden", NULL, NULL) == NULL);
    }
    zy_session_free(s);
    zy_model_free(m);
}
