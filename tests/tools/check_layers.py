#!/usr/bin/env python3
"""check_layers.py [SOURCE_DIR]: every #include edge of src/ and include/invrg/ against the
layer order of docs/ARCHITECTURE.md:

    core ← parallel ← physics, ml ← io ← stages ← pipeline ← main

A file may include headers of its own module and of the layers below it; physics and ml are
side by side (neither includes the other). A header belongs to the layer of its .c file
(include/invrg/X.h to src/<layer>/X.c; the few without one are in HEADER_LAYER); <hdf5.h>
belongs to io: only io and the layers above touch HDF5.

Today's known violations are in ALLOWED, each with its reason: the test fails on any edge not
there (file:line, both layers, the header) and on any entry of ALLOWED that no longer occurs
(remove it: the list only shrinks). Exit 0 if clean, 1 otherwise.

check_layers.py --self-test: the checker on a planted tree (must find what was planted).
"""
import os
import re
import sys
import tempfile

# Rank of each layer: an edge must go to a lower rank, or stay inside its module.
LAYERS = {"core": 0, "parallel": 1, "physics": 2, "ml": 2, "io": 3, "stages": 4,
          "pipeline": 5, "main": 6}

# Public headers without a .c of the same name: the layer whose files implement them.
HEADER_LAYER = {
    "mc_update": "physics",  # checkerboard.c, wolff.c, sw.c
    "stage": "stages",       # the interface of mc_stage.c, train_stage.c, ...
    "run_paths": "io",       # inline: the run's file names (runfile.c, checkpoint.c, ...)
    "bitops": "core",        # inline: bit tricks of packed and bit-sliced lattices
}

# (file, included header) → why it is allowed for now. The list only shrinks: each entry goes
# when its edge does.
ALLOWED = {
    ("src/ml/train.c", "invrg/blockspin.h"):
        "training pairs come from the block-spin map of physics (ml uses physics, its peer)",
    ("src/ml/fit_exact.c", "invrg/blockspin.h"):
        "the exact fit counts the same training pairs (ml uses physics, its peer)",
}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def module_of(path):
    """The layer of a file of the tree (relative path), or None if it is not checked."""
    parts = path.split("/")
    if parts[0] == "src":
        if len(parts) == 2:
            return {"pipeline.c": "pipeline", "main.c": "main"}.get(parts[1])
        return parts[1] if parts[1] in LAYERS else None
    return None


def header_layers(root):
    """include/invrg/X.h → the layer of src/<layer>/X.c (or HEADER_LAYER); errors for others."""
    sources = {}
    for dirpath, _, files in os.walk(os.path.join(root, "src")):
        for f in files:
            if f.endswith(".c"):
                rel = os.path.relpath(os.path.join(dirpath, f), root)
                sources.setdefault(f[:-2], set()).add(module_of(rel))
    layers, errors = {}, []
    inc = os.path.join(root, "include", "invrg")
    for f in sorted(os.listdir(inc)) if os.path.isdir(inc) else []:
        if not f.endswith(".h"):
            continue
        name = f[:-2]
        found = {HEADER_LAYER[name]} if name in HEADER_LAYER else sources.get(name, set()) - {None}
        if len(found) != 1:
            why = ", ".join(sorted(found)) if found else "no .c of that name"
            errors.append(f"include/invrg/{f}: no single layer ({why}): add it to HEADER_LAYER "
                          f"in {os.path.basename(__file__)}")
            continue
        layers["invrg/" + f] = found.pop()
    return layers, errors


def files_to_check(root):
    for top in ("src", os.path.join("include", "invrg")):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")


def check(root, allowed):
    """(violations not allowed, allow-list entries not seen, errors, edges checked)."""
    layers, errors = header_layers(root)
    seen, bad, edges = set(), [], 0
    for rel in sorted(files_to_check(root)):
        if rel.startswith("include/invrg/"):
            here = layers.get("invrg/" + rel.split("/")[-1])
        else:
            here = module_of(rel)
        if here is None:
            continue
        with open(os.path.join(root, rel), encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                delim, header = m.groups()
                if delim == "<" and header == "hdf5.h":
                    there = "io"
                elif delim == '"' and header.startswith("invrg/"):
                    there = layers.get(header)
                    if there is None:
                        errors.append(f"{rel}:{lineno}: {header} is not a header of include/invrg")
                        continue
                elif delim == '"' and header.split("/")[0] in LAYERS:  # "ml/dream_internal.h"
                    there = header.split("/")[0]
                else:
                    continue
                edges += 1
                if there == here or LAYERS[there] < LAYERS[here]:
                    continue
                if (rel, header) in allowed:
                    seen.add((rel, header))
                    continue
                bad.append(f"{rel}:{lineno}: {here} includes {header} of {there}")
    stale = sorted(set(allowed) - seen)
    return bad, stale, errors, edges


def report(root, allowed):
    bad, stale, errors, edges = check(root, allowed)
    for e in errors:
        print("error:", e)
    for b in bad:
        print("violation:", b, "(against core ← parallel ← physics, ml ← io ← stages ← "
              "pipeline ← main)")
    for f, h in stale:
        print(f"stale: {f} no longer includes {h}: remove it from ALLOWED in "
              f"{os.path.basename(__file__)} (and docs/ARCHITECTURE.md)")
    if not (bad or stale or errors):
        print(f"check_layers: {edges} include edges follow the layer order "
              f"({len(allowed)} known violations allowed, listed in ALLOWED)")
    return 0 if not (bad or stale or errors) else 1


def self_test():
    """A planted tree: a core file including a stages header and HDF5, an allowed edge, a stale
    entry, a header without a layer. All must be reported; a clean tree must pass."""
    failures = []
    with tempfile.TemporaryDirectory() as root:
        def write(rel, text):
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w", encoding="utf-8") as fh:
                fh.write(text)
        write("include/invrg/log.h", "")
        write("include/invrg/run.h", '#include "invrg/log.h"\n')
        write("src/core/log.c", '#include "invrg/log.h"\n')
        write("src/stages/run.c", '#include "invrg/run.h"\n#include <hdf5.h>\n')
        clean_bad, clean_stale, clean_err, _ = check(root, {})
        if clean_bad or clean_stale or clean_err:
            failures.append(f"a clean tree is reported: {clean_bad} {clean_stale} {clean_err}")
        write("src/core/log.c", '#include "invrg/log.h"\n\n#include "invrg/run.h"\n#include <hdf5.h>\n')
        write("src/physics/x.c", '#include "ml/y_internal.h"\n')
        write("include/invrg/orphan.h", "")
        allowed = {("src/core/log.c", "hdf5.h"): "planted", ("src/core/gone.c", "invrg/run.h"): "x"}
        bad, stale, errors, _ = check(root, allowed)
        want_bad = ["src/core/log.c:3: core includes invrg/run.h of stages",
                    "src/physics/x.c:1: physics includes ml/y_internal.h of ml"]
        if bad != want_bad:
            failures.append(f"violations {bad}, expected {want_bad}")
        if stale != [("src/core/gone.c", "invrg/run.h")]:
            failures.append(f"stale entries {stale}")
        if not any("orphan.h" in e for e in errors):
            failures.append(f"the header without a layer is not reported: {errors}")
    for f in failures:
        print("self-test FAIL:", f)
    if not failures:
        print("check_layers self-test: planted violations, stale entries and orphans found")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
        sys.exit(self_test())
    source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    sys.exit(report(os.path.abspath(source), ALLOWED))
