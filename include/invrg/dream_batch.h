/**
 * @file dream_batch.h
 * The small levels of many dreams at once (docs/physics.md §6, docs/design.md §2): up to 64
 * dreams, each a lane, dreamed together from their seed spins to 2^levels × 2^levels, each
 * fine spin the one invrg_dream_step() draws for that dream ("words": the uniform of fine
 * site g of level ℓ is word g mod 4 of block ⌊g/4⌋ of the stream (seed, DREAM, sample, ℓ)).
 *
 * Why: a dream of the stage spends a fixed cost per level and call, so that its levels 2² …
 * 32² cost 10–200 ns per fine site one dream at a time. A batch draws the Philox blocks of all
 * its dreams in one vector call (a key per lane) and decides a fine site of 16 dreams in a few
 * vector instructions. Level ℓ is held bit-sliced: word g is fine site g = y·L + x of every
 * lane, bit i of lane i, 1 = spin −1 (packed.h's convention).
 *
 * Models: sym3 (its 12 thresholds) and the models with a window table (sym5, sym7, conv with
 * k ≤ 3); invrg_dream_batch_supports() says which. Not collective: every rank of a group that
 * shares the dreams makes the same batch and takes its own rows.
 */
#ifndef INVRG_DREAM_BATCH_H
#define INVRG_DREAM_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "invrg/choices.h"
#include "invrg/error.h"
#include "invrg/model.h"
#include "invrg/packed.h"

/** Dreams per batch (the bits of a word) and its deepest level (32 × 32). */
#define INVRG_DREAM_BATCH_LANES 64
#define INVRG_DREAM_BATCH_MAX_LEVELS 5

typedef struct invrg_dream_batch invrg_dream_batch;

/** True if model @p m can dream in batches (sym3, or a window table). */
bool invrg_dream_batch_supports(const invrg_model *m);

/**
 * A batch of levels 1 … @p levels (≤ INVRG_DREAM_BATCH_MAX_LEVELS): level ℓ dreamed with
 * @p m_small when ℓ ≤ @p n_small, else with @p m (both supported; m_small may be NULL when
 * n_small is 0). The models must outlive the batch.
 */
invrg_err invrg_dream_batch_create(const invrg_model *m, const invrg_model *m_small, int n_small,
                                   int levels, invrg_dream_batch **out);
void invrg_dream_batch_destroy(invrg_dream_batch **b);

/** Its deepest level. */
int invrg_dream_batch_levels(const invrg_dream_batch *b);

/**
 * Dreams the samples @p samples[0 … n) (n ≤ INVRG_DREAM_BATCH_LANES), lane i sample
 * samples[i], from the seed spin invrg_dream_seed_spin(@p start, @p seed, sample) up to the
 * deepest level. @p ticks, if not NULL, gets each level's time (ticks.h) added at [level].
 * Not collective.
 */
void invrg_dream_batch_run(invrg_dream_batch *b, invrg_dream_start start, uint64_t seed,
                           const uint64_t *samples, int n, uint64_t *ticks);

/** The lanes of the last run, and their samples. */
int invrg_dream_batch_count(const invrg_dream_batch *b);
const uint64_t *invrg_dream_batch_samples(const invrg_dream_batch *b);

/** Level @p level (0 … deepest) of every lane, bit-sliced: 4^level words, word y·2^level + x
 * = site (x, y), bit i = lane i, 1 = spin −1 (lanes.h measures it). */
const uint64_t *invrg_dream_batch_level(const invrg_dream_batch *b, int level);

/** The lane of @p sample in the last run, or −1 (looked for from the last one found on). */
int invrg_dream_batch_lane(invrg_dream_batch *b, uint64_t sample);

/** Lane @p lane's spin (+1, −1) at (@p x, @p y) of level @p level (0: the seed). */
int invrg_dream_batch_spin(const invrg_dream_batch *b, int lane, int level, int x, int y);

/**
 * Sets the rows @p p holds (p->y0 … p->y0 + ny − 1; its halos are the caller's to exchange)
 * to lane @p lane's level @p level (≥ 1; p is 2^level × 2^level). Not collective.
 */
void invrg_dream_batch_to_packed(const invrg_dream_batch *b, int lane, int level, invrg_packed *p);

#endif
