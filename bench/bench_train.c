/* Benchmark of forward + backward passes (informational): fine sites per second per core for
 *   sym3 (closed form with histogram), sym7 (kernel path), conv C=32 k=3, on 32 x 32 targets;
 * and the exact fit (fit_exact.h): counting throughput in configurations per second on the ranks
 * of the run, and the time of the Newton fit after counting, on critical Wolff configurations. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "critical_configs.h" /* the training tests' data */
#include "invrg/exact.h"
#include "invrg/fit_exact.h"
#include "invrg/lattice.h"
#include "invrg/mc_update.h"
#include "invrg/model.h"

static double rate(invrg_model_kind kind, int kernel, int channels, int n_configs) {
  const int lc = 16, L = 32;
  invrg_model *m = NULL;
  invrg_model_create(kind, kernel, channels, &m);
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 1, INVRG_RNG_TRAIN, 0, 0);
  invrg_model_init_params(m, &s);
  int8_t *coarse = malloc((size_t)(lc * lc)), *fine = malloc((size_t)(L * L));
  for (int i = 0; i < L * L; i++) fine[i] = invrg_rng_coin(&s, (uint64_t)i, 1) ? 1 : -1;
  for (int i = 0; i < lc * lc; i++) coarse[i] = fine[(i / lc) * 2 * L + (i % lc) * 2];
  double *grad = calloc((size_t)m->n_params, sizeof *grad), sink = 0;
  invrg_model_work *w = NULL;
  invrg_model_work_create(m, lc, &w);
  double t0 = MPI_Wtime();
  for (int c = 0; c < n_configs; c++)
    sink += kind == INVRG_MODEL_KIND_SYM3
                ? invrg_model_sym3_loss_grad(m, coarse, fine, lc, 1.0, grad)
                : invrg_model_loss_grad(m, coarse, fine, lc, 1.0, grad, w);
  double dt = MPI_Wtime() - t0;
  if (sink == 42.0) printf(" ");
  invrg_model_work_destroy(&w);
  invrg_model_destroy(&m);
  free(grad);
  free(coarse);
  free(fine);
  return (double)n_configs * L * L / dt;
}

static void exact_fit(invrg_model_kind kind, const int8_t *configs, int L, int n, int rank,
                      int size) {
  invrg_model *m = NULL;
  invrg_fit_stats *s = NULL;
  invrg_fit_result res;
  double theta[10] = {0};
  invrg_train_data d = {configs, n, L, 0};
  invrg_fit_options o = {INVRG_LOSS_BCE, INVRG_FIT_TIES_EXPECTATION, 1};
  invrg_model_create(kind, 0, 0, &m);
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  if (invrg_fit_count(m, &d, n, NULL, &o, MPI_COMM_WORLD, &s) != INVRG_SUCCESS) MPI_Abort(MPI_COMM_WORLD, 1);
  double t1 = MPI_Wtime();
  invrg_fit_newton(s, theta, 1e-10, &res);
  double t2 = MPI_Wtime();
  if (rank == 0)
    printf("  %s: counting %.3g configurations/s on %d rank(s) (%lld feature vectors); Newton fit "
           "%.2g s (%d iterations)\n", kind, n / (t1 - t0), size, (long long)invrg_fit_stats_size(s),
           t2 - t1, res.iterations);
  invrg_fit_stats_destroy(&s);
  invrg_model_destroy(&m);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  {
    const int L = 32, n = 4000;
    int8_t *configs = critical_configs(L, n, 1);
    if (rank == 0) printf("exact fit, %d critical configurations of %dx%d, ties by expectation:\n", n, L, L);
    exact_fit(INVRG_MODEL_KIND_SYM3, configs, L, n, rank, size);
    exact_fit(INVRG_MODEL_KIND_SYM5, configs, L, n, rank, size);
    exact_fit(INVRG_MODEL_KIND_SYM7, configs, L, n, rank, size);
    free(configs);
  }
  if (rank != 0) {
    MPI_Finalize();
    return 0;
  }
  printf("forward+backward, 32x32 targets, one core:\n");
  printf("  sym3 (closed form)  %.3g fine sites/s\n", rate(INVRG_MODEL_KIND_SYM3, 3, 0, 200000));
  printf("  sym7 (kernel path)  %.3g fine sites/s\n", rate(INVRG_MODEL_KIND_SYM7, 7, 0, 2000));
  printf("  conv C=32 k=3       %.3g fine sites/s\n", rate(INVRG_MODEL_KIND_CONV, 3, 32, 300));
  printf("  conv C=32 k=7       %.3g fine sites/s\n", rate(INVRG_MODEL_KIND_CONV, 7, 32, 60));
  MPI_Finalize();
  return 0;
}
