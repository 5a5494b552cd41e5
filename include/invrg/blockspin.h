/**
 * @file blockspin.h
 * The forward RG map of docs/physics.md §3: b = 2 majority rule on the 2×2 blocks aligned
 * at even global indices, on replicated or distributed lattices.
 *
 * Coarse site (X, Y) is the sign of the sum of fine sites (2X + {0,1}, 2Y + {0,1}).
 * A tie (sum 0) is broken by the tie rule:
 * - INVRG_TIE_RANDOM (default): a fair coin, the row coin (X, Y) of the stream
 *   (seed, INVRG_RNG_TIE, item, step) for rows Lx/2 wide, draw 0 (invrg/rng.h:
 *   bit X mod 128 of block Y·⌈Lx/256⌉ + ⌊X/128⌋; 1 → +1); so the coarse lattice is
 *   the same on any grid, a new step gives fresh coins, and a packed blocking
 *   decides 64 ties with one word of coins;
 * - INVRG_TIE_UP: +1;
 * - INVRG_TIE_UPPER_LEFT: the block's fine spin at (2X, 2Y) (lowest x and y).
 *
 * Where the coarse lattice lives: a distributed fine lattice whose local blocks
 * have even sides gives a distributed coarse lattice on the same grid (half the
 * local size, no messages) as long as invrg_groups_can_distribute() accepts the
 * coarse size; otherwise the coarse lattice is replicated on every rank of the
 * group (made by one MPI_Allgather of the coarse blocks, or of the fine blocks
 * when they have an odd side). A replicated fine lattice gives a replicated
 * coarse one.
 */
#ifndef INVRG_BLOCKSPIN_H
#define INVRG_BLOCKSPIN_H

#include <stdbool.h>
#include <stdint.h>

#include "invrg/choices.h" /* invrg_tie_rule: how a tied block is decided */
#include "invrg/error.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"

/** "random", "up", "upper_left". */
const char *invrg_tie_rule_name(invrg_tie_rule rule);

/** Parses a tie rule name (as above, case-sensitive); false if unknown. */
bool invrg_tie_rule_from_name(const char *name, invrg_tie_rule *rule);

/** Which coins a blocking uses: the stream (seed, INVRG_RNG_TIE, item, step). */
typedef struct {
  invrg_tie_rule rule;
  uint64_t seed; /**< &run seed */
  uint64_t item; /**< the configuration's item (chain, dream sample, ...) */
  uint64_t step; /**< distinguishes blockings of one item: sample and level (< 2^48) */
} invrg_blockspin_ties;

/**
 * Creates the lattice that blocking @p fine produces, with halo width @p halo,
 * distributed or replicated as described above (data zero). @p g is the group
 * whose grid @p fine is distributed on (may be NULL if @p fine is replicated).
 * Runtime error if Lx or Ly is odd. Collective on fine->comm.
 */
invrg_err invrg_blockspin_create_coarse(const invrg_lattice *fine, const invrg_groups *g, int halo,
                                        invrg_lattice **coarse);

/**
 * Blocks @p fine into @p coarse (made by invrg_blockspin_create_coarse() for a
 * lattice of this size and layout; its halos are filled on return). The fine
 * halos are not read. @p n_ties (may be NULL) receives the number of tied
 * blocks of the whole lattice, the same on every rank. Bit-identical for any
 * grid. Collective on fine->comm.
 */
invrg_err invrg_blockspin_apply(const invrg_lattice *fine, const invrg_blockspin_ties *ties,
                                invrg_lattice *coarse, int64_t *n_ties);

/**
 * invrg_blockspin_create_coarse() followed by invrg_blockspin_apply(): a new
 * coarse lattice, owned by the caller. Collective on fine->comm.
 */
invrg_err invrg_blockspin(const invrg_lattice *fine, const invrg_groups *g,
                          const invrg_blockspin_ties *ties, int halo, invrg_lattice **coarse,
                          int64_t *n_ties);

/**
 * The majority rule on a whole lx × ly row-major array (lx, ly even) into
 * @p coarse ((lx/2) × (ly/2), row-major), with the same coins as above.
 * Returns the number of ties. Not collective; for tests and small lattices.
 */
int64_t invrg_blockspin_array(const int8_t *fine, int64_t lx, int64_t ly,
                              const invrg_blockspin_ties *ties, int8_t *coarse);

/**
 * Copies the interior of @p lat, on every rank of lat->comm, into @p global
 * (lx·ly, row-major): one MPI_Allgather for a distributed lattice, a copy for
 * a replicated one. For small lattices (lx·ly < 2^31). Collective on lat->comm.
 */
invrg_err invrg_blockspin_allgather(const invrg_lattice *lat, int8_t *global);

#endif
