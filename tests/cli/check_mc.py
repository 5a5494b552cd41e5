"""Checks of stage mc's output, for tests/cli/test_mc_stage.sh.

    check_mc.py oracle L run.h5...       E/N and C/N of every file against the exact torus
    check_mc.py identical L a.h5 b.h5…   every number and configuration equal (bit for bit)
    check_mc.py packed L packed.h5 int8.h5   packed configurations equal the int8 ones

`oracle` takes the exact values from the tests' own Kaufman oracle (tests/tools/kaufman.py), not
from the file under test: the file's energy_exact and specific_heat_exact (invrg's oracle) must
agree with it to 1e-9, and each measured value must lie within one family-wise threshold of it
(alpha = 0.002 over all the comparisons of the call).
"""
import math
import os
import sys

import h5py
import numpy as np
from scipy.stats import norm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import kaufman  # noqa: E402


def oracle(L, paths, alpha=0.002):
    rows = []
    for path in paths:
        with h5py.File(path, "r") as f:
            g = f[f"mc/L{L}"]
            e_exact, c_exact = kaufman.energy_and_heat(L, float(g.attrs["beta"]))
            for obs, exact in (("energy", e_exact), ("specific_heat", c_exact)):
                rows.append((path, obs, g.attrs[obs], g.attrs[obs + "_err"], exact,
                             g.attrs[obs + "_exact"]))
    z = norm.isf(alpha / (2 * len(rows)))
    print(f"{len(rows)} comparisons, family-wise threshold {z:.2f} sigma (alpha = {alpha})")
    ok = True
    for path, obs, value, err, exact, stored in rows:
        dev = (value - exact) / err if err > 0 else math.inf
        good = abs(dev) < z and abs(stored - exact) < 1e-9
        ok &= good
        print(f"{'ok' if good else 'FAIL'}: {path} {obs} = {value:.6f} ± {err:.6f}, exact "
              f"{exact:.8f} (the file says {stored:.8f}), {dev:+.2f} σ")
    return ok


def load(path, L):
    with h5py.File(path, "r") as f:
        g = f[f"mc/L{L}"]
        data = {name: g[name][()] for name in g}
        attrs = dict(g.attrs)
    return data, attrs


def identical(L, paths):
    ref_data, ref_attrs = load(paths[0], L)
    ok = True
    for p in paths[1:]:
        data, attrs = load(p, L)
        for name, value in ref_data.items():
            same = np.array_equal(value, data[name])
            ok &= same
            print(f"{'ok' if same else 'FAIL'}: {name} of {p} equals {paths[0]}")
        for name, value in ref_attrs.items():
            same = np.array_equal(value, attrs[name])
            ok &= same
            if not same:
                print(f"FAIL: attribute {name}: {attrs[name]} != {value}")
    return ok


def packed(L, packed_path, int8_path):
    with h5py.File(packed_path, "r") as f, h5py.File(int8_path, "r") as g:
        p, q = f[f"mc/L{L}/configs"], g[f"mc/L{L}/configs"]
        ok = p.attrs["format"] == "packed" and p.dtype == np.uint8 and p.shape[2] == L // 8
        spins = np.where(np.unpackbits(p[()], axis=2) == 1, 1, -1).astype(np.int8)
        ok &= np.array_equal(spins, q[()])
    print(f"{'ok' if ok else 'FAIL'}: packed configurations unpack to the int8 ones")
    return ok


cmd = sys.argv[1]
if cmd == "oracle":
    good = oracle(int(sys.argv[2]), sys.argv[3:])
elif cmd == "identical":
    good = identical(int(sys.argv[2]), sys.argv[3:])
else:
    good = packed(int(sys.argv[2]), sys.argv[3], sys.argv[4])
sys.exit(0 if good else 1)
