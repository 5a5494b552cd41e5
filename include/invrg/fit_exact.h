/**
 * @file fit_exact.h
 * The exact fit of the symmetric models sym3, sym5, sym7 (docs/physics.md §10): their logit is
 * linear in the parameters, z = θ · φ, so the cross-entropy is logistic regression — convex,
 * with a unique optimum that Newton's method reaches in a few iterations.
 *
 * The data enter only through sufficient statistics: for every distinct feature vector
 * 2φ (integers, one per orbit) the weight of fine spins up and down. Counting is collective
 * and exact (integer weights in units of 2^-80, summed in 128-bit integers, keys sorted), so
 * the statistics — and hence the fitted parameters — are bit-identical on any number of ranks.
 *
 * Ties of the majority rule: INVRG_FIT_TIES_EXPECTATION counts every outcome of the tied
 * blocks in a child's window with weight 2^-k (k tied blocks: the expectation over the coins);
 * INVRG_FIT_TIES_COIN decides each tied block by the coin of (seed, INVRG_RNG_TIE,
 * INVRG_FIT_TIE_ITEM, configuration index). The weighted loss weighs configuration c by
 * 2^-(n_tie(c) − min n_tie); weights below 2^-80 of the heaviest are dropped.
 */
#ifndef INVRG_FIT_EXACT_H
#define INVRG_FIT_EXACT_H

#include <mpi.h>
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/model.h"
#include "invrg/train.h"

/** Tie coins of the exact fit with ties = 'coin': one per configuration, the same for every replica. */
#define INVRG_FIT_TIE_ITEM (INVRG_TRAIN_TIE_ITEM_BASE - 2)
/** Most tied blocks in one child's window with ties = 'expectation' (2^k outcomes each). */
#define INVRG_FIT_MAX_WINDOW_TIES 16

typedef enum { INVRG_FIT_TIES_EXPECTATION, INVRG_FIT_TIES_COIN } invrg_fit_ties;

typedef struct {
  invrg_loss_kind loss;
  invrg_fit_ties ties;
  uint64_t seed; /**< &run seed: tie coins and bootstrap resamples */
} invrg_fit_options;

/** The sufficient statistics: sorted distinct feature vectors with their weights. */
typedef struct invrg_fit_stats invrg_fit_stats;

/**
 * Counts configurations [0, n) of @p data for the sym model @p m (parameters not used), each
 * @p mult[c] times (NULL: once). Collective on @p comm: configuration c is counted by rank
 * c mod size; every rank ends with the same statistics.
 */
invrg_err invrg_fit_count(const invrg_model *m, const invrg_train_data *data, int64_t n,
                          const int32_t *mult, const invrg_fit_options *o, MPI_Comm comm,
                          invrg_fit_stats **out);

void invrg_fit_stats_destroy(invrg_fit_stats **s);

/** Number of distinct feature vectors (the size of the statistics). */
int64_t invrg_fit_stats_size(const invrg_fit_stats *s);

/** Total weight (fine spins counted, with multiplicity and loss weights). */
double invrg_fit_stats_weight(const invrg_fit_stats *s);

/**
 * The loss per fine spin at @p theta (mean cross-entropy), its gradient @p grad and Hessian
 * @p hess (n_params², row-major) if not NULL. Not collective.
 */
double invrg_fit_loss(const invrg_fit_stats *s, const double *theta, double *grad, double *hess);

typedef struct {
  int iterations;
  double loss, grad_norm;
  double hess_cond;       /**< condition number of the Hessian at the optimum */
  double min_eigvec[10];  /**< its eigenvector of the smallest eigenvalue (sign: largest entry > 0) */
} invrg_fit_result;

/**
 * Newton's method from @p theta (in/out) with a backtracking (Armijo) line search, until the
 * gradient norm is at most @p tol. Runtime error if the Hessian is singular (degenerate data)
 * or the tolerance is not reached in 100 iterations. Not collective.
 */
invrg_err invrg_fit_newton(const invrg_fit_stats *s, double *theta, double tol,
                           invrg_fit_result *res);

/**
 * Bootstrap multiplicities of @p n configurations for @p replica: replica 0 takes each once,
 * replica r > 0 draws n with replacement from the stream (seed, INVRG_RNG_TRAIN, r,
 * INVRG_FIT_BOOTSTRAP_STEP). A pure function of its arguments.
 */
#define INVRG_FIT_BOOTSTRAP_STEP (UINT64_C(1) << 40)
void invrg_fit_bootstrap(uint64_t seed, uint64_t replica, int64_t n, int32_t *mult);

/**
 * Mean @p mean (np) and covariance @p cov (np × np, 1/(n − 1)) of the n bootstrap fits in rows
 * 1 .. R − 1 of @p params ([R][np]; row 0 is the fit of all the data; a row of NaN, a resample
 * the fit could not determine the model from, is left out): the errors of the kept fit. The
 * mean NaN without a resample, the covariance NaN with fewer than 2. Not collective.
 */
void invrg_fit_bootstrap_moments(const double *params, int64_t R, int np, double *mean,
                                 double *cov);

/** Eigenvalues (ascending) and eigenvectors (columns of @p evec, n × n) of a symmetric @p a. */
void invrg_fit_symeig(int n, const double *a, double *eval, double *evec);

#endif
