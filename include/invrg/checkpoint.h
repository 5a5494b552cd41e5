/**
 * @file checkpoint.h
 * Checkpoints: the state of a run saved at a safe point so that a later run
 * of the same input continues it, bit-identically, on any number of ranks.
 *
 * What a checkpoint is
 * --------------------
 * `<output>.ckpt` is a copy of the run file as written so far (`<output>.tmp`,
 * flushed) plus a group /checkpoint with the input's fingerprint, the stage in
 * progress and that stage's state under /checkpoint/<stage> (chain lattices,
 * accumulators, optimiser moments, …; each stage documents its own). States
 * are stored per item (chain, replica, sample), never per rank, and
 * accumulators as exact totals, so the run that resumes may use another
 * number of ranks or groups. A checkpoint is written collectively to
 * `<output>.ckpt.tmp`, closed, synced and renamed into place; the one before
 * is kept as `<output>.ckpt.prev` (&checkpoint keep_previous). A killed run
 * therefore always leaves a complete checkpoint, or none.
 *
 * When
 * ----
 * World rank 0 decides; the others learn it from a non-blocking broadcast
 * they test at their safe points (the ranks of a group agree on the sample at
 * which they stop with one broadcast in the group). Triggers: &checkpoint
 * interval_minutes (write and go on), max_walltime_minutes, the stop file,
 * SIGTERM or SIGUSR1 (write and stop; the signal handler only sets a flag).
 * For tests, INVRG_TEST_STOP_AFTER_POLLS=n stops at rank 0's n-th safe point
 * and INVRG_TEST_CHECKPOINT_EVERY_POLLS=n writes (and goes on) at every n-th;
 * INVRG_TEST_FAIL_AFTER_POLLS=n with INVRG_TEST_FAIL_RANK=r makes rank r fail
 * with a runtime error at its n-th safe point (the path of a rank that dies).
 *
 * Resuming
 * --------
 * `invrg input.nml` with a checkpoint `<output>.ckpt` present resumes from it:
 * the input must agree with the checkpoint's in every key that changes the
 * results (all but &checkpoint, &parallel, &run title and log_level, &output
 * overwrite), otherwise an input error names the first key that differs.
 * Stages finished before the checkpoint are not run again; the stage in
 * progress continues from its state. After a successful run the checkpoint
 * files are removed.
 *
 * Use in a stage (the communicator of each collective call in brackets)
 * ---
 *     hid_t state = invrg_checkpoint_state(ck);       // resuming this stage? (not collective)
 *     for each safe point (e.g. after each sample):
 *       invrg_checkpoint_poll(ck, group_comm, &d);    [group_comm]
 *       if (d) { write_state(ck, d): invrg_checkpoint_begin → write under the group → end
 *                (which returns INVRG_STOPPED if the run stops now) }  [world]
 *     at the end of the work loop, until it says NONE:
 *       invrg_checkpoint_sync(ck, &d); if (d) write_state(ck, d) …      [world]
 */
#ifndef INVRG_CHECKPOINT_H
#define INVRG_CHECKPOINT_H

#include <hdf5.h>
#include <mpi.h>
#include <stdbool.h>

#include "invrg/config.h"
#include "invrg/error.h"
#include "invrg/runfile.h"

/** What rank 0 decided at a safe point. */
typedef enum {
  INVRG_CKPT_NONE = 0,     /**< no checkpoint now */
  INVRG_CKPT_CONTINUE = 1, /**< write a checkpoint and go on */
  INVRG_CKPT_STOP = 2      /**< write a checkpoint and stop (exit status 3) */
} invrg_ckpt_decision;

typedef struct invrg_checkpoint invrg_checkpoint;

/**
 * Starts the clock of the triggers, installs the SIGTERM/SIGUSR1 handlers and
 * looks for `<output>.ckpt`; if there is one, opens it (read-only) and checks
 * it against @p cfg: input error (naming the key) if the input changed in a
 * way that matters, runtime error if the file is unreadable. Collective on
 * @p world. Free with invrg_checkpoint_destroy().
 */
invrg_err invrg_checkpoint_create(const invrg_config *cfg, MPI_Comm world, invrg_checkpoint **out);

/**
 * For --check: the checks invrg_checkpoint_create() makes of the checkpoint the run would
 * continue (the input against it, its state), with no file changed, no handler installed, and
 * a line in the log when there is one. Collective on @p world.
 */
invrg_err invrg_checkpoint_check(const invrg_config *cfg, MPI_Comm world);

/** Closes what is open; sets *ck to NULL; accepts NULL. Not collective. */
void invrg_checkpoint_destroy(invrg_checkpoint **ck);

/** True if this run continues a checkpoint. Not collective. */
bool invrg_checkpoint_resuming(const invrg_checkpoint *ck);

/** The checkpoint file this run resumes from (valid when resuming). */
const char *invrg_checkpoint_source_path(const invrg_checkpoint *ck);

/** How many runs before this one wrote the checkpoint chain (0 for a fresh run). */
int invrg_checkpoint_restarts(const invrg_checkpoint *ck);

/** How many of &run stages were complete when the checkpoint was written (0 if fresh). */
int invrg_checkpoint_stages_done(const invrg_checkpoint *ck);

/**
 * Tells the checkpoint which stage (index in &run stages, name) runs now and the
 * run file it writes. Not collective.
 */
void invrg_checkpoint_enter_stage(invrg_checkpoint *ck, int index, const char *name,
                                  invrg_runfile *rf);

/**
 * The saved state of the current stage (/checkpoint/<stage> in the resume
 * source), or -1 if this stage starts afresh. Owned by @p ck. Not collective.
 */
hid_t invrg_checkpoint_state(const invrg_checkpoint *ck);

/**
 * A safe point inside a work loop: tests (without blocking) whether rank 0
 * decided to checkpoint; the ranks of @p group_comm agree on the answer.
 * When *d is not NONE, every rank of the world must write a checkpoint next
 * (from its own safe point or from invrg_checkpoint_sync()). Collective on
 * @p group_comm (nothing when it has one rank).
 */
invrg_err invrg_checkpoint_poll(invrg_checkpoint *ck, MPI_Comm group_comm, invrg_ckpt_decision *d);

/**
 * The end of a work loop: waits for rank 0's decision (rank 0 decides now if
 * it had not). Call it again after writing a checkpoint it asked for, until
 * it returns NONE. Collective on the world.
 */
invrg_err invrg_checkpoint_sync(invrg_checkpoint *ck, invrg_ckpt_decision *d);

/**
 * Starts a checkpoint: flushes the run file, copies it to `<output>.ckpt.tmp`
 * and creates /checkpoint/<stage> there (returned in @p state, to be filled
 * collectively by the stage). Collective on the world.
 */
invrg_err invrg_checkpoint_begin(invrg_checkpoint *ck, hid_t *state);

/**
 * Completes it: closes the file, syncs it and renames it into place (keeping
 * the previous one if asked). Returns INVRG_STOPPED when @p d is STOP and the
 * run stops now: not when it resumed and no rank has done anything since (it
 * would stop where it started, for ever); then the end of the loop every rank
 * waits at ends. Collective on the world.
 */
invrg_err invrg_checkpoint_end(invrg_checkpoint *ck, hid_t *state, invrg_ckpt_decision d);

/** Deletes a checkpoint being written (this rank, no HDF5 calls): before MPI_Abort. Accepts NULL. */
void invrg_checkpoint_discard(const invrg_checkpoint *ck);

/**
 * After a successful run: removes `<output>.ckpt` and `.prev`, and the stop file if it
 * appeared after the last safe point (the run it asked to stop is over; left, it would stop the
 * next run at once). Collective on the world.
 */
invrg_err invrg_checkpoint_remove(invrg_checkpoint *ck);

#endif
