/**
 * @file config.h
 * The effective configuration of a run: one struct, filled from the key table
 * in src/core/config.c (defaults first, then the input file).
 *
 * To add a key: add a field here and one row to the table of its group.
 * Everything else (parsing, checks, --print-default-input, log echo, HDF5
 * /config, docs/input.md) follows from the row.
 *
 * A key with a fixed set of values (a choice) is held twice: as the string the
 * input gave (canonical spelling; the log echo and /config show it) and as an
 * enum (field <key>_kind), filled by the parser from the row's table of names.
 * Code compares the enums, never the strings.
 */
#ifndef INVRG_CONFIG_H
#define INVRG_CONFIG_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "invrg/choices.h"
#include "invrg/error.h"
#include "invrg/log.h"
#include "invrg/namelist.h"

#define INVRG_MAX_STAGES 4
#define INVRG_NAME_LEN 16
#define INVRG_PATH_LEN 1024
/**
 * The level limit: lattice sides up to 2^INVRG_MAX_LEVELS. It bounds the upsampling steps of
 * a dream (&dream levels, measure_from, save_levels), the blockings of MCRG (&analyze
 * mcrg_levels) and &mc L; arrays over the levels of a dream have INVRG_MAX_LEVELS + 1 entries.
 */
#define INVRG_MAX_LEVELS 20
#define INVRG_TITLE_LEN 256

/* The choices only the stages take (the others are in choices.h). Their values are the
 * positions of their names in the key table (src/core/config.c). */

/** &run stages. */
typedef enum {
  INVRG_STAGE_MC,
  INVRG_STAGE_TRAIN,
  INVRG_STAGE_DREAM,
  INVRG_STAGE_ANALYZE
} invrg_stage_kind;
/** &output configs_format. */
typedef enum { INVRG_CONFIGS_INT8, INVRG_CONFIGS_PACKED } invrg_configs_format;
/** &mc algorithm. */
typedef enum {
  INVRG_MC_WOLFF,
  INVRG_MC_SW,
  INVRG_MC_METROPOLIS,
  INVRG_MC_HEATBATH
} invrg_mc_algorithm;
/** &dream refine_algorithm: the sweeps that refine dreamed levels. */
typedef enum { INVRG_REFINE_HEATBATH, INVRG_REFINE_METROPOLIS } invrg_refine_algorithm;
/** &dream refine_top_algorithm: the top level's refining sweeps ('' = refine_algorithm). */
typedef enum {
  INVRG_REFINE_TOP_SAME,
  INVRG_REFINE_TOP_HEATBATH,
  INVRG_REFINE_TOP_METROPOLIS
} invrg_refine_top_algorithm;

/** &dream random_bits: one 32-bit word per fine spin, or bit planes (dream_packed.h). */
typedef enum { INVRG_RANDOM_BITS_WORDS, INVRG_RANDOM_BITS_PLANES } invrg_random_bits;

/** &mc lattice (what metropolis and heatbath sweep) and &dream lattice (how levels are held). */
typedef enum { INVRG_MC_LATTICE_INT8, INVRG_MC_LATTICE_PACKED } invrg_mc_lattice;
/** &train optimizer: AUTO ('') is newton for the sym models, adamw for conv. */
typedef enum {
  INVRG_OPTIMIZER_AUTO,
  INVRG_OPTIMIZER_NEWTON,
  INVRG_OPTIMIZER_ADAMW,
  INVRG_OPTIMIZER_ADAM,
  INVRG_OPTIMIZER_SGD
} invrg_optimizer_choice;
/** &train ties: AUTO ('') is expectation for newton, coin for the stochastic optimizers. */
typedef enum { INVRG_TIES_AUTO, INVRG_TIES_EXPECTATION, INVRG_TIES_COIN } invrg_ties_choice;
/** &dream model: NONE ('') or a sym model given by its parameters. */
typedef enum {
  INVRG_DREAM_MODEL_NONE,
  INVRG_DREAM_MODEL_SYM3,
  INVRG_DREAM_MODEL_SYM5,
  INVRG_DREAM_MODEL_SYM7
} invrg_dream_model_choice;
/** &dream small_kernel_start. */
typedef enum { INVRG_SMALL_KERNEL_NONE, INVRG_SMALL_KERNEL_PAPER } invrg_small_kernel_start;
/** &analyze sources and fss_sources: the ensembles of stage mc or of stage dream. */
typedef enum { INVRG_SOURCE_DREAM, INVRG_SOURCE_MC } invrg_source;

/** "mc", "train", "dream", "analyze": the name of a stage. */
const char *invrg_stage_kind_name(invrg_stage_kind stage);

/** "mc" or "dream": the name of a source, and of its groups in the run file. */
const char *invrg_source_name(invrg_source source);

/** &run: what to do and where to write it. */
typedef struct {
  char stages[INVRG_MAX_STAGES][INVRG_NAME_LEN]; /**< subset of mc, train, dream, analyze, in order */
  invrg_stage_kind stages_kind[INVRG_MAX_STAGES];
  int n_stages;
  int64_t seed;                                  /**< key of every random stream */
  char output[INVRG_PATH_LEN];                   /**< the HDF5 run file */
  char title[INVRG_TITLE_LEN];
  char log_level[INVRG_NAME_LEN];
  invrg_log_level log_level_kind;
  char log_file[INVRG_PATH_LEN];                 /**< copy of the log; '' = <output>.log, 'none' */
} invrg_config_run;

/** &output: how the run file is written. */
typedef struct {
  bool overwrite;                                /**< replace an existing output file */
  char configs_format[INVRG_NAME_LEN];           /**< int8 | packed */
  invrg_configs_format configs_format_kind;
  int64_t alignment;                             /**< bytes; 0 = HDF5's packing */
  int64_t chunk_bytes;                           /**< configurations' chunks; 0 = contiguous */
  bool collective_writes;                        /**< a lattice of all ranks: one MPI-IO write */
  char mpi_io_hints[16][128];                    /**< "key=value" for MPI-IO */
  int n_mpi_io_hints;
} invrg_config_output;

/** The groups of one stage: &parallel <stage>_ranks_per_group and <stage>_grid. */
typedef struct {
  int64_t ranks_per_group;                       /**< 0 = as &parallel ranks_per_group */
  int64_t grid[2];                               /**< px, py; 0,0 = see stage_layout.h */
} invrg_config_stage_layout;

/** &parallel: how the ranks are organised (see parallel/groups.h, stages/stage_layout.h). */
typedef struct {
  int64_t ranks_per_group;                       /**< ranks that share one lattice; 0 = automatic */
  int64_t grid[2];                               /**< px, py of a group; 0,0 = automatic */
  invrg_config_stage_layout stage[INVRG_MAX_STAGES]; /**< by invrg_stage_kind */
  double memory_per_rank;                        /**< GiB a rank may use; 0 = its node's share */
} invrg_config_parallel;

/** &mc: Monte Carlo ensembles of the critical Ising model. */
typedef struct {
  int64_t L[16];                                 /**< lattice sides (periodic L × L), one run each */
  int n_L;
  double beta;                                   /**< coupling K = βJ */
  char algorithm[INVRG_NAME_LEN];                /**< wolff | sw | metropolis | heatbath */
  invrg_mc_algorithm algorithm_kind;
  char lattice[INVRG_NAME_LEN];                  /**< int8 | packed (metropolis, heatbath) */
  invrg_mc_lattice lattice_kind;
  char generator[INVRG_NAME_LEN];                /**< philox | ars (packed lattices) */
  int generator_kind;                            /**< an invrg_rng_generator */
  int64_t n_chains;                              /**< independent chains (items) */
  int64_t n_therm;                               /**< thermalisation sweeps per chain */
  int64_t n_samples;                             /**< measured samples per chain */
  int64_t sample_every;                          /**< sweeps between samples */
  int64_t blocks_per_chain;                      /**< jackknife blocks per chain */
  bool save_configs;                             /**< write the sampled configurations */
} invrg_config_mc;

/** &train: fitting inverse-RG models to Monte Carlo data. */
typedef struct {
  char model[INVRG_NAME_LEN];                    /**< sym3 | sym5 | sym7 | conv */
  invrg_model_kind model_kind;
  int64_t conv_channels, conv_kernel;
  char data[INVRG_PATH_LEN];                     /**< '' = this run's /mc/L<L>/configs */
  int64_t data_L;                                /**< which /mc/L<L> (0 = the only one / &mc L) */
  char loss[INVRG_NAME_LEN];                     /**< bce | weighted */
  invrg_loss_kind loss_kind;
  char optimizer[INVRG_NAME_LEN];                /**< '' | newton | adamw | adam | sgd */
  invrg_optimizer_choice optimizer_kind;
  char ties[INVRG_NAME_LEN];                     /**< '' | expectation | coin (newton) */
  invrg_ties_choice ties_kind;
  double lr, weight_decay;
  char schedule[INVRG_NAME_LEN];                 /**< onecycle | constant */
  invrg_schedule_kind schedule_kind;
  int64_t epochs, batch;
  double validation_fraction;
  char select[INVRG_NAME_LEN];                   /**< auto | mean | best */
  invrg_train_select select_kind;
  int64_t n_replicas;
} invrg_config_train;

/** &dream: generation from one spin up to 2^levels. */
typedef struct {
  char model_file[INVRG_PATH_LEN];               /**< '' = this run's trained model or &dream model */
  char model[INVRG_NAME_LEN];                    /**< '' or a sym kind given with params */
  invrg_dream_model_choice model_kind;
  double params[10];
  int n_params;
  int64_t levels, n_samples, measure_from;
  char start[INVRG_NAME_LEN];                    /**< alternate | random | up | mc */
  invrg_dream_start start_kind;
  int64_t start_L;                               /**< start = 'mc': side of the seeds */
  char start_file[INVRG_PATH_LEN];               /**< start = 'mc': '' = this run's /mc */
  char lattice[INVRG_NAME_LEN];                  /**< int8 | packed: how the levels are held */
  invrg_mc_lattice lattice_kind;
  char random_bits[INVRG_NAME_LEN];              /**< words | planes (packed; sym3, tables) */
  invrg_random_bits random_bits_kind;
  int64_t refine_sweeps, refine_from;            /**< refined dreams: sweeps per level, from */
  int64_t compatible_sweeps;                     /**< compatible sweeps per level (first) */
  char refine_algorithm[INVRG_NAME_LEN];         /**< heatbath | metropolis */
  invrg_refine_algorithm refine_algorithm_kind;
  int64_t refine_top_sweeps;                     /**< sweeps of the top level (-1: refine_sweeps) */
  char refine_top_algorithm[INVRG_NAME_LEN];     /**< '' (refine_algorithm) | heatbath | metropolis */
  invrg_refine_top_algorithm refine_top_algorithm_kind;
  char refine_generator[INVRG_NAME_LEN];         /**< philox | ars: the refining sweeps' numbers */
  int refine_generator_kind;                     /**< an invrg_rng_generator */
  double refine_beta;                            /**< K of the refining sweeps */
  int64_t top_sw_sweeps;                         /**< Swendsen–Wang sweeps of the top level */
  int64_t save_levels[32];
  int n_save_levels;
  int64_t save_max;
  char small_kernel_start[INVRG_NAME_LEN];       /**< none | paper */
  invrg_small_kernel_start small_kernel_start_kind;
  double small_kernel_params[3];                 /**< sym3 a, b, c for the first steps ('paper') */
  int n_small_kernel_params;
  char small_kernel_model_file[INVRG_PATH_LEN];  /**< or a sym3 / conv k=3 model file */
} invrg_config_dream;

/** &analyze: observables, MCRG, correlations, FSS of the ensembles (stages mc, dream, analyze). */
typedef struct {
  char data[INVRG_PATH_LEN];                     /**< stage analyze: '' = this run's file, or a file */
  char sources[2][INVRG_NAME_LEN];               /**< stage analyze: mc and/or dream configurations */
  invrg_source sources_kind[2];
  int n_sources;
  char operators[2][INVRG_NAME_LEN];             /**< swendsen and/or paper36 */
  int n_operators;
  int64_t mcrg_levels;
  char tie_rule[INVRG_NAME_LEN];                 /**< random | up | upper_left */
  invrg_tie_rule tie_rule_kind;
  int64_t jackknife_blocks;
  bool mcrg_on_mc;
  bool correlations;                             /**< S(0), S(k_min), ξ₂ of mc and dream ensembles */
  bool correlation_functions;                    /**< also G(r), S(k) by FFT */
  char correlation_precision[INVRG_NAME_LEN];    /**< of that FFT: double | single */
  invrg_corr_precision correlation_precision_kind;
  int64_t fss_Lmin, fss_Lmax;                    /**< fit range (0 = no bound) */
  char fss_sources[2][INVRG_NAME_LEN];           /**< sources whose sizes are fitted */
  invrg_source fss_sources_kind[2];
  int n_fss_sources;
} invrg_config_analyze;

/** &checkpoint: when to save the state of a run so that it can continue later. */
typedef struct {
  double interval_minutes;                       /**< periodic checkpoints (0 = none) */
  double max_walltime_minutes;                   /**< checkpoint and stop after this (0 = no limit) */
  char stop_file[INVRG_PATH_LEN];                /**< checkpoint and stop when it appears ('' = none) */
  bool keep_previous;                            /**< keep the last checkpoint as <output>.ckpt.prev */
} invrg_config_checkpoint;

typedef struct {
  invrg_config_run run;
  invrg_config_output output;
  invrg_config_checkpoint checkpoint;
  invrg_config_parallel parallel;
  invrg_config_mc mc;
  invrg_config_train train;
  invrg_config_dream dream;
  invrg_config_analyze analyze;
  /** The input file as read (NUL-terminated, heap, rank 0 and after broadcast all ranks). */
  char *input_text;
  char input_path[INVRG_PATH_LEN];
  /** The command-line overrides applied after the file ("group.key=values" of each --set, in
   * order; not owned: the caller's, e.g. argv, alive as long as the configuration). */
  const char *const *overrides;
  int n_overrides;
  /** Where each key was set ([flat key index]: line 0 = default, line -k = override k). */
  invrg_nl_pos *key_pos;
  invrg_nl_pos *group_pos;
  /** Keys whose value the input gave but the reader refused ([flat key index]; each keeps its
   * earlier value, the default), and how many errors said so: held back by
   * invrg_config_load_for_checks() for the checks between keys. */
  bool *key_refused;
  int n_key_errors;
} invrg_config;

/** The schema of invrg's input (all groups and keys). */
const invrg_nl_schema *invrg_config_schema(void);

/** Fills @p cfg with every default. Not collective. */
void invrg_config_defaults(invrg_config *cfg);

/**
 * Reads and checks @p path on rank 0 of @p comm, prints all errors there, and
 * broadcasts the configuration. Every rank returns the same code:
 * INVRG_ERR_INPUT for a bad file, INVRG_ERR_RUNTIME if it cannot be read.
 * Collective on @p comm. Free with invrg_config_free().
 */
invrg_err invrg_config_load(const char *path, MPI_Comm comm, invrg_config *cfg);

/**
 * invrg_config_load(), then the command-line overrides @p overrides[0 .. n) ("group.key=values",
 * the text of each --set, invrg_nl_apply_overrides()), checked like the file; the errors of
 * both are printed together, each override's naming it ("command line: --set #2 'mc.L=abc':
 * error: …"). Every rank must pass the same overrides, which the configuration keeps (not a
 * copy). Collective on @p comm.
 */
invrg_err invrg_config_load_with_overrides(const char *path, const char *const *overrides, int n,
                                           MPI_Comm comm, invrg_config *cfg);

/**
 * invrg_config_load_with_overrides() for a run, whose checks between keys
 * (invrg_config_check_around_refused()) report the errors of the file and their own at once:
 * when every error of the file and the overrides refuses the value of a known key (out of its
 * range, malformed, given twice), the errors wait (cfg->n_key_errors) and every rank returns
 * INVRG_SUCCESS with those keys at their earlier values and marked in cfg->key_refused. Other
 * errors (syntax, unknown groups or keys) are printed and fail as there: what a misspelt key
 * meant is unknown, so no check between keys could be trusted. Collective on @p comm.
 */
invrg_err invrg_config_load_for_checks(const char *path, const char *const *overrides, int n,
                                       MPI_Comm comm, invrg_config *cfg);

/** What the checks between keys are: one call sees one configuration. Collective. */
typedef invrg_err (*invrg_config_check_fn)(const invrg_config *cfg, void *arg);

/**
 * Runs @p check on @p cfg with diagnostics collected (invrg_config_collect_diagnostics()).
 * When the input refused some keys' values (invrg_config_load_for_checks()), what the checks
 * find between keys must not depend on values the user did not give: @p check runs again on
 * versions of @p cfg in which the refused keys take other valid values (their range's ends,
 * other choices, the other logical), and only the errors and warnings every version reports,
 * at a key that is not refused, are kept, after the refused keys' own errors. Returns
 * INVRG_ERR_INPUT if any error is kept or held, else what @p check returned. Collective.
 */
invrg_err invrg_config_check_around_refused(const invrg_config *cfg, invrg_config_check_fn check,
                                            void *arg);

/**
 * Writes the effective configuration as a namelist (invrg_nl_write(), no descriptions), each
 * key an override set marked with a comment naming it. Not collective.
 */
void invrg_config_write_effective(const invrg_config *cfg, FILE *out);

/**
 * Reports an input error about @p key of @p group that can only be detected at
 * run time (e.g. it depends on the number of ranks), GCC-style with the
 * position where the key was set, on world rank 0. Not collective; returns
 * INVRG_ERR_INPUT (also recorded with invrg_error_set) so callers can
 * `err = invrg_config_input_error(...); goto cleanup;` on every rank alike.
 */
invrg_err invrg_config_input_error(const invrg_config *cfg, const char *group, const char *key,
                                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/**
 * With @p on, input errors and warnings wait instead of being printed; turning it
 * off prints those waiting in the order of the input file (line, column), so that
 * checks made in any order read like a compiler's report. Not collective.
 */
void invrg_config_collect_diagnostics(bool on);

/** Where the collected diagnostics stand (invrg_config_diagnostics_save()). */
typedef struct {
  int n_pending, n_errors, n_hashes;
} invrg_config_diagnostics_mark;

/**
 * While diagnostics are collected: the mark to return to, for a trial check whose
 * findings must not be reported (an automatic choice trying candidates). Not collective.
 */
invrg_config_diagnostics_mark invrg_config_diagnostics_save(void);

/** A hash of the texts of the errors and warnings collected since @p mark (on world rank 0:
 * the others collect none). Not collective. */
uint64_t invrg_config_diagnostics_digest(invrg_config_diagnostics_mark since);

/** Forgets the errors and warnings collected since @p mark. Not collective. */
void invrg_config_diagnostics_restore(invrg_config_diagnostics_mark mark);

/** How many input errors invrg_config_input_error() has printed (on world rank 0; 0 elsewhere). */
int invrg_config_input_errors(void);

/**
 * Prints a warning about @p key of @p group at the position where the input set
 * it ("file:line:col: warning: ..."), on world rank 0. Not collective.
 */
void invrg_config_input_warning(const invrg_config *cfg, const char *group, const char *key,
                                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/**
 * Warns about every key the input sets in a group that no stage of this run
 * reads (e.g. &mc keys in a dream-only run); returns how many. Not collective.
 */
int invrg_config_warn_unused(const invrg_config *cfg);

/**
 * Whether a stage of this run reads the keys of group @p group: &mc only stage mc, &train only
 * train, &dream only dream, &analyze stages mc, dream and analyze; the other groups every run.
 */
bool invrg_config_group_is_read(const invrg_config *cfg, const char *group);

/** Frees what the configuration owns. */
void invrg_config_free(invrg_config *cfg);

/** The jackknife blocks of @p n_samples samples: &analyze jackknife_blocks, or n_samples if
 * fewer (a block holds one sample at least). Not collective. */
int invrg_config_jackknife_blocks(const invrg_config *cfg, int64_t n_samples);

/** True if @p stage is among the configured stages. Not collective. */
bool invrg_config_has_stage(const invrg_config *cfg, invrg_stage_kind stage);

/** The log file of a run in @p buf: &run log_file, or <output>.log; false if 'none'. */
bool invrg_config_log_path(const invrg_config *cfg, char *buf, size_t size);

/** True if the input file set @p key of @p group (false: it has its default). Not collective. */
bool invrg_config_key_given(const invrg_config *cfg, const char *group, const char *key);

#endif
