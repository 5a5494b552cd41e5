/**
 * @file model_io.h
 * Models in HDF5: a group (usually /model) with attributes kind, kernel,
 * channels, param_names and a dataset params (float64). The same layout is
 * written by stage train and by tools/import_torch_model.py, and read by
 * stage dream (&dream model_file).
 */
#ifndef INVRG_MODEL_IO_H
#define INVRG_MODEL_IO_H

#include <hdf5.h>

#include "invrg/error.h"
#include "invrg/model.h"

/** Writes @p m as group @p path under @p loc. Collective (parallel HDF5 metadata). */
invrg_err invrg_model_write(hid_t loc, const char *path, const invrg_model *m);

/**
 * Reads the model at @p path of the HDF5 file @p file_name (opened read-only
 * by the calling rank alone). Input errors that name the file for a missing
 * file or group, an unknown kind, or a parameter count that does not match.
 * Not collective.
 */
invrg_err invrg_model_read(const char *file_name, const char *path, invrg_model **out);

/** The same from an open file (@p file_name only names it in messages). Not collective. */
invrg_err invrg_model_read_open(hid_t file, const char *file_name, const char *path,
                                invrg_model **out);

#endif
