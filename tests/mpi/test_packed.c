/*
 * Packed lattices (invrg/packed.h) on 1, 2 and 4 ranks:
 *   - the round trip int8 → packed → int8 for row widths of whole and partial words
 *     (Lx = 2 … 258), from and to replicated int8 lattices and distributed ones on every grid
 *     of the world, each bit read back through the layout written out plainly here;
 *   - halo rows, padding bits, the random fill against the int8 lattice's, and bad sizes.
 *
 *   test_packed [roundtrip] [fill] [bad_sizes]   (default: all three)
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/config.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/packed.h"
#include "invrg/rng.h"

#include "mpi/mpi_test.h"

static int64_t wrap(int64_t a, int64_t n) { return (a % n + n) % n; }

/* A random ±1 field, the same on every rank. */
static void random_field(int8_t *a, int64_t lx, int64_t ly, uint64_t item) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 99, INVRG_RNG_INIT, item, 0);
  for (int64_t k = 0; k < lx * ly; k++) a[k] = invrg_rng_coin(&s, (uint64_t)k, 0) ? 1 : -1;
}

/* The layout, plainly: site (x, y) is bit k mod 64 of word k / 64 of row y of colour
 * (x + y) mod 2, k = x div 2 (its row holds x = 2k + ((y + c) mod 2)); 1 = spin −1. */
static int layout_spin(const invrg_packed *p, int64_t x, int j) {
  const int64_t gy = wrap(p->y0 + j, p->ly);
  const int c = (int)((x + gy) % 2);
  const int64_t k = x / 2;
  const uint64_t *row = p->rows[c] + (int64_t)(j + 1) * p->words;
  return (row[k / 64] >> (k % 64)) & 1 ? -1 : 1;
}

/* Every stored site (halo rows too) against the global field; padding bits must be 0. */
static void expect_layout(const invrg_packed *p, const int8_t *a) {
  int64_t bad = 0, dirty = 0;
  for (int j = -1; j <= p->ny; j++) {
    const int64_t gy = wrap(p->y0 + j, p->ly);
    for (int64_t x = 0; x < p->lx; x++) bad += layout_spin(p, x, j) != a[gy * p->lx + x];
    for (int c = 0; c < 2; c++)
      dirty += (p->rows[c][(int64_t)(j + 2) * p->words - 1] & ~p->tail) != 0;
  }
  EXPECT(bad == 0, "%lld stored sites differ from the field", (long long)bad);
  EXPECT(dirty == 0, "%lld rows with padding bits set", (long long)dirty);
  int64_t accessor = 0; /* invrg_packed_get agrees with the layout */
  for (int j = -1; j <= p->ny; j++)
    for (int64_t x = 0; x < p->lx; x++)
      accessor += invrg_packed_get(p, x, j) != layout_spin(p, x, j);
  EXPECT(accessor == 0, "invrg_packed_get differs from the layout at %lld sites",
         (long long)accessor);
}

/* Every stored int8 site (halo included) against the field at the wrapped position. */
static int64_t mismatches(const invrg_lattice *lat, const int8_t *a) {
  int64_t bad = 0;
  for (int j = -lat->halo; j < lat->ny + lat->halo; j++)
    for (int i = -lat->halo; i < lat->nx + lat->halo; i++)
      bad += lat->data[invrg_lattice_index(lat, i, j)] != a[invrg_lattice_global_site(lat, i, j)];
  return bad;
}

/* Replicated int8 → packed on the world → replicated int8, and through @p g's grid. */
static void roundtrip(int64_t lx, int64_t ly, const invrg_groups *g) {
  int8_t *a = malloc((size_t)(lx * ly));
  random_field(a, lx, ly, (uint64_t)(lx * 1000 + ly));
  invrg_lattice *rep = NULL, *back = NULL, *dist = NULL;
  invrg_packed *p = NULL, *q = NULL;
  OK(invrg_lattice_create_replicated(lx, ly, 1, &rep));
  OK(invrg_lattice_scatter(rep, a));
  OK(invrg_lattice_halo_exchange(rep));
  OK(invrg_packed_create(g->cart, lx, ly, &p));
  OK(invrg_packed_from_lattice(p, rep));
  expect_layout(p, a);
  OK(invrg_lattice_create_replicated(lx, ly, 1, &back));
  OK(invrg_packed_to_lattice(p, back));
  EXPECT_EQ(mismatches(back, a), 0, "replicated → packed → replicated changed sites");
  for (int h = 1; h <= 2; h++) {
    if (!invrg_groups_can_distribute(g, lx, ly, h)) continue;
    OK(invrg_lattice_create_distributed(g, lx, ly, h, &dist));
    OK(invrg_packed_to_lattice(p, dist));
    EXPECT_EQ(mismatches(dist, a), 0, "packed → distributed (halo %d) differs", h);
    OK(invrg_packed_create(g->cart, lx, ly, &q));
    OK(invrg_packed_from_lattice(q, dist));
    expect_layout(q, a);
    invrg_packed_destroy(&q);
    invrg_lattice_destroy(&dist);
  }
  invrg_packed_destroy(&p);
  invrg_lattice_destroy(&back);
  invrg_lattice_destroy(&rep);
  free(a);
}

static void test_roundtrip(void) {
  /* widths: one partial word per colour row (2, 62, 66 …), whole words (128, 256), both */
  static const int64_t widths[] = {2, 4, 62, 64, 66, 126, 128, 130, 190, 256, 258};
  static const int64_t heights[] = {4, 8, 12};
  int layouts = 0;
  for (int px = 1; px <= world_size; px++) {
    if (world_size % px != 0) continue;
    invrg_config cfg;
    invrg_config_defaults(&cfg);
    cfg.parallel.ranks_per_group = world_size;
    cfg.parallel.grid[0] = px;
    cfg.parallel.grid[1] = world_size / px;
    invrg_groups *g = NULL;
    OK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++)
      for (size_t h = 0; h < sizeof heights / sizeof heights[0]; h++) {
        snprintf(where, sizeof where, "round trip %lld x %lld, grid %d x %d", (long long)widths[w],
                 (long long)heights[h], g->px, g->py);
        roundtrip(widths[w], heights[h], g);
      }
    invrg_groups_destroy(&g);
    invrg_config_free(&cfg);
    layouts++;
  }
  if (world_rank == 0) printf("round trip: %d grids\n", layouts);
}

/* The random fill is invrg_lattice_fill_random()'s field. */
static void test_fill(void) {
  const int64_t lx = 130, ly = 8;
  snprintf(where, sizeof where, "fill_random %lld x %lld", (long long)lx, (long long)ly);
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 5, INVRG_RNG_INIT, 3, 0);
  invrg_lattice *lat = NULL;
  invrg_packed *p = NULL;
  int8_t *a = malloc((size_t)(lx * ly));
  OK(invrg_lattice_create_replicated(lx, ly, 1, &lat));
  invrg_lattice_fill_random(lat, &s);
  OK(invrg_lattice_gather(lat, a));
  OK(invrg_packed_create(MPI_COMM_WORLD, lx, ly, &p));
  OK(invrg_packed_fill_random(p, &s));
  expect_layout(p, a);
  invrg_packed_destroy(&p);
  invrg_lattice_destroy(&lat);
  free(a);
}

static void test_bad_sizes(void) {
  static const int64_t bad[][2] = {{3, 4}, {4, 3}, {0, 4}, {4, 0}, {-2, 4}};
  invrg_packed *p = NULL;
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    EXPECT_ERR(invrg_packed_create(MPI_COMM_WORLD, bad[k][0], bad[k][1], &p), INVRG_ERR_INPUT,
               "%lld x %lld accepted", (long long)bad[k][0], (long long)bad[k][1]);
    EXPECT(p == NULL, "%lld x %lld: a rejected lattice was left behind", (long long)bad[k][0],
           (long long)bad[k][1]);
  }
  if (world_size == 4) /* rows split evenly or not at all: 6 and 2 rows not over 4 ranks */
    for (int64_t ly = 2; ly <= 6; ly += 4)
      EXPECT_ERR(invrg_packed_create(MPI_COMM_WORLD, 8, ly, &p), INVRG_ERR_INPUT,
                 "8 x %lld on 4 ranks accepted", (long long)ly);
  invrg_error_clear();
}

/* ---------------------------------------------------------------- main */

static const mpi_test_case cases[] = {
    {"roundtrip", test_roundtrip, true},
    {"fill", test_fill, true},
    {"bad_sizes", test_bad_sizes, true},
};

int main(int argc, char **argv) {
  invrg_log_set_level(INVRG_LOG_WARN);
  return MPI_TEST_MAIN(argc, argv, cases);
}
