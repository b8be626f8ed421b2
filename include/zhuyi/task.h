// zhuyi fine-tuning data: labelled files for three tasks read into examples (classify:
// text [+ pair] -> label(s) or a number; tag: words -> tags; qa: question + context ->
// answer spans), examples encoded into model features (token ids, aligned targets, QA
// windows with their offset maps), and a data source over the features for training and
// evaluation (batches padded to their longest row, bucketed by length).
// docs/FORMATS.md ("Fine-tuning data") states every rule; the comments here are the short
// form. Not here: the heads (src/models), the metrics, the CLI.
//
// What a program does, in order:
//   train:    zy_task_data_read(train, params, NULL)     -> labels built from the file
//             zy_task_data_read(val, params, labels)     -> an unknown label is an error
//             zy_task_features_create(each, tokenizer, fparams)
//             zy_task_source_create(train features, shuffle)  /  (val, one_pass)
//             the label set's names -> config.json id2label
//   evaluate: zy_label_set_create(id2label) -> read(file, labels) -> features -> one-pass
//             source; batch j of the one-pass source holds features [j·B, j·B + B)
//   predict:  as evaluate with require_labels false (labels may be absent); map outputs
//             back with zy_task_feature's example, word_ids and offsets.
#ifndef ZHUYI_TASK_H
#define ZHUYI_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "data.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum zy_task {
    ZY_TASK_CLASSIFY = 0, // sequence classification (and regression)
    ZY_TASK_TAG = 1,      // token classification: a tag per word
    ZY_TASK_QA = 2,       // extractive question answering
} zy_task;

typedef enum zy_task_format {
    ZY_TASK_FORMAT_AUTO = 0, // from the file name: .csv, .tsv/.tab, .jsonl/.json/.ndjson,
                             // .conll/.conll03/.bio/.iob/.iob2; .txt for tag: word/TAG when
                             // every token of the first line holds a '/', else CoNLL
    ZY_TASK_FORMAT_CSV = 1,
    ZY_TASK_FORMAT_TSV = 2,
    ZY_TASK_FORMAT_JSONL = 3,
    ZY_TASK_FORMAT_CONLL = 4,    // "word ... TAG" lines, blank line between sentences
    ZY_TASK_FORMAT_WORD_TAG = 5, // "w1/T1 w2/T2 ..." a sentence a line
} zy_task_format;

typedef enum zy_task_problem {
    ZY_PROBLEM_SINGLE_LABEL = 0, // one label per example (cross-entropy)
    ZY_PROBLEM_MULTI_LABEL = 1,  // a set of labels per example (BCE over K)
    ZY_PROBLEM_REGRESSION = 2,   // a number per example (MSE)
} zy_task_problem;

// "csv", "tsv", "jsonl", "conll", "word-tag", "auto"; and the reverse (ZY_STATUS_NOT_FOUND
// for an unknown name).
const char *zy_task_format_name(zy_task_format f);
zy_status zy_task_format_parse(const char *name, zy_task_format *out);
const char *zy_task_problem_name(zy_task_problem p); // "single_label_classification",
// "multi_label_classification", "regression" (Hugging Face's problem_type values)

// ---- label sets -------------------------------------------------------------------------
// Names <-> ids. Built from a training file the ids follow the names sorted bytewise
// (strcmp order: "B-LOC" < "B-PER" < "I-LOC" < "O"; "neg" < "pos"; "-1" < "1"), so the
// same file always gives the same ids; given by the caller (a model's id2label) they
// keep the caller's order.
typedef struct zy_label_set zy_label_set;

// names[0..n) in id order, copied. Errors: n < 1, an empty or duplicate name, invalid UTF-8.
zy_status zy_label_set_create(zy_label_set **out, const char *const *names, int n);
void zy_label_set_free(zy_label_set *s);
int zy_label_set_count(const zy_label_set *s);
const char *zy_label_set_name(const zy_label_set *s, int id); // NULL outside [0, count)
int zy_label_set_find(const zy_label_set *s, const char *name, size_t len); // -1 if absent

// ---- reading files into examples -------------------------------------------------------
typedef struct zy_task_read_params {
    zy_task task;
    zy_task_format format;    // AUTO: from the file name
    zy_task_problem problem;  // classify only
    // CSV/TSV columns and JSONL keys. classify: text_column ("text"), text_pair_column
    // (NULL: single texts), label_column ("label"). tag (JSONL): tokens_key ("tokens"),
    // tags_key ("tags"). qa (JSONL): id, context, question, answers (fixed names).
    const char *text_column, *text_pair_column, *label_column;
    const char *tokens_key, *tags_key;
    char label_separator;     // multi-label CSV/TSV: labels in one field split at this
                              // byte (','), empty parts ignored
    bool require_labels;      // true: every example needs its label(s) (train, evaluate);
                              // false: absent labels are allowed (predict)
    bool skip_bad_rows;       // count bad rows (zy_task_read_report) instead of failing
} zy_task_read_params;

// task classify, format AUTO, single label, "text", NULL, "label", "tokens", "tags", ',',
// require_labels true, skip_bad_rows false.
zy_task_read_params zy_task_read_default_params(zy_task task);

// One example: views into the dataset, valid while it lives. Texts are valid UTF-8 and
// NUL-terminated (the length excludes the NUL).
typedef struct zy_task_example {
    uint64_t line;            // 1-based line of the file where the example starts
    const char *id;           // qa: the "id" field ("" if none); others ""
    const char *text;         // classify: the text; qa: the context; tag: NULL
    size_t text_len;
    const char *pair;         // classify: the text pair or NULL; qa: the question
    size_t pair_len;
    int label;                // single label: its id; -1 when unlabelled
    int n_labels;             // multi-label: distinct ids, ascending; -1 when unlabelled
    const int32_t *labels;
    float value;              // regression; NAN when unlabelled
    int n_words;              // tag
    const char *const *words;
    const size_t *word_lens;
    const int32_t *tags;      // (n_words) ids, or NULL when unlabelled
    int n_answers;            // qa: -1 when unlabelled; 0 = no answer (SQuAD 2.0)
    const char *const *answer_texts;
    const size_t *answer_lens;
    const size_t *answer_starts;      // character (code point) offsets into the context
    const size_t *answer_byte_starts; // the same in bytes
} zy_task_example;

typedef struct zy_task_data zy_task_data;

// What a read did: examples kept, rows skipped (skip_bad_rows) and why the first
// ZY_TASK_REPORT_REASONS were skipped (each message names file and line).
#define ZY_TASK_REPORT_REASONS 4
typedef struct zy_task_read_report {
    uint64_t n_examples, n_skipped;
    int n_reasons;
    char reasons[ZY_TASK_REPORT_REASONS][256];
} zy_task_read_report;

// Read path into examples. labels: NULL builds the label set from the file (sorted, see
// above; none for regression); otherwise the file is read against it (copied) and a label
// outside it is an error naming file, line and the label. Errors (ZY_STATUS_BAD_FORMAT
// unless said) name the file and line, and the column or field: unreadable file
// (ZY_STATUS_IO), an empty file or no example, a header lacking a column
// (ZY_STATUS_NOT_FOUND), a row with another number of fields than the header, an
// unterminated quote, a JSON line that does not parse or lacks a field, invalid UTF-8,
// a missing or empty label where labels are required, a regression value that is not a
// finite number, tokens and tags of different lengths, a CoNLL line whose column count
// differs from the file's first line, a word/TAG token without '/', an answer whose text
// is not at answer_start in the context, an unknown label. With skip_bad_rows, row-level
// errors skip the row (CSV row, JSON line, sentence) and are counted; the structure of a
// file (missing column, broken quoting, empty file) still fails.
zy_status zy_task_data_read(zy_task_data **out, const char *path,
                            const zy_task_read_params *p, const zy_label_set *labels);
// The same on bytes in memory; name stands for the file in messages and picks the format
// when it is AUTO.
zy_status zy_task_data_read_buffer(zy_task_data **out, const char *name, const char *data,
                                   size_t len, const zy_task_read_params *p,
                                   const zy_label_set *labels);
void zy_task_data_free(zy_task_data *d);

zy_task zy_task_data_task(const zy_task_data *d);
zy_task_problem zy_task_data_problem(const zy_task_data *d);
size_t zy_task_data_count(const zy_task_data *d);
const zy_task_example *zy_task_data_example(const zy_task_data *d, size_t i);
// The label set (NULL for regression); owned by the data.
const zy_label_set *zy_task_data_labels(const zy_task_data *d);
// True when every example carries its label(s).
bool zy_task_data_labelled(const zy_task_data *d);
const zy_task_read_report *zy_task_data_report(const zy_task_data *d);

// ---- features --------------------------------------------------------------------------
typedef struct zy_task_feature_params {
    int max_length;   // T: tokens per feature, special tokens included (128)
    int doc_stride;   // qa: tokens shared by consecutive windows of a context (32 ... HF
                      // run_qa's 128 with T 384); must be < the context room of a window
    int pad_id;       // the id padding gets in batches; -1: the tokenizer's [PAD], else
                      // its end-of-text token, else 0
} zy_task_feature_params;

zy_task_feature_params zy_task_feature_default_params(void); // 128, 32, -1

// One feature: a row of the model's input. Arrays have n entries (offsets 2n).
typedef struct zy_task_feature {
    uint64_t example;          // index of its example in the data
    int n;                     // tokens (<= max_length)
    const int32_t *ids;
    const int32_t *type_ids;   // 0 first segment, 1 second
    const int32_t *targets;    // tag: tag id on the first piece of each word, -1 elsewhere
                               // (NULL for other tasks or when unlabelled)
    const int32_t *word_ids;   // tag: the word each token came from, -1 for special tokens
    const int32_t *offsets;    // tag and qa: [2i], [2i+1] = character range of token i in
                               // its word (tag) or in the context (qa); -1, -1 for tokens
                               // outside (special tokens, the question)
    const int32_t *byte_offsets; // the same ranges in bytes
    int context_start, context_end; // qa: tokens [start, end) are the context's window
    int span_start, span_end;  // qa: the first answer's tokens (inclusive), 0, 0 when the
                               // window does not hold it whole or there is none; -1, -1
                               // when unlabelled
    int window;                // qa: the window's index within its example (0 otherwise)
    int label;                 // classify, single label: the example's id (-1 unlabelled)
    const float *values;       // classify, multi-label (K) 0/1 or regression (1); NULL
                               // otherwise or when unlabelled
} zy_task_feature;

typedef struct zy_task_feature_stats {
    uint64_t n_features;
    uint64_t n_truncated;        // examples that lost tokens (classify, tag)
    uint64_t n_words_truncated;  // tag: words with no token left in their feature
    uint64_t n_words_empty;      // tag: words the tokenizer turned into no token
    uint64_t n_windows_without_answer; // qa: windows labelled (0, 0)
    uint64_t n_answers_outside;  // qa: labelled examples whose answer no window holds whole
} zy_task_feature_stats;

typedef struct zy_task_features zy_task_features;

// Encode every example of d with tok (not used concurrently elsewhere). classify:
// [CLS] A [SEP] (B [SEP]) through zy_tokenizer_encode_pair, longest-first truncation.
// tag: each word encoded alone (BPE: with a space before it, as add_prefix_space),
// [CLS] pieces [SEP] (WordPiece; BPE adds none), the tag on a word's first piece.
// qa: [CLS] question [SEP] window [SEP], windows of the context's tokens as Hugging
// Face's overflowing tokens with stride = doc_stride (FORMATS.md). The features borrow
// nothing from d or tok. Errors: bad params, a question with no room for a context token
// (naming file and line), out of memory.
zy_status zy_task_features_create(zy_task_features **out, const zy_task_data *d,
                                  zy_tokenizer *tok, const zy_task_feature_params *p);
void zy_task_features_free(zy_task_features *f);
size_t zy_task_features_count(const zy_task_features *f);
const zy_task_feature *zy_task_features_get(const zy_task_features *f, size_t i);
const zy_task_feature_stats *zy_task_features_stats(const zy_task_features *f);

// ---- the data source ---------------------------------------------------------------------
// Batches of features: input_ids (B, T) padded with pad_id after each row's length,
// lengths, token_type_ids, T = the longest row of the batch; and with labelled data:
// labels (single label), values (B, K) 0/1 (multi-label, K = labels) or (B, 1)
// (regression), targets (B, T) (tag, -1 on padding), span_starts/span_ends (qa).
//
// Training (one_pass false): R = world x B rows per global batch; epoch e uses the
// floor(n / R) * R first features of a permutation P_e (Fisher-Yates from a zy_rng seeded
// with zy_hash64(seed ^ ZY_TASK_ORDER_SALT, e) if shuffle, else identity); bucketing
// (bucket_batches k > 0) cuts them into windows of k·R, sorts each window by length,
// longest first (ties: order in P_e), cuts it into global batches of R, and visits the
// epoch's batches in a Fisher-Yates order from zy_hash64(seed ^ ZY_TASK_BATCH_SALT, e)
// (shuffle) or in order. Rank r takes rows [rB, rB + B) of each global batch. The
// position is (epoch, rows taken in it). One pass (evaluation): the features in order,
// global batch j = features [jR, jR + R), the last one short, then batches of 0 rows.
#define ZY_TASK_ORDER_SALT 0x5a595441534b4f52ull // "ZYTASKOR"
#define ZY_TASK_BATCH_SALT 0x5a595441534b4241ull // "ZYTASKBA"

typedef struct zy_task_source_params {
    int batch;          // B rows per rank
    uint64_t seed;
    bool shuffle;
    bool one_pass;      // evaluation (needs shuffle off)
    int bucket_batches; // k: length-sorting windows of k global batches (0: none) (50)
    bool omit_labels;   // no label fields even when the data has them
} zy_task_source_params;

zy_task_source_params zy_task_source_default_params(void); // 8, 12345, shuffle, k 50

// The source borrows f (keep it until the source is freed). n_items = features; the
// fingerprint hashes the features' content and every parameter that changes the order.
// Errors: bad params, fewer features than a global batch (training), no features.
zy_status zy_task_source_create(zy_data_source **out, const zy_task_features *f,
                                const zy_task_source_params *p);

#ifdef __cplusplus
}
#endif
#endif
