/* Linked into every MPI test: a test named for N ranks (CTest's <test>_npN sets
 * INVRG_TEST_RANKS=N) must really run on N ranks. It wraps MPI_Init through MPI's profiling
 * interface, so the tests need no code of their own for it. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static void check_ranks(void) {
  const char *want = getenv("INVRG_TEST_RANKS");
  int size = 0, rank = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (want != NULL && atoi(want) != size) {
    if (rank == 0)
      fprintf(stderr, "FAIL: this test is named for %s ranks but runs on %d\n", want, size);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
}

int MPI_Init(int *argc, char ***argv) {
  const int rc = PMPI_Init(argc, argv);
  if (rc == MPI_SUCCESS) check_ranks();
  return rc;
}

int MPI_Init_thread(int *argc, char ***argv, int required, int *provided) {
  const int rc = PMPI_Init_thread(argc, argv, required, provided);
  if (rc == MPI_SUCCESS) check_ranks();
  return rc;
}
