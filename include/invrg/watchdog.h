/**
 * @file watchdog.h
 * A time limit on calls that might never return. Parallel HDF5 can hang
 * inside H5Fclose or H5Fflush when a write failed on some ranks (a full
 * disk): the ranks then wait for each other in different collective calls.
 * Around such calls invrg arms a watchdog; if the call has not returned when
 * it fires, the rank prints what it was doing and exits with status 1, and
 * the MPI launcher ends the other ranks. Not collective; one watchdog per
 * process (SIGALRM).
 */
#ifndef INVRG_WATCHDOG_H
#define INVRG_WATCHDOG_H

/**
 * Arms the watchdog for @p what (e.g. "closing 'out.h5.tmp'"): the limit is
 * INVRG_WATCHDOG_SECONDS from the environment, else @p seconds. When it
 * fires it deletes @p partial (a file that cannot be complete; NULL: none)
 * and the MPI-IO lock files "<partial>-*.lock" that exist when armed.
 */
void invrg_watchdog_arm(const char *what, unsigned seconds, const char *partial);

/** Disarms it. */
void invrg_watchdog_disarm(void);

/**
 * A file the watchdog also deletes when it fires, whatever it was armed for:
 * the run's output lock, which would otherwise be left stale. NULL: none.
 */
void invrg_watchdog_remove_on_alarm(const char *path);

#endif
