// The named-tensor table (src/io/tensor_table.c): layout, what zy_tensor_table_add /
// tie / add_prefix refuse, initialisation (deterministic, thread-count independent, and
// bit-identical to today's GPT init). Loading and saving: test_tensor_table_io.c.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "test_tensor_table.h"
#include "zhuyi/hf.h"

zy_tensor_def ttt_def(const char *name, int ndim, int64_t s0, int64_t s1, int64_t s2) {
    zy_tensor_def d = {.name = name, .ndim = ndim, .shape = {s0, s1, s2},
                       .init = ZY_INIT_NORMAL, .init_std = 0.02f};
    return d;
}

int ttt_add(zy_tensor_table *t, zy_tensor_def d) {
    int i = -1;
    if (zy_tensor_table_add(t, &d, &i))
        zt_fail(__FILE__, __LINE__, "add '%s': %s", d.name, zy_last_error());
    return i;
}

int ttt_has(const char *part) {
    if (strstr(zy_last_error(), part)) return 1;
    zt_note("message '%s' lacks '%s'", zy_last_error(), part);
    return 0;
}

TEST(tensor_table_layout) {
    zy_tensor_table *t;
    ASSERT(zy_tensor_table_create(&t) == ZY_STATUS_OK);
    CHECK(zy_tensor_table_count(t) == 0 && zy_tensor_table_floats(t) == 0);
    CHECK(zy_tensor_table_find(t, "a") == -1);
    zy_tensor_def d = ttt_def("emb.weight", 2, 10, 4, 0);
    CHECK(ttt_add(t, d) == 0);
    d = ttt_def("fc.weight", 2, 4, 6, 0);
    d.transposed = true;
    d.decay = true;
    CHECK(ttt_add(t, d) == 1);
    d = ttt_def("fc.bias", 1, 6, 0, 0);
    d.init = ZY_INIT_ZEROS;
    CHECK(ttt_add(t, d) == 2);
    d = ttt_def("conv.weight", 3, 2, 3, 5);
    CHECK(ttt_add(t, d) == 3);
    ASSERT(zy_tensor_table_count(t) == 4);
    const size_t offsets[] = {0, 40, 64, 70}, counts[] = {40, 24, 6, 30};
    for (int i = 0; i < 4; i++) {
        const zy_tensor *e = zy_tensor_table_at(t, i);
        ASSERT(e != NULL);
        CHECK(e->offset == offsets[i] && e->count == counts[i]);
        CHECK(zy_tensor_table_find(t, e->name) == i);
    }
    const zy_tensor *fc = zy_tensor_table_at(t, 1);
    CHECK(fc->transposed && fc->decay && !fc->optional && fc->shape[0] == 4 &&
          fc->shape[1] == 6 && fc->init == ZY_INIT_NORMAL && fc->init_std == 0.02f);
    CHECK(zy_tensor_table_at(t, 4) == NULL && zy_tensor_table_at(t, -1) == NULL);
    CHECK(zy_tensor_table_floats(t) == 100);
    CHECK(zy_tensor_table_find(t, "nope") == -1);
    // Many entries: the name index grows and still finds every one.
    char name[32];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "h.%d.w", i);
        ttt_add(t, ttt_def(name, 1, 2, 0, 0));
    }
    int bad = 0;
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof name, "h.%d.w", i);
        bad += zy_tensor_table_find(t, name) != 4 + i;
    }
    CHECK(bad == 0 && zy_tensor_table_floats(t) == 1100);
    zy_tensor_table_free(t);
}

TEST(tensor_table_rejects_bad_entries) {
    zy_tensor_table *t;
    ASSERT(zy_tensor_table_create(&t) == ZY_STATUS_OK);
    ttt_add(t, ttt_def("a", 2, 3, 4, 0));
    zy_tensor_def p = ttt_def("qkv", 2, 4, 2, 0); // a part: columns [0, 2) of (4, 6)
    p.part_dim = 1;
    p.part_total = 6;
    ttt_add(t, p);
    struct {
        zy_tensor_def d;
        const char *want;
    } bad[] = {
        {ttt_def("", 1, 3, 0, 0), "empty"},
        {ttt_def(NULL, 1, 3, 0, 0), "empty"},
        {ttt_def("__metadata__", 1, 3, 0, 0), "__metadata__"},
        {ttt_def("\xff", 1, 3, 0, 0), "UTF-8"},
        {ttt_def("z", 0, 3, 0, 0), "dimensions"},
        {ttt_def("z", 5, 3, 1, 1), "dimensions"},
        {ttt_def("z", 2, 3, 0, 0), "dimension 1"},
        {ttt_def("z", 1, -1, 0, 0), "dimension 0"},
        {ttt_def("z", 2, (int64_t)1 << 40, (int64_t)1 << 40, 0), "dimension 1"},
        {ttt_def("a", 2, 3, 4, 0), "duplicate"},
        {ttt_def("qkv", 2, 4, 2, 0), "duplicate"}, // whole vs parts
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int idx = 77;
        CHECK(zy_tensor_table_add(t, &bad[i].d, &idx) == ZY_STATUS_INVALID_ARGUMENT);
        CHECK(ttt_has(bad[i].want) && idx == 77);
    }
    zy_tensor_def d = ttt_def("z", 3, 2, 2, 2);
    d.transposed = true;
    CHECK(zy_tensor_table_add(t, &d, NULL) == ZY_STATUS_INVALID_ARGUMENT && ttt_has("2-D"));
    d = ttt_def("z", 1, 2, 0, 0);
    d.init = (zy_init)7;
    CHECK(zy_tensor_table_add(t, &d, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    d.init = ZY_INIT_NORMAL;
    d.init_std = -1.0f;
    CHECK(zy_tensor_table_add(t, &d, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    d.init_std = NAN;
    CHECK(zy_tensor_table_add(t, &d, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    // Parts: outside the file tensor, overlapping, disagreeing on the file tensor.
    zy_tensor_def q = p;
    q.part_start = 5; // [5, 7) of 6
    CHECK(zy_tensor_table_add(t, &q, NULL) == ZY_STATUS_INVALID_ARGUMENT && ttt_has("fit"));
    q.part_start = -1;
    CHECK(zy_tensor_table_add(t, &q, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    q.part_start = 1; // [1, 3) overlaps [0, 2)
    CHECK(zy_tensor_table_add(t, &q, NULL) == ZY_STATUS_INVALID_ARGUMENT && ttt_has("overlap"));
    q.part_start = 2;
    q.part_total = 8;
    CHECK(zy_tensor_table_add(t, &q, NULL) == ZY_STATUS_INVALID_ARGUMENT && ttt_has("disagree"));
    q.part_total = 6;
    q.shape[0] = 5;
    CHECK(zy_tensor_table_add(t, &q, NULL) == ZY_STATUS_INVALID_ARGUMENT && ttt_has("disagree"));
    q.shape[0] = 4;
    q.part_dim = 2;
    CHECK(zy_tensor_table_add(t, &q, NULL) == ZY_STATUS_INVALID_ARGUMENT && ttt_has("part_dim"));
    q.part_dim = 1;
    q.part_total = -3;
    CHECK(zy_tensor_table_add(t, &q, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    q.part_total = 6;
    CHECK(zy_tensor_table_add(t, &q, NULL) == ZY_STATUS_OK); // [2, 4) fits
    // Ties and prefixes.
    CHECK(zy_tensor_table_tie(t, "head", 9) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_tensor_table_tie(t, "head", -1) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_tensor_table_tie(t, "a", 0) == ZY_STATUS_INVALID_ARGUMENT && ttt_has("duplicate"));
    CHECK(zy_tensor_table_tie(t, "head", 1) == ZY_STATUS_INVALID_ARGUMENT && ttt_has("part"));
    CHECK(zy_tensor_table_tie(t, "", 0) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_tensor_table_tie(t, "head", 0) == ZY_STATUS_OK);
    CHECK(zy_tensor_table_tie(t, "head", 0) == ZY_STATUS_INVALID_ARGUMENT);
    d = ttt_def("head", 1, 2, 0, 0);
    CHECK(zy_tensor_table_add(t, &d, NULL) == ZY_STATUS_INVALID_ARGUMENT && ttt_has("tie"));
    CHECK(zy_tensor_table_add_prefix(t, "") == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_tensor_table_add_prefix(t, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    CHECK(zy_tensor_table_add_prefix(t, "bert.") == ZY_STATUS_OK);
    CHECK(zy_tensor_table_add_prefix(t, "bert.") == ZY_STATUS_OK);
    CHECK(zy_tensor_table_count(t) == 3 && zy_tensor_table_floats(t) == 12 + 8 + 8);
    zy_tensor_table_free(t);
}

// A table with an entry of several init chunks (300 x 700 floats), ones, zeros, normals.
static zy_tensor_table *init_table(void) {
    zy_tensor_table *t;
    if (zy_tensor_table_create(&t)) return NULL;
    ttt_add(t, ttt_def("big", 2, 300, 700, 0));
    zy_tensor_def d = ttt_def("gain", 1, 70000, 0, 0);
    d.init = ZY_INIT_ONES;
    ttt_add(t, d);
    d = ttt_def("bias", 1, 100, 0, 0);
    d.init = ZY_INIT_ZEROS;
    ttt_add(t, d);
    d = ttt_def("small", 2, 5, 3, 0);
    d.init_std = 1.5f;
    ttt_add(t, d);
    return t;
}

TEST(tensor_table_init_deterministic) {
    zy_tensor_table *t = init_table();
    ASSERT(t != NULL);
    size_t n = zy_tensor_table_floats(t);
    float *a = zt_floats(n), *b = zt_floats(n), *c = zt_floats(n);
    int threads = zy_threads_get();
    zy_threads_set(1);
    zy_tensor_table_init(t, a, 42);
    zy_threads_set(2);
    zy_tensor_table_init(t, b, 42);
    zy_threads_set(threads);
    CHECK(memcmp(a, b, n * sizeof *a) == 0); // 1 vs 2 threads: the same bits
    zy_tensor_table_init(t, c, 43);
    size_t same = 0;
    for (size_t i = 0; i < 210000; i++) same += a[i] == c[i];
    CHECK(same < 100); // another seed, other values
    // The rules: ones, zeros, N(0, std) (std of 210000 draws within 1%).
    const zy_tensor *gain = zy_tensor_table_at(t, 1), *bias = zy_tensor_table_at(t, 2);
    int ok = 1;
    for (size_t i = 0; i < gain->count; i++) ok &= a[gain->offset + i] == 1.0f;
    for (size_t i = 0; i < bias->count; i++) ok &= a[bias->offset + i] == 0.0f;
    CHECK(ok);
    double ss = 0, mean = 0;
    for (size_t i = 0; i < 210000; i++) ss += (double)a[i] * a[i], mean += a[i];
    CHECK(fabs(sqrt(ss / 210000) - 0.02) < 0.0002 && fabs(mean / 210000) < 0.0002);
    // Chunk k of entry i is seeded by zy_hash64(seed, (i << 32) | k): entry 3 by hand.
    zy_rng rng;
    float want[15];
    zy_rng_seed(&rng, zy_hash64(42, (uint64_t)3 << 32));
    zy_rng_fill_normal(&rng, want, 15, 0.0f, 1.5f);
    CHECK(memcmp(a + zy_tensor_table_at(t, 3)->offset, want, sizeof want) == 0);
    // One entry alone gives the same values as the whole table.
    memset(c, 0, n * sizeof *c);
    zy_tensor_table_init_entry(t, c, 0, 42);
    CHECK(memcmp(a, c, 210000 * sizeof *a) == 0);
    CHECK(c[210000] == 0.0f); // and touches nothing else
    free(a);
    free(b);
    free(c);
    zy_tensor_table_free(t);
}

// LoRA's flags: a linear entry is a 2-D "<module>.weight"; an adapter entry is not linear,
// optional or a part; U(-b, b) initialisation stays in its bound and depends on the seed.
// Truncating drops the tail (names, floats, index) and refuses to cut a tie or a split
// tensor; entries can be added again after it.
TEST(tensor_table_lora_flags_and_truncate) {
    zy_tensor_table *t;
    ASSERT(zy_tensor_table_create(&t) == ZY_STATUS_OK);
    zy_tensor_def d = ttt_def("fc.weight", 2, 6, 4, 0);
    d.linear = true;
    ASSERT(ttt_add(t, d) == 0);
    d = ttt_def("fc.bias", 1, 6, 0, 0);
    d.linear = true;
    CHECK(zy_tensor_table_add(t, &d, NULL) == ZY_STATUS_INVALID_ARGUMENT && ttt_has("linear"));
    d = ttt_def("fc.w", 2, 6, 4, 0);
    d.linear = true;
    CHECK(zy_tensor_table_add(t, &d, NULL) == ZY_STATUS_INVALID_ARGUMENT);
    d = ttt_def("fc.lora_A.weight", 2, 2, 4, 0);
    d.adapter = true, d.init = ZY_INIT_UNIFORM, d.init_std = 0.5f;
    ASSERT(ttt_add(t, d) == 1);
    d.optional = true;
    CHECK(zy_tensor_table_add(t, &d, NULL) == ZY_STATUS_INVALID_ARGUMENT && ttt_has("adapter"));
    d = ttt_def("fc.lora_B.weight", 2, 6, 2, 0);
    d.adapter = true, d.init = ZY_INIT_ZEROS;
    ASSERT(ttt_add(t, d) == 2);
    const zy_tensor *a = zy_tensor_table_at(t, 1);
    CHECK(zy_tensor_table_at(t, 0)->linear && a->adapter && !a->linear &&
          a->init == ZY_INIT_UNIFORM && a->init_std == 0.5f);
    float p[24 + 8 + 12], q[24 + 8 + 12];
    zy_tensor_table_init(t, p, 3);
    zy_tensor_table_init(t, q, 4);
    float lo = 0, hi = 0;
    for (int i = 24; i < 32; i++) lo = fminf(lo, p[i]), hi = fmaxf(hi, p[i]);
    CHECK(lo >= -0.5f && hi <= 0.5f && hi - lo > 0.1f && memcmp(p + 24, q + 24, 32) != 0);
    for (int i = 32; i < 44; i++) CHECK(p[i] == 0.0f);

    ASSERT(zy_tensor_table_tie(t, "head.weight", 2) == ZY_STATUS_OK);
    CHECK(zy_tensor_table_truncate(t, 2) == ZY_STATUS_INVALID_ARGUMENT && ttt_has("head.weight"));
    CHECK(zy_tensor_table_truncate(t, 4) == ZY_STATUS_INVALID_ARGUMENT);
    zy_tensor_table_free(t);

    ASSERT(zy_tensor_table_create(&t) == ZY_STATUS_OK);
    ttt_add(t, ttt_def("a", 1, 5, 0, 0));
    d = ttt_def("split", 2, 2, 3, 0);
    d.part_dim = 0, d.part_start = 0, d.part_total = 4;
    ttt_add(t, d);
    ttt_add(t, ttt_def("b", 1, 7, 0, 0));
    d.part_start = 2;
    ttt_add(t, d);
    CHECK(zy_tensor_table_truncate(t, 3) == ZY_STATUS_INVALID_ARGUMENT && ttt_has("split"));
    ASSERT(zy_tensor_table_truncate(t, 4) == ZY_STATUS_OK); // nothing dropped
    ASSERT(zy_tensor_table_truncate(t, 1) == ZY_STATUS_OK);
    CHECK(zy_tensor_table_count(t) == 1 && zy_tensor_table_floats(t) == 5);
    CHECK(zy_tensor_table_find(t, "b") == -1 && zy_tensor_table_find(t, "split") == -1 &&
          zy_tensor_table_find(t, "a") == 0);
    CHECK(ttt_add(t, ttt_def("b", 1, 3, 0, 0)) == 1);
    CHECK(zy_tensor_table_at(t, 1)->offset == 5 && zy_tensor_table_floats(t) == 8);
    float r[8];
    zy_tensor_table_init(t, r, 1); // the chunk numbering continues from the kept entries
    CHECK(isfinite(r[5]) && r[5] != 0.0f);
    zy_tensor_table_free(t);
}
