/*
 * Measurements of packed lattices (invrg/packed_measure.h) against their int8 references on
 * the same configuration, one core: ns per site of the observables (invrg_observables_sums),
 * the operator sums of "swendsen" and "paper36" (invrg_operators_evaluate, all operators of
 * the set together) and the row and column sums (against a plain int8 loop), for every kernel
 * level this CPU runs (INVRG_SIMD set for each in turn), at each size asked. Packed and int8
 * run alternately, so both see the same load from other work on the machine; a figure is the
 * median of the runs, in CPU time of this process (the time the core was ours: on a shared
 * machine wall time also counts other programs' turns), with the median wall time beside it.
 * Informational, not a test. Run on one rank:
 *
 *     bench_packed_measure [runs=5] [seconds per run=0.2] [L ...]   (L default: 256 1024 4096)
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mcrg.h"
#include "invrg/observables.h"
#include "invrg/packed.h"
#include "invrg/packed_measure.h"
#include "invrg/rng.h"
#include "invrg/simd.h"

enum { MAX_RUNS = BENCH_MAX_RUNS, N_WHAT = 4 };
static const char *const what_names[N_WHAT] = {"observables", "swendsen", "paper36", "row+col"};

typedef struct {
  invrg_packed *packed;
  invrg_lattice *int8;
  invrg_operator_set *set[2]; /* swendsen, paper36 */
  int64_t *rows, *cols, sums[64];
} subjects;

/* The plain int8 row and column sums (what a caller without packed rows would write). */
static void int8_row_col(const invrg_lattice *lat, int64_t *rows, int64_t *cols) {
  for (int i = 0; i < lat->nx; i++) cols[i] = 0;
  for (int j = 0; j < lat->ny; j++) {
    const int8_t *s = lat->data + invrg_lattice_index(lat, 0, j);
    int r = 0;
    for (int i = 0; i < lat->nx; i++) {
      r += s[i];
      cols[i] += s[i];
    }
    rows[j] = r;
  }
}

/* One call of measurement @p what on the packed (which = 0) or int8 (1) lattice. */
static void measure(subjects *s, int what, int which) {
  invrg_config_sums c;
  if (what == 0) {
    CHECK(which == 0 ? invrg_packed_observables_sums(s->packed, &c)
                     : invrg_observables_sums(s->int8, &c));
  } else if (what <= 2) {
    const invrg_operator_set *set = s->set[what - 1];
    CHECK(which == 0 ? invrg_packed_operators_evaluate(set->op, set->n, s->packed, s->sums)
                     : invrg_operators_evaluate(set->op, set->n, s->int8, s->sums));
  } else if (which == 0) {
    CHECK(invrg_packed_row_col_sums(s->packed, s->rows, s->cols));
  } else {
    int8_row_col(s->int8, s->rows, s->cols);
  }
}

static double cpu_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU seconds of @p calls calls; wall seconds into *wall if given. */
static double time_calls(subjects *s, int what, int which, int calls, double *wall) {
  const double w0 = MPI_Wtime(), t0 = cpu_seconds();
  for (int k = 0; k < calls; k++) measure(s, what, which);
  const double t = cpu_seconds() - t0;
  if (wall != NULL) *wall = MPI_Wtime() - w0;
  return t;
}

/* Calls per run of about @p target seconds (after a warm-up). */
static int calibrate(subjects *s, int what, int which, double target) {
  int n = 1;
  double t = time_calls(s, what, which, n, NULL);
  while (t < 0.02) {
    n *= 4;
    t = time_calls(s, what, which, n, NULL);
  }
  return (int)(target / (t / n)) + 1;
}

static void bench_case(subjects *s, int64_t L, int what, int runs, double target) {
  const double sites = (double)L * (double)L;
  double ns[2][MAX_RUNS], wall[2][MAX_RUNS];
  int calls[2];
  for (int w = 0; w < 2; w++) calls[w] = calibrate(s, what, w, target);
  for (int r = 0; r < runs; r++)
    for (int w = 0; w < 2; w++) {
      ns[w][r] = 1e9 * time_calls(s, what, w, calls[w], &wall[w][r]) / calls[w] / sites;
      wall[w][r] *= 1e9 / calls[w] / sites;
    }
  const double packed = bench_median(ns[0], runs), int8 = bench_median(ns[1], runs);
  printf("bench_packed_measure: %5lld^2 %-7s %-11s packed %.4f ns/site, int8 %.4f: %.1fx "
         "(CPU time, medians of %d; packed %.4f .. %.4f; wall %.4f, int8 %.4f)\n",
         (long long)L, invrg_simd_name(invrg_simd_active()), what_names[what], packed, int8,
         int8 / packed, runs, ns[0][0], ns[0][runs - 1], bench_median(wall[0], runs),
         bench_median(wall[1], runs));
  fflush(stdout);
}

static void bench_size(int64_t L, int runs, double target) {
  subjects s = {0};
  invrg_rng_stream init;
  invrg_rng_stream_init(&init, 1, INVRG_RNG_INIT, 0, 0);
  CHECK(invrg_lattice_create_replicated(L, L, INVRG_MCRG_HALO, &s.int8));
  invrg_lattice_fill_random(s.int8, &init);
  CHECK(invrg_lattice_halo_exchange(s.int8));
  CHECK(invrg_packed_create(MPI_COMM_SELF, L, L, &s.packed));
  CHECK(invrg_packed_from_lattice(s.packed, s.int8));
  CHECK(invrg_operator_set_create("swendsen", &s.set[0]));
  CHECK(invrg_operator_set_create("paper36", &s.set[1]));
  s.rows = malloc((size_t)L * sizeof *s.rows);
  s.cols = malloc((size_t)L * sizeof *s.cols);
  for (int level = 0; level < INVRG_SIMD_LEVELS; level++) {
    if (!invrg_simd_runs((invrg_simd_level)level)) continue;
    setenv("INVRG_SIMD", invrg_simd_name((invrg_simd_level)level), 1);
    invrg_simd_reset();
    for (int what = 0; what < N_WHAT; what++) bench_case(&s, L, what, runs, target);
  }
  free(s.rows);
  free(s.cols);
  for (int k = 0; k < 2; k++) invrg_operator_set_destroy(&s.set[k]);
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
  const bench_args args = bench_parse(argc, argv, 5, 0.2, 3);
  if (size > 1 && rank == 0) printf("bench_packed_measure: one core; ranks other than 0 wait\n");
  if (rank == 0)
    for (int k = 0; k < args.n_sizes; k++) bench_size(args.sizes[k], args.runs, args.target);
  MPI_Finalize();
  return 0;
}
