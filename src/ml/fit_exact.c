/* Exact fit of the symmetric models: sufficient statistics, Newton's method, bootstrap (docs/physics.md §10). */
#include "invrg/fit_exact.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/blockspin.h"
#include "invrg/rng.h"

/* Weights are integers in units of 2^-UNIT_BITS, summed exactly in 128 bits. */
__extension__ typedef unsigned __int128 u128;
#define UNIT_BITS 80
#define KEY_BYTES 16 /* 2φ for up to 10 orbits, as int8 in the statistics */

/* A feature vector packed into 64 bits: field o (6 bits) holds KEY_BIAS + 2φ_o (|2φ_o| ≤ 8 here).
 * Packing is linear — key(a + b) = key(a) + Σ 2φ_o(b) 64^o — so feature vectors add as integers,
 * partial sums included (every partial sum of a window's fields stays in the field). 0 = empty. */
#define KEY_BITS 6
#define KEY_BIAS 32

typedef struct {
  uint64_t key;
  u128 w[2]; /* spin down, spin up */
} entry;

typedef struct {
  entry *e;
  size_t cap, used;
} table;

struct invrg_fit_stats {
  int np;
  int64_t n;
  int8_t *f;    /* [n][KEY_BYTES] */
  double *w;    /* [n][2]: weight of spin down, up */
  double total; /* Σ w */
};

/* ------------------------------------------------------------------ hash table of feature vectors */

static uint64_t key_hash(uint64_t key) {
  uint64_t h = key * UINT64_C(0x9E3779B97F4A7C15);
  return h ^ (h >> 29);
}

/* Σ_o v[o] 64^o (two's complement: v may be negative). */
static int64_t pack(const int *v, int np) {
  int64_t k = 0;
  for (int o = np - 1; o >= 0; o--) k = k * (1 << KEY_BITS) + v[o];
  return k;
}

static uint64_t key_zero(int np) {
  int bias[10];
  for (int o = 0; o < np; o++) bias[o] = KEY_BIAS;
  return (uint64_t)pack(bias, np);
}

static invrg_err table_init(table *t, size_t cap) {
  invrg_err err = INVRG_SUCCESS;
  t->cap = cap, t->used = 0;
  t->e = calloc(cap, sizeof *t->e);
  INVRG_CHECK_ALLOC(t->e);
cleanup:
  return err;
}

static entry *table_slot(table *t, uint64_t key) {
  size_t i = (size_t)key_hash(key) & (t->cap - 1);
  while (t->e[i].key != 0 && t->e[i].key != key) i = (i + 1) & (t->cap - 1);
  return &t->e[i];
}

static invrg_err table_add(table *t, uint64_t key, const u128 *w) {
  invrg_err err = INVRG_SUCCESS;
  if (2 * (t->used + 1) > t->cap) { /* grow: keep the load under ½ */
    table bigger;
    INVRG_CALL(table_init(&bigger, 2 * t->cap));
    for (size_t i = 0; i < t->cap; i++)
      if (t->e[i].key != 0) *table_slot(&bigger, t->e[i].key) = t->e[i];
    bigger.used = t->used;
    free(t->e);
    *t = bigger;
  }
  entry *s = table_slot(t, key);
  if (s->key == 0) {
    s->key = key;
    t->used++;
  }
  s->w[0] += w[0];
  s->w[1] += w[1];
cleanup:
  return err;
}

/* ------------------------------------------------------------------ counting */

/* The window of child αβ: the coarse offsets whose column (kernel entries per orbit) is not 0. */
typedef struct {
  int n_off[4];
  int dy[4][64], dx[4][64];
  int64_t col[4][64]; /* packed */
  uint64_t zero;      /* the packed 0 vector */
} window;

static void window_of(const invrg_model *m, window *win) {
  const int R = 2 * m->reach + 1, np = m->n_params;
  win->zero = key_zero(np);
  for (int ab = 0; ab < 4; ab++) {
    win->n_off[ab] = 0;
    for (int dy = 0; dy < R; dy++)
      for (int dx = 0; dx < R; dx++) {
        const int *c = m->orbit_count + ((ab * R + dy) * R + dx) * np;
        bool any = false;
        for (int o = 0; o < np; o++) any |= c[o] != 0;
        if (!any) continue;
        int k = win->n_off[ab]++;
        win->dy[ab][k] = dy, win->dx[ab][k] = dx;
        win->col[ab][k] = pack(c, np);
      }
  }
}

/* Majority rule of a whole configuration into μ padded by r (true wrap); ties 0 (expectation) or
 * the coin of configuration c. Returns the number of tied blocks. */
static int64_t coarse_padded(const int8_t *fine, int L, int r, const invrg_fit_options *o, int64_t c,
                             int8_t *mu, int8_t *pad) {
  const int lc = L / 2, P = lc + 2 * r;
  int64_t ties = 0;
  if (o->ties == INVRG_FIT_TIES_COIN) {
    invrg_blockspin_ties t = {INVRG_TIE_RANDOM, o->seed, INVRG_FIT_TIE_ITEM, (uint64_t)c};
    ties = invrg_blockspin_array(fine, L, L, &t, mu);
  } else {
    for (int I = 0; I < lc; I++)
      for (int J = 0; J < lc; J++) {
        const int8_t *f = fine + 2 * I * L + 2 * J;
        int s = f[0] + f[1] + f[L] + f[L + 1];
        mu[I * lc + J] = (int8_t)((s > 0) - (s < 0));
        ties += s == 0;
      }
  }
  for (int y = 0; y < P; y++)
    for (int x = 0; x < P; x++)
      pad[y * P + x] = mu[(((y - r) % lc + lc) % lc) * lc + ((x - r) % lc + lc) % lc];
  return ties;
}

static int64_t tie_count(const int8_t *fine, int L) {
  int64_t ties = 0;
  for (int I = 0; I < L / 2; I++)
    for (int J = 0; J < L / 2; J++) {
      const int8_t *f = fine + 2 * I * L + 2 * J;
      ties += f[0] + f[1] + f[L] + f[L + 1] == 0;
    }
  return ties;
}

/* Every outcome of k tied blocks (columns @p tied) around @p base, each with weight @p w. */
static invrg_err add_outcomes(table *t, uint64_t base, const int64_t *tied, int k, const u128 *w) {
  invrg_err err = INVRG_SUCCESS;
  for (uint32_t s = 0; s < (1u << k); s++) {
    uint64_t key = base;
    for (int j = 0; j < k; j++) key += (uint64_t)((s >> j) & 1 ? tied[j] : -tied[j]);
    INVRG_CALL(table_add(t, key, w));
  }
cleanup:
  return err;
}

/* Adds configuration @p fine (padded coarse @p pad) with weight mult · 2^-shift to @p t. */
static invrg_err count_config(const window *win, const int8_t *fine, const int8_t *pad, int L, int r,
                              uint32_t mult, int shift, table *t) {
  invrg_err err = INVRG_SUCCESS;
  const int lc = L / 2, P = lc + 2 * r;
  int64_t tied[64];
  for (int I = 0; I < lc; I++)
    for (int J = 0; J < lc; J++)
      for (int ab = 0; ab < 4; ab++) {
        uint64_t base = win->zero;
        int k = 0;
        for (int j = 0; j < win->n_off[ab]; j++) {
          int mu = pad[(I + win->dy[ab][j]) * P + J + win->dx[ab][j]];
          if (mu == 0)
            tied[k++] = win->col[ab][j];
          else
            base += (uint64_t)(mu * win->col[ab][j]);
        }
        INVRG_CHECK(k <= INVRG_FIT_MAX_WINDOW_TIES, INVRG_ERR_RUNTIME,
                    "exact fit: %d tied blocks in one window (at most %d): use &train ties = 'coin'",
                    k, INVRG_FIT_MAX_WINDOW_TIES);
        const int e = shift + k; /* weight mult · 2^-e per outcome */
        if (e > UNIT_BITS) continue;
        const int up = fine[(2 * I + ab / 2) * L + 2 * J + ab % 2] > 0;
        u128 w[2] = {0, 0};
        w[up] = (u128)mult << (UNIT_BITS - e);
        INVRG_CALL(add_outcomes(t, base, tied, k, w));
      }
cleanup:
  return err;
}

/*
 * Windows of at most PATTERN_MAX_OFFSETS blocks are counted by pattern first: index Σ_j (μ_j + 1) 3^j
 * (tie = 0), an array lookup per site instead of a hash; the patterns become feature vectors at the
 * end. The weights per pattern are multiples of 2^k (k ties), so 2^-k of them is exact.
 */
#define PATTERN_MAX_OFFSETS 10

typedef struct {
  int n_pat;     /* 3^n_off of each child position, the largest */
  u128 *acc;     /* [ab][pattern][t] */
} patterns;

static bool patterns_apply(const window *win) {
  for (int ab = 0; ab < 4; ab++)
    if (win->n_off[ab] > PATTERN_MAX_OFFSETS) return false;
  return true;
}

static invrg_err patterns_init(const window *win, patterns *p) {
  invrg_err err = INVRG_SUCCESS;
  p->n_pat = 1;
  int most = 0;
  for (int ab = 0; ab < 4; ab++) most = win->n_off[ab] > most ? win->n_off[ab] : most;
  for (int j = 0; j < most; j++) p->n_pat *= 3;
  p->acc = calloc(4 * 2 * (size_t)p->n_pat, sizeof *p->acc);
  INVRG_CHECK_ALLOC(p->acc);
cleanup:
  return err;
}

static void count_patterns(const window *win, const int8_t *fine, const int8_t *pad, int L, int r,
                           uint32_t mult, int shift, patterns *p) {
  const int lc = L / 2, P = lc + 2 * r;
  for (int ab = 0; ab < 4; ab++) {
    u128 *acc = p->acc + (size_t)ab * 2 * (size_t)p->n_pat;
    const int n_off = win->n_off[ab];
    int rel[64];
    for (int j = 0; j < n_off; j++) rel[j] = win->dy[ab][j] * P + win->dx[ab][j];
    for (int I = 0; I < lc; I++)
      for (int J = 0; J < lc; J++) {
        const int8_t *at = pad + I * P + J;
        int idx = 0, k = 0;
        for (int j = n_off - 1; j >= 0; j--) {
          idx = 3 * idx + at[rel[j]] + 1;
          k += at[rel[j]] == 0;
        }
        if (shift + k > UNIT_BITS) continue;
        const int up = fine[(2 * I + ab / 2) * L + 2 * J + ab % 2] > 0;
        acc[2 * idx + up] += (u128)mult << (UNIT_BITS - shift);
      }
  }
}

/* The patterns' weights into feature vectors: every outcome of the k ties gets 2^-k. */
static invrg_err patterns_expand(const window *win, const patterns *p, table *t) {
  invrg_err err = INVRG_SUCCESS;
  for (int ab = 0; ab < 4; ab++) {
    const u128 *acc = p->acc + (size_t)ab * 2 * (size_t)p->n_pat;
    int n = 1;
    for (int j = 0; j < win->n_off[ab]; j++) n *= 3;
    for (int idx = 0; idx < n; idx++) {
      if (acc[2 * idx] == 0 && acc[2 * idx + 1] == 0) continue;
      uint64_t base = win->zero;
      int64_t tied[64];
      int k = 0;
      for (int j = 0, rest = idx; j < win->n_off[ab]; j++, rest /= 3) {
        int mu = rest % 3 - 1;
        if (mu == 0)
          tied[k++] = win->col[ab][j];
        else
          base += (uint64_t)(mu * win->col[ab][j]);
      }
      const u128 w[2] = {acc[2 * idx] >> k, acc[2 * idx + 1] >> k};
      INVRG_CALL(add_outcomes(t, base, tied, k, w));
    }
  }
cleanup:
  return err;
}

static int compare_entries(const void *a, const void *b) {
  const uint64_t x = ((const entry *)a)->key, y = ((const entry *)b)->key;
  return (x > y) - (x < y);
}

/* Every rank's table into one on every rank, sorted by feature vector: exact and rank-independent. */
static invrg_err merge_tables(table *t, MPI_Comm comm, entry **out, size_t *n_out) {
  invrg_err err = INVRG_SUCCESS;
  int size;
  entry *mine = NULL, *all = NULL;
  int *counts = NULL, *displs = NULL;
  table merged = {NULL, 0, 0};
  INVRG_MPI_CALL(MPI_Comm_size(comm, &size));
  mine = malloc((t->used + 1) * sizeof *mine);
  counts = malloc((size_t)size * sizeof *counts);
  displs = malloc((size_t)size * sizeof *displs);
  INVRG_CHECK_ALLOC(mine);
  INVRG_CHECK_ALLOC(counts);
  INVRG_CHECK_ALLOC(displs);
  size_t k = 0;
  for (size_t i = 0; i < t->cap; i++)
    if (t->e[i].key != 0) mine[k++] = t->e[i];
  INVRG_CHECK(k * sizeof(entry) < (size_t)INT32_MAX / (size_t)size, INVRG_ERR_RUNTIME,
              "exact fit: %zu distinct feature vectors are too many to merge", k);
  int bytes = (int)(k * sizeof(entry));
  INVRG_MPI_CALL(MPI_Allgather(&bytes, 1, MPI_INT, counts, 1, MPI_INT, comm));
  size_t total = 0;
  for (int r = 0; r < size; r++) {
    displs[r] = (int)total;
    total += (size_t)counts[r];
  }
  all = malloc(total + sizeof(entry));
  INVRG_CHECK_ALLOC(all);
  INVRG_MPI_CALL(MPI_Allgatherv(mine, bytes, MPI_BYTE, all, counts, displs, MPI_BYTE, comm));
  INVRG_CALL(table_init(&merged, 1024));
  for (size_t i = 0; i < total / sizeof(entry); i++) INVRG_CALL(table_add(&merged, all[i].key, all[i].w));
  k = 0;
  for (size_t i = 0; i < merged.cap; i++)
    if (merged.e[i].key != 0) all[k++] = merged.e[i];
  qsort(all, k, sizeof *all, compare_entries);
  *out = all, *n_out = k;
  all = NULL;
cleanup:
  free(mine);
  free(all);
  free(counts);
  free(displs);
  free(merged.e);
  return err;
}

invrg_err invrg_fit_count(const invrg_model *m, const invrg_train_data *data, int64_t n,
                          const int32_t *mult, const invrg_fit_options *o, MPI_Comm comm,
                          invrg_fit_stats **out) {
  invrg_err err = INVRG_SUCCESS;
  int rank, size;
  table t = {NULL, 0, 0};
  entry *merged = NULL;
  int8_t *mu = NULL, *pad = NULL;
  window *win = NULL;
  patterns pat = {0, NULL};
  invrg_fit_stats *s = NULL;
  *out = NULL;
  INVRG_CHECK(m->family == INVRG_MODEL_SYM, INVRG_ERR_INPUT,
              "the exact fit is for sym3, sym5, sym7, not %s",
              invrg_model_kind_name(m->kind));
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  INVRG_MPI_CALL(MPI_Comm_size(comm, &size));
  const int L = data->L, lc = L / 2, r = m->reach, P = lc + 2 * r;
  /* Smaller lattices put one block twice in a window: its two coins would not be one. */
  INVRG_CHECK(o->ties == INVRG_FIT_TIES_COIN || lc >= 2 * r + 1, INVRG_ERR_INPUT,
              "exact fit of %s with ties = 'expectation' needs L >= %d (got %d); use ties = 'coin'",
              invrg_model_kind_name(m->kind), 2 * (2 * r + 1), L);
  win = malloc(sizeof *win);
  mu = malloc((size_t)lc * (size_t)lc);
  pad = malloc((size_t)P * (size_t)P);
  INVRG_CHECK_ALLOC(win);
  INVRG_CHECK_ALLOC(mu);
  INVRG_CHECK_ALLOC(pad);
  window_of(m, win);
  /* Weighted loss: weights relative to the configuration with the fewest ties. */
  int64_t n_min = 0;
  if (o->loss == INVRG_LOSS_WEIGHTED) {
    n_min = INT64_MAX;
    for (int64_t c = rank; c < n; c += size)
      if (mult == NULL || mult[c] > 0) {
        int64_t k = tie_count(data->configs + c * L * L, L);
        n_min = k < n_min ? k : n_min;
      }
    INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &n_min, 1, MPI_INT64_T, MPI_MIN, comm));
  }
  INVRG_CALL(table_init(&t, 1024));
  const bool by_pattern = patterns_apply(win);
  if (by_pattern) INVRG_CALL(patterns_init(win, &pat));
  for (int64_t c = rank; c < n; c += size) {
    if (mult != NULL && mult[c] == 0) continue;
    const int8_t *fine = data->configs + c * L * L;
    int64_t ties = coarse_padded(fine, L, r, o, c, mu, pad);
    int64_t shift = o->loss == INVRG_LOSS_WEIGHTED ? ties - n_min : 0;
    if (shift > UNIT_BITS) continue;
    const uint32_t times = mult ? (uint32_t)mult[c] : 1u;
    if (by_pattern)
      count_patterns(win, fine, pad, L, r, times, (int)shift, &pat);
    else
      INVRG_CALL(count_config(win, fine, pad, L, r, times, (int)shift, &t));
  }
  if (by_pattern) INVRG_CALL(patterns_expand(win, &pat, &t));
  size_t k = 0;
  INVRG_CALL(merge_tables(&t, comm, &merged, &k));
  s = calloc(1, sizeof *s);
  INVRG_CHECK_ALLOC(s);
  s->np = m->n_params;
  s->n = (int64_t)k;
  s->f = malloc((k + 1) * KEY_BYTES);
  s->w = malloc((2 * k + 1) * sizeof *s->w);
  INVRG_CHECK_ALLOC(s->f);
  INVRG_CHECK_ALLOC(s->w);
  const double unit = ldexp(1.0, -UNIT_BITS);
  for (size_t i = 0; i < k; i++) {
    memset(s->f + i * KEY_BYTES, 0, KEY_BYTES);
    for (int q = 0; q < s->np; q++)
      s->f[i * KEY_BYTES + (size_t)q] =
          (int8_t)((int)((merged[i].key >> (KEY_BITS * q)) & ((1u << KEY_BITS) - 1)) - KEY_BIAS);
    s->w[2 * i] = (double)merged[i].w[0] * unit;
    s->w[2 * i + 1] = (double)merged[i].w[1] * unit;
    s->total += s->w[2 * i] + s->w[2 * i + 1];
  }
  INVRG_CHECK(s->total > 0, INVRG_ERR_INPUT, "exact fit: no data to count");
cleanup:
  if (err != INVRG_SUCCESS) invrg_fit_stats_destroy(&s);
  *out = s;
  free(t.e);
  free(pat.acc);
  free(merged);
  free(mu);
  free(pad);
  free(win);
  return err;
}

void invrg_fit_stats_destroy(invrg_fit_stats **s) {
  if (s == NULL || *s == NULL) return;
  free((*s)->f);
  free((*s)->w);
  free(*s);
  *s = NULL;
}

int64_t invrg_fit_stats_size(const invrg_fit_stats *s) { return s->n; }

double invrg_fit_stats_weight(const invrg_fit_stats *s) { return s->total; }

/* ------------------------------------------------------------------ loss, Newton */

static double softplus(double z) { return fmax(z, 0) + log1p(exp(-fabs(z))); }

static double sigmoid(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }

double invrg_fit_loss(const invrg_fit_stats *s, const double *theta, double *grad, double *hess) {
  const int np = s->np;
  double loss = 0;
  if (grad) memset(grad, 0, (size_t)np * sizeof *grad);
  if (hess) memset(hess, 0, (size_t)(np * np) * sizeof *hess);
  for (int64_t i = 0; i < s->n; i++) {
    const int8_t *f = s->f + i * KEY_BYTES;
    const double w0 = s->w[2 * i], w1 = s->w[2 * i + 1];
    double z = 0;
    for (int o = 0; o < np; o++) z += f[o] * theta[o];
    z *= 0.5; /* the key is 2φ */
    loss += w1 * softplus(-z) + w0 * softplus(z);
    if (grad == NULL && hess == NULL) continue;
    const double p = sigmoid(z);
    if (grad) {
      const double g = 0.5 * ((w0 + w1) * p - w1);
      for (int o = 0; o < np; o++) grad[o] += g * f[o];
    }
    if (hess) {
      const double h = 0.25 * (w0 + w1) * p * (1 - p);
      for (int a = 0; a < np; a++)
        for (int b = a; b < np; b++) hess[a * np + b] += h * f[a] * f[b];
    }
  }
  if (grad)
    for (int o = 0; o < np; o++) grad[o] /= s->total;
  if (hess)
    for (int a = 0; a < np; a++)
      for (int b = a; b < np; b++) hess[b * np + a] = hess[a * np + b] /= s->total;
  return loss / s->total;
}

/* Solves H x = b by Cholesky (H symmetric positive definite, n ≤ 10); false if it is not. */
static bool cholesky_solve(int n, const double *H, const double *b, double *x) {
  double Lm[100] = {0}, y[10];
  for (int i = 0; i < n; i++)
    for (int j = 0; j <= i; j++) {
      double s = H[i * n + j];
      for (int k = 0; k < j; k++) s -= Lm[i * n + k] * Lm[j * n + k];
      if (i == j) {
        if (!(s > 0)) return false;
        Lm[i * n + i] = sqrt(s);
      } else {
        Lm[i * n + j] = s / Lm[j * n + j];
      }
    }
  for (int i = 0; i < n; i++) {
    double s = b[i];
    for (int k = 0; k < i; k++) s -= Lm[i * n + k] * y[k];
    y[i] = s / Lm[i * n + i];
  }
  for (int i = n - 1; i >= 0; i--) {
    double s = y[i];
    for (int k = i + 1; k < n; k++) s -= Lm[k * n + i] * x[k];
    x[i] = s / Lm[i * n + i];
  }
  return true;
}

static double norm(int n, const double *v) {
  double s = 0;
  for (int i = 0; i < n; i++) s += v[i] * v[i];
  return sqrt(s);
}

invrg_err invrg_fit_newton(const invrg_fit_stats *s, double *theta, double tol,
                           invrg_fit_result *res) {
  invrg_err err = INVRG_SUCCESS;
  const int np = s->np;
  double g[10], H[100], p[10], trial[10], neg[10], eval[10], evec[100];
  memset(res, 0, sizeof *res);
  int it = 0;
  for (;; it++) {
    double F = invrg_fit_loss(s, theta, g, H);
    res->loss = F;
    res->grad_norm = norm(np, g);
    if (res->grad_norm <= tol) break;
    INVRG_CHECK(it < 100, INVRG_ERR_INPUT,
                "exact fit: gradient norm %.3g after 100 Newton iterations (tolerance %.3g)",
                res->grad_norm, tol);
    for (int o = 0; o < np; o++) neg[o] = -g[o];
    INVRG_CHECK(cholesky_solve(np, H, neg, p), INVRG_ERR_INPUT,
                "exact fit: the Hessian is singular: the data do not determine the %d parameters "
                "(too few or too uniform configurations?)", np);
    double slope = 0;
    for (int o = 0; o < np; o++) slope += g[o] * p[o];
    /* Near the optimum the loss changes by less than its rounding: take the full step there
     * (the quadratic region of a smooth convex loss); elsewhere backtrack (Armijo). */
    double t = 1;
    if (res->grad_norm > 1e-6) {
      for (;;) {
        for (int o = 0; o < np; o++) trial[o] = theta[o] + t * p[o];
        if (invrg_fit_loss(s, trial, NULL, NULL) <= F + 1e-4 * t * slope) break;
        t /= 2;
        INVRG_CHECK(t > 1e-12, INVRG_ERR_INPUT, "exact fit: the line search found no descent");
      }
    }
    for (int o = 0; o < np; o++) theta[o] += t * p[o];
  }
  res->iterations = it;
  invrg_fit_symeig(np, H, eval, evec);
  res->hess_cond = eval[np - 1] / eval[0];
  int big = 0;
  for (int o = 0; o < np; o++) {
    res->min_eigvec[o] = evec[o * np];
    if (fabs(evec[o * np]) > fabs(evec[big * np])) big = o;
  }
  if (res->min_eigvec[big] < 0)
    for (int o = 0; o < np; o++) res->min_eigvec[o] = -res->min_eigvec[o];
cleanup:
  return err;
}

/* ------------------------------------------------------------------ bootstrap, eigenvalues */

void invrg_fit_bootstrap(uint64_t seed, uint64_t replica, int64_t n, int32_t *mult) {
  for (int64_t c = 0; c < n; c++) mult[c] = replica == 0;
  if (replica == 0) return;
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_TRAIN, replica, INVRG_FIT_BOOTSTRAP_STEP);
  for (int64_t i = 0; i < n; i++) {
    uint32_t w[4];
    invrg_rng_u32x4(&s, (uint64_t)i, 0, w);
    mult[(((uint64_t)w[0] << 32) | w[1]) % (uint64_t)n]++;
  }
}

void invrg_fit_bootstrap_moments(const double *params, int64_t R, int np, double *mean,
                                 double *cov) {
  int64_t n = 0; /* the resamples with a fit (a degenerate one's row is NaN) */
  for (int64_t r = 1; r < R; r++) n += !isnan(params[r * np]);
  for (int i = 0; i < np; i++) mean[i] = n >= 1 ? 0 : NAN;
  for (int i = 0; i < np * np; i++) cov[i] = n >= 2 ? 0 : NAN;
  for (int64_t r = 1; r < R && n >= 1; r++) {
    const double *p = params + r * np;
    if (isnan(p[0])) continue; /* left out */
    for (int i = 0; i < np; i++) mean[i] += p[i] / (double)n;
  }
  for (int64_t r = 1; r < R && n >= 2; r++) {
    const double *p = params + r * np;
    if (isnan(p[0])) continue;
    for (int i = 0; i < np; i++)
      for (int j = 0; j < np; j++)
        cov[i * np + j] += (p[i] - mean[i]) * (p[j] - mean[j]) / (double)(n - 1);
  }
}

/* Cyclic Jacobi rotations: ample for n ≤ 10. */
void invrg_fit_symeig(int n, const double *a_in, double *eval, double *evec) {
  double a[100];
  memcpy(a, a_in, (size_t)(n * n) * sizeof *a);
  for (int i = 0; i < n * n; i++) evec[i] = i / n == i % n;
  for (int sweep = 0; sweep < 100; sweep++) {
    double off = 0, diag = 0;
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) {
        if (i == j)
          diag += a[i * n + j] * a[i * n + j];
        else
          off += a[i * n + j] * a[i * n + j];
      }
    if (off <= 1e-30 * diag) break;
    for (int p = 0; p < n; p++)
      for (int q = p + 1; q < n; q++) {
        if (a[p * n + q] == 0) continue;
        double theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q]);
        double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
        double c = 1 / sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < n; k++) { /* A ← A J */
          double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (int k = 0; k < n; k++) { /* A ← Jᵀ A */
          double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (int k = 0; k < n; k++) {
          double vkp = evec[k * n + p], vkq = evec[k * n + q];
          evec[k * n + p] = c * vkp - s * vkq;
          evec[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  /* ascending order, columns with them */
  for (int i = 0; i < n; i++) eval[i] = a[i * n + i];
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (eval[j] < eval[i]) {
        double t = eval[i];
        eval[i] = eval[j], eval[j] = t;
        for (int k = 0; k < n; k++) {
          t = evec[k * n + i];
          evec[k * n + i] = evec[k * n + j], evec[k * n + j] = t;
        }
      }
}
