/**
 * @file mc_record.h
 * What stage mc keeps of one Monte Carlo chain, and the summary of a size made from all of
 * them.
 *
 * A chain's record is its time series' statistics and the jackknife block means of the
 * primaries. It travels as a row of doubles (invrg_mc_record_pack / _unpack): the reducer
 * gathers the rows of all chains on world rank 0 in chain order, and a checkpoint stores the
 * same rows (/checkpoint/mc records, mc_checkpoint.h), so the row's layout is a contract:
 *
 *     [INVRG_MC_N_SERIES][7]  series statistics: mean, variance, tau_int, window, error,
 *                             error_binning, reliable (0/1)
 *     [B][INVRG_N_PRIMARY]    block means of the primaries
 *     [B]                     block sizes (configurations in each block)
 *
 * Use (B = &mc blocks_per_chain):
 *
 *     invrg_mc_record r = {.block_means = means, .block_sizes = sizes};   // the caller's arrays
 *     invrg_summary_block_add(r.block_means + b * INVRG_N_PRIMARY, p, r.block_sizes[b]);
 *     invrg_mc_record_pack(&r, B, row);                  // to the reducer, to a checkpoint
 *     invrg_mc_summarize(rows, n_chains, B, N, K, &s);   // world rank 0, all chains' rows
 */
#ifndef INVRG_MC_RECORD_H
#define INVRG_MC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/observables.h"
#include "invrg/stats.h"

/** The observables kept as time series (/mc/L<L>/series columns), with their τ_int. */
enum { INVRG_MC_N_SERIES = 6 };

/** Names of the series: energy, m, abs_m, m2, m4, e_paper. */
extern const char *const invrg_mc_series_names[INVRG_MC_N_SERIES];

/** The primary (INVRG_PRIMARY_*) each series samples. */
extern const int invrg_mc_series_primary[INVRG_MC_N_SERIES];

/** One chain's record. The arrays are the caller's. */
typedef struct {
  invrg_series_stats series[INVRG_MC_N_SERIES]; /**< of each series (once the chain is complete) */
  double *block_means;  /**< [B][INVRG_N_PRIMARY]: block means of the primaries */
  int64_t *block_sizes; /**< [B]: configurations in each block */
} invrg_mc_record;

/** Doubles in the row of a record with @p B blocks. */
size_t invrg_mc_record_length(int64_t B);

/** Writes record @p r with @p B blocks into @p row (invrg_mc_record_length(B) doubles). */
void invrg_mc_record_pack(const invrg_mc_record *r, int64_t B, double *row);

/** Reads @p row into @p r, whose arrays receive the @p B block means and sizes. */
void invrg_mc_record_unpack(const double *row, int64_t B, invrg_mc_record *r);

/** The summary of one size from the records of all its chains. */
typedef struct {
  double *block_means;  /**< [n_chains·B][INVRG_N_PRIMARY]: chain c's block b at c·B + b */
  int64_t *block_sizes; /**< [n_chains·B] */
  double *tau_int;      /**< [n_chains][INVRG_MC_N_SERIES]: τ_int of each chain's series */
  invrg_summary summary;                          /**< jackknife over all chains' blocks */
  invrg_series_stats combined[INVRG_MC_N_SERIES]; /**< each series over the chains */
} invrg_mc_summary;

/**
 * The summary of @p n_chains chains of N-spin configurations at coupling @p K from their rows
 * @p rows ([n_chains][invrg_mc_record_length(B)], chain order) into @p out, whose three
 * arrays are the caller's: the chains' block means and sizes side by side (also what
 * finite-size scaling takes), the jackknife summary over those n_chains·B blocks, and each
 * series' statistics combined over the chains (invrg_stats_combine). Runtime error if out
 * of memory. Not collective.
 */
invrg_err invrg_mc_summarize(const double *rows, int64_t n_chains, int64_t B, double N, double K,
                             invrg_mc_summary *out);

#endif
