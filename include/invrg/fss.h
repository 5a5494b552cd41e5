/**
 * @file fss.h
 * Finite-size scaling across the sizes of one source (docs/physics.md §7):
 * least-squares fits of
 *   ln χ      = a + b ln L     b = γ/ν   (exact 7/4)
 *   ln ⟨|m|⟩  = a + b ln L     −b = β/ν  (exact 1/8)
 *   ln me     = a + b ln L     b = 1/ν   (exact 1; me = me_paper of observables.h)
 *   C/N       = a + b ln L     b = A     (exact 8K_c²/π = 0.49454)
 *   V4        = a + b/L        a = V4(∞) (exact 1.1679229)
 *   ξ₂/L      = a + b/L        a = ξ₂/L(∞) (exact 0.9050488)
 * over [L_min, L_max], with errors from the jackknife and χ²/dof, and a scan
 * of L_min.
 *
 * Conventions
 * -----------
 * - *Data.* Per size, every quantity on all samples and on each delete-one
 *   jackknife set b (all samples but block b). The blocks must be the same
 *   sets of samples at every size: the levels of one dream are correlated
 *   (the same samples at every L), so a fit is redone on delete-one set b of
 *   every size together, and the spread of the fitted parameters over b is
 *   their error — correlations across sizes included. For independent
 *   ensembles per size (Monte Carlo) pairing block b of every size is just as
 *   valid (the tuples of blocks are independent). Hence all sizes must have
 *   the same number of blocks, none of them empty.
 * - *Fits.* Weighted least squares of y = a + b x with weights 1/σ_i², σ_i the
 *   jackknife error of y_i (y transformed first: ln χ on every delete-one set),
 *   the same weights for every delete-one fit. If some σ_i is zero or not
 *   finite the fit is unweighted and χ²/dof is NaN. Errors:
 *   √((B−1)/B Σ_b (p_b − p̄)²). χ²/dof = Σ w_i r_i² / (n − 2) ignores the
 *   correlations between sizes; chi2_dof_correlated = rᵀ C⁻¹ r / (n − 2) uses
 *   their jackknife covariance C (NaN if C is singular or B ≤ n).
 * - *Ranges.* L_min = 0 means the smallest size, L_max = 0 the largest; a fit
 *   needs 2 sizes (χ²/dof needs 3). The scan fits [L_min', L_max] for every
 *   size L_min' that leaves at least 2 sizes.
 * Everything here is deterministic arithmetic without communication: called
 * with the same data on every rank it gives the same bits everywhere.
 * io/fss_io.c writes the results (fss_io.h).
 */
#ifndef INVRG_FSS_H
#define INVRG_FSS_H

#include <stdint.h>

#include "invrg/error.h"

/** The quantities that are fitted. */
typedef enum {
  INVRG_FSS_CHI,           /**< χ = N(⟨m²⟩ − ⟨|m|⟩²) */
  INVRG_FSS_ABS_M,         /**< ⟨|m|⟩ */
  INVRG_FSS_ME,            /**< me_paper = N(⟨e_p|m|⟩ − ⟨|m|⟩⟨e_p⟩)/⟨|m|⟩ */
  INVRG_FSS_SPECIFIC_HEAT, /**< C/N = K² N (⟨e²⟩ − ⟨e⟩²) */
  INVRG_FSS_V4,            /**< ⟨m⁴⟩/⟨m²⟩² */
  INVRG_FSS_XI_OVER_L,     /**< ξ₂/L (correlation.h) */
  INVRG_FSS_N_QUANTITIES
} invrg_fss_quantity;

/** Names of the quantities ("chi", "abs_m", "me_paper", "specific_heat", "V4", "xi2_over_L"). */
extern const char *const invrg_fss_quantity_names[INVRG_FSS_N_QUANTITIES];

/** The measurements of one source: per size, values and delete-one values. */
typedef struct invrg_fss_data invrg_fss_data;

/** Empty data with @p n_blocks jackknife blocks per size (≥ 2). Not collective. */
invrg_err invrg_fss_data_create(int n_blocks, invrg_fss_data **out);

/** Frees it; sets *d to NULL; accepts NULL. */
void invrg_fss_data_destroy(invrg_fss_data **d);

/**
 * Sets χ, ⟨|m|⟩, me_paper, C/N and V4 of size @p L from the block means of the
 * primaries: @p block_means is [n_blocks][INVRG_N_PRIMARY] (observables.h),
 * block b the mean over @p block_sizes[b] > 0 configurations; delete-one set b
 * is the weighted mean of the other blocks, as in invrg_summary_from_blocks().
 * @p K is the coupling of C/N. Not collective.
 */
invrg_err invrg_fss_set_primaries(invrg_fss_data *d, int64_t L, const double *block_means,
                                  const int64_t *block_sizes, double K);

/**
 * Sets quantity @p q of size @p L: @p value on all samples and
 * @p jackknife[b] without block b (n_blocks values), e.g. ξ₂/L from
 * invrg_corr_size. A size whose value or any delete-one value is not finite
 * (or not positive, for a logarithmic fit) is left out of that quantity's
 * fits. Not collective.
 */
invrg_err invrg_fss_set(invrg_fss_data *d, int64_t L, invrg_fss_quantity q, double value,
                        const double *jackknife);

/** Fit range: 0 = no bound. */
typedef struct {
  int64_t L_min, L_max;
} invrg_fss_params;

/** One fit y = a + b x, its result and its L_min scan. */
typedef struct {
  const char *name;      /**< e.g. "gamma_over_nu" */
  const char *label;     /**< e.g. "gamma/nu" */
  const char *model;     /**< e.g. "ln chi = a + b ln L" */
  const char *result_is; /**< e.g. "b", "-b", "a" */
  invrg_fss_quantity quantity;
  int64_t L_min, L_max; /**< sizes used */
  int n_points;         /**< 0: not enough data (everything NaN) */
  double a, a_err, b, b_err;
  double result, result_err, exact, deviation; /**< deviation = (result − exact)/result_err */
  double chi2_dof, chi2_dof_correlated;
  int n_data;        /**< sizes with this quantity, all of them */
  int64_t *L;        /**< [n_data] */
  double *y, *y_err; /**< [n_data]: transformed data (ln χ, …) and jackknife errors */
  int n_scan;
  int64_t *scan_L_min;                                   /**< [n_scan] */
  double *scan_result, *scan_result_err, *scan_chi2_dof; /**< [n_scan] */
} invrg_fss_fit;

/** All fits of one source. */
typedef struct {
  int n_sizes;
  int64_t *L; /**< [n_sizes]: every size of the data */
  int n_blocks;
  invrg_fss_params params;
  int n_fits;
  invrg_fss_fit *fit; /**< [n_fits], in the order of the list at the top */
} invrg_fss_results;

/**
 * Fits every quantity that has at least 2 sizes in range (the others come out
 * with n_points = 0 and NaN). Input error if the range is empty or reversed.
 * Not collective.
 */
invrg_err invrg_fss_analyze(const invrg_fss_data *d, const invrg_fss_params *p,
                            invrg_fss_results **out);

/** Frees it; sets *r to NULL; accepts NULL. */
void invrg_fss_results_destroy(invrg_fss_results **r);

/** The fit of quantity @p q, or NULL. Not collective. */
const invrg_fss_fit *invrg_fss_find(const invrg_fss_results *r, invrg_fss_quantity q);

/**
 * Logs the table result ± error, exact value, deviation in σ, χ²/dof (plain
 * and correlated), range, then each fit's L_min scan, at info level (world
 * rank 0 prints). Not collective.
 */
void invrg_fss_log(const invrg_fss_results *r, const char *source);

#endif
