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
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/configs_io.h"
#include "invrg/corr_io.h"
#include "invrg/exact.h"
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

/* ------------------------------------------------------------------ the ensembles */

enum { MAX_SIZES = 32 };

/* The saved configurations of one size. */
typedef struct {
  int64_t L, n; /* side; configurations */
  bool packed;
  double K;       /* coupling of C/N: the beta of /mc/L<L>, K_c for dreams */
  bool K_assumed; /* Monte Carlo without a beta attribute: K_c */
} ensemble;

/* The sizes of one source, by increasing L. */
typedef struct {
  int n;
  ensemble e[MAX_SIZES];
} ensemble_list;

static void insert_sorted(ensemble_list *list, const ensemble *e) {
  int i = list->n++;
  for (; i > 0 && list->e[i - 1].L > e->L; i--) list->e[i] = list->e[i - 1];
  list->e[i] = *e;
}

/*
 * Every /<source>/L<L>/configs of @p file (named @p name in messages). Input error for a
 * dataset that is not one of configurations or holds fewer than 2 (the jackknife needs 2).
 * Collective on the file's communicator (metadata reads, the same on every rank).
 */
static invrg_err find_ensembles(hid_t file, const char *name, invrg_source source_kind,
                                ensemble_list *out) {
  invrg_err err = INVRG_SUCCESS;
  const char *source = invrg_source_name(source_kind);
  hid_t g = -1, sub = -1, dset = -1, attr = -1;
  char where[INVRG_PATH_LEN + 32];
  snprintf(where, sizeof where, "%s: /%s", name, source);
  out->n = 0;
  if (H5Lexists(file, source, H5P_DEFAULT) <= 0) goto cleanup;
  INVRG_CHECK(H5Oexists_by_name(file, source, H5P_DEFAULT) > 0, INVRG_ERR_INPUT,
              "%s is a link to nothing", where);
  INVRG_H5_CALL(g = H5Gopen2(file, source, H5P_DEFAULT), where);
  H5G_info_t info;
  INVRG_H5_CALL(H5Gget_info(g, &info), where);
  for (hsize_t i = 0; i < info.nlinks; i++) {
    char member[64] = "", path[96], what[INVRG_PATH_LEN + 128];
    if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, member, sizeof member,
                           H5P_DEFAULT) < 0 || member[0] != 'L')
      continue;
    char *end = NULL, canonical[32];
    const long long L = strtoll(member + 1, &end, 10);
    snprintf(canonical, sizeof canonical, "L%lld", L); /* the name a size has: L8, not L08 */
    snprintf(path, sizeof path, "%s/configs", member);
    if (L <= 0 || *end != '\0' || strcmp(canonical, member) != 0 ||
        H5Lexists(g, path, H5P_DEFAULT) <= 0)
      continue;
    snprintf(what, sizeof what, "%s: /%s/%s", name, source, path);
    ensemble e = {0, 0, false, INVRG_K_CRITICAL, false};
    INVRG_H5_CALL(sub = H5Gopen2(g, member, H5P_DEFAULT), what);
    INVRG_H5_CALL(dset = H5Dopen2(sub, "configs", H5P_DEFAULT), what);
    INVRG_CALL(invrg_configs_info(dset, what, &e.n, &e.L, &e.packed));
    INVRG_CHECK(e.L == L, INVRG_ERR_INPUT, "%s holds configurations of L = %lld", what,
                (long long)e.L);
    INVRG_CHECK(e.n >= 2, INVRG_ERR_INPUT,
                "%s holds %lld configuration; the jackknife needs at least 2", what,
                (long long)e.n);
    INVRG_CHECK(out->n < MAX_SIZES, INVRG_ERR_INPUT, "%s: more than %d sizes under /%s", name,
                MAX_SIZES, source);
    if (source_kind == INVRG_SOURCE_MC && H5Aexists(sub, "beta") > 0) { /* Monte Carlo at any K */
      char beta_what[INVRG_PATH_LEN + 128];
      snprintf(beta_what, sizeof beta_what, "%s: attribute beta of /%s/%s", name, source, member);
      hid_t type = -1;
      INVRG_H5_CALL(attr = H5Aopen(sub, "beta", H5P_DEFAULT), beta_what);
      const bool number = (type = H5Aget_type(attr)) >= 0 && H5Tget_class(type) == H5T_FLOAT &&
                          H5Aget_storage_size(attr) == H5Tget_size(type);
      invrg_h5_close(&type);
      INVRG_CHECK(number, INVRG_ERR_INPUT, "%s is not one floating-point number", beta_what);
      INVRG_H5_CALL(H5Aread(attr, H5T_NATIVE_DOUBLE, &e.K), beta_what);
      invrg_h5_close(&attr);
      /* the same range as &mc beta: C/N = K² N var(E) and its error stay finite */
      INVRG_CHECK(e.K > 0 && e.K <= 1e50, INVRG_ERR_INPUT,
                  "%s = %g is not a coupling in (0, 1e50]", beta_what, e.K);
    } else if (source_kind == INVRG_SOURCE_MC) {
      e.K_assumed = true;
    }
    insert_sorted(out, &e);
    invrg_h5_close(&dset);
    invrg_h5_close(&sub);
  }
cleanup:
  invrg_h5_close(&attr);
  invrg_h5_close(&dset);
  invrg_h5_close(&sub);
  invrg_h5_close(&g);
  return err;
}

/* What the earlier stages of this run will save of @p source (the file is empty at check()). */
static void planned_ensembles(const invrg_config *cfg, invrg_source source, ensemble_list *out) {
  const bool packed = cfg->output.configs_format_kind == INVRG_CONFIGS_PACKED;
  out->n = 0;
  if (source == INVRG_SOURCE_MC && invrg_config_has_stage(cfg, INVRG_STAGE_MC) &&
      cfg->mc.save_configs)
    for (int i = 0; i < cfg->mc.n_L; i++)
      out->e[out->n++] = (ensemble){cfg->mc.L[i], cfg->mc.n_chains * cfg->mc.n_samples, packed,
                                    cfg->mc.beta, false};
  if (source == INVRG_SOURCE_DREAM && invrg_config_has_stage(cfg, INVRG_STAGE_DREAM))
    for (int i = 0; i < cfg->dream.n_save_levels && out->n < MAX_SIZES; i++) {
      const int64_t n = cfg->dream.save_max < cfg->dream.n_samples ? cfg->dream.save_max
                                                                   : cfg->dream.n_samples;
      out->e[out->n++] = (ensemble){INT64_C(1) << cfg->dream.save_levels[i], n, packed,
                                    INVRG_K_CRITICAL, false};
    }
}

/* ------------------------------------------------------------------ check */

static const char *how_to_save(invrg_source source) {
  return source == INVRG_SOURCE_MC ? "stage mc saves them with &mc save_configs = .true."
                                   : "stage dream saves them with &dream save_levels";
}

/*
 * Sources without configurations in @p where: a source the input lists must have some;
 * of the default list ('mc', 'dream'), at least one. The fit range must keep 2 sizes of
 * every source with several. All errors are reported. Not collective.
 */
static invrg_err check_found(const invrg_config *cfg, const ensemble_list found[],
                             const char *where, const char *remedy) {
  invrg_err err = INVRG_SUCCESS, any = INVRG_SUCCESS;
  const invrg_config_analyze *a = &cfg->analyze;
  const bool listed = invrg_config_key_given(cfg, "analyze", "sources");
  int total = 0;
  for (int s = 0; s < a->n_sources; s++) {
    total += found[s].n;
    if (listed && found[s].n == 0)
      any = invrg_config_input_error(cfg, "analyze", "sources",
                                     "sources lists '%s', but %s has no /%s/L<L>/configs (%s)%s",
                                     a->sources[s], where, a->sources[s],
                                     how_to_save(a->sources_kind[s]), remedy);
    if (found[s].n >= 2 && invrg_stage_fits_source(cfg, a->sources_kind[s])) {
      int64_t sizes[MAX_SIZES];
      char what[64];
      for (int i = 0; i < found[s].n; i++) sizes[i] = found[s].e[i].L;
      snprintf(what, sizeof what, "the sizes of the saved %s configurations", a->sources[s]);
      INVRG_CHECK_MORE(any, invrg_stage_check_fss_range(cfg, a->sources_kind[s], what, sizes,
                                                        found[s].n));
    }
  }
  if (total == 0 && !listed) /* (a listed source that is missing is reported above) */
    any = invrg_config_input_error(cfg, "run", "stages",
                                   "stage analyze has nothing to analyse: %s has no "
                                   "/mc/L<L>/configs or /dream/L<L>/configs (%s; %s)%s",
                                   where, how_to_save(INVRG_SOURCE_MC),
                                   how_to_save(INVRG_SOURCE_DREAM), remedy);
cleanup:
  return err != INVRG_SUCCESS ? err : any;
}

/* The configurations this run's stages will save. Not collective (the same on every rank). */
static invrg_err check_this_run(const invrg_config *cfg) {
  invrg_err err = INVRG_SUCCESS, any = INVRG_SUCCESS;
  ensemble_list found[2];
  for (int s = 0; s < cfg->analyze.n_sources; s++)
    planned_ensembles(cfg, cfg->analyze.sources_kind[s], &found[s]);
  INVRG_CHECK_MORE(any, check_found(cfg, found, "this run",
                                    "; or analyse an earlier run's file with &analyze data"));
  for (int s = 0; s < cfg->analyze.n_sources; s++)
    if (found[s].n > 0 && found[s].e[0].n < 2) { /* only dreams can save 1: the key that
                                                    * limits them to it is the one to blame */
      const bool by_samples = cfg->dream.n_samples <= cfg->dream.save_max;
      any = invrg_config_input_error(cfg, "dream", by_samples ? "n_samples" : "save_max",
                                     "stage analyze needs at least 2 saved configurations per "
                                     "size; %s = %lld", by_samples ? "n_samples" : "save_max",
                                     (long long)(by_samples ? cfg->dream.n_samples
                                                            : cfg->dream.save_max));
      break;
    }
cleanup:
  return err != INVRG_SUCCESS ? err : any;
}

/* The file of &analyze data, opened by this rank alone: readable, invrg, with configurations. */
static invrg_err check_data_file(const invrg_config *cfg) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config_analyze *a = &cfg->analyze;
  ensemble_list found[2];
  char where[INVRG_PATH_LEN + 2];
  hid_t file = -1;
  if (invrg_h5_open_input(a->data, &file) != INVRG_SUCCESS) {
    err = invrg_config_input_error(cfg, "analyze", "data", "%s", invrg_error_message());
    goto cleanup;
  }
  if (invrg_h5_check_format(file, a->data, INVRG_FORMAT_VERSION_MAJOR) != INVRG_SUCCESS) {
    err = invrg_config_input_error(cfg, "analyze", "data", "%s", invrg_error_message());
    goto cleanup;
  }
  for (int s = 0; s < a->n_sources; s++)
    if (find_ensembles(file, a->data, a->sources_kind[s], &found[s]) != INVRG_SUCCESS) {
      err = invrg_config_input_error(cfg, "analyze", "data", "%s", invrg_error_message());
      goto cleanup;
    }
  snprintf(where, sizeof where, "'%s'", a->data);
  INVRG_CALL(check_found(cfg, found, where, ""));
  for (int s = 0; s < a->n_sources; s++)
    for (int i = 0; i < found[s].n; i++)
      if (found[s].e[i].K_assumed)
        invrg_log(INVRG_LOG_WARN, "analyze: '%s': /mc/L%lld has no attribute beta: its C/N is "
                  "taken at K_c", a->data, (long long)found[s].e[i].L);
cleanup:
  invrg_h5_close(&file);
  return err;
}

static invrg_err analyze_check(const invrg_run *run) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  if (cfg->analyze.data[0] == '\0') {
    INVRG_CALL(check_this_run(cfg));
    goto cleanup;
  }
  /* Only rank 0 looks at the file, then tells everyone what it found. */
  int64_t found = INVRG_SUCCESS;
  if (run->groups->world_rank == 0) found = check_data_file(cfg);
  INVRG_MPI_CALL(MPI_Bcast(&found, 1, MPI_INT64_T, 0, run->groups->world));
  if (found != INVRG_SUCCESS) {
    if (run->groups->world_rank != 0)
      invrg_error_set((invrg_err)found, __FILE__, __LINE__, "bad &analyze data");
    invrg_error_mark_reported(); /* rank 0 printed it */
    err = (invrg_err)found;
    goto cleanup;
  }
cleanup:
  return err;
}

/* ------------------------------------------------------------------ output */

/* Blockings of an L × L configuration while the coarse side stays even and at least 2. */
static int mcrg_levels_of(int64_t L, int64_t wanted) {
  int n = 0;
  while (n < wanted && (L >> n) % 2 == 0 && (L >> n) >= 4) n++;
  return n;
}

/* /analyze/<source>/L<L>: the summary, the file and dataset analysed. */
static invrg_err write_summary(hid_t file, const char *source, const char *data,
                               const ensemble *e, int B, const invrg_summary *s) {
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
static void log_table(const char *source, const char *data, const ensemble_list *list, int B,
                      const invrg_summary *sum) {
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
                              const ensemble *e, int B, invrg_corr *corr, double *block_means,
                              int64_t *block_sizes, invrg_summary *summary) {
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
    const invrg_mcrg_params mp = invrg_stage_mcrg_params(run->cfg, levels, B);
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
                                const char *data, const ensemble_list *list) {
  invrg_err err = INVRG_SUCCESS;
  const char *source = invrg_source_name(source_kind);
  const invrg_config_analyze *a = &run->cfg->analyze;
  const invrg_groups *groups = run->groups;
  invrg_summary summary[MAX_SIZES];
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

  invrg_measure_size measured[MAX_SIZES];
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
  ensemble_list list;

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
    INVRG_CALL(find_ensembles(file, data, a->sources_kind[s], &list));
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

const invrg_stage invrg_stage_analyze = {"analyze", analyze_check, analyze_execute};
