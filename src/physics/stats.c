/* Error analysis: autocorrelation times (automatic window), binning, jackknife. */
#include "invrg/stats.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Sokal's window constant: stop summing ρ(t) at the first W with W ≥ c τ_int(W). */
enum { WINDOW_C = 6 };

/* Autocovariance Γ(t) = (1/n) Σ_i (x_i − x̄)(x_{i+t} − x̄) for t < n, by FFT with zero padding. */
static bool autocovariance(const double *x, size_t n, double mean, double *gamma) {
  size_t m = 1;
  while (m < 2 * n) m <<= 1; /* padding to ≥ 2n makes the circular correlation linear */
  double *buf = fftw_alloc_real(m);
  fftw_complex *spec = fftw_alloc_complex(m / 2 + 1);
  bool ok = buf != NULL && spec != NULL;
  if (ok) {
    fftw_plan fwd = fftw_plan_dft_r2c_1d((int)m, buf, spec, FFTW_ESTIMATE);
    fftw_plan back = fftw_plan_dft_c2r_1d((int)m, spec, buf, FFTW_ESTIMATE);
    for (size_t i = 0; i < m; i++) buf[i] = i < n ? x[i] - mean : 0.0;
    fftw_execute(fwd);
    for (size_t k = 0; k <= m / 2; k++) { /* |X(k)|² */
      spec[k][0] = spec[k][0] * spec[k][0] + spec[k][1] * spec[k][1];
      spec[k][1] = 0;
    }
    fftw_execute(back); /* unnormalised: multiply by 1/m */
    for (size_t t = 0; t < n; t++) gamma[t] = buf[t] / ((double)m * (double)n);
    fftw_destroy_plan(fwd);
    fftw_destroy_plan(back);
  }
  fftw_free(buf);
  fftw_free(spec);
  return ok;
}

void invrg_stats_series(const double *x, size_t n, int n_bins, invrg_series_stats *out) {
  memset(out, 0, sizeof *out);
  /* Mean and variance in two passes: exact enough for any series we meet. */
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += x[i];
  double mean = sum / (double)n, ss = 0;
  for (size_t i = 0; i < n; i++) ss += (x[i] - mean) * (x[i] - mean);
  out->mean = mean;
  out->variance = n > 1 ? ss / (double)(n - 1) : 0;
  out->tau_int = 0.5;
  out->window = 0;

  double *gamma = malloc(n * sizeof *gamma);
  if (gamma != NULL && n > 1 && ss > 0 && autocovariance(x, n, mean, gamma)) {
    /* τ_int(W) = ½ + Σ_{t=1}^{W} Γ(t)/Γ(0) */
    double tau = 0.5;
    size_t W = 1;
    bool met = false;
    for (; W < n; W++) {
      tau += gamma[W] / gamma[0];
      if ((double)W >= WINDOW_C * tau) {
        met = true;
        break;
      }
    }
    out->tau_int = tau > 0.5 ? tau : 0.5; /* anticorrelated noise: do not claim better than iid */
    out->window = (int)W;
    out->reliable = met && (double)n >= 50 * out->tau_int;
  }
  free(gamma);
  out->error = sqrt(2 * out->tau_int * out->variance / (double)n);

  /* Binning: equal bins (the last few measurements are dropped if n is not a multiple). */
  int B = n_bins > 0 ? n_bins : 32;
  if ((size_t)B > n / 2) B = (int)(n / 2);
  if (B >= 2) {
    size_t len = n / (size_t)B;
    double bsum = 0, bss = 0;
    double *bin = malloc((size_t)B * sizeof *bin);
    if (bin != NULL) {
      for (int b = 0; b < B; b++) {
        double s = 0;
        for (size_t i = 0; i < len; i++) s += x[(size_t)b * len + i];
        bin[b] = s / (double)len;
        bsum += bin[b];
      }
      double bmean = bsum / B;
      for (int b = 0; b < B; b++) bss += (bin[b] - bmean) * (bin[b] - bmean);
      out->error_binning = sqrt(bss / ((double)B * (B - 1)));
      free(bin);
    }
  }
}

void invrg_stats_combine(const invrg_series_stats *chains, int n_chains, invrg_series_stats *out) {
  memset(out, 0, sizeof *out);
  double e2 = 0, eb2 = 0, var = 0, tau = 0;
  bool reliable = true;
  for (int c = 0; c < n_chains; c++) {
    out->mean += chains[c].mean;
    e2 += chains[c].error * chains[c].error;
    eb2 += chains[c].error_binning * chains[c].error_binning;
    var += chains[c].variance;
    tau += chains[c].tau_int;
    if (chains[c].window > out->window) out->window = chains[c].window;
    reliable = reliable && chains[c].reliable;
  }
  out->mean /= n_chains;
  out->error = sqrt(e2) / n_chains;
  out->error_binning = sqrt(eb2) / n_chains;
  out->variance = var / n_chains;
  out->tau_int = tau / n_chains;
  out->reliable = reliable;
}

void invrg_jackknife(const double *block_means, int n_blocks, int n_obs, invrg_derived_fn f,
                     const void *ctx, double *value, double *error) {
  double *total = calloc((size_t)n_obs, sizeof *total);
  double *loo = calloc((size_t)n_obs, sizeof *loo);
  double *fb = calloc((size_t)n_blocks, sizeof *fb);
  if (total == NULL || loo == NULL || fb == NULL) {
    *value = *error = NAN;
    goto cleanup;
  }
  for (int b = 0; b < n_blocks; b++)
    for (int k = 0; k < n_obs; k++) total[k] += block_means[(size_t)b * (size_t)n_obs + (size_t)k];
  for (int k = 0; k < n_obs; k++) loo[k] = total[k] / n_blocks;
  *value = f(loo, ctx);
  double fbar = 0;
  for (int b = 0; b < n_blocks; b++) {
    /* mean without block b: (total − x_b)/(B − 1) */
    for (int k = 0; k < n_obs; k++)
      loo[k] = (total[k] - block_means[(size_t)b * (size_t)n_obs + (size_t)k]) / (n_blocks - 1);
    fb[b] = f(loo, ctx);
    fbar += fb[b];
  }
  fbar /= n_blocks;
  double ss = 0;
  for (int b = 0; b < n_blocks; b++) ss += (fb[b] - fbar) * (fb[b] - fbar);
  *error = sqrt((double)(n_blocks - 1) / n_blocks * ss);
cleanup:
  free(total);
  free(loo);
  free(fb);
}
