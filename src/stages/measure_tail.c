/* The shared end of the measuring stages: correlations, then finite-size scaling, each written
 * to the run file and logged (measure_tail.h). */
#include "invrg/measure_tail.h"

#include "invrg/corr_io.h"
#include "invrg/fss.h"
#include "invrg/fss_io.h"

/* The fits across the sizes, with ξ₂/L where @p corr_results (or NULL) has the size. */
static invrg_err fit_sizes(const invrg_run *run, const char *source,
                           const invrg_corr_results *corr_results, const invrg_measure_size *sizes,
                           int n_sizes, int n_blocks) {
  invrg_err err = INVRG_SUCCESS;
  invrg_fss_data *fss_data = NULL;
  invrg_fss_results *fss_results = NULL;
  INVRG_CALL(invrg_fss_data_create(n_blocks, &fss_data));
  for (int i = 0; i < n_sizes; i++) {
    const invrg_measure_size *s = &sizes[i];
    INVRG_CALL(invrg_fss_set_primaries(fss_data, s->L, s->block_means, s->block_sizes, s->K));
    const invrg_corr_size *cs = corr_results != NULL ? invrg_corr_find(corr_results, s->L) : NULL;
    if (cs != NULL)
      INVRG_CALL(invrg_fss_set(fss_data, s->L, INVRG_FSS_XI_OVER_L, cs->xi2_over_L,
                               cs->xi2_over_L_jackknife));
  }
  const invrg_fss_params fp = {run->cfg->analyze.fss_Lmin, run->cfg->analyze.fss_Lmax};
  INVRG_CALL(invrg_fss_analyze(fss_data, &fp, &fss_results));
  INVRG_CALL(invrg_fss_write(fss_results, run->file->file, source, run->groups->world));
  invrg_fss_log(fss_results, source);
cleanup:
  invrg_fss_results_destroy(&fss_results);
  invrg_fss_data_destroy(&fss_data);
  return err;
}

invrg_err invrg_measure_tail_run(const invrg_run *run, const char *source, invrg_corr *corr,
                                 bool fit, const invrg_measure_size *sizes, int n_sizes,
                                 int n_blocks) {
  invrg_err err = INVRG_SUCCESS;
  invrg_corr_results *corr_results = NULL;
  if (corr != NULL) {
    INVRG_CALL(invrg_corr_reduce(corr));
    INVRG_CALL(invrg_corr_analyze(corr, &corr_results));
    INVRG_CALL(invrg_corr_write(corr_results, run->file->file, source, run->groups->world));
    invrg_corr_log(corr_results, source);
  }
  if (fit) INVRG_CALL(fit_sizes(run, source, corr_results, sizes, n_sizes, n_blocks));
cleanup:
  invrg_corr_results_destroy(&corr_results);
  return err;
}
