/* Inverse-RG models: D4-symmetric kernels and the two-layer convolutional net (docs/physics.md §4). */
#include "invrg/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const int invrg_sym_orbits[10][2] = {{1, 1}, {0, 1}, {0, 0}, {2, 2}, {0, 2},
                                     {1, 2}, {3, 3}, {0, 3}, {2, 3}, {1, 3}};

/* Orbits of a k × k kernel: k = 3 uses 0–2, k = 5 uses 0–5, k = 7 uses 0–9. */
static int sym_orbit_count(int kernel) { return kernel == 3 ? 3 : kernel == 5 ? 6 : 10; }

static int orbit_of(int di, int dj) {
  int p = abs(di), q = abs(dj);
  if (p > q) {
    int t = p;
    p = q, q = t;
  }
  for (int o = 0; o < 10; o++)
    if (invrg_sym_orbits[o][0] == p && invrg_sym_orbits[o][1] == q) return o;
  return -1;
}

static int sym_kernel_of(invrg_model_kind kind) {
  switch (kind) {
    case INVRG_MODEL_KIND_SYM3: return 3;
    case INVRG_MODEL_KIND_SYM5: return 5;
    case INVRG_MODEL_KIND_SYM7: return 7;
    default: return 0;
  }
}

const char *invrg_model_kind_name(invrg_model_kind kind) {
  return (unsigned)kind <= INVRG_MODEL_KIND_CONV ? invrg_model_kind_names[kind] : "unknown";
}

int invrg_model_param_count(invrg_model_kind kind, int kernel, int channels) {
  int k = sym_kernel_of(kind);
  if (k > 0) return sym_orbit_count(k);
  if (kind == INVRG_MODEL_KIND_CONV) return channels * (2 * kernel * kernel + 1) + 1;
  return 0;
}

/* floor(a / 2) for negative a too. */
static int floor_half(int a) { return a >= 0 ? a / 2 : -((1 - a) / 2); }

/*
 * For child position (α, β) of a coarse block, fine offset (i − p) lands in the
 * coarse block at offset ⌊(α + i − p)/2⌋. Counting the kernel entries of each
 * orbit per coarse offset turns the fine convolution into a coarse one:
 *   z(2I+α, 2J+β) = ½ Σ_d Σ_o θ_o count[αβ][d][o] μ(I + d).
 */
static invrg_err build_orbit_counts(invrg_model *m) {
  invrg_err err = INVRG_SUCCESS;
  const int k = m->kernel, p = (k - 1) / 2, n_orb = m->n_params;
  m->reach = floor_half(1 + p) > -floor_half(-p) ? floor_half(1 + p) : -floor_half(-p);
  const int R = 2 * m->reach + 1;
  m->orbit_count = calloc((size_t)(4 * R * R * n_orb), sizeof *m->orbit_count);
  INVRG_CHECK_ALLOC(m->orbit_count);
  for (int ab = 0; ab < 4; ab++) {
    int alpha = ab / 2, beta = ab % 2;
    for (int i = 0; i < k; i++)
      for (int j = 0; j < k; j++) {
        int dy = floor_half(alpha + i - p) + m->reach, dx = floor_half(beta + j - p) + m->reach;
        m->orbit_count[((ab * R + dy) * R + dx) * n_orb + orbit_of(i - p, j - p)]++;
      }
  }
cleanup:
  return err;
}

invrg_err invrg_model_create(invrg_model_kind kind, int kernel, int channels, invrg_model **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_model *m = calloc(1, sizeof *m);
  INVRG_CHECK_ALLOC(m);
  m->kind = kind;
  int k = sym_kernel_of(kind);
  if (k > 0) {
    m->family = INVRG_MODEL_SYM;
    m->kernel = k;
  } else {
    INVRG_CHECK(kind == INVRG_MODEL_KIND_CONV, INVRG_ERR_INPUT, "unknown model kind %d",
                (int)kind);
    INVRG_CHECK(kernel >= 1 && kernel % 2 == 1, INVRG_ERR_INPUT,
                "conv kernel must be odd and positive, got %d", kernel);
    INVRG_CHECK(channels >= 1, INVRG_ERR_INPUT, "conv channels must be positive, got %d",
                channels);
    m->family = INVRG_MODEL_CONV;
    m->kernel = kernel;
    m->channels = channels;
  }
  m->n_params = invrg_model_param_count(kind, m->kernel, m->channels);
  m->params = calloc((size_t)m->n_params, sizeof *m->params);
  INVRG_CHECK_ALLOC(m->params);
  if (m->family == INVRG_MODEL_SYM) INVRG_CALL(build_orbit_counts(m));
cleanup:
  if (err != INVRG_SUCCESS) invrg_model_destroy(&m);
  *out = m;
  return err;
}

void invrg_model_destroy(invrg_model **m) {
  if (m == NULL || *m == NULL) return;
  free((*m)->params);
  free((*m)->orbit_count);
  free(*m);
  *m = NULL;
}

invrg_err invrg_model_clone(const invrg_model *m, invrg_model **out) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CALL(invrg_model_create(m->kind, m->kernel, m->channels, out));
  memcpy((*out)->params, m->params, (size_t)m->n_params * sizeof *m->params);
cleanup:
  return err;
}

/* Conv parameter blocks, in PyTorch state_dict order. */
typedef struct {
  double *w1, *b1, *w2, *b2; /* w1[c][i][j], b1[c], w2[c][i][j], b2 */
} conv_params;

static conv_params conv_view(const invrg_model *m, double *base) {
  const int kk = m->kernel * m->kernel, C = m->channels;
  conv_params v = {base, base + C * kk, base + C * kk + C, base + 2 * C * kk + C};
  return v;
}

void invrg_model_init_params(invrg_model *m, const invrg_rng_stream *s) {
  if (m->family == INVRG_MODEL_SYM) {
    for (int i = 0; i < m->n_params; i++) m->params[i] = invrg_rng_uniform(s, (uint64_t)i, 0);
    return;
  }
  const int kk = m->kernel * m->kernel, C = m->channels;
  const double bound1 = 1 / sqrt((double)kk), bound2 = 1 / sqrt((double)(C * kk));
  for (int i = 0; i < m->n_params; i++) {
    double bound = i < C * kk + C ? bound1 : bound2; /* layer 1: fan_in = k², layer 2: C k² */
    m->params[i] = bound * (2 * invrg_rng_uniform(s, (uint64_t)i, 0) - 1);
  }
}

void invrg_model_param_name(const invrg_model *m, int i, char *buf, size_t buflen) {
  if (m->family == INVRG_MODEL_SYM) {
    snprintf(buf, buflen, "theta%d (%d,%d)", i, invrg_sym_orbits[i][0], invrg_sym_orbits[i][1]);
    return;
  }
  const int k = m->kernel, kk = k * k, C = m->channels;
  if (i < C * kk)
    snprintf(buf, buflen, "conv1.weight[%d][%d][%d]", i / kk, i % kk / k, i % k);
  else if (i < C * kk + C)
    snprintf(buf, buflen, "conv1.bias[%d]", i - C * kk);
  else if (i < 2 * C * kk + C)
    snprintf(buf, buflen, "conv2.weight[%d][%d][%d]", (i - C * kk - C) / kk,
             (i - C * kk - C) % kk / k, (i - C * kk - C) % k);
  else
    snprintf(buf, buflen, "conv2.bias");
}

/* ------------------------------------------------------------------ scratch */

struct invrg_model_work {
  int lc;
  int8_t *coarse_pad;  /* sym: μ with a periodic margin of `reach` */
  double *u_pad;       /* conv: upsampled μ01 with a periodic margin p, [y][x] */
  double *h;           /* conv: pre-activations [y][x][c] */
  double *a_pad;       /* conv: ReLU(h) with margin p, [y][x][c] */
  double *delta_pad;   /* conv: ∂loss/∂z with margin p, [y][x] */
  double *z;           /* logits [y][x] */
  double *u, *a, *delta, *dh; /* conv: unpadded u, ReLU(h), δz, and δh of one site */
  double *wsum;        /* sym: Σ_o θ_o count[αβ][d][o], [αβ][d] */
};

invrg_err invrg_model_work_create(const invrg_model *m, int lc, invrg_model_work **out) {
  invrg_err err = INVRG_SUCCESS;
  invrg_model_work *w = calloc(1, sizeof *w);
  INVRG_CHECK_ALLOC(w);
  w->lc = lc;
  const size_t L = 2 * (size_t)lc;
  w->z = malloc(L * L * sizeof *w->z);
  INVRG_CHECK_ALLOC(w->z);
  if (m->family == INVRG_MODEL_SYM) {
    size_t pad = (size_t)lc + 2 * (size_t)m->reach, R = 2 * (size_t)m->reach + 1;
    w->coarse_pad = malloc(pad * pad);
    w->wsum = malloc(4 * R * R * sizeof *w->wsum);
    INVRG_CHECK_ALLOC(w->coarse_pad);
    INVRG_CHECK_ALLOC(w->wsum);
  } else {
    size_t p = (size_t)(m->kernel - 1) / 2, P = L + 2 * p, C = (size_t)m->channels;
    w->u_pad = malloc(P * P * sizeof *w->u_pad);
    w->h = malloc(L * L * C * sizeof *w->h);
    w->a_pad = malloc(P * P * C * sizeof *w->a_pad);
    w->delta_pad = malloc(P * P * sizeof *w->delta_pad);
    w->u = malloc(L * L * sizeof *w->u);
    w->a = malloc(L * L * C * sizeof *w->a);
    w->delta = malloc(L * L * sizeof *w->delta);
    w->dh = malloc(C * sizeof *w->dh);
    INVRG_CHECK_ALLOC(w->u);
    INVRG_CHECK_ALLOC(w->a);
    INVRG_CHECK_ALLOC(w->delta);
    INVRG_CHECK_ALLOC(w->dh);
    INVRG_CHECK_ALLOC(w->u_pad);
    INVRG_CHECK_ALLOC(w->h);
    INVRG_CHECK_ALLOC(w->a_pad);
    INVRG_CHECK_ALLOC(w->delta_pad);
  }
cleanup:
  if (err != INVRG_SUCCESS) invrg_model_work_destroy(&w);
  *out = w;
  return err;
}

void invrg_model_work_destroy(invrg_model_work **wp) {
  if (wp == NULL || *wp == NULL) return;
  invrg_model_work *w = *wp;
  free(w->coarse_pad);
  free(w->u_pad);
  free(w->h);
  free(w->a_pad);
  free(w->delta_pad);
  free(w->z);
  free(w->wsum);
  free(w->u);
  free(w->a);
  free(w->delta);
  free(w->dh);
  free(w);
  *wp = NULL;
}

static int wrap(int a, int n) { return ((a % n) + n) % n; }

/* ------------------------------------------------------------------ symmetric models */

/* μ with a periodic margin of r on every side (true wrap, also when r > lc). */
static void pad_coarse(const int8_t *mu, int lc, int r, int8_t *pad) {
  int P = lc + 2 * r;
  for (int y = 0; y < P; y++)
    for (int x = 0; x < P; x++) pad[y * P + x] = mu[wrap(y - r, lc) * lc + wrap(x - r, lc)];
}

void invrg_model_sym_coarse_kernels(const invrg_model *m, double *W) {
  const int R = 2 * m->reach + 1, n_orb = m->n_params;
  for (int e = 0; e < 4 * R * R; e++) {
    double s = 0;
    for (int o = 0; o < n_orb; o++) s += m->params[o] * m->orbit_count[e * n_orb + o];
    W[e] = s;
  }
}

/* z = ½ Σ_d W[αβ][d] μ(I + d) for every fine site. */
static void sym_logits(const invrg_model *m, const int8_t *coarse, int lc, double *z,
                       invrg_model_work *w) {
  const int r = m->reach, R = 2 * r + 1, P = lc + 2 * r, L = 2 * lc;
  pad_coarse(coarse, lc, r, w->coarse_pad);
  invrg_model_sym_coarse_kernels(m, w->wsum);
  for (int I = 0; I < lc; I++)
    for (int J = 0; J < lc; J++)
      for (int ab = 0; ab < 4; ab++) {
        const double *W = w->wsum + ab * R * R;
        double s = 0;
        for (int dy = 0; dy < R; dy++)
          for (int dx = 0; dx < R; dx++) s += W[dy * R + dx] * w->coarse_pad[(I + dy) * P + J + dx];
        z[(2 * I + ab / 2) * L + 2 * J + ab % 2] = 0.5 * s;
      }
}

/* softplus(z) − t z, the BCE of a logit, computed without overflow. */
static double bce(double z, double t) { return fmax(z, 0) - t * z + log1p(exp(-fabs(z))); }

static double sigmoid(double z) {
  return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
}

static double sym_loss_grad(const invrg_model *m, const int8_t *coarse, const int8_t *fine, int lc,
                            double weight, double *grad, invrg_model_work *w) {
  const int r = m->reach, R = 2 * r + 1, P = lc + 2 * r, L = 2 * lc, n_orb = m->n_params;
  sym_logits(m, coarse, lc, w->z, w);
  double loss = 0;
  for (int I = 0; I < lc; I++)
    for (int J = 0; J < lc; J++)
      for (int ab = 0; ab < 4; ab++) {
        int y = 2 * I + ab / 2, x = 2 * J + ab % 2;
        double z = w->z[y * L + x], t = fine[y * L + x] > 0;
        loss += bce(z, t);
        /* ∂ℓ/∂θ_o = (σ(z) − t) · ½ Σ_d count[αβ][d][o] μ(I + d) */
        double g = weight * (sigmoid(z) - t) * 0.5;
        const int *count = m->orbit_count + ab * R * R * n_orb;
        for (int dy = 0; dy < R; dy++)
          for (int dx = 0; dx < R; dx++) {
            int mu = w->coarse_pad[(I + dy) * P + J + dx];
            for (int o = 0; o < n_orb; o++) grad[o] += g * mu * count[(dy * R + dx) * n_orb + o];
          }
      }
  return loss;
}

double invrg_model_sym3_loss_grad(const invrg_model *m, const int8_t *coarse, const int8_t *fine,
                                  int lc, double weight, double *grad) {
  /* Histogram of (μ_P, μ_V + μ_H, μ_D, t): indices (0..1, 0..2, 0..1, 0..1). */
  int64_t hist[2][3][2][2] = {{{{0}}}};
  const int L = 2 * lc;
  for (int I = 0; I < lc; I++) {
    const int8_t *row = coarse + I * lc;
    for (int ab = 0; ab < 4; ab++) {
      int alpha = ab / 2, beta = ab % 2;
      /* The neighbour blocks on the child's side: up for α = 0, down for α = 1, etc. */
      const int8_t *vrow = coarse + wrap(I + (alpha ? 1 : -1), lc) * lc;
      const int8_t *frow = fine + (2 * I + alpha) * L;
      for (int J = 0; J < lc; J++) {
        int Jh = wrap(J + (beta ? 1 : -1), lc);
        int P = row[J], V = vrow[J], H = row[Jh], D = vrow[Jh];
        hist[P > 0][(V + H + 2) / 2][D > 0][frow[2 * J + beta] > 0]++;
      }
    }
  }
  const double a = m->params[0], b = m->params[1], c = m->params[2];
  double loss = 0;
  for (int p = 0; p < 2; p++)
    for (int n = 0; n < 3; n++)
      for (int d = 0; d < 2; d++)
        for (int t = 0; t < 2; t++) {
          int64_t count = hist[p][n][d][t];
          if (count == 0) continue;
          double fP = 2 * p - 1, fN = 2 * n - 2, fD = 2 * d - 1;
          double z = 0.5 * ((c + 2 * b + a) * fP + (a + b) * fN + a * fD);
          loss += (double)count * bce(z, t);
          /* ∂z/∂a = ½(μ_P + μ_N + μ_D), ∂z/∂b = ½(2μ_P + μ_N), ∂z/∂c = ½ μ_P */
          double g = weight * (double)count * (sigmoid(z) - t) * 0.5;
          grad[0] += g * (fP + fN + fD);
          grad[1] += g * (2 * fP + fN);
          grad[2] += g * fP;
        }
  return loss;
}

/* ------------------------------------------------------------------ convolutional model */

/* Periodic copy of a [L][L][C] field into one with margin p: [L+2p][L+2p][C]. */
static void pad_field(const double *src, int L, int C, int p, double *dst) {
  int P = L + 2 * p;
  for (int y = 0; y < P; y++)
    for (int x = 0; x < P; x++)
      memcpy(dst + ((size_t)y * (size_t)P + (size_t)x) * (size_t)C,
             src + ((size_t)wrap(y - p, L) * (size_t)L + (size_t)wrap(x - p, L)) * (size_t)C,
             (size_t)C * sizeof *dst);
}

/* Forward pass: h = conv1(u) + b1, a = ReLU(h), z = conv2(a) + b2. */
static void conv_forward(const invrg_model *m, const conv_params *v, const int8_t *coarse, int lc,
                         invrg_model_work *w) {
  const int k = m->kernel, p = (k - 1) / 2, L = 2 * lc, P = L + 2 * p, C = m->channels;
  double *u = w->u;
  for (int y = 0; y < L; y++)
    for (int x = 0; x < L; x++) u[y * L + x] = coarse[(y / 2) * lc + x / 2] > 0; /* μ01 */
  pad_field(u, L, 1, p, w->u_pad);
  for (int y = 0; y < L; y++)
    for (int x = 0; x < L; x++) {
      double *h = w->h + ((size_t)y * (size_t)L + (size_t)x) * (size_t)C;
      for (int c = 0; c < C; c++) h[c] = v->b1[c];
      for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
          double uv = w->u_pad[(y + i) * P + x + j];
          if (uv == 0) continue; /* u is 0 or 1 */
          for (int c = 0; c < C; c++) h[c] += v->w1[(c * k + i) * k + j];
        }
    }
  /* a = ReLU(h), padded; z = b2 + Σ_c Σ_ij w2[c][i][j] a_c(y + i − p, x + j − p) */
  double *a = w->a;
  for (size_t e = 0; e < (size_t)L * (size_t)L * (size_t)C; e++) a[e] = w->h[e] > 0 ? w->h[e] : 0;
  pad_field(a, L, C, p, w->a_pad);
  for (int y = 0; y < L; y++)
    for (int x = 0; x < L; x++) {
      double s = v->b2[0];
      for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
          const double *ap = w->a_pad + ((size_t)(y + i) * (size_t)P + (size_t)(x + j)) * (size_t)C;
          for (int c = 0; c < C; c++) s += v->w2[(c * k + i) * k + j] * ap[c];
        }
      w->z[y * L + x] = s;
    }
}

static double conv_loss_grad(const invrg_model *m, const int8_t *coarse, const int8_t *fine,
                             int lc, double weight, double *grad, invrg_model_work *w) {
  const int k = m->kernel, p = (k - 1) / 2, L = 2 * lc, P = L + 2 * p, C = m->channels;
  conv_params v = conv_view(m, m->params), g = conv_view(m, grad);
  conv_forward(m, &v, coarse, lc, w);
  /* δz = weight (σ(z) − t), kept with a periodic margin for the transposed convolution. */
  double loss = 0;
  double *delta = w->delta;
  for (int e = 0; e < L * L; e++) {
    double t = fine[e] > 0;
    loss += bce(w->z[e], t);
    delta[e] = weight * (sigmoid(w->z[e]) - t);
    g.b2[0] += delta[e];
  }
  pad_field(delta, L, 1, p, w->delta_pad);
  /* ∂w2[c][i][j] = Σ δz(y, x) a_c(y + i − p, x + j − p) */
  for (int y = 0; y < L; y++)
    for (int x = 0; x < L; x++) {
      double d = delta[y * L + x];
      for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
          const double *ap = w->a_pad + ((size_t)(y + i) * (size_t)P + (size_t)(x + j)) * (size_t)C;
          for (int c = 0; c < C; c++) g.w2[(c * k + i) * k + j] += d * ap[c];
        }
    }
  /* δa_c(y, x) = Σ_ij w2[c][i][j] δz(y − i + p, x − j + p);  δh = δa [h > 0];
   * ∂b1_c = Σ δh_c,  ∂w1[c][i][j] = Σ δh_c(y, x) u(y + i − p, x + j − p) */
  double *dh = w->dh;
  for (int y = 0; y < L; y++)
    for (int x = 0; x < L; x++) {
      const double *h = w->h + ((size_t)y * (size_t)L + (size_t)x) * (size_t)C;
      for (int c = 0; c < C; c++) dh[c] = 0;
      for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
          double d = w->delta_pad[(y - i + 2 * p) * P + (x - j + 2 * p)];
          for (int c = 0; c < C; c++) dh[c] += v.w2[(c * k + i) * k + j] * d;
        }
      for (int c = 0; c < C; c++) {
        if (h[c] <= 0) continue;
        g.b1[c] += dh[c];
        for (int i = 0; i < k; i++)
          for (int j = 0; j < k; j++) g.w1[(c * k + i) * k + j] += dh[c] * w->u_pad[(y + i) * P + x + j];
      }
    }
  return loss;
}

/* ------------------------------------------------------------------ dispatch */

void invrg_model_logits(const invrg_model *m, const int8_t *coarse, int lc, double *z,
                        invrg_model_work *w) {
  if (m->family == INVRG_MODEL_SYM) {
    sym_logits(m, coarse, lc, z, w);
  } else {
    conv_params v = conv_view(m, m->params);
    conv_forward(m, &v, coarse, lc, w);
    memcpy(z, w->z, 4 * (size_t)lc * (size_t)lc * sizeof *z);
  }
}

double invrg_model_loss_grad(const invrg_model *m, const int8_t *coarse, const int8_t *fine,
                             int lc, double weight, double *grad, invrg_model_work *w) {
  return m->family == INVRG_MODEL_SYM ? sym_loss_grad(m, coarse, fine, lc, weight, grad, w)
                                      : conv_loss_grad(m, coarse, fine, lc, weight, grad, w);
}
