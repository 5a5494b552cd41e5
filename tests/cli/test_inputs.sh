#!/usr/bin/env bash
# Every example input in input/ is valid: invrg --check on the rank count the file asks for
# (a line "! ranks: N"; default 1). published.nml needs the paper's published models: they are
# converted here from $INVRG_PUBLISHED_MODELS_DIR, or the file is skipped (said) without them.
source "$(dirname "$0")/lib.sh"
reference=${INVRG_PUBLISHED_MODELS_DIR:-}
for f in "$SOURCE_DIR"/input/*.nml; do
  name=$(basename "$f")
  ranks=$(sed -n 's/^! ranks: *\([0-9]*\).*/\1/p' "$f" | head -1)
  if [ "$name" = published.nml ]; then
    if [ -z "$reference" ] || [ ! -d "$reference/models" ]; then
      echo "skip: $name (INVRG_PUBLISHED_MODELS_DIR does not hold the published models)"; continue
    fi
    "$PYTHON" "$SOURCE_DIR/tools/import_torch_model.py" --all "$reference" -o published > /dev/null \
      || fail "import of the published models"
  fi
  expect_status 0 "--check $name on ${ranks:-1} rank(s)" -- \
    "$MPIEXEC" -n "${ranks:-1}" "$INVRG" --check "$f"
done
finish
