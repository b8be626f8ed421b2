// Token lengths and NUL characters in tokenizer files (src/text/load.c): tokens up to the
// 65535-byte limit load (a 1024-byte decoding buffer once refused longer ones as "empty or
// has a character outside the byte-level alphabet"), a longer one is refused naming its id
// and the limit, and a NUL (\u0000, which cJSON would cut the string at) is refused naming
// its line instead of surfacing as "has length 0". tokenizer.json and vocab.json both.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "zhuyi/core.h"
#include "zhuyi/tokenizer.h"

static char *tmp_path(const char *name) {
    static char buf[4][256];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 256, "/tmp/zhuyi_bpelim_%ld_%s", (long)getpid(), name);
    return p;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        zt_fail(__FILE__, __LINE__, "cannot write %s", path);
        return;
    }
    fputs(text, f);
    fclose(f);
}

// The vocab object's body: every byte in GPT-2's byte-level spelling (ids 0..255), one
// entry per line, then `extra` (e.g. ",\n\"ab\": 256").
static char *vocab_body(char *o, const char *extra) {
    for (int b = 0; b < 256; b++) {
        int cp = b <= 32 ? 256 + b : (b >= 127 && b <= 160) ? 289 + b - 127 : b == 173 ? 323 : b;
        char ch[8];
        if (cp == '"' || cp == '\\') sprintf(ch, "\\%c", cp);
        else if (cp < 0x80) sprintf(ch, "%c", cp);
        else sprintf(ch, "%c%c", 0xC0 | (cp >> 6), 0x80 | (cp & 63));
        o += sprintf(o, "%s\"%s\": %d", b ? ",\n" : "", ch, b);
    }
    return o + sprintf(o, "%s", extra);
}

// tokenizer.json with the 256 bytes + extra vocab and an added_tokens array body.
static char *tokenizer_json(const char *extra, const char *added) {
    char *out = zt_malloc(strlen(extra) + strlen(added) + 8192);
    char *o = out;
    o += sprintf(o, "{\"added_tokens\": [%s],\n\"normalizer\": null,\n\"pre_tokenizer\": "
                    "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": "
                    "true},\n\"decoder\": {\"type\": \"ByteLevel\"},\n\"model\": {\"type\": "
                    "\"BPE\", \"vocab\": {\n", added);
    o = vocab_body(o, extra);
    sprintf(o, "},\n\"merges\": []}}\n");
    return out;
}

static char *vocab_json(const char *extra) {
    char *out = zt_malloc(strlen(extra) + 8192);
    char *o = out + sprintf(out, "{\n");
    o = vocab_body(o, extra);
    sprintf(o, "}\n");
    return out;
}

// ",\n\"<n copies of s>\": id"
static char *entry(const char *s, int n, int id) {
    size_t k = strlen(s);
    char *out = zt_malloc(k * (size_t)n + 32), *o = out;
    o += sprintf(o, ",\n\"");
    for (int i = 0; i < n; i++, o += k) memcpy(o, s, k);
    sprintf(o, "\": %d", id);
    return out;
}

// Load text as tokenizer.json (json) or as vocab.json beside an empty merges.txt.
static zy_status load(const char *text, int json, zy_tokenizer **t) {
    const char *p = tmp_path(json ? "tok.json" : "vocab.json"), *m = tmp_path("merges.txt");
    write_file(p, text);
    write_file(m, "#version: 0.2\n");
    zy_status s = json ? zy_tokenizer_load(t, p) : zy_tokenizer_load_gpt2(t, p, m);
    remove(p);
    remove(m);
    return s;
}

static int has(const char *needle) { return strstr(zy_last_error(), needle) != NULL; }

TEST(bpe_long_tokens_load_up_to_the_limit) {
    // 1500 'a' (1500 bytes) and 600 'Ā' (byte 0, 1200 bytes spelled): past the old
    // 1024-byte buffer, within the limit.
    char *a = entry("a", 1500, 256), *z = entry("\xc4\x80", 600, 257);
    char *both = zt_malloc(strlen(a) + strlen(z) + 1);
    strcpy(both, a);
    strcat(both, z);
    for (int json = 0; json < 2; json++) {
        char *text = json ? tokenizer_json(both, "") : vocab_json(both);
        zy_tokenizer *t = NULL;
        zy_status s = load(text, json, &t);
        zt_note("%s: %s %s", json ? "tokenizer.json" : "vocab.json", zy_status_str(s),
                s ? zy_last_error() : "");
        CHECK(s == ZY_STATUS_OK);
        if (t) {
            size_t n = 0;
            const char *b = zy_tokenizer_token_bytes(t, 256, &n);
            CHECK(b && n == 1500 && b[0] == 'a' && b[1499] == 'a');
            b = zy_tokenizer_token_bytes(t, 257, &n);
            CHECK(b && n == 600 && b[0] == 0 && b[599] == 0);
            if (json) { // and back through tokenizer.json
                const char *p = tmp_path("saved.json");
                zy_tokenizer *u = NULL;
                CHECK(zy_tokenizer_save(t, p) == ZY_STATUS_OK);
                CHECK(zy_tokenizer_load(&u, p) == ZY_STATUS_OK);
                CHECK(u && zy_tokenizer_token_bytes(u, 256, &n) && n == 1500);
                zy_tokenizer_free(u);
                remove(p);
            }
        }
        zy_tokenizer_free(t);
        free(text);
    }
    free(both);
    free(a);
    free(z);
}

TEST(bpe_token_over_the_limit_named) {
    // 70000 and 140000 bytes (the latter past the decoding buffer, refused unread).
    for (int big = 0; big < 2; big++) {
        char *a = entry("a", big ? 140000 : 70000, 256);
        for (int json = 0; json < 2; json++) {
            char *text = json ? tokenizer_json(a, "") : vocab_json(a);
            zy_tokenizer *t = (zy_tokenizer *)1;
            zy_status s = load(text, json, &t);
            zt_note("%s: %s %.200s", json ? "tokenizer.json" : "vocab.json", zy_status_str(s),
                    zy_last_error());
            CHECK(s == ZY_STATUS_BAD_FORMAT && t == NULL);
            CHECK(has("id 256") && has("65535") && !has("alphabet") && !has("empty"));
            free(text);
        }
        free(a);
    }
    // 40000 'Ā' then 30000 'a': 110000 bytes spelled, 70000 raw, over the limit.
    char *key = zt_malloc(40000 * 2 + 30000 + 32), *o = key;
    o += sprintf(o, ",\n\"");
    for (int i = 0; i < 40000; i++) *o++ = '\xc4', *o++ = '\x80';
    memset(o, 'a', 30000);
    sprintf(o + 30000, "\": 256");
    char *text = tokenizer_json(key, "");
    zy_tokenizer *t = (zy_tokenizer *)1;
    zy_status s = load(text, 1, &t);
    zt_note("70000 raw bytes in 110000 spelled: %s %.200s", zy_status_str(s), zy_last_error());
    CHECK(s == ZY_STATUS_BAD_FORMAT && t == NULL && has("65535") && !has("alphabet"));
    free(text);
    free(key);
}

TEST(bpe_nul_in_tokens_named) {
    // An added token "\u0000abc": cJSON reads it as "", once reported as "has length 0".
    char *text =
        tokenizer_json("", "\n{\"id\": 256, \"content\": \"\\u0000abc\", \"special\": true}");
    zy_tokenizer *t = (zy_tokenizer *)1;
    zy_status s = load(text, 1, &t);
    zt_note("added \\u0000abc: %s %s", zy_status_str(s), zy_last_error());
    CHECK(s != ZY_STATUS_OK && t == NULL && has("NUL") && has("line 2, column 25") &&
          !has("length 0"));
    free(text);
    // A vocab key with a NUL, in both files (line 260: after the 256 bytes).
    char *key = entry("ab\\u0000", 1, 256);
    for (int json = 0; json < 2; json++) {
        text = json ? tokenizer_json(key, "") : vocab_json(key);
        t = (zy_tokenizer *)1;
        s = load(text, json, &t);
        zt_note("%s key ab\\u0000: %s %s", json ? "tokenizer.json" : "vocab.json",
                zy_status_str(s), zy_last_error());
        CHECK(s != ZY_STATUS_OK && t == NULL && has("NUL") &&
              has(json ? "line 262" : "line 258"));
        free(text);
    }
    free(key);
    // An escaped backslash before "u0000" is not a NUL: "\\u0000" is six characters.
    text = tokenizer_json("", "{\"id\": 256, \"content\": \"<\\\\u0000>\", \"special\": true}");
    t = NULL;
    s = load(text, 1, &t);
    CHECK(s == ZY_STATUS_OK);
    size_t n = 0;
    CHECK(t && zy_tokenizer_token_bytes(t, 256, &n) && n == 8);
    zy_tokenizer_free(t);
    free(text);
    // A really empty added token says so, with its index.
    text = tokenizer_json("", "{\"id\": 256, \"content\": \"\", \"special\": true}");
    t = (zy_tokenizer *)1;
    s = load(text, 1, &t);
    zt_note("added \"\": %s %s", zy_status_str(s), zy_last_error());
    CHECK(s == ZY_STATUS_BAD_FORMAT && t == NULL && has("added_tokens[0]") && has("empty"));
    free(text);
}
