/* Memory of this process, from the kernel's own accounting. */
#include "invrg/memory.h"

#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

int64_t invrg_memory_resident_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long long size = 0, resident = 0;
  if (f == NULL) return 0;
  int got = fscanf(f, "%lld %lld", &size, &resident); /* pages */
  fclose(f);
  return got == 2 ? (int64_t)resident * (int64_t)sysconf(_SC_PAGESIZE) : 0;
}

int64_t invrg_memory_peak_bytes(void) {
  struct rusage u;
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
  return (int64_t)u.ru_maxrss * 1024; /* kilobytes on Linux */
}

invrg_err invrg_memory_peak_max(MPI_Comm comm, int64_t *bytes, int *rank_of_max) {
  invrg_err err = INVRG_SUCCESS;
  struct {
    double bytes; /* MPI_DOUBLE_INT: exact for any realistic size (< 2^53) */
    int rank;
  } mine = {(double)invrg_memory_peak_bytes(), 0}, max = {0, 0};
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &mine.rank));
  INVRG_MPI_CALL(MPI_Allreduce(&mine, &max, 1, MPI_DOUBLE_INT, MPI_MAXLOC, comm));
cleanup:
  *bytes = (int64_t)max.bytes;
  *rank_of_max = max.rank;
  return err;
}
