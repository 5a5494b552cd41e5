/* A SIGALRM time limit around calls that may hang after a failed write (watchdog.h). */
#include "invrg/watchdog.h"

#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Prepared when armed: the handler may only call async-signal-safe functions. */
static char message[1536];
static size_t message_len;
static char partial_path[1024];
static glob_t partial_locks; /* Open MPI's lock files of it, found when armed */
static char run_lock_path[1100]; /* the run's output lock (output_lock.h), or "" */

static void on_alarm(int sig) {
  (void)sig;
  if (partial_path[0] != '\0') unlink(partial_path);
  for (size_t k = 0; k < partial_locks.gl_pathc; k++) unlink(partial_locks.gl_pathv[k]);
  if (run_lock_path[0] != '\0') unlink(run_lock_path);
  ssize_t ignored = write(STDERR_FILENO, message, message_len);
  (void)ignored;
  _exit(1);
}

void invrg_watchdog_arm(const char *what, unsigned seconds, const char *partial) {
  const char *env = getenv("INVRG_WATCHDOG_SECONDS");
  if (env != NULL && atoi(env) > 0) seconds = (unsigned)atoi(env);
  int n = snprintf(message, sizeof message,
                   "invrg: error: %s did not finish within %u s: parallel HDF5 hangs when a write "
                   "failed on some ranks (is the disk full?); giving up\n",
                   what, seconds);
  snprintf(partial_path, sizeof partial_path, "%s", partial != NULL ? partial : "");
  globfree(&partial_locks);
  memset(&partial_locks, 0, sizeof partial_locks);
  if (partial != NULL) {
    char pattern[1100];
    snprintf(pattern, sizeof pattern, "%s-*.lock", partial);
    if (glob(pattern, 0, NULL, &partial_locks) != 0) memset(&partial_locks, 0, sizeof partial_locks);
  }
  message_len = n < 0 ? 0 : (size_t)n < sizeof message ? (size_t)n : sizeof message - 1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  alarm(seconds);
}

void invrg_watchdog_disarm(void) { alarm(0); }

void invrg_watchdog_remove_on_alarm(const char *path) {
  snprintf(run_lock_path, sizeof run_lock_path, "%s", path != NULL ? path : "");
}
