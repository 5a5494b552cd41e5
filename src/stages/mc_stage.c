/* Stage mc: Monte Carlo chains of the 2D Ising model, their summaries and /mc/L<L>/.
 *
 * Chains are items (groups.h): chain j runs on group j mod n_groups, from an
 * initial state and with updates that depend only on (seed, j), so every
 * number this stage writes is the same on any number of ranks. Per-chain
 * results travel to world rank 0 in chain order, where the summary is made,
 * then to every rank (HDF5 attributes are written by all ranks alike).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/budget.h"
#include "invrg/checkpoint.h"
#include "invrg/configs_io.h"
#include "invrg/corr_io.h"
#include "invrg/exact.h"
#include "invrg/h5util.h"
#include "invrg/lattice.h"
#include "invrg/log.h"
#include "invrg/mcrg.h"
#include "invrg/mcrg_io.h"
#include "invrg/measure_tail.h"
#include "invrg/mc_update.h"
#include "invrg/observables.h"
#include "invrg/progress.h"
#include "invrg/reducer.h"
#include "invrg/schema.h"
#include "invrg/stage.h"
#include "invrg/stage_setup.h"
#include "invrg/summary_io.h"
#include "invrg/stats.h"

/* Observables kept as time series, with their τ_int: name and primary. */
enum { N_SERIES = 6 };
static const char *const series_names[N_SERIES] = {"energy", "m", "abs_m", "m2", "m4", "e_paper"};
static const int series_primary[N_SERIES] = {INVRG_PRIMARY_E,     INVRG_PRIMARY_M,
                                             INVRG_PRIMARY_ABS_M, INVRG_PRIMARY_M2,
                                             INVRG_PRIMARY_M4,    INVRG_PRIMARY_EP};
/* invrg_series_stats as doubles in a per-chain record. */
enum { STATS_FIELDS = 7 };

/* ------------------------------------------------------------------ check */

/* The checks that depend on one lattice size; every input error is reported. */
static invrg_err check_size(const invrg_run *run, int64_t L) {
  invrg_err err = INVRG_SUCCESS, found = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_groups *g = run->groups;
  if (g->ranks_per_group > 1)
    INVRG_CHECK_MORE(found, invrg_groups_check_lattice(g, cfg, "mc", "L", L, L, 1));
  if (cfg->analyze.mcrg_on_mc && L % (INT64_C(1) << cfg->analyze.mcrg_levels) != 0)
    found = invrg_config_input_error(cfg, "analyze", "mcrg_levels",
                                     "%lld blockings need L to be a multiple of %lld (L = %lld)",
                                     (long long)cfg->analyze.mcrg_levels,
                                     (long long)(INT64_C(1) << cfg->analyze.mcrg_levels),
                                     (long long)L);
  if (cfg->mc.save_configs && cfg->output.configs_format_kind == INVRG_CONFIGS_PACKED &&
      (L / g->px) % 8 != 0)
    found = invrg_config_input_error(cfg, "output", "configs_format",
                                     "packed configurations need a block width L/px = %lld that "
                                     "is a multiple of 8 (L = %lld)",
                                     (long long)(L / g->px), (long long)L);
cleanup:
  return err != INVRG_SUCCESS ? err : found;
}

static invrg_err mc_check(const invrg_run *run) {
  invrg_err err = INVRG_SUCCESS, found = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_groups *g = run->groups;
  if (cfg->analyze.mcrg_on_mc && cfg->mc.n_L > 1)
    found = invrg_config_input_error(cfg, "analyze", "mcrg_on_mc",
                                     "MCRG of Monte Carlo samples works on one &mc L per run (%d "
                                     "given)", cfg->mc.n_L);
  if (cfg->mc.algorithm_kind == INVRG_MC_WOLFF && g->ranks_per_group > 1)
    found = invrg_config_input_error(cfg, "mc", "algorithm",
                                     "'wolff' runs each chain on one rank, but ranks_per_group = "
                                     "%d; use algorithm = 'sw' for a lattice shared by several "
                                     "ranks", g->ranks_per_group);
  if (cfg->mc.blocks_per_chain > cfg->mc.n_samples)
    found = invrg_config_input_error(cfg, "mc", "blocks_per_chain",
                                     "blocks_per_chain = %lld is more than n_samples = %lld",
                                     (long long)cfg->mc.blocks_per_chain,
                                     (long long)cfg->mc.n_samples);
  for (int i = 0; i < cfg->mc.n_L; i++) INVRG_CHECK_MORE(found, check_size(run, cfg->mc.L[i]));
  if (invrg_stage_fits_source(cfg, INVRG_SOURCE_MC) && cfg->mc.n_L >= 2)
    INVRG_CHECK_MORE(found,
                     invrg_stage_check_fss_range(cfg, INVRG_SOURCE_MC, cfg->mc.L, cfg->mc.n_L));
  INVRG_CHECK_MORE(found, invrg_budget_check_mc(run)); /* memory, disk, ranges */
cleanup:
  return err != INVRG_SUCCESS ? err : found;
}

/* ------------------------------------------------------------------ one chain */

/* The updates of one chain: whichever workspace its algorithm needs. */
typedef struct {
  invrg_mc_algorithm alg;
  invrg_wolff *wolff;
  invrg_sw *sw;
  uint64_t sweeps; /* sweeps done = RNG step of the next (SW, checkerboard) */
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
    if (u->alg == INVRG_MC_SW)
      INVRG_CALL(invrg_mc_sw_sweep(lat, chain, u->sweeps, u->sw, counts));
    else
      INVRG_CALL(invrg_mc_checkerboard_sweep(lat, chain, u->sweeps, u->alg == INVRG_MC_HEATBATH,
                                             counts));
  }
cleanup:
  return err;
}

/* What a checkpoint keeps of an updater: sweeps; Wolff's clusters, flipped, clusters per sweep. */
enum { UPDATER_FIELDS = 4 };

/* Where the sampled configurations go: this rank's block of /mc/L<L>/configs. */
typedef struct {
  hid_t dset;      /* -1 when not saving */
  bool packed;
  bool writer;     /* replicated lattices: only group rank 0 writes */
  size_t block_bytes;
  uint8_t *buf;    /* n_samples blocks of one chain */
} config_writer;

/* One chain's record for the reducer: series stats, then block means and sizes. */
static size_t record_length(int64_t B) {
  return N_SERIES * STATS_FIELDS + (size_t)B * (INVRG_N_PRIMARY + 1);
}

/*
 * The chains of one size on this group, and all a checkpoint of them needs.
 * done[k] counts the samples measured by local chain k: −1 before it starts,
 * n_samples when it is complete; at most one chain is in between.
 */
typedef struct {
  invrg_run *run;
  int size_index;
  int64_t L, n_mine;
  invrg_lattice *lat;
  updater u;
  config_writer cw;
  hid_t series_dset;
  double *series;  /* [n_samples][N_SERIES] of the running chain (the others': in the file) */
  double *records; /* [k][record_length]: stats once complete; block means as they grow */
  int64_t *done;   /* [k] */
  int64_t running;       /* the local chain being updated now, or −1 */
  int64_t buffered_from; /* the first sample of the running chain in cw.buf (earlier: on disk) */
  /* Chains a checkpoint left half done, until they run again: spins (this rank's block,
   * int8) and updater fields, [k]; NULL for the others. */
  uint8_t **parked_spins;
  int64_t (*parked_updater)[UPDATER_FIELDS];
  invrg_mcrg *mcrg;
  invrg_corr *corr;
  double *fss_means; /* every size's block means and sizes (world rank 0), as mc_execute keeps */
  int64_t *fss_sizes;
  invrg_progress progress;
  double steps_done;
  invrg_mc_counts counts;
} size_work;

static invrg_err save_state(size_work *w, invrg_ckpt_decision d);

static void get_updater(const updater *u, int64_t f[UPDATER_FIELDS]) {
  f[0] = (int64_t)u->sweeps, f[1] = f[2] = f[3] = 0;
  if (u->wolff != NULL)
    f[1] = (int64_t)u->wolff->clusters, f[2] = u->wolff->flipped,
    f[3] = u->wolff->clusters_per_sweep;
}

static void set_updater(updater *u, const int64_t f[UPDATER_FIELDS]) {
  u->sweeps = (uint64_t)f[0];
  if (u->wolff != NULL) {
    invrg_wolff_reset(u->wolff);
    u->wolff->clusters = (uint64_t)f[1], u->wolff->flipped = f[2];
    u->wolff->clusters_per_sweep = f[3];
  }
}

/* Jackknife block sizes of a chain's samples: n/B each, the first n mod B one more. */
static void block_sizes_of(int64_t n, int64_t B, int64_t *sizes) {
  for (int64_t b = 0; b < B; b++) sizes[b] = n / B + (b < n % B);
}

/* Runs local chain k from where it stands (afresh, or as restored from a checkpoint). */
static invrg_err chain_run(size_work *w, int64_t k) {
  invrg_err err = INVRG_SUCCESS;
  invrg_run *run = w->run;
  const invrg_config_mc *mc = &run->cfg->mc;
  const int64_t chain_index = invrg_groups_item(run->groups, k);
  const invrg_mc_chain chain = {mc->beta, (uint64_t)run->cfg->run.seed, (uint64_t)chain_index};
  const int64_t B = mc->blocks_per_chain, n = mc->n_samples;
  const double N = (double)(w->L * w->L);
  invrg_lattice *lat = w->lat;
  updater *u = &w->u;
  config_writer *cw = &w->cw;
  double *series = w->series;
  double *block_means = w->records + (size_t)k * record_length(B) + N_SERIES * STATS_FIELDS;
  int64_t *block_sizes = malloc((size_t)B * sizeof *block_sizes);
  INVRG_CHECK_ALLOC(block_sizes);
  block_sizes_of(n, B, block_sizes);

  w->running = k;
  if (w->parked_spins[k] != NULL) { /* as a checkpoint left it: its series so far in the file */
    if (w->done[k] > 0)
      INVRG_CALL(invrg_h5_read_block3(w->series_dset, H5T_NATIVE_DOUBLE, (hsize_t)chain_index, 1,
                                      0, (hsize_t)w->done[k], 0, N_SERIES, series));
    INVRG_CALL(invrg_configs_paste_block(lat, w->parked_spins[k]));
    set_updater(u, w->parked_updater[k]);
    free(w->parked_spins[k]);
    w->parked_spins[k] = NULL;
  }
  if (w->done[k] < 0) { /* a fresh chain: random start, thermalisation */
    invrg_rng_stream init;
    invrg_rng_stream_init(&init, chain.seed, INVRG_RNG_INIT, chain.chain, 0);
    invrg_lattice_fill_random(lat, &init);
    if (u->wolff) invrg_wolff_reset(u->wolff);
    u->sweeps = 0;
    INVRG_CALL(update(lat, &chain, u, mc->n_therm, true, &w->counts));
    w->steps_done += (double)mc->n_therm;
    memset(block_means, 0, (size_t)B * INVRG_N_PRIMARY * sizeof *block_means);
    w->done[k] = 0;
  }

  const int64_t first_sample = w->done[k];
  w->buffered_from = first_sample;
  int64_t block = 0, in_block = first_sample;
  while (block < B && in_block >= block_sizes[block]) in_block -= block_sizes[block++];
  for (int64_t s = w->done[k]; s < n; s++) {
    INVRG_CALL(update(lat, &chain, u, mc->sample_every, false, &w->counts));
    invrg_config_sums sums;
    double p[INVRG_N_PRIMARY];
    INVRG_CALL(invrg_observables_sums(lat, &sums));
    invrg_observables_primaries(&sums, p);
    for (int o = 0; o < N_SERIES; o++) series[s * N_SERIES + o] = p[series_primary[o]];
    for (int o = 0; o < INVRG_N_PRIMARY; o++)
      block_means[block * INVRG_N_PRIMARY + o] += p[o] / (double)block_sizes[block];
    const int64_t sample_block = block; /* this sample's jackknife block within its chain */
    if (++in_block == block_sizes[block]) block++, in_block = 0;
    if (cw->dset >= 0) invrg_configs_copy_block(lat, cw->packed, cw->buf + (size_t)s * cw->block_bytes);
    /* jackknife blocks of the analyses: runs of (chain, sample) */
    int jb = invrg_mcrg_block_of(chain_index * n + s, mc->n_chains * n,
                                 (int)run->cfg->analyze.jackknife_blocks);
    if (w->mcrg != NULL)
      INVRG_CALL(invrg_mcrg_add_configuration(w->mcrg, lat, chain.chain, (uint64_t)s, jb));
    /* correlations use the summary's blocks (chain·B + block within the chain), as FSS needs */
    if (w->corr != NULL)
      INVRG_CALL(invrg_corr_add_configuration(w->corr, lat, (int)(chain_index * B + sample_block)));
    w->done[k] = s + 1;

    w->steps_done += (double)mc->sample_every;
    invrg_progress *progress = &w->progress;
    const invrg_mc_counts *counts = &w->counts;
    if (u->alg == INVRG_MC_WOLFF)
      snprintf(progress->detail, sizeof progress->detail, "mean cluster %.0f",
               (double)counts->spins_flipped / (double)counts->clusters);
    else if (u->alg == INVRG_MC_SW)
      snprintf(progress->detail, sizeof progress->detail, "%.3g clusters per sweep",
               (double)counts->clusters / w->steps_done);
    else
      snprintf(progress->detail, sizeof progress->detail, "acceptance %.3f",
               (double)counts->accepted / (double)counts->attempted);
    double work = u->alg == INVRG_MC_WOLFF ? (double)counts->spins_flipped : w->steps_done * N;
    invrg_progress_update(progress, w->steps_done, work);

    if (s + 1 < n) { /* a safe point: the chain can continue from here */
      invrg_ckpt_decision d;
      INVRG_CALL(invrg_checkpoint_poll(run->ckpt, run->groups->cart, &d));
      if (d != INVRG_CKPT_NONE) INVRG_CALL(save_state(w, d));
    }
  }
  w->running = -1;
  /* The samples measured by this run (a resumed chain wrote the earlier ones before). */
  if (cw->dset >= 0 && cw->writer)
    INVRG_CALL(invrg_configs_write(cw->dset, lat, cw->packed, chain_index * n + first_sample,
                                   n - first_sample,
                                   cw->buf + (size_t)first_sample * cw->block_bytes));
cleanup:
  free(block_sizes);
  return err;
}

/* ------------------------------------------------------------------ summary */

static void stats_to_record(const invrg_series_stats *st, double *r) {
  r[0] = st->mean, r[1] = st->variance, r[2] = st->tau_int, r[3] = st->window;
  r[4] = st->error, r[5] = st->error_binning, r[6] = st->reliable;
}

static void stats_from_record(const double *r, invrg_series_stats *st) {
  st->mean = r[0], st->variance = r[1], st->tau_int = r[2], st->window = (int)r[3];
  st->error = r[4], st->error_binning = r[5], st->reliable = r[6] != 0;
}

/* What rank 0 computes from all chains and every rank writes. */
typedef struct {
  invrg_summary summary;
  invrg_series_stats combined[N_SERIES];
  bool have_exact;
  invrg_exact_thermo exact;
} mc_result;

static void summarize(const double *records, int64_t n_chains, int64_t B, double N, double K,
                      mc_result *out) {
  size_t len = record_length(B);
  int64_t n_blocks = n_chains * B;
  double *means = malloc((size_t)n_blocks * INVRG_N_PRIMARY * sizeof *means);
  int64_t *sizes = malloc((size_t)n_blocks * sizeof *sizes);
  invrg_series_stats *per_chain = malloc((size_t)n_chains * sizeof *per_chain);
  if (means == NULL || sizes == NULL || per_chain == NULL) goto cleanup;
  for (int64_t c = 0; c < n_chains; c++) {
    const double *r = records + (size_t)c * len;
    const double *bm = r + N_SERIES * STATS_FIELDS, *bs = bm + (size_t)B * INVRG_N_PRIMARY;
    memcpy(means + (size_t)(c * B) * INVRG_N_PRIMARY, bm, (size_t)B * INVRG_N_PRIMARY * sizeof *bm);
    for (int64_t b = 0; b < B; b++) sizes[c * B + b] = (int64_t)bs[b];
  }
  invrg_summary_from_blocks(means, sizes, (int)n_blocks, N, K, &out->summary);
  for (int k = 0; k < N_SERIES; k++) {
    for (int64_t c = 0; c < n_chains; c++)
      stats_from_record(records + (size_t)c * len + (size_t)k * STATS_FIELDS, &per_chain[c]);
    invrg_stats_combine(per_chain, (int)n_chains, &out->combined[k]);
  }
cleanup:
  free(means);
  free(sizes);
  free(per_chain);
}

static void log_results(const invrg_config *cfg, int64_t L, const mc_result *r) {
  const invrg_summary *s = &r->summary;
  invrg_log(INVRG_LOG_INFO, "mc L=%lld %s, K=%.10g: %lld chains x %lld samples", (long long)L,
            cfg->mc.algorithm, cfg->mc.beta, (long long)cfg->mc.n_chains,
            (long long)cfg->mc.n_samples);
  for (int o = 0; o < INVRG_N_OBS; o++) {
    char extra[160] = "";
    for (int k = 0; k < N_SERIES; k++)
      if (strcmp(series_names[k], invrg_summary_names[o]) == 0)
        snprintf(extra, sizeof extra, "  tau_int %.2f%s", r->combined[k].tau_int,
                 r->combined[k].reliable ? "" : " (chain too short for a reliable tau)");
    double exact = NAN;
    if (r->have_exact && o == INVRG_OBS_ENERGY) exact = r->exact.energy;
    if (r->have_exact && o == INVRG_OBS_SPECIFIC_HEAT) exact = r->exact.specific_heat;
    if (isfinite(exact)) {
      size_t used = strlen(extra);
      snprintf(extra + used, sizeof extra - used, "  exact %.10f (%+.2f sigma)", exact,
               (s->value[o] - exact) / s->error[o]);
    }
    invrg_log(INVRG_LOG_INFO, "  %-14s %14.8f +- %.8f%s", invrg_summary_names[o], s->value[o],
              s->error[o], extra);
  }
}

/* /mc/L<L>: the summary, the chains and the τ_int of the series. */
static invrg_err write_summary(hid_t file, const invrg_config *cfg, int64_t L, const mc_result *r) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1;
  char path[64];
  invrg_schema_size_path(path, sizeof path, "mc", NULL, L);
  const invrg_summary_context ctx = {L, cfg->mc.beta,
                                     "jackknife over blocks_per_chain blocks of each chain", 0};
  INVRG_CALL(invrg_summary_write(file, path, &r->summary, &ctx, &g));
  int64_t n_chains = cfg->mc.n_chains;
  INVRG_CALL(invrg_h5_attr_int64(g, "n_chains", &n_chains, 1, true));
  INVRG_CALL(invrg_h5_attr_string(g, "algorithm", cfg->mc.algorithm));
  for (int k = 0; k < N_SERIES; k++) {
    char name[64];
    snprintf(name, sizeof name, "%s_tau_int", series_names[k]);
    INVRG_CALL(invrg_h5_attr_double(g, name, &r->combined[k].tau_int, 1, true));
    snprintf(name, sizeof name, "%s_err_tau", series_names[k]);
    INVRG_CALL(invrg_h5_attr_double(g, name, &r->combined[k].error, 1, true));
    snprintf(name, sizeof name, "%s_err_binning", series_names[k]);
    INVRG_CALL(invrg_h5_attr_double(g, name, &r->combined[k].error_binning, 1, true));
  }
cleanup:
  invrg_h5_close(&g);
  return err;
}

/* ------------------------------------------------------------------ checkpoints */

/*
 * The state of stage mc (under /checkpoint/mc): attribute size_index (sizes
 * before it are complete and written); done[chain] (samples measured, −1 not
 * started); records[chain] (complete chains: as for the reducer; the chain in
 * progress: its block means so far); for the chains in progress, in chain
 * order, lattices[slot] (int8 spins) and updater[slot] (sweeps; Wolff:
 * clusters, flipped, clusters_per_sweep); fss_means/fss_sizes of the sizes
 * before; the exact sums of MCRG and correlations. The series and
 * configurations measured so far are in the run file (written before the copy).
 */
static invrg_err save_state(size_work *w, invrg_ckpt_decision d) {
  invrg_err err = INVRG_SUCCESS;
  invrg_run *run = w->run;
  const invrg_groups *g = run->groups;
  const invrg_config_mc *mc = &run->cfg->mc;
  const int64_t n = mc->n_samples, B = mc->blocks_per_chain, n_chains = mc->n_chains;
  const size_t len = record_length(B);
  const size_t per_size = (size_t)(n_chains * B);
  hid_t state = -1, d_records = -1, d_lattices = -1, d_updater = -1;
  int64_t *done = malloc((size_t)n_chains * sizeof *done);
  uint8_t *block = NULL;
  INVRG_CHECK_ALLOC(done);

  /* The measurements of the running chain go to the run file first: the copy takes them.
   * (Parked chains have theirs there already.) */
  for (int64_t k = 0; k < w->n_mine; k++) {
    const int64_t s = w->done[k], chain = invrg_groups_item(g, k);
    if (k != w->running || s <= 0 || s >= n) continue;
    if (g->rank == 0)
      INVRG_CALL(invrg_h5_write_block3(w->series_dset, H5T_NATIVE_DOUBLE, (hsize_t)chain, 1, 0,
                                       (hsize_t)s, 0, N_SERIES,
                                       w->series));
    const int64_t from = w->buffered_from;
    if (w->cw.dset >= 0 && w->cw.writer && s > from)
      INVRG_CALL(invrg_configs_write(w->cw.dset, w->lat, w->cw.packed, chain * n + from, s - from,
                                     w->cw.buf + (size_t)from * w->cw.block_bytes));
  }
  for (int64_t c = 0; c < n_chains; c++) done[c] = -1;
  for (int64_t k = 0; k < w->n_mine; k++) done[invrg_groups_item(g, k)] = w->done[k];
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, done, (int)n_chains, MPI_INT64_T, MPI_MAX, g->world));
  int64_t n_slots = 0;
  for (int64_t c = 0; c < n_chains; c++) n_slots += done[c] >= 0 && done[c] < n;

  INVRG_CALL(invrg_checkpoint_begin(run->ckpt, &state));
  int64_t size_index = w->size_index;
  INVRG_CALL(invrg_h5_attr_int64(state, "size_index", &size_index, 1, true));
  INVRG_CALL(invrg_h5_write_int64(state, "done", done, (size_t)n_chains, g->world_rank == 0));
  hsize_t rdims[2] = {(hsize_t)n_chains, (hsize_t)len};
  INVRG_CALL(invrg_h5_create_dataset(state, "records", H5T_IEEE_F64LE, 2, rdims, &d_records));
  INVRG_CALL(invrg_configs_create(state, "lattices", n_slots > 0 ? n_slots : 1, w->L, false,
                                  &d_lattices));
  hsize_t udims[2] = {(hsize_t)(n_slots > 0 ? n_slots : 1), UPDATER_FIELDS};
  INVRG_CALL(invrg_h5_create_dataset(state, "updater", H5T_STD_I64LE, 2, udims, &d_updater));
  block = malloc(invrg_configs_block_bytes(w->lat, false));
  INVRG_CHECK_ALLOC(block);
  int64_t slot = 0;
  for (int64_t c = 0; c < n_chains; c++) {
    bool running = done[c] >= 0 && done[c] < n;
    if (invrg_groups_item_owner(g, c) == g->group && done[c] >= 0) {
      int64_t k = c / g->n_groups; /* chain c is the group's k-th item */
      if (g->rank == 0)
        INVRG_CALL(invrg_h5_write_rows(d_records, H5T_NATIVE_DOUBLE, (hsize_t)c, 1,
                                       w->records + (size_t)k * len));
      if (running) {
        int64_t up[UPDATER_FIELDS];
        const uint8_t *spins = w->parked_spins[k];
        if (spins != NULL) {
          memcpy(up, w->parked_updater[k], sizeof up);
        } else {
          invrg_configs_copy_block(w->lat, false, block);
          get_updater(&w->u, up);
          spins = block;
        }
        if (w->lat->mode == INVRG_LATTICE_DISTRIBUTED || g->rank == 0)
          INVRG_CALL(invrg_configs_write(d_lattices, w->lat, false, slot, 1, spins));
        if (g->rank == 0)
          INVRG_CALL(invrg_h5_write_rows(d_updater, H5T_NATIVE_INT64, (hsize_t)slot, 1, up));
      }
    }
    slot += running;
  }
  INVRG_CALL(invrg_h5_write_int64(state, "fss_sizes", w->fss_sizes,
                                  (size_t)(w->size_index + 1) * per_size, g->world_rank == 0));
  hsize_t fdims[1] = {(hsize_t)(w->size_index + 1) * per_size * INVRG_N_PRIMARY};
  INVRG_CALL(invrg_h5_dataset_doubles(state, "fss_means", 1, fdims, w->fss_means,
                                      g->world_rank == 0));
  if (w->mcrg != NULL) INVRG_CALL(invrg_mcrg_save(w->mcrg, state, "mcrg", g->world));
  if (w->corr != NULL) INVRG_CALL(invrg_corr_save(w->corr, state, "corr", g->world));
  invrg_h5_close(&d_records);
  invrg_h5_close(&d_lattices);
  invrg_h5_close(&d_updater);
  INVRG_CALL(invrg_checkpoint_end(run->ckpt, &state, d));
  if (d == INVRG_CKPT_STOP) err = INVRG_STOPPED;
cleanup:
  invrg_h5_close(&d_records);
  invrg_h5_close(&d_lattices);
  invrg_h5_close(&d_updater);
  invrg_h5_close(&state);
  free(block);
  free(done);
  return err;
}

/* The sizes before the checkpoint's: their FSS inputs and correlation sums. Collective. */
static invrg_err restore_sizes(const invrg_run *run, hid_t state, int *size_index, double *fss_means,
                               int64_t *fss_sizes, invrg_corr *corr) {
  invrg_err err = INVRG_SUCCESS;
  hid_t a = -1, d = -1;
  const size_t per_size = (size_t)(run->cfg->mc.n_chains * run->cfg->mc.blocks_per_chain);
  int64_t index = 0;
  INVRG_H5_CALL(a = H5Aopen(state, "size_index", H5P_DEFAULT), "size_index");
  INVRG_H5_CALL(H5Aread(a, H5T_NATIVE_INT64, &index), "size_index");
  INVRG_CHECK(index >= 0 && index < run->cfg->mc.n_L, INVRG_ERR_RUNTIME,
              "checkpoint: size_index %lld out of range", (long long)index);
  *size_index = (int)index;
  const size_t n = (size_t)(index + 1) * per_size;
  INVRG_CALL(invrg_h5_read_int64(state, "fss_sizes", fss_sizes, n));
  const hsize_t fdims[1] = {(hsize_t)(n * INVRG_N_PRIMARY)};
  INVRG_CALL(invrg_h5_open_dataset(state, "fss_means", 1, fdims, &d));
  INVRG_CALL(invrg_h5_read_rows(d, H5T_NATIVE_DOUBLE, 0, n * INVRG_N_PRIMARY, fss_means));
  if (corr != NULL) INVRG_CALL(invrg_corr_load(corr, state, "corr"));
cleanup:
  invrg_h5_close(&d);
  invrg_h5_close(&a);
  return err;
}

/* This group's chains of the checkpoint's size: progress, records, lattice, updater. Collective. */
static invrg_err restore_chains(size_work *w, hid_t state) {
  invrg_err err = INVRG_SUCCESS;
  invrg_run *run = w->run;
  const invrg_groups *g = run->groups;
  const invrg_config_mc *mc = &run->cfg->mc;
  const int64_t n = mc->n_samples, n_chains = mc->n_chains;
  const size_t len = record_length(mc->blocks_per_chain);
  hid_t d_records = -1, d_lattices = -1, d_updater = -1;
  int64_t *done = malloc((size_t)n_chains * sizeof *done);
  INVRG_CHECK_ALLOC(done);
  INVRG_CALL(invrg_h5_read_int64(state, "done", done, (size_t)n_chains));
  int64_t n_slots = 0;
  for (int64_t c = 0; c < n_chains; c++) n_slots += done[c] >= 0 && done[c] < n;
  const hsize_t rdims[2] = {(hsize_t)n_chains, (hsize_t)len},
                ldims[3] = {(hsize_t)(n_slots > 0 ? n_slots : 1), (hsize_t)w->L, (hsize_t)w->L},
                udims[2] = {(hsize_t)(n_slots > 0 ? n_slots : 1), UPDATER_FIELDS};
  INVRG_CALL(invrg_h5_open_dataset(state, "records", 2, rdims, &d_records));
  INVRG_CALL(invrg_h5_open_dataset(state, "lattices", 3, ldims, &d_lattices));
  INVRG_CALL(invrg_h5_open_dataset(state, "updater", 2, udims, &d_updater));
  int64_t slot = 0;
  for (int64_t c = 0; c < n_chains; c++) {
    bool running = done[c] >= 0 && done[c] < n;
    if (invrg_groups_item_owner(g, c) == g->group && done[c] >= 0) {
      int64_t k = c / g->n_groups;
      w->done[k] = done[c];
      INVRG_CALL(invrg_h5_read_rows(d_records, H5T_NATIVE_DOUBLE, (hsize_t)c, 1,
                                    w->records + (size_t)k * len));
      if (running) { /* parked until it runs again (its series so far stay in the file) */
        w->parked_spins[k] = malloc(invrg_configs_block_bytes(w->lat, false));
        INVRG_CHECK_ALLOC(w->parked_spins[k]);
        INVRG_CALL(invrg_configs_read_block(d_lattices, w->lat, slot, w->parked_spins[k]));
        INVRG_CALL(invrg_h5_read_rows(d_updater, H5T_NATIVE_INT64, (hsize_t)slot, 1,
                                      w->parked_updater[k]));
      }
    }
    slot += running;
  }
  if (w->mcrg != NULL) INVRG_CALL(invrg_mcrg_load(w->mcrg, state, "mcrg"));
cleanup:
  invrg_h5_close(&d_records);
  invrg_h5_close(&d_lattices);
  invrg_h5_close(&d_updater);
  free(done);
  return err;
}

/* ------------------------------------------------------------------ execute */

/*
 * All chains at one size (index i of &mc L): /mc/L<L>/, the log, and (on world rank 0)
 * the block means of the primaries [chain·B + block][primary] and block sizes for
 * finite-size scaling across sizes. @p state: the checkpoint to continue, or -1.
 */
static invrg_err run_size(invrg_run *run, int i, invrg_corr *corr, double *fss_means_all,
                          int64_t *fss_sizes_all, hid_t state) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_config_mc *mc = &cfg->mc;
  const invrg_groups *groups = run->groups;
  const int64_t L = mc->L[i], n = mc->n_samples, B = mc->blocks_per_chain;
  const size_t len = record_length(B), per_size = (size_t)(mc->n_chains * B);
  double *fss_means = fss_means_all + (size_t)i * per_size * INVRG_N_PRIMARY;
  int64_t *fss_sizes = fss_sizes_all + (size_t)i * per_size;
  size_work w = {.run = run, .size_index = i, .L = L, .series_dset = -1,
                 .u = {mc->algorithm_kind, NULL, NULL, 0}, .cw = {.dset = -1},
                 .corr = corr, .fss_means = fss_means_all, .fss_sizes = fss_sizes_all};
  w.n_mine = invrg_groups_item_count(groups, mc->n_chains);
  invrg_mcrg_results *mcrg_results = NULL;
  hid_t group = -1, dset_tau = -1;
  double *all = NULL, *taus = NULL;
  mc_result result;
  memset(&result, 0, sizeof result);
  char path[64];
  snprintf(path, sizeof path, "mc/L%lld", (long long)L);

  INVRG_CALL(invrg_stage_lattice_create(groups, L, 1, &w.lat)); /* the check: it splits */
  if (w.u.alg == INVRG_MC_WOLFF) INVRG_CALL(invrg_wolff_create(L, L, &w.u.wolff));
  if (w.u.alg == INVRG_MC_SW) INVRG_CALL(invrg_sw_create(w.lat, &w.u.sw));

  /* Datasets first: creating them is collective, writing them is not. */
  INVRG_CALL(invrg_h5_create_group(run->file->file, path, &group));
  hsize_t series_dims[3] = {(hsize_t)mc->n_chains, (hsize_t)n, N_SERIES};
  INVRG_CALL(invrg_h5_create_dataset(group, "series", H5T_NATIVE_DOUBLE, 3, series_dims,
                                     &w.series_dset));
  INVRG_CALL(invrg_h5_attr_strings(w.series_dset, "columns", series_names, N_SERIES));
  if (mc->save_configs) {
    w.cw.packed = cfg->output.configs_format_kind == INVRG_CONFIGS_PACKED;
    INVRG_CALL(invrg_configs_create(group, "configs", mc->n_chains * n, L, w.cw.packed, &w.cw.dset));
    w.cw.writer = w.lat->mode == INVRG_LATTICE_DISTRIBUTED || groups->rank == 0;
    w.cw.block_bytes = invrg_configs_block_bytes(w.lat, w.cw.packed);
    w.cw.buf = malloc((size_t)n * w.cw.block_bytes);
    INVRG_CHECK_ALLOC(w.cw.buf);
  }

  if (cfg->analyze.mcrg_on_mc) {
    const invrg_mcrg_params mp = invrg_stage_mcrg_params(cfg, (int)cfg->analyze.mcrg_levels,
                                                         (int)cfg->analyze.jackknife_blocks);
    INVRG_CALL(invrg_mcrg_create(&mp, groups, &w.mcrg));
  }
  if (corr != NULL) INVRG_CALL(invrg_corr_prepare(corr, w.lat));
  const size_t mine = (size_t)(w.n_mine > 0 ? w.n_mine : 1);
  w.series = malloc((size_t)n * N_SERIES * sizeof *w.series);
  w.records = calloc(mine * len, sizeof *w.records);
  w.done = malloc(mine * sizeof *w.done);
  w.parked_spins = calloc(mine, sizeof *w.parked_spins);
  w.parked_updater = calloc(mine, sizeof *w.parked_updater);
  w.running = -1;
  INVRG_CHECK_ALLOC(w.parked_spins);
  INVRG_CHECK_ALLOC(w.parked_updater);
  INVRG_CHECK_ALLOC(w.series);
  INVRG_CHECK_ALLOC(w.records);
  INVRG_CHECK_ALLOC(w.done);
  for (int64_t k = 0; k < w.n_mine; k++) w.done[k] = -1;
  if (state >= 0) INVRG_CALL(restore_chains(&w, state));

  char label[96];
  snprintf(label, sizeof label, "mc L=%lld %s (group %d: %lld chains)", (long long)L,
           mc->algorithm, groups->group, (long long)w.n_mine);
  invrg_progress_start(&w.progress, label,
                       (double)(w.n_mine * (mc->n_therm + n * mc->sample_every)),
                       w.u.alg == INVRG_MC_WOLFF ? "flipped spins" : "spin updates", 10.0);
  for (int64_t k = 0; k < w.n_mine; k++) {
    if (w.done[k] >= n) continue; /* complete before the checkpoint */
    double *rec = w.records + (size_t)k * len, *chain_series = w.series;
    double *bm = rec + N_SERIES * STATS_FIELDS;
    INVRG_CALL(chain_run(&w, k));
    int64_t *sizes = malloc((size_t)B * sizeof *sizes);
    INVRG_CHECK_ALLOC(sizes);
    block_sizes_of(n, B, sizes);
    for (int64_t b = 0; b < B; b++) bm[(size_t)B * INVRG_N_PRIMARY + (size_t)b] = (double)sizes[b];
    free(sizes);
    /* τ_int of each observable of this chain. */
    double *column = malloc((size_t)n * sizeof *column);
    INVRG_CHECK_ALLOC(column);
    for (int o = 0; o < N_SERIES; o++) {
      invrg_series_stats st;
      for (int64_t s = 0; s < n; s++) column[s] = chain_series[s * N_SERIES + o];
      invrg_stats_series(column, (size_t)n, 0, &st);
      stats_to_record(&st, rec + o * STATS_FIELDS);
    }
    free(column);
    if (groups->rank == 0)
      INVRG_CALL(invrg_h5_write_rows(w.series_dset, H5T_NATIVE_DOUBLE,
                                     (hsize_t)invrg_groups_item(groups, k), 1, chain_series));
  }
  /* The end of the chains: every rank learns whether a checkpoint is due now. */
  for (;;) {
    invrg_ckpt_decision d;
    INVRG_CALL(invrg_checkpoint_sync(run->ckpt, &d));
    if (d == INVRG_CKPT_NONE) break;
    INVRG_CALL(save_state(&w, d));
  }
  invrg_progress_finish(&w.progress, w.u.alg == INVRG_MC_WOLFF ? (double)w.counts.spins_flipped
                                                           : w.steps_done * (double)(L * L));

  /* Chains in chain order on rank 0, summary there, then to everyone. */
  if (groups->world_rank == 0) {
    all = malloc((size_t)mc->n_chains * len * sizeof *all);
    INVRG_CHECK_ALLOC(all);
  }
  INVRG_CALL(invrg_reducer_gather(groups, mc->n_chains, (int)len, w.records, all));
  if (groups->world_rank == 0) {
    for (int64_t c = 0; c < mc->n_chains; c++) {
      const double *bm = all + (size_t)c * len + N_SERIES * STATS_FIELDS;
      memcpy(fss_means + (size_t)(c * B) * INVRG_N_PRIMARY, bm,
             (size_t)B * INVRG_N_PRIMARY * sizeof *bm);
      for (int64_t b = 0; b < B; b++) fss_sizes[c * B + b] = (int64_t)bm[B * INVRG_N_PRIMARY + b];
    }
    summarize(all, mc->n_chains, B, (double)(L * L), mc->beta, &result);
    result.have_exact = invrg_exact_torus((int)L, mc->beta, &result.exact);
  }
  INVRG_MPI_CALL(MPI_Bcast(&result, (int)sizeof result, MPI_BYTE, 0, groups->world));
  INVRG_CALL(write_summary(run->file->file, cfg, L, &result));

  /* τ_int of every chain and observable, [chain][observable]. */
  taus = malloc((size_t)mc->n_chains * N_SERIES * sizeof *taus);
  INVRG_CHECK_ALLOC(taus);
  if (groups->world_rank == 0)
    for (int64_t c = 0; c < mc->n_chains; c++)
      for (int o = 0; o < N_SERIES; o++)
        taus[c * N_SERIES + o] = all[(size_t)c * len + (size_t)o * STATS_FIELDS + 2];
  INVRG_MPI_CALL(MPI_Bcast(taus, (int)(mc->n_chains * N_SERIES), MPI_DOUBLE, 0, groups->world));
  hsize_t tau_dims[2] = {(hsize_t)mc->n_chains, N_SERIES};
  INVRG_CALL(invrg_h5_create_dataset(group, "tau_int", H5T_NATIVE_DOUBLE, 2, tau_dims, &dset_tau));
  INVRG_CALL(invrg_h5_attr_strings(dset_tau, "columns", series_names, N_SERIES));
  if (groups->world_rank == 0)
    INVRG_CALL(invrg_h5_write_rows(dset_tau, H5T_NATIVE_DOUBLE, 0, (hsize_t)mc->n_chains, taus));
  log_results(cfg, L, &result);
  if (w.mcrg != NULL) {
    INVRG_CALL(invrg_mcrg_reduce(w.mcrg));
    INVRG_CALL(invrg_mcrg_analyze(w.mcrg, 0, &mcrg_results));
    INVRG_CALL(invrg_mcrg_write(mcrg_results, run->file->file, "mc", "blocked", groups->world));
    invrg_mcrg_log(mcrg_results, "mc", "blocked");
  }
cleanup:
  invrg_mcrg_results_destroy(&mcrg_results);
  invrg_mcrg_destroy(&w.mcrg);
  invrg_h5_close(&dset_tau);
  invrg_h5_close(&w.series_dset);
  invrg_h5_close(&w.cw.dset);
  invrg_h5_close(&group);
  free(w.cw.buf);
  free(w.series);
  free(w.records);
  free(w.done);
  for (int64_t k = 0; w.parked_spins != NULL && k < w.n_mine; k++) free(w.parked_spins[k]);
  free(w.parked_spins);
  free(w.parked_updater);
  free(all);
  free(taus);
  invrg_wolff_destroy(&w.u.wolff);
  invrg_sw_destroy(&w.u.sw);
  invrg_lattice_destroy(&w.lat);
  return err;
}

/* Every size of &mc L, then their correlations and finite-size scaling. */
static invrg_err mc_execute(invrg_run *run) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_groups *groups = run->groups;
  const int n_L = cfg->mc.n_L, n_blocks = (int)(cfg->mc.n_chains * cfg->mc.blocks_per_chain);
  const size_t per_size = (size_t)n_blocks * INVRG_N_PRIMARY;
  const hid_t state = invrg_checkpoint_state(run->ckpt);
  int first_size = 0;
  invrg_corr *corr = NULL;
  double *means = calloc((size_t)n_L * per_size, sizeof *means);
  int64_t *sizes = calloc((size_t)n_L * (size_t)n_blocks, sizeof *sizes);
  INVRG_CHECK_ALLOC(means);
  INVRG_CHECK_ALLOC(sizes);
  if (cfg->analyze.correlations) { /* one accumulator for all sizes, blocks as the summary's */
    invrg_corr_params cp = {n_blocks, 64};
    INVRG_CALL(invrg_corr_create(&cp, groups, &corr));
  }
  if (state >= 0) INVRG_CALL(restore_sizes(run, state, &first_size, means, sizes, corr));
  for (int i = first_size; i < n_L; i++)
    INVRG_CALL(run_size(run, i, corr, means, sizes, i == first_size ? state : -1));
  const bool fit = invrg_stage_fits_source(cfg, INVRG_SOURCE_MC) && n_L >= 2;
  if (fit) { /* the block means of every size are on world rank 0 */
    INVRG_MPI_CALL(MPI_Bcast(means, (int)((size_t)n_L * per_size), MPI_DOUBLE, 0, groups->world));
    INVRG_MPI_CALL(MPI_Bcast(sizes, n_L * n_blocks, MPI_INT64_T, 0, groups->world));
  }
  invrg_measure_size measured[sizeof cfg->mc.L / sizeof cfg->mc.L[0]];
  for (int i = 0; i < n_L; i++)
    measured[i] = (invrg_measure_size){cfg->mc.L[i], cfg->mc.beta, means + (size_t)i * per_size,
                                       sizes + (size_t)i * (size_t)n_blocks};
  INVRG_CALL(invrg_measure_tail_run(run, "mc", corr, fit, measured, n_L, n_blocks));
cleanup:
  invrg_corr_destroy(&corr);
  free(means);
  free(sizes);
  return err;
}

const invrg_stage invrg_stage_mc = {"mc", mc_check, mc_execute};
