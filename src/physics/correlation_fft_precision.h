/* The half of correlation_fft.c that depends on the floating-point type: included by it once
 * per precision, with
 *   REAL        double or float,
 *   FFTW(name)  the FFTW function or type of that precision (fftw_name, fftwf_name),
 *   OURS(name)  the name of this file's function for that precision (name_double, name_float),
 *   PLAN        the member of corr_fft's plan unions for that precision (d, f),
 *   SINGLE      1 for float (the spectrum is widened to double for the caller), else 0.
 * Nothing else includes it. */

/* The 1D plans, made on the buffers whose alignment every execution reproduces. */
static bool OURS(make_plans)(corr_fft *f) {
  const int L = (int)f->L;
  /* out of place: FFTW_ESTIMATE plans c2c faster so (4096: 9.6 µs against 11.8 in place) */
  f->row_plan.PLAN = FFTW(plan_dft_r2c_1d)(L, f->rin, f->batch, PLAN_FLAGS);
  f->col_plan.PLAN = FFTW(plan_dft_1d)(L, f->scratch, f->spectrum, FFTW_FORWARD, PLAN_FLAGS);
  return f->row_plan.PLAN != NULL && f->col_plan.PLAN != NULL;
}

static void OURS(destroy_plans)(corr_fft *f) {
  if (f->row_plan.PLAN) FFTW(destroy_plan)(f->row_plan.PLAN);
  if (f->col_plan.PLAN) FFTW(destroy_plan)(f->col_plan.PLAN);
}

static int OURS(alignment_of)(void *p) { return FFTW(alignment_of)((REAL *)p); }

/* r2c of every local row (spins ±1, exact in either type), in batches written column-major
 * into `packed`. */
static void OURS(rows)(corr_fft *f, const corr_source *src) {
  const int64_t H = f->H, bs = f->batch_stride;
  REAL *rin = f->rin;
  FFTW(complex) *batch = f->batch, *packed = f->packed;
  for (int64_t y0 = 0; y0 < f->n_rows; y0 += ROW_BATCH) {
    const int64_t nb = f->n_rows - y0 < ROW_BATCH ? f->n_rows - y0 : ROW_BATCH;
    for (int64_t b = 0; b < nb; b++) {
      const int8_t *spins = row_spins(f, src, y0 + b);
      for (int64_t x = 0; x < f->L; x++) rin[x] = spins[x];
      FFTW(execute_dft_r2c)(f->row_plan.PLAN, rin, batch + b * bs);
    }
    for (int64_t k = 0; k < H; k++) {
      FFTW(complex) *dst = packed + f->base[k] + y0;
      for (int64_t b = 0; b < nb; b++) {
        dst[b][0] = batch[b * bs + k][0];
        dst[b][1] = batch[b * bs + k][1];
      }
    }
  }
}

/* The c2c of one column @p in (of the plan's alignment) into `spectrum`, as doubles: the
 * spectrum itself, or in single precision widened into `widened` (every float is a double). */
static const fftw_complex *OURS(column)(corr_fft *f, void *in) {
  FFTW(complex) *spectrum = f->spectrum;
  FFTW(execute_dft)(f->col_plan.PLAN, in, spectrum);
#if SINGLE
  for (int64_t n = 0; n < f->L; n++) {
    f->widened[n][0] = spectrum[n][0];
    f->widened[n][1] = spectrum[n][1];
  }
  return (const fftw_complex *)f->widened;
#else
  return (const fftw_complex *)spectrum;
#endif
}
