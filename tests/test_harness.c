// Tests of the harness itself: the runner restores the SIMD level, the thread count and
// the allocator after every test, whatever the test left behind. harness_1_* changes all
// three and returns without restoring them (as a test cut short by an ASSERT does); the
// runner sorts tests by file and name, so harness_2_* runs right after it and finds them
// as they were. The skip reporting is checked from outside by tests/cli/harness.sh.
#include <stdlib.h>

#include "harness.h"
#include "zhuyi/core.h"

static int entered;          // harness_1 ran
static zy_simd entry_simd;   // what it found on entry
static int entry_threads;
static int counted_allocs;   // allocations that went through its allocator

static void *counting_alloc(size_t size, size_t align, void *user) {
    (void)user;
    counted_allocs++;
    return aligned_alloc(align, (size + align - 1) / align * align);
}
static void counting_free(void *p, void *user) {
    (void)user;
    free(p);
}

TEST(harness_1_leaves_state_changed) {
    entered = 1;
    entry_simd = zy_simd_level();
    entry_threads = zy_threads_get();
    static const zy_allocator a = {counting_alloc, counting_free, NULL};
    zy_allocator_set(&a);
    void *p = zy_alloc(100);
    CHECK(p != NULL && counted_allocs == 1);
    zy_free(p);
    CHECK(zy_simd_set(ZY_SIMD_SCALAR) == ZY_SIMD_SCALAR);
    zy_threads_set(entry_threads + 3); // 1 without OpenMP: still restored below
    // Return with all three changed.
}

TEST(harness_2_state_was_restored) {
    if (!entered) {
        zt_skip("needs harness_1_leaves_state_changed to run first");
        return;
    }
    CHECK(zy_simd_level() == entry_simd);
    CHECK(zy_threads_get() == entry_threads);
    int before = counted_allocs;
    void *p = zy_alloc(100);
    CHECK(p != NULL);
    zy_free(p);
    CHECK(counted_allocs == before); // the default allocator is back
}
