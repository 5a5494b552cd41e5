#!/usr/bin/env bash
# The run file's schema: tools/runfile_schema.json is what `invrg --print-schema` prints, and every
# group, dataset and attribute of the run files of two small pipelines (every stage, MCRG on every
# kind of pair, correlations, FSS, the exact fit and a stochastic training, a --set) is described
# by it.
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
&analyze mcrg_levels = 2, jackknife_blocks = 4, mcrg_on_mc = T, operators = 'swendsen', 'paper36' /
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
import invrg_io
bad = 0
for path in sys.argv[1:]:
    with h5py.File(path, "r") as f:
        missing = invrg_io.undescribed(f)
    print(f"{path}: {len(missing)} names the schema does not describe {missing[:20]}")
    bad += len(missing) > 0
# The check can fail: a planted attribute and dataset must be reported.
shutil.copy(sys.argv[1], "planted.h5")
with h5py.File("planted.h5", "r+") as f:
    f["mc/L16"].attrs["energy_typo"] = 1.0
    f["corr/mc/L16"].create_dataset("G_axes", data=[0.0])
    missing = invrg_io.undescribed(f)
print(f"planted: {missing}")
bad += sorted(missing) != ["/corr/mc/L16/G_axes", "/mc/L16@energy_typo"]
sys.exit(1 if bad else 0)
PY
PYTHONPATH="$SOURCE_DIR/tools" expect_status 0 "every name in the run files is in the schema" -- \
  "$PYTHON" check.py all.h5 sgd.h5
cat out.txt
finish
