/* The checkpoint state of stage dream (dream_checkpoint.h). */
#include "invrg/dream_checkpoint.h"

#include <stdio.h>
#include <stdlib.h>

#include "invrg/checkpoint_check.h"
#include "invrg/corr_io.h"
#include "invrg/h5util.h"
#include "invrg/mcrg_io.h"
#include "invrg/reducer.h"

invrg_err invrg_dream_state_save(invrg_dream_state *w, invrg_ckpt_decision decision) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_groups *g = w->run->groups;
  const int64_t n = w->count, n_mine = invrg_reducer_range_count(g, w->first, w->count);
  hid_t state = -1, d_prim = -1;
  int64_t *done = calloc((size_t)n, sizeof *done), window[2] = {w->first, w->count};
  INVRG_CHECK_ALLOC(done);
  for (int64_t k = 0; k < n_mine; k++)
    done[invrg_reducer_range_item(g, w->first, k) - w->first] = w->done[k];
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, done, (int)n, MPI_INT64_T, MPI_MAX, g->world));
  INVRG_CALL(invrg_checkpoint_begin(w->run->ckpt, &state));
  INVRG_CALL(invrg_h5_write_int64(state, "window", window, 2, g->world_rank == 0));
  INVRG_CALL(invrg_h5_write_int64(state, "done", done, (size_t)n, g->world_rank == 0));
  hsize_t dims[2] = {(hsize_t)n, (hsize_t)w->rec}, mdims[1] = {(hsize_t)w->n_means};
  INVRG_CALL(invrg_h5_dataset_doubles(state, "block_means", 1, mdims, w->block_means,
                                      g->world_rank == 0));
  INVRG_CALL(invrg_h5_create_dataset(state, "primaries", H5T_IEEE_F64LE, 2, dims, &d_prim));
  for (int64_t k = 0; k < n_mine && g->rank == 0; k++)
    if (w->done[k])
      INVRG_CALL(invrg_h5_write_rows(d_prim, H5T_NATIVE_DOUBLE,
                                     (hsize_t)(invrg_reducer_range_item(g, w->first, k) - w->first),
                                     1, w->mine + (size_t)k * w->rec));
  invrg_h5_close(&d_prim);
  for (int p = 0; p < INVRG_DREAM_N_PAIRS; p++)
    INVRG_CALL(invrg_mcrg_save(w->acc[p], state, invrg_dream_pairs_names[p], g->world));
  if (w->corr != NULL) INVRG_CALL(invrg_corr_save(w->corr, state, "corr", g->world));
  INVRG_CALL(invrg_checkpoint_end(w->run->ckpt, &state, decision)); /* INVRG_STOPPED: stop now */
cleanup:
  invrg_h5_close(&d_prim);
  invrg_h5_close(&state);
  free(done);
  return err;
}

invrg_err invrg_dream_state_restore(invrg_dream_state *w, hid_t state, int64_t window_size) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_groups *g = w->run->groups;
  hid_t d_prim = -1;
  int64_t window[2], *done = NULL;
  INVRG_CALL(invrg_h5_read_int64(state, "window", window, 2));
  INVRG_CHECK(window[0] >= 0 && window[0] % window_size == 0 && window[1] >= 1 &&
                  window[1] <= window_size,
              INVRG_ERR_RUNTIME, "checkpoint: dream window %lld + %lld does not fit windows of %lld",
              (long long)window[0], (long long)window[1], (long long)window_size);
  w->first = window[0], w->count = window[1];
  const int64_t n = w->count, n_mine = invrg_reducer_range_count(g, w->first, w->count);
  done = calloc((size_t)n, sizeof *done);
  INVRG_CHECK_ALLOC(done);
  INVRG_CALL(invrg_h5_read_int64(state, "done", done, (size_t)n));
  const hsize_t dims[2] = {(hsize_t)n, (hsize_t)w->rec}, mdims[1] = {(hsize_t)w->n_means};
  INVRG_CALL(invrg_h5_open_dataset(state, "block_means", 1, mdims, &d_prim));
  INVRG_CALL(invrg_h5_read_rows(d_prim, H5T_NATIVE_DOUBLE, 0, w->n_means, w->block_means));
  invrg_h5_close(&d_prim);
  INVRG_CALL(invrg_h5_open_dataset(state, "primaries", 2, dims, &d_prim));
  for (int64_t k = 0; k < n_mine; k++) {
    const int64_t t = invrg_reducer_range_item(g, w->first, k) - w->first;
    w->done[k] = done[t];
    if (done[t])
      INVRG_CALL(invrg_h5_read_rows(d_prim, H5T_NATIVE_DOUBLE, (hsize_t)t, 1,
                                    w->mine + (size_t)k * w->rec));
  }
  for (int p = 0; p < INVRG_DREAM_N_PAIRS; p++) INVRG_CALL(invrg_mcrg_load(w->acc[p], state, invrg_dream_pairs_names[p]));
  if (w->corr != NULL) INVRG_CALL(invrg_corr_load(w->corr, state, "corr"));
cleanup:
  invrg_h5_close(&d_prim);
  free(done);
  return err;
}

