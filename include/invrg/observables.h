/**
 * @file observables.h
 * What is measured on one configuration, and the summary of an ensemble of
 * them (docs/physics.md §7, docs/runfile.md): textbook quantities and the paper's conventions.
 */
#ifndef INVRG_OBSERVABLES_H
#define INVRG_OBSERVABLES_H

#include <stdint.h>

#include "invrg/error.h"
#include "invrg/lattice.h"

/** Exact integer sums of one configuration. */
typedef struct {
  int64_t bonds;          /**< B = Σ_<ij> s_i s_j, each bond once; E = −B */
  int64_t magnetisation;  /**< M = Σ_i s_i */
  int64_t sites;          /**< N */
} invrg_config_sums;

/**
 * Sums of the configuration held by @p lat (halo of width ≥ 1 valid: each site
 * pairs with its right and lower neighbour). Collective on lat->comm.
 */
invrg_err invrg_observables_sums(const invrg_lattice *lat, invrg_config_sums *out);

/** Sums of a whole lx × ly row-major configuration (periodic). Not collective. */
void invrg_observables_sums_array(const int8_t *s, int64_t lx, int64_t ly, invrg_config_sums *out);

/**
 * The per-configuration quantities whose averages everything else is built
 * from, per spin: e = E/N, m = M/N, and e_p = 1 − E/(2N), the paper's
 * satisfied-bond density (satisfied bonds per site).
 */
enum {
  INVRG_PRIMARY_E,      /**< e */
  INVRG_PRIMARY_E2,     /**< e² */
  INVRG_PRIMARY_M,      /**< m (signed) */
  INVRG_PRIMARY_ABS_M,  /**< |m| */
  INVRG_PRIMARY_M2,     /**< m² */
  INVRG_PRIMARY_M4,     /**< m⁴ */
  INVRG_PRIMARY_EP,     /**< e_p */
  INVRG_PRIMARY_EP2,    /**< e_p² */
  INVRG_PRIMARY_EP_ABS_M, /**< e_p |m| */
  INVRG_N_PRIMARY
};

/** Fills the INVRG_N_PRIMARY primaries of one configuration. Not collective. */
void invrg_observables_primaries(const invrg_config_sums *s, double primaries[INVRG_N_PRIMARY]);

/** The observables of an ensemble summary, in the order of invrg_summary_names. */
enum {
  INVRG_OBS_ENERGY,        /**< ⟨e⟩ = E/N */
  INVRG_OBS_ABS_M,         /**< ⟨|m|⟩ */
  INVRG_OBS_M2,            /**< ⟨m²⟩ */
  INVRG_OBS_M4,            /**< ⟨m⁴⟩ */
  INVRG_OBS_CHI,           /**< χ = N(⟨m²⟩ − ⟨|m|⟩²) */
  INVRG_OBS_CHI_PRIME,     /**< χ' = N⟨m²⟩ */
  INVRG_OBS_SPECIFIC_HEAT, /**< C/N = K² N (⟨e²⟩ − ⟨e⟩²) */
  INVRG_OBS_BINDER_U4,     /**< U4 = 1 − ⟨m⁴⟩/(3⟨m²⟩²) */
  INVRG_OBS_V4,            /**< V4 = ⟨m⁴⟩/⟨m²⟩² */
  INVRG_OBS_E_PAPER,       /**< ⟨e_p⟩ */
  INVRG_OBS_CHI_PAPER,     /**< χ_p = N(⟨m²⟩ − ⟨m⟩²) */
  INVRG_OBS_CP_PAPER,      /**< c_p = N(⟨e_p²⟩ − ⟨e_p⟩²) */
  INVRG_OBS_ME_PAPER,      /**< me = N(⟨e_p|m|⟩ − ⟨|m|⟩⟨e_p⟩)/⟨|m|⟩ */
  INVRG_N_OBS
};

/** HDF5 attribute names of the summary (docs/runfile.md), indexed by INVRG_OBS_*. */
extern const char *const invrg_summary_names[INVRG_N_OBS];

/** An ensemble summary: each observable with its jackknife error. */
typedef struct {
  double value[INVRG_N_OBS];
  double error[INVRG_N_OBS];
  int64_t n_samples;
  int n_blocks;
} invrg_summary;

/**
 * Jackknife blocks of @p n consecutive samples: @p n_blocks contiguous runs, the first
 * n mod n_blocks of n/n_blocks + 1 samples, the others of n/n_blocks (the blocks of
 * invrg_mcrg_block_of()). Fills sizes[0 .. n_blocks). Not collective.
 */
void invrg_summary_block_sizes(int64_t n, int64_t n_blocks, int64_t *sizes);

/**
 * Adds one configuration's primaries @p p to the mean of its block of @p size configurations:
 * means[o] += p[o] / size. Adding a block's samples in a fixed order gives the same bits on
 * any layout. Not collective.
 */
void invrg_summary_block_add(double means[INVRG_N_PRIMARY], const double p[INVRG_N_PRIMARY],
                             int64_t size);

/**
 * Summary from block averages of the primaries: @p block_means is
 * [n_blocks][INVRG_N_PRIMARY], block b the mean over @p block_sizes[b]
 * configurations. Values from the mean over all configurations, errors by
 * the (weighted delete-one) jackknife over blocks. @p N spins per
 * configuration, coupling @p K for C/N. Not collective.
 */
void invrg_summary_from_blocks(const double *block_means, const int64_t *block_sizes,
                               int n_blocks, double N, double K, invrg_summary *out);

#endif
