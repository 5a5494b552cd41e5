/* The HDF5 run file: header groups at creation, atomic rename at the end. */
#include "invrg/runfile.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <fftw3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "invrg/fileutil.h"
#include "invrg/h5util.h"
#include "invrg/log.h"
#include "invrg/output_lock.h"
#include "invrg/run_paths.h"
#include "invrg_build_info.h"
#include "invrg_git_version.h"

/* ------------------------------------------------------------------ checks before work */

/* @p path with glob's special characters escaped, so that it matches only itself. */
static void glob_literal(const char *path, char *out, size_t len) {
  size_t n = 0;
  for (; *path != '\0' && n + 2 < len; path++) {
    if (strchr("*?[]\\", *path) != NULL) out[n++] = '\\';
    out[n++] = *path;
  }
  out[n] = '\0';
}

void invrg_runfile_remove_locks(const char *output) {
  /* Open MPI's lockedfile component: <file>-<job>-<pid>.lock beside each file MPI-IO opened */
  const invrg_run_path opened[] = {INVRG_PATH_TMP, INVRG_PATH_CKPT, INVRG_PATH_CKPT_TMP};
  char literal[2 * INVRG_PATH_LEN + 1];
  glob_literal(output, literal, sizeof literal); /* an output named '*' is no pattern */
  for (int i = 0; i < 3; i++) {
    char pattern[2 * INVRG_PATH_LEN + 32];
    glob_t found;
    snprintf(pattern, sizeof pattern, "%s%s-*.lock", literal, invrg_run_path_suffix(opened[i]));
    if (glob(pattern, 0, NULL, &found) != 0) continue;
    for (size_t k = 0; k < found.gl_pathc; k++) unlink(found.gl_pathv[k]);
    globfree(&found);
  }
}

/* The files a run writes, replaces or removes: the output and its companions (run_paths.h),
 * then the log; what each is, for the messages. */
enum { OWN_LOG = INVRG_N_RUN_PATHS, MAX_OWN = INVRG_N_RUN_PATHS + 1 };
typedef struct {
  char path[MAX_OWN][INVRG_PATH_LEN + 16];
  int n; /* without the log when there is none (log_file = 'none') */
} own_files;

static const char *const own_what[MAX_OWN] = {
    [INVRG_PATH_OUTPUT] = "the output of this run",
    [INVRG_PATH_TMP] = "the run file this run writes before it takes its name",
    [INVRG_PATH_CKPT] = "this run's checkpoint",
    [INVRG_PATH_CKPT_PREV] = "this run's previous checkpoint",
    [INVRG_PATH_CKPT_TMP] = "this run's checkpoint being written",
    [INVRG_PATH_LOCK] = "this run's lock",
    [OWN_LOG] = "this run's log file, which it writes"};

static void own_files_of(const invrg_config *cfg, own_files *o) {
  for (int k = 0; k < INVRG_N_RUN_PATHS; k++)
    invrg_run_path_of(cfg->run.output, (invrg_run_path)k, o->path[k], sizeof o->path[k]);
  o->n = invrg_config_log_path(cfg, o->path[OWN_LOG], sizeof o->path[OWN_LOG]) ? MAX_OWN
                                                                                : OWN_LOG;
}

/* The files a run reads, by the keys that name them ('' where a key is not set). */
typedef struct {
  const char *group, *key, *path;
} read_file;

enum { N_READS = 5 };
static void reads_of(const invrg_config *cfg, read_file r[N_READS]) {
  r[0] = (read_file){"analyze", "data", cfg->analyze.data};
  r[1] = (read_file){"train", "data", cfg->train.data};
  r[2] = (read_file){"dream", "model_file", cfg->dream.model_file};
  r[3] = (read_file){"dream", "start_file", cfg->dream.start_file};
  r[4] = (read_file){"dream", "small_kernel_model_file", cfg->dream.small_kernel_model_file};
}

/* A file the run reads that is one of the files the run itself writes, replaces or removes
 * would be destroyed before it is read: its key names it (the same file by device and inode,
 * whatever the paths). The input namelist as one of them would be replaced: &run output names
 * it (the log: the pipeline's check of log_file). Rank 0. */
static invrg_err check_inputs_are_not_own_files(const invrg_config *cfg, const own_files *own) {
  invrg_err found = INVRG_SUCCESS;
  const char *out = cfg->run.output;
  read_file reads[N_READS];
  reads_of(cfg, reads);
  for (int i = 0; i < N_READS; i++) {
    if (reads[i].path[0] == '\0' || !invrg_file_exists(reads[i].path)) continue;
    for (int k = 0; k < own->n; k++)
      if (invrg_file_same(reads[i].path, own->path[k])) {
        if (k == INVRG_PATH_OUTPUT)
          found = invrg_config_input_error(cfg, reads[i].group, reads[i].key,
                                           "%s = '%s' is the output of this run (&run output = "
                                           "'%s'), which would replace it: choose another output",
                                           reads[i].key, reads[i].path, out);
        else
          found = invrg_config_input_error(cfg, reads[i].group, reads[i].key,
                                           "%s = '%s' is %s ('%s' of &run output = '%s'%s): "
                                           "choose another output%s", reads[i].key,
                                           reads[i].path, own_what[k], own->path[k], out,
                                           k == INVRG_PATH_CKPT ? "; to finish that run, run "
                                                                  "its input again" : "",
                                           k == OWN_LOG ? " or log_file" : "");
        break;
      }
  }
  for (int k = 0; k < OWN_LOG && cfg->input_path[0] != '\0'; k++)
    if (invrg_file_same(cfg->input_path, own->path[k])) {
      found = invrg_config_input_error(cfg, "run", "output",
                                       "%s '%s'%s%s%s is this run's input file, which the run "
                                       "would replace: choose another output",
                                       k == INVRG_PATH_OUTPUT ? "output" : "the file",
                                       own->path[k], k == INVRG_PATH_OUTPUT ? "" : " (",
                                       k == INVRG_PATH_OUTPUT ? "" : own_what[k],
                                       k == INVRG_PATH_OUTPUT ? "" : ")");
      break;
    }
  return found;
}

/* " ('<other>')" after a path @p name that names the same file as @p other under another
 * spelling, in @p buf; "" when the two are spelled alike. */
static const char *also_named(const char *name, const char *other, char *buf, size_t len) {
  if (strcmp(name, other) == 0) return "";
  snprintf(buf, len, " ('%s')", other);
  return buf;
}

/* The log is a file of its own: as the output, its .tmp, a checkpoint or the lock, the two
 * would write over each other (a corrupt run file, or a log that vanishes). Rank 0. */
static invrg_err check_log_is_not_run_file(const invrg_config *cfg, const own_files *own) {
  char named[INVRG_PATH_LEN + 32];
  if (own->n == OWN_LOG) return INVRG_SUCCESS;
  for (int k = 0; k < OWN_LOG; k++)
    if (invrg_file_same(own->path[OWN_LOG], own->path[k]))
      return invrg_config_input_error(cfg, "run", "log_file",
                                      "log_file '%s' is %s%s: choose another name, or '' for "
                                      "<output>.log", own->path[OWN_LOG], own_what[k],
                                      also_named(own->path[OWN_LOG], own->path[k], named,
                                                 sizeof named));
  return INVRG_SUCCESS;
}

/* &checkpoint stop_file is removed when the run finds it: it must be a name of its own, not a
 * directory, the input, a file the run reads, nor one it writes (the run would delete them,
 * or stop again at every safe point on its own log). Rank 0. */
static invrg_err check_stop_file(const invrg_config *cfg, const own_files *own) {
  const char *stop = cfg->checkpoint.stop_file;
  struct stat st;
  if (stop[0] == '\0') return INVRG_SUCCESS;
  if (stat(stop, &st) == 0 && !S_ISREG(st.st_mode))
    return invrg_config_input_error(cfg, "checkpoint", "stop_file",
                                    "stop_file '%s' is %s: name a file that you create to stop "
                                    "the run", stop, S_ISDIR(st.st_mode) ? "a directory"
                                                     : "not a regular file (a device, FIFO or "
                                                       "socket)");
  const char *is = NULL, *other = stop; /* what the file is, and its name as the run's */
  if (cfg->input_path[0] != '\0' && invrg_file_same(stop, cfg->input_path))
    is = "this run's input file";
  for (int k = 0; k < own->n && is == NULL; k++)
    if (invrg_file_same(stop, own->path[k]))
      is = own_what[k], other = own->path[k];
  read_file reads[N_READS];
  reads_of(cfg, reads);
  char read_what[64];
  for (int i = 0; i < N_READS && is == NULL; i++)
    if (reads[i].path[0] != '\0' && invrg_file_same(stop, reads[i].path)) {
      snprintf(read_what, sizeof read_what, "&%s %s, which this run reads", reads[i].group,
               reads[i].key);
      is = read_what;
    }
  if (is == NULL) return INVRG_SUCCESS;
  char named[INVRG_PATH_LEN + 32];
  return invrg_config_input_error(cfg, "checkpoint", "stop_file",
                                  "stop_file '%s' is %s%s; the run deletes its stop file when "
                                  "it finds it: name a file of its own", stop, is,
                                  also_named(stop, other, named, sizeof named));
}

/* Open MPI 4.1's lockedfile component, which invrg chooses for MPI-IO (main.c), writes the
 * name of its lock, "<file>-<job>-<pid>.lock", into a fixed buffer and aborts the run when a
 * name is too long for it (seen from 245 characters). The files opened with MPI-IO — the run
 * file, the checkpoints, &analyze data — keep their names within MPIIO_NAME_MAX, the names as
 * given (a relative path is shorter). Rank 0. */
enum { MPIIO_NAME_MAX = 200 };

static invrg_err check_mpiio_names(const invrg_config *cfg) {
  invrg_err found = INVRG_SUCCESS;
  const size_t longest =
      strlen(cfg->run.output) + strlen(invrg_run_path_suffix(INVRG_PATH_CKPT_TMP));
  if (longest > MPIIO_NAME_MAX)
    found = invrg_config_input_error(cfg, "run", "output",
                                     "output is %zu characters long: with '.ckpt.tmp' the run's "
                                     "files need %zu, above the %d that Open MPI's MPI-IO file "
                                     "locks take; use a shorter path (a relative one, or a "
                                     "link to the directory)", strlen(cfg->run.output), longest,
                                     MPIIO_NAME_MAX);
  if (invrg_config_has_stage(cfg, INVRG_STAGE_ANALYZE) &&
      strlen(cfg->analyze.data) > MPIIO_NAME_MAX)
    found = invrg_config_input_error(cfg, "analyze", "data",
                                     "data is %zu characters long, above the %d that Open "
                                     "MPI's MPI-IO file locks take; use a shorter path (a "
                                     "relative one, or a link to the file)",
                                     strlen(cfg->analyze.data), MPIIO_NAME_MAX);
  return found;
}

/* A file of the run that the run would replace (by a rename) but may not: @p why from
 * invrg_file_unreplaceable. */
static invrg_err unreplaceable_error(const invrg_config *cfg, const char *path, const char *what,
                                     const char *why) {
  return invrg_config_input_error(cfg, "run", "output", "'%s' (%s) %s, so the run could not "
                                  "replace it when it must: fix that, or choose another output",
                                  path, what, why);
}

/* The output's companions (its .tmp, checkpoints, lock) are regular files where they exist: a
 * FIFO there would hang the run, and a checkpoint that is a link to nothing would be taken for
 * none (the run starting afresh). The checkpoint the run continues must be readable: MPI-IO
 * would say only "invalid access mode", once the run has started. Rank 0. */
static invrg_err check_companions(const invrg_config *cfg, const own_files *own) {
  invrg_err found = INVRG_SUCCESS;
  struct stat st;
  for (int k = INVRG_PATH_TMP; k < OWN_LOG; k++) {
    if (stat(own->path[k], &st) != 0) {
      if (lstat(own->path[k], &st) == 0 && S_ISLNK(st.st_mode))
        found = invrg_config_input_error(cfg, "run", "output", "'%s' (%s) is a symbolic link "
                                         "to nothing: remove it, or choose another output",
                                         own->path[k], own_what[k]);
      continue;
    }
    const bool read = k == INVRG_PATH_CKPT && S_ISREG(st.st_mode);
    const char *unreadable = read ? invrg_file_unreadable(own->path[k]) : NULL;
    /* the lock's own check says whose it is (output_lock.h) */
    const char *fixed = k != INVRG_PATH_LOCK && S_ISREG(st.st_mode)
                            ? invrg_file_unreplaceable(own->path[k]) : NULL;
    if (!S_ISREG(st.st_mode))
      found = invrg_config_input_error(cfg, "run", "output", "'%s' (%s) is not a regular file: "
                                       "remove it, or choose another output", own->path[k],
                                       own_what[k]);
    else if (unreadable != NULL)
      found = invrg_config_input_error(cfg, "run", "output", "'%s' (%s) %s; make it readable to "
                                       "continue from it, or move it away to start afresh",
                                       own->path[k], own_what[k], unreadable);
    else if (fixed != NULL)
      found = unreplaceable_error(cfg, own->path[k], own_what[k], fixed);
  }
  return found;
}

/* Rank 0: is the output free to use, and can its directory take a file? All problems are
 * input errors about &run output: they are found before any work and fixed in the input. */
static invrg_err check_output_on_root(const invrg_config *cfg) {
  invrg_err found = INVRG_SUCCESS;
  const char *path = cfg->run.output;
  char probe[INVRG_PATH_LEN + 160], dir[INVRG_PATH_LEN];
  struct stat st;
  const bool exists = stat(path, &st) == 0;
  const char *fixed = NULL; /* why the output cannot be replaced */
  struct stat link;
  if (!exists && !cfg->output.overwrite && lstat(path, &link) == 0)
    found = invrg_config_input_error(cfg, "run", "output", "output '%s' is a symbolic link to "
                                     "nothing; remove it, set &output overwrite = .true., or "
                                     "give another name", path);
  if (exists) {
    if (S_ISDIR(st.st_mode))
      found = invrg_config_input_error(cfg, "run", "output",
                                       "output '%s' is a directory; give a file name", path);
    else if (!S_ISREG(st.st_mode))
      found = invrg_config_input_error(cfg, "run", "output", "output '%s' is not a regular file "
                                       "(a device, FIFO or socket); give a file name", path);
    else if (!cfg->output.overwrite)
      found = invrg_config_input_error(
          cfg, "run", "output",
          "output file '%s' exists; choose another name or set &output overwrite = .true.", path);
    else if ((fixed = invrg_file_unreplaceable(path)) != NULL)
      found = unreplaceable_error(cfg, path, own_what[INVRG_PATH_OUTPUT], fixed);
  }
  own_files own;
  own_files_of(cfg, &own);
  if (check_companions(cfg, &own) != INVRG_SUCCESS) found = INVRG_ERR_INPUT;
  if (check_mpiio_names(cfg) != INVRG_SUCCESS) found = INVRG_ERR_INPUT;
  if (check_inputs_are_not_own_files(cfg, &own) != INVRG_SUCCESS) found = INVRG_ERR_INPUT;
  if (check_log_is_not_run_file(cfg, &own) != INVRG_SUCCESS) found = INVRG_ERR_INPUT;
  if (check_stop_file(cfg, &own) != INVRG_SUCCESS) found = INVRG_ERR_INPUT;
  if (invrg_output_lock_check(cfg) != INVRG_SUCCESS) return INVRG_ERR_INPUT;
  invrg_file_directory(path, dir, sizeof dir);
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return invrg_config_input_error(cfg, "run", "output",
                                    "the directory '%s' of output '%s' does not exist; create "
                                    "it first", dir, path);
  /* Try the directory for real: permissions, read-only mounts and full quotas all show up
   * here, before hours of work. A name of this process's own, so that no other run's file
   * is touched. */
  char host[64] = "";
  gethostname(host, sizeof host - 1);
  snprintf(probe, sizeof probe, "%s.probe-%.63s-%ld-%ld", path, host, (long)getpid(),
           (long)time(NULL));
  int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0 && errno == EEXIST) fd = open(probe, O_WRONLY); /* left by a process long gone */
  if (fd < 0)
    return invrg_config_input_error(cfg, "run", "output",
                                    "cannot create files in the directory '%s' of output '%s': "
                                    "%s", dir, path, strerror(errno));
  close(fd);
  unlink(probe);
  return found;
}

invrg_err invrg_runfile_check_output(const invrg_config *cfg, MPI_Comm comm) {
  invrg_err err = INVRG_SUCCESS;
  int rank;
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  invrg_err local = rank == 0 ? check_output_on_root(cfg) : INVRG_SUCCESS;
  INVRG_CALL(invrg_error_agree(local, comm));
cleanup:
  return err;
}

/* ------------------------------------------------------------------ header groups */

static invrg_err write_root_attrs(hid_t file, MPI_Comm comm) {
  invrg_err err = INVRG_SUCCESS;
  /* One clock for all ranks: rank 0's time, broadcast (attributes must agree). */
  char created[32] = "";
  int rank;
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    time_t now = time(NULL);
    struct tm utc;
    gmtime_r(&now, &utc);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &utc);
  }
  INVRG_MPI_CALL(MPI_Bcast(created, sizeof created, MPI_CHAR, 0, comm));
  int64_t version[2] = {INVRG_FORMAT_VERSION_MAJOR, INVRG_FORMAT_VERSION_MINOR};
  INVRG_CALL(invrg_h5_attr_string(file, "format", "invrg"));
  INVRG_CALL(invrg_h5_attr_int64(file, "format_version", version, 2, false));
  INVRG_CALL(invrg_h5_attr_string(file, "created_utc", created));
cleanup:
  return err;
}

static invrg_err write_code_group(hid_t file) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1;
  char mpi_version[MPI_MAX_LIBRARY_VERSION_STRING] = "";
  char hdf5_version[32];
  unsigned major, minor, release;
  int len = 0;
  INVRG_MPI_CALL(MPI_Get_library_version(mpi_version, &len));
  mpi_version[strcspn(mpi_version, "\n")] = '\0'; /* first line: name and version */
  H5get_libversion(&major, &minor, &release);
  snprintf(hdf5_version, sizeof hdf5_version, "%u.%u.%u", major, minor, release);
  INVRG_CALL(invrg_h5_create_group(file, "code", &g));
  INVRG_CALL(invrg_h5_attr_string(g, "version", INVRG_VERSION));
  INVRG_CALL(invrg_h5_attr_string(g, "git_hash", INVRG_GIT_HASH));
  INVRG_CALL(invrg_h5_attr_string(g, "compiler", INVRG_COMPILER));
  INVRG_CALL(invrg_h5_attr_string(g, "flags", INVRG_C_FLAGS));
  INVRG_CALL(invrg_h5_attr_string(g, "build_type", INVRG_BUILD_TYPE));
  INVRG_CALL(invrg_h5_attr_string(g, "mpi_version", mpi_version));
  INVRG_CALL(invrg_h5_attr_string(g, "hdf5_version", hdf5_version));
  INVRG_CALL(invrg_h5_attr_string(g, "fftw_version", fftw_version));
cleanup:
  invrg_h5_close(&g);
  return err;
}

/* /run's nranks, and ranks_per_group [stage] and grid [stage][px, py] of each stage. */
static invrg_err write_layout(hid_t g, const invrg_run_layout *layout) {
  invrg_err err = INVRG_SUCCESS;
  const int n = layout->n_stages;
  int64_t nranks = layout->nranks, rpg[INVRG_MAX_STAGES], grid[INVRG_MAX_STAGES][2];
  for (int i = 0; i < n; i++) {
    rpg[i] = layout->ranks_per_group[i];
    grid[i][0] = layout->grid[i][0];
    grid[i][1] = layout->grid[i][1];
  }
  INVRG_CALL(invrg_h5_attr_int64(g, "nranks", &nranks, 1, true));
  INVRG_CALL(invrg_h5_attr_int64(g, "ranks_per_group", rpg, n, false));
  INVRG_CALL(invrg_h5_attr_int64_matrix(g, "grid", &grid[0][0], n, 2));
cleanup:
  return err;
}

static invrg_err write_run_group(hid_t file, const invrg_config *cfg,
                                 const invrg_run_layout *layout) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1;
  const char *stages[INVRG_MAX_STAGES];
  for (int i = 0; i < cfg->run.n_stages; i++) stages[i] = cfg->run.stages[i];
  INVRG_CALL(invrg_h5_create_group(file, "run", &g));
  INVRG_CALL(write_layout(g, layout));
  INVRG_CALL(invrg_h5_attr_strings(g, "stages", stages, cfg->run.n_stages));
  INVRG_CALL(invrg_h5_attr_string(g, "title", cfg->run.title));
cleanup:
  invrg_h5_close(&g);
  return err;
}

/* One attribute per key, typed as the key; arrays stay arrays, scalars stay scalars. */
static invrg_err write_key_attr(hid_t g, const invrg_nl_key *key, const invrg_config *cfg) {
  invrg_err err = INVRG_SUCCESS;
  const char *base = (const char *)cfg + key->offset;
  int n = invrg_nl_value_count(key, cfg);
  bool scalar = key->max_count == 1;
  const char *strings[64];
  switch (key->type) {
    case INVRG_NL_INT:
      INVRG_CALL(invrg_h5_attr_int64(g, key->name, (const int64_t *)(const void *)base, n, scalar));
      break;
    case INVRG_NL_REAL:
      INVRG_CALL(invrg_h5_attr_double(g, key->name, (const double *)(const void *)base, n, scalar));
      break;
    case INVRG_NL_BOOL:
      INVRG_CALL(invrg_h5_attr_bool(g, key->name, (const bool *)(const void *)base, n, scalar));
      break;
    case INVRG_NL_STRING:
      if (scalar) {
        INVRG_CALL(invrg_h5_attr_string(g, key->name, base));
      } else {
        INVRG_CHECK(n <= 64, INVRG_ERR_RUNTIME, "too many strings in key '%s'", key->name);
        for (int i = 0; i < n; i++) strings[i] = base + (size_t)i * key->string_size;
        INVRG_CALL(invrg_h5_attr_strings(g, key->name, strings, n));
      }
      break;
  }
cleanup:
  return err;
}

static invrg_err write_config_group(hid_t file, const invrg_config *cfg) {
  invrg_err err = INVRG_SUCCESS;
  hid_t config = -1, g = -1;
  const invrg_nl_schema *schema = invrg_config_schema();
  INVRG_CALL(invrg_h5_create_group(file, "config", &config));
  INVRG_CALL(invrg_h5_attr_string(config, "input_path", cfg->input_path));
  INVRG_CALL(invrg_h5_dataset_string(config, "input_nml", cfg->input_text ? cfg->input_text : ""));
  /* The --set options, in order: /config/<group> holds their effect, this what was asked. */
  if (cfg->n_overrides > 0)
    INVRG_CALL(invrg_h5_attr_strings(config, "overrides", cfg->overrides, cfg->n_overrides));
  for (int i = 0; i < schema->n_groups; i++) {
    const invrg_nl_group *group = &schema->groups[i];
    INVRG_CALL(invrg_h5_create_group(config, group->name, &g));
    for (int k = 0; k < group->n_keys; k++) INVRG_CALL(write_key_attr(g, &group->keys[k], cfg));
    invrg_h5_close(&g);
  }
cleanup:
  invrg_h5_close(&g);
  invrg_h5_close(&config);
  return err;
}

/* ------------------------------------------------------------------ create / finish */

/* A run file object, its clock started, its names set; NULL if out of memory. */
static invrg_runfile *runfile_new(const invrg_config *cfg, MPI_Comm comm) {
  const char *hints[16];
  for (int i = 0; i < cfg->output.n_mpi_io_hints && i < 16; i++)
    hints[i] = cfg->output.mpi_io_hints[i];
  invrg_h5_set_file_layout(cfg->output.alignment, cfg->output.chunk_bytes, hints,
                           cfg->output.n_mpi_io_hints);
  invrg_runfile *rf = calloc(1, sizeof *rf);
  if (rf == NULL) return NULL;
  rf->file = -1;
  rf->comm = comm;
  rf->t_start = MPI_Wtime();
  rf->n_stages = cfg->run.n_stages;
  rf->stage = -1;
  snprintf(rf->path, sizeof rf->path, "%s", cfg->run.output);
  invrg_run_path_of(cfg->run.output, INVRG_PATH_TMP, rf->tmp_path, sizeof rf->tmp_path);
  rf->overwrite = cfg->output.overwrite;
  return rf;
}

invrg_err invrg_runfile_create(const invrg_config *cfg, const invrg_run_layout *layout,
                               MPI_Comm comm, invrg_runfile **out) {
  invrg_err err = INVRG_SUCCESS;
  hid_t fapl = -1;
  invrg_runfile *rf = runfile_new(cfg, comm);
  INVRG_CHECK_ALLOC(rf);

  INVRG_CALL(invrg_h5_parallel_fapl(comm, &fapl));
  rf->file = H5Fcreate(rf->tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  INVRG_H5_CALL(rf->file, rf->tmp_path);

  INVRG_CALL(write_root_attrs(rf->file, comm));
  INVRG_CALL(write_code_group(rf->file));
  INVRG_CALL(write_run_group(rf->file, cfg, layout));
  INVRG_CALL(write_config_group(rf->file, cfg));
  INVRG_CALL(invrg_h5_flush_file(rf->file, rf->tmp_path));
cleanup:
  invrg_h5_close(&fapl);
  err = invrg_error_agree(err, comm);
  *out = rf; /* also on failure: closing a file HDF5 failed to write can hang (see the header) */
  return err;
}

invrg_err invrg_runfile_resume(const invrg_config *cfg, const invrg_run_layout *layout,
                               const char *checkpoint, int restarts, MPI_Comm comm,
                               invrg_runfile **out) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1;
  int rank;
  invrg_runfile *rf = runfile_new(cfg, comm);
  INVRG_CHECK_ALLOC(rf);
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  invrg_err copied = rank == 0 ? invrg_file_copy(checkpoint, rf->tmp_path) : INVRG_SUCCESS;
  INVRG_CALL(invrg_error_agree(copied, comm));
  INVRG_CALL(invrg_h5_open_parallel(rf->tmp_path, true, comm, &rf->file));
  INVRG_CALL(invrg_runfile_load_times(rf, rf->file)); /* the earlier runs' clock and log */
  /* The state was the checkpoint's; the run file keeps only results. */
  INVRG_H5_CALL(H5Ldelete(rf->file, "checkpoint", H5P_DEFAULT), "delete /checkpoint");
  /* /run describes this (last) run: its layout, and how many runs came before. */
  int64_t n_restarts = restarts;
  const int64_t version[2] = {INVRG_FORMAT_VERSION_MAJOR, INVRG_FORMAT_VERSION_MINOR};
  /* a checkpoint of an older minor version continues in this one's layout */
  INVRG_CALL(invrg_h5_attr_int64(rf->file, "format_version", version, 2, false));
  INVRG_CALL(invrg_h5_create_group(rf->file, "run", &g));
  INVRG_CALL(write_layout(g, layout));
  INVRG_CALL(invrg_h5_attr_int64(g, "restarts", &n_restarts, 1, true));
cleanup:
  invrg_h5_close(&g);
  err = invrg_error_agree(err, comm);
  *out = rf; /* also on failure, as for invrg_runfile_create() */
  return err;
}

void invrg_runfile_discard(invrg_runfile *rf) {
  if (rf != NULL) unlink(rf->tmp_path);
}

invrg_err invrg_runfile_finish(invrg_runfile **rfp, invrg_err status) {
  invrg_err err = INVRG_SUCCESS;
  invrg_runfile *rf = rfp != NULL ? *rfp : NULL;
  hid_t g = -1;
  int rank = 0;
  if (rf == NULL) return status;
  MPI_Comm_rank(rf->comm, &rank);
  if (rf->file >= 0 && status == INVRG_SUCCESS) {
    /* this run's wall time and all runs' at one instant (the log stored the total a moment
     * before: taken again here, it is never below this run's) */
    double walltime[2] = {MPI_Wtime() - rf->t_start, 0};
    walltime[1] = rf->earlier_s + walltime[0];
    int64_t exit_status = status;
    /* Rank 0's clock decides; attributes must be identical on all ranks. */
    INVRG_MPI_CALL(MPI_Bcast(walltime, 2, MPI_DOUBLE, 0, rf->comm));
    INVRG_H5_CALL(g = H5Gopen2(rf->file, "run", H5P_DEFAULT), "open /run");
    INVRG_CALL(invrg_h5_attr_double(g, "walltime_s", &walltime[0], 1, true));
    INVRG_CALL(invrg_h5_attr_double(g, "walltime_total_s", &walltime[1], 1, true));
    INVRG_CALL(invrg_h5_attr_int64(g, "exit_status", &exit_status, 1, true));
    INVRG_CALL(invrg_runfile_annotate(rf->file, rf->comm));
  }
cleanup:
  invrg_h5_close(&g);
  if (rf->file >= 0) {
    invrg_err closed = invrg_h5_close_file(&rf->file, rf->tmp_path);
    if (err == INVRG_SUCCESS) err = closed;
  }
  err = invrg_error_agree(err != INVRG_SUCCESS ? err : status, rf->comm);
  if (rank == 0) {
    /* On disk before its final name, which may be the last trace of the run (its checkpoints
     * are removed next). */
    if (err == INVRG_SUCCESS)
      err = invrg_h5_check_written(rf->tmp_path, INVRG_FORMAT_VERSION_MAJOR);
    if (err == INVRG_SUCCESS) err = invrg_file_sync(rf->tmp_path);
    bool appeared = false; /* a file took the output's name during the run: it stays */
    if (err == INVRG_SUCCESS)
      err = rf->overwrite ? invrg_file_rename(rf->tmp_path, rf->path)
                          : invrg_file_rename_new(rf->tmp_path, rf->path, &appeared);
    if (appeared)
      err = invrg_error_set(INVRG_ERR_RUNTIME, __FILE__, __LINE__,
                            "a file named '%s' appeared while the run worked and was left as it "
                            "is (no &output overwrite); this run's results are complete in '%s': "
                            "rename it yourself", rf->path, rf->tmp_path);
    else if (err != INVRG_SUCCESS)
      unlink(rf->tmp_path); /* never leave a partial file behind */
  }
  err = invrg_error_agree(err, rf->comm);
  free(rf);
  *rfp = NULL;
  return err;
}
