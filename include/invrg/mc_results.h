/**
 * @file mc_results.h
 * Stage mc's results of one size: the summary of all its chains from their records
 * (mc_record.h), written to /mc/L<L> — the jackknife summary with its deviations from the
 * exact torus, the chains' algorithm and number, τ_int of every chain's series — and the log's
 * table of it.
 */
#ifndef INVRG_MC_RESULTS_H
#define INVRG_MC_RESULTS_H

#include <hdf5.h>
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/stage.h"

/**
 * The results of size @p L (chains of @p B blocks) from the records of all its chains,
 * @p rows ([chain][invrg_mc_record_length(B)] in chain order, on world rank 0; NULL
 * elsewhere): the summary made on world rank 0, which also keeps the chains' block means and
 * sizes for finite-size scaling in @p fss_means ([chain·B][INVRG_N_PRIMARY]) and @p fss_sizes
 * ([chain·B]); then on every rank /mc/L<L>'s attributes and its dataset tau_int (in the open
 * @p group) and the log. Collective on the world.
 */
invrg_err invrg_mc_results_write(const invrg_run *run, int64_t L, int64_t B, const double *rows,
                                 double *fss_means, int64_t *fss_sizes, hid_t group);

#endif
