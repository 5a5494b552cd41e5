/**
 * @file h5util.h
 * Small helpers over HDF5 for writing attributes and groups with error reporting.
 *
 * With parallel HDF5, creating groups and writing attributes are collective
 * metadata operations: every rank of the file's communicator calls them with
 * the same arguments. All helpers here are collective in that sense.
 */
#ifndef INVRG_H5UTIL_H
#define INVRG_H5UTIL_H

#include <hdf5.h>
#include <stdbool.h>
#include <stdint.h>

#include "invrg/error.h"

/** Turns off HDF5's automatic error printing (we report errors ourselves). Not collective. */
void invrg_h5_init(void);

/** The innermost message of HDF5's current error stack, e.g. "unable to open file". */
const char *invrg_h5_error_string(char *buf, size_t buflen);

/** Fails with INVRG_ERR_RUNTIME and HDF5's own reason when @p expr is negative. */
#define INVRG_H5_CALL(expr, what)                                                      \
  do {                                                                                 \
    if ((expr) < 0) {                                                                  \
      char h5_msg_[256];                                                               \
      err = invrg_error_set(INVRG_ERR_RUNTIME, __FILE__, __LINE__, "HDF5: %s failed: %s", \
                            (what), invrg_h5_error_string(h5_msg_, sizeof h5_msg_));   \
      goto cleanup;                                                                    \
    }                                                                                  \
  } while (0)

/** Creates group @p path under @p loc (intermediate groups too); @p out receives its id. */
invrg_err invrg_h5_create_group(hid_t loc, const char *path, hid_t *out);

/** Closes an HDF5 object of any kind if it is valid, and sets the id to -1. */
void invrg_h5_close(hid_t *id);

invrg_err invrg_h5_attr_string(hid_t loc, const char *name, const char *value);
invrg_err invrg_h5_attr_strings(hid_t loc, const char *name, const char *const *values, int n);
/** n values as a 1D attribute (a scalar when @p as_scalar and n == 1). */
invrg_err invrg_h5_attr_int64(hid_t loc, const char *name, const int64_t *values, int n,
                              bool as_scalar);
invrg_err invrg_h5_attr_double(hid_t loc, const char *name, const double *values, int n,
                               bool as_scalar);
/** Logicals as HDF5's usual boolean enum (FALSE = 0, TRUE = 1), which h5py reads as bool. */
invrg_err invrg_h5_attr_bool(hid_t loc, const char *name, const bool *values, int n,
                             bool as_scalar);

/**
 * Creates a dataset of @p rank dimensions @p dims and element type @p type,
 * allocated but not filled (every element is written by the caller).
 */
invrg_err invrg_h5_create_dataset(hid_t loc, const char *name, hid_t type, int rank,
                                  const hsize_t *dims, hid_t *out);

/**
 * Creates dataset @p name of doubles with @p rank dimensions @p dims (collective) and
 * writes @p data into it from the ranks where @p writer is true (one rank suffices).
 */
invrg_err invrg_h5_dataset_doubles(hid_t loc, const char *name, int rank, const hsize_t *dims,
                                   const double *data, bool writer);

/** A scalar double attribute (every rank alike). */
invrg_err invrg_h5_attr_scalar(hid_t loc, const char *name, double value);

/**
 * Writes @p count rows starting at @p first along dimension 0 of @p dset
 * (every other dimension whole) from @p buf, independently (not collective:
 * only the ranks that hold the rows call it).
 */
invrg_err invrg_h5_write_rows(hid_t dset, hid_t mem_type, hsize_t first, hsize_t count,
                              const void *buf);

/**
 * Like invrg_h5_write_rows() but for a block of a 3D dataset [row][y][x]:
 * rows [first, first + count), y in [y0, y0 + ny), x in [x0, x0 + nx).
 */
invrg_err invrg_h5_write_block3(hid_t dset, hid_t mem_type, hsize_t first, hsize_t count,
                                hsize_t y0, hsize_t ny, hsize_t x0, hsize_t nx, const void *buf);

/**
 * Input error unless @p file (named @p name in messages) is an invrg file of a format major
 * version this code reads: root attributes format = "invrg", format_version[0] = @p major.
 * Not collective (reads attributes only).
 */
invrg_err invrg_h5_check_format(hid_t file, const char *name, int major);

/** A scalar fixed-length UTF-8 string dataset holding @p value (same on every rank). */
invrg_err invrg_h5_dataset_string(hid_t loc, const char *name, const char *value);

#endif
