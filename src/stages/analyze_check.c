/* Stage analyze before any work (analyze_check.h): the configurations it will analyse are
 * there, or will be, and every input error of its keys at once. */
#include "invrg/analyze_check.h"

#include <stdio.h>

#include "invrg/analyze_ensembles.h"
#include "invrg/h5util.h"
#include "invrg/log.h"

static const char *how_to_save(invrg_source source) {
  return source == INVRG_SOURCE_MC ? "stage mc saves them with &mc save_configs = .true."
                                   : "stage dream saves them with &dream save_levels";
}

/*
 * Sources without configurations in @p where: a source the input lists must have some;
 * of the default list ('mc', 'dream'), at least one. The fit range must keep 2 sizes of
 * every source with several. All errors are reported. Not collective.
 */
static invrg_err check_found(const invrg_config *cfg, const invrg_analyze_ensembles found[],
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
      int64_t sizes[INVRG_ANALYZE_MAX_SIZES];
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
  invrg_analyze_ensembles found[2];
  for (int s = 0; s < cfg->analyze.n_sources; s++)
    invrg_analyze_planned_ensembles(cfg, cfg->analyze.sources_kind[s], &found[s]);
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
  invrg_analyze_ensembles found[2];
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
    if (invrg_analyze_find_ensembles(file, a->data, a->sources_kind[s], &found[s]) !=
        INVRG_SUCCESS) {
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

invrg_err invrg_analyze_check(const invrg_run *run) {
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
