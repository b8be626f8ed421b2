// Helpers shared by the tensor table tests (defined in test_tensor_table.c).
#ifndef ZHUYI_TESTS_TENSOR_TABLE_H
#define ZHUYI_TESTS_TENSOR_TABLE_H

#include "zhuyi/hf.h"

// An entry definition: N(0, 0.02), whole tensor, shape (s0[, s1[, s2]]).
zy_tensor_def ttt_def(const char *name, int ndim, int64_t s0, int64_t s1, int64_t s2);
// Add d (a recorded failure if refused); its index.
int ttt_add(zy_tensor_table *t, zy_tensor_def d);
// Does zy_last_error() contain part? (Notes the message if not.)
int ttt_has(const char *part);

#endif
