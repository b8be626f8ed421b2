// The per-query cores of the commands that run a model on texts -- embed.c, fill_mask.c,
// attention.c, predict.c, translate.c -- apart from their flags and their output, so that
// `zhuyi serve` (serve_encode.c) runs the same code on a request's texts and gives the
// same numbers. Each core is defined in its command's file. Errors go through
// zy_cli_die ("zhuyi: COMMAND: ..." on stderr, or the thread's capture: zy_cli_capture)
// and return 1.
#ifndef ZHUYI_CLI_QUERY_RUN_H
#define ZHUYI_CLI_QUERY_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kind.h"
#include "model_input.h"
#include "strbuf.h"
#include "zhuyi/zhuyi.h"

// ---- embed.c -------------------------------------------------------------------------
typedef enum zy_cli_pooling {
    ZY_CLI_POOL_MEAN,   // the mean of the last hidden states over the text's tokens
    ZY_CLI_POOL_CLS,    // the [CLS] hidden state
    ZY_CLI_POOL_POOLED, // BERT's pooler output
    ZY_CLI_POOL_LAST,   // the last token's hidden state
} zy_cli_pooling;

// "mean", "cls", "pooled", "last" -> *out; -1 for another name.
int zy_cli_pooling_parse(const char *name, zy_cli_pooling *out);

typedef struct zy_cli_embedder {
    const char *command, *dir;   // for messages
    const zy_model_info *info;
    zy_cli_pooling pool;
    bool normalize;              // unit L2 norm
    int batch;                   // rows per forward
    zy_session *s;
    int *ids, *types, *lengths;  // (batch, max_positions), (batch)
} zy_cli_embedder;

// A session and batch arrays for m; refuses a pooling the tokenizer cannot give (cls
// without a [CLS]). 0, or 1 after a message (nothing to free then... but free is safe).
int zy_cli_embedder_init(zy_cli_embedder *e, const char *cmd, const char *dir,
                         zy_model *m, zy_tokenizer *tok, zy_cli_pooling pool, bool normalize,
                         int batch);
// rows[0..B) (B <= batch) -> vec (B, d_model): pooled, normalized when asked. A vector
// holding NaN or infinity is an error. 0, or 1 after a message.
int zy_cli_embedder_run(zy_cli_embedder *e, const zy_cli_tokens *rows, int B, float *vec);
void zy_cli_embedder_free(zy_cli_embedder *e);

// ---- fill_mask.c ---------------------------------------------------------------------
typedef struct zy_cli_fill_cand {
    float logit;
    int id;
} zy_cli_fill_cand;

typedef struct zy_cli_masker {
    const char *command, *dir;   // for messages
    zy_tokenizer *tok;
    const zy_model_info *info;
    int32_t mask;                // [MASK]'s id
    zy_session *s;
    zy_cli_fill_cand *cands;     // (vocab_size)
} zy_cli_masker;

// Refuses a model without a WordPiece tokenizer holding [MASK] or without a masked-LM
// head ("mlm_logits"). 0, or 1 after a message (free is safe either way).
int zy_cli_fill_mask_init(zy_cli_masker *f, const char *cmd, const char *dir, zy_model *m,
                          zy_tokenizer *tok);
// One query's tokens (where: a prefix for messages, "" for none): for each [MASK] in
// order, on_mask(user, cands, lse) with every token ranked (best first; ties to the
// smaller id) and lse = log sum exp of the logits (a score is exp(logit - lse)). A text
// without [MASK] is an error. on_mask's non-zero return stops and is returned.
int zy_cli_fill_mask_run(zy_cli_masker *f, const zy_cli_tokens *tk, const char *where,
                         int (*on_mask)(void *user, const zy_cli_fill_cand *cands, double lse),
                         void *user);
// The top k as JSON: [{"token": ..., "id": ..., "score": ...}, ...] (no newline).
void zy_cli_fill_mask_json(zy_strbuf *b, const zy_tokenizer *tok, const zy_cli_fill_cand *cands,
                           int k, double lse);
void zy_cli_fill_mask_free(zy_cli_masker *f);

// ---- attention.c ---------------------------------------------------------------------
// The attention weights a model kept for one text: L layers of (H, T, T), rows the
// queries, and their mean over heads.
typedef struct zy_cli_attn {
    int L, H, T;
    const float **layer; // (L) each (H, T, T), inside the session
    float *mean;         // (L, T, T)
    zy_session *s;
} zy_cli_attn;

#define ZY_CLI_HEAD_MEAN (-1)

// Run m (a session keeping its weights: "attentions.0", ...) on one query's tokens.
// 0, or 1 after a message (a model that keeps none is refused); free it either way.
int zy_cli_attention_run(zy_cli_attn *a, const char *cmd, const char *dir, zy_model *m,
                         const zy_cli_tokens *tk);
// The (T, T) map of a layer and a head (ZY_CLI_HEAD_MEAN: the mean over heads).
const float *zy_cli_attention_map(const zy_cli_attn *a, int layer, int head);
void zy_cli_attention_free(zy_cli_attn *a);

// ---- predict.c -----------------------------------------------------------------------
// A fine-tuned model (classify, tag, qa: the kinds that score outputs) on a file of
// examples, read as the task's files are, in one pass.
typedef struct zy_cli_predictor {
    const cli_kind *k;
    void *opts;          // the kind's options
    cli_data d;          // the examples, their features and scorer
    zy_session *s;
} zy_cli_predictor;

// The model's kind and options (kflags: zy_cli_kind_collect's pairs), the examples of
// file -- or data[0..len) named file, when data is not NULL -- against the model's
// labels, and a session for batches of B rows of T tokens (0: predict's defaults). A
// model of no scoring kind is refused. 0, or 1 after a message (free it either way).
int zy_cli_predict_open(zy_cli_predictor *p, const char *cmd, const char *dir, zy_model *m,
                        zy_tokenizer *tok, const char *const *kflags, int n_kflags,
                        const char *file, const char *data, size_t len, int T, int B);
// The same for an image classifier on n image files held in memory (images[i], sizes[i]
// bytes, named names[i]; name names them all), read, converted and normalised as predict
// reads an image set's files (zhuyi serve's /v1/classify).
int zy_cli_predict_open_images(zy_cli_predictor *p, const char *cmd, const char *dir,
                               zy_model *m, const char *const *kflags, int n_kflags,
                               const char *name, const void *const *images,
                               const size_t *sizes, const char *const *names, size_t n,
                               int B);
// The pass: the predictions, and what io asks for (predict: its JSON lines). 0 or 1.
int zy_cli_predict_run(zy_cli_predictor *p, const cli_score_io *io);
void zy_cli_predictor_free(zy_cli_predictor *p);

// ---- translate.c ---------------------------------------------------------------------
// Translate texts[0..n) with an encoder-decoder: each text tokenized and the model's eos
// appended, texts sorted by length into batches of `batch`, decoded by zy_seq2seq with
// params p. A text longer than the model's positions is cut with a warning on stderr
// (truncate) or refused (not). For each text that has tokens, on_line(user, i, d, k):
// its hypotheses are d's sentence k (zy_seq2seq_n_hyps, zy_seq2seq_hyp_get), valid
// during the call; an empty text (or one of characters the tokenizer drops) gets no
// call. in_name names the input in messages ("line N of IN"; NULL: "input[i]"). progress: show a count of
// sentences on stderr. 0, or 1 after a message (or on_line's non-zero return).
int zy_cli_translate_run(const char *cmd, zy_model *m, zy_tokenizer *tok,
                         const zy_seq2seq_params *p, int batch, char *const *texts, size_t n,
                         const char *in_name, bool truncate, bool progress,
                         int (*on_line)(void *user, size_t i, const zy_seq2seq *d, int k),
                         void *user);
// A hypothesis's tokens as text (the decoder start id, Marian's pad, left out); ids: room
// for max_positions ids. 0, or 1 (zy_last_error, or text->oom).
int zy_cli_translation_text(zy_tokenizer *tok, const zy_seq2seq_hyp *h, int skip, int32_t *ids,
                            zy_strbuf *text);

#endif
