/**
 * @file stage_setup.h
 * What every measuring stage (mc, dream, analyze) sets up alike: the lattice of one size on a
 * group, and the MCRG accumulator's parameters from &analyze.
 */
#ifndef INVRG_STAGE_SETUP_H
#define INVRG_STAGE_SETUP_H

#include <stdint.h>

#include "invrg/config.h"
#include "invrg/error.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"

/**
 * An L × L lattice with halo @p halo for one item of the group: distributed over the group's
 * grid when the group has several ranks and the grid can split it, else whole on every rank of
 * the group (groups of one, or lattices too small for the grid). Collective on the group's
 * grid when distributed.
 */
invrg_err invrg_stage_lattice_create(const invrg_groups *g, int64_t L, int halo,
                                     invrg_lattice **out);

#endif
