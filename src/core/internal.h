// Internal helpers shared across the library (not installed, not public API).
#ifndef ZHUYI_CORE_INTERNAL_H
#define ZHUYI_CORE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "zhuyi/core.h"

// Record a detailed error for zy_last_error() and return `status`, so failures read
//   return zy__error(ZY_STATUS_BAD_FORMAT, "%s: field '%s' missing", path, name);
zy_status zy__error(zy_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// Send a message to the caller's log callback (nothing happens if none is set).
void zy__log(zy_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// For programmer mistakes only (broken invariants), never for bad input. Active in all
// builds: a violated invariant would otherwise corrupt memory silently.
void zy__assert_fail(const char *cond, const char *file, int line);
#define ZY_ASSERT(cond)                                                                    \
    do {                                                                                   \
        if (!(cond)) zy__assert_fail(#cond, __FILE__, __LINE__);                           \
    } while (0)

// A copy of the string s from zy_alloc (zy_free it); NULL if s is NULL or when out of
// memory (the error then set).
char *zy__strdup(const char *s);

#define ZY_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ZY_MAX(a, b) ((a) > (b) ? (a) : (b))

// Injected I/O failures, for the fault tests: after zy__io_fault_set(n), the n-th file
// operation from then on (creating, writing, committing a file through the atomic writer,
// and the directory operations of checkpoints) fails as if the disk were full (ENOSPC);
// 0 turns injection off. zy__io_fault_hit() counts one operation and says whether it
// must fail (setting errno). zy__io_fault_count() is the number of operations counted
// since the last set.
void zy__io_fault_set(long n);
int zy__io_fault_hit(void);
long zy__io_fault_count(void);

// Read exactly n bytes at offset off of fd (file.c), retrying short reads and EINTR; an
// error or an end of file before n bytes is ZY_STATUS_IO naming path and the offset.
zy_status zy__pread_full(int fd, void *buf, size_t n, uint64_t off, const char *path);

// Sizes (limits.c): *out = a * b, false if that overflows size_t (*out is then unusable).
static inline bool zy__mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
// The machine's physical memory in bytes, 0 if the system does not say.
uint64_t zy__physical_memory(void);
// True if `bytes` is more than the physical memory (never when it is unknown): refuse the
// size before allocating, naming what set it.
bool zy__exceeds_memory(uint64_t bytes);
#define ZY_GIB(bytes) ((double)(bytes) / (1024.0 * 1024.0 * 1024.0))

// Column sums (a bias's gradient, layernorm's parameters) walk down the rows of a matrix a
// few cache lines at a time, a row's length apart. The hardware prefetchers do not follow
// such a walk across pages, so it waits on memory at every row unless it asks for the row
// ZY_ROW_AHEAD on itself: the n floats from p on (dbias of 4096 x 512: 0.95 -> 0.55 ms).
#define ZY_ROW_AHEAD 16
static inline void zy__prefetch_floats(const float *p, int n) {
    for (int i = 0; i < n; i += 16) __builtin_prefetch(p + i);
}

// True inside a chunk of a zy__parallel job (src/core/pool.h): kernels called there run
// single-threaded, on the calling thread.
int zy__in_parallel(void);

#endif
