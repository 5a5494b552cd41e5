/* Monte Carlo updates against exact results (docs/physics.md §2): enumeration at L = 4 and
 * Kaufman's torus at L = 16, at K_c and at K = 0.40, within one family-wise
 * threshold (tests/family_wise.h) of the measured statistical error (τ_int
 * for means, jackknife for C/N). Wolff runs on one
 * rank; Swendsen–Wang on every rank count, distributed over the group's grid. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "family_wise.h"
#include "invrg/config.h"
#include "invrg/exact.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mc_update.h"
#include "invrg/observables.h"
#include "invrg/stats.h"

#include "mpi/mpi_test.h"

static invrg_groups *groups = NULL; /* one group of all ranks, made by each case */

typedef enum { WOLFF, SW } algorithm;
static const char *const algorithm_names[] = {"wolff", "sw"};

/* Runs one chain and returns the primaries of every sweep: [n_sweeps][INVRG_N_PRIMARY]. */
static double *run_chain(algorithm a, int L, double K, int n_therm, int n_sweeps) {
  invrg_lattice *lat = NULL;
  invrg_wolff *wolff = NULL;
  invrg_sw *sw = NULL;
  invrg_err err = INVRG_SUCCESS;
  double *out = malloc((size_t)n_sweeps * INVRG_N_PRIMARY * sizeof *out);
  invrg_mc_chain chain = {.K = K, .seed = 2024, .chain = (uint64_t)L};
  if (groups->ranks_per_group == 1)
    err = invrg_lattice_create_replicated(L, L, 1, &lat);
  else
    err = invrg_lattice_create_distributed(groups, L, L, 1, &lat);
  if (err) goto fail;
  invrg_rng_stream init;
  invrg_rng_stream_init(&init, chain.seed, INVRG_RNG_INIT, chain.chain, 0);
  invrg_lattice_fill_random(lat, &init);
  if (a == WOLFF ? invrg_wolff_create(L, L, &wolff) : invrg_sw_create(lat, &sw)) goto fail;
  invrg_mc_counts counts = {0};
  if (a == WOLFF && invrg_mc_wolff_thermalize(lat, &chain, n_therm, wolff, &counts)) goto fail;
  for (int t = a == WOLFF ? 0 : -n_therm; t < n_sweeps; t++) {
    err = a == WOLFF ? invrg_mc_wolff_sweeps(lat, &chain, 1, wolff, &counts)
                     : invrg_mc_sw_sweep(lat, &chain, (uint64_t)(t + n_therm), sw, &counts);
    if (err) goto fail;
    if (t < 0) continue;
    invrg_config_sums sums;
    if (invrg_observables_sums(lat, &sums)) goto fail;
    invrg_observables_primaries(&sums, out + (size_t)t * INVRG_N_PRIMARY);
  }
  invrg_wolff_destroy(&wolff);
  invrg_sw_destroy(&sw);
  invrg_lattice_destroy(&lat);
  return out;
fail:
  OK(err != INVRG_SUCCESS ? err : INVRG_ERR_RUNTIME); /* reports the failure and stops */
  return NULL;
}

/* Every comparison of a run (all cases) shares one threshold (family_wise.h): 4 moments by
 * enumeration and E/N, C/N on the torus per coupling, for each algorithm run. */
static double limit(void) {
  return family_wise_z(FAMILY_WISE_ALPHA, 2 * (world_size == 1 ? 12 : 6));
}

static void expect_within(const char *what, double value, double error, double exact) {
  const double z = (value - exact) / error;
  CHECK(fabs(z) <= limit() && error > 0 && isfinite(z),
        "%-40s %.8f ± %.8f  exact %.8f  (%+.2f σ; limit %.2f)", what, value, error, exact, z,
        limit());
}

/* Mean of primary p over the series with its τ_int error. */
static void series_mean(const double *x, int n, int p, double *mean, double *error) {
  double *col = malloc((size_t)n * sizeof *col);
  for (int t = 0; t < n; t++) col[t] = x[(size_t)t * INVRG_N_PRIMARY + (size_t)p];
  invrg_series_stats st;
  invrg_stats_series(col, (size_t)n, 0, &st);
  *mean = st.mean;
  *error = st.error;
  free(col);
}

/* Jackknife summary over 50 equal blocks of the series (blocks ≫ τ here). */
static void series_summary(const double *x, int n, double N, double K, invrg_summary *s) {
  enum { B = 50 };
  double means[B][INVRG_N_PRIMARY] = {{0}};
  int64_t sizes[B];
  int len = n / B;
  for (int b = 0; b < B; b++) {
    sizes[b] = len;
    for (int t = b * len; t < (b + 1) * len; t++)
      for (int p = 0; p < INVRG_N_PRIMARY; p++) means[b][p] += x[(size_t)t * INVRG_N_PRIMARY + (size_t)p] / len;
  }
  invrg_summary_from_blocks(&means[0][0], sizes, B, N, K, s);
}

static void check_enumeration(algorithm a, double K) {
  const int L = 4, n = 200000;
  double *x = run_chain(a, L, K, 1000, n);
  invrg_exact_moments ex;
  invrg_exact_enumerate(L, K, &ex);
  const int prim[4] = {INVRG_PRIMARY_E, INVRG_PRIMARY_ABS_M, INVRG_PRIMARY_M2, INVRG_PRIMARY_M4};
  const double exact[4] = {ex.energy, ex.abs_m, ex.m2, ex.m4};
  const char *names[4] = {"E/N", "<|m|>", "<m^2>", "<m^4>"};
  for (int q = 0; q < 4; q++) {
    double mean, error;
    series_mean(x, n, prim[q], &mean, &error);
    char what[96];
    snprintf(what, sizeof what, "%s L=4 K=%.4f %s", algorithm_names[a], K, names[q]);
    expect_within(what, mean, error, exact[q]);
  }
  free(x);
}

static void check_torus(algorithm a, double K) {
  const int L = 16, n = 100000;
  double *x = run_chain(a, L, K, 1000, n);
  invrg_exact_thermo ex;
  invrg_exact_torus(L, K, &ex);
  invrg_summary s;
  series_summary(x, n, (double)L * L, K, &s);
  double mean, error;
  series_mean(x, n, INVRG_PRIMARY_E, &mean, &error);
  char what[96];
  snprintf(what, sizeof what, "%s L=16 K=%.4f E/N", algorithm_names[a], K);
  expect_within(what, mean, error, ex.energy);
  snprintf(what, sizeof what, "%s L=16 K=%.4f C/N", algorithm_names[a], K);
  expect_within(what, s.value[INVRG_OBS_SPECIFIC_HEAT], s.error[INVRG_OBS_SPECIFIC_HEAT],
                       ex.specific_heat);
  free(x);
}

/* The checks of algorithm @p a at both couplings, on one group of all ranks (a distributed
 * lattice). */
static void for_couplings(algorithm a) {
  invrg_config cfg;
  invrg_config_defaults(&cfg);
  cfg.parallel.ranks_per_group = world_size;
  OK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &groups));
  if (world_rank == 0) printf("grid %d x %d\n", groups->px, groups->py);
  const double couplings[2] = {INVRG_K_CRITICAL, 0.40};
  for (int k = 0; k < 2; k++) {
    check_enumeration(a, couplings[k]);
    check_torus(a, couplings[k]);
  }
  invrg_groups_destroy(&groups);
}

/* Wolff chains need groups of one rank: on one rank only. */
static void test_wolff(void) {
  if (world_size != 1) {
    mpi_test_skip("Wolff needs a group of one rank");
    return;
  }
  for_couplings(WOLFF);
}

static void test_swendsen_wang(void) { for_couplings(SW); }

/* A chain's lattice after thermalisation and some sweeps, clusters grown the way @p growth; its
 * counts at @p counts, and at @p decided whether the workspace's growth is fixed after it. */
static int8_t *wolff_chain(int64_t lx, int64_t ly, invrg_wolff_growth growth,
                           invrg_mc_counts *counts, bool *decided) {
  invrg_lattice *lat = NULL;
  invrg_wolff *w = NULL;
  int8_t *out = malloc((size_t)(lx * ly));
  const invrg_mc_chain chain = {.K = 0.44, .seed = 77, .chain = (uint64_t)(lx * 1000 + ly)};
  *counts = (invrg_mc_counts){0};
  invrg_wolff_test_growth(growth);
  if (out == NULL || invrg_lattice_create_replicated(lx, ly, 1, &lat) ||
      invrg_wolff_create(lx, ly, &w))
    goto fail;
  invrg_rng_stream init;
  invrg_rng_stream_init(&init, chain.seed, INVRG_RNG_INIT, chain.chain, 0);
  invrg_lattice_fill_random(lat, &init);
  if (invrg_mc_wolff_thermalize(lat, &chain, 20, w, counts) ||
      invrg_mc_wolff_sweeps(lat, &chain, 30, w, counts))
    goto fail;
  for (int64_t y = 0; y < ly; y++)
    for (int64_t x = 0; x < lx; x++)
      out[y * lx + x] = lat->data[invrg_lattice_index(lat, (int)x, (int)y)];
  *decided = invrg_wolff_growth_of(w) != INVRG_WOLFF_GROW_AUTO;
  invrg_wolff_test_growth(INVRG_WOLFF_GROW_AUTO);
  invrg_wolff_destroy(&w);
  invrg_lattice_destroy(&lat);
  return out;
fail:
  EXPECT(false, "Wolff chain %lld x %lld failed: %s", (long long)lx, (long long)ly,
         invrg_error_message());
  invrg_wolff_test_growth(INVRG_WOLFF_GROW_AUTO);
  invrg_wolff_destroy(&w);
  invrg_lattice_destroy(&lat);
  free(out);
  return NULL;
}

/* Clusters grown four tests at once, one after another with masked neighbours, and as runs grow
 * them (a timed trial of both, then the faster) are the reference's clusters (one test after
 * another, neighbours compared): the same lattice and counts after thermalisation and 30 sweeps,
 * power-of-two sides (masks) and others (compares), square and not; sides below 3 always test
 * one at a time. The runs' trial has decided by then (it needs 2 × 2 sweeps of flips). */
static void test_wolff_growths(void) {
  const int64_t sizes[][2] = {{16, 16}, {64, 32}, {12, 20}, {3, 5}, {3, 3}, {2, 8}};
  const invrg_wolff_growth ways[] = {INVRG_WOLFF_GROW_FOUR, INVRG_WOLFF_GROW_ONE,
                                     INVRG_WOLFF_GROW_AUTO};
  const char *names[] = {"four at once", "one at a time (masks)", "as runs grow them"};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    const int64_t lx = sizes[k][0], ly = sizes[k][1];
    invrg_mc_counts c_ref;
    bool decided = false;
    int8_t *ref = wolff_chain(lx, ly, INVRG_WOLFF_GROW_REFERENCE, &c_ref, &decided);
    for (size_t v = 0; v < sizeof ways / sizeof ways[0]; v++) {
      invrg_mc_counts c;
      int8_t *got = wolff_chain(lx, ly, ways[v], &c, &decided);
      if (ref != NULL && got != NULL)
        CHECK(memcmp(ref, got, (size_t)(lx * ly)) == 0 && c_ref.clusters == c.clusters &&
                  c_ref.spins_flipped == c.spins_flipped,
              "%lld x %lld, %s: the reference's lattice and counts (%lld clusters, %lld flips)",
              (long long)lx, (long long)ly, names[v], (long long)c.clusters,
              (long long)c.spins_flipped);
      if (ways[v] == INVRG_WOLFF_GROW_AUTO)
        CHECK(decided, "%lld x %lld: the growth trial decided within the chain", (long long)lx,
              (long long)ly);
      free(got);
    }
    free(ref);
  }
}

/* ARS is for multispin sweeps: Wolff, Swendsen–Wang and the int8 checkerboard refuse an ARS
 * chain as an input error rather than draw Philox for it silently. */
static void test_philox_only(void) {
  enum { L = 8 };
  invrg_lattice *lat = NULL;
  invrg_wolff *w = NULL;
  invrg_sw *sw = NULL;
  const invrg_mc_chain ars = {.K = INVRG_K_CRITICAL, .seed = 1, .chain = 0,
                              .generator = INVRG_RNG_ARS};
  const bool made = invrg_lattice_create_replicated(L, L, 1, &lat) == INVRG_SUCCESS &&
                    invrg_wolff_create(L, L, &w) == INVRG_SUCCESS &&
                    invrg_sw_create(lat, &sw) == INVRG_SUCCESS;
  CHECK(made, "an 8 x 8 lattice and its Wolff and Swendsen-Wang workspaces");
  if (made) {
    invrg_rng_stream init;
    invrg_rng_stream_init(&init, 1, INVRG_RNG_INIT, 0, 0);
    invrg_lattice_fill_random(lat, &init);
    CHECK(invrg_mc_wolff_thermalize(lat, &ars, 2, w, NULL) == INVRG_ERR_INPUT,
          "Wolff thermalisation refuses an ARS chain");
    CHECK(invrg_mc_wolff_sweeps(lat, &ars, 1, w, NULL) == INVRG_ERR_INPUT,
          "Wolff sweeps refuse an ARS chain");
    CHECK(invrg_mc_sw_sweep(lat, &ars, 0, sw, NULL) == INVRG_ERR_INPUT,
          "Swendsen-Wang refuses an ARS chain");
    CHECK(invrg_mc_checkerboard_sweep(lat, &ars, 0, false, NULL) == INVRG_ERR_INPUT,
          "the int8 checkerboard refuses an ARS chain");
    invrg_error_clear();
  }
  invrg_sw_destroy(&sw);
  invrg_wolff_destroy(&w);
  invrg_lattice_destroy(&lat);
}

static const mpi_test_case cases[] = {
    {"philox_only", test_philox_only, true},
    {"wolff", test_wolff, true},
    {"swendsen_wang", test_swendsen_wang, true},
    {"wolff_growths", test_wolff_growths, true},
};

int main(int argc, char **argv) { return MPI_TEST_MAIN(argc, argv, cases); }
