/**
 * @file train.h
 * Fitting an inverse-RG model to pairs (fine x, coarse μ = majority(x)) of
 * Monte Carlo configurations (docs/physics.md §5): binary cross-entropy (or its
 * tie-weighted variant), AdamW / Adam / SGD, one-cycle or constant schedule.
 *
 * One replica is trained by one group. Inside the group the minibatch is
 * split into chunks of INVRG_TRAIN_CHUNK configurations, chunk i done by
 * group rank i mod P; chunk gradients are gathered and added in chunk order,
 * so the parameters are bit-identical for any number of ranks.
 */
#ifndef INVRG_TRAIN_H
#define INVRG_TRAIN_H

#include <mpi.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invrg/choices.h" /* invrg_loss_kind, invrg_schedule_kind, invrg_train_select */
#include "invrg/error.h"
#include "invrg/model.h"

/** Configurations per gradient chunk (the unit of the fixed summation order). */
#define INVRG_TRAIN_CHUNK 8

/** Tie coins of training use the stream (seed, INVRG_RNG_TIE, this + replica, …). */
#define INVRG_TRAIN_TIE_ITEM_BASE (UINT64_C(1) << 48)
/** Tie coins of validation: one stream for every replica, so that their losses compare. */
#define INVRG_TRAIN_VALIDATION_TIE_ITEM (INVRG_TRAIN_TIE_ITEM_BASE - 1)

typedef enum { INVRG_OPT_ADAMW, INVRG_OPT_ADAM, INVRG_OPT_SGD } invrg_optimizer_kind;

/** The recipe (docs/physics.md §5 defaults: AdamW, lr 0.01, wd 0.01, one-cycle, 50 epochs, batch 1000). */
typedef struct {
  invrg_loss_kind loss;
  invrg_optimizer_kind optimizer;
  invrg_schedule_kind schedule;
  double lr, weight_decay;
  int64_t epochs, batch;
} invrg_train_recipe;

/** Training data: n configurations of L × L spins, ±1, row-major, one after the other. */
typedef struct {
  const int8_t *configs;
  int64_t n;
  int L;
  int64_t n_validation; /**< the last n_validation configurations are the validation set */
} invrg_train_data;

/** What a replica's training produced. */
typedef struct {
  double *train_loss;      /**< [epochs] mean BCE per spin over the epoch's minibatches */
  double *val_loss;        /**< [epochs] BCE per spin of the validation set after the epoch */
  double sites_per_second; /**< fine sites through forward + backward per second (this rank) */
} invrg_train_history;

/** Learning rate and β1 of optimizer step @p t (0-based) of @p total (one-cycle or constant). */
void invrg_train_schedule(const invrg_train_recipe *r, int64_t t, int64_t total, double *lr,
                          double *beta1);

/**
 * Where a replica's training stands after a whole epoch: all that continuing
 * it needs besides the parameters and the history (checkpoints).
 */
typedef struct {
  int64_t epochs_done;
  int64_t steps_done; /**< optimizer steps: the schedule's position */
  double *m, *v;      /**< [n_params] Adam's first and second moments (SGD: unused) */
} invrg_train_state;

/**
 * Called after every epoch with the state: a safe point to checkpoint. A
 * return of INVRG_STOPPED ends the training there (and is returned).
 */
typedef invrg_err (*invrg_train_epoch_hook)(void *ctx, const invrg_train_state *state);

/**
 * Trains @p m as replica @p replica on @p data; fills @p hist (arrays of
 * length epochs, allocated by the caller). @p state: NULL, or epochs_done = 0
 * (parameters already initialised; moments are set here), or the state of an
 * earlier run with @p m's parameters and @p hist's first epochs_done entries
 * as it left them: training continues bit-identically. @p hook (may be NULL)
 * sees every epoch's end. Collective on @p comm (the group); every rank ends
 * with the same parameters. @p progress_label, if not NULL, is used for
 * per-epoch log lines on world rank 0.
 */
invrg_err invrg_train(invrg_model *m, const invrg_train_recipe *recipe, const invrg_train_data *data,
                      uint64_t seed, uint64_t replica, MPI_Comm comm, const char *progress_label,
                      invrg_train_history *hist, invrg_train_state *state,
                      invrg_train_epoch_hook hook, void *hook_ctx);

/**
 * Mean BCE per spin of @p m on configurations [first, first + n) of @p data,
 * coarse-grained with the tie coins of (seed, INVRG_TRAIN_VALIDATION_TIE_ITEM,
 * step = config index): the same coins for every replica and every epoch, so
 * that the loss differences between replicas are those of their parameters
 * (select = 'best' relies on it: the gaps are ~1e-5, below the coins' noise).
 * Collective on @p comm (chunks as in training).
 */
invrg_err invrg_train_evaluate(const invrg_model *m, const invrg_train_data *data, int64_t first,
                               int64_t n, uint64_t seed, MPI_Comm comm, double *loss);

/* ------------------------------------------------------------------ replicas */

/**
 * The row of one replica of the stochastic optimizers, as stage train keeps it (and its
 * checkpoint stores it): [params | train loss per epoch | validation loss per epoch | rate].
 */
static inline size_t invrg_train_replica_row_length(int n_params, int64_t epochs) {
  return (size_t)n_params + 2 * (size_t)epochs + 1;
}

/** The optimizer state of one replica in a checkpoint: [Adam's m | Adam's v | step count]. */
static inline size_t invrg_train_moments_length(int n_params) { return 2 * (size_t)n_params + 1; }

/** The replicas of a training as the choice of the kept model sees them (not owned). */
typedef struct {
  int64_t n;              /**< replicas */
  int n_params;
  const double *params;   /**< replica r's parameters at params + r·stride */
  const double
      *val_loss; /**< replica r's final validation loss at val_loss[r·stride] (NaN: none) */
  size_t stride;
} invrg_train_replicas;

/** The model &train select kept, and the numbers it was chosen by. */
typedef struct {
  bool keep_mean;        /**< the mean of the replicas' parameters, else replica `best` */
  int64_t best; /**< the replica of lowest final validation loss (invrg_train_best_replica) */
  double best_val_loss;  /**< its final validation loss */
  double mean_val_loss;  /**< the mean's validation loss; NaN for conv or without validation data */
} invrg_train_selection;

/**
 * The replica of lowest final validation loss: the first of equal ones, and replica 0 when
 * none is lower (a NaN loss, i.e. no validation data, is never lower). Not collective.
 */
int64_t invrg_train_best_replica(const invrg_train_replicas *r);

/**
 * The rule of &train select: 'mean' keeps the mean of the replicas, 'best' the best replica,
 * 'auto' for sym models whichever of the two validates better — the mean when every replica
 * reached the optimum of the convex loss (it averages their noise), the best replica when the
 * recipe left some of them on the way along a flat valley (input/train_sym3.nml) — and for conv
 * models (@p sym false: their minima differ, their mean is no model) the best replica. A NaN
 * loss of the mean (no validation data) keeps the mean. Not collective.
 */
bool invrg_train_keeps_mean(invrg_train_select select, bool sym, double mean_val_loss,
                            double best_val_loss);

/**
 * Puts in @p kept (a model of the replicas' kind) the parameters &train select keeps of @p r:
 * the mean of the replicas' parameters, evaluated on the validation set of @p data for sym
 * models (invrg_train_evaluate() with @p seed), or the best replica's; @p out says which and
 * why (may be NULL). Collective on @p comm; every rank passes the same replicas and gets the
 * same model.
 */
invrg_err invrg_train_select_model(invrg_train_select select, const invrg_train_replicas *r,
                                   const invrg_train_data *data, uint64_t seed, MPI_Comm comm,
                                   invrg_model *kept, invrg_train_selection *out);

/**
 * Mean and standard deviation (1/(n − 1); 0 for one replica) of each parameter over the
 * replicas, into @p mean and @p std (n_params each). Not collective.
 */
void invrg_train_replica_moments(const invrg_train_replicas *r, double *mean, double *std);

#endif
