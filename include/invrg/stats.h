/**
 * @file stats.h
 * Error analysis for Monte Carlo and generated ensembles: the integrated
 * autocorrelation time with Sokal's automatic window, binning, and the
 * jackknife for derived quantities. Pure functions, not collective.
 */
#ifndef INVRG_STATS_H
#define INVRG_STATS_H

#include <math.h>

#include <stdbool.h>
#include <stddef.h>

/** What one time series of a Markov chain says about its mean. */
typedef struct {
  double mean;
  double variance;     /**< of single measurements (1/(n−1) normalisation) */
  double tau_int;      /**< integrated autocorrelation time, in measurements (1/2 if none) */
  int window;          /**< summation window W chosen automatically */
  double error;        /**< √(2 τ_int var / n) */
  double error_binning;/**< from n_bins equal bins: std of bin means / √n_bins */
  bool reliable;       /**< n ≥ 50 τ_int and the window condition was met */
} invrg_series_stats;

/**
 * Analyses @p x[0..n): mean, variance, τ_int = ½ + Σ_{t=1}^{W} ρ(t) with the
 * smallest W ≥ c·τ_int(W) (c = 6, Sokal), ρ computed by FFT, and the binning
 * error with @p n_bins bins (0 = 32). n ≥ 2.
 */
void invrg_stats_series(const double *x, size_t n, int n_bins, invrg_series_stats *out);

/**
 * Combines independent chains of equal length: mean of the means, error
 * √(Σ err²)/n_chains (both τ-based and binning), τ_int averaged.
 */
void invrg_stats_combine(const invrg_series_stats *chains, int n_chains, invrg_series_stats *out);

/** A quantity derived from the means of several observables. */
typedef double (*invrg_derived_fn)(const double *means, const void *ctx);

/**
 * Jackknife over blocks of equal weight: @p block_means is [n_blocks][n_obs].
 * @p value = f(mean over all blocks), @p error = √((B−1)/B Σ_b (f_b − f̄)²)
 * with f_b = f(mean over all blocks but b). n_blocks ≥ 2.
 */
void invrg_jackknife(const double *block_means, int n_blocks, int n_obs, invrg_derived_fn f,
                     const void *ctx, double *value, double *error);

/**
 * (@p value − @p exact) / @p error: how many standard errors a measurement is off. NaN when
 * the error is not a positive number (e.g. 0 from two identical samples): no deviation can be
 * told then (it was ±inf).
 */
static inline double invrg_deviation_sigma(double value, double exact, double error) {
  return error > 0 && error < INFINITY ? (value - exact) / error : NAN;
}

#endif
