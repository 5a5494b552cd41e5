/* The one runner of the check-based unit tests: runs a suite and gives the exit status. */
#ifndef INVRG_TESTS_CHECK_RUNNER_H
#define INVRG_TESTS_CHECK_RUNNER_H

#include <check.h>
#include <stdlib.h>

/* Runs every test of @p suite (which it frees); EXIT_SUCCESS if none failed. */
static inline int run_suite(Suite *suite) {
  SRunner *runner = srunner_create(suite);
  srunner_run_all(runner, CK_NORMAL);
  const int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
