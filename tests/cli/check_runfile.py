"""Checks a run file written by tests/cli/test_runfile.sh through tools/invrg_io.py."""
import shutil
import sys

import h5py

import invrg_io

path, input_path, nranks = sys.argv[1], sys.argv[2], int(sys.argv[3])
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


with invrg_io.open_run(path) as run:
    check(run.format_version == (1, 1), f"format_version {run.format_version}")
    check(run.run["nranks"] == nranks, f"/run nranks = {run.run['nranks']}")
    check(run.run["exit_status"] == 0, "/run exit_status = 0")
    check(run.run["walltime_s"] > 0, "/run walltime_s > 0")
    check(run.run["stages"] == [], "/run stages empty")
    for key in ("version", "git_hash", "compiler", "flags", "mpi_version", "hdf5_version",
                "fftw_version"):
        check(isinstance(run.code.get(key), str) and run.code[key] != "", f"/code {key}")
    check(run.config["run"]["seed"] == 4242, "config seed is the input's")
    check(run.config["run"]["title"] == 'run-file "test"', "config title keeps quotes")
    check(run.config["run"]["log_level"] == "warn", "config log_level")
    check(run.config["output"]["overwrite"] is False, "config logical is a bool")
    check(run.config["parallel"]["grid"] == [0, 0], "config array stays an array")
    check(run.config["parallel"]["ranks_per_group"] == 0, "default recorded for unset key")
    with open(input_path, encoding="utf-8") as f:
        check(run.input_nml == f.read(), "input_nml is the input file verbatim")
    check(run.summaries("mc") == {}, "no mc summaries in a run without stages")

# The reader refuses a file of another major format version.
shutil.copy(path, "future.h5")
with h5py.File("future.h5", "r+") as f:
    f.attrs["format_version"] = [2, 0]
try:
    invrg_io.open_run("future.h5")
    check(False, "format_version 2 refused")
except invrg_io.FormatError as e:
    check("format_version 2.0 is not supported" in str(e), "format_version 2 refused")

sys.exit(1 if failures else 0)
