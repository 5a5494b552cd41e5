/**
 * @file measure_tail.h
 * The end the measuring stages (mc, dream, analyze) share for one source:
 * correlations → finite-size scaling → run file → log.
 *
 * Use in a stage, after every size of the source is measured:
 *
 *     invrg_measure_size sizes[n];     // L, K, block means and sizes of each
 *     invrg_measure_tail_run(run, "mc", corr, fit, sizes, n, n_blocks);    [world]
 */
#ifndef INVRG_MEASURE_TAIL_H
#define INVRG_MEASURE_TAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "invrg/correlation.h"
#include "invrg/error.h"
#include "invrg/stage.h"

/** One measured size of a source, as its finite-size scaling needs it. */
typedef struct {
  int64_t L;
  double K;                   /**< coupling, for C/N */
  const double *block_means;  /**< [n_blocks][INVRG_N_PRIMARY]: block means of the primaries */
  const int64_t *block_sizes; /**< [n_blocks]: configurations in each block (> 0) */
} invrg_measure_size;

/**
 * For @p source ("mc", "dream", "analyze_<source>"): the correlations of
 * @p corr (if not NULL: reduced, analysed, written to corr/<source>, logged);
 * then, if @p fit, the finite-size scaling of the @p n_sizes sizes with
 * @p n_blocks jackknife blocks each (the primaries' block means, and ξ₂/L of
 * the sizes the correlations have) over &analyze fss_Lmin … fss_Lmax, written
 * to fss/<source> and logged. The block means must be the same on every rank.
 * @p corr stays the caller's (reduced afterwards). Collective on
 * run->groups->world.
 */
invrg_err invrg_measure_tail_run(const invrg_run *run, const char *source, invrg_corr *corr,
                                 bool fit, const invrg_measure_size *sizes, int n_sizes,
                                 int n_blocks);

#endif
