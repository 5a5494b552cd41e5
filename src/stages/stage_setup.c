/* What the measuring stages set up alike (stage_setup.h). */
#include "invrg/stage_setup.h"

invrg_err invrg_stage_lattice_create(const invrg_groups *g, int64_t L, int halo,
                                     invrg_lattice **out) {
  if (g->ranks_per_group > 1 && invrg_groups_can_distribute(g, L, L, halo))
    return invrg_lattice_create_distributed(g, L, L, halo, out);
  return invrg_lattice_create_replicated(L, L, halo, out);
}
