// zy_config_save: config.json's text exactly as Hugging Face writes it
// (PretrainedConfig.to_json_file: json.dumps(d, indent=2, sort_keys=True) + "\n"), so a
// config that went through zhuyi diffs cleanly against one from transformers. Not the
// parser (config.c).
//
// The rules of Python's json module with those arguments: keys sorted at every level
// (UTF-8 byte order is code point order, Python's string order), two-space indent,
// "key": value, "," at line ends, empty arrays/objects as [] and {}; strings ASCII-only
// (ensure_ascii): \" \\ \n \r \t \b \f, other characters outside space..~ as \u00XX or
// \uXXXX, a surrogate pair above U+FFFF. Numbers: whole numbers without a fraction (as
// Python writes an int), others as the shortest decimal that reads back to the same
// double (Python's float repr, e.g. 1e-05, 0.02). One difference remains: Python writes a
// float that happens to be whole as 2.0, zhuyi as 2 (cJSON keeps no int/float
// distinction); both read back the same.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "io/config_internal.h"

typedef struct text {
    char *p;
    size_t n, cap;
    bool oom; // sticky: set by the first failed allocation
} text;

static void put(text *b, const char *s, size_t n) {
    if (b->oom) return;
    if (n > b->cap - b->n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->n < n) cap *= 2;
        char *q = zy_alloc(cap);
        if (!q) {
            b->oom = true;
            return;
        }
        if (b->n) memcpy(q, b->p, b->n);
        zy_free(b->p);
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void puts_(text *b, const char *s) { put(b, s, strlen(s)); }

static void indent(text *b, int depth) {
    for (int i = 0; i < depth; i++) put(b, "  ", 2);
}

// s is valid UTF-8 (the parser and the setters check).
static void put_string(text *b, const char *s) {
    const unsigned char *u = (const unsigned char *)s;
    char e[16];
    put(b, "\"", 1);
    while (*u) {
        size_t run = 0;
        while (u[run] >= 0x20 && u[run] < 0x7f && u[run] != '"' && u[run] != '\\') run++;
        put(b, (const char *)u, run);
        u += run;
        if (!*u) break;
        unsigned c = *u, cp;
        const char *simple = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                           : c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\b' ? "\\b"
                           : c == '\f' ? "\\f" : NULL;
        if (simple) {
            puts_(b, simple);
            u++;
            continue;
        }
        if (c < 0x80) cp = c, u += 1;
        else if (c < 0xE0) cp = (c & 0x1Fu) << 6 | (u[1] & 0x3Fu), u += 2;
        else if (c < 0xF0) cp = (c & 0x0Fu) << 12 | (u[1] & 0x3Fu) << 6 | (u[2] & 0x3Fu), u += 3;
        else
            cp = (c & 0x07u) << 18 | (u[1] & 0x3Fu) << 12 | (u[2] & 0x3Fu) << 6 | (u[3] & 0x3Fu),
            u += 4;
        if (cp > 0xFFFF) {
            cp -= 0x10000;
            snprintf(e, sizeof e, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
        } else {
            snprintf(e, sizeof e, "\\u%04x", cp);
        }
        puts_(b, e);
    }
    put(b, "\"", 1);
}

static void put_number(text *b, double d) {
    char buf[40];
    if (!isfinite(d)) { // never stored (parser and setters refuse them); JSON has no NaN
        snprintf(buf, sizeof buf, "null");
    } else if (d == floor(d) && fabs(d) < 1e17) {
        snprintf(buf, sizeof buf, "%.0f", d);
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, d);
            if (strtod(buf, NULL) == d) break;
        }
    }
    puts_(b, buf);
}

static int cmp_key(const void *a, const void *b) {
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

// v at nesting depth `depth` (its first line is already indented). cJSON limits nesting
// (CJSON_NESTING_LIMIT), which bounds the recursion.
static void put_value(text *b, const cJSON *v, int depth) {
    bool object = cJSON_IsObject(v);
    size_t n = 0;
    if (object || cJSON_IsArray(v))
        for (const cJSON *e = v->child; e; e = e->next) n++;
    if (cJSON_IsString(v)) put_string(b, v->valuestring);
    else if (cJSON_IsNumber(v)) put_number(b, v->valuedouble);
    else if (cJSON_IsBool(v)) puts_(b, cJSON_IsTrue(v) ? "true" : "false");
    else if (!object && !cJSON_IsArray(v)) puts_(b, "null");
    else if (n == 0) puts_(b, object ? "{}" : "[]");
    if (n == 0) return;
    const cJSON **items = zy_alloc(n * sizeof *items);
    if (!items) {
        b->oom = true;
        return;
    }
    n = 0;
    for (const cJSON *e = v->child; e; e = e->next) items[n++] = e;
    if (object) qsort(items, n, sizeof *items, cmp_key);
    puts_(b, object ? "{\n" : "[\n");
    for (size_t i = 0; i < n; i++) {
        indent(b, depth + 1);
        if (object) {
            put_string(b, items[i]->string);
            put(b, ": ", 2);
        }
        put_value(b, items[i], depth + 1);
        puts_(b, i + 1 < n ? ",\n" : "\n");
    }
    indent(b, depth);
    puts_(b, object ? "}" : "]");
    zy_free(items);
}

zy_status zy_config_save(const zy_config *c, const char *path) {
    text b = {0};
    put_value(&b, c->root, 0);
    put(&b, "\n", 1);
    zy_status s = b.oom ? zy__error(ZY_STATUS_OUT_OF_MEMORY, "%s: out of memory", path)
                        : zy_file_write_atomic(path, b.p, b.n);
    zy_free(b.p);
    return s ? s : zy__config_rename(c, path);
}
