/* The groups of ranks of each stage: asked for, or the smallest that passes the stage's checks
 * (stage_layout.h). */
#include "invrg/stage_layout.h"

#include <stdio.h>

#include "invrg/log.h"

/* The &parallel keys of each stage's layout, by invrg_stage_kind. */
static const char *const size_keys[INVRG_MAX_STAGES] = {
    [INVRG_STAGE_MC] = "mc_ranks_per_group", [INVRG_STAGE_TRAIN] = "train_ranks_per_group",
    [INVRG_STAGE_DREAM] = "dream_ranks_per_group",
    [INVRG_STAGE_ANALYZE] = "analyze_ranks_per_group"};
static const char *const grid_keys[INVRG_MAX_STAGES] = {
    [INVRG_STAGE_MC] = "mc_grid", [INVRG_STAGE_TRAIN] = "train_grid",
    [INVRG_STAGE_DREAM] = "dream_grid", [INVRG_STAGE_ANALYZE] = "analyze_grid"};

invrg_groups_request invrg_stage_layout_request(const invrg_config *cfg, invrg_stage_kind kind) {
  const invrg_config_parallel *p = &cfg->parallel;
  const invrg_config_stage_layout *own = &p->stage[kind];
  const bool own_grid = own->grid[0] != 0 || own->grid[1] != 0;
  invrg_groups_request req = {p->ranks_per_group, {p->grid[0], p->grid[1]}, "ranks_per_group",
                              "grid"};
  if (own->ranks_per_group > 0) { /* the stage's own size: its own grid, or automatic */
    req.ranks_per_group = own->ranks_per_group;
    req.size_key = size_keys[kind];
    req.grid[0] = req.grid[1] = 0;
    req.grid_key = grid_keys[kind];
  }
  if (own_grid) {
    req.grid[0] = own->grid[0];
    req.grid[1] = own->grid[1];
    req.grid_key = grid_keys[kind];
  }
  if (req.ranks_per_group == 0 && req.grid[0] > 0 && req.grid[1] > 0) { /* the grid says it */
    req.ranks_per_group = req.grid[0] * req.grid[1];
    req.size_key = req.grid_key;
  }
  return req;
}

/* Groups for a check: the run's world split, or (planned_ranks > 0) rank 0 of a planned run. */
static invrg_err make_groups(const invrg_config *cfg, const invrg_groups_request *req,
                             MPI_Comm world, int planned_ranks, invrg_groups **g) {
  if (planned_ranks > 0) return invrg_groups_create_planned_as(cfg, req, planned_ranks, g);
  return invrg_error_agree(invrg_groups_create_as(world, cfg, req, g), world);
}

/* The stage's check on groups of @p req; with @p quiet, its findings are forgotten (a trial). */
static invrg_err check_on(const invrg_config *cfg, const invrg_stage *stage,
                          const invrg_groups_request *req, MPI_Comm world, int planned_ranks,
                          bool quiet) {
  invrg_err err = INVRG_SUCCESS;
  invrg_groups *g = NULL;
  const invrg_config_diagnostics_mark mark = invrg_config_diagnostics_save();
  const invrg_log_level level = invrg_log_get_level();
  if (quiet && level > INVRG_LOG_WARN) invrg_log_set_level(INVRG_LOG_WARN);
  err = make_groups(cfg, req, world, planned_ranks, &g);
  if (err == INVRG_SUCCESS) {
    const invrg_run run = {cfg, g, NULL, NULL, NULL};
    err = invrg_error_agree(stage->check(&run), world);
  }
  invrg_groups_destroy(&g);
  invrg_log_set_level(level);
  if (quiet) invrg_config_diagnostics_restore(mark);
  return err;
}

/* The lattices a stage shares out (0: items that are not lattices, no rule). */
static int64_t lattice_items(const invrg_config *cfg, invrg_stage_kind kind) {
  return kind == INVRG_STAGE_MC ? cfg->mc.n_chains
         : kind == INVRG_STAGE_DREAM ? cfg->dream.n_samples : 0;
}

/* The smallest group size (a divisor of the ranks) on which the stage passes its checks, first
 * among those that leave no group without a lattice (idle ranks), then among all; 0 if none. */
static int64_t smallest_passing(const invrg_config *cfg, const invrg_stage *stage,
                                invrg_stage_kind kind, invrg_groups_request req, MPI_Comm world,
                                int planned_ranks) {
  int n = planned_ranks;
  if (n <= 0) MPI_Comm_size(world, &n);
  const int64_t items = lattice_items(cfg, kind);
  for (int pass = items > 0 ? 0 : 1; pass < 2; pass++)
    for (int64_t d = 1; d <= n; d++) {
      if (n % d != 0 || (pass == 0 && n / d > items)) continue;
      req.ranks_per_group = d;
      const invrg_err err = check_on(cfg, stage, &req, world, planned_ranks, true);
      if (err == INVRG_SUCCESS) return d;
      if (err != INVRG_ERR_INPUT) return 0; /* MPI or memory: the real check says it */
    }
  return 0;
}

invrg_err invrg_stage_layout_check(const invrg_config *cfg, const invrg_stage *stage,
                                   invrg_stage_kind kind, MPI_Comm world, int planned_ranks,
                                   invrg_groups_request *chosen, bool *automatic) {
  invrg_err err = INVRG_SUCCESS, found = INVRG_SUCCESS;
  invrg_groups_request req = invrg_stage_layout_request(cfg, kind);
  *automatic = req.ranks_per_group == 0;
  if (*automatic) { /* none passes: groups of one, whose check reports why */
    const int64_t d = smallest_passing(cfg, stage, kind, req, world, planned_ranks);
    req.ranks_per_group = d > 0 ? d : 1;
  }
  *chosen = req;
  invrg_groups *probe = NULL;
  err = make_groups(cfg, &req, world, planned_ranks, &probe);
  invrg_groups_destroy(&probe);
  if (err == INVRG_ERR_INPUT) { /* the layout is impossible: check the stage on groups of one */
    found = err;
    req = (invrg_groups_request){1, {0, 0}, "ranks_per_group", "grid"};
    err = INVRG_SUCCESS;
  }
  INVRG_CALL(err);
  INVRG_CHECK_MORE(found, check_on(cfg, stage, &req, world, planned_ranks, false));
cleanup:
  return err != INVRG_SUCCESS ? err : found;
}

void invrg_stage_layout_describe(const invrg_groups *g, bool automatic, char *buf, size_t size) {
  snprintf(buf, size, "%d group%s of %d rank%s, grid %d x %d%s", g->n_groups,
           g->n_groups == 1 ? "" : "s", g->ranks_per_group, g->ranks_per_group == 1 ? "" : "s",
           g->px, g->py,
           automatic ? " (chosen automatically)" : "");
}
