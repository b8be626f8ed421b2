// `zhuyi eval DIR --data FILE`: mean next-token loss and perplexity of a model directory
// on a text file. The token stream is cut into consecutive windows
//   x = tokens[iT : (i+1)T],  y = tokens[iT+1 : (i+1)T+1]   for every full window i
// (a tail shorter than T+1 tokens is left out), evaluated B windows per forward pass with
// dropout off. The loss is the mean over every predicted token, accumulated in double.
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
    "  --threads N   kernel threads (default: $ZY_THREADS, else all cores)\n"
    "\n"
    "Progress goes to stderr when it is a terminal.\n";

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
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

    zy_gpt *m;
    zy_tokenizer *tok;
    if (zy_cli_open_model("eval", dir, &m, &tok)) return 1;
    const zy_gpt_config *c = zy_gpt_get_config(m);
    int32_t *tokens = NULL;
    size_t n = 0;
    int rc = 0;
    int *x = NULL, *y = NULL;
    if (zy_dataset_encode_files(tok, files, n_files, &tokens, &n)) {
        rc = zy_cli_die("eval: %s", zy_last_error());
        goto done;
    }
    if (T > c->n_positions) {
        rc = zy_cli_die("eval: --seq %d is longer than the model's context (n_positions %d)",
                        T, c->n_positions);
        goto done;
    }
    if (!T) T = n - 1 < (size_t)c->n_positions ? (int)(n > 1 ? n - 1 : 1) : c->n_positions;
    size_t windows = n > 0 ? (n - 1) / (size_t)T : 0;
    if (!windows) {
        rc = zy_cli_die("eval: the data is %zu tokens; one window of --seq %d needs %d", n, T,
                        T + 1);
        goto done;
    }
    if (!B) B = 2048 / T > 0 ? 2048 / T : 1;
    if ((size_t)B > windows) B = (int)windows;
    x = malloc(sizeof *x * (size_t)B * T), y = malloc(sizeof *y * (size_t)B * T);
    if (!x || !y) {
        rc = zy_cli_die("eval: out of memory for a batch of %d x %d", B, T);
        goto done;
    }
    if (zy_gpt_prepare(m, B, T)) {
        rc = zy_cli_die("eval: %s", zy_last_error());
        goto done;
    }
    size_t batches = (windows + B - 1) / B;
    int show = isatty(STDERR_FILENO) && batches > 1;
    double total = 0, t0 = now(), shown = 0;
    for (size_t b = 0, w = 0; b < batches; b++) {
        int rows = (int)(windows - w < (size_t)B ? windows - w : (size_t)B);
        for (int r = 0; r < rows; r++, w++)
            for (int t = 0; t < T; t++) {
                x[r * T + t] = tokens[w * T + t];
                y[r * T + t] = tokens[w * T + t + 1];
            }
        float loss;
        if (zy_gpt_forward(m, x, y, rows, T, &loss)) {
            rc = zy_cli_die("eval: %s", zy_last_error());
            goto done;
        }
        total += (double)loss * rows * T;
        double el = now() - t0;
        if (show && (el - shown > 0.25 || b + 1 == batches)) {
            shown = el;
            double tps = (double)w * T / el;
            fprintf(stderr, "\reval: %zu/%zu windows (%3.0f%%)  loss %.4f  %.0f tok/s  ETA %.0fs ",
                    w, windows, 100.0 * w / windows, total / ((double)w * T), tps,
                    (double)(windows - w) * T / tps);
        }
    }
    if (show) fputs("\r\033[K", stderr);
    size_t count = windows * (size_t)T;
    double loss = total / (double)count;
    if (json && isfinite(exp(loss)))
        printf("{\"loss\":%.6f,\"perplexity\":%.9g,\"tokens\":%zu}\n", loss, exp(loss), count);
    else if (json) // JSON has no infinity
        printf("{\"loss\":%.6f,\"perplexity\":null,\"tokens\":%zu}\n", loss, count);
    else
        printf("loss %.4f  perplexity %.6g  (%zu tokens: %zu windows of %d)\n", loss, exp(loss),
               count, windows, T);
done:
    free(x), free(y);
    zy_free(tokens);
    zy_gpt_free(m);
    zy_tokenizer_free(tok);
    return rc;
}
