/* The pipeline of a run: input → checks → run file → stages → finished file. */
#include "invrg/pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "invrg/checkpoint.h"
#include "invrg/config.h"
#include "invrg/fileutil.h"
#include "invrg/format.h"
#include "invrg/model_io.h"
#include "invrg/log.h"
#include "invrg/memory.h"
#include "invrg/output_lock.h"
#include "invrg/runfile.h"
#include "invrg/stage.h"
#include "invrg/stage_layout.h"
#include "invrg_build_info.h"
#include "invrg_git_version.h"

/* The stages, by the enum of &run stages; NULL while a stage is not implemented yet. */
static const invrg_stage *const stages[] = {
    [INVRG_STAGE_MC] = &invrg_stage_mc,
    [INVRG_STAGE_TRAIN] = &invrg_stage_train,
    [INVRG_STAGE_DREAM] = &invrg_stage_dream,
    [INVRG_STAGE_ANALYZE] = &invrg_stage_analyze,
};

static const invrg_stage *find_stage(invrg_stage_kind kind) {
  return (size_t)kind < sizeof stages / sizeof stages[0] ? stages[kind] : NULL;
}

/* Every requested stage must exist in this build: refuse before any work starts. */
static invrg_err check_stages_available(const invrg_config *cfg) {
  invrg_err found = INVRG_SUCCESS;
  for (int i = 0; i < cfg->run.n_stages; i++)
    if (find_stage(cfg->run.stages_kind[i]) == NULL)
      found = invrg_config_input_error(cfg, "run", "stages",
                                       "stage '%s' is not available in invrg %s yet; "
                                       "remove it from &run stages",
                                       cfg->run.stages[i], INVRG_VERSION);
  return found;
}

/* The finite-size-scaling range must hold sizes (which ones each source keeps is the stages'
 * check). */
static invrg_err check_fss_range(const invrg_config *cfg) {
  const invrg_config_analyze *a = &cfg->analyze;
  if (a->fss_Lmin > 0 && a->fss_Lmax > 0 && a->fss_Lmin > a->fss_Lmax)
    return invrg_config_input_error(cfg, "analyze", "fss_Lmin",
                                    "fss_Lmin = %lld is above fss_Lmax = %lld: the fit range "
                                    "is empty", (long long)a->fss_Lmin, (long long)a->fss_Lmax);
  return INVRG_SUCCESS;
}

/* The correlation functions come with the correlations, and their precision with them: a key
 * that would change nothing is refused, not ignored. */
static invrg_err check_correlation_functions(const invrg_config *cfg) {
  invrg_err found = INVRG_SUCCESS;
  if (cfg->analyze.correlation_functions && !cfg->analyze.correlations)
    found = invrg_config_input_error(cfg, "analyze", "correlation_functions",
                                     "correlation_functions = .true. needs correlations = .true.");
  if (cfg->analyze.correlation_precision_kind != INVRG_CORR_DOUBLE &&
      !(cfg->analyze.correlations && cfg->analyze.correlation_functions))
    found = invrg_config_input_error(cfg, "analyze", "correlation_precision",
                                     "correlation_precision = '%s' is the precision of the "
                                     "correlation functions: it needs correlation_functions = "
                                     ".true.", cfg->analyze.correlation_precision);
  return found;
}

/* @p st is the input namelist file (the same device and inode, whatever the path). */
static bool is_input_file(const invrg_config *cfg, const struct stat *st) {
  struct stat in;
  return cfg->input_path[0] != '\0' && stat(cfg->input_path, &in) == 0 &&
         in.st_dev == st->st_dev && in.st_ino == st->st_ino;
}

/* Whether the log file can be opened for writing, tried for real (permissions, names too
 * long, links to nothing), leaving it as it was: an existing one opened to append, a new one
 * created and removed. errno says why not. */
static bool log_file_writable(const char *path) {
  struct stat st;
  const bool exists = stat(path, &st) == 0;
  const int fd = exists ? open(path, O_WRONLY | O_APPEND)
                        : open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return false;
  close(fd);
  if (!exists) unlink(path);
  return true;
}

/* The log file must not be a directory nor the input, and its directory must exist (and be
 * writable); that it is none of the run's own files is the output's check (runfile.h).
 * Collective on @p world. */
static invrg_err check_log_file(const invrg_config *cfg, MPI_Comm world) {
  invrg_err err = INVRG_SUCCESS, found = INVRG_SUCCESS;
  char path[INVRG_PATH_LEN + 8], dir[INVRG_PATH_LEN + 8];
  int rank;
  struct stat st, d;
  INVRG_MPI_CALL(MPI_Comm_rank(world, &rank));
  if (rank == 0 && invrg_config_log_path(cfg, path, sizeof path)) {
    invrg_file_directory(path, dir, sizeof dir);
    const bool exists = stat(path, &st) == 0;
    const bool dir_usable = stat(dir, &d) == 0 && S_ISDIR(d.st_mode) && access(dir, W_OK) == 0;
    if (!dir_usable && cfg->run.log_file[0] == '\0') {
      /* <output>.log (log_file = ''): the output's directory, whose faults the output's check
       * names (runfile.c), once and at the key that chose it */
    } else if (stat(dir, &d) != 0 || !S_ISDIR(d.st_mode)) /* the run's own files: runfile.c */
      found = invrg_config_input_error(cfg, "run", "log_file", "the directory '%s' of log_file "
                                       "'%s' does not exist; create it first", dir, path);
    else if (exists && S_ISDIR(st.st_mode))
      found = invrg_config_input_error(cfg, "run", "log_file", "log_file '%s' is a directory: "
                                       "name a file in it", path);
    else if (exists && is_input_file(cfg, &st))
      found = invrg_config_input_error(cfg, "run", "log_file", "log_file '%s' is this run's "
                                       "input file, which the log would replace", path);
    else if (exists && S_ISREG(st.st_mode) && invrg_file_is_hdf5(path))
      found = invrg_config_input_error(cfg, "run", "log_file", "log_file '%s' is an HDF5 file "
                                       "(a run's results?), which the log would corrupt: name a "
                                       "text file", path);
    else if (exists && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
      found = invrg_config_input_error(cfg, "run", "log_file", "log_file '%s' is a FIFO or a "
                                       "socket, which would hold the run until someone reads "
                                       "it; for no log file, log_file = 'none'", path);
    else if (access(dir, W_OK) != 0)
      found = invrg_config_input_error(cfg, "run", "log_file", "the directory '%s' of log_file "
                                       "'%s' is not writable", dir, path);
    else if (!log_file_writable(path))
      found = invrg_config_input_error(cfg, "run", "log_file", "cannot write log_file '%s': %s",
                                       path, errno == EEXIST ? "a symbolic link to nothing"
                                                             : strerror(errno));
  }
  INVRG_CALL(invrg_error_agree(found, world));
cleanup:
  return err;
}

/* The groups of each stage of &run stages (stage_layout.h), chosen by check_input(). */
typedef struct {
  invrg_groups_request req[INVRG_MAX_STAGES];
  bool automatic[INVRG_MAX_STAGES];
} stage_layouts;

/* A stage's own layout keys for a stage the run does not have: a warning (they do nothing). */
static void warn_unused_layouts(const invrg_config *cfg) {
  for (int k = 0; k < INVRG_MAX_STAGES; k++) {
    const invrg_stage_kind kind = (invrg_stage_kind)k;
    const invrg_config_stage_layout *own = &cfg->parallel.stage[k];
    if (invrg_config_has_stage(cfg, kind) ||
        (own->ranks_per_group == 0 && own->grid[0] == 0 && own->grid[1] == 0))
      continue;
    const invrg_groups_request req = invrg_stage_layout_request(cfg, kind);
    invrg_config_input_warning(cfg, "parallel", own->ranks_per_group > 0 ? req.size_key
                                                                         : req.grid_key,
                               "&run stages has no stage %s: its layout is not used",
                               invrg_stage_kind_name(kind));
  }
}

/* What check_input() hands the checks of one version of the configuration. */
typedef struct {
  MPI_Comm world;
  int planned_ranks;
  stage_layouts *layouts;
} input_checks;

/* The checks between keys of one configuration (check_input()). Collective. */
static invrg_err check_configuration(const invrg_config *cfg, void *arg) {
  const input_checks *c = arg;
  invrg_err err = INVRG_SUCCESS, found = INVRG_SUCCESS;
  INVRG_CHECK_MORE(found, invrg_error_agree(check_stages_available(cfg), c->world));
  INVRG_CHECK_MORE(found, invrg_error_agree(check_fss_range(cfg), c->world));
  INVRG_CHECK_MORE(found, invrg_error_agree(check_correlation_functions(cfg), c->world));
  for (int i = 0; i < cfg->run.n_stages; i++) {
    const invrg_stage *s = find_stage(cfg->run.stages_kind[i]);
    if (s != NULL)
      INVRG_CHECK_MORE(found, invrg_stage_layout_check(cfg, s, cfg->run.stages_kind[i], c->world,
                                                       c->planned_ranks, &c->layouts->req[i],
                                                       &c->layouts->automatic[i]));
  }
  warn_unused_layouts(cfg);
  INVRG_CHECK_MORE(found, invrg_runfile_check_output(cfg, c->world));
  INVRG_CHECK_MORE(found, check_log_file(cfg, c->world));
  invrg_config_warn_unused(cfg);
cleanup:
  return err != INVRG_SUCCESS ? err : found;
}

/*
 * Everything the input can get wrong, found before any work or output and reported all at
 * once: the values the reader refused, and between keys: stages, each stage's layout and its
 * own checks on it (on the run's world, or as rank 0 of a run of @p planned_ranks would see
 * them), the output. *layouts: the stages' groups. Collective on @p world.
 */
static invrg_err check_input(const invrg_config *cfg, MPI_Comm world, int planned_ranks,
                             stage_layouts *layouts) {
  input_checks checks = {world, planned_ranks, layouts};
  invrg_config_collect_diagnostics(true); /* printed in file order at the end */
  const invrg_err found = invrg_config_check_around_refused(cfg, check_configuration, &checks);
  invrg_config_collect_diagnostics(false);
  if (found == INVRG_ERR_INPUT && invrg_log_is_root()) {
    const int n = invrg_config_input_errors();
    fflush(stdout);
    fprintf(stderr, "%s%s: %d error%s\n", cfg->input_path, cfg->n_overrides > 0 ? " and --set" : "",
            n, n == 1 ? "" : "s");
    fflush(stderr);
  }
  return found;
}

/* The planned layout of each stage, for --check --ranks N. */
static invrg_err log_planned_layouts(const invrg_config *cfg, const stage_layouts *layouts,
                                     int planned_ranks) {
  invrg_err err = INVRG_SUCCESS;
  invrg_groups *g = NULL;
  char text[256];
  for (int i = 0; i < cfg->run.n_stages; i++) {
    INVRG_CALL(invrg_groups_create_planned_as(cfg, &layouts->req[i], planned_ranks, &g));
    invrg_stage_layout_describe(g, layouts->automatic[i], text, sizeof text);
    invrg_log(INVRG_LOG_INFO, "stage %s: %s", cfg->run.stages[i], text);
    invrg_groups_destroy(&g);
  }
cleanup:
  invrg_groups_destroy(&g);
  return err;
}

/* The layout of the run for /run: its ranks and each stage's groups. Not collective. */
static invrg_err run_layout(const invrg_config *cfg, const stage_layouts *layouts, int nranks,
                            invrg_run_layout *out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_groups *g = NULL;
  *out = (invrg_run_layout){.nranks = nranks, .n_stages = cfg->run.n_stages};
  for (int i = 0; i < cfg->run.n_stages; i++) {
    INVRG_CALL(invrg_groups_create_planned_as(cfg, &layouts->req[i], nranks, &g));
    out->ranks_per_group[i] = g->ranks_per_group;
    out->grid[i][0] = g->px;
    out->grid[i][1] = g->py;
    invrg_groups_destroy(&g);
  }
cleanup:
  invrg_groups_destroy(&g);
  return err;
}

/* The first lines of a run's log: the code, the layout, when it started (UTC: the time
 * stamps count from here), the effective input. */
static void log_banner(const invrg_config *cfg, int nranks) {
  char started[32] = "", host[64] = "";
  const time_t now = time(NULL);
  struct tm utc;
  gmtime_r(&now, &utc);
  strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &utc);
  gethostname(host, sizeof host - 1);
  invrg_log(INVRG_LOG_INFO, "invrg %s (git %s), %d rank%s, input %s", INVRG_VERSION,
            INVRG_GIT_HASH, nranks, nranks == 1 ? "" : "s", cfg->input_path);
  invrg_log(INVRG_LOG_INFO, "started %s on %s; [hh:mm:ss] at the start of a line is the time "
            "since this process began", started, host);
  if (invrg_log_is_root() && invrg_log_get_level() >= INVRG_LOG_INFO) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL) return;
    if (cfg->n_overrides > 0)
      fprintf(f, "effective input (defaults included; %d key%s from the command line, marked):\n",
              cfg->n_overrides, cfg->n_overrides == 1 ? "" : "s");
    else
      fprintf(f, "effective input (defaults included):\n");
    invrg_config_write_effective(cfg, f);
    fclose(f);
    invrg_log_lines(INVRG_LOG_INFO, text);
    free(text);
  }
}

/* The log file (world rank 0): appended to by a continued run, and by a fresh one without
 * &output overwrite (the log of an earlier run that failed may be the only account of it: not
 * lost to a rerun); <output>.log is replaced by a fresh run with overwrite, which replaces the
 * output too. A log_file named in the input is only ever appended to: it may be shared by many
 * runs. */
static void open_log_file(const invrg_config *cfg, bool resuming) {
  char path[INVRG_PATH_LEN + 8];
  const bool append = resuming || !cfg->output.overwrite || cfg->run.log_file[0] != '\0';
  if (invrg_config_log_path(cfg, path, sizeof path) && !invrg_log_open_file(path, append))
    invrg_log(INVRG_LOG_WARN, "cannot write the log file %s (%s): the log goes to stdout only",
              path, strerror(errno));
}

/* "12.34 s", and for long times also "(1:02:03)". */
static void format_seconds(char *buf, size_t size, double seconds) {
  if (seconds < 60) {
    snprintf(buf, size, "%.2f s", seconds);
  } else {
    const long s = (long)(seconds + 0.5);
    snprintf(buf, size, "%.0f s (%ld:%02ld:%02ld)", seconds, s / 3600, s / 60 % 60, s % 60);
  }
}

/* The end of the log: the wall time of each stage and its share, over all runs of this output
 * (the runs before a restart up to their last checkpoint). World rank 0's clock. */
static void log_timing(const invrg_run *run, int restarts) {
  const invrg_config *cfg = run->cfg;
  double this_run, all_runs, stage_s[INVRG_MAX_STAGES], staged = 0;
  char line[160], cell[64];
  invrg_runfile_times(run->file, &this_run, &all_runs, stage_s);
  invrg_log(INVRG_LOG_INFO, "timing: wall time of each stage%s",
            restarts > 0 ? ", all runs of this output (up to each one's last checkpoint)" : "");
  line[0] = '\0';
  invrg_format_cell(line, sizeof line, -24, "stage");
  invrg_format_cell(line, sizeof line, 12, "time [s]");
  invrg_format_cell(line, sizeof line, 10, "share [%]");
  invrg_log(INVRG_LOG_INFO, " %s", line);
  for (int i = 0; i <= cfg->run.n_stages + 1; i++) {
    const bool other = i == cfg->run.n_stages, total = i > cfg->run.n_stages;
    const double s = total ? all_runs : other ? all_runs - staged : stage_s[i];
    if (!other && !total) staged += s;
    line[0] = '\0';
    invrg_format_cell(line, sizeof line, -24,
                      total ? "total" : other ? "outside the stages" : cfg->run.stages[i]);
    snprintf(cell, sizeof cell, "%.3f", s);
    invrg_format_cell(line, sizeof line, 12, cell);
    invrg_format_fixed(cell, sizeof cell, all_runs > 0 ? 100 * s / all_runs : NAN, 1);
    invrg_format_cell(line, sizeof line, 10, cell);
    invrg_log(INVRG_LOG_INFO, " %s", line);
  }
  char all[64], last[64];
  format_seconds(all, sizeof all, all_runs);
  format_seconds(last, sizeof last, this_run);
  invrg_log(INVRG_LOG_INFO, "wall time %s in %d run%s (this run %s)", all, restarts + 1,
            restarts > 0 ? "s" : "", last);
}

/* The model a finished stage train left in the run file, for the stages after it. */
static invrg_err reload_trained_model(invrg_run *run) {
  invrg_err err = INVRG_SUCCESS;
  invrg_model_destroy(&run->model);
  INVRG_CALL(invrg_model_read_open(run->file->file, run->file->tmp_path, "model", &run->model));
cleanup:
  return err;
}

/* A runtime failure (MPI, HDF5, the disk, memory): other ranks may be stuck in a collective
 * call, and closing a file HDF5 failed to write may hang, so no orderly exit: delete the
 * partial files this rank can (the run file .tmp; a checkpoint being written), report, abort.
 * The last complete checkpoint stays. */
static _Noreturn void abort_run(invrg_run *run) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  invrg_runfile_discard(run->file);
  invrg_checkpoint_discard(run->ckpt);
  invrg_runfile_remove_locks(run->cfg->run.output);
  invrg_output_lock_remove_held();
  invrg_error_print_local(rank);
  MPI_Abort(MPI_COMM_WORLD, INVRG_ERR_RUNTIME);
  exit(INVRG_ERR_RUNTIME); /* not reached */
}

/* Stage @p i of the run on its own groups (re-split from the world), a stage that fails at run
 * time aborted. Collective on @p world. */
static invrg_err run_stage(invrg_run *run, const invrg_stage *s, int i,
                           const stage_layouts *layouts, MPI_Comm world) {
  invrg_err err = INVRG_SUCCESS;
  invrg_groups *groups = NULL;
  char text[256];
  err = invrg_groups_create_as(world, run->cfg, &layouts->req[i], &groups);
  if (err == INVRG_ERR_RUNTIME) abort_run(run);
  INVRG_CALL(err);
  invrg_stage_layout_describe(groups, layouts->automatic[i], text, sizeof text);
  invrg_log(INVRG_LOG_INFO, "parallel: %s", text);
  run->groups = groups;
  err = s->execute(run);
  run->groups = NULL;
cleanup:
  invrg_groups_destroy(&groups);
  return err;
}

/* The stages of &run stages in order, each on its groups, with a start line and an end line with
 * its wall time; those a checkpoint holds are skipped. Collective on @p world. */
static invrg_err run_stages(invrg_run *run, const stage_layouts *layouts, MPI_Comm world) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  for (int i = 0; i < cfg->run.n_stages; i++) {
    const invrg_stage *s = find_stage(cfg->run.stages_kind[i]);
    char took[64];
    if (i < invrg_checkpoint_stages_done(run->ckpt)) { /* its results are in the run file */
      format_seconds(took, sizeof took, run->file->stage_s[i]);
      invrg_log(INVRG_LOG_INFO, "== stage %s: done before the checkpoint (in %s)", s->name, took);
      if (cfg->run.stages_kind[i] == INVRG_STAGE_TRAIN) INVRG_CALL(reload_trained_model(run));
      continue;
    }
    invrg_log(INVRG_LOG_INFO, "== stage %s (%d of %d): start", s->name, i + 1, cfg->run.n_stages);
    invrg_checkpoint_enter_stage(run->ckpt, i, s->name, run->file);
    invrg_runfile_stage_begin(run->file, i);
    err = run_stage(run, s, i, layouts, world);
    format_seconds(took, sizeof took, invrg_runfile_stage_end(run->file));
    /* A failure of MPI, HDF5 or memory may leave other ranks inside a collective call:
     * they cannot agree on it, so stop them all. The run file stays a .tmp. */
    if (err == INVRG_ERR_RUNTIME) abort_run(run);
    err = invrg_error_agree(err, world);
    invrg_log(INVRG_LOG_INFO, "== stage %s: %s after %s", s->name,
              err == INVRG_SUCCESS ? "end" : err == INVRG_STOPPED ? "stopped" : "failed", took);
    INVRG_CALL(err);
  }
cleanup:
  return err;
}

invrg_err invrg_pipeline_run(const invrg_cli *cli) {
  invrg_err err = INVRG_SUCCESS;
  const char *input_path = cli->input_path;
  const bool check_only = cli->action == INVRG_ACTION_CHECK;
  const int planned_ranks = cli->planned_ranks;
  invrg_config cfg = {0};
  stage_layouts layouts = {0};
  invrg_output_lock *lock = NULL;
  invrg_run run = {&cfg, NULL, NULL, NULL, NULL};
  MPI_Comm world = MPI_COMM_WORLD;
  int nranks, rank;
  INVRG_MPI_CALL(MPI_Comm_size(world, &nranks));
  INVRG_MPI_CALL(MPI_Comm_rank(world, &rank));

  /* Everything the input can get wrong is found before any work or output. */
  INVRG_CALL(invrg_config_load_for_checks(input_path, cli->overrides, cli->n_overrides, world,
                                          &cfg));
  if (!check_only) invrg_log_begin_run(); /* time stamps and the kept log from here */
  INVRG_CALL(check_input(&cfg, world, planned_ranks, &layouts));
  if (check_only) {
    const char *with = cli->n_overrides > 0 ? " with its --set" : "";
    INVRG_CALL(invrg_checkpoint_check(&cfg, world)); /* as the run would, before its work */
    INVRG_CALL(log_planned_layouts(&cfg, &layouts, planned_ranks > 0 ? planned_ranks : nranks));
    if (planned_ranks > 0)
      invrg_log(INVRG_LOG_INFO, "%s%s: input is valid for a run on %d rank%s", input_path, with,
                planned_ranks, planned_ranks == 1 ? "" : "s");
    else
      invrg_log(INVRG_LOG_INFO, "%s%s: input is valid", input_path, with);
    goto cleanup;
  }
  /* One run per output: a second run on it is refused here, before any work. */
  INVRG_CALL(invrg_output_lock_acquire(&cfg, world, &lock));
  if (rank == 0) invrg_runfile_remove_locks(cfg.run.output); /* MPI-IO's, left by a killed run */
  log_banner(&cfg, nranks);
  INVRG_CALL(invrg_checkpoint_create(&cfg, world, &run.ckpt));
  open_log_file(&cfg, invrg_checkpoint_resuming(run.ckpt));

  /* A fresh run file, or the one saved in the checkpoint this run continues. */
  invrg_run_layout layout;
  INVRG_CALL(run_layout(&cfg, &layouts, nranks, &layout));
  if (invrg_checkpoint_resuming(run.ckpt))
    err = invrg_runfile_resume(&cfg, &layout, invrg_checkpoint_source_path(run.ckpt),
                               invrg_checkpoint_restarts(run.ckpt), world, &run.file);
  else
    err = invrg_runfile_create(&cfg, &layout, world, &run.file);
  if (err == INVRG_ERR_RUNTIME) abort_run(&run);
  INVRG_CALL(err);
  INVRG_CALL(run_stages(&run, &layouts, world));
  int64_t peak = 0;
  int peak_rank = 0;
  INVRG_CALL(invrg_memory_peak_max(world, &peak, &peak_rank));
  log_timing(&run, invrg_checkpoint_restarts(run.ckpt));
  invrg_log(INVRG_LOG_INFO, "peak memory %.1f MiB per rank (the largest, rank %d)",
            (double)peak / 1048576.0, peak_rank);
  INVRG_CALL(invrg_runfile_write_log(run.file)); /* the log up to here */
  err = invrg_runfile_finish(&run.file, INVRG_SUCCESS);
  /* A run file HDF5 failed to close (e.g. the disk filled at its last flush) leaves HDF5 1.10
   * with a freed file in its table, which it would close again when MPI_Finalize ends the
   * library (a crash: HDFFV-11052): no orderly exit after that. */
  if (err == INVRG_ERR_RUNTIME) abort_run(&run);
  INVRG_CALL(err);
  INVRG_CALL(invrg_checkpoint_remove(run.ckpt));
  invrg_log(INVRG_LOG_INFO, "wrote %s", cfg.run.output);
cleanup:
  /* After a checkpoint stop the .tmp goes: the checkpoint holds all of it. */
  if (run.file != NULL) invrg_runfile_finish(&run.file, err);
  if (err == INVRG_STOPPED)
    invrg_log(INVRG_LOG_INFO, "stopped after a checkpoint (exit status 3): run the same input "
              "again to continue from %s.ckpt", cfg.run.output);
  invrg_checkpoint_destroy(&run.ckpt);
  invrg_model_destroy(&run.model);
  invrg_output_lock_release(&lock);
  invrg_config_free(&cfg);
  return err;
}
