/**
 * @file output_lock.h
 * One run per output: a run holds `<output>.lock` from its start to its end, so
 * that a second run started on the same output is refused before any work
 * instead of colliding with the first when both write `<output>.tmp`.
 *
 * The lock is a small text file written with O_EXCL (atomic, also on NFS v3+):
 * host, process id, start time (UTC), SLURM job id and input file of the run
 * that holds it. A lock whose process is gone (same host, no such pid) is stale:
 * reported and taken over. A lock from another host cannot be verified from
 * here; it is refused with a message saying how to remove it once that run is
 * known to be over.
 */
#ifndef INVRG_OUTPUT_LOCK_H
#define INVRG_OUTPUT_LOCK_H

#include <mpi.h>

#include "invrg/config.h"
#include "invrg/error.h"

typedef struct invrg_output_lock invrg_output_lock;

/**
 * Input error (reported at &run output) if a live run holds the lock of
 * cfg->run.output; a stale lock is a warning. Writes nothing. Call on the
 * rank that prints (world rank 0); not collective.
 */
invrg_err invrg_output_lock_check(const invrg_config *cfg);

/**
 * Takes the lock of cfg->run.output on world rank 0 (taking over a stale one)
 * and agrees on the outcome: an input error if another run holds it, a runtime
 * error if the file cannot be written. *out is NULL on the other ranks.
 * Collective on @p comm.
 */
invrg_err invrg_output_lock_acquire(const invrg_config *cfg, MPI_Comm comm,
                                    invrg_output_lock **out);

/**
 * Ends the run's hold of the lock: the rank that holds it (world rank 0) removes
 * the file; every rank forgets it. Sets *lock to NULL; accepts NULL. Not collective.
 */
void invrg_output_lock_release(invrg_output_lock **lock);

/**
 * Removes the lock this run holds, from any rank: for a run that aborts (MPI_Abort
 * ends every rank, so the lock would only be left stale). Not collective.
 */
void invrg_output_lock_remove_held(void);

#endif
