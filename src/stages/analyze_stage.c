/* Stage analyze: the analyses of stages mc and dream, on configurations saved before.
 *
 * The configurations of /<source>/L<L>/configs (source mc or dream, in this
 * run's file or another run's) are items (groups.h): configuration j is read
 * and measured by group j mod n_groups, on a lattice replicated on the
 * group's ranks or, when the grid can split it, distributed over them.
 * Per-configuration primaries travel to world rank 0 in file order, where the
 * jackknife blocks are contiguous runs of configurations; MCRG and correlation
 * sums are exact integers. So every number written is the same on any number
 * of ranks and grids.
 *
 * Output, per analysed source s and size L (names chosen so that they never
 * clash with what stages mc and dream write about the same configurations):
 *   /analyze/<s>/L<L>                       summary attributes, as /mc/L<L> and /dream/L<L>
 *   /mcrg/analyze_<s>/blocked_L<L>/level<n>/<set>   standard MCRG of the size
 *   /corr/analyze_<s>/L<L>                  two-point functions (&analyze correlations)
 *   /fss/analyze_<s>                        fits across the sizes (s in &analyze fss_sources)
 *
 * The sizes found in a file: analyze_ensembles.c; the check of its keys: analyze_check.c.
 */
#include <stdlib.h>
#include <string.h>

#include "invrg/analyze_check.h"
#include "invrg/analyze_ensembles.h"
#include "invrg/configs_io.h"
#include "invrg/corr_io.h"
#include "invrg/format.h"
#include "invrg/h5util.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mcrg.h"
#include "invrg/mcrg_io.h"
#include "invrg/measure_tail.h"
#include "invrg/observables.h"
#include "invrg/progress.h"
#include "invrg/reducer.h"
#include "invrg/schema.h"
#include "invrg/stage.h"
#include "invrg/stage_setup.h"
#include "invrg/stats.h"
#include "invrg/summary_io.h"

/* ------------------------------------------------------------------ output */

/* Blockings of an L × L configuration while the coarse side stays even and at least 2. */
static int mcrg_levels_of(int64_t L, int64_t wanted) {
  int n = 0;
  while (n < wanted && (L >> n) % 2 == 0 && (L >> n) >= 4) n++;
  return n;
}

/* /analyze/<source>/L<L>: the summary, the file and dataset analysed. */
static invrg_err write_summary(hid_t file, const char *source, const char *data,
                               const invrg_analyze_ensemble *e, int B, const invrg_summary *s) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1;
  char path[64], configs[64];
  invrg_schema_size_path(path, sizeof path, "analyze", source, e->L);
  invrg_schema_size_path(configs, sizeof configs, source, NULL, e->L);
  strncat(configs, "/configs", sizeof configs - strlen(configs) - 1);
  const invrg_summary_context ctx = {
      e->L, e->K, "jackknife over contiguous blocks of configurations in file order", B};
  INVRG_CALL(invrg_summary_write(file, path, s, &ctx, &g));
  INVRG_CALL(invrg_h5_attr_string(g, "data", data));
  INVRG_CALL(invrg_h5_attr_string(g, "configs", configs));
cleanup:
  invrg_h5_close(&g);
  return err;
}

/* The table of the log: one row per size, with the distance from the exact torus. */
static void log_table(const char *source, const char *data, const invrg_analyze_ensembles *list,
                      int B, const invrg_summary *sum) {
  const int shown[] = {INVRG_OBS_ENERGY, INVRG_OBS_SPECIFIC_HEAT, INVRG_OBS_ABS_M, INVRG_OBS_CHI,
                       INVRG_OBS_V4};
  const char *const head[] = {"L", "configs", "E/N [J]", "C/N", "<|m|>", "chi", "V4"};
  const int width[] = {6, 8, 16, 16, 16, 16, 16};
  char line[512], cell[64];
  invrg_log(INVRG_LOG_INFO, "analyze %s: %d size%s from %s, jackknife over %d blocks", source,
            list->n, list->n == 1 ? "" : "s", data, B);
  line[0] = '\0';
  for (int k = 0; k < 7; k++) invrg_format_cell(line, sizeof line, width[k], head[k]);
  invrg_log(INVRG_LOG_INFO, " %s  deviation [sigma] from the exact torus", line);
  for (int i = 0; i < list->n; i++) {
    const invrg_summary *s = &sum[i];
    char dev[96];
    invrg_summary_exact_deviations(s, (int)list->e[i].L, list->e[i].K, dev, sizeof dev);
    line[0] = '\0';
    snprintf(cell, sizeof cell, "%lld", (long long)list->e[i].L);
    invrg_format_cell(line, sizeof line, width[0], cell);
    snprintf(cell, sizeof cell, "%lld", (long long)list->e[i].n);
    invrg_format_cell(line, sizeof line, width[1], cell);
    for (int k = 0; k < 5; k++) {
      invrg_format_value_error(cell, sizeof cell, s->value[shown[k]], s->error[shown[k]]);
      invrg_format_cell(line, sizeof line, width[2 + k], cell);
    }
    invrg_log(INVRG_LOG_INFO, " %s  %s", line, dev);
  }
}

/* ------------------------------------------------------------------ execute */

/* Input error on every rank if a configuration of the window holds a value that is not a spin
 * (a damaged or foreign file): each rank notes the first it reads, the ranks agree at the
 * window's end (one that stopped alone would leave the others in a collective call).
 * Collective on the world. */
static invrg_err agree_on_spins(const invrg_run *run, invrg_non_spin *bad, const char *data,
                                const char *path) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CALL(invrg_non_spin_agree(bad, run->groups->world));
  if (bad->config == INVRG_NO_NON_SPIN) goto cleanup;
  char what[1200];
  snprintf(what, sizeof what,
           "'%s': /%s: configuration %lld holds the value %lld at (x, y) = (%lld, %lld), which "
           "is not a spin (+1 or -1)",
           data, path, (long long)bad->config, (long long)bad->value, (long long)bad->x,
           (long long)bad->y);
  if (run->cfg->analyze.data[0] != '\0')
    err = invrg_config_input_error(run->cfg, "analyze", "data", "%s", what);
  else /* this run's own file: written by its stages */
    INVRG_CHECK(false, INVRG_ERR_RUNTIME, "%s", what);
cleanup:
  return err;
}

/*
 * One size: every configuration read by its group and measured; MCRG of the size written;
 * configurations added to @p corr (may be NULL); the summary written to /analyze/<source>/L<L>
 * and returned, with the block means [B][primary] and sizes [B] (every rank) for FSS.
 * Collective on the world.
 */
static invrg_err analyze_size(invrg_run *run, hid_t file, const char *source, const char *data,
                              const invrg_analyze_ensemble *e, int B, invrg_corr *corr,
                              double *block_means, int64_t *block_sizes, invrg_summary *summary) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config_analyze *a = &run->cfg->analyze;
  const invrg_groups *groups = run->groups;
  const int64_t L = e->L, n = e->n, n_mine = invrg_groups_item_count(groups, n);
  const int levels = mcrg_levels_of(L, a->mcrg_levels);
  hid_t dset = -1;
  invrg_lattice *lat = NULL;
  invrg_mcrg *mcrg = NULL;
  invrg_mcrg_results *mcrg_results = NULL;
  uint8_t *block = NULL;
  double *mine = NULL, *all = NULL;
  char path[64], label[128];

  snprintf(path, sizeof path, "%s/L%lld/configs", source, (long long)L);
  INVRG_H5_CALL(dset = H5Dopen2(file, path, H5P_DEFAULT), path);
  INVRG_CALL(invrg_stage_lattice_create(groups, L, 1, &lat));
  /* Configurations go in windows: a record per configuration of the window only. */
  const int64_t window = invrg_reducer_window(INVRG_N_PRIMARY);
  block = malloc((size_t)lat->nx * (size_t)lat->ny);
  mine = calloc((size_t)((window + groups->n_groups - 1) / groups->n_groups) * INVRG_N_PRIMARY,
                sizeof *mine);
  INVRG_CHECK_ALLOC(block);
  INVRG_CHECK_ALLOC(mine);
  if (levels > 0) {
    const invrg_mcrg_params mp = invrg_mcrg_params_of(run->cfg, levels, B);
    INVRG_CALL(invrg_mcrg_create(&mp, groups, &mcrg));
  }
  if (corr != NULL) INVRG_CALL(invrg_corr_prepare(corr, lat));

  invrg_progress progress;
  snprintf(label, sizeof label, "analyze %s L=%lld (group %d: %lld configurations)", source,
           (long long)L, groups->group, (long long)n_mine);
  invrg_progress_start(&progress, label, (double)n_mine, "spins", 10.0);
  /* Block means: each window's primaries in file order on rank 0, added there in that order;
   * then the summary everywhere. */
  memset(block_means, 0, (size_t)B * INVRG_N_PRIMARY * sizeof *block_means);
  invrg_summary_block_sizes(n, B, block_sizes);
  if (groups->world_rank == 0) {
    all = malloc((size_t)window * INVRG_N_PRIMARY * sizeof *all);
    INVRG_CHECK_ALLOC(all);
  }
  int64_t made = 0; /* configurations of this group so far */
  for (int64_t first = 0; first < n; first += window) {
    const int64_t count = n - first < window ? n - first : window;
    invrg_non_spin bad = INVRG_NON_SPIN_NONE;
    for (int64_t k = 0; k < invrg_reducer_range_count(groups, first, count); k++, made++) {
      const int64_t j = invrg_reducer_range_item(groups, first, k);
      const int b = invrg_mcrg_block_of(j, n, B);
      invrg_config_sums sums;
      INVRG_CALL(invrg_configs_read_spins(dset, lat, e->packed, j, block));
      invrg_non_spin_note(&bad, j, block, lat->nx, lat->ny, lat->x0, lat->y0);
      INVRG_CALL(invrg_configs_paste_block(lat, block));
      INVRG_CALL(invrg_observables_sums(lat, &sums));
      invrg_observables_primaries(&sums, mine + (size_t)k * INVRG_N_PRIMARY);
      /* tie coins of configuration j: item j, sample 0, as dream's blocked pairs of sample j */
      if (mcrg != NULL) INVRG_CALL(invrg_mcrg_add_configuration(mcrg, lat, (uint64_t)j, 0, b));
      if (corr != NULL) INVRG_CALL(invrg_corr_add_configuration(corr, lat, b));
      invrg_progress_update(&progress, (double)(made + 1), (double)((made + 1) * L * L));
    }
    INVRG_CALL(agree_on_spins(run, &bad, data, path));
    INVRG_CALL(invrg_reducer_gather_range(groups, first, count, INVRG_N_PRIMARY, mine, all));
    if (groups->world_rank == 0)
      for (int64_t t = 0; t < count; t++) {
        const int b = invrg_mcrg_block_of(first + t, n, B);
        invrg_summary_block_add(block_means + (size_t)b * INVRG_N_PRIMARY,
                                all + (size_t)t * INVRG_N_PRIMARY, block_sizes[b]);
      }
  }
  invrg_progress_finish(&progress, (double)(n_mine * L * L));
  INVRG_MPI_CALL(MPI_Bcast(block_means, B * INVRG_N_PRIMARY, MPI_DOUBLE, 0, groups->world));
  invrg_summary_from_blocks(block_means, block_sizes, B, (double)(L * L), e->K, summary);
  INVRG_CALL(write_summary(run->file->file, source, data, e, B, summary));

  if (mcrg != NULL) { /* one accumulator per size: the levels of different sizes differ */
    char dir[32], pairs[32];
    snprintf(dir, sizeof dir, "analyze_%s", source);
    snprintf(pairs, sizeof pairs, "blocked_L%lld", (long long)L);
    INVRG_CALL(invrg_mcrg_reduce(mcrg));
    INVRG_CALL(invrg_mcrg_analyze(mcrg, 0, &mcrg_results));
    INVRG_CALL(invrg_mcrg_write(mcrg_results, run->file->file, dir, pairs, groups->world));
    invrg_mcrg_log(mcrg_results, dir, pairs);
  }
cleanup:
  invrg_mcrg_results_destroy(&mcrg_results);
  invrg_mcrg_destroy(&mcrg);
  invrg_lattice_destroy(&lat);
  invrg_h5_close(&dset);
  free(block);
  free(mine);
  free(all);
  return err;
}

/* Every size of one source, then its correlations and finite-size scaling. Collective. */
static invrg_err analyze_source(invrg_run *run, hid_t file, invrg_source source_kind,
                                const char *data, const invrg_analyze_ensembles *list) {
  invrg_err err = INVRG_SUCCESS;
  const char *source = invrg_source_name(source_kind);
  const invrg_config_analyze *a = &run->cfg->analyze;
  const invrg_groups *groups = run->groups;
  invrg_summary summary[INVRG_ANALYZE_MAX_SIZES];
  invrg_corr *corr = NULL;
  char dir[32];
  snprintf(dir, sizeof dir, "analyze_%s", source);
  /* The same blocks at every size, as the finite-size-scaling fits need. */
  int64_t n_min = list->e[0].n;
  for (int i = 1; i < list->n; i++) n_min = list->e[i].n < n_min ? list->e[i].n : n_min;
  const int B = invrg_stage_jackknife_blocks(run->cfg, dir, n_min);
  double *block_means = calloc((size_t)list->n * (size_t)B * INVRG_N_PRIMARY, sizeof *block_means);
  int64_t *block_sizes = calloc((size_t)list->n * (size_t)B, sizeof *block_sizes);
  INVRG_CHECK_ALLOC(block_means);
  INVRG_CHECK_ALLOC(block_sizes);

  if (a->correlations) {
    invrg_corr_params cp = {invrg_corr_blocks(B), 64, a->correlation_functions,
                            a->correlation_precision_kind};
    INVRG_CALL(invrg_corr_create(&cp, groups, &corr));
  }
  for (int i = 0; i < list->n; i++)
    INVRG_CALL(analyze_size(run, file, source, data, &list->e[i], B, corr,
                            block_means + (size_t)i * (size_t)B * INVRG_N_PRIMARY,
                            block_sizes + (size_t)i * (size_t)B, &summary[i]));
  log_table(source, data, list, B, summary);

  invrg_measure_size measured[INVRG_ANALYZE_MAX_SIZES];
  for (int i = 0; i < list->n; i++)
    measured[i] = (invrg_measure_size){list->e[i].L, list->e[i].K,
                                       block_means + (size_t)i * (size_t)B * INVRG_N_PRIMARY,
                                       block_sizes + (size_t)i * (size_t)B};
  const bool fit = invrg_stage_fits(run->cfg, source_kind, list->n, B);
  INVRG_CALL(invrg_measure_tail_run(run, dir, corr, fit, measured, list->n, B));
cleanup:
  invrg_corr_destroy(&corr);
  free(block_means);
  free(block_sizes);
  return err;
}

static invrg_err analyze_execute(invrg_run *run) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_config_analyze *a = &cfg->analyze;
  const invrg_groups *groups = run->groups;
  hid_t other = -1, top = -1; /* another run's file, opened here; /analyze */
  hid_t file = run->file->file;
  const char *data = a->data[0] != '\0' ? a->data : cfg->run.output;
  invrg_analyze_ensembles list;

  if (a->data[0] == '\0') { /* this run's configurations: on disk first, then read back */
    INVRG_CALL(invrg_h5_flush_file(run->file->file, run->file->tmp_path));
    INVRG_MPI_CALL(MPI_Barrier(groups->world));
  } else {
    INVRG_CALL(invrg_h5_open_parallel(a->data, false, groups->world, &other));
    file = other;
  }
  INVRG_CALL(invrg_h5_create_group(run->file->file, "analyze", &top));
  INVRG_CALL(invrg_h5_attr_string(top, "data", data));
  for (int s = 0; s < a->n_sources; s++) {
    const char *source = a->sources[s];
    INVRG_CALL(invrg_analyze_find_ensembles(file, data, a->sources_kind[s], &list));
    if (list.n == 0) { /* only with the default sources: check() saw to the others */
      invrg_log(INVRG_LOG_INFO, "analyze: %s has no /%s/L<L>/configs; nothing of %s to analyse",
                data, source, source);
      continue;
    }
    INVRG_CALL(analyze_source(run, file, a->sources_kind[s], data, &list));
  }
cleanup:
  invrg_h5_close(&top);
  /* Closing is collective: after a runtime failure other ranks may be inside another
   * collective call, and the pipeline aborts the run anyway. Read-only, so no watchdog
   * (invrg_h5_close_file would delete the file it guards). */
  if (err != INVRG_ERR_RUNTIME) invrg_h5_close(&other);
  return err;
}

const invrg_stage invrg_stage_analyze = {"analyze", invrg_analyze_check, analyze_execute};
