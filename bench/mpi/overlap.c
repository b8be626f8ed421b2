// Would starting the gradient exchange while backward still runs pay on this machine?
// (issue 16; `make bench-mpi`, run under mpirun). Every rank times, in the same process:
//   compute   GEMMs of GPT-2 124M backward's shapes, about as long as a real backward pass
//             takes per rank, nothing else;
//   exchange  the blocking exchange training does: MPI_Reduce to rank 0, then MPI_Bcast,
//             of a gradient array of the model's size;
//   overlap   the best case of bucketing: the same exchange started non-blocking
//             (MPI_Ireduce, then MPI_Ibcast) before the compute, the GEMMs run in slices
//             with MPI_Test between them (Open MPI moves shared-memory messages only inside
//             MPI calls), then waited for. A real bucketed backward could only start
//             later, so it would save less.
// Overlap pays by compute + exchange - overlap; rank 0 prints the three times and that.
//   mpirun -np 2 --bind-to none build/mpi/bench/overlap [floats] [gemm-rounds] [threads]
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "zhuyi/core.h"
#include "zhuyi/gemm.h"

// One round: the three GEMMs of an MLP layer's backward at batch 8 x seq 128 (M = 1024
// rows, d = 768, 4d = 3072) — dW += x^T dY, dX = dY W^T, twice.
static void round_of_gemms(float *x, float *w, float *dy, float *out) {
    const int M = 1024, D = 768, F = 3072;
    zy_sgemm(true, false, D, F, M, 1.0f, x, D, dy, F, 1.0f, w, F);   // dW (D, F)
    zy_sgemm(false, true, M, D, F, 1.0f, dy, F, w, F, 0.0f, out, D); // dX (M, D)
    zy_sgemm(true, false, D, F, M, 1.0f, x, D, dy, F, 1.0f, w, F);
    zy_sgemm(false, true, M, D, F, 1.0f, dy, F, w, F, 0.0f, out, D);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, world;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    long n = argc > 1 ? atol(argv[1]) : 124439808L; // GPT-2 124M's trainable floats
    int rounds = argc > 2 ? atoi(argv[2]) : 10;
    zy_threads_set(argc > 3 ? atoi(argv[3]) : 1);
    if (n <= 0 || n > (1L << 30) || rounds <= 0) {
        if (rank == 0) fprintf(stderr, "overlap: bad arguments\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    float *g = malloc((size_t)n * sizeof *g);
    float *x = malloc(1024 * 768 * sizeof *x), *w = malloc(768 * 3072 * sizeof *w);
    float *dy = malloc(1024 * 3072 * sizeof *dy), *out = malloc(1024 * 768 * sizeof *out);
    if (!g || !x || !w || !dy || !out) MPI_Abort(MPI_COMM_WORLD, 1);
    for (long i = 0; i < n; i++) g[i] = (float)(i % 97) * 1e-3f;
    for (int i = 0; i < 1024 * 768; i++) x[i] = (float)(i % 13) * 1e-2f;
    for (int i = 0; i < 768 * 3072; i++) w[i] = (float)(i % 7) * 1e-2f;
    for (int i = 0; i < 1024 * 3072; i++) dy[i] = (float)(i % 5) * 1e-2f;
    round_of_gemms(x, w, dy, out); // warm up
    double best[3] = {1e30, 1e30, 1e30};
    for (int rep = 0; rep < 3; rep++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int r = 0; r < rounds; r++) round_of_gemms(x, w, dy, out);
        double t1 = MPI_Wtime();
        MPI_Barrier(MPI_COMM_WORLD);
        double t2 = MPI_Wtime();
        MPI_Reduce(rank == 0 ? MPI_IN_PLACE : g, g, (int)n, MPI_FLOAT, MPI_SUM, 0,
                   MPI_COMM_WORLD);
        MPI_Bcast(g, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD);
        double t3 = MPI_Wtime();
        MPI_Barrier(MPI_COMM_WORLD);
        double t4 = MPI_Wtime();
        MPI_Request req;
        int phase = 0, done = 0; // 0: reducing, 1: broadcasting
        MPI_Ireduce(rank == 0 ? MPI_IN_PLACE : g, g, (int)n, MPI_FLOAT, MPI_SUM, 0,
                    MPI_COMM_WORLD, &req);
        for (int r = 0; r < rounds; r++) {
            round_of_gemms(x, w, dy, out);
            for (int k = 0; k < 4 && !done; k++) { // a few calls: each may move a fragment
                int flag = 0;
                MPI_Test(&req, &flag, MPI_STATUS_IGNORE);
                if (!flag) break;
                if (phase == 0) {
                    phase = 1;
                    MPI_Ibcast(g, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD, &req);
                } else {
                    done = 1;
                }
            }
        }
        MPI_Wait(&req, MPI_STATUS_IGNORE);
        if (phase == 0) MPI_Bcast(g, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD);
        double t5 = MPI_Wtime();
        double tc = t1 - t0, te = t3 - t2, to = t5 - t4;
        // The slowest rank decides each phase.
        double mine[3] = {tc, te, to}, all[3];
        MPI_Allreduce(mine, all, 3, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        for (int k = 0; k < 3; k++)
            if (all[k] < best[k]) best[k] = all[k];
    }
    if (rank == 0) {
        printf("%d ranks, %ld floats (%.0f MB), %d rounds of GEMMs (%.1f GFLOP a rank)\n",
               world, n, n * 4 / 1e6, rounds, rounds * 4 * 2.0 * 1024 * 768 * 3072 / 1e9);
        printf("compute alone        %.3f s\n", best[0]);
        printf("exchange alone       %.3f s (reduce to rank 0 + broadcast)\n", best[1]);
        printf("started before the compute, progressed between GEMMs: %.3f s\n", best[2]);
        printf("overlap saves        %.3f s of %.3f s (%.0f%%)\n",
               best[0] + best[1] - best[2], best[0] + best[1],
               100 * (best[0] + best[1] - best[2]) / (best[0] + best[1]));
    }
    free(g), free(x), free(w), free(dy), free(out);
    MPI_Finalize();
    return 0;
}
