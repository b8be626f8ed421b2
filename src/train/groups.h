// Private to src/train: runs an elementwise optimizer update over every parameter group in
// one parallel region (GPT-2 has ~100 groups; a region each would be ~100 fork/joins per
// step, each a chance to wait for a descheduled thread). Not for reductions: the chunks
// a float falls into are fixed, but nothing combines results across chunks.
#ifndef ZHUYI_TRAIN_GROUPS_H
#define ZHUYI_TRAIN_GROUPS_H

#include <stddef.h>

#include "zhuyi/optim.h"

// Floats [begin, end) of the flat buffer, all inside group g.
typedef void (*zy__group_fn)(void *ctx, const zy_param_group *g, size_t begin, size_t end);

// Calls fn over every float of every group, in chunks of a fixed size within each group,
// on the pool's threads when the groups hold enough floats to pay for them. Groups must
// not overlap; floats outside every group are not visited.
void zy__for_each_group_chunk(const zy_param_group *groups, int ngroups, zy__group_fn fn,
                              void *ctx);

#endif
