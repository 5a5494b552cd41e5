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
 * rank reads its rows. Independent I/O; the caller exchanges the halos.
 */
invrg_err invrg_seed_configs_read(const invrg_seed_configs *s, int64_t index, invrg_packed *p);

/** Closes what open opened; accepts a zeroed or closed struct. */
void invrg_seed_configs_close(invrg_seed_configs *s);

#endif
