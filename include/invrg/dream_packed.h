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
 * Random bit planes (work made with planes = true; sym3 and the window-table models: sym5, sym7,
 * conv with k <= 3): a faster sampler of the same distribution with its own random numbers.
 * Each fine spin is up iff u < T, T its 32-bit threshold of dream.h (sym3's closed form, or the
 * window table's entry for the site's child position and window pattern; so P(up) = T·2^-32
 * exactly as there), u a uniform 32-bit integer drawn one bit plane at a time, most
 * significant first, for the 64 spins of a word together; a spin is decided at the first plane
 * where its random bit differs from T's (0 against 1: up), and is down if all 32 agree (u = T).
 * Planes are drawn only while some spin of the word is undecided: about 4.3 Philox blocks per
 * 64 spins instead of 16. The numbers, the same for every model: with the stream (seed,
 * INVRG_RNG_DREAM, sample, level), W = words per fine colour row and the word number
 * w = (c·L + gy)·W + i of word i of colour c of global fine row gy (L the fine side), each half
 * h = 0, 1 of the word (sites 32h … 32h + 31) has its own blocks:
 *     block_h(d) = invrg_rng_u32x4(stream, site = 2w + h, draw = d),
 *     plane j    = block_0(j / 4)[j mod 4] | block_1(j / 4)[j mod 4] << 32,
 * bit k of plane j being bit 31 − j of the u of the word's site k (packed.h's layout). Planes
 * 0–7 of every word are drawn; a half-word with undecided sites after plane 4d + 3 draws
 * block d + 1. So the spins depend on (seed, sample, model) only, on any layout, and differ
 * from the int8 dreams' (which read one 32-bit word per spin): the same distribution, other
 * draws. Where two models give a site the same threshold (sym5 with its last three parameters
 * 0 and sym3, when both compute the same logits), they give it the same spin.
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

/**
 * Work for steps of @p m up to a coarse size of @p max_lc; @p planes: draw with random bit
 * planes (sym3 and window-table models, invrg_dream_packed_planes(): an input error for
 * others). Not collective.
 */
invrg_err invrg_dream_packed_work_create(const invrg_model *m, int64_t max_lc, bool planes,
                                         invrg_dream_packed_work **out);
void invrg_dream_packed_work_destroy(invrg_dream_packed_work **w);

/** True if @p m can dream with random bit planes: sym3, or a model with a window table (sym5,
 * sym7, conv with k <= 3). Not collective. */
bool invrg_dream_packed_planes(const invrg_model *m);

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
