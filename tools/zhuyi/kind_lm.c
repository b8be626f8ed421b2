// The instruction kind of `zhuyi finetune lm` and `zhuyi eval` (kind.h): a causal language
// model trained on replies. JSON lines of prompt/completion or messages are read
// (include/zhuyi/instruct.h) before the model exists, rendered by the chat template into
// rows whose targets are the replies' tokens only, packed (or one example a row) into a
// seeded training source; validation and `zhuyi eval` score every example alone, in
// order, so the loss is the mean over reply tokens whatever the packing. The template is
// recorded in DIR/tokenizer_config.json for `zhuyi generate` and `zhuyi chat`. Not here:
// flags, the loop, saving (pretrain*.c); the model is the GPT's (no head to add).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "kind.h"
#include "zhuyi/zhuyi.h"

typedef struct lm_opts {
    bool no_packing, skip_bad_rows;
} lm_opts;

typedef struct lm_data {
    zy_instruct_data *train, *val;
    zy_instruct_rows *rtrain, *rval;
    const char **texts; // vocab_texts: the messages' contents
    size_t *lens;
} lm_data;

static const zy_chat_template *template_of(const lm_opts *o) {
    (void)o; // one template today; a --template flag would choose here
    return zy_chat_template_default();
}

static int lm_flag(void *opts, const char *cmd, const char *flag, const char *value) {
    (void)cmd, (void)value;
    lm_opts *o = opts;
    if (!strcmp(flag, "--no-packing")) return o->no_packing = true, 0;
    if (!strcmp(flag, "--skip-bad-rows")) return o->skip_bad_rows = true, 0;
    return -1;
}

static bool lm_is_model(const zy_model_info *i) { return i->causal_lm; }

static bool lm_is_data(const char *path) {
    size_t n = strlen(path);
    static const char *const ext[] = {".jsonl", ".json", ".ndjson"};
    for (int k = 0; k < 3; k++) {
        size_t m = strlen(ext[k]);
        bool same = n >= m;
        for (size_t i = 0; same && i < m; i++) {
            char c = path[n - m + i];
            same = (c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c) == ext[k][i];
        }
        if (same) return true;
    }
    return false;
}

static int read_file(const lm_opts *o, const char *cmd, const char *path,
                     zy_instruct_data **out) {
    zy_instruct_read_params rp = zy_instruct_read_default_params();
    rp.skip_bad_rows = o->skip_bad_rows;
    if (zy_instruct_data_read(out, path, &rp)) return zy_cli_die("%s: %s", cmd, zy_last_error());
    zy_cli_kind_report_skipped(cmd, path, zy_instruct_data_report(*out), "lines");
    return 0;
}

// finetune, before the model exists: both files read, so a bad line stops the run at once.
static int lm_read(const void *opts, const cli_data_params *p, cli_data *d) {
    const lm_opts *o = opts;
    if (zy_cli_kind_example_files(p)) return 1;
    lm_data *t = calloc(1, sizeof *t);
    if (!t) return zy_cli_die("out of memory");
    d->impl = t;
    if (read_file(o, p->cmd, p->files[0], &t->train) ||
        (p->val_file && read_file(o, p->cmd, p->val_file, &t->val)))
        return 1;
    return 0;
}

// The training messages' contents, for a vocabulary the run learns (not the JSON keys).
static int lm_vocab_texts(const cli_data *d, const char *cmd, const char *const **texts,
                          const size_t **lens, int *n) {
    lm_data *t = d->impl;
    size_t count = zy_instruct_data_count(t->train), k = 0;
    for (size_t i = 0; i < count; i++)
        k += (size_t)zy_instruct_data_example(t->train, i)->n_messages;
    if (k > INT32_MAX) return zy_cli_die("%s: too many messages", cmd);
    t->texts = malloc((k ? k : 1) * sizeof *t->texts);
    t->lens = malloc((k ? k : 1) * sizeof *t->lens);
    if (!t->texts || !t->lens) return zy_cli_die("%s: out of memory", cmd);
    k = 0;
    for (size_t i = 0; i < count; i++) {
        const zy_instruct_example *e = zy_instruct_data_example(t->train, i);
        for (int m = 0; m < e->n_messages; m++, k++)
            t->texts[k] = e->messages[m].content, t->lens[k] = e->messages[m].len;
    }
    *texts = t->texts, *lens = t->lens, *n = (int)k;
    return 0;
}

static int lm_check(const void *opts, const char *cmd, const zy_model *m, const zy_tokenizer *t,
                    bool train) {
    (void)m, (void)train;
    const zy_chat_template *tpl = template_of(opts);
    if (zy_tokenizer_find(t, tpl->end_token, strlen(tpl->end_token)) < 0)
        return zy_cli_die("%s: the tokenizer has no %s token, which ends each reply in the "
                          "chat template %s (a GPT-2 or byte-level BPE tokenizer has it)", cmd,
                          tpl->end_token, tpl->name);
    return 0;
}

static int lm_save(const void *opts, const cli_data *d, const char *cmd, const char *dir) {
    (void)d;
    if (zy_chat_template_save(template_of(opts), dir))
        return zy_cli_die("%s: %s", cmd, zy_last_error());
    return 0;
}

// The rows of d at T tokens, what was cut or left out said on stderr.
static int rows(const lm_opts *o, const cli_data_params *p, const zy_instruct_data *d, int T,
                bool packing, const char *what, zy_instruct_rows **out) {
    zy_instruct_rows_params rp = zy_instruct_rows_default_params();
    rp.seq = T;
    rp.packing = packing;
    if (zy_instruct_rows_create(out, d, template_of(o), p->tok, &rp))
        return zy_cli_die("%s: %s", p->cmd, zy_last_error());
    const zy_instruct_row_stats *s = zy_instruct_rows_stats(*out);
    if (s->n_truncated)
        fprintf(stderr, "zhuyi: %s: %s: %llu examples longer than --seq %d + 1 tokens lost "
                "their oldest tokens\n", p->cmd, what, (unsigned long long)s->n_truncated, T);
    if (s->n_skipped)
        fprintf(stderr, "zhuyi: %s: %s: %llu of %llu examples left out: their last reply "
                "alone is longer than --seq %d tokens\n", p->cmd, what,
                (unsigned long long)s->n_skipped, (unsigned long long)s->n_examples, T);
    if (!s->n_rows)
        return zy_cli_die("%s: %s: no example fits --seq %d (give a larger --seq)", p->cmd,
                          what, T);
    return 0;
}

static int lm_data_(const void *opts, const cli_data_params *p, cli_data *d) {
    const lm_opts *o = opts;
    lm_data *t = d->impl;
    if (rows(o, p, t->train, p->seq, !o->no_packing, "training", &t->rtrain) ||
        (t->val && rows(o, p, t->val, p->seq, false, "validation", &t->rval)))
        return 1;
    zy_instruct_source_params sp = zy_instruct_source_default_params();
    sp.batch = p->batch;
    sp.seed = p->seed;
    sp.shuffle = p->shuffle;
    size_t n = zy_instruct_rows_count(t->rtrain);
    if (n < (size_t)p->batch)
        return zy_cli_die("%s: the training examples make %zu rows of up to --seq %d + 1 "
                          "tokens%s, fewer than one batch (--batch %d)", p->cmd, n, p->seq,
                          o->no_packing ? "" : " (packed)", p->batch);
    if (zy_instruct_source_create(&d->train, t->rtrain, &sp))
        return zy_cli_die("%s: training data: %s", p->cmd, zy_last_error());
    d->n_train = zy_instruct_data_count(t->train);
    d->train_rows = n;
    if (t->val) {
        sp.shuffle = false;
        sp.one_pass = true;
        if (zy_instruct_source_create(&d->val, t->rval, &sp))
            return zy_cli_die("%s: validation data: %s", p->cmd, zy_last_error());
        d->n_val = zy_instruct_data_count(t->val);
        d->best_metric = "loss";
    }
    return 0;
}

// eval: one file, every example alone in order; T = --seq, else the run's, else the
// model's context; B what fits 2048 tokens. The template is the one DIR records.
static int lm_eval_data(const void *opts, const cli_data_params *p, cli_data *d) {
    const lm_opts *o = opts;
    lm_data *t = calloc(1, sizeof *t);
    if (!t) return zy_cli_die("out of memory");
    d->impl = t;
    if (p->n_files != 1) return zy_cli_die("%s: one data file (got %d)", p->cmd, p->n_files);
    const zy_chat_template *tpl = NULL;
    if (p->dir && zy_chat_template_load(p->dir, &tpl))
        return zy_cli_die("%s: %s", p->cmd, zy_last_error());
    if (!tpl)
        fprintf(stderr, "zhuyi: %s: %s records no chat template: the examples are rendered "
                "with %s\n", p->cmd, p->dir ? p->dir : "the model", template_of(o)->name);
    else if (tpl != template_of(o))
        return zy_cli_die("%s: %s records the chat template %s, which eval does not render",
                          p->cmd, p->dir, tpl->name);
    if (read_file(o, p->cmd, p->files[0], &t->val)) return 1;
    int npos = zy_model_get_info(p->model)->max_positions;
    int T = p->seq ? p->seq : p->trained_seq ? p->trained_seq : npos;
    if (T > npos)
        return zy_cli_die("%s: --seq %d is longer than the model's context (n_positions %d)",
                          p->cmd, T, npos);
    if (rows(o, p, t->val, T, false, p->files[0], &t->rval)) return 1;
    zy_instruct_source_params sp = zy_instruct_source_default_params();
    sp.batch = p->batch ? p->batch : 2048 / T > 0 ? 2048 / T : 1;
    sp.shuffle = false;
    sp.one_pass = true;
    if (zy_instruct_source_create(&d->val, t->rval, &sp))
        return zy_cli_die("%s: %s: %s", p->cmd, p->files[0], zy_last_error());
    d->batch = sp.batch;
    d->seq = zy_data_source_get_info(d->val)->dims.seq;
    d->rows = zy_instruct_rows_count(t->rval);
    d->n_val = zy_instruct_data_count(t->val);
    return 0;
}

static void lm_free_data(cli_data *d) {
    zy_data_source_free(d->train);
    zy_data_source_free(d->val);
    lm_data *t = d->impl;
    if (t) {
        zy_instruct_rows_free(t->rtrain);
        zy_instruct_rows_free(t->rval);
        zy_instruct_data_free(t->train);
        zy_instruct_data_free(t->val);
        free(t->texts);
        free(t->lens);
        free(t);
    }
    memset(d, 0, sizeof *d);
}

const cli_kind zy_cli_kind_lm = {
    .verb = "finetune",
    .name = "lm",
    .what = "a GPT on instructions and replies (supervised fine-tuning): the next-token\n"
            "loss on the replies only; the chat template is recorded for `zhuyi generate`\n"
            "and `zhuyi chat`",
    .default_config = "gpt-micro",
    .default_tokenizer = "byte",
    .help = "  --no-packing          one example per row, padded (default: whole examples\n"
            "                        packed into rows of --seq + 1 tokens, next fit)\n"
            "  --skip-bad-rows       count and skip malformed lines (the first few reported)\n"
            "                        instead of stopping at the first\n"
            "  data: JSON lines, {\"prompt\": ..., \"completion\": ..., \"system\": ...} (system\n"
            "  optional) or {\"messages\": [{\"role\": \"system\"|\"user\"|\"assistant\",\n"
            "  \"content\": ...}, ...]} ending with the assistant's reply, rendered by the\n"
            "  template zhuyi-1 (\"### User:\\n...\\n\\n### Assistant:\\n...<|endoftext|>\"; the\n"
            "  system text first; docs/FORMATS.md). The loss is taken on the replies and\n"
            "  their <|endoftext|> only. An example longer than --seq + 1 tokens loses its\n"
            "  oldest tokens, or is left out when its last reply alone is longer than --seq.\n"
            "  Validation and `zhuyi eval DIR --data FILE.jsonl` score each example alone.\n"
            "  metric: the validation loss over reply tokens (the best model: the lowest)\n",
    .unit = "examples",
    .eval_unit = "reply tokens",
    .opts_size = sizeof(lm_opts),
    .parse_flag = lm_flag,
    .is_model = lm_is_model,
    .is_data = lm_is_data,
    .read = lm_read,
    .vocab_texts = lm_vocab_texts,
    .check = lm_check,
    .save = lm_save,
    .data = lm_data_,
    .eval_data = lm_eval_data,
    .free_data = lm_free_data,
};
