#!/usr/bin/env bash
# A 2-rank run writes a complete run file that the Python reader loads.
source "$(dirname "$0")/lib.sh"
cat > run.nml <<'NML'
! a small run for the run-file test
&run
  stages =
  seed = 4242
  output = 'run.h5'
  title = 'run-file "test"'
  log_level = 'warn'
/
&parallel grid = 0 0 /
NML
expect_status 0 "2-rank run" -- "$MPIEXEC" -n 2 "$INVRG" run.nml
[ -e run.h5 ] && [ ! -e run.h5.tmp ] && pass "final file in place, no .tmp left" || fail "files: $(ls)"
h5dump -A run.h5 > dump.txt 2>&1 && pass "h5dump -A reads it" || fail "h5dump failed"
for g in 'GROUP "code"' 'GROUP "run"' 'GROUP "config"' 'ATTRIBUTE "git_hash"' 'ATTRIBUTE "input_path"'; do
  expect_grep dump.txt "$g" "h5dump shows $g"
done
PYTHONPATH="$SOURCE_DIR/tools" expect_status 0 "Python reader checks" -- \
  "$PYTHON" "$SOURCE_DIR/tests/cli/check_runfile.py" run.h5 run.nml 2
cat out.txt err.txt
finish
