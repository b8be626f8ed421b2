// `zhuyi eval DIR --data FILE`: the loss and perplexity of a model directory on text, for
// every kind of model `zhuyi pretrain` trains. The kind (kind.h) turns the text into a
// one-pass data source the way its trainer's validation does (GPT: consecutive windows
// of the token stream, each predicting the next T tokens; BERT: every masked example once,
// with fixed masks) and names the metric that is the loss (BERT: the masked-LM loss);
// the rest is shared: zy_evaluate, the same code as the trainer's validation, with dropout
// off, the model's named metrics averaged over the batches, and the output.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "infer.h"
#include "kind.h"
#include "strbuf.h"
#include "zhuyi/trainer.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi eval DIR --data FILE [--data FILE...] [--seq T] [--batch B] [--json]\n"
    "                  [--weights TYPE [--decode]] [--threads N] [options of the model's kind]\n"
    "\n"
    "The loss (nats) and perplexity of the model in DIR (config.json, model.safetensors,\n"
    "tokenizer.json) on the text in FILE, computed as its kind's training validates:\n"
    "  gpt   the text is encoded into one token stream (several files joined by\n"
    "        <|endoftext|> when the tokenizer has it) and cut into consecutive windows of T\n"
    "        inputs with the next T tokens as targets; every full window counts, a shorter\n"
    "        tail is left out. The loss is the mean over every predicted token.\n"
    "  bert  the text becomes BERT's examples ([CLS] A [SEP] B [SEP]), each once, masked\n"
    "        as in training from a fixed seed (the masks of the trainer's validation); the\n"
    "        loss is the masked-LM loss over the masked tokens, perplexity its exp. Also\n"
    "        reported: mlm_accuracy and, for a model with a next-sentence head, nsp_loss\n"
    "        and nsp_accuracy. Its options (as `zhuyi pretrain bert`): --format lines|prose,\n"
    "        --doc-sentences N, --whole-word-mask, --no-nsp, --mask-prob P.\n"
    "  a fine-tuned model (zhuyi finetune classify|tag|qa; also `zhuyi evaluate`): FILE\n"
    "        holds labelled examples in the format it was trained on (CSV, TSV, JSONL,\n"
    "        CoNLL, word/TAG; the same --text-column... options), read against the\n"
    "        model's labels (an unknown label is an error naming the line). Printed: the\n"
    "        task's metrics and a report: classification report and confusion matrix\n"
    "        (classify), token accuracy and entity scores (tag), exact match and F1 (qa).\n"
    "  image-classify: FILE is an image set (IDX, manifest, ImageFolder) of the model's\n"
    "        size: accuracy, macro F1, the classification report and confusion matrix.\n"
    "  speech: FILE is a JSON lines manifest of WAV files and transcripts: the CTC loss\n"
    "        per label, WER and CER (jiwer's) of the decoded text against the\n"
    "        normalised transcripts, with examples; --beam N decodes with a beam.\n"
    "\n"
    "  --data FILE   text to evaluate on (required; may be repeated)\n"
    "  --seq T       sequence length (default: the one DIR's run trained with when DIR is\n"
    "                a zhuyi run, else gpt: the model's n_positions, bert: 128; at most\n"
    "                the model's positions; gpt: less if the text is shorter)\n"
    "  --batch B     sequences per forward pass (default: as many as fit 2048 tokens)\n"
    "  --confusion-svg FILE  a fine-tuned classifier's confusion matrix as an SVG\n"
    "  --json        print {\"loss\":L,\"perplexity\":P,\"tokens\":N} (and the model's other\n"
    "                metrics) instead of text (perplexity null when exp(loss) overflows)\n"
    "  --adapter A   a LoRA adapter directory (zhuyi finetune --lora, PEFT) on the\n"
    "                model, merged in at load (a LoRA run's own DIR needs none)\n"
    "  --weights TYPE  the weights as f32, f16, bf16, q8_0 or q4_0 (converted at load;\n"
    "                default: as model.safetensors stores them)\n"
    "  --decode      gpt: score each window through the decoding path instead (its tokens\n"
    "                one at a time over the KV cache, as generate runs: the weight type's\n"
    "                products, with ZY_QUANT_ARITH's arithmetic); slower, the same loss up\n"
    "                to that arithmetic\n"
    "  --threads N   kernel threads (default: $ZY_THREADS, else all cores)\n"
    "\n"
    "Progress goes to stderr when it is a terminal. A model whose weights hold NaN or\n"
    "infinity (the message names the first such tensor), or a loss that is not finite,\n"
    "is an error: exit status 1 and nothing on stdout.\n";

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

typedef struct progress {
    int show;
    long batches;
    double t0, shown;
} progress;

// One line on stderr, redrawn at most 4 times a second (only when it is a terminal).
static int show_progress(long batches, double count, double mean_loss, void *user) {
    (void)count;
    progress *p = user;
    double el = now() - p->t0;
    if (!p->show || (el - p->shown <= 0.25 && batches < p->batches)) return 0;
    p->shown = el;
    fprintf(stderr, "\reval: %ld/%ld batches (%3.0f%%)  loss %.4f  ETA %.0fs ", batches,
            p->batches, 100.0 * batches / p->batches, mean_loss,
            el / batches * (double)(p->batches - batches));
    return 0;
}

// The result: the loss (or the kind's loss metric), then every other metric that scored.
static void report(const cli_kind *k, double loss, double count, const zy_metric_set *ms,
                   const cli_data *d, int json) {
    double ppl = exp(loss);
    if (json && isfinite(ppl))
        printf("{\"loss\":%.6f,\"perplexity\":%.9g,\"tokens\":%.0f", loss, ppl, count);
    else if (json) // JSON has no infinity
        printf("{\"loss\":%.6f,\"perplexity\":null,\"tokens\":%.0f", loss, count);
    else
        printf("loss %.4f  perplexity %.6g  (%.0f %s: %zu sequences of %d)", loss, ppl, count,
               k->eval_unit, d->rows, d->seq);
    int shown = 0;
    for (int i = 0; i < ms->n; i++) {
        const zy_metric *m = &ms->m[i];
        if (m->count <= 0 || (k->loss_metric && !strcmp(m->name, k->loss_metric))) continue;
        if (json) printf(",\"%s\":%.6f", m->name, m->value);
        else printf("%s%s %.4f", shown++ ? "  " : "\n", m->name, m->value);
    }
    fputs(json ? "}\n" : "\n", stdout);
}

// A fine-tuned model's evaluation: the task's metrics, its report, the confusion SVG.
static int report_task(const cli_kind *k, void *opts, cli_data *d, zy_session *s, int json,
                       const char *svg_path) {
    zy_strbuf text = {0}, svg = {0};
    cli_score_io io = {.report = json ? NULL : &text, .svg = svg_path ? &svg : NULL};
    double loss;
    zy_metric_set ms = {0};
    int rc = k->score(opts, d, s, &io, &loss, &ms);
    if (!rc && svg_path && zy_file_write_atomic(svg_path, svg.p, svg.n))
        rc = zy_cli_die("eval: --confusion-svg: %s", zy_last_error());
    if (!rc && json) {
        printf("{\"loss\":%.6f,\"examples\":%zu", loss, d->n_val);
        for (int i = 0; i < ms.n; i++)
            if (ms.m[i].count > 0 && isfinite(ms.m[i].value))
                printf(",\"%s\":%.6f", ms.m[i].name, ms.m[i].value);
        puts("}");
    } else if (!rc) {
        const zy_model_info *mi = zy_model_get_info(zy_session_model(s));
        if (mi->image_size > 0) // one row an image, T 1
            printf("%zu images: loss %.4f\n", d->n_val, loss);
        else if (mi->audio_features > 0)
            printf("%zu utterances (up to %d frames): loss %.4f per label\n", d->n_val, d->seq,
                   loss);
        else
            printf("%zu examples (%zu rows of up to %d tokens): loss %.4f\n", d->n_val,
                   d->rows, d->seq, loss);
        for (int i = 0, n = 0; i < ms.n; i++)
            if (ms.m[i].count > 0)
                printf("%s%s %.4f", n++ ? "  " : "", ms.m[i].name, ms.m[i].value);
        printf("\n\n%s", text.p ? text.p : "");
    }
    zy_strbuf_free(&text);
    zy_strbuf_free(&svg);
    return rc;
}

// --decode: the mean loss of src's windows through zy_session_decode, a token at a time
// (each row from an empty cache), log-softmax in double. *count: the scored targets.
static zy_status decode_loss(const zy_model *m, zy_data_source *src, progress *pr,
                             int (*show)(long, double, double, void *), double *loss,
                             double *count) {
    const int V = zy_model_get_info(m)->vocab_size;
    zy_session *s = NULL;
    zy_batch b;
    float *logits = malloc(sizeof(float) * (size_t)V);
    zy_status st = zy_batch_init(&b, &zy_data_source_get_info(src)->dims);
    if (!st) st = zy_session_create(&s, m, NULL);
    if (!st && !logits) st = ZY_STATUS_OUT_OF_MEMORY;
    double sum = 0, n = 0;
    long batches = 0;
    while (!st && !(st = zy_data_source_next(src, &b)) && b.B > 0) {
        for (int r = 0; r < b.B && !st; r++) {
            zy_session_seq_reset(s, 0);
            const int len = b.lengths ? b.lengths[r] : b.T, seq = 0;
            for (int t = 0; t < len && !st; t++) {
                const int *x = b.input_ids + (size_t)r * b.T + t;
                const int y = b.targets ? b.targets[(size_t)r * b.T + t] : -1;
                if ((st = zy_session_decode(s, 1, &seq, x, 1, logits)) || y < 0) continue;
                double mx = logits[0], z = 0;
                for (int v = 1; v < V; v++) mx = logits[v] > mx ? logits[v] : mx;
                for (int v = 0; v < V; v++) z += exp((double)logits[v] - mx);
                sum += mx + log(z) - logits[y];
                n++;
            }
        }
        show(++batches, n, n > 0 ? sum / n : 0, pr);
    }
    zy_batch_destroy(&b);
    zy_session_free(s);
    free(logits);
    *loss = n > 0 ? sum / n : 0;
    *count = n;
    return st;
}

int zy_cli_eval(int argc, char **argv) {
    const char *dir = NULL, *files[64], *kflags[128], *svg_path = NULL, *adapter = NULL;
    int n_files = 0, n_kflags = 0, T = 0, B = 0, json = 0, decode = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc, n = -1;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return fputs(usage_text, stdout), 0;
        else if (!strcmp(a, "--data") && more) {
            if (n_files == 64) return zy_cli_die("eval: at most 64 --data files");
            files[n_files++] = argv[++i];
        } else if (!strcmp(a, "--seq") && more) {
            if (zy_cli_parse_int(argv[++i], 1, 1 << 20, &T))
                return zy_cli_die("eval: --seq '%s' is not a positive number", argv[i]);
        } else if (!strcmp(a, "--batch") && more) {
            if (zy_cli_parse_int(argv[++i], 1, 1 << 16, &B))
                return zy_cli_die("eval: --batch '%s' is not a positive number", argv[i]);
        } else if (!strcmp(a, "--threads") && more) {
            if (zy_cli_threads("eval", argv[++i])) return 1;
        } else if (!strcmp(a, "--weights") && more) {
            if (zy_cli_weights("eval", argv[++i])) return 1;
        } else if (!strcmp(a, "--adapter") && more) {
            adapter = argv[++i];
        } else if (!strcmp(a, "--confusion-svg") && more) {
            svg_path = argv[++i];
        } else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--decode")) decode = 1;
        else if (a[0] == '-' && a[1] &&
                 (n = zy_cli_kind_collect("eval", argc, argv, &i, kflags, 128, &n_kflags))) {
            if (n < 0) return 1;
        } else if (a[0] == '-' && a[1])
            return zy_cli_die("eval: unknown or incomplete option '%s' (see zhuyi eval --help)", a);
        else if (dir)
            return zy_cli_die("eval: one model directory only ('%s' and '%s')", dir, a);
        else dir = a;
    }
    if (!dir) return fputs(usage_text, stderr), 2;
    if (!n_files) return zy_cli_die("eval: --data FILE is required (see zhuyi eval --help)");

    zy_model *m;
    zy_tokenizer *tok;
    // --decode reads only the typed weights of a typed model: they load without fp32 ones.
    if ((decode ? zy_cli_open_model_decoder : zy_cli_open_model_adapter)("eval", dir, adapter,
                                                                         &m, &tok))
        return 1;
    const zy_model_info *c = zy_model_get_info(m);
    const cli_kind *k = zy_cli_kind_for_data(c, files, n_files);
    void *opts = NULL;
    cli_data d = {0};
    zy_session *s = NULL;
    int rc = 0;
    if (!k) {
        rc = zy_cli_die("eval: the model in %s is a '%s' (%s), which zhuyi eval does not "
                        "handle (it evaluates %s models)", dir, c->model_type,
                        c->architecture, zy_cli_kind_names("pretrain"));
        goto done;
    }
    if (decode && !(c->causal_lm && !k->loss_metric && !k->score)) {
        rc = zy_cli_die("eval: --decode is for causal language models scored on text (gpt); "
                        "%s holds a %s", dir, c->architecture);
        goto done;
    }
    if ((rc = zy_cli_kind_model_opts(k, "eval", dir, kflags, n_kflags, &opts)) ||
        (k->check && (rc = k->check(opts, "eval", m, tok, false))))
        goto done;
    cli_data_params dp = {.cmd = "eval", .tok = tok, .model = m, .files = files,
                          .n_files = n_files, .batch = B, .seq = T,
                          .trained_seq = zy_cli_trained_seq(dir), .dir = dir};
    if ((rc = k->eval_data(opts, &dp, &d))) goto done;
    zy_session_params pp = zy_session_default_params();
    pp.batch = d.batch, pp.seq = d.seq;
    const zy_batch_dims *dd = &zy_data_source_get_info(d.val)->dims;
    pp.seq_dec = dd->seq_dec, pp.tokens = dd->tokens; // encoder-decoder batches
    // no outputs are read (BERT scores its masked positions only) unless the kind scores
    // them
    pp.loss_only = !k->score;
    if ((decode && zy_cli_decode_only(m)) || zy_session_create(&s, m, &pp)) {
        rc = zy_cli_die("eval: %s", zy_last_error());
        goto done;
    }
    if (k->score) {
        rc = report_task(k, opts, &d, s, json, svg_path);
        goto done;
    }
    if (svg_path) {
        rc = zy_cli_die("eval: --confusion-svg is for fine-tuned classifiers");
        goto done;
    }
    long batches = (long)((d.rows + (size_t)d.batch - 1) / (size_t)d.batch);
    progress pr = {.show = isatty(STDERR_FILENO) && batches > 1, .batches = batches,
                   .t0 = now()};
    zy_metric_set ms = {0}; // (--decode reports no metrics)
    zy_eval_params ep = {.on_batch = show_progress, .user = &pr, .metrics = &ms};
    double loss, count;
    zy_status st;
    st = decode ? decode_loss(m, d.val, &pr, show_progress, &loss, &count)
                : zy_evaluate(s, d.val, &ep, &loss, &count);
    if (pr.show) fputs("\r\033[K", stderr);
    if (st) {
        rc = zy_cli_die("eval: %s", zy_last_error());
        goto done;
    }
    const zy_metric *lm = k->loss_metric ? zy_metric_set_find(&ms, k->loss_metric) : NULL;
    if (k->loss_metric && !(lm && lm->count > 0)) {
        rc = zy_cli_die("eval: the data gave no %s to score", k->eval_unit);
        goto done;
    }
    if (lm) loss = lm->value, count = lm->count;
    // The weights are finite (zy_cli_open_model checked), so a loss that is not comes from
    // the activations; either way there is no result to print (and JSON has no NaN).
    if (!isfinite(loss)) {
        rc = zy_cli_die("eval: the loss over %.0f %s is %s although every weight of %s is "
                        "finite: the activations overflowed", count, k->eval_unit,
                        isnan(loss) ? "NaN" : "infinite", dir);
        goto done;
    }
    report(k, loss, count, &ms, &d, json);
done:
    zy_session_free(s);
    if (k && k->free_data) k->free_data(&d);
    free(opts);
    zy_model_free(m);
    zy_tokenizer_free(tok);
    return rc;
}
