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
#include "query_run.h"
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

typedef struct opts {
    zy_cli_query_opts q; // DIR, --text, --file, --jsonl, --json, --truncate, --threads
    int normalize, batch;
    zy_cli_pooling pool;
} opts;

int zy_cli_pooling_parse(const char *name, zy_cli_pooling *out) {
    static const char *const names[] = {"mean", "cls", "pooled", "last"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, names[i])) return *out = (zy_cli_pooling)i, 0;
    return -1;
}

static int parse_flag(void *opts_, const char *a, const char *v) {
    opts *o = opts_;
    if (!strcmp(a, "--normalize")) {
        o->normalize = 1;
        return 0;
    }
    if (!v) return -1;
    if (!strcmp(a, "--pooling")) {
        if (zy_cli_pooling_parse(v, &o->pool)) {
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
static int pool_batch(const zy_session *s, const zy_batch *b, zy_cli_pooling pool, int C,
                      float *vec) {
    int64_t sh[4];
    int nd;
    if (pool == ZY_CLI_POOL_POOLED) {
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
        if (pool == ZY_CLI_POOL_CLS || pool == ZY_CLI_POOL_LAST) {
            memcpy(v, rows + (size_t)(pool == ZY_CLI_POOL_CLS ? 0 : n - 1) * C,
                   (size_t)C * sizeof *v);
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

// Scale v to unit L2 norm (when asked); NaN or infinity refused (not JSON, and a sign of
// broken weights).
static int finish_vector(float *v, int C, bool normalize) {
    double scale = 1;
    if (normalize) {
        double ss = 0;
        for (int c = 0; c < C; c++) ss += (double)v[c] * v[c];
        if (ss > 0) scale = 1 / sqrt(ss);
    }
    for (int c = 0; c < C; c++) {
        v[c] = (float)(v[c] * scale);
        if (!isfinite(v[c])) return -1;
    }
    return 0;
}

// One vector as a line.
static void write_vector(const float *v, int C, int json, zy_strbuf *b) {
    zy_strbuf_clear(b);
    if (json) zy_strbuf_puts(b, "[");
    for (int c = 0; c < C; c++)
        zy_strbuf_printf(b, c ? (json ? ", %.9g" : " %.9g") : "%.9g", (double)v[c]);
    zy_strbuf_puts(b, json ? "]\n" : "\n");
}

int zy_cli_embedder_init(zy_cli_embedder *e, const char *cmd, const char *dir,
                         zy_model *m, zy_tokenizer *tok, zy_cli_pooling pool, bool normalize,
                         int batch) {
    const zy_model_info *info = zy_model_get_info(m);
    *e = (zy_cli_embedder){.command = cmd, .dir = dir, .info = info, .pool = pool,
                           .normalize = normalize, .batch = batch};
    int32_t cls;
    // Refusals that do not need a forward: a pooling the tokenizer cannot give.
    if (pool == ZY_CLI_POOL_CLS && (zy_tokenizer_get_type(tok) != ZY_TOKENIZER_WORDPIECE ||
                                    zy_tokenizer_special_id(tok, ZY_SPECIAL_CLS, &cls)))
        return zy_cli_die("%s: --pooling cls needs a [CLS] token first in every text (a "
                          "BERT directory); the model in %s is a '%s' with a %s tokenizer: use "
                          "mean or last", cmd, dir, info->model_type,
                          zy_tokenizer_type_name(zy_tokenizer_get_type(tok)));
    size_t P = (size_t)info->max_positions;
    e->ids = malloc((size_t)batch * P * sizeof *e->ids);
    e->types = malloc((size_t)batch * P * sizeof *e->types);
    e->lengths = malloc((size_t)batch * sizeof *e->lengths);
    if (!e->ids || !e->types || !e->lengths)
        return zy_cli_die("%s: out of memory for batches of %d lines", cmd, batch);
    if (zy_session_create(&e->s, m, NULL)) return zy_cli_die("%s: %s", cmd, zy_last_error());
    return 0;
}

int zy_cli_embedder_run(zy_cli_embedder *e, const zy_cli_tokens *rows, int B, float *vec) {
    const zy_model_info *info = e->info;
    int C = info->d_model;
    zy_batch b = zy_cli_batch(rows, B, e->ids, e->types, e->lengths);
    if (zy_session_prepare(e->s, e->batch, b.T, 0) || zy_session_forward(e->s, &b, NULL, NULL))
        return zy_cli_die("%s: %s", e->command, zy_last_error());
    if (pool_batch(e->s, &b, e->pool, C, vec))
        return zy_cli_die("%s: the model in %s ('%s' %s) has no %s output%s", e->command,
                          e->dir, info->model_type, info->architecture,
                          e->pool == ZY_CLI_POOL_POOLED ? "pooler (\"pooled\")" : "\"hidden\"",
                          e->pool == ZY_CLI_POOL_POOLED ? ": use --pooling mean, cls or last"
                                                        : "");
    for (int i = 0; i < B; i++)
        if (finish_vector(vec + (size_t)i * C, C, e->normalize))
            return zy_cli_die("%s: a vector holds NaN or infinity", e->command);
    return 0;
}

void zy_cli_embedder_free(zy_cli_embedder *e) {
    free(e->ids), free(e->types), free(e->lengths);
    zy_session_free(e->s);
    *e = (zy_cli_embedder){0};
}

int zy_cli_embed(int argc, char **argv) {
    opts o = {.batch = 8, .pool = ZY_CLI_POOL_MEAN};
    int rc = zy_cli_query_parse(&command, &o, argc, argv, &o.q);
    if (rc) return rc < 0 ? 0 : rc;
    zy_model *m;
    zy_tokenizer *tok;
    if (zy_cli_open_model_adapter("embed", o.q.dir, o.q.adapter, &m, &tok)) return 1;
    const zy_model_info *info = zy_model_get_info(m);
    int C = info->d_model, Bmax = o.batch;
    zy_cli_embedder em = {0};
    zy_cli_reader r = {0};
    zy_cli_encoder enc;
    zy_strbuf out = {0};
    zy_cli_tokens *rows = calloc((size_t)Bmax, sizeof *rows);
    float *vec = malloc((size_t)Bmax * C * sizeof *vec);
    if (!rows || !vec) {
        rc = zy_cli_die("embed: out of memory for batches of %d lines", Bmax);
        goto done;
    }
    if ((rc = zy_cli_embedder_init(&em, "embed", o.q.dir, m, tok, o.pool, o.normalize, Bmax)))
        goto done;
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
        if ((rc = zy_cli_embedder_run(&em, rows, B, vec))) goto done;
        for (int i = 0; i < B; i++) {
            write_vector(vec + (size_t)i * C, C, o.q.json, &out);
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
    free(rows), free(vec);
    zy_strbuf_free(&out);
    zy_cli_reader_close(&r);
    zy_cli_embedder_free(&em);
    zy_model_free(m);
    zy_tokenizer_free(tok);
    return rc;
}
