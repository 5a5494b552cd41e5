/* /train of the run file (train_io.h). */
#include "invrg/train_io.h"

#include <mpi.h>

#include "invrg/h5util.h"
#include "invrg/model_io.h"

invrg_err invrg_train_write(hid_t file, const invrg_train_output *r, hid_t *group) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1, d_params = -1, d_train = -1, d_val = -1;
  const invrg_model *kept = r->kept;
  const int np = kept->n_params;
  int64_t kernel = kept->kernel, channels = kept->channels;
  INVRG_CALL(invrg_h5_create_group_large_attrs(file, "train", &g)); /* selected_params */
  INVRG_CALL(invrg_h5_attr_string(g, "model", invrg_model_kind_name(kept->kind)));
  INVRG_CALL(invrg_h5_attr_int64(g, "kernel", &kernel, 1, true));
  INVRG_CALL(invrg_h5_attr_int64(g, "channels", &channels, 1, true));
  INVRG_CALL(invrg_h5_attr_int64(g, "L", &r->L, 1, true));
  INVRG_CALL(invrg_h5_attr_int64(g, "n_train", &r->n_train, 1, true));
  INVRG_CALL(invrg_h5_attr_int64(g, "n_validation", &r->n_validation, 1, true));
  INVRG_CALL(invrg_h5_attr_string(g, "selection", r->selection));
  INVRG_CALL(invrg_h5_attr_int64(g, "best_replica", &r->best, 1, true));
  INVRG_CALL(invrg_h5_attr_double(g, "selected_params", kept->params, np, false));
  const hsize_t R = (hsize_t)r->n_replicas;
  hsize_t dp[2] = {R, (hsize_t)np}, dl[2] = {R, (hsize_t)r->epochs};
  INVRG_CALL(invrg_h5_create_dataset(g, "params", H5T_IEEE_F64LE, 2, dp, &d_params));
  INVRG_CALL(invrg_h5_create_dataset(g, "train_loss", H5T_IEEE_F64LE, 2, dl, &d_train));
  INVRG_CALL(invrg_h5_create_dataset(g, "val_loss", H5T_IEEE_F64LE, 2, dl, &d_val));
  int rank;
  INVRG_MPI_CALL(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  if (rank == 0) {
    INVRG_CALL(invrg_h5_write_rows(d_params, H5T_NATIVE_DOUBLE, 0, R, r->params));
    INVRG_CALL(invrg_h5_write_rows(d_train, H5T_NATIVE_DOUBLE, 0, R, r->train_loss));
    INVRG_CALL(invrg_h5_write_rows(d_val, H5T_NATIVE_DOUBLE, 0, R, r->val_loss));
  }
  INVRG_CALL(invrg_model_write(file, "model", kept));
  *group = g;
  g = -1;
cleanup:
  invrg_h5_close(&d_val);
  invrg_h5_close(&d_train);
  invrg_h5_close(&d_params);
  invrg_h5_close(&g);
  return err;
}
