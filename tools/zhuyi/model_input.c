// Queries as model input: see model_input.h.
#include "model_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void zy_cli_encoder_init(zy_cli_encoder *e, const char *command, zy_tokenizer *tok,
                         const zy_model_info *info, bool truncate) {
    *e = (zy_cli_encoder){.command = command, .tok = tok, .info = info, .truncate = truncate,
                          .empty_id = -1};
    if (zy_tokenizer_get_type(tok) == ZY_TOKENIZER_BPE)
        e->empty_id = zy_tokenizer_find(tok, "<|endoftext|>", 13);
}

const char *zy_cli_positions_field(const zy_model_info *info) {
    return !strcmp(info->model_type, "gpt2") ? "n_positions" : "max_position_embeddings";
}

static int grow(zy_cli_tokens *t, size_t cap) {
    if (cap <= t->cap) return 0;
    int32_t *ids = realloc(t->ids, cap * sizeof *ids);
    if (ids) t->ids = ids;
    int32_t *types = ids ? realloc(t->types, cap * sizeof *types) : NULL;
    if (types) t->types = types;
    if (!ids || !types) return -1;
    t->cap = cap;
    return 0;
}

int zy_cli_encode(const zy_cli_encoder *e, const zy_cli_reader *r, const zy_cli_query *q,
                  zy_cli_tokens *out) {
    char wb[4200];
    const char *where = zy_cli_query_where(r, q, wb, sizeof wb);
    size_t P = (size_t)e->info->max_positions;
    zy_encode_params p = zy_encode_default_params(); // [CLS] A [SEP] (B [SEP]) for WordPiece
    p.flags = ZY_ENCODE_SPECIAL;
    if (e->truncate) p.max_length = P, p.truncation = ZY_TRUNCATE_LONGEST_FIRST;
    size_t cap = zy_tokenizer_encode_pair_cap(e->tok, q->len, q->pair ? q->pair_len : 0, p);
    if (grow(out, cap + 1))
        return zy_cli_die("%s: %sout of memory encoding %zu bytes", e->command, where, q->len);
    zy_encoding enc = {.ids = out->ids, .type_ids = out->types, .cap = out->cap};
    if (zy_tokenizer_encode_pair(e->tok, q->text, q->len, q->pair, q->pair ? q->pair_len : 0, p,
                                 &enc))
        return zy_cli_die("%s: %s%s", e->command, where, zy_last_error());
    out->n = enc.n;
    out->n_truncated = enc.n_truncated;
    if (out->n == 0) { // byte-level BPE adds nothing around an empty text
        if (e->empty_id < 0)
            return zy_cli_die("%s: %sthe text is empty and the tokenizer has no "
                              "<|endoftext|> to stand for it", e->command, where);
        out->ids[0] = e->empty_id, out->types[0] = 0, out->n = 1;
    }
    if (out->n > P)
        return zy_cli_die("%s: %sthe text is %zu tokens, more than the model's %zu positions "
                          "(%s); shorten it or pass --truncate", e->command, where, out->n, P,
                          zy_cli_positions_field(e->info));
    return 0;
}

void zy_cli_tokens_free(zy_cli_tokens *t) {
    free(t->ids);
    free(t->types);
    *t = (zy_cli_tokens){0};
}

zy_batch zy_cli_batch(const zy_cli_tokens *rows, int B, int *ids, int *types, int *lengths) {
    int T = 1;
    for (int b = 0; b < B; b++) T = rows[b].n > (size_t)T ? (int)rows[b].n : T;
    for (int b = 0; b < B; b++) {
        int n = (int)rows[b].n;
        lengths[b] = n;
        for (int t = 0; t < T; t++) {
            ids[(size_t)b * T + t] = t < n ? rows[b].ids[t] : 0;
            types[(size_t)b * T + t] = t < n ? rows[b].types[t] : 0;
        }
    }
    return (zy_batch){.B = B, .T = T, .input_ids = ids, .token_type_ids = types,
                      .lengths = lengths};
}
