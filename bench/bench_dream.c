/* Benchmark of generation alone (informational): fine spins per second per core of one
 * upsampling step to 2048² (sym3, sym7) and 256² (conv C=32 k=3). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "invrg/dream.h"

static double rate(const char *kind, int kernel, int channels, int lc, int reps) {
  invrg_model *m = NULL;
  invrg_model_create(kind, kernel, channels, &m);
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 1, INVRG_RNG_TRAIN, 0, 0);
  invrg_model_init_params(m, &s);
  int8_t *coarse = malloc((size_t)lc * (size_t)lc), *fine = malloc(4 * (size_t)lc * (size_t)lc);
  for (int i = 0; i < lc * lc; i++) coarse[i] = invrg_rng_coin(&s, (uint64_t)i, 1) ? 1 : -1;
  invrg_dream_work *w = NULL;
  invrg_dream_work_create(m, lc, &w);
  invrg_dream_step(m, coarse, lc, 1, 0, 1, fine, w); /* warm-up */
  double t0 = MPI_Wtime();
  for (int r = 0; r < reps; r++) invrg_dream_step(m, coarse, lc, 1, (uint64_t)r, 1, fine, w);
  double dt = MPI_Wtime() - t0;
  invrg_dream_work_destroy(&w);
  invrg_model_destroy(&m);
  free(coarse);
  free(fine);
  return 4.0 * lc * lc * reps / dt;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  printf("generation alone, one core:\n");
  printf("  sym3 -> 2048^2        %.3g fine spins/s\n", rate("sym3", 3, 0, 1024, 10));
  printf("  sym7 -> 2048^2        %.3g fine spins/s\n", rate("sym7", 7, 0, 1024, 2));
  printf("  conv C=32 k=3 -> 256^2 %.3g fine spins/s\n", rate("conv", 3, 32, 128, 2));
  MPI_Finalize();
  return 0;
}
