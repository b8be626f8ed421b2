// Shared by pretrain.c (flags and set-up) and pretrain_loop.c (the loop and saving) of
// `zhuyi pretrain gpt`.
#ifndef ZHUYI_CLI_PRETRAIN_H
#define ZHUYI_CLI_PRETRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuyi/model.h"
#include "zhuyi/tokenizer.h"
#include "zhuyi/trainer.h"

// Exit status of a run stopped by Ctrl-C (SIGINT) or SIGTERM after saving: 128 + 2, as a
// shell reports a process killed by SIGINT, so scripts can tell it from success.
#define ZY_PRETRAIN_EXIT_INTERRUPTED 130

typedef struct pretrain_run {
    // from the command line (or the saved state on --resume)
    const char **data;        // (n_data) training text files
    int n_data;
    bool data_owned;          // data[i] were strdup'ed from the saved state (freed)
    const char *val_data;     // validation text file or NULL
    float val_fraction;       // used when val_data is NULL
    const char *out;          // output directory
    bool resume;
    char ckpt[4096];          // on --resume: the checkpoint directory it continues from
    zy_trainer_params tp;
    long eval_every, save_every, stop_at, log_every;
    // set up by pretrain.c
    zy_tokenizer *tok;
    zy_model *model;
    int32_t *tokens;          // (n_tokens) training stream followed by the held-out part
    size_t n_tokens, n_train;
    int32_t *val_tokens;      // (n_val) = tokens + n_train, or a separate --val-data stream
    size_t n_val;
    int32_t *val_owned;       // val_tokens when it came from --val-data (freed)
    char *data_json;          // the data files as a JSON array, stored in the state
    char *val_abs;            // val_data made absolute (freed)
} pretrain_run;

// Train, evaluate and save; returns the process exit status.
int zy_pretrain_loop(pretrain_run *r);

#endif
