/**
 * @file corr_io.h
 * Correlations in HDF5: the results of correlation.h in the run file
 * (corr/<source>/L<L>/), and the checkpoint state of an accumulator
 * (datasets "<name>_sizes" and "<name>_L<L>" of int64 under the stage's
 * checkpoint group).
 */
#ifndef INVRG_CORR_IO_H
#define INVRG_CORR_IO_H

#include <hdf5.h>
#include <mpi.h>

#include "invrg/correlation.h"
#include "invrg/error.h"

/**
 * Writes the results under @p loc as corr/<source>/ (attributes conventions,
 * jackknife_blocks) with L<L>/ per measured size (attributes n_samples,
 * chi_prime, S_kmin, xi2, xi2_over_L with errors; datasets r, G_axis, G_diag,
 * k, shell_modes, S_radial with errors, xi2_over_L_jackknife, and S_map, G_map
 * when kept). Collective on the file's communicator @p comm: every rank calls
 * it with the same results; rank 0 of @p comm writes dataset contents.
 */
invrg_err invrg_corr_write(const invrg_corr_results *r, hid_t loc, const char *source,
                           MPI_Comm comm);

/**
 * Checkpoints: the exact totals of all ranks so far (invrg_corr_state_export())
 * as datasets "<name>_sizes" ([n_sizes, L...]) and "<name>_L<L>" under @p loc;
 * the accumulator goes on unchanged. Collective on @p comm, the accumulator's
 * g->world (also the file's communicator); its rank 0 writes dataset contents.
 */
invrg_err invrg_corr_save(invrg_corr *c, hid_t loc, const char *name, MPI_Comm comm);

/**
 * Adds the totals saved by invrg_corr_save() (same parameters) to @p c
 * (invrg_corr_state_import(): counted once, whatever the layout of the run
 * that saved them). Every rank reads. Collective on the file's communicator.
 */
invrg_err invrg_corr_load(invrg_corr *c, hid_t loc, const char *name);

#endif
