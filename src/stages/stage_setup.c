/* What the measuring stages set up alike (stage_setup.h). */
#include "invrg/stage_setup.h"

invrg_err invrg_stage_lattice_create(const invrg_groups *g, int64_t L, int halo,
                                     invrg_lattice **out) {
  if (g->ranks_per_group > 1 && invrg_groups_can_distribute(g, L, L, halo))
    return invrg_lattice_create_distributed(g, L, L, halo, out);
  return invrg_lattice_create_replicated(L, L, halo, out);
}

invrg_mcrg_params invrg_stage_mcrg_params(const invrg_config *cfg, int n_levels, int n_blocks) {
  invrg_mcrg_params mp = {.n_sets = cfg->analyze.n_operators, .n_levels = n_levels,
                          .n_blocks = n_blocks, .seed = (uint64_t)cfg->run.seed,
                          .tie_rule = cfg->analyze.tie_rule_kind};
  for (int k = 0; k < mp.n_sets; k++) mp.sets[k] = cfg->analyze.operators[k];
  return mp;
}
