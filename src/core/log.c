/* Leveled logging: rank 0 speaks for the run, any rank may report a local problem. */
#include "invrg/log.h"

#include <stdarg.h>

#include "invrg/text.h"

static int log_rank = 0;
static invrg_log_level log_level = INVRG_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void invrg_log_init(int world_rank) {
  log_rank = world_rank;
  setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines must reach a SLURM log promptly */
}

void invrg_log_set_level(invrg_log_level level) { log_level = level; }

invrg_log_level invrg_log_get_level(void) { return log_level; }

bool invrg_log_is_root(void) { return log_rank == 0; }

bool invrg_log_level_from_name(const char *name, invrg_log_level *level) {
  for (int i = 0; i <= INVRG_LOG_DEBUG; i++)
    if (invrg_text_ieq(name, level_names[i])) {
      *level = (invrg_log_level)i;
      return true;
    }
  return false;
}

static void emit(invrg_log_level level, const char *prefix, const char *fmt, va_list ap) {
  FILE *out = level <= INVRG_LOG_WARN ? stderr : stdout;
  if (level <= INVRG_LOG_WARN) fflush(stdout); /* keep the two streams in order on a terminal */
  fputs(prefix, out);
  if (level <= INVRG_LOG_WARN) fprintf(out, "%s: ", level_names[level]);
  vfprintf(out, fmt, ap);
  fputc('\n', out);
  if (level <= INVRG_LOG_WARN) fflush(out);
}

void invrg_log(invrg_log_level level, const char *fmt, ...) {
  if (log_rank != 0 || level > log_level) return;
  va_list ap;
  va_start(ap, fmt);
  emit(level, "", fmt, ap);
  va_end(ap);
}

void invrg_log_local(invrg_log_level level, const char *fmt, ...) {
  if (level > log_level) return;
  char prefix[32];
  snprintf(prefix, sizeof prefix, "[rank %d] ", log_rank);
  va_list ap;
  va_start(ap, fmt);
  emit(level, prefix, fmt, ap);
  va_end(ap);
}
