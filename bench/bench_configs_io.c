/*
 * Writing saved configurations with parallel HDF5 on all ranks of the run, three ways:
 *   shared, collective:   one L x L configuration split by rows over all ranks (a big dream on
 *                         one group), every rank's rows in one collective write (two-phase I/O);
 *   shared, independent:  the same rows, each rank writing its own;
 *   one per rank:         every rank a whole configuration of its own (groups of one), at once.
 * Prints the median time of a write and the bytes per second of the whole run (file system
 * and MPI-IO of this machine; the file in the current directory, removed afterwards).
 * Informational, not a test.
 *
 *     mpiexec -n 4 bench_configs_io [runs=5] [L=4096] [alignment=0] [chunk_bytes=0]
 *                                   [hint=value ...]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "invrg/config.h"
#include "invrg/configs_io.h"
#include "invrg/groups.h"
#include "invrg/h5util.h"
#include "invrg/lattice.h"
#include "invrg/rng.h"

enum { MODES = 3 };
static const char *const mode_names[MODES] = {"shared, collective", "shared, independent",
                                              "one per rank"};

/* One write of configuration(s) in @p mode into a fresh dataset; seconds on the slowest rank. */
static double time_write(hid_t file, int mode, int run, const invrg_lattice *shared,
                         const invrg_lattice *whole, int size, int rank) {
  char name[32];
  hid_t dset = -1;
  snprintf(name, sizeof name, "c%d_%d", mode, run);
  const int64_t n = mode == 2 ? size : 1, L = shared->lx;
  CHECK(invrg_configs_create(file, name, n, L, false, &dset));
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = MPI_Wtime();
  if (mode == 0)
    CHECK(invrg_configs_write_lattice_all(dset, shared, false, 0, true, MPI_COMM_WORLD));
  else if (mode == 1)
    CHECK(invrg_configs_write_lattice(dset, shared, false, 0));
  else
    CHECK(invrg_configs_write_lattice(dset, whole, false, rank));
  invrg_h5_close(&dset);
  CHECK(invrg_h5_flush_file(file, "bench"));
  double t = MPI_Wtime() - t0, slowest = 0;
  MPI_Allreduce(&t, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return slowest;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int runs = argc > 1 ? atoi(argv[1]) : 5;
  const int64_t L = argc > 2 ? atoll(argv[2]) : 4096;
  const int64_t alignment = argc > 3 ? atoll(argv[3]) : 0;
  const int64_t chunk_bytes = argc > 4 ? atoll(argv[4]) : 0;
  invrg_h5_set_file_layout(alignment, chunk_bytes, (const char *const *)(argv + 5),
                           argc > 5 ? argc - 5 : 0);
  if (runs < 1 || runs > BENCH_MAX_RUNS || L % size != 0) {
    if (rank == 0) fprintf(stderr, "bench_configs_io: runs 1..64, L a multiple of the ranks\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }

  invrg_config cfg;
  invrg_groups *all = NULL;
  invrg_lattice *shared = NULL, *whole = NULL;
  invrg_config_defaults(&cfg);
  cfg.parallel.ranks_per_group = size;
  cfg.parallel.grid[0] = 1; /* rows over all ranks, as a packed big dream splits them */
  cfg.parallel.grid[1] = size;
  CHECK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &all));
  CHECK(size > 1 ? invrg_lattice_create_distributed(all, L, L, 1, &shared)
                 : invrg_lattice_create_replicated(L, L, 1, &shared));
  CHECK(invrg_lattice_create_replicated(L, L, 1, &whole));
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 1, INVRG_RNG_INIT, (uint64_t)rank, 0);
  invrg_lattice_fill_random(shared, &s);
  invrg_lattice_fill_random(whole, &s);

  char path[64];
  snprintf(path, sizeof path, "bench_configs_io_%d.h5", size);
  hid_t fapl = -1, file = -1;
  CHECK(invrg_h5_parallel_fapl(MPI_COMM_WORLD, &fapl));
  file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (file < 0) MPI_Abort(MPI_COMM_WORLD, 1);
  double t[MODES][BENCH_MAX_RUNS];
  for (int r = 0; r < runs; r++)
    for (int m = 0; m < MODES; m++) t[m][r] = time_write(file, m, r, shared, whole, size, rank);
  for (int m = 0; m < MODES; m++) {
    const double med = bench_median(t[m], runs);
    const double bytes = (double)L * (double)L * (m == 2 ? size : 1);
    if (rank == 0)
      printf("bench_configs_io: %2d rank%s, %lld^2 int8, %-20s %8.3f s per write, %8.1f MB/s "
             "(%.0f MB)\n", size, size == 1 ? " " : "s", (long long)L, mode_names[m], med,
             bytes / med / 1e6, bytes / 1e6);
  }
  CHECK(invrg_h5_close_file(&file, path));
  invrg_h5_close(&fapl);
  if (rank == 0) unlink(path);
  invrg_lattice_destroy(&whole);
  invrg_lattice_destroy(&shared);
  invrg_groups_destroy(&all);
  invrg_config_free(&cfg);
  MPI_Finalize();
  return 0;
}
