/* Stage train's exact fit (train_fit.h): the fit of all the data and of its bootstrap
 * resamples, /train and the log. */
#include "invrg/train_fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/fit_exact.h"
#include "invrg/format.h"
#include "invrg/h5util.h"
#include "invrg/log.h"
#include "invrg/train_io.h"

/* σ of v · θ from the covariance. */
static double sigma_of(const double *cov, int np, const double *v) {
  double s = 0;
  for (int i = 0; i < np; i++)
    for (int j = 0; j < np; j++) s += v[i] * cov[i * np + j] * v[j];
  return sqrt(s);
}

/* Every replica of the exact fit: its loss and parameters; replica 0, the fit of all the
 * data, is the kept model. */
static void log_fit_replicas(const invrg_model *kept, const double *params, const double *loss,
                             int64_t R) {
  const int np = kept->n_params, shown = np < 7 ? np : 7;
  char line[512], cell[64];
  invrg_log(INVRG_LOG_INFO, "  replicas: 0 fits all the data (kept), 1 .. %lld bootstrap "
            "resamples of it; loss on the data fitted", (long long)R - 1);
  line[0] = '\0';
  invrg_format_cell(line, sizeof line, 9, "replica");
  invrg_format_cell(line, sizeof line, 18, "loss [nat/spin]");
  for (int i = 0; i < shown; i++) {
    invrg_model_param_name(kept, i, cell, sizeof cell);
    cell[strcspn(cell, " ")] = '\0'; /* the name without its orbit */
    invrg_format_cell(line, sizeof line, 10, cell);
  }
  invrg_log(INVRG_LOG_INFO, " %s", line);
  for (int64_t r = 0; r < R; r++) {
    line[0] = '\0';
    snprintf(cell, sizeof cell, "%lld", (long long)r);
    invrg_format_cell(line, sizeof line, 9, cell);
    invrg_format_fixed(cell, sizeof cell, loss[r], 7);
    invrg_format_cell(line, sizeof line, 18, cell);
    for (int i = 0; i < shown; i++) {
      invrg_format_fixed(cell, sizeof cell, params[r * np + i], 6);
      invrg_format_cell(line, sizeof line, 10, cell);
    }
    invrg_log(INVRG_LOG_INFO, " %s%s", line, r == 0 ? "  <- kept" : "");
  }
}

/* /train of the exact fit, and the log of the kept model with its errors. */
static invrg_err write_fit_group(hid_t file, const invrg_model *kept, const double *params,
                                 const double *loss, int64_t R, const invrg_fit_result *res,
                                 const char *ties, double val, double count_s, double fit_s,
                                 int64_t n_patterns, int64_t n_train, int64_t n_val, int64_t L) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1, d_cov = -1;
  const int np = kept->n_params;
  double mean[10], cov[100], err_[10], *vals = NULL;
  vals = malloc((size_t)R * sizeof *vals);
  INVRG_CHECK_ALLOC(vals);
  invrg_fit_bootstrap_moments(params, R, np, mean, cov);
  for (int i = 0; i < np; i++) err_[i] = sqrt(cov[i * np + i]);
  for (int64_t r = 0; r < R; r++) vals[r] = r == 0 ? val : NAN;

  int64_t it = res->iterations;
  /* one "epoch": the fit's loss on all the data per replica; validation only for replica 0 */
  const invrg_train_output out = {kept, L, n_train, n_val, "full_data", 0, R, 1, params, loss,
                                  vals};
  INVRG_CALL(invrg_train_write(file, &out, &g));
  INVRG_CALL(invrg_h5_attr_string(g, "optimizer", "newton"));
  INVRG_CALL(invrg_h5_attr_string(g, "ties", ties));
  INVRG_CALL(invrg_h5_attr_double(g, "params_error", err_, np, false));
  INVRG_CALL(invrg_h5_attr_double(g, "params_mean", mean, np, false));
  INVRG_CALL(invrg_h5_attr_double(g, "params_std", err_, np, false));
  INVRG_CALL(invrg_h5_attr_int64(g, "newton_iterations", &it, 1, true));
  INVRG_CALL(invrg_h5_attr_double(g, "grad_norm", &res->grad_norm, 1, true));
  INVRG_CALL(invrg_h5_attr_double(g, "hessian_condition", &res->hess_cond, 1, true));
  INVRG_CALL(invrg_h5_attr_double(g, "hessian_min_eigvec", res->min_eigvec, np, false));
  INVRG_CALL(invrg_h5_attr_int64(g, "n_feature_vectors", &n_patterns, 1, true));
  INVRG_CALL(invrg_h5_attr_double(g, "count_seconds", &count_s, 1, true));
  INVRG_CALL(invrg_h5_attr_double(g, "fit_seconds", &fit_s, 1, true));
  hsize_t dc[2] = {(hsize_t)np, (hsize_t)np};
  INVRG_CALL(invrg_h5_create_dataset(g, "params_cov", H5T_IEEE_F64LE, 2, dc, &d_cov));
  int rank;
  INVRG_MPI_CALL(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  if (rank == 0) INVRG_CALL(invrg_h5_write_rows(d_cov, H5T_NATIVE_DOUBLE, 0, (hsize_t)np, cov));

  int64_t resamples = 0; /* those with a fit: a degenerate one's row is NaN */
  for (int64_t r = 1; r < R; r++) resamples += !isnan(params[r * np]);
  invrg_log(INVRG_LOG_INFO, "train: exact fit of all %lld training configurations (ties: %s), "
            "errors from %lld bootstrap resamples%s:", (long long)n_train, ties,
            (long long)resamples, R < 3 ? " (n_replicas >= 3 gives them)" : "");
  for (int i = 0; i < np; i++) {
    char name[64], value[64];
    invrg_model_param_name(kept, i, name, sizeof name);
    invrg_format_value_error(value, sizeof value, kept->params[i], err_[i]);
    invrg_log(INVRG_LOG_INFO, "  %-16s %s", name, value);
  }
  if (kept->kind == INVRG_MODEL_KIND_SYM3) {
    const double a = kept->params[0], b = kept->params[1], c = kept->params[2];
    const double vP[3] = {1, 2, 1}, vN[3] = {1, 1, 0}, vD[3] = {1, 0, 0};
    char w[3][64];
    invrg_format_value_error(w[0], sizeof w[0], c + 2 * b + a, sigma_of(cov, 3, vP));
    invrg_format_value_error(w[1], sizeof w[1], a + b, sigma_of(cov, 3, vN));
    invrg_format_value_error(w[2], sizeof w[2], a, sigma_of(cov, 3, vD));
    invrg_log(INVRG_LOG_INFO, "  effective weights: w_P = c+2b+a = %s, w_N = a+b = %s, "
              "w_D = a = %s", w[0], w[1], w[2]);
  }
  log_fit_replicas(kept, params, loss, R);
  char vec[160] = "";
  for (int i = 0; i < np; i++) {
    size_t used = strlen(vec);
    snprintf(vec + used, sizeof vec - used, "%s%.3f", i ? ", " : "", res->min_eigvec[i]);
  }
  char val_loss[32];
  invrg_format_fixed(val_loss, sizeof val_loss, val, 7);
  invrg_log(INVRG_LOG_INFO, "  Hessian condition number %.3g; poorly determined direction (%s); "
            "loss %.7f nat/spin (training), %s (validation); %d Newton iterations to gradient "
            "norm %.2g", res->hess_cond, vec, loss[0], val_loss, res->iterations, res->grad_norm);
cleanup:
  free(vals);
  invrg_h5_close(&d_cov);
  invrg_h5_close(&g);
  return err;
}

/*
 * Replica 0: the exact fit of all the training configurations (the kept model, in @p kept);
 * replicas 1..: fits of bootstrap resamples. Counting is shared by all ranks (exact sums),
 * the tiny Newton solve is done alike on every rank.
 */
invrg_err invrg_train_fit_exact(invrg_run *run, const invrg_train_data *data,
                                const invrg_model *proto, invrg_model **kept) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_config_train *tc = &cfg->train;
  const MPI_Comm world = run->groups->world;
  const int np = proto->n_params;
  const int64_t R = tc->n_replicas, n_train = data->n - data->n_validation;
  const invrg_fit_options o = {
      tc->loss_kind,
      tc->ties_kind == INVRG_TIES_COIN ? INVRG_FIT_TIES_COIN : INVRG_FIT_TIES_EXPECTATION,
      (uint64_t)cfg->run.seed};
  const char *ties = o.ties == INVRG_FIT_TIES_COIN ? "coin" : "expectation";
  int32_t *mult = malloc((size_t)n_train * sizeof *mult);
  double *params = malloc((size_t)(R * np) * sizeof *params);
  double *loss = malloc((size_t)R * sizeof *loss);
  invrg_fit_stats *s = NULL;
  invrg_fit_result res0 = {0}, res;
  double count_s = 0, fit_s = 0, val = NAN;
  int64_t n_patterns = 0, degenerate = 0, first_degenerate = 0;
  char why[256] = ""; /* the fit's message for the first resample left out */
  INVRG_CHECK_ALLOC(mult);
  INVRG_CHECK_ALLOC(params);
  INVRG_CHECK_ALLOC(loss);
  INVRG_CALL(invrg_model_clone(proto, kept));
  for (int64_t r = 0; r < R; r++) {
    invrg_fit_bootstrap(o.seed, (uint64_t)r, n_train, mult);
    double t0 = MPI_Wtime();
    err = invrg_fit_count(proto, data, n_train, mult, &o, world, &s);
    double t1 = MPI_Wtime();
    double *theta = params + r * np;
    for (int i = 0; i < np; i++) theta[i] = 0;
    if (err == INVRG_SUCCESS) err = invrg_fit_newton(s, theta, 1e-10, &res);
    if (err == INVRG_ERR_INPUT && r > 0 && s != NULL) {
      /* A resample that happened to draw too few or too uniform configurations (the same on
       * every rank): left out of the errors, its row NaN, and counted; the data fit. */
      for (int i = 0; i < np; i++) theta[i] = NAN;
      res.loss = NAN;
      if (degenerate++ == 0) {
        first_degenerate = r;
        snprintf(why, sizeof why, "%s", invrg_error_message());
      }
      invrg_error_clear();
      err = INVRG_SUCCESS;
    }
    /* Data the fit cannot determine the model from: every rank counted the same statistics
     * and ran the same Newton steps, so all stop here alike (no abort), at &train data. */
    if (err == INVRG_ERR_INPUT)
      err = invrg_config_input_error(cfg, "train", "data", "%s (%s)", invrg_error_message(),
                                     r == 0 ? "the fit of all training configurations"
                                            : "a bootstrap resample");
    INVRG_CALL(err);
    loss[r] = res.loss;
    if (r == 0) {
      res0 = res;
      count_s = t1 - t0, fit_s = MPI_Wtime() - t1;
      n_patterns = invrg_fit_stats_size(s);
      invrg_log(INVRG_LOG_INFO, "train: counted %lld configurations in %.3f s (%.3g configurations/s "
                "on %d ranks): %lld distinct feature vectors; Newton fit in %.2g s",
                (long long)n_train, count_s, (double)n_train / count_s, run->groups->world_size,
                (long long)n_patterns, fit_s);
    }
    invrg_fit_stats_destroy(&s);
  }
  memcpy((*kept)->params, params, (size_t)np * sizeof *params);
  if (degenerate > 0)
    invrg_log(INVRG_LOG_WARN, "train: %lld of %lld bootstrap resamples are left out of the "
              "errors, which come from the other %lld: the exact fit failed on their data (the "
              "first, resample %lld: %s)", (long long)degenerate, (long long)(R - 1),
              (long long)(R - 1 - degenerate), (long long)first_degenerate, why);
  if (data->n_validation > 0)
    INVRG_CALL(invrg_train_evaluate(*kept, data, n_train, data->n_validation, o.seed, world, &val));
  for (;;) { /* the fit ran at once: a checkpoint due now holds no state of it */
    invrg_ckpt_decision d;
    INVRG_CALL(invrg_checkpoint_sync(run->ckpt, &d));
    if (d == INVRG_CKPT_NONE) break;
    hid_t state = -1;
    INVRG_CALL(invrg_checkpoint_begin(run->ckpt, &state));
    INVRG_CALL(invrg_checkpoint_end(run->ckpt, &state, d)); /* INVRG_STOPPED: stop now */
  }
  INVRG_CALL(write_fit_group(run->file->file, *kept, params, loss, R, &res0, ties, val, count_s,
                             fit_s, n_patterns, n_train, data->n_validation, data->L));
cleanup:
  if (err != INVRG_SUCCESS) invrg_model_destroy(kept);
  invrg_fit_stats_destroy(&s);
  free(mult);
  free(params);
  free(loss);
  return err;
}
