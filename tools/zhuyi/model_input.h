// Queries as model input, for the commands that run a model on text (fill-mask, embed,
// attention): each text (and optional second text) encoded as the model expects it --
// WordPiece with [CLS] A [SEP] (B [SEP]) and token types, byte-level BPE as it is -- within
// the model's positions (or truncated), and several of them padded into one batch.
#ifndef ZHUYI_CLI_MODEL_INPUT_H
#define ZHUYI_CLI_MODEL_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "textio.h"
#include "zhuyi/model.h"
#include "zhuyi/tokenizer.h"

typedef struct zy_cli_encoder {
    const char *command;   // for messages
    zy_tokenizer *tok;
    const zy_model_info *info;
    bool truncate;         // cut what exceeds the positions instead of refusing it
    int32_t empty_id;      // BPE: the id an empty text becomes (<|endoftext|>), or -1
} zy_cli_encoder;

// A query's tokens (caller-owned, grown as needed).
typedef struct zy_cli_tokens {
    int32_t *ids, *types;  // (n)
    size_t n, cap;
    size_t n_truncated;    // tokens cut by --truncate
} zy_cli_tokens;

void zy_cli_encoder_init(zy_cli_encoder *e, const char *command, zy_tokenizer *tok,
                         const zy_model_info *info, bool truncate);
// Encode a query (special tokens such as [MASK] written in the text are recognised).
// A text longer than the model's positions is refused, naming the count and the limit
// (unless truncating). 0 on success; prints "zhuyi: COMMAND: [where]why" and returns 1.
int zy_cli_encode(const zy_cli_encoder *e, const zy_cli_reader *r, const zy_cli_query *q,
                  zy_cli_tokens *out);
void zy_cli_tokens_free(zy_cli_tokens *t);

// Rows of tokens padded (right) into a (B, T) batch, T the longest row: input_ids and
// token_type_ids 0 past each length, lengths the rows' lengths. The arrays are the
// caller's: ids and types (B*T), lengths (B).
zy_batch zy_cli_batch(const zy_cli_tokens *rows, int B, int *ids, int *types, int *lengths);

// The config.json field that limits positions, for messages.
const char *zy_cli_positions_field(const zy_model_info *info);

#endif
