// `zhuyi pretrain KIND` (gpt, bert) and `zhuyi finetune KIND` (the task kinds): flags,
// then the set-up of a run: the tokenizer (byte,
// a BPE or WordPiece trained on the data, or a file), the model (a preset/config.json,
// --init DIR, or the run in --out DIR on --resume), and the data sources. One body for
// every kind of model: what differs (default preset and tokenizer, the kind's own data
// flags, how text becomes data sources, which models fit) is the kind's entry (kind.h);
// what differs between the two commands is a few defaults (verb_defaults).
// Every input is checked before anything is written. The loop, metrics and saving are
// pretrain_loop.c.
// realpath (XSI)
#define _XOPEN_SOURCE 700
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dist.h"
#include "pretrain.h"
#include "zhuyi/zhuyi.h"

static const char usage_head[] =
    "usage: zhuyi pretrain %s --data FILE... --out DIR [options]\n"
    "       zhuyi pretrain %s --out DIR --resume [--steps N] [output options]\n"
    "\n"
    "Trains %s\n"
    "and writes a Hugging Face model directory: DIR/config.json, model.safetensors,\n"
    "tokenizer.json; the newest checkpoint in DIR/checkpoint-STEP (the model again, plus\n"
    "training_state.safetensors: optimizer moments, step, data position) named by the link\n"
    "DIR/checkpoint, which is switched only once a checkpoint is complete, so --resume\n"
    "survives a kill or a full disk at any moment; metrics.jsonl (one line per step and per\n"
    "evaluation, with the model's metrics) and loss.svg. Ctrl-C saves and exits (status\n"
    "130). Kinds: zhuyi pretrain gpt --help, zhuyi pretrain bert --help.\n"
    "\n";

static const char usage_common[] =
    "model (a new one from --config/--tokenizer, or --init, or --resume):\n"
    "  --config PRESET|FILE  a preset (below) or a config.json; vocab_size is always the\n"
    "                        tokenizer's\n"
    "  --tokenizer SPEC      byte, bpe:N, wordpiece:N, wordpiece-cased:N (learn an N-token\n"
    "                        vocabulary from the training data: for finetune, its texts\n"
    "                        without labels or columns; -cased keeps case and accents),\n"
    "                        or PATH (tokenizer.json, vocab.txt, or a directory holding\n"
    "                        one, or vocab.json + merges.txt)\n"
    "  --init DIR            start from the model in DIR (config.json, model.safetensors\n"
    "                        and its tokenizer); the tokenizer size must equal vocab_size\n"
    "  --resume              continue the run saved in --out DIR, bit-exactly (same\n"
    "                        hyper-parameters and data; only --steps may change)\n"
    "data:\n"
    "  --data FILE...        training text, one or more files (--train: the same)\n"
    "  --val-data FILE       validation text (default: hold out the end of the data;\n"
    "                        --val: the same)\n"
    "  --val-fraction F      share of the training data held out for validation, taken\n"
    "                        from the end; 0 = no validation (default 0.05; finetune:\n"
    "                        give the validation examples as --val FILE)\n"
    "  --no-shuffle          batches in the data's order (default: a seeded random order,\n"
    "                        a new one each epoch)\n"
    "optimization:\n"
    "  --steps N             optimizer steps (default 1000; finetune: from --epochs)\n"
    "  --epochs X            steps for X passes over the training rows (finetune: 3)\n"
    "  --batch B             sequences per micro-batch (default 8; finetune: 16)\n"
    "  --seq T               tokens per sequence, at most the model's positions (default\n"
    "                        128, or the positions if fewer)\n"
    "  --grad-accum K        micro-batches per step, each weighted by its count of\n"
    "                        targets, as one batch of them all (default 1)\n"
    "  --lr X                peak learning rate (default 6e-4; finetune: 5e-5)\n"
    "  --min-lr X            end of the cosine/linear decay, at most --lr (default\n"
    "                        lr/10, finetune: 0; unused by constant)\n"
    "  --warmup N            linear warmup steps, at most --steps (default 100, or\n"
    "                        steps/10 if that is longer than the run; finetune:\n"
    "                        steps/10; a --resume with a\n"
    "                        smaller --steps may end inside it)\n"
    "  --schedule S          cosine, linear or constant (default cosine; finetune:\n"
    "                        linear)\n"
    "  --weight-decay X      AdamW decay of matmul weights; none on biases, layernorms,\n"
    "                        embeddings (default 0.1; finetune: 0.01); betas 0.9,\n"
    "                        0.95, eps 1e-8\n"
    "  --grad-clip X         clip the global gradient norm to X; 0 = off (default 1.0)\n"
    "  --dropout P           dropout on embeddings, attention and residuals, replacing the\n"
    "                        config's (default 0; finetune: the config's)\n"
    "  --seed S              weights, dropout masks, data order and masks (default 1337)\n"
    "  --precision P         fp32 or bf16 matmuls: bf16 rounds each product's inputs to\n"
    "                        bf16 and sums in fp32 (weights, gradients and optimizer stay\n"
    "                        fp32); default bf16 where the CPU has AMX or AVX512-BF16\n"
    "                        (zhuyi info), else fp32\n"
    "  --skip-nonfinite N    skip (no update) up to N steps whose loss or gradient norm is\n"
    "                        NaN or infinite, saying so; the next one stops the run\n"
    "                        (default 0: the first stops it; may be raised on --resume)\n"
    "output:\n"
    "  --out DIR             output directory (required; must not hold a model unless\n"
    "                        --resume)\n"
    "  --eval-every N        validate every N steps and at the end; 0 = only at the end\n"
    "                        (default 100; finetune: every epoch)\n"
    "  --eval-batches N      batches per validation, 0 = the whole set (default 20)\n"
    "  --save-every N        save every N steps and at the end; 0 = only at the end\n"
    "                        (default 500; finetune: every evaluation)\n"
    "  --best-metric NAME    keep the model of the best evaluation in DIR (loss or one of\n"
    "                        the metrics evaluations print; losses lower, others higher\n"
    "                        are better); checkpoints keep the newest state for --resume\n"
    "                        (default: DIR holds the newest weights; finetune: the\n"
    "                        kind's metric, e.g. accuracy)\n"
    "  --patience N          stop after N evaluations in a row without a better\n"
    "                        --best-metric (default loss); 0 = never (default 0)\n"
    "  --stop-at N           stop after step N, saving, as if interrupted (for training in\n"
    "                        several sittings with --resume; default: never)\n"
    "  --log-every N         plain progress lines every N steps when stderr is not a\n"
    "                        terminal (default 10)\n"
    "  --threads N           kernel threads (default: $ZY_THREADS, else all cores; per\n"
    "                        process under mpirun)\n"
    "  --allreduce T         under mpirun (make mpi): gradients exchanged as fp32 or bf16\n"
    "                        (half the bytes, about 3 significant digits; default fp32)\n"
    "\n";

static const char usage_finetune_examples[] =
    "examples:\n"
    "  zhuyi finetune classify --init runs/bert --train reviews.tsv --val dev.tsv \\\n"
    "                          --out runs/sentiment\n"
    "  zhuyi finetune tag --init runs/bert --train wsj.txt --epochs 5 --out runs/pos\n"
    "  zhuyi finetune classify --init runs/bert --train reviews.tsv --val dev.tsv \\\n"
    "                          --lora-r 8 --lora-targets query,value --out runs/sent-lora\n";

static const char usage_examples[] =
    "examples:\n"
    "  zhuyi pretrain gpt --data kjv.txt --tokenizer bpe:4096 --config gpt-micro \\\n"
    "                     --steps 2000 --out runs/kjv\n"
    "  zhuyi pretrain bert --data kjv-chapters.txt --tokenizer wordpiece:8192 \\\n"
    "                      --config bert-mini --whole-word-mask --steps 3000 --out runs/bert\n";

static const char usage_finetune_head[] =
    "usage: zhuyi finetune %s --train FILE [--val FILE] --init DIR --out DIR [options]\n"
    "       zhuyi finetune %s --train FILE --config PRESET%s --out DIR ...\n"
    "       zhuyi finetune %s --out DIR --resume [--steps N] [output options]\n"
    "\n"
    "Fine-tunes %s\n"
    "and writes a Hugging Face model directory: DIR/config.json (with the labels),\n"
    "model.safetensors (the weights of the best evaluation by --best-metric)%s;\n"
    "the newest checkpoint in DIR/checkpoint-STEP for --resume; metrics.jsonl and loss.svg.\n"
    "The flags are `zhuyi pretrain`'s, with the defaults for fine-tuning given below as\n"
    "\"finetune: ...\". Kinds: %s (zhuyi finetune KIND --help).\n"
    "\n";

static void usage(FILE *f, const char *verb, const cli_kind *k) {
    bool ft = !strcmp(verb, "finetune");
    const char *what = k ? k->what : "a model of one of the kinds below";
    char names[256];
    snprintf(names, sizeof names, "%s", zy_cli_kind_names(verb));
    for (char *c = names, *o = names;; c++) // "a, b" -> "a|b"
        if (*c != ' ' && !(*o++ = *c == ',' ? '|' : *c)) break;
    const char *name = k ? k->name : names;
    bool tok = !(k && k->no_tokenizer); // image models read no tokens
    if (ft)
        fprintf(f, usage_finetune_head, name, name, tok ? " --tokenizer SPEC" : "", name, what,
                tok ? ", tokenizer.json" : "", zy_cli_kind_names(verb));
    else fprintf(f, usage_head, name, name, what);
    fputs(usage_common, f);
    if (ft) fprintf(f, "%s\n", zy_cli_lora_help);
    for (int i = 0; zy_cli_kind_at(i); i++) {
        const cli_kind *x = zy_cli_kind_at(i);
        if ((k && x != k) || strcmp(x->verb, verb)) continue;
        fprintf(f, "%s (zhuyi %s %s):\n%s\n", x->name, verb, x->name, x->help);
    }
    fputs(ft ? usage_finetune_examples : usage_examples, f);
}

// ---- flag parsing ---------------------------------------------------------------------

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

typedef struct flags {
    const char *config, *tokenizer, *init;
    const char *fixed_flag; // a flag that changes the math (refused on --resume)
    bool steps_given, seq_given, min_lr_given, warmup_given;
    bool eval_batches_given, eval_every_given, save_every_given, skip_given, patience_given;
    bool batch_given, lr_given, schedule_given, decay_given, dropout_given;
    bool val_fraction_given, precision_given;
    const char *src, *tgt, *pairs; // sentence pairs (kinds with pairs_data)
    float epochs;           // 0: not given
    int threads;
} flags;

#define LIMIT_STEPS 1000000000L

// A flag of the kind's own, recorded (with its value) for the training state; 0 when
// taken (*takes values), 1 on error (printed), -1 if the kind does not know it.
static int kind_flag(pretrain_run *r, const char *a, const char *v, int *takes) {
    int n = r->kind->parse_flag ? r->kind->parse_flag(r->opts, r->cmd, a, v) : -1;
    if (n < 0) return n == -1 ? -1 : 1;
    r->kind_flags[r->n_kind_flags++] = a;
    if (n == 1) r->kind_flags[r->n_kind_flags++] = v;
    *takes = n;
    return 0;
}

static int parse_args(int argc, char **argv, pretrain_run *r, flags *f) {
    zy_trainer_params *p = &r->tp;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long l;
        int bad = 0, takes = 1, fixed = 1, k;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout, r->kind->verb, r->kind);
            return -2;
        } else if (!strcmp(a, "--resume")) {
            r->resume = true;
            takes = fixed = 0;
        } else if (!strcmp(a, "--no-shuffle")) {
            p->shuffle = false;
            takes = 0;
        } else if ((k = kind_flag(r, a, v, &takes)) >= 0) {
            if (k) return 1;
        } else if ((k = zy_cli_lora_flag(&r->lora, r->cmd, a, v)) != -1) {
            if (k == -2) return 1;
            takes = k;
        } else if (!v) {
            return zy_cli_die("%s: '%s' needs a value or is unknown (see --help)", r->cmd, a);
        } else if (!strcmp(a, "--data") || !strcmp(a, "--train")) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) r->data[r->n_data++] = argv[++i];
            takes = fixed = 0;
        } else if (r->kind->pairs_data && (!strcmp(a, "--src") || !strcmp(a, "--tgt") ||
                                           !strcmp(a, "--pairs"))) {
            *(a[2] == 's' ? &f->src : a[2] == 't' ? &f->tgt : &f->pairs) = v;
            fixed = 0;
        } else if (r->kind->pairs_data && (!strcmp(a, "--val-src") ||
                                           !strcmp(a, "--val-pairs"))) {
            r->val_data = v;
        } else if (!strcmp(a, "--precision")) {
            bad = strcmp(v, "fp32") && strcmp(v, "bf16");
            p->precision = !strcmp(v, "bf16") ? ZY_PRECISION_BF16 : ZY_PRECISION_FP32;
            f->precision_given = true;
        } else if (!strcmp(a, "--label-smoothing")) {
            bad = zy_cli_parse_float(v, 0, 0.99f, &p->label_smoothing);
        } else if (!strcmp(a, "--config")) {
            f->config = v;
        } else if (!strcmp(a, "--tokenizer")) {
            f->tokenizer = v;
        } else if (!strcmp(a, "--init")) {
            f->init = v;
        } else if (!strcmp(a, "--val-data") || !strcmp(a, "--val")) {
            r->val_data = v;
        } else if (!strcmp(a, "--val-fraction")) {
            bad = zy_cli_parse_float(v, 0, 0.9, &r->val_fraction);
            f->val_fraction_given = true;
        } else if (!strcmp(a, "--out")) {
            r->out = v;
            fixed = 0;
        } else if (!strcmp(a, "--steps")) {
            bad = parse_long(v, 1, LIMIT_STEPS, &p->steps);
            f->steps_given = true;
            fixed = 0;
        } else if (!strcmp(a, "--epochs")) {
            bad = zy_cli_parse_float(v, 1e-6, 1e6, &f->epochs);
            fixed = 0;
        } else if (!strcmp(a, "--batch")) {
            bad = zy_cli_parse_int(v, 1, 1 << 20, &p->batch);
            f->batch_given = true;
        } else if (!strcmp(a, "--seq")) {
            bad = zy_cli_parse_int(v, 1, 1 << 20, &p->seq);
            f->seq_given = true;
        } else if (!strcmp(a, "--grad-accum")) {
            bad = zy_cli_parse_int(v, 1, 65535, &p->grad_accum);
        } else if (!strcmp(a, "--lr")) {
            bad = zy_cli_parse_float(v, 0, 10, &p->lr);
            f->lr_given = true;
        } else if (!strcmp(a, "--min-lr")) {
            bad = zy_cli_parse_float(v, 0, 10, &p->min_lr);
            f->min_lr_given = true;
        } else if (!strcmp(a, "--warmup")) {
            bad = parse_long(v, 0, LIMIT_STEPS, &p->warmup);
            f->warmup_given = true;
        } else if (!strcmp(a, "--schedule")) {
            bad = zy_schedule_kind_parse(v, &p->schedule) || p->schedule == ZY_SCHEDULE_NOAM;
            f->schedule_given = true;
        } else if (!strcmp(a, "--weight-decay")) {
            bad = zy_cli_parse_float(v, 0, 10, &p->weight_decay);
            f->decay_given = true;
        } else if (!strcmp(a, "--grad-clip")) {
            bad = zy_cli_parse_float(v, 0, 1e6, &p->grad_clip);
        } else if (!strcmp(a, "--dropout")) {
            bad = zy_cli_parse_float(v, 0, 0.95, &p->dropout);
            f->dropout_given = true;
        } else if (!strcmp(a, "--seed")) {
            char *end;
            errno = 0;
            p->seed = strtoull(v, &end, 10);
            bad = !*v || *v == '-' || *end || errno;
        } else if (!strcmp(a, "--skip-nonfinite")) {
            bad = zy_cli_parse_int(v, 0, 1 << 30, &p->skip_nonfinite);
            f->skip_given = true;
            fixed = 0;
        } else if (!strcmp(a, "--eval-every")) {
            bad = parse_long(v, 0, LIMIT_STEPS, &r->eval_every);
            f->eval_every_given = true;
            fixed = 0;
        } else if (!strcmp(a, "--eval-batches")) {
            bad = zy_cli_parse_int(v, 0, 1 << 30, &p->eval_batches);
            f->eval_batches_given = true;
            fixed = 0;
        } else if (!strcmp(a, "--save-every")) {
            bad = parse_long(v, 0, LIMIT_STEPS, &r->save_every);
            f->save_every_given = true;
            fixed = 0;
        } else if (!strcmp(a, "--best-metric")) {
            r->best_metric = v;
            bad = !*v;
        } else if (!strcmp(a, "--patience")) {
            bad = parse_long(v, 0, LIMIT_STEPS, &r->patience);
            f->patience_given = true;
            fixed = 0;
        } else if (!strcmp(a, "--stop-at")) {
            bad = parse_long(v, 1, LIMIT_STEPS, &r->stop_at);
            fixed = 0;
        } else if (!strcmp(a, "--log-every")) {
            bad = parse_long(v, 1, LIMIT_STEPS, &l);
            r->log_every = l;
            fixed = 0;
        } else if (!strcmp(a, "--threads")) {
            bad = zy_cli_parse_int(v, 1, 4096, &f->threads);
            fixed = 0;
        } else if (!strcmp(a, "--allreduce")) {
            bad = zy_cli_dist_set_wire(v);
            fixed = 0;
        } else {
            return zy_cli_die("%s: unknown option '%s' (see --help)", r->cmd, a);
        }
        if (bad) return zy_cli_die("%s: %s: '%s' is not a valid value (see --help)", r->cmd, a, v);
        if (fixed) f->fixed_flag = a;
        if (takes) i++;
    }
    // Sentence pairs as the data files: source then target, or one pairs file.
    if (f->src || f->tgt || f->pairs) {
        if (r->n_data || (f->pairs && (f->src || f->tgt)) || (!f->pairs && (!f->src || !f->tgt)))
            return zy_cli_die("%s: give the pairs as --src FILE --tgt FILE or as --pairs FILE "
                              "(not both, nor with --data)", r->cmd);
        r->data[r->n_data++] = f->pairs ? f->pairs : f->src;
        if (!f->pairs) r->data[r->n_data++] = f->tgt;
    }
    return 0;
}

// ---- set-up ---------------------------------------------------------------------------

static bool file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int tok_progress(const char *stage, size_t done, size_t total, void *user) {
    (void)user;
    if (!strcmp(stage, "merging"))
        fprintf(stderr, "\r\033[Ktokenizer: merging %zu / %zu", done, total);
    else
        fprintf(stderr, "\r\033[Ktokenizer: %s %.1f / %.1f MB", stage, done / 1e6, total / 1e6);
    return 0;
}

// byte, bpe:N, wordpiece:N, wordpiece-cased:N (learnt from the training data: the kind's
// texts, or the files whole) or a path.
static int make_tokenizer(pretrain_run *r, const char *spec) {
    zy_bpe_train_params bp = zy_bpe_train_default_params();
    zy_wordpiece_train_params wp = zy_wordpiece_train_default_params();
    bool bpe = !strncmp(spec, "bpe:", 4), cased = !strncmp(spec, "wordpiece-cased:", 16),
         wpc = cased || !strncmp(spec, "wordpiece:", 10);
    size_t skip = bpe ? 4 : cased ? 16 : 10;
    zy_status s;
    if (r->kind->special_tokens) { // instead of <|endoftext|>
        bp.special_tokens = r->kind->special_tokens;
        for (bp.n_special = 0; bp.special_tokens[bp.n_special];) bp.n_special++;
    }
    if (!strcmp(spec, "byte")) {
        // A byte-level BPE with no merges: ids 0..255 are the bytes, then the special tokens.
        bp.vocab_size = 256 + bp.n_special;
        s = zy_tokenizer_train_bpe_texts(&r->tok, NULL, NULL, 0, bp);
    } else if (bpe || wpc) {
        int *n = bpe ? &bp.vocab_size : &wp.vocab_size, lo = bpe ? 256 + bp.n_special : 6;
        if (zy_cli_parse_int(spec + skip, lo, (1 << 24) - 1, n))
            return zy_cli_die("%s: --tokenizer %s: N must be a number from %d to 16777215",
                              r->cmd, spec, lo);
        if (cased) wp.lowercase = 0;
        const char *const *texts = NULL;
        const size_t *lens = NULL;
        int n_texts = 0;
        if (r->kind->vocab_texts &&
            r->kind->vocab_texts(&r->src, r->cmd, &texts, &lens, &n_texts))
            return 1;
        int tty = isatty(STDERR_FILENO);
        if (tty) bp.progress = wp.progress = tok_progress;
        else fprintf(stderr, "zhuyi: learning a %d-token %s%s from the training %s\n", *n,
                     bpe ? "BPE" : "WordPiece vocabulary", cased ? " (cased)" : "",
                     texts ? "texts" : "data");
        if (texts)
            s = bpe ? zy_tokenizer_train_bpe_texts(&r->tok, texts, lens, n_texts, bp)
                    : zy_tokenizer_train_wordpiece_texts(&r->tok, texts, lens, n_texts, wp);
        else
            s = bpe ? zy_tokenizer_train_bpe(&r->tok, r->data, r->n_data, bp)
                    : zy_tokenizer_train_wordpiece(&r->tok, r->data, r->n_data, wp);
        if (tty) fputs("\r\033[K", stderr);
    } else {
        // A directory holds tokenizer.json, vocab.txt, or GPT-2's vocab.json + merges.txt.
        char path[4096];
        snprintf(path, sizeof path, "%s/tokenizer.json", spec);
        s = zy_tokenizer_load(&r->tok, is_dir(spec) && file_exists(path) ? path : spec);
    }
    if (s) return zy_cli_die("%s: tokenizer: %s", r->cmd, zy_last_error());
    return 0;
}

// A preset name, or a config.json file; the message lists the presets otherwise.
static int load_config(const char *cmd, const char *name, zy_config **out) {
    if (!zy_model_preset(out, name)) return 0;
    if (file_exists(name)) {
        if (zy_config_load(out, name)) return zy_cli_die("%s: %s", cmd, zy_last_error());
        return 0;
    }
    const char *names[64];
    char list[1024] = "";
    int n = zy_model_preset_names(names, 64);
    for (int i = 0; i < n && i < 64; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 names[i]);
    return zy_cli_die("%s: --config '%s' is neither a preset (%s) nor a file", cmd, name, list);
}

// finetune --init DIR: DIR's checkpoint read as the kind's architecture (its config with
// the head and labels the kind sets): the body from any pretraining layout, the new head
// initialised from the run's seed, the old heads left out (said on stderr).
static int convert_model(pretrain_run *r, const char *dir) {
    char path[4200];
    zy_config *c;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (zy_config_load(&c, path)) return zy_cli_die("%s: --init: %s", r->cmd, zy_last_error());
    int rc = r->kind->config(r->opts, &r->src, r->cmd, c);
    if (!rc && (r->lora.on ? zy_model_load_lora(&r->model, dir, c, &r->lora.c)
                           : zy_model_load_with_config(&r->model, dir, c)))
        rc = zy_cli_die("%s: --init %s: %s", r->cmd, dir, zy_last_error());
    zy_config_free(c);
    if (rc) return rc;
    // The library's log names each new (missing) head tensor.
    zy_model_init_missing(r->model, r->tp.seed);
    const char *unused[64];
    int n = zy_model_unused_tensors(r->model, unused, 64);
    if (n > 0)
        fprintf(stderr, "zhuyi: %s: %d tensors of %s/model.safetensors are not used (e.g. %s: "
                "the checkpoint's heads)\n", r->cmd, n, dir, unused[0]);
    return 0;
}

static int make_model(pretrain_run *r, const flags *f, bool ft) {
    const cli_kind *k = r->kind;
    int vocab = r->tok ? zy_tokenizer_vocab_size(r->tok) : 0;
    if (f->init && ft && k->config) {
        if (convert_model(r, f->init)) return 1;
    } else if (f->init || r->resume) {
        const char *dir = r->resume ? r->ckpt : f->init;
        // A LoRA run's checkpoint is its adapter, which names the base model it loads.
        zy_status s = r->lora.on && !r->resume
                          ? zy_model_load_lora(&r->model, dir, NULL, &r->lora.c)
                          : zy_model_load(&r->model, dir);
        if (s) return zy_cli_die("%s: %s", r->cmd, zy_last_error());
        if (zy_model_check_finite(r->model))
            return zy_cli_die("%s: %s/model.safetensors: %s", r->cmd, dir, zy_last_error());
        int mv = zy_model_get_info(r->model)->vocab_size;
        if (r->tok && mv != vocab)
            return zy_cli_die("%s: the tokenizer has %d tokens but the model in %s has "
                              "vocab_size %d: they must be the same", r->cmd, vocab, dir, mv);
    } else {
        const char *name = f->config ? f->config : k->default_config;
        zy_config *c;
        if (load_config(r->cmd, name, &c)) return 1;
        int cv = 0;
        if (r->tok && zy_config_has(c, "vocab_size") &&
            !zy_config_get_int(c, "vocab_size", 0, 1 << 30, &cv) && cv && cv != vocab)
            fprintf(stderr, "zhuyi: note: vocab_size %d of '%s' replaced by the tokenizer's "
                    "%d\n", cv, name, vocab);
        int bad = 0;
        if (r->tok && zy_config_set_int(c, "vocab_size", vocab))
            bad = zy_cli_die("%s: %s", r->cmd, zy_last_error());
        if (!bad && k->config) bad = k->config(r->opts, &r->src, r->cmd, c);
        if (!bad && zy_model_create(&r->model, c))
            bad = zy_cli_die("%s: %s", r->cmd, zy_last_error());
        zy_config_free(c);
        if (bad) return 1;
        zy_model_init_weights(r->model, r->tp.seed);
    }
    const zy_model_info *info = zy_model_get_info(r->model);
    if (!k->is_model(info))
        return zy_cli_die("%s: the model is a '%s' (%s), which `zhuyi %s` does not train%s",
                          r->cmd, info->model_type, info->architecture, r->cmd,
                          zy_cli_kind_of(info) ? " (see `zhuyi pretrain --help`)" : "");
    if (k->check && k->check(r->opts, r->cmd, r->model, r->tok, true)) return 1;
    if (k->setup && k->setup(r->opts, r->cmd, r->model)) return 1;
    // Fine-tuning keeps the model's own dropout (its config's) unless --dropout is given.
    if (ft && !f->dropout_given) {
        r->tp.dropout = info->dropout;
    } else if (zy_model_set_dropout(r->model, r->tp.dropout)) {
        return zy_cli_die("%s: %s", r->cmd, zy_last_error());
    }
    return 0;
}

// A JSON array of strings from the state into list (strdup'ed; *n of at most cap).
static int state_list(const pretrain_run *r, const char *state, const char *key, bool required,
                      const char **list, int cap, int *n) {
    static char buf[65536];
    if (zy_trainer_state_get(state, key, buf, sizeof buf))
        return required ? zy_cli_die("%s: %s", r->cmd, zy_last_error()) : 0;
    cJSON *j = cJSON_Parse(buf);
    int m = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : -1;
    for (int i = 0; i < m && *n < cap; i++) {
        cJSON *e = cJSON_GetArrayItem(j, i);
        if (!cJSON_IsString(e) || !(list[*n] = strdup(e->valuestring))) {
            m = -1;
            break;
        }
        (*n)++;
    }
    cJSON_Delete(j);
    if (m < 0) return zy_cli_die("%s: %s: %s is not a list of strings", r->cmd, state, key);
    return 0;
}

// A number stored in the state under key (absent: *out unchanged); 1 (printed) if it is
// not one.
static int state_number(const pretrain_run *r, const char *state, const char *key,
                        double *out) {
    char buf[64], *end;
    if (zy_trainer_state_get(state, key, buf, sizeof buf)) return 0;
    errno = 0;
    double v = strtod(buf, &end);
    if (!buf[0] || *end || errno)
        return zy_cli_die("%s: %s: %s '%s' is not a number", r->cmd, state, key, buf);
    *out = v;
    return 0;
}

// On --resume: the best metric, its best value so far and the patience left.
static int best_state(pretrain_run *r, const char *state, const flags *f) {
    static char name[256];
    if (zy_trainer_state_get(state, "best_metric", name, sizeof name) || !name[0]) return 0;
    r->best_metric = name;
    double step = -1, bad = 0, patience = (double)r->patience;
    if (state_number(r, state, "best_value", &r->best_value) ||
        state_number(r, state, "best_step", &step) ||
        state_number(r, state, "bad_evals", &bad) ||
        (!f->patience_given && state_number(r, state, "patience", &patience)))
        return 1;
    if (!(step >= -1 && step <= LIMIT_STEPS && bad >= 0 && bad <= LIMIT_STEPS &&
          patience >= 0 && patience <= LIMIT_STEPS))
        return zy_cli_die("%s: %s: best_step, bad_evals or patience out of range", r->cmd,
                          state);
    r->best_step = (long)step;
    r->bad_evals = (long)bad;
    r->patience = (long)patience;
    return 0;
}

// On --resume: the saved hyper-parameters, kind options, and the data files unless given
// again.
static int load_resume(pretrain_run *r, const flags *f) {
    char state[4096];
    if (zy_checkpoint_find(r->out, r->ckpt, sizeof r->ckpt))
        return zy_cli_die("%s: --resume: nothing to resume: %s", r->cmd, zy_last_error());
    if ((size_t)snprintf(state, sizeof state, "%s/%s", r->ckpt, ZY_TRAINING_STATE_FILE) >=
        sizeof state)
        return zy_cli_die("%s: --out: path too long", r->cmd);
    if (f->fixed_flag)
        return zy_cli_die("%s: %s cannot be given with --resume: the run continues with its "
                          "saved settings (only --steps and output options may change)",
                          r->cmd, f->fixed_flag);
    long steps = r->tp.steps, step;
    int eval_batches = r->tp.eval_batches, skip = r->tp.skip_nonfinite;
    if (zy_trainer_read_params(state, &r->tp, &step))
        return zy_cli_die("%s: %s", r->cmd, zy_last_error());
    if (f->steps_given) r->tp.steps = steps;
    if (f->eval_batches_given) r->tp.eval_batches = eval_batches;
    if (f->skip_given) r->tp.skip_nonfinite = skip;
    static char val[4096], frac[64];
    // Runs saved before kinds existed are GPT runs.
    const char *saved = zy_trainer_state_get(state, "kind", frac, sizeof frac) ? "gpt" : frac;
    if (strcmp(saved, r->kind->name))
        return zy_cli_die("%s: --resume: %s holds a `zhuyi pretrain %s` run", r->cmd, r->out,
                          saved);
    // The run's cadence continues unless given again.
    if (!f->eval_every_given && !zy_trainer_state_get(state, "eval_every", frac, sizeof frac))
        r->eval_every = strtol(frac, NULL, 10);
    if (!f->save_every_given && !zy_trainer_state_get(state, "save_every", frac, sizeof frac))
        r->save_every = strtol(frac, NULL, 10);
    if (r->n_data == 0) {
        r->data_owned = true;
        if (state_list(r, state, "data_files", true, r->data, 4096, &r->n_data)) return 1;
        if (!r->n_data) return zy_cli_die("%s: %s: data_files is empty", r->cmd, state);
    }
    // The kind's flags, as the run was started with them.
    r->kind_flags_owned = true;
    if (state_list(r, state, "kind_flags", false, r->kind_flags, 64, &r->n_kind_flags))
        return 1;
    for (int i = 0; i < r->n_kind_flags;) {
        const char *v = i + 1 < r->n_kind_flags ? r->kind_flags[i + 1] : NULL;
        int n = r->kind->parse_flag ? r->kind->parse_flag(r->opts, r->cmd, r->kind_flags[i], v)
                                    : -1;
        if (n == -1) zy_cli_die("%s: %s: kind_flags: unknown '%s'", r->cmd, state, r->kind_flags[i]);
        if (n < 0) return 1;
        i += 1 + n;
    }
    if (!zy_trainer_state_get(state, "val_data", val, sizeof val) && val[0]) r->val_data = val;
    if (best_state(r, state, f)) return 1;
    if (!zy_trainer_state_get(state, "val_fraction", frac, sizeof frac))
        r->val_fraction = strtof(frac, NULL);
    return 0;
}

// The strings as a JSON array (paths made absolute when `paths`); NULL if out of memory.
static char *json_list(const char *const *list, int n, bool paths) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) {
        char *abs = paths ? realpath(list[i], NULL) : NULL;
        cJSON *e = cJSON_CreateString(abs ? abs : list[i]);
        free(abs);
        if (!e || !cJSON_AddItemToArray(a, e)) { // out of memory: none is lost
            cJSON_Delete(e);
            cJSON_Delete(a);
            a = NULL;
        }
    }
    char *s = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return s;
}

static void run_free(pretrain_run *r) {
    for (int i = 0; r->data_owned && i < r->n_data; i++) free((char *)r->data[i]);
    for (int i = 0; r->kind_flags_owned && i < r->n_kind_flags; i++)
        free((char *)r->kind_flags[i]);
    if (r->kind->free_data) r->kind->free_data(&r->src);
    zy_model_free(r->model);
    zy_tokenizer_free(r->tok);
    free(r->data_json);
    free(r->kind_json);
    free(r->val_abs);
    free(r->opts);
}

// What `zhuyi finetune` does differently from `zhuyi pretrain` when a flag is not given:
// the usual fine-tuning recipe (BERT's paper, Hugging Face's Trainer), a run measured in
// epochs, validated each epoch and keeping its best evaluation.
static void finetune_defaults(pretrain_run *r, flags *f) {
    zy_trainer_params *p = &r->tp;
    if (!f->batch_given) p->batch = 16;
    if (!f->lr_given) p->lr = 5e-5f;
    if (!f->min_lr_given) p->min_lr = 0, f->min_lr_given = true;
    if (!f->schedule_given) p->schedule = ZY_SCHEDULE_LINEAR;
    if (!f->decay_given) p->weight_decay = 0.01f;
    if (!f->val_fraction_given) r->val_fraction = 0; // examples: give --val FILE
    if (!f->eval_batches_given) p->eval_batches = 0; // the whole validation set
    if (!f->steps_given && !f->epochs) f->epochs = 3;
}

// After the data sources exist: --epochs as steps, the warmup, and (finetune) the
// evaluation and save cadence of one epoch and the kind's best metric.
static int resolve_steps(pretrain_run *r, flags *f, bool ft) {
    zy_trainer_params *p = &r->tp;
    // A step takes batch x grad_accum rows on each of the data-parallel processes.
    double rows = (double)p->batch * p->grad_accum * zy_cli_dist_world();
    long per_epoch = (long)ceil((double)r->src.train_rows / rows);
    if (per_epoch < 1) per_epoch = 1;
    if (f->epochs) {
        double steps = ceil(f->epochs * (double)r->src.train_rows / rows);
        if (steps > LIMIT_STEPS)
            return zy_cli_die("%s: --epochs %g is %.0f steps, more than %ld", r->cmd,
                              (double)f->epochs, steps, LIMIT_STEPS);
        p->steps = steps < 1 ? 1 : (long)steps;
    }
    if (r->resume) return 0;
    if (ft && !f->warmup_given) p->warmup = p->steps / 10, f->warmup_given = true;
    if (p->warmup > p->steps) {
        if (f->warmup_given)
            return zy_cli_die("%s: --warmup %ld is longer than --steps %ld", r->cmd, p->warmup,
                              p->steps);
        p->warmup = p->steps / 10;
    }
    if (ft && !f->eval_every_given) r->eval_every = per_epoch;
    if (ft && !f->save_every_given) r->save_every = r->eval_every;
    if (ft && !r->best_metric && r->src.val) r->best_metric = r->src.best_metric;
    return 0;
}

// `zhuyi pretrain KIND ...` and `zhuyi finetune KIND ...`: one body.
static int train_command(const char *verb, int argc, char **argv) {
    bool ft = !strcmp(verb, "finetune");
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout, verb, NULL);
        return argc < 2 ? 2 : 0;
    }
    const cli_kind *kind = zy_cli_kind_named(verb, argv[1]);
    if (!kind)
        return zy_cli_die("%s: unknown %s '%s' (%s)", verb, ft ? "task" : "model kind",
                          argv[1], zy_cli_kind_names(verb));
    if (argc > 4096) return zy_cli_die("%s %s: too many arguments", verb, kind->name);
    pretrain_run r = {.kind = kind, .tp = zy_trainer_default_params(), .val_fraction = 0.05f,
                      .eval_every = 100, .save_every = 500, .log_every = 10,
                      .best_step = -1};
    snprintf(r.cmd, sizeof r.cmd, "%s %s", verb, kind->name);
    zy_cli_lora_init(&r.lora);
    char *init_abs = NULL;
    flags f = {0};
    const char *data_buf[4096], *kind_buf[4096];
    r.data = data_buf;
    r.kind_flags = kind_buf;
    if (!(r.opts = calloc(1, kind->opts_size ? kind->opts_size : 1)))
        return zy_cli_die("out of memory");
    if (kind->opts_init) kind->opts_init(r.opts);
    if (kind->defaults) kind->defaults(&r.tp);
    if (kind->pairs_data) r.val_fraction = 0;
    int rc = parse_args(argc, argv, &r, &f);
    if (rc) {
        run_free(&r);
        return rc == -2 ? 0 : rc;
    }
    if (f.threads) zy_threads_set(f.threads);
    if (!r.out) {
        rc = zy_cli_die("%s: --out DIR is required (see --help)", r.cmd);
    } else if (r.resume) {
        rc = load_resume(&r, &f);
    } else {
        char model_file[4096], adapter_file[4096], found[4096];
        snprintf(model_file, sizeof model_file, "%s/model.safetensors", r.out);
        snprintf(adapter_file, sizeof adapter_file, "%s/adapter_model.safetensors", r.out);
        if (ft) finetune_defaults(&r, &f);
        if (!r.n_data)
            rc = zy_cli_die("%s: %s FILE%s is required", r.cmd, ft ? "--train" : "--data",
                            ft ? "" : "...");
        else if (f.init && f.config)
            rc = zy_cli_die("%s: --init and --config exclude each other", r.cmd);
        else if (r.lora.on && !ft)
            rc = zy_cli_die("%s: LoRA adapts a trained model: `zhuyi finetune KIND --init DIR "
                            "--lora ...`", r.cmd);
        else if (r.lora.on && !f.init)
            rc = zy_cli_die("%s: LoRA needs the model to adapt: --init DIR", r.cmd);
        else if (file_exists(model_file) || file_exists(adapter_file) ||
                 !zy_checkpoint_find(r.out, found, sizeof found))
            rc = zy_cli_die("%s: %s already holds a model: use --resume to continue its run, "
                            "--init %s to start from it, or another --out", r.cmd, r.out, r.out);
        if (!rc && !f.min_lr_given) r.tp.min_lr = r.tp.lr / 10;
        // The command's --precision, else the global one, else bf16 where the CPU
        // multiplies bf16 natively (zy_cli_default_precision).
        if (!f.precision_given) r.tp.precision = zy_cli_default_precision();
        // The library refuses it too (zy_trainer_create); said here, before any work.
        if (!rc && r.tp.min_lr > r.tp.lr && r.tp.schedule != ZY_SCHEDULE_CONSTANT)
            rc = zy_cli_die("%s: --min-lr %g is above --lr %g: the decay would raise the "
                            "learning rate (--min-lr must be at most --lr)", r.cmd,
                            (double)r.tp.min_lr, (double)r.tp.lr);
        if (!rc && f.warmup_given && !f.epochs && r.tp.warmup > r.tp.steps)
            rc = zy_cli_die("%s: --warmup %ld is longer than --steps %ld", r.cmd,
                            r.tp.warmup, r.tp.steps);
    }
    for (int i = 0; i < r.n_data && !rc; i++)
        if (!file_exists(r.data[i]))
            rc = zy_cli_die("%s: data file %s: %s", r.cmd, r.data[i], strerror(errno));
    if (!rc && r.val_data && !file_exists(r.val_data))
        rc = zy_cli_die("%s: --val-data %s: %s", r.cmd, r.val_data, strerror(errno));
    if (rc) goto done;
    if (r.val_data && (r.val_abs = realpath(r.val_data, NULL))) r.val_data = r.val_abs;
    if (!r.resume && (r.best_metric || r.patience) && !r.val_data && r.val_fraction <= 0) {
        rc = zy_cli_die("%s: %s needs validation data (--val-data or --val-fraction)", r.cmd,
                        r.best_metric ? "--best-metric" : "--patience");
        goto done;
    }
    if (r.patience && !r.best_metric) r.best_metric = "loss";
    // The adapter names its base by absolute path, so the run and its checkpoints load
    // from any working directory.
    if (r.lora.on && !r.lora.c.base_model_name_or_path &&
        (init_abs = realpath(f.init, NULL)))
        r.lora.c.base_model_name_or_path = init_abs;

    const char *tspec = f.tokenizer ? f.tokenizer : f.init ? f.init : kind->default_tokenizer;
    if (r.resume) tspec = r.out;
    cli_data_params dp = {.cmd = r.cmd, .tok = NULL, .model = NULL, .files = r.data,
                          .n_files = r.n_data, .val_file = r.val_data,
                          .val_fraction = r.val_fraction, .batch = r.tp.batch, .seq = r.tp.seq,
                          .seed = r.tp.seed, .shuffle = r.tp.shuffle,
                          .val_fraction_given = f.val_fraction_given,
                          .dir = r.resume ? r.out : f.init};
    if (kind->no_tokenizer && f.tokenizer) {
        rc = zy_cli_die("%s: --tokenizer: the %s model reads no tokens", r.cmd, kind->name);
        goto done;
    }
    if ((kind->read && (rc = kind->read(r.opts, &dp, &r.src))) ||
        (!kind->no_tokenizer && (rc = make_tokenizer(&r, tspec))))
        goto done;
    dp.tok = r.tok;
    r.src.tok = r.tok;
    if (
        (rc = make_model(&r, &f, ft)))
        goto done;
    int npos = zy_model_get_info(r.model)->max_positions;
    if (!r.resume && !f.seq_given && r.tp.seq > npos) r.tp.seq = npos;
    if (r.tp.seq > npos) {
        rc = zy_cli_die("%s: --seq %d is longer than the model's positions (%d: n_positions, "
                        "max_position_embeddings)", r.cmd, r.tp.seq, npos);
        goto done;
    }
    dp.tok = r.tok, dp.model = r.model, dp.seq = r.tp.seq;
    if ((rc = kind->data(r.opts, &dp, &r.src))) goto done;
    if (kind->pairs_data) r.tp.batch = r.src.batch;
    if (r.src.seq > 0) r.tp.seq = r.src.seq; // batches not --seq long (pairs, speech frames)
    if ((rc = resolve_steps(&r, &f, ft))) goto done;
    // Absolute paths, so --resume works from any working directory (the state's
    // train_hash catches files whose contents changed).
    r.data_json = json_list(r.data, r.n_data, true);
    r.kind_json = json_list(r.kind_flags, r.n_kind_flags, false);
    if (!r.data_json || !r.kind_json) {
        rc = zy_cli_die("out of memory");
        goto done;
    }
    if (zy_cli_dist_world() > 1 && (rc = zy_pretrain_dist(&r))) goto done;
    rc = zy_pretrain_loop(&r);
done:
    run_free(&r);
    free(init_abs);
    return rc;
}

int zy_cli_pretrain(int argc, char **argv) { return train_command("pretrain", argc, argv); }
int zy_cli_finetune(int argc, char **argv) { return train_command("finetune", argc, argv); }
