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
#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include "invrg/error.h"

/** Turns off HDF5's automatic error printing (we report errors ourselves). Not collective. */
void invrg_h5_init(void);

/** The HDF5 library's version, "major.minor.release", into @p buf. Not collective; no MPI needed. */
void invrg_h5_library_version(char *buf, size_t buflen);

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

/*
 * Resuming from a checkpoint: the create functions below open what exists
 * (datasets must have the same shape) and the attribute writers replace an
 * attribute of the same name, so a stage writes its results alike whether it
 * starts afresh or continues a run file copied from a checkpoint.
 */

/** Creates group @p path under @p loc (intermediate groups too), or opens it; @p out receives its id. */
invrg_err invrg_h5_create_group(hid_t loc, const char *path, hid_t *out);

/** invrg_h5_create_group() for a group whose attributes may exceed 64 KiB (a model's parameter
 * names: conv models with many channels): its attributes are kept in dense storage, where an
 * object header's 64 KiB limit does not apply. */
invrg_err invrg_h5_create_group_large_attrs(hid_t loc, const char *path, hid_t *out);

/** Closes an HDF5 object of any kind if it is valid, and sets the id to -1. */
void invrg_h5_close(hid_t *id);

invrg_err invrg_h5_attr_string(hid_t loc, const char *name, const char *value);
invrg_err invrg_h5_attr_strings(hid_t loc, const char *name, const char *const *values, int n);
/** n values as a 1D attribute (a scalar when @p as_scalar and n == 1). */
invrg_err invrg_h5_attr_int64(hid_t loc, const char *name, const int64_t *values, int n,
                              bool as_scalar);
/** An int64 attribute of @p rows x @p cols values, row-major. */
invrg_err invrg_h5_attr_int64_matrix(hid_t loc, const char *name, const int64_t *values, int rows,
                                     int cols);
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

/** invrg_h5_create_dataset() stored in chunks of @p chunk (rank numbers; NULL: contiguous). */
invrg_err invrg_h5_create_dataset_chunked(hid_t loc, const char *name, hid_t type, int rank,
                                          const hsize_t *dims, const hsize_t *chunk, hid_t *out);

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
 * invrg_h5_write_block3() as one collective write of every rank of the file's communicator:
 * each calls it once, with its own block (ny or nx 0: nothing, an empty selection), so that
 * MPI-IO can gather the blocks into few large writes (two-phase I/O).
 */
invrg_err invrg_h5_write_block3_collective(hid_t dset, hid_t mem_type, hsize_t first,
                                           hsize_t count, hsize_t y0, hsize_t ny, hsize_t x0,
                                           hsize_t nx, const void *buf);

/**
 * Input error unless @p file (named @p name in messages) is an invrg file of a format major
 * version this code reads: root attributes format = "invrg", format_version[0] = @p major.
 * Not collective (reads attributes only).
 */
invrg_err invrg_h5_check_format(hid_t file, const char *name, int major);

/**
 * Opens a file the input names as data (read-only, this rank alone): it must be a regular
 * file (a FIFO would hang the check), HDF5, and not a checkpoint (`/checkpoint`: its datasets
 * hold rows not written yet). An error message naming @p path otherwise. Not collective.
 */
invrg_err invrg_h5_open_input(const char *path, hid_t *out);

/**
 * Reads back the invrg file @p path just written in parallel (closed, not yet renamed): opens
 * it alone, without MPI-IO, and checks its format attributes (major version @p major). A
 * runtime error if it cannot: MPI-IO can report success and still write a file nobody can
 * read (Open MPI with &output mpi_io_hints = 'cb_buffer_size=1' on 3 ranks). Not collective.
 */
invrg_err invrg_h5_check_written(const char *path, int major);

/** Opens dataset @p name, which must have @p rank dimensions @p dims (runtime error otherwise). */
invrg_err invrg_h5_open_dataset(hid_t loc, const char *name, int rank, const hsize_t *dims,
                                hid_t *out);

/** Reads rows [first, first + count) of @p dset (all other dimensions whole). Not collective. */
invrg_err invrg_h5_read_rows(hid_t dset, hid_t mem_type, hsize_t first, hsize_t count, void *buf);

/** Reads a block of a 3D dataset, as invrg_h5_write_block3() writes one. Not collective. */
invrg_err invrg_h5_read_block3(hid_t dset, hid_t mem_type, hsize_t first, hsize_t count, hsize_t y0,
                               hsize_t ny, hsize_t x0, hsize_t nx, void *buf);

/** A 1D int64 dataset of @p n numbers (collective), written from the ranks where @p writer. */
invrg_err invrg_h5_write_int64(hid_t loc, const char *name, const int64_t *x, size_t n, bool writer);

/** Reads all of 1D int64 dataset @p name, which must hold @p n numbers. */
invrg_err invrg_h5_read_int64(hid_t loc, const char *name, int64_t *x, size_t n);

/** *exists: whether @p loc has the attribute @p name. HDF5 failing to tell (a damaged file) is
 * a runtime error naming it, never taken for "no". Not collective. */
invrg_err invrg_h5_attr_exists(hid_t loc, const char *name, bool *exists);

/** Reads attribute @p name of @p loc, which must be one integer (runtime error naming it
 * otherwise: an attribute of several values would overrun @p value). Not collective. */
invrg_err invrg_h5_read_int64_attr(hid_t loc, const char *name, int64_t *value);

/**
 * H5Fflush / H5Fclose of a file written with parallel HDF5 (collective),
 * under a watchdog (watchdog.h): a rank that HDF5 keeps waiting for 15 min
 * (INVRG_WATCHDOG_SECONDS) after a failed write reports it, deletes the file
 * @p name (which cannot be complete then) and exits 1. Close sets *file to -1.
 */
invrg_err invrg_h5_flush_file(hid_t file, const char *name);
invrg_err invrg_h5_close_file(hid_t *file, const char *name);

/**
 * How the files this process opens in parallel are laid out (&output alignment, chunk_bytes and
 * mpi_io_hints): objects of at least 64 KiB start at a multiple of @p alignment bytes (0:
 * HDF5's default packing), configurations are stored in chunks of about @p chunk_bytes (0:
 * contiguous; invrg_h5_chunk_bytes()), and the @p n MPI-IO hints "key=value" go to every file
 * opened. Kept for the rest of the process. Not collective (set alike on every rank).
 */
void invrg_h5_set_file_layout(int64_t alignment, int64_t chunk_bytes, const char *const *hints,
                              int n);

/** The chunk size of configurations set by invrg_h5_set_file_layout() (0: contiguous). */
int64_t invrg_h5_chunk_bytes(void);

/** File access for parallel HDF5 on @p comm (MPI-IO with the hints, collective metadata,
 * the alignment of invrg_h5_set_file_layout()). */
invrg_err invrg_h5_parallel_fapl(MPI_Comm comm, hid_t *out);

/** Opens an existing file with parallel HDF5. Collective on @p comm. */
invrg_err invrg_h5_open_parallel(const char *path, bool writable, MPI_Comm comm, hid_t *out);

/** A scalar fixed-length UTF-8 string dataset holding @p value (same on every rank); replaces one. */
invrg_err invrg_h5_dataset_string(hid_t loc, const char *name, const char *value);

#endif
