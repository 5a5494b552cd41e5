/*
 * The majority rule on packed lattices (invrg/packed_blockspin.h) against invrg_blockspin_apply()
 * on the int8 lattice of the same field: ns per fine site on one core, for every SIMD level
 * this CPU runs (INVRG_SIMD set for each in turn: the blocking kernel, portable or AVX-512, and
 * the batched Philox that draws the tied blocks' coins), at each size asked. The field is
 * critical-like: multispin heat-bath sweeps at K_c from random (its tie fraction is printed).
 * The packed blocking with tie rule random and the int8 one run alternately, so both see the
 * same load from other work on the machine; a figure is the median of the runs, the ratio the
 * median of the per-pair ratios; the rules up and upper_left (no coins) are timed after them.
 * Times are the thread's CPU time, not the wall clock: on a shared machine the time this
 * process waits for a core is not the blocking's cost. Informational, not a test. Run on one
 * rank:
 *
 *     bench_packed_blockspin [runs=7] [seconds per run=0.2] [sweeps=200] [L ...]
 *                                                          (L default: 256 1024 4096)
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"
#include "invrg/blockspin.h"
#include "invrg/exact.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/multispin.h"
#include "invrg/packed.h"
#include "invrg/packed_blockspin.h"
#include "invrg/rng.h"
#include "invrg/simd.h"

enum { MAX_RUNS = BENCH_MAX_RUNS };

/* One size: the fine field both ways and the coarse lattices they block into. */
typedef struct {
  invrg_packed *fine, *coarse;
  invrg_lattice *fine8, *coarse8;
  uint64_t step;
} subjects;

/* CPU seconds of this thread. */
static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU seconds for @p reps blockings by code @p which (0 packed, 1 int8) with tie rule @p rule;
 * a new step each time (fresh coins), as a dream's levels and samples have. */
static double time_blockings(subjects *s, int which, invrg_tie_rule rule, int reps) {
  const double t0 = cpu_seconds();
  for (int k = 0; k < reps; k++) {
    const invrg_blockspin_ties ties = {rule, 1, 0, s->step++};
    int64_t n_ties;
    if (which == 0)
      CHECK(invrg_packed_blockspin_apply(s->fine, &ties, s->coarse, &n_ties));
    else
      CHECK(invrg_blockspin_apply(s->fine8, &ties, s->coarse8, &n_ties));
  }
  return cpu_seconds() - t0;
}

/* Blockings per run of about @p target seconds (and a warm-up). */
static int calibrate(subjects *s, int which, invrg_tie_rule rule, double target) {
  int n = 1;
  double t = time_blockings(s, which, rule, n);
  while (t < 0.02) {
    n *= 4;
    t = time_blockings(s, which, rule, n);
  }
  return (int)(target / (t / n)) + 1;
}

/* Median ns per fine site of the packed blocking alone with @p rule. */
static double packed_alone(subjects *s, invrg_tie_rule rule, int runs, double target) {
  double ns[MAX_RUNS];
  const int reps = calibrate(s, 0, rule, target);
  const double sites = (double)s->fine->lx * (double)s->fine->ly;
  for (int r = 0; r < runs; r++) ns[r] = 1e9 * time_blockings(s, 0, rule, reps) / reps / sites;
  return bench_median(ns, runs);
}

/* One size at the active kernel level. */
static void bench_case(subjects *s, int64_t L, int runs, double target, double tie_fraction) {
  const double sites = (double)L * (double)L;
  double ns[2][MAX_RUNS], ratio[MAX_RUNS];
  int reps[2];
  for (int w = 0; w < 2; w++) reps[w] = calibrate(s, w, INVRG_TIE_RANDOM, target);
  for (int r = 0; r < runs; r++) {
    for (int w = 0; w < 2; w++)
      ns[w][r] = 1e9 * time_blockings(s, w, INVRG_TIE_RANDOM, reps[w]) / reps[w] / sites;
    ratio[r] = ns[1][r] / ns[0][r];
  }
  const double packed = bench_median(ns[0], runs), int8 = bench_median(ns[1], runs);
  const double up = packed_alone(s, INVRG_TIE_UP, runs, target),
               ul = packed_alone(s, INVRG_TIE_UPPER_LEFT, runs, target);
  printf("bench_packed_blockspin: %5lld^2 %-7s (kernel %-7s) ties %.3f: packed %.4f ns/site "
         "(random), int8 %.4f: speed-up %.1f; packed up %.4f, upper_left %.4f (medians of %d)\n",
         (long long)L, invrg_simd_name(invrg_simd_active()), invrg_packed_blockspin_kernel(),
         tie_fraction, packed, int8, bench_median(ratio, runs), up, ul, runs);
  fflush(stdout);
}

/* The critical-like field: @p sweeps multispin heat-bath sweeps at K_c from random. */
static void make_field(subjects *s, int64_t L, int sweeps) {
  invrg_rng_stream init;
  invrg_rng_stream_init(&init, 1, INVRG_RNG_INIT, 0, 0);
  const invrg_mc_chain chain = {.K = INVRG_K_CRITICAL, .seed = 1, .chain = 0};
  CHECK(invrg_packed_create(MPI_COMM_SELF, L, L, &s->fine));
  CHECK(invrg_packed_fill_random(s->fine, &init));
  for (int k = 0; k < sweeps; k++)
    CHECK(invrg_multispin_sweep(s->fine, &chain, (uint64_t)k, true, NULL));
  CHECK(invrg_packed_blockspin_create_coarse(s->fine, &s->coarse));
  CHECK(invrg_lattice_create_replicated(L, L, 1, &s->fine8));
  CHECK(invrg_packed_to_lattice(s->fine, s->fine8));
  CHECK(invrg_blockspin_create_coarse(s->fine8, NULL, 1, &s->coarse8));
}

static void bench_size(int64_t L, int runs, double target, int sweeps) {
  subjects s = {0};
  make_field(&s, L, sweeps);
  const invrg_blockspin_ties ties = {INVRG_TIE_UP, 1, 0, 0};
  int64_t n_ties = 0;
  CHECK(invrg_packed_blockspin_apply(s.fine, &ties, s.coarse, &n_ties));
  for (int level = 0; level < INVRG_SIMD_LEVELS; level++) {
    if (!invrg_simd_runs((invrg_simd_level)level)) continue;
    setenv("INVRG_SIMD", invrg_simd_name((invrg_simd_level)level), 1);
    invrg_simd_reset();
    bench_case(&s, L, runs, target, (double)n_ties / ((double)L * (double)L / 4));
  }
  invrg_packed_destroy(&s.fine);
  invrg_packed_destroy(&s.coarse);
  invrg_lattice_destroy(&s.fine8);
  invrg_lattice_destroy(&s.coarse8);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  invrg_log_init(rank);
  invrg_log_set_level(INVRG_LOG_WARN);
  const bench_args args = bench_parse(argc, argv, 7, 0.2, 4);
  const int sweeps = argc > 3 ? atoi(argv[3]) : 200;
  if (size > 1 && rank == 0) printf("bench_packed_blockspin: one core; ranks other than 0 wait\n");
  if (rank == 0)
    for (int k = 0; k < args.n_sizes; k++) bench_size(args.sizes[k], args.runs, args.target, sweeps);
  MPI_Finalize();
  return 0;
}
