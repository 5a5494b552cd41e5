/*
 * Stage mc's state and records without the stage (include/invrg/mc_checkpoint.h,
 * include/invrg/mc_record.h), on 1, 2 and 4 ranks:
 * - checkpoint: chains not started, complete and in progress (several at once, as a layout
 *   with more groups leaves them) written by one layout of groups and read back bit for bit by
 *   another (groups of one rank with whole lattices ↔ one group with the lattice split); the
 *   layout of /checkpoint/mc as documented (names, types, shapes, slots in chain order), which
 *   older checkpoints have; a size index out of range refused;
 * - records: the row layout of the documented contract, pack ∘ unpack = identity, and the
 *   fold of all chains' rows (block arrays chain-major, τ_int per chain, the jackknife summary
 *   and the combined series as their own functions give them);
 * - the jackknife block helpers of observables.h: sizes add up to n and are the blocks of
 *   invrg_mcrg_block_of(); block means are the means of their samples.
 */
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/checkpoint.h"
#include "invrg/config.h"
#include "invrg/configs_io.h"
#include "invrg/groups.h"
#include "invrg/h5util.h"
#include "invrg/lattice.h"
#include "invrg/mc_checkpoint.h"
#include "invrg/mc_record.h"
#include "invrg/mcrg.h"
#include "invrg/observables.h"
#include "invrg/runfile.h"
#include "invrg/stats.h"

#include "mpi/mpi_test.h"

/* ---------------------------------------------------------------- a saved state */

enum { N_CHAINS = 7, N_SAMPLES = 10, B = 3, L = 8, N_L = 3, SIZE_INDEX = 1 };
enum { PER_SIZE = N_CHAINS * B, N_FSS = (SIZE_INDEX + 1) * PER_SIZE };

/* Samples done by chain j: complete, not started, or in progress (0 included). */
static const int64_t done_of[N_CHAINS] = {N_SAMPLES, -1, 3, N_SAMPLES, 0, 7, -1};
enum { N_SLOTS = 3 }; /* chains 2, 4, 5 in progress */

static double record_value(int j, size_t i) {
  static const double special[4] = {-0.0, 4.9406564584124654e-324, INFINITY, NAN};
  if (i < 4 && j % 2 == 0) return special[i];
  return ldexp(1.0 + j / 7.0 + (double)i / 1000.0, (int)(i % 60) - 30) * (i % 2 ? -1 : 1);
}
static int8_t spin_of(int j, int64_t x, int64_t y) {
  return (j * 31 + x * 7 + y * 13) % 5 < 2 ? 1 : -1;
}
static int64_t updater_value(int j, int f) { return (INT64_C(1) << 40) * f + j * 1000003 + 1; }
static double fss_mean_value(int t) { return ldexp(1.0 + t / 97.0, -t % 7); }

static invrg_groups *make_groups(int rpg) {
  invrg_config cfg;
  invrg_config_defaults(&cfg);
  cfg.parallel.ranks_per_group = rpg;
  invrg_groups *g = NULL;
  OK(invrg_groups_create(MPI_COMM_WORLD, &cfg, &g));
  return g;
}

static invrg_lattice *make_lattice(const invrg_groups *g) {
  invrg_lattice *lat = NULL;
  if (g->ranks_per_group > 1 && invrg_groups_can_distribute(g, L, L, 1))
    OK(invrg_lattice_create_distributed(g, L, L, 1, &lat));
  else
    OK(invrg_lattice_create_replicated(L, L, 1, &lat));
  return lat;
}

/* The checkpoint of a run of the input in @p dir (created by world rank 0). */
typedef struct {
  char dir[128], input[200], output[200], ckpt[220];
  invrg_config cfg;
} setting;

static void setting_open(setting *s) {
  memset(s, 0, sizeof *s);
  mpi_test_tmpdir(s->dir, sizeof s->dir);
  snprintf(s->input, sizeof s->input, "%s/run.nml", s->dir);
  snprintf(s->output, sizeof s->output, "%s/run.h5", s->dir);
  snprintf(s->ckpt, sizeof s->ckpt, "%s.ckpt", s->output);
  if (world_rank == 0) {
    FILE *f = fopen(s->input, "w");
    fprintf(f, "&run seed = 3, output = '%s', stages = 'mc', log_level = 'error' /\n", s->output);
    /* the input the saved state belongs to: a run continues only from a state that fits it */
    fprintf(f, "&mc L = 16, %d, 32, n_chains = %d, n_samples = %d, blocks_per_chain = %d /\n", L,
            N_CHAINS, N_SAMPLES, B);
    fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  invrg_config_defaults(&s->cfg);
  OK(invrg_config_load(s->input, MPI_COMM_WORLD, &s->cfg));
}

static void setting_close(setting *s) {
  invrg_config_free(&s->cfg);
  mpi_test_rmdir(s->dir);
}

/* This group's chains as a stage holds them; with_data: their values (else empty). */
static void chains_make(const invrg_groups *g, const invrg_lattice *lat, bool with_data,
                        invrg_mc_chains_state *c) {
  const size_t len = invrg_mc_record_length(B);
  const int64_t n_mine = invrg_groups_item_count(g, N_CHAINS);
  *c = (invrg_mc_chains_state){.n_chains = N_CHAINS, .n_samples = N_SAMPLES,
                               .record_length = len, .n_mine = n_mine};
  c->done = malloc((size_t)n_mine * sizeof *c->done);
  c->records = calloc((size_t)n_mine * len, sizeof *c->records);
  c->spins = calloc((size_t)n_mine, sizeof *c->spins);
  c->updater = calloc((size_t)n_mine, sizeof *c->updater);
  for (int64_t k = 0; k < n_mine; k++) {
    const int j = (int)invrg_groups_item(g, k);
    c->done[k] = with_data ? done_of[j] : -1;
    if (!with_data) continue;
    for (size_t i = 0; i < len; i++) c->records[(size_t)k * len + i] = record_value(j, i);
    if (done_of[j] < 0 || done_of[j] >= N_SAMPLES) continue;
    c->spins[k] = malloc((size_t)(lat->nx * lat->ny));
    for (int y = 0; y < lat->ny; y++)
      for (int x = 0; x < lat->nx; x++)
        c->spins[k][y * lat->nx + x] = (uint8_t)spin_of(j, lat->x0 + x, lat->y0 + y);
    for (int f = 0; f < INVRG_MC_UPDATER_FIELDS; f++) c->updater[k][f] = updater_value(j, f);
  }
}

static void chains_free(invrg_mc_chains_state *c) {
  for (int64_t k = 0; k < c->n_mine; k++) free(c->spins[k]);
  free(c->spins);
  free(c->updater);
  free(c->records);
  free(c->done);
}

/* Writes the state with the layout of @p g: stopped, the run file left as a checkpoint. */
static void save(setting *s, const invrg_groups *g) {
  invrg_lattice *lat = make_lattice(g);
  invrg_mc_chains_state c;
  chains_make(g, lat, true, &c);
  double *means = calloc((size_t)N_L * PER_SIZE * INVRG_N_PRIMARY, sizeof *means);
  int64_t *sizes = calloc((size_t)N_L * PER_SIZE, sizeof *sizes);
  if (world_rank == 0) /* the FSS inputs live on world rank 0: only its are written */
    for (int t = 0; t < N_FSS; t++) {
      sizes[t] = t + 1;
      for (int o = 0; o < INVRG_N_PRIMARY; o++)
        means[t * INVRG_N_PRIMARY + o] = fss_mean_value(t * INVRG_N_PRIMARY + o);
    }
  const invrg_mc_sizes_state st = {SIZE_INDEX, PER_SIZE, means, sizes, NULL, NULL};
  const invrg_run_layout layout = {.nranks = world_size};
  invrg_runfile *rf = NULL;
  invrg_checkpoint *ck = NULL;
  OK(invrg_runfile_create(&s->cfg, &layout, MPI_COMM_WORLD, &rf));
  OK(invrg_checkpoint_create(&s->cfg, MPI_COMM_WORLD, &ck));
  invrg_checkpoint_enter_stage(ck, 0, "mc", rf);
  EXPECT_ERR(invrg_mc_checkpoint_save(ck, INVRG_CKPT_STOP, g, lat, &c, &st), INVRG_STOPPED,
             "a checkpoint that stops the run");
  invrg_checkpoint_destroy(&ck);
  EXPECT_ERR(invrg_runfile_finish(&rf, INVRG_STOPPED), INVRG_STOPPED, "a stopped run");
  chains_free(&c);
  free(means);
  free(sizes);
  invrg_lattice_destroy(&lat);
}

/* ---------------------------------------------------------------- the layout on disk */

static void expect_dataset(hid_t loc, const char *name, hid_t type, int rank,
                           const hsize_t *dims) {
  hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
  EXPECT(d >= 0, "no dataset %s", name);
  if (d < 0) return;
  hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
  hsize_t got[4] = {0};
  const int r = H5Sget_simple_extent_ndims(sp);
  EXPECT(H5Tequal(t, type) > 0, "%s: another type", name);
  EXPECT(r == rank, "%s: rank %d, documented %d", name, r, rank);
  if (r == rank && r <= 4) {
    H5Sget_simple_extent_dims(sp, got, NULL);
    for (int i = 0; i < rank; i++)
      EXPECT(got[i] == dims[i], "%s: dimension %d is %llu, documented %llu", name, i,
             (unsigned long long)got[i], (unsigned long long)dims[i]);
  }
  H5Sclose(sp);
  H5Tclose(t);
  H5Dclose(d);
}

/* /checkpoint/mc as mc_checkpoint.h documents it, read with HDF5 alone on world rank 0. */
static void expect_layout(const char *path) {
  if (world_rank != 0) return;
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t g = f >= 0 ? H5Gopen2(f, "checkpoint/mc", H5P_DEFAULT) : -1;
  EXPECT(g >= 0, "%s has no /checkpoint/mc", path);
  if (g < 0) goto done;
  int64_t index = -1;
  hid_t a = H5Aopen(g, "size_index", H5P_DEFAULT), at = a >= 0 ? H5Aget_type(a) : -1;
  EXPECT(a >= 0 && H5Tequal(at, H5T_STD_I64LE) > 0 &&
             H5Aread(a, H5T_NATIVE_INT64, &index) >= 0 && index == SIZE_INDEX,
         "attribute size_index (int64) %lld, wrote %d", (long long)index, SIZE_INDEX);
  if (at >= 0) H5Tclose(at);
  if (a >= 0) H5Aclose(a);
  const hsize_t n_done[1] = {N_CHAINS}, records[2] = {N_CHAINS, invrg_mc_record_length(B)};
  const hsize_t lattices[3] = {N_SLOTS, L, L}, updater[2] = {N_SLOTS, INVRG_MC_UPDATER_FIELDS};
  const hsize_t fss_sizes[1] = {N_FSS}, fss_means[1] = {N_FSS * INVRG_N_PRIMARY};
  expect_dataset(g, "done", H5T_STD_I64LE, 1, n_done);
  expect_dataset(g, "records", H5T_IEEE_F64LE, 2, records);
  expect_dataset(g, "lattices", H5T_STD_I8LE, 3, lattices);
  expect_dataset(g, "updater", H5T_STD_I64LE, 2, updater);
  expect_dataset(g, "fss_sizes", H5T_STD_I64LE, 1, fss_sizes);
  expect_dataset(g, "fss_means", H5T_IEEE_F64LE, 1, fss_means);
  /* slots hold the chains in progress in chain order: 2, 4, 5 */
  int8_t spins[N_SLOTS][L][L];
  hid_t d = H5Dopen2(g, "lattices", H5P_DEFAULT);
  EXPECT(d >= 0 && H5Dread(d, H5T_NATIVE_INT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, spins) >= 0,
         "reading lattices");
  if (d >= 0) H5Dclose(d);
  const int slot_chain[N_SLOTS] = {2, 4, 5};
  int bad = 0;
  for (int t = 0; t < N_SLOTS; t++)
    for (int y = 0; y < L; y++)
      for (int x = 0; x < L; x++) bad += spins[t][y][x] != spin_of(slot_chain[t], x, y);
  EXPECT(bad == 0, "lattices: %d spins are not those of chains 2, 4, 5 in slots 0, 1, 2", bad);
  H5Gclose(g);
done:
  if (f >= 0) H5Fclose(f);
}

/* ---------------------------------------------------------------- reading back */

/* The state read with the layout of @p g equals what was written, bit for bit. */
static void expect_read(setting *s, const invrg_groups *g) {
  invrg_lattice *lat = make_lattice(g);
  invrg_checkpoint *ck = NULL;
  invrg_runfile *rf = NULL;
  OK(invrg_checkpoint_create(&s->cfg, MPI_COMM_WORLD, &ck));
  const invrg_run_layout layout = {.nranks = world_size};
  OK(invrg_runfile_resume(&s->cfg, &layout, invrg_checkpoint_source_path(ck),
                          invrg_checkpoint_restarts(ck), MPI_COMM_WORLD, &rf));
  invrg_checkpoint_enter_stage(ck, 0, "mc", rf);
  const hid_t state = invrg_checkpoint_state(ck);
  EXPECT(state >= 0, "no state of stage mc");

  double *means = calloc((size_t)N_L * PER_SIZE * INVRG_N_PRIMARY, sizeof *means);
  int64_t *sizes = calloc((size_t)N_L * PER_SIZE, sizeof *sizes);
  invrg_mc_sizes_state st = {0, PER_SIZE, means, sizes, NULL, NULL};
  EXPECT_ERR(invrg_mc_checkpoint_read_sizes(state, SIZE_INDEX, &st), INVRG_ERR_RUNTIME,
             "size_index %d of a run with %d sizes", SIZE_INDEX, SIZE_INDEX);
  OK(invrg_mc_checkpoint_read_sizes(state, N_L, &st));
  EXPECT_EQ(st.size_index, SIZE_INDEX, "size_index");
  int bad = 0;
  for (int t = 0; t < N_FSS; t++) {
    bad += sizes[t] != t + 1;
    for (int o = 0; o < INVRG_N_PRIMARY; o++) {
      const double want = fss_mean_value(t * INVRG_N_PRIMARY + o);
      bad += memcmp(&means[t * INVRG_N_PRIMARY + o], &want, sizeof want) != 0;
    }
  }
  EXPECT(bad == 0, "%d FSS block sizes or means differ", bad);

  invrg_mc_chains_state c;
  chains_make(g, lat, false, &c);
  OK(invrg_mc_checkpoint_read_chains(state, g, lat, &c, NULL));
  for (int64_t k = 0; k < c.n_mine; k++) {
    const int j = (int)invrg_groups_item(g, k);
    const bool running = done_of[j] >= 0 && done_of[j] < N_SAMPLES;
    EXPECT_EQ(c.done[k], done_of[j], "chain %d: done", j);
    for (size_t i = 0; done_of[j] >= 0 && i < c.record_length; i++) {
      const double want = record_value(j, i);
      EXPECT(memcmp(&c.records[(size_t)k * c.record_length + i], &want, sizeof want) == 0,
             "chain %d: record[%zu] %a, wrote %a", j, i,
             c.records[(size_t)k * c.record_length + i], want);
    }
    EXPECT((c.spins[k] != NULL) == running, "chain %d: spins %s", j,
           c.spins[k] != NULL ? "read for a chain not in progress" : "missing");
    if (c.spins[k] == NULL || !running) continue;
    int wrong = 0;
    for (int y = 0; y < lat->ny; y++)
      for (int x = 0; x < lat->nx; x++)
        wrong += (int8_t)c.spins[k][y * lat->nx + x] != spin_of(j, lat->x0 + x, lat->y0 + y);
    EXPECT(wrong == 0, "chain %d: %d spins of this rank's block differ", j, wrong);
    for (int f = 0; f < INVRG_MC_UPDATER_FIELDS; f++)
      EXPECT_EQ(c.updater[k][f], updater_value(j, f), "chain %d: updater[%d]", j, f);
  }
  chains_free(&c);
  free(means);
  free(sizes);
  OK(invrg_checkpoint_remove(ck));
  invrg_checkpoint_destroy(&ck);
  EXPECT_ERR(invrg_runfile_finish(&rf, INVRG_STOPPED), INVRG_STOPPED, "closing the resumed run");
  invrg_lattice_destroy(&lat);
}

static void test_checkpoint(void) {
  /* (write, read) ranks per group: whole lattices on groups of one ↔ one group splitting it */
  const int layouts[][2] = {{1, world_size}, {world_size, 1}, {1, 1}};
  for (size_t t = 0; t < sizeof layouts / sizeof layouts[0]; t++) {
    snprintf(where, sizeof where, "written by groups of %d, read by groups of %d", layouts[t][0],
             layouts[t][1]);
    setting s;
    setting_open(&s);
    invrg_groups *gw = make_groups(layouts[t][0]), *gr = make_groups(layouts[t][1]);
    save(&s, gw);
    expect_layout(s.ckpt);
    expect_read(&s, gr);
    invrg_groups_destroy(&gw);
    invrg_groups_destroy(&gr);
    setting_close(&s);
  }
}

/* ---------------------------------------------------------------- records */

static invrg_series_stats stats_of(int j, int k) {
  return (invrg_series_stats){.mean = -1.5 + j + k / 8.0, .variance = 0.25 * (k + 1),
                              .tau_int = 0.5 + j * 0.75 + k, .window = 3 * k + j,
                              .error = 1e-3 * (j + 1), .error_binning = 2e-3 * (k + 1),
                              .reliable = (j + k) % 2 == 0};
}

static bool same_stats(const invrg_series_stats *a, const invrg_series_stats *b) {
  return memcmp(&a->mean, &b->mean, sizeof a->mean) == 0 && a->variance == b->variance &&
         a->tau_int == b->tau_int && a->window == b->window && a->error == b->error &&
         a->error_binning == b->error_binning && a->reliable == b->reliable;
}

static void test_records(void) {
  enum { C = 3, NB = 4, P = INVRG_N_PRIMARY, NS = INVRG_MC_N_SERIES };
  const size_t len = invrg_mc_record_length(NB);
  EXPECT_EQ((long long)len, NS * 7 + NB * P + NB, "row length");
  double rows[C][NS * 7 + NB * P + NB], bm[C][NB * P], back_means[NB * P];
  int64_t bs[C][NB], back_sizes[NB];
  for (int j = 0; j < C; j++) {
    invrg_mc_record r = {.block_means = bm[j], .block_sizes = bs[j]};
    for (int k = 0; k < NS; k++) r.series[k] = stats_of(j, k);
    for (int i = 0; i < NB * P; i++) bm[j][i] = 0.3 + j - i / 17.0;
    for (int b = 0; b < NB; b++) bs[j][b] = 5 + (b < 2);
    invrg_mc_record_pack(&r, NB, rows[j]);
    /* the documented row: series stats, block means, block sizes */
    EXPECT(rows[j][2 * 7 + 2] == r.series[2].tau_int && rows[j][4 * 7 + 3] == r.series[4].window &&
               rows[j][1 * 7 + 6] == r.series[1].reliable,
           "chain %d: series statistics not at [series][field]", j);
    EXPECT(rows[j][NS * 7 + 2 * P + 5] == bm[j][2 * P + 5], "chain %d: block means", j);
    EXPECT(rows[j][NS * 7 + NB * P + 3] == (double)bs[j][3], "chain %d: block sizes", j);
    invrg_mc_record back = {.block_means = back_means, .block_sizes = back_sizes};
    invrg_mc_record_unpack(rows[j], NB, &back);
    for (int k = 0; k < NS; k++)
      EXPECT(same_stats(&back.series[k], &r.series[k]), "chain %d series %d: unpack(pack)", j, k);
    EXPECT(memcmp(back_means, bm[j], sizeof back_means) == 0 &&
               memcmp(back_sizes, bs[j], sizeof back_sizes) == 0,
           "chain %d: block arrays after unpack(pack)", j);
  }
  /* the fold of all chains against the functions it is made of */
  double means[C * NB * P], taus[C * NS];
  int64_t sizes[C * NB];
  invrg_mc_summary s = {.block_means = means, .block_sizes = sizes, .tau_int = taus};
  OK(invrg_mc_summarize(&rows[0][0], C, NB, 64.0, 0.4, &s));
  EXPECT(memcmp(means, bm, sizeof means) == 0 && memcmp(sizes, bs, sizeof sizes) == 0,
         "block arrays are not chain-major");
  for (int j = 0; j < C; j++)
    for (int k = 0; k < NS; k++)
      EXPECT(taus[j * NS + k] == stats_of(j, k).tau_int, "tau_int[%d][%d]", j, k);
  invrg_summary want;
  invrg_summary_from_blocks(means, sizes, C * NB, 64.0, 0.4, &want);
  EXPECT(memcmp(want.value, s.summary.value, sizeof want.value) == 0 &&
             memcmp(want.error, s.summary.error, sizeof want.error) == 0 &&
             want.n_samples == s.summary.n_samples,
         "the summary is not invrg_summary_from_blocks of the chains' blocks");
  for (int k = 0; k < NS; k++) {
    invrg_series_stats per[C], combined;
    for (int j = 0; j < C; j++) per[j] = stats_of(j, k);
    invrg_stats_combine(per, C, &combined);
    EXPECT(same_stats(&combined, &s.combined[k]), "series %d: not invrg_stats_combine", k);
  }
}

/* ---------------------------------------------------------------- block helpers */

static void test_blocks(void) {
  for (int64_t n = 1; n <= 40; n++)
    for (int64_t nb = 1; nb <= n && nb <= 9; nb++) {
      int64_t sizes[9], count[9] = {0}, total = 0;
      invrg_summary_block_sizes(n, nb, sizes);
      for (int64_t s = 0; s < n; s++) count[invrg_mcrg_block_of(s, n, (int)nb)]++;
      int bad = 0;
      for (int64_t b = 0; b < nb; b++) {
        total += sizes[b];
        bad += sizes[b] != count[b] || sizes[b] < n / nb || sizes[b] > n / nb + 1;
      }
      EXPECT(bad == 0 && total == n, "n = %lld, %lld blocks: sizes are not the blocks of "
             "invrg_mcrg_block_of", (long long)n, (long long)nb);
    }
  /* block means: 7 samples in a block of 7 give their mean (to rounding) */
  double means[INVRG_N_PRIMARY] = {0}, sum[INVRG_N_PRIMARY] = {0}, abs_sum[INVRG_N_PRIMARY] = {0};
  for (int t = 0; t < 7; t++) {
    double p[INVRG_N_PRIMARY];
    for (int o = 0; o < INVRG_N_PRIMARY; o++)
      p[o] = sin(1.0 + t * 3 + o), sum[o] += p[o], abs_sum[o] += fabs(p[o]);
    invrg_summary_block_add(means, p, 7);
  }
  /* rounding only: 7 divisions and 7 additions, each within 2^-53 of Σ|p| (twice, for sum/7) */
  for (int o = 0; o < INVRG_N_PRIMARY; o++)
    EXPECT_NEAR(means[o], sum[o] / 7, 32 * 0x1p-53 * abs_sum[o], "primary %d", o);
}

int main(int argc, char **argv) {
  static const mpi_test_case cases[] = {
      {"checkpoint", test_checkpoint, true},
      {"records", test_records, true},
      {"blocks", test_blocks, true},
  };
  return MPI_TEST_MAIN(argc, argv, cases);
}
