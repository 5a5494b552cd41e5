/* Observables of one configuration and the jackknife summary of an ensemble (docs/physics.md §7). */
#include "invrg/observables.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Σ over this block's sites of s·(s_right + s_down) and of s: each bond counted once. */
static void block_sums(const invrg_lattice *lat, int64_t *bonds, int64_t *mag) {
  int64_t b = 0, m = 0;
  for (int j = 0; j < lat->ny; j++) {
    const int8_t *row = lat->data + invrg_lattice_index(lat, 0, j);
    const int8_t *below = row + lat->sx;
    int rb = 0, rm = 0; /* a row's sums fit in int */
    for (int i = 0; i < lat->nx; i++) {
      rb += row[i] * (row[i + 1] + below[i]);
      rm += row[i];
    }
    b += rb;
    m += rm;
  }
  *bonds = b;
  *mag = m;
}

invrg_err invrg_observables_sums(const invrg_lattice *lat, invrg_config_sums *out) {
  invrg_err err = INVRG_SUCCESS;
  int64_t local[2], total[2];
  block_sums(lat, &local[0], &local[1]);
  if (lat->mode == INVRG_LATTICE_DISTRIBUTED) {
    INVRG_MPI_CALL(MPI_Allreduce(local, total, 2, MPI_INT64_T, MPI_SUM, lat->comm));
  } else {
    total[0] = local[0], total[1] = local[1];
  }
  out->bonds = total[0];
  out->magnetisation = total[1];
  out->sites = lat->lx * lat->ly;
cleanup:
  return err;
}

void invrg_observables_sums_array(const int8_t *s, int64_t lx, int64_t ly, invrg_config_sums *out) {
  int64_t b = 0, m = 0;
  for (int64_t y = 0; y < ly; y++) {
    const int8_t *row = s + y * lx, *below = s + ((y + 1) % ly) * lx;
    for (int64_t x = 0; x < lx; x++) {
      b += row[x] * (row[(x + 1) % lx] + below[x]);
      m += row[x];
    }
  }
  out->bonds = b;
  out->magnetisation = m;
  out->sites = lx * ly;
}

void invrg_observables_primaries(const invrg_config_sums *s, double p[INVRG_N_PRIMARY]) {
  double N = (double)s->sites;
  double e = -(double)s->bonds / N;          /* E/N with E = −B */
  double m = (double)s->magnetisation / N;
  double ep = 1 - 0.5 * e;                   /* e_p = 1 − E/(2N): satisfied bonds per site */
  double m2 = m * m;
  p[INVRG_PRIMARY_E] = e;
  p[INVRG_PRIMARY_E2] = e * e;
  p[INVRG_PRIMARY_M] = m;
  p[INVRG_PRIMARY_ABS_M] = fabs(m);
  p[INVRG_PRIMARY_M2] = m2;
  p[INVRG_PRIMARY_M4] = m2 * m2;
  p[INVRG_PRIMARY_EP] = ep;
  p[INVRG_PRIMARY_EP2] = ep * ep;
  p[INVRG_PRIMARY_EP_ABS_M] = ep * fabs(m);
}

const char *const invrg_summary_names[INVRG_N_OBS] = {
    [INVRG_OBS_ENERGY] = "energy",
    [INVRG_OBS_ABS_M] = "abs_m",
    [INVRG_OBS_M2] = "m2",
    [INVRG_OBS_M4] = "m4",
    [INVRG_OBS_CHI] = "chi",
    [INVRG_OBS_CHI_PRIME] = "chi_prime",
    [INVRG_OBS_SPECIFIC_HEAT] = "specific_heat",
    [INVRG_OBS_BINDER_U4] = "binder_U4",
    [INVRG_OBS_V4] = "V4",
    [INVRG_OBS_E_PAPER] = "e_paper",
    [INVRG_OBS_CHI_PAPER] = "chi_paper",
    [INVRG_OBS_CP_PAPER] = "cp_paper",
    [INVRG_OBS_ME_PAPER] = "me_paper",
};

void invrg_summary_block_sizes(int64_t n, int64_t n_blocks, int64_t *sizes) {
  for (int64_t b = 0; b < n_blocks; b++) sizes[b] = n / n_blocks + (b < n % n_blocks);
}

void invrg_summary_block_add(double means[INVRG_N_PRIMARY], const double p[INVRG_N_PRIMARY],
                             int64_t size) {
  for (int o = 0; o < INVRG_N_PRIMARY; o++) means[o] += p[o] / (double)size;
}

/* All observables from the means ⟨·⟩ of the primaries (docs/physics.md §7). */
static void derive(const double *a, double N, double K, double *obs) {
  double e = a[INVRG_PRIMARY_E], am = a[INVRG_PRIMARY_ABS_M], m2 = a[INVRG_PRIMARY_M2];
  double m4 = a[INVRG_PRIMARY_M4], m = a[INVRG_PRIMARY_M], ep = a[INVRG_PRIMARY_EP];
  obs[INVRG_OBS_ENERGY] = e;
  obs[INVRG_OBS_ABS_M] = am;
  obs[INVRG_OBS_M2] = m2;
  obs[INVRG_OBS_M4] = m4;
  obs[INVRG_OBS_CHI] = N * (m2 - am * am);
  obs[INVRG_OBS_CHI_PRIME] = N * m2;
  obs[INVRG_OBS_SPECIFIC_HEAT] = K * K * N * (a[INVRG_PRIMARY_E2] - e * e);
  obs[INVRG_OBS_BINDER_U4] = 1 - m4 / (3 * m2 * m2);
  obs[INVRG_OBS_V4] = m4 / (m2 * m2);
  obs[INVRG_OBS_E_PAPER] = ep;
  obs[INVRG_OBS_CHI_PAPER] = N * (m2 - m * m);
  obs[INVRG_OBS_CP_PAPER] = N * (a[INVRG_PRIMARY_EP2] - ep * ep);
  obs[INVRG_OBS_ME_PAPER] = N * (a[INVRG_PRIMARY_EP_ABS_M] - am * ep) / am;
}

void invrg_summary_from_blocks(const double *block_means, const int64_t *block_sizes,
                               int n_blocks, double N, double K, invrg_summary *out) {
  enum { P = INVRG_N_PRIMARY };
  double total[P] = {0}, mean[P], obs[INVRG_N_OBS], sum_f[INVRG_N_OBS] = {0};
  int64_t n = 0;
  memset(out, 0, sizeof *out);
  for (int b = 0; b < n_blocks; b++) {
    n += block_sizes[b];
    for (int k = 0; k < P; k++)
      total[k] += (double)block_sizes[b] * block_means[(size_t)b * P + (size_t)k];
  }
  out->n_samples = n;
  out->n_blocks = n_blocks;
  for (int k = 0; k < P; k++) mean[k] = total[k] / (double)n;
  derive(mean, N, K, out->value);
  if (n_blocks < 2) {
    for (int o = 0; o < INVRG_N_OBS; o++) out->error[o] = NAN;
    return;
  }
  /* Delete-one jackknife: f_b from the mean without block b; error² = (B−1)/B Σ (f_b − f̄)². */
  double *fb = malloc((size_t)n_blocks * INVRG_N_OBS * sizeof *fb);
  if (fb == NULL) {
    for (int o = 0; o < INVRG_N_OBS; o++) out->error[o] = NAN;
    return;
  }
  for (int b = 0; b < n_blocks; b++) {
    double w = (double)block_sizes[b], rest = (double)(n - block_sizes[b]);
    for (int k = 0; k < P; k++) mean[k] = (total[k] - w * block_means[(size_t)b * P + (size_t)k]) / rest;
    derive(mean, N, K, obs);
    for (int o = 0; o < INVRG_N_OBS; o++) {
      fb[(size_t)b * INVRG_N_OBS + (size_t)o] = obs[o];
      sum_f[o] += obs[o];
    }
  }
  for (int o = 0; o < INVRG_N_OBS; o++) {
    double fbar = sum_f[o] / n_blocks, ss = 0;
    for (int b = 0; b < n_blocks; b++) {
      double d = fb[(size_t)b * INVRG_N_OBS + (size_t)o] - fbar;
      ss += d * d;
    }
    out->error[o] = sqrt((double)(n_blocks - 1) / n_blocks * ss);
  }
  free(fb);
}
