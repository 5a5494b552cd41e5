#!/usr/bin/env bash
# The run file's schema: tools/runfile_schema.json is what `invrg --print-schema` prints, and every
# group, dataset and attribute of the run files of two small pipelines (every stage, MCRG on every
# kind of pair, correlations with and without their functions, FSS, the exact fit and a stochastic
# training, a --set) is described by it.
source "$(dirname "$0")/lib.sh"

expect_status 0 "--print-schema runs" -- "$INVRG" --print-schema
cp out.txt printed.json
if cmp -s printed.json "$SOURCE_DIR/tools/runfile_schema.json"; then
  pass "tools/runfile_schema.json is invrg --print-schema"
else
  fail "tools/runfile_schema.json differs from invrg --print-schema: regenerate it with
        invrg --print-schema > tools/runfile_schema.json"
fi

cat > all.nml <<'NML'
! every stage, FSS of dream, MCRG of mc, dream and analyze, paper36 too
&run stages = 'mc', 'train', 'dream', 'analyze', output = 'all.h5', log_level = 'warn' /
&mc L = 16, n_chains = 2, n_therm = 20, n_samples = 40, save_configs = T /
&train n_replicas = 2 /
&dream levels = 4, n_samples = 8, measure_from = 2, save_levels = 3, 4 /
&analyze mcrg_levels = 2, jackknife_blocks = 4, mcrg_on_mc = T, operators = 'swendsen', 'paper36',
         correlation_functions = T /
NML
cat > sgd.nml <<'NML'
! a stochastic training (the attributes of the replicas' mean), FSS of two Monte Carlo sizes
&run stages = 'mc', 'train', output = 'sgd.h5', log_level = 'warn' /
&mc L = 8, 16, n_chains = 2, n_therm = 20, n_samples = 40, save_configs = T /
&train data_L = 8, optimizer = 'adam', epochs = 2, batch = 10, n_replicas = 2 /
NML
expect_status 0 "pipeline of every stage on 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" all.nml
expect_status 0 "stochastic training (a key set on the command line: /config/overrides)" -- \
  "$MPIEXEC" -n 1 "$INVRG" sgd.nml --set "run.title=an override"

cat > check.py <<'PY'
import shutil, sys
import h5py
import numpy as np
import invrg_io
bad = 0
for path in sys.argv[1:]:
    with h5py.File(path, "r") as f:
        missing = invrg_io.undescribed(f)
    print(f"{path}: {len(missing)} names the schema does not describe {missing[:20]}")
    bad += len(missing) > 0

# Self-describing: description on every group and dataset, units on every dataset of numbers,
# both as the schema says; the axes attached as dimension scales; /summary/<source> equal to
# the groups' attributes; (re, im) named.
def described(f):
    s, problems = invrg_io.schema(), []
    def visit(name, obj):
        path = "/" + name
        parent, _, leaf = path.rpartition("/")
        e = s.find(path, "group") if isinstance(obj, h5py.Group) else s.find(parent or "/", "dataset", leaf)
        desc = obj.attrs.get("description")
        if e is None or desc is None or (desc.decode() if isinstance(desc, bytes) else desc) != \
                e["description"]:
            problems.append(f"{path}: description {desc!r}, schema {e and e['description']!r}")
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "iuf":
            units = obj.attrs.get("units")
            if units is None or (units.decode() if isinstance(units, bytes) else units) != e["units"]:
                problems.append(f"{path}: units {units!r}, schema {e and e['units']!r}")
    f.visititems(visit)
    return problems

for path in sys.argv[1:]:
    with h5py.File(path, "r") as f:
        problems = described(f)
        print(f"{path}: {len(problems)} objects not described as the schema says {problems[:5]}")
        bad += len(problems) > 0
        for source, table in f["summary"].items():
            src_attr = table.attrs["source"]
            top = (src_attr.decode() if isinstance(src_attr, bytes) else src_attr)[:-len("/L<L>")]
            rows = table[()]
            ok = len(rows) == len([k for k in f[top] if k.startswith("L")])
            for row in rows:
                g = f[f"{top}/L{int(row['L'])}"]
                ok &= all(np.float64(row[c]).tobytes() == np.float64(g.attrs[c]).tobytes()
                          for c in rows.dtype.names)  # bit for bit (NaN errors too)
            print(f"{path}: /summary/{source}: {len(rows)} rows {'=' if ok else '!='} {top}/L<L>")
            bad += not ok
        corr = next(iter(f["corr/mc"].values()))
        ok = corr["G_axis"].dims[0][0] == corr["r"] and corr["S_radial"].dims[0][0] == corr["k"]
        print(f"{path}: r and k are the dimension scales of G and S: {ok}")
        bad += not ok
        ev = f["mcrg/mc/blocked/level1/swendsen/even/eigenvalues"]
        ok = [c.decode() if isinstance(c, bytes) else c for c in ev.attrs["columns"]] == ["re", "im"]
        print(f"{path}: eigenvalue columns named re, im: {ok}")
        bad += not ok
        break  # the first file (every stage) has them all

# The check can fail: a planted attribute and dataset must be reported.
shutil.copy(sys.argv[1], "planted.h5")
with h5py.File("planted.h5", "r+") as f:
    f["mc/L16"].attrs["energy_typo"] = 1.0
    f["corr/mc/L16"].create_dataset("G_axes", data=[0.0])
    missing = invrg_io.undescribed(f)
print(f"planted: {missing}")
bad += sorted(missing) != ["/corr/mc/L16/G_axes", "/mc/L16@energy_typo"]
with h5py.File("planted.h5", "r+") as f:  # and a lost description, wrong units
    del f["corr/mc/L16/G_axes"]
    del f["mc/L16"].attrs["description"]
    f["corr/mc/L16/r"].attrs["units"] = "1"
    problems = described(f)
print(f"planted: {problems}")
bad += len(problems) != 2
sys.exit(1 if bad else 0)
PY
PYTHONPATH="$SOURCE_DIR/tools" expect_status 0 "every name in the run files is in the schema" -- \
  "$PYTHON" check.py all.h5 sgd.h5
cat out.txt
finish
