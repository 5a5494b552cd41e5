/*
 * The training loss against a hand computation: one plain SGD step on a small batch with
 * known ties must move the parameters by exactly −lr × the gradient written out here from
 * the definitions (docs/physics.md §4–5): the model as an upsampled, periodic 3 × 3
 * cross-correlation with orbit-tied weights and bias −ΣK/2, the binary cross-entropy, and
 * for the weighted loss the weights w = 2^{−n_tie} normalised to mean 1 over the batch.
 * The coarse configurations (whose tied blocks take the library's coins) are inputs; the
 * numbers of ties are counted here.
 */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/blockspin.h"
#include "invrg/model.h"
#include "invrg/train.h"
#include "unit/check_runner.h"

enum { L = 8, LC = L / 2, N_CONFIGS = 6 };

static uint64_t state = 0x2545f4914f6cdd1dULL;
static double uniform(void) {
  state ^= state << 13, state ^= state >> 7, state ^= state << 17;
  return ((double)(state >> 11) + 0.5) * 0x1.0p-53;
}

/* Configurations with different numbers of tied 2 × 2 blocks (config c: c of them, or more). */
static void make_configs(int8_t *configs) {
  for (int c = 0; c < N_CONFIGS; c++) {
    int8_t *s = configs + c * L * L;
    for (int i = 0; i < L * L; i++) s[i] = uniform() < 0.7 ? 1 : -1;
    for (int t = 0; t < c; t++) { /* block t made a tie: two up, two down */
      int y = 2 * (t % LC), x = 2 * (t / LC);
      s[y * L + x] = 1, s[y * L + x + 1] = -1, s[(y + 1) * L + x] = -1, s[(y + 1) * L + x + 1] = 1;
    }
  }
}

static int count_ties(const int8_t *s) {
  int n = 0;
  for (int by = 0; by < LC; by++)
    for (int bx = 0; bx < LC; bx++)
      n += s[2 * by * L + 2 * bx] + s[2 * by * L + 2 * bx + 1] + s[(2 * by + 1) * L + 2 * bx] +
               s[(2 * by + 1) * L + 2 * bx + 1] ==
           0;
  return n;
}

/* Σ over the fine sites of ∂ℓ/∂θ for the sym3 model θ = (a, b, c) on (coarse → fine):
 * u = (μ + 1)/2 upsampled, z = Σ_ij K_ij (u(y+i−1, x+j−1) − ½) with K_ij = θ[orbit(|i−1|, |j−1|)]
 * (corners a, edges b, centre c), P(up) = σ(z), ℓ = −t ln σ − (1 − t) ln(1 − σ), ∂ℓ/∂z = σ − t. */
static void hand_gradient(const int8_t *coarse, const int8_t *fine, const double theta[3],
                          double grad[3]) {
  grad[0] = grad[1] = grad[2] = 0;
  for (int y = 0; y < L; y++)
    for (int x = 0; x < L; x++) {
      double z = 0, dz[3] = {0, 0, 0};
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
          int yy = (y + i - 1 + L) % L, xx = (x + j - 1 + L) % L;
          double u = (coarse[(yy / 2) * LC + xx / 2] + 1) / 2.0 - 0.5;
          int orbit = (i != 1 && j != 1) ? 0 : (i == 1 && j == 1) ? 2 : 1;
          z += theta[orbit] * u;
          dz[orbit] += u;
        }
      double sigma = 1 / (1 + exp(-z)), t = (fine[y * L + x] + 1) / 2.0;
      for (int k = 0; k < 3; k++) grad[k] += (sigma - t) * dz[k];
    }
}

static void check_one_step(invrg_loss_kind loss) {
  int8_t configs[N_CONFIGS * L * L], coarse[LC * LC];
  make_configs(configs);
  const double theta0[3] = {0.3, 0.7, 1.2}, lr = 0.5;
  const uint64_t seed = 99, replica = 0;
  invrg_model *m = NULL;
  ck_assert_int_eq(invrg_model_create(INVRG_MODEL_KIND_SYM3, 3, 0, &m), INVRG_SUCCESS);
  memcpy(m->params, theta0, sizeof theta0);

  /* By hand: Σ_c w_c ∇ℓ_c / ((Σ_c w_c / n) n N), w_c = 2^{−n_tie} (weighted) or 1. */
  double grad[3] = {0, 0, 0}, total_w = 0;
  for (int c = 0; c < N_CONFIGS; c++) {
    const int8_t *fine = configs + c * L * L;
    /* The coins training uses in epoch 0 (train.h): item BASE + replica, step n + c. */
    invrg_blockspin_ties ties = {INVRG_TIE_RANDOM, seed, INVRG_TRAIN_TIE_ITEM_BASE + replica,
                                 (uint64_t)(N_CONFIGS + c)};
    int64_t n_tie = invrg_blockspin_array(fine, L, L, &ties, coarse);
    ck_assert_int_eq(n_tie, count_ties(fine));
    ck_assert_int_ge(n_tie, c); /* every configuration has its own number of ties */
    double w = loss == INVRG_LOSS_WEIGHTED ? pow(2.0, -(double)n_tie) : 1.0, g[3];
    hand_gradient(coarse, fine, theta0, g);
    for (int k = 0; k < 3; k++) grad[k] += w * g[k];
    total_w += w;
  }
  for (int k = 0; k < 3; k++) grad[k] /= total_w / N_CONFIGS * N_CONFIGS * L * L;

  invrg_train_recipe r = {loss, INVRG_OPT_SGD, INVRG_SCHEDULE_CONSTANT, lr, 0.0, 1, N_CONFIGS};
  invrg_train_data d = {configs, N_CONFIGS, L, 0};
  double train_loss[1], val_loss[1];
  invrg_train_history hist = {train_loss, val_loss, 0};
  ck_assert_int_eq(invrg_train(m, &r, &d, seed, replica, MPI_COMM_WORLD, NULL, &hist, NULL, NULL,
                               NULL),
                   INVRG_SUCCESS);
  for (int k = 0; k < 3; k++) {
    double want = theta0[k] - lr * grad[k];
    ck_assert_msg(fabs(m->params[k] - want) < 1e-12, "%s loss, parameter %d: %.15g, by hand %.15g",
                  loss == INVRG_LOSS_WEIGHTED ? "weighted" : "bce", k, m->params[k], want);
  }
  invrg_model_destroy(&m);
}

START_TEST(bce_step_equals_hand_gradient) { check_one_step(INVRG_LOSS_BCE); }
END_TEST

START_TEST(weighted_step_equals_hand_gradient) { check_one_step(INVRG_LOSS_WEIGHTED); }
END_TEST

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  Suite *suite = suite_create("loss");
  TCase *tc = tcase_create("loss");
  tcase_add_test(tc, bce_step_equals_hand_gradient);
  tcase_add_test(tc, weighted_step_equals_hand_gradient);
  suite_add_tcase(suite, tc);
  const int status = run_suite(suite);
  MPI_Finalize();
  return status;
}
