// Instruction files (instruct.h) through cJSON: one JSON object a line, either
// {"prompt", "completion", "system"?} or {"messages": [{"role", "content"}, ...]}, each
// made a conversation that owns its strings; the checks of both shapes and the accessors.
// Strings are as cJSON gives them: a "\u0000" escape ends a text there. Not here: the
// lines, their JSON and the row-error policy, which the task readers share
// (task_jsonl.c, task_data.c); the template and tokens (instruct_template.c), rows
// (instruct_rows.c).
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "data/instruct_internal.h"
#include "data/task_internal.h"
#include "io/safetensors.h"

typedef unsigned long long ull;

zy_instruct_read_params zy_instruct_read_default_params(void) {
    return (zy_instruct_read_params){.skip_bad_rows = false};
}

typedef struct line_ctx {
    zy_instruct_data *d;
    uint64_t line;
} line_ctx;

#define BAD(c, ...) bad_line(c, __VA_ARGS__)

static zy_status bad_line(const line_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static zy_status bad_line(const line_ctx *c, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: %s", c->d->name, (ull)c->line, msg);
}

// A message in the making: its role and text (pointing into the JSON).
typedef struct draft {
    zy_chat_role role;
    const char *s;
    size_t len;
} draft;

static zy_status check_text(const line_ctx *c, const char *field, const char *s, size_t len) {
    size_t bad = 0;
    if (!zy__utf8_valid(s, len, &bad))
        return BAD(c, "%s: invalid UTF-8 at byte %llu", field, (ull)bad);
    return ZY_STATUS_OK;
}

// The example made of drafts[0..n): one block holding the messages and their texts.
static zy_status add_example(const line_ctx *c, const draft *m, int n, bool pc) {
    zy_instruct_data *d = c->d;
    size_t bytes = (size_t)n * sizeof(zy_chat_message);
    for (int i = 0; i < n; i++) bytes += m[i].len + 1;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        zy_instruct_example *ex = zy_alloc(cap * sizeof *ex);
        if (!ex) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory for %llu "
                                  "examples", d->name, (ull)cap);
        if (d->n) memcpy(ex, d->ex, d->n * sizeof *ex);
        zy_free(d->ex);
        d->ex = ex;
        d->cap = cap;
    }
    zy_chat_message *msgs = zy_alloc(bytes);
    if (!msgs) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", d->name);
    char *p = (char *)(msgs + n);
    for (int i = 0; i < n; i++) {
        memcpy(p, m[i].s, m[i].len);
        p[m[i].len] = 0;
        msgs[i] = (zy_chat_message){.role = m[i].role, .content = p, .len = m[i].len};
        p += m[i].len + 1;
    }
    d->ex[d->n++] = (zy_instruct_example){.line = c->line, .prompt_completion = pc,
                                          .n_messages = n, .messages = msgs};
    return ZY_STATUS_OK;
}

static bool present(const cJSON *j) { return j && !cJSON_IsNull(j); }

static zy_status prompt_completion(const line_ctx *c, const cJSON *o) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "prompt");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "completion");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "system");
    if (!present(p) && !present(r))
        return BAD(c, "neither 'messages' nor 'prompt' and 'completion' (a line is "
                   "{\"prompt\": ..., \"completion\": ...} or {\"messages\": [...]})");
    if (!present(r))
        return BAD(c, "field 'completion' is missing (a line with 'prompt' needs the reply "
                   "to learn as 'completion')");
    if (!cJSON_IsString(r)) return BAD(c, "field 'completion' is not a string");
    if (!present(p)) return BAD(c, "field 'prompt' is missing (it goes with 'completion')");
    if (!cJSON_IsString(p)) return BAD(c, "field 'prompt' is not a string");
    if (present(s) && !cJSON_IsString(s)) return BAD(c, "field 'system' is not a string");
    draft m[3];
    int n = 0;
    if (present(s) && s->valuestring[0])
        m[n++] = (draft){ZY_CHAT_SYSTEM, s->valuestring, strlen(s->valuestring)};
    m[n++] = (draft){ZY_CHAT_USER, p->valuestring, strlen(p->valuestring)};
    m[n++] = (draft){ZY_CHAT_ASSISTANT, r->valuestring, strlen(r->valuestring)};
    if (!m[n - 1].len) return BAD(c, "field 'completion' is empty (a reply needs text)");
    static const char *const field[] = {"system", "prompt", "completion"};
    for (int i = 0; i < n; i++) {
        zy_status st = check_text(c, field[3 - n + i], m[i].s, m[i].len);
        if (st) return st;
    }
    return add_example(c, m, n, true);
}

static zy_status messages(const line_ctx *c, const cJSON *o, const cJSON *list) {
    if (present(cJSON_GetObjectItemCaseSensitive(o, "prompt")) ||
        present(cJSON_GetObjectItemCaseSensitive(o, "completion")))
        return BAD(c, "both 'messages' and 'prompt'/'completion' (one shape a line)");
    if (!cJSON_IsArray(list)) return BAD(c, "field 'messages' is not a list");
    int n = cJSON_GetArraySize(list);
    if (n == 0) return BAD(c, "field 'messages' is empty");
    draft *m = zy_alloc((size_t)n * sizeof *m);
    if (!m) return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", c->d->name);
    zy_status st = ZY_STATUS_OK;
    int i = 0, replies = 0;
    for (const cJSON *e = list->child; e && !st; e = e->next, i++) {
        bool obj = cJSON_IsObject(e);
        const cJSON *role = obj ? cJSON_GetObjectItemCaseSensitive(e, "role") : NULL;
        const cJSON *content = obj ? cJSON_GetObjectItemCaseSensitive(e, "content") : NULL;
        char field[48];
        snprintf(field, sizeof field, "messages[%d].content", i);
        if (!obj) {
            st = BAD(c, "messages[%d] is not an object", i);
        } else if (!cJSON_IsString(role)) {
            st = BAD(c, "messages[%d].role is missing or not a string", i);
        } else if (zy_chat_role_parse(role->valuestring, &m[i].role)) {
            zy_clear_error();
            st = BAD(c, "messages[%d].role '%.64s' is not system, user or assistant", i,
                     role->valuestring);
        } else if (!cJSON_IsString(content)) {
            st = BAD(c, "%s is missing or not a string", field);
        } else if (m[i].role == ZY_CHAT_SYSTEM && i > 0) {
            st = BAD(c, "messages[%d] is a system message; one may only come first", i);
        } else {
            m[i].s = content->valuestring;
            m[i].len = strlen(content->valuestring);
            st = check_text(c, field, m[i].s, m[i].len);
            if (!st && m[i].role == ZY_CHAT_ASSISTANT && !m[i].len)
                st = BAD(c, "%s is empty (a reply needs text)", field);
            replies += m[i].role == ZY_CHAT_ASSISTANT;
        }
    }
    if (!st && !replies)
        st = BAD(c, "field 'messages' has no assistant message (no reply to learn)");
    else if (!st && m[n - 1].role != ZY_CHAT_ASSISTANT)
        st = BAD(c, "the last message (messages[%d]) is a %s message; a conversation ends "
                 "with the assistant's reply", n - 1, zy_chat_role_name(m[n - 1].role));
    if (!st) st = add_example(c, m, n, false);
    zy_free(m);
    return st;
}

// A line, then its error, if any, as skip_bad_rows says (recorded and counted, or final).
static zy_status one_line(void *ctx, const char *s, size_t n, uint64_t line) {
    zy_instruct_data *d = ctx;
    line_ctx c = {d, line};
    cJSON *o;
    zy_status st = zy__jsonl_object(d->name, line, s, n, &o);
    if (!st) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(o, "messages");
        st = present(list) ? messages(&c, o, list) : prompt_completion(&c, o);
        cJSON_Delete(o);
    }
    return zy__read_row_error(&d->report, d->p.skip_bad_rows, st);
}

zy_status zy_instruct_data_read_buffer(zy_instruct_data **out, const char *name,
                                       const char *data, size_t len,
                                       const zy_instruct_read_params *p) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct data: nowhere to put it");
    *out = NULL;
    if (!p || !name || (!data && len))
        return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct data: no parameters, name or "
                         "data");
    zy_status st = zy__read_nonempty(name, data, len);
    if (st) return st;
    zy_instruct_data *d = zy_calloc(1, sizeof *d);
    if (!d || !(d->name = zy__strdup(name))) {
        zy_free(d);
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", name);
    }
    d->p = *p;
    st = zy__jsonl_each(data, len, one_line, d);
    if (!st && d->n == 0) st = zy__read_no_example(name, &d->report, "lines");
    if (st) {
        zy_instruct_data_free(d);
        return st;
    }
    d->report.n_examples = d->n;
    *out = d;
    return ZY_STATUS_OK;
}

zy_status zy_instruct_data_read(zy_instruct_data **out, const char *path,
                                const zy_instruct_read_params *p) {
    if (!out) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct data: nowhere to put it");
    *out = NULL;
    if (!path) return zy__error(ZY_STATUS_INVALID_ARGUMENT, "instruct data: no file");
    char *data = NULL;
    size_t len = 0;
    zy_status st = zy_file_read(path, &data, &len);
    if (st) return st;
    st = zy_instruct_data_read_buffer(out, path, data, len, p);
    zy_free(data);
    return st;
}

void zy_instruct_data_free(zy_instruct_data *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) zy_free((void *)d->ex[i].messages);
    zy_free(d->ex);
    zy_free(d->name);
    zy_free(d);
}

size_t zy_instruct_data_count(const zy_instruct_data *d) { return d ? d->n : 0; }

const zy_instruct_example *zy_instruct_data_example(const zy_instruct_data *d, size_t i) {
    return d && i < d->n ? &d->ex[i] : NULL;
}

const zy_task_read_report *zy_instruct_data_report(const zy_instruct_data *d) {
    return &d->report;
}
