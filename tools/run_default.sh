#!/usr/bin/env bash
# Installs what is missing (only what running needs: no test tools), builds, and runs the main job on the default input
# (input/default.nml) with 2 MPI ranks, writing default.h5 in the current directory.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$here/tools/setup.sh" Release
# shellcheck source=tools/env.sh
source "$here/tools/env.sh"
mpirun -n "${INVRG_RANKS:-2}" "${INVRG_BUILD_DIR:-$here/build}/invrg" "$here/input/default.nml"
# …and the report: PNG figures and a self-contained HTML page of the run.
/usr/bin/python3 "$here/tools/report.py" default.h5 -o report/
echo "run file: $(pwd)/default.h5   report: $(pwd)/report/index.html"
