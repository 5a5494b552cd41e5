/* Training of inverse-RG models: minibatches of (majority(x), x) pairs, reproducible on any rank count. */
#include "invrg/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/blockspin.h"
#include "invrg/format.h"
#include "invrg/log.h"
#include "invrg/rng.h"

/* ------------------------------------------------------------------ schedule */

/* Cosine from a to b as pct goes 0 → 1. */
static double anneal_cos(double a, double b, double pct) {
  return b + (a - b) / 2 * (cos(M_PI * pct) + 1);
}

void invrg_train_schedule(const invrg_train_recipe *r, int64_t t, int64_t total, double *lr,
                          double *beta1) {
  if (r->schedule == INVRG_SCHEDULE_CONSTANT) {
    *lr = r->lr, *beta1 = 0.9;
    return;
  }
  /* One-cycle (as torch.optim.lr_scheduler.OneCycleLR with its defaults): warm up over the
   * first 30 % of the steps from lr/25 to lr, then anneal to lr/25/1e4, cosine both ways;
   * β1 moves the other way, 0.95 → 0.85 → 0.95. */
  const double initial = r->lr / 25, final = initial / 1e4;
  const double up = 0.3 * (double)total - 1, down = (double)total - 1;
  if ((double)t <= up) {
    double pct = up > 0 ? (double)t / up : 1;
    *lr = anneal_cos(initial, r->lr, pct);
    *beta1 = anneal_cos(0.95, 0.85, pct);
  } else {
    double pct = ((double)t - up) / (down - up);
    *lr = anneal_cos(r->lr, final, pct);
    *beta1 = anneal_cos(0.85, 0.95, pct);
  }
}

/* ------------------------------------------------------------------ optimiser */

typedef struct {
  double *m, *v; /* first and second moments */
  int64_t t;     /* steps taken */
} adam_state;

/* One step of AdamW (decoupled weight decay), Adam (L2 in the gradient) or plain SGD. */
static void optimizer_step(const invrg_train_recipe *r, double lr, double beta1, double *theta,
                           const double *g, int n, adam_state *st) {
  const double beta2 = 0.999, eps = 1e-8, wd = r->weight_decay;
  st->t++;
  if (r->optimizer == INVRG_OPT_SGD) {
    for (int i = 0; i < n; i++) theta[i] -= lr * (g[i] + wd * theta[i]);
    return;
  }
  const double c1 = 1 - pow(beta1, (double)st->t), c2 = 1 - pow(beta2, (double)st->t);
  for (int i = 0; i < n; i++) {
    double gi = r->optimizer == INVRG_OPT_ADAM ? g[i] + wd * theta[i] : g[i];
    if (r->optimizer == INVRG_OPT_ADAMW) theta[i] *= 1 - lr * wd;
    st->m[i] = beta1 * st->m[i] + (1 - beta1) * gi;
    st->v[i] = beta2 * st->v[i] + (1 - beta2) * gi * gi;
    /* θ ← θ − lr · m̂ / (√v̂ + ε),  m̂ = m/(1 − β1^t),  v̂ = v/(1 − β2^t) */
    theta[i] -= lr / c1 * st->m[i] / (sqrt(st->v[i]) / sqrt(c2) + eps);
    /* A gradient above ~1e154 (a huge weight_decay in Adam's) overflows v: every step after is
     * m/∞ = 0 and the parameter would stop where it is, silently. It has diverged: say so. */
    if (isinf(st->v[i])) theta[i] = NAN;
  }
}

/* ------------------------------------------------------------------ gradients of a batch */

/* Per chunk: the gradient Σ w̃ ∇ℓ, the plain loss Σ ℓ and the weights Σ w̃. */
typedef struct {
  int n_params, max_chunks;
  double *records;            /* [chunk][n_params + 2] */
  double *reduced;
  int8_t *coarse;             /* one coarse configuration */
  invrg_model_work *work;
} batch_work;

static invrg_err batch_work_create(const invrg_model *m, int L, int64_t batch, batch_work *bw) {
  invrg_err err = INVRG_SUCCESS;
  memset(bw, 0, sizeof *bw);
  bw->n_params = m->n_params;
  bw->max_chunks = (int)((batch + INVRG_TRAIN_CHUNK - 1) / INVRG_TRAIN_CHUNK);
  size_t rec = (size_t)bw->max_chunks * (size_t)(m->n_params + 2);
  bw->records = malloc(rec * sizeof *bw->records);
  bw->reduced = malloc(rec * sizeof *bw->reduced);
  bw->coarse = malloc((size_t)(L / 2) * (size_t)(L / 2));
  INVRG_CHECK_ALLOC(bw->records);
  INVRG_CHECK_ALLOC(bw->reduced);
  INVRG_CHECK_ALLOC(bw->coarse);
  INVRG_CALL(invrg_model_work_create(m, L / 2, &bw->work));
cleanup:
  return err;
}

static void batch_work_free(batch_work *bw) {
  free(bw->records);
  free(bw->reduced);
  free(bw->coarse);
  invrg_model_work_destroy(&bw->work);
}

/*
 * Configurations idx[0..nb) with the tie coins of (seed, TIE, tie_item, step0 + idx[c]): each chunk of
 * INVRG_TRAIN_CHUNK by one rank, then added in chunk order. Gives the mean
 * gradient per fine site (tie-weighted if asked, weights normalised to mean 1
 * over the batch) and the mean plain BCE per fine site.
 */
static invrg_err batch_gradient(const invrg_model *m, const invrg_train_data *d, const int64_t *idx,
                                int nb, bool with_grad, bool weighted, uint64_t seed,
                                uint64_t tie_item, uint64_t step0, MPI_Comm comm, batch_work *bw,
                                double *grad, double *loss, double *sites_done) {
  invrg_err err = INVRG_SUCCESS;
  int rank, size;
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  INVRG_MPI_CALL(MPI_Comm_size(comm, &size));
  const int L = d->L, lc = L / 2, np = m->n_params, rec = np + 2;
  const int n_chunks = (nb + INVRG_TRAIN_CHUNK - 1) / INVRG_TRAIN_CHUNK;
  memset(bw->records, 0, (size_t)n_chunks * (size_t)rec * sizeof *bw->records);
  for (int ch = rank; ch < n_chunks; ch += size) {
    double *r = bw->records + (size_t)ch * (size_t)rec;
    for (int c = ch * INVRG_TRAIN_CHUNK; c < nb && c < (ch + 1) * INVRG_TRAIN_CHUNK; c++) {
      const int8_t *fine = d->configs + idx[c] * L * L;
      invrg_blockspin_ties ties = {INVRG_TIE_RANDOM, seed, tie_item,
                                   step0 + (uint64_t)idx[c]};
      int64_t n_tie = invrg_blockspin_array(fine, L, L, &ties, bw->coarse);
      double w = weighted ? ldexp(1.0, -(int)n_tie) : 1.0; /* w = 2^{−n_tie} */
      /* Without a gradient, one is still computed with weight 0 into scratch space. */
      double *g = with_grad ? r : bw->reduced, gw = with_grad ? w : 0.0;
      if (m->kind == INVRG_MODEL_KIND_SYM3) /* the closed form: the hot path */
        r[np] += invrg_model_sym3_loss_grad(m, bw->coarse, fine, lc, gw, g);
      else
        r[np] += invrg_model_loss_grad(m, bw->coarse, fine, lc, gw, g, bw->work);
      r[np + 1] += w;
      *sites_done += (double)(L * L);
    }
  }
  /* Every entry has exactly one contributing rank: the sum over ranks is exact. */
  if (size > 1)
    INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, bw->records, n_chunks * rec, MPI_DOUBLE, MPI_SUM,
                                 comm));
  double total_loss = 0, total_weight = 0;
  if (with_grad) memset(grad, 0, (size_t)np * sizeof *grad);
  for (int ch = 0; ch < n_chunks; ch++) {
    const double *r = bw->records + (size_t)ch * (size_t)rec;
    if (with_grad)
      for (int i = 0; i < np; i++) grad[i] += r[i];
    total_loss += r[np];
    total_weight += r[np + 1];
  }
  /* mean over the batch's sites; weights normalised to mean 1: Σ w̃∇ℓ / (Σ w̃ / nb) / (nb N) */
  const double sites = (double)nb * (double)(L * L);
  if (with_grad)
    for (int i = 0; i < np; i++) grad[i] /= total_weight / nb * sites;
  *loss = total_loss / sites;
cleanup:
  return err;
}

/* ------------------------------------------------------------------ training */

/* Fisher–Yates shuffle of 0..n−1 with the stream (seed, TRAIN, replica, step). */
static void shuffle(int64_t *perm, int64_t n, uint64_t seed, uint64_t replica, uint64_t step) {
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_TRAIN, replica, step);
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    uint32_t w[4];
    invrg_rng_u32x4(&s, (uint64_t)i, 0, w);
    int64_t j = (int64_t)((((uint64_t)w[0] << 32) | w[1]) % (uint64_t)(i + 1));
    int64_t t = perm[i];
    perm[i] = perm[j], perm[j] = t;
  }
}

invrg_err invrg_train_evaluate(const invrg_model *m, const invrg_train_data *data, int64_t first,
                               int64_t n, uint64_t seed, MPI_Comm comm, double *loss) {
  invrg_err err = INVRG_SUCCESS;
  batch_work bw = {0};
  const int64_t per_call = 1024;
  int64_t *idx = malloc((size_t)per_call * sizeof *idx);
  double sum = 0, dummy = 0;
  INVRG_CHECK_ALLOC(idx);
  INVRG_CALL(batch_work_create(m, data->L, per_call, &bw));
  for (int64_t s = first; s < first + n; s += per_call) {
    int nb = (int)(first + n - s < per_call ? first + n - s : per_call);
    for (int c = 0; c < nb; c++) idx[c] = s + c;
    double part;
    /* Validation coins: step = config index, the same every epoch and replica (train.h). */
    INVRG_CALL(batch_gradient(m, data, idx, nb, false, false, seed, INVRG_TRAIN_VALIDATION_TIE_ITEM,
                              0, comm, &bw, NULL, &part, &dummy));
    sum += part * nb;
  }
  *loss = sum / (double)n;
cleanup:
  free(idx);
  batch_work_free(&bw);
  return err;
}

invrg_err invrg_train(invrg_model *m, const invrg_train_recipe *r, const invrg_train_data *data,
                      uint64_t seed, uint64_t replica, MPI_Comm comm, const char *progress_label,
                      invrg_train_history *hist, invrg_train_state *state,
                      invrg_train_epoch_hook hook, void *hook_ctx) {
  invrg_err err = INVRG_SUCCESS;
  const int np = m->n_params;
  const int64_t n_train = data->n - data->n_validation;
  const int64_t steps_per_epoch = (n_train + r->batch - 1) / r->batch;
  const int64_t total_steps = steps_per_epoch * r->epochs;
  batch_work bw = {0};
  adam_state st = {calloc((size_t)np, sizeof(double)), calloc((size_t)np, sizeof(double)), 0};
  invrg_train_state own = {0, 0, NULL, NULL};
  if (state == NULL) state = &own;
  double *grad = malloc((size_t)np * sizeof *grad);
  int64_t *perm = malloc((size_t)n_train * sizeof *perm);
  INVRG_CHECK_ALLOC(st.m);
  INVRG_CHECK_ALLOC(st.v);
  INVRG_CHECK_ALLOC(grad);
  INVRG_CHECK_ALLOC(perm);
  INVRG_CALL(batch_work_create(m, data->L, r->batch, &bw));
  if (state->epochs_done > 0) { /* continue where an earlier run left off */
    memcpy(st.m, state->m, (size_t)np * sizeof *st.m);
    memcpy(st.v, state->v, (size_t)np * sizeof *st.v);
    st.t = state->steps_done;
  }
  double sites = 0, t0 = MPI_Wtime();
  for (int64_t epoch = state->epochs_done; epoch < r->epochs; epoch++) {
    shuffle(perm, n_train, seed, replica, 1 + (uint64_t)epoch);
    double epoch_loss = 0;
    for (int64_t b = 0; b < steps_per_epoch; b++) {
      int nb = (int)(n_train - b * r->batch < r->batch ? n_train - b * r->batch : r->batch);
      double lr, beta1, loss = 0;
      invrg_train_schedule(r, st.t, total_steps, &lr, &beta1);
      /* Fresh tie coins every epoch: step (epoch + 1)·n + config index. */
      INVRG_CALL(batch_gradient(m, data, perm + b * r->batch, nb, true,
                                r->loss == INVRG_LOSS_WEIGHTED, seed,
                                INVRG_TRAIN_TIE_ITEM_BASE + replica,
                                (uint64_t)((epoch + 1) * data->n), comm, &bw, grad, &loss, &sites));
      optimizer_step(r, lr, beta1, m->params, grad, np, &st);
      epoch_loss += loss * nb;
    }
    hist->train_loss[epoch] = epoch_loss / (double)n_train;
    hist->val_loss[epoch] = NAN;
    if (data->n_validation > 0)
      INVRG_CALL(invrg_train_evaluate(m, data, n_train, data->n_validation, seed, comm,
                                      &hist->val_loss[epoch]));
    hist->sites_per_second = sites / (MPI_Wtime() - t0);
    if (progress_label != NULL) {
      char val[32];
      invrg_format_fixed(val, sizeof val, hist->val_loss[epoch], 6);
      invrg_log(INVRG_LOG_INFO, "%s epoch %lld/%lld: train %.6f val %s nat/spin, %.3g sites/s",
                progress_label, (long long)epoch + 1, (long long)r->epochs,
                hist->train_loss[epoch], val, hist->sites_per_second);
    }
    state->epochs_done = epoch + 1;
    state->steps_done = st.t;
    if (state != &own) {
      memcpy(state->m, st.m, (size_t)np * sizeof *st.m);
      memcpy(state->v, st.v, (size_t)np * sizeof *st.v);
    }
    if (hook != NULL && epoch + 1 < r->epochs) INVRG_CALL(hook(hook_ctx, state));
  }
cleanup:
  free(st.m);
  free(st.v);
  free(grad);
  free(perm);
  batch_work_free(&bw);
  return err;
}

/* ------------------------------------------------------------------ the kept model */

int64_t invrg_train_best_replica(const invrg_train_replicas *r) {
  int64_t best = 0;
  for (int64_t k = 1; k < r->n; k++)
    if (r->val_loss[(size_t)k * r->stride] < r->val_loss[(size_t)best * r->stride]) best = k;
  return best;
}

bool invrg_train_keeps_mean(invrg_train_select select, bool sym, double mean_val_loss,
                            double best_val_loss) {
  return select == INVRG_SELECT_MEAN ||
         (select == INVRG_SELECT_AUTO && sym && !(mean_val_loss > best_val_loss));
}

invrg_err invrg_train_select_model(invrg_train_select select, const invrg_train_replicas *r,
                                   const invrg_train_data *data, uint64_t seed, MPI_Comm comm,
                                   invrg_model *kept, invrg_train_selection *out) {
  invrg_err err = INVRG_SUCCESS;
  const bool sym = kept->family == INVRG_MODEL_SYM;
  INVRG_CHECK(r->n >= 1 && r->n_params == kept->n_params, INVRG_ERR_RUNTIME,
              "select a model of %d parameters from %lld replicas of %d", kept->n_params,
              (long long)r->n, r->n_params);
  invrg_train_selection sel = {false, invrg_train_best_replica(r), NAN, NAN};
  sel.best_val_loss = r->val_loss[(size_t)sel.best * r->stride];
  for (int i = 0; i < r->n_params; i++) { /* the mean, summed in replica order */
    double s = 0;
    for (int64_t k = 0; k < r->n; k++) s += r->params[(size_t)k * r->stride + (size_t)i];
    kept->params[i] = s / (double)r->n;
  }
  if (sym && data->n_validation > 0) /* on the validation coins every replica was judged by */
    INVRG_CALL(invrg_train_evaluate(kept, data, data->n - data->n_validation, data->n_validation,
                                    seed, comm, &sel.mean_val_loss));
  sel.keep_mean = invrg_train_keeps_mean(select, sym, sel.mean_val_loss, sel.best_val_loss);
  if (!sel.keep_mean)
    memcpy(kept->params, r->params + (size_t)sel.best * r->stride,
           (size_t)r->n_params * sizeof *kept->params);
  if (out != NULL) *out = sel;
cleanup:
  return err;
}

void invrg_train_replica_moments(const invrg_train_replicas *r, double *mean, double *std) {
  const int np = r->n_params;
  for (int i = 0; i < np; i++) mean[i] = std[i] = 0;
  for (int64_t k = 0; k < r->n; k++)
    for (int i = 0; i < np; i++)
      mean[i] += r->params[(size_t)k * r->stride + (size_t)i] / (double)r->n;
  for (int64_t k = 0; k < r->n; k++)
    for (int i = 0; i < np; i++) {
      const double d = r->params[(size_t)k * r->stride + (size_t)i] - mean[i];
      std[i] += r->n > 1 ? d * d / (double)(r->n - 1) : 0;
    }
  for (int i = 0; i < np; i++) std[i] = sqrt(std[i]);
}
