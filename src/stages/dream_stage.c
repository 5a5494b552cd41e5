/* Stage dream: configurations dreamed from one spin, measured and judged at every level.
 *
 * Samples are items (groups.h): sample j is dreamed by group j mod n_groups
 * from its own seed spin and random streams, so every number here is the same
 * on any number of ranks. Per-sample measurements travel to world rank 0 in
 * sample order (the jackknife blocks are contiguous runs of samples); MCRG
 * sums are reduced exactly. The models and the check of the keys before any work:
 * dream_check.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/blockspin.h"
#include "invrg/checkpoint_check.h"
#include "invrg/configs_io.h"
#include "invrg/corr_io.h"
#include "invrg/dream.h"
#include "invrg/dream_check.h"
#include "invrg/dream_checkpoint.h"
#include "invrg/dream_levels.h"
#include "invrg/dream_measure.h"
#include "invrg/exact.h"
#include "invrg/format.h"
#include "invrg/h5util.h"
#include "invrg/log.h"
#include "invrg/mcrg.h"
#include "invrg/mcrg_io.h"
#include "invrg/measure_tail.h"
#include "invrg/memory.h"
#include "invrg/model.h"
#include "invrg/observables.h"
#include "invrg/progress.h"
#include "invrg/reducer.h"
#include "invrg/schema.h"
#include "invrg/seed_configs_io.h"
#include "invrg/stage.h"
#include "invrg/stage_setup.h"
#include "invrg/stats.h"
#include "invrg/summary_io.h"
#include "invrg/ticks.h"

/* ------------------------------------------------------------------ measurements */

/* ------------------------------------------------------------------ output */

/* Reads /mc/L<L> summary X and X_err of this run, if stage mc made that size. */
static bool mc_reference(hid_t file, int64_t L, const char *obs, double *value, double *error) {
  char path[64], name[64];
  snprintf(path, sizeof path, "mc/L%lld", (long long)L);
  if (H5Lexists(file, "mc", H5P_DEFAULT) <= 0 || H5Lexists(file, path, H5P_DEFAULT) <= 0) return false;
  hid_t g = H5Gopen2(file, path, H5P_DEFAULT);
  snprintf(name, sizeof name, "%s_err", obs);
  bool ok = g >= 0 && H5Aexists(g, obs) > 0 && H5Aexists(g, name) > 0;
  if (ok) {
    hid_t a = H5Aopen(g, obs, H5P_DEFAULT), b = H5Aopen(g, name, H5P_DEFAULT);
    ok = H5Aread(a, H5T_NATIVE_DOUBLE, value) >= 0 && H5Aread(b, H5T_NATIVE_DOUBLE, error) >= 0;
    H5Aclose(a);
    H5Aclose(b);
  }
  if (g >= 0) H5Gclose(g);
  return ok;
}

/* /dream/L<L>: the summary at K_c, errors by the jackknife over B contiguous blocks. */
static invrg_err write_level_summary(hid_t file, int64_t L, int B, const invrg_summary *s) {
  char path[64];
  invrg_schema_size_path(path, sizeof path, "dream", NULL, L);
  const invrg_summary_context ctx = {L, INVRG_K_CRITICAL,
                                     "jackknife over contiguous blocks of samples", B};
  return invrg_summary_write(file, path, s, &ctx, NULL);
}

/* The table of the log: one row per size, deviations from Monte Carlo or the exact torus. */
static void log_table(hid_t file, const invrg_config_dream *d, const invrg_summary *sum) {
  const int shown[] = {INVRG_OBS_ENERGY, INVRG_OBS_SPECIFIC_HEAT, INVRG_OBS_ABS_M, INVRG_OBS_CHI,
                       INVRG_OBS_V4};
  const char *const head[] = {"L", "E/N [J]", "C/N", "<|m|>", "chi", "V4"};
  char line[512], cell[64];
  invrg_log(INVRG_LOG_INFO, "dream: %lld samples, %lld levels", (long long)d->n_samples,
            (long long)d->levels);
  line[0] = '\0';
  for (int k = 0; k < 6; k++) invrg_format_cell(line, sizeof line, k == 0 ? 6 : 16, head[k]);
  invrg_log(INVRG_LOG_INFO, " %s  deviation [sigma] from", line);
  for (int64_t level = d->measure_from; level <= d->levels; level++) {
    const invrg_summary *s = &sum[level - d->measure_from];
    int64_t L = (int64_t)1 << level;
    char dev[200] = "", sig[32];
    double v, e;
    if (mc_reference(file, L, "energy", &v, &e)) {
      size_t used = (size_t)snprintf(dev, sizeof dev, "mc:");
      for (int k = 0; k < 5; k++) {
        const char *name = invrg_summary_names[shown[k]];
        if (!mc_reference(file, L, name, &v, &e)) continue;
        invrg_format_sigma(sig, sizeof sig,
                           invrg_deviation_sigma(s->value[shown[k]], v,
                                                 hypot(s->error[shown[k]], e)));
        used += (size_t)snprintf(dev + used, sizeof dev - used, " %s %s", name, sig);
      }
    } else {
      char exact[96];
      if (invrg_summary_exact_deviations(s, (int)L, INVRG_K_CRITICAL, exact, sizeof exact))
        snprintf(dev, sizeof dev, "exact torus: %s", exact);
    }
    line[0] = '\0';
    snprintf(cell, sizeof cell, "%lld", (long long)L);
    invrg_format_cell(line, sizeof line, 6, cell);
    for (int k = 0; k < 5; k++) {
      invrg_format_value_error(cell, sizeof cell, s->value[shown[k]], s->error[shown[k]]);
      invrg_format_cell(line, sizeof line, 16, cell);
    }
    invrg_log(INVRG_LOG_INFO, " %s  %s", line, dev);
  }
}

/* ------------------------------------------------------------------ costs */

/* Where the time of a level goes. */
enum { COST_GENERATION, COST_OBSERVABLES, COST_MCRG, COST_CORRELATIONS, N_COSTS };
static const char *const cost_names[N_COSTS] = {"generation", "observables", "mcrg",
                                                "correlations"};

/*
 * The costs per level: the wall seconds of the slowest rank, kept in /run/dream_seconds
 * [level][generation, observables, mcrg, correlations] (timings are not results: /run is the
 * part of the run file that describes the run), and in the log also as nanoseconds per fine
 * site (all ranks' seconds over all sites dreamed at that level). @p seconds [level][cost] of
 * this rank, @p dreamed: samples its group dreamed in this run (counted on group rank 0).
 * Collective on the world.
 */
static invrg_err report_costs(const invrg_run *run, double *seconds, int levels, int64_t dreamed) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1;
  const int n = N_COSTS * (levels + 1);
  double *total = malloc((size_t)n * sizeof *total);
  INVRG_CHECK_ALLOC(total);
  INVRG_MPI_CALL(MPI_Allreduce(seconds, total, n, MPI_DOUBLE, MPI_SUM, run->groups->world));
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, seconds, n, MPI_DOUBLE, MPI_MAX, run->groups->world));
  INVRG_MPI_CALL(MPI_Allreduce(MPI_IN_PLACE, &dreamed, 1, MPI_INT64_T, MPI_SUM, run->groups->world));
  invrg_log(INVRG_LOG_INFO, "dream costs per level: seconds of the slowest rank | nanoseconds "
            "per fine site, all ranks");
  char head[N_COSTS][32];
  for (int k = 0; k < N_COSTS; k++) snprintf(head[k], sizeof head[k], "%s [s]", cost_names[k]);
  invrg_log(INVRG_LOG_INFO, "  %6s %16s %16s %16s %16s | %9s %9s %9s %9s", "L", head[0], head[1],
            head[2], head[3], "gen [ns]", "obs [ns]", "mcrg [ns]", "corr [ns]");
  for (int level = 1; level <= levels; level++) {
    const double *t = seconds + (size_t)level * N_COSTS, *sum = total + (size_t)level * N_COSTS;
    const double sites = ldexp((double)dreamed, 2 * level) / 1e9; /* in units of 1e9 */
    invrg_log(INVRG_LOG_INFO, "  %6lld %16.3f %16.3f %16.3f %16.3f | %9.2f %9.2f %9.2f %9.2f",
              1LL << level, t[0], t[1], t[2], t[3], sum[0] / sites, sum[1] / sites,
              sum[2] / sites, sum[3] / sites);
  }
  hsize_t dims[2] = {(hsize_t)levels + 1, N_COSTS};
  INVRG_CALL(invrg_h5_create_group(run->file->file, "run", &g));
  INVRG_CALL(invrg_h5_dataset_doubles(g, "dream_seconds", 2, dims, seconds,
                                      run->groups->world_rank == 0));
cleanup:
  free(total);
  invrg_h5_close(&g);
  return err;
}

/*
 * The memory of dreaming, for the budget (bytes per fine spin per rank): the largest
 * peak resident size over the ranks, and on that rank what it rose by since the stage began,
 * over the spins of the top level it holds (@p top_spins). In the log and in /run (attributes
 * dream_peak_bytes, dream_bytes_per_top_spin). Collective on the world.
 */
static invrg_err report_memory(const invrg_run *run, int64_t resident_at_start, int64_t top_spins) {
  invrg_err err = INVRG_SUCCESS;
  hid_t g = -1;
  int64_t peak = 0;
  int rank = 0;
  INVRG_CALL(invrg_memory_peak_max(run->groups->world, &peak, &rank));
  double theirs[2] = {(double)resident_at_start, (double)top_spins}; /* of the peak's rank */
  INVRG_MPI_CALL(MPI_Bcast(theirs, 2, MPI_DOUBLE, rank, run->groups->world));
  /* The kernel's high-water mark is updated lazily (memory returned by madvise escapes it): a
   * run whose stage rose little (a resumed one with little left) can see a peak below its
   * resident size at the start. The rise is then none that was measured: 0, not negative. */
  const double per_spin = ((double)peak > theirs[0] ? (double)peak - theirs[0] : 0) / theirs[1];
  invrg_log(INVRG_LOG_INFO,
            "dream memory: peak %.1f MiB per rank (the largest, rank %d): %.1f MiB before the "
            "stage + %.2f bytes per fine spin of the top level held there (%.4g spins)",
            (double)peak / 1048576.0, rank, theirs[0] / 1048576.0, per_spin, theirs[1]);
  INVRG_CALL(invrg_h5_create_group(run->file->file, "run", &g));
  INVRG_CALL(invrg_h5_attr_int64(g, "dream_peak_bytes", &peak, 1, true));
  INVRG_CALL(invrg_h5_attr_double(g, "dream_bytes_per_top_spin", &per_spin, 1, true));
cleanup:
  invrg_h5_close(&g);
  return err;
}

/* ------------------------------------------------------------------ execute */

static bool is_saved(const invrg_config_dream *d, int64_t level) {
  for (int i = 0; i < d->n_save_levels; i++)
    if (d->save_levels[i] == level) return true;
  return false;
}

/* Everything one execution of the stage holds: models, lattices, accumulators, buffers. */
typedef struct {
  invrg_run *run;
  int levels, n_meas;      /* top level; measured levels measure_from … levels */
  int B, B_acc;            /* jackknife blocks of the summaries; of the accumulators (≥ 2) */
  size_t rec;              /* primaries per sample: n_meas × INVRG_N_PRIMARY */
  int64_t window, window_mine, n_mine; /* samples per window; per group and window; per group */
  invrg_model *m, *m_small;            /* the model; the k = 3 one of small_kernel_start */
  int n_small;                         /* levels dreamed with m_small */
  invrg_dream_levels lv;                /* the lattices of a dream, reused by every sample */
  int seed_level;                       /* the level a dream starts from (start = 'mc': > 0) */
  int batch_levels;                     /* the first levels dreamed in batches (0: none) */
  int batch_measured;                   /* … and measured in batches: measure_from … this */
  int64_t batch_next;                   /* the group's first sample of the window not batched */
  invrg_seed_configs seeds;             /* start = 'mc': the saved configurations */
  invrg_mcrg *acc[INVRG_DREAM_N_PAIRS];
  invrg_dream_pair_sums pair_sums;      /* operator sums carried from level to level */
  invrg_corr *corr;
  hid_t saved[INVRG_MAX_LEVELS + 1];  /* configs datasets of the saved levels, else −1 */
  double *mine, *all;      /* the window's primaries: the group's [k][rec]; all on world rank 0 */
  int64_t *done;           /* [k]: 1 when the group's k-th sample of the window is dreamed */
  double *block_means;     /* [level][block][primary], folded on world rank 0 */
  int64_t *block_sizes;    /* [block] */
  size_t n_means;
  uint64_t ticks[N_COSTS * (INVRG_MAX_LEVELS + 1)];  /* [level][cost] of this rank (ticks.h) */
  double seconds[N_COSTS * (INVRG_MAX_LEVELS + 1)];  /* the same in seconds, at the end */
  int64_t dreamed;         /* samples this rank's group dreamed in this run (on group rank 0) */
  double spins;            /* fine spins this rank dreamed (progress) */
  int64_t resident_at_start;
} dream_job;

/* The sizes of the job: levels, blocks, windows (all from the input and the layout). */
static void job_sizes(invrg_run *run, dream_job *job) {
  const invrg_config_dream *d = &run->cfg->dream;
  const invrg_groups *g = run->groups;
  job->run = run;
  /* the sizes its checkpoint's check expects too (checkpoint_check.h) */
  const invrg_dream_state_sizes s = invrg_dream_state_sizes_of(run->cfg);
  job->levels = (int)d->levels;
  job->n_meas = s.n_meas;
  job->rec = s.rec;
  job->n_mine = invrg_groups_item_count(g, d->n_samples);
  /* Samples go in windows: a record per sample of the window only, whatever n_samples. */
  job->window = s.window;
  job->window_mine = (job->window + g->n_groups - 1) / g->n_groups;
  job->B = invrg_stage_jackknife_blocks(run->cfg, "dream", d->n_samples); /* s.blocks, said */
  /* One sample (a single big dream) has no error bars: the summaries say NaN, and the MCRG and
   * correlation accumulators, which want two blocks, keep an empty second one. */
  job->B_acc = s.acc_blocks;
  job->n_means = s.n_means;
  for (int l = 0; l <= INVRG_MAX_LEVELS; l++) job->saved[l] = -1;
  job->seed_level = invrg_dream_seed_level(d);
  job->seeds = (invrg_seed_configs){.file = -1, .dset = -1};
}

/* The seeds and how independent they are: τ_int of their E and |m| in samples is 1/2 for
 * independent seeds, and 1/2 + ρ/(1 − ρ) for seeds one sample apart with correlation ρ; seeds
 * spaced by 2 τ of the chain have ρ = e^−2, τ_int = 0.66. Above 0.75, neighbouring dreams share
 * their long-distance structure and the dream's error bars come out too small. */
static void log_seeds(const invrg_seed_configs *s, int level) {
  invrg_log(INVRG_LOG_INFO, "dream seeds: %lld Monte Carlo configurations of %lld x %lld (level "
            "%d), sample j from configuration j; tau_int of their E and |m|: %.2f and %.2f "
            "samples (0.5: independent)", (long long)s->n, (long long)s->L, (long long)s->L,
            level, s->tau_energy, s->tau_abs_m);
  const double tau = fmax(s->tau_energy, s->tau_abs_m);
  if (isnan(tau))
    invrg_log(INVRG_LOG_WARN, "dream seeds: their file has no tau_int of E and |m| (/mc/L%lld "
              "energy_tau_int, abs_m_tau_int): make sure they are independent", (long long)s->L);
  else if (tau > 0.75)
    invrg_log(INVRG_LOG_WARN, "dream seeds: neighbouring seeds are correlated (tau_int %.2f "
              "samples > 0.75): space them by 2 tau_int of their chain or more (&mc "
              "sample_every), or neighbouring dreams share their long-distance structure and "
              "the error bars come out too small", tau);
}

/* The models and their work spaces. */
static invrg_err job_models(dream_job *job) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config_dream *d = &job->run->cfg->dream;
  INVRG_CALL(invrg_dream_model(job->run, &job->m));
  invrg_log(INVRG_LOG_INFO, "dream with %s (%d parameters): %lld samples up to %lld x %lld",
            invrg_model_kind_name(job->m->kind), job->m->n_params, (long long)d->n_samples,
            1LL << job->levels, 1LL << job->levels);
  INVRG_CALL(invrg_dream_small_kernel_model(job->run, job->m, &job->m_small, &job->n_small));
  if (job->seed_level > 0) {
    INVRG_CALL(invrg_seed_configs_open(job->run->cfg, job->run->file->file, &job->seeds));
    log_seeds(&job->seeds, job->seed_level);
  }
  if (job->m_small != NULL) {
    invrg_log(INVRG_LOG_INFO, "small_kernel_start = 'paper': levels 1 .. %d with %s (k = 3)",
              job->n_small, invrg_model_kind_name(job->m_small->kind));
  }
cleanup:
  return err;
}

/* The last level measured in batches (0: none): the batched levels from measure_from on (all,
 * to 32²: measured a dream at a time, 32² cost 2.0–2.1 ns per fine site, in its batch 1.5),
 * not the top (its blocked pairs), without correlation functions (they need each one), and
 * only for dreams to 1024² at most: a batch's measurements reach the accumulators before its
 * dreams are done, so checkpoints wait for the batch's end (64 dreams of at most about a
 * millisecond each). */
static int batch_measured(const dream_job *job) {
  const invrg_config *cfg = job->run->cfg;
  enum { LARGEST_TOP = 10 };
  if (job->batch_levels == 0 || job->levels > LARGEST_TOP ||
      (cfg->analyze.correlations && cfg->analyze.correlation_functions))
    return 0;
  const int last = job->batch_levels < job->levels - 1 ? job->batch_levels : job->levels - 1;
  return last >= cfg->dream.measure_from ? last : 0;
}

/* Lattices of every level and the buffers of the windows and block means. */
static invrg_err job_buffers(dream_job *job) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_groups *g = job->run->groups;
  const int64_t n = job->run->cfg->dream.n_samples;
  /* Whole on each rank of the group while the grid cannot split a level, distributed after. */
  const int halo = invrg_dream_halo(job->m) > INVRG_MCRG_HALO ? invrg_dream_halo(job->m)
                                                               : INVRG_MCRG_HALO;
  const bool packed = job->run->cfg->dream.lattice_kind == INVRG_MC_LATTICE_PACKED;
  const invrg_config *cfg = job->run->cfg;
  const bool planes = cfg->dream.random_bits_kind == INVRG_RANDOM_BITS_PLANES;
  INVRG_CALL(invrg_dream_levels_create(g, job->levels, halo, packed, planes, job->m,
                                       job->m_small, job->n_small, &job->lv));
  const invrg_config_dream *d = &cfg->dream;
  const bool heatbath = d->refine_algorithm_kind == INVRG_REFINE_HEATBATH;
  const invrg_dream_refine refine = {
      .compatible = (int)d->compatible_sweeps, .seed = (uint64_t)cfg->run.seed,
      .sweeps = (int)d->refine_sweeps, .from = (int)d->refine_from, .heatbath = heatbath,
      .top_sweeps = (int)(d->refine_top_sweeps >= 0 ? d->refine_top_sweeps : d->refine_sweeps),
      .top_heatbath = d->refine_top_algorithm_kind == INVRG_REFINE_TOP_SAME
                          ? heatbath
                          : d->refine_top_algorithm_kind == INVRG_REFINE_TOP_HEATBATH,
      .K = d->refine_beta, .generator = (invrg_rng_generator)d->refine_generator_kind};
  invrg_dream_levels_set_refine(&job->lv, &refine);
  invrg_rng_log_generator(refine.generator, "&dream refine_generator");
  INVRG_CALL(invrg_dream_levels_set_top_sw(&job->lv, g, (int)cfg->dream.top_sw_sweeps,
                                           cfg->dream.refine_beta, (uint64_t)cfg->run.seed));
  if (job->seed_level == 0)
    INVRG_CALL(invrg_dream_levels_enable_batches(&job->lv, &job->batch_levels));
  if (job->batch_levels > 0)
    invrg_log(INVRG_LOG_INFO, "dream: levels 1 .. %d in batches of %d dreams (random_bits = "
              "'words' there)", job->batch_levels, INVRG_DREAM_BATCH_LANES);
  job->batch_measured = batch_measured(job);
  if (job->n_mine > 0) /* ranks that dream map their levels now, not page fault by page fault */
    for (int level = 0; level <= job->levels; level++)
      if (job->lv.lat[level] != NULL) invrg_lattice_populate(job->lv.lat[level]);
  job->mine = calloc((size_t)job->window_mine * job->rec, sizeof *job->mine);
  job->done = calloc((size_t)job->window_mine, sizeof *job->done);
  INVRG_CHECK_ALLOC(job->mine);
  if (job->n_mine > 0) /* its pages mapped now, not faulted in by the first window's samples */
    for (size_t at = 0; at < (size_t)job->window_mine * job->rec; at += 512)
      ((volatile double *)job->mine)[at] = 0;
  INVRG_CHECK_ALLOC(job->done);
  if (g->world_rank == 0) {
    job->all = malloc((size_t)job->window * job->rec * sizeof *job->all);
    INVRG_CHECK_ALLOC(job->all);
  }
  /* Block means of every level, folded on rank 0 in sample order as the windows complete and
   * shared at the end. Blocks: invrg_mcrg_block_of's contiguous runs of samples. */
  job->block_means = calloc(job->n_means, sizeof *job->block_means);
  job->block_sizes = calloc((size_t)job->B, sizeof *job->block_sizes);
  INVRG_CHECK_ALLOC(job->block_means);
  INVRG_CHECK_ALLOC(job->block_sizes);
  invrg_summary_block_sizes(n, job->B, job->block_sizes);
cleanup:
  return err;
}

/* MCRG accumulators of the three kinds of pairs, correlations, datasets of the saved levels. */
static invrg_err job_accumulators(dream_job *job) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = job->run->cfg;
  const invrg_config_dream *d = &cfg->dream;
  const invrg_dream_state_sizes s = invrg_dream_state_sizes_of(cfg); /* as its check reads them */
  for (int p = 0; p < INVRG_DREAM_N_PAIRS; p++) {
    const invrg_mcrg_params mp = invrg_mcrg_params_of(cfg, s.pair_levels[p], s.acc_blocks);
    INVRG_CALL(invrg_mcrg_create(&mp, job->run->groups, &job->acc[p]));
  }
  int n_ops = 0;
  const invrg_operator *ops = invrg_mcrg_operators(job->acc[0], &n_ops);
  INVRG_CALL(invrg_dream_pair_sums_create(ops, n_ops, &job->pair_sums));
  if (s.correlations) {
    INVRG_CALL(invrg_corr_create(&s.corr, job->run->groups, &job->corr));
    for (int level = (int)d->measure_from; level <= job->levels; level++)
      if (job->lv.packed && level >= 1)
        INVRG_CALL(invrg_corr_prepare_packed(job->corr, job->lv.plat[level]));
      else
        INVRG_CALL(invrg_corr_prepare(job->corr, job->lv.lat[level]));
  }
  /* Saved levels: datasets created by all ranks, rows written by the sample's owner. */
  const bool packed = cfg->output.configs_format_kind == INVRG_CONFIGS_PACKED;
  const int64_t n_saved = d->save_max < d->n_samples ? d->save_max : d->n_samples;
  for (int level = 1; level <= job->levels; level++) {
    if (!is_saved(d, level)) continue;
    char path[64];
    hid_t g = -1;
    invrg_schema_size_path(path, sizeof path, "dream", NULL, (int64_t)1 << level);
    INVRG_CALL(invrg_h5_create_group(job->run->file->file, path, &g));
    err = invrg_configs_create(g, "configs", n_saved, (int64_t)1 << level, packed,
                               &job->saved[level]);
    invrg_h5_close(&g);
    INVRG_CALL(err);
  }
cleanup:
  return err;
}

static void job_destroy(dream_job *job) {
  invrg_seed_configs_close(&job->seeds);
  for (int l = 0; l <= INVRG_MAX_LEVELS; l++) invrg_h5_close(&job->saved[l]);
  for (int p = 0; p < INVRG_DREAM_N_PAIRS; p++) invrg_mcrg_destroy(&job->acc[p]);
  invrg_dream_pair_sums_destroy(&job->pair_sums);
  invrg_corr_destroy(&job->corr);
  invrg_dream_levels_destroy(&job->lv);
  invrg_model_destroy(&job->m_small);
  invrg_model_destroy(&job->m);
  free(job->mine);
  free(job->done);
  free(job->all);
  free(job->block_means);
  free(job->block_sizes);
}

/* The measurements of level @p level of sample @p j (the group's k-th of the window):
 * primaries, MCRG pairs, correlations; their costs, from the tick *t on (then the tick they
 * end). Collective on the group. */
static invrg_err measure_level(dream_job *job, int level, int64_t k, uint64_t j, int block,
                               uint64_t *t) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = job->run->cfg;
  const invrg_dream_measures into = {job->acc, job->corr, cfg, &job->pair_sums};
  uint64_t *cost = job->ticks + (size_t)level * N_COSTS, t1 = *t;
  invrg_config_sums sums;
  INVRG_CALL(invrg_dream_measure_observables(&job->lv, level, &sums));
  invrg_observables_primaries(&sums, job->mine + (size_t)k * job->rec +
                                         (size_t)(level - cfg->dream.measure_from) *
                                             INVRG_N_PRIMARY);
  const uint64_t t2 = invrg_ticks();
  INVRG_CALL(invrg_dream_measure_correlations(&job->lv, &into, level, block));
  const uint64_t t3 = invrg_ticks();
  INVRG_CALL(invrg_dream_measure_pairs(&job->lv, &into, level, j, block));
  *t = invrg_ticks();
  cost[COST_OBSERVABLES] += t2 - t1, cost[COST_CORRELATIONS] += t3 - t2;
  cost[COST_MCRG] += *t - t3;
cleanup:
  return err;
}

/* Level @p level of sample @p j into its configurations dataset: by the ranks that hold rows of
 * it (a whole level: group rank 0), independent I/O, each group at its own pace; with &output
 * collective_writes, and one group that spans all ranks (a big dream), one collective write. */
static invrg_err save_level(dream_job *job, int level, uint64_t j) {
  const invrg_config_output *out = &job->run->cfg->output;
  const bool format_packed = out->configs_format_kind == INVRG_CONFIGS_PACKED;
  const invrg_groups *g = job->run->groups;
  const MPI_Comm all = g->n_groups == 1 && out->collective_writes ? g->world : MPI_COMM_NULL;
  if (job->lv.packed) {
    const invrg_packed *p = job->lv.plat[level];
    const bool writes = p->size > 1 || g->rank == 0;
    if (!writes && all == MPI_COMM_NULL) return INVRG_SUCCESS;
    return invrg_configs_write_packed_all(job->saved[level], p, format_packed, (int64_t)j,
                                          writes, all);
  }
  const invrg_lattice *lat = job->lv.lat[level];
  const bool writes = lat->mode == INVRG_LATTICE_DISTRIBUTED || g->rank == 0;
  if (!writes && all == MPI_COMM_NULL) return INVRG_SUCCESS;
  return invrg_configs_write_lattice_all(job->saved[level], lat, format_packed, (int64_t)j,
                                         writes, all);
}

/* Sample @p j, the group's k-th of the window: from its seed spin up to the top level, each
 * level measured from measure_from on and saved where asked. Collective on the group. */
static invrg_err dream_sample(dream_job *job, int64_t k, uint64_t j) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = job->run->cfg;
  const invrg_config_dream *d = &cfg->dream;
  const uint64_t seed = (uint64_t)cfg->run.seed;
  const int block = invrg_mcrg_block_of((int64_t)j, d->n_samples, job->B);
  const int8_t seed_spin = invrg_dream_seed_spin(d->start_kind, seed, j);
  if (job->seed_level > 0) { /* start = 'mc': configuration j as the seed level */
    invrg_packed *p = job->lv.plat[job->seed_level];
    const uint64_t t0 = invrg_ticks();
    INVRG_CALL(invrg_seed_configs_read(&job->seeds, (int64_t)j, p));
    INVRG_CALL(invrg_packed_halo_exchange(p));
    job->ticks[(size_t)job->seed_level * N_COSTS + COST_GENERATION] += invrg_ticks() - t0;
  }
  uint64_t t = invrg_ticks(); /* one clock reading between the parts of a level */
  for (int level = job->seed_level + 1; level <= job->levels; level++) {
    const int64_t L = (int64_t)1 << level;
    const uint64_t t0 = t;
    const bool saved = job->saved[level] >= 0 && (int64_t)j < d->save_max;
    /* made and measured in its batch, and read by no one: not the coarse lattice of the first
     * level dreamed one dream at a time (the first level measured so takes its up pair's
     * coarse sums from the batch) */
    if (level <= job->batch_measured && level < job->batch_levels && !saved) {
      job->spins += (double)(L * L);
      continue;
    }
    INVRG_CALL(invrg_dream_levels_step(&job->lv, level, seed_spin, seed, j));
    t = invrg_ticks();
    job->ticks[(size_t)level * N_COSTS + COST_GENERATION] += t - t0;
    job->spins += (double)(L * L);
    if (level >= d->measure_from && level > job->batch_measured) /* else measured in its batch */
      INVRG_CALL(measure_level(job, level, k, j, block, &t));
    if (saved) {
      INVRG_CALL(save_level(job, level, j));
      t = invrg_ticks(); /* saving is no cost of the next level */
    }
  }
cleanup:
  return err;
}

/* The measurements of the batched levels measure_from … batch_measured of the batch's dreams,
 * the group's ks[i]-th of the window (lane i). */
static invrg_err measure_batch(dream_job *job, const int64_t *ks) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = job->run->cfg;
  const invrg_dream_measures into = {job->acc, job->corr, cfg, &job->pair_sums};
  const int n = invrg_dream_batch_count(job->lv.batch);
  const uint64_t *samples = invrg_dream_batch_samples(job->lv.batch);
  int blocks[INVRG_DREAM_BATCH_LANES];
  double *primaries[INVRG_DREAM_BATCH_LANES];
  for (int i = 0; i < n; i++)
    blocks[i] = invrg_mcrg_block_of((int64_t)samples[i], cfg->dream.n_samples, job->B);
  for (int level = (int)cfg->dream.measure_from; level <= job->batch_measured; level++) {
    for (int i = 0; i < n; i++)
      primaries[i] = job->mine + (size_t)ks[i] * job->rec +
                     (size_t)(level - cfg->dream.measure_from) * INVRG_N_PRIMARY;
    invrg_dream_measure_ticks t = {0};
    INVRG_CALL(invrg_dream_measure_batch(&job->lv, &into, level, job->run->groups->rank, blocks,
                                         primaries, &t));
    uint64_t *cost = job->ticks + (size_t)level * N_COSTS;
    cost[COST_OBSERVABLES] += t.observables, cost[COST_CORRELATIONS] += t.correlations;
    cost[COST_MCRG] += t.mcrg;
  }
cleanup:
  return err;
}

/* Asks the CPU for what measure_batch() will write, while the batch dreams: the records of
 * the window's dreams ks[0 … n) (consecutive, but for dreams done before a restart) and the
 * pairs' pending sums of the measured levels (their first touch per batch missed the caches:
 * 2² 42 → 26 ns per fine site). */
static void prefetch_batch_measures(const dream_job *job, const int64_t *ks, int n) {
  const char *from = (const char *)(job->mine + (size_t)ks[0] * job->rec),
             *to = (const char *)(job->mine + (size_t)(ks[n - 1] + 1) * job->rec);
  for (const char *at = from; at < to; at += 64) __builtin_prefetch(at, 1, 3);
  for (int level = (int)job->run->cfg->dream.measure_from; level <= job->batch_measured;
       level++) {
    invrg_mcrg_prefetch(job->acc[INVRG_DREAM_PAIRS_UP], level);
    invrg_mcrg_prefetch(job->acc[INVRG_DREAM_PAIRS_DOWN], level);
  }
}

/* The first levels of the window's next dreams, from the group's k-th on, in one batch: up to
 * INVRG_DREAM_BATCH_LANES of those not dreamed yet (their generation cost at their levels),
 * measured there if they are measured in batches. */
static invrg_err run_batch(dream_job *job, int64_t first, int64_t k, int64_t k_count) {
  invrg_err err = INVRG_SUCCESS;
  const invrg_config *cfg = job->run->cfg;
  uint64_t samples[INVRG_DREAM_BATCH_LANES], ticks[INVRG_MAX_LEVELS + 1] = {0};
  int64_t ks[INVRG_DREAM_BATCH_LANES];
  int n = 0;
  int64_t q = k;
  for (; q < k_count && n < INVRG_DREAM_BATCH_LANES; q++)
    if (!job->done[q]) {
      ks[n] = q;
      samples[n++] = (uint64_t)invrg_reducer_range_item(job->run->groups, first, q);
    }
  job->batch_next = q;
  if (job->batch_measured > 0 && n > 0) prefetch_batch_measures(job, ks, n);
  invrg_dream_levels_run_batch(&job->lv, cfg->dream.start_kind, (uint64_t)cfg->run.seed, samples,
                               n, ticks);
  for (int l = 1; l <= job->batch_levels; l++)
    job->ticks[(size_t)l * N_COSTS + COST_GENERATION] += ticks[l];
  if (job->batch_measured > 0) INVRG_CALL(measure_batch(job, ks));
cleanup:
  return err;
}

/* The window's primaries in sample order on world rank 0, added to the block means there:
 * each mean gets its samples in sample order, as when all samples were gathered at once. */
static invrg_err fold_window(dream_job *job, int64_t first, int64_t count) {
  invrg_err err = INVRG_SUCCESS;
  const int64_t n = job->run->cfg->dream.n_samples;
  INVRG_CALL(invrg_reducer_gather_range(job->run->groups, first, count, (int)job->rec, job->mine,
                                        job->all));
  if (job->run->groups->world_rank != 0) goto cleanup;
  for (int64_t t = 0; t < count; t++) {
    const int b = invrg_mcrg_block_of(first + t, n, job->B);
    for (int l = 0; l < job->n_meas; l++) {
      double *means = job->block_means + ((size_t)l * (size_t)job->B + (size_t)b) * INVRG_N_PRIMARY;
      const double *x = job->all + (size_t)t * job->rec + (size_t)l * INVRG_N_PRIMARY;
      invrg_summary_block_add(means, x, job->block_sizes[b]);
    }
  }
cleanup:
  return err;
}

/* Seeds read from a file whose values are not all spins stop the stage before the dreams
 * made from them count (at a window's end or a checkpoint). Collective on the world. */
static invrg_err agree_on_seeds(dream_job *job) {
  if (job->seed_level == 0) return INVRG_SUCCESS;
  return invrg_seed_configs_agree(job->run->cfg, &job->seeds, job->run->groups->world);
}

/* A checkpoint of the window so far. Collective on the world. */
static invrg_err save_state(dream_job *job, invrg_dream_state *ds, invrg_ckpt_decision decision) {
  invrg_err err = INVRG_SUCCESS;
  INVRG_CALL(agree_on_seeds(job));
  INVRG_CALL(invrg_dream_state_save(ds, decision));
cleanup:
  return err;
}

/* Every window of samples, from the checkpoint's if there is one; a checkpoint may be written
 * between samples (poll) and at the end of each window (sync). Collective on the world. */
static invrg_err dream_windows(dream_job *job) {
  invrg_err err = INVRG_SUCCESS;
  invrg_run *run = job->run;
  const invrg_groups *g = run->groups;
  const int64_t n = run->cfg->dream.n_samples;
  invrg_dream_state ds = {run, 0, 0, job->rec, job->mine, job->done, job->block_means, job->n_means,
                    job->acc, job->corr};
  const hid_t state = invrg_checkpoint_state(run->ckpt);
  bool resumed = state >= 0; /* the first window continues the checkpoint's */
  if (resumed) INVRG_CALL(invrg_dream_state_restore(&ds, state, job->window));
  invrg_progress progress;
  invrg_progress_start(&progress, "dream", (double)job->n_mine, "fine spins", 10.0);
  const invrg_ticks_mark start = invrg_ticks_now();
  for (int64_t first = ds.first; first < n; first += job->window) {
    ds.first = first;
    ds.count = n - first < job->window ? n - first : job->window;
    const int64_t k_count = invrg_reducer_range_count(g, first, ds.count);
    const int64_t k_before = invrg_groups_item_count(g, first); /* for the progress */
    if (!resumed) memset(job->done, 0, (size_t)job->window_mine * sizeof *job->done);
    resumed = false;
    job->batch_next = 0;
    for (int64_t k = 0; k < k_count; k++) {
      if (job->done[k]) continue; /* dreamed before the checkpoint */
      if (job->batch_levels > 0 && k >= job->batch_next)
        INVRG_CALL(run_batch(job, first, k, k_count));
      INVRG_CALL(dream_sample(job, k, (uint64_t)invrg_reducer_range_item(g, first, k)));
      invrg_progress_update(&progress, (double)(k_before + k + 1), job->spins);
      job->done[k] = 1;
      if (g->rank == 0) job->dreamed++; /* a sample once, however many ranks share it */
      /* a safe point between samples; with measurements in batches, between batches (the
       * accumulators hold the whole batch's) */
      if (job->batch_measured > 0 && k + 1 < job->batch_next) continue;
      invrg_ckpt_decision decision;
      INVRG_CALL(invrg_checkpoint_poll(run->ckpt, g->cart, &decision));
      if (decision != INVRG_CKPT_NONE) INVRG_CALL(save_state(job, &ds, decision));
    }
    for (;;) { /* the end of the window: every rank learns whether a checkpoint is due now */
      invrg_ckpt_decision decision;
      INVRG_CALL(invrg_checkpoint_sync(run->ckpt, &decision));
      if (decision == INVRG_CKPT_NONE) break;
      INVRG_CALL(save_state(job, &ds, decision));
    }
    /* after the checkpoints: a rank may write this window's from a safe point of its own,
     * another from the sync above, so the seeds' agreements pair up only one per checkpoint
     * and one here */
    INVRG_CALL(agree_on_seeds(job));
    INVRG_CALL(fold_window(job, first, ds.count));
  }
  invrg_progress_finish(&progress, job->spins);
  const double per_tick = invrg_ticks_seconds_per_tick(start, invrg_ticks_now());
  for (size_t c = 0; c < sizeof job->ticks / sizeof job->ticks[0]; c++)
    job->seconds[c] = per_tick * (double)job->ticks[c];
cleanup:
  return err;
}

/* The results: summaries, costs and memory, correlations and fits, MCRG. Collective. */
static invrg_err dream_results(dream_job *job) {
  invrg_err err = INVRG_SUCCESS;
  invrg_run *run = job->run;
  const invrg_config_dream *d = &run->cfg->dream;
  const int B = job->B;
  invrg_summary summary[INVRG_MAX_LEVELS + 1];
  invrg_measure_size measured[INVRG_MAX_LEVELS + 1];
  invrg_mcrg_results *res = NULL;
  INVRG_MPI_CALL(MPI_Bcast(job->block_means, (int)job->n_means, MPI_DOUBLE, 0, run->groups->world));
  for (int l = 0; l < job->n_meas; l++) {
    const int64_t L = (int64_t)1 << (d->measure_from + l);
    double *means = job->block_means + (size_t)l * (size_t)B * INVRG_N_PRIMARY;
    invrg_summary_from_blocks(means, job->block_sizes, B, (double)L * (double)L,
                              INVRG_K_CRITICAL, &summary[l]);
    INVRG_CALL(write_level_summary(run->file->file, L, B, &summary[l]));
    measured[l] = (invrg_measure_size){L, INVRG_K_CRITICAL, means, job->block_sizes};
  }
  log_table(run->file->file, d, summary);
  INVRG_CALL(report_costs(run, job->seconds, job->levels, job->dreamed));
  INVRG_CALL(report_memory(run, job->resident_at_start,
                           invrg_dream_levels_top_spins(&job->lv)));
  /* Two-point functions of every measured size, then finite-size scaling across them. */
  const bool fit = invrg_stage_fits(run->cfg, INVRG_SOURCE_DREAM, job->n_meas, B);
  INVRG_CALL(invrg_measure_tail_run(run, "dream", job->corr, fit, measured, job->n_meas, B));
  for (int p = 0; p < INVRG_DREAM_N_PAIRS; p++) { /* MCRG of up, down and blocked pairs */
    INVRG_CALL(invrg_mcrg_reduce(job->acc[p]));
    INVRG_CALL(invrg_mcrg_analyze(job->acc[p], 0, &res));
    INVRG_CALL(invrg_mcrg_write(res, run->file->file, "dream", invrg_dream_pairs_names[p], run->groups->world));
    invrg_mcrg_log(res, "dream", invrg_dream_pairs_names[p]);
    invrg_mcrg_results_destroy(&res);
  }
cleanup:
  invrg_mcrg_results_destroy(&res);
  return err;
}

static invrg_err dream_execute(invrg_run *run) {
  invrg_err err = INVRG_SUCCESS;
  dream_job job = {0};
  job_sizes(run, &job);
  job.resident_at_start = invrg_memory_resident_bytes();
  INVRG_CALL(job_models(&job));
  INVRG_CALL(job_buffers(&job));
  INVRG_CALL(job_accumulators(&job));
  INVRG_CALL(dream_windows(&job));
  INVRG_CALL(dream_results(&job));
cleanup:
  job_destroy(&job);
  return err;
}

const invrg_stage invrg_stage_dream = {"dream", invrg_dream_check, dream_execute};
