/**
 * @file analyze_ensembles.h
 * What stage analyze analyses: the saved configurations of each size of a source (mc or
 * dream), found in a run file, or planned by the earlier stages of this run (at check time,
 * when the file is still empty).
 */
#ifndef INVRG_ANALYZE_ENSEMBLES_H
#define INVRG_ANALYZE_ENSEMBLES_H

#include <hdf5.h>
#include <stdbool.h>
#include <stdint.h>

#include "invrg/config.h"
#include "invrg/error.h"

enum { INVRG_ANALYZE_MAX_SIZES = 32 };

/** The saved configurations of one size. */
typedef struct {
  int64_t L, n;   /**< side; configurations */
  bool packed;    /**< saved one bit per spin */
  double K;       /**< coupling of C/N: the beta of /mc/L<L>, K_c for dreams */
  bool K_assumed; /**< Monte Carlo without a beta attribute: K_c */
} invrg_analyze_ensemble;

/** The sizes of one source, by increasing L. */
typedef struct {
  int n;
  invrg_analyze_ensemble e[INVRG_ANALYZE_MAX_SIZES];
} invrg_analyze_ensembles;

/**
 * Every /<source>/L<L>/configs of @p file (named @p name in messages) into @p out. Input error
 * for a dataset that is not one of configurations or holds fewer than 2 (the jackknife needs
 * 2), for a beta attribute that is not a coupling, and for more than INVRG_ANALYZE_MAX_SIZES
 * sizes. Collective on the file's communicator (metadata reads, the same on every rank).
 */
invrg_err invrg_analyze_find_ensembles(hid_t file, const char *name, invrg_source source_kind,
                                       invrg_analyze_ensembles *out);

/** What the earlier stages of this run will save of @p source. Not collective. */
void invrg_analyze_planned_ensembles(const invrg_config *cfg, invrg_source source,
                                     invrg_analyze_ensembles *out);

#endif
