// zhuyi trainer: the data pipeline (text -> one token stream -> (B,T) batches) and the
// GPT pretraining loop (AdamW, gradient accumulation and clipping, LR schedule,
// evaluation) with a training-state file that makes --resume bit-exact. Not here: the
// command line, progress display and plots (tools/zhuyi/pretrain.c), the model itself
// (gpt.h).
//
// Everything random is derived from the seed without hidden state, so a run is a pure
// function of (model, data, params, step): dropout masks of micro-step k of step s use
// zy_hash64(seed, s * 65536 + k); the shuffled order of epoch e is a Fisher-Yates
// permutation drawn from a zy_rng seeded with zy_hash64(seed ^ ZY_BATCHER_SALT, e).
#ifndef ZHUYI_TRAINER_H
#define ZHUYI_TRAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "gpt.h"
#include "io.h"
#include "optim.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- token streams --------------------------------------------------------------------
// Read files[0..n) whole and encode each as one token stream (plain text: special-token
// strings in the text are ordinary bytes), joined by the tokenizer's "<|endoftext|>" id
// when there are several files and it has one. Any bytes are accepted (invalid UTF-8
// too: byte-level BPE encodes every byte). *tokens is allocated with zy_alloc (zy_free).
// Errors: unreadable file (ZY_STATUS_IO), a file with no bytes (ZY_STATUS_BAD_FORMAT).
zy_status zy_dataset_encode_files(zy_tokenizer *tok, const char *const *files, int n,
                                  int32_t **tokens, size_t *n_tokens);

// ---- batching -------------------------------------------------------------------------
// A batcher cuts one token stream into (B,T) input/target batches; it borrows `tokens`.
//
// No shuffle (reproducible anywhere): position p = 0 at first; each batch reads the B·T+1
// tokens tokens[p .. p+B·T], inputs = the first B·T as (B,T), targets = the same shifted
// by one; then p += B·T, and p = 0 when fewer than B·T+1 tokens remain after p.
//
// Shuffle: the stream is cut into W = (n - 1 - o) / T windows of T+1 tokens (window i
// starts at o + i·T, consecutive windows share one token), o = 0 in epoch 0 and
// zy_hash64(seed, e) % T in epoch e > 0 (if W stays >= B), so later epochs see
// other cuts. Each epoch visits the windows in a seeded random order, B per batch; when
// fewer than B remain the next epoch starts. Both modes need n >= B·T+1.
typedef struct zy_batcher zy_batcher;

#define ZY_BATCHER_SALT 0x5a48555942415443ull // "ZHUYBATC"

zy_status zy_batcher_create(zy_batcher **out, const int32_t *tokens, size_t n, int B, int T,
                            bool shuffle, uint64_t seed);
void zy_batcher_free(zy_batcher *b);
// inputs (B,T), targets (B,T): the next batch; advances the position.
void zy_batcher_next(zy_batcher *b, int *inputs, int *targets);
// The position as two numbers, enough to continue exactly: no shuffle (0, p); shuffle
// (epoch, windows already taken in this epoch).
void zy_batcher_tell(const zy_batcher *b, uint64_t *epoch, uint64_t *pos);
// Move to a position given by zy_batcher_tell (ZY_STATUS_INVALID_ARGUMENT if it is not
// one this stream can have, e.g. past its end).
zy_status zy_batcher_seek(zy_batcher *b, uint64_t epoch, uint64_t pos);

// ---- the training loop ----------------------------------------------------------------
typedef struct zy_trainer_params {
    int batch;                 // B, sequences per micro-batch (8)
    int seq;                   // T, tokens per sequence (128)
    int grad_accum;            // micro-batches per optimizer step (1)
    long steps;                // total optimizer steps; ends cosine/linear decay (1000)
    zy_schedule_kind schedule; // ZY_SCHEDULE_COSINE
    float lr;                  // peak learning rate (6e-4)
    float min_lr;              // floor of cosine/linear decay (6e-5)
    long warmup;               // linear warmup steps (100)
    float weight_decay;        // AdamW decay of matmul weights only (0.1)
    float beta1, beta2, eps;   // AdamW (0.9, 0.95, 1e-8)
    float grad_clip;           // global-norm clip; 0 = off (1.0)
    float dropout;             // recorded for resume; the model's config applies it (0)
    bool shuffle;              // seeded random windows (true) or the sequential rule
    uint64_t seed;             // dropout masks and shuffling (1337)
    int eval_batches;          // evaluation reads at most this many (B,T) batches; 0 = all
} zy_trainer_params;

zy_trainer_params zy_trainer_default_params(void);

typedef struct zy_trainer zy_trainer;

// The trainer borrows the model and the token streams (they must outlive it). val may
// be NULL (n_val 0): no evaluation. Allocates the AdamW moments and batch buffers and
// calls zy_gpt_prepare(B, T). Errors: train shorter than one batch (B·T+1 tokens), val
// shorter than one window (T+1 tokens), T > n_positions, a token id >= vocab_size.
zy_status zy_trainer_create(zy_trainer **out, zy_gpt *model, const int32_t *train,
                            size_t n_train, const int32_t *val, size_t n_val,
                            const zy_trainer_params *p);
void zy_trainer_free(zy_trainer *t);
const zy_trainer_params *zy_trainer_get_params(const zy_trainer *t);
// Optimizer steps done so far (0 at first).
long zy_trainer_step_count(const zy_trainer *t);
// Changing `steps` changes the schedule from here on (used when a resumed run is
// extended).
void zy_trainer_set_total_steps(zy_trainer *t, long steps);

typedef struct zy_step_info {
    long step;       // 1-based number of the step just done
    float loss;      // mean training loss over its micro-batches
    float lr;        // learning rate it used
    float grad_norm; // global gradient norm before clipping
} zy_step_info;

// One optimizer step: grad_accum micro-batches of forward + backward (loss scaled by
// 1/grad_accum), clip, AdamW over zy_gpt_param_groups. Dropout (if the model has it) is
// on during the step; the model is left in evaluation mode.
zy_status zy_trainer_step(zy_trainer *t, zy_step_info *info);
// Mean loss over the validation windows x = val[iT:(i+1)T], y = val[iT+1:(i+1)T+1]
// (the first eval_batches·B of them), dropout off. ZY_STATUS_INVALID_ARGUMENT without val.
zy_status zy_trainer_evaluate(zy_trainer *t, float *val_loss);

// ---- training state (DIR/training_state.safetensors) ----------------------------------
// Safetensors with two F32 tensors "adamw.m" and "adamw.v" (n_params each, the model's
// flat layout) and "__metadata__": format "zhuyi-training-state", version "1", step,
// data position (data_epoch, data_pos), every zy_trainer_params field, n_params,
// params_hash (of the model parameters at that step, so a model file from another step is
// caught), train_tokens and train_hash (of the token stream, so changed data is caught),
// plus the caller's extra pairs (e.g. the data files). docs/FORMATS.md has the details.
#define ZY_TRAINING_STATE_FILE "training_state.safetensors"

// Written atomically. extra[0..n_extra) are stored as more metadata pairs.
zy_status zy_trainer_save_state(const zy_trainer *t, const char *path,
                                const zy_safetensors_kv *extra, int n_extra);
// Reads only the hyper-parameters and step of a state file (to set a resumed run up).
zy_status zy_trainer_read_params(const char *path, zy_trainer_params *p, long *step);
// Restores moments, step and data position into a trainer created with the same params
// and data, after checking n_params, params_hash and the data's length and hash.
zy_status zy_trainer_load_state(zy_trainer *t, const char *path);
// A metadata value of a state file (e.g. one of the caller's extra pairs) copied into
// buf (cap bytes); ZY_STATUS_NOT_FOUND if absent.
zy_status zy_trainer_state_get(const char *path, const char *key, char *buf, size_t cap);

// 64-bit hash of n bytes (used for params_hash / train_hash; not cryptographic).
uint64_t zy_trainer_hash(const void *data, size_t n);

#ifdef __cplusplus
}
#endif
#endif
