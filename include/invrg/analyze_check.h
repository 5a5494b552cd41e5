/**
 * @file analyze_check.h
 * Stage analyze before any work: the configurations it is to analyse — those this run's stages
 * will save, or those of the file &analyze data (opened, its format checked and its sizes
 * listed by world rank 0) — must be there, at least two per size, with a fit range that keeps
 * two sizes of each fitted source; every input error at once, each naming its file, line and
 * key.
 */
#ifndef INVRG_ANALYZE_CHECK_H
#define INVRG_ANALYZE_CHECK_H

#include "invrg/error.h"
#include "invrg/stage.h"

/** The stage's check (invrg_stage.check). Collective on the world. */
invrg_err invrg_analyze_check(const invrg_run *run);

#endif
