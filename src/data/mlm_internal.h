// Shared between the BERT pretraining source's files (mlm_build.c makes the examples,
// mlm_source.c turns them into masked batches). Private to src/data.
#ifndef ZHUYI_DATA_MLM_INTERNAL_H
#define ZHUYI_DATA_MLM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "zhuyi/data.h"

// One example before masking: segment A = tokens[a .. a + na), B = tokens[b .. b + nb)
// (nb = 0 without next-sentence prediction), label 0 IsNext, 1 NotNext, -1 none.
typedef struct zy__mlm_example {
    uint64_t a, b;
    uint32_t na, nb;
    int32_t label;
} zy__mlm_example;

// What the construction depends on (the rest of zy_mlm_source_params is masking/order).
typedef struct zy__mlm_build_params {
    uint64_t seed;
    int seq;
    bool nsp;
    int dupe_factor;
    float short_seq_prob;
} zy__mlm_build_params;

// The examples of the corpus (validated: offsets well formed, NSP with >= 2 documents):
// written to out[0..) when out is not NULL; returns how many there are, so a first call
// with NULL sizes the array and a second fills it with the same examples.
uint64_t zy__mlm_build(const zy_corpus *c, const zy__mlm_build_params *p,
                       zy__mlm_example *out);

#endif
