// A growable byte buffer with printf, for output built in memory and then written at once
// (SVG files written atomically, JSON lines). Not a general string library.
#ifndef ZHUYI_CLI_STRBUF_H
#define ZHUYI_CLI_STRBUF_H

#include <stddef.h>

typedef struct zy_strbuf {
    char *p;      // NUL-terminated after any successful append (NULL while empty)
    size_t n, cap;
    int oom;      // an allocation failed: later appends do nothing, the caller reports it
} zy_strbuf;

void zy_strbuf_printf(zy_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void zy_strbuf_put(zy_strbuf *b, const void *s, size_t n);
void zy_strbuf_puts(zy_strbuf *b, const char *s); // a NUL-terminated string
void zy_strbuf_clear(zy_strbuf *b); // empty it, keeping the memory (and clearing oom)
void zy_strbuf_free(zy_strbuf *b);

#endif
