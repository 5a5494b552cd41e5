/**
 * @file dream.h
 * Dreaming (SPEC §6): from one spin, apply an inverse-RG model again and again,
 * 1 → 2 → 4 → … → 2^levels, sampling every fine spin independently given the
 * coarse configuration.
 *
 * Randomness of sample j (an item): the seed spin from block (site 0, draw 1)
 * of the stream (seed, INVRG_RNG_DREAM, j, step 0); the fine spin at global
 * site g of level ℓ from word g mod 4 of block (⌊g/4⌋, draw 0) of the stream
 * (seed, INVRG_RNG_DREAM, j, ℓ): s = +1 if u < round(P(up)·2^32) (bias ≤ 2^−33).
 * So a dream depends only on (seed, j, model), not on where it is computed.
 * Functions work on whole configurations (row-major) and are not collective.
 */
#ifndef INVRG_DREAM_H
#define INVRG_DREAM_H

#include <stdint.h>

#include "invrg/error.h"
#include "invrg/lattice.h"
#include "invrg/model.h"

typedef enum {
  INVRG_DREAM_START_ALTERNATE, /**< +1 for even samples, −1 for odd ones */
  INVRG_DREAM_START_RANDOM,    /**< a fair coin per sample */
  INVRG_DREAM_START_UP         /**< always +1 */
} invrg_dream_start;

/** The 1 × 1 seed of sample @p sample. */
int8_t invrg_dream_seed_spin(invrg_dream_start start, uint64_t seed, uint64_t sample);

/** Scratch space for steps up to a coarse size of @p max_lc. */
typedef struct invrg_dream_work invrg_dream_work;
invrg_err invrg_dream_work_create(const invrg_model *m, int max_lc, invrg_dream_work **out);
void invrg_dream_work_destroy(invrg_dream_work **w);

/**
 * One step: samples @p fine (2lc × 2lc) given @p coarse (lc × lc) with the
 * stream (seed, DREAM, sample, level). sym3 uses its closed form (12 possible
 * probabilities per step); other models the logits of invrg_model_logits().
 */
void invrg_dream_step(const invrg_model *m, const int8_t *coarse, int lc, uint64_t seed,
                      uint64_t sample, int level, int8_t *fine, invrg_dream_work *w);

/** The coarse halo a model needs to compute the fine sites of a block (sym: its reach). */
int invrg_dream_halo(const invrg_model *m);

/**
 * One step on lattices: fills the interior of @p fine (2Lc × 2Lc, replicated or
 * distributed, any halo) from @p coarse (Lc × Lc; replicated, or distributed
 * on the same grid with the fine block = twice the coarse block, halo at least
 * invrg_dream_halo(m) and valid). The same spins as invrg_dream_step() for any
 * layout. conv models need replicated lattices. Not collective (no messages;
 * the caller exchanges the fine halo afterwards).
 */
invrg_err invrg_dream_step_lattice(const invrg_model *m, const invrg_lattice *coarse,
                                   invrg_lattice *fine, uint64_t seed, uint64_t sample, int level,
                                   invrg_dream_work *w);

#endif
