/**
 * @file mcrg_io.h
 * MCRG in HDF5: the results of mcrg.h in the run file
 * (mcrg/<source>/<pairs>/level<n>/<set>/, layout in src/io/mcrg_io.c), and the
 * checkpoint state of an accumulator (dataset "<name>_sums" of int64 under the
 * stage's checkpoint group).
 */
#ifndef INVRG_MCRG_IO_H
#define INVRG_MCRG_IO_H

#include <hdf5.h>
#include <mpi.h>

#include "invrg/error.h"
#include "invrg/mcrg.h"

/**
 * Writes the results under @p loc as mcrg/<source>/<pairs>/level<n>/<set>/
 * (attributes y_t, y_h, λ and errors; datasets A, B, means; even/ and odd/
 * with T, eigenvalues, series). Levels without samples are skipped. Collective
 * on the file's communicator @p comm: every rank calls it with the same
 * results; rank 0 of @p comm writes dataset contents.
 */
invrg_err invrg_mcrg_write(const invrg_mcrg_results *r, hid_t loc, const char *source,
                           const char *pairs, MPI_Comm comm);

/**
 * Checkpoints: the exact totals of all groups so far (invrg_mcrg_state_export())
 * as dataset "<name>_sums" under @p loc; the accumulator goes on unchanged.
 * Collective on @p comm, the accumulator's g->world (also the file's
 * communicator); its rank 0 writes the dataset's contents.
 */
invrg_err invrg_mcrg_save(const invrg_mcrg *m, hid_t loc, const char *name, MPI_Comm comm);

/**
 * Adds the totals saved by invrg_mcrg_save() (with the same parameters) to
 * @p m (invrg_mcrg_state_import(): counted once, whatever the layout of the run
 * that saved them). Every rank reads. Collective on the file's communicator.
 */
invrg_err invrg_mcrg_load(invrg_mcrg *m, hid_t loc, const char *name);

#endif
