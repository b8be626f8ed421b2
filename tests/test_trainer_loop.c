// Tests of the training loop (src/train/trainer*.c) on a tiny GPT: a resumed run is
// bit-identical to an uninterrupted one (dropout and shuffling on), the state file
// refuses other weights or other data, gradient accumulation equals a larger batch,
// evaluation is the mean over the held-out windows, and bad streams are refused.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "zhuyi/trainer.h"

enum { V = 29 };

static zy_gpt *tiny(float dropout) {
    zy_gpt_config c = {.n_layer = 2, .n_head = 2, .n_embd = 16, .n_positions = 16,
                       .vocab_size = V, .layer_norm_epsilon = 1e-5f, .dropout = dropout};
    zy_gpt *m = NULL;
    if (zy_gpt_create(&m, &c)) return NULL;
    zy_gpt_init_weights(m, 5);
    return m;
}

// A stream with some structure (so the loss moves): a noisy repeating pattern.
static int32_t *stream(size_t n, uint64_t seed) {
    int32_t *t = zt_malloc(n * sizeof *t);
    zy_rng r;
    zy_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        t[i] = zy_rng_below(&r, 4) ? (int32_t)(i * 7 % V) : (int32_t)zy_rng_below(&r, V);
    return t;
}

static zy_trainer_params params(void) {
    zy_trainer_params p = zy_trainer_default_params();
    p.batch = 3;
    p.seq = 8;
    p.grad_accum = 2;
    p.steps = 8;
    p.warmup = 2;
    p.lr = 3e-3f;
    p.min_lr = 3e-4f;
    p.dropout = 0.1f;
    p.seed = 77;
    return p;
}

TEST(trainer_resume_bit_exact) {
    size_t n = 500;
    int32_t *tok = stream(n, 1);
    zy_trainer_params p = params();
    char dir[] = "/tmp/zy_trainer_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/%s", dir, ZY_TRAINING_STATE_FILE);

    // A: 8 steps in one go.
    zy_gpt *ma = tiny(p.dropout);
    ASSERT(ma != NULL);
    zy_trainer *a;
    ASSERT(zy_trainer_create(&a, ma, tok, 450, tok + 450, 50, &p) == ZY_STATUS_OK);
    float first = 0, last = 0;
    for (int s = 0; s < 8; s++) {
        zy_step_info info;
        ASSERT(zy_trainer_step(a, &info) == ZY_STATUS_OK);
        ASSERT_EQ_INT(info.step, s + 1);
        if (s == 0) first = info.loss;
        last = info.loss;
    }
    zt_note("loss %.4f -> %.4f over 8 steps", (double)first, (double)last);
    CHECK(last < first);

    // B: 4 steps, save (state + a copy of the weights), then a fresh model and trainer
    // continue from the file for 4 more.
    zy_gpt *mb = tiny(p.dropout);
    zy_trainer *b;
    ASSERT(zy_trainer_create(&b, mb, tok, 450, tok + 450, 50, &p) == ZY_STATUS_OK);
    for (int s = 0; s < 4; s++) ASSERT(zy_trainer_step(b, NULL) == ZY_STATUS_OK);
    zy_safetensors_kv extra[] = {{"data_files", "[\"x.txt\"]"}};
    ASSERT(zy_trainer_save_state(b, path, extra, 1) == ZY_STATUS_OK);
    size_t np;
    float *pb = zy_gpt_params(mb, &np);

    zy_gpt *mc = tiny(p.dropout);
    float *pc = zy_gpt_params(mc, &np);
    memcpy(pc, pb, np * sizeof *pc);
    zy_trainer_params q;
    long step = -1;
    ASSERT(zy_trainer_read_params(path, &q, &step) == ZY_STATUS_OK);
    ASSERT_EQ_INT(step, 4);
    CHECK(q.batch == p.batch && q.seq == p.seq && q.grad_accum == p.grad_accum &&
          q.steps == p.steps && q.lr == p.lr && q.min_lr == p.min_lr &&
          q.warmup == p.warmup && q.weight_decay == p.weight_decay && q.beta2 == p.beta2 &&
          q.grad_clip == p.grad_clip && q.dropout == p.dropout && q.seed == p.seed &&
          q.shuffle == p.shuffle && q.schedule == p.schedule);
    char buf[64];
    ASSERT(zy_trainer_state_get(path, "data_files", buf, sizeof buf) == ZY_STATUS_OK);
    CHECK(!strcmp(buf, "[\"x.txt\"]"));
    zy_trainer *c;
    ASSERT(zy_trainer_create(&c, mc, tok, 450, tok + 450, 50, &q) == ZY_STATUS_OK);
    ASSERT(zy_trainer_load_state(c, path) == ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_trainer_step_count(c), 4);
    for (int s = 0; s < 4; s++) ASSERT(zy_trainer_step(c, NULL) == ZY_STATUS_OK);
    float *pa = zy_gpt_params(ma, &np);
    size_t diff = 0;
    for (size_t i = 0; i < np; i++) diff += memcmp(&pa[i], &pc[i], sizeof *pa) != 0;
    zt_note("%zu of %zu parameters differ after 4 + resume 4 vs 8 steps", diff, np);
    CHECK(diff == 0);

    // The state refuses weights from another step, and another token stream.
    zy_gpt *md = tiny(p.dropout);
    zy_trainer *d;
    ASSERT(zy_trainer_create(&d, md, tok, 450, tok + 450, 50, &q) == ZY_STATUS_OK);
    CHECK(zy_trainer_load_state(d, path) == ZY_STATUS_BAD_FORMAT);
    CHECK(strstr(zy_last_error(), "weights") != NULL);
    zy_trainer_free(d);
    memcpy(zy_gpt_params(md, &np), pb, np * sizeof(float));
    int32_t *other = stream(n, 2);
    ASSERT(zy_trainer_create(&d, md, other, 450, other + 450, 50, &q) == ZY_STATUS_OK);
    CHECK(zy_trainer_load_state(d, path) == ZY_STATUS_BAD_FORMAT);
    CHECK(strstr(zy_last_error(), "data") != NULL);
    zt_note("other data: %s", zy_last_error());
    zy_trainer_free(d);
    free(other);

    zy_trainer_free(a);
    zy_trainer_free(b);
    zy_trainer_free(c);
    zy_gpt_free(ma);
    zy_gpt_free(mb);
    zy_gpt_free(mc);
    zy_gpt_free(md);
    unlink(path);
    rmdir(dir);
    free(tok);
}

TEST(trainer_grad_accum_equals_big_batch) {
    // --no-shuffle reads the same rows for (B=4, accum 1) and (B=2, accum 2): the same
    // first-step loss and gradient norm up to float rounding (tol 1e-5 relative).
    size_t n = 300;
    int32_t *tok = stream(n, 3);
    zy_trainer_params p = params();
    p.dropout = 0;
    p.shuffle = false;
    float loss[2], norm[2], loss3[2];
    for (int k = 0; k < 2; k++) {
        p.batch = k ? 2 : 4;
        p.grad_accum = k ? 2 : 1;
        zy_gpt *m = tiny(0);
        zy_trainer *t;
        ASSERT(zy_trainer_create(&t, m, tok, n, NULL, 0, &p) == ZY_STATUS_OK);
        zy_step_info info;
        for (int s = 0; s < 3; s++) {
            ASSERT(zy_trainer_step(t, &info) == ZY_STATUS_OK);
            if (s == 0) {
                loss[k] = info.loss;
                norm[k] = info.grad_norm;
            }
        }
        loss3[k] = info.loss;
        zy_trainer_free(t);
        zy_gpt_free(m);
    }
    zt_note("step 1: loss %.7f vs %.7f, grad norm %.7f vs %.7f", (double)loss[0],
            (double)loss[1], (double)norm[0], (double)norm[1]);
    CHECK_CLOSE("step 1 loss", &loss[1], &loss[0], 1, 0, 1e-5);
    CHECK_CLOSE("step 1 grad norm", &norm[1], &norm[0], 1, 0, 1e-5);
    // Later steps go through Adam, which turns rounding-level gradient differences into
    // lr-sized updates for near-zero gradients: a looser 1e-4.
    CHECK_CLOSE("step 3 loss", &loss3[1], &loss3[0], 1, 0, 1e-4);
    free(tok);
}

TEST(trainer_evaluate_windows) {
    // val = 5 full windows of T=8 (41 tokens + 3 spare); eval_batches 0 = all, B = 3 so
    // the last batch has 2 rows. Compared with forward over each window alone.
    size_t nv = 44;
    int32_t *tok = stream(300 + nv, 4);
    zy_trainer_params p = params();
    p.eval_batches = 0;
    zy_gpt *m = tiny(0.1f);
    zy_trainer *t;
    ASSERT(zy_trainer_create(&t, m, tok, 300, tok + 300, nv, &p) == ZY_STATUS_OK);
    ASSERT(zy_trainer_step(t, NULL) == ZY_STATUS_OK);
    float got, want = 0;
    ASSERT(zy_trainer_evaluate(t, &got) == ZY_STATUS_OK);
    zy_gpt_set_dropout(m, false, 0);
    for (int w = 0; w < 5; w++) {
        int x[8], y[8];
        for (int i = 0; i < 8; i++) {
            x[i] = tok[300 + w * 8 + i];
            y[i] = tok[300 + w * 8 + i + 1];
        }
        float l;
        ASSERT(zy_gpt_forward(m, x, y, 1, 8, &l) == ZY_STATUS_OK);
        want += l / 5;
    }
    CHECK_CLOSE("val loss", &got, &want, 1, 1e-6, 1e-5);
    // eval_batches 1 reads only the first B = 3 windows.
    zy_trainer_free(t);
    p.eval_batches = 1;
    ASSERT(zy_trainer_create(&t, m, tok, 300, tok + 300, nv, &p) == ZY_STATUS_OK);
    float got1;
    ASSERT(zy_trainer_evaluate(t, &got1) == ZY_STATUS_OK);
    CHECK(got1 != got);
    zy_trainer_free(t);

    // Streams that cannot work are refused with a message.
    CHECK(zy_trainer_create(&t, m, tok, 3 * 8, NULL, 0, &p) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "fewer than one batch") != NULL);
    CHECK(zy_trainer_create(&t, m, tok, 300, tok + 300, 8, &p) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "validation") != NULL);
    tok[17] = V; // an id the model does not have (tokenizer/model mismatch)
    CHECK(zy_trainer_create(&t, m, tok, 300, NULL, 0, &p) == ZY_STATUS_SHAPE_MISMATCH);
    zt_note("bad id: %s", zy_last_error());
    p.seq = 17; // longer than n_positions
    tok[17] = 0;
    CHECK(zy_trainer_create(&t, m, tok, 300, NULL, 0, &p) == ZY_STATUS_INVALID_ARGUMENT);
    zy_gpt_free(m);
    free(tok);
}
