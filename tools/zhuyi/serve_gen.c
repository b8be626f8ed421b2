// /v1/completions and /v1/chat/completions of `zhuyi serve` (serve.h): a request becomes
// choices (n per prompt), each decoded in a slot of its model's generator on the engine
// thread; tokens become text through the commands' stream (gen.c: whole characters only,
// stop texts never sent), then Server-Sent Events chunks or, at the end, one body, in the
// OpenAI API's shapes. Prompts are encoded as `zhuyi generate` encodes them (special
// tokens recognised; an empty prompt is <|endoftext|>), chats with the directory's
// template as `zhuyi chat` renders them, so greedy results equal the commands'.
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve.h"
#include "textio.h"

enum { MAX_PROMPTS = 64, MAX_N = 16, MAX_STOP = 4, MAX_TOP_LOGPROBS = 20 };

typedef struct serve_choice {
    serve_job *job;
    int index;            // in the response
    int prompt;           // the prompt it continues
    int slot;             // -1: waiting for one
    bool ended;
    zy_generate_params gp;
    cli_stream text;      // tokens -> text (stop texts held back)
    size_t sent;          // bytes of text.text already in chunks
    int n_tokens;
    const char *finish;   // "stop", "length"
    zy_strbuf lp;         // logprob entries so far (JSON items, comma-separated)
    zy_strbuf lp_tokens, lp_values, lp_top, lp_offsets; // completions' four arrays
} serve_choice;

struct serve_gen_request {
    bool chat;
    int n_prompts, n;     // choices = n_prompts x n
    int32_t **ids;        // (n_prompts) each prompt's tokens
    int *n_ids;
    serve_choice *choices;
    int n_choices, n_started, n_ended;
    int logprobs;         // top alternatives per token; -1: no logprobs
    bool include_usage;
    const char *stop[MAX_STOP];
    int n_stop;
    char id[48];
    long long created;
    long prompt_tokens;
};

// ---- parsing -------------------------------------------------------------------------------
static int read_stop(const cJSON *body, serve_gen_request *g, serve_error *e) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "stop");
    if (!v || cJSON_IsNull(v)) return 0;
    if (cJSON_IsString(v)) {
        if (v->valuestring[0]) g->stop[g->n_stop++] = v->valuestring;
        return 0;
    }
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > MAX_STOP)
        return serve_bad(e, "stop", "'stop' must be a string or an array of up to %d strings",
                         MAX_STOP);
    for (const cJSON *x = v->child; x; x = x->next) {
        if (!cJSON_IsString(x)) return serve_bad(e, "stop", "'stop' holds a non-string");
        if (x->valuestring[0]) g->stop[g->n_stop++] = x->valuestring;
    }
    return 0;
}

// Penalties are not implemented: 0 (their default) is accepted, anything else refused.
static int no_penalty(const cJSON *body, const char *name, serve_error *e) {
    float v = 0;
    if (serve_req_float(body, name, -2, 2, &v, e)) return -1;
    if (v != 0) return serve_bad(e, name, "'%s' is not supported by zhuyi serve (only 0)", name);
    return 0;
}

static int add_prompt(serve_gen_request *g, int32_t *ids, int n) {
    g->ids[g->n_prompts] = ids;
    g->n_ids[g->n_prompts++] = n;
    return 0;
}

// Text -> ids as `zhuyi generate` encodes a plain prompt. 0, or -1 after *e.
static int encode_text(serve_model *m, const char *s, const char *param, int32_t **ids, int *n,
                       serve_error *e) {
    size_t len = strlen(s), got = 0;
    int32_t *p = malloc((len + 1) * sizeof *p);
    if (!p) return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    pthread_mutex_lock(&m->tok_mu);
    zy_status st = len ? zy_tokenizer_encode(m->tok, s, len, ZY_ENCODE_SPECIAL, p, len + 1, &got)
                       : ZY_STATUS_OK;
    pthread_mutex_unlock(&m->tok_mu);
    if (st) {
        free(p);
        return serve_bad(e, param, "encoding '%s': %s", param, zy_last_error());
    }
    if (!got) {
        if (m->eot < 0) {
            free(p);
            return serve_bad(e, param, "the prompt is empty and the tokenizer has no "
                             "<|endoftext|> to start from");
        }
        p[got++] = m->eot;
    }
    *ids = p;
    *n = (int)got;
    return 0;
}

// OpenAI's prompt: a string, an array of strings, an array of token ids, or an array of
// arrays of token ids.
static int read_prompt(serve_model *m, const cJSON *body, serve_gen_request *g, serve_error *e) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "prompt");
    if (!v || cJSON_IsNull(v)) return serve_bad(e, "prompt", "'prompt' is required");
    const cJSON *one[1] = {v}, *const *list = one;
    int k = 1;
    const cJSON **arr = NULL;
    if (cJSON_IsArray(v) && v->child && !cJSON_IsNumber(v->child)) {
        k = cJSON_GetArraySize(v);
        if (k > MAX_PROMPTS)
            return serve_bad(e, "prompt", "'prompt' holds %d prompts; at most %d", k, MAX_PROMPTS);
        arr = malloc((size_t)k * sizeof *arr);
        if (!arr) return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        int i = 0;
        for (const cJSON *x = v->child; x; x = x->next) arr[i++] = x;
        list = arr;
    } else if (cJSON_IsArray(v) && !v->child) {
        return serve_bad(e, "prompt", "'prompt' is an empty array");
    }
    g->ids = calloc((size_t)k, sizeof *g->ids);
    g->n_ids = calloc((size_t)k, sizeof *g->n_ids);
    int rc = g->ids && g->n_ids ? 0 : serve_fail(e, 500, "server_error", NULL, NULL,
                                                 "out of memory");
    for (int i = 0; i < k && !rc; i++) {
        const cJSON *p = list[i];
        int32_t *ids = NULL;
        int n = 0;
        if (cJSON_IsString(p)) {
            rc = encode_text(m, p->valuestring, "prompt", &ids, &n, e);
        } else if (cJSON_IsArray(p) && p->child) {
            int len = cJSON_GetArraySize(p);
            if (len >= m->info->max_positions) {
                rc = serve_bad(e, "prompt", "prompt %d has %d tokens; the model's context is "
                               "%d", i, len, m->info->max_positions);
                break;
            }
            ids = malloc((size_t)len * sizeof *ids);
            if (!ids) {
                rc = serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
                break;
            }
            for (const cJSON *x = p->child; x; x = x->next) {
                double d = cJSON_IsNumber(x) ? x->valuedouble : -1;
                if (!(d >= 0 && d < m->info->vocab_size) || d != floor(d)) {
                    rc = serve_bad(e, "prompt", "prompt %d: token %d is not an id from 0 to %d",
                                   i, n, m->info->vocab_size - 1);
                    break;
                }
                ids[n++] = (int32_t)d;
            }
        } else {
            rc = serve_bad(e, "prompt", "'prompt' must be a string, an array of strings, an "
                           "array of token ids or an array of such arrays");
        }
        if (!rc && n >= m->info->max_positions)
            rc = serve_bad(e, "prompt", "the prompt is %d tokens; the model's context "
                           "(n_positions) is %d, which leaves no room to generate", n,
                           m->info->max_positions);
        if (rc) free(ids);
        else add_prompt(g, ids, n);
    }
    free(arr);
    return rc;
}

// A message's content: a string, or an array of {"type": "text", "text": ...} parts
// (joined). *own is set when the text was built (free it).
static int message_text(const cJSON *msg, int i, const char **text, char **own, serve_error *e) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(msg, "content");
    *own = NULL;
    if (!c || cJSON_IsNull(c)) return *text = "", 0;
    if (cJSON_IsString(c)) return *text = c->valuestring, 0;
    if (!cJSON_IsArray(c))
        return serve_bad(e, "messages", "messages[%d].content must be a string or an array of "
                         "text parts", i);
    zy_strbuf b = {0};
    for (const cJSON *p = c->child; p; p = p->next) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "type");
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(p, "text");
        if (!cJSON_IsString(t) || strcmp(t->valuestring, "text") || !cJSON_IsString(x)) {
            zy_strbuf_free(&b);
            return serve_bad(e, "messages", "messages[%d].content: only parts {\"type\": "
                             "\"text\", \"text\": ...} are supported", i);
        }
        zy_strbuf_puts(&b, x->valuestring);
    }
    if (b.oom) {
        zy_strbuf_free(&b);
        return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    }
    *own = b.p;
    *text = b.p ? b.p : "";
    return 0;
}

static int read_messages(serve_model *m, const cJSON *body, serve_gen_request *g,
                         serve_error *e) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "messages");
    if (!cJSON_IsArray(v) || !v->child)
        return serve_bad(e, "messages", "'messages' must be a non-empty array of messages");
    int k = cJSON_GetArraySize(v);
    if (k > 4096) return serve_bad(e, "messages", "'messages' holds %d messages; at most 4096", k);
    zy_chat_message *msgs = calloc((size_t)k, sizeof *msgs);
    char **own = calloc((size_t)k, sizeof *own);
    g->ids = calloc(1, sizeof *g->ids);
    g->n_ids = calloc(1, sizeof *g->n_ids);
    int rc = msgs && own && g->ids && g->n_ids
                 ? 0 : serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    int i = 0;
    for (const cJSON *x = v->child; x && !rc; x = x->next, i++) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(x, "role");
        zy_chat_role r;
        if (!cJSON_IsString(role)) {
            rc = serve_bad(e, "messages", "messages[%d] has no string 'role'", i);
        } else if (!strcmp(role->valuestring, "developer")) {
            r = ZY_CHAT_SYSTEM; // OpenAI's newer name for the system message
        } else if (zy_chat_role_parse(role->valuestring, &r)) {
            rc = serve_bad(e, "messages", "messages[%d].role '%s': the roles are system, "
                           "developer, user and assistant", i, role->valuestring);
        }
        const char *text = "";
        if (!rc && !(rc = message_text(x, i, &text, &own[i], e)))
            msgs[i] = (zy_chat_message){r, text, strlen(text)};
    }
    zy_chat_tokens t;
    zy_chat_tokens_init(&t);
    if (!rc) {
        pthread_mutex_lock(&m->tok_mu);
        zy_status st = zy_chat_encode(m->tpl, m->tok, msgs, k, true, &t);
        pthread_mutex_unlock(&m->tok_mu);
        if (st) rc = serve_bad(e, "messages", "%s", zy_last_error());
    }
    if (!rc && t.n >= (size_t)m->info->max_positions)
        rc = serve_bad(e, "messages", "the conversation is %zu tokens with the chat template; "
                       "the model's context (n_positions) is %d", t.n, m->info->max_positions);
    if (!rc) {
        int32_t *ids = malloc(t.n * sizeof *ids);
        if (!ids) rc = serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        else {
            memcpy(ids, t.ids, t.n * sizeof *ids);
            add_prompt(g, ids, (int)t.n);
        }
    }
    zy_chat_tokens_destroy(&t);
    for (int j = 0; own && j < k; j++) free(own[j]);
    free(own);
    free(msgs);
    return rc;
}

void serve_gen_free(serve_gen_request *g) {
    if (!g) return;
    for (int i = 0; i < g->n_prompts; i++) free(g->ids[i]);
    free(g->ids);
    free(g->n_ids);
    for (int i = 0; g->choices && i < g->n_choices; i++) {
        serve_choice *c = &g->choices[i];
        zy_cli_stream_free(&c->text);
        zy_strbuf_free(&c->lp);
        zy_strbuf_free(&c->lp_tokens);
        zy_strbuf_free(&c->lp_values);
        zy_strbuf_free(&c->lp_top);
        zy_strbuf_free(&c->lp_offsets);
    }
    free(g->choices);
    free(g);
}

static int choice_token(int token, int i, void *user);
static void finish_job(serve_job *j);

int serve_gen_prepare(serve_job *j, bool chat, serve_error *e) {
    serve_model *m = j->model;
    const cJSON *b = j->body;
    if (!m->info->causal_lm)
        return serve_bad(e, "model", "model '%s' is %s %s, not a causal language model: %s "
                         "needs one", m->name, strchr("aeiou", m->kind[0]) ? "an" : "a",
                         m->kind, chat ? "/v1/chat/completions" : "/v1/completions");
    serve_gen_request *g = calloc(1, sizeof *g);
    if (!g) return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    j->gen = g;
    g->chat = chat;
    g->n = 1;
    g->logprobs = -1;
    zy_generate_params gp = zy_generate_default_params();
    gp.max_tokens = chat ? INT_MAX / 2 : 16; // chat: up to the context, as OpenAI's default
    uint64_t seed = 0;
    bool seeded = false, stream = false, lp = false;
    if (serve_req_int(b, "max_tokens", 0, INT_MAX / 2, &gp.max_tokens, e) ||
        (chat && serve_req_int(b, "max_completion_tokens", 0, INT_MAX / 2, &gp.max_tokens, e)) ||
        serve_req_float(b, "temperature", 0, 1e6, &gp.sample.temperature, e) ||
        serve_req_float(b, "top_p", 0, 1, &gp.sample.top_p, e) ||
        serve_req_int(b, "top_k", 0, INT_MAX, &gp.sample.top_k, e) ||
        serve_req_int(b, "n", 1, MAX_N, &g->n, e) ||
        serve_req_u64(b, "seed", &seed, &seeded, e) ||
        serve_req_bool(b, "stream", &stream, e) || read_stop(b, g, e) ||
        no_penalty(b, "presence_penalty", e) || no_penalty(b, "frequency_penalty", e))
        return -1;
    if (gp.sample.top_p <= 0) return serve_bad(e, "top_p", "'top_p' must be in (0, 1]");
    bool echo = false;
    if (!chat && serve_req_bool(b, "echo", &echo, e)) return -1;
    if (echo) return serve_bad(e, "echo", "'echo' is not supported by zhuyi serve");
    if (chat) {
        if (serve_req_bool(b, "logprobs", &lp, e)) return -1;
        int top = 0;
        if (serve_req_int(b, "top_logprobs", 0, MAX_TOP_LOGPROBS, &top, e)) return -1;
        if (lp) g->logprobs = top;
    } else {
        if (serve_req_int(b, "logprobs", 0, 5, &g->logprobs, e)) return -1;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(b, "logprobs");
        if (!v || cJSON_IsNull(v)) g->logprobs = -1;
    }
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(b, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!cJSON_IsObject(so))
            return serve_bad(e, "stream_options", "'stream_options' must be an object");
        if (serve_req_bool(so, "include_usage", &g->include_usage, e)) return -1;
    }
    if (chat ? read_messages(m, b, g, e) : read_prompt(m, b, g, e)) return -1;
    if (!seeded) // a seed of the server's, one per request (--seed makes them repeatable)
        seed = j->srv->seed * 1000003u + atomic_fetch_add(&j->srv->n_requests, 1);
    g->n_choices = g->n_prompts * g->n;
    g->choices = calloc((size_t)g->n_choices, sizeof *g->choices);
    if (!g->choices) return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    gp.stop_token = m->eot;
    for (int p = 0; p < g->n_prompts; p++) {
        g->prompt_tokens += g->n_ids[p];
        for (int k = 0; k < g->n; k++) {
            serve_choice *c = &g->choices[p * g->n + k];
            c->job = j;
            c->index = p * g->n + k;
            c->prompt = p;
            c->slot = -1;
            c->gp = gp;
            c->gp.seed = seed + (uint64_t)k;
            c->gp.on_token = choice_token;
            c->gp.user = c;
            zy_cli_stream_init(&c->text, m->tok, NULL, false, chat ? m->tpl->stop : NULL);
            for (int s = 0; s < g->n_stop; s++) zy_cli_stream_add_stop(&c->text, g->stop[s]);
        }
    }
    j->stream = stream;
    snprintf(g->id, sizeof g->id, "%s-%llx%06llx", chat ? "chatcmpl" : "cmpl",
             (unsigned long long)time(NULL), (unsigned long long)(seed & 0xffffff));
    g->created = (long long)time(NULL);
    return 0;
}

// ---- output --------------------------------------------------------------------------------
// The response object up to its choices: of a streamed chunk, or of the whole answer.
static void response_head(serve_job *j, bool chunk, zy_strbuf *b) {
    serve_gen_request *g = j->gen;
    const char *object = !g->chat ? "text_completion"
                         : chunk  ? "chat.completion.chunk" : "chat.completion";
    zy_strbuf_printf(b, "{\"id\": \"%s\", \"object\": \"%s\", \"created\": %lld, \"model\": ",
                     g->id, object, g->created);
    zy_cli_json_string(b, j->model->name, strlen(j->model->name));
    zy_strbuf_puts(b, ", \"system_fingerprint\": null, \"choices\": [");
}

static void send_event(serve_job *j, zy_strbuf *b) {
    zy_strbuf ev = {0};
    zy_strbuf_puts(&ev, "data: ");
    zy_strbuf_put(&ev, b->p, b->n);
    zy_strbuf_puts(&ev, "\n\n");
    if (!ev.oom) serve_job_append(j, ev.p, ev.n);
    else atomic_store(&j->cancelled, true);
    zy_strbuf_free(&ev);
}

static void json_bytes(zy_strbuf *b, const char *s, size_t n) {
    zy_strbuf_puts(b, "[");
    for (size_t i = 0; i < n; i++) zy_strbuf_printf(b, "%s%u", i ? ", " : "", (unsigned char)s[i]);
    zy_strbuf_puts(b, "]");
}

// The log-probabilities of a token and of the `top` most probable ones, appended to the
// choice's logprobs in the endpoint's shape (chat: entries of "content"; completions: the
// four parallel arrays).
static void add_logprobs(serve_choice *c, int token, const float *logits, int top,
                         size_t offset, zy_strbuf *chunk) {
    serve_model *m = c->job->model;
    int V = m->info->vocab_size;
    float mx = -INFINITY;
    for (int v = 0; v < V; v++) mx = fmaxf(mx, logits[v]);
    double sum = 0;
    for (int v = 0; v < V; v++) sum += exp((double)logits[v] - mx);
    double lse = mx + log(sum);
    int best[MAX_TOP_LOGPROBS];
    int nb = 0;
    for (int v = 0; v < V && top > 0; v++) { // insertion into the top list, ties to lower id
        int at = nb;
        while (at > 0 && logits[best[at - 1]] < logits[v]) at--;
        if (at >= top) continue;
        if (nb < top) nb++;
        memmove(best + at + 1, best + at, (size_t)(nb - 1 - at) * sizeof *best);
        best[at] = v;
    }
    size_t n = 0;
    const char *s = zy_tokenizer_token_bytes(m->tok, token, &n);
    if (!s) s = "", n = 0;
    bool chat = c->job->gen->chat;
    zy_strbuf item = {0};
    if (chat) {
        zy_strbuf_puts(&item, "{\"token\": ");
        zy_cli_json_string(&item, s, n);
        zy_strbuf_printf(&item, ", \"logprob\": %.7g, \"bytes\": ", logits[token] - lse);
        json_bytes(&item, s, n);
        zy_strbuf_puts(&item, ", \"top_logprobs\": [");
        for (int k = 0; k < nb; k++) {
            size_t tn = 0;
            const char *ts = zy_tokenizer_token_bytes(m->tok, best[k], &tn);
            if (!ts) ts = "", tn = 0;
            zy_strbuf_puts(&item, k ? ", {\"token\": " : "{\"token\": ");
            zy_cli_json_string(&item, ts, tn);
            zy_strbuf_printf(&item, ", \"logprob\": %.7g, \"bytes\": ", logits[best[k]] - lse);
            json_bytes(&item, ts, tn);
            zy_strbuf_puts(&item, "}");
        }
        zy_strbuf_puts(&item, "]}");
        if (c->lp.n) zy_strbuf_puts(&c->lp, ", ");
        zy_strbuf_put(&c->lp, item.p, item.n);
        if (chunk) {
            zy_strbuf_puts(chunk, "{\"content\": [");
            zy_strbuf_put(chunk, item.p, item.n);
            zy_strbuf_puts(chunk, "]}");
        }
    } else {
        zy_strbuf *arr[4] = {&c->lp_tokens, &c->lp_values, &c->lp_top, &c->lp_offsets};
        zy_strbuf one[4] = {{0}};
        zy_cli_json_string(&one[0], s, n);
        zy_strbuf_printf(&one[1], "%.7g", logits[token] - lse);
        zy_strbuf_puts(&one[2], "{");
        for (int k = 0; k < nb; k++) {
            size_t tn = 0;
            const char *ts = zy_tokenizer_token_bytes(m->tok, best[k], &tn);
            if (!ts) ts = "", tn = 0;
            if (k) zy_strbuf_puts(&one[2], ", ");
            zy_cli_json_string(&one[2], ts, tn);
            zy_strbuf_printf(&one[2], ": %.7g", logits[best[k]] - lse);
        }
        zy_strbuf_puts(&one[2], "}");
        zy_strbuf_printf(&one[3], "%zu", offset);
        for (int a = 0; a < 4; a++) {
            if (arr[a]->n) zy_strbuf_puts(arr[a], ", ");
            zy_strbuf_put(arr[a], one[a].p, one[a].n);
        }
        if (chunk) {
            zy_strbuf_puts(chunk, "{\"tokens\": [");
            zy_strbuf_put(chunk, one[0].p, one[0].n);
            zy_strbuf_puts(chunk, "], \"token_logprobs\": [");
            zy_strbuf_put(chunk, one[1].p, one[1].n);
            zy_strbuf_puts(chunk, "], \"top_logprobs\": [");
            zy_strbuf_put(chunk, one[2].p, one[2].n);
            zy_strbuf_puts(chunk, "], \"text_offset\": [");
            zy_strbuf_put(chunk, one[3].p, one[3].n);
            zy_strbuf_puts(chunk, "]}");
        }
        for (int a = 0; a < 4; a++) zy_strbuf_free(&one[a]);
    }
    zy_strbuf_free(&item);
}

// A streamed chunk of choice c: the text it has put out since the last chunk, the token's
// logprobs (lp: NULL when not asked), the finish reason when it ended.
static void stream_chunk(serve_choice *c, const zy_strbuf *lp, const char *finish, bool role) {
    serve_job *j = c->job;
    zy_strbuf b = {0};
    response_head(j, true, &b);
    const char *t = c->text.text.p ? c->text.text.p + c->sent : "";
    size_t tn = c->text.text.n - c->sent;
    c->sent = c->text.text.n;
    zy_strbuf_printf(&b, "{\"index\": %d, ", c->index);
    if (j->gen->chat) {
        zy_strbuf_puts(&b, "\"delta\": {");
        if (role) zy_strbuf_puts(&b, "\"role\": \"assistant\", \"content\": \"\"");
        else if (!finish || tn) {
            zy_strbuf_puts(&b, "\"content\": ");
            zy_cli_json_string(&b, t, tn);
        }
        zy_strbuf_puts(&b, "}, ");
    } else {
        zy_strbuf_puts(&b, "\"text\": ");
        zy_cli_json_string(&b, t, tn);
        zy_strbuf_puts(&b, ", ");
    }
    zy_strbuf_puts(&b, "\"logprobs\": ");
    if (lp && lp->n) zy_strbuf_put(&b, lp->p, lp->n);
    else zy_strbuf_puts(&b, "null");
    zy_strbuf_puts(&b, ", \"finish_reason\": ");
    zy_strbuf_puts(&b, finish ? (finish[0] == 's' ? "\"stop\"" : "\"length\"") : "null");
    zy_strbuf_puts(&b, "}]}");
    send_event(j, &b);
    zy_strbuf_free(&b);
}

// The slot's on_token (engine thread): text, logprobs, a chunk when streaming. Non-zero
// stops the slot (a stop text, the client gone).
static int choice_token(int token, int i, void *user) {
    serve_choice *c = user;
    serve_job *j = c->job;
    serve_gen_request *g = j->gen;
    size_t offset = c->text.text.n + c->text.n_pending;
    int stop = zy_cli_stream_token(token, i, &c->text);
    c->n_tokens = i + 1;
    zy_strbuf lp = {0};
    if (g->logprobs >= 0) {
        const float *logits = zy_generator_logits(j->model->gen, c->slot);
        add_logprobs(c, token, logits, g->logprobs, offset, j->stream ? &lp : NULL);
    }
    if (j->stream && (c->text.text.n > c->sent || lp.n)) stream_chunk(c, &lp, NULL, false);
    zy_strbuf_free(&lp);
    return stop || atomic_load(&j->cancelled);
}

serve_job *serve_choice_job(const serve_choice *c) { return c->job; }
int serve_gen_choices(const serve_job *j) { return j->gen ? j->gen->n_choices : 0; }
int serve_gen_prompts(const serve_job *j) { return j->gen ? j->gen->n_prompts : 0; }

const int32_t *serve_gen_prompt(const serve_job *j, int i, int *n) {
    *n = j->gen && i >= 0 && i < j->gen->n_prompts ? j->gen->n_ids[i] : 0;
    return *n ? j->gen->ids[i] : NULL;
}

serve_choice *serve_gen_next_waiting(serve_job *j) {
    serve_gen_request *g = j->gen;
    return g && g->n_started < g->n_choices ? &g->choices[g->n_started] : NULL;
}

int serve_gen_start(serve_choice *c, int slot) {
    serve_job *j = c->job;
    serve_gen_request *g = j->gen;
    serve_model *m = j->model;
    g->n_started++;
    c->slot = slot;
    m->owner[slot] = c;
    m->busy++;
    zy_status st = zy_generator_start(m->gen, slot, g->ids[c->prompt], g->n_ids[c->prompt],
                                      &c->gp);
    if (st) { // answered as an error if nothing went out yet, else the choice just ends
        serve_error e;
        serve_fail(&e, 500, "server_error", NULL, NULL, "%s", zy_last_error());
        m->owner[slot] = NULL;
        m->busy--;
        c->slot = -1;
        c->ended = true;
        c->finish = "length";
        g->n_ended++;
        pthread_mutex_lock(&j->mu);
        bool first = !j->started;
        pthread_mutex_unlock(&j->mu);
        if (first) {
            serve_job_fail(j, &e);
            return -1;
        }
        if (g->n_ended == g->n_choices) finish_job(j);
        return -1;
    }
    pthread_mutex_lock(&j->mu);
    j->started = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    if (j->stream && g->chat) stream_chunk(c, NULL, NULL, true);
    // max_tokens 0: ended at once
    if (zy_generator_end(m->gen, slot) != ZY_GENERATE_RUNNING) serve_gen_choice_ended(c);
    return 0;
}

static void usage_json(serve_gen_request *g, zy_strbuf *b) {
    long made = 0;
    for (int i = 0; i < g->n_choices; i++) made += g->choices[i].n_tokens;
    zy_strbuf_printf(b, "\"usage\": {\"prompt_tokens\": %ld, \"completion_tokens\": %ld, "
                     "\"total_tokens\": %ld}", g->prompt_tokens, made, g->prompt_tokens + made);
}

// The whole response of a request that did not stream.
static void body_json(serve_job *j, zy_strbuf *b) {
    serve_gen_request *g = j->gen;
    response_head(j, false, b);
    for (int i = 0; i < g->n_choices; i++) {
        serve_choice *c = &g->choices[i];
        const char *t = c->text.text.p ? c->text.text.p : "";
        zy_strbuf_printf(b, "%s{\"index\": %d, ", i ? ", " : "", c->index);
        if (g->chat) {
            zy_strbuf_puts(b, "\"message\": {\"role\": \"assistant\", \"content\": ");
            zy_cli_json_string(b, t, c->text.text.n);
            zy_strbuf_puts(b, "}, \"logprobs\": ");
            if (g->logprobs >= 0) {
                zy_strbuf_puts(b, "{\"content\": [");
                if (c->lp.n) zy_strbuf_put(b, c->lp.p, c->lp.n);
                zy_strbuf_puts(b, "]}");
            } else {
                zy_strbuf_puts(b, "null");
            }
        } else {
            zy_strbuf_puts(b, "\"text\": ");
            zy_cli_json_string(b, t, c->text.text.n);
            zy_strbuf_puts(b, ", \"logprobs\": ");
            if (g->logprobs >= 0) {
                const char *names[4] = {"tokens", "token_logprobs", "top_logprobs",
                                        "text_offset"};
                zy_strbuf *arr[4] = {&c->lp_tokens, &c->lp_values, &c->lp_top, &c->lp_offsets};
                for (int a = 0; a < 4; a++) {
                    zy_strbuf_printf(b, "%s\"%s\": [", a ? ", " : "{", names[a]);
                    if (arr[a]->n) zy_strbuf_put(b, arr[a]->p, arr[a]->n);
                    zy_strbuf_puts(b, "]");
                }
                zy_strbuf_puts(b, "}");
            } else {
                zy_strbuf_puts(b, "null");
            }
        }
        zy_strbuf_printf(b, ", \"finish_reason\": \"%s\"}", c->finish ? c->finish : "length");
    }
    zy_strbuf_puts(b, "], ");
    usage_json(g, b);
    zy_strbuf_puts(b, "}\n");
}

static void finish_job(serve_job *j) {
    serve_gen_request *g = j->gen;
    long made = 0;
    for (int i = 0; i < g->n_choices; i++) made += g->choices[i].n_tokens;
    serve_metrics_tokens(&j->srv->metrics, (uint64_t)g->prompt_tokens, (uint64_t)made);
    if (j->stream) {
        if (g->include_usage) {
            zy_strbuf b = {0};
            response_head(j, true, &b);
            zy_strbuf_puts(&b, "], ");
            usage_json(g, &b);
            zy_strbuf_puts(&b, "}");
            send_event(j, &b);
            zy_strbuf_free(&b);
        }
        serve_job_append(j, "data: [DONE]\n\n", 14);
    } else {
        zy_strbuf b = {0};
        body_json(j, &b);
        if (b.oom) {
            serve_error e;
            serve_fail(&e, 500, "server_error", NULL, NULL, "out of memory for the response");
            zy_strbuf_free(&b);
            serve_job_fail(j, &e);
            return;
        }
        serve_job_append(j, b.p, b.n);
        zy_strbuf_free(&b);
    }
    serve_job_finish(j);
}

void serve_gen_choice_ended(serve_choice *c) {
    if (!c) return;
    serve_job *j = c->job;
    serve_gen_request *g = j->gen;
    serve_model *m = j->model;
    zy_generate_end end = zy_generator_end(m->gen, c->slot);
    zy_cli_stream_flush(&c->text); // what was held back: an unfinished character at the end
    c->finish = end == ZY_GENERATE_LENGTH ? "length" : "stop";
    if (m->owner[c->slot] == c) {
        m->owner[c->slot] = NULL;
        m->busy--;
    }
    c->slot = -1;
    c->ended = true;
    g->n_ended++;
    if (j->stream && !atomic_load(&j->cancelled)) stream_chunk(c, NULL, c->finish, false);
    if (g->n_ended == g->n_choices) finish_job(j);
}
