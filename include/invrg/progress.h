/**
 * @file progress.h
 * Progress lines for long loops: done/total, rate and ETA, printed at a
 * steady wall-clock cadence (not every N iterations), on the logging rank.
 *
 *     invrg_progress p;
 *     invrg_progress_start(&p, "mc L=256 sampling", n_sweeps, "spin updates", 10.0);
 *     for (...) { ...; invrg_progress_update(&p, done, work_done); }
 *     invrg_progress_finish(&p, n_sweeps, work_done);
 *
 * Not collective; it never communicates.
 */
#ifndef INVRG_PROGRESS_H
#define INVRG_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

typedef double (*invrg_clock_fn)(void);

typedef struct {
  char label[96];
  char work_unit[32];    /**< what the rate counts, e.g. "spin updates" */
  double total_steps;    /**< steps expected */
  double interval_s;     /**< seconds between lines */
  double t_start;
  double t_last_print;
  invrg_clock_fn clock;  /**< wall clock; replaceable in tests */
  int lines_printed;
  char detail[96];       /**< appended to each line if set, e.g. "mean cluster 812" */
  char last_line[384];   /**< the last line printed (for tests and logs) */
} invrg_progress;

/** Starts a reporter. @p interval_s <= 0 means the default of 10 s. */
void invrg_progress_start(invrg_progress *p, const char *label, double total_steps,
                          const char *work_unit, double interval_s);

/** Like invrg_progress_start, with a given clock (tests). */
void invrg_progress_start_clock(invrg_progress *p, const char *label, double total_steps,
                                const char *work_unit, double interval_s, invrg_clock_fn clock);

/**
 * Reports @p steps_done of total and @p work_done units of work so far; prints
 * a line when interval_s has passed since the last one. Returns true if printed.
 */
bool invrg_progress_update(invrg_progress *p, double steps_done, double work_done);

/** Prints the closing line (elapsed time and mean rate). */
void invrg_progress_finish(invrg_progress *p, double work_done);

/** Formats seconds as "42s", "3m07s", "2h05m", "3d04h". */
void invrg_format_duration(double seconds, char *buf, size_t buflen);

#endif
