// `zhuyi translate DIR`: translate lines of text with an encoder-decoder model directory
// (config.json, model.safetensors, tokenizer.json). Each line is tokenized, the model's
// eos appended; lines are sorted by length so a batch pads little, decoded in batches by
// zy_seq2seq (beam search, greedy or sampling: src/infer/seq2seq.c), and the translations
// written in input order once all are done. Not the decoding rules (sample.h).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "infer.h"
#include "progress.h"
#include "query_run.h"
#include "strbuf.h"
#include "textio.h"
#include "zhuyi/sample.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi translate DIR [--input FILE] [--output FILE] [--beam K]\n"
    "                       [--length-penalty A] [--early-stopping] [--max-len-a A]\n"
    "                       [--max-len-b B] [--n-best N] [--greedy | --sample\n"
    "                       [--temperature T] [--top-k K] [--top-p P] [--seed S]]\n"
    "                       [--batch N] [--json] [--progress] [--weights TYPE]\n"
    "                       [--kv-cache TYPE] [--threads N]\n"
    "\n"
    "Translates each line of FILE (default: stdin) with the encoder-decoder model in DIR\n"
    "(config.json, model.safetensors, tokenizer.json; e.g. a MarianMT model) and writes one\n"
    "line per input line, in input order; an empty line gives an empty line. A source is\n"
    "the line's tokens and the model's eos (config.json eos_token_id), cut to the model's\n"
    "positions with a warning. Lines are sorted by length and decoded --batch at a time;\n"
    "the decoder starts from decoder_start_token_id and stops at eos.\n"
    "\n"
    "  --input FILE        the lines to translate (default: stdin)\n"
    "  --output FILE       where to write (default: stdout)\n"
    "  --beam K            beam search with K hypotheses per sentence (default 5), scored\n"
    "                      as Hugging Face's: sum of log-probabilities / length^A\n"
    "  --length-penalty A  the A above, length counting the eos (default 1.0; < 1 favours\n"
    "                      shorter translations)\n"
    "  --early-stopping    a sentence is done as soon as K hypotheses are finished\n"
    "                      (default: when no running beam can beat them, HF's heuristic)\n"
    "  --max-len-a A       at most A x source tokens + B new tokens (default 1.5;\n"
    "  --max-len-b B       default 10), never more than the model's positions\n"
    "  --n-best N          N hypotheses per line (N <= K), best first, as lines\n"
    "                      \"i ||| text ||| score\" (i: the 0-based input line)\n"
    "  --greedy            the most probable token every step (= --beam 1)\n"
    "  --sample            draw each token; --temperature T (1.0), --top-k K (0 = off),\n"
    "                      --top-p P (1 = off) filter as in zhuyi generate; --seed S (1):\n"
    "                      each line draws from its own seed, so batching changes nothing\n"
    "  --batch N           sentences decoded together (default 8; memory grows with N x K\n"
    "                      decoder caches of the model's positions)\n"
    "  --json              one JSON object per input line: {\"i\", \"text\", \"score\"}, and\n"
    "                      with --n-best \"hyps\": [{\"text\", \"score\"}, ...]\n"
    "  --progress          a progress bar or lines on stderr (default: when stderr is a\n"
    "                      terminal)\n"
    "  --weights TYPE      the weights as f32, f16, bf16, q8_0 or q4_0 (converted at\n"
    "                      load; default: as model.safetensors stores them, f16/bf16\n"
    "                      from `zhuyi quantize`, else f32)\n"
    "  --kv-cache TYPE     f32 (default), f16 or bf16: the decoder's cached keys and values\n"
    "                      (its own and the sources') in 16 bits, half the memory\n"
    "  --threads N         kernel threads (default: $ZY_THREADS, else all cores)\n";

typedef struct line {
    int32_t *ids; // the source: tokens + eos (NULL for an empty line)
    int n;
} line;

typedef struct opts {
    const char *dir, *input, *output;
    zy_seq2seq_params p;
    int batch, json, progress, n_best_flag, greedy, sample, filters;
} opts;

static int flag_value(const char *a, const char *v, opts *o) {
    float f;
    if (!strcmp(a, "--beam")) {
        if (zy_cli_parse_int(v, 1, 1024, &o->p.beam))
            return zy_cli_die("translate: --beam '%s' is not a number from 1 to 1024", v);
    } else if (!strcmp(a, "--n-best")) {
        if (zy_cli_parse_int(v, 1, 1024, &o->p.n_best))
            return zy_cli_die("translate: --n-best '%s' is not a number from 1 to 1024", v);
        o->n_best_flag = 1;
    } else if (!strcmp(a, "--length-penalty")) {
        if (zy_cli_parse_float(v, -1e6, 1e6, &o->p.length_penalty))
            return zy_cli_die("translate: --length-penalty '%s' is not a number", v);
    } else if (!strcmp(a, "--max-len-a")) {
        if (zy_cli_parse_float(v, 0, 1e6, &o->p.max_len_a))
            return zy_cli_die("translate: --max-len-a '%s' is not a number >= 0", v);
    } else if (!strcmp(a, "--max-len-b")) {
        if (zy_cli_parse_int(v, 0, 1 << 30, &o->p.max_len_b))
            return zy_cli_die("translate: --max-len-b '%s' is not a whole number >= 0", v);
    } else if (!strcmp(a, "--temperature")) {
        if (zy_cli_parse_float(v, 0, 1e6, &o->p.sample.temperature))
            return zy_cli_die("translate: --temperature '%s' is not a number >= 0", v);
        o->filters = 1;
    } else if (!strcmp(a, "--top-k")) {
        if (zy_cli_parse_int(v, 0, 1 << 30, &o->p.sample.top_k))
            return zy_cli_die("translate: --top-k '%s' is not a whole number >= 0", v);
        o->filters = 1;
    } else if (!strcmp(a, "--top-p")) {
        if (zy_cli_parse_float(v, 0, 1, &f) || !(f > 0))
            return zy_cli_die("translate: --top-p '%s' is not a number in (0, 1]", v);
        o->p.sample.top_p = f, o->filters = 1;
    } else if (!strcmp(a, "--seed")) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(v, &end, 10);
        if (!*v || *end || errno || v[0] == '-')
            return zy_cli_die("translate: --seed '%s' is not a whole number >= 0", v);
        o->p.seed = s, o->filters = 1;
    } else if (!strcmp(a, "--batch")) {
        if (zy_cli_parse_int(v, 1, 4096, &o->batch))
            return zy_cli_die("translate: --batch '%s' is not a number from 1 to 4096", v);
    } else if (!strcmp(a, "--threads")) {
        if (zy_cli_threads("translate", v)) return 1;
    } else if (!strcmp(a, "--weights")) {
        if (zy_cli_weights("translate", v)) return 1;
    } else if (!strcmp(a, "--kv-cache")) {
        if (zy_cli_kv_cache("translate", v)) return 1;
        o->p.kv_cache = zy_cli_decode_params().kv_cache;
    } else if (!strcmp(a, "--input")) {
        o->input = v;
    } else if (!strcmp(a, "--output")) {
        o->output = v;
    } else {
        return -1;
    }
    return 0;
}

static int parse(int argc, char **argv, opts *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r;
        if (!strcmp(a, "--greedy")) o->greedy = 1;
        else if (!strcmp(a, "--sample")) o->sample = 1;
        else if (!strcmp(a, "--early-stopping")) o->p.early_stopping = true;
        else if (!strcmp(a, "--json")) o->json = 1;
        else if (!strcmp(a, "--progress")) o->progress = 1;
        else if (v && a[0] == '-' && (r = flag_value(a, v, o)) >= 0) {
            if (r) return 1;
            i++;
        } else if (a[0] == '-' && a[1]) {
            return zy_cli_die("translate: unknown or incomplete option '%s' (see zhuyi "
                              "translate --help)", a);
        } else if (o->dir) {
            return zy_cli_die("translate: one model directory only ('%s' and '%s')", o->dir, a);
        } else {
            o->dir = a;
        }
    }
    if (o->greedy && o->sample) return zy_cli_die("translate: --greedy excludes --sample");
    if (o->filters && !o->sample)
        return zy_cli_die("translate: --temperature, --top-k, --top-p and --seed need "
                          "--sample");
    o->p.mode = o->greedy ? ZY_SEQ2SEQ_GREEDY : o->sample ? ZY_SEQ2SEQ_SAMPLE : ZY_SEQ2SEQ_BEAM;
    if (o->p.mode != ZY_SEQ2SEQ_BEAM && o->p.n_best > 1)
        return zy_cli_die("translate: --n-best %d needs beam search (not --%s)", o->p.n_best,
                          o->greedy ? "greedy" : "sample");
    if (o->p.n_best > o->p.beam)
        return zy_cli_die("translate: --n-best %d is more than --beam %d", o->p.n_best,
                          o->p.beam);
    if (zy_seq2seq_params_validate(&o->p))
        return zy_cli_die("translate: %s", zy_last_error());
    return 0;
}

// Every line of f into *lines (text in *texts, one allocation each), "\n" / "\r\n" removed.
static int read_lines(FILE *f, const char *name, char ***texts, size_t *n) {
    char *buf = NULL, **t = NULL;
    size_t cap = 0, have = 0, room = 0;
    ssize_t len;
    errno = 0;
    while ((len = getline(&buf, &cap, f)) >= 0) {
        if (len > 0 && buf[len - 1] == '\n') buf[--len] = '\0';
        if (len > 0 && buf[len - 1] == '\r') buf[--len] = '\0';
        if (have == room) {
            room = room ? 2 * room : 256;
            char **g = realloc(t, room * sizeof *g);
            if (!g) goto oom;
            t = g;
        }
        if (!(t[have] = strdup(buf))) goto oom;
        have++;
    }
    free(buf);
    if (ferror(f)) {
        for (size_t i = 0; i < have; i++) free(t[i]);
        free(t);
        return zy_cli_die("translate: reading %s: %s", name, strerror(errno));
    }
    *texts = t, *n = have;
    return 0;
oom:
    for (size_t i = 0; i < have; i++) free(t[i]);
    free(t);
    free(buf);
    return zy_cli_die("translate: out of memory reading %s", name);
}

static const line *g_lines; // for the sort
static int by_length(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    if (g_lines[x].n != g_lines[y].n) return g_lines[x].n < g_lines[y].n ? -1 : 1;
    return x < y ? -1 : x > y;
}

int zy_cli_translation_text(zy_tokenizer *tok, const zy_seq2seq_hyp *h, int skip, int32_t *ids,
                            zy_strbuf *text) {
    size_t n = 0, len = 0;
    for (int i = 0; i < h->n; i++)
        if (h->tokens[i] != skip) ids[n++] = h->tokens[i];
    zy_strbuf_clear(text);
    if (zy_tokenizer_decode(tok, ids, n, NULL, 0, &len)) return 1;
    char *s = malloc(len + 1);
    if (!s || zy_tokenizer_decode(tok, ids, n, s, len + 1, &len)) return free(s), 1;
    zy_strbuf_put(text, s, len);
    free(s);
    return text->oom;
}

// The output of one line: its hypotheses (none for an empty line) in the chosen format.
static char *format_line(const opts *o, size_t i, zy_tokenizer *tok, const zy_seq2seq *d,
                         int k, int skip, int32_t *ids, zy_strbuf *text) {
    zy_strbuf b = {0};
    // An empty line (d NULL): empty text, score 0, as many lines as a translated one.
    int n = d ? zy_seq2seq_n_hyps(d, k) : o->json ? 0 : o->n_best_flag ? o->p.n_best : 1;
    if (o->json) zy_strbuf_printf(&b, "{\"i\": %zu, ", i);
    for (int r = 0; r < n; r++) {
        zy_seq2seq_hyp h = {0};
        zy_strbuf_clear(text);
        if (d && (zy_seq2seq_hyp_get(d, k, r, &h) || zy_cli_translation_text(tok, &h, skip, ids, text))) {
            zy_strbuf_free(&b);
            return NULL;
        }
        const char *s = text->p ? text->p : "";
        if (o->json) {
            if (r == 0) {
                zy_strbuf_puts(&b, "\"text\": ");
                zy_cli_json_string(&b, s, text->n);
                zy_strbuf_printf(&b, ", \"score\": %.6g", (double)h.score);
                if (o->n_best_flag) zy_strbuf_puts(&b, ", \"hyps\": [");
            }
            if (o->n_best_flag) {
                zy_strbuf_puts(&b, r ? ", {\"text\": " : "{\"text\": ");
                zy_cli_json_string(&b, s, text->n);
                zy_strbuf_printf(&b, ", \"score\": %.6g}", (double)h.score);
            }
        } else if (o->n_best_flag) {
            zy_strbuf_printf(&b, "%zu ||| ", i);
            zy_strbuf_put(&b, s, text->n);
            zy_strbuf_printf(&b, " ||| %.6f\n", (double)h.score);
        } else {
            zy_strbuf_put(&b, s, text->n);
            zy_strbuf_puts(&b, "\n");
        }
    }
    if (o->json) {
        if (n == 0) zy_strbuf_puts(&b, "\"text\": \"\", \"score\": 0");
        if (o->n_best_flag) zy_strbuf_puts(&b, n == 0 ? ", \"hyps\": []}\n" : "]}\n");
        else zy_strbuf_puts(&b, "}\n");
    } else if (n == 0) {
        zy_strbuf_puts(&b, "\n");
    }
    if (b.oom) {
        zy_strbuf_free(&b);
        return NULL;
    }
    if (!b.p) zy_strbuf_puts(&b, "");
    return b.p;
}

int zy_cli_translate_run(const char *cmd, zy_model *m, zy_tokenizer *tok,
                         const zy_seq2seq_params *p, int batch, char *const *texts,
                         size_t n_lines, const char *in_name, bool truncate, bool progress,
                         int (*on_line)(void *user, size_t i, const zy_seq2seq *d, int k),
                         void *user) {
    const zy_model_info *c = zy_model_get_info(m);
    int rc = 1;
    line *lines = NULL;
    int *order = NULL, *batch_tok = NULL, *batch_len = NULL;
    uint64_t *batch_ids = NULL;
    zy_seq2seq *d = NULL;
    int P = c->max_positions, eos = c->eos_id, room = eos >= 0 ? P - 1 : P;
    if (!(lines = calloc(n_lines ? n_lines : 1, sizeof *lines)) ||
        !(order = malloc((n_lines ? n_lines : 1) * sizeof *order))) {
        zy_cli_die("%s: out of memory for %zu lines", cmd, n_lines);
        goto done;
    }
    // Tokenize every line; empty ones are answered without the model.
    size_t n_src = 0;
    for (size_t i = 0; i < n_lines; i++) {
        size_t len = strlen(texts[i]), n = 0;
        if (!len) continue;
        int32_t *t = malloc((len + 1) * sizeof *t);
        if (!t) {
            zy_cli_die("%s: out of memory", cmd);
            goto done;
        }
        char where[64 + 4096]; // "line N of FILE", or "input[i]" for texts of no file
        if (in_name) snprintf(where, sizeof where, "line %zu of %s", i + 1, in_name);
        else snprintf(where, sizeof where, "input[%zu]", i);
        if (zy_tokenizer_encode(tok, texts[i], len, 0, t, len + 1, &n)) {
            free(t);
            zy_cli_die("%s: %s: %s", cmd, where, zy_last_error());
            goto done;
        }
        if (n == 0) { // only characters the tokenizer drops (spaces)
            free(t);
            continue;
        }
        if (n > (size_t)room && !truncate) {
            free(t);
            zy_cli_die("%s: %s has %zu tokens, more than the %d the model's %d "
                       "positions hold%s", cmd, where, n, room, P,
                       eos >= 0 ? " with the eos" : "");
            goto done;
        }
        if (n > (size_t)room) {
            fprintf(stderr, "zhuyi: warning: %s: %s has %zu tokens; cut to "
                    "%d (the model's %d positions%s)\n", cmd, where, n, room, P,
                    eos >= 0 ? ", with the eos" : "");
            n = (size_t)room;
        }
        if (eos >= 0) t[n++] = eos;
        lines[i].ids = t, lines[i].n = (int)n;
        order[n_src++] = (int)i;
    }
    g_lines = lines;
    qsort(order, n_src, sizeof *order, by_length);

    int B = n_src < (size_t)batch ? (int)(n_src ? n_src : 1) : batch;
    if (zy_seq2seq_create(&d, m, p, B)) {
        zy_cli_die("%s: %s", cmd, zy_last_error());
        goto done;
    }
    if (!(batch_tok = malloc((size_t)B * P * sizeof *batch_tok)) ||
        !(batch_len = malloc((size_t)B * sizeof *batch_len)) ||
        !(batch_ids = malloc((size_t)B * sizeof *batch_ids))) {
        zy_cli_die("%s: out of memory", cmd);
        goto done;
    }
    zy_progress prog;
    zy_progress_init(&prog, 0, (long)n_src, (long)(n_src / 10 > 0 ? n_src / 10 : 1));
    int show = progress || prog.tty;
    for (size_t at = 0; at < n_src;) {
        int n = (size_t)B < n_src - at ? B : (int)(n_src - at), T = 0;
        for (int k = 0; k < n; k++) T = lines[order[at + k]].n > T ? lines[order[at + k]].n : T;
        for (int k = 0; k < n; k++) {
            const line *l = &lines[order[at + k]];
            for (int t = 0; t < T; t++) batch_tok[k * T + t] = t < l->n ? l->ids[t] : 0;
            batch_len[k] = l->n;
            batch_ids[k] = (uint64_t)order[at + k];
        }
        if (zy_seq2seq_run(d, n, batch_tok, T, batch_len, batch_ids)) {
            if (show) zy_progress_end(&prog);
            zy_cli_die("%s: %s", cmd, zy_last_error());
            goto done;
        }
        for (int k = 0; k < n; k++)
            if (on_line(user, (size_t)order[at + k], d, k)) {
                if (show) zy_progress_end(&prog);
                goto done;
            }
        at += (size_t)n;
        if (show) zy_progress_count(&prog, (long)at, "sentences");
    }
    if (show) zy_progress_end(&prog);
    rc = 0;
done:
    for (size_t i = 0; lines && i < n_lines; i++) free(lines[i].ids);
    free(lines);
    free(order);
    free(batch_tok);
    free(batch_len);
    free(batch_ids);
    zy_seq2seq_free(d);
    return rc;
}

// The command's output of each line, kept until all are done (they come in length order).
typedef struct outputs {
    const opts *o;
    zy_tokenizer *tok;
    int skip;
    int32_t *ids;     // (max_positions)
    zy_strbuf text;
    char **out;       // (n_lines) what to print for each line (NULL: nothing yet)
} outputs;

static int put_line(void *user, size_t i, const zy_seq2seq *d, int k) {
    outputs *w = user;
    if (!(w->out[i] = format_line(w->o, i, w->tok, d, k, w->skip, w->ids, &w->text)))
        return zy_cli_die("translate: decoding the translation of line %zu: %s", i + 1,
                          zy_last_error());
    return 0;
}

int zy_cli_translate(int argc, char **argv) {
    opts o = {.p = zy_seq2seq_default_params(), .batch = 8};
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return fputs(usage_text, stdout), 0;
    if (parse(argc, argv, &o)) return 1;
    if (!o.dir) return fputs(usage_text, stderr), 2;

    int rc = 1;
    zy_model *m = NULL;
    zy_tokenizer *tok = NULL;
    FILE *in = stdin, *out = NULL;
    char **texts = NULL;
    size_t n_lines = 0;
    outputs w = {.o = &o};
    const char *in_name = o.input && strcmp(o.input, "-") ? o.input : "stdin";

    if (o.input && strcmp(o.input, "-") && !(in = fopen(o.input, "r")))
        return zy_cli_die("translate: cannot open --input %s: %s", o.input, strerror(errno));
    if (zy_cli_open_model("translate", o.dir, &m, &tok)) goto done;
    const zy_model_info *c = zy_model_get_info(m);
    if (!c->encoder_decoder) {
        zy_cli_die("translate: the model in %s is a '%s' (%s), not an encoder-decoder "
                   "(translation) model", o.dir, c->model_type, c->architecture);
        goto done;
    }
    // Opened before the work, so a bad path fails at once.
    if (!(out = o.output ? fopen(o.output, "w") : stdout)) {
        zy_cli_die("translate: cannot create --output %s: %s", o.output, strerror(errno));
        goto done;
    }
    if (read_lines(in, in_name, &texts, &n_lines)) goto done;
    w.tok = tok, w.skip = c->decoder_start_id;
    if (!(w.out = calloc(n_lines ? n_lines : 1, sizeof *w.out)) ||
        !(w.ids = malloc((size_t)c->max_positions * sizeof *w.ids))) {
        zy_cli_die("translate: out of memory for %zu lines", n_lines);
        goto done;
    }
    if (zy_cli_translate_run("translate", m, tok, &o.p, o.batch, texts, n_lines, in_name, true,
                             o.progress, put_line, &w))
        goto done;
    for (size_t i = 0; i < n_lines; i++) {
        char *s = w.out[i];
        if (!s && !(s = w.out[i] = format_line(&o, i, tok, NULL, 0, -1, w.ids, &w.text))) {
            zy_cli_die("translate: out of memory");
            goto done;
        }
        fputs(s, out);
    }
    if (fflush(out) != 0 || ferror(out) || (out != stdout && fclose(out) != 0)) {
        out = NULL;
        zy_cli_die("translate: writing %s: %s", o.output ? o.output : "stdout",
                   strerror(errno));
        goto done;
    }
    out = NULL;
    rc = 0;
done:
    if (out && out != stdout) fclose(out);
    if (in && in != stdin) fclose(in);
    for (size_t i = 0; i < n_lines; i++) {
        free(texts[i]);
        if (w.out) free(w.out[i]);
    }
    free(texts);
    free(w.out);
    free(w.ids);
    zy_strbuf_free(&w.text);
    zy_model_free(m);
    zy_tokenizer_free(tok);
    return rc;
}
