/* Dreaming: sampling fine configurations from an inverse-RG model, one level at a time.
 *
 * The API of dream.h: seed spins, the work, and a step sent down one of three paths, each the
 * same spins on every layout:
 * - sym3: its closed form, 12 thresholds (and a vector row) — dream_sym3.c;
 * - window tables: a model whose fine site depends on an n × n window of coarse spins with
 *   n² ≤ 16 (sym5, sym7, conv with k ≤ 3) is a table of thresholds per child position and
 *   window pattern, computed once per work — dream_table.c;
 * - the others (conv with k ≥ 5): the logits of invrg_model_logits() on whole lattices — here.
 * Here too the random words of a fine row, which every path draws its spins from. */
#include "invrg/dream.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/rng.h"
#include "invrg/simd.h"
#include "ml/dream_internal.h"

int8_t invrg_dream_seed_spin(invrg_dream_start start, uint64_t seed, uint64_t sample) {
  if (start == INVRG_DREAM_START_UP) return 1;
  if (start == INVRG_DREAM_START_ALTERNATE) return sample % 2 == 0 ? 1 : -1;
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_DREAM, sample, 0);
  return invrg_rng_coin(&s, 0, 1) ? 1 : -1;
}

/* ------------------------------------------------------------------ work */

invrg_err invrg_dream_work_create(const invrg_model *m, int max_lc, invrg_dream_work **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_dream_work *w = calloc(1, sizeof *w);
  INVRG_CHECK_ALLOC(w);
  w->max_lc = max_lc;
  w->model_lc = -1;
  const size_t L = 2 * (size_t)max_lc;
  w->words = malloc(4 * (L / 4 + 3) * sizeof *w->words);
  w->pad = malloc(2 * ((size_t)max_lc + 4));
  INVRG_CHECK_ALLOC(w->words);
  INVRG_CHECK_ALLOC(w->pad);
  if (invrg_dream_has_table(m)) {
    INVRG_CALL(invrg_dream_table_create(m, &w->table));
    /* a coarse row with its margins, and room for the vector row's 16-pattern loads */
    const size_t cols = (size_t)max_lc + 2 * (size_t)w->table.margin + 32;
    w->codes = calloc(cols, sizeof *w->codes);
    w->patterns = calloc(cols, sizeof *w->patterns);
    INVRG_CHECK_ALLOC(w->codes);
    INVRG_CHECK_ALLOC(w->patterns);
  } else if (m->kind != INVRG_MODEL_KIND_SYM3) { /* logits for the generic path only */
    w->z = malloc(L * L * sizeof *w->z);
    INVRG_CHECK(w->z != NULL, INVRG_ERR_RUNTIME, "out of memory for the logits of %zu x %zu sites",
                L, L);
  }
cleanup:
  if (err != INVRG_SUCCESS) invrg_dream_work_destroy(&w);
  *out = w;
  return err;
}

void invrg_dream_work_destroy(invrg_dream_work **wp) {
  if (wp == NULL || *wp == NULL) return;
  free((*wp)->table.T);
  free((*wp)->codes);
  free((*wp)->patterns);
  free((*wp)->z);
  free((*wp)->words);
  free((*wp)->pad);
  invrg_model_work_destroy(&(*wp)->model);
  free(*wp);
  *wp = NULL;
}

/* ------------------------------------------------------------------ random words, vector rows */

void invrg_dream_segment_words(const invrg_rng_stream *s, uint64_t g, int n, uint32_t *words,
                               size_t stride, uint64_t *first_block) {
  *first_block = g >> 2;
  invrg_rng_blocks_range(s, g >> 2, (int)(((g + (uint64_t)n - 1) >> 2) - (g >> 2) + 1), 0, words,
                         stride);
}

bool invrg_dream_use_avx2(void) { return invrg_simd_active() >= INVRG_SIMD_AVX2; }

/* ------------------------------------------------------------------ generic path */

/* Models without a table (conv with k ≥ 5): the logits of the whole fine lattice, then one
 * threshold per site. */
static void generic_step(const invrg_model *m, const int8_t *coarse, int lc,
                         const invrg_rng_stream *s, int8_t *fine, invrg_dream_work *w) {
  if (w->model_lc != lc) { /* scratch of the model for this size */
    invrg_model_work_destroy(&w->model);
    invrg_model_work_create(m, lc, &w->model);
    w->model_lc = lc;
  }
  invrg_model_logits(m, coarse, lc, w->z, w->model);
  const int L = 2 * lc;
  const size_t stride = (size_t)L / 4 + 3;
  for (int y = 0; y < L; y++) {
    uint64_t first, g = (uint64_t)y * (uint64_t)L;
    invrg_dream_segment_words(s, g, L, w->words, stride, &first);
    for (int x = 0; x < L; x++, g++)
      fine[y * L + x] = draw_spin(w->words, stride, first, g, threshold_of(w->z[y * L + x]));
  }
}

void invrg_dream_step(const invrg_model *m, const int8_t *coarse, int lc, uint64_t seed,
                      uint64_t sample, int level, int8_t *fine, invrg_dream_work *w) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_DREAM, sample, (uint64_t)level);
  if (m->kind == INVRG_MODEL_KIND_SYM3) {
    invrg_dream_sym3_step(m, coarse, (size_t)lc, lc, &s, fine, (size_t)(2 * lc), w);
  } else if (w->table.T != NULL) {
    invrg_dream_table_step(coarse, lc, &s, fine, w);
  } else {
    generic_step(m, coarse, lc, &s, fine, w);
  }
}

/* ------------------------------------------------------------------ on lattices */

int invrg_dream_halo(const invrg_model *m) {
  if (m->kind == INVRG_MODEL_KIND_SYM3) return m->reach;
  return invrg_dream_has_table(m) ? invrg_dream_table_geometry(m).margin : 0;
}

bool invrg_dream_distributes(const invrg_model *m) {
  return m->kind == INVRG_MODEL_KIND_SYM3 || invrg_dream_has_table(m);
}

invrg_err invrg_dream_step_lattice(const invrg_model *m, const invrg_lattice *coarse,
                                   invrg_lattice *fine, uint64_t seed, uint64_t sample, int level,
                                   invrg_dream_work *w) {
  invrg_err err = INVRG_SUCCESS;
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_DREAM, sample, (uint64_t)level);
  const bool whole = fine->mode == INVRG_LATTICE_REPLICATED && coarse->mode == INVRG_LATTICE_REPLICATED;
  INVRG_CHECK(fine->mode == INVRG_LATTICE_DISTRIBUTED || whole, INVRG_ERR_RUNTIME,
              "a whole fine lattice needs a whole coarse one");
  INVRG_CHECK(invrg_dream_has_table(m) == (w->table.T != NULL), INVRG_ERR_RUNTIME,
              "the dream work was made for another model than this %s",
              invrg_model_kind_name(m->kind));
  /* the work's row buffers hold rows of up to 2·max_lc fine sites */
  INVRG_CHECK(fine->lx == 2 * coarse->lx && fine->ly == 2 * coarse->ly && coarse->lx == coarse->ly &&
                  coarse->lx <= w->max_lc,
              INVRG_ERR_RUNTIME,
              "dream step: %lld x %lld from %lld x %lld with work for coarse sizes up to %d",
              (long long)fine->lx, (long long)fine->ly, (long long)coarse->lx,
              (long long)coarse->ly, w->max_lc);
  if (m->kind == INVRG_MODEL_KIND_SYM3) {
    if (whole) /* the closed form, in place */
      invrg_dream_sym3_step(m, coarse->data + invrg_lattice_index(coarse, 0, 0),
                            (size_t)coarse->sx, coarse->nx, &s,
                            fine->data + invrg_lattice_index(fine, 0, 0), (size_t)fine->sx, w);
    else
      invrg_dream_sym3_step_block(m, coarse, fine, &s, w);
    goto cleanup;
  }
  if (w->table.T != NULL) {
    INVRG_CALL(invrg_dream_table_step_lattice(coarse, fine, &s, w));
    goto cleanup;
  }
  INVRG_CHECK(whole, INVRG_ERR_INPUT,
              "a %s model with kernel %d dreams on one rank per sample in this version "
              "(ranks_per_group = 1)",
              invrg_model_kind_name(m->kind), m->kernel);
  /* Whole lattices: the logits path on copies of the interiors. */
  const int lc = coarse->nx, L = fine->nx;
  int8_t *c = malloc((size_t)lc * (size_t)lc), *out = malloc((size_t)L * (size_t)L);
  const bool allocated = c != NULL && out != NULL;
  if (allocated) {
    for (int j = 0; j < lc; j++)
      memcpy(c + (size_t)j * (size_t)lc, coarse->data + invrg_lattice_index(coarse, 0, j), (size_t)lc);
    invrg_dream_step(m, c, lc, seed, sample, level, out, w);
    for (int j = 0; j < L; j++)
      memcpy(fine->data + invrg_lattice_index(fine, 0, j), out + (size_t)j * (size_t)L, (size_t)L);
  }
  free(c);
  free(out);
  INVRG_CHECK(allocated, INVRG_ERR_RUNTIME, "out of memory dreaming %d x %d", L, L);
cleanup:
  return err;
}
