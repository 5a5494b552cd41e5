/**
 * @file lanes.h
 * Measurements of many small configurations at once, bit-sliced: word g of an L × L field is
 * site g = y·L + x of every configuration, bit i of configuration ("lane") i, 1 = spin −1
 * (packed.h's convention); up to 64 lanes, L a power of 2 (1 … INVRG_LANES_MAX_L). The first levels
 * of the dreams made in batches (dream_batch.h) are measured so, 64 dreams a call instead of a few
 * calls per dream.
 *
 * Each function gives, lane by lane, the integers that the function for one configuration
 * gives (periodic boundaries; offsets taken modulo L): invrg_observables_sums(),
 * correlation.h's line sums, invrg_mcrg_operator_sums() and blockspin.h's majority rule with
 * its tie rules. Counts per lane are kept bit-sliced too (a binary counter whose bit p is word
 * p) and turned into integers by one 64 × 64 transposition. Not collective.
 */
#ifndef INVRG_LANES_H
#define INVRG_LANES_H

#include <stdint.h>

#include "invrg/choices.h"
#include "invrg/mcrg.h"
#include "invrg/observables.h"

/** The largest side: a batch's deepest level (dream_batch.h). */
#define INVRG_LANES_MAX_L 32

/** @p n lanes (≤ 64) of an L × L field: w[y·L + x]. */
typedef struct {
  int L, n;
  const uint64_t *w;
} invrg_lanes;

/** Bonds, magnetisation and sites of each lane: out[i] for lane i. */
void invrg_lanes_observables(const invrg_lanes *c, invrg_config_sums *out);

/** Row and column sums of each lane, line by line (the lanes of a line side by side):
 * rows[y·n + i] = Σ_x s(x, y), cols[x·n + i] = Σ_y s(x, y) of lane i. */
void invrg_lanes_line_sums(const invrg_lanes *c, int64_t *rows, int64_t *cols);

/** The sums of operators @p ops[0 … n_ops) of each lane: sums[i·n_ops + a]. */
void invrg_lanes_operator_sums(const invrg_lanes *c, const invrg_operator *ops, int n_ops,
                               int64_t *sums);

/**
 * The majority rule of each lane into @p coarse ((L/2)² words, L ≥ 2), ties decided by @p rule:
 * INVRG_TIE_RANDOM by @p coins[Y·(L/2) + X] (bit i: lane i's coin, 1 → +1; see
 * invrg_lanes_tie_coins()), INVRG_TIE_UP +1, INVRG_TIE_UPPER_LEFT the block's spin at (2X, 2Y).
 * ties[i]: lane i's tied blocks.
 */
void invrg_lanes_block(const invrg_lanes *fine, invrg_tie_rule rule, const uint64_t *coins,
                       uint64_t *coarse, int64_t *ties);

/**
 * The tie coins blockspin.h gives @p n items at @p step for a coarse lattice of side @p Lc
 * (≤ INVRG_LANES_MAX_L): coin (X, Y) of the stream (seed, INVRG_RNG_TIE, item i, step) into bit i
 * of coins[Y·Lc + X], the items' keys from invrg_rng_item_keys(seed, INVRG_RNG_TIE, …).
 */
void invrg_lanes_tie_coins(const uint32_t *key0, const uint32_t *key1, int n, uint64_t step,
                           int Lc, uint64_t *coins);

#endif
