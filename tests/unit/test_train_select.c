/*
 * The model stage train keeps of its replicas (&train select, ml/train.c): the best replica is
 * the first of lowest final validation loss; 'mean' keeps the mean of the parameters, 'best'
 * the best replica, 'auto' for sym models whichever validates better and for conv the best.
 * The replicas' losses and the mean's are evaluated here with the library's validation loss on
 * random configurations. Along the line θ = (0, 0, c) of sym3 (the parent's weight) the loss is
 * convex with its minimum near some c*, found here on a grid: replicas at c* ± 3 have a mean
 * that validates better than either, replicas at c*, c* + 3 and c* + 4 a mean that validates
 * worse than the one at c*.
 */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/model.h"
#include "invrg/train.h"
#include "unit/check_runner.h"

enum { L = 8, N_CONFIGS = 40, N_VALIDATION = 10, SEED = 7 };

static int8_t configs[N_CONFIGS * L * L];

static void random_configs(void) {
  uint64_t s = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < N_CONFIGS * L * L; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    configs[i] = (s >> 40) & 1 ? 1 : -1;
  }
}

static invrg_train_data data_with(int64_t n_validation) {
  invrg_train_data d = {configs, N_CONFIGS, L, n_validation};
  return d;
}

/* The validation loss of parameters @p theta for a model of @p kind (as the stage measures it). */
static double val_loss(invrg_model_kind kind, const double *theta, const invrg_train_data *d) {
  invrg_model *m = NULL;
  ck_assert_int_eq(invrg_model_create(kind, 3, 2, &m), INVRG_SUCCESS);
  memcpy(m->params, theta, (size_t)m->n_params * sizeof *theta);
  double loss = NAN;
  ck_assert_int_eq(invrg_train_evaluate(m, d, d->n - d->n_validation, d->n_validation, SEED,
                                        MPI_COMM_SELF, &loss),
                   INVRG_SUCCESS);
  invrg_model_destroy(&m);
  return loss;
}

/* The grid point c of lowest validation loss of sym3 θ = (0, 0, c), c = 0, 0.25, … 4. */
static double line_optimum(const invrg_train_data *d) {
  double best_c = 0, best = INFINITY;
  for (int k = 0; k <= 16; k++) {
    const double theta[3] = {0, 0, 0.25 * k}, loss = val_loss(INVRG_MODEL_KIND_SYM3, theta, d);
    if (loss < best) best = loss, best_c = theta[2];
  }
  return best_c;
}

/* Rows as the stage holds them: [params | final validation loss], stride n_params + 1. */
enum { MAX_REPLICAS = 4, MAX_PARAMS = 40 };
typedef struct {
  double rows[MAX_REPLICAS * (MAX_PARAMS + 1)];
  invrg_train_replicas r;
} replica_rows;

static void fill_rows(replica_rows *t, invrg_model_kind kind, int n, int np, const double *params,
                      const invrg_train_data *d) {
  const size_t stride = (size_t)np + 1;
  for (int k = 0; k < n; k++) {
    memcpy(t->rows + (size_t)k * stride, params + (size_t)k * (size_t)np, (size_t)np * sizeof *params);
    t->rows[(size_t)k * stride + (size_t)np] =
        d->n_validation > 0 ? val_loss(kind, params + (size_t)k * (size_t)np, d) : NAN;
  }
  t->r = (invrg_train_replicas){n, np, t->rows, t->rows + np, stride};
}

/* Runs the selection on a fresh model of @p kind; returns the kept parameters in @p kept. */
static invrg_train_selection select_with(invrg_train_select rule, invrg_model_kind kind,
                                         const replica_rows *t, const invrg_train_data *d,
                                         double *kept) {
  invrg_model *m = NULL;
  ck_assert_int_eq(invrg_model_create(kind, 3, 2, &m), INVRG_SUCCESS);
  invrg_train_selection sel;
  ck_assert_int_eq(invrg_train_select_model(rule, &t->r, d, SEED, MPI_COMM_SELF, m, &sel),
                   INVRG_SUCCESS);
  memcpy(kept, m->params, (size_t)m->n_params * sizeof *kept);
  invrg_model_destroy(&m);
  return sel;
}

static void mean_of(const double *params, int n, int np, double *mean) {
  for (int i = 0; i < np; i++) {
    double s = 0;
    for (int k = 0; k < n; k++) s += params[k * np + i];
    mean[i] = s / n;
  }
}

static void assert_params(const double *got, const double *want, int np, const char *what) {
  for (int i = 0; i < np; i++)
    ck_assert_msg(fabs(got[i] - want[i]) <= 1e-15 * (1 + fabs(want[i])),
                  "%s: parameter %d is %.17g, want %.17g", what, i, got[i], want[i]);
}

START_TEST(best_replica_is_the_first_of_lowest_loss) {
  double val[] = {0.5, -1, 0.3, -1, 0.3, -1, 0.4, -1}; /* stride 2: odd entries are not losses */
  invrg_train_replicas r = {4, 1, val, val, 2};
  ck_assert_int_eq(invrg_train_best_replica(&r), 1);
  val[0] = 0.2;
  ck_assert_int_eq(invrg_train_best_replica(&r), 0);
  for (int k = 0; k < 8; k += 2) val[k] = NAN; /* no validation data */
  ck_assert_int_eq(invrg_train_best_replica(&r), 0);
}
END_TEST

START_TEST(the_rule_of_select) {
  for (int sym = 0; sym <= 1; sym++) {
    ck_assert(invrg_train_keeps_mean(INVRG_SELECT_MEAN, sym, 2.0, 1.0));
    ck_assert(!invrg_train_keeps_mean(INVRG_SELECT_BEST, sym, 0.5, 1.0));
  }
  ck_assert(invrg_train_keeps_mean(INVRG_SELECT_AUTO, true, 0.5, 1.0));
  ck_assert(invrg_train_keeps_mean(INVRG_SELECT_AUTO, true, 1.0, 1.0)); /* a tie keeps the mean */
  ck_assert(!invrg_train_keeps_mean(INVRG_SELECT_AUTO, true, 1.5, 1.0));
  ck_assert(invrg_train_keeps_mean(INVRG_SELECT_AUTO, true, NAN, 1.0)); /* not evaluated */
  ck_assert(!invrg_train_keeps_mean(INVRG_SELECT_AUTO, false, 0.5, 1.0)); /* conv: best */
}
END_TEST

/* Replicas at c* ± 3: their mean (c*) validates better than both. */
START_TEST(auto_keeps_a_mean_that_validates_better) {
  const invrg_train_data d = data_with(N_VALIDATION);
  const double c = line_optimum(&d), params[] = {0, 0, c - 3, 0, 0, c + 3};
  double mean[3], kept[3];
  mean_of(params, 2, 3, mean);
  replica_rows t;
  fill_rows(&t, INVRG_MODEL_KIND_SYM3, 2, 3, params, &d);
  const double mean_loss = val_loss(INVRG_MODEL_KIND_SYM3, mean, &d);
  const int64_t best = t.rows[3] <= t.rows[7] ? 0 : 1;
  ck_assert_msg(mean_loss < t.rows[4 * best + 3], "the test's premise: the mean validates better");

  invrg_train_selection sel = select_with(INVRG_SELECT_AUTO, INVRG_MODEL_KIND_SYM3, &t, &d, kept);
  ck_assert(sel.keep_mean);
  ck_assert_int_eq(sel.best, best);
  ck_assert_double_eq(sel.best_val_loss, t.rows[4 * best + 3]);
  ck_assert_double_eq_tol(sel.mean_val_loss, mean_loss, 1e-14);
  assert_params(kept, mean, 3, "auto");

  sel = select_with(INVRG_SELECT_BEST, INVRG_MODEL_KIND_SYM3, &t, &d, kept);
  ck_assert(!sel.keep_mean);
  assert_params(kept, params + 3 * best, 3, "best");
  ck_assert_double_eq_tol(sel.mean_val_loss, mean_loss, 1e-14); /* evaluated all the same */
}
END_TEST

/* One replica at c*, two far on the same side: their mean validates worse. */
START_TEST(auto_keeps_the_best_replica_when_the_mean_is_worse) {
  const invrg_train_data d = data_with(N_VALIDATION);
  const double c = line_optimum(&d), params[] = {0, 0, c + 3, 0, 0, c, 0, 0, c + 4};
  double mean[3], kept[3];
  mean_of(params, 3, 3, mean);
  replica_rows t;
  fill_rows(&t, INVRG_MODEL_KIND_SYM3, 3, 3, params, &d);
  ck_assert_msg(t.rows[7] < t.rows[3] && t.rows[7] < t.rows[11], "the test's premise: replica 1");
  ck_assert_msg(val_loss(INVRG_MODEL_KIND_SYM3, mean, &d) > t.rows[7],
                "the test's premise: the mean validates worse");

  invrg_train_selection sel = select_with(INVRG_SELECT_AUTO, INVRG_MODEL_KIND_SYM3, &t, &d, kept);
  ck_assert(!sel.keep_mean);
  ck_assert_int_eq(sel.best, 1);
  assert_params(kept, params + 3, 3, "auto");

  sel = select_with(INVRG_SELECT_MEAN, INVRG_MODEL_KIND_SYM3, &t, &d, kept);
  ck_assert(sel.keep_mean);
  assert_params(kept, mean, 3, "mean");
}
END_TEST

/* conv: auto keeps the best replica and does not evaluate the mean, whatever it would give. */
START_TEST(auto_keeps_the_best_conv_replica) {
  const invrg_train_data d = data_with(N_VALIDATION);
  const int np = invrg_model_param_count(INVRG_MODEL_KIND_CONV, 3, 2);
  ck_assert_int_le(np, MAX_PARAMS);
  double params[2 * MAX_PARAMS], kept[MAX_PARAMS];
  for (int i = 0; i < np; i++) params[i] = 0.4 * sin(i + 1.0), params[np + i] = -params[i];
  replica_rows t;
  fill_rows(&t, INVRG_MODEL_KIND_CONV, 2, np, params, &d);
  const int64_t best = t.rows[np] <= t.rows[2 * np + 1] ? 0 : 1;
  invrg_train_selection sel = select_with(INVRG_SELECT_AUTO, INVRG_MODEL_KIND_CONV, &t, &d, kept);
  ck_assert(!sel.keep_mean);
  ck_assert_int_eq(sel.best, best);
  ck_assert(isnan(sel.mean_val_loss));
  assert_params(kept, params + (size_t)best * (size_t)np, np, "conv");
}
END_TEST

/* Without validation data nothing is evaluated: auto keeps the mean of a sym model. */
START_TEST(without_validation_auto_keeps_the_mean) {
  const invrg_train_data d = data_with(0);
  const double params[] = {0.1, 0.2, 0.3, 0.7, 0.8, 0.9};
  double mean[3], kept[3];
  mean_of(params, 2, 3, mean);
  replica_rows t;
  fill_rows(&t, INVRG_MODEL_KIND_SYM3, 2, 3, params, &d);
  invrg_train_selection sel = select_with(INVRG_SELECT_AUTO, INVRG_MODEL_KIND_SYM3, &t, &d, kept);
  ck_assert(sel.keep_mean);
  ck_assert_int_eq(sel.best, 0);
  ck_assert(isnan(sel.mean_val_loss) && isnan(sel.best_val_loss));
  assert_params(kept, mean, 3, "no validation");
}
END_TEST

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  random_configs();
  Suite *suite = suite_create("train_select");
  TCase *tc = tcase_create("train_select");
  tcase_add_test(tc, best_replica_is_the_first_of_lowest_loss);
  tcase_add_test(tc, the_rule_of_select);
  tcase_add_test(tc, auto_keeps_a_mean_that_validates_better);
  tcase_add_test(tc, auto_keeps_the_best_replica_when_the_mean_is_worse);
  tcase_add_test(tc, auto_keeps_the_best_conv_replica);
  tcase_add_test(tc, without_validation_auto_keeps_the_mean);
  suite_add_tcase(suite, tc);
  const int status = run_suite(suite);
  MPI_Finalize();
  return status;
}
