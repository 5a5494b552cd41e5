/**
 * @file runfile.h
 * The HDF5 run file (docs/runfile.md): created at the start of a run, filled by the
 * stages, and renamed into place only when the run completes.
 *
 * The file is written as `<output>.tmp` with parallel HDF5 by every rank of
 * the communicator; invrg_runfile_finish() renames it to `<output>` on
 * success and deletes it on failure, so a file named `<output>` is always
 * complete. All functions are collective on the communicator given at creation.
 */
#ifndef INVRG_RUNFILE_H
#define INVRG_RUNFILE_H

#include <hdf5.h>
#include <stdbool.h>
#include <mpi.h>

#include "invrg/config.h"
#include "invrg/error.h"

/** Version of the file layout; readers refuse another major version. */
#define INVRG_FORMAT_VERSION_MAJOR 1
#define INVRG_FORMAT_VERSION_MINOR 1

/** How the ranks of the run are organised, for /run: the groups of each stage of &run stages. */
typedef struct {
  int nranks;
  int n_stages;
  int ranks_per_group[INVRG_MAX_STAGES];
  int grid[INVRG_MAX_STAGES][2]; /**< px, py */
} invrg_run_layout;

typedef struct {
  hid_t file;                            /**< the open file; stages write under it */
  MPI_Comm comm;
  double t_start;
  char path[INVRG_PATH_LEN];             /**< final name */
  char tmp_path[INVRG_PATH_LEN + 8];     /**< name while being written */
  bool overwrite;                        /**< &output overwrite: may replace a file at path */
  /* The clock of the run (runfile_log.c), on every rank; world rank 0's is written. */
  int n_stages;                          /**< stages of &run stages */
  double earlier_s;                      /**< wall time of the runs before this one */
  double stage_s[INVRG_MAX_STAGES];      /**< wall seconds of each stage, all runs so far */
  int stage;                             /**< the stage running now, or -1 */
  double stage_t0;                       /**< when it started (MPI_Wtime) */
} invrg_runfile;

/**
 * Checks, before any work, that the output can be written: it must not exist
 * unless &output overwrite is set, no other run may hold its lock
 * (output_lock.h), and its directory must exist and take a new file. Each
 * problem is an input error about &run output (all of them reported). Leaves
 * nothing behind. Collective on @p comm; every rank returns the same code.
 */
invrg_err invrg_runfile_check_output(const invrg_config *cfg, MPI_Comm comm);

/**
 * Creates `<output>.tmp` and writes /, /code, /run and /config.
 * Collective on @p comm. Free with invrg_runfile_finish(). On a runtime
 * failure *out is still set: after a failed write (a full disk) the ranks of
 * parallel HDF5 may disagree inside H5Fclose and hang, so the caller aborts
 * the run (invrg_runfile_discard(), MPI_Abort) rather than finishing it.
 */
invrg_err invrg_runfile_create(const invrg_config *cfg, const invrg_run_layout *layout,
                               MPI_Comm comm, invrg_runfile **out);

/**
 * Continues a run from the checkpoint file @p checkpoint (checkpoint.h): copies
 * it to `<output>.tmp`, removes the saved state from the copy and records the
 * new layout and the number of @p restarts in /run. Collective on @p comm.
 */
invrg_err invrg_runfile_resume(const invrg_config *cfg, const invrg_run_layout *layout,
                               const char *checkpoint, int restarts, MPI_Comm comm,
                               invrg_runfile **out);

/**
 * Deletes the lock files Open MPI's MPI-IO keeps next to `<output>.tmp`,
 * `<output>.ckpt` and `<output>.ckpt.tmp` ("<file>-<id>.lock", see main.c),
 * which a run that is aborted or killed leaves behind. Not collective.
 */
void invrg_runfile_remove_locks(const char *output);

/** Deletes `<output>.tmp` (this rank, no HDF5 calls): before MPI_Abort. Accepts NULL. */
void invrg_runfile_discard(invrg_runfile *rf);

/* ---- the clock and the log of the run (runfile_log.c) */

/** Starts the clock of stage @p index of &run stages. Not collective. */
void invrg_runfile_stage_begin(invrg_runfile *rf, int index);

/** Stops the clock of the running stage; returns its seconds in this run. Not collective. */
double invrg_runfile_stage_end(invrg_runfile *rf);

/**
 * The wall time so far, on this rank's clock: of this run (*@p this_run, since the run file
 * was created or resumed), of all runs of this output (*@p all_runs: the runs before this
 * one up to their last checkpoint, and this one), and of each stage in all runs
 * (@p stage_s[n_stages], the running stage included). Not collective.
 */
void invrg_runfile_times(const invrg_runfile *rf, double *this_run, double *all_runs,
                         double *stage_s);

/**
 * Saves the clock (attributes walltime_s, stage_seconds) and the log so far (dataset log)
 * under @p checkpoint_root, the /checkpoint group of a checkpoint being written, for the run
 * that continues from it. World rank 0's values. Collective on the run file's communicator.
 */
invrg_err invrg_runfile_save_times(const invrg_runfile *rf, hid_t checkpoint_root);

/**
 * Takes the clock and the log of the earlier runs from the /checkpoint group of @p file (a
 * run file being resumed): absent ones count as zero. Collective.
 */
invrg_err invrg_runfile_load_times(invrg_runfile *rf, hid_t file);

/**
 * Writes /run/walltime_total_s, /run/stage_seconds and /run/log (rank 0's log of all runs,
 * log.h) at the end of a run, before invrg_runfile_finish(). World rank 0's values.
 * Collective.
 */
invrg_err invrg_runfile_write_log(invrg_runfile *rf);

/**
 * Records @p status and the wall time in /run, closes the file, and renames it
 * to its final name if @p status is success (deletes it otherwise: after a
 * checkpoint stop the checkpoint holds everything). Returns
 * @p status, or a runtime error if closing or renaming failed. Sets *rf to NULL;
 * accepts NULL. Collective.
 */
invrg_err invrg_runfile_finish(invrg_runfile **rf, invrg_err status);

/**
 * Makes a complete run file self-describing (io/runfile_annotate.c; called by
 * invrg_runfile_finish on success): `description` on every group and dataset and `units` on
 * every dataset of numbers, from the run file's schema; the axes r, k, L, L_min, operator and
 * level as HDF5 dimension scales; `columns` = (re, im) of the MCRG eigenvalues; a table
 * /summary/<source> per source with one group per size. Collective on @p comm.
 */
invrg_err invrg_runfile_annotate(hid_t file, MPI_Comm comm);

#endif
