/* Seeds of refined dreams: saved Monte Carlo configurations read into packed lattices
 * (seed_configs_io.h). */
#include "invrg/seed_configs_io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/configs_io.h"
#include "invrg/h5util.h"

/* A scalar double attribute @p name of @p group of @p file, or NaN if there is none. */
static double optional_attr(hid_t file, const char *group, const char *name) {
  double value = NAN;
  if (H5Lexists(file, group, H5P_DEFAULT) <= 0 ||
      H5Aexists_by_name(file, group, name, H5P_DEFAULT) <= 0)
    return value;
  hid_t a = H5Aopen_by_name(file, group, name, H5P_DEFAULT, H5P_DEFAULT);
  if (a < 0) return value;
  if (H5Aread(a, H5T_NATIVE_DOUBLE, &value) < 0) value = NAN;
  H5Aclose(a);
  return value;
}

/* /mc/L<L>/configs of @p file, with its shape; input error naming &dream start_L if missing. */
static invrg_err open_dataset(const invrg_config *cfg, hid_t file, const char *name,
                              invrg_seed_configs *s) {
  invrg_err err = INVRG_SUCCESS;
  char path[64], what[1200];
  snprintf(path, sizeof path, "mc/L%lld/configs", (long long)cfg->dream.start_L);
  snprintf(what, sizeof what, "'%s': /%s", name, path);
  if (H5Lexists(file, "mc", H5P_DEFAULT) <= 0 || H5Lexists(file, path, H5P_DEFAULT) <= 0 ||
      (s->dset = H5Dopen2(file, path, H5P_DEFAULT)) < 0) {
    err = invrg_config_input_error(cfg, "dream", "start_L",
                                   "'%s' has no /%s (stage mc with save_configs = .true. and this "
                                   "L writes it)", name, path);
    goto cleanup;
  }
  err = invrg_configs_info(s->dset, what, &s->n, &s->L, &s->packed_format);
  if (err == INVRG_ERR_INPUT)
    err = invrg_config_input_error(cfg, "dream", "start_file", "%s", invrg_error_message());
  else if (err == INVRG_SUCCESS && s->L != cfg->dream.start_L)
    err = invrg_config_input_error(cfg, "dream", "start_file",
                                   "%s holds configurations of %lld x %lld, not start_L = %lld",
                                   what, (long long)s->L, (long long)s->L,
                                   (long long)cfg->dream.start_L);
cleanup:
  return err;
}

invrg_err invrg_seed_configs_count(const invrg_config *cfg, int64_t *n) {
  invrg_err err = INVRG_SUCCESS;
  invrg_seed_configs s = {.file = -1, .dset = -1};
  *n = 0;
  if (cfg->dream.start_file[0] == '\0') { /* this run's stage mc saves them */
    for (int i = 0; i < cfg->mc.n_L; i++)
      if (cfg->mc.L[i] == cfg->dream.start_L && cfg->mc.save_configs)
        *n = cfg->mc.n_chains * cfg->mc.n_samples;
    if (*n == 0 || !invrg_config_has_stage(cfg, INVRG_STAGE_MC))
      err = invrg_config_input_error(cfg, "dream", "start_L",
                                     "start = 'mc' with start_L = %lld needs stage mc with that "
                                     "L and save_configs = .true. in this run, or start_file",
                                     (long long)cfg->dream.start_L);
    goto cleanup;
  }
  INVRG_CALL(invrg_seed_configs_open(cfg, -1, &s));
  *n = s.n;
cleanup:
  invrg_seed_configs_close(&s);
  return err;
}

invrg_err invrg_seed_configs_open(const invrg_config *cfg, hid_t run_file,
                                  invrg_seed_configs *s) {
  invrg_err err = INVRG_SUCCESS;
  *s = (invrg_seed_configs){.file = -1, .dset = -1, .bad = INVRG_NON_SPIN_NONE};
  const char *name = cfg->dream.start_file;
  hid_t file = run_file;
  if (name[0] != '\0') {
    if (invrg_h5_open_input(name, &s->file) != INVRG_SUCCESS) {
      err = invrg_config_input_error(cfg, "dream", "start_file", "%s", invrg_error_message());
      goto cleanup;
    }
    file = s->file;
  } else {
    name = cfg->run.output;
  }
  INVRG_CALL(open_dataset(cfg, file, name, s));
  char group[64];
  snprintf(group, sizeof group, "mc/L%lld", (long long)cfg->dream.start_L);
  s->tau_energy = optional_attr(file, group, "energy_tau_int");
  s->tau_abs_m = optional_attr(file, group, "abs_m_tau_int");
cleanup:
  if (err != INVRG_SUCCESS) invrg_seed_configs_close(s);
  return err;
}

/* One stored row (int8, or 8 spins a byte, most significant first, 1 = +1) as ±1 bytes. */
static void row_spins(const uint8_t *row, bool packed_format, int64_t lx, int8_t *spins) {
  if (!packed_format) {
    memcpy(spins, row, (size_t)lx);
    return;
  }
  for (int64_t x = 0; x < lx; x++)
    spins[x] = (int8_t)(row[x >> 3] >> (7 - (x & 7)) & 1 ? 1 : -1);
}

invrg_err invrg_seed_configs_read(invrg_seed_configs *s, int64_t index, invrg_packed *p) {
  invrg_err err = INVRG_SUCCESS;
  const size_t row_bytes = s->packed_format ? (size_t)p->lx / 8 : (size_t)p->lx;
  /* slabs of rows through about 1 MiB: a whole seed level would cost a byte per seed spin */
  const size_t budget_rows = ((size_t)1 << 20) / row_bytes;
  const int slab = budget_rows < 1 ? 1 : budget_rows < (size_t)p->ny ? (int)budget_rows : p->ny;
  uint8_t *rows = malloc((size_t)slab * row_bytes + 1);
  int8_t *spins = malloc((size_t)p->lx);
  INVRG_CHECK_ALLOC(rows);
  INVRG_CHECK_ALLOC(spins);
  INVRG_CHECK(p->lx == s->L && index >= 0 && index < s->n, INVRG_ERR_RUNTIME,
              "seed configuration %lld of %lld (L = %lld) into a %lld lattice",
              (long long)index, (long long)s->n, (long long)s->L, (long long)p->lx);
  for (int j0 = 0; j0 < p->ny; j0 += slab) {
    const int n = p->ny - j0 < slab ? p->ny - j0 : slab;
    INVRG_CALL(invrg_h5_read_block3(s->dset,
                                    s->packed_format ? H5T_NATIVE_UINT8 : H5T_NATIVE_INT8,
                                    (hsize_t)index, 1, (hsize_t)(p->y0 + j0), (hsize_t)n, 0,
                                    (hsize_t)row_bytes, rows));
    for (int j = 0; j < n; j++) {
      row_spins(rows + (size_t)j * row_bytes, s->packed_format, p->lx, spins);
      if (!s->packed_format) /* packed bits are spins whatever they hold */
        invrg_non_spin_note(&s->bad, index, (uint8_t *)spins, p->lx, 1, 0, p->y0 + j0 + j);
      invrg_packed_pack_row(spins, p->lx, p->y0 + j0 + j, invrg_packed_row(p, 0, j0 + j),
                            invrg_packed_row(p, 1, j0 + j));
    }
  }
cleanup:
  free(rows);
  free(spins);
  return err;
}

invrg_err invrg_seed_configs_agree(const invrg_config *cfg, invrg_seed_configs *s,
                                   MPI_Comm comm) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CALL(invrg_non_spin_agree(&s->bad, comm));
  if (s->bad.config == INVRG_NO_NON_SPIN) goto cleanup;
  char what[256];
  snprintf(what, sizeof what,
           "/mc/L%lld/configs: configuration %lld holds the value %lld at (x, y) = (%lld, "
           "%lld), which is not a spin (+1 or -1)",
           (long long)s->L, (long long)s->bad.config, (long long)s->bad.value,
           (long long)s->bad.x, (long long)s->bad.y);
  if (cfg->dream.start_file[0] != '\0')
    err = invrg_config_input_error(cfg, "dream", "start_file", "'%s': %s",
                                   cfg->dream.start_file, what);
  else
    INVRG_CHECK(false, INVRG_ERR_RUNTIME, "this run's file '%s': %s", cfg->run.output, what);
cleanup:
  return err;
}

void invrg_seed_configs_close(invrg_seed_configs *s) {
  invrg_h5_close(&s->dset);
  invrg_h5_close(&s->file);
}
