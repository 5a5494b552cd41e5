/* Finite-size scaling: jackknifed weighted least-squares fits across the sizes
 * of one source, with χ²/dof, a scan of L_min, and the log (fss.h; io/fss_io.c writes them). */
#include "invrg/fss.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/exact.h"
#include "invrg/format.h"
#include "invrg/log.h"
#include "invrg/observables.h"

enum { NQ = INVRG_FSS_N_QUANTITIES };

const char *const invrg_fss_quantity_names[NQ] = {
    [INVRG_FSS_CHI] = "chi",     [INVRG_FSS_ABS_M] = "abs_m",
    [INVRG_FSS_ME] = "me_paper", [INVRG_FSS_SPECIFIC_HEAT] = "specific_heat",
    [INVRG_FSS_V4] = "V4",       [INVRG_FSS_XI_OVER_L] = "xi2_over_L",
};

/* ------------------------------------------------------------------ data */

typedef struct {
  int64_t L;
  bool has[NQ];
  double value[NQ];
  double *jk; /* [n_blocks][NQ] */
} fss_size;

struct invrg_fss_data {
  int n_blocks;
  int n_sizes, capacity;
  fss_size *size; /* in increasing L */
};

invrg_err invrg_fss_data_create(int n_blocks, invrg_fss_data **out) {
  invrg_err err = INVRG_SUCCESS;
  *out = NULL;
  INVRG_CHECK(n_blocks >= 2, INVRG_ERR_INPUT, "FSS needs at least 2 jackknife blocks, got %d",
              n_blocks);
  *out = calloc(1, sizeof **out);
  INVRG_CHECK_ALLOC(*out);
  (*out)->n_blocks = n_blocks;
cleanup:
  return err;
}

void invrg_fss_data_destroy(invrg_fss_data **dp) {
  invrg_fss_data *d = *dp;
  if (d == NULL) return;
  for (int i = 0; i < d->n_sizes; i++) free(d->size[i].jk);
  free(d->size);
  free(d);
  *dp = NULL;
}

/* The entry of size @p L, made (in order) if new. */
static invrg_err size_get(invrg_fss_data *d, int64_t L, fss_size **out) {
  invrg_err err = INVRG_SUCCESS;
  int at = 0;
  while (at < d->n_sizes && d->size[at].L < L) at++;
  if (at == d->n_sizes || d->size[at].L != L) {
    if (d->n_sizes == d->capacity) {
      int capacity = d->capacity > 0 ? 2 * d->capacity : 8;
      fss_size *grown = realloc(d->size, (size_t)capacity * sizeof *grown);
      INVRG_CHECK_ALLOC(grown);
      d->size = grown;
      d->capacity = capacity;
    }
    fss_size fresh = {.L = L};
    fresh.jk = malloc((size_t)d->n_blocks * NQ * sizeof *fresh.jk);
    INVRG_CHECK_ALLOC(fresh.jk);
    for (int q = 0; q < NQ; q++) fresh.value[q] = NAN;
    for (size_t k = 0; k < (size_t)d->n_blocks * NQ; k++) fresh.jk[k] = NAN;
    memmove(&d->size[at + 1], &d->size[at], (size_t)(d->n_sizes - at) * sizeof *d->size);
    d->size[at] = fresh;
    d->n_sizes++;
  }
  *out = &d->size[at];
cleanup:
  return err;
}

invrg_err invrg_fss_set(invrg_fss_data *d, int64_t L, invrg_fss_quantity q, double value,
                        const double *jackknife) {
  invrg_err err = INVRG_SUCCESS;
  fss_size *s = NULL;
  INVRG_CHECK(L >= 1 && (int)q >= 0 && (int)q < NQ, INVRG_ERR_INPUT,
              "FSS: bad size %lld or quantity %d", (long long)L, (int)q);
  INVRG_CALL(size_get(d, L, &s));
  s->has[q] = true;
  s->value[q] = value;
  for (int b = 0; b < d->n_blocks; b++) s->jk[(size_t)b * NQ + q] = jackknife[b];
cleanup:
  return err;
}

/* The quantities of one set of primary means, by the formulas of observables.c. */
static void quantities(const double *mean, int64_t n, double N, double K, double *v) {
  invrg_summary s;
  invrg_summary_from_blocks(mean, &n, 1, N, K, &s); /* one block: its values, no errors */
  v[INVRG_FSS_CHI] = s.value[INVRG_OBS_CHI];
  v[INVRG_FSS_ABS_M] = s.value[INVRG_OBS_ABS_M];
  v[INVRG_FSS_ME] = s.value[INVRG_OBS_ME_PAPER];
  v[INVRG_FSS_SPECIFIC_HEAT] = s.value[INVRG_OBS_SPECIFIC_HEAT];
  v[INVRG_FSS_V4] = s.value[INVRG_OBS_V4];
}

invrg_err invrg_fss_set_primaries(invrg_fss_data *d, int64_t L, const double *block_means,
                                  const int64_t *block_sizes, double K) {
  invrg_err err = INVRG_SUCCESS;
  enum { P = INVRG_N_PRIMARY };
  const int B = d->n_blocks;
  const double N = (double)L * (double)L;
  double total[P] = {0}, mean[P], v[NQ];
  double *jk = malloc((size_t)B * NQ * sizeof *jk);
  INVRG_CHECK_ALLOC(jk);
  int64_t n = 0;
  for (int b = 0; b < B; b++) {
    INVRG_CHECK(block_sizes[b] > 0, INVRG_ERR_INPUT, "FSS: jackknife block %d of L = %lld is empty",
                b, (long long)L);
    n += block_sizes[b];
    for (int k = 0; k < P; k++)
      total[k] += (double)block_sizes[b] * block_means[(size_t)b * P + (size_t)k];
  }
  /* delete-one set b: the weighted mean of the other blocks */
  for (int b = 0; b < B; b++) {
    const double w = (double)block_sizes[b], rest = (double)(n - block_sizes[b]);
    for (int k = 0; k < P; k++)
      mean[k] = (total[k] - w * block_means[(size_t)b * P + (size_t)k]) / rest;
    quantities(mean, n - block_sizes[b], N, K, jk + (size_t)b * NQ);
  }
  for (int k = 0; k < P; k++) mean[k] = total[k] / (double)n;
  quantities(mean, n, N, K, v);
  for (int q = INVRG_FSS_CHI; q <= INVRG_FSS_V4; q++) {
    double *one = malloc((size_t)B * sizeof *one);
    INVRG_CHECK_ALLOC(one);
    for (int b = 0; b < B; b++) one[b] = jk[(size_t)b * NQ + (size_t)q];
    err = invrg_fss_set(d, L, (invrg_fss_quantity)q, v[q], one);
    free(one);
    INVRG_CALL(err);
  }
cleanup:
  free(jk);
  return err;
}

/* ------------------------------------------------------------------ the fits */

typedef enum { X_LN_L, X_INV_L } x_kind;

/* What each fit does: y (maybe ln y) = a + b x(L); result = sign · parameter. */
typedef struct {
  const char *name, *label, *model, *result_is;
  invrg_fss_quantity q;
  bool log_y;
  x_kind x;
  int param; /* 0: a, 1: b */
  double sign;
  double exact;
} fit_spec;

static const fit_spec specs[] = {
    {"gamma_over_nu", "gamma/nu", "ln chi = a + b ln L", "b", INVRG_FSS_CHI, true, X_LN_L, 1, 1,
     1.75},
    {"beta_over_nu", "beta/nu", "ln <|m|> = a + b ln L", "-b", INVRG_FSS_ABS_M, true, X_LN_L, 1, -1,
     0.125},
    {"one_over_nu", "1/nu", "ln me_paper = a + b ln L", "b", INVRG_FSS_ME, true, X_LN_L, 1, 1, 1.0},
    {"specific_heat_amplitude", "A of C/N", "C/N = a + b ln L", "b", INVRG_FSS_SPECIFIC_HEAT, false,
     X_LN_L, 1, 1, 8 * INVRG_K_CRITICAL *INVRG_K_CRITICAL / M_PI},
    {"V4_infinity", "V4(inf)", "V4 = a + b / L", "a", INVRG_FSS_V4, false, X_INV_L, 0, 1,
     1.1679229},
    {"xi2_over_L_infinity", "xi2/L(inf)", "xi2/L = a + b / L", "a", INVRG_FSS_XI_OVER_L, false,
     X_INV_L, 0, 1, 0.9050488},
};
enum { N_FITS = (int)(sizeof specs / sizeof specs[0]) };

/*
 * Weighted least squares of y = a + b x over the points with use[i]; returns χ² = Σ w r².
 * Centred at the weighted means (x̄, ȳ), which stays accurate when the weights differ by
 * orders of magnitude: b = Σ w (x − x̄)(y − ȳ) / Σ w (x − x̄)², a = ȳ − b x̄.
 */
static double wls(const double *x, const double *y, const double *w, const bool *use, int n,
                  double *a, double *b) {
  double S = 0, Sx = 0, Sy = 0;
  for (int i = 0; i < n; i++)
    if (use[i]) S += w[i], Sx += w[i] * x[i], Sy += w[i] * y[i];
  const double xm = Sx / S, ym = Sy / S;
  double Sxx = 0, Sxy = 0;
  for (int i = 0; i < n; i++)
    if (use[i]) Sxx += w[i] * (x[i] - xm) * (x[i] - xm), Sxy += w[i] * (x[i] - xm) * (y[i] - ym);
  *b = Sxy / Sxx;
  *a = ym - *b * xm;
  double chi2 = 0;
  for (int i = 0; i < n; i++)
    if (use[i]) chi2 += w[i] * (y[i] - *a - *b * x[i]) * (y[i] - *a - *b * x[i]);
  return chi2;
}

/* rᵀ C⁻¹ r by Cholesky of the m × m matrix C (destroyed); NaN if C is not positive definite. */
static double quadratic_form_inverse(double *C, const double *r, int m) {
  for (int j = 0; j < m; j++) {
    double d = C[j * m + j];
    for (int k = 0; k < j; k++) d -= C[j * m + k] * C[j * m + k];
    if (!(d > 0)) return NAN;
    C[j * m + j] = sqrt(d);
    for (int i = j + 1; i < m; i++) {
      double s = C[i * m + j];
      for (int k = 0; k < j; k++) s -= C[i * m + k] * C[j * m + k];
      C[i * m + j] = s / C[j * m + j];
    }
  }
  /* C = Λ Λᵀ: rᵀ C⁻¹ r = |Λ⁻¹ r|² */
  double q = 0, *z = malloc((size_t)m * sizeof *z);
  if (z == NULL) return NAN;
  for (int i = 0; i < m; i++) {
    double s = r[i];
    for (int k = 0; k < i; k++) s -= C[i * m + k] * z[k];
    z[i] = s / C[i * m + i];
    q += z[i] * z[i];
  }
  free(z);
  return q;
}

/* The points of one quantity: x, y on all samples, y on each delete-one set, y errors. */
typedef struct {
  int n, B;
  int64_t *L;
  double *x, *y, *err, *w;
  double *yb; /* [B][n] */
  bool weighted;
} points;

static void points_free(points *p) {
  free(p->L);
  free(p->x);
  free(p->y);
  free(p->err);
  free(p->w);
  free(p->yb);
}

static double transform(const fit_spec *f, double v) {
  if (!f->log_y) return v;
  return v > 0 ? log(v) : NAN;
}

static invrg_err points_make(const invrg_fss_data *d, const fit_spec *f, points *p) {
  invrg_err err = INVRG_SUCCESS;
  const int B = d->n_blocks;
  memset(p, 0, sizeof *p);
  p->B = B;
  for (int i = 0; i < d->n_sizes; i++) p->n += d->size[i].has[f->q];
  const size_t n = (size_t)(p->n > 0 ? p->n : 1);
  p->L = malloc(n * sizeof *p->L);
  p->x = malloc(n * sizeof *p->x);
  p->y = malloc(n * sizeof *p->y);
  p->err = malloc(n * sizeof *p->err);
  p->w = malloc(n * sizeof *p->w);
  p->yb = malloc((size_t)B * n * sizeof *p->yb);
  INVRG_CHECK_ALLOC(p->L);
  INVRG_CHECK_ALLOC(p->x);
  INVRG_CHECK_ALLOC(p->y);
  INVRG_CHECK_ALLOC(p->err);
  INVRG_CHECK_ALLOC(p->w);
  INVRG_CHECK_ALLOC(p->yb);
  int i = 0;
  for (int s = 0; s < d->n_sizes; s++) {
    const fss_size *z = &d->size[s];
    if (!z->has[f->q]) continue;
    p->L[i] = z->L;
    p->x[i] = f->x == X_LN_L ? log((double)z->L) : 1.0 / (double)z->L;
    p->y[i] = transform(f, z->value[f->q]);
    double mean = 0, ss = 0;
    for (int b = 0; b < B; b++) {
      p->yb[(size_t)b * n + (size_t)i] = transform(f, z->jk[(size_t)b * NQ + f->q]);
      mean += p->yb[(size_t)b * n + (size_t)i];
    }
    mean /= B;
    for (int b = 0; b < B; b++) {
      const double dv = p->yb[(size_t)b * n + (size_t)i] - mean;
      ss += dv * dv;
    }
    p->err[i] = sqrt((double)(B - 1) / B * ss);
    i++;
  }
cleanup:
  return err;
}

/* One fit over [lo, hi]: parameters, jackknife errors, χ²/dof (plain and correlated). */
typedef struct {
  int n;
  double a, a_err, b, b_err, chi2_dof, chi2_dof_corr;
} fit_out;

static invrg_err fit_range(const points *p, int64_t lo, int64_t hi, fit_out *o) {
  invrg_err err = INVRG_SUCCESS;
  const int B = p->B, n = p->n;
  bool *use = calloc((size_t)(n > 0 ? n : 1), sizeof *use);
  double *w = malloc((size_t)(n > 0 ? n : 1) * sizeof *w), *C = NULL, *r = NULL, *ab = NULL;
  INVRG_CHECK_ALLOC(use);
  INVRG_CHECK_ALLOC(w);
  o->n = 0;
  o->a = o->a_err = o->b = o->b_err = o->chi2_dof = o->chi2_dof_corr = NAN;
  bool weighted = true;
  for (int i = 0; i < n; i++) {
    use[i] = p->L[i] >= lo && p->L[i] <= hi && isfinite(p->y[i]);
    for (int b = 0; b < B && use[i]; b++)
      use[i] = isfinite(p->yb[(size_t)b * (size_t)n + (size_t)i]);
    if (!use[i]) continue;
    o->n++;
    weighted = weighted && isfinite(p->err[i]) && p->err[i] > 0;
  }
  if (o->n < 2) goto cleanup;
  for (int i = 0; i < n; i++) w[i] = weighted ? 1 / (p->err[i] * p->err[i]) : 1;
  const double chi2 = wls(p->x, p->y, w, use, n, &o->a, &o->b);
  /* the same fit on every delete-one set, with the same weights; error² = (B−1)/B Σ (p_b − p̄)² */
  ab = malloc(2 * (size_t)B * sizeof *ab);
  INVRG_CHECK_ALLOC(ab);
  double mean_a = 0, mean_b = 0, va = 0, vb = 0;
  for (int b = 0; b < B; b++) {
    wls(p->x, p->yb + (size_t)b * (size_t)n, w, use, n, &ab[2 * b], &ab[2 * b + 1]);
    mean_a += ab[2 * b] / B, mean_b += ab[2 * b + 1] / B;
  }
  for (int b = 0; b < B; b++) {
    va += (ab[2 * b] - mean_a) * (ab[2 * b] - mean_a);
    vb += (ab[2 * b + 1] - mean_b) * (ab[2 * b + 1] - mean_b);
  }
  o->a_err = sqrt((double)(B - 1) / B * va);
  o->b_err = sqrt((double)(B - 1) / B * vb);
  if (o->n > 2 && weighted) o->chi2_dof = chi2 / (o->n - 2);
  if (o->n > 2 && B > o->n) {
    /* residuals and their jackknife covariance over the used points */
    const int m = o->n;
    C = calloc((size_t)m * (size_t)m, sizeof *C);
    r = malloc((size_t)m * sizeof *r);
    INVRG_CHECK_ALLOC(C);
    INVRG_CHECK_ALLOC(r);
    int *idx = malloc((size_t)m * sizeof *idx);
    INVRG_CHECK_ALLOC(idx);
    for (int i = 0, k = 0; i < n; i++)
      if (use[i]) idx[k++] = i;
    for (int k = 0; k < m; k++) r[k] = p->y[idx[k]] - o->a - o->b * p->x[idx[k]];
    for (int k = 0; k < m; k++)
      for (int l = 0; l <= k; l++) {
        double mk = 0, ml = 0, skl = 0;
        for (int b = 0; b < B; b++) {
          mk += p->yb[(size_t)b * (size_t)n + (size_t)idx[k]] / B;
          ml += p->yb[(size_t)b * (size_t)n + (size_t)idx[l]] / B;
        }
        for (int b = 0; b < B; b++)
          skl += (p->yb[(size_t)b * (size_t)n + (size_t)idx[k]] - mk) *
                 (p->yb[(size_t)b * (size_t)n + (size_t)idx[l]] - ml);
        C[k * m + l] = C[l * m + k] = (double)(B - 1) / B * skl;
      }
    free(idx);
    o->chi2_dof_corr = quadratic_form_inverse(C, r, m) / (m - 2);
  }
cleanup:
  free(use);
  free(w);
  free(C);
  free(r);
  free(ab);
  return err;
}

void invrg_fss_results_destroy(invrg_fss_results **rp) {
  invrg_fss_results *r = *rp;
  if (r == NULL) return;
  for (int k = 0; k < r->n_fits; k++) {
    invrg_fss_fit *f = &r->fit[k];
    free(f->L);
    free(f->y);
    free(f->y_err);
    free(f->scan_L_min);
    free(f->scan_result);
    free(f->scan_result_err);
    free(f->scan_chi2_dof);
  }
  free(r->fit);
  free(r->L);
  free(r);
  *rp = NULL;
}

static invrg_err analyze_fit(const invrg_fss_data *d, const fit_spec *s, int64_t lo, int64_t hi,
                             invrg_fss_fit *f) {
  invrg_err err = INVRG_SUCCESS;
  points p;
  fit_out o;
  INVRG_CALL(points_make(d, s, &p));
  f->name = s->name, f->label = s->label, f->model = s->model, f->result_is = s->result_is;
  f->quantity = s->q;
  f->exact = s->exact;
  f->n_data = p.n;
  const size_t n = (size_t)(p.n > 0 ? p.n : 1);
  f->L = malloc(n * sizeof *f->L);
  f->y = malloc(n * sizeof *f->y);
  f->y_err = malloc(n * sizeof *f->y_err);
  f->scan_L_min = malloc(n * sizeof *f->scan_L_min);
  f->scan_result = malloc(n * sizeof *f->scan_result);
  f->scan_result_err = malloc(n * sizeof *f->scan_result_err);
  f->scan_chi2_dof = malloc(n * sizeof *f->scan_chi2_dof);
  INVRG_CHECK_ALLOC(f->L);
  INVRG_CHECK_ALLOC(f->y);
  INVRG_CHECK_ALLOC(f->y_err);
  INVRG_CHECK_ALLOC(f->scan_L_min);
  INVRG_CHECK_ALLOC(f->scan_result);
  INVRG_CHECK_ALLOC(f->scan_result_err);
  INVRG_CHECK_ALLOC(f->scan_chi2_dof);
  memcpy(f->L, p.L, (size_t)p.n * sizeof *f->L);
  memcpy(f->y, p.y, (size_t)p.n * sizeof *f->y);
  memcpy(f->y_err, p.err, (size_t)p.n * sizeof *f->y_err);

  INVRG_CALL(fit_range(&p, lo, hi, &o));
  f->n_points = o.n < 2 ? 0 : o.n;
  f->L_min = f->L_max = 0;
  for (int i = 0; i < p.n; i++)
    if (p.L[i] >= lo && p.L[i] <= hi) {
      if (f->L_min == 0) f->L_min = p.L[i];
      f->L_max = p.L[i];
    }
  f->a = o.a, f->a_err = o.a_err, f->b = o.b, f->b_err = o.b_err;
  f->result = s->sign * (s->param == 0 ? o.a : o.b);
  f->result_err = s->param == 0 ? o.a_err : o.b_err;
  f->deviation = (f->result - f->exact) / f->result_err;
  f->chi2_dof = o.chi2_dof, f->chi2_dof_correlated = o.chi2_dof_corr;

  /* L_min scan up to the same L_max */
  f->n_scan = 0;
  for (int i = 0; i < p.n; i++) {
    if (p.L[i] > hi) break;
    INVRG_CALL(fit_range(&p, p.L[i], hi, &o));
    if (o.n < 2) break;
    f->scan_L_min[f->n_scan] = p.L[i];
    f->scan_result[f->n_scan] = s->sign * (s->param == 0 ? o.a : o.b);
    f->scan_result_err[f->n_scan] = s->param == 0 ? o.a_err : o.b_err;
    f->scan_chi2_dof[f->n_scan] = o.chi2_dof;
    f->n_scan++;
  }
cleanup:
  points_free(&p);
  return err;
}

invrg_err invrg_fss_analyze(const invrg_fss_data *d, const invrg_fss_params *par,
                            invrg_fss_results **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_fss_results *r = NULL;
  *out = NULL;
  const int64_t lo = par->L_min > 0 ? par->L_min : 0;
  const int64_t hi = par->L_max > 0 ? par->L_max : INT64_MAX;
  INVRG_CHECK(par->L_min >= 0 && par->L_max >= 0 && lo <= hi, INVRG_ERR_INPUT,
              "FSS: the fit range [%lld, %lld] is empty", (long long)par->L_min,
              (long long)par->L_max);
  r = calloc(1, sizeof *r);
  INVRG_CHECK_ALLOC(r);
  r->n_sizes = d->n_sizes;
  r->n_blocks = d->n_blocks;
  r->params = *par;
  r->L = malloc((size_t)(d->n_sizes > 0 ? d->n_sizes : 1) * sizeof *r->L);
  r->fit = calloc(N_FITS, sizeof *r->fit);
  INVRG_CHECK_ALLOC(r->L);
  INVRG_CHECK_ALLOC(r->fit);
  for (int i = 0; i < d->n_sizes; i++) r->L[i] = d->size[i].L;
  r->n_fits = N_FITS;
  for (int k = 0; k < N_FITS; k++) INVRG_CALL(analyze_fit(d, &specs[k], lo, hi, &r->fit[k]));
  *out = r;
  r = NULL;
cleanup:
  invrg_fss_results_destroy(&r);
  return err;
}

const invrg_fss_fit *invrg_fss_find(const invrg_fss_results *r, invrg_fss_quantity q) {
  for (int k = 0; k < r->n_fits; k++)
    if (r->fit[k].quantity == q) return &r->fit[k];
  return NULL;
}

/* ------------------------------------------------------------------ log */

/* One row of the table: what, the fit, its result, the exact value, the deviation, χ²/dof
 * ('—' without degrees of freedom, from two sizes), the sizes fitted. */
static void log_fit(const invrg_fss_fit *f) {
  const int width[] = {-12, -26, 14, 10, 10, 10, 10};
  char line[256], cells[7][64];
  snprintf(cells[0], sizeof cells[0], "%s", f->label);
  snprintf(cells[1], sizeof cells[1], "%s", f->model);
  invrg_format_value_error(cells[2], sizeof cells[2], f->result, f->result_err);
  invrg_format_general(cells[3], sizeof cells[3], f->exact, 7);
  invrg_format_sigma(cells[4], sizeof cells[4], f->deviation);
  invrg_format_general(cells[5], sizeof cells[5], f->chi2_dof, 3);
  invrg_format_general(cells[6], sizeof cells[6], f->chi2_dof_correlated, 3);
  line[0] = '\0';
  for (int k = 0; k < 7; k++) invrg_format_cell(line, sizeof line, width[k], cells[k]);
  invrg_log(INVRG_LOG_INFO, " %s  %lld-%lld (%d)", line, (long long)f->L_min,
            (long long)f->L_max, f->n_points);
}

/* The fits from each L_min on: "L_min: result(error) [χ²/dof]". */
static void log_scan(const invrg_fss_fit *f) {
  char line[1024], value[64], chi2[32];
  size_t n = 0;
  for (int s = 0; s < f->n_scan && n < sizeof line - 128; s++) {
    invrg_format_value_error(value, sizeof value, f->scan_result[s], f->scan_result_err[s]);
    invrg_format_general(chi2, sizeof chi2, f->scan_chi2_dof[s], 2);
    n += (size_t)snprintf(line + n, sizeof line - n, "  %lld: %s [%s]",
                          (long long)f->scan_L_min[s], value, chi2);
  }
  invrg_log(INVRG_LOG_INFO, "  L_min scan %-10s%s", f->label, line);
}

void invrg_fss_log(const invrg_fss_results *r, const char *source) {
  const char *const head[] = {"result", "fit", "value(error)", "exact", "dev/sigma", "chi2/dof",
                              "corr."};
  const int width[] = {-12, -26, 14, 10, 10, 10, 10};
  char sizes[256] = "", line[256];
  size_t used = 0;
  for (int i = 0; i < r->n_sizes && used < sizeof sizes - 16; i++)
    used += (size_t)snprintf(sizes + used, sizeof sizes - used, " %lld", (long long)r->L[i]);
  invrg_log(INVRG_LOG_INFO,
            "FSS %s: sizes%s; %d jackknife blocks, block b removed at every size together; "
            "chi2/dof with diagonal errors and correlated (corr.)", source, sizes, r->n_blocks);
  line[0] = '\0';
  for (int k = 0; k < 7; k++) invrg_format_cell(line, sizeof line, width[k], head[k]);
  invrg_log(INVRG_LOG_INFO, " %s  %s", line, "L range (sizes)");
  for (int k = 0; k < r->n_fits; k++) {
    const invrg_fss_fit *f = &r->fit[k];
    if (f->n_points == 0)
      invrg_log(INVRG_LOG_INFO, "  %-12s %-26s (fewer than 2 sizes)", f->label, f->model);
    else
      log_fit(f);
  }
  for (int k = 0; k < r->n_fits; k++)
    if (r->fit[k].n_scan >= 2) log_scan(&r->fit[k]);
}
