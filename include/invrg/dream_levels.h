/**
 * @file dream_levels.h
 * The lattices of one dream, level 0 (1 × 1) to the top, as stage dream holds them: int8
 * (&dream lattice = 'int8') or packed one bit per spin ('packed'), and the steps between them.
 *
 * Layouts, per level of side L on a group of P ranks:
 * - int8: whole on every rank of the group while its grid cannot split L (with the halo the
 *   model and MCRG need), distributed on the grid from then on (invrg_stage_lattice_create());
 * - packed (levels 1 … top): whole on every rank while L is not a multiple of P or gives fewer
 *   than two rows per rank, split by rows over the group from then on. Int8 lattices of the
 *   same layouts only for the seed's level 0 and level 1, which the packed blockings cannot
 *   make.
 * Either way the spins are those of invrg_dream_step() (dream.h), bit for bit (random_bits =
 * 'words'), or, packed, those of random bit planes (dream_packed.h: sym3 and the window-table
 * models, the small-kernel model of the first levels too) from the first level the batch does
 * not hold on.
 *
 * Batches (packed, sym3 and window-table models, seeds of one spin): the first levels, up to
 * 32 × 32 and below the first refined one, of up to 64 dreams at a time (dream_batch.h), with
 * the spins of random_bits = 'words' whatever random_bits says: the step of such a level copies
 * the dream's lane from the batch.
 */
#ifndef INVRG_DREAM_LEVELS_H
#define INVRG_DREAM_LEVELS_H

#include <stdbool.h>
#include <stdint.h>

#include "invrg/config.h"
#include "invrg/dream.h"
#include "invrg/dream_batch.h"
#include "invrg/dream_packed.h"
#include "invrg/dream_top_sw.h"
#include "invrg/error.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/model.h"
#include "invrg/packed.h"
#include "invrg/rng.h"

/** Monte Carlo sweeps after each step from a level on (refined dreams; packed levels). */
typedef struct {
  int compatible;  /**< compatible heat-bath sweeps per level first (compatible.h; 0: none) */
  uint64_t seed;   /**< &run seed: the tie coins of the block spins they keep */
  int sweeps;      /**< sweeps per level below the top (0: none) */
  int from;        /**< first level refined */
  bool heatbath;   /**< heat bath, else Metropolis (multispin.h) */
  int top_sweeps;  /**< sweeps of the top level (0: none) */
  bool top_heatbath; /**< the top level's sweeps: heat bath, else Metropolis */
  double K;        /**< coupling of the sweeps */
  invrg_rng_generator generator; /**< the multispin sweeps' random numbers (rng.h) */
} invrg_dream_refine;

typedef struct {
  bool packed;
  invrg_dream_refine refine;
  bool planes; /* packed, with random bit planes (dream_packed.h) */
  int levels;
  const invrg_model *m, *m_small; /* the model; the k = 3 one of the first n_small levels */
  int n_small;
  invrg_lattice *lat[INVRG_MAX_LEVELS + 1];  /* the levels (int8), or level 0 alone (packed) */
  invrg_packed *plat[INVRG_MAX_LEVELS + 1];  /* packed: the levels 1 … levels */
  invrg_packed *blocks[INVRG_MAX_LEVELS + 1]; /* refine.compatible: the block spins kept */
  invrg_dream_work *w, *w_small;
  invrg_dream_packed_work *pw, *pw_small;
  invrg_dream_top_sw *top_sw; /* Swendsen–Wang sweeps of the top level, or NULL */
  invrg_dream_batch *batch;   /* the first levels of many dreams (dream_batch.h), or NULL */
} invrg_dream_levels;

/**
 * The lattices of levels 0 … @p levels on the group @p g, int8 halos @p halo, and the work of
 * the models (@p planes: packed steps with random bit planes, dream_packed.h; @p m_small,
 * may be NULL, dreams levels 1 … @p n_small). Packed: int8 lattices of levels 0 and 1 too. The
 * models are kept by reference.
 * Collective on the group.
 */
invrg_err invrg_dream_levels_create(const invrg_groups *g, int levels, int halo, bool packed,
                                    bool planes, const invrg_model *m,
                                    const invrg_model *m_small, int n_small,
                                    invrg_dream_levels *out);

/** Refines every packed level from refine->from on after its step (invrg_dream_levels_step()). */
void invrg_dream_levels_set_refine(invrg_dream_levels *d, const invrg_dream_refine *refine);

/**
 * Swendsen–Wang sweeps on the top level after its step and refinement (dream_top_sw.h):
 * @p sweeps at @p K, run seed @p seed (0 sweeps: none). Collective on the group @p g.
 */
invrg_err invrg_dream_levels_set_top_sw(invrg_dream_levels *d, const invrg_groups *g, int sweeps,
                                        double K, uint64_t seed);

/** Frees everything; accepts a zeroed struct. Collective on the group. */
void invrg_dream_levels_destroy(invrg_dream_levels *d);

/**
 * Level @p level of sample @p sample dreamed from level − 1 (level 1: from @p seed_spin), its
 * halos exchanged, then refined if asked: refine.compatible sweeps of compatible Monte Carlo
 * given the level's own block spins (majority, random ties: coins (seed, TIE, sample,
 * 128 + level)) with the streams (seed, INVRG_RNG_REFINE, sample, level·2^24 + 2^23 +
 * 4·sweep + position) (compatible.h),
 * then refine.sweeps multispin sweeps at refine.K with the streams (seed, INVRG_RNG_REFINE,
 * sample, level·2^24 + sweep); the top level then the Swendsen–Wang sweeps of
 * invrg_dream_levels_set_top_sw(). Collective on the group.
 */
invrg_err invrg_dream_levels_step(invrg_dream_levels *d, int level, int8_t seed_spin,
                                  uint64_t seed, uint64_t sample);

/**
 * Makes the first levels of dreams in batches from now on, where they can be (packed levels,
 * models that batch, no refinement of those levels: set it first), with seeds by @p start
 * (not INVRG_DREAM_START_MC). Returns through @p levels how many levels the batches hold (0:
 * none). Not collective.
 */
invrg_err invrg_dream_levels_enable_batches(invrg_dream_levels *d, int *levels);

/**
 * Dreams the batchable levels of @p samples[0 … n) (n ≤ INVRG_DREAM_BATCH_LANES) together;
 * their steps then copy them. @p ticks, if not NULL, gets the ticks of each level added at
 * [level]. Not collective.
 */
void invrg_dream_levels_run_batch(invrg_dream_levels *d, invrg_dream_start start, uint64_t seed,
                                  const uint64_t *samples, int n, uint64_t *ticks);

/** Spins of the top level held by this rank. Not collective. */
int64_t invrg_dream_levels_top_spins(const invrg_dream_levels *d);

#endif
