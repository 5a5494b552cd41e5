/*
 * Random bit planes for the window-table models (dream_packed.h: sym5, sym7, conv with k = 1
 * and 3) on 1, 2 and 4 ranks:
 *  - reference: every fine spin of a planes step equals a scalar reference written here from
 *    the documentation alone: the window pattern read from an int8 copy of the coarse lattice,
 *    its threshold from invrg_dream_table_threshold() (the int8 dreams' table), u spelt bit by
 *    bit from the documented Philox blocks, up iff u < T. Coarse lattices random and dreamed
 *    (a dream of the model, cropped where the size is not a power of two), from the 1 × 1 seed
 *    up to several words per row with L not a multiple of 64; the coarse and fine lattices
 *    whole, both split by rows, or the coarse whole and the fine split; every SIMD level.
 *  - sym3: sym5 with its last three parameters 0 has sym3's fine kernel; with parameters that
 *    are short binary fractions both compute the same logits exactly, hence the same thresholds
 *    (checked), and the planes give the same dream, every level bit for bit.
 *  - distribution: E/N and the fraction of up spins of many dreams to 64² with planes against
 *    the same with 'words' (the int8 dreams' spins), within 3 standard errors of the difference.
 *  - models: which models draw planes (conv with k = 5 is refused).
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/dream.h"
#include "invrg/dream_packed.h"
#include "invrg/packed.h"
#include "invrg/simd.h"
#include "ml/dream_internal.h" /* invrg_dream_sym3_thresholds12 */
#include "ml/dream_planes.h"   /* invrg_planes_table_limit */
#include "mpi/mpi_test.h"
#include "mpi/test_models.h"

static const uint64_t seed = 31;

typedef struct {
  invrg_model_kind kind;
  int kernel;
} model_kind;

static const model_kind table_models[] = {{INVRG_MODEL_KIND_SYM5, 5},
                                          {INVRG_MODEL_KIND_SYM7, 7},
                                          {INVRG_MODEL_KIND_CONV, 3},
                                          {INVRG_MODEL_KIND_CONV, 1}};
enum { N_MODELS = sizeof table_models / sizeof table_models[0] };

/* ------------------------------------------------------------------ lattices */

/* An lc × lc int8 configuration: random spins, or a dream of @p m (int8 steps) from 1 × 1 to
 * the next power of two, cropped. Every rank makes the same. */
static int8_t *coarse_config(const invrg_model *m, int lc, bool dreamed) {
  int P2 = 1;
  while (P2 < lc) P2 *= 2;
  int8_t *c = malloc((size_t)P2 * (size_t)P2), *next = malloc((size_t)P2 * (size_t)P2);
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 5, INVRG_RNG_INIT, (uint64_t)lc, 0);
  if (!dreamed) {
    for (int i = 0; i < lc * lc; i++) c[i] = invrg_rng_coin(&s, (uint64_t)i, 0) ? 1 : -1;
  } else {
    invrg_dream_work *w = NULL;
    OK(invrg_dream_work_create(m, P2, &w));
    c[0] = 1;
    for (int l = 1, level = 1; l < P2; l *= 2, level++) {
      invrg_dream_step(m, c, l, 3, (uint64_t)lc, level, next, w);
      memcpy(c, next, 4 * (size_t)l * (size_t)l);
    }
    for (int y = 0; y < lc; y++) /* crop: row y from y·P2 to y·lc */
      memmove(c + (size_t)y * (size_t)lc, c + (size_t)y * (size_t)P2, (size_t)lc);
    invrg_dream_work_destroy(&w);
  }
  free(next);
  return c;
}

/* A packed copy of @p c (lc × lc) on @p comm, halos exchanged. */
static invrg_packed *packed_of(MPI_Comm comm, const int8_t *c, int lc) {
  invrg_packed *p = NULL;
  OK(invrg_packed_create(comm, lc, lc, &p));
  for (int j = 0; j < p->ny; j++)
    invrg_packed_pack_row(c + (p->y0 + j) * lc, lc, p->y0 + j, invrg_packed_row(p, 0, j),
                          invrg_packed_row(p, 1, j));
  OK(invrg_packed_halo_exchange(p));
  return p;
}

/* Fine sites of @p f (whole or split) that differ from @p ref (L × L, row-major), all ranks. */
static int64_t differences(const invrg_packed *f, const int8_t *ref) {
  int64_t bad = 0;
  for (int j = 0; j < f->ny; j++)
    for (int64_t x = 0; x < f->lx; x++)
      bad += invrg_packed_get(f, x, j) != ref[(f->y0 + j) * f->lx + x];
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  return bad;
}

/* ------------------------------------------------------------------ the reference */

/*
 * u of fine site (x, y) of an L × L level, as dream_packed.h spells it: colour c = (x + y) mod 2,
 * k = x / 2 the site's place in its colour row, word i = k / 64 of W, w = (c·L + y)·W + i;
 * bit 31 − j of u is bit k mod 32 of word j mod 4 of block (2w + (k mod 64) / 32, j / 4).
 */
static uint32_t documented_u(const invrg_rng_stream *s, int64_t L, int64_t x, int64_t y) {
  const int64_t W = (L / 2 + 63) / 64, k = x / 2, w = (((x + y) & 1) * L + y) * W + k / 64;
  uint32_t u = 0;
  for (int d = 0; d < 8; d++) {
    uint32_t block[4];
    invrg_rng_u32x4(s, (uint64_t)(2 * w + (k % 64) / 32), (uint32_t)d, block);
    for (int q = 0; q < 4; q++) u |= (block[q] >> (k % 32) & 1u) << (31 - (4 * d + q));
  }
  return u;
}

/* The fine level (2lc × 2lc) a planes step should make from @p c with (sample, level). */
static void reference_step(const invrg_dream_work *w, const int8_t *c, int lc, uint64_t sample,
                           int level, int8_t *ref) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_DREAM, sample, (uint64_t)level);
  const int L = 2 * lc;
  for (int y = 0; y < L; y++)
    for (int x = 0; x < L; x++) {
      uint32_t T = 0;
      EXPECT(invrg_dream_table_threshold(w, c, lc, y, x, &T), "no window table");
      ref[y * L + x] = documented_u(&s, L, x, y) < T ? 1 : -1;
    }
}

/* ------------------------------------------------------------------ reference case */

static void set_simd(invrg_simd_level level) {
  setenv("INVRG_SIMD", invrg_simd_name(level), 1);
  invrg_simd_reset();
}

/* One planes step of @p m from @p c (lc × lc; lc = 1: the seed) on one layout against @p ref. */
static void step_layout(const invrg_model *m, invrg_dream_packed_work *pw, const int8_t *c,
                        int lc, bool split_coarse, bool split_fine, const int8_t *ref,
                        const char *what) {
  const uint64_t sample = 4;
  const int level = 9;
  invrg_packed *pc = NULL, *pf = NULL;
  OK(invrg_packed_create(split_fine ? MPI_COMM_WORLD : MPI_COMM_SELF, 2 * lc, 2 * lc, &pf));
  if (lc == 1) {
    OK(invrg_dream_packed_first_step(m, c[0], pf, seed, sample, pw));
  } else {
    pc = packed_of(split_coarse ? MPI_COMM_WORLD : MPI_COMM_SELF, c, lc);
    OK(invrg_dream_packed_step(m, pc, pf, seed, sample, level, pw));
  }
  const int64_t bad = differences(pf, ref);
  EXPECT(bad == 0, "lc = %d, %s coarse, coarse %s, fine %s, %s: %lld of %lld fine spins differ "
         "from the reference", lc, what, split_coarse ? "split" : "whole",
         split_fine ? "split" : "whole", invrg_simd_name(invrg_simd_active()), (long long)bad,
         4LL * lc * lc);
  invrg_packed_destroy(&pf);
  invrg_packed_destroy(&pc);
}

/* Every layout this size allows on world_size ranks, at every SIMD level. */
static void reference_case(const invrg_model *m, invrg_dream_packed_work *pw,
                           const invrg_dream_work *w, int lc, bool dreamed) {
  int8_t *c = lc == 1 ? malloc(1) : coarse_config(m, lc, dreamed);
  int8_t *ref = malloc(4 * (size_t)lc * (size_t)lc);
  if (lc == 1) c[0] = dreamed ? -1 : 1;
  /* the first step uses level 1, the others level 9 (step_layout) */
  reference_step(w, c, lc, 4, lc == 1 ? 1 : 9, ref);
  const int P = world_size;
  const bool fine_splits = lc % P == 0 && 2 * lc / P >= 2;
  const bool coarse_splits = lc % P == 0 && lc / P >= 2;
  /* every level, and AVX-512 three times: all the CPU has (VBMI's permutes, GFNI's
   * transposes), gathers even where permutes would do, and gathers with masked byte adds */
  const invrg_simd_level levels[] = {INVRG_SIMD_GENERIC, INVRG_SIMD_AVX2, INVRG_SIMD_AVX512,
                                     INVRG_SIMD_AVX512, INVRG_SIMD_AVX512};
  static const char *const ways[] = {"", "", "", ", gathers", ", gathers, masked adds"};
  for (int l = 0; l < 5; l++) {
    if (!invrg_simd_runs(levels[l])) continue;
    set_simd(levels[l]);
    invrg_planes_table_limit(l >= 3, l == 4);
    char what[64];
    snprintf(what, sizeof what, "%s%s", dreamed ? "dreamed" : "random", ways[l]);
    step_layout(m, pw, c, lc, false, false, ref, what);
    if (P > 1 && fine_splits && lc > 1) step_layout(m, pw, c, lc, false, true, ref, what);
    if (P > 1 && coarse_splits && invrg_dream_packed_supports(m, P))
      step_layout(m, pw, c, lc, true, true, ref, what);
  }
  invrg_planes_table_limit(false, false);
  unsetenv("INVRG_SIMD");
  invrg_simd_reset();
  free(ref);
  free(c);
}

static void test_reference(void) {
  /* 1: the seed; 2, 4, 6: part of a word; 34 … 200: L = 68 … 400, one to four words a row, the
   * last partial but at 64; 510: rows of 8 words (the last partial), read in place */
  const int sizes[] = {1, 2, 4, 6, 34, 62, 64, 66, 130, 200, 510};
  enum { N_SIZES = sizeof sizes / sizeof sizes[0] };
  for (int k = 0; k < N_MODELS; k++) {
    invrg_model *m = test_model_make(table_models[k].kind, table_models[k].kernel, 7);
    snprintf(where, sizeof where, "%s k = %d", invrg_model_kind_name(m->kind), m->kernel);
    invrg_dream_packed_work *pw = NULL;
    invrg_dream_work *w = NULL;
    OK(invrg_dream_packed_work_create(m, sizes[N_SIZES - 1], true, &pw));
    OK(invrg_dream_work_create(m, sizes[N_SIZES - 1], &w));
    for (int s = 0; s < N_SIZES; s++) {
      reference_case(m, pw, w, sizes[s], false);
      reference_case(m, pw, w, sizes[s], true);
    }
    invrg_dream_work_destroy(&w);
    invrg_dream_packed_work_destroy(&pw);
    invrg_model_destroy(&m);
  }
}


/* ------------------------------------------------------------------ sym3 */

/* sym3's class of fine site (x, y) of the int8 coarse lattice @p c: P·6 + n·2 + d (dream.h). */
static int sym3_class(const int8_t *c, int lc, int x, int y) {
  const int X = x / 2, Y = y / 2, Yv = (Y + ((y & 1) ? 1 : -1) + lc) % lc,
            Xh = (X + ((x & 1) ? 1 : -1) + lc) % lc;
  const int P = c[Y * lc + X] > 0, V = c[Yv * lc + X] > 0, H = c[Y * lc + Xh] > 0,
            D = c[Yv * lc + Xh] > 0;
  return P * 6 + (V + H) * 2 + D;
}

/* Every fine site's threshold of sym5 @p w against sym3's of its class, on @p c. */
static int64_t threshold_differences(const invrg_dream_work *w, const uint32_t T12[12],
                                     const int8_t *c, int lc) {
  int64_t bad = 0;
  for (int y = 0; y < 2 * lc; y++)
    for (int x = 0; x < 2 * lc; x++) {
      uint32_t T = 0;
      bad += !invrg_dream_table_threshold(w, c, lc, y, x, &T) || T != T12[sym3_class(c, lc, x, y)];
    }
  return bad;
}

enum { SYM3_LEVELS = 8 };

/* The planes dream of sample @p sample by @p m, level by level, lattices split by rows where
 * the ranks can (as the dream stage holds them). */
static void planes_dream(const invrg_model *m, uint64_t sample, invrg_packed *lat[]) {
  invrg_dream_packed_work *pw = NULL;
  OK(invrg_dream_packed_work_create(m, 1 << (SYM3_LEVELS - 1), true, &pw));
  const int8_t spin = invrg_dream_seed_spin(INVRG_DREAM_START_RANDOM, seed, sample);
  OK(invrg_dream_packed_first_step(m, spin, lat[1], seed, sample, pw));
  OK(invrg_packed_halo_exchange(lat[1]));
  for (int level = 2; level <= SYM3_LEVELS; level++) {
    OK(invrg_dream_packed_step(m, lat[level - 1], lat[level], seed, sample, level, pw));
    OK(invrg_packed_halo_exchange(lat[level]));
  }
  invrg_dream_packed_work_destroy(&pw);
}

/*
 * sym5 with θ = (a, b, c, 0, 0, 0) has sym3's fine kernel: with a, b, c short binary fractions
 * both logits are exact, so the thresholds agree (checked on a dreamed lattice, every site) and
 * so must the planes' dreams, every level, on every layout.
 */
static void test_sym3(void) {
  const double a = 0.5, b = 0.625, c = 1.375;
  invrg_model *m3 = NULL, *m5 = NULL;
  OK(invrg_model_create(INVRG_MODEL_KIND_SYM3, 3, 1, &m3));
  OK(invrg_model_create(INVRG_MODEL_KIND_SYM5, 5, 1, &m5));
  m3->params[0] = m5->params[0] = a, m3->params[1] = m5->params[1] = b;
  m3->params[2] = m5->params[2] = c;
  uint32_t T12[12];
  invrg_dream_sym3_thresholds12(m3, T12);
  invrg_dream_work *w = NULL;
  OK(invrg_dream_work_create(m5, 64, &w));
  int8_t *dreamed = coarse_config(m3, 64, true);
  EXPECT(threshold_differences(w, T12, dreamed, 64) == 0,
         "sym5 (a, b, c, 0, 0, 0) has other thresholds than sym3 (a, b, c)");
  invrg_packed *l3[SYM3_LEVELS + 1] = {NULL}, *l5[SYM3_LEVELS + 1] = {NULL};
  for (int level = 1; level <= SYM3_LEVELS; level++) {
    const int64_t L = (int64_t)1 << level;
    const bool split = L % world_size == 0 && L / world_size >= 2;
    const MPI_Comm comm = split ? MPI_COMM_WORLD : MPI_COMM_SELF;
    OK(invrg_packed_create(comm, L, L, &l3[level]));
    OK(invrg_packed_create(comm, L, L, &l5[level]));
  }
  for (uint64_t sample = 0; sample < 3; sample++) {
    planes_dream(m3, sample, l3);
    planes_dream(m5, sample, l5);
    for (int level = 1; level <= SYM3_LEVELS; level++) {
      int64_t bad = 0;
      for (int j = 0; j < l3[level]->ny; j++)
        for (int64_t x = 0; x < l3[level]->lx; x++)
          bad += invrg_packed_get(l3[level], x, j) != invrg_packed_get(l5[level], x, j);
      MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
      EXPECT(bad == 0, "sample %llu, level %d: %lld spins of sym5 differ from sym3's",
             (unsigned long long)sample, level, (long long)bad);
    }
  }
  for (int level = 1; level <= SYM3_LEVELS; level++) {
    invrg_packed_destroy(&l3[level]);
    invrg_packed_destroy(&l5[level]);
  }
  free(dreamed);
  invrg_dream_work_destroy(&w);
  invrg_model_destroy(&m5);
  invrg_model_destroy(&m3);
}

/* ------------------------------------------------------------------ distribution */

enum { DIST_LEVELS = 6, DIST_SAMPLES = 3000 };

/* Per sample: E/N = −(1/N) Σ s (right + down neighbours), and the fraction of up spins. */
static void observables(const invrg_packed *p, double *e, double *up) {
  int64_t bonds = 0, ups = 0;
  for (int j = 0; j < p->ny; j++)
    for (int64_t x = 0; x < p->lx; x++) {
      const int s = invrg_packed_get(p, x, j);
      bonds += s * (invrg_packed_get(p, (x + 1) % p->lx, j) + invrg_packed_get(p, x, j + 1));
      ups += s > 0;
    }
  *e = -(double)bonds / (double)(p->lx * p->ly);
  *up = (double)ups / (double)(p->lx * p->ly);
}

/* Sums of E/N, its square, the up fraction and its square over this rank's samples. */
static void dream_sums(const invrg_model *m, bool planes, double sums[4]) {
  invrg_dream_packed_work *pw = NULL;
  invrg_packed *lat[DIST_LEVELS + 1] = {NULL};
  OK(invrg_dream_packed_work_create(m, 1 << (DIST_LEVELS - 1), planes, &pw));
  for (int level = 1; level <= DIST_LEVELS; level++)
    OK(invrg_packed_create(MPI_COMM_SELF, 1 << level, 1 << level, &lat[level]));
  for (int k = 0; k < 4; k++) sums[k] = 0;
  for (uint64_t sample = (uint64_t)world_rank; sample < DIST_SAMPLES;
       sample += (uint64_t)world_size) {
    const int8_t spin = invrg_dream_seed_spin(INVRG_DREAM_START_RANDOM, seed, sample);
    OK(invrg_dream_packed_first_step(m, spin, lat[1], seed, sample, pw));
    OK(invrg_packed_halo_exchange(lat[1]));
    for (int level = 2; level <= DIST_LEVELS; level++) {
      OK(invrg_dream_packed_step(m, lat[level - 1], lat[level], seed, sample, level, pw));
      OK(invrg_packed_halo_exchange(lat[level]));
    }
    double e, up;
    observables(lat[DIST_LEVELS], &e, &up);
    sums[0] += e, sums[1] += e * e, sums[2] += up, sums[3] += up * up;
  }
  MPI_Allreduce(MPI_IN_PLACE, sums, 4, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  for (int level = 1; level <= DIST_LEVELS; level++) invrg_packed_destroy(&lat[level]);
  invrg_dream_packed_work_destroy(&pw);
}

/* Mean and squared standard error of the mean from a sum and a sum of squares. */
static void mean_error(double sum, double sum2, double *mean, double *se2) {
  const double n = DIST_SAMPLES;
  *mean = sum / n;
  *se2 = (sum2 / n - *mean * *mean) / (n - 1);
}

/*
 * 3000 independent dreams to 64² per model with planes and with words (the int8 dreams'
 * spins): E/N and the up fraction must agree within 3 standard errors of their difference.
 */
static void test_distribution(void) {
  /* the published sym5 and sym7 models (critical-like dreams); a conv net with its initial
   * weights tripled (its dreams ordered beyond nearest neighbours) */
  static const double published[2][10] = {
      {0.553284, 0.695583, 1.376823, -0.141227, -0.149380, 0.105498},
      {0.128635, 0.931129, 1.237172, 0.120970, -0.117696, 0.278831, 0.150570, 0.051483,
       -0.156185, -0.155550}};
  for (int k = 0; k < 3; k++) { /* sym5, sym7, conv k = 3 */
    invrg_model *m = test_model_make(table_models[k].kind, table_models[k].kernel, 11);
    for (int i = 0; i < m->n_params; i++)
      m->params[i] = m->family == INVRG_MODEL_SYM ? published[k][i] : 3 * m->params[i];
    snprintf(where, sizeof where, "%s k = %d", invrg_model_kind_name(m->kind), m->kernel);
    double sp[4], sw[4];
    dream_sums(m, true, sp);
    dream_sums(m, false, sw);
    const char *names[2] = {"E/N", "up fraction"};
    for (int q = 0; q < 2; q++) {
      double mp, vp, mw, vw;
      mean_error(sp[2 * q], sp[2 * q + 1], &mp, &vp);
      mean_error(sw[2 * q], sw[2 * q + 1], &mw, &vw);
      const double z = (mp - mw) / sqrt(vp + vw);
      CHECK(fabs(z) < 3, "%s %s: planes %.5f, words %.5f (± %.5f): %.2f sigma", where,
            names[q], mp, mw, sqrt(vp + vw), z);
    }
    invrg_model_destroy(&m);
  }
}

/* ------------------------------------------------------------------ the vertex cache */

/*
 * The gathers share their lookups (dream_planes_table.h): a step from a dreamed coarse lattice
 * gathers the entries of each vertex row once, for the first of the four children's rows that
 * reads it (colour 0's odd rows: a quarter of the lookups), and besides at most two gathers a
 * vertex row (the two kinds of rows whose first element the rows before did not keep). A wrong
 * vertex for some child costs no bit (the cache is content-addressed) but half the lookups or
 * more. sym7 (4 × 4 windows, vertices between the coarse sites) and sym5 without VBMI (3 × 3,
 * the four children of a site), coarse side 256 (4 words a row), one rank's lattices.
 */
static void test_vertex_cache(void) {
  const int lc = 256, W = lc / 64;
  const model_kind kinds[] = {table_models[1], table_models[0]};
  const invrg_simd_level levels[] = {INVRG_SIMD_AVX2, INVRG_SIMD_AVX512, INVRG_SIMD_AVX512};
  for (int k = 0; k < 2; k++) {
    invrg_model *m = test_model_make(kinds[k].kind, kinds[k].kernel, 7);
    invrg_dream_packed_work *pw = NULL;
    OK(invrg_dream_packed_work_create(m, lc, true, &pw));
    int8_t *c = coarse_config(m, lc, true);
    invrg_packed *pc = packed_of(MPI_COMM_SELF, c, lc), *pf = NULL;
    OK(invrg_packed_create(MPI_COMM_SELF, 2 * lc, 2 * lc, &pf));
    for (int l = 0; l < 3; l++) {
      if (!invrg_simd_runs(levels[l])) continue;
      set_simd(levels[l]);
      invrg_planes_table_limit(true, l == 2);
      uint64_t before[2], after[2];
      invrg_planes_kernel_lookups(invrg_dream_packed_kernel(pw), before);
      OK(invrg_dream_packed_step(m, pc, pf, seed, 4, 9, pw));
      invrg_planes_kernel_lookups(invrg_dream_packed_kernel(pw), after);
      const double lookups = (double)(after[0] - before[0]),
                   gathered = (double)(after[1] - before[1]);
      /* lookups of 16 sites with AVX-512, 8 with AVX2: 4 or 8 a word, 4·W words a vertex row
       * (both colours, two fine rows), lc vertex rows */
      const double per_word = levels[l] == INVRG_SIMD_AVX2 ? 8 : 4,
                   bound = per_word * W * lc + 2.0 * lc;
      EXPECT(lookups == 4.0 * W * lc * per_word && gathered <= bound,
             "%s k = %d, %s%s: %.0f of %.0f lookups gathered (expected %.0f lookups, at most a "
             "quarter and two a vertex row gathered: %.0f)",
             invrg_model_kind_name(m->kind), m->kernel, invrg_simd_name(levels[l]),
             l == 2 ? ", masked adds" : "", gathered, lookups, 4.0 * W * lc * per_word, bound);
    }
    invrg_planes_table_limit(false, false);
    unsetenv("INVRG_SIMD");
    invrg_simd_reset();
    invrg_packed_destroy(&pf);
    invrg_packed_destroy(&pc);
    free(c);
    invrg_dream_packed_work_destroy(&pw);
    invrg_model_destroy(&m);
  }
}

/* ------------------------------------------------------------------ who draws planes */

/* sym3 and the table models draw planes; conv with k = 5 has no table and is refused. */
static void test_models(void) {
  for (int k = 0; k < N_MODELS; k++) {
    invrg_model *m = test_model_make(table_models[k].kind, table_models[k].kernel, 7);
    EXPECT(invrg_dream_packed_planes(m), "%s k = %d draws no planes",
           invrg_model_kind_name(m->kind), m->kernel);
    invrg_model_destroy(&m);
  }
  invrg_model *conv5 = test_model_make(INVRG_MODEL_KIND_CONV, 5, 7);
  invrg_dream_packed_work *pw = NULL;
  EXPECT(!invrg_dream_packed_planes(conv5), "conv k = 5 said to draw planes");
  EXPECT_ERR(invrg_dream_packed_work_create(conv5, 16, true, &pw), INVRG_ERR_INPUT,
             "planes work for conv k = 5");
  invrg_dream_packed_work_destroy(&pw);
  invrg_model_destroy(&conv5);
}

static const mpi_test_case cases[] = {{"reference", test_reference, true},
                                      {"sym3", test_sym3, true},
                                      {"distribution", test_distribution, true},
                                      {"vertex_cache", test_vertex_cache, true},
                                      {"models", test_models, true}};

int main(int argc, char **argv) { return MPI_TEST_MAIN(argc, argv, cases); }
