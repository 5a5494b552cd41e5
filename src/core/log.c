/* Leveled logging: rank 0 speaks for the run, any rank may report a local problem. Rank 0's
 * lines of a run are time-stamped, copied to the log file and kept for the run file. */
#include "invrg/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "invrg/text.h"

static int log_rank = 0;
static invrg_log_level log_level = INVRG_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* The log of a run (rank 0): started by invrg_log_begin_run(). */
static struct {
  struct timespec t0; /* the start of this process: time stamps count from it */
  bool running;       /* lines are time-stamped and kept */
  FILE *file;         /* the log file, or NULL */
  char path[1100];    /* its name, for the warning if writing it fails */
  char *text;         /* what the run file keeps: earlier runs' log, then this run's lines */
  size_t len, cap;
  bool full;          /* memory ran out: the kept text stops there */
} run;

void invrg_log_init(int world_rank) {
  log_rank = world_rank;
  clock_gettime(CLOCK_MONOTONIC, &run.t0);
  setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines must reach a SLURM log promptly */
}

void invrg_log_set_level(invrg_log_level level) { log_level = level; }

invrg_log_level invrg_log_get_level(void) { return log_level; }

bool invrg_log_is_root(void) { return log_rank == 0; }

bool invrg_log_level_from_name(const char *name, invrg_log_level *level) {
  for (int i = 0; i <= INVRG_LOG_DEBUG; i++)
    if (invrg_text_ieq(name, level_names[i])) {
      *level = (invrg_log_level)i;
      return true;
    }
  return false;
}

double invrg_log_elapsed(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - run.t0.tv_sec) + 1e-9 * (double)(now.tv_nsec - run.t0.tv_nsec);
}

void invrg_log_stamp(char *buf, size_t size, double seconds) {
  long s = seconds > 0 ? (long)seconds : 0;
  snprintf(buf, size, "[%02ld:%02ld:%02ld]", s / 3600, s / 60 % 60, s % 60);
}

/* Appends @p n bytes to the kept text; on a failed allocation keeping stops (the log goes on). */
static void keep(const char *s, size_t n) {
  if (run.full) return;
  if (run.len + n + 1 > run.cap) {
    size_t cap = run.cap > 0 ? run.cap : 4096;
    while (run.len + n + 1 > cap) cap *= 2;
    char *grown = realloc(run.text, cap);
    if (grown == NULL) {
      run.full = true;
      return;
    }
    run.text = grown;
    run.cap = cap;
  }
  memcpy(run.text + run.len, s, n);
  run.len += n;
  run.text[run.len] = '\0';
}

/* A write to the log file failed (a full disk, /dev/full): said once on stderr, and the file
 * is given up; the log goes on to stdout and into the run file. */
static void log_file_failed(void) {
  const int e = errno;
  fclose(run.file);
  run.file = NULL;
  fflush(stdout);
  fprintf(stderr, "warn: writing the log file %s failed (%s): the log goes on to stdout and "
          "into the run file (/run/log) only\n", run.path, strerror(e));
  fflush(stderr);
}

/* Text of rank 0's log during a run: into the file and the kept text. */
static void record(const char *line, size_t n) {
  if (!run.running || log_rank != 0) return;
  if (run.file != NULL && (fwrite(line, 1, n, run.file) != n || ferror(run.file)))
    log_file_failed();
  keep(line, n);
}

static void emit(invrg_log_level level, const char *prefix, const char *fmt, va_list ap) {
  FILE *out = level <= INVRG_LOG_WARN ? stderr : stdout;
  char head[96] = "", small[1024], *body = small;
  if (run.running) {
    invrg_log_stamp(head, sizeof head - 2, invrg_log_elapsed());
    strcat(head, " ");
  }
  const size_t used = strlen(head);
  snprintf(head + used, sizeof head - used, "%s%s%s", prefix,
           level <= INVRG_LOG_WARN ? level_names[level] : "", level <= INVRG_LOG_WARN ? ": " : "");
  va_list copy;
  va_copy(copy, ap);
  const int n = vsnprintf(small, sizeof small, fmt, copy);
  va_end(copy);
  if (n >= (int)sizeof small) { /* a long line; without the memory for it, its start */
    char *whole = malloc((size_t)n + 1);
    if (whole != NULL) vsnprintf(body = whole, (size_t)n + 1, fmt, ap);
  }
  if (level <= INVRG_LOG_WARN) fflush(stdout); /* keep the two streams in order on a terminal */
  fprintf(out, "%s%s\n", head, body);
  if (level <= INVRG_LOG_WARN) fflush(out);
  record(head, strlen(head));
  record(body, strlen(body));
  record("\n", 1);
  if (body != small) free(body);
}

void invrg_log(invrg_log_level level, const char *fmt, ...) {
  if (log_rank != 0 || level > log_level) return;
  va_list ap;
  va_start(ap, fmt);
  emit(level, "", fmt, ap);
  va_end(ap);
}

void invrg_log_local(invrg_log_level level, const char *fmt, ...) {
  if (level > log_level) return;
  char prefix[32];
  snprintf(prefix, sizeof prefix, "[rank %d] ", log_rank);
  va_list ap;
  va_start(ap, fmt);
  emit(level, prefix, fmt, ap);
  va_end(ap);
}

void invrg_log_lines(invrg_log_level level, const char *text) {
  while (*text != '\0') {
    const size_t n = strcspn(text, "\n");
    invrg_log(level, "%.*s", (int)n, text);
    text += n + (text[n] == '\n');
  }
}

void invrg_log_copy(const char *text) {
  if (!run.running || log_rank != 0) return;
  char stamp[32];
  invrg_log_stamp(stamp, sizeof stamp, invrg_log_elapsed());
  while (*text != '\0') { /* one stamp per line, as for the lines printed through the log */
    const size_t n = strcspn(text, "\n");
    record(stamp, strlen(stamp));
    record(" ", 1);
    record(text, n);
    record("\n", 1);
    text += n + (text[n] == '\n');
  }
  if (run.file != NULL && (fflush(run.file) != 0 || ferror(run.file))) log_file_failed();
}

/* ------------------------------------------------------------------ the log of a run */

void invrg_log_begin_run(void) { run.running = true; }

bool invrg_log_open_file(const char *path, bool append) {
  if (log_rank != 0 || !run.running) return true;
  invrg_log_close_file();
  run.file = fopen(path, append ? "a" : "w");
  if (run.file == NULL) return false;
  snprintf(run.path, sizeof run.path, "%s", path);
  setvbuf(run.file, NULL, _IOLBF, 0); /* what a killed run printed is in the file */
  /* This process's lines so far: the kept text ends with them (earlier runs' come first and
   * are in the file already when it continues one). */
  if (run.len > 0) fwrite(run.text, 1, run.len, run.file);
  if (fflush(run.file) != 0 || ferror(run.file)) log_file_failed();
  return true;
}

void invrg_log_close_file(void) {
  if (run.file != NULL) fclose(run.file);
  run.file = NULL;
}

bool invrg_log_prepend(const char *earlier) {
  if (log_rank != 0 || earlier == NULL || *earlier == '\0') return true;
  const size_t n = strlen(earlier);
  char *text = malloc(n + run.len + 1);
  if (text == NULL) return false;
  memcpy(text, earlier, n);
  if (run.len > 0) memcpy(text + n, run.text, run.len);
  text[n + run.len] = '\0';
  free(run.text);
  run.text = text;
  run.len += n;
  run.cap = run.len + 1;
  return true;
}

const char *invrg_log_text(void) { return run.text != NULL ? run.text : ""; }

void invrg_log_end_run(void) {
  invrg_log_close_file();
  free(run.text);
  run.text = NULL;
  run.len = run.cap = 0;
  run.running = run.full = false;
}
