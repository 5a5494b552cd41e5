/* HDF5 helpers: attributes of every type we store, groups, and readable errors. */
#include "invrg/h5util.h"

#include "invrg/fileutil.h"
#include "invrg/watchdog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void invrg_h5_init(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

typedef struct {
  char *buf;
  size_t buflen;
} h5_walk_state;

/* Called innermost first by H5E_WALK_UPWARD: keep the first (deepest) description. */
static herr_t keep_innermost(unsigned n, const H5E_error2_t *e, void *data) {
  h5_walk_state *st = data;
  if (n == 0 && e->desc != NULL) snprintf(st->buf, st->buflen, "%s (in %s)", e->desc, e->func_name);
  return 0;
}

void invrg_h5_library_version(char *buf, size_t buflen) {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  snprintf(buf, buflen, "%u.%u.%u", major, minor, release);
}

const char *invrg_h5_error_string(char *buf, size_t buflen) {
  snprintf(buf, buflen, "unknown HDF5 error");
  h5_walk_state st = {buf, buflen};
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, &st);
  H5Eclear2(H5E_DEFAULT);
  return buf;
}

void invrg_h5_close(hid_t *id) {
  if (*id < 0) return;
  switch (H5Iget_type(*id)) {
    case H5I_FILE: H5Fclose(*id); break;
    case H5I_GROUP: H5Gclose(*id); break;
    case H5I_DATASET: H5Dclose(*id); break;
    case H5I_DATASPACE: H5Sclose(*id); break;
    case H5I_DATATYPE: H5Tclose(*id); break;
    case H5I_ATTR: H5Aclose(*id); break;
    case H5I_GENPROP_LST: H5Pclose(*id); break;
    default: break;
  }
  *id = -1;
}

/* True if every link of the relative path "a/b/c" exists under @p loc. */
static bool path_exists(hid_t loc, const char *path) {
  char prefix[1024];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof prefix) return false;
  for (size_t i = path[0] == '/'; i <= n; i++) { /* an absolute path's root always exists */
    if (path[i] != '/' && path[i] != '\0') continue;
    memcpy(prefix, path, i);
    prefix[i] = '\0';
    if (H5Lexists(loc, prefix, H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

static invrg_err create_group(hid_t loc, const char *path, bool dense_attrs, hid_t *out) {
  invrg_err err = INVRG_SUCCESS;
  hid_t lcpl = -1, gcpl = H5P_DEFAULT;
  *out = -1;
  if (path_exists(loc, path)) { /* a resumed run finds it from before the checkpoint */
    *out = H5Gopen2(loc, path, H5P_DEFAULT);
    INVRG_H5_CALL(*out, path);
    goto cleanup;
  }
  INVRG_H5_CALL(lcpl = H5Pcreate(H5P_LINK_CREATE), "H5Pcreate");
  INVRG_H5_CALL(H5Pset_create_intermediate_group(lcpl, 1), "H5Pset_create_intermediate_group");
  if (dense_attrs) {
    /* Tracking the attributes' creation order needs the 1.8 object header, which may move an
     * attribute too large for the header into the group's fractal heap (dense storage): with
     * the default lower bound of the file format, only so (phase-change settings alone are
     * ignored by the old header). */
    INVRG_H5_CALL(gcpl = H5Pcreate(H5P_GROUP_CREATE), "H5Pcreate");
    INVRG_H5_CALL(H5Pset_attr_creation_order(gcpl, H5P_CRT_ORDER_TRACKED),
                  "H5Pset_attr_creation_order");
  }
  *out = H5Gcreate2(loc, path, lcpl, gcpl, H5P_DEFAULT);
  INVRG_H5_CALL(*out, path);
cleanup:
  if (gcpl != H5P_DEFAULT) invrg_h5_close(&gcpl);
  invrg_h5_close(&lcpl);
  return err;
}

invrg_err invrg_h5_create_group(hid_t loc, const char *path, hid_t *out) {
  return create_group(loc, path, false, out);
}

invrg_err invrg_h5_create_group_large_attrs(hid_t loc, const char *path, hid_t *out) {
  return create_group(loc, path, true, out);
}

static hid_t make_space(int n, bool as_scalar) {
  if (as_scalar && n == 1) return H5Screate(H5S_SCALAR);
  hsize_t dims[1] = {(hsize_t)n};
  return H5Screate_simple(1, dims, NULL);
}

/* Writes one attribute of @p type from @p data; the common path of every attribute helper. */
static invrg_err write_attr(hid_t loc, const char *name, hid_t type, hid_t space, const void *data) {
  invrg_err err = INVRG_SUCCESS;
  hid_t attr = -1;
  if (H5Aexists(loc, name) > 0) /* written before a checkpoint: replace it */
    INVRG_H5_CALL(H5Adelete(loc, name), name);
  INVRG_H5_CALL(attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT), name);
  INVRG_H5_CALL(H5Awrite(attr, type, data), name);
cleanup:
  invrg_h5_close(&attr);
  return err;
}

static hid_t utf8_string_type(void) {
  hid_t t = H5Tcopy(H5T_C_S1);
  if (t < 0) return t;
  if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
    H5Tclose(t);
    return -1;
  }
  return t;
}

invrg_err invrg_h5_attr_strings(hid_t loc, const char *name, const char *const *values, int n) {
  invrg_err err = INVRG_SUCCESS;
  hid_t type = -1, space = -1;
  INVRG_H5_CALL(type = utf8_string_type(), "string type");
  INVRG_H5_CALL(space = make_space(n, false), "dataspace");
  INVRG_CALL(write_attr(loc, name, type, space, values));
cleanup:
  invrg_h5_close(&space);
  invrg_h5_close(&type);
  return err;
}

invrg_err invrg_h5_attr_string(hid_t loc, const char *name, const char *value) {
  invrg_err err = INVRG_SUCCESS;
  hid_t type = -1, space = -1;
  INVRG_H5_CALL(type = utf8_string_type(), "string type");
  INVRG_H5_CALL(space = H5Screate(H5S_SCALAR), "dataspace");
  INVRG_CALL(write_attr(loc, name, type, space, &value));
cleanup:
  invrg_h5_close(&space);
  invrg_h5_close(&type);
  return err;
}

invrg_err invrg_h5_attr_int64(hid_t loc, const char *name, const int64_t *values, int n,
                              bool as_scalar) {
  invrg_err err = INVRG_SUCCESS;
  hid_t space = -1;
  INVRG_H5_CALL(space = make_space(n, as_scalar), "dataspace");
  INVRG_CALL(write_attr(loc, name, H5T_NATIVE_INT64, space, values));
cleanup:
  invrg_h5_close(&space);
  return err;
}

invrg_err invrg_h5_attr_int64_matrix(hid_t loc, const char *name, const int64_t *values, int rows,
                                     int cols) {
  invrg_err err = INVRG_SUCCESS;
  hid_t space = -1;
  const hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  INVRG_H5_CALL(space = H5Screate_simple(2, dims, NULL), "dataspace");
  INVRG_CALL(write_attr(loc, name, H5T_NATIVE_INT64, space, values));
cleanup:
  invrg_h5_close(&space);
  return err;
}

invrg_err invrg_h5_attr_double(hid_t loc, const char *name, const double *values, int n,
                               bool as_scalar) {
  invrg_err err = INVRG_SUCCESS;
  hid_t space = -1;
  INVRG_H5_CALL(space = make_space(n, as_scalar), "dataspace");
  INVRG_CALL(write_attr(loc, name, H5T_NATIVE_DOUBLE, space, values));
cleanup:
  invrg_h5_close(&space);
  return err;
}

invrg_err invrg_h5_attr_bool(hid_t loc, const char *name, const bool *values, int n,
                             bool as_scalar) {
  invrg_err err = INVRG_SUCCESS;
  hid_t type = -1, space = -1;
  int8_t *bytes = malloc((size_t)(n > 0 ? n : 1));
  INVRG_CHECK_ALLOC(bytes);
  for (int i = 0; i < n; i++) bytes[i] = values[i] ? 1 : 0;
  INVRG_H5_CALL(type = H5Tenum_create(H5T_NATIVE_INT8), "H5Tenum_create");
  int8_t no = 0, yes = 1;
  INVRG_H5_CALL(H5Tenum_insert(type, "FALSE", &no), "H5Tenum_insert");
  INVRG_H5_CALL(H5Tenum_insert(type, "TRUE", &yes), "H5Tenum_insert");
  INVRG_H5_CALL(space = make_space(n, as_scalar), "dataspace");
  INVRG_CALL(write_attr(loc, name, type, space, bytes));
cleanup:
  invrg_h5_close(&space);
  invrg_h5_close(&type);
  free(bytes);
  return err;
}

invrg_err invrg_h5_dataset_string(hid_t loc, const char *name, const char *value) {
  invrg_err err = INVRG_SUCCESS;
  hid_t type = -1, space = -1, dset = -1;
  /* Fixed length (the text's own), not variable length: parallel HDF5 writes
   * fixed-size raw data from every rank, and every rank holds the same text. */
  INVRG_H5_CALL(type = H5Tcopy(H5T_C_S1), "H5Tcopy");
  INVRG_H5_CALL(H5Tset_size(type, strlen(value) + 1), "H5Tset_size");
  INVRG_H5_CALL(H5Tset_cset(type, H5T_CSET_UTF8), "H5Tset_cset");
  INVRG_H5_CALL(space = H5Screate(H5S_SCALAR), "dataspace");
  if (H5Lexists(loc, name, H5P_DEFAULT) > 0) INVRG_H5_CALL(H5Ldelete(loc, name, H5P_DEFAULT), name);
  INVRG_H5_CALL(dset = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                name);
  INVRG_H5_CALL(H5Dwrite(dset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, value), name);
cleanup:
  invrg_h5_close(&dset);
  invrg_h5_close(&space);
  invrg_h5_close(&type);
  return err;
}

static invrg_err open_same_shape(hid_t loc, const char *name, int rank, const hsize_t *dims,
                                 hid_t *out);

invrg_err invrg_h5_open_dataset(hid_t loc, const char *name, int rank, const hsize_t *dims,
                                hid_t *out) {
  return open_same_shape(loc, name, rank, dims, out);
}

/* Opens dataset @p name, which must have the shape @p dims. */
static invrg_err open_same_shape(hid_t loc, const char *name, int rank, const hsize_t *dims,
                                 hid_t *out) {
  invrg_err err = INVRG_SUCCESS;
  hid_t space = -1;
  hsize_t have[8];
  INVRG_H5_CALL(*out = H5Dopen2(loc, name, H5P_DEFAULT), name);
  INVRG_H5_CALL(space = H5Dget_space(*out), name);
  int r = H5Sget_simple_extent_dims(space, have, NULL);
  bool same = r == rank;
  for (int i = 0; same && i < rank; i++) same = have[i] == dims[i];
  INVRG_CHECK(same, INVRG_ERR_RUNTIME, "HDF5: dataset '%s' exists with another shape", name);
cleanup:
  invrg_h5_close(&space);
  if (err != INVRG_SUCCESS) invrg_h5_close(out);
  return err;
}

invrg_err invrg_h5_create_dataset(hid_t loc, const char *name, hid_t type, int rank,
                                  const hsize_t *dims, hid_t *out) {
  return invrg_h5_create_dataset_chunked(loc, name, type, rank, dims, NULL, out);
}

invrg_err invrg_h5_create_dataset_chunked(hid_t loc, const char *name, hid_t type, int rank,
                                          const hsize_t *dims, const hsize_t *chunk,
                                          hid_t *out) {
  invrg_err err = INVRG_SUCCESS;
  hid_t space = -1, dcpl = -1;
  *out = -1;
  if (H5Lexists(loc, name, H5P_DEFAULT) > 0) { /* a resumed run finds it from before */
    INVRG_CALL(open_same_shape(loc, name, rank, dims, out));
    goto cleanup;
  }
  INVRG_H5_CALL(space = H5Screate_simple(rank, dims, NULL), "dataspace");
  INVRG_H5_CALL(dcpl = H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate");
  /* Parallel HDF5 allocates early; skip writing fill values that are overwritten anyway. */
  INVRG_H5_CALL(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  if (chunk != NULL) INVRG_H5_CALL(H5Pset_chunk(dcpl, rank, chunk), "H5Pset_chunk");
  *out = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  INVRG_H5_CALL(*out, name);
cleanup:
  invrg_h5_close(&dcpl);
  invrg_h5_close(&space);
  return err;
}

/* Moves the hyperslab start/count of dset to or from a contiguous buffer of the same shape;
 * @p dxpl says how (H5P_DEFAULT: independent I/O). An empty count selects nothing (a rank's
 * share of a collective write that has none). */
static invrg_err transfer_slab_as(hid_t dset, hid_t mem_type, int rank, const hsize_t *start,
                                  const hsize_t *count, void *buf, bool write, hid_t dxpl) {
  invrg_err err = INVRG_SUCCESS;
  hid_t fspace = -1, mspace = -1;
  bool empty = false;
  for (int d = 0; d < rank; d++) empty = empty || count[d] == 0;
  INVRG_H5_CALL(fspace = H5Dget_space(dset), "H5Dget_space");
  if (empty) {
    const hsize_t one[1] = {1};
    INVRG_H5_CALL(H5Sselect_none(fspace), "select none");
    INVRG_H5_CALL(mspace = H5Screate_simple(1, one, NULL), "dataspace");
    INVRG_H5_CALL(H5Sselect_none(mspace), "select none");
  } else {
    INVRG_H5_CALL(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL),
                  "select hyperslab");
    INVRG_H5_CALL(mspace = H5Screate_simple(rank, count, NULL), "dataspace");
  }
  if (write)
    INVRG_H5_CALL(H5Dwrite(dset, mem_type, mspace, fspace, dxpl, buf), "H5Dwrite");
  else
    INVRG_H5_CALL(H5Dread(dset, mem_type, mspace, fspace, dxpl, buf), "H5Dread");
cleanup:
  invrg_h5_close(&mspace);
  invrg_h5_close(&fspace);
  return err;
}

static invrg_err transfer_slab(hid_t dset, hid_t mem_type, int rank, const hsize_t *start,
                               const hsize_t *count, void *buf, bool write) {
  return transfer_slab_as(dset, mem_type, rank, start, count, buf, write, H5P_DEFAULT);
}

/* Rows [first, first + count) along dimension 0, every other dimension whole. */
static invrg_err transfer_rows(hid_t dset, hid_t mem_type, hsize_t first, hsize_t count, void *buf,
                               bool write) {
  invrg_err err = INVRG_SUCCESS;
  hid_t space = -1;
  hsize_t dims[8], start[8] = {0};
  int rank;
  INVRG_H5_CALL(space = H5Dget_space(dset), "H5Dget_space");
  INVRG_H5_CALL(rank = H5Sget_simple_extent_dims(space, dims, NULL), "dataset shape");
  INVRG_CHECK(first + count <= dims[0], INVRG_ERR_RUNTIME,
              "HDF5: rows %llu..%llu of a dataset of %llu", (unsigned long long)first,
              (unsigned long long)(first + count), (unsigned long long)dims[0]);
  start[0] = first;
  dims[0] = count;
  INVRG_CALL(transfer_slab(dset, mem_type, rank, start, dims, buf, write));
cleanup:
  invrg_h5_close(&space);
  return err;
}

invrg_err invrg_h5_write_rows(hid_t dset, hid_t mem_type, hsize_t first, hsize_t count,
                              const void *buf) {
  return transfer_rows(dset, mem_type, first, count, (void *)(uintptr_t)buf, true);
}

invrg_err invrg_h5_read_rows(hid_t dset, hid_t mem_type, hsize_t first, hsize_t count, void *buf) {
  return transfer_rows(dset, mem_type, first, count, buf, false);
}

invrg_err invrg_h5_write_block3(hid_t dset, hid_t mem_type, hsize_t first, hsize_t count,
                                hsize_t y0, hsize_t ny, hsize_t x0, hsize_t nx, const void *buf) {
  const hsize_t start[3] = {first, y0, x0}, extent[3] = {count, ny, nx};
  return transfer_slab(dset, mem_type, 3, start, extent, (void *)(uintptr_t)buf, true);
}

invrg_err invrg_h5_write_block3_collective(hid_t dset, hid_t mem_type, hsize_t first,
                                           hsize_t count, hsize_t y0, hsize_t ny, hsize_t x0,
                                           hsize_t nx, const void *buf) {
  invrg_err err = INVRG_SUCCESS;
  hid_t dxpl = -1;
  const hsize_t start[3] = {first, y0, x0}, extent[3] = {count, ny, nx};
  INVRG_H5_CALL(dxpl = H5Pcreate(H5P_DATASET_XFER), "H5Pcreate");
  INVRG_H5_CALL(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio");
  INVRG_CALL(transfer_slab_as(dset, mem_type, 3, start, extent, (void *)(uintptr_t)buf, true,
                              dxpl));
cleanup:
  invrg_h5_close(&dxpl);
  return err;
}

invrg_err invrg_h5_read_block3(hid_t dset, hid_t mem_type, hsize_t first, hsize_t count, hsize_t y0,
                               hsize_t ny, hsize_t x0, hsize_t nx, void *buf) {
  const hsize_t start[3] = {first, y0, x0}, extent[3] = {count, ny, nx};
  return transfer_slab(dset, mem_type, 3, start, extent, buf, false);
}

invrg_err invrg_h5_check_format(hid_t file, const char *name, int major) {
  invrg_err err = INVRG_SUCCESS;
  hid_t a = -1, type = -1;
  char format[16] = "";
  int64_t version[2] = {0, 0};
  INVRG_CHECK(H5Aexists(file, "format") > 0 && H5Aexists(file, "format_version") > 0,
              INVRG_ERR_INPUT, "'%s' is not an invrg file (no format attributes)", name);
  INVRG_H5_CALL(a = H5Aopen(file, "format", H5P_DEFAULT), "format");
  INVRG_H5_CALL(type = H5Aget_type(a), "format type");
  if (H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0) {
    char *value = NULL;
    if (H5Aread(a, type, &value) >= 0 && value != NULL) snprintf(format, sizeof format, "%s", value);
    H5free_memory(value);
  }
  invrg_h5_close(&type);
  invrg_h5_close(&a);
  INVRG_CHECK(strcmp(format, "invrg") == 0, INVRG_ERR_INPUT,
              "'%s' is not an invrg file (format '%s')", name, format);
  INVRG_H5_CALL(a = H5Aopen(file, "format_version", H5P_DEFAULT), "format_version");
  INVRG_CHECK(H5Aget_storage_size(a) == sizeof version, INVRG_ERR_INPUT,
              "'%s': format_version is not [major, minor]", name);
  INVRG_H5_CALL(H5Aread(a, H5T_NATIVE_INT64, version), "format_version");
  INVRG_CHECK(version[0] == major, INVRG_ERR_INPUT,
              "'%s' has format_version %lld.%lld; this invrg reads %d.x", name,
              (long long)version[0], (long long)version[1], major);
cleanup:
  invrg_h5_close(&type);
  invrg_h5_close(&a);
  return err;
}

invrg_err invrg_h5_open_input(const char *path, hid_t *out) {
  invrg_err err = INVRG_SUCCESS;
  const char *unreadable = invrg_file_unreadable(path);
  *out = -1;
  INVRG_CHECK(unreadable == NULL, INVRG_ERR_INPUT, "'%s' %s", path, unreadable);
  *out = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  INVRG_CHECK(*out >= 0, INVRG_ERR_INPUT, "cannot open '%s' (not an HDF5 file)", path);
  INVRG_CHECK(H5Lexists(*out, "checkpoint", H5P_DEFAULT) <= 0, INVRG_ERR_INPUT,
              "'%s' is a checkpoint, not a finished run's file: its datasets hold rows not "
              "written yet (run its input again to finish that run, then use its output)", path);
cleanup:
  if (err != INVRG_SUCCESS) invrg_h5_close(out);
  return err;
}

/* &output alignment and mpi_io_hints, for every file opened in parallel. */
enum { MAX_HINTS = 16, HINT_LEN = 128 };
static int64_t file_alignment, file_chunk_bytes;
static char file_hints[MAX_HINTS][2][HINT_LEN]; /* key, value */
static int n_file_hints;

invrg_err invrg_h5_check_written(const char *path, int major) {
  invrg_err err = INVRG_SUCCESS;
  char why[256] = "";
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    invrg_h5_error_string(why, sizeof why);
  else if (invrg_h5_check_format(file, path, major) != INVRG_SUCCESS)
    snprintf(why, sizeof why, "%s", invrg_error_message());
  invrg_h5_close(&file);
  INVRG_CHECK(why[0] == '\0', INVRG_ERR_RUNTIME,
              "'%s' cannot be read back after it was written: %s%s", path, why,
              n_file_hints > 0 ? "; the MPI-IO hints of &output mpi_io_hints may not suit this "
                                 "MPI library"
                               : "");
cleanup:
  return err;
}

invrg_err invrg_h5_dataset_doubles(hid_t loc, const char *name, int rank, const hsize_t *dims,
                                   const double *data, bool writer) {
  invrg_err err = INVRG_SUCCESS;
  hid_t dset = -1;
  INVRG_CALL(invrg_h5_create_dataset(loc, name, H5T_IEEE_F64LE, rank, dims, &dset));
  if (writer) INVRG_CALL(invrg_h5_write_rows(dset, H5T_NATIVE_DOUBLE, 0, dims[0], data));
cleanup:
  invrg_h5_close(&dset);
  return err;
}

invrg_err invrg_h5_attr_scalar(hid_t loc, const char *name, double value) {
  return invrg_h5_attr_double(loc, name, &value, 1, true);
}

invrg_err invrg_h5_open_parallel(const char *path, bool writable, MPI_Comm comm, hid_t *out) {
  invrg_err err = INVRG_SUCCESS;
  hid_t fapl = -1;
  *out = -1;
  INVRG_CALL(invrg_h5_parallel_fapl(comm, &fapl));
  *out = H5Fopen(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
  INVRG_H5_CALL(*out, path);
cleanup:
  invrg_h5_close(&fapl);
  return err;
}


void invrg_h5_set_file_layout(int64_t alignment, int64_t chunk_bytes, const char *const *hints,
                              int n) {
  file_alignment = alignment;
  file_chunk_bytes = chunk_bytes;
  n_file_hints = 0;
  for (int i = 0; i < n && n_file_hints < MAX_HINTS; i++) {
    const char *eq = strchr(hints[i], '=');
    if (eq == NULL || eq == hints[i]) continue; /* the input check refused these */
    snprintf(file_hints[n_file_hints][0], HINT_LEN, "%.*s", (int)(eq - hints[i]), hints[i]);
    snprintf(file_hints[n_file_hints][1], HINT_LEN, "%s", eq + 1);
    n_file_hints++;
  }
}

int64_t invrg_h5_chunk_bytes(void) { return file_chunk_bytes; }

invrg_err invrg_h5_parallel_fapl(MPI_Comm comm, hid_t *out) {
  invrg_err err = INVRG_SUCCESS;
  MPI_Info info = MPI_INFO_NULL;
  *out = -1;
  if (n_file_hints > 0) {
    INVRG_MPI_CALL(MPI_Info_create(&info));
    for (int i = 0; i < n_file_hints; i++)
      INVRG_MPI_CALL(MPI_Info_set(info, file_hints[i][0], file_hints[i][1]));
  }
  INVRG_H5_CALL(*out = H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  INVRG_H5_CALL(H5Pset_fapl_mpio(*out, comm, info), "H5Pset_fapl_mpio");
  if (file_alignment > 0) /* objects of 64 KiB and more: configurations, big tables */
    INVRG_H5_CALL(H5Pset_alignment(*out, 65536, (hsize_t)file_alignment), "H5Pset_alignment");
  INVRG_H5_CALL(H5Pset_all_coll_metadata_ops(*out, 1), "H5Pset_all_coll_metadata_ops");
  INVRG_H5_CALL(H5Pset_coll_metadata_write(*out, 1), "H5Pset_coll_metadata_write");
cleanup:
  if (info != MPI_INFO_NULL) MPI_Info_free(&info);
  if (err != INVRG_SUCCESS) invrg_h5_close(out);
  return err;
}

invrg_err invrg_h5_write_int64(hid_t loc, const char *name, const int64_t *x, size_t n, bool writer) {
  invrg_err err = INVRG_SUCCESS;
  hid_t dset = -1;
  const hsize_t dims[1] = {(hsize_t)(n > 0 ? n : 1)};
  INVRG_CALL(invrg_h5_create_dataset(loc, name, H5T_STD_I64LE, 1, dims, &dset));
  if (writer && n > 0) INVRG_CALL(invrg_h5_write_rows(dset, H5T_NATIVE_INT64, 0, n, x));
cleanup:
  invrg_h5_close(&dset);
  return err;
}

invrg_err invrg_h5_attr_exists(hid_t loc, const char *name, bool *exists) {
  invrg_err err = INVRG_SUCCESS;
  htri_t found = -1;
  *exists = false;
  INVRG_H5_CALL(found = H5Aexists(loc, name), name);
  *exists = found > 0;
cleanup:
  return err;
}

invrg_err invrg_h5_read_int64_attr(hid_t loc, const char *name, int64_t *value) {
  invrg_err err = INVRG_SUCCESS;
  hid_t a = -1, type = -1, space = -1;
  INVRG_H5_CALL(a = H5Aopen(loc, name, H5P_DEFAULT), name);
  INVRG_H5_CALL(type = H5Aget_type(a), name);
  INVRG_H5_CALL(space = H5Aget_space(a), name);
  INVRG_CHECK(H5Tget_class(type) == H5T_INTEGER && H5Sget_simple_extent_npoints(space) == 1,
              INVRG_ERR_RUNTIME, "attribute '%s' is not one integer", name);
  INVRG_H5_CALL(H5Aread(a, H5T_NATIVE_INT64, value), name);
cleanup:
  invrg_h5_close(&space);
  invrg_h5_close(&type);
  invrg_h5_close(&a);
  return err;
}

invrg_err invrg_h5_read_int64(hid_t loc, const char *name, int64_t *x, size_t n) {
  invrg_err err = INVRG_SUCCESS;
  hid_t dset = -1, space = -1;
  INVRG_H5_CALL(dset = H5Dopen2(loc, name, H5P_DEFAULT), name);
  INVRG_H5_CALL(space = H5Dget_space(dset), name);
  hssize_t have = H5Sget_simple_extent_npoints(space);
  INVRG_CHECK(have == (hssize_t)(n > 0 ? n : 1), INVRG_ERR_RUNTIME,
              "HDF5: dataset '%s' holds %lld numbers, expected %zu", name, (long long)have, n);
  if (n > 0) INVRG_H5_CALL(H5Dread(dset, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), name);
cleanup:
  invrg_h5_close(&space);
  invrg_h5_close(&dset);
  return err;
}

/* Parallel HDF5 may never return from these after a failed write: a watchdog ends the rank. */
enum { FILE_OP_LIMIT_S = 900 };

invrg_err invrg_h5_flush_file(hid_t file, const char *name) {
  invrg_err err = INVRG_SUCCESS;
  char what[1100];
  snprintf(what, sizeof what, "flushing '%s'", name);
  invrg_watchdog_arm(what, FILE_OP_LIMIT_S, name);
  herr_t status = H5Fflush(file, H5F_SCOPE_GLOBAL);
  invrg_watchdog_disarm();
  INVRG_H5_CALL(status, what);
cleanup:
  return err;
}

invrg_err invrg_h5_close_file(hid_t *file, const char *name) {
  invrg_err err = INVRG_SUCCESS;
  char what[1100];
  if (*file < 0) return err;
  snprintf(what, sizeof what, "closing '%s'", name);
  invrg_watchdog_arm(what, FILE_OP_LIMIT_S, name);
  herr_t status = H5Fclose(*file);
  invrg_watchdog_disarm();
  *file = -1;
  INVRG_H5_CALL(status, what);
cleanup:
  return err;
}
