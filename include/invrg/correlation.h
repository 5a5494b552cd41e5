/**
 * @file correlation.h
 * Two-point functions of spin configurations (docs/physics.md §7), per lattice
 * size, with jackknife errors:
 * - always (the cheap path, O(N)): S(0), S(k_min), the second-moment
 *   correlation length ξ₂ and ξ₂/L, from the magnetisation and the row and
 *   column sums of each configuration;
 * - on request (params.functions, the FFT): the structure factor S(k), G(r) by
 *   its inverse transform (Wiener–Khinchin), G along the axes and the diagonal,
 *   the radially averaged S(k) and the whole maps of small sizes.
 *
 * Conventions
 * -----------
 * - *Fourier.* On an L × L periodic lattice (square only), k = 2π(n_x, n_y)/L
 *   with mode numbers 0 ≤ n < L, and
 *       S(k) = |Σ_x s_x e^{−ik·x}|² / N,     G(r) = ⟨s_0 s_r⟩ = (1/N) Σ_k S(k) e^{ik·r},
 *   both averaged over configurations (and, for G, over the origin). So
 *   S(0) = N⟨m²⟩ = χ' and Σ_k S(k) = N, G(0) = 1.
 * - *Derived quantities* (all averaged over the lattice symmetries that relate
 *   them, so they are well defined for any ensemble):
 *   G_axis(r) = [G(r,0) + G(0,r)]/2 and G_diag(r) = [G(r,r) + G(r,−r)]/2 for
 *   r = 0 … L/2 (G_axis(1) = −(E/N)/2: the bond energy);
 *   S_radial(q) = mean of S(k) over the shell q ≤ |ñ| + ½ < q + 1, where ñ is
 *   the mode number folded into (−L/2, L/2], with the mean |k| of the shell;
 *   ξ₂ = √(S(0)/S(k_min) − 1) / (2 sin(π/L)), S(k_min) = [S(2π/L,0) + S(0,2π/L)]/2,
 *   and ξ₂/L (→ 0.9050488 at K_c, Salas & Sokal 2000).
 * - *The cheap path* (the reference for S(0), S(k_min), ξ₂, with or without
 *   the FFT): S(0) = M²/N with M = Σ_x s_x, and with the column sums
 *   c_x = Σ_y s(x, y) and the row sums r_y = Σ_x s(x, y) (integers)
 *       S(2π/L, 0) = |Σ_x c_x e^{−2πix/L}|² / N,   S(0, 2π/L) = |Σ_y r_y e^{−2πiy/L}|² / N.
 *   The sums of a distributed lattice are reduced exactly (int64 MPI_Reduce
 *   over lat->comm) to its rank 0, which alone does the two DFTs of L terms in
 *   a fixed order with cos/sin tables made once per size: bit-identical
 *   results in every layout. The FFT's own S(0) and S(k_min) agree with it to
 *   rounding (tests/mpi/test_correlation.c).
 * - *Functions* (params.functions only, by FFT): G_axis, G_diag, S_radial and
 *   the maps. G_axis and G_diag are the 1D inverse transforms of projections
 *   of S(k) (Σ over k_y at fixed k_x, and over k_x ± k_y at fixed sum), so only
 *   O(L) numbers per configuration are kept, not the whole S(k).
 * - *Whole maps.* With functions, for L ≤ params.map_max_L the whole S(k) (the
 *   r2c half plane, [k_y][k_x] with 0 ≤ n_x ≤ L/2) is kept too, its mean
 *   written with G(r) (the 2D inverse transform, [y][x]); without errors.
 * - *Transform.* Each configuration is transformed as rows (real-to-complex
 *   along x), a transpose, then columns (complex along y), with the same FFTW
 *   1D plans (FFTW_ESTIMATE: the same plan on every rank) executed on buffers
 *   of the same alignment in every layout. A replicated lattice is transformed
 *   by its group's rank 0 alone; a distributed one without gathering it: its
 *   blocks are redistributed from the group's px × py grid to FFTW-MPI's row
 *   slabs (MPI_Alltoallv of the int8 spins), rows are transformed, one
 *   MPI_Alltoallv transposes the slabs into k_x columns (FFTW-MPI's own
 *   transposes were 25–60 times slower here), and each rank transforms its
 *   columns. Hence every |ŝ(k)|² is bit-identical in every layout.
 * - *Exact accumulation.* Each |ŝ(k)|²/N (of the line sums' DFTs or of the FFT)
 *   is rounded to a fixed-point integer of
 *   2^−F (F = 60 − ⌈log₂ N⌉, so a configuration's sums fit in 63 bits; 1.5e-11
 *   at N = 4096²), and S(0) is taken exactly from the magnetisation. Sums are
 *   integers, exact in any order: per jackknife block, across the ranks of a
 *   group and across groups. Results are bit-identical for any number of
 *   ranks, groups and grids.
 * - *Jackknife blocks* are chosen by the caller per configuration, as for MCRG
 *   (invrg_mcrg_block_of() of a global, layout-independent sample order).
 *   Empty blocks are skipped; errors are √((B−1)/B Σ_b (f_b − f̄)²) over the B
 *   non-empty delete-one estimates f_b, values f on all samples. The
 *   delete-one values of ξ₂/L are kept per block for finite-size scaling
 *   (fss.h), so fits can be redone on each delete-one set of every size.
 * - *Cost and memory* (bench_correlation, one core of the benchmark machine,
 *   docs/benchmarks.md). The cheap path costs ≈ 0.1 ns per spin (one pass over
 *   the int8 spins for both sums) plus O(L) for the DFTs, and keeps 32 L bytes
 *   per size (sums and tables) and 56 bytes per size and jackknife block. The
 *   FFT (functions) costs 2.5–3 ns per spin at 256² and 4.6–5 ns at 4096² (up
 *   to 28–44 ns in whole dreams at 1024²–16384², cache-bound), with workspaces
 *   kept per size (plans made once and reused): ≈ 8 N bytes for a replicated
 *   lattice (on group rank 0 only), ≈ 17 N/P bytes per rank for one distributed
 *   on P ranks; its accumulators ≈ 28 L bytes per size and jackknife block
 *   (plus 16 N for a whole map). With params.precision single the transforms
 *   run in float: about half those workspaces and 0.7–0.9 of the time, values
 *   within a derived rounding bound (|ΔG| ≤ 2γ + γ², γ = 7·2^−24·log₂N) of
 *   double; S(0) stays exact (from the line sums).
 *
 * Use (the communicator of each collective call in brackets)
 * ---
 *     invrg_corr_create(&params, groups, &c);
 *     for each configuration (sample j of n_samples, any size):
 *       invrg_corr_add_configuration(c, lat,                          [lat->comm]
 *           invrg_mcrg_block_of(j, n_samples, params.n_blocks));
 *       (or of a packed lattice: invrg_corr_add_packed(c, p, block)   [p->comm]
 *        or, without functions, from sums made elsewhere:
 *        invrg_corr_add_partial_sums(c, L, rows, cols, block, comm)  [comm]
 *        or invrg_corr_add_sums(c, L, rows, cols, M, block) on one rank,
 *        or many configurations' at once: invrg_corr_add_lanes())
 *     invrg_corr_reduce(c);                                           [g->world]
 *     invrg_corr_analyze(c, &r);                                      [g->world]
 *     invrg_corr_write(r, file, "dream", comm);   (corr_io.h)         [file's comm]
 *     invrg_corr_log(r, "dream");
 *     invrg_corr_results_destroy(&r); invrg_corr_destroy(&c);        [not collective]
 */
#ifndef INVRG_CORRELATION_H
#define INVRG_CORRELATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "invrg/choices.h"
#include "invrg/error.h"
#include "invrg/groups.h"
#include "invrg/lattice.h"
#include "invrg/packed.h"

/** Salas & Sokal (2000): ξ₂/L of the critical periodic square in the limit L → ∞. */
#define INVRG_XI2_OVER_L_CRITICAL 0.9050488

/** What an accumulator keeps. */
typedef struct {
  int n_blocks;      /**< jackknife blocks, ≥ 2 */
  int64_t map_max_L; /**< with functions: keep the whole S(k) map for L ≤ this (0: never) */
  bool functions;    /**< also the FFT: G_axis, G_diag, S_radial, maps (else only the cheap path) */
  invrg_corr_precision precision; /**< of the FFT (functions only): double (0) or single */
} invrg_corr_params;

/** Sums of S(k) projections per lattice size and jackknife block. */
typedef struct invrg_corr invrg_corr;

/**
 * The n_blocks of an accumulator whose samples fall into @p B jackknife blocks: B, and at least
 * 2 — samples of one block (one chain of one block, one saved configuration, one dream) leave
 * the second empty, and their errors come out NaN.
 */
static inline int invrg_corr_blocks(int B) { return B < 2 ? 2 : B; }

/**
 * A new, empty accumulator for the group @p g (kept by reference: it must
 * outlive the accumulator). Input error for bad counts. Not collective.
 */
invrg_err invrg_corr_create(const invrg_corr_params *p, const invrg_groups *g, invrg_corr **out);

/** Frees it; sets *c to NULL; accepts NULL. Not collective. */
void invrg_corr_destroy(invrg_corr **c);

/**
 * The checkpoint state of an accumulator as plain arrays (io/corr_io.c writes
 * and reads it): per size, the exact sums of every jackknife block (records of
 * a count, then (hi, lo) pairs), then the (hi, lo) pairs of the whole map if
 * the size keeps one.
 */
typedef struct {
  int n_sizes;
  int64_t *L;     /**< [n_sizes], increasing */
  size_t *n_sums; /**< [n_sizes]: invrg_corr_state_length() of each size */
  int64_t **sums; /**< [n_sizes][n_sums[i]] */
} invrg_corr_state;

/** Numbers in the state of size @p L (from the parameters alone). Not collective. */
size_t invrg_corr_state_length(const invrg_corr *c, int64_t L);

/** The same for an accumulator made with @p p, without making it (the check of a checkpoint
 * before a run). Not collective. */
size_t invrg_corr_params_state_length(const invrg_corr_params *p, int64_t L);

/**
 * A state for the sizes @p L[n_sizes] (L ≥ 2), its sums allocated but not set,
 * for a reader to fill and invrg_corr_state_import() to add. Not collective.
 */
invrg_err invrg_corr_state_create(const invrg_corr *c, int n_sizes, const int64_t *L,
                                  invrg_corr_state **out);

/** Frees it; sets *s to NULL; accepts NULL. Not collective. */
void invrg_corr_state_destroy(invrg_corr_state **s);

/**
 * Checkpoints: the exact totals of all ranks so far, for every size any rank
 * has, the same on every rank (the accumulator goes on unchanged). Collective
 * on g->world.
 */
invrg_err invrg_corr_state_export(invrg_corr *c, invrg_corr_state **out);

/**
 * Adds a state exported by invrg_corr_state_export() (same parameters) on
 * world rank 0 only, so that the reduction counts it once whatever the layout
 * of the run that exported it; every rank gets the state's sizes. Not
 * collective.
 */
invrg_err invrg_corr_state_import(invrg_corr *c, const invrg_corr_state *s);

/**
 * Makes the transform workspace and plans for configurations like @p lat
 * (size and layout), as the first invrg_corr_add_configuration() would; lets
 * callers keep planning out of timed loops. Like adding, a replicated lattice
 * is prepared on group rank 0 only. Collective on lat->comm.
 */
invrg_err invrg_corr_prepare(invrg_corr *c, const invrg_lattice *lat);

/** invrg_corr_prepare() for packed lattices like @p p (invrg_corr_add_packed()). Collective on
 * p->comm. */
invrg_err invrg_corr_prepare_packed(invrg_corr *c, const invrg_packed *p);

/**
 * Adds the configuration held by @p lat (L × L, L ≥ 2, replicated or
 * distributed on the accumulator's group; any halo, not modified) to jackknife
 * block @p block. A replicated lattice is measured once per group, by group
 * rank 0 (the other ranks return at once); a distributed one by all ranks of
 * the group together. Sizes may be mixed freely; each has its own sums. The
 * cheap path always, the FFT too with params.functions. Collective on
 * lat->comm.
 */
invrg_err invrg_corr_add_configuration(invrg_corr *c, const invrg_lattice *lat, int block);

/**
 * invrg_corr_add_configuration() of a packed lattice @p p (L × L; whole on each rank of the
 * group, measured by group rank 0 alone, or split by rows over the group's ranks, measured by
 * all together): the same numbers as of the same spins in an int8 lattice, bit for bit, the
 * line sums by popcount and the FFT's rows unpacked one at a time (no int8 copy). Halos must be
 * current. Collective on p->comm.
 */
invrg_err invrg_corr_add_packed(invrg_corr *c, const invrg_packed *p, int block);

/**
 * This rank's part of the line sums of @p lat (int8, any layout, any halo):
 * row_sums[y] = Σ_x s(x, y) for y < lat->ly and col_sums[x] = Σ_y s(x, y) for
 * x < lat->lx, over the sites this rank holds (global indices; zero elsewhere).
 * For a replicated lattice the whole sums. O(N/P), one pass. Not collective.
 */
void invrg_corr_line_sums(const invrg_lattice *lat, int64_t *row_sums, int64_t *col_sums);

/**
 * The cheap path from the whole lattice's sums (however they were made, e.g.
 * from a packed lattice): adds S(0) = M²/N and S(2π/L, 0), S(0, 2π/L) from
 * @p row_sums[L] and @p col_sums[L] of an L × L configuration (L ≥ 2) with
 * magnetisation @p magnetisation (= Σ row_sums = Σ col_sums, checked) to
 * jackknife block @p block, on the calling rank only: call it once per
 * configuration, on one rank (e.g. group rank 0 for a replicated lattice; for
 * a distributed one see invrg_corr_add_partial_sums()). Runtime error with
 * params.functions, which need the spins (invrg_corr_add_configuration()).
 * Not collective.
 */
invrg_err invrg_corr_add_sums(invrg_corr *c, int64_t L, const int64_t *row_sums,
                              const int64_t *col_sums, int64_t magnetisation, int block);

/**
 * invrg_corr_add_sums() of @p n configurations of side @p L at once (the same entries, bit for
 * bit), their sums line by line: row y of configuration i at @p row_sums[y·n + i], column x
 * at @p col_sums[x·n + i], its magnetisation @p magnetisation[i], into jackknife block
 * @p blocks[i]. Every configuration is checked before any is added. Not collective.
 */
invrg_err invrg_corr_add_lanes(invrg_corr *c, int64_t L, int n, const int64_t *row_sums,
                               const int64_t *col_sums, const int64_t *magnetisation,
                               const int *blocks);

/**
 * invrg_corr_add_sums() from each rank's part of the sums of a lattice
 * distributed over @p comm (row_sums[L], col_sums[L]: this rank's sites, zero
 * elsewhere): summed exactly on rank 0 of @p comm, which adds them. Collective
 * on @p comm.
 */
invrg_err invrg_corr_add_partial_sums(invrg_corr *c, int64_t L, const int64_t *row_sums,
                                      const int64_t *col_sums, int block, MPI_Comm comm);

/** Configurations of size @p L added so far (by this group; after reduce: by all). Not collective.
 */
int64_t invrg_corr_samples(const invrg_corr *c, int64_t L);

/**
 * Sums the accumulators of all ranks exactly (the union of the sizes any rank
 * saw), so every rank holds the totals. Afterwards nothing can be added.
 * Collective on g->world.
 */
invrg_err invrg_corr_reduce(invrg_corr *c);

/** The analysis of one size. Every *_err is the jackknife error of the value beside it. */
typedef struct {
  int64_t L;
  int64_t n_samples;
  int n_blocks;                    /**< non-empty jackknife blocks */
  int fixed_point_bits;            /**< F: |ŝ|²/N accumulated in units of 2^−F */
  double chi_prime, chi_prime_err; /**< S(0) = N⟨m²⟩ */
  double S_kmin, S_kmin_err;       /**< [S(2π/L,0) + S(0,2π/L)]/2 */
  double xi2, xi2_err;             /**< second-moment correlation length */
  double xi2_over_L, xi2_over_L_err;
  bool has_functions;              /**< the FFT ran: the arrays below (else n_r = n_shells = 0) */
  int n_r;                         /**< distances r = 0 … L/2 */
  double *G_axis, *G_axis_err;     /**< [n_r] */
  double *G_diag, *G_diag_err;     /**< [n_r] */
  int n_shells;                    /**< radial shells q = 0 … n_shells − 1 */
  double *k_shell;                 /**< [n_shells]: mean |k| of the shell's modes */
  double *shell_modes;             /**< [n_shells]: modes in the shell (whole k plane) */
  double *S_radial, *S_radial_err; /**< [n_shells] */
  int n_jackknife;                 /**< = the requested n_blocks */
  double *xi2_over_L_jackknife; /**< [n_jackknife]: ξ₂/L without block b (NaN if b is empty) */
  bool has_map;                 /**< whole maps kept (functions and L ≤ map_max_L) */
  double *S_map;                /**< [L][L/2 + 1]: mean S at (n_y, n_x), or NULL */
  double *G_map;                /**< [L][L]: G at (y, x), or NULL */
  double *values;               /**< private: one allocation behind all arrays */
  int64_t n_values;             /**< private */
} invrg_corr_size;

/** The analysis of every size of an accumulator, in increasing L. */
typedef struct {
  int n_sizes;
  invrg_corr_size *size; /**< [n_sizes] */
  int n_blocks;          /**< jackknife blocks requested */
} invrg_corr_results;

/**
 * Computes everything above for every size from the reduced accumulator, on
 * world rank 0, and broadcasts it, so every rank holds identical results (as
 * the writers of corr_io.h need). Collective on g->world.
 */
invrg_err invrg_corr_analyze(const invrg_corr *c, invrg_corr_results **out);

/** Frees it; sets *r to NULL; accepts NULL. Not collective. */
void invrg_corr_results_destroy(invrg_corr_results **r);

/** The results of size @p L, or NULL. Not collective. */
const invrg_corr_size *invrg_corr_find(const invrg_corr_results *r, int64_t L);

/**
 * Logs one line per size (samples, ξ₂, ξ₂/L with its distance from the
 * critical value, χ' = S(0), and with functions G_axis(1), G_axis(L/2)) at
 * info level (world rank 0 prints). Not collective.
 */
void invrg_corr_log(const invrg_corr_results *r, const char *source);

#endif
