/**
 * @file pipeline.h
 * One run: load the input, check the output, create the run file, run the
 * stages in order, finish the file. Collective on MPI_COMM_WORLD.
 */
#ifndef INVRG_PIPELINE_H
#define INVRG_PIPELINE_H

#include <stdbool.h>

#include "invrg/cli.h"
#include "invrg/error.h"

/**
 * Runs the input file of @p cli with its --set overrides (action RUN), or with action CHECK
 * only finds every error the input can have before any work, writing nothing; there
 * `planned_ranks` > 0 checks the layout of a run on that many ranks instead of this one's (on
 * one process). Every rank returns the same code, which is the exit status.
 */
invrg_err invrg_pipeline_run(const invrg_cli *cli);

#endif
