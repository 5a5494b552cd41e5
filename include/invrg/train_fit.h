/**
 * @file train_fit.h
 * Stage train's exact fit (optimizer = 'newton', the default of the sym models; fit_exact.h
 * does the numbers): replica 0 fits all the training configurations and is the kept model,
 * replicas 1, 2, … fit bootstrap resamples of them, which give its errors. Every replica is
 * counted by all ranks together (exact sums) and solved alike on each, so the results do not
 * depend on the rank count. It runs at once: a checkpoint due during it is taken at its end.
 */
#ifndef INVRG_TRAIN_FIT_H
#define INVRG_TRAIN_FIT_H

#include "invrg/error.h"
#include "invrg/model.h"
#include "invrg/stage.h"
#include "invrg/train.h"

/**
 * Fits a model like @p proto to @p data into *@p kept (owned by the caller), and writes /train
 * (with the errors, the Hessian's condition and the bootstrap covariance) and the log. Data
 * the fit cannot determine the model from are an input error at &train data; a bootstrap
 * resample that cannot be fitted is left out of the errors, with a warning. Collective on the
 * world.
 */
invrg_err invrg_train_fit_exact(invrg_run *run, const invrg_train_data *data,
                                const invrg_model *proto, invrg_model **kept);

#endif
