/*
 * The correlation engine on 1, 2 and 4 ranks:
 * - results against direct O(N²) sums: S(k) = |Σ_x s_x e^{−ik·x}|²/N and
 *   G(r) = (1/N) Σ_x s_x s_{x+r} for every k and r, on small random lattices
 *   (odd, even, 2 … 16), averaged and jackknifed by the test itself with
 *   stats.h; everything within 1e-12 (relative to the size of the number):
 *   S(0), S(k_min), ξ₂ of the cheap path (line sums) alone, and with the FFT's
 *   functions (G_axis, G_diag, S_radial, maps);
 * - the cheap path's S(0), S(k_min), ξ₂, ξ₂/L and jackknife values are the same
 *   bits with and without the functions;
 * - the FFT's own S(0) and S(k_min) (its map) against the cheap path, one
 *   configuration at a time, random and critical-like (Wolff at K_c), L = 2 … 64:
 *   within 1e-12 relative or two fixed-point quanta;
 * - the line sums against a naive loop, every layout and SIMD level, L up to
 *   4100 (more columns than a chunk of 2048); invrg_corr_add_sums() and invrg_corr_add_partial_sums() give
 *   the bits of invrg_corr_add_configuration();
 * - G_axis(1) = −(E/N)/2 of the same configurations, to rounding;
 * - every layout (groups of 1, 2, 4 ranks; grids 1×n, n×1, 2×2; replicated and
 *   distributed lattices, slabs equal to the blocks or not) gives the same
 *   bits as one rank per group, with and without functions;
 * - single precision (the FFT in float): every layout the same bits as one rank per group,
 *   the cheap path's bits unchanged, the functions against the direct sums and S(k_min) against
 *   the cheap path within the FFT's rounding bound (float_bound()), S(0) exact, also at
 *   8192² where ŝ(0) itself is not exact in float;
 * - packed lattices (invrg_corr_add_packed(), whole or split by rows over the group) give the
 *   bits of the same spins in int8 lattices, with and without functions, in both precisions;
 * - the HDF5 writer: read back what it wrote, no G(r) datasets without functions;
 * - misuse is refused.
 */
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/config.h"
#include "invrg/corr_io.h"
#include "invrg/correlation.h"
#include "invrg/exact.h"
#include "invrg/groups.h"
#include "invrg/h5util.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mc_update.h"
#include "invrg/mcrg.h"
#include "invrg/observables.h"
#include "invrg/packed.h"
#include "invrg/rng.h"
#include "invrg/simd.h"
#include "invrg/stats.h"

#include "mpi/mpi_test.h"

static const uint64_t seed = 777;
enum { N_CONF = 6, N_BLOCKS = 3 };
static const int64_t sizes[] = {2, 4, 5, 6, 8, 12, 16};
enum { N_SIZES = (int)(sizeof sizes / sizeof sizes[0]) };

/* ---------------------------------------------------------------- helpers */

static invrg_groups *make_groups(int rpg, int px) {
  invrg_config cfg;
  invrg_config_defaults(&cfg);
  cfg.parallel.ranks_per_group = rpg;
  cfg.parallel.grid[0] = px;
  invrg_groups *g = NULL;
  OK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
  return g;
}

/* Configuration j of size L: biased coins (up with probability 0.5 ± 0.3), so S(0) > S(k_min). */
static int8_t *configuration(int64_t L, int j) {
  int8_t *a = malloc((size_t)(L * L));
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_INIT, (uint64_t)(L * 100 + j), 0);
  const double p = j % 2 ? 0.2 : 0.8;
  for (int64_t k = 0; k < L * L; k++) a[k] = invrg_rng_bernoulli(&s, (uint64_t)k, 0, p) ? 1 : -1;
  return a;
}

/* The array as a lattice of the group: distributed when the group has several ranks and can. */
static invrg_lattice *to_lattice(const invrg_groups *g, const int8_t *a, int64_t L) {
  invrg_lattice *lat = NULL;
  if (g->ranks_per_group > 1 && invrg_groups_can_distribute(g, L, L, 1))
    OK(invrg_lattice_create_distributed(g, L, L, 1, &lat));
  else
    OK(invrg_lattice_create_replicated(L, L, 1, &lat));
  OK(invrg_lattice_scatter(lat, a));
  return lat;
}

static bool close_to(double a, double b, double scale) {
  return fabs(a - b) <= 1e-12 * (scale > 1 ? scale : 1);
}

/*
 * The rounding bound of a transform of N spins in float: ‖Δŝ‖ ≤ γ‖ŝ‖ with γ = 7ε·log₂N,
 * ε = 2^−24 (Higham, Accuracy and Stability of Numerical Algorithms, §24.1: log₂N levels of
 * butterflies, each within ε + 4√2·ε of exact). With ‖ŝ‖² = N² (Parseval),
 *   one mode:   |ΔS(k)| ≤ (2|ŝ(k)||Δŝ(k)| + |Δŝ(k)|²)/N ≤ 2γ√(S(k)N) + γ²N,
 *   all modes:  Σ_k |ΔS(k)| ≤ (2γ + γ²)·N, so |ΔG(r)| ≤ 2γ + γ² and |ΔS̄| ≤ (2γ + γ²)·N for any
 *               average S̄ of modes; a jackknife error moves by at most 2√(B − 1) times that.
 */
static double float_gamma(double N) { return 7 * 0x1p-24 * log2(N); }
static double float_bound(double N) {
  const double g = float_gamma(N);
  return 2 * sqrt(N_BLOCKS - 1.0) * (2 * g + g * g);
}

/* Every size, N_CONF configurations each, on the layout of @p g, the FFT in @p precision. */
static invrg_corr_results *run(const invrg_groups *g, int64_t map_max_L, bool functions,
                               invrg_corr_precision precision) {
  invrg_corr_params p = {.n_blocks = N_BLOCKS, .map_max_L = map_max_L, .functions = functions,
                         .precision = precision};
  invrg_corr *c = NULL;
  OK(invrg_corr_create(&p, g, &c));
  for (int i = 0; i < N_SIZES; i++)
    for (int64_t k = 0; k < invrg_groups_item_count(g, N_CONF); k++) {
      const int j = (int)invrg_groups_item(g, k);
      int8_t *a = configuration(sizes[i], j);
      invrg_lattice *lat = to_lattice(g, a, sizes[i]);
      OK(invrg_corr_add_configuration(c, lat, invrg_mcrg_block_of(j, N_CONF, N_BLOCKS)));
      invrg_lattice_destroy(&lat);
      free(a);
    }
  OK(invrg_corr_reduce(c));
  invrg_corr_results *r = NULL;
  OK(invrg_corr_analyze(c, &r));
  invrg_corr_destroy(&c);
  return r;
}

/* ---------------------------------------------------------------- direct sums */

static int64_t fold(int64_t n, int64_t L) {
  int64_t m = ((n % L) + L) % L;
  return m < L - m ? m : L - m;
}

/* Shell of mode (nx, ny): |n| of the folded mode numbers, rounded (no ties for integer n²). */
static int shell_of(int64_t nx, int64_t ny, int64_t L) {
  const int64_t fx = fold(nx, L), fy = fold(ny, L);
  return (int)lround(sqrt((double)(fx * fx + fy * fy)));
}

/* Per configuration: the derived vector [S0, S10, S01, G_axis[n_r], G_diag[n_r], S_rad[ns]]. */
typedef struct {
  int64_t L;
  int n_r, ns, len;
  double *S;     /* [L][L] of the current configuration, S[ny * L + nx] */
  double *G;     /* [L][L], G[y * L + x] */
  double *modes; /* [ns] */
} direct;

static void direct_init(direct *d, int64_t L) {
  d->L = L;
  d->n_r = (int)(L / 2 + 1);
  d->ns = shell_of(L / 2, L / 2, L) + 1;
  d->len = 3 + 2 * d->n_r + d->ns;
  d->S = calloc((size_t)(L * L), sizeof *d->S);
  d->G = calloc((size_t)(L * L), sizeof *d->G);
  d->modes = calloc((size_t)d->ns, sizeof *d->modes);
  for (int64_t ny = 0; ny < L; ny++)
    for (int64_t nx = 0; nx < L; nx++) d->modes[shell_of(nx, ny, L)] += 1;
}

static void direct_free(direct *d) {
  free(d->S);
  free(d->G);
  free(d->modes);
}

/* S and G of one configuration by O(N²) sums, and its derived vector. */
static void direct_measure(direct *d, const int8_t *s, double *v) {
  const int64_t L = d->L;
  const double N = (double)(L * L);
  for (int64_t ny = 0; ny < L; ny++)
    for (int64_t nx = 0; nx < L; nx++) {
      double re = 0, im = 0;
      for (int64_t y = 0; y < L; y++)
        for (int64_t x = 0; x < L; x++) {
          const double phase = 2 * M_PI * (double)((nx * x + ny * y) % L) / (double)L;
          re += s[y * L + x] * cos(phase);
          im -= s[y * L + x] * sin(phase);
        }
      d->S[ny * L + nx] = (re * re + im * im) / N;
    }
  for (int64_t ry = 0; ry < L; ry++)
    for (int64_t rx = 0; rx < L; rx++) {
      int64_t sum = 0;
      for (int64_t y = 0; y < L; y++)
        for (int64_t x = 0; x < L; x++) sum += s[y * L + x] * s[((y + ry) % L) * L + (x + rx) % L];
      d->G[ry * L + rx] = (double)sum / N;
    }
  memset(v, 0, (size_t)d->len * sizeof *v);
  v[0] = d->S[0];
  v[1] = d->S[1]; /* (nx, ny) = (1, 0) */
  v[2] = d->S[L]; /* (0, 1) */
  for (int r = 0; r < d->n_r; r++) {
    v[3 + r] = 0.5 * (d->G[r] + d->G[r * L]);
    v[3 + d->n_r + r] = 0.5 * (d->G[r * L + r] + d->G[((L - r) % L) * L + r]);
  }
  for (int64_t ny = 0; ny < L; ny++)
    for (int64_t nx = 0; nx < L; nx++)
      v[3 + 2 * d->n_r + shell_of(nx, ny, L)] += d->S[ny * L + nx] / d->modes[shell_of(nx, ny, L)];
}

/* f of the jackknife: ξ₂/L from block means of [S0, S10, S01]. */
static double xi_over_L(const double *m, const void *ctx) {
  const double L = *(const double *)ctx;
  return sqrt(m[0] / (0.5 * (m[1] + m[2])) - 1) / (2 * sin(M_PI / L)) / L;
}

typedef struct {
  int k;
} component;
static double one_component(const double *m, const void *ctx) {
  return m[((const component *)ctx)->k];
}

/* |a − b| within 1e-12 of @p scale (at least 1), or, for single precision, within the float
 * bound of N spins times @p scale. */
static bool functions_close(double a, double b, double scale, double N,
                            invrg_corr_precision precision) {
  if (precision == INVRG_CORR_SINGLE && fabs(a - b) <= float_bound(N) * scale) return true;
  return close_to(a, b, scale);
}

/* Every number of @p r against the direct sums (all configurations, on every rank); the
 * functions' to the rounding of @p precision (the cheap path never uses the FFT). */
static void check_against_direct(const invrg_corr_results *r, bool functions,
                                 invrg_corr_precision precision) {
  for (int i = 0; i < N_SIZES; i++) {
    const int64_t L = sizes[i];
    const invrg_corr_size *z = invrg_corr_find(r, L);
    EXPECT(z != NULL && z->n_samples == N_CONF && z->n_blocks == N_BLOCKS, "L = %lld: %s",
           (long long)L, z ? "wrong counts" : "missing");
    if (z == NULL) continue;
    EXPECT(z->has_functions == functions && (functions || (z->n_r == 0 && z->n_shells == 0 &&
                                                            !z->has_map)),
           "L = %lld: functions %d, n_r %d, n_shells %d, map %d (asked %d)", (long long)L,
           z->has_functions, z->n_r, z->n_shells, z->has_map, functions);
    direct d;
    direct_init(&d, L);
    double *v = malloc((size_t)d.len * sizeof *v);
    double *block_means = calloc((size_t)(N_BLOCKS * d.len), sizeof *block_means);
    double *S_mean = calloc((size_t)(L * L), sizeof *S_mean);
    double *G_mean = calloc((size_t)(L * L), sizeof *G_mean);
    double energy = 0;
    for (int j = 0; j < N_CONF; j++) {
      int8_t *a = configuration(L, j);
      direct_measure(&d, a, v);
      const int b = invrg_mcrg_block_of(j, N_CONF, N_BLOCKS);
      for (int k = 0; k < d.len; k++) block_means[b * d.len + k] += v[k] / (N_CONF / N_BLOCKS);
      for (int64_t k = 0; k < L * L; k++) {
        S_mean[k] += d.S[k] / N_CONF;
        G_mean[k] += d.G[k] / N_CONF;
      }
      invrg_config_sums sums;
      invrg_observables_sums_array(a, L, L, &sums);
      energy += -(double)sums.bonds / (double)(L * L) / N_CONF;
      free(a);
    }
    const double N = (double)(L * L), Lf = (double)L;
    double value, error;
    /* S(0) and S(k_min) */
    component cc = {0};
    invrg_jackknife(block_means, N_BLOCKS, d.len, one_component, &cc, &value, &error);
    EXPECT(close_to(z->chi_prime, value, N) && close_to(z->chi_prime_err, error, N),
           "L = %lld: S(0) %.15g +- %.15g, direct %.15g +- %.15g", (long long)L, z->chi_prime,
           z->chi_prime_err, value, error);
    invrg_jackknife(block_means, N_BLOCKS, d.len, xi_over_L, &Lf, &value, &error);
    EXPECT(close_to(z->xi2_over_L, value, 1) && close_to(z->xi2_over_L_err, error, 1) &&
               close_to(z->xi2, value * Lf, Lf),
           "L = %lld: xi2/L %.15g +- %.15g, direct %.15g +- %.15g", (long long)L, z->xi2_over_L,
           z->xi2_over_L_err, value, error);
    /* the delete-one values behind that error */
    double fbar = 0, ss = 0;
    for (int b = 0; b < N_BLOCKS; b++) fbar += z->xi2_over_L_jackknife[b] / N_BLOCKS;
    for (int b = 0; b < N_BLOCKS; b++)
      ss += (z->xi2_over_L_jackknife[b] - fbar) * (z->xi2_over_L_jackknife[b] - fbar);
    EXPECT(close_to(sqrt((N_BLOCKS - 1.0) / N_BLOCKS * ss), z->xi2_over_L_err, 1),
           "L = %lld: jackknife values do not give the error", (long long)L);
    /* G_axis, G_diag, S_radial with errors */
    int bad = 0;
    for (int k = 3; functions && k < d.len; k++) {
      cc.k = k;
      invrg_jackknife(block_means, N_BLOCKS, d.len, one_component, &cc, &value, &error);
      const double *got, *got_err;
      double scale = 1;
      if (k < 3 + d.n_r) {
        got = z->G_axis + (k - 3), got_err = z->G_axis_err + (k - 3);
      } else if (k < 3 + 2 * d.n_r) {
        got = z->G_diag + (k - 3 - d.n_r), got_err = z->G_diag_err + (k - 3 - d.n_r);
      } else {
        got = z->S_radial + (k - 3 - 2 * d.n_r), got_err = z->S_radial_err + (k - 3 - 2 * d.n_r);
        scale = N;
      }
      if (!functions_close(*got, value, scale, N, precision) ||
          !functions_close(*got_err, error, scale, N, precision)) {
        if (bad++ < 3)
          EXPECT(false, "L = %lld: component %d: %.15g +- %.15g, direct %.15g +- %.15g",
                 (long long)L, k, *got, *got_err, value, error);
      }
    }
    EXPECT(bad == 0, "L = %lld: %d components differ", (long long)L, bad);
    for (int q = 0; functions && q < d.ns; q++)
      EXPECT(z->shell_modes[q] == d.modes[q], "L = %lld: shell %d has %g modes, direct %g",
             (long long)L, q, z->shell_modes[q], d.modes[q]);
    /* G(1, 0) against the energy of the same configurations */
    const double G_tolerance = precision == INVRG_CORR_SINGLE ? float_bound(N) : 1e-12;
    EXPECT(!functions || fabs(z->G_axis[1] + energy / 2) <= G_tolerance,
           "L = %lld: G_axis(1) %.15g, -(E/N)/2 %.15g", (long long)L,
           functions ? z->G_axis[1] : NAN, -energy / 2);
    EXPECT(!functions ||
               (fabs(z->G_axis[0] - 1) <= G_tolerance && fabs(z->G_diag[0] - 1) <= G_tolerance),
           "L = %lld: G(0) = %.15g, %.15g", (long long)L, functions ? z->G_axis[0] : NAN,
           functions ? z->G_diag[0] : NAN);
    /* whole maps */
    EXPECT(z->has_map == functions, "L = %lld: maps %d, functions %d", (long long)L, z->has_map,
           functions);
    if (z->has_map) {
      const int64_t H = L / 2 + 1;
      bad = 0;
      for (int64_t ny = 0; ny < L; ny++)
        for (int64_t nx = 0; nx < H; nx++)
          bad += !functions_close(z->S_map[ny * H + nx], S_mean[ny * L + nx], N, N, precision);
      for (int64_t k = 0; k < L * L; k++)
        bad += !functions_close(z->G_map[k], G_mean[k], 1, N, precision);
      EXPECT(bad == 0, "L = %lld: %d map entries differ", (long long)L, bad);
    }
    free(v);
    free(block_means);
    free(S_mean);
    free(G_mean);
    direct_free(&d);
  }
}

/* ---------------------------------------------------------------- layouts */

static bool same_bits(const invrg_corr_results *a, const invrg_corr_results *b) {
  if (a->n_sizes != b->n_sizes) return false;
  for (int i = 0; i < a->n_sizes; i++) {
    const invrg_corr_size *x = &a->size[i], *y = &b->size[i];
    if (x->L != y->L || x->n_samples != y->n_samples || x->n_values != y->n_values) return false;
    if (memcmp(&x->chi_prime, &y->chi_prime, 8 * sizeof(double)) != 0) return false;
    if (memcmp(x->values, y->values, (size_t)x->n_values * sizeof(double)) != 0) return false;
  }
  return true;
}

/* The cheap path's numbers of @p a and @p b (one with functions, one without) are the same bits. */
static bool same_cheap_bits(const invrg_corr_results *a, const invrg_corr_results *b) {
  if (a->n_sizes != b->n_sizes) return false;
  for (int i = 0; i < a->n_sizes; i++) {
    const invrg_corr_size *x = &a->size[i], *y = &b->size[i];
    if (x->L != y->L || x->n_samples != y->n_samples || x->n_jackknife != y->n_jackknife)
      return false;
    if (memcmp(&x->chi_prime, &y->chi_prime, 8 * sizeof(double)) != 0) return false;
    if (memcmp(x->xi2_over_L_jackknife, y->xi2_over_L_jackknife,
               (size_t)x->n_jackknife * sizeof(double)) != 0)
      return false;
  }
  return true;
}

/* ---------------------------------------------------------------- writer */

/* Without functions: the scalars and jackknife values, no G(r) or S(k) datasets. */
static void check_cheap_file(hid_t file, const invrg_corr_results *cheap) {
  const invrg_corr_size *z = invrg_corr_find(cheap, 8);
  double xi = 0, jk[N_BLOCKS] = {0};
  hid_t a = H5Aopen_by_name(file, "corr/cheap/L8", "xi2_over_L", H5P_DEFAULT, H5P_DEFAULT);
  EXPECT(a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &xi) >= 0 && xi == z->xi2_over_L,
         "cheap xi2_over_L read back %g, written %g", xi, z->xi2_over_L);
  if (a >= 0) H5Aclose(a);
  hid_t d = H5Dopen2(file, "corr/cheap/L8/xi2_over_L_jackknife", H5P_DEFAULT);
  EXPECT(d >= 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, jk) >= 0 &&
             memcmp(jk, z->xi2_over_L_jackknife, sizeof jk) == 0,
         "cheap xi2_over_L_jackknife read back differs");
  if (d >= 0) H5Dclose(d);
  const char *absent[] = {"r", "G_axis", "G_diag_err", "k", "S_radial", "shell_modes", "S_map"};
  for (size_t k = 0; k < sizeof absent / sizeof absent[0]; k++) {
    char path[64];
    snprintf(path, sizeof path, "corr/cheap/L8/%s", absent[k]);
    EXPECT(H5Lexists(file, path, H5P_DEFAULT) == 0, "%s written without functions", path);
  }
}

static void test_writer(const invrg_corr_results *r, const invrg_corr_results *cheap) {
  char path[64];
  snprintf(path, sizeof path, "test_correlation_np%d.h5", world_size);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
  H5Pset_all_coll_metadata_ops(fapl, 1);
  H5Pset_coll_metadata_write(fapl, 1);
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  EXPECT(file >= 0, "cannot create %s", path);
  OK(invrg_corr_write(r, file, "mc", MPI_COMM_WORLD));
  OK(invrg_corr_write(cheap, file, "cheap", MPI_COMM_WORLD));
  H5Fclose(file);
  H5Pclose(fapl);
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank == 0) {
    const invrg_corr_size *z = invrg_corr_find(r, 8);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    double xi = 0, G[5] = {0}, S_map[8 * 5];
    int64_t n = 0;
    hid_t a = H5Aopen_by_name(file, "corr/mc/L8", "xi2_over_L", H5P_DEFAULT, H5P_DEFAULT);
    EXPECT(a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &xi) >= 0 && xi == z->xi2_over_L,
           "xi2_over_L read back %g, written %g", xi, z->xi2_over_L);
    if (a >= 0) H5Aclose(a);
    a = H5Aopen_by_name(file, "corr/mc/L8", "n_samples", H5P_DEFAULT, H5P_DEFAULT);
    EXPECT(a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &n) >= 0 && n == N_CONF, "n_samples %lld",
           (long long)n);
    if (a >= 0) H5Aclose(a);
    hid_t d = H5Dopen2(file, "corr/mc/L8/G_diag", H5P_DEFAULT);
    EXPECT(d >= 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, G) >= 0 &&
               memcmp(G, z->G_diag, sizeof G) == 0,
           "G_diag read back differs");
    if (d >= 0) H5Dclose(d);
    d = H5Dopen2(file, "corr/mc/L8/S_map", H5P_DEFAULT);
    EXPECT(d >= 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, S_map) >= 0 &&
               memcmp(S_map, z->S_map, sizeof S_map) == 0,
           "S_map read back differs");
    if (d >= 0) H5Dclose(d);
    check_cheap_file(file, cheap);
    H5Fclose(file);
    remove(path);
  }
}

/* ---------------------------------------------------------------- misuse */

static void test_misuse(const invrg_groups *g) {
  invrg_corr_params p = {.n_blocks = 1};
  invrg_corr *c = NULL;
  EXPECT(invrg_corr_create(&p, g, &c) == INVRG_ERR_INPUT && c == NULL,
         "one jackknife block accepted");
  p.n_blocks = 4;
  OK(invrg_corr_create(&p, g, &c));
  invrg_lattice *lat = NULL;
  OK(invrg_lattice_create_replicated(8, 4, 1, &lat));
  if (g->rank == 0)
    EXPECT(invrg_corr_add_configuration(c, lat, 0) == INVRG_ERR_INPUT, "8 x 4 accepted");
  invrg_lattice_destroy(&lat);
  OK(invrg_lattice_create_replicated(4, 4, 1, &lat));
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_INIT, 0, 0);
  invrg_lattice_fill_random(lat, &s);
  EXPECT(invrg_corr_add_configuration(c, lat, 4) != INVRG_SUCCESS, "block 4 of 4 accepted");
  OK(invrg_corr_add_configuration(c, lat, 0));
  invrg_corr_results *r = NULL;
  EXPECT(invrg_corr_analyze(c, &r) != INVRG_SUCCESS && r == NULL, "analyze before reduce");
  OK(invrg_corr_reduce(c));
  EXPECT(invrg_corr_add_configuration(c, lat, 0) != INVRG_SUCCESS,
         "configuration added after the reduction");
  EXPECT(invrg_corr_reduce(c) != INVRG_SUCCESS, "reduced twice");
  /* one block holds every sample: values, but no errors */
  OK(invrg_corr_analyze(c, &r));
  const invrg_corr_size *z = invrg_corr_find(r, 4);
  EXPECT(z && z->n_samples == g->n_groups && z->n_blocks == 1 && isfinite(z->chi_prime) &&
             isnan(z->chi_prime_err) && invrg_corr_find(r, 8) == NULL,
         "one block: %lld samples, %d blocks, S(0) %g +- %g", z ? (long long)z->n_samples : -1LL,
         z ? z->n_blocks : -1, z ? z->chi_prime : NAN, z ? z->chi_prime_err : NAN);
  invrg_corr_results_destroy(&r);
  invrg_lattice_destroy(&lat);
  invrg_corr_destroy(&c);
  invrg_corr_destroy(&c); /* accepts NULL */

  /* the sums' entry point: consistent sums only, and never with functions */
  int64_t rows[4] = {2, 0, -2, 4}, cols[4] = {4, 0, 0, 0};
  OK(invrg_corr_create(&p, g, &c));
  EXPECT_ERR(invrg_corr_add_sums(c, 4, rows, cols, 2, 0), INVRG_ERR_RUNTIME,
             "sums that do not add up to the magnetisation");
  EXPECT_ERR(invrg_corr_add_sums(c, 4, rows, cols, 4, 4), INVRG_ERR_RUNTIME, "block 4 of 4");
  OK(invrg_corr_add_sums(c, 4, rows, cols, 4, 0));
  invrg_corr_destroy(&c);
  p.functions = true;
  OK(invrg_corr_create(&p, g, &c));
  EXPECT_ERR(invrg_corr_add_sums(c, 4, rows, cols, 4, 0), INVRG_ERR_RUNTIME,
             "sums added to an accumulator of functions");
  invrg_corr_destroy(&c);
}

/* Every layout against one rank per group; the first also against the direct sums, the writer and
 * misuse. */
static void test_layouts(void) {
  /* (ranks per group, px): one rank per group first, the reference of the others */
  int layouts[8][2], n_layouts = 0;
  layouts[n_layouts][0] = 1, layouts[n_layouts++][1] = 0;
  for (int rpg = 2; rpg <= world_size; rpg *= 2) {
    layouts[n_layouts][0] = rpg, layouts[n_layouts++][1] = 1;   /* 1 x rpg: blocks are slabs */
    layouts[n_layouts][0] = rpg, layouts[n_layouts++][1] = rpg; /* rpg x 1: half rows */
    if (rpg == 4) layouts[n_layouts][0] = rpg, layouts[n_layouts++][1] = 2; /* 2 x 2 */
  }
  invrg_corr_results *reference = NULL, *cheap_reference = NULL, *single_reference = NULL;
  for (int k = 0; k < n_layouts; k++) {
    invrg_groups *g = make_groups(layouts[k][0], layouts[k][1]);
    snprintf(where, sizeof where, "%d rank(s) per group, grid %d x %d", g->ranks_per_group, g->px,
             g->py);
    invrg_corr_results *r = run(g, 16, true, INVRG_CORR_DOUBLE);
    invrg_corr_results *cheap = run(g, 16, false, INVRG_CORR_DOUBLE);
    invrg_corr_results *single = run(g, 16, true, INVRG_CORR_SINGLE);
    EXPECT(same_cheap_bits(r, cheap), "S(0), S(k_min), xi2 differ with and without functions");
    EXPECT(same_cheap_bits(single, cheap), "S(0), S(k_min), xi2 differ in single precision");
    if (k == 0) {
      check_against_direct(r, true, INVRG_CORR_DOUBLE);
      check_against_direct(cheap, false, INVRG_CORR_DOUBLE);
      check_against_direct(single, true, INVRG_CORR_SINGLE);
      test_writer(r, cheap);
      test_misuse(g);
      reference = r;
      cheap_reference = cheap;
      single_reference = single;
    } else {
      EXPECT(same_bits(reference, r), "results differ from one rank per group");
      EXPECT(same_bits(cheap_reference, cheap),
             "results without functions differ from one rank per group");
      EXPECT(same_bits(single_reference, single),
             "single-precision results differ from one rank per group");
      invrg_corr_results_destroy(&r);
      invrg_corr_results_destroy(&cheap);
      invrg_corr_results_destroy(&single);
    }
    if (world_rank == 0) printf("%s: checked\n", where);
    invrg_groups_destroy(&g);
  }
  invrg_corr_results_destroy(&reference);
  invrg_corr_results_destroy(&cheap_reference);
  invrg_corr_results_destroy(&single_reference);
}

/* ---------------------------------------------------------------- the FFT against the cheap path */

/* Configuration j of size L near criticality: Wolff at K_c for 20 sweeps from a random start. */
static int8_t *critical_configuration(int64_t L, int j) {
  invrg_lattice *lat = NULL;
  invrg_wolff *w = NULL;
  OK(invrg_lattice_create_replicated(L, L, 1, &lat));
  OK(invrg_wolff_create(L, L, &w));
  const invrg_mc_chain chain = {INVRG_K_CRITICAL, seed, (uint64_t)(L * 100 + j), INVRG_RNG_MC, INVRG_RNG_PHILOX};
  invrg_rng_stream init;
  invrg_rng_stream_init(&init, seed, INVRG_RNG_INIT, chain.chain, 1);
  invrg_lattice_fill_random(lat, &init);
  invrg_wolff_reset(w);
  invrg_mc_counts counts = {0};
  OK(invrg_mc_wolff_thermalize(lat, &chain, 20, w, &counts));
  int8_t *a = malloc((size_t)(L * L));
  OK(invrg_lattice_gather(lat, a));
  invrg_wolff_destroy(&w);
  invrg_lattice_destroy(&lat);
  return a;
}

/* |a − b| within 1e-12 of the larger of |b| and 1, or two fixed-point quanta 2^−F. */
static bool agrees(double a, double b, int F) {
  return fabs(a - b) <= fmax(1e-12 * fmax(fabs(b), 1), 2 * ldexp(1.0, -F));
}

/* The FFT's S(k_min) against the cheap path's: to rounding in double, within the float bound
 * of one mode (float_bound()) in single. */
static bool S_kmin_agrees(double fft, double cheap, double N, int F,
                          invrg_corr_precision precision) {
  if (precision == INVRG_CORR_DOUBLE) return agrees(fft, cheap, F);
  const double g = float_gamma(N);
  return fabs(fft - cheap) <= 2 * g * sqrt(cheap * N) + g * g * N + 2 * ldexp(1.0, -F);
}

/*
 * One configuration at a time, with functions and its map, the FFT in double and in single:
 * the FFT's S(0) = S_map(0, 0) and S(k_min) = [S_map(1, 0) + S_map(0, 1)]/2, and (double) the ξ₂
 * they give, against the cheap path's chi_prime, S_kmin and ξ₂. Group 0 measures; every rank
 * checks.
 */
static void test_fft_agrees(void) {
  static const int64_t L_list[] = {2, 3, 4, 5, 8, 13, 16, 32, 33, 64};
  invrg_groups *g = make_groups(1, 0);
  int checked = 0;
  for (size_t i = 0; i < sizeof L_list / sizeof L_list[0]; i++)
    for (int j = 0; j < 12; j++) {
      const int64_t L = L_list[i], H = L / 2 + 1;
      const bool critical = j % 6 >= 3;
      const invrg_corr_precision precision = j < 6 ? INVRG_CORR_DOUBLE : INVRG_CORR_SINGLE;
      snprintf(where, sizeof where, "L = %lld, %s configuration %d, %s", (long long)L,
               critical ? "critical-like" : "random", j % 6,
               invrg_corr_precision_names[precision]);
      int8_t *a = critical ? critical_configuration(L, j % 6) : configuration(L, j % 6);
      invrg_corr_params p = {.n_blocks = 2, .map_max_L = L, .functions = true,
                             .precision = precision};
      invrg_corr *c = NULL;
      OK(invrg_corr_create(&p, g, &c));
      invrg_lattice *lat = NULL;
      OK(invrg_lattice_create_replicated(L, L, 1, &lat));
      OK(invrg_lattice_scatter(lat, a));
      if (g->group == 0) OK(invrg_corr_add_configuration(c, lat, 0));
      OK(invrg_corr_reduce(c));
      invrg_corr_results *r = NULL;
      OK(invrg_corr_analyze(c, &r));
      const invrg_corr_size *z = invrg_corr_find(r, L);
      const int F = z->fixed_point_bits;
      const double S0 = z->S_map[0], Sk = 0.5 * (z->S_map[1] + z->S_map[H]);
      const double xi = sqrt(S0 / Sk - 1) / (2 * sin(M_PI / (double)L));
      EXPECT(z->n_samples == 1 && agrees(z->chi_prime, S0, F) &&
                 S_kmin_agrees(Sk, z->S_kmin, (double)(L * L), F, precision),
             "S(0) %.17g (FFT %.17g), S(k_min) %.17g (FFT %.17g)", z->chi_prime, S0, z->S_kmin,
             Sk);
      /* ordered configurations: S(k_min) = 0 and ξ₂ = ∞ by both */
      EXPECT(precision == INVRG_CORR_SINGLE || (isnan(z->xi2) && isnan(xi)) || z->xi2 == xi ||
                 fabs(z->xi2 - xi) <= 1e-9 * fmax(xi, 1),
             "xi2 %.17g, from the FFT's %.17g", z->xi2, xi);
      checked++;
      invrg_corr_results_destroy(&r);
      invrg_lattice_destroy(&lat);
      invrg_corr_destroy(&c);
      free(a);
    }
  where[0] = '\0';
  if (world_rank == 0) printf("%d configurations: the FFT's S(0), S(k_min) agree\n", checked);
  invrg_groups_destroy(&g);
}

/*
 * Single precision at 8192², where the magnetisation M = N − 2 (one spin down) needs 25 bits and
 * ŝ(0) in float cannot be it: S(0) of the functions (the radial shell 0, k = 0 alone) is still
 * the cheap path's M²/N, to the bit of its fixed point. Group 0 of one rank measures.
 */
static void test_single_zero_mode(void) {
  const int64_t L = 8192;
  invrg_groups *g = make_groups(1, 0);
  invrg_corr_params p = {.n_blocks = 2, .functions = true, .precision = INVRG_CORR_SINGLE};
  invrg_corr *c = NULL;
  OK(invrg_corr_create(&p, g, &c));
  if (g->group == 0) {
    invrg_lattice *lat = NULL;
    OK(invrg_lattice_create_replicated(L, L, 1, &lat));
    for (int64_t y = 0; y < L; y++)
      memset(lat->data + invrg_lattice_index(lat, 0, (int)y), 1, (size_t)L);
    lat->data[invrg_lattice_index(lat, 17, 4000)] = -1;
    OK(invrg_corr_add_configuration(c, lat, 0));
    invrg_lattice_destroy(&lat);
  }
  OK(invrg_corr_reduce(c));
  invrg_corr_results *r = NULL;
  OK(invrg_corr_analyze(c, &r));
  const invrg_corr_size *z = invrg_corr_find(r, L);
  const double N = (double)(L * L), M = N - 2;
  EXPECT(z != NULL && z->n_samples == 1 && z->n_shells > 0 &&
             agrees(z->S_radial[0], z->chi_prime, z->fixed_point_bits) &&
             agrees(z->chi_prime, M * M / N, z->fixed_point_bits),
         "S(0) %.17g, the FFT's %.17g, M^2/N %.17g", z ? z->chi_prime : NAN,
         z ? z->S_radial[0] : NAN, M * M / N);
  invrg_corr_results_destroy(&r);
  invrg_corr_destroy(&c);
  invrg_groups_destroy(&g);
}

/* ---------------------------------------------------------------- packed lattices */

/* The array as a packed lattice of the group: split by rows where the group can, else whole. */
static invrg_packed *to_packed(const invrg_groups *g, const int8_t *a, int64_t L) {
  const int P = g->ranks_per_group;
  invrg_packed *p = NULL;
  OK(invrg_packed_create(P > 1 && L % P == 0 && L / P >= 2 ? g->cart : MPI_COMM_SELF, L, L, &p));
  for (int j = 0; j < p->ny; j++)
    for (int64_t x = 0; x < L; x++) invrg_packed_set(p, x, j, a[(p->y0 + j) * L + x]);
  OK(invrg_packed_halo_exchange(p));
  return p;
}

/* The even sizes' configurations added as int8 lattices and as packed ones: the same bits,
 * every layout, with and without functions, both precisions. */
static void test_packed(void) {
  static const int layouts[3][2] = {{1, 0}, {2, 1}, {4, 2}}; /* (ranks per group, px) */
  for (int k = 0; k < 3 && layouts[k][0] <= world_size; k++)
    for (int variant = 0; variant < 3; variant++) {
      invrg_groups *g = make_groups(layouts[k][0], layouts[k][1]);
      const bool functions = variant > 0;
      const invrg_corr_precision precision = variant == 2 ? INVRG_CORR_SINGLE : INVRG_CORR_DOUBLE;
      snprintf(where, sizeof where, "%d rank(s) per group, grid %d x %d, %s", g->ranks_per_group,
               g->px, g->py,
               functions ? invrg_corr_precision_names[precision] : "without functions");
      invrg_corr_params p = {.n_blocks = N_BLOCKS, .map_max_L = 16, .functions = functions,
                             .precision = precision};
      invrg_corr *c8 = NULL, *cp = NULL;
      OK(invrg_corr_create(&p, g, &c8));
      OK(invrg_corr_create(&p, g, &cp));
      for (int i = 0; i < N_SIZES; i++) {
        if (sizes[i] % 2) continue; /* packed rows: even sides */
        for (int64_t q = 0; q < invrg_groups_item_count(g, N_CONF); q++) {
          const int j = (int)invrg_groups_item(g, q), b = invrg_mcrg_block_of(j, N_CONF, N_BLOCKS);
          int8_t *a = configuration(sizes[i], j);
          invrg_lattice *lat = to_lattice(g, a, sizes[i]);
          invrg_packed *pk = to_packed(g, a, sizes[i]);
          OK(invrg_corr_add_configuration(c8, lat, b));
          OK(invrg_corr_add_packed(cp, pk, b));
          invrg_packed_destroy(&pk);
          invrg_lattice_destroy(&lat);
          free(a);
        }
      }
      invrg_corr_results *r8 = NULL, *rp = NULL;
      OK(invrg_corr_reduce(c8));
      OK(invrg_corr_reduce(cp));
      OK(invrg_corr_analyze(c8, &r8));
      OK(invrg_corr_analyze(cp, &rp));
      EXPECT(r8->n_sizes == 6 && same_bits(r8, rp), "packed results differ from int8 ones");
      EXPECT(!functions || invrg_corr_find(rp, 16)->has_map, "no map from packed lattices");
      if (world_rank == 0) printf("%s: packed checked\n", where);
      invrg_corr_results_destroy(&r8);
      invrg_corr_results_destroy(&rp);
      invrg_corr_destroy(&c8);
      invrg_corr_destroy(&cp);
      invrg_groups_destroy(&g);
    }
  where[0] = '\0';
}

/* ---------------------------------------------------------------- line sums and add_sums */

/* This rank's line sums of @p lat summed over lat->comm against a naive loop over @p a. */
static void check_line_sums(const invrg_lattice *lat, const int8_t *a, int64_t L) {
  int64_t *rows = malloc((size_t)L * sizeof *rows), *cols = malloc((size_t)L * sizeof *cols);
  invrg_corr_line_sums(lat, rows, cols);
  if (lat->mode == INVRG_LATTICE_DISTRIBUTED) {
    MPI_Allreduce(MPI_IN_PLACE, rows, (int)L, MPI_INT64_T, MPI_SUM, lat->comm);
    MPI_Allreduce(MPI_IN_PLACE, cols, (int)L, MPI_INT64_T, MPI_SUM, lat->comm);
  }
  int bad = 0;
  for (int64_t y = 0; y < L; y++) {
    int64_t row = 0, col = 0;
    for (int64_t x = 0; x < L; x++) row += a[y * L + x], col += a[x * L + y];
    bad += rows[y] != row; /* row y */
    bad += cols[y] != col; /* column x = y */
  }
  EXPECT(bad == 0, "%d line sums differ from the naive ones", bad);
  free(rows);
  free(cols);
}

/*
 * The same configurations added three ways to accumulators without functions: by
 * invrg_corr_add_configuration(), by invrg_corr_add_sums() of the whole sums on group rank 0,
 * and by invrg_corr_add_partial_sums() of each rank's part: the same bits.
 */
static void test_sums_layout(const invrg_groups *g) {
  static const int64_t L_list[] = {2, 4, 6, 64, 130, 2100};
  invrg_corr_params p = {.n_blocks = N_BLOCKS};
  invrg_corr *by_config = NULL, *by_sums = NULL, *by_parts = NULL;
  OK(invrg_corr_create(&p, g, &by_config));
  OK(invrg_corr_create(&p, g, &by_sums));
  OK(invrg_corr_create(&p, g, &by_parts));
  for (size_t i = 0; i < sizeof L_list / sizeof L_list[0]; i++) {
    const int64_t L = L_list[i];
    int64_t *rows = malloc((size_t)L * sizeof *rows), *cols = malloc((size_t)L * sizeof *cols);
    for (int j = 0; j < (L > 200 ? 2 : N_CONF); j++) {
      int8_t *a = j % 2 && L <= 64 ? critical_configuration(L, j) : configuration(L, j);
      invrg_lattice *lat = to_lattice(g, a, L);
      const int b = j % N_BLOCKS;
      check_line_sums(lat, a, L);
      OK(invrg_corr_add_configuration(by_config, lat, b));
      invrg_corr_line_sums(lat, rows, cols);
      if (lat->mode == INVRG_LATTICE_DISTRIBUTED) {
        OK(invrg_corr_add_partial_sums(by_parts, L, rows, cols, b, lat->comm));
        MPI_Allreduce(MPI_IN_PLACE, rows, (int)L, MPI_INT64_T, MPI_SUM, lat->comm);
        MPI_Allreduce(MPI_IN_PLACE, cols, (int)L, MPI_INT64_T, MPI_SUM, lat->comm);
      } else if (g->rank == 0) {
        OK(invrg_corr_add_partial_sums(by_parts, L, rows, cols, b, MPI_COMM_SELF));
      }
      int64_t M = 0;
      for (int64_t y = 0; y < L; y++) M += rows[y];
      if (g->rank == 0) OK(invrg_corr_add_sums(by_sums, L, rows, cols, M, b));
      invrg_lattice_destroy(&lat);
      free(a);
    }
    free(rows);
    free(cols);
  }
  invrg_corr *acc[3] = {by_config, by_sums, by_parts};
  invrg_corr_results *r[3] = {NULL, NULL, NULL};
  for (int k = 0; k < 3; k++) {
    OK(invrg_corr_reduce(acc[k]));
    OK(invrg_corr_analyze(acc[k], &r[k]));
    invrg_corr_destroy(&acc[k]);
  }
  EXPECT(r[0]->n_sizes == (int)(sizeof L_list / sizeof L_list[0]), "%d sizes", r[0]->n_sizes);
  EXPECT(same_bits(r[0], r[1]), "invrg_corr_add_sums differs from add_configuration");
  EXPECT(same_bits(r[0], r[2]), "invrg_corr_add_partial_sums differs from add_configuration");
  for (int k = 0; k < 3; k++) invrg_corr_results_destroy(&r[k]);
}

static void test_sums(void) {
  int layouts[8][2], n_layouts = 0;
  layouts[n_layouts][0] = 1, layouts[n_layouts++][1] = 0;
  for (int rpg = 2; rpg <= world_size; rpg *= 2) {
    layouts[n_layouts][0] = rpg, layouts[n_layouts++][1] = 1;
    layouts[n_layouts][0] = rpg, layouts[n_layouts++][1] = rpg;
    if (rpg == 4) layouts[n_layouts][0] = rpg, layouts[n_layouts++][1] = 2;
  }
  for (int k = 0; k < n_layouts; k++) {
    invrg_groups *g = make_groups(layouts[k][0], layouts[k][1]);
    snprintf(where, sizeof where, "%d rank(s) per group, grid %d x %d", g->ranks_per_group, g->px,
             g->py);
    test_sums_layout(g);
    if (world_rank == 0) printf("%s: sums checked\n", where);
    invrg_groups_destroy(&g);
  }
}

/* Configurations j = 0 … n − 1 of side L (configuration(L, 7j + salt)) as line sums, lane by
 * lane (rows[j·L + y]), their magnetisations and blocks. */
static void lane_sums(int64_t L, int n, int salt, int64_t *rows, int64_t *cols, int64_t *M,
                      int *blocks) {
  for (int j = 0; j < n; j++) {
    int8_t *a = configuration(L, 7 * j + salt);
    M[j] = 0;
    for (int64_t k = 0; k < L; k++) rows[j * L + k] = cols[j * L + k] = 0;
    for (int64_t y = 0; y < L; y++)
      for (int64_t x = 0; x < L; x++)
        rows[j * L + y] += a[y * L + x], cols[j * L + x] += a[y * L + x], M[j] += a[y * L + x];
    blocks[j] = (j * 5 + salt) % N_BLOCKS;
    free(a);
  }
}

/*
 * invrg_corr_add_lanes() at every SIMD level against invrg_corr_add_configuration() one
 * configuration at a time (its line powers by the plain loop): the same bits, for groups of
 * lanes that fill CORR_LINE_GROUP and do not, in several blocks; a call with one inconsistent
 * lane, or one lane's block out of range, adds none of its lanes.
 */
static void test_sums_lanes(void) {
  enum { N_LANES = 19, MAX_SIDE = 32 };
  static const int64_t L_list[] = {2, 4, 6, 16, 32};
  const int n_sizes = (int)(sizeof L_list / sizeof L_list[0]);
  invrg_groups *g = make_groups(1, 0); /* a whole lattice on each rank */
  invrg_corr_params p = {.n_blocks = N_BLOCKS};
  invrg_corr *by_config = NULL;
  OK(invrg_corr_create(&p, g, &by_config));
  int64_t rows[N_LANES * MAX_SIDE], cols[N_LANES * MAX_SIDE], M[N_LANES];
  int blocks[N_LANES];
  for (int i = 0; i < n_sizes; i++)
    for (int j = 0; j < N_LANES; j++) {
      int8_t *a = configuration(L_list[i], 7 * j + i);
      invrg_lattice *lat = to_lattice(g, a, L_list[i]);
      OK(invrg_corr_add_configuration(by_config, lat, (j * 5 + i) % N_BLOCKS));
      invrg_lattice_destroy(&lat);
      free(a);
    }
  invrg_corr_results *want = NULL;
  OK(invrg_corr_reduce(by_config));
  OK(invrg_corr_analyze(by_config, &want));
  invrg_corr_destroy(&by_config);
  EXPECT(want->n_sizes == n_sizes, "%d sizes", want->n_sizes);
  for (int level = 0; level < INVRG_SIMD_LEVELS; level++) {
    if (!invrg_simd_runs((invrg_simd_level)level)) continue;
    setenv("INVRG_SIMD", invrg_simd_name((invrg_simd_level)level), 1);
    invrg_simd_reset();
    snprintf(where, sizeof where, "lanes of sums, %s", invrg_simd_name(invrg_simd_active()));
    invrg_corr *by_lanes = NULL;
    OK(invrg_corr_create(&p, g, &by_lanes));
    for (int i = 0; i < n_sizes; i++) {
      const int64_t L = L_list[i];
      lane_sums(L, N_LANES, i, rows, cols, M, blocks);
      const int n = 1 + (9 * i) % N_LANES; /* lanes 0 … n − 1, then the rest */
      int64_t line_rows[N_LANES * MAX_SIDE], line_cols[N_LANES * MAX_SIDE]; /* line by line */
      for (int part = 0; part < 2; part++) {
        const int first = part == 0 ? 0 : n, count = part == 0 ? n : N_LANES - n;
        if (count == 0) continue;
        for (int j = 0; j < count; j++)
          for (int64_t k = 0; k < L; k++)
            line_rows[k * count + j] = rows[(first + j) * L + k],
                              line_cols[k * count + j] = cols[(first + j) * L + k];
        M[first + count / 2] += 2;
        EXPECT_ERR(invrg_corr_add_lanes(by_lanes, L, count, line_rows, line_cols, M + first,
                                        blocks + first),
                   INVRG_ERR_RUNTIME, "a lane whose sums do not add up to its magnetisation");
        M[first + count / 2] -= 2;
        line_rows[0] += 2 * L, line_rows[count] -= 2 * L; /* lane 0's rows 0 and 1: its total */
        EXPECT_ERR(invrg_corr_add_lanes(by_lanes, L, count, line_rows, line_cols, M + first,
                                        blocks + first),
                   INVRG_ERR_RUNTIME, "a row sum beyond ±L");
        line_rows[0] -= 2 * L, line_rows[count] += 2 * L;
        const int kept = blocks[first + count - 1];
        blocks[first + count - 1] = N_BLOCKS;
        EXPECT_ERR(invrg_corr_add_lanes(by_lanes, L, count, line_rows, line_cols, M + first,
                                        blocks + first),
                   INVRG_ERR_RUNTIME, "the last lane's block out of range");
        blocks[first + count - 1] = kept;
        OK(invrg_corr_add_lanes(by_lanes, L, count, line_rows, line_cols, M + first,
                                blocks + first));
      }
    }
    invrg_corr_results *got = NULL;
    OK(invrg_corr_reduce(by_lanes));
    OK(invrg_corr_analyze(by_lanes, &got));
    invrg_corr_destroy(&by_lanes);
    EXPECT(same_bits(want, got), "invrg_corr_add_lanes differs from add_configuration");
    invrg_corr_results_destroy(&got);
  }
  unsetenv("INVRG_SIMD");
  invrg_simd_reset();
  invrg_corr_results_destroy(&want);
  invrg_groups_destroy(&g);
}

/* The line sums at every SIMD level this machine runs, against the naive ones. */
static void test_line_sums_levels(void) {
  invrg_groups *g = make_groups(world_size, 0);
  static const int64_t L_list[] = {2, 4, 8, 62, 64, 66, 128, 2050, 4100};
  for (int level = 0; level < INVRG_SIMD_LEVELS; level++) {
    if (!invrg_simd_runs((invrg_simd_level)level)) continue;
    setenv("INVRG_SIMD", invrg_simd_name((invrg_simd_level)level), 1);
    invrg_simd_reset();
    for (size_t i = 0; i < sizeof L_list / sizeof L_list[0]; i++) {
      const int64_t L = L_list[i];
      snprintf(where, sizeof where, "%s, L = %lld", invrg_simd_name(invrg_simd_active()),
               (long long)L);
      int8_t *a = configuration(L, (int)i);
      invrg_lattice *lat = to_lattice(g, a, L);
      check_line_sums(lat, a, L);
      invrg_lattice_destroy(&lat);
      free(a);
    }
  }
  unsetenv("INVRG_SIMD");
  invrg_simd_reset();
  invrg_groups_destroy(&g);
}

static const mpi_test_case cases[] = {{"layouts", test_layouts, true},
                                      {"line_sums_levels", test_line_sums_levels, true},
                                      {"fft_agrees", test_fft_agrees, true},
                                      {"single_zero_mode", test_single_zero_mode, true},
                                      {"packed", test_packed, true},
                                      {"sums", test_sums, true},
                                      {"sums_lanes", test_sums_lanes, true}};

int main(int argc, char **argv) { return MPI_TEST_MAIN(argc, argv, cases); }
