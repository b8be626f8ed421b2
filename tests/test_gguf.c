// The GGUF container (include/zhuyi/gguf.h, src/io/gguf_*.c): the writer's bytes against
// the specification written out by hand, round trips of every metadata value type and of
// every tensor type, and hostile files (truncated, huge counts and lengths, bad types,
// misaligned or overlapping data, duplicates): each a clean error naming the file and
// what is wrong, never a crash or an allocation the file's size does not justify.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_safetensors.h"
#include "zhuyi/gguf.h"

// ---- a byte builder for hand-made files --------------------------------------------------
typedef struct bb {
    unsigned char *p;
    size_t n, cap;
} bb;

static void bb_put(bb *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void bb_le(bb *b, uint64_t v, int n) {
    unsigned char t[8];
    for (int i = 0; i < n; i++) t[i] = (unsigned char)(v >> (8 * i));
    bb_put(b, t, (size_t)n);
}
static void bb_u32(bb *b, uint32_t v) { bb_le(b, v, 4); }
static void bb_u64(bb *b, uint64_t v) { bb_le(b, v, 8); }
static void bb_str(bb *b, const char *s) {
    bb_u64(b, strlen(s));
    bb_put(b, s, strlen(s));
}
static void bb_pad(bb *b, size_t a) {
    while (b->n % a) bb_put(b, "", 1);
}
static void bb_header(bb *b, uint64_t n_tensors, uint64_t n_kv) {
    bb_put(b, "GGUF", 4);
    bb_u32(b, 3);
    bb_u64(b, n_tensors);
    bb_u64(b, n_kv);
}
// A tensor info: name, 1 or 2 dims, type, offset.
static void bb_tensor(bb *b, const char *name, uint64_t ne0, uint64_t ne1, uint32_t type,
                      uint64_t off) {
    bb_str(b, name);
    bb_u32(b, ne1 ? 2 : 1);
    bb_u64(b, ne0);
    if (ne1) bb_u64(b, ne1);
    bb_u32(b, type);
    bb_u64(b, off);
}

static char gpath[300];
static const char *file_in(const char *dir, const char *name) {
    snprintf(gpath, sizeof gpath, "%s/%s", dir, name);
    return gpath;
}

// Open what b holds; returns the status (the handle is freed).
static zy_status open_bytes(const char *path, const bb *b) {
    stt_put_file(path, b->p, b->n);
    zy_gguf *g;
    zy_status s = zy_gguf_open(&g, path);
    zy_gguf_free(g);
    return s;
}

// ---- the writer against the specification ------------------------------------------------
TEST(gguf_writer_bytes_are_the_spec) {
    const char *dir = stt_tmp_dir();
    zy_gguf_writer *w;
    ASSERT(zy_gguf_writer_create(&w) == ZY_STATUS_OK);
    float x[3] = {1.0f, -2.0f, 0.5f};
    uint64_t ne[2] = {3, 1};
    CHECK(zy_gguf_writer_set_string(w, "general.architecture", "gpt2", 4) == ZY_STATUS_OK);
    CHECK(zy_gguf_writer_set_uint(w, "gpt2.block_count", ZY_GGUF_UINT32, 7) == ZY_STATUS_OK);
    CHECK(zy_gguf_writer_add_tensor_f32(w, "a", ZY_WTYPE_F32, 2, ne, x) == ZY_STATUS_OK);
    CHECK(zy_gguf_writer_add_tensor_f32(w, "b", ZY_WTYPE_F32, 1, ne, x) == ZY_STATUS_OK);
    ASSERT(zy_gguf_writer_write(w, file_in(dir, "w.gguf"), NULL, NULL) == ZY_STATUS_OK);
    zy_gguf_writer_free(w);

    bb e = {0}; // what docs/gguf.md says these calls make
    bb_header(&e, 2, 2);
    bb_str(&e, "general.architecture");
    bb_u32(&e, ZY_GGUF_STRING);
    bb_str(&e, "gpt2");
    bb_str(&e, "gpt2.block_count");
    bb_u32(&e, ZY_GGUF_UINT32);
    bb_u32(&e, 7);
    bb_tensor(&e, "a", 3, 1, ZY_GGML_F32, 0);
    bb_tensor(&e, "b", 3, 0, ZY_GGML_F32, 32); // 12 bytes padded to 32
    bb_pad(&e, 32);
    bb_put(&e, x, 12);
    bb_pad(&e, 32);
    bb_put(&e, x, 12);
    bb_pad(&e, 32);
    size_t n;
    unsigned char *got = stt_get_file(file_in(dir, "w.gguf"), &n);
    ASSERT(got != NULL);
    zt_note("%zu bytes written, %zu expected", n, e.n);
    CHECK(n == e.n && !memcmp(got, e.p, n));
    free(got);
    free(e.p);
    stt_rm_dir(dir);
}

// ---- metadata round trip -----------------------------------------------------------------
TEST(gguf_roundtrip_every_value_type) {
    const char *dir = stt_tmp_dir();
    zy_gguf_writer *w;
    ASSERT(zy_gguf_writer_create(&w) == ZY_STATUS_OK);
    int16_t i16[3] = {-32768, 0, 32767};
    uint8_t bools[4] = {1, 0, 0, 1};
    double f64[2] = {1e300, -0.25};
    const char *strs[4] = {"", "hello", "a\0b", "\xe6\xb3\xa8\xe6\x84\x8f"};
    size_t lens[4] = {0, 5, 3, 6};
    zy_status s = zy_gguf_writer_set_uint(w, "u8", ZY_GGUF_UINT8, 255);
    if (!s) s = zy_gguf_writer_set_int(w, "i8", ZY_GGUF_INT8, -128);
    if (!s) s = zy_gguf_writer_set_uint(w, "u16", ZY_GGUF_UINT16, 65535);
    if (!s) s = zy_gguf_writer_set_int(w, "i16", ZY_GGUF_INT16, -300);
    if (!s) s = zy_gguf_writer_set_uint(w, "u32", ZY_GGUF_UINT32, 1); // replaced below
    if (!s) s = zy_gguf_writer_set_int(w, "i32", ZY_GGUF_INT32, INT32_MIN);
    if (!s) s = zy_gguf_writer_set_float(w, "f32", ZY_GGUF_FLOAT32, 0.1);
    if (!s) s = zy_gguf_writer_set_bool(w, "bool", true);
    if (!s) s = zy_gguf_writer_set_string(w, "str", "x\0y", 3);
    if (!s) s = zy_gguf_writer_set_uint(w, "u64", ZY_GGUF_UINT64, UINT64_MAX);
    if (!s) s = zy_gguf_writer_set_int(w, "i64", ZY_GGUF_INT64, INT64_MIN);
    if (!s) s = zy_gguf_writer_set_float(w, "f64", ZY_GGUF_FLOAT64, -1.5e-300);
    if (!s) s = zy_gguf_writer_set_array(w, "arr.i16", ZY_GGUF_INT16, i16, 3);
    if (!s) s = zy_gguf_writer_set_array(w, "arr.bool", ZY_GGUF_BOOL, bools, 4);
    if (!s) s = zy_gguf_writer_set_array(w, "arr.f64", ZY_GGUF_FLOAT64, f64, 2);
    if (!s) s = zy_gguf_writer_set_array(w, "arr.empty", ZY_GGUF_UINT32, NULL, 0);
    if (!s) s = zy_gguf_writer_set_array_strings(w, "arr.str", strs, lens, 4);
    if (!s) s = zy_gguf_writer_set_uint(w, "u32", ZY_GGUF_UINT32, 4000000000u);
    ASSERT(s == ZY_STATUS_OK);
    ASSERT(zy_gguf_writer_write(w, file_in(dir, "m.gguf"), NULL, NULL) == ZY_STATUS_OK);
    zy_gguf_writer_free(w);

    zy_gguf *g;
    ASSERT(zy_gguf_open(&g, file_in(dir, "m.gguf")) == ZY_STATUS_OK);
    ASSERT_EQ_INT(zy_gguf_kv_count(g), 17);
    ASSERT_EQ_INT(zy_gguf_tensor_count(g), 0);
    CHECK(zy_gguf_version(g) == 3 && zy_gguf_alignment(g) == 32);
    static const char *order[17] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
                                    "str", "u64", "i64", "f64", "arr.i16", "arr.bool",
                                    "arr.f64", "arr.empty", "arr.str"};
    for (int i = 0; i < 17; i++) CHECK(!strcmp(zy_gguf_kv_at(g, i)->key, order[i]));
    const zy_gguf_kv *kv;
    CHECK((kv = zy_gguf_find(g, "u8")) && kv->type == ZY_GGUF_UINT8 && kv->v.u == 255);
    CHECK((kv = zy_gguf_find(g, "i8")) && kv->type == ZY_GGUF_INT8 && kv->v.i == -128);
    CHECK((kv = zy_gguf_find(g, "u16")) && kv->type == ZY_GGUF_UINT16 && kv->v.u == 65535);
    CHECK((kv = zy_gguf_find(g, "i16")) && kv->type == ZY_GGUF_INT16 && kv->v.i == -300);
    CHECK((kv = zy_gguf_find(g, "u32")) && kv->type == ZY_GGUF_UINT32 && kv->v.u == 4000000000u);
    CHECK((kv = zy_gguf_find(g, "i32")) && kv->type == ZY_GGUF_INT32 && kv->v.i == INT32_MIN);
    CHECK((kv = zy_gguf_find(g, "f32")) && kv->type == ZY_GGUF_FLOAT32 && kv->v.f == (double)0.1f);
    CHECK((kv = zy_gguf_find(g, "bool")) && kv->type == ZY_GGUF_BOOL && kv->v.b);
    CHECK((kv = zy_gguf_find(g, "str")) && kv->type == ZY_GGUF_STRING && kv->str.len == 3 &&
          !memcmp(kv->str.s, "x\0y", 3));
    CHECK((kv = zy_gguf_find(g, "u64")) && kv->type == ZY_GGUF_UINT64 && kv->v.u == UINT64_MAX);
    CHECK((kv = zy_gguf_find(g, "i64")) && kv->type == ZY_GGUF_INT64 && kv->v.i == INT64_MIN);
    CHECK((kv = zy_gguf_find(g, "f64")) && kv->type == ZY_GGUF_FLOAT64 && kv->v.f == -1.5e-300);
    CHECK((kv = zy_gguf_find(g, "arr.i16")) && kv->type == ZY_GGUF_ARRAY &&
          kv->elem == ZY_GGUF_INT16 && kv->n == 3 && !memcmp(kv->arr, i16, sizeof i16));
    CHECK((kv = zy_gguf_find(g, "arr.bool")) && kv->elem == ZY_GGUF_BOOL && kv->n == 4 &&
          !memcmp(kv->arr, bools, 4));
    CHECK((kv = zy_gguf_find(g, "arr.f64")) && kv->elem == ZY_GGUF_FLOAT64 && kv->n == 2 &&
          !memcmp(kv->arr, f64, sizeof f64));
    CHECK((kv = zy_gguf_find(g, "arr.empty")) && kv->elem == ZY_GGUF_UINT32 && kv->n == 0);
    ASSERT((kv = zy_gguf_find(g, "arr.str")) && kv->elem == ZY_GGUF_STRING && kv->n == 4);
    const zy_gguf_str *gs = kv->arr;
    for (int i = 0; i < 4; i++) CHECK(gs[i].len == lens[i] && !memcmp(gs[i].s, strs[i], lens[i]));
    CHECK(zy_gguf_find(g, "nope") == NULL);

    // The typed getters: values, wrong types and ranges named.
    uint64_t u;
    double f;
    bool b;
    const char *str;
    CHECK(zy_gguf_get_uint(g, "u16", 0, 70000, &u) == ZY_STATUS_OK && u == 65535);
    CHECK(zy_gguf_get_uint(g, "u16", 0, 100, &u) == ZY_STATUS_BAD_FORMAT &&
          stt_has(zy_last_error(), "'u16' = 65535 must be in [0, 100]"));
    CHECK(zy_gguf_get_uint(g, "i8", 0, 10, &u) == ZY_STATUS_BAD_FORMAT);
    CHECK(zy_gguf_get_uint(g, "f32", 0, 10, &u) == ZY_STATUS_BAD_FORMAT &&
          stt_has(zy_last_error(), "must be an integer, not a float32"));
    CHECK(zy_gguf_get_uint(g, "missing", 0, 10, &u) == ZY_STATUS_NOT_FOUND &&
          stt_has(zy_last_error(), "key 'missing' missing"));
    CHECK(zy_gguf_get_float(g, "f64", &f) == ZY_STATUS_OK && f == -1.5e-300);
    CHECK(zy_gguf_get_bool(g, "bool", &b) == ZY_STATUS_OK && b);
    CHECK(zy_gguf_get_string(g, "str", &str) == ZY_STATUS_BAD_FORMAT &&
          stt_has(zy_last_error(), "NUL"));
    CHECK(zy_gguf_get_array(g, "arr.str", ZY_GGUF_STRING, &kv) == ZY_STATUS_OK);
    CHECK(zy_gguf_get_array(g, "arr.str", ZY_GGUF_INT32, &kv) == ZY_STATUS_BAD_FORMAT &&
          stt_has(zy_last_error(), "must be an array of int32, not of string"));
    zy_gguf_free(g);
    stt_rm_dir(dir);
}

// ---- tensors round trip ------------------------------------------------------------------
TEST(gguf_roundtrip_every_tensor_type) {
    const char *dir = stt_tmp_dir();
    enum { ROWS = 3, COLS = 64 };
    float x[ROWS * COLS];
    for (int i = 0; i < ROWS * COLS; i++) x[i] = (float)((i * 37) % 101 - 50) / 7.0f;
    uint64_t ne[2] = {COLS, ROWS};
    // Raw tensors of types zhuyi cannot convert: any bytes of the right size.
    unsigned char q4k[144 * 3];
    for (size_t i = 0; i < sizeof q4k; i++) q4k[i] = (unsigned char)(i * 13);
    int32_t ints[5] = {1, -2, 3, -4, 5};
    uint64_t ne_k[2] = {256, 3}, ne_i[1] = {5};
    for (int alignment = 32; alignment <= 64; alignment += 32) {
        zy_gguf_writer *w;
        ASSERT(zy_gguf_writer_create(&w) == ZY_STATUS_OK);
        if (alignment != 32)
            CHECK(zy_gguf_writer_set_uint(w, "general.alignment", ZY_GGUF_UINT32, 64) == 0);
        for (int t = 0; t < ZY_WTYPE_COUNT; t++)
            CHECK(zy_gguf_writer_add_tensor_f32(w, zy_wtype_name((zy_wtype)t), (zy_wtype)t, 2,
                                                ne, x) == ZY_STATUS_OK);
        CHECK(zy_gguf_writer_add_tensor(w, "raw.q4_K", ZY_GGML_Q4_K, 2, ne_k, q4k) == 0);
        CHECK(zy_gguf_writer_add_tensor(w, "raw.i32", ZY_GGML_I32, 1, ne_i, ints) == 0);
        ASSERT(zy_gguf_writer_write(w, file_in(dir, "t.gguf"), NULL, NULL) == ZY_STATUS_OK);
        zy_gguf_writer_free(w);

        zy_gguf *g;
        ASSERT(zy_gguf_open(&g, file_in(dir, "t.gguf")) == ZY_STATUS_OK);
        ASSERT_EQ_INT(zy_gguf_tensor_count(g), ZY_WTYPE_COUNT + 2);
        CHECK(zy_gguf_alignment(g) == (uint32_t)alignment);
        CHECK(zy_gguf_data_offset(g) % (uint64_t)alignment == 0);
        for (int t = 0; t < ZY_WTYPE_COUNT; t++) {
            const zy_gguf_tensor *ti = zy_gguf_tensor_at(g, t);
            zy_wtype wt = (zy_wtype)t;
            size_t rb = zy_wtype_row_bytes(wt, COLS);
            ASSERT(ti && !strcmp(ti->name, zy_wtype_name(wt)));
            CHECK(ti->type == (uint32_t)zy_ggml_type_of_wtype(wt) && ti->ndim == 2 &&
                  ti->ne[0] == COLS && ti->ne[1] == ROWS && ti->numel == ROWS * COLS &&
                  ti->nbytes == ROWS * rb && ti->offset % (uint64_t)alignment == 0);
            // The bytes are quant.h's rows; the floats their dequantization.
            unsigned char raw[ROWS * COLS * 4], want[ROWS * COLS * 4];
            float got[ROWS * COLS], back[ROWS * COLS];
            for (int r = 0; r < ROWS; r++) {
                zy_quantize_row(wt, x + r * COLS, want + r * rb, COLS);
                zy_dequantize_row(wt, want + r * rb, back + r * COLS, COLS);
            }
            CHECK(zy_gguf_read_raw(g, ti->name, raw, ti->nbytes) == ZY_STATUS_OK &&
                  !memcmp(raw, want, ti->nbytes));
            CHECK(zy_gguf_read_f32(g, ti->name, got, ROWS * COLS) == ZY_STATUS_OK &&
                  !memcmp(got, back, sizeof got));
            if (wt == ZY_WTYPE_F32) CHECK(!memcmp(got, x, sizeof x));
        }
        unsigned char raw[sizeof q4k];
        CHECK(zy_gguf_read_raw(g, "raw.q4_K", raw, sizeof raw) == 0 &&
              !memcmp(raw, q4k, sizeof q4k));
        int32_t ib[5];
        CHECK(zy_gguf_read_raw(g, "raw.i32", ib, sizeof ib) == 0 && !memcmp(ib, ints, sizeof ib));
        float f[256 * 3];
        CHECK(zy_gguf_read_f32(g, "raw.q4_K", f, 256 * 3) == ZY_STATUS_UNSUPPORTED &&
              stt_has(zy_last_error(), "q4_K"));
        CHECK(zy_gguf_read_f32(g, "f32", f, 5) == ZY_STATUS_SHAPE_MISMATCH);
        CHECK(zy_gguf_read_raw(g, "nope", raw, 1) == ZY_STATUS_NOT_FOUND);
        zy_gguf_free(g);
    }
    stt_rm_dir(dir);
}

TEST(gguf_writer_refuses_bad_calls) {
    zy_gguf_writer *w;
    ASSERT(zy_gguf_writer_create(&w) == ZY_STATUS_OK);
    float x[48] = {0};
    uint64_t ne48[1] = {48}, ne64[1] = {64};
    char long_name[80];
    memset(long_name, 'n', 64);
    long_name[64] = '\0';
    CHECK(zy_gguf_writer_set_uint(w, "", ZY_GGUF_UINT32, 1) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_gguf_writer_set_uint(w, "k", ZY_GGUF_UINT8, 256) == ZY_STATUS_INVALID_ARGUMENT &&
          stt_has(zy_last_error(), "does not fit in a uint8"));
    CHECK(zy_gguf_writer_set_int(w, "k", ZY_GGUF_INT8, 128) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_gguf_writer_set_uint(w, "k", ZY_GGUF_INT32, 1) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_gguf_writer_set_uint(w, "general.alignment", ZY_GGUF_UINT32, 48) ==
          ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_gguf_writer_set_uint(w, "general.alignment", ZY_GGUF_UINT64, 64) ==
          ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_gguf_writer_set_array(w, "k", ZY_GGUF_STRING, x, 1) == ZY_STATUS_INVALID_ARGUMENT);
    uint8_t two = 2;
    CHECK(zy_gguf_writer_set_array(w, "k", ZY_GGUF_BOOL, &two, 1) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_gguf_writer_add_tensor_f32(w, "q", ZY_WTYPE_Q8_0, 1, ne48, x) ==
              ZY_STATUS_INVALID_ARGUMENT &&
          stt_has(zy_last_error(), "ne[0] = 48 is not a multiple of q8_0's block of 32"));
    CHECK(zy_gguf_writer_add_tensor_f32(w, long_name, ZY_WTYPE_F32, 1, ne64, x) ==
          ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_gguf_writer_add_tensor_f32(w, "a", ZY_WTYPE_F32, 0, ne64, x) ==
          ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_gguf_writer_add_tensor(w, "a", 4, 1, ne64, x) == ZY_STATUS_INVALID_ARGUMENT &&
          stt_has(zy_last_error(), "unknown ggml type 4"));
    CHECK(zy_gguf_writer_add_tensor_f32(w, "a", ZY_WTYPE_F32, 1, ne48, x) == ZY_STATUS_OK);
    CHECK(zy_gguf_writer_add_tensor_f32(w, "a", ZY_WTYPE_F32, 1, ne48, x) ==
              ZY_STATUS_INVALID_ARGUMENT &&
          stt_has(zy_last_error(), "added twice"));
    zy_gguf_writer_free(w);
}

static int stop_at_once(uint64_t done, uint64_t total, void *user) {
    ++*(int *)user;
    return 1;
}

TEST(gguf_writer_progress_stops_cleanly) {
    const char *dir = stt_tmp_dir();
    zy_gguf_writer *w;
    ASSERT(zy_gguf_writer_create(&w) == ZY_STATUS_OK);
    float x[64] = {0};
    uint64_t ne[1] = {64};
    CHECK(zy_gguf_writer_add_tensor_f32(w, "a", ZY_WTYPE_Q8_0, 1, ne, x) == ZY_STATUS_OK);
    int calls = 0;
    CHECK(zy_gguf_writer_write(w, file_in(dir, "p.gguf"), stop_at_once, &calls) ==
          ZY_STATUS_INTERRUPTED);
    CHECK(calls == 1);
    size_t n;
    unsigned char *b = stt_get_file(file_in(dir, "p.gguf"), &n);
    CHECK(b == NULL && stt_count_tmp(dir) == 0); // nothing left behind
    free(b);
    zy_gguf_writer_free(w);
    stt_rm_dir(dir);
}

// ---- hostile files -----------------------------------------------------------------------
// A valid small file: two metadata pairs (a string array among them) and two tensors.
static void valid_file(bb *b) {
    bb_header(b, 2, 2);
    bb_str(b, "general.architecture");
    bb_u32(b, ZY_GGUF_STRING);
    bb_str(b, "test");
    bb_str(b, "tok");
    bb_u32(b, ZY_GGUF_ARRAY);
    bb_u32(b, ZY_GGUF_STRING);
    bb_u64(b, 2);
    bb_str(b, "a");
    bb_str(b, "bc");
    bb_tensor(b, "x", 4, 2, ZY_GGML_F32, 0);
    bb_tensor(b, "y", 32, 0, ZY_GGML_Q8_0, 32);
    bb_pad(b, 32);
    for (int i = 0; i < 32 + 34; i++) bb_put(b, "\x11", 1);
}

TEST(gguf_hostile_truncations_and_flips) {
    const char *dir = stt_tmp_dir();
    const char *path = file_in(dir, "h.gguf");
    bb v = {0};
    valid_file(&v);
    ASSERT(open_bytes(path, &v) == ZY_STATUS_OK);
    int wrongly = 0, cases = 0;
    for (size_t len = 0; len < v.n; len++, cases++) { // every prefix is short somewhere
        bb cut = {v.p, len, v.n};
        zy_status s = open_bytes(path, &cut);
        if (s != ZY_STATUS_BAD_FORMAT || !stt_has(zy_last_error(), path)) {
            wrongly++;
            zt_note("length %zu: status %d: %s", len, s, zy_last_error());
        }
    }
    zt_note("%d truncations, %d not refused cleanly", cases, wrongly);
    CHECK(wrongly == 0);
    // Random byte changes: an error that names the file, or a file whose tensors all read.
    uint64_t st = 88172645463325252ull;
    int accepted = 0;
    for (int k = 0; k < 3000; k++) {
        bb m = {malloc(v.n), v.n, v.n};
        memcpy(m.p, v.p, v.n);
        for (int f = 0; f < 1 + k % 3; f++) {
            st ^= st << 13, st ^= st >> 7, st ^= st << 17;
            m.p[st % m.n] = (unsigned char)(st >> 40);
        }
        stt_put_file(path, m.p, m.n);
        zy_gguf *g;
        zy_status s = zy_gguf_open(&g, path);
        if (s == ZY_STATUS_OK) {
            accepted++;
            for (int i = 0; i < zy_gguf_tensor_count(g); i++) {
                const zy_gguf_tensor *t = zy_gguf_tensor_at(g, i);
                void *d = malloc(t->nbytes + 1);
                CHECK(zy_gguf_read_raw(g, t->name, d, t->nbytes) == ZY_STATUS_OK);
                free(d);
            }
            zy_gguf_free(g);
        } else if ((s != ZY_STATUS_BAD_FORMAT && s != ZY_STATUS_UNSUPPORTED) ||
                   !stt_has(zy_last_error(), path)) {
            zt_fail(__FILE__, __LINE__, "flip case %d: status %d: %s", k, s, zy_last_error());
        }
        free(m.p);
    }
    zt_note("3000 mutated files, %d still valid", accepted);
    free(v.p);
    stt_rm_dir(dir);
}

// Each case: a file made by `make`, the status and a part of the message expected.
typedef struct hostile {
    const char *what, *msg;
    zy_status status;
    void (*make)(bb *b);
} hostile;

static void h_magic(bb *b) {
    bb_put(b, "GGUG", 4);
    bb_u32(b, 3), bb_u64(b, 0), bb_u64(b, 0);
}
static void h_v1(bb *b) {
    bb_put(b, "GGUF", 4);
    bb_u32(b, 1), bb_u64(b, 0), bb_u64(b, 0);
}
static void h_big_endian(bb *b) {
    bb_put(b, "GGUF", 4);
    bb_u32(b, 3u << 24), bb_u64(b, 0), bb_u64(b, 0);
}
static void h_huge_kv(bb *b) { bb_header(b, 0, UINT64_MAX); }
static void h_huge_tensors(bb *b) { bb_header(b, (uint64_t)1 << 40, 0); }
static void h_huge_string(bb *b) {
    bb_header(b, 0, 1);
    bb_str(b, "k");
    bb_u32(b, ZY_GGUF_STRING);
    bb_u64(b, (uint64_t)1 << 62);
}
static void h_huge_array(bb *b) {
    bb_header(b, 0, 1);
    bb_str(b, "k");
    bb_u32(b, ZY_GGUF_ARRAY);
    bb_u32(b, ZY_GGUF_STRING);
    bb_u64(b, (uint64_t)1 << 61);
    bb_str(b, "a");
}
static void h_long_key(bb *b) {
    bb_header(b, 0, 1);
    bb_u64(b, 70000);
    bb_u64(b, 0), bb_u64(b, 0); // enough bytes for one pair, so the count passes
}
static void h_nul_key(bb *b) {
    bb_header(b, 0, 1);
    bb_u64(b, 3);
    bb_put(b, "a\0b", 3);
    bb_u32(b, ZY_GGUF_UINT8);
    bb_put(b, "\1", 1);
}
static void h_value_type(bb *b) {
    bb_header(b, 0, 1);
    bb_str(b, "k");
    bb_u32(b, 13);
    bb_u32(b, 0);
}
static void h_bool(bb *b) {
    bb_header(b, 0, 1);
    bb_str(b, "k");
    bb_u32(b, ZY_GGUF_BOOL);
    bb_put(b, "\2", 1);
}
static void h_nested(bb *b) {
    bb_header(b, 0, 1);
    bb_str(b, "k");
    bb_u32(b, ZY_GGUF_ARRAY);
    bb_u32(b, ZY_GGUF_ARRAY);
    bb_u64(b, 0);
}
static void h_dup_key(bb *b) {
    bb_header(b, 0, 2);
    for (int i = 0; i < 2; i++) bb_str(b, "k"), bb_u32(b, ZY_GGUF_UINT8), bb_put(b, "\1", 1);
}
static void h_alignment_type(bb *b) {
    bb_header(b, 0, 1);
    bb_str(b, "general.alignment");
    bb_u32(b, ZY_GGUF_UINT64);
    bb_u64(b, 32);
}
static void h_alignment_pow2(bb *b) {
    bb_header(b, 0, 1);
    bb_str(b, "general.alignment");
    bb_u32(b, ZY_GGUF_UINT32);
    bb_u32(b, 24);
}
static void h_dims(bb *b) {
    bb_header(b, 1, 0);
    bb_str(b, "t");
    bb_u32(b, 5);
    for (int i = 0; i < 5; i++) bb_u64(b, 1);
    bb_u32(b, 0), bb_u64(b, 0);
}
static void h_numel(bb *b) {
    bb_header(b, 1, 0);
    bb_str(b, "t");
    bb_u32(b, 2), bb_u64(b, (uint64_t)1 << 40), bb_u64(b, (uint64_t)1 << 40);
    bb_u32(b, 0), bb_u64(b, 0);
}
// 2^62 + 4 f32 values in one row: 2^64 + 16 bytes, which wrapped to 16 before the row's
// own size was checked (found by fuzz_gguf).
static void h_row_bytes(bb *b) {
    bb_header(b, 1, 0);
    bb_tensor(b, "t", ((uint64_t)1 << 62) + 4, 0, ZY_GGML_F32, 0);
    bb_pad(b, 32);
    for (int i = 0; i < 16; i++) bb_put(b, "", 1);
}
static void h_ggml_type(bb *b) {
    bb_header(b, 1, 0);
    bb_tensor(b, "t", 4, 0, 5, 0);
}
static void h_block(bb *b) {
    bb_header(b, 1, 0);
    bb_tensor(b, "t", 48, 0, ZY_GGML_Q8_0, 0);
    bb_pad(b, 32);
    for (int i = 0; i < 64; i++) bb_put(b, "", 1);
}
static void h_misaligned(bb *b) {
    bb_header(b, 1, 0);
    bb_tensor(b, "t", 4, 0, ZY_GGML_F32, 8);
    bb_pad(b, 32);
    for (int i = 0; i < 64; i++) bb_put(b, "", 1);
}
static void h_past_end(bb *b) {
    bb_header(b, 1, 0);
    bb_tensor(b, "t", 4, 0, ZY_GGML_F32, 32);
    bb_pad(b, 32);
    for (int i = 0; i < 40; i++) bb_put(b, "", 1);
}
static void h_huge_offset(bb *b) {
    bb_header(b, 1, 0);
    bb_tensor(b, "t", 4, 0, ZY_GGML_F32, UINT64_MAX - 31);
    bb_pad(b, 32);
    for (int i = 0; i < 40; i++) bb_put(b, "", 1);
}
static void h_overlap(bb *b) {
    bb_header(b, 2, 0);
    bb_tensor(b, "a", 16, 0, ZY_GGML_F32, 0);
    bb_tensor(b, "b", 4, 0, ZY_GGML_F32, 32);
    bb_pad(b, 32);
    for (int i = 0; i < 64; i++) bb_put(b, "", 1);
}
static void h_dup_tensor(bb *b) {
    bb_header(b, 2, 0);
    bb_tensor(b, "a", 4, 0, ZY_GGML_F32, 0);
    bb_tensor(b, "a", 4, 0, ZY_GGML_F32, 32);
    bb_pad(b, 32);
    for (int i = 0; i < 64; i++) bb_put(b, "", 1);
}
static void h_long_name(bb *b) {
    bb_header(b, 1, 0);
    bb_u64(b, 65);
    for (int i = 0; i < 65; i++) bb_put(b, "n", 1);
    bb_u32(b, 1), bb_u64(b, 4), bb_u32(b, 0), bb_u64(b, 0);
}
static void h_empty_name(bb *b) {
    bb_header(b, 1, 0);
    bb_tensor(b, "", 4, 0, ZY_GGML_F32, 0);
}

TEST(gguf_hostile_files_name_what_is_wrong) {
    static const hostile cases[] = {
        {"magic", "not a GGUF file", ZY_STATUS_BAD_FORMAT, h_magic},
        {"version 1", "version 1 is not supported", ZY_STATUS_UNSUPPORTED, h_v1},
        {"big-endian", "big-endian", ZY_STATUS_UNSUPPORTED, h_big_endian},
        {"huge kv count", "more than the 0 bytes after it can hold", ZY_STATUS_BAD_FORMAT,
         h_huge_kv},
        {"huge tensor count", "1099511627776 tensors", ZY_STATUS_BAD_FORMAT, h_huge_tensors},
        {"huge string", "the value of key 'k' is 4611686018427387904 bytes long but",
         ZY_STATUS_BAD_FORMAT, h_huge_string},
        {"huge array", "key 'k': an array of 2305843009213693952 string values cannot fit",
         ZY_STATUS_BAD_FORMAT, h_huge_array},
        {"long key", "the key of metadata pair 0 is 70000 bytes long; the limit is 65535",
         ZY_STATUS_BAD_FORMAT, h_long_key},
        {"NUL in key", "holds a NUL byte", ZY_STATUS_BAD_FORMAT, h_nul_key},
        {"value type", "key 'k': unknown value type 13", ZY_STATUS_BAD_FORMAT, h_value_type},
        {"bool 2", "key 'k': a bool is 0 or 1, not 2", ZY_STATUS_BAD_FORMAT, h_bool},
        {"nested array", "arrays of arrays are not supported", ZY_STATUS_UNSUPPORTED, h_nested},
        {"duplicate key", "key 'k' appears twice", ZY_STATUS_BAD_FORMAT, h_dup_key},
        {"alignment type", "'general.alignment' must be a uint32, not a uint64",
         ZY_STATUS_BAD_FORMAT, h_alignment_type},
        {"alignment 24", "'general.alignment' = 24 is not a power of two", ZY_STATUS_BAD_FORMAT,
         h_alignment_pow2},
        {"5 dims", "tensor 't' has 5 dimensions; at most 4", ZY_STATUS_BAD_FORMAT, h_dims},
        {"2^80 elements", "makes more than 2^63 elements", ZY_STATUS_BAD_FORMAT, h_numel},
        {"a row of 2^64 bytes", "tensor 't' is more than 2^64 bytes", ZY_STATUS_BAD_FORMAT,
         h_row_bytes},
        {"ggml type 5", "tensor 't' has unknown ggml type 5", ZY_STATUS_BAD_FORMAT, h_ggml_type},
        {"q8_0 of 48", "ne[0] = 48 is not a multiple of q8_0's block of 32",
         ZY_STATUS_BAD_FORMAT, h_block},
        {"misaligned", "tensor 't': offset 8 is not a multiple of the alignment 32",
         ZY_STATUS_BAD_FORMAT, h_misaligned},
        {"past the end", "tensor 't': its 16 bytes at offset 32 run past the end",
         ZY_STATUS_BAD_FORMAT, h_past_end},
        {"offset near 2^64", "run past the end", ZY_STATUS_BAD_FORMAT, h_huge_offset},
        {"overlap", "tensors 'a' (bytes 0..64) and 'b' (from byte 32) overlap",
         ZY_STATUS_BAD_FORMAT, h_overlap},
        {"duplicate tensor", "tensor 'a' appears twice", ZY_STATUS_BAD_FORMAT, h_dup_tensor},
        {"65-byte name", "the name of tensor 0 is 65 bytes long; the limit is 64",
         ZY_STATUS_BAD_FORMAT, h_long_name},
        {"empty name", "tensor 0 has an empty name", ZY_STATUS_BAD_FORMAT, h_empty_name},
    };
    const char *dir = stt_tmp_dir();
    const char *path = file_in(dir, "h.gguf");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bb b = {0};
        cases[i].make(&b);
        zy_status s = open_bytes(path, &b);
        const char *e = zy_last_error();
        if (s != cases[i].status || !stt_has(e, cases[i].msg) || !stt_has(e, path))
            zt_fail(__FILE__, __LINE__, "%s: status %d, message: %s", cases[i].what, s, e);
        else
            zt_note("%s: %s", cases[i].what, e + strlen(path) + 2);
        free(b.p);
    }
    stt_rm_dir(dir);
}

TEST(gguf_is_gguf_and_missing_files) {
    const char *dir = stt_tmp_dir();
    bb v = {0};
    valid_file(&v);
    stt_put_file(file_in(dir, "a.gguf"), v.p, v.n);
    CHECK(zy_gguf_is_gguf(gpath));
    stt_put_file(file_in(dir, "b.txt"), "GGU", 3);
    CHECK(!zy_gguf_is_gguf(gpath));
    CHECK(!zy_gguf_is_gguf(dir));
    zy_gguf *g;
    CHECK(zy_gguf_open(&g, file_in(dir, "none.gguf")) == ZY_STATUS_NOT_FOUND);
    CHECK(zy_gguf_open(&g, dir) == ZY_STATUS_IO);
    free(v.p);
    stt_rm_dir(dir);
}
