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

#include <stdbool.h>
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

// Column sums over rows [0, N), in the same order at any thread count. The rows fall into
// fixed groups of consecutive rows: ZY_ROW_GROUPS, or fewer so that each has at least
// ZY_ROW_GROUP_MIN rows (a group's slots are cleared and added once), one below that.
// fn(ctx, n0, n1, acc) adds the terms of rows [n0, n1) into acc (width doubles, zero at
// the start of each group; fn may also write other outputs row by row); then out (width
// doubles) = the groups' sums added in group order. Each row is read once, along its
// length (a column block at a time would stride through memory). Returns false, with
// nothing done, when the groups' scratch cannot be allocated.
#define ZY_ROW_GROUPS 16
#define ZY_ROW_GROUP_MIN 64
typedef void (*zy__rows_fn)(void *ctx, size_t n0, size_t n1, double *acc);
bool zy__parallel_row_sums(size_t N, size_t width, int max_threads, zy__rows_fn fn, void *ctx,
                           double *out);

#endif
