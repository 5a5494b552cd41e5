#!/usr/bin/env bash
# Sizes: what the machine cannot hold is refused before any work (memory per rank, the disk of
# the output's directory), and per-rank memory does not grow with the number of samples
# (dream streams its samples in windows: bit-identical results, checkpoints inside windows).
source "$(dirname "$0")/lib.sh"
model="model = 'sym3', params = 0.5459, 0.62776, 1.40962"

# --- levels = 20 on too few ranks: the memory it needs, up front
printf "&run stages = 'dream', output = 'big.h5' /\n&dream %s,\n  levels = 20, n_samples = 1, measure_from = 20 /\n&analyze correlations = .false. /\n" \
  "$model" > big.nml
expect_status 2 "levels = 20 on 1 rank is refused" -- "$INVRG" big.nml
expect_grep err.txt "big.nml:3:3: error: levels = 20 needs about" "the error names the file, line and key"
expect_grep err.txt "GiB per rank" "the error says how much memory per rank"
if ! grep -q "== stage" out.txt err.txt && [ ! -e big.h5 ] && [ ! -e big.h5.tmp ]; then
  pass "refused before any stage, no output file"
else
  fail "the memory error came after work started or left an output file"; ls big.h5* 2>/dev/null
fi
expect_status 2 "levels = 20 on 2 ranks is refused too" -- "$MPIEXEC" -n 2 "$INVRG" big.nml
expect_grep err.txt "needs about" "2 ranks: the memory needed"
expect_status 2 "--check gives the same error" -- "$INVRG" --check big.nml
expect_grep err.txt "levels = 20 needs about" "--check: the memory needed"

# --- one jackknife block (one chain of one block): every size measured, ξ₂/L without error bars,
# no fit across sizes (a warning says why) — not an error after the work
printf "&run stages = 'mc', output = 'one.h5', seed = 5 /\n&mc L = 8, 16, n_chains = 1, blocks_per_chain = 1,\n  n_samples = 4, n_therm = 10 /\n" > one.nml
expect_status 0 "mc with one jackknife block runs" -- "$INVRG" one.nml
expect_grep err.txt "warn: fss mc: no fits across L: the samples of each size are one jackknife block" \
  "the log says why there is no fit across sizes"
expect_status 0 "its xi2/L is measured, with NaN errors, and there is no /fss" -- "$PYTHON" -c "
import math, sys, h5py
f = h5py.File('one.h5', 'r')
for L in (8, 16):
    a = f['corr/mc/L%d' % L].attrs
    assert a['n_blocks'] == 1 and math.isfinite(a['chi_prime']), dict(a)
    assert math.isnan(a['xi2_over_L_err']), a['xi2_over_L_err']
assert 'fss' not in f
"

# --- training: the replicas' table and the data on every rank, up front
printf "&run stages = 'mc', 'train', output = 'tr.h5' /\n&mc L = 8, n_samples = 20, save_configs = T /\n&train model = 'conv',\n  n_replicas = 100000000 /\n" > tr.nml
expect_status 2 "10^8 conv replicas are refused" -- "$INVRG" --check tr.nml
expect_grep err.txt "tr.nml:4:3: error: training on 160 configurations of 8^2 with 100000000 replicas needs about" \
  "the error names n_replicas and the memory per rank"

# --- saved configurations larger than the free disk of the output's directory: 1 MiB per
# 1024² configuration, twice as many as the free space holds (computed now)
n=$("$PYTHON" -c "import os; s = os.statvfs('.'); print(2 * s.f_bavail * s.f_frsize // 2**20 + 1000)")
printf "&run stages = 'dream', output = 'disk.h5' /\n&dream %s,\n  levels = 10, n_samples = %s, measure_from = 10, save_levels = 10,\n  save_max = %s /\n&analyze correlations = .false. /\n" \
  "$model" "$n" "$n" > disk.nml
expect_status 2 "saved configurations beyond the free disk are refused" -- "$INVRG" disk.nml
expect_grep err.txt "disk.nml:4:3: error: the run file needs about" "the error names save_max's line and the size"
expect_grep err.txt "GiB free" "the error says how much is free"
[ ! -e disk.h5 ] && [ ! -e disk.h5.tmp ] && pass "no output file" || fail "disk: output file left"
# the same run that saves a few fits
sed -i "s/save_max = $n/save_max = 2/; s/n_samples = $n/n_samples = 3/" disk.nml
expect_status 0 "a few saved configurations fit" -- "$INVRG" disk.nml

# --- many tiny samples: the peak memory per rank does not grow with n_samples
many() { # many <n_samples> <output>
  printf "&run stages = 'dream', output = '%s', log_level = 'warn' /\n&dream %s, levels = 1, n_samples = %s, measure_from = 1 /\n&analyze correlations = .false. /\n" \
    "$2" "$model" "$1" > "$2.nml"
}
many 20000 m1.h5
expect_status 0 "2e4 samples of 2x2 on 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" m1.h5.nml
many 200000 m2.h5
expect_status 0 "2e5 samples of 2x2 on 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" m2.h5.nml
"$PYTHON" - <<'PY' > py.txt 2>&1
import h5py, sys
peak = [h5py.File(f, "r")["run"].attrs["dream_peak_bytes"] / 2**20 for f in ("m1.h5", "m2.h5")]
print(f"peak per rank: {peak[0]:.1f} MiB (2e4 samples), {peak[1]:.1f} MiB (2e5 samples)")
# keeping every sample (9 doubles each on its rank and again on rank 0) would add 12 MiB
sys.exit(0 if peak[1] - peak[0] < 3 else 1)
PY
if [ $? -eq 0 ]; then pass "peak memory independent of n_samples: $(cat py.txt)"; else
  fail "peak memory grows with n_samples"; sed 's/^/  | /' py.txt; fi

# --- windows: many small windows (a test setting) give the same bits as one, on any layout,
# and a checkpoint taken inside a window resumes on another number of ranks
keys="$model, levels = 5, n_samples = 61, measure_from = 2, save_levels = 4, save_max = 9"
printf "&run stages = 'dream', output = 'out.h5', seed = 5, log_level = 'warn' /\n&dream %s /\n&analyze jackknife_blocks = 7 /\n" "$keys" > w.nml
mkdir w1 w2 w3 # the same output name in each, for compare_runs.py
cd w1; expect_status 0 "one window on 1 rank" -- "$INVRG" ../w.nml; cd ..
cd w2; expect_status 0 "windows of 7 samples on 2 ranks" -- env INVRG_TEST_WINDOW_ITEMS=7 "$MPIEXEC" -n 2 "$INVRG" ../w.nml; cd ..
cd w3; expect_status 3 "windows of 7 samples, stopped inside a window" -- env INVRG_TEST_WINDOW_ITEMS=7 INVRG_TEST_STOP_AFTER_POLLS=17 "$MPIEXEC" -n 2 "$INVRG" ../w.nml
expect_status 0 "resumed on 1 rank" -- env INVRG_TEST_WINDOW_ITEMS=7 "$INVRG" ../w.nml; cd ..
for d in w2 w3; do
  if "$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" w1/out.h5 $d/out.h5 > cmp.txt 2>&1; then
    pass "$d equals w1 bit for bit"
  else
    fail "$d differs from w1"; sed 's/^/  | /' cmp.txt
  fi
done
finish
