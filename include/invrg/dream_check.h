/**
 * @file dream_check.h
 * Stage dream before any work: the models it dreams with, the level its dreams start from, and
 * the check of its keys that reports every input error at once (each naming its file, line and
 * key), before the stage or any other does work.
 */
#ifndef INVRG_DREAM_CHECK_H
#define INVRG_DREAM_CHECK_H

#include "invrg/config.h"
#include "invrg/error.h"
#include "invrg/model.h"
#include "invrg/stage.h"

/**
 * The model of &dream into *@p out: model_file, or model with params, or this run's trained
 * model (run->model). An unreadable or wrong model file, or parameters of the wrong number, is
 * an input error naming its key. Not collective (every rank reads the file).
 */
invrg_err invrg_dream_model(const invrg_run *run, invrg_model **out);

/**
 * small_kernel_start = 'paper': the 3 x 3 model that dreams the first (k − 3)/2 steps of a
 * k = 5 or 7 model @p m — sym3 (small_kernel_params, or small_kernel_model_file), or for conv
 * models a conv k = 3 model from small_kernel_model_file — and that number of steps. *out =
 * NULL and *n_steps = 0 when no step is replaced. Not collective.
 */
invrg_err invrg_dream_small_kernel_model(const invrg_run *run, const invrg_model *m,
                                         invrg_model **out, int *n_steps);

/** The level a dream starts from: 0 (one spin), or log2(start_L) for start = 'mc'. */
int invrg_dream_seed_level(const invrg_config_dream *d);

/**
 * The stage's check (invrg_stage.check): seeds, levels, saved levels, the models (read now),
 * memory, disk and sizes (budget.h), and the keys that choose how levels are made and held.
 * Collective on the world.
 */
invrg_err invrg_dream_check(const invrg_run *run);

#endif
