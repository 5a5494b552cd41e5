/* Stage dream: configurations dreamed from one spin, measured and judged at every level.
 *
 * Samples are items (groups.h): sample j is dreamed by group j mod n_groups
 * from its own seed spin and random streams, so every number here is the same
 * on any number of ranks. Per-sample measurements travel to world rank 0 in
 * sample order (the jackknife blocks are contiguous runs of samples); MCRG
 * sums are reduced exactly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/blockspin.h"
#include "invrg/budget.h"
#include "invrg/configs_io.h"
#include "invrg/corr_io.h"
#include "invrg/dream.h"
#include "invrg/exact.h"
#include "invrg/h5util.h"
#include "invrg/log.h"
#include "invrg/mcrg.h"
#include "invrg/mcrg_io.h"
#include "invrg/measure_tail.h"
#include "invrg/memory.h"
#include "invrg/model_io.h"
#include "invrg/observables.h"
#include "invrg/progress.h"
#include "invrg/reducer.h"
#include "invrg/schema.h"
#include "invrg/stage.h"
#include "invrg/stage_setup.h"
#include "invrg/summary_io.h"

/* ------------------------------------------------------------------ the model */

/* The model kind of &dream model (NONE: no model given literally). */
static const invrg_model_kind literal_kind[] = {[INVRG_DREAM_MODEL_SYM3] = INVRG_MODEL_KIND_SYM3,
                                                [INVRG_DREAM_MODEL_SYM5] = INVRG_MODEL_KIND_SYM5,
                                                [INVRG_DREAM_MODEL_SYM7] = INVRG_MODEL_KIND_SYM7};

/* The model of &dream: a file, literal parameters, or this run's trained one. */
static invrg_err dream_model(const invrg_run *run, invrg_model **out) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config_dream *d = &run->cfg->dream;
  *out = NULL;
  if (d->model_file[0] != '\0') {
    err = invrg_model_read(d->model_file, "model", out);
    if (err == INVRG_ERR_INPUT)
      err = invrg_config_input_error(run->cfg, "dream", "model_file", "%s", invrg_error_message());
    goto cleanup;
  }
  if (d->model_kind != INVRG_DREAM_MODEL_NONE) {
    INVRG_CALL(invrg_model_create(literal_kind[d->model_kind], 0, 0, out));
    if (d->n_params != (*out)->n_params) {
      err = invrg_config_input_error(run->cfg, "dream", "params",
                                     "model '%s' has %d parameters, params gives %d", d->model,
                                     (*out)->n_params, d->n_params);
      goto cleanup;
    }
    memcpy((*out)->params, d->params, (size_t)d->n_params * sizeof *d->params);
    goto cleanup;
  }
  if (run->model != NULL) {
    INVRG_CALL(invrg_model_clone(run->model, out));
    goto cleanup;
  }
  err = invrg_config_input_error(run->cfg, "dream", "model_file",
                                 "no model to dream with: give model_file, or model and params, "
                                 "or add 'train' to &run stages");
cleanup:
  if (err != INVRG_SUCCESS) invrg_model_destroy(out);
  return err;
}

/*
 * small_kernel_start = 'paper': the reference code dreamed the first (k − 3)/2 steps of a
 * k = 5 or 7 model (where the kernel is larger than the coarse lattice) with a 3 x 3 model:
 * sym3 (small_kernel_params, or small_kernel_model_file), or for conv models a conv k = 3
 * model from small_kernel_model_file. *out = NULL and *n_steps = 0 when no step is replaced.
 */
static invrg_err small_kernel_model(const invrg_run *run, const invrg_model *m, invrg_model **out,
                                    int *n_steps) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config_dream *d = &run->cfg->dream;
  *out = NULL;
  *n_steps = d->small_kernel_start_kind == INVRG_SMALL_KERNEL_PAPER ? (m->kernel - 3) / 2 : 0;
  if (*n_steps <= 0) goto cleanup;
  if (d->small_kernel_model_file[0] != '\0') {
    err = invrg_model_read(d->small_kernel_model_file, "model", out);
    if (err == INVRG_ERR_INPUT)
      err = invrg_config_input_error(run->cfg, "dream", "small_kernel_model_file", "%s",
                                     invrg_error_message());
    INVRG_CALL(err);
  } else if (m->family == INVRG_MODEL_SYM) {
    INVRG_CALL(invrg_model_create(INVRG_MODEL_KIND_SYM3, 0, 0, out));
    memcpy((*out)->params, d->small_kernel_params, 3 * sizeof *d->small_kernel_params);
  }
  if (*out == NULL || (*out)->kernel != 3 || (*out)->family != m->family) {
    err = invrg_config_input_error(
        run->cfg, "dream", m->family == INVRG_MODEL_CONV ? "small_kernel_model_file" : "small_kernel_start",
        "small_kernel_start = 'paper' with a %s model (k = %d) needs a %s model with k = 3 for "
        "the first %d step%s%s",
        invrg_model_kind_name(m->kind), m->kernel, m->family == INVRG_MODEL_CONV ? "conv" : "sym3",
        *n_steps,
        *n_steps == 1 ? "" : "s",
        m->family == INVRG_MODEL_CONV ? ": give small_kernel_model_file" : "");
    goto cleanup;
  }
cleanup:
  if (err != INVRG_SUCCESS) invrg_model_destroy(out);
  return err;
}

/* ------------------------------------------------------------------ check */

static invrg_err dream_check(const invrg_run *run) {
  invrg_err err = INVRG_SUCCESS, found = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_config_dream *d = &cfg->dream;
  invrg_model *m = NULL;
  if (d->measure_from > d->levels)
    found = invrg_config_input_error(cfg, "dream", "measure_from",
                                     "measure_from = %lld is above levels = %lld",
                                     (long long)d->measure_from, (long long)d->levels);
  for (int i = 0; i < d->n_save_levels; i++) {
    const int64_t L = (int64_t)1 << d->save_levels[i];
    if (d->save_levels[i] > d->levels)
      found = invrg_config_input_error(cfg, "dream", "save_levels",
                                       "save_levels holds %lld, outside 1 .. levels = %lld",
                                       (long long)d->save_levels[i], (long long)d->levels);
    else if (cfg->output.configs_format_kind == INVRG_CONFIGS_PACKED &&
             (L / run->groups->px < 8 || (L / run->groups->px) % 8 != 0))
      found = invrg_config_input_error(cfg, "dream", "save_levels",
                                       "packed configurations need blocks at least 8 wide: level "
                                       "%lld (L = %lld) on %d ranks along x is too small",
                                       (long long)d->save_levels[i], (long long)L,
                                       run->groups->px);
  }
  if (invrg_stage_fits_source(cfg, INVRG_SOURCE_DREAM) && d->measure_from <= d->levels &&
      d->levels - d->measure_from >= 1) {
    int64_t sizes[INVRG_MAX_LEVELS + 1];
    int n = 0;
    for (int64_t l = d->measure_from; l <= d->levels; l++) sizes[n++] = (int64_t)1 << l;
    INVRG_CHECK_MORE(found, invrg_stage_check_fss_range(cfg, INVRG_SOURCE_DREAM, sizes, n));
  }
  /* Read the models now (a bad file is an input error). Every rank reads them: a failure of
   * one rank alone is agreed on before the collective checks of the budget below. */
  invrg_err read = INVRG_SUCCESS;
  if (!(d->model_file[0] == '\0' && d->model_kind == INVRG_DREAM_MODEL_NONE &&
        invrg_config_has_stage(cfg, INVRG_STAGE_TRAIN)))
    read = dream_model(run, &m);
  if (read == INVRG_SUCCESS && m != NULL) { /* the small-kernel model of 'paper' too */
    invrg_model *small = NULL;
    int n_small = 0;
    read = small_kernel_model(run, m, &small, &n_small);
    invrg_model_destroy(&small);
  }
  INVRG_CHECK_MORE(found, invrg_error_agree(read, run->groups->world));
  bool conv = m != NULL ? m->family == INVRG_MODEL_CONV
                        : cfg->train.model_kind == INVRG_MODEL_KIND_CONV;
  const int kernel = (int)(m != NULL ? m->kernel : conv ? cfg->train.conv_kernel : 3);
  INVRG_CHECK_MORE(found, invrg_budget_check_dream(run, conv, kernel)); /* memory, disk, ranges */
  /* Models with a window table (sym, conv k = 3) dream on distributed lattices; the others
   * need whole lattices. */
  const bool distributes = m != NULL ? invrg_dream_distributes(m) : !(conv && kernel > 3);
  if (!distributes && run->groups->ranks_per_group > 1)
    found = invrg_config_input_error(cfg, "parallel", "ranks_per_group",
                                     "a conv model with k = %d dreams each sample on one rank; "
                                     "use ranks_per_group = 1 (samples spread over all ranks)",
                                     kernel);
cleanup:
  invrg_model_destroy(&m);
  return err != INVRG_SUCCESS ? err : found;
}

/* ------------------------------------------------------------------ measurements */

/* MCRG accumulators of the three kinds of pairs. */
enum { PAIRS_UP, PAIRS_DOWN, PAIRS_BLOCKED, N_PAIRS };
static const char *const pairs_names[N_PAIRS] = {"up", "down", "blocked"};

/* Levels of the standard MCRG of the top configuration (pairs "blocked"). */
static int blocked_levels(const invrg_config *cfg) {
  return (int)(cfg->analyze.mcrg_levels < cfg->dream.levels ? cfg->analyze.mcrg_levels
                                                             : cfg->dream.levels);
}

/*
 * Pairs of level ℓ = @p level: up (lat[ℓ − 1], lat[ℓ]), down (majority of lat[ℓ], lat[ℓ]), and
 * at the top standard MCRG of lat[ℓ]. Once lat[ℓ] is made the lower levels are free until the
 * next sample, so the blockings are written into them (lat[ℓ − 1] has the size of the majority
 * of lat[ℓ], lat[ℓ − n] that of its n-th blocking, and the same halo and grid): no copies, which
 * is what keeps a 32768² dream within 1.4 bytes per spin. Collective on the group.
 */
static invrg_err measure_pairs(invrg_mcrg *acc[N_PAIRS], const invrg_config *cfg, int level,
                               invrg_lattice *const *lat, uint64_t sample, int block) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_lattice *fine = lat[level];
  invrg_lattice *coarse = lat[level - 1];
  /* The three accumulators have the same operators: the sums of lat[ℓ] serve all of them. */
  const int n = invrg_mcrg_n_operators(acc[PAIRS_UP]);
  int64_t *fine_sums = malloc(2 * (size_t)n * sizeof *fine_sums), *coarse_sums = NULL;
  int64_t ties = 0;
  INVRG_CHECK_ALLOC(fine_sums);
  coarse_sums = fine_sums + n;
  INVRG_CALL(invrg_mcrg_operator_sums(acc[PAIRS_UP], fine, fine_sums));
  INVRG_CALL(invrg_mcrg_operator_sums(acc[PAIRS_UP], coarse, coarse_sums));
  INVRG_CALL(invrg_mcrg_add_sums(acc[PAIRS_UP], level, coarse->lx, coarse->ly, coarse_sums,
                                 fine_sums, -1, block));
  /* Fresh coins per sample and level. Steps 64 + level: the blocked pairs below use steps
   * 0·64 + n (mcrg.h), never these. */
  invrg_blockspin_ties t = {cfg->analyze.tie_rule_kind, (uint64_t)cfg->run.seed, sample,
                            64 + (uint64_t)level};
  INVRG_CALL(invrg_blockspin_apply(fine, &t, coarse, &ties)); /* lat[ℓ − 1] overwritten */
  INVRG_CALL(invrg_mcrg_operator_sums(acc[PAIRS_DOWN], coarse, coarse_sums));
  INVRG_CALL(invrg_mcrg_add_sums(acc[PAIRS_DOWN], level, coarse->lx, coarse->ly, coarse_sums,
                                 fine_sums, ties, block));
  if (level == cfg->dream.levels) {
    invrg_lattice *chain[INVRG_MCRG_MAX_LEVELS]; /* chain[n − 1]: n-th blocking, in lat[ℓ − n] */
    for (int k = 1; k <= blocked_levels(cfg); k++) chain[k - 1] = lat[level - k];
    INVRG_CALL(invrg_mcrg_add_configuration_into(acc[PAIRS_BLOCKED], fine, fine_sums, chain,
                                                 sample, 0, block));
  }
cleanup:
  free(fine_sums);
  return err;
}

/* ------------------------------------------------------------------ output */

/* Reads /mc/L<L> summary X and X_err of this run, if stage mc made that size. */
static bool mc_reference(hid_t file, int64_t L, const char *obs, double *value, double *error) {
  char path[64], name[64];
  snprintf(path, sizeof path, "mc/L%lld", (long long)L);
  if (H5Lexists(file, "mc", H5P_DEFAULT) <= 0 || H5Lexists(file, path, H5P_DEFAULT) <= 0) return false;
  hid_t g = H5Gopen2(file, path, H5P_DEFAULT);
  snprintf(name, sizeof name, "%s_err", obs);
  bool ok = g >= 0 && H5Aexists(g, obs) > 0 && H5Aexists(g, name) > 0;
  if (ok) {
    hid_t a = H5Aopen(g, obs, H5P_DEFAULT), b = H5Aopen(g, name, H5P_DEFAULT);
    ok = H5Aread(a, H5T_NATIVE_DOUBLE, value) >= 0 && H5Aread(b, H5T_NATIVE_DOUBLE, error) >= 0;
    H5Aclose(a);
    H5Aclose(b);
  }
  if (g >= 0) H5Gclose(g);
  return ok;
}

/* /dream/L<L>: the summary at K_c, errors by the jackknife over B contiguous blocks. */
static invrg_err write_level_summary(hid_t file, int64_t L, int B, const invrg_summary *s) {
  char path[64];
  invrg_schema_size_path(path, sizeof path, "dream", NULL, L);
  const invrg_summary_context ctx = {L, INVRG_K_CRITICAL,
                                     "jackknife over contiguous blocks of samples", B};
  return invrg_summary_write(file, path, s, &ctx, NULL);
}

/* The table of the log: one row per size, deviations from Monte Carlo or the exact torus. */
static void log_table(hid_t file, const invrg_config_dream *d, const invrg_summary *sum) {
  invrg_log(INVRG_LOG_INFO, "dream: %lld samples, %lld levels", (long long)d->n_samples,
            (long long)d->levels);
  invrg_log(INVRG_LOG_INFO, "  %6s %22s %22s %20s %20s %20s  %s", "L", "E/N", "C/N", "<|m|>", "chi",
            "V4", "deviation (sigma) from");
  for (int64_t level = d->measure_from; level <= d->levels; level++) {
    const invrg_summary *s = &sum[level - d->measure_from];
    int64_t L = (int64_t)1 << level;
    char dev[160] = "";
    double v, e;
    const int shown[] = {INVRG_OBS_ENERGY, INVRG_OBS_SPECIFIC_HEAT, INVRG_OBS_ABS_M, INVRG_OBS_CHI,
                         INVRG_OBS_V4};
    if (mc_reference(file, L, "energy", &v, &e)) {
      size_t used = (size_t)snprintf(dev, sizeof dev, "mc:");
      for (int k = 0; k < 5; k++) {
        const char *name = invrg_summary_names[shown[k]];
        if (mc_reference(file, L, name, &v, &e))
          used += (size_t)snprintf(dev + used, sizeof dev - used, " %s %+.1f", name,
                                   (s->value[shown[k]] - v) / hypot(s->error[shown[k]], e));
      }
    } else {
      invrg_exact_thermo ex;
      if (invrg_exact_torus((int)L, INVRG_K_CRITICAL, &ex))
        snprintf(dev, sizeof dev, "exact torus: energy %+.1f, specific_heat %+.1f",
                 (s->value[INVRG_OBS_ENERGY] - ex.energy) / s->error[INVRG_OBS_ENERGY],
                 (s->value[INVRG_OBS_SPECIFIC_HEAT] - ex.specific_heat) /
                     s->error[INVRG_OBS_SPECIFIC_HEAT]);
    }
    char cells[5][40];
    for (int k = 0; k < 5; k++)
      snprintf(cells[k], sizeof cells[k], "%.6g +- %.2g", s->value[shown[k]], s->error[shown[k]]);
    invrg_log(INVRG_LOG_INFO, "  %6lld %22s %22s %20s %20s %20s  %s", (long long)L, cells[0],
              cells[1], cells[2], cells[3], cells[4], dev);
  }
}

/* ------------------------------------------------------------------ costs */

/* Where the time of a level goes. */
enum { COST_GENERATION, COST_OBSERVABLES, COST_MCRG, COST_CORRELATIONS, N_COSTS };
static const char *const cost_names[N_COSTS] = {"generation", "observables", "mcrg",
                                                "correlations"};

/*
 * The costs per level: the wall seconds of the slowest rank, kept in /run/dream_seconds
 * [level][generation, observables, mcrg, correlations] (timings are not results: /run is the
 * part of the run file that describes the run), and in the log also as nanoseconds per fine
 * site (all ranks' seconds over all sites dreamed at that level). @p seconds [level][cost] of
 * this rank, @p dreamed: samples this rank dreamed in this run. Collective on the world.
 */
static invrg_err report_costs(const invrg_run *run, double *seconds, int levels, int64_t dreamed) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1;
  const int n = N_COSTS * (levels + 1);
  double *total = malloc((size_t)n * sizeof *total);
  INVRG_CHECK_ALLOC(total);
  INVRG_MPI_CALL(MPI_Allreduce(seconds, total, n, MPI_DOUBLE, MPI_SUM, run->groups->world));
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, seconds, n, MPI_DOUBLE, MPI_MAX, run->groups->world));
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &dreamed, 1, MPI_INT64_T, MPI_SUM, run->groups->world));
  invrg_log(INVRG_LOG_INFO, "dream costs per level: seconds (slowest rank) | ns per fine site");
  invrg_log(INVRG_LOG_INFO, "  %6s %12s %12s %12s %12s | %8s %8s %8s %8s", "L", cost_names[0],
            cost_names[1], cost_names[2], cost_names[3], "gen", "obs", "mcrg", "corr");
  for (int level = 1; level <= levels; level++) {
    const double *t = seconds + (size_t)level * N_COSTS, *sum = total + (size_t)level * N_COSTS;
    const double sites = ldexp((double)dreamed, 2 * level) / 1e9; /* in units of 1e9 */
    invrg_log(INVRG_LOG_INFO, "  %6lld %12.3f %12.3f %12.3f %12.3f | %8.2f %8.2f %8.2f %8.2f",
              1LL << level, t[0], t[1], t[2], t[3], sum[0] / sites, sum[1] / sites,
              sum[2] / sites, sum[3] / sites);
  }
  hsize_t dims[2] = {(hsize_t)levels + 1, N_COSTS};
  INVRG_CALL(invrg_h5_create_group(run->file->file, "run", &g));
  INVRG_CALL(invrg_h5_dataset_doubles(g, "dream_seconds", 2, dims, seconds,
                                      run->groups->world_rank == 0));
cleanup:
  free(total);
  invrg_h5_close(&g);
  return err;
}

/*
 * The memory of dreaming, for the budget (bytes per fine spin per rank): the largest
 * peak resident size over the ranks, and on that rank what it rose by since the stage began,
 * over the spins of the top level it holds (@p top_spins). In the log and in /run (attributes
 * dream_peak_bytes, dream_bytes_per_top_spin). Collective on the world.
 */
static invrg_err report_memory(const invrg_run *run, int64_t resident_at_start, int64_t top_spins) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1;
  int64_t peak = 0;
  int rank = 0;
  INVRG_CALL(invrg_memory_peak_max(run->groups->world, &peak, &rank));
  double theirs[2] = {(double)resident_at_start, (double)top_spins}; /* of the peak's rank */
  INVRG_MPI_CALL(MPI_Bcast(theirs, 2, MPI_DOUBLE, rank, run->groups->world));
  const double per_spin = ((double)peak - theirs[0]) / theirs[1];
  invrg_log(INVRG_LOG_INFO,
            "dream memory: peak %.1f MiB per rank (the largest, rank %d): %.1f MiB before the "
            "stage + %.2f bytes per fine spin of the top level held there (%.4g spins)",
            (double)peak / 1048576.0, rank, theirs[0] / 1048576.0, per_spin, theirs[1]);
  INVRG_CALL(invrg_h5_create_group(run->file->file, "run", &g));
  INVRG_CALL(invrg_h5_attr_int64(g, "dream_peak_bytes", &peak, 1, true));
  INVRG_CALL(invrg_h5_attr_double(g, "dream_bytes_per_top_spin", &per_spin, 1, true));
cleanup:
  invrg_h5_close(&g);
  return err;
}

/* ------------------------------------------------------------------ checkpoints */

/*
 * The state of stage dream (under /checkpoint/dream). Samples are dreamed in windows of
 * consecutive samples (invrg_reducer_window: the size depends on the input only), each folded
 * into the block means on world rank 0 when it is complete. The state: window = {first,
 * count} of the window in progress, done[t] (1 when sample first + t is dreamed and
 * measured), primaries[t] (its observables per measured level), block_means (the fold of the
 * windows before), and the exact sums of the MCRG pairs and correlations. Saved
 * configurations are in the run file already (written as they are made).
 */
typedef struct {
  invrg_run *run;
  int64_t first, count; /* the window */
  size_t rec;           /* primaries per sample */
  double *mine;         /* [k][rec]: the group's samples of the window */
  int64_t *done;        /* [k]: 1 when dreamed */
  double *block_means;  /* [n_means]: world rank 0's fold */
  size_t n_means;
  invrg_mcrg **acc;     /* [N_PAIRS] */
  invrg_corr *corr;
} dream_state;

static invrg_err save_state(dream_state *w, invrg_ckpt_decision decision) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_groups *g = w->run->groups;
  const int64_t n = w->count, n_mine = invrg_reducer_range_count(g, w->first, w->count);
  hid_t state = -1, d_prim = -1;
  int64_t *done = calloc((size_t)n, sizeof *done), window[2] = {w->first, w->count};
  INVRG_CHECK_ALLOC(done);
  for (int64_t k = 0; k < n_mine; k++)
    done[invrg_reducer_range_item(g, w->first, k) - w->first] = w->done[k];
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, done, (int)n, MPI_INT64_T, MPI_MAX, g->world));
  INVRG_CALL(invrg_checkpoint_begin(w->run->ckpt, &state));
  INVRG_CALL(invrg_h5_write_int64(state, "window", window, 2, g->world_rank == 0));
  INVRG_CALL(invrg_h5_write_int64(state, "done", done, (size_t)n, g->world_rank == 0));
  hsize_t dims[2] = {(hsize_t)n, (hsize_t)w->rec}, mdims[1] = {(hsize_t)w->n_means};
  INVRG_CALL(invrg_h5_dataset_doubles(state, "block_means", 1, mdims, w->block_means,
                                      g->world_rank == 0));
  INVRG_CALL(invrg_h5_create_dataset(state, "primaries", H5T_IEEE_F64LE, 2, dims, &d_prim));
  for (int64_t k = 0; k < n_mine && g->rank == 0; k++)
    if (w->done[k])
      INVRG_CALL(invrg_h5_write_rows(d_prim, H5T_NATIVE_DOUBLE,
                                     (hsize_t)(invrg_reducer_range_item(g, w->first, k) - w->first),
                                     1, w->mine + (size_t)k * w->rec));
  invrg_h5_close(&d_prim);
  for (int p = 0; p < N_PAIRS; p++)
    INVRG_CALL(invrg_mcrg_save(w->acc[p], state, pairs_names[p], g->world));
  if (w->corr != NULL) INVRG_CALL(invrg_corr_save(w->corr, state, "corr", g->world));
  INVRG_CALL(invrg_checkpoint_end(w->run->ckpt, &state, decision));
  if (decision == INVRG_CKPT_STOP) err = INVRG_STOPPED;
cleanup:
  invrg_h5_close(&d_prim);
  invrg_h5_close(&state);
  free(done);
  return err;
}

/* The window of the checkpoint into w->first, count, done, mine; the fold before it. */
static invrg_err restore_state(dream_state *w, hid_t state, int64_t window_size) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_groups *g = w->run->groups;
  hid_t d_prim = -1;
  int64_t window[2], *done = NULL;
  INVRG_CALL(invrg_h5_read_int64(state, "window", window, 2));
  INVRG_CHECK(window[0] >= 0 && window[0] % window_size == 0 && window[1] >= 1 &&
                  window[1] <= window_size,
              INVRG_ERR_RUNTIME, "checkpoint: dream window %lld + %lld does not fit windows of %lld",
              (long long)window[0], (long long)window[1], (long long)window_size);
  w->first = window[0], w->count = window[1];
  const int64_t n = w->count, n_mine = invrg_reducer_range_count(g, w->first, w->count);
  done = calloc((size_t)n, sizeof *done);
  INVRG_CHECK_ALLOC(done);
  INVRG_CALL(invrg_h5_read_int64(state, "done", done, (size_t)n));
  const hsize_t dims[2] = {(hsize_t)n, (hsize_t)w->rec}, mdims[1] = {(hsize_t)w->n_means};
  INVRG_CALL(invrg_h5_open_dataset(state, "block_means", 1, mdims, &d_prim));
  INVRG_CALL(invrg_h5_read_rows(d_prim, H5T_NATIVE_DOUBLE, 0, w->n_means, w->block_means));
  invrg_h5_close(&d_prim);
  INVRG_CALL(invrg_h5_open_dataset(state, "primaries", 2, dims, &d_prim));
  for (int64_t k = 0; k < n_mine; k++) {
    const int64_t t = invrg_reducer_range_item(g, w->first, k) - w->first;
    w->done[k] = done[t];
    if (done[t])
      INVRG_CALL(invrg_h5_read_rows(d_prim, H5T_NATIVE_DOUBLE, (hsize_t)t, 1,
                                    w->mine + (size_t)k * w->rec));
  }
  for (int p = 0; p < N_PAIRS; p++) INVRG_CALL(invrg_mcrg_load(w->acc[p], state, pairs_names[p]));
  if (w->corr != NULL) INVRG_CALL(invrg_corr_load(w->corr, state, "corr"));
cleanup:
  invrg_h5_close(&d_prim);
  free(done);
  return err;
}

/* ------------------------------------------------------------------ execute */

static bool is_saved(const invrg_config_dream *d, int64_t level) {
  for (int i = 0; i < d->n_save_levels; i++)
    if (d->save_levels[i] == level) return true;
  return false;
}

static invrg_err dream_execute(invrg_run *run) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_config_dream *d = &cfg->dream;
  const invrg_groups *groups = run->groups;
  const int levels = (int)d->levels, n_meas = (int)(d->levels - d->measure_from + 1);
  const int64_t n_mine = invrg_groups_item_count(groups, d->n_samples);
  const size_t rec = (size_t)n_meas * INVRG_N_PRIMARY;
  /* Samples go in windows: a record per sample of the window only, whatever n_samples. */
  const int64_t window = invrg_reducer_window((int)rec);
  const int64_t window_mine = (window + groups->n_groups - 1) / groups->n_groups;
  const int B = (int)(cfg->analyze.jackknife_blocks < d->n_samples ? cfg->analyze.jackknife_blocks
                                                                    : d->n_samples);
  /* One sample (a single big dream) has no error bars: the summaries say NaN, and the MCRG and
   * correlation accumulators, which want two blocks, keep an empty second one. */
  const int B_acc = B < 2 ? 2 : B;
  invrg_model *m = NULL;
  invrg_dream_work *w = NULL, *w_small = NULL;
  invrg_model *m_small = NULL;
  int n_small = 0;
  invrg_mcrg *acc[N_PAIRS] = {NULL, NULL, NULL};
  invrg_mcrg_results *res = NULL;
  invrg_lattice *lat[INVRG_MAX_LEVELS + 1] = {NULL};
  double *mine = NULL, *all = NULL;
  int64_t *done = NULL;
  double seconds[N_COSTS * (INVRG_MAX_LEVELS + 1)] = {0}; /* [level][cost] of this rank */
  int64_t dreamed = 0;                 /* samples this rank dreamed in this run */
  invrg_summary *summary = NULL;
  double *block_means = NULL;
  int64_t *block_sizes = NULL;
  invrg_corr *corr = NULL;
  hid_t saved[INVRG_MAX_LEVELS + 1];
  for (int l = 0; l <= INVRG_MAX_LEVELS; l++) saved[l] = -1;
  const bool packed = cfg->output.configs_format_kind == INVRG_CONFIGS_PACKED;
  const invrg_dream_start start = d->start_kind;

  const int64_t resident_at_start = invrg_memory_resident_bytes();
  INVRG_CALL(dream_model(run, &m));
  invrg_log(INVRG_LOG_INFO, "dream with %s (%d parameters): %lld samples up to %lld x %lld",
            invrg_model_kind_name(m->kind), m->n_params, (long long)d->n_samples, 1LL << levels,
            1LL << levels);
  INVRG_CALL(invrg_dream_work_create(m, 1 << (levels - 1), &w));
  INVRG_CALL(small_kernel_model(run, m, &m_small, &n_small));
  if (m_small != NULL) {
    INVRG_CALL(invrg_dream_work_create(m_small, 1 << (n_small - 1), &w_small));
    invrg_log(INVRG_LOG_INFO, "small_kernel_start = 'paper': levels 1 .. %d with %s (k = 3)",
              n_small, invrg_model_kind_name(m_small->kind));
  }
  /* One lattice per level, reused by every sample: whole on each rank of the group while the
   * grid cannot split it, distributed from then on. */
  const int halo = invrg_dream_halo(m) > INVRG_MCRG_HALO ? invrg_dream_halo(m) : INVRG_MCRG_HALO;
  for (int level = 0; level <= levels; level++) {
    int64_t L = (int64_t)1 << level;
    INVRG_CALL(invrg_stage_lattice_create(groups, L, halo, &lat[level]));
  }
  if (n_mine > 0) /* ranks that dream map their levels now, not page fault by page fault */
    for (int level = 0; level <= levels; level++) invrg_lattice_populate(lat[level]);
  mine = calloc((size_t)window_mine * rec, sizeof *mine);
  done = calloc((size_t)window_mine, sizeof *done);
  INVRG_CHECK_ALLOC(mine);
  INVRG_CHECK_ALLOC(done);
  if (groups->world_rank == 0) {
    all = malloc((size_t)window * rec * sizeof *all);
    INVRG_CHECK_ALLOC(all);
  }
  /* Block means of every level, [level][block][primary], folded on rank 0 in sample order as
   * the windows complete and shared at the end: the summaries and the finite-size-scaling
   * fits are computed from them everywhere. Blocks: invrg_mcrg_block_of's contiguous runs. */
  const size_t n_means = (size_t)n_meas * (size_t)B * INVRG_N_PRIMARY;
  summary = calloc((size_t)n_meas, sizeof *summary);
  block_means = calloc(n_means, sizeof *block_means);
  block_sizes = calloc((size_t)B, sizeof *block_sizes);
  INVRG_CHECK_ALLOC(summary);
  INVRG_CHECK_ALLOC(block_means);
  INVRG_CHECK_ALLOC(block_sizes);
  for (int b = 0; b < B; b++) block_sizes[b] = d->n_samples / B + (b < d->n_samples % B);

  const invrg_mcrg_params mp = invrg_stage_mcrg_params(cfg, levels, B_acc);
  for (int p = 0; p < N_PAIRS; p++) {
    invrg_mcrg_params pp = mp;
    if (p == PAIRS_BLOCKED) pp.n_levels = blocked_levels(cfg);
    INVRG_CALL(invrg_mcrg_create(&pp, groups, &acc[p]));
  }

  if (cfg->analyze.correlations) {
    invrg_corr_params cp = {B_acc, 64};
    INVRG_CALL(invrg_corr_create(&cp, groups, &corr));
    for (int level = (int)d->measure_from; level <= levels; level++)
      INVRG_CALL(invrg_corr_prepare(corr, lat[level]));
  }

  /* Saved levels: datasets created by all ranks, rows written by the sample's owner. */
  for (int level = 1; level <= levels; level++) {
    if (!is_saved(d, level)) continue;
    char path[64];
    hid_t g = -1;
    snprintf(path, sizeof path, "dream/L%lld", 1LL << level);
    INVRG_CALL(invrg_h5_create_group(run->file->file, path, &g));
    int64_t n_saved = d->save_max < d->n_samples ? d->save_max : d->n_samples;
    err = invrg_configs_create(g, "configs", n_saved, (int64_t)1 << level, packed, &saved[level]);
    invrg_h5_close(&g);
    INVRG_CALL(err);
  }

  dream_state ds = {run, 0, 0, rec, mine, done, block_means, n_means, acc, corr};
  const hid_t state = invrg_checkpoint_state(run->ckpt);
  bool resumed = state >= 0; /* the first window continues the checkpoint's */
  if (resumed) INVRG_CALL(restore_state(&ds, state, window));

  invrg_progress progress;
  invrg_progress_start(&progress, "dream", (double)n_mine, "fine spins", 10.0);
  double spins = 0;
  for (int64_t first = ds.first; first < d->n_samples; first += window) {
    ds.first = first;
    ds.count = d->n_samples - first < window ? d->n_samples - first : window;
    const int64_t k_count = invrg_reducer_range_count(groups, first, ds.count);
    const int64_t k_before = invrg_groups_item_count(groups, first); /* for the progress */
    if (!resumed) memset(done, 0, (size_t)window_mine * sizeof *done);
    resumed = false;
    for (int64_t k = 0; k < k_count; k++) {
      if (done[k]) continue; /* dreamed before the checkpoint */
      uint64_t j = (uint64_t)invrg_reducer_range_item(groups, first, k);
      int block = invrg_mcrg_block_of((int64_t)j, d->n_samples, B);
      lat[0]->data[invrg_lattice_index(lat[0], 0, 0)] =
          invrg_dream_seed_spin(start, (uint64_t)cfg->run.seed, j);
      INVRG_CALL(invrg_lattice_halo_exchange(lat[0]));
      for (int level = 1; level <= levels; level++) {
        int64_t L = (int64_t)1 << level;
        double t0 = MPI_Wtime();
        const bool small = level <= n_small; /* small_kernel_start = 'paper' */
        INVRG_CALL(invrg_dream_step_lattice(small ? m_small : m, lat[level - 1], lat[level],
                                            (uint64_t)cfg->run.seed, j, level,
                                            small ? w_small : w));
        INVRG_CALL(invrg_lattice_halo_exchange(lat[level]));
        double *cost = seconds + (size_t)level * N_COSTS, t1 = MPI_Wtime();
        cost[COST_GENERATION] += t1 - t0;
        spins += (double)(L * L);
        if (level >= d->measure_from) {
          invrg_config_sums sums;
          INVRG_CALL(invrg_observables_sums(lat[level], &sums));
          invrg_observables_primaries(
              &sums, mine + (size_t)k * rec + (size_t)(level - d->measure_from) * INVRG_N_PRIMARY);
          double t2 = MPI_Wtime();
          INVRG_CALL(measure_pairs(acc, cfg, level, lat, j, block));
          double t3 = MPI_Wtime();
          if (corr != NULL) INVRG_CALL(invrg_corr_add_configuration(corr, lat[level], block));
          cost[COST_OBSERVABLES] += t2 - t1, cost[COST_MCRG] += t3 - t2;
          cost[COST_CORRELATIONS] += MPI_Wtime() - t3;
        }
        const invrg_lattice *f = lat[level];
        bool writer = f->mode == INVRG_LATTICE_DISTRIBUTED || groups->rank == 0;
        if (saved[level] >= 0 && (int64_t)j < d->save_max && writer)
          INVRG_CALL(invrg_configs_write_lattice(saved[level], f, packed, (int64_t)j));
      }
      invrg_progress_update(&progress, (double)(k_before + k + 1), spins);
      done[k] = 1;
      dreamed++;
      invrg_ckpt_decision decision; /* a safe point between samples */
      INVRG_CALL(invrg_checkpoint_poll(run->ckpt, groups->cart, &decision));
      if (decision != INVRG_CKPT_NONE) INVRG_CALL(save_state(&ds, decision));
    }
    for (;;) { /* the end of the window: every rank learns whether a checkpoint is due now */
      invrg_ckpt_decision decision;
      INVRG_CALL(invrg_checkpoint_sync(run->ckpt, &decision));
      if (decision == INVRG_CKPT_NONE) break;
      INVRG_CALL(save_state(&ds, decision));
    }
    /* The window's primaries in sample order on rank 0, added to the block means there: each
     * mean gets its samples in sample order, as when all samples were gathered at once. */
    INVRG_CALL(invrg_reducer_gather_range(groups, first, ds.count, (int)rec, mine, all));
    if (groups->world_rank == 0)
      for (int64_t t = 0; t < ds.count; t++) {
        const int b = invrg_mcrg_block_of(first + t, d->n_samples, B);
        for (int l = 0; l < n_meas; l++) {
          double *means = block_means + ((size_t)l * (size_t)B + (size_t)b) * INVRG_N_PRIMARY;
          const double *x = all + (size_t)t * rec + (size_t)l * INVRG_N_PRIMARY;
          for (int p = 0; p < INVRG_N_PRIMARY; p++) means[p] += x[p] / (double)block_sizes[b];
        }
      }
  }
  invrg_progress_finish(&progress, spins);
  INVRG_MPI_CALL(MPI_Bcast(block_means, (int)n_means, MPI_DOUBLE, 0, groups->world));
  for (int l = 0; l < n_meas; l++) {
    double L = ldexp(1.0, (int)d->measure_from + l);
    invrg_summary_from_blocks(block_means + (size_t)l * (size_t)B * INVRG_N_PRIMARY, block_sizes,
                              B, L * L, INVRG_K_CRITICAL, &summary[l]);
  }
  for (int l = 0; l < n_meas; l++)
    INVRG_CALL(write_level_summary(run->file->file, (int64_t)1 << (d->measure_from + l), B,
                                   &summary[l]));
  log_table(run->file->file, d, summary);
  INVRG_CALL(report_costs(run, seconds, levels, dreamed));
  INVRG_CALL(report_memory(run, resident_at_start, (int64_t)lat[levels]->nx * lat[levels]->ny));

  /* Two-point functions of every measured size, then finite-size scaling across them. */
  invrg_measure_size measured[INVRG_MAX_LEVELS + 1];
  for (int l = 0; l < n_meas; l++)
    measured[l] = (invrg_measure_size){(int64_t)1 << (d->measure_from + l), INVRG_K_CRITICAL,
                                       block_means + (size_t)l * (size_t)B * INVRG_N_PRIMARY,
                                       block_sizes};
  const bool fit = invrg_stage_fits_source(cfg, INVRG_SOURCE_DREAM) && n_meas >= 2 && B >= 2;
  INVRG_CALL(invrg_measure_tail_run(run, "dream", corr, fit, measured, n_meas, B));

  /* MCRG of up, down and blocked pairs. */
  for (int p = 0; p < N_PAIRS; p++) {
    INVRG_CALL(invrg_mcrg_reduce(acc[p]));
    INVRG_CALL(invrg_mcrg_analyze(acc[p], 0, &res));
    INVRG_CALL(invrg_mcrg_write(res, run->file->file, "dream", pairs_names[p], groups->world));
    invrg_mcrg_log(res, "dream", pairs_names[p]);
    invrg_mcrg_results_destroy(&res);
  }
cleanup:
  for (int l = 0; l <= INVRG_MAX_LEVELS; l++) invrg_h5_close(&saved[l]);
  for (int p = 0; p < N_PAIRS; p++) invrg_mcrg_destroy(&acc[p]);
  invrg_mcrg_results_destroy(&res);
  invrg_dream_work_destroy(&w);
  invrg_dream_work_destroy(&w_small);
  invrg_model_destroy(&m_small);
  invrg_model_destroy(&m);
  for (int l = INVRG_MAX_LEVELS; l >= 0; l--) invrg_lattice_destroy(&lat[l]);
  free(mine);
  free(done);
  free(all);
  free(summary);
  free(block_means);
  free(block_sizes);
  invrg_corr_destroy(&corr);
  return err;
}

const invrg_stage invrg_stage_dream = {"dream", dream_check, dream_execute};
