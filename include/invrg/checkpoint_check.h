/**
 * @file checkpoint_check.h
 * The checks of a checkpoint's stage state before a run continues from it (checkpoint.h's
 * open_source runs them, for a run and for --check alike): a state edited or damaged by hand
 * would otherwise resume with values no run can make, or fail deep in its stage with HDF5's
 * words and no file named. Each refusal is an input error at &run output that names the
 * checkpoint and the dataset (exit 2). Stage mc's: mc_checkpoint.h.
 */
#ifndef INVRG_CHECKPOINT_CHECK_H
#define INVRG_CHECKPOINT_CHECK_H

#include <hdf5.h>
#include <stdbool.h>
#include <stdint.h>

#include "invrg/config.h"
#include "invrg/correlation.h"
#include "invrg/error.h"

/** Input error at &run output: the checkpoint @p path is damaged, as the message made of
 * @p fmt says (the dataset and what is wrong with it); it ends with the advice to move the
 * checkpoint away. */
invrg_err invrg_checkpoint_damaged(const invrg_config *cfg, const char *path, const char *fmt,
                                   ...) __attribute__((format(printf, 3, 4)));

/** Dataset @p name of /checkpoint/@p stage (the group @p state) has the dimensions @p want
 * (@p rank of them, at most 3), else invrg_checkpoint_damaged(). Collective (metadata). */
invrg_err invrg_checkpoint_check_shape(hid_t state, const char *stage, const char *name,
                                       int rank, const hsize_t *want, const invrg_config *cfg,
                                       const char *path);

/** Dataset @p name of /checkpoint/@p stage holds integers (of one byte, signed, if
 * @p int8_only: spins), else invrg_checkpoint_damaged(): HDF5 would convert other values
 * when they are read (1.5 to 1, 255 to 127), hiding the damage. Collective (metadata). */
invrg_err invrg_checkpoint_check_integers(hid_t state, const char *stage, const char *name,
                                          bool int8_only, const invrg_config *cfg,
                                          const char *path);

/** The 1-dimensional dataset @p name of /checkpoint/@p stage, of @p n integers, into
 * @p values: its shape and type checked first (invrg_checkpoint_check_shape(),
 * invrg_checkpoint_check_integers()). Collective (metadata). */
invrg_err invrg_checkpoint_read_counters(hid_t state, const char *stage, const char *name,
                                         int64_t n, int64_t *values, const invrg_config *cfg,
                                         const char *path);

/** The kinds of MCRG pairs of a dream, and their names in /mcrg/dream and the checkpoint. */
enum { INVRG_DREAM_PAIRS_UP, INVRG_DREAM_PAIRS_DOWN, INVRG_DREAM_PAIRS_BLOCKED, INVRG_DREAM_N_PAIRS };
extern const char *const invrg_dream_pairs_names[INVRG_DREAM_N_PAIRS];

/** What the input makes of stage dream's state: the stage sizes its buffers and accumulators
 * by it (dream_stage.c) and the check below its checkpoint's datasets. */
typedef struct {
  int64_t n_samples;
  int n_meas;     /**< the measured levels, measure_from … levels */
  int64_t window; /**< samples per window (reducer.h) */
  int blocks;     /**< jackknife blocks (invrg_config_jackknife_blocks) */
  size_t rec;     /**< primaries per sample: n_meas · INVRG_N_PRIMARY */
  size_t n_means; /**< block means: n_meas · blocks · INVRG_N_PRIMARY */
  /** the MCRG accumulators' blocks: one sample (a single big dream) has no error bars, and the
   * accumulators, which want two, keep an empty second one */
  int acc_blocks;
  int pair_levels[INVRG_DREAM_N_PAIRS]; /**< up and down: every level; blocked: mcrg_levels */
  bool correlations;                    /**< &analyze correlations */
  invrg_corr_params corr;               /**< of the correlations' accumulator */
} invrg_dream_state_sizes;

invrg_dream_state_sizes invrg_dream_state_sizes_of(const invrg_config *cfg);

/** Stage dream's state (/checkpoint/dream, dream_checkpoint.h): the window in progress
 * against &dream n_samples and the window size, its done flags (0 or 1), the shapes of the
 * samples' primaries, of the block means and of the sums of the MCRG pairs and of the
 * correlations (corr_sizes must list every measured size). Collective (metadata). */
invrg_err invrg_dream_checkpoint_check(hid_t state, const invrg_config *cfg, const char *path);

/** Stage train's state (/checkpoint/train) of the stochastic optimizers: epochs_done of each
 * replica within −1 … &train epochs, the shapes of rows and moments against the replicas, the
 * epochs and the model's parameters. The exact fit's state is empty: nothing to check.
 * Collective (metadata). */
invrg_err invrg_train_checkpoint_check(hid_t state, const invrg_config *cfg, const char *path);

#endif
