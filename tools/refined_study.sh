#!/usr/bin/env bash
# The refined-dream study (docs/refined_dreams.md §7–§9): runs invrg on the recommended inputs
# with other settings and prints the tables with tools/refined_table.py.
#
#   tools/refined_study.sh <part> [out dir]
#   part: schedule | seeds | models | gamma | wolff | figure | correlations | cost | all
#
# INVRG (default build/invrg), RANKS (default 2) and MPIEXEC (default mpiexec) may be set.
# schedule: the sweeps per level and at the top at 256² (4000 samples) and 1024² (2000);
# seeds: the side L0 of the Monte Carlo seeds at 1024²; models: the published sym3 against
# sym3 and sym5 fitted by this code; gamma: gamma/nu from 64² … 4096², four refined levels each;
# wolff: Wolff ensembles of 64² … 1024², their reference; figure: both against L (after gamma
# and wolff); correlations: G(r) at 256² against Wolff; cost: per independent sample (below).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
part=${1:?usage: refined_study.sh schedule|seeds|models|gamma|wolff|figure|correlations|cost|all [out dir]}
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
    --set "mc.n_samples=$(((n + 15) / 16))" --set "run.output='$name.h5'" "$@" > "$name.log" 2>&1
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
    n=8000
    [ $level -ge 11 ] && n=2000
    run "gamma$L" "$r1024" $n --set "mc.L=$L0" --set "dream.start_L=$L0" \
      --set "dream.levels=$level" --set "dream.measure_from=$level"
    rows+=("L0 = $L0=gamma$L.h5")
  done
  table --gamma "${rows[@]}"
}

wolff() { # Wolff ensembles at K_c, L = 64 … 1024 (2 chains x 1000 samples, 40 cluster updates
  # apart: 5.4 sweeps at 1024², more below; the errors count the correlation left), the reference
  # of gamma's sizes
  local rows=()
  for level in 6 7 8 9 10; do
    local L=$((1 << level))
    [ -e "wolff$L.h5" ] || "$MPIEXEC" -n "$RANKS" "$INVRG" "$r256" --set "run.stages='mc'" \
      --set "mc.L=$L" --set "mc.n_chains=2" --set "mc.n_therm=2000" --set "mc.n_samples=1000" \
      --set "mc.sample_every=40" --set "mc.save_configs=F" --set "analyze.mcrg_on_mc=F" \
      --set "run.seed=$((100 + level))" --set "run.output='wolff$L.h5'" > "wolff$L.log" 2>&1
    rows+=("Wolff=wolff$L.h5")
  done
  table "${rows[@]}"
}

figure() { # docs/refined_sizes.png: gamma's refined sizes against wolff's ensembles
  local rows=() L
  for L in 64 128 256 512 1024 2048 4096; do rows+=("refined dreams=gamma$L.h5"); done
  for L in 64 128 256 512 1024; do rows+=("Wolff=wolff$L.h5"); done
  table --plot refined_sizes.png "${rows[@]}" > /dev/null
  echo "wrote $out/refined_sizes.png"
}

correlations() { # G(r) at 256² of the recommended schedule (two seeds) and of 64 heat-bath
  # sweeps per level, against Wolff Monte Carlo (8000 samples, 20 cluster updates apart: about 5
  # sweeps, against tau_int(|m|) = 1.8)
  run g_rec "$r256" 4000 --set "analyze.correlation_functions=T"
  run g_rec2 "$r256" 8000 --set "analyze.correlation_functions=T" --set "run.seed=257"
  run g_hb64 "$r256" 4000 --set "analyze.correlation_functions=T" --set "dream.refine_sweeps=64" \
    --set "dream.refine_top_sweeps=-1" --set "$hb"
  [ -e g_wolff2.h5 ] || "$MPIEXEC" -n "$RANKS" "$INVRG" "$r256" --set "run.stages='mc'" \
    --set "mc.L=256" --set "mc.n_chains=2" --set "mc.n_therm=2000" --set "mc.n_samples=4000" \
    --set "mc.sample_every=20" --set "mc.save_configs=F" --set "analyze.mcrg_on_mc=F" \
    --set "analyze.correlation_functions=T" --set "run.seed=31" \
    --set "run.output='g_wolff2.h5'" > g_wolff2.log 2>&1
  table --G 1,2,4,8,16,32,64,128 Wolff=g_wolff2.h5 "8+16 Metropolis=g_rec.h5" \
    "8+16 Metropolis, seed 257=g_rec2.h5" "64+64 heat bath=g_hb64.h5"
}

# cost: core time per independent sample at 256² and 1024², three interleaved rounds: Wolff and
# Swendsen–Wang (2 tau_int(E) sweeps each; tau_int measured by stage mc, refined_dreams.md §6:
# Wolff 2.97 and 4.8, SW 7.30 and 9.9 sweeps) against refined dreams (every sample independent).
mc_sweep() { # mc_sweep <name> <L> <algorithm> <therm> <samples>: core seconds per sweep
  "$MPIEXEC" -n "$RANKS" "$INVRG" "$r256" --set "run.stages='mc'" --set "mc.L=$2" \
    --set "mc.algorithm='$3'" --set "mc.n_chains=$RANKS" --set "mc.n_therm=$4" \
    --set "mc.n_samples=$5" --set "mc.sample_every=10" --set "mc.save_configs=F" \
    --set "analyze.mcrg_on_mc=F" --set "analyze.correlations=F" \
    --set "run.output='$1.h5'" > "$1.log" 2>&1
  rm -f "$1.h5"
  # "(group 0: 1 chains): done in …, R flipped spins/s" (Wolff) or "R spin updates/s" (SW):
  # one chain per rank, so a sweep (L² spins) costs L²/R seconds of one core
  grep -m1 "group 0: 1 chains): done in" "$1.log" | sed 's/.*, \([0-9.e+]*\) .*/\1/' |
    awk -v L="$2" '{ printf "%.6g\n", L * L / $1 }'
}
dream_sample() { # dream_sample <name> <input> <samples> [--set …]: core seconds per sample
  local name=$1 input=$2 n=$3
  shift 3
  rm -f "$name.h5"
  run "$name" "$input" "$n" "$@"
  "$PYTHON" -c "
import h5py, sys
run = h5py.File(sys.argv[1], 'r')['run'].attrs
print(run['stage_seconds'][list(run['stages']).index('dream')] * run['nranks'] / int(sys.argv[2]))" \
    "$name.h5" "$n"
}
cost() {
  : > cost_raw.txt
  for round in 1 2 3; do
    echo "256 wolff $(mc_sweep cw256 256 wolff 200 100)" >> cost_raw.txt
    echo "256 sw $(mc_sweep cs256 256 sw 20 100)" >> cost_raw.txt
    echo "256 refined $(dream_sample cr256 "$r256" 2000)" >> cost_raw.txt
    echo "256 hb64 $(dream_sample ch256 "$r256" 2000 --set dream.refine_sweeps=64 \
      --set dream.refine_top_sweeps=-1 --set "$hb")" >> cost_raw.txt
    echo "1024 wolff $(mc_sweep cw1024 1024 wolff 200 20)" >> cost_raw.txt
    echo "1024 sw $(mc_sweep cs1024 1024 sw 20 20)" >> cost_raw.txt
    echo "1024 refined $(dream_sample cr1024 "$r1024" 200)" >> cost_raw.txt
    echo "1024 hb64 $(dream_sample ch1024 "$r1024" 200 --set dream.refine_sweeps=64 \
      --set dream.refine_top_sweeps=-1 --set "$hb")" >> cost_raw.txt
  done
  "$PYTHON" - cost_raw.txt <<'PY'
import collections, statistics, sys
tau = {('256', 'wolff'): 2.97, ('256', 'sw'): 7.30, ('1024', 'wolff'): 4.8, ('1024', 'sw'): 9.9}
t = collections.defaultdict(list)
for line in open(sys.argv[1]):
    L, item, sec = line.split()
    t[L, item].append(float(sec) * 2 * tau.get((L, item), 0.5))  # 2 tau_int sweeps, or 1 sample
names = {'wolff': 'Wolff, 2 tau_int(E) sweeps', 'sw': 'Swendsen-Wang, 2 tau_int(E) sweeps',
         'refined': 'refined dream, recommended (8 + 16 Metropolis)',
         'hb64': 'refined dream, 64 heat-bath sweeps per level'}
print('| L | sampler | ms per independent sample: fastest (median) | / Wolff: fastest (medians) |')
print('|---|---|---|---|')
for (L, item), v in t.items():
    w = t[L, 'wolff']
    print(f'| {L} | {names[item]} | {1e3 * min(v):.3g} ({1e3 * statistics.median(v):.3g}) '
          f'| {min(v) / min(w):.3g} ({statistics.median(v) / statistics.median(w):.3g}) |')
PY
}

case $part in
  schedule | seeds | models | gamma | wolff | figure | correlations | cost) $part ;;
  all) schedule; seeds; models; gamma; wolff; figure; correlations; cost ;;
  *) echo "refined_study.sh: unknown part '$part'" >&2; exit 2 ;;
esac
