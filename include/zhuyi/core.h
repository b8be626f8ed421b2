// zhuyi core: status codes and errors, logging, allocation, arena, RNG, CPU features, threads.
// Everything here is plain C11; no function prints, exits or aborts on bad input.
#ifndef ZHUYI_CORE_H
#define ZHUYI_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZY_VERSION_MAJOR 0
#define ZY_VERSION_MINOR 1
#define ZY_VERSION_PATCH 0
#define ZY_VERSION_STRING "0.1.0"

const char *zy_version(void);

// ---- status -------------------------------------------------------------------------
// 0 is success; every error is negative. New values are only appended.
typedef enum zy_status {
    ZY_STATUS_OK = 0,
    ZY_STATUS_INVALID_ARGUMENT = -1, // a caller passed a bad value (size, pointer, flag)
    ZY_STATUS_OUT_OF_MEMORY = -2,    // the allocator or an arena ran out
    ZY_STATUS_IO = -3,               // open/read/write/rename failed (errno in the message)
    ZY_STATUS_BAD_FORMAT = -4,       // a file or string is malformed (message names where)
    ZY_STATUS_UNSUPPORTED = -5,      // valid request this build or CPU cannot do
    ZY_STATUS_SHAPE_MISMATCH = -6,   // tensors or configs whose shapes disagree
    ZY_STATUS_NOT_FOUND = -7,        // a named thing (tensor, field, file) is missing
    ZY_STATUS_INTERRUPTED = -8,      // stopped on request (e.g. Ctrl-C) after saving
} zy_status;

// A fixed description of the status code ("invalid argument", ...).
const char *zy_status_str(zy_status s);

// The detailed message of the last error set on this thread ("" if none), e.g.
// "model.safetensors: tensor 'h.0.attn.c_attn.weight': data range 12..40 past end of file".
const char *zy_last_error(void);
void zy_clear_error(void);
// Set this thread's message (printf-style) and return `status`: for code that implements
// the library's interfaces (a model's operations, a data source), so its errors read like
// the library's own. The arguments may include zy_last_error() itself.
zy_status zy_error(zy_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// ---- logging ------------------------------------------------------------------------
// The library prints nothing itself; messages go to a callback if the caller sets one.
typedef enum zy_log_level {
    ZY_LOG_DEBUG = 0,
    ZY_LOG_INFO = 1,
    ZY_LOG_WARN = 2,
    ZY_LOG_ERROR = 3,
} zy_log_level;

typedef void (*zy_log_fn)(zy_log_level level, const char *msg, void *user);
// fn NULL turns logging off (the default). Messages below min_level are dropped.
void zy_log_set(zy_log_fn fn, void *user, zy_log_level min_level);

// ---- allocation ---------------------------------------------------------------------
// Replaceable allocator hook. alloc must return memory aligned to at least `align`
// (a power of two, at most 4096) or NULL. The default uses aligned_alloc/free.
typedef struct zy_allocator {
    void *(*alloc)(size_t size, size_t align, void *user);
    void (*free)(void *ptr, void *user);
    void *user;
} zy_allocator;

// NULL restores the default. Set it before allocating anything: memory must be freed by
// the allocator that made it.
void zy_allocator_set(const zy_allocator *a);
// 64-byte aligned; size 0 allowed (returns a unique pointer). NULL + error on failure.
void *zy_alloc(size_t size);
// As zy_alloc, zero-filled; NULL + error if n * size overflows.
void *zy_calloc(size_t n, size_t size);
void zy_free(void *ptr);

// ---- arena --------------------------------------------------------------------------
// A bump allocator for activations: sized once up front, every block 64-byte aligned,
// released all together (reset) or back to a mark. Nothing is freed individually.
typedef struct zy_arena zy_arena;

zy_status zy_arena_create(zy_arena **out, size_t capacity);
void zy_arena_free(zy_arena *a);
// NULL (and ZY_STATUS_OUT_OF_MEMORY as last error) when the arena is full.
void *zy_arena_alloc(zy_arena *a, size_t size);
float *zy_arena_floats(zy_arena *a, size_t n);
size_t zy_arena_mark(const zy_arena *a);
void zy_arena_reset_to(zy_arena *a, size_t mark);
void zy_arena_reset(zy_arena *a);
size_t zy_arena_used(const zy_arena *a);
size_t zy_arena_capacity(const zy_arena *a);
size_t zy_arena_peak(const zy_arena *a);

// ---- random numbers -----------------------------------------------------------------
// xoshiro256** (Blackman & Vigna, 2018), seeded through splitmix64. The state is a plain
// struct so it can be saved in a checkpoint and restored bit-exactly.
typedef struct zy_rng {
    uint64_t s[4];
} zy_rng;

void zy_rng_seed(zy_rng *r, uint64_t seed);
uint64_t zy_rng_u64(zy_rng *r);
// Uniform in [0, 1) with 24 random bits (every value exactly representable).
float zy_rng_uniform(zy_rng *r);
// Uniform integer in [0, n), unbiased (rejection sampling); n > 0.
uint64_t zy_rng_below(zy_rng *r, uint64_t n);
// Standard normal N(0, 1) via Box-Muller (one value per call, no cached spare, so the
// state alone determines the stream).
float zy_rng_normal(zy_rng *r);
// Fill x[0..n) with mean + std * N(0,1) / with uniform [lo, hi).
void zy_rng_fill_normal(zy_rng *r, float *x, size_t n, float mean, float std);
void zy_rng_fill_uniform(zy_rng *r, float *x, size_t n, float lo, float hi);
// A stateless counter-based hash: the same (key, counter) always gives the same 64 bits.
// Used where values must not depend on thread count or visiting order (dropout masks).
uint64_t zy_hash64(uint64_t key, uint64_t counter);

// ---- CPU features -------------------------------------------------------------------
enum {
    ZY_CPU_AVX2 = 1 << 0,     // AVX2 and FMA3, with OS support for YMM state
    ZY_CPU_AVX512F = 1 << 1,  // AVX-512 F (+ OS support for ZMM state)
    ZY_CPU_AVX512BF16 = 1 << 2,
    ZY_CPU_AVX512BW = 1 << 3,
    ZY_CPU_AVX512VL = 1 << 4,
    ZY_CPU_AMX_BF16 = 1 << 5, // AMX-TILE + AMX-BF16, tile state enabled and granted by the OS
    ZY_CPU_F16C = 1 << 6,        // F16C half <-> float conversion (with AVX's YMM state)
    ZY_CPU_AVX512VNNI = 1 << 7,  // AVX-512 VNNI (vpdpbusd on ZMM)
    ZY_CPU_AVXVNNI = 1 << 8,     // AVX-VNNI (vpdpbusd on YMM, VEX-encoded)
};

// The kernel families zhuyi can choose between, slowest to fastest.
typedef enum zy_simd {
    ZY_SIMD_SCALAR = 0,
    ZY_SIMD_AVX2 = 1,
    ZY_SIMD_AVX512 = 2,
} zy_simd;

// Bit set of ZY_CPU_* the running CPU (and OS) supports.
unsigned zy_cpu_features(void);
// The family kernels use now: the best the CPU supports, unless lowered by
// zy_simd_set() or by the environment variable ZY_SIMD=scalar|avx2|avx512.
zy_simd zy_simd_level(void);
// Use `level` (clamped to what the CPU supports). Returns the level in force.
zy_simd zy_simd_set(zy_simd level);
const char *zy_simd_name(zy_simd level);

// How bf16 matrix products (zy_gemm_precision_set(ZY_PRECISION_BF16), gemm.h) are
// computed, slowest to fastest. Each hardware path has a scalar emulation with the same
// arithmetic, bit for bit; ZY_BF16_EMULATED uses AMX's (the only path on a CPU with
// neither instruction set, and slow: a correctness reference, not a way to train).
typedef enum zy_bf16_path {
    ZY_BF16_EMULATED = 0,
    ZY_BF16_AVX512 = 1, // vdpbf16ps (AVX512-BF16)
    ZY_BF16_AMX = 2,    // tdpbf16ps (AMX-BF16)
} zy_bf16_path;

// The path in force: the best the CPU supports (never above what zy_simd_level() allows:
// below AVX-512 it is emulated), unless lowered by zy_bf16_set() or by the environment
// variable ZY_BF16=emulated|avx512-bf16|amx.
zy_bf16_path zy_bf16_level(void);
// Use `path` (clamped to what the CPU supports). Returns the path in force.
zy_bf16_path zy_bf16_set(zy_bf16_path path);
// "emulated", "avx512-bf16", "amx".
const char *zy_bf16_name(zy_bf16_path path);

// ---- files --------------------------------------------------------------------------
// Read a whole file into a zy_alloc'd buffer (free with zy_free), NUL-terminated for
// convenience (*len excludes the NUL). Errors name the path and the errno text.
zy_status zy_file_read(const char *path, char **data, size_t *len);

// Create directory `path` and any missing parents (mode 0755, as `mkdir -p`). An
// existing directory is fine; an existing non-directory is an error naming it.
zy_status zy_mkdirs(const char *path);

// Atomic writes.
// The file appears at `path` whole or not at all: data goes to a temporary file in the
// same directory, which is flushed, fsync'ed and renamed over `path`; then the directory
// is fsync'ed so the rename survives a crash. On any failure the temporary file is
// removed and an existing `path` is left untouched. Errors name the path and errno text.
zy_status zy_file_write_atomic(const char *path, const void *data, size_t n);

// Streaming variant for files written in pieces (checkpoints, safetensors):
//   zy_file_writer *w;
//   if ((s = zy_file_writer_create(&w, path))) return s;
//   ... zy_file_writer_write(w, chunk, n) ...          (errors are sticky)
//   return zy_file_writer_commit(w);                   (or zy_file_writer_abort(w))
// Every writer ends in exactly one of commit or abort, which both release it. commit
// fails (and removes the temporary file) if any earlier write failed.
typedef struct zy_file_writer zy_file_writer;

zy_status zy_file_writer_create(zy_file_writer **out, const char *path);
zy_status zy_file_writer_write(zy_file_writer *w, const void *data, size_t n);
// Bytes written so far (also after a failed write: what reached the file).
uint64_t zy_file_writer_size(const zy_file_writer *w);
zy_status zy_file_writer_commit(zy_file_writer *w);
// Discard everything written: the temporary file is removed, `path` is untouched.
void zy_file_writer_abort(zy_file_writer *w);
// Remove the temporary files that atomic writes of `path` left when their process was
// killed ("path.tmp.<pid>.<n>" whose process no longer runs). Returns how many.
int zy_file_remove_stale_temps(const char *path);

// ---- threads ------------------------------------------------------------------------
// Kernels run on this many threads (the calling thread and the library's pool). Default:
// $ZY_THREADS if set and valid (1..4096), otherwise the number of CPUs the process may run
// on (its affinity mask).
int zy_threads_get(void);
// n <= 0 restores the default. Returns the count in force.
int zy_threads_set(int n);

#ifdef __cplusplus
}
#endif
#endif
