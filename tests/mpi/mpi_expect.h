/* Checks for MPI test programs: EXPECT counts a failure and says where (rank, file:line and
 * the test's own `where` context); OK aborts all ranks when an invrg call fails. */
#ifndef INVRG_TESTS_MPI_EXPECT_H
#define INVRG_TESTS_MPI_EXPECT_H

#include <mpi.h>
#include <stdio.h>

#include "invrg/error.h"

static int world_rank, world_size, failures;
static char where[160];

#define EXPECT(cond, ...)                                                           \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      failures++;                                                                   \
      printf("[rank %d] FAIL %s:%d [%s]: ", world_rank, __FILE__, __LINE__, where); \
      printf(__VA_ARGS__);                                                          \
      printf("\n");                                                                 \
    }                                                                               \
  } while (0)

#define OK(call)                                                                                  \
  do {                                                                                            \
    if ((call) != INVRG_SUCCESS) {                                                                \
      printf("[rank %d] FAIL %s:%d [%s]: %s: %s\n", world_rank, __FILE__, __LINE__, where, #call, \
             invrg_error_message());                                                              \
      fflush(stdout);                                                                             \
      MPI_Abort(MPI_COMM_WORLD, 1);                                                               \
    }                                                                                             \
  } while (0)

#endif
