/* Stage mc's results of one size (mc_results.h): the summary of its chains, /mc/L<L>, the log. */
#include "invrg/mc_results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/exact.h"
#include "invrg/format.h"
#include "invrg/h5util.h"
#include "invrg/log.h"
#include "invrg/mc_record.h"
#include "invrg/schema.h"
#include "invrg/summary_io.h"

enum { N_SERIES = INVRG_MC_N_SERIES };

/* What rank 0 computes from all chains and every rank writes. */
typedef struct {
  invrg_summary summary;
  invrg_series_stats combined[N_SERIES];
  bool have_exact;
  invrg_exact_thermo exact;
} mc_result;

static void log_results(const invrg_config *cfg, int64_t L, const mc_result *r) {
  const invrg_summary *s = &r->summary;
  char line[256], cell[64];
  bool unreliable = false;
  invrg_log(INVRG_LOG_INFO, "mc L=%lld %s%s, K=%.10g: %lld chains x %lld samples", (long long)L,
            cfg->mc.algorithm, cfg->mc.lattice_kind == INVRG_MC_LATTICE_PACKED ? " packed" : "",
            cfg->mc.beta, (long long)cfg->mc.n_chains,
            (long long)cfg->mc.n_samples);
  const char *const head[] = {"observable", "value(error)", "tau_int [samples]", "exact",
                              "deviation [sigma]"};
  const int width[] = {-18, 18, 18, 15, 18};
  line[0] = '\0';
  for (int k = 0; k < 5; k++) invrg_format_cell(line, sizeof line, width[k], head[k]);
  invrg_log(INVRG_LOG_INFO, " %s", line);
  for (int o = 0; o < INVRG_N_OBS; o++) {
    line[0] = '\0';
    snprintf(cell, sizeof cell, "%s%s", invrg_summary_names[o],
             o == INVRG_OBS_ENERGY ? " [J]" : ""); /* energies in units of J; the rest: numbers */
    invrg_format_cell(line, sizeof line, width[0], cell);
    invrg_format_value_error(cell, sizeof cell, s->value[o], s->error[o]);
    invrg_format_cell(line, sizeof line, width[1], cell);
    snprintf(cell, sizeof cell, "%s", INVRG_FORMAT_UNDEFINED); /* τ_int only of the series */
    for (int k = 0; k < N_SERIES; k++)
      if (strcmp(invrg_mc_series_names[k], invrg_summary_names[o]) == 0) {
        snprintf(cell, sizeof cell, "%.2f%s", r->combined[k].tau_int,
                 r->combined[k].reliable ? "" : "*");
        unreliable |= !r->combined[k].reliable;
      }
    invrg_format_cell(line, sizeof line, width[2], cell);
    double exact = NAN;
    if (r->have_exact && o == INVRG_OBS_ENERGY) exact = r->exact.energy;
    if (r->have_exact && o == INVRG_OBS_SPECIFIC_HEAT) exact = r->exact.specific_heat;
    invrg_format_fixed(cell, sizeof cell, exact, 10);
    invrg_format_cell(line, sizeof line, width[3], cell);
    invrg_format_sigma(cell, sizeof cell, invrg_deviation_sigma(s->value[o], exact, s->error[o]));
    invrg_format_cell(line, sizeof line, width[4], cell);
    invrg_log(INVRG_LOG_INFO, " %s", line);
  }
  if (unreliable)
    invrg_log(INVRG_LOG_INFO, "  * chains too short for a reliable tau_int");
}

/* /mc/L<L>: the summary, the chains and the τ_int of the series. */
static invrg_err write_summary(hid_t file, const invrg_config *cfg, int64_t L, const mc_result *r) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1;
  char path[64];
  invrg_schema_size_path(path, sizeof path, "mc", NULL, L);
  const invrg_summary_context ctx = {L, cfg->mc.beta,
                                     "jackknife over blocks_per_chain blocks of each chain", 0};
  INVRG_CALL(invrg_summary_write(file, path, &r->summary, &ctx, &g));
  int64_t n_chains = cfg->mc.n_chains;
  INVRG_CALL(invrg_h5_attr_int64(g, "n_chains", &n_chains, 1, true));
  INVRG_CALL(invrg_h5_attr_string(g, "algorithm", cfg->mc.algorithm));
  for (int k = 0; k < N_SERIES; k++) {
    char name[64];
    snprintf(name, sizeof name, "%s_tau_int", invrg_mc_series_names[k]);
    INVRG_CALL(invrg_h5_attr_double(g, name, &r->combined[k].tau_int, 1, true));
    snprintf(name, sizeof name, "%s_err_tau", invrg_mc_series_names[k]);
    INVRG_CALL(invrg_h5_attr_double(g, name, &r->combined[k].error, 1, true));
    snprintf(name, sizeof name, "%s_err_binning", invrg_mc_series_names[k]);
    INVRG_CALL(invrg_h5_attr_double(g, name, &r->combined[k].error_binning, 1, true));
  }
cleanup:
  invrg_h5_close(&g);
  return err;
}

/* /mc/L<L>/tau_int [chain][series], from @p taus of the writer (world rank 0). Collective. */
static invrg_err write_tau_int(hid_t group, int64_t n_chains, const double *taus, bool writer) {
  invrg_err err = INVRG_SUCCESS;
  hid_t dset = -1;
  const hsize_t dims[2] = {(hsize_t)n_chains, N_SERIES};
  INVRG_CALL(invrg_h5_create_dataset(group, "tau_int", H5T_NATIVE_DOUBLE, 2, dims, &dset));
  INVRG_CALL(invrg_h5_attr_strings(dset, "columns", invrg_mc_series_names, N_SERIES));
  if (writer)
    INVRG_CALL(invrg_h5_write_rows(dset, H5T_NATIVE_DOUBLE, 0, (hsize_t)n_chains, taus));
cleanup:
  invrg_h5_close(&dset);
  return err;
}


invrg_err invrg_mc_results_write(const invrg_run *run, int64_t L, int64_t B, const double *rows,
                                 double *fss_means, int64_t *fss_sizes, hid_t group) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_groups *g = run->groups;
  const int64_t n_chains = cfg->mc.n_chains;
  double *taus = NULL;
  mc_result result;
  memset(&result, 0, sizeof result);
  if (g->world_rank == 0) {
    taus = malloc((size_t)n_chains * N_SERIES * sizeof *taus);
    INVRG_CHECK_ALLOC(taus);
    invrg_mc_summary s = {.block_means = fss_means, .block_sizes = fss_sizes, .tau_int = taus};
    INVRG_CALL(invrg_mc_summarize(rows, n_chains, B, (double)(L * L), cfg->mc.beta, &s));
    result.summary = s.summary;
    memcpy(result.combined, s.combined, sizeof result.combined);
    result.have_exact = invrg_exact_torus((int)L, cfg->mc.beta, &result.exact);
  }
  INVRG_MPI_CALL(MPI_Bcast(&result, (int)sizeof result, MPI_BYTE, 0, g->world));
  INVRG_CALL(write_summary(run->file->file, cfg, L, &result));
  INVRG_CALL(write_tau_int(group, n_chains, taus, g->world_rank == 0));
  log_results(cfg, L, &result);
cleanup:
  free(taus);
  return err;
}
