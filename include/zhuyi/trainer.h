// zhuyi trainer: the training loop over any zy_model and zy_data_source (micro-batches,
// gradient accumulation, a gradient-reduce hook, global-norm clipping, AdamW over the
// trainable tensors, learning-rate schedules), evaluation, and the training-state file
// that makes a resumed run bit-exact. Not here: the command line, progress display and
// plots (tools/zhuyi/), the models (model.h), the data (data.h).
//
// Everything random is derived from the seed without hidden state, so a run is a pure
// function of (model, data, params, step): the dropout masks of micro-step k of step s
// use zy_hash64(seed, s * 65536 + k); the data source's own randomness is a function of
// its seed and position, and its position is saved.
#ifndef ZHUYI_TRAINER_H
#define ZHUYI_TRAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "data.h"
#include "gemm.h"
#include "io.h"
#include "model.h"
#include "optim.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- evaluation -------------------------------------------------------------------------
typedef struct zy_eval_params {
    long max_batches; // read at most this many batches; 0 = until a one-pass source ends
    // Called after each batch with the running totals; non-zero stops early. May be NULL.
    int (*on_batch)(long batches, double count, double mean_loss, void *user);
    void *user;
    zy_metric_set *metrics; // out, may be NULL: the model's named metrics (model.h) over
                            // the batches read, each weighted by its counts
    // Called after each forward with its batch and the session, whose outputs
    // (zy_session_output) are that batch's: how a caller scores predictions over a whole
    // set or keeps them (the session must not be loss_only). A non-zero status stops the
    // evaluation and is returned. May be NULL.
    zy_status (*on_forward)(const zy_batch *b, const zy_session *s, void *user);
    bool unscored;          // the batches may carry no targets (prediction): no loss
                            // (*mean_loss and *count 0) instead of an error
} zy_eval_params;

// Mean loss of the model over batches from src (from its current position), dropout off:
// the sum over batches of (batch mean loss x the number of targets it averages over),
// divided by the total number of targets, accumulated in double. *count (may be NULL)
// receives that total. A one-pass source is read to its end unless max_batches stops it;
// a cycling source needs max_batches > 0. The session must be prepared for the source's
// batch shape.
zy_status zy_evaluate(zy_session *s, zy_data_source *src, const zy_eval_params *p,
                      double *mean_loss, double *count);

// ---- the training loop ------------------------------------------------------------------
typedef struct zy_trainer_params {
    int batch;                 // B, sequences per micro-batch (8)
    int seq;                   // T, tokens per sequence (128)
    int grad_accum;            // micro-batches per optimizer step (1)
    long steps;                // total optimizer steps; ends cosine/linear decay (1000)
    zy_schedule_kind schedule; // ZY_SCHEDULE_COSINE
    float lr;                  // peak learning rate (6e-4)
    float min_lr;              // floor of cosine/linear decay, at most lr (6e-5)
    long warmup;               // linear warmup steps (100)
    float weight_decay;        // AdamW decay of the tensors marked `decay` (0.1)
    float beta1, beta2, eps;   // AdamW (0.9, 0.95, 1e-8)
    float grad_clip;           // global-norm clip; 0 = off (1.0)
    float dropout;             // recorded for resume; the model's config applies it (0)
    bool shuffle;              // recorded for resume: how the training source was built
    uint64_t seed;             // dropout masks (and, by the caller, the data order) (1337)
    int eval_batches;          // evaluation reads at most this many batches; 0 = all (20)
    int skip_nonfinite;        // steps with a non-finite loss or gradient norm that may be
                               // skipped (no update) before the run stops; 0 = stop at the
                               // first (0)
    float label_smoothing;     // ε of the loss (zy_session_params.label_smoothing), in
                               // training and the trainer's evaluations (0)
    zy_precision precision;    // matmul precision of its steps and evaluations
                               // (zy_gemm_precision_set, gemm.h), set on the calling
                               // thread for their duration (ZY_PRECISION_FP32)
} zy_trainer_params;

zy_trainer_params zy_trainer_default_params(void);

typedef struct zy_trainer zy_trainer;

// The trainer borrows the model and the sources (they must outlive it); val may be NULL
// (no evaluation). It creates a training session for batch x seq, and AdamW moments for
// the trainable tensors only. The training source must yield batches of batch rows of
// at most seq tokens (its dims: batch x seq or shorter); the
// validation source is read from its start at every evaluation (it should be one-pass).
// Errors: a source of another shape, seq > max_positions, no trainable tensor, bad params
// (ZY_STATUS_INVALID_ARGUMENT naming the field: a negative or non-finite rate, decay, clip
// or eps, betas outside [0, 1), an unknown schedule) and contradictory ones, naming both
// fields: min_lr above lr with a cosine or linear schedule (the decay would raise the
// rate). A warmup longer than steps is allowed: a resumed run may stop inside it.
zy_status zy_trainer_create(zy_trainer **out, zy_model *model, zy_data_source *train,
                            zy_data_source *val, const zy_trainer_params *p);
void zy_trainer_free(zy_trainer *t);
const zy_trainer_params *zy_trainer_get_params(const zy_trainer *t);
// The training session (e.g. to read outputs or run evaluations of one's own).
zy_session *zy_trainer_session(zy_trainer *t);
// Optimizer steps done so far (0 at first).
long zy_trainer_step_count(const zy_trainer *t);
// Changing `steps` changes the schedule from here on (used when a resumed run is
// extended).
void zy_trainer_set_total_steps(zy_trainer *t, long steps);

// Data-parallel training: called after the micro-batches' backward passes and before
// clipping, to sum over all processes, in place, the step's gradient array
// (zy_session_grads) and sums[0..n_sums) (the step's loss sum and target count), giving
// every process the same bits. With a hook set, the array it is given holds the gradient
// of the step's summed loss (each micro-batch's mean loss times its count of targets,
// zy_session_forward), so the processes' arrays add up; the trainer then divides by the
// total count. A non-zero status stops the step (nothing is updated) and is returned by
// zy_trainer_step.
typedef zy_status (*zy_grad_hook)(float *grads, size_t n, double *sums, int n_sums,
                                  void *user);
void zy_trainer_set_grad_hook(zy_trainer *t, zy_grad_hook fn, void *user);

typedef struct zy_step_info {
    long step;       // 1-based number of the step just done
    float loss;      // mean training loss over its micro-batches' targets
    float lr;        // learning rate it used
    float grad_norm; // global gradient norm before clipping
    bool skipped;    // the loss or norm was not finite: no update (skip_nonfinite)
    long n_skipped;  // steps skipped so far in the run
    zy_metric_set metrics; // the model's named metrics (model.h) over the step's
                     // micro-batches, each weighted by its counts (e.g. BERT's
                     // mlm_accuracy); n = 0 for a model that reports none
} zy_step_info;

// One optimizer step: grad_accum micro-batches of forward + backward with dropout on,
// each weighted by its count of targets (zy_session_forward), so the step's loss and
// gradient are the mean over all its targets, as one batch of them all would give (for a
// model whose count is the same in every batch, as GPT's, the mean of the micro-batches'
// means); the gradient hook; clipping; AdamW over the trainable tensors (weight decay on
// those marked `decay`). A loss or gradient norm that is not finite skips the step (its
// batches are consumed, no weight or moment changes) while fewer than skip_nonfinite
// steps have been skipped; otherwise it stops the run with an error naming the step,
// before any weight changes.
zy_status zy_trainer_step(zy_trainer *t, zy_step_info *info);
// Mean validation loss over at most eval_batches batches of the validation source, read
// from its start, dropout off. ZY_STATUS_INVALID_ARGUMENT without a validation source.
zy_status zy_trainer_evaluate(zy_trainer *t, float *val_loss);
// The same, with the model's named metrics over those batches into *metrics (may be NULL).
zy_status zy_trainer_evaluate_metrics(zy_trainer *t, float *val_loss, zy_metric_set *metrics);

// ---- checkpoints: the model and its training state as one unit --------------------------
// A run directory DIR holds its newest checkpoint in DIR/checkpoint-<step>/ (config.json,
// model.safetensors, training_state.safetensors), named by the symbolic link
// DIR/checkpoint, and the same weights as DIR/config.json + DIR/model.safetensors (hard
// links), so DIR is also a model directory (zy_model_load). A model with a LoRA adapter
// (lora.h) is saved as its adapter: checkpoint-<step>/ and DIR then hold the files
// zy_model_save writes for it (adapter_config.json, adapter_model.safetensors,
// config.json), and zy_model_load of either gives the base with the adapter.
#define ZY_CHECKPOINT_LINK "checkpoint"

// Saves the model and the trainer's state at the current step as one unit: whatever
// interrupts it (a kill, a full disk, power loss), DIR/checkpoint names either the previous
// complete checkpoint or the new one. Refuses a model with NaN or infinite weights
// (naming the tensor). Needs room for two checkpoints while it writes; removes the
// previous one after. extra pairs as zy_trainer_save_state. flags: ZY_CHECKPOINT_*.
zy_status zy_trainer_save_checkpoint(const zy_trainer *t, const char *dir,
                                     const zy_safetensors_kv *extra, int n_extra,
                                     unsigned flags);
enum {
    // DIR/config.json and DIR/model.safetensors stay as they are instead of becoming the
    // checkpoint's: a run that keeps its best model there (by a validation metric,
    // written with zy_model_save) saves its newest state this way. The previous
    // checkpoint's directory is still removed; DIR's files, if they were links to it,
    // keep its weights.
    ZY_CHECKPOINT_KEEP_MODEL_FILES = 1u << 0,
};
// The directory of DIR's newest complete checkpoint (what DIR/checkpoint names, or DIR
// itself for a run saved before checkpoint directories) into buf; load the model
// (zy_model_load) and the state (zy_trainer_load_state of its ZY_TRAINING_STATE_FILE)
// from there. ZY_STATUS_NOT_FOUND if DIR has none.
zy_status zy_checkpoint_find(const char *dir, char *buf, size_t cap);

// ---- training state (training_state.safetensors) ----------------------------------------
// Safetensors with two F32 tensors "adamw.m" and "adamw.v" (the trainable floats, in
// the order of the training session's gradient array) and "__metadata__": format
// "zhuyi-training-state", version "1", step, data position (data_epoch, data_pos),
// every zy_trainer_params field, n_params (the trainable floats), params_hash (of all
// model parameters at that step, so a model file from another step is caught),
// train_tokens and train_hash (the training source's n_items and fingerprint, so changed
// data is caught), plus the caller's extra pairs. docs/FORMATS.md has the details.
#define ZY_TRAINING_STATE_FILE "training_state.safetensors"

// Written atomically. extra[0..n_extra) are stored as more metadata pairs.
zy_status zy_trainer_save_state(const zy_trainer *t, const char *path,
                                const zy_safetensors_kv *extra, int n_extra);
// Reads only the hyper-parameters and step of a state file (to set a resumed run up).
zy_status zy_trainer_read_params(const char *path, zy_trainer_params *p, long *step);
// Restores moments, step and data position into a trainer created with the same params
// and data, after checking n_params, params_hash and the data's length and fingerprint.
zy_status zy_trainer_load_state(zy_trainer *t, const char *path);
// A metadata value of a state file (e.g. one of the caller's extra pairs) copied into
// buf (cap bytes); ZY_STATUS_NOT_FOUND if absent.
zy_status zy_trainer_state_get(const char *path, const char *key, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
