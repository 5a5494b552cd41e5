/**
 * @file mcrg.h
 * Monte Carlo renormalization group (Swendsen's method, docs/physics.md §8): spin
 * operators, their lattice sums, accumulators of ⟨S⟩, ⟨S S⟩ within a level and
 * ⟨S^coarse S^fine⟩ across a (coarse, fine) pair, and the linearised RG
 * matrix T = A⁺ B with its eigenvalues, per level and per sector, with
 * jackknife errors.
 *
 * Conventions
 * -----------
 * - *Operators.* S(a,b) is the spin at (y − a, x − b) (periodic), s = S(0,0).
 *   An operator is a sum of terms, each a product of spins S(a,b) with
 *   0 ≤ a, b ≤ 2; its value on a configuration is the lattice *sum* over all
 *   sites (y, x) of the sum of its terms, an exact integer. Lattices need a
 *   halo of width 2 (INVRG_MCRG_HALO); this module makes its own copies.
 *   Odd operators (an odd number of spins) flip sign under s → −s.
 * - *Sums, not means.* With H = Σ_α K_α S_α, the chain rule gives
 *   B = A T with A_γα = ⟨S_γ^c S_α^c⟩ − ⟨S_γ^c⟩⟨S_α^c⟩,
 *   B_γβ = ⟨S_γ^c S_β^f⟩ − ⟨S_γ^c⟩⟨S_β^f⟩ and T_αβ = ∂K'_α/∂K_β, so with lattice
 *   sums T = A⁺ B has eigenvalues λ = b^y directly (λ_t ≈ 2, λ_h ≈ 3.668 at
 *   K_c). With lattice *means* B would carry the factor b^d = 4 of docs/physics.md §8;
 *   there is none here. A and B are written as computed from sums.
 * - *Levels.* Level n ≥ 1 is the n-th blocking: the pair (coarse = blocked n
 *   times, fine = blocked n − 1 times) of a configuration (docs/physics.md §8's T at n − 1).
 *   Swendsen's tables call it N_b = n. For explicit pairs the caller names the level.
 * - *Sectors.* Even and odd operators decouple at h = 0: T is computed on each
 *   sector separately (the even–odd blocks of A and B are ignored). λ_t is the
 *   leading (largest-modulus) eigenvalue of the even sector, λ_h of the odd one;
 *   y = ln|λ| / ln 2.
 * - *Truncation series.* For N_c = 1 … n_sector, T of the first N_c operators
 *   of the sector (in set order), as in Swendsen's tables.
 * - *Pseudo-inverse.* A⁺ by SVD, singular values below rcond·σ_max dropped
 *   (INVRG_MCRG_RCOND = 1e-10 by default): linearly dependent operators (the
 *   duplicate of paper36, or operators that coincide on tiny lattices) then do
 *   no harm; their eigenvalues come out 0.
 * - *Exact, layout-independent sums.* Per-sample sums and products are exact
 *   integers (|S| < 2^47 is checked; products formed in 128 bits), accumulated
 *   exactly as hi·2^32 + lo per jackknife block (|total| < 2^95: with
 *   |S| <= 4 N, n_samples · 16 N^2 < 2^94 is checked up front, budget.h), and reduced across groups
 *   exactly; so the results are bit-identical for any number of ranks, groups
 *   and grids, and delete-one jackknife sets (total − block) are exact too.
 *   Moments are formed in double only at the end (on world rank 0).
 * - *Jackknife blocks* are chosen by the caller per sample. To be independent
 *   of the layout they must depend on the sample, not on the group that made
 *   it: invrg_mcrg_block_of() splits a global sample order (e.g. chain-major)
 *   into contiguous, nearly equal blocks (contiguous keeps correlated samples
 *   of a Markov chain together). Empty blocks are skipped; each non-empty block
 *   has equal weight in the jackknife (blocks should hold similar counts).
 *   Every quantity's error is √((B−1)/B Σ_b (f_b − f̄)²) over the B delete-one
 *   estimates f_b (T recomputed on each), the value is f on all samples.
 *
 * Use (the communicator of each collective call in brackets)
 * ---
 *     invrg_mcrg_create(&params, groups, &m);
 *     for each sample s of each item j (chain) of this group:            standard MCRG
 *       invrg_mcrg_add_configuration(m, lat, j, s,                      [lat->comm]
 *           invrg_mcrg_block_of(j * n_samples + s, n_items * n_samples, n_blocks));
 *     or per explicit pair (dreaming: "up" = (input, output) of the generator,
 *     "down" = (majority of output, output); one accumulator per kind of pair):
 *       invrg_mcrg_add_pair(m, level, coarse, fine, ties, block);        [lattices' comm]
 *     invrg_mcrg_reduce(m);                                              [g->world]
 *     invrg_mcrg_analyze(m, 0, &r);                                      [g->world]
 *     invrg_mcrg_write(r, file, "mc", "standard", comm);  (mcrg_io.h)   [file's comm]
 *     invrg_mcrg_log(r, "mc", "standard");
 *     invrg_mcrg_results_destroy(&r); invrg_mcrg_destroy(&m);
 */
#ifndef INVRG_MCRG_H
#define INVRG_MCRG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invrg/blockspin.h"
#include "invrg/config.h"
#include "invrg/error.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"

/* ================================================================== operators */

#define INVRG_OP_MAX_SPINS 4 /**< spins in one term */
#define INVRG_OP_MAX_TERMS 4 /**< terms in one operator */
#define INVRG_MCRG_HALO 2    /**< largest offset = halo width the sums need */

/** One spin of a term: S(dy, dx), the spin at (y − dy, x − dx). */
typedef struct {
  int dy, dx;
} invrg_op_offset;

/** An operator: a sum of product terms, summed over the lattice. */
typedef struct {
  char name[48];        /**< e.g. "nn" or "s*S(1,0)" */
  char definition[128]; /**< the terms, e.g. "s*S(1,0) + s*S(0,1)" */
  bool odd;             /**< odd number of spins per term */
  int n_terms;
  int n_spins[INVRG_OP_MAX_TERMS];
  invrg_op_offset spin[INVRG_OP_MAX_TERMS][INVRG_OP_MAX_SPINS];
} invrg_operator;

/**
 * A named set of operators, in table order. Sets:
 * - "swendsen": even nn, nnn, plaquette, third_nn; odd s, three_corner,
 *   three_row (definitions in src/physics/mcrg_operators.c, each with all
 *   orientations: nn = Σ s(y,x)[s(y−1,x) + s(y,x−1)], i.e. every bond once);
 * - "paper36": the 36 products of docs/physics.md §8 in the paper's order, one
 *   orientation each, the duplicate 32 = 16 included; odd = {0, 6–15}.
 */
typedef struct {
  char name[16];
  int n;
  invrg_operator *op; /**< [n], owned */
} invrg_operator_set;

/** True if @p name is a known operator set. Not collective. */
bool invrg_operator_set_known(const char *name);

/** The known set names, comma-separated, for messages ("swendsen, paper36"). */
const char *invrg_operator_set_list(void);

/**
 * The set @p name (input error if unknown). Free with invrg_operator_set_destroy().
 * Not collective.
 */
invrg_err invrg_operator_set_create(const char *name, invrg_operator_set **out);

/** Frees it; sets *set to NULL; accepts NULL. */
void invrg_operator_set_destroy(invrg_operator_set **set);

/**
 * Parses @p definition: terms separated by '+', each a '*'-separated product
 * of "s" and "S(a,b)" with 0 ≤ a, b ≤ 2, all terms of the same parity.
 * Runtime error (naming @p name) if malformed. Not collective.
 */
invrg_err invrg_operator_parse(const char *name, const char *definition, invrg_operator *op);

/**
 * Lattice sums of @p n operators on @p lat, whose halo (width ≥ 2) must hold
 * the neighbours' spins: sums[k] = Σ_sites Σ_terms Π_spins. Exact; the same on
 * every rank of the group. Collective on lat->comm (one MPI_Allreduce).
 */
invrg_err invrg_operators_evaluate(const invrg_operator *ops, int n, const invrg_lattice *lat,
                                   int64_t *sums);

/* ================================================================== accumulator */

#define INVRG_MCRG_MAX_SETS 4
#define INVRG_MCRG_MAX_LEVELS 30
/** Operator sums must stay below this (|S| <= 4 N: lattices up to 2^45 sites). */
#define INVRG_MCRG_SUM_LIMIT (INT64_C(1) << 47)
#define INVRG_MCRG_RCOND 1e-10

/** What an accumulator measures. */
typedef struct {
  int n_sets;                            /**< 1 … INVRG_MCRG_MAX_SETS */
  const char *sets[INVRG_MCRG_MAX_SETS]; /**< operator set names */
  int n_levels;                          /**< levels 1 … n_levels */
  int n_blocks;                          /**< jackknife blocks, ≥ 2 */
  invrg_tie_rule tie_rule;               /**< for the blockings it does itself */
  uint64_t seed;                         /**< &run seed, for the tie coins */
} invrg_mcrg_params;

/** The parameters of the input's MCRG (&analyze n_operators, operators, tie_rule; &run seed)
 * with @p n_levels blockings and @p n_blocks jackknife blocks. Not collective. */
invrg_mcrg_params invrg_mcrg_params_of(const invrg_config *cfg, int n_levels, int n_blocks);

/**
 * The sums of one or more operator sets over (coarse, fine) pairs, per level
 * and jackknife block. Blocking happens once per configuration for all sets.
 */
typedef struct invrg_mcrg invrg_mcrg;

/**
 * A new, empty accumulator for the group @p g (kept by reference: it must
 * outlive the accumulator). Input error for an unknown set or bad counts.
 * Not collective.
 */
invrg_err invrg_mcrg_create(const invrg_mcrg_params *p, const invrg_groups *g, invrg_mcrg **out);

/**
 * Frees it; sets *m to NULL; accepts NULL. Collective on the group's grid if
 * it fed distributed lattices (it frees its copies of them).
 */
void invrg_mcrg_destroy(invrg_mcrg **m);

/**
 * Numbers in the checkpoint state of the accumulator (io/mcrg_io.c writes and
 * reads it): the records [level − 1][block] of exact sums (a header of counts,
 * then (hi, lo) pairs), then lx, ly of the coarse lattice of levels
 * 0 … INVRG_MCRG_MAX_LEVELS. Not collective.
 */
size_t invrg_mcrg_state_length(const invrg_mcrg *m);

/** The same for an accumulator made with @p p, without making it (the check of a checkpoint
 * before a run); input error for an unknown operator set. Not collective. */
invrg_err invrg_mcrg_params_state_length(const invrg_mcrg_params *p, size_t *length);

/**
 * Checkpoints: the exact totals of all groups so far into @p state
 * (invrg_mcrg_state_length() numbers), the same on every rank (the
 * accumulator goes on unchanged). Collective on g->world.
 */
invrg_err invrg_mcrg_state_export(const invrg_mcrg *m, int64_t *state);

/**
 * Adds a state exported by invrg_mcrg_state_export() (with the same
 * parameters) to this accumulator, on world rank 0 only, so that the reduction
 * counts it once, whatever the layout of the run that exported it. Not
 * collective.
 */
invrg_err invrg_mcrg_state_import(invrg_mcrg *m, const int64_t *state);

/**
 * The jackknife block of sample @p index of @p count samples in a global,
 * layout-independent order (e.g. chain · n_samples + s): contiguous blocks,
 * the first count mod n_blocks of them one sample longer than the others.
 * Not collective.
 */
int invrg_mcrg_block_of(int64_t index, int64_t count, int n_blocks);

/**
 * Standard MCRG on one configuration: blocks @p lat (replicated or distributed
 * on the accumulator's group; any halo, not modified) n_levels times and adds
 * the pair (level n, level n − 1) of every n to jackknife block @p block. Tie
 * coins come from the stream (seed, INVRG_RNG_TIE, @p item, sample·64 + n), so
 * every sample gets fresh coins and the result does not depend on the grid.
 * Lx and Ly must be multiples of 2^n_levels. Collective on lat->comm.
 */
invrg_err invrg_mcrg_add_configuration(invrg_mcrg *m, const invrg_lattice *lat, uint64_t item,
                                       uint64_t sample, int block);

/**
 * invrg_mcrg_add_configuration() without copies, for callers that have the
 * lattices to spare (stage dream: the lower levels of a dream are free once its
 * top is made): @p lat is read in place, so its halo must be at least
 * INVRG_MCRG_HALO and current (invrg_lattice_halo_exchange); its operator sums
 * are @p lat_sums if given (invrg_mcrg_operator_sums), else computed; its blockings are
 * written into @p chain[0 … n_levels − 1] (chain[n − 1] holds level n: the size
 * of @p lat blocked n times, laid out as invrg_blockspin_create_coarse() would
 * with the same halo). Same coins, same sums. Collective on lat->comm.
 */
invrg_err invrg_mcrg_add_configuration_into(invrg_mcrg *m, const invrg_lattice *lat,
                                            const int64_t *lat_sums, invrg_lattice *const *chain,
                                            uint64_t item, uint64_t sample, int block);

/**
 * The operator sums of @p lat (invrg_mcrg_n_operators() of them, in the order
 * of the accumulator's sets), read in place: halo at least INVRG_MCRG_HALO and
 * current. For callers that add the same configuration to several
 * accumulators with the same operator sets (stage dream: up pairs, down pairs
 * and standard MCRG of one level), with invrg_mcrg_add_sums() and the
 * @p lat_sums of invrg_mcrg_add_configuration_into(). Collective on lat->comm.
 */
invrg_err invrg_mcrg_operator_sums(const invrg_mcrg *m, const invrg_lattice *lat, int64_t *sums);

/**
 * The coins of the @p level-th blocking of standard MCRG of (@p item, @p sample), as
 * invrg_mcrg_add_configuration() uses them: for callers that block and sum themselves (packed
 * lattices) and then add each pair with invrg_mcrg_add_sums(). Not collective.
 */
invrg_blockspin_ties invrg_mcrg_chain_ties(const invrg_mcrg *m, uint64_t item, uint64_t sample,
                                           int level);

/**
 * Adds an explicit pair at @p level (1 … n_levels): @p coarse (Lx/2 × Ly/2 of
 * @p fine) and @p fine, each replicated or distributed on the group, not
 * modified. A lattice with a halo of at least INVRG_MCRG_HALO is read in place
 * and its halo must be current; one with a narrower halo is copied into a
 * lattice that has one. @p ties: tied blocks if @p coarse is the blocking of
 * @p fine (for the tie fraction), or −1 if unknown/not applicable.
 * Collective on the lattices' communicator (both on the same group).
 */
invrg_err invrg_mcrg_add_pair(invrg_mcrg *m, int level, const invrg_lattice *coarse,
                              const invrg_lattice *fine, int64_t ties, int block);

/**
 * Adds a pair given by its operator sums: @p coarse_sums and @p fine_sums hold
 * invrg_mcrg_n_operators(m) values each (the sets' operators concatenated, as
 * from invrg_operators_evaluate() with invrg_mcrg_operators()), on lattices of
 * lx × ly (coarse) and 2lx × 2ly (fine). Call on every rank of a group alike.
 * Not collective.
 */
invrg_err invrg_mcrg_add_sums(invrg_mcrg *m, int level, int64_t lx, int64_t ly,
                              const int64_t *coarse_sums, const int64_t *fine_sums, int64_t ties,
                              int block);

/**
 * Adds @p n pairs at once (the lanes of a batch of dreams): pair i is coarse_sums[i·k …],
 * fine_sums[i·k …] (k = invrg_mcrg_n_operators(m)) with ties[i] (@p ties NULL: −1 for all)
 * into jackknife block blocks[i]. The same sums as n calls of invrg_mcrg_add_sums(); runs of
 * pairs of one block whose sums are below 2^31 have their products summed over the pairs
 * first. Not collective.
 */
invrg_err invrg_mcrg_add_lanes(invrg_mcrg *m, int level, int64_t lx, int64_t ly, int n,
                               const int64_t *coarse_sums, const int64_t *fine_sums,
                               const int64_t *ties, const int *blocks);

/**
 * Asks the CPU to bring level @p level's pending sums into its caches, where a batch of pairs
 * (invrg_mcrg_add_lanes()) will soon add to them; no effect on any result, nothing for a
 * level the accumulator does not have. Not collective.
 */
void invrg_mcrg_prefetch(const invrg_mcrg *m, int level);

/** All operators of the accumulator's sets, concatenated in set order. Not collective. */
const invrg_operator *invrg_mcrg_operators(const invrg_mcrg *m, int *n);

/** Operators of all sets together. Not collective. */
int invrg_mcrg_n_operators(const invrg_mcrg *m);

/** The levels (blockings) it accumulates, params' n_levels. Not collective. */
int invrg_mcrg_n_levels(const invrg_mcrg *m);

/** Samples added so far at @p level (by this group; after reduce: by all). Not collective. */
int64_t invrg_mcrg_samples(const invrg_mcrg *m, int level);

/**
 * Sums the accumulators of all groups (exactly), so that every rank holds the
 * totals. Afterwards nothing more can be added. Collective on g->world.
 */
invrg_err invrg_mcrg_reduce(invrg_mcrg *m);

/* ================================================================== results */

/** Sector index. */
enum { INVRG_MCRG_EVEN = 0, INVRG_MCRG_ODD = 1 };

/**
 * T and its eigenvalues in one sector. Eigenvalues are sorted by decreasing
 * modulus (then real part, then imaginary part); (re, im) pairs. Series row
 * N_c − 1 holds the N_c eigenvalues of the first N_c operators, NaN beyond.
 * Every *_err is the jackknife error of the entry beside it.
 */
typedef struct {
  int n;                           /**< operators in the sector */
  int *index;                      /**< [n]: their indices in the set */
  double *T;                       /**< [n][n], all samples, all n operators */
  double *eig, *eig_err;           /**< [n][2] = series row n − 1 */
  double *y, *y_err;               /**< [n]: ln|λ| / ln 2 */
  double *series, *series_err;     /**< [n][n][2] */
  double *series_y, *series_y_err; /**< [n][n] */
} invrg_mcrg_sector;

/** The MCRG analysis of one operator set at one level. */
typedef struct {
  int level;
  int64_t lx_coarse, ly_coarse; /**< the fine lattice is twice as large */
  int64_t n_samples;
  int n_blocks;                    /**< non-empty jackknife blocks */
  double tie_fraction;             /**< tied blocks / coarse sites, NaN if unknown */
  int n;                           /**< operators of the set */
  double *mean_coarse, *mean_fine; /**< [n]: ⟨S^c⟩, ⟨S^f⟩ */
  double *A, *B;                   /**< [n][n], all operators of the set (sums, see top) */
  invrg_mcrg_sector sector[2];     /**< even, odd */
  double lambda_t, lambda_t_err, y_t, y_t_err; /**< leading even eigenvalue (real part) */
  double lambda_h, lambda_h_err, y_h, y_h_err; /**< leading odd eigenvalue (real part) */
  double *values;                              /**< private: one allocation behind all arrays */
  int64_t n_values;                            /**< private */
} invrg_mcrg_level;

/** The analysis of every set and level of an accumulator. */
typedef struct {
  int n_sets, n_levels;
  invrg_operator_set *set[INVRG_MCRG_MAX_SETS]; /**< copies of the sets */
  invrg_mcrg_level *level;                      /**< [set · n_levels + (level − 1)] */
  invrg_tie_rule tie_rule;
  int n_blocks; /**< jackknife blocks requested */
  double rcond;
} invrg_mcrg_results;

/** The result of set @p set at level @p level (1 … n_levels). */
static inline const invrg_mcrg_level *invrg_mcrg_result(const invrg_mcrg_results *r, int set,
                                                        int level) {
  return &r->level[set * r->n_levels + level - 1];
}

/**
 * Computes T, eigenvalues, series and jackknife errors of every set and level
 * from the reduced accumulator (rcond ≤ 0 means INVRG_MCRG_RCOND). Computed on
 * world rank 0 and broadcast, so every rank holds identical results (as the
 * writers of mcrg_io.h need). Levels without samples come out NaN. Collective on g->world.
 */
invrg_err invrg_mcrg_analyze(const invrg_mcrg *m, double rcond, invrg_mcrg_results **out);

/** Frees it; sets *r to NULL; accepts NULL. Not collective. */
void invrg_mcrg_results_destroy(invrg_mcrg_results **r);

/**
 * Logs the table level × (L, samples, λ_t, y_t, λ_h, y_h with errors, tie
 * fraction) of every set at info level (world rank 0 prints). Not collective.
 */
void invrg_mcrg_log(const invrg_mcrg_results *r, const char *source, const char *pairs);

#endif
