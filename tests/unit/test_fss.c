/* Finite-size scaling on synthetic data with known answers: exact power laws give
 * the exponents to rounding; noisy data give jackknife errors equal to the
 * least-squares ones; noise common to all sizes (the same blocks at every L)
 * moves only the intercept; the primaries' formulas equal observables.h; ranges,
 * scans, the writer and bad input. */
#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "invrg/exact.h"
#include "invrg/fss.h"
#include "invrg/fss_io.h"
#include "invrg/h5util.h"
#include "invrg/observables.h"
#include "unit/check_runner.h"

static const int64_t sizes[] = {8, 16, 32, 64, 128};
enum { N_SIZES = 5 };

/* A small deterministic generator for test data (not the production RNG). */
static uint64_t state = 88172645463325252ULL;
static double gaussian(void) {
  double u[2];
  for (int k = 0; k < 2; k++) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    u[k] = ((double)(state >> 11) + 0.5) * 0x1.0p-53;
  }
  return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

/*
 * Means of the primaries whose observables follow exact laws: ⟨|m|⟩ = 1.1 L^{−1/8},
 * χ = 0.9 L^{7/4}, me = 0.7 L, C/N = A ln L + 0.1, V4 = 1.1679229 + 0.3/L.
 */
static const double A_C = 0.49454;
static void exact_primaries(int64_t L, double p[INVRG_N_PRIMARY]) {
  const double N = (double)(L * L), K = INVRG_K_CRITICAL;
  const double am = 1.1 * pow((double)L, -0.125), chi = 0.9 * pow((double)L, 1.75);
  const double m2 = am * am + chi / N, V4 = 1.1679229 + 0.3 / (double)L;
  const double e = -sqrt(2.0) - 0.6 / (double)L, C = A_C * log((double)L) + 0.1;
  const double ep = 1 - e / 2, me = 0.7 * (double)L;
  p[INVRG_PRIMARY_E] = e;
  p[INVRG_PRIMARY_E2] = e * e + C / (K * K * N);
  p[INVRG_PRIMARY_M] = 0;
  p[INVRG_PRIMARY_ABS_M] = am;
  p[INVRG_PRIMARY_M2] = m2;
  p[INVRG_PRIMARY_M4] = V4 * m2 * m2;
  p[INVRG_PRIMARY_EP] = ep;
  p[INVRG_PRIMARY_EP2] = ep * ep;
  p[INVRG_PRIMARY_EP_ABS_M] = am * ep + me * am / N;
}

/* Data with every block equal to the exact means, plus ξ₂/L = 0.9050488 − 0.2/L. */
static invrg_fss_data *exact_data(int B) {
  invrg_fss_data *d = NULL;
  ck_assert_int_eq(invrg_fss_data_create(B, &d), INVRG_SUCCESS);
  double *means = malloc((size_t)B * INVRG_N_PRIMARY * sizeof *means),
         *jk = malloc((size_t)B * sizeof *jk);
  int64_t *counts = malloc((size_t)B * sizeof *counts);
  for (int i = 0; i < N_SIZES; i++) {
    for (int b = 0; b < B; b++) {
      exact_primaries(sizes[i], means + (size_t)b * INVRG_N_PRIMARY);
      counts[b] = 10 + b; /* unequal blocks: the weighted delete-one means are still exact */
    }
    ck_assert_int_eq(invrg_fss_set_primaries(d, sizes[i], means, counts, INVRG_K_CRITICAL),
                     INVRG_SUCCESS);
    const double xi = 0.9050488 - 0.2 / (double)sizes[i];
    for (int b = 0; b < B; b++) jk[b] = xi;
    ck_assert_int_eq(invrg_fss_set(d, sizes[i], INVRG_FSS_XI_OVER_L, xi, jk), INVRG_SUCCESS);
  }
  free(means);
  free(jk);
  free(counts);
  return d;
}

START_TEST(exact_laws_give_exact_exponents) {
  invrg_fss_data *d = exact_data(4);
  invrg_fss_results *r = NULL;
  invrg_fss_params p = {0, 0};
  ck_assert_int_eq(invrg_fss_analyze(d, &p, &r), INVRG_SUCCESS);
  ck_assert_int_eq(r->n_sizes, N_SIZES);
  ck_assert_int_eq(r->n_fits, INVRG_FSS_N_QUANTITIES);
  const double expected[INVRG_FSS_N_QUANTITIES] = {
      [INVRG_FSS_CHI] = 1.75,     [INVRG_FSS_ABS_M] = 0.125,
      [INVRG_FSS_ME] = 1.0,       [INVRG_FSS_SPECIFIC_HEAT] = A_C,
      [INVRG_FSS_V4] = 1.1679229, [INVRG_FSS_XI_OVER_L] = 0.9050488};
  for (int q = 0; q < INVRG_FSS_N_QUANTITIES; q++) {
    const invrg_fss_fit *f = invrg_fss_find(r, (invrg_fss_quantity)q);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->n_points, N_SIZES);
    ck_assert_msg(fabs(f->result - expected[q]) < 1e-9, "%s: %.15g, expected %.15g", f->name,
                  f->result, expected[q]);
    ck_assert_msg(f->result_err < 1e-9, "%s: error %g of exact data", f->name, f->result_err);
    ck_assert_int_eq(f->n_scan, N_SIZES - 1);
    for (int s = 0; s < f->n_scan; s++) {
      ck_assert_int_eq(f->scan_L_min[s], sizes[s]);
      ck_assert(fabs(f->scan_result[s] - expected[q]) < 1e-9);
    }
  }
  /* the exact values of docs/physics.md §2 */
  ck_assert_double_eq_tol(invrg_fss_find(r, INVRG_FSS_SPECIFIC_HEAT)->exact, 0.4945386, 1e-6);
  ck_assert_double_eq(invrg_fss_find(r, INVRG_FSS_CHI)->exact, 1.75);
  invrg_fss_log(r, "synthetic");
  invrg_fss_results_destroy(&r);
  invrg_fss_results_destroy(&r); /* accepts NULL */
  invrg_fss_data_destroy(&d);
}
END_TEST

/* Block means μ_ib = a + c/L_i + noise; returns the data with the delete-one values. */
static invrg_fss_data *noisy_line(int B, double a, double c, const double *sigma, bool common) {
  invrg_fss_data *d = NULL;
  ck_assert_int_eq(invrg_fss_data_create(B, &d), INVRG_SUCCESS);
  double *mu = malloc((size_t)B * N_SIZES * sizeof *mu), *jk = malloc((size_t)B * sizeof *jk);
  for (int b = 0; b < B; b++) {
    const double g = gaussian();
    for (int i = 0; i < N_SIZES; i++)
      mu[b * N_SIZES + i] =
          a + c / (double)sizes[i] + sigma[i] * sqrt((double)B) * (common ? g : gaussian());
  }
  for (int i = 0; i < N_SIZES; i++) {
    double total = 0;
    for (int b = 0; b < B; b++) total += mu[b * N_SIZES + i];
    for (int b = 0; b < B; b++) jk[b] = (total - mu[b * N_SIZES + i]) / (B - 1);
    ck_assert_int_eq(invrg_fss_set(d, sizes[i], INVRG_FSS_XI_OVER_L, total / B, jk), INVRG_SUCCESS);
  }
  free(mu);
  free(jk);
  return d;
}

START_TEST(jackknife_errors_equal_least_squares_errors) {
  const double sigma[N_SIZES] = {0.004, 0.003, 0.003, 0.002, 0.002};
  const int B = 400;
  invrg_fss_data *d = noisy_line(B, 0.9, -0.3, sigma, false);
  invrg_fss_results *r = NULL;
  invrg_fss_params p = {0, 0};
  ck_assert_int_eq(invrg_fss_analyze(d, &p, &r), INVRG_SUCCESS);
  const invrg_fss_fit *f = invrg_fss_find(r, INVRG_FSS_XI_OVER_L);
  /* weighted least squares with the fit's own y errors: Var a = Sxx/Δ, Var b = S/Δ */
  double S = 0, Sx = 0, Sxx = 0, Sy = 0, Sxy = 0;
  for (int i = 0; i < N_SIZES; i++) {
    const double w = 1 / (f->y_err[i] * f->y_err[i]), x = 1.0 / (double)f->L[i];
    S += w, Sx += w * x, Sxx += w * x * x, Sy += w * f->y[i], Sxy += w * x * f->y[i];
    /* the y errors are the jackknife errors of the means: σ_i within sampling scatter */
    ck_assert_msg(fabs(f->y_err[i] / sigma[i] - 1) < 0.15, "y_err %g, sigma %g", f->y_err[i],
                  sigma[i]);
  }
  const double D = S * Sxx - Sx * Sx, b = (S * Sxy - Sx * Sy) / D, a = (Sy - b * Sx) / S;
  ck_assert_double_eq_tol(f->a, a, 1e-12);
  ck_assert_double_eq_tol(f->b, b, 1e-10);
  ck_assert_msg(fabs(f->a_err / sqrt(Sxx / D) - 1) < 0.15, "a_err %g, least squares %g", f->a_err,
                sqrt(Sxx / D));
  ck_assert_msg(fabs(f->b_err / sqrt(S / D) - 1) < 0.15, "b_err %g, least squares %g", f->b_err,
                sqrt(S / D));
  double chi2 = 0;
  for (int i = 0; i < N_SIZES; i++) {
    const double res = f->y[i] - a - b / (double)f->L[i];
    chi2 += res * res / (f->y_err[i] * f->y_err[i]);
  }
  ck_assert_double_eq_tol(f->chi2_dof, chi2 / (N_SIZES - 2), 1e-9);
  ck_assert(isfinite(f->chi2_dof_correlated) && f->chi2_dof_correlated > 0);
  ck_assert(fabs(f->a - 0.9) < 4 * f->a_err); /* the true intercept, within 4σ */
  invrg_fss_results_destroy(&r);
  invrg_fss_data_destroy(&d);
}
END_TEST

/* The same blocks at every size (levels of one dream): a shift common to all sizes. */
START_TEST(noise_common_to_all_sizes_moves_only_the_intercept) {
  const double sigma[N_SIZES] = {0.01, 0.01, 0.01, 0.01, 0.01};
  invrg_fss_data *d = noisy_line(50, 0.9, -0.3, sigma, true);
  invrg_fss_results *r = NULL;
  invrg_fss_params p = {0, 0};
  ck_assert_int_eq(invrg_fss_analyze(d, &p, &r), INVRG_SUCCESS);
  const invrg_fss_fit *f = invrg_fss_find(r, INVRG_FSS_XI_OVER_L);
  ck_assert_msg(f->b_err < 1e-12, "slope error %g from a common shift", f->b_err);
  ck_assert_double_eq_tol(f->b, -0.3, 1e-12);
  ck_assert_msg(fabs(f->a_err / 0.01 - 1) < 0.4, "intercept error %g, expected about 0.01",
                f->a_err);
  ck_assert_double_eq_tol(f->chi2_dof, 0, 1e-12); /* on a line, up to a common shift */
  invrg_fss_results_destroy(&r);
  invrg_fss_data_destroy(&d);
}
END_TEST

/* The primaries' observables and their errors are those of invrg_summary_from_blocks(). */
START_TEST(primaries_follow_observables) {
  enum { B = 7 };
  const int64_t L = 32;
  double means[B][INVRG_N_PRIMARY];
  int64_t counts[B];
  for (int b = 0; b < B; b++) {
    exact_primaries(L, means[b]);
    for (int k = 0; k < INVRG_N_PRIMARY; k++) means[b][k] *= 1 + 0.01 * gaussian();
    counts[b] = 100 + 3 * b;
  }
  invrg_fss_data *d = NULL;
  ck_assert_int_eq(invrg_fss_data_create(B, &d), INVRG_SUCCESS);
  ck_assert_int_eq(invrg_fss_set_primaries(d, L, &means[0][0], counts, 0.4), INVRG_SUCCESS);
  ck_assert_int_eq(invrg_fss_set_primaries(d, 2 * L, &means[0][0], counts, 0.4), INVRG_SUCCESS);
  invrg_summary s;
  invrg_summary_from_blocks(&means[0][0], counts, B, (double)(L * L), 0.4, &s);
  invrg_fss_results *r = NULL;
  invrg_fss_params p = {0, 0};
  ck_assert_int_eq(invrg_fss_analyze(d, &p, &r), INVRG_SUCCESS);
  const invrg_fss_fit *v4 = invrg_fss_find(r, INVRG_FSS_V4);
  const invrg_fss_fit *chi = invrg_fss_find(r, INVRG_FSS_CHI);
  const invrg_fss_fit *c = invrg_fss_find(r, INVRG_FSS_SPECIFIC_HEAT);
  ck_assert_int_eq(v4->L[0], L);
  ck_assert_double_eq_tol(v4->y[0], s.value[INVRG_OBS_V4], 1e-13);
  ck_assert_double_eq_tol(v4->y_err[0], s.error[INVRG_OBS_V4], 1e-13);
  ck_assert_double_eq_tol(c->y[0], s.value[INVRG_OBS_SPECIFIC_HEAT], 1e-12);
  ck_assert_double_eq_tol(c->y_err[0], s.error[INVRG_OBS_SPECIFIC_HEAT], 1e-12);
  ck_assert_double_eq_tol(chi->y[0], log(s.value[INVRG_OBS_CHI]), 1e-13);
  /* the error of ln χ is close to the relative error of χ */
  ck_assert(fabs(chi->y_err[0] / (s.error[INVRG_OBS_CHI] / s.value[INVRG_OBS_CHI]) - 1) < 0.05);
  /* two sizes: a fit with no degrees of freedom */
  ck_assert_int_eq(chi->n_points, 2);
  ck_assert(isnan(chi->chi2_dof));
  /* ξ₂/L was never set */
  ck_assert_int_eq(invrg_fss_find(r, INVRG_FSS_XI_OVER_L)->n_points, 0);
  ck_assert(isnan(invrg_fss_find(r, INVRG_FSS_XI_OVER_L)->result));
  invrg_fss_log(r, "two sizes");
  invrg_fss_results_destroy(&r);
  invrg_fss_data_destroy(&d);
}
END_TEST

START_TEST(ranges_scan_and_bad_input) {
  invrg_fss_data *d = exact_data(3);
  invrg_fss_results *r = NULL;
  invrg_fss_params p = {16, 64};
  ck_assert_int_eq(invrg_fss_analyze(d, &p, &r), INVRG_SUCCESS);
  const invrg_fss_fit *f = invrg_fss_find(r, INVRG_FSS_CHI);
  ck_assert_int_eq(f->n_points, 3);
  ck_assert_int_eq(f->L_min, 16);
  ck_assert_int_eq(f->L_max, 64);
  ck_assert_int_eq(f->n_scan, 3); /* L_min' = 8, 16, 32 up to 64 */
  ck_assert_int_eq(f->scan_L_min[0], 8);
  ck_assert_int_eq(f->scan_L_min[2], 32);
  ck_assert_double_eq(f->scan_result[1], f->result);
  invrg_fss_results_destroy(&r);
  p.L_min = 64, p.L_max = 16;
  ck_assert_int_eq(invrg_fss_analyze(d, &p, &r), INVRG_ERR_INPUT);
  ck_assert_ptr_null(r);
  p.L_min = 100, p.L_max = 0; /* only L = 128: no fit, but no error */
  ck_assert_int_eq(invrg_fss_analyze(d, &p, &r), INVRG_SUCCESS);
  ck_assert_int_eq(invrg_fss_find(r, INVRG_FSS_CHI)->n_points, 0);
  invrg_fss_results_destroy(&r);
  invrg_fss_data *bad = NULL;
  ck_assert_int_eq(invrg_fss_data_create(1, &bad), INVRG_ERR_INPUT);
  ck_assert_int_eq(invrg_fss_data_create(2, &bad), INVRG_SUCCESS);
  double means[2][INVRG_N_PRIMARY];
  exact_primaries(8, means[0]);
  exact_primaries(8, means[1]);
  int64_t counts[2] = {5, 0};
  ck_assert_int_eq(invrg_fss_set_primaries(bad, 8, &means[0][0], counts, 0.4), INVRG_ERR_INPUT);
  invrg_fss_data_destroy(&bad);
  invrg_fss_data_destroy(&d);
}
END_TEST

START_TEST(writer_reads_back) {
  invrg_fss_data *d = exact_data(4);
  invrg_fss_results *r = NULL;
  invrg_fss_params p = {0, 0};
  ck_assert_int_eq(invrg_fss_analyze(d, &p, &r), INVRG_SUCCESS);
  const char *path = "test_fss.h5";
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  ck_assert(file >= 0);
  ck_assert_int_eq(invrg_fss_write(r, file, "dream", MPI_COMM_WORLD), INVRG_SUCCESS);
  H5Fclose(file);
  H5Pclose(fapl);
  file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  double v = 0, scan[4] = {0};
  hid_t a = H5Aopen_by_name(file, "fss/dream/gamma_over_nu", "result", H5P_DEFAULT, H5P_DEFAULT);
  ck_assert(a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0);
  ck_assert_double_eq(v, invrg_fss_find(r, INVRG_FSS_CHI)->result);
  H5Aclose(a);
  hid_t ds = H5Dopen2(file, "fss/dream/xi2_over_L_infinity/scan_result", H5P_DEFAULT);
  ck_assert(ds >= 0 && H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, scan) >= 0);
  ck_assert_double_eq(scan[3], invrg_fss_find(r, INVRG_FSS_XI_OVER_L)->scan_result[3]);
  H5Dclose(ds);
  H5Fclose(file);
  remove(path);
  invrg_fss_results_destroy(&r);
  invrg_fss_data_destroy(&d);
}
END_TEST

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  invrg_h5_init();
  Suite *s = suite_create("fss");
  TCase *tc = tcase_create("fss");
  tcase_add_test(tc, exact_laws_give_exact_exponents);
  tcase_add_test(tc, jackknife_errors_equal_least_squares_errors);
  tcase_add_test(tc, noise_common_to_all_sizes_moves_only_the_intercept);
  tcase_add_test(tc, primaries_follow_observables);
  tcase_add_test(tc, ranges_scan_and_bad_input);
  tcase_add_test(tc, writer_reads_back);
  suite_add_tcase(s, tc);
  const int status = run_suite(s);
  MPI_Finalize();
  return status;
}
