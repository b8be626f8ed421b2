// The endpoints of `zhuyi serve` that run no model (serve.h): the model list and lookup,
// /v1/tokenize and /v1/detokenize.
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "textio.h"

serve_model *serve_find_model(serve_server *srv, const char *name, serve_error *e) {
    if (!name) {
        if (srv->n_models == 1) return &srv->models[0];
        serve_bad(e, "model", "'model' is required: this server has %d models (GET /v1/models)",
                  srv->n_models);
        return NULL;
    }
    for (int i = 0; i < srv->n_models; i++)
        if (!strcmp(srv->models[i].name, name)) return &srv->models[i];
    serve_fail(e, 404, "invalid_request_error", "model_not_found", "model",
               "the model '%s' does not exist on this server (GET /v1/models lists them)", name);
    return NULL;
}

void serve_api_model(const serve_model *m, zy_strbuf *b) {
    zy_strbuf_puts(b, "{\"id\": ");
    zy_cli_json_string(b, m->name, strlen(m->name));
    zy_strbuf_printf(b, ", \"object\": \"model\", \"created\": %llu, \"owned_by\": \"zhuyi\", "
                     "\"zhuyi\": {\"kind\": \"%s\", \"model_type\": ",
                     (unsigned long long)m->created, m->kind);
    zy_cli_json_string(b, m->info->model_type, strlen(m->info->model_type));
    zy_strbuf_printf(b, ", \"max_positions\": %d, \"vocab_size\": %d, \"chat_template\": ",
                     m->info->max_positions, m->info->vocab_size);
    if (m->tpl && m->info->causal_lm) zy_cli_json_string(b, m->tpl->name, strlen(m->tpl->name));
    else zy_strbuf_puts(b, "null");
    if (m->info->image_size > 0) // what /v1/classify's images must be
        zy_strbuf_printf(b, ", \"image_size\": %d, \"num_channels\": %d", m->info->image_size,
                         m->info->image_channels);
    zy_strbuf_puts(b, "}}");
}

int serve_api_models(serve_server *srv, zy_strbuf *b) {
    zy_strbuf_puts(b, "{\"object\": \"list\", \"data\": [");
    for (int i = 0; i < srv->n_models; i++) {
        if (i) zy_strbuf_puts(b, ", ");
        serve_api_model(&srv->models[i], b);
    }
    zy_strbuf_puts(b, "]}\n");
    return 0;
}

// {"model", "input": text, "special": true} -> {"tokens": [ids], "pieces": [strings]}:
// special tokens written in the text are recognised unless "special" is false.
int serve_api_tokenize(serve_call *c) {
    const char *text = NULL;
    bool special = true;
    if (serve_req_string(c->body, "input", true, &text, c->err) ||
        serve_req_bool(c->body, "special", &special, c->err))
        return -1;
    serve_model *m = c->model;
    size_t len = strlen(text), n = 0;
    int32_t *ids = malloc((len + 1) * sizeof *ids);
    if (!ids) return serve_fail(c->err, 500, "server_error", NULL, NULL, "out of memory");
    pthread_mutex_lock(&m->tok_mu);
    zy_status st = zy_tokenizer_encode(m->tok, text, len, special ? ZY_ENCODE_SPECIAL : 0, ids,
                                       len + 1, &n);
    pthread_mutex_unlock(&m->tok_mu);
    if (st) {
        free(ids);
        return serve_bad(c->err, "input", "%s", zy_last_error());
    }
    zy_strbuf *b = c->out;
    zy_strbuf_puts(b, "{\"tokens\": [");
    for (size_t i = 0; i < n; i++) zy_strbuf_printf(b, "%s%d", i ? ", " : "", ids[i]);
    zy_strbuf_puts(b, "], \"pieces\": [");
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        const char *s = zy_tokenizer_token_bytes(m->tok, ids[i], &k);
        if (i) zy_strbuf_puts(b, ", ");
        zy_cli_json_string(b, s ? s : "", s ? k : 0);
    }
    zy_strbuf_printf(b, "], \"count\": %zu}\n", n);
    free(ids);
    return 0;
}

// {"model", "tokens": [ids]} -> {"text": ...}
int serve_api_detokenize(serve_call *c) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->body, "tokens");
    if (!cJSON_IsArray(v)) return serve_bad(c->err, "tokens", "'tokens' must be an array of ids");
    serve_model *m = c->model;
    int n = cJSON_GetArraySize(v), V = m->info->vocab_size, i = 0;
    if (n > 1 << 20) return serve_bad(c->err, "tokens", "'tokens' holds more than 2^20 ids");
    int32_t *ids = malloc(((size_t)n + 1) * sizeof *ids);
    if (!ids) return serve_fail(c->err, 500, "server_error", NULL, NULL, "out of memory");
    for (const cJSON *x = v->child; x; x = x->next, i++) {
        double d = cJSON_IsNumber(x) ? x->valuedouble : -1;
        if (!(d >= 0 && d < V) || d != (double)(int)d) {
            free(ids);
            return serve_bad(c->err, "tokens", "'tokens'[%d] is not an id from 0 to %d", i, V - 1);
        }
        ids[i] = (int32_t)d;
    }
    size_t len = 0, cap = 1; // each token's bytes and a space at most
    for (int k = 0; k < n; k++) {
        size_t tn = 0;
        zy_tokenizer_token_bytes(m->tok, ids[k], &tn);
        cap += tn + 1;
    }
    char *text = malloc(cap);
    zy_status st = text ? zy_tokenizer_decode(m->tok, ids, (size_t)n, text, cap, &len)
                        : ZY_STATUS_OUT_OF_MEMORY;
    free(ids);
    if (st) {
        free(text);
        return serve_bad(c->err, "tokens", "%s", zy_last_error());
    }
    zy_strbuf_puts(c->out, "{\"text\": ");
    zy_cli_json_string(c->out, text, len);
    zy_strbuf_puts(c->out, "}\n");
    free(text);
    return 0;
}
