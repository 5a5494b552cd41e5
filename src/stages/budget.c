/* Memory, disk and integer ranges of a run, estimated before any work (budget.h). */
#include "invrg/budget.h"

#include <libgen.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "invrg/dream_top_sw.h"
#include "invrg/log.h"
#include "invrg/mcrg.h"
#include "invrg/observables.h"
#include "invrg/reducer.h"

static const double GiB = 1073741824.0;

/* Bytes per spin of the largest lattice a rank holds (measured, see budget.h). */
#define DREAM_LEVELS_PER_SPIN (4.0 / 3.0)   /* all levels, the MCRG blockings written into them */
#define PACKED_LEVELS_PER_SPIN (1.0 / 6.0)  /* the same, one bit per spin (&dream lattice) */
#define CORRELATIONS_PER_SPIN 10.0          /* correlation functions: FFT slabs and redistributed
                                               spins (measured 8); the cheap path needs O(L) */
#define CORRELATIONS_PER_SPIN_SINGLE 5.0    /* the same in single precision (measured 4) */
#define CONV_LOGITS_PER_SPIN (8.0 + 1.25)   /* logits and whole copies of the lattices */
#define FIXED_BYTES 64e6                    /* MPI, HDF5, tables, buffers */

/* ------------------------------------------------------------------ pieces */

/* Bytes per spin of the correlation functions' FFT, if the input asks for them. */
static double correlation_bytes_per_spin(const invrg_config *cfg) {
  if (!cfg->analyze.correlations || !cfg->analyze.correlation_functions) return 0;
  return cfg->analyze.correlation_precision_kind == INVRG_CORR_SINGLE
             ? CORRELATIONS_PER_SPIN_SINGLE
             : CORRELATIONS_PER_SPIN;
}

/* Operators of the configured sets, and the largest number of terms of one (|S| <= terms·N). */
static void operator_counts(const invrg_config *cfg, int *n_ops, int *max_terms) {
  *n_ops = 0, *max_terms = 1;
  for (int s = 0; s < cfg->analyze.n_operators; s++) {
    invrg_operator_set *set = NULL;
    if (invrg_operator_set_create(cfg->analyze.operators[s], &set) != INVRG_SUCCESS) continue;
    *n_ops += set->n;
    for (int a = 0; a < set->n; a++)
      if (set->op[a].n_terms > *max_terms) *max_terms = set->op[a].n_terms;
    invrg_operator_set_destroy(&set);
  }
}

/* Bytes of an MCRG accumulator with @p levels levels and @p blocks jackknife blocks (mcrg.c). */
static double mcrg_bytes(int n_ops, double levels, double blocks) {
  const double record = 4 + 2 * (2.0 * n_ops + 2.0 * n_ops * n_ops);
  return levels * blocks * record * 8;
}

/* Bytes of the correlations of one size (correlation_internal.h) with @p blocks jackknife blocks:
 * records of S(0), S(k_min) (and with functions the FFT's projections), line sums and tables. */
static double corr_size_bytes(const invrg_config *cfg, double L, double blocks) {
  const double n_fold = L / 2 + 1, n_shells = floor(L / 2 * sqrt(2.0) + 0.5) + 1;
  const double pairs = 3 + (cfg->analyze.correlation_functions ? 2 * n_fold + n_shells : 0);
  return blocks * 8 * (1 + 2 * pairs) + 32 * L;
}

/* Ranks that share this machine's memory: MPI's node communicator when MPI runs, else (a check
 * without MPI) the run's ranks up to one per core of this machine. */
static int ranks_here(const invrg_run *run) {
  int initialized = 0, finalized = 0, world_size = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized && run->groups->world != MPI_COMM_NULL)
    MPI_Comm_size(run->groups->world, &world_size);
  /* A planned layout (--check --ranks N) has a world of one process: not the run's nodes. */
  if (world_size == run->groups->world_size) {
    MPI_Comm node = MPI_COMM_NULL;
    int size = 0;
    if (MPI_Comm_split_type(run->groups->world, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) ==
            MPI_SUCCESS &&
        MPI_Comm_size(node, &size) == MPI_SUCCESS) {
      MPI_Comm_free(&node);
      return size;
    }
  }
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  return cores > 0 && cores < run->groups->world_size ? (int)cores : run->groups->world_size;
}

#define LATTICE_ADVICE "use more ranks (ranks_per_group shares a lattice) or smaller sizes"

/* Input error on &group key if @p need bytes per rank do not fit this machine's memory. */
static invrg_err check_memory(const invrg_run *run, double need, const char *group,
                              const char *key, const char *what, const char *advice) {
  const double stated = run->cfg->parallel.memory_per_rank * GiB;
  if (stated > 0) { /* &parallel memory_per_rank: the user's word for every rank */
    if (need <= stated) {
      invrg_log(INVRG_LOG_INFO, "memory: %s needs about %.3g GiB per rank (memory_per_rank = "
                "%.3g)", what, need / GiB, stated / GiB);
      return INVRG_SUCCESS;
    }
    return invrg_config_input_error(run->cfg, group, key,
                                    "%s needs about %.3g GiB per rank, more than &parallel "
                                    "memory_per_rank = %.3g: %s",
                                    what, need / GiB, stated / GiB, advice);
  }
  const double have = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
  const int here = ranks_here(run);
  /* Nodes may differ (memory, ranks placed on them): the fullest decides, on every rank alike. */
  double fill = need * here / (0.9 * have); /* the rest: system, page cache */
  MPI_Allreduce(MPI_IN_PLACE, &fill, 1, MPI_DOUBLE, MPI_MAX, run->groups->world);
  if (fill <= 1) {
    invrg_log(INVRG_LOG_INFO, "memory: %s needs about %.3g GiB per rank", what, need / GiB);
    return INVRG_SUCCESS;
  }
  return invrg_config_input_error(
      run->cfg, group, key,
      "%s needs about %.3g GiB per rank, %.3g GiB for the %d rank%s on this machine, which has "
      "%.3g GiB (90 %% of it usable): %s",
      what, need / GiB, need * here / GiB, here, here == 1 ? "" : "s", have / GiB, advice);
}

/* ------------------------------------------------------------------ disk */

static bool packed_format(const invrg_config *cfg) {
  return cfg->output.configs_format_kind == INVRG_CONFIGS_PACKED;
}

/* Bytes of the saved configurations of stage dream. */
static double dream_configs_bytes(const invrg_config *cfg) {
  const invrg_config_dream *d = &cfg->dream;
  const double per_spin = packed_format(cfg) ? 1.0 / 8 : 1.0;
  const double n = (double)(d->save_max < d->n_samples ? d->save_max : d->n_samples);
  double bytes = 0;
  for (int i = 0; i < d->n_save_levels; i++)
    bytes += n * ldexp(per_spin, 2 * (int)d->save_levels[i]);
  return bytes;
}

/* Bytes of stage mc: configurations if saved, and the series (6 doubles per sample). */
static double mc_bytes(const invrg_config *cfg, double *configs) {
  const invrg_config_mc *mc = &cfg->mc;
  const double per_spin = packed_format(cfg) ? 1.0 / 8 : 1.0;
  const double samples = (double)mc->n_chains * (double)mc->n_samples;
  double bytes = 0;
  *configs = 0;
  for (int i = 0; i < mc->n_L; i++) {
    if (mc->save_configs) *configs += samples * (double)mc->L[i] * (double)mc->L[i] * per_spin;
    bytes += samples * 48 + (double)mc->n_chains * 48;
  }
  return bytes + *configs;
}

double invrg_budget_file_bytes(const invrg_config *cfg) {
  double bytes = 16e6, configs = 0; /* input, models, summaries, MCRG and correlation tables */
  if (invrg_config_has_stage(cfg, INVRG_STAGE_MC)) bytes += mc_bytes(cfg, &configs);
  if (invrg_config_has_stage(cfg, INVRG_STAGE_DREAM)) bytes += dream_configs_bytes(cfg);
  return bytes;
}

/*
 * The run file (and its checkpoint copies, when checkpoints are configured) against the free
 * space of the output's directory. Reported by @p stage only when it writes the most, on
 * &stage key. Nothing when the directory cannot be examined (its own check says why).
 */
static invrg_err check_disk(const invrg_run *run, invrg_stage_kind stage, double mine,
                            const char *key) {
  const invrg_config *cfg = run->cfg;
  char dir[sizeof cfg->run.output];
  struct statvfs fs;
  snprintf(dir, sizeof dir, "%s", cfg->run.output);
  const char *where = dirname(dir); /* may point into dir, or be "." */
  /* Rank 0's view of the output's file system, the same on every rank (-1: unknown). */
  double free_bytes = statvfs(where, &fs) == 0 ? (double)fs.f_bavail * (double)fs.f_frsize : -1;
  MPI_Bcast(&free_bytes, 1, MPI_DOUBLE, 0, run->groups->world);
  if (free_bytes < 0) return INVRG_SUCCESS;
  const invrg_config_checkpoint *ck = &cfg->checkpoint;
  const bool checkpoints =
      ck->interval_minutes > 0 || ck->max_walltime_minutes > 0 || ck->stop_file[0] != '\0';
  const int copies = 1 + (checkpoints ? 1 + ck->keep_previous : 0);
  const double file = invrg_budget_file_bytes(cfg), need = file * copies * 1.05 + 64 * 1048576.0;
  if (need <= free_bytes) return INVRG_SUCCESS;
  const bool has_dream = invrg_config_has_stage(cfg, INVRG_STAGE_DREAM);
  const bool has_mc = invrg_config_has_stage(cfg, INVRG_STAGE_MC);
  double mc_configs = 0;
  const double dream = has_dream ? dream_configs_bytes(cfg) : 0;
  const double mc = has_mc ? mc_bytes(cfg, &mc_configs) : 0;
  const invrg_stage_kind reporter =
      has_dream && (!has_mc || dream >= mc) ? INVRG_STAGE_DREAM : INVRG_STAGE_MC;
  if (stage != reporter) return INVRG_SUCCESS; /* the other stage's to report */
  return invrg_config_input_error(
      cfg, invrg_stage_kind_name(stage), key,
      "the run file needs about %.3g GiB (%.3g GiB of it saved configurations of &%s%s), but "
      "its directory '%s' has %.3g GiB free",
      need / GiB, mine / GiB, invrg_stage_kind_name(stage),
      copies > 1 ? "; checkpoint copies included" : "", where, free_bytes / GiB);
}

/* Input error unless n · L² bytes (a dataset of n configurations) stay below 2^62. */
static invrg_err check_dataset(const invrg_config *cfg, const char *group, const char *key,
                               double n, double L) {
  if (n * L * L < 0x1p62) return INVRG_SUCCESS;
  return invrg_config_input_error(cfg, group, key,
                                  "%.4g configurations of %.0f x %.0f spins exceed what an HDF5 "
                                  "dataset holds (2^62 bytes)", n, L, L);
}

/* Input error unless the MCRG sums of @p samples configurations of N spins stay exact. */
static invrg_err check_mcrg_range(const invrg_config *cfg, const char *group, const char *key,
                                  double samples, double N) {
  int n_ops, terms;
  operator_counts(cfg, &n_ops, &terms);
  const double product = (double)terms * N * (double)terms * N; /* |S_a S_b| at most */
  if (samples * product < 0x1p94) return INVRG_SUCCESS;
  return invrg_config_input_error(cfg, group, key,
                                  "MCRG of %.4g configurations of %.4g spins: the exact sums "
                                  "would exceed 2^94; at most %.4g configurations of this size",
                                  samples, N, floor(0x1p94 / product));
}

/* Input error unless the top level's Swendsen–Wang sweeps index their sites in 32 bits: the top
 * level holds @p sites on a rank (sw.c's union–find). */
static invrg_err check_top_sw(const invrg_config *cfg, double L, double sites, int P,
                              const char *size_key) {
  if (sites <= INVRG_DREAM_TOP_SW_MAX_SITES) return INVRG_SUCCESS;
  double parts = 1; /* powers of two split the level on any grid */
  while (L * L / parts > INVRG_DREAM_TOP_SW_MAX_SITES) parts *= 2;
  return invrg_config_input_error(cfg, "dream", "top_sw_sweeps",
                                  "Swendsen-Wang handles fewer than 2^31 sites per rank; the top "
                                  "level (L = %.0f) puts %.4g on each rank of a group of %d: use "
                                  "%s = %.0f or a larger power of two",
                                  L, sites, P, size_key, parts);
}

/* ------------------------------------------------------------------ stages */

invrg_err invrg_budget_check_dream(const invrg_run *run, bool conv, int kernel) {
  invrg_err err = INVRG_SUCCESS, found = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_config_dream *d = &cfg->dream;
  const invrg_groups *g = run->groups;
  const double L = ldexp(1.0, (int)d->levels), N = L * L;
  const double n_meas = (double)(d->levels - d->measure_from + 1);
  const double B = (double)(cfg->analyze.jackknife_blocks < d->n_samples
                                ? cfg->analyze.jackknife_blocks : d->n_samples);
  const double B_acc = B < 2 ? 2 : B;
  const double rec = n_meas * INVRG_N_PRIMARY;
  /* Lattices: the top level and the ones below, on the rank's share of the group's grid. */
  const bool packed = d->lattice_kind == INVRG_MC_LATTICE_PACKED;
  double per_spin = (packed ? PACKED_LEVELS_PER_SPIN : DREAM_LEVELS_PER_SPIN) +
                    correlation_bytes_per_spin(cfg);
  if (packed && d->compatible_sweeps > 0) per_spin += PACKED_LEVELS_PER_SPIN / 4; /* blocks */
  if (conv && kernel > 3) per_spin += CONV_LOGITS_PER_SPIN;
  /* int8 levels split over the grid when it divides them (else whole on every rank,
   * stage_setup.c); packed ones by rows, when the group size divides L */
  const double P = (double)g->ranks_per_group;
  const bool split = packed ? fmod(L, P) == 0 && L / P >= 2
                            : P == 1 || invrg_groups_can_distribute(g, (int64_t)L, (int64_t)L, 1);
  /* top_sw_sweeps: sw.c's workspace, and a packed level's int8 copy (dream_top_sw.h) */
  const bool int8_split = P > 1 && invrg_groups_can_distribute(g, (int64_t)L, (int64_t)L, 1);
  const double top_sw = !packed ? INVRG_DREAM_TOP_SW_BYTES_INT8
                        : split ? INVRG_DREAM_TOP_SW_BYTES_PACKED
                                : INVRG_DREAM_TOP_SW_BYTES_PACKED - 3.0; /* nothing to gather */
  if (d->top_sw_sweeps > 0) {
    per_spin += top_sw;
    INVRG_CHECK_MORE(found, check_top_sw(cfg, L, N / ((packed ? split : int8_split) ? P : 1.0),
                                         g->ranks_per_group, invrg_groups_size_key(g)));
  }
  double need = N * per_spin / (split ? P : 1.0) + FIXED_BYTES;
  /* Accumulators: MCRG up, down (every level) and blocked pairs, a copy for checkpoints. */
  int n_ops, terms;
  operator_counts(cfg, &n_ops, &terms);
  const double blocked = (double)(cfg->analyze.mcrg_levels < d->levels ? cfg->analyze.mcrg_levels
                                                                       : d->levels);
  need += mcrg_bytes(n_ops, 2.0 * (double)d->levels + blocked, B_acc) * 4.0 / 3.0;
  if (cfg->analyze.correlations)
    for (int64_t l = d->measure_from; l <= d->levels; l++)
      need += corr_size_bytes(cfg, ldexp(1.0, (int)l), B_acc);
  /* The window of samples (world rank 0 holds all of it) and the block means. */
  need += (double)invrg_reducer_window((int)rec) * rec * 8 * 2 + n_meas * B * INVRG_N_PRIMARY * 8;
  char what[64];
  snprintf(what, sizeof what, "levels = %lld", (long long)d->levels);
  INVRG_CHECK_MORE(found, check_memory(run, need, "dream", "levels", what, LATTICE_ADVICE));

  const double n_saved = (double)(d->save_max < d->n_samples ? d->save_max : d->n_samples);
  for (int i = 0; i < d->n_save_levels; i++)
    INVRG_CHECK_MORE(found, check_dataset(cfg, "dream", "save_max", n_saved, ldexp(1.0, (int)d->save_levels[i])));
  INVRG_CHECK_MORE(found, check_mcrg_range(cfg, "dream", "n_samples", (double)d->n_samples, N));
  INVRG_CHECK_MORE(found, check_disk(run, INVRG_STAGE_DREAM, dream_configs_bytes(cfg), "save_max"));
cleanup:
  return err != INVRG_SUCCESS ? err : found;
}

invrg_err invrg_budget_check_mc(const invrg_run *run) {
  invrg_err err = INVRG_SUCCESS, found = INVRG_SUCCESS;
  const invrg_config *cfg = run->cfg;
  const invrg_config_mc *mc = &cfg->mc;
  const invrg_groups *g = run->groups;
  const double chains = (double)mc->n_chains, n = (double)mc->n_samples;
  const double B = (double)mc->blocks_per_chain;
  const double mine = ceil(chains / g->n_groups); /* chains of the busiest group */
  const double per_chain_record = (6.0 * 7 + B * (INVRG_N_PRIMARY + 1)) * 8;
  const bool packed = packed_format(cfg);
  const invrg_mc_algorithm alg = mc->algorithm_kind;
  double alg_per_spin = alg == INVRG_MC_WOLFF ? 5.0 : alg == INVRG_MC_SW ? 13.0 : 0.0;
  /* a packed chain: 1/8 byte per spin, and the int8 → packed copy of a split lattice at a
   * chain's start holds three int8 buffers of the rank's rows (packed.c) */
  if (mc->lattice_kind == INVRG_MC_LATTICE_PACKED)
    alg_per_spin += g->ranks_per_group > 1 ? 0.125 + 3.0 : 0.125 + 0.25;
  int n_ops, terms;
  operator_counts(cfg, &n_ops, &terms);
  double largest = 0, corr = 0, configs = 0;
  int64_t L_max = 0;
  for (int i = 0; i < mc->n_L; i++)
    if (mc->L[i] > L_max) L_max = mc->L[i];
  /* A chain's sweeps number the random streams of its updates (below 2^48); a Wolff chain's
   * clusters do, at most one per flipped spin, so there it is sweeps x N. */
  const double sweeps = (double)mc->n_therm + n * (double)mc->sample_every;
  const double per_sweep = alg == INVRG_MC_WOLFF ? (double)L_max * (double)L_max : 1;
  if (sweeps * per_sweep >= 0x1p48) {
    char which[96] = "";
    if (alg == INVRG_MC_WOLFF)
      snprintf(which, sizeof which, " at L = %lld (2^48 clusters, one per flipped spin at most)",
               (long long)L_max);
    found = invrg_config_input_error(
        cfg, "mc", (double)mc->n_therm > n * (double)mc->sample_every ? "n_therm" : "sample_every",
        "a chain of %.4g sweeps (n_therm + n_samples x sample_every) overruns the random-number "
        "counter: at most %.4g sweeps%s",
        sweeps, floor((0x1p48 - 1) / per_sweep), which);
  }
  for (int i = 0; i < mc->n_L; i++) {
    const double L = (double)mc->L[i], spins = L * L / (double)g->ranks_per_group;
    if (alg == INVRG_MC_WOLFF && mc->L[i] > 65536) {
      found = invrg_config_input_error(cfg, "mc", "L",
                                       "'wolff' runs a chain on one rank, up to L = 65536 (L = "
                                       "%lld); use algorithm = 'sw' on several ranks per group",
                                       (long long)mc->L[i]);
      continue;
    }
    if (alg == INVRG_MC_SW && spins >= 0x1p31) {
      found = invrg_config_input_error(cfg, "mc", "L",
                                       "'sw' handles fewer than 2^31 sites per rank: L = %lld "
                                       "needs %s >= %.0f",
                                       (long long)mc->L[i], invrg_groups_size_key(g),
                                       floor(L * L / 0x1p31) + 1);
      continue;
    }
    double per_spin = 1.0 + alg_per_spin +
                      correlation_bytes_per_spin(cfg) +
                      (cfg->analyze.mcrg_on_mc ? DREAM_LEVELS_PER_SPIN : 0);
    /* a chain's samples wait in a buffer until the chain ends */
    if (mc->save_configs) per_spin += n * (packed ? 1.0 / 8 : 1.0);
    if (spins * per_spin > largest) largest = spins * per_spin;
    if (cfg->analyze.correlations) corr += corr_size_bytes(cfg, L, chains * B);
    INVRG_CHECK_MORE(found, check_dataset(cfg, "mc", "n_samples", chains * n, L));
    if (cfg->analyze.mcrg_on_mc)
      INVRG_CHECK_MORE(found, check_mcrg_range(cfg, "mc", "n_samples", chains * n, L * L));
  }
  /* The running chain's series; per-chain tables: records of the group's chains, all records
   * on world rank 0, every size's block means for the finite-size scaling; correlation blocks
   * per chain (the jackknife of mc is over chains x blocks_per_chain blocks). */
  double need = largest + FIXED_BYTES + n * 6 * 8 + mine * per_chain_record +
                chains * per_chain_record +
                (double)mc->n_L * chains * B * (INVRG_N_PRIMARY + 1) * 8 + corr;
  if (cfg->analyze.mcrg_on_mc)
    need += mcrg_bytes(n_ops, (double)cfg->analyze.mcrg_levels,
                       (double)cfg->analyze.jackknife_blocks) * 4.0 / 3.0;
  char what[64];
  snprintf(what, sizeof what, "&mc with L = %lld", (long long)L_max);
  INVRG_CHECK_MORE(found, check_memory(run, need, "mc", "L", what, LATTICE_ADVICE));
  mc_bytes(cfg, &configs);
  INVRG_CHECK_MORE(found, check_disk(run, INVRG_STAGE_MC, configs,
                                     mc->save_configs ? "save_configs" : "n_samples"));
cleanup:
  return err != INVRG_SUCCESS ? err : found;
}

/* Parameters of the model &train fits: sym3/5/7 3, 6, 10; conv 2·C·k² + C + 1. */
static double train_params(const invrg_config_train *t) {
  return invrg_model_param_count(t->model_kind, (int)t->conv_kernel, (int)t->conv_channels);
}

invrg_err invrg_budget_check_train(const invrg_run *run, int64_t n_configs, int64_t L) {
  const invrg_config_train *t = &run->cfg->train;
  const double R = (double)t->n_replicas, E = (double)t->epochs, np = train_params(t);
  const double data = (double)n_configs * (double)L * (double)L * (1.0 + 1.0 / 8);
  /* [replica][params | train loss | val loss | rate], all of them on every rank and this
   * rank's own; their Adam moments; the write-out's copies of parameters and curves. */
  const double record = (np + 2 * E + 1) * 8;
  const double mine = ceil(R / run->groups->n_groups);
  const double table = R * record + mine * (record + 2 * np * 8) + R * (np + 2 * E) * 8;
  char what[96];
  snprintf(what, sizeof what, "training on %lld configurations of %lld^2 with %lld replicas",
           (long long)n_configs, (long long)L, (long long)t->n_replicas);
  /* the key to change: the data, or the replicas' records, whose loss curves (2 per epoch)
   * may outweigh the parameters */
  const bool curves = 2 * E > np + 1;
  return check_memory(run, data + table + FIXED_BYTES, "train",
                      table <= data ? "data" : curves ? "epochs" : "n_replicas", what,
                      table <= data ? "use fewer training configurations"
                      : curves      ? "use fewer epochs or replicas (each keeps its loss curves)"
                                    : "use fewer replicas");
}
