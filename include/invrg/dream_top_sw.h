/**
 * @file dream_top_sw.h
 * Swendsen–Wang sweeps on the top level of a dream (&dream top_sw_sweeps): after the top level
 * is dreamed and refined, and before it is measured, n sweeps of invrg_mc_sw_sweep()
 * (mc_update.h) at coupling K on the level's int8 spins.
 *
 * Int8 levels are swept in place. A packed top level is unpacked into an int8 lattice of its
 * own, swept, and packed back: distributed on the group's grid when the packed level is split
 * by rows over the group, replicated (every rank of the group the same sweeps) when it is whole
 * on every rank. Memory per top-level spin held by a rank: the workspace of sw.c (13 bytes: the
 * union–find parent, 4, the bond flags, 1, and the cluster labels, 8), and for a packed level
 * the int8 copy (1 byte) plus, while it is packed back, the three row buffers of
 * invrg_packed_from_lattice() (3 bytes, where split). Limit of sw.c: fewer than 2^31 sites per
 * rank.
 *
 * Random numbers: sweep s of sample j uses the stream (seed, INVRG_RNG_TOP_SW, j, s), keyed by
 * global site inside the sweep, so a sample's top level is the same on any layout.
 */
#ifndef INVRG_DREAM_TOP_SW_H
#define INVRG_DREAM_TOP_SW_H

#include <stdint.h>

#include "invrg/error.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/packed.h"

/** Bytes per top-level spin a rank holds for the sweeps: int8 levels, packed levels. */
#define INVRG_DREAM_TOP_SW_BYTES_INT8 13.0
#define INVRG_DREAM_TOP_SW_BYTES_PACKED (13.0 + 1.0 + 3.0)

/** Sites per rank sw.c can index (int32 union–find). */
#define INVRG_DREAM_TOP_SW_MAX_SITES 2147483647.0

typedef struct invrg_dream_top_sw invrg_dream_top_sw;

/**
 * The sweeps of the top level: @p lat (int8 levels), or @p packed (NULL lat: a packed level)
 * whose spins are held in an int8 lattice on @p g as said above. @p sweeps > 0 sweeps at
 * @p K > 0, run seed @p seed. Collective on the group.
 */
invrg_err invrg_dream_top_sw_create(const invrg_groups *g, invrg_lattice *lat,
                                    invrg_packed *packed, int sweeps, double K, uint64_t seed,
                                    invrg_dream_top_sw **out);

/** Frees it; sets *t to NULL; accepts NULL. Collective on the group. */
void invrg_dream_top_sw_destroy(invrg_dream_top_sw **t);

/**
 * The sweeps of sample @p sample on the top level as it holds now; on return its halos are
 * exchanged (measurements can follow). Collective on the group.
 */
invrg_err invrg_dream_top_sw_apply(invrg_dream_top_sw *t, uint64_t sample);

#endif
