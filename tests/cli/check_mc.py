"""Checks of stage mc's output, for tests/cli/test_mc_stage.sh.

    check_mc.py oracle run.h5 L          E/N and C/N within 3σ of the exact torus values
    check_mc.py identical L a.h5 b.h5…   every number and configuration equal (bit for bit)
    check_mc.py packed L packed.h5 int8.h5   packed configurations equal the int8 ones
"""
import sys

import h5py
import numpy as np

import invrg_io


def oracle(path, L):
    with invrg_io.open_run(path) as run:
        s = run.summaries("mc")[L]
    ok = True
    for obs in ("energy", "specific_heat"):
        dev = (s[obs] - s[obs + "_exact"]) / s[obs + "_err"]
        assert abs(dev - s[obs + "_dev_sigma"]) < 1e-9, "stored deviation disagrees"
        good = abs(dev) <= 3.0 and s[obs + "_err"] > 0
        print(f"{'ok' if good else 'FAIL'}: {path} {obs} = {s[obs]:.6f} ± {s[obs + '_err']:.6f}, "
              f"exact {s[obs + '_exact']:.6f} ({dev:+.2f} σ)")
        ok &= good
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
    good = oracle(sys.argv[2], int(sys.argv[3]))
elif cmd == "identical":
    good = identical(int(sys.argv[2]), sys.argv[3:])
else:
    good = packed(int(sys.argv[2]), sys.argv[3], sys.argv[4])
sys.exit(0 if good else 1)
