// Tests of tokenizer files and training: tokenizer.json round trip (both merge forms),
// malformed files (each error must name what is wrong, never crash), a small training
// run with a known answer, determinism (same data -> byte-identical tokenizer.json) and
// round trips through a trained tokenizer.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "test_bpe.h"
#include "text/bpe.h"
#include "zhuyi/core.h"
#include "zhuyi/tokenizer.h"

static char *tmp_path(const char *name) {
    static char buf[4][256];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 256, "/tmp/zhuyi_bpe_%ld_%s", (long)getpid(), name);
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

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = zt_malloc(*n + 1);
    *n = fread(b, 1, *n, f);
    b[*n] = 0;
    fclose(f);
    return b;
}

TEST(bpe_tokenizer_json_roundtrip_gpt2) {
    zy_tokenizer *t = zt_bpe_gpt2(), *u = NULL;
    ASSERT(t);
    const char *p1 = tmp_path("gpt2a.json"), *p2 = tmp_path("gpt2b.json");
    ASSERT(!zy_tokenizer_save(t, p1));
    zy_status s = zy_tokenizer_load(&u, p1);
    if (s) zt_note("load: %s", zy_last_error());
    ASSERT(s == ZY_STATUS_OK);
    CHECK(zy_tokenizer_vocab_size(u) == 50257 && zy_tokenizer_merge_count(u) == 50000);
    // Same ids as the vocab.json/merges.txt tokenizer on every reference string.
    cJSON *j = zt_bpe_json("tests/ref/bpe_gpt2.json"), *c;
    ASSERT(j);
    uint8_t *buf = zt_malloc(1 << 16);
    int32_t *a = zt_malloc((1 << 16) * 4), *b = zt_malloc((1 << 16) * 4);
    int bad = 0, n_cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "cases")) {
        size_t n = zt_unhex(cJSON_GetObjectItem(c, "hex")->valuestring, buf), na, nb;
        zy_tokenizer_encode(t, (char *)buf, n, ZY_ENCODE_SPECIAL, a, n, &na);
        zy_tokenizer_encode(u, (char *)buf, n, ZY_ENCODE_SPECIAL, b, n, &nb);
        bad += na != nb || memcmp(a, b, na * 4);
        n_cases++;
    }
    zt_note("%d strings: %d differ between vocab.json+merges.txt and saved tokenizer.json",
            n_cases, bad);
    CHECK(bad == 0);
    // Saving the reloaded tokenizer gives the same bytes.
    ASSERT(!zy_tokenizer_save(u, p2));
    size_t n1 = 0, n2 = 0;
    char *f1 = slurp(p1, &n1), *f2 = slurp(p2, &n2);
    ASSERT(f1 && f2);
    CHECK(n1 == n2 && !memcmp(f1, f2, n1));
    CHECK(strstr(f1, "\"<|endoftext|>\"") && strstr(f1, "\"special\":\ttrue"));
    free(f1);
    free(f2);
    free(buf);
    free(a);
    free(b);
    cJSON_Delete(j);
    zy_tokenizer_free(u);
    remove(p1);
    remove(p2);
}

// A hand-made tokenizer.json: every byte (spelled in the byte-level alphabet), merges in
// the ["a","b"] pair form mixed with "a b" strings, a special token not in model.vocab.
static char *tiny_json(const char *merges, const char *extra_vocab, const char *normalizer) {
    static char out[1 << 16];
    char *o = out;
    o += sprintf(o, "{\"added_tokens\":[{\"id\":261,\"content\":\"<|end|>\",\"special\":true}],"
                    "\"normalizer\":%s,\"pre_tokenizer\":{\"type\":\"ByteLevel\","
                    "\"add_prefix_space\":false,\"use_regex\":true},\"decoder\":"
                    "{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":{",
                 normalizer);
    for (int b = 0; b < 256; b++) {
        // byte-level spelling of byte b, as UTF-8
        int cp = b <= 32 ? 256 + b : (b >= 127 && b <= 160) ? 289 + b - 127 : b == 173 ? 323 : b;
        char ch[8];
        if (cp == '"' || cp == '\\') sprintf(ch, "\\%c", cp);
        else if (cp < 0x80) sprintf(ch, "%c", cp);
        else sprintf(ch, "%c%c", 0xC0 | (cp >> 6), 0x80 | (cp & 63));
        o += sprintf(o, "\"%s\":%d,", ch, b);
    }
    o += sprintf(o, "\"ab\":256,\"abc\":257,\"\xc4\xa0" "ab\":258%s},\"merges\":%s}}",
                 extra_vocab, merges);
    return out;
}

TEST(bpe_tokenizer_json_pair_form_and_specials) {
    const char *p = tmp_path("tiny.json");
    write_file(p, tiny_json("[[\"a\",\"b\"],\"ab c\",[\"\xc4\xa0\",\"ab\"]]", "", "null"));
    zy_tokenizer *t;
    zy_status s = zy_tokenizer_load(&t, p);
    if (s) zt_note("%s", zy_last_error());
    ASSERT(s == ZY_STATUS_OK);
    CHECK(zy_tokenizer_vocab_size(t) == 262 && zy_tokenizer_merge_count(t) == 3);
    const int32_t want[] = {257, 258, 261, 'x', 'a'};
    CHECK(zt_bpe_roundtrip(t, (const uint8_t *)"abc ab<|end|>xa", 15, ZY_ENCODE_SPECIAL, want, 5,
                           "tiny tokenizer"));
    zy_tokenizer_free(t);
    remove(p);
}

static void expect_error(const char *label, const char *json, zy_status want, const char *needle) {
    const char *p = tmp_path("bad.json");
    write_file(p, json);
    zy_tokenizer *t = (zy_tokenizer *)1;
    zy_status s = zy_tokenizer_load(&t, p);
    zt_note("%s -> %s: %s", label, zy_status_str(s), zy_last_error());
    if (s != want || t != NULL || !strstr(zy_last_error(), needle))
        zt_fail(__FILE__, __LINE__, "%s: got %s '%s', want %s mentioning '%s'", label,
                zy_status_str(s), zy_last_error(), zy_status_str(want), needle);
    if (s == ZY_STATUS_OK) zy_tokenizer_free(t);
    remove(p);
}

TEST(bpe_bad_files_named_errors) {
    const char *ok_merges = "[[\"a\",\"b\"]]";
    expect_error("not JSON", "{\"model\": [1, 2,", ZY_STATUS_BAD_FORMAT, "not valid JSON");
    expect_error("empty file", "", ZY_STATUS_BAD_FORMAT, "not valid JSON");
    expect_error("no model", "{\"normalizer\":null}", ZY_STATUS_BAD_FORMAT, "'model'");
    char *j = tiny_json("[[\"a\",\"zz\"]]", "", "null");
    expect_error("merge of unknown token", j, ZY_STATUS_BAD_FORMAT, "'zz'");
    j = tiny_json("[\"a q\"]", "", "null");
    expect_error("merge result not in vocab", j, ZY_STATUS_BAD_FORMAT, "not in the vocab");
    j = tiny_json("[\"a b c\"]", "", "null");
    expect_error("merge with 3 parts", j, ZY_STATUS_BAD_FORMAT, "model.merges[0]");
    j = tiny_json("[[\"a\",\"b\"],[\"a\",\"b\"]]", "", "null");
    expect_error("duplicate merge", j, ZY_STATUS_BAD_FORMAT, "listed twice");
    j = tiny_json(ok_merges, ",\"zz\":256", "null");
    expect_error("duplicate id", j, ZY_STATUS_BAD_FORMAT, "duplicate id 256");
    j = tiny_json(ok_merges, ",\"q\":-3", "null");
    expect_error("negative id", j, ZY_STATUS_BAD_FORMAT, "no valid id");
    j = tiny_json(ok_merges, ",\"\xe4\xb8\xad\":300", "null");
    expect_error("token outside alphabet", j, ZY_STATUS_BAD_FORMAT, "byte-level alphabet");
    j = tiny_json(ok_merges, "", "{\"type\":\"NFC\"}");
    expect_error("normalizer", j, ZY_STATUS_UNSUPPORTED, "normalizer 'NFC'");
    // Truncate a valid file anywhere: always an error, never a crash.
    j = tiny_json(ok_merges, "", "null");
    char trunc[1 << 16];
    size_t n = strlen(j);
    int fails = 0;
    for (size_t cut = 0; cut < n; cut += 7) {
        memcpy(trunc, j, cut);
        trunc[cut] = 0;
        const char *p = tmp_path("trunc.json");
        write_file(p, trunc);
        zy_tokenizer *t;
        if (zy_tokenizer_load(&t, p) == ZY_STATUS_OK) {
            fails++;
            zy_tokenizer_free(t);
        }
        remove(p);
    }
    zt_note("%zu truncations of a %zu-byte tokenizer.json: %d loaded (want 0)", (n + 6) / 7, n,
            fails);
    CHECK(fails == 0);
    // A byte missing from the vocab: "a" (id 97) renamed to "qq", and no merges.
    j = tiny_json("[]", "", "null");
    char renamed[1 << 16], *a = strstr(j, "\"a\":97");
    ASSERT(a);
    snprintf(renamed, sizeof renamed, "%.*s\"qq\"%s", (int)(a - j), j, a + 3);
    expect_error("missing byte token", renamed, ZY_STATUS_BAD_FORMAT, "single byte 0x61");
    // GPT-2 pair: missing files and a bad merges line.
    zy_tokenizer *t;
    CHECK(zy_tokenizer_load_gpt2(&t, "/nonexistent/vocab.json", "/nonexistent/m.txt") ==
          ZY_STATUS_IO);
    CHECK(strstr(zy_last_error(), "/nonexistent/vocab.json") != NULL);
    const char *v = tmp_path("vocab.json"), *m = tmp_path("merges.txt");
    write_file(v, "{\"a\": 0}");
    write_file(m, "#version: 0.2\n");
    CHECK(zy_tokenizer_load_gpt2(&t, v, m) == ZY_STATUS_BAD_FORMAT); // 255 bytes missing
    zt_note("tiny vocab.json: %s", zy_last_error());
    CHECK(strstr(zy_last_error(), v) != NULL);
    if (zt_bpe_gpt2()) {
        write_file(m, "#version: 0.2\n\xc4\xa0 t\nnot_a_token x\n");
        CHECK(zy_tokenizer_load_gpt2(&t, "build/data/gpt2/encoder.json", m) == ZY_STATUS_BAD_FORMAT);
        zt_note("bad merges.txt: %s", zy_last_error());
        CHECK(strstr(zy_last_error(), "line 3") && strstr(zy_last_error(), "not_a_token"));
        write_file(m, "#version: 0.2\n\xc4\xa0 t\nthree parts here\n");
        CHECK(zy_tokenizer_load_gpt2(&t, "build/data/gpt2/encoder.json", m) == ZY_STATUS_BAD_FORMAT);
        CHECK(strstr(zy_last_error(), "line 3") != NULL);
    }
    remove(v);
    remove(m);
}

// A corpus with a known first merges: "ab" x3 words -> (a,b) first, then (' ', ab).
TEST(bpe_train_known_merges) {
    const char *text = "ab ab ab cd";
    size_t len = strlen(text);
    zy_bpe_train_params p = zy_bpe_train_default_params();
    p.vocab_size = 256 + 2 + 1;
    p.min_frequency = 1;
    zy_tokenizer *t;
    ASSERT(!zy_tokenizer_train_bpe_texts(&t, &text, &len, 1, p));
    CHECK(zy_tokenizer_merge_count(t) == 2 && zy_tokenizer_vocab_size(t) == 259);
    size_t n;
    const char *a = zy_tokenizer_token_bytes(t, 256, &n);
    CHECK(n == 2 && !memcmp(a, "ab", 2));
    a = zy_tokenizer_token_bytes(t, 257, &n);
    CHECK(n == 3 && !memcmp(a, " ab", 3));
    CHECK(zy_tokenizer_find(t, "<|endoftext|>", 13) == 258);
    const int32_t want[] = {256, 257, 257, ' ', 'c', 'd'};
    CHECK(zt_bpe_roundtrip(t, (const uint8_t *)text, len, 0, want, 6, "known merges"));
    zy_tokenizer_free(t);
}

TEST(bpe_train_deterministic_roundtrip) {
    // A few hundred KB of pseudo-English with a skewed word distribution.
    static const char *words[] = {"the", "and", "of", "to", "in", "that", "he", "shall",
                                  "unto", "for", "his", "LORD", "they", "be", "is", "him",
                                  "not", "them", "it", "with", "all", "thou", "thy", "was",
                                  "which", "my", "said", "their", "have", "will", "caf\xc3\xa9",
                                  "\xe4\xb8\xad\xe6\x96\x87", "12", "2024", "don't", "I'm"};
    size_t nw = sizeof words / sizeof words[0], cap = 300000, n = 0;
    char *text = zt_malloc(cap + 64);
    zy_rng r;
    zy_rng_seed(&r, 11);
    while (n < cap) {
        size_t k = zy_rng_below(&r, nw);
        k = k * zy_rng_below(&r, nw) / nw; // favour the first words
        n += (size_t)sprintf(text + n, "%s%s", words[k],
                             zy_rng_below(&r, 12) ? " " : zy_rng_below(&r, 2) ? ".\n" : ",  ");
    }
    zy_bpe_train_params p = zy_bpe_train_default_params();
    p.vocab_size = 600;
    zy_tokenizer *t1, *t2, *t3;
    const char *tp = text;
    ASSERT(!zy_tokenizer_train_bpe_texts(&t1, &tp, &n, 1, p));
    ASSERT(!zy_tokenizer_train_bpe_texts(&t2, &tp, &n, 1, p));
    const char *p1 = tmp_path("t1.json"), *p2 = tmp_path("t2.json");
    ASSERT(!zy_tokenizer_save(t1, p1) && !zy_tokenizer_save(t2, p2));
    size_t n1 = 0, n2 = 0;
    char *f1 = slurp(p1, &n1), *f2 = slurp(p2, &n2);
    ASSERT(f1 && f2);
    CHECK(n1 == n2 && !memcmp(f1, f2, n1));
    zt_note("trained vocab %d (%d merges); tokenizer.json %zu bytes, identical twice",
            zy_tokenizer_vocab_size(t1), zy_tokenizer_merge_count(t1), n1);
    ASSERT(!zy_tokenizer_load(&t3, p1));
    CHECK(zy_tokenizer_vocab_size(t3) == zy_tokenizer_vocab_size(t1));
    CHECK(zy_tokenizer_vocab_size(t1) > 300 && zy_tokenizer_vocab_size(t1) <= 600);
    // Round trip through the reloaded tokenizer, with the same ids as the trained one, and
    // real compression of the training text.
    int32_t *a = zt_malloc(n * 4), *b = zt_malloc(n * 4);
    size_t na, nb;
    ASSERT(!zy_tokenizer_encode(t1, text, n, 0, a, n, &na));
    ASSERT(!zy_tokenizer_encode(t3, text, n, 0, b, n, &nb));
    CHECK(na == nb && !memcmp(a, b, na * 4));
    zt_note("training text: %zu bytes -> %zu tokens", n, na);
    CHECK(na < n / 3);
    CHECK(zt_bpe_roundtrip(t3, (const uint8_t *)text, n, 0, NULL, 0, "trained tokenizer"));
    static const char unseen[] = "\xff\xfe unseen \xf0\x9f\x98\x80";
    CHECK(zt_bpe_roundtrip(t3, (const uint8_t *)unseen, sizeof unseen - 1, 0, NULL, 0,
                           "unseen bytes"));
    free(a);
    free(b);
    free(f1);
    free(f2);
    free(text);
    remove(p1);
    remove(p2);
    zy_tokenizer_free(t1);
    zy_tokenizer_free(t2);
    zy_tokenizer_free(t3);
}

TEST(bpe_train_bad_arguments) {
    zy_tokenizer *t;
    zy_bpe_train_params p = zy_bpe_train_default_params();
    const char *text = "abc";
    size_t len = 3;
    p.vocab_size = 100;
    CHECK(zy_tokenizer_train_bpe_texts(&t, &text, &len, 1, p) == ZY_STATUS_INVALID_ARGUMENT);
    p = zy_bpe_train_default_params();
    const char *bad_special[] = {"\xff"};
    p.special_tokens = bad_special;
    CHECK(zy_tokenizer_train_bpe_texts(&t, &text, &len, 1, p) == ZY_STATUS_INVALID_ARGUMENT);
    const char *files[] = {"/nonexistent/corpus.txt"};
    CHECK(zy_tokenizer_train_bpe(&t, files, 1, zy_bpe_train_default_params()) == ZY_STATUS_IO);
    CHECK(strstr(zy_last_error(), "/nonexistent/corpus.txt") != NULL);
}

// Training against the naive Python trainer in tests/ref_bpe.py (same documented rules:
// most frequent pair, ties to the smallest (left id, right id)): identical merge lists.
TEST(bpe_train_matches_reference) {
    cJSON *j = zt_bpe_json("tests/ref/bpe_gpt2.json");
    ASSERT(j);
    cJSON *tr = cJSON_GetObjectItem(j, "train");
    ASSERT(tr);
    const char *hex = cJSON_GetObjectItem(tr, "hex")->valuestring;
    uint8_t *text = zt_malloc(strlen(hex) / 2 + 1);
    size_t n = zt_unhex(hex, text);
    zy_bpe_train_params p = zy_bpe_train_default_params();
    p.vocab_size = cJSON_GetObjectItem(tr, "vocab_size")->valueint;
    p.min_frequency = cJSON_GetObjectItem(tr, "min_frequency")->valueint;
    zy_tokenizer *t;
    const char *tp = (const char *)text;
    ASSERT(!zy_tokenizer_train_bpe_texts(&t, &tp, &n, 1, p));
    cJSON *merges = cJSON_GetObjectItem(tr, "merges"), *m;
    int k = 0, bad = -1;
    cJSON_ArrayForEach(m, merges) {
        int a = cJSON_GetArrayItem(m, 0)->valueint, b = cJSON_GetArrayItem(m, 1)->valueint;
        if (bad < 0 && (k >= t->n_merges || t->merge_a[k] != a || t->merge_b[k] != b)) bad = k;
        k++;
    }
    zt_note("%zu bytes: %d merges, reference %d; first difference at %d (tolerance: none)", n,
            t->n_merges, k, bad);
    CHECK(bad < 0 && k == t->n_merges && k > 50);
    CHECK(zt_bpe_roundtrip(t, text, n, 0, NULL, 0, "reference corpus"));
    zy_tokenizer_free(t);
    free(text);
    cJSON_Delete(j);
}

// Random byte edits of a valid tokenizer.json: any status is fine, a crash (or a sanitizer
// report under `make sanitize`) is not. Loaded results must still round-trip text.
TEST(bpe_fuzz_tokenizer_json) {
    const char *good = tiny_json("[[\"a\",\"b\"],\"ab c\"]", "", "null");
    size_t n = strlen(good);
    char *buf = zt_malloc(n + 1);
    zy_rng r;
    zy_rng_seed(&r, 5);
    int loaded = 0;
    static const char junk[] = "{}[],:\"\\0123456789 -ab\xc4\xa0\xff";
    for (int it = 0; it < 400; it++) {
        memcpy(buf, good, n + 1);
        for (int k = 0, edits = 1 + (int)zy_rng_below(&r, 4); k < edits; k++)
            buf[zy_rng_below(&r, n)] = junk[zy_rng_below(&r, sizeof junk - 1)];
        const char *p = tmp_path("fuzz.json");
        write_file(p, buf);
        zy_tokenizer *t;
        if (zy_tokenizer_load(&t, p) == ZY_STATUS_OK) {
            loaded++;
            CHECK(zt_bpe_roundtrip(t, (const uint8_t *)"abc ab x", 8, ZY_ENCODE_SPECIAL, NULL, 0,
                                   "fuzzed tokenizer"));
            zy_tokenizer_free(t);
        }
        remove(p);
    }
    zt_note("400 mutated tokenizer.json files: %d still loaded, none crashed", loaded);
    free(buf);
}
