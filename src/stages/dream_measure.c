/* The measurements of a dream's level (dream_measure.h): observables, MCRG pairs, correlations,
 * from int8 levels with the int8 functions, from packed levels with their bits — the same
 * integers either way, so the same run file. */
#include "invrg/dream_measure.h"

#include <stdlib.h>
#include <string.h>

#include "invrg/blockspin.h"
#include "invrg/dream_checkpoint.h"
#include "invrg/lanes.h"
#include "invrg/packed_blockspin.h"
#include "invrg/packed_measure.h"
#include "invrg/rng.h"
#include "invrg/ticks.h"

/* Packed levels from 2 × 2 up are measured packed; the blockings need a fine side of 4. */
static bool packed_at(const invrg_dream_levels *d, int level) { return d->packed && level >= 1; }
static bool packed_blocking(const invrg_dream_levels *d, int level) {
  return d->packed && level >= 2;
}

invrg_err invrg_dream_measure_observables(invrg_dream_levels *d, int level,
                                          invrg_config_sums *out) {
  if (packed_at(d, level)) return invrg_packed_observables_sums(d->plat[level], out);
  return invrg_observables_sums(d->lat[level], out);
}

/* Operator sums of level 0 (one spin s, its own neighbour at every offset): a term of k
 * spins is s^k. */
static void one_spin_sums(const invrg_dream_levels *d, const invrg_mcrg *acc, int64_t *sums) {
  const invrg_lattice *lat = d->lat[0];
  const int64_t s = lat->data[invrg_lattice_index(lat, 0, 0)];
  int n = 0;
  const invrg_operator *ops = invrg_mcrg_operators(acc, &n);
  for (int a = 0; a < n; a++) {
    sums[a] = 0;
    for (int t = 0; t < ops[a].n_terms; t++) sums[a] += ops[a].n_spins[t] % 2 ? s : 1;
  }
}

/* Operator sums of level @p level as it holds now (a dreamed level or a blocking); packed
 * levels by the terms of @p s (the accumulators share their operators). */
static invrg_err operator_sums(invrg_dream_levels *d, const invrg_mcrg *acc,
                               const invrg_dream_pair_sums *s, int level, int64_t *sums) {
  if (level == 0) {
    one_spin_sums(d, acc, sums);
    return INVRG_SUCCESS;
  }
  if (!packed_at(d, level)) return invrg_mcrg_operator_sums(acc, d->lat[level], sums);
  return invrg_packed_terms_evaluate(s->terms, d->plat[level], sums);
}

/* Level @p level − 1 := the majority of level @p level with the coins @p t. */
static invrg_err block_down(invrg_dream_levels *d, int level, const invrg_blockspin_ties *t,
                            int64_t *ties) {
  invrg_err err = INVRG_SUCCESS;
  if (packed_blocking(d, level)) {
    INVRG_CALL(invrg_packed_blockspin_apply(d->plat[level], t, d->plat[level - 1], ties));
    goto cleanup;
  }
  if (packed_at(d, level)) { /* 2 x 2 → 1 x 1: the majority of its four spins, level 0's one */
    int8_t four[4], one;
    for (int y = 0; y < 2; y++)
      for (int x = 0; x < 2; x++) four[2 * y + x] = (int8_t)invrg_packed_get(d->plat[1], x, y);
    *ties = invrg_blockspin_array(four, 2, 2, t, &one);
    d->lat[0]->data[invrg_lattice_index(d->lat[0], 0, 0)] = one;
    goto cleanup;
  }
  INVRG_CALL(invrg_blockspin_apply(d->lat[level], t, d->lat[level - 1], ties));
cleanup:
  return err;
}

invrg_err invrg_dream_pair_sums_create(const invrg_operator *ops, int n,
                                       invrg_dream_pair_sums *s) {
  invrg_err err = INVRG_SUCCESS;
  *s = (invrg_dream_pair_sums){.level = -1, .batch_level = -1};
  s->fine = malloc(3 * (size_t)(n > 0 ? n : 1) * sizeof *s->fine);
  s->batch_fine = malloc(4 * (size_t)INVRG_DREAM_BATCH_LANES * (size_t)(n > 0 ? n : 1) *
                         sizeof *s->batch_fine);
  INVRG_CHECK_ALLOC(s->fine);
  INVRG_CHECK_ALLOC(s->batch_fine);
  s->batch_work = s->batch_fine + (size_t)INVRG_DREAM_BATCH_LANES * (size_t)(n > 0 ? n : 1);
  s->work = s->fine + n;
  INVRG_CALL(invrg_packed_terms_create(ops, n, &s->terms));
cleanup:
  return err;
}

void invrg_dream_pair_sums_destroy(invrg_dream_pair_sums *s) {
  free(s->fine);
  free(s->batch_fine);
  invrg_packed_terms_destroy(&s->terms);
  *s = (invrg_dream_pair_sums){.level = -1, .batch_level = -1};
}

/* Standard MCRG of the top level @p top (its sums s->fine): blocked n = 1, 2, … times, as
 * many as @p acc has levels (min(&analyze mcrg_levels, &dream levels)), into level top − n with
 * invrg_mcrg_add_configuration()'s coins, each pair added; s->work: 2n sums. */
static invrg_err blocked_pairs(invrg_dream_levels *d, invrg_mcrg *acc, int top,
                               const invrg_dream_pair_sums *s, uint64_t sample, int block) {
  invrg_err err = INVRG_SUCCESS;
  const int n = invrg_mcrg_n_operators(acc), n_levels = invrg_mcrg_n_levels(acc);
  int64_t *work = s->work;
  const int64_t *fine_sums = s->fine;
  for (int level = 1; level <= n_levels; level++) {
    const int fine = top - level + 1;
    int64_t *coarse_sums = work + (size_t)(level % 2) * (size_t)n; /* not fine_sums' half */
    const invrg_blockspin_ties t = invrg_mcrg_chain_ties(acc, sample, 0, level);
    int64_t ties = 0;
    INVRG_CALL(block_down(d, fine, &t, &ties));
    INVRG_CALL(operator_sums(d, acc, s, fine - 1, coarse_sums));
    const int64_t L = (int64_t)1 << (fine - 1);
    INVRG_CALL(invrg_mcrg_add_sums(acc, level, L, L, coarse_sums, fine_sums, ties, block));
    fine_sums = coarse_sums;
  }
cleanup:
  return err;
}

/*
 * Pairs of level ℓ: up (level ℓ − 1, level ℓ), down (majority of ℓ, ℓ), and at the top
 * standard MCRG of ℓ. The three accumulators have the same operators: the sums of level ℓ serve
 * all, and the up pair of level ℓ + 1 (m->sums). Coins of the down pair: steps 64 + ℓ, never
 * those of the blocked pairs (0·64 + n).
 */
invrg_err invrg_dream_measure_pairs(invrg_dream_levels *d, const invrg_dream_measures *m,
                                    int level, uint64_t sample, int block) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = m->cfg;
  invrg_mcrg *up = m->acc[INVRG_DREAM_PAIRS_UP], *down = m->acc[INVRG_DREAM_PAIRS_DOWN];
  invrg_dream_pair_sums *s = m->sums;
  const int n = invrg_mcrg_n_operators(up);
  const int64_t Lc = (int64_t)1 << (level - 1);
  int64_t *coarse_sums = s->work, *fine_sums = s->work + n, ties = 0;
  const int lane = s->batch_level == level - 1 && d->batch != NULL
                       ? invrg_dream_batch_lane(d->batch, sample)
                       : -1;
  if (s->level == level - 1 && s->sample == sample) /* level ℓ − 1 as its pairs summed it */
    memcpy(coarse_sums, s->fine, (size_t)n * sizeof *coarse_sums);
  else if (lane >= 0) /* … or as its batch summed it */
    memcpy(coarse_sums, s->batch_fine + (size_t)lane * (size_t)n, (size_t)n * sizeof *coarse_sums);
  else
    INVRG_CALL(operator_sums(d, up, s, level - 1, coarse_sums));
  s->level = -1;
  INVRG_CALL(operator_sums(d, up, s, level, fine_sums));
  INVRG_CALL(invrg_mcrg_add_sums(up, level, Lc, Lc, coarse_sums, fine_sums, -1, block));
  const invrg_blockspin_ties t = {cfg->analyze.tie_rule_kind, (uint64_t)cfg->run.seed, sample,
                                  64 + (uint64_t)level};
  INVRG_CALL(block_down(d, level, &t, &ties)); /* level ℓ − 1 overwritten */
  INVRG_CALL(operator_sums(d, down, s, level - 1, coarse_sums));
  INVRG_CALL(invrg_mcrg_add_sums(down, level, Lc, Lc, coarse_sums, fine_sums, ties, block));
  memcpy(s->fine, fine_sums, (size_t)n * sizeof *s->fine);
  s->level = level, s->sample = sample;
  if (level == cfg->dream.levels)
    INVRG_CALL(blocked_pairs(d, m->acc[INVRG_DREAM_PAIRS_BLOCKED], level, s, sample, block));
cleanup:
  return err;
}

invrg_err invrg_dream_measure_correlations(invrg_dream_levels *d, const invrg_dream_measures *m,
                                           int level, int block) {
  invrg_err err = INVRG_SUCCESS;
  if (m->corr == NULL) goto cleanup;
  if (packed_at(d, level))
    INVRG_CALL(invrg_corr_add_packed(m->corr, d->plat[level], block));
  else
    INVRG_CALL(invrg_corr_add_configuration(m->corr, d->lat[level], block));
cleanup:
  return err;
}

/* ------------------------------------------------------------------ a batch of dreams */

/* The tie streams' keys of the batch's dreams, made once a batch (every level's coins are
 * drawn under them). */
static void batch_tie_keys(const invrg_dream_batch *b, const invrg_dream_measures *m) {
  invrg_dream_pair_sums *s = m->sums;
  const int n = invrg_dream_batch_count(b);
  const uint64_t *samples = invrg_dream_batch_samples(b);
  if (s->tie_n == n && memcmp(s->tie_samples, samples, (size_t)n * sizeof *samples) == 0) return;
  invrg_rng_item_keys((uint64_t)m->cfg->run.seed, INVRG_RNG_TIE, samples, n, invrg_simd_active(),
                      s->tie_key0, s->tie_key1);
  memcpy(s->tie_samples, samples, (size_t)n * sizeof *samples);
  s->tie_n = n;
}

/* The up and down pairs of level @p level of every lane: the operator sums of level − 1 as
 * dreamed, of the level, and of its majority blocking with the down pair's coins (steps
 * 64 + level of each dream's tie stream, as invrg_dream_measure_pairs() draws them). */
static invrg_err batch_pairs(const invrg_dream_batch *b, const invrg_dream_measures *m,
                             int level, const int *blocks) {
  invrg_err err = INVRG_SUCCESS;
  enum { LANES = INVRG_DREAM_BATCH_LANES, MAX_LC = INVRG_LANES_MAX_L / 2 };
  const int n = invrg_dream_batch_count(b), L = 1 << level, Lc = L / 2;
  invrg_mcrg *up = m->acc[INVRG_DREAM_PAIRS_UP], *down = m->acc[INVRG_DREAM_PAIRS_DOWN];
  int n_ops = 0;
  const invrg_operator *ops = invrg_mcrg_operators(up, &n_ops);
  int64_t *fine = m->sums->batch_work, ties[LANES];
  int64_t *coarse = fine + (size_t)LANES * (size_t)n_ops,
          *low = coarse + (size_t)LANES * (size_t)n_ops;
  uint64_t blocked[MAX_LC * MAX_LC], coins[MAX_LC * MAX_LC];
  INVRG_ASSERT(Lc <= MAX_LC);
  const invrg_lanes f = {L, n, invrg_dream_batch_level(b, level)},
                    c = {Lc, n, invrg_dream_batch_level(b, level - 1)}, bl = {Lc, n, blocked};
  invrg_lanes_operator_sums(&f, ops, n_ops, fine);
  invrg_lanes_operator_sums(&c, ops, n_ops, coarse);
  const invrg_tie_rule rule = m->cfg->analyze.tie_rule_kind;
  if (rule == INVRG_TIE_RANDOM) {
    batch_tie_keys(b, m);
    invrg_lanes_tie_coins(m->sums->tie_key0, m->sums->tie_key1, n, 64 + (uint64_t)level, Lc,
                          coins);
  }
  invrg_lanes_block(&f, rule, coins, blocked, ties);
  invrg_lanes_operator_sums(&bl, ops, n_ops, low);
  INVRG_CALL(invrg_mcrg_add_lanes(up, level, Lc, Lc, n, coarse, fine, NULL, blocks));
  INVRG_CALL(invrg_mcrg_add_lanes(down, level, Lc, Lc, n, low, fine, ties, blocks));
  memcpy(m->sums->batch_fine, fine,
         (size_t)n * (size_t)n_ops * sizeof *fine); /* the next level's */
  m->sums->batch_level = level;
cleanup:
  return err;
}

invrg_err invrg_dream_measure_batch(const invrg_dream_levels *d, const invrg_dream_measures *m,
                                    int level, int group_rank, const int *blocks,
                                    double *const *primaries, invrg_dream_measure_ticks *t) {
  invrg_err err = INVRG_SUCCESS;
  enum { LANES = INVRG_DREAM_BATCH_LANES };
  const invrg_dream_batch *b = d->batch;
  const int n = invrg_dream_batch_count(b), L = 1 << level;
  INVRG_CHECK(level >= 1 && level <= invrg_dream_batch_levels(b) && level < d->levels,
              INVRG_ERR_RUNTIME, "dream batch: level %d is not measured in batches", level);
  const invrg_lanes lanes = {L, n, invrg_dream_batch_level(b, level)};
  invrg_config_sums sums[LANES];
  uint64_t t0 = invrg_ticks();
  invrg_lanes_observables(&lanes, sums);
  for (int i = 0; i < n; i++) invrg_observables_primaries(&sums[i], primaries[i]);
  uint64_t t1 = invrg_ticks();
  t->observables += t1 - t0;
  if (m->corr != NULL && group_rank == 0) { /* a whole level: group rank 0 measures it */
    enum { MAX_L = INVRG_LANES_MAX_L };
    int64_t rows[LANES * MAX_L], cols[LANES * MAX_L], M[LANES];
    INVRG_ASSERT(L <= MAX_L);
    invrg_lanes_line_sums(&lanes, rows, cols);
    for (int i = 0; i < n; i++) M[i] = sums[i].magnetisation;
    INVRG_CALL(invrg_corr_add_lanes(m->corr, L, n, rows, cols, M, blocks));
  }
  t0 = invrg_ticks();
  t->correlations += t0 - t1;
  INVRG_CALL(batch_pairs(b, m, level, blocks));
  t->mcrg += invrg_ticks() - t0;
cleanup:
  return err;
}
