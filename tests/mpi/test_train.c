/* Training: bit-identical parameters on any number of ranks (the chunked, ordered gradient sum),
 * convexity of the sym3 loss (different starts, same optimum), and the one-cycle schedule. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "critical_configs.h"
#include "invrg/config.h"
#include "invrg/exact.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mc_update.h"
#include "invrg/train.h"

#include "mpi/mpi_test.h"

static invrg_model *trained(invrg_model_kind kind, int kernel, int channels,
                            const invrg_train_data *d, const invrg_train_recipe *r,
                            uint64_t init_seed, MPI_Comm comm) {
  invrg_model *m = NULL;
  OK(invrg_model_create(kind, kernel, channels, &m));
  invrg_rng_stream init;
  invrg_rng_stream_init(&init, init_seed, INVRG_RNG_TRAIN, 0, 0);
  invrg_model_init_params(m, &init);
  double *curve = malloc(2 * (size_t)r->epochs * sizeof *curve);
  invrg_train_history h = {curve, curve + r->epochs, 0};
  OK(invrg_train(m, r, d, 17, 0, comm, NULL, &h, NULL, NULL, NULL));
  free(curve);
  return m;
}

/* The parameters on all ranks together equal those of one rank alone, bit for bit. */
static void check_rank_invariance(invrg_model_kind kind, int kernel, int channels,
                                  invrg_loss_kind loss, const invrg_train_data *d) {
  invrg_train_recipe r = {loss, INVRG_OPT_ADAMW, INVRG_SCHEDULE_ONECYCLE, 0.01, 0.01, 3, 40};
  invrg_model *all = trained(kind, kernel, channels, d, &r, 1, MPI_COMM_WORLD);
  invrg_model *alone = trained(kind, kernel, channels, d, &r, 1, MPI_COMM_SELF);
  int same = memcmp(all->params, alone->params, (size_t)all->n_params * sizeof(double)) == 0, all_same;
  MPI_Allreduce(&same, &all_same, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  CHECK(all_same, "%s (%s loss): parameters on %d ranks equal one rank's bit for bit",
        invrg_model_kind_name(kind),
        loss == INVRG_LOSS_BCE ? "bce" : "weighted", world_size);
  invrg_model_destroy(&all);
  invrg_model_destroy(&alone);
}

/* Stops the training after @p ctx epochs, as a checkpoint stop would. */
static invrg_err stop_after(void *ctx, const invrg_train_state *state) {
  return state->epochs_done == *(const int64_t *)ctx ? INVRG_STOPPED : INVRG_SUCCESS;
}

/* Trained in one go, or stopped after 2 epochs and continued from the state: the same bits. */
static void check_continuation(invrg_model_kind kind, int kernel, int channels,
                               const invrg_train_data *d) {
  invrg_train_recipe r = {INVRG_LOSS_BCE, INVRG_OPT_ADAMW, INVRG_SCHEDULE_ONECYCLE, 0.01, 0.01, 5, 40};
  invrg_model *whole = trained(kind, kernel, channels, d, &r, 1, MPI_COMM_WORLD), *parts = NULL;
  OK(invrg_model_create(kind, kernel, channels, &parts));
  invrg_rng_stream init;
  invrg_rng_stream_init(&init, 1, INVRG_RNG_TRAIN, 0, 0);
  invrg_model_init_params(parts, &init);
  const int np = parts->n_params;
  double *curve = malloc(2 * (size_t)r.epochs * sizeof *curve);
  double *moments = calloc(2 * (size_t)np, sizeof *moments);
  invrg_train_history h = {curve, curve + r.epochs, 0};
  invrg_train_state st = {0, 0, moments, moments + np};
  int64_t stop = 2;
  invrg_err first = invrg_train(parts, &r, d, 17, 0, MPI_COMM_WORLD, NULL, &h, &st, stop_after, &stop);
  invrg_err second = invrg_train(parts, &r, d, 17, 0, MPI_COMM_WORLD, NULL, &h, &st, NULL, NULL);
  CHECK(first == INVRG_STOPPED && st.epochs_done == 5 && second == INVRG_SUCCESS &&
            memcmp(whole->params, parts->params, (size_t)np * sizeof(double)) == 0,
        "%s: stopped after 2 of 5 epochs and continued = trained in one go, bit for bit",
        invrg_model_kind_name(kind));
  free(curve);
  free(moments);
  invrg_model_destroy(&whole);
  invrg_model_destroy(&parts);
}

/* The training data of every case: 256 critical 16 x 16 configurations, 32 per minibatch. */
enum { DATA_L = 16, DATA_N = 256 };

static void test_rank_invariance(void) {
  int8_t *configs = critical_configs(DATA_L, DATA_N, 3);
  invrg_train_data d = {configs, DATA_N, DATA_L, 32};
  check_rank_invariance(INVRG_MODEL_KIND_SYM3, 3, 0, INVRG_LOSS_BCE, &d);
  check_rank_invariance(INVRG_MODEL_KIND_SYM5, 5, 0, INVRG_LOSS_WEIGHTED, &d);
  check_rank_invariance(INVRG_MODEL_KIND_CONV, 3, 4, INVRG_LOSS_BCE, &d);
  free(configs);
}

static void test_continuation(void) {
  int8_t *configs = critical_configs(DATA_L, DATA_N, 3);
  invrg_train_data d = {configs, DATA_N, DATA_L, 32};
  check_continuation(INVRG_MODEL_KIND_SYM3, 3, 0, &d);
  check_continuation(INVRG_MODEL_KIND_CONV, 3, 4, &d);
  free(configs);
}

/* Convexity: three starts, the same data and coins, one optimum (to 1e-3). The features
 * (μ_P, μ_V + μ_H, μ_D) are strongly correlated at K_c, so the valley is long and narrow:
 * it takes thousands of full-batch steps. On one rank only (it says nothing about ranks). */
static void test_convexity(void) {
  if (world_size != 1) {
    mpi_test_skip("on one rank only: it says nothing about ranks");
    return;
  }
  int8_t *configs = critical_configs(DATA_L, DATA_N, 3);
  invrg_train_data d = {configs, DATA_N, DATA_L, 32};
  invrg_train_recipe full = {INVRG_LOSS_BCE, INVRG_OPT_ADAMW, INVRG_SCHEDULE_ONECYCLE, 0.3, 0.0,
                             8000, DATA_N - 32};
  invrg_model *m[3];
  for (int s = 0; s < 3; s++)
    m[s] = trained(INVRG_MODEL_KIND_SYM3, 3, 0, &d, &full, 100 + (uint64_t)s, MPI_COMM_WORLD);
  double worst = 0;
  for (int s = 1; s < 3; s++)
    for (int i = 0; i < 3; i++) worst = fmax(worst, fabs(m[s]->params[i] - m[0]->params[i]));
  CHECK(worst < 1e-3, "sym3 from three starts: largest difference %.2e (< 1e-3); a b c = %.4f %.4f %.4f",
        worst, m[0]->params[0], m[0]->params[1], m[0]->params[2]);
  for (int s = 0; s < 3; s++) invrg_model_destroy(&m[s]);
  free(configs);
}

/* One-cycle: lr/25 → lr at 30 % → lr/25/1e4 at the end; β1 0.95 → 0.85 → 0.95. */
static void test_one_cycle(void) {
  invrg_train_recipe oc = {INVRG_LOSS_BCE, INVRG_OPT_ADAMW, INVRG_SCHEDULE_ONECYCLE, 0.01, 0.01, 1, 1};
  double lr, b1;
  invrg_train_schedule(&oc, 0, 1000, &lr, &b1);
  CHECK(fabs(lr - 0.01 / 25) < 1e-15 && fabs(b1 - 0.95) < 1e-15, "one-cycle start lr %.3g beta1 %.3g", lr, b1);
  invrg_train_schedule(&oc, 299, 1000, &lr, &b1);
  CHECK(fabs(lr - 0.01) < 1e-15 && fabs(b1 - 0.85) < 1e-15, "one-cycle peak lr %.3g beta1 %.3g", lr, b1);
  invrg_train_schedule(&oc, 999, 1000, &lr, &b1);
  CHECK(fabs(lr - 0.01 / 25 / 1e4) < 1e-18 && fabs(b1 - 0.95) < 1e-15, "one-cycle end lr %.3g beta1 %.3g", lr, b1);
  invrg_train_schedule(&oc, 649, 1000, &lr, &b1);
  CHECK(fabs(lr - (0.01 + 0.01 / 25 / 1e4) / 2) < 1e-12, "one-cycle half-way down lr %.4g", lr);
}

static const mpi_test_case cases[] = {
    {"rank_invariance", test_rank_invariance, true},
    {"continuation", test_continuation, true},
    {"convexity", test_convexity, true},
    {"one_cycle", test_one_cycle, true},
};

int main(int argc, char **argv) { return MPI_TEST_MAIN(argc, argv, cases); }
