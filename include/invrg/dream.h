/**
 * @file dream.h
 * Dreaming (docs/physics.md §6): from one spin, apply an inverse-RG model again and again,
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

#include <stdbool.h>
#include <stdint.h>

#include "invrg/choices.h" /* invrg_dream_start: the 1 x 1 seed */
#include "invrg/error.h"
#include "invrg/lattice.h"
#include "invrg/model.h"

/** The 1 × 1 seed of sample @p sample. */
int8_t invrg_dream_seed_spin(invrg_dream_start start, uint64_t seed, uint64_t sample);

/**
 * Scratch space for steps of model @p m up to a coarse size of @p max_lc. It holds what the
 * model's parameters determine (sym5, sym7 and conv with k <= 3: the window table of 4 x 2^(n²)
 * thresholds, n² = 9 or 16 bits, computed here once): use it with @p m only, unchanged.
 */
typedef struct invrg_dream_work invrg_dream_work;
invrg_err invrg_dream_work_create(const invrg_model *m, int max_lc, invrg_dream_work **out);
void invrg_dream_work_destroy(invrg_dream_work **w);

/**
 * One step: samples @p fine (2lc × 2lc) given @p coarse (lc × lc) with the
 * stream (seed, DREAM, sample, level). sym3 uses its closed form (12 possible
 * probabilities per step). A model whose fine site (2I+α, 2J+β) depends only on an n × n
 * window of coarse spins, n² <= 16 (sym5: 3 × 3, sym7: 4 × 4, conv k = 3: 3 × 3), uses its
 * window table: the thresholds of the logits of invrg_model_logits() per child position and
 * window pattern. Other models (conv with k >= 5) the logits of invrg_model_logits().
 */
void invrg_dream_step(const invrg_model *m, const int8_t *coarse, int lc, uint64_t seed,
                      uint64_t sample, int level, int8_t *fine, invrg_dream_work *w);

/**
 * The threshold round(P(up)·2^32) with which a step samples fine site (x, y) given the whole
 * coarse lattice @p coarse (lc × lc, periodic), read from the window table of @p w; false if
 * its model has none (sym3, conv with k >= 5). For tests: the table against the model.
 */
bool invrg_dream_table_threshold(const invrg_dream_work *w, const int8_t *coarse, int lc, int y,
                                 int x, uint32_t *threshold);

/** True if the model can dream on distributed lattices (sym models, conv with k <= 3). */
bool invrg_dream_distributes(const invrg_model *m);

/** The coarse halo a model needs to compute the fine sites of a block: how far its window
 * reaches beyond the parent (sym3, sym5, conv k = 3: 1; sym7: 2; conv k = 1: 0); 0 for the
 * models that do not distribute. */
int invrg_dream_halo(const invrg_model *m);

/**
 * One step on lattices: fills the interior of @p fine (2Lc × 2Lc, replicated or
 * distributed, any halo) from @p coarse (Lc × Lc; replicated, or distributed
 * on the same grid with the fine block = twice the coarse block, halo at least
 * invrg_dream_halo(m) and valid). The same spins as invrg_dream_step() for any
 * layout. Models that do not distribute (invrg_dream_distributes()) need
 * replicated lattices (input error otherwise). Not collective (no messages;
 * the caller exchanges the fine halo afterwards).
 */
invrg_err invrg_dream_step_lattice(const invrg_model *m, const invrg_lattice *coarse,
                                   invrg_lattice *fine, uint64_t seed, uint64_t sample, int level,
                                   invrg_dream_work *w);

#endif
