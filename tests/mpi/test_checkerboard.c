/*
 * Checkerboard Metropolis and heat bath (F3).
 *
 *   test_checkerboard [reference] [invariance] [physics]   (default: reference invariance)
 *
 * reference  — every sweep equals, bit for bit, a plain scalar sweep written
 *              from the contract in invrg/mc_update.h (random-word layout and
 *              thresholds), for awkward sizes and couplings; halos and counts too.
 *              Run with INVRG_SIMD=generic|avx2|avx512 to check each kernel.
 * invariance — on every grid of the world size (ranks_per_group = world size,
 *              and 1), distributed sweeps give the same sites, halos, checksum
 *              and counts as a replicated lattice.
 * physics    — L = 4 against exact enumeration (E/N, ⟨|m|⟩, ⟨m²⟩, ⟨m⁴⟩) and
 *              L = 16 against Kaufman (E/N, C/N), within 3 measured standard
 *              errors; the deviations are printed in units of σ.
 * A test named for a kernel (INVRG_SIMD set) is skipped (77) where the CPU or build lacks it.
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "family_wise.h"
#include "invrg/config.h"
#include "invrg/exact.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mc_update.h"
#include "invrg/rng.h"
#include "invrg/stats.h"

#include "mpi/mpi_test.h"

static const uint64_t seed = 20250604;

/* ---------------------------------------------------------------- the contract, plainly */

static int64_t wrap(int64_t a, int64_t n) { return (a % n + n) % n; }

/* The word of site (gx, gy): block 16·(q/64) + q%16 of draw c, word (q/16)%4, q = (gy·Lx+gx)/2. */
static uint32_t ref_word(const invrg_rng_stream *s, int64_t lx, int64_t gx, int64_t gy) {
  const uint64_t q = (uint64_t)(gy * lx + gx) / 2;
  uint32_t w[4];
  invrg_rng_u32x4(s, 16 * (q / 64) + q % 16, (uint32_t)((gx + gy) % 2), w);
  return w[(q / 16) % 4];
}

/* P(u < T) for a uniform 32-bit u: round(p·2^32), at most 2^32 − 1. */
static double ref_threshold(double p) {
  double t = nearbyint(p * 4294967296.0);
  return t < 0 ? 0 : t > 4294967295.0 ? 4294967295.0 : t;
}

/* One sweep of the whole lx × ly array a; returns the number of spins changed. */
static int64_t ref_sweep(int8_t *a, int64_t lx, int64_t ly, const invrg_mc_chain *ch,
                         uint64_t step, bool heatbath) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, ch->seed, INVRG_RNG_MC, ch->chain, step);
  int64_t flips = 0;
  for (int c = 0; c < 2; c++)
    for (int64_t y = 0; y < ly; y++)
      for (int64_t x = (y + c) % 2; x < lx; x += 2) {
        int8_t *site = &a[y * lx + x];
        const int h = a[y * lx + wrap(x - 1, lx)] + a[y * lx + wrap(x + 1, lx)] +
                      a[wrap(y - 1, ly) * lx + x] + a[wrap(y + 1, ly) * lx + x];
        const double u = ref_word(&s, lx, x, y);
        int s_new;
        if (heatbath)
          s_new = u < ref_threshold(1 / (1 + exp(-2 * ch->K * h))) ? 1 : -1;
        else
          s_new = (*site * h <= 0 || u < ref_threshold(exp(-2 * ch->K * *site * h))) ? -*site
                                                                                      : *site;
        flips += s_new != *site;
        *site = (int8_t)s_new;
      }
  return flips;
}

/* Random ±1 start, the same for every layout. */
static void ref_fill(int8_t *a, int64_t lx, int64_t ly) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_INIT, 7, 0);
  for (int64_t k = 0; k < lx * ly; k++) a[k] = invrg_rng_coin(&s, (uint64_t)k, 0) ? 1 : -1;
}

/* Every stored site of lat, halo included, against the global array at the wrapped position. */
static int64_t mismatches(const invrg_lattice *lat, const int8_t *global) {
  int64_t bad = 0;
  for (int j = -lat->halo; j < lat->ny + lat->halo; j++)
    for (int i = -lat->halo; i < lat->nx + lat->halo; i++)
      bad += lat->data[invrg_lattice_index(lat, i, j)] !=
             global[invrg_lattice_global_site(lat, i, j)];
  return bad;
}

/* ---------------------------------------------------------------- reference */

static void test_reference_case(int64_t lx, int64_t ly, int halo, double K, bool heatbath,
                                int sweeps) {
  snprintf(where, sizeof where, "reference %lld x %lld, halo %d, K %g, %s", (long long)lx,
           (long long)ly, halo, K, heatbath ? "heat bath" : "metropolis");
  const size_t n = (size_t)(lx * ly);
  int8_t *a = malloc(n);
  invrg_lattice *lat = NULL;
  OK(invrg_lattice_create_replicated(lx, ly, halo, &lat));
  ref_fill(a, lx, ly);
  OK(invrg_lattice_scatter(lat, a));
  OK(invrg_lattice_halo_exchange(lat));
  const invrg_mc_chain ch = {.K = K, .seed = seed, .chain = 3};
  for (int k = 0; k < sweeps; k++) {
    const uint64_t step = 1000 + (uint64_t)k;
    const int64_t flips = ref_sweep(a, lx, ly, &ch, step, heatbath);
    invrg_mc_counts counts = {.spins_flipped = 5, .accepted = 5, .attempted = 5};
    OK(invrg_mc_checkerboard_sweep(lat, &ch, step, heatbath, &counts));
    const int64_t bad = mismatches(lat, a);
    EXPECT(bad == 0, "sweep %d: %lld stored sites differ from the reference", k, (long long)bad);
    EXPECT(counts.spins_flipped == 5 + flips && counts.accepted == 5 + flips &&
               counts.attempted == 5 + lx * ly,
           "sweep %d: counts %lld/%lld/%lld, reference flipped %lld of %lld", k,
           (long long)counts.spins_flipped, (long long)counts.accepted,
           (long long)counts.attempted, (long long)flips, (long long)(lx * ly));
    if (bad != 0) break;
  }
  invrg_lattice_destroy(&lat);
  free(a);
}

/* INVRG_SIMD names a kernel this CPU or build cannot run: the case is skipped. */
static bool kernel_missing(void) {
  const char *want = getenv("INVRG_SIMD");
  if (want == NULL || want[0] == '\0' || invrg_mc_checkerboard_kernel_runs(want)) return false;
  char why[96];
  snprintf(why, sizeof why, "this CPU or build cannot run the %s kernel", want);
  mpi_test_skip(why);
  return true;
}

static void test_reference(void) {
  if (kernel_missing()) return;
  /* A test named for a kernel must run that kernel. */
  const char *want = getenv("INVRG_SIMD");
  if (want != NULL && want[0] != '\0')
    EXPECT(strcmp(invrg_mc_checkerboard_kernel(), want) == 0, "INVRG_SIMD=%s runs the %s kernel",
           want, invrg_mc_checkerboard_kernel());
  if (world_rank != 0) return; /* replicated work: the other ranks would repeat it */
  /* Rows not a multiple of 8 (groups straddle rows), tiny and 2-wide tori, long rows (pieces). */
  static const int64_t sizes[][3] = {{4, 4, 1},  {2, 6, 1},   {6, 10, 1},  {16, 16, 1},
                                     {64, 64, 1}, {130, 34, 2}, {2176, 6, 1}, {250, 8, 3}};
  static const double couplings[] = {INVRG_K_CRITICAL, 0.1, 1.3};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
    for (size_t c = 0; c < sizeof couplings / sizeof couplings[0]; c++)
      for (int hb = 0; hb < 2; hb++)
        test_reference_case(sizes[k][0], sizes[k][1], (int)sizes[k][2], couplings[c], hb == 1,
                            sizes[k][0] * sizes[k][1] > 4096 ? 3 : 25);

  /* Bad input: odd sizes and non-positive couplings are input errors. */
  invrg_lattice *lat = NULL;
  invrg_mc_chain ch = {.K = INVRG_K_CRITICAL, .seed = seed, .chain = 0};
  snprintf(where, sizeof where, "bad input");
  OK(invrg_lattice_create_replicated(6, 5, 1, &lat));
  EXPECT(invrg_mc_checkerboard_sweep(lat, &ch, 0, false, NULL) == INVRG_ERR_INPUT, "6 x 5");
  invrg_lattice_destroy(&lat);
  OK(invrg_lattice_create_replicated(4, 4, 1, &lat));
  const double bad_K[] = {0.0, -0.3, NAN, INFINITY};
  for (size_t k = 0; k < sizeof bad_K / sizeof bad_K[0]; k++) {
    ch.K = bad_K[k];
    EXPECT(invrg_mc_checkerboard_sweep(lat, &ch, 0, true, NULL) == INVRG_ERR_INPUT, "K = %g",
           ch.K);
  }
  invrg_error_clear();
  invrg_lattice_destroy(&lat);
}

/* ---------------------------------------------------------------- decomposition invariance */

static void test_invariance_case(const invrg_groups *g, int64_t lx, int64_t ly, int halo) {
  invrg_lattice *rep = NULL, *lat = NULL;
  OK(invrg_lattice_create_replicated(lx, ly, halo, &rep));
  int8_t *a = malloc((size_t)(lx * ly));
  ref_fill(a, lx, ly);
  OK(invrg_lattice_scatter(rep, a));
  OK(invrg_lattice_halo_exchange(rep));
  OK(invrg_lattice_distribute(rep, g, &lat));
  const invrg_mc_chain ch = {.K = INVRG_K_CRITICAL, .seed = seed, .chain = 11};
  for (int phase = 0; phase < 2; phase++) { /* 12 Metropolis sweeps, then 12 heat bath */
    const bool hb = phase == 1;
    invrg_mc_counts c_rep = {0}, c_lat = {0};
    for (uint64_t step = 0; step < 12; step++) {
      OK(invrg_mc_checkerboard_sweep(rep, &ch, 100 * (uint64_t)phase + step, hb, &c_rep));
      OK(invrg_mc_checkerboard_sweep(lat, &ch, 100 * (uint64_t)phase + step, hb, &c_lat));
    }
    OK(invrg_lattice_gather(rep, a));
    uint64_t sum_rep = 0, sum_lat = 0;
    OK(invrg_lattice_checksum(rep, &sum_rep));
    OK(invrg_lattice_checksum(lat, &sum_lat));
    EXPECT(sum_rep == sum_lat, "%s: checksum %016llx, replicated %016llx",
           hb ? "heat bath" : "metropolis", (unsigned long long)sum_lat,
           (unsigned long long)sum_rep);
    const int64_t bad = mismatches(lat, a);
    EXPECT(bad == 0, "%s: %lld stored sites (halo included) differ from the replicated run",
           hb ? "heat bath" : "metropolis", (long long)bad);
    EXPECT(c_lat.spins_flipped == c_rep.spins_flipped && c_lat.attempted == c_rep.attempted,
           "%s: counts %lld of %lld, replicated %lld of %lld", hb ? "heat bath" : "metropolis",
           (long long)c_lat.spins_flipped, (long long)c_lat.attempted,
           (long long)c_rep.spins_flipped, (long long)c_rep.attempted);
  }
  /* And the replicated run is the contract's sweep. */
  int8_t *b = malloc((size_t)(lx * ly));
  ref_fill(b, lx, ly);
  for (int phase = 0; phase < 2; phase++)
    for (uint64_t step = 0; step < 12; step++)
      ref_sweep(b, lx, ly, &ch, 100 * (uint64_t)phase + step, phase == 1);
  EXPECT(memcmp(a, b, (size_t)(lx * ly)) == 0, "replicated run differs from the reference");
  free(b);
  free(a);
  invrg_lattice_destroy(&lat);
  invrg_lattice_destroy(&rep);
}

static void test_invariance(void) {
  if (kernel_missing()) return;
  /* Odd block widths or heights on some grid of 2 and of 4 ranks (colours start at odd x0, y0). */
  static const int64_t lattices[][2] = {{32, 32}, {32, 16}, {18, 14},  {36, 20},
                                        {128, 64}, {130, 34}, {132, 36}};
  int layouts = 0;
  for (int rpg = 1; rpg <= world_size; rpg *= world_size > 1 ? world_size : 2)
    for (int px = 1; px <= rpg; px++) {
      if (rpg % px != 0) continue;
      invrg_config cfg;
      invrg_config_defaults(&cfg);
      cfg.parallel.ranks_per_group = rpg;
      cfg.parallel.grid[0] = px;
      cfg.parallel.grid[1] = rpg / px;
      invrg_groups *g = NULL;
      OK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
      for (size_t l = 0; l < sizeof lattices / sizeof lattices[0]; l++)
        for (int h = 1; h <= 2; h++) {
          snprintf(where, sizeof where, "%lld x %lld, halo %d, %d rank%s, grid %d x %d",
                   (long long)lattices[l][0], (long long)lattices[l][1], h, world_size,
                   world_size > 1 ? "s" : "", g->px, g->py);
          if (invrg_groups_can_distribute(g, lattices[l][0], lattices[l][1], h))
            test_invariance_case(g, lattices[l][0], lattices[l][1], h);
        }
      invrg_groups_destroy(&g);
      invrg_config_free(&cfg);
      layouts++;
    }
  if (world_rank == 0) printf("invariance: %d layouts\n", layouts);
}

/* ---------------------------------------------------------------- physics */

/* E/N and m of a lattice whose halo is valid (as every sweep leaves it). */
static void measure(const invrg_lattice *lat, double *e, double *m) {
  int64_t bonds = 0, sum = 0;
  for (int j = 0; j < lat->ny; j++)
    for (int i = 0; i < lat->nx; i++) {
      const int s = lat->data[invrg_lattice_index(lat, i, j)];
      sum += s;
      bonds += s * (lat->data[invrg_lattice_index(lat, i + 1, j)] +
                    lat->data[invrg_lattice_index(lat, i, j + 1)]);
    }
  const double n = (double)lat->nx * lat->ny;
  *e = -(double)bonds / n;
  *m = (double)sum / n;
}

enum { OBS_E, OBS_ABS_M, OBS_M2, OBS_M4, OBS_E2, N_OBS };

/* Runs a chain on an L × L torus; series[o][k] = observable o after sweep k. */
static void run_chain(int L, double K, bool heatbath, int n_therm, int n_meas, uint64_t chain,
                      double *series[N_OBS]) {
  invrg_lattice *lat = NULL;
  OK(invrg_lattice_create_replicated(L, L, 1, &lat));
  invrg_rng_stream init;
  invrg_rng_stream_init(&init, seed, INVRG_RNG_INIT, chain, 0);
  invrg_lattice_fill_random(lat, &init);
  const invrg_mc_chain ch = {.K = K, .seed = seed, .chain = chain};
  for (int k = 0; k < n_therm + n_meas; k++) {
    OK(invrg_mc_checkerboard_sweep(lat, &ch, (uint64_t)k, heatbath, NULL));
    if (k < n_therm) continue;
    double e, m;
    measure(lat, &e, &m);
    const int t = k - n_therm;
    series[OBS_E][t] = e;
    series[OBS_ABS_M][t] = fabs(m);
    series[OBS_M2][t] = m * m;
    series[OBS_M4][t] = m * m * m * m;
    series[OBS_E2][t] = e * e;
  }
  invrg_lattice_destroy(&lat);
}

/* The 20 comparisons of test_physics() share one threshold (family_wise.h). */
#define PHYSICS_COMPARISONS 20

/* |mean − exact| within the threshold, σ from τ_int; prints the deviation in σ. */
static void expect_mean(const char *name, const double *x, int n, double exact) {
  invrg_series_stats st;
  invrg_stats_series(x, (size_t)n, 0, &st);
  const double dev = (st.mean - exact) / st.error;
  printf("  %-6s %.7f ± %.7f (τ_int %6.2f)  exact %.7f  %+5.2f σ\n", name, st.mean, st.error,
         st.tau_int, exact, dev);
  EXPECT(st.reliable, "%s: τ_int %.2f not reliable with %d measurements", name, st.tau_int, n);
  EXPECT(fabs(dev) <= family_wise_z(FAMILY_WISE_ALPHA, PHYSICS_COMPARISONS),
         "%s: %.7f ± %.7f is %.2f σ from the exact %.7f", name, st.mean, st.error, dev, exact);
}

static void test_exact_L4(double K, bool heatbath) {
  enum { N_THERM = 1000, N_MEAS = 1000000 };
  snprintf(where, sizeof where, "L = 4, K = %.6f, %s", K, heatbath ? "heat bath" : "metropolis");
  printf("%s, %d sweeps:\n", where, N_MEAS);
  invrg_exact_moments ex;
  EXPECT(invrg_exact_enumerate(4, K, &ex), "enumeration failed");
  double *series[N_OBS];
  for (int o = 0; o < N_OBS; o++) series[o] = malloc(N_MEAS * sizeof(double));
  run_chain(4, K, heatbath, N_THERM, N_MEAS, heatbath ? 41 : 40, series);
  expect_mean("E/N", series[OBS_E], N_MEAS, ex.energy);
  expect_mean("|m|", series[OBS_ABS_M], N_MEAS, ex.abs_m);
  expect_mean("m^2", series[OBS_M2], N_MEAS, ex.m2);
  expect_mean("m^4", series[OBS_M4], N_MEAS, ex.m4);
  for (int o = 0; o < N_OBS; o++) free(series[o]);
}

/* C/N = K² N (⟨e²⟩ − ⟨e⟩²) from the means of e = E/N and e². */
typedef struct {
  double K, N;
} heat_ctx;
static double specific_heat(const double *means, const void *vctx) {
  const heat_ctx *c = vctx;
  return c->K * c->K * c->N * (means[1] - means[0] * means[0]);
}

static void test_kaufman_L16(double K) {
  enum { L = 16, N_THERM = 2000, N_MEAS = 400000, N_BLOCKS = 100 };
  snprintf(where, sizeof where, "L = 16, K = %.6f, heat bath", K);
  printf("%s, %d sweeps:\n", where, N_MEAS);
  invrg_exact_thermo ex;
  EXPECT(invrg_exact_torus(L, K, &ex), "Kaufman oracle failed");
  double *series[N_OBS];
  for (int o = 0; o < N_OBS; o++) series[o] = malloc(N_MEAS * sizeof(double));
  run_chain(L, K, true, N_THERM, N_MEAS, 160, series);
  expect_mean("E/N", series[OBS_E], N_MEAS, ex.energy);

  /* Blocks of 4000 sweeps ≫ τ_int: nearly independent, so the jackknife error holds. */
  double blocks[N_BLOCKS][2] = {{0}};
  const int len = N_MEAS / N_BLOCKS;
  for (int b = 0; b < N_BLOCKS; b++) {
    for (int t = b * len; t < (b + 1) * len; t++) {
      blocks[b][0] += series[OBS_E][t];
      blocks[b][1] += series[OBS_E2][t];
    }
    blocks[b][0] /= len;
    blocks[b][1] /= len;
  }
  const heat_ctx hc = {.K = K, .N = L * L};
  double c, c_err;
  invrg_jackknife(&blocks[0][0], N_BLOCKS, 2, specific_heat, &hc, &c, &c_err);
  const double dev = (c - ex.specific_heat) / c_err;
  printf("  %-6s %.7f ± %.7f (jackknife)   exact %.7f  %+5.2f σ\n", "C/N", c, c_err,
         ex.specific_heat, dev);
  EXPECT(fabs(dev) <= family_wise_z(FAMILY_WISE_ALPHA, PHYSICS_COMPARISONS),
         "C/N: %.7f ± %.7f is %.2f σ from the exact %.7f", c, c_err, dev, ex.specific_heat);
  for (int o = 0; o < N_OBS; o++) free(series[o]);
}

static void test_physics(void) {
  if (kernel_missing() || world_rank != 0) return; /* replicated work on world rank 0 only */
  const double couplings[] = {INVRG_K_CRITICAL, 0.40};
  for (int k = 0; k < 2; k++)
    for (int hb = 0; hb < 2; hb++) test_exact_L4(couplings[k], hb == 1);
  for (int k = 0; k < 2; k++) test_kaufman_L16(couplings[k]);
}

/* ---------------------------------------------------------------- main */

static const mpi_test_case cases[] = {
    {"reference", test_reference, true},
    {"invariance", test_invariance, true},
    {"physics", test_physics, false},
};

int main(int argc, char **argv) {
  invrg_log_set_level(INVRG_LOG_WARN);
  return MPI_TEST_MAIN(argc, argv, cases);
}
