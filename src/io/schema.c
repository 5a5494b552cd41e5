/* The run file's schema (schema.h): one table of every name a run writes. */
#include "invrg/schema.h"

#include <ctype.h>
#include <string.h>

#define GROUP(path, desc) {path, INVRG_SCHEMA_GROUP, "", "", desc}
#define DSET(path, name, units, desc) {path, INVRG_SCHEMA_DATASET, name, units, desc}
#define ATTR(path, name, units, desc) {path, INVRG_SCHEMA_ATTRIBUTE, name, units, desc}

/* The summary of one ensemble (docs/physics.md §7; one writer, io/summary_io.c) under three paths.
 * Energies are in units of the coupling J (H = −J Σ s_i s_j, K = βJ); magnetisations per site
 * are pure numbers; the exact torus is written where it is known. */
#define SUMMARY(P)                                                                              \
  ATTR(P, "L", "1", "linear size of the periodic L × L lattice"),                               \
  ATTR(P, "n_samples", "1", "configurations in the ensemble"),                                  \
  ATTR(P, "energy", "J", "energy per site E/N = −⟨Σ_<ij> s_i s_j⟩/N"),                          \
  ATTR(P, "abs_m", "1", "⟨|m|⟩, m = Σ s_i / N"),                                                \
  ATTR(P, "m2", "1", "⟨m²⟩"),                                                                   \
  ATTR(P, "m4", "1", "⟨m⁴⟩"),                                                                   \
  ATTR(P, "chi", "1", "susceptibility χ = N(⟨m²⟩ − ⟨|m|⟩²)"),                                   \
  ATTR(P, "chi_prime", "1", "susceptibility χ' = N⟨m²⟩"),                                       \
  ATTR(P, "specific_heat", "1", "specific heat per site C/N = K² N(⟨e²⟩ − ⟨e⟩²), e = E/N"),     \
  ATTR(P, "binder_U4", "1", "Binder cumulant U4 = 1 − ⟨m⁴⟩/(3⟨m²⟩²)"),                          \
  ATTR(P, "V4", "1", "moment ratio V4 = ⟨m⁴⟩/⟨m²⟩²"),                                           \
  ATTR(P, "e_paper", "1", "the paper's energy per site e_p = 1 − E/(2N)"),                      \
  ATTR(P, "chi_paper", "1", "the paper's susceptibility N(⟨m²⟩ − ⟨m⟩²), signed m"),             \
  ATTR(P, "cp_paper", "1", "the paper's specific heat N(⟨e_p²⟩ − ⟨e_p⟩²)"),                     \
  ATTR(P, "me_paper", "1", "the paper's N(⟨e_p|m|⟩ − ⟨|m|⟩⟨e_p⟩)/⟨|m|⟩"),                       \
  ATTR(P, "energy_exact", "J", "exact E/N of the finite L × L torus at this coupling"),         \
  ATTR(P, "specific_heat_exact", "1", "exact C/N of the finite L × L torus at this coupling"),  \
  ATTR(P, "beta", "1", "coupling K = βJ of the ensemble"),                                      \
  ATTR(P, "jackknife_blocks", "1", "jackknife blocks of samples (dream, analyze)"),             \
  ATTR(P, "error_method", "", "how the errors (X_err) were estimated")

/* The configurations of an ensemble. */
#define CONFIGS(P)                                                                              \
  DSET(P, "configs", "1", "spin configurations [sample][y][x] (format: int8 ±1 or packed bits)"), \
  ATTR(P "/configs", "format", "", "int8 (one ±1 per spin) or packed (8 spins per byte)"),     \
  ATTR(P "/configs", "bit_order", "", "packed format: bit order within a byte, bit 1 = +1")

#define MCRG_SET "/mcrg/<source>/<pairs>/level<k>/<set>"
#define MCRG_PARITY MCRG_SET "/<parity>"

static const invrg_schema_entry entries[] = {
    /* ---- on every group and dataset (written at the end of the run, runfile_annotate.c) */
    ATTR("*", "description", "", "what this group or dataset holds (from the run file's schema)"),
    ATTR("*", "units", "", "units of the numbers ('1': pure numbers)"),
    ATTR("*", "CLASS", "", "HDF5 dimension scale: \"DIMENSION_SCALE\""),
    ATTR("*", "NAME", "", "HDF5 dimension scale: the axis it labels"),
    ATTR("*", "REFERENCE_LIST", "", "HDF5 dimension scale: the datasets it is attached to"),
    ATTR("*", "DIMENSION_LIST", "", "HDF5 dimension scales attached to each dimension"),
    GROUP("/summary", "one table per source with one group per size"),
    DSET("/summary", "<table>", "",
         "one row per size L, a column per quantity and its error (the L<L> groups' numbers)"),
    ATTR("/summary/<table>", "source", "", "the groups the rows come from"),

    /* ---- header */
    GROUP("/", "an invrg run file"),
    ATTR("/", "format", "", "always \"invrg\""),
    ATTR("/", "format_version", "1", "[major, minor] of this layout; readers refuse another major"),
    ATTR("/", "created_utc", "", "when the file was created (ISO 8601, UTC)"),
    GROUP("/code", "the build that wrote this file"),
    ATTR("/code", "version", "", "invrg version"),
    ATTR("/code", "git_hash", "", "git commit of the source"),
    ATTR("/code", "compiler", "", "C compiler and version"),
    ATTR("/code", "flags", "", "C compiler flags"),
    ATTR("/code", "build_type", "", "CMake build type"),
    ATTR("/code", "mpi_version", "", "MPI library version"),
    ATTR("/code", "hdf5_version", "", "HDF5 library version"),
    ATTR("/code", "fftw_version", "", "FFTW library version"),
    GROUP("/run", "how the run went"),
    ATTR("/run", "nranks", "1", "MPI ranks of the (last) run"),
    ATTR("/run", "ranks_per_group", "1", "[stage] ranks per group sharing one item, each stage of "
         "/run/stages"),
    ATTR("/run", "grid", "1", "[stage][px, py] process grid of a group, each stage"),
    ATTR("/run", "stages", "", "stages run, in order"),
    ATTR("/run", "title", "", "&run title"),
    ATTR("/run", "walltime_s", "s", "wall time of the last run (since its start or restart)"),
    ATTR("/run", "walltime_total_s", "s",
         "wall time of all runs of this output: the last one's, and each earlier one's up to its "
         "last checkpoint"),
    ATTR("/run", "stage_seconds", "s", "[stage] wall time of each stage of /run/stages, all runs"),
    DSET("/run", "log", "", "the log of world rank 0, all runs (UTF-8 text, time-stamped lines)"),
    ATTR("/run", "exit_status", "1", "0 if the run completed"),
    ATTR("/run", "restarts", "1", "runs before this one, continued from checkpoints"),
    ATTR("/run", "dream_peak_bytes", "B", "peak resident memory of a rank during stage dream"),
    ATTR("/run", "dream_bytes_per_top_spin", "B",
         "what stage dream added to the resident memory of the rank with the largest peak (its "
         "peak less its size when the stage began; 0 if no rise was measured), per spin of the "
         "top level that rank holds"),
    DSET("/run", "dream_seconds", "s",
         "[level][generation, observables, mcrg, correlations] wall seconds, slowest rank"),
    ATTR("/run/dream_seconds", "columns", "", "what each column times"),
    DSET("/run", "dream_level", "1", "the levels of dream_seconds' rows (its dimension scale)"),
    GROUP("/config", "the input of the run"),
    ATTR("/config", "input_path", "", "the input file's path as given"),
    DSET("/config", "input_nml", "", "the input file verbatim"),
    ATTR("/config", "overrides", "",
         "the command line's --set options (group.key=value), in order; absent if none"),
    GROUP("/config/<group>", "every key of one input group, defaults included (docs/input.md)"),
    ATTR("/config/<group>", "*", "", "an input key (docs/input.md says what it means)"),

    /* ---- stage mc */
    GROUP("/mc", "stage mc: Monte Carlo ensembles"),
    GROUP("/mc/L<L>", "Monte Carlo ensemble of one size: summary over all chains"),
    SUMMARY("/mc/L<L>"),
    CONFIGS("/mc/L<L>"),
    ATTR("/mc/L<L>", "n_chains", "1", "independent Markov chains"),
    ATTR("/mc/L<L>", "algorithm", "", "update algorithm (wolff, sw, metropolis, heatbath)"),
    DSET("/mc/L<L>", "series", "1", "[chain][sample][column] per-sample series (see columns)"),
    ATTR("/mc/L<L>/series", "columns", "", "names of the series' columns"),
    DSET("/mc/L<L>", "tau_int", "samples", "[chain][column] integrated autocorrelation times"),
    ATTR("/mc/L<L>/tau_int", "columns", "", "names of the series' columns"),
    ATTR("/mc/L<L>", "m", "1", "signed magnetisation per site m (series only)"),

    /* ---- stage train */
    GROUP("/train", "stage train: the fit of the model to block-spin pairs"),
    ATTR("/train", "model", "", "model family (sym3, sym5, sym7, conv)"),
    ATTR("/train", "kernel", "1", "kernel size of the model"),
    ATTR("/train", "channels", "1", "hidden channels (conv; 0 for sym models)"),
    ATTR("/train", "L", "1", "linear size of the training configurations"),
    ATTR("/train", "n_train", "1", "training pairs"),
    ATTR("/train", "n_validation", "1", "validation pairs"),
    ATTR("/train", "selection", "", "which model was kept: mean of the replicas or best"),
    ATTR("/train", "best_replica", "1", "replica with the lowest validation loss"),
    ATTR("/train", "selected_params", "1", "parameters of the kept model"),
    ATTR("/train", "mean_val_loss", "nat", "validation loss of the replicas' mean (NaN for conv)"),
    ATTR("/train", "params_mean", "1", "mean of the replicas' parameters"),
    ATTR("/train", "params_std", "1", "standard deviation of the replicas' parameters"),
    ATTR("/train", "optimizer", "", "newton (exact fit) or the gradient optimizer"),
    ATTR("/train", "ties", "", "how tied blocks enter the exact fit"),
    ATTR("/train", "params_error", "1", "standard errors of the exact fit's parameters (bootstrap)"),
    ATTR("/train", "newton_iterations", "1", "Newton steps of the exact fit"),
    ATTR("/train", "grad_norm", "nat", "gradient norm of the loss at the exact fit"),
    ATTR("/train", "hessian_condition", "1", "condition number of the loss's Hessian at the fit"),
    ATTR("/train", "hessian_min_eigvec", "1", "eigenvector of the Hessian's smallest eigenvalue"),
    ATTR("/train", "n_feature_vectors", "1", "distinct feature vectors counted for the exact fit"),
    ATTR("/train", "count_seconds", "s", "time spent counting feature vectors"),
    ATTR("/train", "fit_seconds", "s", "time spent in the Newton iterations"),
    DSET("/train", "params", "1", "[replica][parameter] trained parameters"),
    DSET("/train", "params_cov", "1", "[parameter][parameter] covariance of the exact fit"),
    DSET("/train", "train_loss", "nat", "[replica][epoch] training loss per spin"),
    DSET("/train", "val_loss", "nat", "[replica][epoch] validation loss per spin"),
    GROUP("/model", "the kept model (the format of a model file)"),
    ATTR("/model", "kind", "", "sym3, sym5, sym7 or conv"),
    ATTR("/model", "kernel", "1", "kernel size"),
    ATTR("/model", "channels", "1", "hidden channels (0 for sym models)"),
    ATTR("/model", "param_names", "", "one name per parameter"),
    ATTR("/model", "param_orbits", "1", "[parameter][2] orbit representative (p, q)"),
    ATTR("/model", "source", "", "imported model: the .pth file"),
    ATTR("/model", "loss", "", "imported model: bce or weighted"),
    ATTR("/model", "train_L", "1", "imported model: linear size it was trained on"),
    ATTR("/model", "batch", "1", "imported model: batch size"),
    ATTR("/model", "set_size", "1", "imported model: training-set size"),
    ATTR("/model", "learning_rate", "1", "imported model: learning rate"),
    DSET("/model", "params", "1", "the model's parameters, in the order of param_names"),

    /* ---- stage dream */
    GROUP("/dream", "stage dream: ensembles of dreamed configurations"),
    GROUP("/dream/L<L>", "dreamed ensemble of one size (level)"),
    SUMMARY("/dream/L<L>"),
    CONFIGS("/dream/L<L>"),

    /* ---- stage analyze */
    GROUP("/analyze", "stage analyze: measurements of saved configurations"),
    ATTR("/analyze", "data", "", "the file whose configurations were analysed"),
    GROUP("/analyze/<stage_source>", "analyses of the configurations one stage saved"),
    GROUP("/analyze/<stage_source>/L<L>", "summary of the saved configurations of one size"),
    SUMMARY("/analyze/<stage_source>/L<L>"),
    ATTR("/analyze/<stage_source>/L<L>", "data", "", "the file analysed"),
    ATTR("/analyze/<stage_source>/L<L>", "configs", "", "the dataset analysed"),

    /* ---- correlations */
    GROUP("/corr", "spin-spin correlations and the second-moment correlation length"),
    GROUP("/corr/<source>", "correlations of one source"),
    ATTR("/corr/<source>", "conventions", "", "the formulas of G(r), S(k) and ξ₂"),
    ATTR("/corr/<source>", "jackknife_blocks", "1", "jackknife blocks of samples"),
    GROUP("/corr/<source>/L<L>", "correlations of one size"),
    ATTR("/corr/<source>/L<L>", "L", "1", "linear size"),
    ATTR("/corr/<source>/L<L>", "n_samples", "1", "configurations measured"),
    ATTR("/corr/<source>/L<L>", "n_blocks", "1", "jackknife blocks"),
    ATTR("/corr/<source>/L<L>", "chi_prime", "1", "S(0) = N⟨m²⟩"),
    ATTR("/corr/<source>/L<L>", "S_kmin", "1", "S(k_min) = [S(2π/L, 0) + S(0, 2π/L)]/2, from line sums"),
    ATTR("/corr/<source>/L<L>", "xi2", "a", "second-moment correlation length ξ₂"),
    ATTR("/corr/<source>/L<L>", "xi2_over_L", "1", "ξ₂/L"),
    ATTR("/corr/<source>/L<L>", "xi2_over_L_critical", "1", "ξ₂/L of the critical torus, L → ∞"),
    ATTR("/corr/<source>/L<L>", "fixed_point_bits", "1", "fraction bits of the exact sums"),
    DSET("/corr/<source>/L<L>", "r", "a", "distances r = 0 … L/2 (correlation_functions)"),
    DSET("/corr/<source>/L<L>", "G_axis", "1", "G(r) along the axes (correlation_functions)"),
    DSET("/corr/<source>/L<L>", "G_diag", "1", "G(r) along the diagonal, r = √2·(0 … L/2) (correlation_functions)"),
    DSET("/corr/<source>/L<L>", "k", "1/a", "|k| of the shells of wave vectors (correlation_functions)"),
    DSET("/corr/<source>/L<L>", "S_radial", "1", "S(k) averaged over each shell of |k| (correlation_functions)"),
    DSET("/corr/<source>/L<L>", "shell_modes", "1", "wave vectors in each shell (correlation_functions)"),
    DSET("/corr/<source>/L<L>", "xi2_over_L_jackknife", "1", "[block] jackknife estimates of ξ₂/L"),
    DSET("/corr/<source>/L<L>", "S_map", "1", "[k_y][k_x = 0 … L/2] S(k) (correlation_functions, L ≤ 64)"),
    DSET("/corr/<source>/L<L>", "G_map", "1", "[y][x] G(x, y) (correlation_functions, L ≤ 64)"),

    /* ---- finite-size scaling */
    GROUP("/fss", "finite-size-scaling fits"),
    GROUP("/fss/<source>", "fits to the sizes of one source"),
    ATTR("/fss/<source>", "sizes", "1", "sizes the source measured"),
    ATTR("/fss/<source>", "L_min", "1", "smallest size fitted"),
    ATTR("/fss/<source>", "L_max", "1", "largest size fitted"),
    ATTR("/fss/<source>", "jackknife_blocks", "1", "jackknife blocks of samples"),
    ATTR("/fss/<source>", "conventions", "", "the fit models"),
    GROUP("/fss/<source>/<fit>", "one fit"),
    ATTR("/fss/<source>/<fit>", "label", "", "what is fitted, for plots"),
    ATTR("/fss/<source>/<fit>", "model", "", "the fit function y(L; a, b)"),
    ATTR("/fss/<source>/<fit>", "quantity", "", "the summary quantity fitted"),
    ATTR("/fss/<source>/<fit>", "result_is", "", "which parameter (or function of them) result is"),
    ATTR("/fss/<source>/<fit>", "result", "1", "the fitted exponent or amplitude"),
    ATTR("/fss/<source>/<fit>", "exact", "1", "its exact value"),
    ATTR("/fss/<source>/<fit>", "deviation_sigma", "1", "(result − exact)/result_err"),
    ATTR("/fss/<source>/<fit>", "a", "1", "fit parameter a"),
    ATTR("/fss/<source>/<fit>", "b", "1", "fit parameter b"),
    ATTR("/fss/<source>/<fit>", "chi2_dof", "1", "χ² per degree of freedom (diagonal errors)"),
    ATTR("/fss/<source>/<fit>", "chi2_dof_correlated", "1", "χ² per degree of freedom (covariance)"),
    ATTR("/fss/<source>/<fit>", "L_min", "1", "smallest size fitted"),
    ATTR("/fss/<source>/<fit>", "L_max", "1", "largest size fitted"),
    ATTR("/fss/<source>/<fit>", "n_points", "1", "sizes fitted"),
    DSET("/fss/<source>/<fit>", "L", "1", "sizes fitted"),
    DSET("/fss/<source>/<fit>", "y", "1", "fitted values"),
    DSET("/fss/<source>/<fit>", "scan_L_min", "1", "L_min of each fit of the scan"),
    DSET("/fss/<source>/<fit>", "scan_chi2_dof", "1", "χ²/dof of each fit of the scan"),
    DSET("/fss/<source>/<fit>", "scan_result", "1", "result of each fit of the scan"),

    /* ---- MCRG */
    GROUP("/mcrg", "Monte Carlo renormalization group"),
    GROUP("/mcrg/<source>", "MCRG of one source"),
    GROUP("/mcrg/<source>/<pairs>", "MCRG of one kind of configuration pairs"),
    ATTR("/mcrg/<source>/<pairs>", "sets", "", "operator sets"),
    ATTR("/mcrg/<source>/<pairs>", "tie_rule", "", "majority rule's tie breaking"),
    ATTR("/mcrg/<source>/<pairs>", "jackknife_blocks", "1", "jackknife blocks of samples"),
    ATTR("/mcrg/<source>/<pairs>", "rcond", "1", "relative cut-off of the linear solves"),
    ATTR("/mcrg/<source>/<pairs>", "conventions", "", "the formulas of T, λ and y"),
    GROUP("/mcrg/<source>/<pairs>/level<k>", "one pair of levels"),
    ATTR("/mcrg/<source>/<pairs>/level<k>", "level", "1", "level of the pair"),
    ATTR("/mcrg/<source>/<pairs>/level<k>", "L_coarse", "1", "linear size of the coarse lattice"),
    ATTR("/mcrg/<source>/<pairs>/level<k>", "L_fine", "1", "linear size of the fine lattice"),
    ATTR("/mcrg/<source>/<pairs>/level<k>", "n_samples", "1", "configuration pairs"),
    ATTR("/mcrg/<source>/<pairs>/level<k>", "n_blocks", "1", "jackknife blocks"),
    ATTR("/mcrg/<source>/<pairs>/level<k>", "tie_fraction", "1", "fraction of tied blocks"),
    GROUP(MCRG_SET, "one operator set"),
    ATTR(MCRG_SET, "operators", "", "operator names"),
    ATTR(MCRG_SET, "definitions", "", "operator definitions"),
    ATTR(MCRG_SET, "odd", "", "per operator: 1 if odd under spin flip"),
    ATTR(MCRG_SET, "lambda_t", "1", "leading even eigenvalue of T (exact 2)"),
    ATTR(MCRG_SET, "y_t", "1", "thermal exponent y_t = log₂ λ_t (exact 1)"),
    ATTR(MCRG_SET, "lambda_h", "1", "leading odd eigenvalue of T (exact 2^{15/8})"),
    ATTR(MCRG_SET, "y_h", "1", "magnetic exponent y_h = log₂ λ_h (exact 15/8)"),
    DSET(MCRG_SET, "A", "1", "[a][b] ⟨S_a^coarse S_b^fine⟩ − ⟨S_a^coarse⟩⟨S_b^fine⟩"),
    DSET(MCRG_SET, "B", "1", "[a][b] ⟨S_a^coarse S_b^coarse⟩ − ⟨S_a^coarse⟩⟨S_b^coarse⟩"),
    DSET(MCRG_SET, "mean_coarse", "1", "⟨S_a⟩ on the coarse lattice"),
    DSET(MCRG_SET, "mean_fine", "1", "⟨S_a⟩ on the fine lattice"),
    DSET(MCRG_SET, "operator", "", "the operators' names (dimension scale of A, B, mean_*)"),
    GROUP(MCRG_PARITY, "one spin-flip sector"),
    ATTR(MCRG_PARITY, "operators", "", "the sector's operators"),
    ATTR(MCRG_PARITY, "operator_index", "1", "their indices in the set"),
    DSET(MCRG_PARITY, "T", "1", "[m][m] linearised RG transformation"),
    DSET(MCRG_PARITY, "eigenvalues", "1", "[m][re, im] eigenvalues of T, by modulus"),
    DSET(MCRG_PARITY, "eigenvalues_err", "1", "[m][re, im] standard errors of the eigenvalues"),
    DSET(MCRG_PARITY, "y", "1", "RG exponents y = log₂|λ|"),
    DSET(MCRG_PARITY, "series_eigenvalues", "1", "[N_c][m][re, im] eigenvalues with N_c operators"),
    DSET(MCRG_PARITY, "series_eigenvalues_err", "1",
         "[N_c][m][re, im] standard errors of the eigenvalues with N_c operators"),
    DSET(MCRG_PARITY, "series_y", "1", "[N_c][m] exponents with N_c operators"),
    ATTR(MCRG_PARITY "/eigenvalues", "columns", "", "re, im"),
    ATTR(MCRG_PARITY "/eigenvalues_err", "columns", "", "re, im"),
    ATTR(MCRG_PARITY "/series_eigenvalues", "columns", "", "re, im"),
    ATTR(MCRG_PARITY "/series_eigenvalues_err", "columns", "", "re, im"),
};

static const invrg_schema_suffix suffixes[] = {
    {"_err", NULL, "standard error of: %s"},
    {"_tau_int", "samples", "integrated autocorrelation time of the series of: %s"},
    {"_err_tau", NULL, "standard error from τ_int of: %s"},
    {"_err_binning", NULL, "standard error from binning of: %s"},
    {"_dev_sigma", "1", "(measured − exact)/error of: %s"},
};

const invrg_schema_entry *invrg_schema_entries(size_t *n) {
  *n = sizeof entries / sizeof entries[0];
  return entries;
}

const invrg_schema_suffix *invrg_schema_suffixes(size_t *n) {
  *n = sizeof suffixes / sizeof suffixes[0];
  return suffixes;
}

/* ------------------------------------------------------------------ matching */

static bool is_number(const char *s, size_t n) {
  if (n == 0) return false;
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i])) return false;
  return true;
}

static bool one_of(const char *s, size_t n, const char *const *words) {
  for (; *words != NULL; words++)
    if (strlen(*words) == n && strncmp(s, *words, n) == 0) return true;
  return false;
}

/*
 * The placeholders of path patterns: a segment's <name> matches one of `words`, or (if
 * number_prefix is not NULL) number_prefix followed by decimal digits, or (any) any name.
 */
typedef struct {
  const char *name;
  const char *const *words;
  const char *number_prefix;
  bool any;
} placeholder;

static const char *const no_words[] = {NULL};
static const char *const sources[] = {"mc", "dream", "analyze_mc", "analyze_dream", NULL};
static const char *const stage_sources[] = {"mc", "dream", NULL};
static const char *const pair_kinds[] = {"up", "down", "blocked", NULL};
static const char *const sets[] = {"swendsen", "paper36", NULL};
static const char *const parities[] = {"even", "odd", NULL};
static const char *const fits[] = {"gamma_over_nu", "beta_over_nu", "one_over_nu",
                                   "specific_heat_amplitude", "V4_infinity",
                                   "xi2_over_L_infinity", NULL};

static const placeholder placeholders[] = {
    {"L", no_words, "", false},
    {"k", no_words, "", false},
    {"source", sources, NULL, false},
    {"stage_source", stage_sources, NULL, false},
    {"pairs", pair_kinds, "blocked_L", false},
    {"set", sets, NULL, false},
    {"parity", parities, NULL, false},
    {"fit", fits, NULL, false},
    {"group", no_words, NULL, true},
    {"table", no_words, NULL, true},
};
enum { N_PLACEHOLDERS = sizeof placeholders / sizeof placeholders[0] };

/* Does the text s[0, n) match placeholder name[0, m) (without the brackets)? */
static bool placeholder_matches(const char *name, size_t m, const char *s, size_t n) {
  for (int i = 0; i < N_PLACEHOLDERS; i++) {
    const placeholder *p = &placeholders[i];
    if (strlen(p->name) != m || strncmp(p->name, name, m) != 0) continue;
    if (p->any) return n > 0;
    if (one_of(s, n, p->words)) return true;
    size_t pre = p->number_prefix != NULL ? strlen(p->number_prefix) : 0;
    return p->number_prefix != NULL && n > pre && strncmp(s, p->number_prefix, pre) == 0 &&
           is_number(s + pre, n - pre);
  }
  return false;
}

/* One segment: literal text around at most one <placeholder>. */
static bool segment_matches(const char *p, size_t pn, const char *s, size_t sn) {
  const char *open = memchr(p, '<', pn);
  if (open == NULL) return pn == sn && strncmp(p, s, pn) == 0;
  const char *close = memchr(open, '>', pn - (size_t)(open - p));
  if (close == NULL) return false;
  size_t pre = (size_t)(open - p), post = pn - (size_t)(close + 1 - p);
  if (sn < pre + post || strncmp(p, s, pre) != 0 || strncmp(close + 1, s + sn - post, post) != 0)
    return false;
  return placeholder_matches(open + 1, (size_t)(close - open - 1), s + pre, sn - pre - post);
}

bool invrg_schema_path_matches(const char *pattern, const char *path) {
  if (strcmp(pattern, "*") == 0) return true; /* any group or dataset */
  if (strcmp(pattern, "/") == 0 || strcmp(path, "/") == 0) return strcmp(pattern, path) == 0;
  while (*pattern == '/' && *path == '/') {
    pattern++, path++;
    size_t pn = strcspn(pattern, "/"), sn = strcspn(path, "/");
    if (!segment_matches(pattern, pn, path, sn)) return false;
    pattern += pn, path += sn;
  }
  return *pattern == '\0' && *path == '\0';
}

static const invrg_schema_entry *find_exact(const char *path, invrg_schema_kind kind,
                                            const char *name) {
  for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
    const invrg_schema_entry *e = &entries[i];
    const bool name_matches = strcmp(e->name, name) == 0 || strcmp(e->name, "*") == 0 ||
                              (strchr(e->name, '<') != NULL &&
                               segment_matches(e->name, strlen(e->name), name, strlen(name)));
    if (e->kind == kind && name_matches && invrg_schema_path_matches(e->path, path))
      return e;
  }
  return NULL;
}

const invrg_schema_entry *invrg_schema_find(const char *path, invrg_schema_kind kind,
                                            const char *name, const invrg_schema_suffix **suffix) {
  if (suffix != NULL) *suffix = NULL;
  const invrg_schema_entry *e = find_exact(path, kind, name);
  if (e != NULL || kind == INVRG_SCHEMA_GROUP) return e;
  size_t len = strlen(name);
  for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
    size_t sl = strlen(suffixes[k].suffix);
    if (len <= sl || strcmp(name + len - sl, suffixes[k].suffix) != 0) continue;
    char base[128];
    if (len - sl >= sizeof base) continue;
    memcpy(base, name, len - sl);
    base[len - sl] = '\0';
    /* A derived dataset's base is a dataset; a derived attribute's base an attribute, except
     * the τ_int of the series (mc), whose bases are the series' columns. */
    e = find_exact(path, kind, base);
    if (e != NULL) {
      if (suffix != NULL) *suffix = &suffixes[k];
      return e;
    }
  }
  return NULL;
}

int invrg_schema_size_path(char *buf, size_t n, const char *top, const char *source, int64_t L) {
  if (source == NULL || source[0] == '\0') return snprintf(buf, n, "/%s/L%lld", top, (long long)L);
  return snprintf(buf, n, "/%s/%s/L%lld", top, source, (long long)L);
}

/* ------------------------------------------------------------------ JSON */

static void json_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s != '\0'; s++) {
    if (*s == '"' || *s == '\\') fprintf(out, "\\%c", *s);
    else if ((unsigned char)*s < 0x20) fprintf(out, "\\u%04x", (unsigned)*s);
    else fputc(*s, out);
  }
  fputc('"', out);
}

void invrg_schema_print_json(FILE *out) {
  static const char *const kinds[] = {"group", "dataset", "attribute"};
  fprintf(out, "{\n  \"entries\": [\n");
  size_t n = sizeof entries / sizeof entries[0];
  for (size_t i = 0; i < n; i++) {
    const invrg_schema_entry *e = &entries[i];
    fprintf(out, "    {\"path\": ");
    json_string(out, e->path);
    fprintf(out, ", \"kind\": \"%s\", \"name\": ", kinds[e->kind]);
    json_string(out, e->name);
    fprintf(out, ", \"units\": ");
    json_string(out, e->units);
    fprintf(out, ", \"description\": ");
    json_string(out, e->description);
    fprintf(out, "}%s\n", i + 1 < n ? "," : "");
  }
  fprintf(out, "  ],\n  \"suffixes\": [\n");
  size_t m = sizeof suffixes / sizeof suffixes[0];
  for (size_t k = 0; k < m; k++) {
    fprintf(out, "    {\"suffix\": ");
    json_string(out, suffixes[k].suffix);
    fprintf(out, ", \"units\": ");
    if (suffixes[k].units == NULL) fprintf(out, "null");
    else json_string(out, suffixes[k].units);
    fprintf(out, ", \"description\": ");
    json_string(out, suffixes[k].description);
    fprintf(out, "}%s\n", k + 1 < m ? "," : "");
  }
  fprintf(out, "  ],\n  \"placeholders\": [\n");
  for (int i = 0; i < N_PLACEHOLDERS; i++) {
    const placeholder *p = &placeholders[i];
    fprintf(out, "    {\"name\": ");
    json_string(out, p->name);
    fprintf(out, ", \"words\": [");
    for (const char *const *w = p->words; *w != NULL; w++) {
      if (w != p->words) fprintf(out, ", ");
      json_string(out, *w);
    }
    fprintf(out, "], \"number_prefix\": ");
    if (p->number_prefix == NULL) fprintf(out, "null");
    else json_string(out, p->number_prefix);
    fprintf(out, ", \"any\": %s}%s\n", p->any ? "true" : "false", i + 1 < N_PLACEHOLDERS ? "," : "");
  }
  fprintf(out, "  ]\n}\n");
}
