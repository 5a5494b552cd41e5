/* Progress lines at a steady wall-clock cadence: done/total, rate, ETA. */
#include "invrg/progress.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "invrg/log.h"

static double wall_clock(void) { return MPI_Wtime(); }

void invrg_format_duration(double seconds, char *buf, size_t buflen) {
  if (!(seconds >= 0) || !isfinite(seconds)) {
    snprintf(buf, buflen, "?");
    return;
  }
  long s = lround(seconds);
  if (s < 60)
    snprintf(buf, buflen, "%lds", s);
  else if (s < 3600)
    snprintf(buf, buflen, "%ldm%02lds", s / 60, s % 60);
  else if (s < 86400)
    snprintf(buf, buflen, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  else
    snprintf(buf, buflen, "%ldd%02ldh", s / 86400, (s % 86400) / 3600);
}

void invrg_progress_start_clock(invrg_progress *p, const char *label, double total_steps,
                                const char *work_unit, double interval_s, invrg_clock_fn clock) {
  memset(p, 0, sizeof *p);
  snprintf(p->label, sizeof p->label, "%s", label);
  snprintf(p->work_unit, sizeof p->work_unit, "%s", work_unit);
  p->total_steps = total_steps;
  p->interval_s = interval_s > 0 ? interval_s : 10.0;
  p->clock = clock;
  p->t_start = p->t_last_print = clock();
}

void invrg_progress_start(invrg_progress *p, const char *label, double total_steps,
                          const char *work_unit, double interval_s) {
  invrg_progress_start_clock(p, label, total_steps, work_unit, interval_s, wall_clock);
}

bool invrg_progress_update(invrg_progress *p, double steps_done, double work_done) {
  double now = p->clock();
  if (now - p->t_last_print < p->interval_s) return false;
  p->t_last_print = now;
  double elapsed = now - p->t_start;
  double rate = elapsed > 0 ? work_done / elapsed : 0;
  /* ETA from the mean pace so far: remaining steps at elapsed/steps_done each. */
  double eta = steps_done > 0 ? elapsed * (p->total_steps - steps_done) / steps_done : NAN;
  char eta_text[32], elapsed_text[32];
  invrg_format_duration(eta, eta_text, sizeof eta_text);
  invrg_format_duration(elapsed, elapsed_text, sizeof elapsed_text);
  double percent = p->total_steps > 0 ? 100.0 * steps_done / p->total_steps : 100.0;
  snprintf(p->last_line, sizeof p->last_line,
           "%s: %.0f/%.0f (%.1f%%) %.3g %s/s%s%s, elapsed %s, ETA %s", p->label, steps_done,
           p->total_steps, percent, rate, p->work_unit, p->detail[0] ? ", " : "", p->detail,
           elapsed_text, eta_text);
  p->lines_printed++;
  invrg_log(INVRG_LOG_INFO, "%s", p->last_line);
  return true;
}

void invrg_progress_finish(invrg_progress *p, double work_done) {
  double elapsed = p->clock() - p->t_start;
  char elapsed_text[32];
  invrg_format_duration(elapsed, elapsed_text, sizeof elapsed_text);
  snprintf(p->last_line, sizeof p->last_line, "%s: done in %s, %.3g %s/s", p->label, elapsed_text,
           elapsed > 0 ? work_done / elapsed : 0.0, p->work_unit);
  p->lines_printed++;
  invrg_log(INVRG_LOG_INFO, "%s", p->last_line);
}
