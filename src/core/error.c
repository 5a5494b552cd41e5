/* Error context: one message per process plus a traceback of INVRG_CALL frames. */
#include "invrg/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/log.h"

static char error_message[1024];
static char error_traceback[2048];
static bool error_reported;

/* Frames name __FILE__ as the compiler gives it: relative to the project's root
 * (-fmacro-prefix-map in CMakeLists.txt), whatever directory holds the tree. */
invrg_err invrg_error_set(invrg_err code, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(error_message, sizeof error_message, fmt, ap);
  va_end(ap);
  snprintf(error_traceback, sizeof error_traceback, "  at %s:%d\n", file, line);
  error_reported = false;
  return code;
}

void invrg_error_trace(const char *file, int line) {
  size_t used = strlen(error_traceback);
  if (used + 1 < sizeof error_traceback)
    snprintf(error_traceback + used, sizeof error_traceback - used, "  from %s:%d\n",
             file, line);
}

const char *invrg_error_message(void) { return error_message; }

const char *invrg_error_traceback(void) { return error_traceback; }

void invrg_error_mark_reported(void) { error_reported = true; }

bool invrg_error_was_reported(void) { return error_reported; }

void invrg_error_clear(void) {
  error_message[0] = '\0';
  error_traceback[0] = '\0';
  error_reported = false;
}

void invrg_error_print_local(int rank) {
  fflush(stdout);
  char line[sizeof error_message + 32];
  snprintf(line, sizeof line, "[rank %d] error: %s\n", rank,
           error_message[0] ? error_message : "(no message)");
  fputs(line, stderr);
  invrg_log_copy(line); /* rank 0's: into the log file too */
  if (invrg_log_get_level() >= INVRG_LOG_DEBUG) fputs(error_traceback, stderr);
  fflush(stderr);
}

invrg_err invrg_error_agree(invrg_err local, MPI_Comm comm) {
  /* Severity order: success < stopped < input < runtime. */
  static const int severity[] = {[INVRG_SUCCESS] = 0, [INVRG_STOPPED] = 1,
                                 [INVRG_ERR_INPUT] = 2, [INVRG_ERR_RUNTIME] = 3};
  static const invrg_err by_severity[] = {INVRG_SUCCESS, INVRG_STOPPED, INVRG_ERR_INPUT,
                                          INVRG_ERR_RUNTIME};
  int mine = severity[local], worst = mine;
  if (MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS) {
    /* If even the agreement fails, no rank can be trusted to stop the others. */
    fprintf(stderr, "error: MPI_Allreduce failed while agreeing on an error; aborting\n");
    MPI_Abort(MPI_COMM_WORLD, INVRG_ERR_RUNTIME);
  }
  if (worst > mine && worst > 1) {
    invrg_error_set(by_severity[worst], __FILE__, __LINE__, "failure on another rank");
    invrg_error_mark_reported();
  }
  return by_severity[worst];
}

const char *invrg_error_mpi_string(int mpi_code, char *buf, int buflen) {
  int len = 0;
  if (buflen < MPI_MAX_ERROR_STRING || MPI_Error_string(mpi_code, buf, &len) != MPI_SUCCESS)
    snprintf(buf, (size_t)buflen, "MPI error code %d", mpi_code);
  return buf;
}

void invrg_error_assert_failed(const char *cond, const char *file, int line) {
  int rank = 0, initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  fflush(stdout);
  fprintf(stderr, "[rank %d] internal error: assertion '%s' failed at %s:%d\n", rank, cond,
          file, line);
  fflush(stderr);
  if (initialized) MPI_Abort(MPI_COMM_WORLD, INVRG_ERR_RUNTIME);
  abort();
}
