// `zhuyi pretrain gpt`: flags, then the set-up of a run: the tokenizer (byte, a BPE
// trained on the data, or a file), the model (a preset/config.json, --init DIR, or the
// run in --out DIR on --resume), and the token streams. Every input is checked before
// anything is written. The loop, metrics and saving are pretrain_loop.c.
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
#include "pretrain.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi pretrain gpt --data FILE... --out DIR [options]\n"
    "       zhuyi pretrain gpt --out DIR --resume [--steps N] [output options]\n"
    "\n"
    "Trains a GPT (GPT-2 architecture) on text and writes a Hugging Face model directory:\n"
    "DIR/config.json, model.safetensors, tokenizer.json; the newest checkpoint in\n"
    "DIR/checkpoint-STEP (the model again, plus training_state.safetensors: optimizer\n"
    "moments, step, data position) named by the link DIR/checkpoint, which is switched\n"
    "only once a checkpoint is complete, so --resume survives a kill or a full disk at any\n"
    "moment; metrics.jsonl (one line per step and per evaluation) and loss.svg. Ctrl-C\n"
    "saves and exits (status 130).\n"
    "Text may hold any bytes (invalid UTF-8 too): byte-level BPE encodes every byte.\n"
    "\n"
    "model (a new one from --config/--tokenizer, or --init, or --resume):\n"
    "  --config PRESET|FILE  gpt-nano, gpt-micro, gpt-mini, gpt2-124m, gpt2-medium,\n"
    "                        gpt2-large, gpt2-xl, or a config.json (default gpt-micro);\n"
    "                        vocab_size is always the tokenizer's\n"
    "  --tokenizer SPEC      byte (256 bytes + <|endoftext|>), bpe:N (learn an N-token BPE\n"
    "                        from the training data), or PATH (tokenizer.json, or a\n"
    "                        directory holding it or vocab.json + merges.txt)\n"
    "                        (default byte)\n"
    "  --init DIR            start from the model in DIR (config.json, model.safetensors\n"
    "                        and its tokenizer); the tokenizer size must equal vocab_size\n"
    "  --resume              continue the run saved in --out DIR, bit-exactly (same\n"
    "                        hyper-parameters and data; only --steps may change)\n"
    "data:\n"
    "  --data FILE...        training text, one or more files (joined by <|endoftext|>)\n"
    "  --val-data FILE       validation text (default: hold out the end of the data)\n"
    "  --val-fraction F      share of the training tokens held out for validation, taken\n"
    "                        from the end; 0 = no validation (default 0.05)\n"
    "  --no-shuffle          sequential batches: B*T+1 tokens from position p, p += B*T,\n"
    "                        back to 0 when fewer than B*T+1 remain (default: windows in a\n"
    "                        seeded random order, a new order each epoch)\n"
    "optimization:\n"
    "  --steps N             optimizer steps (default 1000)\n"
    "  --batch B             sequences per micro-batch (default 8)\n"
    "  --seq T               tokens per sequence, at most n_positions (default 128, or\n"
    "                        n_positions if smaller)\n"
    "  --grad-accum K        micro-batches per step; loss scaled by 1/K (default 1)\n"
    "  --lr X                peak learning rate (default 6e-4)\n"
    "  --min-lr X            end of the cosine/linear decay (default lr/10)\n"
    "  --warmup N            linear warmup steps (default 100, at most steps)\n"
    "  --schedule S          cosine, linear or constant (default cosine)\n"
    "  --weight-decay X      AdamW decay of matmul weights; none on biases, layernorms,\n"
    "                        embeddings (default 0.1); betas 0.9, 0.95, eps 1e-8\n"
    "  --grad-clip X         clip the global gradient norm to X; 0 = off (default 1.0)\n"
    "  --dropout P           dropout on embeddings, attention and residuals (default 0)\n"
    "  --seed S              weights, dropout masks and shuffling (default 1337)\n"
    "  --skip-nonfinite N    skip (no update) up to N steps whose loss or gradient norm is\n"
    "                        NaN or infinite, saying so; the next one stops the run\n"
    "                        (default 0: the first stops it; may be raised on --resume)\n"
    "output:\n"
    "  --out DIR             output directory (required; must not hold a model unless\n"
    "                        --resume)\n"
    "  --eval-every N        validate every N steps and at the end; 0 = only at the end\n"
    "                        (default 100)\n"
    "  --eval-batches N      batches per validation, 0 = the whole set (default 20)\n"
    "  --save-every N        save every N steps and at the end; 0 = only at the end\n"
    "                        (default 500)\n"
    "  --stop-at N           stop after step N, saving, as if interrupted (for training in\n"
    "                        several sittings with --resume; default: never)\n"
    "  --log-every N         plain progress lines every N steps when stderr is not a\n"
    "                        terminal (default 10)\n"
    "  --threads N           kernel threads (default: $ZY_THREADS, else all cores)\n"
    "\n"
    "example:\n"
    "  zhuyi pretrain gpt --data kjv.txt --tokenizer bpe:4096 --config gpt-micro \\\n"
    "                     --steps 2000 --out runs/kjv\n";

// ---- flag parsing ---------------------------------------------------------------------

static int parse_float(const char *s, double lo, double hi, float *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= lo && v <= hi)) return -1;
    *out = (float)v;
    return 0;
}

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
    bool eval_batches_given, eval_every_given, save_every_given, skip_given;
    int threads;
} flags;

#define LIMIT_STEPS 1000000000L

static int parse_args(int argc, char **argv, pretrain_run *r, flags *f) {
    zy_trainer_params *p = &r->tp;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long l;
        int bad = 0, takes = 1, fixed = 1;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return -2;
        } else if (!strcmp(a, "--resume")) {
            r->resume = true;
            takes = fixed = 0;
        } else if (!strcmp(a, "--no-shuffle")) {
            p->shuffle = false;
            takes = 0;
        } else if (!v) {
            return zy_cli_die("pretrain gpt: '%s' needs a value or is unknown (see --help)",
                              a);
        } else if (!strcmp(a, "--data")) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) r->data[r->n_data++] = argv[++i];
            takes = fixed = 0;
        } else if (!strcmp(a, "--config")) {
            f->config = v;
        } else if (!strcmp(a, "--tokenizer")) {
            f->tokenizer = v;
        } else if (!strcmp(a, "--init")) {
            f->init = v;
        } else if (!strcmp(a, "--val-data")) {
            r->val_data = v;
        } else if (!strcmp(a, "--val-fraction")) {
            bad = parse_float(v, 0, 0.9, &r->val_fraction);
        } else if (!strcmp(a, "--out")) {
            r->out = v;
            fixed = 0;
        } else if (!strcmp(a, "--steps")) {
            bad = parse_long(v, 1, LIMIT_STEPS, &p->steps);
            f->steps_given = true;
            fixed = 0;
        } else if (!strcmp(a, "--batch")) {
            bad = zy_cli_parse_int(v, 1, 1 << 20, &p->batch);
        } else if (!strcmp(a, "--seq")) {
            bad = zy_cli_parse_int(v, 1, 1 << 20, &p->seq);
            f->seq_given = true;
        } else if (!strcmp(a, "--grad-accum")) {
            bad = zy_cli_parse_int(v, 1, 65535, &p->grad_accum);
        } else if (!strcmp(a, "--lr")) {
            bad = parse_float(v, 0, 10, &p->lr);
        } else if (!strcmp(a, "--min-lr")) {
            bad = parse_float(v, 0, 10, &p->min_lr);
            f->min_lr_given = true;
        } else if (!strcmp(a, "--warmup")) {
            bad = parse_long(v, 0, LIMIT_STEPS, &p->warmup);
            f->warmup_given = true;
        } else if (!strcmp(a, "--schedule")) {
            bad = zy_schedule_kind_parse(v, &p->schedule) || p->schedule == ZY_SCHEDULE_NOAM;
        } else if (!strcmp(a, "--weight-decay")) {
            bad = parse_float(v, 0, 10, &p->weight_decay);
        } else if (!strcmp(a, "--grad-clip")) {
            bad = parse_float(v, 0, 1e6, &p->grad_clip);
        } else if (!strcmp(a, "--dropout")) {
            bad = parse_float(v, 0, 0.95, &p->dropout);
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
        } else {
            return zy_cli_die("pretrain gpt: unknown option '%s' (see --help)", a);
        }
        if (bad) return zy_cli_die("pretrain gpt: %s: '%s' is not a valid value (see --help)", a, v);
        if (fixed) f->fixed_flag = a;
        if (takes) i++;
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

static int make_tokenizer(pretrain_run *r, const char *spec) {
    zy_bpe_train_params bp = zy_bpe_train_default_params();
    zy_status s;
    if (!strcmp(spec, "byte")) {
        // A byte-level BPE with no merges: ids 0..255 are the bytes, 256 <|endoftext|>.
        bp.vocab_size = 257;
        s = zy_tokenizer_train_bpe_texts(&r->tok, NULL, NULL, 0, bp);
    } else if (!strncmp(spec, "bpe:", 4)) {
        if (zy_cli_parse_int(spec + 4, 257, (1 << 24) - 1, &bp.vocab_size))
            return zy_cli_die("pretrain gpt: --tokenizer %s: N must be a number from 257 "
                              "to 16777215", spec);
        int tty = isatty(STDERR_FILENO);
        if (tty) bp.progress = tok_progress;
        else fprintf(stderr, "zhuyi: learning a %d-token BPE from the training data\n",
                     bp.vocab_size);
        s = zy_tokenizer_train_bpe(&r->tok, r->data, r->n_data, bp);
        if (tty) fputs("\r\033[K", stderr);
    } else {
        // A directory holds tokenizer.json, or GPT-2's vocab.json + merges.txt.
        char path[4096], vocab[4096], merges[4096];
        snprintf(path, sizeof path, is_dir(spec) ? "%s/tokenizer.json" : "%s", spec);
        snprintf(vocab, sizeof vocab, "%s/vocab.json", spec);
        snprintf(merges, sizeof merges, "%s/merges.txt", spec);
        if (is_dir(spec) && !file_exists(path) && file_exists(vocab) && file_exists(merges))
            s = zy_tokenizer_load_gpt2(&r->tok, vocab, merges);
        else
            s = zy_tokenizer_load(&r->tok, path);
    }
    if (s) return zy_cli_die("pretrain gpt: tokenizer: %s", zy_last_error());
    return 0;
}

// A preset name, or a config.json file; the message lists the presets otherwise.
static int load_config(const char *name, zy_config **out) {
    if (!zy_model_preset(out, name)) return 0;
    if (file_exists(name)) {
        if (zy_config_load(out, name)) return zy_cli_die("pretrain gpt: %s", zy_last_error());
        return 0;
    }
    const char *names[64];
    char list[1024] = "";
    int n = zy_model_preset_names(names, 64);
    for (int i = 0; i < n && i < 64; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 names[i]);
    return zy_cli_die("pretrain gpt: --config '%s' is neither a preset (%s) nor a file", name,
                      list);
}

static int make_model(pretrain_run *r, const flags *f) {
    int vocab = zy_tokenizer_vocab_size(r->tok);
    if (f->init || r->resume) {
        const char *dir = r->resume ? r->ckpt : f->init;
        if (zy_model_load(&r->model, dir))
            return zy_cli_die("pretrain gpt: %s", zy_last_error());
        int mv = zy_model_get_info(r->model)->vocab_size;
        if (mv != vocab)
            return zy_cli_die("pretrain gpt: the tokenizer has %d tokens but the model in %s "
                              "has vocab_size %d: they must be the same", vocab, dir, mv);
    } else {
        const char *name = f->config ? f->config : "gpt-micro";
        zy_config *c;
        if (load_config(name, &c)) return 1;
        int cv = 0;
        if (zy_config_has(c, "vocab_size") &&
            !zy_config_get_int(c, "vocab_size", 0, 1 << 30, &cv) && cv && cv != vocab)
            fprintf(stderr, "zhuyi: note: vocab_size %d of '%s' replaced by the tokenizer's "
                    "%d\n", cv, name, vocab);
        zy_status st = zy_config_set_int(c, "vocab_size", vocab);
        if (!st) st = zy_model_create(&r->model, c);
        zy_config_free(c);
        if (st) return zy_cli_die("pretrain gpt: %s", zy_last_error());
        zy_model_init_weights(r->model, r->tp.seed);
    }
    const zy_model_info *info = zy_model_get_info(r->model);
    if (!info->causal_lm)
        return zy_cli_die("pretrain gpt: the model is a '%s' (%s), not a causal language "
                          "model", info->model_type, info->architecture);
    if (zy_model_set_dropout(r->model, r->tp.dropout))
        return zy_cli_die("pretrain gpt: %s", zy_last_error());
    return 0;
}

static int make_data(pretrain_run *r) {
    if (zy_dataset_encode_files(r->tok, r->data, r->n_data, &r->tokens, &r->n_tokens))
        return zy_cli_die("pretrain gpt: %s", zy_last_error());
    r->n_train = r->n_tokens;
    if (r->val_data) {
        const char *one[1] = {r->val_data};
        if (zy_dataset_encode_files(r->tok, one, 1, &r->val_owned, &r->n_val))
            return zy_cli_die("pretrain gpt: --val-data: %s", zy_last_error());
        r->val_tokens = r->val_owned;
    } else if (r->val_fraction > 0) {
        r->n_val = (size_t)floor((double)r->n_tokens * r->val_fraction);
        r->n_train = r->n_tokens - r->n_val;
        r->val_tokens = r->tokens + r->n_train;
        if (r->n_val < (size_t)r->tp.seq + 1)
            return zy_cli_die("pretrain gpt: --val-fraction %g holds out %zu of %zu tokens, "
                              "fewer than one sequence needs (%d); use a larger fraction, "
                              "--val-data FILE, or --val-fraction 0 (no validation)",
                              (double)r->val_fraction, r->n_val, r->n_tokens, r->tp.seq + 1);
    }
    size_t need = (size_t)r->tp.batch * (size_t)r->tp.seq + 1;
    if (r->n_train < need)
        return zy_cli_die("pretrain gpt: the training data has %zu tokens%s, fewer than one "
                          "batch needs (batch %d x seq %d + 1 = %zu)", r->n_train,
                          r->n_val && !r->val_data ? " after holding out validation" : "",
                          r->tp.batch, r->tp.seq, need);
    return 0;
}

// On --resume: the saved hyper-parameters, and the data files unless given again.
static int load_resume(pretrain_run *r, const flags *f) {
    char state[4096];
    if (zy_checkpoint_find(r->out, r->ckpt, sizeof r->ckpt))
        return zy_cli_die("pretrain gpt: --resume: nothing to resume: %s", zy_last_error());
    if ((size_t)snprintf(state, sizeof state, "%s/%s", r->ckpt, ZY_TRAINING_STATE_FILE) >=
        sizeof state)
        return zy_cli_die("pretrain gpt: --out: path too long");
    if (f->fixed_flag)
        return zy_cli_die("pretrain gpt: %s cannot be given with --resume: the run continues "
                          "with its saved settings (only --steps and output options may "
                          "change)", f->fixed_flag);
    long steps = r->tp.steps, step;
    int eval_batches = r->tp.eval_batches, skip = r->tp.skip_nonfinite;
    if (zy_trainer_read_params(state, &r->tp, &step))
        return zy_cli_die("pretrain gpt: %s", zy_last_error());
    if (f->steps_given) r->tp.steps = steps;
    if (f->eval_batches_given) r->tp.eval_batches = eval_batches;
    if (f->skip_given) r->tp.skip_nonfinite = skip;
    static char buf[65536], val[4096], frac[64];
    // The run's cadence continues unless given again.
    if (!f->eval_every_given && !zy_trainer_state_get(state, "eval_every", frac, sizeof frac))
        r->eval_every = strtol(frac, NULL, 10);
    if (!f->save_every_given && !zy_trainer_state_get(state, "save_every", frac, sizeof frac))
        r->save_every = strtol(frac, NULL, 10);
    if (r->n_data == 0) {
        if (zy_trainer_state_get(state, "data_files", buf, sizeof buf))
            return zy_cli_die("pretrain gpt: %s", zy_last_error());
        cJSON *j = cJSON_Parse(buf);
        int n = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : 0;
        for (int i = 0; i < n && i < 4096; i++) {
            cJSON *e = cJSON_GetArrayItem(j, i);
            if (!cJSON_IsString(e)) break;
            if (!(r->data[r->n_data] = strdup(e->valuestring))) break;
            r->n_data++;
        }
        r->data_owned = true;
        cJSON_Delete(j);
        if (!r->n_data)
            return zy_cli_die("pretrain gpt: %s: data_files is not a list of files", state);
    }
    if (!zy_trainer_state_get(state, "val_data", val, sizeof val) && val[0]) r->val_data = val;
    if (!zy_trainer_state_get(state, "val_fraction", frac, sizeof frac))
        r->val_fraction = strtof(frac, NULL);
    return 0;
}

static void run_free(pretrain_run *r) {
    for (int i = 0; r->data_owned && i < r->n_data; i++) free((char *)r->data[i]);
    zy_model_free(r->model);
    zy_tokenizer_free(r->tok);
    zy_free(r->tokens);
    zy_free(r->val_owned);
    free(r->data_json);
    free(r->val_abs);
}

int zy_cli_pretrain(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "gpt"))
        return zy_cli_die("pretrain: unknown model '%s' (only 'gpt')", argv[1]);
    pretrain_run r = {.tp = zy_trainer_default_params(), .val_fraction = 0.05f,
                      .eval_every = 100, .save_every = 500, .log_every = 10};
    flags f = {0};
    const char *data_buf[4096];
    if (argc > 4096) return zy_cli_die("pretrain gpt: too many arguments");
    r.data = data_buf;
    int rc = parse_args(argc, argv, &r, &f);
    if (rc) return rc == -2 ? 0 : rc;
    if (f.threads) zy_threads_set(f.threads);
    if (!r.out) return zy_cli_die("pretrain gpt: --out DIR is required (see --help)");
    if (r.resume) {
        if ((rc = load_resume(&r, &f))) goto done;
    } else {
        if (!r.n_data) return zy_cli_die("pretrain gpt: --data FILE... is required");
        if (f.init && f.config)
            return zy_cli_die("pretrain gpt: --init and --config exclude each other");
        char model_file[4096], found[4096];
        snprintf(model_file, sizeof model_file, "%s/model.safetensors", r.out);
        if (file_exists(model_file) || !zy_checkpoint_find(r.out, found, sizeof found))
            return zy_cli_die("pretrain gpt: %s already holds a model: use --resume to "
                              "continue its run, --init %s to start from it, or another "
                              "--out", r.out, r.out);
        if (!f.min_lr_given) r.tp.min_lr = r.tp.lr / 10;
        if (r.tp.warmup > r.tp.steps) {
            if (f.warmup_given)
                return zy_cli_die("pretrain gpt: --warmup %ld is longer than --steps %ld",
                                  r.tp.warmup, r.tp.steps);
            r.tp.warmup = r.tp.steps / 10;
        }
    }
    for (int i = 0; i < r.n_data && !rc; i++)
        if (!file_exists(r.data[i]))
            rc = zy_cli_die("pretrain gpt: data file %s: %s", r.data[i], strerror(errno));
    if (!rc && r.val_data && !file_exists(r.val_data))
        rc = zy_cli_die("pretrain gpt: --val-data %s: %s", r.val_data, strerror(errno));
    if (rc) goto done;
    if (r.val_data && (r.val_abs = realpath(r.val_data, NULL))) r.val_data = r.val_abs;

    const char *tspec = f.tokenizer ? f.tokenizer : f.init ? f.init : "byte";
    if (r.resume) tspec = r.out;
    if ((rc = make_tokenizer(&r, tspec)) || (rc = make_model(&r, &f))) goto done;
    int npos = zy_model_get_info(r.model)->max_positions;
    if (!r.resume && !f.seq_given && r.tp.seq > npos) r.tp.seq = npos;
    if (r.tp.seq > npos) {
        rc = zy_cli_die("pretrain gpt: --seq %d is longer than the model's n_positions %d",
                        r.tp.seq, npos);
        goto done;
    }
    if ((rc = make_data(&r))) goto done;
    // Absolute paths, so --resume works from any working directory (the state's
    // train_hash catches files whose contents changed).
    cJSON *files = cJSON_CreateArray();
    for (int i = 0; files && i < r.n_data; i++) {
        char *abs = realpath(r.data[i], NULL);
        cJSON *name = cJSON_CreateString(abs ? abs : r.data[i]);
        free(abs);
        if (!name || !cJSON_AddItemToArray(files, name)) { // out of memory: none is lost
            cJSON_Delete(name);
            cJSON_Delete(files);
            files = NULL;
        }
    }
    r.data_json = files ? cJSON_PrintUnformatted(files) : NULL;
    cJSON_Delete(files);
    if (!r.data_json) {
        rc = zy_cli_die("out of memory");
        goto done;
    }
    rc = zy_pretrain_loop(&r);
done:
    run_free(&r);
    return rc;
}
