#!/usr/bin/env bash
# Stage dream end to end: identical output on 1, 2 and 4 ranks, the whole pipeline
# mc → train → dream, saved configurations, and bad input.
source "$(dirname "$0")/lib.sh"
dream_input() { # dream_input <file> <output> <dream keys> [other groups]
  printf "&run stages = 'dream', output = '%s', seed = 21, log_level = 'warn' /\n&dream %s /\n&analyze operators = 'swendsen', 'paper36', jackknife_blocks = 8 /\n%s\n" \
    "$2" "$3" "${4:-}" > "$1"
}
only_top_changed() { # only_top_changed <what> <run>:<run with top sweeps> ...
  "$PYTHON" -c "
import h5py, numpy as np, sys
ok = True
for pair in sys.argv[1:]:
    a, b = (h5py.File(f, 'r') for f in pair.split(':'))
    below = np.array_equal(a['dream/L8/configs'][()], b['dream/L8/configs'][()])
    top = not np.array_equal(a['dream/L32/configs'][()], b['dream/L32/configs'][()])
    energy = a['dream/L32'].attrs['energy'] != b['dream/L32'].attrs['energy']
    print('ok' if below and top and energy else 'FAIL', f': {b.filename}: L = 8 as in {a.filename}, L = 32 and its E/N not')
    ok &= below and top and energy
sys.exit(0 if ok else 1)" "${@:2}" \
    && pass "$1 change the top level and nothing below" \
    || fail "$1: not the top level alone changed"
}
keys="model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 5, n_samples = 64, measure_from = 2, save_levels = 3, 5, save_max = 10"
dream_input d1.nml d1.h5 "$keys"
expect_status 0 "dream on 1 rank" -- "$INVRG" d1.nml
dream_input d2.nml d2.h5 "$keys"
expect_status 0 "dream on 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" d2.nml
dream_input d4.nml d4.h5 "$keys"
expect_status 0 "dream on 4 ranks" -- "$MPIEXEC" -n 4 "$INVRG" d4.nml
dream_input dg2.nml dg2.h5 "$keys" "&parallel ranks_per_group = 2 /"
expect_status 0 "dream distributed over a group of 2 (1x2)" -- "$MPIEXEC" -n 2 "$INVRG" dg2.nml
dream_input dg4.nml dg4.h5 "$keys" "&parallel ranks_per_group = 4, grid = 2, 2 /"
expect_status 0 "dream distributed over a 2x2 group" -- "$MPIEXEC" -n 4 "$INVRG" dg4.nml
# &dream lattice = 'packed': levels held one bit per spin, whole or split by rows
dream_input dpk1.nml dpk1.h5 "$keys, lattice = 'packed'"
expect_status 0 "packed dream on 1 rank" -- "$INVRG" dpk1.nml
dream_input dpkg2.nml dpkg2.h5 "$keys, lattice = 'packed'" "&parallel ranks_per_group = 2 /"
expect_status 0 "packed dream split over a group of 2" -- "$MPIEXEC" -n 2 "$INVRG" dpkg2.nml
dream_input dpkg4.nml dpkg4.h5 "$keys, lattice = 'packed'" "&parallel ranks_per_group = 4, grid = 2, 2 /"
expect_status 0 "packed dream split over a group of 4 (int8 copies on 2x2)" -- "$MPIEXEC" -n 4 "$INVRG" dpkg4.nml
# correlation functions (FFT) of packed levels, from their rows, no int8 copies: the same bits as
# of the int8 levels, in double and in single precision, whole and split by rows over 2 ranks
fk="model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 5, n_samples = 16, measure_from = 2"
for precision in double single; do
  fa="&analyze jackknife_blocks = 4, correlation_functions = T, correlation_precision = '$precision' /"
  printf "&run stages = 'dream', output = 'fi_%s.h5', seed = 5, log_level = 'warn' /\n&dream %s /\n%s\n" \
    $precision "$fk" "$fa" > fi_$precision.nml
  printf "&run stages = 'dream', output = 'fp_%s.h5', seed = 5, log_level = 'warn' /\n&dream %s, lattice = 'packed' /\n%s\n&parallel ranks_per_group = 2 /\n" \
    $precision "$fk" "$fa" > fp_$precision.nml
  expect_status 0 "int8 dream with correlation functions ($precision)" -- "$INVRG" fi_$precision.nml
  expect_status 0 "packed dream split over 2 with correlation functions ($precision)" -- "$MPIEXEC" -n 2 "$INVRG" fp_$precision.nml
  "$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" fi_$precision.h5 fp_$precision.h5 > cmp.txt 2>&1
  grep -q "2 differ: \['config/dream@lattice', 'config/run@output'\]" cmp.txt \
    && h5ls fp_$precision.h5/corr/dream/L32 | grep -q G_axis \
    && pass "packed correlation functions ($precision) equal the int8 ones bit for bit ($(tail -1 cmp.txt))" \
    || { fail "packed correlation functions ($precision) differ from the int8 ones"; cat cmp.txt; }
done
# one_and_four <name> <&dream keys> <what>: <name>1.h5 on 1 rank and <name>g4.h5 on a group of 4
# (2 x 2), equal bit for bit but for the output name
one_and_four() {
  dream_input ${1}1.nml ${1}1.h5 "$2"
  expect_status 0 "$3 on 1 rank" -- "$INVRG" ${1}1.nml
  dream_input ${1}g4.nml ${1}g4.h5 "$2" "&parallel ranks_per_group = 4, grid = 2, 2 /"
  expect_status 0 "$3 on a group of 4" -- "$MPIEXEC" -n 4 "$INVRG" ${1}g4.nml
  "$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" ${1}1.h5 ${1}g4.h5 > cmp.txt 2>&1
  grep -q "1 differ: \['config/run@output'\]" cmp.txt \
    && pass "$3: a group of 4 equals 1 rank bit for bit but for the output name" \
    || { fail "$3: a group of 4 differs from 1 rank"; cat cmp.txt; }
}
# refined dreams (compatible_sweeps, then refine_sweeps: multispin heat bath after every step):
# the same on every layout
rk="$keys, lattice = 'packed', random_bits = 'planes', compatible_sweeps = 1, refine_sweeps = 3, refine_from = 3"
dream_input r1.nml r1.h5 "$rk"
expect_status 0 "refined packed dream on 1 rank" -- "$INVRG" r1.nml
dream_input rg2.nml rg2.h5 "$rk" "&parallel ranks_per_group = 2 /"
expect_status 0 "refined packed dream split over a group of 2" -- "$MPIEXEC" -n 2 "$INVRG" rg2.nml
dream_input rg4.nml rg4.h5 "$rk" "&parallel ranks_per_group = 4, grid = 2, 2 /"
expect_status 0 "refined packed dream split over a group of 4" -- "$MPIEXEC" -n 4 "$INVRG" rg4.nml
for other in rg2 rg4; do
  "$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" r1.h5 $other.h5 > cmp.txt 2>&1
  grep -q "1 differ: \['config/run@output'\]" cmp.txt \
    && pass "refined dreams: $other equals 1 rank bit for bit but for the output name ($(tail -1 cmp.txt))" \
    || { fail "refined dreams: $other differs from 1 rank"; cat cmp.txt; }
done
# the refining sweeps with ARS random numbers (refine_generator): the same on every layout, other
# sweeps than Philox's
one_and_four ra "$rk, refine_generator = 'ars'" "refined dreams with ARS sweeps"
"$PYTHON" -c "
import h5py, numpy as np, sys
a, b = h5py.File('r1.h5', 'r'), h5py.File('ra1.h5', 'r')
below = a['dream/L4'].attrs['energy'] == b['dream/L4'].attrs['energy']
differ = all(not np.array_equal(a[f'dream/L{L}/configs'][()], b[f'dream/L{L}/configs'][()]) for L in (8, 32))
print('ok' if below and differ else 'FAIL', ': E/N at L = 4 equal:', below, '; configurations at 8, 32 differ:', differ)
sys.exit(0 if below and differ else 1)" \
  && pass "ARS changes the refined levels only (L = 4 as with Philox, 8 and 32 not)" \
  || fail "refine_generator = 'ars' did not change exactly the refined levels"
# the same dreams without the sweeps: their /dream results must differ
dream_input r0.nml r0.h5 "$keys, lattice = 'packed', random_bits = 'planes'"
expect_status 0 "the same packed dream unrefined" -- "$INVRG" r0.nml
"$PYTHON" -c "
import h5py, numpy as np, sys
a, b = h5py.File('r0.h5', 'r'), h5py.File('r1.h5', 'r')
configs = all(not np.array_equal(a[f'dream/L{L}/configs'][()], b[f'dream/L{L}/configs'][()])
              for L in (8, 32))  # levels 3 and 5, refined from 3 on
energy = a['dream/L32'].attrs['energy'] != b['dream/L32'].attrs['energy']
print('ok' if configs and energy else 'FAIL', ': refined L = 8 and 32 differ, and E/N at 32')
sys.exit(0 if configs and energy else 1)" \
  && pass "refined dreams differ from the unrefined ones (configurations, energies)" \
  || fail "refined dreams: the sweeps changed nothing"
# the top level's own sweeps (refine_top_sweeps, refine_top_algorithm): the same on every layout;
# equal to refine_sweeps when they say the same; they change the top level alone; alone, they
# refine the top level of an otherwise unrefined dream
one_and_four rt "$rk, refine_top_sweeps = 5, refine_top_algorithm = 'metropolis'" \
  "refined dreams with Metropolis sweeps at the top"
dream_input rts.nml rts.h5 "$rk, refine_top_sweeps = 3, refine_top_algorithm = 'heatbath'"
expect_status 0 "refined dream whose top keys repeat refine_sweeps" -- "$INVRG" rts.nml
"$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" r1.h5 rts.h5 > cmp.txt 2>&1
grep -q "3 differ: \['config/dream@refine_top_algorithm', 'config/dream@refine_top_sweeps', 'config/run@output'\]" cmp.txt \
  && pass "refine_top_sweeps = refine_sweeps: the same run but for the keys" \
  || { fail "refine_top_sweeps = refine_sweeps changed the run"; cat cmp.txt; }
dream_input rto.nml rto.h5 "$keys, lattice = 'packed', random_bits = 'planes', refine_top_sweeps = 3, refine_from = 3"
expect_status 0 "a dream refined at the top only" -- "$INVRG" rto.nml
only_top_changed refine_top_sweeps r1.h5:rt1.h5 r0.h5:rto.h5
# Swendsen–Wang sweeps at the top (top_sw_sweeps): the same on every layout, int8 levels swept in
# place and packed ones through an int8 copy; with random_bits = 'words' the same dreams on both
tk="$keys, top_sw_sweeps = 2"
for v in t1:1:1:int8 t4:4:1:int8 tg2:2:2:int8 tg4:4:4:int8 tg42:4:2:int8 tp1:1:1:packed \
         tr1:1:1:refined tr2:2:1:refined trg2:2:2:refined trg4:4:4:refined trg42:4:2:refined; do
  IFS=: read -r name np rpg kind <<< "$v"
  case $kind in
    int8) k="$tk" ;;
    packed) k="$tk, lattice = 'packed'" ;;
    refined) k="$rk, top_sw_sweeps = 2" ;;
  esac
  grid=""; [ "$rpg" = 4 ] && grid=", grid = 2, 2"
  dream_input $name.nml $name.h5 "$k" "&parallel ranks_per_group = $rpg$grid /"
  expect_status 0 "top_sw_sweeps: $kind levels on $np rank(s), groups of $rpg" -- "$MPIEXEC" -n $np "$INVRG" $name.nml
done
for pair in t1:t4 t1:tg2 t1:tg4 t1:tg42 tr1:tr2 tr1:trg2 tr1:trg4 tr1:trg42; do
  "$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" ${pair%:*}.h5 ${pair#*:}.h5 > cmp.txt 2>&1
  grep -q "1 differ: \['config/run@output'\]" cmp.txt \
    && pass "top_sw_sweeps: ${pair#*:} equals ${pair%:*} bit for bit but for the output name ($(tail -1 cmp.txt))" \
    || { fail "top_sw_sweeps: ${pair#*:} differs from ${pair%:*}"; cat cmp.txt; }
done
"$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" t1.h5 tp1.h5 > cmp.txt 2>&1
grep -q "2 differ: \['config/dream@lattice', 'config/run@output'\]" cmp.txt \
  && pass "top_sw_sweeps: packed levels equal int8 levels but for the keys ($(tail -1 cmp.txt))" \
  || { fail "top_sw_sweeps: packed levels differ from int8 levels"; cat cmp.txt; }
# the sweeps change the top level only: L = 8 (level 3) as without them, L = 32 not
only_top_changed top_sw_sweeps d1.h5:t1.h5 r1.h5:tr1.h5
# with 100 heat-bath sweeps per level a dream is Ising at K_c: E/N and C/N at L = 8 and 16 against
# the exact torus, within 3.2 sigma each (family-wise 0.5 % over the four); with Philox, then with
# ARS sweeps (a family of its own)
for g in philox ars; do
  dream_input rphys_$g.nml rphys_$g.h5 "model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 4, n_samples = 4000, measure_from = 3, lattice = 'packed', refine_sweeps = 100, refine_generator = '$g'" "&parallel ranks_per_group = 1 /"
  sed -i "s/jackknife_blocks = 8/jackknife_blocks = 40/" rphys_$g.nml
  expect_status 0 "refined dreams to 16² with 100 $g sweeps per level on 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" rphys_$g.nml
  "$PYTHON" -c "
import h5py, sys
f = h5py.File('rphys_$g.h5', 'r')
devs = {(L, q): f[f'dream/L{L}'].attrs[q + '_dev_sigma'] for L in (8, 16) for q in ('energy', 'specific_heat')}
print(' '.join(f'L{L} {q} {d:+.2f}' for (L, q), d in devs.items()))
sys.exit(0 if all(abs(d) < 3.2 for d in devs.values()) else 1)" \
    && pass "refined dreams ($g): E/N and C/N at L = 8, 16 agree with the exact torus" \
    || fail "refined dreams ($g): E/N or C/N off the exact torus"
done
# one-spin dreams of 16² without refinement, then 40 Swendsen–Wang sweeps at K_c at the top
# (about 10 exponential relaxation times of E there: measured 3.7 sweeps from such dreams): E/N
# and C/N at L = 16 against the exact torus, within 3.2 sigma each (family-wise 0.3 %)
dream_input swphys.nml swphys.h5 "model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 4, n_samples = 4000, measure_from = 4, lattice = 'packed', top_sw_sweeps = 40" "&parallel ranks_per_group = 1 /"
sed -i "s/jackknife_blocks = 8/jackknife_blocks = 40/" swphys.nml
expect_status 0 "dreams to 16² with 40 Swendsen–Wang sweeps at the top on 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" swphys.nml
"$PYTHON" -c "
import h5py, sys
f = h5py.File('swphys.h5', 'r')
devs = {q: f['dream/L16'].attrs[q + '_dev_sigma'] for q in ('energy', 'specific_heat')}
print(' '.join(f'L16 {q} {d:+.2f}' for q, d in devs.items()))
sys.exit(0 if all(abs(d) < 3.2 for d in devs.values()) else 1)" \
  && pass "top_sw_sweeps: E/N and C/N at L = 16 agree with the exact torus" \
  || fail "top_sw_sweeps: E/N or C/N off the exact torus"
# seeds from Monte Carlo (start = 'mc'): Swendsen–Wang 16² configurations of this run, dreamed to 64² and
# refined; the same on 1 rank and on a group of 2; from a start_file too
mcs="&mc L = 16, n_chains = 4, n_therm = 50, n_samples = 40, sample_every = 2, algorithm = 'sw', save_configs = T /"
skb="model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 6, start = 'mc', refine_sweeps = 2, save_levels = 6, save_max = 4"
sk="$skb, n_samples = 160, start_L = 16, measure_from = 5, lattice = 'packed'"
for v in ms1:1 msg2:2; do
  name=${v%:*} np=${v#*:}
  dream_input $name.nml $name.h5 "$sk" "$mcs &parallel ranks_per_group = $np /"
  sed -i "s/stages = 'dream'/stages = 'mc', 'dream'/" $name.nml
  expect_status 0 "MC-seeded refined dream, group of $np" -- "$MPIEXEC" -n $np "$INVRG" $name.nml
done
"$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" ms1.h5 msg2.h5 > cmp.txt 2>&1
grep -q "1 differ: \['config/run@output'\]" cmp.txt \
  && pass "MC-seeded dreams: a group of 2 equals 1 rank but for the output name ($(tail -1 cmp.txt))" \
  || { fail "MC-seeded dreams: a group of 2 differs from 1 rank"; cat cmp.txt; }
dream_input sf.nml sf.h5 "$sk, start_file = 'ms1.h5'"
expect_status 0 "MC-seeded dream from start_file" -- "$INVRG" sf.nml
"$PYTHON" -c "
import h5py, numpy as np, sys
a, b = h5py.File('ms1.h5', 'r'), h5py.File('sf.h5', 'r')
same = np.array_equal(a['dream/L64/configs'][()], b['dream/L64/configs'][()])
no_small = 'dream/L16' not in a and 'dream/L32' in a
print('ok' if same and no_small else 'FAIL', ': start_file gives the same dreams; levels from 32 measured')
sys.exit(0 if same and no_small else 1)" && pass "start_file seeds" || fail "start_file seeds"
# the seeds' independence, from their measured tau_int (400 samples a chain): Swendsen–Wang
# every 8 sweeps (0.57 samples: no warning), heat bath every sweep (16 samples: a warning), a
# start_file whose tau_int was removed (a warning that asks to check)
for v in "indep:sw:8:no" "corr:heatbath:1:yes"; do
  IFS=: read -r name algo every warns <<< "$v"
  dream_input $name.nml $name.h5 "$sk" "&mc L = 16, n_chains = 4, n_therm = 50, n_samples = 400, sample_every = $every, algorithm = '$algo', save_configs = T /"
  sed -i "s/stages = 'dream'/stages = 'mc', 'dream'/" $name.nml
  expect_status 0 "seeds by $algo every $every sweeps" -- "$INVRG" $name.nml
  if grep -q "neighbouring seeds are correlated" err.txt; then got=yes; else got=no; fi
  [ $got = $warns ] && pass "seeds by $algo every $every sweeps: correlation warning $got" \
    || { fail "seeds by $algo every $every sweeps: correlation warning $got, expected $warns"; cat err.txt; }
done
cp indep.h5 notau.h5
"$PYTHON" -c "
import h5py
g = h5py.File('notau.h5', 'r+')['mc/L16']
del g.attrs['energy_tau_int'], g.attrs['abs_m_tau_int']"
dream_input nt.nml nt.h5 "$sk, start_file = 'notau.h5'"
expect_status 0 "seeds from a file without tau_int" -- "$INVRG" nt.nml
expect_grep err.txt "their file has no tau_int of E and |m|" "seeds without tau_int: a warning asks to check them"
dream_input dp.nml dp.h5 "$keys" "&output configs_format = 'packed' / &parallel ranks_per_group = 2 /"
expect_status 0 "dream with packed configurations on a group of 2" -- "$MPIEXEC" -n 2 "$INVRG" dp.nml
s7="model = 'sym7', params = 0.2, 0.3, 0.9, 0.05, 0.02, 0.01, 0.01, 0, 0.01, 0.02, levels = 5, n_samples = 16, measure_from = 2, save_levels = 5"
dream_input s1.nml s1.h5 "$s7"
expect_status 0 "sym7 dream on 1 rank" -- "$INVRG" s1.nml
dream_input s2.nml s2.h5 "$s7" "&parallel ranks_per_group = 2, grid = 2, 1 /"
expect_status 0 "sym7 dream distributed over a 2x1 group" -- "$MPIEXEC" -n 2 "$INVRG" s2.nml
"$PYTHON" - <<'PY' > py.txt 2>&1
import h5py, numpy as np, sys
ok = True
def walk(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if name.startswith(("dream", "mcrg")):
                if isinstance(obj, h5py.Dataset):
                    out[name] = obj[()]
                for k, v in obj.attrs.items():
                    if k not in ("REFERENCE_LIST", "DIMENSION_LIST"):  # file addresses
                        out[name + "@" + k] = v
        f.visititems(visit)
    return out
def bits_equal(x, y):  # bit for bit, NaN included
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind in "fiub":
        return x.shape == y.shape and x.dtype == y.dtype and x.tobytes() == y.tobytes()
    return np.array_equal(x, y)
a = walk("d1.h5")
for other in ("d2.h5", "d4.h5", "dg2.h5", "dg4.h5", "dpk1.h5", "dpkg2.h5", "dpkg4.h5"):
    b = walk(other)
    same = a.keys() == b.keys() and all(bits_equal(a[k], b[k]) for k in a)
    print(("ok" if same else "FAIL") + f": {other}: {len(a)} datasets and attributes equal d1.h5 bit for bit")
    ok &= same
good = a["dream/L8/configs"].shape == (10, 8, 8) and a["dream/L32/configs"].shape == (10, 32, 32) \
    and set(np.unique(a["dream/L32/configs"])) == {-1, 1}
print(("ok" if good else "FAIL") + ": saved configurations of L = 8 and 32, 10 each, spins ±1")
ok &= good
good = all(f"dream/L{L}@V4" in a for L in (4, 8, 16, 32)) and "dream/L2@V4" not in a
print(("ok" if good else "FAIL") + ": summaries from measure_from (L = 4) to L = 32")
ok &= good
with h5py.File("dp.h5", "r") as f, h5py.File("d1.h5", "r") as g:
    packed = f["dream/L32/configs"]
    spins = np.where(np.unpackbits(packed[()], axis=2) == 1, 1, -1).astype(np.int8)
    good = packed.attrs["format"] == "packed" and np.array_equal(spins, g["dream/L32/configs"][()])
print(("ok" if good else "FAIL") + ": packed dream configurations unpack to the int8 ones")
ok &= good
with h5py.File("d1.h5", "r") as f:  # the costs per level, summed in ticks of a cheap clock
    t, stage = f["run/dream_seconds"][()], float(f["run"].attrs["stage_seconds"][0])
good = bool(np.isfinite(t).all() and (t >= 0).all() and (t[1:, 0] > 0).all()
            and 0 < t.sum() <= stage)
print(("ok" if good else "FAIL") + f": dream costs finite, >= 0, generation > 0 at every level,"
      f" {t.sum():.4f} s in all within the stage's {stage:.4f} s")
ok &= good
s1, s2 = walk("s1.h5"), walk("s2.h5")
same = s1.keys() == s2.keys() and all(bits_equal(s1[k], s2[k]) for k in s1)
print(("ok" if same else "FAIL") + ": sym7 distributed over 2x1 equals 1 rank bit for bit")
ok &= same
c = a["dream/L32/configs"][()]
e = -(c * np.roll(c, -1, 1) + c * np.roll(c, -1, 2)).sum(axis=(1, 2)) / 1024.0
# every saved configuration has spins of both signs and is above the ground state (E/N = -2)
good = all((ci == 1).any() and (ci == -1).any() for ci in c) and bool((e > -2).all())
print(("ok" if good else "FAIL") + f": no saved configuration is constant (E/N {e.min():.3f} … {e.max():.3f})")
ok &= good
sys.exit(0 if ok else 1)
PY
[ $? -eq 0 ] && pass "dream outputs" || fail "dream outputs"
cat py.txt

# Measured from 2 x 2: the up pairs of every level are the operator sums of the saved levels
# (level 1's coarse lattice: the seed spin, alternate), recomputed here with numpy, on int8
# and packed levels (words on a group of 2, planes on 2 ranks); the down pairs have the same
# fine sums. 37 samples: jackknife blocks of unequal sizes.
low="model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 5, n_samples = 37, measure_from = 1, save_levels = 1, 2, 3, 4, 5, save_max = 37"
ties="model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 2, n_samples = 3000, measure_from = 1"
dream_input tie1.nml tie1.h5 "$ties, lattice = 'int8'"
expect_status 0 "dream of 2 and 4 x 4 on int8 levels" -- "$INVRG" tie1.nml
dream_input tie2.nml tie2.h5 "$ties, lattice = 'packed'" "&parallel ranks_per_group = 2 /"
expect_status 0 "the same on packed levels, a group of 2" -- "$MPIEXEC" -n 2 "$INVRG" tie2.nml
for v in "lo1:1:lattice = 'int8':" "lo2:2:lattice = 'packed':&parallel ranks_per_group = 2 /" "lo3:2:lattice = 'packed', random_bits = 'planes':"; do
  IFS=: read -r name np lat par <<< "$v"
  dream_input $name.nml $name.h5 "$low, $lat" "$par"
  sed -i "s/operators = 'swendsen', 'paper36', jackknife_blocks = 8/operators = 'swendsen', jackknife_blocks = 5/" $name.nml
  expect_status 0 "dream measured from 2 x 2 ($lat, $np ranks)" -- "$MPIEXEC" -n $np "$INVRG" $name.nml
done
"$PYTHON" - <<'PY' > py.txt 2>&1
import h5py, numpy as np, sys
def S(c, dy, dx):  # S(dy, dx): the spin at (y - dy, x - dx), periodic
    return np.roll(c, (dy, dx), axis=(1, 2))
def swendsen(c):  # the set's 7 operator sums of each configuration c[j]
    s = c.astype(np.int64)
    c = s
    ops = [s * S(c, 1, 0) + s * S(c, 0, 1), s * S(c, 1, 1) + S(c, 0, 1) * S(c, 1, 0),
           s * S(c, 0, 1) * S(c, 1, 0) * S(c, 1, 1), s * S(c, 2, 0) + s * S(c, 0, 2), s,
           S(c, 0, 1) * S(c, 1, 0) * S(c, 1, 1) + s * S(c, 1, 0) * S(c, 1, 1)
           + s * S(c, 0, 1) * S(c, 1, 1) + s * S(c, 0, 1) * S(c, 1, 0),
           s * S(c, 0, 1) * S(c, 0, 2) + s * S(c, 1, 0) * S(c, 2, 0)]
    return np.stack([o.sum(axis=(1, 2)) for o in ops], axis=1)
def close(got, want):
    scale = max(1.0, float(np.abs(want).max()))
    return got.shape == want.shape and bool(np.all(np.abs(got - want) <= 1e-10 * scale))
ok = True
for name in ("lo1", "lo2", "lo3"):
    f = h5py.File(f"{name}.h5", "r")
    n = 37
    sums = [swendsen(np.array([[[1 if j % 2 == 0 else -1]] for j in range(n)]))]
    sums += [swendsen(f[f"dream/L{2 ** l}/configs"][()]) for l in range(1, 6)]
    good = True
    for l in range(1, 6):
        g, d = f[f"mcrg/dream/up/level{l}/swendsen"], f[f"mcrg/dream/down/level{l}/swendsen"]
        c, x = sums[l - 1].astype(float), sums[l].astype(float)
        A = (c.T @ c) / n - np.outer(c.mean(0), c.mean(0))
        B = (c.T @ x) / n - np.outer(c.mean(0), x.mean(0))
        good &= close(g["mean_coarse"][()], c.mean(0)) and close(g["mean_fine"][()], x.mean(0))
        good &= close(g["A"][()], A) and close(g["B"][()], B)
        good &= np.array_equal(d["mean_fine"][()], g["mean_fine"][()])
    print(("ok" if good else "FAIL") + f": {name}: up pairs of levels 1 to 5 = sums of the saved levels")
    ok &= good
    # On 1 x 1 every even operator is a constant: A = 0 in the even sector, no T, no λ_t
    # (NaN, '—' in the log, not λ_t = 0 and y_t = -inf); the odd sector (λ_h) is defined.
    a1 = f["mcrg/dream/up/level1/swendsen"].attrs
    good = all(np.isnan(a1[k]) for k in ("lambda_t", "y_t", "lambda_t_err", "y_t_err"))
    good &= bool(np.isfinite(a1["lambda_h"]) and np.isfinite(a1["y_h"]))
    print(("ok" if good else "FAIL") + f": {name}: a 1 x 1 coarse lattice has no lambda_t "
          f"(lambda_t = {a1['lambda_t']}, y_t = {a1['y_t']}), its lambda_h = {a1['lambda_h']:.3f}")
    ok &= good
# int8 and packed words dream the same configurations: their down pairs (blockings with the same
# coins; level 1's 2 x 2 → 1 x 1 taken straight from the packed bits) are the same bit for bit
a, b = h5py.File("tie1.h5", "r"), h5py.File("tie2.h5", "r")
good, ties = True, 0
for l in range(1, 3):
    ga, gb = a[f"mcrg/dream/down/level{l}/swendsen"], b[f"mcrg/dream/down/level{l}/swendsen"]
    def same(x, y):  # numbers bit for bit (NaN included), strings as strings
        x, y = np.asarray(x), np.asarray(y)
        if x.dtype.kind in "fiub":
            return x.dtype == y.dtype and x.tobytes() == y.tobytes()
        return np.array_equal(x, y)
    good &= set(ga.keys()) == set(gb.keys()) and all(
        same(ga[k][()], gb[k][()]) for k in ga.keys() if isinstance(ga[k], h5py.Dataset))
    good &= all(same(ga.attrs[k], gb.attrs[k]) for k in ga.attrs)
    if l == 1:
        ties = float(np.asarray(a["mcrg/dream/down/level1"].attrs.get("tie_fraction", -1)))
good &= ties * 3000 >= 5  # enough ties for their coins to matter
print(("ok" if good else "FAIL") + f": down pairs of levels 1, 2 equal on int8 and packed levels"
      f" (level 1 tie fraction {ties:.3f} of 3000)")
ok &= good
sys.exit(0 if ok else 1)
PY
[ $? -eq 0 ] && pass "up pairs from 2 x 2" || fail "up pairs from 2 x 2"
cat py.txt
# The same dreams stopped every 9 samples and resumed on 2 and 1 ranks in turn: the same bits
mkdir -p lostop && cp lo3.nml lostop/run.nml && sed -i "s/output = 'lo3.h5'/output = 'run.h5'/" lostop/run.nml
mkdir -p loref && cp lostop/run.nml loref/run.nml
(cd loref && "$MPIEXEC" -n 2 "$INVRG" run.nml > out.txt 2>&1) || fail "uninterrupted run for the stops"
for i in $(seq 1 12); do
  (cd lostop && INVRG_TEST_STOP_AFTER_POLLS=9 "$MPIEXEC" -n $((2 - i % 2)) "$INVRG" run.nml > log$i 2>&1)
  status=$?
  [ $status -eq 0 ] && break
  [ $status -eq 3 ] || { fail "stopped dream run $i: exit $status"; break; }
done
"$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" loref/run.h5 lostop/run.h5 > cmp.txt 2>&1 \
  && pass "measured from 2 x 2, stopped $((i - 1)) times and resumed = uninterrupted ($(tail -1 cmp.txt))" \
  || { fail "measured from 2 x 2: stopped and resumed differs"; cat cmp.txt; }

# The whole pipeline: Monte Carlo, training, dreaming with the trained model.
cat > pipe.nml <<'NML'
&run stages = 'mc', 'train', 'dream', output = 'pipe.h5', log_level = 'warn' /
&mc L = 16, n_chains = 2, n_therm = 50, n_samples = 100, sample_every = 2, save_configs = T /
&train epochs = 3, batch = 50, n_replicas = 2 /
&dream levels = 4, n_samples = 40, measure_from = 3 /
NML
expect_status 0 "mc → train → dream on 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" pipe.nml
"$PYTHON" -c "
import h5py, numpy as np, sys
f = h5py.File('pipe.h5', 'r')
ok = 'dream/L16' in f and 'model' in f and np.isfinite(f['dream/L16'].attrs['V4'])
print('ok' if ok else 'FAIL', ': dream used the trained model, L16 V4 =', f['dream/L16'].attrs['V4'])
sys.exit(0 if ok else 1)" && pass "pipeline outputs" || fail "pipeline outputs"

# A conv k = 3 model (window table) dreams on distributed lattices too: the same bits on
# 1 rank and on a group of 2 that shares each lattice.
printf "&run stages = 'train', output = 'conv.h5', seed = 4, log_level = 'warn' /\n&train model = 'conv', conv_channels = 4, conv_kernel = 3, data = 'pipe.h5', epochs = 1, batch = 50, n_replicas = 1 /\n" > conv.nml
expect_status 0 "train a small conv k = 3 model" -- "$INVRG" conv.nml
mkdir -p c1 cg
ck="model_file = '../conv.h5', levels = 7, n_samples = 6, measure_from = 4, save_levels = 7"
dream_input c1/c.nml c.h5 "$ck"
dream_input cg/c.nml c.h5 "$ck" "&parallel ranks_per_group = 2 /"
(cd c1 && "$INVRG" c.nml > out.txt 2>&1) && pass "conv k = 3 dream on 1 rank" || fail "conv k = 3 dream on 1 rank"
(cd cg && "$MPIEXEC" -n 2 "$INVRG" c.nml > out.txt 2>&1) && pass "conv k = 3 dream on a group of 2" \
  || { fail "conv k = 3 dream on a group of 2"; cat cg/out.txt; }
"$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" c1/c.h5 cg/c.h5 > cmp.txt 2>&1 \
  && pass "conv k = 3: distributed over a group of 2 equals 1 rank bit for bit ($(tail -1 cmp.txt))" \
  || { fail "conv k = 3: group of 2 differs from 1 rank"; cat cmp.txt; }
mkdir -p cp
dream_input cp/c.nml c.h5 "$ck, lattice = 'packed'" "&parallel ranks_per_group = 2 /"
(cd cp && "$MPIEXEC" -n 2 "$INVRG" c.nml > out.txt 2>&1) && pass "conv k = 3 packed dream on a group of 2" \
  || { fail "conv k = 3 packed dream on a group of 2"; cat cp/out.txt; }
"$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" c1/c.h5 cp/c.h5 > cmp.txt 2>&1
grep -q "differ: \['config/dream@lattice'\]" cmp.txt \
  && pass "conv k = 3: packed on a group of 2 equals int8 on 1 rank but for the key ($(tail -1 cmp.txt))" \
  || { fail "conv k = 3: packed differs from int8"; cat cmp.txt; }
# random bit planes for a window-table model (conv k = 3): the same dreams on 1 rank and split
# by rows over a group of 2, other draws than the words (the dreams differ, not only the key)
mkdir -p cq1 cq2
dream_input cq1/c.nml c.h5 "$ck, lattice = 'packed', random_bits = 'planes'"
dream_input cq2/c.nml c.h5 "$ck, lattice = 'packed', random_bits = 'planes'" "&parallel ranks_per_group = 2 /"
(cd cq1 && "$INVRG" c.nml > out.txt 2>&1) && pass "conv k = 3 planes dream on 1 rank" \
  || { fail "conv k = 3 planes dream on 1 rank"; cat cq1/out.txt; }
(cd cq2 && "$MPIEXEC" -n 2 "$INVRG" c.nml > out.txt 2>&1) && pass "conv k = 3 planes dream on a group of 2" \
  || { fail "conv k = 3 planes dream on a group of 2"; cat cq2/out.txt; }
"$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" cq1/c.h5 cq2/c.h5 > cmp.txt 2>&1 \
  && pass "conv k = 3 planes: a group of 2 equals 1 rank bit for bit ($(tail -1 cmp.txt))" \
  || { fail "conv k = 3 planes: a group of 2 differs from 1 rank"; cat cmp.txt; }
"$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" cp/c.h5 cq1/c.h5 > cmp.txt 2>&1
grep -Eq ", ([2-9]|[0-9]{2,}) differ" cmp.txt \
  && pass "conv k = 3: planes draw other dreams than words ($(tail -1 cmp.txt | cut -d: -f1))" \
  || { fail "conv k = 3: planes gave the words' dreams"; cat cmp.txt; }
# sym7 (window of two coarse rows: whole lattices) with planes: samples spread over 2 ranks
# give 1 rank's dreams
dream_input s7q1.nml s7q.h5 "$s7, lattice = 'packed', random_bits = 'planes'"
expect_status 0 "sym7 planes dream on 1 rank" -- "$INVRG" s7q1.nml
mkdir -p s7q && dream_input s7q/s7q.nml s7q.h5 "$s7, lattice = 'packed', random_bits = 'planes'"
(cd s7q && "$MPIEXEC" -n 2 "$INVRG" s7q.nml > out.txt 2>&1) && pass "sym7 planes dream on 2 ranks" \
  || { fail "sym7 planes dream on 2 ranks"; cat s7q/out.txt; }
"$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" s7q.h5 s7q/s7q.h5 > cmp.txt 2>&1 \
  && pass "sym7 planes: 2 ranks equal 1 rank bit for bit ($(tail -1 cmp.txt))" \
  || { fail "sym7 planes: 2 ranks differ from 1 rank"; cat cmp.txt; }

bad() { # bad <description> <dream keys> <expected message> [other groups]
  rm -f bad.h5
  dream_input bad.nml bad.h5 "$2" "${4:-}"
  expect_status 2 "$1" -- "$MPIEXEC" -n 2 "$INVRG" bad.nml
  expect_grep err.txt "$3" "$1: message"
  [ ! -e bad.h5 ] || fail "$1 wrote an output"
}
bad "levels = 0" "levels = 0" "key 'levels' must be between 1 and 20, got 0"
bad "levels too large for memory" "model = 'sym3', params = 1, 1, 1, levels = 20" "levels = 20 needs about"
bad "save_levels outside 1..levels" "model = 'sym3', params = 1, 1, 1, levels = 4, save_levels = 5" "save_levels holds 5, outside 1 .. levels = 4"
bad "params inconsistent with the model" "model = 'sym5', params = 1, 1, 1" "model 'sym5' has 6 parameters, params gives 3"
bad "missing model file" "model_file = 'nope.h5'" "model file 'nope.h5' does not exist"
head -c 3000 pipe.h5 > truncated.h5
bad "truncated model file" "model_file = 'truncated.h5'" "cannot open model file 'truncated.h5'"
cp pipe.h5 future.h5
"$PYTHON" -c "import h5py; f = h5py.File('future.h5', 'r+'); f.attrs['format_version'] = [2, 0]"
bad "model file of another format version" "model_file = 'future.h5'" "'future.h5' has format_version 2.0; this invrg reads 1.x"
bad "run file without a model" "model_file = 'd1.h5'" "model file 'd1.h5' has no group 'model'"
bad "no model at all" "levels = 4" "no model to dream with"
sed "s/conv.h5/conv7.h5/; s/conv_kernel = 3/conv_kernel = 7/; s/conv_channels = 4/conv_channels = 2/" conv.nml > conv7.nml
expect_status 0 "train a tiny conv k = 7 model" -- "$INVRG" conv7.nml
bad "refine_sweeps on int8 levels" "$keys, refine_sweeps = 2" "refined dreams sweep packed levels: set lattice = 'packed'"
bad "compatible_sweeps on int8 levels" "$keys, compatible_sweeps = 2" "refined dreams sweep packed levels: set lattice = 'packed'"
bad "refine_top_sweeps on int8 levels" "$keys, refine_top_sweeps = 2" "refined dreams sweep packed levels: set lattice = 'packed'"
expect_grep err.txt "bad.nml:2:$(awk 'NR == 2 { print index($0, "refine_top_sweeps") }' bad.nml): error" "refine_top_sweeps on int8 levels: the error points at the key"
bad "ARS without refining sweeps" "$keys, lattice = 'packed', compatible_sweeps = 1, refine_generator = 'ars'" "'ars' draws the refining sweeps (refine_sweeps, refine_top_sweeps), and this dream has none: use refine_generator = 'philox'"
bad "ARS with no level swept" "$keys, lattice = 'packed', refine_sweeps = 3, refine_top_sweeps = 0, refine_from = 5, refine_generator = 'ars'" "'ars' draws the refining sweeps (refine_sweeps, refine_top_sweeps), and this dream has none: use refine_generator = 'philox'"
bad "refine_from above levels" "$keys, lattice = 'packed', refine_sweeps = 2, refine_from = 9" "refine_from = 9 is above levels = 5"
bad "top_sw_sweeps beyond 2^31 sites per rank" "model = 'sym3', params = 1, 1, 1, levels = 16, lattice = 'packed', top_sw_sweeps = 1" "Swendsen-Wang handles fewer than 2^31 sites per rank; the top level (L = 65536)"
bad "top_sw_sweeps negative" "$keys, top_sw_sweeps = -1" "key 'top_sw_sweeps' must be between 0 and"
sv="$skb, start_file = 'ms1.h5'"
bad "start = 'mc' on int8 levels" "$sv, n_samples = 160, start_L = 16, measure_from = 5, lattice = 'int8'" "start = 'mc' dreams on packed levels: set lattice = 'packed'"
bad "start_L not a power of two" "$sv, n_samples = 160, start_L = 24, measure_from = 5, lattice = 'packed'" "start = 'mc' needs start_L, a power of two from 2 to 2^(levels - 1) = 32, not 24"
bad "measure_from at the seeds' level" "$sv, n_samples = 160, start_L = 16, measure_from = 4, lattice = 'packed'" "measure_from = 4: the levels from one above the seeds'"
bad "more samples than seeds" "$sv, n_samples = 500, start_L = 16, measure_from = 5, lattice = 'packed'" "n_samples = 500 dreams need as many seeds; /mc/L16/configs holds 160"
bad "seeds of a size not saved" "$sv, n_samples = 160, start_L = 8, measure_from = 5, lattice = 'packed'" "'ms1.h5' has no /mc/L8/configs"
bad "seeds without stage mc" "$sk" "start = 'mc' with start_L = 16 needs stage mc with that L and save_configs = .true. in this run, or start_file"
# seeds whose int8 values are not all spins (a damaged or foreign start_file): an input error
# at the key, naming the lowest such configuration, its site and value, whichever rank reads it
cp ms1.h5 damaged_seeds.h5
"$PYTHON" - <<'PY'
import h5py
with h5py.File("damaged_seeds.h5", "r+") as f:
    d = f["mc/L16/configs"]
    assert d.dtype == "int8"
    c = d[150]; c[1, 1] = 0; d[150] = c
    c = d[100]; c[6, 11] = 5; d[100] = c
PY
bad "seeds that are not spins" "$skb, start_file = 'damaged_seeds.h5', n_samples = 160, start_L = 16, measure_from = 5, lattice = 'packed'" \
  "'damaged_seeds.h5': /mc/L16/configs: configuration 100 holds the value 5 at (x, y) = (11, 6), which is not a spin (+1 or -1)"
expect_grep err.txt "bad.nml:2:$(awk 'NR == 2 { print index($0, "start_file") }' bad.nml): error: 'damaged_seeds.h5'" \
  "seeds that are not spins: the error points at start_file"
bad "the same split over a group of 2" "$skb, start_file = 'damaged_seeds.h5', n_samples = 160, start_L = 16, measure_from = 5, lattice = 'packed'" \
  "configuration 100 holds the value 5 at (x, y) = (11, 6)" "&parallel ranks_per_group = 2 /"
bad "start_L without start = 'mc'" "$keys, start_L = 16" "start_L and start_file choose the seeds of start = 'mc'; this run has start = 'alternate'"
bad "sym7 packed on a group of 2" "$s7, lattice = 'packed'" "a sym7 model reaches two coarse rows and cannot dream on packed lattices split over 2 ranks" "&parallel ranks_per_group = 2 /"
bad "sym7 planes on a group of 2" "$s7, lattice = 'packed', random_bits = 'planes'" "a sym7 model reaches two coarse rows and cannot dream on packed lattices split over 2 ranks" "&parallel ranks_per_group = 2 /"
bad "planes on int8 levels" "$s7, random_bits = 'planes'" "random_bits = 'planes' dreams on lattice = 'packed' with sym3, sym5, sym7 or a conv model with k <= 3; this run has sym7 (k = 7) on lattice = 'int8'"
bad "planes with conv k = 7" "model_file = 'conv7.h5', levels = 4, lattice = 'packed', random_bits = 'planes'" "this run has conv (k = 7) on lattice = 'packed'"
bad "conv k = 7 on a group of 2" "model_file = 'conv7.h5', levels = 4" "a conv model with k = 7 dreams each sample on one rank" "&parallel ranks_per_group = 2 /"
bad "conv k = 7 packed" "model_file = 'conv7.h5', levels = 4, lattice = 'packed'" "a conv model with k = 7 dreams on int8 lattices only"
# --- small_kernel_start = 'paper': the first (k-3)/2 steps of a sym7 model by the sym3 model
# (int8 levels with words; packed levels with random bit planes, which the sym3 model draws too)
sym7="model = 'sym7', params = 0.4, 0.5, 1.2, 0.05, 0.04, 0.03, 0.02, 0.02, 0.01, 0.01"
for q in "" _q; do
  extra=""
  [ -n "$q" ] && extra=", lattice = 'packed', random_bits = 'planes'"
  for v in paper none; do
    printf "&run stages = 'dream', output = 'sk_%s.h5', seed = 3 /\n&dream %s, levels = 5, n_samples = 16, measure_from = 3, save_levels = 1, 2, 3, small_kernel_start = '%s', small_kernel_params = 0.5, 0.6, 1.4%s /\n&analyze jackknife_blocks = 4 /\n" \
      "$v$q" "$sym7" "$v" "$extra" > "sk_$v$q.nml"
    expect_status 0 "sym7 with small_kernel_start = '$v'$extra" -- "$INVRG" "sk_$v$q.nml"
  done
  printf "&run stages = 'dream', output = 'sk_sym3%s.h5', seed = 3 /\n&dream model = 'sym3', params = 0.5, 0.6, 1.4, levels = 5, n_samples = 16, measure_from = 3, save_levels = 1, 2, 3%s /\n&analyze jackknife_blocks = 4 /\n" "$q" "$extra" > sk_sym3$q.nml
  expect_status 0 "sym3 with the small-kernel parameters$extra" -- "$INVRG" sk_sym3$q.nml
  "$PYTHON" - "$q" <<'PY' > py.txt 2>&1
import h5py, sys
q = sys.argv[1]
f = {v: h5py.File(f"sk_{v}{q}.h5", "r") for v in ("paper", "none", "sym3")}
c = lambda v, L: f[v][f"dream/L{L}/configs"][()]
ok = (c("paper", 2) == c("sym3", 2)).all() and (c("paper", 4) == c("sym3", 4)).all()
print(("ok" if ok else "FAIL") + f": 'paper'{' (planes)' if q else ''}: levels 1 and 2 (L = 2, 4) are the sym3 model's, bit for bit")
differ = not (c("paper", 8) == c("sym3", 8)).all() and not (c("paper", 4) == c("none", 4)).all()
print(("ok" if differ else "FAIL") + ": level 3 is the sym7 model's; 'none' differs from level 2 on")
sys.exit(0 if ok and differ else 1)
PY
  [ $? -eq 0 ] && pass "small_kernel_start = 'paper'$extra" || fail "small_kernel_start = 'paper'$extra"
  cat py.txt
done
# --- one sample (a single big dream): measured, errors NaN, nothing fails
printf "&run stages = 'dream', output = 'one.h5', seed = 1 /\n&dream model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 7, n_samples = 1, measure_from = 6, save_levels = 7, save_max = 1 /\n&parallel ranks_per_group = 2 /\n" > one.nml
expect_status 0 "one sample, levels = 7, on a group of 2" -- "$MPIEXEC" -n 2 "$INVRG" one.nml
"$PYTHON" -c "
import h5py, math, sys
g = h5py.File('one.h5', 'r')['dream/L128']
ok = g.attrs['n_samples'] == 1 and -2 < g.attrs['energy'] < -1 and math.isnan(g.attrs['energy_err'])
ok = ok and h5py.File('one.h5', 'r')['dream/L128/configs'].shape == (1, 128, 128)
sys.exit(0 if ok else 1)" && pass "one sample: E/N measured, its error NaN, the configuration saved" \
  || fail "one sample: /dream/L128 not as expected"
# --- big single dreams within the memory budget of F6: ≤ 1.5 bytes per spin of the top level
# per rank. Measured as the growth of the peak from a 4096² to an 8192² dream on a group of 2
# (measured at the top with MCRG of all pairs, saved), so that the fixed memory of MPI and HDF5
# does not count; a copy of the top level (1 byte per spin) would break it.
for lv in 12 13; do
  printf "&run stages = 'dream', output = 'big$lv.h5', seed = 2 /\n&dream model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = $lv, n_samples = 1, measure_from = $lv, save_levels = $lv, save_max = 1 /\n&parallel ranks_per_group = 2 /\n&analyze operators = 'swendsen', 'paper36', mcrg_levels = 4, correlations = F /\n" > big$lv.nml
  expect_status 0 "one $((1 << lv))² dream on a group of 2" -- "$MPIEXEC" -n 2 "$INVRG" big$lv.nml
  grep -F "dream memory" out.txt
done
"$PYTHON" -c "
import h5py, sys
peak, spins = {}, {}
for lv in (12, 13):
    f = h5py.File(f'big{lv}.h5', 'r')
    peak[lv], spins[lv] = f['run'].attrs['dream_peak_bytes'], 4**lv / 2  # per rank of the group
    assert f[f'dream/L{2**lv}/configs'].shape == (1, 2**lv, 2**lv)
b = (peak[13] - peak[12]) / (spins[13] - spins[12])
print(f'{b:.3f} bytes per spin of the top level per rank (peaks {peak[12] / 2**20:.1f} and {peak[13] / 2**20:.1f} MiB)')
sys.exit(0 if 1.0 < b <= 1.5 else 1)" \
  && pass "big dreams: memory grows by at most 1.5 bytes per top-level spin per rank" \
  || fail "big dreams: memory grows by more than 1.5 bytes per top-level spin per rank"
# --- packed big dreams: ≤ 0.25 bytes per top-level spin per rank (issue budget), measured the
# same way from 8192² to 16384² (packed, random bit planes, measured at the top, saved)
for lv in 13 14; do
  printf "&run stages = 'dream', output = 'pbig$lv.h5', seed = 2 /\n&dream model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = $lv, n_samples = 1, measure_from = $lv, save_levels = $lv, save_max = 1, lattice = 'packed', random_bits = 'planes' /\n&parallel ranks_per_group = 2 /\n&analyze operators = 'swendsen', 'paper36', mcrg_levels = 4 /\n" > pbig$lv.nml
  expect_status 0 "one packed $((1 << lv))² dream on a group of 2" -- "$MPIEXEC" -n 2 "$INVRG" pbig$lv.nml
  grep -F "dream memory" out.txt
done
"$PYTHON" -c "
import h5py, sys
peak, spins = {}, {}
for lv in (13, 14):
    f = h5py.File(f'pbig{lv}.h5', 'r')
    peak[lv], spins[lv] = f['run'].attrs['dream_peak_bytes'], 4**lv / 2  # per rank of the group
    assert f[f'dream/L{2**lv}/configs'].shape == (1, 2**lv, 2**lv)
b = (peak[14] - peak[13]) / (spins[14] - spins[13])
print(f'{b:.3f} bytes per spin of the top level per rank (peaks {peak[13] / 2**20:.1f} and {peak[14] / 2**20:.1f} MiB)')
sys.exit(0 if 0.125 <= b <= 0.25 else 1)" \
  && pass "packed big dreams: memory grows by at most 0.25 bytes per top-level spin per rank" \
  || fail "packed big dreams: memory grows by more than 0.25 bytes per top-level spin per rank"
# fewer samples than &analyze jackknife_blocks: a block per sample, said in the log and in the
# attributes (which are the blocks used, not the ones asked for)
printf "&run stages = 'dream', output = 'fewblocks.h5' /\n&dream levels = 5, model = 'sym3', params = 0.5, 0.6, 1.4, n_samples = 3 /\n&analyze jackknife_blocks = 20, mcrg_levels = 2 /\n" > fewblocks.nml
expect_status 0 "3 samples, jackknife_blocks = 20" -- "$INVRG" fewblocks.nml
expect_grep err.txt "warn: dream: 3 jackknife blocks of one sample each, not the 20 of &analyze jackknife_blocks: there are 3 samples" "the log says the blocks are fewer"
"$PYTHON" -c "
import h5py, sys
f = h5py.File('fewblocks.h5', 'r')
got = {k: int(f[k].attrs['jackknife_blocks']) for k in ('dream/L16', 'fss/dream', 'corr/dream', 'mcrg/dream/up')}
print(got)
sys.exit(0 if set(got.values()) == {3} else 1)" > py.txt 2>&1 \
  && pass "the attributes say 3 blocks: $(cat py.txt)" || { fail "jackknife_blocks attributes"; cat py.txt; }
# two samples that agree: an error of 0, and a deviation that cannot be told (NaN; it was -inf)
printf "&run stages = 'dream', seed = 11, output = 'agree.h5' /\n&dream model = 'sym3', params = 0.54590, 0.62776, 1.40962, levels = 1, n_samples = 2, measure_from = 1 /\n" > agree.nml
expect_status 0 "two dreams of 2 x 2" -- "$INVRG" agree.nml
"$PYTHON" -c "
import h5py, math, sys
a = h5py.File('agree.h5', 'r')['dream/L2'].attrs
print(a['energy_err'], a['energy_dev_sigma'], a['specific_heat_dev_sigma'])
sys.exit(0 if a['energy_err'] == 0 and math.isnan(a['energy_dev_sigma']) and math.isnan(a['specific_heat_dev_sigma']) else 1)" > py.txt 2>&1 \
  && pass "error 0: deviation NaN ($(cat py.txt))" || { fail "deviation with error 0"; cat py.txt; }
# The first levels of packed dreams come in batches of 64 dreams with the words' draws (up to
# 32 x 32, dream_batch.h): planes dreams equal the int8 ones there, bit for bit, on 1 rank and
# split by rows over a group of 2 (128 samples: two batches), and draw their own from 64 x 64 on
bk="model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 6, n_samples = 130, measure_from = 2, save_levels = 4, 5, 6, save_max = 130"
dream_input bw.nml bw.h5 "$bk, lattice = 'int8'"
expect_status 0 "int8 dream to 64 x 64" -- "$INVRG" bw.nml
dream_input bq.nml bq.h5 "$bk, lattice = 'packed', random_bits = 'planes'"
expect_status 0 "planes dream to 64 x 64 on 1 rank" -- "$INVRG" bq.nml
dream_input bq2.nml bq2.h5 "$bk, lattice = 'packed', random_bits = 'planes'" "&parallel ranks_per_group = 2 /"
expect_status 0 "planes dream to 64 x 64 on a group of 2" -- "$MPIEXEC" -n 2 "$INVRG" bq2.nml
"$PYTHON" -c "
import h5py, numpy as np, sys
w = h5py.File('bw.h5', 'r')
ok = True
for q in ('bq.h5', 'bq2.h5'):
    p = h5py.File(q, 'r')
    same = [L for L in (16, 32, 64) if np.array_equal(w[f'dream/L{L}/configs'][()], p[f'dream/L{L}/configs'][()])]
    print(q, 'equal to int8 at L =', same)
    ok &= same == [16, 32]
sys.exit(0 if ok else 1)" > py.txt 2>&1 \
  && pass "batched levels: planes dreams are the words' up to 32 x 32, their own at 64 x 64 ($(tr '\n' ' ' < py.txt))" \
  || { fail "batched levels of planes dreams"; cat py.txt; }
# ... and measured there, 2 x 2 to 32 x 32 (the 64 x 64 pairs taking their coarse sums from the
# batch): every number of the run file the int8 dream's, on 1 rank and on a group of 2 (three
# batches, the last of 2 dreams)
bm="model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = 6, n_samples = 130, measure_from = 1"
dream_input bmi.nml bmi.h5 "$bm, lattice = 'int8'"
expect_status 0 "int8 dream to 64 x 64, measured from 2 x 2" -- "$INVRG" bmi.nml
for where in 1 2; do
  dream_input bmp$where.nml bmp$where.h5 "$bm, lattice = 'packed'" "&parallel ranks_per_group = $where /"
  expect_status 0 "packed dream measured in batches to 32 x 32 (group of $where)" -- "$MPIEXEC" -n $where "$INVRG" bmp$where.nml
  "$PYTHON" "$SOURCE_DIR/tests/cli/compare_runs.py" bmi.h5 bmp$where.h5 > cmp.txt 2>&1
  grep -q "2 differ: \['config/dream@lattice', 'config/run@output'\]" cmp.txt \
    && pass "batch measurements to 32 x 32 (group of $where) equal the int8 dream's bit for bit ($(tail -1 cmp.txt))" \
    || { fail "batch measurements to 32 x 32 (group of $where) differ from the int8 dream's"; cat cmp.txt; }
done
finish
