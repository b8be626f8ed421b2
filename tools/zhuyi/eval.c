// `zhuyi eval DIR --data FILE`: mean next-token loss and perplexity of a model directory
// (any causal language model) on a text file. The token stream is cut into consecutive
// windows
//   x = tokens[iT : (i+1)T],  y = tokens[iT+1 : (i+1)T+1]   for every full window i
// (a tail shorter than T+1 tokens is left out), evaluated B windows per forward pass with
// dropout off: the one-pass zy_lm_stream and zy_evaluate, the same code as the trainer's
// validation. The loss is the mean over every predicted token, accumulated in double.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "infer.h"
#include "zhuyi/trainer.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi eval DIR --data FILE [--data FILE...] [--seq T] [--batch B] [--json]\n"
    "                  [--threads N]\n"
    "\n"
    "Mean next-token cross-entropy (nats) and perplexity of the model in DIR (config.json,\n"
    "model.safetensors, tokenizer.json) on the text in FILE. The text is encoded into one\n"
    "token stream (several files are joined by <|endoftext|> when the tokenizer has it) and\n"
    "cut into consecutive windows of T inputs with the next T tokens as targets; every full\n"
    "window counts, a shorter tail is left out.\n"
    "\n"
    "  --data FILE   text to evaluate on (required; may be repeated)\n"
    "  --seq T       window length (default: the model's n_positions, or less if the\n"
    "                text is shorter)\n"
    "  --batch B     windows per forward pass (default: as many as fit 2048 tokens)\n"
    "  --json        print {\"loss\":L,\"perplexity\":P,\"tokens\":N} instead of text\n"
    "                (perplexity null when exp(loss) overflows)\n"
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
    int show, T;
    size_t windows;
    double t0, shown;
} progress;

// One line on stderr, redrawn at most 4 times a second (only when it is a terminal).
static int show_progress(long batches, double count, double mean_loss, void *user) {
    (void)batches;
    progress *p = user;
    double el = now() - p->t0;
    size_t w = (size_t)(count / p->T);
    if (!p->show || (el - p->shown <= 0.25 && w < p->windows)) return 0;
    p->shown = el;
    double tps = count / el;
    fprintf(stderr, "\reval: %zu/%zu windows (%3.0f%%)  loss %.4f  %.0f tok/s  ETA %.0fs ", w,
            p->windows, 100.0 * w / p->windows, mean_loss, tps,
            (double)(p->windows - w) * p->T / tps);
    return 0;
}

int zy_cli_eval(int argc, char **argv) {
    const char *dir = NULL, *files[64];
    int n_files = 0, T = 0, B = 0, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
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
            int n;
            if (zy_cli_parse_int(argv[++i], 1, 4096, &n))
                return zy_cli_die("eval: --threads '%s' is not a number from 1 to 4096", argv[i]);
            zy_threads_set(n);
        } else if (!strcmp(a, "--json")) json = 1;
        else if (a[0] == '-' && a[1])
            return zy_cli_die("eval: unknown or incomplete option '%s' (see zhuyi eval --help)", a);
        else if (dir)
            return zy_cli_die("eval: one model directory only ('%s' and '%s')", dir, a);
        else dir = a;
    }
    if (!dir) return fputs(usage_text, stderr), 2;
    if (!n_files) return zy_cli_die("eval: --data FILE is required (see zhuyi eval --help)");

    zy_model *m;
    zy_tokenizer *tok;
    if (zy_cli_open_model("eval", dir, &m, &tok)) return 1;
    const zy_model_info *c = zy_model_get_info(m);
    int32_t *tokens = NULL;
    size_t n = 0;
    int rc = 0;
    zy_session *s = NULL;
    zy_data_source *src = NULL;
    if (!c->causal_lm) {
        rc = zy_cli_die("eval: the model in %s is a '%s' (%s), not a causal language model",
                        dir, c->model_type, c->architecture);
        goto done;
    }
    if (zy_dataset_encode_files(tok, files, n_files, &tokens, &n)) {
        rc = zy_cli_die("eval: %s", zy_last_error());
        goto done;
    }
    if (T > c->max_positions) {
        rc = zy_cli_die("eval: --seq %d is longer than the model's context (n_positions %d)",
                        T, c->max_positions);
        goto done;
    }
    if (!T) T = n - 1 < (size_t)c->max_positions ? (int)(n > 1 ? n - 1 : 1) : c->max_positions;
    size_t windows = n > 0 ? (n - 1) / (size_t)T : 0;
    if (!windows) {
        rc = zy_cli_die("eval: the data is %zu tokens; one window of --seq %d needs %d", n, T,
                        T + 1);
        goto done;
    }
    if (!B) B = 2048 / T > 0 ? 2048 / T : 1;
    if ((size_t)B > windows) B = (int)windows;
    zy_lm_stream_params sp = {.batch = B, .seq = T, .one_pass = true};
    zy_session_params pp = zy_session_default_params();
    pp.batch = B, pp.seq = T;
    if (zy_lm_stream_create(&src, tokens, n, &sp) || zy_session_create(&s, m, &pp)) {
        rc = zy_cli_die("eval: %s", zy_last_error());
        goto done;
    }
    size_t batches = (windows + B - 1) / B;
    progress pr = {.show = isatty(STDERR_FILENO) && batches > 1, .T = T, .windows = windows,
                   .t0 = now()};
    zy_eval_params ep = {.on_batch = show_progress, .user = &pr};
    double loss, count;
    zy_status st = zy_evaluate(s, src, &ep, &loss, &count);
    if (pr.show) fputs("\r\033[K", stderr);
    if (st) {
        rc = zy_cli_die("eval: %s", zy_last_error());
        goto done;
    }
    // The weights are finite (zy_cli_open_model checked), so a loss that is not comes from
    // the activations; either way there is no result to print (and JSON has no NaN).
    if (!isfinite(loss)) {
        rc = zy_cli_die("eval: the loss over %.0f tokens is %s although every weight of %s "
                        "is finite: the activations overflowed", count,
                        isnan(loss) ? "NaN" : "infinite", dir);
        goto done;
    }
    if (json && isfinite(exp(loss)))
        printf("{\"loss\":%.6f,\"perplexity\":%.9g,\"tokens\":%.0f}\n", loss, exp(loss), count);
    else if (json) // JSON has no infinity
        printf("{\"loss\":%.6f,\"perplexity\":null,\"tokens\":%.0f}\n", loss, count);
    else
        printf("loss %.4f  perplexity %.6g  (%.0f tokens: %zu windows of %d)\n", loss, exp(loss),
               count, windows, T);
done:
    zy_session_free(s);
    zy_data_source_free(src);
    zy_free(tokens);
    zy_model_free(m);
    zy_tokenizer_free(tok);
    return rc;
}
