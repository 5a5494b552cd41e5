/* Error analysis against processes whose answers are known in closed form. */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>

#include "invrg/stats.h"
#include "unit/check_runner.h"

/* A small deterministic generator for test data (not the production RNG). */
static uint64_t lcg_state = 88172645463325252ULL;
static double gaussian(void) {
  double u[2];
  for (int k = 0; k < 2; k++) {
    lcg_state ^= lcg_state << 13, lcg_state ^= lcg_state >> 7, lcg_state ^= lcg_state << 17;
    u[k] = ((double)(lcg_state >> 11) + 0.5) * 0x1.0p-53;
  }
  return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

/* AR(1): x_t = φ x_{t−1} + ε_t has ρ(t) = φ^t, so τ_int = ½ + φ/(1−φ) = (1+φ)/(2(1−φ)). */
START_TEST(tau_of_ar1_process) {
  const double phis[] = {0.0, 0.5, 0.9};
  size_t n = 400000;
  double *x = malloc(n * sizeof *x);
  for (int k = 0; k < 3; k++) {
    double phi = phis[k], v = 0;
    for (size_t t = 0; t < n; t++) x[t] = v = phi * v + gaussian();
    invrg_series_stats st;
    invrg_stats_series(x, n, 0, &st);
    double tau = (1 + phi) / (2 * (1 - phi));
    /* Sokal: δτ/τ ≈ √(2(2W+1)/n); allow 4 of those plus the window's truncation bias. */
    double tol = 4 * tau * sqrt(2.0 * (2 * st.window + 1) / (double)n) + tau * exp(-6.0) * 2;
    ck_assert_msg(fabs(st.tau_int - tau) < tol, "phi %g: tau %g, expected %g ± %g", phi,
                  st.tau_int, tau, tol);
    ck_assert(st.reliable);
    /* Stationary variance 1/(1−φ²); error of the mean √(2τ var/n). */
    ck_assert_double_eq_tol(st.variance, 1 / (1 - phi * phi), 0.05 / (1 - phi * phi));
    double err = sqrt(2 * tau / (1 - phi * phi) / (double)n);
    ck_assert_double_eq_tol(st.error, err, 0.1 * err);
    ck_assert_double_eq_tol(st.error_binning, err, 0.35 * err); /* 32 bins: ±25 % scatter */
  }
  free(x);
}
END_TEST

START_TEST(constant_series) {
  double x[100];
  for (int i = 0; i < 100; i++) x[i] = 2.5;
  invrg_series_stats st;
  invrg_stats_series(x, 100, 0, &st);
  ck_assert_double_eq(st.mean, 2.5);
  ck_assert_double_eq(st.error, 0.0);
  ck_assert_double_eq(st.tau_int, 0.5);
}
END_TEST

START_TEST(combine_chains) {
  invrg_series_stats c[2] = {{.mean = 1, .error = 0.3, .tau_int = 2, .variance = 1},
                             {.mean = 3, .error = 0.4, .tau_int = 4, .variance = 3}};
  invrg_series_stats all;
  invrg_stats_combine(c, 2, &all);
  ck_assert_double_eq_tol(all.mean, 2.0, 1e-15);
  ck_assert_double_eq_tol(all.error, 0.25, 1e-15); /* √(0.09 + 0.16)/2 */
  ck_assert_double_eq_tol(all.tau_int, 3.0, 1e-15);
}
END_TEST

static double variance_of(const double *means, const void *ctx) {
  (void)ctx;
  return means[1] - means[0] * means[0]; /* ⟨x²⟩ − ⟨x⟩² */
}
static double first(const double *means, const void *ctx) {
  (void)ctx;
  return means[0];
}

START_TEST(jackknife_of_mean_is_standard_error) {
  /* For f = mean, the jackknife error equals the standard error of block means exactly. */
  double blocks[5][2] = {{1, 0}, {2, 0}, {4, 0}, {8, 0}, {5, 0}};
  double v, e;
  invrg_jackknife(&blocks[0][0], 5, 2, first, NULL, &v, &e);
  double mean = 4, ss = 9 + 4 + 0 + 16 + 1;
  ck_assert_double_eq_tol(v, mean, 1e-15);
  ck_assert_double_eq_tol(e, sqrt(ss / (5.0 * 4.0)), 1e-14);
}
END_TEST

START_TEST(jackknife_of_variance) {
  /* Gaussian data, unit variance: the variance estimate and its error √(2/n). */
  int B = 100, per = 1000;
  double *blocks = malloc((size_t)B * 2 * sizeof *blocks);
  for (int b = 0; b < B; b++) {
    double s = 0, s2 = 0;
    for (int i = 0; i < per; i++) {
      double g = gaussian();
      s += g, s2 += g * g;
    }
    blocks[2 * b] = s / per, blocks[2 * b + 1] = s2 / per;
  }
  double v, e;
  invrg_jackknife(blocks, B, 2, variance_of, NULL, &v, &e);
  double expected_err = sqrt(2.0 / (B * per));
  ck_assert_double_eq_tol(v, 1.0, 4 * expected_err);
  ck_assert_double_eq_tol(e, expected_err, 0.3 * expected_err);
  free(blocks);
}
END_TEST

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  Suite *s = suite_create("stats");
  TCase *tc = tcase_create("stats");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, tau_of_ar1_process);
  tcase_add_test(tc, constant_series);
  tcase_add_test(tc, combine_chains);
  tcase_add_test(tc, jackknife_of_mean_is_standard_error);
  tcase_add_test(tc, jackknife_of_variance);
  suite_add_tcase(s, tc);
  const int status = run_suite(s);
  MPI_Finalize();
  return status;
}
