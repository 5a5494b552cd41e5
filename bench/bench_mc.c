/* Benchmark of the cluster updates (informational, not a test):
 *   bench_mc wolff L sweeps        flipped spins per second (one rank per chain)
 *   bench_mc sw L sweeps           spin updates per second per rank, on all ranks of the world
 * Prints the median over 5 repetitions. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "invrg/config.h"
#include "invrg/exact.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/mc_update.h"


int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc != 4) {
    if (rank == 0) fprintf(stderr, "usage: bench_mc wolff|sw L sweeps\n");
    MPI_Finalize();
    return 2;
  }
  bool wolff = strcmp(argv[1], "wolff") == 0;
  int64_t L = atoll(argv[2]), sweeps = atoll(argv[3]);
  invrg_config cfg;
  invrg_config_defaults(&cfg);
  cfg.parallel.ranks_per_group = wolff ? 1 : size;
  invrg_groups *g = NULL;
  invrg_lattice *lat = NULL;
  if (invrg_groups_create(MPI_COMM_WORLD, &cfg, &g)) MPI_Abort(MPI_COMM_WORLD, 1);
  if (wolff || size == 1)
    invrg_lattice_create_replicated(L, L, 1, &lat);
  else
    invrg_lattice_create_distributed(g, L, L, 1, &lat);
  invrg_rng_stream init;
  invrg_rng_stream_init(&init, 1, INVRG_RNG_INIT, (uint64_t)rank, 0);
  invrg_lattice_fill_random(lat, &init);
  invrg_mc_chain chain = {INVRG_K_CRITICAL, 1, (uint64_t)rank, INVRG_RNG_MC, INVRG_RNG_PHILOX};
  invrg_wolff *w = NULL;
  invrg_sw *sw = NULL;
  invrg_mc_counts counts = {0};
  if (wolff) {
    invrg_wolff_create(L, L, &w);
    invrg_mc_wolff_thermalize(lat, &chain, 50, w, &counts);
  } else {
    invrg_sw_create(lat, &sw);
    for (uint64_t t = 0; t < 20; t++) invrg_mc_sw_sweep(lat, &chain, t, sw, &counts);
  }
  enum { REPS = 5 };
  double rate[REPS];
  uint64_t step = 1000;
  for (int r = 0; r < REPS; r++) {
    memset(&counts, 0, sizeof counts);
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (wolff)
      invrg_mc_wolff_sweeps(lat, &chain, sweeps, w, &counts);
    else
      for (int64_t t = 0; t < sweeps; t++) invrg_mc_sw_sweep(lat, &chain, step++, sw, &counts);
    double dt = MPI_Wtime() - t0, slowest;
    MPI_Allreduce(&dt, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    /* Wolff: flipped spins per second on this rank; SW: spin updates per second per rank. */
    rate[r] = wolff ? (double)counts.spins_flipped / dt : (double)(sweeps * L * L) / slowest / size;
  }
  double median = bench_median(rate, REPS), total = 0;
  MPI_Reduce(&median, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("%-6s L=%-5lld ranks=%d  %.3g %s per rank (median of %d), %.3g in all", argv[1],
           (long long)L, size, total / size, wolff ? "flipped spins/s" : "spin updates/s", REPS,
           total);
    if (wolff) { /* the way the timed trial chose to grow clusters on this CPU (mc_update.h) */
      const invrg_wolff_growth way = invrg_wolff_growth_of(w);
      printf("; clusters grow %s", way == INVRG_WOLFF_GROW_ONE    ? "one test after another"
                                   : way == INVRG_WOLFF_GROW_FOUR ? "four tests at once"
                                                                  : "(trial undecided)");
    }
    printf("\n");
  }
  invrg_wolff_destroy(&w);
  invrg_sw_destroy(&sw);
  invrg_lattice_destroy(&lat);
  invrg_groups_destroy(&g);
  MPI_Finalize();
  return 0;
}
