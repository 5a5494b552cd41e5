/**
 * @file dream_packed.h
 * Dreaming into packed lattices (invrg/packed.h): the step of invrg/dream.h with both levels
 * held one bit per spin, so a big dream costs 1/8 byte per fine spin instead of one.
 *
 * The spins are those of invrg_dream_step_lattice(), bit for bit: the fine level is made in
 * strips of a few coarse rows, each strip unpacked to int8 (with the coarse rows around it),
 * dreamed by the int8 step of dream.h on that block, and packed into the fine lattice. So the
 * randomness, the thresholds and every model's path are dream.h's, whatever the layout; only
 * a strip's worth of int8 spins (about 0.5 MiB) is ever held.
 *
 * Layouts: the coarse lattice is whole on this rank (created on MPI_COMM_SELF), or split by
 * rows on the same communicator as the fine lattice (the fine rows of a rank are then the
 * children of its coarse rows, as invrg_packed_create() makes them for sizes Lc and 2Lc on one
 * communicator; models whose window reaches one coarse row, sym3, sym5 and conv with k = 3,
 * since the packed halo is one row). The fine lattice is whole or split by rows.
 */
#ifndef INVRG_DREAM_PACKED_H
#define INVRG_DREAM_PACKED_H

#include <stdbool.h>
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/model.h"
#include "invrg/packed.h"

/** Scratch space of packed steps of one model up to a coarse size. */
typedef struct invrg_dream_packed_work invrg_dream_packed_work;

/** Work for steps of @p m up to a coarse size of @p max_lc. Not collective. */
invrg_err invrg_dream_packed_work_create(const invrg_model *m, int64_t max_lc,
                                         invrg_dream_packed_work **out);
void invrg_dream_packed_work_destroy(invrg_dream_packed_work **w);

/** For tests: at most @p rows coarse rows per strip (≥ 1), to exercise many strips. */
void invrg_dream_packed_work_limit_strip(invrg_dream_packed_work *w, int rows);

/**
 * True if @p m can dream on packed lattices split over @p ranks ranks: it must distribute
 * (invrg_dream_distributes()); on more than one rank its window must reach at most one coarse
 * row beyond the parent (not sym7). Not collective.
 */
bool invrg_dream_packed_supports(const invrg_model *m, int ranks);

/**
 * One step from @p coarse (Lc × Lc, halos valid if it is split) into the interior of @p fine
 * (2Lc × 2Lc) with the stream (seed, DREAM, sample, level) of dream.h. Runtime error for
 * layouts or models it cannot do (above). Not collective: the caller exchanges the fine halos
 * afterwards (invrg_packed_halo_exchange()).
 */
invrg_err invrg_dream_packed_step(const invrg_model *m, const invrg_packed *coarse,
                                  invrg_packed *fine, uint64_t seed, uint64_t sample, int level,
                                  invrg_dream_packed_work *w);

/**
 * The first step, from the 1 × 1 seed @p spin (invrg_dream_seed_spin()) into the 2 × 2
 * @p fine (level 1), as invrg_dream_packed_step() would from a 1 × 1 lattice. Not collective.
 */
invrg_err invrg_dream_packed_first_step(const invrg_model *m, int8_t spin, invrg_packed *fine,
                                        uint64_t seed, uint64_t sample,
                                        invrg_dream_packed_work *w);

#endif
