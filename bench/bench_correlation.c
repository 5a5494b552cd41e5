/* Benchmark of the correlation analysis (informational, not a test): the cost of
 * invrg_corr_add_configuration() per L × L configuration, for the cheap path
 * alone (S(0), S(k_min), ξ₂ from row and column sums: the default) and with the
 * functions by FFT (plans made beforehand by invrg_corr_prepare and reused),
 * with the FFT in single precision too (`correlation_precision = 'single'`),
 * against the cost of generating that configuration by one sym3 dream step
 * (published 3par parameters). On one rank the lattice is replicated (serial
 * FFTW); on P ranks it is distributed over one group of P ranks (blocks →
 * slabs, transposes by MPI_Alltoallv), the dream step timed on one rank for
 * reference. Prints medians of 5 repetitions.
 *   bench_correlation [L ...]      (default 256 4096)
 */
#include <fftw3.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "invrg/config.h"
#include "invrg/correlation.h"
#include "invrg/dream.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/simd.h"

enum { REPS = 5 };

/* The median of the REPS timings in @p t. */
static double median(double *t) { return bench_median(t, REPS); }

/* Seconds per fine spin of one sym3 step lc → 2lc (serial). */
static double dream_step_time(int lc, int inner) {
  invrg_model *m = NULL;
  CHECK(invrg_model_create(INVRG_MODEL_KIND_SYM3, 3, 0, &m));
  m->params[0] = 0.54590, m->params[1] = 0.62776, m->params[2] = 1.40962;
  int8_t *coarse = malloc((size_t)lc * (size_t)lc), *fine = malloc(4 * (size_t)lc * (size_t)lc);
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 1, INVRG_RNG_INIT, 0, 0);
  for (int64_t i = 0; i < (int64_t)lc * lc; i++)
    coarse[i] = invrg_rng_coin(&s, (uint64_t)i, 0) ? 1 : -1;
  invrg_dream_work *w = NULL;
  CHECK(invrg_dream_work_create(m, lc, &w));
  invrg_dream_step(m, coarse, lc, 1, 0, 1, fine, w); /* warm-up */
  double t[REPS];
  for (int r = 0; r < REPS; r++) {
    double t0 = MPI_Wtime();
    for (int q = 0; q < inner; q++) invrg_dream_step(m, coarse, lc, 1, (uint64_t)q, 1, fine, w);
    t[r] = (MPI_Wtime() - t0) / inner;
  }
  invrg_dream_work_destroy(&w);
  invrg_model_destroy(&m);
  free(coarse);
  free(fine);
  return median(t) / (4.0 * lc * lc);
}

/* FFTW's own 2D r2c of an L × L real array (FFTW_MEASURE), seconds: a reference point. */
static double fftw_2d_time(int L, int inner) {
  double *in = fftw_alloc_real((size_t)L * (size_t)L);
  fftw_complex *out = fftw_alloc_complex((size_t)L * (size_t)(L / 2 + 1));
  fftw_plan p = fftw_plan_dft_r2c_2d(L, L, in, out, FFTW_MEASURE);
  for (int64_t i = 0; i < (int64_t)L * L; i++) in[i] = (double)(i * 7 % 3) - 1.0;
  double t[REPS];
  for (int r = 0; r < REPS; r++) {
    double t0 = MPI_Wtime();
    for (int q = 0; q < inner; q++) fftw_execute(p);
    t[r] = (MPI_Wtime() - t0) / inner;
  }
  fftw_destroy_plan(p);
  fftw_free(in);
  fftw_free(out);
  return median(t);
}

/* Seconds per invrg_corr_add_configuration() of @p lat, with or without the functions (their
 * FFT in @p precision; median); *t_plan, if not NULL, gets the time of invrg_corr_prepare (the
 * plans, once per size). */
static double add_time(const invrg_groups *g, const invrg_lattice *lat, bool functions,
                       invrg_corr_precision precision, int inner, double *t_plan) {
  invrg_corr_params p = {.n_blocks = 20, .map_max_L = 0, .functions = functions,
                         .precision = precision};
  invrg_corr *c = NULL;
  CHECK(invrg_corr_create(&p, g, &c));
  double t0 = MPI_Wtime();
  CHECK(invrg_corr_prepare(c, lat));
  if (t_plan != NULL) *t_plan = MPI_Wtime() - t0;
  double t[REPS];
  for (int r = 0; r < REPS; r++) {
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    for (int q = 0; q < inner; q++) CHECK(invrg_corr_add_configuration(c, lat, q % 20));
    t[r] = (MPI_Wtime() - t0) / inner;
  }
  invrg_corr_destroy(&c);
  return median(t);
}

/* Seconds of invrg_corr_line_sums() of @p lat alone (this rank's part; median). */
static double line_sums_time(const invrg_lattice *lat, int inner) {
  int64_t *rows = malloc((size_t)lat->ly * sizeof *rows);
  int64_t *cols = malloc((size_t)lat->lx * sizeof *cols);
  double t[REPS];
  for (int r = 0; r < REPS; r++) {
    const double t0 = MPI_Wtime();
    for (int q = 0; q < inner; q++) invrg_corr_line_sums(lat, rows, cols);
    t[r] = (MPI_Wtime() - t0) / inner;
  }
  free(rows);
  free(cols);
  return median(t);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  invrg_config cfg;
  invrg_config_defaults(&cfg);
  cfg.parallel.ranks_per_group = size; /* one group: a distributed lattice on P > 1 ranks */
  invrg_groups *g = NULL;
  CHECK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
  const int n_sizes = argc > 1 ? argc - 1 : 2;
  const int default_sizes[2] = {256, 4096};

  for (int k = 0; k < n_sizes; k++) {
    const int L = argc > 1 ? atoi(argv[k + 1]) : default_sizes[k];
    const double N = (double)L * (double)L;
    const int inner = L >= 2048 ? 1 : (int)(4e6 / N) + 1;
    invrg_lattice *lat = NULL;
    if (size > 1)
      CHECK(invrg_lattice_create_distributed(g, L, L, 1, &lat));
    else
      CHECK(invrg_lattice_create_replicated(L, L, 1, &lat));
    invrg_rng_stream s;
    invrg_rng_stream_init(&s, 1, INVRG_RNG_INIT, 1, 0);
    invrg_lattice_fill_random(lat, &s);
    double t_plan = 0;
    const double t_corr = add_time(g, lat, true, INVRG_CORR_DOUBLE, inner, &t_plan);
    const double t_single = add_time(g, lat, true, INVRG_CORR_SINGLE, inner, NULL);
    const double t_cheap = add_time(g, lat, false, INVRG_CORR_DOUBLE, 4 * inner, NULL);
    const double t_lines = line_sums_time(lat, 4 * inner);
    invrg_lattice_destroy(&lat);

    if (rank == 0) {
      const double t_gen = dream_step_time(L / 2, inner);
      const double t_fftw = fftw_2d_time(L, inner);
      printf(
          "L = %5d on %d rank(s), %s: cheap path (S(0), S(k_min), xi2 from line sums) %.4f ms per "
          "configuration = %.3f ns per spin\n",
          L, size, size > 1 ? "distributed" : "replicated", 1e3 * t_cheap, 1e9 * t_cheap / N);
      printf("          of which the line sums of this rank's %.0f spins (%s kernel): %.3f ns per "
             "spin\n", N / size, invrg_simd_name(invrg_simd_active()), 1e9 * t_lines * size / N);
      printf(
          "          with the functions (FFT): %.3f ms per configuration = %.2f ns per spin "
          "(planning %.3f s, once): %.0f times the cheap path\n",
          1e3 * t_corr, 1e9 * t_corr / N, t_plan, t_corr / t_cheap);
      printf("          with the functions in single precision: %.3f ms = %.2f ns per spin, %.2f "
             "times the double FFT's time\n",
             1e3 * t_single, 1e9 * t_single / N, t_single / t_corr);
      printf(
          "          generation: one sym3 dream step to %d^2 %.2f ns per fine spin (one rank), "
          "all levels 4/3 of that; correlations / step = %.2f, / whole dream = %.2f\n",
          L, 1e9 * t_gen, t_corr / N / t_gen, t_corr / N / (4.0 / 3.0 * t_gen));
      printf(
          "          reference: FFTW's own 2D r2c (FFTW_MEASURE, no |S|^2 sums) %.2f ns per spin\n",
          1e9 * t_fftw / N);
    }
  }
  invrg_groups_destroy(&g);
  MPI_Finalize();
  return 0;
}
