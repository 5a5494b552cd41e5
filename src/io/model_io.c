/* Models as HDF5 groups: kind, kernel, channels, parameter names and values. */
#include "invrg/model_io.h"

#include <stdlib.h>
#include <string.h>

#include "invrg/fileutil.h"
#include "invrg/h5util.h"
#include "invrg/runfile.h"

invrg_err invrg_model_write(hid_t loc, const char *path, const invrg_model *m) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1, dset = -1;
  char **names = calloc((size_t)m->n_params, sizeof *names);
  INVRG_CHECK_ALLOC(names);
  for (int i = 0; i < m->n_params; i++) {
    names[i] = malloc(64);
    INVRG_CHECK_ALLOC(names[i]);
    invrg_model_param_name(m, i, names[i], 64);
  }
  int64_t kernel = m->kernel, channels = m->channels;
  hsize_t n = (hsize_t)m->n_params;
  INVRG_CALL(invrg_h5_create_group_large_attrs(loc, path, &g)); /* param_names */
  INVRG_CALL(invrg_h5_attr_string(g, "kind", invrg_model_kind_name(m->kind)));
  INVRG_CALL(invrg_h5_attr_int64(g, "kernel", &kernel, 1, true));
  INVRG_CALL(invrg_h5_attr_int64(g, "channels", &channels, 1, true));
  INVRG_CALL(invrg_h5_attr_strings(g, "param_names", (const char *const *)names, m->n_params));
  INVRG_CALL(invrg_h5_create_dataset(g, "params", H5T_IEEE_F64LE, 1, &n, &dset));
  INVRG_H5_CALL(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, m->params),
                "write params");
cleanup:
  if (names != NULL)
    for (int i = 0; i < m->n_params; i++) free(names[i]);
  free(names);
  invrg_h5_close(&dset);
  invrg_h5_close(&g);
  return err;
}

/* A scalar attribute as int64 (any integer type on disk). */
static invrg_err read_int_attr(hid_t g, const char *name, const char *file, int64_t *out) {
  invrg_err err = INVRG_SUCCESS;
  hid_t a = -1;
  INVRG_CHECK(H5Aexists(g, name) > 0, INVRG_ERR_INPUT, "%s: model has no attribute '%s'", file,
              name);
  INVRG_H5_CALL(a = H5Aopen(g, name, H5P_DEFAULT), name);
  INVRG_H5_CALL(H5Aread(a, H5T_NATIVE_INT64, out), name);
cleanup:
  invrg_h5_close(&a);
  return err;
}

invrg_err invrg_model_read(const char *file_name, const char *path, invrg_model **out) {
  invrg_err err = INVRG_SUCCESS;
  const char *unreadable = invrg_file_unreadable(file_name);
  hid_t file = -1;
  *out = NULL;
  INVRG_CHECK(unreadable == NULL, INVRG_ERR_INPUT, "model file '%s' %s", file_name, unreadable);
  file = H5Fopen(file_name, H5F_ACC_RDONLY, H5P_DEFAULT);
  INVRG_CHECK(file >= 0, INVRG_ERR_INPUT, "cannot open model file '%s' (not an HDF5 file)",
              file_name);
  INVRG_CALL(invrg_h5_check_format(file, file_name, INVRG_FORMAT_VERSION_MAJOR));
  INVRG_CALL(invrg_model_read_open(file, file_name, path, out));
cleanup:
  invrg_h5_close(&file);
  return err;
}

invrg_err invrg_model_read_open(hid_t file, const char *file_name, const char *path,
                                invrg_model **out) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1, a = -1, type = -1, dset = -1, space = -1;
  char kind[16] = "";
  int64_t kernel = 0, channels = 0;
  *out = NULL;
  INVRG_CHECK(H5Lexists(file, path, H5P_DEFAULT) > 0, INVRG_ERR_INPUT,
              "model file '%s' has no group '%s'", file_name, path);
  INVRG_H5_CALL(g = H5Gopen2(file, path, H5P_DEFAULT), path);
  INVRG_CHECK(H5Aexists(g, "kind") > 0, INVRG_ERR_INPUT, "%s: %s has no attribute 'kind'",
              file_name, path);
  INVRG_H5_CALL(a = H5Aopen(g, "kind", H5P_DEFAULT), "kind");
  INVRG_H5_CALL(type = H5Aget_type(a), "kind type");
  INVRG_CHECK(H5Tget_class(type) == H5T_STRING, INVRG_ERR_INPUT, "%s: 'kind' is not a string",
              file_name);
  if (H5Tis_variable_str(type) > 0) {
    char *value = NULL;
    INVRG_H5_CALL(H5Aread(a, type, &value), "kind");
    snprintf(kind, sizeof kind, "%s", value ? value : "");
    H5free_memory(value);
  } else {
    size_t len = H5Tget_size(type);
    char *value = calloc(len + 1, 1);
    INVRG_CHECK_ALLOC(value);
    herr_t rc = H5Aread(a, type, value);
    snprintf(kind, sizeof kind, "%s", value);
    free(value);
    INVRG_H5_CALL(rc, "kind");
  }
  INVRG_CALL(read_int_attr(g, "kernel", file_name, &kernel));
  INVRG_CALL(read_int_attr(g, "channels", file_name, &channels));
  int kind_value = -1; /* a file's kind is a name: the model's enum from here on */
  INVRG_CHECK(invrg_choice_find(invrg_model_kind_names, kind, &kind_value), INVRG_ERR_INPUT,
              "%s: unknown model '%s' (sym3, sym5, sym7 or conv)", file_name, kind);
  err = invrg_model_create((invrg_model_kind)kind_value, (int)kernel, (int)channels, out);
  if (err != INVRG_SUCCESS) {
    char why[512]; /* a copy: invrg_error_set() overwrites the message it would read */
    snprintf(why, sizeof why, "%s", invrg_error_message());
    err = invrg_error_set(INVRG_ERR_INPUT, __FILE__, __LINE__, "%s: %s", file_name, why);
    goto cleanup;
  }
  INVRG_CHECK(H5Lexists(g, "params", H5P_DEFAULT) > 0, INVRG_ERR_INPUT,
              "%s: model has no dataset 'params'", file_name);
  INVRG_H5_CALL(dset = H5Dopen2(g, "params", H5P_DEFAULT), "params");
  INVRG_H5_CALL(space = H5Dget_space(dset), "params shape");
  hssize_t n = H5Sget_simple_extent_npoints(space);
  INVRG_CHECK(H5Sget_simple_extent_ndims(space) == 1 && n == (*out)->n_params, INVRG_ERR_INPUT,
              "%s: a %s model (kernel %lld, channels %lld) has %d parameters, the file holds %lld",
              file_name, kind, (long long)kernel, (long long)channels, (*out)->n_params,
              (long long)n);
  INVRG_H5_CALL(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, (*out)->params),
                "read params");
cleanup:
  if (err != INVRG_SUCCESS) invrg_model_destroy(out);
  invrg_h5_close(&space);
  invrg_h5_close(&dset);
  invrg_h5_close(&type);
  invrg_h5_close(&a);
  invrg_h5_close(&g);
  return err;
}
