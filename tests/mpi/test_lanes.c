/*
 * Bit-sliced measurements (invrg/lanes.h) lane by lane against the functions of one
 * configuration: observables against invrg_observables_sums_array(), line sums against plain
 * sums, the operator sums of "swendsen" and "paper36" against invrg_operators_evaluate() (and,
 * on 1 × 1, the one-spin rule s^k), the majority rule with each tie rule against
 * invrg_blockspin_array() with the same items and step (the coins of invrg_lanes_tie_coins()),
 * and its tie counts. Sides 1 … 32, 1, 37 and 64 lanes, each lane its own field (fair coins,
 * mostly up, domains, antiferromagnet), at every SIMD level (the counting kernels, the coins'
 * Philox). One rank.
 *
 *   test_lanes [measures] [blocking]   (default: both)
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/blockspin.h"
#include "invrg/lanes.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mcrg.h"
#include "invrg/observables.h"
#include "invrg/rng.h"
#include "invrg/simd.h"

#include "mpi/mpi_test.h"

enum { LANES = 64, MAX_L = INVRG_LANES_MAX_L };
static const int sides[] = {1, 2, 4, 8, 16, 32};
static const int lane_counts[] = {1, 37, LANES};

/* Lane @p lane's field: kind lane mod 4 (fair coins; +1 with 3 % flips; −1 left of L/3 with
 * 5 % flips; (−1)^(x + y)), its own numbers. */
static void make_field(int8_t *a, int L, int lane, uint64_t salt) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 23, INVRG_RNG_INIT, (uint64_t)lane, salt);
  for (int y = 0; y < L; y++)
    for (int x = 0; x < L; x++) {
      const double u = invrg_rng_uniform(&s, (uint64_t)(y * L + x), 0);
      const int kind = lane % 4;
      int8_t v = 1;
      if (kind == 0) v = u < 0.5 ? -1 : 1;
      if (kind == 1) v = u < 0.03 ? -1 : 1;
      if (kind == 2) v = (int8_t)((3 * x < L ? -1 : 1) * (u < 0.05 ? -1 : 1));
      if (kind == 3) v = (x + y) % 2 ? -1 : 1;
      a[y * L + x] = v;
    }
}

/* The n lanes' fields (fields[i·L² …]) bit-sliced into w. */
static void slice(const int8_t *fields, int L, int n, uint64_t *w) {
  memset(w, 0, (size_t)L * (size_t)L * sizeof *w);
  for (int i = 0; i < n; i++)
    for (int g = 0; g < L * L; g++)
      if (fields[(size_t)i * (size_t)(L * L) + (size_t)g] < 0) w[g] |= UINT64_C(1) << i;
}

static int8_t *fields_of(int L, int n, uint64_t salt) {
  int8_t *f = malloc((size_t)n * (size_t)(L * L));
  for (int i = 0; i < n; i++) make_field(f + (size_t)i * (size_t)(L * L), L, i, salt);
  return f;
}

static void check_observables_and_lines(const invrg_lanes *c, const int8_t *fields) {
  const int L = c->L;
  invrg_config_sums got[LANES];
  int64_t rows[LANES * MAX_L], cols[LANES * MAX_L];
  invrg_lanes_observables(c, got);
  invrg_lanes_line_sums(c, rows, cols);
  for (int i = 0; i < c->n; i++) {
    const int8_t *a = fields + (size_t)i * (size_t)(L * L);
    invrg_config_sums want;
    invrg_observables_sums_array(a, L, L, &want);
    EXPECT_EQ(got[i].bonds, want.bonds, "lane %d: bonds", i);
    EXPECT_EQ(got[i].magnetisation, want.magnetisation, "lane %d: magnetisation", i);
    EXPECT_EQ(got[i].sites, want.sites, "lane %d: sites", i);
    for (int k = 0; k < L; k++) {
      int64_t row = 0, col = 0;
      for (int j = 0; j < L; j++) row += a[k * L + j], col += a[j * L + k];
      EXPECT_EQ(rows[k * c->n + i], row, "lane %d: row %d", i, k);
      EXPECT_EQ(cols[k * c->n + i], col, "lane %d: column %d", i, k);
    }
  }
}

static void check_operators(const invrg_lanes *c, const int8_t *fields) {
  const int L = c->L;
  const char *const sets[] = {"swendsen", "paper36"};
  for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
    invrg_operator_set *set = NULL;
    OK(invrg_operator_set_create(sets[k], &set));
    int64_t *got = malloc((size_t)LANES * (size_t)set->n * sizeof *got), want[64];
    invrg_lanes_operator_sums(c, set->op, set->n, got);
    for (int i = 0; i < c->n; i++) {
      const int8_t *a = fields + (size_t)i * (size_t)(L * L);
      if (L == 1) { /* one spin, its own neighbour everywhere: a term of k spins is s^k */
        for (int o = 0; o < set->n; o++) {
          want[o] = 0;
          for (int t = 0; t < set->op[o].n_terms; t++)
            want[o] += set->op[o].n_spins[t] % 2 ? a[0] : 1;
        }
      } else {
        invrg_lattice *lat = NULL;
        OK(invrg_lattice_create_replicated(L, L, INVRG_MCRG_HALO, &lat));
        OK(invrg_lattice_scatter(lat, a));
        OK(invrg_lattice_halo_exchange(lat));
        OK(invrg_operators_evaluate(set->op, set->n, lat, want));
        invrg_lattice_destroy(&lat);
      }
      for (int o = 0; o < set->n; o++)
        EXPECT_EQ(got[(size_t)i * (size_t)set->n + (size_t)o], want[o], "lane %d: %s %s", i,
                  sets[k], set->op[o].name);
    }
    free(got);
    invrg_operator_set_destroy(&set);
  }
}

/* Every side, lane count and SIMD level: fields, then @p check. */
static void for_each_case(void (*check)(const invrg_lanes *, const int8_t *), int min_side) {
  uint64_t *w = malloc((size_t)MAX_L * MAX_L * sizeof *w);
  int cases = 0;
  for (size_t s = 0; s < sizeof sides / sizeof sides[0]; s++) {
    if (sides[s] < min_side) continue;
    for (size_t t = 0; t < sizeof lane_counts / sizeof lane_counts[0]; t++) {
      const int L = sides[s], n = lane_counts[t];
      int8_t *fields = fields_of(L, n, (uint64_t)(L * 100 + n));
      slice(fields, L, n, w);
      const invrg_lanes c = {L, n, w};
      for (int level = 0; level < INVRG_SIMD_LEVELS; level++) {
        if (!invrg_simd_runs((invrg_simd_level)level)) continue;
        setenv("INVRG_SIMD", invrg_simd_name((invrg_simd_level)level), 1);
        invrg_simd_reset();
        snprintf(where, sizeof where, "%d x %d, %d lanes, %s", L, L, n,
                 invrg_simd_name(invrg_simd_active()));
        check(&c, fields);
        cases++;
      }
      free(fields);
    }
  }
  free(w);
  unsetenv("INVRG_SIMD");
  invrg_simd_reset();
  if (world_rank == 0) printf("%d cases (side, lanes, SIMD level)\n", cases);
}

static void check_blocking(const invrg_lanes *c, const int8_t *fields) {
  const int L = c->L, Lc = L / 2;
  const invrg_tie_rule rules[] = {INVRG_TIE_RANDOM, INVRG_TIE_UP, INVRG_TIE_UPPER_LEFT};
  uint64_t samples[LANES], coins[MAX_L * MAX_L / 4], coarse[MAX_L * MAX_L / 4];
  uint32_t key0[LANES], key1[LANES];
  int64_t ties[LANES];
  int8_t want[MAX_L * MAX_L / 4];
  for (int i = 0; i < c->n; i++) samples[i] = (uint64_t)i * 1000003 + 5;
  {
    const uint64_t seed = 99, step = 64 + (uint64_t)L;
    invrg_rng_item_keys(seed, INVRG_RNG_TIE, samples, c->n, invrg_simd_active(), key0, key1);
    invrg_lanes_tie_coins(key0, key1, c->n, step, Lc, coins);
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
      invrg_lanes_block(c, rules[r], coins, coarse, ties);
      for (int i = 0; i < c->n; i++) {
        const invrg_blockspin_ties t = {rules[r], seed, samples[i], step};
        const int64_t n_ties =
            invrg_blockspin_array(fields + (size_t)i * (size_t)(L * L), L, L, &t, want);
        EXPECT_EQ(ties[i], n_ties, "rule %s, lane %d: ties", invrg_tie_rule_name(rules[r]), i);
        for (int g = 0; g < Lc * Lc; g++)
          EXPECT_EQ((coarse[g] >> i & 1) ? -1 : 1, want[g], "rule %s, lane %d: coarse site %d",
                    invrg_tie_rule_name(rules[r]), i, g);
      }
    }
  }
}

static void check_measures(const invrg_lanes *c, const int8_t *fields) {
  if (c->L >= 2) check_observables_and_lines(c, fields);
  check_operators(c, fields);
}

static void test_measures(void) { for_each_case(check_measures, 1); }
static void test_blocking(void) { for_each_case(check_blocking, 2); }

static const mpi_test_case cases[] = {
    {"measures", test_measures, true},
    {"blocking", test_blocking, true},
};

int main(int argc, char **argv) {
  invrg_log_set_level(INVRG_LOG_WARN);
  return MPI_TEST_MAIN(argc, argv, cases);
}
