/*
 * The scaffolding of every MPI test program: one set of checks and one runner.
 *
 * Checks (each message is a printf format with its arguments; `where`, which a test may set,
 * names what is under test, e.g. the layout):
 *   EXPECT(cond, msg…)               counts a failure of this rank and prints
 *                                    "[rank r] FAIL file:line [case; where]: msg"
 *   EXPECT_EQ(a, b, msg…)            integers a == b; the line ends with both values
 *   EXPECT_NEAR(a, b, tol, msg…)     doubles |a − b| <= tol; the line ends with both values
 *   EXPECT_ERR(call, code, msg…)     an invrg call must return @p code; the line says what it
 *                                    returned, with its message
 *   CHECK(cond, msg…)                EXPECT that also prints "ok: msg" on world rank 0 when it
 *                                    holds: tests whose log shows every measured number
 *   OK(call)                         an invrg call that must succeed; otherwise it is reported
 *                                    and every rank stops (MPI_Abort): nothing sensible is left
 *                                    to test after it
 *
 * The runner: a test lists its cases and hands them to mpi_test_main(),
 *     static const mpi_test_case cases[] = {{"halos", test_halos, true}, …};
 *     int main(int argc, char **argv) { return MPI_TEST_MAIN(argc, argv, cases); }
 * which initialises MPI (errors returned), the log and HDF5's error printing, runs the cases
 * named on the command line (none named: those marked by_default) one after the other on every
 * rank, and after each case adds up the failures of all ranks, so that every rank agrees on the
 * verdict. World rank 0 prints one line per case ("case halos: ok (0.12 s)", "case halos: FAIL
 * (3 failures on 2 of 4 ranks)") and a summary. The exit status is the same on every rank:
 * 0 if no rank saw a failure, 77 (skipped) if every case run called mpi_test_skip(), 1 otherwise.
 *
 * Files: mpi_test_tmpdir() makes a fresh directory for a case, mpi_test_rmdir() removes it.
 */
#ifndef INVRG_TESTS_MPI_TEST_H
#define INVRG_TESTS_MPI_TEST_H

#include <dirent.h>
#include <mpi.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "invrg/error.h"
#include "invrg/h5util.h"
#include "invrg/log.h"

static int world_rank, world_size;
static char where[160]; /* what is under test, for failure lines; cleared at each case */

/* The runner's state: the case running, this rank's failures in it, and its skip reason. */
static const char *mpi_test_case_name = "";
static int mpi_test_failures;
static char mpi_test_skip_reason[160];

typedef struct {
  const char *name;
  void (*run)(void);
  bool by_default; /* run when the command line names no case */
} mpi_test_case;

static inline const char *mpi_test_err_name(invrg_err e) {
  switch (e) {
    case INVRG_SUCCESS: return "success";
    case INVRG_ERR_RUNTIME: return "runtime error";
    case INVRG_ERR_INPUT: return "input error";
    case INVRG_STOPPED: return "stopped";
  }
  return "unknown code";
}

/* Counts a failure and starts its line: "[rank r] FAIL file:line [case; where]: ". */
static inline void mpi_test_fail_begin(const char *file, int line) {
  mpi_test_failures++;
  printf("[rank %d] FAIL %s:%d [%s%s%s]: ", world_rank, file, line, mpi_test_case_name,
         where[0] != '\0' ? "; " : "", where);
}

static inline void mpi_test_line_end(void) {
  printf("\n");
  fflush(stdout);
}

#define EXPECT(cond, ...)                            \
  do {                                               \
    if (!(cond)) {                                   \
      mpi_test_fail_begin(__FILE__, __LINE__);       \
      printf(__VA_ARGS__);                           \
      mpi_test_line_end();                           \
    }                                                \
  } while (0)

#define CHECK(cond, ...)                             \
  do {                                               \
    if (cond) {                                      \
      if (world_rank == 0) {                         \
        printf("ok: ");                              \
        printf(__VA_ARGS__);                         \
        mpi_test_line_end();                         \
      }                                              \
    } else {                                         \
      mpi_test_fail_begin(__FILE__, __LINE__);       \
      printf(__VA_ARGS__);                           \
      mpi_test_line_end();                           \
    }                                                \
  } while (0)

#define EXPECT_EQ(a, b, ...)                                                        \
  do {                                                                              \
    const long long a_ = (long long)(a), b_ = (long long)(b);                       \
    if (a_ != b_) {                                                                 \
      mpi_test_fail_begin(__FILE__, __LINE__);                                      \
      printf(__VA_ARGS__);                                                          \
      printf(" (%s = %lld, %s = %lld)", #a, a_, #b, b_);                            \
      mpi_test_line_end();                                                          \
    }                                                                               \
  } while (0)

#define EXPECT_NEAR(a, b, tol, ...)                                                 \
  do {                                                                              \
    const double a_ = (a), b_ = (b), tol_ = (tol);                                  \
    if (!(a_ - b_ <= tol_ && b_ - a_ <= tol_)) {                                    \
      mpi_test_fail_begin(__FILE__, __LINE__);                                      \
      printf(__VA_ARGS__);                                                          \
      printf(" (%s = %.17g, %s = %.17g, tolerance %.3g)", #a, a_, #b, b_, tol_);    \
      mpi_test_line_end();                                                          \
    }                                                                               \
  } while (0)

#define EXPECT_ERR(call, code, ...)                                                 \
  do {                                                                              \
    const invrg_err got_ = (call), want_ = (code);                                  \
    if (got_ != want_) {                                                            \
      mpi_test_fail_begin(__FILE__, __LINE__);                                      \
      printf(__VA_ARGS__);                                                          \
      printf(" (%s returned %s%s%s, expected %s)", #call, mpi_test_err_name(got_),  \
             got_ != INVRG_SUCCESS ? ": " : "",                                     \
             got_ != INVRG_SUCCESS ? invrg_error_message() : "",                    \
             mpi_test_err_name(want_));                                             \
      mpi_test_line_end();                                                          \
    }                                                                               \
  } while (0)

#define OK(call)                                                                    \
  do {                                                                              \
    if ((call) != INVRG_SUCCESS) {                                                  \
      mpi_test_fail_begin(__FILE__, __LINE__);                                      \
      printf("%s: %s (stopping every rank)", #call, invrg_error_message());         \
      mpi_test_line_end();                                                          \
      MPI_Abort(MPI_COMM_WORLD, 1);                                                 \
    }                                                                               \
  } while (0)

/* The current case does not apply here (e.g. a CPU without the kernel it tests): every rank
 * that calls it marks the case skipped; one rank suffices. */
static inline void mpi_test_skip(const char *why) {
  snprintf(mpi_test_skip_reason, sizeof mpi_test_skip_reason, "%s", why);
}

/* Runs case @p c on every rank; returns the number of failures over all ranks (the same on
 * every rank) and sets *skipped. */
static inline int mpi_test_run_case(const mpi_test_case *c, bool *skipped) {
  mpi_test_case_name = c->name;
  mpi_test_failures = 0;
  mpi_test_skip_reason[0] = '\0';
  where[0] = '\0';
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = MPI_Wtime();
  c->run();
  fflush(stdout);
  /* {failures, ranks that failed, ranks that skipped} */
  int mine[3] = {mpi_test_failures, mpi_test_failures > 0, mpi_test_skip_reason[0] != '\0'};
  int all[3];
  MPI_Allreduce(mine, all, 3, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  const double seconds = MPI_Wtime() - t0;
  *skipped = all[2] > 0 && all[0] == 0;
  if (world_rank == 0) {
    if (all[0] > 0)
      printf("case %s: FAIL (%d failure%s on %d of %d rank%s, %.2f s)\n", c->name, all[0],
             all[0] == 1 ? "" : "s", all[1], world_size, world_size == 1 ? "" : "s", seconds);
    else if (*skipped)
      printf("case %s: skipped (%s)\n", c->name,
             mpi_test_skip_reason[0] != '\0' ? mpi_test_skip_reason : "on another rank");
    else
      printf("case %s: ok (%.2f s)\n", c->name, seconds);
    fflush(stdout);
  }
  mpi_test_case_name = "";
  where[0] = '\0';
  return all[0];
}

/* Which cases to run: those named in argv[1 …], or the defaults; false for an unknown name. */
static inline bool mpi_test_select(int argc, char **argv, const mpi_test_case *cases, int n,
                                   bool *run) {
  bool known = true;
  for (int i = 0; i < n; i++) run[i] = argc < 2 && cases[i].by_default;
  for (int k = 1; k < argc; k++) {
    int found = -1;
    for (int i = 0; i < n; i++)
      if (strcmp(argv[k], cases[i].name) == 0) found = i;
    if (found >= 0) {
      run[found] = true;
      continue;
    }
    known = false;
    if (world_rank == 0) {
      printf("FAIL: unknown case '%s'; the cases are:", argv[k]);
      for (int i = 0; i < n; i++) printf(" %s", cases[i].name);
      printf("\n");
    }
  }
  return known;
}

/* The main program of an MPI test (see the top of this file). */
static inline int mpi_test_main(int argc, char **argv, const mpi_test_case *cases, int n) {
  MPI_Init(&argc, &argv);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  invrg_log_init(world_rank);
  invrg_h5_init();
  bool run[64] = {false};
  if (n > 64 || !mpi_test_select(argc, argv, cases, n, run)) {
    MPI_Finalize();
    return EXIT_FAILURE;
  }
  int failures = 0, failed = 0, ran = 0, skipped = 0;
  for (int i = 0; i < n; i++) {
    if (!run[i]) continue;
    bool skip = false;
    const int f = mpi_test_run_case(&cases[i], &skip);
    failures += f;
    failed += f > 0;
    skipped += skip;
    ran++;
  }
  const char *name = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 : argv[0];
  const int status = failures > 0                        ? EXIT_FAILURE
                     : ran > 0 && skipped == ran          ? 77
                                                          : EXIT_SUCCESS;
  if (world_rank == 0)
    printf("%s on %d rank%s: %s (%d case%s run, %d failed, %d skipped)\n", name, world_size,
           world_size == 1 ? "" : "s", status == 77 ? "SKIPPED" : failures > 0 ? "FAIL" : "PASS",
           ran, ran == 1 ? "" : "s", failed, skipped);
  MPI_Finalize();
  return status;
}

/* A new empty directory under $TMPDIR (or /tmp), the same name on every rank. Collective. */
static inline void mpi_test_tmpdir(char *dir, size_t size) {
  const char *base = getenv("TMPDIR");
  snprintf(dir, size, "%s/invrg_test_XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp");
  if (world_rank == 0 && mkdtemp(dir) == NULL) {
    printf("[rank 0] FAIL: cannot make a directory %s\n", dir);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  MPI_Bcast(dir, (int)size, MPI_CHAR, 0, MPI_COMM_WORLD);
}

/* Removes @p dir made by mpi_test_tmpdir() and the files in it (no subdirectories). Collective. */
static inline void mpi_test_rmdir(const char *dir) {
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank == 0) {
    DIR *d = opendir(dir);
    for (struct dirent *e = d != NULL ? readdir(d) : NULL; e != NULL; e = readdir(d)) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      char path[512];
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      unlink(path);
    }
    if (d != NULL) closedir(d);
    if (rmdir(dir) != 0) printf("note: could not remove %s\n", dir);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

#define MPI_TEST_MAIN(argc, argv, cases) \
  mpi_test_main((argc), (argv), (cases), (int)(sizeof(cases) / sizeof((cases)[0])))

#endif
