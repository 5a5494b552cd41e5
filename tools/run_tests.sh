#!/usr/bin/env bash
# Installs what is missing (with what the tests need: check, valgrind, SLURM), builds with
# warnings as errors, and runs the whole test suite with CTest; then builds again with the
# address and undefined-behaviour sanitizers and runs there the unit and MPI tests, the fuzzing
# corpus, the input checks and every stage on 2 ranks (INVRG_SANITIZE=0 skips that part).
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
  # The unit tests; the MPI tests of the modules on 1, 2 and 4 ranks (halo exchange, distributed
  # block spins, MCRG, dreams (their window-table kernels too) and correlations on split
  # lattices; the long physics runs of test_mc_exact, test_multispin_physics and test_train stay
  # in the release build: the multispin kernels run here through test_multispin_<kernel>);
  # the program on hostile input (the fuzzing corpus) and on every input check.
  ctest --test-dir "$san_dir" --output-on-failure --parallel 2 -L unit -E '^test_multispin_physics$'
  ctest --test-dir "$san_dir" --output-on-failure --parallel 2 \
    -R 'test_(parallel|blockspin|mcrg|dream_layout|correlation|checkerboard|config_mpi|packed|packed_measure|packed_blockspin|dream_packed|dream_table_planes|compatible)_np[124]$|fuzz_corpus|input_checks'
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # Every stage, on groups of one rank and on a lattice split over a group of two.
  cp "$here/tests/inputs/small_pipeline.nml" "$work/small.nml"
  cat > "$work/split.nml" <<'NML'
&run stages = 'mc', 'dream', 'analyze', output = 'split.h5', log_level = 'warn' /
&parallel ranks_per_group = 2, grid = 1, 2 /
&mc L = 16, algorithm = 'sw', n_chains = 2, n_therm = 10, n_samples = 20, save_configs = T /
&dream model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 6, n_samples = 6,
       measure_from = 3, save_levels = 5 /
&analyze mcrg_levels = 2, jackknife_blocks = 3, operators = 'swendsen', 'paper36', mcrg_on_mc = T /
NML
  # The same split run on packed levels: random bit planes, Monte Carlo seeds, refining sweeps.
  sed -e "s/split.h5/packed.h5/" -e "s/measure_from = 3, save_levels = 5/measure_from = 5, save_levels = 5, lattice = 'packed', random_bits = 'planes', start = 'mc', start_L = 16, compatible_sweeps = 1, refine_sweeps = 2/" \
    "$work/split.nml" > "$work/packed.nml"
  (cd "$work" && mpirun -n 2 "$san_dir/invrg" small.nml && mpirun -n 2 "$san_dir/invrg" split.nml &&
    mpirun -n 2 "$san_dir/invrg" packed.nml)
  echo "sanitizers: unit tests, the MPI tests, the fuzzing corpus, the input checks and every stage" \
    "on 2 ranks (groups of one, and a lattice split over a group of two) are clean"
fi
