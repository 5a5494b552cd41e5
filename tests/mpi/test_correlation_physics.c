/*
 * Correlations and finite-size scaling on Monte Carlo at K_c (Wolff, one rank
 * per chain, chains spread over the ranks), L = 16 … 64:
 * - E/N and C/N at every size against the exact torus;
 * - ξ₂/L = a + b/L fitted over all sizes: a against 0.9050488 (Salas & Sokal);
 * - γ/ν from ln χ = a + b ln L against 7/4;
 * - both fits' χ²/dof below the 99.9 % quantile of their χ² distribution;
 *   the twelve comparisons with one family-wise threshold (ALPHA below);
 * - G_axis(1) = −(E/N)/2 of the same ensemble, to rounding;
 * - the functions with the FFT in single precision (the same configurations): G_axis, G_diag and
 *   S_radial within the float rounding bound of the double ones (see max_shift()) and below 1 %
 *   of their statistical errors (the largest ratio is printed).
 * Errors from the jackknife over 20 blocks of samples per size (5 per chain),
 * the same block numbers at every size. The other fits and the L_min scans are
 * printed, not tested (too few sizes and samples for 1/ν, β/ν, C and V4 here).
 *   test_correlation_physics [samples per chain [seed]]   (default 20000, 2025)
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "family_wise.h"
#include "invrg/config.h"
#include "invrg/correlation.h"
#include "invrg/exact.h"
#include "invrg/fss.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mc_update.h"
#include "invrg/mcrg.h"
#include "invrg/observables.h"

#include "mpi/mpi_test.h"

/* All the statistical comparisons of this test share one family-wise threshold: a correct code
 * fails one of them with probability ALPHA in all. */
#define ALPHA FAMILY_WISE_ALPHA
enum { N_COMPARISONS = 12 }; /* E/N and C/N at 5 sizes, xi2/L(inf), gamma/nu */

static void expect_within(const char *what, double value, double error, double exact) {
  const double z = (value - exact) / error, limit = family_wise_z(ALPHA, N_COMPARISONS);
  CHECK(fabs(z) <= limit && error > 0 && isfinite(z),
        "%-32s %.6f +- %.6f  exact %.7f  (%+.2f sigma; limit %.2f)", what, value, error, exact, z,
        limit);
}

/* A fit's chi^2/dof below the 99.9 % quantile of chi^2_k / k (Wilson-Hilferty, k = dof). */
static void expect_fit_quality(const char *what, const invrg_fss_fit *fit) {
  const double k = fit->n_points - 2, zq = 3.0902; /* the normal 99.9 % quantile */
  const double q = pow(1 - 2 / (9 * k) + zq * sqrt(2 / (9 * k)), 3);
  CHECK(k >= 1 && isfinite(fit->chi2_dof) && fit->chi2_dof <= q,
        "%-32s chi2/dof %.2f (dof %.0f, 99.9 %% quantile %.2f)", what, fit->chi2_dof, k, q);
}

enum { N_CHAINS = 4, BLOCKS_PER_CHAIN = 5, N_BLOCKS = N_CHAINS * BLOCKS_PER_CHAIN };
static const int64_t sizes[] = {16, 24, 32, 48, 64};
enum { N_SIZES = (int)(sizeof sizes / sizeof sizes[0]) };

/*
 * The chains of size L owned by this group: every sample to the correlation
 * accumulator, and the primaries summed per jackknife block into
 * sums[block][INVRG_N_PRIMARY] and counts[block] (zero for other groups' blocks).
 */
static void run_size(const invrg_groups *g, int64_t L, int n_samples, uint64_t seed,
                     invrg_corr *corr, invrg_corr *corr_single, double *sums, double *counts) {
  invrg_lattice *lat = NULL;
  invrg_wolff *w = NULL;
  OK(invrg_lattice_create_replicated(L, L, 1, &lat));
  OK(invrg_wolff_create(L, L, &w));
  const int64_t total = (int64_t)N_CHAINS * n_samples;
  for (int64_t k = 0; k < invrg_groups_item_count(g, N_CHAINS); k++) {
    const int64_t c = invrg_groups_item(g, k);
    const invrg_mc_chain chain = {INVRG_K_CRITICAL, seed, (uint64_t)(L * 100 + c), INVRG_RNG_MC, INVRG_RNG_PHILOX};
    invrg_rng_stream init;
    invrg_rng_stream_init(&init, chain.seed, INVRG_RNG_INIT, chain.chain, 0);
    invrg_lattice_fill_random(lat, &init);
    invrg_wolff_reset(w);
    invrg_mc_counts counts_mc = {0};
    OK(invrg_mc_wolff_thermalize(lat, &chain, 200, w, &counts_mc));
    for (int s = 0; s < n_samples; s++) {
      OK(invrg_mc_wolff_sweeps(lat, &chain, 1, w, &counts_mc));
      const int b = invrg_mcrg_block_of(c * n_samples + s, total, N_BLOCKS);
      OK(invrg_corr_add_configuration(corr, lat, b));
      OK(invrg_corr_add_configuration(corr_single, lat, b));
      invrg_config_sums cs;
      double p[INVRG_N_PRIMARY];
      OK(invrg_observables_sums(lat, &cs));
      invrg_observables_primaries(&cs, p);
      for (int q = 0; q < INVRG_N_PRIMARY; q++) sums[b * INVRG_N_PRIMARY + q] += p[q];
      counts[b] += 1;
    }
  }
  invrg_wolff_destroy(&w);
  invrg_lattice_destroy(&lat);
}

/*
 * The largest difference the float FFT may make to a mean of G (scale 1) or of S (scale N)
 * over configurations of N spins: ‖Δŝ‖ ≤ γ‖ŝ‖, γ = 7ε·log₂N, ε = 2^−24 (Higham, §24.1), so
 * Σ_k |ΔS(k)| ≤ (2γ + γ²)·N per configuration (test_correlation.c derives it).
 */
static double max_shift(double N, double scale) {
  const double g = 7 * 0x1p-24 * log2(N);
  return (2 * g + g * g) * scale;
}

/* Single against double, every function value of every size; the largest |Δ|/σ (σ: the
 * double's jackknife error) printed. */
static void check_single(const invrg_corr_results *d, const invrg_corr_results *s) {
  double worst = 0;
  for (int i = 0; i < N_SIZES; i++) {
    const invrg_corr_size *a = invrg_corr_find(d, sizes[i]), *b = invrg_corr_find(s, sizes[i]);
    const double N = (double)(sizes[i] * sizes[i]);
    int bad = 0;
    const struct {
      const double *x, *y, *err;
      int n;
      double scale;
    } parts[3] = {{a->G_axis, b->G_axis, a->G_axis_err, a->n_r, 1},
                  {a->G_diag, b->G_diag, a->G_diag_err, a->n_r, 1},
                  {a->S_radial, b->S_radial, a->S_radial_err, a->n_shells, N}};
    for (int p = 0; p < 3; p++)
      for (int k = 0; k < parts[p].n; k++) {
        const double shift = fabs(parts[p].x[k] - parts[p].y[k]);
        bad += shift > max_shift(N, parts[p].scale) + 1e-12 * fabs(parts[p].x[k]);
        const bool fixed = p < 2 && k == 0; /* G(0) = <s²> = 1: no statistical error */
        if (!fixed) worst = fmax(worst, shift / parts[p].err[k]);
      }
    CHECK(bad == 0, "L=%-3lld %d single-precision values beyond the rounding bound",
          (long long)sizes[i], bad);
  }
  CHECK(worst < 0.01, "single precision moves a function by %.2g of its error", worst);
  if (world_rank == 0)
    printf("      single precision: the functions within %.1e of their statistical errors\n",
           worst);
}

/* The run's size (command line). */
static struct {
  int n_samples;
  uint64_t seed;
} args = {20000, 2025};

static void test_fss(void) {
  const int n_samples = args.n_samples;
  const uint64_t seed = args.seed;
  invrg_config cfg;
  invrg_config_defaults(&cfg);
  cfg.parallel.ranks_per_group = 1; /* Wolff: a chain per rank */
  invrg_groups *g = NULL;
  OK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
  const double t0 = MPI_Wtime();

  /* functions too: G_axis(1) below; ξ₂ comes from the cheap path either way */
  invrg_corr_params cp = {.n_blocks = N_BLOCKS, .map_max_L = 0, .functions = true};
  invrg_corr_params cp_single = cp;
  cp_single.precision = INVRG_CORR_SINGLE;
  invrg_corr *corr = NULL, *corr_single = NULL;
  OK(invrg_corr_create(&cp, g, &corr));
  OK(invrg_corr_create(&cp_single, g, &corr_single));
  invrg_fss_data *data = NULL;
  OK(invrg_fss_data_create(N_BLOCKS, &data));
  double energy[N_SIZES];
  for (int i = 0; i < N_SIZES; i++) {
    double sums[N_BLOCKS * INVRG_N_PRIMARY] = {0}, counts[N_BLOCKS] = {0};
    run_size(g, sizes[i], n_samples, seed, corr, corr_single, sums, counts);
    /* each block comes from one chain, hence one rank: the world sum is exact */
    MPI_Allreduce(MPI_IN_PLACE, sums, N_BLOCKS * INVRG_N_PRIMARY, MPI_DOUBLE, MPI_SUM,
                  MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, counts, N_BLOCKS, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    int64_t block_sizes[N_BLOCKS];
    double e = 0;
    for (int b = 0; b < N_BLOCKS; b++) {
      block_sizes[b] = (int64_t)counts[b];
      e += sums[b * INVRG_N_PRIMARY + INVRG_PRIMARY_E];
      for (int q = 0; q < INVRG_N_PRIMARY; q++) sums[b * INVRG_N_PRIMARY + q] /= counts[b];
    }
    energy[i] = e / ((double)N_CHAINS * n_samples);
    OK(invrg_fss_set_primaries(data, sizes[i], sums, block_sizes, INVRG_K_CRITICAL));
    /* E/N and C/N against the exact torus, with the jackknife errors over the blocks */
    invrg_summary summary;
    invrg_summary_from_blocks(sums, block_sizes, N_BLOCKS, (double)(sizes[i] * sizes[i]),
                              INVRG_K_CRITICAL, &summary);
    invrg_exact_thermo exact;
    invrg_exact_torus((int)sizes[i], INVRG_K_CRITICAL, &exact);
    char what[32];
    snprintf(what, sizeof what, "E/N at L = %lld", (long long)sizes[i]);
    expect_within(what, summary.value[INVRG_OBS_ENERGY], summary.error[INVRG_OBS_ENERGY],
                  exact.energy);
    snprintf(what, sizeof what, "C/N at L = %lld", (long long)sizes[i]);
    expect_within(what, summary.value[INVRG_OBS_SPECIFIC_HEAT],
                  summary.error[INVRG_OBS_SPECIFIC_HEAT], exact.specific_heat);
  }
  OK(invrg_corr_reduce(corr));
  OK(invrg_corr_reduce(corr_single));
  invrg_corr_results *cr = NULL, *cr_single = NULL;
  OK(invrg_corr_analyze(corr, &cr));
  OK(invrg_corr_analyze(corr_single, &cr_single));
  invrg_corr_log(cr, "mc");
  check_single(cr, cr_single);
  for (int i = 0; i < N_SIZES; i++) {
    const invrg_corr_size *z = invrg_corr_find(cr, sizes[i]);
    OK(invrg_fss_set(data, sizes[i], INVRG_FSS_XI_OVER_L, z->xi2_over_L, z->xi2_over_L_jackknife));
    CHECK(fabs(z->G_axis[1] + energy[i] / 2) <= 1e-12, "L=%-3lld G_axis(1) %.15f, -(E/N)/2 %.15f",
          (long long)sizes[i], z->G_axis[1], -energy[i] / 2);
  }
  invrg_fss_results *fr = NULL;
  invrg_fss_params fp = {0, 0};
  OK(invrg_fss_analyze(data, &fp, &fr));
  invrg_fss_log(fr, "mc");
  const invrg_fss_fit *xi = invrg_fss_find(fr, INVRG_FSS_XI_OVER_L);
  const invrg_fss_fit *chi = invrg_fss_find(fr, INVRG_FSS_CHI);
  const invrg_corr_size *largest = invrg_corr_find(cr, sizes[N_SIZES - 1]);
  if (world_rank == 0)
    printf("      xi2/L at L = %lld: %.5f +- %.5f (%+.2f sigma from %.7f, no correction)\n",
           (long long)largest->L, largest->xi2_over_L, largest->xi2_over_L_err,
           (largest->xi2_over_L - INVRG_XI2_OVER_L_CRITICAL) / largest->xi2_over_L_err,
           INVRG_XI2_OVER_L_CRITICAL);
  expect_within("xi2/L(inf), a + b/L over 16..64", xi->result, xi->result_err,
                INVRG_XI2_OVER_L_CRITICAL);
  expect_within("gamma/nu, ln chi over 16..64", chi->result, chi->result_err, 1.75);
  expect_fit_quality("xi2/L = a + b/L", xi);
  expect_fit_quality("ln chi = a + b ln L", chi);
  if (world_rank == 0)
    printf("%d x %d samples per size, %.1f s\n", N_CHAINS, n_samples, MPI_Wtime() - t0);

  invrg_fss_results_destroy(&fr);
  invrg_fss_data_destroy(&data);
  invrg_corr_results_destroy(&cr);
  invrg_corr_results_destroy(&cr_single);
  invrg_corr_destroy(&corr);
  invrg_corr_destroy(&corr_single);
  invrg_groups_destroy(&g);
}

static const mpi_test_case cases[] = {{"fss", test_fss, true}};

int main(int argc, char **argv) {
  if (argc > 1) args.n_samples = atoi(argv[1]);
  if (argc > 2) args.seed = (uint64_t)atoll(argv[2]);
  return MPI_TEST_MAIN(1, argv, cases); /* the arguments are sizes, not names of cases */
}
