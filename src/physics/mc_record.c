/* Stage mc's per-chain records and the summary of a size made from them (mc_record.h): numbers
 * only, so the checkpoints of io can check the rows they hold. */
#include "invrg/mc_record.h"

#include <stdlib.h>
#include <string.h>

const char *const invrg_mc_series_names[INVRG_MC_N_SERIES] = {"energy", "m",  "abs_m",
                                                              "m2",     "m4", "e_paper"};
const int invrg_mc_series_primary[INVRG_MC_N_SERIES] = {
    INVRG_PRIMARY_E,  INVRG_PRIMARY_M,  INVRG_PRIMARY_ABS_M,
    INVRG_PRIMARY_M2, INVRG_PRIMARY_M4, INVRG_PRIMARY_EP};

/* invrg_series_stats as doubles in a row. */
enum { STATS_FIELDS = 7 };

size_t invrg_mc_record_length(int64_t B) {
  return INVRG_MC_N_SERIES * STATS_FIELDS + (size_t)B * (INVRG_N_PRIMARY + 1);
}

void invrg_mc_record_pack(const invrg_mc_record *r, int64_t B, double *row) {
  for (int k = 0; k < INVRG_MC_N_SERIES; k++) {
    const invrg_series_stats *st = &r->series[k];
    double *f = row + k * STATS_FIELDS;
    f[0] = st->mean, f[1] = st->variance, f[2] = st->tau_int, f[3] = st->window;
    f[4] = st->error, f[5] = st->error_binning, f[6] = st->reliable;
  }
  double *means = row + INVRG_MC_N_SERIES * STATS_FIELDS, *sizes = means + B * INVRG_N_PRIMARY;
  memcpy(means, r->block_means, (size_t)B * INVRG_N_PRIMARY * sizeof *means);
  for (int64_t b = 0; b < B; b++) sizes[b] = (double)r->block_sizes[b]; /* exact below 2^53 */
}

void invrg_mc_record_unpack(const double *row, int64_t B, invrg_mc_record *r) {
  for (int k = 0; k < INVRG_MC_N_SERIES; k++) {
    invrg_series_stats *st = &r->series[k];
    const double *f = row + k * STATS_FIELDS;
    st->mean = f[0], st->variance = f[1], st->tau_int = f[2], st->window = (int)f[3];
    st->error = f[4], st->error_binning = f[5], st->reliable = f[6] != 0;
  }
  const double *means = row + INVRG_MC_N_SERIES * STATS_FIELDS;
  const double *sizes = means + B * INVRG_N_PRIMARY;
  memcpy(r->block_means, means, (size_t)B * INVRG_N_PRIMARY * sizeof *means);
  for (int64_t b = 0; b < B; b++) r->block_sizes[b] = (int64_t)sizes[b];
}

invrg_err invrg_mc_summarize(const double *rows, int64_t n_chains, int64_t B, double N, double K,
                             invrg_mc_summary *out) {
  invrg_err err = INVRG_SUCCESS;
  const size_t len = invrg_mc_record_length(B);
  invrg_mc_record *chains = malloc((size_t)n_chains * sizeof *chains);
  invrg_series_stats *per_chain = malloc((size_t)n_chains * sizeof *per_chain);
  INVRG_CHECK_ALLOC(chains);
  INVRG_CHECK_ALLOC(per_chain);
  for (int64_t c = 0; c < n_chains; c++) {
    chains[c].block_means = out->block_means + (size_t)(c * B) * INVRG_N_PRIMARY;
    chains[c].block_sizes = out->block_sizes + c * B;
    invrg_mc_record_unpack(rows + (size_t)c * len, B, &chains[c]);
    for (int k = 0; k < INVRG_MC_N_SERIES; k++)
      out->tau_int[c * INVRG_MC_N_SERIES + k] = chains[c].series[k].tau_int;
  }
  for (int k = 0; k < INVRG_MC_N_SERIES; k++) {
    for (int64_t c = 0; c < n_chains; c++) per_chain[c] = chains[c].series[k];
    invrg_stats_combine(per_chain, (int)n_chains, &out->combined[k]);
  }
  invrg_summary_from_blocks(out->block_means, out->block_sizes, (int)(n_chains * B), N, K,
                            &out->summary);
cleanup:
  free(chains);
  free(per_chain);
  return err;
}
