// zhuyi's test harness: TEST(name) registers a test, ASSERT* / CHECK* record failures,
// the runner prints one line per test ("ok", "FAIL" or "skip") and ends with the lines
// "N skipped" and "N passed, N failed".
//
//   TEST(layernorm_matches_torch) {
//       ...
//       CHECK_CLOSE("out", got, want, n, 1e-5, 1e-5);   // prints the worst difference
//   }
//
// ASSERT* stop the current test on failure; CHECK* record it and go on.
// Run a subset: build/zhuyi-tests layernorm gemm  (substring match on test names).
//
// Every test starts from the same state: before it the runner notes the SIMD level and
// the thread count, after it (even one an ASSERT cut short) it restores both and puts the
// default allocator back (zy_allocator_set(NULL)). Tests need not restore them.
#ifndef ZHUYI_TESTS_HARNESS_H
#define ZHUYI_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>

typedef void (*zt_fn)(void);
void zt_register(const char *name, zt_fn fn, const char *file);

#define TEST(name)                                                                         \
    static void name(void);                                                                \
    __attribute__((constructor)) static void zt_reg_##name(void) {                         \
        zt_register(#name, name, __FILE__);                                                \
    }                                                                                      \
    static void name(void)

// Record a failure of the running test (printf-style message).
void zt_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
// Informational line under the running test (shown with -v or when the test fails).
void zt_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int zt_failed(void); // has the running test failed so far?

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) zt_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                      \
    } while (0)
#define ASSERT(cond)                                                                       \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            zt_fail(__FILE__, __LINE__, "ASSERT(%s)", #cond);                              \
            return;                                                                        \
        }                                                                                  \
    } while (0)
#define ASSERT_EQ_INT(a, b)                                                                \
    do {                                                                                   \
        long long zt_a = (long long)(a), zt_b = (long long)(b);                            \
        if (zt_a != zt_b) {                                                                \
            zt_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, zt_a, #b,   \
                    zt_b);                                                                 \
            return;                                                                        \
        }                                                                                  \
    } while (0)
#define ASSERT_NEAR(a, b, tol)                                                             \
    do {                                                                                   \
        double zt_a = (double)(a), zt_b = (double)(b);                                     \
        if (!(zt_a - zt_b <= (tol) && zt_b - zt_a <= (tol))) {                             \
            zt_fail(__FILE__, __LINE__, "%s = %.9g, expected %s = %.9g (tol %g)", #a,      \
                    zt_a, #b, zt_b, (double)(tol));                                        \
            return;                                                                        \
        }                                                                                  \
    } while (0)

// Elementwise |got - want| <= atol + rtol * |want| over n values. Always notes the worst
// difference (absolute and relative) under `what`; records a failure naming the first bad
// index. Returns 1 if all close. NaN anywhere fails.
int zt_check_close(const char *file, int line, const char *what, const float *got,
                   const float *want, size_t n, double atol, double rtol);
#define CHECK_CLOSE(what, got, want, n, atol, rtol)                                        \
    zt_check_close(__FILE__, __LINE__, what, got, want, n, atol, rtol)

// ---- finite-difference gradient check ---------------------------------------------------
// loss(ctx) runs a forward pass on the current inputs and returns a scalar (accumulate it
// in double). x (n) is one input being checked, grad (n) its analytic gradient. Each of
// up to `max_checks` elements (spread evenly; all if n is small) is perturbed by ±eps and
// the central difference compared with grad:
//   |g - fd| <= tol * max(|g|, |fd|, floor),  floor = 0.01 * max_i |fd_i| + 1e-5
// so relative error is judged against the tensor's own scale. Notes the worst error.
// x is restored exactly. Returns 1 on pass.
typedef double (*zt_loss_fn)(void *ctx);
int zt_gradcheck(const char *file, int line, const char *what, zt_loss_fn loss, void *ctx,
                 float *x, const float *grad, size_t n, double eps, double tol,
                 size_t max_checks);
#define GRADCHECK(what, loss, ctx, x, grad, n, eps, tol)                                   \
    zt_gradcheck(__FILE__, __LINE__, what, loss, ctx, x, grad, n, eps, tol, 64)

// ---- helpers ----------------------------------------------------------------------------
// Deterministic test data: uniform in [lo, hi) from a seed.
void zt_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi);
// malloc that fails the run loudly instead of returning NULL (tests only).
void *zt_malloc(size_t bytes);
float *zt_floats(size_t n); // zero-filled
// From now on the library's allocations succeed n more times, then fail (n = 0: every
// one), from any thread; zy_allocator_set(NULL) -- or the end of the test -- undoes it.
void zt_allocations_fail_after(long n);
// Copy the file src to dst (created or truncated); 1 on success.
int zt_copy_file(const char *src, const char *dst);
// Remove path: a file or link, or a directory with everything under it (links are not
// followed). 1 when path is gone afterwards (missing already counts), 0 when something
// could not be removed (it is left).
int zt_rm_tree(const char *path);
// Σ out[i] * w[i] in double: the scalar "loss" for gradient checks (w random).
double zt_dot(const float *out, const float *w, size_t n);

// ---- PyTorch reference dumps (tests/ref/*.zyr, written by tests/refio.py) ---------------
// File layout, little-endian:
//   magic "ZYREF1\0\0" (8 bytes), u32 count, then count records of
//   u32 name_len, name bytes, u32 dtype (0 = f32, 1 = i32), u32 ndim, u32 dims[ndim],
//   data (product(dims) * 4 bytes).
typedef struct zt_ref zt_ref;
// NULL (and a recorded failure) if the file is missing or malformed.
zt_ref *zt_ref_load(const char *path);
void zt_ref_free(zt_ref *r);
// The tensor's data or NULL (and a recorded failure) if absent; *n receives its element
// count when n is not NULL. Float tensors for _f, int32 tensors for _i.
const float *zt_ref_f(zt_ref *r, const char *name, size_t *n);
const int *zt_ref_i(zt_ref *r, const char *name, size_t *n);
// Scalar convenience (first element).
float zt_ref_scalar(zt_ref *r, const char *name);
// The tensor "<prefix>.<name>" copied into dst (n values); a failure if the count differs.
void zt_ref_copy(float *dst, zt_ref *r, const char *prefix, const char *name, size_t n);
// Write a dump the Python side reads (tests/roundtrip_*.py): count 2-D tensors, tensor i
// named names[i], dtypes[i] 0 (f32) or 1 (i32), shape (dims0[i], dims1[i]). 1 on success.
int zt_ref_write(const char *path, const char **names, const void **data, const int *dtypes,
                 const int *dims0, const int *dims1, int count);
// CHECK_CLOSE of got (n) against the tensor "<prefix>.<name>" (a failure if absent or of
// another size).
void zt_ref_check(zt_ref *r, const char *prefix, const char *name, const float *got,
                  size_t n, double atol, double rtol);

// ---- reference cases as JSON lines (tests/ref/*_cases.jsonl, from tests/ref_*.py) --------
struct cJSON;
// each(case, ctx) for every line of path parsed as JSON (freed after the call), which
// returns 1 if the case failed: until 5 have failed, or a line is not JSON (a recorded
// failure). Returns the cases read (*failed: how many failed), or -1 and a recorded
// failure if the file cannot be read.
int zt_ref_cases(const char *path, int (*each)(const struct cJSON *c, void *ctx), void *ctx,
                 int *failed);
// a[0..n) == the JSON list j (n numbers).
int zt_json_same_ints(const int32_t *a, int n, const struct cJSON *j);

// ---- skipping -----------------------------------------------------------------------------
// Record that a path of the running test cannot run here (printf-style reason), e.g. a
// SIMD level this CPU lacks. A test that recorded a skip and ran no path is reported
// "skip name (reason)" and counted as skipped, never as passed; a test that also ran a
// path passes (if nothing failed) and lists what it skipped. A path runs when
// zt_use_simd() succeeds; so a test that skips part of its work by hand and checks the
// rest should check the rest under zt_use_simd(ZY_SIMD_SCALAR) (or not skip).
void zt_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Switch the kernels to SIMD level `level` (a zy_simd) and count a path run: 1. If this
// CPU cannot run it, or it is above the level the run started at (ZY_SIMD=avx2 makes
// AVX-512 paths skip), records a skip and returns 0, so the caller skips that level:
//   for (int l = ZY_SIMD_SCALAR; l <= ZY_SIMD_AVX512; l++) {
//       if (!zt_use_simd(l)) continue;
//       ...
//   }
// The runner restores the level after the test.
int zt_use_simd(int level);
// The same for the bf16 GEMM path (a zy_bf16_path): 1 and counted as run, or a recorded
// skip when this CPU (or ZY_BF16 / ZY_SIMD) does not allow it. Restored after the test,
// as is the gemm precision (FP32).
int zt_use_bf16(int path);

#endif
