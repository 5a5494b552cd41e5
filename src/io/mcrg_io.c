/*
 * MCRG in HDF5 (mcrg_io.h): results into the run file, accumulator state into checkpoints.
 * Layout of the results under @p loc:
 *
 *   mcrg/<source>/<pairs>/          attrs: sets, tie_rule, jackknife_blocks, rcond, conventions
 *     level<n>/                     attrs: level, L_coarse [Lx, Ly], L_fine, n_samples,
 *                                          n_blocks (non-empty jackknife blocks), tie_fraction
 *       <set>/                      attrs: operators, definitions, odd,
 *                                          lambda_t, lambda_t_err, y_t, y_t_err,
 *                                          lambda_h, lambda_h_err, y_h, y_h_err
 *                                   datasets: mean_coarse [n], mean_fine [n], A [n][n], B [n][n]
 *         even/, odd/               attrs: operators, operator_index (in the set)
 *                                   datasets: T [m][m], eigenvalues [m][2] (re, im),
 *                                   eigenvalues_err [m][2], y [m], y_err [m],
 *                                   series_eigenvalues [m][m][2] (N_c − 1, k, re/im; NaN for
 *                                   k ≥ N_c), series_eigenvalues_err, series_y [m][m], series_y_err
 */
#include "invrg/mcrg_io.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "invrg/h5util.h"

/* ------------------------------------------------------------------ results */

static const char *const conventions =
    "lattice sums (not means); A = cov(S^c, S^c), B = cov(S^c, S^f); T = pinv(A) B per sector, "
    "SVD cut at rcond * sigma_max; eigenvalues sorted by modulus; y = ln|lambda| / ln 2; level n = "
    "pair (blocked n times, blocked n - 1 times); errors: delete-one jackknife over blocks";

static invrg_err write_sector(hid_t parent, const char *name, const invrg_operator_set *set,
                              const invrg_mcrg_sector *sec, bool writer) {
  invrg_err err = INVRG_SUCCESS;
  hid_t grp = -1;
  const char **names = NULL;
  int64_t *index = NULL;
  const int m = sec->n;
  if (m == 0) goto cleanup;
  names = malloc((size_t)m * sizeof *names);
  index = malloc((size_t)m * sizeof *index);
  INVRG_CHECK_ALLOC(names);
  INVRG_CHECK_ALLOC(index);
  for (int k = 0; k < m; k++) {
    names[k] = set->op[sec->index[k]].name;
    index[k] = sec->index[k];
  }
  INVRG_CALL(invrg_h5_create_group(parent, name, &grp));
  INVRG_CALL(invrg_h5_attr_strings(grp, "operators", names, m));
  INVRG_CALL(invrg_h5_attr_int64(grp, "operator_index", index, m, false));
  const hsize_t mm[2] = {(hsize_t)m, (hsize_t)m}, m2[2] = {(hsize_t)m, 2};
  const hsize_t mm2[3] = {(hsize_t)m, (hsize_t)m, 2};
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "T", 2, mm, sec->T, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "eigenvalues", 2, m2, sec->eig, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "eigenvalues_err", 2, m2, sec->eig_err, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "y", 1, mm, sec->y, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "y_err", 1, mm, sec->y_err, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "series_eigenvalues", 3, mm2, sec->series, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "series_eigenvalues_err", 3, mm2, sec->series_err, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "series_y", 2, mm, sec->series_y, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "series_y_err", 2, mm, sec->series_y_err, writer));
cleanup:
  invrg_h5_close(&grp);
  free(names);
  free(index);
  return err;
}

static invrg_err write_set(hid_t level_grp, const invrg_operator_set *set,
                           const invrg_mcrg_level *L, bool writer) {
  invrg_err err = INVRG_SUCCESS;
  hid_t grp = -1;
  const char **names = NULL, **defs = NULL;
  bool *odd = NULL;
  const int n = set->n;
  names = malloc((size_t)n * sizeof *names);
  defs = malloc((size_t)n * sizeof *defs);
  odd = malloc((size_t)n * sizeof *odd);
  INVRG_CHECK_ALLOC(names);
  INVRG_CHECK_ALLOC(defs);
  INVRG_CHECK_ALLOC(odd);
  for (int a = 0; a < n; a++) {
    names[a] = set->op[a].name;
    defs[a] = set->op[a].definition;
    odd[a] = set->op[a].odd;
  }
  INVRG_CALL(invrg_h5_create_group(level_grp, set->name, &grp));
  INVRG_CALL(invrg_h5_attr_strings(grp, "operators", names, n));
  INVRG_CALL(invrg_h5_attr_strings(grp, "definitions", defs, n));
  INVRG_CALL(invrg_h5_attr_bool(grp, "odd", odd, n, false));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "lambda_t", L->lambda_t));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "lambda_t_err", L->lambda_t_err));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "y_t", L->y_t));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "y_t_err", L->y_t_err));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "lambda_h", L->lambda_h));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "lambda_h_err", L->lambda_h_err));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "y_h", L->y_h));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "y_h_err", L->y_h_err));
  const hsize_t nn[2] = {(hsize_t)n, (hsize_t)n};
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "mean_coarse", 1, nn, L->mean_coarse, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "mean_fine", 1, nn, L->mean_fine, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "A", 2, nn, L->A, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "B", 2, nn, L->B, writer));
  INVRG_CALL(write_sector(grp, "even", set, &L->sector[INVRG_MCRG_EVEN], writer));
  INVRG_CALL(write_sector(grp, "odd", set, &L->sector[INVRG_MCRG_ODD], writer));
cleanup:
  invrg_h5_close(&grp);
  free(names);
  free(defs);
  free(odd);
  return err;
}

invrg_err invrg_mcrg_write(const invrg_mcrg_results *r, hid_t loc, const char *source,
                           const char *pairs, MPI_Comm comm) {
  invrg_err err = INVRG_SUCCESS;
  hid_t top = -1, level_grp = -1;
  int rank;
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  const bool writer = rank == 0;
  char path[512];
  snprintf(path, sizeof path, "mcrg/%s/%s", source, pairs);
  INVRG_CALL(invrg_h5_create_group(loc, path, &top));
  const char *set_names[INVRG_MCRG_MAX_SETS];
  for (int s = 0; s < r->n_sets; s++) set_names[s] = r->set[s]->name;
  INVRG_CALL(invrg_h5_attr_strings(top, "sets", set_names, r->n_sets));
  INVRG_CALL(invrg_h5_attr_string(top, "tie_rule", invrg_tie_rule_name(r->tie_rule)));
  int64_t blocks = r->n_blocks;
  INVRG_CALL(invrg_h5_attr_int64(top, "jackknife_blocks", &blocks, 1, true));
  INVRG_CALL(invrg_h5_attr_scalar(top, "rcond", r->rcond));
  INVRG_CALL(invrg_h5_attr_string(top, "conventions", conventions));
  for (int level = 1; level <= r->n_levels; level++) {
    const invrg_mcrg_level *L0 = invrg_mcrg_result(r, 0, level);
    if (L0->n_samples == 0) continue;
    char name[32];
    snprintf(name, sizeof name, "level%d", level);
    INVRG_CALL(invrg_h5_create_group(top, name, &level_grp));
    int64_t lv = level, n_samples = L0->n_samples, n_blocks = L0->n_blocks;
    int64_t lc[2] = {L0->lx_coarse, L0->ly_coarse}, lf[2] = {2 * L0->lx_coarse, 2 * L0->ly_coarse};
    INVRG_CALL(invrg_h5_attr_int64(level_grp, "level", &lv, 1, true));
    INVRG_CALL(invrg_h5_attr_int64(level_grp, "L_coarse", lc, 2, false));
    INVRG_CALL(invrg_h5_attr_int64(level_grp, "L_fine", lf, 2, false));
    INVRG_CALL(invrg_h5_attr_int64(level_grp, "n_samples", &n_samples, 1, true));
    INVRG_CALL(invrg_h5_attr_int64(level_grp, "n_blocks", &n_blocks, 1, true));
    INVRG_CALL(invrg_h5_attr_scalar(level_grp, "tie_fraction", L0->tie_fraction));
    for (int s = 0; s < r->n_sets; s++)
      INVRG_CALL(write_set(level_grp, r->set[s], invrg_mcrg_result(r, s, level), writer));
    invrg_h5_close(&level_grp);
  }
cleanup:
  invrg_h5_close(&level_grp);
  invrg_h5_close(&top);
  return err;
}

/* ------------------------------------------------------------------ checkpoints */

invrg_err invrg_mcrg_save(const invrg_mcrg *m, hid_t loc, const char *name, MPI_Comm comm) {
  invrg_err err = INVRG_SUCCESS;
  const size_t n = invrg_mcrg_state_length(m);
  char path[96];
  int rank;
  int64_t *state = malloc(n * sizeof *state);
  INVRG_CHECK_ALLOC(state);
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  INVRG_CALL(invrg_mcrg_state_export(m, state));
  snprintf(path, sizeof path, "%s_sums", name);
  INVRG_CALL(invrg_h5_write_int64(loc, path, state, n, rank == 0));
cleanup:
  free(state);
  return err;
}

invrg_err invrg_mcrg_load(invrg_mcrg *m, hid_t loc, const char *name) {
  invrg_err err = INVRG_SUCCESS;
  const size_t n = invrg_mcrg_state_length(m);
  char path[96];
  int64_t *state = malloc(n * sizeof *state);
  INVRG_CHECK_ALLOC(state);
  snprintf(path, sizeof path, "%s_sums", name);
  INVRG_CALL(invrg_h5_read_int64(loc, path, state, n));
  INVRG_CALL(invrg_mcrg_state_import(m, state));
cleanup:
  free(state);
  return err;
}
