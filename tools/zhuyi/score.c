// `zhuyi score`: corpus BLEU and chrF of a hypothesis file against one or more reference
// files, line by line, as SacreBLEU 2.x computes them by default, and the word and
// character error rates as jiwer does (include/zhuyi/metrics.h, docs/METRICS.md). Prints sacrebleu's text lines and signatures, or one JSON object. Reads
// files only; the metrics are the library's.
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "cli.h"
#include "zhuyi/metrics.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi score --ref REF [--ref REF2 ...] --hyp HYP [--metrics LIST]\n"
    "                   [--json] [--width N]\n"
    "\n"
    "Scores the lines of HYP against the lines of each REF (line i of every file is\n"
    "segment i) as SacreBLEU 2.x does with its defaults: BLEU with the 13a tokenizer and\n"
    "'exp' smoothing, chrF2 (character 6-grams, whitespace removed); or the word and\n"
    "character error rates as jiwer does (total edits / reference words or characters,\n"
    "in percent). Files are UTF-8.\n"
    "  --ref FILE        a reference file; repeat for several references per segment\n"
    "  --hyp FILE        the hypotheses ('-': standard input)\n"
    "  --metrics LIST    some of bleu, chrf, wer, cer, comma-separated (default:\n"
    "                    bleu,chrf); wer and cer take exactly one --ref\n"
    "  --json            one JSON object with every statistic instead of text lines\n"
    "  --width N         decimals of the scores in text output (default 2; sacrebleu's\n"
    "                    command line uses 1)\n";

// A file's lines (the newline removed; a last line without one counts, an empty file has
// none), in one buffer.
typedef struct lines {
    char *buf;
    char **line;
    size_t n;
} lines;

static void lines_free(lines *l) {
    free(l->buf);
    free(l->line);
}

// 0 on success; else prints the reason (naming the file and line) and returns 1.
static int read_lines(const char *path, lines *out) {
    *out = (lines){0};
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) return zy_cli_die("score: cannot open %s: %s", path, strerror(errno));
    size_t n;
    char *buf = zy_cli_read_stream(f, &n);
    int err = ferror(f);
    if (f != stdin) fclose(f);
    if (!buf) return zy_cli_die("score: %s: out of memory", path);
    if (err) {
        free(buf);
        return zy_cli_die("score: cannot read %s", path);
    }
    size_t count = 0;
    for (size_t i = 0; i < n; i++) count += buf[i] == '\n';
    if (n && buf[n - 1] != '\n') count++;
    char **line = malloc((count + 1) * sizeof *line);
    if (!line) {
        free(buf);
        return zy_cli_die("score: %s: out of memory", path);
    }
    const char *name = strcmp(path, "-") ? path : "standard input";
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && buf[j] != '\n') j++;
        buf[j] = 0;
        if (strlen(buf + i) != j - i) {
            free(buf), free(line);
            return zy_cli_die("score: %s line %zu holds a NUL byte", name, k + 1);
        }
        for (size_t p = i; p < j;) {
            utf8proc_int32_t c;
            utf8proc_ssize_t len = utf8proc_iterate((const utf8proc_uint8_t *)buf + p,
                                                    (utf8proc_ssize_t)(j - p), &c);
            if (len <= 0) {
                free(buf), free(line);
                return zy_cli_die("score: %s line %zu is not valid UTF-8 (byte %zu of the line)",
                                  name, k + 1, p - i + 1);
            }
            p += (size_t)len;
        }
        line[k++] = buf + i;
        i = j + 1;
    }
    *out = (lines){buf, line, k};
    return 0;
}

static cJSON *bleu_json(const zy_bleu_score *b, const char *sig) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", "BLEU");
    cJSON_AddNumberToObject(o, "score", b->score);
    cJSON_AddStringToObject(o, "signature", sig);
    cJSON *p = cJSON_AddArrayToObject(o, "precisions");
    cJSON *c = cJSON_AddArrayToObject(o, "counts");
    cJSON *t = cJSON_AddArrayToObject(o, "totals");
    for (int i = 0; i < 4; i++) {
        cJSON_AddItemToArray(p, cJSON_CreateNumber(b->precisions[i]));
        cJSON_AddItemToArray(c, cJSON_CreateNumber((double)b->counts[i]));
        cJSON_AddItemToArray(t, cJSON_CreateNumber((double)b->totals[i]));
    }
    cJSON_AddNumberToObject(o, "bp", b->bp);
    cJSON_AddNumberToObject(o, "ratio", b->ratio);
    cJSON_AddNumberToObject(o, "hyp_len", (double)b->sys_len);
    cJSON_AddNumberToObject(o, "ref_len", (double)b->ref_len);
    return o;
}

static cJSON *rate_json(const char *name, const zy_error_rate *r) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddNumberToObject(o, "rate", r->rate);
    cJSON_AddNumberToObject(o, "hits", (double)r->hits);
    cJSON_AddNumberToObject(o, "substitutions", (double)r->substitutions);
    cJSON_AddNumberToObject(o, "deletions", (double)r->deletions);
    cJSON_AddNumberToObject(o, "insertions", (double)r->insertions);
    cJSON_AddNumberToObject(o, "ref_len", (double)r->ref_len);
    cJSON_AddNumberToObject(o, "hyp_len", (double)r->hyp_len);
    return o;
}

static void rate_text(const char *name, const zy_error_rate *r, int width) {
    printf("%s = %.*f %% (hits = %lld substitutions = %lld deletions = %lld insertions = %lld "
           "ref_len = %lld hyp_len = %lld)\n",
           name, width, 100 * r->rate, (long long)r->hits, (long long)r->substitutions,
           (long long)r->deletions, (long long)r->insertions, (long long)r->ref_len,
           (long long)r->hyp_len);
}

// --metrics: a comma-separated list of bleu, chrf, wer, cer -> want[0..4); 0 or 1 (bad).
static int parse_metrics(const char *v, int want[4]) {
    static const char *names[4] = {"bleu", "chrf", "wer", "cer"};
    for (int k = 0; k < 4; k++) want[k] = 0;
    for (const char *p = v;;) {
        size_t len = strcspn(p, ",");
        int k = 0;
        while (k < 4 && !(strlen(names[k]) == len && !strncmp(p, names[k], len))) k++;
        if (k == 4) return 1;
        want[k] = 1;
        if (!p[len]) return 0;
        p += len + 1;
    }
}

static cJSON *chrf_json(const zy_chrf_score *f, const char *sig) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", "chrF2");
    cJSON_AddNumberToObject(o, "score", f->score);
    cJSON_AddStringToObject(o, "signature", sig);
    const int64_t *part[3] = {f->hyp, f->ref, f->match};
    const char *names[3] = {"hyp", "ref", "match"};
    for (int k = 0; k < 3; k++) {
        cJSON *a = cJSON_AddArrayToObject(o, names[k]);
        for (int i = 0; i < 6; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)part[k][i]));
    }
    return o;
}

int zy_cli_score(int argc, char **argv) {
    const char **ref_paths = calloc((size_t)argc, sizeof *ref_paths);
    if (!ref_paths) return zy_cli_die("score: out of memory");
    size_t n_ref_paths = 0;
    const char *hyp_path = NULL;
    int want[4] = {1, 1, 0, 0}, json = 0, width = 2, rc = 1; // bleu, chrf, wer, cer
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            free(ref_paths);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--ref") || !strcmp(a, "--hyp") || !strcmp(a, "--metrics") ||
                   !strcmp(a, "--width")) {
            if (!v) {
                zy_cli_die("score: %s needs a value", a);
                goto done;
            }
            i++;
            if (!strcmp(a, "--ref")) {
                if (!strcmp(v, "-")) {
                    zy_cli_die("score: --ref - : references must be files (only --hyp reads "
                               "standard input)");
                    goto done;
                }
                ref_paths[n_ref_paths++] = v;
            } else if (!strcmp(a, "--hyp")) {
                hyp_path = v;
            } else if (!strcmp(a, "--width")) {
                if (zy_cli_parse_int(v, 0, 17, &width)) {
                    zy_cli_die("score: --width '%s' is not a number from 0 to 17", v);
                    goto done;
                }
            } else if (parse_metrics(v, want)) {
                zy_cli_die("score: --metrics '%s': expected bleu, chrf, wer or cer, "
                           "comma-separated", v);
                goto done;
            }
        } else {
            zy_cli_die("score: unknown argument '%s' (see zhuyi score --help)", a);
            goto done;
        }
    }
    if (!n_ref_paths || !hyp_path) {
        zy_cli_die("score: %s", !hyp_path ? "--hyp is required" : "at least one --ref is required");
        goto done;
    }
    if ((want[2] || want[3]) && n_ref_paths != 1) {
        zy_cli_die("score: wer and cer take one reference file (%zu given)", n_ref_paths);
        goto done;
    }
    const int want_bleu = want[0], want_chrf = want[1];

    lines hyp = {0};
    lines *ref = calloc(n_ref_paths, sizeof *ref);
    const char *const **streams = calloc(n_ref_paths, sizeof *streams);
    if (!ref || !streams) {
        zy_cli_die("score: out of memory");
        goto free_lines;
    }
    if (read_lines(hyp_path, &hyp)) goto free_lines;
    for (size_t r = 0; r < n_ref_paths; r++) {
        if (read_lines(ref_paths[r], &ref[r])) goto free_lines;
        if (ref[r].n != hyp.n) {
            zy_cli_die("score: %s has %zu lines but %s has %zu: every file needs one line per "
                       "segment", ref_paths[r], ref[r].n,
                       strcmp(hyp_path, "-") ? hyp_path : "standard input", hyp.n);
            goto free_lines;
        }
        streams[r] = (const char *const *)ref[r].line;
    }

    zy_bleu_score b;
    zy_chrf_score f;
    char bsig[160], fsig[160];
    if (want_bleu && zy_bleu_corpus((const char *const *)hyp.line, hyp.n, streams, n_ref_paths,
                                    &b)) {
        zy_cli_die("score: %s", zy_last_error());
        goto free_lines;
    }
    if (want_chrf && zy_chrf_corpus((const char *const *)hyp.line, hyp.n, streams, n_ref_paths,
                                    &f)) {
        zy_cli_die("score: %s", zy_last_error());
        goto free_lines;
    }
    zy_error_rate er[2]; // wer, cer
    for (int k = 0; k < 2; k++) {
        if (!want[2 + k]) continue;
        zy_status st = (k ? zy_cer_corpus : zy_wer_corpus)((const char *const *)hyp.line,
                                                           streams[0], hyp.n, &er[k]);
        if (st) {
            zy_cli_die("score: %s", zy_last_error());
            goto free_lines;
        }
    }
    if (want_bleu) zy_bleu_signature(&b, bsig, sizeof bsig);
    if (want_chrf) zy_chrf_signature(&f, fsig, sizeof fsig);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        if (want_bleu) cJSON_AddItemToObject(o, "bleu", bleu_json(&b, bsig));
        if (want_chrf) cJSON_AddItemToObject(o, "chrf", chrf_json(&f, fsig));
        if (want[2]) cJSON_AddItemToObject(o, "wer", rate_json("WER", &er[0]));
        if (want[3]) cJSON_AddItemToObject(o, "cer", rate_json("CER", &er[1]));
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!text) {
            zy_cli_die("score: out of memory");
            goto free_lines;
        }
        puts(text);
        cJSON_free(text);
    } else {
        // sacrebleu's BLEUScore / CHRFScore text, then the signature
        if (want_bleu)
            printf("BLEU = %.*f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %lld "
                   "ref_len = %lld)\n%s\n",
                   width, b.score, b.precisions[0], b.precisions[1], b.precisions[2],
                   b.precisions[3], b.bp, b.ratio, (long long)b.sys_len, (long long)b.ref_len,
                   bsig);
        if (want_chrf) printf("chrF2 = %.*f\n%s\n", width, f.score, fsig);
        if (want[2]) rate_text("WER", &er[0], width);
        if (want[3]) rate_text("CER", &er[1], width);
    }
    rc = fflush(stdout) ? zy_cli_die("score: cannot write the output") : 0;
free_lines:
    lines_free(&hyp);
    for (size_t r = 0; ref && r < n_ref_paths; r++) lines_free(&ref[r]);
    free(ref);
    free(streams);
done:
    free(ref_paths);
    return rc;
}
