#!/usr/bin/python3
"""Tests tools/invrg_io.py as users meet it: --help, the short overview, per-size tables as
numpy structured arrays and CSV, the pandas and xarray bridges (python3-pandas and
python3-xarray are installed by tools/setup.sh --with-tests), --describe from the schema.
The run file is made by invrg (every stage, small sizes, 1 rank).
Environment (set by CTest): SOURCE_DIR, INVRG, MPIEXEC, PYTHON. One ok/FAIL line per check.
"""
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

SOURCE_DIR = Path(os.environ.get("SOURCE_DIR", Path(__file__).resolve().parents[2]))
INVRG = os.environ.get("INVRG", str(SOURCE_DIR / "build" / "invrg"))
MPIEXEC = os.environ.get("MPIEXEC", "mpirun")
PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")
TOOL = str(SOURCE_DIR / "tools" / "invrg_io.py")
sys.path.insert(0, str(SOURCE_DIR / "tools"))
import invrg_io  # noqa: E402

from checks import check, failures  # noqa: E402  (this directory: the script's own)


def tool(*args):
    p = subprocess.run([PYTHON, TOOL, *map(str, args)], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def main():
    work = Path(tempfile.mkdtemp(prefix="invrg_io_test_"))
    os.chdir(work)
    (work / "run.nml").write_text(
        "&run stages = 'mc', 'train', 'dream', 'analyze', output = 'run.h5', log_level = 'warn' /\n"
        "&mc L = 8, n_chains = 2, n_therm = 20, n_samples = 40, save_configs = T /\n"
        "&train n_replicas = 2 /\n"
        "&dream levels = 5, n_samples = 16, measure_from = 2, save_levels = 4 /\n"
        "&analyze mcrg_levels = 2, jackknife_blocks = 4 /\n")
    p = subprocess.run([MPIEXEC, "-n", "1", INVRG, "run.nml"], capture_output=True, text=True)
    if not check(p.returncode == 0, f"invrg makes the run file (exit {p.returncode})"):
        print(p.stdout, p.stderr)
        return 1

    rc, out, err = tool("--help")
    check(rc == 0 and "--table" in out and "--csv" in out, "--help prints the usage, exit 0")
    rc, out, err = tool()
    check(rc == 2 and "run file" in err, "no file: a usage error (exit 2)")
    rc, out, err = tool("run.h5")
    lines = out.splitlines()
    check(rc == 0, "the overview runs")
    check(max(map(len, lines)) <= 160, f"the overview's lines are short (longest {max(map(len, lines))})")
    for source in ("/mc", "/dream", "/analyze/mc", "/corr/dream"):
        check(any(line.strip().startswith(source + ":") for line in lines),
              f"the overview lists {source}")

    with invrg_io.open_run("run.h5") as run, h5py.File("run.h5", "r") as f:
        check(run.table_sources()[:2] == ["mc", "dream"], f"table sources {run.table_sources()}")
        t = run.table("dream")
        check(list(t["L"]) == [4, 8, 16, 32], f"one row per dreamed size, sorted ({list(t['L'])})")
        names = t.dtype.names
        check(names.index("energy_err") == names.index("energy") + 1,
              "each quantity is followed by its error")
        same = all(t[c][i] == f[f"dream/L{L}"].attrs[c] for i, L in enumerate(t["L"])
                   for c in names[1:])
        check(same, "every table cell is the group's attribute, bit for bit")
        check({"V4", "V4_err", "beta", "n_samples", "energy_exact"} <= set(names),
              "the table has the summary's quantities")
        check(run.units("dream", "energy") == "J" and run.units("dream", "V4_err") == "1",
              "units from the schema")
        try:
            run.table("nowhere")
            check(False, "an unknown source raises KeyError")
        except KeyError as e:
            check("tables here" in str(e), "an unknown source raises KeyError naming the tables")

        buf = io.StringIO()
        run.to_csv("corr/dream", buf)
        back = np.genfromtxt(io.StringIO(buf.getvalue()), delimiter=",", names=True)
        tc = run.table("corr/dream")
        check(back.dtype.names == tc.dtype.names and all(
            np.array_equal(back[c].astype(float), tc[c].astype(float)) for c in tc.dtype.names),
            "CSV reads back to the same table, bit for bit")
        rc, out, err = tool("run.h5", "--table", "mc", "--csv", "mc.csv")
        check(rc == 0 and Path("mc.csv").read_text().splitlines()[0].startswith("L,"),
              "--table mc --csv mc.csv writes a CSV with a header")
        rc, out, err = tool("run.h5", "--table", "nowhere")
        check(rc == 1 and "error" in err and "Traceback" not in err,
              "--table of an unknown source: one error line, exit 1")
        check("'" not in err.split("error:", 1)[-1][:2], f"the error is not quoted: {err.strip()}")
        for args in (("--table", ""), ("--table", "mc", "--csv", "")):
            rc, out, err = tool("run.h5", *args)
            check(rc == 2 and "need a value" in err and not out,
                  f"an empty {args[-2]}: a usage error, not the overview or standard output")
        rc, out, err = tool("run.h5", "--table", "/dream/")
        check(rc == 0 and out.split()[0] == "L", "--table /dream/ is the table of dream")

        import pandas  # noqa: F401  (installed by tools/setup.sh --with-tests)
        df = run.to_dataframe("dream")
        check(list(df.index) == [4, 8, 16, 32] and df.loc[16, "V4"] == f["dream/L16"].attrs["V4"],
              "to_dataframe: indexed by L, the same numbers")
        import xarray  # noqa: F401
        ds = run.to_xarray("corr/dream")
        check(list(ds["L"].values) == [4, 8, 16, 32] and ds["xi2"].attrs["units"] == "a"
              and "correlation length" in ds["xi2"].attrs["description"],
              "to_xarray: dimension L, units and descriptions from the schema")
        check(float(ds["xi2_over_L"].sel(L=32)) == f["corr/dream/L32"].attrs["xi2_over_L"],
              "to_xarray: the same numbers")

    rc, out, err = tool("--describe", "/corr/mc/L64", "xi2_over_L_err")
    check(rc == 0 and "standard error" in out, "--describe a derived name")
    rc, out, err = tool("--describe", "/corr/mc/L64", "xi3")
    check(rc == 1, "--describe an unknown name: exit 1")
    print("all passed" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
