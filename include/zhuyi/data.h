// zhuyi data: the batch every model consumes, the data-source interface the trainer and
// evaluation read batches from, and the first source, a language-model token stream
// (text files -> one stream of ids -> (B, T) windows).
//
// A source is a position in a deterministic sequence of batches: next() returns the batch
// at the position and advances; tell()/seek() save and restore the position exactly (what
// --resume needs); shard(rank, world) makes the source yield only this rank's rows of each
// global batch of world x B rows, with the position counted globally, so a run can
// resume on another number of processes. Every random choice (shuffling, masking) is a
// function of (seed, epoch or step, position), never of hidden state.
#ifndef ZHUYI_DATA_H
#define ZHUYI_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- batches ----------------------------------------------------------------------------
// Rows are right-padded to T. Fields a task does not use are NULL. Ids are ints.
typedef struct zy_batch {
    int B, T;               // rows in this batch and their (padded) length
    int *input_ids;         // (B, T)
    int *targets;           // (B, T) per-token targets (next token, masked token, tag);
                            // -1 = not scored
    int *lengths;           // (B) real tokens per row; NULL: every row has T
    int *token_type_ids;    // (B, T) segment ids (sentence A = 0, B = 1)
    int *labels;            // (B) one class per sequence
    float *values;          // (B, n_values) regression or multi-label targets
    int n_values;
    int *span_starts, *span_ends; // (B) answer spans as token positions
    int T_dec;              // decoder sequence (encoder-decoder models):
    int *dec_input_ids;     // (B, T_dec)
    int *dec_targets;       // (B, T_dec), -1 = not scored
    int *dec_lengths;       // (B)
} zy_batch;

// Which optional fields a batch carries (input_ids always).
enum {
    ZY_BATCH_TARGETS = 1u << 0,
    ZY_BATCH_LENGTHS = 1u << 1,
    ZY_BATCH_TOKEN_TYPES = 1u << 2,
    ZY_BATCH_LABELS = 1u << 3,
    ZY_BATCH_VALUES = 1u << 4,
    ZY_BATCH_SPANS = 1u << 5,
    ZY_BATCH_DECODER = 1u << 6, // dec_input_ids, dec_targets, dec_lengths
};

// The largest batch a source yields and the fields it fills.
typedef struct zy_batch_dims {
    int batch, seq, seq_dec, n_values;
    unsigned fields; // ZY_BATCH_* bits
} zy_batch_dims;

// Allocate the fields dims->fields names at full capacity (B = T = 0 until filled).
// The caller owns the struct; zy_batch_destroy frees the fields.
zy_status zy_batch_init(zy_batch *b, const zy_batch_dims *dims);
void zy_batch_destroy(zy_batch *b);

// ---- data sources -----------------------------------------------------------------------
typedef struct zy_data_source zy_data_source;

// A position: two numbers, enough to continue exactly (their meaning is the source's).
typedef struct zy_data_pos {
    uint64_t epoch, pos;
} zy_data_pos;

typedef struct zy_data_source_info {
    const char *kind;      // e.g. "lm-stream"
    zy_batch_dims dims;    // the batches it yields
    uint64_t n_items;      // tokens or examples: recorded in training states
    uint64_t fingerprint;  // hash of the content: a resumed run refuses other data
    bool one_pass;         // yields each item once, then batches of 0 rows
                           // (evaluation); otherwise it cycles through epochs
} zy_data_source_info;

// An implementation: the generic wrapper checks arguments and the batch's capacity.
typedef struct zy_data_source_ops {
    // Fill b (capacity >= info.dims) with the next batch; b->B = 0 when a one-pass source
    // is done.
    zy_status (*next)(void *impl, zy_batch *b);
    void (*tell)(const void *impl, zy_data_pos *pos);
    zy_status (*seek)(void *impl, zy_data_pos pos);
    zy_status (*shard)(void *impl, int rank, int world);
    void (*free)(void *impl);
} zy_data_source_ops;

// Wraps impl (which the source then owns: ops->free releases it with the source).
zy_status zy_data_source_create(zy_data_source **out, const zy_data_source_ops *ops,
                                void *impl, const zy_data_source_info *info);
void zy_data_source_free(zy_data_source *s);
const zy_data_source_info *zy_data_source_get_info(const zy_data_source *s);
zy_status zy_data_source_next(zy_data_source *s, zy_batch *b);
void zy_data_source_tell(const zy_data_source *s, zy_data_pos *pos);
// ZY_STATUS_INVALID_ARGUMENT if pos is not a position this source can have.
zy_status zy_data_source_seek(zy_data_source *s, zy_data_pos pos);
// Yield rows [rank*B, (rank+1)*B) of each global batch of world*B rows (0 <= rank < world).
zy_status zy_data_source_shard(zy_data_source *s, int rank, int world);

// ---- the language-model token stream ------------------------------------------------------
// Read files[0..n) whole and encode each as one token stream (plain text: special-token
// strings in the text are ordinary bytes), joined by the tokenizer's "<|endoftext|>" id
// when there are several files and it has one. Any bytes are accepted (invalid UTF-8
// too: byte-level BPE encodes every byte). *tokens is allocated with zy_alloc (zy_free).
// Errors: unreadable file (ZY_STATUS_IO), a file with no bytes (ZY_STATUS_BAD_FORMAT).
zy_status zy_dataset_encode_files(zy_tokenizer *tok, const char *const *files, int n,
                                  int32_t **tokens, size_t *n_tokens);

// Batches of (B, T) windows of one token stream: input_ids = the window, targets = the
// same shifted by one (ZY_BATCH_TARGETS). The source borrows `tokens`.
//
// Sequential (shuffle off; evaluation, and training reproducible anywhere): position p = 0
// at first; a global batch of R = world x B rows reads tokens[p .. p + R·T], row r being
// tokens[p + rT .. p + rT + T] (inputs) and one further (targets); then p += R·T. In
// training, p returns to 0 when fewer than R·T + 1 tokens remain after p. One-pass: every
// full window once (window i = tokens[iT .. iT + T], a shorter tail left out), the last
// batch holding the windows that remain, then batches of 0 rows.
//
// Shuffled (training): the stream is cut into W = (n - 1 - o) / T windows of T + 1 tokens
// (window i starts at o + i·T; consecutive windows share one token), o = 0 in epoch 0 and
// zy_hash64(seed, e) % T in epoch e > 0 (if W stays >= R), so later epochs see other
// cuts. Each epoch visits the windows in the order of a Fisher-Yates permutation drawn
// from a zy_rng seeded with zy_hash64(seed ^ ZY_LM_STREAM_SALT, e), R per global batch;
// when fewer than R remain the next epoch starts. The position is (epoch, windows taken).
#define ZY_LM_STREAM_SALT 0x5a48555942415443ull // "ZHUYBATC"

typedef struct zy_lm_stream_params {
    int batch, seq;  // B rows of T tokens (this rank's share of a global batch)
    bool shuffle;    // seeded random windows (training) or the sequential rule
    uint64_t seed;
    bool one_pass;   // evaluation: each window once (sequential only)
} zy_lm_stream_params;

// Errors: a stream shorter than one global batch (R·T + 1 tokens; one window of T + 1 for
// one-pass), shuffle with one_pass, bad sizes.
zy_status zy_lm_stream_create(zy_data_source **out, const int32_t *tokens, size_t n,
                              const zy_lm_stream_params *p);

// 64-bit hash of n bytes (data fingerprints, parameter hashes; not cryptographic).
uint64_t zy_hash_bytes(const void *data, size_t n);

#ifdef __cplusplus
}
#endif
#endif
