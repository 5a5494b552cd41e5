/**
 * @file mc_update.h
 * Monte Carlo updates of the 2D Ising model (H = −Σ_<ij> s_i s_j, weight e^{−K H})
 * on a lattice block (invrg_lattice, replicated or distributed).
 *
 * Every random number is drawn from the stream (seed, INVRG_RNG_MC, chain, step)
 * keyed by global site (Wolff, one rank per chain: by the order of growth), so a
 * chain evolves identically on any grid.
 * Contract of every update: on entry the halo (width ≥ 1) holds the
 * neighbours' spins; on exit it does again (so measurements can follow).
 */
#ifndef INVRG_MC_UPDATE_H
#define INVRG_MC_UPDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "invrg/error.h"
#include "invrg/lattice.h"

/** Which chain is being updated, at which coupling. */
typedef struct {
  double K;        /**< coupling βJ */
  uint64_t seed;   /**< &run seed */
  uint64_t chain;  /**< item index of the chain */
  invrg_rng_purpose purpose; /**< the updates' stream; 0 (left out) = INVRG_RNG_MC */
  invrg_rng_generator generator; /**< its blocks: Philox (left out), or ARS for multispin
                                      sweeps (invrg/rng.h); the other updates refuse ARS */
} invrg_mc_chain;

/** The purpose of @p c's update streams: INVRG_RNG_MC unless it says otherwise. */
static inline invrg_rng_purpose invrg_mc_chain_purpose(const invrg_mc_chain *c) {
  return c->purpose == 0 ? INVRG_RNG_MC : c->purpose;
}

/** What an update did, for progress lines (summed over the group). */
typedef struct {
  int64_t spins_flipped;  /**< spins whose value changed */
  int64_t clusters;       /**< clusters built (Wolff, SW) */
  int64_t accepted;       /**< accepted single-spin moves (Metropolis) */
  int64_t attempted;      /**< single-spin moves tried (checkerboard) */
} invrg_mc_counts;

/**
 * One checkerboard sweep, Metropolis (@p heatbath false) or heat bath: first
 * the even sites (colour c = (gx + gy) mod 2 = 0), then the odd ones, each
 * colour's halo exchanged before the other is updated (overlapped with the
 * interior sites when the block has remote neighbours). Lx and Ly must be even
 * and K > 0 (else an input error). Bit-identical for any grid and mode.
 *
 * Randomness: one 32-bit word u per site and sweep, from the stream
 * (seed, INVRG_RNG_MC, chain, @p step). With the colour index
 * q = (gy·Lx + gx) / 2 (a bijection onto [0, N/2) within a colour), site
 * (gx, gy) uses word (q >> 4) & 3 of the block
 *     invrg_rng_u32x4(stream, site = 16·(q >> 6) + (q & 15), draw = c),
 * i.e. 64 consecutive same-colour sites share 16 consecutive Philox blocks,
 * lane-major (the layout a 16-wide vector generates without shuffles).
 *
 * Acceptance: with h = sum of the 4 neighbours and T(p) = round(p·2^32)
 * clamped to 2^32 − 1 (so the probability used is p to within 2^-32),
 * Metropolis flips s when s·h ≤ 0 or u < T(e^{−2K s h}); heat bath sets
 * s = +1 when u < T(1 / (1 + e^{−2K h})), else −1.
 *
 * @p counts, if not NULL (on every rank of the group alike), gets this sweep
 * *added*: attempted += Lx·Ly, accepted and spins_flipped += the spins that
 * changed (for heat bath too), summed over the group.
 *
 * The kernel (portable C, or AVX2 / AVX-512 on x86: the level of
 * invrg_simd_active(); all give identical results) can be forced with the
 * environment variable INVRG_SIMD=generic|avx2|avx512, read at the first use.
 * Collective on lat->comm.
 */
invrg_err invrg_mc_checkerboard_sweep(invrg_lattice *lat, const invrg_mc_chain *chain,
                                      uint64_t step, bool heatbath, invrg_mc_counts *counts);

/** The kernel checkerboard sweeps use ("generic", "avx2" or "avx512"). Not collective. */
const char *invrg_mc_checkerboard_kernel(void);

/** True if this CPU can run the checkerboard kernel @p name. Not collective. */
bool invrg_mc_checkerboard_kernel_runs(const char *name);

/** P(add a bond) = 1 − e^{−2K} as a 32-bit threshold: u32 < threshold (bias ≤ 2^−33). */
uint32_t invrg_mc_bond_threshold(double K);

/* ------------------------------------------------------------------ Wolff */

/** Most Philox blocks (four bond-test numbers each) a Wolff batch computes at once. */
#define INVRG_WOLFF_BATCH 256

/**
 * Workspace and progress of one Wolff chain: how many clusters were built
 * (the next cluster's RNG step), how many spins they flipped, and how many
 * clusters make a sweep.
 */
typedef struct {
  int64_t lx, ly;
  uint64_t clusters;           /**< clusters built so far = step of the next one */
  int64_t flipped;             /**< spins flipped so far */
  int64_t clusters_per_sweep;  /**< fixed after thermalisation (0 before) */
  /* private: a work copy of the spins as bytes 0/1 (1 for −1) in rows of a power-of-two
   * stride ≥ lx; the cluster's sites in the order they joined; a batch of bond-test
   * outcomes (after room for those left over from the batch before) */
  uint32_t stride;
  uint8_t *spins;
  uint32_t *queue;
  uint32_t *open;
  /* private: how clusters grow (invrg_wolff_growth; AUTO until the trial has decided) and the
   * trial's time-stamp ticks and flipped spins of each way (FOUR, ONE) */
  int growth;
  uint64_t trial_ticks[2];
  int64_t trial_flips[2];
} invrg_wolff;

/**
 * How a cluster grows: every way tests the same bonds with the same numbers in the same order
 * (the same clusters). FOUR reads a site's four neighbours at once, ONE one after another; which
 * is faster depends on the CPU (Zen 4: one by about 1.2 times; a Xeon: four beat one after
 * another with compared neighbours by about 1.1), so AUTO grows the first clusters of a
 * workspace both ways in turn, timed, and keeps the faster (after INVRG_WOLFF_TRIAL_SWEEPS
 * sweeps of flipped spins each way). REFERENCE: one test after another with compared (not
 * masked) neighbours, what sides below 3 always use.
 */
typedef enum {
  INVRG_WOLFF_GROW_AUTO,
  INVRG_WOLFF_GROW_FOUR,
  INVRG_WOLFF_GROW_ONE,
  INVRG_WOLFF_GROW_REFERENCE
} invrg_wolff_growth;

/** Flipped spins per site each way grows in the trial of INVRG_WOLFF_GROW_AUTO. */
#define INVRG_WOLFF_TRIAL_SWEEPS 2

/** Workspace for an lx × ly replicated lattice, at the start of a chain. Not collective. */
invrg_err invrg_wolff_create(int64_t lx, int64_t ly, invrg_wolff **out);
void invrg_wolff_destroy(invrg_wolff **w);

/** Starts a new chain (counters to zero). */
void invrg_wolff_reset(invrg_wolff *w);

/** Tests: grow every cluster one way (AUTO: the trial, as runs do). Not thread-safe. */
void invrg_wolff_test_growth(invrg_wolff_growth growth);

/** The way @p w grows its clusters now: AUTO while its trial runs, then FOUR or ONE. */
invrg_wolff_growth invrg_wolff_growth_of(const invrg_wolff *w);

/*
 * Wolff on a replicated lattice (one rank per group). Cluster number c of the
 * chain uses the stream (…, c): its seed site g from block (site 0, draw 1),
 * g = (word 0 · 2^32 + word 1) mod N, and its bond tests the numbers
 * u_0, u_1, u_2, … in turn, one per test: the words of the blocks (b, draw 0),
 * b = 0, 1, 2, …, taken in batches of 16, 32, 64, … blocks (doubling up to
 * INVRG_WOLFF_BATCH), each batch read word-major (word 0 of its blocks in
 * order, then word 1, 2, 3).
 *
 * The cluster grows breadth-first: its sites are taken in the order they joined
 * (the seed first), and site (x, y) looks at its neighbours right (x + 1), down
 * (y + 1), left, up. A neighbour that still has the seed's old spin (aligned
 * and not yet in the cluster) is tested with the next number u and joins, and
 * is flipped at once, when u < T(1 − e^{−2K}) (invrg_mc_bond_threshold()); any
 * other neighbour is skipped and uses no number. Each bond is tested at most
 * once and whether a number is used depends only on the numbers before it, so
 * every test sees a fresh uniform number: the clusters have exactly Wolff's
 * probabilities. The order of growth is fixed, so a chain is a pure function
 * of (seed, chain) and its start, on any number of ranks.
 *
 * Sweeps: a sweep is N flipped spins on average. Measuring when the flipped
 * count crosses a multiple of N would favour moments right after a large
 * cluster (length-biased sampling: too ordered). So thermalisation counts
 * flipped spins and then fixes clusters_per_sweep = round(N · clusters /
 * flipped); sampling runs that fixed number of clusters per sweep.
 */

/**
 * Thermalises: n_sweeps/2 sweeps counted in flipped spins to relax, then the
 * rest (at least one) to measure the mean cluster size, which fixes
 * clusters_per_sweep = round(N / ⟨size⟩). Not collective.
 */
invrg_err invrg_mc_wolff_thermalize(invrg_lattice *lat, const invrg_mc_chain *chain,
                                    int64_t n_sweeps, invrg_wolff *w, invrg_mc_counts *counts);

/** Runs n_sweeps × clusters_per_sweep clusters (after thermalisation). Not collective. */
invrg_err invrg_mc_wolff_sweeps(invrg_lattice *lat, const invrg_mc_chain *chain, int64_t n_sweeps,
                                invrg_wolff *w, invrg_mc_counts *counts);

/* ------------------------------------------------------------------ Swendsen–Wang */

/** Workspace of the Swendsen–Wang update for one lattice block. */
typedef struct invrg_sw invrg_sw;

/** Workspace for @p lat's block. Not collective. */
invrg_err invrg_sw_create(const invrg_lattice *lat, invrg_sw **out);
void invrg_sw_destroy(invrg_sw **w);

/**
 * One Swendsen–Wang sweep on a replicated or distributed lattice. Bond
 * (g, right) and (g, down) are open with probability 1 − e^{−2K} between equal
 * spins, decided by words 0 and 1 of block (g, draw 0) of the stream (…, step);
 * clusters are found by local union–find and a label merge across blocks
 * until every site knows its cluster's smallest global site index c; the
 * cluster flips if the coin of block (c, draw 1) says so. Hence the result is
 * bit-identical for any grid. Collective on lat->comm.
 */
invrg_err invrg_mc_sw_sweep(invrg_lattice *lat, const invrg_mc_chain *chain, uint64_t step,
                            invrg_sw *w, invrg_mc_counts *counts);

#endif
