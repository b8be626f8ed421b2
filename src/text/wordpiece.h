// Internals of the WordPiece (BERT) tokenizer shared by src/text/wp_*.c (not public API).
// wp_basic.c is BERT's basic tokenizer (clean, CJK, lower-case, strip accents, split on
// punctuation) over UTF-8 with byte spans; wp_encode.c the greedy longest-match-first
// WordPiece, encoding and decoding; wp_load.c / wp_save.c the files (vocab.txt,
// tokenizer_config.json, the WordPiece tokenizer.json); wp_train.c the trainer.
#ifndef ZHUYI_TEXT_WORDPIECE_H
#define ZHUYI_TEXT_WORDPIECE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "bpe.h"

// ---- character classes (BERT's _clean_text, _is_whitespace, _is_chinese_char, ...) -----
enum {
    ZY__WP_OTHER = 0,
    ZY__WP_SPACE = 1, // ' ' \t \n \r, Zs, U+2028, U+2029: separates words
    ZY__WP_DROP = 2,  // NUL, U+FFFD, categories Cc Cf Cn Co Cs (but \t \n \r): removed
    ZY__WP_PUNCT = 3, // ASCII 33-47 58-64 91-96 123-126, categories P*: a word of its own
    ZY__WP_CJK = 4,   // BERT's CJK ideograph ranges: a word of its own
    ZY__WP_MARK = 5,  // Mn: removed when stripping accents
};
int zy__wp_class(int32_t cp);
// Python's str.lower() of one code point: writes 1 or 2 code points, returns the count.
int zy__wp_lower(int32_t cp, int32_t out[2]);
// Canonical decomposition (NFD) of one code point, recursively: up to 4 code points.
int zy__wp_decompose(int32_t cp, int32_t out[4]);

// A character of a word, with the byte range [start, end) of the input character it
// came from (normalisation can turn one input character into several).
typedef struct zy__wp_char {
    int32_t cp;
    size_t start, end;
} zy__wp_char;

// Growable buffers reused across words (zero-initialise; zy__wp_scratch_free).
typedef struct zy__wp_scratch {
    zy__wp_char *a, *b;
    size_t cap_a, cap_b;
    uint8_t *buf;
    size_t cap_buf;
    size_t *pos;
    size_t cap_pos;
} zy__wp_scratch;
void zy__wp_scratch_free(zy__wp_scratch *sc);

// Called for every word the basic tokenizer produces (w[0..n), n >= 1).
typedef zy_status (*zy__wp_word_fn)(void *ctx, const zy__wp_char *w, size_t n);

// BERT's basic tokenizer on s[0..len) (any bytes; invalid UTF-8 is dropped like U+FFFD)
// with t's options (lowercase, strip_accents, chinese); spans are offset by base.
zy_status zy__wp_basic(const zy__wp *opt, const uint8_t *s, size_t len, size_t base,
                       zy__wp_scratch *sc, zy__wp_word_fn fn, void *ctx);

// ---- encoding ---------------------------------------------------------------------------
zy_status zy__wp_encode(const zy_tokenizer *t, const uint8_t *s, size_t len, unsigned flags,
                        int32_t *ids, size_t *offsets, size_t cap, size_t *n);
zy_status zy__wp_decode(const zy_tokenizer *t, const int32_t *ids, size_t n, char *out,
                        size_t cap, size_t *len);

// ---- files ------------------------------------------------------------------------------
// Default options and names: uncased BERT ([UNK] [CLS] [SEP] [PAD] [MASK], "##", 100).
void zy__wp_defaults(zy_tokenizer *t);
// Resolve the roles from special_name (must be set), check [UNK], mark the role tokens
// special, set BERT's template if none, finish. what names the file in messages.
zy_status zy__wp_finish(zy_tokenizer *t, const char *what);
zy_status zy__wp_load_vocab_txt(zy_tokenizer **out, const char *path,
                                zy_tokenizer_load_params p);
// tokenizer.json with model.type "WordPiece" (root already parsed).
zy_status zy__wp_load_json(zy_tokenizer **out, const char *path, const cJSON *root,
                           zy_tokenizer_load_params p);
// Read tokenizer_config.json beside path (if there) into t's options and special names.
zy_status zy__wp_read_config(zy_tokenizer *t, const char *path);
zy_status zy__wp_save_json(const zy_tokenizer *t, const char *path);
// Apply the caller's overrides (-1 = keep).
void zy__wp_apply_params(zy_tokenizer *t, zy_tokenizer_load_params p);
static inline int zy__wp_strips(const zy__wp *o) {
    return o->strip_accents < 0 ? o->lowercase : o->strip_accents;
}

#endif
