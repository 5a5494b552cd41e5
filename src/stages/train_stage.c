/* Stage train: replicas of an inverse-RG model fitted to /mc/L<L>/configs; results in /train and /model.
 *
 * The check of its keys: train_check.c. The exact fit (optimizer = 'newton', the default of the
 * sym models): train_fit.c. Here, the stochastic optimizers: replicas are items (groups.h):
 * replica j is trained by group j mod n_groups from its own initialisation, shuffling and tie
 * coins, with the group's ranks sharing each minibatch. Parameters and loss curves travel to
 * world rank 0 in replica order; every rank then writes the same /train.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/checkpoint_check.h"
#include "invrg/format.h"
#include "invrg/h5util.h"
#include "invrg/log.h"
#include "invrg/reducer.h"
#include "invrg/stage.h"
#include "invrg/train.h"
#include "invrg/train_check.h"
#include "invrg/train_data_io.h"
#include "invrg/train_fit.h"
#include "invrg/train_io.h"

/* ------------------------------------------------------------------ the replicas and /train */

/* The recipe of the stochastic optimizers; optimizer = '' means adamw here (conv). */
static invrg_train_recipe recipe_of(const invrg_config_train *t) {
  invrg_optimizer_kind optimizer = INVRG_OPT_ADAMW;
  if (t->optimizer_kind == INVRG_OPTIMIZER_ADAM) optimizer = INVRG_OPT_ADAM;
  if (t->optimizer_kind == INVRG_OPTIMIZER_SGD) optimizer = INVRG_OPT_SGD;
  invrg_train_recipe r = {t->loss_kind,     optimizer, t->schedule_kind, t->lr,
                          t->weight_decay, t->epochs, t->batch};
  return r;
}

/* Everything about the replicas, on every rank: [replica][params | train loss | val loss | rate]. */
typedef struct {
  int64_t n_replicas, epochs;
  int n_params;
  double *all;
} replica_table;

static size_t replica_record(const replica_table *t) {
  return invrg_train_replica_row_length(t->n_params, t->epochs);
}

static double *replica_row(const replica_table *t, int64_t r) {
  return t->all + (size_t)r * replica_record(t);
}

/* The replicas' parameters and final validation losses, as ml/train takes them. */
static invrg_train_replicas replicas_of(const replica_table *t) {
  const size_t rec = replica_record(t);
  const invrg_train_replicas r = {t->n_replicas, t->n_params, t->all, t->all + (rec - 2), rec};
  return r;
}

static invrg_err write_train_group(hid_t file, const replica_table *t,
                                   const invrg_model *selected, const char *selection,
                                   int64_t best, double mean_val_loss, int64_t n_data,
                                   int64_t n_val, int64_t L) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1;
  double *params = NULL, *train = NULL, *val = NULL, *mean = NULL, *std = NULL;
  const int np = t->n_params;
  const int64_t R = t->n_replicas, E = t->epochs;
  params = malloc((size_t)(R * np) * sizeof *params);
  train = malloc((size_t)(R * E) * sizeof *train);
  val = malloc((size_t)(R * E) * sizeof *val);
  mean = calloc((size_t)np, sizeof *mean);
  std = calloc((size_t)np, sizeof *std);
  INVRG_CHECK_ALLOC(params);
  INVRG_CHECK_ALLOC(train);
  INVRG_CHECK_ALLOC(val);
  INVRG_CHECK_ALLOC(mean);
  INVRG_CHECK_ALLOC(std);
  for (int64_t r = 0; r < R; r++) {
    const double *row = replica_row(t, r);
    memcpy(params + r * np, row, (size_t)np * sizeof *params);
    memcpy(train + r * E, row + np, (size_t)E * sizeof *train);
    memcpy(val + r * E, row + np + E, (size_t)E * sizeof *val);
  }
  const invrg_train_replicas reps = replicas_of(t);
  invrg_train_replica_moments(&reps, mean, std);

  const invrg_train_output out = {selected, L, n_data - n_val, n_val, selection, best, R, E,
                                  params, train, val};
  INVRG_CALL(invrg_train_write(file, &out, &g));
  INVRG_CALL(invrg_h5_attr_double(g, "mean_val_loss", &mean_val_loss, 1, true));
  INVRG_CALL(invrg_h5_attr_double(g, "params_mean", mean, np, false));
  INVRG_CALL(invrg_h5_attr_double(g, "params_std", std, np, false));

  /* The log: the selected model, and for sym3 the effective weights (docs/physics.md §4). */
  if (np > 0)
    invrg_log(INVRG_LOG_INFO, "  %-16s %12s   %s", "parameter", "kept",
              "replicas: mean(standard deviation)");
  for (int i = 0; i < np && i < 10; i++) {
    char name[64], spread[64];
    invrg_model_param_name(selected, i, name, sizeof name);
    invrg_format_value_error(spread, sizeof spread, mean[i], std[i]);
    invrg_log(INVRG_LOG_INFO, "  %-16s %12.6f   %s", name, selected->params[i], spread);
  }
  if (selected->kind == INVRG_MODEL_KIND_SYM3) {
    const double a = selected->params[0], b = selected->params[1], c = selected->params[2];
    invrg_log(INVRG_LOG_INFO, "  effective weights: w_P = c+2b+a = %.5f, w_N = a+b = %.5f, "
              "w_D = a = %.5f", c + 2 * b + a, a + b, a);
  }
cleanup:
  free(params);
  free(train);
  free(val);
  free(mean);
  free(std);
  invrg_h5_close(&g);
  return err;
}

/* ------------------------------------------------------------------ checkpoints */

/*
 * The state of stage train (under /checkpoint/train): epochs_done[replica]
 * (−1 = not started), rows[replica] (parameters, loss curves so far, rate) and
 * moments[replica] (Adam's m and v, then the optimizer step count).
 */
typedef struct {
  invrg_run *run;
  const replica_table *table;
  double *mine;           /* [k][replica_record] */
  double *moments;        /* [k][2 n_params + 1] */
  int64_t *epochs_done;   /* [k] */
  int64_t n_mine;
  int64_t data_fingerprint; /* of the training data: a resumed run must train on the same */
} train_work;

/* FNV-1a over the data's sizes and spins, 8 bytes at a step: the same data, the same number. */
static int64_t data_fingerprint(const invrg_train_data *data) {
  uint64_t h = UINT64_C(14695981039346656037);
  const uint64_t prime = UINT64_C(1099511628211);
  const uint64_t sizes[3] = {(uint64_t)data->n, (uint64_t)data->L, (uint64_t)data->n_validation};
  for (int i = 0; i < 3; i++) h = (h ^ sizes[i]) * prime;
  const size_t bytes = (size_t)data->n * (size_t)data->L * (size_t)data->L;
  const unsigned char *p = (const unsigned char *)data->configs;
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64_t word;
    memcpy(&word, p + i, 8);
    h = (h ^ word) * prime;
  }
  for (; i < bytes; i++) h = (h ^ p[i]) * prime;
  return (int64_t)h;
}

static size_t moments_record(const replica_table *t) {
  return invrg_train_moments_length(t->n_params);
}

static invrg_err save_state(train_work *w, invrg_ckpt_decision d) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_groups *g = w->run->groups;
  const int64_t R = w->table->n_replicas;
  const size_t rec = replica_record(w->table), mom = moments_record(w->table);
  hid_t state = -1, d_rows = -1, d_moments = -1;
  int64_t *done = malloc((size_t)R * sizeof *done);
  INVRG_CHECK_ALLOC(done);
  for (int64_t r = 0; r < R; r++) done[r] = -1;
  for (int64_t k = 0; k < w->n_mine; k++) done[invrg_groups_item(g, k)] = w->epochs_done[k];
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, done, (int)R, MPI_INT64_T, MPI_MAX, g->world));
  INVRG_CALL(invrg_checkpoint_begin(w->run->ckpt, &state));
  INVRG_CALL(invrg_h5_write_int64(state, "epochs_done", done, (size_t)R, g->world_rank == 0));
  INVRG_CALL(invrg_h5_attr_int64(state, "data_fingerprint", &w->data_fingerprint, 1, true));
  hsize_t rdims[2] = {(hsize_t)R, (hsize_t)rec}, mdims[2] = {(hsize_t)R, (hsize_t)mom};
  INVRG_CALL(invrg_h5_create_dataset(state, "rows", H5T_IEEE_F64LE, 2, rdims, &d_rows));
  INVRG_CALL(invrg_h5_create_dataset(state, "moments", H5T_IEEE_F64LE, 2, mdims, &d_moments));
  for (int64_t k = 0; k < w->n_mine && g->rank == 0; k++) {
    if (w->epochs_done[k] < 0) continue;
    const hsize_t r = (hsize_t)invrg_groups_item(g, k);
    INVRG_CALL(invrg_h5_write_rows(d_rows, H5T_NATIVE_DOUBLE, r, 1, w->mine + (size_t)k * rec));
    INVRG_CALL(invrg_h5_write_rows(d_moments, H5T_NATIVE_DOUBLE, r, 1, w->moments + (size_t)k * mom));
  }
  invrg_h5_close(&d_rows);
  invrg_h5_close(&d_moments);
  INVRG_CALL(invrg_checkpoint_end(w->run->ckpt, &state, d)); /* INVRG_STOPPED: stop now */
cleanup:
  invrg_h5_close(&d_rows);
  invrg_h5_close(&d_moments);
  invrg_h5_close(&state);
  free(done);
  return err;
}

/* The optimizer steps (the last column of @p d_moments) of each replica in progress (the
 * others do not use them): an epoch is ceil(n_train / batch) steps, so epochs_done of them;
 * another count would move the schedule and Adam's bias correction silently. Sized by the
 * data, which only the stage reads: checked here, before any training, rather than before the
 * run (checkpoint_check.h). Every rank reads them all, so all refuse alike. */
static invrg_err check_steps(const train_work *w, hid_t d_moments, const int64_t *done,
                             const invrg_train_data *data) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t R = w->table->n_replicas, batch = w->run->cfg->train.batch;
  const int64_t per_epoch = (data->n - data->n_validation + batch - 1) / batch;
  const size_t mom = moments_record(w->table);
  double *moments = malloc((size_t)R * mom * sizeof *moments);
  INVRG_CHECK_ALLOC(moments);
  INVRG_CALL(invrg_h5_read_rows(d_moments, H5T_NATIVE_DOUBLE, 0, (hsize_t)R, moments));
  for (int64_t r = 0; r < R && err == INVRG_SUCCESS; r++) {
    const double steps = moments[(size_t)r * mom + mom - 1];
    const bool in_progress = done[r] > 0 && done[r] < w->table->epochs;
    if (in_progress && steps != (double)(done[r] * per_epoch))
      err = invrg_checkpoint_damaged(
          w->run->cfg, invrg_checkpoint_source_path(w->run->ckpt),
          "/checkpoint/train/moments holds %g optimizer steps for replica %lld, but %lld epochs "
          "of %lld steps make %lld", steps, (long long)r, (long long)done[r],
          (long long)per_epoch, (long long)(done[r] * per_epoch));
  }
cleanup:
  free(moments);
  return err;
}

static invrg_err restore_state(train_work *w, hid_t state, const invrg_train_data *data) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_groups *g = w->run->groups;
  const int64_t R = w->table->n_replicas;
  const size_t rec = replica_record(w->table), mom = moments_record(w->table);
  hid_t d_rows = -1, d_moments = -1;
  int64_t *done = malloc((size_t)R * sizeof *done);
  INVRG_CHECK_ALLOC(done);
  bool has_fingerprint = false; /* (checkpoints of older versions: none) */
  INVRG_CALL(invrg_h5_attr_exists(state, "data_fingerprint", &has_fingerprint));
  if (has_fingerprint) {
    int64_t saved = 0; /* one integer, else a runtime error (several would overrun it) */
    INVRG_CALL(invrg_h5_read_int64_attr(state, "data_fingerprint", &saved));
    if (saved != w->data_fingerprint) {
      err = invrg_config_input_error(w->run->cfg, "train", "data",
                                     "the training data are not those the checkpoint '%s' "
                                     "trained on (the file changed since): restore them, or "
                                     "remove the checkpoint to start afresh",
                                     invrg_checkpoint_source_path(w->run->ckpt));
      goto cleanup;
    }
  }
  /* (a state emptied by hand passed the check before the run: the exact fit's is empty) */
  const hsize_t replicas[1] = {(hsize_t)R};
  INVRG_CALL(invrg_checkpoint_check_shape(state, "train", "epochs_done", 1, replicas, w->run->cfg,
                                          invrg_checkpoint_source_path(w->run->ckpt)));
  INVRG_CALL(invrg_h5_read_int64(state, "epochs_done", done, (size_t)R));
  const hsize_t rdims[2] = {(hsize_t)R, (hsize_t)rec}, mdims[2] = {(hsize_t)R, (hsize_t)mom};
  INVRG_CALL(invrg_h5_open_dataset(state, "rows", 2, rdims, &d_rows));
  INVRG_CALL(invrg_h5_open_dataset(state, "moments", 2, mdims, &d_moments));
  INVRG_CALL(check_steps(w, d_moments, done, data));
  for (int64_t k = 0; k < w->n_mine; k++) {
    const int64_t r = invrg_groups_item(g, k);
    w->epochs_done[k] = done[r];
    if (done[r] < 0) continue;
    INVRG_CALL(invrg_h5_read_rows(d_rows, H5T_NATIVE_DOUBLE, (hsize_t)r, 1, w->mine + (size_t)k * rec));
    INVRG_CALL(
        invrg_h5_read_rows(d_moments, H5T_NATIVE_DOUBLE, (hsize_t)r, 1, w->moments + (size_t)k * mom));
  }
cleanup:
  invrg_h5_close(&d_rows);
  invrg_h5_close(&d_moments);
  free(done);
  return err;
}

/* After each epoch: the replica's state into its rows, then ask whether to checkpoint. */
typedef struct {
  train_work *w;
  int64_t k;
  const invrg_model *m;
} epoch_ctx;

static invrg_err at_epoch_end(void *vctx, const invrg_train_state *st) {
  invrg_err err = INVRG_SUCCESS;
  epoch_ctx *c = vctx;
  train_work *w = c->w;
  const int np = c->m->n_params;
  invrg_ckpt_decision d;
  memcpy(w->mine + (size_t)c->k * replica_record(w->table), c->m->params,
         (size_t)np * sizeof(double));
  w->moments[(size_t)c->k * moments_record(w->table) + 2 * (size_t)np] = (double)st->steps_done;
  w->epochs_done[c->k] = st->epochs_done;
  INVRG_CALL(invrg_checkpoint_poll(w->run->ckpt, w->run->groups->cart, &d));
  if (d != INVRG_CKPT_NONE) INVRG_CALL(save_state(w, d));
cleanup:
  return err;
}


/* ------------------------------------------------------------------ stochastic training */

/*
 * Item @p k of this rank's group: its replica from its own initialisation, or from where the
 * checkpoint left it, into its row (parameters, loss curves, rate) and moments. Collective on
 * the group.
 */
static invrg_err train_replica(train_work *w, int64_t k, invrg_model *m,
                               const invrg_train_recipe *recipe, const invrg_train_data *data) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = w->run->cfg;
  const invrg_groups *groups = w->run->groups;
  const int64_t replica = invrg_groups_item(groups, k), epochs = cfg->train.epochs;
  const size_t rec = replica_record(w->table), np = (size_t)m->n_params;
  double *row = w->mine + (size_t)k * rec, *mk = w->moments + (size_t)k * moments_record(w->table);
  if (w->epochs_done[k] < 0) { /* afresh */
    invrg_rng_stream init;
    invrg_rng_stream_init(&init, (uint64_t)cfg->run.seed, INVRG_RNG_TRAIN, (uint64_t)replica, 0);
    invrg_model_init_params(m, &init);
    w->epochs_done[k] = 0;
  } else { /* as the checkpoint left it */
    memcpy(m->params, row, np * sizeof *row);
  }
  invrg_train_history hist = {row + np, row + np + epochs, 0};
  invrg_train_state st = {w->epochs_done[k], (int64_t)mk[2 * np], mk, mk + np};
  epoch_ctx ctx = {w, k, m};
  char label[64];
  snprintf(label, sizeof label, "train %s replica %lld", cfg->train.model, (long long)replica);
  INVRG_CALL(invrg_train(m, recipe, data, (uint64_t)cfg->run.seed, (uint64_t)replica, groups->cart,
                         groups->group == 0 ? label : NULL, &hist, &st, at_epoch_end, &ctx));
  memcpy(row, m->params, np * sizeof *row);
  row[rec - 1] = hist.sites_per_second;
  w->epochs_done[k] = epochs;
cleanup:
  return err;
}

/*
 * Stochastic training: each group trains its replicas (those a checkpoint finished are kept),
 * then every rank gets every replica's row in @p table (replica order). Collective on the world.
 */
static invrg_err train_replicas(invrg_run *run, invrg_model *m, const invrg_train_data *data,
                                replica_table *table) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config_train *tc = &run->cfg->train;
  const invrg_groups *groups = run->groups;
  const invrg_train_recipe recipe = recipe_of(tc);
  const size_t rec = replica_record(table), mom = moments_record(table);
  const int64_t n_mine = invrg_groups_item_count(groups, tc->n_replicas);
  const size_t n_rows = (size_t)(n_mine > 0 ? n_mine : 1);
  train_work w = {run, table, NULL, NULL, NULL, n_mine, data_fingerprint(data)};
  w.mine = calloc(n_rows * rec, sizeof *w.mine);
  w.moments = calloc(n_rows * mom, sizeof *w.moments);
  w.epochs_done = malloc(n_rows * sizeof *w.epochs_done);
  INVRG_CHECK_ALLOC(w.mine);
  INVRG_CHECK_ALLOC(w.moments);
  INVRG_CHECK_ALLOC(w.epochs_done);
  for (int64_t k = 0; k < n_mine; k++) w.epochs_done[k] = -1;
  const hid_t state = invrg_checkpoint_state(run->ckpt);
  if (state >= 0) INVRG_CALL(restore_state(&w, state, data));
  for (int64_t k = 0; k < n_mine; k++)
    if (w.epochs_done[k] < tc->epochs) /* else trained before the checkpoint */
      INVRG_CALL(train_replica(&w, k, m, &recipe, data));
  for (;;) { /* the end of training: every rank learns whether a checkpoint is due now */
    invrg_ckpt_decision d;
    INVRG_CALL(invrg_checkpoint_sync(run->ckpt, &d));
    if (d == INVRG_CKPT_NONE) break;
    INVRG_CALL(save_state(&w, d));
  }
  INVRG_CALL(invrg_reducer_gather(groups, tc->n_replicas, (int)rec, w.mine, table->all));
  INVRG_MPI_CALL(MPI_Bcast(table->all, (int)(tc->n_replicas * (int64_t)rec), MPI_DOUBLE, 0,
                           groups->world));
cleanup:
  free(w.mine);
  free(w.moments);
  free(w.epochs_done);
  return err;
}

/* Every replica (all groups', gathered): its losses after the last epoch and its rate; the
 * kept one marked. */
static void log_replicas(const replica_table *t, const invrg_train_selection *sel) {
  const char *const head[] = {"replica", "train [nat/spin]", "validation [nat/spin]",
                              "rate [sites/s]"};
  const int width[] = {9, 18, 22, 16};
  char line[256], cells[4][64];
  invrg_log(INVRG_LOG_INFO, "train: %lld replicas after epoch %lld (rate: fine sites per second "
            "of the group that trained it)", (long long)t->n_replicas, (long long)t->epochs);
  line[0] = '\0';
  for (int k = 0; k < 4; k++) invrg_format_cell(line, sizeof line, width[k], head[k]);
  invrg_log(INVRG_LOG_INFO, " %s", line);
  for (int64_t r = 0; r < t->n_replicas; r++) {
    const double *row = replica_row(t, r);
    const size_t last = (size_t)t->n_params + (size_t)t->epochs - 1; /* train loss, last epoch */
    snprintf(cells[0], sizeof cells[0], "%lld", (long long)r);
    invrg_format_fixed(cells[1], sizeof cells[1], row[last], 7);
    invrg_format_fixed(cells[2], sizeof cells[2], row[last + (size_t)t->epochs], 7);
    invrg_format_general(cells[3], sizeof cells[3], row[replica_record(t) - 1], 3);
    line[0] = '\0';
    for (int k = 0; k < 4; k++) invrg_format_cell(line, sizeof line, width[k], cells[k]);
    const char *mark = r != sel->best ? ""
                       : sel->keep_mean ? "  (best; the mean of all is kept)"
                                        : "  <- kept (best)";
    invrg_log(INVRG_LOG_INFO, " %s%s", line, mark);
  }
}

/* A kept model with parameters (or a loss) that overflowed is no model (the same on every rank:
 * all stop here); one that predicts the spins worse than a fair coin (ln 2 nat/spin) has not
 * converged, or diverged: a warning. The loss is the validation loss, or without a validation
 * set the kept model's loss on the training spins (@p train_loss). */
static invrg_err check_converged(const invrg_config *cfg, const invrg_model *kept,
                                 const invrg_train_selection *sel, bool validated,
                                 double train_loss) {
  const char *which = sel->keep_mean ? "the mean of the replicas" : "the best replica";
  const double loss = !validated ? train_loss : sel->keep_mean ? sel->mean_val_loss
                                                               : sel->best_val_loss;
  const char *spins = validated ? "validation" : "training";
  bool finite = isfinite(loss);
  for (int i = 0; i < kept->n_params; i++) finite = finite && isfinite(kept->params[i]);
  if (!finite)
    return invrg_config_input_error(cfg, "train", "lr",
                                    "training diverged: the kept model (%s) has non-finite "
                                    "parameters or %s loss; lower lr (%g) or weight_decay (%g)",
                                    which, spins, cfg->train.lr, cfg->train.weight_decay);
  if (loss > M_LN2)
    invrg_config_input_warning(cfg, "train", "lr",
                               "the kept model (%s) predicts the %s spins worse than a fair "
                               "coin (%.4g > ln 2 = 0.6931 nat/spin): training diverged or has "
                               "not converged (lr = %g)", which, spins, loss, cfg->train.lr);
  return INVRG_SUCCESS;
}

/*
 * The model &train select keeps of the trained replicas (ml/train: invrg_train_select_model),
 * in *@p kept (a model like @p proto), with its log line and /train. Collective on the world.
 */
static invrg_err keep_selected(invrg_run *run, const replica_table *table,
                               const invrg_model *proto, const invrg_train_data *data,
                               invrg_model **kept) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_train_replicas reps = replicas_of(table);
  invrg_train_selection sel;
  INVRG_CALL(invrg_model_clone(proto, kept));
  INVRG_CALL(invrg_train_select_model(cfg->train.select_kind, &reps, data, (uint64_t)cfg->run.seed,
                                      run->groups->world, *kept, &sel));
  log_replicas(table, &sel);
  double train_loss = NAN; /* without validation spins, the training spins judge the model */
  if (data->n_validation == 0)
    INVRG_CALL(invrg_train_evaluate(*kept, data, 0, data->n, (uint64_t)cfg->run.seed,
                                    run->groups->world, &train_loss));
  INVRG_CALL(check_converged(cfg, *kept, &sel, data->n_validation > 0, train_loss));
  char mean_loss[32], best_loss[32];
  invrg_format_fixed(mean_loss, sizeof mean_loss, sel.mean_val_loss, 7);
  invrg_format_fixed(best_loss, sizeof best_loss, sel.best_val_loss, 7);
  invrg_log(INVRG_LOG_INFO,
            "train: kept %s; validation loss of the mean of the replicas %s, of the best "
            "replica (%lld) %s nat/spin",
            sel.keep_mean ? "the mean of the replicas" : "the best replica", mean_loss,
            (long long)sel.best, best_loss);
  INVRG_CALL(write_train_group(run->file->file, table, *kept, sel.keep_mean ? "mean" : "best",
                               sel.best, sel.mean_val_loss, data->n, data->n_validation, data->L));
cleanup:
  if (err != INVRG_SUCCESS) invrg_model_destroy(kept);
  return err;
}

/* ------------------------------------------------------------------ execute */

/*
 * The training configurations, read whole by every rank into *@p configs (owned by the
 * caller): this run's samples (written to disk first, then read back) or those of &train
 * data; the last validation_fraction of them validate. Collective on the world.
 */
static invrg_err load_data(invrg_run *run, int8_t **configs, invrg_train_data *data) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config_train *tc = &run->cfg->train;
  int64_t L = 0, n = 0;
  if (tc->data[0] == '\0') { /* this run's samples: on disk first, for every rank */
    INVRG_CALL(invrg_h5_flush_file(run->file->file, run->file->tmp_path));
    INVRG_MPI_CALL(MPI_Barrier(run->groups->world));
  }
  INVRG_CALL(invrg_train_data_load(run->cfg, run->file->file, configs, &n, &L));
  *data = (invrg_train_data){*configs, n, (int)L,
                             (int64_t)floor(tc->validation_fraction * (double)n)};
cleanup:
  return err;
}

/* The data, the model, its fit (exact or stochastic), the kept model for the later stages. */
static invrg_err train_execute(invrg_run *run) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config_train *tc = &run->cfg->train;
  int8_t *configs = NULL;
  invrg_model *m = NULL, *kept = NULL;
  replica_table table = {tc->n_replicas, tc->epochs, 0, NULL};
  invrg_train_data data;
  INVRG_CALL(load_data(run, &configs, &data));
  invrg_log(INVRG_LOG_INFO, "train %s on %lld configurations of %lld x %lld (%lld for validation), "
            "%lld replicas", tc->model, (long long)data.n, (long long)data.L, (long long)data.L,
            (long long)data.n_validation, (long long)tc->n_replicas);
  INVRG_CALL(invrg_model_create(tc->model_kind, (int)tc->conv_kernel, (int)tc->conv_channels, &m));
  if (invrg_train_uses_newton(tc)) {
    INVRG_CALL(invrg_train_fit_exact(run, &data, m, &kept));
  } else {
    table.n_params = m->n_params;
    table.all = malloc((size_t)tc->n_replicas * replica_record(&table) * sizeof *table.all);
    INVRG_CHECK_ALLOC(table.all);
    INVRG_CALL(train_replicas(run, m, &data, &table));
    INVRG_CALL(keep_selected(run, &table, m, &data, &kept));
  }
  invrg_model_destroy(&run->model); /* the later stages dream with it */
  run->model = kept;
  kept = NULL;
cleanup:
  free(configs);
  free(table.all);
  invrg_model_destroy(&m);
  invrg_model_destroy(&kept);
  return err;
}

const invrg_stage invrg_stage_train = {"train", invrg_train_check, train_execute};
