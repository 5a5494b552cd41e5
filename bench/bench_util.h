/* Shared by the benchmarks: the median of repeated timings, and stopping on any error. */
#ifndef INVRG_BENCH_UTIL_H
#define INVRG_BENCH_UTIL_H

#include <mpi.h>
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

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != INVRG_SUCCESS) {                                      \
      fprintf(stderr, "%s failed: %s\n", #call, invrg_error_message()); \
      MPI_Abort(MPI_COMM_WORLD, 1);                                     \
    }                                                                   \
  } while (0)

#endif
