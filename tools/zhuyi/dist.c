// Data-parallel training over MPI (dist.h): MPI in the `make mpi` flavour (ZY_MPI), one
// process otherwise.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dist.h"
#include "pretrain.h"
#include "zhuyi/io.h"

static int wire_bf16; // gradients exchanged as bf16

int zy_cli_dist_set_wire(const char *type) {
    if (strcmp(type, "fp32") && strcmp(type, "bf16")) return 1;
    wire_bf16 = !strcmp(type, "bf16");
    return 0;
}

#ifdef ZY_MPI
#include <mpi.h>

static int rank, world = 1, initialized;
static char describe[320];
static long n_reduce;
static double t_reduce;
static size_t reduce_bytes;
static uint16_t *wire;      // (wire_n) the bf16 gradients sent and received
static size_t wire_n;
static MPI_Op bf16_sum;     // a + b of bf16 arrays, in fp32, rounded back to bf16

// MPI's user operation: inout[i] = bf16(in[i] + inout[i]), in chunks through fp32.
static void bf16_sum_fn(void *in, void *inout, int *len, MPI_Datatype *type) {
    (void)type;
    enum { CHUNK = 4096 };
    float a[CHUNK], b[CHUNK];
    const uint16_t *x = in;
    uint16_t *y = inout;
    for (int i = 0; i < *len; i += CHUNK) {
        int k = *len - i < CHUNK ? *len - i : CHUNK;
        zy_bf16_to_f32_array(a, x + i, (size_t)k);
        zy_bf16_to_f32_array(b, y + i, (size_t)k);
        for (int j = 0; j < k; j++) b[j] += a[j];
        zy_f32_to_bf16_array(y + i, b, (size_t)k);
    }
}

int zy_cli_dist_init(int *argc, char ***argv) {
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return zy_cli_die("MPI_Init failed");
    initialized = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    // Not commutative: MPI then combines in rank order, the same bits on every run.
    MPI_Op_create(bf16_sum_fn, 0, &bf16_sum);
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
    // An interrupted run stopped at a step all ranks agreed on (zy_cli_dist_any): rank 0
    // saves it, so every rank finalizes; any other failure ends the job.
    if (rc && rc != ZY_PRETRAIN_EXIT_INTERRUPTED && world > 1) {
        fprintf(stderr, "zhuyi: rank %d of %d failed (exit status %d): ending the job\n", rank,
                world, rc);
        MPI_Abort(MPI_COMM_WORLD, rc);
    }
    MPI_Op_free(&bf16_sum);
    MPI_Finalize();
    initialized = 0;
    free(wire);
    wire = NULL, wire_n = 0;
    return rc;
}

int zy_cli_dist_rank(void) { return rank; }
int zy_cli_dist_world(void) { return world; }
const char *zy_cli_dist_describe(void) { return describe; }

// buf (k values of type ty) summed (op) over the ranks into every rank's buf: reduced to
// rank 0 in MPI's fixed order, then broadcast, so every rank has the same bits.
static int sum_to_all(void *buf, int k, MPI_Datatype ty, MPI_Op op) {
    void *send = rank == 0 ? MPI_IN_PLACE : buf;
    return MPI_Reduce(send, buf, k, ty, op, 0, MPI_COMM_WORLD) == MPI_SUCCESS &&
           MPI_Bcast(buf, k, ty, 0, MPI_COMM_WORLD) == MPI_SUCCESS;
}

// grads (n) summed over the ranks as bf16 (half the bytes): each rank's rounded to bf16,
// added in fp32 and rounded again at every step of the reduction.
static int sum_bf16(float *grads, size_t n) {
    if (wire_n < n) {
        free(wire);
        wire_n = 0;
        if (!(wire = malloc(n * sizeof *wire))) return 0;
        wire_n = n;
    }
    zy_f32_to_bf16_array(wire, grads, n);
    const size_t chunk = (size_t)1 << 30;
    int ok = 1;
    for (size_t i = 0; i < n && ok; i += chunk)
        ok = sum_to_all(wire + i, (int)(n - i < chunk ? n - i : chunk), MPI_UINT16_T, bf16_sum);
    if (ok) zy_bf16_to_f32_array(grads, wire, n);
    return ok;
}

// Reduced in chunks of at most 2^30 floats (MPI counts are ints).
zy_status zy_cli_dist_reduce(float *grads, size_t n, double *sums, int n_sums, void *user) {
    (void)user;
    if (world == 1) return ZY_STATUS_OK;
    double t0 = MPI_Wtime();
    const size_t chunk = (size_t)1 << 30;
    int ok = sum_to_all(sums, n_sums, MPI_DOUBLE, MPI_SUM);
    if (ok && wire_bf16) ok = sum_bf16(grads, n);
    else
        for (size_t i = 0; i < n && ok; i += chunk)
            ok = sum_to_all(grads + i, (int)(n - i < chunk ? n - i : chunk), MPI_FLOAT, MPI_SUM);
    if (!ok) {
        fprintf(stderr, "zhuyi: rank %d: the gradient reduction failed; ending the job\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    t_reduce += MPI_Wtime() - t0;
    n_reduce++;
    reduce_bytes = n * (wire_bf16 ? sizeof *wire : sizeof *grads);
    return ZY_STATUS_OK;
}

int zy_cli_dist_any(int flag) {
    if (world == 1) return flag;
    int any = flag;
    if (MPI_Allreduce(&flag, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS) {
        fprintf(stderr, "zhuyi: rank %d: an exchange with the other ranks failed; ending the "
                "job\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return any;
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
zy_status zy_cli_dist_reduce(float *grads, size_t n, double *sums, int n_sums, void *user) {
    (void)grads, (void)n, (void)sums, (void)n_sums, (void)user;
    return ZY_STATUS_OK;
}
int zy_cli_dist_any(int flag) { return flag; }
void zy_cli_dist_stats(long *calls, double *seconds, size_t *bytes) {
    *calls = 0, *seconds = 0, *bytes = 0;
}

#endif
