/**
 * @file dream_checkpoint.h
 * The checkpoint state of stage dream: what /checkpoint/dream holds and how it is written and
 * read back (docs/checkpoints.md).
 */
#ifndef INVRG_DREAM_CHECKPOINT_H
#define INVRG_DREAM_CHECKPOINT_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "invrg/checkpoint.h"
#include "invrg/checkpoint_check.h"
#include "invrg/correlation.h"
#include "invrg/mcrg.h"
#include "invrg/stage.h"

/* The kinds of MCRG pairs of a dream and their names: checkpoint_check.h. */

/*
 * The state of stage dream (under /checkpoint/dream). Samples are dreamed in windows of
 * consecutive samples (invrg_reducer_window: the size depends on the input only), each folded
 * into the block means on world rank 0 when it is complete. The state: window = {first,
 * count} of the window in progress, done[t] (1 when sample first + t is dreamed and
 * measured), primaries[t] (its observables per measured level), block_means (the fold of the
 * windows before), and the exact sums of the MCRG pairs and correlations. Saved
 * configurations are in the run file already (written as they are made).
 */
typedef struct {
  invrg_run *run;
  int64_t first, count; /* the window */
  size_t rec;           /* primaries per sample */
  double *mine;         /* [k][rec]: the group's samples of the window */
  int64_t *done;        /* [k]: 1 when dreamed */
  double *block_means;  /* [n_means]: world rank 0's fold */
  size_t n_means;
  invrg_mcrg **acc;     /* [INVRG_DREAM_N_PAIRS] */
  invrg_corr *corr;
} invrg_dream_state;

/** Writes the state (a checkpoint, then a stop if @p decision says so: INVRG_STOPPED).
 * Collective on the world. */
invrg_err invrg_dream_state_save(invrg_dream_state *w, invrg_ckpt_decision decision);

/** Reads the window of the checkpoint @p state into w->first, count, done, mine, and the fold
 * and sums before it; runtime error if the window does not fit windows of @p window_size. The
 * rest of the state was checked before the run (checkpoint_check.h); first, before it reads
 * anything, an input error naming the checkpoint and the dataset if the sums of MCRG and
 * correlations do not fit the accumulators w->acc and w->corr. Collective on the world. */
invrg_err invrg_dream_state_restore(invrg_dream_state *w, hid_t state, int64_t window_size);

#endif
