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
finish
