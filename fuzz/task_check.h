// Shared by the fine-tuning data harnesses (fuzz_task_csv.c, fuzz_task_jsonl.c,
// fuzz_task_conll.c): what every read must satisfy, and the features and batches made
// from what was read. Not part of the library or the tests.
#ifndef ZHUYI_FUZZ_TASK_CHECK_H
#define ZHUYI_FUZZ_TASK_CHECK_H

#include <stddef.h>

#include "zhuyi/zhuyi.h"

// A failed read of `name` (text of len bytes): BAD_FORMAT, NOT_FOUND or UNSUPPORTED, no
// data, and a message that starts with the name and, for a row's error, names a line
// "name:N:" with 1 <= N <= the lines of the text.
void ft_check_error(zy_status st, const zy_task_data *d, const char *name, const char *text,
                    size_t len);
// A successful read: counts, lines in range, UTF-8 texts, label ids in range, answers at
// their offsets, one tag per word; report consistent.
void ft_check_data(const zy_task_data *d, const char *text, size_t len);
// Features of d at max_length T (and doc_stride for QA) with a small WordPiece vocabulary,
// checked (lengths, tags on first pieces only, spans inside the context or (0, 0)), then
// one epoch of a bucketed training source and a one-pass source over them.
void ft_check_features(const zy_task_data *d, int T, int stride, int batch);

#endif
