/**
 * @file mc_check.h
 * Stage mc before any work: the check of its keys that reports every input error at once (each
 * naming its file, line and key) — sizes, algorithm and lattice kind, the layout of the groups,
 * MCRG and finite-size scaling of its samples, memory and disk — before the stage or any other
 * does work.
 */
#ifndef INVRG_MC_CHECK_H
#define INVRG_MC_CHECK_H

#include "invrg/error.h"
#include "invrg/stage.h"

/** The stage's check (invrg_stage.check). Collective on the world. */
invrg_err invrg_mc_check(const invrg_run *run);

#endif
