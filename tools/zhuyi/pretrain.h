// Shared by pretrain.c (flags and set-up) and pretrain_loop.c (the loop and saving) of
// `zhuyi pretrain KIND`; what differs per kind of model is kind.h's table.
#ifndef ZHUYI_CLI_PRETRAIN_H
#define ZHUYI_CLI_PRETRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kind.h"
#include "lora_cmd.h"
#include "zhuyi/model.h"
#include "zhuyi/tokenizer.h"
#include "zhuyi/trainer.h"

// Exit status of a run stopped by Ctrl-C (SIGINT) or SIGTERM after saving: 128 + 2, as a
// shell reports a process killed by SIGINT, so scripts can tell it from success.
#define ZY_PRETRAIN_EXIT_INTERRUPTED 130

typedef struct pretrain_run {
    const cli_kind *kind;
    void *opts;               // the kind's options (its own flags)
    char cmd[32];             // "pretrain gpt", for messages
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
    // Keeping the best model: with best_metric ("loss" or one of the evaluation's
    // metrics), DIR's own config.json + model.safetensors hold the weights of the best
    // evaluation so far (checkpoints keep the newest state for --resume); NULL: DIR holds
    // the newest weights. patience: stop after that many evaluations in a row without a
    // better value (0: never).
    const char *best_metric;
    long patience;
    double best_value;        // restored on --resume, with best_step and bad_evals
    long best_step;           // -1: no evaluation yet
    long bad_evals;           // evaluations since the best
    const char **kind_flags;  // (n_kind_flags) the kind's flags and values as given
    int n_kind_flags;
    bool kind_flags_owned;    // strdup'ed from the saved state (freed)
    cli_lora lora;            // finetune --lora*: train an adapter on the --init model
    // set up by pretrain.c
    zy_tokenizer *tok;
    zy_model *model;
    cli_data src;             // the training and validation sources (the kind's)
    char *data_json;          // the data files as a JSON array, stored in the state
    char *kind_json;          // kind_flags as a JSON array, stored in the state
    char *val_abs;            // val_data made absolute (freed)
} pretrain_run;

// Train, evaluate and save; returns the process exit status.
int zy_pretrain_loop(pretrain_run *r);
// Under mpirun (dist.h), before the loop: this rank's shard of every global batch. In
// the loop, ranks other than 0 write nothing and show no progress: --out is rank 0's
// alone. 0, or 1 after a message.
int zy_pretrain_dist(pretrain_run *r);

#endif
