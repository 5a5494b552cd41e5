/* MCRG results into the log (mcrg.h; io/mcrg_io.c writes them into the run file). */
#include "invrg/mcrg.h"

#include <stdio.h>

#include "invrg/format.h"
#include "invrg/log.h"

/* One row: level, coarse L, samples, λ_t, y_t, λ_h, y_h with their errors, tie fraction ('—'
 * where no block was blocked by the majority rule: up pairs). */
static void log_level(const invrg_mcrg_level *L, int level) {
  const double value[4] = {L->lambda_t, L->y_t, L->lambda_h, L->y_h};
  const double error[4] = {L->lambda_t_err, L->y_t_err, L->lambda_h_err, L->y_h_err};
  char line[256], cell[64];
  line[0] = '\0';
  snprintf(cell, sizeof cell, "%d", level);
  invrg_format_cell(line, sizeof line, 5, cell);
  snprintf(cell, sizeof cell, "%lld", (long long)L->lx_coarse);
  invrg_format_cell(line, sizeof line, 6, cell);
  snprintf(cell, sizeof cell, "%lld", (long long)L->n_samples);
  invrg_format_cell(line, sizeof line, 9, cell);
  for (int k = 0; k < 4; k++) {
    invrg_format_value_error(cell, sizeof cell, value[k], error[k]);
    invrg_format_cell(line, sizeof line, 14, cell);
  }
  invrg_format_fixed(cell, sizeof cell, L->tie_fraction, 4);
  invrg_format_cell(line, sizeof line, 8, cell);
  invrg_log(INVRG_LOG_INFO, " %s", line);
}

void invrg_mcrg_log(const invrg_mcrg_results *r, const char *source, const char *pairs) {
  const char *const head[] = {"level", "L", "samples", "lambda_t", "y_t", "lambda_h", "y_h",
                              "ties"};
  const int width[] = {5, 6, 9, 14, 14, 14, 14, 8};
  for (int s = 0; s < r->n_sets; s++) {
    invrg_log(INVRG_LOG_INFO, "MCRG %s/%s, operators %s (%d), tie rule %s, %d jackknife blocks "
              "(L: coarse lattice; ties: fraction of tied blocks)", source, pairs,
              r->set[s]->name, r->set[s]->n, invrg_tie_rule_name(r->tie_rule), r->n_blocks);
    char line[256];
    line[0] = '\0';
    for (int k = 0; k < 8; k++) invrg_format_cell(line, sizeof line, width[k], head[k]);
    invrg_log(INVRG_LOG_INFO, " %s", line);
    for (int level = 1; level <= r->n_levels; level++) {
      const invrg_mcrg_level *L = invrg_mcrg_result(r, s, level);
      if (L->n_samples > 0) log_level(L, level);
    }
  }
}
