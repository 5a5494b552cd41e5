#!/usr/bin/env bash
# Every example input in input/ is valid: invrg --check on the rank count the file asks for
# (a line "! ranks: N"; default 1). published.nml needs the models converted from
# ../shared/reference first: they are converted here, or the file is skipped if that is absent.
source "$(dirname "$0")/lib.sh"
reference="$SOURCE_DIR/../shared/reference/published_models"
for f in "$SOURCE_DIR"/input/*.nml; do
  name=$(basename "$f")
  ranks=$(sed -n 's/^! ranks: *\([0-9]*\).*/\1/p' "$f" | head -1)
  if [ "$name" = published.nml ]; then
    if [ ! -d "$reference" ]; then echo "skip: $name (no $reference)"; continue; fi
    "$PYTHON" "$SOURCE_DIR/tools/import_torch_model.py" --all "$reference" -o published > /dev/null \
      || fail "import of the published models"
  fi
  expect_status 0 "--check $name on ${ranks:-1} rank(s)" -- \
    "$MPIEXEC" -n "${ranks:-1}" "$INVRG" --check "$f"
done
finish
