#!/usr/bin/env bash
# Every example input in input/ is valid: invrg --check on the rank count the file asks for
# (a line "! ranks: N"; default 1), with mpirun and with --check --ranks N on one process.
# published.nml needs the paper's published models: ctest -R published_inputs checks it (and is
# reported as skipped without them).
source "$(dirname "$0")/lib.sh"
for f in "$SOURCE_DIR"/input/*.nml; do
  name=$(basename "$f")
  [ "$name" = published.nml ] && continue
  ranks=$(sed -n 's/^! ranks: *\([0-9]*\).*/\1/p' "$f" | head -1)
  expect_status 0 "--check $name on ${ranks:-1} rank(s)" -- \
    "$MPIEXEC" -n "${ranks:-1}" "$INVRG" --check "$f"
  expect_status 0 "--check --ranks ${ranks:-1} $name on one process" -- \
    "$INVRG" --check --ranks "${ranks:-1}" "$f"
done
finish
