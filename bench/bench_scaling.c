/*
 * The constants of the scaling model (docs/scaling.md, tools/scaling_model.py). Informational,
 * not a test; medians of repetitions.
 *
 *   mpiexec -n 2 bench_scaling net [runs=7]
 *       α and β of point-to-point messages (ping-pong between world rank 0 and the last rank,
 *       8 B … 4 MiB: the halo sizes of int8 and packed lattices, SW label rows), the latency of
 *       MPI_Allreduce of 1 … 64 int64 and of MPI_Gatherv of per-item records to rank 0.
 *   mpiexec -n P bench_scaling sw L therm sweeps
 *       Swendsen–Wang on one L² lattice split over all P ranks: seconds per sweep, and what
 *       each sweep sends, counted by wrappers of MPI_Sendrecv and MPI_Allreduce (PMPI): label
 *       merge rounds (one MPI_Allreduce of one MPI_LOR int each), bytes per rank, the wait in
 *       the first message (for the slowest rank), the merge phase's wall time after it and its
 *       share inside MPI. Prints each sweep's rounds.
 *   bench_scaling swgrid L therm sweeps G [G ...]      (one rank; G = px or px x py, e.g. 4x8)
 *       The same sweeps on one rank, and before each the merge rounds that the distributed
 *       sweep would need on a px × py grid, from the same bonds (an emulation of
 *       src/physics/sw.c's label merge): rounds for grids of any size from one core. The
 *       rounds of `sw` on P ranks equal those of `swgrid` for the grid P ranks get (same
 *       seed, steps and bonds; bit-identical lattices on any layout).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "invrg/config.h"
#include "invrg/exact.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mc_update.h"
#include "physics/union_find.h"

/* ------------------------------------------------------------------ counting wrappers (PMPI) */

/* What the library's SW sweep sends, counted while `on` (the sweep's merge rounds are its
 * MPI_Allreduce calls of one MPI_LOR int; its boundary labels go by MPI_Sendrecv). */
static struct {
  int on;
  int64_t rounds, sendrecvs, bytes;
  double mpi_seconds, first, last; /* time inside the calls; the merge phase's start and end */
  double wait;                      /* in the sweep's first message */
} count;

int MPI_Sendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
                 void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
                 MPI_Comm comm, MPI_Status *status) {
  double t0 = PMPI_Wtime();
  int rc = PMPI_Sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount,
                         recvtype, source, recvtag, comm, status);
  if (count.on) {
    int size = 0;
    PMPI_Type_size(sendtype, &size);
    const double t1 = PMPI_Wtime();
    /* The first message of a sweep also waits for the slowest rank's bonds and clusters: the
     * merge phase starts when it returns. */
    if (count.sendrecvs++ == 0)
      count.first = t1, count.wait = t1 - t0;
    else
      count.mpi_seconds += t1 - t0;
    if (dest != MPI_PROC_NULL) count.bytes += (int64_t)sendcount * size;
  }
  return rc;
}

int MPI_Allreduce(const void *sendbuf, void *recvbuf, int n, MPI_Datatype type, MPI_Op op,
                  MPI_Comm comm) {
  double t0 = PMPI_Wtime();
  int rc = PMPI_Allreduce(sendbuf, recvbuf, n, type, op, comm);
  if (count.on && op == MPI_LOR && n == 1) {
    count.rounds++;
    count.last = PMPI_Wtime();
    count.mpi_seconds += count.last - t0;
  }
  return rc;
}

/* ------------------------------------------------------------------ net */

/* Half the round trip of @p bytes between world ranks 0 and size − 1: median of @p runs. */
static double pingpong(int bytes, int runs, char *buf) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int peer = rank == 0 ? size - 1 : 0, active = rank == 0 || rank == size - 1;
  const int reps = bytes < (1 << 16) ? 1000 : bytes < (1 << 20) ? 100 : 20;
  double t[BENCH_MAX_RUNS];
  for (int r = 0; r < runs; r++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int k = 0; k < reps && active; k++) {
      if (rank == 0) {
        MPI_Send(buf, bytes, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
        MPI_Recv(buf, bytes, MPI_BYTE, peer, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else {
        MPI_Recv(buf, bytes, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(buf, bytes, MPI_BYTE, peer, 2, MPI_COMM_WORLD);
      }
    }
    t[r] = (MPI_Wtime() - t0) / reps / 2;
    MPI_Bcast(&t[r], 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  }
  return bench_median(t, runs);
}

/* Seconds per call of MPI_Allreduce (SUM of @p n int64), or with @p gather of MPI_Gatherv of
 * @p n doubles from every rank to rank 0 (the reducer's windows): median of @p runs. */
static double collective(int n, bool gather, int runs) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int64_t in[64] = {0}, out[64];
  double *rec = calloc((size_t)n, sizeof *rec);
  double *all = calloc((size_t)n * (size_t)size, sizeof *all);
  int *counts = malloc((size_t)size * sizeof *counts);
  int *displs = malloc((size_t)size * sizeof *displs);
  if (rec == NULL || all == NULL || counts == NULL || displs == NULL) MPI_Abort(MPI_COMM_WORLD, 1);
  for (int w = 0; w < size; w++) counts[w] = n, displs[w] = w * n;
  const int reps = 2000;
  double t[BENCH_MAX_RUNS];
  for (int r = 0; r < runs; r++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int k = 0; k < reps; k++) {
      if (gather)
        MPI_Gatherv(rec, n, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, 0, MPI_COMM_WORLD);
      else
        MPI_Allreduce(in, out, n, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    }
    double dt = (MPI_Wtime() - t0) / reps;
    MPI_Allreduce(&dt, &t[r], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  }
  free(rec);
  free(all);
  free(counts);
  free(displs);
  return bench_median(t, runs);
}

/* α and β of t(n) = α + n β by least squares of the relative errors (weights 1/t²) over all
 * sizes, so that neither the smallest nor the largest messages dominate; each size's fit is
 * printed next to its measurement. */
static void fit(const int *n, const double *t, int m, double *alpha, double *beta) {
  double s0 = 0, s1 = 0, s2 = 0, r0 = 0, r1 = 0; /* Σw, Σw n, Σw n², Σw t, Σw n t */
  for (int k = 0; k < m; k++) {
    const double w = 1 / (t[k] * t[k]);
    s0 += w, s1 += w * n[k], s2 += w * n[k] * (double)n[k], r0 += w * t[k], r1 += w * n[k] * t[k];
  }
  const double det = s0 * s2 - s1 * s1;
  *alpha = (s2 * r0 - s1 * r1) / det;
  *beta = (s0 * r1 - s1 * r0) / det;
}

static void net(int runs) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size < 2) {
    if (rank == 0) fprintf(stderr, "bench_scaling net needs at least 2 ranks\n");
    return;
  }
  enum { N_SIZES = 8 };
  const int sizes[N_SIZES] = {8, 64, 512, 4096, 32768, 262144, 1 << 20, 1 << 22};
  double t[N_SIZES];
  char *buf = calloc(1 << 22, 1);
  if (buf == NULL) MPI_Abort(MPI_COMM_WORLD, 1);
  for (int s = 0; s < N_SIZES; s++) t[s] = pingpong(sizes[s], runs, buf);
  free(buf);
  double alpha, beta;
  fit(sizes, t, N_SIZES, &alpha, &beta);
  if (rank == 0) {
    printf("bench_scaling net: %d ranks, ping-pong between ranks 0 and %d, medians of %d\n", size,
           size - 1, runs);
    for (int s = 0; s < N_SIZES; s++)
      printf("  %8d B: %10.3f us one way, %8.1f MB/s; alpha + n beta = %10.3f us\n", sizes[s],
             t[s] * 1e6, sizes[s] / t[s] / 1e6, (alpha + sizes[s] * beta) * 1e6);
  }
  const int vec[4] = {1, 2, 16, 64};
  double allreduce[4];
  for (int k = 0; k < 4; k++) allreduce[k] = collective(vec[k], false, runs);
  const double gatherv = collective(128, true, runs);
  if (rank == 0) {
    for (int k = 0; k < 4; k++)
      printf("  MPI_Allreduce of %2d int64 on %d ranks: %8.3f us\n", vec[k], size,
             allreduce[k] * 1e6);
    printf("  MPI_Gatherv of 128 doubles from each of %d ranks to rank 0: %8.3f us\n", size,
           gatherv * 1e6);
    /* one line for scripts (jobs/scaling.sbatch) */
    printf("constants: ranks=%d alpha_s=%.4e beta_s_per_byte=%.4e allreduce1_s=%.4e "
           "gatherv128_s=%.4e\n",
           size, alpha, beta, allreduce[0], gatherv);
  }
}

/* ------------------------------------------------------------------ emulated label merge */

/* The open bonds of the sweep at @p rs, as sw.c draws them: bit 0 right, bit 1 down. */
static void draw_bonds(const invrg_lattice *lat, const invrg_rng_stream *rs, uint32_t threshold,
                       uint8_t *bonds, uint32_t *words) {
  const int L = lat->nx;
  for (int j = 0; j < L; j++) {
    const int8_t *row = lat->data + invrg_lattice_index(lat, 0, j);
    const int8_t *below = row + lat->sx;
    invrg_rng_blocks_range(rs, invrg_lattice_global_site(lat, 0, j), L, 0, words, (size_t)L);
    for (int i = 0; i < L; i++)
      bonds[(size_t)j * (size_t)L + (size_t)i] =
          (uint8_t)((row[i] == row[i + 1] && words[i] < threshold) |
                    (row[i] == below[i] && words[L + i] < threshold) << 1);
  }
}

typedef struct {
  int64_t n;
  int32_t *a, *b;     /* sites on either side of an open bond between two blocks */
  int64_t *la, *lb;   /* their labels at the start of the phase (what the messages carry) */
} crossings;

/* One phase of a round: every rank sends the labels of its boundary, then lowers. */
static bool phase(crossings *c, int32_t *parent, int64_t *label) {
  bool changed = false;
  for (int64_t t = 0; t < c->n; t++) {
    c->la[t] = label[invrg_uf_find(parent, c->a[t])];
    c->lb[t] = label[invrg_uf_find(parent, c->b[t])];
  }
  for (int64_t t = 0; t < c->n; t++) {
    int32_t ra = invrg_uf_find(parent, c->a[t]), rb = invrg_uf_find(parent, c->b[t]);
    if (c->lb[t] < label[ra]) label[ra] = c->lb[t], changed = true;
    if (c->la[t] < label[rb]) label[rb] = c->la[t], changed = true;
  }
  return changed;
}

static bool crossings_alloc(crossings *c, int64_t n) {
  c->n = 0;
  c->a = malloc((size_t)n * sizeof *c->a);
  c->b = malloc((size_t)n * sizeof *c->b);
  c->la = malloc((size_t)n * sizeof *c->la);
  c->lb = malloc((size_t)n * sizeof *c->lb);
  return c->a && c->b && c->la && c->lb;
}

static void crossings_free(crossings *c) {
  free(c->a);
  free(c->b);
  free(c->la);
  free(c->lb);
}

/* Rounds of sw.c's merge_across_blocks on a px × py grid: union–find inside each block (with
 * the wrap where the grid does not cut), labels = smallest global index, then rounds of an x
 * phase and a y phase until no label changes (the last, unchanged round counted, as its
 * MPI_Allreduce is). */
static int emulate_rounds(const uint8_t *bonds, int L, int px, int py, int32_t *parent,
                          int64_t *label) {
  const int bx = L / px, by = L / py;
  crossings cx, cy;
  if (!crossings_alloc(&cx, (int64_t)L * px) || !crossings_alloc(&cy, (int64_t)L * py))
    MPI_Abort(MPI_COMM_WORLD, 1);
  for (int32_t k = 0; k < L * L; k++) parent[k] = k;
  for (int y = 0; y < L; y++)
    for (int x = 0; x < L; x++) {
      const int32_t k = y * L + x, r = y * L + (x + 1) % L, d = ((y + 1) % L) * L + x;
      const uint8_t b = bonds[k];
      if (b & 1) {
        if (px > 1 && x % bx == bx - 1) cx.a[cx.n] = k, cx.b[cx.n++] = r;
        else invrg_uf_unite(parent, k, r);
      }
      if (b & 2) {
        if (py > 1 && y % by == by - 1) cy.a[cy.n] = k, cy.b[cy.n++] = d;
        else invrg_uf_unite(parent, k, d);
      }
    }
  for (int32_t k = 0; k < L * L; k++)
    if (parent[k] == k) label[k] = k;
  int rounds = 0;
  if (px > 1 || py > 1)
    for (;;) {
      rounds++;
      bool changed = px > 1 && phase(&cx, parent, label);
      changed = (py > 1 && phase(&cy, parent, label)) || changed;
      if (!changed) break;
    }
  crossings_free(&cx);
  crossings_free(&cy);
  return rounds;
}

/* ------------------------------------------------------------------ sw and swgrid */

static const invrg_mc_chain chain = {INVRG_K_CRITICAL, 1, 0, INVRG_RNG_MC, INVRG_RNG_PHILOX};

/* An L² lattice from the same random start on any layout. */
static void start_lattice(invrg_groups *g, int64_t L, invrg_lattice **lat) {
  invrg_rng_stream init;
  invrg_rng_stream_init(&init, 1, INVRG_RNG_INIT, 0, 0);
  if (g == NULL || g->ranks_per_group == 1)
    CHECK(invrg_lattice_create_replicated(L, L, 1, lat));
  else
    CHECK(invrg_lattice_create_distributed(g, L, L, 1, lat));
  invrg_lattice_fill_random(*lat, &init);
}

static void sw(int64_t L, int therm, int sweeps) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  invrg_config cfg;
  invrg_config_defaults(&cfg);
  cfg.parallel.ranks_per_group = size;
  invrg_groups *g = NULL;
  invrg_lattice *lat = NULL;
  invrg_sw *w = NULL;
  invrg_mc_counts counts = {0};
  CHECK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
  start_lattice(g, L, &lat);
  CHECK(invrg_sw_create(lat, &w));
  for (int t = 0; t < therm; t++) CHECK(invrg_mc_sw_sweep(lat, &chain, (uint64_t)t, w, &counts));
  double sec[BENCH_MAX_RUNS * 4], merge[BENCH_MAX_RUNS * 4], in_mpi[BENCH_MAX_RUNS * 4],
      wait[BENCH_MAX_RUNS * 4];
  int64_t rounds_sum = 0, rounds_max = 0, bytes = 0;
  sweeps = sweeps > BENCH_MAX_RUNS * 4 ? BENCH_MAX_RUNS * 4 : sweeps;
  if (rank == 0) printf("bench_scaling sw: rounds per sweep:");
  for (int t = 0; t < sweeps; t++) {
    memset(&count, 0, sizeof count);
    MPI_Barrier(MPI_COMM_WORLD);
    count.on = 1;
    double t0 = MPI_Wtime();
    CHECK(invrg_mc_sw_sweep(lat, &chain, (uint64_t)(therm + t), w, &counts));
    double dt = MPI_Wtime() - t0;
    count.on = 0;
    double mine[4] = {dt, count.rounds ? count.last - count.first : 0, count.mpi_seconds,
                      count.wait}, most[4];
    MPI_Allreduce(mine, most, 4, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    sec[t] = most[0], merge[t] = most[1], in_mpi[t] = most[2], wait[t] = most[3];
    rounds_sum += count.rounds;
    rounds_max = count.rounds > rounds_max ? count.rounds : rounds_max;
    bytes += count.bytes;
    if (rank == 0) printf(" %lld", (long long)count.rounds);
  }
  if (rank == 0) {
    printf("\n");
    printf("bench_scaling sw: L = %lld on %d ranks (grid %d x %d, block %d x %d), %d sweeps after "
           "%d: %.4g s per sweep (median), %.3g spin updates/s per rank; merge rounds %.2f per "
           "sweep (max %lld); rank 0 sends %.0f label bytes per sweep; first message waits "
           "%.3g s for the slowest rank, then the merge phase %.3g s (median), of which in "
           "MPI %.3g s\n",
           (long long)L, size, g->px, g->py, lat->nx, lat->ny, sweeps, therm,
           bench_median(sec, sweeps), (double)(L * L) / bench_median(sec, sweeps) / size,
           (double)rounds_sum / sweeps, (long long)rounds_max, (double)bytes / sweeps,
           bench_median(wait, sweeps), bench_median(merge, sweeps), bench_median(in_mpi, sweeps));
  }
  invrg_sw_destroy(&w);
  invrg_lattice_destroy(&lat);
  invrg_groups_destroy(&g);
  invrg_config_free(&cfg);
}

/* "4" is 4 × 4, "4x8" is px = 4, py = 8. */
static void parse_grid(const char *s, int *px, int *py) {
  *px = atoi(s);
  const char *x = strchr(s, 'x');
  *py = x != NULL ? atoi(x + 1) : *px;
}

static void swgrid(int64_t L, int therm, int sweeps, int n_grids, char **grids) {
  invrg_lattice *lat = NULL;
  invrg_sw *w = NULL;
  invrg_mc_counts counts = {0};
  start_lattice(NULL, L, &lat);
  CHECK(invrg_sw_create(lat, &w));
  const size_t n = (size_t)L * (size_t)L;
  uint8_t *bonds = malloc(n);
  uint32_t *words = malloc(4 * (size_t)L * sizeof *words);
  int32_t *parent = malloc(n * sizeof *parent);
  int64_t *label = malloc(n * sizeof *label);
  double *sum = calloc((size_t)n_grids, sizeof *sum);
  int *most = calloc((size_t)n_grids, sizeof *most);
  if (!bonds || !words || !parent || !label || !sum || !most) MPI_Abort(MPI_COMM_WORLD, 1);
  for (int t = 0; t < therm; t++) CHECK(invrg_mc_sw_sweep(lat, &chain, (uint64_t)t, w, &counts));
  const uint32_t threshold = invrg_mc_bond_threshold(chain.K);
  for (int t = 0; t < sweeps; t++) {
    invrg_rng_stream rs;
    invrg_rng_stream_init(&rs, chain.seed, invrg_mc_chain_purpose(&chain), chain.chain,
                          (uint64_t)(therm + t));
    draw_bonds(lat, &rs, threshold, bonds, words);
    for (int k = 0; k < n_grids; k++) {
      int px, py;
      parse_grid(grids[k], &px, &py);
      if (px < 1 || py < 1 || L % px || L % py) {
        fprintf(stderr, "grid %s does not divide L = %lld\n", grids[k], (long long)L);
        MPI_Abort(MPI_COMM_WORLD, 2);
      }
      const int r = emulate_rounds(bonds, (int)L, px, py, parent, label);
      sum[k] += r;
      most[k] = r > most[k] ? r : most[k];
      printf("bench_scaling swgrid: L = %lld sweep %d grid %d x %d: %d rounds\n", (long long)L,
             therm + t, px, py, r);
    }
    CHECK(invrg_mc_sw_sweep(lat, &chain, (uint64_t)(therm + t), w, &counts));
  }
  for (int k = 0; k < n_grids; k++) {
    int px, py;
    parse_grid(grids[k], &px, &py);
    printf("bench_scaling swgrid: L = %lld grid %d x %d (block %lld x %lld): %.2f rounds per "
           "sweep (max %d) over %d sweeps after %d\n",
           (long long)L, px, py, (long long)(L / px), (long long)(L / py), sum[k] / sweeps,
           most[k], sweeps, therm);
  }
  free(bonds);
  free(words);
  free(parent);
  free(label);
  free(sum);
  free(most);
  invrg_sw_destroy(&w);
  invrg_lattice_destroy(&lat);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  invrg_log_init(rank);
  invrg_log_set_level(INVRG_LOG_WARN);
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "net") == 0) {
    int runs = argc > 2 ? atoi(argv[2]) : 7;
    net(runs < 1 ? 1 : runs > BENCH_MAX_RUNS ? BENCH_MAX_RUNS : runs);
  } else if (strcmp(mode, "sw") == 0 && argc == 5) {
    sw(atoll(argv[2]), atoi(argv[3]), atoi(argv[4]));
  } else if (strcmp(mode, "swgrid") == 0 && argc >= 6) {
    if (rank == 0) swgrid(atoll(argv[2]), atoi(argv[3]), atoi(argv[4]), argc - 5, argv + 5);
  } else if (rank == 0) {
    fprintf(stderr, "usage: bench_scaling net [runs] | sw L therm sweeps | "
                    "swgrid L therm sweeps G [G ...]\n");
  }
  MPI_Finalize();
  return 0;
}
