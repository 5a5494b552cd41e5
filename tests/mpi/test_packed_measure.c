/*
 * Measurements of packed lattices (invrg/packed_measure.h) on 1, 2 and 4 ranks, each equal to
 * its int8 reference exactly:
 *   - natural rows (invrg_packed_natural_row, halo rows included) against invrg_packed_get,
 *     padding bits 0;
 *   - observables against invrg_observables_sums() of the same configuration;
 *   - operator sums of "swendsen", "paper36" and parsed operators against
 *     invrg_operators_evaluate(), also with their terms flattened once (twice used);
 *   - row and column sums against the plain sums of the field.
 * Sizes: 2 x 2 and other tiny ones, 4 x 6, 62, 64, 66, 130, 256, 390 … 2050 (partial,
 * odd and several words per colour row, rows of several AVX-512 vectors), some with one
 * row per rank. Each lattice is split over the largest number of
 * ranks that divides its rows. Fields: random, ordered with few flips (low temperature), two
 * domains, the antiferromagnet. Every kernel level this CPU runs (INVRG_SIMD set in turn; the
 * AVX-512 level with VPOPCNTDQ where the CPU has it and again with its nibble tables).
 *
 *   test_packed_measure [natural] [observables] [operators] [row_col]   (default: all)
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mcrg.h"
#include "invrg/observables.h"
#include "invrg/packed.h"
#include "invrg/packed_measure.h"
#include "invrg/rng.h"
#include "invrg/simd.h"

#include "mpi/mpi_test.h"

enum { N_KINDS = 4 };
static const char *const kind_names[N_KINDS] = {"random", "ordered", "domains", "antiferro"};

/* Field @p kind, the same on every rank: 0 fair coins; 1 all +1 with 3 % flips; 2 −1 left of
 * Lx/3, +1 right of it, 5 % flips; 3 (−1)^(x + y). */
static void make_field(int8_t *a, int64_t lx, int64_t ly, int kind, uint64_t item) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 17, INVRG_RNG_INIT, item, (uint64_t)kind);
  for (int64_t y = 0; y < ly; y++)
    for (int64_t x = 0; x < lx; x++) {
      const uint64_t site = (uint64_t)(y * lx + x);
      const double u = invrg_rng_uniform(&s, site, 0);
      int8_t v = 1;
      if (kind == 0) v = u < 0.5 ? -1 : 1;
      if (kind == 1) v = u < 0.03 ? -1 : 1;
      if (kind == 2) v = (int8_t)((x < lx / 3 ? -1 : 1) * (u < 0.05 ? -1 : 1));
      if (kind == 3) v = (x + y) % 2 ? -1 : 1;
      a[site] = v;
    }
}

/* One configuration: the field, its int8 replicated lattice (halo 2), its packed lattice. */
typedef struct {
  int64_t lx, ly;
  int kind;
  int8_t *a;
  invrg_lattice *rep;
  invrg_packed *p;
} fixture;

typedef void (*check_fn)(const fixture *f);

static const int64_t sizes[][2] = {{2, 2},   {2, 4},     {4, 2},     {4, 6},     {6, 4},
                                   {8, 8},   {62, 62},   {62, 64},   {64, 64},   {66, 66},
                                   {66, 8},  {130, 130}, {130, 132}, {256, 256}, {256, 4},
                                   {300, 6},  {390, 12}, {700, 4},  {900, 260}, {1024, 8},
                                   {2048, 4}, {2050, 6}};

/* The largest number of ranks (dividing the world) that divides @p ly. */
static int ranks_for(int64_t ly) {
  for (int d = world_size; d > 1; d--)
    if (world_size % d == 0 && ly % d == 0) return d;
  return 1;
}

/* Runs @p check on every size, field and kernel level, on the ranks each size uses. */
static void for_each_fixture(check_fn check) {
  int cases = 0;
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    fixture f = {.lx = sizes[k][0], .ly = sizes[k][1]};
    const int d = ranks_for(f.ly);
    MPI_Comm comm = MPI_COMM_NULL;
    MPI_Comm_split(MPI_COMM_WORLD, world_rank < d ? 0 : MPI_UNDEFINED, world_rank, &comm);
    if (comm == MPI_COMM_NULL) continue;
    f.a = malloc((size_t)(f.lx * f.ly));
    for (f.kind = 0; f.kind < N_KINDS; f.kind++) {
      make_field(f.a, f.lx, f.ly, f.kind, k);
      OK(invrg_lattice_create_replicated(f.lx, f.ly, INVRG_MCRG_HALO, &f.rep));
      OK(invrg_lattice_scatter(f.rep, f.a));
      OK(invrg_lattice_halo_exchange(f.rep));
      OK(invrg_packed_create(comm, f.lx, f.ly, &f.p));
      OK(invrg_packed_from_lattice(f.p, f.rep));
      for (int level = 0; level < INVRG_SIMD_LEVELS; level++) {
        if (!invrg_simd_runs((invrg_simd_level)level)) continue;
        setenv("INVRG_SIMD", invrg_simd_name((invrg_simd_level)level), 1);
        invrg_simd_reset();
        /* AVX-512 twice: with VPOPCNTDQ where the CPU has it, and with the nibble tables */
        for (int tables = 0; tables < (level == INVRG_SIMD_AVX512 ? 2 : 1); tables++) {
          invrg_packed_measure_no_vpopcnt(tables == 1);
          snprintf(where, sizeof where, "%lld x %lld on %d rank%s, %s field, %s%s",
                   (long long)f.lx, (long long)f.ly, d, d > 1 ? "s" : "", kind_names[f.kind],
                   invrg_simd_name(invrg_simd_active()), tables ? " (nibble tables)" : "");
          check(&f);
          cases++;
        }
        invrg_packed_measure_no_vpopcnt(false);
      }
      invrg_packed_destroy(&f.p);
      invrg_lattice_destroy(&f.rep);
    }
    free(f.a);
    MPI_Comm_free(&comm);
  }
  unsetenv("INVRG_SIMD");
  invrg_simd_reset();
  if (world_rank == 0) printf("%d cases (size, field, level)\n", cases);
}

/* ---------------------------------------------------------------- cases */

static void check_natural(const fixture *f) {
  const invrg_packed *p = f->p;
  const int n = invrg_packed_natural_words(p);
  uint64_t *row = malloc((size_t)n * sizeof *row);
  int64_t bad = 0, dirty = 0;
  for (int j = -1; j <= p->ny; j++) {
    memset(row, 0xA5, (size_t)n * sizeof *row); /* every word must be written */
    invrg_packed_natural_row(p, j, row);
    for (int64_t x = 0; x < p->lx; x++)
      bad += ((row[x >> 6] >> (x & 63) & 1) ? -1 : 1) != invrg_packed_get(p, x, j);
    if (p->lx % 64 != 0) dirty += (row[n - 1] >> (p->lx % 64)) != 0;
  }
  EXPECT_EQ(bad, 0, "natural-row bits differ from invrg_packed_get");
  EXPECT_EQ(dirty, 0, "natural rows with padding bits set");
  free(row);
}

static void check_observables(const fixture *f) {
  invrg_config_sums want, got;
  OK(invrg_observables_sums(f->rep, &want));
  OK(invrg_packed_observables_sums(f->p, &got));
  EXPECT_EQ(got.bonds, want.bonds, "bond sum");
  EXPECT_EQ(got.magnetisation, want.magnetisation, "magnetisation");
  EXPECT_EQ(got.sites, want.sites, "sites");
}

/* Operators of every parity and spin count, as a run file may define them. */
static const char *const parsed_defs[] = {
    "S(2,2)", "S(2,1)*S(1,2) + s*S(2,2)", "S(0,2)*S(1,1)*S(2,0)",
    "s*S(0,1)*S(0,2) + S(1,0)*S(2,0)*S(2,1) + S(2,2)",
    "S(1,0)*S(0,1)*S(2,1)*S(1,2) + s*S(2,0)*S(0,2)*S(2,2) + S(1,1)*S(2,1)"};

static void compare_operators(const fixture *f, const invrg_operator *ops, int n,
                              const char *set) {
  int64_t *want = calloc((size_t)n, sizeof *want), *got = calloc((size_t)n, sizeof *got);
  OK(invrg_operators_evaluate(ops, n, f->rep, want));
  OK(invrg_packed_operators_evaluate(ops, n, f->p, got));
  for (int k = 0; k < n; k++)
    EXPECT_EQ(got[k], want[k], "%s operator %d '%s'", set, k, ops[k].name);
  invrg_packed_terms *terms = NULL; /* the terms flattened once, as a dream's levels use them */
  OK(invrg_packed_terms_create(ops, n, &terms));
  for (int round = 0; round < 2; round++) {
    memset(got, 0, (size_t)n * sizeof *got);
    OK(invrg_packed_terms_evaluate(terms, f->p, got));
    for (int k = 0; k < n; k++)
      EXPECT_EQ(got[k], want[k], "%s operator %d '%s' (terms made once, use %d)", set, k,
                ops[k].name, round + 1);
  }
  invrg_packed_terms_destroy(&terms);
  free(want);
  free(got);
}

static void check_operators(const fixture *f) {
  static const char *const sets[] = {"swendsen", "paper36"};
  for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
    invrg_operator_set *set = NULL;
    OK(invrg_operator_set_create(sets[k], &set));
    compare_operators(f, set->op, set->n, sets[k]);
    invrg_operator_set_destroy(&set);
  }
  enum { N_PARSED = (int)(sizeof parsed_defs / sizeof parsed_defs[0]) };
  invrg_operator ops[N_PARSED];
  for (int k = 0; k < N_PARSED; k++) {
    char name[24];
    snprintf(name, sizeof name, "parsed%d", k);
    OK(invrg_operator_parse(name, parsed_defs[k], &ops[k]));
  }
  compare_operators(f, ops, N_PARSED, "parsed");
}

static void check_row_col(const fixture *f) {
  const int64_t lx = f->lx, ly = f->ly;
  int64_t *rows = calloc((size_t)ly, sizeof *rows), *cols = calloc((size_t)lx, sizeof *cols);
  int64_t *want_rows = calloc((size_t)ly, sizeof *rows);
  int64_t *want_cols = calloc((size_t)lx, sizeof *cols);
  for (int64_t y = 0; y < ly; y++)
    for (int64_t x = 0; x < lx; x++) {
      want_rows[y] += f->a[y * lx + x];
      want_cols[x] += f->a[y * lx + x];
    }
  OK(invrg_packed_row_col_sums(f->p, rows, cols));
  int64_t bad_rows = 0, bad_cols = 0;
  for (int64_t y = 0; y < ly; y++) bad_rows += rows[y] != want_rows[y];
  for (int64_t x = 0; x < lx; x++) bad_cols += cols[x] != want_cols[x];
  EXPECT_EQ(bad_rows, 0, "row sums differ (row 0: %lld, want %lld)", (long long)rows[0],
            (long long)want_rows[0]);
  EXPECT_EQ(bad_cols, 0, "column sums differ (column 0: %lld, want %lld)", (long long)cols[0],
            (long long)want_cols[0]);
  free(rows);
  free(cols);
  free(want_rows);
  free(want_cols);
}

/* Column sums over more rows than the counters hold between flushes (255). */
static void test_row_col_tall(void) {
  fixture f = {.lx = 66, .ly = 1200};
  const int d = ranks_for(f.ly) > 2 ? 2 : ranks_for(f.ly); /* 600 rows a rank: two flushes */
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, world_rank < d ? 0 : MPI_UNDEFINED, world_rank, &comm);
  if (comm == MPI_COMM_NULL) return;
  f.a = malloc((size_t)(f.lx * f.ly));
  for (f.kind = 0; f.kind < 3; f.kind++) {
    make_field(f.a, f.lx, f.ly, f.kind, 99);
    OK(invrg_lattice_create_replicated(f.lx, f.ly, 1, &f.rep));
    OK(invrg_lattice_scatter(f.rep, f.a));
    OK(invrg_packed_create(comm, f.lx, f.ly, &f.p));
    OK(invrg_packed_from_lattice(f.p, f.rep));
    snprintf(where, sizeof where, "tall %lld x %lld on %d ranks, %s field", (long long)f.lx,
             (long long)f.ly, d, kind_names[f.kind]);
    check_row_col(&f);
    invrg_packed_destroy(&f.p);
    invrg_lattice_destroy(&f.rep);
  }
  free(f.a);
  MPI_Comm_free(&comm);
}

static void test_natural(void) { for_each_fixture(check_natural); }
static void test_observables(void) { for_each_fixture(check_observables); }
static void test_operators(void) { for_each_fixture(check_operators); }
static void test_row_col(void) {
  for_each_fixture(check_row_col);
  test_row_col_tall();
}

static const mpi_test_case cases[] = {
    {"natural", test_natural, true},
    {"observables", test_observables, true},
    {"operators", test_operators, true},
    {"row_col", test_row_col, true},
};

int main(int argc, char **argv) {
  invrg_log_set_level(INVRG_LOG_WARN);
  return MPI_TEST_MAIN(argc, argv, cases);
}
