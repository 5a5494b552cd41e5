/*
 * Compatible Monte Carlo (compatible.h) on 1, 2 and 4 ranks:
 *   - exact: on a 4 × 4 lattice with fixed block spins μ (2 × 2), the averages of E and M² over
 *     many sweeps against their values in P(σ | μ) ∝ exp(K Σ σσ) Π w(block), summed over all 2^16
 *     configurations, within 4 standard errors (batch means of 1000 sweeps), at K_c and K = 0.3,
 *     for two μ; and no block ever leaves its μ (majority μ, or tied);
 *   - layout: a 64 × 64 lattice swept on one rank and split over the ranks: the same spins;
 *   - a block incompatible with its μ is a runtime error.
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "invrg/compatible.h"
#include "invrg/packed.h"
#include "invrg/packed_blockspin.h"

#include "mpi/mpi_test.h"

#define K_CRITICAL 0.44068679350977147

static int bit_spin(unsigned state, int x, int y) { return state >> (4 * y + x) & 1 ? -1 : 1; }

/* Σ_<ij> σσ of a 4 x 4 periodic state (bit 4y + x = 1: spin −1), and M. */
static void state_sums(unsigned state, int *bonds, int *m) {
  *bonds = 0, *m = 0;
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) {
      const int s = bit_spin(state, x, y);
      *bonds += s * (bit_spin(state, (x + 1) % 4, y) + bit_spin(state, x, (y + 1) % 4));
      *m += s;
    }
}

/* Π w(block) of a state given μ[Y][X]: 1, ½ per tied block, 0 if a block's majority is −μ. */
static double blocks_weight(unsigned state, const int mu[2][2]) {
  double w = 1;
  for (int Y = 0; Y < 2; Y++)
    for (int X = 0; X < 2; X++) {
      const int S = bit_spin(state, 2 * X, 2 * Y) + bit_spin(state, 2 * X + 1, 2 * Y) +
                    bit_spin(state, 2 * X, 2 * Y + 1) + bit_spin(state, 2 * X + 1, 2 * Y + 1);
      w *= S == 0 ? 0.5 : (S > 0) == (mu[Y][X] > 0) ? 1 : 0;
    }
  return w;
}

/* Exact ⟨E/N⟩ and ⟨M²/N²⟩ given μ by enumeration. */
static void exact_averages(double K, const int mu[2][2], double *e, double *m2) {
  double Z = 0, se = 0, sm2 = 0;
  for (unsigned state = 0; state < 65536; state++) {
    int bonds, m;
    state_sums(state, &bonds, &m);
    const double w = blocks_weight(state, mu) * exp(K * bonds);
    Z += w, se += w * (-bonds / 16.0), sm2 += w * (m * m / 256.0);
  }
  *e = se / Z, *m2 = sm2 / Z;
}

static void check_exact(double K, const int mu[2][2], uint64_t chain_id) {
  invrg_packed *p = NULL, *blocks = NULL;
  OK(invrg_packed_create(MPI_COMM_SELF, 4, 4, &p));
  OK(invrg_packed_create(MPI_COMM_SELF, 2, 2, &blocks));
  for (int Y = 0; Y < 2; Y++)
    for (int X = 0; X < 2; X++) {
      invrg_packed_set(blocks, X, Y, mu[Y][X]);
      for (int k = 0; k < 4; k++)
        invrg_packed_set(p, 2 * X + (k & 1), 2 * Y + (k >> 1), mu[Y][X]);
    }
  OK(invrg_packed_halo_exchange(p));
  OK(invrg_packed_halo_exchange(blocks));
  const invrg_mc_chain chain = {.K = K, .seed = 17, .chain = chain_id};
  enum { BATCHES = 100, SWEEPS = 1000 };
  double be[BATCHES], bm[BATCHES];
  int64_t bad_blocks = 0;
  for (int b = 0; b < BATCHES; b++) {
    double se = 0, sm = 0;
    for (int t = 0; t < SWEEPS; t++) {
      OK(invrg_compatible_sweep(p, blocks, &chain, (uint64_t)(b * SWEEPS + t)));
      unsigned state = 0;
      for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
          state |= (unsigned)(invrg_packed_get(p, x, y) < 0) << (4 * y + x);
      int bonds, m;
      state_sums(state, &bonds, &m);
      se += -bonds / 16.0, sm += m * m / 256.0;
      bad_blocks += blocks_weight(state, mu) == 0;
    }
    be[b] = se / SWEEPS, bm[b] = sm / SWEEPS;
  }
  double e, m2, me = 0, mm = 0, ve = 0, vm = 0;
  exact_averages(K, mu, &e, &m2);
  for (int b = 0; b < BATCHES; b++) me += be[b] / BATCHES, mm += bm[b] / BATCHES;
  for (int b = 0; b < BATCHES; b++)
    ve += (be[b] - me) * (be[b] - me), vm += (bm[b] - mm) * (bm[b] - mm);
  const double se = sqrt(ve / (BATCHES - 1) / BATCHES), sm = sqrt(vm / (BATCHES - 1) / BATCHES);
  EXPECT(bad_blocks == 0, "K = %g: %lld states with a block against its mu", K,
         (long long)bad_blocks);
  EXPECT(fabs(me - e) < 4 * se, "K = %g: <E/N> = %.6f(%.6f), exact %.6f (%.1f sigma)", K, me, se, e,
         (me - e) / se);
  EXPECT(fabs(mm - m2) < 4 * sm, "K = %g: <m^2> = %.6f(%.6f), exact %.6f (%.1f sigma)", K, mm, sm,
         m2, (mm - m2) / sm);
  invrg_packed_destroy(&blocks);
  invrg_packed_destroy(&p);
}

static void test_exact(void) {
  const int mixed[2][2] = {{1, -1}, {1, 1}}, even[2][2] = {{1, -1}, {-1, 1}};
  check_exact(K_CRITICAL, mixed, 1);
  check_exact(0.3, mixed, 2);
  check_exact(K_CRITICAL, even, 3);
}

/* A 64 x 64 lattice from a random field, its blocks, 5 sweeps: on one rank and split. */
static void sweep_field(MPI_Comm comm, invrg_packed **out) {
  invrg_packed *p = NULL, *blocks = NULL;
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 4, INVRG_RNG_INIT, 0, 0);
  OK(invrg_packed_create(comm, 64, 64, &p));
  OK(invrg_packed_fill_random(p, &s));
  OK(invrg_packed_blockspin_create_coarse(p, &blocks));
  const invrg_blockspin_ties ties = {INVRG_TIE_RANDOM, 4, 0, 1};
  OK(invrg_packed_blockspin_apply(p, &ties, blocks, NULL));
  const invrg_mc_chain chain = {.K = K_CRITICAL, .seed = 4, .chain = 9};
  for (uint64_t t = 0; t < 5; t++) OK(invrg_compatible_sweep(p, blocks, &chain, t));
  invrg_packed_destroy(&blocks);
  *out = p;
}

static void test_layouts(void) {
  invrg_packed *whole = NULL, *split = NULL;
  sweep_field(MPI_COMM_SELF, &whole);
  sweep_field(MPI_COMM_WORLD, &split);
  int64_t bad = 0;
  for (int j = 0; j < split->ny; j++)
    for (int64_t x = 0; x < 64; x++)
      bad += invrg_packed_get(split, x, j) != invrg_packed_get(whole, x, (int)(split->y0 + j));
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  EXPECT(bad == 0, "%lld spins differ between one rank and %d", (long long)bad, world_size);
  invrg_packed_destroy(&split);
  invrg_packed_destroy(&whole);
}

static void test_incompatible(void) {
  invrg_packed *p = NULL, *blocks = NULL;
  OK(invrg_packed_create(MPI_COMM_SELF, 4, 4, &p));      /* all +1 */
  OK(invrg_packed_create(MPI_COMM_SELF, 2, 2, &blocks)); /* all +1, then one −1 */
  invrg_packed_set(blocks, 1, 0, -1);
  OK(invrg_packed_halo_exchange(blocks));
  const invrg_mc_chain chain = {.K = K_CRITICAL, .seed = 1, .chain = 0};
  EXPECT(invrg_compatible_sweep(p, blocks, &chain, 0) == INVRG_ERR_RUNTIME,
         "a block against its mu was swept");
  const invrg_mc_chain ars = {.K = K_CRITICAL, .seed = 1, .chain = 0, .generator = INVRG_RNG_ARS};
  EXPECT(invrg_compatible_sweep(p, blocks, &ars, 0) == INVRG_ERR_INPUT,
         "an ARS chain was swept (compatible sweeps draw Philox only)");
  invrg_error_clear();
  invrg_packed_destroy(&blocks);
  invrg_packed_destroy(&p);
}

static const mpi_test_case cases[] = {{"exact", test_exact, true},
                                      {"layouts", test_layouts, true},
                                      {"incompatible", test_incompatible, true}};

int main(int argc, char **argv) { return MPI_TEST_MAIN(argc, argv, cases); }
