/* Benchmark of generation alone (informational): fine spins per second per core of one
 * upsampling step, the median of several repetitions, for every model kind: int8 steps, and
 * steps into packed levels with random_bits = 'words' (strips of int8 steps) and 'planes'
 * (random bit planes: sym3 and the window-table models). Two coarse configurations: random
 * spins (every window pattern as likely: the window tables' worst case for the cache) and a
 * dream of the model itself (the patterns a dream meets). Then the first levels of 64 dreams
 * at once (dream_batch.h): ns per fine site of each level, at every SIMD level the CPU runs. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "invrg/dream.h"
#include "invrg/dream_batch.h"
#include "invrg/dream_packed.h"
#include "invrg/packed.h"
#include "invrg/simd.h"
#include "invrg/ticks.h"

/* A coarse lc × lc configuration: random spins, or dreamed from 1 × 1 by the model. */
static void coarse_config(const invrg_model *m, int lc, bool dreamed, int8_t *coarse,
                          invrg_dream_work *w) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 2, INVRG_RNG_INIT, 0, 0);
  if (!dreamed) {
    for (int i = 0; i < lc * lc; i++) coarse[i] = invrg_rng_coin(&s, (uint64_t)i, 0) ? 1 : -1;
    return;
  }
  int8_t *next = malloc((size_t)lc * (size_t)lc);
  coarse[0] = 1;
  for (int l = 1, level = 1; l < lc; l *= 2, level++) {
    invrg_dream_step(m, coarse, l, 3, 0, level, next, w);
    for (int i = 0; i < 4 * l * l; i++) coarse[i] = next[i];
  }
  free(next);
}

/* The published sym models (the batch50000 files of models/, tools/fetch_published_models.sh):
 * dreams of them look like the critical Ising model. */
static const double published[3][10] = {
    {0.549194, 0.627873, 1.393981},
    {0.553284, 0.695583, 1.376823, -0.141227, -0.149380, 0.105498},
    {0.128635, 0.931129, 1.237172, 0.120970, -0.117696, 0.278831, 0.150570, 0.051483, -0.156185,
     -0.155550}};

/* A model of the kind: sym with the published parameters, conv with its initial ones. */
static invrg_model *make_model(invrg_model_kind kind, int kernel, int channels) {
  invrg_model *m = NULL;
  CHECK(invrg_model_create(kind, kernel, channels, &m));
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 1, INVRG_RNG_TRAIN, 0, 0);
  invrg_model_init_params(m, &s);
  if (m->family == INVRG_MODEL_SYM)
    for (int i = 0; i < m->n_params; i++) m->params[i] = published[(m->kernel - 3) / 2][i];
  return m;
}

/* Fine spins per second of packed steps lc → 2lc on whole packed lattices (dream_packed.h),
 * from a dreamed (or random) coarse configuration: the median of @p reps timings. */
static double rate_packed(invrg_model_kind kind, int kernel, int channels, int lc, int reps,
                          bool planes, bool dreamed) {
  invrg_model *m = make_model(kind, kernel, channels);
  int8_t *coarse = malloc((size_t)lc * (size_t)lc);
  invrg_dream_work *w = NULL;
  invrg_dream_packed_work *pw = NULL;
  invrg_packed *pc = NULL, *pf = NULL;
  CHECK(invrg_dream_work_create(m, lc, &w));
  CHECK(invrg_dream_packed_work_create(m, lc, planes, &pw));
  CHECK(invrg_packed_create(MPI_COMM_SELF, lc, lc, &pc));
  CHECK(invrg_packed_create(MPI_COMM_SELF, 2 * lc, 2 * lc, &pf));
  coarse_config(m, lc, dreamed, coarse, w);
  for (int y = 0; y < lc; y++)
    invrg_packed_pack_row(coarse + (size_t)y * (size_t)lc, lc, y, invrg_packed_row(pc, 0, y),
                          invrg_packed_row(pc, 1, y));
  CHECK(invrg_dream_packed_step(m, pc, pf, 1, 0, 1, pw)); /* warm-up */
  double t[16];
  for (int r = 0; r < reps; r++) {
    double t0 = MPI_Wtime();
    CHECK(invrg_dream_packed_step(m, pc, pf, 1, (uint64_t)r, 1, pw));
    t[r] = MPI_Wtime() - t0;
  }
  invrg_packed_destroy(&pf);
  invrg_packed_destroy(&pc);
  invrg_dream_packed_work_destroy(&pw);
  invrg_dream_work_destroy(&w);
  invrg_model_destroy(&m);
  free(coarse);
  return 4.0 * lc * lc / bench_median(t, reps);
}

/* Fine spins per second of steps lc → 2lc: the median of @p reps timings. */
static double rate(invrg_model_kind kind, int kernel, int channels, int lc, int reps,
                   bool dreamed) {
  invrg_model *m = make_model(kind, kernel, channels);
  int8_t *coarse = malloc((size_t)lc * (size_t)lc), *fine = malloc(4 * (size_t)lc * (size_t)lc);
  invrg_dream_work *w = NULL;
  CHECK(invrg_dream_work_create(m, lc, &w));
  coarse_config(m, lc, dreamed, coarse, w);
  invrg_dream_step(m, coarse, lc, 1, 0, 1, fine, w); /* warm-up */
  double t[16];
  for (int r = 0; r < reps; r++) {
    double t0 = MPI_Wtime();
    invrg_dream_step(m, coarse, lc, 1, (uint64_t)r, 1, fine, w);
    t[r] = MPI_Wtime() - t0;
  }
  invrg_dream_work_destroy(&w);
  invrg_model_destroy(&m);
  free(coarse);
  free(fine);
  return 4.0 * lc * lc / bench_median(t, reps);
}

/* Batches of 64 dreams to 32²: ns per fine site (of one dream) of each level, the median of
 * @p reps timings of @p batches batches each, at the SIMD level in force. */
static void batch_rates(invrg_model_kind kind, int kernel, int channels, int reps, int batches,
                        double ns[INVRG_DREAM_BATCH_MAX_LEVELS + 1]) {
  invrg_model *m = make_model(kind, kernel, channels);
  invrg_dream_batch *b = NULL;
  CHECK(invrg_dream_batch_create(m, NULL, 0, INVRG_DREAM_BATCH_MAX_LEVELS, &b));
  uint64_t samples[INVRG_DREAM_BATCH_LANES];
  double t[INVRG_DREAM_BATCH_MAX_LEVELS + 1][16];
  for (int r = 0; r < reps; r++) {
    uint64_t ticks[INVRG_DREAM_BATCH_MAX_LEVELS + 1] = {0};
    const invrg_ticks_mark start = invrg_ticks_now();
    for (int k = 0; k < batches; k++) {
      for (int i = 0; i < INVRG_DREAM_BATCH_LANES; i++)
        samples[i] = (uint64_t)(k * INVRG_DREAM_BATCH_LANES + i);
      invrg_dream_batch_run(b, INVRG_DREAM_START_ALTERNATE, 1, samples, INVRG_DREAM_BATCH_LANES,
                            ticks);
    }
    const double per_tick = invrg_ticks_seconds_per_tick(start, invrg_ticks_now());
    for (int l = 1; l <= INVRG_DREAM_BATCH_MAX_LEVELS; l++)
      t[l][r] = 1e9 * per_tick * (double)ticks[l] /
                ((double)batches * INVRG_DREAM_BATCH_LANES * (double)(4 << (2 * (l - 1))));
  }
  for (int l = 1; l <= INVRG_DREAM_BATCH_MAX_LEVELS; l++) ns[l] = bench_median(t[l], reps);
  invrg_dream_batch_destroy(&b);
  invrg_model_destroy(&m);
}

static void batches(void) {
  const struct {
    const char *name;
    invrg_model_kind kind;
    int kernel, channels;
  } models[] = {{"sym3", INVRG_MODEL_KIND_SYM3, 3, 0},
                {"sym5", INVRG_MODEL_KIND_SYM5, 5, 0},
                {"sym7", INVRG_MODEL_KIND_SYM7, 7, 0},
                {"conv C=32 k=3", INVRG_MODEL_KIND_CONV, 3, 32}};
  printf("batches of %d dreams (the first levels), ns per fine site of one dream (median):\n",
         INVRG_DREAM_BATCH_LANES);
  printf("  %-14s %-8s", "model", "SIMD");
  for (int l = 1; l <= INVRG_DREAM_BATCH_MAX_LEVELS; l++) printf(" %8d^2", 1 << l);
  printf("\n");
  for (size_t k = 0; k < sizeof models / sizeof models[0]; k++)
    for (int level = INVRG_SIMD_LEVELS - 1; level >= 0; level--) {
      if (!invrg_simd_runs((invrg_simd_level)level)) continue;
      setenv("INVRG_SIMD", invrg_simd_name((invrg_simd_level)level), 1);
      invrg_simd_reset();
      double ns[INVRG_DREAM_BATCH_MAX_LEVELS + 1];
      batch_rates(models[k].kind, models[k].kernel, models[k].channels, 5, 50, ns);
      printf("  %-14s %-8s", models[k].name, invrg_simd_name(invrg_simd_active()));
      for (int l = 1; l <= INVRG_DREAM_BATCH_MAX_LEVELS; l++) printf(" %10.3f", ns[l]);
      printf("\n");
    }
  unsetenv("INVRG_SIMD");
  invrg_simd_reset();
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  const struct {
    const char *name;
    invrg_model_kind kind;
    int kernel, channels, lc, reps;
  } runs[] = {{"sym3", INVRG_MODEL_KIND_SYM3, 3, 0, 2048, 9},
              {"sym5", INVRG_MODEL_KIND_SYM5, 5, 0, 2048, 9},
              {"sym7", INVRG_MODEL_KIND_SYM7, 7, 0, 2048, 9},
              {"conv C=32 k=3", INVRG_MODEL_KIND_CONV, 3, 32, 2048, 9},
              {"conv C=32 k=7", INVRG_MODEL_KIND_CONV, 7, 32, 128, 3}};
  printf("generation alone, one core, fine spins/s (median):\n");
  printf("  %-14s %11s %12s %12s %16s %16s %16s\n", "model", "fine size", "random", "dreamed",
         "packed dreamed", "planes dreamed", "planes random");
  /* bench_dream [fine size]: the table models at another size (e.g. 16384: lattices in DRAM) */
  const int fine_size = argc > 1 ? atoi(argv[1]) : 0;
  if (argc > 1 && (fine_size < 256 || (fine_size & (fine_size - 1)) != 0)) {
    fprintf(stderr, "bench_dream: the fine size must be a power of two, at least 256\n");
    MPI_Finalize();
    return 2;
  }
  for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
    const int lc = fine_size >= 2 && runs[k].lc > 128 ? fine_size / 2 : runs[k].lc;
    double random = rate(runs[k].kind, runs[k].kernel, runs[k].channels, lc, runs[k].reps, false);
    double dreamed = rate(runs[k].kind, runs[k].kernel, runs[k].channels, lc, runs[k].reps, true);
    const bool packs = runs[k].kind != INVRG_MODEL_KIND_CONV || runs[k].kernel <= 3;
    double packed = 0, planes = 0, planes_random = 0;
    if (packs) {
      packed = rate_packed(runs[k].kind, runs[k].kernel, runs[k].channels, lc, runs[k].reps,
                           false, true);
      planes = rate_packed(runs[k].kind, runs[k].kernel, runs[k].channels, lc, runs[k].reps,
                           true, true);
      planes_random = rate_packed(runs[k].kind, runs[k].kernel, runs[k].channels, lc,
                                  runs[k].reps, true, false);
    }
    printf("  %-14s %5d^2 %12.3g %12.3g %16.3g %16.3g %16.3g\n", runs[k].name, 2 * lc, random,
           dreamed, packed, planes, planes_random);
  }
  batches();
  MPI_Finalize();
  return 0;
}
