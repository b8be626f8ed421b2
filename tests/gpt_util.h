// Test helpers shared by the GPT, trainer and generation tests: a GPT of any size through
// the generic model interface (config.json fields in a zy_config), sessions, and
// batches over caller arrays.
#ifndef ZHUYI_TESTS_GPT_UTIL_H
#define ZHUYI_TESTS_GPT_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "zhuyi/model.h"

// A GPT-2 config.json (model_type "gpt2") with these sizes; NULL (and a test failure) on
// error.
zy_config *zt_gpt_config(int L, int H, int C, int P, int V, float dropout);
// A model from zt_gpt_config with weights initialised from seed; NULL on failure.
zy_model *zt_gpt_create(int L, int H, int C, int P, int V, float dropout, uint64_t seed);
// A session prepared for B x T (training: with gradients); NULL on failure.
zy_session *zt_session(const zy_model *m, int B, int T, bool training);
// A batch over the caller's arrays (targets may be NULL).
zy_batch zt_batch(int *inputs, int *targets, int B, int T);
// The logits (B, T, V) of the session's last forward (NULL if gone).
const float *zt_logits(const zy_session *s);

#endif
