/* dist.c: the process group of data-parallel training (dist.h): MPI when the build has it
 * (TX_HAVE_MPI), a group of one otherwise.
 *
 * MPI is only started when a launcher (mpirun, mpiexec, srun) started this process: OpenMPI's
 * "singleton" start of a plain `tactus train` spawns a runtime daemon, which costs time and fails in
 * sandboxes without the network interfaces it wants, and a lone process has nothing to talk to anyway.
 * Errors come back as status codes (MPI_ERRORS_RETURN), so a failing collective is reported like any
 * other error instead of aborting the job from inside the library.
 * This file is not a training loop and knows nothing of models; it moves floats.
 */
#include "tx-config.h"
#include "dist.h"

#include <stdlib.h>

#ifdef TX_HAVE_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1;
#ifdef TX_HAVE_MPI
static int g_started;   /* 1 when tx_dist_init called MPI_Init (so finalize must end it) */
static int g_inited;    /* 1 once tx_dist_init ran, with or without MPI */

/* MPI counts are int: collectives over larger buffers go in pieces of this many elements. */
#define CHUNK (1 << 28)

static int mpi_fail(tx_error *err, const char *what, int rc)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS || len <= 0)
        return tx_error_set(err, TX_EIO, "mpi: %s failed (error %d)", what, rc);
    return tx_error_set(err, TX_EIO, "mpi: %s failed: %.*s", what, len, text);
}

/* Whether a launcher started this process: the variables OpenMPI, PMIx, PMI (MPICH, Hydra) and
 * Slurm set in every rank's environment. */
static int launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE",
                                       "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}
#endif

int tx_dist_available(void)
{
#ifdef TX_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

int tx_dist_init(tx_error *err)
{
#ifdef TX_HAVE_MPI
    if (g_inited)
        return TX_OK;
    g_inited = 1;
    int flag = 0, rc;
    if (!launched())
        return TX_OK;
    MPI_Initialized(&flag);
    if (!flag) {
        if ((rc = MPI_Init(NULL, NULL)) != MPI_SUCCESS)
            return mpi_fail(err, "MPI_Init", rc);
        g_started = 1;
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if ((rc = MPI_Comm_rank(MPI_COMM_WORLD, &g_rank)) != MPI_SUCCESS ||
        (rc = MPI_Comm_size(MPI_COMM_WORLD, &g_size)) != MPI_SUCCESS) {
        g_rank = 0;
        g_size = 1;
        return mpi_fail(err, "MPI_Comm_rank", rc);
    }
    return TX_OK;
#else
    (void)err;
    return TX_OK;
#endif
}

int tx_dist_rank(void)
{
    return g_rank;
}

int tx_dist_size(void)
{
    return g_size;
}

int tx_dist_allreduce_sum(float *buf, size_t n, float scale, tx_error *err)
{
#ifdef TX_HAVE_MPI
    if (g_size > 1)
        for (size_t i = 0; i < n; i += CHUNK) {
            int count = n - i < CHUNK ? (int)(n - i) : CHUNK;
            int rc = MPI_Allreduce(MPI_IN_PLACE, buf + i, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            if (rc != MPI_SUCCESS)
                return mpi_fail(err, "MPI_Allreduce", rc);
        }
#else
    (void)err;
#endif
    if (scale != 1.0f)
        for (size_t i = 0; i < n; i++)
            buf[i] *= scale;
    return TX_OK;
}

int tx_dist_allreduce_sum_double(double *buf, size_t n, tx_error *err)
{
#ifdef TX_HAVE_MPI
    if (g_size > 1)
        for (size_t i = 0; i < n; i += CHUNK) {
            int count = n - i < CHUNK ? (int)(n - i) : CHUNK;
            int rc = MPI_Allreduce(MPI_IN_PLACE, buf + i, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
            if (rc != MPI_SUCCESS)
                return mpi_fail(err, "MPI_Allreduce", rc);
        }
#else
    (void)buf;
    (void)n;
    (void)err;
#endif
    return TX_OK;
}

int tx_dist_broadcast(float *buf, size_t n, tx_error *err)
{
#ifdef TX_HAVE_MPI
    if (g_size > 1)
        for (size_t i = 0; i < n; i += CHUNK) {
            int count = n - i < CHUNK ? (int)(n - i) : CHUNK;
            int rc = MPI_Bcast(buf + i, count, MPI_FLOAT, 0, MPI_COMM_WORLD);
            if (rc != MPI_SUCCESS)
                return mpi_fail(err, "MPI_Bcast", rc);
        }
#else
    (void)buf;
    (void)n;
    (void)err;
#endif
    return TX_OK;
}

void tx_dist_finalize(void)
{
#ifdef TX_HAVE_MPI
    int flag = 0;
    if (g_started && (MPI_Finalized(&flag), !flag))
        MPI_Finalize();
    g_started = 0;
    g_inited = 0;
    g_rank = 0;
    g_size = 1;
#endif
}
