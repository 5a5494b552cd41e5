#!/usr/bin/env bash
# Installs what is missing (with what the tests need: check, valgrind, SLURM), builds with
# warnings as errors, and runs the whole test suite with CTest; then builds again with the address and undefined-behaviour sanitizers and runs the unit
# tests and one small end-to-end run there (INVRG_SANITIZE=0 skips that part).
# Extra arguments go to the first ctest (e.g. -L unit, -R namelist).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export INVRG_WERROR=${INVRG_WERROR:-ON}
"$here/tools/setup.sh" --with-tests "${INVRG_BUILD_TYPE:-Release}"
# shellcheck source=tools/env.sh
source "$here/tools/env.sh"
build_dir=${INVRG_BUILD_DIR:-$here/build}
ctest --test-dir "$build_dir" --output-on-failure --parallel 2 "$@"

if [ "${INVRG_SANITIZE:-1}" != 0 ]; then
  san_dir=$here/build-sanitize
  INVRG_BUILD_DIR=$san_dir "$here/tools/setup.sh" --with-tests Sanitize
  # Open MPI's dlopen'd components leak at MPI_Finalize: leak checks are valgrind's job (docs/design.md §7).
  export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  ctest --test-dir "$san_dir" --output-on-failure --parallel 2 -L unit
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cat > "$work/small.nml" <<'NML'
&run stages = 'mc', 'train', 'dream', output = 'small.h5', log_level = 'warn' /
&mc L = 8, n_chains = 2, n_therm = 20, n_samples = 40, save_configs = T /
&train epochs = 2, batch = 10, n_replicas = 2 /
&dream levels = 4, n_samples = 8, measure_from = 2 /
&analyze mcrg_levels = 2, jackknife_blocks = 4 /
NML
  (cd "$work" && mpirun -n 2 "$san_dir/invrg" small.nml)
  echo "sanitizers: unit tests and a 2-rank mc -> train -> dream run are clean"
fi
