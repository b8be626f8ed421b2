// Internals of the tokenizers shared by src/text/*.c (not public API).
// tokenizer.c owns the struct (vocab, merges, added tokens, special roles, the
// post-processor template) for both kinds; pretok.c is the GPT-2 pre-tokenizer scanner;
// bytelevel.c is GPT-2's byte <-> unicode mapping; bpe_merge.c applies merges to one word;
// encode.c adds the cache and threads; load.c/save.c/train.c are the BPE file formats and
// the trainer. WordPiece's parts are declared in wordpiece.h; encode_pair.c is the
// pair/truncation/padding layer over either kind.
#ifndef ZHUYI_TEXT_BPE_H
#define ZHUYI_TEXT_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "zhuyi/tokenizer.h"

#define ZY__TOK_MAX_ID (1 << 24)   // ids must fit easily in int32 and in the merge key
#define ZY__TOK_MAX_LEN 65535      // bytes of one token (tok_add refuses longer ones)
#define ZY__TOK_CACHE_SLOTS 64     // per-thread word caches for parallel encode
#define ZY__TOK_CACHE_WORD_MAX 128 // longer words are not cached

// ---- GPT-2 pre-tokenizer ----------------------------------------------------------------
// Length in bytes of the pre-token starting at text[0..len) (len > 0); always >= 1.
size_t zy__pretok_next(const uint8_t *text, size_t len);
// Character classes the scanner uses (exposed for tests): 0 other, 1 letter, 2 number,
// 3 whitespace. *n receives the UTF-8 length (1 for an invalid byte, which is "other").
int zy__pretok_class(const uint8_t *text, size_t len, size_t *n);
// Class of a code point (no UTF-8 involved).
int zy__pretok_class_cp(int32_t cp);

// ---- byte-level mapping ---------------------------------------------------------------
// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 to
// U+0100.. in byte order. Encode raw bytes into the UTF-8 of their mapped characters
// (out needs 2 * n bytes); returns the output length.
size_t zy__bytelevel_encode(const uint8_t *in, size_t n, char *out);
// Decode a byte-level string back to raw bytes (out needs n bytes). Returns the raw
// length, or -1 if a character is outside the 256-character alphabet (or bad UTF-8).
long zy__bytelevel_decode(const char *in, size_t n, uint8_t *out);

// ---- hashing ----------------------------------------------------------------------------
static inline uint64_t zy__hash_bytes(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull ^ n; // FNV-1a, then a final mix
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}
static inline uint64_t zy__hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}
static inline uint64_t zy__pair_key(int32_t a, int32_t b) {
    return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

// ---- the word cache ---------------------------------------------------------------------
// word bytes -> ids, open addressing; cleared when full (simple, bounded memory).
typedef struct zy__tok_cache {
    uint64_t *hash; // (cap) 0 = empty slot
    uint32_t *word_off, *ids_off; // (cap) into bytes / ids pools
    uint16_t *word_len, *n_ids;   // (cap)
    uint8_t *bytes;
    int32_t *ids;
    size_t cap, used, bytes_used, bytes_cap, ids_used, ids_cap;
} zy__tok_cache;

// ---- WordPiece settings -----------------------------------------------------------------
#define ZY__WP_TOKEN_MAX 1024 // longest WordPiece vocabulary token, in bytes
typedef struct zy__wp {
    uint8_t lowercase, chinese; // BertNormalizer's options
    int8_t strip_accents;   // 1 / 0, -1: follows lowercase
    uint8_t cleanup;        // decoder: " ." -> "." etc.
    int32_t max_chars;      // max_input_chars_per_word: longer words are [UNK]
    char prefix[16];        // continuing_subword_prefix ("##"), NUL-terminated
    size_t prefix_len;
    size_t max_len;         // longest token in bytes: bounds the greedy search
} zy__wp;

// ---- post-processor template (TemplateProcessing) ---------------------------------------
#define ZY__TPL_MAX 16
typedef struct zy__tpl_piece {
    int8_t seq;      // 0 = text A, 1 = text B, -1 = the special token id
    uint8_t type_id;
    int32_t id;
} zy__tpl_piece;
typedef struct zy__template {
    zy__tpl_piece single[ZY__TPL_MAX], pair[ZY__TPL_MAX];
    int n_single, n_pair; // 0, 0: no template (adds nothing; pair types 0 then 1)
} zy__template;

// ---- the tokenizer ----------------------------------------------------------------------
struct zy_tokenizer {
    zy_tokenizer_type type;
    zy__wp wp;            // WordPiece only
    zy__template tpl;
    int32_t special[ZY_SPECIAL_COUNT];        // role -> id, -1 none
    char special_name[ZY_SPECIAL_COUNT][64];  // role -> token text, for messages
    char source[256];     // the file it came from, for messages
    int32_t n_vocab;      // max id + 1
    uint32_t *tok_off;    // (n_vocab) offset of each token's raw bytes in pool
    uint32_t *tok_len;    // (n_vocab) UINT32_MAX for an unused id
    uint8_t *tok_added;   // (n_vocab) 0 ordinary, 1 added, 2 added + special
    char *pool;
    size_t pool_len, pool_cap;
    int32_t *find;        // (find_cap) raw bytes -> id, open addressing, -1 empty
    size_t find_cap;
    int32_t byte_id[256]; // the single-byte tokens (all 256 required)
    int32_t n_merges;
    int32_t *merge_a, *merge_b, *merge_c; // (n_merges) in rank order; c = merged token
    size_t merge_cap;
    uint64_t *mkey;       // (mcap) pair key -> rank via mrank; UINT64_MAX empty
    int32_t *mrank;
    size_t mcap;
    int32_t *added;       // (n_added) ids of added tokens, in file order
    int32_t n_added;
    size_t added_max_len; // longest added token, for matching in text
    uint8_t added_first[256]; // bytes an added token can start with
    zy__tok_cache cache[ZY__TOK_CACHE_SLOTS];
};

// Build steps shared by the loaders and the trainer. zy__tok_create makes an empty
// tokenizer for ids below n_vocab; add tokens (raw bytes), then merges, then finish.
// It is a BPE tokenizer until the caller sets type (and wp) before zy__tok_finish.
zy_status zy__tok_create(zy_tokenizer **out, int32_t n_vocab);
// Record where the tokenizer came from (for error messages).
void zy__tok_set_source(zy_tokenizer *t, const char *path);
// The longest added token starting at s[0..len), or -1.
int32_t zy__tok_match_added(const zy_tokenizer *t, const uint8_t *s, size_t len);
// what names the source for error messages ("vocab.json", "tokenizer.json: model.vocab").
zy_status zy__tok_add(zy_tokenizer *t, int32_t id, const uint8_t *bytes, size_t len,
                      int added, const char *what);
zy_status zy__tok_add_merge(zy_tokenizer *t, int32_t a, int32_t b, const char *what,
                            long line);
// BPE: checks all 256 single bytes have tokens. Builds the lookup tables and the list
// of added tokens, and (BPE) gives <|endoftext|> the BOS/EOS roles.
zy_status zy__tok_finish(zy_tokenizer *t, const char *what);
// Rank of merging (a, b), or -1.
static inline int32_t zy__tok_rank(const zy_tokenizer *t, int32_t a, int32_t b) {
    uint64_t k = zy__pair_key(a, b);
    size_t m = t->mcap - 1, i = zy__hash_u64(k) & m;
    for (;;) {
        if (t->mkey[i] == k) return t->mrank[i];
        if (t->mkey[i] == UINT64_MAX) return -1;
        i = (i + 1) & m;
    }
}

// ---- BPE on one word --------------------------------------------------------------------
// Merge the raw bytes word[0..n) into ids (n entries of room); returns the count.
// scratch needs zy__bpe_scratch_size(n) bytes. Exactly GPT-2's bpe(): repeatedly take the
// lowest-ranked adjacent pair and merge all its occurrences left to right.
// id/next/prev/merged (4 x int32) and a heap of up to 3n (rank, pos) int32 pairs.
#define ZY__BPE_SCRATCH(n) ((n) * 4 * sizeof(int32_t) + 3 * (n) * 2 * sizeof(int32_t) + 64)
size_t zy__bpe_scratch_size(size_t n);
size_t zy__bpe_word(const zy_tokenizer *t, const uint8_t *word, size_t n, int32_t *ids,
                    void *scratch);
// The two algorithms behind it, exposed so tests can compare them: a rescan per merge
// (short words) and a heap (long words, O(n log n)).
size_t zy__bpe_word_scan(const zy_tokenizer *t, const uint8_t *word, size_t n, int32_t *ids);
size_t zy__bpe_word_heap(const zy_tokenizer *t, const uint8_t *word, size_t n, int32_t *ids,
                         void *scratch);


// ---- encoding with byte offsets (encode_pair.c's source of tokens) ---------------------
// text -> ids[0..*n) and, when offsets is not NULL, offsets[2i], [2i+1] = the byte range
// of token i. Room for cap tokens; more is ZY_STATUS_INVALID_ARGUMENT.
zy_status zy__tok_encode_spans(zy_tokenizer *t, const uint8_t *s, size_t len, unsigned flags,
                               int32_t *ids, size_t *offsets, size_t cap, size_t *n);

// ---- encoding many texts at once (src/data/pairs_encode.c) ------------------------------
// zy_tokenizer_encode with word cache `slot` (0 <= slot < ZY__TOK_CACHE_SLOTS): calls with
// different slots may run at the same time on one tokenizer (what encode_parallel's
// chunks do), so a zy__parallel chunk passes its thread index.
zy_status zy__tok_encode_slot(zy_tokenizer *t, int slot, const char *text, size_t len,
                              unsigned flags, int32_t *ids, size_t cap, size_t *n_ids);

// ---- the merge loop both trainers share (train.c) ---------------------------------------
// Words are symbol sequences sym[off[w] .. off[w] + len[w]) with frequency freq[w]
// (sym and len are rewritten as merges happen). Each step takes the most frequent
// adjacent pair (ties: smaller (a, b)) and asks fn which symbol it becomes: fn returns
// that id, -1 to stop, or -2 after setting an error (its status in *st).
typedef int32_t (*zy__merge_fn)(void *ctx, int32_t a, int32_t b, zy_status *st);
zy_status zy__merge_learn(int32_t *sym, const uint32_t *off, int32_t *len, const int64_t *freq,
                          size_t n_words, int64_t min_frequency, int32_t max_merges,
                          zy__merge_fn fn, void *ctx, zy_tokenizer_progress_fn progress,
                          void *user, int32_t *n_merges);

#endif
