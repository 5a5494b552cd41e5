/* The dream sampler: empirical up-fractions against the model's probabilities (4σ), the conv
 * logits against a naive evaluation, the window tables (sym5, sym7, conv k = 3) against the
 * logits written out from docs/physics.md §4 — every window pattern, every lattice size down to 1 x 1 —
 * and their spins against the documented sampler, the vector rows against the scalar ones,
 * and the seed spins. */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/dream.h"
#include "invrg/dream_batch.h"
#include "invrg/packed.h"
#include "invrg/simd.h"
#include "unit/check_runner.h"

static void random_spins(int8_t *s, int n, uint64_t seed) {
  invrg_rng_stream rs;
  invrg_rng_stream_init(&rs, seed, INVRG_RNG_INIT, 0, 0);
  for (int i = 0; i < n; i++) s[i] = invrg_rng_coin(&rs, (uint64_t)i, 0) ? 1 : -1;
}

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }

/* INVRG_SIMD = @p name (NULL: unset), read again by the SIMD layer. */
static void use_simd(const char *name) {
  if (name == NULL)
    unsetenv("INVRG_SIMD");
  else
    setenv("INVRG_SIMD", name, 1);
  invrg_simd_reset();
}

/* sym3: for each of the 16 (parent, vertical, horizontal, diagonal) patterns, the fraction of up
 * children over a large lattice matches σ(½[(c+2b+a)P + (a+b)(V+H) + aD]) within 4σ. */
START_TEST(sym3_sampler_matches_closed_form) {
  invrg_model *m = NULL;
  invrg_model_create(INVRG_MODEL_KIND_SYM3, 0, 0, &m);
  const double a = 0.54590, b = 0.62776, c = 1.40962;
  m->params[0] = a, m->params[1] = b, m->params[2] = c;
  const int lc = 512, L = 2 * lc;
  int8_t *coarse = malloc((size_t)(lc * lc)), *fine = malloc((size_t)(L * L));
  random_spins(coarse, lc * lc, 3);
  invrg_dream_work *w = NULL;
  invrg_dream_work_create(m, lc, &w);
  invrg_dream_step(m, coarse, lc, 99, 7, 10, fine, w);
  double up[16] = {0}, n[16] = {0};
  for (int y = 0; y < L; y++)
    for (int x = 0; x < L; x++) {
      int I = y / 2, J = x / 2, vi = (I + (y % 2 ? 1 : -1) + lc) % lc, hj = (J + (x % 2 ? 1 : -1) + lc) % lc;
      int P = coarse[I * lc + J], V = coarse[vi * lc + J], H = coarse[I * lc + hj], D = coarse[vi * lc + hj];
      int k = (P > 0) * 8 + (V > 0) * 4 + (H > 0) * 2 + (D > 0);
      up[k] += fine[y * L + x] > 0;
      n[k] += 1;
    }
  for (int k = 0; k < 16; k++) {
    int P = k & 8 ? 1 : -1, V = k & 4 ? 1 : -1, H = k & 2 ? 1 : -1, D = k & 1 ? 1 : -1;
    double p = sigmoid(0.5 * ((c + 2 * b + a) * P + (a + b) * (V + H) + a * D));
    double sigma = sqrt(p * (1 - p) / n[k]);
    ck_assert_msg(fabs(up[k] / n[k] - p) < 4 * sigma, "pattern %d: %.5f vs %.5f ± %.5f", k,
                  up[k] / n[k], p, sigma);
  }
  invrg_dream_work_destroy(&w);
  invrg_model_destroy(&m);
  free(coarse);
  free(fine);
}
END_TEST

/* z(y,x) = b2 + Σ_c Σ_ij w2 ReLU(b1 + Σ_kl w1 u(y+i−p+k−p, x+j−p+l−p)), written out naively. */
static double naive_conv(const invrg_model *m, const int8_t *mu, int lc, int y, int x) {
  const int k = m->kernel, p = (k - 1) / 2, C = m->channels, L = 2 * lc, kk = k * k;
  const double *w1 = m->params, *b1 = w1 + C * kk, *w2 = b1 + C, *b2 = w2 + C * kk;
  double z = b2[0];
  for (int c = 0; c < C; c++)
    for (int i = 0; i < k; i++)
      for (int j = 0; j < k; j++) {
        int yy = ((y + i - p) % L + L) % L, xx = ((x + j - p) % L + L) % L;
        double h = b1[c];
        for (int i2 = 0; i2 < k; i2++)
          for (int j2 = 0; j2 < k; j2++) {
            int y3 = ((yy + i2 - p) % L + L) % L, x3 = ((xx + j2 - p) % L + L) % L;
            h += w1[(c * k + i2) * k + j2] * (mu[(y3 / 2) * lc + x3 / 2] > 0);
          }
        z += w2[(c * k + i) * k + j] * (h > 0 ? h : 0);
      }
  return z;
}

START_TEST(conv_logits_and_sampler) {
  invrg_model *m = NULL;
  invrg_model_create(INVRG_MODEL_KIND_CONV, 3, 6, &m);
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 5, INVRG_RNG_TRAIN, 0, 0);
  invrg_model_init_params(m, &s);
  const int lc = 3;
  int8_t mu[9];
  random_spins(mu, 9, 8);
  double z[36];
  invrg_model_work *mw = NULL;
  invrg_model_work_create(m, lc, &mw);
  invrg_model_logits(m, mu, lc, z, mw);
  for (int y = 0; y < 6; y++)
    for (int x = 0; x < 6; x++) ck_assert_double_eq_tol(z[y * 6 + x], naive_conv(m, mu, lc, y, x), 1e-12);
  /* Sampler: many samples of one step, each site's up-fraction against σ(z) within 4σ. */
  invrg_dream_work *w = NULL;
  invrg_dream_work_create(m, lc, &w);
  int8_t fine[36];
  double up[36] = {0};
  const int n = 20000;
  for (int t = 0; t < n; t++) {
    invrg_dream_step(m, mu, lc, 1, (uint64_t)t, 1, fine, w);
    for (int e = 0; e < 36; e++) up[e] += fine[e] > 0;
  }
  for (int e = 0; e < 36; e++) {
    double p = sigmoid(z[e]), sigma = sqrt(p * (1 - p) / n);
    ck_assert_msg(fabs(up[e] / n - p) < 4 * sigma + 1e-12, "site %d: %.4f vs %.4f", e, up[e] / n, p);
  }
  invrg_dream_work_destroy(&w);
  invrg_model_work_destroy(&mw);
  invrg_model_destroy(&m);
}
END_TEST

/* sym3: the AVX2 row (when the CPU has it) gives the scalar row's spins bit for bit, at sizes
 * with whole vectors, a scalar tail, and the odd 1 x 1 coarse level. */
START_TEST(sym3_vector_row_equals_scalar) {
  invrg_model *m = NULL;
  invrg_model_create(INVRG_MODEL_KIND_SYM3, 0, 0, &m);
  m->params[0] = 0.54590, m->params[1] = 0.62776, m->params[2] = 1.40962;
  const int sizes[] = {1, 2, 6, 16, 18, 40, 256};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    const int lc = sizes[k], L = 2 * lc;
    int8_t *coarse = malloc((size_t)(lc * lc)), *a = malloc((size_t)(L * L)), *b = malloc((size_t)(L * L));
    random_spins(coarse, lc * lc, 7 + (uint64_t)k);
    invrg_dream_work *w = NULL;
    invrg_dream_work_create(m, lc, &w);
    use_simd(NULL);
    invrg_dream_step(m, coarse, lc, 11, 3, 5, a, w);
    use_simd("generic");
    invrg_dream_step(m, coarse, lc, 11, 3, 5, b, w);
    use_simd(NULL);
    ck_assert_msg(memcmp(a, b, (size_t)(L * L)) == 0, "lc = %d: vector and scalar rows differ", lc);
    invrg_dream_work_destroy(&w);
    free(coarse);
    free(a);
    free(b);
  }
  invrg_model_destroy(&m);
}
END_TEST

/* ------------------------------------------------------------------ window tables */

/* Index of the D4 orbit of kernel offset (di, dj): sorted (|di|, |dj|) in invrg_sym_orbits. */
static int orbit_index(int di, int dj) {
  const int p = abs(di) < abs(dj) ? abs(di) : abs(dj), q = abs(di) + abs(dj) - p;
  for (int o = 0; o < 10; o++)
    if (invrg_sym_orbits[o][0] == p && invrg_sym_orbits[o][1] == q) return o;
  return -1;
}

/* sym: z(y,x) = ½ Σ_ij θ[orbit(i−p, j−p)] s(y+i−p, x+j−p) on the fine lattice (docs/physics.md §4),
 * written out without the library's coarse kernels. */
static double naive_sym(const invrg_model *m, const int8_t *mu, int lc, int y, int x) {
  const int k = m->kernel, p = (k - 1) / 2, L = 2 * lc;
  double z = 0;
  for (int i = 0; i < k; i++)
    for (int j = 0; j < k; j++) {
      int yy = ((y + i - p) % L + L) % L, xx = ((x + j - p) % L + L) % L;
      z += m->params[orbit_index(i - p, j - p)] * mu[(yy / 2) * lc + xx / 2];
    }
  return 0.5 * z;
}

static double naive_logit(const invrg_model *m, const int8_t *mu, int lc, int y, int x) {
  return m->family == INVRG_MODEL_SYM ? naive_sym(m, mu, lc, y, x) : naive_conv(m, mu, lc, y, x);
}

/* The documented rule: up iff the site's word u < round(σ(z)·2^32). */
static uint32_t naive_threshold(double z) {
  double t = nearbyint(ldexp(sigmoid(z), 32));
  return t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
}

/* A model with random parameters: sym θ uniform in [−1, 1) (both signs), conv its initial ones. */
static invrg_model *random_model(invrg_model_kind kind, int kernel, int channels, uint64_t seed) {
  invrg_model *m = NULL;
  ck_assert_int_eq(invrg_model_create(kind, kernel, channels, &m), INVRG_SUCCESS);
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_TRAIN, 0, 0);
  invrg_model_init_params(m, &s);
  if (m->family == INVRG_MODEL_SYM)
    for (int i = 0; i < m->n_params; i++) m->params[i] = 2 * m->params[i] - 1;
  return m;
}

/* The models with window tables, and their window width n (docs/physics.md §4: sym5 and conv k = 3 see
 * 3 × 3 coarse sites, sym7 4 × 4). */
static const struct {
  invrg_model_kind kind;
  int kernel, channels, n;
} table_models[] = {{INVRG_MODEL_KIND_SYM5, 5, 0, 3},
                    {INVRG_MODEL_KIND_SYM7, 7, 0, 4},
                    {INVRG_MODEL_KIND_CONV, 3, 32, 3}};
enum { N_TABLE_MODELS = sizeof table_models / sizeof table_models[0] };

/* Every fine site of @p mu (lc × lc): the table's threshold against the naive one. Returns how
 * many differ by exactly 1; fails on more. ±1 is allowed because the naive logit sums the same
 * terms in another order and the sigmoid is written differently: the last-ulp differences move
 * p·2^32 by about 2^−20, which changes round() only when p·2^32 is that close to a half-integer,
 * and then by one. A wrong pattern, child position or weight moves it by millions. */
static int check_thresholds(const invrg_model *m, const invrg_dream_work *w, const int8_t *mu,
                            int lc) {
  int off_by_one = 0;
  for (int y = 0; y < 2 * lc; y++)
    for (int x = 0; x < 2 * lc; x++) {
      uint32_t got = 0, want = naive_threshold(naive_logit(m, mu, lc, y, x));
      if (!invrg_dream_table_threshold(w, mu, lc, y, x, &got))
        ck_abort_msg("%s: no table", invrg_model_kind_name(m->kind));
      int64_t diff = (int64_t)got - (int64_t)want;
      if (diff < -1 || diff > 1) /* not ck_assert: a passing one costs a system call */
        ck_abort_msg("%s lc = %d site (%d, %d): table %u, naive %u", invrg_model_kind_name(m->kind),
                     lc, x, y, got, want);
      off_by_one += diff != 0;
    }
  return off_by_one;
}

/* Every window pattern of every child position: on an n × n lattice each child's window is the
 * whole lattice, so its 2^(n²) configurations are all the patterns (sym7: 65536). Then random
 * lattices where the window wraps onto itself (lc = 1, 2; sym7 3) and where it does not. */
START_TEST(table_thresholds_match_direct_evaluation) {
  for (int k = 0; k < N_TABLE_MODELS; k++) {
    invrg_model *m = random_model(table_models[k].kind, table_models[k].kernel,
                                  table_models[k].channels, 40 + (uint64_t)k);
    invrg_dream_work *w = NULL;
    ck_assert_int_eq(invrg_dream_work_create(m, 8, &w), INVRG_SUCCESS);
    const int n = table_models[k].n;
    int8_t mu[64];
    int off_by_one = 0;
    for (uint32_t config = 0; config < (UINT32_C(1) << (n * n)); config++) {
      for (int i = 0; i < n * n; i++) mu[i] = (config >> i) & 1 ? 1 : -1;
      off_by_one += check_thresholds(m, w, mu, n);
    }
    const int sizes[] = {1, 2, 3, 5, 6, 8};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
      for (uint64_t trial = 0; trial < 20; trial++) {
        random_spins(mu, sizes[s] * sizes[s], 100 * (uint64_t)s + trial);
        off_by_one += check_thresholds(m, w, mu, sizes[s]);
      }
    ck_assert_msg(off_by_one < 10, "%s: %d thresholds off by one", invrg_model_kind_name(m->kind),
                  off_by_one);
    invrg_dream_work_destroy(&w);
    invrg_model_destroy(&m);
  }
}
END_TEST

/* sym3 and conv with k = 7 have no table; the halo each model needs to dream on blocks. */
START_TEST(window_geometry) {
  const struct {
    invrg_model_kind kind;
    int kernel, halo;
    bool table, distributes;
  } cases[] = {
      {INVRG_MODEL_KIND_SYM3, 3, 1, false, true}, {INVRG_MODEL_KIND_SYM5, 5, 1, true, true},
      {INVRG_MODEL_KIND_SYM7, 7, 2, true, true},  {INVRG_MODEL_KIND_CONV, 1, 0, true, true},
      {INVRG_MODEL_KIND_CONV, 3, 1, true, true},  {INVRG_MODEL_KIND_CONV, 5, 0, false, false},
      {INVRG_MODEL_KIND_CONV, 7, 0, false, false}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    invrg_model *m = random_model(cases[k].kind, cases[k].kernel, 2, 7);
    invrg_dream_work *w = NULL;
    ck_assert_int_eq(invrg_dream_work_create(m, 2, &w), INVRG_SUCCESS);
    int8_t mu[4] = {1, -1, -1, 1};
    uint32_t t;
    ck_assert_msg(invrg_dream_table_threshold(w, mu, 2, 1, 0, &t) == cases[k].table, "%s k = %d",
                  invrg_model_kind_name(cases[k].kind), cases[k].kernel);
    ck_assert_int_eq(invrg_dream_distributes(m), cases[k].distributes);
    ck_assert_int_eq(invrg_dream_halo(m), cases[k].halo);
    invrg_dream_work_destroy(&w);
    invrg_model_destroy(&m);
  }
}
END_TEST

/* The word of fine site g of a step: word g & 3 of block g >> 2 of (seed, DREAM, sample, level). */
static uint32_t site_word(uint64_t seed, uint64_t sample, int level, uint64_t g) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_DREAM, sample, (uint64_t)level);
  uint32_t w[4];
  invrg_rng_u32x4(&s, g >> 2, 0, w);
  return w[g & 3];
}

/* The spins of a step through the table equal the documented sampler run on the naive logits
 * (where u is within 1 of the threshold either spin is right: see check_thresholds), at sizes
 * with odd rows and tails site by site (lc = 1, 2, 3, 5, 33), whole Philox blocks (6, 8) and
 * vector rows (20: one vector and a scalar tail; 64); the scalar rows (INVRG_SIMD=generic)
 * give the same bits. */
START_TEST(table_step_spins_match_direct_evaluation) {
  const int sizes[] = {1, 2, 3, 5, 6, 8, 20, 33, 64};
  for (int k = 0; k < N_TABLE_MODELS; k++) {
    invrg_model *m = random_model(table_models[k].kind, table_models[k].kernel,
                                  table_models[k].channels, 60 + (uint64_t)k);
    invrg_dream_work *w = NULL;
    ck_assert_int_eq(invrg_dream_work_create(m, 64, &w), INVRG_SUCCESS);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      const int lc = sizes[s], L = 2 * lc, level = 3;
      const uint64_t seed = 21, sample = 4 + s;
      int8_t *mu = malloc((size_t)(lc * lc)), *fine = malloc((size_t)(L * L)),
             *scalar = malloc((size_t)(L * L));
      random_spins(mu, lc * lc, 300 + (uint64_t)s);
      invrg_dream_step(m, mu, lc, seed, sample, level, fine, w);
      int ties = 0;
      for (int y = 0; y < L; y++)
        for (int x = 0; x < L; x++) {
          const uint64_t g = (uint64_t)y * (uint64_t)L + (uint64_t)x;
          const uint32_t u = site_word(seed, sample, level, g);
          const uint32_t t = naive_threshold(naive_logit(m, mu, lc, y, x));
          if ((u > t ? u - t : t - u) <= 1) {
            ties++;
            continue;
          }
          if (fine[g] != (u < t ? 1 : -1))
            ck_abort_msg("%s lc = %d site (%d, %d)", invrg_model_kind_name(m->kind), lc, x, y);
        }
      ck_assert_int_lt(ties, 2);
      use_simd("generic");
      invrg_dream_step(m, mu, lc, seed, sample, level, scalar, w);
      use_simd(NULL);
      ck_assert_msg(memcmp(fine, scalar, (size_t)(L * L)) == 0, "%s lc = %d: vector and scalar rows differ",
                    invrg_model_kind_name(m->kind), lc);
      free(mu);
      free(fine);
      free(scalar);
    }
    invrg_dream_work_destroy(&w);
    invrg_model_destroy(&m);
  }
}
END_TEST

/* sym7: children grouped by position and by tenth of their probability; in each group the number
 * up against Σ p within 4σ, σ² = Σ p(1 − p) (independent Bernoulli sites). */
START_TEST(sym7_sampler_matches_model) {
  invrg_model *m = random_model(INVRG_MODEL_KIND_SYM7, 7, 0, 71);
  const int lc = 512, L = 2 * lc;
  int8_t *coarse = malloc((size_t)(lc * lc)), *fine = malloc((size_t)(L * L));
  random_spins(coarse, lc * lc, 72);
  invrg_dream_work *w = NULL;
  ck_assert_int_eq(invrg_dream_work_create(m, lc, &w), INVRG_SUCCESS);
  invrg_dream_step(m, coarse, lc, 5, 1, 12, fine, w);
  double up[4][10] = {{0}}, mean[4][10] = {{0}}, var[4][10] = {{0}};
  for (int y = 0; y < L; y++)
    for (int x = 0; x < L; x++) {
      const double p = sigmoid(naive_sym(m, coarse, lc, y, x));
      const int ab = (y % 2) * 2 + x % 2, bin = p < 1 ? (int)(10 * p) : 9;
      up[ab][bin] += fine[y * L + x] > 0;
      mean[ab][bin] += p;
      var[ab][bin] += p * (1 - p);
    }
  int groups = 0;
  for (int ab = 0; ab < 4; ab++)
    for (int bin = 0; bin < 10; bin++) {
      if (var[ab][bin] < 25) continue; /* too few sites for a normal approximation */
      groups++;
      ck_assert_msg(fabs(up[ab][bin] - mean[ab][bin]) < 4 * sqrt(var[ab][bin]),
                    "child %d, p in [%.1f, %.1f): %.0f up, expected %.1f ± %.1f", ab, bin / 10.0,
                    (bin + 1) / 10.0, up[ab][bin], mean[ab][bin], sqrt(var[ab][bin]));
    }
  ck_assert_int_ge(groups, 20);
  invrg_dream_work_destroy(&w);
  invrg_model_destroy(&m);
  free(coarse);
  free(fine);
}
END_TEST

START_TEST(seed_spins) {
  ck_assert_int_eq(invrg_dream_seed_spin(INVRG_DREAM_START_ALTERNATE, 1, 4), 1);
  ck_assert_int_eq(invrg_dream_seed_spin(INVRG_DREAM_START_ALTERNATE, 1, 5), -1);
  ck_assert_int_eq(invrg_dream_seed_spin(INVRG_DREAM_START_UP, 1, 5), 1);
  int ups = 0;
  for (uint64_t j = 0; j < 4000; j++) ups += invrg_dream_seed_spin(INVRG_DREAM_START_RANDOM, 1, j) > 0;
  ck_assert_int_lt(abs(ups - 2000), 4 * 32); /* σ = √(4000/4) ≈ 32 */
}
END_TEST

/* One lane of a batch against its dream made one level at a time by invrg_dream_step() (the
 * model of each level as the batch has it), at every level, and as a packed lattice; returns
 * the sites compared. */
static int64_t check_lane(const invrg_dream_batch *b, int lane, const invrg_model *m,
                          const invrg_model *m_small, int n_small, invrg_dream_start start,
                          uint64_t seed, uint64_t sample, invrg_dream_work *w,
                          invrg_dream_work *w_small) {
  const int levels = invrg_dream_batch_levels(b), top = 1 << levels;
  int8_t *coarse = malloc((size_t)top * (size_t)top), *fine = malloc((size_t)top * (size_t)top);
  int64_t compared = 0;
  coarse[0] = invrg_dream_seed_spin(start, seed, sample);
  ck_assert_int_eq(invrg_dream_batch_spin(b, lane, 0, 0, 0), coarse[0]);
  for (int level = 1; level <= levels; level++) {
    const int L = 1 << level;
    const bool small = level <= n_small;
    invrg_dream_step(small ? m_small : m, coarse, L / 2, seed, sample, level, fine,
                     small ? w_small : w);
    invrg_packed *p = NULL;
    ck_assert_int_eq(invrg_packed_create(MPI_COMM_SELF, L, L, &p), INVRG_SUCCESS);
    invrg_dream_batch_to_packed(b, lane, level, p);
    for (int y = 0; y < L; y++)
      for (int x = 0; x < L; x++) {
        ck_assert_msg(invrg_dream_batch_spin(b, lane, level, x, y) == fine[y * L + x],
                      "%s: lane %d (sample %llu), level %d, site (%d, %d)",
                      invrg_simd_name(invrg_simd_active()), lane, (unsigned long long)sample,
                      level, x, y);
        ck_assert_msg(invrg_packed_get(p, x, y) == fine[y * L + x],
                      "packed: lane %d, level %d, site (%d, %d)", lane, level, x, y);
        compared++;
      }
    invrg_packed_destroy(&p);
    int8_t *t = coarse;
    coarse = fine, fine = t;
  }
  free(coarse);
  free(fine);
  return compared;
}

/* A batch of dreams is its dreams made one at a time, bit for bit: every lane, level (to 32²)
 * and seed start, for sym3, the window-table models and a small kernel below another model,
 * batches of 1, 17 and 64 lanes (samples far apart), at every SIMD level this CPU runs. */
START_TEST(batch_equals_dreams_one_at_a_time) {
  invrg_model *sym3 = random_model(INVRG_MODEL_KIND_SYM3, 0, 0, 31);
  const int n_lanes[] = {1, 17, INVRG_DREAM_BATCH_LANES};
  const invrg_dream_start starts[] = {INVRG_DREAM_START_RANDOM, INVRG_DREAM_START_ALTERNATE,
                                      INVRG_DREAM_START_UP};
  int64_t compared = 0;
  for (int c = -1; c <= N_TABLE_MODELS; c++) { /* −1: sym3; N_TABLE_MODELS: sym3 under sym5 */
    const bool mixed = c == N_TABLE_MODELS;
    invrg_model *m = c < 0 ? NULL
                           : random_model(table_models[mixed ? 0 : c].kind,
                                          table_models[mixed ? 0 : c].kernel,
                                          table_models[mixed ? 0 : c].channels, 40 + (uint64_t)c);
    const invrg_model *top = c < 0 ? sym3 : m, *small = mixed ? sym3 : NULL;
    const int n_small = mixed ? 2 : 0;
    invrg_dream_batch *b = NULL;
    invrg_dream_work *w = NULL, *w_small = NULL;
    ck_assert_int_eq(
        invrg_dream_batch_create(top, small, n_small, INVRG_DREAM_BATCH_MAX_LEVELS, &b),
        INVRG_SUCCESS);
    ck_assert_int_eq(invrg_dream_work_create(top, 16, &w), INVRG_SUCCESS);
    ck_assert_int_eq(invrg_dream_work_create(sym3, 16, &w_small), INVRG_SUCCESS);
    for (int level = 0; level < INVRG_SIMD_LEVELS; level++) {
      if (!invrg_simd_runs((invrg_simd_level)level)) continue;
      setenv("INVRG_SIMD", invrg_simd_name((invrg_simd_level)level), 1);
      invrg_simd_reset();
      for (size_t t = 0; t < sizeof n_lanes / sizeof n_lanes[0]; t++) {
        const int n = n_lanes[t];
        const invrg_dream_start start = starts[(t + (size_t)c + 1) % 3];
        uint64_t samples[INVRG_DREAM_BATCH_LANES];
        for (int i = 0; i < n; i++)
          samples[i] = (uint64_t)i * 7919 + (i % 5 == 4 ? UINT64_C(1) << 33 : 3);
        invrg_dream_batch_run(b, start, 12345, samples, n, NULL);
        for (int i = 0; i < n; i++) {
          ck_assert_int_eq(invrg_dream_batch_lane(b, samples[i]), i);
          compared += check_lane(b, i, top, small, n_small, start, 12345, samples[i], w, w_small);
        }
      }
    }
    unsetenv("INVRG_SIMD");
    invrg_simd_reset();
    invrg_dream_work_destroy(&w);
    invrg_dream_work_destroy(&w_small);
    invrg_dream_batch_destroy(&b);
    invrg_model_destroy(&m);
  }
  ck_assert_int_gt(compared, 0);
  invrg_model_destroy(&sym3);
}
END_TEST

/* Models without a window table do not batch, and say so. */
START_TEST(batch_refuses_models_without_table) {
  invrg_model *conv5 = random_model(INVRG_MODEL_KIND_CONV, 5, 4, 3);
  ck_assert(!invrg_dream_batch_supports(conv5));
  invrg_dream_batch *b = NULL;
  ck_assert_int_eq(invrg_dream_batch_create(conv5, NULL, 0, 3, &b), INVRG_ERR_RUNTIME);
  ck_assert_ptr_null(b);
  invrg_model_destroy(&conv5);
}
END_TEST

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  Suite *s = suite_create("dream");
  TCase *tc = tcase_create("dream");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, sym3_sampler_matches_closed_form);
  tcase_add_test(tc, conv_logits_and_sampler);
  tcase_add_test(tc, sym3_vector_row_equals_scalar);
  tcase_add_test(tc, table_thresholds_match_direct_evaluation);
  tcase_add_test(tc, window_geometry);
  tcase_add_test(tc, table_step_spins_match_direct_evaluation);
  tcase_add_test(tc, sym7_sampler_matches_model);
  tcase_add_test(tc, seed_spins);
  tcase_add_test(tc, batch_equals_dreams_one_at_a_time);
  tcase_add_test(tc, batch_refuses_models_without_table);
  suite_add_tcase(s, tc);
  const int status = run_suite(s);
  MPI_Finalize();
  return status;
}
