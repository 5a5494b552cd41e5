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

static int failures = 0;
static int rank = 0;

#define CHECK(cond, ...)                                  \
  do {                                                    \
    if (!(cond)) {                                        \
      fprintf(stderr, "[rank %d] FAIL %s:%d: ", rank, __FILE__, __LINE__); \
      fprintf(stderr, __VA_ARGS__);                       \
      fputc('\n', stderr);                                \
      failures++;                                         \
    }                                                     \
  } while (0)

static void write_file(const char *path, const char *text) {
  if (rank == 0) {
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
  CHECK(memcmp(root, cfg, n) == 0, "configuration differs from rank 0's");
  free(root);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  invrg_log_init(rank);
  invrg_log_set_level(INVRG_LOG_ERROR);
  invrg_h5_init();

  char dir[64] = "/tmp/invrg_cfg_XXXXXX";
  if (rank == 0 && mkdtemp(dir) == NULL) MPI_Abort(MPI_COMM_WORLD, 1);
  MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
  char good[128], bad[128], out[128], tmp[140];
  snprintf(good, sizeof good, "%s/good.nml", dir);
  snprintf(bad, sizeof bad, "%s/bad.nml", dir);
  snprintf(out, sizeof out, "%s/out.h5", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", out);

  /* A valid file: every rank gets rank 0's values, text and key positions. */
  char text[512];
  snprintf(text, sizeof text,
           "&run\n  seed = 987654321012\n  output = '%s'\n  title = 'mpi'\n  stages =\n/\n"
           "&parallel grid = 1, %d /\n",
           out, size);
  write_file(good, text);
  invrg_config cfg;
  invrg_err err = invrg_config_load(good, MPI_COMM_WORLD, &cfg);
  CHECK(err == INVRG_SUCCESS, "loading a valid file failed: %s", invrg_error_message());
  CHECK(cfg.run.seed == 987654321012LL, "seed %lld", (long long)cfg.run.seed);
  CHECK(cfg.parallel.grid[1] == size, "grid[1] = %lld", (long long)cfg.parallel.grid[1]);
  CHECK(strcmp(cfg.input_text, text) == 0, "input text not broadcast");
  CHECK(cfg.key_pos[1].line == 2, "position of seed not broadcast (line %d)", cfg.key_pos[1].line);
  check_identical_everywhere(&cfg);

  /* The run file: written collectively, visible under its name only when finished. */
  invrg_run_layout layout = {size, 1, {1, size}};
  invrg_runfile *rf = NULL;
  err = invrg_runfile_create(&cfg, &layout, MPI_COMM_WORLD, &rf);
  CHECK(err == INVRG_SUCCESS, "runfile create: %s", invrg_error_message());
  CHECK(access(tmp, F_OK) == 0 && access(out, F_OK) != 0, "while open only the .tmp exists");
  err = invrg_runfile_finish(&rf, INVRG_SUCCESS);
  CHECK(err == INVRG_SUCCESS && rf == NULL, "runfile finish: %s", invrg_error_message());
  CHECK(access(out, F_OK) == 0 && access(tmp, F_OK) != 0, "finished file renamed into place");

  /* A failed run removes its partial file and leaves no output. */
  snprintf(text, sizeof text, "&run output = '%s/failed.h5' stages = / \n", dir);
  write_file(good, text);
  invrg_config_free(&cfg);
  CHECK(invrg_config_load(good, MPI_COMM_WORLD, &cfg) == INVRG_SUCCESS, "reload");
  err = invrg_runfile_create(&cfg, &layout, MPI_COMM_WORLD, &rf);
  CHECK(err == INVRG_SUCCESS, "runfile create: %s", invrg_error_message());
  invrg_err local = rank == size - 1 ? INVRG_ERR_RUNTIME : INVRG_SUCCESS; /* one rank fails */
  err = invrg_runfile_finish(&rf, invrg_error_agree(local, MPI_COMM_WORLD));
  CHECK(err == INVRG_ERR_RUNTIME, "a failed run reports failure on every rank");
  snprintf(text, sizeof text, "%s/failed.h5", dir);
  CHECK(access(text, F_OK) != 0, "no output after failure");
  strcat(text, ".tmp");
  CHECK(access(text, F_OK) != 0, "no .tmp after failure");
  invrg_config_free(&cfg);

  /* A bad file: every rank returns the input error, not only rank 0. */
  write_file(bad, "&run seed = -1 /\n");
  err = invrg_config_load(bad, MPI_COMM_WORLD, &cfg);
  CHECK(err == INVRG_ERR_INPUT, "bad file gives an input error on every rank (got %d)", err);
  invrg_config_free(&cfg);

  /* A missing file is an input error on every rank too. */
  err = invrg_config_load("/nonexistent/input.nml", MPI_COMM_WORLD, &cfg);
  CHECK(err == INVRG_ERR_INPUT, "missing file gives an input error (got %d)", err);
  invrg_config_free(&cfg);

  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    unlink(out);
    unlink(good);
    unlink(bad);
    rmdir(dir);
  }
  int total = 0;
  MPI_Allreduce(&failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) printf("%s: %d failure(s) on %d ranks\n", argv[0], total, size);
  MPI_Finalize();
  return total == 0 ? 0 : 1;
}
