/**
 * @file cli.h
 * Command-line options of the invrg program. Not collective: every rank
 * parses the same argv and reaches the same result.
 */
#ifndef INVRG_CLI_H
#define INVRG_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "invrg/error.h"

typedef enum {
  INVRG_ACTION_RUN,             /**< invrg input.nml */
  INVRG_ACTION_CHECK,           /**< invrg --check input.nml */
  INVRG_ACTION_HELP,            /**< invrg --help */
  INVRG_ACTION_VERSION,         /**< invrg --version */
  INVRG_ACTION_PRINT_DEFAULTS,  /**< invrg --print-default-input */
  INVRG_ACTION_PRINT_REFERENCE, /**< invrg --print-input-reference (Markdown, for docs/input.md) */
  INVRG_ACTION_PRINT_SCHEMA     /**< invrg --print-schema (JSON, tools/runfile_schema.json) */
} invrg_action;

/** Most --set options on one command line. */
#define INVRG_CLI_MAX_OVERRIDES 64

typedef struct {
  invrg_action action;
  const char *input_path; /**< for RUN and CHECK */
  int planned_ranks;      /**< CHECK with --ranks N: the rank count to check for (0 = this run's) */
  /** RUN and CHECK: the text of each --set ("group.key=values", pointers into argv), in order;
   * checked with the input (invrg_config_load_with_overrides), not here. */
  const char *overrides[INVRG_CLI_MAX_OVERRIDES];
  int n_overrides;
} invrg_cli;

/**
 * Parses argv. On a usage error returns INVRG_ERR_INPUT with the reason in
 * @p why (e.g. "unknown option '--chek' (did you mean '--check'?)").
 */
invrg_err invrg_cli_parse(int argc, char **argv, invrg_cli *cli, char *why, size_t why_len);

/** Prints the --help text. */
void invrg_cli_print_help(void);

/** True for the actions that need MPI (a run, --check); the others run without MPI_Init. */
bool invrg_cli_needs_mpi(const invrg_cli *cli);

/**
 * Prints the --version text (version, git hash, build, libraries); MPI need not be initialised.
 * @p hdf5_version: the HDF5 library's version (io asks HDF5: invrg_h5_library_version()).
 */
void invrg_cli_print_version(const char *hdf5_version);

#endif
