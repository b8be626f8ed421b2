// Tests of checkpoints (src/train/checkpoint.c): the directory layout, resuming from
// DIR/checkpoint bit-exactly, an I/O failure injected at every file operation of a save
// (the link always names a complete, resumable checkpoint), non-finite weights refused,
// and runs saved before checkpoint directories still found.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/internal.h"
#include "harness.h"
#include "train_util.h"
#include "zhuyi/trainer.h"

// The step of the checkpoint a fresh model + trainer resume from in dir, after checking
// that they can (model and state load; the state's params_hash matches the weights);
// -1 if they cannot.
static long resume_step(const char *dir, const int32_t *tok, size_t n,
                        zy_model **out_model, zt_run *out_run) {
    char ckpt[512], state[600];
    if (zy_checkpoint_find(dir, ckpt, sizeof ckpt)) return -1;
    snprintf(state, sizeof state, "%s/%s", ckpt, ZY_TRAINING_STATE_FILE);
    zy_trainer_params p;
    long step;
    zy_model *m = NULL;
    zt_run r = {0};
    if (zy_trainer_read_params(state, &p, &step) || zy_model_load(&m, ckpt) ||
        zt_run_start(&r, m, tok, n, NULL, 0, &p) || zy_trainer_load_state(r.t, state) ||
        zy_trainer_step_count(r.t) != step) {
        zt_note("cannot resume from %s: %s", ckpt, zy_last_error());
        zt_run_stop(&r);
        zy_model_free(m);
        return -1;
    }
    if (out_model) {
        *out_model = m;
        *out_run = r;
    } else {
        zt_run_stop(&r);
        zy_model_free(m);
    }
    return step;
}

// A run keeping its best model in DIR (zy_model_save) saves its newest state with
// ZY_CHECKPOINT_KEEP_MODEL_FILES: DIR's files keep the best weights, also once the
// checkpoint they were linked to is gone, and DIR/checkpoint moves on.
TEST(checkpoint_keep_model_files) {
    int32_t *tok = zt_stream(400, 11);
    zy_trainer_params p = zt_train_params();
    char dir[] = "/tmp/zy_ckpt_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    zy_model *m = zt_tiny_gpt(p.dropout);
    zt_run r;
    ASSERT(zt_run_start(&r, m, tok, 400, NULL, 0, &p) == ZY_STATUS_OK);
    for (int s = 0; s < 2; s++) ASSERT(zy_trainer_step(r.t, NULL) == ZY_STATUS_OK);
    ASSERT(zy_trainer_save_checkpoint(r.t, dir, NULL, 0, 0) == ZY_STATUS_OK); // the "best"
    size_t n;
    float *best = malloc(sizeof(float) * (zy_model_params(m, &n), n));
    ASSERT(best != NULL);
    memcpy(best, zy_model_params(m, NULL), sizeof(float) * n);
    ino_t ino = zt_inode(dir, "model.safetensors");
    for (int s = 0; s < 2; s++) ASSERT(zy_trainer_step(r.t, NULL) == ZY_STATUS_OK);
    ASSERT(zy_trainer_save_checkpoint(r.t, dir, NULL, 0, ZY_CHECKPOINT_KEEP_MODEL_FILES) ==
           ZY_STATUS_OK);
    char ckpt[512];
    ASSERT(zy_checkpoint_find(dir, ckpt, sizeof ckpt) == ZY_STATUS_OK);
    CHECK(strstr(ckpt, "/checkpoint-4") != NULL);
    CHECK(!zt_exists(dir, "checkpoint-2"));
    CHECK(zt_inode(dir, "model.safetensors") == ino);
    CHECK(zt_inode(dir, "model.safetensors") != zt_inode(ckpt, "model.safetensors"));
    zy_model *md = NULL;
    ASSERT(zy_model_load(&md, dir) == ZY_STATUS_OK);
    CHECK(memcmp(zy_model_params(md, NULL), best, sizeof(float) * n) == 0);
    CHECK(resume_step(dir, tok, 400, NULL, NULL) == 4);
    zy_model_free(md);
    free(best);
    zt_run_stop(&r);
    zy_model_free(m);
    free(tok);
    CHECK(zt_rm_tree(dir));
}

TEST(checkpoint_layout_and_resume) {
    int32_t *tok = zt_stream(400, 11);
    zy_trainer_params p = zt_train_params();
    char dir[] = "/tmp/zy_ckpt_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    ASSERT(zy_checkpoint_find(dir, (char[64]){0}, 64) == ZY_STATUS_NOT_FOUND);

    // Reference: 8 steps in one go.
    zy_model *ma = zt_tiny_gpt(p.dropout);
    zt_run a;
    ASSERT(zt_run_start(&a, ma, tok, 400, NULL, 0, &p) == ZY_STATUS_OK);
    for (int s = 0; s < 8; s++) ASSERT(zy_trainer_step(a.t, NULL) == ZY_STATUS_OK);

    // 3 steps, save, 2 more, save: only checkpoint-5 is left, DIR's own files are links
    // to it, and DIR is a model directory.
    zy_model *mb = zt_tiny_gpt(p.dropout);
    zt_run b;
    ASSERT(zt_run_start(&b, mb, tok, 400, NULL, 0, &p) == ZY_STATUS_OK);
    for (int s = 0; s < 3; s++) ASSERT(zy_trainer_step(b.t, NULL) == ZY_STATUS_OK);
    ASSERT(zy_trainer_save_checkpoint(b.t, dir, NULL, 0, 0) == ZY_STATUS_OK);
    CHECK(zt_exists(dir, "checkpoint-3/" ZY_TRAINING_STATE_FILE));
    for (int s = 0; s < 2; s++) ASSERT(zy_trainer_step(b.t, NULL) == ZY_STATUS_OK);
    ASSERT(zy_trainer_save_checkpoint(b.t, dir, NULL, 0, 0) == ZY_STATUS_OK);
    // Saving again at the same step (a run stopped right after a save) changes nothing
    // and leaves no temporary link (rename(2) of two links to one file is a no-op).
    ASSERT(zy_trainer_save_checkpoint(b.t, dir, NULL, 0, 0) == ZY_STATUS_OK);
    CHECK(!zt_exists(dir, "model.safetensors.tmp.link") && !zt_exists(dir, "config.json.tmp.link"));
    char ckpt[512];
    ASSERT(zy_checkpoint_find(dir, ckpt, sizeof ckpt) == ZY_STATUS_OK);
    CHECK(strstr(ckpt, "/checkpoint-5") != NULL);
    CHECK(!zt_exists(dir, "checkpoint-3"));
    CHECK(zt_inode(dir, "model.safetensors") == zt_inode(ckpt, "model.safetensors"));
    CHECK(zt_inode(dir, "config.json") == zt_inode(ckpt, "config.json"));
    zy_model *md = NULL;
    ASSERT(zy_model_load(&md, dir) == ZY_STATUS_OK);
    size_t n;
    const float *pd = zy_model_params(md, &n);
    CHECK(!memcmp(pd, zy_model_params(mb, NULL), n * sizeof(float)));
    zy_model_free(md);

    // A fresh model and trainer continue from the checkpoint to the reference's weights.
    zy_model *mc;
    zt_run c;
    ASSERT(resume_step(dir, tok, 400, &mc, &c) == 5);
    for (int s = 0; s < 3; s++) ASSERT(zy_trainer_step(c.t, NULL) == ZY_STATUS_OK);
    const float *pc = zy_model_params(mc, &n);
    CHECK(!memcmp(pc, zy_model_params(ma, NULL), n * sizeof(float)));

    zt_run_stop(&a);
    zt_run_stop(&b);
    zt_run_stop(&c);
    zy_model_free(ma);
    zy_model_free(mb);
    zy_model_free(mc);
    CHECK(zt_rm_tree(dir));
    free(tok);
}

// Every file operation of a save (creating, writing, renaming a file; the directory, the
// link, the hard links) fails in turn, as on a full disk: the save reports an I/O error,
// and DIR/checkpoint still names a complete checkpoint that resumes (the previous one,
// or the new one once the link was switched). Leftovers are cleared by the next save.
TEST(checkpoint_io_fault_at_every_operation) {
    int32_t *tok = zt_stream(400, 12);
    zy_trainer_params p = zt_train_params();
    char dir[] = "/tmp/zy_ckpt_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    zy_model *m = zt_tiny_gpt(p.dropout);
    zt_run r;
    ASSERT(zt_run_start(&r, m, tok, 400, NULL, 0, &p) == ZY_STATUS_OK);
    for (int s = 0; s < 2; s++) ASSERT(zy_trainer_step(r.t, NULL) == ZY_STATUS_OK);
    ASSERT(zy_trainer_save_checkpoint(r.t, dir, NULL, 0, 0) == ZY_STATUS_OK);
    for (int s = 0; s < 2; s++) ASSERT(zy_trainer_step(r.t, NULL) == ZY_STATUS_OK);

    int before = 0, after = 0, ops = 0;
    for (long k = 1; k < 1000; k++) {
        zy__io_fault_set(k);
        zy_status st = zy_trainer_save_checkpoint(r.t, dir, NULL, 0, 0);
        long seen = zy__io_fault_count();
        zy__io_fault_set(0);
        if (st == ZY_STATUS_OK) {
            CHECK(seen < k); // no injected failure went unreported
            ops = (int)seen;
            break;
        }
        CHECK(st == ZY_STATUS_IO);
        if (k == 1) zt_note("first failure: %s", zy_last_error());
        long at = resume_step(dir, tok, 400, NULL, NULL);
        if (at == 2) before++;
        else if (at == 4) after++;
        else {
            zt_note("fault at operation %ld: no resumable checkpoint (%ld)", k, at);
            CHECK(false);
        }
        // Roll back: the next round saves step 4 over the step-2 checkpoint again.
        if (at == 4) {
            zt_run_stop(&r);
            zy_model_free(m);
            m = zt_tiny_gpt(p.dropout);
            ASSERT(zt_run_start(&r, m, tok, 400, NULL, 0, &p) == ZY_STATUS_OK);
            for (int s = 0; s < 2; s++) ASSERT(zy_trainer_step(r.t, NULL) == ZY_STATUS_OK);
            CHECK(zt_rm_tree(dir));
            ASSERT(mkdir(dir, 0700) == 0);
            ASSERT(zy_trainer_save_checkpoint(r.t, dir, NULL, 0, 0) == ZY_STATUS_OK);
            for (int s = 0; s < 2; s++) ASSERT(zy_trainer_step(r.t, NULL) == ZY_STATUS_OK);
        }
    }
    zt_note("a save is %d file operations: a failure at %d of them leaves the previous "
            "checkpoint, at %d the new one", ops, before, after);
    CHECK(ops > 10 && before + after == ops);
    CHECK(resume_step(dir, tok, 400, NULL, NULL) == 4);
    CHECK(!zt_exists(dir, "checkpoint-2"));
    zt_run_stop(&r);
    zy_model_free(m);
    CHECK(zt_rm_tree(dir));
    free(tok);
}

// A model whose weights hold a NaN is not saved; nothing of it appears in DIR.
TEST(checkpoint_refuses_nonfinite_weights) {
    int32_t *tok = zt_stream(300, 13);
    zy_trainer_params p = zt_train_params();
    char dir[] = "/tmp/zy_ckpt_XXXXXX";
    ASSERT(mkdtemp(dir) != NULL);
    zy_model *m = zt_tiny_gpt(p.dropout);
    zt_run r;
    ASSERT(zt_run_start(&r, m, tok, 300, NULL, 0, &p) == ZY_STATUS_OK);
    size_t n;
    float *w = zy_model_params(m, &n);
    w[n - 1] = NAN;
    CHECK(zy_trainer_save_checkpoint(r.t, dir, NULL, 0, 0) == ZY_STATUS_INVALID_ARGUMENT);
    zt_note("%s", zy_last_error());
    CHECK(strstr(zy_last_error(), "not finite") && strstr(zy_last_error(), "not saved"));
    CHECK(!zt_exists(dir, ZY_CHECKPOINT_LINK) && !zt_exists(dir, "model.safetensors"));
    zt_run_stop(&r);
    zy_model_free(m);
    CHECK(zt_rm_tree(dir));
    free(tok);
}

// A run saved before checkpoint directories (training_state.safetensors beside
// model.safetensors in DIR) is found as DIR itself, and its first new save replaces it.
TEST(checkpoint_finds_flat_runs) {
    int32_t *tok = zt_stream(300, 14);
    zy_trainer_params p = zt_train_params();
    char dir[] = "/tmp/zy_ckpt_XXXXXX", state[64], ckpt[64];
    ASSERT(mkdtemp(dir) != NULL);
    snprintf(state, sizeof state, "%s/%s", dir, ZY_TRAINING_STATE_FILE);
    zy_model *m = zt_tiny_gpt(p.dropout);
    zt_run r;
    ASSERT(zt_run_start(&r, m, tok, 300, NULL, 0, &p) == ZY_STATUS_OK);
    ASSERT(zy_trainer_step(r.t, NULL) == ZY_STATUS_OK);
    ASSERT(zy_model_save(m, dir) == ZY_STATUS_OK);
    ASSERT(zy_trainer_save_state(r.t, state, NULL, 0) == ZY_STATUS_OK);
    ASSERT(zy_checkpoint_find(dir, ckpt, sizeof ckpt) == ZY_STATUS_OK);
    CHECK(!strcmp(ckpt, dir));
    CHECK(resume_step(dir, tok, 300, NULL, NULL) == 1);
    ASSERT(zy_trainer_step(r.t, NULL) == ZY_STATUS_OK);
    ASSERT(zy_trainer_save_checkpoint(r.t, dir, NULL, 0, 0) == ZY_STATUS_OK);
    CHECK(!zt_exists(dir, ZY_TRAINING_STATE_FILE));
    CHECK(resume_step(dir, tok, 300, NULL, NULL) == 2);
    zt_run_stop(&r);
    zy_model_free(m);
    CHECK(zt_rm_tree(dir));
    free(tok);
}
