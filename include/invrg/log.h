/**
 * @file log.h
 * Logging: rank 0 speaks for the run; any rank may report a local problem.
 *
 * Levels: error < warn < info < debug. Messages at or below the current level
 * are printed. invrg_log() prints on rank 0 of MPI_COMM_WORLD only (not
 * collective: other ranks simply return). invrg_log_local() prints on the
 * calling rank with a "[rank r]" prefix, for problems only that rank sees.
 * Info and debug go to stdout (line-buffered), warnings and errors to stderr.
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

#endif
