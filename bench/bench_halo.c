/*
 * Halo exchange of a 4096^2 lattice on all ranks as one group, for every grid
 * of that many ranks: time per exchange (slowest rank) and halo bandwidth
 * (halo bytes filled per rank per second). Informational, not a test.
 *
 *     mpiexec -n 2 bench_halo [steps=500] [halo=1]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "invrg/config.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/rng.h"

enum { L = 4096, WARMUP = 20 };

static invrg_err bench_grid(int px, int py, int steps, int halo) {
  invrg_err err = INVRG_SUCCESS;
  invrg_config cfg;
  invrg_groups *g = NULL;
  invrg_lattice *lat = NULL;
  invrg_config_defaults(&cfg);
  cfg.parallel.ranks_per_group = px * py;
  cfg.parallel.grid[0] = px;
  cfg.parallel.grid[1] = py;
  INVRG_CALL(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
  INVRG_CALL(invrg_lattice_create_distributed(g, L, L, halo, &lat));
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 1, INVRG_RNG_INIT, 0, 0);
  invrg_lattice_fill_random(lat, &s);

  for (int k = 0; k < WARMUP; k++) INVRG_CALL(invrg_lattice_halo_exchange(lat));
  INVRG_MPI_CALL(MPI_Barrier(g->world));
  double t0 = MPI_Wtime();
  for (int k = 0; k < steps; k++) INVRG_CALL(invrg_lattice_halo_exchange(lat));
  double elapsed = MPI_Wtime() - t0, slowest = 0;
  INVRG_MPI_CALL(MPI_Reduce(&elapsed, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, g->world));

  /* Every stored site outside the interior is written once per exchange. */
  double halo_bytes = (double)lat->sx * lat->sy - (double)lat->nx * lat->ny;
  double per_step = slowest / steps;
  if (g->world_rank == 0)
    printf("bench_halo: %d rank%s, grid %d x %d, block %d x %d, halo %d: %9.2f us per exchange, "
           "%7.0f halo bytes per rank, %9.1f MB/s per rank\n",
           g->world_size, g->world_size > 1 ? "s" : "", px, py, lat->nx, lat->ny, halo,
           per_step * 1e6, halo_bytes, halo_bytes / per_step / 1e6);
cleanup:
  invrg_lattice_destroy(&lat);
  invrg_groups_destroy(&g);
  invrg_config_free(&cfg);
  return err;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  invrg_log_init(rank);
  invrg_log_set_level(INVRG_LOG_WARN);
  const int steps = argc > 1 ? atoi(argv[1]) : 500;
  const int halo = argc > 2 ? atoi(argv[2]) : 1;

  invrg_err err = INVRG_SUCCESS;
  for (int px = 1; px <= size && err == INVRG_SUCCESS; px++)
    if (size % px == 0) err = bench_grid(px, size / px, steps, halo);
  if (err != INVRG_SUCCESS) invrg_error_print_local(rank);
  MPI_Finalize();
  return (int)err;
}
