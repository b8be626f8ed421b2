// Data-parallel training over MPI for the training commands (pretrain, finetune): which
// process this is, and the gradient reduction the trainer's hook runs every step. Built
// with MPI only in the `make mpi` flavour (build/mpi/zhuyi, compiled with mpicc and
// ZY_MPI); everywhere else a run is one process (rank 0 of 1) and nothing here links MPI.
// Launch: `mpirun -np N zhuyi pretrain ...` (README: "Training on several processes").
#ifndef ZHUYI_CLI_DIST_H
#define ZHUYI_CLI_DIST_H

#include <stddef.h>

#include "zhuyi/core.h"

// MPI_Init in the MPI flavour (a no-op otherwise). 0, or 1 after a message.
int zy_cli_dist_init(int *argc, char ***argv);
// A command's exit status rc, after MPI_Finalize; a failure on any rank of several ends
// the whole job (MPI_Abort), so no rank waits forever for one that stopped. An
// interrupted training run (ZY_PRETRAIN_EXIT_INTERRUPTED: the ranks stopped together)
// finalizes normally.
int zy_cli_dist_end(int rc);
int zy_cli_dist_rank(void);  // 0 without MPI
int zy_cli_dist_world(void); // 1 without MPI
// "Open MPI v4.1.4 (2 processes)", or why there is none: for `zhuyi info`.
const char *zy_cli_dist_describe(void);
// A zy_grad_hook: every rank's gradient sums and step sums (loss, count) added over the
// ranks in a fixed order (reduced to rank 0, then broadcast: every rank gets the same
// bits), so each rank's AdamW step is the same and equals one process's over the global
// batch. A failed reduction ends the job (MPI_Abort): the ranks could not stay equal.
zy_status zy_cli_dist_reduce(float *grads, size_t n, double *sums, int n_sums, void *user);
// Whether flag is non-zero on any rank (flag itself without MPI): how the ranks agree to
// stop at the same step when one of them was signalled.
int zy_cli_dist_any(int flag);
// How gradients travel between ranks: "fp32" (the default) or "bf16" (half the bytes,
// about 3 significant digits per value and per partial sum). 0, or 1 for another name.
int zy_cli_dist_set_wire(const char *type);
// The reductions so far: how many, their wall time in seconds and the gradient bytes of one.
void zy_cli_dist_stats(long *calls, double *seconds, size_t *bytes);

#endif
