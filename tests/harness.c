// The test runner and the checking helpers declared in harness.h.
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zhuyi/core.h"
#include "zhuyi/gemm.h"

typedef struct {
    const char *name;
    const char *file;
    zt_fn fn;
} zt_test;

static zt_test *tests;
static int ntests, captests;
static int current_failed;
static int current_ran; // paths run (zt_use_simd succeeded) by the running test
static int verbose;
static char notes[16384];
static size_t notes_len;

// Skip reasons of the running test, each kept once; more than fit are only counted.
enum { MAX_SKIPS = 8 };
static char skips[MAX_SKIPS][160];
static int nskips, skips_dropped;

// The highest SIMD level tests may use: the one in force when the run starts (the CPU's
// best, lowered by ZY_SIMD), and the CPU's best.
static zy_simd simd_ceiling, simd_cpu_best;
static zy_bf16_path bf16_ceiling, bf16_cpu_best;

static size_t zt_min_(size_t a, size_t b) { return a < b ? a : b; }

void zt_register(const char *name, zt_fn fn, const char *file) {
    if (ntests == captests) {
        captests = captests ? 2 * captests : 64;
        tests = realloc(tests, (size_t)captests * sizeof *tests);
        if (!tests) {
            fprintf(stderr, "out of memory registering tests\n");
            exit(2);
        }
    }
    tests[ntests++] = (zt_test){name, file, fn};
}

static void vnote(const char *prefix, const char *fmt, va_list ap) {
    if (notes_len >= sizeof notes - 2) return;
    int k = snprintf(notes + notes_len, sizeof notes - notes_len, "    %s", prefix);
    if (k > 0) notes_len = zt_min_(notes_len + (size_t)k, sizeof notes - 1);
    k = vsnprintf(notes + notes_len, sizeof notes - notes_len, fmt, ap);
    if (k > 0) notes_len = zt_min_(notes_len + (size_t)k, sizeof notes - 2);
    notes[notes_len++] = '\n';
    notes[notes_len] = '\0';
}

void zt_fail(const char *file, int line, const char *fmt, ...) {
    char prefix[256];
    snprintf(prefix, sizeof prefix, "FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vnote(prefix, fmt, ap);
    va_end(ap);
    current_failed = 1;
}

void zt_note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vnote("", fmt, ap);
    va_end(ap);
}

int zt_failed(void) { return current_failed; }

int zt_check_close(const char *file, int line, const char *what, const float *got,
                   const float *want, size_t n, double atol, double rtol) {
    double worst_abs = 0, worst_rel = 0;
    size_t first_bad = n;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i], d = fabs(g - w);
        double rel = d / (fabs(w) > 1e-30 ? fabs(w) : 1e-30);
        if (isnan(g) != isnan(w) || (!isnan(g) && !(d <= atol + rtol * fabs(w)))) {
            if (first_bad == n) first_bad = i;
        }
        if (d > worst_abs || isnan(d)) worst_abs = d;
        if (d > atol && rel > worst_rel) worst_rel = rel;
    }
    zt_note("%-28s n=%-8zu worst abs %.3g, worst rel (above atol) %.3g  [atol %.1g rtol %.1g]",
            what, n, worst_abs, worst_rel, atol, rtol);
    if (first_bad < n) {
        zt_fail(file, line, "%s[%zu] = %.9g, expected %.9g (atol %g, rtol %g)", what,
                first_bad, (double)got[first_bad], (double)want[first_bad], atol, rtol);
        return 0;
    }
    return 1;
}

int zt_gradcheck(const char *file, int line, const char *what, zt_loss_fn loss, void *ctx,
                 float *x, const float *grad, size_t n, double eps, double tol,
                 size_t max_checks) {
    if (n == 0) return 1;
    size_t checks = n < max_checks ? n : max_checks;
    double *fd = malloc(checks * sizeof *fd);
    size_t *idx = malloc(checks * sizeof *idx);
    if (!fd || !idx) {
        fprintf(stderr, "out of memory in gradcheck\n");
        exit(2);
    }
    double fdmax = 0;
    for (size_t c = 0; c < checks; c++) {
        size_t i = checks == n ? c : (size_t)((double)c * (double)(n - 1) / (double)(checks - 1));
        idx[c] = i;
        float orig = x[i];
        x[i] = (float)(orig + eps);
        double lp = loss(ctx);
        x[i] = (float)(orig - eps);
        double lm = loss(ctx);
        // Divide by the step actually taken (x ± eps rounds to float).
        double h = (double)(float)(orig + eps) - (double)(float)(orig - eps);
        x[i] = orig;
        fd[c] = (lp - lm) / h;
        if (fabs(fd[c]) > fdmax) fdmax = fabs(fd[c]);
    }
    double floor_ = 0.01 * fdmax + 1e-5, worst = 0;
    size_t worst_i = 0, bad = checks;
    for (size_t c = 0; c < checks; c++) {
        double g = grad[idx[c]];
        double scale = fmax(fmax(fabs(g), fabs(fd[c])), floor_);
        double err = fabs(g - fd[c]) / scale;
        if (err > worst || isnan(err)) {
            worst = err;
            worst_i = c;
        }
        if (!(err <= tol) && bad == checks) bad = c;
    }
    zt_note("%-28s gradcheck %zu/%zu elems, worst rel err %.3g [tol %.1g, eps %.1g]", what,
            checks, n, worst, tol, eps);
    int ok = bad == checks;
    if (!ok)
        zt_fail(file, line, "%s: grad[%zu] = %.9g, finite difference %.9g (worst at [%zu])",
                what, idx[bad], (double)grad[idx[bad]], fd[bad], idx[worst_i]);
    free(fd);
    free(idx);
    return ok;
}

void zt_skip(const char *fmt, ...) {
    char r[sizeof skips[0]];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r, sizeof r, fmt, ap);
    va_end(ap);
    for (int i = 0; i < nskips; i++)
        if (!strcmp(skips[i], r)) return;
    if (nskips == MAX_SKIPS) {
        skips_dropped++;
        return;
    }
    memcpy(skips[nskips++], r, sizeof r);
}

int zt_use_simd(int level) {
    const char *name = zy_simd_name((zy_simd)level);
    if (level > (int)simd_cpu_best) {
        zt_skip("simd %s: this CPU lacks it", name);
        return 0;
    }
    if (level > (int)simd_ceiling) {
        zt_skip("simd %s: above ZY_SIMD=%s", name, zy_simd_name(simd_ceiling));
        return 0;
    }
    if ((int)zy_simd_set((zy_simd)level) != level) { // cannot happen below the CPU's best
        zt_skip("simd %s: not available", name);
        return 0;
    }
    current_ran++;
    return 1;
}

int zt_use_bf16(int path) {
    const char *name = zy_bf16_name((zy_bf16_path)path);
    if (path > (int)bf16_cpu_best) {
        zt_skip("bf16 %s: this CPU lacks it", name);
        return 0;
    }
    if (path > (int)bf16_ceiling) {
        zt_skip("bf16 %s: above ZY_BF16 / ZY_SIMD", name);
        return 0;
    }
    if ((int)zy_bf16_set((zy_bf16_path)path) != path) {
        zt_skip("bf16 %s: not available", name);
        return 0;
    }
    current_ran++;
    return 1;
}

void zt_fill_uniform(float *x, size_t n, uint64_t seed, float lo, float hi) {
    zy_rng r;
    zy_rng_seed(&r, seed);
    zy_rng_fill_uniform(&r, x, n, lo, hi);
}

void *zt_malloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "tests: out of memory (%zu bytes)\n", bytes);
        exit(2);
    }
    return p;
}

float *zt_floats(size_t n) {
    float *p = zt_malloc(n * sizeof(float));
    memset(p, 0, n * sizeof(float));
    return p;
}

int zt_copy_file(const char *src, const char *dst) {
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    char buf[65536];
    size_t n;
    int ok = in && out;
    while (ok && (n = fread(buf, 1, sizeof buf, in)) > 0) ok = fwrite(buf, 1, n, out) == n;
    if (in) fclose(in);
    if (out && fclose(out)) ok = 0;
    return ok;
}

int zt_rm_tree(const char *path) {
    struct stat sb;
    if (lstat(path, &sb)) return errno == ENOENT;
    DIR *d = S_ISDIR(sb.st_mode) ? opendir(path) : NULL; // (links are not followed)
    if (!d) return unlink(path) == 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[1024]; // (a path cut short is another path: left, so rmdir fails)
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < sizeof sub)
            zt_rm_tree(sub);
    }
    closedir(d);
    return rmdir(path) == 0;
}

double zt_dot(const float *out, const float *w, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * w[i];
    return s;
}

static int cmp_tests(const void *a, const void *b) {
    const zt_test *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv) {
    const char *filters[64];
    int nfilters = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v")) verbose = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: %s [-v] [SUBSTRING...]\n"
                   "Runs the tests whose names contain any SUBSTRING (all by default).\n"
                   "-v prints every test's notes (worst differences, gradcheck errors).\n"
                   "ZY_SIMD=scalar|avx2 caps the SIMD levels tests switch to; paths above it\n"
                   "are reported as skipped, as on a CPU without them.\n",
                   argv[0]);
            return 0;
        } else if (nfilters < 64) filters[nfilters++] = argv[i];
    }
    // Constructors register in link order; sort for a stable, readable report.
    qsort(tests, (size_t)ntests, sizeof *tests, cmp_tests);
    simd_ceiling = zy_simd_level();
    bf16_ceiling = zy_bf16_level();
    simd_cpu_best = zy_simd_set(ZY_SIMD_AVX512);
    bf16_cpu_best = zy_bf16_set(ZY_BF16_AMX);
    zy_simd_set(simd_ceiling);
    zy_bf16_set(bf16_ceiling);
    printf("zhuyi %s tests, simd %s, bf16 %s, %d threads\n", zy_version(),
           zy_simd_name(zy_simd_level()), zy_bf16_name(zy_bf16_level()), zy_threads_get());
    int passed = 0, failed = 0, skipped = 0;
    for (int t = 0; t < ntests; t++) {
        int run = nfilters == 0;
        for (int f = 0; f < nfilters && !run; f++) run = strstr(tests[t].name, filters[f]) != 0;
        if (!run) continue;
        current_failed = 0;
        current_ran = 0;
        nskips = skips_dropped = 0;
        notes_len = 0;
        notes[0] = '\0';
        zy_clear_error();
        // Whatever the test changes (or leaves changed when an ASSERT returns early), the
        // next one starts with the same SIMD level, thread count and allocator.
        zy_simd simd = zy_simd_level();
        zy_bf16_path bf16 = zy_bf16_level();
        int threads = zy_threads_get();
        tests[t].fn();
        zy_simd_set(simd);
        zy_bf16_set(bf16);
        zy_gemm_precision_set(ZY_PRECISION_FP32);
        zy_threads_set(threads);
        zy_allocator_set(NULL);

        if (current_failed) {
            failed++;
            printf("FAIL %s\n", tests[t].name);
        } else if (nskips && !current_ran) {
            // Nothing ran: say why on the test's own line; never count it as passed.
            skipped++;
            printf("skip %s (", tests[t].name);
            for (int i = 0; i < nskips; i++) printf("%s%s", i ? "; " : "", skips[i]);
            if (skips_dropped) printf("; %d more", skips_dropped);
            printf(")\n");
        } else {
            passed++;
            printf("ok   %s\n", tests[t].name);
        }
        if (nskips && (current_failed || current_ran)) {
            for (int i = 0; i < nskips; i++) printf("    skipped: %s\n", skips[i]);
            if (skips_dropped) printf("    skipped: %d more\n", skips_dropped);
        }
        if (current_failed || verbose) fputs(notes, stdout);
        fflush(stdout);
    }
    printf("%d skipped\n", skipped);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

// ---- failing allocations (harness.h) ------------------------------------------------------
static _Atomic long allocations_left;

static void *countdown_alloc(size_t size, size_t align, void *user) {
    (void)user;
    if (atomic_fetch_sub(&allocations_left, 1) <= 0) return NULL;
    return aligned_alloc(align, size ? (size + align - 1) / align * align : align);
}

static void countdown_free(void *p, void *user) {
    (void)user;
    free(p);
}

void zt_allocations_fail_after(long n) {
    static const zy_allocator a = {countdown_alloc, countdown_free, NULL};
    atomic_store(&allocations_left, n);
    zy_allocator_set(&a);
}
