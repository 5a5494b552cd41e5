/* Exact results of the 2D Ising torus: Kaufman's Z with analytic derivatives, and enumeration. */
#include "invrg/exact.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Kaufman / Ferdinand–Fisher for an L×L torus:
 *   Z = ½ (2 sinh 2K)^{N/2} (Z1 + Z2 + Z3 + Z4),  N = L²,
 *   Z1 = Π_{r=0}^{L−1} 2cosh(L γ_{2r+1}/2),   Z2 = Π 2sinh(L γ_{2r+1}/2),
 *   Z3 = Π_{r=0}^{L−1} 2cosh(L γ_{2r}/2),     Z4 = Π 2sinh(L γ_{2r}/2),
 *   cosh γ_l = cosh 2K coth 2K − cos(πl/L) for l ≥ 1,  γ_0 = 2K + ln tanh K (signed).
 *
 * ⟨E⟩ = −d lnZ/dK and C = K² d² lnZ/dK². Every factor f = 2cosh(x) or 2sinh(x),
 * x = Lγ/2, is carried as e^{|x|}·(f̂, f̂', f̂'') so nothing overflows, and the
 * four products are combined as e^{T_i}·(u_i, u_i', u_i'') with a common scale.
 */

/* A quantity Q(K) as Q = e^{log_scale} (v, d1, d2), d1 = Q'/e^{log_scale}, d2 = Q''/e^{...}. */
typedef struct {
  double log_scale, v, d1, d2;
} scaled;

/* γ_l and its first two K-derivatives. */
typedef struct {
  double g, d1, d2;
} gamma_l;

/* l ≥ 1: cosh γ − 1 = (S−1)²/S + 2 sin²(πl/2L) avoids cancellation near K_c
 * (S = sinh 2K).
 * Written with u = 1/S and T = coth 2K so that no square of S overflows at large K. */
static gamma_l gamma_positive(int l, int L, double K) {
  double S = sinh(2 * K), C = cosh(2 * K), u = 1 / S, T = C / S;
  double half_angle = sin(M_PI * l / (2.0 * L));
  double delta = (S - 1) * ((S - 1) * u) + 2 * half_angle * half_angle;
  double sinh_g = delta * sqrt(1 + 2 / delta), cosh_g = 1 + delta; /* √(δ(δ+2)) */
  /* h(K) = cosh 2K coth 2K: h' = 2C(S²−1)/S² = 2C(1−u)(1+u), h'' = 4(S²−1)/S + 8C²/S³
   * = 4(S−u) + 8T²u. */
  double h1 = 2 * C * (1 - u) * (1 + u);
  double h2 = 4 * (S - u) + 8 * T * T * u;
  gamma_l r;
  r.g = log1p(delta + sinh_g);
  r.d1 = h1 / sinh_g;                          /* from sinh γ · γ' = h' */
  r.d2 = (h2 - r.d1 * r.d1 * cosh_g) / sinh_g; /* from sinh γ · γ'' + cosh γ · γ'² = h'' */
  return r;
}

/* γ_0 = 2K + ln tanh K, γ_0' = 2 + 2/sinh 2K, γ_0'' = −4 cosh 2K / sinh² 2K. */
static gamma_l gamma_zero(double K) {
  double S = sinh(2 * K);
  gamma_l r = {2 * K + log(tanh(K)), 2 + 2 / S, -4 * (cosh(2 * K) / S) / S};
  return r;
}

/* 2cosh(x) (is_sinh false) or 2sinh(x) with x = Lγ/2, scaled by e^{|x|}. */
static scaled factor(gamma_l gm, int L, bool is_sinh) {
  double x = 0.5 * L * gm.g, x1 = 0.5 * L * gm.d1, x2 = 0.5 * L * gm.d2;
  double e = exp(-2 * fabs(x));
  double c_hat = 1 + e;                                  /* 2cosh(x) e^{−|x|} */
  double s_hat = (x < 0 ? -1.0 : 1.0) * (-expm1(-2 * fabs(x))); /* 2sinh(x) e^{−|x|} */
  scaled f = {fabs(x), 0, 0, 0};
  if (is_sinh) { /* (2 sinh x)' = 2cosh x · x',  (2 sinh x)'' = 2cosh x · x'' + 2sinh x · x'² */
    f.v = s_hat;
    f.d1 = c_hat * x1;
    f.d2 = c_hat * x2 + s_hat * x1 * x1;
  } else {
    f.v = c_hat;
    f.d1 = s_hat * x1;
    f.d2 = s_hat * x2 + c_hat * x1 * x1;
  }
  return f;
}

/* Product of factors that are all positive: accumulate ln, (ln)', (ln)''. */
typedef struct {
  double log_value, dlog1, dlog2;
} log_product;

static void log_product_add(log_product *p, scaled f) {
  double a = f.d1 / f.v;
  p->log_value += f.log_scale + log(f.v);
  p->dlog1 += a;
  p->dlog2 += f.d2 / f.v - a * a;
}

/* Q = f·P with P given by its log-derivatives: (fP)' = f'P + fP', (fP)'' = f''P + 2f'P' + fP'',
 * returned as the derivatives of e^{−cK} Q (times e^{cK}): Q' − cQ and Q'' − 2cQ' + c²Q. The
 * log-derivatives are of order N; shifted by a common c (one of them) the four Z_i's are of the
 * order of their differences, and ⟨E²⟩ − ⟨E⟩² loses no digits to N² − N². */
static scaled times_product(scaled f, log_product p, double c) {
  double a = p.dlog1 - c, b = p.dlog2 + a * a; /* P'/P − c and (e^{−cK}P)''/(e^{−cK}P) */
  scaled q = {f.log_scale + p.log_value, f.v, f.d1 + f.v * a, f.d2 + 2 * f.d1 * a + f.v * b};
  return q;
}

/*
 * Small K: the closed form subtracts N coth 2K ~ N/2K from a sum of the same size, which loses
 * digits as 1/K² (relative error 1e-10 at K = 1e-3, garbage at 1e-8). Below K_HIGH_T the
 * high-temperature expansion is used instead, with t = tanh K:
 *   Z = 2^N cosh^{2N}K · Σ_{closed graphs} t^{bonds},
 *   ln Z / N = ln 2 + 2 ln cosh K + t⁴ + 2t⁶ + (2/L) t^L + O(t⁸, t^{L+2}),
 * (plaquettes, 1×2 rectangles, the 2L loops that wind round the torus), so
 *   E = −2t − (1 − t²)(4t³ + 12t⁵ + 2t^{L−1}),  C = K² (1 − t²) dE/dt · (−1).
 * At K < 5e-3 the terms left out are below 1e-12 of E and C for L ≥ 6 (measured against
 * 60-digit arithmetic); L ≤ 5, where short winding loops combine, is enumerated instead.
 */
static const double K_HIGH_T = 5e-3;

static void high_temperature(int L, double K, invrg_exact_thermo *out) {
  const double t = tanh(K), t2 = t * t, wind = pow(t, L - 2); /* t^{L−2} */
  const double N = (double)L * L;
  /* P(t) = 4t³ + 12t⁵ + 2t^{L−1} = (ln G/N)',  P' = 12t² + 60t⁴ + 2(L−1)t^{L−2} */
  const double P = t * (4 * t2 + 12 * t2 * t2 + 2 * wind);
  const double dP = 12 * t2 + 60 * t2 * t2 + 2 * (L - 1) * wind;
  /* −E = 2t + (1 − t²)P;  d(−E)/dK = (1 − t²)[2 + (1 − t²)P' − 2tP] */
  out->log_z = N * (M_LN2 + 2 * log(cosh(K)) + t2 * t2 * (1 + 2 * t2) + 2 * wind * t2 / L);
  out->energy = -(2 * t + (1 - t2) * P);
  out->specific_heat = K * K * (1 - t2) * (2 + (1 - t2) * dP - 2 * t * P);
}

/* Beyond this K, sinh 2K overflows; a flipped spin's weight e^{−8K} < 1e−1200 is zero in
 * double precision, and only the two ground states count: Z = 2 e^{2NK}. */
static const double K_GROUND_STATE = 350.0;

/* ------------------------------------------------------------------ enumeration */

/*
 * Sums over all 2^N states of the histogram of (bond sum B = Σ_<ij> s_i s_j, |M|), B in
 * [−2N, 2N], with weights e^{KB}. At small K (2NK ≤ 1) a weight is 1 + expm1(KB): the sums of
 * the 1s are exact integers (Σ B over all states is 0 for L ≥ 2), and the rest carries every
 * digit of ⟨E⟩ ≈ −2K. Otherwise the weights are taken relative to the largest, e^{K(B − 2N)},
 * so that nothing overflows.
 */
static bool enumerate(int L, double K, invrg_exact_moments *out, double *log_z) {
  if (L < 1 || L > 5) return false;
  int n = L * L;
  int nb = 4 * n + 1, nm = n + 1;
  double *count = calloc((size_t)nb * (size_t)nm, sizeof *count);
  if (count == NULL) return false;
  for (uint64_t state = 0; state < (UINT64_C(1) << n); state++) {
    int bonds = 0, mag = 0;
    for (int y = 0; y < L; y++)
      for (int x = 0; x < L; x++) {
        int s = (state >> (y * L + x)) & 1 ? 1 : -1;
        int right = (state >> (y * L + (x + 1) % L)) & 1 ? 1 : -1;
        int down = (state >> (((y + 1) % L) * L + x)) & 1 ? 1 : -1;
        bonds += s * right + s * down;
        mag += s;
      }
    count[(size_t)(bonds + 2 * n) * (size_t)nm + (size_t)abs(mag)] += 1;
  }
  const bool small = 2.0 * n * K <= 1;
  double z1 = 0, z = 0, e1_1 = 0, e1 = 0, e2 = 0, m1 = 0, m2 = 0, m4 = 0;
  for (int b = 0; b < nb; b++)
    for (int m = 0; m < nm; m++) {
      double c = count[(size_t)b * (size_t)nm + (size_t)m];
      if (c == 0) continue;
      double bonds = b - 2 * n, mm = (double)m / n, energy = -bonds / n;
      double w = small ? expm1(K * bonds) : exp(K * (bonds - 2 * n));
      if (small) { /* the exact parts: weight 1 */
        z1 += c;
        e1_1 += c * energy;
        e2 += c * energy * energy;
        m1 += c * mm;
        m2 += c * mm * mm;
        m4 += c * mm * mm * mm * mm;
      }
      z += c * w;
      e1 += c * w * energy;
      e2 += c * w * energy * energy;
      m1 += c * w * mm;
      m2 += c * w * mm * mm;
      m4 += c * w * mm * mm * mm * mm;
    }
  free(count);
  z += z1;
  e1 += e1_1;
  out->energy = e1 / z;
  out->specific_heat = K * K * n * (e2 / z - (e1 / z) * (e1 / z));
  out->abs_m = m1 / z;
  out->m2 = m2 / z;
  out->m4 = m4 / z;
  if (log_z != NULL) *log_z = log(z) + (small ? 0 : 2.0 * n * K);
  return true;
}

bool invrg_exact_enumerate(int L, double K, invrg_exact_moments *out) {
  return enumerate(L, K, out, NULL);
}

bool invrg_exact_torus(int L, double K, invrg_exact_thermo *out) {
  if (L < 2 || !(K > 0)) return false;
  double N = (double)L * L;
  if (K > K_GROUND_STATE) {
    *out = (invrg_exact_thermo){.log_z = M_LN2 + 2 * N * K, .energy = -2, .specific_heat = 0};
    return true;
  }
  if (K < K_HIGH_T) {
    if (L >= 6) {
      high_temperature(L, K, out);
      return true;
    }
    invrg_exact_moments m;
    if (!enumerate(L, K, &m, &out->log_z)) return false;
    out->energy = m.energy;
    out->specific_heat = m.specific_heat;
    return true;
  }
  log_product odd_cosh = {0}, odd_sinh = {0}, even_cosh = {0}, even_sinh = {0};
  for (int r = 0; r < L; r++) {
    gamma_l g_odd = gamma_positive(2 * r + 1, L, K);
    log_product_add(&odd_cosh, factor(g_odd, L, false));
    log_product_add(&odd_sinh, factor(g_odd, L, true));
    if (r > 0) { /* the l = 0 factor of Z3, Z4 can vanish or change sign: kept apart */
      gamma_l g_even = gamma_positive(2 * r, L, K);
      log_product_add(&even_cosh, factor(g_even, L, false));
      log_product_add(&even_sinh, factor(g_even, L, true));
    }
  }
  scaled one = {0, 1, 0, 0};
  gamma_l g0 = gamma_zero(K);
  const double c = odd_cosh.dlog1; /* the shift of the derivatives: Z1's (ln Z1)' */
  scaled z[4] = {times_product(one, odd_cosh, c), times_product(one, odd_sinh, c),
                 times_product(factor(g0, L, false), even_cosh, c),
                 times_product(factor(g0, L, true), even_sinh, c)};
  double top = z[0].log_scale;
  for (int i = 1; i < 4; i++) top = fmax(top, z[i].log_scale);
  double sum = 0, sum1 = 0, sum2 = 0;
  for (int i = 0; i < 4; i++) {
    double w = exp(z[i].log_scale - top);
    sum += w * z[i].v;
    sum1 += w * z[i].d1;
    sum2 += w * z[i].d2;
  }
  /* ln Z = ln ½ + (N/2) ln(2 sinh 2K) + ln Σ Z_i;
   * d/dK of the middle term: N coth 2K; second derivative: −2N / sinh² 2K.
   * (ln Σ Z_i)' = c + sum1/sum, (ln Σ Z_i)'' = sum2/sum − (sum1/sum)² (shifted sums). */
  double S = sinh(2 * K);
  double dlogz = N * (cosh(2 * K) / S) + (c + sum1 / sum);
  double d2logz = -2 * N / S / S + sum2 / sum - (sum1 / sum) * (sum1 / sum);
  out->log_z = -M_LN2 + 0.5 * N * log(2 * S) + top + log(sum);
  out->energy = -dlogz / N;
  out->specific_heat = K * K * d2logz / N;
  return true;
}

