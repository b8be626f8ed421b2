// The thread count kernels use (src/core/pool.c runs them). The default is $ZY_THREADS when valid, else the number of CPUs this process may run on
// (its affinity mask, so `taskset -c 0` or a container's cpuset gives 1, not the machine's
// core count).
#define _GNU_SOURCE // sched_getaffinity, CPU_COUNT
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define MAX_THREADS 4096

static int default_threads(void) {
    const char *env = getenv("ZY_THREADS");
    if (env) {
        char *end;
        long n = strtol(env, &end, 10);
        if (*env && !*end && n > 0 && n <= MAX_THREADS) return (int)n;
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN); // affinity unknown (huge machine): all CPUs
    return n > 0 ? (int)ZY_MIN(n, MAX_THREADS) : 1;
}

// Read by every kernel call, possibly on several threads: atomic, relaxed (a count set
// while another thread runs a kernel takes effect at its next call).
static atomic_int current;

int zy_threads_get(void) {
    int n = atomic_load_explicit(&current, memory_order_relaxed);
    return n ? n : zy_threads_set(0);
}

int zy_threads_set(int n) {
    n = n > 0 ? ZY_MIN(n, MAX_THREADS) : default_threads();
    atomic_store_explicit(&current, n, memory_order_relaxed);
    return n;
}
