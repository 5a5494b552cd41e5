/*
 * Dreams on every layout of 1, 2 and 4 ranks (replicated; grids 1x2, 2x1, 1x4, 2x2, 4x1):
 * samples dreamed level by level on lattices held as stage dream holds them — whole while the
 * grid cannot split them, distributed from then on, so one step reads a whole coarse lattice
 * into fine blocks — give at every level the spins of invrg_dream_step() on whole arrays, bit
 * for bit (checksums), for sym3, sym5, sym7 and conv with k = 3, with the halo the model needs
 * and a wider one. Blocks two sites wide exercise the site-by-site rows, wider ones the
 * Philox-block rows. conv with k = 7 does not distribute: an input error on blocks.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/config.h"
#include "invrg/dream.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/log.h"

#include "mpi/mpi_test.h"
#include "mpi/test_models.h"
#include "mpi/mpi_layouts.h"

static const uint64_t seed = 2024;

static invrg_model *make_model(invrg_model_kind kind, int kernel) {
  return test_model_make(kind, kernel, 31);
}

/* The lattices of levels 0 … levels: distributed where the grid can split them with @p halo. */
static void make_lattices(const invrg_groups *g, int levels, int halo, invrg_lattice **lat) {
  for (int level = 0; level <= levels; level++) {
    const int64_t L = (int64_t)1 << level;
    if (g->ranks_per_group > 1 && invrg_groups_can_distribute(g, L, L, halo))
      OK(invrg_lattice_create_distributed(g, L, L, halo, &lat[level]));
    else
      OK(invrg_lattice_create_replicated(L, L, halo, &lat[level]));
  }
}

/* Samples 0 and 1 from 1 x 1 to 2^levels on the lattices and on whole arrays, level by level. */
static void test_model(const invrg_groups *g, const invrg_model *m, int halo, int levels) {
  invrg_dream_work *w = NULL;
  OK(invrg_dream_work_create(m, 1 << (levels - 1), &w));
  invrg_lattice *lat[16] = {NULL};
  make_lattices(g, levels, halo, lat);
  const size_t n_max = (size_t)1 << (2 * levels);
  int8_t *ref = malloc(n_max), *next = malloc(n_max);
  for (uint64_t sample = 0; sample < 2; sample++) {
    ref[0] = invrg_dream_seed_spin(INVRG_DREAM_START_ALTERNATE, seed, sample);
    lat[0]->data[invrg_lattice_index(lat[0], 0, 0)] = ref[0];
    OK(invrg_lattice_halo_exchange(lat[0]));
    for (int level = 1; level <= levels; level++) {
      const int lc = 1 << (level - 1);
      OK(invrg_dream_step_lattice(m, lat[level - 1], lat[level], seed, sample, level, w));
      OK(invrg_lattice_halo_exchange(lat[level]));
      invrg_dream_step(m, ref, lc, seed, sample, level, next, w);
      memcpy(ref, next, 4 * (size_t)lc * (size_t)lc);
      uint64_t sum = 0;
      OK(invrg_lattice_checksum(lat[level], &sum));
      EXPECT(sum == invrg_lattice_checksum_array(ref, 2 * lc, 2 * lc),
             "%s k = %d, halo %d, sample %llu, level %d (%s, block %d x %d): spins differ from the "
             "whole-array step",
             invrg_model_kind_name(m->kind), m->kernel, halo, (unsigned long long)sample, level,
             lat[level]->mode == INVRG_LATTICE_DISTRIBUTED ? "distributed" : "replicated",
             lat[level]->nx, lat[level]->ny);
    }
  }
  for (int level = 0; level <= levels; level++) invrg_lattice_destroy(&lat[level]);
  invrg_dream_work_destroy(&w);
  free(ref);
  free(next);
}

/* conv k = 7 needs whole lattices: a step into distributed blocks is an input error. */
static void test_refusal(const invrg_groups *g) {
  invrg_model *m = make_model(INVRG_MODEL_KIND_CONV, 7);
  EXPECT(!invrg_dream_distributes(m), "conv k = 7 says it distributes");
  if (g->ranks_per_group > 1 && invrg_groups_can_distribute(g, 16, 16, 2)) {
    invrg_dream_work *w = NULL;
    invrg_lattice *coarse = NULL, *fine = NULL;
    OK(invrg_dream_work_create(m, 8, &w));
    OK(invrg_lattice_create_distributed(g, 8, 8, 2, &coarse));
    OK(invrg_lattice_create_distributed(g, 16, 16, 2, &fine));
    invrg_err err = invrg_dream_step_lattice(m, coarse, fine, seed, 0, 4, w);
    EXPECT(err == INVRG_ERR_INPUT, "conv k = 7 on blocks returned %d, not an input error", (int)err);
    invrg_lattice_destroy(&fine);
    invrg_lattice_destroy(&coarse);
    invrg_dream_work_destroy(&w);
  }
  invrg_model_destroy(&m);
}

/* Every model on every layout of the world. */
static void test_layouts(void) {
  const struct {
    invrg_model_kind kind;
    int kernel;
  } models[] = {{INVRG_MODEL_KIND_SYM3, 3},
                {INVRG_MODEL_KIND_SYM5, 5},
                {INVRG_MODEL_KIND_SYM7, 7},
                {INVRG_MODEL_KIND_CONV, 3}};
  layout ls[8];
  const int n_layouts = layouts(ls);
  for (int l = 0; l < n_layouts; l++) {
    invrg_groups *g = make_groups(ls[l]);
    snprintf(where, sizeof where, "%d rank(s) per group, grid %d x %d", g->ranks_per_group, g->px,
             g->py);
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
      invrg_model *m = make_model(models[k].kind, models[k].kernel);
      EXPECT(invrg_dream_distributes(m), "%s k = %d does not distribute",
             invrg_model_kind_name(m->kind), m->kernel);
      const int halo = invrg_dream_halo(m);
      test_model(g, m, halo, 7);
      test_model(g, m, halo + 1, 7);
      invrg_model_destroy(&m);
    }
    test_refusal(g);
    invrg_groups_destroy(&g);
  }
  if (world_rank == 0) printf("%d layouts\n", n_layouts);
}

static const mpi_test_case cases[] = {{"layouts", test_layouts, true}};

int main(int argc, char **argv) { return MPI_TEST_MAIN(argc, argv, cases); }
