/**
 * @file stage.h
 * A stage of the pipeline (mc, train, dream, analyze) and the run it works in.
 *
 * Every stage has two parts: check(), run by the pipeline for all stages
 * before any work starts (input errors that need the rank layout, e.g. a
 * lattice the grid cannot split), and execute(), which does the work and
 * writes its results into the run file. Both are collective on the world.
 */
#ifndef INVRG_STAGE_H
#define INVRG_STAGE_H

#include "invrg/checkpoint.h"
#include "invrg/config.h"
#include "invrg/error.h"
#include "invrg/groups.h"
#include "invrg/model.h"
#include "invrg/runfile.h"

/** The run the stages share. */
typedef struct {
  const invrg_config *cfg;
  const invrg_groups *groups;
  invrg_runfile *file; /**< NULL during check() */
  invrg_model *model;   /**< the model stage train selected (owned by the run), or NULL */
  invrg_checkpoint *ckpt; /**< when to save state, and the state to continue (checkpoint.h) */
} invrg_run;

typedef struct {
  const char *name;
  invrg_err (*check)(const invrg_run *run);
  invrg_err (*execute)(invrg_run *run);
} invrg_stage;

/** True if &analyze fss_sources lists @p source. Not collective. */
bool invrg_stage_fits_source(const invrg_config *cfg, invrg_source source);

/**
 * True if the sizes of @p source (@p n_sizes of them, whose samples fall into @p n_blocks
 * jackknife blocks) are fitted across L: &analyze fss_sources lists it, there are two sizes or
 * more, and two blocks or more (one block has no error bars to fit with: then a warning in the
 * log says why there is no fit). Not collective (the same on every rank).
 */
bool invrg_stage_fits(const invrg_config *cfg, invrg_source source, int n_sizes, int n_blocks);

/**
 * The jackknife blocks of @p source: &analyze jackknife_blocks, or @p n_samples if fewer (a
 * block holds one sample at least); says so in the log when they are fewer. Not collective.
 */
int invrg_stage_jackknife_blocks(const invrg_config *cfg, const char *source, int64_t n_samples);

/**
 * Input error if the &analyze fit range [fss_Lmin, fss_Lmax] keeps fewer than 2 of the
 * @p n_L sizes @p L of @p source, i.e. its finite-size-scaling fits would be empty; the message
 * calls them @p what (e.g. "&mc L", "the saved dream sizes"). Not collective (the same on
 * every rank).
 */
invrg_err invrg_stage_check_fss_range(const invrg_config *cfg, invrg_source source,
                                      const char *what, const int64_t *L, int n_L);

/** Monte Carlo ensembles at coupling &mc beta (src/stages/mc_stage.c). */
extern const invrg_stage invrg_stage_mc;

/** Inverse-RG models fitted to Monte Carlo data (src/stages/train_stage.c). */
extern const invrg_stage invrg_stage_train;

/** Dreamed configurations, measured level by level (src/stages/dream_stage.c). */
extern const invrg_stage invrg_stage_dream;

/** Stage mc's and dream's analyses of saved configurations, this run's or an earlier run's
 * (src/stages/analyze_stage.c). */
extern const invrg_stage invrg_stage_analyze;

#endif
