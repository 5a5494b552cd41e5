/* invrg: parse the command line, run the pipeline, turn the outcome into an exit status. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "invrg/cli.h"
#include "invrg/config.h"
#include "invrg/error.h"
#include "invrg/h5util.h"
#include "invrg/log.h"
#include "invrg/pipeline.h"
#include "invrg/schema.h"

/* Prints an error nobody has shown yet: input errors once, local failures per rank. */
static void report(invrg_err err, int rank) {
  if (err == INVRG_SUCCESS || err == INVRG_STOPPED || invrg_error_was_reported()) return;
  if (err == INVRG_ERR_INPUT) {
    char line[1100];
    snprintf(line, sizeof line, "invrg: error: %s\n", invrg_error_message());
    if (rank == 0) fputs(line, stderr);
    invrg_log_copy(line); /* into the log file too, if the run had one */
  } else {
    invrg_error_print_local(rank);
  }
}

/* --help, --version, --print-*: no MPI (a batch script's provenance or a login node must not
 * start it). */
static void run_without_mpi(const invrg_cli *cli) {
  switch (cli->action) {
    case INVRG_ACTION_HELP:
      invrg_cli_print_help();
      break;
    case INVRG_ACTION_VERSION: {
      char hdf5_version[32];
      invrg_h5_library_version(hdf5_version, sizeof hdf5_version);
      invrg_cli_print_version(hdf5_version);
      break;
    }
    case INVRG_ACTION_PRINT_DEFAULTS: {
      invrg_config cfg;
      invrg_config_defaults(&cfg);
      printf("! invrg input: every key with its default (invrg --print-default-input)\n\n");
      invrg_nl_write(invrg_config_schema(), &cfg, true, stdout);
      break;
    }
    case INVRG_ACTION_PRINT_REFERENCE:
      invrg_nl_write_markdown(invrg_config_schema(), stdout);
      break;
    case INVRG_ACTION_PRINT_SCHEMA:
      invrg_schema_print_json(stdout);
      break;
    case INVRG_ACTION_RUN:
    case INVRG_ACTION_CHECK:
      break;
  }
  fflush(stdout);
}

int main(int argc, char **argv) {
  invrg_cli cli;
  char why[512];
  /* Every rank parses the same argv: usage errors need no MPI either. */
  invrg_err err = invrg_cli_parse(argc, argv, &cli, why, sizeof why);
  if (err != INVRG_SUCCESS) {
    fprintf(stderr, "invrg: error: %s\n", why);
    return (int)err;
  }
  if (!invrg_cli_needs_mpi(&cli)) {
    run_without_mpi(&cli);
    return INVRG_SUCCESS;
  }

  /* Open MPI's MPI-IO opens a shared-file-pointer component with every file; its default
   * ('sm') keeps a named semaphore per file in /dev/shm that a killed run leaves locked, and
   * the next run on the same output then hangs in MPI_File_open. invrg never uses shared
   * file pointers: take the component that leaves no such state (unless the user chose). */
  setenv("OMPI_MCA_sharedfp", "lockedfile", 0);
  if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
    fprintf(stderr, "invrg: error: MPI_Init failed\n");
    return INVRG_ERR_RUNTIME;
  }
  /* Errors come back as codes and are reported with context, not by MPI's abort handler. */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, nranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  invrg_log_init(rank);
  invrg_h5_init();

  if (cli.planned_ranks > 0 && nranks > 1) {
    if (rank == 0)
      fprintf(stderr, "invrg: error: --check --ranks %d checks on one process; run it without "
              "mpirun (or drop --ranks to check this run's %d ranks)\n", cli.planned_ranks,
              nranks);
    err = INVRG_ERR_INPUT;
  } else {
    err = invrg_pipeline_run(&cli);
    report(err, rank);
    invrg_log_end_run(); /* the log file closes after the last word on the run */
  }
  fflush(stdout);
  MPI_Finalize();
  return (int)err;
}
