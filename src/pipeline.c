/* The pipeline of a run: input → checks → run file → stages → finished file. */
#include "invrg/pipeline.h"

#include <stdio.h>
#include <string.h>

#include "invrg/config.h"
#include "invrg/log.h"
#include "invrg/runfile.h"
#include "invrg_build_info.h"
#include "invrg_git_version.h"

/* A stage of the pipeline; run is NULL while a stage is not implemented yet. */
typedef struct {
  const char *name;
  invrg_err (*run)(const invrg_config *cfg, invrg_runfile *rf);
} stage;

static const stage stages[] = {
    {"mc", NULL},
    {"train", NULL},
    {"dream", NULL},
    {"analyze", NULL},
};

static const stage *find_stage(const char *name) {
  for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++)
    if (strcmp(stages[i].name, name) == 0) return &stages[i];
  return NULL;
}

/* Every requested stage must exist in this build: refuse before any work starts. */
static invrg_err check_stages_available(const invrg_config *cfg) {
  invrg_err err = INVRG_SUCCESS;
  for (int i = 0; i < cfg->run.n_stages; i++) {
    const stage *s = find_stage(cfg->run.stages[i]);
    if (s == NULL || s->run == NULL) {
      err = invrg_config_input_error(cfg, "run", "stages",
                                     "stage '%s' is not available in invrg %s yet; "
                                     "remove it from &run stages",
                                     cfg->run.stages[i], INVRG_VERSION);
      goto cleanup;
    }
  }
cleanup:
  return err;
}

static void log_banner(const invrg_config *cfg, int nranks) {
  invrg_log(INVRG_LOG_INFO, "invrg %s (git %s), %d rank%s, input %s", INVRG_VERSION,
            INVRG_GIT_HASH, nranks, nranks == 1 ? "" : "s", cfg->input_path);
  if (invrg_log_is_root() && invrg_log_get_level() >= INVRG_LOG_INFO) {
    printf("effective input (defaults included):\n");
    invrg_nl_write(invrg_config_schema(), cfg, false, stdout);
    fflush(stdout);
  }
}

invrg_err invrg_pipeline_run(const char *input_path, bool check_only) {
  invrg_err err = INVRG_SUCCESS;
  invrg_config cfg = {0};
  invrg_runfile *rf = NULL;
  MPI_Comm world = MPI_COMM_WORLD;
  int nranks;
  INVRG_MPI_CALL(MPI_Comm_size(world, &nranks));

  INVRG_CALL(invrg_config_load(input_path, world, &cfg));
  INVRG_CALL(invrg_error_agree(check_stages_available(&cfg), world));
  if (check_only) {
    invrg_log(INVRG_LOG_INFO, "%s: input is valid", input_path);
    goto cleanup;
  }
  log_banner(&cfg, nranks);
  INVRG_CALL(invrg_runfile_check_output(&cfg, world));

  invrg_run_layout layout = {nranks, (int)cfg.parallel.ranks_per_group,
                             {(int)cfg.parallel.grid[0], (int)cfg.parallel.grid[1]}};
  INVRG_CALL(invrg_runfile_create(&cfg, &layout, world, &rf));
  for (int i = 0; i < cfg.run.n_stages; i++) {
    const stage *s = find_stage(cfg.run.stages[i]);
    invrg_log(INVRG_LOG_INFO, "stage %s", s->name);
    INVRG_CALL(invrg_error_agree(s->run(&cfg, rf), world));
  }
  INVRG_CALL(invrg_runfile_finish(&rf, INVRG_SUCCESS));
  invrg_log(INVRG_LOG_INFO, "wrote %s", cfg.run.output);
cleanup:
  if (rf != NULL) invrg_runfile_finish(&rf, err);
  invrg_config_free(&cfg);
  return err;
}
