// `zhuyi embed DIR`: one vector per line of text, pooled from the model's last hidden
// states ("hidden", (B, T, C): BERT's last layer, GPT-2's final layernorm output) or taken
// from BERT's pooler ("pooled"). Lines are run in batches padded to their longest line;
// padded positions are masked out of attention (BERT) or come after every real token
// (GPT-2, causal), and pooling reads real tokens only, so a line's vector does not
// depend on the batch it ran in (tested against --batch 1 to 1e-5).
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "infer.h"
#include "model_input.h"
#include "query_opts.h"
#include "textio.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi embed DIR [--text TEXT | --file FILE] [--jsonl] [--pooling P]\n"
    "                   [--normalize] [--json] [--batch N] [--truncate] [--weights TYPE]\n"
    "                   [--threads N]\n"
    "\n"
    "Writes one vector per input line (blank lines skipped) from the model in DIR: a BERT\n"
    "directory (any architecture) or a GPT-2 one. Text is encoded as the model expects it\n"
    "(WordPiece: [CLS] text [SEP]).\n"
    "\n"
    "  --text TEXT       embed this text instead of reading lines\n"
    "  --file FILE       lines to embed (\"-\": stdin, the default)\n"
    "  --jsonl           each line is a JSON object; its \"text\" field is embedded\n"
    "  --pooling P       mean: the mean of the last hidden states over the text's tokens,\n"
    "                    special tokens included (default); cls: the [CLS] hidden state\n"
    "                    (BERT); pooled: BERT's pooler output, tanh(W h_cls + b); last: the\n"
    "                    last token's hidden state (for GPT-2, the one that has seen all)\n"
    "  --normalize       scale each vector to unit L2 norm\n"
    "  --json            one JSON array per line instead of space-separated numbers\n"
    "  --batch N         lines per forward pass (default 8; speed and memory only)\n"
    "  --truncate        cut a line longer than the model's positions instead of refusing it\n"
    "  --adapter DIR     a LoRA adapter (zhuyi finetune --lora, PEFT) on the\n"
    "                    model, merged in at load (a LoRA run's own DIR needs none)\n"
    "  --weights TYPE    the weights as f32, f16, bf16, q8_0 or q4_0 (converted at\n"
    "                    load; default: as model.safetensors stores them, f16/bf16\n"
    "                    from `zhuyi quantize`, else f32)\n"
    "  --threads N       kernel threads (default: $ZY_THREADS, else all cores)\n"
    "\n"
    "Numbers are written with %.9g, which reads back as the same float.\n";

typedef enum pooling { POOL_MEAN, POOL_CLS, POOL_POOLED, POOL_LAST } pooling;

typedef struct opts {
    zy_cli_query_opts q; // DIR, --text, --file, --jsonl, --json, --truncate, --threads
    int normalize, batch;
    pooling pool;
} opts;

static int parse_flag(void *opts_, const char *a, const char *v) {
    opts *o = opts_;
    if (!strcmp(a, "--normalize")) {
        o->normalize = 1;
        return 0;
    }
    if (!v) return -1;
    if (!strcmp(a, "--pooling")) {
        if (!strcmp(v, "mean")) o->pool = POOL_MEAN;
        else if (!strcmp(v, "cls")) o->pool = POOL_CLS;
        else if (!strcmp(v, "pooled")) o->pool = POOL_POOLED;
        else if (!strcmp(v, "last")) o->pool = POOL_LAST;
        else {
            zy_cli_die("embed: --pooling '%s': use mean, cls, pooled or last", v);
            return -2;
        }
    } else if (!strcmp(a, "--batch")) {
        if (zy_cli_parse_int(v, 1, 4096, &o->batch)) {
            zy_cli_die("embed: --batch '%s' is not a number from 1 to 4096", v);
            return -2;
        }
    } else return -1;
    return 1;
}

static const zy_cli_query_command command = {
    .name = "embed", .usage = usage_text, .takes = ZY_CLI_QUERY_LINES, .parse_flag = parse_flag};

// The batch's vectors (B, C) from its forward, as the pooling says.
static int pool_batch(const zy_session *s, const zy_batch *b, pooling pool, int C, float *vec) {
    int64_t sh[4];
    int nd;
    if (pool == POOL_POOLED) {
        const float *p = zy_session_output(s, "pooled", &nd, sh);
        if (!p) return -1;
        memcpy(vec, p, (size_t)b->B * C * sizeof *vec);
        return 0;
    }
    const float *h = zy_session_output(s, "hidden", &nd, sh);
    if (!h) return -1;
    for (int r = 0; r < b->B; r++) {
        const float *rows = h + (size_t)r * b->T * C;
        float *v = vec + (size_t)r * C;
        int n = b->lengths[r];
        if (pool == POOL_CLS || pool == POOL_LAST) {
            memcpy(v, rows + (size_t)(pool == POOL_CLS ? 0 : n - 1) * C, (size_t)C * sizeof *v);
            continue;
        }
        for (int c = 0; c < C; c++) { // in double, tokens in order: the same at any batch
            double sum = 0;
            for (int t = 0; t < n; t++) sum += rows[(size_t)t * C + c];
            v[c] = (float)(sum / n);
        }
    }
    return 0;
}

// One vector as a line; NaN or infinity refused (not JSON, and a sign of broken weights).
static int write_vector(const float *v, int C, int normalize, int json, zy_strbuf *b) {
    double scale = 1;
    if (normalize) {
        double ss = 0;
        for (int c = 0; c < C; c++) ss += (double)v[c] * v[c];
        if (ss > 0) scale = 1 / sqrt(ss);
    }
    zy_strbuf_clear(b);
    if (json) zy_strbuf_puts(b, "[");
    for (int c = 0; c < C; c++) {
        float x = (float)(v[c] * scale);
        if (!isfinite(x)) return -1;
        zy_strbuf_printf(b, c ? (json ? ", %.9g" : " %.9g") : "%.9g", (double)x);
    }
    zy_strbuf_puts(b, json ? "]\n" : "\n");
    return 0;
}

// Refusals that do not need a forward: a pooling the model or tokenizer cannot give.
static int check_pooling(const opts *o, const zy_model_info *info, zy_tokenizer *tok) {
    int32_t cls;
    if (o->pool == POOL_CLS && (zy_tokenizer_get_type(tok) != ZY_TOKENIZER_WORDPIECE ||
                                zy_tokenizer_special_id(tok, ZY_SPECIAL_CLS, &cls)))
        return zy_cli_die("embed: --pooling cls needs a [CLS] token first in every text (a "
                          "BERT directory); the model in %s is a '%s' with a %s tokenizer: use "
                          "mean or last", o->q.dir, info->model_type,
                          zy_tokenizer_type_name(zy_tokenizer_get_type(tok)));
    return 0;
}

int zy_cli_embed(int argc, char **argv) {
    opts o = {.batch = 8, .pool = POOL_MEAN};
    int rc = zy_cli_query_parse(&command, &o, argc, argv, &o.q);
    if (rc) return rc < 0 ? 0 : rc;
    zy_model *m;
    zy_tokenizer *tok;
    if (zy_cli_open_model_adapter("embed", o.q.dir, o.q.adapter, &m, &tok)) return 1;
    const zy_model_info *info = zy_model_get_info(m);
    int C = info->d_model, P = info->max_positions, Bmax = o.batch;
    zy_session *s = NULL;
    zy_cli_reader r = {0};
    zy_cli_encoder enc;
    zy_strbuf out = {0};
    zy_cli_tokens *rows = calloc((size_t)Bmax, sizeof *rows);
    int *ids = malloc((size_t)Bmax * P * sizeof *ids), *types = malloc((size_t)Bmax * P * sizeof *types);
    int *lengths = malloc((size_t)Bmax * sizeof *lengths);
    float *vec = malloc((size_t)Bmax * C * sizeof *vec);
    if (!rows || !ids || !types || !lengths || !vec) {
        rc = zy_cli_die("embed: out of memory for batches of %d lines", Bmax);
        goto done;
    }
    if ((rc = check_pooling(&o, info, tok))) goto done;
    if (zy_session_create(&s, m, NULL)) {
        rc = zy_cli_die("embed: %s", zy_last_error());
        goto done;
    }
    if ((rc = zy_cli_query_open(&o.q, &r))) goto done;
    zy_cli_encoder_init(&enc, "embed", tok, info, o.q.truncate);
    for (int end = 0; !end;) {
        int B = 0, got = 0;
        zy_cli_query q;
        while (B < Bmax && (got = zy_cli_reader_next(&r, &q)) == 1)
            if ((rc = zy_cli_encode(&enc, &r, &q, &rows[B++]))) goto done;
        if (got < 0) {
            rc = 1;
            goto done;
        }
        end = got == 0;
        if (!B) break;
        zy_batch b = zy_cli_batch(rows, B, ids, types, lengths);
        if (zy_session_prepare(s, Bmax, b.T, 0) || zy_session_forward(s, &b, NULL, NULL)) {
            rc = zy_cli_die("embed: %s", zy_last_error());
            goto done;
        }
        if (pool_batch(s, &b, o.pool, C, vec)) {
            rc = zy_cli_die("embed: the model in %s ('%s' %s) has no %s output%s", o.q.dir,
                            info->model_type, info->architecture,
                            o.pool == POOL_POOLED ? "pooler (\"pooled\")" : "\"hidden\"",
                            o.pool == POOL_POOLED ? ": use --pooling mean, cls or last" : "");
            goto done;
        }
        for (int i = 0; i < B; i++) {
            if (write_vector(vec + (size_t)i * C, C, o.normalize, o.q.json, &out)) {
                rc = zy_cli_die("embed: a vector holds NaN or infinity");
                goto done;
            }
            if (out.oom) {
                rc = zy_cli_die("embed: out of memory");
                goto done;
            }
            fwrite(out.p, 1, out.n, stdout);
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        rc = zy_cli_die("embed: writing stdout: %s", strerror(errno));
done:
    for (int i = 0; rows && i < Bmax; i++) zy_cli_tokens_free(&rows[i]);
    free(rows), free(ids), free(types), free(lengths), free(vec);
    zy_strbuf_free(&out);
    zy_cli_reader_close(&r);
    zy_session_free(s);
    zy_model_free(m);
    zy_tokenizer_free(tok);
    return rc;
}
