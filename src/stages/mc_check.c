/* Stage mc before any work (mc_check.h): every input error of its keys at once. */
#include "invrg/mc_check.h"

#include <limits.h>

#include "invrg/budget.h"
#include "invrg/rng.h"
#include "invrg/stage_setup.h"

/* A packed lattice of side L on the group (packed.h's limits): split by rows, so the group's
 * ranks must divide L, and a rank holds fewer than 2^31 words per colour. */
static invrg_err check_packed(const invrg_config *cfg, const invrg_groups *g, int64_t L) {
  const int64_t P = g->ranks_per_group, words = (L / 2 + 63) / 64;
  char size[96];
  invrg_groups_describe_size(g, size, sizeof size);
  if (L % P != 0)
    return invrg_config_input_error(cfg, "mc", "lattice",
                                    "a packed lattice is split by rows over the %lld ranks of a "
                                    "group, but L = %lld is not a multiple of them (%s); use "
                                    "lattice = 'int8' or a %s that divides %lld",
                                    (long long)P, (long long)L, size, invrg_groups_size_key(g),
                                    (long long)L);
  if ((L / P + 2) * words >= INT_MAX)
    return invrg_config_input_error(cfg, "mc", "lattice",
                                    "a packed %lld x %lld lattice needs %lld rows of %lld words "
                                    "per rank (fewer than 2^31 words: raise %s)",
                                    (long long)L, (long long)L, (long long)(L / P),
                                    (long long)words, invrg_groups_size_key(g));
  return INVRG_SUCCESS;
}

/* The checks that depend on one lattice size; every input error is reported. */
static invrg_err check_size(const invrg_run *run, int64_t L) {
  invrg_err err = INVRG_SUCCESS, found = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_groups *g = run->groups;
  if (g->ranks_per_group > 1)
    INVRG_CHECK_MORE(found, invrg_groups_check_lattice(g, cfg, "mc", "L", L, L, 1));
  if (cfg->analyze.mcrg_on_mc && L % (INT64_C(1) << cfg->analyze.mcrg_levels) != 0)
    found = invrg_config_input_error(cfg, "analyze", "mcrg_levels",
                                     "%lld blockings need L to be a multiple of %lld (L = %lld)",
                                     (long long)cfg->analyze.mcrg_levels,
                                     (long long)(INT64_C(1) << cfg->analyze.mcrg_levels),
                                     (long long)L);
  if (cfg->mc.save_configs && cfg->output.configs_format_kind == INVRG_CONFIGS_PACKED &&
      (L / g->px) % 8 != 0)
    found = invrg_config_input_error(cfg, "output", "configs_format",
                                     "packed configurations need a block width L/px = %lld that "
                                     "is a multiple of 8 (L = %lld)",
                                     (long long)(L / g->px), (long long)L);
  if (cfg->mc.lattice_kind == INVRG_MC_LATTICE_PACKED)
    INVRG_CHECK_MORE(found, check_packed(cfg, g, L));
cleanup:
  return err != INVRG_SUCCESS ? err : found;
}

invrg_err invrg_mc_check(const invrg_run *run) {
  invrg_err err = INVRG_SUCCESS, found = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_groups *g = run->groups;
  if (cfg->analyze.mcrg_on_mc && cfg->mc.n_L > 1)
    found = invrg_config_input_error(cfg, "analyze", "mcrg_on_mc",
                                     "MCRG of Monte Carlo samples works on one &mc L per run (%d "
                                     "given)", cfg->mc.n_L);
  int twice = -1; /* a size listed twice would be sampled twice and kept once */
  for (int i = 1; i < cfg->mc.n_L && twice < 0; i++)
    for (int k = 0; k < i; k++)
      if (cfg->mc.L[i] == cfg->mc.L[k]) twice = i;
  if (twice >= 0)
    found = invrg_config_input_error(cfg, "mc", "L", "L = %lld is listed twice",
                                     (long long)cfg->mc.L[twice]);
  char size[96];
  invrg_groups_describe_size(g, size, sizeof size);
  if (cfg->mc.algorithm_kind == INVRG_MC_WOLFF && g->ranks_per_group > 1) {
    /* named at the algorithm when the input chose it, else at the layout key that asked */
    const char *layout[] = {"mc_grid", "mc_ranks_per_group", "grid", "ranks_per_group"};
    const char *group = "mc", *key = "algorithm";
    for (int k = 0; k < 4 && !invrg_config_key_given(cfg, "mc", "algorithm"); k++)
      if (invrg_config_key_given(cfg, "parallel", layout[k])) {
        group = "parallel", key = layout[k];
        break;
      }
    found = invrg_config_input_error(cfg, group, key,
                                     "'wolff' runs each chain on one rank, but %s; use "
                                     "algorithm = 'sw' for a lattice shared by several ranks, or "
                                     "mc_ranks_per_group = 1 (and no mc_grid)", size);
  }
  if (cfg->mc.lattice_kind == INVRG_MC_LATTICE_PACKED &&
      cfg->mc.algorithm_kind != INVRG_MC_METROPOLIS && cfg->mc.algorithm_kind != INVRG_MC_HEATBATH)
    found = invrg_config_input_error(cfg, "mc", "lattice",
                                     "a packed lattice runs algorithm = 'metropolis' or "
                                     "'heatbath', not '%s'; use lattice = 'int8'",
                                     cfg->mc.algorithm);
  if (cfg->mc.generator_kind == INVRG_RNG_ARS && cfg->mc.lattice_kind != INVRG_MC_LATTICE_PACKED)
    found = invrg_config_input_error(cfg, "mc", "generator",
                                     "'ars' draws the multispin sweeps of lattice = 'packed' "
                                     "(algorithm = 'metropolis' or 'heatbath'); this run has "
                                     "lattice = '%s': use generator = 'philox'",
                                     cfg->mc.lattice);
  /* On the 2 x 2 torus every spin has its two neighbours twice; in a stripe state every local
   * field is zero, so Metropolis flips every spin of a colour with probability 1 and the
   * checkerboard sweep cycles through the stripe states for ever: the chain is not ergodic. */
  for (int i = 0; i < cfg->mc.n_L; i++)
    if (cfg->mc.L[i] == 2 && cfg->mc.algorithm_kind == INVRG_MC_METROPOLIS)
      found = invrg_config_input_error(cfg, "mc", "algorithm",
                                       "'metropolis' is not ergodic at L = 2 (the checkerboard "
                                       "sweep cycles through the stripe states, where every "
                                       "flip is accepted); use 'heatbath', 'wolff' or 'sw'");
  if (cfg->mc.blocks_per_chain > cfg->mc.n_samples)
    found = invrg_config_input_error(cfg, "mc", "blocks_per_chain",
                                     "blocks_per_chain = %lld is more than n_samples = %lld",
                                     (long long)cfg->mc.blocks_per_chain,
                                     (long long)cfg->mc.n_samples);
  for (int i = 0; i < cfg->mc.n_L; i++) INVRG_CHECK_MORE(found, check_size(run, cfg->mc.L[i]));
  if (invrg_stage_fits_source(cfg, INVRG_SOURCE_MC) && cfg->mc.n_L >= 2)
    INVRG_CHECK_MORE(found,
                     invrg_stage_check_fss_range(cfg, INVRG_SOURCE_MC, "&mc L", cfg->mc.L,
                                                 cfg->mc.n_L));
  INVRG_CHECK_MORE(found, invrg_budget_check_mc(run)); /* memory, disk, ranges */
cleanup:
  return err != INVRG_SUCCESS ? err : found;
}
