// The row source (row_source.c): what the fine-tuning sources share (task_source.c,
// instruct_source.c). A data source over n rows of varying length: batches padded to
// their longest row; training epochs that visit the floor(n / R) * R first rows of a
// permutation P_e (R = world x B rows per global batch), rank r taking rows [rB, rB + B)
// of each global batch; one pass in order for evaluation (the last global batch short,
// then batches of 0 rows). An epoch's order is a pure function of (seed, epoch, R), made
// whole at the epoch's start, so tell/seek are exact and a resumed run sees the batches
// an uninterrupted one does. A kind of rows says only what differs: the salt of P_e,
// anything it does to the epoch's order after P_e, a row's length, how a row is written
// into a batch, and the names its messages use. Private to src/data.
#ifndef ZHUYI_DATA_ROW_SOURCE_H
#define ZHUYI_DATA_ROW_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "zhuyi/data.h"

typedef struct zy__row_source zy__row_source;

typedef struct zy__row_kind {
    const char *name;   // messages: "NAME source: ...", "NAME data: ..." ("task")
    const char *items;  // what its rows are called in messages ("features")
    uint64_t salt;      // P_e: Fisher-Yates from zy_hash64(seed ^ salt, e) if shuffle,
                        // else the identity
    // Optional: the rest of a training epoch's order, s->order holding P_e (s->epoch set).
    void (*arrange)(zy__row_source *s);
    // Row i's length: the batch positions it fills before padding.
    int (*length)(const zy__row_source *s, uint64_t i);
    // Row i into row `row` of b, padded to b->T (set: the batch's longest row).
    void (*put)(const zy__row_source *s, zy_batch *b, int row, uint64_t i);
    // Optional: frees what the kind added to its source (not the source itself).
    void (*free)(zy__row_source *s);
} zy__row_kind;

// A kind's source is a struct whose first member is this one.
struct zy__row_source {
    const zy__row_kind *kind;
    uint64_t n;
    int B, rank, world;
    uint64_t seed, epoch, pos; // pos: rows of epoch `epoch` taken (global)
    bool shuffle, one_pass;
    uint32_t *order;           // (n) this epoch's visiting order
};

typedef struct zy__row_params {
    int batch;     // B rows per rank (the kind has checked its range)
    uint64_t seed;
    bool shuffle, one_pass;
} zy__row_params;

// R: the rows of one global batch.
static inline uint64_t zy__row_global(const zy__row_source *s) {
    return (uint64_t)s->B * (uint64_t)s->world;
}

// *out = a new source of `size` bytes (the kind's struct, zeroed beyond the core) over n
// rows, its order allocated, after the checks every row source makes: a one-pass source
// is not shuffled, at most UINT32_MAX rows, enough for one global batch (training) or one
// pass. The kind then fills in its fields and calls zy__row_source_open, or
// zy__row_source_free if its own setup fails.
zy_status zy__row_source_new(zy__row_source **out, const zy__row_kind *kind, size_t size,
                             uint64_t n, const zy__row_params *p);
// Epoch 0 made, s wrapped as *out (info's batch, n_items and one_pass are the source's);
// s is freed on failure.
zy_status zy__row_source_open(zy_data_source **out, zy__row_source *s,
                              zy_data_source_info info);
void zy__row_source_free(zy__row_source *s);

// a[0..n) in the Fisher-Yates order of a zy_rng seeded with seed (the data sources' rule).
void zy__row_shuffle(uint32_t *a, uint64_t n, uint64_t seed);

#endif
