/**
 * @file error.h
 * Error codes, the error context, and the propagation macros.
 *
 * A function that can fail returns an ::invrg_err and has a single exit:
 *
 *     invrg_err f(void) {
 *       invrg_err err = INVRG_SUCCESS;
 *       INVRG_CHECK(n > 0, INVRG_ERR_INPUT, "n must be positive, got %d", n);
 *       INVRG_CALL(g());
 *     cleanup:
 *       free(buffer);
 *       return err;
 *     }
 *
 * The first failure records a message; every INVRG_CALL on the way up adds a
 * "from file:line" frame, so the log shows where it started and how it got out.
 * The codes are the process exit statuses. Library code never calls exit().
 */
#ifndef INVRG_ERROR_H
#define INVRG_ERROR_H

#include <mpi.h>
#include <stdarg.h>
#include <stdbool.h>

/** Error codes; each is also the exit status of the program. */
typedef enum {
  INVRG_SUCCESS = 0,     /**< all well */
  INVRG_ERR_RUNTIME = 1, /**< anything else: MPI, HDF5, disk, memory, a bug */
  INVRG_ERR_INPUT = 2,   /**< bad input file, bad option or impossible request */
  INVRG_STOPPED = 3      /**< stopped early after writing a checkpoint (reserved) */
} invrg_err;

/** Records a new error (clears any earlier one). Not collective. Returns @p code. */
invrg_err invrg_error_set(invrg_err code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Adds a traceback frame to the current error. Not collective. */
void invrg_error_trace(const char *file, int line);

/** The message of the current error ("" if none). */
const char *invrg_error_message(void);

/** The traceback of the current error, one "  from file:line" per line. */
const char *invrg_error_traceback(void);

/**
 * Marks the current error as already shown to the user (input diagnostics,
 * or a failure reported by another rank), so main() does not print it again.
 */
void invrg_error_mark_reported(void);

/** True if the current error was already shown (see invrg_error_mark_reported). */
bool invrg_error_was_reported(void);

/** Forgets the current error. */
void invrg_error_clear(void);

/**
 * Prints the current error to stderr as "[rank r] error: message" followed by
 * the traceback (traceback only at log level debug). Not collective.
 */
void invrg_error_print_local(int rank);

/**
 * Agrees on an error across @p comm: every rank returns the most severe code
 * any rank had (INVRG_ERR_INPUT and INVRG_ERR_RUNTIME both beat success;
 * runtime beats input). A rank that was fine but learns of a failure elsewhere
 * records "failure on another rank", marked as reported (the failing rank
 * prints the real message). Collective on @p comm.
 */
invrg_err invrg_error_agree(invrg_err local, MPI_Comm comm);

/** Message for an MPI error code (MPI_Error_string). */
const char *invrg_error_mpi_string(int mpi_code, char *buf, int buflen);

#define INVRG_CALL(expr)                         \
  do {                                           \
    err = (expr);                                \
    if (err != INVRG_SUCCESS) {                  \
      invrg_error_trace(__FILE__, __LINE__);     \
      goto cleanup;                              \
    }                                            \
  } while (0)

/**
 * For checks that report every input error before stopping: runs @p expr; an input
 * error (already printed) is remembered in @p found and the checks go on; any other
 * failure propagates like INVRG_CALL. The function then returns `err ? err : found`.
 */
#define INVRG_CHECK_MORE(found, expr)            \
  do {                                           \
    err = (expr);                                \
    if (err == INVRG_ERR_INPUT) {                \
      (found) = INVRG_ERR_INPUT;                 \
      err = INVRG_SUCCESS;                       \
    } else if (err != INVRG_SUCCESS) {           \
      invrg_error_trace(__FILE__, __LINE__);     \
      goto cleanup;                              \
    }                                            \
  } while (0)

#define INVRG_CHECK(cond, code, ...)                                   \
  do {                                                                 \
    if (!(cond)) {                                                     \
      err = invrg_error_set((code), __FILE__, __LINE__, __VA_ARGS__);  \
      goto cleanup;                                                    \
    }                                                                  \
  } while (0)

/** Fails with INVRG_ERR_RUNTIME when an MPI call does not return MPI_SUCCESS. */
#define INVRG_MPI_CALL(call)                                                   \
  do {                                                                         \
    int mpi_rc_ = (call);                                                      \
    if (mpi_rc_ != MPI_SUCCESS) {                                              \
      char mpi_msg_[MPI_MAX_ERROR_STRING];                                     \
      err = invrg_error_set(INVRG_ERR_RUNTIME, __FILE__, __LINE__,            \
                            "MPI call %s failed: %s", #call,                   \
                            invrg_error_mpi_string(mpi_rc_, mpi_msg_,          \
                                                   (int)sizeof mpi_msg_));     \
      goto cleanup;                                                            \
    }                                                                          \
  } while (0)

/** Fails with out-of-memory when @p ptr is NULL. */
#define INVRG_CHECK_ALLOC(ptr) \
  INVRG_CHECK((ptr) != NULL, INVRG_ERR_RUNTIME, "out of memory allocating %s", #ptr)

#ifndef NDEBUG
/** An invariant of the code (checked in Debug and Sanitize builds). */
#define INVRG_ASSERT(cond)                                                   \
  do {                                                                       \
    if (!(cond)) invrg_error_assert_failed(#cond, __FILE__, __LINE__);       \
  } while (0)
#else
#define INVRG_ASSERT(cond) ((void)0)
#endif

/** Reports a broken invariant and aborts all ranks (MPI_Abort). */
_Noreturn void invrg_error_assert_failed(const char *cond, const char *file, int line);

#endif
