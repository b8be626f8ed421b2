// `zhuyi fill-mask DIR --text "... [MASK] ..."`: the most probable tokens for each [MASK]
// of a text, by a masked language model (BERT with an MLM head). Scores are the softmax
// of the MLM logits over the whole vocabulary at the masked position; candidates are
// ranked by score, ties to the smaller id (deterministic). Queries come from --text, or
// one per line from --file or stdin (--jsonl: {"text": ..., "text_pair": ...}); each runs
// alone (batch of 1), so results do not depend on what else is asked.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "infer.h"
#include "model_input.h"
#include "query_opts.h"
#include "query_run.h"
#include "textio.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi fill-mask DIR [--text TEXT [--text-pair TEXT] | --file FILE] [--jsonl]\n"
    "                       [--top-k K] [--json] [--truncate] [--weights TYPE]\n"
    "                       [--threads N]\n"
    "\n"
    "Predicts the tokens behind each [MASK] in a text with the masked language model in DIR\n"
    "(a BERT directory with an MLM head: BertForPreTraining or BertForMaskedLM, and a\n"
    "WordPiece tokenizer: vocab.txt or tokenizer.json). Without --text, reads one query per\n"
    "line from FILE or stdin (blank lines skipped).\n"
    "\n"
    "  --text TEXT        the text, holding one or more [MASK]\n"
    "  --text-pair TEXT   a second sentence (token type 1): [CLS] TEXT [SEP] PAIR [SEP]\n"
    "  --file FILE        queries, one per line (\"-\": stdin, the default)\n"
    "  --jsonl            each line is {\"text\": ..., \"text_pair\": ...} (text_pair optional)\n"
    "  --top-k K          candidates per [MASK] (default 5)\n"
    "  --json             one JSON array per [MASK]: [{\"token\": ..., \"id\": ..., \"score\":\n"
    "                     ...}, ...], best first; scores are probabilities\n"
    "  --truncate         cut a text longer than the model's positions instead of refusing\n"
    "                     it (a [MASK] cut off is an error)\n"
    "  --adapter DIR      a LoRA adapter (zhuyi finetune --lora, PEFT) on the\n"
    "                     model, merged in at load (a LoRA run's own DIR needs none)\n"
    "  --weights TYPE     the weights as f32, f16, bf16, q8_0 or q4_0 (converted at\n"
    "                     load; default: as model.safetensors stores them, f16/bf16\n"
    "                     from `zhuyi quantize`, else f32)\n"
    "  --threads N        kernel threads (default: $ZY_THREADS, else all cores)\n"
    "\n"
    "Plain output: per [MASK], K lines \"token  score\", blocks separated by a blank line,\n"
    "in the order of the queries and of their masks. --json: one line per [MASK], same order.\n";

static int by_logit(const void *a, const void *b) {
    const zy_cli_fill_cand *x = a, *y = b;
    if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

// The top k of logits (V) as probabilities: cands (V) sorted, *lse receives log Σ exp.
static void rank(const float *logits, int V, zy_cli_fill_cand *cands, double *lse) {
    float mx = -INFINITY;
    for (int v = 0; v < V; v++) mx = fmaxf(mx, logits[v]);
    double sum = 0;
    for (int v = 0; v < V; v++) {
        sum += exp((double)logits[v] - mx);
        cands[v] = (zy_cli_fill_cand){logits[v], v};
    }
    *lse = mx + log(sum);
    qsort(cands, (size_t)V, sizeof *cands, by_logit);
}

// Display width of a UTF-8 string in characters (for aligning the plain output).
static size_t chars(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

void zy_cli_fill_mask_json(zy_strbuf *b, const zy_tokenizer *tok, const zy_cli_fill_cand *cands,
                           int k, double lse) {
    zy_strbuf_puts(b, "[");
    for (int i = 0; i < k; i++) {
        size_t n = 0;
        const char *s = zy_tokenizer_token_bytes(tok, cands[i].id, &n);
        if (!s) s = "", n = 0;
        zy_strbuf_printf(b, "%s{\"token\": ", i ? ", " : "");
        zy_cli_json_string(b, s, n);
        zy_strbuf_printf(b, ", \"id\": %d, \"score\": %.6g}", cands[i].id,
                         exp((double)cands[i].logit - lse));
    }
    zy_strbuf_puts(b, "]");
}

static void print_mask(const zy_tokenizer *tok, const zy_cli_fill_cand *cands, int k,
                       double lse, int json, zy_strbuf *b) {
    zy_strbuf_clear(b);
    if (json) {
        zy_cli_fill_mask_json(b, tok, cands, k, lse);
        zy_strbuf_puts(b, "\n");
        return;
    }
    size_t width = 0;
    for (int i = 0; i < k; i++) {
        size_t n = 0;
        const char *s = zy_tokenizer_token_bytes(tok, cands[i].id, &n);
        if (s && chars(s, n) > width) width = chars(s, n);
    }
    for (int i = 0; i < k; i++) {
        size_t n = 0;
        const char *s = zy_tokenizer_token_bytes(tok, cands[i].id, &n);
        if (!s) s = "", n = 0;
        zy_strbuf_put(b, s, n);
        zy_strbuf_printf(b, "%*s  %.4f\n", (int)(width - chars(s, n)), "",
                         exp((double)cands[i].logit - lse));
    }
}

typedef struct opts {
    zy_cli_query_opts q; // DIR, --text, --text-pair, --file, --jsonl, --json, --truncate, ...
    int top_k;
} opts;

static int parse_flag(void *opts_, const char *a, const char *v) {
    opts *o = opts_;
    if (!v || strcmp(a, "--top-k")) return -1;
    if (zy_cli_parse_int(v, 1, 1 << 30, &o->top_k)) {
        zy_cli_die("fill-mask: --top-k '%s' is not a number >= 1", v);
        return -2;
    }
    return 1;
}

static const zy_cli_query_command command = {
    .name = "fill-mask", .usage = usage_text, .takes = ZY_CLI_QUERY_PAIR | ZY_CLI_QUERY_LINES,
    .parse_flag = parse_flag};

int zy_cli_fill_mask_init(zy_cli_masker *f, const char *cmd, const char *dir, zy_model *m,
                          zy_tokenizer *tok) {
    const zy_model_info *info = zy_model_get_info(m);
    *f = (zy_cli_masker){.command = cmd, .dir = dir, .tok = tok, .info = info, .mask = -1};
    if (!(f->cands = malloc((size_t)info->vocab_size * sizeof *f->cands)))
        return zy_cli_die("%s: out of memory", cmd);
    if (zy_tokenizer_get_type(tok) != ZY_TOKENIZER_WORDPIECE ||
        zy_tokenizer_special_id(tok, ZY_SPECIAL_MASK, &f->mask))
        return zy_cli_die("%s: %s has no WordPiece tokenizer with a [MASK] token (its "
                          "tokenizer is %s%s): fill-mask needs a BERT model directory", cmd,
                          dir, zy_tokenizer_type_name(zy_tokenizer_get_type(tok)),
                          zy_tokenizer_get_type(tok) == ZY_TOKENIZER_WORDPIECE ? " without [MASK]"
                                                                               : "");
    if (zy_session_create(&f->s, m, NULL)) return zy_cli_die("%s: %s", cmd, zy_last_error());
    // The model must produce "mlm_logits": asked of a one-token forward, so any masked
    // language model the registry knows qualifies and any other is refused up front.
    int ids[1] = {f->mask}, len[1] = {1};
    zy_batch b = {.B = 1, .T = 1, .input_ids = ids, .lengths = len};
    if (zy_session_prepare(f->s, 1, 1, 0) || zy_session_forward(f->s, &b, NULL, NULL))
        return zy_cli_die("%s: %s", cmd, zy_last_error());
    if (!zy_session_output(f->s, "mlm_logits", NULL, NULL))
        return zy_cli_die("%s: the model in %s is a '%s' %s, which has no masked "
                          "language model head (fill-mask needs BertForPreTraining or "
                          "BertForMaskedLM)", cmd, dir, info->model_type, info->architecture);
    return 0;
}

int zy_cli_fill_mask_run(zy_cli_masker *f, const zy_cli_tokens *tk, const char *where,
                         int (*on_mask)(void *user, const zy_cli_fill_cand *cands, double lse),
                         void *user) {
    int n = (int)tk->n, masks = 0, V = f->info->vocab_size;
    for (int t = 0; t < n; t++) masks += tk->ids[t] == f->mask;
    if (!masks)
        return zy_cli_die("%s: %sno [MASK] in the text%s", f->command, where,
                          tk->n_truncated ? " after truncation to the model's positions" : "");
    int lengths[1];
    // one row: the batch is the row's own arrays (T = its length, nothing moves)
    zy_batch b = zy_cli_batch(tk, 1, tk->ids, tk->types, lengths);
    const float *logits;
    if (zy_session_prepare(f->s, 1, n, 0) || zy_session_forward(f->s, &b, NULL, NULL) ||
        !(logits = zy_session_output(f->s, "mlm_logits", NULL, NULL)))
        return zy_cli_die("%s: %s%s", f->command, where, zy_last_error());
    for (int t = 0; t < n; t++) {
        if (tk->ids[t] != f->mask) continue;
        double lse;
        rank(logits + (size_t)t * V, V, f->cands, &lse);
        if (!isfinite(lse)) return zy_cli_die("%s: %sthe logits are not finite", f->command, where);
        int rc = on_mask(user, f->cands, lse);
        if (rc) return rc;
    }
    return 0;
}

void zy_cli_fill_mask_free(zy_cli_masker *f) {
    zy_session_free(f->s);
    free(f->cands);
    *f = (zy_cli_masker){0};
}

// The command's output of one [MASK].
typedef struct printer {
    const opts *o;
    const zy_tokenizer *tok;
    int k, blocks;
    zy_strbuf out;
} printer;

static int print_one(void *user, const zy_cli_fill_cand *cands, double lse) {
    printer *p = user;
    print_mask(p->tok, cands, p->k, lse, p->o->q.json, &p->out);
    if (p->out.oom) return zy_cli_die("fill-mask: out of memory");
    if (!p->o->q.json && p->blocks++) putchar('\n');
    fwrite(p->out.p, 1, p->out.n, stdout);
    return 0;
}

int zy_cli_fill_mask(int argc, char **argv) {
    opts o = {.top_k = 5};
    int rc = zy_cli_query_parse(&command, &o, argc, argv, &o.q);
    if (rc) return rc < 0 ? 0 : rc;
    zy_model *m;
    zy_tokenizer *tok;
    if (zy_cli_open_model_adapter("fill-mask", o.q.dir, o.q.adapter, &m, &tok)) return 1;
    const zy_model_info *info = zy_model_get_info(m);
    int V = info->vocab_size;
    zy_cli_masker f = {0};
    zy_cli_reader r = {0};
    zy_cli_tokens tk = {0};
    zy_cli_encoder enc;
    printer p = {.o = &o, .tok = tok, .k = o.top_k < V ? o.top_k : V};
    if ((rc = zy_cli_fill_mask_init(&f, "fill-mask", o.q.dir, m, tok))) goto done;
    if ((rc = zy_cli_query_open(&o.q, &r))) goto done;
    zy_cli_encoder_init(&enc, "fill-mask", tok, info, o.q.truncate);
    zy_cli_query q;
    int got;
    while ((got = zy_cli_reader_next(&r, &q)) == 1) {
        char wb[4200];
        const char *where = zy_cli_query_where(&r, &q, wb, sizeof wb);
        if ((rc = zy_cli_encode(&enc, &r, &q, &tk)) ||
            (rc = zy_cli_fill_mask_run(&f, &tk, where, print_one, &p)))
            goto done;
    }
    if (got < 0) rc = 1;
    else if (fflush(stdout) != 0 || ferror(stdout))
        rc = zy_cli_die("fill-mask: writing stdout: %s", strerror(errno));
done:
    zy_cli_fill_mask_free(&f);
    zy_strbuf_free(&p.out);
    zy_cli_tokens_free(&tk);
    zy_cli_reader_close(&r);
    zy_model_free(m);
    zy_tokenizer_free(tok);
    return rc;
}
