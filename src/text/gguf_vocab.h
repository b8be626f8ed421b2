// Internal (src/text/gguf_vocab.c, used by src/models/gguf_*.c): a tokenizer as GGUF's
// tokenizer.ggml.* arrays and back, in the spelling llama.cpp's vocabularies use.
//
// "gpt2" (byte-level BPE): tokens[i] is token i in GPT-2's byte-level spelling (vocab.json's
// "Ġthe"), an added token as its literal text; types[i] is 1 (normal), 3 (control: a
// special added token such as <|endoftext|>), 4 (user-defined: another added token) or 5
// (unused: an id with no token, spelled "[PAD<i>]"); merges[r] is "left right" in rank
// order, both halves byte-level spelled.
//
// "bert" (WordPiece), as llama.cpp's converter spells it ("phantom space"): a special token
// ([CLS], [SEP], ...: type 3) as it is, a continuation "##ing" as "ing", any other token
// "the" as "\u2581the" (type 1); no merges.
#ifndef ZHUYI_TEXT_GGUF_VOCAB_H
#define ZHUYI_TEXT_GGUF_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zhuyi/gguf.h"
#include "zhuyi/tokenizer.h"

// llama.cpp's token types (llama_token_type).
enum {
    ZY__TOKTYPE_NORMAL = 1,
    ZY__TOKTYPE_UNKNOWN = 2,
    ZY__TOKTYPE_CONTROL = 3,
    ZY__TOKTYPE_USER_DEFINED = 4,
    ZY__TOKTYPE_UNUSED = 5,
    ZY__TOKTYPE_BYTE = 6,
};

// The arrays (one allocation of strings behind them; zy__gguf_vocab_free).
typedef struct zy__gguf_vocab {
    int n;             // tokens = the tokenizer's vocabulary size
    const char **tok;  // (n)
    size_t *len;       // (n)
    int32_t *type;     // (n)
    int n_merges;
    const char **merge; // (n_merges)
    size_t *merge_len;  // (n_merges)
    char *pool;
} zy__gguf_vocab;

// t (byte-level BPE) -> its "gpt2" arrays.
zy_status zy__gguf_vocab_bpe(const zy_tokenizer *t, zy__gguf_vocab *out);
// t (WordPiece) -> its "bert" arrays (n_merges 0).
zy_status zy__gguf_vocab_wordpiece(const zy_tokenizer *t, zy__gguf_vocab *out);
// Does t (WordPiece) normalise as llama.cpp's WordPiece always does: lower-casing,
// stripping accents, CJK characters as words? (Other settings give other ids there.)
bool zy__gguf_wordpiece_is_uncased(const zy_tokenizer *t);
void zy__gguf_vocab_free(zy__gguf_vocab *v);

// The "gpt2" arrays of a file -> a byte-level BPE tokenizer. types may be NULL (all
// normal). eos: the id of tokenizer.ggml.eos_token_id, or -1 (<|endoftext|> then, as
// zhuyi's loaders do). Errors (ZY_STATUS_BAD_FORMAT) name `source` and the array element.
zy_status zy__gguf_vocab_load_bpe(zy_tokenizer **out, const zy_gguf_str *tokens, int n,
                                  const int32_t *types, const zy_gguf_str *merges,
                                  int n_merges, int32_t eos, const char *source);

#endif
