/* Unit tests of the core services: error propagation, progress cadence, log levels. */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/config.h"
#include "invrg/error.h"
#include "invrg/log.h"
#include "invrg/progress.h"
#include "unit/check_runner.h"

/* ------------------------------------------------------------------ errors */

/* Each frame "  at F:N" or "  from F:N" of @p tb names F relative to the project's root, whatever
 * directory holds the tree (also one below a directory named src/): F exists there. Returns the
 * number of frames; fails the test on the first frame that does not name a file of the tree. */
static int check_frames(const char *tb) {
  int frames = 0;
  for (const char *line = tb; *line != '\0'; frames++) {
    const char *end = strchr(line, '\n'), *colon = NULL;
    ck_assert_msg(end != NULL, "unterminated traceback line in:\n%s", tb);
    const char *file = strncmp(line, "  at ", 5) == 0     ? line + 5
                       : strncmp(line, "  from ", 7) == 0 ? line + 7
                                                          : NULL;
    ck_assert_msg(file != NULL, "not a traceback frame: %.*s", (int)(end - line), line);
    for (const char *c = file; c < end; c++)
      if (*c == ':') colon = c;
    ck_assert_msg(colon != NULL && file[0] != '/', "frame without a relative path: %.*s",
                  (int)(end - line), line);
    char path[4096];
    snprintf(path, sizeof path, "%s/%.*s", INVRG_TEST_SOURCE_DIR, (int)(colon - file), file);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "frame '%.*s' does not name a file of the tree (%s)",
                  (int)(end - line), line, path);
    fclose(f);
    line = end + 1;
  }
  return frames;
}

static int cleanups_run;

static invrg_err inner(int n) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(n > 0, INVRG_ERR_INPUT, "n must be positive, got %d", n);
cleanup:
  cleanups_run++;
  return err;
}

static invrg_err outer(int n) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CALL(inner(n));
  INVRG_CALL(inner(n + 1));
cleanup:
  cleanups_run++;
  return err;
}

START_TEST(error_propagates_with_traceback) {
  cleanups_run = 0;
  invrg_error_clear();
  ck_assert_int_eq(outer(5), INVRG_SUCCESS);
  ck_assert_int_eq(cleanups_run, 3);
  cleanups_run = 0;
  ck_assert_int_eq(outer(-2), INVRG_ERR_INPUT);
  ck_assert_int_eq(cleanups_run, 2); /* inner once, outer once: the second call is skipped */
  ck_assert_str_eq(invrg_error_message(), "n must be positive, got -2");
  const char *tb = invrg_error_traceback();
  ck_assert_msg(strncmp(tb, "  at tests/unit/test_core.c:", 28) == 0, "traceback:\n%s", tb);
  ck_assert_ptr_nonnull(strstr(tb, "\n  from tests/unit/test_core.c:"));
  ck_assert_int_eq(check_frames(tb), 2);
  ck_assert(!invrg_error_was_reported());
  invrg_error_mark_reported();
  ck_assert(invrg_error_was_reported());
}
END_TEST

static invrg_err failing_mpi_call(void) {
  invrg_err err = INVRG_SUCCESS;
  int value = 1, out = 0;
  /* An invalid count is reported, not fatal, because of MPI_ERRORS_RETURN. */
  INVRG_MPI_CALL(MPI_Allreduce(&value, &out, -1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
cleanup:
  return err;
}

/* Frames of the library (compiled apart from the tests) are relative to the root too. */
START_TEST(library_frames_are_relative_to_the_root) {
  invrg_config cfg;
  invrg_error_clear();
  ck_assert_int_ne(invrg_config_load("no/such/input.nml", MPI_COMM_WORLD, &cfg), INVRG_SUCCESS);
  const char *tb = invrg_error_traceback();
  ck_assert_msg(strncmp(tb, "  at src/", 9) == 0, "traceback:\n%s", tb);
  ck_assert_int_ge(check_frames(tb), 1);
  invrg_config_free(&cfg);
  invrg_error_clear();
}
END_TEST

START_TEST(mpi_failure_becomes_runtime_error) {
  ck_assert_int_eq(failing_mpi_call(), INVRG_ERR_RUNTIME);
  ck_assert_ptr_nonnull(strstr(invrg_error_message(), "MPI call MPI_Allreduce"));
}
END_TEST

START_TEST(agree_keeps_the_most_severe) {
  ck_assert_int_eq(invrg_error_agree(INVRG_SUCCESS, MPI_COMM_WORLD), INVRG_SUCCESS);
  ck_assert_int_eq(invrg_error_agree(INVRG_ERR_INPUT, MPI_COMM_WORLD), INVRG_ERR_INPUT);
  ck_assert_int_eq(invrg_error_agree(INVRG_ERR_RUNTIME, MPI_COMM_WORLD), INVRG_ERR_RUNTIME);
  ck_assert_int_eq(invrg_error_agree(INVRG_STOPPED, MPI_COMM_WORLD), INVRG_STOPPED);
}
END_TEST

/* ------------------------------------------------------------------ progress */

static double fake_now;
static double fake_clock(void) { return fake_now; }

START_TEST(progress_prints_at_steady_cadence) {
  invrg_progress p;
  fake_now = 100.0;
  invrg_progress_start_clock(&p, "sweeps", 1000, "spin updates", 10.0, fake_clock);
  int printed = 0;
  /* 1000 steps, one per 0.1 s: 100 s in all, so a line every 10 s = 10 lines. */
  for (int step = 1; step <= 1000; step++) {
    fake_now = 100.0 + 0.1 * step;
    printed += invrg_progress_update(&p, step, 4096.0 * step);
  }
  ck_assert_int_eq(printed, 10);
  /* At step 500 (t = 50 s): rate 4096*500/50 = 40960 per s, ETA 50 s. */
  fake_now = 100.0;
  invrg_progress_start_clock(&p, "sweeps", 1000, "spin updates", 10.0, fake_clock);
  fake_now = 150.0;
  ck_assert(invrg_progress_update(&p, 500, 4096.0 * 500));
  ck_assert_str_eq(p.last_line,
                   "sweeps: 500/1000 (50.0%) 4.1e+04 spin updates/s, elapsed 50s, ETA 50s");
  fake_now = 155.0;
  ck_assert(!invrg_progress_update(&p, 550, 0)); /* too soon */
}
END_TEST

START_TEST(durations_read_naturally) {
  char buf[32];
  invrg_format_duration(42.4, buf, sizeof buf);
  ck_assert_str_eq(buf, "42s");
  invrg_format_duration(187, buf, sizeof buf);
  ck_assert_str_eq(buf, "3m07s");
  invrg_format_duration(7500, buf, sizeof buf);
  ck_assert_str_eq(buf, "2h05m");
  invrg_format_duration(3 * 86400 + 4 * 3600, buf, sizeof buf);
  ck_assert_str_eq(buf, "3d04h");
  invrg_format_duration(NAN, buf, sizeof buf);
  ck_assert_str_eq(buf, "?");
}
END_TEST

/* ------------------------------------------------------------------ logging */

START_TEST(log_level_names) {
  invrg_log_level level;
  ck_assert(invrg_log_level_from_name("debug", &level));
  ck_assert_int_eq(level, INVRG_LOG_DEBUG);
  ck_assert(invrg_log_level_from_name("WARN", &level));
  ck_assert_int_eq(level, INVRG_LOG_WARN);
  ck_assert(!invrg_log_level_from_name("verbose", &level));
}
END_TEST

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  invrg_log_init(0);
  invrg_log_set_level(INVRG_LOG_ERROR); /* keep progress lines out of the test output */
  Suite *s = suite_create("core");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, error_propagates_with_traceback);
  tcase_add_test(tc, library_frames_are_relative_to_the_root);
  tcase_add_test(tc, mpi_failure_becomes_runtime_error);
  tcase_add_test(tc, agree_keeps_the_most_severe);
  tcase_add_test(tc, progress_prints_at_steady_cadence);
  tcase_add_test(tc, durations_read_naturally);
  tcase_add_test(tc, log_level_names);
  suite_add_tcase(s, tc);
  const int status = run_suite(s);
  MPI_Finalize();
  return status;
}
