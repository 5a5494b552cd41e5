/*
 * The majority rule on packed lattices (invrg/packed_blockspin.h) on 1, 2 and 4 ranks, against
 * invrg_blockspin_apply() on the replicated int8 lattice of the same field:
 *   - every stored coarse spin (halo rows too) and the tie count equal, for the tie rules
 *     random (two items and steps), up and upper_left;
 *   - fields: random, all up, all down, the tie-rich checkerboard and stripes (every block
 *     tied), random blocks half of them tied, and critical-like ones (multispin heat bath at
 *     K_c from random);
 *   - sizes from 4 × 4 to 516 × 8: one and several words per fine and coarse row, whole and
 *     partial, square and not; Ly/P odd (the replicated coarse lattice) on 4 ranks;
 *   - each into the coarse lattice invrg_packed_blockspin_create_coarse() makes and into a
 *     whole one on MPI_COMM_SELF; padding bits 0;
 *   - sizes that cannot block into a packed lattice and mismatched coarse lattices refused.
 *
 * With INVRG_SIMD=generic|avx2|avx512 the cases must run that level's kernel (avx2: the
 * portable one, with AVX2 coins); they are skipped (77) where the CPU or build lacks it.
 *
 *   test_packed_blockspin [equal] [critical] [errors]   (default: all three)
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/blockspin.h"
#include "invrg/exact.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/multispin.h"
#include "invrg/packed.h"
#include "invrg/packed_blockspin.h"
#include "invrg/rng.h"
#include "invrg/simd.h"

#include "mpi/mpi_test.h"

static const uint64_t seed = 4242;

typedef enum { RANDOM, ALL_UP, ALL_DOWN, CHECKER, STRIPES, TIE_RICH, N_FIELDS } field_kind;
static const char *field_names[N_FIELDS] = {"random",       "all up",  "all down",
                                            "checkerboard", "stripes", "tie-rich"};

/* The tie rules and streams tried on every field. */
static const invrg_blockspin_ties tie_cases[] = {
    {INVRG_TIE_RANDOM, 4242, 0, 0},
    {INVRG_TIE_RANDOM, 4242, 7, 12345},
    {INVRG_TIE_UP, 4242, 0, 0},
    {INVRG_TIE_UPPER_LEFT, 4242, 0, 0},
};
enum { N_TIES = sizeof tie_cases / sizeof tie_cases[0] };

/* INVRG_SIMD names a level: skipped (true) where this CPU or build cannot run it; otherwise
 * the blockings must use its kernel. */
static bool kernel_missing(void) {
  const char *want = getenv("INVRG_SIMD");
  if (want == NULL || want[0] == '\0') return false;
  invrg_simd_level level;
  if (!invrg_simd_parse(want, &level) || !invrg_simd_runs(level)) {
    char why[96];
    snprintf(why, sizeof why, "this CPU or build cannot run the %s kernel", want);
    mpi_test_skip(why);
    return true;
  }
  const char *kernel = level == INVRG_SIMD_AVX512 ? "avx512" : "generic";
  EXPECT(strcmp(invrg_packed_blockspin_kernel(), kernel) == 0, "INVRG_SIMD=%s runs the %s kernel",
         want, invrg_packed_blockspin_kernel());
  EXPECT(invrg_simd_active() == level, "INVRG_SIMD=%s: the active level is %s", want,
         invrg_simd_name(invrg_simd_active()));
  return false;
}

/* A field of kind @p k, the same on every rank. TIE_RICH: each block a random tie pattern
 * (two of its four spins −1) or four random spins, by a coin per block. */
static void make_field(int8_t *a, int64_t lx, int64_t ly, field_kind k, uint64_t item) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_INIT, item, 0);
  static const int pairs[6][2] = {{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 3}};
  for (int64_t y = 0; y < ly; y++)
    for (int64_t x = 0; x < lx; x++) {
      const uint64_t i = (uint64_t)(y * lx + x);
      int8_t v = invrg_rng_coin(&s, i, 0) ? 1 : -1;
      if (k == ALL_UP) v = 1;
      if (k == ALL_DOWN) v = -1;
      if (k == CHECKER) v = (x + y) % 2 ? -1 : 1;
      if (k == STRIPES) v = x % 2 ? -1 : 1;
      if (k == TIE_RICH) {
        const uint64_t block = (uint64_t)((y / 2) * (lx / 2) + x / 2);
        uint32_t w[4];
        invrg_rng_u32x4(&s, block, 1, w);
        const int in_block = (int)(2 * (y % 2) + x % 2), *p = pairs[w[1] % 6];
        if (w[0] >> 31) v = in_block == p[0] || in_block == p[1] ? -1 : 1;
      }
      a[i] = v;
    }
}

/* Every stored spin of @p p (halo rows too) against the whole coarse array @p ref, and its
 * padding bits; returns the differences. */
static int64_t differences(const invrg_packed *p, const int8_t *ref) {
  int64_t bad = 0;
  for (int j = -1; j <= p->ny; j++) {
    const int64_t gy = ((p->y0 + j) % p->ly + p->ly) % p->ly;
    for (int64_t x = 0; x < p->lx; x++) bad += invrg_packed_get(p, x, j) != ref[gy * p->lx + x];
    for (int c = 0; c < 2; c++) bad += (invrg_packed_row(p, c, j)[p->words - 1] & ~p->tail) != 0;
  }
  return bad;
}

/* Blocks field @p a both ways, with every tie case, into both coarse layouts. */
static void compare(const int8_t *a, int64_t lx, int64_t ly, const char *what) {
  invrg_lattice *rep = NULL, *c8 = NULL;
  invrg_packed *fine = NULL, *coarse[2] = {NULL, NULL};
  int8_t *ref = malloc((size_t)(lx * ly / 4));
  OK(invrg_lattice_create_replicated(lx, ly, 1, &rep));
  OK(invrg_lattice_scatter(rep, a));
  OK(invrg_lattice_halo_exchange(rep));
  OK(invrg_packed_create(MPI_COMM_WORLD, lx, ly, &fine));
  OK(invrg_packed_from_lattice(fine, rep));
  OK(invrg_packed_blockspin_create_coarse(fine, &coarse[0]));
  OK(invrg_packed_create(MPI_COMM_SELF, lx / 2, ly / 2, &coarse[1]));
  for (int t = 0; t < N_TIES; t++) {
    int64_t nt8 = -1;
    OK(invrg_blockspin(rep, NULL, &tie_cases[t], 1, &c8, &nt8));
    OK(invrg_lattice_gather(c8, ref));
    invrg_lattice_destroy(&c8);
    for (int k = 0; k < 2; k++) {
      snprintf(where, sizeof where, "%s %lld x %lld, ties %s item %llu, coarse %s%s", what,
               (long long)lx, (long long)ly, invrg_tie_rule_name(tie_cases[t].rule),
               (unsigned long long)tie_cases[t].item, k ? "whole" : "made",
               coarse[k]->size == 1 && world_size > 1 ? " (replicated)" : "");
      int64_t nt = -2;
      OK(invrg_packed_blockspin_apply(fine, &tie_cases[t], coarse[k], &nt));
      EXPECT_EQ(differences(coarse[k], ref), 0, "coarse spins differ from int8 blocking");
      EXPECT_EQ(nt, nt8, "tie counts differ");
    }
  }
  where[0] = '\0';
  invrg_packed_destroy(&coarse[0]);
  invrg_packed_destroy(&coarse[1]);
  invrg_packed_destroy(&fine);
  invrg_lattice_destroy(&rep);
  free(ref);
}

static void test_equal(void) {
  if (kernel_missing()) return;
  static const int64_t sizes[][2] = {{4, 4},    {8, 8},    {12, 12},  {4, 8},    {8, 4},
                                     {4, 12},   {60, 60},  {64, 64},  {68, 68},  {124, 124},
                                     {128, 128}, {132, 132}, {252, 20}, {256, 256}, {260, 260},
                                     {516, 8},  {12, 516}};
  int cases = 0;
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    const int64_t lx = sizes[s][0], ly = sizes[s][1];
    int8_t *a = malloc((size_t)(lx * ly));
    for (int k = 0; k < N_FIELDS; k++) {
      make_field(a, lx, ly, (field_kind)k, (uint64_t)(lx * 1000 + ly));
      compare(a, lx, ly, field_names[k]);
      cases++;
    }
    free(a);
  }
  if (world_rank == 0)
    printf("equal: %d fields x %d tie cases x 2 coarse layouts, %s kernel\n", cases, N_TIES,
           invrg_packed_blockspin_kernel());
}

/* Critical-like fields: multispin heat bath at K_c from random, then blocked both ways. */
static void test_critical(void) {
  if (kernel_missing()) return;
  static const int64_t sizes[][2] = {{128, 128}, {260, 132}, {256, 256}};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    const int64_t lx = sizes[s][0], ly = sizes[s][1];
    int8_t *a = malloc((size_t)(lx * ly));
    invrg_packed *p = NULL;
    invrg_lattice *rep = NULL;
    invrg_rng_stream init;
    invrg_rng_stream_init(&init, seed, INVRG_RNG_INIT, (uint64_t)s, 0);
    const invrg_mc_chain chain = {.K = INVRG_K_CRITICAL, .seed = seed, .chain = (uint64_t)s};
    OK(invrg_packed_create(MPI_COMM_WORLD, lx, ly, &p));
    OK(invrg_packed_fill_random(p, &init));
    for (uint64_t step = 0; step < 20; step++)
      OK(invrg_multispin_sweep(p, &chain, step, true, NULL));
    OK(invrg_lattice_create_replicated(lx, ly, 1, &rep));
    OK(invrg_packed_to_lattice(p, rep));
    OK(invrg_lattice_gather(rep, a));
    compare(a, lx, ly, "critical");
    invrg_packed_destroy(&p);
    invrg_lattice_destroy(&rep);
    free(a);
  }
}

static void test_errors(void) {
  static const int64_t bad[][2] = {{2, 2}, {6, 6}, {6, 8}, {8, 6}, {2, 4}};
  invrg_packed *fine = NULL, *coarse = NULL;
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    if (bad[k][1] % world_size != 0) continue;
    OK(invrg_packed_create(MPI_COMM_WORLD, bad[k][0], bad[k][1], &fine));
    EXPECT_ERR(invrg_packed_blockspin_create_coarse(fine, &coarse), INVRG_ERR_INPUT,
               "%lld x %lld accepted", (long long)bad[k][0], (long long)bad[k][1]);
    EXPECT(coarse == NULL, "a rejected coarse lattice was left behind");
    invrg_packed_destroy(&fine);
  }
  /* a coarse lattice of the wrong size, or split unlike the fine rows */
  const invrg_blockspin_ties ties = {INVRG_TIE_UP, seed, 0, 0};
  OK(invrg_packed_create(MPI_COMM_WORLD, 16, 16, &fine));
  OK(invrg_packed_create(MPI_COMM_SELF, 8, 4, &coarse));
  EXPECT_ERR(invrg_packed_blockspin_apply(fine, &ties, coarse, NULL), INVRG_ERR_RUNTIME,
             "8 x 4 coarse accepted for 16 x 16");
  invrg_packed_destroy(&coarse);
  if (world_size > 1) { /* the ranks in reverse order: coarse rows not under the fine ones */
    MPI_Comm reversed;
    MPI_Comm_split(MPI_COMM_WORLD, 0, world_size - world_rank, &reversed);
    OK(invrg_packed_create(reversed, 8, 8, &coarse));
    EXPECT_ERR(invrg_packed_blockspin_apply(fine, &ties, coarse, NULL), INVRG_ERR_RUNTIME,
               "a coarse lattice on the ranks in reverse order accepted");
    invrg_packed_destroy(&coarse);
    MPI_Comm_free(&reversed);
  }
  invrg_packed_destroy(&fine);
  invrg_error_clear();
}

/* ---------------------------------------------------------------- main */

static const mpi_test_case cases[] = {
    {"equal", test_equal, true},
    {"critical", test_critical, true},
    {"errors", test_errors, true},
};

int main(int argc, char **argv) {
  invrg_log_set_level(INVRG_LOG_WARN);
  return MPI_TEST_MAIN(argc, argv, cases);
}
