// config.json objects (src/io/config.c, config_write.c): the Hugging Face text form byte
// for byte (expected texts below were produced by Python's json.dumps(indent=2,
// sort_keys=True)), round trips, every getter's errors, malformed and oversized files.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "gpt_util.h"
#include "zhuyi/model.h"
#include "zhuyi/hf.h"

static const char *tmp_file(const char *name) {
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "/tmp/zhuyi_config_%ld_%s", (long)getpid(), name);
    return p;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

// The whole file (malloc'ed, NUL-terminated) or NULL.
static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = zt_malloc(1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static zy_config *parse(const char *json) {
    zy_config *c = NULL;
    if (zy_config_parse(&c, json, strlen(json), "t/config.json"))
        zt_fail(__FILE__, __LINE__, "parse: %s", zy_last_error());
    return c;
}

static int has(const char *part) {
    if (strstr(zy_last_error(), part)) return 1;
    zt_note("message '%s' lacks '%s'", zy_last_error(), part);
    return 0;
}

TEST(config_hf_text_form) {
    // Nested objects and arrays, floats, escapes, non-ASCII and a non-BMP character.
    const char *src = "{\"z\": {\"b\": [], \"a\": {}}, \"eps\": 1e-12, \"lr\": 0.0001, "
                      "\"big\": 1.5e+20, \"neg\": -3, \"s\": \"tab\\tq\\\"b\\\\ \\u00e9"
                      "\\ud83d\\ude00\\u007f\\u0001\", \"arr\": [1, \"x\", [true, false, "
                      "null]], \"A\": 0.5}";
    const char *want = "{\n  \"A\": 0.5,\n  \"arr\": [\n    1,\n    \"x\",\n    [\n"
                       "      true,\n      false,\n      null\n    ]\n  ],\n"
                       "  \"big\": 1.5e+20,\n  \"eps\": 1e-12,\n  \"lr\": 0.0001,\n"
                       "  \"neg\": -3,\n"
                       "  \"s\": \"tab\\tq\\\"b\\\\ \\u00e9\\ud83d\\ude00\\u007f\\u0001\",\n"
                       "  \"z\": {\n    \"a\": {},\n    \"b\": []\n  }\n}\n";
    zy_config *c = parse(src);
    ASSERT(c != NULL);
    const char *p = tmp_file("form.json");
    ASSERT(zy_config_save(c, p) == ZY_STATUS_OK);
    char *got = read_text(p);
    ASSERT(got != NULL);
    CHECK(strcmp(got, want) == 0);
    if (strcmp(got, want)) zt_note("got:\n%s", got);
    CHECK(strcmp(zy_config_name(c), p) == 0); // saving renames
    // Load it back: same string (UTF-8 inside), save again: same bytes.
    zy_config *d;
    ASSERT(zy_config_load(&d, p) == ZY_STATUS_OK);
    const char *s;
    ASSERT(zy_config_get_string(d, "s", &s) == ZY_STATUS_OK);
    CHECK(strcmp(s, "tab\tq\"b\\ \xc3\xa9\xf0\x9f\x98\x80\x7f\x01") == 0);
    const char *p2 = tmp_file("form2.json");
    ASSERT(zy_config_save(d, p2) == ZY_STATUS_OK);
    char *again = read_text(p2);
    CHECK(again && strcmp(again, want) == 0);
    free(again);
    free(got);
    zy_config_free(d);
    zy_config_free(c);
    remove(p);
    remove(p2);
}

TEST(config_round_trip_values) {
    zy_config *c;
    ASSERT(zy_config_create(&c, NULL) == ZY_STATUS_OK);
    const char *arch[] = {"GPT2LMHeadModel", "Other"};
    CHECK(zy_config_set_int(c, "n_embd", 768) == ZY_STATUS_OK);
    CHECK(zy_config_set_int(c, "n_embd", 48) == ZY_STATUS_OK); // replaces
    CHECK(zy_config_set_int(c, "neg", -7) == ZY_STATUS_OK);
    CHECK(zy_config_set_float(c, "attn_pdrop", 0.1f) == ZY_STATUS_OK);
    CHECK(zy_config_set_float(c, "layer_norm_epsilon", 1e-5f) == ZY_STATUS_OK);
    CHECK(zy_config_set_float(c, "rope_theta", 10000.0) == ZY_STATUS_OK);
    CHECK(zy_config_set_bool(c, "use_cache", true) == ZY_STATUS_OK);
    CHECK(zy_config_set_string(c, "model_type", "gpt2") == ZY_STATUS_OK);
    CHECK(zy_config_set_null(c, "n_inner") == ZY_STATUS_OK);
    CHECK(zy_config_set_strings(c, "architectures", arch, 2) == ZY_STATUS_OK);
    CHECK(zy_config_set_strings(c, "empty", NULL, 0) == ZY_STATUS_OK);
    CHECK(zy_config_set_int(c, "gone", 1) == ZY_STATUS_OK);
    zy_config_remove(c, "gone");
    CHECK(zy_config_set_float(c, "bad", 1.0 / 0.0) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_config_set_string(c, "bad", "\xff") == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(!zy_config_has(c, "bad") && !zy_config_has(c, "gone"));
    CHECK(!zy_config_has(c, "n_inner")); // null counts as absent

    const char *p = tmp_file("rt.json");
    ASSERT(zy_config_save(c, p) == ZY_STATUS_OK);
    char *got = read_text(p);
    ASSERT(got != NULL);
    const char *want = "{\n  \"architectures\": [\n    \"GPT2LMHeadModel\",\n    \"Other\"\n"
                       "  ],\n  \"attn_pdrop\": 0.1,\n  \"empty\": [],\n"
                       "  \"layer_norm_epsilon\": 1e-05,\n  \"model_type\": \"gpt2\",\n"
                       "  \"n_embd\": 48,\n  \"n_inner\": null,\n  \"neg\": -7,\n"
                       "  \"rope_theta\": 10000,\n  \"use_cache\": true\n}\n";
    CHECK(strcmp(got, want) == 0);
    if (strcmp(got, want)) zt_note("got:\n%s", got);
    free(got);

    zy_config *d;
    ASSERT(zy_config_load(&d, p) == ZY_STATUS_OK);
    int n = 0;
    float f = 0;
    bool b = false;
    const char *s = NULL;
    CHECK(zy_config_get_int(d, "n_embd", 1, 65536, &n) == ZY_STATUS_OK && n == 48);
    CHECK(zy_config_get_int(d, "neg", -10, 0, &n) == ZY_STATUS_OK && n == -7);
    CHECK(zy_config_get_float(d, "attn_pdrop", 0, 1, &f) == ZY_STATUS_OK && f == 0.1f);
    CHECK(zy_config_get_float(d, "layer_norm_epsilon", 0, 1, &f) == ZY_STATUS_OK &&
          f == 1e-5f);
    CHECK(zy_config_get_bool(d, "use_cache", &b) == ZY_STATUS_OK && b);
    CHECK(zy_config_get_string(d, "model_type", &s) == ZY_STATUS_OK && !strcmp(s, "gpt2"));
    CHECK(zy_config_array_count(d, "architectures") == 2);
    CHECK(zy_config_array_count(d, "empty") == 0);
    CHECK(zy_config_array_count(d, "absent") == 0);
    CHECK(zy_config_array_count(d, "n_inner") == 0); // null
    CHECK(zy_config_get_string_at(d, "architectures", 1, &s) == ZY_STATUS_OK &&
          !strcmp(s, "Other"));
    // A copy is independent of its source.
    zy_config *e;
    ASSERT(zy_config_copy(&e, d) == ZY_STATUS_OK);
    CHECK(zy_config_set_int(e, "n_embd", 5) == ZY_STATUS_OK);
    CHECK(zy_config_get_int(d, "n_embd", 1, 65536, &n) == ZY_STATUS_OK && n == 48);
    CHECK(strcmp(zy_config_name(e), p) == 0);
    zy_config_free(e);
    zy_config_free(d);
    zy_config_free(c);
    remove(p);
}

// A GPT model's config.json as zhuyi writes it is Hugging Face's text (Python's
// json.dumps(indent=2, sort_keys=True) output for GPT2LMHeadModel's fields).
TEST(config_reads_gpt_config_json) {
    zy_model *m = zt_gpt_create(3, 4, 32, 64, 50257, 0.1f, 1);
    ASSERT(m != NULL);
    const char *p = tmp_file("gpt.json"), *q = tmp_file("gpt2.json");
    zy_config *c;
    ASSERT(zy_model_get_config(m, &c) == ZY_STATUS_OK);
    zy_model_free(m);
    ASSERT(zy_config_save(c, p) == ZY_STATUS_OK);
    zy_config_free(c);
    ASSERT(zy_config_load(&c, p) == ZY_STATUS_OK);
    ASSERT(zy_config_save(c, q) == ZY_STATUS_OK);
    const char *want =
        "{\n  \"activation_function\": \"gelu_new\",\n  \"architectures\": [\n"
        "    \"GPT2LMHeadModel\"\n  ],\n  \"attn_pdrop\": 0.1,\n  \"bos_token_id\": 50256,\n"
        "  \"embd_pdrop\": 0.1,\n  \"eos_token_id\": 50256,\n  \"initializer_range\": 0.02,\n"
        "  \"layer_norm_epsilon\": 1e-05,\n  \"model_type\": \"gpt2\",\n  \"n_ctx\": 64,\n"
        "  \"n_embd\": 32,\n  \"n_head\": 4,\n  \"n_inner\": null,\n  \"n_layer\": 3,\n"
        "  \"n_positions\": 64,\n  \"reorder_and_upcast_attn\": false,\n"
        "  \"resid_pdrop\": 0.1,\n  \"scale_attn_by_inverse_layer_idx\": false,\n"
        "  \"scale_attn_weights\": true,\n  \"use_cache\": true,\n  \"vocab_size\": 50257\n}\n";
    char *b = read_text(q);
    CHECK(b && strcmp(b, want) == 0);
    if (b && strcmp(b, want)) zt_note("got:\n%s", b);
    int n = 0;
    CHECK(zy_config_get_int(c, "n_ctx", 1, 1 << 20, &n) == ZY_STATUS_OK && n == 64);
    // The GPT reader accepts what zhuyi writes.
    zy_model *back;
    ASSERT(zy_model_create(&back, c) == ZY_STATUS_OK);
    const zy_model_info *i = zy_model_get_info(back);
    CHECK(i->d_model == 32 && i->dropout == 0.1f && i->max_positions == 64);
    zy_model_free(back);
    free(b);
    zy_config_free(c);
    remove(p);
    remove(q);
}

TEST(config_getter_errors) {
    zy_config *c = parse("{\"i\": 12, \"w\": 12.0, \"e\": 1e3, \"h\": 12.5, \"s\": \"x\", "
                         "\"b\": true, \"z\": null, \"big\": 3e9, \"arr\": [\"a\", 1], "
                         "\"o\": {}, \"f\": 0.25, \"huge\": 1e300}");
    ASSERT(c != NULL);
    int n = -1;
    float f = -1;
    bool b = false;
    const char *s = NULL;
    // Whole-number floats are integers.
    CHECK(zy_config_get_int(c, "w", 1, 100, &n) == ZY_STATUS_OK && n == 12);
    CHECK(zy_config_get_int(c, "e", 1, 1000, &n) == ZY_STATUS_OK && n == 1000);
    n = -1;
    // Missing and null: NOT_FOUND, "field 'k' missing", *out untouched.
    const char *absent[] = {"nope", "z"};
    for (int k = 0; k < 2; k++) {
        CHECK(zy_config_get_int(c, absent[k], 0, 9, &n) == ZY_STATUS_NOT_FOUND && n == -1);
        CHECK(has("t/config.json: field '") && has("' missing"));
        CHECK(zy_config_get_float(c, absent[k], 0, 9, &f) == ZY_STATUS_NOT_FOUND && f == -1);
        CHECK(zy_config_get_bool(c, absent[k], &b) == ZY_STATUS_NOT_FOUND);
        CHECK(zy_config_get_string(c, absent[k], &s) == ZY_STATUS_NOT_FOUND && s == NULL);
    }
    // Wrong type or out of range: BAD_FORMAT naming the file, field and rule.
    CHECK(zy_config_get_int(c, "h", 1, 100, &n) == ZY_STATUS_BAD_FORMAT && n == -1);
    CHECK(has("t/config.json: field 'h' must be an integer in [1, 100]"));
    CHECK(zy_config_get_int(c, "i", 1, 11, &n) == ZY_STATUS_BAD_FORMAT && has("[1, 11]"));
    CHECK(zy_config_get_int(c, "i", 13, 20, &n) == ZY_STATUS_BAD_FORMAT);
    CHECK(zy_config_get_int(c, "s", 1, 100, &n) == ZY_STATUS_BAD_FORMAT && has("string"));
    CHECK(zy_config_get_int(c, "b", 0, 1, &n) == ZY_STATUS_BAD_FORMAT);
    CHECK(zy_config_get_int(c, "big", 0, 4000000000L, &n) == ZY_STATUS_BAD_FORMAT); // > int
    CHECK(zy_config_get_int(c, "arr", 0, 1, &n) == ZY_STATUS_BAD_FORMAT && n == -1);
    CHECK(zy_config_get_float(c, "f", 0, 0.2, &f) == ZY_STATUS_BAD_FORMAT && f == -1);
    CHECK(has("field 'f' must be a number in [0, 0.2]"));
    CHECK(zy_config_get_float(c, "s", 0, 1, &f) == ZY_STATUS_BAD_FORMAT);
    CHECK(zy_config_get_float(c, "huge", 0, 1e301, &f) == ZY_STATUS_BAD_FORMAT); // > float
    CHECK(zy_config_get_float(c, "f", 0, 1, &f) == ZY_STATUS_OK && f == 0.25f);
    CHECK(zy_config_get_float(c, "i", 0, 100, &f) == ZY_STATUS_OK && f == 12.0f);
    CHECK(zy_config_get_bool(c, "i", &b) == ZY_STATUS_BAD_FORMAT && has("'i' must be true"));
    CHECK(zy_config_get_bool(c, "b", &b) == ZY_STATUS_OK && b);
    CHECK(zy_config_get_string(c, "i", &s) == ZY_STATUS_BAD_FORMAT && has("'i' must be a"));
    CHECK(zy_config_get_string(c, "o", &s) == ZY_STATUS_BAD_FORMAT && s == NULL);
    // Arrays of strings.
    CHECK(zy_config_array_count(c, "arr") == 2);
    CHECK(zy_config_get_string_at(c, "arr", 0, &s) == ZY_STATUS_OK && !strcmp(s, "a"));
    CHECK(zy_config_get_string_at(c, "arr", 1, &s) == ZY_STATUS_BAD_FORMAT &&
          has("'arr' item 1 must be a string"));
    CHECK(zy_config_get_string_at(c, "arr", 2, &s) == ZY_STATUS_NOT_FOUND);
    CHECK(zy_config_get_string_at(c, "arr", -1, &s) == ZY_STATUS_NOT_FOUND);
    CHECK(zy_config_array_count(c, "s") == ZY_STATUS_BAD_FORMAT && has("must be an array"));
    CHECK(zy_config_get_string_at(c, "s", 0, &s) == ZY_STATUS_BAD_FORMAT);
    CHECK(zy_config_get_string_at(c, "nope", 0, &s) == ZY_STATUS_NOT_FOUND);
    zy_config_free(c);
}

TEST(config_bad_text) {
    struct {
        const char *text, *want;
    } bad[] = {
        {"{\n  \"a\": 1,\n  \"b\": ]\n}", "not valid JSON (line 3)"},
        {"{\n  \"a\": 1,\n", "not valid JSON (line"},
        {"", "not valid JSON (line 1)"},
        {"[1, 2]", "not a JSON object"},
        {"\"text\"", "not a JSON object"},
        {"{} {}", "text after the JSON object (line 1)"},
        {"{\"a\": 1,\n \"a\": 2}", "field 'a' appears twice"},
        {"{\"o\": {\"k\": 1, \"k\": 2}}", "field 'o': key 'k' appears twice"},
        {"{\"a\": 1e999}", "field 'a': number out of range"},
        {"{\n\"a\": \"\xc3\x28\"}", "not valid UTF-8 (line 2)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zy_config *c = (zy_config *)1;
        zy_status st = zy_config_parse(&c, bad[i].text, strlen(bad[i].text), "x/config.json");
        zt_note("bad %zu: %s", i, zy_last_error());
        CHECK(st == ZY_STATUS_BAD_FORMAT && c == NULL);
        CHECK(has("x/config.json: ") && has(bad[i].want));
    }
    // A NUL byte inside the given length; text not NUL-terminated at len.
    zy_config *c;
    CHECK(zy_config_parse(&c, "{\"a\":\0 1}", 9, "n") == ZY_STATUS_BAD_FORMAT && has("NUL"));
    CHECK(zy_config_parse(&c, "{\"a\": 1}XYZ", 8, "n") == ZY_STATUS_OK);
    zy_config_free(c);
    // Every prefix of a valid text: an error, never a crash (ASan checks the reads).
    const char *ok = "{\"a\": [1, 2.5, \"x\\u00e9\"], \"b\": {\"c\": null}, \"d\": true}";
    size_t len = strlen(ok);
    for (size_t k = 0; k < len; k++) {
        char *buf = zt_malloc(k + 1);
        memcpy(buf, ok, k);
        CHECK(zy_config_parse(&c, buf, k, "p") == ZY_STATUS_BAD_FORMAT);
        free(buf);
    }
}

TEST(config_files) {
    zy_config *c = (zy_config *)1;
    CHECK(zy_config_load(&c, tmp_file("absent.json")) == ZY_STATUS_NOT_FOUND && c == NULL);
    CHECK(has("absent.json"));
    CHECK(zy_config_load(&c, "/tmp") != ZY_STATUS_OK && c == NULL);
    // Oversized: refused from its size (a sparse file; nothing is read).
    const char *big = tmp_file("big.json");
    FILE *f = fopen(big, "wb");
    ASSERT(f != NULL);
    fclose(f);
    ASSERT(truncate(big, (16 << 20) + 1) == 0);
    CHECK(zy_config_load(&c, big) == ZY_STATUS_BAD_FORMAT && c == NULL);
    CHECK(has("too large"));
    remove(big);
    // The file's name is in later messages.
    const char *p = tmp_file("named.json");
    write_text(p, "{\n  \"n_head\": 0\n}\n");
    ASSERT(zy_config_load(&c, p) == ZY_STATUS_OK);
    int n;
    CHECK(zy_config_get_int(c, "n_head", 1, 4096, &n) == ZY_STATUS_BAD_FORMAT);
    char want[300];
    snprintf(want, sizeof want, "%s: field 'n_head' must be an integer in [1, 4096]", p);
    CHECK(has(want));
    zy_config_free(c);
    write_text(p, "{\n  \"n_head\": 0,\n  oops\n}\n");
    CHECK(zy_config_load(&c, p) == ZY_STATUS_BAD_FORMAT && has("(line 3)"));
    // Saving into a missing directory fails cleanly.
    ASSERT(zy_config_create(&c, "mem") == ZY_STATUS_OK);
    CHECK(zy_config_save(c, "/nonexistent-dir/x/config.json") == ZY_STATUS_IO);
    CHECK(strcmp(zy_config_name(c), "mem") == 0);
    zy_config_free(c);
    remove(p);
}
