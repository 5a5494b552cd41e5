/* Benchmark of a whole dream stage (informational): n sym3 dreams from one spin to 128²,
 * measured at every level from 2² (observables, MCRG up and down pairs at every level and
 * blocked pairs at the top, swendsen set, ξ₂/L), each run a whole pipeline run of stage dream
 * in this process, for lattice = 'int8' and 'packed' with random_bits = 'words' and 'planes'.
 * Prints the medians over the runs of the stage's wall time (/run@stage_seconds) as fine
 * spins/s per core (the spins of every level, as the stage's progress counts them), and per
 * level the ns per fine site of generation, observables, MCRG and correlations
 * (/run/dream_seconds); the rest of the stage (per-sample bookkeeping, the fold of the
 * windows, the results) as "other". On a shared machine the CPU time of the whole run (this
 * process: the stage, and the run file's creation and end) shows what the load hides.
 *   bench_dream_stage [runs = 3] [n_samples = 10000] [levels = 7] [variant ...]
 * variants: int8, words, planes (default: all three, alternating run by run). */
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "invrg/cli.h"
#include "invrg/h5util.h"
#include "invrg/log.h"
#include "invrg/pipeline.h"

enum { MAX_LEVELS = 12, N_COSTS = 4, MAX_VARIANTS = 3 };

static const struct {
  const char *name, *keys;
} variants[MAX_VARIANTS] = {{"int8", "lattice = 'int8'"},
                            {"words", "lattice = 'packed', random_bits = 'words'"},
                            {"planes", "lattice = 'packed', random_bits = 'planes'"}};

/* One run's figures: the stage's seconds, and [level][cost] seconds of the slowest rank. */
typedef struct {
  double stage, cpu; /* the stage's wall seconds; CPU seconds of the whole run on this rank */
  double cost[MAX_LEVELS + 1][N_COSTS];
} timing;

static double load_average(void) {
  double load = NAN;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f != NULL) {
    if (fscanf(f, "%lf", &load) != 1) load = NAN;
    fclose(f);
  }
  return load;
}

/* The stage's figures from the run file @p path (on world rank 0). */
static void read_timing(const char *path, int levels, timing *t) {
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), run = H5Gopen2(file, "run", H5P_DEFAULT);
  hid_t a = H5Aopen(run, "stage_seconds", H5P_DEFAULT);
  hid_t d = H5Dopen2(run, "dream_seconds", H5P_DEFAULT);
  double seconds[(MAX_LEVELS + 1) * N_COSTS];
  if (file < 0 || run < 0 || a < 0 || d < 0 || H5Aread(a, H5T_NATIVE_DOUBLE, &t->stage) < 0 ||
      H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, seconds) < 0) {
    fprintf(stderr, "bench_dream_stage: cannot read /run of %s\n", path);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  for (int l = 0; l <= levels; l++)
    for (int c = 0; c < N_COSTS; c++) t->cost[l][c] = seconds[l * N_COSTS + c];
  H5Dclose(d);
  H5Aclose(a);
  H5Gclose(run);
  H5Fclose(file);
}

/* One pipeline run of stage dream in directory @p dir; its figures on world rank 0. */
static void run_stage(const char *dir, int variant, long n_samples, int levels, timing *t) {
  char input[512], output[512];
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  snprintf(input, sizeof input, "%s/dream.nml", dir);
  snprintf(output, sizeof output, "%s/dream.h5", dir);
  if (rank == 0) {
    FILE *f = fopen(input, "w");
    if (f == NULL) MPI_Abort(MPI_COMM_WORLD, 1);
    fprintf(f,
            "&run stages = 'dream', output = '%s', seed = 2506, log_level = 'warn' /\n"
            "&dream model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = %d, "
            "n_samples = %ld, measure_from = 1, %s /\n&output overwrite = .true. /\n",
            output, levels, n_samples, variants[variant].keys);
    fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  invrg_cli cli = {.action = INVRG_ACTION_RUN, .input_path = input};
  struct timespec c0, c1;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  CHECK(invrg_pipeline_run(&cli));
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  invrg_log_end_run();
  t->cpu = (double)(c1.tv_sec - c0.tv_sec) + 1e-9 * (double)(c1.tv_nsec - c0.tv_nsec);
  if (rank == 0) {
    read_timing(output, levels, t);
    remove(output);
    remove(input);
  }
}

static double median_of(const timing *t, int runs, int level, int cost) {
  double x[BENCH_MAX_RUNS];
  for (int r = 0; r < runs; r++)
    x[r] = level == -2 ? t[r].cpu : level < 0 ? t[r].stage : cost < 0 ? t[r].cost[level][0] + t[r].cost[level][1] +
                                                   t[r].cost[level][2] + t[r].cost[level][3]
                                             : t[r].cost[level][cost];
  return bench_median(x, runs);
}

/* The medians of one variant: the stage's rate, then ns per fine site per level and cost. */
static void report(int variant, const timing *t, int runs, long n, int levels, int ranks) {
  double spins = 0, costs = 0;
  for (int l = 1; l <= levels; l++) spins += (double)n * ldexp(1.0, 2 * l);
  const double stage = median_of(t, runs, -1, 0), cpu = median_of(t, runs, -2, 0);
  printf("%-7s stage %.3f s wall (median of %d): %.3g fine spins/s per core (%.3g top-level "
         "spins/s); the whole run %.3f s of CPU: %.3g fine spins/s\n",
         variants[variant].name, stage, runs, spins / stage / ranks,
         (double)n * ldexp(1.0, 2 * levels) / stage / ranks, cpu, spins / cpu / ranks);
  printf("        %6s %8s %8s %8s %8s %8s | us per sample\n", "L", "gen", "obs", "mcrg", "corr",
         "all");
  for (int l = 1; l <= levels; l++) {
    const double sites = (double)n * ldexp(1.0, 2 * l) / 1e9 / ranks; /* per core, in 1e9 */
    double c[N_COSTS + 1];
    for (int k = 0; k < N_COSTS; k++) c[k] = median_of(t, runs, l, k);
    c[N_COSTS] = median_of(t, runs, l, -1);
    costs += c[N_COSTS];
    printf("        %6d %8.2f %8.2f %8.2f %8.2f %8.2f | %.2f\n", 1 << l, c[0] / sites, c[1] / sites,
           c[2] / sites, c[3] / sites, c[N_COSTS] / sites, 1e6 * c[N_COSTS] * ranks / (double)n);
  }
  printf("        other (bookkeeping, folds, results): %.3f s = %.2f us per sample\n",
         stage - costs, 1e6 * (stage - costs) * ranks / (double)n);
}

int main(int argc, char **argv) {
  setenv("OMPI_MCA_sharedfp", "lockedfile", 0); /* as main.c */
  MPI_Init(&argc, &argv);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  invrg_log_init(rank);
  invrg_h5_init();
  const int runs = argc > 1 ? atoi(argv[1]) : 3;
  const long n = argc > 2 ? atol(argv[2]) : 10000;
  const int levels = argc > 3 ? atoi(argv[3]) : 7;
  int chosen[MAX_VARIANTS], n_chosen = 0;
  for (int k = 4; k < argc && n_chosen < MAX_VARIANTS; k++)
    for (int v = 0; v < MAX_VARIANTS; v++)
      if (strcmp(argv[k], variants[v].name) == 0) chosen[n_chosen++] = v;
  if (n_chosen == 0)
    for (int v = 0; v < MAX_VARIANTS; v++) chosen[n_chosen++] = v;
  if (runs < 1 || runs > BENCH_MAX_RUNS || n < 1 || levels < 1 || levels > MAX_LEVELS) {
    if (rank == 0) fprintf(stderr, "bench_dream_stage: runs 1 .. %d, n_samples >= 1, levels 1 .. %d\n",
                           BENCH_MAX_RUNS, MAX_LEVELS);
    MPI_Finalize();
    return 2;
  }
  char dir[64] = "/tmp/bench_dream_stage.XXXXXX";
  if (rank == 0 && mkdtemp(dir) == NULL) MPI_Abort(MPI_COMM_WORLD, 1);
  MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
  static timing t[MAX_VARIANTS][BENCH_MAX_RUNS];
  const double load0 = load_average();
  for (int r = 0; r < runs; r++) /* variants alternate: a change of load hits all alike */
    for (int k = 0; k < n_chosen; k++) run_stage(dir, chosen[k], n, levels, &t[k][r]);
  if (rank == 0) {
    printf("stage dream: %ld sym3 dreams to %d^2, measured from 2^2 (swendsen, xi2/L), %d rank%s; "
           "load average %.2f before, %.2f after\n",
           n, 1 << levels, ranks, ranks > 1 ? "s" : "", load0, load_average());
    for (int k = 0; k < n_chosen; k++) report(chosen[k], t[k], runs, n, levels, ranks);
    rmdir(dir);
  }
  MPI_Finalize();
  return 0;
}
