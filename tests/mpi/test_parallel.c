/*
 * Parallel core on 1, 2 and 4 ranks: every layout the world size allows
 * (ranks_per_group 1, 2, 4; grids 1x1, 1x2, 2x1, 2x2, 1x4, 4x1, automatic) must
 * give halos equal to the neighbours' sites, checksums and reductions equal
 * bit for bit to serial references, and input errors that say what would work.
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/config.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/reducer.h"
#include "invrg/rng.h"

#include "mpi/mpi_test.h"

static const uint64_t seed = 20250604;

static invrg_config layout_config(int64_t ranks_per_group, int64_t px, int64_t py) {
  invrg_config cfg;
  invrg_config_defaults(&cfg);
  snprintf(cfg.input_path, sizeof cfg.input_path, "test_parallel.nml");
  cfg.parallel.ranks_per_group = ranks_per_group;
  cfg.parallel.grid[0] = px;
  cfg.parallel.grid[1] = py;
  return cfg;
}

/* ---------------------------------------------------------------- groups and items */

static void test_layout(const invrg_groups *g, int rpg) {
  EXPECT(g->n_groups == world_size / rpg, "n_groups %d", g->n_groups);
  EXPECT(g->group == world_rank / rpg && g->rank == world_rank % rpg, "group %d rank %d",
         g->group, g->rank);
  EXPECT(g->px * g->py == rpg, "grid %d x %d", g->px, g->py);
  EXPECT(g->rank == g->cy * g->px + g->cx, "rank %d at (%d, %d)", g->rank, g->cx, g->cy);
  MPI_Errhandler handler;
  MPI_Comm_get_errhandler(g->cart, &handler);
  EXPECT(handler == MPI_ERRORS_RETURN, "the grid communicator does not return errors");
  MPI_Errhandler_free(&handler);
}

static void test_items(const invrg_groups *g) {
  const int64_t counts[] = {0, 1, 3, 7, 37};
  for (size_t t = 0; t < sizeof counts / sizeof counts[0]; t++) {
    const int64_t n = counts[t];
    int64_t mine = invrg_groups_item_count(g, n), ids = 0;
    for (int64_t k = 0; k < mine; k++) {
      int64_t j = invrg_groups_item(g, k);
      EXPECT(j >= 0 && j < n && invrg_groups_item_owner(g, j) == g->group,
             "item %lld of %lld not owned by group %d", (long long)j, (long long)n, g->group);
      ids += j;
    }
    /* Over the groups (one rank each), every item exactly once: count n, index sum n(n-1)/2. */
    int64_t contrib[2] = {g->rank == 0 ? mine : 0, g->rank == 0 ? ids : 0}, sums[2];
    MPI_Allreduce(contrib, sums, 2, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    EXPECT(sums[0] == n && sums[1] == n * (n - 1) / 2, "%lld items: %lld owned, index sum %lld",
           (long long)n, (long long)sums[0], (long long)sums[1]);
  }
}

/* ---------------------------------------------------------------- lattices */

/* A rich test pattern (not just +-1): a wrong source site shows up. Never INT8_MIN. */
static int8_t pattern(uint64_t site, uint64_t step) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_INIT, 1000, step);
  return (int8_t)((int)(invrg_rng_u32(&s, site, 0) % 255) - 127);
}

static int64_t interior_sum(const invrg_lattice *lat) {
  int64_t sum = 0;
  for (int j = 0; j < lat->ny; j++)
    for (int i = 0; i < lat->nx; i++) sum += lat->data[invrg_lattice_index(lat, i, j)];
  return sum;
}

/* Interior from the pattern, halos poisoned, exchange, then every stored site checked. */
static void test_halo(invrg_lattice *lat, uint64_t step, bool split) {
  for (int j = -lat->halo; j < lat->ny + lat->halo; j++)
    for (int i = -lat->halo; i < lat->nx + lat->halo; i++) {
      bool interior = i >= 0 && i < lat->nx && j >= 0 && j < lat->ny;
      lat->data[invrg_lattice_index(lat, i, j)] =
          interior ? pattern(invrg_lattice_global_site(lat, i, j), step) : INT8_MIN;
    }
  if (split) {
    /* What a caller overlaps: work on the deep interior while messages travel. */
    OK(invrg_lattice_halo_begin(lat));
    int64_t during = interior_sum(lat);
    OK(invrg_lattice_halo_end(lat));
    EXPECT(interior_sum(lat) == during, "the exchange changed the interior");
  } else {
    OK(invrg_lattice_halo_exchange(lat));
  }
  int bad = 0;
  for (int j = -lat->halo; j < lat->ny + lat->halo; j++)
    for (int i = -lat->halo; i < lat->nx + lat->halo; i++) {
      int8_t want = pattern(invrg_lattice_global_site(lat, i, j), step);
      int8_t got = lat->data[invrg_lattice_index(lat, i, j)];
      if (got != want && bad++ < 3)
        EXPECT(got == want, "%lldx%lld h=%d: local site (%d, %d) is %d, neighbour has %d",
               (long long)lat->lx, (long long)lat->ly, lat->halo, i, j, got, want);
    }
  EXPECT(bad == 0, "%lldx%lld h=%d: %d wrong halo/interior sites", (long long)lat->lx,
         (long long)lat->ly, lat->halo, bad);
}

/* Checksum of the RNG field on a replicated lattice, computed on world rank 0 alone. */
static uint64_t serial_checksum(int64_t lx, int64_t ly, const invrg_rng_stream *s) {
  uint64_t sum = 0;
  if (world_rank == 0) {
    invrg_lattice *rep = NULL;
    OK(invrg_lattice_create_replicated(lx, ly, 1, &rep));
    invrg_lattice_fill_random(rep, s);
    OK(invrg_lattice_checksum(rep, &sum));
    invrg_lattice_destroy(&rep);
  }
  MPI_Bcast(&sum, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
  return sum;
}

static void test_lattice(const invrg_groups *g, int64_t lx, int64_t ly, int h) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_INIT, 3, 0);
  invrg_lattice *lat = NULL, *rep = NULL, *dist = NULL;
  int8_t *global = NULL;
  const uint64_t reference = serial_checksum(lx, ly, &s);

  OK(invrg_lattice_create_distributed(g, lx, ly, h, &lat));
  EXPECT(lat->nx == lx / g->px && lat->ny == ly / g->py && lat->x0 == g->cx * lat->nx &&
             lat->y0 == g->cy * lat->ny,
         "block %d x %d at (%lld, %lld)", lat->nx, lat->ny, (long long)lat->x0,
         (long long)lat->y0);
  test_halo(lat, 0, false);
  test_halo(lat, 1, true); /* the persistent requests run again */

  /* RNG field: one checksum for every layout. */
  uint64_t sum = 0;
  invrg_lattice_fill_random(lat, &s);
  OK(invrg_lattice_checksum(lat, &sum));
  EXPECT(sum == reference, "%lldx%lld checksum %016llx, serial %016llx", (long long)lx,
         (long long)ly, (unsigned long long)sum, (unsigned long long)reference);

  /* Gather equals the replicated field; scatter of its negative lands where it belongs. */
  OK(invrg_lattice_create_replicated(lx, ly, h, &rep));
  invrg_lattice_fill_random(rep, &s);
  global = malloc((size_t)(lx * ly));
  OK(invrg_lattice_gather(lat, global));
  if (g->rank == 0) {
    EXPECT(invrg_lattice_checksum_array(global, lx, ly) == reference, "gathered checksum");
    int bad = 0;
    for (int64_t k = 0; k < lx * ly; k++) {
      bad += global[k] != rep->data[invrg_lattice_index(rep, (int)(k % lx), (int)(k / lx))];
      global[k] = (int8_t)-global[k];
    }
    EXPECT(bad == 0, "gathered lattice differs from the replicated one at %d sites", bad);
    EXPECT(invrg_lattice_checksum_array(global, lx, ly) != reference,
           "checksum blind to flipping every spin");
    global[0] = 5; /* one site off: the checksum must see it */
    EXPECT(invrg_lattice_checksum_array(global, lx, ly) != reference,
           "checksum blind to a changed site");
  }
  OK(invrg_lattice_scatter(lat, g->rank == 0 ? global : NULL));
  int bad = 0;
  for (int j = 0; j < lat->ny; j++)
    for (int i = 0; i < lat->nx; i++) {
      int gx = (int)(lat->x0 + i), gy = (int)(lat->y0 + j);
      int8_t want = gx == 0 && gy == 0 ? 5 : (int8_t)-rep->data[invrg_lattice_index(rep, gx, gy)];
      bad += lat->data[invrg_lattice_index(lat, i, j)] != want;
    }
  EXPECT(bad == 0, "after scatter %d interior sites differ", bad);

  /* Replicated -> distributed equals direct distributed initialisation, halos included. */
  OK(invrg_lattice_distribute(rep, g, &dist));
  invrg_lattice_fill_random(lat, &s);
  EXPECT(memcmp(dist->data, lat->data, (size_t)lat->sx * (size_t)lat->sy) == 0,
         "distributed copy of the replicated lattice differs from direct initialisation");
  OK(invrg_lattice_halo_exchange(dist));
  EXPECT(memcmp(dist->data, lat->data, (size_t)lat->sx * (size_t)lat->sy) == 0,
         "halo exchange changed a consistent field");

  free(global);
  invrg_lattice_destroy(&dist);
  invrg_lattice_destroy(&rep);
  invrg_lattice_destroy(&lat);
}

/* Replicated lattices wrap in place, also for halos wider than the lattice (1x1 seeds). */
static void test_replicated_halos(void) {
  const int sizes[][3] = {{1, 1, 1}, {1, 1, 2}, {3, 2, 3}, {12, 8, 2}};
  snprintf(where, sizeof where, "replicated");
  for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
    invrg_lattice *rep = NULL;
    OK(invrg_lattice_create_replicated(sizes[t][0], sizes[t][1], sizes[t][2], &rep));
    EXPECT(rep->comm == MPI_COMM_SELF && rep->nx == sizes[t][0], "replicated layout");
    test_halo(rep, 2, t % 2 == 0);
    invrg_lattice_destroy(&rep);
  }
}

/* ---------------------------------------------------------------- reducer */

/* Item j's contribution: signs and magnitudes over 2^-20 .. 2^20, so order matters. */
static double contribution(int64_t j, int i) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_TRAIN, (uint64_t)j, 0);
  double u[2];
  invrg_rng_uniform_x2(&s, (uint64_t)i, 0, u);
  return (u[0] - 0.5) * ldexp(1.0, (int)(40 * u[1]) - 20);
}

static void test_reducer(const invrg_groups *g, int64_t n_items, int n) {
  const int64_t mine_count = invrg_groups_item_count(g, n_items);
  /* (+1: a group may own no item, and malloc(0) may return NULL) */
  double *mine = malloc((size_t)(mine_count * n + 1) * sizeof *mine);
  int64_t *mine_int = malloc((size_t)(mine_count * n + 1) * sizeof *mine_int);
  double *table = malloc((size_t)(n_items * n) * sizeof *table);
  double *all = malloc((size_t)(n_items * n) * sizeof *all);
  double *serial = calloc((size_t)n, sizeof *serial);
  double *reverse = calloc((size_t)n, sizeof *reverse);
  double *sum = malloc((size_t)n * sizeof *sum);
  int64_t *serial_int = calloc((size_t)n, sizeof *serial_int);
  int64_t *sum_int = malloc((size_t)n * sizeof *sum_int);

  /* Serial references, in item order and (to show the order matters) backwards. */
  for (int64_t j = 0; j < n_items; j++)
    for (int i = 0; i < n; i++) {
      table[j * n + i] = contribution(j, i);
      serial[i] += table[j * n + i];
      serial_int[i] += (int64_t)(table[j * n + i] * 4096);
    }
  for (int64_t j = n_items - 1; j >= 0; j--)
    for (int i = 0; i < n; i++) reverse[i] += table[j * n + i];
  EXPECT(memcmp(serial, reverse, (size_t)n * sizeof *serial) != 0,
         "test data too tame: order does not change the sum");

  for (int64_t k = 0; k < mine_count; k++)
    for (int i = 0; i < n; i++) {
      int64_t j = invrg_groups_item(g, k);
      mine[k * n + i] = contribution(j, i);
      mine_int[k * n + i] = (int64_t)(contribution(j, i) * 4096);
    }
  OK(invrg_reducer_sum_double(g, n_items, n, mine, sum));
  EXPECT(memcmp(sum, serial, (size_t)n * sizeof *sum) == 0,
         "%lld items x %d: double sums not bit-identical to the serial item-order sum (first: "
         "%.17g vs %.17g)", (long long)n_items, n, sum[0], serial[0]);
  OK(invrg_reducer_sum_int64(g, n_items, n, mine_int, sum_int));
  EXPECT(memcmp(sum_int, serial_int, (size_t)n * sizeof *sum_int) == 0, "int64 sums differ");
  OK(invrg_reducer_gather(g, n_items, n, mine, world_rank == 0 ? all : NULL));
  if (world_rank == 0)
    EXPECT(memcmp(all, table, (size_t)(n_items * n) * sizeof *all) == 0,
           "gathered records not in item order");
  /* Windows of consecutive items that start anywhere (streaming stages): the group's items of
   * each window, gathered in item order. */
  for (int64_t first = 0; first < n_items; first += 5) {
    const int64_t count = n_items - first < 5 ? n_items - first : 5;
    const int64_t k_count = invrg_reducer_range_count(g, first, count);
    for (int64_t k = 0; k < k_count; k++) {
      const int64_t j = invrg_reducer_range_item(g, first, k);
      EXPECT(j >= first && j < first + count && invrg_groups_item_owner(g, j) == g->group,
             "window %lld: item %lld is not the group's", (long long)first, (long long)j);
      for (int i = 0; i < n; i++) mine[k * n + i] = contribution(j, i);
    }
    OK(invrg_reducer_gather_range(g, first, count, n, mine, world_rank == 0 ? all : NULL));
    if (world_rank == 0)
      EXPECT(memcmp(all, table + first * n, (size_t)(count * n) * sizeof *all) == 0,
             "window %lld + %lld: gathered records not in item order", (long long)first,
             (long long)count);
  }

  free(mine);
  free(mine_int);
  free(table);
  free(all);
  free(serial);
  free(reverse);
  free(sum);
  free(serial_int);
  free(sum_int);
}

/* ---------------------------------------------------------------- input errors */

static void expect_input_error(invrg_err err, const char *needle) {
  EXPECT(err == INVRG_ERR_INPUT, "expected an input error, got %d", err);
  EXPECT(strstr(invrg_error_message(), needle) != NULL, "message '%s' lacks '%s'",
         invrg_error_message(), needle);
  invrg_error_clear();
}

static void test_layout_errors(void) {
  invrg_groups *g = NULL;
  snprintf(where, sizeof where, "layout errors");
  if (world_rank == 0) printf("-- the input errors below are expected --\n");
  fflush(stdout);

  /* What would work on 1, 2, 4 ranks: the divisors, and the automatic grid. */
  static const char *const divisors[] = {"", "use 1", "use 1 or 2", "", "use 1, 2 or 4"};
  static const char *const grids[] = {"", "use grid = 1, 1", "use grid = 1, 2", "",
                                      "use grid = 2, 2"};
  invrg_config cfg = layout_config(world_size + 1, 0, 0);
  expect_input_error(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g), divisors[world_size]);
  EXPECT(g == NULL, "no groups on error");

  cfg = layout_config(world_size, world_size, 2);
  expect_input_error(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g), grids[world_size]);

  cfg = layout_config(1, 3, 0);
  expect_input_error(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g), "use grid = 1, 1");

  cfg = layout_config(1, -1, 0);
  expect_input_error(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g), "must be positive");

  /* A lattice that does not split on the automatic grid of the whole world. */
  cfg = layout_config(world_size, 0, 0);
  OK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
  const int64_t lx = 4 * g->px + (g->px > 1), ly = 4 * g->py + (g->py > 1);
  if (g->px > 1 || g->py > 1) {
    char works[64];
    /* Rounded up to the next multiple of the grid: 5 px x 5 py. */
    snprintf(works, sizeof works, "%lld x %lld works", (long long)(g->px > 1 ? 5 * g->px : lx),
             (long long)(g->py > 1 ? 5 * g->py : ly));
    EXPECT(!invrg_groups_can_distribute(g, lx, ly, 1), "%lldx%lld should not split", (long long)lx,
           (long long)ly);
    expect_input_error(invrg_groups_check_lattice(g, &cfg, "mc", "L", lx, ly, 1), works);
    expect_input_error(invrg_groups_check_lattice(g, &cfg, "mc", "L", 2 * g->px, 2 * g->py, 3),
                       "blocks at least 3 wide");
    invrg_lattice *lat = NULL;
    EXPECT(invrg_lattice_create_distributed(g, lx, ly, 1, &lat) == INVRG_ERR_INPUT && lat == NULL,
           "distributed lattice of an unsplittable size");
    invrg_error_clear();
  }
  EXPECT(invrg_groups_check_lattice(g, &cfg, "mc", "L", 8 * g->px, 8 * g->py, 2) == INVRG_SUCCESS,
         "a lattice that splits was refused");
  invrg_groups_destroy(&g);
  EXPECT(g == NULL, "destroy sets NULL");
  invrg_config_free(&cfg);
  if (world_rank == 0) printf("-- end of expected errors --\n");
  fflush(stdout);
}

/* A rank that cannot allocate the reducer's buffers (world rank 0, a team leader, or none of
 * them) fails the gather on every rank instead of leaving the others waiting in it; the next
 * gather works. Flat gathers and, on 4 ranks, teams {0, 1, 2}, {3} (rank 3 a leader). */
static void test_reducer_no_memory(void) {
  snprintf(where, sizeof where, "reducer without memory");
  if (world_rank == 0) printf("-- the allocation failures below are expected --\n");
  fflush(stdout);
  for (int teams = 0; teams <= (world_size == 4); teams++) {
    invrg_config cfg = layout_config(1, 1, 1);
    invrg_groups *g = NULL;
    if (teams) setenv("INVRG_TEST_TEAM_SIZE", "3", 1);
    OK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
    unsetenv("INVRG_TEST_TEAM_SIZE");
    const int64_t n_items = 37;
    const int n = 5, mine_count = (int)invrg_groups_item_count(g, n_items);
    double *mine = calloc((size_t)(mine_count * n + 1), sizeof *mine);
    double *all = malloc((size_t)(n_items * n) * sizeof *all);
    for (int failing = 0; failing < world_size; failing++) {
      char rank[16];
      snprintf(rank, sizeof rank, "%d", failing);
      setenv("INVRG_TEST_REDUCER_NO_MEMORY", rank, 1);
      invrg_err err = invrg_reducer_gather(g, n_items, n, mine, world_rank == 0 ? all : NULL);
      unsetenv("INVRG_TEST_REDUCER_NO_MEMORY");
      /* the ranks that allocate: world rank 0 and, with teams, the leaders */
      const bool allocates = failing == 0 || (g->team_size > 0 && failing % g->team_size == 0);
      EXPECT(allocates ? err == INVRG_ERR_RUNTIME : err == INVRG_SUCCESS,
             "rank %d without memory (teams of %d): error %d on rank %d", failing, g->team_size,
             err, world_rank);
      if (allocates && world_rank == failing)
        EXPECT(strstr(invrg_error_message(), "memory") != NULL, "message '%s'",
               invrg_error_message());
      invrg_error_clear();
      OK(invrg_reducer_gather(g, n_items, n, mine, world_rank == 0 ? all : NULL));
    }
    free(mine);
    free(all);
    invrg_groups_destroy(&g);
    invrg_config_free(&cfg);
  }
  if (world_rank == 0) printf("-- end of expected errors --\n");
  fflush(stdout);
}

/* ---------------------------------------------------------------- driver */

/* Every layout of the world: groups, items, lattices and the reducer. */
static void test_layouts(void) {
  EXPECT(world_size == 1 || world_size == 2 || world_size == 4,
         "test_parallel runs on 1, 2 or 4 ranks, not %d", world_size);
  if (world_size != 1 && world_size != 2 && world_size != 4) return;
  /* {ranks_per_group, px, py}; 0, 0 = automatic. */
  static const int layouts[][3] = {{1, 1, 1}, {2, 1, 2}, {2, 2, 1}, {2, 0, 0},
                                   {4, 2, 2}, {4, 1, 4}, {4, 4, 1}, {4, 0, 0}};
  static const int lattices[][2] = {{12, 8}, {16, 24}};
  int layouts_run = 0;
  for (size_t t = 0; t < sizeof layouts / sizeof layouts[0]; t++) {
    const int rpg = layouts[t][0];
    if (world_size % rpg != 0) continue;
    invrg_config cfg = layout_config(rpg, layouts[t][1], layouts[t][2]);
    invrg_groups *g = NULL;
    OK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
    snprintf(where, sizeof where, "%d rank%s, ranks_per_group %d, grid %d x %d%s", world_size,
             world_size > 1 ? "s" : "", rpg, g->px, g->py,
             layouts[t][1] == 0 ? " (automatic)" : "");
    test_layout(g, rpg);
    test_items(g);
    for (size_t l = 0; l < sizeof lattices / sizeof lattices[0]; l++)
      for (int h = 1; h <= 2; h++) {
        bool fits = invrg_groups_can_distribute(g, lattices[l][0], lattices[l][1], h);
        EXPECT(fits, "%dx%d h=%d should split on this grid", lattices[l][0], lattices[l][1], h);
        if (fits) test_lattice(g, lattices[l][0], lattices[l][1], h);
      }
    test_reducer(g, 37, 5);
    test_reducer(g, 1000, 100); /* several rounds of messages */
    invrg_groups_destroy(&g);
    if (world_size == 4) { /* the two-level gather with a smaller last team: {0, 1, 2}, {3} */
      setenv("INVRG_TEST_TEAM_SIZE", "3", 1);
      OK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
      unsetenv("INVRG_TEST_TEAM_SIZE");
      EXPECT(g->team_size == 3, "teams of %d, not 3", g->team_size);
      test_reducer(g, 37, 5);
      test_reducer(g, 1000, 100);
      invrg_groups_destroy(&g);
    }
    invrg_config_free(&cfg);
    layouts_run++;
  }
  if (world_rank == 0) printf("%d layouts\n", layouts_run);
}

static const mpi_test_case cases[] = {
    {"replicated_halos", test_replicated_halos, true},
    {"layout_errors", test_layout_errors, true},
    {"layouts", test_layouts, true},
    {"reducer_no_memory", test_reducer_no_memory, true},
};

int main(int argc, char **argv) {
  invrg_log_set_level(INVRG_LOG_WARN);
  return MPI_TEST_MAIN(argc, argv, cases);
}
