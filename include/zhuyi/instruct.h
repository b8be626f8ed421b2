// zhuyi instruction data: fine-tuning a causal language model on replies. JSON lines of
// {"prompt", "completion"} or {"messages": [{"role", "content"}, ...]} are read into
// conversations, rendered by a chat template into token rows whose targets are the
// replies' tokens only (the rest -1), packed into rows of T + 1 tokens, and served by a
// data source for the trainer and evaluation. The same template renders prompts for
// generation (`zhuyi generate`, `zhuyi chat`), so a model sees at inference exactly the
// token pieces it was trained on. docs/FORMATS.md ("Instruction data") states every rule;
// the comments here are the short form.
//
// Why a header of its own rather than task.h: task.h is the classification / tagging /
// QA family (label sets, features for heads over an encoder or GPT-2's classifier); this
// is language-model data (conversations, a template, next-token rows with a loss mask) for
// the language-model head. They share the read report (zy_task_read_report) only.
//
// What a program does, in order:
//   train:    zy_instruct_data_read(file) -> zy_instruct_rows_create(data, tokenizer,
//             template, seq, packing) -> zy_instruct_source_create(rows, shuffle) ->
//             the trainer; zy_chat_template_save(template, out_dir)
//   evaluate: read -> rows without packing -> one-pass source -> zy_evaluate (the loss
//             is the mean over reply tokens)
//   chat:     zy_chat_template_load(dir) -> zy_chat_encode(messages, generation prompt)
//             -> zy_generate (stop at the end token or at the template's stop text)
#ifndef ZHUYI_INSTRUCT_H
#define ZHUYI_INSTRUCT_H

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

// ---- conversations ------------------------------------------------------------------
typedef enum zy_chat_role {
    ZY_CHAT_SYSTEM = 0,
    ZY_CHAT_USER = 1,
    ZY_CHAT_ASSISTANT = 2,
} zy_chat_role;

// "system", "user", "assistant"; and the reverse (ZY_STATUS_NOT_FOUND for another name).
const char *zy_chat_role_name(zy_chat_role r);
zy_status zy_chat_role_parse(const char *name, zy_chat_role *out);

typedef struct zy_chat_message {
    zy_chat_role role;
    const char *content; // UTF-8, NUL-terminated (len excludes the NUL)
    size_t len;
} zy_chat_message;

// ---- the chat template ----------------------------------------------------------------
// A conversation is rendered as pieces, each encoded on its own (zy_tokenizer_encode
// without ZY_ENCODE_SPECIAL: special-token text inside a message is plain text) and the
// end token as its id, so the tokens of a conversation are the tokens of its messages one
// after another, whatever came before:
//   system     content, system_suffix               (nothing when the content is empty)
//   user       user_prefix, content, user_suffix
//   assistant  assistant_prefix, content*, end_token*
//   generation prompt: assistant_prefix
// Pieces marked * are the reply: their tokens are the scored targets. The built-in
// template "zhuyi-1" renders
//   SYSTEM\n\n### User:\nUSER\n\n### Assistant:\nREPLY<|endoftext|>### User:\n...
// Generation stops at the end token or when the text produced contains `stop`.
typedef struct zy_chat_template {
    const char *name;             // "zhuyi-1"
    const char *system_suffix;    // "\n\n"
    const char *user_prefix;      // "### User:\n"
    const char *user_suffix;      // "\n\n"
    const char *assistant_prefix; // "### Assistant:\n"
    const char *end_token;        // "<|endoftext|>": the special token that closes a reply
    const char *stop;             // "### User:": a reply that writes this is over
    const char *jinja;            // the same text as a Hugging Face chat_template (Jinja)
} zy_chat_template;

// The template written by training when none is asked for ("zhuyi-1").
const zy_chat_template *zy_chat_template_default(void);
// A built-in template by name, or NULL.
const zy_chat_template *zy_chat_template_find(const char *name);

// Which template a model directory was trained with is recorded in DIR/tokenizer_config.json,
// where Hugging Face keeps chat templates: "zhuyi_chat_template" (the name zhuyi reads),
// "chat_template" (t->jinja: transformers' apply_chat_template renders the same text) and
// "eos_token" (t->end_token, if the file had none). Other keys of an existing file are
// kept; the write is atomic.
zy_status zy_chat_template_save(const zy_chat_template *t, const char *dir);
// *out = the template DIR records, or NULL (no tokenizer_config.json, or one without
// "zhuyi_chat_template": a Jinja chat_template alone is not run). Errors: unreadable or
// malformed file (ZY_STATUS_BAD_FORMAT), a template name zhuyi does not know
// (ZY_STATUS_UNSUPPORTED); both name the file.
zy_status zy_chat_template_load(const char *dir, const zy_chat_template **out);

// Tokens of a rendered conversation: ids and, for each, whether it is a reply token
// (a scored target). The caller owns the struct (zero it, or zy_chat_tokens_init);
// zy_chat_encode appends, growing the arrays; zy_chat_tokens_destroy frees them.
typedef struct zy_chat_tokens {
    int32_t *ids;     // (n)
    uint8_t *scored;  // (n) 1: a token of a reply (its content or its end token)
    size_t n, cap;
} zy_chat_tokens;

void zy_chat_tokens_init(zy_chat_tokens *t);
void zy_chat_tokens_destroy(zy_chat_tokens *t);

// Append messages[0..n) rendered by t (n may be 0), then with generation_prompt the
// assistant prefix. Roles are not checked for order (the reader does that for data);
// any sequence renders. Errors: the tokenizer lacks the end token (ZY_STATUS_NOT_FOUND,
// naming it), an unknown role, out of memory.
zy_status zy_chat_encode(const zy_chat_template *t, zy_tokenizer *tok,
                         const zy_chat_message *messages, int n, bool generation_prompt,
                         zy_chat_tokens *out);
// The rendered text (the end token spelled out), NUL-terminated, into a zy_alloc'd
// buffer (zy_free). For display and checks; training encodes piece by piece, which can
// cut tokens differently from encoding this text whole.
zy_status zy_chat_render(const zy_chat_template *t, const zy_chat_message *messages, int n,
                         bool generation_prompt, char **text, size_t *len);

// ---- reading instruction files -------------------------------------------------------
// JSON lines, one example a line (blank lines skipped, a UTF-8 byte-order mark at the start
// skipped), either shape:
//   {"prompt": s, "completion": s, "system": s (optional)}
//       -> [system (if given, non-empty)], user: prompt, assistant: completion
//   {"messages": [{"role": "system"|"user"|"assistant", "content": s}, ...]}
//       a system message only first; at least one assistant message; the last message
//       the assistant's (the reply is what is learnt)
// Other keys are ignored. A reply (completion, assistant content) must not be empty;
// other texts may be. Errors (ZY_STATUS_BAD_FORMAT) name the file, the line and the
// field: not valid JSON, not an object, text after it, neither shape, both shapes,
// missing completion or prompt, a field of the wrong type, an empty messages list, an
// unknown role, a misplaced system message, no reply last, invalid UTF-8, an empty reply.
typedef struct zy_instruct_read_params {
    bool skip_bad_rows; // count bad lines (zy_instruct_data_report) instead of failing
} zy_instruct_read_params;

zy_instruct_read_params zy_instruct_read_default_params(void); // skip_bad_rows false

// One example: views into the data, valid while it lives.
typedef struct zy_instruct_example {
    uint64_t line;                    // 1-based line of the file
    bool prompt_completion;           // read from the prompt/completion shape
    int n_messages;
    const zy_chat_message *messages;  // (n_messages)
} zy_instruct_example;

typedef struct zy_instruct_data zy_instruct_data;

// Errors besides the row errors above: unreadable file (ZY_STATUS_IO), an empty file or
// no example (all lines bad with skip_bad_rows: the first reason is quoted).
zy_status zy_instruct_data_read(zy_instruct_data **out, const char *path,
                                const zy_instruct_read_params *p);
// The same on bytes in memory; name stands for the file in messages.
zy_status zy_instruct_data_read_buffer(zy_instruct_data **out, const char *name,
                                       const char *data, size_t len,
                                       const zy_instruct_read_params *p);
void zy_instruct_data_free(zy_instruct_data *d);
size_t zy_instruct_data_count(const zy_instruct_data *d);
const zy_instruct_example *zy_instruct_data_example(const zy_instruct_data *d, size_t i);
const zy_task_read_report *zy_instruct_data_report(const zy_instruct_data *d);

// ---- rows: rendering, truncation, packing ----------------------------------------------
// Each example is encoded with zy_chat_encode (no generation prompt); it ends with its
// last reply's end token. A row holds at most T + 1 tokens x[0..m): the inputs are
// x[0..m-1), the targets x[1..m), a target scored only where the token is a reply's.
// An example of more than T + 1 tokens keeps its last T + 1 (cut from the front: the
// system text and the oldest turns go first) when its last reply with the end token is
// at most T tokens long (one token before it remains, so the reply's first token is a
// target); otherwise it is left out and counted. Packing: rows are filled with whole
// examples in file order, an example that does not fit the current row starting the next
// (next fit); without packing each example is a row of its own.
typedef struct zy_instruct_rows_params {
    int seq;        // T (128)
    bool packing;   // true
} zy_instruct_rows_params;

zy_instruct_rows_params zy_instruct_rows_default_params(void);

typedef struct zy_instruct_row_stats {
    uint64_t n_examples;   // examples read
    uint64_t n_truncated;  // cut from the front to T + 1 tokens
    uint64_t n_skipped;    // left out: the last reply alone is longer than T tokens
    uint64_t n_rows;
    uint64_t n_tokens;     // tokens in rows
    uint64_t n_scored;     // scored targets in rows
} zy_instruct_row_stats;

typedef struct zy_instruct_rows zy_instruct_rows;

// Encode every example of d with t and tok (not used concurrently elsewhere); the rows
// borrow nothing. Zero rows (every example left out) is not an error here. Errors: bad
// params, the tokenizer lacks the end token, out of memory.
zy_status zy_instruct_rows_create(zy_instruct_rows **out, const zy_instruct_data *d,
                                  const zy_chat_template *t, zy_tokenizer *tok,
                                  const zy_instruct_rows_params *p);
void zy_instruct_rows_free(zy_instruct_rows *r);
size_t zy_instruct_rows_count(const zy_instruct_rows *r);
// Row i: *n tokens, ids and scored flags (scored[0] is always 0: x[0] is no target).
void zy_instruct_rows_get(const zy_instruct_rows *r, size_t i, const int32_t **ids,
                          const uint8_t **scored, int *n);
const zy_instruct_row_stats *zy_instruct_rows_stats(const zy_instruct_rows *r);

// ---- the data source ----------------------------------------------------------------------
// Batches of rows: input_ids (B, T) = x[0..m-1) then the end token's id as padding,
// targets (B, T) = x[t + 1] where scored, else -1 (padding too), lengths (B) = m - 1;
// T = the longest row of the batch (inputs). Training: R = world x B rows per global
// batch; epoch e visits the floor(n / R) * R first rows of a permutation P_e (Fisher-Yates
// from a zy_rng seeded with zy_hash64(seed ^ ZY_INSTRUCT_ORDER_SALT, e) if shuffle, else
// the identity), R per global batch, rank r taking rows [rB, rB + B) of each; the
// position is (epoch, rows taken in it). One pass (evaluation): the rows in order, global
// batch j = rows [jR, jR + R), the last one short, then batches of 0 rows.
#define ZY_INSTRUCT_ORDER_SALT 0x5a59494e53545255ull // "ZYINSTRU"

typedef struct zy_instruct_source_params {
    int batch;      // B rows per rank (8)
    uint64_t seed;  // (12345)
    bool shuffle;   // (true)
    bool one_pass;  // evaluation (needs shuffle off)
} zy_instruct_source_params;

zy_instruct_source_params zy_instruct_source_default_params(void);

// The source borrows r (keep it until the source is freed). n_items = rows; the
// fingerprint hashes the rows and the seed and shuffle. Errors: bad params, no rows,
// fewer rows than a global batch (training).
zy_status zy_instruct_source_create(zy_data_source **out, const zy_instruct_rows *r,
                                    const zy_instruct_source_params *p);

#ifdef __cplusplus
}
#endif
#endif
