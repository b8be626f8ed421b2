// zhuyi parallel text: sentence pairs (a source text and its translation) read from files,
// encoded with a tokenizer, and served as encoder-decoder batches (the MarianMT layout)
// cut by token count from length-sorted buckets. docs/FORMATS.md ("Parallel text") states
// every rule; the comments here are the short form. Not here: the model (src/models), the
// CLI.
//
// What a program does, in order:
//   zy_pairs_read(src file, tgt file or NULL, params)      -> pairs owning their texts
//   zy_pairs_encode(pairs, tokenizer, max lengths)         -> ids (report the truncations)
//   zy_pairs_source_create(ids, max_tokens, special ids)   -> the trainer / zy_evaluate
//
// Why a header of its own rather than task.h: task.h is labelled data for heads over an
// encoder (label sets, features with offsets); this is sequence-to-sequence data for a
// decoder. They share the read report (zy_task_read_report) and its skip-and-count policy.
#ifndef ZHUYI_PAIRS_H
#define ZHUYI_PAIRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "data.h"
#include "task.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- reading pairs ----------------------------------------------------------------------
typedef enum zy_pairs_format {
    ZY_PAIRS_FORMAT_AUTO = 0,  // two files: LINES; one file by its name: .tsv/.tab/.txt
                               // TSV, .jsonl/.json/.ndjson JSONL
    ZY_PAIRS_FORMAT_LINES = 1, // two line-aligned files: line i of one translates line i
                               // of the other
    ZY_PAIRS_FORMAT_TSV = 2,   // "source<TAB>target" a line; no header, no quoting
    ZY_PAIRS_FORMAT_JSONL = 3, // {"src": s, "tgt": s} or {"translation": {L1: s, L2: s}}
} zy_pairs_format;

// "auto", "lines", "tsv", "jsonl"; and the reverse (ZY_STATUS_NOT_FOUND for another name).
const char *zy_pairs_format_name(zy_pairs_format f);
zy_status zy_pairs_format_parse(const char *name, zy_pairs_format *out);

typedef struct zy_pairs_read_params {
    zy_pairs_format format;
    // JSONL: the keys of a {"src": ..., "tgt": ...} line ("src", "tgt"), and the language
    // keys of Hugging Face datasets' {"translation": {"en": ..., "es": ...}} shape (NULL:
    // a line of that shape is an error asking for them; they name which side is which).
    const char *src_key, *tgt_key;
    const char *src_lang, *tgt_lang;
    bool skip_bad_rows; // count bad lines (zy_pairs_report) instead of failing
} zy_pairs_read_params;

// AUTO, "src", "tgt", NULL, NULL, skip_bad_rows false.
zy_pairs_read_params zy_pairs_read_default_params(void);

// One pair: views into the pairs, valid while they live. Texts are valid UTF-8,
// NUL-terminated (the lengths exclude the NUL), not empty, without the line's "\r".
typedef struct zy_pair {
    const char *src, *tgt;
    size_t src_len, tgt_len;
    const char *src_file, *tgt_file; // the files they came from (the same one but for LINES)
    uint64_t line;                   // 1-based (LINES: the same in both files)
} zy_pair;

typedef struct zy_pairs zy_pairs;

// Read one file (TSV, JSONL; tgt_path NULL) or two line-aligned files (LINES) into pairs.
// Lines end at '\n' (a last line without one counts), a trailing "\r" is dropped, and a
// UTF-8 byte-order mark at a file's start is ignored. Errors (ZY_STATUS_BAD_FORMAT unless
// said) name the file and line: an unreadable file (ZY_STATUS_IO), an empty file, files of
// different line counts (both files, both counts), a TSV line without exactly one tab, a
// JSON line that does not parse or lacks its strings, invalid UTF-8, an empty side (no
// byte but ASCII white space; in TSV and LINES a blank line is such a pair), a NUL byte in
// a text, JSONL keys that are equal or absent (ZY_STATUS_INVALID_ARGUMENT), more than
// UINT32_MAX lines (ZY_STATUS_INVALID_ARGUMENT), no pair. With skip_bad_rows the errors of
// a line are counted and the line left out; the file's (line counts, emptiness) still fail.
zy_status zy_pairs_read(zy_pairs **out, const char *src_path, const char *tgt_path,
                        const zy_pairs_read_params *p);
// The same on bytes in memory; the names stand for the files in messages and pick the
// format when it is AUTO. tgt_name NULL: one file (tgt and tgt_len unused).
zy_status zy_pairs_read_buffer(zy_pairs **out, const char *src_name, const char *src,
                               size_t src_len, const char *tgt_name, const char *tgt,
                               size_t tgt_len, const zy_pairs_read_params *p);
void zy_pairs_free(zy_pairs *d);
size_t zy_pairs_count(const zy_pairs *d);
// Pair i (NULL-filled view outside [0, count)).
zy_pair zy_pairs_get(const zy_pairs *d, size_t i);
// Pairs kept, lines skipped and why (the first ZY_TASK_REPORT_REASONS, naming file:line).
const zy_task_read_report *zy_pairs_report(const zy_pairs *d);

// ---- encoding -------------------------------------------------------------------------
typedef struct zy_pairs_encode_params {
    // The longest source row, its eos included, and the longest decoder row (the target
    // and one more position: decoder start in the inputs, eos in the targets): the
    // model's positions. So a source keeps at most max_src - 1 ids, a target max_tgt - 1.
    int max_src, max_tgt;  // 512, 512 (MarianMT)
    bool error_on_long;    // false: cut a longer side to fit, keeping its front, and count
                           // it; true: an error naming file:line
    unsigned flags;        // zy_tokenizer_encode flags (0: special-token text is plain)
} zy_pairs_encode_params;

// 512, 512, truncate, flags 0.
zy_pairs_encode_params zy_pairs_encode_default_params(void);

// The ids of every pair, without eos or decoder start (the source adds them): pair i's
// source is ids[start[2i] .. start[2i+1]), its target ids[start[2i+1] .. start[2i+2]).
// The caller owns the struct (zy_pairs_ids_destroy frees the arrays).
typedef struct zy_pairs_ids {
    uint64_t n;                 // pairs
    int32_t *ids;
    uint64_t *start;            // (2n + 1)
    const zy_pairs *pairs;      // borrowed: files and lines for messages
    uint64_t n_cut_src, n_cut_tgt; // pairs whose source / target was cut (print a warning)
    uint64_t first_cut;         // the first pair cut (if any), for the warning
    int longest_src, longest_tgt; // ids of the longest source / target kept
} zy_pairs_ids;

// Encode both sides of every pair with tok (zy_tokenizer_encode; on the library's threads
// when there are several, with the same ids). A side may encode to no id (WordPiece drops
// control characters): its row is then eos alone, or the decoder start alone. Errors: a
// side too long with error_on_long (file:line, its length and the limit), max_src or
// max_tgt outside [2, 2^24], out of memory. On error *out is empty.
zy_status zy_pairs_encode(zy_pairs_ids *out, const zy_pairs *d, zy_tokenizer *tok,
                          const zy_pairs_encode_params *p);
void zy_pairs_ids_destroy(zy_pairs_ids *t);

// ---- the data source ------------------------------------------------------------------
// Batches for an encoder-decoder (fields ZY_BATCH_LENGTHS | ZY_BATCH_DECODER), per row:
//   input_ids      source ids, eos, then pad_id to T        lengths      source + 1
//   dec_input_ids  decoder_start_id, target ids, pad_id     dec_lengths  target + 1
//   dec_targets    target ids, eos, then -1 to T_dec
// T and T_dec are the batch's longest rows.
//
// Batches. At creation the pairs are sorted by (source length, target length, index) and
// cut greedily in that order: a row joins the current batch while rows x max(T, T_dec)
// stays <= max_tokens and rows <= max_rows (if > 0), else it starts the next one. So the
// batches and their contents are a function of the ids and these two numbers alone. A
// pair whose own row exceeds max_tokens is an error naming it (file:line).
//
// Order. A training epoch e visits the N batches in the order of a Fisher-Yates
// permutation drawn from a zy_rng seeded with zy_hash64(seed ^ ZY_PAIRS_ORDER_SALT, e)
// (shuffle; else in sorted order). The epochs' orders form one stream of batches: a
// global step takes the next `world` batches of it, rank r the r-th, running on into the
// next epoch's order where one ends, so N ranks read what one process reads in N
// accumulated micro-batches, and no batch is left out. One-pass: the batches in sorted order
// once (rank r takes batch k·world + r of step k; a rank past the end gets 0 rows), then
// batches of 0 rows. The position is (epoch, batches taken by all ranks), so tell/seek
// are exact and a run resumes on another number of ranks.
#define ZY_PAIRS_ORDER_SALT 0x5a5950414952534full // "ZYPAIRSO"

typedef struct zy_pairs_source_params {
    int max_tokens;       // rows x max(T, T_dec) <= this, per batch (4096)
    int max_rows;         // at most this many rows per batch; 0: no cap but max_tokens (0)
    uint64_t seed;
    bool shuffle;         // training: each epoch in a seeded order of the batches
    bool one_pass;        // evaluation: every pair once (needs shuffle off)
    int pad_id, eos_id, decoder_start_id; // >= 0; must be set
} zy_pairs_source_params;

// 4096, 0, seed 12345, shuffle on, one_pass off, special ids -1 (set them).
zy_pairs_source_params zy_pairs_source_default_params(void);

// The source borrows ids (keep it until the source is freed). info.dims: batch = the most
// rows of a batch, seq / seq_dec = the longest source / decoder row, tokens = the largest
// rows x max(T, T_dec) of a batch; n_items = the pairs; the fingerprint hashes the ids and
// every parameter that changes the batches or their order (not one_pass). Errors
// (ZY_STATUS_INVALID_ARGUMENT, naming what is wrong): no pairs, bad sizes or ids, a pair
// whose row exceeds max_tokens (file:line), shuffle with one_pass. shard() fails when an
// epoch would have no global step (fewer batches than ranks) in training.
zy_status zy_pairs_source_create(zy_data_source **out, const zy_pairs_ids *ids,
                                 const zy_pairs_source_params *p);

#ifdef __cplusplus
}
#endif
#endif
