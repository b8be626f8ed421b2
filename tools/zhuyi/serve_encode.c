// The encoder endpoints of `zhuyi serve` (serve.h): embeddings, fill-mask, classify (texts,
// and images for a ViT), tag, answer, translate and attention. Each reads and checks its request's fields, then runs
// the same per-query core as the CLI command (query_run.h: embed, fill-mask, attention,
// predict, translate), so a request gets the numbers the command prints for the same
// text; only the JSON around them is written here. Everything runs on the engine thread,
// the only thread that runs models: sessions are made per call. The model's tokenizer is
// used under its tok_mu (the generation endpoints encode on connection threads).
// CLI messages (zy_cli_die) are captured per call and answered as 400s naming the field.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "cli.h"
#include "kind.h"
#include "query_run.h"
#include "serve.h"
#include "task_score.h"
#include "textio.h"
#include "zhuyi/sample.h"

#define MAX_INPUTS 256

// ---- shared pieces ---------------------------------------------------------------------

// A captured CLI message as the request's error (400 naming param).
typedef struct capture {
    char msg[1024];
} capture;

static void capture_start(capture *k) {
    k->msg[0] = '\0';
    zy_cli_capture(k->msg, sizeof k->msg);
}

static int capture_fail(capture *k, serve_call *c, const char *param) {
    zy_cli_capture(NULL, 0);
    // The CLI's advice names its flag; the request's field is "truncate".
    char *flag = strstr(k->msg, "pass --truncate");
    if (flag) {
        *flag = '\0';
        return serve_bad(c->err, param, "%spass \"truncate\": true%s", k->msg, flag + 15);
    }
    return serve_bad(c->err, param, "%s", k->msg[0] ? k->msg : "the model failed");
}

// The "model" field and "truncate".
static int common_fields(serve_call *c, bool *truncate) {
    const char *name = NULL;
    *truncate = false;
    if (serve_req_string(c->body, "model", false, &name, c->err) ||
        serve_req_bool(c->body, "truncate", truncate, c->err))
        return -1;
    return 0;
}

// Encode text (and pair) as the CLI commands do (model_input.c), under the tokenizer's
// lock. 0, or 1 after a message naming `what` (e.g. "input[2]").
static int encode(serve_model *sm, const char *what, bool truncate, const char *text,
                  const char *pair, zy_cli_tokens *out) {
    zy_cli_encoder enc;
    zy_cli_encoder_init(&enc, what, sm->tok, sm->info, truncate);
    zy_cli_reader r = {0}; // line 0: messages carry no "line N of FILE"
    zy_cli_query q = {.text = text, .len = strlen(text), .pair = pair,
                      .pair_len = pair ? strlen(pair) : 0};
    pthread_mutex_lock(&sm->tok_mu);
    int rc = zy_cli_encode(&enc, &r, &q, out);
    pthread_mutex_unlock(&sm->tok_mu);
    return rc;
}

static void json_str(zy_strbuf *b, const char *s) { zy_cli_json_string(b, s, strlen(s)); }

static void model_field(zy_strbuf *b, const serve_model *sm) {
    zy_strbuf_puts(b, ",\"model\":");
    json_str(b, sm->name);
}

static int out_of_memory(serve_call *c) {
    return serve_fail(c->err, 500, "server_error", NULL, NULL, "out of memory");
}

static int finish(serve_call *c) { return c->out->oom ? out_of_memory(c) : 0; }

// ---- /v1/embeddings ----------------------------------------------------------------------
// {model, input: string | [string], encoding_format: "float" | "base64", pooling, normalize,
// truncate} -> OpenAI's list of embeddings: `zhuyi embed`'s vectors (mean pooling, not
// normalized, unless pooling / normalize say otherwise), in batches of 8 as it runs them.

// A vector as float32 little-endian bytes in base64.
static void vector_base64(zy_strbuf *b, const float *v, int C, unsigned char *bytes) {
    for (int i = 0; i < C; i++) {
        uint32_t u;
        memcpy(&u, &v[i], 4);
        for (int k = 0; k < 4; k++) bytes[4 * i + k] = (unsigned char)(u >> 8 * k);
    }
    zy_strbuf_puts(b, "\"");
    zy_cli_base64_encode(b, bytes, (size_t)C * 4);
    zy_strbuf_puts(b, "\"");
}

static int run_embeddings(serve_call *c) {
    serve_model *sm = c->model;
    bool truncate, was_array, normalize = false, b64 = false;
    const char **in = NULL, *format = NULL, *pooling = NULL;
    int n = 0;
    zy_cli_pooling pool = ZY_CLI_POOL_MEAN;
    if (common_fields(c, &truncate) || serve_req_bool(c->body, "normalize", &normalize, c->err) ||
        serve_req_string(c->body, "encoding_format", false, &format, c->err) ||
        serve_req_string(c->body, "pooling", false, &pooling, c->err))
        return -1;
    if (format && strcmp(format, "float") && !(b64 = !strcmp(format, "base64")))
        return serve_bad(c->err, "encoding_format", "'encoding_format' must be \"float\" or "
                         "\"base64\"");
    if (pooling && zy_cli_pooling_parse(pooling, &pool))
        return serve_bad(c->err, "pooling", "'pooling' must be \"mean\", \"cls\", \"pooled\" "
                         "or \"last\"");
    if (serve_req_strings(c->body, "input", MAX_INPUTS, &in, &n, &was_array, c->err)) return -1;
    enum { BATCH = 8 }; // `zhuyi embed`'s --batch default
    int C = sm->info->d_model, rc = 0;
    zy_cli_tokens rows[BATCH] = {{0}};
    float *vec = malloc((size_t)BATCH * C * sizeof *vec);
    unsigned char *bytes = malloc((size_t)C * 4);
    zy_cli_embedder em = {0};
    long tokens = 0;
    capture k;
    capture_start(&k);
    if (!vec || !bytes) {
        zy_cli_capture(NULL, 0);
        rc = out_of_memory(c);
        goto done;
    }
    if (zy_cli_embedder_init(&em, "embeddings", sm->name, sm->m, sm->tok, pool, normalize,
                             BATCH)) {
        rc = capture_fail(&k, c, pooling ? "pooling" : "model");
        goto done;
    }
    zy_strbuf_puts(c->out, "{\"object\":\"list\",\"data\":[");
    for (int at = 0; at < n; at += BATCH) {
        int B = n - at < BATCH ? n - at : BATCH;
        for (int i = 0; i < B; i++) {
            char what[32];
            snprintf(what, sizeof what, was_array ? "input[%d]" : "input", at + i);
            if (encode(sm, what, truncate, in[at + i], NULL, &rows[i])) {
                rc = capture_fail(&k, c, "input");
                goto done;
            }
            tokens += (long)rows[i].n;
        }
        if (zy_cli_embedder_run(&em, rows, B, vec)) {
            zy_cli_capture(NULL, 0);
            rc = serve_fail(c->err, 500, "server_error", NULL, NULL, "%s", k.msg);
            goto done;
        }
        for (int i = 0; i < B; i++) {
            const float *v = vec + (size_t)i * C;
            zy_strbuf_printf(c->out, "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":",
                             at + i ? "," : "", at + i);
            if (b64) {
                vector_base64(c->out, v, C, bytes);
            } else {
                zy_strbuf_puts(c->out, "[");
                for (int j = 0; j < C; j++)
                    zy_strbuf_printf(c->out, j ? ",%.9g" : "%.9g", (double)v[j]);
                zy_strbuf_puts(c->out, "]");
            }
            zy_strbuf_puts(c->out, "}");
        }
    }
    zy_cli_capture(NULL, 0);
    zy_strbuf_puts(c->out, "]");
    model_field(c->out, sm);
    zy_strbuf_printf(c->out, ",\"usage\":{\"prompt_tokens\":%ld,\"total_tokens\":%ld}}", tokens,
                     tokens);
    rc = finish(c);
done:
    for (int i = 0; i < BATCH; i++) zy_cli_tokens_free(&rows[i]);
    zy_cli_embedder_free(&em);
    free(vec);
    free(bytes);
    free(in);
    return rc;
}

static bool accepts_embeddings(const serve_model *sm) {
    return sm->tok && !sm->info->encoder_decoder;
}

// ---- /v1/fill-mask -----------------------------------------------------------------------
// {model, input: "text with [MASK]", text_pair, top_k: 5, truncate} -> {"object":
// "fill_mask", "model", "masks": [[{"token", "id", "score"}, ...] per [MASK] in order]}:
// `zhuyi fill-mask --json`'s lines as one array.

typedef struct masks_out {
    zy_strbuf *b;
    const zy_tokenizer *tok;
    int k, n;
} masks_out;

static int put_mask(void *user, const zy_cli_fill_cand *cands, double lse) {
    masks_out *o = user;
    if (o->n++) zy_strbuf_puts(o->b, ",");
    zy_cli_fill_mask_json(o->b, o->tok, cands, o->k, lse);
    return 0;
}

static int run_fill_mask(serve_call *c) {
    serve_model *sm = c->model;
    bool truncate;
    const char *text = NULL, *pair = NULL;
    int top_k = 5, V = sm->info->vocab_size;
    if (common_fields(c, &truncate) || serve_req_string(c->body, "input", true, &text, c->err) ||
        serve_req_string(c->body, "text_pair", false, &pair, c->err) ||
        serve_req_int(c->body, "top_k", 1, V, &top_k, c->err))
        return -1;
    zy_cli_masker f = {0};
    zy_cli_tokens tk = {0};
    capture k;
    capture_start(&k);
    int rc = 0;
    if (zy_cli_fill_mask_init(&f, "fill-mask", sm->name, sm->m, sm->tok)) {
        rc = capture_fail(&k, c, "model");
        goto done;
    }
    if (encode(sm, "input", truncate, text, pair, &tk)) {
        rc = capture_fail(&k, c, "input");
        goto done;
    }
    zy_strbuf_puts(c->out, "{\"object\":\"fill_mask\"");
    model_field(c->out, sm);
    zy_strbuf_puts(c->out, ",\"masks\":[");
    masks_out o = {.b = c->out, .tok = sm->tok, .k = top_k};
    if (zy_cli_fill_mask_run(&f, &tk, "", put_mask, &o)) {
        rc = capture_fail(&k, c, "input");
        goto done;
    }
    zy_cli_capture(NULL, 0);
    zy_strbuf_printf(c->out, "],\"usage\":{\"prompt_tokens\":%zu,\"total_tokens\":%zu}}", tk.n,
                     tk.n);
    rc = finish(c);
done:
    zy_cli_fill_mask_free(&f);
    zy_cli_tokens_free(&tk);
    return rc;
}

static bool accepts_fill_mask(const serve_model *sm) {
    int32_t id;
    const char *a = sm->info->architecture;
    return sm->tok && zy_tokenizer_get_type(sm->tok) == ZY_TOKENIZER_WORDPIECE &&
           !zy_tokenizer_special_id(sm->tok, ZY_SPECIAL_MASK, &id) &&
           (!strcmp(a, "BertForPreTraining") || !strcmp(a, "BertForMaskedLM"));
}

// ---- /v1/translate -----------------------------------------------------------------------
// {model, input: string | [string], beam (5), n_best (1), max_len_a, max_len_b,
// length_penalty, early_stopping, truncate} -> {"object": "translation", "model", "data":
// [{"index", "translation", "score"} (+ "hyps": [{"translation", "score"}] when n_best >
// 1)]}: `zhuyi translate --json`'s text and scores (beam search, batches of 8 sorted by
// length as it runs them).

typedef struct translations {
    serve_model *sm;
    int32_t *ids;          // (max_positions)
    zy_strbuf text;
    zy_strbuf *items;      // (n) each text's JSON object, filled as its batch ends
    bool n_best;
} translations;

static int put_translation(void *user, size_t i, const zy_seq2seq *d, int k) {
    translations *w = user;
    zy_strbuf *b = &w->items[i];
    int n = zy_seq2seq_n_hyps(d, k);
    for (int r = 0; r < n; r++) {
        zy_seq2seq_hyp h = {0};
        if (zy_seq2seq_hyp_get(d, k, r, &h) ||
            zy_cli_translation_text(w->sm->tok, &h, w->sm->info->decoder_start_id, w->ids,
                                    &w->text))
            return zy_cli_die("translate: decoding the translation of input %zu: %s", i,
                              zy_last_error());
        const char *s = w->text.p ? w->text.p : "";
        if (r == 0) {
            zy_strbuf_puts(b, "\"translation\":");
            zy_cli_json_string(b, s, w->text.n);
            zy_strbuf_printf(b, ",\"score\":%.6g", (double)h.score);
            if (w->n_best) zy_strbuf_puts(b, ",\"hyps\":[");
        }
        if (w->n_best) {
            zy_strbuf_puts(b, r ? ",{\"translation\":" : "{\"translation\":");
            zy_cli_json_string(b, s, w->text.n);
            zy_strbuf_printf(b, ",\"score\":%.6g}", (double)h.score);
        }
    }
    if (w->n_best) zy_strbuf_puts(b, "]");
    return 0;
}

static int run_translate(serve_call *c) {
    serve_model *sm = c->model;
    bool truncate, was_array, early = false;
    const char **in = NULL;
    int n = 0, rc = -1;
    zy_seq2seq_params p = zy_seq2seq_default_params();
    if (common_fields(c, &truncate) ||
        serve_req_int(c->body, "beam", 1, 64, &p.beam, c->err) ||
        serve_req_int(c->body, "n_best", 1, 64, &p.n_best, c->err) ||
        serve_req_float(c->body, "max_len_a", 0, 1e3, &p.max_len_a, c->err) ||
        serve_req_int(c->body, "max_len_b", 0, 1 << 16, &p.max_len_b, c->err) ||
        serve_req_float(c->body, "length_penalty", -1e3, 1e3, &p.length_penalty, c->err) ||
        serve_req_bool(c->body, "early_stopping", &early, c->err))
        return -1;
    p.early_stopping = early;
    if (p.n_best > p.beam)
        return serve_bad(c->err, "n_best", "'n_best' (%d) is more than 'beam' (%d)", p.n_best,
                         p.beam);
    if (zy_seq2seq_params_validate(&p)) return serve_bad(c->err, NULL, "%s", zy_last_error());
    if (serve_req_strings(c->body, "input", MAX_INPUTS, &in, &n, &was_array, c->err)) return -1;
    translations w = {.sm = sm, .n_best = p.n_best > 1};
    w.ids = malloc((size_t)sm->info->max_positions * sizeof *w.ids);
    w.items = calloc((size_t)n, sizeof *w.items);
    if (!w.ids || !w.items) {
        rc = out_of_memory(c);
        goto done;
    }
    capture k;
    capture_start(&k);
    pthread_mutex_lock(&sm->tok_mu); // encoding and decoding
    int bad = zy_cli_translate_run("translate", sm->m, sm->tok, &p, 8, (char *const *)in,
                                   (size_t)n, NULL, truncate, false, put_translation, &w);
    pthread_mutex_unlock(&sm->tok_mu);
    if (bad) {
        rc = capture_fail(&k, c, "input");
        goto done;
    }
    zy_cli_capture(NULL, 0);
    zy_strbuf *b = c->out;
    zy_strbuf_puts(b, "{\"object\":\"translation\"");
    model_field(b, sm);
    zy_strbuf_puts(b, ",\"data\":[");
    for (int i = 0; i < n; i++) {
        zy_strbuf_printf(b, "%s{\"index\":%d,", i ? "," : "", i);
        if (w.items[i].oom) {
            rc = out_of_memory(c);
            goto done;
        }
        if (w.items[i].n) zy_strbuf_put(b, w.items[i].p, w.items[i].n);
        else // an empty text: empty, score 0, as translate writes it
            zy_strbuf_puts(b, w.n_best ? "\"translation\":\"\",\"score\":0,\"hyps\":[]"
                                       : "\"translation\":\"\",\"score\":0");
        zy_strbuf_puts(b, "}");
    }
    zy_strbuf_puts(b, "]}");
    rc = finish(c);
done:
    for (int i = 0; w.items && i < n; i++) zy_strbuf_free(&w.items[i]);
    free(w.items);
    free(w.ids);
    zy_strbuf_free(&w.text);
    free(in);
    return rc;
}

static bool accepts_translate(const serve_model *sm) { return sm->info->encoder_decoder; }

// ---- /v1/attention -----------------------------------------------------------------------
// {model, input, text_pair, layer (default: the last), head (default: the mean over
// heads), truncate} -> {"object": "attention", "model", "tokens", "layers", "heads",
// "layer", "head" (null: the mean), "weights": (T, T) rows the queries}: `zhuyi
// attention --json`'s map of that layer and head.

static int run_attention(serve_call *c) {
    serve_model *sm = c->model;
    bool truncate;
    const char *text = NULL, *pair = NULL;
    int L = sm->info->n_layer, H = sm->info->n_head, layer = L - 1, head = ZY_CLI_HEAD_MEAN;
    if (common_fields(c, &truncate) || serve_req_string(c->body, "input", true, &text, c->err) ||
        serve_req_string(c->body, "text_pair", false, &pair, c->err) ||
        serve_req_int(c->body, "layer", 0, L - 1, &layer, c->err) ||
        serve_req_int(c->body, "head", 0, H - 1, &head, c->err))
        return -1;
    zy_cli_tokens tk = {0};
    zy_cli_attn w = {0};
    capture k;
    capture_start(&k);
    int rc = 0;
    if (encode(sm, "input", truncate, text, pair, &tk)) {
        rc = capture_fail(&k, c, "input");
        goto done;
    }
    if (zy_cli_attention_run(&w, "attention", sm->name, sm->m, &tk)) {
        rc = capture_fail(&k, c, "model");
        goto done;
    }
    zy_cli_capture(NULL, 0);
    if (layer >= w.L || (head != ZY_CLI_HEAD_MEAN && head >= w.H)) { // the session's own count
        rc = serve_bad(c->err, layer >= w.L ? "layer" : "head", "the model keeps %d layers "
                       "of %d heads", w.L, w.H);
        goto done;
    }
    zy_strbuf *b = c->out;
    zy_strbuf_puts(b, "{\"object\":\"attention\"");
    model_field(b, sm);
    zy_strbuf_puts(b, ",\"tokens\":[");
    for (int t = 0; t < w.T; t++) {
        size_t n = 0;
        const char *s = zy_tokenizer_token_bytes(sm->tok, tk.ids[t], &n);
        if (t) zy_strbuf_puts(b, ",");
        zy_cli_json_string(b, s ? s : "", s ? n : 0);
    }
    zy_strbuf_printf(b, "],\"layers\":%d,\"heads\":%d,\"layer\":%d,\"head\":", w.L, w.H, layer);
    if (head == ZY_CLI_HEAD_MEAN) zy_strbuf_puts(b, "null");
    else zy_strbuf_printf(b, "%d", head);
    zy_strbuf_puts(b, ",\"weights\":[");
    const float *m = zy_cli_attention_map(&w, layer, head);
    for (int i = 0; i < w.T; i++) {
        zy_strbuf_puts(b, i ? ",[" : "[");
        for (int j = 0; j < w.T; j++)
            zy_strbuf_printf(b, j ? ",%.6g" : "%.6g", (double)m[(size_t)i * w.T + j]);
        zy_strbuf_puts(b, "]");
    }
    zy_strbuf_puts(b, "]}");
    rc = finish(c);
done:
    zy_cli_attention_free(&w);
    zy_cli_tokens_free(&tk);
    return rc;
}

static bool accepts_attention(const serve_model *sm) {
    return sm->tok && !sm->info->encoder_decoder;
}

// ---- /v1/classify, /v1/tag, /v1/answer --------------------------------------------------
// The request's examples written as the JSON lines `zhuyi predict --input F.jsonl` reads,
// then predict's core (its kind's reading, features, batches and scorer) on them; the
// values are those predict writes, in this endpoint's shape.

// The examples as JSON lines, predict's core open on them and its pass run. 0, or -1
// after filling c->err (a message of the core answers 400 naming param).
static int predict(serve_call *c, const char *cmd, const zy_strbuf *lines, const char *param,
                   const char *const *kflags, int n_kflags, zy_cli_predictor *p) {
    serve_model *sm = c->model;
    if (lines->oom) return out_of_memory(c);
    capture k;
    capture_start(&k);
    // the features encode with the tokenizer: under its lock
    pthread_mutex_lock(&sm->tok_mu);
    int rc = zy_cli_predict_open(p, cmd, sm->dir, sm->m, sm->tok, kflags, n_kflags,
                                 "request.jsonl", lines->p, lines->n, 0, 0);
    pthread_mutex_unlock(&sm->tok_mu);
    if (rc) return capture_fail(&k, c, param);
    cli_score_io io = {.unlabelled = true}; // predictions only, read from the scorer
    if (zy_cli_predict_run(p, &io)) {
        zy_cli_capture(NULL, 0);
        return serve_fail(c->err, 500, "server_error", NULL, NULL, "%s", k.msg);
    }
    zy_cli_capture(NULL, 0);
    return 0;
}

// Refuse texts the features cut (predict's --seq) unless the request allows it.
static int check_cut(serve_call *c, const zy_cli_predictor *p, bool truncate) {
    const zy_task_feature_stats *st = zy_task_features_stats(zy_cli_kind_task_features(&p->d));
    if (truncate || (!st->n_truncated && !st->n_words_truncated)) return 0;
    return serve_bad(c->err, "input", "%llu of the texts %s longer than the %d tokens the "
                     "model reads at once; shorten them or pass \"truncate\": true",
                     (unsigned long long)st->n_truncated, st->n_truncated == 1 ? "is" : "are",
                     p->d.seq);
}

// The classifications' JSON, shared by texts and images: {"object": "classification",
// "model", "data": [{"index", "label", "score", "scores": {label: probability}} (single
// label), {"index", "labels": [...], "scores"} (multi-label), {"index", "value"}
// (regression)]}. The labels' names come from name(ctx, k).
typedef const char *(*class_name_fn)(const void *ctx, int k);

static void put_classes_start(zy_strbuf *b, const serve_model *sm) {
    zy_strbuf_puts(b, "{\"object\":\"classification\"");
    model_field(b, sm);
    zy_strbuf_puts(b, ",\"data\":[");
}

// Item i: its label (chosen NULL) or labels (chosen[k] set) and the K probabilities.
static void put_class(zy_strbuf *b, int i, int label, float score, const uint8_t *chosen,
                      const float *probs, int K, class_name_fn name, const void *ctx) {
    zy_strbuf_printf(b, "%s{\"index\":%d,", i ? "," : "", i);
    if (chosen) {
        zy_strbuf_puts(b, "\"labels\":[");
        for (int k = 0, m = 0; k < K; k++)
            if (chosen[k]) {
                if (m++) zy_strbuf_puts(b, ",");
                json_str(b, name(ctx, k));
            }
        zy_strbuf_puts(b, "]");
    } else {
        zy_strbuf_puts(b, "\"label\":");
        json_str(b, name(ctx, label));
        zy_strbuf_printf(b, ",\"score\":%.6f", (double)score);
    }
    zy_strbuf_puts(b, ",\"scores\":{");
    for (int k = 0; k < K; k++) {
        if (k) zy_strbuf_puts(b, ",");
        json_str(b, name(ctx, k));
        zy_strbuf_printf(b, ":%.6f", (double)probs[k]);
    }
    zy_strbuf_puts(b, "}}");
}

static const char *scorer_label(const void *sc, int k) { return task_scorer_label(sc, k); }
static const char *set_label(const void *ls, int k) { return zy_label_set_name(ls, k); }

static int run_classify_images(serve_call *c);

static int run_classify(serve_call *c) {
    serve_model *sm = c->model;
    if (zy_cli_kind_of(sm->info) == &zy_cli_kind_image) return run_classify_images(c);
    if (c->form && serve_form_files(c->form, "file", NULL, 0))
        return serve_bad(c->err, "file", "model '%s' classifies texts: send them as 'input', "
                         "not as files", sm->name);
    bool truncate, was_array, pair_array = false;
    const char **in = NULL, **pairs = NULL;
    int n = 0, n_pairs = 0, rc = -1;
    zy_cli_predictor p = {0};
    zy_strbuf lines = {0};
    if (common_fields(c, &truncate) ||
        serve_req_strings(c->body, "input", MAX_INPUTS, &in, &n, &was_array, c->err))
        goto done;
    const cJSON *tp = cJSON_GetObjectItemCaseSensitive(c->body, "text_pair");
    if (tp && !cJSON_IsNull(tp)) {
        if (serve_req_strings(c->body, "text_pair", MAX_INPUTS, &pairs, &n_pairs, &pair_array,
                              c->err))
            goto done;
        if (n_pairs != n || pair_array != was_array) {
            serve_bad(c->err, "text_pair", "'text_pair' must be like 'input': a string, or an "
                      "array of as many strings (%d)", n);
            goto done;
        }
    }
    for (int i = 0; i < n; i++) {
        zy_strbuf_puts(&lines, "{\"text\":");
        json_str(&lines, in[i]);
        if (pairs) {
            zy_strbuf_puts(&lines, ",\"text_pair\":");
            json_str(&lines, pairs[i]);
        }
        zy_strbuf_puts(&lines, "}\n");
    }
    const char *kflags[] = {"--format", "jsonl", "--text-pair-column", "text_pair"};
    if (predict(c, "classify", &lines, "input", kflags, pairs ? 4 : 2, &p) ||
        check_cut(c, &p, truncate))
        goto done;
    const task_scorer *sc = zy_cli_kind_task_scorer(&p.d);
    int K = task_scorer_classes(sc);
    zy_strbuf *b = c->out;
    put_classes_start(b, sm);
    for (int i = 0; i < n; i++) {
        task_prediction pr;
        task_scorer_get(sc, (size_t)i, &pr);
        if (!pr.probs) { // regression
            zy_strbuf_printf(b, "%s{\"index\":%d,\"value\":%.9g}", i ? "," : "", i,
                             (double)pr.score);
            continue;
        }
        put_class(b, i, pr.label, pr.score, pr.chosen, pr.probs, K, scorer_label, sc);
    }
    zy_strbuf_puts(b, "]}");
    rc = finish(c);
done:
    zy_cli_predictor_free(&p);
    zy_strbuf_free(&lines);
    free(in);
    free(pairs);
    return rc;
}

static bool accepts_classify(const serve_model *sm) {
    const cli_kind *k = zy_cli_kind_of(sm->info);
    return k == &zy_cli_kind_classify || k == &zy_cli_kind_image;
}

// ---- /v1/classify of images -----------------------------------------------------------
// {model, image: BASE64} or {model, images: [BASE64, ...]} (each a PNG, PGM or PPM file's
// bytes; a "data:...;base64," prefix allowed), or a multipart/form-data form with one
// or more `file` parts (and an optional `model` field) -> the classification shape above:
// `zhuyi predict`'s labels and probabilities for the same files (read, converted to the
// model's channels, normalised and batched by its code: predict.c, kind_image.c).

typedef struct image_inputs {
    int n;
    const void **data;     // (n) each file's bytes (borrowed from the form, or decoded)
    size_t *sizes;         // (n)
    char **names;          // (n) for messages: "image", "images[2]", "file[0] (a.png)"
    unsigned char **owned; // (n) the decoded buffers, freed with the inputs
} image_inputs;

static void image_inputs_free(image_inputs *in) {
    for (int i = 0; i < in->n; i++) {
        if (in->names) free(in->names[i]);
        if (in->owned) free(in->owned[i]);
    }
    free(in->data), free(in->sizes), free(in->names), free(in->owned);
    memset(in, 0, sizeof *in);
}

static int image_inputs_alloc(serve_call *c, image_inputs *in, int n) {
    in->data = calloc((size_t)n, sizeof *in->data);
    in->sizes = calloc((size_t)n, sizeof *in->sizes);
    in->names = calloc((size_t)n, sizeof *in->names);
    in->owned = calloc((size_t)n, sizeof *in->owned);
    in->n = n;
    return in->data && in->sizes && in->names && in->owned ? 0 : out_of_memory(c);
}

// Image i from the base64 text s of field `what` (for messages).
static int image_from_base64(serve_call *c, image_inputs *in, int i, const char *param,
                             const char *what, const char *s) {
    size_t n = strlen(s);
    if (!strncmp(s, "data:", 5)) { // a data URL: its base64 after the comma
        const char *comma = strchr(s, ',');
        if (!comma || comma - s < 12 || strncmp(comma - 7, ";base64", 7))
            return serve_bad(c->err, param, "%s is a data URL but not a base64 one "
                             "(data:image/png;base64,...)", what);
        n -= (size_t)(comma + 1 - s);
        s = comma + 1;
    }
    if (!(in->owned[i] = malloc(zy_cli_base64_decoded_max(n) + 1))) return out_of_memory(c);
    size_t at = 0, len = 0;
    const char *why = "";
    if (zy_cli_base64_decode(s, n, in->owned[i], &len, &at, &why))
        return serve_bad(c->err, param, "%s is not base64: %s (at character %zu)", what, why,
                         at);
    if (!len) return serve_bad(c->err, param, "%s is empty", what);
    in->data[i] = in->owned[i];
    in->sizes[i] = len;
    return (in->names[i] = strdup(what)) ? 0 : out_of_memory(c);
}

// The request's images: a form's `file` parts, or the JSON's "image" or "images". 0, or
// -1 after filling c->err; *param the field the images came from.
static int image_inputs_read(serve_call *c, image_inputs *in, const char **param) {
    if (c->form) {
        *param = "file";
        int n = serve_form_files(c->form, "file", NULL, 0);
        if (n < 1)
            return serve_bad(c->err, "file", "the form has no 'file' part: upload the images "
                             "as file=@IMAGE");
        if (n > MAX_INPUTS)
            return serve_bad(c->err, "file", "the form uploads %d files; %d at most", n,
                             MAX_INPUTS);
        const serve_part **parts = malloc((size_t)n * sizeof *parts);
        if (!parts || image_inputs_alloc(c, in, n)) return free(parts), out_of_memory(c);
        serve_form_files(c->form, "file", parts, n);
        int rc = 0;
        for (int i = 0; i < n && !rc; i++) {
            const serve_part *p = parts[i];
            char what[320];
            if (p->filename) snprintf(what, sizeof what, "file[%d] (%.256s)", i, p->filename);
            else snprintf(what, sizeof what, "file[%d]", i);
            if (!p->data.n) rc = serve_bad(c->err, "file", "%s is empty", what);
            else if (!(in->names[i] = strdup(what))) rc = out_of_memory(c);
            in->data[i] = p->data.p;
            in->sizes[i] = p->data.n;
        }
        free(parts);
        return rc;
    }
    const char *one = NULL, **many = NULL;
    int n = 0;
    bool has_many = cJSON_GetObjectItemCaseSensitive(c->body, "images") != NULL;
    if (serve_req_string(c->body, "image", false, &one, c->err)) return -1;
    if (one && has_many)
        return serve_bad(c->err, "images", "give 'image' or 'images', not both");
    if (one) {
        *param = "image";
        return image_inputs_alloc(c, in, 1) ? -1
                                            : image_from_base64(c, in, 0, "image", "image", one);
    }
    *param = "images";
    if (!has_many)
        return serve_bad(c->err, "image", "'image' (a base64 PNG, PGM or PPM file) or "
                         "'images' (an array of them) is required");
    if (serve_req_strings(c->body, "images", MAX_INPUTS, &many, &n, NULL, c->err)) return -1;
    int rc = image_inputs_alloc(c, in, n);
    for (int i = 0; i < n && !rc; i++) {
        char what[32];
        snprintf(what, sizeof what, "images[%d]", i);
        rc = image_from_base64(c, in, i, "images", what, many[i]);
    }
    free(many);
    return rc;
}

static int run_classify_images(serve_call *c) {
    serve_model *sm = c->model;
    const char *name = NULL, *param = "image";
    image_inputs in = {0};
    zy_cli_predictor p = {0};
    int rc = -1;
    if (serve_req_string(c->body, "model", false, &name, c->err) ||
        image_inputs_read(c, &in, &param))
        goto done;
    capture k;
    capture_start(&k);
    if (zy_cli_predict_open_images(&p, "classify", sm->dir, sm->m, NULL, 0, "the request",
                                   in.data, in.sizes, (const char *const *)in.names,
                                   (size_t)in.n, 0)) {
        rc = capture_fail(&k, c, param);
        goto done;
    }
    cli_score_io io = {.unlabelled = true};
    if (zy_cli_predict_run(&p, &io)) {
        zy_cli_capture(NULL, 0);
        rc = serve_fail(c->err, 500, "server_error", NULL, NULL, "%s", k.msg);
        goto done;
    }
    zy_cli_capture(NULL, 0);
    const zy_label_set *ls = zy_cli_kind_image_labels(&p.d);
    zy_strbuf *b = c->out;
    put_classes_start(b, sm);
    for (int i = 0; i < in.n; i++) {
        int label = 0, K = 0;
        const float *probs = zy_cli_kind_image_prediction(&p.d, (size_t)i, &label, &K);
        if (!probs || K > zy_label_set_count(ls)) {
            rc = serve_fail(c->err, 500, "server_error", NULL, NULL, "image %d was not "
                            "classified", i);
            goto done;
        }
        put_class(b, i, label, probs[label], NULL, probs, K, set_label, ls);
    }
    zy_strbuf_puts(b, "]}");
    rc = finish(c);
done:
    zy_cli_predictor_free(&p);
    image_inputs_free(&in);
    return rc;
}

// Words: the runs of bytes between ASCII white space (what a word-tag line splits at).
static bool is_space(char ch) { return ch == ' ' || (ch >= '\t' && ch <= '\r'); }

static int run_tag(serve_call *c) {
    serve_model *sm = c->model;
    bool truncate, was_array;
    const char **in = NULL;
    int n = 0, rc = -1;
    zy_cli_predictor p = {0};
    zy_strbuf lines = {0};
    if (common_fields(c, &truncate) ||
        serve_req_strings(c->body, "input", MAX_INPUTS, &in, &n, &was_array, c->err))
        goto done;
    for (int i = 0; i < n; i++) {
        const char *s = in[i];
        int words = 0;
        zy_strbuf_puts(&lines, "{\"tokens\":[");
        for (size_t at = 0; s[at];) {
            if (is_space(s[at])) {
                at++;
                continue;
            }
            size_t end = at;
            while (s[end] && !is_space(s[end])) end++;
            if (words++) zy_strbuf_puts(&lines, ",");
            zy_cli_json_string(&lines, s + at, end - at);
            at = end;
        }
        zy_strbuf_puts(&lines, "]}\n");
        if (!words) {
            serve_bad(c->err, "input", was_array ? "input[%d] has no words" : "input has no "
                      "words", i);
            goto done;
        }
    }
    const char *kflags[] = {"--format", "jsonl"};
    if (predict(c, "tag", &lines, "input", kflags, 2, &p) || check_cut(c, &p, truncate))
        goto done;
    const task_scorer *sc = zy_cli_kind_task_scorer(&p.d);
    zy_strbuf *b = c->out;
    zy_strbuf_puts(b, "{\"object\":\"tagging\"");
    model_field(b, sm);
    zy_strbuf_puts(b, ",\"data\":[");
    for (int i = 0; i < n; i++) {
        const char *s = in[i];
        zy_strbuf_printf(b, "%s{\"index\":%d,\"words\":[", i ? "," : "", i);
        int w = 0;
        for (size_t at = 0; s[at];) {
            if (is_space(s[at])) {
                at++;
                continue;
            }
            size_t end = at;
            while (s[end] && !is_space(s[end])) end++;
            float score;
            int tag = task_scorer_word(sc, (size_t)i, w, &score);
            zy_strbuf_puts(b, w++ ? ",{\"word\":" : "{\"word\":");
            zy_cli_json_string(b, s + at, end - at);
            zy_strbuf_puts(b, ",\"tag\":");
            json_str(b, task_scorer_label(sc, tag));
            zy_strbuf_printf(b, ",\"score\":%.4f,\"start\":%zu,\"end\":%zu}", (double)score, at,
                             end);
            at = end;
        }
        zy_strbuf_puts(b, "]}");
    }
    zy_strbuf_puts(b, "]}");
    rc = finish(c);
done:
    zy_cli_predictor_free(&p);
    zy_strbuf_free(&lines);
    free(in);
    return rc;
}

static bool accepts_tag(const serve_model *sm) {
    return zy_cli_kind_of(sm->info) == &zy_cli_kind_tag;
}

static int run_answer(serve_call *c) {
    serve_model *sm = c->model;
    bool truncate;
    const char *question = NULL, *context = NULL;
    int rc = -1;
    zy_cli_predictor p = {0};
    zy_strbuf lines = {0};
    if (common_fields(c, &truncate) ||
        serve_req_string(c->body, "question", true, &question, c->err) ||
        serve_req_string(c->body, "context", true, &context, c->err))
        goto done;
    if (!question[0]) return serve_bad(c->err, "question", "'question' is empty");
    if (!context[0]) return serve_bad(c->err, "context", "'context' is empty");
    zy_strbuf_puts(&lines, "{\"id\":\"0\",\"question\":");
    json_str(&lines, question);
    zy_strbuf_puts(&lines, ",\"context\":");
    json_str(&lines, context);
    zy_strbuf_puts(&lines, "}\n");
    // a long context is read in windows (predict's doc stride): nothing is cut
    if (predict(c, "answer", &lines, "question", NULL, 0, &p)) goto done;
    const task_scorer *sc = zy_cli_kind_task_scorer(&p.d);
    task_prediction pr;
    task_scorer_get(sc, 0, &pr);
    size_t len = strlen(context);
    if (pr.byte_end < pr.byte_start || pr.byte_end > len) pr.byte_start = pr.byte_end = 0;
    zy_strbuf *b = c->out;
    zy_strbuf_puts(b, "{\"object\":\"answer\"");
    model_field(b, sm);
    zy_strbuf_puts(b, ",\"answer\":");
    zy_cli_json_string(b, context + pr.byte_start, pr.byte_end - pr.byte_start);
    zy_strbuf_printf(b, ",\"score\":%.4f,\"start\":%zu,\"end\":%zu}", (double)pr.score,
                     pr.start, pr.end);
    rc = finish(c);
done:
    zy_cli_predictor_free(&p);
    zy_strbuf_free(&lines);
    return rc;
}

static bool accepts_answer(const serve_model *sm) {
    return zy_cli_kind_of(sm->info) == &zy_cli_kind_qa;
}

// ---- the table -----------------------------------------------------------------------------

const serve_route serve_encoder_routes[] = {
    {"/v1/embeddings", run_embeddings, "a BERT or GPT-2 (an encoder or decoder-only model)",
     accepts_embeddings, NULL},
    {"/v1/fill-mask", run_fill_mask,
     "a BERT with a masked-LM head (BertForPreTraining or BertForMaskedLM) and [MASK]",
     accepts_fill_mask, NULL},
    {"/v1/classify", run_classify, "a sequence classifier (BertForSequenceClassification or "
     "GPT2ForSequenceClassification) or an image classifier (ViTForImageClassification)",
     accepts_classify, "file"},
    {"/v1/tag", run_tag, "a token classifier (BertForTokenClassification)", accepts_tag, NULL},
    {"/v1/answer", run_answer, "a question answering model (BertForQuestionAnswering)",
     accepts_answer, NULL},
    {"/v1/translate", run_translate, "an encoder-decoder (translation) model",
     accepts_translate, NULL},
    {"/v1/attention", run_attention, "a BERT or GPT-2 (a model that keeps its attention "
     "weights)", accepts_attention, NULL},
    {"/v1/audio/transcriptions", serve_run_transcriptions, "a speech recognizer (a "
     "speech_ctc model: zhuyi finetune speech)", serve_accepts_speech, "file"},
};
const int serve_n_encoder_routes = (int)(sizeof serve_encoder_routes / sizeof *serve_encoder_routes);
