// The chat template (instruct.h): the built-in "zhuyi-1", a conversation as pieces (one
// walk over the messages, used both to encode tokens with their reply flags and to render
// the text), and the record of a model's template in DIR/tokenizer_config.json. Training,
// `zhuyi generate` and `zhuyi chat` all go through zy_chat_encode, so they cannot disagree
// on where a piece starts. Not here: reading data (instruct_read.c), rows
// (instruct_rows.c).
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/internal.h"
#include "data/instruct_internal.h"

typedef unsigned long long ull;

// The Jinja form (Hugging Face's chat_template, rendered by transformers with trim_blocks
// and lstrip_blocks): the same text as zy_chat_render, eos_token being end_token.
#define ZHUYI_1_JINJA                                                                      \
    "{%- for message in messages -%}"                                                      \
    "{%- if message['role'] == 'system' -%}"                                               \
    "{%- if message['content'] -%}{{ message['content'] + '\\n\\n' }}{%- endif -%}"        \
    "{%- elif message['role'] == 'user' -%}"                                               \
    "{{ '### User:\\n' + message['content'] + '\\n\\n' }}"                                 \
    "{%- elif message['role'] == 'assistant' -%}"                                          \
    "{{ '### Assistant:\\n' + message['content'] + eos_token }}"                           \
    "{%- endif -%}"                                                                        \
    "{%- endfor -%}"                                                                       \
    "{%- if add_generation_prompt -%}{{ '### Assistant:\\n' }}{%- endif -%}"

static const zy_chat_template TEMPLATES[] = {{
    .name = "zhuyi-1",
    .system_suffix = "\n\n",
    .user_prefix = "### User:\n",
    .user_suffix = "\n\n",
    .assistant_prefix = "### Assistant:\n",
    .end_token = "<|endoftext|>",
    .stop = "### User:",
    .jinja = ZHUYI_1_JINJA,
}};

const zy_chat_template *zy_chat_template_default(void) { return &TEMPLATES[0]; }

const zy_chat_template *zy_chat_template_find(const char *name) {
    for (size_t i = 0; name && i < sizeof TEMPLATES / sizeof TEMPLATES[0]; i++)
        if (!strcmp(TEMPLATES[i].name, name)) return &TEMPLATES[i];
    return NULL;
}

static const char *const ROLES[] = {"system", "user", "assistant"};

const char *zy_chat_role_name(zy_chat_role r) {
    return (unsigned)r < 3 ? ROLES[r] : "unknown";
}

zy_status zy_chat_role_parse(const char *name, zy_chat_role *out) {
    for (int r = 0; name && r < 3; r++)
        if (!strcmp(name, ROLES[r])) {
            *out = (zy_chat_role)r;
            return ZY_STATUS_OK;
        }
    return zy__error(ZY_STATUS_NOT_FOUND, "unknown role '%s' (system, user, assistant)",
                     name ? name : "");
}

// ---- the pieces of a conversation ---------------------------------------------------------
// fn(ctx, text, len, end, scored): a piece of text, or (end) the end token.
typedef zy_status (*piece_fn)(void *ctx, const char *text, size_t len, bool end, bool scored);

static zy_status piece(piece_fn fn, void *ctx, const char *s, bool scored) {
    return fn(ctx, s, strlen(s), false, scored);
}

static zy_status walk(const zy_chat_template *t, const zy_chat_message *m, int n, bool gen,
                      piece_fn fn, void *ctx) {
    zy_status st = ZY_STATUS_OK;
    for (int i = 0; i < n && !st; i++) {
        switch (m[i].role) {
        case ZY_CHAT_SYSTEM:
            if (!m[i].len) break;
            if (!(st = fn(ctx, m[i].content, m[i].len, false, false)))
                st = piece(fn, ctx, t->system_suffix, false);
            break;
        case ZY_CHAT_USER:
            if (!(st = piece(fn, ctx, t->user_prefix, false)) &&
                !(st = fn(ctx, m[i].content, m[i].len, false, false)))
                st = piece(fn, ctx, t->user_suffix, false);
            break;
        case ZY_CHAT_ASSISTANT:
            if (!(st = piece(fn, ctx, t->assistant_prefix, false)) &&
                !(st = fn(ctx, m[i].content, m[i].len, false, true)))
                st = fn(ctx, NULL, 0, true, true);
            break;
        default:
            st = zy__error(ZY_STATUS_INVALID_ARGUMENT, "chat template: message %d has role "
                           "%d (system, user or assistant)", i, (int)m[i].role);
        }
    }
    if (!st && gen) st = piece(fn, ctx, t->assistant_prefix, false);
    return st;
}

// ---- tokens -------------------------------------------------------------------------------
void zy_chat_tokens_init(zy_chat_tokens *t) { memset(t, 0, sizeof *t); }

void zy_chat_tokens_destroy(zy_chat_tokens *t) {
    zy_free(t->ids);
    zy_free(t->scored);
    memset(t, 0, sizeof *t);
}

zy_status zy__tokens_reserve(int32_t **ids, uint8_t **scored, size_t n, size_t *cap,
                             size_t more, size_t first, const char *what) {
    if (more <= *cap - n) return ZY_STATUS_OK;
    size_t c = *cap ? *cap : first;
    while (c - n < more) {
        if (c > SIZE_MAX / 8)
            return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: too many tokens", what);
        c *= 2;
    }
    int32_t *a = zy_alloc(c * sizeof *a);
    uint8_t *b = zy_alloc(c);
    if (!a || !b) {
        zy_free(a);
        zy_free(b);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for %llu tokens", what,
                         (ull)c);
    }
    if (n) {
        memcpy(a, *ids, n * sizeof *a);
        memcpy(b, *scored, n);
    }
    zy_free(*ids);
    zy_free(*scored);
    *ids = a;
    *scored = b;
    *cap = c;
    return ZY_STATUS_OK;
}

// Room for `more` tokens after the current ones.
static zy_status reserve(zy_chat_tokens *t, size_t more) {
    return zy__tokens_reserve(&t->ids, &t->scored, t->n, &t->cap, more, 64, "chat tokens");
}

typedef struct enc_ctx {
    zy_tokenizer *tok;
    int32_t end_id;
    zy_chat_tokens *out;
} enc_ctx;

static zy_status enc_piece(void *ctx, const char *s, size_t len, bool end, bool scored) {
    enc_ctx *c = ctx;
    zy_chat_tokens *o = c->out;
    // Every token covers at least one byte: len (+1 for the end token) is enough room.
    zy_status st = reserve(o, len + 1);
    if (st) return st;
    size_t n = 0;
    if (end) {
        o->ids[o->n] = c->end_id;
        n = 1;
    } else if (len && (st = zy_tokenizer_encode(c->tok, s, len, 0, o->ids + o->n, o->cap - o->n,
                                                &n))) {
        return st;
    }
    memset(o->scored + o->n, scored ? 1 : 0, n);
    o->n += n;
    return ZY_STATUS_OK;
}

static zy_status end_id(const zy_chat_template *t, const zy_tokenizer *tok, int32_t *id) {
    int e = zy_tokenizer_find(tok, t->end_token, strlen(t->end_token));
    if (e < 0)
        return zy__error(ZY_STATUS_NOT_FOUND, "the tokenizer has no %s token, which closes "
                         "each reply in the chat template %s", t->end_token, t->name);
    *id = e;
    return ZY_STATUS_OK;
}

zy_status zy_chat_encode(const zy_chat_template *t, zy_tokenizer *tok,
                         const zy_chat_message *messages, int n, bool generation_prompt,
                         zy_chat_tokens *out) {
    if (!t || !tok || !out || n < 0 || (n && !messages))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "chat encode: NULL template, tokenizer, "
                         "output or messages");
    enc_ctx c = {.tok = tok, .out = out};
    zy_status st = end_id(t, tok, &c.end_id);
    size_t n0 = out->n;
    if (!st) st = walk(t, messages, n, generation_prompt, enc_piece, &c);
    if (st) out->n = n0; // nothing appended on error
    return st;
}

// ---- text ---------------------------------------------------------------------------------
typedef struct text_ctx {
    const zy_chat_template *t;
    char *p;
    size_t n, cap;
} text_ctx;

static zy_status text_piece(void *ctx, const char *s, size_t len, bool end, bool scored) {
    (void)scored;
    text_ctx *c = ctx;
    if (end) s = c->t->end_token, len = strlen(s);
    if (len + 1 > c->cap - c->n) {
        size_t cap = c->cap ? c->cap : 256;
        while (len + 1 > cap - c->n) {
            if (cap > SIZE_MAX / 4) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "chat render: too long");
            cap *= 2;
        }
        char *p = zy_alloc(cap);
        if (!p) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "chat render: out of memory");
        if (c->n) memcpy(p, c->p, c->n);
        zy_free(c->p);
        c->p = p;
        c->cap = cap;
    }
    memcpy(c->p + c->n, s, len);
    c->n += len;
    c->p[c->n] = 0;
    return ZY_STATUS_OK;
}

zy_status zy_chat_render(const zy_chat_template *t, const zy_chat_message *messages, int n,
                         bool generation_prompt, char **text, size_t *len) {
    if (!t || !text || n < 0 || (n && !messages))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "chat render: NULL template, output or "
                         "messages");
    *text = NULL;
    text_ctx c = {.t = t};
    zy_status st = text_piece(&c, "", 0, false, false); // an empty text is "" too
    if (!st) st = walk(t, messages, n, generation_prompt, text_piece, &c);
    if (st) {
        zy_free(c.p);
        return st;
    }
    *text = c.p;
    if (len) *len = c.n;
    return ZY_STATUS_OK;
}

// ---- the record in tokenizer_config.json -------------------------------------------------
#define CONFIG_KEY "zhuyi_chat_template"

static zy_status config_path(char *buf, size_t cap, const char *dir) {
    if (!dir) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "chat template: no directory");
    if ((size_t)snprintf(buf, cap, "%s/tokenizer_config.json", dir) >= cap)
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "%s: path too long", dir);
    return ZY_STATUS_OK;
}

// The file's JSON object (NULL + OK when there is no file).
static zy_status read_config(const char *path, cJSON **out) {
    *out = NULL;
    if (access(path, F_OK) != 0 && errno == ENOENT) return ZY_STATUS_OK;
    char *data;
    size_t len;
    zy_status st = zy_file_read(path, &data, &len);
    if (st) return st;
    errno = 0;
    cJSON *j = cJSON_ParseWithLength(data, len);
    zy_free(data);
    if (!j && errno == ENOMEM)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory parsing JSON", path);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s: not a JSON object", path);
    }
    *out = j;
    return ZY_STATUS_OK;
}

// key = value, replacing a value there (deleted and added: cJSON's replace does not say
// when copying the key runs out of memory).
static bool set_string(cJSON *o, const char *key, const char *value) {
    cJSON *s = cJSON_CreateString(value);
    if (!s) return false;
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    if (!cJSON_AddItemToObject(o, key, s)) {
        cJSON_Delete(s);
        return false;
    }
    return true;
}

zy_status zy_chat_template_save(const zy_chat_template *t, const char *dir) {
    char path[4200];
    zy_status st = config_path(path, sizeof path, dir);
    if (st) return st;
    if (!t) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "chat template: none to save");
    cJSON *o = NULL;
    if ((st = read_config(path, &o))) return st;
    if (!o && !(o = cJSON_CreateObject()))
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    bool ok = set_string(o, CONFIG_KEY, t->name) && set_string(o, "chat_template", t->jinja) &&
              (cJSON_GetObjectItemCaseSensitive(o, "eos_token") || set_string(o, "eos_token", t->end_token));
    char *text = ok ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!text) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path);
    size_t n = strlen(text);
    text[n] = '\n'; // cJSON_Print ends with the NUL: a newline in its place, written n + 1
    st = zy_file_write_atomic(path, text, n + 1);
    cJSON_free(text);
    return st;
}

zy_status zy_chat_template_load(const char *dir, const zy_chat_template **out) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "chat template: nowhere to put it");
    *out = NULL;
    char path[4200];
    zy_status st = config_path(path, sizeof path, dir);
    cJSON *o = NULL;
    if (st || (st = read_config(path, &o)) || !o) return st;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, CONFIG_KEY);
    if (name && !cJSON_IsNull(name)) {
        if (!cJSON_IsString(name))
            st = zy__error(ZY_STATUS_BAD_FORMAT, "%s: %s is not a string", path, CONFIG_KEY);
        else if (!(*out = zy_chat_template_find(name->valuestring)))
            st = zy__error(ZY_STATUS_UNSUPPORTED, "%s: %s '%s' is not a template this zhuyi "
                           "knows (%s)", path, CONFIG_KEY, name->valuestring,
                           zy_chat_template_default()->name);
    }
    cJSON_Delete(o);
    return st;
}
