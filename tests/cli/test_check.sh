#!/usr/bin/env bash
# invrg --check and the checks every run makes before any work: every error an input can have
# is reported at once with file:line:col, exit 2, nothing written; --ranks N checks the layout
# of a bigger run on one process; options that need no MPI do not start it; one run per output.
source "$(dirname "$0")/lib.sh"

# no_output <description> <names...>: none of the files exists
no_output() {
  local what=$1 left=""
  shift
  for f in "$@"; do [ -e "$f" ] && left="$left $f"; done
  [ -z "$left" ] && pass "$what: nothing written" || fail "$what: left behind:$left"
}

# A stage that started would print "== stage"; refusals must come before.
no_stage_started() {
  grep -q '== stage' out.txt && fail "$1: a stage started before the refusal" || pass "$1: refused before any stage"
}

# --- options that need no MPI: a shim makes MPI_Init fail loudly if anything calls it
cat > no_mpi.c <<'C'
#include <stdio.h>
#include <unistd.h>
int MPI_Init(int *argc, char ***argv) {
  (void)argc; (void)argv;
  fputs("MPI_Init called\n", stderr);
  _exit(99);
}
C
cc -shared -fPIC -o no_mpi.so no_mpi.c || fail "cannot build the MPI_Init shim"
# (a sanitizer build must accept a preloaded library ahead of its runtime)
asan="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
for opt in --help --version --print-default-input --print-input-reference; do
  expect_status 0 "$opt without MPI" -- env ASAN_OPTIONS="$asan" LD_PRELOAD="$PWD/no_mpi.so" "$INVRG" "$opt"
done
printf "&run stages = 'mc', output = 'x.h5' /\n" > tiny.nml
expect_status 99 "the shim catches MPI_Init (a run needs MPI)" -- env ASAN_OPTIONS="$asan" LD_PRELOAD="$PWD/no_mpi.so" "$INVRG" --check tiny.nml

# --- semantic errors of several groups in one file: all reported, in one run, before any stage
cat > three.nml <<'NML'
&run stages = 'mc', 'dream', output = 'three.h5' /
&mc L = 8, 16, n_samples = 10, blocks_per_chain = 20 /
&dream levels = 4, measure_from = 6, model = 'sym3', params = 0.5, 0.6, 1.4 /
NML
expect_status 2 "three semantic errors (--check)" -- "$INVRG" --check three.nml
expect_grep err.txt "three.nml:2:32: error: blocks_per_chain = 20 is more than n_samples = 10" "&mc error with file:line:col"
expect_grep err.txt "three.nml:3:20: error: measure_from = 6 is above levels = 4" "&dream error with file:line:col"
expect_grep err.txt "three.nml: 2 errors" "the count of errors"
[ "$(grep -c ': error: ' err.txt)" -eq 2 ] && pass "each error once" || { fail "expected 2 error lines"; cat err.txt; }
expect_status 2 "three semantic errors (a run on 2 ranks)" -- "$MPIEXEC" -n 2 "$INVRG" three.nml
[ "$(grep -c ': error: ' err.txt)" -eq 2 ] && pass "a run reports the same errors, once on 2 ranks" \
  || { fail "expected 2 error lines from the run"; cat err.txt; }
no_stage_started "semantic errors"
no_output "semantic errors" three.h5 three.h5.tmp three.h5.lock

# --- a value out of its range does not hide the errors between other keys: the file's errors
# and theirs in one report; the checks that read a refused key wait for its value
cat > refused.nml <<'NML'
&run stages = 'dream', output = 'refused.h5' /
&dream model = 'sym3', params = 0.5, 0.6, 1.4, levels = 5, measure_from = 7,
  n_samples = 0, save_levels = 9 /
&analyze jackknife_blocks = 1 /
NML
expect_status 2 "values out of range and errors between keys (--check)" -- "$INVRG" --check refused.nml
expect_grep err.txt "refused.nml:2:60: error: measure_from = 7 is above levels = 5" "an error between keys beside refused values"
expect_grep err.txt "refused.nml:3:18: error: save_levels holds 9, outside 1 .. levels = 5" "a second one, in file order"
expect_grep err.txt "refused.nml:3:15: error: key 'n_samples' must be >= 1, got 0" "the refused value's own error"
expect_grep err.txt "refused.nml:4:29: error: key 'jackknife_blocks' must be between 2 and 10000, got 1" "another group's refused value"
expect_grep err.txt "refused.nml: 4 errors" "the count of all of them"
[ "$(grep -c ': error: ' err.txt)" -eq 4 ] && pass "each error once" || { fail "expected 4 error lines"; cat err.txt; }
[ "$(grep -n ': error: ' err.txt | cut -d: -f3 | tr '\n' ' ')" = "2 3 3 4 " ] \
  && pass "the report in file order" || { fail "not in file order"; cat err.txt; }
grep -q 'memory:' out.txt err.txt && fail "estimates from values the input did not give were logged" \
  || pass "no estimate from substituted values"
expect_status 2 "the same on 2 ranks (a run)" -- "$MPIEXEC" -n 2 "$INVRG" refused.nml
[ "$(grep -c ': error: ' err.txt)" -eq 4 ] && pass "a run on 2 ranks reports them once" || { fail "expected 4 error lines from the run"; cat err.txt; }
no_output "refused values" refused.h5 refused.h5.tmp refused.h5.lock
# A refused levels: the errors that compare with it wait; an override's good value replaces it.
sed -e 's/levels = 5/levels = 0/' refused.nml > refused_levels.nml
expect_status 2 "levels refused" -- "$INVRG" --check refused_levels.nml
expect_grep err.txt "refused_levels.nml:2:57: error: key 'levels' must be between 1 and 20, got 0" "levels' own error"
grep -q 'measure_from\|save_levels' err.txt && { fail "an error that compares with a refused levels"; cat err.txt; } \
  || pass "no error that compares with the refused levels"
expect_status 2 "levels refused, then given by --set" -- "$INVRG" --check refused_levels.nml --set dream.levels=6
expect_grep err.txt "refused_levels.nml:2:60: error: measure_from = 7 is above levels = 6" "checked against the override's levels"
# Loose syntax (an unknown key) still stops before the checks between keys: what it meant is unknown.
printf "&run stages = 'dream', output = 'x.h5' /\n&dream levles = 5, measure_from = 9 /\n" > loose.nml
expect_status 2 "an unknown key" -- "$INVRG" --check loose.nml
grep -q 'measure_from' err.txt && fail "checked between keys beside a misspelt key" || pass "no checks between keys beside a misspelt key"
# So does a key swallowed by the values before it (a missing '=', an unclosed quote): a count or
# type error is not a refused value, whatever key it names.
printf "&run stages = 'dream', output = 'x.h5' /\n&dream measure_from = 9,\n  n_samples = 50\n  levels 10 /\n" > noeq.nml
expect_status 2 "a missing '=' after a key" -- "$INVRG" --check noeq.nml
expect_grep err.txt "noeq.nml:3:3: error: key 'n_samples' expects 1 value, got 3" "the swallowed key's error"
grep -q 'measure_from' err.txt && fail "checked between keys beside a swallowed key" || pass "no checks between keys beside a swallowed key"
printf "&run stages = 'dream', output = 'x.h5' /\n&dream measure_from = 9,\n  start_file = 'Wilson's', levels = 10 /\n" > quote.nml
expect_status 2 "an unclosed quote" -- "$INVRG" --check quote.nml
grep -q 'measure_from' err.txt && fail "checked between keys beside an unclosed quote" || pass "no checks between keys beside an unclosed quote"
# A refused list is tried with no values, each value and all of them: the fit range is not
# compared with the sizes of a source the user may not have meant.
printf "&run stages = 'mc', output = 'x.h5' /\n&mc L = 16, 32, n_samples = 100 /\n&analyze fss_sources = 'dream', 'dreem', fss_Lmin = 24 /\n" > fss_refused.nml
expect_status 2 "a refused list" -- "$INVRG" --check fss_refused.nml
[ "$(grep -c ': error: ' err.txt)" -eq 1 ] && pass "a refused list: its own error only" || { fail "a refused list: expected 1 error"; cat err.txt; }

# Checks run stage by stage, but the report reads in the order of the file.
cat > order.nml <<'NML'
&run stages = 'mc', 'dream', output = 'order.h5' /
&mc L = 8, 16, n_samples = 10, blocks_per_chain = 20 /
&dream levels = 4, measure_from = 6 /
&analyze fss_Lmin = 64, fss_Lmax = 8 /
&train epochs = 3 /
NML
expect_status 2 "errors of four groups" -- "$INVRG" --check order.nml
lines=$(grep -E '^order.nml:[0-9]+:' err.txt | cut -d: -f2 | tr '\n' ' ')
[ "$lines" = "2 3 3 4 5 " ] && pass "reported in the order of the file (lines $lines)" \
  || { fail "order of the report: lines $lines"; cat err.txt; }

# --- an output directory that does not exist: an input error at &run output
printf "&run stages = 'mc', output = 'missing_dir/a.h5' /\n&mc L = 8, n_samples = 20 /\n" > nodir.nml
expect_status 2 "missing output directory (--check)" -- "$INVRG" --check nodir.nml
expect_grep err.txt "nodir.nml:1:21: error: the directory 'missing_dir' of output 'missing_dir/a.h5' does not exist" \
  "missing directory named at file:line:col"
expect_status 2 "missing output directory (run)" -- "$INVRG" nodir.nml
no_stage_started "missing output directory"
# the log's default place (<output>.log) is the output's directory: its fault said once, at the
# key that chose it (here an override), not also at a line of the file that never named it
printf "&run stages = 'mc' /\n&mc L = 8, n_samples = 20 /\n" > dirless.nml
expect_status 2 "missing directory of an overridden output (--check)" -- \
  "$INVRG" --check dirless.nml --set run.output=runs/x.h5
[ "$(grep -c 'error:' err.txt)" = 1 ] && pass "the missing directory reported once" \
  || { fail "the missing directory reported $(grep -c 'error:' err.txt) times"; cat err.txt; }
expect_grep err.txt "command line: --set #1 'run.output=runs/x.h5': error: the directory 'runs' of output" \
  "the error names the override"
mkdir ro && chmod 555 ro
printf "&run stages = 'mc', output = 'ro/a.h5' /\n&mc L = 8, n_samples = 20 /\n" > ro.nml
if [ "$(id -u)" -ne 0 ]; then
  expect_status 2 "read-only output directory" -- "$INVRG" --check ro.nml
  expect_grep err.txt "cannot create files in the directory 'ro'" "read-only directory explained"
fi
no_output "output checks" missing_dir ro/a.h5

# --- fit ranges: empty, or keeping fewer than 2 of the measured sizes
cat > fss.nml <<'NML'
&run stages = 'dream', output = 'fss.h5' /
&dream levels = 5, measure_from = 3, n_samples = 8, model = 'sym3', params = 0.5, 0.6, 1.4 /
&analyze fss_Lmin = 64, fss_Lmax = 8 /
NML
expect_status 2 "fss_Lmin above fss_Lmax" -- "$INVRG" --check fss.nml
expect_grep err.txt "fss.nml:3:10: error: fss_Lmin = 64 is above fss_Lmax = 8" "empty fit range at fss_Lmin"
sed -i 's/fss_Lmin = 64, fss_Lmax = 8/fss_Lmin = 64/' fss.nml
expect_status 2 "fss_Lmin above every dreamed size" -- "$INVRG" --check fss.nml
expect_grep err.txt "fss.nml:3:10: error: fss_Lmin = 64, fss_Lmax = 0 keep 0 of the measured dream sizes (8, 16, 32); a finite-size-scaling fit of dream needs at least 2" \
  "a range outside the sizes names them"
sed -i 's/fss_Lmin = 64/fss_Lmin = 16/' fss.nml
expect_status 0 "fss_Lmin keeping 2 sizes is fine" -- "$INVRG" --check fss.nml
printf "&run stages = 'mc', output = 'fssmc.h5' /\n&mc L = 8, 16, 32, n_samples = 20 /\n&analyze fss_Lmax = 8 /\n" > fssmc.nml
expect_status 2 "fss_Lmax below all but one Monte Carlo size" -- "$INVRG" --check fssmc.nml
expect_grep err.txt "fssmc.nml:3:10: error: fss_Lmin = 0, fss_Lmax = 8 keep 1 of &mc L (8, 16, 32)" \
  "the Monte Carlo sizes are named"
# an operator set or a fitted source listed twice: refused by the check, at the key (a run
# stopped at the start of its stage, without a place in the file)
printf "&run stages = 'dream', output = 'twice.h5' /\n&dream levels = 4, model = 'sym3', params = 0.5, 0.6, 1.4 /\n&analyze operators = 'swendsen', 'swendsen', fss_sources = 'mc', 'mc' /\n" > twice.nml
expect_status 2 "lists with a name twice" -- "$INVRG" --check twice.nml
expect_grep err.txt "twice.nml:3:10: error: key 'operators': 'swendsen' is listed twice" "an operator set twice"
expect_grep err.txt "twice.nml:3:46: error: key 'fss_sources': 'mc' is listed twice" "a fitted source twice"

# Metropolis on the 2 x 2 torus is not ergodic (the checkerboard sweep cycles through the stripe
# states); a chain longer than the random-number counter numbers (2^48 sweeps, or clusters for
# Wolff) is refused before it overflows
printf "&run stages = 'mc', output = 'l2.h5' /\n&mc L = 2, 4, algorithm = 'metropolis',\n  n_therm = 9223372036854775000, sample_every = 9223372036854775000 /\n" > l2.nml
expect_status 2 "Metropolis at L = 2 and sweeps near 2^63" -- "$INVRG" --check l2.nml
expect_grep err.txt "l2.nml:2:15: error: 'metropolis' is not ergodic at L = 2" "Metropolis at L = 2"
expect_grep err.txt "l2.nml:3:34: error: a chain of 9.233e+21 sweeps (n_therm + n_samples x sample_every) overruns the random-number counter: at most 2.815e+14 sweeps" "sweeps beyond 2^48"
printf "&run stages = 'mc', output = 'sweeps.h5' /\n&mc L = 16, algorithm = 'sw', n_samples = 1000, sample_every = 10,\n  n_therm = 281474976700000 /\n" > sweeps.nml
expect_status 0 "2^48 - 656 sweeps per chain: accepted" -- "$INVRG" --check sweeps.nml
sed -i "s/n_therm = 281474976700000/n_therm = 281474976700657/" sweeps.nml
expect_status 2 "2^48 + 1 sweeps per chain" -- "$INVRG" --check sweeps.nml
expect_grep err.txt "sweeps.nml:3:3: error: a chain of 2.815e+14 sweeps" "one sweep too many, at n_therm"
printf "&run stages = 'mc', output = 'wolff.h5' /\n&mc L = 1024, algorithm = 'wolff', n_therm = 300000000 /\n" > wolff.nml
expect_status 2 "Wolff: 2^48 clusters" -- "$INVRG" --check wolff.nml
expect_grep err.txt "at most 2.684e+08 sweeps at L = 1024 (2^48 clusters, one per flipped spin at most)" "Wolff's bound is sweeps x N"

# a coupling whose C/N = K² N var(E) or its error would overflow (inf once the run was done)
printf "&run stages = 'mc', output = 'cold.h5' /\n&mc L = 8, n_samples = 20, beta = 1e51 /\n" > cold.nml
expect_status 2 "beta = 1e51" -- "$INVRG" --check cold.nml
expect_grep err.txt "cold.nml:2:35: error: key 'beta' must be <= 1e+50, got 1e51" "beta at most 1e50"

# memory for the training's loss curves: the error points at epochs, which causes it
printf "&run stages = 'mc', 'train', output = 'ep.h5' /\n&mc L = 8, n_chains = 2, n_samples = 10, save_configs = .true., blocks_per_chain = 1 /\n&train optimizer = 'adamw', epochs = 2147483647, batch = 1 /\n" > ep.nml
expect_status 2 "2^31 epochs" -- "$INVRG" --check ep.nml
expect_grep err.txt "ep.nml:3:29: error: training on 20 configurations of 8^2 with 4 replicas needs about" "at epochs"
expect_grep err.txt "use fewer epochs or replicas (each keeps its loss curves)" "what to do"

# MPI-IO hints that take a number or a switch are checked (Open MPI divides by cb_nodes = 0)
printf "&run stages = 'mc', output = 'hints.h5' /\n&mc L = 8, n_samples = 20 /\n&output mpi_io_hints = 'striping_unit=1048576', 'cb_nodes=0', 'romio_cb_write=yes',\n  'cb_buffer_size=16MB', 'some_hint=anything' /\n" > hints.nml
expect_status 2 "MPI-IO hints with bad values" -- "$INVRG" --check hints.nml
expect_grep err.txt "hints.nml:3:9: error: key 'mpi_io_hints': hint 2 'cb_nodes=0': cb_nodes takes a whole number from 1 to 2147483647" "cb_nodes = 0"
sed -i "s/'cb_nodes=0', //" hints.nml
expect_status 2 "MPI-IO hints with bad values" -- "$INVRG" --check hints.nml
expect_grep err.txt "hint 2 'romio_cb_write=yes': romio_cb_write takes enable, disable or automatic" "a switch"
sed -i "s/'romio_cb_write=yes',//" hints.nml
expect_status 2 "MPI-IO hints with bad values" -- "$INVRG" --check hints.nml
expect_grep err.txt "hint 2 'cb_buffer_size=16MB': cb_buffer_size takes a whole number" "a size with a unit"
sed -i "s/'cb_buffer_size=16MB'/'cb_buffer_size=16777216'/" hints.nml
expect_status 0 "sound hints, and one MPI does not know, are accepted" -- "$INVRG" --check hints.nml

# --- correlation functions need the correlations
printf "&run stages = 'mc', output = 'cf.h5' /\n&mc L = 8, n_samples = 20 /\n&analyze correlations = F,\n  correlation_functions = T /\n" > cf.nml
expect_status 2 "correlation_functions without correlations" -- "$INVRG" --check cf.nml
expect_grep err.txt "cf.nml:4:3: error: correlation_functions = .true. needs correlations = .true." \
  "correlation_functions refused at file:line:col"
expect_status 2 "correlation_functions without correlations, a run" -- "$INVRG" cf.nml
no_stage_started "correlation_functions refused"
no_output "correlation_functions refused" cf.h5
# --- and single precision needs the functions
printf "&run stages = 'mc', output = 'cp.h5' /\n&mc L = 8, n_samples = 20 /\n&analyze\n  correlation_precision = 'single' /\n" > cp.nml
expect_status 2 "correlation_precision without correlation_functions" -- "$INVRG" --check cp.nml
expect_grep err.txt "cp.nml:4:3: error: correlation_precision = 'single' is the precision of the correlation functions: it needs correlation_functions = .true." \
  "correlation_precision refused at file:line:col"
no_output "correlation_precision refused" cp.h5
sed -i 's/correlations = F,/correlations = T,/' cf.nml
expect_status 0 "correlation_functions with correlations is fine" -- "$INVRG" --check cf.nml

# --- unused keys: a warning with file:line, not an error
printf "&run stages = 'mc', output = 'unused.h5' /\n&mc L = 8, n_samples = 20 /\n&train epochs = 3 /\n" > unused.nml
expect_status 0 "keys of a stage that does not run" -- "$INVRG" --check unused.nml
expect_grep err.txt "unused.nml:3:8: warning: key 'epochs' of '&train' is unused" "unused key warned at file:line:col"

# --- --ranks N: a cluster layout checked on one process
cat > cluster.nml <<'NML'
&run stages = 'mc', output = 'cluster.h5' /
&parallel ranks_per_group = 16 /
&mc L = 64, algorithm = 'sw', n_samples = 20 /
NML
expect_status 0 "--check --ranks 256 of a 16-rank-group input" -- "$INVRG" --check --ranks 256 cluster.nml
expect_grep out.txt "input is valid for a run on 256 ranks" "the rank count is confirmed"
expect_status 2 "the same input on this single process" -- "$INVRG" --check cluster.nml
expect_status 2 "--ranks 24 does not fit groups of 16" -- "$INVRG" --check --ranks 24 cluster.nml
expect_grep err.txt "cluster.nml:2:" "layout error at &parallel with file:line"
expect_grep err.txt "ranks_per_group = 16 does not divide the 24 ranks of this run" "layout error explained"
sed -i "s/n_samples = 20/n_samples = 20, blocks_per_chain = 50/" cluster.nml
expect_status 2 "a layout error and a stage error together" -- "$INVRG" --check --ranks 24 cluster.nml
expect_grep err.txt "blocks_per_chain = 50 is more than n_samples = 20" "the stage is checked despite the layout error"
expect_status 2 "--ranks under mpirun is refused" -- "$MPIEXEC" -n 2 "$INVRG" --check --ranks 16 cluster.nml
expect_status 2 "--ranks without --check is refused" -- "$INVRG" --ranks 16 cluster.nml
expect_status 2 "--ranks 0 is refused" -- "$INVRG" --check --ranks 0 cluster.nml
no_output "--ranks" cluster.h5

# --- a file the run reads but may not read: the system's reason, the file and its key. As root
# every file is readable, so the unreadable ones are tried as user nobody.
if [ "$(id -u)" -ne 0 ]; then
  as_reader() { "$@"; }
elif command -v setpriv > /dev/null && id nobody > /dev/null 2>&1; then
  as_reader() { setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$@"; }
  chmod 755 "$workdir"
fi
printf "&run stages = 'mc', output = 'perm/data.h5', log_file = 'none' /\n&mc L = 8, n_chains = 2, n_therm = 10, n_samples = 400, save_configs = T /\n" > perm.nml
mkdir perm && chmod 777 perm && "$INVRG" perm.nml > /dev/null 2>&1 || fail "the data of the permission checks"
if ! declare -F as_reader > /dev/null; then
  echo "skip: unreadable files (as root, without setpriv or user nobody)"
else
  cp perm/data.h5 perm/locked.h5 && chmod 000 perm/locked.h5
  mkdir perm/shut && cp perm/data.h5 perm/shut/data.h5 && chmod 700 perm/shut
  unreadable() { # <description> <stage> <its group> <expected message>
    printf "&run stages = '%s', output = 'perm/out.h5', log_file = 'none' /\n%s /\n" "$2" "$3" \
      > unreadable.nml
    expect_status 2 "$1" -- as_reader "$INVRG" --check unreadable.nml
    expect_grep err.txt "$4" "$1: the reason, the file and its key"
  }
  unreadable "&analyze data without read permission" analyze "&analyze data = 'perm/locked.h5'" \
    "unreadable.nml:2:10: error: 'perm/locked.h5' cannot be read: Permission denied"
  unreadable "&analyze data in a directory that may not be searched" analyze \
    "&analyze data = 'perm/shut/data.h5'" \
    "unreadable.nml:2:10: error: 'perm/shut/data.h5' cannot be read: Permission denied"
  unreadable "&train data without read permission" train "&train data = 'perm/locked.h5'" \
    "unreadable.nml:2:8: error: training data: 'perm/locked.h5' cannot be read: Permission denied"
  unreadable "&dream model_file without read permission" dream \
    "&dream model_file = 'perm/locked.h5', levels = 3" \
    "unreadable.nml:2:8: error: model file 'perm/locked.h5' cannot be read: Permission denied"
  # the checkpoint a run would continue: refused before any work, kept
  printf "&run stages = 'mc', output = 'perm/ck.h5', log_file = 'none' /\n&mc L = 8, n_chains = 2, n_therm = 10, n_samples = 400 /\n" > ck.nml
  INVRG_TEST_STOP_AFTER_POLLS=2 "$INVRG" ck.nml > /dev/null 2>&1
  chmod 000 perm/ck.h5.ckpt
  expect_status 2 "a checkpoint without read permission" -- as_reader "$INVRG" ck.nml
  expect_grep err.txt "ck.nml:1:21: error: 'perm/ck.h5.ckpt' (this run's checkpoint) cannot be read: Permission denied; make it readable to continue from it, or move it away to start afresh" \
    "the unreadable checkpoint is named at &run output"
  no_stage_started "an unreadable checkpoint"
  [ -e perm/ck.h5.ckpt ] && [ ! -e perm/ck.h5 ] && pass "the checkpoint kept, nothing written" \
    || fail "checkpoint lost or output written"
fi
mkdir perm/dir.h5
printf "&run stages = 'analyze', output = 'perm/out.h5' / &analyze data = 'perm/dir.h5' /\n" > dir.nml
expect_status 2 "a directory as &analyze data" -- "$INVRG" --check dir.nml
expect_grep err.txt "dir.nml:1:60: error: 'perm/dir.h5' is a directory" "the directory is named at its key"

# --- a file the run would replace (by a rename, at its end or a checkpoint) but may not:
# refused before any work, the file as it was; a flag left set would outlive the test
trap 'chattr -i -a "$workdir"/fixed.h5 "$workdir"/fixck.h5.ckpt 2> /dev/null; rm -rf "$workdir"' EXIT
printf "&run stages = 'mc', output = 'fixed.h5', log_file = 'none' /\n&output overwrite = T /\n&mc L = 8, n_chains = 2, n_therm = 10, n_samples = 40 /\n" > fixed.nml
"$INVRG" fixed.nml > /dev/null 2>&1 || fail "the output of the unreplaceable checks"
if ! chattr +i fixed.h5 2> /dev/null; then
  echo "skip: immutable and append-only files (chattr not possible here: not root, or a file system without the flags)"
else
  before=$(cksum < fixed.h5)
  expect_status 2 "an immutable output with overwrite" -- "$INVRG" fixed.nml
  chattr -i fixed.h5
  expect_grep err.txt "fixed.nml:1:21: error: 'fixed.h5' (the output of this run) is immutable (chattr +i), so the run could not replace it when it must" \
    "the immutable output named at &run output"
  no_stage_started "an immutable output"
  [ "$(cksum < fixed.h5)" = "$before" ] && pass "the immutable output as it was" || fail "the immutable output changed"
  printf "&run stages = 'mc', output = 'fixck.h5', log_file = 'none' /\n&mc L = 8, n_chains = 2, n_therm = 10, n_samples = 400 /\n" > fixck.nml
  INVRG_TEST_STOP_AFTER_POLLS=2 "$INVRG" fixck.nml > /dev/null 2>&1
  chattr +a fixck.h5.ckpt
  expect_status 2 "an append-only checkpoint to continue" -- "$INVRG" --check fixck.nml
  chattr -a fixck.h5.ckpt
  expect_grep err.txt "fixck.nml:1:21: error: 'fixck.h5.ckpt' (this run's checkpoint) is append-only (chattr +a), so the run could not replace it when it must" \
    "the append-only checkpoint named at &run output"
  expect_status 0 "the same checkpoint without the flag: the run continues from it" -- "$INVRG" fixck.nml
  expect_grep out.txt "continuing from checkpoint fixck.h5.ckpt" "the run continued the checkpoint"
fi
if [ "$(id -u)" -eq 0 ] && declare -F as_reader > /dev/null; then
  mkdir sticky && chmod 1777 sticky && cp fixed.h5 sticky/out.h5
  printf "&run stages = 'mc', output = 'sticky/out.h5', log_file = 'none' /\n&output overwrite = T /\n&mc L = 8, n_chains = 2, n_therm = 10, n_samples = 40 /\n" > sticky.nml
  expect_status 2 "another user's output in a directory with the sticky bit" -- as_reader "$INVRG" --check sticky.nml
  expect_grep err.txt "sticky.nml:1:21: error: 'sticky/out.h5' (the output of this run) belongs to another user (uid 0) in a directory with the sticky bit (like /tmp), where only its owner may replace it" \
    "the sticky directory's rule named"
  rm sticky/out.h5
  expect_status 0 "the user's own output there, made" -- as_reader "$INVRG" sticky.nml
  expect_status 0 "and replaced" -- as_reader "$INVRG" sticky.nml
else
  echo "skip: another user's output in a sticky directory (needs root, setpriv and user nobody)"
fi

# --- one run per output
printf "&run stages = 'mc', output = 'locked.h5', log_level = 'warn' /\n&mc L = 8, n_samples = 20 /\n" > locked.nml
printf "host=%s\npid=%s\nstarted=2026-01-01T00:00:00Z\nslurm_job=\ninput=x.nml\n" "$(hostname)" "$$" > locked.h5.lock
expect_status 2 "output locked by a live process on this host" -- "$INVRG" locked.nml
expect_grep err.txt "locked.nml:1:21: error: output 'locked.h5' is in use by another run (pid $$ on host $(hostname)" \
  "the holder is named"
no_stage_started "a locked output"
[ -e locked.h5.lock ] && [ ! -e locked.h5 ] && pass "another run's lock is left alone" || fail "lock removed or output written"
printf "host=elsewhere-node-17\npid=4242\nstarted=2026-01-01T00:00:00Z\nslurm_job=123\ninput=x.nml\n" > locked.h5.lock
expect_status 2 "output locked from another host" -- "$INVRG" --check locked.nml
expect_grep err.txt "locked by a run on another host (pid 4242 on host elsewhere-node-17, started 2026-01-01T00:00:00Z, SLURM job 123); if that run is over (e.g. it was killed), delete 'locked.h5.lock'" \
  "how to clear a lock from another host"
sleep 0 & dead=$!; wait "$dead"
printf "host=%s\npid=%s\nstarted=2026-01-01T00:00:00Z\nslurm_job=\ninput=x.nml\n" "$(hostname)" "$dead" > locked.h5.lock
expect_status 0 "a stale lock (its process is gone) is taken over" -- "$INVRG" locked.nml
expect_grep err.txt "'locked.h5.lock' is a stale lock (pid $dead on host $(hostname)" "the stale lock is reported"
[ -e locked.h5 ] && [ ! -e locked.h5.lock ] && pass "run complete, its lock removed" || fail "no output, or lock left"

# A holder killed a moment ago may still be a zombie (not yet reaped): that is not a run.
cat > zombie.py <<'PY'
import os, socket, subprocess, sys, time
pid = os.fork()
if pid == 0:
    os._exit(0)
time.sleep(0.2)  # exited, not reaped: a zombie
with open("locked.h5.lock", "w") as f:
    f.write(f"host={socket.gethostname()}\npid={pid}\nstarted=2026-01-01T00:00:00Z\nslurm_job=\ninput=x.nml\n")
r = subprocess.run([sys.argv[1], "locked.nml"], capture_output=True, text=True)
sys.stdout.write(r.stdout); sys.stderr.write(r.stderr)
os.waitpid(pid, 0)
sys.exit(r.returncode)
PY
printf "&run stages = 'mc', output = 'locked.h5', log_level = 'warn' /\n&output overwrite = T /\n&mc L = 8, n_samples = 20 /\n" > locked.nml
expect_status 0 "a lock whose process is a zombie is taken over" -- "$PYTHON" zombie.py "$INVRG"
expect_grep err.txt "is a stale lock" "the zombie's lock is reported as stale"

# Two real runs on one output: the second is refused at once, the first completes.
# The first run cannot finish before the second has been refused: it stops (checkpoint, exit 3)
# only when the stop file appears, which the test makes after the second run.
printf "&run stages = 'mc', output = 'same.h5', log_level = 'warn' /\n&mc L = 64, n_chains = 2, n_samples = 200000, algorithm = 'wolff' /\n&checkpoint stop_file = 'STOP' /\n" > same.nml
"$INVRG" same.nml > first.out 2> first.err &
first=$!
for _ in $(seq 600); do [ -e same.h5.lock ] && break; sleep 0.05; done
[ -e same.h5.lock ] && pass "the first run holds the lock" || fail "the first run made no lock in 30 s"
expect_status 2 "a second run on the same output" -- "$INVRG" same.nml
expect_grep err.txt "output 'same.h5' is in use by another run" "the second run is told why"
touch STOP
wait "$first"; status=$?
[ "$status" -eq 3 ] && [ -e same.h5.ckpt ] && [ ! -e same.h5.lock ] && [ ! -e same.h5.tmp ] \
  && pass "the first run goes on undisturbed, then stops at the stop file and leaves its lock" \
  || { fail "first run: exit $status"; cat first.err; }
finish
