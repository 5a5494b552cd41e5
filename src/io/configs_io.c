/* Configurations in HDF5: int8 or bit-packed rows, written block by block. */
#include "invrg/configs_io.h"

#include <stdlib.h>
#include <string.h>

#include "invrg/h5util.h"

invrg_err invrg_configs_create(hid_t loc, const char *name, int64_t n, int64_t L, bool packed,
                               hid_t *out) {
  invrg_err err = INVRG_SUCCESS;
  hsize_t dims[3] = {(hsize_t)n, (hsize_t)L, (hsize_t)(packed ? L / 8 : L)};
  INVRG_CALL(invrg_h5_create_dataset(loc, name, packed ? H5T_STD_U8LE : H5T_STD_I8LE, 3, dims, out));
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

void invrg_configs_copy_block(const invrg_lattice *lat, bool packed, uint8_t *out) {
  size_t row_bytes = packed ? (size_t)lat->nx / 8 : (size_t)lat->nx;
  for (int j = 0; j < lat->ny; j++) {
    const int8_t *row = lat->data + invrg_lattice_index(lat, 0, j);
    if (packed)
      pack_row(row, lat->nx, out + (size_t)j * row_bytes);
    else
      memcpy(out + (size_t)j * row_bytes, row, row_bytes);
  }
}

invrg_err invrg_configs_write(hid_t dset, const invrg_lattice *lat, bool packed, int64_t first,
                              int64_t count, const uint8_t *blocks) {
  hsize_t row_bytes = packed ? (hsize_t)lat->nx / 8 : (hsize_t)lat->nx;
  hsize_t x0 = packed ? (hsize_t)lat->x0 / 8 : (hsize_t)lat->x0;
  return invrg_h5_write_block3(dset, packed ? H5T_NATIVE_UINT8 : H5T_NATIVE_INT8, (hsize_t)first,
                               (hsize_t)count, (hsize_t)lat->y0, (hsize_t)lat->ny, x0, row_bytes,
                               blocks);
}

invrg_err invrg_configs_read_block(hid_t dset, const invrg_lattice *lat, int64_t index,
                                   uint8_t *block) {
  return invrg_h5_read_block3(dset, H5T_NATIVE_INT8, (hsize_t)index, 1, (hsize_t)lat->y0,
                              (hsize_t)lat->ny, (hsize_t)lat->x0, (hsize_t)lat->nx, block);
}

invrg_err invrg_configs_paste_block(invrg_lattice *lat, const uint8_t *block) {
  for (int y = 0; y < lat->ny; y++)
    memcpy(lat->data + (size_t)(y + lat->halo) * (size_t)lat->sx + (size_t)lat->halo,
           block + (size_t)y * (size_t)lat->nx, (size_t)lat->nx);
  return invrg_lattice_halo_exchange(lat);
}
