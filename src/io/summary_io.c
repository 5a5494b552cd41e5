/* The one writer of ensemble summaries (summary_io.h). */
#include "invrg/summary_io.h"

#include <stdio.h>

#include "invrg/exact.h"
#include "invrg/format.h"
#include "invrg/h5util.h"
#include "invrg/stats.h"

/* X_exact and X_dev_sigma = (X − X_exact)/X_err of the energy and the specific heat. */
static invrg_err write_exact(hid_t g, const invrg_summary *s, const invrg_exact_thermo *ex) {
  invrg_err err = INVRG_SUCCESS;
  const struct {
    int obs;
    const char *exact_name, *dev_name;
    double exact;
  } rows[] = {
      {INVRG_OBS_ENERGY, "energy_exact", "energy_dev_sigma", ex->energy},
      {INVRG_OBS_SPECIFIC_HEAT, "specific_heat_exact", "specific_heat_dev_sigma",
       ex->specific_heat},
  };
  for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
    double dev =
        invrg_deviation_sigma(s->value[rows[k].obs], rows[k].exact, s->error[rows[k].obs]);
    INVRG_CALL(invrg_h5_attr_double(g, rows[k].exact_name, &rows[k].exact, 1, true));
    INVRG_CALL(invrg_h5_attr_double(g, rows[k].dev_name, &dev, 1, true));
  }
cleanup:
  return err;
}

bool invrg_summary_exact_deviations(const invrg_summary *s, int L, double K, char *buf,
                                    size_t size) {
  invrg_exact_thermo ex;
  char sig[2][32];
  buf[0] = '\0';
  if (!invrg_exact_torus(L, K, &ex)) return false;
  invrg_format_sigma(sig[0], sizeof sig[0],
                     invrg_deviation_sigma(s->value[INVRG_OBS_ENERGY], ex.energy,
                                           s->error[INVRG_OBS_ENERGY]));
  invrg_format_sigma(sig[1], sizeof sig[1],
                     invrg_deviation_sigma(s->value[INVRG_OBS_SPECIFIC_HEAT], ex.specific_heat,
                                           s->error[INVRG_OBS_SPECIFIC_HEAT]));
  snprintf(buf, size, "energy %s, specific_heat %s", sig[0], sig[1]);
  return true;
}

invrg_err invrg_summary_write(hid_t file, const char *path, const invrg_summary *s,
                              const invrg_summary_context *ctx, hid_t *out) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1;
  int64_t n = s->n_samples, L = ctx->L;
  INVRG_CALL(invrg_h5_create_group(file, path, &g));
  INVRG_CALL(invrg_h5_attr_int64(g, "n_samples", &n, 1, true));
  INVRG_CALL(invrg_h5_attr_int64(g, "L", &L, 1, true));
  INVRG_CALL(invrg_h5_attr_double(g, "beta", &ctx->beta, 1, true));
  INVRG_CALL(invrg_h5_attr_string(g, "error_method", ctx->error_method));
  if (ctx->jackknife_blocks > 0)
    INVRG_CALL(invrg_h5_attr_int64(g, "jackknife_blocks", &ctx->jackknife_blocks, 1, true));
  for (int o = 0; o < INVRG_N_OBS; o++) {
    char name[64];
    INVRG_CALL(invrg_h5_attr_double(g, invrg_summary_names[o], &s->value[o], 1, true));
    snprintf(name, sizeof name, "%s_err", invrg_summary_names[o]);
    INVRG_CALL(invrg_h5_attr_double(g, name, &s->error[o], 1, true));
  }
  invrg_exact_thermo ex;
  if (ctx->L <= INT32_MAX && invrg_exact_torus((int)ctx->L, ctx->beta, &ex))
    INVRG_CALL(write_exact(g, s, &ex));
  if (out != NULL) *out = g, g = -1;
cleanup:
  invrg_h5_close(&g);
  return err;
}
