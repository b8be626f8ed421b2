// Test helpers shared by the trainer and checkpoint tests: a tiny GPT, a token stream
// with some structure, small trainer params, a trainer with its data sources, a data
// source of synthetic examples for tests that define their own task, and the files of a
// checkpoint directory.
#ifndef ZHUYI_TESTS_TRAIN_UTIL_H
#define ZHUYI_TESTS_TRAIN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "zhuyi/trainer.h"

// The tiny GPT's vocabulary.
enum { ZT_TINY_V = 29 };

// A 2-layer, 2-head, 16-wide GPT with 16 positions and ZT_TINY_V tokens, seed 5.
zy_model *zt_tiny_gpt(float dropout);
// n tokens of a noisy repeating pattern (so the loss moves); free() it.
int32_t *zt_stream(size_t n, uint64_t seed);
// batch 3, seq 8, grad_accum 2, 8 steps, warmup 2, lr 3e-3 → 3e-4, dropout 0.1, seed 77.
zy_trainer_params zt_train_params(void);

// A trainer with its data sources: train[0..n_train) (shuffled as p says, seeded by
// p.seed) and, if n_val, a one-pass validation stream.
typedef struct zt_run {
    zy_data_source *train, *val;
    zy_trainer *t;
} zt_run;

zy_status zt_run_start(zt_run *r, zy_model *m, const int32_t *train, size_t n_train,
                       const int32_t *val, size_t n_val, const zy_trainer_params *p);
void zt_run_stop(zt_run *r);

// A training run measured: the evaluation loss before and after `steps` trainer steps,
// and the mean training loss of the first and of the last 10 steps (steps >= 10).
typedef struct zt_train_losses {
    float before, after, first, last;
} zt_train_losses;
// ZY_STATUS_OK, or the status of the first call that failed.
zy_status zt_train_measured(zy_trainer *t, long steps, zt_train_losses *l);

// A data source of synthetic examples, each a pure function of its index, for tests
// that train on a task they define. example(e, i, b, r) writes example i into row r of b:
// its input_ids and whichever of lengths, token types, targets and labels e->fields names.
// Endless, or one pass over n_one_pass examples (the last batch ragged); positions count
// examples (epoch 0); shards split each global batch of B·world rows by rank.
typedef struct zt_examples zt_examples;
struct zt_examples {
    const char *kind;     // zy_data_source_info.kind, and messages
    int B, T, V;          // rows per batch (per rank), sequence length, vocabulary
    uint64_t seed;        // the examples' seed (and, with V, the fingerprint)
    unsigned fields;      // ZY_BATCH_* beyond the input ids
    uint64_t n_one_pass;  // 0: endless
    void (*example)(const zt_examples *e, uint64_t i, zy_batch *b, int r);
};
// NULL on failure.
zy_data_source *zt_example_source(const zt_examples *e);

// dir/name exists (a link counts, wherever it points).
bool zt_exists(const char *dir, const char *name);
// The inode dir/name resolves to (through links), 0 if none: two names of one file.
ino_t zt_inode(const char *dir, const char *name);

#endif
