/**
 * @file summary_io.h
 * The one writer of ensemble summaries: /mc/L<L>, /dream/L<L> and /analyze/<source>/L<L>
 * carry the same attributes (docs/runfile.md, "Summaries of ensembles"): n_samples, L, beta,
 * error_method, every observable X and X_err, and, where the exact finite torus is known at
 * (L, beta), energy_exact, specific_heat_exact and their deviations X_dev_sigma =
 * (measured − exact)/error. What only one stage has (mc: chains, τ_int; analyze: the data
 * analysed) its stage adds to the same group.
 */
#ifndef INVRG_SUMMARY_IO_H
#define INVRG_SUMMARY_IO_H

#include <hdf5.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/observables.h"

/** What a summary group says besides the observables. */
typedef struct {
  int64_t L;                 /**< linear size */
  double beta;               /**< coupling K = βJ of the ensemble */
  const char *error_method;  /**< how the errors were estimated (one line) */
  int64_t jackknife_blocks;  /**< blocks of the jackknife; written if > 0 */
} invrg_summary_context;

/**
 * Creates (or opens, on resume) the group @p path of @p file and writes summary @p s into it;
 * @p out, if not NULL, receives the open group (the caller adds its own attributes and closes
 * it). Collective on the file's communicator (every rank passes the same values).
 */
invrg_err invrg_summary_write(hid_t file, const char *path, const invrg_summary *s,
                              const invrg_summary_context *ctx, hid_t *out);

/**
 * "energy <σ>, specific_heat <σ>" in @p buf: how many standard errors E/N and C/N of @p s lie
 * off the exact L × L torus at coupling @p K (invrg_format_sigma). False, @p buf empty, where
 * the exact oracle has no value. For the logs' tables.
 */
bool invrg_summary_exact_deviations(const invrg_summary *s, int L, double K, char *buf,
                                    size_t size);

#endif
