/**
 * @file dream_measure.h
 * What stage dream measures on a level of a dream (invrg/dream_levels.h), on int8 or packed
 * levels alike, with the same numbers bit for bit:
 *   - the sums of the observables (observables.h, packed_measure.h);
 *   - the MCRG pairs of level ℓ: up (level ℓ − 1, level ℓ), down (the majority of level ℓ,
 *     level ℓ) and, at the top level, standard MCRG of the top (blocked pairs). The blockings are
 *     written into the lower levels, free once the top of the sample is made: no copies;
 *   - the correlations: ξ₂/L from line sums, and G(r), S(k) by FFT when asked.
 * Packed levels are measured from their bits (popcounts, bit-sliced blockings); levels below
 * 4 × 4, which packed blockings cannot make, through the int8 lattices of the levels.
 */
#ifndef INVRG_DREAM_MEASURE_H
#define INVRG_DREAM_MEASURE_H

#include <stdint.h>

#include "invrg/config.h"
#include "invrg/correlation.h"
#include "invrg/dream_levels.h"
#include "invrg/error.h"
#include "invrg/mcrg.h"
#include "invrg/observables.h"
#include "invrg/packed_measure.h"

/**
 * The operator sums of the MCRG pairs, kept from one level of a sample to the next: the up
 * pair of level ℓ reads the sums of level ℓ − 1 as dreamed, which the pairs of level ℓ − 1
 * made (valid while level ℓ − 1 is unchanged since: invrg_dream_levels_step() writes only the
 * level it makes, the pairs of level ℓ − 1 only the levels below).
 */
typedef struct {
  int64_t *fine;    /**< [n]: the sums of level `level` of sample `sample` as dreamed */
  int64_t *work;    /**< [2n]: sums of blockings */
  int level;        /**< −1: none kept */
  uint64_t sample;
  invrg_packed_terms *terms; /**< the operators' terms for packed levels, flattened once */
  /** The sums of the last level a batch measured, lane by lane ([lane·n …], lanes of the
   * levels' batch), for the up pair of the next level of each of its dreams; −1: none. */
  int64_t *batch_fine;
  int batch_level;
  int64_t *batch_work; /**< [3 · lanes · n]: a batch's sums of a level, its coarse level and
                        *   its blocking */
  /** The tie streams' keys of the batch's dreams tie_samples[0 … tie_n), made once a batch
   * (invrg_rng_item_keys(seed, INVRG_RNG_TIE, …)); tie_n = 0: none. */
  uint32_t tie_key0[INVRG_DREAM_BATCH_LANES], tie_key1[INVRG_DREAM_BATCH_LANES];
  uint64_t tie_samples[INVRG_DREAM_BATCH_LANES];
  int tie_n;
} invrg_dream_pair_sums;

/** Buffers for the @p n operators @p ops of the accumulators (invrg_mcrg_operators()), none
 * kept; @p ops must outlive them. Not collective. */
invrg_err invrg_dream_pair_sums_create(const invrg_operator *ops, int n, invrg_dream_pair_sums *s);

/** Frees them; accepts a zeroed struct. */
void invrg_dream_pair_sums_destroy(invrg_dream_pair_sums *s);

/** The accumulators a level's measurements go to. */
typedef struct {
  invrg_mcrg *const *acc;  /**< [INVRG_DREAM_N_PAIRS]: up, down, blocked (dream_checkpoint.h) */
  invrg_corr *corr;        /**< NULL: no correlations */
  const invrg_config *cfg; /**< seed, tie rule, levels, MCRG levels */
  invrg_dream_pair_sums *sums; /**< the pairs' sums, carried from level to level */
} invrg_dream_measures;

/** Sums of the observables of level @p level. Collective on the group. */
invrg_err invrg_dream_measure_observables(invrg_dream_levels *d, int level,
                                          invrg_config_sums *out);

/**
 * The MCRG pairs of level @p level of sample @p sample into jackknife block @p block; the
 * lower levels are overwritten by blockings. Collective on the group.
 */
invrg_err invrg_dream_measure_pairs(invrg_dream_levels *d, const invrg_dream_measures *m,
                                    int level, uint64_t sample, int block);

/** The correlations of level @p level (before invrg_dream_measure_pairs() of the same level,
 * which leaves it intact but not the lower ones). Collective on the group. */
invrg_err invrg_dream_measure_correlations(invrg_dream_levels *d, const invrg_dream_measures *m,
                                           int level, int block);

/** What invrg_dream_measure_batch() spends, in ticks (ticks.h), per kind of measurement. */
typedef struct {
  uint64_t observables, correlations, mcrg;
} invrg_dream_measure_ticks;

/**
 * Level @p level (not the top: no blocked pairs) of every dream of the batch the levels hold
 * (dream_levels.h, invrg_dream_levels_run_batch()) measured at once, bit-sliced (lanes.h): the
 * numbers invrg_dream_measure_observables(), _correlations() (ξ₂/L only: not with correlation
 * functions) and _pairs() give each dream, added to the same accumulators (lane i into
 * jackknife block blocks[i]; its primaries into primaries[i]). Every rank of the group calls
 * it with the same batch; the correlations are added on group rank 0, as for a whole level.
 * Adds its ticks to @p t. Not collective.
 */
invrg_err invrg_dream_measure_batch(const invrg_dream_levels *d, const invrg_dream_measures *m,
                                    int level, int group_rank, const int *blocks,
                                    double *const *primaries, invrg_dream_measure_ticks *t);

#endif
