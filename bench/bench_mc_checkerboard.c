/*
 * Checkerboard Metropolis and heat-bath sweeps of an L × L lattice at K_c:
 * spin updates per second, the median of several timed runs (the slowest rank
 * of each). With one rank, the lattice on that rank; with more, alternately
 * the lattice alone on rank 0 (the others wait) and split over all ranks as
 * one group (automatic grid), and the speed-up of the second over the first.
 * Sweeps pass counts, as the mc stage does. Informational, not a test.
 *
 *     mpiexec -n 2 bench_mc_checkerboard [L=1024] [runs=5] [seconds per run=0.5]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/config.h"
#include "invrg/exact.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mc_update.h"
#include "invrg/rng.h"

enum { MAX_RUNS = 64 };

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Seconds for @p sweeps sweeps on the slowest rank of @p comm. */
static invrg_err time_sweeps(invrg_lattice *lat, MPI_Comm comm, bool heatbath, uint64_t *step,
                             int sweeps, double *seconds) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_mc_chain chain = {.K = INVRG_K_CRITICAL, .seed = 1, .chain = 0};
  invrg_mc_counts counts = {0};
  INVRG_MPI_CALL(MPI_Barrier(comm));
  const double t0 = MPI_Wtime();
  for (int k = 0; k < sweeps; k++)
    INVRG_CALL(invrg_mc_checkerboard_sweep(lat, &chain, (*step)++, heatbath, &counts));
  const double local = MPI_Wtime() - t0;
  INVRG_MPI_CALL(MPI_Allreduce(&local, seconds, 1, MPI_DOUBLE, MPI_MAX, comm));
cleanup:
  return err;
}

/* Median, min and max of x[0..n) (sorts x). */
static void summary(double *x, int n, double out[3]) {
  qsort(x, (size_t)n, sizeof x[0], cmp_double);
  out[0] = n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
  out[1] = x[0];
  out[2] = x[n - 1];
}

static void print_rate(const char *alg, int L, int ranks, int px, int py, const double rate[3]) {
  printf("bench_mc_checkerboard: %-10s %d^2, %d rank%s (grid %d x %d): %.3g spin updates/s, "
         "%.3g per rank, %.2f ns per update per rank (median; runs %.3g .. %.3g)\n",
         alg, L, ranks, ranks > 1 ? "s" : " ", px, py, rate[0], rate[0] / ranks,
         1e9 * ranks / rate[0], rate[1], rate[2]);
}

/*
 * Sweeps per run so that one run of @p lat lasts about @p target seconds (and
 * warms it up). Collective on @p comm.
 */
static invrg_err calibrate(invrg_lattice *lat, MPI_Comm comm, bool heatbath, uint64_t *step,
                           double target, int *sweeps) {
  invrg_err err = INVRG_SUCCESS;
  double t = 0;
  INVRG_CALL(time_sweeps(lat, comm, heatbath, step, 3, &t));
  *sweeps = (int)(target / (t / 3)) + 1;
cleanup:
  return err;
}

/*
 * The lattice alone on rank 0 and, with more ranks, split over all of them,
 * in alternating runs (so both see the same load from other jobs on the
 * machine); the speed-up is the median of the per-pair ratios.
 */
static invrg_err bench_algorithm(int L, bool heatbath, int runs, double target) {
  invrg_err err = INVRG_SUCCESS;
  invrg_lattice *alone = NULL, *split = NULL;
  invrg_groups *g = NULL;
  invrg_config cfg;
  invrg_config_defaults(&cfg);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const char *alg = heatbath ? "heat bath" : "metropolis";
  const double sites = (double)L * L;
  invrg_rng_stream init;
  invrg_rng_stream_init(&init, 1, INVRG_RNG_INIT, 0, 0);
  uint64_t step_alone = 0, step_split = 0;
  int sweeps_alone = 0, sweeps_split = 0;
  double one[MAX_RUNS], all[MAX_RUNS], ratio[MAX_RUNS];

  if (rank == 0) {
    INVRG_CALL(invrg_lattice_create_replicated(L, L, 1, &alone));
    invrg_lattice_fill_random(alone, &init);
    INVRG_CALL(calibrate(alone, MPI_COMM_SELF, heatbath, &step_alone, target, &sweeps_alone));
  }
  if (size > 1) {
    cfg.parallel.ranks_per_group = size;
    INVRG_CALL(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
    INVRG_CALL(invrg_lattice_create_distributed(g, L, L, 1, &split));
    invrg_lattice_fill_random(split, &init);
    INVRG_CALL(calibrate(split, g->cart, heatbath, &step_split, target, &sweeps_split));
  }
  for (int r = 0; r < runs; r++) {
    double t = 0;
    if (rank == 0) {
      INVRG_CALL(time_sweeps(alone, MPI_COMM_SELF, heatbath, &step_alone, sweeps_alone, &t));
      one[r] = sites * sweeps_alone / t;
    }
    INVRG_MPI_CALL(MPI_Barrier(MPI_COMM_WORLD)); /* the others wait while rank 0 runs alone */
    if (size > 1) {
      INVRG_CALL(time_sweeps(split, g->cart, heatbath, &step_split, sweeps_split, &t));
      all[r] = sites * sweeps_split / t;
      if (rank == 0) ratio[r] = all[r] / one[r];
    }
  }
  if (rank == 0) {
    double s[3];
    summary(one, runs, s);
    print_rate(alg, L, 1, 1, 1, s);
    if (size > 1) {
      summary(all, runs, s);
      print_rate(alg, L, size, g->px, g->py, s);
      summary(ratio, runs, s);
      printf("bench_mc_checkerboard: %-10s %d^2, speed-up %d ranks / 1 rank: %.2f "
             "(median of %d alternating pairs; %.2f .. %.2f)\n",
             alg, L, size, s[0], runs, s[1], s[2]);
    }
  }
cleanup:
  invrg_lattice_destroy(&split);
  invrg_lattice_destroy(&alone);
  invrg_groups_destroy(&g);
  invrg_config_free(&cfg);
  return err;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  invrg_log_init(rank);
  invrg_log_set_level(INVRG_LOG_DEBUG); /* says which kernel runs */
  const int L = argc > 1 ? atoi(argv[1]) : 1024;
  int runs = argc > 2 ? atoi(argv[2]) : 5;
  const double target = argc > 3 ? atof(argv[3]) : 0.5;
  if (runs < 1) runs = 1;
  if (runs > MAX_RUNS) runs = MAX_RUNS;

  invrg_err err = INVRG_SUCCESS;
  for (int hb = 0; hb < 2 && err == INVRG_SUCCESS; hb++)
    err = bench_algorithm(L, hb == 1, runs, target);
  if (err != INVRG_SUCCESS) invrg_error_print_local(rank);
  MPI_Finalize();
  return (int)err;
}
