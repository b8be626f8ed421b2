// zy_trainer_create's parameter checks (src/train/trainer.c): values out of range name
// their field, and a contradictory schedule (min_lr above lr for a decaying schedule) is
// refused naming both fields, where it once trained with a learning rate that climbed as
// it "decayed".
#include <string.h>

#include "gpt_util.h"
#include "harness.h"
#include "zhuyi/optim.h"
#include "zhuyi/trainer.h"

typedef struct setup {
    zy_model *m;
    zy_data_source *src;
    int32_t tokens[200];
} setup;

static int start(setup *u) {
    u->m = zt_gpt_create(1, 2, 8, 16, 20, 0.0f, 1);
    for (int i = 0; i < 200; i++) u->tokens[i] = (i * 7) % 20;
    zy_lm_stream_params sp = {.batch = 2, .seq = 8};
    return u->m && zy_lm_stream_create(&u->src, u->tokens, 200, &sp) == ZY_STATUS_OK;
}

static void finish(setup *u) {
    zy_data_source_free(u->src);
    zy_model_free(u->m);
}

#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})

static zy_trainer_params ok_params(void) {
    zy_trainer_params p = zy_trainer_default_params();
    p.batch = 2, p.seq = 8, p.steps = 10, p.warmup = 2, p.lr = 1e-3f, p.min_lr = 1e-4f;
    return p;
}

// zy_trainer_create with p: ZY_STATUS_INVALID_ARGUMENT whose message holds every needle
// (NULL-terminated), or OK when want_ok.
static void expect(setup *u, const zy_trainer_params *p, int want_ok, const char *label,
                   const char *const *needles) {
    zy_trainer *t = NULL;
    zy_status st = zy_trainer_create(&t, u->m, u->src, NULL, p);
    zt_note("%s: %s %s", label, zy_status_str(st), st ? zy_last_error() : "");
    if (want_ok) {
        if (st != ZY_STATUS_OK) zt_fail(__FILE__, __LINE__, "%s: refused", label);
    } else if (st != ZY_STATUS_INVALID_ARGUMENT || t != NULL) {
        zt_fail(__FILE__, __LINE__, "%s: got %s, want invalid argument", label,
                zy_status_str(st));
    } else {
        for (int i = 0; needles[i]; i++)
            if (!strstr(zy_last_error(), needles[i]))
                zt_fail(__FILE__, __LINE__, "%s: '%s' does not name '%s'", label,
                        zy_last_error(), needles[i]);
    }
    zy_trainer_free(t);
}

TEST(trainer_params_contradictory_schedule_refused) {
    setup u = {0};
    ASSERT(start(&u));
    zy_trainer_params p = ok_params();
    expect(&u, &p, 1, "sane params", NULL);

    p.min_lr = 1e-2f; // above lr: cosine would climb from 1e-3 to 1e-2
    expect(&u, &p, 0, "cosine, min_lr > lr", WANT("min_lr = 0.01", "lr = 0.001"));
    p.schedule = ZY_SCHEDULE_LINEAR;
    expect(&u, &p, 0, "linear, min_lr > lr", WANT("min_lr", "lr = 0.001"));
    p.schedule = ZY_SCHEDULE_CONSTANT; // min_lr unused: not a contradiction
    expect(&u, &p, 1, "constant, min_lr > lr", NULL);
    p.min_lr = p.lr; // equal: a flat "decay", allowed
    p.schedule = ZY_SCHEDULE_COSINE;
    expect(&u, &p, 1, "cosine, min_lr = lr", NULL);

    p = ok_params();
    p.warmup = 11; // a resumed run cut short inside its warmup: allowed (pretrain --resume)
    expect(&u, &p, 1, "warmup > steps", NULL);

    p = ok_params();
    p.lr = -1e-3f;
    expect(&u, &p, 0, "negative lr", WANT("lr = -0.001"));
    p = ok_params();
    p.min_lr = -1e-5f;
    expect(&u, &p, 0, "negative min_lr", WANT("min_lr = -1e-05"));
    p = ok_params();
    p.lr = 1.0f / 0.0f;
    expect(&u, &p, 0, "infinite lr", WANT("lr = inf"));
    p = ok_params();
    p.warmup = -1;
    expect(&u, &p, 0, "negative warmup", WANT("warmup -1"));
    p = ok_params();
    p.skip_nonfinite = -1;
    expect(&u, &p, 0, "negative skip_nonfinite", WANT("skip_nonfinite -1"));
    p = ok_params();
    p.beta2 = 1.0f;
    expect(&u, &p, 0, "beta2 = 1", WANT("beta2 = 1", "[0, 1)"));
    p = ok_params();
    p.schedule = (zy_schedule_kind)9;
    expect(&u, &p, 0, "unknown schedule", WANT("schedule 9"));
    finish(&u);
}
