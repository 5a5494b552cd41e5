/**
 * @file seed_configs_io.h
 * Seeds of refined dreams (&dream start = 'mc'): saved Monte Carlo configurations of side
 * start_L, /mc/L<start_L>/configs of this run's file or of &dream start_file, read one at a
 * time into a packed lattice. Sample j of the dream starts from configuration j.
 */
#ifndef INVRG_SEED_CONFIGS_IO_H
#define INVRG_SEED_CONFIGS_IO_H

#include <hdf5.h>
#include <stdbool.h>
#include <stdint.h>

#include "invrg/config.h"
#include "invrg/configs_io.h"
#include "invrg/error.h"
#include "invrg/packed.h"

typedef struct {
  hid_t file;          /**< start_file, opened read-only by this rank; −1: the run file */
  hid_t dset;          /**< /mc/L<L>/configs */
  bool packed_format;  /**< stored 8 spins per byte */
  int64_t n, L;        /**< configurations, their side */
  /** τ_int of E and |m| of the seeds' series in samples (/mc/L<L> energy_tau_int,
   *  abs_m_tau_int; NaN if the file has none): about 0.5 when they are independent */
  double tau_energy, tau_abs_m;
  /** the first value read that is not a spin (made +1): invrg_seed_configs_agree() */
  invrg_non_spin bad;
} invrg_seed_configs;

/**
 * The number of seed configurations the run will have, before any work: this run's stage mc
 * (n_chains × n_samples of &mc L = start_L, saved), or start_file's dataset. Input errors name
 * &dream start_file or start_L. Not collective (every rank reads start_file alone).
 */
invrg_err invrg_seed_configs_count(const invrg_config *cfg, int64_t *n);

/** Opens the seeds: in @p run_file (this run's, written by stage mc) or start_file. */
invrg_err invrg_seed_configs_open(const invrg_config *cfg, hid_t run_file,
                                  invrg_seed_configs *out);

/**
 * Configuration @p index into the interior rows of @p p (side L, whole or split by rows): each
 * rank reads its rows. Independent I/O; the caller exchanges the halos. Values of an int8 file
 * that are not spins are read as +1 and noted (invrg_seed_configs_agree()).
 */
invrg_err invrg_seed_configs_read(invrg_seed_configs *s, int64_t index, invrg_packed *p);

/**
 * Input error on every rank of @p comm (naming &dream start_file, or a runtime error for this
 * run's own file) if any rank read a value that is not a spin since the last call; the lowest
 * configuration's first is named. Collective on @p comm.
 */
invrg_err invrg_seed_configs_agree(const invrg_config *cfg, invrg_seed_configs *s, MPI_Comm comm);

/** Closes what open opened; accepts a zeroed or closed struct. */
void invrg_seed_configs_close(invrg_seed_configs *s);

#endif
