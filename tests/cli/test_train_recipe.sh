#!/usr/bin/env bash
# F5's physics criterion: input/train_sym3_recipe.nml (our own Wolff data at K_c, L = 32, 10^4
# configurations, the reference recipe, 8 replicas, the best by validation loss) lands near the
# published model trained the same way (L32, 10^4: a = 0.54590, b = 0.62776, c = 1.40962):
# w_P = c+2b+a within 5 % of 3.20, w_N = a+b within 5 % of 1.17, w_D = a within 15 % of 0.55
# (the issue's tolerances). The kept replica must be the one with the lowest validation loss.
# With select = 'mean' (all replicas averaged) w_N and w_D fail: most starts do not converge.
source "$(dirname "$0")/lib.sh"

sed "s/output = 'train_sym3_recipe.h5'/output = 'recipe.h5'/; s/^  seed = .*/  seed = ${RECIPE_SEED:-2025}/" \
  "$SOURCE_DIR/input/train_sym3_recipe.nml" > recipe.nml
expect_status 0 "input/train_sym3_recipe.nml on 2 ranks" -- "$MPIEXEC" -n 2 "$INVRG" recipe.nml
"$PYTHON" - <<'PY' > py.txt 2>&1
import h5py, numpy as np, sys
ok = True
def check(good, what):
    global ok
    print(("ok" if good else "FAIL") + ": " + what)
    ok &= bool(good)
with h5py.File("recipe.h5", "r") as f:
    a, b, c = f["model/params"][()]
    replicas, val = f["train/params"][()], f["train/val_loss"][()][:, -1]
    selection = f["train"].attrs["selection"]
w = {"w_P": c + 2 * b + a, "w_N": a + b, "w_D": a}
published = {"w_P": (3.20, 0.05), "w_N": (1.17, 0.05), "w_D": (0.55, 0.15)}
for k, (ref, tol) in published.items():
    dev = w[k] / ref - 1
    check(abs(dev) <= tol, f"{k} = {w[k]:.5f}: {100 * dev:+.2f} % from {ref} (tolerance {100 * tol:.0f} %)")
best = int(np.argmin(val))
check(selection == "best" and np.array_equal(replicas[best], [a, b, c]),
      f"the kept model is replica {best}, the lowest validation loss {val[best]:.6f} nats/spin")
check(0.24 < val[best] < 0.27, f"validation BCE {val[best]:.4f} nats/spin (paper: about 0.247)")
sys.exit(0 if ok else 1)
PY
[ $? -eq 0 ] && pass "trained parameters against the published model" || fail "trained parameters against the published model"
cat py.txt
finish
