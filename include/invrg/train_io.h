/**
 * @file train_io.h
 * /train of the run file: what both kinds of training write (the exact fit, and the stochastic
 * optimizers) — the model and how it was chosen, the data's size, every replica's parameters
 * and loss curves — and the kept model in /model (model_io.h). Each kind adds attributes of
 * its own to the group.
 */
#ifndef INVRG_TRAIN_IO_H
#define INVRG_TRAIN_IO_H

#include <hdf5.h>
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/model.h"

/** The replicas of one training and the model kept from them. */
typedef struct {
  const invrg_model *kept; /**< the model the later stages use */
  int64_t L;               /**< side of the training configurations */
  int64_t n_train, n_validation;
  const char *selection;   /**< how the kept model was chosen: "full_data", "best", "mean" */
  int64_t best;            /**< the best replica */
  int64_t n_replicas, epochs;
  const double *params;     /**< [replica][param]: read on world rank 0 only */
  const double *train_loss; /**< [replica][epoch]: read on world rank 0 only */
  const double *val_loss;   /**< [replica][epoch]: read on world rank 0 only */
} invrg_train_output;

/**
 * Writes /train (attributes model, kernel, channels, L, n_train, n_validation, selection,
 * best_replica, selected_params; datasets params, train_loss, val_loss) and /model, and leaves
 * /train open in *@p group for the writer's own attributes (the caller closes it). Collective
 * on the world (every rank calls it alike; world rank 0 writes the datasets' contents).
 */
invrg_err invrg_train_write(hid_t file, const invrg_train_output *r, hid_t *group);

#endif
