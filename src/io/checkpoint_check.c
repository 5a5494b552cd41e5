/* The checks of a checkpoint's stage state before a run continues from it (checkpoint_check.h). */
#include "invrg/checkpoint_check.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/h5util.h"
#include "invrg/mcrg.h"
#include "invrg/model.h"
#include "invrg/observables.h"
#include "invrg/reducer.h"
#include "invrg/train.h"

invrg_err invrg_checkpoint_damaged(const invrg_config *cfg, const char *path, const char *fmt,
                                   ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return invrg_config_input_error(cfg, "run", "output",
                                  "the checkpoint '%s' is damaged: %s; move it away to start "
                                  "afresh", path, what);
}

/* "d0, d1, …" of @p rank dimensions into @p out. */
static void format_dims(char *out, size_t size, int rank, const hsize_t *dims) {
  out[0] = '\0';
  for (int i = 0; i < rank; i++)
    snprintf(out + strlen(out), size - strlen(out), "%s%llu", i > 0 ? ", " : "",
             (unsigned long long)dims[i]);
}

invrg_err invrg_checkpoint_check_shape(hid_t state, const char *stage, const char *name,
                                       int rank, const hsize_t *want, const invrg_config *cfg,
                                       const char *path) {
  invrg_err err = INVRG_SUCCESS;
  hid_t dset = -1, space = -1;
  hsize_t have[3] = {0, 0, 0};
  int have_rank = -1;
  if (H5Lexists(state, name, H5P_DEFAULT) > 0) {
    INVRG_H5_CALL(dset = H5Dopen2(state, name, H5P_DEFAULT), name);
    INVRG_H5_CALL(space = H5Dget_space(dset), name);
    have_rank = H5Sget_simple_extent_ndims(space);
    if (have_rank >= 1 && have_rank <= 3) H5Sget_simple_extent_dims(space, have, NULL);
  }
  bool same = have_rank == rank;
  for (int i = 0; same && i < rank; i++) same = have[i] == want[i];
  char expected[96], found[96];
  format_dims(expected, sizeof expected, rank, want);
  format_dims(found, sizeof found, have_rank < 3 ? have_rank : 3, have);
  if (have_rank < 0)
    err = invrg_checkpoint_damaged(cfg, path, "it has no dataset /checkpoint/%s/%s", stage, name);
  else if (!same)
    err = invrg_checkpoint_damaged(cfg, path, "/checkpoint/%s/%s has the shape [%s], but its "
                                   "counters and the input make it [%s]", stage, name, found,
                                   expected);
cleanup:
  invrg_h5_close(&space);
  invrg_h5_close(&dset);
  return err;
}

invrg_err invrg_checkpoint_check_integers(hid_t state, const char *stage, const char *name,
                                          bool int8_only, const invrg_config *cfg,
                                          const char *path) {
  invrg_err err = INVRG_SUCCESS;
  hid_t dset = -1, type = -1;
  INVRG_H5_CALL(dset = H5Dopen2(state, name, H5P_DEFAULT), name);
  INVRG_H5_CALL(type = H5Dget_type(dset), name);
  const bool integers = H5Tget_class(type) == H5T_INTEGER;
  if (!integers)
    err = invrg_checkpoint_damaged(cfg, path, "/checkpoint/%s/%s holds numbers that are not "
                                   "integers", stage, name);
  else if (int8_only && (H5Tget_size(type) != 1 || H5Tget_sign(type) != H5T_SGN_2))
    err = invrg_checkpoint_damaged(cfg, path, "/checkpoint/%s/%s holds %zu-byte %s integers, "
                                   "not the spins' signed bytes", stage, name, H5Tget_size(type),
                                   H5Tget_sign(type) == H5T_SGN_2 ? "signed" : "unsigned");
cleanup:
  invrg_h5_close(&type);
  invrg_h5_close(&dset);
  return err;
}

invrg_err invrg_checkpoint_read_counters(hid_t state, const char *stage, const char *name,
                                         int64_t n, int64_t *values, const invrg_config *cfg,
                                         const char *path) {
  invrg_err err = INVRG_SUCCESS;
  const hsize_t dims[1] = {(hsize_t)n};
  INVRG_CALL(invrg_checkpoint_check_shape(state, stage, name, 1, dims, cfg, path));
  INVRG_CALL(invrg_checkpoint_check_integers(state, stage, name, false, cfg, path));
  INVRG_CALL(invrg_h5_read_int64(state, name, values, (size_t)n));
cleanup:
  return err;
}

/* ------------------------------------------------------------------ stage dream */

const char *const invrg_dream_pairs_names[INVRG_DREAM_N_PAIRS] = {"up", "down", "blocked"};

/* The correlations of dreams keep the whole S(k) map (with the functions) up to this size. */
enum { DREAM_CORR_MAP_MAX_L = 64 };

invrg_dream_state_sizes invrg_dream_state_sizes_of(const invrg_config *cfg) {
  const invrg_config_dream *d = &cfg->dream;
  const invrg_config_analyze *a = &cfg->analyze;
  const int n_meas = (int)(d->levels - d->measure_from + 1);
  const int blocks = invrg_config_jackknife_blocks(cfg, d->n_samples);
  const size_t rec = (size_t)n_meas * INVRG_N_PRIMARY;
  const int blocked = (int)(a->mcrg_levels < d->levels ? a->mcrg_levels : d->levels);
  return (invrg_dream_state_sizes){
      .n_samples = d->n_samples, .n_meas = n_meas, .window = invrg_reducer_window((int)rec),
      .blocks = blocks, .rec = rec, .n_means = (size_t)n_meas * (size_t)blocks * INVRG_N_PRIMARY,
      .acc_blocks = blocks < 2 ? 2 : blocks,
      .pair_levels = {(int)d->levels, (int)d->levels, blocked},
      .correlations = a->correlations,
      .corr = {invrg_corr_blocks(blocks), DREAM_CORR_MAP_MAX_L, a->correlation_functions,
               a->correlation_precision_kind}};
}

/* The window {first, count}: first a window's start before n_samples, count the samples from
 * there to the end of its window (or of the samples). */
static invrg_err check_dream_window(hid_t state, const invrg_dream_state_sizes *s,
                                    const invrg_config *cfg, const char *path,
                                    int64_t window[2]) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CALL(invrg_checkpoint_read_counters(state, "dream", "window", 2, window, cfg, path));
  const int64_t first = window[0], left = s->n_samples - first;
  const int64_t count = left < s->window ? left : s->window;
  if (first < 0 || first >= s->n_samples || first % s->window != 0)
    err = invrg_checkpoint_damaged(cfg, path, "/checkpoint/dream/window starts at sample %lld, "
                                   "which is not the start of a window of %lld samples within "
                                   "n_samples = %lld", (long long)first, (long long)s->window,
                                   (long long)s->n_samples);
  else if (window[1] != count)
    err = invrg_checkpoint_damaged(cfg, path, "/checkpoint/dream/window holds %lld samples from "
                                   "sample %lld, but the input makes it %lld", (long long)window[1],
                                   (long long)first, (long long)count);
cleanup:
  return err;
}

/* The done flags of the window's samples: 1 dreamed, 0 not yet. */
static invrg_err check_dream_done(hid_t state, int64_t count, const invrg_config *cfg,
                                  const char *path) {
  invrg_err err = INVRG_SUCCESS;
  int64_t *done = malloc((size_t)count * sizeof *done);
  INVRG_CHECK_ALLOC(done);
  INVRG_CALL(invrg_checkpoint_read_counters(state, "dream", "done", count, done, cfg, path));
  for (int64_t t = 0; t < count && err == INVRG_SUCCESS; t++)
    if (done[t] != 0 && done[t] != 1)
      err = invrg_checkpoint_damaged(cfg, path, "/checkpoint/dream/done holds %lld for sample "
                                     "%lld of the window, which is no flag (0 or 1)",
                                     (long long)done[t], (long long)t);
cleanup:
  free(done);
  return err;
}

/* The MCRG pairs' sums: as many numbers as their accumulators hold. */
static invrg_err check_pair_sums(hid_t state, const invrg_dream_state_sizes *s,
                                 const invrg_config *cfg, const char *path) {
  invrg_err err = INVRG_SUCCESS;
  for (int p = 0; p < INVRG_DREAM_N_PAIRS; p++) {
    char name[64];
    size_t length = 0;
    const invrg_mcrg_params mp = invrg_mcrg_params_of(cfg, s->pair_levels[p], s->acc_blocks);
    INVRG_CALL(invrg_mcrg_params_state_length(&mp, &length));
    const hsize_t n[1] = {length};
    snprintf(name, sizeof name, "%s_sums", invrg_dream_pairs_names[p]);
    INVRG_CALL(invrg_checkpoint_check_shape(state, "dream", name, 1, n, cfg, path));
  }
cleanup:
  return err;
}

/* The correlations' sums: corr_sizes {count, sizes…} lists every measured size (the stage
 * prepares them all before the first sample), and each corr_L<L> holds as many numbers as
 * the accumulator's size L. */
static invrg_err check_corr_sums(hid_t state, const invrg_dream_state_sizes *s,
                                 const invrg_config *cfg, const char *path) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t from = cfg->dream.measure_from, n_meas = s->n_meas;
  int64_t sizes[INVRG_MAX_LEVELS + 2];
  INVRG_CALL(invrg_checkpoint_read_counters(state, "dream", "corr_sizes", n_meas + 1, sizes, cfg,
                                            path));
  for (int64_t i = 0; i <= n_meas && err == INVRG_SUCCESS; i++) {
    const int64_t want = i == 0 ? n_meas : (int64_t)1 << (from + i - 1);
    if (sizes[i] != want)
      err = invrg_checkpoint_damaged(cfg, path, "/checkpoint/dream/corr_sizes holds %lld at index "
                                     "%lld, but the measured sizes make it %lld",
                                     (long long)sizes[i], (long long)i, (long long)want);
  }
  for (int64_t i = 1; i <= n_meas && err == INVRG_SUCCESS; i++) {
    char name[64];
    const hsize_t n[1] = {invrg_corr_params_state_length(&s->corr, sizes[i])};
    snprintf(name, sizeof name, "corr_L%lld", (long long)sizes[i]);
    err = invrg_checkpoint_check_shape(state, "dream", name, 1, n, cfg, path);
  }
cleanup:
  return err;
}

invrg_err invrg_dream_checkpoint_check(hid_t state, const invrg_config *cfg, const char *path) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_dream_state_sizes s = invrg_dream_state_sizes_of(cfg);
  int64_t window[2] = {0, 0};
  INVRG_CALL(check_dream_window(state, &s, cfg, path, window));
  INVRG_CALL(check_dream_done(state, window[1], cfg, path));
  const hsize_t pdims[2] = {(hsize_t)window[1], s.rec}, mdims[1] = {s.n_means};
  INVRG_CALL(invrg_checkpoint_check_shape(state, "dream", "primaries", 2, pdims, cfg, path));
  INVRG_CALL(invrg_checkpoint_check_shape(state, "dream", "block_means", 1, mdims, cfg, path));
  INVRG_CALL(check_pair_sums(state, &s, cfg, path));
  if (s.correlations) INVRG_CALL(check_corr_sums(state, &s, cfg, path));
cleanup:
  return err;
}

/* ------------------------------------------------------------------ stage train */

/* Each replica's epochs done: −1 (not started) … epochs. */
static invrg_err check_train_epochs(hid_t state, const invrg_config *cfg, const char *path) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t R = cfg->train.n_replicas, E = cfg->train.epochs;
  int64_t *done = malloc((size_t)R * sizeof *done);
  INVRG_CHECK_ALLOC(done);
  INVRG_CALL(invrg_checkpoint_read_counters(state, "train", "epochs_done", R, done, cfg, path));
  for (int64_t r = 0; r < R && err == INVRG_SUCCESS; r++)
    if (done[r] < -1 || done[r] > E)
      err = invrg_checkpoint_damaged(cfg, path, "/checkpoint/train/epochs_done holds %lld epochs "
                                     "for replica %lld, outside -1 (not started) … epochs = "
                                     "%lld", (long long)done[r], (long long)r, (long long)E);
cleanup:
  free(done);
  return err;
}

invrg_err invrg_train_checkpoint_check(hid_t state, const invrg_config *cfg, const char *path) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config_train *t = &cfg->train;
  invrg_model *m = NULL;
  H5G_info_t info;
  INVRG_H5_CALL(H5Gget_info(state, &info), "/checkpoint/train");
  if (info.nlinks == 0) goto cleanup; /* the exact fit's: it holds no state */
  INVRG_CALL(check_train_epochs(state, cfg, path));
  INVRG_CALL(invrg_model_create(t->model_kind, (int)t->conv_kernel, (int)t->conv_channels, &m));
  const hsize_t R = (hsize_t)t->n_replicas;
  const hsize_t rdims[2] = {R, invrg_train_replica_row_length(m->n_params, t->epochs)},
                mdims[2] = {R, invrg_train_moments_length(m->n_params)};
  INVRG_CALL(invrg_checkpoint_check_shape(state, "train", "rows", 2, rdims, cfg, path));
  INVRG_CALL(invrg_checkpoint_check_shape(state, "train", "moments", 2, mdims, cfg, path));
cleanup:
  invrg_model_destroy(&m);
  return err;
}
