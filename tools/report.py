#!/usr/bin/python3
"""Plots and tables from invrg run files: PNG figures and one self-contained HTML page.

    /usr/bin/python3 tools/report.py run.h5 [run2.h5 ...] [-o report/] [--title TEXT]

Figures (each written only when some run has the data for it; the page says what was skipped):
  fss_chi.png     chi/L^{7/4} and chi'/L^{7/4} against L
  fss_V4.png      V4 = <m^4>/<m^2>^2 against L, critical 1.1679229 as a line
  fss_C.png       C/N against ln L, the exact finite torus and the slope 8 K_c^2/pi = 0.49454
  fss_m.png       <|m|> L^{1/8} against L
  fss_E.png       E/N against L, the exact finite torus and -sqrt(2)
  fss_fits.png    the L_min scan of every finite-size-scaling fit of /fss, exact values
  fss_xi.png      xi_2/L against L, 0.9050488 as a line          (needs /corr)
  corr_G.png      G(r) on log-log axes, one panel per ensemble    (needs /corr)
  mcrg.png        RG eigenvalues lambda_t, lambda_h per level for up / down / blocked pairs,
                  exact lambda_t = 2 and lambda_h = 2^{15/8} = 3.66802
  configs_<n>.png saved configurations (dreamed at several sizes, Monte Carlo)
  train.png       training and validation loss of every replica
Every run's Monte Carlo and dreamed ensembles are drawn on the same axes, with a legend naming
each run (its /run title, or its file name). index.html holds every figure (embedded as data:
URIs, so the page can be moved or mailed alone) and tables of every summary (value ± error).

Exit status: 0 success, 2 bad arguments or input files (nothing is written), 1 anything else.
"""
import argparse
import base64
import datetime
import html
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter  # noqa: E402

import invrg_io  # noqa: E402

PROG = "report.py"
DPI = 120
STYLE = {
    "figure.figsize": (6.4, 4.4),
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linestyle": ":",
    "axes.titlesize": 11,
    "axes.labelsize": 10.5,
    "legend.fontsize": 8.5,
    "legend.framealpha": 0.9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "errorbar.capsize": 2.5,
    "lines.markersize": 5,
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
}
MC_COLORS = ["black", "dimgray", "saddlebrown", "darkslategray"]
DREAM_COLORS = ["tab:blue", "tab:red", "tab:green", "tab:orange", "tab:purple", "tab:cyan",
                "tab:olive", "tab:pink", "tab:brown"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h"]
PAIR_TITLES = {"up": "up pairs: (generator input, its output)",
               "down": "down pairs: (output blocked by majority rule, output)",
               "blocked": "blocked: standard MCRG (one configuration blocked n times)"}


class UserError(Exception):
    """A problem with the arguments or the input files: reported in one line, exit status 2."""


# ---------------------------------------------------------------------------- data model

class Series:
    """One ensemble drawn as one line: a run's dream, or Monte Carlo (possibly of several runs)."""

    def __init__(self, kind, label, runs, summaries, color, marker):
        self.kind = kind              # "mc" or "dream"
        self.label = label
        self.runs = runs              # the Run objects it comes from
        self.summaries = summaries    # {L: attrs}
        self.corr = {}                # {L: {"attrs", "data"}}
        self.color = color
        self.marker = marker

    @property
    def Ls(self):
        return sorted(self.summaries)

    def values(self, key, scale=None):
        """(L, value, error) arrays for one summary key, NaN where absent, optionally × scale(L)."""
        Ls = np.array(self.Ls, dtype=float)
        v = np.array([_num(self.summaries[L].get(key)) for L in self.Ls])
        e = np.array([_num(self.summaries[L].get(key + "_err")) for L in self.Ls])
        if scale is not None:
            f = scale(Ls)
            v, e = v * f, e * f
        return Ls, v, e


class Run:
    """An opened run file and what the report takes from it."""

    def __init__(self, path, rf, label):
        self.path = path
        self.rf = rf
        self.label = label


def _num(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return x


def open_runs(paths):
    runs = []
    for path in paths:
        if not os.path.exists(path):
            raise UserError(f"{path}: no such file")
        if os.path.isdir(path):
            raise UserError(f"{path}: is a directory, not a run file")
        try:
            rf = invrg_io.open_run(path)
        except invrg_io.FormatError as e:
            raise UserError(str(e)) from None
        except KeyError as e:
            raise UserError(f"{path}: not a complete invrg run file "
                            f"({e.args[0] if e.args else e})") from None
        except OSError as e:
            raise UserError(f"{path}: not an HDF5 file or not readable ({e})") from None
        runs.append(Run(path, rf, rf.label))
    # Distinct labels: append the file name where titles repeat.
    names = [r.label for r in runs]
    for r in runs:
        if names.count(r.label) > 1:
            stem = os.path.splitext(os.path.basename(r.path))[0]
            r.label = f"{r.label} [{stem}]" if stem != r.label else f"{r.label} [{r.path}]"
    return runs


def model_text(m, short=False):
    """'sym3: a = 0.546, b = 0.628, c = 1.410' or 'conv (609 parameters)'."""
    if m is None:
        return "unknown model"
    kind = str(m.get("kind", "?"))
    p = np.asarray(m.get("params", []), dtype=float)
    if kind == "sym3" and p.size == 3:
        nd = 3 if short else 5
        return f"{kind}: a={p[0]:.{nd}f}, b={p[1]:.{nd}f}, c={p[2]:.{nd}f}"
    if p.size:
        if p.size <= 10 and not short:
            return f"{kind}: " + ", ".join(f"{x:.4g}" for x in p)
        return f"{kind} ({p.size} parameters)"
    return kind


def build_series(runs):
    """Monte Carlo series (runs at the same coupling with disjoint sizes merged) and one dream
    series per run."""
    mc_groups = []    # [{"beta", "runs", "summaries"}]
    for run in runs:
        s = run.rf.summaries("mc")
        if not s:
            continue
        beta = round(_num(next(iter(s.values())).get("beta", invrg_io.KC)), 10)
        for g in mc_groups:
            if g["beta"] == beta and not set(g["summaries"]) & set(s):
                g["runs"].append(run)
                g["summaries"].update(s)
                break
        else:
            mc_groups.append({"beta": beta, "runs": [run], "summaries": dict(s)})
    series = []
    for i, g in enumerate(mc_groups):
        label = "Monte Carlo"
        if abs(g["beta"] - invrg_io.KC) > 1e-9:
            label += f" (K = {g['beta']:.6g})"
        if len(mc_groups) > 1 or len(runs) > 1:
            if len(g["runs"]) == 1:
                label += f": {g['runs'][0].label}"
            elif len(g["runs"]) <= 2:
                label += ": " + ", ".join(r.label for r in g["runs"])
            else:
                label += f" ({len(g['runs'])} runs, L = {min(g['summaries'])}–" \
                         f"{max(g['summaries'])})"
        ser = Series("mc", label, g["runs"], dict(sorted(g["summaries"].items())),
                     MC_COLORS[i % len(MC_COLORS)], MARKERS[i % len(MARKERS)])
        for run in g["runs"]:
            ser.corr.update(run.rf.correlations("mc"))
        ser.corr = dict(sorted(ser.corr.items()))
        series.append(ser)
    n_dream = sum(1 for r in runs if r.rf.summaries("dream"))
    k = 0
    for run in runs:
        s = run.rf.summaries("dream")
        if not s:
            continue
        m = run.rf.model()
        if n_dream == 1 and len(runs) == 1:
            label = f"dream ({model_text(m, short=True)})"
        else:
            label = f"{run.label}: dream ({model_text(m, short=True)})"
        ser = Series("dream", label, [run], s, DREAM_COLORS[k % len(DREAM_COLORS)],
                     MARKERS[(k + 1) % len(MARKERS)])
        ser.corr = run.rf.correlations("dream")
        series.append(ser)
        k += 1
    return series


# ------------------------------------------------------------------------- correlations

# The names read here, checked against the run file's schema (tools/runfile_schema.json) when
# this module loads: a renamed quantity fails loudly instead of being guessed.
_CORR = "/corr/<source>/L<L>"
XI2 = invrg_io.schema_name(_CORR, "attribute", "xi2")
XI2_OVER_L = invrg_io.schema_name(_CORR, "attribute", "xi2_over_L")
G_AXIS = invrg_io.schema_name(_CORR, "dataset", "G_axis")
G_DIAG = invrg_io.schema_name(_CORR, "dataset", "G_diag")
R = invrg_io.schema_name(_CORR, "dataset", "r")


def corr_xi_over_L(L, rec):
    """(ξ₂/L, error) of a /corr/<source>/L<L> record."""
    a = rec["attrs"]
    return _num(a.get(XI2_OVER_L)), _num(a.get(XI2_OVER_L + "_err"))


def corr_G(L, rec):
    """[(name, r, G, err)] curves of G(r) in a /corr record: along an axis, then the diagonal
    (G_diag(r) is G at (r, r), i.e. at distance r√2)."""
    d = rec["data"]
    curves = []
    for name, scale in ((G_AXIS, 1.0), (G_DIAG, math.sqrt(2.0))):
        if name not in d:
            continue
        arr = np.asarray(d[name], dtype=float)
        err = np.asarray(d[name + "_err"], dtype=float) if name + "_err" in d else None
        r = np.asarray(d[R], dtype=float) * scale
        curves.append((name, r, arr, err))
    return curves


# ------------------------------------------------------------------------------ helpers

def fmt_pm(v, e, sig=2):
    """'1.0990 ± 0.0046': the error to @p sig significant digits, the value to match."""
    v, e = _num(v), _num(e)
    if not math.isfinite(v):
        return "—"
    if not math.isfinite(e) or e <= 0:
        return f"{v:.6g}"
    digits = max(0, sig - 1 - int(math.floor(math.log10(e))))
    if digits > 10:
        return f"{v:.4e} ± {e:.2e}"
    return f"{v:.{digits}f} ± {e:.{digits}f}"


def fmt_num(v, nd=6):
    v = _num(v)
    if not math.isfinite(v):
        return "—"
    return f"{v:.{nd}g}"


def dodge(series_list, Ls_all):
    """Horizontal offsets (factors on L) that keep error bars of several series apart."""
    n = len(series_list)
    if n <= 1:
        return [1.0] * n
    width = 0.035 * min(1.0, 4.0 / n)
    return [2.0 ** (width * (i - (n - 1) / 2)) for i in range(n)]


def log2_axis(ax, Ls):
    """x axis in L with log base 2 and the measured sizes as ticks."""
    ax.set_xscale("log", base=2)
    Ls = sorted(set(int(L) for L in Ls))
    ax.xaxis.set_major_locator(FixedLocator(Ls))
    ax.xaxis.set_minor_locator(NullLocator())
    fmt = ScalarFormatter()
    fmt.set_scientific(False)
    ax.xaxis.set_major_formatter(fmt)
    if Ls:
        ax.set_xlim(Ls[0] / 2 ** 0.35, Ls[-1] * 2 ** 0.35)


def errorbar(ax, x, y, e, ser, **kw):
    ok = np.isfinite(y)
    if not ok.any():
        return None
    ee = np.where(np.isfinite(e), e, 0.0)
    style = dict(color=ser.color, marker=ser.marker, label=ser.label, capsize=2.5,
                 elinewidth=1.0, markersize=5, lw=1.2,
                 ls="-" if ser.kind == "dream" else "--")
    if ser.kind == "mc":
        style.update(mfc="white", mew=1.3)
    style.update(kw)
    return ax.errorbar(x[ok], y[ok], yerr=ee[ok], **style)


def _ordered_handles(ax):
    handles, labels = ax.get_legend_handles_labels()
    ref = [i for i, lab in enumerate(labels) if lab.startswith(("exact", "critical", "slope",
                                                                  "$L", "$r"))]
    order = [i for i in range(len(labels)) if i not in ref] + ref
    return [handles[i] for i in order], [labels[i] for i in order]


def figure_legend(fig, axes):
    """One legend for several panels, below them (labels of all panels, without repeats)."""
    seen, hs, ls = set(), [], []
    for ax in axes:
        for h, lab in zip(*_ordered_handles(ax)):
            if lab not in seen:
                seen.add(lab)
                hs.append(h)
                ls.append(lab)
    ncol = min(len(ls), 3 if max(len(x) for x in ls) < 45 else 2)
    nrow = math.ceil(len(ls) / ncol)
    w, h = fig.get_size_inches()
    extra = 0.24 * nrow + 0.15
    fig.set_size_inches(w, h + extra)
    fig.legend(hs, ls, loc="lower center", ncol=ncol, frameon=True)
    fig.tight_layout(rect=(0, extra / (h + extra), 1, 1))


def legend(ax, loc="best", below=None, offset=-0.16, **kw):
    """Legend with the data first and the reference lines after; below the axes when long."""
    handles, labels = _ordered_handles(ax)
    if not handles:
        return
    if below is None:
        below = len(labels) > 4
    if below:
        # Below the axes; the figure grows by the legend's height so the axes keep theirs.
        ncol = 2 if len(labels) > 3 and max(len(x) for x in labels) < 38 else 1
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, offset),
                  ncol=ncol, **kw)
        fig = ax.figure
        grow = 0.19 * math.ceil(len(labels) / ncol) + 0.2
        if grow > getattr(fig, "_invrg_grown", 0.0):
            w, h = fig.get_size_inches()
            fig.set_size_inches(w, h + grow - getattr(fig, "_invrg_grown", 0.0))
            fig._invrg_grown = grow
    else:
        ax.legend(handles, labels, loc=loc, **kw)


def save(fig, outdir, name):
    path = os.path.join(outdir, name)
    fig.savefig(path)
    plt.close(fig)
    return name


# ------------------------------------------------------------------------------ figures

def fig_scaled(series, outdir, name, key, scale, ylabel, title, exact=None, exact_label=None,
               extra_panels=None, legend_loc="best"):
    """One observable (optionally several panels) against L on log2 axes."""
    panels = [(key, scale, ylabel, title, exact, exact_label)] + (extra_panels or [])
    have = [s for s in series if any(np.isfinite(s.values(p[0])[1]).any() for p in panels)]
    if not have:
        return None
    Ls_all = sorted({L for s in have for L in s.Ls})
    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels) ** 0.85, 4.4),
                             squeeze=False)
    offs = dodge(have, Ls_all)
    for ax, (k, sc, yl, tt, ex, exl) in zip(axes[0], panels):
        for s, off in zip(have, offs):
            L, v, e = s.values(k, sc)
            errorbar(ax, L * off, v, e, s)
        if ex is not None:
            ax.axhline(ex, color="0.25", lw=1.1, ls="-.", zorder=0, label=exl)
        log2_axis(ax, Ls_all)
        ax.set_xlabel("linear size L")
        ax.set_ylabel(yl)
        ax.set_title(tt)
        if len(panels) == 1:
            legend(ax, loc=legend_loc)
    if len(panels) == 1:
        fig.tight_layout()
    else:
        figure_legend(fig, axes[0])
    return save(fig, outdir, name)


def exact_curve(Ls, key):
    """Exact torus values at K_c for integer sizes between min(Ls) and max(Ls), log-spaced."""
    lo, hi = max(2, int(min(Ls))), int(max(Ls))
    grid = sorted(set(np.unique(np.round(np.geomspace(lo, hi, 48)).astype(int)).tolist())
                  | set(int(L) for L in Ls))
    return np.array(grid, float), np.array([invrg_io.exact_torus(L)[key] for L in grid])


def fig_specific_heat(series, outdir):
    have = [s for s in series if np.isfinite(s.values("specific_heat")[1]).any()]
    if not have:
        return None
    Ls_all = sorted({L for s in have for L in s.Ls})
    fig, ax = plt.subplots()
    offs = dodge(have, Ls_all)
    for s, off in zip(have, offs):
        L, v, e = s.values("specific_heat")
        errorbar(ax, np.log(L * off), v, e, s)
    # Exact finite torus (Kaufman) and the asymptotic slope through its largest size.
    gx, gy = exact_curve(Ls_all, "specific_heat")
    ax.plot(np.log(gx), gy, color="0.25", lw=1.1, ls="-.", zorder=0,
            label="exact, L×L torus at $K_c$ (Kaufman)")
    # The asymptotic slope as a guide: parallel to the exact curve, shifted down so both show.
    x = np.log(np.array([Ls_all[0] / 1.2, Ls_all[-1] * 1.2]))
    ylo, yhi = ax.get_ylim()
    b = gy[-1] - invrg_io.C_LOG_SLOPE * np.log(gx[-1]) - 0.08 * (yhi - ylo)
    ax.plot(x, invrg_io.C_LOG_SLOPE * x + b, color="0.45", lw=1.2, ls=":", zorder=0,
            label=r"slope $8K_c^2/\pi$ = %.5f (guide)" % invrg_io.C_LOG_SLOPE)
    ax.set_xticks(np.log(Ls_all))
    ax.set_xticklabels([f"ln {L}" for L in Ls_all])
    ax.set_xlim(np.log(Ls_all[0]) - 0.25, np.log(Ls_all[-1]) + 0.25)
    ax.set_xlabel("ln L")
    ax.set_ylabel(r"specific heat per spin $C/N = K^2 N\,\mathrm{var}(e)$")
    ax.set_title("Specific heat: $C/N \\simeq (8K_c^2/\\pi)\\,\\ln L$ + const at criticality")
    legend(ax, loc="upper left")
    fig.tight_layout()
    return save(fig, outdir, "fss_C.png")


def fig_energy(series, outdir):
    have = [s for s in series if np.isfinite(s.values("energy")[1]).any()]
    if not have:
        return None
    Ls_all = sorted({L for s in have for L in s.Ls})
    fig, ax = plt.subplots()
    for s, off in zip(have, dodge(have, Ls_all)):
        L, v, e = s.values("energy")
        errorbar(ax, L * off, v, e, s)
    gx, gy = exact_curve(Ls_all, "energy")
    ax.plot(gx, gy, color="0.25", lw=1.1, ls="-.", zorder=0,
            label="exact, L×L torus at $K_c$ (Kaufman)")
    ax.axhline(invrg_io.ENERGY_INFINITE, color="0.55", lw=1.0, ls=":", zorder=0,
               label=r"$L\to\infty$: $-\sqrt{2}$")
    log2_axis(ax, Ls_all)
    ax.set_xlabel("linear size L")
    ax.set_ylabel(r"energy per spin $E/N$")
    ax.set_title("Energy per spin (J = 1)")
    legend(ax)
    fig.tight_layout()
    return save(fig, outdir, "fss_E.png")


def fig_xi(series, outdir):
    pts = []
    for s in series:
        if not s.corr:
            continue
        Ls = sorted(s.corr)
        v, e = zip(*(corr_xi_over_L(L, s.corr[L]) for L in Ls))
        v, e = np.array(v), np.array(e)
        if np.isfinite(v).any():
            pts.append((s, np.array(Ls, float), v, e))
    if not pts:
        return None
    Ls_all = sorted({int(L) for _, Ls, _, _ in pts for L in Ls})
    fig, ax = plt.subplots()
    for (s, Ls, v, e), off in zip(pts, dodge(pts, Ls_all)):
        errorbar(ax, Ls * off, v, e, s)
    ax.axhline(invrg_io.XI2_OVER_L_CRITICAL, color="0.25", lw=1.1, ls="-.", zorder=0,
               label=r"critical, $L\to\infty$: %.7f" % invrg_io.XI2_OVER_L_CRITICAL)
    log2_axis(ax, Ls_all)
    ax.set_xlabel("linear size L")
    ax.set_ylabel(r"$\xi_2/L$ (second-moment correlation length)")
    ax.set_title(r"$\xi_2/L = \sqrt{S(0)/S(k_{min})-1}\,/\,(2L\sin(\pi/L))$")
    legend(ax)
    fig.tight_layout()
    return save(fig, outdir, "fss_xi.png")


def _log_axes_plain(ax):
    """Log-log axes with plain numbers (1, 2, 5, 10 … and 0.3, 0.4 …) as tick labels."""
    from matplotlib.ticker import LogLocator, FuncFormatter
    fmt = FuncFormatter(lambda v, _: f"{v:g}")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(fmt)
        axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
    lo, hi = ax.get_ylim()
    if hi / lo < 20:   # less than ~1 decade: label more ticks
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=np.arange(1, 10) / 1.0))


def _plot_G(ax, r, G, err, L, color, label, diag=False):
    sel = (r >= 1) & (r <= L / 2 + 1e-9) & np.isfinite(G) & (G > 0)
    if not sel.any():
        return 0.0
    if diag:
        ax.plot(r[sel], G[sel], color=color, lw=1.0, ls=":", marker="x", ms=3)
    else:
        ax.plot(r[sel], G[sel], color=color, lw=1.3, marker="o", ms=3, label=label)
        if err is not None:
            e = np.where(np.isfinite(err[sel]), err[sel], 0.0)
            lo = np.maximum(G[sel] - e, G[sel] * 1e-3)
            ax.fill_between(r[sel], lo, G[sel] + e, color=color, alpha=0.2, lw=0)
    return float(r[sel].max())


def _guide_quarter(ax, r0, g0, rmax):
    rr = np.geomspace(1, max(rmax, 2.0), 20)
    ax.plot(rr, g0 * (rr / r0) ** -0.25, color="0.35", ls="-.", lw=1.0,
            label=r"$r^{-1/4}$ ($\eta = 1/4$)")


def fig_G(series, outdir):
    """G(r) per ensemble (colour = L) and, when several ensembles share a size, all of them at
    the largest shared size on one panel."""
    have = [s for s in series if s.corr and any(corr_G(L, r) for L, r in s.corr.items())]
    if not have:
        return None
    counts = {}
    for s in have:
        for L, rec in s.corr.items():
            if corr_G(L, rec):
                counts[L] = counts.get(L, 0) + 1
    shared = max((L for L, c in counts.items() if c >= 2), default=None)
    n = len(have) + (shared is not None)
    ncol = min(n, 2)
    nrow = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.2 * ncol, 4.6 * nrow), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    cmap = plt.get_cmap("viridis")
    for ax, s in zip(axes.flat, have):
        Ls = [L for L in sorted(s.corr) if corr_G(L, s.corr[L])]
        rmax = 1.0
        for i, L in enumerate(Ls):
            col = cmap(0.05 + 0.8 * i / max(1, len(Ls) - 1))
            curves = corr_G(L, s.corr[L])
            rmax = max(rmax, _plot_G(ax, *curves[0][1:], L, col, f"L = {L}"))
            if len(curves) > 1:
                _plot_G(ax, *curves[1][1:], L, col, None, diag=True)
        _, r, G, _ = corr_G(Ls[-1], s.corr[Ls[-1]])[0]
        ok = (r >= 1) & (G > 0)
        if ok.any():
            _guide_quarter(ax, r[ok][0], G[ok][0], rmax)
        ax.set_xscale("log")
        ax.set_yscale("log")
        _log_axes_plain(ax)
        ax.set_xlabel("distance r (lattice spacings)")
        ax.set_ylabel(r"$G(r) = \langle s_0 s_r\rangle$")
        ax.set_title(s.label, fontsize=9.5)
        legend(ax, loc="lower left", below=False, fontsize=7.5, ncol=2)
    if shared is not None:
        ax = axes.flat[len(have)]
        rmax = 1.0
        for s in have:
            if shared in s.corr and corr_G(shared, s.corr[shared]):
                _, r, G, err = corr_G(shared, s.corr[shared])[0]
                rmax = max(rmax, _plot_G(ax, r, G, err, shared, s.color, s.label))
        ax.set_xscale("log")
        ax.set_yscale("log")
        _log_axes_plain(ax)
        ax.set_xlabel("distance r (lattice spacings)")
        ax.set_ylabel(r"$G(r) = \langle s_0 s_r\rangle$")
        ax.set_title(f"all ensembles at L = {shared} (along an axis)", fontsize=9.5)
        legend(ax, loc="lower left", below=False, fontsize=7.5)
    fig.suptitle("Spin–spin correlation along an axis (dots, ±1σ shaded) and the diagonal "
                 "(×, dotted), r ≤ L/2", fontsize=10.5)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_size_inches()[1]))
    return save(fig, outdir, "corr_G.png")


MCRG_MIN_L_COARSE = 4   # smaller coarse lattices give meaningless T matrices: not plotted


def mcrg_lines(runs, series):
    """[(label, color, marker, pairs, set, records)] of every MCRG series in the runs."""
    color_of = {}
    for s in series:
        if s.kind == "dream":
            for r in s.runs:
                color_of[(id(r), "dream")] = s.color
    mc_runs = [r for r in runs if any(x["source"] == "mc" for x in r.rf.mcrg())]
    cmap = plt.get_cmap("copper")
    for i, r in enumerate(mc_runs):
        color_of[(id(r), "mc")] = "black" if len(mc_runs) == 1 else \
            cmap(0.85 * i / max(1, len(mc_runs) - 1))
    out = []
    for run in runs:
        recs = run.rf.mcrg()
        keys = sorted({(r["source"], r["pairs"], r["set"]) for r in recs})
        sets = sorted({k[2] for k in keys}, key=lambda x: (x != "swendsen", x))
        for src, pairs, oset in keys:
            rr = [r for r in recs if (r["source"], r["pairs"], r["set"]) == (src, pairs, oset)]
            rr.sort(key=lambda r: r["level"])
            name = "Monte Carlo" if src == "mc" else "dream" if src == "dream" else src
            if src == "mc":
                Lf = sorted({r["L_fine"] for r in rr if r["level"] == 1 and r["L_fine"]})
                if Lf:
                    name += f" L={Lf[0]}"
            if len(runs) == 1 or (src == "mc" and name.lower() in run.label.lower()):
                lab = name if len(runs) == 1 else run.label
            else:
                lab = f"{run.label}: {name}"
            if len(sets) > 1:
                lab += f" [{oset}]"
            color = color_of.get((id(run), src), "tab:gray")
            out.append((lab, color, pairs, oset, rr))
    return out


def fig_mcrg(runs, series, outdir):
    lines = mcrg_lines(runs, series)
    if not lines:
        return None
    order = ["up", "down", "blocked"]
    pairs = [p for p in order if any(ln[2] == p for ln in lines)]
    pairs += sorted({ln[2] for ln in lines} - set(order))
    fig, axes = plt.subplots(len(pairs), 2, figsize=(12.5, 3.9 * len(pairs) + 0.5),
                             squeeze=False, sharey="col")
    sets = sorted({ln[3] for ln in lines}, key=lambda x: (x != "swendsen", x))
    for row, p in zip(axes, pairs):
        mine = [ln for ln in lines if ln[2] == p]
        ticks = {}
        for ln in mine:
            for r in ln[4]:
                if (r["L_coarse"] or 0) >= MCRG_MIN_L_COARSE:
                    ticks.setdefault(r["level"], set()).add((r["L_fine"], r["L_coarse"]))
        levels = sorted(ticks)
        n = len(mine)
        for col, (key, exact, sym) in enumerate((("lambda_t", invrg_io.LAMBDA_T, r"\lambda_t"),
                                                 ("lambda_h", invrg_io.LAMBDA_H, r"\lambda_h"))):
            ax = row[col]
            for i, (lab, color, _, oset, rr) in enumerate(mine):
                rr = [r for r in rr if (r["L_coarse"] or 0) >= MCRG_MIN_L_COARSE]
                x = np.array([r["level"] for r in rr], float) + 0.07 * (i - (n - 1) / 2)
                v = np.array([_num(r.get(key)) for r in rr])
                e = np.array([_num(r.get(key + "_err")) for r in rr])
                ok = np.isfinite(v)
                if not ok.any():
                    continue
                primary = oset == sets[0]
                ax.errorbar(x[ok], v[ok], yerr=np.where(np.isfinite(e[ok]), e[ok], 0),
                            color=color, marker="o" if primary else "s",
                            ls="-" if primary else "--", lw=1.1, ms=4.5, capsize=2.5,
                            mfc=color if primary else "white", label=lab)
            ax.axhline(exact, color="0.25", lw=1.1, ls="-.", zorder=0,
                       label=f"exact ${sym}$ = {exact:.6g}")
            ax.set_xticks(levels)
            # Tick labels: level and the sizes of the pair (fine → coarse), when unique.
            ax.set_xticklabels([f"{lv}\n" + (f"{min(ticks[lv])[0]}→{min(ticks[lv])[1]}"
                                             if len(ticks[lv]) == 1 else "")
                                for lv in levels], fontsize=8.5)
            if levels:
                ax.set_xlim(levels[0] - 0.5, levels[-1] + 0.5)
            if p in ("up", "down"):
                ax.set_xlabel("level n   (pair of sizes: fine L → coarse L)")
            else:
                ax.set_xlabel("blocking level n   (fine L → coarse L)")
            ax.set_ylabel(f"${sym}$")
            ax.set_title(("thermal" if col == 0 else "magnetic") + " eigenvalue — "
                         + PAIR_TITLES.get(p, p), fontsize=9.5)
            legend(ax, fontsize=7.5, below=len(mine) > 4, offset=-0.25)
    fig.suptitle(r"MCRG eigenvalues of the linearised RG (b = 2): exact $\lambda_t = 2$, "
                 r"$\lambda_h = 2^{15/8} = 3.66802$", fontsize=11.5)
    fig.tight_layout()
    return save(fig, outdir, "mcrg.png")


def display_array(cfg, max_px=1024):
    """A configuration for display: ±1 as is, or box-averaged to at most max_px (gray)."""
    L = cfg.shape[0]
    if L <= max_px:
        return cfg.astype(float), 1
    k = int(math.ceil(L / max_px))
    while L % k:
        k += 1
    a = cfg.astype(np.float32).reshape(L // k, k, L // k, k).mean(axis=(1, 3))
    return a, k


def _config_figure(outdir, name, title, rows):
    """rows: [(row label, [(run, dataset, index, caption prefix)])] → one PNG."""
    ncol = max(len(cells) for _, cells in rows)
    fig, axes = plt.subplots(len(rows), ncol, squeeze=False,
                             figsize=(2.5 * max(ncol, 2) + 0.4, 2.85 * len(rows) + 0.5))
    for ax in axes.flat:
        ax.set_axis_off()
    for (rlabel, cells), arow in zip(rows, axes):
        for j, ((run, d, i, prefix), ax) in enumerate(zip(cells, arow)):
            cfg = run.rf.read_configs(d["path"], i)
            img, k = display_array(cfg)
            ax.imshow(img, cmap="gray", vmin=-1, vmax=1, interpolation="nearest")
            ax.set_axis_on()
            ax.set_xticks([])
            ax.set_yticks([])
            note = f"\n(shown {k}×{k}-averaged)" if k > 1 else ""
            ax.set_title(f"{prefix}L = {d['L']}, #{i}, m = {float(cfg.mean()):+.3f}{note}",
                         fontsize=8.5)
            if j == 0:
                ax.set_ylabel(rlabel, fontsize=9, fontweight="bold")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return save(fig, outdir, name)


def fig_configs(runs, outdir, max_samples):
    """Per dreaming run: the same sample at every saved size (its lineage: each size refines the
    previous one) and more samples at the largest size. One figure for every saved Monte Carlo
    ensemble of all runs."""
    written = []
    mc_cells = []
    for run in runs:
        dsets = run.rf.config_datasets()
        dream = sorted((d for d in dsets if d["path"].startswith("/dream/")),
                       key=lambda d: d["L"])
        mc_cells += [(run, d) for d in dsets if d["path"].startswith("/mc/")]
        if not dream:
            continue
        dream = dream[-6:]
        rows = []
        if len(dream) > 1:
            rows.append(("sample #0, every saved size", [(run, d, 0, "") for d in dream]))
        big = dream[-1]
        k = min(max_samples, big["n"])
        rows.append((f"samples at L = {big['L']}", [(run, big, i, "") for i in range(k)]))
        name = f"configs_{len(written) + 1}.png"
        _config_figure(outdir, name, f"{run.label}: dreamed configurations "
                       f"(white = +1, black = −1)", rows)
        what = f"dreamed configurations of {run.label}"
        if len(dream) > 1:
            what += ("; top row: one dream sample at every saved size (each size is generated "
                     "from the one before, so the large-scale structure is kept and refined)")
        written.append((what, name))
    if mc_cells:
        mc_cells.sort(key=lambda c: c[1]["L"])
        multi = len({id(r) for r, _ in mc_cells}) > 1 and \
            len({d["L"] for _, d in mc_cells}) < len(mc_cells)
        rows = []
        if len(mc_cells) > 1:
            rows.append(("last sample, every size",
                         [(r, d, d["n"] - 1, f"{r.label}\n" if multi else "")
                          for r, d in mc_cells[-6:]]))
        r_big, big = mc_cells[-1]
        k = min(max_samples, big["n"])
        step = max(1, big["n"] // k)
        rows.append((f"L = {big['L']}, {step} samples apart",
                     [(r_big, big, i * step, "") for i in range(k)]))
        name = f"configs_{len(written) + 1}.png"
        _config_figure(outdir, name, "Monte Carlo configurations (white = +1, black = −1)", rows)
        written.append(("saved Monte Carlo configurations", name))
    return written


def fig_train(runs, outdir):
    have = [(r, r.rf.train()) for r in runs]
    have = [(r, t) for r, t in have if t is not None and "train_loss" in t]
    if not have:
        return None
    fig, axes = plt.subplots(1, len(have), figsize=(6.4 * len(have) ** 0.85, 4.2), squeeze=False)
    for ax, (run, t) in zip(axes[0], have):
        tl, vl = np.atleast_2d(t["train_loss"]), np.atleast_2d(t.get("val_loss", np.zeros((0, 0))))
        cmap = plt.get_cmap("tab10")
        for i in range(tl.shape[0]):
            ep = np.arange(1, tl.shape[1] + 1)
            ax.plot(ep, tl[i], color=cmap(i % 10), lw=1.2, label=f"replica {i}: train")
            if vl.size and i < vl.shape[0]:
                ax.plot(ep, vl[i], color=cmap(i % 10), lw=1.2, ls="--", label=f"replica {i}: validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel("binary cross-entropy (nats per spin)")
        lo = np.nanmin(np.concatenate([tl.ravel(), vl.ravel()]))
        hi = np.nanpercentile(np.concatenate([tl.ravel(), vl.ravel()]), 90)
        if math.isfinite(lo) and math.isfinite(hi) and hi > lo:
            ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.1 * (hi - lo))
        m = run.rf.model()
        ax.set_title(f"{run.label}: training of {t.get('model', '?')} on L = {t.get('L', '?')}"
                     f"\nselected {model_text(m, short=True)}", fontsize=9.5)
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return save(fig, outdir, "train.png")


# --------------------------------------------------------------------------------- HTML

CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1250px; color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #aaa; margin-top: 2em; }
h3 { font-size: 1.05em; margin-top: 1.4em; }
table { border-collapse: collapse; margin: .6em 0 1.2em 0; font-size: .86em; }
th, td { border: 1px solid #ccc; padding: .25em .55em; text-align: right; white-space: nowrap; }
th { background: #f0f0f0; } td.l, th.l { text-align: left; white-space: normal; }
tr:nth-child(even) td { background: #fafafa; }
figure { margin: 1em 0 2em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .9em; color: #444; max-width: 1000px; }
.note { background: #fff7e0; border-left: 4px solid #e0a800; padding: .4em .8em; margin: .5em 0; }
.small { font-size: .85em; color: #555; } code { background: #f3f3f3; padding: 0 .2em; }
.bad { color: #b00020; } .good { color: #106010; }
"""


def esc(x):
    return html.escape(str(x))


def img_tag(outdir, name, alt):
    with open(os.path.join(outdir, name), "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}" title="{esc(name)}">'


def table(header, rows, left=1):
    h = "".join(f'<th class="l">{esc(c)}</th>' if i < left else f"<th>{esc(c)}</th>"
                for i, c in enumerate(header))
    body = []
    for row in rows:
        cells = "".join(f'<td class="l">{c}</td>' if i < left else f"<td>{c}</td>"
                        for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{h}</tr>\n" + "\n".join(body) + "</table>\n"


SUMMARY_COLS = [("energy", "E/N"), ("specific_heat", "C/N"), ("abs_m", "⟨|m|⟩"),
                ("m2", "⟨m²⟩"), ("chi", "χ = N(⟨m²⟩−⟨|m|⟩²)"), ("chi_prime", "χ′ = N⟨m²⟩"),
                ("V4", "V4"), ("binder_U4", "U4")]
PAPER_COLS = [("e_paper", "e_p"), ("chi_paper", "χ_p"), ("cp_paper", "c_p"),
              ("me_paper", "me")]


def sigma_cell(dev):
    if not math.isfinite(dev):
        return "—"
    cls = "good" if abs(dev) <= 3 else "bad"
    return f'<span class="{cls}">{dev:+.1f} σ</span>'


def html_summaries(series):
    out = []
    for s in series:
        out.append(f"<h3>{esc(s.label)}</h3>")
        rows = []
        for L in s.Ls:
            a = s.summaries[L]
            rows.append([str(L), str(a.get("n_samples", "—"))]
                        + [fmt_pm(a.get(k), a.get(k + "_err")) for k, _ in SUMMARY_COLS])
        out.append(table(["L", "samples"] + [c for _, c in SUMMARY_COLS], rows, left=0))
        rows = []
        for L in s.Ls:
            a = s.summaries[L]
            rows.append([str(L)] + [fmt_pm(a.get(k), a.get(k + "_err")) for k, _ in PAPER_COLS])
        out.append('<p class="small">Paper conventions (docs/physics.md §7): e_p = 1 − E/(2N) (satisfied '
                   'bonds per site), χ_p = N(⟨m²⟩−⟨m⟩²) with signed m, c_p = N var(e_p), '
                   'me = N cov(e_p, |m|)/⟨|m|⟩.</p>')
        out.append(table(["L"] + [c for _, c in PAPER_COLS], rows, left=0))
        if s.kind == "mc":
            rows = []
            for L in s.Ls:
                a = s.summaries[L]
                ex = invrg_io.exact_torus(L, _num(a.get("beta", invrg_io.KC)))
                cells = [str(L)]
                for k in ("energy", "specific_heat"):
                    v, e = _num(a.get(k)), _num(a.get(k + "_err"))
                    x = ex[k]
                    cells += [fmt_pm(v, e), f"{x:.8f}", sigma_cell((v - x) / e if e > 0 else
                                                                   float("nan"))]
                tau = [f"{_num(a.get(o + '_tau_int')):.2f}" for o in ("energy", "abs_m", "m2")]
                cells += tau + [esc(a.get("algorithm", "—"))]
                rows.append(cells)
            out.append('<p class="small">Monte Carlo against the exact L×L torus (Kaufman 1949, '
                       'computed here by tools/invrg_io.py) and integrated autocorrelation '
                       'times τ_int (in samples).</p>')
            out.append(table(["L", "E/N", "E/N exact", "dev.", "C/N", "C/N exact", "dev.",
                              "τ_int(E)", "τ_int(|m|)", "τ_int(m²)", "algorithm"], rows, left=0))
    return "\n".join(out)


def html_deviations(series):
    """How far each dream is from critical Ising: (dream − reference)/σ per L."""
    mc = {}
    for s in series:
        if s.kind == "mc":
            for L, a in s.summaries.items():
                if abs(_num(a.get("beta", invrg_io.KC)) - invrg_io.KC) < 1e-9:
                    mc.setdefault(L, a)
    keys = [("energy", "E/N"), ("specific_heat", "C/N"), ("abs_m", "⟨|m|⟩"), ("chi", "χ"),
            ("V4", "V4")]
    out = []
    for s in series:
        if s.kind != "dream":
            continue
        rows = []
        for L in s.Ls:
            a = s.summaries[L]
            ref = mc.get(L)
            ex = invrg_io.exact_torus(L)
            cells = [str(L), "Monte Carlo" if ref else "exact torus (E, C); V4 at L→∞"]
            for k, _ in keys:
                v, e = _num(a.get(k)), _num(a.get(k + "_err"))
                if ref is not None:
                    r, re_ = _num(ref.get(k)), _num(ref.get(k + "_err"))
                elif k in ("energy", "specific_heat"):
                    r, re_ = ex[k], 0.0
                elif k == "V4":
                    r, re_ = invrg_io.V4_CRITICAL, invrg_io.V4_CRITICAL_ERR
                else:
                    r, re_ = float("nan"), float("nan")
                sig = math.sqrt(e * e + re_ * re_) if math.isfinite(re_) else float("nan")
                if math.isfinite(r) and sig > 0:
                    rel = 100 * (v - r) / abs(r)
                    cells.append(f"{rel:+.2f} % ({sigma_cell((v - r) / sig)})")
                else:
                    cells.append("—")
            rows.append(cells)
        out.append(f"<h3>{esc(s.label)}</h3>")
        out.append(table(["L", "reference"] + [c for _, c in keys], rows, left=2))
    if not out:
        return ""
    return ("<h2>How critical are the dreams?</h2>\n<p>Relative deviation of each dreamed "
            "observable from the reference at the same L, and the deviation in combined standard "
            "errors (green within 3σ). The reference is Monte Carlo at K_c of any run given to "
            "the report at that L, else the exact torus for E/N and C/N and the L→∞ critical "
            "value for V4.</p>\n" + "\n".join(out))


def html_mcrg(runs):
    out = []
    for run in runs:
        recs = run.rf.mcrg()
        if not recs:
            continue
        out.append(f"<h3>{esc(run.label)}</h3>")
        rows = []
        for r in recs:
            lt, lte = _num(r.get("lambda_t")), _num(r.get("lambda_t_err"))
            lh, lhe = _num(r.get("lambda_h")), _num(r.get("lambda_h_err"))
            tie = _num(r.get("tie_fraction"))
            rows.append([esc(r["source"]), esc(r["pairs"]), esc(r["set"]), str(r["level"]),
                         f"{r['L_fine']} → {r['L_coarse']}", str(r.get("n_samples", "—")),
                         fmt_pm(lt, lte), f"{100 * (lt / invrg_io.LAMBDA_T - 1):+.1f} %",
                         fmt_pm(r.get("y_t"), r.get("y_t_err")),
                         fmt_pm(lh, lhe), f"{100 * (lh / invrg_io.LAMBDA_H - 1):+.2f} %",
                         fmt_pm(r.get("y_h"), r.get("y_h_err")),
                         f"{tie:.4f}" if math.isfinite(tie) else "—"])
        out.append(table(["source", "pairs", "operators", "level", "L fine → coarse", "samples",
                          "λ_t", "λ_t vs 2", "y_t", "λ_h", "λ_h vs 3.66802", "y_h",
                          "ties"], rows, left=3))
    return "\n".join(out)


def html_corr(series):
    out = []
    for s in series:
        if not s.corr:
            continue
        rows = []
        for L, rec in sorted(s.corr.items()):
            v, e = corr_xi_over_L(L, rec)
            a = rec["attrs"]
            xi, xie = _num(a.get(XI2)), _num(a.get(XI2 + "_err"))
            rows.append([str(L), str(a.get("n_samples", "—")), fmt_pm(xi, xie), fmt_pm(v, e),
                         sigma_cell((v - invrg_io.XI2_OVER_L_CRITICAL) / e if e > 0
                                    else float("nan"))])
        out.append(f"<h3>{esc(s.label)}</h3>")
        out.append(table(["L", "samples", "ξ₂", "ξ₂/L", "vs 0.9050488"], rows, left=0))
    return "\n".join(out)


def _fss_rows(rec, prefix=""):
    """Generic rows (name, value ± error, exact) of an /fss group of unknown layout."""
    rows = []
    a = rec["attrs"]
    for k in sorted(a):
        if k.endswith("_err"):
            continue
        v = a[k]
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            exact = invrg_io.EXPONENTS.get(k.replace("_over_", "/").replace("one/", "1/"))
            rows.append([esc(prefix + k), fmt_pm(v, a.get(k + "_err")),
                         fmt_num(exact) if exact is not None else ""])
        else:
            rows.append([esc(prefix + k), esc(v), ""])
    for name, g in rec.get("groups", {}).items():
        rows += _fss_rows(g, prefix + name + "/")
    for name, d in rec.get("data", {}).items():
        d = np.asarray(d)
        txt = np.array2string(d, precision=5, threshold=12) if d.dtype.kind in "fiu" else str(d)
        rows.append([esc(prefix + name), f'<span class="small">{esc(txt)}</span>', ""])
    return rows


def fss_fits(rec):
    """The fits of an /fss/<source> record: {name: group record} of the groups with a result."""
    return {name: g for name, g in rec.get("groups", {}).items() if "result" in g["attrs"]}


def html_fss(runs):
    out = []
    for run in runs:
        for src, rec in run.rf.fss().items():
            fits = fss_fits(rec)
            sizes = rec["attrs"].get("sizes")
            head = f"{esc(run.label)}: fits of /fss/{esc(src)}"
            if isinstance(sizes, list) and sizes:
                head += f" (sizes {esc(', '.join(map(str, sizes)))})"
            out.append(f"<h3>{head}</h3>")
            if not fits:
                out.append(table(["quantity", "value", "exact"], _fss_rows(rec), left=1))
                continue
            rows = []
            for name, g in fits.items():
                a = g["attrs"]
                dev = _num(a.get("deviation_sigma"))
                rows.append([esc(a.get("label", name)), esc(a.get("model", "")),
                             fmt_pm(a.get("result"), a.get("result_err")),
                             fmt_num(a.get("exact")),
                             sigma_cell(dev) if math.isfinite(dev) else "—",
                             fmt_num(a.get("chi2_dof"), 3),
                             fmt_num(a.get("chi2_dof_correlated"), 3),
                             f"{a.get('L_min', '?')} – {a.get('L_max', '?')}",
                             str(a.get("n_points", "—"))])
            out.append(table(["result", "fit", "value", "exact", "deviation", "χ²/dof",
                              "χ²/dof (corr.)", "L range", "sizes"], rows, left=2))
    return "\n".join(out)


def fig_fss_fits(runs, series, outdir):
    """The L_min scan of every finite-size-scaling fit: result(L_min) ± error, exact value."""
    color_of = {(id(r), s.kind): s.color for s in series for r in s.runs}
    lines = []          # (fit name, label, model, exact, run label, source, color, x, y, e)
    for run in runs:
        for src, rec in run.rf.fss().items():
            for name, g in fss_fits(rec).items():
                a, d = g["attrs"], g["data"]
                if "scan_L_min" not in d or "scan_result" not in d:
                    continue
                x = np.asarray(d["scan_L_min"], dtype=float)
                y = np.asarray(d["scan_result"], dtype=float)
                e = np.asarray(d.get("scan_result_err", np.full_like(y, np.nan)), dtype=float)
                if not np.isfinite(y).any():
                    continue
                name_src = "Monte Carlo" if src == "mc" else src
                lab = name_src if len(runs) == 1 else f"{run.label}: {name_src}"
                lines.append((name, str(a.get("label", name)), str(a.get("model", "")),
                              _num(a.get("exact")), lab,
                              color_of.get((id(run), src), "tab:gray"), x, y, e))
    if not lines:
        return None
    names = list(dict.fromkeys(ln[0] for ln in lines))
    ncol = min(3, len(names))
    nrow = math.ceil(len(names) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.7 * nrow), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names):
        mine = [ln for ln in lines if ln[0] == name]
        Ls = sorted({int(v) for ln in mine for v in ln[6] if math.isfinite(v)})
        for i, (_, label, model, exact, lab, color, x, y, e) in enumerate(mine):
            off = 2.0 ** (0.03 * (i - (len(mine) - 1) / 2))
            ok = np.isfinite(y)
            ax.errorbar(x[ok] * off, y[ok], yerr=np.where(np.isfinite(e[ok]), e[ok], 0),
                        color=color, marker="o", ms=4, lw=1.1, capsize=2.5, label=lab)
        label, model, exact = mine[0][1], mine[0][2], mine[0][3]
        if math.isfinite(exact):
            ax.axhline(exact, color="0.25", lw=1.1, ls="-.", zorder=0,
                       label=f"exact {exact:.8g}")
        log2_axis(ax, Ls)
        ax.set_xlabel("smallest size in the fit, $L_{min}$")
        ax.set_ylabel(label)
        ax.set_title(f"{label}   ({model})", fontsize=9)
        legend(ax, fontsize=7.5, below=False)
    fig.suptitle("Finite-size-scaling fits over [L_min, L_max] against L_min (jackknife errors)",
                 fontsize=11)
    fig.tight_layout()
    return save(fig, outdir, "fss_fits.png")


def html_train(runs):
    out = []
    for run in runs:
        t = run.rf.train()
        if t is None:
            continue
        m = run.rf.model()
        names = list(m.get("param_names", [])) if m else []
        P = np.atleast_2d(np.asarray(t.get("params", np.zeros((0, 0))), dtype=float))
        npar = P.shape[1] if P.size else len(names)
        if npar > 12:
            out.append(f"<p>{esc(run.label)}: {esc(t.get('model'))} with {npar} parameters; "
                       f"selection {esc(t.get('selection'))}, best replica "
                       f"{esc(t.get('best_replica'))}.</p>")
            continue
        names = names + [f"p{i}" for i in range(len(names), npar)]
        rows = []
        for i in range(P.shape[0] if P.size else 0):
            tl = np.atleast_2d(t.get("train_loss", np.zeros((0, 0))))
            vl = np.atleast_2d(t.get("val_loss", np.zeros((0, 0))))
            last_t = f"{tl[i, -1]:.6f}" if tl.size and i < tl.shape[0] else "—"
            last_v = f"{vl[i, -1]:.6f}" if vl.size and i < vl.shape[0] else "—"
            rows.append([f"replica {i}"] + [f"{x:.5f}" for x in P[i]] + [last_t, last_v])
        mean, std = t.get("params_mean"), t.get("params_std")
        if mean is not None:
            rows.append(["mean ± std of replicas"] +
                        [fmt_pm(a, b) for a, b in zip(mean, std if std is not None else
                                                      [float("nan")] * len(mean))] + ["", ""])
        sel = t.get("selected_params")
        if sel is not None:
            rows.append([f"selected ({esc(t.get('selection', '?'))})"] +
                        [f"<b>{x:.5f}</b>" for x in sel] + ["", ""])
        out.append(f"<h3>{esc(run.label)}: {esc(t.get('model'))} trained on L = "
                   f"{esc(t.get('L'))}, {esc(t.get('n_train'))} + {esc(t.get('n_validation'))} "
                   f"configurations</h3>")
        out.append(table(["", *names, "final train loss", "final val. loss"], rows, left=1))
        if str(t.get("model")) == "sym3" and sel is not None and len(sel) == 3:
            a, b, c = sel
            out.append(f'<p class="small">Effective weights of sym3: w_P = c+2b+a = '
                       f'{c + 2 * b + a:.4f}, w_N = a+b = {a + b:.4f}, w_D = a = {a:.4f} '
                       f'(published, L_train 32, 10⁴ samples: 3.21, 1.17, 0.55).</p>')
    return "\n".join(out)


def html_runs(runs):
    rows = []
    for run in runs:
        rf = run.rf
        st = rf.run.get("stages", [])
        stages = ", ".join(st) if isinstance(st, list) else str(st)
        mc = rf.summaries("mc")
        dr = rf.summaries("dream")
        cfg_mc = rf.config.get("mc", {})
        mc_txt = "—"
        if mc:
            mc_txt = (f"L = {', '.join(map(str, mc))}, {cfg_mc.get('algorithm', '?')}, "
                      f"{cfg_mc.get('n_chains', '?')} × {cfg_mc.get('n_samples', '?')} samples")
        dr_txt = "—"
        if dr:
            Ls = list(dr)
            n = next(iter(dr.values())).get("n_samples", "?")
            dr_txt = f"L = {Ls[0]} … {Ls[-1]}, {n} samples; {model_text(rf.model())}"
        created = rf.h5.attrs.get("created_utc", "")
        created = created.decode() if isinstance(created, bytes) else str(created)
        rows.append([esc(run.label), f"<code>{esc(os.path.basename(run.path))}</code>",
                     esc(stages), esc(mc_txt), esc(dr_txt),
                     esc(f"{rf.code.get('version', '?')} ({rf.code.get('git_hash', '?')})"),
                     esc(rf.run.get("nranks", "?")),
                     f"{_num(rf.run.get('walltime_s')):.1f} s", esc(created)])
    return table(["run", "file", "stages", "Monte Carlo", "dream", "invrg (git)", "ranks",
                  "wall time", "created (UTC)"], rows, left=5)


CAPTIONS = {
    "fss_chi.png": "Susceptibility divided by the leading finite-size scaling L^{γ/ν} = L^{7/4}: "
                   "flat for critical Ising. Left: χ = N(⟨m²⟩ − ⟨|m|⟩²); right: χ′ = N⟨m²⟩.",
    "fss_V4.png": "Binder ratio V4 = ⟨m⁴⟩/⟨m²⟩², independent of L at criticality; the line is "
                  "the exact critical value 1.1679229(47) of the periodic square (Salas & Sokal).",
    "fss_C.png": "Specific heat per spin against ln L. Dash-dotted: the exact value of the finite "
                 "L×L torus at K_c; dotted: a line of the asymptotic slope 8K_c²/π = 0.49454, "
                 "drawn parallel to the exact curve as a guide.",
    "fss_m.png": "Magnetisation times L^{β/ν} = L^{1/8}: flat for critical Ising.",
    "fss_E.png": "Energy per spin; dash-dotted: exact L×L torus at K_c; dotted: −√2 (L → ∞).",
    "fss_xi.png": "Second-moment correlation length over L; at K_c it tends to 0.9050488.",
    "corr_G.png": "Spin–spin correlation G(r) along an axis (and the diagonal, when stored), "
                  "on log–log axes, shaded ± one standard error; the dash-dotted guide is the "
                  "critical decay r^{−η} = r^{−1/4} (on the torus G flattens near r = L/2). "
                  "The last panel compares the ensembles at their largest common size.",
    "mcrg.png": "Leading eigenvalues of the linearised RG transformation T = A⁻¹B (Swendsen), per "
                "level, for up pairs (generator input → output), down pairs (output → its "
                "majority blocking) and standard MCRG (blocked); jackknife errors. Exact: "
                "λ_t = 2^{y_t} = 2, λ_h = 2^{15/8} = 3.66802.",
    "fss_fits.png": "Each fit of the finite-size-scaling analysis (/fss) redone with its "
                    "smallest size raised step by step: a result that settles as L_min grows "
                    "is free of corrections to scaling. Dash-dotted: the exact value.",
    "train.png": "Training (solid) and validation (dashed) loss per epoch of every replica.",
}


def write_html(outdir, title, runs, series, figs, notes, config_figs):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1>",
             f'<p class="small">Written by tools/report.py on {esc(now)} from '
             + ", ".join(f"<code>{esc(r.path)}</code>" for r in runs) +
             ". Images are embedded in this page; the same PNG files are next to it.</p>"]
    parts.append("<h2>Runs</h2>" + html_runs(runs))
    if notes:
        parts.append("".join(f'<div class="note">{esc(n)}</div>' for n in notes))

    def fig(name):
        if name in figs:
            cap = CAPTIONS.get(name, "")
            parts.append(f"<figure>{img_tag(outdir, name, name)}<figcaption><b>{esc(name)}</b>: "
                         f"{esc(cap)}</figcaption></figure>")

    parts.append("<h2>Finite-size scaling at criticality</h2>")
    for name in ("fss_chi.png", "fss_V4.png", "fss_C.png", "fss_m.png", "fss_E.png",
                 "fss_xi.png"):
        fig(name)
    if "corr_G.png" in figs:
        parts.append("<h2>Correlation functions</h2>")
        fig("corr_G.png")
    if any(s.corr for s in series):
        parts.append(html_corr(series))
    fss = html_fss(runs)
    if fss:
        parts.append("<h2>Finite-size-scaling fits</h2>")
        fig("fss_fits.png")
        parts.append(fss)
    if "mcrg.png" in figs:
        parts.append("<h2>Monte Carlo renormalization group</h2>")
        fig("mcrg.png")
        parts.append(html_mcrg(runs))
    if config_figs:
        parts.append("<h2>Configurations</h2>")
        for what, name in config_figs:
            parts.append(f"<figure>{img_tag(outdir, name, name)}<figcaption><b>{esc(name)}</b>: "
                         f"{esc(what)} (white +1, black −1). Render one at full resolution, one "
                         f"pixel per spin, with <code>tools/show_config.py</code>."
                         f"</figcaption></figure>")
    parts.append("<h2>Summaries (value ± jackknife error)</h2>")
    parts.append(html_summaries(series))
    parts.append(html_deviations(series))
    if "train.png" in figs or any(r.rf.train() is not None for r in runs):
        parts.append("<h2>Training</h2>")
        fig("train.png")
        parts.append(html_train(runs))
    parts.append("</body></html>\n")
    path = os.path.join(outdir, "index.html")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------------------- main

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{PROG}: error: {message}", file=sys.stderr)
        sys.exit(2)


def parse_args(argv):
    p = _Parser(prog=PROG, description="Figures and an HTML report from invrg run files.",
                epilog="Example: /usr/bin/python3 tools/report.py default.h5 -o report/")
    p.add_argument("runs", nargs="+", metavar="run.h5", help="invrg run files (HDF5)")
    p.add_argument("-o", "--output", default="report", metavar="DIR",
                   help="output directory (created if needed; default: report)")
    p.add_argument("--title", default=None, help="title of the HTML page")
    p.add_argument("--samples", type=int, default=4, metavar="N",
                   help="configurations per row in the configuration figures (default 4)")
    args = p.parse_args(argv)
    if args.samples < 1 or args.samples > 16:
        p.error("--samples must be between 1 and 16")
    return args


def main(argv):
    args = parse_args(argv)
    runs = []
    try:
        runs = open_runs(args.runs)
        outdir = args.output
        if os.path.exists(outdir) and not os.path.isdir(outdir):
            raise UserError(f"{outdir}: exists and is not a directory")
        try:
            os.makedirs(outdir, exist_ok=True)
        except OSError as e:
            raise UserError(f"{outdir}: cannot create the output directory ({e.strerror})") \
                from None
        if not os.access(outdir, os.W_OK):
            raise UserError(f"{outdir}: output directory is not writable")
        notes = []
        if not any(r.rf.summaries("mc") or r.rf.summaries("dream") or r.rf.mcrg()
                   for r in runs):
            notes.append("No /mc, /dream or /mcrg results in the run file(s): nothing to plot "
                         "but the run table (stages run: "
                         + "; ".join(f"{r.label}: {r.rf.run.get('stages')}" for r in runs) + ").")
        plt.rcParams.update(STYLE)
        series = build_series(runs)
        figs = []

        def add(name, what):
            if name:
                figs.append(name)
            elif what:
                notes.append(what)

        have_sum = any(s.summaries for s in series)
        L74 = lambda L: L ** -1.75  # noqa: E731
        add(fig_scaled(series, outdir, "fss_chi.png", "chi", L74,
                       r"$\chi / L^{7/4}$", r"$\chi = N(\langle m^2\rangle - \langle|m|\rangle^2)$",
                       extra_panels=[("chi_prime", L74, r"$\chi' / L^{7/4}$",
                                      r"$\chi' = N\langle m^2\rangle$", None, None)]),
            "no susceptibility in the runs" if have_sum else None)
        add(fig_scaled(series, outdir, "fss_V4.png", "V4", None,
                       r"$V_4 = \langle m^4\rangle / \langle m^2\rangle^2$",
                       "Binder ratio", exact=invrg_io.V4_CRITICAL,
                       exact_label=f"critical, L→∞: {invrg_io.V4_CRITICAL}"), None)
        add(fig_specific_heat(series, outdir), None)
        add(fig_scaled(series, outdir, "fss_m.png", "abs_m", lambda L: L ** 0.125,
                       r"$\langle |m| \rangle\, L^{1/8}$",
                       r"Magnetisation scaled by $L^{\beta/\nu} = L^{1/8}$"), None)
        add(fig_energy(series, outdir), None)
        have_corr = any(s.corr for s in series)
        add(fig_xi(series, outdir),
            None if not have_sum else
            "No correlation data (/corr) in the runs: the ξ₂/L and G(r) figures are skipped "
            "(stage analyze with correlations writes them)." if not have_corr else
            "The /corr groups hold no ξ₂ attribute: the ξ₂/L figure is skipped.")
        add(fig_G(series, outdir),
            None if not have_corr else "The /corr groups hold no G(r) dataset: figure skipped.")
        add(fig_fss_fits(runs, series, outdir), None)
        add(fig_mcrg(runs, series, outdir),
            "No MCRG results (/mcrg) in the runs: eigenvalue figure skipped." if have_sum
            else None)
        config_figs = fig_configs(runs, outdir, args.samples)
        if not config_figs and have_sum:
            notes.append("No saved configurations (&dream save_levels, &mc save_configs): "
                         "no pictures.")
        add(fig_train(runs, outdir), None)
        if not any(r.rf.fss() for r in runs) and have_sum:
            notes.append("No finite-size-scaling fits (/fss) in the runs.")
        title = args.title or ("invrg report: " + (", ".join(r.label for r in runs)
                                                   if len(runs) <= 3 else f"{len(runs)} runs"))
        page = write_html(outdir, title, runs, series, figs, notes, config_figs)
    except UserError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except (OSError, KeyError, invrg_io.FormatError) as e:
        # A damaged or incomplete run file found while reading it.
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"{PROG}: error: reading the run files: {msg}", file=sys.stderr)
        return 2
    finally:
        for r in runs:
            r.rf.close()
    names = figs + [n for _, n in config_figs]
    print(f"{PROG}: wrote {page} and {len(names)} figures" +
          (f": {', '.join(names)}" if names else ""))
    for n in notes:
        print(f"{PROG}: note: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
