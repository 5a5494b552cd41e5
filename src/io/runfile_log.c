/* The clock and the log of a run: stage times and the total wall time across restarts, carried
 * through checkpoints, and rank 0's log kept in /run (runfile.h). */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/h5util.h"
#include "invrg/log.h"
#include "invrg/runfile.h"

void invrg_runfile_stage_begin(invrg_runfile *rf, int index) {
  rf->stage = index;
  rf->stage_t0 = MPI_Wtime();
}

double invrg_runfile_stage_end(invrg_runfile *rf) {
  if (rf->stage < 0) return 0;
  const double seconds = MPI_Wtime() - rf->stage_t0;
  rf->stage_s[rf->stage] += seconds;
  rf->stage = -1;
  return seconds;
}

void invrg_runfile_times(const invrg_runfile *rf, double *this_run, double *all_runs,
                         double *stage_s) {
  const double now = MPI_Wtime();
  *this_run = now - rf->t_start;
  *all_runs = rf->earlier_s + *this_run;
  for (int i = 0; i < rf->n_stages; i++)
    stage_s[i] = rf->stage_s[i] + (i == rf->stage ? now - rf->stage_t0 : 0);
}

/* Rank 0's times, the same on every rank: [all runs, stage 0, stage 1, …]. */
static invrg_err agreed_times(const invrg_runfile *rf, double *times) {
  invrg_err err = INVRG_SUCCESS;
  double this_run;
  invrg_runfile_times(rf, &this_run, &times[0], times + 1);
  INVRG_MPI_CALL(MPI_Bcast(times, 1 + rf->n_stages, MPI_DOUBLE, 0, rf->comm));
cleanup:
  return err;
}

/* Rank 0's log, sent to every rank (parallel HDF5 writes the same fixed-length text from
 * all). The caller frees *text. */
static invrg_err agreed_log(MPI_Comm comm, char **text) {
  invrg_err err = INVRG_SUCCESS;
  int rank;
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  const char *mine = invrg_log_text();
  uint64_t n = rank == 0 ? strlen(mine) : 0;
  INVRG_MPI_CALL(MPI_Bcast(&n, 1, MPI_UINT64_T, 0, comm));
  *text = malloc(n + 1);
  INVRG_CHECK_ALLOC(*text);
  if (rank == 0) memcpy(*text, mine, n);
  (*text)[n] = '\0';
  for (uint64_t first = 0; first < n; first += INT_MAX) {
    const uint64_t count = n - first < INT_MAX ? n - first : INT_MAX;
    INVRG_MPI_CALL(MPI_Bcast(*text + first, (int)count, MPI_CHAR, 0, comm));
  }
cleanup:
  return err;
}

invrg_err invrg_runfile_save_times(const invrg_runfile *rf, hid_t checkpoint_root) {
  invrg_err err = INVRG_SUCCESS;
  double times[1 + INVRG_MAX_STAGES];
  char *text = NULL;
  INVRG_CALL(agreed_times(rf, times));
  INVRG_CALL(invrg_h5_attr_double(checkpoint_root, "walltime_s", times, 1, true));
  if (rf->n_stages > 0)
    INVRG_CALL(invrg_h5_attr_double(checkpoint_root, "stage_seconds", times + 1, rf->n_stages,
                                    false));
  INVRG_CALL(agreed_log(rf->comm, &text));
  INVRG_CALL(invrg_h5_dataset_string(checkpoint_root, "log", text));
cleanup:
  free(text);
  return err;
}

/* Reads the text dataset @p name under @p loc into *text (the caller frees it). */
static invrg_err read_text(hid_t loc, const char *name, char **text) {
  invrg_err err = INVRG_SUCCESS;
  hid_t d = -1, type = -1;
  INVRG_H5_CALL(d = H5Dopen2(loc, name, H5P_DEFAULT), name);
  INVRG_H5_CALL(type = H5Dget_type(d), name);
  INVRG_CHECK(H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) == 0,
              INVRG_ERR_RUNTIME, "'%s' is not a fixed-length string", name);
  const size_t n = H5Tget_size(type);
  *text = calloc(n + 1, 1);
  INVRG_CHECK_ALLOC(*text);
  INVRG_H5_CALL(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *text), name);
cleanup:
  invrg_h5_close(&type);
  invrg_h5_close(&d);
  return err;
}

invrg_err invrg_runfile_load_times(invrg_runfile *rf, hid_t file) {
  invrg_err err = INVRG_SUCCESS;
  hid_t root = -1, a = -1;
  char *text = NULL;
  double times[1 + INVRG_MAX_STAGES] = {0};
  INVRG_H5_CALL(root = H5Gopen2(file, "checkpoint", H5P_DEFAULT), "/checkpoint");
  /* A checkpoint of a build before these were kept has neither: its runs count as zero. */
  bool has_walltime = false, has_stages = false;
  INVRG_CALL(invrg_h5_attr_exists(root, "walltime_s", &has_walltime));
  INVRG_CALL(invrg_h5_attr_exists(root, "stage_seconds", &has_stages));
  if (has_walltime) {
    INVRG_H5_CALL(a = H5Aopen(root, "walltime_s", H5P_DEFAULT), "walltime_s");
    INVRG_H5_CALL(H5Aread(a, H5T_NATIVE_DOUBLE, &times[0]), "walltime_s");
    invrg_h5_close(&a);
  }
  if (has_stages) {
    INVRG_H5_CALL(a = H5Aopen(root, "stage_seconds", H5P_DEFAULT), "stage_seconds");
    INVRG_CHECK(H5Aget_storage_size(a) == (hsize_t)rf->n_stages * sizeof(double),
                INVRG_ERR_RUNTIME, "/checkpoint stage_seconds does not have %d values",
                rf->n_stages);
    INVRG_H5_CALL(H5Aread(a, H5T_NATIVE_DOUBLE, times + 1), "stage_seconds");
  }
  rf->earlier_s = times[0];
  for (int i = 0; i < rf->n_stages; i++) rf->stage_s[i] = times[1 + i];
  if (H5Lexists(root, "log", H5P_DEFAULT) > 0) {
    INVRG_CALL(read_text(root, "log", &text));
    INVRG_CHECK(invrg_log_prepend(text), INVRG_ERR_RUNTIME, "out of memory for the log");
  }
cleanup:
  free(text);
  invrg_h5_close(&a);
  invrg_h5_close(&root);
  return err;
}

invrg_err invrg_runfile_write_log(invrg_runfile *rf) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1;
  double times[1 + INVRG_MAX_STAGES];
  char *text = NULL;
  INVRG_CALL(agreed_times(rf, times));
  INVRG_CALL(agreed_log(rf->comm, &text));
  INVRG_H5_CALL(g = H5Gopen2(rf->file, "run", H5P_DEFAULT), "open /run");
  INVRG_CALL(invrg_h5_attr_double(g, "walltime_total_s", times, 1, true));
  if (rf->n_stages > 0)
    INVRG_CALL(invrg_h5_attr_double(g, "stage_seconds", times + 1, rf->n_stages, false));
  INVRG_CALL(invrg_h5_dataset_string(g, "log", text));
cleanup:
  free(text);
  invrg_h5_close(&g);
  return err;
}
