/*
 * Checkpoints (src/io/checkpoint.c, include/invrg/checkpoint.h) on 1 and 2 ranks, without a
 * stage around them:
 * - round trip: a stage's state (datasets written by different ranks, attributes of every
 *   type, a subgroup) written with begin/end and read back bit for bit from
 *   invrg_checkpoint_state() by the run that resumes, only in the stage that wrote it; the
 *   run file so far is in the checkpoint; the previous checkpoint kept as .prev; /checkpoint's
 *   own attributes; the number of restarts along a chain of resumed runs; removal;
 * - the input: keys that do not change results may change, any other is an input error that
 *   names the key and the checkpoint;
 * - decisions: stop after n polls, a checkpoint every n polls, the stop file, SIGUSR1; every
 *   rank of a group gets the same answer at the same poll, every rank the same at the sync;
 * - refusals: a truncated, corrupt or empty file, another checkpoint layout, another format
 *   version, a missing attribute or group, an orphaned .prev; every rank returns the same
 *   error and says what to do. A half-written .ckpt.tmp is discarded.
 */
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "invrg/checkpoint.h"
#include "invrg/config.h"
#include "invrg/fileutil.h"
#include "invrg/h5util.h"
#include "invrg/log.h"
#include "invrg/runfile.h"

#include "mpi/mpi_test.h"

/* ---------------------------------------------------------------- a run's setting */

typedef struct {
  char dir[128];
  char input[200], output[200], ckpt[220], prev[220], tmp[220], good[220];
  invrg_config cfg;
} setting;

/* Writes the input (&run seed = @p seed, title @p title) and loads it on every rank. */
static void load_input(setting *s, long long seed, const char *title) {
  if (world_rank == 0) {
    FILE *f = fopen(s->input, "w");
    fprintf(f,
            "&run\n  seed = %lld\n  output = '%s'\n  title = '%s'\n  stages = 'mc', 'analyze'\n"
            "  log_level = 'error'\n/\n"
            "&checkpoint keep_previous = .true., stop_file = '%s/STOP' /\n",
            seed, s->output, title, s->dir);
    fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  invrg_config_free(&s->cfg);
  OK(invrg_config_load(s->input, MPI_COMM_WORLD, &s->cfg));
}

static void setting_open(setting *s) {
  memset(s, 0, sizeof *s);
  mpi_test_tmpdir(s->dir, sizeof s->dir);
  snprintf(s->input, sizeof s->input, "%s/run.nml", s->dir);
  snprintf(s->output, sizeof s->output, "%s/run.h5", s->dir);
  snprintf(s->ckpt, sizeof s->ckpt, "%s.ckpt", s->output);
  snprintf(s->prev, sizeof s->prev, "%s.ckpt.prev", s->output);
  snprintf(s->tmp, sizeof s->tmp, "%s.ckpt.tmp", s->output);
  snprintf(s->good, sizeof s->good, "%s/good.ckpt", s->dir);
  invrg_config_defaults(&s->cfg);
  load_input(s, 12345, "checkpoint test");
}

static void setting_close(setting *s) {
  invrg_config_free(&s->cfg);
  mpi_test_rmdir(s->dir);
}

static bool exists(const char *path) {
  int here = world_rank == 0 && invrg_file_exists(path);
  MPI_Bcast(&here, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return here;
}

static invrg_runfile *new_runfile(const setting *s) {
  const invrg_run_layout layout = {.nranks = world_size};
  invrg_runfile *rf = NULL;
  OK(invrg_runfile_create(&s->cfg, &layout, MPI_COMM_WORLD, &rf));
  return rf;
}

/* ---------------------------------------------------------------- a stage's state */

enum { N_ITEMS = 5, SITES = 37 };

/* Version @p v of the state: item j's lattice row (int8), totals (int64), moments (doubles
 * with −0, a subnormal, infinities and a NaN), attributes of every type and a subgroup. Saved
 * as stage analyze's, whose state io does not check (stage mc's, train's and dream's are
 * checked before a run continues: checkpoint_check.h). */
static int8_t lattice_value(int v, int j, int k) { return (int8_t)((v * 7 + j * 3 + k) % 3 - 1); }
static int64_t total_value(int v, int k) { return (INT64_C(1) << 62) / (k + 1) - v * 1000003LL; }
static double moment_value(int v, int k) {
  static const double special[5] = {-0.0, 4.9406564584124654e-324, INFINITY, -INFINITY, NAN};
  return k < 5 ? special[k] : ldexp(1.0 + v / 3.0, k - 40) * (k % 2 ? -1 : 1);
}

static void write_state(hid_t state, int v) {
  /* lattices: item j written by world rank j mod P alone (independent I/O) */
  const hsize_t dims[2] = {N_ITEMS, SITES};
  hid_t d = -1, sub = -1;
  OK(invrg_h5_create_dataset(state, "lattices", H5T_STD_I8LE, 2, dims, &d));
  for (int j = world_rank; j < N_ITEMS; j += world_size) {
    int8_t row[SITES];
    for (int k = 0; k < SITES; k++) row[k] = lattice_value(v, j, k);
    OK(invrg_h5_write_rows(d, H5T_NATIVE_INT8, (hsize_t)j, 1, row));
  }
  invrg_h5_close(&d);
  int64_t totals[SITES];
  double moments[SITES];
  for (int k = 0; k < SITES; k++) totals[k] = total_value(v, k), moments[k] = moment_value(v, k);
  OK(invrg_h5_write_int64(state, "totals", totals, SITES, world_rank == world_size - 1));
  const hsize_t n = SITES;
  OK(invrg_h5_dataset_doubles(state, "moments", 1, &n, moments, world_rank == 0));
  const int64_t done = 1000 + v;
  const double lr = 1.0 / (3 + v);
  const bool flags[2] = {v % 2 == 0, true};
  char phase[32];
  snprintf(phase, sizeof phase, "phase %d", v);
  OK(invrg_h5_attr_int64(state, "samples_done", &done, 1, true));
  OK(invrg_h5_attr_double(state, "lr", &lr, 1, true));
  OK(invrg_h5_attr_bool(state, "flags", flags, 2, false));
  OK(invrg_h5_attr_string(state, "phase", phase));
  OK(invrg_h5_create_group(state, "replica_3/optimizer", &sub));
  OK(invrg_h5_attr_int64(sub, "step", &done, 1, true));
  invrg_h5_close(&sub);
}

static int64_t read_int64_attr(hid_t loc, const char *name) {
  int64_t x = -1;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  EXPECT(a >= 0 && H5Aread(a, H5T_NATIVE_INT64, &x) >= 0, "attribute %s", name);
  H5Aclose(a);
  return x;
}

static char *read_string_attr(hid_t loc, const char *name) {
  char *x = NULL;
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT), type = H5Aget_type(a);
  EXPECT(a >= 0 && H5Tis_variable_str(type) > 0 && H5Aread(a, type, &x) >= 0, "attribute %s", name);
  H5Tclose(type);
  H5Aclose(a);
  return x; /* H5free_memory() it */
}

/* The state read back on every rank equals version @p v bit for bit. */
static void expect_state(hid_t state, int v) {
  EXPECT(state >= 0, "no saved state");
  if (state < 0) return;
  const hsize_t dims[2] = {N_ITEMS, SITES};
  hid_t d = -1, sub = -1;
  OK(invrg_h5_open_dataset(state, "lattices", 2, dims, &d));
  int8_t rows[N_ITEMS][SITES];
  OK(invrg_h5_read_rows(d, H5T_NATIVE_INT8, 0, N_ITEMS, rows));
  invrg_h5_close(&d);
  int bad = 0;
  for (int j = 0; j < N_ITEMS; j++)
    for (int k = 0; k < SITES; k++) bad += rows[j][k] != lattice_value(v, j, k);
  EXPECT(bad == 0, "version %d: %d lattice sites differ", v, bad);
  int64_t totals[SITES];
  double moments[SITES];
  OK(invrg_h5_read_int64(state, "totals", totals, SITES));
  const hsize_t n = SITES;
  OK(invrg_h5_open_dataset(state, "moments", 1, &n, &d));
  OK(invrg_h5_read_rows(d, H5T_NATIVE_DOUBLE, 0, SITES, moments));
  invrg_h5_close(&d);
  for (int k = 0; k < SITES; k++) {
    const double want = moment_value(v, k);
    EXPECT_EQ(totals[k], total_value(v, k), "version %d: totals[%d]", v, k);
    EXPECT(memcmp(&moments[k], &want, sizeof want) == 0, "version %d: moments[%d] %a, wrote %a",
           v, k, moments[k], want);
  }
  EXPECT_EQ(read_int64_attr(state, "samples_done"), 1000 + v, "version %d: samples_done", v);
  double lr = 0;
  hid_t a = H5Aopen(state, "lr", H5P_DEFAULT);
  EXPECT(a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &lr) >= 0 && lr == 1.0 / (3 + v),
         "version %d: lr %a", v, lr);
  H5Aclose(a);
  int8_t flags[2] = {-1, -1};
  a = H5Aopen(state, "flags", H5P_DEFAULT);
  hid_t type = H5Aget_type(a);
  EXPECT(a >= 0 && H5Aread(a, type, flags) >= 0 && flags[0] == (v % 2 == 0) && flags[1] == 1,
         "version %d: flags %d %d", v, flags[0], flags[1]);
  H5Tclose(type);
  H5Aclose(a);
  char *phase = read_string_attr(state, "phase"), want[32];
  snprintf(want, sizeof want, "phase %d", v);
  EXPECT(phase != NULL && strcmp(phase, want) == 0, "version %d: phase '%s'", v, phase);
  H5free_memory(phase);
  sub = H5Gopen2(state, "replica_3/optimizer", H5P_DEFAULT);
  EXPECT(sub >= 0, "version %d: no subgroup replica_3/optimizer", v);
  if (sub >= 0) EXPECT_EQ(read_int64_attr(sub, "step"), 1000 + v, "version %d: step", v);
  invrg_h5_close(&sub);
}

/* Every rank has the same @p x. */
static bool same_everywhere(int x) {
  int lo = 0, hi = 0;
  MPI_Allreduce(&x, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&x, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return lo == hi;
}

/* One checkpoint holding state version @p v, in the stage @p ck was told of; the run stops
 * (INVRG_STOPPED) if @p stops. */
static void write_checkpoint(invrg_checkpoint *ck, int v, invrg_ckpt_decision d, bool stops) {
  hid_t state = -1;
  OK(invrg_checkpoint_begin(ck, &state));
  write_state(state, v);
  EXPECT_ERR(invrg_checkpoint_end(ck, &state, d), stops ? INVRG_STOPPED : INVRG_SUCCESS,
             "state version %d, decision %d", v, (int)d);
}

/* /checkpoint of a file, read on world rank 0 with HDF5 alone. */
typedef struct {
  int64_t stage_index, restarts, layout, samples_done;
  char stage[32], git_hash[64];
  bool fingerprint_has_seed, fingerprint_has_title;
} ckpt_header;

static ckpt_header read_header(const char *path) {
  ckpt_header h = {-1, -1, -1, -1, "", "", false, false};
  if (world_rank == 0) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "checkpoint", H5P_DEFAULT);
    EXPECT(f >= 0 && g >= 0, "%s has no /checkpoint", path);
    h.stage_index = read_int64_attr(g, "stage_index");
    h.restarts = read_int64_attr(g, "restarts");
    h.layout = read_int64_attr(g, "layout");
    char *stage = read_string_attr(g, "stage"), *hash = read_string_attr(g, "git_hash");
    char *fp = read_string_attr(g, "fingerprint");
    snprintf(h.stage, sizeof h.stage, "%s", stage ? stage : "");
    snprintf(h.git_hash, sizeof h.git_hash, "%s", hash ? hash : "");
    h.fingerprint_has_seed = fp != NULL && strstr(fp, "&run seed = 12345") != NULL;
    h.fingerprint_has_title = fp != NULL && strstr(fp, "title") != NULL;
    H5free_memory(stage);
    H5free_memory(hash);
    H5free_memory(fp);
    hid_t st = H5Gopen2(g, h.stage, H5P_DEFAULT);
    if (st >= 0) h.samples_done = read_int64_attr(st, "samples_done");
    H5Gclose(st);
    H5Gclose(g);
    H5Fclose(f);
  }
  MPI_Bcast(&h, sizeof h, MPI_BYTE, 0, MPI_COMM_WORLD);
  return h;
}

/* ---------------------------------------------------------------- round trip */

static void test_round_trip(void) {
  setting s;
  setting_open(&s);
  /* a fresh run: no checkpoint to continue */
  invrg_runfile *rf = new_runfile(&s);
  hid_t results = -1;
  OK(invrg_h5_create_group(rf->file, "mc/L16", &results));
  const double energy = -1.4530649;
  OK(invrg_h5_attr_double(results, "energy", &energy, 1, true));
  invrg_h5_close(&results);
  invrg_checkpoint *ck = NULL;
  OK(invrg_checkpoint_create(&s.cfg, MPI_COMM_WORLD, &ck));
  EXPECT(!invrg_checkpoint_resuming(ck) && invrg_checkpoint_stages_done(ck) == 0 &&
             invrg_checkpoint_restarts(ck) == 0,
         "a fresh run resumes");
  invrg_checkpoint_enter_stage(ck, 1, "analyze", rf);
  EXPECT(invrg_checkpoint_state(ck) < 0, "a fresh run has a saved state");
  /* two checkpoints: the second replaces the first, which is kept as .prev */
  write_checkpoint(ck, 1, INVRG_CKPT_CONTINUE, false);
  EXPECT(exists(s.ckpt) && !exists(s.prev) && !exists(s.tmp), "after one checkpoint: .ckpt only");
  write_checkpoint(ck, 2, INVRG_CKPT_STOP, true);
  EXPECT(exists(s.ckpt) && exists(s.prev) && !exists(s.tmp), "after two: .ckpt and .prev");
  invrg_checkpoint_destroy(&ck);
  EXPECT_ERR(invrg_runfile_finish(&rf, INVRG_STOPPED), INVRG_STOPPED, "a stopped run");
  EXPECT(!exists(s.output), "a stopped run left %s", s.output);
  ckpt_header h = read_header(s.ckpt), hp = read_header(s.prev);
  EXPECT(strcmp(h.stage, "analyze") == 0 && h.stage_index == 1 && h.restarts == 0 &&
             h.layout == 1 && h.git_hash[0] != '\0' && h.samples_done == 1002,
         "/checkpoint: stage '%s' (index %lld), restarts %lld, layout %lld, git '%s', state %lld",
         h.stage, (long long)h.stage_index, (long long)h.restarts, (long long)h.layout,
         h.git_hash, (long long)h.samples_done);
  EXPECT(h.fingerprint_has_seed && !h.fingerprint_has_title,
         "the fingerprint holds the seed and not the title");
  EXPECT_EQ(hp.samples_done, 1001, "the previous checkpoint holds the first state");

  /* the run that continues: the state only in its stage, the results so far in its run file */
  OK(invrg_checkpoint_create(&s.cfg, MPI_COMM_WORLD, &ck));
  EXPECT(invrg_checkpoint_resuming(ck) && invrg_checkpoint_stages_done(ck) == 1 &&
             invrg_checkpoint_restarts(ck) == 1 &&
             strcmp(invrg_checkpoint_source_path(ck), s.ckpt) == 0,
         "resuming %d, stages done %d, restarts %d, from %s", invrg_checkpoint_resuming(ck),
         invrg_checkpoint_stages_done(ck), invrg_checkpoint_restarts(ck),
         invrg_checkpoint_source_path(ck));
  const invrg_run_layout layout = {.nranks = world_size};
  OK(invrg_runfile_resume(&s.cfg, &layout, invrg_checkpoint_source_path(ck),
                          invrg_checkpoint_restarts(ck), MPI_COMM_WORLD, &rf));
  EXPECT(H5Lexists(rf->file, "mc/L16", H5P_DEFAULT) > 0 &&
             H5Lexists(rf->file, "checkpoint", H5P_DEFAULT) == 0,
         "the continued run file has the results so far and not the saved state");
  invrg_checkpoint_enter_stage(ck, 0, "mc", rf);
  EXPECT(invrg_checkpoint_state(ck) < 0, "stage mc sees the state of stage analyze");
  invrg_checkpoint_enter_stage(ck, 1, "analyze", rf);
  expect_state(invrg_checkpoint_state(ck), 2);
  /* a stop before any work would leave the state it started from (and so again in every run
   * after): not honoured, and the loop's end every rank waits at ends; after it (new work
   * follows) a stop is honoured */
  write_checkpoint(ck, 3, INVRG_CKPT_STOP, false);
  invrg_ckpt_decision none = INVRG_CKPT_STOP;
  OK(invrg_checkpoint_sync(ck, &none));
  EXPECT(none == INVRG_CKPT_NONE && same_everywhere((int)none),
         "the loop's end after a stop not honoured: sync says %d", (int)none);
  write_checkpoint(ck, 3, INVRG_CKPT_STOP, true);
  invrg_checkpoint_destroy(&ck);
  EXPECT_ERR(invrg_runfile_finish(&rf, INVRG_STOPPED), INVRG_STOPPED, "a stopped run");
  h = read_header(s.ckpt);
  EXPECT(h.restarts == 1 && h.samples_done == 1003, "second link: restarts %lld, state %lld",
         (long long)h.restarts, (long long)h.samples_done);

  /* a third run: restarts counts the chain; a finished run removes the checkpoints */
  OK(invrg_checkpoint_create(&s.cfg, MPI_COMM_WORLD, &ck));
  EXPECT_EQ(invrg_checkpoint_restarts(ck), 2, "restarts after two stops");
  invrg_checkpoint_enter_stage(ck, 1, "analyze", NULL);
  expect_state(invrg_checkpoint_state(ck), 3);
  OK(invrg_checkpoint_remove(ck));
  invrg_checkpoint_destroy(&ck);
  EXPECT(!exists(s.ckpt) && !exists(s.prev), "checkpoints left after a finished run");
  setting_close(&s);
}

/* ---------------------------------------------------------------- the input */

/* A checkpoint of stage 1, "analyze", state version 1, saved as s->good too. */
static void make_checkpoint(setting *s) {
  invrg_runfile *rf = new_runfile(s);
  invrg_checkpoint *ck = NULL;
  OK(invrg_checkpoint_create(&s->cfg, MPI_COMM_WORLD, &ck));
  invrg_checkpoint_enter_stage(ck, 1, "analyze", rf);
  write_checkpoint(ck, 1, INVRG_CKPT_STOP, true);
  invrg_checkpoint_destroy(&ck);
  EXPECT_ERR(invrg_runfile_finish(&rf, INVRG_STOPPED), INVRG_STOPPED, "a stopped run");
  if (world_rank == 0) OK(invrg_file_copy(s->ckpt, s->good));
  MPI_Barrier(MPI_COMM_WORLD);
}

/* invrg_checkpoint_create refuses the checkpoint with @p code on every rank, and its message
 * holds @p needle and @p needle2 (NULL: not checked). */
static void expect_refused(const setting *s, invrg_err code, const char *what, const char *needle,
                           const char *needle2) {
  static char sentinel;
  invrg_checkpoint *ck = (invrg_checkpoint *)(void *)&sentinel; /* a refusal must clear it */
  EXPECT_ERR(invrg_checkpoint_create(&s->cfg, MPI_COMM_WORLD, &ck), code, "%s", what);
  EXPECT(ck == NULL, "%s: a refused checkpoint is returned", what);
  EXPECT(strstr(invrg_error_message(), needle) != NULL &&
             (needle2 == NULL || strstr(invrg_error_message(), needle2) != NULL),
         "%s: the message '%s' does not say '%s'%s%s", what, invrg_error_message(), needle,
         needle2 != NULL ? " and " : "", needle2 != NULL ? needle2 : "");
  invrg_error_clear();
}

static void test_input(void) {
  setting s;
  setting_open(&s);
  make_checkpoint(&s);
  /* free keys: the title, the layout, the checkpoint settings */
  load_input(&s, 12345, "another title");
  s.cfg.parallel.ranks_per_group = world_size;
  s.cfg.checkpoint.keep_previous = false;
  invrg_checkpoint *ck = NULL;
  EXPECT_ERR(invrg_checkpoint_create(&s.cfg, MPI_COMM_WORLD, &ck), INVRG_SUCCESS,
             "a changed title, layout and &checkpoint");
  EXPECT(invrg_checkpoint_resuming(ck), "not resuming after free keys changed");
  invrg_checkpoint_destroy(&ck);
  /* a key that changes results: named, with the checkpoint, on every rank */
  load_input(&s, 12346, "checkpoint test");
  expect_refused(&s, INVRG_ERR_INPUT, "another seed", "seed = 12346", s.ckpt);
  load_input(&s, 12345, "checkpoint test");
  s.cfg.mc.L[0] += 2;
  expect_refused(&s, INVRG_ERR_INPUT, "another mc L", "&mc", "L =");
  setting_close(&s);
}

/* ---------------------------------------------------------------- damaged checkpoints */

/* On world rank 0, with HDF5 alone: /checkpoint attribute @p name replaced by @p value
 * (int64), by a string when @p text, or deleted when both are absent. */
static void set_header(const setting *s, const char *name, const int64_t *value, const char *text) {
  if (world_rank == 0) {
    hid_t f = H5Fopen(s->ckpt, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "checkpoint", H5P_DEFAULT);
    EXPECT(f >= 0 && g >= 0 && H5Adelete(g, name) >= 0, "cannot change %s", name);
    if (value != NULL) OK(invrg_h5_attr_int64(g, name, value, 1, true));
    if (text != NULL) OK(invrg_h5_attr_string(g, name, text));
    H5Gclose(g);
    H5Fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

/* Restores the good checkpoint, then lets world rank 0 @p damage it. */
static void restore(const setting *s) {
  if (world_rank == 0) OK(invrg_file_copy(s->good, s->ckpt));
  MPI_Barrier(MPI_COMM_WORLD);
}

static void truncate_to(const setting *s, double fraction, bool zero_head) {
  if (world_rank == 0) {
    FILE *f = fopen(s->ckpt, "r+b");
    fseek(f, 0, SEEK_END);
    const long size = ftell(f);
    if (zero_head) {
      static const char zeros[8] = {0};
      fseek(f, 0, SEEK_SET);
      fwrite(zeros, 1, sizeof zeros, f);
    }
    fclose(f);
    EXPECT(truncate(s->ckpt, (off_t)(fraction * (double)size)) == 0, "truncate");
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

static void test_damaged(void) {
  setting s;
  setting_open(&s);
  make_checkpoint(&s);
  const char *advice = "move it away"; /* every unreadable checkpoint says what to do */
  truncate_to(&s, 0.5, false);
  expect_refused(&s, INVRG_ERR_RUNTIME, "truncated to half", "cannot continue from", advice);
  restore(&s);
  truncate_to(&s, 1.0, true);
  expect_refused(&s, INVRG_ERR_RUNTIME, "no HDF5 signature", "cannot continue from", advice);
  restore(&s);
  truncate_to(&s, 0.0, false);
  expect_refused(&s, INVRG_ERR_RUNTIME, "empty", "cannot continue from", advice);
  restore(&s);
  const int64_t two = 2;
  set_header(&s, "layout", &two, NULL);
  expect_refused(&s, INVRG_ERR_RUNTIME, "layout 2", "checkpoint layout 2; this invrg writes and "
                 "reads layout 1", advice);
  restore(&s);
  set_header(&s, "layout", NULL, NULL);
  expect_refused(&s, INVRG_ERR_RUNTIME, "no layout", "checkpoint layout 0", advice);
  restore(&s);
  set_header(&s, "fingerprint", NULL, NULL);
  expect_refused(&s, INVRG_ERR_RUNTIME, "no fingerprint", "fingerprint", advice);
  restore(&s);
  set_header(&s, "stage_index", NULL, "one");
  expect_refused(&s, INVRG_ERR_RUNTIME, "stage_index a string", "stage_index", advice);
  restore(&s);
  set_header(&s, "restarts", NULL, NULL);
  expect_refused(&s, INVRG_ERR_RUNTIME, "no restarts", "restarts", advice);
  /* another major format version, or no /checkpoint: input errors */
  restore(&s);
  if (world_rank == 0) {
    hid_t f = H5Fopen(s.ckpt, H5F_ACC_RDWR, H5P_DEFAULT);
    const int64_t version[2] = {INVRG_FORMAT_VERSION_MAJOR + 1, 0};
    OK(invrg_h5_attr_int64(f, "format_version", version, 2, false));
    H5Fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  expect_refused(&s, INVRG_ERR_INPUT, "format 2", "format_version 2.0", NULL);
  restore(&s);
  if (world_rank == 0) {
    hid_t f = H5Fopen(s.ckpt, H5F_ACC_RDWR, H5P_DEFAULT);
    EXPECT(H5Ldelete(f, "checkpoint", H5P_DEFAULT) >= 0, "delete /checkpoint");
    H5Fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  expect_refused(&s, INVRG_ERR_INPUT, "no /checkpoint", "not an invrg checkpoint", NULL);
  /* another invrg's git hash: a warning, not a refusal */
  restore(&s);
  set_header(&s, "git_hash", NULL, "0123456789ab");
  invrg_checkpoint *ck = NULL;
  EXPECT_ERR(invrg_checkpoint_create(&s.cfg, MPI_COMM_WORLD, &ck), INVRG_SUCCESS,
             "another git hash");
  invrg_checkpoint_destroy(&ck);
  /* only .prev (a run killed between the two names): say so, do not start afresh */
  if (world_rank == 0) OK(invrg_file_rename(s.ckpt, s.prev));
  MPI_Barrier(MPI_COMM_WORLD);
  expect_refused(&s, INVRG_ERR_INPUT, "an orphaned .prev", ".ckpt.prev", "rename it");
  /* a checkpoint a killed run did not finish is discarded: a fresh start */
  if (world_rank == 0) OK(invrg_file_rename(s.prev, s.tmp));
  MPI_Barrier(MPI_COMM_WORLD);
  EXPECT_ERR(invrg_checkpoint_create(&s.cfg, MPI_COMM_WORLD, &ck), INVRG_SUCCESS, "a .ckpt.tmp");
  EXPECT(!invrg_checkpoint_resuming(ck) && !exists(s.tmp), "a .ckpt.tmp is taken up or left");
  invrg_checkpoint_destroy(&ck);
  setting_close(&s);
}

/* ---------------------------------------------------------------- decisions */

/* Polls until a decision (at most @p max polls, 1 ms apart); returns it and the poll's number. */
static invrg_ckpt_decision poll_until(invrg_checkpoint *ck, MPI_Comm group, int max, int *polls) {
  invrg_ckpt_decision d = INVRG_CKPT_NONE;
  const struct timespec pause = {0, 1000000};
  for (*polls = 1; *polls <= max; ++*polls) {
    OK(invrg_checkpoint_poll(ck, group, &d));
    if (d != INVRG_CKPT_NONE) return d;
    nanosleep(&pause, NULL);
  }
  return d;
}

static invrg_checkpoint *fresh(const setting *s, const char *env, const char *value) {
  if (env != NULL) setenv(env, value, 1);
  invrg_checkpoint *ck = NULL;
  OK(invrg_checkpoint_create(&s->cfg, MPI_COMM_WORLD, &ck));
  if (env != NULL) unsetenv(env);
  return ck;
}

/* At the end of the work loop every rank learns the same decision; NONE closes it. */
static void expect_sync(invrg_checkpoint *ck, invrg_ckpt_decision want, const char *what) {
  invrg_ckpt_decision d = INVRG_CKPT_STOP;
  OK(invrg_checkpoint_sync(ck, &d));
  EXPECT(d == want && same_everywhere((int)d), "%s: sync says %d, expected %d", what, (int)d,
         (int)want);
}

static void test_decisions(void) {
  setting s;
  setting_open(&s);
  int polls = 0;
  /* stop after 3 polls of rank 0; groups of one rank learn it when the broadcast arrives */
  invrg_checkpoint *ck = fresh(&s, "INVRG_TEST_STOP_AFTER_POLLS", "3");
  invrg_ckpt_decision d = poll_until(ck, MPI_COMM_SELF, 100000, &polls);
  EXPECT(d == INVRG_CKPT_STOP && same_everywhere((int)d), "stop after 3 polls: decision %d",
         (int)d);
  /* rank 0 decides at its third poll and learns the answer when its broadcast completes:
   * at once when alone */
  if (world_rank == 0)
    EXPECT(polls == 3 || (world_size > 1 && polls > 3), "rank 0 stops at poll %d", polls);
  expect_sync(ck, INVRG_CKPT_NONE, "after a stop");
  invrg_checkpoint_destroy(&ck);

  /* a checkpoint every 2 polls, one group of all ranks: the same answer at the same poll */
  ck = fresh(&s, "INVRG_TEST_CHECKPOINT_EVERY_POLLS", "2");
  int seen[8] = {0}, n_seen = 0;
  for (int k = 1; k <= 40 && n_seen < 3; k++) {
    OK(invrg_checkpoint_poll(ck, MPI_COMM_WORLD, &d));
    EXPECT(d == INVRG_CKPT_NONE || d == INVRG_CKPT_CONTINUE, "poll %d: decision %d", k, (int)d);
    if (d != INVRG_CKPT_NONE) seen[n_seen++] = k;
  }
  EXPECT(n_seen == 3, "%d decisions to continue in 40 polls", n_seen);
  for (int i = 0; i < 3; i++) EXPECT(same_everywhere(seen[i]), "decision %d at different polls", i);
  if (world_size == 1) /* nothing to wait for: exactly every second poll */
    EXPECT(seen[0] == 2 && seen[1] == 4 && seen[2] == 6, "continue at polls %d %d %d", seen[0],
           seen[1], seen[2]);
  expect_sync(ck, INVRG_CKPT_NONE, "after periodic checkpoints");
  invrg_checkpoint_destroy(&ck);

  /* the stop file, found at the end of the loop (and removed): a stop is decided there, also
   * when every rank is already there; SIGUSR1 during it */
  ck = fresh(&s, NULL, NULL);
  char stop_file[200];
  snprintf(stop_file, sizeof stop_file, "%s/STOP", s.dir);
  if (world_rank == 0) fclose(fopen(stop_file, "w"));
  MPI_Barrier(MPI_COMM_WORLD);
  expect_sync(ck, INVRG_CKPT_STOP, "the stop file");
  EXPECT(!exists(stop_file), "the stop file is left");
  expect_sync(ck, INVRG_CKPT_NONE, "after the stop file");
  /* SIGUSR1 */
  if (world_rank == 0) raise(SIGUSR1);
  d = poll_until(ck, MPI_COMM_SELF, 100000, &polls);
  EXPECT(d == INVRG_CKPT_STOP && same_everywhere((int)d), "SIGUSR1: decision %d", (int)d);
  if (world_rank == 0)
    EXPECT(polls == 1 || world_size > 1, "rank 0 stops at poll %d after SIGUSR1", polls);
  expect_sync(ck, INVRG_CKPT_NONE, "after SIGUSR1");
  /* a stop file that came after the last safe point goes with the completed run */
  if (world_rank == 0) fclose(fopen(stop_file, "w"));
  OK(invrg_checkpoint_remove(ck));
  EXPECT(!exists(stop_file), "a completed run left its stop file (it would stop the next one)");
  invrg_checkpoint_destroy(&ck);

  /* a periodic checkpoint due at every moment (an interval shorter than a write): polls ask
   * for one, but once every rank is at the end of the loop only a stop is decided there (it
   * asked for periodic ones again and again, for ever) */
  s.cfg.checkpoint.interval_minutes = 1e-12;
  ck = fresh(&s, NULL, NULL);
  d = poll_until(ck, MPI_COMM_SELF, 100000, &polls);
  EXPECT(d == INVRG_CKPT_CONTINUE && same_everywhere((int)d), "interval: decision %d", (int)d);
  int syncs = 0;
  do {
    OK(invrg_checkpoint_sync(ck, &d));
    syncs++;
  } while (d != INVRG_CKPT_NONE && syncs < 100000);
  EXPECT(d == INVRG_CKPT_NONE, "interval 1e-12 min: the loop's end still asks after %d syncs",
         syncs);
  if (world_size == 1) EXPECT_EQ(syncs, 1, "one rank: syncs before the loop ends");
  invrg_checkpoint_destroy(&ck);
  s.cfg.checkpoint.interval_minutes = 0;

  /* a stage run without checkpoints */
  d = INVRG_CKPT_STOP;
  OK(invrg_checkpoint_poll(NULL, MPI_COMM_WORLD, &d));
  EXPECT(d == INVRG_CKPT_NONE, "no checkpoint: poll says %d", (int)d);
  d = INVRG_CKPT_STOP;
  OK(invrg_checkpoint_sync(NULL, &d));
  EXPECT(d == INVRG_CKPT_NONE, "no checkpoint: sync says %d", (int)d);
  setting_close(&s);
}

static const mpi_test_case cases[] = {
    {"round_trip", test_round_trip, true},
    {"input", test_input, true},
    {"damaged", test_damaged, true},
    {"decisions", test_decisions, true},
};

int main(int argc, char **argv) {
  invrg_log_set_level(INVRG_LOG_ERROR); /* the warnings and notes the refusals cause */
  return MPI_TEST_MAIN(argc, argv, cases);
}
