/**
 * @file train_check.h
 * Stage train before any work: which fit the input asks for, and the check of its keys that
 * reports every input error at once (each naming its file, line and key), the training data
 * counted and the memory budgeted before the stage or any other does work.
 */
#ifndef INVRG_TRAIN_CHECK_H
#define INVRG_TRAIN_CHECK_H

#include <stdbool.h>

#include "invrg/config.h"
#include "invrg/error.h"
#include "invrg/stage.h"

/** True for the exact fit: optimizer = 'newton', or the default of the sym models. */
bool invrg_train_uses_newton(const invrg_config_train *t);

/**
 * The stage's check (invrg_stage.check): where the data come from (a file, or a size of this
 * run's stage mc), the optimizer, ties and selection the model allows, the data counted (by
 * world rank 0) against batch, validation and the exact fit's smallest L, and the memory.
 * Collective on the world.
 */
invrg_err invrg_train_check(const invrg_run *run);

#endif
