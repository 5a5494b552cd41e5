/* invrg's input: the key table of every group, and loading it on rank 0 then broadcasting. */
#include "invrg/config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "invrg/log.h"
#include "invrg/rng.h"
#include "invrg/text.h"
#include "core/config_internal.h"

/* ------------------------------------------------------------------ validators */

/* The names of each choice, indexed by its enum: the parser stores a value's position in the
 * table as the enum (INDEX below), and the designated initializers put every name at its
 * enum, so that table and enum cannot drift apart. */
static const char *const stage_names[] = {[INVRG_STAGE_MC] = "mc", [INVRG_STAGE_TRAIN] = "train",
                                          [INVRG_STAGE_DREAM] = "dream",
                                          [INVRG_STAGE_ANALYZE] = "analyze",
                                          [INVRG_STAGE_ANALYZE + 1] = NULL};

const char *invrg_stage_kind_name(invrg_stage_kind stage) {
  return (unsigned)stage <= INVRG_STAGE_ANALYZE ? stage_names[stage] : "unknown";
}

/* Stages must appear at most once and in pipeline order (mc → train → dream → analyze). */
static const char *validate_stages(const void *value, int count, char *buf, size_t buflen) {
  int last = -1;
  for (int i = 0; i < count; i++) {
    const char *name = (const char *)value + (size_t)i * INVRG_NAME_LEN;
    int order = 0;
    while (stage_names[order] != NULL && strcmp(stage_names[order], name) != 0) order++;
    if (order == last) {
      snprintf(buf, buflen, "stage '%s' is listed twice", name);
      return buf;
    }
    if (order < last) {
      snprintf(buf, buflen, "stage '%s' must come before '%s' (order: mc, train, dream, analyze)",
               name, stage_names[last]);
      return buf;
    }
    last = order;
  }
  return NULL;
}

static const char *validate_nonempty(const void *value, int count, char *buf, size_t buflen) {
  (void)buf, (void)buflen;
  return count == 1 && ((const char *)value)[0] == '\0' ? "must not be empty" : NULL;
}

static const char *validate_even(const void *value, int count, char *buf, size_t buflen) {
  for (int i = 0; i < count; i++) {
    int64_t v;
    memcpy(&v, (const char *)value + (size_t)i * sizeof v, sizeof v);
    if (v % 2 != 0) {
      snprintf(buf, buflen, "must be even (got %lld; try %lld)", (long long)v, (long long)v + 1);
      return buf;
    }
  }
  return NULL;
}

static const char *validate_positive(const void *value, int count, char *buf, size_t buflen) {
  (void)count;
  double v;
  memcpy(&v, value, sizeof v);
  if (v > 0) return NULL;
  snprintf(buf, buflen, "must be positive (got %g)", v);
  return buf;
}

/* ------------------------------------------------------------------ the table */

#define SCALAR .min_count = 1, .max_count = 1, .count_offset = INVRG_NL_NO_COUNT
#define AT(field) .offset = offsetof(invrg_config, field)
#define ANY_NUMBER .min = -INFINITY, .max = INFINITY
/* A choice also stored as its enum, in field <key>_kind: the parser writes an int there. */
#define INDEX(field) .has_index = true, .index_offset = offsetof(invrg_config, field)
_Static_assert(sizeof(invrg_stage_kind) == sizeof(int) && sizeof(invrg_log_level) == sizeof(int) &&
                   sizeof(invrg_model_kind) == sizeof(int) && sizeof(invrg_source) == sizeof(int),
               "the parser stores the position of a choice as an int");

static const char *const log_level_names[] = {[INVRG_LOG_ERROR] = "error",
                                              [INVRG_LOG_WARN] = "warn",
                                              [INVRG_LOG_INFO] = "info",
                                              [INVRG_LOG_DEBUG] = "debug",
                                              [INVRG_LOG_DEBUG + 1] = NULL};

static const invrg_nl_key run_keys[] = {
    {.name = "stages", .type = INVRG_NL_STRING, .min_count = 0, .max_count = INVRG_MAX_STAGES,
     AT(run.stages), .count_offset = offsetof(invrg_config, run.n_stages),
     .string_size = INVRG_NAME_LEN, .default_text = "", /* grows as stages are implemented */
     .choices = stage_names, INDEX(run.stages_kind), .validate = validate_stages,
     .description = "stages to run, in pipeline order; an empty list only checks the input and "
                    "writes the run file"},
    {.name = "seed", .type = INVRG_NL_INT, SCALAR, AT(run.seed), .default_text = "1", .min = 0,
     .max = INFINITY, .description = "seed of every random stream (same seed, same results on "
                                     "any number of ranks)"},
    {.name = "output", .type = INVRG_NL_STRING, SCALAR, AT(run.output),
     .string_size = INVRG_PATH_LEN, .default_text = "'invrg_out.h5'", .validate = validate_nonempty,
     .allowed = "not empty",
     .description = "path of the HDF5 run file"},
    {.name = "title", .type = INVRG_NL_STRING, SCALAR, AT(run.title),
     .string_size = INVRG_TITLE_LEN, .default_text = "''",
     .description = "free text stored with the results"},
    {.name = "log_level", .type = INVRG_NL_STRING, SCALAR, AT(run.log_level),
     .string_size = INVRG_NAME_LEN, .default_text = "'info'", .choices = log_level_names,
     INDEX(run.log_level_kind),
     .description = "how much the log says: error, warn, info or debug"},
    {.name = "log_file", .type = INVRG_NL_STRING, SCALAR, AT(run.log_file),
     .string_size = INVRG_PATH_LEN, .default_text = "''",
     .description = "file that receives a copy of the log ('' = <output>.log; 'none' = no "
                    "file); runs append to it (a new run replaces <output>.log only with &output "
                    "overwrite)"},
};

static const char *const configs_formats[] = {[INVRG_CONFIGS_INT8] = "int8",
                                              [INVRG_CONFIGS_PACKED] = "packed",
                                              [INVRG_CONFIGS_PACKED + 1] = NULL};

/* Chunks of configurations: 0 (none) or at least 64 KiB (parallel HDF5 allocates every chunk
 * when it creates a dataset: a row per chunk would make millions of them). */
static const char *validate_chunk_bytes(const void *value, int count, char *buf, size_t buflen) {
  (void)count;
  int64_t v;
  memcpy(&v, value, sizeof v);
  if (v == 0 || v >= 65536) return NULL;
  snprintf(buf, buflen, "must be 0 (contiguous) or at least 65536 (got %lld)", (long long)v);
  return buf;
}

/* MPI-IO hints (MPI standard, ROMIO, OMPIO) whose value is a count or a size in bytes: a
 * positive integer. Open MPI divides by cb_nodes = 0 (a crash in MPI_File_open). */
static const char *const integer_hints[] = {
    "cb_nodes",           "cb_buffer_size",     "cb_block_size",    "striping_factor",
    "striping_unit",      "ind_rd_buffer_size", "ind_wr_buffer_size", "num_io_nodes",
    "nb_proc",            "romio_lustre_co_ratio", NULL};
/* ROMIO's switches: enable, disable or automatic. */
static const char *const switch_hints[] = {"romio_cb_read", "romio_cb_write", "romio_ds_read",
                                           "romio_ds_write", NULL};

static bool hint_in(const char *const *names, const char *key, size_t key_len) {
  for (int k = 0; names[k] != NULL; k++)
    if (strlen(names[k]) == key_len && strncmp(names[k], key, key_len) == 0) return true;
  return false;
}

/* Every MPI-IO hint is "key=value" with a key; the hints known to take a number or a switch
 * have one. */
static const char *validate_hints(const void *value, int count, char *buf, size_t buflen) {
  for (int i = 0; i < count; i++) {
    const char *hint = (const char *)value + 128 * (size_t)i; /* char [16][128] */
    const char *eq = strchr(hint, '=');
    if (eq == NULL || eq == hint || eq[1] == '\0') {
      snprintf(buf, buflen, "hint %d '%s' is not 'key=value'", i + 1, hint);
      return buf;
    }
    const size_t key_len = (size_t)(eq - hint);
    const char *v = eq + 1;
    if (hint_in(integer_hints, hint, key_len)) {
      char *end = NULL;
      errno = 0;
      const long long n = strtoll(v, &end, 10);
      if (*v < '0' || *v > '9' || *end != '\0' || errno != 0 || n < 1 || n > INT_MAX) {
        snprintf(buf, buflen, "hint %d '%s': %.*s takes a whole number from 1 to %d", i + 1,
                 hint, (int)key_len, hint, INT_MAX);
        return buf;
      }
    }
    if (hint_in(switch_hints, hint, key_len) && strcmp(v, "enable") != 0 &&
        strcmp(v, "disable") != 0 && strcmp(v, "automatic") != 0) {
      snprintf(buf, buflen, "hint %d '%s': %.*s takes enable, disable or automatic", i + 1, hint,
               (int)key_len, hint);
      return buf;
    }
    if (eq - hint >= MPI_MAX_INFO_KEY || strlen(eq + 1) >= MPI_MAX_INFO_VAL) {
      snprintf(buf, buflen, "hint %d '%s': MPI takes keys of up to %d characters and values "
               "of up to %d", i + 1, hint, MPI_MAX_INFO_KEY - 1, MPI_MAX_INFO_VAL - 1);
      return buf;
    }
  }
  return NULL;
}

static const invrg_nl_key output_keys[] = {
    {.name = "overwrite", .type = INVRG_NL_BOOL, SCALAR, AT(output.overwrite),
     .default_text = ".false.", .description = "replace an existing output file"},
    {.name = "configs_format", .type = INVRG_NL_STRING, SCALAR, AT(output.configs_format),
     .string_size = INVRG_NAME_LEN, .default_text = "'int8'", .choices = configs_formats,
     INDEX(output.configs_format_kind),
     .description = "saved configurations: 'int8' (one byte per spin, ±1) or 'packed' (8 spins "
                    "per byte, bit 1 = +1, most significant bit first)"},
    {.name = "alignment", .type = INVRG_NL_INT, SCALAR, AT(output.alignment),
     .default_text = "0", .min = 0, .max = 1073741824,
     .description = "bytes: datasets of 64 KiB and more start at a multiple of it (a parallel "
                    "file system's stripe size, e.g. 1048576); 0 = HDF5's packing"},
    {.name = "chunk_bytes", .type = INVRG_NL_INT, SCALAR, AT(output.chunk_bytes),
     .default_text = "0", .min = 0, .max = 1073741824, .validate = validate_chunk_bytes,
     .allowed = "0, or between 65536 and 1073741824",
     .description = "saved configurations stored in chunks of whole rows of one configuration, "
                    "about this many bytes each (at least 65536, e.g. the stripe size); 0 = "
                    "contiguous"},
    {.name = "collective_writes", .type = INVRG_NL_BOOL, SCALAR, AT(output.collective_writes),
     .default_text = ".false.",
     .description = "configurations of a lattice that all ranks share (one group) written by "
                    "one collective MPI-IO write instead of each rank's own (independent) writes"},
    {.name = "mpi_io_hints", .type = INVRG_NL_STRING, .min_count = 0, .max_count = 16,
     AT(output.mpi_io_hints), .count_offset = offsetof(invrg_config, output.n_mpi_io_hints),
     .string_size = 128, .default_text = "", .validate = validate_hints,
     .description = "MPI-IO hints 'key=value' for the run file, e.g. 'striping_factor=16', "
                    "'striping_unit=1048576', 'romio_cb_write=enable'"},
};

static const char *const mc_algorithms[] = {[INVRG_MC_WOLFF] = "wolff", [INVRG_MC_SW] = "sw",
                                            [INVRG_MC_METROPOLIS] = "metropolis",
                                            [INVRG_MC_HEATBATH] = "heatbath",
                                            [INVRG_MC_HEATBATH + 1] = NULL};
static const char *const refine_algorithms[] = {[INVRG_REFINE_HEATBATH] = "heatbath",
                                                [INVRG_REFINE_METROPOLIS] = "metropolis",
                                                [INVRG_REFINE_METROPOLIS + 1] = NULL};
static const char *const refine_top_algorithms[] = {
    [INVRG_REFINE_TOP_SAME] = "", [INVRG_REFINE_TOP_HEATBATH] = "heatbath",
    [INVRG_REFINE_TOP_METROPOLIS] = "metropolis", [INVRG_REFINE_TOP_METROPOLIS + 1] = NULL};
static const char *const random_bits_names[] = {[INVRG_RANDOM_BITS_WORDS] = "words",
                                                [INVRG_RANDOM_BITS_PLANES] = "planes",
                                                [INVRG_RANDOM_BITS_PLANES + 1] = NULL};
static const char *const mc_lattices[] = {[INVRG_MC_LATTICE_INT8] = "int8",
                                          [INVRG_MC_LATTICE_PACKED] = "packed",
                                          [INVRG_MC_LATTICE_PACKED + 1] = NULL};

static const char *const mc_generators[] = {[INVRG_RNG_PHILOX] = "philox", [INVRG_RNG_ARS] = "ars",
                                            [INVRG_RNG_ARS + 1] = NULL};

static const invrg_nl_key checkpoint_keys[] = {
    {.name = "interval_minutes", .type = INVRG_NL_REAL, SCALAR, AT(checkpoint.interval_minutes),
     .default_text = "0", .min = 0, .max = 1e9,
     .description = "write a checkpoint every so many minutes of wall time and go on (0 = never)"},
    {.name = "max_walltime_minutes", .type = INVRG_NL_REAL, SCALAR,
     AT(checkpoint.max_walltime_minutes), .default_text = "0", .min = 0, .max = 1e9,
     .description = "write a checkpoint and stop (exit status 3) after so many minutes; set it a "
                    "few minutes below the job's time limit (0 = no limit)"},
    {.name = "stop_file", .type = INVRG_NL_STRING, SCALAR, AT(checkpoint.stop_file),
     .string_size = INVRG_PATH_LEN, .default_text = "''",
     .description = "write a checkpoint and stop (exit status 3) when this file appears; it is "
                    "removed then, so it must be a name of its own: not the input, the output "
                    "or its companions, the log, nor a file the run reads ('' = no stop file; "
                    "SIGTERM and SIGUSR1 always do the same)"},
    {.name = "keep_previous", .type = INVRG_NL_BOOL, SCALAR, AT(checkpoint.keep_previous),
     .default_text = ".true.",
     .description = "keep the checkpoint before the newest as <output>.ckpt.prev"},
};

/* &mc L's allowed text names the largest side */
_Static_assert((1 << INVRG_MAX_LEVELS) == 1048576, "&mc L: update its allowed text");

static const invrg_nl_key mc_keys[] = {
    {.name = "L", .type = INVRG_NL_INT, .min_count = 1, .max_count = 16,
     .count_offset = offsetof(invrg_config, mc.n_L), AT(mc.L), .default_text = "32", .min = 2,
     .max = 1 << INVRG_MAX_LEVELS, .validate = validate_even,
     .allowed = "even, between 2 and 1048576",
     .description = "side(s) of the periodic L x L lattice (even); several different sizes run one "
                    "after the other, e.g. 16, 32, 64, and are fitted together (&analyze "
                    "fss_sources)"},
    {.name = "beta", .type = INVRG_NL_REAL, SCALAR, AT(mc.beta),
     .default_text = "0.44068679350977147", .min = -INFINITY, .max = 1e50,
     .validate = validate_positive, .allowed = "> 0, <= 1e+50",
     .description = "coupling K = J/T; the default is K_c = ln(1 + sqrt 2)/2 (at most 1e50, so that "
                    "C/N = K² N var(E) and its error stay finite in double precision; the ground "
                    "state is exact from K = 93)"},
    {.name = "algorithm", .type = INVRG_NL_STRING, SCALAR, AT(mc.algorithm),
     .string_size = INVRG_NAME_LEN, .default_text = "'wolff'", .choices = mc_algorithms,
     INDEX(mc.algorithm_kind),
     .description = "wolff (one rank per chain), sw (Swendsen-Wang, distributed), metropolis or "
                    "heatbath (checkerboard, distributed)"},
    {.name = "lattice", .type = INVRG_NL_STRING, SCALAR, AT(mc.lattice),
     .string_size = INVRG_NAME_LEN, .default_text = "'int8'", .choices = mc_lattices,
     INDEX(mc.lattice_kind),
     .description = "what metropolis and heatbath sweep: 'int8' (one byte per spin) or "
                    "'packed' (1 bit per spin, 64 spins updated together by multispin coding; "
                    "split by rows: L a multiple of ranks_per_group; observables and "
                    "correlations measured on the bits, an int8 copy for MCRG and saved "
                    "configurations); sw and wolff run on int8 (docs/benchmarks.md)"},
    {.name = "generator", .type = INVRG_NL_STRING, SCALAR, AT(mc.generator),
     .string_size = INVRG_NAME_LEN, .default_text = "'philox'", .choices = mc_generators,
     INDEX(mc.generator_kind),
     .description = "the random numbers of the sweeps: 'philox' (Philox4x32-10, as every other "
                    "random number of a run) or 'ars' (ARS-7: seven AES rounds, the same "
                    "streams and counters; lattice = 'packed' only; about 1.5 times the "
                    "multispin sweeps' speed on an Intel Xeon with VAES, not on AMD Zen 4, "
                    "much slower without AES-NI; other "
                    "chains than philox's, the same physics; docs/design.md §2)"},
    {.name = "n_chains", .type = INVRG_NL_INT, SCALAR, AT(mc.n_chains), .default_text = "8",
     .min = 1, .max = INFINITY, .description = "independent chains, spread over the groups"},
    {.name = "n_therm", .type = INVRG_NL_INT, SCALAR, AT(mc.n_therm), .default_text = "1000",
     .min = 0, .max = INFINITY, .description = "thermalisation sweeps per chain"},
    {.name = "n_samples", .type = INVRG_NL_INT, SCALAR, AT(mc.n_samples), .default_text = "1000",
     .min = 2, .max = INFINITY, .description = "measured samples per chain"},
    {.name = "sample_every", .type = INVRG_NL_INT, SCALAR, AT(mc.sample_every),
     .default_text = "10", .min = 1, .max = INFINITY,
     .description = "sweeps between samples (Wolff: a sweep is N flipped spins on average)"},
    {.name = "blocks_per_chain", .type = INVRG_NL_INT, SCALAR, AT(mc.blocks_per_chain),
     .default_text = "8", .min = 1, .max = 1024,
     .description = "jackknife blocks per chain for errors of derived quantities (C/N, chi, V4)"},
    {.name = "save_configs", .type = INVRG_NL_BOOL, SCALAR, AT(mc.save_configs),
     .default_text = ".false.",
     .description = "write every sample to /mc/L<L>/configs (the training data of stage train)"},
};

/* &parallel <stage>_ranks_per_group and <stage>_grid: one stage's groups. */
#define STAGE_LAYOUT_KEYS(stage_id, kind)                                                            \
  {.name = #stage_id "_ranks_per_group", .type = INVRG_NL_INT, SCALAR,                              \
   AT(parallel.stage[kind].ranks_per_group), .default_text = "0", .min = 0, .max = 1048576,     \
   .description = "ranks that share one lattice in stage " #stage_id "; 0 = ranks_per_group"},      \
  {.name = #stage_id "_grid", .type = INVRG_NL_INT, .min_count = 2, .max_count = 2,                \
   .count_offset = INVRG_NL_NO_COUNT, AT(parallel.stage[kind].grid), .default_text = "0, 0",     \
   .min = 0, .max = 1048576,                                                                    \
   .description = "px, py of a group of stage " #stage_id "; 0, 0 = grid, or automatic"}

static const invrg_nl_key parallel_keys[] = {
    {.name = "ranks_per_group", .type = INVRG_NL_INT, SCALAR, AT(parallel.ranks_per_group),
     .default_text = "0", .min = 0, .max = 1048576,
     .description = "ranks that share one lattice in every stage without its own "
                    "<stage>_ranks_per_group; 0 = automatic per stage (the smallest group "
                    "whose memory fits)"},
    {.name = "grid", .type = INVRG_NL_INT, .min_count = 2, .max_count = 2,
     .count_offset = INVRG_NL_NO_COUNT, AT(parallel.grid), .default_text = "0, 0", .min = 0,
     .max = 1048576,
     .description = "px, py: how a group of ranks_per_group ranks tiles the lattice; 0, 0 "
                    "chooses automatically; with ranks_per_group = 0, both set make groups of "
                    "px·py in every stage without its own size"},
    STAGE_LAYOUT_KEYS(mc, INVRG_STAGE_MC),
    STAGE_LAYOUT_KEYS(train, INVRG_STAGE_TRAIN),
    STAGE_LAYOUT_KEYS(dream, INVRG_STAGE_DREAM),
    STAGE_LAYOUT_KEYS(analyze, INVRG_STAGE_ANALYZE),
    {.name = "memory_per_rank", .type = INVRG_NL_REAL, SCALAR, AT(parallel.memory_per_rank),
     .default_text = "0", .min = 0, .max = 1048576,
     .description = "GiB of memory a rank may use (sizes the automatic groups and the memory "
                    "check); 0 = its node's memory shared by the node's ranks"},
};

static const char *const train_optimizers[] = {
    [INVRG_OPTIMIZER_AUTO] = "",      [INVRG_OPTIMIZER_NEWTON] = "newton",
    [INVRG_OPTIMIZER_ADAMW] = "adamw", [INVRG_OPTIMIZER_ADAM] = "adam",
    [INVRG_OPTIMIZER_SGD] = "sgd",     [INVRG_OPTIMIZER_SGD + 1] = NULL};
static const char *const train_ties[] = {[INVRG_TIES_AUTO] = "",
                                         [INVRG_TIES_EXPECTATION] = "expectation",
                                         [INVRG_TIES_COIN] = "coin", [INVRG_TIES_COIN + 1] = NULL};

static const char *validate_conv_kernel(const void *value, int count, char *buf, size_t buflen) {
  (void)count;
  int64_t v;
  memcpy(&v, value, sizeof v);
  if (v == 3 || v == 7) return NULL;
  snprintf(buf, buflen, "must be 3 or 7 (got %lld)", (long long)v);
  return buf;
}

static const invrg_nl_key train_keys[] = {
    {.name = "model", .type = INVRG_NL_STRING, SCALAR, AT(train.model),
     .string_size = INVRG_NAME_LEN, .default_text = "'sym3'", .choices = invrg_model_kind_names,
     INDEX(train.model_kind),
     .description = "sym3, sym5, sym7 (D4-symmetric kernels, 3/6/10 parameters) or conv"},
    {.name = "conv_channels", .type = INVRG_NL_INT, SCALAR, AT(train.conv_channels),
     .default_text = "32", .min = 1, .max = 4096, .description = "hidden channels of conv"},
    {.name = "conv_kernel", .type = INVRG_NL_INT, SCALAR, AT(train.conv_kernel),
     .default_text = "3", .min = 3, .max = 7, .validate = validate_conv_kernel,
     .allowed = "3 or 7",
     .description = "kernel size of conv: 3 or 7"},
    {.name = "data", .type = INVRG_NL_STRING, SCALAR, AT(train.data), .string_size = INVRG_PATH_LEN,
     .default_text = "''",
     .description = "'' = this run's Monte Carlo samples (&mc save_configs), or an invrg HDF5 "
                    "file holding /mc/L<L>/configs"},
    {.name = "data_L", .type = INVRG_NL_INT, SCALAR, AT(train.data_L), .default_text = "0",
     .min = 0, .max = INFINITY,
     .description = "which /mc/L<L> to train on; 0 = &mc L, or the only size in the data file"},
    {.name = "loss", .type = INVRG_NL_STRING, SCALAR, AT(train.loss),
     .string_size = INVRG_NAME_LEN, .default_text = "'bce'", .choices = invrg_loss_kind_names,
     INDEX(train.loss_kind),
     .description = "bce, or weighted (each configuration weighted 2^-n_tie, mean 1 per batch)"},
    {.name = "optimizer", .type = INVRG_NL_STRING, SCALAR, AT(train.optimizer),
     .string_size = INVRG_NAME_LEN, .default_text = "''", .choices = train_optimizers,
     INDEX(train.optimizer_kind),
     .description = "newton: the exact fit of sym3/sym5/sym7 (docs/physics.md §10); adamw "
                    "(decoupled weight decay), adam or sgd: the stochastic recipe (lr, "
                    "weight_decay, schedule, epochs, batch); '' = newton for the sym models, "
                    "adamw for conv"},
    {.name = "ties", .type = INVRG_NL_STRING, SCALAR, AT(train.ties),
     .string_size = INVRG_NAME_LEN, .default_text = "''", .choices = train_ties,
     INDEX(train.ties_kind),
     .description = "tied blocks in the exact fit: expectation (both coarse values, weight 1/2 "
                    "each) or coin (one coin per block and configuration); '' = expectation "
                    "for newton, coin (fresh every epoch) for the stochastic optimizers"},
    {.name = "lr", .type = INVRG_NL_REAL, SCALAR, AT(train.lr), .default_text = "0.01",
     .min = -INFINITY, .max = INFINITY, .validate = validate_positive, .allowed = "> 0",
     .description = "learning rate (the peak of the one-cycle schedule)"},
    {.name = "weight_decay", .type = INVRG_NL_REAL, SCALAR, AT(train.weight_decay),
     .default_text = "0.01", .min = 0, .max = INFINITY, .description = "weight decay"},
    {.name = "schedule", .type = INVRG_NL_STRING, SCALAR, AT(train.schedule),
     .string_size = INVRG_NAME_LEN, .default_text = "'onecycle'",
     .choices = invrg_schedule_kind_names, INDEX(train.schedule_kind),
     .description = "onecycle (lr/25 → lr over 30 % of the steps → lr/25/1e4, cosine; beta1 "
                    "0.95 → 0.85 → 0.95) or constant"},
    {.name = "epochs", .type = INVRG_NL_INT, SCALAR, AT(train.epochs), .default_text = "50",
     .min = 1, .max = INFINITY, .description = "passes over the training set"},
    {.name = "batch", .type = INVRG_NL_INT, SCALAR, AT(train.batch), .default_text = "1000",
     .min = 1, .max = INFINITY, .description = "configurations per minibatch"},
    {.name = "validation_fraction", .type = INVRG_NL_REAL, SCALAR, AT(train.validation_fraction),
     .default_text = "0.1", .min = 0, .max = 0.9,
     .description = "share of the data (the last configurations) kept for validation"},
    {.name = "select", .type = INVRG_NL_STRING, SCALAR, AT(train.select),
     .string_size = INVRG_NAME_LEN, .default_text = "'auto'", .choices = invrg_train_select_names,
     INDEX(train.select_kind),
     .description = "stochastic optimizers (newton keeps the fit of all the data): the model "
                    "kept: mean of the replicas' parameters (sym models only), the "
                    "replica with the best validation loss, or auto = of those two the one that "
                    "validates better for sym, the best replica for conv"},
    {.name = "n_replicas", .type = INVRG_NL_INT, SCALAR, AT(train.n_replicas),
     .default_text = "4", .min = 1, .max = INFINITY,
     .description = "newton: replica 0 fits all the data (the kept model), replicas 1.. fit "
                    "bootstrap resamples of the configurations (the error bars); stochastic "
                    "optimizers: independent trainings (own initialisation, shuffling and tie "
                    "coins)"},
};

static const char *const dream_models[] = {
    [INVRG_DREAM_MODEL_NONE] = "",      [INVRG_DREAM_MODEL_SYM3] = "sym3",
    [INVRG_DREAM_MODEL_SYM5] = "sym5",  [INVRG_DREAM_MODEL_SYM7] = "sym7",
    [INVRG_DREAM_MODEL_SYM7 + 1] = NULL};
static const char *const small_kernel_starts[] = {[INVRG_SMALL_KERNEL_NONE] = "none",
                                                  [INVRG_SMALL_KERNEL_PAPER] = "paper",
                                                  [INVRG_SMALL_KERNEL_PAPER + 1] = NULL};
/* Names looked up in the operator tables of physics (mcrg.h): they stay names. */
static const char *const operator_sets[] = {"swendsen", "paper36", NULL};
static const char *const source_names[] = {[INVRG_SOURCE_DREAM] = "dream",
                                           [INVRG_SOURCE_MC] = "mc", [INVRG_SOURCE_MC + 1] = NULL};

const char *invrg_source_name(invrg_source source) {
  return (unsigned)source <= INVRG_SOURCE_MC ? source_names[source] : "unknown";
}

static const invrg_nl_key dream_keys[] = {
    {.name = "model_file", .type = INVRG_NL_STRING, SCALAR, AT(dream.model_file),
     .string_size = INVRG_PATH_LEN, .default_text = "''",
     .description = "an HDF5 file with a /model group (a run file of stage train, or "
                    "tools/import_torch_model.py output); '' = this run's trained model, or "
                    "&dream model and params"},
    {.name = "model", .type = INVRG_NL_STRING, SCALAR, AT(dream.model),
     .string_size = INVRG_NAME_LEN, .default_text = "''", .choices = dream_models,
     INDEX(dream.model_kind),
     .description = "a symmetric model given literally by params, e.g. 'sym3'"},
    {.name = "params", .type = INVRG_NL_REAL, .min_count = 0, .max_count = 10,
     .count_offset = offsetof(invrg_config, dream.n_params), AT(dream.params),
     .default_text = "", .min = -INFINITY, .max = INFINITY,
     .description = "parameters of &dream model (sym3: a, b, c; sym5: 6; sym7: 10)"},
    {.name = "levels", .type = INVRG_NL_INT, SCALAR, AT(dream.levels), .default_text = "7",
     .min = 1, .max = INVRG_MAX_LEVELS, .description = "upsampling steps: the largest lattice is 2^levels"},
    {.name = "n_samples", .type = INVRG_NL_INT, SCALAR, AT(dream.n_samples),
     .default_text = "1000", .min = 1, .max = INFINITY,
     .description = "dreamed configurations (1: one big dream, measured without error bars)"},
    {.name = "start", .type = INVRG_NL_STRING, SCALAR, AT(dream.start),
     .string_size = INVRG_NAME_LEN, .default_text = "'alternate'",
     .choices = invrg_dream_start_names, INDEX(dream.start_kind),
     .description = "the seed: a 1 x 1 spin, alternate (+1 for even samples, -1 for odd), "
                    "random or up; or mc: sample j starts from saved Monte Carlo configuration "
                    "j of side start_L (refined dreams; lattice = 'packed')"},
    {.name = "start_L", .type = INVRG_NL_INT, SCALAR, AT(dream.start_L), .default_text = "0",
     .min = 0, .max = 1 << INVRG_MAX_LEVELS,
     .description = "start = 'mc': the side of the seeds, a power of two below 2^levels"},
    {.name = "start_file", .type = INVRG_NL_STRING, SCALAR, AT(dream.start_file),
     .string_size = INVRG_PATH_LEN, .default_text = "''",
     .description = "start = 'mc': a run file holding /mc/L<start_L>/configs ('' = this run's "
                    "stage mc, with save_configs = .true.)"},
    {.name = "lattice", .type = INVRG_NL_STRING, SCALAR, AT(dream.lattice),
     .string_size = INVRG_NAME_LEN, .default_text = "'int8'", .choices = mc_lattices,
     INDEX(dream.lattice_kind),
     .description = "what the levels are held in: 'int8' (one byte per spin) or 'packed' (1 bit "
                    "per spin, split by rows over a group where L is a multiple of "
                    "ranks_per_group); the same dreams and results either way"},
    {.name = "random_bits", .type = INVRG_NL_STRING, SCALAR, AT(dream.random_bits),
     .string_size = INVRG_NAME_LEN, .default_text = "'words'", .choices = random_bits_names,
     INDEX(dream.random_bits_kind),
     .description = "'words': one 32-bit random word per fine spin (the same dreams on int8 and "
                    "packed lattices); 'planes': on packed lattices, sym3, sym5, sym7 and conv "
                    "with k <= 3 draw random bit planes only while a spin is undecided, several "
                    "times faster, the same distribution with other draws (from 64 x 64 on: the "
                    "levels up to 32 x 32, dreamed in batches of 64, keep the words' draws)"},
    {.name = "refine_sweeps", .type = INVRG_NL_INT, SCALAR, AT(dream.refine_sweeps),
     .default_text = "0", .min = 0, .max = 1 << 20,
     .description = "refined dreams: Monte Carlo sweeps at refine_beta after the step of every "
                    "level from refine_from on (lattice = 'packed': multispin sweeps)"},
    {.name = "compatible_sweeps", .type = INVRG_NL_INT, SCALAR, AT(dream.compatible_sweeps),
     .default_text = "0", .min = 0, .max = 1 << 20,
     .description = "refined dreams: compatible Monte Carlo sweeps (heat bath that keeps every "
                    "2 x 2 block's majority) after the step of every level from refine_from on, "
                    "before refine_sweeps (lattice = 'packed'; levels from 4 x 4; about 20 ns "
                    "per site)"},
    {.name = "refine_from", .type = INVRG_NL_INT, SCALAR, AT(dream.refine_from),
     .default_text = "1", .min = 1, .max = INVRG_MAX_LEVELS,
     .description = "first level refined (L = 2^level)"},
    {.name = "refine_algorithm", .type = INVRG_NL_STRING, SCALAR, AT(dream.refine_algorithm),
     .string_size = INVRG_NAME_LEN, .default_text = "'heatbath'", .choices = refine_algorithms,
     INDEX(dream.refine_algorithm_kind),
     .description = "the refining sweeps: heatbath or metropolis (checkerboard, multispin)"},
    {.name = "refine_top_sweeps", .type = INVRG_NL_INT, SCALAR, AT(dream.refine_top_sweeps),
     .default_text = "-1", .min = -1, .max = 1 << 20,
     .description = "refined dreams: sweeps of the top level instead of refine_sweeps (-1: "
                    "refine_sweeps; the levels below keep refine_sweeps)"},
    {.name = "refine_top_algorithm", .type = INVRG_NL_STRING, SCALAR,
     AT(dream.refine_top_algorithm), .string_size = INVRG_NAME_LEN, .default_text = "''",
     .choices = refine_top_algorithms, INDEX(dream.refine_top_algorithm_kind),
     .description = "the top level's refining sweeps: heatbath or metropolis ('' = "
                    "refine_algorithm)"},
    {.name = "refine_generator", .type = INVRG_NL_STRING, SCALAR, AT(dream.refine_generator),
     .string_size = INVRG_NAME_LEN, .default_text = "'philox'", .choices = mc_generators,
     INDEX(dream.refine_generator_kind),
     .description = "the random numbers of the refining sweeps (refine_sweeps, "
                    "refine_top_sweeps): 'philox' or 'ars', as &mc generator (the dreams, "
                    "compatible and Swendsen-Wang sweeps stay philox)"},
    {.name = "refine_beta", .type = INVRG_NL_REAL, SCALAR, AT(dream.refine_beta),
     .default_text = "0.44068679350977147", .min = -INFINITY, .max = 1e50,
     .validate = validate_positive, .allowed = "> 0, <= 1e+50",
     .description = "coupling K of the refining sweeps and of top_sw_sweeps; the default is K_c "
                    "(at most 1e50, as &mc beta)"},
    {.name = "top_sw_sweeps", .type = INVRG_NL_INT, SCALAR, AT(dream.top_sw_sweeps),
     .default_text = "0", .min = 0, .max = 1 << 20,
     .description = "Swendsen–Wang sweeps at refine_beta on the top level after its step and "
                    "refinement, before it is measured (int8 or packed levels; a packed level is "
                    "swept as an int8 copy: 17 bytes per top-level spin held by a rank, 13 on "
                    "int8 levels; fewer than 2^31 top-level sites per rank)"},
    {.name = "measure_from", .type = INVRG_NL_INT, SCALAR, AT(dream.measure_from),
     .default_text = "3", .min = 1, .max = INVRG_MAX_LEVELS,
     .description = "measure every level from this one on (L = 2^level)"},
    {.name = "save_levels", .type = INVRG_NL_INT, .min_count = 0, .max_count = 32,
     .count_offset = offsetof(invrg_config, dream.n_save_levels), AT(dream.save_levels),
     .default_text = "", .min = 1, .max = INVRG_MAX_LEVELS,
     .description = "levels whose configurations are written to /dream/L<L>/configs"},
    {.name = "save_max", .type = INVRG_NL_INT, SCALAR, AT(dream.save_max), .default_text = "100",
     .min = 1, .max = INFINITY, .description = "at most this many configurations per saved level"},
    {.name = "small_kernel_start", .type = INVRG_NL_STRING, SCALAR, AT(dream.small_kernel_start),
     .string_size = INVRG_NAME_LEN, .default_text = "'none'", .choices = small_kernel_starts,
     INDEX(dream.small_kernel_start_kind),
     .description = "kernels larger than the first lattices: 'none' wraps them around the torus; "
                    "'paper' dreams the first (k-3)/2 steps of a k = 5 or 7 model with a 3 x 3 "
                    "model instead, as the reference code did"},
    {.name = "small_kernel_params", .type = INVRG_NL_REAL, .min_count = 3, .max_count = 3,
     .count_offset = offsetof(invrg_config, dream.n_small_kernel_params),
     AT(dream.small_kernel_params), .default_text = "0.54590, 0.62776, 1.40962",
     .min = -INFINITY, .max = INFINITY,
     .description = "small_kernel_start = 'paper': the sym3 model of the first steps (a, b, c; "
                    "default the published L = 32 model)"},
    {.name = "small_kernel_model_file", .type = INVRG_NL_STRING, SCALAR,
     AT(dream.small_kernel_model_file), .string_size = INVRG_PATH_LEN, .default_text = "''",
     .description = "small_kernel_start = 'paper': a model file (sym3, or conv k = 3 for conv "
                    "models) for the first steps instead of small_kernel_params"},
};

/* Every name of a string list at most once (e.g. &analyze sources = 'mc', 'mc'). */
static const char *validate_distinct(const void *value, int count, char *buf, size_t buflen) {
  for (int i = 0; i < count; i++)
    for (int k = 0; k < i; k++) {
      const char *a = (const char *)value + (size_t)i * INVRG_NAME_LEN;
      if (strcmp(a, (const char *)value + (size_t)k * INVRG_NAME_LEN) == 0) {
        snprintf(buf, buflen, "'%s' is listed twice", a);
        return buf;
      }
    }
  return NULL;
}

static const invrg_nl_key analyze_keys[] = {
    {.name = "data", .type = INVRG_NL_STRING, SCALAR, AT(analyze.data),
     .string_size = INVRG_PATH_LEN, .default_text = "''",
     .description = "stage analyze: '' = the configurations this run saved, or an invrg run file "
                    "of an earlier job"},
    {.name = "sources", .type = INVRG_NL_STRING, .min_count = 1, .max_count = 2,
     .count_offset = offsetof(invrg_config, analyze.n_sources), AT(analyze.sources),
     .string_size = INVRG_NAME_LEN, .default_text = "'mc', 'dream'", .choices = source_names,
     INDEX(analyze.sources_kind),
     .validate = validate_distinct,
     .description = "stage analyze: saved configurations to analyse, /mc/L<L>/configs and/or "
                    "/dream/L<L>/configs (default: those of the two that exist)"},
    {.name = "operators", .type = INVRG_NL_STRING, .min_count = 1, .max_count = 2,
     .count_offset = offsetof(invrg_config, analyze.n_operators), AT(analyze.operators),
     .string_size = INVRG_NAME_LEN, .default_text = "'swendsen'", .choices = operator_sets,
     .validate = validate_distinct,
     .description = "MCRG operator sets: swendsen (4 even + 3 odd) and/or paper36"},
    {.name = "mcrg_levels", .type = INVRG_NL_INT, SCALAR, AT(analyze.mcrg_levels),
     .default_text = "3", .min = 1, .max = INVRG_MAX_LEVELS,
     .description = "blockings of a configuration for standard MCRG"},
    {.name = "tie_rule", .type = INVRG_NL_STRING, SCALAR, AT(analyze.tie_rule),
     .string_size = INVRG_NAME_LEN, .default_text = "'random'", .choices = invrg_tie_rule_names,
     INDEX(analyze.tie_rule_kind),
     .description = "majority-rule ties: random (a coin per block), up, or upper_left"},
    {.name = "jackknife_blocks", .type = INVRG_NL_INT, SCALAR, AT(analyze.jackknife_blocks),
     .default_text = "20", .min = 2, .max = 10000,
     .description = "jackknife blocks for the errors of MCRG eigenvalues and of the observables "
                    "of dream and analyze"},
    {.name = "mcrg_on_mc", .type = INVRG_NL_BOOL, SCALAR, AT(analyze.mcrg_on_mc),
     .default_text = ".false.",
     .description = "standard MCRG on every Monte Carlo sample of this run, as it is produced "
                    "(&mc L must list one size)"},
    {.name = "correlations", .type = INVRG_NL_BOOL, SCALAR, AT(analyze.correlations),
     .default_text = ".true.",
     .description = "S(0), S(k_min) and xi2/L of every measured size, from row and column "
                    "sums (O(N)), /corr"},
    {.name = "correlation_functions", .type = INVRG_NL_BOOL, SCALAR,
     AT(analyze.correlation_functions), .default_text = ".false.",
     .description = "also G(r) along the axes and the diagonal, the radial S(k) and whole maps "
                    "(L <= 64) by FFT (about 3-40 ns and 8-17 bytes per spin in double, 4-9 in "
                    "single); needs "
                    "correlations"},
    {.name = "correlation_precision", .type = INVRG_NL_STRING, SCALAR,
     AT(analyze.correlation_precision), .string_size = INVRG_NAME_LEN,
     .default_text = "'double'", .choices = invrg_corr_precision_names,
     INDEX(analyze.correlation_precision_kind),
     .description = "floating-point type of the correlation functions' FFT (needs "
                    "correlation_functions): double, or single "
                    "(half its memory; G(r) within about 1e-5 of double)"},
    {.name = "fss_Lmin", .type = INVRG_NL_INT, SCALAR, AT(analyze.fss_Lmin), .default_text = "0",
     .min = 0, .max = INFINITY, .description = "smallest L in the finite-size-scaling fits (0 = all)"},
    {.name = "fss_Lmax", .type = INVRG_NL_INT, SCALAR, AT(analyze.fss_Lmax), .default_text = "0",
     .min = 0, .max = INFINITY, .description = "largest L in the finite-size-scaling fits (0 = all)"},
    {.name = "fss_sources", .type = INVRG_NL_STRING, .min_count = 0, .max_count = 2,
     .count_offset = offsetof(invrg_config, analyze.n_fss_sources), AT(analyze.fss_sources),
     .string_size = INVRG_NAME_LEN, .default_text = "'dream', 'mc'", .choices = source_names,
     INDEX(analyze.fss_sources_kind),
     .validate = validate_distinct,
     .description = "sources whose sizes are fitted across L: dream, and mc when &mc L lists "
                    "several sizes (stage analyze: its own fits of the sources it analyses)"},
};

#define GROUP(g, text) {.name = #g, .description = text, .keys = g##_keys, \
                        .n_keys = (int)(sizeof g##_keys / sizeof g##_keys[0])}

static const invrg_nl_group groups[] = {
    GROUP(run, "the run: stages, seed, output file"),
    GROUP(output, "how the run file is written"),
    GROUP(checkpoint, "checkpoints: when to save the state of a run (<output>.ckpt) to continue it"),
    GROUP(parallel, "how MPI ranks are organised into groups and grids"),
    GROUP(mc, "Monte Carlo ensembles of the 2D Ising model (stage mc)"),
    GROUP(train, "training inverse-RG models on Monte Carlo data (stage train)"),
    GROUP(dream, "dreaming configurations from one spin up to 2^levels (stage dream)"),
    GROUP(analyze, "analyses of the ensembles: observables, MCRG eigenvalues, correlations, "
                   "finite-size scaling (in stages mc and dream, and stage analyze)"),
};

static const invrg_nl_schema schema = {groups, (int)(sizeof groups / sizeof groups[0])};

const invrg_nl_schema *invrg_config_schema(void) { return &schema; }

int invrg_config_total_keys(void) {
  int n = 0;
  for (int g = 0; g < schema.n_groups; g++) n += schema.groups[g].n_keys;
  return n;
}

/* ------------------------------------------------------------------ loading */

void invrg_config_defaults(invrg_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  invrg_nl_set_defaults(&schema, cfg, NULL);
}

static void copy_positions(invrg_config *cfg, const invrg_nl_result *res) {
  memcpy(cfg->key_pos, res->key_pos, (size_t)invrg_config_total_keys() * sizeof *cfg->key_pos);
  memcpy(cfg->key_refused, res->key_refused,
         (size_t)invrg_config_total_keys() * sizeof *cfg->key_refused);
  memcpy(cfg->group_pos, res->group_pos, (size_t)schema.n_groups * sizeof *cfg->group_pos);
}

/* Rank 0's part of loading: read, parse, print diagnostics (or, with @p hold, keep the errors
 * that refuse keys' values for the checks between keys to print with theirs). */
static invrg_err load_on_root(const char *path, bool hold, invrg_config *cfg) {
  invrg_err err = INVRG_SUCCESS;
  invrg_nl_result res;
  bool res_ready = false;
  size_t len = 0;
  cfg->input_text = invrg_text_read_file(path, &len);
  INVRG_CHECK(cfg->input_text != NULL, INVRG_ERR_INPUT, "cannot read input file '%s': %s", path,
              strerror(errno));
  res_ready = invrg_nl_result_init(&res, &schema, path);
  INVRG_CHECK_ALLOC(res_ready ? &res : NULL);
  /* The file's errors and the overrides' together: a user sees them all at once. */
  int n_errors = invrg_nl_parse(cfg->input_text, len, cfg, &res);
  n_errors += invrg_nl_apply_overrides(cfg->overrides, cfg->n_overrides, cfg, &res);
  copy_positions(cfg, &res);
  if (n_errors > 0 && hold && res.n_key_diags == n_errors) {
    cfg->n_key_errors = n_errors;
    invrg_config_hold_key_errors(cfg, &res);
  } else if (n_errors > 0) {
    fflush(stdout);
    invrg_nl_print_diagnostics(&res, stderr);
    fprintf(stderr, "%s%s: %d error%s\n", path, cfg->n_overrides > 0 ? " and --set" : "",
            n_errors, n_errors == 1 ? "" : "s");
    fflush(stderr);
    err = invrg_error_set(INVRG_ERR_INPUT, __FILE__, __LINE__, "%d errors in '%s'", n_errors, path);
    invrg_error_mark_reported();
    goto cleanup;
  }
cleanup:
  if (res_ready) invrg_nl_result_free(&res);
  return err;
}

static invrg_err load(const char *path, const char *const *overrides, int n, bool hold,
                      MPI_Comm comm, invrg_config *cfg);

invrg_err invrg_config_load(const char *path, MPI_Comm comm, invrg_config *cfg) {
  return load(path, NULL, 0, false, comm, cfg);
}

invrg_err invrg_config_load_with_overrides(const char *path, const char *const *overrides, int n,
                                           MPI_Comm comm, invrg_config *cfg) {
  return load(path, overrides, n, false, comm, cfg);
}

invrg_err invrg_config_load_for_checks(const char *path, const char *const *overrides, int n,
                                       MPI_Comm comm, invrg_config *cfg) {
  return load(path, overrides, n, true, comm, cfg);
}

static invrg_err load(const char *path, const char *const *overrides, int n, bool hold,
                      MPI_Comm comm, invrg_config *cfg) {
  invrg_err err = INVRG_SUCCESS;
  int rank;
  INVRG_MPI_CALL(MPI_Comm_rank(comm, &rank));
  invrg_config_defaults(cfg);
  snprintf(cfg->input_path, sizeof cfg->input_path, "%s", path);
  cfg->overrides = overrides;
  cfg->n_overrides = n;
  cfg->key_pos = calloc((size_t)invrg_config_total_keys(), sizeof *cfg->key_pos);
  cfg->group_pos = calloc((size_t)schema.n_groups, sizeof *cfg->group_pos);
  cfg->key_refused = calloc((size_t)invrg_config_total_keys(), sizeof *cfg->key_refused);
  INVRG_CHECK_ALLOC(cfg->key_pos);
  INVRG_CHECK_ALLOC(cfg->group_pos);
  INVRG_CHECK_ALLOC(cfg->key_refused);

  invrg_err local = rank == 0 ? load_on_root(path, hold, cfg) : INVRG_SUCCESS;
  if (local != INVRG_SUCCESS && !invrg_error_was_reported()) {
    fflush(stdout);
    fprintf(stderr, "error: %s\n", invrg_error_message());
    invrg_error_mark_reported();
  }
  INVRG_CALL(invrg_error_agree(local, comm));

  /* Broadcast the values (plain data), then the input text and key positions. Each rank keeps
   * its own pointers (the overrides: its own argv, the same text on every rank). */
  char *text = cfg->input_text;
  invrg_nl_pos *key_pos = cfg->key_pos, *group_pos = cfg->group_pos;
  bool *key_refused = cfg->key_refused;
  INVRG_MPI_CALL(MPI_Bcast(cfg, (int)sizeof *cfg, MPI_BYTE, 0, comm));
  cfg->input_text = text;
  cfg->key_pos = key_pos;
  cfg->group_pos = group_pos;
  cfg->key_refused = key_refused;
  cfg->overrides = overrides;
  unsigned long long text_len = rank == 0 ? strlen(text) : 0;
  INVRG_MPI_CALL(MPI_Bcast(&text_len, 1, MPI_UNSIGNED_LONG_LONG, 0, comm));
  if (rank != 0) {
    cfg->input_text = malloc(text_len + 1);
    INVRG_CHECK_ALLOC(cfg->input_text);
  }
  INVRG_MPI_CALL(MPI_Bcast(cfg->input_text, (int)(text_len + 1), MPI_CHAR, 0, comm));
  INVRG_MPI_CALL(MPI_Bcast(cfg->key_pos,
                           (int)((size_t)invrg_config_total_keys() * sizeof *cfg->key_pos),
                           MPI_BYTE, 0, comm));
  INVRG_MPI_CALL(MPI_Bcast(cfg->group_pos,
                           (int)((size_t)schema.n_groups * sizeof *cfg->group_pos), MPI_BYTE, 0,
                           comm));
  INVRG_MPI_CALL(MPI_Bcast(cfg->key_refused,
                           (int)((size_t)invrg_config_total_keys() * sizeof *cfg->key_refused),
                           MPI_BYTE, 0, comm));

  invrg_log_set_level(cfg->run.log_level_kind);
cleanup:
  return err;
}

void invrg_config_free(invrg_config *cfg) {
  free(cfg->input_text);
  free(cfg->key_pos);
  free(cfg->group_pos);
  free(cfg->key_refused);
  cfg->input_text = NULL;
  cfg->key_pos = NULL;
  cfg->group_pos = NULL;
  cfg->key_refused = NULL;
}

bool invrg_config_log_path(const invrg_config *cfg, char *buf, size_t size) {
  if (strcmp(cfg->run.log_file, "none") == 0) return false;
  if (cfg->run.log_file[0] != '\0')
    snprintf(buf, size, "%s", cfg->run.log_file);
  else
    snprintf(buf, size, "%s.log", cfg->run.output);
  return true;
}

int invrg_config_jackknife_blocks(const invrg_config *cfg, int64_t n_samples) {
  const int64_t asked = cfg->analyze.jackknife_blocks;
  return (int)(asked <= n_samples ? asked : n_samples);
}

bool invrg_config_has_stage(const invrg_config *cfg, invrg_stage_kind stage) {
  for (int i = 0; i < cfg->run.n_stages; i++)
    if (cfg->run.stages_kind[i] == stage) return true;
  return false;
}

/* Where the input set @p key of @p group (line 0: not given, or no such key). */
invrg_nl_pos invrg_config_key_position(const invrg_config *cfg, const char *group,
                                      const char *key) {
  invrg_nl_pos none = {0, 0};
  int flat = 0;
  for (int g = 0; g < schema.n_groups; g++) {
    const invrg_nl_group *grp = &schema.groups[g];
    for (int k = 0; k < grp->n_keys; k++, flat++)
      if (strcmp(grp->name, group) == 0 && strcmp(grp->keys[k].name, key) == 0)
        return cfg->key_pos != NULL ? cfg->key_pos[flat] : none;
  }
  return none;
}

bool invrg_config_key_given(const invrg_config *cfg, const char *group, const char *key) {
  return invrg_config_key_position(cfg, group, key).line != 0;
}

bool invrg_config_group_is_read(const invrg_config *cfg, const char *group) {
  static const struct {
    const char *group;
    int n;
    invrg_stage_kind readers[3];
  } stage_groups[] = {{"mc", 1, {INVRG_STAGE_MC}},
                      {"train", 1, {INVRG_STAGE_TRAIN}},
                      {"dream", 1, {INVRG_STAGE_DREAM}},
                      {"analyze", 3, {INVRG_STAGE_MC, INVRG_STAGE_DREAM, INVRG_STAGE_ANALYZE}}};
  for (size_t k = 0; k < sizeof stage_groups / sizeof stage_groups[0]; k++) {
    if (strcmp(stage_groups[k].group, group) != 0) continue;
    for (int i = 0; i < stage_groups[k].n; i++)
      if (invrg_config_has_stage(cfg, stage_groups[k].readers[i])) return true;
    return false;
  }
  return true;
}

int invrg_config_warn_unused(const invrg_config *cfg) {
  int n_unused = 0;
  for (int g = 0; g < schema.n_groups; g++) {
    const invrg_nl_group *grp = &schema.groups[g];
    const bool read = invrg_config_group_is_read(cfg, grp->name);
    if (read) continue;
    for (int k = 0; k < grp->n_keys; k++) {
      if (!invrg_config_key_given(cfg, grp->name, grp->keys[k].name)) continue;
      n_unused++;
      invrg_config_input_warning(cfg, grp->name, grp->keys[k].name,
                                 "key '%s' of '&%s' is unused: no stage of this run reads it "
                                 "(&run stages)", grp->keys[k].name, grp->name);
    }
  }
  return n_unused;
}

void invrg_config_write_effective(const invrg_config *cfg, FILE *out) {
  const int n_keys = invrg_config_total_keys(), n = cfg->n_overrides;
  const char **notes = calloc((size_t)n_keys, sizeof *notes);
  char **text = calloc((size_t)(n > 0 ? n : 1), sizeof *text);
  for (int k = 0; text != NULL && k < n; k++) {
    const char *prefix = "from the command line: --set ";
    text[k] = malloc(strlen(prefix) + strlen(cfg->overrides[k]) + 1);
    if (text[k] != NULL) sprintf(text[k], "%s%s", prefix, cfg->overrides[k]);
  }
  for (int i = 0; notes != NULL && text != NULL && cfg->key_pos != NULL && i < n_keys; i++) {
    const int k = -cfg->key_pos[i].line; /* override k set key i */
    if (k >= 1 && k <= n) notes[i] = text[k - 1];
  }
  invrg_nl_write_noted(&schema, cfg, notes, out); /* without notes if out of memory */
  for (int k = 0; text != NULL && k < n; k++) free(text[k]);
  free(text);
  free(notes);
}
