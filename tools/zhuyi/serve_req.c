// Reading the fields of a `zhuyi serve` request, with their checks (serve.h), and the
// OpenAI-shaped errors that name a field at fault. Shared by every endpoint; nothing
// here runs a model or touches the network.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"
#include "textio.h"

static int verror(serve_error *e, int status, const char *type, const char *code,
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
    verror(e, status, type, code, param, fmt, ap);
    va_end(ap);
    return -1;
}

int serve_bad(serve_error *e, const char *param, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    verror(e, 400, "invalid_request_error", NULL, param, fmt, ap);
    va_end(ap);
    return -1;
}

void serve_error_json(zy_strbuf *b, const serve_error *e) {
    zy_strbuf_puts(b, "{\"error\":{\"message\":");
    zy_cli_json_string(b, e->message, strlen(e->message));
    zy_strbuf_puts(b, ",\"type\":");
    const char *type = e->type ? e->type : "server_error";
    zy_cli_json_string(b, type, strlen(type));
    zy_strbuf_puts(b, ",\"param\":");
    if (e->param[0]) zy_cli_json_string(b, e->param, strlen(e->param));
    else zy_strbuf_puts(b, "null");
    zy_strbuf_puts(b, ",\"code\":");
    if (e->code) zy_cli_json_string(b, e->code, strlen(e->code));
    else zy_strbuf_puts(b, "null");
    zy_strbuf_puts(b, "}}");
}

// body[name], or NULL when it is absent or null.
static const cJSON *field(const cJSON *body, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, name);
    return v && !cJSON_IsNull(v) ? v : NULL;
}

int serve_req_int(const cJSON *body, const char *name, long lo, long hi, int *out,
                  serve_error *e) {
    const cJSON *v = field(body, name);
    if (!v) return 0;
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || d != floor(d) || d < (double)lo || d > (double)hi)
        return serve_bad(e, name, "'%s' must be a whole number from %ld to %ld", name, lo, hi);
    *out = (int)d;
    return 0;
}

int serve_req_float(const cJSON *body, const char *name, double lo, double hi, float *out,
                    serve_error *e) {
    const cJSON *v = field(body, name);
    if (!v) return 0;
    double d = v->valuedouble;
    if (!cJSON_IsNumber(v) || !isfinite(d) || d < lo || d > hi)
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
    double d = v->valuedouble;
    // a double holds every whole number up to 2^53 exactly
    if (!cJSON_IsNumber(v) || d != floor(d) || d < 0 || d > 9007199254740992.0)
        return serve_bad(e, name, "'%s' must be a whole number from 0 to 2^53", name);
    *out = (uint64_t)d;
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
    const cJSON *v = field(body, name);
    if (!v) return serve_bad(e, name, "'%s' is required", name);
    int count = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 1;
    if (cJSON_IsArray(v) && (count < 1 || count > max))
        return serve_bad(e, name, "'%s' must hold 1 to %d strings (it holds %d)", name, max,
                         count);
    if (!cJSON_IsArray(v) && !cJSON_IsString(v))
        return serve_bad(e, name, "'%s' must be a string or an array of strings", name);
    const char **s = malloc((size_t)count * sizeof *s);
    if (!s) return serve_fail(e, 500, "server_error", NULL, name, "out of memory");
    if (cJSON_IsString(v)) {
        s[0] = v->valuestring;
    } else {
        int i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, v) {
            if (!cJSON_IsString(it) || !it->valuestring) {
                free(s);
                return serve_bad(e, name, "'%s'[%d] is not a string", name, i);
            }
            s[i++] = it->valuestring;
        }
    }
    *items = s;
    *n = count;
    if (was_array) *was_array = cJSON_IsArray(v);
    return 0;
}

cJSON *serve_req_parse(const char *body, size_t n, serve_error *e) {
    cJSON *j = cJSON_ParseWithLength(body, n);
    if (!j) {
        serve_bad(e, NULL, "the body is not JSON");
        return NULL;
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        serve_bad(e, NULL, "the body is not a JSON object");
        return NULL;
    }
    return j;
}
