// The GPT kind of `zhuyi pretrain` and `zhuyi eval` (kind.h): causal language models on
// one token stream. Training: the files encoded into one stream (joined by
// <|endoftext|>), the held-out fraction taken from its end, shuffled or sequential
// windows (zy_lm_stream); validation and `zhuyi eval`: consecutive windows read once.
// Not here: flags, the loop, saving (pretrain*.c), the evaluation loop (eval.c).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "kind.h"
#include "zhuyi/zhuyi.h"

typedef struct gpt_data {
    int32_t *tokens;    // (n) the training stream, then the held-out part
    int32_t *val_owned; // a --val-data stream
} gpt_data;

static bool gpt_is_model(const zy_model_info *info) { return info->causal_lm; }

static void gpt_free_data(cli_data *d) {
    gpt_data *g = d->impl;
    zy_data_source_free(d->train);
    zy_data_source_free(d->val);
    if (g) {
        zy_free(g->tokens);
        zy_free(g->val_owned);
        free(g);
    }
    *d = (cli_data){0};
}

static int gpt_data_(const void *opts, const cli_data_params *p, cli_data *d) {
    (void)opts;
    gpt_data *g = d->impl = calloc(1, sizeof *g);
    if (!g) return zy_cli_die("out of memory");
    size_t n, n_train, n_val = 0;
    const int32_t *val = NULL;
    if (zy_dataset_encode_files(p->tok, p->files, p->n_files, &g->tokens, &n))
        return zy_cli_die("%s: %s", p->cmd, zy_last_error());
    n_train = n;
    if (p->val_file) {
        const char *one[1] = {p->val_file};
        if (zy_dataset_encode_files(p->tok, one, 1, &g->val_owned, &n_val))
            return zy_cli_die("%s: --val-data: %s", p->cmd, zy_last_error());
        val = g->val_owned;
    } else if (p->val_fraction > 0) {
        n_val = (size_t)floor((double)n * p->val_fraction);
        n_train = n - n_val;
        val = g->tokens + n_train;
        if (n_val < (size_t)p->seq + 1)
            return zy_cli_die("%s: --val-fraction %g holds out %zu of %zu tokens, fewer than "
                              "one sequence needs (%d); use a larger fraction, --val-data "
                              "FILE, or --val-fraction 0 (no validation)", p->cmd,
                              (double)p->val_fraction, n_val, n, p->seq + 1);
    }
    size_t need = (size_t)p->batch * (size_t)p->seq + 1;
    if (n_train < need)
        return zy_cli_die("%s: the training data has %zu tokens%s, fewer than one batch "
                          "needs (batch %d x seq %d + 1 = %zu)", p->cmd, n_train,
                          n_val && !p->val_file ? " after holding out validation" : "",
                          p->batch, p->seq, need);
    zy_lm_stream_params tp = {.batch = p->batch, .seq = p->seq, .shuffle = p->shuffle,
                              .seed = p->seed};
    zy_lm_stream_params vp = {.batch = p->batch, .seq = p->seq, .one_pass = true};
    if (zy_lm_stream_create(&d->train, g->tokens, n_train, &tp) ||
        (n_val && zy_lm_stream_create(&d->val, val, n_val, &vp)))
        return zy_cli_die("%s: %s", p->cmd, zy_last_error());
    d->n_train = n_train;
    d->train_rows = (n_train - 1) / (size_t)p->seq; // windows of seq + 1 tokens
    d->n_val = n_val;
    return 0;
}

// Consecutive windows of T inputs with the next T tokens as targets; T defaults to the
// run's training seq, else the model's n_positions, either less when the text is shorter;
// B to what fits 2048 tokens.
static int gpt_eval_data(const void *opts, const cli_data_params *p, cli_data *d) {
    (void)opts;
    const zy_model_info *c = zy_model_get_info(p->model);
    gpt_data *g = d->impl = calloc(1, sizeof *g);
    if (!g) return zy_cli_die("out of memory");
    size_t n;
    if (zy_dataset_encode_files(p->tok, p->files, p->n_files, &g->tokens, &n))
        return zy_cli_die("%s: %s", p->cmd, zy_last_error());
    int T = p->seq, B = p->batch;
    if (T > c->max_positions)
        return zy_cli_die("%s: --seq %d is longer than the model's context (n_positions %d)",
                          p->cmd, T, c->max_positions);
    if (!T) {
        int P = p->trained_seq > 0 && p->trained_seq < c->max_positions ? p->trained_seq
                                                                        : c->max_positions;
        T = n - 1 < (size_t)P ? (int)(n > 1 ? n - 1 : 1) : P;
    }
    size_t windows = n > 0 ? (n - 1) / (size_t)T : 0;
    if (!windows)
        return zy_cli_die("%s: the data is %zu tokens; one window of --seq %d needs %d", p->cmd,
                          n, T, T + 1);
    if (!B) B = 2048 / T > 0 ? 2048 / T : 1;
    if ((size_t)B > windows) B = (int)windows;
    zy_lm_stream_params sp = {.batch = B, .seq = T, .one_pass = true};
    if (zy_lm_stream_create(&d->val, g->tokens, n, &sp))
        return zy_cli_die("%s: %s", p->cmd, zy_last_error());
    d->batch = B, d->seq = T, d->rows = windows, d->n_val = n;
    return 0;
}

const cli_kind zy_cli_kind_gpt = {
    .verb = "pretrain",
    .name = "gpt",
    .what = "a GPT (GPT-2 architecture) on text: next-token prediction",
    .default_config = "gpt-micro",
    .default_tokenizer = "byte",
    .help =
        "model presets: gpt-nano, gpt-micro, gpt-mini, gpt2-124m, gpt2-medium, gpt2-large,\n"
        "  gpt2-xl (default gpt-micro)\n"
        "tokenizers: byte (256 bytes + <|endoftext|>, the default), bpe:N (learn an N-token\n"
        "  BPE from the training data), or PATH (tokenizer.json, or a directory holding it\n"
        "  or vocab.json + merges.txt)\n"
        "data: each file encoded whole (any bytes, invalid UTF-8 too: byte-level BPE encodes\n"
        "  every byte), several joined by <|endoftext|>; --val-fraction holds out the last\n"
        "  share of the tokens. --no-shuffle: sequential batches: B*T+1 tokens from position\n"
        "  p, p += B*T, back to 0 when fewer than B*T+1 remain (default: windows in a seeded\n"
        "  random order, a new order each epoch)\n",
    .unit = "tokens",
    .eval_unit = "tokens",
    .loss_metric = NULL,
    .opts_size = 0,
    .is_model = gpt_is_model,
    .data = gpt_data_,
    .eval_data = gpt_eval_data,
    .free_data = gpt_free_data,
};
