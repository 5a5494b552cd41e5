/* Stage train before any work (train_check.h): the fit the input asks for, and every input
 * error of its keys at once. */
#include "invrg/train_check.h"

#include <math.h>

#include "invrg/budget.h"
#include "invrg/model.h"
#include "invrg/train_data_io.h"

bool invrg_train_uses_newton(const invrg_config_train *t) {
  return t->optimizer_kind == INVRG_OPTIMIZER_NEWTON ||
         (t->optimizer_kind == INVRG_OPTIMIZER_AUTO && t->model_kind != INVRG_MODEL_KIND_CONV);
}

/* Whether &mc L lists @p L. */
static bool mc_has_size(const invrg_config_mc *mc, int64_t L) {
  for (int i = 0; i < mc->n_L; i++)
    if (mc->L[i] == L) return true;
  return false;
}

/* The exact fit of a sym model on L x L data: with ties = 'expectation' a window of coarse
 * reach r must not hold one block twice (L/2 >= 2r + 1, as the fit itself demands); with coins
 * the k x k kernel must not wrap onto itself on the fine lattice (L > k), else parameters act
 * on the same spins and the Hessian is singular whatever the data. Refused before any stage
 * runs. */
static invrg_err check_exact_fit_size(const invrg_config *cfg, int64_t L) {
  invrg_err err = INVRG_SUCCESS;
  invrg_model *m = NULL;
  const invrg_config_train *t = &cfg->train;
  INVRG_CALL(invrg_model_create(t->model_kind, (int)t->conv_kernel, (int)t->conv_channels, &m));
  const long long r = m->reach, k = m->kernel, lc = (long long)L / 2;
  const bool expectation = t->ties_kind != INVRG_TIES_COIN; /* the exact fit's default */
  const char *key = t->data[0] == '\0' ? (t->data_L > 0 ? "data_L" : "data") : "data";
  if (expectation && lc < 2 * r + 1)
    err = invrg_config_input_error(cfg, "train", key,
                                   "the exact fit of %s with ties = 'expectation' needs "
                                   "L >= %lld, the data have L = %lld%s",
                                   invrg_model_kind_name(m->kind), 2 * (2 * r + 1), (long long)L,
                                   L > k ? "; ties = 'coin' fits them" : "");
  else if (!expectation && L <= k)
    err = invrg_config_input_error(cfg, "train", key,
                                   "the exact fit of %s needs L >= %lld (its %lld x %lld window "
                                   "wraps onto itself below: parameters on the same spins), the "
                                   "data have L = %lld", invrg_model_kind_name(m->kind), k + 1,
                                   k, k, (long long)L);
cleanup:
  invrg_model_destroy(&m);
  return err;
}

invrg_err invrg_train_check(const invrg_run *run) {
  invrg_err err = INVRG_SUCCESS, found = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_config_train *t = &cfg->train;
  if (t->data[0] == '\0' && !(invrg_config_has_stage(cfg, INVRG_STAGE_MC) && cfg->mc.save_configs))
    found = invrg_config_input_error(cfg, "train", "data",
                                     "data = '' trains on this run's Monte Carlo samples: add "
                                     "'mc' to &run stages with &mc save_configs = .true., or "
                                     "give a file");
  if (t->data[0] == '\0' && cfg->mc.n_L > 1 && t->data_L == 0)
    found = invrg_config_input_error(cfg, "train", "data_L",
                                     "&mc L lists %d sizes: choose the one to train on with "
                                     "data_L", cfg->mc.n_L);
  if (t->data[0] == '\0' && t->data_L > 0 && !mc_has_size(&cfg->mc, t->data_L))
    found = invrg_config_input_error(cfg, "train", "data_L",
                                     "data_L = %lld is not among the sizes of &mc L, whose "
                                     "configurations this run trains on", (long long)t->data_L);
  const bool conv = t->model_kind == INVRG_MODEL_KIND_CONV, newton = invrg_train_uses_newton(t);
  if (conv && t->optimizer_kind == INVRG_OPTIMIZER_NEWTON)
    found = invrg_config_input_error(cfg, "train", "optimizer",
                                     "optimizer = 'newton' is the exact fit of the sym models; "
                                     "conv is not convex: use adamw, adam or sgd");
  if (!newton && t->ties_kind == INVRG_TIES_EXPECTATION)
    found = invrg_config_input_error(cfg, "train", "ties",
                                     "ties = 'expectation' is for optimizer = 'newton'; the "
                                     "stochastic optimizers draw tie coins");
  if (t->select_kind == INVRG_SELECT_MEAN && conv)
    found = invrg_config_input_error(cfg, "train", "select",
                                     "the mean of conv replicas is not a model; use 'best'");
  /* Only rank 0 looks at the file, then tells everyone what it found. */
  int64_t data[3] = {INVRG_SUCCESS, 0, 0}; /* error code, configurations, L */
  if (run->groups->world_rank == 0) data[0] = invrg_train_data_count(cfg, &data[1], &data[2]);
  INVRG_MPI_CALL(MPI_Bcast(data, 3, MPI_INT64_T, 0, run->groups->world));
  if (data[0] != INVRG_SUCCESS) {
    if (run->groups->world_rank != 0)
      invrg_error_set(INVRG_ERR_INPUT, __FILE__, __LINE__, "bad &train data");
    invrg_error_mark_reported(); /* rank 0 printed it */
    INVRG_CHECK_MORE(found, (invrg_err)data[0]);
    goto cleanup; /* nothing to count */
  }
  const int64_t n = data[1];
  if (newton && !conv) INVRG_CHECK_MORE(found, check_exact_fit_size(cfg, data[2]));
  int64_t n_val = (int64_t)floor(t->validation_fraction * (double)n);
  if (!newton && t->batch > n - n_val)
    found = invrg_config_input_error(cfg, "train", "batch",
                                     "batch = %lld is larger than the training set (%lld "
                                     "configurations after %lld for validation)",
                                     (long long)t->batch, (long long)(n - n_val),
                                     (long long)n_val);
  if (newton && !conv && n - n_val < 1)
    found = invrg_config_input_error(cfg, "train", "data",
                                     "the exact fit has no training configuration (%lld in all, "
                                     "%lld for validation)", (long long)n, (long long)n_val);
  INVRG_CHECK_MORE(found, invrg_budget_check_train(run, n, data[2])); /* memory */
cleanup:
  return err != INVRG_SUCCESS ? err : found;
}
