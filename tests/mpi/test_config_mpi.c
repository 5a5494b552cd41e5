/* MPI test of input loading and the run file: rank 0 parses, every rank gets
 * the same configuration and the same error status; the run file is created
 * by all ranks and appears only when finished. Run on 1, 2 and 4 ranks. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "invrg/config.h"
#include "invrg/h5util.h"
#include "invrg/log.h"
#include "invrg/runfile.h"

#include "mpi/mpi_test.h"

static void write_file(const char *path, const char *text) {
  if (world_rank == 0) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

/* The configuration is the same on every rank: compare with rank 0's bytes. */
static void check_identical_everywhere(const invrg_config *cfg) {
  size_t n = offsetof(invrg_config, input_text);
  unsigned char *root = malloc(n);
  memcpy(root, cfg, n);
  MPI_Bcast(root, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
  EXPECT(memcmp(root, cfg, n) == 0, "configuration differs from rank 0's");
  free(root);
}

/* A valid file: every rank gets rank 0's values, text and key positions; the run file is
 * written collectively and visible under its name only when finished. */
static void test_valid_input(void) {
  char dir[128], good[160], out[160], tmp[170];
  mpi_test_tmpdir(dir, sizeof dir);
  snprintf(good, sizeof good, "%s/good.nml", dir);
  snprintf(out, sizeof out, "%s/out.h5", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", out);
  char text[512];
  snprintf(text, sizeof text,
           "&run\n  seed = 987654321012\n  output = '%s'\n  title = 'mpi'\n  stages =\n/\n"
           "&parallel grid = 1, %d /\n",
           out, world_size);
  write_file(good, text);
  invrg_config cfg;
  invrg_err err = invrg_config_load(good, MPI_COMM_WORLD, &cfg);
  EXPECT(err == INVRG_SUCCESS, "loading a valid file failed: %s", invrg_error_message());
  EXPECT_EQ(cfg.run.seed, 987654321012LL, "the seed");
  EXPECT_EQ(cfg.parallel.grid[1], world_size, "&parallel grid(2)");
  EXPECT(strcmp(cfg.input_text, text) == 0, "input text not broadcast");
  EXPECT_EQ(cfg.key_pos[1].line, 2, "position of seed not broadcast");
  check_identical_everywhere(&cfg);

  invrg_run_layout layout = {.nranks = world_size};
  invrg_runfile *rf = NULL;
  err = invrg_runfile_create(&cfg, &layout, MPI_COMM_WORLD, &rf);
  EXPECT(err == INVRG_SUCCESS, "runfile create: %s", invrg_error_message());
  EXPECT(access(tmp, F_OK) == 0 && access(out, F_OK) != 0, "while open only the .tmp exists");
  err = invrg_runfile_finish(&rf, INVRG_SUCCESS);
  EXPECT(err == INVRG_SUCCESS && rf == NULL, "runfile finish: %s", invrg_error_message());
  EXPECT(access(out, F_OK) == 0 && access(tmp, F_OK) != 0, "finished file renamed into place");
  invrg_config_free(&cfg);
  mpi_test_rmdir(dir);
}

/* A failed run removes its partial file and leaves no output. */
static void test_failed_run(void) {
  char dir[128], good[160], text[512];
  mpi_test_tmpdir(dir, sizeof dir);
  snprintf(good, sizeof good, "%s/good.nml", dir);
  snprintf(text, sizeof text, "&run output = '%s/failed.h5' stages = / \n", dir);
  write_file(good, text);
  invrg_config cfg;
  EXPECT(invrg_config_load(good, MPI_COMM_WORLD, &cfg) == INVRG_SUCCESS, "load: %s",
         invrg_error_message());
  invrg_run_layout layout = {.nranks = world_size};
  invrg_runfile *rf = NULL;
  invrg_err err = invrg_runfile_create(&cfg, &layout, MPI_COMM_WORLD, &rf);
  EXPECT(err == INVRG_SUCCESS, "runfile create: %s", invrg_error_message());
  /* one rank fails */
  invrg_err local = world_rank == world_size - 1 ? INVRG_ERR_RUNTIME : INVRG_SUCCESS;
  EXPECT_ERR(invrg_runfile_finish(&rf, invrg_error_agree(local, MPI_COMM_WORLD)),
             INVRG_ERR_RUNTIME, "a failed run reports failure on every rank");
  snprintf(text, sizeof text, "%s/failed.h5", dir);
  EXPECT(access(text, F_OK) != 0, "no output after failure");
  strcat(text, ".tmp");
  EXPECT(access(text, F_OK) != 0, "no .tmp after failure");
  invrg_config_free(&cfg);
  mpi_test_rmdir(dir);
}

/* A bad or missing file: every rank returns the input error, not only rank 0. */
static void test_bad_input(void) {
  char dir[128], bad[160];
  mpi_test_tmpdir(dir, sizeof dir);
  snprintf(bad, sizeof bad, "%s/bad.nml", dir);
  write_file(bad, "&run seed = -1 /\n");
  invrg_config cfg;
  EXPECT_ERR(invrg_config_load(bad, MPI_COMM_WORLD, &cfg), INVRG_ERR_INPUT,
             "a bad file gives an input error on every rank");
  invrg_config_free(&cfg);
  EXPECT_ERR(invrg_config_load("/nonexistent/input.nml", MPI_COMM_WORLD, &cfg), INVRG_ERR_INPUT,
             "a missing file gives an input error on every rank");
  invrg_config_free(&cfg);
  mpi_test_rmdir(dir);
}

/* Checks for test_refused_keys, each finding what its name says. */
static invrg_err finds_at_refused_key(const invrg_config *cfg, void *arg) {
  (void)arg;
  return invrg_config_input_error(cfg, "dream", "levels", "a finding at the refused key");
}

static invrg_err finds_whatever_levels_is(const invrg_config *cfg, void *arg) {
  (void)arg;
  return invrg_config_input_error(cfg, "dream", "measure_from", "a finding of another key");
}

static invrg_err finds_measure_from_above_levels(const invrg_config *cfg, void *arg) {
  (void)arg;
  if (cfg->dream.measure_from <= cfg->dream.levels) return INVRG_SUCCESS;
  return invrg_config_input_error(cfg, "dream", "measure_from", "measure_from = %lld is above "
                                  "levels = %lld", (long long)cfg->dream.measure_from,
                                  (long long)cfg->dream.levels);
}

/* A refused value (levels = 0) is held for the checks between keys; of their findings only
 * those at other keys that hold whatever value levels takes are kept, on every rank alike. */
static void test_refused_keys(void) {
  char dir[128], path[160];
  mpi_test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/refused.nml", dir);
  /* A first round without refused values reports a finding (and remembers it, so that a
   * second check finding it in the same round does not repeat it). */
  write_file(path, "&run stages = 'dream' /\n&dream levels = 10, measure_from = 9 /\n");
  invrg_config good;
  EXPECT(invrg_config_load_for_checks(path, NULL, 0, MPI_COMM_WORLD, &good) == INVRG_SUCCESS,
         "a valid file: %s", invrg_error_message());
  invrg_config_collect_diagnostics(true);
  EXPECT_ERR(invrg_config_check_around_refused(&good, finds_whatever_levels_is, NULL),
             INVRG_ERR_INPUT, "a finding is an input error");
  invrg_config_collect_diagnostics(false);
  EXPECT_EQ(invrg_config_input_errors(), world_rank == 0 ? 1 : 0, "the first round's finding");
  invrg_config_free(&good);
  write_file(path, "&run stages = 'dream' /\n&dream levels = 0, measure_from = 9 /\n");
  const struct {
    invrg_config_check_fn check;
    int errors; /* on rank 0: levels' own error and the findings kept */
    const char *what;
  } cases[] = {{finds_at_refused_key, 1, "a finding at the refused key is dropped"},
               {finds_whatever_levels_is, 2, "a finding that does not depend on it is kept (and "
                                             "that an earlier round reported too)"},
               {finds_measure_from_above_levels, 1, "a finding that depends on it is dropped"}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    invrg_config cfg;
    EXPECT(invrg_config_load_for_checks(path, NULL, 0, MPI_COMM_WORLD, &cfg) == INVRG_SUCCESS,
           "a refused value is held for the checks: %s", invrg_error_message());
    EXPECT_EQ(cfg.n_key_errors, 1, "the refused value's error, on every rank");
    EXPECT_EQ(cfg.dream.levels, 7, "the refused key keeps its default");
    invrg_config_collect_diagnostics(true);
    const invrg_err err = invrg_config_check_around_refused(&cfg, cases[c].check, NULL);
    invrg_config_collect_diagnostics(false);
    EXPECT_ERR(err, INVRG_ERR_INPUT, "the checks report the input's errors on every rank");
    EXPECT_EQ(invrg_config_input_errors(), world_rank == 0 ? cases[c].errors : 0, "%s",
              cases[c].what);
    invrg_config_free(&cfg);
  }
  /* A misspelt key is not a refused value: what it meant is unknown, the reading fails. */
  write_file(path, "&run stages = 'dream' /\n&dream levles = 5, measure_from = 9 /\n");
  invrg_config cfg;
  EXPECT_ERR(invrg_config_load_for_checks(path, NULL, 0, MPI_COMM_WORLD, &cfg), INVRG_ERR_INPUT,
             "an unknown key fails the reading on every rank");
  invrg_config_free(&cfg);
  mpi_test_rmdir(dir);
}

static const mpi_test_case cases[] = {
    {"valid_input", test_valid_input, true},
    {"failed_run", test_failed_run, true},
    {"bad_input", test_bad_input, true},
    {"refused_keys", test_refused_keys, true},
};

int main(int argc, char **argv) {
  invrg_log_set_level(INVRG_LOG_ERROR);
  return MPI_TEST_MAIN(argc, argv, cases);
}
