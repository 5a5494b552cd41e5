/**
 * @file fss_io.h
 * Finite-size scaling in HDF5: the results of fss.h in the run file (fss/<source>/).
 */
#ifndef INVRG_FSS_IO_H
#define INVRG_FSS_IO_H

#include <hdf5.h>
#include <mpi.h>

#include "invrg/error.h"
#include "invrg/fss.h"

/**
 * Writes fss/<source>/ under @p loc: attributes sizes, L_min, L_max,
 * jackknife_blocks, conventions; per fit with data a group <name>/ with
 * attributes (label, model, quantity, result_is, L_min, L_max, n_points, a, b,
 * result, exact, deviation_sigma, chi2_dof, chi2_dof_correlated and errors)
 * and datasets L, y, y_err, scan_L_min, scan_result, scan_result_err,
 * scan_chi2_dof. Collective on the file's communicator @p comm (same results
 * on every rank; rank 0 of @p comm writes dataset contents).
 */
invrg_err invrg_fss_write(const invrg_fss_results *r, hid_t loc, const char *source, MPI_Comm comm);

#endif
