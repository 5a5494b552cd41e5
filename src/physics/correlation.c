/* Correlation accumulators: per lattice size and jackknife block, exact
 * fixed-point sums of S(0), S(k_min) (the cheap path, from line sums) and, with
 * functions, of the projections of S(k) that G_axis, G_diag and the radial
 * S(k) are made of (the FFT); their exact reduction (correlation.h). */
#include "invrg/correlation.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/packed_measure.h"
#include "physics/correlation_internal.h"

/* One lattice size: its sums, the scratch of a configuration, and its transforms. */
typedef struct {
  corr_layout y;
  int64_t *blocks;    /* [n_blocks][record_len] */
  int64_t *map;       /* [L][L/2 + 1] exact pairs, or NULL */
  int64_t *lines;     /* [2L]: a configuration's row sums, then its column sums */
  corr_twiddles tw;   /* of the DFT of the line sums */
  int64_t *bins;      /* functions: [n_pairs]: this configuration's sums (this rank's columns) */
  int32_t *fold2;     /* functions: [2L]: corr_fold(m) for 0 ≤ m < 2L */
  int32_t *shell_col; /* functions: [n_fold]: shells of the column being measured, by folded n_y */
  corr_fft *fft[2];   /* functions: for replicated and for distributed lattices of this size */
} size_state;

struct invrg_corr {
  const invrg_groups *g;
  invrg_corr_params p;
  int n_sizes, capacity;
  size_state *size; /* in increasing L */
  bool reduced;
};

void corr_layout_of(int64_t L, bool functions, corr_layout *out) {
  out->L = L;
  out->functions = functions;
  out->n_fold = (int)(L / 2 + 1);
  out->n_shells = corr_shell(L / 2, L / 2) + 1;
  int bits = 0; /* ⌈log₂ N⌉ */
  while ((INT64_C(1) << bits) < L * L) bits++;
  /* Σ_k S(k) = N, so a configuration's sums (each k counted at most twice) stay below 2^61. */
  out->F = 60 - bits;
}

/* ------------------------------------------------------------------ sizes */

static void size_free(size_state *s) {
  corr_fft_destroy(&s->fft[0]);
  corr_fft_destroy(&s->fft[1]);
  free(s->blocks);
  free(s->map);
  free(s->lines);
  corr_twiddles_free(&s->tw);
  free(s->bins);
  free(s->fold2);
  free(s->shell_col);
  memset(s, 0, sizeof *s);
}

static invrg_err size_init(const invrg_corr *c, int64_t L, size_state *s) {
  invrg_err err = INVRG_SUCCESS;
  memset(s, 0, sizeof *s);
  corr_layout_of(L, c->p.functions, &s->y);
  s->blocks = calloc((size_t)c->p.n_blocks * corr_record_len(&s->y), sizeof *s->blocks);
  s->lines = malloc(2 * (size_t)L * sizeof *s->lines);
  INVRG_CHECK_ALLOC(s->blocks);
  INVRG_CHECK_ALLOC(s->lines);
  INVRG_CALL(corr_twiddles_init(L, &s->tw));
  if (!c->p.functions) goto cleanup;
  s->bins = calloc((size_t)corr_n_pairs(&s->y), sizeof *s->bins);
  s->fold2 = malloc(2 * (size_t)L * sizeof *s->fold2);
  s->shell_col = malloc((size_t)s->y.n_fold * sizeof *s->shell_col);
  INVRG_CHECK_ALLOC(s->bins);
  INVRG_CHECK_ALLOC(s->fold2);
  INVRG_CHECK_ALLOC(s->shell_col);
  for (int64_t m = 0; m < 2 * L; m++) s->fold2[m] = (int32_t)corr_fold(m, L);
  if (L <= c->p.map_max_L) {
    s->map = calloc(2 * (size_t)L * (size_t)s->y.n_fold, sizeof *s->map);
    INVRG_CHECK_ALLOC(s->map);
  }
cleanup:
  if (err != INVRG_SUCCESS) size_free(s);
  return err;
}

/* The state of size @p L, made (and kept in order) if new. */
static invrg_err size_get(invrg_corr *c, int64_t L, size_state **out) {
  invrg_err err = INVRG_SUCCESS;
  int at = 0;
  while (at < c->n_sizes && c->size[at].y.L < L) at++;
  if (at < c->n_sizes && c->size[at].y.L == L) {
    *out = &c->size[at];
    goto cleanup;
  }
  if (c->n_sizes == c->capacity) {
    int capacity = c->capacity > 0 ? 2 * c->capacity : 8;
    size_state *grown = realloc(c->size, (size_t)capacity * sizeof *grown);
    INVRG_CHECK_ALLOC(grown);
    c->size = grown;
    c->capacity = capacity;
  }
  size_state fresh;
  INVRG_CALL(size_init(c, L, &fresh));
  memmove(&c->size[at + 1], &c->size[at], (size_t)(c->n_sizes - at) * sizeof *c->size);
  c->size[at] = fresh;
  c->n_sizes++;
  *out = &c->size[at];
cleanup:
  return err;
}

/* ------------------------------------------------------------------ create, destroy */

invrg_err invrg_corr_create(const invrg_corr_params *p, const invrg_groups *g, invrg_corr **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_corr *c = NULL;
  *out = NULL;
  INVRG_CHECK(p->n_blocks >= 2, INVRG_ERR_INPUT,
              "correlations need at least 2 jackknife blocks, got %d", p->n_blocks);
  INVRG_CHECK(p->map_max_L >= 0, INVRG_ERR_INPUT, "correlations: map_max_L must be >= 0, got %lld",
              (long long)p->map_max_L);
  INVRG_CHECK(p->precision == INVRG_CORR_DOUBLE || p->precision == INVRG_CORR_SINGLE,
              INVRG_ERR_INPUT, "correlations: unknown precision %d", (int)p->precision);
  c = calloc(1, sizeof *c);
  INVRG_CHECK_ALLOC(c);
  c->g = g;
  c->p = *p;
  *out = c;
cleanup:
  return err;
}

void invrg_corr_destroy(invrg_corr **cp) {
  invrg_corr *c = *cp;
  if (c == NULL) return;
  for (int i = 0; i < c->n_sizes; i++) size_free(&c->size[i]);
  free(c->size);
  free(c);
  *cp = NULL;
}

/* ------------------------------------------------------------------ measure */

/* What the column callback needs. */
typedef struct {
  size_state *s;
  double to_fixed;       /* 2^F / N: |ŝ|² → fixed-point units of S = |ŝ|²/N */
  bool single;           /* ŝ in single precision */
  int64_t magnetisation; /* M = ŝ(0) from the line sums (on the rank that has column 0) */
  bool bad_zero_mode;    /* ŝ(0) is not M: the transform went wrong */
} column_ctx;

/*
 * A non-negative double rounded to the nearest integer (halves up): a truncating
 * conversion, inline, where llrint() would be a libm call per k.
 */
static inline int64_t round_nonnegative(double v) { return (int64_t)(v + 0.5); }

/* |ŝ|² in fixed-point units of S = |ŝ|²/N. */
static inline int64_t fixed(const fftw_complex z, double to_fixed) {
  return round_nonnegative((z[0] * z[0] + z[1] * z[1]) * to_fixed);
}

/*
 * Adds column n_x of |ŝ|² to the configuration's sums of the functions (S(0)
 * and S(k_min) are the cheap path's), for the whole k plane:
 * the r2c half plane holds n_x = 0 … L/2, and every other column is the mirror
 * (−n_x, −n_y) of one of them with the same S and the same folded projections
 * and shell, hence weight 2 for 0 < n_x < L/2.
 *   A[f] += S for each of f = fold(n_x), fold(n_y)              (axis projections)
 *   D[f] += S for each of f = fold(n_x + n_y), fold(n_x − n_y)  (diagonal ones)
 *   R[shell(n)] += S
 * Modes n_y and L − n_y share fold(n_y) and the shell, and swap the two diagonal
 * bins, so they are added as a pair: the loop runs over f_y = fold(n_y) only.
 */
static void measure_column(void *vctx, int64_t nx, const fftw_complex *col) {
  column_ctx *x = vctx;
  size_state *s = x->s;
  const int64_t L = s->y.L, H = s->y.n_fold;
  int64_t *bins = s->bins, *A = bins + corr_axis_at(&s->y), *D = bins + corr_diag_at(&s->y);
  int64_t *R = bins + corr_shell_at(&s->y);
  const int32_t *fold2 = s->fold2;
  const int64_t w = (nx == 0 || 2 * nx == L) ? 1 : 2;
  const double to_fixed = x->to_fixed;
  /* shells along the column: |n|² grows with f_y, so walk outwards */
  int32_t *shell = s->shell_col;
  for (int64_t fy = 0, q = 0; fy < H; fy++) {
    const int64_t n2 = nx * nx + fy * fy;
    while (q * q + q < n2) q++;
    shell[fy] = (int32_t)q;
  }
  int64_t v0 = fixed(col[0], to_fixed);
  if (nx == 0) { /* S(0) exactly from the magnetisation M = ŝ(0), as the cheap path has it */
    const double M = (double)x->magnetisation;
    /* double: ŝ(0) is the integer M (sums of ±1 below 2^53); float: M within the FFT's error
     * bound |Δŝ| ≤ 7ε·log₂N·‖ŝ‖ = 7ε·log₂N·N, ε = 2^−24 (docs/physics.md §7) */
    const double N = (double)L * (double)L;
    const double slack = 1e-3 + (x->single ? 7 * 0x1p-24 * log2(N) * N : 0);
    x->bad_zero_mode = fabs(col[0][0] - M) > slack || fabs(col[0][1]) > slack;
    v0 = round_nonnegative(M * M * to_fixed);
  }
  int64_t column_sum = 0, shell_sum = 0; /* shells come in runs: sum a run, then store it */
  int32_t current = 0;
  for (int64_t fy = 0; fy < H; fy++) {
    const bool paired = fy != 0 && 2 * fy != L;
    const int64_t v =
        (fy == 0 ? v0 : fixed(col[fy], to_fixed)) + (paired ? fixed(col[L - fy], to_fixed) : 0);
    const int64_t wv = w * v;
    column_sum += v;
    A[fy] += wv;
    D[fold2[nx + fy]] += wv;
    D[fold2[nx - fy + L]] += wv;
    if (shell[fy] != current) {
      R[current] += shell_sum;
      current = shell[fy], shell_sum = 0;
    }
    shell_sum += wv;
  }
  R[current] += shell_sum;
  A[nx] += w * column_sum;
  if (s->map) {
    for (int64_t ky = 0; ky < L; ky++)
      corr_exact_add(s->map + 2 * (ky * H + nx), ky == 0 ? v0 : fixed(col[ky], to_fixed));
  }
}

/* A configuration whole on every rank of the group is measured once, by group rank 0. */
static bool measures(const invrg_corr *c, const corr_source *src) {
  return src->distributed || c->g->rank == 0;
}

/* The size state (and with functions the transform) for @p src, an ly × lx configuration,
 * made if needed; NULL on the ranks that do not measure it (measures()). Collective on
 * src->comm when distributed. */
static invrg_err prepare(invrg_corr *c, const corr_source *src, int64_t lx, int64_t ly,
                         size_state **out) {
  invrg_err err = INVRG_SUCCESS;
  *out = NULL;
  if (!measures(c, src)) goto cleanup;
  INVRG_CHECK(!c->reduced, INVRG_ERR_RUNTIME,
              "correlations: configuration added after the reduction");
  INVRG_CHECK(lx == ly && lx >= 2, INVRG_ERR_INPUT,
              "correlations need a square lattice of side >= 2, got %lld x %lld", (long long)lx,
              (long long)ly);
  const bool distributed = src->distributed;
  if (distributed) {
    int size = 0;
    INVRG_MPI_CALL(MPI_Comm_size(src->comm, &size));
    INVRG_CHECK(size == c->g->ranks_per_group, INVRG_ERR_RUNTIME,
                "correlations: the lattice is distributed over %d ranks, the group has %d", size,
                c->g->ranks_per_group);
  }
  size_state *s = NULL;
  INVRG_CALL(size_get(c, lx, &s));
  if (c->p.functions && !corr_fft_fits(s->fft[distributed], src)) {
    corr_fft_destroy(&s->fft[distributed]);
    INVRG_CALL(corr_fft_create(src, c->p.precision, &s->fft[distributed]));
  }
  *out = s;
cleanup:
  return err;
}

invrg_err invrg_corr_prepare(invrg_corr *c, const invrg_lattice *lat) {
  invrg_err err = INVRG_SUCCESS;
  size_state *s = NULL;
  const corr_source src = corr_source_of_lattice(lat);
  INVRG_CALL(prepare(c, &src, lat->lx, lat->ly, &s));
cleanup:
  return err;
}

/* 2^F / N: values of |ŝ|² → fixed-point units of S = |ŝ|²/N for configurations of side L. */
static double points_to_fixed(const size_state *s) {
  return ldexp(1.0, s->y.F) / ((double)s->y.L * (double)s->y.L);
}

/*
 * The cheap path's record entries of one configuration with magnetisation M and line powers
 * p10 = |Σ_x c_x e^{−2πix/L}|², p01 = |Σ_y r_y e^{−2πiy/L}|² (column sums c, row sums r),
 * added to @p record with its count:
 *   S(0) = M²/N,  S(1,0) = p10/N,  S(0,1) = p01/N,
 * each rounded to the fixed point 2^−F as the FFT's values are (@p to_fixed: 2^F/N).
 */
static void add_point_values(double to_fixed, int64_t M, double p10, double p01,
                             int64_t *record) {
  const double Md = (double)M;
  record[0]++;
  corr_exact_add(record + 1 + 2 * POINT_S00, round_nonnegative(Md * Md * to_fixed));
  corr_exact_add(record + 1 + 2 * POINT_S10, round_nonnegative(p10 * to_fixed));
  corr_exact_add(record + 1 + 2 * POINT_S01, round_nonnegative(p01 * to_fixed));
}

/* The same from its line sums (rows, then columns, [2L]). */
static void add_points(const size_state *s, const int64_t *lines, int64_t M, int64_t *record) {
  add_point_values(points_to_fixed(s), M, corr_line_power(&s->tw, lines + s->y.L),
                   corr_line_power(&s->tw, lines), record);
}

static int64_t sum_of(const int64_t *v, int64_t n) {
  int64_t total = 0;
  for (int64_t k = 0; k < n; k++) total += v[k];
  return total;
}

static invrg_err check_block(const invrg_corr *c, int block) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(block >= 0 && block < c->p.n_blocks, INVRG_ERR_RUNTIME,
              "correlations: jackknife block %d is not in 0 .. %d", block, c->p.n_blocks - 1);
cleanup:
  return err;
}

/* Lanes whose sums are checked together (a batch of dreams). */
enum { LANES_CHECKED = 64 };

invrg_err invrg_corr_add_lanes(invrg_corr *c, int64_t L, int n, const int64_t *row_sums,
                               const int64_t *col_sums, const int64_t *magnetisation,
                               const int *blocks) {
  invrg_err err = INVRG_SUCCESS;
  size_state *s = NULL;
  INVRG_CHECK(!c->p.functions, INVRG_ERR_RUNTIME,
              "correlations: the correlation functions need the configuration, not its sums");
  INVRG_CHECK(!c->reduced, INVRG_ERR_RUNTIME,
              "correlations: configuration added after the reduction");
  INVRG_CHECK(L >= 2 && L <= INT32_MAX, INVRG_ERR_INPUT, "correlations: side %lld",
              (long long)L);
  for (int i0 = 0; i0 < n; i0 += LANES_CHECKED) { /* line by line: the lanes side by side */
    const int count = n - i0 < LANES_CHECKED ? n - i0 : LANES_CHECKED;
    int64_t rows[LANES_CHECKED] = {0}, cols[LANES_CHECKED] = {0};
    int wide[LANES_CHECKED] = {0}; /* a line sum of L spins beyond ±L */
    for (int64_t k = 0; k < L; k++)
      for (int j = 0; j < count; j++) {
        const int64_t r = row_sums[k * n + i0 + j], col = col_sums[k * n + i0 + j];
        rows[j] += r, cols[j] += col;
        wide[j] |= (r < -L) | (r > L) | (col < -L) | (col > L);
      }
    for (int j = 0; j < count; j++) {
      const int i = i0 + j;
      INVRG_CHECK(blocks[i] >= 0 && blocks[i] < c->p.n_blocks, INVRG_ERR_RUNTIME,
                  "correlations: jackknife block %d is not in 0 .. %d", blocks[i],
                  c->p.n_blocks - 1);
      INVRG_CHECK(!wide[j], INVRG_ERR_RUNTIME,
                  "correlations: configuration %d of %d has a line sum outside -%lld .. %lld",
                  i + 1, n, (long long)L, (long long)L);
      INVRG_CHECK(rows[j] == magnetisation[i] && cols[j] == magnetisation[i], INVRG_ERR_RUNTIME,
                  "correlations: row sums (total %lld) and column sums (total %lld) of "
                  "configuration %d of %d do not add up to its magnetisation %lld",
                  (long long)rows[j], (long long)cols[j], i + 1, n, (long long)magnetisation[i]);
    }
  }
  INVRG_CALL(size_get(c, L, &s));
  const size_t len = corr_record_len(&s->y);
  const double to_fixed = points_to_fixed(s);
  for (int i0 = 0; i0 < n; i0 += CORR_LINE_GROUP) {
    const int g = n - i0 < CORR_LINE_GROUP ? n - i0 : CORR_LINE_GROUP;
    double p10[CORR_LINE_GROUP], p01[CORR_LINE_GROUP];
    corr_line_powers(&s->tw, col_sums + i0, (size_t)n, g, p10);
    corr_line_powers(&s->tw, row_sums + i0, (size_t)n, g, p01);
    for (int j = 0; j < g; j++)
      add_point_values(to_fixed, magnetisation[i0 + j], p10[j], p01[j],
                       s->blocks + (size_t)blocks[i0 + j] * len);
  }
cleanup:
  return err;
}

invrg_err invrg_corr_add_sums(invrg_corr *c, int64_t L, const int64_t *row_sums,
                              const int64_t *col_sums, int64_t magnetisation, int block) {
  return invrg_corr_add_lanes(c, L, 1, row_sums, col_sums, &magnetisation, &block);
}

invrg_err invrg_corr_add_partial_sums(invrg_corr *c, int64_t L, const int64_t *row_sums,
                                      const int64_t *col_sums, int block, MPI_Comm comm) {
  invrg_err err = INVRG_SUCCESS;
  int64_t *lines = NULL;
  int rank = 0;
  INVRG_CHECK(L >= 2 && L <= INT32_MAX / 2, INVRG_ERR_INPUT, "correlations: side %lld",
              (long long)L);
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  lines = malloc(2 * (size_t)L * sizeof *lines);
  INVRG_CHECK_ALLOC(lines);
  memcpy(lines, row_sums, (size_t)L * sizeof *lines);
  memcpy(lines + L, col_sums, (size_t)L * sizeof *lines);
  /* integer sums: exact in any order */
  INVRG_MPI_CALL(MPI_Reduce(rank == 0 ? MPI_IN_PLACE : lines, lines, (int)(2 * L), MPI_INT64_T,
                            MPI_SUM, 0, comm));
  if (rank == 0) INVRG_CALL(invrg_corr_add_sums(c, L, lines, lines + L, sum_of(lines, L), block));
cleanup:
  free(lines);
  return err;
}

/* The functions of @p src by FFT: this rank's columns' projections added to @p record;
 * @p M: the magnetisation (needed by the rank with column 0, comm rank 0). */
static invrg_err add_functions(const invrg_corr *c, size_state *s, const corr_source *src,
                               int64_t M, int64_t *record) {
  invrg_err err = INVRG_SUCCESS;
  const double N = (double)src->L * (double)src->L;
  memset(s->bins, 0, (size_t)corr_n_pairs(&s->y) * sizeof *s->bins);
  column_ctx ctx = {s, ldexp(1.0, s->y.F) / N, c->p.precision == INVRG_CORR_SINGLE, M, false};
  INVRG_CALL(corr_fft_run(s->fft[src->distributed], src, measure_column, &ctx));
  INVRG_CHECK(!ctx.bad_zero_mode, INVRG_ERR_RUNTIME,
              "correlations: the FFT's k = 0 mode is not the magnetisation %lld of the line sums",
              (long long)M);
  /* each rank of a distributed lattice adds its columns; the points are the cheap path's */
  for (int k = N_POINTS; k < corr_n_pairs(&s->y); k++)
    corr_exact_add(record + 1 + 2 * k, s->bins[k]);
cleanup:
  return err;
}

/* One configuration's entries in jackknife block @p block: the points from its whole line sums
 * s->lines and magnetisation @p M (by the rank @p adds_points), the functions by every rank
 * of @p src. */
static invrg_err add_measured(const invrg_corr *c, size_state *s, const corr_source *src,
                              int64_t M, bool adds_points, int block) {
  invrg_err err = INVRG_SUCCESS;
  int64_t *record = s->blocks + (size_t)block * corr_record_len(&s->y);
  if (adds_points) add_points(s, s->lines, M, record);
  if (c->p.functions) INVRG_CALL(add_functions(c, s, src, M, record));
cleanup:
  return err;
}

invrg_err invrg_corr_add_configuration(invrg_corr *c, const invrg_lattice *lat, int block) {
  invrg_err err = INVRG_SUCCESS;
  size_state *s = NULL;
  INVRG_CALL(check_block(c, block));
  const corr_source src = corr_source_of_lattice(lat);
  INVRG_CALL(prepare(c, &src, lat->lx, lat->ly, &s));
  if (s == NULL) goto cleanup; /* a whole lattice: group rank 0 measures it */
  const int64_t L = lat->lx;
  invrg_corr_line_sums(lat, s->lines, s->lines + L);
  int comm_rank = 0;
  if (src.distributed) { /* exact integer sums on the comm's rank 0 */
    INVRG_MPI_CALL(MPI_Comm_rank(lat->comm, &comm_rank));
    INVRG_MPI_CALL(MPI_Reduce(comm_rank == 0 ? MPI_IN_PLACE : s->lines, s->lines, (int)(2 * L),
                              MPI_INT64_T, MPI_SUM, 0, lat->comm));
  }
  const int64_t M = comm_rank == 0 ? sum_of(s->lines, L) : 0; /* the reduced sums' */
  INVRG_CALL(add_measured(c, s, &src, M, comm_rank == 0, block));
cleanup:
  return err;
}

invrg_err invrg_corr_prepare_packed(invrg_corr *c, const invrg_packed *p) {
  invrg_err err = INVRG_SUCCESS;
  size_state *s = NULL;
  const corr_source src = corr_source_of_packed(p);
  INVRG_CALL(prepare(c, &src, p->lx, p->ly, &s));
cleanup:
  return err;
}

invrg_err invrg_corr_add_packed(invrg_corr *c, const invrg_packed *p, int block) {
  invrg_err err = INVRG_SUCCESS;
  size_state *s = NULL;
  INVRG_CALL(check_block(c, block));
  const corr_source src = corr_source_of_packed(p);
  INVRG_CALL(prepare(c, &src, p->lx, p->ly, &s));
  if (s == NULL) goto cleanup; /* whole on every rank: group rank 0 measures it */
  INVRG_CALL(invrg_packed_row_col_sums(p, s->lines, s->lines + p->lx)); /* whole, every rank */
  INVRG_CALL(add_measured(c, s, &src, sum_of(s->lines, p->lx), p->rank == 0, block));
cleanup:
  return err;
}

int64_t invrg_corr_samples(const invrg_corr *c, int64_t L) {
  for (int i = 0; i < c->n_sizes; i++) {
    const size_state *s = &c->size[i];
    if (s->y.L != L) continue;
    int64_t n = 0;
    for (int b = 0; b < c->p.n_blocks; b++) n += s->blocks[(size_t)b * corr_record_len(&s->y)];
    return n;
  }
  return 0;
}

/* ------------------------------------------------------------------ reduce */

/* x[0..n) summed over @p comm in place, in chunks MPI counts can hold. */
static invrg_err allreduce_int64(int64_t *x, size_t n, MPI_Comm comm) {
  invrg_err err = INVRG_SUCCESS;
  const size_t chunk = (size_t)1 << 24;
  for (size_t first = 0; first < n; first += chunk) {
    const size_t count = n - first < chunk ? n - first : chunk;
    INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, x + first, (int)count, MPI_INT64_T, MPI_SUM, comm));
  }
cleanup:
  return err;
}

/* Every rank gets a state for every size any rank has (empty where it had none). */
static invrg_err unite_sizes(invrg_corr *c) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_groups *g = c->g;
  int *counts = NULL, *displs = NULL;
  int64_t *mine = NULL, *all = NULL;
  counts = malloc((size_t)g->world_size * sizeof *counts);
  displs = malloc((size_t)g->world_size * sizeof *displs);
  mine = malloc((size_t)(c->n_sizes + 1) * sizeof *mine);
  INVRG_CHECK_ALLOC(counts);
  INVRG_CHECK_ALLOC(displs);
  INVRG_CHECK_ALLOC(mine);
  for (int i = 0; i < c->n_sizes; i++) mine[i] = c->size[i].y.L;
  INVRG_MPI_CALL(MPI_Allgather(&c->n_sizes, 1, MPI_INT, counts, 1, MPI_INT, g->world));
  int total = 0;
  for (int r = 0; r < g->world_size; r++) {
    displs[r] = total;
    total += counts[r];
  }
  all = malloc((size_t)(total + 1) * sizeof *all);
  INVRG_CHECK_ALLOC(all);
  INVRG_MPI_CALL(
      MPI_Allgatherv(mine, c->n_sizes, MPI_INT64_T, all, counts, displs, MPI_INT64_T, g->world));
  for (int k = 0; k < total; k++) {
    size_state *s = NULL;
    INVRG_CALL(size_get(c, all[k], &s));
  }
cleanup:
  free(counts);
  free(displs);
  free(mine);
  free(all);
  return err;
}

/* 0 ≤ lo < 2^32 again in summed records (a count, then (hi, lo) pairs) and map pairs of @p s. */
static void normalise_sums(const invrg_corr *c, const size_state *s, int64_t *blocks, int64_t *map) {
  for (int b = 0; b < c->p.n_blocks; b++) {
    int64_t *record = blocks + (size_t)b * corr_record_len(&s->y);
    for (int k = 0; k < corr_n_pairs(&s->y); k++) corr_exact_normalise(record + 1 + 2 * k);
  }
  if (map != NULL)
    for (size_t k = 0; k < (size_t)s->y.L * (size_t)s->y.n_fold; k++)
      corr_exact_normalise(map + 2 * k);
}

invrg_err invrg_corr_reduce(invrg_corr *c) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(!c->reduced, INVRG_ERR_RUNTIME, "correlations: reduced twice");
  INVRG_CALL(unite_sizes(c));
  /* Each rank holds only what it measured (its columns, or a replicated lattice measured by
   * group rank 0 alone), so the world sum is the total. Integer sums are exact in any order. */
  for (int i = 0; i < c->n_sizes; i++) {
    size_state *s = &c->size[i];
    const size_t len = (size_t)c->p.n_blocks * corr_record_len(&s->y);
    INVRG_CALL(allreduce_int64(s->blocks, len, c->g->world));
    if (s->map)
      INVRG_CALL(allreduce_int64(s->map, 2 * (size_t)s->y.L * (size_t)s->y.n_fold, c->g->world));
    normalise_sums(c, s, s->blocks, s->map);
  }
  c->reduced = true;
cleanup:
  return err;
}

/* ------------------------------------------------------------------ for the analysis */

bool corr_reduced(const invrg_corr *c) { return c->reduced; }

int corr_n_sizes(const invrg_corr *c) { return c->n_sizes; }

void corr_size_sums_of(const invrg_corr *c, int i, corr_size_sums *out) {
  out->layout = c->size[i].y;
  out->n_blocks = c->p.n_blocks;
  out->blocks = c->size[i].blocks;
  out->map = c->size[i].map;
}

const invrg_groups *corr_groups(const invrg_corr *c) { return c->g; }

int corr_requested_blocks(const invrg_corr *c) { return c->p.n_blocks; }

/* ------------------------------------------------------------------ checkpoints */

size_t invrg_corr_params_state_length(const invrg_corr_params *p, int64_t L) {
  corr_layout y;
  corr_layout_of(L, p->functions, &y);
  /* the blocks, then the map if the size keeps one (as size_init makes it) */
  return (size_t)p->n_blocks * corr_record_len(&y) +
         (p->functions && L <= p->map_max_L ? 2 * (size_t)L * (size_t)y.n_fold : 0);
}

size_t invrg_corr_state_length(const invrg_corr *c, int64_t L) {
  return invrg_corr_params_state_length(&c->p, L);
}

void invrg_corr_state_destroy(invrg_corr_state **sp) {
  invrg_corr_state *s = *sp;
  if (s == NULL) return;
  for (int i = 0; s->sums != NULL && i < s->n_sizes; i++) free(s->sums[i]);
  free(s->sums);
  free(s->n_sums);
  free(s->L);
  free(s);
  *sp = NULL;
}

invrg_err invrg_corr_state_create(const invrg_corr *c, int n_sizes, const int64_t *L,
                                  invrg_corr_state **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_corr_state *s = NULL;
  *out = NULL;
  INVRG_CHECK(n_sizes >= 0, INVRG_ERR_RUNTIME, "correlations: %d sizes in a state", n_sizes);
  s = calloc(1, sizeof *s);
  INVRG_CHECK_ALLOC(s);
  const size_t n = (size_t)n_sizes + 1; /* never a zero-sized allocation */
  s->L = malloc(n * sizeof *s->L);
  s->n_sums = malloc(n * sizeof *s->n_sums);
  s->sums = calloc(n, sizeof *s->sums);
  INVRG_CHECK_ALLOC(s->L);
  INVRG_CHECK_ALLOC(s->n_sums);
  INVRG_CHECK_ALLOC(s->sums);
  s->n_sizes = n_sizes;
  for (int i = 0; i < n_sizes; i++) {
    INVRG_CHECK(L[i] >= 2, INVRG_ERR_RUNTIME, "correlations: size %lld in a state",
                (long long)L[i]);
    s->L[i] = L[i];
    s->n_sums[i] = invrg_corr_state_length(c, L[i]);
    s->sums[i] = malloc(s->n_sums[i] * sizeof *s->sums[i]);
    INVRG_CHECK_ALLOC(s->sums[i]);
  }
  *out = s;
  s = NULL;
cleanup:
  invrg_corr_state_destroy(&s);
  return err;
}

invrg_err invrg_corr_state_export(invrg_corr *c, invrg_corr_state **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_corr_state *st = NULL;
  int64_t *L = NULL;
  *out = NULL;
  INVRG_CHECK(!c->reduced, INVRG_ERR_RUNTIME, "correlations: saved after the reduction");
  INVRG_CALL(unite_sizes(c));
  L = malloc((size_t)(c->n_sizes + 1) * sizeof *L);
  INVRG_CHECK_ALLOC(L);
  for (int i = 0; i < c->n_sizes; i++) L[i] = c->size[i].y.L;
  INVRG_CALL(invrg_corr_state_create(c, c->n_sizes, L, &st));
  for (int i = 0; i < c->n_sizes; i++) {
    const size_state *s = &c->size[i];
    int64_t *sum = st->sums[i];
    const size_t nb = (size_t)c->p.n_blocks * corr_record_len(&s->y), n = st->n_sums[i];
    memcpy(sum, s->blocks, nb * sizeof *sum);
    if (s->map) memcpy(sum + nb, s->map, (n - nb) * sizeof *sum);
    /* Each rank holds what it measured: the world sum is the total (as in the reduction). */
    INVRG_CALL(allreduce_int64(sum, n, c->g->world));
    normalise_sums(c, s, sum, s->map ? sum + nb : NULL);
  }
  *out = st;
  st = NULL;
cleanup:
  invrg_corr_state_destroy(&st);
  free(L);
  return err;
}

invrg_err invrg_corr_state_import(invrg_corr *c, const invrg_corr_state *st) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CHECK(!c->reduced, INVRG_ERR_RUNTIME, "correlations: restored after the reduction");
  for (int i = 0; i < st->n_sizes; i++) {
    size_state *s = NULL;
    INVRG_CALL(size_get(c, st->L[i], &s));
    const size_t n = st->n_sums[i], nb = (size_t)c->p.n_blocks * corr_record_len(&s->y);
    INVRG_CHECK(n == invrg_corr_state_length(c, st->L[i]), INVRG_ERR_RUNTIME,
                "correlations: the state of size %lld holds %zu numbers, expected %zu",
                (long long)st->L[i], n, invrg_corr_state_length(c, st->L[i]));
    if (c->g->world_rank == 0) { /* counted once in the reduction */
      for (size_t k = 0; k < nb; k++) s->blocks[k] += st->sums[i][k];
      for (size_t k = nb; k < n; k++) s->map[k - nb] += st->sums[i][k];
    }
  }
cleanup:
  return err;
}
