// Data-parallel training over MPI (dist.h): MPI in the `make mpi` flavour (ZY_MPI), one
// process otherwise.
#include <stdio.h>

#include "cli.h"
#include "dist.h"

#ifdef ZY_MPI
#include <mpi.h>

static int rank, world = 1, initialized;
static char describe[320];
static long n_reduce;
static double t_reduce;
static size_t reduce_bytes;

int zy_cli_dist_init(int *argc, char ***argv) {
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return zy_cli_die("MPI_Init failed");
    initialized = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int n = 0;
    MPI_Get_library_version(lib, &n);
    for (int i = 0; i < n; i++)
        if (lib[i] == ',' || lib[i] == '\n') lib[i] = 0;
    snprintf(describe, sizeof describe, "%.200s (%d process%s)", lib, world, world > 1 ? "es" : "");
    return 0;
}

int zy_cli_dist_end(int rc) {
    if (!initialized) return rc;
    if (rc && world > 1) {
        fprintf(stderr, "zhuyi: rank %d of %d failed (exit status %d): ending the job\n", rank,
                world, rc);
        MPI_Abort(MPI_COMM_WORLD, rc);
    }
    MPI_Finalize();
    initialized = 0;
    return rc;
}

int zy_cli_dist_rank(void) { return rank; }
int zy_cli_dist_world(void) { return world; }
const char *zy_cli_dist_describe(void) { return describe; }

// Reduced in chunks of at most 2^30 floats (MPI counts are ints).
zy_status zy_cli_dist_reduce(float *grads, size_t n, double *loss_sum, void *user) {
    (void)user;
    if (world == 1) return ZY_STATUS_OK;
    double t0 = MPI_Wtime();
    const size_t chunk = (size_t)1 << 30;
    int ok = 1;
    for (size_t i = 0; i < n && ok; i += chunk) {
        int k = (int)(n - i < chunk ? n - i : chunk);
        void *send = rank == 0 ? MPI_IN_PLACE : grads + i;
        ok = MPI_Reduce(send, grads + i, k, MPI_FLOAT, MPI_SUM, 0, MPI_COMM_WORLD) ==
                 MPI_SUCCESS &&
             MPI_Bcast(grads + i, k, MPI_FLOAT, 0, MPI_COMM_WORLD) == MPI_SUCCESS;
    }
    double l = *loss_sum;
    ok = ok && MPI_Allreduce(MPI_IN_PLACE, &l, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) ==
                   MPI_SUCCESS;
    if (!ok) {
        fprintf(stderr, "zhuyi: rank %d: the gradient reduction failed; ending the job\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    float inv = 1.0f / (float)world;
    for (size_t i = 0; i < n; i++) grads[i] *= inv;
    *loss_sum = l / world;
    t_reduce += MPI_Wtime() - t0;
    n_reduce++;
    reduce_bytes = n * sizeof *grads;
    return ZY_STATUS_OK;
}

void zy_cli_dist_stats(long *calls, double *seconds, size_t *bytes) {
    *calls = n_reduce, *seconds = t_reduce, *bytes = reduce_bytes;
}

#else

int zy_cli_dist_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 0;
}
int zy_cli_dist_end(int rc) { return rc; }
int zy_cli_dist_rank(void) { return 0; }
int zy_cli_dist_world(void) { return 1; }
const char *zy_cli_dist_describe(void) { return "none (this build has no MPI: `make mpi`)"; }
zy_status zy_cli_dist_reduce(float *grads, size_t n, double *loss_sum, void *user) {
    (void)grads, (void)n, (void)loss_sum, (void)user;
    return ZY_STATUS_OK;
}
void zy_cli_dist_stats(long *calls, double *seconds, size_t *bytes) {
    *calls = 0, *seconds = 0, *bytes = 0;
}

#endif
