/**
 * @file memory.h
 * What this process holds in memory (Linux): the resident set now and its
 * high-water mark, for the log's memory figures (e.g. bytes per dreamed spin).
 */
#ifndef INVRG_MEMORY_H
#define INVRG_MEMORY_H

#include <mpi.h>
#include <stdint.h>

#include "invrg/error.h"

/** Resident bytes of this process now (/proc/self/statm); 0 if unknown. */
int64_t invrg_memory_resident_bytes(void);

/** Peak resident bytes of this process so far (getrusage ru_maxrss); 0 if unknown. */
int64_t invrg_memory_peak_bytes(void);

/**
 * The largest peak over the ranks of @p comm into @p bytes, on every rank, and
 * the rank that has it. Collective on @p comm.
 */
invrg_err invrg_memory_peak_max(MPI_Comm comm, int64_t *bytes, int *rank_of_max);

#endif
