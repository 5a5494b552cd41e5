#!/usr/bin/env bash
# Stage analyze end to end: the analyses of saved Monte Carlo and dreamed configurations agree
# with those stages mc and dream made of the same samples while running, and with the exact
# torus; another run's file gives the same bits as this run's; the same bits on 1, 2 and 4
# ranks, on groups of 2 and from packed configurations; and bad input.
source "$(dirname "$0")/lib.sh"

# Monte Carlo at L = 8 and 16, 4 chains x 500 samples: 20 jackknife blocks of 100 samples in
# stage mc (blocks_per_chain = 5); &analyze jackknife_blocks = 20 cuts the same blocks out of
# the 2000 saved configurations of each size, so the two analyses see the same blocks.
mc_group="&mc L = 8, 16, n_chains = 4, n_therm = 100, n_samples = 500, sample_every = 2, blocks_per_chain = 5, save_configs = T /"
an_keys="operators = 'swendsen', 'paper36', mcrg_levels = 2, jackknife_blocks = 20"
run_input() { # run_input <file> <output> <stages> <analyze keys> [other groups]
  printf "&run stages = %s, output = '%s', seed = 11, log_level = 'warn' /\n&analyze %s /\n%s\n" \
    "$3" "$2" "$4" "${5:-}" > "$1"
}

# (1) mc then analyze in one run; (2) an mc-only run, analysed by another run through
# &analyze data; (3) that analysis on 1, 2 and 4 ranks, groups of 2 (2x1 and 1x2 grids), and of
# packed configurations read by a 2x1 grid (blocks that start in the middle of a byte).
run_input same.nml same.h5 "'mc', 'analyze'" "$an_keys" "$mc_group"
expect_status 0 "mc then analyze in one run, 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" same.nml
run_input mconly.nml mconly.h5 "'mc'" "$an_keys" "$mc_group"
expect_status 0 "mc only, 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" mconly.nml
run_input mcpacked.nml mcpacked.h5 "'mc'" "$an_keys" "$mc_group
&output configs_format = 'packed' /"
expect_status 0 "mc only, packed configurations" -- "$INVRG" mcpacked.nml
run_input a1.nml a1.h5 "'analyze'" "data = 'mconly.h5', $an_keys"
expect_status 0 "analyze another run's file, 1 rank" -- "$INVRG" a1.nml
run_input a2.nml a2.h5 "'analyze'" "data = 'mconly.h5', $an_keys"
expect_status 0 "analyze another run's file, 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" a2.nml
run_input a4.nml a4.h5 "'analyze'" "data = 'mconly.h5', $an_keys"
expect_status 0 "analyze another run's file, 4 ranks" -- "$MPIEXEC" -n 4 "$INVRG" a4.nml
run_input ag2.nml ag2.h5 "'analyze'" "data = 'mconly.h5', $an_keys" "&parallel ranks_per_group = 2, grid = 2, 1 /"
expect_status 0 "analyze on a group of 2 (2x1)" -- "$MPIEXEC" -n 2 "$INVRG" ag2.nml
run_input ag4.nml ag4.h5 "'analyze'" "data = 'mconly.h5', $an_keys" "&parallel ranks_per_group = 2 /"
expect_status 0 "analyze on two groups of 2 (1x2)" -- "$MPIEXEC" -n 4 "$INVRG" ag4.nml
run_input ap.nml ap.h5 "'analyze'" "data = 'mcpacked.h5', $an_keys" "&parallel ranks_per_group = 2, grid = 2, 1 /"
expect_status 0 "analyze packed configurations on a group of 2 (2x1)" -- "$MPIEXEC" -n 2 "$INVRG" ap.nml
# A run stopped in stage mc (checkpoint, exit 3) and resumed on 1 rank analyses the saved
# configurations of both parts of stage mc.
mkdir resume && cp same.nml resume/
(cd resume && INVRG_TEST_STOP_AFTER_POLLS=600 "$MPIEXEC" -n 2 "$INVRG" same.nml > log0 2>&1)
status=$?
[ $status -eq 3 ] && [ -e resume/same.h5.ckpt ] && pass "mc + analyze stopped in stage mc (exit 3)" \
  || { fail "mc + analyze stopped in stage mc: exit $status"; tail -20 resume/log0; }
expect_status 0 "mc + analyze resumed on 1 rank" -- bash -c "cd resume && '$INVRG' same.nml"
# The same samples cut into 8 blocks: the same values, other error estimates.
run_input a8.nml a8.h5 "'analyze'" "data = 'mconly.h5', operators = 'swendsen', mcrg_levels = 2, jackknife_blocks = 8"
expect_status 0 "analyze with 8 jackknife blocks" -- "$INVRG" a8.nml

# (4) dreams saved at every measured level (all 64 samples), analysed in the same run.
dream_group="&dream model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 5, n_samples = 64, measure_from = 3, save_levels = 3, 4, 5, save_max = 64 /"
run_input dream.nml dream.h5 "'dream', 'analyze'" "sources = 'dream', operators = 'swendsen', mcrg_levels = 3, jackknife_blocks = 8" "$dream_group"
expect_status 0 "dream then analyze, 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" dream.nml

SOURCE_DIR="$SOURCE_DIR" "$PYTHON" - <<'PY' > py.txt 2>&1
import os, sys
import h5py, numpy as np
sys.path.insert(0, os.path.join(os.environ["SOURCE_DIR"], "tools"))
from invrg_io import exact_torus
ok = True
def report(good, what):
    global ok
    print(("ok" if good else "FAIL") + ": " + what)
    ok &= bool(good)
def tree(path, top):
    """Every dataset and attribute under /top, by name relative to it."""
    out = {}
    with h5py.File(path, "r") as f:
        if top not in f:
            return out
        def add(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
            for k, v in obj.attrs.items():
                if k in ("REFERENCE_LIST", "DIMENSION_LIST"):
                    continue  # dimension scales: file addresses, not results
                out[name + "@" + k] = v
        add(".", f[top])
        f[top].visititems(add)
    return out
def bits_equal(x, y):  # bit for bit, NaN included
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind in "fiub":
        return x.shape == y.shape and x.dtype == y.dtype and x.tobytes() == y.tobytes()
    return np.array_equal(x, y)
def same_tree(a, b, skip=()):
    keys = [k for k in a if not k.endswith(skip)]
    return len(a) > 0 and set(keys) == {k for k in b if not k.endswith(skip)} and \
        all(bits_equal(a[k], b[k]) for k in keys)
obs = ["energy", "abs_m", "m2", "m4", "chi", "chi_prime", "specific_heat", "binder_U4", "V4",
       "e_paper", "chi_paper", "cp_paper", "me_paper"]
f = h5py.File("same.h5", "r")

# (1) The same samples, the same blocks: stage analyze and stage mc agree. Values are means
# of the same numbers (equal up to rounding); errors are jackknife errors over the same 20
# blocks of 100 samples (chain-major), so they agree up to rounding too (1e-12 relative).
for L in (8, 16):
    a, m = f[f"analyze/mc/L{L}"].attrs, f[f"mc/L{L}"].attrs
    worst = max(max(abs(a[x] - m[x]) / abs(m[x]), abs(a[x + "_err"] - m[x + "_err"]) / m[x + "_err"])
                for x in obs)
    report(worst <= 1e-12 and a["n_samples"] == m["n_samples"] == 2000,
           f"L={L}: /analyze/mc = /mc for all {len(obs)} observables and errors "
           f"(largest relative difference {worst:.1e}), 2000 samples")
    # Against the exact torus, within 4 of the measured standard errors.
    ex = exact_torus(L)
    for x in ("energy", "specific_heat"):
        dev = (a[x] - ex[x]) / a[x + "_err"]
        report(abs(dev) < 4 and abs(a[x + "_exact"] - ex[x]) < 1e-9 * abs(ex[x]),
               f"L={L}: {x} {a[x]:.5f} +- {a[x + '_err']:.5f}, exact torus {ex[x]:.5f} ({dev:+.2f} sigma)")
for top in ("corr/%s", "fss/%s"):
    report(same_tree(tree("same.h5", top % "analyze_mc"), tree("same.h5", top % "mc")),
           f"/{top % 'analyze_mc'} equals /{top % 'mc'} bit for bit (same samples, same blocks)")
levels = {k.split("@")[0].split("/")[1] for k in tree("same.h5", "mcrg/analyze_mc")
          if k.startswith("blocked_L16/level")}
report(levels == {"level1", "level2"} and "mcrg/analyze_mc/blocked_L8/level2/paper36" in f,
       f"MCRG of each size: /mcrg/analyze_mc/blocked_L<L>/level1..2 with both operator sets")
lam = f["mcrg/analyze_mc/blocked_L16/level1/swendsen"].attrs
report(abs(lam["lambda_h"] - 3.67) < 0.1 and abs(lam["lambda_t"] - 2) < 0.25,
       f"L=16 level 1: lambda_h {lam['lambda_h']:.3f}, lambda_t {lam['lambda_t']:.3f} near 3.67 and 2")

# The same samples cut into 8 blocks: the values of the same means, errors that are other
# estimates of the same standard errors (a jackknife error over B blocks scatters by about
# 1/sqrt(2(B-1)), 27 % for 8 blocks, so a factor 2 either way is far outside chance).
a8 = h5py.File("a8.h5", "r")
for L in (8, 16):
    a, m = a8[f"analyze/mc/L{L}"].attrs, f[f"mc/L{L}"].attrs
    worst = max(abs(a[x] - m[x]) / abs(m[x]) for x in obs)
    ratios = [a[x + "_err"] / m[x + "_err"] for x in obs]
    report(worst <= 1e-12 and 0.5 < min(ratios) and max(ratios) < 2 and a["jackknife_blocks"] == 8,
           f"L={L}, 8 blocks: values equal /mc (largest relative difference {worst:.1e}), "
           f"errors {min(ratios):.2f} to {max(ratios):.2f} times those of 20 blocks")

# (2), (3) Another run's file, any layout, packed or not, and a resumed run: the same bits as (1).
ref = {t: tree("same.h5", t) for t in ("analyze", "mcrg/analyze_mc", "corr/analyze_mc", "fss/analyze_mc")}
for other in ("a1.h5", "a2.h5", "a4.h5", "ag2.h5", "ag4.h5", "ap.h5", "resume/same.h5"):
    for t, r in ref.items():
        report(same_tree(r, tree(other, t), skip=("@data",)),
               f"{other}: /{t} equals that of same.h5 bit for bit ({len(r)} datasets and attributes)")
with h5py.File("a1.h5", "r") as g:
    report(g["analyze"].attrs["data"] == "mconly.h5" and g["analyze/mc/L8"].attrs["configs"] == "/mc/L8/configs",
           "/analyze names the file and the datasets it analysed")

# (4) Dreams: stage analyze of the saved levels equals what stage dream measured of the same
# 64 samples with the same 8 blocks: summaries, correlations, FSS and the blocked MCRG (the
# same tie coins: configuration j blocks with the coins of dream sample j).
d = h5py.File("dream.h5", "r")
for L in (8, 16, 32):
    a, r = d[f"analyze/dream/L{L}"].attrs, d[f"dream/L{L}"].attrs
    good = all(bits_equal(a[x], r[x]) and bits_equal(a[x + "_err"], r[x + "_err"]) for x in obs)
    report(good and a["n_samples"] == 64, f"dream L={L}: /analyze/dream equals /dream bit for bit")
for mine, theirs in (("corr/analyze_dream", "corr/dream"), ("fss/analyze_dream", "fss/dream"),
                     ("mcrg/analyze_dream/blocked_L32", "mcrg/dream/blocked")):
    report(same_tree(tree("dream.h5", mine), tree("dream.h5", theirs)),
           f"/{mine} equals /{theirs} bit for bit")
report("analyze/mc" not in d and "mcrg/analyze_mc" not in d, "sources = 'dream' analyses no mc")
sys.exit(0 if ok else 1)
PY
[ $? -eq 0 ] && pass "analyze outputs" || fail "analyze outputs"
cat py.txt

# (5) Input errors: exit 2 before anything is written, the key named at its line.
bad() { # bad <description> <stages> <analyze keys> <expected message> [other groups]
  rm -f bad.h5
  run_input bad.nml bad.h5 "$2" "$3" "${5:-}"
  expect_status 2 "$1" -- "$MPIEXEC" -n 2 "$INVRG" bad.nml
  expect_grep err.txt "$4" "$1: message"
  [ ! -e bad.h5 ] || fail "$1 wrote an output"
}
bad "missing data file" "'analyze'" "data = 'nope.h5'" \
  "bad.nml:2:10: error: 'nope.h5' does not exist"
"$PYTHON" -c "import h5py; h5py.File('plain.h5', 'w')['x'] = 1"
bad "an HDF5 file that is no run file" "'analyze'" "data = 'plain.h5'" \
  "error: 'plain.h5' is not an invrg file (no format attributes)"
bad "sources = 'mc' of a file without Monte Carlo configurations" "'analyze'" \
  "data = 'dream.h5', sources = 'mc'" \
  "bad.nml:2:29: error: sources lists 'mc', but 'dream.h5' has no /mc/L<L>/configs (stage mc saves them with &mc save_configs = .true.)"
[ "$(grep -c ': error: ' err.txt)" -eq 1 ] && pass "a listed source that is missing: one error (not also 'nothing to analyse')" \
  || { fail "a listed source that is missing: expected one error"; cat err.txt; }
bad "sources = 'mc' of this run, which saves none" "'mc', 'analyze'" "sources = 'mc'" \
  "error: sources lists 'mc', but this run has no /mc/L<L>/configs" "&mc L = 8 /"
bad "nothing to analyse in this run" "'analyze'" "jackknife_blocks = 4" \
  "error: stage analyze has nothing to analyse: this run has no /mc/L<L>/configs or /dream/L<L>/configs"
bad "one dream per level is too few" "'dream', 'analyze'" "sources = 'dream'" \
  "error: stage analyze needs at least 2 saved configurations per size; save_max = 1" \
  "&dream model = 'sym3', params = 1, 1, 1, levels = 4, save_levels = 4, save_max = 1 /"
bad "one dream in all is too few" "'dream', 'analyze'" "sources = 'dream'" \
  "error: stage analyze needs at least 2 saved configurations per size; n_samples = 1" \
  "&dream model = 'sym3', params = 1, 1, 1, levels = 4, n_samples = 1, save_levels = 4 /"
bad "a fit range beyond the saved sizes" "'analyze'" "data = 'dream.h5', sources = 'dream', fss_Lmin = 4096" \
  "bad.nml:2:48: error: fss_Lmin = 4096, fss_Lmax = 0 keep 0 of the sizes of the saved dream configurations (8, 16, 32); a finite-size-scaling fit of dream needs at least 2"
bad "a source listed twice" "'analyze'" "data = 'dream.h5', sources = 'dream', 'dream'" \
  "'dream' is listed twice"
# A data file whose configurations hold values that are not spins (damaged, or written by
# another program): every rank stops at the end of the window with an input error naming the
# lowest such configuration, its site and value (configuration 1500 too, and later), whichever
# rank reads it; on a group of 2 ranks as well (the configuration split between them).
cp mconly.h5 damaged.h5
"$PYTHON" - <<'PY'
import h5py
with h5py.File("damaged.h5", "r+") as f:
    d = f["mc/L16/configs"]
    c = d[1500]; c[9, 2] = 0; d[1500] = c
    c = d[1234]; c[5, 3] = 7; d[1234] = c
PY
damaged_message="bad.nml:2:10: error: 'damaged.h5': /mc/L16/configs: configuration 1234 holds the value 7 at (x, y) = (3, 5), which is not a spin (+1 or -1)"
bad "a configuration that holds a value other than +1 and -1" "'analyze'" "data = 'damaged.h5'" \
  "$damaged_message"
bad "the same on a group of 2 ranks" "'analyze'" "data = 'damaged.h5'" "$damaged_message" \
  "&parallel ranks_per_group = 2 /"
# The data file as the output, overwritten, would be replaced before it is read: refused, the
# file untouched (the same file by another path too).
cp mconly.h5 self.h5
sum_before=$(cksum < self.h5)
run_input self.nml self.h5 "'analyze'" "data = './self.h5'" "&output overwrite = .true. /"
expect_status 2 "the data file as the output" -- "$MPIEXEC" -n 2 "$INVRG" self.nml
expect_grep err.txt "self.nml:2:10: error: data = './self.h5' is the output of this run (&run output = 'self.h5'), which would replace it" \
  "the data file as the output: message"
[ "$(cksum < self.h5)" = "$sum_before" ] && pass "the data file as the output: untouched" \
  || fail "the data file as the output: changed"
# Files the run writes or removes are not data (found by a sweep: the log file or the .tmp as
# data destroyed it); a checkpoint is not data (rows not written yet); sizes named otherwise
# than L<L> are not sizes; data HDF5 cannot read in parallel, bytes of the wrong sign, a beta
# that is not a coupling, and a FIFO are refused at the key.
for own in "log_file = 'own.h5' /" "/"; do
  cp mconly.h5 own.h5; cp mconly.h5 o.h5.tmp; sum_before=$(cksum < own.h5)
  printf "&run stages = 'analyze', output = 'o.h5', %s\n&analyze data = '%s' /\n" "$own" \
    "$([ "$own" = "/" ] && echo o.h5.tmp || echo own.h5)" > own.nml
  expect_status 2 "data is a file the run writes ($own)" -- "$MPIEXEC" -n 2 "$INVRG" own.nml
  expect_grep err.txt "$([ "$own" = "/" ] && echo "own.nml:2:10: error: data = 'o.h5.tmp' is the run file this run writes before it takes its name" || echo "own.nml:2:10: error: data = 'own.h5' is this run's log file, which it writes")" "named at the key"
  [ "$(cksum < own.h5)" = "$sum_before" ] && [ -e o.h5.tmp ] && pass "the data are untouched" || fail "the data were touched"
done
cp mconly.h5 ck.h5
"$PYTHON" - <<'PY'
import h5py, numpy as np
with h5py.File("ck.h5", "r+") as f:
    f.create_group("checkpoint")
with h5py.File("odd.h5", "w") as f:  # sizes named L08 and L 8; int8 bytes unsigned; lzf; VDS
    f.attrs["format"] = "invrg"; f.attrs["format_version"] = np.array([1, 1], dtype=np.int64)
    c = np.where(np.random.default_rng(1).random((20, 8, 8)) < 0.5, 1, -1).astype(np.int8)
    f["mc/L08/configs"] = c
    f["mc/L 8/configs"] = c
for name, make in (("unsigned", lambda f, c: f.create_dataset("mc/L8/configs", data=c.astype(np.uint8))),
                   ("lzf", lambda f, c: f.create_dataset("mc/L8/configs", data=c, compression="lzf")),
                   ("beta", lambda f, c: f.create_dataset("mc/L8/configs", data=c)),
                   ("betastr", lambda f, c: f.create_dataset("mc/L8/configs", data=c))):
    with h5py.File(name + ".h5", "w") as f:
        f.attrs["format"] = "invrg"; f.attrs["format_version"] = np.array([1, 1], dtype=np.int64)
        c = np.where(np.random.default_rng(2).random((20, 8, 8)) < 0.5, 1, -1).astype(np.int8)
        make(f, c)
        if name == "beta": f["mc/L8"].attrs["beta"] = 1e300
        if name == "betastr": f["mc/L8"].attrs["beta"] = "0.44"
PY
bad "a checkpoint as data" "'analyze'" "data = 'ck.h5'" \
  "bad.nml:2:10: error: 'ck.h5' is a checkpoint, not a finished run's file"
bad "sizes named L08 and 'L 8' only" "'analyze'" "data = 'odd.h5'" \
  "error: stage analyze has nothing to analyse: 'odd.h5' has no /mc/L<L>/configs"
bad "int8 configurations in unsigned bytes" "'analyze'" "data = 'unsigned.h5'" \
  "bad.nml:2:10: error: unsigned.h5: /mc/L8/configs holds unsigned bytes; int8 configurations are signed bytes"
bad "a filter this HDF5 does not have" "'analyze'" "data = 'lzf.h5'" \
  "bad.nml:2:10: error: lzf.h5: /mc/L8/configs is stored with the filter 32000 ('lzf'), which this HDF5 does not have"
bad "beta = 1e300 in the data" "'analyze'" "data = 'beta.h5'" \
  "bad.nml:2:10: error: beta.h5: attribute beta of /mc/L8 = 1e+300 is not a coupling in (0, 1e50]"
bad "beta a string in the data" "'analyze'" "data = 'betastr.h5'" \
  "bad.nml:2:10: error: betastr.h5: attribute beta of /mc/L8 is not one floating-point number"
mkfifo fifo.h5
bad "a FIFO as data (the check used to hang)" "'analyze'" "data = 'fifo.h5'" \
  "bad.nml:2:10: error: 'fifo.h5' is not a regular file"
finish
