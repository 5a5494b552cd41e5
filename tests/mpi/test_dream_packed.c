/*
 * Packed dreams (dream_packed.h) on 1, 2 and 4 ranks: samples dreamed level by level from
 * 1 x 1 to 256² on packed lattices held whole while the ranks cannot split them by rows (or
 * always whole: the levels a rank dreams alone) and split from then on, give at every level
 * the spins of invrg_dream_step() on whole int8 arrays, bit for bit (every site compared),
 * for sym3, sym5, sym7 (whole only: its window reaches two coarse rows) and conv with k = 3.
 * Small work buffers force many strips per rank. sym7 and conv k = 7 on split lattices are
 * refused.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/dream.h"
#include "invrg/dream_packed.h"
#include "invrg/packed.h"

#include "mpi/mpi_test.h"

static const uint64_t seed = 77;
enum { LEVELS = 8 };

/* A model with parameters from a fixed stream: sym θ in [−1, 1), conv its initial ones. */
static invrg_model *make_model(invrg_model_kind kind, int kernel) {
  invrg_model *m = NULL;
  OK(invrg_model_create(kind, kernel, 8, &m));
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 5, INVRG_RNG_TRAIN, 0, 0);
  invrg_model_init_params(m, &s);
  if (m->family == INVRG_MODEL_SYM)
    for (int i = 0; i < m->n_params; i++) m->params[i] = 2 * m->params[i] - 1;
  return m;
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
  OK(invrg_dream_packed_work_create(m, 1 << (LEVELS - 1), &pw));
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
    OK(invrg_dream_packed_work_create(sym7, 16, &pw));
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

static const mpi_test_case cases[] = {{"models", test_models, true},
                                      {"refusals", test_refusals, true}};

int main(int argc, char **argv) { return MPI_TEST_MAIN(argc, argv, cases); }
