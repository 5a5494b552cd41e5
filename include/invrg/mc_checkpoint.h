/**
 * @file mc_checkpoint.h
 * The state of stage mc in a checkpoint: /checkpoint/mc of `<output>.ckpt` (checkpoint.h),
 * written from and read into plain arrays.
 *
 * Layout (kept as it is, so that older checkpoints stay readable):
 *
 *     attribute size_index  int64    the size (index into &mc L) in progress; the sizes
 *                                    before it are complete and in the run file
 *     done       [n_chains] int64    samples measured by each chain: −1 not started,
 *                                    n_samples complete
 *     records    [n_chains][len] f64 each started chain's record row (mc_record.h); a chain
 *                                    in progress: its block means so far
 *     lattices   [slots][L][L] int8  the spins of the chains in progress, in chain order
 *                                    (one unused slot if there are none)
 *     updater    [slots][4] int64    their updater: sweeps; Wolff: clusters, spins flipped,
 *                                    clusters per sweep
 *     fss_sizes  [(size_index + 1)·n_chains·B] int64,
 *     fss_means  [(size_index + 1)·n_chains·B·INVRG_N_PRIMARY] f64
 *                                    block sizes and means of the sizes so far (FSS inputs)
 *     mcrg_*, corr_*                 the exact totals of MCRG and correlations (mcrg_io.h,
 *                                    corr_io.h), when they are measured
 *
 * The series and configurations measured so far are in the run file, written before the copy.
 * States are per chain, never per rank: a checkpoint resumes on any layout.
 */
#ifndef INVRG_MC_CHECKPOINT_H
#define INVRG_MC_CHECKPOINT_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "invrg/checkpoint.h"
#include "invrg/correlation.h"
#include "invrg/error.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/mcrg.h"

/** Fields of an updater's state: sweeps, clusters, spins flipped, clusters per sweep. */
enum { INVRG_MC_UPDATER_FIELDS = 4 };

/** The chains of one size as this group holds them: local chain k is the group's k-th item. */
typedef struct {
  int64_t n_chains;     /**< chains of the size (&mc n_chains) */
  int64_t n_samples;    /**< samples of a complete chain */
  size_t record_length; /**< doubles in a record row (invrg_mc_record_length) */
  int64_t n_mine;       /**< this group's chains */
  int64_t *done;        /**< [n_mine]: samples measured, −1 not started, n_samples complete */
  double *records;      /**< [n_mine][record_length]: record rows (invrg_mc_record_pack) */
  /** [n_mine]: for a chain in progress, this rank's block of its spins (int8, as
   * invrg_configs_copy_block() makes it); NULL for the others. */
  uint8_t **spins;
  int64_t (*updater)[INVRG_MC_UPDATER_FIELDS]; /**< [n_mine]: chains in progress */
} invrg_mc_chains_state;

/** What stage mc carries from size to size. */
typedef struct {
  int size_index;          /**< the size in progress (index into &mc L) */
  size_t blocks_per_size;  /**< jackknife blocks of a size: n_chains·B */
  double *fss_means; /**< [n_L·blocks_per_size][INVRG_N_PRIMARY], significant on world rank 0 */
  int64_t *fss_sizes;      /**< [n_L·blocks_per_size], significant on world rank 0 */
  invrg_mcrg *mcrg;        /**< MCRG of the size in progress, or NULL */
  invrg_corr *corr;        /**< correlations of all sizes, or NULL */
} invrg_mc_sizes_state;

/**
 * Writes a checkpoint of stage mc (invrg_checkpoint_begin … _end with decision @p d): the
 * chains @p chains of this group, whose spins are blocks of lattices like @p lat, and
 * @p sizes. World rank 0's fss arrays are written. Returns INVRG_STOPPED if the run stops
 * now (invrg_checkpoint_end). Collective on g->world.
 */
invrg_err invrg_mc_checkpoint_save(invrg_checkpoint *ck, invrg_ckpt_decision d,
                                   const invrg_groups *g, const invrg_lattice *lat,
                                   const invrg_mc_chains_state *chains,
                                   const invrg_mc_sizes_state *sizes);

/**
 * Reads @p state (/checkpoint/mc) into @p sizes: size_index (runtime error if not below
 * @p n_L), the fss arrays of the sizes up to it, and the correlation totals added to
 * sizes->corr if not NULL (sizes->mcrg is not read: invrg_mc_checkpoint_read_chains()).
 * Collective on the file's communicator.
 */
invrg_err invrg_mc_checkpoint_read_sizes(hid_t state, int n_L, invrg_mc_sizes_state *sizes);

/**
 * Reads this group's chains of the size in progress from @p state into @p chains (done,
 * records; spins and updater of chains in progress, spins allocated here with malloc, the
 * caller's to free), lattices like @p lat; adds the MCRG totals to @p mcrg if not NULL.
 * chains->done of chains the checkpoint has not started are left as they are. Collective
 * on the file's communicator.
 */
invrg_err invrg_mc_checkpoint_read_chains(hid_t state, const invrg_groups *g,
                                          const invrg_lattice *lat, invrg_mc_chains_state *chains,
                                          invrg_mcrg *mcrg);

/**
 * Checks the state @p state (/checkpoint/mc) of the checkpoint @p path before a run continues
 * from it: its counters (size_index, done) against the input @p cfg, the shapes of its datasets
 * against them, and its parked lattices for values that are not spins. A checkpoint edited or
 * damaged by hand would otherwise resume with such values, or fail deep in stage mc with
 * HDF5's words. Input error at &run output naming the file and the dataset. Collective on
 * @p world (world rank 0 reads the lattices).
 */
invrg_err invrg_mc_checkpoint_check(hid_t state, const invrg_config *cfg, const char *path,
                                    MPI_Comm world);

#endif
