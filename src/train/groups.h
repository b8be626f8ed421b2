// Private to src/train: runs an elementwise optimizer update over every parameter range in
// one parallel region (GPT-2 has ~100 of them; a region each would be ~100 fork/joins per
// step, each a chance to wait for a descheduled thread). Not for reductions: the chunks
// a float falls into are fixed, but nothing combines results across chunks.
#ifndef ZHUYI_TRAIN_GROUPS_H
#define ZHUYI_TRAIN_GROUPS_H

#include <stddef.h>

#include "zhuyi/optim.h"

// Floats [begin, end) of the parameters, all inside range r (the state index of float i is
// r->state_offset + (i - r->offset)).
typedef void (*zy__range_update_fn)(void *ctx, const zy_param_range *r, size_t begin,
                                    size_t end);

// Calls fn over every float of every range, in chunks of a fixed size within each range,
// on the pool's threads when the ranges hold enough floats to pay for them. Floats outside
// every range are not visited.
void zy__for_each_range_chunk(const zy_param_range *ranges, int nranges,
                              zy__range_update_fn fn, void *ctx);
// The same over groups (state laid out as the parameters: state_offset = offset).
void zy__for_each_group_chunk(const zy_param_group *groups, int ngroups,
                              zy__range_update_fn fn, void *ctx);

#endif
