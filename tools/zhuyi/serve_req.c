// Reading the fields of `zhuyi serve`'s requests with their checks, and errors in the
// OpenAI API's shape (serve.h). Shared by every endpoint; fuzz/fuzz_serve_request.c runs
// request bodies through it.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "serve.h"
#include "textio.h"

static int vfail(serve_error *e, int status, const char *type, const char *code,
                 const char *param, const char *fmt, va_list ap) {
    e->status = status;
    e->type = type;
    e->code = code;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    return -1;
}

int serve_fail(serve_error *e, int status, const char *type, const char *code,
               const char *param, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(e, status, type, code, param, fmt, ap);
    va_end(ap);
    return -1;
}

int serve_bad(serve_error *e, const char *param, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfail(e, 400, "invalid_request_error", NULL, param, fmt, ap);
    va_end(ap);
    return -1;
}

void serve_error_json(zy_strbuf *b, const serve_error *e) {
    zy_strbuf_puts(b, "{\"error\": {\"message\": ");
    zy_cli_json_string(b, e->message, strlen(e->message));
    zy_strbuf_printf(b, ", \"type\": \"%s\", \"param\": ", e->type ? e->type : "server_error");
    if (e->param[0]) zy_cli_json_string(b, e->param, strlen(e->param));
    else zy_strbuf_puts(b, "null");
    zy_strbuf_puts(b, ", \"code\": ");
    if (e->code) zy_strbuf_printf(b, "\"%s\"", e->code);
    else zy_strbuf_puts(b, "null");
    zy_strbuf_puts(b, "}}\n");
}

static int by_key(const void *a, const void *b) {
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

// The first key any object in j holds twice (NULL: none), sorted per object; *oom on
// running out of memory.
static const char *duplicate_key(const cJSON *j, bool *oom) {
    size_t n = 0;
    for (const cJSON *c = j->child; c; c = c->next) {
        const char *d = cJSON_IsObject(c) || cJSON_IsArray(c) ? duplicate_key(c, oom) : NULL;
        if (d || *oom) return d;
        n++;
    }
    if (!cJSON_IsObject(j) || n < 2) return NULL;
    const cJSON **v = malloc(n * sizeof *v);
    if (!v) return *oom = true, NULL;
    size_t k = 0;
    for (const cJSON *c = j->child; c; c = c->next) v[k++] = c;
    qsort(v, n, sizeof *v, by_key);
    const char *d = NULL;
    for (size_t i = 1; i < n && !d; i++)
        if (!strcmp(v[i - 1]->string, v[i]->string)) d = v[i]->string;
    free(v);
    return d;
}

cJSON *serve_req_parse(const char *body, size_t n, serve_error *e) {
    if (!n) return serve_bad(e, NULL, "the request body is empty; a JSON object was expected"),
                  NULL;
    // JSON text is UTF-8 (RFC 8259); a body that is not is refused rather than guessed at.
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)body + i,
                                              (utf8proc_ssize_t)(n - i), &cp);
        if (k < 1)
            return serve_bad(e, NULL, "the request body is not valid UTF-8 (byte %zu)", i), NULL;
        i += (size_t)k;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(body, n, &end, false);
    if (!j) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        serve_bad(e, NULL, "the request body is not valid JSON (near byte %zu)", at);
        return NULL;
    }
    // Only white space may follow the object.
    for (const char *p = end; p && p < body + n; p++)
        if (!strchr(" \t\r\n", *p)) {
            cJSON_Delete(j);
            serve_bad(e, NULL, "the request body has bytes after its JSON object (byte %zu)",
                      (size_t)(p - body));
            return NULL;
        }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        serve_bad(e, NULL, "the request body is JSON but not an object");
        return NULL;
    }
    // A field given twice would be read as either; refused instead.
    bool oom = false;
    const char *dup = duplicate_key(j, &oom);
    if (dup || oom) {
        if (oom) serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        else serve_bad(e, dup, "the request gives the field '%s' twice", dup);
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static const cJSON *field(const cJSON *body, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

int serve_req_int(const cJSON *body, const char *name, long lo, long hi, int *out,
                  serve_error *e) {
    const cJSON *v = field(body, name);
    if (!v) return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= (double)lo && d <= (double)hi) || d != floor(d))
        return serve_bad(e, name, "'%s' must be an integer from %ld to %ld", name, lo, hi);
    *out = (int)d;
    return 0;
}

int serve_req_float(const cJSON *body, const char *name, double lo, double hi, float *out,
                    serve_error *e) {
    const cJSON *v = field(body, name);
    if (!v) return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d >= lo && d <= hi))
        return serve_bad(e, name, "'%s' must be a number from %g to %g", name, lo, hi);
    *out = (float)d;
    return 0;
}

int serve_req_bool(const cJSON *body, const char *name, bool *out, serve_error *e) {
    const cJSON *v = field(body, name);
    if (!v) return 0;
    if (!cJSON_IsBool(v)) return serve_bad(e, name, "'%s' must be true or false", name);
    *out = cJSON_IsTrue(v);
    return 0;
}

int serve_req_u64(const cJSON *body, const char *name, uint64_t *out, bool *given,
                  serve_error *e) {
    const cJSON *v = field(body, name);
    if (!v) return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    // JSON numbers are doubles here: integers up to 2^53 are exact.
    if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != floor(d))
        return serve_bad(e, name, "'%s' must be an integer of at most 2^53 in magnitude",
                         name);
    *out = (uint64_t)(int64_t)d;
    if (given) *given = true;
    return 0;
}

int serve_req_string(const cJSON *body, const char *name, bool required, const char **out,
                     serve_error *e) {
    const cJSON *v = field(body, name);
    if (!v) return required ? serve_bad(e, name, "'%s' is required", name) : 0;
    if (!cJSON_IsString(v) || !v->valuestring)
        return serve_bad(e, name, "'%s' must be a string", name);
    *out = v->valuestring;
    return 0;
}

int serve_req_strings(const cJSON *body, const char *name, int max, const char ***items,
                      int *n, bool *was_array, serve_error *e) {
    *items = NULL;
    *n = 0;
    if (was_array) *was_array = false;
    const cJSON *v = field(body, name);
    if (!v) return serve_bad(e, name, "'%s' is required", name);
    if (cJSON_IsString(v)) {
        const char **a = malloc(sizeof *a);
        if (!a) return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
        a[0] = v->valuestring;
        *items = a;
        *n = 1;
        return 0;
    }
    if (!cJSON_IsArray(v))
        return serve_bad(e, name, "'%s' must be a string or an array of strings", name);
    int k = cJSON_GetArraySize(v);
    if (k < 1 || k > max)
        return serve_bad(e, name, "'%s' must hold 1 to %d strings (it holds %d)", name, max, k);
    const char **a = malloc((size_t)k * sizeof *a);
    if (!a) return serve_fail(e, 500, "server_error", NULL, NULL, "out of memory");
    int i = 0;
    for (const cJSON *x = v->child; x; x = x->next, i++) {
        if (!cJSON_IsString(x)) {
            free(a);
            return serve_bad(e, name, "'%s'[%d] is not a string", name, i);
        }
        a[i] = x->valuestring;
    }
    *items = a;
    *n = k;
    if (was_array) *was_array = true;
    return 0;
}
