/* Stage mc: Monte Carlo chains of the 2D Ising model, their summaries and /mc/L<L>/.
 *
 * Chains are items (groups.h): chain j runs on group j mod n_groups, from an
 * initial state and with updates that depend only on (seed, j), so every
 * number this stage writes is the same on any number of ranks. Per-chain
 * records (mc_record.h) travel to world rank 0 in chain order, where the summary
 * is made, then to every rank (HDF5 attributes are written by all ranks alike).
 * A checkpoint keeps the chains and what the sizes share (mc_checkpoint.h).
 * With &mc lattice = 'packed', Metropolis and heat-bath chains are swept on a packed lattice
 * (multispin.h) and every sample is measured, saved and parked on an int8 copy. The check of
 * its keys before any work: mc_check.c; a size's summary, /mc/L<L> and the log: mc_results.c.
 */
#include <stdlib.h>
#include <string.h>

#include "invrg/checkpoint.h"
#include "invrg/configs_io.h"
#include "invrg/h5util.h"
#include "invrg/lattice.h"
#include "invrg/mc_check.h"
#include "invrg/mc_checkpoint.h"
#include "invrg/mc_record.h"
#include "invrg/mc_results.h"
#include "invrg/mc_update.h"
#include "invrg/mcrg.h"
#include "invrg/mcrg_io.h"
#include "invrg/measure_tail.h"
#include "invrg/multispin.h"
#include "invrg/observables.h"
#include "invrg/packed.h"
#include "invrg/packed_measure.h"
#include "invrg/progress.h"
#include "invrg/reducer.h"
#include "invrg/schema.h"
#include "invrg/stage.h"
#include "invrg/stage_setup.h"
#include "invrg/stats.h"

enum { N_SERIES = INVRG_MC_N_SERIES };

/* ------------------------------------------------------------------ one chain */

/* The updates of one chain: whichever workspace its algorithm needs. With &mc lattice =
 * 'packed' the chain lives in `packed` between samples; the int8 lattice gets a copy of it for
 * each measurement, and gives it its spins when a chain starts or resumes. */
typedef struct {
  invrg_mc_algorithm alg;
  invrg_wolff *wolff;
  invrg_sw *sw;
  invrg_packed *packed; /* NULL: the updates work on the int8 lattice */
  uint64_t sweeps;      /* sweeps done = RNG step of the next (SW, checkerboard) */
} updater;

static invrg_err update(invrg_lattice *lat, const invrg_mc_chain *chain, updater *u,
                        int64_t n_sweeps, bool thermalizing, invrg_mc_counts *counts) {
  invrg_err err = INVRG_SUCCESS;
  if (u->alg == INVRG_MC_WOLFF) {
    if (thermalizing)
      INVRG_CALL(invrg_mc_wolff_thermalize(lat, chain, n_sweeps, u->wolff, counts));
    else
      INVRG_CALL(invrg_mc_wolff_sweeps(lat, chain, n_sweeps, u->wolff, counts));
    goto cleanup;
  }
  for (int64_t t = 0; t < n_sweeps; t++, u->sweeps++) {
    if (u->packed != NULL)
      INVRG_CALL(invrg_multispin_sweep(u->packed, chain, u->sweeps,
                                       u->alg == INVRG_MC_HEATBATH, counts));
    else if (u->alg == INVRG_MC_SW)
      INVRG_CALL(invrg_mc_sw_sweep(lat, chain, u->sweeps, u->sw, counts));
    else
      INVRG_CALL(invrg_mc_checkerboard_sweep(lat, chain, u->sweeps, u->alg == INVRG_MC_HEATBATH,
                                             counts));
  }
cleanup:
  return err;
}

/* What a checkpoint keeps of an updater: sweeps; Wolff's clusters, flipped, clusters per sweep. */
static void get_updater(const updater *u, int64_t f[INVRG_MC_UPDATER_FIELDS]) {
  f[0] = (int64_t)u->sweeps, f[1] = f[2] = f[3] = 0;
  if (u->wolff != NULL)
    f[1] = (int64_t)u->wolff->clusters, f[2] = u->wolff->flipped,
    f[3] = u->wolff->clusters_per_sweep;
}

static void set_updater(updater *u, const int64_t f[INVRG_MC_UPDATER_FIELDS]) {
  u->sweeps = (uint64_t)f[0];
  if (u->wolff != NULL) {
    invrg_wolff_reset(u->wolff);
    u->wolff->clusters = (uint64_t)f[1], u->wolff->flipped = f[2];
    u->wolff->clusters_per_sweep = f[3];
  }
}

/* Where the sampled configurations go: this rank's block of /mc/L<L>/configs. */
typedef struct {
  hid_t dset;      /* -1 when not saving */
  bool packed;
  bool writer;     /* replicated lattices: only group rank 0 writes */
  size_t block_bytes;
  uint8_t *buf;    /* n_samples blocks of one chain */
} config_writer;

/*
 * The chains of one size on this group, and all a checkpoint of them needs. chains.done[k]
 * counts the samples measured by local chain k: −1 before it starts, n when it is complete;
 * at most one chain is in between (the running one), besides chains a checkpoint left half
 * done, which are parked (chains.spins[k], chains.updater[k]) until they run again.
 */
typedef struct {
  invrg_run *run;
  int64_t L, n, B;             /* size, samples per chain, blocks per chain */
  invrg_mc_sizes_state *sizes; /* what the sizes share (FSS inputs, correlations) */
  invrg_lattice *lat;
  updater u;
  config_writer cw;
  hid_t series_dset;
  double *series;           /* [n][N_SERIES] of the running chain (the others': in the file) */
  invrg_mc_record *records; /* [k]: statistics once complete; block means as they grow */
  double *block_means;      /* [k][B][INVRG_N_PRIMARY]: the records' arrays */
  int64_t *block_sizes;     /* [k][B] */
  double *rows;             /* [k][record length]: the records packed (reducer, checkpoints) */
  invrg_mc_chains_state chains; /* done, rows, parked chains: what a checkpoint keeps */
  int64_t running;              /* the local chain being updated now, or −1 */
  int64_t buffered_from; /* the first sample of the running chain in cw.buf (earlier: on disk) */
  invrg_mcrg *mcrg;
  invrg_progress progress;
  double steps_done;
  invrg_mc_counts counts;
} size_work;

static invrg_err save_state(size_work *w, invrg_ckpt_decision d);

/* Local chain k ready for its next sample: as a checkpoint left it (its series so far in the
 * file), or fresh (random start, thermalisation). */
static invrg_err chain_start(size_work *w, int64_t k, const invrg_mc_chain *chain) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config_mc *mc = &w->run->cfg->mc;
  invrg_mc_record *r = &w->records[k];
  int64_t *done = w->chains.done;
  if (w->chains.spins[k] != NULL) {
    if (done[k] > 0)
      INVRG_CALL(invrg_h5_read_block3(w->series_dset, H5T_NATIVE_DOUBLE, chain->chain, 1, 0,
                                      (hsize_t)done[k], 0, N_SERIES, w->series));
    INVRG_CALL(invrg_configs_paste_block(w->lat, w->chains.spins[k]));
    set_updater(&w->u, w->chains.updater[k]);
    free(w->chains.spins[k]);
    w->chains.spins[k] = NULL;
    if (w->u.packed != NULL) INVRG_CALL(invrg_packed_from_lattice(w->u.packed, w->lat));
  }
  if (done[k] < 0) {
    invrg_rng_stream init;
    invrg_rng_stream_init(&init, chain->seed, INVRG_RNG_INIT, chain->chain, 0);
    invrg_lattice_fill_random(w->lat, &init);
    if (w->u.packed != NULL) INVRG_CALL(invrg_packed_from_lattice(w->u.packed, w->lat));
    if (w->u.wolff) invrg_wolff_reset(w->u.wolff);
    w->u.sweeps = 0;
    INVRG_CALL(update(w->lat, chain, &w->u, mc->n_therm, true, &w->counts));
    w->steps_done += (double)mc->n_therm;
    memset(r->block_means, 0, (size_t)w->B * INVRG_N_PRIMARY * sizeof *r->block_means);
    done[k] = 0;
  }
  invrg_summary_block_sizes(w->n, w->B, r->block_sizes);
cleanup:
  return err;
}

/* Sample s of local chain k: its series, block means, configuration, MCRG and correlations.
 * A packed chain is measured on its bits (observables by popcount, correlations from its line
 * sums and rows) and copied to the int8 lattice only for saved configurations and MCRG. */
static invrg_err chain_measure(size_work *w, int64_t k, const invrg_mc_chain *chain, int64_t s) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = w->run->cfg;
  const int64_t n = w->n, j = (int64_t)chain->chain;
  invrg_mc_record *r = &w->records[k];
  invrg_config_sums sums;
  double p[INVRG_N_PRIMARY];
  const bool on_bits = w->u.packed != NULL;
  if (on_bits && (w->cw.dset >= 0 || w->mcrg != NULL))
    INVRG_CALL(invrg_packed_to_lattice(w->u.packed, w->lat));
  if (on_bits)
    INVRG_CALL(invrg_packed_observables_sums(w->u.packed, &sums));
  else
    INVRG_CALL(invrg_observables_sums(w->lat, &sums));
  invrg_observables_primaries(&sums, p);
  for (int o = 0; o < N_SERIES; o++) w->series[s * N_SERIES + o] = p[invrg_mc_series_primary[o]];
  const int b = invrg_mcrg_block_of(s, n, (int)w->B); /* this sample's block within its chain */
  invrg_summary_block_add(r->block_means + (size_t)b * INVRG_N_PRIMARY, p, r->block_sizes[b]);
  if (w->cw.dset >= 0)
    invrg_configs_copy_block(w->lat, w->cw.packed, w->cw.buf + (size_t)s * w->cw.block_bytes);
  /* jackknife blocks of the analyses: runs of (chain, sample) */
  const int jb = invrg_mcrg_block_of(j * n + s, cfg->mc.n_chains * n,
                                     (int)cfg->analyze.jackknife_blocks);
  if (w->mcrg != NULL)
    INVRG_CALL(invrg_mcrg_add_configuration(w->mcrg, w->lat, chain->chain, (uint64_t)s, jb));
  /* correlations use the summary's blocks (chain·B + block within the chain), as FSS needs */
  if (w->sizes->corr != NULL && on_bits)
    INVRG_CALL(invrg_corr_add_packed(w->sizes->corr, w->u.packed, (int)(j * w->B + b)));
  else if (w->sizes->corr != NULL)
    INVRG_CALL(invrg_corr_add_configuration(w->sizes->corr, w->lat, (int)(j * w->B + b)));
cleanup:
  return err;
}

/* The progress line after a sample: the algorithm's own figure of merit. */
static void chain_progress(size_work *w) {
  invrg_progress *progress = &w->progress;
  const invrg_mc_counts *counts = &w->counts;
  if (w->u.alg == INVRG_MC_WOLFF)
    snprintf(progress->detail, sizeof progress->detail, "mean cluster %.0f",
             (double)counts->spins_flipped / (double)counts->clusters);
  else if (w->u.alg == INVRG_MC_SW)
    snprintf(progress->detail, sizeof progress->detail, "%.3g clusters per sweep",
             (double)counts->clusters / w->steps_done);
  else
    snprintf(progress->detail, sizeof progress->detail, "acceptance %.3f",
             (double)counts->accepted / (double)counts->attempted);
  double work = w->u.alg == INVRG_MC_WOLFF ? (double)counts->spins_flipped
                                          : w->steps_done * (double)(w->L * w->L);
  invrg_progress_update(progress, w->steps_done, work);
}

/* Runs local chain k from where it stands (afresh, or as restored from a checkpoint). */
static invrg_err chain_run(size_work *w, int64_t k) {
  invrg_err err = INVRG_SUCCESS;
  invrg_run *run = w->run;
  const invrg_config_mc *mc = &run->cfg->mc;
  const int64_t j = invrg_groups_item(run->groups, k), n = w->n;
  const invrg_mc_chain chain = {mc->beta, (uint64_t)run->cfg->run.seed, (uint64_t)j, INVRG_RNG_MC,
                                (invrg_rng_generator)mc->generator_kind};
  config_writer *cw = &w->cw;
  w->running = k;
  INVRG_CALL(chain_start(w, k, &chain));
  const int64_t first_sample = w->chains.done[k];
  w->buffered_from = first_sample;
  for (int64_t s = first_sample; s < n; s++) {
    INVRG_CALL(update(w->lat, &chain, &w->u, mc->sample_every, false, &w->counts));
    INVRG_CALL(chain_measure(w, k, &chain, s));
    w->chains.done[k] = s + 1;
    w->steps_done += (double)mc->sample_every;
    chain_progress(w);
    if (s + 1 < n) { /* a safe point: the chain can continue from here */
      invrg_ckpt_decision d;
      INVRG_CALL(invrg_checkpoint_poll(run->ckpt, run->groups->cart, &d));
      if (d != INVRG_CKPT_NONE) INVRG_CALL(save_state(w, d));
    }
  }
  w->running = -1;
  /* The samples measured by this run (a resumed chain wrote the earlier ones before). */
  if (cw->dset >= 0 && cw->writer)
    INVRG_CALL(invrg_configs_write(cw->dset, w->lat, cw->packed, j * n + first_sample,
                                   n - first_sample,
                                   cw->buf + (size_t)first_sample * cw->block_bytes));
cleanup:
  return err;
}

/* A complete chain: the statistics of its series (τ_int) into its record, and the series into
 * the run file. */
static invrg_err chain_finish(size_work *w, int64_t k) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_groups *g = w->run->groups;
  const int64_t n = w->n;
  double *column = malloc((size_t)n * sizeof *column);
  INVRG_CHECK_ALLOC(column);
  for (int o = 0; o < N_SERIES; o++) {
    for (int64_t s = 0; s < n; s++) column[s] = w->series[s * N_SERIES + o];
    invrg_stats_series(column, (size_t)n, 0, &w->records[k].series[o]);
  }
  if (g->rank == 0)
    INVRG_CALL(invrg_h5_write_rows(w->series_dset, H5T_NATIVE_DOUBLE,
                                   (hsize_t)invrg_groups_item(g, k), 1, w->series));
cleanup:
  free(column);
  return err;
}

/* ------------------------------------------------------------------ checkpoints */

/* The records of this group's chains as rows, for the reducer and checkpoints. */
static void pack_records(size_work *w) {
  for (int64_t k = 0; k < w->chains.n_mine; k++)
    invrg_mc_record_pack(&w->records[k], w->B, w->rows + (size_t)k * w->chains.record_length);
}

/* The measurements of the running chain go to the run file first: the checkpoint's copy of it
 * takes them. (Parked chains have theirs there already.) */
static invrg_err flush_running(size_work *w) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_groups *g = w->run->groups;
  const int64_t k = w->running, n = w->n;
  const int64_t s = k >= 0 ? w->chains.done[k] : 0, from = w->buffered_from;
  if (s <= 0 || s >= n) goto cleanup;
  const int64_t j = invrg_groups_item(g, k);
  if (g->rank == 0)
    INVRG_CALL(invrg_h5_write_block3(w->series_dset, H5T_NATIVE_DOUBLE, (hsize_t)j, 1, 0,
                                     (hsize_t)s, 0, N_SERIES, w->series));
  if (w->cw.dset >= 0 && w->cw.writer && s > from)
    INVRG_CALL(invrg_configs_write(w->cw.dset, w->lat, w->cw.packed, j * n + from, s - from,
                                   w->cw.buf + (size_t)from * w->cw.block_bytes));
cleanup:
  return err;
}

/* A checkpoint (mc_checkpoint.h): the running chain goes in as if parked. Collective. */
static invrg_err save_state(size_work *w, invrg_ckpt_decision d) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t k = w->running;
  const bool park = k >= 0 && w->chains.spins[k] == NULL && w->chains.done[k] >= 0 &&
                    w->chains.done[k] < w->n;
  uint8_t *block = NULL;
  INVRG_CALL(flush_running(w));
  if (park) {
    /* a packed chain's spins live in the packed lattice (measured there when they can be) */
    if (w->u.packed != NULL) INVRG_CALL(invrg_packed_to_lattice(w->u.packed, w->lat));
    block = malloc(invrg_configs_block_bytes(w->lat, false));
    INVRG_CHECK_ALLOC(block);
    invrg_configs_copy_block(w->lat, false, block);
    get_updater(&w->u, w->chains.updater[k]);
    w->chains.spins[k] = block;
  }
  pack_records(w);
  INVRG_CALL(invrg_mc_checkpoint_save(w->run->ckpt, d, w->run->groups, w->lat, &w->chains,
                                      w->sizes)); /* INVRG_STOPPED: stop now */
cleanup:
  if (park) w->chains.spins[k] = NULL;
  free(block);
  return err;
}

/* This group's chains of the checkpoint's size, and the MCRG sums. Collective. */
static invrg_err restore_chains(size_work *w, hid_t state) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CALL(invrg_mc_checkpoint_read_chains(state, w->run->groups, w->lat, &w->chains,
                                             w->mcrg));
  for (int64_t k = 0; k < w->chains.n_mine; k++)
    if (w->chains.done[k] >= 0)
      invrg_mc_record_unpack(w->rows + (size_t)k * w->chains.record_length, w->B,
                             &w->records[k]);
cleanup:
  return err;
}

/* ------------------------------------------------------------------ results */

/* The records of all chains in chain order on world rank 0, and from them the size's results
 * (mc_results.h). Collective. */
static invrg_err size_results(size_work *w, int size_index, hid_t group) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_groups *g = w->run->groups;
  const int64_t n_chains = w->run->cfg->mc.n_chains;
  const size_t len = w->chains.record_length, per_size = w->sizes->blocks_per_size;
  double *rows = NULL;
  if (g->world_rank == 0) {
    rows = malloc((size_t)n_chains * len * sizeof *rows);
    INVRG_CHECK_ALLOC(rows);
  }
  pack_records(w);
  INVRG_CALL(invrg_reducer_gather(g, n_chains, (int)len, w->rows, rows));
  INVRG_CALL(invrg_mc_results_write(
      w->run, w->L, w->B, rows,
      w->sizes->fss_means + (size_t)size_index * per_size * INVRG_N_PRIMARY,
      w->sizes->fss_sizes + (size_t)size_index * per_size, group));
cleanup:
  free(rows);
  return err;
}

/* The MCRG of the size's configurations: reduced, analysed, written to mcrg/mc, logged. */
static invrg_err size_mcrg(size_work *w) {
  invrg_err err = INVRG_SUCCESS;
  invrg_mcrg_results *results = NULL;
  INVRG_CALL(invrg_mcrg_reduce(w->mcrg));
  INVRG_CALL(invrg_mcrg_analyze(w->mcrg, 0, &results));
  INVRG_CALL(invrg_mcrg_write(results, w->run->file->file, "mc", "blocked",
                              w->run->groups->world));
  invrg_mcrg_log(results, "mc", "blocked");
cleanup:
  invrg_mcrg_results_destroy(&results);
  return err;
}

/* ------------------------------------------------------------------ one size */

/* /mc/L<L>/series, and configs with the buffer of one chain's samples if they are saved.
 * Collective (dataset creation). */
static invrg_err open_datasets(size_work *w, hid_t group) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = w->run->cfg;
  const int64_t n_chains = cfg->mc.n_chains, n = w->n;
  const hsize_t dims[3] = {(hsize_t)n_chains, (hsize_t)n, N_SERIES};
  config_writer *cw = &w->cw;
  INVRG_CALL(invrg_h5_create_dataset(group, "series", H5T_NATIVE_DOUBLE, 3, dims,
                                     &w->series_dset));
  INVRG_CALL(invrg_h5_attr_strings(w->series_dset, "columns", invrg_mc_series_names, N_SERIES));
  if (!cfg->mc.save_configs) goto cleanup;
  cw->packed = cfg->output.configs_format_kind == INVRG_CONFIGS_PACKED;
  INVRG_CALL(invrg_configs_create(group, "configs", n_chains * n, w->L, cw->packed, &cw->dset));
  cw->writer = w->lat->mode == INVRG_LATTICE_DISTRIBUTED || w->run->groups->rank == 0;
  cw->block_bytes = invrg_configs_block_bytes(w->lat, cw->packed);
  cw->buf = malloc((size_t)n * cw->block_bytes);
  INVRG_CHECK_ALLOC(cw->buf);
cleanup:
  return err;
}

/* The arrays of this group's chains: series, records (with their rows), checkpoint state. */
static invrg_err alloc_chains(size_work *w) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t n_chains = w->run->cfg->mc.n_chains, B = w->B;
  const int64_t n_mine = invrg_groups_item_count(w->run->groups, n_chains);
  const size_t mine = (size_t)(n_mine > 0 ? n_mine : 1), len = invrg_mc_record_length(B);
  invrg_mc_chains_state *c = &w->chains;
  *c = (invrg_mc_chains_state){.n_chains = n_chains, .n_samples = w->n, .record_length = len,
                               .n_mine = n_mine};
  w->series = malloc((size_t)w->n * N_SERIES * sizeof *w->series);
  w->records = calloc(mine, sizeof *w->records);
  w->block_means = calloc(mine * (size_t)B * INVRG_N_PRIMARY, sizeof *w->block_means);
  w->block_sizes = calloc(mine * (size_t)B, sizeof *w->block_sizes);
  w->rows = c->records = calloc(mine * len, sizeof *w->rows);
  c->done = malloc(mine * sizeof *c->done);
  c->spins = calloc(mine, sizeof *c->spins);
  c->updater = calloc(mine, sizeof *c->updater);
  INVRG_CHECK_ALLOC(w->series);
  INVRG_CHECK_ALLOC(w->records);
  INVRG_CHECK_ALLOC(w->block_means);
  INVRG_CHECK_ALLOC(w->block_sizes);
  INVRG_CHECK_ALLOC(w->rows);
  INVRG_CHECK_ALLOC(c->done);
  INVRG_CHECK_ALLOC(c->spins);
  INVRG_CHECK_ALLOC(c->updater);
  for (int64_t k = 0; k < n_mine; k++) {
    c->done[k] = -1;
    w->records[k].block_means = w->block_means + (size_t)(k * B) * INVRG_N_PRIMARY;
    w->records[k].block_sizes = w->block_sizes + k * B;
  }
cleanup:
  return err;
}

/* The lattice, updater, group /mc/L<L> (in @p group) and its datasets, the MCRG accumulator
 * and the chains' arrays of one size. Collective. */
static invrg_err size_open(size_work *w, hid_t *group) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = w->run->cfg;
  const invrg_groups *g = w->run->groups;
  char path[64];
  invrg_schema_size_path(path, sizeof path, "mc", NULL, w->L);
  INVRG_CALL(invrg_stage_lattice_create(g, w->L, 1, &w->lat)); /* the check: it splits */
  if (w->u.alg == INVRG_MC_WOLFF) INVRG_CALL(invrg_wolff_create(w->L, w->L, &w->u.wolff));
  if (w->u.alg == INVRG_MC_SW) INVRG_CALL(invrg_sw_create(w->lat, &w->u.sw));
  if (cfg->mc.lattice_kind == INVRG_MC_LATTICE_PACKED) /* on the int8 lattice's ranks */
    INVRG_CALL(invrg_packed_create(w->lat->comm, w->L, w->L, &w->u.packed));
  /* Datasets first: creating them is collective, writing them is not. */
  INVRG_CALL(invrg_h5_create_group(w->run->file->file, path, group));
  INVRG_CALL(open_datasets(w, *group));
  if (cfg->analyze.mcrg_on_mc) {
    const invrg_mcrg_params mp = invrg_mcrg_params_of(cfg, (int)cfg->analyze.mcrg_levels,
                                                         (int)cfg->analyze.jackknife_blocks);
    INVRG_CALL(invrg_mcrg_create(&mp, g, &w->mcrg));
  }
  w->sizes->mcrg = w->mcrg; /* a checkpoint saves its sums */
  if (w->sizes->corr != NULL) INVRG_CALL(invrg_corr_prepare(w->sizes->corr, w->lat));
  INVRG_CALL(alloc_chains(w));
cleanup:
  return err;
}

static void size_close(size_work *w) {
  w->sizes->mcrg = NULL;
  invrg_mcrg_destroy(&w->mcrg);
  invrg_h5_close(&w->series_dset);
  invrg_h5_close(&w->cw.dset);
  free(w->cw.buf);
  free(w->series);
  free(w->records);
  free(w->block_means);
  free(w->block_sizes);
  free(w->rows);
  free(w->chains.done);
  for (int64_t k = 0; w->chains.spins != NULL && k < w->chains.n_mine; k++)
    free(w->chains.spins[k]);
  free(w->chains.spins);
  free(w->chains.updater);
  invrg_wolff_destroy(&w->u.wolff);
  invrg_sw_destroy(&w->u.sw);
  invrg_packed_destroy(&w->u.packed);
  invrg_lattice_destroy(&w->lat);
}

/* This group's chains from where they stand, then the checkpoints due at their end. */
static invrg_err run_chains(size_work *w) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_run *run = w->run;
  const invrg_config_mc *mc = &run->cfg->mc;
  const int64_t n_mine = w->chains.n_mine;
  const bool wolff = w->u.alg == INVRG_MC_WOLFF;
  char label[96];
  snprintf(label, sizeof label, "mc L=%lld %s%s (group %d: %lld chains)", (long long)w->L,
           mc->algorithm, w->u.packed != NULL ? " packed" : "", run->groups->group,
           (long long)n_mine);
  invrg_progress_start(&w->progress, label,
                       (double)n_mine *
                           ((double)mc->n_therm + (double)w->n * (double)mc->sample_every),
                       wolff ? "flipped spins" : "spin updates", 10.0);
  for (int64_t k = 0; k < n_mine; k++) {
    if (w->chains.done[k] >= w->n) continue; /* complete before the checkpoint */
    INVRG_CALL(chain_run(w, k));
    INVRG_CALL(chain_finish(w, k));
  }
  /* The end of the chains: every rank learns whether a checkpoint is due now. */
  for (;;) {
    invrg_ckpt_decision d;
    INVRG_CALL(invrg_checkpoint_sync(run->ckpt, &d));
    if (d == INVRG_CKPT_NONE) break;
    INVRG_CALL(save_state(w, d));
  }
  invrg_progress_finish(&w->progress, wolff ? (double)w->counts.spins_flipped
                                            : w->steps_done * (double)(w->L * w->L));
cleanup:
  return err;
}

/*
 * All chains at one size (index i of &mc L): /mc/L<L>/, the log, and (on world rank 0) the
 * block means and sizes of the primaries in @p sizes for finite-size scaling across sizes.
 * @p state: the checkpoint to continue, or -1.
 */
static invrg_err run_size(invrg_run *run, int i, invrg_mc_sizes_state *sizes, hid_t state) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config_mc *mc = &run->cfg->mc;
  size_work w = {.run = run, .L = mc->L[i], .n = mc->n_samples, .B = mc->blocks_per_chain,
                 .sizes = sizes, .u = {mc->algorithm_kind, NULL, NULL, NULL, 0},
                 .cw = {.dset = -1}, .series_dset = -1, .running = -1};
  hid_t group = -1;
  sizes->size_index = i;
  INVRG_CALL(size_open(&w, &group));
  if (state >= 0) INVRG_CALL(restore_chains(&w, state));
  INVRG_CALL(run_chains(&w));
  INVRG_CALL(size_results(&w, i, group));
  if (w.mcrg != NULL) INVRG_CALL(size_mcrg(&w));
cleanup:
  size_close(&w);
  invrg_h5_close(&group);
  return err;
}

/* ------------------------------------------------------------------ execute */

/* Every size of &mc L, then their correlations and finite-size scaling. */
static invrg_err mc_execute(invrg_run *run) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_groups *groups = run->groups;
  const int n_L = cfg->mc.n_L, n_blocks = (int)(cfg->mc.n_chains * cfg->mc.blocks_per_chain);
  const size_t per_size = (size_t)n_blocks * INVRG_N_PRIMARY;
  const hid_t state = invrg_checkpoint_state(run->ckpt);
  invrg_mc_sizes_state sizes = {.blocks_per_size = (size_t)n_blocks};
  sizes.fss_means = calloc((size_t)n_L * per_size, sizeof *sizes.fss_means);
  sizes.fss_sizes = calloc((size_t)n_L * (size_t)n_blocks, sizeof *sizes.fss_sizes);
  INVRG_CHECK_ALLOC(sizes.fss_means);
  INVRG_CHECK_ALLOC(sizes.fss_sizes);
  if (cfg->analyze.correlations) { /* one accumulator for all sizes, blocks as the summary's */
    invrg_corr_params cp = {invrg_corr_blocks(n_blocks), 64, cfg->analyze.correlation_functions,
                            cfg->analyze.correlation_precision_kind};
    INVRG_CALL(invrg_corr_create(&cp, groups, &sizes.corr));
  }
  if (state >= 0) INVRG_CALL(invrg_mc_checkpoint_read_sizes(state, n_L, &sizes));
  invrg_rng_log_generator((invrg_rng_generator)cfg->mc.generator_kind, "&mc generator");
  const int first_size = sizes.size_index;
  for (int i = first_size; i < n_L; i++)
    INVRG_CALL(run_size(run, i, &sizes, i == first_size ? state : -1));
  const bool fit = invrg_stage_fits(cfg, INVRG_SOURCE_MC, n_L, n_blocks);
  if (fit) { /* the block means of every size are on world rank 0 */
    INVRG_MPI_CALL(MPI_Bcast(sizes.fss_means, (int)((size_t)n_L * per_size), MPI_DOUBLE, 0,
                             groups->world));
    INVRG_MPI_CALL(MPI_Bcast(sizes.fss_sizes, n_L * n_blocks, MPI_INT64_T, 0, groups->world));
  }
  invrg_measure_size measured[sizeof cfg->mc.L / sizeof cfg->mc.L[0]];
  for (int i = 0; i < n_L; i++)
    measured[i] = (invrg_measure_size){cfg->mc.L[i], cfg->mc.beta,
                                       sizes.fss_means + (size_t)i * per_size,
                                       sizes.fss_sizes + (size_t)i * (size_t)n_blocks};
  INVRG_CALL(invrg_measure_tail_run(run, "mc", sizes.corr, fit, measured, n_L, n_blocks));
cleanup:
  invrg_corr_destroy(&sizes.corr);
  free(sizes.fss_means);
  free(sizes.fss_sizes);
  return err;
}

const invrg_stage invrg_stage_mc = {"mc", invrg_mc_check, mc_execute};
