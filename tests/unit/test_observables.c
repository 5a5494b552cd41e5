/*
 * Observables and their errors against a direct computation written here from the
 * definitions (docs/physics.md §7), on synthetic configurations: the sums of a lattice
 * against counting its bonds one by one, every observable of both conventions from the
 * raw (E, M) of the samples, and the jackknife recomputed by leaving out each block of
 * samples, for equal and unequal blocks. Nothing here reuses the library's formulas.
 */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>

#include "invrg/observables.h"
#include "unit/check_runner.h"

/* A small deterministic generator for test data (not the production RNG). */
static uint64_t state = 0x9e3779b97f4a7c15ULL;
static double uniform(void) {
  state ^= state << 13, state ^= state >> 7, state ^= state << 17;
  return ((double)(state >> 11) + 0.5) * 0x1.0p-53;
}

/* A configuration with magnetisation about @p bias, so that ⟨m⟩, ⟨|m|⟩ and χ differ. */
static void random_configuration(int8_t *s, int64_t n, double bias) {
  for (int64_t i = 0; i < n; i++) s[i] = uniform() < 0.5 + 0.5 * bias ? 1 : -1;
}

/* E = −Σ_<ij> s_i s_j over the 2N bonds of the periodic lx × ly lattice, counted one by one. */
static double direct_energy(const int8_t *s, int lx, int ly) {
  double e = 0;
  for (int y = 0; y < ly; y++)
    for (int x = 0; x < lx; x++) {
      int right = y * lx + (x + 1) % lx, down = ((y + 1) % ly) * lx + x;
      e -= s[y * lx + x] * (s[right] + s[down]);
    }
  return e;
}

START_TEST(sums_count_every_bond_once) {
  const int shapes[][2] = {{4, 4}, {5, 3}, {1, 6}, {7, 7}, {2, 2}};
  int8_t s[64];
  for (int k = 0; k < 5; k++) {
    int lx = shapes[k][0], ly = shapes[k][1];
    for (int rep = 0; rep < 20; rep++) {
      random_configuration(s, lx * ly, 0.3);
      invrg_config_sums sums;
      invrg_observables_sums_array(s, lx, ly, &sums);
      double m = 0;
      for (int i = 0; i < lx * ly; i++) m += s[i];
      ck_assert_int_eq(sums.sites, lx * ly);
      ck_assert_int_eq(sums.magnetisation, (int64_t)m);
      ck_assert_int_eq(-sums.bonds, (int64_t)direct_energy(s, lx, ly));
    }
  }
}
END_TEST

/* The observables of the samples with use[i] set, straight from the definitions:
 * e = E/N, m = M/N, e_p = 1 − E/(2N) per sample, then the formulas of docs/physics.md §7. */
static void direct_observables(const double *E, const double *M, const int *use, int n, double N,
                               double K, double out[INVRG_N_OBS]) {
  double cnt = 0, e = 0, e2 = 0, m = 0, am = 0, m2 = 0, m4 = 0, ep = 0, ep2 = 0, epam = 0;
  for (int i = 0; i < n; i++) {
    if (!use[i]) continue;
    double ei = E[i] / N, mi = M[i] / N, epi = 1 - E[i] / (2 * N);
    cnt += 1;
    e += ei, e2 += ei * ei, m += mi, am += fabs(mi), m2 += mi * mi, m4 += pow(mi, 4);
    ep += epi, ep2 += epi * epi, epam += epi * fabs(mi);
  }
  e /= cnt, e2 /= cnt, m /= cnt, am /= cnt, m2 /= cnt, m4 /= cnt, ep /= cnt, ep2 /= cnt,
      epam /= cnt;
  out[INVRG_OBS_ENERGY] = e;
  out[INVRG_OBS_ABS_M] = am;
  out[INVRG_OBS_M2] = m2;
  out[INVRG_OBS_M4] = m4;
  out[INVRG_OBS_CHI] = N * (m2 - am * am);                  /* χ = N(⟨m²⟩ − ⟨|m|⟩²) */
  out[INVRG_OBS_CHI_PRIME] = N * m2;                        /* χ' = N⟨m²⟩ */
  out[INVRG_OBS_SPECIFIC_HEAT] = K * K * N * (e2 - e * e);  /* C/N = K² N (⟨e²⟩ − ⟨e⟩²) */
  out[INVRG_OBS_BINDER_U4] = 1 - m4 / (3 * m2 * m2);        /* U4 = 1 − ⟨m⁴⟩/(3⟨m²⟩²) */
  out[INVRG_OBS_V4] = m4 / (m2 * m2);                       /* V4 = ⟨m⁴⟩/⟨m²⟩² */
  out[INVRG_OBS_E_PAPER] = ep;                              /* satisfied-bond density */
  out[INVRG_OBS_CHI_PAPER] = N * (m2 - m * m);              /* χ_p with signed m */
  out[INVRG_OBS_CP_PAPER] = N * (ep2 - ep * ep);            /* c_p, no K² */
  out[INVRG_OBS_ME_PAPER] = N * (epam - am * ep) / am;      /* me ∝ L^{1/ν} */
}

/*
 * n samples of an lx × ly lattice in blocks of the given sizes: the library's summary
 * (primaries → block means → invrg_summary_from_blocks) against the direct values, and its
 * errors against the delete-one jackknife done here on the raw samples:
 * σ² = (B − 1)/B Σ_b (θ_(b) − θ̄)², θ_(b) from every sample outside block b.
 */
static void compare_with_direct(int lx, int ly, const int64_t *block_sizes, int B, double K) {
  int n = 0;
  for (int b = 0; b < B; b++) n += (int)block_sizes[b];
  const double N = (double)lx * ly;
  int8_t *s = malloc((size_t)(lx * ly));
  double *E = malloc((size_t)n * sizeof *E), *M = malloc((size_t)n * sizeof *M);
  double *block_means = calloc((size_t)B * INVRG_N_PRIMARY, sizeof *block_means);
  int *use = malloc((size_t)n * sizeof *use);
  int i = 0;
  for (int b = 0; b < B; b++)
    for (int k = 0; k < block_sizes[b]; k++, i++) {
      random_configuration(s, lx * ly, 0.6 * uniform() - 0.1); /* mostly up, some down */
      invrg_config_sums sums;
      invrg_observables_sums_array(s, lx, ly, &sums);
      E[i] = direct_energy(s, lx, ly);
      M[i] = (double)sums.magnetisation;
      double p[INVRG_N_PRIMARY];
      invrg_observables_primaries(&sums, p);
      for (int q = 0; q < INVRG_N_PRIMARY; q++)
        block_means[(size_t)b * INVRG_N_PRIMARY + (size_t)q] += p[q] / (double)block_sizes[b];
    }
  invrg_summary got;
  invrg_summary_from_blocks(block_means, block_sizes, B, N, K, &got);
  ck_assert_int_eq(got.n_samples, n);

  double want[INVRG_N_OBS], theta[64][INVRG_N_OBS], mean[INVRG_N_OBS] = {0};
  for (i = 0; i < n; i++) use[i] = 1;
  direct_observables(E, M, use, n, N, K, want);
  int first = 0;
  for (int b = 0; b < B; b++) {
    for (i = 0; i < n; i++) use[i] = i < first || i >= first + block_sizes[b];
    direct_observables(E, M, use, n, N, K, theta[b]);
    for (int o = 0; o < INVRG_N_OBS; o++) mean[o] += theta[b][o] / B;
    first += (int)block_sizes[b];
  }
  for (int o = 0; o < INVRG_N_OBS; o++) {
    double ss = 0;
    for (int b = 0; b < B; b++) ss += (theta[b][o] - mean[o]) * (theta[b][o] - mean[o]);
    double err = sqrt((B - 1.0) / B * ss);
    ck_assert_msg(fabs(got.value[o] - want[o]) <= 1e-11 * (1 + fabs(want[o])),
                  "%s: %.15g, direct %.15g", invrg_summary_names[o], got.value[o], want[o]);
    ck_assert_msg(err > 0 && fabs(got.error[o] - err) <= 1e-8 * err, "%s error: %.15g, direct %.15g",
                  invrg_summary_names[o], got.error[o], err);
  }
  free(s), free(E), free(M), free(block_means), free(use);
}

START_TEST(every_observable_and_its_jackknife_equal_blocks) {
  const int64_t sizes[8] = {25, 25, 25, 25, 25, 25, 25, 25};
  compare_with_direct(6, 6, sizes, 8, 0.4406867935097715);
  compare_with_direct(5, 3, sizes, 5, 0.3);
}
END_TEST

START_TEST(every_observable_and_its_jackknife_unequal_blocks) {
  const int64_t sizes[6] = {10, 40, 7, 33, 21, 19};
  compare_with_direct(4, 8, sizes, 6, 0.5);
}
END_TEST

/* For a linear observable the jackknife is the standard error of the block means:
 * σ² = Σ_b (ē_b − ē)² / (B (B − 1)) with equal blocks — a second, independent formula. */
START_TEST(jackknife_of_energy_is_standard_error_of_blocks) {
  enum { B = 10, PER = 30, L = 6 };
  int8_t s[L * L];
  double block_means[B][INVRG_N_PRIMARY] = {{0}}, eb[B] = {0}, e = 0;
  int64_t sizes[B];
  for (int b = 0; b < B; b++) {
    sizes[b] = PER;
    for (int k = 0; k < PER; k++) {
      random_configuration(s, L * L, 0.2);
      invrg_config_sums sums;
      invrg_observables_sums_array(s, L, L, &sums);
      double p[INVRG_N_PRIMARY];
      invrg_observables_primaries(&sums, p);
      for (int q = 0; q < INVRG_N_PRIMARY; q++) block_means[b][q] += p[q] / PER;
      eb[b] += direct_energy(s, L, L) / (L * L) / PER;
    }
    e += eb[b] / B;
  }
  double ss = 0;
  for (int b = 0; b < B; b++) ss += (eb[b] - e) * (eb[b] - e);
  invrg_summary got;
  invrg_summary_from_blocks(&block_means[0][0], sizes, B, L * L, 0.44, &got);
  const double se = sqrt(ss / (B * (B - 1.0)));
  ck_assert_msg(fabs(got.error[INVRG_OBS_ENERGY] - se) <= 1e-10 * se, "error %.15g, expected %.15g",
                got.error[INVRG_OBS_ENERGY], se);
}
END_TEST

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  Suite *suite = suite_create("observables");
  TCase *tc = tcase_create("observables");
  tcase_add_test(tc, sums_count_every_bond_once);
  tcase_add_test(tc, every_observable_and_its_jackknife_equal_blocks);
  tcase_add_test(tc, every_observable_and_its_jackknife_unequal_blocks);
  tcase_add_test(tc, jackknife_of_energy_is_standard_error_of_blocks);
  suite_add_tcase(suite, tc);
  const int status = run_suite(suite);
  MPI_Finalize();
  return status;
}
