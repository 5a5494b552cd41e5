/**
 * @file groups.h
 * The ensemble layer: the world split into groups of ranks, each group a
 * periodic 2D grid that holds one lattice at a time, and numbered work items
 * dealt out to the groups.
 *
 * Group g is world ranks g*rpg .. g*rpg + rpg - 1 (rpg = ranks_per_group),
 * in that order: group rank r is world rank g*rpg + r.
 * Its grid has px ranks along x and py along y; rank (cx, cy) of the grid is
 * group rank cy*px + cx (row-major like the lattice, x fastest).
 * The Cartesian communicator's dimension 0 is y (py ranks) and dimension 1 is
 * x (px ranks), so that MPI's row-major rank order is the order above: shift
 * along dimension 1 to find the left/right neighbour, dimension 0 for up/down.
 * Item j belongs to group j mod n_groups, so the set of items, and everything
 * keyed by item, does not depend on how many groups there are.
 */
#ifndef INVRG_GROUPS_H
#define INVRG_GROUPS_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include "invrg/config.h"
#include "invrg/error.h"

/** The layout of this rank. Read-only after creation. */
typedef struct {
  MPI_Comm world;      /**< a duplicate of the world communicator */
  MPI_Comm cart;       /**< this group's periodic px × py grid */
  int world_rank, world_size;
  int ranks_per_group;
  int n_groups;
  int group;           /**< this rank's group, world_rank / ranks_per_group */
  int rank;            /**< rank in the group = in cart */
  int px, py;          /**< grid size along x and y */
  int cx, cy;          /**< this rank's position in the grid */
  /* The reducer's two-level gather (reducer.c) from 4 ranks on: teams of about √world_size
   * consecutive world ranks, and their first ranks; MPI_COMM_NULL where not used. */
  MPI_Comm gather_team, gather_leaders;
  int team_size;       /**< ranks per team (the last team may have fewer); 0: no teams */
  const char *size_key; /**< the &parallel key that set the group size, for messages */
  const char *grid_key; /**< the one that set the grid */
} invrg_groups;

/**
 * A layout to make: the group size and grid (grid 0, 0 picks the most nearly
 * square grid with py >= px, and 0 for one of the two fills it in), and the
 * &parallel keys that set them, which the input errors name.
 */
typedef struct {
  int64_t ranks_per_group; /**< >= 1 */
  int64_t grid[2];
  const char *size_key, *grid_key; /**< e.g. "ranks_per_group", "grid" */
} invrg_groups_request;

/** The request of &parallel ranks_per_group (0, automatic, makes groups of 1) and grid. */
invrg_groups_request invrg_groups_request_parallel(const invrg_config *cfg);

/**
 * Splits @p world as @p req says. An impossible layout is an input error about
 * the request's key, saying what would work; all ranks return it alike. Both
 * communicators return MPI errors. Collective on @p world.
 */
invrg_err invrg_groups_create_as(MPI_Comm world, const invrg_config *cfg,
                                 const invrg_groups_request *req, invrg_groups **out);

/** invrg_groups_create_as() with the request of &parallel. Collective on @p world. */
invrg_err invrg_groups_create(MPI_Comm world, const invrg_config *cfg, invrg_groups **out);

/**
 * The layout world rank 0 would have in a run of @p n_ranks ranks, for checking
 * an input on one process (invrg --check --ranks N): the same layout errors as
 * invrg_groups_create_as(), but its world is MPI_COMM_SELF and it has no grid
 * communicator (cart = MPI_COMM_NULL). Not collective.
 */
invrg_err invrg_groups_create_planned_as(const invrg_config *cfg, const invrg_groups_request *req,
                                         int n_ranks, invrg_groups **out);

/** invrg_groups_create_planned_as() with the request of &parallel. Not collective. */
invrg_err invrg_groups_create_planned(const invrg_config *cfg, int n_ranks, invrg_groups **out);

/**
 * The group size as the input set it, for messages: "dream_ranks_per_group = 4", or
 * "dream_grid = 2, 2 (groups of 4)" when a grid alone set it. Not collective.
 */
void invrg_groups_describe_size(const invrg_groups *g, char *buf, size_t size);

/** The key to advise another group size with ("dream_ranks_per_group", also when a grid set
 * the size). Not collective. */
const char *invrg_groups_size_key(const invrg_groups *g);

/** Frees the communicators; sets *g to NULL; accepts NULL. Collective on the world of *g. */
void invrg_groups_destroy(invrg_groups **g);

/**
 * True if an lx × ly lattice with halo width @p halo splits into equal blocks
 * on the grid, each at least @p halo sites wide along every direction that is
 * split over more than one rank. Not collective.
 */
bool invrg_groups_can_distribute(const invrg_groups *g, int64_t lx, int64_t ly, int halo);

/**
 * Input error about key @p key of group @p nl_group (the key that set the
 * lattice size) if invrg_groups_can_distribute() is false; the message lists
 * the grids and sizes that would work. Not collective (the same on all ranks).
 */
invrg_err invrg_groups_check_lattice(const invrg_groups *g, const invrg_config *cfg,
                                     const char *nl_group, const char *key, int64_t lx,
                                     int64_t ly, int halo);

/** Number of the @p n_items items that this rank's group owns. Not collective. */
int64_t invrg_groups_item_count(const invrg_groups *g, int64_t n_items);

/**
 * The global index of this group's @p k-th item (0 <= k < item count):
 * group + k * n_groups. Iterate as
 * `for (k = 0; k < invrg_groups_item_count(g, n); k++) { j = invrg_groups_item(g, k); ... }`.
 * Not collective.
 */
int64_t invrg_groups_item(const invrg_groups *g, int64_t k);

/** The group that owns item @p item: item mod n_groups. Not collective. */
int invrg_groups_item_owner(const invrg_groups *g, int64_t item);

#endif
