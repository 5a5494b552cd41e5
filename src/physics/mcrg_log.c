/* MCRG results into the log (mcrg.h; io/mcrg_io.c writes them into the run file). */
#include "invrg/mcrg.h"

#include "invrg/log.h"

void invrg_mcrg_log(const invrg_mcrg_results *r, const char *source, const char *pairs) {
  for (int s = 0; s < r->n_sets; s++) {
    invrg_log(INVRG_LOG_INFO, "MCRG %s/%s, operators %s (%d), tie rule %s, %d jackknife blocks",
              source, pairs, r->set[s]->name, r->set[s]->n, invrg_tie_rule_name(r->tie_rule),
              r->n_blocks);
    invrg_log(INVRG_LOG_INFO, "  %5s %6s %9s %-22s %-22s %-22s %-22s %7s", "level", "L", "samples",
              "lambda_t", "y_t", "lambda_h", "y_h", "ties");
    for (int level = 1; level <= r->n_levels; level++) {
      const invrg_mcrg_level *L = invrg_mcrg_result(r, s, level);
      if (L->n_samples == 0) continue;
      invrg_log(INVRG_LOG_INFO,
                "  %5d %6lld %9lld %9.6f +- %-9.6f %9.6f +- %-9.6f %9.6f +- %-9.6f %9.6f +- "
                "%-9.6f %7.4f",
                level, (long long)L->lx_coarse, (long long)L->n_samples, L->lambda_t,
                L->lambda_t_err, L->y_t, L->y_t_err, L->lambda_h, L->lambda_h_err, L->y_h,
                L->y_h_err, L->tie_fraction);
    }
  }
}
