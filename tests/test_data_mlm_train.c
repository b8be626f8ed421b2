// A tiny BERT trained by the generic trainer on the BERT pretraining source (data.h): the
// held-out masked-LM loss falls, and a run saved and resumed (new model, new source, new
// trainer, the state file loaded) is bit-identical to one that never stopped; the state
// refuses a source with other masking. The source's own rules: test_data_mlm.c.
//
// The corpus is learnable from context: each document repeats one id of its own in
// sentences of random lengths, so a masked id is the one the rest of its segment holds
// (and B continues A exactly when both hold the same id).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bert_util.h"
#include "harness.h"
#include "zhuyi/trainer.h"

enum { PAD = 0, CLS = 1, SEP = 2, MASK = 3, FIRST = 4, V = 24, T = 24 };

static void counting_corpus(zy_corpus *c, uint64_t seed, int docs) {
    zy_corpus_init(c);
    zy_rng r;
    zy_rng_seed(&r, seed);
    int32_t buf[16];
    for (int d = 0; d < docs; d++) {
        int ns = 3 + (int)zy_rng_below(&r, 5);
        for (int s = 0; s < ns; s++) {
            int len = 3 + (int)zy_rng_below(&r, 8);
            for (int j = 0; j < len; j++) buf[j] = FIRST + (int)(zy_hash64(seed, (uint64_t)d) % (V - FIRST));
            if (zy_corpus_add_sentence(c, buf, (size_t)len))
                zt_fail(__FILE__, __LINE__, "corpus: %s", zy_last_error());
        }
        zy_corpus_end_document(c);
    }
}

static zy_mlm_source_params source_params(int B, uint64_t seed, bool eval) {
    zy_mlm_source_params p = zy_mlm_source_default_params();
    p.batch = B, p.seq = T, p.seed = seed, p.vocab_size = V;
    p.cls_id = CLS, p.sep_id = SEP, p.mask_id = MASK, p.pad_id = PAD;
    p.shuffle = !eval, p.one_pass = eval, p.omit_labels = eval;
    return p;
}

static zy_model *tiny_bert(float dropout) {
    zt_bert_dims d = {"BertForPreTraining", 2, 2, 32, 64, T, 2, V, dropout};
    return zt_bert_create(&d, 21);
}

static zy_trainer_params train_params(long steps) {
    zy_trainer_params p = zy_trainer_default_params();
    p.batch = 8, p.seq = T, p.steps = steps, p.warmup = 5, p.lr = 3e-3f, p.min_lr = 3e-4f;
    p.weight_decay = 0.01f, p.eval_batches = 0, p.seed = 3, p.shuffle = true;
    p.dropout = 0.1f;
    return p;
}

// 300 steps of batch 8: the held-out masked-LM loss (one pass, fixed masks, no labels)
// falls from about ln(24) to well under half, and the training loss (MLM + NSP) falls.
TEST(mlm_train_lowers_loss) {
    zy_corpus train_c, val_c;
    counting_corpus(&train_c, 1, 120);
    counting_corpus(&val_c, 2, 20);
    zy_trainer_params p = train_params(300);
    zy_mlm_source_params tp = source_params(p.batch, 5, false);
    zy_mlm_source_params vp = source_params(p.batch, 6, true);
    zy_data_source *train = NULL, *val = NULL;
    ASSERT(zy_mlm_source_create(&train, &train_c, &tp) == ZY_STATUS_OK);
    ASSERT(zy_mlm_source_create(&val, &val_c, &vp) == ZY_STATUS_OK);
    zy_model *m = tiny_bert(p.dropout);
    ASSERT(m != NULL);
    zy_trainer *t = NULL;
    if (zy_trainer_create(&t, m, train, val, &p) != ZY_STATUS_OK) {
        zt_fail(__FILE__, __LINE__, "trainer: %s", zy_last_error());
    } else {
        float before, after, first = 0, last = 0;
        zy_metric_set m0, m1;
        ASSERT(zy_trainer_evaluate_metrics(t, &before, &m0) == ZY_STATUS_OK);
        bool parts = true; // each step's loss is its MLM + NSP metrics
        for (long s = 0; s < p.steps; s++) {
            zy_step_info info;
            ASSERT(zy_trainer_step(t, &info) == ZY_STATUS_OK);
            if (s < 10) first += info.loss / 10;
            if (s >= p.steps - 10) last += info.loss / 10;
            const zy_metric *ml = zy_metric_set_find(&info.metrics, "mlm_loss"),
                            *nl = zy_metric_set_find(&info.metrics, "nsp_loss");
            parts = parts && ml && nl && ml->count > 0 && nl->count == p.batch &&
                    fabs(ml->value + nl->value - info.loss) < 1e-4;
        }
        ASSERT(zy_trainer_evaluate_metrics(t, &after, &m1) == ZY_STATUS_OK);
        const zy_metric *a0 = zy_metric_set_find(&m0, "mlm_accuracy"),
                        *a1 = zy_metric_set_find(&m1, "mlm_accuracy"),
                        *l1 = zy_metric_set_find(&m1, "mlm_loss");
        ASSERT(a0 && a1 && l1);
        zt_note("%llu training examples; held-out MLM loss %.3f -> %.3f, accuracy %.3f -> "
                "%.3f over %.0f masked tokens; training loss (MLM + NSP) %.3f -> %.3f",
                (unsigned long long)zy_data_source_get_info(train)->n_items, before, after,
                a0->value, a1->value, a1->count, first, last);
        CHECK(before > 2.8f && after < 0.5f * before && last < first - 1.0f);
        // Without labels the loss is the MLM loss: the metric says the same.
        CHECK(parts && fabs(l1->value - after) < 1e-4 && a1->value > a0->value + 0.3);
        CHECK(!zy_metric_set_find(&m1, "nsp_loss"));
        zy_trainer_free(t);
    }
    zy_data_source_free(train);
    zy_data_source_free(val);
    zy_model_free(m);
    zy_corpus_destroy(&train_c);
    zy_corpus_destroy(&val_c);
}

// Model, source and trainer made afresh.
typedef struct run {
    zy_model *m;
    zy_data_source *src;
    zy_trainer *t;
} run;

static int run_start(run *r, const zy_corpus *c, const zy_mlm_source_params *sp,
                     const zy_trainer_params *p) {
    *r = (run){.m = tiny_bert(p->dropout)};
    zy_status st = r->m ? zy_mlm_source_create(&r->src, c, sp) : ZY_STATUS_INVALID_ARGUMENT;
    if (!st) st = zy_trainer_create(&r->t, r->m, r->src, NULL, p);
    if (st) zt_fail(__FILE__, __LINE__, "run: %s", zy_last_error());
    return !st;
}

static void run_stop(run *r) {
    zy_trainer_free(r->t);
    zy_data_source_free(r->src);
    zy_model_free(r->m);
}

static zy_model *tiny_bert_mlm(void) {
    zt_bert_dims d = {"BertForMaskedLM", 2, 2, 32, 64, T, 2, V, 0.0f};
    return zt_bert_create(&d, 21);
}

// A single-process gradient hook: the sum over one process is the array itself.
static zy_status sum_hook(float *grads, size_t n, double *sums, int n_sums, void *user) {
    (void)grads, (void)n, (void)sums, (void)n_sums;
    ++*(int *)user;
    return ZY_STATUS_OK;
}

// The masked-token count differs from batch to batch, so a step of two micro-batches
// weights each by its count: (batch 4) = (batch 2, grad_accum 2) = the same with a
// gradient hook (which sees summed gradients, divided after it), for losses and gradient
// norms of 4 steps (no shuffling or dropout, MLM only; float rounding, tol 1e-5
// relative). The mean of the two micro-batches' means would differ by far more.
TEST(mlm_train_grad_accum_weights_by_masked_tokens) {
    zy_corpus c;
    counting_corpus(&c, 5, 20);
    float loss[3][4], norm[3][4];
    double c0 = 0, c1 = 0;
    int calls = 0;
    for (int k = 0; k < 3; k++) {
        zy_trainer_params p = train_params(4);
        p.shuffle = false, p.dropout = 0;
        p.batch = k ? 2 : 4, p.grad_accum = k ? 2 : 1;
        zy_mlm_source_params sp = source_params(p.batch, 7, false);
        sp.shuffle = false, sp.nsp = false;
        zy_data_source *src = NULL;
        zy_trainer *t = NULL;
        zy_model *m = tiny_bert_mlm();
        ASSERT(m != NULL);
        ASSERT(zy_mlm_source_create(&src, &c, &sp) == ZY_STATUS_OK);
        ASSERT(zy_trainer_create(&t, m, src, NULL, &p) == ZY_STATUS_OK);
        if (k == 2) zy_trainer_set_grad_hook(t, sum_hook, &calls);
        if (k == 1) { // the two micro-batches of step 1: their masked-token counts
            zy_batch b;
            zy_session *s = zy_trainer_session(t);
            float l;
            ASSERT(zy_batch_init(&b, &zy_data_source_get_info(src)->dims) == ZY_STATUS_OK);
            CHECK(zy_data_source_next(src, &b) == ZY_STATUS_OK &&
                  zy_session_forward(s, &b, &l, &c0) == ZY_STATUS_OK);
            CHECK(zy_data_source_next(src, &b) == ZY_STATUS_OK &&
                  zy_session_forward(s, &b, &l, &c1) == ZY_STATUS_OK);
            zy_batch_destroy(&b);
            CHECK(zy_data_source_seek(src, (zy_data_pos){0, 0}) == ZY_STATUS_OK);
        }
        for (int s = 0; s < 4; s++) {
            zy_step_info info;
            ASSERT(zy_trainer_step(t, &info) == ZY_STATUS_OK);
            loss[k][s] = info.loss, norm[k][s] = info.grad_norm;
        }
        zy_trainer_free(t);
        zy_data_source_free(src);
        zy_model_free(m);
    }
    zt_note("step 1: masked tokens %.0f + %.0f; loss %.7f / %.7f / %.7f (hook), grad norm "
            "%.7f / %.7f / %.7f", c0, c1, (double)loss[0][0], (double)loss[1][0],
            (double)loss[2][0], (double)norm[0][0], (double)norm[1][0], (double)norm[2][0]);
    CHECK(c0 != c1 && calls == 4);
    for (int k = 1; k < 3; k++) {
        CHECK_CLOSE("losses", loss[k], loss[0], 4, 0, 1e-5);
        CHECK_CLOSE("grad norms", norm[k], norm[0], 4, 0, 1e-5);
    }
    zy_corpus_destroy(&c);
}

// 12 steps in one go vs 5 steps, a state file, then a new model (the saved weights), a new
// source and a new trainer loading the state for 7 more (grad_accum 2, dropout and
// shuffling on; the corpus gives 5 batches an epoch, so both halves cross epoch ends):
// the same weights, bit for bit, and the same data position.
TEST(mlm_train_resume_bit_exact) {
    zy_corpus c;
    counting_corpus(&c, 3, 20);
    zy_trainer_params p = train_params(12);
    p.grad_accum = 2;
    zy_mlm_source_params sp = source_params(p.batch, 7, false);
    char dir[] = "/tmp/zy_mlm_train_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    char path[96];
    snprintf(path, sizeof path, "%s/%s", dir, ZY_TRAINING_STATE_FILE);

    run a, b, r;
    ASSERT(run_start(&a, &c, &sp, &p));
    for (int s = 0; s < 12; s++) ASSERT(zy_trainer_step(a.t, NULL) == ZY_STATUS_OK);
    ASSERT(run_start(&b, &c, &sp, &p));
    for (int s = 0; s < 5; s++) ASSERT(zy_trainer_step(b.t, NULL) == ZY_STATUS_OK);
    ASSERT(zy_trainer_save_state(b.t, path, NULL, 0) == ZY_STATUS_OK);
    ASSERT(run_start(&r, &c, &sp, &p));
    size_t np;
    float *pb = zy_model_params(b.m, &np);
    memcpy(zy_model_params(r.m, NULL), pb, np * sizeof(float));
    ASSERT(zy_trainer_load_state(r.t, path) == ZY_STATUS_OK);
    for (int s = 0; s < 7; s++) ASSERT(zy_trainer_step(r.t, NULL) == ZY_STATUS_OK);
    const float *pa = zy_model_params(a.m, NULL), *pr = zy_model_params(r.m, NULL);
    size_t diff = 0;
    for (size_t i = 0; i < np; i++) diff += memcmp(&pa[i], &pr[i], sizeof *pa) != 0;
    zy_data_pos qa, qr;
    zy_data_source_tell(a.src, &qa);
    zy_data_source_tell(r.src, &qr);
    zt_note("%llu examples; %zu of %zu parameters differ after 5 + resume 7 vs 12 steps; "
            "data position (%llu, %llu) vs (%llu, %llu)",
            (unsigned long long)zy_data_source_get_info(a.src)->n_items, diff, np,
            (unsigned long long)qa.epoch, (unsigned long long)qa.pos,
            (unsigned long long)qr.epoch, (unsigned long long)qr.pos);
    CHECK(diff == 0 && qa.epoch == qr.epoch && qa.pos == qr.pos && qa.epoch >= 1);

    // Another masking rule is other data: the state refuses it.
    run d;
    zy_mlm_source_params other = sp;
    other.mask_prob = 0.2f;
    ASSERT(run_start(&d, &c, &other, &p));
    memcpy(zy_model_params(d.m, NULL), pb, np * sizeof(float));
    CHECK(zy_trainer_load_state(d.t, path) == ZY_STATUS_BAD_FORMAT);
    CHECK(strstr(zy_last_error(), "data") != NULL);
    run_stop(&d);

    run_stop(&a);
    run_stop(&b);
    run_stop(&r);
    unlink(path);
    rmdir(dir);
    zy_corpus_destroy(&c);
}
