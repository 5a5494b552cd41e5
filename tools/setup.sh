#!/usr/bin/env bash
# Install invrg's dependencies (Debian 12), then configure and build.
#
#   tools/setup.sh [--with-tests] [build-type]     build-type: Release (default) | Debug | Sanitize
#
# Without --with-tests: only what building and running need, configured with BUILD_TESTING=OFF.
# With --with-tests: also what the test suite needs (check, valgrind, a one-node SLURM),
# configured with the tests.
# Idempotent and non-interactive: apt runs only when a package is missing.
# Set INVRG_BUILD_DIR to choose the build directory (default: build) and
# INVRG_WERROR=ON to turn warnings into errors (CI does).
set -euo pipefail

with_tests=OFF build_type=Release
for arg in "$@"; do
  case $arg in
    --with-tests) with_tests=ON ;;
    Release|Debug|Sanitize) build_type=$arg ;;
    -h|--help) sed -n '2,11{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "setup: error: unknown argument '$arg' (expected --with-tests, Release, Debug or Sanitize)" >&2
       exit 2 ;;
  esac
done

packages=(
  build-essential cmake pkg-config git
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools
  libfftw3-dev libfftw3-mpi-dev
  liblapacke-dev
  librandom123-dev
  python3-numpy python3-h5py python3-matplotlib python3-scipy
  curl ca-certificates                       # tools/fetch_published_models.sh
)
if [ "$with_tests" = ON ]; then
  packages+=(
    check                                    # the unit and MPI tests
    valgrind                                 # the leak check of the test suite
    slurmctld slurmd slurm-client munge      # the SLURM job scripts' test (a one-node SLURM)
    python3-pandas python3-xarray            # the tests of invrg_io.py's DataFrame/Dataset bridges
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${INVRG_BUILD_DIR:-$here/build}
werror=${INVRG_WERROR:-OFF}

cmake -S "$here" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" -DINVRG_WERROR="$werror" \
      -DBUILD_TESTING="$with_tests"
cmake --build "$build_dir" --parallel "$(nproc)"
echo "setup: built $build_dir/invrg ($build_type, tests $with_tests)"
