/**
 * @file stage_layout.h
 * The groups of ranks of each stage, chosen before any work.
 *
 * A stage's group size comes from, in order: &parallel <stage>_ranks_per_group,
 * &parallel ranks_per_group, or, when both are 0, the automatic choice: the
 * smallest divisor of the run's ranks whose groups pass every check of the stage
 * (its memory fits &parallel memory_per_rank or the node's share, its lattices
 * split on the grid, Wolff chains on one rank), looked for first among the sizes
 * that leave no group idle (no more groups than Monte Carlo chains or dreams).
 * Its grid comes from
 * <stage>_grid, else &parallel grid (unless the stage set its own size), else the most nearly
 * square grid; a whole grid with no size set gives the size px·py.
 * Stages re-split the world between them; their results do not depend on the
 * layout (bit-identical on any), so the choice is one of speed and memory only.
 */
#ifndef INVRG_STAGE_LAYOUT_H
#define INVRG_STAGE_LAYOUT_H

#include <mpi.h>
#include <stdbool.h>

#include "invrg/groups.h"
#include "invrg/stage.h"

/**
 * The layout the input asks for stage @p kind: ranks_per_group 0 when it is
 * to be chosen automatically. Not collective.
 */
invrg_groups_request invrg_stage_layout_request(const invrg_config *cfg, invrg_stage_kind kind);

/**
 * Chooses the layout of @p stage (of kind @p kind) and runs the stage's check on
 * it, reporting the check's input errors (an impossible layout is reported, and
 * the stage checked on groups of one rank, so that its own errors show too).
 * @p planned_ranks > 0: for a run of that many ranks (invrg --check --ranks N).
 * *chosen is the layout, *automatic whether it was chosen here. Collective on
 * @p world; every rank returns the same code and layout.
 */
invrg_err invrg_stage_layout_check(const invrg_config *cfg, const invrg_stage *stage,
                                   invrg_stage_kind kind, MPI_Comm world, int planned_ranks,
                                   invrg_groups_request *chosen, bool *automatic);

/**
 * "2 groups of 4 ranks, grid 2 x 2" and, when automatic, why: for the log.
 * Not collective.
 */
void invrg_stage_layout_describe(const invrg_groups *g, bool automatic, char *buf, size_t size);

#endif
