#!/usr/bin/env bash
# The refined-dream study (docs/refined_dreams.md §7–§9): runs invrg on the recommended inputs
# with other settings and prints the tables with tools/refined_table.py.
#
#   tools/refined_study.sh <part> [out dir]      part: schedule | seeds | models | gamma | all
#
# INVRG (default build/invrg), RANKS (default 2) and MPIEXEC (default mpiexec) may be set.
# schedule: the sweeps per level and at the top at 256² (4000 samples) and 1024² (2000);
# seeds: the side L0 of the Monte Carlo seeds at 1024²; models: the published sym3 against
# sym3 and sym5 fitted by this code; gamma: gamma/nu from 64² … 4096², four refined levels each.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
part=${1:?usage: refined_study.sh schedule|seeds|models|gamma|all [out dir]}
out=${2:-refined_study}
INVRG=${INVRG:-$here/../build/invrg}
RANKS=${RANKS:-2}
MPIEXEC=${MPIEXEC:-mpiexec}
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p "$out"
cd "$out"

# run <name> <input> <samples> [--set key=value ...]: one run, seeds enough for the samples
run() {
  local name=$1 input=$2 n=$3
  shift 3
  [ -e "$name.h5" ] && return 0 # a finished run is kept: the study can be resumed
  "$MPIEXEC" -n "$RANKS" "$INVRG" "$input" --set "dream.n_samples=$n" \
    --set "mc.n_samples=$(((n + 15) / 16))" --set "run.output='$name.h5'" "$@" > "$name.log"
}
table() { "$PYTHON" "$here/refined_table.py" "$@"; }
r256=$here/../input/refined_256.nml
r1024=$here/../input/refined_1024.nml
hb="dream.refine_top_algorithm='heatbath'"
metro="dream.refine_top_algorithm='metropolis'"

schedule() { # lower levels: refine_sweeps heat bath; top: refine_top_sweeps of either kind
  local rows=()
  for L in 256 1024; do
    local input=$r256 n=4000
    [ $L = 1024 ] && input=$r1024 n=2000
    for s in 64:64:hb 8:16:hb 8:64:hb 8:8:metro 8:16:metro 8:24:metro 8:32:metro 8:64:metro \
             64:16:metro 64:64:metro; do
      IFS=: read -r low top kind <<< "$s"
      local algo=$hb
      [ $kind = metro ] && algo=$metro
      [ $s = 64:64:metro ] && algo="dream.refine_algorithm='metropolis'"
      run "s${L}_${low}_${top}_$kind" "$input" $n --set "dream.refine_sweeps=$low" \
        --set "dream.refine_top_sweeps=$top" --set "$algo"
      rows+=("$low+$top $kind=s${L}_${low}_${top}_$kind.h5")
    done
  done
  table "${rows[@]}"
}

seeds() { # the recommended schedule from seeds of side L0 = 16 … 128 to 1024²
  local rows=()
  for L0 in 16 32 64 128; do
    run "seeds$L0" "$r1024" 2000 --set "mc.L=$L0" --set "dream.start_L=$L0" \
      --set "dream.measure_from=10"
    rows+=("L0 = $L0=seeds$L0.h5")
  done
  table "${rows[@]}"
}

models() { # sym3 and sym5 fitted exactly (optimizer newton) to Wolff 32² data, against the paper's
  [ -e fit_sym3.h5 ] || "$MPIEXEC" -n "$RANKS" "$INVRG" "$here/../input/train_sym3.nml" \
    --set "run.output='fit_sym3.h5'" > fit_sym3.log
  [ -e fit_sym5.h5 ] || "$MPIEXEC" -n "$RANKS" "$INVRG" "$here/../input/train_sym3.nml" \
    --set "train.model='sym5'" --set "run.output='fit_sym5.h5'" > fit_sym5.log
  run model_paper "$r1024" 2000
  run model_sym3 "$r1024" 2000 --set "dream.model=''" --set "dream.params=0" \
    --set "dream.model_file='fit_sym3.h5'"
  run model_sym5 "$r1024" 2000 --set "dream.model=''" --set "dream.params=0" \
    --set "dream.model_file='fit_sym5.h5'" --set "dream.random_bits='words'"
  table "published sym3=model_paper.h5" "sym3 fitted here=model_sym3.h5" \
    "sym5 fitted here=model_sym5.h5"
}

gamma() { # L = 64 … 4096, each from seeds of L/16: four dreamed and refined levels every time
  local rows=() n
  for level in 6 7 8 9 10 11 12; do
    local L=$((1 << level)) L0=$((1 << (level - 4)))
    n=2000
    [ $level -ge 11 ] && n=500
    run "gamma$L" "$r1024" $n --set "mc.L=$L0" --set "dream.start_L=$L0" \
      --set "dream.levels=$level" --set "dream.measure_from=$level"
    rows+=("L0 = $L0=gamma$L.h5")
  done
  table --gamma "${rows[@]}"
}

case $part in
  schedule | seeds | models | gamma) $part ;;
  all) schedule; seeds; models; gamma ;;
  *) echo "refined_study.sh: unknown part '$part'" >&2; exit 2 ;;
esac
