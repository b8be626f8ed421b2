// The thread count kernels use. OpenMP is optional: without it everything runs on one
// thread and these calls report 1.
#include <stdlib.h>

#include "internal.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef _OPENMP
static int default_threads(void) {
    const char *env = getenv("ZY_THREADS");
    if (env) {
        char *end;
        long n = strtol(env, &end, 10);
        if (*env && !*end && n > 0 && n <= 4096) return (int)n;
    }
    return omp_get_num_procs();
}
#endif

static int current;

int zy_threads_get(void) {
    if (!current) zy_threads_set(0);
    return current;
}

int zy_threads_set(int n) {
#ifdef _OPENMP
    current = n > 0 ? n : default_threads();
    omp_set_num_threads(current);
#else
    (void)n;
    current = 1;
#endif
    return current;
}
