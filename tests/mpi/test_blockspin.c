/*
 * Block spin and MCRG operator sums on 1, 2 and 4 ranks, on every layout the
 * world size allows (replicated; grids 1x1, 1x2, 2x1, 2x2, 1x4, 4x1):
 * - operator sums of both sets equal, exactly, a naive serial evaluation
 *   written here from docs/physics.md §8 (periodic indices, no halos);
 * - the majority rule equals a naive serial one level after level (down to
 *   1 x 1, through the distributed, gathered-coarse and gathered-fine paths):
 *   same checksums, same tie counts, for the tie rules random (the documented
 *   coins), up and upper_left; fresh coins for a new step.
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/blockspin.h"
#include "invrg/config.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mcrg.h"
#include "invrg/rng.h"

#include "mpi/mpi_test.h"
#include "mpi/mpi_layouts.h"

static const uint64_t seed = 777;

/* ---------------------------------------------------------------- naive references */

/* s at (y, x) of a whole ly × lx array, periodic. */
static int spin(const int8_t *s, int64_t lx, int64_t ly, int64_t y, int64_t x) {
  y = (y % ly + ly) % ly;
  x = (x % lx + lx) % lx;
  return s[y * lx + x];
}

/* docs/physics.md §8's 36 products as lists of (a, b): S(a,b)(y,x) = s(y − a, x − b); -1 ends a list. */
static const int paper36[36][4][2] = {
    {{0, 0}, {-1}},
    {{0, 0}, {1, 0}, {-1}},
    {{0, 0}, {1, 1}, {-1}},
    {{0, 0}, {2, 0}, {-1}},
    {{0, 0}, {1, 2}, {-1}},
    {{0, 0}, {2, 2}, {-1}},
    {{0, 0}, {1, 1}, {0, 1}, {-1}},
    {{0, 0}, {0, 1}, {0, 2}, {-1}},
    {{0, 0}, {0, 1}, {1, 2}, {-1}},
    {{0, 0}, {0, 1}, {2, 1}, {-1}},
    {{0, 0}, {0, 1}, {2, 2}, {-1}},
    {{0, 0}, {1, 1}, {0, 2}, {-1}},
    {{0, 0}, {1, 1}, {2, 2}, {-1}},
    {{0, 0}, {1, 2}, {2, 1}, {-1}},
    {{0, 0}, {2, 0}, {1, 2}, {-1}},
    {{0, 0}, {0, 2}, {2, 2}, {-1}},
    {{0, 0}, {1, 0}, {0, 1}, {1, 1}},
    {{0, 0}, {0, 1}, {1, 1}, {1, 2}},
    {{0, 0}, {0, 1}, {0, 2}, {1, 2}},
    {{0, 0}, {1, 0}, {0, 2}, {1, 2}},
    {{0, 0}, {0, 1}, {1, 2}, {2, 2}},
    {{0, 0}, {1, 0}, {1, 2}, {2, 2}},
    {{0, 0}, {0, 1}, {0, 2}, {1, 1}},
    {{0, 0}, {1, 0}, {0, 1}, {1, 2}},
    {{0, 0}, {0, 1}, {1, 1}, {2, 2}},
    {{0, 0}, {0, 1}, {2, 1}, {1, 2}},
    {{0, 0}, {1, 1}, {1, 2}, {2, 1}},
    {{0, 0}, {1, 0}, {0, 1}, {2, 2}},
    {{0, 0}, {0, 1}, {0, 2}, {2, 2}},
    {{0, 0}, {0, 1}, {0, 2}, {2, 1}},
    {{1, 0}, {0, 1}, {2, 1}, {1, 2}},
    {{0, 0}, {0, 2}, {1, 1}, {2, 1}},
    {{0, 0}, {1, 0}, {0, 1}, {1, 1}},
    {{0, 0}, {1, 0}, {0, 2}, {2, 1}},
    {{0, 0}, {0, 2}, {1, 1}, {2, 2}},
    {{0, 0}, {2, 0}, {0, 2}, {2, 2}},
};

static void naive_paper36(const int8_t *s, int64_t lx, int64_t ly, int64_t *out) {
  for (int k = 0; k < 36; k++) {
    out[k] = 0;
    for (int64_t y = 0; y < ly; y++)
      for (int64_t x = 0; x < lx; x++) {
        int p = 1;
        for (int q = 0; q < 4 && paper36[k][q][0] >= 0; q++)
          p *= spin(s, lx, ly, y - paper36[k][q][0], x - paper36[k][q][1]);
        out[k] += p;
      }
  }
}

/* Swendsen's set written with forward neighbours: a translate of the engine's definitions. */
static void naive_swendsen(const int8_t *s, int64_t lx, int64_t ly, int64_t *out) {
  memset(out, 0, 7 * sizeof *out);
  for (int64_t y = 0; y < ly; y++)
    for (int64_t x = 0; x < lx; x++) {
#define S(dy, dx) spin(s, lx, ly, y + (dy), x + (dx))
      int a = S(0, 0), b = S(0, 1), c = S(1, 0), d = S(1, 1);
      out[0] += a * b + a * c;                                 /* nn */
      out[1] += a * d + a * S(1, -1);                          /* nnn, both diagonals */
      out[2] += a * b * c * d;                                 /* plaquette */
      out[3] += a * S(0, 2) + a * S(2, 0);                     /* third neighbour */
      out[4] += a;                                             /* s */
      out[5] += a * b * c + a * b * d + a * c * d + b * c * d; /* three corners */
      out[6] += a * b * S(0, 2) + a * c * S(2, 0);             /* three in a row */
#undef S
    }
}

/* The majority rule as docs/physics.md §3 states it, with this module's documented tie rules. */
static int64_t naive_block(const int8_t *f, int64_t lx, int64_t ly, const invrg_blockspin_ties *t,
                           int8_t *c) {
  invrg_rng_stream coins;
  invrg_rng_stream_init(&coins, t->seed, INVRG_RNG_TIE, t->item, t->step);
  const int64_t lxc = lx / 2, lyc = ly / 2;
  int64_t ties = 0;
  for (int64_t Y = 0; Y < lyc; Y++)
    for (int64_t X = 0; X < lxc; X++) {
      int sum = f[2 * Y * lx + 2 * X] + f[2 * Y * lx + 2 * X + 1] + f[(2 * Y + 1) * lx + 2 * X] +
                f[(2 * Y + 1) * lx + 2 * X + 1];
      int8_t v = sum > 0 ? 1 : -1;
      if (sum == 0) {
        ties++;
        if (t->rule == INVRG_TIE_UP) v = 1;
        if (t->rule == INVRG_TIE_UPPER_LEFT) v = f[2 * Y * lx + 2 * X];
        if (t->rule == INVRG_TIE_RANDOM) { /* bit X mod 128 of block Y·⌈lxc/128⌉ + ⌊X/128⌋ */
          uint32_t w[4];
          invrg_rng_u32x4(&coins, (uint64_t)(Y * ((lxc + 127) / 128) + X / 128), 0, w);
          v = w[X % 128 / 32] >> (X % 32) & 1 ? 1 : -1;
        }
      }
      c[Y * lxc + X] = v;
    }
  return ties;
}

/* ---------------------------------------------------------------- lattices */

/* A random lx × ly lattice of item @p item with halo @p halo on the group (distributed if it can
 * be). */
static invrg_lattice *random_lattice(const invrg_groups *g, int64_t lx, int64_t ly, int halo,
                                     uint64_t item) {
  invrg_lattice *lat = NULL;
  if (g->ranks_per_group > 1 && invrg_groups_can_distribute(g, lx, ly, halo))
    OK(invrg_lattice_create_distributed(g, lx, ly, halo, &lat));
  else
    OK(invrg_lattice_create_replicated(lx, ly, halo, &lat));
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_INIT, item, 0);
  invrg_lattice_fill_random(lat, &s);
  return lat;
}

/* The same field as a whole array (fill_random depends only on the global site). */
static int8_t *random_array(int64_t lx, int64_t ly, uint64_t item) {
  invrg_lattice *lat = NULL;
  OK(invrg_lattice_create_replicated(lx, ly, 1, &lat));
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_INIT, item, 0);
  invrg_lattice_fill_random(lat, &s);
  int8_t *a = malloc((size_t)(lx * ly));
  OK(invrg_lattice_gather(lat, a));
  invrg_lattice_destroy(&lat);
  return a;
}

/* ---------------------------------------------------------------- tests */

static void test_operators(const invrg_groups *g, int64_t lx, int64_t ly) {
  const char *sets[2] = {"swendsen", "paper36"};
  int8_t *whole = random_array(lx, ly, (uint64_t)(lx * 1000 + ly));
  invrg_lattice *lat = random_lattice(g, lx, ly, INVRG_MCRG_HALO, (uint64_t)(lx * 1000 + ly));
  OK(invrg_lattice_halo_exchange(lat));
  for (int k = 0; k < 2; k++) {
    invrg_operator_set *set = NULL;
    OK(invrg_operator_set_create(sets[k], &set));
    int64_t got[36], want[36];
    OK(invrg_operators_evaluate(set->op, set->n, lat, got));
    (k == 0 ? naive_swendsen : naive_paper36)(whole, lx, ly, want);
    EXPECT(set->n == (k == 0 ? 7 : 36), "%s has %d operators", sets[k], set->n);
    for (int a = 0; a < set->n; a++)
      EXPECT(got[a] == want[a], "%lldx%lld %s operator %d (%s): %lld, naive %lld", (long long)lx,
             (long long)ly, sets[k], a, set->op[a].name, (long long)got[a], (long long)want[a]);
    /* Parity: odd = {0, 6–15} for paper36, s and the 3-spin ones for swendsen. */
    for (int a = 0; a < set->n; a++) {
      bool odd = k == 0 ? a >= 4 : (a == 0 || (a >= 6 && a <= 15));
      EXPECT(set->op[a].odd == odd, "%s operator %d parity", sets[k], a);
    }
    invrg_operator_set_destroy(&set);
  }
  invrg_lattice_destroy(&lat);
  free(whole);
}

/* Blocks an lx × ly random lattice down to 1 × 1 (or an odd side) and compares every level. */
static void test_blocking(const invrg_groups *g, int64_t lx, int64_t ly, invrg_tie_rule rule) {
  const uint64_t item = 5;
  int8_t *ref = random_array(lx, ly, item);
  invrg_lattice *fine = random_lattice(g, lx, ly, 1, item);
  int64_t flx = lx, fly = ly;
  for (int level = 1; flx % 2 == 0 && fly % 2 == 0; level++) {
    const invrg_blockspin_ties key = {rule, seed, item, (uint64_t)level};
    const int64_t clx = flx / 2, cly = fly / 2;
    int8_t *cref = malloc((size_t)(clx * cly));
    int64_t ties_ref = naive_block(ref, flx, fly, &key, cref);
    invrg_lattice *coarse = NULL;
    int64_t ties = -1;
    OK(invrg_blockspin(fine, g, &key, 2, &coarse, &ties));
    uint64_t sum = 0;
    OK(invrg_lattice_checksum(coarse, &sum));
    const bool dist = coarse->mode == INVRG_LATTICE_DISTRIBUTED;
    EXPECT(sum == invrg_lattice_checksum_array(cref, clx, cly),
           "%s level %d (%lldx%lld, %s): checksum differs from the naive blocking",
           invrg_tie_rule_name(rule), level, (long long)clx, (long long)cly,
           dist ? "distributed" : "replicated");
    EXPECT(ties == ties_ref, "%s level %d: %lld ties, naive %lld", invrg_tie_rule_name(rule), level,
           (long long)ties, (long long)ties_ref);
    /* Distributed exactly when the grid can split the coarse lattice with halo 2. */
    bool want_dist = g->ranks_per_group > 1 && fine->mode == INVRG_LATTICE_DISTRIBUTED &&
                     fine->nx % 2 == 0 && fine->ny % 2 == 0 &&
                     invrg_groups_can_distribute(g, clx, cly, 2);
    EXPECT(dist == want_dist, "level %d: coarse %s", level, dist ? "distributed" : "replicated");
    /* Halos filled: the operator sums (which read them) match the naive ones. */
    if (clx >= 1 && cly >= 1) {
      invrg_operator_set *set = NULL;
      OK(invrg_operator_set_create("swendsen", &set));
      int64_t got[7], want[7];
      OK(invrg_operators_evaluate(set->op, set->n, coarse, got));
      naive_swendsen(cref, clx, cly, want);
      for (int a = 0; a < 7; a++)
        EXPECT(got[a] == want[a], "level %d operator %s on the coarse lattice: %lld, naive %lld",
               level, set->op[a].name, (long long)got[a], (long long)want[a]);
      invrg_operator_set_destroy(&set);
    }
    if (world_rank == 0 && level == 1 && rule == INVRG_TIE_RANDOM)
      printf("  %s: %lldx%lld level 1 tie fraction %.4f (random spins: 6/16 = 0.375)\n", where,
             (long long)lx, (long long)ly, (double)ties / (double)(clx * cly));
    invrg_lattice_destroy(&fine);
    fine = coarse;
    free(ref);
    ref = cref;
    flx = clx, fly = cly;
  }
  invrg_lattice_destroy(&fine);
  free(ref);
}

/* The tie rules on a hand-made 4 x 4 lattice: two tied blocks, one up, one down. */
static void test_tie_rules(void) {
  /* rows y = 0..3; block (X, Y) covers x = 2X, 2X+1 and y = 2Y, 2Y+1 */
  const int8_t f[16] = {+1, -1, -1, +1, /* block (0,0): tie, upper left +1; block (1,0): tie, -1 */
                        -1, +1, +1, -1,
                        +1, +1, -1, -1, /* block (0,1): all +1; block (1,1): three -1 */
                        +1, +1, -1, +1};
  const int8_t want_up[4] = {+1, +1, +1, -1}, want_ul[4] = {+1, -1, +1, -1};
  invrg_lattice *fine = NULL, *coarse = NULL;
  OK(invrg_lattice_create_replicated(4, 4, 1, &fine));
  OK(invrg_lattice_scatter(fine, f));
  for (int r = 0; r < 3; r++) {
    const invrg_blockspin_ties key = {(invrg_tie_rule)r, seed, 3, 9};
    int64_t ties = 0;
    int8_t got[4], want[4];
    OK(invrg_blockspin(fine, NULL, &key, 1, &coarse, &ties));
    OK(invrg_lattice_gather(coarse, got));
    if (r == INVRG_TIE_UP) memcpy(want, want_up, 4);
    if (r == INVRG_TIE_UPPER_LEFT) memcpy(want, want_ul, 4);
    if (r == INVRG_TIE_RANDOM) naive_block(f, 4, 4, &key, want);
    EXPECT(ties == 2, "%s: %lld ties, want 2", invrg_tie_rule_name(key.rule), (long long)ties);
    EXPECT(memcmp(got, want, 4) == 0, "%s: coarse %+d %+d / %+d %+d, want %+d %+d / %+d %+d",
           invrg_tie_rule_name(key.rule), got[0], got[1], got[2], got[3], want[0], want[1], want[2],
           want[3]);
    invrg_lattice_destroy(&coarse);
  }
  invrg_lattice_destroy(&fine);
  invrg_tie_rule rule;
  EXPECT(invrg_tie_rule_from_name("upper_left", &rule) && rule == INVRG_TIE_UPPER_LEFT, "parse");
  EXPECT(!invrg_tie_rule_from_name("majority", &rule), "unknown rule accepted");
}

/* A new step draws new coins: two blockings of one lattice differ at about half the ties. */
static void test_fresh_coins(void) {
  const int64_t L = 64;
  int8_t *f = random_array(L, L, 11), *c1 = malloc((size_t)(L * L / 4)),
         *c2 = malloc((size_t)(L * L / 4));
  const invrg_blockspin_ties k1 = {INVRG_TIE_RANDOM, seed, 11, 1},
                             k2 = {INVRG_TIE_RANDOM, seed, 11, 2};
  int64_t ties = invrg_blockspin_array(f, L, L, &k1, c1), differ = 0;
  invrg_blockspin_array(f, L, L, &k2, c2);
  for (int64_t k = 0; k < L * L / 4; k++) differ += c1[k] != c2[k];
  /* ties ~ 384; differences ~ Binomial(ties, 1/2): within 5 sigma */
  EXPECT(ties > 300 && llabs(2 * differ - ties) < 5 * (int64_t)sqrt((double)ties),
         "step 1 and 2 differ at %lld of %lld ties", (long long)differ, (long long)ties);
  free(f);
  free(c1);
  free(c2);
}

/* Operator sums and blocking on every layout of the world. */
static void test_layouts(void) {
  layout ls[8];
  const int n_layouts = layouts(ls);
  const int64_t op_sizes[][2] = {{16, 16}, {12, 20}, {8, 8}, {4, 4}, {3, 5}};
  /* 264 x 8: coarse rows of 132 sites, two row-coin blocks each (split in x: one rank's
   * coarse sites 66 … 131 read both) */
  const int64_t block_sizes[][2] = {{16, 16}, {24, 8}, {12, 12}, {40, 40}, {264, 8}};
  for (int l = 0; l < n_layouts; l++) {
    invrg_groups *g = make_groups(ls[l]);
    snprintf(where, sizeof where, "%d rank(s) per group, grid %d x %d", g->ranks_per_group, g->px,
             g->py);
    for (size_t k = 0; k < sizeof op_sizes / sizeof op_sizes[0]; k++)
      test_operators(g, op_sizes[k][0], op_sizes[k][1]);
    for (size_t k = 0; k < sizeof block_sizes / sizeof block_sizes[0]; k++)
      for (int r = 0; r < 3; r++)
        test_blocking(g, block_sizes[k][0], block_sizes[k][1], (invrg_tie_rule)r);
    invrg_groups_destroy(&g);
  }
  if (world_rank == 0) printf("%d layouts\n", n_layouts);
}

static const mpi_test_case cases[] = {
    {"tie_rules", test_tie_rules, true},
    {"fresh_coins", test_fresh_coins, true},
    {"layouts", test_layouts, true},
};

int main(int argc, char **argv) { return MPI_TEST_MAIN(argc, argv, cases); }
