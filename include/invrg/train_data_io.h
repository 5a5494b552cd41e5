/**
 * @file train_data_io.h
 * The training data of stage train: the Monte Carlo configurations /mc/L<L>/configs (int8 or
 * packed) of this run's file or of the invrg file &train data, with L = &train data_L, else
 * this run's &mc L, else the only size of the file.
 */
#ifndef INVRG_TRAIN_DATA_IO_H
#define INVRG_TRAIN_DATA_IO_H

#include <hdf5.h>
#include <stdint.h>

#include "invrg/config.h"
#include "invrg/error.h"

/**
 * How many configurations of which size the data will hold, known before any work (for the
 * checks). Input error, naming &train data, if its file or dataset is missing or wrong. Not
 * collective (one rank looks).
 */
invrg_err invrg_train_data_count(const invrg_config *cfg, int64_t *n, int64_t *L);

/**
 * Reads the data whole into *@p configs (±1 bytes [n][L][L], owned by the caller): from
 * @p run_file (this run's, flushed) when &train data is empty, else from &train data. Input
 * error for a missing size or dataset, a wrong shape or a value that is not a spin. Not
 * collective (independent reads; every rank may call it).
 */
invrg_err invrg_train_data_load(const invrg_config *cfg, hid_t run_file, int8_t **configs,
                                int64_t *n, int64_t *L);

#endif
