/* Correlation analysis: from the exact sums to S(0), S(k_min), ξ₂ and, with
 * functions, G_axis, G_diag and the radial S(k), with delete-one jackknife
 * errors, the whole maps of small sizes, and their log (correlation.h;
 * io/corr_io.c writes them). */
#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/correlation.h"
#include "invrg/format.h"
#include "invrg/log.h"
#include "physics/correlation_internal.h"

/* ------------------------------------------------------------------ result layout */

enum {
  SC_SAMPLES,
  SC_BLOCKS,
  SC_F,
  SC_CHI,
  SC_CHI_ERR,
  SC_SK,
  SC_SK_ERR,
  SC_XI,
  SC_XI_ERR,
  SC_XIL,
  SC_XIL_ERR,
  N_SCALARS
};

static void scalars_pack(const invrg_corr_size *z, double *v) {
  v[SC_SAMPLES] = (double)z->n_samples, v[SC_BLOCKS] = z->n_blocks, v[SC_F] = z->fixed_point_bits;
  v[SC_CHI] = z->chi_prime, v[SC_CHI_ERR] = z->chi_prime_err;
  v[SC_SK] = z->S_kmin, v[SC_SK_ERR] = z->S_kmin_err;
  v[SC_XI] = z->xi2, v[SC_XI_ERR] = z->xi2_err;
  v[SC_XIL] = z->xi2_over_L, v[SC_XIL_ERR] = z->xi2_over_L_err;
}

static void scalars_unpack(const double *v, invrg_corr_size *z) {
  z->n_samples = (int64_t)v[SC_SAMPLES], z->n_blocks = (int)v[SC_BLOCKS];
  z->fixed_point_bits = (int)v[SC_F];
  z->chi_prime = v[SC_CHI], z->chi_prime_err = v[SC_CHI_ERR];
  z->S_kmin = v[SC_SK], z->S_kmin_err = v[SC_SK_ERR];
  z->xi2 = v[SC_XI], z->xi2_err = v[SC_XI_ERR];
  z->xi2_over_L = v[SC_XIL], z->xi2_over_L_err = v[SC_XIL_ERR];
}

/* Points the arrays of @p z into @p base (NULL: only counts); returns the doubles needed. */
static int64_t size_arrays(invrg_corr_size *z, double *base) {
  int64_t used = 0;
#define TAKE(field, count)           \
  do {                               \
    if (base) (field) = base + used; \
    used += (int64_t)(count);        \
  } while (0)
  TAKE(z->G_axis, z->n_r);
  TAKE(z->G_axis_err, z->n_r);
  TAKE(z->G_diag, z->n_r);
  TAKE(z->G_diag_err, z->n_r);
  TAKE(z->k_shell, z->n_shells);
  TAKE(z->shell_modes, z->n_shells);
  TAKE(z->S_radial, z->n_shells);
  TAKE(z->S_radial_err, z->n_shells);
  TAKE(z->xi2_over_L_jackknife, z->n_jackknife);
  if (z->has_map) {
    TAKE(z->S_map, z->L * (z->L / 2 + 1));
    TAKE(z->G_map, z->L * z->L);
  }
#undef TAKE
  return used;
}

static invrg_err size_alloc(const corr_size_sums *sums, invrg_corr_size *z) {
  invrg_err err = INVRG_SUCCESS;
  z->L = sums->layout.L;
  z->has_functions = sums->layout.functions;
  z->n_r = z->has_functions ? sums->layout.n_fold : 0;
  z->n_shells = z->has_functions ? sums->layout.n_shells : 0;
  z->n_jackknife = sums->n_blocks;
  z->has_map = sums->map != NULL;
  z->fixed_point_bits = sums->layout.F;
  z->n_values = size_arrays(z, NULL);
  z->values = malloc((size_t)(z->n_values > 0 ? z->n_values : 1) * sizeof *z->values);
  INVRG_CHECK_ALLOC(z->values);
  size_arrays(z, z->values);
  for (int64_t k = 0; k < z->n_values; k++) z->values[k] = NAN;
cleanup:
  return err;
}

void invrg_corr_results_destroy(invrg_corr_results **rp) {
  invrg_corr_results *r = *rp;
  if (r == NULL) return;
  for (int i = 0; i < r->n_sizes; i++) free(r->size[i].values);
  free(r->size);
  free(r);
  *rp = NULL;
}

const invrg_corr_size *invrg_corr_find(const invrg_corr_results *r, int64_t L) {
  for (int i = 0; i < r->n_sizes; i++)
    if (r->size[i].L == L) return &r->size[i];
  return NULL;
}

/* ------------------------------------------------------------------ the analysis of one size */

/*
 * Everything with a jackknife error, as one vector per sample set:
 * [S(0), S(k_min), ξ₂, ξ₂/L], with functions then [G_axis[n_r], G_diag[n_r], S_radial[n_shells]].
 */
enum { V_S0, V_SK, V_XI, V_XIL, V_HEAD };

typedef struct {
  corr_layout y;
  double N;
  int n_out;
  double *modes;    /* [n_shells] */
  fftw_complex *in; /* [n_fold] */
  double *out;      /* [L] */
  fftw_plan c2r;    /* G(r) = Σ_q P(q) e^{2πiqr/L} of a symmetric projection P */
  double *mean;     /* [n_pairs] */
  int64_t *diff;    /* [2] */
} analysis;

/* Modes of the whole k plane in each shell, and their mean |k|, from the r2c half plane. */
static void shell_geometry(const corr_layout *y, double *modes, double *k_mean) {
  const int64_t L = y->L, H = y->n_fold;
  for (int q = 0; q < y->n_shells; q++) modes[q] = k_mean[q] = 0;
  for (int64_t nx = 0; nx < H; nx++) {
    const double w = (nx == 0 || 2 * nx == L) ? 1 : 2;
    for (int64_t fy = 0; fy < H; fy++) {
      const double rows = (fy == 0 || 2 * fy == L) ? 1 : 2; /* n_y = fy and L − fy */
      const int q = corr_shell(nx, fy);
      modes[q] += w * rows;
      k_mean[q] += w * rows * sqrt((double)(nx * nx + fy * fy));
    }
  }
  for (int q = 0; q < y->n_shells; q++)
    k_mean[q] = modes[q] > 0 ? 2 * M_PI / (double)L * k_mean[q] / modes[q] : NAN;
}

/*
 * G from a folded projection P_fold (Σ over n of S at fold(n) = f): the unfolded
 * P(q) = P_fold(q) / (number of n with that fold) is symmetric, so its inverse
 * transform Σ_q P(q) e^{2πiqr/L} is real, and G = that / (2N) (each mode is in two
 * projections). G[r] for r = 0 … L/2.
 */
static void inverse_projection(analysis *a, const double *P_fold, double *G) {
  const int64_t L = a->y.L;
  for (int64_t q = 0; q < a->y.n_fold; q++) {
    a->in[q][0] = P_fold[q] / ((q == 0 || 2 * q == L) ? 1 : 2);
    a->in[q][1] = 0;
  }
  fftw_execute(a->c2r);
  for (int64_t r = 0; r < a->y.n_fold; r++) G[r] = a->out[r] / (2 * a->N);
}

/* The vector of derived quantities from the means (S units) of a record's pairs. */
static void derive(analysis *a, const double *mean, double *v) {
  const corr_layout *y = &a->y;
  const double L = (double)y->L;
  v[V_S0] = mean[POINT_S00];
  v[V_SK] = 0.5 * (mean[POINT_S10] + mean[POINT_S01]);
  /* ξ₂ = √(S(0)/S(k_min) − 1) / (2 sin(π/L)); NaN when S(0) < S(k_min) */
  const double ratio = v[V_S0] / v[V_SK] - 1;
  v[V_XI] = ratio >= 0 ? sqrt(ratio) / (2 * sin(M_PI / L)) : NAN;
  v[V_XIL] = v[V_XI] / L;
  if (!y->functions) return;
  double *G_axis = v + V_HEAD, *G_diag = G_axis + y->n_fold, *S_rad = G_diag + y->n_fold;
  inverse_projection(a, mean + corr_axis_at(y), G_axis);
  inverse_projection(a, mean + corr_diag_at(y), G_diag);
  for (int q = 0; q < y->n_shells; q++)
    S_rad[q] = a->modes[q] > 0 ? mean[corr_shell_at(y) + q] / a->modes[q] : NAN;
}

/* Means over (total − drop) of every pair, in S units; drop may be NULL. Exact until the end. */
static void record_means(analysis *a, const int64_t *total, const int64_t *drop) {
  const double count = (double)(total[0] - (drop ? drop[0] : 0));
  const double unit = ldexp(1.0, -a->y.F) / count;
  for (int k = 0; k < corr_n_pairs(&a->y); k++) {
    int64_t x[2] = {total[1 + 2 * k] - (drop ? drop[1 + 2 * k] : 0),
                    total[2 + 2 * k] - (drop ? drop[2 + 2 * k] : 0)};
    corr_exact_normalise(x);
    a->mean[k] = corr_exact_to_double(x) * unit;
  }
}

/* The mean maps and G(r) = (1/N) Σ_k S(k) e^{ik·r} by the 2D inverse transform. */
static invrg_err analyze_map(const corr_size_sums *sums, int64_t n, invrg_corr_size *z) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t L = z->L, H = L / 2 + 1;
  const double unit = ldexp(1.0, -sums->layout.F) / (double)n, N = (double)L * (double)L;
  fftw_complex *in = fftw_alloc_complex((size_t)(L * H));
  double *out = fftw_alloc_real((size_t)(L * L));
  fftw_plan plan = NULL;
  INVRG_CHECK_ALLOC(in);
  INVRG_CHECK_ALLOC(out);
  plan = fftw_plan_dft_c2r_2d((int)L, (int)L, in, out, FFTW_ESTIMATE);
  INVRG_CHECK(plan != NULL, INVRG_ERR_RUNTIME, "FFTW could not plan a %lld^2 c2r", (long long)L);
  for (int64_t k = 0; k < L * H; k++) {
    z->S_map[k] = corr_exact_to_double(sums->map + 2 * k) * unit;
    in[k][0] = z->S_map[k];
    in[k][1] = 0;
  }
  fftw_execute(plan);
  for (int64_t k = 0; k < L * L; k++) z->G_map[k] = out[k] / N;
cleanup:
  if (plan) fftw_destroy_plan(plan);
  fftw_free(in);
  fftw_free(out);
  return err;
}

/* All of one size, on one rank. */
static invrg_err analyze_size(const corr_size_sums *sums, invrg_corr_size *z) {
  invrg_err err = INVRG_SUCCESS;
  const corr_layout *y = &sums->layout;
  const size_t rec = corr_record_len(y);
  const int n_pairs = corr_n_pairs(y);
  analysis a = {.y = *y, .N = (double)y->L * (double)y->L};
  a.n_out = V_HEAD + (y->functions ? 2 * y->n_fold + y->n_shells : 0);
  int64_t *total = calloc(rec, sizeof *total);
  double *full = malloc((size_t)a.n_out * sizeof *full);
  double *fb = malloc((size_t)sums->n_blocks * (size_t)a.n_out * sizeof *fb);
  double *fbar = calloc((size_t)a.n_out, sizeof *fbar), *ss = calloc((size_t)a.n_out, sizeof *ss);
  a.modes = malloc((size_t)y->n_shells * sizeof *a.modes);
  a.mean = malloc((size_t)n_pairs * sizeof *a.mean);
  a.in = fftw_alloc_complex((size_t)y->n_fold);
  a.out = fftw_alloc_real((size_t)y->L);
  INVRG_CHECK_ALLOC(total);
  INVRG_CHECK_ALLOC(full);
  INVRG_CHECK_ALLOC(fb);
  INVRG_CHECK_ALLOC(fbar);
  INVRG_CHECK_ALLOC(ss);
  INVRG_CHECK_ALLOC(a.modes);
  INVRG_CHECK_ALLOC(a.mean);
  INVRG_CHECK_ALLOC(a.in);
  INVRG_CHECK_ALLOC(a.out);
  if (y->functions) {
    a.c2r = fftw_plan_dft_c2r_1d((int)y->L, a.in, a.out, FFTW_ESTIMATE);
    INVRG_CHECK(a.c2r != NULL, INVRG_ERR_RUNTIME, "FFTW could not plan a c2r of %lld",
                (long long)y->L);
    shell_geometry(y, z->shell_modes, z->k_shell);
    memcpy(a.modes, z->shell_modes, (size_t)y->n_shells * sizeof *a.modes);
  }

  /* Totals over blocks (exact), and the non-empty blocks. */
  int used = 0;
  for (int b = 0; b < sums->n_blocks; b++) {
    const int64_t *r = sums->blocks + (size_t)b * rec;
    total[0] += r[0];
    for (int k = 0; k < n_pairs; k++) {
      total[1 + 2 * k] += r[1 + 2 * k];
      total[2 + 2 * k] += r[2 + 2 * k];
      corr_exact_normalise(total + 1 + 2 * k);
    }
    used += r[0] > 0;
  }
  z->n_samples = total[0];
  z->n_blocks = used;
  if (total[0] == 0) goto cleanup; /* a size that was prepared but never measured: all NaN */
  record_means(&a, total, NULL);
  derive(&a, a.mean, full);

  /* Delete-one jackknife over the non-empty blocks: error² = (B−1)/B Σ_b (f_b − f̄)². */
  int B = 0;
  for (int b = 0; b < sums->n_blocks; b++) {
    const int64_t *r = sums->blocks + (size_t)b * rec;
    if (r[0] == 0 || r[0] == total[0]) continue;
    record_means(&a, total, r);
    double *f = fb + (size_t)B * (size_t)a.n_out;
    derive(&a, a.mean, f);
    z->xi2_over_L_jackknife[b] = f[V_XIL];
    for (int k = 0; k < a.n_out; k++) fbar[k] += f[k];
    B++;
  }
  for (int k = 0; k < a.n_out; k++) fbar[k] /= B;
  for (int b = 0; b < B; b++)
    for (int k = 0; k < a.n_out; k++) {
      const double d = fb[(size_t)b * (size_t)a.n_out + (size_t)k] - fbar[k];
      ss[k] += d * d;
    }
  double *err_v = ss; /* in place: the errors */
  for (int k = 0; k < a.n_out; k++) err_v[k] = B >= 2 ? sqrt((double)(B - 1) / B * ss[k]) : NAN;

  z->chi_prime = full[V_S0], z->chi_prime_err = err_v[V_S0];
  z->S_kmin = full[V_SK], z->S_kmin_err = err_v[V_SK];
  z->xi2 = full[V_XI], z->xi2_err = err_v[V_XI];
  z->xi2_over_L = full[V_XIL], z->xi2_over_L_err = err_v[V_XIL];
  if (!y->functions) goto cleanup;
  const int nr = y->n_fold, ns = y->n_shells;
  memcpy(z->G_axis, full + V_HEAD, (size_t)nr * sizeof(double));
  memcpy(z->G_axis_err, err_v + V_HEAD, (size_t)nr * sizeof(double));
  memcpy(z->G_diag, full + V_HEAD + nr, (size_t)nr * sizeof(double));
  memcpy(z->G_diag_err, err_v + V_HEAD + nr, (size_t)nr * sizeof(double));
  memcpy(z->S_radial, full + V_HEAD + 2 * nr, (size_t)ns * sizeof(double));
  memcpy(z->S_radial_err, err_v + V_HEAD + 2 * nr, (size_t)ns * sizeof(double));
  if (z->has_map) INVRG_CALL(analyze_map(sums, total[0], z));
cleanup:
  if (a.c2r) fftw_destroy_plan(a.c2r);
  fftw_free(a.in);
  fftw_free(a.out);
  free(a.modes);
  free(a.mean);
  free(total);
  free(full);
  free(fb);
  free(fbar);
  free(ss);
  return err;
}

/* ------------------------------------------------------------------ analyze */

invrg_err invrg_corr_analyze(const invrg_corr *c, invrg_corr_results **out) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_groups *g = corr_groups(c);
  invrg_corr_results *r = NULL;
  *out = NULL;
  INVRG_CHECK(corr_reduced(c), INVRG_ERR_RUNTIME, "correlations: analyze before reduce");
  r = calloc(1, sizeof *r);
  INVRG_CHECK_ALLOC(r);
  r->n_blocks = corr_requested_blocks(c);
  r->n_sizes = corr_n_sizes(c);
  r->size = calloc((size_t)(r->n_sizes > 0 ? r->n_sizes : 1), sizeof *r->size);
  INVRG_CHECK_ALLOC(r->size);
  for (int i = 0; i < r->n_sizes; i++) {
    corr_size_sums sums;
    corr_size_sums_of(c, i, &sums);
    invrg_corr_size *z = &r->size[i];
    INVRG_CALL(size_alloc(&sums, z));
    /* Computed once, on world rank 0, and sent to all: identical bits everywhere. */
    invrg_err local = g->world_rank == 0 ? analyze_size(&sums, z) : INVRG_SUCCESS;
    INVRG_CALL(invrg_error_agree(local, g->world));
    double head[N_SCALARS];
    scalars_pack(z, head);
    INVRG_MPI_CALL(MPI_Bcast(head, N_SCALARS, MPI_DOUBLE, 0, g->world));
    scalars_unpack(head, z);
    const int64_t chunk = INT64_C(1) << 26;
    for (int64_t first = 0; first < z->n_values; first += chunk) {
      const int64_t count = z->n_values - first < chunk ? z->n_values - first : chunk;
      INVRG_MPI_CALL(MPI_Bcast(z->values + first, (int)count, MPI_DOUBLE, 0, g->world));
    }
  }
  *out = r;
  r = NULL;
cleanup:
  invrg_corr_results_destroy(&r);
  return err;
}

/* ------------------------------------------------------------------ log */

void invrg_corr_log(const invrg_corr_results *r, const char *source) {
  const char *const head[] = {"L", "samples", "xi2 [a]", "xi2/L", "(sigma)", "chi' = S(0)",
                              "G_axis(1)", "G_axis(L/2)"};
  const int width[] = {6, 9, 14, 14, 8, 14, 10, 14};
  char line[256];
  invrg_log(INVRG_LOG_INFO,
            "correlations %s: %d size%s, %d jackknife blocks (xi2/L -> %.7f at K_c, L -> inf; "
            "a: the lattice spacing)", source, r->n_sizes, r->n_sizes == 1 ? "" : "s", r->n_blocks,
            INVRG_XI2_OVER_L_CRITICAL);
  line[0] = '\0';
  for (int k = 0; k < 8; k++) invrg_format_cell(line, sizeof line, width[k], head[k]);
  invrg_log(INVRG_LOG_INFO, " %s", line);
  for (int i = 0; i < r->n_sizes; i++) {
    const invrg_corr_size *z = &r->size[i];
    if (z->n_samples == 0) continue;
    const int last = z->n_r - 1;
    char cells[8][64];
    snprintf(cells[0], sizeof cells[0], "%lld", (long long)z->L);
    snprintf(cells[1], sizeof cells[1], "%lld", (long long)z->n_samples);
    invrg_format_value_error(cells[2], sizeof cells[2], z->xi2, z->xi2_err);
    invrg_format_value_error(cells[3], sizeof cells[3], z->xi2_over_L, z->xi2_over_L_err);
    invrg_format_sigma(cells[4], sizeof cells[4],
                       (z->xi2_over_L - INVRG_XI2_OVER_L_CRITICAL) / z->xi2_over_L_err);
    invrg_format_value_error(cells[5], sizeof cells[5], z->chi_prime, z->chi_prime_err);
    if (z->has_functions) {
      invrg_format_fixed(cells[6], sizeof cells[6], z->n_r > 1 ? z->G_axis[1] : NAN, 6);
      invrg_format_value_error(cells[7], sizeof cells[7], z->G_axis[last], z->G_axis_err[last]);
    } else { /* only with &analyze correlation_functions */
      snprintf(cells[6], sizeof cells[6], "-");
      snprintf(cells[7], sizeof cells[7], "-");
    }
    line[0] = '\0';
    for (int k = 0; k < 8; k++) invrg_format_cell(line, sizeof line, width[k], cells[k]);
    invrg_log(INVRG_LOG_INFO, " %s", line);
  }
}
