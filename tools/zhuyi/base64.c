// Base64 encoding and decoding (base64.h), by hand: the CLI depends on no library that
// exports a decoder (libmicrohttpd keeps its own internal), and the alphabet is a table.
#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void zy_cli_base64_encode(zy_strbuf *b, const unsigned char *p, size_t n) {
    char q[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        q[0] = alphabet[v >> 18 & 63], q[1] = alphabet[v >> 12 & 63];
        q[2] = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
        q[3] = i + 2 < n ? alphabet[v & 63] : '=';
        zy_strbuf_put(b, q, 4);
    }
}

size_t zy_cli_base64_decoded_max(size_t n) { return n / 4 * 3 + (n % 4 ? 3 : 0); }

// The 6-bit value of c, or -1.
static int value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

static int fail(size_t at, const char *reason, size_t *bad_at, const char **why) {
    *bad_at = at;
    *why = reason;
    return -1;
}

int zy_cli_base64_decode(const char *s, size_t n, unsigned char *out, size_t *out_n,
                         size_t *bad_at, const char **why) {
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0, last = 0; // last: where the current group began (for messages)
    unsigned acc = 0;
    int k = 0;              // characters in the current group of 4
    size_t i = 0;
    for (; i < n; i++) {
        if (is_space(p[i])) continue;
        if (p[i] == '=') break;
        int v = value(p[i]);
        if (v < 0) return fail(i, "a character outside the base64 alphabet", bad_at, why);
        if (k == 0) last = i;
        acc = acc << 6 | (unsigned)v;
        if (++k == 4) {
            out[o++] = (unsigned char)(acc >> 16);
            out[o++] = (unsigned char)(acc >> 8);
            out[o++] = (unsigned char)acc;
            acc = 0, k = 0;
        }
    }
    if (k == 1) return fail(last, "a last group of one character (no whole byte)", bad_at, why);
    // The padding: as many '=' as the last group lacks (2 after 2 characters, 1 after 3),
    // or none at all; then white space only.
    if (i < n) {
        if (k == 0) return fail(i, "padding where none belongs", bad_at, why);
        int pads = 0;
        for (; i < n; i++) {
            if (is_space(p[i])) continue;
            if (p[i] != '=' || ++pads > 4 - k)
                return fail(i, p[i] == '=' ? "too much padding" : "data after the padding",
                            bad_at, why);
        }
        if (pads != 4 - k) return fail(n, "too little padding", bad_at, why);
    }
    if (k >= 2) out[o++] = (unsigned char)(acc >> (k == 2 ? 4 : 10));
    if (k == 3) out[o++] = (unsigned char)(acc >> 2);
    *out_n = o;
    return 0;
}
