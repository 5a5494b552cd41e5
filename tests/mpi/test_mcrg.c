/*
 * The MCRG engine on 1, 2 and 4 ranks:
 * - a case with a known answer: fine = nearest-neighbour upsampled coarse (so
 *   the majority rule gives the coarse lattice back, without ties). Every fine
 *   operator of 'swendsen' is then a constant plus a combination M of coarse
 *   ones, S^f = c + M S^c, so B = A Mᵀ and T = Mᵀ exactly, for any samples:
 *     even (nn, nnn, plaquette, third_nn): nn^f = 2 nn^c, nnn^f = 2 nn^c + nnn^c,
 *       plaquette^f = plaquette^c, third_nn^f = 4 nn^c   → eigenvalues 2, 1, 1, 0
 *     odd (s, three_corner, three_row): s^f = 4 s^c, three_corner^f = 12 s^c +
 *       three_corner^c, three_row^f = 8 s^c              → eigenvalues 4, 1, 0
 *   (constants dropped; derivation in the comments of expected_T). For
 *   'paper36' the columns of s, s*S(1,0) and s*S(2,0) are known: s^f = 4 s^c,
 *   (s*S(1,0))^f = 2 (s*S(1,0))^c + const, (s*S(2,0))^f = 4 (s*S(1,0))^c.
 *   Fed as explicit pairs (level 1) and as configurations upsampled twice (level 2);
 * - results bit-identical on every layout (groups, grids), explicit pairs too;
 * - the jackknife of the N_c = 1 eigenvalue equals stats.h's invrg_jackknife
 *   applied to block means the test computes itself (tie coins as documented);
 * - the HDF5 writer: read back what it wrote;
 * - misuse is refused;
 * - the exact sums of pairs given by their operator sums (kept in plain int64 between blocks,
 *   exact in 128 bits where they could overflow): every record of the exported state against
 *   128-bit sums the test makes itself, at pair sums of every magnitude, blocks changing back
 *   and forth, exported mid-way and at the end.
 */
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/blockspin.h"
#include "invrg/config.h"
#include "invrg/groups.h"
#include "invrg/h5util.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mcrg.h"
#include "invrg/mcrg_io.h"
#include "invrg/rng.h"
#include "invrg/simd.h"
#include "invrg/stats.h"

#include "mpi/mpi_test.h"
#include "physics/mcrg_internal.h" /* the layout of the exported records */

static const uint64_t seed = 4242;

/* ---------------------------------------------------------------- helpers */

static invrg_groups *make_groups(int rpg) {
  invrg_config cfg;
  invrg_config_defaults(&cfg);
  cfg.parallel.ranks_per_group = rpg;
  invrg_groups *g = NULL;
  OK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
  return g;
}

static int8_t *random_array(int64_t lx, int64_t ly, uint64_t item) {
  int8_t *a = malloc((size_t)(lx * ly));
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_INIT, item, 0);
  for (int64_t k = 0; k < lx * ly; k++) a[k] = invrg_rng_coin(&s, (uint64_t)k, 0) ? 1 : -1;
  return a;
}

/* fine(y, x) = coarse(y/2, x/2): docs/physics.md §4's nearest-neighbour upsampling. */
static int8_t *upsample(const int8_t *c, int64_t lx, int64_t ly) {
  int8_t *f = malloc((size_t)(4 * lx * ly));
  for (int64_t y = 0; y < 2 * ly; y++)
    for (int64_t x = 0; x < 2 * lx; x++) f[y * 2 * lx + x] = c[(y / 2) * lx + x / 2];
  return f;
}

/* The array as a lattice of the group: distributed when the group has several ranks and can. */
/* Halo 1: the accumulators copy the lattices; halo INVRG_MCRG_HALO: they read them in place. */
static int lattice_halo = 1;

static invrg_lattice *to_lattice(const invrg_groups *g, const int8_t *a, int64_t lx, int64_t ly) {
  invrg_lattice *lat = NULL;
  const int h = lattice_halo;
  if (g->ranks_per_group > 1 && invrg_groups_can_distribute(g, lx, ly, h))
    OK(invrg_lattice_create_distributed(g, lx, ly, h, &lat));
  else
    OK(invrg_lattice_create_replicated(lx, ly, h, &lat));
  OK(invrg_lattice_scatter(lat, a));
  OK(invrg_lattice_halo_exchange(lat));
  return lat;
}

/*
 * Standard MCRG of @p lat: with halo 1 by invrg_mcrg_add_configuration (copies), with halo
 * INVRG_MCRG_HALO by invrg_mcrg_add_configuration_into with a chain of our own, as stage dream
 * lends its lower levels.
 */
static void add_configuration(invrg_mcrg *m, const invrg_groups *g, const invrg_lattice *lat,
                              int n_levels, uint64_t item, uint64_t sample, int block) {
  if (lattice_halo < INVRG_MCRG_HALO) {
    OK(invrg_mcrg_add_configuration(m, lat, item, sample, block));
    return;
  }
  invrg_lattice *chain[INVRG_MCRG_MAX_LEVELS] = {NULL};
  for (int n = 0; n < n_levels; n++)
    OK(invrg_blockspin_create_coarse(n == 0 ? lat : chain[n - 1], g, INVRG_MCRG_HALO, &chain[n]));
  /* the sums given by the caller (odd samples) or computed inside (even ones) */
  int64_t *sums = malloc((size_t)invrg_mcrg_n_operators(m) * sizeof *sums);
  if (sample % 2 == 1) OK(invrg_mcrg_operator_sums(m, lat, sums));
  OK(invrg_mcrg_add_configuration_into(m, lat, sample % 2 == 1 ? sums : NULL, chain, item, sample,
                                       block));
  free(sums);
  for (int n = 0; n < n_levels; n++) invrg_lattice_destroy(&chain[n]);
}

static invrg_mcrg *make_mcrg(const invrg_groups *g, int n_levels, int n_blocks) {
  invrg_mcrg_params p = {.n_sets = 2,
                         .sets = {"swendsen", "paper36"},
                         .n_levels = n_levels,
                         .n_blocks = n_blocks,
                         .tie_rule = INVRG_TIE_RANDOM,
                         .seed = seed};
  invrg_mcrg *m = NULL;
  OK(invrg_mcrg_create(&p, g, &m));
  return m;
}

static bool close_to(double a, double b, double tol) { return fabs(a - b) <= tol; }

/* ---------------------------------------------------------------- known T */

/*
 * T = Mᵀ with S^f = const + M S^c (rows fine operator, columns coarse), for
 * fine = upsampled coarse. Fine windows classified by the parity of (y, x):
 * a window inside one 2×2 block contributes a constant (products of squares);
 * windows across blocks give the coarse operator or lower ones, e.g. for nnn's
 * diagonal s(y,x) s(y−1,x−1): (odd, odd) 1, (odd, even) a horizontal coarse
 * bond, (even, odd) a vertical one, (even, even) the coarse diagonal, so
 * nnn^f = 2 N_c + 2 nn^c + nnn^c.
 */
static const double T_even[4][4] = {{2, 2, 0, 4}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 0}};
static const double T_odd[3][3] = {{4, 12, 8}, {0, 1, 0}, {0, 0, 0}};
static const double eig_even[4] = {2, 1, 1, 0}, eig_odd[3] = {4, 1, 0};

static void check_known_T(const invrg_mcrg_results *r, int level, const char *how) {
  const double tol = 1e-9;
  const invrg_mcrg_level *L = invrg_mcrg_result(r, 0, level);
  EXPECT(L->n_samples == 64 && L->n_blocks == 8, "%s level %d: %lld samples in %d blocks", how,
         level, (long long)L->n_samples, L->n_blocks);
  EXPECT(L->tie_fraction == 0, "%s level %d: tie fraction %g, want 0", how, level, L->tie_fraction);
  for (int q = 0; q < 2; q++) {
    const invrg_mcrg_sector *sec = &L->sector[q];
    const int n = q == 0 ? 4 : 3;
    EXPECT(sec->n == n, "%s: sector %d has %d operators", how, q, sec->n);
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        double want = q == 0 ? T_even[i][j] : T_odd[i][j];
        EXPECT(close_to(sec->T[i * n + j], want, tol),
               "%s level %d swendsen %s T[%d][%d] = %.12g, want %g", how, level, q ? "odd" : "even",
               i, j, sec->T[i * n + j], want);
      }
      double want = q == 0 ? eig_even[i] : eig_odd[i];
      EXPECT(close_to(sec->eig[2 * i], want, 1e-6) && close_to(sec->eig[2 * i + 1], 0, 1e-6),
             "%s level %d swendsen %s eigenvalue %d = %g%+gi, want %g", how, level,
             q ? "odd" : "even", i, sec->eig[2 * i], sec->eig[2 * i + 1], want);
      if (want != 0)
        EXPECT(sec->eig_err[2 * i] < 1e-8, "%s level %d: jackknife error %g of an exact eigenvalue",
               how, level, sec->eig_err[2 * i]);
    }
  }
  EXPECT(close_to(L->y_t, 1, 1e-9) && close_to(L->y_h, 2, 1e-9) && L->y_t_err < 1e-8 &&
             L->y_h_err < 1e-8,
         "%s level %d: y_t %.12g +- %g, y_h %.12g +- %g; want 1 and 2 exactly", how, level, L->y_t,
         L->y_t_err, L->y_h, L->y_h_err);

  /* paper36: known columns. Odd sector index 0 = s; even sector 0 = s*S(1,0), 2 = s*S(2,0). */
  const invrg_mcrg_level *P = invrg_mcrg_result(r, 1, level);
  const invrg_mcrg_sector *ev = &P->sector[INVRG_MCRG_EVEN], *od = &P->sector[INVRG_MCRG_ODD];
  EXPECT(ev->n == 25 && od->n == 11 && ev->index[0] == 1 && ev->index[2] == 3 && od->index[0] == 0,
         "paper36 sectors %d + %d", ev->n, od->n);
  for (int i = 0; i < od->n; i++)
    EXPECT(close_to(od->T[i * od->n], i == 0 ? 4 : 0, 1e-8), "%s paper36 odd T[%d][0] = %.12g", how,
           i, od->T[i * od->n]);
  for (int i = 0; i < ev->n; i++) {
    EXPECT(close_to(ev->T[i * ev->n], i == 0 ? 2 : 0, 1e-8), "%s paper36 even T[%d][0] = %.12g",
           how, i, ev->T[i * ev->n]);
    EXPECT(close_to(ev->T[i * ev->n + 2], i == 0 ? 4 : 0, 1e-8), "%s paper36 even T[%d][2] = %.12g",
           how, i, ev->T[i * ev->n + 2]);
  }
  /* The duplicate 32 = 16 makes A singular; the pseudo-inverse must still give finite T. */
  for (int k = 0; k < ev->n * ev->n; k++)
    if (!isfinite(ev->T[k])) {
      EXPECT(false, "%s paper36 even T has non-finite entries", how);
      break;
    }
}

/* Upsampled pairs: explicit (level 1) and as configurations upsampled twice (levels 1, 2). */
static void run_known(const invrg_groups *g, invrg_mcrg_results **pairs_out,
                      invrg_mcrg_results **conf_out) {
  invrg_mcrg *pairs = make_mcrg(g, 1, 8), *conf = make_mcrg(g, 2, 8);
  const int64_t n_items = 64, L = 8;
  for (int64_t k = 0; k < invrg_groups_item_count(g, n_items); k++) {
    const int64_t j = invrg_groups_item(g, k);
    int8_t *c = random_array(L, L, (uint64_t)j), *f = upsample(c, L, L),
           *ff = upsample(f, 2 * L, 2 * L);
    invrg_lattice *lc = to_lattice(g, c, L, L), *lf = to_lattice(g, f, 2 * L, 2 * L);
    invrg_lattice *lff = to_lattice(g, ff, 4 * L, 4 * L);
    OK(invrg_mcrg_add_pair(pairs, 1, lc, lf, 0, (int)(j % 8)));
    add_configuration(conf, g, lff, 2, (uint64_t)j, 0, (int)(j % 8));
    invrg_lattice_destroy(&lc);
    invrg_lattice_destroy(&lf);
    invrg_lattice_destroy(&lff);
    free(c);
    free(f);
    free(ff);
  }
  OK(invrg_mcrg_reduce(pairs));
  OK(invrg_mcrg_reduce(conf));
  OK(invrg_mcrg_analyze(pairs, 0, pairs_out));
  OK(invrg_mcrg_analyze(conf, 0, conf_out));
  invrg_mcrg_destroy(&pairs);
  invrg_mcrg_destroy(&conf);
}

/* ---------------------------------------------------------------- layout invariance */

/* Random 16 × 16 configurations blocked 3 times (ties by coins), both sets. */
static invrg_mcrg_results *run_random(const invrg_groups *g) {
  invrg_mcrg *m = make_mcrg(g, 3, 6);
  const int64_t n_items = 24, L = 16;
  for (int64_t k = 0; k < invrg_groups_item_count(g, n_items); k++) {
    const int64_t j = invrg_groups_item(g, k);
    for (uint64_t s = 0; s < 2; s++) {
      int8_t *a = random_array(L, L, (uint64_t)(1000 + 2 * j) + s);
      invrg_lattice *lat = to_lattice(g, a, L, L);
      add_configuration(m, g, lat, 3, (uint64_t)j, s, (int)(j % 6));
      invrg_lattice_destroy(&lat);
      free(a);
    }
  }
  OK(invrg_mcrg_reduce(m));
  invrg_mcrg_results *r = NULL;
  OK(invrg_mcrg_analyze(m, 0, &r));
  invrg_mcrg_destroy(&m);
  return r;
}

/* Bit-identical results (NaN patterns included). */
static void expect_identical(const invrg_mcrg_results *a, const invrg_mcrg_results *b,
                             const char *what) {
  for (int k = 0; k < a->n_sets * a->n_levels; k++) {
    const invrg_mcrg_level *x = &a->level[k], *y = &b->level[k];
    EXPECT(x->n_values == y->n_values && x->n_samples == y->n_samples &&
               memcmp(x->values, y->values, (size_t)x->n_values * sizeof *x->values) == 0 &&
               memcmp(&x->tie_fraction, &y->tie_fraction, sizeof(double)) == 0,
           "%s: set %d level %d differs from the first layout", what, k / a->n_levels,
           k % a->n_levels + 1);
  }
}

/* The explicit pairs, the configurations and the random configurations of one layout against
 * those of the first (the message's `where` says which layout). */
static void expect_all_identical(const invrg_mcrg_results *const first[3],
                                 const invrg_mcrg_results *const got[3]) {
  expect_identical(first[0], got[0], "explicit pairs");
  expect_identical(first[1], got[1], "configurations");
  expect_identical(first[2], got[2], "random configurations");
}

/* ---------------------------------------------------------------- jackknife cross-check */

/* f = cov(c, f) / var(c) from means of (c, f, c², c f): T of one operator. */
static double one_operator_T(const double *mean, const void *ctx) {
  (void)ctx;
  return (mean[3] - mean[0] * mean[1]) / (mean[2] - mean[0] * mean[0]);
}

static void test_jackknife(const invrg_groups *g, const invrg_mcrg_results *r) {
  /* Redo run_random's level 1 for the operator nn by hand: blocks of 8 equal samples. */
  const int64_t n_items = 24, L = 16;
  double *cf = calloc((size_t)(2 * n_items * 2), sizeof *cf); /* [item][sample][c, f] */
  invrg_operator_set *set = NULL;
  OK(invrg_operator_set_create("swendsen", &set));
  for (int64_t k = 0; k < invrg_groups_item_count(g, n_items); k++) {
    const int64_t j = invrg_groups_item(g, k);
    for (uint64_t s = 0; s < 2; s++) {
      int8_t *a = random_array(L, L, (uint64_t)(1000 + 2 * j) + s);
      invrg_lattice *fine = NULL, *coarse = NULL;
      OK(invrg_lattice_create_replicated(L, L, 2, &fine));
      OK(invrg_lattice_scatter(fine, a));
      OK(invrg_lattice_halo_exchange(fine));
      /* the documented coins of invrg_mcrg_add_configuration: step = sample · 64 + level */
      const invrg_blockspin_ties key = {INVRG_TIE_RANDOM, seed, (uint64_t)j, s * 64 + 1};
      OK(invrg_blockspin(fine, NULL, &key, 2, &coarse, NULL));
      int64_t sc[7], sf[7];
      OK(invrg_operators_evaluate(set->op, set->n, coarse, sc));
      OK(invrg_operators_evaluate(set->op, set->n, fine, sf));
      if (g->rank == 0)
        cf[(j * 2 + (int64_t)s) * 2] = (double)sc[0],
                                  cf[(j * 2 + (int64_t)s) * 2 + 1] = (double)sf[0];
      invrg_lattice_destroy(&fine);
      invrg_lattice_destroy(&coarse);
      free(a);
    }
  }
  MPI_Allreduce(MPI_IN_PLACE, cf, (int)(4 * n_items), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  enum { B = 6 };
  double means[B][4] = {{0}};
  for (int64_t j = 0; j < n_items; j++)
    for (int s = 0; s < 2; s++) {
      double c = cf[(j * 2 + s) * 2], f = cf[(j * 2 + s) * 2 + 1];
      double *m = means[j % B];
      const double w = 1.0 / (2.0 * (double)(n_items / B));
      m[0] += c * w, m[1] += f * w, m[2] += c * c * w, m[3] += c * f * w;
    }
  double value, error;
  invrg_jackknife(&means[0][0], B, 4, one_operator_T, NULL, &value, &error);
  const invrg_mcrg_sector *even = &invrg_mcrg_result(r, 0, 1)->sector[INVRG_MCRG_EVEN];
  EXPECT(close_to(even->series[0], value, 1e-9 * fabs(value)) &&
             close_to(even->series_err[0], error, 1e-6 * error),
         "N_c = 1 eigenvalue %.12g +- %.12g, stats.h jackknife %.12g +- %.12g", even->series[0],
         even->series_err[0], value, error);
  invrg_operator_set_destroy(&set);
  free(cf);
}

/* ---------------------------------------------------------------- writer */

static void test_writer(const invrg_mcrg_results *r) {
  char path[64];
  snprintf(path, sizeof path, "test_mcrg_np%d.h5", world_size);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
  H5Pset_all_coll_metadata_ops(fapl, 1);
  H5Pset_coll_metadata_write(fapl, 1);
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  EXPECT(file >= 0, "cannot create %s", path);
  OK(invrg_mcrg_write(r, file, "mc", "standard", MPI_COMM_WORLD));
  H5Fclose(file);
  H5Pclose(fapl);
  MPI_Barrier(MPI_COMM_WORLD);
  if (world_rank == 0) {
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    const invrg_mcrg_level *L = invrg_mcrg_result(r, 0, 2);
    double y_t = 0, T[16];
    hid_t a =
        H5Aopen_by_name(file, "mcrg/mc/standard/level2/swendsen", "y_t", H5P_DEFAULT, H5P_DEFAULT);
    EXPECT(a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &y_t) >= 0 && y_t == L->y_t,
           "y_t read back %g, written %g", y_t, L->y_t);
    if (a >= 0) H5Aclose(a);
    hid_t d = H5Dopen2(file, "mcrg/mc/standard/level2/swendsen/even/T", H5P_DEFAULT);
    EXPECT(d >= 0 && H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, T) >= 0 &&
               memcmp(T, L->sector[0].T, sizeof T) == 0,
           "even T read back differs");
    if (d >= 0) H5Dclose(d);
    d = H5Dopen2(file, "mcrg/mc/standard/level1/paper36/odd/series_eigenvalues", H5P_DEFAULT);
    hid_t space = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t dims[3] = {0, 0, 0};
    EXPECT(space >= 0 && H5Sget_simple_extent_ndims(space) == 3 &&
               H5Sget_simple_extent_dims(space, dims, NULL) == 3 && dims[0] == 11 &&
               dims[1] == 11 && dims[2] == 2,
           "paper36 odd series shape %llu x %llu x %llu", (unsigned long long)dims[0],
           (unsigned long long)dims[1], (unsigned long long)dims[2]);
    if (space >= 0) H5Sclose(space);
    if (d >= 0) H5Dclose(d);
    H5Fclose(file);
    remove(path);
  }
}

/* ---------------------------------------------------------------- misuse */

static void test_misuse(const invrg_groups *g) {
  invrg_mcrg_params p = {.n_sets = 1, .sets = {"wilson"}, .n_levels = 2, .n_blocks = 4};
  invrg_mcrg *m = NULL;
  EXPECT(invrg_mcrg_create(&p, g, &m) == INVRG_ERR_INPUT && m == NULL, "unknown set accepted");
  EXPECT(strstr(invrg_error_message(), "wilson") != NULL, "message: %s", invrg_error_message());
  p.sets[0] = "swendsen";
  p.n_blocks = 1;
  EXPECT(invrg_mcrg_create(&p, g, &m) == INVRG_ERR_INPUT, "one jackknife block accepted");
  p.n_blocks = 4;
  OK(invrg_mcrg_create(&p, g, &m));
  invrg_lattice *lat = NULL;
  OK(invrg_lattice_create_replicated(6, 6, 1, &lat));
  EXPECT(invrg_mcrg_add_configuration(m, lat, 0, 0, 0) == INVRG_ERR_INPUT,
         "6 x 6 accepted for 2 levels");
  invrg_lattice_destroy(&lat);
  int64_t sums[7] = {0};
  EXPECT(invrg_mcrg_add_sums(m, 3, 4, 4, sums, sums, -1, 0) != INVRG_SUCCESS,
         "level 3 of 2 accepted");
  EXPECT(invrg_mcrg_add_sums(m, 1, 4, 4, sums, sums, -1, 4) != INVRG_SUCCESS,
         "block 4 of 4 accepted");
  OK(invrg_mcrg_add_sums(m, 1, 4, 4, sums, sums, -1, 0));
  EXPECT(invrg_mcrg_add_sums(m, 1, 2, 2, sums, sums, -1, 0) != INVRG_SUCCESS,
         "a second lattice size at one level accepted");
  OK(invrg_mcrg_reduce(m));
  EXPECT(invrg_mcrg_add_sums(m, 1, 4, 4, sums, sums, -1, 0) != INVRG_SUCCESS,
         "sample added after the reduction");
  invrg_mcrg_destroy(&m);
  invrg_operator op;
  EXPECT(invrg_operator_parse("bad", "s*S(3,0)", &op) != INVRG_SUCCESS, "S(3,0) accepted");
  EXPECT(invrg_operator_parse("bad", "s*S(1,0) + s", &op) != INVRG_SUCCESS,
         "mixed parity accepted");
  EXPECT(invrg_operator_parse("bad", "s*s", &op) != INVRG_SUCCESS, "s*s accepted");
  OK(invrg_operator_parse("ok", " s * S(2,1) * S(0,1) ", &op));
  EXPECT(op.n_terms == 1 && op.n_spins[0] == 3 && op.odd && op.spin[0][1].dy == 2 &&
             op.spin[0][1].dx == 1,
         "parsed %d terms, %d spins", op.n_terms, op.n_spins[0]);
  /* Blocks of a global sample order: contiguous, sizes differ by at most one. */
  int counts[7] = {0}, last = 0;
  bool monotone = true;
  for (int64_t i = 0; i < 100; i++) {
    int b = invrg_mcrg_block_of(i, 100, 7);
    monotone = monotone && b >= last && b < 7;
    last = b;
    counts[b]++;
  }
  EXPECT(monotone && counts[0] == 15 && counts[1] == 15 && counts[2] == 14 && counts[6] == 14,
         "block_of: counts %d %d %d .. %d", counts[0], counts[1], counts[2], counts[6]);
}

/* The known cases on every layout, bit-identical to one rank per group, which is also checked
 * against the jackknife, the writer and misuse. */
static void test_layouts(void) {
  invrg_mcrg_results *first_pairs = NULL, *first_conf = NULL, *first_random = NULL;
  const invrg_mcrg_results *first[3] = {NULL, NULL, NULL};
  for (int rpg = 1; rpg <= world_size; rpg *= 2) {
    invrg_groups *g = make_groups(rpg);
    snprintf(where, sizeof where, "%d rank(s) per group, grid %d x %d", g->ranks_per_group, g->px,
             g->py);
    invrg_mcrg_results *pairs = NULL, *conf = NULL;
    run_known(g, &pairs, &conf);
    check_known_T(pairs, 1, "explicit pairs");
    /* Level 1 of a twice upsampled configuration has linearly dependent coarse operators
     * (they are upsampled themselves), so only level 2 is a known case; no ties at either. */
    check_known_T(conf, 2, "configurations");
    EXPECT(invrg_mcrg_result(conf, 0, 1)->tie_fraction == 0, "ties in an upsampled configuration");
    invrg_mcrg_results *random = run_random(g);
    if (rpg == 1) {
      first_pairs = pairs, first_conf = conf, first_random = random;
      first[0] = pairs, first[1] = conf, first[2] = random;
      test_jackknife(g, random);
      test_writer(conf);
      test_misuse(g);
      if (world_rank == 0) invrg_mcrg_log(random, "test", "random");
    } else {
      const invrg_mcrg_results *got[3] = {pairs, conf, random};
      expect_all_identical(first, got);
      invrg_mcrg_results_destroy(&pairs);
      invrg_mcrg_results_destroy(&conf);
      invrg_mcrg_results_destroy(&random);
    }
    /* The same with lattices read in place (halo 2, chains lent): the same bits. */
    lattice_halo = INVRG_MCRG_HALO;
    snprintf(where, sizeof where, "%d rank(s) per group, grid %d x %d, in place",
             g->ranks_per_group, g->px, g->py);
    run_known(g, &pairs, &conf);
    random = run_random(g);
    const invrg_mcrg_results *got[3] = {pairs, conf, random};
    expect_all_identical(first, got);
    invrg_mcrg_results_destroy(&pairs);
    invrg_mcrg_results_destroy(&conf);
    invrg_mcrg_results_destroy(&random);
    lattice_halo = 1;
    invrg_groups_destroy(&g);
  }
  invrg_mcrg_results_destroy(&first_pairs);
  invrg_mcrg_results_destroy(&first_conf);
  invrg_mcrg_results_destroy(&first_random);
}

/* ---------------------------------------------------------------- exact sums */

enum { P_LEVELS = 3, P_BLOCKS = 3 };
typedef exact_wide wide; /* 128 bits (mcrg_internal.h) */

/* The test's own sums: [level − 1][block][value] in the order of a record (mcrg_internal.h):
 * header, Σ c [n], Σ f [n], Σ c_a c_b [n][n], Σ c_a f_b [n][n]. */
typedef struct {
  int n;
  wide *v;
} reference;

static wide *ref_record(const reference *r, int level, int block) {
  const size_t len = REC_HEADER + 2 * (size_t)r->n + 2 * (size_t)r->n * (size_t)r->n;
  return r->v + ((size_t)(level - 1) * P_BLOCKS + (size_t)block) * len;
}

static void ref_add(reference *r, int level, int block, const int64_t *c, const int64_t *f,
                    int64_t ties, int64_t sites) {
  const int n = r->n;
  wide *q = ref_record(r, level, block);
  q[REC_SAMPLES]++;
  if (ties >= 0) q[REC_TIE_SAMPLES]++, q[REC_TIES] += ties, q[REC_TIE_SITES] += sites;
  wide *qc = q + REC_HEADER, *qf = qc + n, *qcc = qf + n, *qcf = qcc + n * n;
  for (int a = 0; a < n; a++) {
    qc[a] += c[a], qf[a] += f[a];
    for (int b = 0; b < n; b++) {
      qcc[a * n + b] += (wide)c[a] * c[b];
      qcf[a * n + b] += (wide)c[a] * f[b];
    }
  }
}

/* The exported state of @p m against the reference times @p copies (groups adding alike):
 * headers equal, every exact pair hi·2^32 + lo equal with 0 ≤ lo < 2^32. */
static void expect_state(const invrg_mcrg *m, const reference *r, int copies, const char *when) {
  const size_t n = (size_t)r->n, len = invrg_mcrg_state_length(m);
  const size_t rec = REC_HEADER + 2 * (2 * n + 2 * n * n); /* exact pairs after the header */
  int64_t *state = malloc(len * sizeof *state);
  OK(invrg_mcrg_state_export(m, state));
  int64_t bad = 0, first = -1;
  for (int level = 1; level <= P_LEVELS; level++)
    for (int b = 0; b < P_BLOCKS; b++) {
      const int64_t *x = state + ((size_t)(level - 1) * P_BLOCKS + (size_t)b) * rec;
      const wide *q = ref_record(r, level, b);
      for (size_t k = 0; k < rec; k++) {
        const bool header = k < REC_HEADER, pair = !header && (k - REC_HEADER) % 2 == 0;
        if (!header && !pair) continue;
        const size_t v = header ? k : REC_HEADER + (k - REC_HEADER) / 2;
        const wide want = q[v] * copies;
        const wide got = header ? (wide)x[k] : (wide)x[k] * 4294967296 + x[k + 1];
        const bool ok = got == want && (header || (x[k + 1] >= 0 && x[k + 1] < 4294967296));
        if (!ok && first < 0) first = (int64_t)(x - state) + (int64_t)k;
        bad += !ok;
      }
    }
  EXPECT_EQ(bad, 0, "%s: values of the exported state differ from 128-bit sums (first at %lld)",
            when, (long long)first);
  free(state);
}

/* Pair sums of magnitude about 2^bits (0: small), signs at random. */
static void random_sums(invrg_rng_stream *s, uint64_t item, int n, int bits, int64_t *out) {
  for (int a = 0; a < n; a++) {
    uint32_t w[4];
    invrg_rng_u32x4(s, item, (uint32_t)a, w);
    const uint64_t u = (uint64_t)w[0] << 32 | w[1];
    const int64_t v = bits == 0 ? (int64_t)(u % 201) - 100
                                : (int64_t)(u >> (64 - bits)) | (INT64_C(1) << (bits - 1));
    out[a] = (u & 1) ? -v : v;
  }
}

/* Pairs of every magnitude added to the accumulator at the active SIMD level (the pending
 * products are AVX-512 DQ vectors there, plain C elsewhere) equal the 128-bit reference; with
 * @p both sets 43 operators (rows of several vectors), else swendsen's 7 (all rows in
 * registers at once). */
static void exact_sums_at_level(bool both) {
  invrg_groups *g = make_groups(1);
  invrg_mcrg_params p = {.n_sets = both ? 2 : 1, .sets = {"swendsen", "paper36"},
                         .n_levels = P_LEVELS, .n_blocks = P_BLOCKS, .seed = seed};
  invrg_mcrg *m = NULL;
  OK(invrg_mcrg_create(&p, g, &m));
  const int n = invrg_mcrg_n_operators(m);
  reference r = {n, calloc((size_t)P_LEVELS * P_BLOCKS *
                               (REC_HEADER + 2 * (size_t)n + 2 * (size_t)n * (size_t)n),
                           sizeof(wide))};
  int64_t *c = malloc(2 * (size_t)n * sizeof *c), *f = c + n;
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_INIT, 7, 0);
  /* small sums (deferred for long), 2^29 (products near 2^58: the bound reached after a few
   * pairs), 2^31 and 2^40 (products from 2^62: added exactly at once; totals stay below the
   * 2^95 of the records), fine sums of 2^31 … 2^32 with coarse ones below 100 (deferred, and
   * too wide for the 32-bit products); blocks 0 0 1 0 2 2 1 … */
  static const int bits[] = {0, 0, 0, 29, 0, 40, 29, 29, 29, 29, 0, 40, 0, 32, 31};
  static const int blocks[] = {0, 0, 1, 0, 2, 2, 1, 1, 1, 0, 0, 2, 2, 1, 0, 0};
  const int n_bits = (int)(sizeof bits / sizeof *bits);
  const int n_blocks = (int)(sizeof blocks / sizeof *blocks);
  for (int i = 0; i < 600; i++) {
    const int level = 1 + i % P_LEVELS, block = blocks[(i / 7) % n_blocks];
    const int64_t lx = INT64_C(1) << (10 + level), ties = i % 5 == 0 ? -1 : (int64_t)(i % 37);
    random_sums(&s, 2 * (uint64_t)i, n, bits[i % n_bits], c);
    random_sums(&s, 2 * (uint64_t)i + 1, n, bits[(i + 3) % n_bits], f);
    OK(invrg_mcrg_add_sums(m, level, lx, lx, c, f, ties, block));
    ref_add(&r, level, block, c, f, ties, lx * lx);
    if (i == 333) expect_state(m, &r, g->n_groups, "mid-way");
  }
  for (int i = 0; i < 100; i++) { /* one block long: products of 2^60 would pass 2^63 in int64 */
    random_sums(&s, 2000 + 2 * (uint64_t)i, n, 30, c);
    random_sums(&s, 2001 + 2 * (uint64_t)i, n, 30, f);
    OK(invrg_mcrg_add_sums(m, 1, 2048, 2048, c, f, 3, 1));
    ref_add(&r, 1, 1, c, f, 3, 2048 * 2048);
  }
  /* batches of pairs (invrg_mcrg_add_lanes): 1 … 64 pairs, blocks changing within a batch,
   * small sums (runs), sums of 2^29 (runs cut by the pending bound), 2^31 and 2^40 (one at a
   * time), ties or none */
  int64_t *bc = malloc(2 * 64 * (size_t)n * sizeof *bc), *bf = bc + 64 * (size_t)n, bt[64];
  int bb[64];
  for (int k = 0; k < 40; k++) {
    const int count = 1 + (k * 23) % 64, level = 1 + k % P_LEVELS;
    const int64_t lx = INT64_C(1) << (10 + level); /* the sizes the pairs above had */
    for (int i = 0; i < count; i++) {
      const int size =
          bits[(k + (i > 40 ? 3 : 0)) % n_bits] == 40 && i % 9 ? 0 : bits[(k + i / 20) % n_bits];
      random_sums(&s, 10000 + 2 * (uint64_t)(64 * k + i), n, size, bc + (size_t)i * (size_t)n);
      random_sums(&s, 10001 + 2 * (uint64_t)(64 * k + i), n, size, bf + (size_t)i * (size_t)n);
      bb[i] = blocks[(k + i / 17) % n_blocks];
      bt[i] = (k + i) % 4 == 0 ? -1 : (int64_t)((k * i) % 11);
      ref_add(&r, level, bb[i], bc + (size_t)i * (size_t)n, bf + (size_t)i * (size_t)n,
              k % 3 == 0 ? -1 : bt[i], lx * lx);
    }
    OK(invrg_mcrg_add_lanes(m, level, lx, lx, count, bc, bf, k % 3 == 0 ? NULL : bt, bb));
  }
  /* small coarse sums with fine ones of 2^31 … 2^32: too wide for a run's 32-bit products,
   * though the coarse ones alone would allow them */
  for (int k = 0; k < 4; k++) {
    const int count = 16 * (k + 1), level = 1 + k % P_LEVELS;
    const int64_t lx = INT64_C(1) << (10 + level);
    for (int i = 0; i < count; i++) {
      random_sums(&s, 30000 + 2 * (uint64_t)(64 * k + i), n, 0, bc + (size_t)i * (size_t)n);
      random_sums(&s, 30001 + 2 * (uint64_t)(64 * k + i), n, i % 5 == 0 ? 32 : 0,
                  bf + (size_t)i * (size_t)n);
      bb[i] = blocks[(k + i / 17) % n_blocks];
      ref_add(&r, level, bb[i], bc + (size_t)i * (size_t)n, bf + (size_t)i * (size_t)n, -1,
              lx * lx);
    }
    OK(invrg_mcrg_add_lanes(m, level, lx, lx, count, bc, bf, NULL, bb));
  }
  free(bc);
  expect_state(m, &r, g->n_groups, "after batches of pairs");
  int64_t want = 0;
  for (int b = 0; b < P_BLOCKS; b++) want += (int64_t)ref_record(&r, 2, b)[REC_SAMPLES];
  EXPECT_EQ(invrg_mcrg_samples(m, 2), want, "samples at level 2 (this group's)");
  expect_state(m, &r, g->n_groups, "at the end");
  OK(invrg_mcrg_reduce(m));
  free(c);
  free(r.v);
  invrg_mcrg_destroy(&m);
  invrg_groups_destroy(&g);
}

static void test_exact_sums(void) {
  for (int level = 0; level < INVRG_SIMD_LEVELS; level++) {
    if (!invrg_simd_runs((invrg_simd_level)level)) continue;
    setenv("INVRG_SIMD", invrg_simd_name((invrg_simd_level)level), 1);
    invrg_simd_reset();
    exact_sums_at_level(true);
    exact_sums_at_level(false);
  }
  unsetenv("INVRG_SIMD");
  invrg_simd_reset();
}

static const mpi_test_case cases[] = {{"layouts", test_layouts, true},
                                      {"exact_sums", test_exact_sums, true}};

int main(int argc, char **argv) { return MPI_TEST_MAIN(argc, argv, cases); }
