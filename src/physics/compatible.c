/* Compatible Monte Carlo: heat bath of the fine spins given their block spins (compatible.h),
 * the reference implementation, site by site. */
#include "invrg/compatible.h"

#include <math.h>
#include <stdbool.h>

/* The block positions in sweep order: colour 0's (0, 0), (1, 1), then colour 1's (1, 0), (0, 1). */
static const int positions[4][2] = {{0, 0}, {1, 1}, {1, 0}, {0, 1}};

/* w(block): 1 if the block's majority (sum S) is μ, ½ if tied, 0 otherwise. */
static double block_weight(int S, int mu) { return S == 0 ? 0.5 : (S > 0) == (mu > 0) ? 1 : 0; }

/*
 * Thresholds round(P(s = +1)·2^32) as 64-bit numbers (2^32: always up) for h = −4 … 4 (index
 * (h + 4)/2), the sum t of the three other spins of the block (index (t + 3)/2) and μ (index
 * (μ + 1)/2); UINT64_MAX where both weights vanish (a block incompatible with μ).
 */
static void thresholds(double K, uint64_t T[5][4][2]) {
  for (int hi = 0; hi < 5; hi++)
    for (int ti = 0; ti < 4; ti++)
      for (int mi = 0; mi < 2; mi++) {
        const int h = 2 * hi - 4, t = 2 * ti - 3, mu = 2 * mi - 1;
        /* W(s) = exp(K s h) w(block with s) */
        const double up = exp(K * h) * block_weight(t + 1, mu);
        const double down = exp(-K * h) * block_weight(t - 1, mu);
        T[hi][ti][mi] = up + down == 0 ? UINT64_MAX
                                       : (uint64_t)nearbyint(up / (up + down) * 4294967296.0);
      }
}

/* The fine spin at global column x (any integer: periodic) of local row j (−1 … ny). */
static inline int spin(const invrg_packed *p, int64_t x, int j) {
  return invrg_packed_get(p, ((x % p->lx) + p->lx) % p->lx, j);
}

/* Position (a, b) on this rank's rows; false if a block was incompatible with its μ. */
static bool update_position(invrg_packed *p, const invrg_packed *mu, int a, int b,
                            const uint64_t T[5][4][2], const invrg_rng_stream *s) {
  bool compatible = true;
  for (int j = 0; j < p->ny; j++) {
    const int64_t y = p->y0 + j;
    if ((y & 1) != b) continue;
    const int j0 = j - b; /* the block's first row, local */
    const int64_t Y = y >> 1;
    for (int64_t X = 0; X < p->lx / 2; X++) {
      const int64_t x = 2 * X + a;
      const int h = spin(p, x - 1, j) + spin(p, x + 1, j) + spin(p, x, j - 1) + spin(p, x, j + 1);
      const int t = spin(p, 2 * X + (1 - a), j) + spin(p, x, j0 + (1 - b)) +
                    spin(p, 2 * X + (1 - a), j0 + (1 - b));
      const int m = invrg_packed_get(mu, X, (int)(mu->size == 1 ? Y : Y - mu->y0));
      const uint64_t threshold = T[(h + 4) / 2][(t + 3) / 2][(m + 1) / 2];
      if (threshold == UINT64_MAX) {
        compatible = false;
        continue;
      }
      const uint64_t g = (uint64_t)y * (uint64_t)p->lx + (uint64_t)x;
      invrg_packed_set(p, x, j, (uint64_t)invrg_rng_u32(s, g, 0) < threshold ? 1 : -1);
    }
  }
  return compatible;
}

/* True if every block of this rank's rows has majority μ or is tied. */
static bool blocks_compatible(const invrg_packed *p, const invrg_packed *mu) {
  for (int j = 0; j < p->ny; j += 2) {
    const int64_t Y = (p->y0 + j) >> 1;
    for (int64_t X = 0; X < p->lx / 2; X++) {
      const int S = spin(p, 2 * X, j) + spin(p, 2 * X + 1, j) + spin(p, 2 * X, j + 1) +
                    spin(p, 2 * X + 1, j + 1);
      const int m = invrg_packed_get(mu, X, (int)(mu->size == 1 ? Y : Y - mu->y0));
      if (S * m < 0) return false;
    }
  }
  return true;
}

invrg_err invrg_compatible_sweep(invrg_packed *fine, const invrg_packed *mu,
                                 const invrg_mc_chain *chain, uint64_t step) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(chain->K > 0 && isfinite(chain->K), INVRG_ERR_INPUT,
              "compatible Monte Carlo needs a positive finite K, not %g", chain->K);
  INVRG_CHECK(chain->generator == INVRG_RNG_PHILOX, INVRG_ERR_INPUT,
              "compatible sweeps draw with Philox only (ARS is for multispin sweeps)");
  INVRG_CHECK(mu->lx * 2 == fine->lx && mu->ly * 2 == fine->ly && fine->y0 % 2 == 0 &&
                  fine->ny % 2 == 0 && (mu->size == 1 || mu->y0 * 2 == fine->y0),
              INVRG_ERR_RUNTIME,
              "compatible Monte Carlo: block spins of %lld x %lld for a %lld x %lld lattice "
              "(rows %lld + %d)",
              (long long)mu->lx, (long long)mu->ly, (long long)fine->lx, (long long)fine->ly,
              (long long)fine->y0, fine->ny);
  int compatible = blocks_compatible(fine, mu);
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &compatible, 1, MPI_INT, MPI_MIN, fine->comm));
  INVRG_CHECK(compatible, INVRG_ERR_RUNTIME,
              "compatible Monte Carlo: a block's spins disagree with its block spin");
  uint64_t T[5][4][2];
  thresholds(chain->K, T);
  for (int k = 0; k < 4; k++) {
    invrg_rng_stream s;
    invrg_rng_stream_init(&s, chain->seed, invrg_mc_chain_purpose(chain), chain->chain,
                          4 * step + (uint64_t)k);
    compatible &= update_position(fine, mu, positions[k][0], positions[k][1],
                                  (const uint64_t(*)[4][2])T, &s);
    if (k % 2 == 1) { /* a colour done: its halo rows for the other colour's neighbours */
      INVRG_CALL(invrg_packed_halo_begin(fine, k / 2));
      INVRG_CALL(invrg_packed_halo_end(fine, k / 2));
    }
  }
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &compatible, 1, MPI_INT, MPI_MIN, fine->comm));
  INVRG_CHECK(compatible, INVRG_ERR_RUNTIME,
              "compatible Monte Carlo: a block's spins disagree with its block spin");
cleanup:
  return err;
}
