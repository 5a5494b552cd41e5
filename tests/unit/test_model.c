/* Inverse-RG models: gradients against finite differences, the sym3 closed form against the
 * generic kernel path, symmetries, and the periodic wrap at small sizes. */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/model.h"
#include "unit/check_runner.h"

static void random_spins(int8_t *s, int n, uint64_t seed) {
  invrg_rng_stream rs;
  invrg_rng_stream_init(&rs, seed, INVRG_RNG_INIT, 0, 0);
  for (int i = 0; i < n; i++) s[i] = invrg_rng_coin(&rs, (uint64_t)i, 0) ? 1 : -1;
}

static invrg_model *make(invrg_model_kind kind, int kernel, int channels, uint64_t seed) {
  invrg_model *m = NULL;
  ck_assert_int_eq(invrg_model_create(kind, kernel, channels, &m), INVRG_SUCCESS);
  invrg_rng_stream rs;
  invrg_rng_stream_init(&rs, seed, INVRG_RNG_TRAIN, 0, 0);
  invrg_model_init_params(m, &rs);
  return m;
}

/* Central differences of the summed BCE, relative agreement 1e-6. */
static void check_gradient(invrg_model *m, int lc) {
  int nf = 4 * lc * lc;
  int8_t *coarse = malloc((size_t)(lc * lc)), *fine = malloc((size_t)nf);
  random_spins(coarse, lc * lc, 11);
  random_spins(fine, nf, 12);
  invrg_model_work *w = NULL;
  ck_assert_int_eq(invrg_model_work_create(m, lc, &w), INVRG_SUCCESS);
  double *grad = calloc((size_t)m->n_params, sizeof *grad), *dummy = calloc((size_t)m->n_params, sizeof *dummy);
  invrg_model_loss_grad(m, coarse, fine, lc, 1.0, grad, w);
  int stride = m->n_params > 40 ? m->n_params / 40 : 1; /* conv: a spread-out sample of them */
  for (int i = 0; i < m->n_params; i += stride) {
    double keep = m->params[i], h = 1e-5 * fmax(1, fabs(keep));
    m->params[i] = keep + h;
    double up = invrg_model_loss_grad(m, coarse, fine, lc, 0.0, dummy, w);
    m->params[i] = keep - h;
    double down = invrg_model_loss_grad(m, coarse, fine, lc, 0.0, dummy, w);
    m->params[i] = keep;
    double fd = (up - down) / (2 * h);
    ck_assert_msg(fabs(fd - grad[i]) <= 1e-6 * fmax(1, fabs(grad[i])),
                  "%s param %d: analytic %.10g, finite difference %.10g",
                  invrg_model_kind_name(m->kind), i, grad[i], fd);
  }
  free(grad);
  free(dummy);
  free(coarse);
  free(fine);
  invrg_model_work_destroy(&w);
}

START_TEST(gradients_of_symmetric_models) {
  const invrg_model_kind kinds[] = {INVRG_MODEL_KIND_SYM3, INVRG_MODEL_KIND_SYM5,
                                    INVRG_MODEL_KIND_SYM7};
  for (int k = 0; k < 3; k++) {
    invrg_model *m = make(kinds[k], 0, 0, 5);
    check_gradient(m, 8);
    check_gradient(m, 1); /* true wrap: a 1x1 coarse lattice and a kernel larger than 2x2 */
    invrg_model_destroy(&m);
  }
}
END_TEST

START_TEST(gradients_of_conv_models) {
  invrg_model *m = make(INVRG_MODEL_KIND_CONV, 3, 4, 6);
  check_gradient(m, 4);
  invrg_model_destroy(&m);
  m = make(INVRG_MODEL_KIND_CONV, 7, 3, 7);
  check_gradient(m, 3);
  invrg_model_destroy(&m);
}
END_TEST

START_TEST(sym3_closed_form_equals_kernel_path) {
  invrg_model *m = make(INVRG_MODEL_KIND_SYM3, 0, 0, 8);
  const int sizes[] = {1, 2, 5, 16};
  for (int s = 0; s < 4; s++) {
    int lc = sizes[s];
    int8_t *coarse = malloc((size_t)(lc * lc)), *fine = malloc((size_t)(4 * lc * lc));
    random_spins(coarse, lc * lc, 21 + (uint64_t)s);
    random_spins(fine, 4 * lc * lc, 31 + (uint64_t)s);
    invrg_model_work *w = NULL;
    invrg_model_work_create(m, lc, &w);
    double g1[3] = {0}, g2[3] = {0};
    double l1 = invrg_model_loss_grad(m, coarse, fine, lc, 0.5, g1, w);
    double l2 = invrg_model_sym3_loss_grad(m, coarse, fine, lc, 0.5, g2);
    ck_assert_double_eq_tol(l1, l2, 1e-10 * fabs(l1));
    for (int i = 0; i < 3; i++) ck_assert_double_eq_tol(g1[i], g2[i], 1e-10 * fmax(1, fabs(g1[i])));
    invrg_model_work_destroy(&w);
    free(coarse);
    free(fine);
  }
  invrg_model_destroy(&m);
}
END_TEST

START_TEST(sym3_logits_follow_the_spec_formula) {
  /* z(2I+α, 2J+β) = ½[(c+2b+a) μ_P + (a+b)(μ_V + μ_H) + a μ_D] */
  invrg_model *m = make(INVRG_MODEL_KIND_SYM3, 0, 0, 9);
  const double a = m->params[0], b = m->params[1], c = m->params[2];
  int lc = 5;
  int8_t mu[25];
  random_spins(mu, 25, 41);
  double z[100];
  invrg_model_work *w = NULL;
  invrg_model_work_create(m, lc, &w);
  invrg_model_logits(m, mu, lc, z, w);
  for (int y = 0; y < 10; y++)
    for (int x = 0; x < 10; x++) {
      int I = y / 2, J = x / 2, vi = (I + (y % 2 ? 1 : -1) + lc) % lc, hj = (J + (x % 2 ? 1 : -1) + lc) % lc;
      double expect = 0.5 * ((c + 2 * b + a) * mu[I * lc + J] + (a + b) * (mu[vi * lc + J] + mu[I * lc + hj]) + a * mu[vi * lc + hj]);
      ck_assert_double_eq_tol(z[y * 10 + x], expect, 1e-12);
    }
  invrg_model_work_destroy(&w);
  invrg_model_destroy(&m);
}
END_TEST

START_TEST(symmetric_models_are_flip_and_d4_symmetric) {
  const invrg_model_kind kinds[] = {INVRG_MODEL_KIND_SYM3, INVRG_MODEL_KIND_SYM5,
                                    INVRG_MODEL_KIND_SYM7};
  int lc = 6;
  for (int k = 0; k < 3; k++) {
    invrg_model *m = make(kinds[k], 0, 0, 10 + (uint64_t)k);
    int8_t mu[36], flipped[36], transposed[36];
    random_spins(mu, 36, 51);
    for (int i = 0; i < 36; i++) flipped[i] = (int8_t)-mu[i];
    for (int y = 0; y < lc; y++)
      for (int x = 0; x < lc; x++) transposed[x * lc + y] = mu[y * lc + x];
    double z[144], zf[144], zt[144];
    invrg_model_work *w = NULL;
    invrg_model_work_create(m, lc, &w);
    invrg_model_logits(m, mu, lc, z, w);
    invrg_model_logits(m, flipped, lc, zf, w);
    invrg_model_logits(m, transposed, lc, zt, w);
    for (int y = 0; y < 12; y++)
      for (int x = 0; x < 12; x++) {
        ck_assert_double_eq_tol(zf[y * 12 + x], -z[y * 12 + x], 1e-12);     /* spin flip */
        ck_assert_double_eq_tol(zt[x * 12 + y], z[y * 12 + x], 1e-12);      /* transpose */
      }
    invrg_model_work_destroy(&w);
    invrg_model_destroy(&m);
  }
}
END_TEST

START_TEST(parameter_counts_and_names) {
  ck_assert_int_eq(invrg_model_param_count(INVRG_MODEL_KIND_SYM3, 3, 0), 3);
  ck_assert_int_eq(invrg_model_param_count(INVRG_MODEL_KIND_SYM5, 5, 0), 6);
  ck_assert_int_eq(invrg_model_param_count(INVRG_MODEL_KIND_SYM7, 7, 0), 10);
  ck_assert_int_eq(invrg_model_param_count(INVRG_MODEL_KIND_CONV, 3, 32), 609);
  ck_assert_int_eq(invrg_model_param_count(INVRG_MODEL_KIND_CONV, 7, 32), 3169);
  invrg_model *m = make(INVRG_MODEL_KIND_CONV, 3, 32, 1);
  char name[64];
  invrg_model_param_name(m, 0, name, sizeof name);
  ck_assert_str_eq(name, "conv1.weight[0][0][0]");
  invrg_model_param_name(m, 288, name, sizeof name);
  ck_assert_str_eq(name, "conv1.bias[0]");
  invrg_model_param_name(m, 320 + 287, name, sizeof name);
  ck_assert_str_eq(name, "conv2.weight[31][2][2]");
  invrg_model_param_name(m, 608, name, sizeof name);
  ck_assert_str_eq(name, "conv2.bias");
  invrg_model_destroy(&m);
  ck_assert_int_eq(invrg_model_create((invrg_model_kind)7, 0, 0, &m), INVRG_ERR_INPUT);
  ck_assert_ptr_null(m);
  /* a model file's kind is a name: the kinds' table reads it */
  int kind = -1;
  ck_assert(invrg_choice_find(invrg_model_kind_names, "sym7", &kind) &&
            kind == INVRG_MODEL_KIND_SYM7);
  ck_assert_str_eq(invrg_model_kind_name(INVRG_MODEL_KIND_CONV), "conv");
  ck_assert(!invrg_choice_find(invrg_model_kind_names, "sym4", &kind));
}
END_TEST

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  Suite *s = suite_create("model");
  TCase *tc = tcase_create("model");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, gradients_of_symmetric_models);
  tcase_add_test(tc, gradients_of_conv_models);
  tcase_add_test(tc, sym3_closed_form_equals_kernel_path);
  tcase_add_test(tc, sym3_logits_follow_the_spec_formula);
  tcase_add_test(tc, symmetric_models_are_flip_and_d4_symmetric);
  tcase_add_test(tc, parameter_counts_and_names);
  suite_add_tcase(s, tc);
  const int status = run_suite(s);
  MPI_Finalize();
  return status;
}
