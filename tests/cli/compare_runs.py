#!/usr/bin/env python3
"""compare_runs.py [--subset] A.h5 B.h5: every dataset and attribute of two run files, bit for bit
(--subset: every one of B, which A may exceed, e.g. with results B did not ask for; /config
skipped then).

Skipped, because they describe the run rather than its results: /code, /run (layout, wall
time, restarts), the root attribute created_utc, timing attributes (sites_per_second, the
training's count_seconds and fit_seconds), the
attributes of HDF5 dimension scales that hold object references (file addresses), and the
input keys a resumed run may change (/config/parallel, /config/checkpoint and the raw input
text). Exit 0 if all the rest is identical (and there is something to compare), else 1.
"""
import sys

import h5py
import numpy as np

SKIP_GROUPS = {"code", "run"}
SKIP_PATHS = {"config/parallel", "config/checkpoint", "config/input_nml"}
SKIP_ATTRS = {"created_utc", "sites_per_second", "count_seconds", "fit_seconds", "input_path",
              "REFERENCE_LIST", "DIMENSION_LIST"}  # dimension scales: object addresses


def as_bytes(value):
    a = np.asarray(value)
    return a.tobytes() if a.dtype.kind in "fiub" else repr(a.tolist()).encode()


def entries(path):
    out = {}
    with h5py.File(path, "r") as f:
        out.update({"/@" + k: as_bytes(v) for k, v in f.attrs.items() if k not in SKIP_ATTRS})

        def visit(name, obj):
            if name.split("/")[0] in SKIP_GROUPS or any(name.startswith(p) for p in SKIP_PATHS):
                return
            if isinstance(obj, h5py.Dataset):
                out[name] = as_bytes(obj[()])
            out.update({f"{name}@{k}": as_bytes(v) for k, v in obj.attrs.items()
                        if k not in SKIP_ATTRS})

        f.visititems(visit)
    return out


subset = "--subset" in sys.argv  # B's entries only (A may hold more), the input skipped
paths = [p for p in sys.argv[1:] if p != "--subset"]
if subset:
    SKIP_GROUPS.add("config")
a, b = entries(paths[0]), entries(paths[1])
keys = b.keys() if subset else a.keys() | b.keys()
differ = sorted(k for k in keys if a.get(k) != b.get(k))
print(f"{len(keys)} entries compared, {len(differ)} differ" + (f": {differ[:12]}" if differ else ""))
sys.exit(0 if not differ and len(keys) > 20 else 1)
