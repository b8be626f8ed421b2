// Test helpers shared by the LoRA tests (test_lora*.c): the reference dump's batches, a
// data source that yields one batch forever, and directories (sessions: gpt_util.h's
// zt_session).
#ifndef ZHUYI_TESTS_LORA_UTIL_H
#define ZHUYI_TESTS_LORA_UTIL_H

#include <stdbool.h>

#include "gpt_util.h"
#include "harness.h"
#include "zhuyi/lora.h"
#include "zhuyi/trainer.h"

#define ZT_LORA_REF "tests/ref/lora.zyr"
#define ZT_LORA_GPT_BASE "tests/ref/lora_gpt_base"
#define ZT_LORA_GPT_ADAPTER "tests/ref/lora_gpt_adapter"
#define ZT_LORA_BERT_BASE "tests/ref/lora_bert_base"
#define ZT_LORA_BERT_ADAPTER "tests/ref/lora_bert_adapter"

// The reference batches: GPT (B 2, T 8; ids and targets) and BERT (B 3, T 7; ids, token
// types, lengths, labels). Arrays owned by the struct (zt_lora_batch_free).
typedef struct zt_lora_batch {
    zy_batch b;
    unsigned fields;
} zt_lora_batch;
bool zt_lora_batch_gpt(zt_ref *r, zt_lora_batch *out);
bool zt_lora_batch_bert(zt_ref *r, zt_lora_batch *out);
void zt_lora_batch_free(zt_lora_batch *b);

// A data source yielding b again and again (it copies b).
zy_data_source *zt_lora_source(const zt_lora_batch *b);

// A fresh empty directory /tmp/zy_lora_XXXXXX into buf (cap >= 32); zt_rm_tree removes it.
bool zt_lora_tmpdir(char *buf);

#endif
