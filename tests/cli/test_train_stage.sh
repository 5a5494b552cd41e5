#!/usr/bin/env bash
# Stage train end to end: the same parameters on 1 and 2 ranks (one group of 2, or two groups),
# training from another run's file (int8 and packed), the model group, and bad input.
source "$(dirname "$0")/lib.sh"

cat > data.nml <<'NML'
&run stages = 'mc', output = 'data.h5', seed = 3, log_level = 'warn' /
&mc L = 16, n_chains = 4, n_therm = 100, n_samples = 100, sample_every = 2, save_configs = T /
NML
expect_status 0 "Monte Carlo data" -- "$INVRG" data.nml
sed "s/data.h5/packed.h5/; s/&run /\&output configs_format = 'packed' \/\n\&run /" data.nml > packed.nml
expect_status 0 "the same data, packed" -- "$INVRG" packed.nml

train_input() { # train_input <file> <output> <train keys> [other groups]
  printf "&run stages = 'train', output = '%s', seed = 9, log_level = 'warn' /\n&train %s /\n%s\n" \
    "$2" "$3" "${4:-}" > "$1"
}
keys="data = 'data.h5', optimizer = 'adamw', epochs = 3, batch = 40, n_replicas = 3"
train_input t1.nml t1.h5 "$keys, model = 'sym5', loss = 'weighted'"
expect_status 0 "train sym5 on 1 rank" -- "$INVRG" t1.nml
train_input t2.nml t2.h5 "$keys, model = 'sym5', loss = 'weighted'" "&parallel ranks_per_group = 2 /"
expect_status 0 "train sym5 on 2 ranks sharing each batch" -- "$MPIEXEC" -n 2 "$INVRG" t2.nml
train_input t3.nml t3.h5 "$keys, model = 'sym5', loss = 'weighted'"
expect_status 0 "train sym5 on 2 groups" -- "$MPIEXEC" -n 2 "$INVRG" t3.nml
train_input tp.nml tp.h5 "data = 'packed.h5', optimizer = 'adamw', epochs = 3, batch = 40, n_replicas = 3, model = 'sym5', loss = 'weighted'"
expect_status 0 "train on packed data" -- "$INVRG" tp.nml
train_input tc.nml tc.h5 "data = 'data.h5', epochs = 1, batch = 40, n_replicas = 2, model = 'conv', conv_channels = 4"
expect_status 0 "train a small conv model" -- "$MPIEXEC" -n 2 "$INVRG" tc.nml
# A model whose parameter names outgrow an object header's 64 KiB (conv k = 7 with 64
# channels: 6337 names): written, read back, dreamed with.
train_input tw.nml tw.h5 "data = 'data.h5', epochs = 1, batch = 40, n_replicas = 1, model = 'conv', conv_kernel = 7, conv_channels = 64"
expect_status 0 "train a wide conv model" -- "$MPIEXEC" -n 2 "$INVRG" tw.nml
printf "&run stages = 'dream', output = 'tw_dream.h5' /\n&dream model_file = 'tw.h5', levels = 3, n_samples = 2 /\n" > tw_dream.nml
expect_status 0 "dream with the wide conv model read from its file" -- "$INVRG" tw_dream.nml
"$PYTHON" - <<'PY' > py.txt 2>&1
import h5py
with h5py.File("tw.h5", "r") as f:
    n = f["model/params"].shape[0]
    names = f["model"].attrs["param_names"]
    good = n == 6337 and len(names) == n and len(f["train"].attrs["selected_params"]) == n
    good &= sum(len(x) for x in names) > 65536
print(("ok" if good else "FAIL") + f": {n} parameters, their names ({sum(len(x) for x in names)} bytes) and the kept values")
PY
grep -q '^ok' py.txt && pass "a wide model's attributes" || { fail "a wide model's attributes"; cat py.txt; }
"$PYTHON" - <<'PY' > py.txt 2>&1
import h5py, numpy as np, sys
ok = True
def load(p):
    with h5py.File(p, "r") as f:
        return f["train/params"][()], f["train/val_loss"][()], f["model/params"][()], dict(f["model"].attrs)
a, b, c, d = (load(p) for p in ("t1.h5", "t2.h5", "t3.h5", "tp.h5"))
for name, other in (("2 ranks, one group", b), ("2 groups", c), ("packed data", d)):
    same = all(np.array_equal(x, y) for x, y in zip(a[:3], other[:3]))
    print(("ok" if same else "FAIL") + f": {name} gives the same parameters and losses bit for bit")
    ok &= same
attrs = a[3]
good = attrs["kind"] == "sym5" and attrs["kernel"] == 5 and len(attrs["param_names"]) == 6 and a[2].shape == (6,)
print(("ok" if good else "FAIL") + f": /model holds sym5 with 6 named parameters: {list(attrs['param_names'])}")
ok &= good
# select = auto (sym): the mean of the replicas or the best replica, whichever validates better
mean = a[0].mean(axis=0)
with h5py.File("t1.h5", "r") as f:
    g = f["train"]
    mean_val, best, selection = g.attrs["mean_val_loss"], g.attrs["best_replica"], g.attrs["selection"]
best_val = a[1][best, -1]
want = "mean" if mean_val <= best_val else "best"
kept = mean if want == "mean" else a[0][best]
good = selection == want and np.allclose(a[2], kept, rtol=0, atol=1e-15) and np.isfinite(mean_val) \
    and best_val == a[1][:, -1].min()
print(("ok" if good else "FAIL") + f": select = auto kept the {selection} (validation: mean {mean_val:.7f}, best replica {best_val:.7f})")
ok &= good
with h5py.File("tc.h5", "r") as f:
    good = f["model"].attrs["kind"] == "conv" and f["model/params"].shape == (4 * 19 + 1,) \
        and f["train"].attrs["selection"] == "best"
print(("ok" if good else "FAIL") + ": conv keeps the best replica, 77 parameters")
ok &= good
sys.exit(0 if ok else 1)
PY
[ $? -eq 0 ] && pass "train outputs" || fail "train outputs"
cat py.txt

bad() { # bad <description> <train keys> <expected message> [other groups]
  rm -f bad.h5
  train_input bad.nml bad.h5 "$2" "${4:-}"
  expect_status 2 "$1" -- "$MPIEXEC" -n 2 "$INVRG" bad.nml
  expect_grep err.txt "$3" "$1: message"
  [ ! -e bad.h5 ] || fail "$1 wrote an output"
}
bad "unknown model" "model = 'sym4'" "key 'model' must be one of 'sym3', 'sym5', 'sym7' or 'conv', got 'sym4' (did you mean 'sym3'?)"
bad "batch larger than the training set" "data = 'data.h5', batch = 400, optimizer = 'adamw'" \
  "bad.nml:2:26: error: batch = 400 is larger than the training set (360 configurations after 40 for validation)"
bad "missing data file" "data = 'nowhere.h5'" "bad.nml:2:8: error: training data: 'nowhere.h5' does not exist"
bad "data file without configurations" "data = 't1.h5'" "training data file 't1.h5' has no /mc group"
cp data.h5 two.h5
"$PYTHON" -c "import h5py; f = h5py.File('two.h5', 'r+'); L = next(iter(f['mc'])); f.copy('mc/' + L, 'mc/L2')"
bad "data file with two sizes, no data_L" "data = 'two.h5'" \
  "training data file 'two.h5' holds 2 sizes under /mc; choose one with &train data_L"
head -c 5000 data.h5 > cut.h5
bad "truncated data file" "data = 'cut.h5'" "training data: cannot open 'cut.h5' (not an HDF5 file)"
cp data.h5 old.h5
"$PYTHON" -c "import h5py; f = h5py.File('old.h5', 'r+'); f.attrs['format_version'] = [0, 9]"
bad "data file of another format version" "data = 'old.h5'" "'old.h5' has format_version 0.9; this invrg reads 1.x"
bad "no data from this run" "model = 'sym3'" "data = '' trains on this run's Monte Carlo samples"
bad "mean of conv replicas" "data = 'data.h5', model = 'conv', select = 'mean'" "the mean of conv replicas is not a model; use 'best'"
bad "training that overflows" "data = 'data.h5', optimizer = 'adamw', lr = 1e300, epochs = 2, batch = 40, n_replicas = 2" \
  "training diverged: the kept model (the mean of the replicas) has non-finite parameters or validation loss"
bad "Adam's weight decay that overflows the moments" "data = 'data.h5', optimizer = 'adam', weight_decay = 1e308, epochs = 2, batch = 40, n_replicas = 2" \
  "training diverged: the kept model (the mean of the replicas) has non-finite parameters or validation loss"
train_input big_lr.nml big_lr.h5 "data = 'data.h5', optimizer = 'adamw', lr = 1e8, epochs = 2, batch = 40, n_replicas = 2"
expect_status 0 "training that diverges but stays finite" -- "$INVRG" big_lr.nml
expect_grep err.txt "big_lr.nml:2:47: warning: the kept model (the best replica) predicts the validation spins worse than a fair coin" \
  "a model worse than a coin: warned"
expect_status 0 "training with the default lr" -- "$INVRG" t1.nml --set output.overwrite=.true.
grep -q 'worse than a fair coin' err.txt && fail "a converged model warned" || pass "a converged model: no warning"
train_input noval.nml noval.h5 "data = 'data.h5', optimizer = 'adamw', epochs = 2, batch = 40, n_replicas = 2, validation_fraction = 0"
expect_status 0 "training without a validation set (the training spins judge the model)" -- "$INVRG" noval.nml
grep -q 'worse than a fair coin' err.txt && fail "a converged model warned" || pass "without validation, a converged model: no warning"
train_input noval_big.nml noval_big.h5 "data = 'data.h5', optimizer = 'adamw', lr = 1e8, epochs = 2, batch = 40, n_replicas = 2, validation_fraction = 0"
expect_status 0 "training that diverges, without a validation set" -- "$INVRG" noval_big.nml
expect_grep err.txt "predicts the training spins worse than a fair coin" \
  "without validation, a model worse than a coin: warned (it used to pass silently)"
# Files the run writes are not data: the log file (it replaced the data, or the input file)
cp data.h5 lg.h5
printf "&run stages = 'train', output = 'lg_out.h5', log_file = 'lg.h5' /\n&train data = 'lg.h5' /\n" > lg.nml
expect_status 2 "log_file is the training data" -- "$MPIEXEC" -n 2 "$INVRG" lg.nml
expect_grep err.txt "lg.nml:2:8: error: data = 'lg.h5' is this run's log file, which it writes" "named at the key"
cmp -s lg.h5 data.h5 && pass "the training data are untouched" || fail "the training data changed"
printf "&run stages = 'train', output = 'self_log.h5', log_file = 'self_log.nml' /\n&train data = 'data.h5' /\n" > self_log.nml
cp self_log.nml self_log.before
expect_status 2 "log_file is the input file" -- "$INVRG" self_log.nml
expect_grep err.txt "self_log.nml:1:48: error: log_file 'self_log.nml' is this run's input file, which the log would replace" "named at the key"
cmp -s self_log.nml self_log.before && pass "the input file is untouched" || fail "the input file changed"
# Training data that are not a dataset, hold a value that is not a spin (named where, at the
# key), or have an odd L (2 x 2 blocks do not tile the torus)
"$PYTHON" - <<'PY'
import h5py, numpy as np
def make(name, L, group=False, value=None):
    with h5py.File(name, "w") as f:
        f.attrs["format"] = "invrg"; f.attrs["format_version"] = np.array([1, 1], np.int64)
        c = np.where(np.random.default_rng(3).random((40, L, L)) < 0.5, 1, -1).astype(np.int8)
        if value is not None: c[5, 2, 3] = value
        if group: f.create_group(f"mc/L{L}/configs")
        else: f[f"mc/L{L}/configs"] = c
make("grp.h5", 8, group=True)
make("zero.h5", 8, value=0)
make("odd.h5", 7)
PY
bad "configs that are a group" "data = 'grp.h5'" \
  "bad.nml:2:8: error: training data 'grp.h5': /mc/L8/configs is not a dataset (a group, or a link to nothing)"
bad "a value that is not a spin" "data = 'zero.h5', optimizer = 'adamw', epochs = 1, batch = 4, n_replicas = 1" \
  "bad.nml:2:8: error: 'zero.h5': /mc/L8/configs: configuration 5 holds the value 0 at (x, y) = (3, 2), which is not a spin (+1 or -1)"
bad "odd L" "data = 'odd.h5'" \
  "bad.nml:2:8: error: training data 'odd.h5': /mc/L7/configs holds configurations of L = 7: training needs an even L"
# A run stopped in training and resumed on other data (the file replaced meanwhile) is refused
# at &train data: it would mix epochs of two data sets (it went on silently); on the same data
# it continues
cp data.h5 dchg.h5
printf "&run stages = 'train', output = 'chg.h5' /\n&train data = 'dchg.h5', optimizer = 'adamw', epochs = 4, batch = 40, n_replicas = 2 /\n" > chg.nml
expect_status 3 "training stopped after 2 safe points" -- env INVRG_TEST_STOP_AFTER_POLLS=2 "$INVRG" chg.nml
"$PYTHON" -c "
import h5py
f = h5py.File('dchg.h5', 'r+'); L = next(iter(f['mc'])); d = f['mc/' + L + '/configs']
c = d[3]; c[0, 0] = -c[0, 0]; d[3] = c"
expect_status 2 "resumed on changed data" -- "$INVRG" chg.nml
expect_grep err.txt "chg.nml:2:8: error: the training data are not those the checkpoint 'chg.h5.ckpt' trained on" "named at the key"
cp data.h5 dchg.h5
expect_status 0 "resumed on the same data" -- "$INVRG" chg.nml
# A bootstrap resample that draws data too uniform to determine the model is left out of the
# errors, with a warning (it used to stop the run, and stage mc's work with it)
printf "&run stages = 'mc', 'train', output = 'degenerate.h5' /\n&mc L = 8, beta = 0.6, n_chains = 2, n_samples = 10, n_therm = 50, save_configs = .true., blocks_per_chain = 1 /\n&train n_replicas = 30 /\n" > degenerate.nml
expect_status 0 "degenerate bootstrap resamples" -- "$INVRG" degenerate.nml
expect_grep err.txt "warn: train: 9 of 29 bootstrap resamples are left out of the errors, which come from the other 20: the exact fit failed on their data (the first, resample 6: exact fit: the Hessian is singular" "counted and left out, with the fit's reason"
"$PYTHON" -c "
import h5py, numpy as np, sys
t = h5py.File('degenerate.h5', 'r')['train']
e = t.attrs['params_error']
print(e); sys.exit(0 if np.all(np.isfinite(e)) and np.all(e > 0) else 1)" > py.txt 2>&1 \
  && pass "the errors from the other resamples are finite: $(cat py.txt)" || { fail "errors"; cat py.txt; }

# Found before any stage, not after stage mc's work: data sizes the exact fit cannot fit (with
# expectation a window would hold a block twice; with coins it would wrap onto itself and the
# Hessian be singular), a data_L stage mc does not sample, the small-kernel model a model
# trained in this run would need.
late() { # late <description> <input text> <expected message>
  printf "%b" "$2" > late.nml
  rm -f late.h5
  expect_status 2 "$1" -- "$MPIEXEC" -n 2 "$INVRG" late.nml
  expect_grep err.txt "$3" "$1: message"
  grep -q '== stage' out.txt && fail "$1: a stage ran before the refusal" || pass "$1: refused before any stage"
  [ ! -e late.h5 ] || fail "$1 wrote an output"
}
mc_in="&run stages = 'mc', 'train', output = 'late.h5' /\n&mc L = 4, 8, n_chains = 2, n_therm = 5, n_samples = 10, sample_every = 1, blocks_per_chain = 2, save_configs = .true. /\n"
late "data_L not sampled by stage mc" "${mc_in}&train data_L = 16 /\n" \
  "late.nml:3:8: error: data_L = 16 is not among the sizes of &mc L"
late "exact fit (expectation) of too small data" "${mc_in}&train data_L = 4 /\n" \
  "late.nml:3:8: error: the exact fit of sym3 with ties = 'expectation' needs L >= 6, the data have L = 4; ties = 'coin' fits them"
late "exact fit (coins) whose window wraps" "${mc_in}&train data_L = 4, model = 'sym5', ties = 'coin' /\n" \
  "the exact fit of sym5 needs L >= 6 (its 5 x 5 window wraps onto itself below"
# Training data of the wrong shape, or of another size than their group says: found when the
# file is checked, not after stage mc.
"$PYTHON" - <<'PY'
import h5py, numpy as np
for name, arr in [("shape46.h5", np.ones((10, 4, 6), np.int8)), ("l8.h5", np.ones((10, 8, 8), np.int8))]:
    with h5py.File(name, "w") as f:
        f.attrs["format"] = "invrg"
        f.attrs["format_version"] = np.array([1, 1], np.int64)
        f.create_dataset("mc/L4/configs", data=arr)
PY
late "training data of the wrong shape" "${mc_in}&train data = 'shape46.h5', ties = 'coin' /\n" \
  "late.nml:3:8: error: training data 'shape46.h5': /mc/L4/configs has shape 10 x 4 x 6"
late "training data of another size than their group" "${mc_in}&train data = 'l8.h5', ties = 'coin' /\n" \
  "late.nml:3:8: error: training data 'l8.h5': /mc/L4/configs holds configurations of L = 8"
# Ordered data (K = 3) do not determine the model: found only when the fit runs, and then by
# every rank alike, so the run stops with the input error, not an abort.
printf "&run stages = 'mc', 'train', output = 'ordered.h5' /\n&mc L = 8, beta = 3, n_chains = 2, n_therm = 50, n_samples = 10, sample_every = 1, blocks_per_chain = 2, save_configs = .true. /\n&train model = 'sym3' /\n" > ordered.nml
expect_status 2 "exact fit of ordered data" -- "$MPIEXEC" -n 2 "$INVRG" ordered.nml
expect_grep err.txt "ordered.nml:3:1: error: exact fit: the Hessian is singular" "exact fit of ordered data: message"
grep -q 'MPI_ABORT' out.txt err.txt && fail "exact fit of ordered data: an abort" || pass "exact fit of ordered data: no abort"
late "small kernel of a model trained in this run" "&run stages = 'mc', 'train', 'dream', output = 'late.h5' /\n&mc L = 8, n_chains = 2, n_therm = 5, n_samples = 10, sample_every = 1, blocks_per_chain = 2, save_configs = .true. /\n&train model = 'conv', conv_kernel = 7, conv_channels = 1, epochs = 1, batch = 2 /\n&dream levels = 3, n_samples = 2, small_kernel_start = 'paper' /\n" \
  "small_kernel_start = 'paper' with a conv model (k = 7) needs a conv model with k = 3"
finish
