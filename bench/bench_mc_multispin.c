/*
 * Multispin checkerboard sweeps (packed lattice, 64 spins a word, exact acceptance) with
 * Philox and with ARS random numbers (&mc generator), against today's int8 checkerboard,
 * Metropolis and heat bath at K_c: spin updates per second on one core, for every kernel level
 * this CPU runs (INVRG_SIMD set for each in turn), at each size asked. The three codes run
 * alternately, so all see the same load from other work on the machine; a figure is the
 * median of the runs, a ratio the median of the per-run ratios. First, per level, the two
 * generators alone: ns per random block.
 * Informational, not a test. Run on one rank:
 *
 *     bench_mc_multispin [runs=5] [seconds per run=0.3] [L ...]     (L default: 256 1024 4096)
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "invrg/exact.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mc_update.h"
#include "invrg/multispin.h"
#include "invrg/packed.h"
#include "invrg/rng.h"
#include "invrg/simd.h"

enum { MAX_RUNS = BENCH_MAX_RUNS };

/* The codes compared: multispin with Philox, multispin with ARS, int8 checkerboard. */
enum { PHILOX, ARS, INT8, CODES };

/* The two lattices of one size and the codes' step counters. */
typedef struct {
  invrg_packed *packed;
  invrg_lattice *int8;
  uint64_t step[CODES];
} subjects;

/* Seconds for @p sweeps sweeps of code @p which. */
static double time_sweeps(subjects *s, int which, bool heatbath, int sweeps) {
  const invrg_mc_chain chain = {.K = INVRG_K_CRITICAL, .seed = 1, .chain = 0,
                                .generator = which == ARS ? INVRG_RNG_ARS : INVRG_RNG_PHILOX};
  invrg_mc_counts counts = {0}; /* as the mc stage does */
  const double t0 = MPI_Wtime();
  for (int k = 0; k < sweeps; k++) {
    const uint64_t step = s->step[which]++;
    if (which != INT8)
      CHECK(invrg_multispin_sweep(s->packed, &chain, step, heatbath, &counts));
    else
      CHECK(invrg_mc_checkerboard_sweep(s->int8, &chain, step, heatbath, &counts));
  }
  return MPI_Wtime() - t0;
}

/* Sweeps per run of about @p target seconds (and a warm-up). */
static int calibrate(subjects *s, int which, bool heatbath, double target) {
  int n = 1;
  double t = time_sweeps(s, which, heatbath, n);
  while (t < 0.02) {
    n *= 4;
    t = time_sweeps(s, which, heatbath, n);
  }
  return (int)(target / (t / n)) + 1;
}

/* One size, one algorithm, at the active kernel level. */
static void bench_case(subjects *s, int64_t L, bool heatbath, int runs, double target) {
  const double sites = (double)L * (double)L;
  double rate[CODES][MAX_RUNS], to_int8[MAX_RUNS], ars_to_philox[MAX_RUNS];
  int sweeps[CODES];
  for (int w = 0; w < CODES; w++) sweeps[w] = calibrate(s, w, heatbath, target);
  for (int r = 0; r < runs; r++) {
    for (int w = 0; w < CODES; w++)
      rate[w][r] = sites * sweeps[w] / time_sweeps(s, w, heatbath, sweeps[w]);
    to_int8[r] = rate[PHILOX][r] / rate[INT8][r];
    ars_to_philox[r] = rate[ARS][r] / rate[PHILOX][r];
  }
  const double ms = bench_median(rate[PHILOX], runs), ars = bench_median(rate[ARS], runs),
               cb = bench_median(rate[INT8], runs);
  const invrg_simd_level level = invrg_simd_active();
  printf("bench_mc_multispin: %-10s %5lld^2 %-7s multispin %.3g spin updates/s (%.3f ns), "
         "int8 checkerboard %.3g (%.3f ns): ratio %.2f; multispin with ARS (%s) %.3g (%.3f ns): "
         "%.2f times Philox's (medians of %d; multispin %.3g .. %.3g, ARS %.3g .. %.3g)\n", /* sorted */
         heatbath ? "heat bath" : "metropolis", (long long)L, invrg_multispin_kernel(), ms,
         1e9 / ms, cb, 1e9 / cb, bench_median(to_int8, runs), invrg_simd_ars_way(level), ars,
         1e9 / ars, bench_median(ars_to_philox, runs), runs, rate[PHILOX][0],
         rate[PHILOX][runs - 1], rate[ARS][0], rate[ARS][runs - 1]);
  fflush(stdout);
}

/* ns per random block of each generator at the active level: 1024 blocks a call, as the sweeps
 * draw them (the median of @p runs runs of about @p target / 4 seconds each). */
static void bench_blocks(int runs, double target) {
  enum { N = 1024 };
  static uint32_t out[4 * N];
  double ns[2][MAX_RUNS];
  for (int g = 0; g < 2; g++) {
    invrg_rng_stream s;
    invrg_rng_stream_init(&s, 1, INVRG_RNG_MC, 0, 0);
    invrg_rng_stream_use(&s, (invrg_rng_generator)g);
    int calls = 1;
    for (;; calls *= 2) {
      const double t0 = MPI_Wtime();
      for (int c = 0; c < calls; c++) invrg_rng_blocks_range(&s, (uint64_t)c * N, N, 0, out, N);
      if (MPI_Wtime() - t0 >= 0.01) break;
    }
    calls = (int)(calls * target / 4 / 0.01) + 1;
    for (int r = 0; r < runs; r++) {
      const double t0 = MPI_Wtime();
      for (int c = 0; c < calls; c++) invrg_rng_blocks_range(&s, (uint64_t)c * N, N, 0, out, N);
      ns[g][r] = (MPI_Wtime() - t0) / calls / N * 1e9;
    }
  }
  const invrg_simd_level level = invrg_simd_active();
  printf("bench_mc_multispin: random blocks at %-7s Philox4x32-10 %.2f ns, ARS-7 (%s) %.2f ns a "
         "block (medians of %d)\n",
         invrg_simd_name(level), bench_median(ns[0], runs), invrg_simd_ars_way(level),
         bench_median(ns[1], runs), runs);
}

static void bench_size(int64_t L, int runs, double target) {
  subjects s = {0};
  invrg_rng_stream init;
  invrg_rng_stream_init(&init, 1, INVRG_RNG_INIT, 0, 0);
  CHECK(invrg_packed_create(MPI_COMM_SELF, L, L, &s.packed));
  CHECK(invrg_packed_fill_random(s.packed, &init));
  CHECK(invrg_lattice_create_replicated(L, L, 1, &s.int8));
  invrg_lattice_fill_random(s.int8, &init);
  for (int level = 0; level < INVRG_SIMD_LEVELS; level++) {
    if (!invrg_simd_runs((invrg_simd_level)level)) continue;
    setenv("INVRG_SIMD", invrg_simd_name((invrg_simd_level)level), 1);
    invrg_simd_reset();
    for (int hb = 0; hb < 2; hb++) bench_case(&s, L, hb == 1, runs, target);
  }
  invrg_packed_destroy(&s.packed);
  invrg_lattice_destroy(&s.int8);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  invrg_log_init(rank);
  invrg_log_set_level(INVRG_LOG_WARN);
  const bench_args args = bench_parse(argc, argv, 5, 0.3, 3);
  if (size > 1 && rank == 0) printf("bench_mc_multispin: one core; ranks other than 0 wait\n");
  if (rank == 0) {
    for (int level = 0; level < INVRG_SIMD_LEVELS; level++) {
      if (!invrg_simd_runs((invrg_simd_level)level)) continue;
      setenv("INVRG_SIMD", invrg_simd_name((invrg_simd_level)level), 1);
      invrg_simd_reset();
      bench_blocks(args.runs, args.target);
    }
    for (int k = 0; k < args.n_sizes; k++) bench_size(args.sizes[k], args.runs, args.target);
  }
  MPI_Finalize();
  return 0;
}
