// Tests of src/core: status messages, allocator hook, arena, RNG, CPU features, threads.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "zhuyi/core.h"

TEST(core_status_strings) {
    CHECK(!strcmp(zy_status_str(ZY_STATUS_OK), "ok"));
    CHECK(!strcmp(zy_status_str(ZY_STATUS_BAD_FORMAT), "bad format"));
    CHECK(ZY_STATUS_INVALID_ARGUMENT < 0 && ZY_STATUS_INTERRUPTED < 0);
}

static size_t hook_allocs, hook_frees;
static void *hook_alloc(size_t size, size_t align, void *user) {
    (void)user;
    hook_allocs++;
    return aligned_alloc(align, (size + align - 1) / align * align + align);
}
static void hook_free(void *p, void *user) {
    (void)user;
    hook_frees++;
    free(p);
}

TEST(core_allocator_hook) {
    zy_allocator a = {hook_alloc, hook_free, NULL};
    zy_allocator_set(&a);
    float *p = zy_alloc(100);
    ASSERT(p != NULL);
    CHECK(((uintptr_t)p & 63) == 0);
    zy_free(p);
    zy_allocator_set(NULL);
    CHECK(hook_allocs == 1 && hook_frees == 1);
    // Overflowing sizes fail with a message instead of wrapping.
    CHECK(zy_calloc(SIZE_MAX / 2, 4) == NULL);
    CHECK(strstr(zy_last_error(), "overflows") != NULL);
}

TEST(core_arena) {
    zy_arena *a;
    ASSERT(zy_arena_create(&a, 1000) == ZY_STATUS_OK);
    float *x = zy_arena_floats(a, 10);
    ASSERT(x != NULL && ((uintptr_t)x & 63) == 0);
    size_t mark = zy_arena_mark(a);
    float *y = zy_arena_floats(a, 100);
    ASSERT(y != NULL && ((uintptr_t)y & 63) == 0 && y >= x + 10);
    CHECK(zy_arena_floats(a, 1000) == NULL); // too big: NULL, not a crash
    CHECK(strstr(zy_last_error(), "arena full") != NULL);
    zy_arena_reset_to(a, mark);
    CHECK(zy_arena_used(a) == mark);
    CHECK(zy_arena_peak(a) >= 64 + 400);
    zy_arena_reset(a);
    CHECK(zy_arena_used(a) == 0);
    zy_arena_free(a);
}

TEST(core_rng_deterministic_and_distributed) {
    zy_rng a, b;
    zy_rng_seed(&a, 42);
    zy_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) CHECK(zy_rng_u64(&a) == zy_rng_u64(&b));
    zy_rng_seed(&b, 43);
    CHECK(zy_rng_u64(&a) != zy_rng_u64(&b));
    // Moments of 200k normals: mean 0 ± 0.01, variance 1 ± 0.02 (about 4 sigma).
    zy_rng_seed(&a, 7);
    double s = 0, s2 = 0, u = 0;
    int n = 200000;
    for (int i = 0; i < n; i++) {
        double z = zy_rng_normal(&a);
        s += z;
        s2 += z * z;
        float v = zy_rng_uniform(&a);
        CHECK(v >= 0.0f && v < 1.0f);
        u += v;
    }
    ASSERT_NEAR(s / n, 0.0, 0.01);
    ASSERT_NEAR(s2 / n, 1.0, 0.02);
    ASSERT_NEAR(u / n, 0.5, 0.005);
    int counts[3] = {0};
    for (int i = 0; i < 30000; i++) counts[zy_rng_below(&a, 3)]++;
    for (int k = 0; k < 3; k++) ASSERT_NEAR(counts[k], 10000, 400);
    // The state is plain data: copying it replays the stream.
    zy_rng saved = a;
    uint64_t x = zy_rng_u64(&a);
    CHECK(zy_rng_u64(&saved) == x);
    CHECK(zy_hash64(1, 2) == zy_hash64(1, 2) && zy_hash64(1, 2) != zy_hash64(1, 3));
}

TEST(core_cpu_and_simd_levels) {
    unsigned f = zy_cpu_features();
    zy_simd best = zy_simd_level();
    if (f & ZY_CPU_AVX512F) CHECK(best == ZY_SIMD_AVX512 || getenv("ZY_SIMD"));
    CHECK(zy_simd_set(ZY_SIMD_SCALAR) == ZY_SIMD_SCALAR);
    CHECK(zy_simd_set(ZY_SIMD_AVX512) <= ZY_SIMD_AVX512);
    zy_simd_set(best);
    CHECK(zy_simd_level() == best);
    zt_note("cpu features 0x%x, simd %s", f, zy_simd_name(best));
}

TEST(core_threads) {
    int n = zy_threads_get();
    CHECK(n >= 1);
    CHECK(zy_threads_set(1) == 1 || n == 1);
    zy_threads_set(0);
    CHECK(zy_threads_get() == n);
}
