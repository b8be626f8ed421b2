// Private to the library: zhuyi's thread pool, the one way kernels use several threads.
//
// A kernel cuts its work into chunks and calls zy__parallel; the calling thread and the
// pool's workers take chunks in turn until none is left. Why not OpenMP: a model step is
// hundreds of short parallel regions, and libgomp's idle threads spin at each barrier
// for milliseconds. When another process holds one of the cores, the spinning thread
// keeps the core the last busy thread needs (measured on 2 cores: 5-11 s per GPT-2
// step instead of 0.9 s). Here an idle worker spins only briefly (the next region is
// usually microseconds away), then sleeps on a condition variable; and chunks are handed
// out dynamically, so a descheduled thread delays a region by one chunk, not by half of it.
//
// Determinism: chunk c always covers items [c*grain, min(n, (c+1)*grain)), whatever the
// thread count, so a kernel whose chunks do fixed arithmetic gives the same bits on 1 or
// N threads (reductions combine per-chunk partials in chunk order, never per thread).
//
// Concurrency: any thread may call zy__parallel. One job runs on the pool at a time; a
// call made while another thread's job holds the pool, or from inside a chunk (nested),
// runs all its chunks on the calling thread.
#ifndef ZHUYI_CORE_POOL_H
#define ZHUYI_CORE_POOL_H

#include <stddef.h>

// Items [begin, end) of one chunk, run by thread `thread` in [0, zy__parallel_threads()):
// 0 is the calling thread. Per-thread scratch is indexed by `thread`.
typedef void (*zy__range_fn)(void *ctx, size_t begin, size_t end, int thread);

// Run fn over [0, n) in chunks of `grain` items (grain 0 is taken as 1) on at most
// max_threads threads (<= 0: zy_threads_get()). With one chunk, one thread, nesting, or a
// busy pool, it is a plain loop over the chunks on the calling thread (thread 0).
void zy__parallel(size_t n, size_t grain, int max_threads, zy__range_fn fn, void *ctx);

// The largest `thread` index + 1 a zy__parallel call started now could pass to fn: size
// per-thread scratch by this (it is zy_threads_get(), or 1 inside a chunk).
int zy__parallel_threads(void);

#endif
