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
#include "ml/dream_planes.h" /* invrg_planes_table_no_vbmi */
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
    for (int y = 0; y < lc; y++) memmove(c + (size_t)y * (size_t)lc, c + (size_t)y * (size_t)P2, (size_t)lc);
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
    for (int64_t x = 0; x < f->lx; x++) bad += invrg_packed_get(f, x, j) != ref[(f->y0 + j) * f->lx + x];
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
  const bool fine_splits = lc % P == 0 && 2 * lc / P >= 2, coarse_splits = lc % P == 0 && lc / P >= 2;
  /* every level, and AVX-512 twice: VBMI's permutes where the CPU has them, and gathers */
  const invrg_simd_level levels[] = {INVRG_SIMD_GENERIC, INVRG_SIMD_AVX2, INVRG_SIMD_AVX512,
                                     INVRG_SIMD_AVX512};
  for (int l = 0; l < 4; l++) {
    if (!invrg_simd_runs(levels[l])) continue;
    set_simd(levels[l]);
    invrg_planes_table_no_vbmi(l == 3);
    const char *what = l == 3 ? (dreamed ? "dreamed, gathers" : "random, gathers")
                              : (dreamed ? "dreamed" : "random");
    step_layout(m, pw, c, lc, false, false, ref, what);
    if (P > 1 && fine_splits && lc > 1) step_layout(m, pw, c, lc, false, true, ref, what);
    if (P > 1 && coarse_splits && invrg_dream_packed_supports(m, P))
      step_layout(m, pw, c, lc, true, true, ref, what);
  }
  invrg_planes_table_no_vbmi(false);
  unsetenv("INVRG_SIMD");
  invrg_simd_reset();
  free(ref);
  free(c);
}

static void test_reference(void) {
  /* 1: the seed; 2, 4, 6: part of a word; 34 … 200: L = 68 … 400, one to four words a row, the
   * last partial but at 64 */
  const int sizes[] = {1, 2, 4, 6, 34, 62, 64, 66, 130, 200};
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

static const mpi_test_case cases[] = {{"reference", test_reference, true}};

int main(int argc, char **argv) { return MPI_TEST_MAIN(argc, argv, cases); }
