#!/usr/bin/python3
"""Reader for invrg run files (HDF5, layout of docs/runfile.md).

    import invrg_io
    run = invrg_io.open_run("default.h5")
    run.config["run"]["seed"]        # effective input, defaults included
    run.input_nml                    # the input file as given
    run.summaries("mc")              # {L: {"energy": ..., "energy_err": ...}, ...}
    run.label                        # /run title, or the file name
    run.mcrg()                       # MCRG eigenvalues: one dict per source/pairs/level/set
    run.correlations("dream")        # /corr/<source>/L<L>: {L: {"attrs": .., "data": ..}}
    run.fss()                        # /fss/<source>: {source: {"attrs": .., "data": ..}}
    run.config_datasets()            # saved configurations: [{"path", "n", "L", "format"}]
    run.read_configs("/dream/L128/configs", [0, 1])   # int8 ±1, packed ones unpacked
    exact_torus(32)                  # exact E/N and C/N of the 32 x 32 torus at K_c

    run.table("dream")               # one row per L: every quantity and its error (numpy)
    run.to_csv("mc", "mc.csv"); run.to_dataframe("dream"); run.to_xarray("corr/dream")
    schema().find("/mc/L32", "attribute", "chi_err")   # units and meaning of any name

Command line: /usr/bin/python3 tools/invrg_io.py --help
"""
import math
import os
import re
import sys

import h5py
import numpy as np

FORMAT_MAJOR = 1

# Exact results of the critical 2D Ising model on the periodic square (docs/physics.md §2).
KC = 0.5 * math.log(1.0 + math.sqrt(2.0))      # critical coupling K_c = 0.44068679350977147
V4_CRITICAL = 1.1679229                        # <m^4>/<m^2>^2 at K_c, L -> infinity
V4_CRITICAL_ERR = 0.0000047
XI2_OVER_L_CRITICAL = 0.9050488                # second-moment xi/L at K_c, L -> infinity
LAMBDA_T = 2.0                                 # b^{y_t}, b = 2, y_t = 1
LAMBDA_H = 2.0 ** (15.0 / 8.0)                 # b^{y_h} = 3.66802
C_LOG_SLOPE = 8.0 * KC * KC / math.pi          # C/N = (8 K_c^2 / pi) ln L + const = 0.49454 ln L
ENERGY_INFINITE = -math.sqrt(2.0)              # E/N at K_c, L -> infinity
EXPONENTS = {"gamma/nu": 1.75, "beta/nu": 0.125, "1/nu": 1.0, "eta": 0.25, "y_t": 1.0,
             "y_h": 15.0 / 8.0}


# ---------------------------------------------------------------- the run file's schema

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runfile_schema.json")


class Schema:
    """The run file's schema (tools/runfile_schema.json, written by `invrg --print-schema`):
    every group, dataset and attribute a run writes, with units and a one-line description.

        s = invrg_io.schema()
        s.find("/corr/dream/L128", "attribute", "xi2_over_L_err")
        # → {"units": "1", "description": "standard error of: ξ₂/L", ...}
    """

    def __init__(self, path=SCHEMA_PATH):
        import json
        import re
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        self.entries = data["entries"]
        self.suffixes = data["suffixes"]
        alternatives = {}
        for p in data["placeholders"]:
            alts = [re.escape(w) for w in p["words"]]
            if p["number_prefix"] is not None:
                alts.append(re.escape(p["number_prefix"]) + "[0-9]+")
            if p["any"]:
                alts.append("[^/]+")
            alternatives[p["name"]] = "(?:" + "|".join(alts) + ")"

        def compile_path(pattern):
            if pattern == "/":
                return re.compile("/")
            if pattern == "*":  # every group and dataset
                return re.compile(".*")
            body = re.sub(r"<([a-z_A-Z]+)>", lambda m: alternatives[m.group(1)],
                          re.escape(pattern).replace(r"\<", "<").replace(r"\>", ">"))
            return re.compile(body)

        def compile_name(name):
            if name == "*":
                return re.compile(".+")
            return compile_path(name) if "<" in name else None

        self._compiled = [(compile_path(e["path"]), compile_name(e["name"]), e)
                          for e in self.entries]

    def _find_exact(self, path, kind, name):
        for regex, name_regex, e in self._compiled:
            if e["kind"] != kind or not regex.fullmatch(path):
                continue
            if e["name"] == name or (name_regex is not None and name and name_regex.fullmatch(name)):
                return e
        return None

    def find(self, path, kind, name=""):
        """The entry describing member @p name of kind 'group' | 'dataset' | 'attribute' at
        @p path (name "" for the group itself), derived names (X_err, …) resolved through their
        base: a dict with path, kind, name, units, description; None if unknown."""
        e = self._find_exact(path, kind, name)
        if e is not None or kind == "group":
            return e
        for rule in self.suffixes:
            sfx = rule["suffix"]
            if len(name) > len(sfx) and name.endswith(sfx):
                base = self._find_exact(path, kind, name[:-len(sfx)])
                if base is not None:
                    units = rule["units"] if rule["units"] is not None else base["units"]
                    return dict(base, name=name, units=units,
                                description=rule["description"].replace("%s", base["description"]))
        return None

    def names(self, path, kind="attribute"):
        """The base names the schema lists for the object at a concrete @p path."""
        return [e["name"] for regex, _, e in self._compiled
                if e["kind"] == kind and e["name"] not in ("", "*") and e["path"] != "*"
                and regex.fullmatch(path)]


_SCHEMA = None


def schema_name(path, kind, name):
    """@p name, after checking that the schema lists it (at the path pattern @p path, e.g.
    "/corr/<source>/L<L>"): the names tools read come from one place, not from guesses."""
    if not any(e["path"] == path and e["kind"] == kind and e["name"] == name
               for e in schema().entries):
        raise KeyError(f"the run-file schema has no {kind} {name!r} at {path} "
                       f"({SCHEMA_PATH})")
    return name


def schema():
    """The schema shipped beside this module (loaded once)."""
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = Schema()
    return _SCHEMA


def undescribed(h5file):
    """Every object and attribute of an open run file that the schema does not describe:
    a list of strings "<path>" or "<path>@<attribute>" (empty if the file is fully described)."""
    s = schema()
    missing = []

    def check_attrs(path, obj):
        for a in obj.attrs:
            if s.find(path, "attribute", a) is None:
                missing.append(f"{path}@{a}")

    check_attrs("/", h5file)
    if s.find("/", "group") is None:
        missing.append("/")

    def visit(name, obj):
        path = "/" + name
        parent, _, leaf = path.rpartition("/")
        parent = parent or "/"
        if isinstance(obj, h5py.Group):
            if s.find(path, "group") is None:
                missing.append(path)
        elif s.find(parent, "dataset", leaf) is None:
            missing.append(path)
        check_attrs(path, obj)

    h5file.visititems(visit)
    return missing


class FormatError(Exception):
    """The file is not an invrg run file this reader understands."""


def _value(v):
    """HDF5 attribute value → plain Python (str, bool, int, float or list)."""
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, np.ndarray):
        return [_value(x) for x in v.tolist()]
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


# Attributes that describe an object rather than hold a result (written at the end of a run:
# docs/runfile.md, "Self-describing"); _attrs leaves them out, describe() reads them.
ANNOTATIONS = ("description", "units", "CLASS", "NAME", "REFERENCE_LIST", "DIMENSION_LIST")


def _attrs(obj):
    return {k: _value(v) for k, v in obj.attrs.items() if k not in ANNOTATIONS}


def describe(obj):
    """(description, units) of an h5py group or dataset of a run file ('' where absent)."""
    return (str(_value(obj.attrs.get("description", "")) or ""),
            str(_value(obj.attrs.get("units", "")) or ""))


def _side(v):
    """An L attribute ([Ly, Lx] or a scalar) → one int (the y side), or None."""
    if v is None:
        return None
    if isinstance(v, list):
        return int(v[0]) if v else None
    return int(v)


def unpack_spins(packed, L):
    """Bit-packed configurations (uint8 [..][y][L/8], most significant bit first, 1 = +1)
    → int8 ±1 [..][y][L]."""
    packed = np.asarray(packed, dtype=np.uint8)
    bits = np.unpackbits(packed, axis=-1, bitorder="big")[..., :L]
    return (2 * bits.astype(np.int8) - 1).astype(np.int8)


def natural_key(text):
    """'blocked_L4' before 'blocked_L16': the numbers in a name compared as numbers."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(text))]


def wall_time_text(run_attrs):
    """'12.3 s', or '30.1 s in 4 runs (the last 12.3 s)' for a run continued from checkpoints."""
    last = float(run_attrs.get("walltime_s", float("nan")))
    total = float(run_attrs.get("walltime_total_s", last))
    restarts = int(run_attrs.get("restarts", 0) or 0)
    if restarts > 0:
        return f"{total:.1f} s in {restarts + 1} runs (the last {last:.1f} s)"
    return f"{last:.1f} s"


def exact_torus(L, K=KC):
    """Exact E/N and C/N = K² N (<e²> - <e>²) of the L x L periodic Ising model at coupling K
    (Kaufman 1949; Ferdinand & Fisher 1969), from analytic K-derivatives of ln Z.

    Returns {"energy": E/N, "specific_heat": C/N, "lnZ_per_site": ln Z / N}.
    Checked against enumeration of L = 4 and the C code's oracle (tests/tools).
    """
    L = int(L)
    if L < 2:
        raise ValueError("exact_torus needs L >= 2")
    if not K > 0:
        raise ValueError(f"exact_torus needs a coupling K > 0, got {K}")
    N = L * L
    if K >= 93:  # the two ground states alone: the excitations' weights e^{-8K} < 1e-323
        return {"energy": -2.0, "specific_heat": 0.0, "lnZ_per_site": 2 * K + math.log(2) / N}
    s2, c2 = math.sinh(2 * K), math.cosh(2 * K)
    # cosh(gamma_l) = c(K) - cos(pi l / L) with c = cosh 2K coth 2K; c - 1 written stably.
    l = np.arange(1, 2 * L, dtype=float)
    cm1 = (s2 - 1.0) ** 2 / s2 + 2.0 * np.sin(np.pi * l / (2 * L)) ** 2     # cosh(gamma) - 1
    g = np.log1p(cm1 + np.sqrt(cm1 * (cm1 + 2.0)))                          # gamma_l > 0
    sh, ch = np.sinh(g), np.cosh(g)
    dc = 2 * c2 * (1.0 - 1.0 / s2 ** 2)
    ddc = 4 * s2 - 4 / s2 + 8 * c2 ** 2 / s2 ** 3
    dg = dc / sh
    ddg = (ddc - ch * dg ** 2) / sh
    gamma = {int(i): (gi, dgi, ddgi) for i, gi, dgi, ddgi in zip(l, g, dg, ddg)}
    # gamma_0 keeps its sign (negative above K_c, zero at K_c).
    gamma[0] = (2 * K + math.log(math.tanh(K)), 2 + 2 / s2, -4 * c2 / s2 ** 2)

    def factor(kind, gl):
        """One factor h(K) = 2cosh(x) or 2sinh(x), x = L gamma/2, of a product Z_i.

        Returns ("log", ln|h|, sign h, (ln|h|)', (ln|h|)'') or, for a sinh factor with x near 0
        (gamma_0 at K_c, where h vanishes), ("direct", h, h', h'')."""
        gv, dgv, ddgv = gl
        x = 0.5 * L * gv
        dx, ddx = 0.5 * L * dgv, 0.5 * L * ddgv
        if kind == "cosh":
            lnh = abs(x) + math.log1p(math.exp(-2 * abs(x)))
            t = math.tanh(x)
            return ("log", lnh, 1.0, t * dx, (1 - t * t) * dx * dx + t * ddx)
        # sinh
        if abs(x) > 1e-3:
            lnh = abs(x) + math.log1p(-math.exp(-2 * abs(x)))
            ct = 1.0 / math.tanh(x)
            return ("log", lnh, math.copysign(1.0, x), ct * dx, (1 - ct * ct) * dx * dx + ct * ddx)
        h = 2 * math.sinh(x)
        dh = 2 * math.cosh(x) * dx
        ddh = 2 * math.sinh(x) * dx * dx + 2 * math.cosh(x) * ddx
        return ("direct", h, dh, ddh)

    def product(kind, ls):
        """Z_i = Π h_l as (ln scale S, z, z', z'') with Z_i = e^S (z, z', z'')."""
        S = dS = ddS = 0.0
        sign = 1.0
        direct = None
        for li in ls:
            f = factor(kind, gamma[li])
            if f[0] == "log":
                S += f[1]
                sign *= f[2]
                dS += f[3]
                ddS += f[4]
            else:
                direct = f[1:]
        z, dz, ddz = sign, sign * dS, sign * (ddS + dS * dS)
        if direct is not None:                   # multiply by the near-zero sinh factor
            h, dh, ddh = direct
            z, dz, ddz = h * z, dh * z + h * dz, ddh * z + 2 * dh * dz + h * ddz
        return S, z, dz, ddz

    odd = [2 * r + 1 for r in range(L)]
    even = [2 * r for r in range(L)]
    terms = [product("cosh", odd), product("sinh", odd), product("cosh", even),
             product("sinh", even)]
    smax = max(t[0] for t in terms)
    Z = dZ = ddZ = 0.0
    for S, z, dz, ddz in terms:
        w = math.exp(S - smax)
        Z += w * z
        dZ += w * dz
        ddZ += w * ddz
    # ln Z = ln(1/2) + (N/2) ln(2 sinh 2K) + smax + ln(sum)
    lnZ = math.log(0.5) + 0.5 * N * math.log(2 * s2) + smax + math.log(Z)
    d1 = N * c2 / s2 + dZ / Z
    d2 = -2 * N / s2 ** 2 + ddZ / Z - (dZ / Z) ** 2
    return {"energy": -d1 / N, "specific_heat": K * K * d2 / N, "lnZ_per_site": lnZ / N}


class RunFile:
    """An open run file: config, provenance and per-size summaries."""

    def __init__(self, path):
        self.path = path
        if os.path.isdir(path):
            raise FormatError(f"{path}: is a directory, not a run file")
        if not os.path.exists(path):
            raise FormatError(f"{path}: no such file")
        try:
            self.h5 = h5py.File(path, "r")
        except OSError:
            raise FormatError(f"{path}: not an HDF5 file, or not readable") from None
        try:
            self._read_header()
        except BaseException:
            self.h5.close()
            raise

    def _read_header(self):
        path = self.path
        fmt = _value(self.h5.attrs.get("format", ""))
        if fmt != "invrg":
            raise FormatError(f"{path}: not an invrg run file (format attribute {fmt!r})")
        version = np.atleast_1d(self.h5.attrs.get("format_version", [])).tolist()
        if len(version) != 2:
            raise FormatError(f"{path}: format_version is {version!r}, not two numbers")
        version = [int(x) for x in version]
        if version[0] != FORMAT_MAJOR:
            raise FormatError(f"{path}: format_version {version[0]}.{version[1]} is not "
                              f"supported by this reader (major {FORMAT_MAJOR})")
        self.format_version = tuple(version)
        for group in ("code", "run", "config"):
            if not isinstance(self.h5.get(group), h5py.Group):
                raise FormatError(f"{path}: not a complete invrg run file (no /{group})")
        self.code = _attrs(self.h5["code"])
        self.run = _attrs(self.h5["run"])
        cfg = self.h5["config"]
        self.config = {name: _attrs(group) for name, group in cfg.items()
                       if isinstance(group, h5py.Group)}
        self.input_nml = cfg["input_nml"][()].decode("utf-8") if "input_nml" in cfg else ""

    def summaries(self, source):
        """Summary attributes of every measured size of a source ('mc' or 'dream'), keyed by L
        (a saved level below measure_from, which holds configurations only, is not one)."""
        return {L: _attrs(g) for L, g in sorted(self._size_groups(source).items())}

    @property
    def label(self):
        """A short name for the run: its /run title, else the file name without .h5."""
        title = str(self.run.get("title", "") or "").strip()
        if title:
            return title
        return os.path.splitext(os.path.basename(self.path))[0]

    def has(self, path):
        """True when the file holds the group or dataset @p path."""
        return path.strip("/") in self.h5 if path.strip("/") else True

    def sources(self, top):
        """Names under a top-level group ('mc', 'dream', 'corr', 'fss', 'mcrg'), sorted."""
        if top not in self.h5 or not isinstance(self.h5[top], h5py.Group):
            return []
        return sorted(self.h5[top].keys())

    def model(self):
        """The dreaming model of this run, or None: {"kind", "params", "param_names", "origin"}.

        The model &dream names (model and params, or model_file, read when the file is found as
        given or beside the run file), else /model (the model stage train kept, which a dream
        without a model of its own uses); origin says which. Read once (a model file is opened
        on the first call only).
        """
        if not hasattr(self, "_model"):
            self._model = self._dream_model()
        return self._model

    def _dream_model(self):
        dream = self.config.get("dream", {})
        if dream.get("model"):
            params = np.asarray(dream.get("params", []) or [], dtype=float)
            return {"kind": dream["model"], "params": params, "param_names": [],
                    "origin": "&dream params"}
        if dream.get("model_file"):
            name = str(dream["model_file"])
            for path in (name, os.path.join(os.path.dirname(os.path.abspath(self.path)), name)):
                try:
                    with h5py.File(path, "r") as f:
                        out = self._model_group(f["model"])
                    out["origin"] = "model_file " + name
                    return out
                except (OSError, KeyError):
                    continue
            return {"kind": os.path.basename(name), "params": np.zeros(0), "param_names": [],
                    "origin": "model_file " + name}
        return self.kept_model()

    def kept_model(self):
        """The model stage train kept (/model: also a model file's layout), or None."""
        if "model" in self.h5 and isinstance(self.h5["model"], h5py.Group):
            out = self._model_group(self.h5["model"])
            out["origin"] = "/model"
            return out
        return None

    @staticmethod
    def _model_group(g):
        """A model group's kind, parameters and their names."""
        out = _attrs(g)
        out["params"] = g["params"][()].astype(float) if "params" in g else np.zeros(0)
        out.setdefault("kind", "?")
        out.setdefault("param_names", [])
        return out

    def train(self):
        """The /train group: its attributes plus its datasets as arrays, or None."""
        if "train" not in self.h5:
            return None
        g = self.h5["train"]
        out = _attrs(g)
        for name, obj in g.items():
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        return out

    def mcrg(self, source=None):
        """MCRG results, one dict per (source, pairs, level, operator set), sorted.

        Keys: source, pairs, level, set, L_fine, L_coarse, n_samples, tie_fraction and the
        attributes of the set group (lambda_t, lambda_t_err, y_t, …, lambda_h, …, y_h, …).
        """
        out = []
        if "mcrg" not in self.h5:
            return out
        for src, gsrc in sorted(self.h5["mcrg"].items()):
            if source is not None and src != source:
                continue
            for pairs, gp in sorted(gsrc.items()):
                if not isinstance(gp, h5py.Group):
                    continue
                for lname, gl in gp.items():
                    if not (lname.startswith("level") and lname[5:].isdigit()):
                        continue
                    la = _attrs(gl)
                    for sname, gs in gl.items():
                        if not isinstance(gs, h5py.Group):
                            continue
                        rec = {"source": src, "pairs": pairs, "level": int(lname[5:]),
                               "set": sname,
                               "L_fine": _side(la.get("L_fine")),
                               "L_coarse": _side(la.get("L_coarse")),
                               "n_samples": la.get("n_samples"),
                               "tie_fraction": la.get("tie_fraction", float("nan"))}
                        for k, v in _attrs(gs).items():
                            if isinstance(v, (int, float)) and not isinstance(v, bool):
                                rec[k] = v
                        out.append(rec)
        order = {"up": 0, "down": 1, "blocked": 2}
        out.sort(key=lambda r: (r["source"], order.get(r["pairs"], 9), natural_key(r["pairs"]),
                                r["set"], r["level"]))
        return out

    def correlations(self, source):
        """/corr/<source>/L<L>: {L: {"attrs": {...}, "data": {name: array}}}, or {} if absent."""
        path = f"corr/{source}"
        if path not in self.h5:
            return {}
        out = {}
        for name, g in self.h5[path].items():
            if name.startswith("L") and name[1:].isdigit() and isinstance(g, h5py.Group):
                data = {k: d[()] for k, d in g.items() if isinstance(d, h5py.Dataset)}
                out[int(name[1:])] = {"attrs": _attrs(g), "data": data}
        return dict(sorted(out.items()))

    def fss(self):
        """/fss/<source>: {source: {"attrs": {...}, "data": {name: array}, "groups": {..}}}."""
        if "fss" not in self.h5:
            return {}
        out = {}

        def read(g):
            rec = {"attrs": _attrs(g), "data": {}, "groups": {}}
            for k, obj in g.items():
                if isinstance(obj, h5py.Dataset):
                    rec["data"][k] = obj[()]
                elif isinstance(obj, h5py.Group):
                    rec["groups"][k] = read(obj)
            return rec

        for src, g in sorted(self.h5["fss"].items()):
            if isinstance(g, h5py.Group):
                out[src] = read(g)
        return out

    def config_datasets(self):
        """Every saved configuration dataset: [{"path", "n", "L", "format"}], sorted by path."""
        out = []

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.rsplit("/", 1)[-1] == "configs" \
                    and obj.ndim == 3:
                fmt = _value(obj.attrs.get("format", "int8"))
                out.append({"path": "/" + name, "n": int(obj.shape[0]), "L": int(obj.shape[1]),
                            "format": fmt})
        self.h5.visititems(visit)
        return sorted(out, key=lambda d: (d["path"].split("/")[1], d["L"]))

    def read_configs(self, path, indices=None):
        """Configurations of the dataset @p path as int8 ±1 arrays [n][L][L] (packed ones unpacked).

        @p indices: None (all), an int, or a sequence of ints (negative counts from the end).
        Raises KeyError for a missing dataset, IndexError for an index out of range and
        FormatError for a dataset that does not hold configurations.
        """
        key = path.strip("/")
        if key not in self.h5 or not isinstance(self.h5[key], h5py.Dataset):
            raise KeyError(f"{self.path}: no dataset {path}")
        d = self.h5[key]
        if d.ndim != 3:
            raise FormatError(f"{self.path}:{path}: not a configuration dataset "
                              f"(shape {d.shape}, expected [sample][y][x])")
        n = d.shape[0]
        single = isinstance(indices, (int, np.integer))
        if indices is None:
            idx = list(range(n))
        else:
            idx = [int(indices)] if single else [int(i) for i in indices]
        for i in idx:
            if not -n <= i < n:
                raise IndexError(f"{self.path}:{path}: configuration {i} out of range "
                                 f"(the dataset holds {n}: 0 … {n - 1})")
        idx = [i % n for i in idx]
        fmt = _value(d.attrs.get("format", "int8"))
        L = d.shape[1]
        if fmt == "packed":
            shape_ok = d.dtype == np.uint8 and d.shape[2] == (L + 7) // 8
        else:
            shape_ok = d.dtype.kind in "iu" and d.shape[2] == L
        if not shape_ok:
            how = f", format {fmt!r}" if "format" in d.attrs else ""
            raise FormatError(f"{self.path}:{path}: not a configuration dataset (shape "
                              f"{d.shape}, {d.dtype}{how}; expected [sample][L][L] int8 "
                              f"or [sample][L][L/8] packed uint8)")
        raw = np.stack([d[i] for i in idx]) if idx else np.zeros((0,) + d.shape[1:], d.dtype)
        if fmt == "packed":
            out = unpack_spins(raw, d.shape[1])
        elif fmt == "int8" or d.dtype == np.int8:
            out = raw.astype(np.int8)
        else:
            raise FormatError(f"{self.path}:{path}: unknown configuration format {fmt!r}")
        return out[0] if single else out

    # ------------------------------------------------------------ tables

    def table_sources(self):
        """The per-size tables this file holds: "mc", "dream", "analyze/mc", "analyze/dream",
        "corr/<source>" (the names table() takes), in that order."""
        out = [s for s in ("mc", "dream") if self._size_groups(s)]
        for top in ("analyze", "corr"):
            out += [f"{top}/{s}" for s in self.sources(top) if self._size_groups(f"{top}/{s}")]
        return out

    def _size_groups(self, source):
        if source not in self.h5 or not isinstance(self.h5[source], h5py.Group):
            return {}
        # sizes with a summary only (a saved level below measure_from holds just configs)
        return {int(n[1:]): g for n, g in self.h5[source].items()
                if n.startswith("L") and n[1:].isdigit() and isinstance(g, h5py.Group)
                and "L" in g.attrs}

    def table(self, source):
        """The summaries of a source as a numpy structured array, one row per L (sorted):
        column L, then every numeric scalar attribute the groups share (each quantity next to
        its error, X and X_err), in the schema's order. Unknown source: KeyError."""
        source = source.strip("/")  # '/dream' and 'dream/' are 'dream'
        groups = self._size_groups(source)
        if not groups:
            raise KeyError(f"{self.path}: no per-size groups under /{source} "
                           f"(tables here: {', '.join(self.table_sources()) or 'none'})")
        rows = {L: _attrs(g) for L, g in sorted(groups.items())}

        def numeric(v):
            return isinstance(v, (int, float)) and not isinstance(v, bool)

        common = [k for k in next(iter(rows.values()))
                  if k != "L" and all(numeric(r.get(k)) for r in rows.values())]
        some_path = f"/{source}/L{next(iter(rows))}"
        order = {n: i for i, n in enumerate(schema().names(some_path))}

        def key(name):  # the schema's order; a derived name (X_err, …) right after X
            for rank, rule in enumerate(schema().suffixes, start=1):
                base = name[:-len(rule["suffix"])]
                if name.endswith(rule["suffix"]) and base in order:
                    return (order[base], base, rank, name)
            return (order.get(name, len(order)), name, 0, name)

        columns = ["L"] + sorted(common, key=key)
        dtype = [("L", "<i8")] + [(c, "<i8" if all(isinstance(r[c], int) for r in rows.values())
                                   else "<f8") for c in columns[1:]]
        return np.array([tuple([L] + [r[c] for c in columns[1:]]) for L, r in rows.items()],
                        dtype=dtype)

    def units(self, source, column):
        """Units of a table column (from the schema), '' if unknown."""
        L = next(iter(self._size_groups(source)), 0)
        e = schema().find(f"/{source}/L{L}", "attribute", column)
        return e["units"] if e else ""

    def to_csv(self, source, out):
        """Writes table(source) as CSV (a header of column names, then one row per L) to the
        path or open text file @p out."""
        t = self.table(source)
        close = isinstance(out, (str, os.PathLike))
        fh = open(out, "w", encoding="utf-8", newline="") if close else out
        try:
            fh.write(",".join(t.dtype.names) + "\n")
            for row in t:
                fh.write(",".join(repr(int(v)) if t.dtype[i].kind == "i" else repr(float(v))
                                  for i, v in enumerate(row)) + "\n")
        finally:
            if close:
                fh.close()

    def to_dataframe(self, source):
        """table(source) as a pandas DataFrame indexed by L (needs pandas: python3-pandas)."""
        import pandas as pd
        df = pd.DataFrame.from_records(self.table(source), index="L")
        df.attrs.update(source=source, path=self.path)
        return df

    def to_xarray(self, source):
        """table(source) as an xarray Dataset with dimension L, each variable carrying its
        units and description from the schema (needs xarray: python3-xarray)."""
        import xarray as xr
        t = self.table(source)
        L = next(iter(self._size_groups(source)))
        variables = {}
        for name in t.dtype.names[1:]:
            e = schema().find(f"/{source}/L{L}", "attribute", name) or {}
            variables[name] = ("L", t[name], {"units": e.get("units", ""),
                                              "description": e.get("description", "")})
        return xr.Dataset(variables, coords={"L": t["L"]},
                          attrs={"source": source, "file": self.path})

    def close(self):
        self.h5.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_run(path):
    """Opens a run file, checking that it is an invrg file of a supported format version."""
    return RunFile(path)


def _short(value, width=60):
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= width else text[:width - 1] + "…"


def overview(run, out=sys.stdout):
    """A short overview of a run file: provenance, stages, what each group holds."""
    w = out.write
    w(f"{run.path}: invrg format {run.format_version[0]}.{run.format_version[1]}, code "
      f"{run.code.get('version', '?')} (git {run.code.get('git_hash', '?')})\n")
    w(f"  title: {run.label}\n")
    w(f"  {run.run.get('nranks', '?')} ranks, stages {', '.join(run.run.get('stages', [])) or '—'}"
      f", wall time {wall_time_text(run.run)}, exit status {run.run.get('exit_status', '?')}\n")
    for source in run.table_sources():
        t = run.table(source)
        cols = [c for c in ("energy", "specific_heat", "V4", "xi2_over_L") if c in t.dtype.names]
        w(f"  /{source}: L = {', '.join(str(L) for L in t['L'])}\n")
        for row in t:
            cells = [f"{c} {row[c]:.6g} ± {row[c + '_err']:.2g}" if c + "_err" in t.dtype.names
                     else f"{c} {row[c]:.6g}" for c in cols]
            n = f"{row['n_samples']} samples" if "n_samples" in t.dtype.names else ""
            w(f"    L={row['L']:<6d} {n:>14}  " + ", ".join(cells) + "\n")
    if run.model() is not None:
        m = run.model()
        w(f"  model: {m['kind']} ({m['origin']}), parameters "
          f"{_short([round(float(x), 5) for x in m['params']])}\n")
    n_mcrg = len(run.mcrg())
    if n_mcrg:
        w(f"  /mcrg: {n_mcrg} (source, pairs, level, set) results; run.mcrg() lists them\n")
    if run.config_datasets():
        w("  configurations: " + ", ".join(f"{d['path']} [{d['n']}]"
                                           for d in run.config_datasets()) + "\n")
    w(f"  tables: {', '.join(run.table_sources()) or '—'}  "
      f"(invrg_io.py FILE --table SOURCE [--csv OUT])\n")


def main(argv):
    import argparse
    parser = argparse.ArgumentParser(
        prog="invrg_io.py",
        description="Read an invrg run file: a short overview, or one per-size table as text "
                    "or CSV. As a Python module: open_run(path), RunFile.table(source), "
                    "to_dataframe(), to_xarray(), schema().",
        epilog="examples:  invrg_io.py default.h5\n"
               "           invrg_io.py default.h5 --table dream --csv dream.csv\n"
               "           invrg_io.py --describe /corr/dream/L128 xi2_over_L_err",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", help="run file (HDF5)")
    parser.add_argument("--table", metavar="SOURCE",
                        help="print the per-size table of SOURCE (mc, dream, analyze/mc, "
                             "corr/dream, …) instead of the overview")
    parser.add_argument("--csv", metavar="OUT", help="with --table: write it as CSV to OUT "
                        "('-' for standard output)")
    parser.add_argument("--describe", nargs=2, metavar=("PATH", "NAME"),
                        help="units and meaning of attribute or dataset NAME at PATH "
                             "(from the run file's schema; no file needed)")
    args = parser.parse_args(argv[1:])
    if args.describe:
        path, name = args.describe
        e = schema().find(path, "attribute", name) or schema().find(path, "dataset", name)
        if e is None:
            print(f"invrg_io: {path} {name}: not in the run file's schema", file=sys.stderr)
            return 1
        print(f"{path}/{name} [{e['units'] or '—'}] ({e['kind']}): {e['description']}")
        return 0
    if args.file is None:
        parser.error("give a run file (or --describe PATH NAME)")
    if args.table == "" or args.csv == "":
        parser.error("--table and --csv need a value (a source; a file, or '-')")
    if args.csv is not None and args.table is None:
        parser.error("--csv goes with --table SOURCE")
    try:
        with open_run(args.file) as run:
            if args.table is None:
                overview(run)
            elif args.csv is not None:
                run.to_csv(args.table, sys.stdout if args.csv == "-" else args.csv)
            else:
                t = run.table(args.table)
                print("  ".join(f"{c:>14}" for c in t.dtype.names))
                for row in t:
                    print("  ".join(f"{v:>14d}" if t.dtype[i].kind == "i" else f"{v:>14.8g}"
                                    for i, v in enumerate(row)))
    except (OSError, FormatError, KeyError) as e:
        # a KeyError's message is its argument (str() would quote it)
        print(f"invrg_io: error: {e.args[0] if isinstance(e, KeyError) and e.args else e}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
