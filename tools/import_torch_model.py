#!/usr/bin/python3
"""Converts the paper's PyTorch .pth models into invrg model files, without PyTorch.

    /usr/bin/python3 tools/import_torch_model.py input.pth -o output.h5 [--force] [--loss L]
    /usr/bin/python3 tools/import_torch_model.py --all DIR -o OUTDIR [--force] [--loss L]
    /usr/bin/python3 tools/import_torch_model.py input.pth --print

A .pth file (torch.save, zip format) is a zip archive holding <name>/data.pkl, a pickled
state_dict whose tensors refer by persistent id to raw storages <name>/data/<key>, in the byte
order recorded in <name>/byteorder. data.pkl is read with a restricted unpickler that knows
only the few globals a state_dict of float tensors uses, mapped to harmless stand-ins, so a
hostile file cannot run code.

Model kind and training settings come from the file name (_NAME_SCHEME below), the
loss from the folder (models/ = bce, weighted_loss_models/ = weighted) unless --loss is given.
The model file layout is described in write_model_file(). Bad input exits with status 2.
"""
import argparse
import collections
import datetime
import io
import math
import os
import pickle
import re
import reprlib
import sys
import typing
import zipfile
from pathlib import Path

import h5py
import numpy as np

FORMAT_VERSION = (1, 0)
STRING = h5py.string_dtype("utf-8")

# Orbits (p, q), p <= q, of kernel offsets (|di|, |dj|) under D4, in parameter order (docs/physics.md §4).
SYM_ORBITS = [(1, 1), (0, 1), (0, 0), (2, 2), (0, 2), (1, 2), (3, 3), (0, 3), (2, 3), (1, 3)]
# The paper's "<n>par" symmetric models: parameter count -> kernel size.
SYM_KERNELS = {3: 3, 6: 5, 10: 7}
LOSS_BY_FOLDER = {"models": "bce", "weighted_loss_models": "weighted"}
CONV_KEYS = ("convs.0.weight", "convs.0.bias", "convs.2.weight", "convs.2.bias")

_NAME_RE = re.compile(
    r"ising_upsampler(?:(?P<npar>\d+)par_k(?P<k>\d+)|conv_(?P<channels>\d+))"
    r"_ks(?P<ks>\d+)_learning_r(?P<lr>[0-9][0-9.eE+-]*)_L(?P<L>\d+)"
    r"_batch(?P<batch>\d+)_setsize(?P<setsize>\d+)")
_NAME_SCHEME = ("ising_upsampler<3|6|10>par_k<k>_ks<k>_learning_r<lr>_L<L>_batch<B>_setsize<N> "
                "or ising_upsamplerconv_<C>_ks<k>_learning_r<lr>_L<L>_batch<B>_setsize<N>")


class InputError(Exception):
    """The input cannot be converted (bad file, content or arguments): exit status 2."""


# ------------------------------------------------------------------ restricted unpickler

class _StorageType(typing.NamedTuple):
    """Stand-in for torch.<X>Storage: says only how to read the raw bytes.

    A NamedTuple has no __dict__ and read-only fields, so a pickle's BUILD cannot alter it."""
    name: str
    dtype: str


_STORAGE_TYPES = {t.name: t for t in (_StorageType("FloatStorage", "f4"),
                                      _StorageType("DoubleStorage", "f8"),
                                      _StorageType("HalfStorage", "f2"))}


class _Storage:
    """A storage read from the archive: its elements as a read-only 1-D numpy array."""

    def __init__(self, data):
        self.data = data


def _is_int_tuple(value):
    return isinstance(value, tuple) and all(isinstance(x, int) and x >= 0 for x in value)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    """Stand-in for torch._utils._rebuild_tensor_v2: the tensor's elements as a new array.

    Element [i0, i1, ...] is storage[offset + Σ i_d·stride_d]; the layout is checked to lie
    inside the storage before numpy is asked for the strided view. requires_grad, the hooks
    and metadata concern autograd only and are ignored."""
    if not isinstance(storage, _Storage):
        raise InputError("data.pkl: a tensor is not backed by a storage of the archive")
    if not (isinstance(storage_offset, int) and storage_offset >= 0 and _is_int_tuple(size)
            and _is_int_tuple(stride) and len(size) == len(stride)):
        raise InputError(f"data.pkl: tensor with an invalid layout (offset {storage_offset!r}, "
                         f"size {size!r}, stride {stride!r})")
    data = storage.data
    if 0 in size:
        return np.zeros(size, data.dtype)
    if math.prod(size) > data.size:  # only overlapping strides could do this: not in a state_dict
        raise InputError(f"data.pkl: tensor of size {size} has more elements than its storage "
                         f"({data.size})")
    last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= data.size:
        raise InputError(f"data.pkl: tensor (offset {storage_offset}, size {size}, stride "
                         f"{stride}) reaches element {last} of a storage of {data.size}")
    view = np.lib.stride_tricks.as_strided(
        data[storage_offset:], shape=size, strides=[s * data.itemsize for s in stride],
        writeable=False)
    return view.copy()


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    **{("torch", name): storage_type for name, storage_type in _STORAGE_TYPES.items()},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles a state_dict of tensors; any other global is refused.

    read_storage(key, dtype, numel) returns the elements of the storage with that key."""

    def __init__(self, file, read_storage):
        super().__init__(file)
        self._read_storage = read_storage
        self._storages = {}  # key -> _Storage: tensors sharing a storage share its data

    def find_class(self, module, name):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            allowed = ", ".join(f"{m}.{n}" for m, n in _ALLOWED_GLOBALS)
            raise InputError(f"data.pkl references the global {module}.{name}, which is not "
                             f"allowed (a state_dict of float tensors uses only {allowed})"
                             ) from None

    def persistent_load(self, pid):
        """pid = ('storage', storage type, key, location, number of elements)."""
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)
                and isinstance(pid[4], int)):
            raise InputError(f"data.pkl: unexpected persistent id {reprlib.repr(pid)}")
        _, storage_type, key, _location, numel = pid
        if key not in self._storages:
            self._storages[key] = _Storage(self._read_storage(key, storage_type.dtype, numel))
        return self._storages[key]


def unpickle_state_dict(pkl, read_storage):
    """The state_dict pickled in the bytes pkl, as an OrderedDict of name -> numpy array."""
    try:
        state = _RestrictedUnpickler(io.BytesIO(pkl), read_storage).load()
    except InputError:
        raise
    except Exception as e:  # whatever malformed bytes make the unpickler raise is bad input
        raise InputError(f"data.pkl is not a readable pickle ({type(e).__name__}: {e})") from None
    if not (isinstance(state, dict) and all(isinstance(k, str) and isinstance(v, np.ndarray)
                                            for k, v in state.items())):
        raise InputError(f"data.pkl does not hold a state_dict of tensors but "
                         f"{reprlib.repr(state)}")
    return collections.OrderedDict(state)


# ------------------------------------------------------------------ .pth archive

def _archive_prefix(archive):
    """The top folder <name> of the archive, the one holding <name>/data.pkl."""
    prefixes = [n[:-len("/data.pkl")] for n in archive.namelist()
                if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(prefixes) != 1:
        raise InputError(f"expected one <name>/data.pkl in the archive, found {len(prefixes)} "
                         f"(is this a PyTorch .pth file?)")
    return prefixes[0]


def _archive_byteorder(archive, prefix):
    """'<' or '>': the byte order of the storages (little-endian when not recorded)."""
    name = f"{prefix}/byteorder"
    if name not in archive.namelist():
        return "<"
    order = archive.read(name).decode("ascii", "replace").strip()
    if order not in ("little", "big"):
        raise InputError(f"{name}: unknown byte order {order!r}")
    return "<" if order == "little" else ">"


def _storage_reader(archive, prefix, byteorder):
    """read_storage(key, dtype, numel) for the storages <prefix>/data/<key> of the archive."""
    def read_storage(key, dtype, numel):
        name = f"{prefix}/data/{key}"
        try:
            raw = archive.read(name)
        except KeyError:
            raise InputError(f"storage {name} is missing from the archive") from None
        dt = np.dtype(dtype).newbyteorder(byteorder)
        if len(raw) != numel * dt.itemsize:
            raise InputError(f"storage {name} has {len(raw)} bytes, expected {numel} elements "
                             f"of {dt.itemsize} bytes")
        return np.frombuffer(raw, dt)
    return read_storage


def load_state_dict(path):
    """The tensors of a PyTorch .pth file by name, in state_dict order, as numpy arrays."""
    try:
        with zipfile.ZipFile(path) as archive:
            prefix = _archive_prefix(archive)
            reader = _storage_reader(archive, prefix, _archive_byteorder(archive, prefix))
            return unpickle_state_dict(archive.read(f"{prefix}/data.pkl"), reader)
    except zipfile.BadZipFile as e:
        raise InputError(f"not a zip archive or a damaged one ({e}); only the zip format of "
                         f"torch.save (PyTorch >= 1.6) is supported") from None


# ------------------------------------------------------------------ model

class Model(typing.NamedTuple):
    """An imported model: what the invrg model file holds."""
    kind: str
    kernel: int
    channels: int
    params: np.ndarray  # float64
    names: list
    orbits: list  # (p, q) of each parameter for sym models, None for conv
    source: str
    loss: str  # None when unknown (only printing is possible then)
    train_L: int
    batch: int
    set_size: int
    learning_rate: float


def parse_model_name(path):
    """Kind, kernel, channels and training settings encoded in a published file name."""
    stem = Path(path).name.removesuffix(".pth")
    m = _NAME_RE.fullmatch(stem)
    if not m:
        raise InputError(f"unknown model name {stem!r}: expected {_NAME_SCHEME}")
    kernel = int(m["ks"])
    if m["npar"]:
        n = int(m["npar"])
        if SYM_KERNELS.get(n) != kernel or int(m["k"]) != kernel:
            raise InputError(f"unknown model name {stem!r}: symmetric models are 3par_k3_ks3, "
                             f"6par_k5_ks5 and 10par_k7_ks7")
        kind, channels = f"sym{kernel}", 0
    else:
        kind, channels = "conv", int(m["channels"])
        if kernel % 2 == 0 or channels < 1:
            raise InputError(f"unknown model name {stem!r}: a conv model needs an odd kernel "
                             f"and at least one channel")
    try:
        learning_rate = float(m["lr"])
    except ValueError:
        raise InputError(f"unknown model name {stem!r}: learning rate {m['lr']!r}") from None
    return dict(kind=kind, kernel=kernel, channels=channels, train_L=int(m["L"]),
                batch=int(m["batch"]), set_size=int(m["setsize"]), learning_rate=learning_rate)


def loss_from_folder(path):
    """'bce' or 'weighted' from the folder holding a published file, None if it does not say."""
    return LOSS_BY_FOLDER.get(Path(path).resolve().parent.name)


def _expect_tensors(state, shapes):
    """Checks that state holds exactly the tensors of shapes, in that order."""
    if list(state) != list(shapes):
        raise InputError(f"state_dict holds {list(state)}, expected {list(shapes)} for this "
                         f"model name")
    for key, shape in shapes.items():
        if state[key].shape != shape:
            raise InputError(f"tensor {key} has shape {list(state[key].shape)}, expected "
                             f"{list(shape)} for this model name")


def sym_params(state, kernel):
    """Parameters, names and orbits of a symmetric model: convs.params as is."""
    p = (kernel - 1) // 2
    n = (p + 1) * (p + 2) // 2  # orbits (p', q') with p' <= q' <= p
    _expect_tensors(state, {"convs.params": (n,)})
    orbits = SYM_ORBITS[:n]
    names = [f"theta{i} ({a},{b})" for i, (a, b) in enumerate(orbits)]
    return state["convs.params"], names, orbits


def conv_params(state, kernel, channels):
    """Parameters and names of a conv model: both layers' weights and biases, concatenated."""
    c, k = channels, kernel
    _expect_tensors(state, dict(zip(CONV_KEYS, [(c, 1, k, k), (c,), (1, c, k, k), (1,)])))
    params = np.concatenate([state[key].ravel() for key in CONV_KEYS])
    weights = [f"[{ci}][{i}][{j}]" for ci in range(c) for i in range(k) for j in range(k)]
    names = ([f"conv1.weight{w}" for w in weights] + [f"conv1.bias[{ci}]" for ci in range(c)]
             + [f"conv2.weight{w}" for w in weights] + ["conv2.bias"])
    return params, names, None


def import_model(path, loss=None):
    """The Model of a published .pth file; loss defaults to what its folder says."""
    if not Path(path).is_file():
        raise InputError("no such file")
    info = parse_model_name(path)
    state = load_state_dict(path)
    if info["kind"] == "conv":
        params, names, orbits = conv_params(state, info["kernel"], info["channels"])
    else:
        params, names, orbits = sym_params(state, info["kernel"])
    params = params.astype(np.float64)  # exact for float16/32 values
    if not np.all(np.isfinite(params)):
        raise InputError("the model has non-finite parameters")
    return Model(params=params, names=names, orbits=orbits, source=Path(path).name,
                 loss=loss or loss_from_folder(path), **info)


# ------------------------------------------------------------------ model file

def _write_model(f, model):
    """Root attributes and the /model group of an invrg model file."""
    f.attrs.create("format", "invrg", dtype=STRING)
    f.attrs.create("format_version", np.array(FORMAT_VERSION, dtype="<i8"))
    created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    f.attrs.create("created_utc", created, dtype=STRING)
    g = f.create_group("model")
    for name in ("kind", "source", "loss"):
        g.attrs.create(name, getattr(model, name), dtype=STRING)
    for name in ("kernel", "channels", "train_L", "batch", "set_size"):
        g.attrs.create(name, getattr(model, name), dtype="<i8")
    g.attrs.create("learning_rate", model.learning_rate, dtype="<f8")
    g.create_dataset("params", data=model.params, dtype="<f8")
    g.attrs.create("param_names", np.array(model.names, dtype=object), dtype=STRING)
    if model.orbits is not None:
        g.attrs.create("param_orbits", np.array(model.orbits, dtype="<i8"))


def write_model_file(path, model, force=False):
    """Writes an invrg model file (HDF5), via path.tmp renamed on success.

    Root attributes: format = "invrg", format_version = [1, 0], created_utc. Group /model:
    attributes kind (sym3|sym5|sym7|conv), kernel, channels (0 for sym), source (.pth name),
    loss (bce|weighted), train_L, batch, set_size, learning_rate, param_names [n] and, for sym
    models, param_orbits [n][2]; dataset /model/params (float64 [n])."""
    path = Path(path)
    if path.exists() and not force:
        raise InputError(f"output {path} exists (use --force to overwrite it)")
    if not path.parent.is_dir():
        raise InputError(f"output folder {path.parent} does not exist")
    if model.loss is None:
        raise InputError("cannot tell the loss from the folder name (models/ = bce, "
                         "weighted_loss_models/ = weighted): give --loss bce|weighted")
    tmp = path.with_name(path.name + ".tmp")
    try:
        with h5py.File(tmp, "w") as f:
            _write_model(f, model)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------ printing

def sym_kernel(model):
    """The k×k kernel K[i][j] of a sym model, each entry its orbit's parameter."""
    p = (model.kernel - 1) // 2
    index = {orbit: i for i, orbit in enumerate(model.orbits)}
    offsets = range(-p, p + 1)
    return np.array([[model.params[index[tuple(sorted((abs(di), abs(dj))))]] for dj in offsets]
                     for di in offsets])


def block_weights(model):
    """Effective weights W of the coarse blocks seen by the top-left child of a block.

    With bias −ΣK/2 the logit is ½ Σ W μ over coarse blocks; kernel row i (offset i−p)
    falls into block row ⌊(i−p)/2⌋, so W sums the kernel entries of each block."""
    kernel, p = sym_kernel(model), (model.kernel - 1) // 2
    blocks = [(d - p) // 2 for d in range(model.kernel)]
    lo = blocks[0]
    w = np.zeros((blocks[-1] - lo + 1,) * 2)
    for i, bi in enumerate(blocks):
        for j, bj in enumerate(blocks):
            w[bi - lo, bj - lo] += kernel[i, j]
    return w, lo


def describe(model):
    """Human-readable kind, settings and parameters of a model."""
    lines = [f"{model.source}: kind {model.kind}, kernel {model.kernel}, channels "
             f"{model.channels}, {len(model.params)} parameters, loss {model.loss or 'unknown'}, "
             f"train_L {model.train_L}, batch {model.batch}, set_size {model.set_size}, "
             f"learning_rate {model.learning_rate:g}"]
    letters = "abc" if model.kind == "sym3" else ""
    for i, (name, value) in enumerate(zip(model.names, model.params)):
        label = f"  ({letters[i]})" if letters else ""
        lines.append(f"  {name:<24} {value: .9g}{label}")
    if model.orbits is not None:
        w, lo = block_weights(model)
        lines.append(f"  effective coarse-block weights W (logit = ½ Σ W μ) for the top-left "
                     f"child, block offsets {lo}..{lo + len(w) - 1}:")
        lines += ["    " + " ".join(f"{x: .6f}" for x in row) for row in w]
    if model.kind == "sym3":
        a, b, c = model.params
        lines.append(f"  w_P = c+2b+a = {c + 2 * b + a:.6f}   w_N = a+b = {a + b:.6f}   "
                     f"w_D = a = {a:.6f}")
    return "\n".join(lines)


# ------------------------------------------------------------------ command line

def convert(src, out, loss, force, show):
    """Imports one file; prints it if show, writes it if out is given."""
    model = import_model(src, loss)
    if show:
        print(describe(model))
    if out is not None:
        write_model_file(out, model, force)
        print(f"{src} -> {out}")


def convert_tree(src_dir, out_dir, loss, force, show):
    """Imports every .pth under src_dir into out_dir, same relative paths with .h5.

    Returns the number of files that failed (each reported on stderr)."""
    src_dir = Path(src_dir)
    files = sorted(src_dir.rglob("*.pth"))
    if not files:
        raise InputError("no .pth files found")
    failures = 0
    for src in files:
        out = Path(out_dir) / src.relative_to(src_dir).with_suffix(".h5")
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            convert(src, out, loss, force, show)
        except InputError as e:
            print(f"import_torch_model: error: {src}: {e}", file=sys.stderr)
            failures += 1
    return failures


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Convert the paper's PyTorch .pth models into invrg model files "
                    "(HDF5) without PyTorch.")
    parser.add_argument("input", nargs="?", help="a .pth file")
    parser.add_argument("--all", metavar="DIR", help="convert every .pth file under DIR")
    parser.add_argument("-o", "--output", help="output .h5 file (with --all: output folder)")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--loss", choices=sorted(set(LOSS_BY_FOLDER.values())),
                        help="training loss (default: from the folder: models/ = bce, "
                             "weighted_loss_models/ = weighted)")
    parser.add_argument("--print", action="store_true", dest="show",
                        help="print kind and parameters (sym models: effective weights)")
    args = parser.parse_args(argv)
    if (args.input is None) == (args.all is None):
        parser.error("give either one .pth file or --all DIR")
    if args.output is None and not (args.show and args.input):
        parser.error("-o is required (only a single file can be printed without -o)")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.all is not None:
            return 2 if convert_tree(args.all, args.output, args.loss, args.force, args.show) else 0
        convert(args.input, args.output, args.loss, args.force, args.show)
    except InputError as e:
        print(f"import_torch_model: error: {args.input or args.all}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
