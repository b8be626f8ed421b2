// Shared by `zhuyi generate` and `zhuyi chat` (generate.c, chat.c): the sampling flags,
// a model directory's chat template, and the streaming of generated tokens as text: whole
// UTF-8 characters only, and, with a stop text (the template's "### User:"), nothing of
// it put out: bytes that may begin it are held back until they cannot. The same stream
// serves `zhuyi serve` (text in memory, several stop texts).
#ifndef ZHUYI_CLI_GEN_H
#define ZHUYI_CLI_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "strbuf.h"
#include "zhuyi/instruct.h"
#include "zhuyi/sample.h"

// The help lines of the sampling flags, as both commands print them.
#define ZY_CLI_SAMPLING_HELP                                                               \
    "  --max-tokens N     most tokens to generate (default 100)\n"                         \
    "  --temperature T    softmax temperature; 0 = greedy, the most probable token\n"      \
    "                     every time (default 1.0)\n"                                      \
    "  --top-k K          sample from the K most probable tokens only; 0 = off (default 0)\n" \
    "  --top-p P          sample from the smallest set of most probable tokens whose\n"    \
    "                     probability reaches P (nucleus); 1 = off (default 1.0)\n"        \
    "  --seed S           random seed: the same seed gives the same text (default 1)\n"

// argv[*i] if it is a sampling flag (--max-tokens, --temperature, --top-k, --top-p,
// --seed) with its value: 1 (gp set, *i on the value), 0 if it is not one, -1 after
// printing why the value is bad.
int zy_cli_sampling_flag(const char *cmd, int argc, char **argv, int *i,
                         zy_generate_params *gp);

// The chat template DIR records (DIR/tokenizer_config.json; a GGUF file: its
// zhuyi.chat_template), or NULL: 0, or 1 printed.
int zy_cli_chat_template(const char *cmd, const char *dir, const zy_chat_template **t);

// Stop texts a stream watches for at most (the template's, and OpenAI's "stop" up to 4).
#define ZY_CLI_STOPS_MAX 8

typedef struct cli_stream {
    const zy_tokenizer *tok;
    FILE *out;         // where the text goes as it becomes certain (NULL: only into text)
    bool ids;          // print token ids (space-separated) instead of text (no stop text)
    const char *stop[ZY_CLI_STOPS_MAX]; // stop texts (non-empty), n_stop of them
    size_t stop_len[ZY_CLI_STOPS_MAX];
    int n_stop;
    char *pending;     // bytes not out yet: an unfinished character, a possible stop
    size_t n_pending, cap;
    bool stopped;      // a stop text was generated (and not put out)
    bool failed;       // writing out failed
    int last;          // the last byte put out (-1: none)
    zy_strbuf text;    // the bytes put out since the last reset
} cli_stream;

// A stream to out (stdout for the commands; NULL: text only) with the stop text stop
// (NULL or "": none).
void zy_cli_stream_init(cli_stream *s, const zy_tokenizer *tok, FILE *out, bool ids,
                        const char *stop);
// One more stop text (kept by pointer: it must outlive the stream). 0, or -1 when
// ZY_CLI_STOPS_MAX are set already. An empty text is ignored.
int zy_cli_stream_add_stop(cli_stream *s, const char *stop);
// A zy_generate_fn (user = the stream): puts out what is certain; asks to stop at a stop
// text or when writing fails.
int zy_cli_stream_token(int token, int i, void *user);
// The end of a generation: what was held back is put out (an unfinished character, a
// partial stop text).
void zy_cli_stream_flush(cli_stream *s);
// Ready for the next generation (text emptied, flags cleared).
void zy_cli_stream_reset(cli_stream *s);
void zy_cli_stream_free(cli_stream *s);

#endif
