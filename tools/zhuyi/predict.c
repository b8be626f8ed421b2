// `zhuyi predict DIR --input FILE`: a fine-tuned model's predictions for new data, one JSON
// line per example in file order: {"line", "label", "score"} (classify; "labels" and
// "scores" multi-label, "value" regression), {"line", "tokens", "tags", "scores"} (tag),
// {"line", "id", "answer", "start", "end", "score"} (qa). The file is read as the task's
// training files are (the same formats and column options), labels optional; the batches
// and the scoring are those of `zhuyi eval` (kind.h's score).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "infer.h"
#include "kind.h"
#include "query_run.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi predict DIR --input FILE [--output FILE] [--seq T] [--batch B]\n"
    "                     [--weights TYPE] [--threads N] [options of the model's task]\n"
    "\n"
    "Runs the fine-tuned model in DIR (zhuyi finetune classify|tag|qa, or a Hugging Face\n"
    "BertForSequenceClassification, BertForTokenClassification, BertForQuestionAnswering\n"
    "or GPT2ForSequenceClassification directory) on the examples of FILE and writes one\n"
    "JSON line per example, in file order:\n"
    "  classify  {\"line\":N,\"label\":\"pos\",\"score\":0.97} (the softmax probability);\n"
    "            multi-label {\"line\":N,\"labels\":[...],\"scores\":{label: sigmoid}};\n"
    "            regression {\"line\":N,\"value\":X}\n"
    "  tag       {\"line\":N,\"tokens\":[words],\"tags\":[one per word],\"scores\":[...]}\n"
    "  qa        {\"line\":N,\"id\":ID,\"answer\":TEXT,\"start\":C,\"end\":C,\"score\":S}\n"
    "            (start and end: character offsets into the context, end exclusive)\n"
    "FILE is read like the training data (CSV/TSV with a header, JSONL, CoNLL, word/TAG;\n"
    "--format, --text-column ... as `zhuyi finetune KIND --help` lists); labels and\n"
    "answers in it are not needed and not used.\n"
    "\n"
    "  --input FILE    the examples (required)\n"
    "  --output FILE   write the JSON lines there (atomically) instead of stdout\n"
    "  --seq T         tokens per row (default: the run's training --seq, else 128)\n"
    "  --batch B       rows per forward pass (default 16)\n"
    "  --adapter DIR   a LoRA adapter (zhuyi finetune --lora, PEFT) on the\n"
    "                  model, merged in at load (a LoRA run's own DIR needs none)\n"
    "  --weights TYPE  the weights as f32, f16, bf16, q8_0 or q4_0 (converted at load;\n"
    "                  default: as model.safetensors stores them)\n"
    "  --threads N     kernel threads (default: $ZY_THREADS, else all cores)\n";

int zy_cli_predict(int argc, char **argv) {
    const char *dir = NULL, *input = NULL, *output = NULL, *adapter = NULL, *kflags[128];
    int n_kflags = 0, T = 0, B = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc, n = -1;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(usage_text, stdout), 0;
        else if (!strcmp(a, "--input") && more) input = argv[++i];
        else if (!strcmp(a, "--output") && more) output = argv[++i];
        else if (!strcmp(a, "--adapter") && more) adapter = argv[++i];
        else if (!strcmp(a, "--seq") && more) {
            if (zy_cli_parse_int(argv[++i], 1, 1 << 20, &T))
                return zy_cli_die("predict: --seq '%s' is not a positive number", argv[i]);
        } else if (!strcmp(a, "--batch") && more) {
            if (zy_cli_parse_int(argv[++i], 1, 1 << 16, &B))
                return zy_cli_die("predict: --batch '%s' is not a positive number", argv[i]);
        } else if (!strcmp(a, "--threads") && more) {
            if (zy_cli_threads("predict", argv[++i])) return 1;
        } else if (!strcmp(a, "--weights") && more) {
            if (zy_cli_weights("predict", argv[++i])) return 1;
        } else if (a[0] == '-' && a[1] &&
                   (n = zy_cli_kind_collect("predict", argc, argv, &i, kflags, 128,
                                            &n_kflags))) {
            if (n < 0) return 1;
        } else if (a[0] == '-' && a[1]) {
            return zy_cli_die("predict: unknown or incomplete option '%s' (see zhuyi predict "
                              "--help)", a);
        } else if (dir) {
            return zy_cli_die("predict: one model directory only ('%s' and '%s')", dir, a);
        } else {
            dir = a;
        }
    }
    if (!dir) return fputs(usage_text, stderr), 2;
    if (!input) return zy_cli_die("predict: --input FILE is required (see zhuyi predict --help)");

    zy_model *m;
    zy_tokenizer *tok;
    if (zy_cli_open_model_adapter("predict", dir, adapter, &m, &tok)) return 1;
    zy_cli_predictor p = {0};
    FILE *f = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc;
    if ((rc = zy_cli_predict_open(&p, "predict", dir, m, tok, kflags, n_kflags, input, NULL, 0,
                                  T, B)))
        goto done;
    // Into memory first, so --output is written whole or not at all.
    f = output ? open_memstream(&buf, &len) : stdout;
    if (!f) {
        rc = zy_cli_die("predict: out of memory");
        goto done;
    }
    cli_score_io io = {.predictions = f, .unlabelled = true};
    if ((rc = zy_cli_predict_run(&p, &io))) goto done;
    if (output) {
        fclose(f);
        f = NULL;
        if (zy_file_write_atomic(output, buf, len))
            rc = zy_cli_die("predict: --output: %s", zy_last_error());
        else
            fprintf(stderr, "zhuyi: predict: %zu predictions written to %s\n", p.d.n_val,
                    output);
    } else {
        fflush(stdout);
    }
done:
    if (f && f != stdout) fclose(f);
    free(buf);
    zy_cli_predictor_free(&p);
    zy_model_free(m);
    zy_tokenizer_free(tok);
    return rc;
}

// zy_cli_predict_open with the data named in dp (its files or what is in memory).
static int open_data(zy_cli_predictor *p, const char *cmd, const char *dir, zy_model *m,
                     zy_tokenizer *tok, const char *const *kflags, int n_kflags,
                     cli_data_params *dp) {
    const zy_model_info *c = zy_model_get_info(m);
    const cli_kind *k = zy_cli_kind_of(c);
    *p = (zy_cli_predictor){0};
    if (!k || !k->score) {
        char names[256] = ""; // the kinds predict runs: those that score outputs
        for (int i = 0; zy_cli_kind_at(i); i++)
            if (zy_cli_kind_at(i)->score)
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
                         names[0] ? ", " : "", zy_cli_kind_at(i)->name);
        return zy_cli_die("%s: the model in %s is a %s: zhuyi predict runs fine-tuned "
                          "models (%s)%s", cmd, dir, c->architecture, names,
                          c->causal_lm ? "; a language model answers with zhuyi generate or "
                                         "zhuyi chat" : "");
    }
    p->k = k;
    if (zy_cli_kind_model_opts(k, cmd, dir, kflags, n_kflags, &p->opts) ||
        (k->check && k->check(p->opts, cmd, m, tok, false)))
        return 1;
    if (k->eval_data(p->opts, dp, &p->d)) return 1;
    zy_session_params pp = zy_session_default_params();
    pp.batch = p->d.batch, pp.seq = p->d.seq;
    if (zy_session_create(&p->s, m, &pp)) return zy_cli_die("%s: %s", cmd, zy_last_error());
    return 0;
}

int zy_cli_predict_open(zy_cli_predictor *p, const char *cmd, const char *dir, zy_model *m,
                        zy_tokenizer *tok, const char *const *kflags, int n_kflags,
                        const char *file, const char *data, size_t len, int T, int B) {
    cli_data_params dp = {.cmd = cmd, .tok = tok, .model = m, .files = &file,
                          .n_files = 1, .batch = B, .seq = T,
                          .trained_seq = zy_cli_trained_seq(dir), .unlabelled = true,
                          .data = data, .data_len = len};
    return open_data(p, cmd, dir, m, tok, kflags, n_kflags, &dp);
}

int zy_cli_predict_open_images(zy_cli_predictor *p, const char *cmd, const char *dir,
                               zy_model *m, const char *const *kflags, int n_kflags,
                               const char *name, const void *const *images,
                               const size_t *sizes, const char *const *names, size_t n,
                               int B) {
    *p = (zy_cli_predictor){0};
    if (zy_cli_kind_of(zy_model_get_info(m)) != &zy_cli_kind_image)
        return zy_cli_die("%s: the model in %s is a %s, not an image classifier", cmd, dir,
                          zy_model_get_info(m)->architecture);
    cli_data_params dp = {.cmd = cmd, .model = m, .files = &name, .n_files = 1, .batch = B,
                          .unlabelled = true, .images = images, .image_sizes = sizes,
                          .image_names = names, .n_images = n};
    return open_data(p, cmd, dir, m, NULL, kflags, n_kflags, &dp);
}

int zy_cli_predict_run(zy_cli_predictor *p, const cli_score_io *io) {
    double loss;
    zy_metric_set ms = {0};
    return p->k->score(p->opts, &p->d, p->s, io, &loss, &ms);
}

void zy_cli_predictor_free(zy_cli_predictor *p) {
    zy_session_free(p->s);
    if (p->k && p->k->free_data) p->k->free_data(&p->d);
    free(p->opts);
    *p = (zy_cli_predictor){0};
}
