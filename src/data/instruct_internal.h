// Shared between the instruction-data files (instruct.h): instruct_read.c (the JSON-lines
// reader), instruct_template.c (the chat template, rendering and encoding, the record in
// tokenizer_config.json), instruct_rows.c (truncation and packing) and
// instruct_source.c (batches). Private to src/data.
#ifndef ZHUYI_DATA_INSTRUCT_INTERNAL_H
#define ZHUYI_DATA_INSTRUCT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "zhuyi/instruct.h"

// An example owns one block: its messages, then their contents (NUL-terminated).
struct zy_instruct_data {
    char *name;                 // the file, for messages
    zy_instruct_example *ex;    // (n)
    size_t n, cap;
    zy_instruct_read_params p;
    zy_task_read_report report;
};

// Rows one after another: row i is ids/scored [start[i], start[i + 1]).
struct zy_instruct_rows {
    int32_t *ids;               // (n_tokens)
    uint8_t *scored;            // (n_tokens)
    uint64_t *start;            // (n_rows + 1)
    size_t n_rows;
    int seq, longest;           // T; the longest row's inputs (tokens - 1)
    int32_t pad_id;             // the template's end token
    zy_instruct_row_stats stats;
};

// Room for `more` tokens after the n of the parallel arrays *ids, *scored (capacity *cap,
// which doubles, from `first`; both arrays moved together). Errors name `what`.
zy_status zy__tokens_reserve(int32_t **ids, uint8_t **scored, size_t n, size_t *cap,
                             size_t more, size_t first, const char *what);

#endif
