/* dist.h: data-parallel training over processes: the few collective operations a training loop needs
 * (start, rank and size, a summing allreduce of the gradient buffer, a broadcast of the initial state,
 * a stop), over MPI when tactus is built with it (meson -Dmpi=enabled) and as one process otherwise.
 *
 * The state is process-wide, as MPI's is: one communicator (MPI_COMM_WORLD) for the whole program.
 * Without MPI, or when MPI was built in but the program was not started by a launcher such as mpirun,
 * every function works as a group of one: rank 0, size 1, and the collectives leave the data as it is
 * (the allreduce still applies its scale). This is not a scheduler and not a data loader: which rows
 * of a batch a rank takes is the caller's choice.
 * Ownership: nothing here allocates; buffers are the caller's and are changed in place.
 */
#ifndef TX_DIST_H
#define TX_DIST_H

#include <stddef.h>

#include "error.h"

/* 1 when this build has MPI (TX_HAVE_MPI), 0 otherwise. */
TX_API int tx_dist_available(void);
/* Joins the process group (MPI_Init when built with MPI and started by a launcher; nothing otherwise).
 * Calling it again is a no-op. MPI errors are returned (TX_EIO), not fatal. */
TX_API int tx_dist_init(tx_error *err);
/* This process's place in the group (0 .. size - 1) and the group's size; 0 and 1 before init. */
TX_API int tx_dist_rank(void);
TX_API int tx_dist_size(void);
/* buf (n floats) becomes the element-wise sum over all processes, then is multiplied by scale (1: the
 * plain sum; 1 / size: the mean). Every process passes the same n. */
TX_API int tx_dist_allreduce_sum(float *buf, size_t n, float scale, tx_error *err);
/* The same for doubles, unscaled (losses, counts and flags, where float would lose digits). */
TX_API int tx_dist_allreduce_sum_double(double *buf, size_t n, tx_error *err);
/* buf (n floats) on every process becomes rank 0's. */
TX_API int tx_dist_broadcast(float *buf, size_t n, tx_error *err);
/* Leaves the group (MPI_Finalize when init started MPI). Safe to call when init was not. */
TX_API void tx_dist_finalize(void);

#endif
