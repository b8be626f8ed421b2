// Helpers of the fine-tuning data tests (test_data_task*.c): a tiny WordPiece vocabulary
// the tests write themselves, files in a scratch directory, reads that must fail with a
// message naming file and line.
#ifndef ZHUYI_TESTS_DATA_TASK_UTIL_H
#define ZHUYI_TESTS_DATA_TASK_UTIL_H

#include <stdbool.h>

#include "zhuyi/task.h"

// The tiny vocabulary, in id order ([PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4, ...).
extern const char *const ZT_TASK_VOCAB[];
extern const int ZT_TASK_VOCAB_N;
enum { ZT_PAD = 0, ZT_UNK = 1, ZT_CLS = 2, ZT_SEP = 3 };

// A WordPiece tokenizer over vocab[0..n) (written as vocab.txt to a scratch dir), or NULL
// and a recorded failure.
zy_tokenizer *zt_task_wordpiece(const char *const *vocab, int n);
// The id of a token of ZT_TASK_VOCAB (-1 if absent).
int zt_task_id(const char *token);
// Write text to the scratch directory as `name`; returns the path (static per name slot,
// valid until the test ends).
const char *zt_task_file(const char *name, const char *text);
// Read text as file `name` (written, then zy_task_data_read); NULL and a failure noted
// with the message on error.
zy_task_data *zt_task_read(const char *name, const char *text, const zy_task_read_params *p,
                           const zy_label_set *labels);
// The read must fail with status st and a message holding every string of `needles`
// (NULL-terminated list); true if so (failures recorded otherwise).
bool zt_task_fails(const char *name, const char *text, const zy_task_read_params *p,
                   const zy_label_set *labels, zy_status st, const char *const *needles);

#endif
