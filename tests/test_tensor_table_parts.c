// The named-tensor table's harder cases (src/io/tensor_table_io.c): split and fused
// tensors, optional tensors, and files refused before the parameters change (missing
// tensors, wrong shapes or dtypes, truncated and garbage bytes).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "test_safetensors.h"
#include "test_tensor_table.h"
#include "zhuyi/hf.h"
#include "zhuyi/io.h"

static const char *tmp_file(const char *name) {
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "/tmp/zhuyi_ttp_%ld_%s", (long)getpid(), name);
    return p;
}

static zy_tensor_def part(const char *name, int ndim, int64_t s0, int64_t s1, int64_t s2,
                          int dim, int64_t start, int64_t total) {
    zy_tensor_def d = ttt_def(name, ndim, s0, s1, s2);
    d.part_dim = dim;
    d.part_start = start;
    d.part_total = total;
    return d;
}

static float *read_tensor(const char *path, const char *name, size_t n) {
    zy_safetensors *st;
    float *x = zt_floats(n);
    if (zy_safetensors_open(&st, path) == ZY_STATUS_OK) {
        if (zy_safetensors_read_f32(st, name, x, n))
            zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
        zy_safetensors_free(st);
    }
    return x;
}

// Split along dim 0, dim 1 (with a transposed part) and the middle dim of a 3-D tensor,
// parts added out of order: the file holds the assembled tensors, loading scatters back.
TEST(tensor_table_parts_split_round_trip) {
    zy_tensor_table *t;
    ASSERT(zy_tensor_table_create(&t) == ZY_STATUS_OK);
    int w1 = ttt_add(t, part("w", 2, 3, 6, 0, 0, 1, 4)); // rows [1, 4) of w (4, 6)
    int w0 = ttt_add(t, part("w", 2, 1, 6, 0, 0, 0, 4)); // row 0
    zy_tensor_def d = part("v", 2, 4, 2, 0, 1, 0, 6);     // columns [0, 2) of v (4, 6),
    d.transposed = true;                                 // kept (2, 4)
    int v0 = ttt_add(t, d);
    int v1 = ttt_add(t, part("v", 2, 4, 4, 0, 1, 2, 6));
    int c0 = ttt_add(t, part("c", 3, 2, 2, 3, 1, 0, 5)); // c (2, 5, 3) along dim 1
    int c1 = ttt_add(t, part("c", 3, 2, 3, 3, 1, 2, 5));
    CHECK(zy_tensor_table_find(t, "w") == w1 && zy_tensor_table_find(t, "v") == v0);
    size_t n = zy_tensor_table_floats(t);
    ASSERT(n == 48 + 30);
    float *p = zt_floats(n), *q = zt_floats(n);
    zt_fill_uniform(p, n, 3, -1, 1);
    const char *a = tmp_file("split.safetensors");
    ASSERT(zy_tensor_table_save(t, a, p, ZY_DTYPE_F32) == ZY_STATUS_OK);
    float *w = read_tensor(a, "w", 24), *v = read_tensor(a, "v", 24), *c = read_tensor(a, "c", 30);
    const float *pw1 = p + zy_tensor_table_at(t, w1)->offset, *pw0 = p + zy_tensor_table_at(t, w0)->offset;
    const float *pv0 = p + zy_tensor_table_at(t, v0)->offset, *pv1 = p + zy_tensor_table_at(t, v1)->offset;
    const float *pc0 = p + zy_tensor_table_at(t, c0)->offset, *pc1 = p + zy_tensor_table_at(t, c1)->offset;
    int ok = 1;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 6; j++) {
            ok &= w[i * 6 + j] == (i == 0 ? pw0[j] : pw1[(i - 1) * 6 + j]);
            ok &= v[i * 6 + j] == (j < 2 ? pv0[j * 4 + i] : pv1[i * 4 + j - 2]);
        }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 5; j++)
            for (int k = 0; k < 3; k++)
                ok &= c[(i * 5 + j) * 3 + k] ==
                      (j < 2 ? pc0[(i * 2 + j) * 3 + k] : pc1[(i * 3 + j - 2) * 3 + k]);
    CHECK(ok);
    bool missing[6];
    ASSERT(zy_tensor_table_load(t, a, q, 0, missing) == ZY_STATUS_OK);
    CHECK(memcmp(p, q, n * sizeof *p) == 0);
    free(w);
    free(v);
    free(c);
    free(p);
    free(q);
    zy_tensor_table_free(t);
    remove(a);
}

// GPT-2's c_attn (C, 3C) in the file as three transposed (C, C) parts q, k, v is the same
// layout as one transposed (3C, C) entry; and BERT's separate query/key/value (C, C) are
// three adjacent entries making one (3C, C) matrix.
TEST(tensor_table_parts_fused_and_split_qkv) {
    const int C = 5;
    zy_tensor_table *whole, *parts, *fused;
    ASSERT(zy_tensor_table_create(&whole) == ZY_STATUS_OK);
    ASSERT(zy_tensor_table_create(&parts) == ZY_STATUS_OK);
    ASSERT(zy_tensor_table_create(&fused) == ZY_STATUS_OK);
    zy_tensor_def d = ttt_def("c_attn.weight", 2, C, 3 * C, 0);
    d.transposed = true;
    ttt_add(whole, d);
    for (int k = 0; k < 3; k++) {
        d = part("c_attn.weight", 2, C, C, 0, 1, k * C, 3 * C);
        d.transposed = true;
        ttt_add(parts, d);
    }
    const char *names[] = {"attn.query.weight", "attn.key.weight", "attn.value.weight"};
    for (int k = 0; k < 3; k++) ttt_add(fused, ttt_def(names[k], 2, C, C, 0));
    for (int k = 0; k < 3; k++) CHECK(zy_tensor_table_at(fused, k)->offset == (size_t)(k * C * C));
    size_t n = 3 * C * C;
    float *p = zt_floats(n), *q = zt_floats(n), *r = zt_floats(n);
    zt_fill_uniform(p, n, 5, -1, 1);
    const char *a = tmp_file("qkv.safetensors"), *b = tmp_file("qkv2.safetensors");
    ASSERT(zy_tensor_table_save(whole, a, p, ZY_DTYPE_F32) == ZY_STATUS_OK);
    ASSERT(zy_tensor_table_load(parts, a, q, 0, NULL) == ZY_STATUS_OK);
    CHECK(memcmp(p, q, n * sizeof *p) == 0);
    ASSERT(zy_tensor_table_save(parts, b, q, ZY_DTYPE_F32) == ZY_STATUS_OK);
    float *fa = read_tensor(a, "c_attn.weight", n), *fb = read_tensor(b, "c_attn.weight", n);
    CHECK(memcmp(fa, fb, n * sizeof *fa) == 0);
    // Fused: three file tensors in, the same three out, one (3C, C) block in memory.
    ASSERT(zy_tensor_table_save(fused, a, p, ZY_DTYPE_F32) == ZY_STATUS_OK);
    float *key = read_tensor(a, "attn.key.weight", (size_t)(C * C));
    CHECK(memcmp(key, p + C * C, (size_t)(C * C) * sizeof *p) == 0);
    ASSERT(zy_tensor_table_load(fused, a, r, 0, NULL) == ZY_STATUS_OK);
    CHECK(memcmp(p, r, n * sizeof *p) == 0);
    free(key);
    free(fa);
    free(fb);
    free(p);
    free(q);
    free(r);
    zy_tensor_table_free(whole);
    zy_tensor_table_free(parts);
    zy_tensor_table_free(fused);
    remove(a);
    remove(b);
}

TEST(tensor_table_parts_must_tile) {
    zy_tensor_table *t;
    ASSERT(zy_tensor_table_create(&t) == ZY_STATUS_OK);
    ttt_add(t, ttt_def("ok", 1, 3, 0, 0));
    ttt_add(t, part("gap", 2, 4, 2, 0, 1, 0, 6)); // columns [0, 2) and [3, 5) of 6
    ttt_add(t, part("gap", 2, 4, 2, 0, 1, 3, 6));
    size_t n = zy_tensor_table_floats(t);
    float *p = zt_floats(n);
    const char *a = tmp_file("gap.safetensors");
    CHECK(zy_tensor_table_save(t, a, p, ZY_DTYPE_F32) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(ttt_has("tensor 'gap': its parts cover 4 of 6 along dimension 1"));
    CHECK(access(a, F_OK) != 0); // nothing written
    // Loading: refused too, before the file is even opened.
    CHECK(zy_tensor_table_load(t, a, p, 0, NULL) == ZY_STATUS_INVALID_ARGUMENT && ttt_has("'gap'"));
    free(p);
    zy_tensor_table_free(t);
}

TEST(tensor_table_optional_and_missing) {
    zy_tensor_table *body, *t;
    ASSERT(zy_tensor_table_create(&body) == ZY_STATUS_OK);
    ASSERT(zy_tensor_table_create(&t) == ZY_STATUS_OK);
    ttt_add(body, ttt_def("body.weight", 2, 3, 4, 0));
    ttt_add(t, ttt_def("body.weight", 2, 3, 4, 0));
    zy_tensor_def d = ttt_def("head.weight", 2, 2, 3, 0);
    d.optional = true;
    d.init_std = 0.5f;
    int head = ttt_add(t, d);
    d = ttt_def("head.bias", 1, 2, 0, 0);
    d.optional = true;
    d.init = ZY_INIT_ONES;
    ttt_add(t, d);
    d = part("split", 1, 2, 0, 0, 0, 0, 5);
    d.optional = true;
    ttt_add(t, d);
    d.shape[0] = 3, d.part_start = 2;
    ttt_add(t, d);
    size_t n = zy_tensor_table_floats(t);
    float *p = zt_floats(12), *q = zt_floats(n), *want = zt_floats(n);
    zt_fill_uniform(p, 12, 11, -1, 1);
    const char *a = tmp_file("body.safetensors");
    ASSERT(zy_tensor_table_save(body, a, p, ZY_DTYPE_F32) == ZY_STATUS_OK);
    bool missing[5] = {true, false, false, false, false};
    ASSERT(zy_tensor_table_load(t, a, q, 77, missing) == ZY_STATUS_OK);
    CHECK(!missing[0] && missing[1] && missing[2] && missing[3] && missing[4]);
    CHECK(memcmp(q, p, 12 * sizeof *p) == 0);
    zy_tensor_table_init(t, want, 77); // the missing ones hold their init values
    CHECK(memcmp(q + 12, want + 12, (n - 12) * sizeof *q) == 0);
    CHECK(q[zy_tensor_table_at(t, head + 1)->offset] == 1.0f);
    CHECK(zy_tensor_table_load(t, a, q, 77, NULL) == ZY_STATUS_OK); // missing[] optional
    // Required and absent: NOT_FOUND naming the file and the tensor.
    zy_tensor_table_free(body);
    ASSERT(zy_tensor_table_create(&body) == ZY_STATUS_OK);
    ttt_add(body, ttt_def("other", 1, 2, 0, 0));
    ASSERT(zy_tensor_table_save(body, a, p, ZY_DTYPE_F32) == ZY_STATUS_OK);
    CHECK(zy_tensor_table_load(t, a, q, 77, missing) == ZY_STATUS_NOT_FOUND);
    char msg[300];
    snprintf(msg, sizeof msg, "%s: tensor 'body.weight' missing", a);
    CHECK(ttt_has(msg));
    free(p);
    free(q);
    free(want);
    zy_tensor_table_free(body);
    zy_tensor_table_free(t);
    remove(a);
}

// A head of another shape in the file (a classifier of other labels): an error unless
// zy_tensor_table_set_replace_mismatched_heads is on; then it is read as absent (initialised,
// missing, the file's tensor unused). A body of another shape stays an error either way.
TEST(tensor_table_replace_mismatched_heads) {
    zy_tensor_table *file, *t;
    ASSERT(zy_tensor_table_create(&file) == ZY_STATUS_OK);
    ASSERT(zy_tensor_table_create(&t) == ZY_STATUS_OK);
    ttt_add(file, ttt_def("body.weight", 2, 3, 4, 0));
    ttt_add(file, ttt_def("head.weight", 2, 2, 4, 0)); // two labels
    ttt_add(t, ttt_def("body.weight", 2, 3, 4, 0));
    zy_tensor_def d = ttt_def("head.weight", 2, 5, 4, 0); // five
    d.optional = d.head = true;
    ttt_add(t, d);
    float *p = zt_floats(20), *q = zt_floats(32), *want = zt_floats(32);
    zt_fill_uniform(p, 20, 5, -1, 1);
    const char *a = tmp_file("heads.safetensors");
    ASSERT(zy_tensor_table_save(file, a, p, ZY_DTYPE_F32) == ZY_STATUS_OK);
    bool missing[2] = {true, false};
    CHECK(zy_tensor_table_load(t, a, q, 9, missing) == ZY_STATUS_SHAPE_MISMATCH &&
          ttt_has("'head.weight' has shape (2, 4)"));
    zy_tensor_table_set_replace_mismatched_heads(t, true);
    ASSERT(zy_tensor_table_check(t, a) == ZY_STATUS_OK);
    ASSERT(zy_tensor_table_load(t, a, q, 9, missing) == ZY_STATUS_OK);
    CHECK(!missing[0] && missing[1]);
    zy_tensor_table_init(t, want, 9);
    CHECK(memcmp(q, p, 12 * sizeof *q) == 0 && memcmp(q + 12, want + 12, 20 * sizeof *q) == 0);
    char **unused;
    int n_unused;
    ASSERT(zy_tensor_table_unused(t, a, &unused, &n_unused) == ZY_STATUS_OK);
    CHECK(n_unused == 1 && !strcmp(unused[0], "head.weight"));
    zy_free(unused);
    // The body is not a head: its shape must agree.
    zy_tensor_table_free(t);
    ASSERT(zy_tensor_table_create(&t) == ZY_STATUS_OK);
    ttt_add(t, ttt_def("body.weight", 2, 3, 5, 0));
    zy_tensor_table_set_replace_mismatched_heads(t, true);
    CHECK(zy_tensor_table_load(t, a, q, 9, NULL) == ZY_STATUS_SHAPE_MISMATCH);
    free(p);
    free(q);
    free(want);
    zy_tensor_table_free(file);
    zy_tensor_table_free(t);
    remove(a);
}

// Shape and dtype errors name the file, the tensor and both shapes, and come before any
// data is read: the parameters are untouched.
TEST(tensor_table_shape_errors) {
    zy_tensor_table *t;
    ASSERT(zy_tensor_table_create(&t) == ZY_STATUS_OK);
    ttt_add(t, ttt_def("a", 1, 4, 0, 0));
    ttt_add(t, ttt_def("h.0.attn.c_attn.weight", 2, 48, 96, 0));
    size_t n = zy_tensor_table_floats(t);
    float *q = zt_floats(n), *big = zt_floats(48 * 144);
    for (size_t i = 0; i < n; i++) q[i] = -7.0f;
    zy_safetensors_tensor ts[2] = {{.name = "a", .data = big, .ndim = 1, .shape = {4}},
                                   {.name = "h.0.attn.c_attn.weight", .data = big, .ndim = 2,
                                    .shape = {48, 144}}};
    const char *a = tmp_file("shape.safetensors");
    ASSERT(zy_safetensors_write(a, ts, 2, zy_safetensors_write_default_params()) == ZY_STATUS_OK);
    CHECK(zy_tensor_table_load(t, a, q, 0, NULL) == ZY_STATUS_SHAPE_MISMATCH);
    char msg[400];
    snprintf(msg, sizeof msg, "%s: tensor 'h.0.attn.c_attn.weight' has shape (48, 144) but "
             "config.json implies (48, 96)", a);
    CHECK(ttt_has(msg));
    int untouched = 1;
    for (size_t i = 0; i < n; i++) untouched &= q[i] == -7.0f;
    CHECK(untouched);
    ts[1].ndim = 3, ts[1].shape[0] = 48, ts[1].shape[1] = 96, ts[1].shape[2] = 1;
    ASSERT(zy_safetensors_write(a, ts, 2, zy_safetensors_write_default_params()) == ZY_STATUS_OK);
    CHECK(zy_tensor_table_load(t, a, q, 0, NULL) == ZY_STATUS_SHAPE_MISMATCH);
    CHECK(ttt_has("(48, 96, 1) but config.json implies (48, 96)"));
    // A split tensor is checked as a whole.
    zy_tensor_table *s;
    ASSERT(zy_tensor_table_create(&s) == ZY_STATUS_OK);
    ttt_add(s, part("a", 1, 1, 0, 0, 0, 0, 3));
    ttt_add(s, part("a", 1, 2, 0, 0, 0, 1, 3));
    CHECK(zy_tensor_table_load(s, a, q, 0, NULL) == ZY_STATUS_SHAPE_MISMATCH);
    CHECK(ttt_has("tensor 'a' has shape (4) but config.json implies (3)"));
    zy_tensor_table_free(s);
    // Integer tensors cannot be parameters.
    stt_put_st(a, "{\"a\":{\"dtype\":\"I32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                  "\"h.0.attn.c_attn.weight\":{\"dtype\":\"F32\",\"shape\":[48,96],"
                  "\"data_offsets\":[16,18448]}}", 18448);
    CHECK(zy_tensor_table_load(t, a, q, 0, NULL) == ZY_STATUS_UNSUPPORTED && ttt_has("I32"));
    untouched = 1;
    for (size_t i = 0; i < n; i++) untouched &= q[i] == -7.0f;
    CHECK(untouched);
    free(q);
    free(big);
    zy_tensor_table_free(t);
    remove(a);
}

// Truncated copies and garbage: an error every time, never a crash, parameters untouched.
TEST(tensor_table_bad_files) {
    zy_tensor_table *t;
    ASSERT(zy_tensor_table_create(&t) == ZY_STATUS_OK);
    zy_tensor_def d = ttt_def("w", 2, 6, 5, 0);
    d.transposed = true;
    ttt_add(t, d);
    ttt_add(t, part("s", 1, 2, 0, 0, 0, 0, 3));
    ttt_add(t, part("s", 1, 1, 0, 0, 0, 2, 3));
    size_t n = zy_tensor_table_floats(t);
    float *p = zt_floats(n), *q = zt_floats(n);
    zt_fill_uniform(p, n, 13, -1, 1);
    const char *a = tmp_file("good.safetensors"), *b = tmp_file("bad.safetensors");
    ASSERT(zy_tensor_table_save(t, a, p, ZY_DTYPE_BF16) == ZY_STATUS_OK);
    size_t size;
    unsigned char *bytes = stt_get_file(a, &size);
    ASSERT(bytes != NULL && size > 100);
    int all_failed = 1, untouched = 1;
    for (size_t cut = 0; cut < size; cut += 7) {
        stt_put_file(b, bytes, cut);
        all_failed &= zy_tensor_table_load(t, b, q, 0, NULL) != ZY_STATUS_OK;
    }
    // Each byte of the header and length overwritten in turn.
    uint64_t seed = 1;
    for (size_t i = 0; i < size - (size_t)n * 2; i++) {
        unsigned char keep = bytes[i];
        seed = zy_hash64(seed, i);
        bytes[i] = keep ^ (unsigned char)(1 + seed % 255); // always a different byte
        stt_put_file(b, bytes, size);
        zy_status s = zy_tensor_table_load(t, b, q, 0, NULL);
        if (s == ZY_STATUS_OK) memset(q, 0, n * sizeof *q); // a harmless change (padding)
        bytes[i] = keep;
    }
    for (size_t i = 0; i < n; i++) untouched &= q[i] == 0.0f;
    CHECK(all_failed && untouched);
    stt_put_file(b, "garbage, not a safetensors file at all", 38);
    CHECK(zy_tensor_table_load(t, b, q, 0, NULL) == ZY_STATUS_BAD_FORMAT);
    CHECK(zy_tensor_table_load(t, tmp_file("absent"), q, 0, NULL) == ZY_STATUS_IO);
    CHECK(zy_tensor_table_save(t, "/nonexistent-dir/x.safetensors", p, ZY_DTYPE_F32) ==
          ZY_STATUS_IO);
    free(bytes);
    free(p);
    free(q);
    zy_tensor_table_free(t);
    remove(a);
    remove(b);
}
