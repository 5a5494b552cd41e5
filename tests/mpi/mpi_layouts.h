/* The layouts an MPI test runs on: one rank per group (replicated lattices), every grid of
 * one group of all ranks (1 x P … P x 1), and on 4 ranks also groups of 2 (2 x 1, 1 x 2).
 * Include after mpi_test.h. */
#ifndef INVRG_TESTS_MPI_LAYOUTS_H
#define INVRG_TESTS_MPI_LAYOUTS_H

#include "invrg/config.h"
#include "invrg/groups.h"
#include "mpi/mpi_test.h"

typedef struct {
  int rpg, px, py; /* ranks per group, grid */
} layout;

/* The layouts of world_size ranks into @p out (at most 8); returns how many. */
static int layouts(layout *out) {
  int n = 0;
  out[n++] = (layout){1, 1, 1};
  for (int px = 1; px <= world_size; px++)
    if (world_size % px == 0 && world_size > 1)
      out[n++] = (layout){world_size, px, world_size / px};
  if (world_size == 4) out[n++] = (layout){2, 2, 1}, out[n++] = (layout){2, 1, 2};
  return n;
}

/* The groups of layout @p l on MPI_COMM_WORLD. */
static invrg_groups *make_groups(layout l) {
  invrg_config cfg;
  invrg_config_defaults(&cfg);
  cfg.parallel.ranks_per_group = l.rpg;
  cfg.parallel.grid[0] = l.px;
  cfg.parallel.grid[1] = l.py;
  invrg_groups *g = NULL;
  OK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
  return g;
}

#endif
