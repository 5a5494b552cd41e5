#!/usr/bin/python3
"""Tests tools/refined_table.py on two small refined dreams that the test makes with invrg
(Wolff seeds of 4², dreamed to 16² and 32²) and a Monte Carlo run: the table's E/N and C/N
biases against the exact torus of tools/invrg_io.py (signs: too ordered is negative), chi /
L^{7/4} and the cost per sample from the run file's attributes; gamma/nu of --gamma against the closed form of a
two-point fit (slope and error of ln chi over ln L); --plot draws a figure; exit 2 with one
line on bad input.
Environment (set by CTest): SOURCE_DIR, PYTHON, INVRG, MPIEXEC. Prints one ok/FAIL per check.
"""
import math
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py

SOURCE_DIR = Path(os.environ.get("SOURCE_DIR", Path(__file__).resolve().parents[2]))
PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")
INVRG = os.environ.get("INVRG", str(SOURCE_DIR / "build" / "invrg"))
TABLE = str(SOURCE_DIR / "tools" / "refined_table.py")
sys.path.insert(0, str(SOURCE_DIR / "tools"))
import invrg_io  # noqa: E402

from checks import check, failures  # noqa: E402  (this directory: the script's own)


def dream(path, levels):
    """A refined dream to 2^levels from Wolff 4 x 4 seeds, 64 samples, on one rank."""
    nml = path.with_suffix(".nml")
    nml.write_text(f"""&run stages = 'mc', 'dream', output = '{path.name}', seed = 5, log_level = 'warn' /
&mc L = 4, algorithm = 'wolff', n_chains = 2, n_therm = 100, n_samples = 32, sample_every = 5,
    save_configs = .true. /
&dream model = 'sym3', params = 0.5459, 0.62776, 1.40962, levels = {levels}, n_samples = 64,
    start = 'mc', start_L = 4, measure_from = 3, lattice = 'packed', refine_sweeps = 4,
    refine_top_sweeps = 8, refine_top_algorithm = 'metropolis' /
&analyze jackknife_blocks = 8 /
""")
    subprocess.run([INVRG, str(nml)], cwd=path.parent, check=True)


def table(*args):
    return subprocess.run([PYTHON, TABLE, *args], capture_output=True, text=True)


def printed(text):
    """The value of 'value(err)' and the unit of its last digit."""
    number = text.split("(")[0]
    decimals = len(number.split(".")[1]) if "." in number else 0
    return float(number), 10.0**-decimals


def cells(out, label):
    line = next(l for l in out.splitlines() if l.startswith(f"| {label} |"))
    return [c.strip() for c in line.strip("|").split("|")]


with tempfile.TemporaryDirectory() as tmp:
    a, b = Path(tmp) / "a.h5", Path(tmp) / "b.h5"
    dream(a, 4)
    dream(b, 5)
    res = table("small=" + str(a), "big=" + str(b))
    check(res.returncode == 0, f"two runs tabled (exit {res.returncode}: {res.stderr.strip()})")
    for label, path, L in (("small", a, 16), ("big", b, 32)):
        c = cells(res.stdout, label)
        with h5py.File(path, "r") as f:
            d = f[f"dream/L{L}"].attrs
            run = f["run"].attrs
            exact = invrg_io.exact_torus(L)
            e_bias = 100 * (d["energy"] - exact["energy"]) / abs(exact["energy"])
            c_bias = 100 * (d["specific_heat"] - exact["specific_heat"]) / exact["specific_heat"]
            ms = 1e3 * run["stage_seconds"][1] * run["nranks"] / d["n_samples"]
            chi = d["chi"] / L**1.75
        check(c[1] == str(L) and c[2] == "64", f"{label}: the top level L = {L}, 64 samples")
        check(c[4] == f"{e_bias:+.3f} %", f"{label}: E/N bias {c[4]} (expected {e_bias:+.3f} %)")
        check(c[7] == f"{c_bias:+.1f} %", f"{label}: C/N bias {c[7]} (expected {c_bias:+.1f} %)")
        value, unit = printed(c[10])
        check(abs(value - chi) <= 0.5 * unit,
              f"{label}: chi/L^(7/4) {c[10]} (expected {chi:.5g})")
        check(abs(float(c[11]) - ms) <= 0.01 * ms, f"{label}: ms per sample {c[11]} ({ms:.3g})")
    # a Monte Carlo run file (no dreams): its largest size, the reference ensembles' rows
    mc = Path(tmp) / "mc.h5"
    mc.with_suffix(".nml").write_text("&run stages = 'mc', output = 'mc.h5', seed = 3, "
                                      "log_level = 'warn' /\n&mc L = 4, 8, n_samples = 50 /\n"
                                      "&analyze mcrg_on_mc = F, jackknife_blocks = 5 /\n")
    subprocess.run([INVRG, str(mc.with_suffix(".nml"))], cwd=tmp, check=True)
    c = cells(table("ref=" + str(mc)).stdout, "ref")
    with h5py.File(mc, "r") as f:
        m = f["mc/L8"].attrs
        exact = invrg_io.exact_torus(8)
        e_bias = 100 * (m["energy"] - exact["energy"]) / abs(exact["energy"])
        n = int(m["n_samples"])
    check(c[1] == "8" and c[2] == str(n) and c[4] == f"{e_bias:+.3f} %",
          f"a Monte Carlo run: L = 8, {n} samples, E/N bias {c[4]} (expected {e_bias:+.3f} %)")
    res = table("--L", "8", str(a))
    check(cells(res.stdout, str(a))[1] == "8", "--L 8 shows the level L = 8")
    # gamma/nu of two sizes: slope ln(chi_b / chi_a) / ln 2, error sqrt(s_a^2 + s_b^2) / ln 2
    res = table("--gamma", str(a), str(b))
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        da, db = fa["dream/L16"].attrs, fb["dream/L32"].attrs
        slope = math.log(db["chi"] / da["chi"]) / math.log(2)
        err = math.hypot(da["chi_err"] / da["chi"], db["chi_err"] / db["chi"]) / math.log(2)
    m = re.search(r"gamma/nu = ([-\d.]+)\((\d+)\)", res.stdout)
    check(m is not None, f"--gamma prints gamma/nu ({res.stdout.splitlines()[-1]})")
    if m:
        value, unit = printed(m.group(1))
        check(abs(value - slope) <= 0.5 * unit,
              f"--gamma: {m.group(0)} against the two-point slope {slope:.5f}")
        check(abs(int(m.group(2)) * unit - err) <= 0.5 * unit,
              f"--gamma: its error against {err:.5f}")
    # --plot: a PNG of three panels, not blank, one series per label
    png = Path(tmp) / "sizes.png"
    res = table("--plot", str(png), "dreams=" + str(a), "dreams=" + str(b), "MC=" + str(mc))
    if res.returncode == 0 and png.exists():
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.image as mpimg
        img = mpimg.imread(png)
        check(img.shape[1] > 1000 and img.std() > 0.05,
              f"--plot: a {img.shape[1]} x {img.shape[0]} PNG with content (std {img.std():.3f})")
    else:
        check(False, f"--plot wrote no figure (exit {res.returncode}: {res.stderr.strip()})")
    res = table("--plot", str(Path(tmp) / "no" / "dir.png"), str(a))
    check(res.returncode == 2 and "Traceback" not in res.stderr,
          f"--plot into a missing directory: exit 2 ({res.stderr.strip()})")
    for args, what in ((["--gamma", str(a)], "--gamma with one size"),
                       ([str(Path(tmp) / "a.nml")], "a file that is not a run file"),
                       ([str(Path(tmp) / "none.h5")], "a missing file")):
        res = table(*args)
        check(res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
              and "Traceback" not in res.stderr, f"{what}: exit 2, one line ({res.stderr.strip()})")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
