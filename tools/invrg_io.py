#!/usr/bin/python3
"""Reader for invrg run files (HDF5, layout of DESIGN §5).

    import invrg_io
    run = invrg_io.open_run("default.h5")
    run.config["run"]["seed"]        # effective input, defaults included
    run.input_nml                    # the input file as given
    run.summaries("mc")              # {L: {"energy": ..., "energy_err": ...}, ...}

Command line: /usr/bin/python3 tools/invrg_io.py run.h5   (prints an overview)
"""
import sys

import h5py
import numpy as np

FORMAT_MAJOR = 1


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


def _attrs(obj):
    return {k: _value(v) for k, v in obj.attrs.items()}


class RunFile:
    """An open run file: config, provenance and per-size summaries."""

    def __init__(self, path):
        self.path = path
        self.h5 = h5py.File(path, "r")
        fmt = _value(self.h5.attrs.get("format", ""))
        if fmt != "invrg":
            self.h5.close()
            raise FormatError(f"{path}: not an invrg run file (format attribute {fmt!r})")
        version = [int(x) for x in self.h5.attrs["format_version"]]
        if version[0] != FORMAT_MAJOR:
            self.h5.close()
            raise FormatError(f"{path}: format_version {version[0]}.{version[1]} is not "
                              f"supported by this reader (major {FORMAT_MAJOR})")
        self.format_version = tuple(version)
        self.code = _attrs(self.h5["code"])
        self.run = _attrs(self.h5["run"])
        cfg = self.h5["config"]
        self.config = {name: _attrs(group) for name, group in cfg.items()
                       if isinstance(group, h5py.Group)}
        self.input_nml = cfg["input_nml"][()].decode("utf-8")

    def summaries(self, source):
        """Summary attributes of every size of a source ('mc' or 'dream'), keyed by L."""
        if source not in self.h5:
            return {}
        out = {}
        for name, group in self.h5[source].items():
            if name.startswith("L") and name[1:].isdigit():
                out[int(name[1:])] = _attrs(group)
        return dict(sorted(out.items()))

    def close(self):
        self.h5.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_run(path):
    """Opens a run file, checking that it is an invrg file of a supported format version."""
    return RunFile(path)


def main(argv):
    if len(argv) != 2:
        print("usage: invrg_io.py run.h5", file=sys.stderr)
        return 2
    try:
        with open_run(argv[1]) as run:
            print(f"{run.path}: invrg format {run.format_version[0]}.{run.format_version[1]}, "
                  f"code {run.code['version']} (git {run.code['git_hash']})")
            print(f"  ranks {run.run['nranks']}, stages {run.run['stages']}, "
                  f"walltime {run.run.get('walltime_s', float('nan')):.2f} s")
            for group, keys in run.config.items():
                print(f"  &{group} " + ", ".join(f"{k} = {v!r}" for k, v in keys.items()))
            for source in ("mc", "dream"):
                for L, s in run.summaries(source).items():
                    print(f"  {source} L={L}: " + ", ".join(f"{k}={v}" for k, v in s.items()))
    except (OSError, FormatError, KeyError) as e:
        print(f"invrg_io: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
