// Tests of the server's base64 (tools/zhuyi/base64.c, linked into the tests): RFC 4648's
// test vectors both ways, every length of random bytes round-tripped (with and without
// padding, with line breaks), and the refusals: a character outside the alphabet, a lone
// last character, padding in the middle, too much or too little of it, data after it.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../tools/zhuyi/base64.h"
#include "harness.h"

// 0 decoded, -1 refused with a reason, -2 refused without one (a defect).
static int decode(const char *s, unsigned char *out, size_t *n, size_t *at) {
    const char *why = NULL;
    int rc = zy_cli_base64_decode(s, strlen(s), out, n, at, &why);
    return rc && !(why && *why) ? -2 : rc;
}

TEST(tools_base64_rfc4648_vectors) {
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                        "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        zy_strbuf b = {0};
        zy_cli_base64_encode(&b, (const unsigned char *)plain[i], strlen(plain[i]));
        ASSERT(b.n == strlen(coded[i]) && (!b.n || !memcmp(b.p, coded[i], b.n)));
        zy_strbuf_free(&b);
        unsigned char out[16];
        size_t n = 99, at;
        ASSERT(decode(coded[i], out, &n, &at) == 0);
        ASSERT(n == strlen(plain[i]) && !memcmp(out, plain[i], n));
        // the padding left out
        char bare[16];
        snprintf(bare, sizeof bare, "%.*s", (int)strcspn(coded[i], "="), coded[i]);
        ASSERT(decode(bare, out, &n, &at) == 0);
        ASSERT(n == strlen(plain[i]) && !memcmp(out, plain[i], n));
    }
}

TEST(tools_base64_round_trip) {
    unsigned char in[300], out[300];
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof in; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        in[i] = (unsigned char)x;
    }
    for (size_t len = 0; len <= sizeof in; len++) {
        zy_strbuf b = {0};
        zy_cli_base64_encode(&b, in, len);
        ASSERT(b.n == (len + 2) / 3 * 4 && !b.oom);
        ASSERT(zy_cli_base64_decoded_max(b.n) >= len);
        size_t n = 0, at;
        const char *why;
        ASSERT(zy_cli_base64_decode(b.p ? b.p : "", b.n, out, &n, &at, &why) == 0);
        ASSERT(n == len && !memcmp(in, out, len));
        // wrapped at 76 columns with \n and \r\n, as base64(1) and MIME write it
        zy_strbuf w = {0};
        for (size_t i = 0; i < b.n; i += 76) {
            zy_strbuf_put(&w, b.p + i, b.n - i < 76 ? b.n - i : 76);
            zy_strbuf_puts(&w, i % 152 ? "\r\n" : "\n");
        }
        n = 0;
        ASSERT(zy_cli_base64_decode(w.p ? w.p : "", w.n, out, &n, &at, &why) == 0);
        ASSERT(n == len && !memcmp(in, out, len));
        ASSERT(zy_cli_base64_decoded_max(w.n) >= len);
        zy_strbuf_free(&w);
        zy_strbuf_free(&b);
    }
}

TEST(tools_base64_refusals) {
    static const struct { const char *s; size_t at; } bad[] = {
        {"Zm9v!mFy", 4},    // outside the alphabet
        {"Zm9v-_Fy", 4},    // the URL-safe alphabet is not this one
        {"Zm9vY", 4},       // one character of a last group
        {"Zg==Zm8=", 4},    // data after the padding
        {"Zg=", 3},         // too little padding
        {"Zm8==", 4},       // too much
        {"=Zg=", 0},        // padding where no group is open
        {"Zm9v====", 4},
        {"Zm9v\x80", 4},    // a non-ASCII byte
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unsigned char out[16];
        size_t n, at = 99;
        ASSERT(decode(bad[i].s, out, &n, &at) == -1);
        ASSERT_EQ_INT((int)at, (int)bad[i].at);
    }
}
