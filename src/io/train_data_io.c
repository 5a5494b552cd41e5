/* The training data of stage train (train_data_io.h): /mc/L<L>/configs of this run's file or
 * of &train data, read whole. */
#include "invrg/train_data_io.h"

#include <stdlib.h>
#include <string.h>

#include "invrg/configs_io.h"
#include "invrg/h5util.h"
#include "invrg/runfile.h"

/* The L of the data: data_L, else &mc L for this run, else the only /mc/L<L> of the file.
 * On an input error *key (if not NULL) is the &train key to fix: data_L when the file holds
 * several sizes, else data. */
static invrg_err find_data_L(const invrg_config *cfg, hid_t file, const char *name, int64_t *L,
                             const char **key) {
  invrg_err err = INVRG_SUCCESS;
  hid_t mc = -1;
  *L = cfg->train.data_L;
  if (key != NULL) *key = "data";
  if (*L == 0 && cfg->train.data[0] == '\0') {
    INVRG_CHECK(cfg->mc.n_L == 1, INVRG_ERR_INPUT,
                "this run's Monte Carlo has %d sizes; choose one with &train data_L", cfg->mc.n_L);
    *L = cfg->mc.L[0];
  }
  if (*L == 0) {
    INVRG_CHECK(H5Lexists(file, "mc", H5P_DEFAULT) > 0, INVRG_ERR_INPUT,
                "training data file '%s' has no /mc group (no Monte Carlo configurations)", name);
    INVRG_H5_CALL(mc = H5Gopen2(file, "mc", H5P_DEFAULT), "open /mc");
    H5G_info_t info;
    INVRG_H5_CALL(H5Gget_info(mc, &info), "/mc info");
    if (info.nlinks != 1 && key != NULL) *key = "data_L";
    INVRG_CHECK(info.nlinks == 1, INVRG_ERR_INPUT,
                "training data file '%s' holds %llu sizes under /mc; choose one with &train data_L",
                name, (unsigned long long)info.nlinks);
    char member[64] = "";
    H5Lget_name_by_idx(mc, ".", H5_INDEX_NAME, H5_ITER_INC, 0, member, sizeof member, H5P_DEFAULT);
    INVRG_CHECK(member[0] == 'L', INVRG_ERR_INPUT, "training data file '%s': unexpected /mc/%s",
                name, member);
    *L = atoll(member + 1);
  }
cleanup:
  invrg_h5_close(&mc);
  return err;
}

/* Reads /mc/L<L>/configs (int8, or packed bits) into ±1 bytes, on the calling rank. */
static invrg_err read_configs(hid_t file, const char *name, int64_t L, int8_t **out, int64_t *n) {
  invrg_err err = INVRG_SUCCESS;
  hid_t dset = -1, space = -1;
  uint8_t *packed = NULL;
  char path[64];
  snprintf(path, sizeof path, "mc/L%lld/configs", (long long)L);
  *out = NULL;
  INVRG_CHECK(H5Lexists(file, "mc", H5P_DEFAULT) > 0 && H5Lexists(file, path, H5P_DEFAULT) > 0,
              INVRG_ERR_INPUT,
              "training data '%s' has no /%s (run stage mc with save_configs = .true.)", name, path);
  INVRG_H5_CALL(dset = H5Dopen2(file, path, H5P_DEFAULT), path);
  INVRG_H5_CALL(space = H5Dget_space(dset), "configs shape");
  hsize_t dims[3];
  INVRG_CHECK(H5Sget_simple_extent_ndims(space) == 3, INVRG_ERR_INPUT,
              "%s: /%s is not [sample][y][x]", name, path);
  H5Sget_simple_extent_dims(space, dims, NULL);
  bool is_packed = dims[2] * 8 == (hsize_t)L && dims[2] != (hsize_t)L;
  INVRG_CHECK(dims[1] == (hsize_t)L && (dims[2] == (hsize_t)L || is_packed), INVRG_ERR_INPUT,
              "%s: /%s has shape %llu x %llu x %llu, not [n][%lld][%lld]", name, path,
              (unsigned long long)dims[0], (unsigned long long)dims[1],
              (unsigned long long)dims[2], (long long)L, (long long)L);
  *n = (int64_t)dims[0];
  *out = malloc((size_t)*n * (size_t)(L * L));
  INVRG_CHECK_ALLOC(*out);
  if (!is_packed) {
    INVRG_H5_CALL(H5Dread(dset, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out), path);
  } else {
    size_t bytes = (size_t)*n * (size_t)L * (size_t)(L / 8);
    packed = malloc(bytes);
    INVRG_CHECK_ALLOC(packed);
    INVRG_H5_CALL(H5Dread(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, packed), path);
    for (size_t b = 0; b < bytes; b++) /* most significant bit first, 1 = +1 */
      for (int k = 0; k < 8; k++) (*out)[8 * b + (size_t)k] = (packed[b] >> (7 - k)) & 1 ? 1 : -1;
  }
  for (int64_t e = 0; e < *n * L * L; e++) /* the first in (configuration, y, x) order */
    INVRG_CHECK((*out)[e] == 1 || (*out)[e] == -1, INVRG_ERR_INPUT,
                "'%s': /%s: configuration %lld holds the value %d at (x, y) = (%lld, %lld), "
                "which is not a spin (+1 or -1)", name, path, (long long)(e / (L * L)),
                (*out)[e], (long long)(e % L), (long long)(e % (L * L) / L));
cleanup:
  if (err != INVRG_SUCCESS) {
    free(*out);
    *out = NULL;
  }
  free(packed);
  invrg_h5_close(&space);
  invrg_h5_close(&dset);
  return err;
}

/* Opens the data file of &train data (read-only, this rank alone). */
static invrg_err open_data_file(const invrg_config *cfg, hid_t *file) {
  invrg_err err = INVRG_SUCCESS;
  if (invrg_h5_open_input(cfg->train.data, file) != INVRG_SUCCESS) {
    err = invrg_config_input_error(cfg, "train", "data", "training data: %s",
                                   invrg_error_message());
    goto cleanup;
  }
  if (invrg_h5_check_format(*file, cfg->train.data, INVRG_FORMAT_VERSION_MAJOR) != INVRG_SUCCESS) {
    err = invrg_config_input_error(cfg, "train", "data", "%s", invrg_error_message());
    goto cleanup;
  }
cleanup:
  return err;
}

/* How many configurations the data will hold, known before any work. */
invrg_err invrg_train_data_count(const invrg_config *cfg, int64_t *n, int64_t *L_out) {
  invrg_err err = INVRG_SUCCESS;
  hid_t file = -1, dset = -1;
  if (cfg->train.data[0] == '\0') {
    *n = cfg->mc.n_chains * cfg->mc.n_samples;
    *L_out = cfg->train.data_L > 0 ? cfg->train.data_L : cfg->mc.L[0];
    goto cleanup;
  }
  INVRG_CALL(open_data_file(cfg, &file));
  int64_t L;
  const char *key = "data";
  err = find_data_L(cfg, file, cfg->train.data, &L, &key);
  *L_out = L;
  if (err == INVRG_SUCCESS) {
    char path[64];
    snprintf(path, sizeof path, "mc/L%lld/configs", (long long)L);
    if (H5Lexists(file, "mc", H5P_DEFAULT) <= 0 || H5Lexists(file, path, H5P_DEFAULT) <= 0) {
      err = invrg_config_input_error(cfg, "train", "data",
                                     "training data '%s' has no /%s (a run of stage mc with "
                                     "save_configs = .true. writes it)",
                                     cfg->train.data, path);
      goto cleanup;
    }
    if (H5Oexists_by_name(file, path, H5P_DEFAULT) <= 0 ||
        (dset = H5Oopen(file, path, H5P_DEFAULT)) < 0 || H5Iget_type(dset) != H5I_DATASET) {
      err = invrg_config_input_error(cfg, "train", "data", "training data '%s': /%s is not a "
                                     "dataset (a group, or a link to nothing)",
                                     cfg->train.data, path);
      goto cleanup;
    }
    /* Its shape now, as stage analyze checks its data: not after the stages before train. */
    char what[INVRG_PATH_LEN + 128];
    snprintf(what, sizeof what, "training data '%s': /%s", cfg->train.data, path);
    int64_t L_held = 0;
    bool packed = false;
    err = invrg_configs_info(dset, what, n, &L_held, &packed);
    if (err == INVRG_SUCCESS && L_held != L)
      err = invrg_error_set(INVRG_ERR_INPUT, __FILE__, __LINE__,
                            "%s holds configurations of L = %lld", what, (long long)L_held);
    if (err == INVRG_SUCCESS && L % 2 != 0) /* the model's coarse lattice is the L/2 blocks */
      err = invrg_error_set(INVRG_ERR_INPUT, __FILE__, __LINE__,
                            "%s holds configurations of L = %lld: training needs an even L, "
                            "whose 2 x 2 blocks tile the torus", what, (long long)L);
    if (err != INVRG_SUCCESS)
      err = invrg_config_input_error(cfg, "train", "data", "%s", invrg_error_message());
  } else {
    err = invrg_config_input_error(cfg, "train", key, "%s", invrg_error_message());
  }
cleanup:
  invrg_h5_close(&dset);
  invrg_h5_close(&file);
  return err;
}


invrg_err invrg_train_data_load(const invrg_config *cfg, hid_t run_file, int8_t **configs,
                                int64_t *n, int64_t *L) {
  invrg_err err = INVRG_SUCCESS;
  hid_t file = -1; /* &train data's file (the run file is not ours to close) */
  *configs = NULL;
  if (cfg->train.data[0] == '\0') {
    INVRG_CALL(find_data_L(cfg, run_file, "this run", L, NULL));
    INVRG_CALL(read_configs(run_file, cfg->run.output, *L, configs, n));
  } else {
    INVRG_CALL(open_data_file(cfg, &file));
    INVRG_CALL(find_data_L(cfg, file, cfg->train.data, L, NULL));
    if (read_configs(file, cfg->train.data, *L, configs, n) != INVRG_SUCCESS) {
      err = invrg_config_input_error(cfg, "train", "data", "%s", invrg_error_message());
      goto cleanup;
    }
  }
cleanup:
  invrg_h5_close(&file);
  return err;
}
