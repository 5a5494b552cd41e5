/* Private to the correlation module (correlation*.c): the 2D Fourier
 * transform of a configuration that gives bit-identical ŝ(k) in every layout,
 * and the exact integers the accumulators are made of. */
#ifndef INVRG_CORRELATION_INTERNAL_H
#define INVRG_CORRELATION_INTERNAL_H

#include <fftw3.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "invrg/correlation.h"
#include "invrg/packed.h"

/* ------------------------------------------------------------------ transform */

/*
 * ŝ(k) = Σ_x s_x e^{−ik·x} of an L × L configuration, computed as
 *   rows:    r2c along x of every row (one FFTW 1D plan, out of an aligned buffer),
 *   transpose (in memory, or one MPI_Alltoallv across the group's ranks),
 *   columns: c2c along y of every column n_x = 0 … L/2 (one FFTW 1D plan, out of
 *            place from a buffer of the plan's alignment into one spectrum buffer).
 * Every 1D transform is the same plan on the same kind of buffer whatever the
 * layout, and the transposes only move numbers, so ŝ is bit-identical for a
 * replicated lattice and for any grid of a distributed one.
 */
typedef struct corr_fft corr_fft;

/*
 * The configuration a transform reads: an int8 lattice (replicated, or distributed over any
 * grid of the group), or a packed one (whole on the rank, or split by rows over the group),
 * with what the transform needs of its layout.
 */
typedef struct {
  const invrg_lattice *lat;   /* int8 rows, or NULL */
  const invrg_packed *packed; /* packed rows, or NULL */
  int64_t L;
  bool distributed;           /* split over comm (else whole on this rank) */
  int nx, ny;                 /* this rank's block */
  int64_t x0, y0;
  MPI_Comm comm;
} corr_source;

corr_source corr_source_of_lattice(const invrg_lattice *lat);
corr_source corr_source_of_packed(const invrg_packed *p);

/* Receives column n_x of ŝ: col[n_y] = ŝ(n_x, n_y) for n_y = 0 … L − 1. */
typedef void (*corr_column_fn)(void *ctx, int64_t nx, const fftw_complex *col);

/*
 * Workspace and plans for configurations like @p src (L × L), transforms in @p precision (the
 * columns reach the callback as doubles either way). Whole on the rank: not collective.
 * Distributed: collective on src->comm (the ranks agree on the path).
 */
invrg_err corr_fft_create(const corr_source *src, invrg_corr_precision precision,
                          corr_fft **out);

/* True if @p f was made for configurations of @p src's size and layout. Not collective. */
bool corr_fft_fits(const corr_fft *f, const corr_source *src);

/*
 * Transforms @p src and hands each of this rank's columns to @p column, in
 * increasing n_x. Distributed: collective on src->comm, each rank gets its own
 * range of columns (possibly none). The same bits for the same spins, int8 or packed.
 */
invrg_err corr_fft_run(corr_fft *f, const corr_source *src, corr_column_fn column, void *ctx);

/* Frees it; sets *f to NULL; accepts NULL. Not collective. */
void corr_fft_destroy(corr_fft **f);

/* ------------------------------------------------------------------ exact integers */

/*
 * An exact integer v = hi·2^32 + lo kept as two int64 with 0 ≤ lo < 2^32 after
 * normalisation: sums of per-configuration values below 2^62 over any number
 * of configurations, blocks and ranks stay exact (|v| < 2^94), and MPI_SUM of
 * normalised pairs over fewer than 2^31 ranks does not overflow lo.
 */
static inline void corr_exact_normalise(int64_t *x) {
  int64_t carry = x[1] >= 0 ? x[1] / 4294967296 : -((-x[1] + 4294967295) / 4294967296);
  x[0] += carry;
  x[1] -= carry * 4294967296;
}

/* x += v for 0 ≤ v < 2^63. */
static inline void corr_exact_add(int64_t *x, int64_t v) {
  x[0] += v >> 32;
  x[1] += v & INT64_C(0xffffffff);
  if (x[1] >= 4294967296) x[0] += 1, x[1] -= 4294967296;
}

static inline double corr_exact_to_double(const int64_t *x) {
  return (double)x[0] * 4294967296.0 + (double)x[1];
}

/* ------------------------------------------------------------------ accumulator layout */

/*
 * Per (size, jackknife block) record of int64: the sample count, then exact
 * pairs for S(0,0), S(1,0), S(0,1) (mode numbers; from the cheap path), and
 * with functions (the FFT) the folded axis projection A[L/2 + 1], the folded
 * diagonal projection D[L/2 + 1] and the radial shells R[n_shells], all in
 * units of 2^−F (see correlation.c).
 */
enum { POINT_S00, POINT_S10, POINT_S01, N_POINTS };

typedef struct {
  int64_t L;
  int n_fold;   /* L/2 + 1: folded mode numbers 0 … L/2 */
  int n_shells; /* shells 0 … round(|(L/2, L/2)|) */
  int F;        /* fixed-point bits */
  bool functions; /* the record holds the FFT's projections too */
} corr_layout;

/* Number of pairs of a record, and offsets (in pairs) of its parts. */
static inline int corr_n_pairs(const corr_layout *y) {
  return N_POINTS + (y->functions ? 2 * y->n_fold + y->n_shells : 0);
}
static inline int corr_axis_at(const corr_layout *y) {
  (void)y;
  return N_POINTS;
}
static inline int corr_diag_at(const corr_layout *y) { return N_POINTS + y->n_fold; }
static inline int corr_shell_at(const corr_layout *y) { return N_POINTS + 2 * y->n_fold; }
/* int64 per record: the count and the pairs. */
static inline size_t corr_record_len(const corr_layout *y) {
  return 1 + 2 * (size_t)corr_n_pairs(y);
}

/* The layout of size L (L ≥ 2), with or without the FFT's projections. */
void corr_layout_of(int64_t L, bool functions, corr_layout *out);

/* ------------------------------------------------------------------ the cheap path */

/* cos and sin of 2πx/L for x = 0 … L − 1: the twiddles of the DFT of the line sums. */
typedef struct {
  int64_t L;
  double *cos_t, *sin_t; /* [L] */
} corr_twiddles;

invrg_err corr_twiddles_init(int64_t L, corr_twiddles *t);
void corr_twiddles_free(corr_twiddles *t);

/*
 * |Σ_x v_x e^{−2πix/L}|² of L integer sums, in a fixed order: the same bits
 * for the same sums on every rank.
 */
double corr_line_power(const corr_twiddles *t, const int64_t *v);

/* corr_line_power() of @p n ≤ CORR_LINE_GROUP lines at once, line j's x-th sum at
 * v[x·stride + j], into out[j]: each the same bits (the same operations in the same order),
 * the n sums interleaved so that they do not wait for each other's additions. */
enum { CORR_LINE_GROUP = 8 };
void corr_line_powers(const corr_twiddles *t, const int64_t *v, size_t stride, int n,
                      double *out);

/* Folded mode number: min(n mod L, L − n mod L) ∈ [0, L/2]. */
static inline int64_t corr_fold(int64_t n, int64_t L) {
  int64_t m = ((n % L) + L) % L;
  return m <= L - m ? m : L - m;
}

/*
 * Radial shell of folded mode numbers (fx, fy): the q with (q − ½)² < n² < (q + ½)²,
 * n² = fx² + fy², i.e. |n| rounded (never a tie for integer n²); for integers
 * that is the smallest q with q² + q ≥ n².
 */
static inline int corr_shell(int64_t fx, int64_t fy) {
  const int64_t n2 = fx * fx + fy * fy;
  int64_t q = (int64_t)(sqrt((double)n2) + 0.5);
  while (q * q + q < n2) q++;
  while (q > 0 && (q - 1) * (q - 1) + (q - 1) >= n2) q--;
  return (int)q;
}

/* What the accumulator stores for one size: the reduced sums the analysis reads. */
typedef struct {
  corr_layout layout;
  int n_blocks;
  const int64_t *blocks; /* [n_blocks][corr_record_len] */
  const int64_t *map;    /* [L][L/2 + 1] exact pairs of S(n_x, n_y) summed over samples, or NULL */
} corr_size_sums;

/* True once invrg_corr_reduce() ran; then the sums below are the totals of all ranks. */
bool corr_reduced(const invrg_corr *c);
/* The reduced sums of the accumulator's i-th size (sizes in increasing L). */
int corr_n_sizes(const invrg_corr *c);
void corr_size_sums_of(const invrg_corr *c, int i, corr_size_sums *out);
const invrg_groups *corr_groups(const invrg_corr *c);
int corr_requested_blocks(const invrg_corr *c);

#endif
