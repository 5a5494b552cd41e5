/*
 * Packed dreams (dream_packed.h) on 1, 2 and 4 ranks: samples dreamed level by level from
 * 1 x 1 to 256² on packed lattices held whole while the ranks cannot split them by rows (or
 * always whole: the levels a rank dreams alone) and split from then on, give at every level
 * the spins of invrg_dream_step() on whole int8 arrays, bit for bit (every site compared),
 * for sym3, sym5, sym7 (whole only: its window reaches two coarse rows) and conv with k = 3.
 * Small work buffers force many strips per rank. sym7 and conv k = 7 on split lattices are
 * refused.
 *
 * Random bit planes (sym3): every spin of a step against dream_packed.h's random numbers written
 * out bit by bit; a model whose spins are sure (every threshold 0 or 2^32 − 1) sets
 * every fine spin to the sign its coarse neighbours give, edges included; the same fine level
 * whole on one rank, split over 2 and 4 ranks
 * and at every SIMD level; and the exact distribution: over many samples of one step from a
 * fixed coarse lattice, the up frequency of the fine spins of each of sym3's 12 classes (read
 * from the coarse neighbours here, independently of the kernel) against T·2^-32, within
 * 4.5 binomial standard deviations (family-wise 1e-4 over the classes).
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
#include "ml/dream_planes.h"

#include "mpi/mpi_test.h"
#include "mpi/test_models.h"

static const uint64_t seed = 77;
enum { LEVELS = 8 };

static invrg_model *make_model(invrg_model_kind kind, int kernel) {
  return test_model_make(kind, kernel, 5);
}

/* Every interior site of @p p against the whole array @p ref (L × L, row-major). */
static int64_t count_differences(const invrg_packed *p, const int8_t *ref) {
  int64_t bad = 0;
  for (int j = 0; j < p->ny; j++)
    for (int64_t x = 0; x < p->lx; x++)
      bad += invrg_packed_get(p, x, j) != ref[(p->y0 + j) * p->lx + x];
  int64_t total = 0;
  MPI_Allreduce(&bad, &total, 1, MPI_INT64_T, MPI_SUM, p->comm);
  return total;
}

/* Samples 0 … 2, level by level; @p split: lattices split by rows where the ranks can. */
static void test_model(const invrg_model *m, bool split) {
  invrg_dream_packed_work *pw = NULL;
  invrg_dream_work *w = NULL;
  OK(invrg_dream_packed_work_create(m, 1 << (LEVELS - 1), false, &pw));
  OK(invrg_dream_work_create(m, 1 << (LEVELS - 1), &w));
  invrg_packed *lat[LEVELS + 1] = {NULL};
  invrg_dream_packed_work_limit_strip(pw, 3); /* several strips per rank, one a short one */
  for (int level = 1; level <= LEVELS; level++) {
    const int64_t L = (int64_t)1 << level;
    const bool rows = split && L % world_size == 0 && L / world_size >= 2;
    OK(invrg_packed_create(rows ? MPI_COMM_WORLD : MPI_COMM_SELF, L, L, &lat[level]));
  }
  const size_t n_max = (size_t)1 << (2 * LEVELS);
  int8_t *ref = malloc(n_max), *next = malloc(n_max);
  for (uint64_t sample = 0; sample < 3; sample++) {
    const int8_t ref_seed = invrg_dream_seed_spin(INVRG_DREAM_START_RANDOM, seed, sample);
    ref[0] = ref_seed;
    for (int level = 1; level <= LEVELS; level++) {
      const int lc = 1 << (level - 1);
      invrg_dream_step(m, ref, lc, seed, sample, level, next, w);
      memcpy(ref, next, 4 * (size_t)lc * (size_t)lc);
      if (level == 1) {
        OK(invrg_dream_packed_first_step(m, ref_seed, lat[1], seed, sample, pw));
      } else {
        OK(invrg_dream_packed_step(m, lat[level - 1], lat[level], seed, sample, level, pw));
      }
      OK(invrg_packed_halo_exchange(lat[level]));
      const int64_t bad = count_differences(lat[level], ref);
      EXPECT(bad == 0,
             "%s k = %d, sample %llu, level %d (%s): %lld sites differ from the int8 step",
             invrg_model_kind_name(m->kind), m->kernel, (unsigned long long)sample, level,
             lat[level]->size > 1 ? "split" : "whole", (long long)bad);
    }
  }
  for (int level = 1; level <= LEVELS; level++) invrg_packed_destroy(&lat[level]);
  invrg_dream_packed_work_destroy(&pw);
  invrg_dream_work_destroy(&w);
  free(ref);
  free(next);
}

static void test_models(void) {
  const struct {
    invrg_model_kind kind;
    int kernel;
  } models[] = {{INVRG_MODEL_KIND_SYM3, 3},
                {INVRG_MODEL_KIND_SYM5, 5},
                {INVRG_MODEL_KIND_SYM7, 7},
                {INVRG_MODEL_KIND_CONV, 3}};
  for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
    invrg_model *m = make_model(models[k].kind, models[k].kernel);
    snprintf(where, sizeof where, "%s k = %d", invrg_model_kind_name(m->kind), m->kernel);
    test_model(m, false);
    if (invrg_dream_packed_supports(m, world_size)) test_model(m, true);
    invrg_model_destroy(&m);
  }
}

/* What cannot dream on split packed lattices says so, before and at the step. */
static void test_refusals(void) {
  invrg_model *sym7 = make_model(INVRG_MODEL_KIND_SYM7, 7);
  invrg_model *conv7 = make_model(INVRG_MODEL_KIND_CONV, 7);
  EXPECT(invrg_dream_packed_supports(sym7, 1), "sym7 refused on one rank");
  EXPECT(!invrg_dream_packed_supports(sym7, 2), "sym7 accepted on split lattices");
  EXPECT(!invrg_dream_packed_supports(conv7, 1), "conv k = 7 accepted");
  if (world_size > 1) {
    invrg_dream_packed_work *pw = NULL;
    invrg_packed *coarse = NULL, *fine = NULL;
    OK(invrg_dream_packed_work_create(sym7, 16, false, &pw));
    OK(invrg_packed_create(MPI_COMM_WORLD, 16, 16, &coarse));
    OK(invrg_packed_create(MPI_COMM_WORLD, 32, 32, &fine));
    EXPECT(invrg_dream_packed_step(sym7, coarse, fine, seed, 0, 5, pw) == INVRG_ERR_RUNTIME,
           "sym7 dreamed on split packed lattices");
    invrg_packed_destroy(&fine);
    invrg_packed_destroy(&coarse);
    invrg_dream_packed_work_destroy(&pw);
  }
  invrg_model_destroy(&conv7);
  invrg_model_destroy(&sym7);
}

/* ------------------------------------------------------------------ random bit planes */

/* A sym3 model with the published parameters (its 12 thresholds spread over (0, 1)). */
static invrg_model *published_sym3(void) {
  invrg_model *m = make_model(INVRG_MODEL_KIND_SYM3, 3);
  m->params[0] = 0.5459, m->params[1] = 0.62776, m->params[2] = 1.40962;
  return m;
}

/* A coarse L × L lattice filled from a fixed stream, whole on this rank or split. */
static invrg_packed *random_coarse(MPI_Comm comm, int64_t L) {
  invrg_packed *p = NULL;
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 9, INVRG_RNG_INIT, 0, 0);
  OK(invrg_packed_create(comm, L, L, &p));
  OK(invrg_packed_fill_random(p, &s));
  return p;
}

/* Every site of @p fine (split or whole) against the whole @p ref; a padding bit of @p fine
 * that is not 0 counts too. */
static int64_t packed_differences(const invrg_packed *fine, const invrg_packed *ref) {
  int64_t bad = 0;
  const int64_t sites = fine->lx / 2; /* of a colour row */
  for (int j = 0; j < fine->ny; j++) {
    for (int64_t x = 0; x < fine->lx; x++)
      bad += invrg_packed_get(fine, x, j) != invrg_packed_get(ref, x, (int)(fine->y0 + j));
    for (int c = 0; c < 2; c++)
      for (int64_t i = sites / 64; i < fine->words; i++)
        bad += (invrg_packed_row(fine, c, j)[i] >> (i == sites / 64 ? sites % 64 : 0)) != 0;
  }
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  return bad;
}

/* One planes step lc → 2lc on split lattices and at every SIMD level equals the whole one. */
static void test_planes_layouts(void) {
  invrg_model *m = published_sym3();
  const int64_t sizes[] = {4, 32, 64, 96, 256, 1000, 1024}; /* rows of a partial word … 16 words */
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    const int64_t lc = sizes[k];
    invrg_dream_packed_work *pw = NULL;
    invrg_packed *whole_c = random_coarse(MPI_COMM_SELF, lc), *whole_f = NULL;
    OK(invrg_dream_packed_work_create(m, lc, true, &pw));
    OK(invrg_packed_create(MPI_COMM_SELF, 2 * lc, 2 * lc, &whole_f));
    invrg_simd_level levels[] = {INVRG_SIMD_GENERIC, INVRG_SIMD_AVX2, INVRG_SIMD_AVX512};
    setenv("INVRG_SIMD", "generic", 1);
    invrg_simd_reset();
    OK(invrg_dream_packed_step(m, whole_c, whole_f, seed, 3, 6, pw));
    for (int l = 1; l < 3; l++) {
      if (!invrg_simd_runs(levels[l])) continue;
      invrg_packed *f = NULL;
      setenv("INVRG_SIMD", invrg_simd_name(levels[l]), 1);
      invrg_simd_reset();
      OK(invrg_packed_create(MPI_COMM_SELF, 2 * lc, 2 * lc, &f));
      OK(invrg_dream_packed_step(m, whole_c, f, seed, 3, 6, pw));
      EXPECT(packed_differences(f, whole_f) == 0, "planes at %s differ from generic, lc = %lld",
             invrg_simd_name(levels[l]), (long long)lc);
      invrg_packed_destroy(&f);
    }
    unsetenv("INVRG_SIMD");
    invrg_simd_reset();
    for (int words = 0; words <= 16 && (lc + 63) / 64 % 8 == 0; words += 8) { /* in place */
      invrg_packed *f = NULL; /* copies (0), pieces of 8 words (a row in parts), of 16 */
      invrg_planes_in_place(words);
      OK(invrg_packed_create(MPI_COMM_SELF, 2 * lc, 2 * lc, &f));
      OK(invrg_dream_packed_step(m, whole_c, f, seed, 3, 6, pw));
      EXPECT(packed_differences(f, whole_f) == 0, "pieces of %d words in place differ, lc = %lld",
             words, (long long)lc);
      invrg_packed_destroy(&f);
    }
    invrg_planes_in_place(-1);
    if (lc % world_size == 0 && lc / world_size >= 2) { /* coarse and fine split by rows */
      invrg_packed *c = random_coarse(MPI_COMM_WORLD, lc), *f = NULL;
      OK(invrg_packed_create(MPI_COMM_WORLD, 2 * lc, 2 * lc, &f));
      OK(invrg_dream_packed_step(m, c, f, seed, 3, 6, pw));
      EXPECT(packed_differences(f, whole_f) == 0, "planes split over %d ranks differ, lc = %lld",
             world_size, (long long)lc);
      invrg_packed_destroy(&f);
      invrg_packed_destroy(&c);
    }
    invrg_packed_destroy(&whole_f);
    invrg_packed_destroy(&whole_c);
    invrg_dream_packed_work_destroy(&pw);
  }
  invrg_model_destroy(&m);
}

/* sym3's class of fine site (x, y) from the coarse lattice: P·6 + n·2 + d (dream.h). */
static int sym3_class(const invrg_packed *c, int64_t x, int64_t y) {
  const int64_t lc = c->lx, X = x >> 1, Y = y >> 1;
  const int64_t Yv = (Y + ((y & 1) ? 1 : -1) + lc) % lc, Xh = (X + ((x & 1) ? 1 : -1) + lc) % lc;
  const int P = invrg_packed_get(c, X, (int)Y) > 0, V = invrg_packed_get(c, X, (int)Yv) > 0,
            H = invrg_packed_get(c, Xh, (int)Y) > 0, D = invrg_packed_get(c, Xh, (int)Yv) > 0;
  return P * 6 + (V + H) * 2 + D;
}

/* dream.h's sym3 thresholds at P·6 + n·2 + d, from the formula written out here. */
static void sym3_thresholds_here(const invrg_model *m, uint32_t T[12]) {
  const double a = m->params[0], b = m->params[1], c = m->params[2];
  for (int k = 0; k < 12; k++) {
    const int p = k / 6, n = (k / 2) % 3, d = k % 2;
    const double z = 0.5 * ((c + 2 * b + a) * (2 * p - 1) + (a + b) * (2 * n - 2) +
                            a * (2 * d - 1));
    T[k] = (uint32_t)fmin(nearbyint(4294967296.0 / (1 + exp(-z))), 4294967295.0);
  }
}

/*
 * The random numbers of dream_packed.h, written out: site k of word i of colour c of fine row gy
 * has u with bit 31 − j = bit k mod 32 of word j mod 4 of block (2w + k / 32, j / 4), w = (c·L +
 * gy)·W + i, and is up iff u < T of its class. Every site of one step (all 32 bits of every u,
 * which decide the same as the planes drawn only while undecided).
 */
static void test_planes_formula(void) {
  invrg_model *m = published_sym3();
  uint32_t T[12];
  sym3_thresholds_here(m, T);
  const int64_t lc = 96, L = 2 * lc; /* two words per colour row, the second one partial */
  invrg_dream_packed_work *pw = NULL;
  invrg_packed *c = random_coarse(MPI_COMM_SELF, lc), *f = NULL;
  OK(invrg_dream_packed_work_create(m, lc, true, &pw));
  OK(invrg_packed_create(MPI_COMM_SELF, L, L, &f));
  OK(invrg_dream_packed_step(m, c, f, seed, 5, 8, pw));
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_DREAM, 5, 8);
  int64_t bad = 0;
  for (int64_t gy = 0; gy < L; gy++)
    for (int64_t x = 0; x < L; x++) {
      const int col = (int)((x + gy) & 1);
      const int64_t k = x >> 1, i = k / 64, w = (col * L + gy) * f->words + i;
      uint32_t u = 0;
      for (int j = 0; j < 32; j++) {
        uint32_t block[4];
        invrg_rng_u32x4(&s, (uint64_t)(2 * w + (k % 64) / 32), (uint32_t)(j / 4), block);
        u |= (block[j % 4] >> (k % 32) & 1u) << (31 - j);
      }
      const int up = u < T[sym3_class(c, x, gy)];
      bad += invrg_packed_get(f, x, (int)gy) != (up ? 1 : -1);
    }
  EXPECT(bad == 0, "%lld of %lld fine spins differ from the documented random numbers",
         (long long)bad, (long long)(L * L));
  invrg_packed_destroy(&f);
  invrg_packed_destroy(&c);
  invrg_dream_packed_work_destroy(&pw);
  invrg_model_destroy(&m);
}

static void test_planes_distribution(void) {
  invrg_model *m = published_sym3();
  uint32_t T[2][3][2];
  const double a = m->params[0], b = m->params[1], cc = m->params[2];
  for (int p = 0; p < 2; p++) /* dream.h's thresholds, from the formula here */
    for (int n = 0; n < 3; n++)
      for (int d = 0; d < 2; d++) {
        const double z = 0.5 * ((cc + 2 * b + a) * (2 * p - 1) + (a + b) * (2 * n - 2) +
                                a * (2 * d - 1));
        T[p][n][d] = (uint32_t)fmin(nearbyint(4294967296.0 / (1 + exp(-z))), 4294967295.0);
      }
  const int64_t lc = 64;
  invrg_dream_packed_work *pw = NULL;
  invrg_packed *c = random_coarse(MPI_COMM_SELF, lc), *f = NULL;
  OK(invrg_dream_packed_work_create(m, lc, true, &pw));
  OK(invrg_packed_create(MPI_COMM_SELF, 2 * lc, 2 * lc, &f));
  int64_t up[12] = {0}, all[12] = {0};
  for (uint64_t sample = (uint64_t)world_rank; sample < 400; sample += (uint64_t)world_size) {
    OK(invrg_dream_packed_step(m, c, f, seed, sample, 7, pw));
    for (int64_t y = 0; y < 2 * lc; y++)
      for (int64_t x = 0; x < 2 * lc; x++) {
        const int k = sym3_class(c, x, y);
        all[k]++;
        up[k] += invrg_packed_get(f, x, (int)y) > 0;
      }
  }
  MPI_Allreduce(MPI_IN_PLACE, up, 12, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, all, 12, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  for (int k = 0; k < 12; k++) {
    const double q = T[k / 6][(k / 2) % 3][k % 2] / 4294967296.0, n = (double)all[k];
    const double z = n > 0 ? ((double)up[k] - n * q) / sqrt(n * q * (1 - q)) : 0;
    EXPECT(all[k] > 1000 && fabs(z) < 4.5,
           "class %d: %lld of %lld up, expected P = %.6f: %.2f sigma", k, (long long)up[k],
           (long long)all[k], q, z);
  }
  invrg_packed_destroy(&f);
  invrg_packed_destroy(&c);
  invrg_dream_packed_work_destroy(&pw);
  invrg_model_destroy(&m);
}

/*
 * The wiring: with a = 100, b = 400, c = 100, z = 500 μP + 250 (μV + μH) + 50 μD is never 0 and
 * |z| ≥ 50, so every threshold is 0 or 2^32 − 1 and each fine spin is the sign of z (up to a
 * chance of 2^-32): every site of a step, edges included, against that sign.
 */
static void test_planes_wiring(void) {
  invrg_model *m = make_model(INVRG_MODEL_KIND_SYM3, 3);
  m->params[0] = 100, m->params[1] = 400, m->params[2] = 100;
  invrg_planes_in_place(INVRG_PLANES_PIECE); /* sym3's rows of whole 8-word groups too */
  const int64_t sizes[] = {2, 4, 6, 62, 64, 66, 130, 500}; /* 500: 8 words a row, read in place */
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    const int64_t lc = sizes[k];
    const bool split = lc % world_size == 0 && lc / world_size >= 2;
    const MPI_Comm comm = split ? MPI_COMM_WORLD : MPI_COMM_SELF;
    invrg_dream_packed_work *pw = NULL;
    invrg_packed *c = random_coarse(comm, lc), *whole = random_coarse(MPI_COMM_SELF, lc), *f = NULL;
    OK(invrg_dream_packed_work_create(m, lc, true, &pw));
    OK(invrg_packed_create(comm, 2 * lc, 2 * lc, &f));
    OK(invrg_dream_packed_step(m, c, f, seed, 0, 4, pw));
    int64_t bad = 0;
    for (int j = 0; j < f->ny; j++)
      for (int64_t x = 0; x < 2 * lc; x++) {
        const int64_t y = f->y0 + j, X = x >> 1, Y = y >> 1;
        const int64_t Yv = (Y + ((y & 1) ? 1 : -1) + lc) % lc,
                      Xh = (X + ((x & 1) ? 1 : -1) + lc) % lc;
        const int z = 500 * invrg_packed_get(whole, X, (int)Y) +
                      250 * (invrg_packed_get(whole, X, (int)Yv) +
                             invrg_packed_get(whole, Xh, (int)Y)) +
                      50 * invrg_packed_get(whole, Xh, (int)Yv);
        bad += invrg_packed_get(f, x, j) != (z > 0 ? 1 : -1);
      }
    MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    EXPECT(bad == 0, "lc = %lld (%s): %lld fine spins are not the sign of their z", (long long)lc,
           split ? "split" : "whole", (long long)bad);
    invrg_packed_destroy(&f);
    invrg_packed_destroy(&whole);
    invrg_packed_destroy(&c);
    invrg_dream_packed_work_destroy(&pw);
  }
  invrg_planes_in_place(-1);
  invrg_model_destroy(&m);
}

static const mpi_test_case cases[] = {{"models", test_models, true},
                                      {"refusals", test_refusals, true},
                                      {"planes_wiring", test_planes_wiring, true},
                                      {"planes_formula", test_planes_formula, true},
                                      {"planes_layouts", test_planes_layouts, true},
                                      {"planes_distribution", test_planes_distribution, true}};

int main(int argc, char **argv) { return MPI_TEST_MAIN(argc, argv, cases); }
