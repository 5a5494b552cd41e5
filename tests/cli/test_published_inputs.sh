#!/usr/bin/env bash
# What needs the paper's published models ($INVRG_PUBLISHED_MODELS_DIR, .pth files): the
# example input/published.nml is valid once they are converted where it looks, and a conv
# k = 7 model with small_kernel_start = 'paper' and no conv k = 3 model is an input error.
# Exit 77 (reported by CTest as skipped) without the models.
source "$(dirname "$0")/lib.sh"
reference=${INVRG_PUBLISHED_MODELS_DIR:-}
if [ -z "$reference" ] || [ ! -d "$reference/models" ]; then
  echo "skipped: INVRG_PUBLISHED_MODELS_DIR does not hold the published models (tools/fetch_published_models.sh)"
  exit 77
fi
"$PYTHON" "$SOURCE_DIR/tools/import_torch_model.py" --all "$reference" -o published > /dev/null \
  || fail "import of the published models"
ranks=$(sed -n 's/^! ranks: *\([0-9]*\).*/\1/p' "$SOURCE_DIR/input/published.nml" | head -1)
expect_status 0 "--check published.nml on ${ranks:-1} rank(s)" -- \
  "$INVRG" --check --ranks "${ranks:-1}" "$SOURCE_DIR/input/published.nml"

conv7="$reference/models/ising_upsamplerconv_32_ks7_learning_r0.01_L32_batch1000_setsize10000.pth"
"$PYTHON" "$SOURCE_DIR/tools/import_torch_model.py" "$conv7" -o conv7.h5 > /dev/null || fail "import of $conv7"
printf "&run stages = 'dream', output = 'c7.h5' /\n&dream model_file = 'conv7.h5', small_kernel_start = 'paper' /\n" > c7.nml
expect_status 2 "conv k = 7 with 'paper' and no conv k = 3 model" -- "$INVRG" c7.nml
expect_grep err.txt "needs a conv model with k = 3" "the error says what is missing"
finish
