/*
 * Multispin checkerboard Metropolis and heat bath on packed lattices (invrg/multispin.h).
 *
 *   test_multispin [reference] [invariance] [acceptance] [physics]
 *   (default: invariance; on one rank also reference and acceptance, which run on world
 *   rank 0 only and are skipped on more ranks unless named)
 *
 * reference  — every sweep equals, bit for bit, a plain int8 sweep written here from the
 *              contract (the 64-bit u of each site assembled from its 64 planes, u < T(p) with
 *              T(p) = min(round(p·2^64), 2^64 − 1)), for partial-word rows (Lx = 2 … 4160),
 *              rows longer than a piece, and couplings where the thresholds are 0, nearly 1 or
 *              clamped; counts too. Run with INVRG_SIMD=generic|avx2|avx512 for each kernel.
 * invariance — on every group size dividing the world (1, 2, 4 ranks), sweeps of a lattice
 *              split by rows equal the same contract sweep (so every rank count and kernel
 *              gives the same lattice).
 * acceptance — one word per row with its neighbours forced into every class: the fraction of
 *              accepted sites over many sweeps against the threshold probability T·2^-64,
 *              within one family-wise threshold of the binomial error (a wrong bit order,
 *              class or threshold shows at once).
 * physics    — E/N and C/N at K_c on L = 16 and 64 against Kaufman's torus, heat bath and
 *              Metropolis, within one family-wise threshold of the measured errors (τ_int for
 *              E/N, jackknife of blocks for C/N), with bounds on the error bars.
 * A test named for a kernel (INVRG_SIMD set) must run that kernel; it is skipped (77) where the
 * CPU or build lacks it.
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
#include "invrg/multispin.h"
#include "invrg/packed.h"
#include "invrg/rng.h"
#include "invrg/simd.h"
#include "invrg/stats.h"

#include "mpi/mpi_test.h"

static const uint64_t seed = 20250611;

/* The generator of the sweeps under test: every case runs with Philox, then with ARS. */
static invrg_rng_generator gen = INVRG_RNG_PHILOX;
static const char *const gen_names[] = {"philox", "ars"};

/* ---------------------------------------------------------------- the contract, plainly */

static int64_t wrap(int64_t a, int64_t n) { return (a % n + n) % n; }

/* T(p) = min(round(p·2^64), 2^64 − 1), 0 for p ≤ 0. */
static uint64_t ref_threshold(double p) {
  if (!(p > 0)) return 0;
  const double t = nearbyint(p * 18446744073709551616.0);
  return t >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)t;
}

/* The u of the 64 sites of word i of row gy, colour c: bit 63 − j of u[b] is bit b of plane j;
 * bits 32h … 32h + 31 of plane j are word j mod 4 of block (site 2w + h, draw j / 4),
 * w = (c·Ly + gy)·W + i. */
static void ref_word_u(const invrg_rng_stream *s, int64_t ly, int64_t words, int c, int64_t gy,
                       int64_t i, uint64_t u[64]) {
  memset(u, 0, 64 * sizeof *u);
  const uint64_t w = (uint64_t)((c * ly + gy) * words + i);
  for (int j = 0; j < 64; j++) {
    uint32_t lo[4], hi[4];
    invrg_rng_u32x4(s, 2 * w, (uint32_t)(j / 4), lo);
    invrg_rng_u32x4(s, 2 * w + 1, (uint32_t)(j / 4), hi);
    const uint64_t plane = lo[j % 4] | (uint64_t)hi[j % 4] << 32;
    for (int b = 0; b < 64; b++) u[b] |= ((plane >> b) & 1) << (63 - j);
  }
}

/* One sweep of the whole lx × ly array a (colour 0, then 1); returns the spins changed. */
static int64_t ref_sweep(int8_t *a, int64_t lx, int64_t ly, const invrg_mc_chain *ch,
                         uint64_t step, bool heatbath) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, ch->seed, INVRG_RNG_MC, ch->chain, step);
  invrg_rng_stream_use(&s, ch->generator);
  const int64_t half = lx / 2, words = (half + 63) / 64;
  int64_t flips = 0;
  uint64_t u[64];
  for (int c = 0; c < 2; c++)
    for (int64_t y = 0; y < ly; y++)
      for (int64_t i = 0; i < words; i++) {
        ref_word_u(&s, ly, words, c, y, i, u);
        for (int64_t k = 64 * i; k < half && k < 64 * (i + 1); k++) {
          const int64_t x = 2 * k + (y + c) % 2;
          int8_t *site = &a[y * lx + x];
          const int h = a[y * lx + wrap(x - 1, lx)] + a[y * lx + wrap(x + 1, lx)] +
                        a[wrap(y - 1, ly) * lx + x] + a[wrap(y + 1, ly) * lx + x];
          const uint64_t uk = u[k - 64 * i];
          int s_new;
          if (heatbath)
            s_new = uk < ref_threshold(1 / (1 + exp(-2 * ch->K * h))) ? 1 : -1;
          else
            s_new = (*site * h <= 0 || uk < ref_threshold(exp(-2 * ch->K * *site * h))) ? -*site
                                                                                         : *site;
          flips += s_new != *site;
          *site = (int8_t)s_new;
        }
      }
  return flips;
}

static void ref_fill(int8_t *a, int64_t lx, int64_t ly, uint64_t item) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_INIT, item, 0);
  for (int64_t k = 0; k < lx * ly; k++) a[k] = invrg_rng_coin(&s, (uint64_t)k, 0) ? 1 : -1;
}

/* ---------------------------------------------------------------- which cases run where */

static bool cases_named; /* the command line names cases: run them whatever the world size */

/* INVRG_SIMD names a kernel: the case is skipped where this CPU or build cannot run it, and
 * otherwise must run that kernel. True if the case is skipped. */
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
  EXPECT(strcmp(invrg_multispin_kernel(), want) == 0, "INVRG_SIMD=%s runs the %s kernel", want,
         invrg_multispin_kernel());
  return false;
}

/* Work on one process (MPI_COMM_SELF): by default only on one rank, where it is not repeated
 * work; named, on world rank 0 of any world. True if this rank is to do nothing. */
static bool one_process_only(void) {
  if (!cases_named && world_size > 1) {
    mpi_test_skip("one process's work: by default on one rank only; name the case to run it");
    return true;
  }
  return world_rank != 0;
}

/* ---------------------------------------------------------------- reference and invariance */

/* Sweeps of a packed lattice on @p comm against the contract; compares after each sweep. */
static void against_contract(MPI_Comm comm, int64_t lx, int64_t ly, double K, bool heatbath,
                             int sweeps) {
  const size_t n = (size_t)(lx * ly);
  int8_t *a = malloc(n), *got = malloc(n);
  invrg_lattice *rep = NULL;
  invrg_packed *p = NULL;
  ref_fill(a, lx, ly, (uint64_t)lx);
  OK(invrg_lattice_create_replicated(lx, ly, 1, &rep));
  OK(invrg_lattice_scatter(rep, a));
  OK(invrg_packed_create(comm, lx, ly, &p));
  OK(invrg_packed_from_lattice(p, rep));
  const invrg_mc_chain ch = {.K = K, .seed = seed, .chain = 5, .generator = gen};
  for (int k = 0; k < sweeps; k++) {
    const uint64_t step = 77 + (uint64_t)k;
    const int64_t flips = ref_sweep(a, lx, ly, &ch, step, heatbath);
    invrg_mc_counts counts = {.spins_flipped = 3, .accepted = 3, .attempted = 3};
    OK(invrg_multispin_sweep(p, &ch, step, heatbath, &counts));
    OK(invrg_packed_to_lattice(p, rep));
    OK(invrg_lattice_gather(rep, got));
    int64_t bad = 0;
    for (size_t t = 0; t < n; t++) bad += got[t] != a[t];
    EXPECT(bad == 0, "sweep %d: %lld sites differ from the contract", k, (long long)bad);
    EXPECT(counts.spins_flipped == 3 + flips && counts.accepted == 3 + flips &&
               counts.attempted == 3 + lx * ly,
           "sweep %d: counts %lld/%lld/%lld, contract flipped %lld of %lld", k,
           (long long)counts.spins_flipped, (long long)counts.accepted,
           (long long)counts.attempted, (long long)flips, (long long)(lx * ly));
    if (bad != 0) break;
  }
  invrg_packed_destroy(&p);
  invrg_lattice_destroy(&rep);
  free(a);
  free(got);
}

static void test_reference(void) {
  if (kernel_missing() || one_process_only()) return;
  /* partial words (2, 6, 62, 66, 130), whole words (128, 256), rows longer than a piece of 256
   * words (33 000: 258 words a row), 2-row tori */
  static const int64_t sizes[][2] = {{2, 2},  {2, 6},   {4, 4},    {6, 10},  {62, 4},
                                     {66, 6}, {128, 8}, {130, 34}, {256, 16}, {33000, 2}};
  /* K_c; small; large (thresholds with many equal leading bits: many planes); huge (heat bath
   * clamps at 2^64 − 1, Metropolis thresholds 0) */
  static const double couplings[] = {INVRG_K_CRITICAL, 0.1, 1.3, 20.0};
  for (gen = INVRG_RNG_PHILOX; gen <= INVRG_RNG_ARS; gen++)
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
      for (size_t c = 0; c < sizeof couplings / sizeof couplings[0]; c++)
        for (int hb = 0; hb < 2; hb++) {
          snprintf(where, sizeof where, "reference %lld x %lld, K %g, %s, %s kernel, %s",
                   (long long)sizes[k][0], (long long)sizes[k][1], couplings[c],
                   hb ? "heat bath" : "metropolis", invrg_multispin_kernel(), gen_names[gen]);
          against_contract(MPI_COMM_SELF, sizes[k][0], sizes[k][1], couplings[c], hb == 1,
                           sizes[k][0] * sizes[k][1] > 10000 ? 3 : 12);
        }
  gen = INVRG_RNG_PHILOX;
  snprintf(where, sizeof where, "bad coupling");
  invrg_packed *p = NULL;
  OK(invrg_packed_create(MPI_COMM_SELF, 4, 4, &p));
  const double bad_K[] = {0.0, -0.3, NAN, INFINITY};
  for (size_t k = 0; k < sizeof bad_K / sizeof bad_K[0]; k++) {
    const invrg_mc_chain ch = {.K = bad_K[k], .seed = seed, .chain = 0};
    EXPECT_ERR(invrg_multispin_sweep(p, &ch, 0, k % 2 == 0, NULL), INVRG_ERR_INPUT, "K = %g",
               bad_K[k]);
  }
  invrg_error_clear();
  invrg_packed_destroy(&p);
}

static void test_invariance(void) {
  if (kernel_missing()) return;
  /* one, two, three and more rows per rank; partial and whole words; long rows */
  static const int64_t sizes[][2] = {{16, 16}, {66, 4}, {66, 12}, {130, 8}, {256, 32},
                                     {8320, 8}};
  int layouts = 0;
  for (int rpg = 1; rpg <= world_size; rpg *= 2) {
    if (world_size % rpg != 0) continue;
    invrg_config cfg;
    invrg_config_defaults(&cfg);
    cfg.parallel.ranks_per_group = rpg;
    invrg_groups *g = NULL;
    OK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
      if (sizes[k][1] % rpg != 0) continue;
      for (int hb = 0; hb < 2; hb++)
        for (gen = INVRG_RNG_PHILOX; gen <= INVRG_RNG_ARS; gen++) {
          snprintf(where, sizeof where, "invariance %lld x %lld on groups of %d, %s, %s",
                   (long long)sizes[k][0], (long long)sizes[k][1], rpg,
                   hb ? "heat bath" : "metropolis", gen_names[gen]);
          against_contract(g->cart, sizes[k][0], sizes[k][1], INVRG_K_CRITICAL, hb == 1, 4);
        }
      gen = INVRG_RNG_PHILOX;
    }
    invrg_groups_destroy(&g);
    invrg_config_free(&cfg);
    layouts++;
  }
  if (world_rank == 0) printf("invariance: %d group sizes\n", layouts);
}

/* ---------------------------------------------------------------- acceptance */

/* Colour-1 rows of the forced lattice: all −1 where f = 1. With colour-0 row y's neighbours
 * rows y − 1, y (twice) and y + 1, m = f(y−1) + 2 f(y) + f(y+1) takes every value 0 … 4. */
static const int forced_rows[8] = {0, 0, 0, 1, 1, 1, 0, 1};

static int forced_m(int y) {
  return forced_rows[(y + 7) % 8] + 2 * forced_rows[y] + forced_rows[(y + 1) % 8];
}

/* Successes and trials per class: Metropolis by a (neighbours against s; 2 = "2 or more"),
 * heat bath by m (neighbours −1). */
typedef struct {
  int64_t hits[5], trials[5];
} tally;

/* n sweeps from the forced configuration (colour 0 all +1, or all −1 on odd sweeps). */
static void run_forced(double K, bool heatbath, int n, tally *t) {
  const int64_t lx = 128, ly = 8; /* one word per colour row */
  invrg_packed *p = NULL;
  OK(invrg_packed_create(MPI_COMM_SELF, lx, ly, &p));
  const invrg_mc_chain ch = {.K = K, .seed = seed, .chain = 9, .generator = gen};
  memset(t, 0, sizeof *t);
  for (int k = 0; k < n; k++) {
    const uint64_t s0 = k % 2 ? ~UINT64_C(0) : 0;
    for (int y = 0; y < ly; y++) {
      invrg_packed_row(p, 0, y)[0] = s0;
      invrg_packed_row(p, 1, y)[0] = forced_rows[y] ? ~UINT64_C(0) : 0;
    }
    OK(invrg_packed_halo_exchange(p));
    OK(invrg_multispin_sweep(p, &ch, (uint64_t)k, heatbath, NULL));
    for (int y = 0; y < ly; y++) {
      const uint64_t w = invrg_packed_row(p, 0, y)[0];
      const int m = forced_m(y), a = s0 ? 4 - m : m;
      const int cls = heatbath ? m : (a >= 2 ? 2 : a);
      t->hits[cls] += __builtin_popcountll(heatbath ? ~w : w ^ s0); /* +1, or flipped */
      t->trials[cls] += 64;
    }
  }
  invrg_packed_destroy(&p);
}

static void expect_rate(const char *name, int64_t hits, int64_t trials, double p, double z) {
  const double mean = (double)trials * p, sd = sqrt((double)trials * p * (1 - p));
  const double dev = sd > 0 ? ((double)hits - mean) / sd : ((double)hits == mean ? 0 : INFINITY);
  printf("  %-28s %9lld of %9lld  p %.6f  expected %.6f  %+6.2f σ\n", name, (long long)hits,
         (long long)trials, (double)hits / (double)trials, p, dev);
  EXPECT(trials > 0 && fabs(dev) <= z, "%s: %lld of %lld is %.2f σ from p = %.6f", name,
         (long long)hits, (long long)trials, dev, p);
}

static void test_acceptance(void) {
  if (kernel_missing() || one_process_only()) return;
  enum { SWEEPS = 20000 };
  static const double couplings[] = {INVRG_K_CRITICAL, 0.25};
  const int comparisons = 2 * 7; /* per coupling: 2 Metropolis, 5 heat bath; per generator (a
                                  * family of its own) */
  const double z = family_wise_z(FAMILY_WISE_ALPHA, comparisons);
  for (int run = 0; run < 4; run++) {
    const double K = couplings[run % 2];
    gen = (invrg_rng_generator)(run / 2);
    tally t;
    char name[64];
    snprintf(where, sizeof where, "acceptance K = %.6f, %s kernel, %s", K,
             invrg_multispin_kernel(), gen_names[gen]);
    printf("%s, %d sweeps, limit %.2f σ:\n", where, SWEEPS, z);
    run_forced(K, false, SWEEPS, &t);
    for (int a = 0; a < 2; a++) {
      snprintf(name, sizeof name, "metropolis s·h = %d", 4 - 2 * a);
      expect_rate(name, t.hits[a], t.trials[a],
                  ldexp((double)ref_threshold(exp(-2 * K * (4 - 2 * a))), -64), z);
    }
    EXPECT(t.hits[2] == t.trials[2], "metropolis s·h ≤ 0: %lld of %lld flipped",
           (long long)t.hits[2], (long long)t.trials[2]);
    run_forced(K, true, SWEEPS, &t);
    for (int m = 0; m < 5; m++) {
      snprintf(name, sizeof name, "heat bath h = %+d", 4 - 2 * m);
      expect_rate(name, t.hits[m], t.trials[m],
                  ldexp((double)ref_threshold(1 / (1 + exp(-2 * K * (4 - 2 * m)))), -64), z);
    }
  }
  gen = INVRG_RNG_PHILOX;
}

/* ---------------------------------------------------------------- physics */

/* E/N of a packed lattice on one rank (halos valid), from its unequal bonds: every bond joins
 * a colour-0 site to a colour-1 site, so E = −(2N − 2·unequal). Rows of one word (L ≤ 128). */
static double energy_per_site(const invrg_packed *p) {
  int64_t unequal = 0;
  const int64_t half = p->half;
  for (int j = 0; j < p->ny; j++) {
    const uint64_t S = invrg_packed_row(p, 0, j)[0], R = invrg_packed_row(p, 1, j)[0];
    const uint64_t U = invrg_packed_row(p, 1, j - 1)[0], D = invrg_packed_row(p, 1, j + 1)[0];
    /* the other horizontal neighbour: site k − 1 of R if row j of colour 0 starts at x = 0,
     * else k + 1 (a rotation of the half-row) */
    const uint64_t side = (p->y0 + j) % 2 == 0 ? (R << 1 | R >> (half - 1)) & p->tail
                                               : (R >> 1 | R << (half - 1)) & p->tail;
    unequal += __builtin_popcountll(S ^ R) + __builtin_popcountll(S ^ side) +
               __builtin_popcountll(S ^ U) + __builtin_popcountll(S ^ D);
  }
  const double n = (double)(p->lx * p->ly);
  return -2.0 + 2.0 * (double)unequal / n;
}

typedef struct {
  double K, N;
} heat_ctx;

/* C/N = K² N (⟨e²⟩ − ⟨e⟩²) from the means of e = E/N and e². */
static double specific_heat(const double *means, const void *vctx) {
  const heat_ctx *c = vctx;
  return c->K * c->K * c->N * (means[1] - means[0] * means[0]);
}

/* 2 sizes × 2 algorithms × (E/N, C/N), for each generator (a family of its own) */
#define PHYSICS_COMPARISONS 8

static void check_torus(int L, bool heatbath, int n_meas, double max_e_err) {
  enum { N_THERM = 5000, N_BLOCKS = 100 };
  const double K = INVRG_K_CRITICAL, z = family_wise_z(FAMILY_WISE_ALPHA, PHYSICS_COMPARISONS);
  snprintf(where, sizeof where, "L = %d, K_c, %s, %s kernel, %s", L,
           heatbath ? "heat bath" : "metropolis", invrg_multispin_kernel(), gen_names[gen]);
  printf("%s, %d sweeps:\n", where, n_meas);
  invrg_exact_thermo ex;
  EXPECT(invrg_exact_torus(L, K, &ex), "Kaufman oracle failed");
  invrg_packed *p = NULL;
  OK(invrg_packed_create(MPI_COMM_SELF, L, L, &p));
  invrg_rng_stream init;
  invrg_rng_stream_init(&init, seed, INVRG_RNG_INIT, (uint64_t)L, 0);
  OK(invrg_packed_fill_random(p, &init));
  const invrg_mc_chain ch = {.K = K, .seed = seed, .chain = (uint64_t)(2 * L + heatbath),
                             .generator = gen};
  double *e = malloc((size_t)n_meas * sizeof *e);
  for (int k = 0; k < N_THERM + n_meas; k++) {
    OK(invrg_multispin_sweep(p, &ch, (uint64_t)k, heatbath, NULL));
    if (k >= N_THERM) e[k - N_THERM] = energy_per_site(p);
  }
  invrg_series_stats st;
  invrg_stats_series(e, (size_t)n_meas, 0, &st);
  const double dev_e = (st.mean - ex.energy) / st.error;
  printf("  E/N %.7f ± %.7f (τ_int %6.2f)  exact %.7f  %+5.2f σ\n", st.mean, st.error,
         st.tau_int, ex.energy, dev_e);
  EXPECT(st.reliable, "E/N: τ_int %.2f not reliable with %d sweeps", st.tau_int, n_meas);
  EXPECT(fabs(dev_e) <= z, "E/N %.7f ± %.7f is %.2f σ from the exact %.7f", st.mean, st.error,
         dev_e, ex.energy);
  EXPECT(st.error <= max_e_err, "E/N error %.2e above %.1e: too few sweeps to see a slip",
         st.error, max_e_err);

  double blocks[N_BLOCKS][2] = {{0}};
  const int len = n_meas / N_BLOCKS;
  for (int b = 0; b < N_BLOCKS; b++) {
    for (int t = b * len; t < (b + 1) * len; t++) {
      blocks[b][0] += e[t] / len;
      blocks[b][1] += e[t] * e[t] / len;
    }
  }
  const heat_ctx hc = {.K = K, .N = (double)L * L};
  double c, c_err;
  invrg_jackknife(&blocks[0][0], N_BLOCKS, 2, specific_heat, &hc, &c, &c_err);
  const double dev_c = (c - ex.specific_heat) / c_err;
  printf("  C/N %.7f ± %.7f (jackknife)   exact %.7f  %+5.2f σ\n", c, c_err, ex.specific_heat,
         dev_c);
  EXPECT(fabs(dev_c) <= z, "C/N %.7f ± %.7f is %.2f σ from the exact %.7f", c, c_err, dev_c,
         ex.specific_heat);
  EXPECT(c_err <= 0.03 * ex.specific_heat, "C/N error %.2e above 3%% of C/N", c_err);
  free(e);
  invrg_packed_destroy(&p);
}

static void test_physics(void) {
  if (kernel_missing() || world_rank != 0) return; /* work of one process, on world rank 0 */
  for (gen = INVRG_RNG_PHILOX; gen <= INVRG_RNG_ARS; gen++)
    for (int hb = 0; hb < 2; hb++) {
      check_torus(16, hb == 1, 1000000, 1e-3);
      check_torus(64, hb == 1, 1000000, 2e-3);
    }
  gen = INVRG_RNG_PHILOX;
}

/* ---------------------------------------------------------------- main */

static const mpi_test_case cases[] = {
    {"reference", test_reference, true},
    {"invariance", test_invariance, true},
    {"acceptance", test_acceptance, true},
    {"physics", test_physics, false},
};

int main(int argc, char **argv) {
  cases_named = argc >= 2;
  invrg_log_set_level(INVRG_LOG_WARN);
  return MPI_TEST_MAIN(argc, argv, cases);
}
