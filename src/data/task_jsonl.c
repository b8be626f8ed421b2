// JSON-lines fine-tuning files (task.h) through cJSON: one object a line, blank lines
// skipped. classify: {"text": s, "text_pair"-or-named: s, "label": s | number | [s ...]};
// tag: {"tokens": [s ...], "tags": [s | number ...]}; qa (SQuAD as the datasets library
// writes it): {"id": s | number, "context": s, "question": s, "answers": {"text": [s ...],
// "answer_start": [n ...]}} (a list of {"text", "answer_start"} objects is read too).
// A number used as a label name is spelled as an integer when it is one ("1", "-1"), else
// with %.17g. The lines and their JSON objects (zy__jsonl_each, zy__jsonl_object) serve
// the instruction reader too (instruct_read.c). Not here: a file holding one JSON array or
// object (not JSON lines).
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/internal.h"
#include "data/task_internal.h"

typedef unsigned long long ull;

typedef struct line_ctx {
    zy_task_data *d;
    uint64_t line;
} line_ctx;

static zy_status need(const line_ctx *c, const char *key, const char *what) {
    return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: field '%s' is missing or not %s",
                     c->d->name, (ull)c->line, key, what);
}

// A label name from a JSON string or number (buf: room for a number's spelling).
static bool name_of(const cJSON *j, char *buf, size_t cap, const char **s, size_t *n) {
    if (cJSON_IsString(j)) {
        *s = j->valuestring;
        *n = strlen(j->valuestring);
        return true;
    }
    if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble)) return false;
    double v = j->valuedouble;
    if (v == floor(v) && fabs(v) < 1e15) snprintf(buf, cap, "%lld", (long long)v);
    else snprintf(buf, cap, "%.17g", v);
    *s = buf;
    *n = strlen(buf);
    return true;
}

static zy_status text_field(const line_ctx *c, const cJSON *o, const char *key,
                            const char **dst, size_t *len) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(j)) return need(c, key, "a string");
    return zy__task_text(c->d, c->line, key, j->valuestring, strlen(j->valuestring), dst, len);
}

// A list of names (strings or numbers) -> names/lens arrays (zy_alloc'd, names pointing
// into the JSON or into nums, which holds 32 bytes per element).
static zy_status name_list(const line_ctx *c, const cJSON *a, const char *key,
                           const char ***names, size_t **lens, char **nums, int *n) {
    *names = NULL;
    *lens = NULL;
    *nums = NULL;
    *n = cJSON_GetArraySize(a);
    size_t m = (size_t)*n + 1;
    *names = zy_alloc(m * sizeof **names);
    *lens = zy_alloc(m * sizeof **lens);
    *nums = zy_alloc(m * 32);
    if (!*names || !*lens || !*nums)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", c->d->name);
    int i = 0;
    for (const cJSON *j = a->child; j; j = j->next, i++)
        if (!name_of(j, *nums + (size_t)i * 32, 32, &(*names)[i], &(*lens)[i]))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: %s[%d] is not a string or a "
                             "number", c->d->name, (ull)c->line, key, i);
    return ZY_STATUS_OK;
}

static void free_list(const char **names, size_t *lens, char *nums) {
    zy_free(names);
    zy_free(lens);
    zy_free(nums);
}

static zy_status classify(const line_ctx *c, const cJSON *o, zy_task_example *e) {
    zy_task_data *d = c->d;
    const zy_task_read_params *p = &d->p;
    zy_status st = text_field(c, o, p->text_column, &e->text, &e->text_len);
    if (!st && p->text_pair_column)
        st = text_field(c, o, p->text_pair_column, &e->pair, &e->pair_len);
    if (st) return st;
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, p->label_column);
    if (!l || cJSON_IsNull(l)) return zy__task_label(d, e, p->label_column, "", 0);
    if (cJSON_IsArray(l)) {
        if (d->problem != ZY_PROBLEM_MULTI_LABEL)
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: '%s' is a list (several labels "
                             "need multi-label classification)", d->name, (ull)c->line,
                             p->label_column);
        const char **names;
        size_t *lens;
        char *nums;
        int n;
        st = name_list(c, l, p->label_column, &names, &lens, &nums, &n);
        if (!st) st = zy__task_label_list(d, e, p->label_column, names, lens, n);
        free_list(names, lens, nums);
        return st;
    }
    if (d->problem == ZY_PROBLEM_REGRESSION && cJSON_IsNumber(l))
        return zy__task_label_value(d, e, p->label_column, l->valuedouble);
    char buf[32];
    const char *s;
    size_t n;
    if (!name_of(l, buf, sizeof buf, &s, &n)) return need(c, p->label_column, "a label");
    return zy__task_label(d, e, p->label_column, s, n);
}

static zy_status tag(const line_ctx *c, const cJSON *o, zy_task_example *e) {
    zy_task_data *d = c->d;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, d->p.tokens_key);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, d->p.tags_key);
    if (!cJSON_IsArray(w)) return need(c, d->p.tokens_key, "a list");
    if (t && !cJSON_IsNull(t) && !cJSON_IsArray(t)) return need(c, d->p.tags_key, "a list");
    const char **wn = NULL, **tn = NULL;
    size_t *wl = NULL, *tl = NULL;
    char *wb = NULL, *tb = NULL;
    int nw = 0, nt = 0;
    zy_status st = name_list(c, w, d->p.tokens_key, &wn, &wl, &wb, &nw);
    if (!st && cJSON_IsArray(t)) st = name_list(c, t, d->p.tags_key, &tn, &tl, &tb, &nt);
    if (!st) st = zy__task_words(d, e, wn, wl, cJSON_IsArray(t) ? tn : NULL, tl, nw, nt);
    free_list(wn, wl, wb);
    free_list(tn, tl, tb);
    return st;
}

// answers: {"text": [...], "answer_start": [...]} or [{"text", "answer_start"}, ...].
static zy_status qa_answers(const line_ctx *c, const cJSON *a, zy_task_example *e) {
    int n = 0;
    const cJSON *texts = NULL, *starts = NULL;
    if (cJSON_IsObject(a)) {
        texts = cJSON_GetObjectItemCaseSensitive(a, "text");
        starts = cJSON_GetObjectItemCaseSensitive(a, "answer_start");
        if (!cJSON_IsArray(texts) || !cJSON_IsArray(starts) ||
            cJSON_GetArraySize(texts) != cJSON_GetArraySize(starts))
            return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: answers needs lists 'text' and "
                             "'answer_start' of one length", c->d->name, (ull)c->line);
        n = cJSON_GetArraySize(texts);
    } else if (cJSON_IsArray(a)) {
        n = cJSON_GetArraySize(a);
    } else {
        return need(c, "answers", "an object or a list");
    }
    size_t m = (size_t)n + 1;
    const char **tx = zy_alloc(m * sizeof *tx);
    size_t *tl = zy_alloc(m * sizeof *tl);
    double *sv = zy_alloc(m * sizeof *sv);
    zy_status st = ZY_STATUS_OK;
    if (!tx || !tl || !sv) {
        st = zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", c->d->name);
        goto done;
    }
    const cJSON *jt = texts ? texts->child : a->child, *js = starts ? starts->child : NULL;
    for (int i = 0; i < n; i++) {
        const cJSON *t = jt, *s = js;
        if (!texts) { // a list of objects
            t = cJSON_GetObjectItemCaseSensitive(jt, "text");
            s = cJSON_GetObjectItemCaseSensitive(jt, "answer_start");
        }
        if (!cJSON_IsString(t) || !cJSON_IsNumber(s)) {
            st = zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: answer %d needs a string text and "
                           "a number answer_start", c->d->name, (ull)c->line, i + 1);
            goto done;
        }
        tx[i] = t->valuestring;
        tl[i] = strlen(t->valuestring);
        sv[i] = s->valuedouble;
        jt = jt->next;
        if (js) js = js->next;
    }
    st = zy__task_answers(c->d, e, tx, tl, sv, n);
done:
    zy_free(tx);
    zy_free(tl);
    zy_free(sv);
    return st;
}

static zy_status qa(const line_ctx *c, const cJSON *o, zy_task_example *e) {
    zy_status st = text_field(c, o, "context", &e->text, &e->text_len);
    if (!st) st = text_field(c, o, "question", &e->pair, &e->pair_len);
    if (st) return st;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    char buf[32];
    const char *s;
    size_t n;
    if (id && name_of(id, buf, sizeof buf, &s, &n) &&
        (st = zy__task_text(c->d, c->line, "id", s, n, &e->id, NULL)))
        return st;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "answers");
    if (!a || cJSON_IsNull(a)) {
        if (!c->d->p.require_labels) return ZY_STATUS_OK;
        return need(c, "answers", "an object");
    }
    return qa_answers(c, a, e);
}

zy_status zy__jsonl_object(const char *name, uint64_t line, const char *s, size_t n,
                           cJSON **out) {
    const char *end = NULL;
    *out = NULL;
    errno = 0; // cJSON allocates with malloc, which sets ENOMEM when it fails
    cJSON *o = cJSON_ParseWithLengthOpts(s, n, &end, 0);
    if (!o && errno == ENOMEM)
        return zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory parsing JSON", name);
    if (!o) {
        size_t col = end && end >= s && end <= s + n ? (size_t)(end - s) + 1 : 1;
        return zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: not valid JSON (column %llu)", name,
                         (ull)line, (ull)col);
    }
    zy_status st = ZY_STATUS_OK;
    size_t tail = end && end >= s && end <= s + n ? (size_t)(end - s) : n;
    while (tail < n && (s[tail] == ' ' || s[tail] == '\t' || s[tail] == '\r')) tail++;
    if (tail < n)
        st = zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: text after the JSON value (column "
                       "%llu)", name, (ull)line, (ull)tail + 1);
    else if (!cJSON_IsObject(o))
        st = zy__error(ZY_STATUS_BAD_FORMAT, "%s:%llu: not a JSON object", name, (ull)line);
    if (st) cJSON_Delete(o);
    else *out = o;
    return st;
}

zy_status zy__jsonl_each(const char *data, size_t len,
                         zy_status (*one)(void *ctx, const char *s, size_t n, uint64_t line),
                         void *ctx) {
    uint64_t line = 0;
    size_t i = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) i = 3;
    while (i < len) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t m = nl ? (size_t)(nl - (data + i)) : len - i;
        line++;
        size_t k = 0;
        while (k < m && (data[i + k] == ' ' || data[i + k] == '\t' || data[i + k] == '\r')) k++;
        if (k < m) {
            zy_status st = one(ctx, data + i, m, line);
            if (st) return st;
        }
        i += m + 1;
    }
    return ZY_STATUS_OK;
}

static zy_status one_line(void *ctx, const char *s, size_t n, uint64_t line) {
    zy_task_data *d = ctx;
    cJSON *o;
    zy_status st = zy__jsonl_object(d->name, line, s, n, &o);
    if (!st) {
        line_ctx c = {d, line};
        zy_task_example *e = zy__task_begin(d, line);
        if (!e) {
            st = ZY_STATUS_OUT_OF_MEMORY;
        } else {
            st = d->task == ZY_TASK_CLASSIFY ? classify(&c, o, e)
                 : d->task == ZY_TASK_TAG    ? tag(&c, o, e)
                                             : qa(&c, o, e);
            if (st) zy__task_drop(d);
        }
        cJSON_Delete(o);
    }
    return zy__task_row_error(d, st);
}

zy_status zy__task_read_jsonl(zy_task_data *d, const char *data, size_t len) {
    return zy__jsonl_each(data, len, one_line, d);
}
