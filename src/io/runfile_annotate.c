/*
 * The run file made self-describing at its end (runfile.h, invrg_runfile_annotate): every group
 * and dataset gets `description` (and datasets of numbers `units`) from the schema (schema.c),
 * the axes of the arrays become HDF5 dimension scales, and every source with one group per
 * size gets a table /summary/<source>.
 */
#include <hdf5.h>
#include <hdf5_hl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/h5util.h"
#include "invrg/log.h"
#include "invrg/runfile.h"
#include "invrg/schema.h"

/* Who writes the data of the new datasets (world rank 0), and the first failure of such a write:
 * kept, not returned at once, so that every rank makes the same collective calls to the end and
 * all agree on the outcome there. */
typedef struct {
  int rank;
  invrg_err deferred;
} writer;

static void defer(writer *w, invrg_err e) {
  if (w->deferred == INVRG_SUCCESS) w->deferred = e;
}

/* ------------------------------------------------------------------ the objects of the file */

typedef struct {
  char **path; /* "/mc/L32", … */
  bool *is_group;
  size_t n, cap;
} object_list;

static herr_t collect(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
  (void)obj;
  object_list *l = data;
  if (info->type != H5O_TYPE_GROUP && info->type != H5O_TYPE_DATASET) return 0;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 256;
    char **p = realloc(l->path, cap * sizeof *p);
    if (p == NULL) return -1;
    l->path = p;
    bool *g = realloc(l->is_group, cap * sizeof *g);
    if (g == NULL) return -1;
    l->is_group = g;
    l->cap = cap;
  }
  const size_t len = strlen(name) + 2;
  l->path[l->n] = malloc(len);
  if (l->path[l->n] == NULL) return -1;
  snprintf(l->path[l->n], len, "%s%s", strcmp(name, ".") == 0 ? "" : "/",
           strcmp(name, ".") == 0 ? "/" : name);
  l->is_group[l->n++] = info->type == H5O_TYPE_GROUP;
  return 0;
}

static void object_list_free(object_list *l) {
  for (size_t i = 0; i < l->n; i++) free(l->path[i]);
  free(l->path);
  free(l->is_group);
}

/* ------------------------------------------------------------------ description and units */

/* The parent group of @p path and its last name ("/mc/L8/series" → "/mc/L8", "series"). */
static void split_path(const char *path, char *parent, size_t n, const char **leaf) {
  const char *slash = strrchr(path, '/');
  size_t len = (size_t)(slash - path);
  snprintf(parent, n, "%.*s", (int)(len == 0 ? 1 : len), len == 0 ? "/" : path);
  *leaf = slash + 1;
}

/* Writes description (and units, for numbers) of one object, if the schema knows it. */
static invrg_err describe(hid_t file, const char *path, bool is_group, int *unknown) {
  invrg_err err = INVRG_SUCCESS;
  hid_t obj = -1, type = -1;
  const invrg_schema_suffix *sfx = NULL;
  const invrg_schema_entry *e = NULL;
  if (is_group) {
    e = invrg_schema_find(path, INVRG_SCHEMA_GROUP, "", NULL);
  } else {
    char parent[512];
    const char *leaf;
    split_path(path, parent, sizeof parent, &leaf);
    e = invrg_schema_find(parent, INVRG_SCHEMA_DATASET, leaf, &sfx);
  }
  if (e == NULL) { /* the test runfile_schema keeps this from happening */
    invrg_log(INVRG_LOG_WARN, "run file: %s is not in the run file's schema", path);
    ++*unknown;
    goto cleanup;
  }
  char text[512];
  if (sfx != NULL) snprintf(text, sizeof text, sfx->description, e->description);
  else snprintf(text, sizeof text, "%s", e->description);
  INVRG_H5_CALL(obj = H5Oopen(file, path, H5P_DEFAULT), path);
  INVRG_CALL(invrg_h5_attr_string(obj, "description", text));
  if (!is_group) {
    INVRG_H5_CALL(type = H5Dget_type(obj), path);
    const H5T_class_t c = H5Tget_class(type);
    if (c == H5T_INTEGER || c == H5T_FLOAT)
      INVRG_CALL(invrg_h5_attr_string(obj, "units", sfx != NULL && sfx->units != NULL ? sfx->units
                                                                                     : e->units));
  }
cleanup:
  invrg_h5_close(&type);
  invrg_h5_close(&obj);
  return err;
}

/* ------------------------------------------------------------------ dimension scales */

/* Axes: in groups matching `group`, dataset `scale` is the scale of dimension `dim` of each of
 * `users` (those present). */
typedef struct {
  const char *group, *scale, *label;
  int dim;
  const char *users[6];
} axis;

static const axis axes[] = {
    /* (G_diag is G at (r, r), a distance r√2: r is not its axis) */
    {"/corr/<source>/L<L>", "r", "r (lattice spacings)", 0, {"G_axis", "G_axis_err", NULL}},
    {"/corr/<source>/L<L>", "k", "|k| (1/lattice spacing)", 0,
     {"S_radial", "S_radial_err", "shell_modes", NULL}},
    {"/fss/<source>/<fit>", "L", "L", 0, {"y", "y_err", NULL}},
    {"/fss/<source>/<fit>", "scan_L_min", "L_min", 0,
     {"scan_chi2_dof", "scan_result", "scan_result_err", NULL}},
    {"/mcrg/<source>/<pairs>/level<k>/<set>", "operator", "operator", 0,
     {"A", "B", "mean_coarse", "mean_fine", NULL}},
    {"/mcrg/<source>/<pairs>/level<k>/<set>", "operator", "operator", 1, {"A", "B", NULL}},
    {"/run", "dream_level", "level", 0, {"dream_seconds", NULL}},
};

static bool exists(hid_t loc, const char *name) { return H5Lexists(loc, name, H5P_DEFAULT) > 0; }

/* The scale datasets that are not results of their own: the operator names of an MCRG set (from
 * its attribute `operators`) and the levels of /run/dream_seconds. */
static invrg_err make_index_scales(const char *path, hid_t g, writer *w) {
  invrg_err err = INVRG_SUCCESS;
  hid_t a = -1, type = -1, space = -1, d = -1;
  char **names = NULL;
  if (invrg_schema_path_matches("/mcrg/<source>/<pairs>/level<k>/<set>", path) &&
      !exists(g, "operator") && H5Aexists(g, "operators") > 0) {
    INVRG_H5_CALL(a = H5Aopen(g, "operators", H5P_DEFAULT), "operators");
    INVRG_H5_CALL(space = H5Aget_space(a), "operators");
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    names = calloc((size_t)(n > 0 ? n : 1), sizeof *names);
    INVRG_CHECK_ALLOC(names);
    /* Variable-length strings in the attribute's own character set (UTF-8 from h5util). */
    hid_t file_type = H5Aget_type(a);
    INVRG_H5_CALL(file_type, "operators type");
    const bool variable = H5Tis_variable_str(file_type) > 0;
    const H5T_cset_t cset = H5Tget_cset(file_type);
    H5Tclose(file_type);
    INVRG_CHECK(variable, INVRG_ERR_RUNTIME, "%s: operators is not a variable-length string",
                path);
    INVRG_H5_CALL(type = H5Tcopy(H5T_C_S1), "string type");
    INVRG_H5_CALL(H5Tset_size(type, H5T_VARIABLE), "string type");
    INVRG_H5_CALL(H5Tset_cset(type, cset), "string type");
    INVRG_H5_CALL(H5Aread(a, type, names), "read operators");
    /* Fixed-length strings: parallel HDF5 writes no variable-length data. */
    size_t width = 1;
    for (hssize_t i = 0; i < n; i++)
      if (names[i] != NULL && strlen(names[i]) + 1 > width) width = strlen(names[i]) + 1;
    char *fixed = calloc((size_t)(n > 0 ? n : 1), width);
    hid_t ftype = H5Tcopy(H5T_C_S1), ds = -1;
    if (fixed != NULL && ftype >= 0 && H5Tset_size(ftype, width) >= 0 &&
        H5Tset_cset(ftype, H5T_CSET_UTF8) >= 0) {
      for (hssize_t i = 0; i < n; i++)
        if (names[i] != NULL) memcpy(fixed + (size_t)i * width, names[i], strlen(names[i]));
      ds = H5Dcreate2(g, "operator", ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    }
    if (ds < 0) err = invrg_error_set(INVRG_ERR_RUNTIME, __FILE__, __LINE__,
                                      "HDF5: creating %s/operator failed", path);
    else if (w->rank == 0 && H5Dwrite(ds, ftype, H5S_ALL, H5S_ALL, H5P_DEFAULT, fixed) < 0)
      defer(w, invrg_error_set(INVRG_ERR_RUNTIME, __FILE__, __LINE__,
                               "HDF5: writing %s/operator failed", path));
    if (ds >= 0) H5Dclose(ds);
    if (ftype >= 0) H5Tclose(ftype);
    free(fixed);
    H5Dvlen_reclaim(type, space, H5P_DEFAULT, names);
    INVRG_CALL(err);
  }
  if (strcmp(path, "/run") == 0 && exists(g, "dream_seconds") && !exists(g, "dream_level")) {
    hsize_t dims[2];
    INVRG_H5_CALL(d = H5Dopen2(g, "dream_seconds", H5P_DEFAULT), "dream_seconds");
    hid_t s = H5Dget_space(d);
    H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    int64_t *levels = malloc((size_t)dims[0] * sizeof *levels);
    INVRG_CHECK_ALLOC(levels);
    for (hsize_t l = 0; l < dims[0]; l++) levels[l] = (int64_t)l;
    defer(w, invrg_h5_write_int64(g, "dream_level", levels, (size_t)dims[0], w->rank == 0));
    free(levels);
    const char *const costs[] = {"generation", "observables", "mcrg", "correlations"};
    INVRG_CALL(invrg_h5_attr_strings(d, "columns", costs, 4));
  }
cleanup:
  free(names);
  invrg_h5_close(&d);
  invrg_h5_close(&type);
  invrg_h5_close(&space);
  invrg_h5_close(&a);
  return err;
}

/* MCRG eigenvalues are [..][2]: say which column is which. */
static invrg_err label_complex(hid_t g) {
  invrg_err err = INVRG_SUCCESS;
  static const char *const parts[] = {"re", "im"};
  static const char *const complex_sets[] = {"eigenvalues", "eigenvalues_err",
                                             "series_eigenvalues", "series_eigenvalues_err"};
  for (size_t i = 0; i < sizeof complex_sets / sizeof complex_sets[0]; i++) {
    hid_t d = -1;
    if (!exists(g, complex_sets[i])) continue;
    INVRG_H5_CALL(d = H5Dopen2(g, complex_sets[i], H5P_DEFAULT), complex_sets[i]);
    err = invrg_h5_attr_strings(d, "columns", parts, 2);
    H5Dclose(d);
    INVRG_CALL(err);
  }
cleanup:
  return err;
}

static invrg_err attach_axes(hid_t file, const char *path, writer *w) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1, scale = -1, user = -1;
  INVRG_H5_CALL(g = H5Gopen2(file, path, H5P_DEFAULT), path);
  INVRG_CALL(make_index_scales(path, g, w));
  if (invrg_schema_path_matches("/mcrg/<source>/<pairs>/level<k>/<set>/<parity>", path))
    INVRG_CALL(label_complex(g));
  for (size_t i = 0; i < sizeof axes / sizeof axes[0]; i++) {
    const axis *x = &axes[i];
    if (!invrg_schema_path_matches(x->group, path) || !exists(g, x->scale)) continue;
    INVRG_H5_CALL(scale = H5Dopen2(g, x->scale, H5P_DEFAULT), x->scale);
    if (H5DSis_scale(scale) <= 0) INVRG_H5_CALL(H5DSset_scale(scale, x->label), x->scale);
    for (int u = 0; x->users[u] != NULL; u++) {
      if (!exists(g, x->users[u])) continue;
      INVRG_H5_CALL(user = H5Dopen2(g, x->users[u], H5P_DEFAULT), x->users[u]);
      if (H5DSis_attached(user, scale, (unsigned)x->dim) <= 0)
        INVRG_H5_CALL(H5DSattach_scale(user, scale, (unsigned)x->dim), x->users[u]);
      invrg_h5_close(&user);
    }
    invrg_h5_close(&scale);
  }
cleanup:
  invrg_h5_close(&user);
  invrg_h5_close(&scale);
  invrg_h5_close(&g);
  return err;
}

/* ------------------------------------------------------------------ summary tables */

/* A per-size source: a group whose children are L<L> groups (mc, dream, analyze/mc, corr/dream). */
static bool is_size_group(const char *name) {
  if (name[0] != 'L' || name[1] == '\0') return false;
  for (const char *c = name + 1; *c; c++)
    if (*c < '0' || *c > '9') return false;
  return true;
}

typedef struct {
  char names[128][64];
  int n;
} name_list;

static herr_t numeric_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
  (void)info;
  name_list *l = data;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = H5Aget_type(a), s = H5Aget_space(a);
  const H5T_class_t c = H5Tget_class(t);
  const bool scalar = H5Sget_simple_extent_type(s) == H5S_SCALAR;
  H5Sclose(s);
  H5Tclose(t);
  H5Aclose(a);
  if (scalar && (c == H5T_INTEGER || c == H5T_FLOAT) && l->n < 128)
    snprintf(l->names[l->n++], sizeof l->names[0], "%s", name);
  return 0;
}

/* A size group with a summary (a saved level that is not measured has only its configs). */
static herr_t size_child(hid_t g, const char *name, const H5L_info_t *info, void *data) {
  (void)info;
  name_list *l = data;
  if (is_size_group(name) && H5Aexists_by_name(g, name, "L", H5P_DEFAULT) > 0 && l->n < 128)
    snprintf(l->names[l->n++], sizeof l->names[0], "%s", name);
  return 0;
}

static int by_size(const void *a, const void *b) {
  const long long x = atoll((const char *)a + 1), y = atoll((const char *)b + 1);
  return (x > y) - (x < y);
}

/* Columns in the schema's order, each derived name (X_err, …) right after its base. */
static int column_rank(const char *source_path, const char *name, int *suffix_rank) {
  size_t n_entries, n_suffixes;
  const invrg_schema_entry *all = invrg_schema_entries(&n_entries);
  const invrg_schema_suffix *sfx = NULL;
  const invrg_schema_entry *e = invrg_schema_find(source_path, INVRG_SCHEMA_ATTRIBUTE, name, &sfx);
  const invrg_schema_suffix *rules = invrg_schema_suffixes(&n_suffixes);
  *suffix_rank = sfx != NULL ? (int)(sfx - rules) + 1 : 0;
  return e != NULL ? (int)(e - all) : (int)n_entries;
}

static const char *sort_path;
static int by_column(const void *a, const void *b) {
  int sa, sb;
  const char *x = (const char *)a, *y = (const char *)b;
  if (strcmp(x, "L") == 0 || strcmp(y, "L") == 0) return strcmp(x, "L") == 0 ? -1 : 1;
  int ra = column_rank(sort_path, x, &sa), rb = column_rank(sort_path, y, &sb);
  if (ra != rb) return ra - rb;
  if (sa != sb) return sa - sb;
  return strcmp(x, y);
}

/* /summary/<name>: one row per L of the source at @p path, a column per numeric scalar
 * attribute all its sizes have (the quantity, then its error), in the schema's order. */
static invrg_err write_summary_table(hid_t file, const char *path, const char *name, writer *w) {
  invrg_err err = INVRG_SUCCESS;
  hid_t src = -1, g0 = -1, type = -1, space = -1, d = -1, summary = -1, mem_space = -1;
  name_list *sizes = calloc(1, sizeof *sizes), *cols = calloc(1, sizeof *cols);
  double *rows = NULL;
  INVRG_CHECK_ALLOC(sizes);
  INVRG_CHECK_ALLOC(cols);
  INVRG_H5_CALL(src = H5Gopen2(file, path, H5P_DEFAULT), path);
  H5Literate(src, H5_INDEX_NAME, H5_ITER_INC, NULL, size_child, sizes);
  if (sizes->n == 0) goto cleanup;
  qsort(sizes->names, (size_t)sizes->n, sizeof sizes->names[0], by_size);
  INVRG_H5_CALL(g0 = H5Gopen2(src, sizes->names[0], H5P_DEFAULT), sizes->names[0]);
  H5Aiterate2(g0, H5_INDEX_NAME, H5_ITER_INC, NULL, numeric_attr, cols);
  /* Keep the columns every size has. */
  int kept = 0;
  for (int c = 0; c < cols->n; c++) {
    bool all = true;
    for (int s = 1; s < sizes->n && all; s++) {
      char p[128];
      snprintf(p, sizeof p, "%s/%s", sizes->names[s], cols->names[c]);
      all = H5Aexists_by_name(src, sizes->names[s], cols->names[c], H5P_DEFAULT) > 0;
    }
    if (all) memmove(cols->names[kept++], cols->names[c], sizeof cols->names[0]);
  }
  cols->n = kept;
  if (cols->n == 0) goto cleanup;
  char one_size[256];
  snprintf(one_size, sizeof one_size, "%s/%s", path, sizes->names[0]);
  sort_path = one_size;
  qsort(cols->names, (size_t)cols->n, sizeof cols->names[0], by_column);
  /* The table: float64 columns (L and counts are exact in a double), rows in size order. */
  INVRG_H5_CALL(type = H5Tcreate(H5T_COMPOUND, (size_t)cols->n * sizeof(double)), "compound");
  for (int c = 0; c < cols->n; c++)
    INVRG_H5_CALL(H5Tinsert(type, cols->names[c], (size_t)c * sizeof(double), H5T_IEEE_F64LE),
                  cols->names[c]);
  rows = calloc((size_t)sizes->n * (size_t)cols->n, sizeof *rows);
  INVRG_CHECK_ALLOC(rows);
  for (int s = 0; s < sizes->n; s++)
    for (int c = 0; c < cols->n; c++) {
      hid_t a = H5Aopen_by_name(src, sizes->names[s], cols->names[c], H5P_DEFAULT, H5P_DEFAULT);
      INVRG_H5_CALL(a, cols->names[c]);
      herr_t r = H5Aread(a, H5T_NATIVE_DOUBLE, rows + (size_t)s * (size_t)cols->n + (size_t)c);
      H5Aclose(a);
      INVRG_H5_CALL(r, cols->names[c]);
    }
  INVRG_CALL(invrg_h5_create_group(file, "summary", &summary));
  const hsize_t dims[1] = {(hsize_t)sizes->n};
  INVRG_H5_CALL(space = H5Screate_simple(1, dims, NULL), "summary space");
  INVRG_H5_CALL(d = H5Dcreate2(summary, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                name);
  /* Every rank holds the same rows; one writes them (independent I/O). */
  if (w->rank == 0 && H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0)
    defer(w, invrg_error_set(INVRG_ERR_RUNTIME, __FILE__, __LINE__,
                             "HDF5: writing /summary/%s failed", name));
  char source_text[256];
  snprintf(source_text, sizeof source_text, "%s/L<L>", path);
  INVRG_CALL(invrg_h5_attr_string(d, "source", source_text));
cleanup:
  free(rows);
  free(sizes);
  free(cols);
  invrg_h5_close(&mem_space);
  invrg_h5_close(&d);
  invrg_h5_close(&space);
  invrg_h5_close(&type);
  invrg_h5_close(&summary);
  invrg_h5_close(&g0);
  invrg_h5_close(&src);
  return err;
}

/* Every per-size source: /mc, /dream, /analyze/<s>, /corr/<s> → /summary/mc, dream,
 * analyze_<s>, corr_<s>. */
static invrg_err write_summary_tables(hid_t file, writer *w) {
  invrg_err err = INVRG_SUCCESS;
  static const char *const tops[] = {"mc", "dream"};
  static const char *const nested[] = {"analyze", "corr"};
  static const char *const sources[] = {"mc", "dream", "analyze_mc", "analyze_dream"};
  for (size_t t = 0; t < 2; t++)
    if (exists(file, tops[t])) {
      char path[64];
      snprintf(path, sizeof path, "/%s", tops[t]);
      INVRG_CALL(write_summary_table(file, path, tops[t], w));
    }
  for (size_t t = 0; t < 2; t++)
    for (size_t s = 0; s < sizeof sources / sizeof sources[0]; s++) {
      char link[64], path[80], name[80];
      snprintf(link, sizeof link, "%s/%s", nested[t], sources[s]);
      if (!exists(file, nested[t]) || !exists(file, link)) continue;
      snprintf(path, sizeof path, "/%s", link);
      snprintf(name, sizeof name, "%s_%s", nested[t], sources[s]);
      INVRG_CALL(write_summary_table(file, path, name, w));
    }
cleanup:
  return err;
}

/* ------------------------------------------------------------------ all of it */

invrg_err invrg_runfile_annotate(hid_t file, MPI_Comm comm) {
  invrg_err err = INVRG_SUCCESS;
  object_list objects = {0};
  int unknown = 0;
  writer w = {0, INVRG_SUCCESS};
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &w.rank));
  INVRG_CALL(write_summary_tables(file, &w));
  INVRG_H5_CALL(H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, collect, &objects, H5O_INFO_BASIC),
                "walk the run file");
  for (size_t i = 0; i < objects.n; i++)
    if (objects.is_group[i]) INVRG_CALL(attach_axes(file, objects.path[i], &w));
  /* The scales just made (operator, dream_level) are objects too: walk again for the texts. */
  object_list_free(&objects);
  memset(&objects, 0, sizeof objects);
  INVRG_H5_CALL(H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, collect, &objects, H5O_INFO_BASIC),
                "walk the run file");
  for (size_t i = 0; i < objects.n; i++)
    INVRG_CALL(describe(file, objects.path[i], objects.is_group[i], &unknown));
cleanup:
  object_list_free(&objects);
  /* Failures of the collective calls are everyone's; a failed write of rank 0 is told here. */
  return invrg_error_agree(err != INVRG_SUCCESS ? err : w.deferred, comm);
}
