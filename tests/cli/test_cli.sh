#!/usr/bin/env bash
# The invrg program's options, exit statuses and error reports.
source "$(dirname "$0")/lib.sh"

expect_status 0 "--help" -- "$INVRG" --help
expect_grep out.txt "exit status:" "--help documents exit statuses"
expect_status 0 "--version" -- "$INVRG" --version
grep -Eq '^invrg [0-9]+\.[0-9]+\.[0-9]+ \(git [0-9a-f]{7,}' out.txt && pass "version has git hash" \
  || { fail "version line lacks a git hash"; cat out.txt; }
expect_status 2 "no input file" -- "$INVRG"
expect_grep err.txt "invrg: error: no input file given" "no input file is explained"
expect_status 2 "unknown option" -- "$INVRG" --chek x.nml
expect_grep err.txt "unknown option '--chek' (did you mean '--check'?)" "option suggestion"

# '--' ends the options: an input file whose name starts with '-' can be given after it.
printf "&run\n  stages =\n  output = 'dash.h5'\n/\n" > -in.nml
expect_status 2 "a file name that starts with '-' is an option without '--'" -- "$INVRG" -in.nml
expect_grep err.txt "unknown option '-in.nml' (see invrg --help; '--' before a file name that starts with '-')" \
  "the refusal says how to name such a file"
expect_status 0 "--check -- -in.nml" -- "$INVRG" --check -- -in.nml
expect_grep out.txt "-in.nml: input is valid" "the file after '--' is the one checked"
expect_status 0 "a run of -- -in.nml, --set before '--'" -- "$INVRG" --set run.seed=5 -- -in.nml
"$PYTHON" -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); sys.exit(0 if f['config/run'].attrs['seed'] == 5 else 1)" \
  dash.h5 && pass "the run of -in.nml wrote its output with the override" || fail "no run file from -in.nml"
expect_status 2 "after '--' an option is a second file" -- "$INVRG" --check -- -in.nml --set run.seed=5
expect_grep err.txt "give exactly one input file, got 3" "so '--set' after '--' is refused"
expect_status 2 "missing input file" -- "$INVRG" --check does-not-exist.nml
expect_grep err.txt "cannot read input file 'does-not-exist.nml': No such file or directory" \
  "missing input file is named"

# The printed defaults are a valid input that describes every key.
"$INVRG" --print-default-input > defaults.nml
expect_status 0 "--check of --print-default-input" -- "$INVRG" --check defaults.nml
expect_grep defaults.nml "! seed of every random stream" "defaults carry descriptions"

# Three different errors in one file: all reported GCC-style, exit 2, no output.
cat > bad.nml <<'NML'
&run
  output = 'bad.h5'
  nsweeps = 10
  seed = 1.5
  title = 'unterminated
/
NML
expect_status 2 "bad input" -- "$MPIEXEC" -n 2 "$INVRG" bad.nml
expect_grep err.txt "bad.nml:3:3: error: unknown key 'nsweeps' in group '&run'" "unknown key reported"
expect_grep err.txt "bad.nml:4:10: error: key 'seed' expects an integer, got '1.5'" "type error reported"
expect_grep err.txt "bad.nml:5:11: error: missing terminating ' character" "missing quote reported"
[ "$(grep -c ': error: ' err.txt)" -eq 3 ] && pass "exactly three errors, printed once on 2 ranks" \
  || { fail "expected 3 error lines"; cat err.txt; }
[ ! -e bad.h5 ] && [ ! -e bad.h5.tmp ] && pass "no output written for bad input" \
  || fail "bad input left an output file"

# An existing output is kept unless overwrite is set.
printf "&run\n  stages =\n  output = 'keep.h5'\n/\n" > keep.nml
echo "precious" > keep.h5
expect_status 2 "existing output refused" -- "$INVRG" keep.nml
expect_grep err.txt "keep.nml:3:3: error: output file 'keep.h5' exists" "refusal names file, line and key"
[ "$(cat keep.h5)" = "precious" ] && pass "existing output untouched" || fail "existing output changed"
printf "&run\n  stages =\n  output = 'keep.h5'\n/ &output overwrite = .true. /\n" > over.nml
expect_status 0 "overwrite = .true. replaces it" -- "$INVRG" over.nml
"$PYTHON" -c "import h5py,sys; h5py.File(sys.argv[1],'r')" keep.h5 && pass "replaced by a run file" \
  || fail "keep.h5 is not an HDF5 file after overwrite"

# An output that cannot be created is an input error before any work, naming path and key.
printf "&run\n  stages =\n  output = 'no/such/dir/x.h5'\n/\n" > nodir.nml
expect_status 2 "unwritable output" -- "$INVRG" nodir.nml
expect_grep err.txt "nodir.nml:3:3: error: the directory 'no/such/dir' of output 'no/such/dir/x.h5' does not exist" \
  "unwritable output explained"

# --check validates only: nothing is written.
printf "&run\n  stages =\n  output = 'checked.h5'\n/\n" > ok.nml
expect_status 0 "--check of a valid input" -- "$INVRG" --check ok.nml
[ ! -e checked.h5 ] && pass "--check writes nothing" || fail "--check created the output"

# A stage that cannot work with the input is an input error, before anything is written.
printf "&run stages = 'analyze', output = 'stage.h5' /\n" > stage.nml
expect_status 2 "stage without its input" -- "$INVRG" stage.nml
expect_grep err.txt "stage.nml:1:6: error: stage analyze has nothing to analyse" "stage without its input explained"
[ ! -e stage.h5 ] && pass "no output for a stage without its input" || fail "output written"

# --- --set group.key=value: command-line overrides, applied after the file and checked like it
expect_status 0 "--help" -- "$INVRG" --help
expect_grep out.txt "--set group.key=value" "--help documents --set"
printf "&run stages = 'mc', output = 'base.h5', log_level = 'info' /\n&mc L = 8, n_chains = 2, n_therm = 10, n_samples = 40 /\n" > base.nml
# The same run written into a file: what the overrides below must amount to.
printf "&run stages = 'mc', output = 'over.h5', log_level = 'info', seed = 3, title = 'a b' /\n&mc L = 8, 16, n_chains = 2, n_therm = 10, n_samples = 40, algorithm = 'sw' /\n" > edited.nml
expect_status 0 "a run with overrides (both spellings, an array, strings with and without quotes)" -- \
  "$MPIEXEC" -n 2 "$INVRG" base.nml --set mc.L=8,16 --set=run.seed=3 --set run.output=over.h5 \
  --set "run.title='a b'" --set mc.algorithm=sw
expect_grep out.txt "L = 8, 16  ! from the command line: --set mc.L=8,16" "the log's echo marks an overridden key"
expect_grep out.txt "output = 'over.h5'  ! from the command line: --set run.output=over.h5" \
  "an unquoted string override is marked"
grep -q "n_samples = 40  !" out.txt && fail "a key of the file is marked as overridden" || pass "keys of the file are not marked"
mkdir edited && (cd edited && "$MPIEXEC" -n 2 "$INVRG" ../edited.nml > out.txt 2>&1) \
  && pass "the same run from an edited file" || { fail "the run of the edited file"; cat edited/out.txt; }
"$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" over.h5 edited/over.h5 > cmp.txt
grep -qF "1 differ: ['config@overrides']" cmp.txt \
  && pass "overrides give the results and /config of the edited file (only /config/overrides differs)" \
  || { fail "the overridden run differs from the edited file's"; cat cmp.txt; }
cat > overrides.py <<'PY'
import sys
import h5py
f, g = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
got = [s.decode() if isinstance(s, bytes) else s for s in f["config"].attrs["overrides"]]
want = ["mc.L=8,16", "run.seed=3", "run.output=over.h5", "run.title='a b'", "mc.algorithm=sw"]
print(got, list(f["config/mc"].attrs["L"]), sorted(f["mc"]))
ok = got == want and list(f["config/mc"].attrs["L"]) == [8, 16] and f["config/run"].attrs["seed"] == 3
ok = ok and sorted(f["mc"]) == ["L16", "L8"] and "overrides" not in g["config"].attrs
sys.exit(0 if ok else 1)
PY
expect_status 0 "/config/overrides holds the --set options in order, /config the effective values" -- \
  "$PYTHON" overrides.py over.h5 edited/over.h5

# Each kind of bad override: an input error naming it, exit 2, before any work, nothing written;
# printed once on 2 ranks.
bad_override() { # <description> <expected message> <override>
  expect_status 2 "$1" -- "$MPIEXEC" -n 2 "$INVRG" base.nml --set "$3"
  expect_grep err.txt "command line: --set #1 '$3': error: $2" "$1: named"
  [ "$(grep -c ': error: ' err.txt)" -eq 1 ] && pass "$1: one error, printed once" \
    || { fail "$1: expected one error"; cat err.txt; }
  grep -q '== stage' out.txt && fail "$1: a stage started"
  [ ! -e base.h5 ] && [ ! -e base.h5.tmp ] && [ ! -e base.h5.lock ] && pass "$1: nothing written" \
    || fail "$1: output written"
}
bad_override "unknown group" "unknown group '&mcc' (did you mean '&mc'?)" "mcc.L=16"
bad_override "unknown key" "unknown key 'nsample' in group '&mc' (did you mean 'n_samples'?)" "mc.nsample=16"
bad_override "a value of the wrong type" "key 'L' expects an integer, got 'abc'" "mc.L=abc"
bad_override "a value out of range" "key 'n_chains' must be >= 1, got 0" "mc.n_chains=0"
bad_override "a bad choice" "key 'algorithm' must be one of 'wolff', 'sw', 'metropolis' or 'heatbath', got 'swendsen'" \
  "mc.algorithm=swendsen"
bad_override "no group" "expected group.key=value: 'seed' names no group (did you mean 'run.seed'?)" "seed=3"
bad_override "no '='" "expected group.key=value (e.g. mc.L=64): there is no '='" "mc.L"
bad_override "a check across keys" "blocks_per_chain = 50 is more than n_samples = 40" "mc.blocks_per_chain=50"
expect_status 2 "a key given twice" -- "$INVRG" base.nml --set mc.L=16 --set mc.L=32
expect_grep err.txt "command line: --set #2 'mc.L=32': error: key 'L' of '&mc' is given twice on the command line (first by --set #1)" \
  "a key given twice is named"
expect_status 2 "--set without a value" -- "$INVRG" base.nml --set
expect_grep err.txt "invrg: error: --set needs group.key=value" "--set without a value is a usage error"
expect_status 2 "--set with an option that reads no input" -- "$INVRG" --print-default-input --set mc.L=16
expect_grep err.txt "--set goes with a run or --check" "--set without an input is refused"
[ ! -e base.h5 ] && pass "no output after the refusals" || fail "base.h5 written"

# The file's errors and the overrides' at once, in one report.
expect_status 2 "errors of the file and of overrides together" -- "$MPIEXEC" -n 2 "$INVRG" bad.nml \
  --set mc.L=abc --set run.stages=mc,train --set mc.n_chains=0
expect_grep err.txt "bad.nml:4:10: error: key 'seed' expects an integer, got '1.5'" "the file's error"
expect_grep err.txt "command line: --set #1 'mc.L=abc': error: key 'L' expects an integer, got 'abc'" \
  "the first override's error"
expect_grep err.txt "command line: --set #3 'mc.n_chains=0': error: key 'n_chains' must be >= 1, got 0" \
  "the third override's error"
expect_grep err.txt "bad.nml and --set: 5 errors" "all counted together"
[ "$(grep -c ': error: ' err.txt)" -eq 5 ] && pass "five errors, printed once on 2 ranks" \
  || { fail "expected 5 error lines"; cat err.txt; }
[ ! -e bad.h5 ] && [ ! -e bad.h5.tmp ] && pass "nothing written for them" || fail "output written"

# With --check and --check --ranks N.
expect_status 0 "--check with a good override" -- "$INVRG" --check base.nml --set mc.L=16
expect_status 2 "--check with a bad override" -- "$INVRG" --check base.nml --set mc.L=16,abc
expect_grep err.txt "command line: --set #1 'mc.L=16,abc': error: key 'L' expects an integer, got 'abc'" \
  "--check names the override"
expect_status 2 "--check --ranks 4: a layout set by an override" -- \
  "$INVRG" --check --ranks 4 base.nml --set parallel.ranks_per_group=3
expect_grep err.txt "command line: --set #1 'parallel.ranks_per_group=3': error: ranks_per_group = 3 does not divide the 4 ranks" \
  "a layout error names the override"
expect_status 0 "--check --ranks 4 with a layout that fits" -- \
  "$INVRG" --check --ranks 4 base.nml --set parallel.ranks_per_group=2 --set mc.algorithm=sw
expect_grep out.txt "base.nml with its --set: input is valid for a run on 4 ranks" "the check says the overrides were included"
[ ! -e base.h5 ] && pass "--check with overrides writes nothing" || fail "--check wrote the output"

# A run continued from a checkpoint must agree with it in every key that changes results, set
# by the file or by --set; keys that change no results (the title) may differ.
printf "&run stages = 'mc', output = 'ck.h5', log_level = 'warn' /\n&mc L = 8, n_chains = 2, n_therm = 10, n_samples = 200 /\n" > ck.nml
mkdir whole && (cd whole && "$INVRG" ../ck.nml --set mc.n_samples=400 > out.txt 2>&1) \
  && pass "an uninterrupted run with an override" || { fail "the uninterrupted run"; cat whole/out.txt; }
INVRG_TEST_STOP_AFTER_POLLS=2 expect_status 3 "the same run stopped at a checkpoint" -- \
  "$INVRG" ck.nml --set mc.n_samples=400
[ -e ck.h5.ckpt ] && pass "checkpoint written" || fail "no checkpoint"
expect_status 2 "continued without the override" -- "$INVRG" ck.nml
expect_grep err.txt "ck.nml:2:40: error: the input differs from the checkpoint 'ck.h5.ckpt' it would continue: it has '&mc n_samples = 200', the checkpoint '&mc n_samples = 400'" \
  "the file's key that differs is named"
expect_status 2 "continued with an override that changes results" -- \
  "$INVRG" ck.nml --set mc.n_samples=400 --set run.seed=5
expect_grep err.txt "command line: --set #2 'run.seed=5': error: the input differs from the checkpoint 'ck.h5.ckpt' it would continue: it has '&run seed = 5'" \
  "the override that differs is named"
[ -e ck.h5.ckpt ] && [ ! -e ck.h5 ] && pass "the refusals keep the checkpoint and write nothing" \
  || fail "checkpoint lost or output written"
expect_status 0 "continued with the same override and a free one" -- \
  "$INVRG" ck.nml --set mc.n_samples=400 --set "run.title=second part"
"$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" ck.h5 whole/ck.h5 > cmp.txt \
  && pass "the continued run ends with the bits of the uninterrupted one" \
  || { fail "the continued run differs from the uninterrupted one"; cat cmp.txt; }

# Keys of stages the run does not have change no results: a continued run may change them.
printf "&run stages = 'mc', output = 'ck2.h5', log_level = 'warn' /\n&mc L = 8, n_chains = 2, n_therm = 10, n_samples = 400 /\n&dream levels = 3 /\n" > ck2.nml
INVRG_TEST_STOP_AFTER_POLLS=2 expect_status 3 "a run with an unused &dream stopped" -- "$INVRG" ck2.nml
expect_status 0 "continued with keys of stages it does not have changed" -- \
  "$INVRG" ck2.nml --set dream.levels=5 --set train.epochs=7
expect_grep err.txt "key 'epochs' of '&train' is unused" "the changed unused key is still reported"
"$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" --subset ck2.h5 whole/ck.h5 > cmp.txt \
  && pass "and it ends with the bits of the uninterrupted run" \
  || { fail "the run continued with unused keys changed differs"; cat cmp.txt; }
finish
