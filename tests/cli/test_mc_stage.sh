#!/usr/bin/env bash
# Stage mc end to end: the exact torus (the tests' own oracle, one family-wise threshold), bit-identical output on 1, 2 and 4
# ranks and any grid (packed lattices too, with Philox or ARS), packed configurations, and the
# input errors of &mc.
source "$(dirname "$0")/lib.sh"
check() { PYTHONPATH="$SOURCE_DIR/tools" "$PYTHON" "$SOURCE_DIR/tests/cli/check_mc.py" "$@"; }

mc_input() { # mc_input <file> <output> <mc keys...> [-- <other groups>]
  local file=$1 out=$2 keys=$3 extra=${4:-}
  printf "&run stages = 'mc', output = '%s', seed = 77, log_level = 'warn' /\n&output overwrite = T /\n&mc %s /\n%s\n" \
    "$out" "$keys" "$extra" > "$file"
}

# --- physics: the stage's summary against Kaufman's torus (tests/tools/kaufman.py)
common="L = 16, n_chains = 4, n_therm = 500, n_samples = 5000, sample_every = 2"
mc_input w_kc.nml w_kc.h5 "$common, algorithm = 'wolff'"
mc_input w_k40.nml w_k40.h5 "$common, algorithm = 'wolff', beta = 0.40"
mc_input sw_kc.nml sw_kc.h5 "$common, algorithm = 'sw'" "&parallel ranks_per_group = 2, grid = 1, 2 /"
mc_input sw_k40.nml sw_k40.h5 "$common, algorithm = 'sw', beta = 0.40" "&parallel ranks_per_group = 2, grid = 1, 2 /"
expect_status 0 "wolff L=16 at K_c" -- "$INVRG" w_kc.nml
expect_status 0 "wolff L=16 at K=0.40" -- "$INVRG" w_k40.nml
expect_status 0 "sw L=16 at K_c on 2 ranks (1x2 grid)" -- "$MPIEXEC" -n 2 "$INVRG" sw_kc.nml
expect_status 0 "sw L=16 at K=0.40 on 2 ranks (1x2 grid)" -- "$MPIEXEC" -n 2 "$INVRG" sw_k40.nml
expect_status 0 "E/N and C/N of the four runs against the exact torus (family-wise)" -- \
  check oracle 16 w_kc.h5 w_k40.h5 sw_kc.h5 sw_k40.h5
cat out.txt

# --- reproducibility: same seed, same numbers and configurations on any layout
small="L = 16, n_chains = 6, n_therm = 50, n_samples = 40, sample_every = 3, save_configs = T"
mc_input sw1.nml sw1.h5 "$small, algorithm = 'sw'"
expect_status 0 "sw, 1 rank" -- "$INVRG" sw1.nml
mc_input sw2.nml sw2.h5 "$small, algorithm = 'sw'" "&parallel ranks_per_group = 2, grid = 2, 1 /"
expect_status 0 "sw, 2 ranks, 2x1 grid" -- "$MPIEXEC" -n 2 "$INVRG" sw2.nml
mc_input sw4.nml sw4.h5 "$small, algorithm = 'sw'" "&parallel ranks_per_group = 4, grid = 2, 2 /"
expect_status 0 "sw, 4 ranks, 2x2 grid" -- "$MPIEXEC" -n 4 "$INVRG" sw4.nml
mc_input sw4g.nml sw4g.h5 "$small, algorithm = 'sw'" "&parallel ranks_per_group = 2, grid = 1, 2 /"
expect_status 0 "sw, 4 ranks, 2 groups of 1x2" -- "$MPIEXEC" -n 4 "$INVRG" sw4g.nml
mc_input w1.nml w1.h5 "$small, algorithm = 'wolff'"
expect_status 0 "wolff, 1 rank" -- "$INVRG" w1.nml
mc_input w4.nml w4.h5 "$small, algorithm = 'wolff'"
expect_status 0 "wolff, 4 ranks in 4 groups" -- "$MPIEXEC" -n 4 "$INVRG" w4.nml
expect_status 0 "sw output identical on 1, 2, 4 ranks and all grids" -- check identical 16 sw1.h5 sw2.h5 sw4.h5 sw4g.h5
expect_status 0 "wolff output identical on 1 and 4 ranks" -- check identical 16 w1.h5 w4.h5

# --- packed lattices (&mc lattice = 'packed', multispin sweeps), with MCRG and correlations of
# the int8 copies: the same run file on 1, 2 and 4 ranks, whatever the grid and groups
compare() { "$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" "$@"; }
packed_run() { # packed_run <dir> <algorithm> <ranks> [<parallel keys>]
  mkdir -p "$1"
  mc_input "$1/run.nml" out.h5 "$small, algorithm = '$2', lattice = 'packed'" \
    "&analyze mcrg_on_mc = T, mcrg_levels = 2, jackknife_blocks = 6 / ${4:-}"
  expect_status 0 "$2 packed, $3 rank(s) ${4:-}" -- sh -c "cd $1 && \"$MPIEXEC\" -n $3 \"$INVRG\" run.nml"
}
for alg in metropolis heatbath; do
  packed_run "$alg.1" $alg 1
  packed_run "$alg.2" $alg 2 "&parallel ranks_per_group = 2, grid = 2, 1 /"
  packed_run "$alg.4" $alg 4 "&parallel ranks_per_group = 4, grid = 2, 2 /"
  packed_run "$alg.4g" $alg 4 "&parallel ranks_per_group = 2, grid = 1, 2 /"
  for d in 2 4 4g; do
    if compare "$alg.1/out.h5" "$alg.$d/out.h5" > cmp.txt 2>&1; then
      pass "$alg packed: run file of layout $d = 1 rank ($(cat cmp.txt))"
    else fail "$alg packed: layout $d differs from 1 rank"; sed 's/^/  | /' cmp.txt; fi
  done
done
packed_run metropolis.14 metropolis 4 "&parallel ranks_per_group = 4, grid = 1, 4 /"
packed_run heatbath.41 heatbath 4 "&parallel ranks_per_group = 4, grid = 4, 1 /"
for d in metropolis.14 heatbath.41; do
  if compare "${d%.*}.1/out.h5" "$d/out.h5" > cmp.txt 2>&1; then pass "$d = 1 rank ($(cat cmp.txt))"
  else fail "$d differs from 1 rank"; sed 's/^/  | /' cmp.txt; fi
done
# The layouts "1" (1 rank), "4" (a group of 4, 2 x 2) and "4g" (2 groups of 2, 1 x 2) as keys.
layout_keys() {
  case $1 in
    4) echo "&parallel ranks_per_group = 4, grid = 2, 2 /" ;;
    4g) echo "&parallel ranks_per_group = 2, grid = 1, 2 /" ;;
  esac
}
# ARS random numbers (&mc generator = 'ars'): the same run file on 1 rank and on groups of 4
# and 2, and other chains than Philox's of the same seed
for d in 1 4 4g; do
  ranks=${d%g}; layout=$(layout_keys $d)
  mkdir -p ars.$d
  mc_input ars.$d/run.nml out.h5 "$small, algorithm = 'heatbath', lattice = 'packed', generator = 'ars'" \
    "&analyze mcrg_on_mc = T, mcrg_levels = 2, jackknife_blocks = 6 / $layout"
  expect_status 0 "heatbath packed with ARS, layout $d" -- sh -c "cd ars.$d && \"$MPIEXEC\" -n $ranks \"$INVRG\" run.nml"
done
for d in 4 4g; do
  if compare ars.1/out.h5 ars.$d/out.h5 > cmp.txt 2>&1; then
    pass "heatbath packed with ARS: run file of layout $d = 1 rank ($(cat cmp.txt))"
  else fail "heatbath packed with ARS: layout $d differs from 1 rank"; sed 's/^/  | /' cmp.txt; fi
done
check identical 16 heatbath.1/out.h5 ars.1/out.h5 > cmp.txt 2>&1
grep -q "^FAIL: series of ars.1/out.h5" cmp.txt \
  && pass "ARS and Philox heat bath give different series" \
  || { fail "ARS and Philox heat bath: the series do not differ"; cat cmp.txt; }
# Measured on the bits (observables by popcount, ξ₂/L from line sums): packed chains without
# MCRG, saved configurations or correlation functions never make an int8 copy; a reference run
# of the same chains that saves them and asks for the functions measures the int8 copies (the
# correlations' S(0), S(k_min) there from the int8 line sums). The bits runs' every result must
# equal the reference's, and the reference's series its saved configurations' E and M.
bits_small="L = 16, n_chains = 6, n_therm = 50, n_samples = 40, sample_every = 3"
mkdir -p bits.ref
mc_input bits.ref/run.nml out.h5 "$bits_small, save_configs = T, algorithm = 'heatbath', lattice = 'packed'" \
  "&analyze mcrg_levels = 2, jackknife_blocks = 6, correlation_functions = T /"
expect_status 0 "heatbath packed measured on int8 copies (saved, correlation functions)" -- sh -c "cd bits.ref && \"$INVRG\" run.nml"
"$PYTHON" - bits.ref/out.h5 > cmp.txt 2>&1 <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
g = f["mc/L16"]
spins = g["configs"][()].astype(np.int64)  # [chain * samples][y][x]
E = -(spins * np.roll(spins, 1, 1) + spins * np.roll(spins, 1, 2)).sum(axis=(1, 2)) / 256
M = spins.sum(axis=(1, 2)) / 256
cols = [c.decode() if isinstance(c, bytes) else c for c in g["series"].attrs["columns"]]
series = g["series"][()].reshape(-1, len(cols))
ok = np.array_equal(series[:, cols.index("energy")], E) and np.array_equal(series[:, cols.index("m")], M)
print("ok" if ok else "FAIL", ": the series' E/N and m are those of the saved configurations,", len(E), "samples")
sys.exit(0 if ok else 1)
PY
[ $? -eq 0 ] && pass "the reference's series from its configurations ($(cat cmp.txt))" || { fail "series vs configurations"; cat cmp.txt; }
for d in 1 4 4g; do
  ranks=${d%g}; layout=$(layout_keys $d)
  mkdir -p bits.$d
  mc_input bits.$d/run.nml out.h5 "$bits_small, algorithm = 'heatbath', lattice = 'packed'" \
    "&analyze mcrg_levels = 2, jackknife_blocks = 6 / $layout"
  expect_status 0 "heatbath packed measured on its bits, layout $d" -- sh -c "cd bits.$d && \"$MPIEXEC\" -n $ranks \"$INVRG\" run.nml"
  compare --subset bits.ref/out.h5 bits.$d/out.h5 > cmp.txt 2>&1 && grep -q "corr" <(h5ls -r bits.$d/out.h5)
  [ $? -eq 0 ] && pass "heatbath packed, layout $d: bits measure what the int8 copies do ($(cat cmp.txt))" \
    || { fail "heatbath packed, layout $d: bits and int8 copies differ"; cat cmp.txt; }
done
# the key takes effect: the packed chains are other chains than the int8 ones of the same seed
mc_input i1.nml i1.h5 "$small, algorithm = 'metropolis'"
expect_status 0 "metropolis on int8, 1 rank" -- "$INVRG" i1.nml
expect_status 1 "packed and int8 metropolis give different series" -- \
  check identical 16 i1.h5 metropolis.1/out.h5

# --- MCRG of every sample (mcrg_on_mc): the same eigenvalues on 1 rank and on a 2x1 grid
mcrg_keys="&analyze operators = 'swendsen', 'paper36', mcrg_levels = 2, jackknife_blocks = 6, mcrg_on_mc = T /"
mc_input m1.nml m1.h5 "L = 16, n_chains = 3, n_therm = 20, n_samples = 12, algorithm = 'sw'" "$mcrg_keys"
expect_status 0 "sw with MCRG on 1 rank" -- "$INVRG" m1.nml
mc_input m2.nml m2.h5 "L = 16, n_chains = 3, n_therm = 20, n_samples = 12, algorithm = 'sw'" "$mcrg_keys &parallel ranks_per_group = 2, grid = 2, 1 /"
expect_status 0 "sw with MCRG on a 2x1 grid" -- "$MPIEXEC" -n 2 "$INVRG" m2.nml
"$PYTHON" - <<'PY' > py.txt 2>&1
import h5py, numpy as np, sys
def walk(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = np.asarray(obj[()]).tobytes()
            for k, v in obj.attrs.items():
                out[name + "@" + k] = np.asarray(v).tobytes() if np.asarray(v).dtype.kind in "fiub" else str(np.asarray(v).tolist())
        f["mcrg"].visititems(visit)
    return out
a, b = walk("m1.h5"), walk("m2.h5")
same = len(a) > 50 and a.keys() == b.keys() and all(a[k] == b[k] for k in a)
print(("ok" if same else "FAIL") + f": /mcrg/mc ({len(a)} entries) identical on both layouts")
sys.exit(0 if same else 1)
PY
[ $? -eq 0 ] && pass "MCRG on Monte Carlo is layout-independent" || fail "MCRG on Monte Carlo differs"
cat py.txt

# --- several sizes in one run: summaries, correlations and FSS across them, layout-independent
mc_input f1.nml f1.h5 "L = 8, 16, n_chains = 4, n_therm = 50, n_samples = 200, algorithm = 'sw'" "&analyze correlation_functions = T /"
expect_status 0 "sw at L = 8 and 16 on 1 rank" -- "$INVRG" f1.nml
mc_input f2.nml f2.h5 "L = 8, 16, n_chains = 4, n_therm = 50, n_samples = 200, algorithm = 'sw'" "&parallel ranks_per_group = 2 /
&analyze correlation_functions = T /"
expect_status 0 "sw at L = 8 and 16 on a group of 2" -- "$MPIEXEC" -n 2 "$INVRG" f2.nml
"$PYTHON" - <<'PY' > py.txt 2>&1
import h5py, numpy as np, sys
def walk(path):
    out = {}
    with h5py.File(path, "r") as f:
        for top in ("mc", "corr", "fss"):
            def visit(name, obj, top=top):
                key = top + "/" + name
                if isinstance(obj, h5py.Dataset):
                    out[key] = np.asarray(obj[()]).tobytes()
                for k, v in obj.attrs.items():
                    a = np.asarray(v)
                    out[key + "@" + k] = a.tobytes() if a.dtype.kind in "fiub" else str(a.tolist())
            f[top].visititems(visit)
    return out
a, b = walk("f1.h5"), walk("f2.h5")
good = all(k in a for k in ("mc/L8/series", "mc/L16/series", "corr/mc/L16/G_axis")) and \
    any(k.startswith("fss/mc/") for k in a)
print(("ok" if good else "FAIL") + ": /mc/L8, /mc/L16, /corr/mc and /fss/mc written")
same = a.keys() == b.keys() and all(a[k] == b[k] for k in a)
print(("ok" if same else "FAIL") + f": {len(a)} entries identical on both layouts")
sys.exit(0 if good and same else 1)
PY
[ $? -eq 0 ] && pass "several sizes in one run" || fail "several sizes in one run"
cat py.txt

# --- packed configurations hold the same spins
mc_input p2.nml p2.h5 "$small, algorithm = 'sw'" "&output configs_format = 'packed' / &parallel ranks_per_group = 2, grid = 2, 1 /"
sed -i 's/&output overwrite = T \//\&output overwrite = T, configs_format = '"'packed'"' \//; s/&output configs_format = .packed. \/ //' p2.nml
expect_status 0 "sw with packed configurations on 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" p2.nml
expect_status 0 "packed configurations unpack to the int8 ones" -- check packed 16 p2.h5 sw1.h5

# --- bad input: exit 2, the message names the key
bad() { # bad <description> <mc keys> <expected message> [other groups] [ranks]
  rm -f bad.h5
  mc_input bad.nml bad.h5 "$2" "${4:-}"
  expect_status 2 "$1" -- "$MPIEXEC" -n "${5:-2}" "$INVRG" bad.nml
  expect_grep err.txt "$3" "$1: message"
  [ ! -e bad.h5 ] || fail "$1 wrote an output"
}
bad "zero beta" "beta = 0.0" "bad.nml:3:5: error: key 'beta': must be positive (got 0)"
bad "a size listed twice" "L = 8, 16, 8" "bad.nml:3:5: error: L = 8 is listed twice"
bad "negative beta" "beta = -0.4" "key 'beta': must be positive (got -0.4)"
bad "odd L" "L = 15" "key 'L': must be even (got 15; try 16)"
bad "L not divisible by the grid" "L = 18, algorithm = 'sw'" \
  "bad.nml:3:5: error: &mc L: a 18 x 18 lattice (halo 1) does not split into equal blocks on the 1 x 4 grid" \
  "&parallel ranks_per_group = 4, grid = 1, 4 /" 4
bad "MCRG levels beyond L" "L = 12" "bad.nml:4:26: error: 3 blockings need L to be a multiple of 8 (L = 12)" "&analyze mcrg_on_mc = T, mcrg_levels = 3 /"
bad "MCRG with several sizes" "L = 8, 16" "MCRG of Monte Carlo samples works on one &mc L per run (2 given)" "&analyze mcrg_on_mc = T, mcrg_levels = 2 /"
bad "sample_every = 0" "sample_every = 0" "key 'sample_every' must be >= 1, got 0"
bad "unknown algorithm" "algorithm = 'wolf'" "key 'algorithm' must be one of 'wolff', 'sw', 'metropolis' or 'heatbath', got 'wolf' (did you mean 'wolff'?)"
bad "packed lattice with wolff" "lattice = 'packed'" \
  "bad.nml:3:5: error: a packed lattice runs algorithm = 'metropolis' or 'heatbath', not 'wolff'; use lattice = 'int8'"
bad "ARS on an int8 lattice" "algorithm = 'metropolis', generator = 'ars'" \
  "error: 'ars' draws the multispin sweeps of lattice = 'packed' (algorithm = 'metropolis' or 'heatbath'); this run has lattice = 'int8': use generator = 'philox'"
bad "packed rows not split by the group" "L = 18, algorithm = 'metropolis', lattice = 'packed'" \
  "bad.nml:3:39: error: a packed lattice is split by rows over the 4 ranks of a group, but L = 18 is not a multiple of them (ranks_per_group = 4)" \
  "&parallel ranks_per_group = 4, grid = 2, 2 /" 4
bad "wolff on a shared lattice" "algorithm = 'wolff'" "'wolff' runs each chain on one rank, but ranks_per_group = 2; use algorithm = 'sw'" "&parallel ranks_per_group = 2 /"
finish
