/**
 * @file log.h
 * Logging: rank 0 speaks for the run; any rank may report a local problem.
 *
 * Levels: error < warn < info < debug. Messages at or below the current level
 * are printed. invrg_log() prints on rank 0 of MPI_COMM_WORLD only (not
 * collective: other ranks simply return). invrg_log_local() prints on the
 * calling rank with a "[rank r]" prefix, for problems only that rank sees.
 * Info and debug go to stdout (line-buffered), warnings and errors to stderr.
 *
 * The log of a run (docs/design.md §6): from invrg_log_begin_run() on, every line of rank 0
 * starts with the time elapsed since invrg_log_init(), "[hh:mm:ss] ", and is also written to
 * the log file (invrg_log_open_file()) and kept in memory, for the run file
 * (invrg_log_text()). The functions of the run's log act on world rank 0 only; elsewhere they
 * do nothing. None is collective.
 */
#ifndef INVRG_LOG_H
#define INVRG_LOG_H

#include <stdbool.h>
#include <stdio.h>

typedef enum {
  INVRG_LOG_ERROR = 0,
  INVRG_LOG_WARN = 1,
  INVRG_LOG_INFO = 2,
  INVRG_LOG_DEBUG = 3
} invrg_log_level;

/** Sets the rank used for prefixes and the rank-0 filter (call after MPI_Init). */
void invrg_log_init(int world_rank);

/** Sets the level; messages above it are dropped. */
void invrg_log_set_level(invrg_log_level level);

invrg_log_level invrg_log_get_level(void);

/** Parses "error" | "warn" | "info" | "debug"; returns false if unknown. */
bool invrg_log_level_from_name(const char *name, invrg_log_level *level);

/** Prints on world rank 0 only. Not collective. */
void invrg_log(invrg_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Prints on the calling rank, prefixed "[rank r]". Not collective. */
void invrg_log_local(invrg_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** True on the rank that prints invrg_log() messages. */
bool invrg_log_is_root(void);

/** Logs each line of @p text (lines end with '\n') as one message. */
void invrg_log_lines(invrg_log_level level, const char *text);

/** Seconds since invrg_log_init() (a monotonic clock). */
double invrg_log_elapsed(void);

/** Writes @p seconds as "[hh:mm:ss]" (hours grow past 99) into @p buf. */
void invrg_log_stamp(char *buf, size_t size, double seconds);

/** Starts the log of a run: time stamps from now on, the lines kept (and filed once opened). */
void invrg_log_begin_run(void);

/**
 * Opens the log file at @p path, appended to if @p append (a run continued from a
 * checkpoint), else replaced, and writes this process's lines so far into it. Returns false
 * (errno set) if it cannot be opened; the log then goes on without it.
 */
bool invrg_log_open_file(const char *path, bool append);

/** Closes the log file (accepts none open). */
void invrg_log_close_file(void);

/**
 * Copies @p text (lines printed without the log, such as a fatal error) into the run's log
 * file and kept lines, time-stamped, without printing it.
 */
void invrg_log_copy(const char *text);

/** Puts @p earlier (the log of the runs before this one) before the kept lines; false if out
 * of memory. */
bool invrg_log_prepend(const char *earlier);

/** The kept log of the run: earlier runs' lines, then this process's ("" on other ranks). */
const char *invrg_log_text(void);

/** Ends the log of a run: closes the file, frees the kept lines, no more time stamps. */
void invrg_log_end_run(void);

#endif
