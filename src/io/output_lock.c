/* One run per output: <output>.lock (output_lock.h). */
#include "invrg/output_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "invrg/log.h"
#include "invrg/run_paths.h"
#include "invrg/watchdog.h"

struct invrg_output_lock {
  char path[INVRG_PATH_LEN + 8];
};

/* The lock this run holds, known on every rank: whichever rank has to abort the run removes
 * it (the others die with it). Empty while no lock is held. */
static char held_path[INVRG_PATH_LEN + 8];

/* What a lock file says about the run that holds it. */
typedef struct {
  char host[256];
  long pid;
  char started[64];
  char slurm_job[64];
} holder;

static void lock_path(const char *output, char *buf, size_t len) {
  invrg_run_path_of(output, INVRG_PATH_LOCK, buf, len);
}

static void this_host(char *buf, size_t len) {
  if (gethostname(buf, len) != 0) snprintf(buf, len, "unknown");
  buf[len - 1] = '\0';
}

/* Copies a value of the lock file, cut to the field's size. */
static void copy_field(char *field, size_t size, const char *value) {
  snprintf(field, size, "%.*s", (int)(size - 1), value);
}

/* Reads "key=value" lines; false if the file is unreadable or says nothing usable. */
static bool read_holder(const char *path, holder *h) {
  memset(h, 0, sizeof *h);
  FILE *f = fopen(path, "r");
  if (f == NULL) return false;
  char line[512];
  while (fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(line, "host=", 5) == 0) copy_field(h->host, sizeof h->host, line + 5);
    if (strncmp(line, "pid=", 4) == 0) h->pid = strtol(line + 4, NULL, 10);
    if (strncmp(line, "started=", 8) == 0) copy_field(h->started, sizeof h->started, line + 8);
    if (strncmp(line, "slurm_job=", 10) == 0)
      copy_field(h->slurm_job, sizeof h->slurm_job, line + 10);
  }
  fclose(f);
  return h->host[0] != '\0' && h->pid > 0;
}

/* Is process @p pid of this host running? A killed process stays a zombie until its parent
 * reaps it (a killed rank whose launcher was killed too): that is not running. */
static bool process_runs(long pid) {
  if (kill((pid_t)pid, 0) != 0 && errno == ESRCH) return false;
  char path[64], stat[512];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return true; /* no /proc: kill() said it exists */
  size_t n = fread(stat, 1, sizeof stat - 1, f);
  fclose(f);
  stat[n] = '\0';
  const char *after_name = strrchr(stat, ')'); /* "pid (name) S ..." */
  return after_name == NULL || !(after_name[1] == ' ' && (after_name[2] == 'Z' || after_name[2] == 'X'));
}

static bool same_host(const holder *h) {
  char host[256];
  this_host(host, sizeof host);
  return strcmp(host, h->host) == 0;
}

/* A holder on this host whose process no longer runs. */
static bool is_stale(const holder *h) { return same_host(h) && !process_runs(h->pid); }

static void describe(const holder *h, char *buf, size_t len) {
  snprintf(buf, len, "pid %ld on host %s, started %s%s%s", h->pid, h->host,
           h->started[0] ? h->started : "?", h->slurm_job[0] ? ", SLURM job " : "",
           h->slurm_job);
}

/* The input error for a lock held by another run (live, or on a host we cannot ask). */
static invrg_err refuse(const invrg_config *cfg, const char *path, const holder *h, bool readable) {
  char who[512];
  if (!readable)
    return invrg_config_input_error(cfg, "run", "output",
                                    "output '%s' is locked by '%s', which cannot be read; if no "
                                    "run is writing this output, delete the lock",
                                    cfg->run.output, path);
  describe(h, who, sizeof who);
  char host[256];
  this_host(host, sizeof host);
  if (strcmp(host, h->host) == 0)
    return invrg_config_input_error(cfg, "run", "output",
                                    "output '%s' is in use by another run (%s); wait for it to "
                                    "end or choose another output",
                                    cfg->run.output, who);
  return invrg_config_input_error(cfg, "run", "output",
                                  "output '%s' is locked by a run on another host (%s); if that "
                                  "run is over (e.g. it was killed), delete '%s'",
                                  cfg->run.output, who, path);
}

invrg_err invrg_output_lock_check(const invrg_config *cfg) {
  char path[INVRG_PATH_LEN + 8], who[512];
  lock_path(cfg->run.output, path, sizeof path);
  if (access(path, F_OK) != 0) return INVRG_SUCCESS;
  holder h;
  const bool readable = read_holder(path, &h);
  if (readable && is_stale(&h)) {
    describe(&h, who, sizeof who);
    invrg_config_input_warning(cfg, "run", "output",
                               "'%s' is a stale lock (%s, no longer running): the run will "
                               "take it over", path, who);
    return INVRG_SUCCESS;
  }
  return refuse(cfg, path, &h, readable);
}

/* Creates the lock file with O_EXCL; EEXIST is left for the caller to judge. */
static int create_lock(const char *path, const invrg_config *cfg) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return errno;
  char host[256], started[64], text[2048];
  this_host(host, sizeof host);
  time_t now = time(NULL);
  struct tm utc;
  gmtime_r(&now, &utc);
  strftime(started, sizeof started, "%Y-%m-%dT%H:%M:%SZ", &utc);
  const char *job = getenv("SLURM_JOB_ID");
  int n = snprintf(text, sizeof text,
                   "invrg run lock: this output is being written; removed when the run ends\n"
                   "host=%s\npid=%ld\nstarted=%s\nslurm_job=%s\ninput=%s\n",
                   host, (long)getpid(), started, job != NULL ? job : "", cfg->input_path);
  const bool ok = n > 0 && write(fd, text, (size_t)n) == (ssize_t)n;
  const int saved = errno;
  close(fd);
  if (!ok) {
    unlink(path);
    return saved != 0 ? saved : EIO;
  }
  return 0;
}

static bool same_holder(const holder *a, const holder *b) {
  return a->pid == b->pid && strcmp(a->host, b->host) == 0 && strcmp(a->started, b->started) == 0;
}

/*
 * Removes the stale lock that @p stale describes. Two runs may judge the same stale lock at
 * once: removing it by name could delete the lock the other has just made. So it is moved to a
 * name of this process's own (rename is atomic: one run wins), and if what was moved is not the
 * stale holder's any more it is put back. False if another run got there first.
 */
static bool remove_stale(const char *path, const holder *stale) {
  char mine[INVRG_PATH_LEN + 320], host[256];
  this_host(host, sizeof host);
  snprintf(mine, sizeof mine, "%s.stale-%s-%ld", path, host, (long)getpid());
  if (rename(path, mine) != 0) return false;
  holder moved;
  const bool readable = read_holder(mine, &moved);
  if (!readable || !same_holder(&moved, stale)) {
    if (link(mine, path) != 0) { /* a third run locked meanwhile: theirs stays */ }
    unlink(mine);
    return false;
  }
  unlink(mine);
  return true;
}

/* Rank 0's part: take the lock, or say why not. */
static invrg_err acquire_on_root(const invrg_config *cfg, invrg_output_lock *lock) {
  invrg_err err = INVRG_SUCCESS;
  char who[512];
  int rc = create_lock(lock->path, cfg);
  if (rc == EEXIST) {
    holder h;
    const bool readable = read_holder(lock->path, &h);
    if (!(readable && is_stale(&h))) {
      err = refuse(cfg, lock->path, &h, readable);
      goto cleanup;
    }
    describe(&h, who, sizeof who);
    if (remove_stale(lock->path, &h))
      invrg_log(INVRG_LOG_WARN, "took over the stale lock '%s' of a run that ended without "
                "removing it (%s)", lock->path, who);
    rc = create_lock(lock->path, cfg); /* EEXIST: another run was quicker */
    if (rc == EEXIST) {
      err = invrg_config_input_error(cfg, "run", "output",
                                     "output '%s' was just locked by another run",
                                     cfg->run.output);
      goto cleanup;
    }
  }
  INVRG_CHECK(rc == 0, INVRG_ERR_RUNTIME, "cannot write the lock '%s' of &run output: %s",
              lock->path, strerror(rc));
cleanup:
  if (err != INVRG_SUCCESS) lock->path[0] = '\0'; /* not ours: never remove it */
  return err;
}

invrg_err invrg_output_lock_acquire(const invrg_config *cfg, MPI_Comm comm,
                                    invrg_output_lock **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_output_lock *lock = NULL;
  int rank;
  *out = NULL;
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  invrg_err local = INVRG_SUCCESS;
  if (rank == 0) {
    lock = calloc(1, sizeof *lock);
    if (lock == NULL) {
      local = invrg_error_set(INVRG_ERR_RUNTIME, __FILE__, __LINE__, "out of memory");
    } else {
      lock_path(cfg->run.output, lock->path, sizeof lock->path);
      local = acquire_on_root(cfg, lock);
    }
  }
  INVRG_CALL(invrg_error_agree(local, comm));
  lock_path(cfg->run.output, held_path, sizeof held_path);
  invrg_watchdog_remove_on_alarm(held_path); /* a hung write ends the run: no lock left */
  *out = lock;
  lock = NULL;
cleanup:
  free(lock); /* a lock not taken: its path is empty, nothing to remove */
  return err;
}

void invrg_output_lock_release(invrg_output_lock **lock) {
  invrg_watchdog_remove_on_alarm(NULL);
  held_path[0] = '\0';
  if (*lock == NULL) return;
  if ((*lock)->path[0] != '\0') unlink((*lock)->path);
  free(*lock);
  *lock = NULL;
}

void invrg_output_lock_remove_held(void) {
  if (held_path[0] != '\0') unlink(held_path);
}
