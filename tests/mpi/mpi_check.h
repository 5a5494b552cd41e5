/* CHECK for MPI test programs that print every verdict: "ok: …" or "FAIL: …" on world rank 0
 * (which the program sets in `rank`), counting failures on every rank. */
#ifndef INVRG_TESTS_MPI_CHECK_H
#define INVRG_TESTS_MPI_CHECK_H

#include <stdbool.h>
#include <stdio.h>

static int failures = 0, rank = 0;

#define CHECK(cond, ...)                                                      \
  do {                                                                        \
    bool ok_ = (cond);                                                        \
    if (rank == 0) {                                                          \
      printf("%s: ", ok_ ? "ok" : "FAIL");                                    \
      printf(__VA_ARGS__);                                                    \
      printf("\n");                                                           \
    }                                                                         \
    failures += !ok_;                                                         \
  } while (0)

#endif
