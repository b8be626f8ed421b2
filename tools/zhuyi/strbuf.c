// zy_strbuf: see strbuf.h.
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Room for n more bytes and a NUL.
static int reserve(zy_strbuf *b, size_t n) {
    if (b->oom) return -1;
    if (b->p && b->cap - b->n > n) return 0;
    size_t c = 2 * (b->cap + n + 1024);
    char *q = realloc(b->p, c);
    if (!q) {
        b->oom = 1;
        return -1;
    }
    b->p = q;
    b->cap = c;
    return 0;
}

void zy_strbuf_printf(zy_strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
        b->oom = 1;
        return;
    }
    if (reserve(b, (size_t)k)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

void zy_strbuf_put(zy_strbuf *b, const void *s, size_t n) {
    if (reserve(b, n)) return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void zy_strbuf_puts(zy_strbuf *b, const char *s) { zy_strbuf_put(b, s, strlen(s)); }

void zy_strbuf_clear(zy_strbuf *b) {
    b->n = 0;
    b->oom = 0;
    if (b->p) b->p[0] = 0;
}

void zy_strbuf_free(zy_strbuf *b) {
    free(b->p);
    *b = (zy_strbuf){0};
}
