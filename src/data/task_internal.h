// Shared between the fine-tuning data files (task_data.c: the dataset, labels, rows;
// task_csv.c, task_jsonl.c, task_conll.c: the readers; task_features.c, task_qa.c:
// encoding; task_source.c: batches), and with instruct_read.c (the reading of a file of
// rows: its report, JSON lines). Private to src/data.
#ifndef ZHUYI_DATA_TASK_INTERNAL_H
#define ZHUYI_DATA_TASK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "zhuyi/task.h"

struct zy_label_set {
    char **names;   // (n) NUL-terminated, id order
    size_t *lens;
    int n, cap;
    int32_t *slots; // (n_slots) open-addressing hash of ids, -1 empty
    int n_slots;
};

struct zy_task_data {
    zy_task task;
    zy_task_problem problem;
    zy_task_read_params p;   // the caller's (strings borrowed during the read only)
    const char *name;        // the file, for messages (a copy: path)
    char *path;
    zy_task_example *ex;     // (n) each owns the arrays it points to
    size_t n, cap;
    zy_label_set *labels;    // the given set (copy), or the names seen (sorted at the end)
    bool labels_given;
    bool labelled;           // every example carries its labels
    zy_task_read_report report;
};

struct zy_task_features {
    zy_task task;
    zy_task_problem problem;
    int K;                   // values per feature (multi-label: labels; regression: 1)
    bool labelled;
    int pad_id, max_length;
    zy_task_feature *f;      // (n) each owns one block of its arrays (ids first)
    float *values;           // (n x K) or NULL
    size_t n, cap;
    zy_task_feature_stats stats;
};

// A new feature of n tokens at the end of fs, its arrays allocated (ids, type_ids,
// word_ids, offsets, byte_offsets; targets when with_targets), zeroed; NULL + error.
zy_task_feature *zy__task_feature_add(zy_task_features *fs, uint64_t example, int n,
                                      bool with_targets);
// The QA features of example i (task_qa.c).
zy_status zy__task_qa_features(zy_task_features *fs, const zy_task_data *d, size_t i,
                               zy_tokenizer *tok, const zy_task_feature_params *p);
// Byte positions -> character positions in s (pos[0..n), any order; -1 stays -1).
void zy__task_chars(const char *s, size_t len, const int32_t *pos, int32_t *out, int n);

// A label set growing by name (ids in order of first appearance until sorted).
zy_status zy__label_set_new(zy_label_set **out);
// The id of name (added when add is true and it is absent; else -1 in *id).
zy_status zy__label_set_intern(zy_label_set *s, const char *name, size_t len, bool add,
                               int *id);
// Sort the names bytewise; map[old id] = new id (map has n entries).
zy_status zy__label_set_sort(zy_label_set *s, int32_t *map);
zy_status zy__label_set_copy(zy_label_set **out, const zy_label_set *s);

// ---- a file of rows, any kind (task_data.c, task_jsonl.c; instruct_read.c too) -----------
// BAD_FORMAT "NAME: the file is empty" if data[0..len) holds nothing but white space.
zy_status zy__read_nonempty(const char *name, const char *data, size_t len);
// A row error st of a read reporting into r: with skip and st == ZY_STATUS_BAD_FORMAT the
// message is recorded, the row counted and ZY_STATUS_OK returned; otherwise st.
zy_status zy__read_row_error(zy_task_read_report *r, bool skip, zy_status st);
// The error of a read of NAME that kept no example: every row ("rows", "lines": `what`)
// skipped (naming the first reason), or none in the file.
zy_status zy__read_no_example(const char *name, const zy_task_read_report *r,
                              const char *what);
// JSON lines: one(ctx, line, its length, its number from 1) for each line of
// data[0..len) that is not blank (after a UTF-8 byte order mark), until one fails.
zy_status zy__jsonl_each(const char *data, size_t len,
                         zy_status (*one)(void *ctx, const char *s, size_t n, uint64_t line),
                         void *ctx);
// A line s[0..n) of NAME parsed into *out, a JSON object (cJSON_Delete it). Errors: out of
// memory; BAD_FORMAT "NAME:LINE: " not valid JSON, text after the value, not an object.
struct cJSON;
zy_status zy__jsonl_object(const char *name, uint64_t line, const char *s, size_t n,
                           struct cJSON **out);

// ---- rows (task_data.c) ------------------------------------------------------------------
// A new example at the end (zeroed, labels "absent"); NULL + error when out of memory.
zy_task_example *zy__task_begin(zy_task_data *d, uint64_t line);
// Drop the example begun last (after a row error).
void zy__task_drop(zy_task_data *d);
// A row error st: with skip_bad_rows and st == ZY_STATUS_BAD_FORMAT the message is
// recorded, the row counted and ZY_STATUS_OK returned; otherwise st.
zy_status zy__task_row_error(zy_task_data *d, zy_status st);
// Copy a text (validated: UTF-8) into *dst (NUL-terminated). field names it in errors.
zy_status zy__task_text(zy_task_data *d, uint64_t line, const char *field, const char *s,
                        size_t len, const char **dst, size_t *dst_len);
// The example's label from its text form (single: a name; multi: names split at the
// separator; regression: a number). len 0 with !require_labels leaves it unlabelled.
zy_status zy__task_label(zy_task_data *d, zy_task_example *e, const char *field,
                         const char *s, size_t len);
// Multi-label from a list of names.
zy_status zy__task_label_list(zy_task_data *d, zy_task_example *e, const char *field,
                              const char *const *names, const size_t *lens, int n);
// Regression from a number already parsed.
zy_status zy__task_label_value(zy_task_data *d, zy_task_example *e, const char *field,
                               double v);
// Words (and tags, or NULL when unlabelled) of a tagging example; lengths checked.
zy_status zy__task_words(zy_task_data *d, zy_task_example *e, const char *const *words,
                         const size_t *word_lens, const char *const *tags,
                         const size_t *tag_lens, int n, int n_tags);
// QA answers (character starts), checked against the context already set.
zy_status zy__task_answers(zy_task_data *d, zy_task_example *e, const char *const *texts,
                           const size_t *lens, const double *starts, int n);

// The readers: fill d from data[0..len) (never read past it: no NUL is needed). Lines end
// at "\n", "\r\n" or a lone "\r" in every reader but JSONL's (JSON Lines ends them at
// "\n"; a "\r" before it is white space).
zy_status zy__task_read_csv(zy_task_data *d, const char *data, size_t len, char sep);
zy_status zy__task_read_jsonl(zy_task_data *d, const char *data, size_t len);
zy_status zy__task_read_conll(zy_task_data *d, const char *data, size_t len);
zy_status zy__task_read_word_tag(zy_task_data *d, const char *data, size_t len);

// The line at s (n bytes left): the bytes it takes, its end included, and (*text, unless
// NULL) those before its end.
size_t zy__task_line(const char *s, size_t n, size_t *text);

// Characters (code points) in valid UTF-8 s[0..n).
size_t zy__utf8_count(const char *s, size_t n);

// name ends with suffix (lower-case), ASCII case ignored: how readers guess a format from
// a file name (task_read.c).
bool zy__ends_with(const char *name, const char *suffix);

#endif
