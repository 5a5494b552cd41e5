/* Dreaming: sampling fine configurations from an inverse-RG model, one level at a time. */
#include "invrg/dream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/rng.h"

struct invrg_dream_work {
  int max_lc;
  double *z;                /* logits of one fine lattice */
  uint32_t *words;          /* random words of one fine row: [4][row/4 + 1] */
  invrg_model_work *model;  /* per coarse size; rebuilt when the size changes */
  int model_lc;
};

int8_t invrg_dream_seed_spin(invrg_dream_start start, uint64_t seed, uint64_t sample) {
  if (start == INVRG_DREAM_START_UP) return 1;
  if (start == INVRG_DREAM_START_ALTERNATE) return sample % 2 == 0 ? 1 : -1;
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_DREAM, sample, 0);
  return invrg_rng_coin(&s, 0, 1) ? 1 : -1;
}

invrg_err invrg_dream_work_create(const invrg_model *m, int max_lc, invrg_dream_work **out) {
  invrg_err err = INVRG_SUCCESS;
  (void)m;
  invrg_dream_work *w = calloc(1, sizeof *w);
  INVRG_CHECK_ALLOC(w);
  w->max_lc = max_lc;
  size_t L = 2 * (size_t)max_lc;
  w->z = malloc(L * L * sizeof *w->z);
  w->words = malloc(4 * (L / 4 + 2) * sizeof *w->words);
  INVRG_CHECK_ALLOC(w->z);
  INVRG_CHECK_ALLOC(w->words);
  w->model_lc = -1;
cleanup:
  if (err != INVRG_SUCCESS) invrg_dream_work_destroy(&w);
  *out = w;
  return err;
}

void invrg_dream_work_destroy(invrg_dream_work **wp) {
  if (wp == NULL || *wp == NULL) return;
  free((*wp)->z);
  free((*wp)->words);
  invrg_model_work_destroy(&(*wp)->model);
  free(*wp);
  *wp = NULL;
}

/* P(up) = sigmoid(z) as a 32-bit threshold: u < T has probability T / 2^32. */
static uint32_t threshold_of(double z) {
  double p = z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
  double t = nearbyint(p * 4294967296.0);
  return t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
}

/* The random words of fine row y: word of site g is words[(g & 3) * stride + (g >> 2) − first]. */
static void row_words(const invrg_rng_stream *s, int64_t L, int y, uint32_t *words, size_t stride,
                      uint64_t *first_block) {
  uint64_t g0 = (uint64_t)y * (uint64_t)L, g1 = g0 + (uint64_t)L - 1;
  *first_block = g0 >> 2;
  invrg_rng_blocks_range(s, g0 >> 2, (int)((g1 >> 2) - (g0 >> 2) + 1), 0, words, stride);
}

static inline int8_t draw_spin(const uint32_t *words, size_t stride, uint64_t first_block,
                               uint64_t g, uint32_t threshold) {
  return words[(g & 3) * stride + ((g >> 2) - first_block)] < threshold ? 1 : -1;
}

/* sym3: z = ½[(c+2b+a) μ_P + (a+b)(μ_V + μ_H) + a μ_D] takes 12 values: tabulate thresholds. */
static void sym3_step(const invrg_model *m, const int8_t *coarse, int lc, const invrg_rng_stream *s,
                      int8_t *fine, invrg_dream_work *w) {
  const double a = m->params[0], b = m->params[1], c = m->params[2];
  uint32_t T[2][3][2]; /* [μ_P > 0][(μ_V + μ_H + 2)/2][μ_D > 0] */
  for (int p = 0; p < 2; p++)
    for (int n = 0; n < 3; n++)
      for (int d = 0; d < 2; d++)
        T[p][n][d] = threshold_of(0.5 * ((c + 2 * b + a) * (2 * p - 1) + (a + b) * (2 * n - 2) +
                                         a * (2 * d - 1)));
  const int L = 2 * lc;
  const size_t stride = (size_t)L / 4 + 2;
  for (int y = 0; y < L; y++) {
    int I = y / 2, alpha = y % 2;
    const int8_t *row = coarse + I * lc;
    const int8_t *vrow = coarse + ((I + (alpha ? 1 : -1) + lc) % lc) * lc; /* child's side */
    uint64_t first;
    row_words(s, L, y, w->words, stride, &first);
    const uint64_t g0 = (uint64_t)y * (uint64_t)L;
    int8_t *out = fine + (size_t)y * (size_t)L;
    for (int J = 0; J < lc; J++) {
      /* the horizontal neighbour on the child's side: J − 1 for the left child, J + 1 right */
      int left = J == 0 ? lc - 1 : J - 1, right = J + 1 == lc ? 0 : J + 1;
      int P = row[J] > 0, V = vrow[J];
      uint64_t g = g0 + 2 * (uint64_t)J;
      out[2 * J] = draw_spin(w->words, stride, first, g,
                             T[P][(V + row[left] + 2) >> 1][vrow[left] > 0]);
      out[2 * J + 1] = draw_spin(w->words, stride, first, g + 1,
                                 T[P][(V + row[right] + 2) >> 1][vrow[right] > 0]);
    }
  }
}

static void generic_step(const invrg_model *m, const int8_t *coarse, int lc,
                         const invrg_rng_stream *s, int8_t *fine, invrg_dream_work *w) {
  if (w->model_lc != lc) { /* scratch of the model for this size */
    invrg_model_work_destroy(&w->model);
    invrg_model_work_create(m, lc, &w->model);
    w->model_lc = lc;
  }
  invrg_model_logits(m, coarse, lc, w->z, w->model);
  const int L = 2 * lc;
  const size_t stride = (size_t)L / 4 + 2;
  for (int y = 0; y < L; y++) {
    uint64_t first;
    row_words(s, L, y, w->words, stride, &first);
    uint64_t g = (uint64_t)y * (uint64_t)L;
    for (int x = 0; x < L; x++, g++)
      fine[y * L + x] = draw_spin(w->words, stride, first, g, threshold_of(w->z[y * L + x]));
  }
}

void invrg_dream_step(const invrg_model *m, const int8_t *coarse, int lc, uint64_t seed,
                      uint64_t sample, int level, int8_t *fine, invrg_dream_work *w) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_DREAM, sample, (uint64_t)level);
  if (strcmp(m->kind, "sym3") == 0)
    sym3_step(m, coarse, lc, &s, fine, w);
  else
    generic_step(m, coarse, lc, &s, fine, w);
}
