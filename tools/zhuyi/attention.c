// `zhuyi attention DIR --text TEXT --out attn.svg`: the attention weights of every layer
// and head of any model that keeps them (zy_session_params.attention_weights; BERT and
// GPT-2 today), drawn as heatmaps labelled with the tokens (heatmap.c) and/or dumped as
// JSON. The text is encoded as the model expects it (BERT: [CLS] text [SEP]) and run
// once; the maps are the session's "attentions.0", "attentions.1", ... outputs, so a new
// architecture needs nothing here.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "heatmap.h"
#include "infer.h"
#include "model_input.h"
#include "query_opts.h"
#include "query_run.h"
#include "textio.h"
#include "zhuyi/zhuyi.h"

static const char usage_text[] =
    "usage: zhuyi attention DIR --text TEXT [--text-pair TEXT] [--out FILE.svg] [--json]\n"
    "                       [--layer L] [--head H|mean] [--truncate] [--weights TYPE]\n"
    "                       [--threads N]\n"
    "\n"
    "Runs TEXT through the model in DIR (BERT or GPT-2) and draws the attention weights of\n"
    "every layer and head: a grid of heatmaps, one row per layer, one column per head plus\n"
    "the mean over heads, rows of a map = the tokens attending (queries), columns = the\n"
    "tokens attended to (keys); each row sums to 1.\n"
    "\n"
    "  --text TEXT        the text (special tokens such as [MASK] are recognised)\n"
    "  --text-pair TEXT   a second sentence (BERT: [CLS] TEXT [SEP] PAIR [SEP])\n"
    "  --out FILE         write the SVG there (atomically)\n"
    "  --json             print the weights as JSON on stdout: {\"tokens\", \"ids\", \"layers\",\n"
    "                     \"heads\", \"maps\": [{\"layer\", \"head\", \"weights\": T x T}, ...]}\n"
    "  --layer L          only layer L (0-based)\n"
    "  --head H           only head H (0-based), or \"mean\" for the mean over heads; a\n"
    "                     single map (--layer and --head) is drawn large, labelled on both\n"
    "                     axes. JSON holds the heads (not the mean) unless --head says\n"
    "  --truncate         cut a text longer than the model's positions instead of refusing it\n"
    "  --adapter DIR      a LoRA adapter (zhuyi finetune --lora, PEFT) on the\n"
    "                     model, merged in at load (a LoRA run's own DIR needs none)\n"
    "  --weights TYPE     the weights as f32, f16, bf16, q8_0 or q4_0 (converted at\n"
    "                     load; default: as model.safetensors stores them, f16/bf16\n"
    "                     from `zhuyi quantize`, else f32)\n"
    "  --threads N        kernel threads (default: $ZY_THREADS, else all cores)\n"
    "\n"
    "At least one of --out and --json.\n"
    "\n"
    "An image model (ViT): zhuyi attention DIR --image FILE --out FILE.png draws the\n"
    "attention rollout of [CLS] over the image (zhuyi attention --image --help).\n";

#define HEAD_MEAN ZY_CLI_HEAD_MEAN
#define HEAD_ALL (-2)

typedef struct opts {
    zy_cli_query_opts q; // DIR, --text, --text-pair, --json, --truncate, --threads
    const char *out;
    int layer, head; // layer -1: all; head HEAD_ALL, HEAD_MEAN or >= 0
} opts;

static int parse_flag(void *opts_, const char *a, const char *v) {
    opts *o = opts_;
    if (!v) return -1;
    if (!strcmp(a, "--out")) o->out = v;
    else if (!strcmp(a, "--layer")) {
        if (zy_cli_parse_int(v, 0, 1 << 20, &o->layer)) {
            zy_cli_die("attention: --layer '%s' is not a number >= 0", v);
            return -2;
        }
    } else if (!strcmp(a, "--head")) {
        if (!strcmp(v, "mean")) o->head = HEAD_MEAN;
        else if (zy_cli_parse_int(v, 0, 1 << 20, &o->head)) {
            zy_cli_die("attention: --head '%s' is not a number >= 0 or \"mean\"", v);
            return -2;
        }
    } else return -1;
    return 1;
}

static const zy_cli_query_command command = {
    .name = "attention", .usage = usage_text, .takes = ZY_CLI_QUERY_PAIR,
    .parse_flag = parse_flag};

static int parse(int argc, char **argv, opts *o) {
    *o = (opts){.layer = -1, .head = HEAD_ALL};
    int rc = zy_cli_query_parse(&command, o, argc, argv, &o->q);
    if (rc) return rc;
    if (!o->out && !o->q.json)
        return zy_cli_die("attention: nothing to write: give --out FILE.svg and/or --json");
    return 0;
}

typedef zy_cli_attn weights;

static int collect(const zy_session *s, const zy_model_info *info, const char *cmd,
                   const char *dir, int T, weights *w) {
    w->T = T;
    w->layer = calloc((size_t)info->n_layer + 1, sizeof *w->layer);
    if (!w->layer) return zy_cli_die("%s: out of memory", cmd);
    for (int l = 0; l <= info->n_layer; l++) {
        char name[32];
        snprintf(name, sizeof name, "attentions.%d", l);
        int nd = 0;
        int64_t sh[4] = {0};
        const float *a = zy_session_output(s, name, &nd, sh);
        if (!a) break;
        if (nd != 4 || sh[0] != 1 || sh[2] != T || sh[3] != T || sh[1] < 1 ||
            (w->L && sh[1] != w->H))
            return zy_cli_die("%s: %s of the '%s' model has an unexpected shape", cmd, name,
                              info->model_type);
        w->H = (int)sh[1];
        w->layer[w->L++] = a;
    }
    if (!w->L)
        return zy_cli_die("%s: the model in %s ('%s' %s) does not keep its attention "
                          "weights (zy_session_params.attention_weights)", cmd, dir,
                          info->model_type, info->architecture);
    return 0;
}

static int head_means(const char *cmd, weights *w) {
    size_t TT = (size_t)w->T * w->T;
    w->mean = malloc((size_t)w->L * TT * sizeof *w->mean);
    if (!w->mean) return zy_cli_die("%s: out of memory", cmd);
    for (int l = 0; l < w->L; l++)
        for (size_t i = 0; i < TT; i++) {
            double sum = 0;
            for (int h = 0; h < w->H; h++) sum += w->layer[l][(size_t)h * TT + i];
            w->mean[(size_t)l * TT + i] = (float)(sum / w->H);
        }
    return 0;
}

int zy_cli_attention_run(zy_cli_attn *a, const char *cmd, const char *dir, zy_model *m,
                         const zy_cli_tokens *tk) {
    *a = (zy_cli_attn){0};
    zy_session_params sp = zy_session_default_params();
    sp.attention_weights = true;
    int T = (int)tk->n, lengths[1];
    // one row: the batch is the row's own arrays (T = its length, nothing moves)
    zy_batch b = zy_cli_batch(tk, 1, tk->ids, tk->types, lengths);
    if (zy_session_create(&a->s, m, &sp) || zy_session_prepare(a->s, 1, T, 0) ||
        zy_session_forward(a->s, &b, NULL, NULL))
        return zy_cli_die("%s: %s", cmd, zy_last_error());
    if (collect(a->s, zy_model_get_info(m), cmd, dir, T, a) || head_means(cmd, a)) return 1;
    return 0;
}

const float *zy_cli_attention_map(const zy_cli_attn *w, int layer, int head) {
    size_t TT = (size_t)w->T * w->T;
    return head == ZY_CLI_HEAD_MEAN ? w->mean + (size_t)layer * TT
                                    : w->layer[layer] + (size_t)head * TT;
}

void zy_cli_attention_free(zy_cli_attn *a) {
    free(a->layer);
    free(a->mean);
    zy_session_free(a->s);
    *a = (zy_cli_attn){0};
}

// The selected maps as JSON on stdout.
static int write_json(const weights *w, const zy_model_info *info, const zy_heatmap_label *toks,
                      const int32_t *ids, const int *layers, int nl, const int *heads, int nh) {
    zy_strbuf b = {0};
    zy_strbuf_printf(&b, "{\"model_type\": ");
    zy_cli_json_string(&b, info->model_type, strlen(info->model_type));
    zy_strbuf_printf(&b, ", \"architecture\": ");
    zy_cli_json_string(&b, info->architecture, strlen(info->architecture));
    zy_strbuf_printf(&b, ", \"layers\": %d, \"heads\": %d,\n \"tokens\": [", w->L, w->H);
    for (int t = 0; t < w->T; t++) {
        if (t) zy_strbuf_puts(&b, ", ");
        zy_cli_json_string(&b, toks[t].s, toks[t].n);
    }
    zy_strbuf_puts(&b, "],\n \"ids\": [");
    for (int t = 0; t < w->T; t++) zy_strbuf_printf(&b, t ? ", %d" : "%d", (int)ids[t]);
    zy_strbuf_puts(&b, "],\n \"maps\": [");
    for (int r = 0; r < nl; r++)
        for (int c = 0; c < nh; c++) {
            const float *m = zy_cli_attention_map(w, layers[r], heads[c]);
            zy_strbuf_printf(&b, "%s\n  {\"layer\": %d, \"head\": ", r || c ? "," : "", layers[r]);
            if (heads[c] == HEAD_MEAN) zy_strbuf_puts(&b, "\"mean\"");
            else zy_strbuf_printf(&b, "%d", heads[c]);
            zy_strbuf_puts(&b, ", \"weights\": [");
            for (int i = 0; i < w->T; i++) {
                zy_strbuf_puts(&b, i ? ", [" : "[");
                for (int j = 0; j < w->T; j++)
                    zy_strbuf_printf(&b, j ? ", %.6g" : "%.6g", (double)m[(size_t)i * w->T + j]);
                zy_strbuf_puts(&b, "]");
            }
            zy_strbuf_puts(&b, "]}");
        }
    zy_strbuf_puts(&b, "\n]}\n");
    int rc = 0;
    if (b.oom) rc = zy_cli_die("attention: out of memory writing JSON");
    else if (fwrite(b.p, 1, b.n, stdout) != b.n || fflush(stdout) != 0)
        rc = zy_cli_die("attention: writing stdout: %s", strerror(errno));
    zy_strbuf_free(&b);
    return rc;
}

static int write_svg(const opts *o, const weights *w, const zy_model_info *info,
                     const zy_heatmap_label *toks, const int *layers, int nl, const int *heads,
                     int nh, size_t n_truncated) {
    const float **maps = malloc((size_t)nl * nh * sizeof *maps);
    if (!maps) return zy_cli_die("attention: out of memory");
    for (int r = 0; r < nl; r++)
        for (int c = 0; c < nh; c++) maps[(size_t)r * nh + c] = zy_cli_attention_map(w, layers[r], heads[c]);
    char title[4400], sub[512];
    snprintf(title, sizeof title, "zhuyi attention: %s", o->q.dir);
    snprintf(sub, sizeof sub, "%s %s, %d tokens%s\nrows: queries (the token attending), "
             "columns: keys (attended to); each row sums to 1%s",
             info->model_type, info->architecture, w->T, n_truncated ? " (truncated)" : "",
             info->causal_lm ? "; causal: 0 above the diagonal" : "");
    zy_heatmap_doc d = {.title = title, .subtitle = sub, .rows = w->T, .cols = w->T,
                        .row_labels = toks, .col_labels = toks, .n_layers = nl,
                        .n_heads = nh, .layer_ids = layers, .head_ids = heads, .maps = maps};
    zy_strbuf b = {0};
    int rc = 0;
    if (zy_heatmap_svg(&d, &b)) rc = zy_cli_die("attention: out of memory drawing %s", o->out);
    else if (zy_file_write_atomic(o->out, b.p, b.n))
        rc = zy_cli_die("attention: %s", zy_last_error());
    zy_strbuf_free(&b);
    free(maps);
    return rc;
}

int zy_cli_attention(int argc, char **argv) {
    for (int i = 1; i < argc; i++) // an image model's picture (attention_image.c)
        if (!strcmp(argv[i], "--image")) return zy_cli_attention_image(argc, argv);
    opts o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    zy_model *m;
    zy_tokenizer *tok;
    if (zy_cli_open_model_adapter("attention", o.q.dir, o.q.adapter, &m, &tok)) return 1;
    const zy_model_info *info = zy_model_get_info(m);
    if (info->image_size > 0) {
        zy_model_free(m);
        return zy_cli_die("attention: %s holds an image model: give --image FILE --out "
                          "FILE.png (see zhuyi attention --help)", o.q.dir);
    }
    zy_cli_reader r = {0};
    zy_cli_tokens tk = {0};
    weights w = {0};
    zy_heatmap_label *toks = NULL;
    int *layers = NULL, *heads = NULL, nl = 0, nh = 0;
    zy_cli_encoder enc;
    zy_cli_query q;
    if ((rc = zy_cli_query_open(&o.q, &r)) ||
        zy_cli_reader_next(&r, &q) != 1)
        goto done;
    zy_cli_encoder_init(&enc, "attention", tok, info, o.q.truncate);
    if ((rc = zy_cli_encode(&enc, &r, &q, &tk)) ||
        (rc = zy_cli_attention_run(&w, "attention", o.q.dir, m, &tk)))
        goto done;
    int T = w.T;
    if (o.layer >= w.L) {
        rc = zy_cli_die("attention: --layer %d: the model has layers 0 to %d", o.layer, w.L - 1);
        goto done;
    }
    if (o.head >= w.H) {
        rc = zy_cli_die("attention: --head %d: the model has heads 0 to %d (or \"mean\")",
                        o.head, w.H - 1);
        goto done;
    }
    layers = malloc((size_t)w.L * sizeof *layers);
    heads = malloc(((size_t)w.H + 1) * sizeof *heads);
    toks = malloc((size_t)T * sizeof *toks);
    if (!layers || !heads || !toks) {
        rc = zy_cli_die("attention: out of memory");
        goto done;
    }
    for (int t = 0; t < T; t++) {
        toks[t].s = zy_tokenizer_token_bytes(tok, tk.ids[t], &toks[t].n);
        if (!toks[t].s) toks[t].s = "", toks[t].n = 0;
    }
    for (int l = 0; l < w.L; l++)
        if (o.layer < 0 || o.layer == l) layers[nl++] = l;
    if (o.q.json) { // the heads, or what --head names
        for (int h = 0; h < w.H; h++)
            if (o.head == HEAD_ALL || o.head == h) heads[nh++] = h;
        if (o.head == HEAD_MEAN) heads[nh++] = HEAD_MEAN;
        if ((rc = write_json(&w, info, toks, tk.ids, layers, nl, heads, nh))) goto done;
    }
    if (o.out) { // the heads and their mean, or what --head names
        nh = 0;
        for (int h = 0; h < w.H; h++)
            if (o.head == HEAD_ALL || o.head == h) heads[nh++] = h;
        if (o.head == HEAD_ALL || o.head == HEAD_MEAN) heads[nh++] = HEAD_MEAN;
        rc = write_svg(&o, &w, info, toks, layers, nl, heads, nh, tk.n_truncated);
    }
done:
    free(layers), free(heads), free(toks);
    zy_cli_attention_free(&w);
    zy_cli_tokens_free(&tk);
    zy_cli_reader_close(&r);
    zy_model_free(m);
    zy_tokenizer_free(tok);
    return rc;
}
