// Tests of the thread pool (src/core/pool.c, zy__parallel): every item is covered once by
// the chunk the contract names, results do not depend on the thread count, nested calls
// run inline on the calling thread, two threads may use the pool at once, thread indices
// stay below zy__parallel_threads() and max_threads, and zy_threads_set takes effect.
// Every test name starts with "pool_". Timing is never checked.
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/pool.h"
#include "harness.h"

// ---- coverage --------------------------------------------------------------------------
// Each item records how often it was visited and the chunk it was visited in.
typedef struct cover {
    atomic_int *hits;
    size_t *begin, *end;
    size_t grain;
    atomic_int bad_range, bad_thread;
    int max_thread; // exclusive bound on the thread index
    atomic_int threads_seen; // bit t set when thread t ran a chunk (t < 31)
} cover;

static void cover_range(void *ctx, size_t b, size_t e, int thread) {
    cover *c = ctx;
    // The contract: chunk b / grain is exactly [b, min(n, b + grain)).
    if (b % c->grain || e <= b || e - b > c->grain) atomic_store(&c->bad_range, 1);
    if (thread < 0 || thread >= c->max_thread) atomic_store(&c->bad_thread, 1);
    if (thread < 31) atomic_fetch_or(&c->threads_seen, 1 << thread);
    for (size_t i = b; i < e; i++) {
        atomic_fetch_add(&c->hits[i], 1);
        c->begin[i] = b;
        c->end[i] = e;
    }
}

// Runs one job and checks it; returns the mask of threads that ran chunks.
static int check_cover(size_t n, size_t grain, int max_threads) {
    cover c = {0};
    c.hits = zt_malloc((n + 1) * sizeof *c.hits);
    c.begin = zt_malloc((n + 1) * sizeof *c.begin);
    c.end = zt_malloc((n + 1) * sizeof *c.end);
    for (size_t i = 0; i <= n; i++) atomic_init(&c.hits[i], 0);
    c.grain = grain ? grain : 1;
    int bound = zy__parallel_threads();
    if (max_threads > 0 && max_threads < bound) bound = max_threads;
    c.max_thread = bound;
    zy__parallel(n, grain, max_threads, cover_range, &c);
    int ok = !atomic_load(&c.bad_range) && !atomic_load(&c.bad_thread);
    for (size_t i = 0; i < n && ok; i++) {
        size_t b = i / c.grain * c.grain, e = ZY_MIN(n, b + c.grain);
        ok = atomic_load(&c.hits[i]) == 1 && c.begin[i] == b && c.end[i] == e;
    }
    if (!ok)
        zt_fail(__FILE__, __LINE__, "n=%zu grain=%zu max_threads=%d (threads %d): %s", n,
                grain, max_threads, zy_threads_get(),
                atomic_load(&c.bad_thread) ? "thread index out of bounds"
                                           : "an item missed, repeated or misplaced");
    int seen = atomic_load(&c.threads_seen);
    free(c.hits);
    free(c.begin);
    free(c.end);
    return seen;
}

TEST(pool_chunks_cover_every_item_once) {
    static const size_t ns[] = {0, 1, 2, 3, 7, 64, 100, 1000, 4097, 100003};
    static const size_t grains[] = {0, 1, 2, 3, 16, 1000, 5000, 200000};
    static const int maxes[] = {0, 1, 2, 3, 5};
    int saved = zy_threads_get();
    for (int threads = 1; threads <= 4; threads++) {
        zy_threads_set(threads);
        for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
            for (size_t b = 0; b < sizeof grains / sizeof *grains; b++)
                for (size_t m = 0; m < sizeof maxes / sizeof *maxes; m++) {
                    if (ns[a] / (grains[b] ? grains[b] : 1) > 20000) continue; // quick
                    check_cover(ns[a], grains[b], maxes[m]);
                }
    }
    zy_threads_set(saved);
}

// ---- determinism -----------------------------------------------------------------------
// A float sum with per-chunk partials combined in chunk order: the same bits whatever the
// thread count, because chunks are fixed by (n, grain) alone.
typedef struct sum_job {
    const float *x;
    float *part;
    size_t grain;
} sum_job;

static void sum_range(void *ctx, size_t b, size_t e, int thread) {
    (void)thread;
    sum_job *j = ctx;
    float s = 0.0f;
    for (size_t i = b; i < e; i++) s += j->x[i];
    j->part[b / j->grain] = s;
}

static float chunked_sum(const float *x, size_t n, size_t grain) {
    size_t nchunks = (n + grain - 1) / grain;
    float *part = calloc(nchunks, sizeof *part);
    sum_job j = {x, part, grain};
    zy__parallel(n, grain, 0, sum_range, &j);
    float s = 0.0f;
    for (size_t c = 0; c < nchunks; c++) s += part[c];
    free(part);
    return s;
}

TEST(pool_same_bits_at_any_thread_count) {
    const size_t n = 1000003;
    float *x = zt_floats(n);
    zt_fill_uniform(x, n, 7, -1.0f, 1.0f);
    int saved = zy_threads_get();
    zy_threads_set(1);
    float want = chunked_sum(x, n, 4096);
    for (int threads = 2; threads <= 5; threads++) {
        zy_threads_set(threads);
        for (int rep = 0; rep < 20; rep++) {
            float got = chunked_sum(x, n, 4096);
            if (memcmp(&got, &want, sizeof got)) {
                zt_fail(__FILE__, __LINE__, "%d threads: sum %.9g, 1 thread %.9g", threads,
                        (double)got, (double)want);
                break;
            }
        }
    }
    zy_threads_set(saved);
    free(x);
}

// ---- nesting ---------------------------------------------------------------------------
typedef struct nest_job {
    atomic_int inner_bad;
    atomic_int inner_items;
} nest_job;

static void inner_range(void *ctx, size_t b, size_t e, int thread) {
    nest_job *j = ctx;
    if (thread != 0) atomic_store(&j->inner_bad, 1);
    atomic_fetch_add(&j->inner_items, (int)(e - b));
}

typedef struct outer_ctx {
    nest_job *job;
    atomic_int bad;
} outer_ctx;

static void outer_range(void *ctx, size_t b, size_t e, int thread) {
    outer_ctx *o = ctx;
    (void)thread;
    // Inside a chunk: the pool reports one thread, and a nested call stays on this thread.
    if (!zy__in_parallel() || zy__parallel_threads() != 1) atomic_store(&o->bad, 1);
    for (size_t i = b; i < e; i++) zy__parallel(100, 7, 0, inner_range, o->job);
}

TEST(pool_nested_calls_run_inline) {
    int saved = zy_threads_get();
    zy_threads_set(2);
    nest_job j = {0};
    outer_ctx o = {&j, 0};
    CHECK(!zy__in_parallel());
    zy__parallel(64, 1, 0, outer_range, &o);
    CHECK(!zy__in_parallel()); // and the flag is restored afterwards
    CHECK(!atomic_load(&o.bad));
    CHECK(!atomic_load(&j.inner_bad));
    ASSERT_EQ_INT(atomic_load(&j.inner_items), 64 * 100);
    zy_threads_set(saved);
}

// ---- two callers at once ---------------------------------------------------------------
// Both threads hammer the pool with jobs of different shapes; whichever loses the race for
// the pool runs its job inline. Every job must still cover its items exactly once.
typedef struct caller_arg {
    int id;
    int failures;
} caller_arg;

typedef struct add_job {
    int *x;
    size_t grain;
    atomic_int bad;
} add_job;

static void add_range(void *ctx, size_t b, size_t e, int thread) {
    add_job *j = ctx;
    if (thread < 0 || thread >= zy_threads_get()) atomic_store(&j->bad, 1);
    for (size_t i = b; i < e; i++) j->x[i] += 1;
}

static void *caller_main(void *p) {
    caller_arg *a = p;
    enum { N = 5000, ROUNDS = 400 };
    int *x = calloc(N, sizeof *x);
    if (!x) {
        a->failures++;
        return NULL;
    }
    for (int r = 0; r < ROUNDS; r++) {
        size_t n = 1 + (size_t)(r * 37 + a->id * 11) % N;
        add_job j = {x, 1 + (size_t)(r + a->id) % 97, 0};
        zy__parallel(n, j.grain, 0, add_range, &j);
        // Items [0, n) were incremented once more this round.
        for (size_t i = 0; i < N; i++) {
            if (i < n) x[i] -= 1;
            if (x[i] != 0) {
                a->failures++;
                x[i] = 0;
            }
        }
        if (atomic_load(&j.bad)) a->failures++;
    }
    free(x);
    return NULL;
}

TEST(pool_two_callers_at_once) {
    int saved = zy_threads_get();
    zy_threads_set(3);
    pthread_t t[2];
    caller_arg args[2] = {{0, 0}, {1, 0}};
    for (int i = 0; i < 2; i++)
        ASSERT(pthread_create(&t[i], NULL, caller_main, &args[i]) == 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    ASSERT_EQ_INT(args[0].failures, 0);
    ASSERT_EQ_INT(args[1].failures, 0);
    zy_threads_set(saved);
}

// ---- thread indices and zy_threads_set --------------------------------------------------
TEST(pool_thread_index_bounds_follow_threads_set) {
    int saved = zy_threads_get();
    for (int threads = 1; threads <= 6; threads++) {
        CHECK(zy_threads_set(threads) == threads);
        CHECK(zy__parallel_threads() == threads);
        int seen = 0;
        for (int rep = 0; rep < 50; rep++) {
            seen |= check_cover(20000, 10, 0); // checks thread < threads
            seen |= check_cover(20000, 10, 2); // and thread < max_threads
        }
        CHECK(seen >> threads == 0);
        CHECK(seen & 1); // the caller always runs chunks
    }
    zy_threads_set(1);
    CHECK(check_cover(1000, 1, 0) == 1); // one thread: everything on the caller
    zy_threads_set(0);
    CHECK(zy_threads_get() >= 1);
    zy_threads_set(saved);
}
