/* Model files (src/io/model_io.c, the layout of include/invrg/model_io.h): every model kind
 * written and read back bit for bit with its kind, kernel, channels and parameter names, several
 * models in one file; a file with a missing or renamed attribute, an unknown kind, a parameter
 * count or shape that does not fit, or that is not an invrg file of this major version is
 * refused with an input error that names the file, and nothing is returned. */
#include <check.h>
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "invrg/h5util.h"
#include "invrg/log.h"
#include "invrg/model.h"
#include "invrg/model_io.h"
#include "invrg/runfile.h"
#include "unit/check_runner.h"

static char dir[64]; /* the files of this test */

typedef struct {
  char s[400];
} file_path;

static file_path path_of(const char *name) {
  file_path p;
  snprintf(p.s, sizeof p.s, "%s/%s", dir, name);
  return p;
}

/* ------------------------------------------------------------------ files */

/* A new file (parallel HDF5 on this one rank, as a run file) with the root attributes of an
 * invrg file of format major @p major. */
static hid_t new_file(const char *path, int64_t major) {
  hid_t fapl = -1;
  ck_assert_int_eq(invrg_h5_parallel_fapl(MPI_COMM_WORLD, &fapl), INVRG_SUCCESS);
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  ck_assert_msg(f >= 0, "cannot create %s", path);
  const int64_t version[2] = {major, INVRG_FORMAT_VERSION_MINOR};
  ck_assert_int_eq(invrg_h5_attr_string(f, "format", "invrg"), INVRG_SUCCESS);
  ck_assert_int_eq(invrg_h5_attr_int64(f, "format_version", version, 2, false), INVRG_SUCCESS);
  return f;
}

/* A model of @p kind whose parameters use every bit of a double: signs, exponents from 2^-30 to
 * 2^30, −0 and a subnormal. */
static invrg_model *make_model(invrg_model_kind kind, int kernel, int channels) {
  invrg_model *m = NULL;
  ck_assert_int_eq(invrg_model_create(kind, kernel, channels, &m), INVRG_SUCCESS);
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, 99, INVRG_RNG_TRAIN, (uint64_t)m->n_params, 0);
  for (int i = 0; i < m->n_params; i++)
    m->params[i] = ldexp(invrg_rng_uniform(&s, (uint64_t)i, 0) - 0.5, i % 61 - 30);
  m->params[0] = -0.0;
  if (m->n_params > 3) m->params[3] = 4.9406564584124654e-324;
  return m;
}

/* Writes @p m as @p group of a new file @p name; returns the file's path. */
static file_path write_model(const char *name, const char *group, const invrg_model *m) {
  file_path p = path_of(name);
  hid_t f = new_file(p.s, INVRG_FORMAT_VERSION_MAJOR);
  ck_assert_msg(invrg_model_write(f, group, m) == INVRG_SUCCESS, "write: %s",
                invrg_error_message());
  ck_assert(H5Fclose(f) >= 0);
  return p;
}

static void expect_same_model(const invrg_model *got, const invrg_model *want) {
  ck_assert_ptr_nonnull(got);
  ck_assert_int_eq(got->kind, want->kind);
  ck_assert_int_eq(got->family, want->family);
  ck_assert_int_eq(got->kernel, want->kernel);
  ck_assert_int_eq(got->channels, want->channels);
  ck_assert_int_eq(got->n_params, want->n_params);
  for (int i = 0; i < want->n_params; i++)
    ck_assert_msg(memcmp(&got->params[i], &want->params[i], sizeof(double)) == 0,
                  "%s parameter %d: read %a, wrote %a", invrg_model_kind_name(want->kind), i, got->params[i],
                  want->params[i]);
}

/* The attributes and dataset on disk, read with HDF5 alone: what tools/invrg_io.py sees. */
static void expect_layout_on_disk(const char *path, const char *group, const invrg_model *m) {
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t g = H5Gopen2(f, group, H5P_DEFAULT);
  ck_assert(f >= 0 && g >= 0);
  int64_t kernel = -1, channels = -1;
  hid_t a = H5Aopen(g, "kernel", H5P_DEFAULT);
  ck_assert(a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &kernel) >= 0);
  H5Aclose(a);
  a = H5Aopen(g, "channels", H5P_DEFAULT);
  ck_assert(a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &channels) >= 0);
  H5Aclose(a);
  ck_assert_int_eq(kernel, m->kernel);
  ck_assert_int_eq(channels, m->channels);
  a = H5Aopen(g, "kind", H5P_DEFAULT);
  hid_t type = H5Aget_type(a);
  char *kind = NULL;
  ck_assert(H5Tis_variable_str(type) > 0 && H5Aread(a, type, &kind) >= 0);
  ck_assert_str_eq(kind, invrg_model_kind_name(m->kind)); /* the file keeps the name */
  H5free_memory(kind);
  H5Tclose(type);
  H5Aclose(a);
  /* param_names: one name per parameter, in the order of invrg_model_param_name() */
  a = H5Aopen(g, "param_names", H5P_DEFAULT);
  hid_t space = H5Aget_space(a);
  ck_assert_int_eq(H5Sget_simple_extent_npoints(space), m->n_params);
  char **names = calloc((size_t)m->n_params, sizeof *names);
  type = H5Aget_type(a);
  ck_assert(H5Aread(a, type, names) >= 0);
  for (int i = 0; i < m->n_params; i++) {
    char want[64];
    invrg_model_param_name(m, i, want, sizeof want);
    ck_assert_msg(names[i] != NULL && strcmp(names[i], want) == 0,
                  "param_names[%d] = '%s', not '%s'", i, names[i] ? names[i] : "(null)", want);
  }
  for (int i = 0; i < m->n_params; i++) H5free_memory(names[i]);
  free(names);
  H5Tclose(type);
  H5Sclose(space);
  H5Aclose(a);
  /* params: float64, little-endian, one dimension of n_params */
  hid_t d = H5Dopen2(g, "params", H5P_DEFAULT);
  type = H5Dget_type(d);
  space = H5Dget_space(d);
  hsize_t n = 0;
  ck_assert(H5Tequal(type, H5T_IEEE_F64LE) > 0);
  ck_assert_int_eq(H5Sget_simple_extent_ndims(space), 1);
  H5Sget_simple_extent_dims(space, &n, NULL);
  ck_assert_int_eq((long long)n, m->n_params);
  H5Sclose(space);
  H5Tclose(type);
  H5Dclose(d);
  H5Gclose(g);
  H5Fclose(f);
}

/* ------------------------------------------------------------------ round trips */

static const struct {
  invrg_model_kind kind;
  int kernel, channels;
} kinds[] = {{INVRG_MODEL_KIND_SYM3, 3, 0}, {INVRG_MODEL_KIND_SYM5, 5, 0},
             {INVRG_MODEL_KIND_SYM7, 7, 0}, {INVRG_MODEL_KIND_CONV, 3, 4},
             {INVRG_MODEL_KIND_CONV, 5, 2}, {INVRG_MODEL_KIND_CONV, 7, 1}};
enum { N_KINDS = (int)(sizeof kinds / sizeof kinds[0]) };

START_TEST(every_kind_round_trips) {
  for (int k = 0; k < N_KINDS; k++) {
    invrg_model *m = make_model(kinds[k].kind, kinds[k].kernel, kinds[k].channels), *got = NULL;
    const char *path = write_model("kind.h5", "model", m).s;
    expect_layout_on_disk(path, "model", m);
    ck_assert_msg(invrg_model_read(path, "/model", &got) == INVRG_SUCCESS, "%s: %s", invrg_model_kind_name(m->kind),
                  invrg_error_message());
    expect_same_model(got, m);
    invrg_model_destroy(&got);
    invrg_model_destroy(&m);
  }
}
END_TEST

/* Several models in one file, under nested groups, read from the open file. */
START_TEST(several_models_in_one_file) {
  const file_path p = path_of("several.h5");
  const char *path = p.s;
  hid_t f = new_file(path, INVRG_FORMAT_VERSION_MAJOR);
  invrg_model *m[N_KINDS];
  char group[N_KINDS][64];
  for (int k = 0; k < N_KINDS; k++) {
    m[k] = make_model(kinds[k].kind, kinds[k].kernel, kinds[k].channels);
    snprintf(group[k], sizeof group[k], "train/replica_%d/model", k);
    ck_assert_int_eq(invrg_model_write(f, group[k], m[k]), INVRG_SUCCESS);
  }
  ck_assert(H5Fclose(f) >= 0);
  f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert(f >= 0);
  for (int k = N_KINDS - 1; k >= 0; k--) {
    invrg_model *got = NULL;
    ck_assert_msg(invrg_model_read_open(f, path, group[k], &got) == INVRG_SUCCESS, "%s: %s",
                  group[k], invrg_error_message());
    expect_same_model(got, m[k]);
    invrg_model_destroy(&got);
    invrg_model_destroy(&m[k]);
  }
  H5Fclose(f);
}
END_TEST

/* The kind as a fixed-length string (as other HDF5 writers may store it) reads alike. */
START_TEST(fixed_length_kind_is_read) {
  invrg_model *m = make_model(INVRG_MODEL_KIND_SYM5, 5, 0), *got = NULL;
  const file_path p = write_model("fixed.h5", "model", m);
  const char *path = p.s;
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t g = H5Gopen2(f, "model", H5P_DEFAULT);
  ck_assert(H5Adelete(g, "kind") >= 0);
  hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
  H5Tset_size(type, 4);
  hid_t a = H5Acreate2(g, "kind", type, space, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert(a >= 0 && H5Awrite(a, type, "sym5") >= 0);
  H5Aclose(a);
  H5Sclose(space);
  H5Tclose(type);
  H5Gclose(g);
  H5Fclose(f);
  ck_assert_msg(invrg_model_read(path, "model", &got) == INVRG_SUCCESS, "%s",
                invrg_error_message());
  expect_same_model(got, m);
  invrg_model_destroy(&got);
  invrg_model_destroy(&m);
}
END_TEST

/* ------------------------------------------------------------------ refusals */

typedef enum {
  DELETE_KIND, RENAME_KIND, DELETE_KERNEL, RENAME_KERNEL, DELETE_CHANNELS, RENAME_CHANNELS,
  UNKNOWN_KIND, KIND_NOT_STRING, PARAMS_ONE_MORE, PARAMS_ONE_FEWER, PARAMS_2D, PARAMS_MISSING,
  KERNEL_CHANGED, CHANNELS_CHANGED, KERNEL_EVEN, N_DAMAGES
} damage;

/* What the message must say for each damage (besides the file's name), with the number of
 * parameters the file then holds for %d. */
static const char *const says[N_DAMAGES] = {
    "'kind'", "'kind'", "'kernel'", "'kernel'", "'channels'", "'channels'", "sym4", "'kind'",
    "the file holds %d", "the file holds %d", "the file holds %d", "'params'",
    "the file holds %d", "the file holds %d", "odd"};
static int held(damage d, int n) {
  return d == PARAMS_ONE_MORE ? n + 1 : d == PARAMS_ONE_FEWER ? n - 1 : n;
}

static void replace_int_attr(hid_t g, const char *name, int64_t value) {
  ck_assert(H5Adelete(g, name) >= 0);
  ck_assert_int_eq(invrg_h5_attr_int64(g, name, &value, 1, true), INVRG_SUCCESS);
}

/* params replaced by @p n zeros, as [n] (rank 1) or [1][n] (rank 2). */
static void replace_params(hid_t g, int rank, hsize_t n) {
  ck_assert(H5Ldelete(g, "params", H5P_DEFAULT) >= 0);
  const hsize_t dims[2] = {1, n};
  hid_t space = H5Screate_simple(rank, rank == 1 ? &n : dims, NULL);
  hid_t d = H5Dcreate2(g, "params", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert(d >= 0);
  H5Dclose(d);
  H5Sclose(space);
}

/* A model file of @p n parameters damaged with HDF5 alone. */
static void damage_file(const char *path, damage what, int n) {
  hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t g = H5Gopen2(f, "model", H5P_DEFAULT);
  ck_assert(f >= 0 && g >= 0);
  switch (what) {
    case DELETE_KIND: ck_assert(H5Adelete(g, "kind") >= 0); break;
    case RENAME_KIND: ck_assert(H5Arename(g, "kind", "type") >= 0); break;
    case DELETE_KERNEL: ck_assert(H5Adelete(g, "kernel") >= 0); break;
    case RENAME_KERNEL: ck_assert(H5Arename(g, "kernel", "kernel_size") >= 0); break;
    case DELETE_CHANNELS: ck_assert(H5Adelete(g, "channels") >= 0); break;
    case RENAME_CHANNELS: ck_assert(H5Arename(g, "channels", "Channels") >= 0); break;
    case UNKNOWN_KIND:
      ck_assert(H5Adelete(g, "kind") >= 0);
      ck_assert_int_eq(invrg_h5_attr_string(g, "kind", "sym4"), INVRG_SUCCESS);
      break;
    case KIND_NOT_STRING: replace_int_attr(g, "kind", 3); break;
    case PARAMS_ONE_MORE:
    case PARAMS_ONE_FEWER: replace_params(g, 1, (hsize_t)held(what, n)); break;
    case PARAMS_2D: replace_params(g, 2, (hsize_t)n); break;
    case PARAMS_MISSING: ck_assert(H5Ldelete(g, "params", H5P_DEFAULT) >= 0); break;
    case KERNEL_CHANGED: replace_int_attr(g, "kernel", 5); break;
    case CHANNELS_CHANGED: replace_int_attr(g, "channels", 3); break;
    case KERNEL_EVEN: replace_int_attr(g, "kernel", 4); break;
    case N_DAMAGES: break;
  }
  H5Gclose(g);
  ck_assert(H5Fclose(f) >= 0);
}

static void expect_refused(const char *path, const char *group, const char *needle) {
  static invrg_model sentinel;
  invrg_model *got = &sentinel; /* not NULL: the reader must clear it */
  const invrg_err err = invrg_model_read(path, group, &got);
  ck_assert_msg(err == INVRG_ERR_INPUT, "%s: returned %d, not an input error (%s)", needle,
                (int)err, invrg_error_message());
  ck_assert_ptr_null(got);
  ck_assert_msg(strstr(invrg_error_message(), path) != NULL, "the message '%s' does not name %s",
                invrg_error_message(), path);
  ck_assert_msg(strstr(invrg_error_message(), needle) != NULL, "the message '%s' does not say %s",
                invrg_error_message(), needle);
}

START_TEST(damaged_models_are_refused) {
  for (int d = 0; d < N_DAMAGES; d++) {
    invrg_model *m = make_model(INVRG_MODEL_KIND_CONV, 3, 4);
    char name[32], needle[64];
    snprintf(name, sizeof name, "damaged_%d.h5", d);
    const file_path p = write_model(name, "model", m);
    damage_file(p.s, (damage)d, m->n_params);
    snprintf(needle, sizeof needle, says[d], held((damage)d, m->n_params));
    expect_refused(p.s, "model", needle);
    invrg_model_destroy(&m);
  }
}
END_TEST

START_TEST(foreign_files_are_refused) {
  invrg_model *m = make_model(INVRG_MODEL_KIND_SYM3, 3, 0);
  /* missing (said so), not HDF5, HDF5 without the invrg attributes, another major version, no
   * such group */
  expect_refused(path_of("missing.h5").s, "model", "does not exist");
  const file_path text = path_of("text.h5");
  FILE *t = fopen(text.s, "w");
  ck_assert_ptr_nonnull(t);
  fputs("&run stages = 'dream' /\n", t);
  fclose(t);
  expect_refused(text.s, "model", "cannot open");
  const file_path plain = path_of("plain.h5");
  hid_t f = H5Fcreate(plain.s, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert_int_eq(invrg_model_write(f, "model", m), INVRG_SUCCESS);
  H5Fclose(f);
  expect_refused(plain.s, "model", "not an invrg file");
  const file_path next = path_of("next_major.h5");
  f = new_file(next.s, INVRG_FORMAT_VERSION_MAJOR + 1);
  ck_assert_int_eq(invrg_model_write(f, "model", m), INVRG_SUCCESS);
  H5Fclose(f);
  expect_refused(next.s, "model", "format_version");
  expect_refused(write_model("good.h5", "model", m).s, "/train/model",
                 "has no group '/train/model'");
  invrg_model_destroy(&m);
}
END_TEST

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  invrg_log_init(0);
  invrg_h5_init();
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/invrg_model_io_XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
  if (mkdtemp(dir) == NULL) return EXIT_FAILURE;
  Suite *s = suite_create("model_io");
  TCase *tc = tcase_create("model_io");
  tcase_add_test(tc, every_kind_round_trips);
  tcase_add_test(tc, several_models_in_one_file);
  tcase_add_test(tc, fixed_length_kind_is_read);
  tcase_add_test(tc, damaged_models_are_refused);
  tcase_add_test(tc, foreign_files_are_refused);
  suite_add_tcase(s, tc);
  const int status = run_suite(s);
  DIR *d = opendir(dir);
  for (struct dirent *e = d != NULL ? readdir(d) : NULL; e != NULL; e = readdir(d))
    if (e->d_name[0] != '.') unlink(path_of(e->d_name).s);
  if (d != NULL) closedir(d);
  rmdir(dir);
  MPI_Finalize();
  return status;
}
