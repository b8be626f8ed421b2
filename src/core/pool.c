// The thread pool behind zy__parallel (see pool.h for why it exists and what it promises).
//
// One job at a time: the thread that wins `busy` publishes the job (function, context,
// sizes) and a new generation number, wakes sleeping workers, and takes chunks itself.
// Chunks are claimed from one 64-bit word, (generation << 32) | next chunk, with a
// compare-and-swap. The caller returns when every chunk is finished, so the job's context
// (usually on the caller's stack) outlives every use of it.
//
// A late worker (it saw generation g, then was descheduled while g finished and the next
// caller began to write job g+1) must not run anything. Two rules make that impossible:
// - before it lets go of the pool, the owner closes its job: next = (g << 32) | CLOSED, so
//   no claim on g can succeed afterwards, whatever chunk count the late worker read;
// - job fields are stored with release and loaded with acquire, so a worker that read any
//   field of job g+1 also sees the close of g (or later) when it tries to claim.
// A claim that succeeds therefore proves job g was still open, and its fields (read
// before the claim, after the acquire of generation g) were g's.
//
// Waiting. A worker with nothing to do spins (pause hint) for SPIN_IDLE_NS, which covers
// the gap between back-to-back regions of a training step, then sleeps on a condition
// variable. A caller whose last chunks run on other threads spins for SPIN_DONE_NS, then
// sleeps until the last chunk finishes; sleeping rather than yielding matters when another
// process holds a core: the caller's CPU goes idle, so the scheduler runs the parked
// worker there at once instead of after the other process's time slice.
// The lengths were measured on the 2-vCPU VM of docs/BENCHMARKS.md with rounds of one
// short region (30 us of work in all) and a 10 us serial gap, quiet and beside other
// processes: sleeping at once costs a wake-up per region on a quiet machine (34 us per
// round instead of 25), while idle spins of 100 us and more slow a contended machine
// (69 us per round on average instead of 45 with 20 us; 1 ms spins also cost 30% of the
// GPT-2 decoding rate). The caller's spin matters less either way; 50 us lets a last
// chunk of a few tens of microseconds finish without a wake-up.
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#include "core/internal.h"
#include "core/pool.h"

#define SPIN_IDLE_NS 20000
#define SPIN_DONE_NS 50000

#define MAX_WORKERS 255
#define CLOSED 0xffffffffu // chunk field of a finished job's claim word

static struct {
    // Claims: written once per chunk by whichever thread takes it. Alone on its cache
    // line so that claiming does not also invalidate what idle workers poll.
    _Alignas(64) atomic_uint_fast64_t next; // (generation << 32) | next chunk, or CLOSED
    // Chunks finished of the current job: each thread adds its count once, when it runs
    // out of chunks (not once per chunk: that was a second contended write per chunk).
    _Alignas(64) atomic_size_t done;
    // Written once per job.
    _Alignas(64) atomic_uint gen; // generation of the last job published
    atomic_int busy;              // 1 while a job holds the pool
    atomic_int sleepers;          // workers blocked on `wake`
    atomic_int owner_sleeping;    // the owner is (about to be) blocked on `done_cv`
    // The current job (release stores, acquire loads: see the top of the file).
    _Atomic(zy__range_fn) fn;
    _Atomic(void *) ctx;
    atomic_size_t n, grain, nchunks;
    atomic_int nthreads;
    int nworkers; // started; changed only by the owner of `busy`
    pthread_mutex_t mu;
    pthread_cond_t wake;    // workers wait here for a new generation
    pthread_cond_t done_cv; // the owner waits here for its last chunks
    unsigned start_gen[MAX_WORKERS + 1];
} P = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .wake = PTHREAD_COND_INITIALIZER,
       .done_cv = PTHREAD_COND_INITIALIZER};

static _Thread_local int tls_in_task;

int zy__in_parallel(void) { return tls_in_task; }

int zy__parallel_threads(void) { return zy__in_parallel() ? 1 : zy_threads_get(); }

typedef struct row_sums_job {
    zy__rows_fn fn;
    void *ctx;
    double *sums; // (groups, width)
    size_t N, width, groups;
} row_sums_job;

static void row_sums_groups(void *ctx, size_t g0, size_t g1, int thread) {
    (void)thread;
    const row_sums_job *j = ctx;
    for (size_t g = g0; g < g1; g++) {
        double *acc = j->sums + g * j->width;
        for (size_t c = 0; c < j->width; c++) acc[c] = 0.0;
        j->fn(j->ctx, j->N * g / j->groups, j->N * (g + 1) / j->groups, acc);
    }
}

bool zy__parallel_row_sums(size_t N, size_t width, int max_threads, zy__rows_fn fn, void *ctx,
                           double *out) {
    size_t groups = ZY_MIN(N / ZY_ROW_GROUP_MIN, (size_t)ZY_ROW_GROUPS);
    if (!groups && N) groups = 1;
    if (!groups || !width) {
        for (size_t c = 0; c < width; c++) out[c] = 0.0;
        return true;
    }
    if (width > SIZE_MAX / sizeof(double) / groups) return false;
    double *sums = zy_alloc(groups * width * sizeof *sums);
    if (!sums) return false;
    row_sums_job j = {fn, ctx, sums, N, width, groups};
    zy__parallel(groups, 1, max_threads, row_sums_groups, &j);
    for (size_t c = 0; c < width; c++) {
        double t = 0.0;
        for (size_t g = 0; g < groups; g++) t += sums[g * width + c];
        out[c] = t;
    }
    zy_free(sums);
    return true;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// Spin until stop(arg) or about `ns` nanoseconds have passed; returns stop(arg). The clock
// is read every 64 pauses only (a pause is 10-150 cycles depending on the CPU).
static int spin_until(int (*stop)(void *), void *arg, uint64_t ns) {
    uint64_t t0 = 0;
    for (unsigned i = 1;; i++) {
        if (stop(arg)) return 1;
        CPU_RELAX();
        if (i % 64 == 0) {
            uint64_t t = now_ns();
            if (!t0) t0 = t;
            else if (t - t0 >= ns) return stop(arg);
        }
    }
}

#define LOAD(field) atomic_load_explicit(&P.field, memory_order_acquire)
#define STORE(field, v) atomic_store_explicit(&P.field, v, memory_order_release)

// Claim and run chunks of job `g` as thread `tid` until none is left, then count them
// as done (and wake the owner if they were the last and it sleeps).
static void run_chunks(unsigned g, int tid) {
    zy__range_fn fn = LOAD(fn);
    void *ctx = LOAD(ctx);
    size_t n = LOAD(n), grain = LOAD(grain), nchunks = LOAD(nchunks), mine = 0;
    uint_fast64_t v = atomic_load(&P.next);
    for (;;) {
        size_t c = (size_t)(v & 0xffffffffu);
        if ((unsigned)(v >> 32) != g || c >= nchunks) break; // also true when CLOSED
        if (!atomic_compare_exchange_weak(&P.next, &v, v + 1)) continue; // v reloaded
        size_t b = c * grain;
        fn(ctx, b, ZY_MIN(n, b + grain), tid);
        mine++;
        v = atomic_load(&P.next);
    }
    if (!mine) return; // claimed nothing: job g may be long gone, touch nothing of it
    if (atomic_fetch_add(&P.done, mine) + mine == nchunks && atomic_load(&P.owner_sleeping)) {
        pthread_mutex_lock(&P.mu);
        pthread_cond_broadcast(&P.done_cv);
        pthread_mutex_unlock(&P.mu);
    }
}

typedef struct gen_wait {
    unsigned seen;
} gen_wait;

static int gen_changed(void *arg) {
    return atomic_load(&P.gen) != ((gen_wait *)arg)->seen;
}

static void *worker_main(void *arg) {
    int id = (int)(intptr_t)arg;
    gen_wait w = {P.start_gen[id]};
    tls_in_task = 1; // whatever a chunk calls runs inline on this thread
    for (;;) {
        if (!spin_until(gen_changed, &w, SPIN_IDLE_NS)) {
            pthread_mutex_lock(&P.mu);
            atomic_fetch_add(&P.sleepers, 1);
            while (!gen_changed(&w)) pthread_cond_wait(&P.wake, &P.mu);
            atomic_fetch_sub(&P.sleepers, 1);
            pthread_mutex_unlock(&P.mu);
        }
        unsigned g = atomic_load(&P.gen);
        w.seen = g;
        if (id < LOAD(nthreads)) run_chunks(g, id);
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
        if (pthread_attr_init(&at)) break;
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

typedef struct done_wait {
    size_t nchunks;
} done_wait;

static int all_done(void *arg) {
    return atomic_load(&P.done) >= ((done_wait *)arg)->nchunks;
}

void zy__parallel(size_t n, size_t grain, int max_threads, zy__range_fn fn, void *ctx) {
    if (n == 0) return;
    if (grain == 0) grain = 1;
    size_t nchunks = (n - 1) / grain + 1;
    int nt = zy__in_parallel() ? 1 : zy_threads_get();
    if (max_threads > 0 && nt > max_threads) nt = max_threads;
    if ((size_t)nt > nchunks) nt = (int)nchunks;
    int idle = 0;
    // The claim word holds 32 bits of chunk index; a job of 2^32 - 1 chunks or more (grain
    // far too small) runs inline, with the same chunks.
    if (nt <= 1 || nchunks >= CLOSED ||
        !atomic_compare_exchange_strong(&P.busy, &idle, 1)) {
        run_inline(n, grain, fn, ctx);
        return;
    }
    grow(nt - 1);
    nt = ZY_MIN(nt, P.nworkers + 1);
    unsigned g = atomic_load(&P.gen) + 1;
    STORE(fn, fn);
    STORE(ctx, ctx);
    STORE(n, n);
    STORE(grain, grain);
    STORE(nchunks, nchunks);
    STORE(nthreads, nt);
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
    done_wait dw = {nchunks};
    if (!spin_until(all_done, &dw, SPIN_DONE_NS)) {
        pthread_mutex_lock(&P.mu);
        atomic_store(&P.owner_sleeping, 1);
        while (!all_done(&dw)) pthread_cond_wait(&P.done_cv, &P.mu);
        atomic_store(&P.owner_sleeping, 0);
        pthread_mutex_unlock(&P.mu);
    }
    atomic_store(&P.next, ((uint_fast64_t)g << 32) | CLOSED);
    atomic_store(&P.busy, 0);
}
