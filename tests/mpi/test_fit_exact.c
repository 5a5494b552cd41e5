/* The exact fit of the symmetric models (docs/physics.md §10): its statistics against the models'
 * own loss (coins drawn, and every coin outcome enumerated), gradient and Hessian against finite
 * differences, the Newton optimum against gradient descent on the models' own gradient, the
 * statistics bit-identical on any number of ranks, bootstrap errors shrinking like 1/√n. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "critical_configs.h"
#include "invrg/blockspin.h"
#include "invrg/exact.h"
#include "invrg/fit_exact.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mc_update.h"

#include "mpi/mpi_test.h"

static invrg_model *model_at(invrg_model_kind kind, const double *theta) {
  invrg_model *m = NULL;
  OK(invrg_model_create(kind, 0, 0, &m));
  for (int o = 0; o < m->n_params; o++) m->params[o] = theta[o];
  return m;
}

static const double theta0[10] = {0.5, 0.6, 1.4, 0.05, -0.03, 0.02, 0.01, -0.01, 0.02, 0.01};

/* Σ over configurations of the model's own loss (and gradient) of the coarse configuration given
 * by the tie coins, or averaged over every outcome of the tied blocks (enumerate). Per fine spin. */
static double direct_loss(const invrg_model *m, const invrg_train_data *d, int64_t n,
                          const invrg_fit_options *o, double *grad) {
  const int L = d->L, lc = L / 2, np = m->n_params;
  int8_t *mu = malloc((size_t)(lc * lc));
  int tied[64];
  invrg_model_work *w = NULL;
  OK(invrg_model_work_create(m, lc, &w));
  double loss = 0, weight = 0;
  int64_t n_min = INT64_MAX;
  for (int64_t c = 0; c < n; c++) {
    invrg_blockspin_ties t = {INVRG_TIE_UP, 0, 0, 0};
    int64_t k = invrg_blockspin_array(d->configs + c * L * L, L, L, &t, mu);
    n_min = k < n_min ? k : n_min;
  }
  memset(grad, 0, (size_t)np * sizeof *grad);
  for (int64_t c = 0; c < n; c++) {
    const int8_t *fine = d->configs + c * L * L;
    invrg_blockspin_ties t = {INVRG_TIE_RANDOM, o->seed, INVRG_FIT_TIE_ITEM, (uint64_t)c};
    int64_t n_tie = invrg_blockspin_array(fine, L, L, &t, mu);
    double wc = o->loss == INVRG_LOSS_WEIGHTED ? ldexp(1.0, -(int)(n_tie - n_min)) : 1.0;
    int k = 0;
    for (int b = 0; b < lc * lc; b++) {
      const int8_t *f = fine + (b / lc) * 2 * L + (b % lc) * 2;
      if (f[0] + f[1] + f[L] + f[L + 1] == 0) tied[k++] = b;
    }
    const int n_out = o->ties == INVRG_FIT_TIES_COIN ? 1 : 1 << k;
    for (int s = 0; s < n_out; s++) {
      if (o->ties == INVRG_FIT_TIES_EXPECTATION)
        for (int j = 0; j < k; j++) mu[tied[j]] = (int8_t)((s >> j) & 1 ? 1 : -1);
      double ws = wc / n_out;
      loss += ws * invrg_model_loss_grad(m, mu, fine, lc, ws, grad, w);
      weight += ws * L * L;
    }
  }
  for (int i = 0; i < np; i++) grad[i] /= weight;
  invrg_model_work_destroy(&w);
  free(mu);
  return loss / weight;
}

/* The statistics give the models' own loss and gradient. */
static void check_statistics(invrg_model_kind kind, const invrg_train_data *d, int64_t n,
                             invrg_fit_ties ties, invrg_loss_kind lk) {
  invrg_fit_options o = {lk, ties, 11};
  invrg_model *m = model_at(kind, theta0);
  invrg_fit_stats *s = NULL;
  OK(invrg_fit_count(m, d, n, NULL, &o, MPI_COMM_WORLD, &s));
  double g1[10], g2[10];
  double l1 = invrg_fit_loss(s, theta0, g1, NULL), l2 = direct_loss(m, d, n, &o, g2);
  double gd = 0;
  for (int i = 0; i < m->n_params; i++) gd = fmax(gd, fabs(g1[i] - g2[i]));
  CHECK(fabs(l1 - l2) < 1e-12 && gd < 1e-12,
        "%s, ties %s, %s loss: statistics (%lld feature vectors) give the model's loss %.12f "
        "(direct %.12f) and gradient (max difference %.2g)",
        invrg_model_kind_name(kind),
        ties == INVRG_FIT_TIES_COIN ? "coin" : "expectation (every outcome enumerated)",
        lk == INVRG_LOSS_BCE ? "bce" : "weighted", (long long)invrg_fit_stats_size(s), l1, l2, gd);
  invrg_fit_stats_destroy(&s);
  invrg_model_destroy(&m);
}

/* Gradient and Hessian against central differences of the loss and of the gradient. */
static void check_derivatives(invrg_model_kind kind, const invrg_train_data *d) {
  invrg_fit_options o = {INVRG_LOSS_BCE, INVRG_FIT_TIES_EXPECTATION, 11};
  invrg_model *m = model_at(kind, theta0);
  invrg_fit_stats *s = NULL;
  OK(invrg_fit_count(m, d, d->n, NULL, &o, MPI_COMM_WORLD, &s));
  const int np = m->n_params;
  double g[10], H[100], gp[10], gm[10], t[10], eg = 0, eh = 0;
  invrg_fit_loss(s, theta0, g, H);
  const double h = 1e-5;
  for (int i = 0; i < np; i++) {
    memcpy(t, theta0, sizeof t);
    t[i] += h;
    double lp = invrg_fit_loss(s, t, gp, NULL);
    t[i] -= 2 * h;
    double lm = invrg_fit_loss(s, t, gm, NULL);
    eg = fmax(eg, fabs((lp - lm) / (2 * h) - g[i]));
    for (int j = 0; j < np; j++) eh = fmax(eh, fabs((gp[j] - gm[j]) / (2 * h) - H[j * np + i]));
  }
  CHECK(eg < 1e-8 && eh < 1e-8, "%s: gradient (max error %.2g) and Hessian (%.2g) against central "
        "differences", invrg_model_kind_name(kind), eg, eh);
  invrg_fit_stats_destroy(&s);
  invrg_model_destroy(&m);
}

/*
 * With coin ties the Newton optimum is where the models' own gradient (train path, summed over
 * the coarse configurations of those coins) vanishes; and a long full-batch gradient descent with
 * that gradient (Nesterov's momentum, step 1/λ_max) ends at the same parameters.
 */
static void check_against_descent(invrg_model_kind kind, const invrg_train_data *d) {
  invrg_fit_options o = {INVRG_LOSS_BCE, INVRG_FIT_TIES_COIN, 11};
  double theta[10] = {0}, g[10];
  invrg_model *m = model_at(kind, theta);
  const int np = m->n_params;
  invrg_fit_stats *s = NULL;
  invrg_fit_result res;
  OK(invrg_fit_count(m, d, d->n, NULL, &o, MPI_COMM_WORLD, &s));
  OK(invrg_fit_newton(s, theta, 1e-10, &res));
  CHECK(res.grad_norm <= 1e-10 && res.iterations < 30, "%s: Newton converged in %d iterations, "
        "gradient norm %.2g, Hessian condition number %.3g",
        invrg_model_kind_name(kind), res.iterations, res.grad_norm, res.hess_cond);
  for (int i = 0; i < np; i++) m->params[i] = theta[i];
  direct_loss(m, d, d->n, &o, g);
  double gn = 0;
  for (int i = 0; i < np; i++) gn += g[i] * g[i];
  CHECK(sqrt(gn) < 1e-9, "%s: the model's own gradient at the optimum has norm %.2g",
        invrg_model_kind_name(kind), sqrt(gn));
  /* gradient descent from 0 with the model's gradient */
  double H[100], eval[10], evec[100], x[10] = {0}, y[10] = {0}, xprev[10] = {0};
  invrg_fit_loss(s, theta, g, H);
  invrg_fit_symeig(np, H, eval, evec);
  const double step = 1 / (1.05 * eval[np - 1]), q = eval[0] / eval[np - 1];
  const double beta = (1 - sqrt(q)) / (1 + sqrt(q));
  int it = 0;
  double dist = INFINITY;
  for (; it < 20000 && dist > 1e-12; it++) {
    for (int i = 0; i < np; i++) m->params[i] = y[i];
    direct_loss(m, d, d->n, &o, g);
    dist = 0;
    for (int i = 0; i < np; i++) {
      xprev[i] = x[i];
      x[i] = y[i] - step * g[i];
      dist = fmax(dist, fabs(x[i] - xprev[i]));
    }
    for (int i = 0; i < np; i++) y[i] = x[i] + beta * (x[i] - xprev[i]);
  }
  double diff = 0;
  for (int i = 0; i < np; i++) diff = fmax(diff, fabs(x[i] - theta[i]));
  CHECK(diff < 1e-6, "%s: %d steps of full-batch gradient descent end %.2g from the Newton optimum",
        invrg_model_kind_name(kind), it, diff);
  invrg_fit_stats_destroy(&s);
  invrg_model_destroy(&m);
}

/* The statistics and the optimum on all ranks equal one rank's (and two ranks'), bit for bit. */
static void check_ranks(invrg_model_kind kind, const invrg_train_data *d, invrg_loss_kind lk) {
  invrg_fit_options o = {lk, INVRG_FIT_TIES_EXPECTATION, 11};
  double t_all[10] = {0}, t_self[10] = {0}, t_half[10] = {0};
  invrg_model *m = model_at(kind, t_all);
  invrg_fit_result res;
  int32_t *mult = malloc((size_t)d->n * sizeof *mult);
  invrg_fit_bootstrap(11, 3, d->n, mult); /* a resample: multiplicities too */
  MPI_Comm half;
  MPI_Comm_split(MPI_COMM_WORLD, world_rank % 2, world_rank, &half);
  MPI_Comm comms[3] = {MPI_COMM_WORLD, MPI_COMM_SELF, half};
  double *thetas[3] = {t_all, t_self, t_half};
  for (int k = 0; k < 3; k++) {
    invrg_fit_stats *s = NULL;
    OK(invrg_fit_count(m, d, d->n, mult, &o, comms[k], &s));
    OK(invrg_fit_newton(s, thetas[k], 1e-10, &res));
    invrg_fit_stats_destroy(&s);
  }
  const size_t bytes = (size_t)m->n_params * sizeof(double);
  int same = memcmp(t_all, t_self, bytes) == 0 && memcmp(t_all, t_half, bytes) == 0, all_same;
  MPI_Allreduce(&same, &all_same, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  CHECK(all_same, "%s (%s loss, a bootstrap resample): optimum on %d ranks = on 1 rank = on "
        "half of them, bit for bit", invrg_model_kind_name(kind), lk == INVRG_LOSS_BCE ? "bce" : "weighted", world_size);
  MPI_Comm_free(&half);
  free(mult);
  invrg_model_destroy(&m);
}

/* Bootstrap σ of the parameters from n and from n/4 configurations: ratio 2 (1/√n). */
static void check_bootstrap_scaling(const invrg_train_data *d) {
  invrg_fit_options o = {INVRG_LOSS_BCE, INVRG_FIT_TIES_EXPECTATION, 11};
  const int R = 24;
  double zero[10] = {0}, sigma[2][3];
  invrg_model *m = model_at(INVRG_MODEL_KIND_SYM3, zero);
  int32_t *mult = malloc((size_t)d->n * sizeof *mult);
  for (int part = 0; part < 2; part++) {
    const int64_t n = part == 0 ? d->n : d->n / 4;
    double sum[3] = {0}, sq[3] = {0};
    for (int r = 1; r <= R; r++) {
      double theta[10] = {0};
      invrg_fit_result res;
      invrg_fit_stats *s = NULL;
      invrg_fit_bootstrap(11, (uint64_t)r, n, mult);
      OK(invrg_fit_count(m, d, n, mult, &o, MPI_COMM_WORLD, &s));
      OK(invrg_fit_newton(s, theta, 1e-10, &res));
      invrg_fit_stats_destroy(&s);
      for (int i = 0; i < 3; i++) sum[i] += theta[i], sq[i] += theta[i] * theta[i];
    }
    for (int i = 0; i < 3; i++)
      sigma[part][i] = sqrt((sq[i] - sum[i] * sum[i] / R) / (R - 1));
  }
  /* σ estimated from 24 resamples: ±15 % each, so the ratio within [1.3, 3] */
  for (int i = 0; i < 3; i++) {
    double ratio = sigma[1][i] / sigma[0][i];
    CHECK(ratio > 1.3 && ratio < 3.0, "theta%d: bootstrap sigma %.4g from %lld configurations, "
          "%.4g from a quarter of them: ratio %.2f (1/sqrt(n): 2)", i, sigma[0][i],
          (long long)d->n, sigma[1][i], ratio);
  }
  free(mult);
  invrg_model_destroy(&m);
}

/* Bootstrap multiplicities: n draws, a pure function of (seed, replica). */
static void check_bootstrap(void) {
  const int64_t n = 1000;
  int32_t a[1000], b[1000];
  invrg_fit_bootstrap(5, 0, n, a);
  int64_t ones = 0;
  for (int64_t c = 0; c < n; c++) ones += a[c] == 1;
  invrg_fit_bootstrap(5, 7, n, a);
  invrg_fit_bootstrap(5, 7, n, b);
  int64_t total = 0, zeros = 0;
  for (int64_t c = 0; c < n; c++) total += a[c], zeros += a[c] == 0;
  CHECK(ones == n && total == n && memcmp(a, b, sizeof a) == 0 && zeros > 320 && zeros < 420,
        "bootstrap: replica 0 takes everything once; replica 7 draws %lld, leaves out %lld "
        "(expected n/e = 368), the same twice", (long long)total, (long long)zeros);
}

/* Eigen-decomposition: A v = λ v for a random symmetric matrix. */
static void check_symeig(void) {
  const int n = 6;
  double A[36], ev[6], V[36], worst = 0;
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 3, INVRG_RNG_TRAIN, 0, 0);
  for (int i = 0; i < n; i++)
    for (int j = 0; j <= i; j++) A[i * n + j] = A[j * n + i] = invrg_rng_uniform(&s, (uint64_t)(i * n + j), 0) - 0.5;
  invrg_fit_symeig(n, A, ev, V);
  for (int k = 0; k < n; k++)
    for (int i = 0; i < n; i++) {
      double r = -ev[k] * V[i * n + k];
      for (int j = 0; j < n; j++) r += A[i * n + j] * V[j * n + k];
      worst = fmax(worst, fabs(r));
    }
  bool sorted = true;
  for (int k = 1; k < n; k++) sorted &= ev[k] >= ev[k - 1];
  CHECK(worst < 1e-12 && sorted, "eigenvalues ascending, |A v - lambda v| <= %.2g", worst);
}

/* Small lattices with every tie outcome enumerated: L = 8 (sym3, sym5), L = 10 (sym7). */
static void test_statistics(void) {
  int8_t *small8 = critical_configs(8, 24, 5), *small10 = critical_configs(10, 12, 6);
  invrg_train_data d8 = {small8, 24, 8, 0}, d10 = {small10, 12, 10, 0};
  check_statistics(INVRG_MODEL_KIND_SYM3, &d8, 24, INVRG_FIT_TIES_EXPECTATION, INVRG_LOSS_BCE);
  check_statistics(INVRG_MODEL_KIND_SYM5, &d8, 24, INVRG_FIT_TIES_EXPECTATION, INVRG_LOSS_WEIGHTED);
  check_statistics(INVRG_MODEL_KIND_SYM7, &d10, 12, INVRG_FIT_TIES_EXPECTATION, INVRG_LOSS_BCE);
  check_statistics(INVRG_MODEL_KIND_SYM3, &d8, 24, INVRG_FIT_TIES_COIN, INVRG_LOSS_WEIGHTED);
  check_statistics(INVRG_MODEL_KIND_SYM7, &d10, 12, INVRG_FIT_TIES_COIN, INVRG_LOSS_BCE);
  free(small8);
  free(small10);
}

/* The cases below on 512 critical 16 x 16 configurations. */
enum { DATA_L = 16, DATA_N = 512 };

static void test_derivatives(void) {
  int8_t *configs = critical_configs(DATA_L, DATA_N, 3);
  invrg_train_data d = {configs, DATA_N, DATA_L, 0};
  check_derivatives(INVRG_MODEL_KIND_SYM3, &d);
  check_derivatives(INVRG_MODEL_KIND_SYM7, &d);
  free(configs);
}

static void test_descent(void) {
  int8_t *configs = critical_configs(DATA_L, DATA_N, 3);
  /* descent evaluates the model's own gradient: a small set */
  invrg_train_data d_gd = {configs, 128, DATA_L, 0};
  check_against_descent(INVRG_MODEL_KIND_SYM3, &d_gd);
  check_against_descent(INVRG_MODEL_KIND_SYM5, &d_gd);
  free(configs);
}

static void test_ranks(void) {
  int8_t *configs = critical_configs(DATA_L, DATA_N, 3);
  invrg_train_data d = {configs, DATA_N, DATA_L, 0};
  check_ranks(INVRG_MODEL_KIND_SYM3, &d, INVRG_LOSS_BCE);
  check_ranks(INVRG_MODEL_KIND_SYM7, &d, INVRG_LOSS_WEIGHTED);
  free(configs);
}

static void test_bootstrap_scaling(void) {
  int8_t *configs = critical_configs(DATA_L, DATA_N, 3);
  invrg_train_data d = {configs, DATA_N, DATA_L, 0};
  check_bootstrap_scaling(&d);
  free(configs);
}

/* The errors of the kept fit: a degenerate resample (its row NaN) is left out; one resample
 * gives a mean and no covariance. */
static void test_bootstrap_moments(void) {
  const double params[4 * 2] = {9, 9, 1, 2, NAN, NAN, 3, 6}; /* row 0: the fit of all */
  double mean[2], cov[4];
  invrg_fit_bootstrap_moments(params, 4, 2, mean, cov);
  EXPECT(mean[0] == 2 && mean[1] == 4, "mean (%g, %g), expected (2, 4)", mean[0], mean[1]);
  EXPECT(cov[0] == 2 && cov[1] == 4 && cov[2] == 4 && cov[3] == 8,
         "cov (%g %g; %g %g), expected (2 4; 4 8)", cov[0], cov[1], cov[2], cov[3]);
  invrg_fit_bootstrap_moments(params, 2, 2, mean, cov);
  EXPECT(mean[0] == 1 && mean[1] == 2 && isnan(cov[0]), "one resample: mean (%g, %g), cov %g",
         mean[0], mean[1], cov[0]);
  invrg_fit_bootstrap_moments(params, 3, 2, mean, cov);
  EXPECT(mean[0] == 1 && isnan(cov[3]), "one resample and a degenerate one: mean %g, cov %g",
         mean[0], cov[3]);
}

static const mpi_test_case cases[] = {
    {"bootstrap", check_bootstrap, true},
    {"bootstrap_moments", test_bootstrap_moments, true},
    {"symeig", check_symeig, true},
    {"statistics", test_statistics, true},
    {"derivatives", test_derivatives, true},
    {"descent", test_descent, true},
    {"ranks", test_ranks, true},
    {"bootstrap_scaling", test_bootstrap_scaling, true},
};

int main(int argc, char **argv) { return MPI_TEST_MAIN(argc, argv, cases); }
