// Queries in and escaped text out: see textio.h.
#include "textio.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cli.h"

// ---- queries in ----------------------------------------------------------------------

int zy_cli_reader_open(zy_cli_reader *r, const char *command, const char *text,
                       const char *pair, const char *path, bool jsonl, bool allow_pair) {
    *r = (zy_cli_reader){.command = command, .text = text, .pair = pair, .jsonl = jsonl,
                         .allow_pair = allow_pair};
    if (text) return 0;
    if (!path || !strcmp(path, "-")) {
        r->f = stdin;
        r->name = "stdin";
        return 0;
    }
    r->f = fopen(path, "rb");
    if (!r->f) return zy_cli_die("%s: cannot open '%s': %s", command, path, strerror(errno));
    r->own = true;
    r->name = path;
    return 0;
}

void zy_cli_reader_close(zy_cli_reader *r) {
    if (r->own && r->f) fclose(r->f);
    free(r->buf);
    free(r->json_text);
    free(r->json_pair);
    *r = (zy_cli_reader){0};
}

const char *zy_cli_query_where(const zy_cli_reader *r, const zy_cli_query *q, char *buf,
                               size_t cap) {
    if (!q->line) return "";
    snprintf(buf, cap, "line %ld of %s: ", q->line, r->name);
    return buf;
}

// A copy of a JSON string member (cJSON stops at a NUL written as \u0000: the text then
// ends there).
static int json_member(const cJSON *o, const char *key, char **out, size_t *len) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return 0;
    if (!cJSON_IsString(v)) return -1;
    size_t n = strlen(v->valuestring);
    char *s = malloc(n + 1);
    if (!s) return -2;
    memcpy(s, v->valuestring, n + 1);
    free(*out);
    *out = s;
    *len = n;
    return 1;
}

static int parse_json_line(zy_cli_reader *r, const char *line, size_t n, zy_cli_query *q) {
    cJSON *o = cJSON_ParseWithLength(line, n);
    int rc = -1;
    if (!cJSON_IsObject(o)) {
        zy_cli_die("%s: line %ld of %s is not a JSON object (--jsonl: one {\"text\": ...} per "
                   "line)", r->command, r->line, r->name);
        goto done;
    }
    int t = json_member(o, "text", &r->json_text, &q->len);
    int p = r->allow_pair ? json_member(o, "text_pair", &r->json_pair, &q->pair_len) : 0;
    if (t == -2 || p == -2) {
        zy_cli_die("%s: out of memory reading line %ld of %s", r->command, r->line, r->name);
    } else if (t != 1) {
        zy_cli_die("%s: line %ld of %s: %s", r->command, r->line, r->name,
                   t ? "\"text\" is not a string" : "no \"text\" field");
    } else if (p < 0) {
        zy_cli_die("%s: line %ld of %s: \"text_pair\" is not a string", r->command, r->line,
                   r->name);
    } else {
        q->text = r->json_text;
        q->pair = p == 1 ? r->json_pair : NULL;
        rc = 1;
    }
done:
    cJSON_Delete(o);
    return rc;
}

int zy_cli_reader_next(zy_cli_reader *r, zy_cli_query *q) {
    *q = (zy_cli_query){0};
    if (r->done) return 0;
    if (r->text) {
        r->done = true;
        q->text = r->text, q->len = strlen(r->text);
        if (r->pair) q->pair = r->pair, q->pair_len = strlen(r->pair);
        return 1;
    }
    for (;;) {
        errno = 0;
        ssize_t got = getline(&r->buf, &r->cap, r->f);
        if (got < 0) {
            r->done = true;
            if (ferror(r->f))
                return zy_cli_die("%s: reading %s: %s", r->command, r->name,
                                  strerror(errno ? errno : EIO)), -1;
            return 0;
        }
        r->line++;
        size_t n = (size_t)got;
        if (n && r->buf[n - 1] == '\n') n--;
        if (n && r->buf[n - 1] == '\r') n--;
        size_t blank = 0;
        while (blank < n && r->buf[blank] && strchr(" \t\r\f\v", r->buf[blank])) blank++;
        if (blank == n) continue;
        q->line = r->line;
        if (r->jsonl) return parse_json_line(r, r->buf, n, q);
        q->text = r->buf, q->len = n;
        return 1;
    }
}

// ---- text out --------------------------------------------------------------------------

// The length (1-4) of the valid UTF-8 character at s[0..n) and its code point, or 0.
static size_t utf8_char(const unsigned char *s, size_t n, unsigned *cp) {
    unsigned c = s[0];
    if (c < 0x80) return *cp = c, 1;
    size_t k = c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xF0 && c <= 0xF4 ? 4
                                                                                            : 0;
    if (!k || k > n) return 0;
    unsigned v = c & (0x7F >> k);
    for (size_t j = 1; j < k; j++) {
        if ((s[j] & 0xC0) != 0x80) return 0;
        v = v << 6 | (s[j] & 63);
    }
    // no overlong forms, no surrogates, nothing past U+10FFFF
    if ((k == 3 && v < 0x800) || (k == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
        (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return k;
}

void zy_cli_json_string(zy_strbuf *b, const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    zy_strbuf_puts(b, "\"");
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], cp;
        size_t k;
        if (c == '"' || c == '\\') zy_strbuf_printf(b, "\\%c", c), i++;
        else if (c == '\n') zy_strbuf_puts(b, "\\n"), i++;
        else if (c == '\t') zy_strbuf_puts(b, "\\t"), i++;
        else if (c == '\r') zy_strbuf_puts(b, "\\r"), i++;
        else if (c < 0x20 || c == 0x7F) zy_strbuf_printf(b, "\\u%04x", c), i++;
        else if ((k = utf8_char(s + i, n - i, &cp))) zy_strbuf_put(b, s + i, k), i += k;
        else zy_strbuf_puts(b, "\xef\xbf\xbd"), i++;
    }
    zy_strbuf_puts(b, "\"");
}

void zy_cli_put_json_string(FILE *f, const char *s, size_t n) {
    zy_strbuf b = {0};
    zy_cli_json_string(&b, s, n);
    if (b.oom) fputs("\"\"", f); // out of memory for one string: an empty, valid one
    else fwrite(b.p, 1, b.n, f);
    zy_strbuf_free(&b);
}

void zy_cli_xml_text(zy_strbuf *b, const char *str, size_t n, unsigned flags,
                     size_t max_chars) {
    const unsigned char *s = (const unsigned char *)str;
    size_t chars = 0;
    for (size_t i = 0; i < n; chars++) {
        if (max_chars && chars == max_chars) {
            zy_strbuf_puts(b, "\xe2\x80\xa6"); // …
            return;
        }
        unsigned c = s[i], cp = 0;
        size_t k = utf8_char(s + i, n - i, &cp);
        if (c == '&') zy_strbuf_puts(b, "&amp;");
        else if (c == '<') zy_strbuf_puts(b, "&lt;");
        else if (c == '>') zy_strbuf_puts(b, "&gt;");
        else if (c == '"') zy_strbuf_puts(b, "&quot;");
        else if (c == '\'') zy_strbuf_puts(b, "&apos;");
        else if (c == ' ' && (flags & ZY_CLI_LABEL_SPACES)) zy_strbuf_puts(b, "\xe2\x90\xa3");
        else if (c == '\n') zy_strbuf_puts(b, "\\n");
        else if (c == '\t') zy_strbuf_puts(b, "\\t");
        else if (c == '\r') zy_strbuf_puts(b, "\\r");
        else if (c == '\\') zy_strbuf_puts(b, "\\\\"); // so "\x41" cannot pass for a byte
        else if (!k || c < 0x20 || c == 0x7F || cp == 0xFFFE || cp == 0xFFFF) {
            // one escape per byte of what cannot be shown (a whole non-character)
            size_t m = k ? k : 1;
            for (size_t j = 0; j < m; j++) zy_strbuf_printf(b, "\\x%02X", s[i + j]);
            i += m;
            continue;
        } else {
            zy_strbuf_put(b, s + i, k);
            i += k;
            continue;
        }
        i++;
    }
}
