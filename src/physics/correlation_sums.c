/* The cheap path of the correlation module (correlation.h): the row and column
 * sums of a configuration in one pass over its spins, and the power of their
 * lowest Fourier mode, |Σ_x v_x e^{−2πix/L}|², by a DFT of L terms in a fixed
 * order, which gives S(2π/L, 0) and S(0, 2π/L) in O(N) instead of an FFT. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/correlation.h"
#include "invrg/simd.h"
#include "physics/correlation_internal.h"

#if INVRG_SIMD_X86
#include <immintrin.h>
#endif

/* Columns summed at a time: int32 partial column sums that stay in L1 (8 KiB). */
enum { COLUMN_CHUNK = 2048 };

/*
 * Rows 0 … ny − 1 (stride sx) of a strip of w ≤ COLUMN_CHUNK columns starting at s0: column[i]
 * += Σ_j s(i, j), rows[j] += Σ_i s(i, j). Plain C, compiled once per SIMD level by the wrappers
 * below so the vectoriser may use AVX2 or AVX-512; integer sums, so every level gives the same
 * numbers.
 */
static inline __attribute__((always_inline)) void strip_sums(const int8_t *s0, size_t sx, int ny,
                                                             int w, int32_t *restrict column,
                                                             int64_t *restrict rows) {
  for (int j = 0; j < ny; j++) {
    const int8_t *restrict s = s0 + (size_t)j * sx;
    int32_t row = 0; /* |row| ≤ w, |column| ≤ ny < 2^31 */
    for (int i = 0; i < w; i++) {
      column[i] += s[i];
      row += s[i];
    }
    rows[j] += row;
  }
}

static void strip_generic(const int8_t *s0, size_t sx, int ny, int w, int32_t *column,
                          int64_t *rows) {
  strip_sums(s0, sx, ny, w, column, rows);
}

#if INVRG_SIMD_X86
INVRG_TARGET_AVX2 static void strip_avx2(const int8_t *s0, size_t sx, int ny, int w,
                                         int32_t *column, int64_t *rows) {
  strip_sums(s0, sx, ny, w, column, rows);
}

INVRG_TARGET_AVX512 static void strip_avx512(const int8_t *s0, size_t sx, int ny, int w,
                                             int32_t *column, int64_t *rows) {
  strip_sums(s0, sx, ny, w, column, rows);
}
#endif

typedef void (*strip_fn)(const int8_t *, size_t, int, int, int32_t *, int64_t *);

static strip_fn strip_kernel(void) {
#if INVRG_SIMD_X86
  switch (invrg_simd_active()) {
    case INVRG_SIMD_AVX512: return strip_avx512;
    case INVRG_SIMD_AVX2: return strip_avx2;
    case INVRG_SIMD_GENERIC: break;
  }
#endif
  return strip_generic;
}

void invrg_corr_line_sums(const invrg_lattice *lat, int64_t *row_sums, int64_t *col_sums) {
  memset(row_sums, 0, (size_t)lat->ly * sizeof *row_sums);
  memset(col_sums, 0, (size_t)lat->lx * sizeof *col_sums);
  const strip_fn strip = strip_kernel();
  int32_t column[COLUMN_CHUNK];
  for (int i0 = 0; i0 < lat->nx; i0 += COLUMN_CHUNK) {
    const int w = lat->nx - i0 < COLUMN_CHUNK ? lat->nx - i0 : COLUMN_CHUNK;
    memset(column, 0, (size_t)w * sizeof *column);
    strip(lat->data + invrg_lattice_index(lat, i0, 0), (size_t)lat->sx, lat->ny, w, column,
          row_sums + lat->y0);
    for (int i = 0; i < w; i++) col_sums[lat->x0 + i0 + i] = column[i];
  }
}

invrg_err corr_twiddles_init(int64_t L, corr_twiddles *t) {
  invrg_err err = INVRG_SUCCESS;
  t->L = L;
  t->cos_t = malloc((size_t)L * sizeof *t->cos_t);
  t->sin_t = malloc((size_t)L * sizeof *t->sin_t);
  INVRG_CHECK_ALLOC(t->cos_t);
  INVRG_CHECK_ALLOC(t->sin_t);
  for (int64_t x = 0; x < L; x++) {
    const double phase = 2 * M_PI * (double)x / (double)L;
    t->cos_t[x] = cos(phase);
    t->sin_t[x] = sin(phase);
  }
cleanup:
  return err;
}

void corr_twiddles_free(corr_twiddles *t) {
  free(t->cos_t);
  free(t->sin_t);
  t->cos_t = t->sin_t = NULL;
}

double corr_line_power(const corr_twiddles *t, const int64_t *v) {
  /* Re and Im of Σ_x v_x e^{−2πix/L}, summed in increasing x (no reassociation in C) */
  double re = 0, im = 0;
  for (int64_t x = 0; x < t->L; x++) {
    re += (double)v[x] * t->cos_t[x];
    im -= (double)v[x] * t->sin_t[x];
  }
  return re * re + im * im;
}

static void line_powers_portable(const corr_twiddles *t, const int64_t *v, size_t stride, int n,
                                 double *out) {
  double re[CORR_LINE_GROUP] = {0}, im[CORR_LINE_GROUP] = {0};
  for (int64_t x = 0; x < t->L; x++) {
    const double c = t->cos_t[x], s = t->sin_t[x];
    const int64_t *vx = v + (size_t)x * stride;
    for (int j = 0; j < n; j++) {
      re[j] += (double)vx[j] * c;
      im[j] -= (double)vx[j] * s;
    }
  }
  for (int j = 0; j < n; j++) out[j] = re[j] * re[j] + im[j] * im[j];
}

#if INVRG_SIMD_X86
/* The same eight lines a vector: the same products, sums and differences of doubles, each
 * rounded once (no fused multiply-adds), so the same bits. A line sum is at most L < 2^31,
 * so its low 32 bits convert exactly. */
INVRG_TARGET_AVX512 static void line_powers_avx512(const corr_twiddles *t, const int64_t *v,
                                                   size_t stride, int n, double *out) {
  const __mmask8 m = (__mmask8)((1u << n) - 1);
  __m512d re = _mm512_setzero_pd(), im = _mm512_setzero_pd();
  for (int64_t x = 0; x < t->L; x++) {
    const __m512i sums = _mm512_maskz_loadu_epi64(m, v + (size_t)x * stride);
    const __m512d vx = _mm512_cvtepi32_pd(_mm512_cvtepi64_epi32(sums));
    re = _mm512_add_pd(re, _mm512_mul_pd(vx, _mm512_set1_pd(t->cos_t[x])));
    im = _mm512_sub_pd(im, _mm512_mul_pd(vx, _mm512_set1_pd(t->sin_t[x])));
  }
  _mm512_mask_storeu_pd(out, m, _mm512_add_pd(_mm512_mul_pd(re, re), _mm512_mul_pd(im, im)));
}
#endif

void corr_line_powers(const corr_twiddles *t, const int64_t *v, size_t stride, int n,
                      double *out) {
  INVRG_ASSERT(n >= 1 && n <= CORR_LINE_GROUP && t->L <= INT32_MAX);
#if INVRG_SIMD_X86
  if (invrg_simd_active() == INVRG_SIMD_AVX512) {
    line_powers_avx512(t, v, stride, n, out);
    return;
  }
#endif
  line_powers_portable(t, v, stride, n, out);
}
