// The trainer's fields, shared by trainer.c (the loop) and trainer_state.c (the state
// file). Private to src/train/.
#ifndef ZHUYI_TRAINER_INTERNAL_H
#define ZHUYI_TRAINER_INTERNAL_H

#include "zhuyi/trainer.h"

struct zy_trainer {
    zy_model *m;              // borrowed
    zy_session *s;            // the training session (owned)
    zy_trainer_params p;
    zy_data_source *train;    // borrowed
    zy_data_source *val;      // borrowed, or NULL
    zy_batch batch;           // the current micro-batch
    long step;                // optimizer steps done
    long n_skipped;           // of which skipped for a non-finite loss or norm
    size_t n_grads;           // trainable floats
    float *mom_m, *mom_v;     // (n_grads) AdamW moments, the gradient array's layout
    zy_param_range *ranges;   // the trainable tensors (offset: params, state_offset:
                              // gradients and moments), adjacent ones merged
    int n_ranges;
    zy_grad_hook hook;
    void *hook_user;
};

// The learning rate of 0-based step `step` under the trainer's schedule.
float zy__trainer_lr(const zy_trainer *t, long step);

#endif
