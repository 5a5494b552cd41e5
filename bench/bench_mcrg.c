/* Benchmark of MCRG measurements (informational, not a test): on one rank,
 * an L × L critical configuration (Wolff), timed per configuration:
 *   - a Wolff sweep, the reference: the time of N flipped spins (and what
 *     invrg_mc_wolff_sweeps with 1 sweep actually flips);
 *   - the lattice sums of each operator set: ns per site per operator
 *     (an operator of several terms counts once) and per term;
 *   - one majority-rule blocking, ns per fine site;
 *   - invrg_mcrg_add_configuration with all levels (copy, blockings, sums of
 *     every level, exact accumulation), in Wolff sweeps.
 * Prints medians of 7 repetitions.
 *   bench_mcrg [L [levels]]      (default 256, 6)
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "invrg/blockspin.h"
#include "invrg/config.h"
#include "invrg/exact.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/mc_update.h"
#include "invrg/mcrg.h"

enum { REPS = 7 };

/* The median of the REPS timings in @p t. */
static double median(double *t) { return bench_median(t, REPS); }

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const int64_t L = argc > 1 ? atoll(argv[1]) : 256;
  const int levels = argc > 2 ? atoi(argv[2]) : 6;
  const double N = (double)(L * L);
  invrg_config cfg;
  invrg_config_defaults(&cfg);
  cfg.parallel.ranks_per_group = 1;
  invrg_groups *g = NULL;
  CHECK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));

  invrg_lattice *lat = NULL, *copy = NULL, *coarse = NULL;
  CHECK(invrg_lattice_create_replicated(L, L, 1, &lat));
  CHECK(invrg_lattice_create_replicated(L, L, INVRG_MCRG_HALO, &copy));
  invrg_rng_stream init;
  invrg_rng_stream_init(&init, 1, INVRG_RNG_INIT, 0, 0);
  invrg_lattice_fill_random(lat, &init);
  invrg_mc_chain chain = {INVRG_K_CRITICAL, 1, 0, INVRG_RNG_MC, INVRG_RNG_PHILOX};
  invrg_wolff *w = NULL;
  invrg_mc_counts counts = {0};
  CHECK(invrg_wolff_create(L, L, &w));
  CHECK(invrg_mc_wolff_thermalize(lat, &chain, 100, w, &counts));

  /* A sweep = N flipped spins: time per N flips measured over 20 sweeps' worth of clusters. */
  double t[REPS], flips_per_sweep[REPS];
  const int sweeps = 20;
  for (int r = 0; r < REPS; r++) {
    invrg_mc_counts c = {0};
    double t0 = MPI_Wtime();
    CHECK(invrg_mc_wolff_sweeps(lat, &chain, sweeps, w, &c));
    double dt = MPI_Wtime() - t0;
    flips_per_sweep[r] = (double)c.spins_flipped / sweeps / N;
    t[r] = dt / ((double)c.spins_flipped / N);
  }
  const double t_wolff = median(t);
  printf(
      "L = %lld: Wolff at K_c %.3f ms per N flipped spins (%.2f ns per flip); "
      "invrg_mc_wolff_sweeps(1) ran %lld clusters = %.2f N flips\n",
      (long long)L, 1e3 * t_wolff, 1e9 * t_wolff / N, (long long)w->clusters_per_sweep,
      median(flips_per_sweep));

  /* The configuration the measurements see, with the halo they need. */
  for (int j = 0; j < L; j++)
    for (int i = 0; i < L; i++)
      copy->data[invrg_lattice_index(copy, i, j)] = lat->data[invrg_lattice_index(lat, i, j)];
  CHECK(invrg_lattice_halo_exchange(copy));

  const char *sets[2] = {"swendsen", "paper36"};
  for (int k = 0; k < 2; k++) {
    invrg_operator_set *set = NULL;
    CHECK(invrg_operator_set_create(sets[k], &set));
    int terms = 0;
    for (int a = 0; a < set->n; a++) terms += set->op[a].n_terms;
    int64_t sums[64];
    const int reps = 20;
    for (int r = 0; r < REPS; r++) {
      double t0 = MPI_Wtime();
      for (int q = 0; q < reps; q++) CHECK(invrg_operators_evaluate(set->op, set->n, copy, sums));
      t[r] = (MPI_Wtime() - t0) / reps;
    }
    const double te = median(t);
    printf(
        "%-9s %2d operators (%2d terms): %.3f ms = %.3f ns/site/operator, %.3f ns/site/term, "
        "%.2f Wolff sweeps\n",
        sets[k], set->n, terms, 1e3 * te, 1e9 * te / N / set->n, 1e9 * te / N / terms,
        te / t_wolff);
    invrg_operator_set_destroy(&set);
  }

  CHECK(invrg_blockspin_create_coarse(copy, g, INVRG_MCRG_HALO, &coarse));
  const invrg_blockspin_ties key = {INVRG_TIE_RANDOM, 1, 0, 1};
  for (int r = 0; r < REPS; r++) {
    double t0 = MPI_Wtime();
    for (int q = 0; q < 20; q++) CHECK(invrg_blockspin_apply(copy, &key, coarse, NULL));
    t[r] = (MPI_Wtime() - t0) / 20;
  }
  const double tb = median(t);
  printf("majority rule (random ties): %.3f ms = %.3f ns per fine site\n", 1e3 * tb, 1e9 * tb / N);

  for (int k = 0; k < 3; k++) {
    invrg_mcrg_params p = {.n_sets = k == 2 ? 2 : 1,
                           .sets = {k == 1 ? "paper36" : "swendsen", "paper36"},
                           .n_levels = levels,
                           .n_blocks = 20,
                           .tie_rule = INVRG_TIE_RANDOM,
                           .seed = 1};
    invrg_mcrg *m = NULL;
    CHECK(invrg_mcrg_create(&p, g, &m));
    uint64_t sample = 0;
    for (int r = 0; r < REPS; r++) {
      double t0 = MPI_Wtime();
      for (int q = 0; q < 10; q++) CHECK(invrg_mcrg_add_configuration(m, lat, 0, sample++, 0));
      t[r] = (MPI_Wtime() - t0) / 10;
    }
    const double ta = median(t);
    printf("add_configuration %-17s %d levels: %.3f ms = %.2f Wolff sweeps\n",
           k == 2   ? "swendsen+paper36,"
           : k == 1 ? "paper36,"
                    : "swendsen,",
           levels, 1e3 * ta, ta / t_wolff);
    invrg_mcrg_destroy(&m);
  }

  invrg_lattice_destroy(&coarse);
  invrg_lattice_destroy(&copy);
  invrg_lattice_destroy(&lat);
  invrg_wolff_destroy(&w);
  invrg_groups_destroy(&g);
  MPI_Finalize();
  return 0;
}
