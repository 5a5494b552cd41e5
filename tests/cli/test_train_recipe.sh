#!/usr/bin/env bash
# The paper's stochastic recipe (input/train_sym3_recipe.nml: our own Wolff data at K_c, L = 32,
# 10^4 configurations, AdamW one-cycle, 8 replicas, the best by validation loss) must find the
# optimum of its data: its kept model is compared with the exact fit of the same configurations
# (Newton, ties by expectation), in units of that fit's bootstrap errors — the optimizer's error
# must stay below the statistical resolution of the data (one family-wise threshold for w_P, w_N,
# w_D). The published model (a = 0.54590, b = 0.62776, c = 1.40962) is printed alongside; the
# exact fit is compared with it by ctest -R train_exact. The kept replica must be the one with
# the lowest validation loss. (With select = 'mean' the recipe lands far from the optimum: most
# starts do not cross the flat (w_N, w_D) valley in 50 epochs.)
source "$(dirname "$0")/lib.sh"

sed "s/output = 'train_sym3_recipe.h5'/output = 'recipe.h5'/; s/^  seed = .*/  seed = ${RECIPE_SEED:-2025}/" \
  "$SOURCE_DIR/input/train_sym3_recipe.nml" > recipe.nml
expect_status 0 "input/train_sym3_recipe.nml on 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" recipe.nml
printf "&run stages = 'train', output = 'exact.h5', log_level = 'warn' /\n&train data = 'recipe.h5', model = 'sym3', optimizer = 'newton', n_replicas = 16 /\n" > exact.nml
expect_status 0 "the exact fit of the same configurations, 15 bootstrap resamples" -- "$MPIEXEC" -n 2 "$INVRG" exact.nml
"$PYTHON" - <<'PY' > py.txt 2>&1
import h5py, numpy as np, sys
from scipy.stats import norm
ok = True
def check(good, what):
    global ok
    print(("ok" if good else "FAIL") + ": " + what)
    ok &= bool(good)
with h5py.File("recipe.h5", "r") as f:
    recipe = f["model/params"][()]
    replicas, val = f["train/params"][()], f["train/val_loss"][()][:, -1]
    selection = f["train"].attrs["selection"]
with h5py.File("exact.h5", "r") as f:
    exact, cov = f["model/params"][()], f["train/params_cov"][()]
# (w_P, w_N, w_D) = J (a, b, c): the parent's, the neighbours' and the diagonal's weights
J = np.array([[1.0, 2.0, 1.0], [1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
w_recipe, w_exact = J @ recipe, J @ exact
sigma = np.sqrt(np.diag(J @ cov @ J.T))
published = J @ np.array([0.54590, 0.62776, 1.40962])
z = norm.isf(0.002 / (2 * 3))
for k, name in enumerate(("w_P", "w_N", "w_D")):
    dev = (w_recipe[k] - w_exact[k]) / sigma[k]
    check(sigma[k] > 0 and abs(dev) < z,
          f"{name}: recipe {w_recipe[k]:.5f}, exact optimum {w_exact[k]:.5f} ± {sigma[k]:.5f} "
          f"({dev:+.2f} σ, limit {z:.2f}); published {published[k]:.5f}")
best = int(np.argmin(val))
check(selection == "best" and np.array_equal(replicas[best], recipe),
      f"the kept model is replica {best}, the lowest validation loss {val[best]:.6f} nats/spin")
sys.exit(0 if ok else 1)
PY
[ $? -eq 0 ] && pass "the recipe finds the optimum of its data" || fail "the recipe finds the optimum of its data"
cat py.txt
finish
