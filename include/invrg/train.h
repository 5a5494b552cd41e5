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
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/model.h"

/** Configurations per gradient chunk (the unit of the fixed summation order). */
#define INVRG_TRAIN_CHUNK 8

/** Tie coins of training use the stream (seed, INVRG_RNG_TIE, this + replica, …). */
#define INVRG_TRAIN_TIE_ITEM_BASE (UINT64_C(1) << 48)
/** Tie coins of validation: one stream for every replica, so that their losses compare. */
#define INVRG_TRAIN_VALIDATION_TIE_ITEM (INVRG_TRAIN_TIE_ITEM_BASE - 1)

typedef enum { INVRG_LOSS_BCE, INVRG_LOSS_WEIGHTED } invrg_loss_kind;
typedef enum { INVRG_OPT_ADAMW, INVRG_OPT_ADAM, INVRG_OPT_SGD } invrg_optimizer_kind;
typedef enum { INVRG_SCHEDULE_ONECYCLE, INVRG_SCHEDULE_CONSTANT } invrg_schedule_kind;

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

#endif
