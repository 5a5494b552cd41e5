#!/usr/bin/python3
"""Tests tools/report.py, tools/show_config.py and the readers they use in tools/invrg_io.py
(issue 9, item 2) on a small run file that the test makes itself with invrg:
Monte Carlo L = 16 (configurations saved, MCRG of every sample), sym3 training, dreaming to
64² with configurations saved at 16² and 64². A second Monte Carlo run with bit-packed
configurations checks the unpacking, and a copy with /corr and /fss groups computed in numpy
(tests/tools/add_corr_fixture.py) checks the correlation figures.

Checks: every expected figure exists and is non-trivial (PNG size, image dimensions,
non-constant pixels, read back with matplotlib.image.imread), also as PDF (a page whose content
stream draws) and SVG (XML with drawing elements) with --format; no figure has a legend on a
data area or over a line, error bar, point or text, nor a title or suptitle over another text
(report.layout_problems on the figures of report.figures, for one run and for three runs with
long titles and many MCRG sources; the check itself shown to catch planted overlaps); the HTML
page is self-contained (every PNG or SVG a data: URI equal to the file next to it, PDF figures
linked, every caption naming the file it shows) and lists the run's numbers; show_config.py draws exact pixels (also with a title, also from packed data);
both tools exit 2 with one clear line and no traceback on bad arguments and files; the exact
torus of invrg_io against enumeration (L = 4) and the C code's oracle (L = 16).
Environment (set by CTest): SOURCE_DIR, PYTHON, INVRG, MPIEXEC. Prints one ok/FAIL per check.
"""
import base64
import html
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import h5py
import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

SOURCE_DIR = Path(os.environ.get("SOURCE_DIR", Path(__file__).resolve().parents[2]))
PYTHON = os.environ.get("PYTHON", "/usr/bin/python3")
INVRG = os.environ.get("INVRG", str(SOURCE_DIR / "build" / "invrg"))
MPIEXEC = os.environ.get("MPIEXEC", "mpirun")
REPORT = str(SOURCE_DIR / "tools" / "report.py")
SHOW = str(SOURCE_DIR / "tools" / "show_config.py")
FIXTURE = str(SOURCE_DIR / "tests" / "tools" / "add_corr_fixture.py")

sys.path.insert(0, str(SOURCE_DIR / "tools"))
import invrg_io  # noqa: E402
import report  # noqa: E402  (its number formatting, to find the run's numbers in the page)

from checks import check, failures  # noqa: E402  (this directory: the script's own)


def run(cmd, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    return p.returncode, p.stdout, p.stderr


INPUT = """\
&run
  title = 'report test run'
  stages = 'mc', 'train', 'dream'
  seed = 9
  output = 'small.h5'
  log_level = 'warn'
/
&output
  configs_format = '{fmt}'
/
&mc
  L = 16
  algorithm = 'wolff'
  n_chains = 4
  n_therm = 200
  n_samples = 250
  sample_every = 2
  save_configs = .true.
/
&train
  model = 'sym3'
  epochs = 8
  batch = 200
  n_replicas = 2
/
&dream
  levels = 6
  n_samples = 400
  measure_from = 3
  save_levels = 4, 6
  save_max = 6
/
&analyze
  operators = 'swendsen'
  mcrg_levels = 2
  jackknife_blocks = 10
  mcrg_on_mc = .true.
  correlations = .false.      ! /corr and /fss come from add_corr_fixture.py below
  fss_sources =
/
"""

PACKED_INPUT = """\
&run stages = 'mc', seed = 9, output = 'packed.h5', log_level = 'warn' /
&output configs_format = 'packed' /
&mc L = 16, algorithm = 'wolff', n_chains = 4, n_therm = 200, n_samples = 250,
    sample_every = 2, save_configs = .true. /
"""


def check_png(path, what, min_w=300, min_h=250, min_bytes=8000):
    """A PNG that exists, is big enough, and is not blank."""
    if not check(os.path.isfile(path), f"{what}: {os.path.basename(path)} written"):
        return None
    size = os.path.getsize(path)
    check(size >= min_bytes, f"{what}: {size} bytes (≥ {min_bytes})")
    img = mpimg.imread(path)
    h, w = img.shape[:2]
    check(w >= min_w and h >= min_h, f"{what}: {w} x {h} pixels (≥ {min_w} x {min_h})")
    gray = img[..., :3].mean(axis=-1) if img.ndim == 3 else img
    frac_white = float(np.mean(gray > 0.98))
    check(gray.std() > 0.05 and len(np.unique(np.round(gray, 2))) >= 3 and frac_white < 0.97,
          f"{what}: pixels not constant (std {gray.std():.3f}, {100 * frac_white:.0f} % white)")
    return img


def check_svg(path, what):
    """An SVG that parses as XML and draws: many paths, and data lines or images."""
    if not check(os.path.isfile(path), f"{what}: {os.path.basename(path)} written"):
        return
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        check(False, f"{what}: parses as XML ({e})")
        return
    tags = [el.tag.rsplit("}", 1)[-1] for el in root.iter()]
    ids = [el.get("id", "") for el in root.iter()]
    paths = tags.count("path") + tags.count("use")
    lines = sum(i.startswith("line2d") for i in ids)
    images = tags.count("image")
    check(tags[0] == "svg" and paths >= 20 and (lines >= 1 or images >= 1),
          f"{what}: SVG with {paths} paths, {lines} lines, {images} images")


def check_pdf(path, what):
    """A PDF with a page whose content stream draws (path operators or images)."""
    if not check(os.path.isfile(path), f"{what}: {os.path.basename(path)} written"):
        return
    b = Path(path).read_bytes()
    page = re.search(rb"/Type /Page\b(?!s).*?/Contents (\d+) 0 R", b, re.S)
    ops = 0
    if page:
        m = re.search(rb"\n" + page.group(1) + rb" 0 obj\n<<[^>]*>>\nstream\n(.*?)\nendstream",
                      b, re.S)
        body = zlib.decompress(m.group(1)) if m else b""
        ops = len(re.findall(rb"(?m) (?:m|l|c|re|Do)$", body))
    check(b.startswith(b"%PDF-") and page is not None and ops >= 50,
          f"{what}: PDF with a page drawing {ops} paths and images")


def check_layout(paths, what):
    """report.layout_problems on every figure report.py makes of the run files: the stems."""
    t0 = time.time()
    runs = report.open_runs(paths)
    stems = []
    try:
        series = report.build_series(runs)
        for stem, fig, _ in report.figures(runs, series, 4, []):
            probs = report.layout_problems(fig)
            check(not probs, f"{what}: {stem}: no legend on data, no overlapping titles"
                  + ("" if not probs else f" ({len(probs)}: {'; '.join(probs[:3])})"))
            stems.append(stem)
            plt.close(fig)
    finally:
        for r in runs:
            r.rf.close()
    print(f"   ({what}: layout of {len(stems)} figures checked in {time.time() - t0:.1f} s)")
    return stems


def test_layout_checker():
    """layout_problems catches what it is for: planted overlaps."""
    fig, ax = plt.subplots()
    ax.errorbar([1, 2, 3], [1, 2, 3], yerr=0.2, label="data")
    ax.legend(loc="center")
    probs = report.layout_problems(fig)
    check(any("legend" in p and "data area" in p for p in probs) and
          any("legend" in p and "Line2D" in p for p in probs),
          f"layout_problems: a legend inside the axes, on a line ({len(probs)} problems)")
    ax.set_title("a title")
    fig.canvas.draw()
    top = ax.title.get_window_extent().y1 / fig.bbox.height
    fig.suptitle("A suptitle", y=top)       # its top at the title's top
    probs = report.layout_problems(fig)
    check(any("suptitle" in p and "title" in p.split("overlaps")[-1] for p in probs),
          "layout_problems: a suptitle over a panel title")
    plt.close(fig)
    lay = report.Layout(1, 2, (4, 3))
    for ax in lay.axes[0]:
        ax.errorbar([1, 2, 3], [1, 2, 3], yerr=0.2, label="data")
        ax.set_title("a title")
    lay.legend_below()
    lay.fig.suptitle("A suptitle")
    fig = lay.finish()
    probs = report.layout_problems(fig)
    check(not probs, f"layout_problems: none in a Layout with its legend below ({probs[:2]})")
    plt.close(fig)


def check_page(outdir, fmt, stems, what):
    """Every figure on the page: PNG and SVG as data: URIs equal to the files, PDF linked; each
    caption names the file shown; one figure per stem, nothing else."""
    page = (outdir / "index.html").read_text(encoding="utf-8")
    figures = re.findall(r"<figure>(.*?)</figure>", page, re.S)
    shown, ok = [], True
    for f in figures:
        cap = re.search(r"<figcaption><b>([^<]*)</b>", f)
        img = re.search(r'<img src="data:([^;]*);base64,([^"]*)"[^>]*title="([^"]*)"', f)
        link = re.search(r'<a href="([^"]*)">', f)
        name = img.group(3) if img else link.group(1) if link else None
        ok &= cap is not None and name == cap.group(1) and name.endswith("." + fmt)
        if img:
            ok &= (img.group(1) == report.MIME[fmt] and
                   base64.b64decode(img.group(2)) == (outdir / name).read_bytes())
        else:
            ok &= fmt == "pdf" and link is not None and (outdir / name).is_file()
        shown.append(name)
    want = sorted(f"{s}.{fmt}" for s in stems)
    files = sorted(p.name for p in outdir.glob("*." + fmt))
    check(ok and sorted(shown) == want == files,
          f"{what}: the page shows the {len(shown)} {fmt.upper()} figures, each captioned with "
          f"its own file name")


def main():
    work = Path(tempfile.mkdtemp(prefix="invrg_report_"))
    try:
        os.chdir(work)
        test_exact()
        test_layout_checker()
        (work / "small.nml").write_text(INPUT.format(fmt="int8"))
        code, out, err = run([MPIEXEC, "-n", "2", INVRG, "small.nml"])
        if not check(code == 0 and os.path.isfile("small.h5"),
                     f"invrg makes the small run file (exit {code})"):
            print(out, err)
            return 1
        (work / "packed.nml").write_text(PACKED_INPUT)
        code, out, err = run([MPIEXEC, "-n", "2", INVRG, "packed.nml"])
        check(code == 0, f"invrg makes a Monte Carlo run with packed configurations (exit {code})")
        test_reader()
        test_report_single(work)
        test_report_corr_and_multi(work)
        test_report_without_functions(work)
        test_show_config(work)
        test_bad_input(work)
        test_edge_cases(work)
    finally:
        os.chdir("/")
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("all passed")
    return 0


def test_exact():
    # docs/physics.md §2: enumeration of the 4 x 4 torus at K_c.
    ex = invrg_io.exact_torus(4)
    check(abs(ex["energy"] - (-1.5656237876)) < 1e-9 and
          abs(ex["specific_heat"] - 0.7832668259) < 1e-9,
          f"exact_torus(4): E/N = {ex['energy']:.10f}, C/N = {ex['specific_heat']:.10f} "
          "(enumeration: -1.5656237876, 0.7832668259)")
    # Off the critical point, against our own enumeration (the sign of gamma_0 matters there).
    L, N = 4, 16
    states = ((np.arange(2 ** N)[:, None] >> np.arange(N)) & 1) * 2 - 1
    s = states.reshape(-1, L, L)
    E = -(s * np.roll(s, 1, 1) + s * np.roll(s, 1, 2)).sum(axis=(1, 2)).astype(float)
    worst = 0.0
    for K in (0.25, 0.6):
        w = np.exp(-K * (E - E.min()))
        w /= w.sum()
        e = (w * E).sum() / N
        c = K * K * ((w * E * E).sum() - (w * E).sum() ** 2) / N
        x = invrg_io.exact_torus(L, K)
        worst = max(worst, abs(e - x["energy"]), abs(c - x["specific_heat"]))
    check(worst < 1e-10, f"exact_torus(4, K) equals enumeration at K = 0.25, 0.6 ({worst:.1e})")


def test_reader():
    with invrg_io.open_run("small.h5") as rf:
        check(rf.label == "report test run", f"label is the /run title ({rf.label!r})")
        s = rf.summaries("mc")[16]
        ex = invrg_io.exact_torus(16)
        check(abs(ex["energy"] - s["energy_exact"]) < 1e-9 and
              abs(ex["specific_heat"] - s["specific_heat_exact"]) < 1e-8,
              "exact_torus(16) equals the C code's oracle stored in /mc/L16 "
              f"({ex['energy']:.10f}, {ex['specific_heat']:.10f})")
        ds = {d["path"]: d for d in rf.config_datasets()}
        check(set(ds) == {"/mc/L16/configs", "/dream/L16/configs", "/dream/L64/configs"},
              f"config_datasets lists {sorted(ds)}")
        c = rf.read_configs("/dream/L64/configs", [0, -1])
        check(c.shape == (2, 64, 64) and c.dtype == np.int8 and set(np.unique(c)) <= {-1, 1},
              "read_configs: int8 ±1 [2][64][64]")
        recs = rf.mcrg()
        kinds = {(r["source"], r["pairs"]) for r in recs}
        check({("dream", "up"), ("dream", "down"), ("dream", "blocked"),
               ("mc", "blocked")} <= kinds, f"mcrg() finds {sorted(kinds)}")
        check(all(math.isfinite(r["lambda_h"]) for r in recs if r["L_coarse"] >= 4),
              "mcrg(): finite lambda_h at every level with a coarse lattice ≥ 4")
        m = rf.model()
        check(m is not None and m["kind"] == "sym3" and len(m["params"]) == 3,
              f"model(): {m and m['kind']} with {m and len(m['params'])} parameters")
        with invrg_io.open_run("packed.h5") as pf:
            d = [x for x in pf.config_datasets() if x["path"] == "/mc/L16/configs"]
            check(d and d[0]["format"] == "packed", "packed.h5 holds packed configurations")
            same = np.array_equal(pf.read_configs("/mc/L16/configs"),
                                  rf.read_configs("/mc/L16/configs"))
            check(same, "packed configurations unpack to the int8 ones of the same run")


def page_text(page):
    return re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "data:…", page)


def check_self_contained(outdir, what, fmt="png"):
    """No outside references: PNG and SVG figures embedded (each one of the files next to the
    page), PDF figures linked to the files next to the page."""
    page = (outdir / "index.html").read_text(encoding="utf-8")
    srcs = re.findall(r'src="([^"]*)"', page)
    hrefs = re.findall(r'href="([^"]*)"', page)
    magic = {"png": b"\x89PNG", "svg": b"<?xml"}
    ok = bool(srcs) if fmt != "pdf" else not srcs and bool(hrefs)
    for src in srcs:
        if fmt in magic and src.startswith(f"data:{report.MIME[fmt]};base64,"):
            ok &= base64.b64decode(src.split(",", 1)[1]).startswith(magic[fmt])
        else:
            ok &= not re.match(r"[a-z]+:", src) and (outdir / src).is_file()
    for href in hrefs:
        ok &= fmt == "pdf" and not re.match(r"[a-z]+:", href) and (outdir / href).is_file()
    check(ok and "<link" not in page and "<script" not in page,
          f"{what}: index.html self-contained ({len(srcs)} images, {len(hrefs)} links to "
          f"files next to it, no outside references)")
    # Every embedded image is one of the files next to the page.
    files = {p.read_bytes() for p in outdir.glob("*." + fmt)}
    emb = [base64.b64decode(s.split(",", 1)[1]) for s in srcs if s.startswith("data:")]
    if fmt != "pdf":
        check(all(e in files for e in emb) and len(emb) == len(files),
              f"{what}: the {len(emb)} embedded images are the {len(files)} {fmt.upper()} files")
    return page


def test_report_single(work):
    out = work / "rep"
    code, so, se = run([PYTHON, REPORT, "small.h5", "-o", out])
    check(code == 0, f"report.py small.h5 -o rep (exit {code})")
    if code:
        print(so, se)
        return
    check("/corr" in so and "skipped" in so,
          "report.py notes that the correlation figures are skipped (no /corr)")
    for name in ("fss_chi.png", "fss_V4.png", "fss_C.png", "fss_m.png", "fss_E.png",
                 "mcrg.png", "train.png"):
        check_png(str(out / name), name)
    for name in ("fss_xi.png", "corr_G.png"):
        check(not (out / name).exists(), f"{name} not written without /corr")
    img = check_png(str(out / "configs_1.png"), "dreamed configurations", min_w=500)
    check_png(str(out / "configs_2.png"), "Monte Carlo configurations", min_w=500)
    if img is not None:
        gray = img[..., :3].mean(axis=-1)
        check(np.mean(gray < 0.05) > 0.1 and np.mean(gray > 0.95) > 0.2,
              "configuration figure has black and white spins")
    page = page_text(check_self_contained(out, "single run"))
    stems = check_layout(["small.h5"], "one run")
    check_page(out, "png", stems, "single run")
    with invrg_io.open_run("small.h5") as rf:
        dr, mc = rf.summaries("dream"), rf.summaries("mc")
        want = {
            "title": "report test run",
            "V4 of the dream at L = 64": report.fmt_pm(dr[64]["V4"], dr[64]["V4_err"]),
            "chi of the dream at L = 32": report.fmt_pm(dr[32]["chi"], dr[32]["chi_err"]),
            "E/N of Monte Carlo at L = 16": report.fmt_pm(mc[16]["energy"], mc[16]["energy_err"]),
            "exact E/N at L = 16": f"{mc[16]['energy_exact']:.8f}",
        }
        rec = [r for r in rf.mcrg() if (r["source"], r["pairs"], r["level"]) ==
               ("dream", "down", 6)][0]
        want["lambda_h of down pairs at level 6"] = report.fmt_pm(rec["lambda_h"],
                                                                  rec["lambda_h_err"])
        sel = rf.train()["selected_params"]
        want["trained parameter c"] = f"{sel[2]:.5f}"
    for what, text in want.items():
        check(text in page, f"the page lists {what}: {text}")
    check("± " in page and page.count("<table") >= 5, "the page has tables of value ± error")


def test_report_without_functions(work):
    """/corr as a run without &analyze correlation_functions writes it: ξ₂/L but no G(r)."""
    if not os.path.isfile("corr.h5"):
        check(False, "corr.h5 (from the previous test) exists")
        return
    shutil.copy("corr.h5", "cheap.h5")
    with h5py.File("cheap.h5", "r+") as f:
        for src in f["corr"]:
            for size in f["corr"][src]:
                g = f["corr"][src][size]
                for name in ("r", "G_axis", "G_axis_err", "G_diag", "G_diag_err", "k",
                             "shell_modes", "S_radial", "S_radial_err", "S_map", "G_map"):
                    if name in g:
                        del g[name]
    out = work / "rep_cheap"
    code, so, se = run([PYTHON, REPORT, "cheap.h5", "-o", out])
    check(code == 0, f"report.py of /corr without G(r) (exit {code})")
    if code:
        print(so, se)
        return
    check_png(str(out / "fss_xi.png"), "xi_2/L figure without G(r)")
    check(not (out / "corr_G.png").exists(), "corr_G.png not written without G(r)")
    check("correlation_functions" in so and "skipped" in so,
          "report.py says the G(r) figure is skipped and which key writes it")


def test_report_corr_and_multi(work):
    code, so, se = run([PYTHON, FIXTURE, "small.h5", "corr.h5"])
    if not check(code == 0, f"add_corr_fixture.py makes corr.h5 (exit {code})"):
        print(so, se)
        return
    with h5py.File("corr.h5", "r+") as f:     # a second run with its own title
        f["run"].attrs["title"] = "with correlations"
    # A third with a long title and more MCRG sources (as the stage analyze writes them).
    shutil.copy("corr.h5", "long.h5")
    with h5py.File("long.h5", "r+") as f:
        f["run"].attrs["title"] = ("a third run with a long title, to see that long legends "
                                   "and titles stay off the data and apart")
        for src in ("dream", "mc"):
            for name in (f"analyze_{src}", f"again_{src}"):
                f.copy(f"mcrg/{src}", f"mcrg/{name}")
    runs = ["small.h5", "corr.h5", "long.h5"]
    out = work / "rep2"
    code, so, se = run([PYTHON, REPORT, *runs, "-o", out, "--title", "three runs"])
    check(code == 0, f"report.py small.h5 corr.h5 long.h5 (exit {code})")
    if code:
        print(so, se)
        return
    check_png(str(out / "fss_xi.png"), "xi_2/L figure")
    check_png(str(out / "corr_G.png"), "G(r) figure")
    check_png(str(out / "fss_V4.png"), "V4 of two runs")
    page = page_text(check_self_contained(out, "three runs"))
    stems = check_layout(runs, "three runs")
    check({"fss_xi", "corr_G", "fss_fits", "mcrg", "train"} <= set(stems),
          f"three runs: the figures of /corr, /fss, /mcrg and training are made ({stems})")
    check_page(out, "png", stems, "three runs")
    check("<title>three runs</title>" in page, "--title sets the page title")
    check("report test run: dream" in page and "with correlations: dream" in page,
          "both runs named in the page and legends")
    with invrg_io.open_run("corr.h5") as rf:
        rec = rf.correlations("dream")[64]
        xi = report.fmt_pm(rec["attrs"]["xi2_over_L"], rec["attrs"]["xi2_over_L_err"])
    check(xi in page, f"the page lists xi_2/L of the dream at L = 64: {xi}")
    with invrg_io.open_run("corr.h5") as rf:
        fit = rf.fss()["dream"]["groups"]["gamma_over_nu"]["attrs"]
        gnu = report.fmt_pm(fit["result"], fit["result_err"])
    check("gamma/nu" in page and gnu in page,
          f"the page lists the /fss fit of gamma/nu of the dream: {gnu}")
    check_png(str(out / "fss_fits.png"), "FSS fit scans")
    # The figures themselves, checked once with a legend per run: the V4 plot has more coloured
    # pixels with two dream series than with one.
    one = mpimg.imread(str(work / "rep" / "fss_V4.png"))[..., :3]
    two = mpimg.imread(str(out / "fss_V4.png"))[..., :3]

    def coloured(a):
        return np.mean(a.max(axis=-1) - a.min(axis=-1) > 0.3)
    check(coloured(two) > coloured(one), "three runs draw more coloured series than one")
    test_formats(work, runs, stems)


def test_formats(work, runs, stems):
    """--format pdf and svg: every figure in that format, drawn; the page shows them."""
    for fmt, check_file in (("pdf", check_pdf), ("svg", check_svg)):
        out = work / f"rep_{fmt}"
        t0 = time.time()
        code, so, se = run([PYTHON, REPORT, *runs, "-o", out, "--format", fmt])
        check(code == 0, f"report.py --format {fmt} (exit {code}, {time.time() - t0:.1f} s)")
        if code:
            print(so, se)
            continue
        for stem in stems:
            check_file(str(out / f"{stem}.{fmt}"), f"{stem}.{fmt}")
        check(not list(out.glob("*.png")), f"--format {fmt}: no PNG written")
        check_self_contained(out, f"--format {fmt}", fmt)
        check_page(out, fmt, stems, f"--format {fmt}")


def test_show_config(work):
    with invrg_io.open_run("small.h5") as rf:
        cfg64 = rf.read_configs("/dream/L64/configs", 3)
        cfg16 = rf.read_configs("/mc/L16/configs", -1)
    code, so, se = run([PYTHON, SHOW, "small.h5", "/dream/L64/configs", "3", "-o", "d64.png",
                        "--scale", "1"])
    check(code == 0, f"show_config.py /dream/L64/configs 3 (exit {code})")
    if code == 0:
        img = mpimg.imread("d64.png")
        gray = img[..., 0] if img.ndim == 3 else img
        check(gray.shape == (64, 64) and np.array_equal(gray > 0.5, cfg64 > 0),
              "one pixel per spin, white = +1, equal to the configuration")
    code, so, se = run([PYTHON, SHOW, "small.h5", "dream/L64", "3", "-o", "d64_auto.png"])
    if check(code == 0, f"show_config.py with a group name and default scale (exit {code})"):
        img = mpimg.imread("d64_auto.png")
        gray = img[..., 0] if img.ndim == 3 else img
        want = np.kron(cfg64 > 0, np.ones((4, 4), bool))
        check(gray.shape == (256, 256) and np.array_equal(gray > 0.5, want),
              "small lattice upscaled 4x by nearest neighbour, pixels exact")
    code, so, se = run([PYTHON, SHOW, "packed.h5", "/mc/L16/configs", "-1", "-o", "p16.png",
                        "--title", "Monte Carlo, L = 16 (packed)"])
    if check(code == 0, f"show_config.py of packed data with --title (exit {code})"):
        img = mpimg.imread("p16.png")
        gray = img[..., :3].mean(axis=-1)
        want = np.kron(cfg16 > 0, np.ones((16, 16), bool))
        check(gray.shape[1] == 256 and gray.shape[0] > 256 + 15,
              f"titled picture {gray.shape[1]} x {gray.shape[0]}: a band above 256 x 256")
        check(np.array_equal(gray[-256:] > 0.5, want),
              "the spins keep exact pixels under the title (packed data unpacked)")
        band = gray[:-256]
        check(band.min() < 0.5, "the title is drawn (dark pixels in the band)")
    code, so, se = run([PYTHON, SHOW, "small.h5", "--list"])
    check(code == 0 and "/dream/L64/configs" in so and "/mc/L16/configs" in so,
          "show_config.py --list names the configuration datasets")


def test_bad_input(work):
    with h5py.File("other.h5", "w") as f:
        f["x"] = np.arange(3)
    Path("text.h5").write_text("not hdf5\n")
    os.makedirs("adir", exist_ok=True)
    cases = [
        ("report.py: missing file", [REPORT, "missing.h5", "-o", "r"], "missing.h5"),
        ("report.py: HDF5 file that is not an invrg file", [REPORT, "other.h5", "-o", "r"],
         "not an invrg run file"),
        ("report.py: not an HDF5 file", [REPORT, "text.h5", "-o", "r"], "not an HDF5 file"),
        ("report.py: a directory as run file", [REPORT, "adir", "-o", "r"], "directory"),
        ("report.py: output is a file", [REPORT, "small.h5", "-o", "small.h5"],
         "not a directory"),
        ("report.py: no arguments", [REPORT], "required"),
        ("report.py: unknown option", [REPORT, "small.h5", "--bogus"], "unrecognized"),
        ("report.py: unknown format", [REPORT, "small.h5", "--format", "jpg", "-o", "r"],
         "invalid choice"),
        ("show_config.py: missing dataset", [SHOW, "small.h5", "/dream/L8/configs", "-o",
                                             "x.png"], "no dataset /dream/L8/configs"),
        ("show_config.py: index out of range", [SHOW, "small.h5", "/dream/L64/configs", "6",
                                                "-o", "x.png"], "out of range"),
        ("show_config.py: index not an integer", [SHOW, "small.h5", "/dream/L64/configs",
                                                  "two", "-o", "x.png"], "integer"),
        ("show_config.py: not a configuration dataset", [SHOW, "small.h5", "/mc/L16/series",
                                                         "-o", "x.png"],
         "not a configuration dataset"),
        ("show_config.py: not an invrg file", [SHOW, "other.h5", "/x", "-o", "x.png"],
         "not an invrg run file"),
        ("show_config.py: missing file", [SHOW, "missing.h5", "/x", "-o", "x.png"],
         "no such file"),
        ("show_config.py: output directory missing", [SHOW, "small.h5", "/dream/L64/configs",
                                                      "-o", "nodir/x.png"], "does not exist"),
        ("show_config.py: bad --scale", [SHOW, "small.h5", "/dream/L64/configs", "--scale",
                                         "0"], "--scale"),
    ]
    for what, args, needle in cases:
        code, so, se = run([PYTHON] + args)
        check(code == 2 and needle in se and "Traceback" not in se + so and
              se.count("\n") <= 3,
              f"{what}: exit {code}, '{se.strip().splitlines()[-1] if se.strip() else ''}'")
    check(not os.path.exists("r") and not os.path.exists("x.png"),
          "nothing written after bad input")


TITLE = r"x_{1} $\frac{1}$ <b>&amp;"  # as mathematics, matplotlib would refuse it


def test_edge_cases(work):
    """What a sweep of the tools found (2026-12-07), each against the code before it."""
    # The exact torus at couplings invrg accepts up to 1e50: the ground states alone from 93.
    for K in (200.0, 1e10):
        ex = invrg_io.exact_torus(8, K)
        check(ex["energy"] == -2.0 and ex["specific_heat"] == 0.0,
              f"exact_torus(8, {K:g}): E/N = {ex['energy']}, C/N = {ex['specific_heat']} "
              "(it overflowed before)")
    below = invrg_io.exact_torus(8, 92.99)
    check(abs(below["energy"] + 2) < 1e-12 and abs(below["specific_heat"]) < 1e-12,
          f"exact_torus(8, 92.99) meets the ground state ({below['energy']})")
    try:
        invrg_io.exact_torus(8, 0.0)
        check(False, "exact_torus(8, 0) refused")
    except ValueError as e:
        check("K > 0" in str(e), f"exact_torus(8, 0) refused: {e}")
    # Variants of small.h5: a saved level that is not a measured size, a dream of its own
    # parameters, a title with dollars.
    shutil.copy("small.h5", "variant.h5")
    with h5py.File("variant.h5", "r+") as f:
        f.create_group("dream/L2").create_dataset("configs", data=np.ones((1, 2, 2), np.int8))
        f["config/dream"].attrs["model"] = "sym3"
        f["config/dream"].attrs["params"] = np.array([0.3, 0.3, 0.3])
        f["run"].attrs["title"] = TITLE
    with invrg_io.open_run("variant.h5") as rf:
        sizes = list(rf.summaries("dream"))
        check(2 not in sizes and 16 in sizes,
              f"summaries: a size group without a summary is left out ({sizes})")
        m, kept = rf.model(), rf.kept_model()
        check(m["origin"] == "&dream params" and list(m["params"]) == [0.3, 0.3, 0.3] and
              kept["origin"] == "/model" and len(kept["params"]) == 3 and
              list(kept["params"]) != [0.3, 0.3, 0.3],
              f"model(): the dream's own parameters ({m['params']}), kept_model() /model's")
        same = np.array_equal(rf.table("/dream"), rf.table("dream"))
        check(same, "table('/dream') is table('dream')")
    text = invrg_io.wall_time_text({"walltime_s": 1.0, "walltime_total_s": 3.5, "restarts": 2})
    check(text == "3.5 s in 3 runs (the last 1.0 s)", f"wall time of a continued run: {text}")
    code, so, se = run([PYTHON, REPORT, "variant.h5", "-o", "rep_dollar"])
    page = (work / "rep_dollar" / "index.html").read_text() if code == 0 else ""
    check(code == 0 and html.escape(TITLE) in page and "Traceback" not in se,
          f"a title with '$' is text, in the figures and the page (exit {code})")
    # Two runs of the same title and file name (the same file twice): distinct labels.
    runs = report.open_runs(["small.h5", "small.h5"])
    labels = [r.label for r in runs]
    for r in runs:
        r.rf.close()
    check(len(set(labels)) == 2, f"the same file twice: distinct labels {labels}")
    # A report that cannot be written: exit 1, named as writing (not as reading the runs).
    os.makedirs("rep_blocked/fss_E.png", exist_ok=True)
    code, so, se = run([PYTHON, REPORT, "small.h5", "-o", "rep_blocked"])
    check(code == 1 and "writing the report" in se and "Traceback" not in se,
          f"an unwritable figure: exit {code}, '{se.strip()}'")
    # SVG figures are the same bytes for the same data.
    outs = []
    for k in range(2):
        code, so, se = run([PYTHON, REPORT, "small.h5", "-o", f"rep_svg{k}", "--format", "svg"])
        outs.append({p.name: p.read_bytes() for p in (work / f"rep_svg{k}").glob("*.svg")})
    check(outs[0] and outs[0] == outs[1], f"SVG twice: {len(outs[0])} identical files")
    # A run of stage analyze alone: its /analyze/mc drawn as that source's series.
    Path("an.nml").write_text("&run stages = 'analyze', output = 'an.h5', log_level = 'warn' /\n"
                              "&analyze data = 'small.h5', sources = 'mc', mcrg_levels = 2, "
                              "jackknife_blocks = 10, correlations = .false. /\n")
    code, so, se = run([MPIEXEC, "-n", "2", INVRG, "an.nml"])
    if check(code == 0, f"invrg analyses small.h5 alone (exit {code})"):
        runs = report.open_runs(["an.h5"])
        try:
            series = report.build_series(runs)
            labels = [x.label for x in series]
            check(len(series) == 1 and series[0].kind == "mc" and 16 in series[0].summaries
                  and "analysis of Monte Carlo in small.h5" in labels[0],
                  f"an analyze-only run is drawn: {labels}")
        finally:
            for r in runs:
                r.rf.close()
    # Numbers: an error that rounds up to the next decade loses its extra digit.
    check(report.fmt_pm(509.43, 9.97) == "509 ± 10" and report.fmt_pm(3.0, 0.0996) == "3.00 ± 0.10"
          and report.fmt_pm(1.099, 0.0046) == "1.0990 ± 0.0046",
          f"fmt_pm: {report.fmt_pm(509.43, 9.97)}, {report.fmt_pm(3.0, 0.0996)}")
    # MCRG groups in size order (blocked_L4 before blocked_L16), not in string order.
    names = sorted(["blocked_L16", "blocked_L4", "blocked_L64"], key=invrg_io.natural_key)
    check(names == ["blocked_L4", "blocked_L16", "blocked_L64"], f"natural order: {names}")
    # Monte Carlo off K_c is drawn with the exact torus at its own coupling.
    shutil.copy("packed.h5", "offcrit.h5")
    with h5py.File("offcrit.h5", "r+") as f:
        f["mc/L16"].attrs["beta"] = 0.3
    runs = report.open_runs(["offcrit.h5"])
    try:
        series = report.build_series(runs)
        fig = report.fig_energy(series)
        labels = [t.get_text() for t in fig.legends[0].get_texts()] if fig.legends else \
            [h.get_label() for ax in fig.axes for h in ax.get_lines()]
        plt.close(fig)
    finally:
        for r in runs:
            r.rf.close()
    check(any("K = 0.3" in t for t in labels) and not any("K_c" in t for t in labels),
          f"MC at K = 0.3: the exact torus at K = 0.3 only ({labels})")
    # Twelve replicas: not ten colours that repeat; the selected one apart, the others one family.
    shutil.copy("small.h5", "replicas.h5")
    with h5py.File("replicas.h5", "r+") as f:
        g = f["train"]
        epochs = g["train_loss"].shape[1]
        for name in ("train_loss", "val_loss"):
            if name in g:
                rows = np.asarray(g[name])
                del g[name]
                g[name] = np.vstack([rows[i % rows.shape[0]] + 0.001 * i for i in range(12)])
        g.attrs["best_replica"] = 5
    runs = report.open_runs(["replicas.h5", "small.h5"])
    try:
        fig = report.fig_train(runs)
        texts = [t.get_text() for ax in fig.axes if ax.get_legend() is not None
                 for t in ax.get_legend().get_texts()]
        many = [ax for ax in fig.axes if any(len(ln.get_xdata()) == epochs and
                                             ln.get_color() == "tab:red" for ln in ax.get_lines())]
        plt.close(fig)
    finally:
        for r in runs:
            r.rf.close()
    check("replica 5 (selected)" in texts and "replicas 0–11 (the others)" in texts and
          not any(t == "replica 7" for t in texts) and "replica 1" in texts and len(many) == 1,
          f"12 replicas: the selected one in red, the rest one legend entry; 2 replicas as "
          f"before ({texts})")
    # Saved Monte Carlo of two runs: the bottom row names the run it shows.
    runs = report.open_runs(["small.h5", "packed.h5"])
    try:
        figs = list(report.fig_configs(runs, 3))
        ylabels = [ax.get_ylabel() for _, fig, _ in figs if fig is not None for ax in fig.axes]
        for _, fig, _ in figs:
            plt.close(fig)
    finally:
        for r in runs:
            r.rf.close()
    bottom = [y for y in ylabels if "samples apart" in y]
    check(len(bottom) == 1 and bottom[0].split("\n")[0] in [r.label for r in runs],
          f"the MC figure of two runs names the run of its bottom row ({bottom})")
    # All MCRG eigenvalues NaN (a dream of one sample): no empty figure, a note that says why.
    shutil.copy("small.h5", "nanmcrg.h5")
    with h5py.File("nanmcrg.h5", "r+") as f:
        def blank(name, obj):
            for k in ("lambda_t", "lambda_h"):
                if isinstance(obj, h5py.Group) and k in obj.attrs:
                    obj.attrs[k] = float("nan")
        f["mcrg"].visititems(blank)
    code, so, se = run([PYTHON, REPORT, "nanmcrg.h5", "-o", "rep_nan"])
    check(code == 0 and not (work / "rep_nan" / "mcrg.png").exists() and
          "all NaN" in so, f"NaN eigenvalues: no mcrg figure, a note (exit {code})")


if __name__ == "__main__":
    sys.exit(main())
