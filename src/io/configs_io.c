/* Configurations in HDF5: int8 or bit-packed rows, written block by block. */
#include "invrg/configs_io.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/h5util.h"

invrg_err invrg_configs_create(hid_t loc, const char *name, int64_t n, int64_t L, bool packed,
                               hid_t *out) {
  invrg_err err = INVRG_SUCCESS;
  hsize_t dims[3] = {(hsize_t)n, (hsize_t)L, (hsize_t)(packed ? L / 8 : L)};
  /* &output chunk_bytes: chunks of whole rows of one configuration, about that many bytes */
  const int64_t chunk_bytes = invrg_h5_chunk_bytes(), row_bytes = (int64_t)dims[2];
  const int64_t rows = row_bytes < 1 || chunk_bytes / row_bytes < 1 ? 1 : chunk_bytes / row_bytes;
  const hsize_t chunk[3] = {1, (hsize_t)(rows < L ? rows : L), dims[2]};
  INVRG_CALL(invrg_h5_create_dataset_chunked(loc, name, packed ? H5T_STD_U8LE : H5T_STD_I8LE, 3,
                                             dims, chunk_bytes > 0 && n > 0 ? chunk : NULL, out));
  INVRG_CALL(invrg_h5_attr_string(*out, "format", packed ? "packed" : "int8"));
  if (packed) INVRG_CALL(invrg_h5_attr_string(*out, "bit_order", "msb_first, 1 = +1"));
cleanup:
  return err;
}

size_t invrg_configs_block_bytes(const invrg_lattice *lat, bool packed) {
  return (size_t)lat->ny * (size_t)(packed ? lat->nx / 8 : lat->nx);
}

/* Packs one row of ±1 spins into bits, most significant first (bit 1 = +1). */
static void pack_row(const int8_t *s, int n, uint8_t *out) {
  for (int b = 0; b < n / 8; b++) {
    uint8_t byte = 0;
    for (int k = 0; k < 8; k++) byte = (uint8_t)(byte << 1 | (s[8 * b + k] > 0));
    out[b] = byte;
  }
}

/* Rows j0 … j0 + n − 1 of this rank's block into @p out as stored (packed or int8). */
static void copy_rows(const invrg_lattice *lat, bool packed, int j0, int n, uint8_t *out) {
  size_t row_bytes = packed ? (size_t)lat->nx / 8 : (size_t)lat->nx;
  for (int j = 0; j < n; j++) {
    const int8_t *row = lat->data + invrg_lattice_index(lat, 0, j0 + j);
    if (packed)
      pack_row(row, lat->nx, out + (size_t)j * row_bytes);
    else
      memcpy(out + (size_t)j * row_bytes, row, row_bytes);
  }
}

void invrg_configs_copy_block(const invrg_lattice *lat, bool packed, uint8_t *out) {
  copy_rows(lat, packed, 0, lat->ny, out);
}

invrg_err invrg_configs_write(hid_t dset, const invrg_lattice *lat, bool packed, int64_t first,
                              int64_t count, const uint8_t *blocks) {
  hsize_t row_bytes = packed ? (hsize_t)lat->nx / 8 : (hsize_t)lat->nx;
  hsize_t x0 = packed ? (hsize_t)lat->x0 / 8 : (hsize_t)lat->x0;
  return invrg_h5_write_block3(dset, packed ? H5T_NATIVE_UINT8 : H5T_NATIVE_INT8, (hsize_t)first,
                               (hsize_t)count, (hsize_t)lat->y0, (hsize_t)lat->ny, x0, row_bytes,
                               blocks);
}

/* Where one configuration's rows come from: an int8 lattice block or a packed lattice's rows. */
typedef struct {
  const invrg_lattice *lat; /* or */
  const invrg_packed *p;
  bool packed;              /* stored 8 spins per byte */
  int8_t *spins;            /* a row of scratch for packed → packed bytes */
} row_source;

/* Rows j0 … j0 + n − 1 of the source's block into @p out, as stored. */
static void fill_rows(const row_source *src, int j0, int n, size_t row_bytes, uint8_t *out) {
  if (src->lat != NULL) {
    copy_rows(src->lat, src->packed, j0, n, out);
    return;
  }
  const invrg_packed *p = src->p;
  for (int j = 0; j < n; j++) { /* each row through int8: the file's bit order is its own */
    uint8_t *row = out + (size_t)j * row_bytes;
    invrg_packed_unpack_row(invrg_packed_row(p, 0, j0 + j), invrg_packed_row(p, 1, j0 + j),
                            p->lx, p->y0 + j0 + j, src->packed ? src->spins : (int8_t *)row);
    if (src->packed) pack_row(src->spins, (int)p->lx, row);
  }
}

/*
 * Configuration @p index from @p src (ny rows from global row y0, row_bytes from byte x0) in
 * slabs of rows through a buffer of about 1 MiB: a copy of a whole block would add a byte per
 * spin to a big dream. With @p comm, collective writes of every rank of the file's communicator,
 * as many as the rank with the most slabs needs (the others write nothing then); a rank without
 * rows (ny = 0) only joins them. Without (MPI_COMM_NULL), independent writes.
 */
static invrg_err write_in_slabs(hid_t dset, const row_source *src, int64_t index, int ny,
                                int64_t y0, size_t row_bytes, hsize_t x0, MPI_Comm comm) {
  invrg_err err = INVRG_SUCCESS;
  const hid_t type = src->packed ? H5T_NATIVE_UINT8 : H5T_NATIVE_INT8;
  const size_t budget_rows = ((size_t)1 << 20) / (row_bytes > 0 ? row_bytes : 1);
  const int slab = budget_rows < 1 ? 1 : budget_rows < (size_t)ny ? (int)budget_rows : ny;
  int n_slabs = slab > 0 ? (ny + slab - 1) / slab : 0, n_calls = n_slabs;
  uint8_t *buf = malloc((size_t)slab * row_bytes + 1);
  INVRG_CHECK_ALLOC(buf);
  if (comm != MPI_COMM_NULL)
    INVRG_MPI_CALL(MPI_Allreduce(&n_slabs, &n_calls, 1, MPI_INT, MPI_MAX, comm));
  for (int k = 0; k < n_calls; k++) {
    const int j0 = k * slab, n = k < n_slabs ? (ny - j0 < slab ? ny - j0 : slab) : 0;
    if (n > 0) fill_rows(src, j0, n, row_bytes, buf);
    if (comm != MPI_COMM_NULL)
      INVRG_CALL(invrg_h5_write_block3_collective(dset, type, (hsize_t)index, 1,
                                                  (hsize_t)(y0 + j0), (hsize_t)n, x0,
                                                  (hsize_t)row_bytes, buf));
    else
      INVRG_CALL(invrg_h5_write_block3(dset, type, (hsize_t)index, 1, (hsize_t)(y0 + j0),
                                       (hsize_t)n, x0, (hsize_t)row_bytes, buf));
  }
cleanup:
  free(buf);
  return err;
}

invrg_err invrg_configs_write_lattice(hid_t dset, const invrg_lattice *lat, bool packed,
                                     int64_t index) {
  return invrg_configs_write_lattice_all(dset, lat, packed, index, true, MPI_COMM_NULL);
}

invrg_err invrg_configs_write_lattice_all(hid_t dset, const invrg_lattice *lat, bool packed,
                                         int64_t index, bool writes, MPI_Comm comm) {
  const row_source src = {lat, NULL, packed, NULL};
  const size_t row_bytes = packed ? (size_t)lat->nx / 8 : (size_t)lat->nx;
  const hsize_t x0 = packed ? (hsize_t)lat->x0 / 8 : (hsize_t)lat->x0;
  return write_in_slabs(dset, &src, index, writes ? lat->ny : 0, lat->y0, row_bytes, x0, comm);
}

invrg_err invrg_configs_write_packed(hid_t dset, const invrg_packed *p, bool packed,
                                     int64_t index) {
  return invrg_configs_write_packed_all(dset, p, packed, index, true, MPI_COMM_NULL);
}

invrg_err invrg_configs_write_packed_all(hid_t dset, const invrg_packed *p, bool packed,
                                        int64_t index, bool writes, MPI_Comm comm) {
  invrg_err err = INVRG_SUCCESS;
  int8_t *spins = malloc((size_t)p->lx);
  INVRG_CHECK_ALLOC(spins);
  const row_source src = {NULL, p, packed, spins};
  const size_t row_bytes = packed ? (size_t)p->lx / 8 : (size_t)p->lx;
  INVRG_CALL(write_in_slabs(dset, &src, index, writes ? (int)p->ny : 0, p->y0, row_bytes, 0,
                            comm));
cleanup:
  free(spins);
  return err;
}

invrg_err invrg_configs_read_block(hid_t dset, const invrg_lattice *lat, int64_t index,
                                   uint8_t *block) {
  return invrg_h5_read_block3(dset, H5T_NATIVE_INT8, (hsize_t)index, 1, (hsize_t)lat->y0,
                              (hsize_t)lat->ny, (hsize_t)lat->x0, (hsize_t)lat->nx, block);
}

/* The dataset's `format` attribute into @p out ("" when it has none). */
/* The dataset's attribute format: "" if it has none, "?" if it is not one string. */
static invrg_err read_format(hid_t dset, const char *what, char *out, size_t size) {
  invrg_err err = INVRG_SUCCESS;
  hid_t a = -1, type = -1, space = -1;
  char *value = NULL;
  bool has_format = false;
  out[0] = '\0';
  INVRG_CALL(invrg_h5_attr_exists(dset, "format", &has_format));
  if (!has_format) goto cleanup;
  snprintf(out, size, "?");
  INVRG_H5_CALL(a = H5Aopen(dset, "format", H5P_DEFAULT), what);
  INVRG_H5_CALL(type = H5Aget_type(a), what);
  INVRG_H5_CALL(space = H5Aget_space(a), what);
  if (H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1) goto cleanup;
  if (H5Tis_variable_str(type) > 0) {
    INVRG_H5_CALL(H5Aread(a, type, &value), what);
    if (value != NULL) snprintf(out, size, "%s", value);
  } else if (H5Tget_size(type) < size) { /* a fixed-length string */
    char fixed[64] = "";
    INVRG_H5_CALL(H5Aread(a, type, fixed), what);
    snprintf(out, size, "%.*s", (int)H5Tget_size(type), fixed);
  }
cleanup:
  H5free_memory(value);
  invrg_h5_close(&space);
  invrg_h5_close(&type);
  invrg_h5_close(&a);
  return err;
}

/* Parallel HDF5 reads contiguous, chunked and compact datasets whose filters it has; not
 * virtual datasets, nor compression by a plugin that is not installed. */
static invrg_err check_readable_layout(hid_t dset, const char *what) {
  invrg_err err = INVRG_SUCCESS;
  hid_t dcpl = -1;
  INVRG_H5_CALL(dcpl = H5Dget_create_plist(dset), what);
  INVRG_CHECK(H5Pget_layout(dcpl) != H5D_VIRTUAL, INVRG_ERR_INPUT,
              "%s is a virtual dataset, which parallel HDF5 cannot read: copy it into one", what);
  const int n_filters = H5Pget_nfilters(dcpl);
  for (int f = 0; f < n_filters; f++) {
    unsigned flags = 0, config = 0;
    size_t n_values = 0;
    char name[64] = "";
    const H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)f, &flags, &n_values, NULL,
                                           sizeof name, name, &config);
    INVRG_CHECK(id >= 0 && H5Zfilter_avail(id) > 0, INVRG_ERR_INPUT,
                "%s is stored with the filter %d ('%s'), which this HDF5 does not have: store "
                "it without (e.g. h5repack -f NONE)", what, (int)id, name);
  }
cleanup:
  invrg_h5_close(&dcpl);
  return err;
}

invrg_err invrg_configs_info(hid_t dset, const char *what, int64_t *n, int64_t *L, bool *packed) {
  invrg_err err = INVRG_SUCCESS;
  hid_t space = -1, type = -1;
  hsize_t dims[3] = {0, 0, 0};
  char format[16];
  INVRG_H5_CALL(space = H5Dget_space(dset), what);
  INVRG_H5_CALL(type = H5Dget_type(dset), what);
  INVRG_CHECK(H5Sget_simple_extent_ndims(space) == 3 && H5Tget_class(type) == H5T_INTEGER &&
                  H5Tget_size(type) == 1,
              INVRG_ERR_INPUT, "%s is not a dataset of configurations [n][L][L] of bytes", what);
  H5Sget_simple_extent_dims(space, dims, NULL);
  INVRG_CALL(read_format(dset, what, format, sizeof format));
  *packed = format[0] != '\0' ? strcmp(format, "packed") == 0 : dims[2] != dims[1];
  INVRG_CHECK(strcmp(format, "?") != 0, INVRG_ERR_INPUT,
              "%s has a format attribute that is not one string ('int8' or 'packed')", what);
  INVRG_CHECK(format[0] == '\0' || *packed || strcmp(format, "int8") == 0, INVRG_ERR_INPUT,
              "%s has a format attribute '%s' that is not 'int8' or 'packed'", what, format);
  *n = (int64_t)dims[0];
  *L = (int64_t)dims[1];
  INVRG_CHECK(*L >= 2, INVRG_ERR_INPUT, "%s holds configurations of L = %lld; a lattice has L "
              ">= 2", what, (long long)*L);
  INVRG_CHECK(*L >= 2 && dims[2] == (*packed ? dims[1] / 8 : dims[1]) &&
                  (!*packed || dims[1] % 8 == 0),
              INVRG_ERR_INPUT, "%s has shape %llu x %llu x %llu, not [n][L][%s] (%s)", what,
              (unsigned long long)dims[0], (unsigned long long)dims[1],
              (unsigned long long)dims[2], *packed ? "L/8" : "L", *packed ? "packed" : "int8");
  /* int8 spins are signed bytes (±1); packed bits are unsigned bytes: read as the other
   * kind, HDF5 would clamp them (255 → 127, −1 → 0) */
  const H5T_sign_t sign = H5Tget_sign(type);
  INVRG_CHECK(sign == (*packed ? H5T_SGN_NONE : H5T_SGN_2), INVRG_ERR_INPUT,
              "%s holds %s bytes; %s configurations are %s bytes", what,
              sign == H5T_SGN_2 ? "signed" : "unsigned", *packed ? "packed" : "int8",
              *packed ? "unsigned" : "signed");
  INVRG_CALL(check_readable_layout(dset, what));
cleanup:
  invrg_h5_close(&type);
  invrg_h5_close(&space);
  return err;
}

invrg_err invrg_configs_read_spins(hid_t dset, const invrg_lattice *lat, bool packed,
                                   int64_t index, uint8_t *block) {
  invrg_err err = INVRG_SUCCESS;
  uint8_t *bytes = NULL;
  const size_t nx = (size_t)lat->nx, ny = (size_t)lat->ny;
  if (!packed) {
    INVRG_CALL(invrg_configs_read_block(dset, lat, index, block));
  } else {
    /* the bytes that hold columns x0 … x0 + nx − 1, which need not start on a byte */
    const int64_t first = lat->x0 / 8, width = (lat->x0 + lat->nx + 7) / 8 - first;
    bytes = malloc(ny * (size_t)width);
    INVRG_CHECK_ALLOC(bytes);
    INVRG_CALL(invrg_h5_read_block3(dset, H5T_NATIVE_UINT8, (hsize_t)index, 1, (hsize_t)lat->y0,
                                    ny, (hsize_t)first, (hsize_t)width, bytes));
    for (size_t y = 0; y < ny; y++)
      for (size_t i = 0; i < nx; i++) {
        const size_t bit = (size_t)(lat->x0 - 8 * first) + i; /* from the first byte's MSB */
        const uint8_t byte = bytes[y * (size_t)width + bit / 8];
        block[y * nx + i] = (uint8_t)((byte >> (7 - bit % 8)) & 1 ? 1 : -1);
      }
  }
cleanup:
  free(bytes);
  return err;
}

void invrg_non_spin_note(invrg_non_spin *bad, int64_t config, uint8_t *block, int64_t nx,
                         int64_t ny, int64_t x0, int64_t y0) {
  int64_t k = 0;
  const int64_t n = nx * ny;
  while (k < n && (block[k] == 1 || block[k] == (uint8_t)-1)) k++;
  if (k == n) return;
  const int64_t x = x0 + k % nx, y = y0 + k / nx; /* the block's first, in row-major order */
  const bool lower_site = y < bad->y || (y == bad->y && x < bad->x);
  if (config < bad->config || (config == bad->config && lower_site))
    *bad = (invrg_non_spin){config, x, y, (int8_t)block[k]};
  for (; k < n; k++)
    if (block[k] != (uint8_t)-1) block[k] = 1;
}

invrg_err invrg_non_spin_agree(invrg_non_spin *bad, MPI_Comm comm) {
  invrg_err err = INVRG_SUCCESS;
  int64_t first = bad->config;
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT64_T, MPI_MIN, comm));
  if (first == INVRG_NO_NON_SPIN) goto cleanup;
  /* the lowest (configuration, y, x), whichever ranks hold the parts of that configuration */
  int64_t row = bad->config == first ? bad->y : INT64_MAX;
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &row, 1, MPI_INT64_T, MPI_MIN, comm));
  int64_t column = bad->config == first && bad->y == row ? bad->x : INT64_MAX;
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &column, 1, MPI_INT64_T, MPI_MIN, comm));
  int rank = 0, root = INT_MAX;
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  if (bad->config == first && bad->y == row && bad->x == column) root = rank;
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &root, 1, MPI_INT, MPI_MIN, comm));
  int64_t where[3] = {bad->x, bad->y, bad->value};
  INVRG_MPI_CALL(MPI_Bcast(where, 3, MPI_INT64_T, root, comm));
  *bad = (invrg_non_spin){first, where[0], where[1], where[2]};
cleanup:
  return err;
}

invrg_err invrg_configs_paste_block(invrg_lattice *lat, const uint8_t *block) {
  for (int y = 0; y < lat->ny; y++)
    memcpy(lat->data + (size_t)(y + lat->halo) * (size_t)lat->sx + (size_t)lat->halo,
           block + (size_t)y * (size_t)lat->nx, (size_t)lat->nx);
  return invrg_lattice_halo_exchange(lat);
}
