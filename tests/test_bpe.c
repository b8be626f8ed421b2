// Tests of the GPT-2 BPE tokenizer against the independent Python reference
// (tests/ref_bpe.py -> tests/ref/bpe_gpt2.json, bpe_classes.json) on the real GPT-2 files
// (build/data/gpt2, from scripts/data.sh gpt2-tokenizer): character classes, pre-token
// boundaries, ids, decoding, special tokens, parallel encoding, fuzz round trips.
// Files, malformed input and training are in test_bpe_files.c.
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_bpe.h"
#include "text/bpe.h"
#include "zhuyi/core.h"
#include "zhuyi/tokenizer.h"

zy_tokenizer *zt_bpe_gpt2(void) {
    static zy_tokenizer *t;
    static int tried;
    if (!tried) {
        tried = 1;
        zy_status s = zy_tokenizer_load_gpt2(&t, "build/data/gpt2/encoder.json",
                                             "build/data/gpt2/vocab.bpe");
        if (s) t = NULL;
        if (s) fprintf(stderr, "bpe: cannot load GPT-2 files: %s\n", zy_last_error());
    }
    if (!t)
        zt_fail(__FILE__, __LINE__, "GPT-2 tokenizer files missing or unreadable in "
                "build/data/gpt2/ (run: scripts/data.sh gpt2-tokenizer): %s", zy_last_error());
    return t;
}

cJSON *zt_bpe_json(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        zt_fail(__FILE__, __LINE__, "%s missing (run: /usr/bin/python3 tests/ref_bpe.py)", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = zt_malloc((size_t)n + 1);
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    buf[got] = 0;
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    if (!j) zt_fail(__FILE__, __LINE__, "%s: not valid JSON", path);
    return j;
}

size_t zt_unhex(const char *hex, uint8_t *out) {
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

// Encode, compare with want (if given), decode and compare with the input. Returns 1 ok.
int zt_bpe_roundtrip(zy_tokenizer *t, const uint8_t *s, size_t n, unsigned flags,
                     const int32_t *want, size_t n_want, const char *label) {
    int32_t *ids = zt_malloc((n + 1) * sizeof *ids);
    char *back = zt_malloc(n + 1);
    size_t k = 0, m = 0;
    int ok = 1;
    if (zy_tokenizer_encode(t, (const char *)s, n, flags, ids, n, &k)) {
        zt_fail(__FILE__, __LINE__, "%s: encode failed: %s", label, zy_last_error());
        ok = 0;
    } else if (want && (k != n_want || memcmp(ids, want, k * sizeof *ids))) {
        size_t i = 0;
        while (i < k && i < n_want && ids[i] == want[i]) i++;
        zt_fail(__FILE__, __LINE__, "%s: %zu ids, reference %zu; first difference at %zu: "
                "%d vs %d", label, k, n_want, i, i < k ? ids[i] : -1, i < n_want ? want[i] : -1);
        ok = 0;
    } else if (zy_tokenizer_decode(t, ids, k, back, n, &m) || m != n || memcmp(back, s, n)) {
        zt_fail(__FILE__, __LINE__, "%s: decode does not give back the %zu input bytes", label, n);
        ok = 0;
    }
    free(ids);
    free(back);
    return ok;
}

TEST(bpe_classes_match_python_regex) {
    cJSON *j = zt_bpe_json("tests/ref/bpe_classes.json");
    ASSERT(j);
    cJSON *runs = cJSON_GetObjectItem(j, "runs");
    int nr = cJSON_GetArraySize(runs), bad = 0;
    for (int r = 0; r < nr; r++) {
        cJSON *run = cJSON_GetArrayItem(runs, r);
        int32_t lo = cJSON_GetArrayItem(run, 0)->valueint, cls = cJSON_GetArrayItem(run, 1)->valueint;
        int32_t hi = r + 1 < nr ? cJSON_GetArrayItem(cJSON_GetArrayItem(runs, r + 1), 0)->valueint
                                : 0x110000;
        for (int32_t cp = lo; cp < hi; cp++) {
            if (cp >= 0xD800 && cp <= 0xDFFF) continue; // not encodable in UTF-8
            int got = zy__pretok_class_cp(cp);
            if (got != cls && bad++ < 5)
                zt_note("U+%04X: class %d, python regex %d", (unsigned)cp, got, cls);
        }
    }
    zt_note("%d of 1,112,064 code points differ from Python regex %s (tolerance 0)", bad,
            cJSON_GetObjectItem(j, "regex_version")->valuestring);
    CHECK(bad == 0);
    cJSON_Delete(j);
}

TEST(bpe_gpt2_hello_world) {
    zy_tokenizer *t = zt_bpe_gpt2();
    ASSERT(t);
    ASSERT_EQ_INT(zy_tokenizer_vocab_size(t), 50257);
    ASSERT_EQ_INT(zy_tokenizer_merge_count(t), 50000);
    const int32_t a[] = {15496, 995}, b[] = {18435, 995};
    CHECK(zt_bpe_roundtrip(t, (const uint8_t *)"Hello world", 11, 0, a, 2, "Hello world"));
    CHECK(zt_bpe_roundtrip(t, (const uint8_t *)" Hello world", 12, 0, b, 2, " Hello world"));
}

TEST(bpe_gpt2_matches_reference) {
    zy_tokenizer *t = zt_bpe_gpt2();
    cJSON *j = zt_bpe_json("tests/ref/bpe_gpt2.json");
    ASSERT(t && j);
    cJSON *cases = cJSON_GetObjectItem(j, "cases"), *c;
    int n_cases = 0, bad_pieces = 0, bad_ids = 0;
    size_t total_ids = 0;
    uint8_t *s = zt_malloc(1 << 16);
    int32_t *want = zt_malloc((1 << 16) * sizeof *want);
    cJSON_ArrayForEach(c, cases) {
        size_t n = zt_unhex(cJSON_GetObjectItem(c, "hex")->valuestring, s);
        char label[64];
        snprintf(label, sizeof label, "case %d (%zu bytes)", n_cases, n);
        // Pre-token boundaries alone, so a scanner bug is reported as such.
        cJSON *pieces = cJSON_GetObjectItem(c, "pieces"), *p;
        size_t at = 0;
        int k = 0, ok = 1;
        cJSON_ArrayForEach(p, pieces) {
            size_t len = at < n ? zy__pretok_next(s + at, n - at) : 0;
            if (len != (size_t)p->valueint) {
                if (bad_pieces < 5)
                    zt_note("%s: pre-token %d at byte %zu: length %zu, regex %d", label, k, at,
                            len, p->valueint);
                ok = 0;
                break;
            }
            at += len;
            k++;
        }
        if (!ok || at != n) bad_pieces++;
        size_t nw = 0;
        cJSON *id;
        cJSON_ArrayForEach(id, cJSON_GetObjectItem(c, "ids")) want[nw++] = id->valueint;
        total_ids += nw;
        if (!zt_bpe_roundtrip(t, s, n, 0, want, nw, label)) bad_ids++;
        n_cases++;
    }
    zt_note("%d reference strings, %zu ids: %d pre-token mismatches, %d id/decode mismatches "
            "(tolerance 0)", n_cases, total_ids, bad_pieces, bad_ids);
    CHECK(n_cases > 300 && bad_pieces == 0 && bad_ids == 0);
    free(s);
    free(want);
    cJSON_Delete(j);
}

TEST(bpe_gpt2_special_tokens) {
    zy_tokenizer *t = zt_bpe_gpt2();
    cJSON *j = zt_bpe_json("tests/ref/bpe_gpt2.json");
    ASSERT(t && j);
    cJSON *c;
    int n_cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "special")) {
        uint8_t s[256];
        int32_t want[256];
        size_t n = zt_unhex(cJSON_GetObjectItem(c, "hex")->valuestring, s), nw = 0;
        cJSON *id;
        cJSON_ArrayForEach(id, cJSON_GetObjectItem(c, "ids")) want[nw++] = id->valueint;
        char label[64];
        snprintf(label, sizeof label, "special case %d", n_cases++);
        CHECK(zt_bpe_roundtrip(t, s, n, ZY_ENCODE_SPECIAL, want, nw, label));
    }
    CHECK(n_cases >= 6);
    // Without the flag the same text is plain bytes: no 50256 anywhere.
    int32_t ids[64];
    size_t k;
    ASSERT(!zy_tokenizer_encode(t, "<|endoftext|>", 13, 0, ids, 64, &k));
    CHECK(k > 1);
    for (size_t i = 0; i < k; i++) CHECK(ids[i] != 50256);
    cJSON_Delete(j);
}

// Random words through both merge algorithms (rescan and heap) must agree exactly.
TEST(bpe_merge_scan_equals_heap) {
    zy_tokenizer *t = zt_bpe_gpt2();
    ASSERT(t);
    zy_rng r;
    zy_rng_seed(&r, 7);
    static const char *parts[] = {"the", "ing", "tion", "aa", "a", "b", "ab", " ", "er", "ll",
                                  "\xc3\xa9", "\xe4\xb8\xad", "0", "00", "!", "ss", "th", "e"};
    uint8_t w[2048];
    int32_t a[2048], b[2048];
    void *scratch = zt_malloc(zy__bpe_scratch_size(sizeof w));
    int bad = 0;
    for (int it = 0; it < 3000; it++) {
        size_t n = 0, target = 1 + zy_rng_below(&r, it < 2500 ? 200 : 2000);
        while (n < target) {
            const char *p = parts[zy_rng_below(&r, sizeof parts / sizeof parts[0])];
            size_t l = strlen(p);
            if (n + l > target) break;
            memcpy(w + n, p, l);
            n += l;
        }
        if (!n) continue;
        size_t na = zy__bpe_word_scan(t, w, n, a), nb = zy__bpe_word_heap(t, w, n, b, scratch);
        if (na != nb || memcmp(a, b, na * sizeof *a)) bad++;
    }
    zt_note("3000 random words up to 2000 bytes: %d disagreements (tolerance 0)", bad);
    CHECK(bad == 0);
    free(scratch);
}

static size_t fuzz_text(zy_rng *r, uint8_t *s, size_t cap, int mode) {
    size_t n = 0;
    while (n + 4 < cap) {
        if (mode == 0) { // any bytes
            s[n++] = (uint8_t)zy_rng_below(r, 256);
        } else { // valid UTF-8 of random code points, weighted to ASCII and spaces
            uint32_t cp;
            uint64_t pick = zy_rng_below(r, 10);
            if (pick < 4) cp = 0x20 + (uint32_t)zy_rng_below(r, 95);
            else if (pick < 5) cp = " \n\t'"[zy_rng_below(r, 4)];
            else cp = (uint32_t)zy_rng_below(r, 0x110000);
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 'x';
            if (cp < 0x80) s[n++] = (uint8_t)cp;
            else if (cp < 0x800) {
                s[n++] = (uint8_t)(0xC0 | cp >> 6);
                s[n++] = (uint8_t)(0x80 | (cp & 63));
            } else if (cp < 0x10000) {
                s[n++] = (uint8_t)(0xE0 | cp >> 12);
                s[n++] = (uint8_t)(0x80 | ((cp >> 6) & 63));
                s[n++] = (uint8_t)(0x80 | (cp & 63));
            } else {
                s[n++] = (uint8_t)(0xF0 | cp >> 18);
                s[n++] = (uint8_t)(0x80 | ((cp >> 12) & 63));
                s[n++] = (uint8_t)(0x80 | ((cp >> 6) & 63));
                s[n++] = (uint8_t)(0x80 | (cp & 63));
            }
        }
        if (zy_rng_below(r, 64) == 0) break;
    }
    return n;
}

TEST(bpe_fuzz_roundtrip) {
    zy_tokenizer *t = zt_bpe_gpt2();
    ASSERT(t);
    zy_rng r;
    zy_rng_seed(&r, 42);
    uint8_t s[512];
    int bad = 0;
    for (int it = 0; it < 4000; it++) {
        size_t n = fuzz_text(&r, s, sizeof s, it & 1);
        for (size_t i = 0; n && i < n; i += 1 + zy_rng_below(&r, n)) // pre-tokens tile the text
            if (zy__pretok_next(s + i, n - i) == 0) bad++;
        if (!zt_bpe_roundtrip(t, s, n, 0, NULL, 0, it & 1 ? "random unicode" : "random bytes"))
            bad++;
        if (bad > 3) break;
    }
    zt_note("4000 random byte / unicode strings: %d failed round trips", bad);
    CHECK(bad == 0);
}

TEST(bpe_parallel_equals_sequential) {
    zy_tokenizer *t = zt_bpe_gpt2();
    ASSERT(t);
    zy_rng r;
    zy_rng_seed(&r, 3);
    size_t cap = 1 << 20, n = 0;
    uint8_t *s = zt_malloc(cap);
    // Lines of mixed text with "\n" followed by letters, spaces and invalid bytes, so cuts
    // land in every kind of place.
    static const char *lines[] = {"In the beginning God created the heaven and the earth.\n",
                                  "  indented line\n", "\n\n", "x\xff\xfe\n", " 12 34\n",
                                  "\xe4\xb8\xad\xe6\x96\x87\n", "tab\tend \n", "<|endoftext|>\n"};
    while (n + 64 < cap) {
        const char *l = lines[zy_rng_below(&r, 8)];
        memcpy(s + n, l, strlen(l));
        n += strlen(l);
    }
    int32_t *a = zt_malloc(n * sizeof *a), *b = zt_malloc(n * sizeof *b);
    for (unsigned flags = 0; flags <= ZY_ENCODE_SPECIAL; flags++) {
        size_t na = 0, nb = 0;
        ASSERT(!zy_tokenizer_encode(t, (char *)s, n, flags, a, n, &na));
        zy_threads_set(2); // the harness restores the count after the test
        ASSERT(!zy_tokenizer_encode_parallel(t, (char *)s, n, flags, b, n, &nb));
        zt_note("flags %u: %zu bytes -> %zu ids sequential, %zu parallel", flags, n, na, nb);
        CHECK(na == nb && !memcmp(a, b, na * sizeof *a));
    }
    free(s);
    free(a);
    free(b);
}

TEST(bpe_encode_decode_errors) {
    zy_tokenizer *t = zt_bpe_gpt2();
    ASSERT(t);
    int32_t ids[4];
    size_t k, len;
    // Output room smaller than the tokens: an error, not an overflow.
    CHECK(zy_tokenizer_encode(t, "hello world again", 17, 0, ids, 2, &k) ==
          ZY_STATUS_INVALID_ARGUMENT);
    const int32_t bad[] = {15496, 50257};
    CHECK(zy_tokenizer_decode(t, bad, 2, NULL, 0, &len) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(zy_last_error(), "50257") != NULL);
    const int32_t neg[] = {-1};
    CHECK(zy_tokenizer_decode(t, neg, 1, NULL, 0, &len) == ZY_STATUS_INVALID_ARGUMENT);
    char out[3];
    CHECK(zy_tokenizer_decode(t, bad, 1, out, sizeof out, &len) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(len == 5); // "Hello" needs 5 bytes
    CHECK(zy_tokenizer_encode(t, "", 0, 0, ids, 0, &k) == ZY_STATUS_OK && k == 0);
}

// The ASCII table in pretok.c must agree with the general rule for every ASCII byte.
TEST(bpe_ascii_class_table) {
    int bad = 0;
    for (int c = 0; c < 128; c++) {
        uint8_t b = (uint8_t)c;
        size_t n;
        bad += zy__pretok_class(&b, 1, &n) != zy__pretok_class_cp(c) || n != 1;
    }
    CHECK(bad == 0);
}
