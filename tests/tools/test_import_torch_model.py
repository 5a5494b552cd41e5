#!/usr/bin/python3
"""Tests tools/import_torch_model.py (published models, docs/physics.md §5).

    test_import_torch_model.py              the restricted unpickler and the command line on
                                            hand-built .pth files (a pickle written opcode by
                                            opcode, as torch.save writes a state_dict)
    test_import_torch_model.py published    converts the 26 published models found in
                                            $INVRG_PUBLISHED_MODELS_DIR (models/,
                                            weighted_loss_models/) and checks counts, names,
                                            values and the file layout; exit 77 (skipped)
                                            without them
Prints one ok/FAIL line per check.
"""
import datetime
import os
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import h5py
import numpy as np

SOURCE_DIR = Path(os.environ.get("SOURCE_DIR", Path(__file__).resolve().parents[2]))
PUBLISHED_ENV = os.environ.get("INVRG_PUBLISHED_MODELS_DIR", "")
PUBLISHED = Path(PUBLISHED_ENV) if PUBLISHED_ENV else None
TOOL = SOURCE_DIR / "tools" / "import_torch_model.py"
PYTHON = os.environ.get("PYTHON", sys.executable)

sys.path.insert(0, str(SOURCE_DIR / "tools"))
import import_torch_model as itm  # noqa: E402  (found through the path set just above)

from checks import check, failures  # noqa: E402  (this directory: the script's own)


def expect_input_error(func, fragment, what):
    """func() must raise InputError whose message contains fragment."""
    try:
        func()
        check(False, f"{what}: no error")
    except itm.InputError as e:
        check(fragment in str(e), f"{what}: {e}")


def run_tool(*args):
    return subprocess.run([PYTHON, str(TOOL), *map(str, args)], capture_output=True, text=True)


# ------------------------------------------------------------------ hand-built pickles

def op_global(module, name):
    return b"c" + f"{module}\n{name}\n".encode()


def op_str(s):
    data = s.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def op_int(n):
    return b"J" + struct.pack("<i", n)


def op_tuple(*items):
    return b"(" + b"".join(items) + b"t"


def op_call(func, *args):
    return func + op_tuple(*args) + b"R"


def tensor_pickle(key, numel, offset, size, stride, storage="FloatStorage"):
    """_rebuild_tensor_v2(storage <key>, offset, size, stride, False, OrderedDict())."""
    pid = op_tuple(op_str("storage"), op_global("torch", storage), op_str(key), op_str("cpu"),
                   op_int(numel)) + b"Q"
    return op_call(op_global("torch._utils", "_rebuild_tensor_v2"), pid, op_int(offset),
                   op_tuple(*map(op_int, size)), op_tuple(*map(op_int, stride)), b"\x89",
                   op_call(op_global("collections", "OrderedDict")))


def state_dict_pickle(tensors):
    """OrderedDict of (name, tensor_pickle) items, protocol 2 like torch.save."""
    items = b"".join(op_str(name) + t for name, t in tensors)
    return b"\x80\x02" + op_call(op_global("collections", "OrderedDict")) + b"(" + items + b"u."


def write_pth(path, pkl, storages, prefix=None, byteorder=b"little"):
    """A .pth-like zip: <prefix>/data.pkl, <prefix>/data/<key>, <prefix>/byteorder."""
    prefix = prefix or Path(path).stem
    with zipfile.ZipFile(path, "w") as z:
        if pkl is not None:
            z.writestr(f"{prefix}/data.pkl", pkl)
        z.writestr(f"{prefix}/byteorder", byteorder)
        for key, raw in storages.items():
            z.writestr(f"{prefix}/data/{key}", raw)
        z.writestr(f"{prefix}/version", b"3\n")


def reader(storages):
    """read_storage over a dict key -> array, and the list of keys it was asked for."""
    reads = []

    def read_storage(key, dtype, numel):
        reads.append(key)
        return storages[key].astype(dtype)
    return read_storage, reads


def test_unpickler(tmp):
    """The restricted unpickler on hand-built pickles."""
    data = np.arange(12, dtype="<f4") / 4
    read, reads = reader({"0": data})
    state = itm.unpickle_state_dict(state_dict_pickle([
        ("whole", tensor_pickle("0", 12, 0, (12,), (1,))),
        ("view", tensor_pickle("0", 12, 2, (2, 3), (1, 2))),
        ("empty", tensor_pickle("0", 12, 0, (0, 3), (3, 1)))]), read)
    check(list(state) == ["whole", "view", "empty"], "state_dict keys in order")
    check(np.array_equal(state["whole"], data), "contiguous tensor")
    check(np.array_equal(state["view"], data[[[2, 4, 6], [3, 5, 7]]]),
          "strided tensor with offset: element [i][j] = storage[2 + i + 2j]")
    check(state["empty"].shape == (0, 3), "empty tensor")
    check(reads == ["0"], "a shared storage is read once")

    read, _ = reader({"0": data})
    expect_input_error(lambda: itm.unpickle_state_dict(state_dict_pickle(
        [("t", tensor_pickle("0", 12, 4, (3, 3), (3, 1)))]), read),
        "reaches element 12", "layout beyond the storage refused")
    expect_input_error(lambda: itm.unpickle_state_dict(state_dict_pickle(
        [("t", tensor_pickle("0", 12, 0, (10**6, 10**6), (0, 0)))]), read),
        "has more elements than its storage", "overlapping (zero) strides refused")
    expect_input_error(lambda: itm.unpickle_state_dict(state_dict_pickle(
        [("t", tensor_pickle("0", 12, 0, (2,), (1,), storage="BFloat16Storage"))]), read),
        "torch.BFloat16Storage, which is not allowed", "unknown storage type refused")
    expect_input_error(lambda: itm.unpickle_state_dict(b"garbage", read),
                       "not a readable pickle", "bytes that are no pickle refused")
    expect_input_error(lambda: itm.unpickle_state_dict(b"\x80\x02" + op_str("x") + b".", read),
                       "does not hold a state_dict", "a pickle of something else refused")

    marker = tmp / "marker"
    evil = b"\x80\x02" + op_call(op_global("os", "system"), op_str(f"touch {marker}")) + b"."
    expect_input_error(lambda: itm.unpickle_state_dict(evil, read),
                       "global os.system, which is not allowed", "os.system refused")
    check(not marker.exists(), "os.system was not called")

    big = tmp / "big.pth"
    write_pth(big, state_dict_pickle([("convs.params", tensor_pickle("0", 3, 0, (3,), (1,)))]),
              {"0": np.array([0.5, -1.25, 3.0], ">f4").tobytes()}, byteorder=b"big")
    check(np.array_equal(itm.load_state_dict(big)["convs.params"], [0.5, -1.25, 3.0]),
          "big-endian storages are read in their recorded byte order")


# ------------------------------------------------------------------ command line, hand-built

SYM3_NAME = "ising_upsampler3par_k3_ks3_learning_r0.01_L32_batch1000_setsize10000"
SYM3_VALUES = np.array([0.1, 0.2, 0.3], "<f4")


def sym3_pth(path, values=SYM3_VALUES):
    n = len(values)
    write_pth(path, state_dict_pickle([("convs.params", tensor_pickle("0", n, 0, (n,), (1,)))]),
              {"0": values.tobytes()})


def expect_refused(result, fragment, out, what):
    """Exit status 2, fragment in the message, and no output (nor its .tmp) left behind."""
    check(result.returncode == 2 and fragment in result.stderr,
          f"{what}: exit {result.returncode}: {result.stderr.strip()}")
    check(not out.exists() and not out.with_name(out.name + ".tmp").exists(),
          f"{what}: no output left")


def test_cli(tmp):
    """Conversion, overwrite protection and bad input on hand-built files."""
    models = tmp / "models"
    models.mkdir()
    src, out = models / f"{SYM3_NAME}.pth", tmp / "sym3.h5"
    sym3_pth(src)
    r = run_tool(src, "-o", out)
    check(r.returncode == 0, f"hand-built sym3 converted (exit {r.returncode}) {r.stderr}")
    with h5py.File(out, "r") as f:
        g = f["model"]
        check(g.attrs["kind"] == "sym3" and g.attrs["loss"] == "bce", "kind sym3, loss bce")
        check(np.array_equal(g["params"][()], SYM3_VALUES.astype(np.float64)),
              "float32 values converted exactly")
        created = f.attrs["created_utc"]

    r = run_tool(src, "-o", out)
    check(r.returncode == 2 and "exists (use --force" in r.stderr,
          f"existing output refused: {r.stderr.strip()}")
    with h5py.File(out, "r") as f:
        check(f.attrs["created_utc"] == created, "refused conversion left the file alone")
    r = run_tool(src, "-o", out, "--force")
    check(r.returncode == 0, "--force overwrites")

    bad = models / f"{SYM3_NAME}.pth"
    bad.write_bytes(b"not a zip file at all")
    expect_refused(run_tool(bad, "-o", tmp / "a.h5"), "not a zip archive", tmp / "a.h5",
                   "non-zip file")
    write_pth(bad, None, {"0": SYM3_VALUES.tobytes()})
    expect_refused(run_tool(bad, "-o", tmp / "b.h5"), "data.pkl", tmp / "b.h5",
                   "zip without data.pkl")
    marker = tmp / "marker"
    write_pth(bad, b"\x80\x02" + op_call(op_global("os", "system"), op_str(f"touch {marker}"))
              + b".", {})
    expect_refused(run_tool(bad, "-o", tmp / "c.h5"), "global os.system, which is not allowed",
                   tmp / "c.h5", "pickle calling os.system")
    check(not marker.exists(), "os.system was not called by the tool")
    sym3_pth(bad, np.zeros(6, "<f4"))
    expect_refused(run_tool(bad, "-o", tmp / "d.h5"), "has shape [6], expected [3]",
                   tmp / "d.h5", "parameter count not matching the name")
    mystery = models / "mystery.pth"
    sym3_pth(mystery)
    expect_refused(run_tool(mystery, "-o", tmp / "e.h5"), "unknown model name", tmp / "e.h5",
                   "unknown model name")

    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    sym3_pth(elsewhere / f"{SYM3_NAME}.pth")
    expect_refused(run_tool(elsewhere / f"{SYM3_NAME}.pth", "-o", tmp / "f.h5"),
                   "give --loss", tmp / "f.h5", "loss unknown outside models/")
    r = run_tool(elsewhere / f"{SYM3_NAME}.pth", "-o", tmp / "f.h5", "--loss", "weighted")
    with h5py.File(tmp / "f.h5", "r") as f:
        check(r.returncode == 0 and f["model"].attrs["loss"] == "weighted", "--loss weighted")


# ------------------------------------------------------------------ published models

# D4 orbit of each sym parameter and parameter counts by (kind, kernel) (docs/physics.md §4), and the
# sym3 values of docs/physics.md §5 by (folder, train_L, set_size).
ORBITS_OF_PARAMETERS = [(1, 1), (0, 1), (0, 0), (2, 2), (0, 2), (1, 2), (3, 3), (0, 3), (2, 3), (1, 3)]
COUNTS = {("sym3", 3): 3, ("sym5", 5): 6, ("sym7", 7): 10, ("conv", 3): 609, ("conv", 7): 3169}
SYM3_PUBLISHED = {("models", 32, 10**6): (0.57315, 0.58787, 1.45248),
                  ("models", 32, 10**4): (0.54590, 0.62776, 1.40962),
                  ("models", 128, 10**6): (0.54919, 0.62787, 1.39398),
                  ("weighted_loss_models", 32, 10**6): (0.37222, 0.96635, 1.07224)}


def raw_storages(pth):
    """The .pth file's storages data/0, data/1, ... concatenated (little-endian float32).

    The published tensors each fill their own storage, in state_dict order, so this is an
    independent reading of the parameter vector."""
    with zipfile.ZipFile(pth) as z:
        blobs = {int(n.rsplit("/", 1)[1]): z.read(n) for n in z.namelist() if "/data/" in n}
    return np.concatenate([np.frombuffer(blobs[k], "<f4") for k in sorted(blobs)])


def expected_names(kind, kernel, channels):
    if kind != "conv":
        return [f"theta{i} ({p},{q})" for i, (p, q) in
                enumerate(ORBITS_OF_PARAMETERS[:COUNTS[(kind, kernel)]])]
    w = [f"[{c}][{i}][{j}]" for c in range(channels) for i in range(kernel)
         for j in range(kernel)]
    return ([f"conv1.weight{x}" for x in w] + [f"conv1.bias[{c}]" for c in range(channels)]
            + [f"conv2.weight{x}" for x in w] + ["conv2.bias"])


def check_model_file(h5, pth):
    """One converted published model against its .pth file and name.

    Returns (kind, kernel) and the docs/physics.md §5 key of the values checked, if any."""
    folder = pth.parent.name
    name = re.fullmatch(r"ising_upsampler(?:(\d+)par_k\d+|conv_(\d+))_ks(\d+)_learning_r([\d.]+)"
                        r"_L(\d+)_batch(\d+)_setsize(\d+)\.pth", pth.name)
    npar, channels, kernel, lr, train_l, batch, set_size = name.groups()
    kind = "conv" if channels else f"sym{kernel}"
    with h5py.File(h5, "r") as f:
        root_ok = (f.attrs["format"] == "invrg"
                   and f.attrs["format_version"].dtype == np.int64
                   and list(f.attrs["format_version"]) == [1, 0]
                   and datetime.datetime.strptime(f.attrs["created_utc"], "%Y-%m-%dT%H:%M:%SZ"))
        g = f["model"]
        a = dict(g.attrs)
        params = g["params"][()]
        names = list(a["param_names"])
    int_attrs = [a[k] for k in ("kernel", "channels", "train_L", "batch", "set_size")]
    layout_ok = (root_ok and all(isinstance(x, np.int64) for x in int_attrs)
                 and isinstance(a["learning_rate"], np.float64)
                 and [a["kind"], a["source"], a["loss"]]
                 == [kind, pth.name, "bce" if folder == "models" else "weighted"]
                 and int_attrs == [int(kernel), int(channels or 0), int(train_l), int(batch),
                                   int(set_size)]
                 and a["learning_rate"] == float(lr) and params.dtype == np.float64)
    n = COUNTS[(kind, int(kernel))]
    orbits_ok = (("param_orbits" not in a) if kind == "conv" else
                 a["param_orbits"].dtype == np.int64
                 and a["param_orbits"].tolist() == [list(o) for o in ORBITS_OF_PARAMETERS[:n]])
    label = f"{folder}/{pth.stem}: {kind} k={kernel}"
    check(layout_ok, f"{label}: attributes")
    check(len(params) == n and orbits_ok
          and names == expected_names(kind, int(kernel), int(channels or 0)),
          f"{label}: {len(params)} parameters, names and orbits")
    check(np.array_equal(params, raw_storages(pth).astype(np.float64)),
          f"{label}: values equal the float32 storages")
    published_key = (folder, int(train_l), int(set_size)) if kind == "sym3" else None
    if published_key in SYM3_PUBLISHED:
        published = SYM3_PUBLISHED[published_key]
        check(np.all(np.abs(params - published) <= 5e-6),
              f"{folder} L={train_l} set {set_size}: a b c = "
              f"{' '.join(f'{x:.7f}' for x in params)}, docs/physics.md §5 {published}")
    return (kind, int(kernel)), published_key


def test_published(tmp):
    files = sorted(PUBLISHED.rglob("*.pth"))
    check(len(files) == 26, f"{len(files)} published .pth files")
    out = tmp / "published"
    r = run_tool("--all", PUBLISHED, "-o", out)
    check(r.returncode == 0, f"--all converts every file (exit {r.returncode}) {r.stderr}")
    if r.returncode != 0:
        return
    seen, published = {}, set()
    for pth in files:
        kind, published_key = check_model_file(
            out / pth.relative_to(PUBLISHED).with_suffix(".h5"), pth)
        seen[kind] = seen.get(kind, 0) + 1
        published.add(published_key)
    check(set(seen) == set(COUNTS), "models by kind: " + ", ".join(
        f"{kind} k={k}: {m} ({COUNTS[(kind, k)]} parameters)"
        for (kind, k), m in sorted(seen.items())))
    check(set(SYM3_PUBLISHED) <= published, "all four docs/physics.md §5 sym3 models checked")

    sym3 = (PUBLISHED / "models"
            / "ising_upsampler3par_k3_ks3_learning_r0.01_L32_batch50000_setsize1000000.pth")
    r = run_tool(sym3, "--print")
    m = re.search(r"w_P = c\+2b\+a = ([\d.]+)\s+w_N = a\+b = ([\d.]+)\s+w_D = a = ([\d.]+)",
                  r.stdout)
    check(r.returncode == 0 and m is not None
          and np.allclose([float(x) for x in m.groups()], [3.20137, 1.16102, 0.57315],
                          atol=2e-5),
          f"--print effective weights: {m and m.group(0)}")


def main(argv):
    if argv[1:] not in ([], ["published"]):
        print(f"usage: {argv[0]} [published]", file=sys.stderr)
        return 2
    published = argv[1:] == ["published"]
    if published and (PUBLISHED is None or not (PUBLISHED / "models").is_dir()):
        print(f"SKIP: INVRG_PUBLISHED_MODELS_DIR ({PUBLISHED_ENV!r})"
              " does not hold the published models (tools/fetch_published_models.sh DIR gets them;"
              " configure with INVRG_PUBLISHED_MODELS_DIR=DIR)")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if published:
            test_published(tmp)
        else:
            (tmp / "unit").mkdir()
            (tmp / "cli").mkdir()
            test_unpickler(tmp / "unit")
            test_cli(tmp / "cli")
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
