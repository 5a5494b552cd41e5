/* The dream sampler: empirical up-fractions against the model's probabilities (4σ), the conv
 * logits against a naive evaluation, and the seed spins. */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/dream.h"

static void random_spins(int8_t *s, int n, uint64_t seed) {
  invrg_rng_stream rs;
  invrg_rng_stream_init(&rs, seed, INVRG_RNG_INIT, 0, 0);
  for (int i = 0; i < n; i++) s[i] = invrg_rng_coin(&rs, (uint64_t)i, 0) ? 1 : -1;
}

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }

/* sym3: for each of the 16 (parent, vertical, horizontal, diagonal) patterns, the fraction of up
 * children over a large lattice matches σ(½[(c+2b+a)P + (a+b)(V+H) + aD]) within 4σ. */
START_TEST(sym3_sampler_matches_closed_form) {
  invrg_model *m = NULL;
  invrg_model_create("sym3", 0, 0, &m);
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
  invrg_model_create("conv", 3, 6, &m);
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
  invrg_model_create("sym3", 0, 0, &m);
  m->params[0] = 0.54590, m->params[1] = 0.62776, m->params[2] = 1.40962;
  const int sizes[] = {1, 2, 6, 16, 18, 40, 256};
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    const int lc = sizes[k], L = 2 * lc;
    int8_t *coarse = malloc((size_t)(lc * lc)), *a = malloc((size_t)(L * L)), *b = malloc((size_t)(L * L));
    random_spins(coarse, lc * lc, 7 + (uint64_t)k);
    invrg_dream_work *w = NULL;
    invrg_dream_work_create(m, lc, &w);
    unsetenv("INVRG_SIMD");
    invrg_dream_step(m, coarse, lc, 11, 3, 5, a, w);
    setenv("INVRG_SIMD", "generic", 1);
    invrg_dream_step(m, coarse, lc, 11, 3, 5, b, w);
    unsetenv("INVRG_SIMD");
    ck_assert_msg(memcmp(a, b, (size_t)(L * L)) == 0, "lc = %d: vector and scalar rows differ", lc);
    invrg_dream_work_destroy(&w);
    free(coarse);
    free(a);
    free(b);
  }
  invrg_model_destroy(&m);
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

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  Suite *s = suite_create("dream");
  TCase *tc = tcase_create("dream");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, sym3_sampler_matches_closed_form);
  tcase_add_test(tc, conv_logits_and_sampler);
  tcase_add_test(tc, sym3_vector_row_equals_scalar);
  tcase_add_test(tc, seed_spins);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  MPI_Finalize();
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
