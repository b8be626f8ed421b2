// model.safetensors through the named-tensor table (src/io/tensor_table_io.c): round trips
// in F32/F16/BF16, transposed storage, prefixes, gamma/beta, ties, optional tensors, split
// and fused tensors, and bad files (missing tensors, wrong shapes or dtypes, truncated or
// garbage bytes) refused before the parameters change.
#include <math.h>
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
    snprintf(p, 256, "/tmp/zhuyi_tt_%ld_%s", (long)getpid(), name);
    return p;
}

// A file of F32 tensors: name, ndim, shape, data.
typedef struct ft {
    const char *name;
    int ndim;
    int64_t s0, s1;
    const float *data;
} ft;

static void write_file(const char *path, const ft *f, int n, zy_dtype dt) {
    zy_safetensors_tensor ts[16];
    for (int i = 0; i < n; i++)
        ts[i] = (zy_safetensors_tensor){.name = f[i].name, .data = f[i].data, .ndim = f[i].ndim,
                                        .shape = {f[i].s0, f[i].s1}};
    zy_safetensors_write_params wp = zy_safetensors_write_default_params();
    wp.dtype = dt;
    if (zy_safetensors_write(path, ts, n, wp))
        zt_fail(__FILE__, __LINE__, "write %s: %s", path, zy_last_error());
}

// Tensor `name` of the file at path as floats (malloc'ed; NULL and a failure if absent).
static float *file_tensor(const char *path, const char *name, size_t n) {
    zy_safetensors *st;
    if (zy_safetensors_open(&st, path)) return NULL;
    float *x = zt_floats(n);
    if (zy_safetensors_read_f32(st, name, x, n)) {
        zt_fail(__FILE__, __LINE__, "%s", zy_last_error());
        free(x);
        x = NULL;
    }
    zy_safetensors_free(st);
    return x;
}

// emb (10, 4), fc (4, 6) kept transposed, fc.bias (6) zeros, ln.weight (6) ones.
static zy_tensor_table *small_table(const char *prefix) {
    zy_tensor_table *t;
    if (zy_tensor_table_create(&t)) return NULL;
    char name[64];
    snprintf(name, sizeof name, "%semb.weight", prefix);
    ttt_add(t, ttt_def(name, 2, 10, 4, 0));
    zy_tensor_def d = ttt_def("", 2, 4, 6, 0);
    snprintf(name, sizeof name, "%sfc.weight", prefix);
    d.name = name;
    d.transposed = true;
    ttt_add(t, d);
    snprintf(name, sizeof name, "%sfc.bias", prefix);
    d = ttt_def(name, 1, 6, 0, 0);
    d.init = ZY_INIT_ZEROS;
    ttt_add(t, d);
    snprintf(name, sizeof name, "%sln.weight", prefix);
    d = ttt_def(name, 1, 6, 0, 0);
    d.init = ZY_INIT_ONES;
    ttt_add(t, d);
    return t;
}

TEST(tensor_table_round_trip_f32) {
    zy_tensor_table *t = small_table("");
    ASSERT(t != NULL);
    size_t n = zy_tensor_table_floats(t);
    float *p = zt_floats(n), *q = zt_floats(n);
    zt_fill_uniform(p, n, 7, -1.0f, 1.0f);
    const char *a = tmp_file("rt.safetensors"), *b = tmp_file("rt2.safetensors");
    ASSERT(zy_tensor_table_save(t, a, p, ZY_DTYPE_F32) == ZY_STATUS_OK);
    bool missing[4] = {true, true, true, true};
    ASSERT(zy_tensor_table_load(t, a, q, 0, missing) == ZY_STATUS_OK);
    CHECK(memcmp(p, q, n * sizeof *p) == 0);
    CHECK(!missing[0] && !missing[1] && !missing[2] && !missing[3]);
    // Saving what was loaded gives the same bytes.
    ASSERT(zy_tensor_table_save(t, b, q, ZY_DTYPE_F32) == ZY_STATUS_OK);
    size_t na = 0, nb = 1;
    unsigned char *ba = stt_get_file(a, &na), *bb = stt_get_file(b, &nb);
    CHECK(ba && bb && na == nb && memcmp(ba, bb, na) == 0);
    free(ba);
    free(bb);
    // In the file: HF shapes, the transposed weight in file orientation, "format": "pt".
    zy_safetensors *st;
    ASSERT(zy_safetensors_open(&st, a) == ZY_STATUS_OK);
    const zy_tensor_info *fc = zy_safetensors_find(st, "fc.weight");
    CHECK(fc && fc->ndim == 2 && fc->shape[0] == 4 && fc->shape[1] == 6);
    CHECK(zy_safetensors_count(st) == 4);
    const char *fmt = zy_safetensors_metadata_get(st, "format");
    CHECK(fmt && !strcmp(fmt, "pt"));
    zy_safetensors_free(st);
    float *w = file_tensor(a, "fc.weight", 24);
    ASSERT(w != NULL);
    const float *stored = p + zy_tensor_table_at(t, 1)->offset; // (6, 4)
    int ok = 1;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 6; j++) ok &= w[i * 6 + j] == stored[j * 4 + i];
    CHECK(ok);
    free(w);
    free(p);
    free(q);
    zy_tensor_table_free(t);
    remove(a);
    remove(b);
}

TEST(tensor_table_round_trip_half) {
    zy_tensor_table *t = small_table("");
    ASSERT(t != NULL);
    size_t n = zy_tensor_table_floats(t);
    float *p = zt_floats(n), *q = zt_floats(n);
    zt_fill_uniform(p, n, 8, -3.0f, 3.0f);
    const char *a = tmp_file("half.safetensors");
    zy_dtype dts[] = {ZY_DTYPE_F16, ZY_DTYPE_BF16};
    for (int k = 0; k < 2; k++) {
        ASSERT(zy_tensor_table_save(t, a, p, dts[k]) == ZY_STATUS_OK);
        zy_safetensors *st;
        ASSERT(zy_safetensors_open(&st, a) == ZY_STATUS_OK);
        CHECK(zy_safetensors_find(st, "emb.weight")->dtype == dts[k]);
        zy_safetensors_free(st);
        ASSERT(zy_tensor_table_load(t, a, q, 0, NULL) == ZY_STATUS_OK);
        // Exactly the round-to-nearest-even value of each parameter.
        int ok = 1;
        for (size_t i = 0; i < n; i++) {
            float want = k == 0 ? zy_f16_to_f32(zy_f32_to_f16(p[i]))
                                : zy_bf16_to_f32(zy_f32_to_bf16(p[i]));
            ok &= q[i] == want;
        }
        CHECK(ok);
        CHECK_CLOSE(k == 0 ? "f16" : "bf16", q, p, n, 0, k == 0 ? 1.0 / 2048 : 1.0 / 256);
    }
    CHECK(zy_tensor_table_save(t, a, p, ZY_DTYPE_I32) == ZY_STATUS_INVALID_ARGUMENT);
    free(p);
    free(q);
    zy_tensor_table_free(t);
    remove(a);
}

// zy_tensor_table_load_each's put: what it was handed, assembled at each entry's offset
// (a whole entry, or pieces of whole rows in order), or `fail` returned.
typedef struct put_log {
    const zy_tensor_table *t;
    float *got;
    size_t next[8]; // per entry: the element the next piece must start at
    int pieces[8];
    bool bad;       // a piece out of order or not of whole rows
    zy_status fail;
} put_log;

static zy_status put_into(void *ctx, int i, size_t first, size_t n, const float *values) {
    put_log *l = ctx;
    const zy_tensor *e = zy_tensor_table_at(l->t, i);
    size_t row = e->ndim > 1 ? e->count / (size_t)e->shape[0] : e->count;
    l->bad |= first != l->next[i] || first % row || n % row || first + n > e->count;
    if (!l->bad) memcpy(l->got + e->offset + first, values, n * sizeof *values);
    l->next[i] = first + n;
    l->pieces[i]++;
    return l->fail;
}

// The entries through put (emb as in the file, fc transposed) and the others at dst get
// what zy_tensor_table_load gives; ties present are compared with the put entries' file
// tensors; an entry past PUT_FLOATS (4 MB) comes in pieces of whole rows; put's error
// stops the load.
TEST(tensor_table_load_each) {
    zy_tensor_table *t = small_table("");
    ASSERT(t != NULL);
    ASSERT(zy_tensor_table_tie(t, "lm_head.weight", 0) == ZY_STATUS_OK);
    ASSERT(zy_tensor_table_tie(t, "fc_copy.weight", 1) == ZY_STATUS_OK);
    size_t n = zy_tensor_table_floats(t);
    float *p = zt_floats(n), *q = zt_floats(n), *got = zt_floats(n), *kept = zt_floats(n);
    zt_fill_uniform(p, n, 19, -1, 1);
    const char *a = tmp_file("each.safetensors");
    ASSERT(zy_tensor_table_save(t, a, p, ZY_DTYPE_BF16) == ZY_STATUS_OK);
    ASSERT(zy_tensor_table_load(t, a, q, 0, NULL) == ZY_STATUS_OK);
    float *dst[4] = {NULL, NULL, kept + 64, kept + 70};
    put_log l = {.t = t, .got = got};
    memset(got, 0, n * sizeof *got);
    bool missing[4] = {true, true, true, true};
    ASSERT(zy_tensor_table_load_each(t, a, dst, put_into, &l, 0, missing) == ZY_STATUS_OK);
    CHECK(!l.bad && l.pieces[0] == 1 && l.pieces[1] == 1 && l.pieces[2] == 0);
    CHECK(!missing[0] && !missing[1] && !missing[2] && !missing[3]);
    CHECK(memcmp(got, q, 64 * sizeof *q) == 0);            // emb, fc (as stored)
    CHECK(memcmp(kept + 64, q + 64, 12 * sizeof *q) == 0); // fc.bias, ln.weight
    // Ties present: equal loads; one bit off is refused, as zy_tensor_table_load refuses.
    float *fc = file_tensor(a, "fc.weight", 24), *emb = file_tensor(a, "emb.weight", 40);
    ASSERT(fc != NULL && emb != NULL);
    ft equal[] = {{"emb.weight", 2, 10, 4, emb}, {"fc.weight", 2, 4, 6, fc},
                  {"fc.bias", 1, 6, 0, q + 64}, {"ln.weight", 1, 6, 0, q + 70},
                  {"lm_head.weight", 2, 10, 4, emb}, {"fc_copy.weight", 2, 4, 6, fc}};
    write_file(a, equal, 6, ZY_DTYPE_F32);
    l = (put_log){.t = t, .got = got};
    CHECK(zy_tensor_table_load_each(t, a, dst, put_into, &l, 0, NULL) == ZY_STATUS_OK);
    float head[24];
    memcpy(head, fc, sizeof head);
    head[5] = nextafterf(head[5], 2.0f);
    equal[5].data = head;
    write_file(a, equal, 6, ZY_DTYPE_F32);
    l = (put_log){.t = t, .got = got};
    CHECK(zy_tensor_table_load_each(t, a, dst, put_into, &l, 0, NULL) == ZY_STATUS_UNSUPPORTED);
    CHECK(ttt_has("'fc_copy.weight' differs from 'fc.weight'"));
    // put's error is the load's.
    equal[5].data = fc;
    write_file(a, equal, 6, ZY_DTYPE_F32);
    l = (put_log){.t = t, .got = got, .fail = ZY_STATUS_OUT_OF_MEMORY};
    CHECK(zy_tensor_table_load_each(t, a, dst, put_into, &l, 0, NULL) ==
          ZY_STATUS_OUT_OF_MEMORY);
    CHECK(l.pieces[0] == 1 && l.pieces[1] == 0);
    free(fc), free(emb), free(p), free(q), free(got), free(kept);
    zy_tensor_table_free(t);
    // 2,100 rows of 1,000: pieces of 1,048 rows (the last 4), the same values.
    ASSERT(zy_tensor_table_create(&t) == ZY_STATUS_OK);
    ttt_add(t, ttt_def("big.weight", 2, 2100, 1000, 0));
    n = zy_tensor_table_floats(t);
    p = zt_floats(n), q = zt_floats(n);
    zt_fill_uniform(p, n, 20, -1, 1);
    ASSERT(zy_tensor_table_save(t, a, p, ZY_DTYPE_F32) == ZY_STATUS_OK);
    float *none[1] = {NULL};
    l = (put_log){.t = t, .got = q};
    ASSERT(zy_tensor_table_load_each(t, a, none, put_into, &l, 0, NULL) == ZY_STATUS_OK);
    CHECK(!l.bad && l.pieces[0] == 3 && l.next[0] == n);
    CHECK(memcmp(p, q, n * sizeof *p) == 0);
    free(p), free(q);
    zy_tensor_table_free(t);
    remove(a);
}

TEST(tensor_table_prefixes_and_legacy_names) {
    float emb[40], fc[24], bias[6], ln[6];
    zt_fill_uniform(emb, 40, 1, -1, 1);
    zt_fill_uniform(fc, 24, 2, -1, 1);
    zt_fill_uniform(bias, 6, 3, -1, 1);
    zt_fill_uniform(ln, 6, 4, -1, 1);
    const char *a = tmp_file("prefix.safetensors");
    // The table's names carry "transformer."; the file's do not (and use gamma/beta).
    zy_tensor_table *t = small_table("transformer.");
    ASSERT(t != NULL);
    size_t n = zy_tensor_table_floats(t);
    float *q = zt_floats(n);
    ft lacking[] = {{"emb.weight", 2, 10, 4, emb}, {"fc.weight", 2, 4, 6, fc},
                    {"fc.beta", 1, 6, 0, bias}, {"ln.gamma", 1, 6, 0, ln}};
    write_file(a, lacking, 4, ZY_DTYPE_F32);
    CHECK(zy_tensor_table_load(t, a, q, 0, NULL) == ZY_STATUS_NOT_FOUND);
    CHECK(ttt_has(a) && ttt_has(": tensor 'transformer.emb.weight' missing"));
    ASSERT(zy_tensor_table_add_prefix(t, "transformer.") == ZY_STATUS_OK);
    ASSERT(zy_tensor_table_load(t, a, q, 0, NULL) == ZY_STATUS_OK);
    // A missing tensor's message lists every name tried.
    const char *c = tmp_file("noln.safetensors");
    write_file(c, lacking, 3, ZY_DTYPE_F32);
    CHECK(zy_tensor_table_load(t, c, q, 0, NULL) == ZY_STATUS_NOT_FOUND);
    CHECK(ttt_has("'transformer.ln.weight' missing (also looked for 'ln.weight', "
                  "'transformer.ln.gamma', 'ln.gamma')"));
    remove(c);
    CHECK(memcmp(q, emb, sizeof emb) == 0);
    CHECK(memcmp(q + 64, bias, sizeof bias) == 0 && memcmp(q + 70, ln, sizeof ln) == 0);
    // Saving uses the table's names.
    const char *b = tmp_file("prefix2.safetensors");
    ASSERT(zy_tensor_table_save(t, b, q, ZY_DTYPE_F32) == ZY_STATUS_OK);
    zy_safetensors *st;
    ASSERT(zy_safetensors_open(&st, b) == ZY_STATUS_OK);
    CHECK(zy_safetensors_find(st, "transformer.ln.weight") && !zy_safetensors_find(st, "ln.weight"));
    zy_safetensors_free(st);
    zy_tensor_table_free(t);
    // The other way: the file carries "bert." and the table's names do not.
    t = small_table("");
    ASSERT(zy_tensor_table_add_prefix(t, "bert.") == ZY_STATUS_OK);
    ft carrying[] = {{"bert.emb.weight", 2, 10, 4, emb}, {"bert.fc.weight", 2, 4, 6, fc},
                     {"bert.fc.bias", 1, 6, 0, bias}, {"bert.ln.gamma", 1, 6, 0, ln}};
    write_file(a, carrying, 4, ZY_DTYPE_F32);
    memset(q, 0, n * sizeof *q);
    ASSERT(zy_tensor_table_load(t, a, q, 0, NULL) == ZY_STATUS_OK);
    CHECK(memcmp(q, emb, sizeof emb) == 0 && memcmp(q + 70, ln, sizeof ln) == 0);
    // gamma/beta only stand for 1-D weight/bias: a 2-D "emb.gamma" is not emb.weight.
    ft gamma2d[] = {{"emb.gamma", 2, 10, 4, emb}, {"fc.weight", 2, 4, 6, fc},
                    {"fc.bias", 1, 6, 0, bias}, {"ln.weight", 1, 6, 0, ln}};
    write_file(a, gamma2d, 4, ZY_DTYPE_F32);
    CHECK(zy_tensor_table_load(t, a, q, 0, NULL) == ZY_STATUS_NOT_FOUND && ttt_has("emb.weight"));
    free(q);
    zy_tensor_table_free(t);
    remove(a);
    remove(b);
}

TEST(tensor_table_ties) {
    zy_tensor_table *t = small_table("");
    ASSERT(t != NULL);
    ASSERT(zy_tensor_table_tie(t, "lm_head.weight", 0) == ZY_STATUS_OK);
    ASSERT(zy_tensor_table_tie(t, "fc_copy.weight", 1) == ZY_STATUS_OK); // transposed target
    size_t n = zy_tensor_table_floats(t);
    float *p = zt_floats(n), *q = zt_floats(n);
    zt_fill_uniform(p, n, 9, -1, 1);
    const char *a = tmp_file("tie.safetensors");
    ASSERT(zy_tensor_table_save(t, a, p, ZY_DTYPE_F32) == ZY_STATUS_OK);
    zy_safetensors *st;
    ASSERT(zy_safetensors_open(&st, a) == ZY_STATUS_OK);
    CHECK(zy_safetensors_count(st) == 4 && !zy_safetensors_find(st, "lm_head.weight"));
    zy_safetensors_free(st);
    ASSERT(zy_tensor_table_load(t, a, q, 0, NULL) == ZY_STATUS_OK); // absent ties are fine
    // Present and equal: loads. The transposed target compares in file orientation.
    float *fc = file_tensor(a, "fc.weight", 24);
    ASSERT(fc != NULL);
    ft equal[] = {{"emb.weight", 2, 10, 4, p}, {"fc.weight", 2, 4, 6, fc},
                  {"fc.bias", 1, 6, 0, p + 64}, {"ln.weight", 1, 6, 0, p + 70},
                  {"lm_head.weight", 2, 10, 4, p}, {"fc_copy.weight", 2, 4, 6, fc}};
    write_file(a, equal, 6, ZY_DTYPE_F32);
    memset(q, 0, n * sizeof *q);
    CHECK(zy_tensor_table_load(t, a, q, 0, NULL) == ZY_STATUS_OK);
    CHECK(memcmp(p, q, n * sizeof *p) == 0);
    // Different in one bit: refused, naming both.
    float head[40];
    memcpy(head, p, sizeof head);
    head[17] = nextafterf(head[17], 2.0f);
    equal[4].data = head;
    write_file(a, equal, 6, ZY_DTYPE_F32);
    CHECK(zy_tensor_table_load(t, a, q, 0, NULL) == ZY_STATUS_UNSUPPORTED);
    CHECK(ttt_has("'lm_head.weight' differs from 'emb.weight'"));
    equal[4].data = p;
    fc[3] += 1.0f;
    equal[5].data = fc; // fc.weight changes too, so change only the copy:
    equal[1].data = file_tensor(a, "fc.weight", 24);
    write_file(a, equal, 6, ZY_DTYPE_F32);
    CHECK(zy_tensor_table_load(t, a, q, 0, NULL) == ZY_STATUS_UNSUPPORTED);
    CHECK(ttt_has("'fc_copy.weight' differs from 'fc.weight'"));
    // A tie of the wrong shape is a shape error.
    equal[5].s0 = 6, equal[5].s1 = 4;
    write_file(a, equal, 6, ZY_DTYPE_F32);
    CHECK(zy_tensor_table_load(t, a, q, 0, NULL) == ZY_STATUS_SHAPE_MISMATCH);
    free((float *)equal[1].data);
    free(fc);
    free(p);
    free(q);
    zy_tensor_table_free(t);
    remove(a);
}
