// The trainer's fields, shared by trainer.c (the loop) and trainer_state.c (the state
// file). Private to src/train/.
#ifndef ZHUYI_TRAINER_INTERNAL_H
#define ZHUYI_TRAINER_INTERNAL_H

#include "zhuyi/trainer.h"

struct zy_trainer {
    zy_gpt *m;                // borrowed
    zy_trainer_params p;
    const int32_t *train;     // (n_train) borrowed
    size_t n_train;
    const int32_t *val;       // (n_val) borrowed, or NULL
    size_t n_val;
    uint64_t train_hash;      // zy_trainer_hash of train, checked on resume
    zy_batcher *batcher;
    long step;                // optimizer steps done
    size_t n_params;
    float *mom_m, *mom_v;     // (n_params) AdamW moments, the model's flat layout
    int *inputs, *targets;    // (B,T) the current micro-batch
    zy_param_group *groups;   // decayed / not decayed ranges
    int ngroups, ngroups_cap;
};

// The learning rate of 0-based step `step` under the trainer's schedule.
float zy__trainer_lr(const zy_trainer *t, long step);

#endif
