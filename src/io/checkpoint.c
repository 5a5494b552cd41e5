/* Checkpoints: when to write one (rank 0 decides, the others test), how to write one
 * atomically, and how a run finds and checks the one it continues (checkpoint.h). */
#include "invrg/checkpoint.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "invrg/checkpoint_check.h"
#include "invrg/fileutil.h"
#include "invrg/h5util.h"
#include "invrg/log.h"
#include "invrg/mc_checkpoint.h"
#include "invrg/run_paths.h"
#include "invrg_git_version.h"

/* The layout of /checkpoint and the stages' states; a change makes old checkpoints unreadable. */
#define CHECKPOINT_LAYOUT 1

/* Set by SIGTERM or SIGUSR1; only read at safe points. */
static volatile sig_atomic_t stop_signal = 0;

static void on_stop_signal(int sig) { stop_signal = sig; }

struct invrg_checkpoint {
  const invrg_config *cfg;
  MPI_Comm world;
  int rank;
  char path[INVRG_PATH_LEN + 16], tmp_path[INVRG_PATH_LEN + 16], prev_path[INVRG_PATH_LEN + 16];
  char *fingerprint; /* the keys that change results, as namelist text */
  /* triggers (world rank 0) */
  double t_start, t_last, t_next_stop_file;
  double write_seconds; /* how long the last checkpoint took to write */
  long polls, stop_after_polls, every_polls;
  long local_polls, fail_after_polls, fail_rank; /* a failure injected on one rank (tests) */
  /* the decision in flight: a broadcast rank 0 posts when it decides */
  MPI_Request request;
  bool posted;
  int decision;
  /* the end of a work loop: a barrier every rank enters, which rank 0 watches; on a
   * communicator of its own, as non-blocking collectives must be started in the same order on
   * every rank of a communicator, and the broadcasts are not */
  MPI_Comm end_comm;
  MPI_Request end_request;
  bool ending;
  /* the stage running now */
  int stage_index;
  char stage[INVRG_NAME_LEN];
  invrg_runfile *rf;
  /* the checkpoint being written */
  hid_t writing, writing_root;
  /* the checkpoint this run continues */
  hid_t source, source_state;
  int source_stage_index, restarts;
  char source_stage[INVRG_NAME_LEN];
  int written;
  /* A run that resumed and has done nothing yet would only write its source again if it
   * stopped: such a stop is not honoured (see invrg_checkpoint_end). */
  bool progressed;     /* this rank did work (a safe point, a loop end) in this run */
  bool all_at_end;     /* a stop was not honoured: every rank waits at the loop's end */
  double t_begin;      /* when the checkpoint being written began */
};

/* ------------------------------------------------------------------ fingerprint */

/* Keys that do not change any result: a resumed run may change them. */
static bool key_is_free(const char *group, const char *key) {
  if (strcmp(group, "checkpoint") == 0 || strcmp(group, "parallel") == 0) return true;
  if (strcmp(group, "run") == 0)
    return strcmp(key, "title") == 0 || strcmp(key, "log_level") == 0 ||
           strcmp(key, "log_file") == 0;
  if (strcmp(group, "output") == 0) return strcmp(key, "overwrite") == 0;
  return false;
}

/* The effective input without the free keys and the groups no stage of this run reads (a
 * resumed run may change what it does not use): one "&group key = value" line per key. */
static char *fingerprint_of(const invrg_config *cfg) {
  char *text = NULL, *out = NULL;
  size_t len = 0, out_len = 0;
  FILE *f = open_memstream(&text, &len);
  if (f == NULL) return NULL;
  invrg_nl_write(invrg_config_schema(), cfg, false, f);
  fclose(f);
  FILE *o = open_memstream(&out, &out_len);
  if (o == NULL) {
    free(text);
    return NULL;
  }
  char group[64] = "";
  for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    if (line[0] == '&') {
      snprintf(group, sizeof group, "%s", line + 1);
      continue;
    }
    if (!invrg_config_group_is_read(cfg, group)) continue;
    char key[64];
    if (sscanf(line, " %63[A-Za-z0-9_] =", key) != 1 || key_is_free(group, key)) continue;
    fprintf(o, "&%s %s\n", group, line + strspn(line, " "));
  }
  fclose(o);
  free(text);
  return out;
}

/* Input error naming the first key whose value differs from the checkpoint's. */
static invrg_err compare_fingerprints(const invrg_checkpoint *ck, const char *saved) {
  invrg_err err = INVRG_SUCCESS;
  const char *a = ck->fingerprint, *b = saved;
  while (*a != '\0' || *b != '\0') {
    size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
    if (la != lb || memcmp(a, b, la) != 0) {
      char group[64] = "", key[64] = "";
      sscanf(a[0] == '&' ? a : b, "&%63s %63[A-Za-z0-9_]", group, key);
      err = invrg_config_input_error(
          ck->cfg, group, key,
          "the input differs from the checkpoint '%s' it would continue: it has '%.*s', the "
          "checkpoint '%.*s'; restore the key, or remove the checkpoint to start afresh",
          ck->path, (int)la, a, (int)lb, b);
      goto cleanup;
    }
    a += la + (a[la] == '\n'), b += lb + (b[lb] == '\n');
  }
cleanup:
  return err;
}

/* ------------------------------------------------------------------ create */

static invrg_err read_string_attr(hid_t loc, const char *name, char **out) {
  invrg_err err = INVRG_SUCCESS;
  hid_t a = -1, type = -1, space = -1;
  *out = NULL;
  INVRG_H5_CALL(a = H5Aopen(loc, name, H5P_DEFAULT), name);
  INVRG_H5_CALL(type = H5Aget_type(a), name);
  INVRG_H5_CALL(space = H5Aget_space(a), name);
  INVRG_CHECK(H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0 &&
                  H5Sget_simple_extent_npoints(space) == 1,
              INVRG_ERR_RUNTIME, "checkpoint attribute '%s' is not a string", name);
  INVRG_H5_CALL(H5Aread(a, type, out), name);
  INVRG_CHECK(*out != NULL, INVRG_ERR_RUNTIME, "checkpoint attribute '%s' is empty", name);
cleanup:
  invrg_h5_close(&space);
  invrg_h5_close(&type);
  invrg_h5_close(&a);
  return err;
}

/* The stage @p stage's state in the checkpoint to continue, before any work: one edited or
 * damaged by hand is refused, naming the file and the dataset (checkpoint_check.h). Stage
 * dream's sums of MCRG and correlations are sized by its accumulators, stage train's step
 * counts by its data: the stages check them when they restore them. Collective. */
static invrg_err check_state(const invrg_checkpoint *ck, const char *stage) {
  if (strcmp(stage, "mc") == 0)
    return invrg_mc_checkpoint_check(ck->source_state, ck->cfg, ck->path, ck->world);
  if (strcmp(stage, "dream") == 0)
    return invrg_dream_checkpoint_check(ck->source_state, ck->cfg, ck->path);
  if (strcmp(stage, "train") == 0)
    return invrg_train_checkpoint_check(ck->source_state, ck->cfg, ck->path);
  return INVRG_SUCCESS;
}

/* Opens the checkpoint to continue and checks that it belongs to this input. */
static invrg_err open_source(invrg_checkpoint *ck) {
  invrg_err err = INVRG_SUCCESS;
  hid_t root = -1;
  char *saved = NULL, *stage = NULL, *hash = NULL;
  int64_t index = 0, restarts = 0;
  INVRG_CALL(invrg_h5_open_parallel(ck->path, false, ck->world, &ck->source));
  INVRG_CALL(invrg_h5_check_format(ck->source, ck->path, INVRG_FORMAT_VERSION_MAJOR));
  INVRG_CHECK(H5Lexists(ck->source, "checkpoint", H5P_DEFAULT) > 0, INVRG_ERR_INPUT,
              "'%s' has no /checkpoint group: not an invrg checkpoint", ck->path);
  INVRG_H5_CALL(root = H5Gopen2(ck->source, "checkpoint", H5P_DEFAULT), "/checkpoint");
  INVRG_CALL(read_string_attr(root, "fingerprint", &saved));
  INVRG_CALL(compare_fingerprints(ck, saved));
  int64_t layout = 0;
  bool has_layout = false;
  INVRG_CALL(invrg_h5_attr_exists(root, "layout", &has_layout));
  if (has_layout) INVRG_CALL(invrg_h5_read_int64_attr(root, "layout", &layout));
  INVRG_CHECK(layout == CHECKPOINT_LAYOUT, INVRG_ERR_RUNTIME,
              "'%s' has checkpoint layout %lld; this invrg writes and reads layout %d",
              ck->path, (long long)layout, CHECKPOINT_LAYOUT);
  INVRG_CALL(read_string_attr(root, "git_hash", &hash));
  if (strcmp(hash, INVRG_GIT_HASH) != 0) /* may differ in its last digits: said, not refused */
    invrg_log(INVRG_LOG_WARN, "checkpoint %s was written by invrg git %s, this is git %s: the "
              "continuation is bit-identical only if the two compute alike", ck->path, hash,
              INVRG_GIT_HASH);
  INVRG_CALL(read_string_attr(root, "stage", &stage));
  INVRG_CALL(invrg_h5_read_int64_attr(root, "stage_index", &index));
  INVRG_CALL(invrg_h5_read_int64_attr(root, "restarts", &restarts));
  snprintf(ck->source_stage, sizeof ck->source_stage, "%s", stage);
  ck->source_stage_index = (int)index;
  ck->restarts = (int)restarts + 1;
  if (H5Lexists(root, stage, H5P_DEFAULT) > 0)
    INVRG_H5_CALL(ck->source_state = H5Gopen2(root, stage, H5P_DEFAULT), stage);
  if (ck->source_state >= 0) INVRG_CALL(check_state(ck, stage));
cleanup:
  H5free_memory(saved);
  H5free_memory(stage);
  H5free_memory(hash);
  invrg_h5_close(&root);
  return err;
}

static long env_long(const char *name) {
  const char *v = getenv(name);
  return v != NULL ? atol(v) : 0;
}

/* A checkpoint of the run of @p cfg, with nothing open yet. */
static invrg_err checkpoint_new(const invrg_config *cfg, MPI_Comm world, invrg_checkpoint **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_checkpoint *ck = calloc(1, sizeof *ck);
  *out = ck;
  INVRG_CHECK_ALLOC(ck);
  ck->cfg = cfg;
  ck->world = world;
  ck->writing = ck->writing_root = ck->source = ck->source_state = -1;
  ck->request = ck->end_request = MPI_REQUEST_NULL;
  ck->end_comm = MPI_COMM_NULL;
  ck->stage_index = -1;
  INVRG_MPI_CALL(MPI_Comm_rank(world, &ck->rank));
  INVRG_MPI_CALL(MPI_Comm_dup(world, &ck->end_comm));
  invrg_run_path_of(cfg->run.output, INVRG_PATH_CKPT, ck->path, sizeof ck->path);
  invrg_run_path_of(cfg->run.output, INVRG_PATH_CKPT_TMP, ck->tmp_path, sizeof ck->tmp_path);
  invrg_run_path_of(cfg->run.output, INVRG_PATH_CKPT_PREV, ck->prev_path, sizeof ck->prev_path);
  ck->fingerprint = fingerprint_of(cfg);
  INVRG_CHECK_ALLOC(ck->fingerprint);
cleanup:
  return err;
}

/* The checkpoint this input continues, if `<output>.ckpt` exists: opened and checked against the
 * input (open_source); none: ck->source stays −1. A `.ckpt.prev` alone is an input error (the
 * run that wrote it was killed between its two renames). @p remove_unfinished: delete the
 * `.ckpt.tmp` a killed run did not finish (a run does; --check changes no file). Collective. */
static invrg_err find_source(invrg_checkpoint *ck, bool remove_unfinished) {
  invrg_err err = INVRG_SUCCESS;
  int found = ck->rank == 0 && invrg_file_exists(ck->path);
  int orphan = ck->rank == 0 && !found && invrg_file_exists(ck->prev_path);
  if (ck->rank == 0 && remove_unfinished) unlink(ck->tmp_path);
  INVRG_MPI_CALL(MPI_Bcast(&found, 1, MPI_INT, 0, ck->world));
  INVRG_MPI_CALL(MPI_Bcast(&orphan, 1, MPI_INT, 0, ck->world));
  if (orphan) {
    err = invrg_config_input_error(ck->cfg, "run", "output",
                                   "found the checkpoint '%s' but not '%s': rename it to '%s' to "
                                   "continue from it, or delete it to start afresh",
                                   ck->prev_path, ck->path, ck->path);
    goto cleanup;
  }
  if (!found) goto cleanup;
  invrg_err opened = open_source(ck);
  if (opened == INVRG_ERR_RUNTIME) { /* unreadable: say what to do about it */
    char why[512];
    snprintf(why, sizeof why, "%s", invrg_error_message());
    opened = invrg_error_set(INVRG_ERR_RUNTIME, __FILE__, __LINE__,
                             "cannot continue from the checkpoint '%s' (%s); move it away to "
                             "start afresh, or put '%s' in its place if there is one",
                             ck->path, why, ck->prev_path);
  }
  INVRG_CALL(invrg_error_agree(opened, ck->world));
cleanup:
  return err;
}

invrg_err invrg_checkpoint_create(const invrg_config *cfg, MPI_Comm world, invrg_checkpoint **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_checkpoint *ck = NULL;
  INVRG_CALL(checkpoint_new(cfg, world, &ck));
  ck->t_start = ck->t_last = MPI_Wtime();
  ck->stop_after_polls = env_long("INVRG_TEST_STOP_AFTER_POLLS");
  ck->every_polls = env_long("INVRG_TEST_CHECKPOINT_EVERY_POLLS");
  ck->fail_after_polls = env_long("INVRG_TEST_FAIL_AFTER_POLLS");
  ck->fail_rank = env_long("INVRG_TEST_FAIL_RANK");

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);

  INVRG_CALL(find_source(ck, true));
  if (ck->source >= 0)
    invrg_log(INVRG_LOG_INFO, "continuing from checkpoint %s (stage %s, restart %d)", ck->path,
              ck->source_stage, ck->restarts);
  ck->progressed = ck->source < 0; /* a fresh run has nothing to repeat */
cleanup:
  if (err != INVRG_SUCCESS) invrg_checkpoint_destroy(&ck);
  *out = ck;
  return err;
}

invrg_err invrg_checkpoint_check(const invrg_config *cfg, MPI_Comm world) {
  invrg_err err = INVRG_SUCCESS;
  invrg_checkpoint *ck = NULL;
  INVRG_CALL(checkpoint_new(cfg, world, &ck));
  INVRG_CALL(find_source(ck, false));
  if (ck->source >= 0)
    invrg_log(INVRG_LOG_INFO, "the run would continue from checkpoint %s (stage %s, restart %d)",
              ck->path, ck->source_stage, ck->restarts);
cleanup:
  invrg_checkpoint_destroy(&ck);
  return err;
}

void invrg_checkpoint_destroy(invrg_checkpoint **ckp) {
  invrg_checkpoint *ck = *ckp;
  if (ck == NULL) return;
  /* A collective still in flight cannot be freed (MPI forbids it); this only happens when the
   * run ends with an error, and MPI_Finalize or MPI_Abort follows. */
  if (ck->end_comm != MPI_COMM_NULL && ck->end_request == MPI_REQUEST_NULL)
    MPI_Comm_free(&ck->end_comm);
  invrg_h5_close(&ck->writing_root);
  invrg_h5_close(&ck->writing);
  invrg_h5_close(&ck->source_state);
  invrg_h5_close(&ck->source);
  free(ck->fingerprint);
  free(ck);
  *ckp = NULL;
}

bool invrg_checkpoint_resuming(const invrg_checkpoint *ck) { return ck != NULL && ck->source >= 0; }

const char *invrg_checkpoint_source_path(const invrg_checkpoint *ck) { return ck->path; }

int invrg_checkpoint_restarts(const invrg_checkpoint *ck) { return ck->restarts; }

int invrg_checkpoint_stages_done(const invrg_checkpoint *ck) {
  return ck != NULL && ck->source >= 0 ? ck->source_stage_index : 0;
}

void invrg_checkpoint_enter_stage(invrg_checkpoint *ck, int index, const char *name,
                                  invrg_runfile *rf) {
  ck->stage_index = index;
  snprintf(ck->stage, sizeof ck->stage, "%s", name);
  ck->rf = rf;
}

hid_t invrg_checkpoint_state(const invrg_checkpoint *ck) {
  if (ck == NULL || ck->source < 0 || ck->stage_index != ck->source_stage_index) return -1;
  return ck->source_state;
}

/* ------------------------------------------------------------------ deciding */

/* World rank 0: is it time? Stop triggers beat the periodic one, which @p stops_only leaves
 * out. */
static int evaluate_triggers(invrg_checkpoint *ck, bool in_loop, bool stops_only) {
  const invrg_config_checkpoint *c = &ck->cfg->checkpoint;
  double now = MPI_Wtime();
  if (in_loop) ck->polls++;
  if (stop_signal != 0) {
    invrg_log(INVRG_LOG_INFO, "checkpoint: signal %d received", (int)stop_signal);
    stop_signal = 0;
    return INVRG_CKPT_STOP;
  }
  if (c->max_walltime_minutes > 0 && now - ck->t_start >= 60 * c->max_walltime_minutes) {
    invrg_log(INVRG_LOG_INFO, "checkpoint: max_walltime_minutes = %g reached",
              c->max_walltime_minutes);
    return INVRG_CKPT_STOP;
  }
  if (c->stop_file[0] != '\0' && now >= ck->t_next_stop_file) {
    ck->t_next_stop_file = now + 1.0; /* a stat() per second is plenty */
    if (invrg_file_exists(c->stop_file)) {
      invrg_log(INVRG_LOG_INFO, "checkpoint: stop file %s found (removed)", c->stop_file);
      unlink(c->stop_file);
      return INVRG_CKPT_STOP;
    }
  }
  if (in_loop && ck->stop_after_polls > 0 && ck->polls == ck->stop_after_polls)
    return INVRG_CKPT_STOP;
  if (stops_only) return INVRG_CKPT_NONE;
  if (in_loop && ck->every_polls > 0 && ck->polls % ck->every_polls == 0) return INVRG_CKPT_CONTINUE;
  /* The periodic trigger waits at least as long as the last write took, so a short interval
   * never spends more than half the run writing checkpoints. */
  const double wait = fmax(60 * c->interval_minutes, ck->write_seconds);
  if (c->interval_minutes > 0 && now - ck->t_last >= wait) return INVRG_CKPT_CONTINUE;
  return INVRG_CKPT_NONE;
}

invrg_err invrg_checkpoint_poll(invrg_checkpoint *ck, MPI_Comm group_comm, invrg_ckpt_decision *d) {
  invrg_err err = INVRG_SUCCESS;
  int flag = 0, group_size = 1;
  *d = INVRG_CKPT_NONE;
  if (ck == NULL) goto cleanup; /* a stage run without checkpoints (tests) */
  ck->local_polls++;
  ck->progressed = true; /* a safe point follows work */
  INVRG_CHECK(ck->rank != ck->fail_rank || ck->local_polls != ck->fail_after_polls,
              INVRG_ERR_RUNTIME, "injected failure at safe point %ld (INVRG_TEST_FAIL_AFTER_POLLS)",
              ck->local_polls);
  if (ck->rank == 0 && !ck->posted) {
    int decision = evaluate_triggers(ck, true, false);
    if (decision != INVRG_CKPT_NONE) {
      ck->decision = decision;
      INVRG_MPI_CALL(MPI_Ibcast(&ck->decision, 1, MPI_INT, 0, ck->world, &ck->request));
      ck->posted = true;
    }
  } else if (ck->rank != 0 && !ck->posted) {
    INVRG_MPI_CALL(MPI_Ibcast(&ck->decision, 1, MPI_INT, 0, ck->world, &ck->request));
    ck->posted = true;
  }
  if (ck->posted && ck->request != MPI_REQUEST_NULL)
    INVRG_MPI_CALL(MPI_Test(&ck->request, &flag, MPI_STATUS_IGNORE));
  /* A decision of NONE (rank 0 reached its end of loop) closes polling until the sync. */
  int answer = ck->posted && ck->request == MPI_REQUEST_NULL ? ck->decision : INVRG_CKPT_NONE;
  INVRG_MPI_CALL(MPI_Comm_size(group_comm, &group_size));
  if (group_size > 1) /* the ranks of a lattice stop at the same sample */
    INVRG_MPI_CALL(MPI_Bcast(&answer, 1, MPI_INT, 0, group_comm));
  if (answer != INVRG_CKPT_NONE && ck->request != MPI_REQUEST_NULL)
    INVRG_MPI_CALL(MPI_Wait(&ck->request, MPI_STATUS_IGNORE));
  if (answer != INVRG_CKPT_NONE) ck->posted = false; /* the next decision is a new broadcast */
  *d = (invrg_ckpt_decision)answer;
cleanup:
  return err;
}

invrg_err invrg_checkpoint_sync(invrg_checkpoint *ck, invrg_ckpt_decision *d) {
  invrg_err err = INVRG_SUCCESS;
  *d = INVRG_CKPT_NONE;
  if (ck == NULL) goto cleanup;
  if (!ck->ending) { /* "this rank is at the end of the loop" */
    INVRG_MPI_CALL(MPI_Ibarrier(ck->end_comm, &ck->end_request));
    ck->ending = true;
  }
  if (ck->rank == 0 && !ck->posted) {
    /* Rank 0 may finish long before the others (fewer items): it keeps watching the triggers
     * until every rank has reached the end, so a signal, the wall-time budget or the stop file
     * still stop the run. Once every rank is here only a stop is decided (a periodic
     * checkpoint here, asked again after each one, would never end when a write takes longer
     * than the interval: it waits for the next safe point); a stop that would repeat the
     * checkpoint a run resumed from is not honoured (invrg_checkpoint_end). */
    /* Pauses from 10 µs, doubling up to 2 ms: a short wait (the others nearly done, as at the
     * end of most windows) costs little more than itself, a long one leaves the others the
     * cores. */
    long pause_ns = 10000;
    for (;;) {
      int all_here = 0;
      if (ck->all_at_end) INVRG_MPI_CALL(MPI_Wait(&ck->end_request, MPI_STATUS_IGNORE));
      INVRG_MPI_CALL(MPI_Test(&ck->end_request, &all_here, MPI_STATUS_IGNORE));
      const int decision =
          ck->all_at_end ? INVRG_CKPT_NONE : evaluate_triggers(ck, false, all_here);
      if (decision != INVRG_CKPT_NONE || all_here) {
        ck->decision = decision;
        break;
      }
      const struct timespec pause = {0, pause_ns};
      nanosleep(&pause, NULL);
      pause_ns = pause_ns < 1000000 ? 2 * pause_ns : 2000000;
    }
    INVRG_MPI_CALL(MPI_Ibcast(&ck->decision, 1, MPI_INT, 0, ck->world, &ck->request));
    ck->posted = true;
  } else if (!ck->posted) {
    INVRG_MPI_CALL(MPI_Ibcast(&ck->decision, 1, MPI_INT, 0, ck->world, &ck->request));
    ck->posted = true;
  }
  if (ck->request != MPI_REQUEST_NULL) INVRG_MPI_CALL(MPI_Wait(&ck->request, MPI_STATUS_IGNORE));
  ck->posted = false;
  *d = (invrg_ckpt_decision)ck->decision;
  if (*d == INVRG_CKPT_NONE) { /* everyone is here: the barrier completes at once */
    INVRG_MPI_CALL(MPI_Wait(&ck->end_request, MPI_STATUS_IGNORE));
    ck->ending = false;
    ck->all_at_end = false;
    ck->progressed = true; /* the loop is over: what follows is new work */
  }
cleanup:
  return err;
}

/* ------------------------------------------------------------------ writing */

invrg_err invrg_checkpoint_begin(invrg_checkpoint *ck, hid_t *state) {
  invrg_err err = INVRG_SUCCESS;
  *state = -1;
  INVRG_CHECK(ck->rf != NULL, INVRG_ERR_RUNTIME, "checkpoint outside a stage");
  ck->t_begin = MPI_Wtime();
  /* The run file so far, made consistent on disk, is the base of the checkpoint. */
  INVRG_CALL(invrg_h5_flush_file(ck->rf->file, ck->rf->tmp_path));
  INVRG_MPI_CALL(MPI_Barrier(ck->world));
  invrg_err copied = ck->rank == 0 ? invrg_file_copy(ck->rf->tmp_path, ck->tmp_path) : INVRG_SUCCESS;
  INVRG_CALL(invrg_error_agree(copied, ck->world));
  INVRG_CALL(invrg_h5_open_parallel(ck->tmp_path, true, ck->world, &ck->writing));
  INVRG_CALL(invrg_h5_create_group(ck->writing, "checkpoint", &ck->writing_root));
  INVRG_CALL(invrg_h5_attr_string(ck->writing_root, "fingerprint", ck->fingerprint));
  INVRG_CALL(invrg_h5_attr_string(ck->writing_root, "stage", ck->stage));
  int64_t index = ck->stage_index, restarts = ck->restarts;
  INVRG_CALL(invrg_h5_attr_int64(ck->writing_root, "stage_index", &index, 1, true));
  INVRG_CALL(invrg_h5_attr_int64(ck->writing_root, "restarts", &restarts, 1, true));
  INVRG_CALL(invrg_h5_attr_string(ck->writing_root, "git_hash", INVRG_GIT_HASH));
  int64_t layout = CHECKPOINT_LAYOUT;
  INVRG_CALL(invrg_h5_attr_int64(ck->writing_root, "layout", &layout, 1, true));
  INVRG_CALL(invrg_runfile_save_times(ck->rf, ck->writing_root)); /* for the runs after */
  INVRG_CALL(invrg_h5_create_group(ck->writing_root, ck->stage, state));
cleanup:
  return err;
}

invrg_err invrg_checkpoint_end(invrg_checkpoint *ck, hid_t *state, invrg_ckpt_decision d) {
  invrg_err err = INVRG_SUCCESS;
  invrg_h5_close(state);
  invrg_h5_close(&ck->writing_root);
  hid_t file = ck->writing;
  ck->writing = -1;
  INVRG_CALL(invrg_h5_close_file(&file, ck->tmp_path));
  invrg_err local = INVRG_SUCCESS;
  if (ck->rank == 0) {
    local = invrg_h5_check_written(ck->tmp_path, INVRG_FORMAT_VERSION_MAJOR);
    if (local == INVRG_SUCCESS) local = invrg_file_sync(ck->tmp_path);
    /* <output>.ckpt exists at every moment: the previous one is kept by a second name (a hard
     * link) before the new one replaces it in one rename. */
    if (local == INVRG_SUCCESS && ck->cfg->checkpoint.keep_previous && invrg_file_exists(ck->path)) {
      unlink(ck->prev_path);
      if (link(ck->path, ck->prev_path) != 0) /* no hard links here: a copy then */
        local = invrg_file_copy(ck->path, ck->prev_path);
    }
    if (local == INVRG_SUCCESS) local = invrg_file_rename(ck->tmp_path, ck->path);
  }
  INVRG_CALL(invrg_error_agree(local, ck->world));
  ck->t_last = MPI_Wtime();
  ck->write_seconds = ck->t_last - ck->t_begin;
  ck->written++;
  bool stop = d == INVRG_CKPT_STOP;
  if (stop) {
    /* A run that resumed and did nothing since (every rank went straight to the end of its
     * loop) would stop in the state it started from, and so would every run after it: it goes
     * on instead; every rank is at the end of its loop, which now ends. */
    int any = ck->progressed;
    INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_LOR, ck->world));
    stop = any;
    ck->all_at_end = !any;
  }
  invrg_log(INVRG_LOG_INFO, "checkpoint %d written: %s (stage %s)%s", ck->written, ck->path,
            ck->stage,
            stop ? "; stopping: run the same input again to continue"
            : d == INVRG_CKPT_STOP ? "; not stopping: nothing was done since this run resumed"
                                   : "");
  if (stop) err = INVRG_STOPPED;
cleanup:
  return err;
}

void invrg_checkpoint_discard(const invrg_checkpoint *ck) {
  if (ck != NULL) unlink(ck->tmp_path);
}

invrg_err invrg_checkpoint_remove(invrg_checkpoint *ck) {
  invrg_err err = INVRG_SUCCESS;
  invrg_h5_close(&ck->source_state);
  invrg_h5_close(&ck->source);
  INVRG_MPI_CALL(MPI_Barrier(ck->world));
  if (ck->rank == 0) {
    unlink(ck->path);
    unlink(ck->prev_path);
    unlink(ck->tmp_path);
    const char *stop_file = ck->cfg->checkpoint.stop_file;
    if (stop_file[0] != '\0' && invrg_file_exists(stop_file)) {
      invrg_log(INVRG_LOG_INFO, "checkpoint: stop file %s found after the last safe point "
                "(removed: the run is complete)", stop_file);
      unlink(stop_file);
    }
  }
cleanup:
  return err;
}
