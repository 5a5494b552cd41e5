/* Benchmark of forward + backward passes (informational): fine sites per second per core for
 *   sym3 (closed form with histogram), sym7 (kernel path), conv C=32 k=3, on 32 x 32 targets. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/model.h"

static double rate(const char *kind, int kernel, int channels, int n_configs) {
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
    sink += strcmp(kind, "sym3") == 0 ? invrg_model_sym3_loss_grad(m, coarse, fine, lc, 1.0, grad)
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

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  printf("forward+backward, 32x32 targets, one core:\n");
  printf("  sym3 (closed form)  %.3g fine sites/s\n", rate("sym3", 3, 0, 200000));
  printf("  sym7 (kernel path)  %.3g fine sites/s\n", rate("sym7", 7, 0, 2000));
  printf("  conv C=32 k=3       %.3g fine sites/s\n", rate("conv", 3, 32, 300));
  printf("  conv C=32 k=7       %.3g fine sites/s\n", rate("conv", 7, 32, 60));
  MPI_Finalize();
  return 0;
}
