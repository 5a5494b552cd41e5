#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs the whole
# test suite with CTest. Extra arguments go to ctest (e.g. -L unit, -R namelist).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export INVRG_WERROR=${INVRG_WERROR:-ON}
"$here/tools/setup.sh" "${INVRG_BUILD_TYPE:-Release}"
# shellcheck source=tools/env.sh
source "$here/tools/env.sh"
build_dir=${INVRG_BUILD_DIR:-$here/build}
ctest --test-dir "$build_dir" --output-on-failure --parallel 2 "$@"
