/* The exact oracle: Kaufman's torus against enumeration and against the numbers of docs/physics.md §2. */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>

#include "invrg/exact.h"
#include "unit/check_runner.h"

static const double KC = INVRG_K_CRITICAL;

START_TEST(critical_coupling_constant) {
  ck_assert_double_eq_tol(KC, 0.5 * log(1 + sqrt(2.0)), 1e-16);
}
END_TEST

START_TEST(enumeration_matches_spec_at_L4) {
  /* docs/physics.md §2: L = 4 at K_c by enumeration of all 2^16 states. */
  invrg_exact_moments m;
  ck_assert(invrg_exact_enumerate(4, KC, &m));
  ck_assert_double_eq_tol(m.energy, -1.5656237876, 1e-10);
  ck_assert_double_eq_tol(m.specific_heat, 0.7832668259, 1e-10);
  ck_assert_double_eq_tol(m.abs_m, 0.8438604448, 1e-10);
  ck_assert_double_eq_tol(m.m2, 0.7613589086, 1e-10);
  ck_assert_double_eq_tol(m.m4, 0.6656912133, 1e-10);
}
END_TEST

/* The torus against enumeration for L = 2, 3, 4 at the couplings @p K[0 .. n): E/N to
 * @p tol_e, C/N to @p tol_c, everything finite. */
static void torus_matches_enumeration_at(const double *K, size_t n, double tol_e, double tol_c) {
  for (int L = 2; L <= 4; L++)
    for (size_t i = 0; i < n; i++) {
      invrg_exact_thermo t;
      invrg_exact_moments m;
      ck_assert(invrg_exact_torus(L, K[i], &t));
      ck_assert(invrg_exact_enumerate(L, K[i], &m));
      ck_assert_msg(isfinite(t.log_z) && isfinite(t.energy) && isfinite(t.specific_heat),
                    "L = %d, K = %g: not finite", L, K[i]);
      ck_assert_double_eq_tol(t.energy, m.energy, tol_e);
      ck_assert_double_eq_tol(t.specific_heat, m.specific_heat, tol_c);
    }
}

START_TEST(torus_matches_enumeration) {
  const double couplings[] = {0.1, 0.3, 0.40, KC, 0.5, 0.8, 1.5};
  torus_matches_enumeration_at(couplings, sizeof couplings / sizeof couplings[0], 1e-10, 1e-10);
}
END_TEST

/* E = −d lnZ/dK and C = K² d² lnZ/dK² against Richardson-extrapolated differences of ln Z. */
START_TEST(derivatives_match_differences_of_log_z) {
  const int sizes[] = {16, 64, 256};
  for (size_t i = 0; i < 3; i++) {
    int L = sizes[i];
    double N = (double)L * L, h = 0.00625 / L; /* K-derivatives grow like L */
    invrg_exact_thermo t, p1, m1, p2, m2;
    invrg_exact_torus(L, KC, &t);
    invrg_exact_torus(L, KC + h, &p1);
    invrg_exact_torus(L, KC - h, &m1);
    invrg_exact_torus(L, KC + 2 * h, &p2);
    invrg_exact_torus(L, KC - 2 * h, &m2);
    double d1 = (8 * (p1.log_z - m1.log_z) - (p2.log_z - m2.log_z)) / (12 * h);
    double d2 = (16 * (p1.log_z + m1.log_z) - (p2.log_z + m2.log_z) - 30 * t.log_z) / (12 * h * h);
    ck_assert_double_eq_tol(t.energy, -d1 / N, 1e-9);
    ck_assert_double_eq_tol(t.specific_heat, KC * KC * d2 / N, 1e-7);
  }
}
END_TEST

START_TEST(large_lattice_limits) {
  /* docs/physics.md §2: e(L) ≈ −√2 − 0.6224/L and C/N grows as (8K_c²/π) ln L. */
  invrg_exact_thermo a, b;
  invrg_exact_torus(1024, KC, &a);
  invrg_exact_torus(2048, KC, &b);
  ck_assert_double_eq_tol((a.energy + sqrt(2.0)) * 1024, -0.6224, 1e-3);
  double slope = (b.specific_heat - a.specific_heat) / log(2.0);
  ck_assert_double_eq_tol(slope, 8 * KC * KC / M_PI, 1e-3);
  ck_assert(isfinite(a.log_z) && isfinite(a.energy) && isfinite(a.specific_heat));
  /* Far from K_c at large L nothing overflows. */
  invrg_exact_thermo hot, cold;
  ck_assert(invrg_exact_torus(1024, 0.05, &hot));
  ck_assert(invrg_exact_torus(1024, 3.0, &cold));
  ck_assert(isfinite(hot.energy) && isfinite(cold.specific_heat));
  ck_assert_double_eq_tol(cold.energy, -2.0, 1e-4);
}
END_TEST

/* Any K a run accepts: a cold lattice (sinh 2K and its powers beyond double's range) against
 * enumeration, and the ground state's limit where a flipped spin's weight e^{-8K} is zero. */
START_TEST(cold_couplings_finite) {
  const double couplings[] = {5, 20, 100, 178, 200, 349, 351, 1000, 1e6};
  const size_t n = sizeof couplings / sizeof couplings[0];
  torus_matches_enumeration_at(couplings, n, 1e-12, 1e-9);
  for (int L = 2; L <= 4; L++) /* ln Z = ln 2 + 2NK: the two ground states */
    for (size_t i = 0; i < n; i++) {
      invrg_exact_thermo t;
      ck_assert(invrg_exact_torus(L, couplings[i], &t));
      ck_assert_double_eq_tol((t.log_z - log(2.0)) / (L * L * couplings[i]), 2.0, 1e-12);
    }
  invrg_exact_thermo big;
  ck_assert(invrg_exact_torus(1024, 200, &big));
  ck_assert(isfinite(big.specific_heat) && fabs(big.energy + 2) < 1e-12);
}
END_TEST

/* |a/b − 1| */
static double relative(double a, double b) { return fabs(a / b - 1); }

/* Small K, where the closed form loses digits as 1/K² (garbage at K = 1e-20, NaN at 1e-300):
 * the high-temperature expansion (L ≥ 6) and the enumeration (L ≤ 5) take over below 5e-3. */
START_TEST(hot_couplings_accurate) {
  /* the closed form just above 5e-3 against enumeration (weights 1 + expm1(KB): every
   * digit), L = 4 and 5 */
  const double K5[] = {5.1e-3, 1e-2};
  for (int L = 4; L <= 5; L++)
    for (size_t i = 0; i < sizeof K5 / sizeof K5[0]; i++) {
      invrg_exact_thermo t;
      invrg_exact_moments m;
      ck_assert(invrg_exact_torus(L, K5[i], &t) && invrg_exact_enumerate(L, K5[i], &m));
      ck_assert_msg(relative(t.energy, m.energy) < 1e-11 &&
                        relative(t.specific_heat, m.specific_heat) < 1e-10,
                    "L = %d, K = %g: E %.17g against %.17g, C %.17g against %.17g", L, K5[i],
                    t.energy, m.energy, t.specific_heat, m.specific_heat);
    }
  /* the K → 0 limits: E → −2K (−4K at L = 2: every bond is there twice), C → 2K² (8K² at
   * L = 2); finite at every size */
  const double tiny[] = {1e-300, 1e-100, 1e-20, 1e-9};
  const int sizes[] = {2, 3, 4, 6, 64, 1024, 8192};
  for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++)
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      invrg_exact_thermo t;
      const double K = tiny[i], bonds = sizes[s] == 2 ? 4 : 2;
      ck_assert(invrg_exact_torus(sizes[s], K, &t));
      const double N = (double)sizes[s] * sizes[s];
      const double c = bonds * K * K; /* 0 below 1e-308: C underflows to 0 */
      ck_assert_msg(relative(t.energy, -bonds * K) < 1e-8 &&
                        (c > 0 ? relative(t.specific_heat, c) < 1e-8 : t.specific_heat == 0) &&
                        relative(t.log_z, N * M_LN2) < 1e-12,
                    "L = %d, K = %g: E = %g, C = %g, ln Z = %.17g", sizes[s], K, t.energy,
                    t.specific_heat, t.log_z);
    }
  /* across 5e-3 the expansion and the closed form agree (measured against 60-digit arithmetic:
   * the expansion to 1e-12 of E and 7e-12 of C there, the closed form to 1e-11 and 5e-11 at
   * L = 1024); a wrong coefficient of t⁶ would differ by 6e-10 */
  const int across[] = {6, 16, 256, 4096};
  for (size_t s = 0; s < sizeof across / sizeof across[0]; s++) {
    invrg_exact_thermo below, above;
    ck_assert(invrg_exact_torus(across[s], 5e-3 * (1 - 1e-12), &below));
    ck_assert(invrg_exact_torus(across[s], 5e-3 * (1 + 1e-12), &above));
    ck_assert_msg(relative(below.energy, above.energy) < 1e-10 &&
                      relative(below.specific_heat, above.specific_heat) < 3e-10,
                  "L = %d at K = 5e-3: E %.17g | %.17g, C %.17g | %.17g", across[s], below.energy,
                  above.energy, below.specific_heat, above.specific_heat);
  }
}
END_TEST

START_TEST(invalid_arguments_refused) {
  invrg_exact_thermo t;
  invrg_exact_moments m;
  ck_assert(!invrg_exact_torus(1, KC, &t));
  ck_assert(!invrg_exact_torus(4, 0.0, &t));
  ck_assert(!invrg_exact_enumerate(6, KC, &m));
}
END_TEST

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  Suite *s = suite_create("exact");
  TCase *tc = tcase_create("exact");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, critical_coupling_constant);
  tcase_add_test(tc, enumeration_matches_spec_at_L4);
  tcase_add_test(tc, torus_matches_enumeration);
  tcase_add_test(tc, derivatives_match_differences_of_log_z);
  tcase_add_test(tc, large_lattice_limits);
  tcase_add_test(tc, cold_couplings_finite);
  tcase_add_test(tc, hot_couplings_accurate);
  tcase_add_test(tc, invalid_arguments_refused);
  suite_add_tcase(s, tc);
  const int status = run_suite(s);
  MPI_Finalize();
  return status;
}
