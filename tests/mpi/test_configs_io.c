/*
 * Saved configurations (src/io/configs_io.c, include/invrg/configs_io.h) on 1 and 2 ranks:
 * - round trips: configurations written by every layout (groups of one rank, one group on a
 *   1 × P or P × 1 grid), several items per dataset written by different groups — a chain's
 *   samples in one invrg_configs_write(), single items with invrg_configs_write_lattice() —
 *   read back on every layout, int8 at sizes that are not multiples of 8 and 'packed' at sizes
 *   that are multiples of 8 but not of 64 (read into blocks that need not start on a byte):
 *   every block equal to the configuration, and the whole dataset, read with HDF5 alone, equal
 *   bit for bit to the format written out here from its definition;
 * - rows longer than the writer's 1 MiB buffer (several slabs, the last one short);
 * - refusals: a dataset that is not [n][L][L] int8 or [n][L][L/8] packed, an unknown format,
 *   a missing dataset or one of another shape, an index past the end; a value not a spin
 *   noted (the lowest configuration's first) and agreed on by every rank.
 */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/config.h"
#include "invrg/configs_io.h"
#include "invrg/groups.h"
#include "invrg/h5util.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/rng.h"

#include "mpi/mpi_test.h"
#include "mpi/mpi_layouts.h"

static const uint64_t seed = 8088;

/* ---------------------------------------------------------------- the format, written out */

/* Configuration @p j of L × L: fair coins, a pure function of (L, j), the same on every rank. */
static int8_t *configuration(int64_t L, int64_t j) {
  int8_t *a = malloc((size_t)(L * L));
  invrg_rng_stream s;
  invrg_rng_stream_init(&s, seed, INVRG_RNG_INIT, (uint64_t)(L * 1000 + j), 0);
  for (int64_t k = 0; k < L * L; k++) a[k] = invrg_rng_coin(&s, (uint64_t)k, 0) ? 1 : -1;
  return a;
}

/* A configuration as 'packed' stores it: rows of L/8 bytes, 8 spins per byte, the first spin
 * of the byte in its most significant bit, 1 = +1. */
static uint8_t *packed_reference(const int8_t *a, int64_t L) {
  uint8_t *p = calloc((size_t)(L * L / 8), 1);
  for (int64_t y = 0; y < L; y++)
    for (int64_t x = 0; x < L; x++)
      if (a[y * L + x] == 1) p[y * (L / 8) + x / 8] |= (uint8_t)(0x80u >> (x % 8));
  return p;
}

/* ---------------------------------------------------------------- lattices and files */

/* A lattice of L × L for group @p g: distributed over its grid when it has several ranks and
 * can split L, replicated otherwise (as the stages hold them). */
static invrg_lattice *make_lattice(const invrg_groups *g, int64_t L) {
  invrg_lattice *lat = NULL;
  if (g->ranks_per_group > 1 && invrg_groups_can_distribute(g, L, L, 1))
    OK(invrg_lattice_create_distributed(g, L, L, 1, &lat));
  else
    OK(invrg_lattice_create_replicated(L, L, 1, &lat));
  return lat;
}

/* The interior of @p lat from the whole configuration @p a; the halos stay 0, not a spin, so
 * a writer that reads them is seen. */
static void set_interior(invrg_lattice *lat, const int8_t *a) {
  for (int j = 0; j < lat->ny; j++)
    for (int i = 0; i < lat->nx; i++)
      lat->data[invrg_lattice_index(lat, i, j)] = a[(lat->y0 + j) * lat->lx + lat->x0 + i];
}

/* Packed configurations are written by blocks whose width is a multiple of 8 (the stages
 * refuse other layouts); any block reads them. */
static bool writable(const invrg_lattice *lat, bool packed) { return !packed || lat->nx % 8 == 0; }

static hid_t create_file(const char *path) {
  hid_t fapl = -1;
  OK(invrg_h5_parallel_fapl(MPI_COMM_WORLD, &fapl));
  hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  invrg_h5_close(&fapl);
  EXPECT(f >= 0, "cannot create %s", path);
  if (f < 0) MPI_Abort(MPI_COMM_WORLD, 1);
  return f;
}

static const char *layout_name(const invrg_groups *g, char *buf, size_t size) {
  snprintf(buf, size, "%d rank(s) per group, grid %d x %d", g->ranks_per_group, g->px, g->py);
  return buf;
}

/* ---------------------------------------------------------------- writing */

enum { N_CHAINS = 3, PER_CHAIN = 2, N_ITEMS = N_CHAINS * PER_CHAIN };

/*
 * Dataset "chains": chain c (group c mod n_groups) writes its PER_CHAIN samples, items
 * c·PER_CHAIN …, in one invrg_configs_write() of blocks back to back, as stage mc does.
 * Dataset "items": item j by group j mod n_groups with invrg_configs_write_lattice(), as
 * stage dream does. Item j holds configuration j.
 */
static void write_datasets(const invrg_groups *g, hid_t file, int64_t L, bool packed) {
  hid_t chains = -1, items = -1;
  OK(invrg_configs_create(file, "chains", N_ITEMS, L, packed, &chains));
  OK(invrg_configs_create(file, "items", N_ITEMS, L, packed, &items));
  invrg_lattice *lat = make_lattice(g, L);
  const size_t bytes = invrg_configs_block_bytes(lat, packed);
  uint8_t *blocks = malloc(PER_CHAIN * bytes);
  for (int64_t k = 0; k < invrg_groups_item_count(g, N_CHAINS); k++) {
    const int64_t c = invrg_groups_item(g, k);
    for (int s = 0; s < PER_CHAIN; s++) {
      int8_t *a = configuration(L, c * PER_CHAIN + s);
      set_interior(lat, a);
      invrg_configs_copy_block(lat, packed, blocks + (size_t)s * bytes);
      free(a);
    }
    OK(invrg_configs_write(chains, lat, packed, c * PER_CHAIN, PER_CHAIN, blocks));
  }
  for (int64_t k = 0; k < invrg_groups_item_count(g, N_ITEMS); k++) {
    const int64_t j = invrg_groups_item(g, k);
    int8_t *a = configuration(L, j);
    set_interior(lat, a);
    OK(invrg_configs_write_lattice(items, lat, packed, j));
    free(a);
  }
  free(blocks);
  invrg_lattice_destroy(&lat);
  invrg_h5_close(&items);
  invrg_h5_close(&chains);
}

/* ---------------------------------------------------------------- reading */

/* Every item of @p dset read into the blocks of layout @p g: read_spins (and read_block for
 * int8) give the configuration's sites, paste_block gives its checksum. */
static void check_blocks(const invrg_groups *g, hid_t dset, int64_t L, bool packed, int64_t n) {
  invrg_lattice *lat = make_lattice(g, L);
  const size_t nx = (size_t)lat->nx, ny = (size_t)lat->ny;
  uint8_t *block = malloc(nx * ny), *raw = malloc(nx * ny);
  for (int64_t j = 0; j < n; j++) {
    int8_t *a = configuration(L, j);
    OK(invrg_configs_read_spins(dset, lat, packed, j, block));
    int64_t bad = 0, bad_raw = 0;
    if (!packed) OK(invrg_configs_read_block(dset, lat, j, raw));
    for (size_t y = 0; y < ny; y++)
      for (size_t x = 0; x < nx; x++) {
        const int8_t want = a[(lat->y0 + (int64_t)y) * L + lat->x0 + (int64_t)x];
        bad += (int8_t)block[y * nx + x] != want;
        bad_raw += !packed && (int8_t)raw[y * nx + x] != want;
      }
    EXPECT(bad == 0 && bad_raw == 0,
           "L = %lld %s, item %lld, block at (%lld, %lld) of %zu x %zu: %lld sites differ "
           "(read_spins), %lld (read_block)",
           (long long)L, packed ? "packed" : "int8", (long long)j, (long long)lat->x0,
           (long long)lat->y0, nx, ny, (long long)bad, (long long)bad_raw);
    OK(invrg_configs_paste_block(lat, block));
    uint64_t sum = 0;
    OK(invrg_lattice_checksum(lat, &sum));
    EXPECT(sum == invrg_lattice_checksum_array(a, L, L),
           "L = %lld %s, item %lld: the pasted lattice's checksum differs", (long long)L,
           packed ? "packed" : "int8", (long long)j);
    free(a);
  }
  free(raw);
  free(block);
  invrg_lattice_destroy(&lat);
}

/* World rank 0 reads all of @p dset with HDF5 alone: item j is configuration j, byte for byte
 * (int8), or its packed form bit for bit. */
static void check_on_disk(hid_t dset, int64_t L, bool packed, int64_t n) {
  if (world_rank != 0) return;
  const size_t per = (size_t)(packed ? L * L / 8 : L * L);
  uint8_t *all = malloc((size_t)n * per);
  EXPECT(H5Dread(dset, packed ? H5T_NATIVE_UINT8 : H5T_NATIVE_INT8, H5S_ALL, H5S_ALL,
                 H5P_DEFAULT, all) >= 0,
         "HDF5 cannot read the dataset");
  for (int64_t j = 0; j < n; j++) {
    int8_t *a = configuration(L, j);
    uint8_t *want = packed ? packed_reference(a, L) : (uint8_t *)a;
    EXPECT(memcmp(all + (size_t)j * per, want, per) == 0,
           "L = %lld %s, item %lld: the bytes in the file are not the format's", (long long)L,
           packed ? "packed" : "int8", (long long)j);
    if (packed) free(want);
    free(a);
  }
  free(all);
}

/* The file's two datasets: their shape, then their items on every layout and on disk. */
static void check_file(const char *path, int64_t L, bool packed) {
  hid_t file = -1;
  OK(invrg_h5_open_parallel(path, false, MPI_COMM_WORLD, &file));
  layout ls[8];
  const int n_layouts = layouts(ls);
  const char *names[2] = {"chains", "items"};
  for (int d = 0; d < 2; d++) {
    hid_t dset = H5Dopen2(file, names[d], H5P_DEFAULT);
    int64_t n = 0, got_L = 0;
    bool got_packed = !packed;
    OK(invrg_configs_info(dset, names[d], &n, &got_L, &got_packed));
    EXPECT(n == N_ITEMS && got_L == L && got_packed == packed,
           "%s: info says %lld of L = %lld %s, written %d of L = %lld %s", names[d],
           (long long)n, (long long)got_L, got_packed ? "packed" : "int8", N_ITEMS,
           (long long)L, packed ? "packed" : "int8");
    for (int r = 0; r < n_layouts; r++) {
      invrg_groups *g = make_groups(ls[r]);
      check_blocks(g, dset, L, packed, N_ITEMS);
      invrg_groups_destroy(&g);
    }
    check_on_disk(dset, L, packed, N_ITEMS);
    invrg_h5_close(&dset);
  }
  OK(invrg_h5_close_file(&file, path));
}

/* Written on every layout that can write it, read back on every layout. */
static void round_trips(bool packed, const int64_t *sizes, int n_sizes) {
  char dir[128], path[200], name[96];
  mpi_test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/configs.h5", dir);
  layout ls[8];
  const int n_layouts = layouts(ls);
  for (int w = 0; w < n_layouts; w++) {
    invrg_groups *g = make_groups(ls[w]);
    for (int k = 0; k < n_sizes; k++) {
      const int64_t L = sizes[k];
      invrg_lattice *probe = make_lattice(g, L);
      const bool can = writable(probe, packed);
      invrg_lattice_destroy(&probe);
      if (!can) continue;
      snprintf(where, sizeof where, "written by %s, L = %lld", layout_name(g, name, sizeof name),
               (long long)L);
      hid_t file = create_file(path);
      write_datasets(g, file, L, packed);
      OK(invrg_h5_close_file(&file, path));
      check_file(path, L, packed);
    }
    invrg_groups_destroy(&g);
  }
  mpi_test_rmdir(dir);
}

static void test_int8(void) {
  static const int64_t sizes[] = {2, 6, 10, 12, 24, 36, 64};
  round_trips(false, sizes, (int)(sizeof sizes / sizeof sizes[0]));
}

static void test_packed(void) {
  static const int64_t sizes[] = {8, 16, 24, 40, 72, 128};
  round_trips(true, sizes, (int)(sizeof sizes / sizeof sizes[0]));
}

/* Rows so long that invrg_configs_write_lattice() writes a block in several slabs of its
 * 1 MiB buffer, the last one short: L = 1500 int8 (699 rows a slab), L = 3008 packed (2788). */
static void test_long_rows(void) {
  char dir[128], path[200], name[96];
  mpi_test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/long.h5", dir);
  const layout ls[2] = {{1, 1, 1}, {world_size, 1, world_size}};
  for (int w = 0; w < (world_size > 1 ? 2 : 1); w++)
    for (int packed = 0; packed < 2; packed++) {
      const int64_t L = packed ? 3008 : 1500, n = 2;
      invrg_groups *g = make_groups(ls[w]);
      snprintf(where, sizeof where, "written by %s, L = %lld", layout_name(g, name, sizeof name),
               (long long)L);
      hid_t file = create_file(path), dset = -1;
      OK(invrg_configs_create(file, "configs", n, L, packed, &dset));
      invrg_lattice *lat = make_lattice(g, L);
      for (int64_t k = 0; k < invrg_groups_item_count(g, n); k++) {
        const int64_t j = invrg_groups_item(g, k);
        int8_t *a = configuration(L, j);
        set_interior(lat, a);
        OK(invrg_configs_write_lattice(dset, lat, packed, j));
        free(a);
      }
      invrg_lattice_destroy(&lat);
      invrg_h5_close(&dset);
      OK(invrg_h5_close_file(&file, path));
      OK(invrg_h5_open_parallel(path, false, MPI_COMM_WORLD, &file));
      dset = H5Dopen2(file, "configs", H5P_DEFAULT);
      check_blocks(g, dset, L, packed, n);
      check_on_disk(dset, L, packed, n);
      invrg_h5_close(&dset);
      OK(invrg_h5_close_file(&file, path));
      invrg_groups_destroy(&g);
    }
  mpi_test_rmdir(dir);
}

/* ---------------------------------------------------------------- refusals */

/* Dataset @p name of @p type and shape @p dims, with attribute format = @p format unless NULL. */
static hid_t make_dataset(hid_t file, const char *name, hid_t type, int rank, hsize_t d0,
                          hsize_t d1, hsize_t d2, const char *format) {
  const hsize_t dims[3] = {d0, d1, d2};
  hid_t dset = -1;
  OK(invrg_h5_create_dataset(file, name, type, rank, dims, &dset));
  if (format != NULL) OK(invrg_h5_attr_string(dset, "format", format));
  return dset;
}

/* invrg_configs_info refuses the dataset with an input error that names it and says @p why. */
static void expect_not_configs(hid_t file, const char *name, hid_t type, int rank, hsize_t d1,
                               hsize_t d2, const char *format, const char *why) {
  hid_t dset = make_dataset(file, name, type, rank, 2, d1, d2, format);
  int64_t n = 0, L = 0;
  bool packed = false;
  EXPECT_ERR(invrg_configs_info(dset, name, &n, &L, &packed), INVRG_ERR_INPUT, "%s", name);
  EXPECT(strstr(invrg_error_message(), name) != NULL && strstr(invrg_error_message(), why) != NULL,
         "%s: the message '%s' does not name it and say '%s'", name, invrg_error_message(), why);
  invrg_h5_close(&dset);
}

static void expect_configs(hid_t file, const char *name, hid_t type, hsize_t d1, hsize_t d2,
                           const char *format, int64_t want_L, bool want_packed) {
  hid_t dset = make_dataset(file, name, type, 3, 3, d1, d2, format);
  int64_t n = 0, L = 0;
  bool packed = !want_packed;
  EXPECT_ERR(invrg_configs_info(dset, name, &n, &L, &packed), INVRG_SUCCESS, "%s", name);
  EXPECT(n == 3 && L == want_L && packed == want_packed, "%s: %lld of L = %lld, %s", name,
         (long long)n, (long long)L, packed ? "packed" : "int8");
  invrg_h5_close(&dset);
}

static void test_shapes(void) {
  char dir[128], path[200];
  mpi_test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/shapes.h5", dir);
  hid_t file = create_file(path);
  const char *not_configs = "not a dataset of configurations";
  expect_not_configs(file, "flat", H5T_STD_I8LE, 2, 64, 1, NULL, not_configs);
  expect_not_configs(file, "doubles", H5T_IEEE_F64LE, 3, 8, 8, NULL, not_configs);
  expect_not_configs(file, "wide", H5T_STD_I8LE, 3, 8, 9, NULL, "has shape 2 x 8 x 9");
  expect_not_configs(file, "int8_named_packed", H5T_STD_I8LE, 3, 16, 16, "packed", "has shape");
  expect_not_configs(file, "packed_named_int8", H5T_STD_U8LE, 3, 16, 2, "int8", "has shape");
  expect_not_configs(file, "unknown_format", H5T_STD_I8LE, 3, 8, 8, "bits",
                     "format attribute 'bits' that is not 'int8' or 'packed'");
  expect_not_configs(file, "packed_not_by_8", H5T_STD_U8LE, 3, 12, 1, "packed", "has shape");
  expect_not_configs(file, "one_site", H5T_STD_I8LE, 3, 1, 1, NULL,
                     "holds configurations of L = 1; a lattice has L >= 2");
  /* read as the other kind of byte, HDF5 would clamp the values (255 → 127, −1 → 0) */
  expect_not_configs(file, "int8_unsigned", H5T_STD_U8LE, 3, 8, 8, "int8",
                     "holds unsigned bytes; int8 configurations are signed bytes");
  expect_not_configs(file, "packed_signed", H5T_STD_I8LE, 3, 16, 2, "packed",
                     "holds signed bytes; packed configurations are unsigned bytes");
  /* files from before the format attribute: the shape says which */
  expect_configs(file, "old_int8", H5T_STD_I8LE, 8, 8, NULL, 8, false);
  expect_configs(file, "old_packed", H5T_STD_U8LE, 16, 2, NULL, 16, true);
  expect_configs(file, "int8", H5T_STD_I8LE, 24, 24, "int8", 24, false);
  expect_configs(file, "packed", H5T_STD_U8LE, 24, 3, "packed", 24, true);
  /* a dataset that exists with another shape is not taken for a new one (a resumed run) */
  hid_t dset = -1;
  OK(invrg_configs_create(file, "configs", 4, 16, false, &dset));
  invrg_h5_close(&dset);
  EXPECT_ERR(invrg_configs_create(file, "configs", 4, 24, false, &dset), INVRG_ERR_RUNTIME,
             "configs of L = 24 over configs of L = 16");
  EXPECT_ERR(invrg_configs_create(file, "configs", 4, 16, true, &dset), INVRG_ERR_RUNTIME,
             "packed configs over int8 ones");
  invrg_h5_close(&dset);
  const hsize_t dims[3] = {4, 16, 16};
  EXPECT_ERR(invrg_h5_open_dataset(file, "mc/L16/configs", 3, dims, &dset), INVRG_ERR_RUNTIME,
             "a missing dataset");
  invrg_h5_close(&dset);
  OK(invrg_h5_close_file(&file, path));
  mpi_test_rmdir(dir);
}

/* Reading past the end is an error on the rank that reads; a value that is not a spin is read,
 * noted and made +1, and the ranks agree on the first. */
static void test_bad_reads(void) {
  char dir[128], path[200];
  mpi_test_tmpdir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/bad.h5", dir);
  const int64_t L = 16;
  hid_t file = create_file(path), dset = -1, packed_dset = -1;
  OK(invrg_configs_create(file, "configs", 3, L, false, &dset));
  OK(invrg_configs_create(file, "packed", 1, L, true, &packed_dset));
  invrg_lattice *lat = NULL;
  OK(invrg_lattice_create_replicated(L, L, 1, &lat));
  int8_t *a = configuration(L, 0);
  set_interior(lat, a);
  if (world_rank == 0) { /* item 0 spins, item 1 a 0, item 2 a 2 */
    OK(invrg_configs_write_lattice(dset, lat, false, 0));
    OK(invrg_configs_write_lattice(packed_dset, lat, true, 0));
    lat->data[invrg_lattice_index(lat, 5, 7)] = 0;
    OK(invrg_configs_write_lattice(dset, lat, false, 1));
    lat->data[invrg_lattice_index(lat, 5, 7)] = 2;
    OK(invrg_configs_write_lattice(dset, lat, false, 2));
  }
  invrg_h5_close(&packed_dset);
  invrg_h5_close(&dset);
  OK(invrg_h5_close_file(&file, path));
  OK(invrg_h5_open_parallel(path, false, MPI_COMM_WORLD, &file));
  dset = H5Dopen2(file, "configs", H5P_DEFAULT);
  packed_dset = H5Dopen2(file, "packed", H5P_DEFAULT);
  uint8_t *block = malloc((size_t)(L * L));
  /* values that are not spins are read as they are, noted (the lowest configuration's
   * first), and made +1 */
  invrg_non_spin bad = INVRG_NON_SPIN_NONE;
  for (int64_t j = 2; j >= 0; j--) {
    EXPECT_ERR(invrg_configs_read_spins(dset, lat, false, j, block), INVRG_SUCCESS,
               "item %lld", (long long)j);
    invrg_non_spin_note(&bad, j, block, L, L, 0, 0);
    const int64_t lowest = j == 2 ? 2 : 1; /* read from the last: a lower one replaces it */
    EXPECT(bad.config == lowest && bad.x == 5 && bad.y == 7 && bad.value == (lowest == 2 ? 2 : 0),
           "after item %lld: configuration %lld at (%lld, %lld) value %lld", (long long)j,
           (long long)bad.config, (long long)bad.x, (long long)bad.y, (long long)bad.value);
    int64_t differ = 0;
    for (int64_t k = 0; k < L * L; k++) differ += block[k] != (uint8_t)a[k];
    EXPECT(differ == (j == 0 || a[7 * L + 5] == 1 ? 0 : 1),
           "item %lld: %lld sites differ from the spins written", (long long)j, (long long)differ);
  }
  invrg_non_spin_note(&bad, 2, block, L, L, 0, 0); /* item 2 again: the lower one stays */
  block[3] = 0;
  invrg_non_spin_note(&bad, 2, block, L, L, 0, 0);
  EXPECT(bad.config == 1 && bad.value == 0 && block[3] == 1,
         "a higher configuration after a lower: configuration %lld value %lld, site made %d",
         (long long)bad.config, (long long)bad.value, (int8_t)block[3]);
  /* the same configuration's part further up (another rank's rows) replaces it */
  block[0] = 5;
  invrg_non_spin_note(&bad, 1, block, L, L, 0, 2);
  EXPECT(bad.config == 1 && bad.x == 0 && bad.y == 2 && bad.value == 5,
         "a lower site of the same configuration: (%lld, %lld) value %lld", (long long)bad.x,
         (long long)bad.y, (long long)bad.value);
  /* the ranks agree on the lowest (configuration, y, x) any of them noted, whichever rank
   * holds it: rank r notes configuration 10 + (size − 1 − r) / 2, value 3 + r at
   * (r, 4 + size − 1 − r) (rank 0 none when there are others), so the last two ranks hold 10
   * and the higher of them has the lower row */
  invrg_non_spin mine = INVRG_NON_SPIN_NONE;
  if (world_rank > 0 || world_size == 1) {
    uint8_t two[2] = {1, (uint8_t)(3 + world_rank)};
    invrg_non_spin_note(&mine, 10 + (world_size - 1 - world_rank) / 2, two, 2, 1, world_rank - 1,
                        4 + world_size - 1 - world_rank);
  }
  OK(invrg_non_spin_agree(&mine, MPI_COMM_WORLD));
  const int root = world_size - 1;
  EXPECT(mine.config == 10 && mine.x == root && mine.y == 4 && mine.value == 3 + root,
         "agreed: configuration %lld at (%lld, %lld) value %lld, expected rank %d's",
         (long long)mine.config, (long long)mine.x, (long long)mine.y, (long long)mine.value,
         root);
  invrg_non_spin none = INVRG_NON_SPIN_NONE;
  OK(invrg_non_spin_agree(&none, MPI_COMM_WORLD));
  EXPECT(none.config == INVRG_NO_NON_SPIN, "none noted, yet configuration %lld agreed",
         (long long)none.config);
  EXPECT_ERR(invrg_configs_read_spins(dset, lat, false, 3, block), INVRG_ERR_RUNTIME,
             "item 3 of 3");
  EXPECT_ERR(invrg_configs_read_spins(packed_dset, lat, true, 1, block), INVRG_ERR_RUNTIME,
             "packed item 1 of 1");
  EXPECT_ERR(invrg_configs_read_spins(packed_dset, lat, true, 0, block), INVRG_SUCCESS,
             "packed item 0");
  free(block);
  free(a);
  invrg_lattice_destroy(&lat);
  invrg_h5_close(&packed_dset);
  invrg_h5_close(&dset);
  OK(invrg_h5_close_file(&file, path));
  invrg_error_clear();
  mpi_test_rmdir(dir);
}

static const mpi_test_case cases[] = {
    {"int8", test_int8, true},           {"packed", test_packed, true},
    {"long_rows", test_long_rows, true}, {"shapes", test_shapes, true},
    {"bad_reads", test_bad_reads, true},
};

int main(int argc, char **argv) {
  invrg_log_set_level(INVRG_LOG_WARN); /* not a line per layout */
  return MPI_TEST_MAIN(argc, argv, cases);
}
