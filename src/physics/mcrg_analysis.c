/* MCRG analysis: moments from the exact sums, T = A⁺ B per sector and
 * truncation, eigenvalues, and delete-one jackknife errors (mcrg.h). */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/mcrg.h"
#include "physics/mcrg_internal.h"

/* ------------------------------------------------------------------ moments */

/* Means and covariances of all operators (union of the sets) over a sample set. */
typedef struct {
  int n;
  double samples;
  double *mean_c, *mean_f; /* [n] */
  double *A, *B;           /* [n][n]: cov(S^c_a, S^c_b), cov(S^c_a, S^f_b) */
} moments;

static invrg_err moments_alloc(int n, moments *mo) {
  invrg_err err = INVRG_SUCCESS;
  mo->n = n;
  mo->mean_c = malloc((size_t)(2 * n + 2 * n * n) * sizeof(double));
  INVRG_CHECK_ALLOC(mo->mean_c);
  mo->mean_f = mo->mean_c + n;
  mo->A = mo->mean_f + n;
  mo->B = mo->A + (size_t)n * (size_t)n;
cleanup:
  return err;
}

/*
 * Moments of the samples of record @p total minus record @p drop (NULL: none),
 * both exact: the difference is exact, then converted to double.
 * ⟨X⟩ = ΣX/M, cov(X, Y) = ΣXY/M − ⟨X⟩⟨Y⟩.
 */
static void record_moments(const invrg_mcrg *m, const int64_t *total, const int64_t *drop,
                           moments *mo) {
  const int n = m->n_ops;
  int64_t x[2];
  const double M = (double)(total[REC_SAMPLES] - (drop ? drop[REC_SAMPLES] : 0));
  mo->samples = M;
#define EXACT_MEAN(off)                                                        \
  (x[0] = total[off] - (drop ? drop[off] : 0),                                 \
   x[1] = total[(off) + 1] - (drop ? drop[(off) + 1] : 0), exact_normalise(x), \
   exact_to_double(x) / M)
  for (int a = 0; a < n; a++) {
    mo->mean_c[a] = EXACT_MEAN(rec_coarse(m) + 2 * (size_t)a);
    mo->mean_f[a] = EXACT_MEAN(rec_fine(m) + 2 * (size_t)a);
  }
  for (int a = 0; a < n; a++)
    for (int b = 0; b < n; b++) {
      size_t k = 2 * ((size_t)a * (size_t)n + (size_t)b);
      mo->A[a * n + b] = EXACT_MEAN(rec_cc(m) + k) - mo->mean_c[a] * mo->mean_c[b];
      mo->B[a * n + b] = EXACT_MEAN(rec_cf(m) + k) - mo->mean_c[a] * mo->mean_f[b];
    }
#undef EXACT_MEAN
}

/* ------------------------------------------------------------------ T and eigenvalues */

/* Order of eigenvalues: modulus, then real part, then imaginary part, all decreasing. */
static int by_modulus(const void *pa, const void *pb) {
  const double *a = pa, *b = pb;
  double ma = hypot(a[0], a[1]), mb = hypot(b[0], b[1]);
  if (ma != mb) return ma < mb ? 1 : -1;
  if (a[0] != b[0]) return a[0] < b[0] ? 1 : -1;
  if (a[1] != b[1]) return a[1] < b[1] ? 1 : -1;
  return 0;
}

/* Scratch of the linear algebra for matrices up to n × n, and LAPACK's workspace: the size
 * each routine asks for at each k, found once (LAPACKE's high-level calls would ask, allocate,
 * transpose in and out, and free again at every call: most of their time at these sizes). */
typedef struct {
  double *a, *b, *u, *vt, *s, *w, *t, *wr, *wi;
  double *work;
  lapack_int *svd_lwork, *eig_lwork; /* [k], 0: not asked yet */
  size_t work_cap;
} scratch;

static invrg_err scratch_alloc(int n, scratch *sc) {
  invrg_err err = INVRG_SUCCESS;
  const size_t nn = (size_t)n * (size_t)n;
  sc->a = malloc((6 * nn + 3 * (size_t)n + 1) * sizeof(double));
  sc->svd_lwork = calloc(2 * ((size_t)n + 1), sizeof *sc->svd_lwork);
  INVRG_CHECK_ALLOC(sc->a);
  INVRG_CHECK_ALLOC(sc->svd_lwork);
  sc->eig_lwork = sc->svd_lwork + n + 1;
  sc->b = sc->a + nn;
  sc->u = sc->b + nn;
  sc->vt = sc->u + nn;
  sc->w = sc->vt + nn;
  sc->t = sc->w + nn;
  sc->s = sc->t + nn;
  sc->wr = sc->s + n;
  sc->wi = sc->wr + n;
cleanup:
  return err;
}

static void scratch_free(scratch *sc) {
  free(sc->a);
  free(sc->svd_lwork);
  free(sc->work);
}

/* The workspace for @p lwork doubles; false if it cannot be had. */
static bool workspace(scratch *sc, lapack_int lwork) {
  if (lwork < 1) return false;
  if ((size_t)lwork <= sc->work_cap) return true;
  double *w = realloc(sc->work, (size_t)lwork * sizeof *w);
  if (w == NULL) return false;
  sc->work = w, sc->work_cap = (size_t)lwork;
  return true;
}

/* Whether the k × k matrix a holds a NaN (LAPACKE's high-level calls refuse those, info −5). */
static bool has_nan(const double *a, int k) {
  for (int q = 0; q < k * k; q++)
    if (isnan(a[q])) return true;
  return false;
}

/* dgesvd of the column-major k × k matrix a (jobs 'A', 'A'): U and Vᵀ column-major. */
static lapack_int svd(scratch *sc, int k) {
  if (has_nan(sc->a, k)) return -5;
  if (sc->svd_lwork[k] == 0) {
    double query = 0;
    lapack_int info = LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'A', 'A', k, k, sc->a, k, sc->s,
                                          sc->u, k, sc->vt, k, &query, -1);
    if (info != 0) return info;
    sc->svd_lwork[k] = (lapack_int)query;
  }
  if (!workspace(sc, sc->svd_lwork[k])) return LAPACK_WORK_MEMORY_ERROR;
  return LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'A', 'A', k, k, sc->a, k, sc->s, sc->u, k,
                             sc->vt, k, sc->work, sc->svd_lwork[k]);
}

/* Eigenvalues (wr, wi) of the column-major k × k matrix a by dgeev (no vectors). */
static lapack_int eigenvalues(scratch *sc, double *a, int k) {
  if (has_nan(a, k)) return -5;
  if (sc->eig_lwork[k] == 0) {
    double query = 0;
    lapack_int info = LAPACKE_dgeev_work(LAPACK_COL_MAJOR, 'N', 'N', k, a, k, sc->wr, sc->wi,
                                         NULL, 1, NULL, 1, &query, -1);
    if (info != 0) return info;
    sc->eig_lwork[k] = (lapack_int)query;
  }
  if (!workspace(sc, sc->eig_lwork[k])) return LAPACK_WORK_MEMORY_ERROR;
  return LAPACKE_dgeev_work(LAPACK_COL_MAJOR, 'N', 'N', k, a, k, sc->wr, sc->wi, NULL, 1, NULL,
                            1, sc->work, sc->eig_lwork[k]);
}

/*
 * T = A⁺ B for the operators idx[0..k) of the moments (A⁺ by SVD, singular
 * values below rcond·σ_max dropped), into @p T (k × k) if not NULL, and its
 * eigenvalues sorted into eig[k][2]. NaN everywhere if LAPACK fails.
 */
static void rg_matrix(const moments *mo, const int *idx, int k, double rcond, scratch *sc,
                      double *T, double *eig) {
  const int n = mo->n;
  for (int i = 0; i < k; i++)
    for (int j = 0; j < k; j++) {
      sc->a[j * k + i] = mo->A[idx[i] * n + idx[j]]; /* column-major for LAPACK */
      sc->b[i * k + j] = mo->B[idx[i] * n + idx[j]];
    }
  lapack_int info = svd(sc, k);
  /* A = 0 (no operator of the set fluctuates, e.g. every even one on a 1 × 1 lattice): no T. */
  bool ok = info == 0 && isfinite(sc->s[0]) && sc->s[0] > 0;
  if (ok) {
    /* A = U Σ Vᵀ  ⇒  A⁺ B = V Σ⁺ (Uᵀ B); U[l][q] = u[q·k + l], Vᵀ[q][i] = vt[i·k + q] */
    for (int q = 0; q < k; q++) {
      double inv = sc->s[q] > rcond * sc->s[0] ? 1.0 / sc->s[q] : 0.0;
      for (int j = 0; j < k; j++) {
        double sum = 0;
        for (int l = 0; l < k; l++) sum += sc->u[q * k + l] * sc->b[l * k + j];
        sc->w[q * k + j] = inv * sum;
      }
    }
    for (int i = 0; i < k; i++)
      for (int j = 0; j < k; j++) {
        double sum = 0;
        for (int q = 0; q < k; q++) sum += sc->vt[i * k + q] * sc->w[q * k + j];
        sc->t[i * k + j] = sum;
      }
    if (T) memcpy(T, sc->t, (size_t)k * (size_t)k * sizeof *T);
    for (int i = 0; i < k; i++) /* T column-major into a (free now) */
      for (int j = 0; j < k; j++) sc->a[j * k + i] = sc->t[i * k + j];
    info = eigenvalues(sc, sc->a, k);
    ok = info == 0;
  }
  for (int q = 0; ok && q < k; q++) ok = isfinite(sc->wr[q]) && isfinite(sc->wi[q]);
  for (int q = 0; q < k; q++) {
    eig[2 * q] = ok ? sc->wr[q] : NAN;
    eig[2 * q + 1] = ok ? sc->wi[q] : NAN;
  }
  if (ok) qsort(eig, (size_t)k, 2 * sizeof *eig, by_modulus); /* a total order on finite values */
  if (!ok && T)
    for (int q = 0; q < k * k; q++) T[q] = NAN;
}

/* y = ln|λ| / ln b with b = 2. */
static double exponent(double re, double im) { return log(hypot(re, im)) / log(2.0); }

/* ------------------------------------------------------------------ the jackknifed vector */

/*
 * Everything that gets a jackknife error, for every set and sector, as one
 * vector: per (set, sector) the series eigenvalues [n][n][2] then their
 * exponents [n][n] (row N_c − 1: first N_c entries, NaN beyond).
 */
typedef struct {
  int n_sets;
  int first[INVRG_MCRG_MAX_SETS];        /* set's first operator in the union */
  int n_sec[INVRG_MCRG_MAX_SETS][2];     /* operators per sector */
  int *idx[INVRG_MCRG_MAX_SETS][2];      /* union indices, set order */
  size_t offset[INVRG_MCRG_MAX_SETS][2]; /* of the sector's part of the vector */
  size_t length;
} vector_layout;

static size_t sector_length(int ns) { return 3 * (size_t)ns * (size_t)ns; }

/* The vector for one sample set; T of every full sector into @p T_full[set][sector] if given. */
static void compute_vector(const vector_layout *vl, const moments *mo, double rcond, scratch *sc,
                           double *v, double *(*T_full)[2]) {
  for (int s = 0; s < vl->n_sets; s++)
    for (int q = 0; q < 2; q++) {
      const int ns = vl->n_sec[s][q];
      double *series = v + vl->offset[s][q], *series_y = series + 2 * (size_t)ns * (size_t)ns;
      for (size_t k = 0; k < sector_length(ns); k++) series[k] = NAN;
      for (int nc = 1; nc <= ns; nc++) {
        double *row = series + 2 * (size_t)(nc - 1) * (size_t)ns;
        double *T = T_full && nc == ns ? T_full[s][q] : NULL;
        rg_matrix(mo, vl->idx[s][q], nc, rcond, sc, T, row);
        for (int e = 0; e < nc; e++)
          series_y[(size_t)(nc - 1) * (size_t)ns + (size_t)e] =
              exponent(row[2 * e], row[2 * e + 1]);
      }
    }
}

/* ------------------------------------------------------------------ results */

enum { S_LT, S_LT_ERR, S_YT, S_YT_ERR, S_LH, S_LH_ERR, S_YH, S_YH_ERR, N_SCALARS };

/* Points the arrays of @p L into @p base (NULL: only counts); returns the doubles needed. */
static int64_t level_layout(invrg_mcrg_level *L, int n, const int n_sec[2], double *base) {
  int64_t used = N_SCALARS;
#define TAKE(field, count)           \
  do {                               \
    if (base) (field) = base + used; \
    used += (int64_t)(count);        \
  } while (0)
  TAKE(L->mean_coarse, n);
  TAKE(L->mean_fine, n);
  TAKE(L->A, n * n);
  TAKE(L->B, n * n);
  for (int q = 0; q < 2; q++) {
    invrg_mcrg_sector *sec = &L->sector[q];
    const int ns = n_sec[q];
    TAKE(sec->T, ns * ns);
    TAKE(sec->eig, 2 * ns);
    TAKE(sec->eig_err, 2 * ns);
    TAKE(sec->y, ns);
    TAKE(sec->y_err, ns);
    TAKE(sec->series, 2 * ns * ns);
    TAKE(sec->series_err, 2 * ns * ns);
    TAKE(sec->series_y, ns * ns);
    TAKE(sec->series_y_err, ns * ns);
  }
#undef TAKE
  return used;
}

void invrg_mcrg_results_destroy(invrg_mcrg_results **r) {
  invrg_mcrg_results *x = *r;
  if (x == NULL) return;
  for (int k = 0; x->level && k < x->n_sets * x->n_levels; k++) {
    free(x->level[k].values);
    for (int q = 0; q < 2; q++) free(x->level[k].sector[q].index);
  }
  free(x->level);
  for (int s = 0; s < INVRG_MCRG_MAX_SETS; s++) invrg_operator_set_destroy(&x->set[s]);
  free(x);
  *r = NULL;
}

/* Results skeleton: sets, sector indices and value buffers (NaN), the same on every rank. */
static invrg_err results_alloc(const invrg_mcrg *m, double rcond, invrg_mcrg_results **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_mcrg_results *r = calloc(1, sizeof *r);
  INVRG_CHECK_ALLOC(r);
  r->n_sets = m->p.n_sets;
  r->n_levels = m->p.n_levels;
  r->tie_rule = m->p.tie_rule;
  r->n_blocks = m->p.n_blocks;
  r->rcond = rcond;
  for (int s = 0; s < r->n_sets; s++)
    INVRG_CALL(invrg_operator_set_create(m->p.sets[s], &r->set[s]));
  r->level = calloc((size_t)(r->n_sets * r->n_levels), sizeof *r->level);
  INVRG_CHECK_ALLOC(r->level);
  for (int s = 0; s < r->n_sets; s++) {
    const invrg_operator_set *set = r->set[s];
    int n_sec[2] = {0, 0};
    for (int a = 0; a < set->n; a++) n_sec[set->op[a].odd]++;
    for (int level = 1; level <= r->n_levels; level++) {
      invrg_mcrg_level *L = &r->level[s * r->n_levels + level - 1];
      L->level = level;
      L->n = set->n;
      for (int q = 0; q < 2; q++) {
        L->sector[q].n = n_sec[q];
        L->sector[q].index = malloc((size_t)(n_sec[q] > 0 ? n_sec[q] : 1) * sizeof(int));
        INVRG_CHECK_ALLOC(L->sector[q].index);
        for (int a = 0, k = 0; a < set->n; a++)
          if (set->op[a].odd == (q == INVRG_MCRG_ODD)) L->sector[q].index[k++] = a;
      }
      L->n_values = level_layout(L, set->n, n_sec, NULL);
      L->values = malloc((size_t)L->n_values * sizeof *L->values);
      INVRG_CHECK_ALLOC(L->values);
      level_layout(L, set->n, n_sec, L->values);
      for (int64_t k = 0; k < L->n_values; k++) L->values[k] = NAN;
    }
  }
  *out = r;
  r = NULL;
cleanup:
  invrg_mcrg_results_destroy(&r);
  return err;
}

/* Integer facts of a level, known on every rank after the reduction. */
static void level_counts(const invrg_mcrg *m, int level, invrg_mcrg_level *L) {
  int64_t tie_samples = 0, ties = 0, tie_sites = 0;
  L->n_samples = 0;
  L->n_blocks = 0;
  for (int b = 0; b < m->p.n_blocks; b++) {
    const int64_t *rec = mcrg_record(m, level, b);
    L->n_samples += rec[REC_SAMPLES];
    L->n_blocks += rec[REC_SAMPLES] > 0;
    tie_samples += rec[REC_TIE_SAMPLES];
    ties += rec[REC_TIES];
    tie_sites += rec[REC_TIE_SITES];
  }
  L->lx_coarse = m->coarse_size[level][0];
  L->ly_coarse = m->coarse_size[level][1];
  L->tie_fraction = tie_samples > 0 && tie_samples == L->n_samples && tie_sites > 0
                        ? (double)ties / (double)tie_sites
                        : NAN;
}

/* √((B−1)/B Σ_b (f_b − f̄)²) for every entry; NaN with fewer than 2 blocks. */
static void jackknife_errors(const double *f_del, int n_del, size_t len, double *err) {
  for (size_t k = 0; k < len; k++) {
    if (n_del < 2) {
      err[k] = NAN;
      continue;
    }
    double mean = 0, ss = 0;
    for (int b = 0; b < n_del; b++) mean += f_del[(size_t)b * len + k];
    mean /= n_del;
    for (int b = 0; b < n_del; b++) {
      double d = f_del[(size_t)b * len + k] - mean;
      ss += d * d;
    }
    err[k] = sqrt((double)(n_del - 1) / n_del * ss);
  }
}

/* Analysis of one level on this rank: fills the value buffers of every set at @p level. */
static invrg_err analyze_level(const invrg_mcrg *m, invrg_mcrg_results *r, const vector_layout *vl,
                               int level, double rcond, scratch *sc, moments *mo) {
  invrg_err err = INVRG_SUCCESS;
  int64_t *total = NULL;
  double *f = NULL, *f_del = NULL, *f_err = NULL;
  const int B = m->p.n_blocks;
  const invrg_mcrg_level *first = &r->level[level - 1];
  if (first->n_samples < 2) goto cleanup; /* NaN as allocated */

  /* Exact total over blocks. */
  total = calloc(m->record_len, sizeof *total);
  f = malloc(vl->length * sizeof *f);
  f_del = malloc((size_t)B * vl->length * sizeof *f_del);
  f_err = malloc(vl->length * sizeof *f_err);
  INVRG_CHECK_ALLOC(total);
  INVRG_CHECK_ALLOC(f);
  INVRG_CHECK_ALLOC(f_del);
  INVRG_CHECK_ALLOC(f_err);
  for (int b = 0; b < B; b++) {
    const int64_t *rec = mcrg_record(m, level, b);
    for (size_t k = 0; k < REC_HEADER; k++) total[k] += rec[k];
    for (size_t k = REC_HEADER; k < m->record_len; k += 2) {
      total[k] += rec[k];
      total[k + 1] += rec[k + 1];
      exact_normalise(total + k);
    }
  }

  /* All samples: moments, full-sector T, the vector. */
  double *T_full[INVRG_MCRG_MAX_SETS][2];
  for (int s = 0; s < vl->n_sets; s++)
    for (int q = 0; q < 2; q++) T_full[s][q] = r->level[s * r->n_levels + level - 1].sector[q].T;
  record_moments(m, total, NULL, mo);
  compute_vector(vl, mo, rcond, sc, f, T_full);
  for (int s = 0; s < vl->n_sets; s++) {
    invrg_mcrg_level *L = &r->level[s * r->n_levels + level - 1];
    const int n = L->n, o = vl->first[s];
    for (int a = 0; a < n; a++) {
      L->mean_coarse[a] = mo->mean_c[o + a];
      L->mean_fine[a] = mo->mean_f[o + a];
      for (int b = 0; b < n; b++) {
        L->A[a * n + b] = mo->A[(o + a) * mo->n + o + b];
        L->B[a * n + b] = mo->B[(o + a) * mo->n + o + b];
      }
    }
  }

  /* Delete-one sets over the non-empty blocks. */
  int n_del = 0;
  for (int b = 0; b < B; b++) {
    const int64_t *rec = mcrg_record(m, level, b);
    if (rec[REC_SAMPLES] == 0) continue;
    if (rec[REC_SAMPLES] == total[REC_SAMPLES]) break; /* one block holds everything */
    record_moments(m, total, rec, mo);
    compute_vector(vl, mo, rcond, sc, f_del + (size_t)n_del * vl->length, NULL);
    n_del++;
  }
  jackknife_errors(f_del, n_del, vl->length, f_err);

  /* Spread the vector into the results. */
  for (int s = 0; s < vl->n_sets; s++) {
    invrg_mcrg_level *L = &r->level[s * r->n_levels + level - 1];
    for (int q = 0; q < 2; q++) {
      invrg_mcrg_sector *sec = &L->sector[q];
      const int ns = sec->n;
      const size_t nn = (size_t)ns * (size_t)ns, off = vl->offset[s][q];
      if (ns == 0) continue;
      memcpy(sec->series, f + off, 2 * nn * sizeof *f);
      memcpy(sec->series_err, f_err + off, 2 * nn * sizeof *f);
      memcpy(sec->series_y, f + off + 2 * nn, nn * sizeof *f);
      memcpy(sec->series_y_err, f_err + off + 2 * nn, nn * sizeof *f);
      const size_t last = (size_t)(ns - 1) * (size_t)ns;
      memcpy(sec->eig, sec->series + 2 * last, 2 * (size_t)ns * sizeof *f);
      memcpy(sec->eig_err, sec->series_err + 2 * last, 2 * (size_t)ns * sizeof *f);
      memcpy(sec->y, sec->series_y + last, (size_t)ns * sizeof *f);
      memcpy(sec->y_err, sec->series_y_err + last, (size_t)ns * sizeof *f);
    }
    double *sv = L->values;
    const invrg_mcrg_sector *even = &L->sector[INVRG_MCRG_EVEN], *odd = &L->sector[INVRG_MCRG_ODD];
    if (even->n > 0) {
      sv[S_LT] = even->eig[0], sv[S_LT_ERR] = even->eig_err[0];
      sv[S_YT] = even->y[0], sv[S_YT_ERR] = even->y_err[0];
    }
    if (odd->n > 0) {
      sv[S_LH] = odd->eig[0], sv[S_LH_ERR] = odd->eig_err[0];
      sv[S_YH] = odd->y[0], sv[S_YH_ERR] = odd->y_err[0];
    }
  }
cleanup:
  free(total);
  free(f);
  free(f_del);
  free(f_err);
  return err;
}

/* The whole analysis on this rank (world rank 0). */
static invrg_err analyze_here(const invrg_mcrg *m, invrg_mcrg_results *r, double rcond) {
  invrg_err err = INVRG_SUCCESS;
  vector_layout vl;
  memset(&vl, 0, sizeof vl);
  scratch sc = {0};
  moments mo = {0};
  vl.n_sets = r->n_sets;
  for (int s = 0; s < r->n_sets; s++) {
    vl.first[s] = m->set_first[s];
    for (int q = 0; q < 2; q++) {
      const invrg_mcrg_sector *sec = &r->level[s * r->n_levels].sector[q];
      vl.n_sec[s][q] = sec->n;
      vl.idx[s][q] = malloc((size_t)(sec->n > 0 ? sec->n : 1) * sizeof(int));
      INVRG_CHECK_ALLOC(vl.idx[s][q]);
      for (int k = 0; k < sec->n; k++) vl.idx[s][q][k] = vl.first[s] + sec->index[k];
      vl.offset[s][q] = vl.length;
      vl.length += sector_length(sec->n);
    }
  }
  INVRG_CALL(scratch_alloc(m->n_ops, &sc));
  INVRG_CALL(moments_alloc(m->n_ops, &mo));
  for (int level = 1; level <= r->n_levels; level++)
    INVRG_CALL(analyze_level(m, r, &vl, level, rcond, &sc, &mo));
cleanup:
  for (int s = 0; s < INVRG_MCRG_MAX_SETS; s++)
    for (int q = 0; q < 2; q++) free(vl.idx[s][q]);
  scratch_free(&sc);
  free(mo.mean_c);
  return err;
}

invrg_err invrg_mcrg_analyze(const invrg_mcrg *m, double rcond, invrg_mcrg_results **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_mcrg_results *r = NULL;
  *out = NULL;
  INVRG_CHECK(m->reduced, INVRG_ERR_RUNTIME, "MCRG: analyze before reduce");
  if (!(rcond > 0)) rcond = INVRG_MCRG_RCOND;
  INVRG_CALL(results_alloc(m, rcond, &r));
  for (int s = 0; s < r->n_sets; s++)
    for (int level = 1; level <= r->n_levels; level++)
      level_counts(m, level, &r->level[s * r->n_levels + level - 1]);
  invrg_err local = m->g->world_rank == 0 ? analyze_here(m, r, rcond) : INVRG_SUCCESS;
  INVRG_CALL(invrg_error_agree(local, m->g->world));
  /* Rank 0's numbers for everyone: HDF5 attributes must be identical on all ranks. */
  for (int k = 0; k < r->n_sets * r->n_levels; k++) {
    invrg_mcrg_level *L = &r->level[k];
    INVRG_MPI_CALL(MPI_Bcast(L->values, (int)L->n_values, MPI_DOUBLE, 0, m->g->world));
    const double *sv = L->values;
    L->lambda_t = sv[S_LT], L->lambda_t_err = sv[S_LT_ERR];
    L->y_t = sv[S_YT], L->y_t_err = sv[S_YT_ERR];
    L->lambda_h = sv[S_LH], L->lambda_h_err = sv[S_LH_ERR];
    L->y_h = sv[S_YH], L->y_h_err = sv[S_YH_ERR];
  }
  *out = r;
  r = NULL;
cleanup:
  invrg_mcrg_results_destroy(&r);
  return err;
}
