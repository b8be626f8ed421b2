// Test helpers shared by the BERT tests: a BERT of any size through the generic model
// interface (config.json fields in a zy_config) and sessions with or without the kept
// attention weights.
#ifndef ZHUYI_TESTS_BERT_UTIL_H
#define ZHUYI_TESTS_BERT_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "zhuyi/model.h"

typedef struct zt_bert_dims {
    const char *arch; // "BertForPreTraining", "BertForMaskedLM", "BertModel" (NULL: absent)
    int L, H, C, FF, P, TV, V;
    float dropout;    // hidden_dropout_prob and attention_probs_dropout_prob
} zt_bert_dims;

// A BERT config.json (model_type "bert") with these sizes; NULL (and a test failure) on
// error.
zy_config *zt_bert_config(const zt_bert_dims *d);
// A model from zt_bert_config with weights initialised from seed; NULL on failure.
zy_model *zt_bert_create(const zt_bert_dims *d, uint64_t seed);
// A session prepared for B x T (training: with gradients; attention: keep the weights).
zy_session *zt_bert_session(const zy_model *m, int B, int T, bool training, bool attention);

#endif
