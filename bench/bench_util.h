/* Shared by the benchmarks: the median of repeated timings, and stopping on any error. */
#ifndef INVRG_BENCH_UTIL_H
#define INVRG_BENCH_UTIL_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "invrg/error.h"

static int bench_compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of @p n values (sorts them in place): robust to a noisy shared machine. */
static inline double bench_median(double *t, int n) {
  qsort(t, (size_t)n, sizeof *t, bench_compare);
  return t[n / 2];
}

enum { BENCH_MAX_RUNS = 64, BENCH_MAX_SIZES = 8 };

/* The one-core benchmarks' command line: [runs] [seconds per run] [one extra number]? [L ...]. */
typedef struct {
  int runs;                         /* 1 … BENCH_MAX_RUNS */
  double target;                    /* seconds per timing */
  int64_t sizes[BENCH_MAX_SIZES];   /* default 256, 1024, 4096 */
  int n_sizes;
} bench_args;

/* Runs from argv[1], the target from argv[2], the sizes from argv[first_size] on. */
static inline bench_args bench_parse(int argc, char **argv, int runs, double target,
                                     int first_size) {
  bench_args a = {runs, target, {256, 1024, 4096}, 3};
  if (argc > 1) a.runs = atoi(argv[1]);
  if (argc > 2) a.target = atof(argv[2]);
  a.runs = a.runs < 1 ? 1 : a.runs > BENCH_MAX_RUNS ? BENCH_MAX_RUNS : a.runs;
  if (argc > first_size) {
    a.n_sizes = 0;
    for (int k = first_size; k < argc && a.n_sizes < BENCH_MAX_SIZES; k++)
      a.sizes[a.n_sizes++] = atoll(argv[k]);
  }
  return a;
}

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != INVRG_SUCCESS) {                                      \
      fprintf(stderr, "%s failed: %s\n", #call, invrg_error_message()); \
      MPI_Abort(MPI_COMM_WORLD, 1);                                     \
    }                                                                   \
  } while (0)

#endif
