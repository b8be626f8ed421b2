// The thread pool behind zy__parallel (see pool.h for why it exists and what it promises).
//
// One job at a time: the thread that wins `busy` publishes the job (function, context,
// chunk count) and a new generation number, wakes sleeping workers, and takes chunks
// itself. Chunks are claimed from one 64-bit word, (generation << 32) | next chunk, with a
// compare-and-swap, so a worker that wakes late, after its job ended and another began,
// can never claim a chunk of the newer job by mistake. The caller returns when every
// chunk is finished, so the job's context (usually on the caller's stack) outlives it.
//
// Waiting: an idle worker spins (with the CPU's pause hint) for SPIN_IDLE rounds, the gap
// between back-to-back regions of a training step, then sleeps on a condition variable.
// The caller waits for chunks still running on other threads by spinning and, after
// SPIN_FINISH rounds, yielding the CPU, since the thread it waits for may be the one the
// scheduler parked.
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#include "core/internal.h"
#include "core/pool.h"

#define MAX_WORKERS 255
#define SPIN_IDLE 4000   // pause rounds before an idle worker sleeps (~0.2-0.5 ms)
#define SPIN_FINISH 2000 // pause rounds before a waiting caller starts to yield

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_int busy;     // 1 while a job holds the pool
    atomic_int sleepers; // workers blocked on `wake`
    atomic_uint gen;     // generation of the last job published
    atomic_uint_fast64_t next; // (generation << 32) | next unclaimed chunk
    atomic_size_t done;  // chunks finished of the current job
    // The current job, written by its owner before `gen` is published. Atomic (relaxed)
    // because a late worker may read them while the next owner writes; it then finds the
    // generation changed and uses nothing it read.
    _Atomic(zy__range_fn) fn;
    _Atomic(void *) ctx;
    atomic_size_t n, grain, nchunks;
    atomic_int nthreads;
    int nworkers;        // started; changed only by the owner of `busy`
    unsigned start_gen[MAX_WORKERS + 1];
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static _Thread_local int tls_in_task;

int zy__in_parallel(void) {
#ifdef _OPENMP
    if (omp_in_parallel()) return 1;
#endif
    return tls_in_task;
}

int zy__parallel_threads(void) { return zy__in_parallel() ? 1 : zy_threads_get(); }

// Claim and run chunks of job `g` as thread `tid` until none is left.
static void run_chunks(unsigned g, int tid) {
    zy__range_fn fn = atomic_load_explicit(&P.fn, memory_order_relaxed);
    void *ctx = atomic_load_explicit(&P.ctx, memory_order_relaxed);
    size_t n = atomic_load_explicit(&P.n, memory_order_relaxed);
    size_t grain = atomic_load_explicit(&P.grain, memory_order_relaxed);
    size_t nchunks = atomic_load_explicit(&P.nchunks, memory_order_relaxed);
    for (;;) {
        uint_fast64_t v = atomic_load(&P.next);
        if ((unsigned)(v >> 32) != g) return;
        size_t c = (size_t)(v & 0xffffffffu);
        if (c >= nchunks) return;
        if (!atomic_compare_exchange_weak(&P.next, &v, v + 1)) continue;
        size_t b = c * grain, e = ZY_MIN(n, b + grain);
        fn(ctx, b, e, tid);
        atomic_fetch_add_explicit(&P.done, 1, memory_order_release);
    }
}

static void *worker_main(void *arg) {
    int id = (int)(intptr_t)arg;
    unsigned seen = P.start_gen[id];
    tls_in_task = 1; // whatever a chunk calls runs inline on this thread
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load(&P.gen)) == seen) {
            if (++spins < SPIN_IDLE) {
                CPU_RELAX();
                continue;
            }
            pthread_mutex_lock(&P.mu);
            atomic_fetch_add(&P.sleepers, 1);
            while (atomic_load(&P.gen) == seen) pthread_cond_wait(&P.wake, &P.mu);
            atomic_fetch_sub(&P.sleepers, 1);
            pthread_mutex_unlock(&P.mu);
            spins = 0;
        }
        seen = g;
        if (id < atomic_load_explicit(&P.nthreads, memory_order_relaxed)) run_chunks(g, id);
    }
    return NULL;
}

// Start workers until `want` exist (or creation fails). Called by the owner of `busy`.
static void grow(int want) {
    want = ZY_MIN(want, MAX_WORKERS);
    while (P.nworkers < want) {
        int id = P.nworkers + 1;
        P.start_gen[id] = atomic_load(&P.gen);
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &at, worker_main, (void *)(intptr_t)id);
        pthread_attr_destroy(&at);
        if (rc) break; // run on the threads we have
        P.nworkers = id;
    }
}

static void run_inline(size_t n, size_t grain, zy__range_fn fn, void *ctx) {
    int outer = tls_in_task;
    tls_in_task = 1;
    for (size_t b = 0; b < n; b += grain) fn(ctx, b, ZY_MIN(n, b + grain), 0);
    tls_in_task = outer;
}

void zy__parallel(size_t n, size_t grain, int max_threads, zy__range_fn fn, void *ctx) {
    if (n == 0) return;
    if (grain == 0) grain = 1;
    size_t nchunks = (n - 1) / grain + 1;
    int nt = zy__in_parallel() ? 1 : zy_threads_get();
    if (max_threads > 0 && nt > max_threads) nt = max_threads;
    if ((size_t)nt > nchunks) nt = (int)nchunks;
    int idle = 0;
    if (nt <= 1 || !atomic_compare_exchange_strong(&P.busy, &idle, 1)) {
        run_inline(n, grain, fn, ctx);
        return;
    }
    grow(nt - 1);
    nt = ZY_MIN(nt, P.nworkers + 1);
    unsigned g = atomic_load(&P.gen) + 1;
    atomic_store_explicit(&P.fn, fn, memory_order_relaxed);
    atomic_store_explicit(&P.ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&P.n, n, memory_order_relaxed);
    atomic_store_explicit(&P.grain, grain, memory_order_relaxed);
    atomic_store_explicit(&P.nchunks, nchunks, memory_order_relaxed);
    atomic_store_explicit(&P.nthreads, nt, memory_order_relaxed);
    atomic_store(&P.done, 0);
    atomic_store(&P.next, (uint_fast64_t)g << 32);
    atomic_store(&P.gen, g); // publishes the fields above
    if (atomic_load(&P.sleepers) > 0) {
        pthread_mutex_lock(&P.mu);
        pthread_cond_broadcast(&P.wake);
        pthread_mutex_unlock(&P.mu);
    }
    tls_in_task = 1;
    run_chunks(g, 0);
    tls_in_task = 0;
    for (int spins = 0; atomic_load_explicit(&P.done, memory_order_acquire) < nchunks; spins++) {
        if (spins < SPIN_FINISH) CPU_RELAX();
        else sched_yield();
    }
    atomic_store(&P.busy, 0);
}
