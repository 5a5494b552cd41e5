/* Finite-size scaling in HDF5: the fits of one source into the run file (fss_io.h). */
#include "invrg/fss_io.h"

#include <stdbool.h>
#include <stdio.h>

#include "invrg/h5util.h"

static const char *const conventions =
    "weighted least squares y = a + b x, weights 1/y_err^2 (unweighted if an error is 0), "
    "y_err and parameter errors by delete-one jackknife with block b removed at every size "
    "together; chi2_dof ignores correlations between sizes, chi2_dof_correlated uses their "
    "jackknife covariance; deviation = (result - exact)/result_err; exact values: docs/physics.md section 2";

/* A 1D dataset of @p n doubles (n ≥ 1 when a fit is written). Collective. */
static invrg_err write_vector(hid_t loc, const char *name, int n, const double *data, bool writer) {
  const hsize_t dims[1] = {(hsize_t)n};
  return invrg_h5_dataset_doubles(loc, name, 1, dims, data, writer);
}

static invrg_err write_int64s(hid_t loc, const char *name, hsize_t n, const int64_t *data,
                              bool writer) {
  invrg_err err = INVRG_SUCCESS;
  hid_t dset = -1;
  INVRG_CALL(invrg_h5_create_dataset(loc, name, H5T_STD_I64LE, 1, &n, &dset));
  if (writer && n > 0) INVRG_CALL(invrg_h5_write_rows(dset, H5T_NATIVE_INT64, 0, n, data));
cleanup:
  invrg_h5_close(&dset);
  return err;
}

static invrg_err write_fit(hid_t top, const invrg_fss_fit *f, bool writer) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1;
  INVRG_CALL(invrg_h5_create_group(top, f->name, &g));
  INVRG_CALL(invrg_h5_attr_string(g, "label", f->label));
  INVRG_CALL(invrg_h5_attr_string(g, "model", f->model));
  INVRG_CALL(invrg_h5_attr_string(g, "quantity", invrg_fss_quantity_names[f->quantity]));
  INVRG_CALL(invrg_h5_attr_string(g, "result_is", f->result_is));
  const int64_t ints[3] = {f->L_min, f->L_max, f->n_points};
  INVRG_CALL(invrg_h5_attr_int64(g, "L_min", &ints[0], 1, true));
  INVRG_CALL(invrg_h5_attr_int64(g, "L_max", &ints[1], 1, true));
  INVRG_CALL(invrg_h5_attr_int64(g, "n_points", &ints[2], 1, true));
  const char *names[] = {"a",        "a_err",
                         "b",        "b_err",
                         "result",   "result_err",
                         "exact",    "deviation_sigma",
                         "chi2_dof", "chi2_dof_correlated"};
  const double values[] = {
      f->a,          f->a_err, f->b,         f->b_err,    f->result,
      f->result_err, f->exact, f->deviation, f->chi2_dof, f->chi2_dof_correlated};
  for (size_t k = 0; k < sizeof values / sizeof values[0]; k++)
    INVRG_CALL(invrg_h5_attr_double(g, names[k], &values[k], 1, true));
  INVRG_CALL(write_int64s(g, "L", (hsize_t)f->n_data, f->L, writer));
  INVRG_CALL(write_vector(g, "y", f->n_data, f->y, writer));
  INVRG_CALL(write_vector(g, "y_err", f->n_data, f->y_err, writer));
  INVRG_CALL(write_int64s(g, "scan_L_min", (hsize_t)f->n_scan, f->scan_L_min, writer));
  INVRG_CALL(write_vector(g, "scan_result", f->n_scan, f->scan_result, writer));
  INVRG_CALL(write_vector(g, "scan_result_err", f->n_scan, f->scan_result_err, writer));
  INVRG_CALL(write_vector(g, "scan_chi2_dof", f->n_scan, f->scan_chi2_dof, writer));
cleanup:
  invrg_h5_close(&g);
  return err;
}

invrg_err invrg_fss_write(const invrg_fss_results *r, hid_t loc, const char *source,
                          MPI_Comm comm) {
  invrg_err err = INVRG_SUCCESS;
  hid_t top = -1;
  int rank;
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  char path[512];
  snprintf(path, sizeof path, "fss/%s", source);
  INVRG_CALL(invrg_h5_create_group(loc, path, &top));
  INVRG_CALL(invrg_h5_attr_int64(top, "sizes", r->L, r->n_sizes > 0 ? r->n_sizes : 0, false));
  const int64_t ints[3] = {r->params.L_min, r->params.L_max, r->n_blocks};
  INVRG_CALL(invrg_h5_attr_int64(top, "L_min", &ints[0], 1, true));
  INVRG_CALL(invrg_h5_attr_int64(top, "L_max", &ints[1], 1, true));
  INVRG_CALL(invrg_h5_attr_int64(top, "jackknife_blocks", &ints[2], 1, true));
  INVRG_CALL(invrg_h5_attr_string(top, "conventions", conventions));
  for (int k = 0; k < r->n_fits; k++)
    if (r->fit[k].n_points > 0) INVRG_CALL(write_fit(top, &r->fit[k], rank == 0));
cleanup:
  invrg_h5_close(&top);
  return err;
}

