/* Correlations in HDF5: results into the run file, accumulator state into checkpoints
 * (corr_io.h). */
#include "invrg/corr_io.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "invrg/h5util.h"

/* ------------------------------------------------------------------ results */

static const char *const conventions =
    "S(k) = |sum_x s_x exp(-i k.x)|^2 / N, k = 2 pi n / L; G(r) = <s_0 s_r> = (1/N) sum_k S(k) "
    "exp(i k.r); G_axis(r) = [G(r,0) + G(0,r)]/2, G_diag(r) = [G(r,r) + G(r,-r)]/2, r = 0..L/2, "
    "from inverse transforms of projections of S(k); S_radial(q): mean S over modes whose folded "
    "|n| rounds to q, k = their mean |k|; xi2 = sqrt(S(0)/S(kmin) - 1) / (2 sin(pi/L)), S(kmin) = "
    "[S(2pi/L,0) + S(0,2pi/L)]/2, from the row and column sums of each configuration (O(N)); "
    "chi_prime = S(0) = N <m^2>; G, k, S_radial only with &analyze correlation_functions; S_map [n_y][n_x] (n_x = 0..L/2), "
    "G_map [y][x]; per-configuration S in fixed point of 2^-fixed_point_bits, summed exactly; "
    "errors: delete-one jackknife over the non-empty blocks";

/* The attributes of L<L>/: counts, then the scalars with their errors. */
static invrg_err write_size_attributes(hid_t grp, const invrg_corr_size *z) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t ints[4] = {z->L, z->n_samples, z->n_blocks, z->fixed_point_bits};
  INVRG_CALL(invrg_h5_attr_int64(grp, "L", &ints[0], 1, true));
  INVRG_CALL(invrg_h5_attr_int64(grp, "n_samples", &ints[1], 1, true));
  INVRG_CALL(invrg_h5_attr_int64(grp, "n_blocks", &ints[2], 1, true));
  INVRG_CALL(invrg_h5_attr_int64(grp, "fixed_point_bits", &ints[3], 1, true));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "chi_prime", z->chi_prime));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "chi_prime_err", z->chi_prime_err));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "S_kmin", z->S_kmin));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "S_kmin_err", z->S_kmin_err));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "xi2", z->xi2));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "xi2_err", z->xi2_err));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "xi2_over_L", z->xi2_over_L));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "xi2_over_L_err", z->xi2_over_L_err));
  INVRG_CALL(invrg_h5_attr_scalar(grp, "xi2_over_L_critical", INVRG_XI2_OVER_L_CRITICAL));
cleanup:
  return err;
}

static invrg_err write_size(hid_t top, const invrg_corr_size *z, bool writer) {
  invrg_err err = INVRG_SUCCESS;
  hid_t grp = -1, dset = -1;
  int64_t *r = NULL;
  char name[40];
  snprintf(name, sizeof name, "L%lld", (long long)z->L);
  INVRG_CALL(invrg_h5_create_group(top, name, &grp));
  INVRG_CALL(write_size_attributes(grp, z));

  const hsize_t nr[1] = {(hsize_t)z->n_r}, ns[1] = {(hsize_t)z->n_shells};
  const hsize_t nj[1] = {(hsize_t)z->n_jackknife};
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "xi2_over_L_jackknife", 1, nj, z->xi2_over_L_jackknife,
                                      writer));
  if (!z->has_functions) goto cleanup; /* G(r), S(k): only with &analyze correlation_functions */
  r = malloc((size_t)z->n_r * sizeof *r);
  INVRG_CHECK_ALLOC(r);
  for (int k = 0; k < z->n_r; k++) r[k] = k;
  INVRG_CALL(invrg_h5_create_dataset(grp, "r", H5T_STD_I64LE, 1, nr, &dset));
  if (writer) INVRG_CALL(invrg_h5_write_rows(dset, H5T_NATIVE_INT64, 0, nr[0], r));
  invrg_h5_close(&dset);
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "G_axis", 1, nr, z->G_axis, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "G_axis_err", 1, nr, z->G_axis_err, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "G_diag", 1, nr, z->G_diag, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "G_diag_err", 1, nr, z->G_diag_err, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "k", 1, ns, z->k_shell, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "shell_modes", 1, ns, z->shell_modes, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "S_radial", 1, ns, z->S_radial, writer));
  INVRG_CALL(invrg_h5_dataset_doubles(grp, "S_radial_err", 1, ns, z->S_radial_err, writer));
  if (z->has_map) {
    const hsize_t sm[2] = {(hsize_t)z->L, (hsize_t)(z->L / 2 + 1)};
    const hsize_t gm[2] = {(hsize_t)z->L, (hsize_t)z->L};
    INVRG_CALL(invrg_h5_dataset_doubles(grp, "S_map", 2, sm, z->S_map, writer));
    INVRG_CALL(invrg_h5_dataset_doubles(grp, "G_map", 2, gm, z->G_map, writer));
  }
cleanup:
  free(r);
  invrg_h5_close(&dset);
  invrg_h5_close(&grp);
  return err;
}

invrg_err invrg_corr_write(const invrg_corr_results *r, hid_t loc, const char *source,
                           MPI_Comm comm) {
  invrg_err err = INVRG_SUCCESS;
  hid_t top = -1;
  int rank;
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  char path[512];
  snprintf(path, sizeof path, "corr/%s", source);
  INVRG_CALL(invrg_h5_create_group(loc, path, &top));
  INVRG_CALL(invrg_h5_attr_string(top, "conventions", conventions));
  const int64_t blocks = r->n_blocks;
  INVRG_CALL(invrg_h5_attr_int64(top, "jackknife_blocks", &blocks, 1, true));
  for (int i = 0; i < r->n_sizes; i++)
    if (r->size[i].n_samples > 0) INVRG_CALL(write_size(top, &r->size[i], rank == 0));
cleanup:
  invrg_h5_close(&top);
  return err;
}

/* ------------------------------------------------------------------ checkpoints */

invrg_err invrg_corr_save(invrg_corr *c, hid_t loc, const char *name, MPI_Comm comm) {
  invrg_err err = INVRG_SUCCESS;
  invrg_corr_state *st = NULL;
  int64_t *sizes = NULL;
  char path[96];
  int rank;
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  INVRG_CALL(invrg_corr_state_export(c, &st));
  sizes = malloc((size_t)(st->n_sizes + 1) * sizeof *sizes);
  INVRG_CHECK_ALLOC(sizes);
  sizes[0] = st->n_sizes; /* then the sizes */
  for (int i = 0; i < st->n_sizes; i++) sizes[1 + i] = st->L[i];
  snprintf(path, sizeof path, "%s_sizes", name);
  INVRG_CALL(invrg_h5_write_int64(loc, path, sizes, (size_t)st->n_sizes + 1, rank == 0));
  for (int i = 0; i < st->n_sizes; i++) {
    snprintf(path, sizeof path, "%s_L%lld", name, (long long)st->L[i]);
    INVRG_CALL(invrg_h5_write_int64(loc, path, st->sums[i], st->n_sums[i], rank == 0));
  }
cleanup:
  invrg_corr_state_destroy(&st);
  free(sizes);
  return err;
}

/* The dataset "<name>_sizes": its count n_sizes, then the sizes (*out, n_sizes + 1 numbers). */
static invrg_err read_sizes(hid_t loc, const char *name, int64_t **out) {
  invrg_err err = INVRG_SUCCESS;
  int64_t *sizes = NULL;
  hid_t dset = -1, space = -1;
  char path[96];
  *out = NULL;
  snprintf(path, sizeof path, "%s_sizes", name);
  INVRG_H5_CALL(dset = H5Dopen2(loc, path, H5P_DEFAULT), path);
  INVRG_H5_CALL(space = H5Dget_space(dset), path);
  hssize_t n_numbers = H5Sget_simple_extent_npoints(space);
  INVRG_CHECK(n_numbers >= 1, INVRG_ERR_RUNTIME, "correlations: empty '%s'", path);
  sizes = malloc((size_t)n_numbers * sizeof *sizes);
  INVRG_CHECK_ALLOC(sizes);
  INVRG_CALL(invrg_h5_read_int64(loc, path, sizes, (size_t)n_numbers));
  INVRG_CHECK(sizes[0] == n_numbers - 1, INVRG_ERR_RUNTIME, "correlations: corrupt '%s'", path);
  *out = sizes;
  sizes = NULL;
cleanup:
  invrg_h5_close(&space);
  invrg_h5_close(&dset);
  free(sizes);
  return err;
}

invrg_err invrg_corr_load(invrg_corr *c, hid_t loc, const char *name) {
  invrg_err err = INVRG_SUCCESS;
  invrg_corr_state *st = NULL;
  int64_t *sizes = NULL;
  char path[96];
  INVRG_CALL(read_sizes(loc, name, &sizes));
  INVRG_CALL(invrg_corr_state_create(c, (int)sizes[0], sizes + 1, &st));
  for (int i = 0; i < st->n_sizes; i++) {
    snprintf(path, sizeof path, "%s_L%lld", name, (long long)st->L[i]);
    INVRG_CALL(invrg_h5_read_int64(loc, path, st->sums[i], st->n_sums[i]));
  }
  INVRG_CALL(invrg_corr_state_import(c, st));
cleanup:
  invrg_corr_state_destroy(&st);
  free(sizes);
  return err;
}
