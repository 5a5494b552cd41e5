/* Command-line options: what the user asked invrg to do. */
#include "invrg/cli.h"

#include <fftw3.h>
#include <mpi.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/text.h"
#include "invrg_build_info.h"
#include "invrg_git_version.h"

static const char *const options[] = {"--help",  "--version", "--check", "--print-default-input",
                                      "--print-input-reference", "--print-schema", "--ranks",
                                      "--set"};

/* The N of --ranks N: a positive int, else a usage error in @p why. */
static bool parse_ranks(const char *text, int *n, char *why, size_t why_len) {
  char *end = NULL;
  long v = text != NULL ? strtol(text, &end, 10) : 0;
  if (text == NULL || end == text || *end != '\0' || v < 1 || v > INT_MAX) {
    snprintf(why, why_len, "--ranks needs a positive number of ranks, got '%s'",
             text != NULL ? text : "");
    return false;
  }
  *n = (int)v;
  return true;
}

/* Keeps the text of one --set (its form is checked with the input, where errors are reported
 * together with the file's); else a usage error in @p why. */
static bool add_override(invrg_cli *cli, const char *text, char *why, size_t why_len) {
  if (text == NULL) {
    snprintf(why, why_len, "--set needs group.key=value (e.g. --set mc.L=64)");
    return false;
  }
  if (cli->n_overrides == INVRG_CLI_MAX_OVERRIDES) {
    snprintf(why, why_len, "more than %d --set options; put the keys in the input file",
             INVRG_CLI_MAX_OVERRIDES);
    return false;
  }
  cli->overrides[cli->n_overrides++] = text;
  return true;
}

invrg_err invrg_cli_parse(int argc, char **argv, invrg_cli *cli, char *why, size_t why_len) {
  cli->action = INVRG_ACTION_RUN;
  cli->input_path = NULL;
  cli->planned_ranks = 0;
  cli->n_overrides = 0;
  int n_files = 0;
  bool options_ended = false;
  why[0] = '\0';
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (options_ended || a[0] != '-' || a[1] == '\0') {
      cli->input_path = a;
      n_files++;
    } else if (strcmp(a, "--") == 0) {
      options_ended = true; /* what follows is a file name, even one that starts with '-' */
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      cli->action = INVRG_ACTION_HELP;
      return INVRG_SUCCESS; /* help wins over everything else on the line */
    } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
      cli->action = INVRG_ACTION_VERSION;
    } else if (strcmp(a, "--check") == 0) {
      cli->action = INVRG_ACTION_CHECK;
    } else if (strcmp(a, "--print-default-input") == 0) {
      cli->action = INVRG_ACTION_PRINT_DEFAULTS;
    } else if (strcmp(a, "--print-input-reference") == 0) {
      cli->action = INVRG_ACTION_PRINT_REFERENCE;
    } else if (strcmp(a, "--print-schema") == 0) {
      cli->action = INVRG_ACTION_PRINT_SCHEMA;
    } else if (strcmp(a, "--ranks") == 0 || strncmp(a, "--ranks=", 8) == 0) {
      const char *value = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
      if (!parse_ranks(value, &cli->planned_ranks, why, why_len)) return INVRG_ERR_INPUT;
    } else if (strcmp(a, "--set") == 0 || strncmp(a, "--set=", 6) == 0) {
      const char *value = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
      if (!add_override(cli, value, why, why_len)) return INVRG_ERR_INPUT;
    } else {
      const char *near = invrg_text_suggest(a, options, (int)(sizeof options / sizeof options[0]));
      if (near != NULL)
        snprintf(why, why_len, "unknown option '%s' (did you mean '%s'?)", a, near);
      else
        snprintf(why, why_len, "unknown option '%s' (see invrg --help; '--' before a file name "
                 "that starts with '-')", a);
      return INVRG_ERR_INPUT;
    }
  }
  bool needs_file = cli->action == INVRG_ACTION_RUN || cli->action == INVRG_ACTION_CHECK;
  if (needs_file && n_files == 0) {
    snprintf(why, why_len, "no input file given (usage: invrg [options] input.nml; see --help)");
    return INVRG_ERR_INPUT;
  }
  if (cli->planned_ranks > 0 && cli->action != INVRG_ACTION_CHECK) {
    snprintf(why, why_len, "--ranks goes with --check (invrg --check --ranks N input.nml)");
    return INVRG_ERR_INPUT;
  }
  if (cli->n_overrides > 0 && !needs_file) {
    snprintf(why, why_len, "--set goes with a run or --check (invrg [--check] input.nml --set "
             "group.key=value)");
    return INVRG_ERR_INPUT;
  }
  if (n_files > 1 || (!needs_file && n_files > 0)) {
    snprintf(why, why_len, needs_file ? "give exactly one input file, got %d"
                                      : "this option takes no input file (got %d)",
             n_files);
    return INVRG_ERR_INPUT;
  }
  return INVRG_SUCCESS;
}

bool invrg_cli_needs_mpi(const invrg_cli *cli) {
  return cli->action == INVRG_ACTION_RUN || cli->action == INVRG_ACTION_CHECK;
}

void invrg_cli_print_help(void) {
  printf(
      "invrg %s: dreaming up critical 2D Ising configurations by inverse renormalization group\n"
      "\n"
      "usage: mpirun -n <ranks> invrg [options] input.nml [--set group.key=value ...]\n"
      "\n"
      "options:\n"
      "  -h, --help                 print this help and exit\n"
      "  -V, --version              print version, git hash and libraries, and exit\n"
      "      --set group.key=value  override one key of input.nml (after the file; repeat for\n"
      "                             more keys, each once), e.g. --set mc.L=64 --set run.seed=3;\n"
      "                             values as in the file (arrays: --set mc.L=16,32), strings\n"
      "                             with or without quotes; checked like the file, recorded in\n"
      "                             the run file (/config/overrides) and marked in the log\n"
      "      --check                find every error of input.nml that can be known before\n"
      "                             computing (all at once), write nothing, and exit\n"
      "      --ranks N              with --check: check the layout of a run on N ranks, on\n"
      "                             one process (e.g. on a login node, without mpirun)\n"
      "      --print-default-input  print every key with its default and description,\n"
      "                             as a namelist that invrg reads back\n"
      "      --print-input-reference  print the input keys as a Markdown table\n"
      "      --print-schema         print the run file's schema (every group, dataset and\n"
      "                             attribute, with units and description) as JSON\n"
      "  --                         end of the options: every argument after it is a file name,\n"
      "                             e.g. invrg -- -in.nml for a file that starts with '-'\n"
      "\n"
      "exit status:\n"
      "  0  success\n"
      "  1  failure (MPI, HDF5, disk, memory, internal error)\n"
      "  2  input or usage error (nothing was written)\n"
      "  3  stopped early after writing a checkpoint; run again to continue\n",
      INVRG_VERSION);
}

void invrg_cli_print_version(const char *hdf5_version) {
  char mpi_version[MPI_MAX_LIBRARY_VERSION_STRING] = "";
  int len = 0;
  MPI_Get_library_version(mpi_version, &len);
  mpi_version[strcspn(mpi_version, "\n")] = '\0';
  printf("invrg %s (git %s, %s build, %s)\n", INVRG_VERSION, INVRG_GIT_HASH, INVRG_BUILD_TYPE,
         INVRG_COMPILER);
  printf("MPI: %s\nHDF5: %s (parallel)\nFFTW: %s\n", mpi_version, hdf5_version, fftw_version);
}
