/* The saved configurations stage analyze analyses (analyze_ensembles.h). */
#include "invrg/analyze_ensembles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/configs_io.h"
#include "invrg/exact.h"
#include "invrg/h5util.h"

static void insert_sorted(invrg_analyze_ensembles *list, const invrg_analyze_ensemble *e) {
  int i = list->n++;
  for (; i > 0 && list->e[i - 1].L > e->L; i--) list->e[i] = list->e[i - 1];
  list->e[i] = *e;
}

invrg_err invrg_analyze_find_ensembles(hid_t file, const char *name, invrg_source source_kind,
                                       invrg_analyze_ensembles *out) {
  invrg_err err = INVRG_SUCCESS;
  const char *source = invrg_source_name(source_kind);
  hid_t g = -1, sub = -1, dset = -1, attr = -1;
  char where[INVRG_PATH_LEN + 32];
  snprintf(where, sizeof where, "%s: /%s", name, source);
  out->n = 0;
  if (H5Lexists(file, source, H5P_DEFAULT) <= 0) goto cleanup;
  INVRG_CHECK(H5Oexists_by_name(file, source, H5P_DEFAULT) > 0, INVRG_ERR_INPUT,
              "%s is a link to nothing", where);
  INVRG_H5_CALL(g = H5Gopen2(file, source, H5P_DEFAULT), where);
  H5G_info_t info;
  INVRG_H5_CALL(H5Gget_info(g, &info), where);
  for (hsize_t i = 0; i < info.nlinks; i++) {
    char member[64] = "", path[96], what[INVRG_PATH_LEN + 128];
    if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, member, sizeof member,
                           H5P_DEFAULT) < 0 || member[0] != 'L')
      continue;
    char *end = NULL, canonical[32];
    const long long L = strtoll(member + 1, &end, 10);
    snprintf(canonical, sizeof canonical, "L%lld", L); /* the name a size has: L8, not L08 */
    snprintf(path, sizeof path, "%s/configs", member);
    if (L <= 0 || *end != '\0' || strcmp(canonical, member) != 0 ||
        H5Lexists(g, path, H5P_DEFAULT) <= 0)
      continue;
    snprintf(what, sizeof what, "%s: /%s/%s", name, source, path);
    invrg_analyze_ensemble e = {0, 0, false, INVRG_K_CRITICAL, false};
    INVRG_H5_CALL(sub = H5Gopen2(g, member, H5P_DEFAULT), what);
    INVRG_H5_CALL(dset = H5Dopen2(sub, "configs", H5P_DEFAULT), what);
    INVRG_CALL(invrg_configs_info(dset, what, &e.n, &e.L, &e.packed));
    INVRG_CHECK(e.L == L, INVRG_ERR_INPUT, "%s holds configurations of L = %lld", what,
                (long long)e.L);
    INVRG_CHECK(e.n >= 2, INVRG_ERR_INPUT,
                "%s holds %lld configuration; the jackknife needs at least 2", what,
                (long long)e.n);
    INVRG_CHECK(out->n < INVRG_ANALYZE_MAX_SIZES, INVRG_ERR_INPUT,
                "%s: more than %d sizes under /%s", name, INVRG_ANALYZE_MAX_SIZES, source);
    bool has_beta = false; /* an HDF5 failure here must not pass for K_c */
    if (source_kind == INVRG_SOURCE_MC) INVRG_CALL(invrg_h5_attr_exists(sub, "beta", &has_beta));
    if (has_beta) { /* Monte Carlo at any K */
      char beta_what[INVRG_PATH_LEN + 128];
      snprintf(beta_what, sizeof beta_what, "%s: attribute beta of /%s/%s", name, source, member);
      hid_t type = -1;
      INVRG_H5_CALL(attr = H5Aopen(sub, "beta", H5P_DEFAULT), beta_what);
      const bool number = (type = H5Aget_type(attr)) >= 0 && H5Tget_class(type) == H5T_FLOAT &&
                          H5Aget_storage_size(attr) == H5Tget_size(type);
      invrg_h5_close(&type);
      INVRG_CHECK(number, INVRG_ERR_INPUT, "%s is not one floating-point number", beta_what);
      INVRG_H5_CALL(H5Aread(attr, H5T_NATIVE_DOUBLE, &e.K), beta_what);
      invrg_h5_close(&attr);
      /* the same range as &mc beta: C/N = K² N var(E) and its error stay finite */
      INVRG_CHECK(e.K > 0 && e.K <= 1e50, INVRG_ERR_INPUT,
                  "%s = %g is not a coupling in (0, 1e50]", beta_what, e.K);
    } else if (source_kind == INVRG_SOURCE_MC) {
      e.K_assumed = true;
    }
    insert_sorted(out, &e);
    invrg_h5_close(&dset);
    invrg_h5_close(&sub);
  }
cleanup:
  invrg_h5_close(&attr);
  invrg_h5_close(&dset);
  invrg_h5_close(&sub);
  invrg_h5_close(&g);
  return err;
}

/* (At check time the file is still empty: the input says what will be there.) */
void invrg_analyze_planned_ensembles(const invrg_config *cfg, invrg_source source,
                                     invrg_analyze_ensembles *out) {
  const bool packed = cfg->output.configs_format_kind == INVRG_CONFIGS_PACKED;
  out->n = 0;
  if (source == INVRG_SOURCE_MC && invrg_config_has_stage(cfg, INVRG_STAGE_MC) &&
      cfg->mc.save_configs)
    for (int i = 0; i < cfg->mc.n_L; i++)
      out->e[out->n++] = (invrg_analyze_ensemble){
          cfg->mc.L[i], cfg->mc.n_chains * cfg->mc.n_samples, packed, cfg->mc.beta, false};
  if (source == INVRG_SOURCE_DREAM && invrg_config_has_stage(cfg, INVRG_STAGE_DREAM))
    for (int i = 0; i < cfg->dream.n_save_levels && out->n < INVRG_ANALYZE_MAX_SIZES; i++) {
      const int64_t n = cfg->dream.save_max < cfg->dream.n_samples ? cfg->dream.save_max
                                                                   : cfg->dream.n_samples;
      out->e[out->n++] = (invrg_analyze_ensemble){INT64_C(1) << cfg->dream.save_levels[i], n,
                                                  packed, INVRG_K_CRITICAL, false};
    }
}

