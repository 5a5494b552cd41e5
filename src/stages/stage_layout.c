/* The groups of ranks of each stage: asked for, or the smallest that passes the stage's checks
 * (stage_layout.h). */
#include "invrg/stage_layout.h"

#include <limits.h>
#include <math.h>
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

/* What a trial found: how many input errors, and a digest of their texts. */
typedef struct {
  int n_errors;
  uint64_t digest;
} trial_findings;

/* The stage's check on groups of @p req; with @p quiet, its findings are forgotten (a trial)
 * and *found (if not NULL) says what they were, on every rank alike. */
static invrg_err check_on(const invrg_config *cfg, const invrg_stage *stage,
                          const invrg_groups_request *req, MPI_Comm world, int planned_ranks,
                          bool quiet, trial_findings *found) {
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
  if (found != NULL) { /* collected on world rank 0 only: its word for all */
    found->n_errors = invrg_config_input_errors() - mark.n_errors;
    found->digest = invrg_config_diagnostics_digest(mark);
    if (planned_ranks <= 0 && err != INVRG_ERR_RUNTIME) {
      const invrg_err bcast = err; /* the trial's outcome, whatever the broadcasts do */
      INVRG_MPI_CALL(MPI_Bcast(&found->n_errors, 1, MPI_INT, 0, world));
      INVRG_MPI_CALL(MPI_Bcast(&found->digest, 1, MPI_UINT64_T, 0, world));
      err = bcast;
    }
  }
cleanup:
  if (quiet) invrg_config_diagnostics_restore(mark);
  return err;
}

/* The lattices a stage shares out (0: items that are not lattices, no rule): how many, the
 * sites of the largest, and a side every size has (their greatest common divisor). */
typedef struct {
  int64_t items, side;
  double sites;
} stage_lattices;

static int64_t gcd(int64_t a, int64_t b) { return b == 0 ? a : gcd(b, a % b); }

static stage_lattices lattices_of(const invrg_config *cfg, invrg_stage_kind kind) {
  stage_lattices s = {0, 0, 0};
  if (kind == INVRG_STAGE_MC) {
    s.items = cfg->mc.n_chains;
    for (int i = 0; i < cfg->mc.n_L; i++) {
      const double sites = (double)cfg->mc.L[i] * (double)cfg->mc.L[i];
      if (sites > s.sites) s.sites = sites;
      s.side = gcd(cfg->mc.L[i], s.side);
    }
  } else if (kind == INVRG_STAGE_DREAM) {
    s.items = cfg->dream.n_samples;
    s.side = (int64_t)1 << cfg->dream.levels;
    s.sites = ldexp(1.0, 2 * (int)cfg->dream.levels);
  }
  return s;
}

/* Sites per rank below which sharing a lattice to keep ranks busy costs more in halos and
 * messages than it gains (a 256² block). */
#define MIN_SHARED_SITES 65536.0

/* Whether groups of @p d of the @p n ranks are worth trying first: no group without a lattice,
 * each rank MIN_SHARED_SITES of it at least, and a side that d divides (so that the lattice is
 * split, not held whole by every rank of the group). */
static bool keeps_ranks_busy(const stage_lattices *s, int n, int64_t d) {
  if (s->items <= 0 || n / d > s->items) return false;
  return d == 1 || (s->sites / (double)d >= MIN_SHARED_SITES && s->side % d == 0);
}

/* *size: the smallest group size (a divisor of the ranks) on which the stage passes its checks,
 * first among those that keep the ranks busy (keeps_ranks_busy()), then among the others; 0 if
 * none, and then *fewest the size to report the errors for: of those with the fewest, the
 * smallest when they all found the same (errors of the input, not of the layout), else the
 * largest (a lattice too big for one rank is reported for the most ranks that could share it).
 * A runtime failure of a trial (MPI, memory) is returned. */
static invrg_err smallest_passing(const invrg_config *cfg, const invrg_stage *stage,
                                  invrg_stage_kind kind, invrg_groups_request req, MPI_Comm world,
                                  int planned_ranks, int64_t *size, int64_t *fewest) {
  int n = planned_ranks, least = INT_MAX;
  uint64_t least_digest = 0;
  bool same = true; /* the sizes with the fewest errors all found the same */
  int64_t smallest = 1, largest = 1;
  *size = 0;
  if (n <= 0) MPI_Comm_size(world, &n);
  const stage_lattices lattices = lattices_of(cfg, kind);
  for (int pass = 0; pass < 2; pass++)
    for (int64_t d = 1; d <= n; d++) {
      if (n % d != 0 || keeps_ranks_busy(&lattices, n, d) != (pass == 0)) continue;
      req.ranks_per_group = d;
      trial_findings f = {0, 0};
      const invrg_err err = check_on(cfg, stage, &req, world, planned_ranks, true, &f);
      if (err == INVRG_SUCCESS) *size = d;
      if (err != INVRG_ERR_INPUT) return err;
      if (f.n_errors < least) {
        least = f.n_errors, least_digest = f.digest, same = true, smallest = largest = d;
      } else if (f.n_errors == least) {
        same = same && f.digest == least_digest;
        smallest = d < smallest ? d : smallest;
        largest = d > largest ? d : largest;
      }
    }
  *fewest = same ? smallest : largest;
  return INVRG_SUCCESS;
}

invrg_err invrg_stage_layout_check(const invrg_config *cfg, const invrg_stage *stage,
                                   invrg_stage_kind kind, MPI_Comm world, int planned_ranks,
                                   invrg_groups_request *chosen, bool *automatic) {
  invrg_err err = INVRG_SUCCESS, found = INVRG_SUCCESS;
  invrg_groups_request req = invrg_stage_layout_request(cfg, kind);
  *automatic = req.ranks_per_group == 0;
  if (*automatic) {
    int64_t d = 0, fewest = 1;
    INVRG_CALL(smallest_passing(cfg, stage, kind, req, world, planned_ranks, &d, &fewest));
    req.ranks_per_group = d > 0 ? d : fewest;
    if (d == 0 && fewest > 1) /* its errors follow; say which layout they are about */
      invrg_config_input_warning(cfg, "parallel", req.size_key,
                                 "stage %s: no group size passes its checks; they are reported "
                                 "for groups of %lld ranks, the layout with the fewest errors",
                                 invrg_stage_kind_name(kind), (long long)fewest);
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
  INVRG_CHECK_MORE(found, check_on(cfg, stage, &req, world, planned_ranks, false, NULL));
cleanup:
  return err != INVRG_SUCCESS ? err : found;
}

void invrg_stage_layout_describe(const invrg_groups *g, bool automatic, char *buf, size_t size) {
  snprintf(buf, size, "%d group%s of %d rank%s, grid %d x %d%s", g->n_groups,
           g->n_groups == 1 ? "" : "s", g->ranks_per_group, g->ranks_per_group == 1 ? "" : "s",
           g->px, g->py,
           automatic ? " (chosen automatically)" : "");
}
