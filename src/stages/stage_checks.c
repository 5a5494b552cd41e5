/* Checks shared by the stages: inputs that only make sense together with the sizes a stage
 * will measure (stage.h). */
#include <stdio.h>
#include <string.h>

#include "invrg/log.h"
#include "invrg/stage.h"

bool invrg_stage_fits_source(const invrg_config *cfg, invrg_source source) {
  for (int k = 0; k < cfg->analyze.n_fss_sources; k++)
    if (cfg->analyze.fss_sources_kind[k] == source) return true;
  return false;
}

bool invrg_stage_fits(const invrg_config *cfg, invrg_source source, int n_sizes, int n_blocks) {
  if (!invrg_stage_fits_source(cfg, source) || n_sizes < 2) return false;
  if (n_blocks >= 2) return true;
  invrg_log(INVRG_LOG_WARN, "fss %s: no fits across L: the samples of each size are one "
            "jackknife block, with no error bars to fit with", invrg_source_name(source));
  return false;
}

int invrg_stage_jackknife_blocks(const invrg_config *cfg, const char *source, int64_t n_samples) {
  const int64_t asked = cfg->analyze.jackknife_blocks;
  const int blocks = invrg_config_jackknife_blocks(cfg, n_samples);
  if (blocks == asked) return blocks;
  invrg_log(INVRG_LOG_WARN, "%s: %lld jackknife blocks of one sample each, not the %lld of "
            "&analyze jackknife_blocks: there are %lld samples", source, (long long)n_samples,
            (long long)asked, (long long)n_samples);
  return blocks;
}

invrg_err invrg_stage_check_fss_range(const invrg_config *cfg, invrg_source source,
                                      const char *what, const int64_t *L, int n_L) {
  const int64_t lo = cfg->analyze.fss_Lmin, hi = cfg->analyze.fss_Lmax;
  /* An empty range is the pipeline's error (it does not depend on the source); the defaults
   * (0, 0: every size) always keep them all. */
  if ((lo > 0 && hi > 0 && lo > hi) || (lo == 0 && hi == 0)) return INVRG_SUCCESS;
  char sizes[256] = "";
  int kept = 0, above_lo = 0;
  for (int i = 0; i < n_L; i++) {
    kept += L[i] >= lo && (hi == 0 || L[i] <= hi);
    above_lo += L[i] >= lo;
    size_t used = strlen(sizes);
    snprintf(sizes + used, sizeof sizes - used, "%s%lld", i > 0 ? ", " : "", (long long)L[i]);
  }
  if (kept >= 2) return INVRG_SUCCESS;
  /* Blame fss_Lmin if it alone already leaves too few sizes. */
  const bool lo_excludes = above_lo < 2;
  return invrg_config_input_error(cfg, "analyze", lo_excludes ? "fss_Lmin" : "fss_Lmax",
                                  "fss_Lmin = %lld, fss_Lmax = %lld keep %d of %s (%s); a "
                                  "finite-size-scaling fit of %s needs at least 2",
                                  (long long)lo, (long long)hi, kept, what, sizes,
                                  invrg_source_name(source));
}
