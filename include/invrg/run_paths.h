/**
 * @file run_paths.h
 * The files a run writes beside its output (&run output), each named in one place: the run
 * file, its forms on the way, the checkpoints and the lock. (The log file has its own key:
 * invrg_config_log_path().)
 */
#ifndef INVRG_RUN_PATHS_H
#define INVRG_RUN_PATHS_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
  INVRG_PATH_OUTPUT,    /**< <output>: the run file */
  INVRG_PATH_TMP,       /**< <output>.tmp: the run file until it is complete */
  INVRG_PATH_CKPT,      /**< <output>.ckpt: the last checkpoint */
  INVRG_PATH_CKPT_PREV, /**< <output>.ckpt.prev: the one before */
  INVRG_PATH_CKPT_TMP,  /**< <output>.ckpt.tmp: a checkpoint being written */
  INVRG_PATH_LOCK,      /**< <output>.lock: the output lock */
  INVRG_N_RUN_PATHS
} invrg_run_path;

/** The suffix of @p which after the output's name ("" for the output itself). */
static inline const char *invrg_run_path_suffix(invrg_run_path which) {
  static const char *const suffix[INVRG_N_RUN_PATHS] = {"",           ".tmp",      ".ckpt",
                                                        ".ckpt.prev", ".ckpt.tmp", ".lock"};
  return suffix[which];
}

/** The path of @p which for the output @p output, in @p buf (truncated to @p len). */
static inline void invrg_run_path_of(const char *output, invrg_run_path which, char *buf,
                                     size_t len) {
  snprintf(buf, len, "%s%s", output, invrg_run_path_suffix(which));
}

#endif
