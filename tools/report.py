#!/usr/bin/python3
"""Plots and tables from invrg run files: figures (PNG, PDF or SVG) and one HTML page.

    /usr/bin/python3 tools/report.py run.h5 [run2.h5 ...] [-o report/] [--title TEXT]
                                     [--format png|pdf|svg]

Figures (each written only when some run has the data for it; the page says what was skipped):
  fss_chi     chi/L^{7/4} and chi'/L^{7/4} against L
  fss_V4      V4 = <m^4>/<m^2>^2 against L, critical 1.1679229 as a line
  fss_C       C/N against ln L, the exact finite torus and the slope 8 K_c^2/pi = 0.49454
  fss_m       <|m|> L^{1/8} against L
  fss_E       E/N against L, the exact finite torus and -sqrt(2)
  fss_xi      xi_2/L against L, 0.9050488 as a line          (needs /corr)
  corr_G      G(r) on log-log axes, one panel per ensemble    (needs /corr)
  fss_fits    the L_min scan of every finite-size-scaling fit of /fss, exact values
  mcrg        RG eigenvalues lambda_t, lambda_h per level for up / down / blocked pairs,
              exact lambda_t = 2 and lambda_h = 2^{15/8} = 3.66802
  configs_<n> saved configurations (dreamed at several sizes, Monte Carlo)
  train       training and validation loss of every replica (beyond ten, the others grey)
each as <name>.png (default), .pdf or .svg (--format). Every run's Monte Carlo and dreamed
ensembles are drawn on the same axes, with a legend naming each run (its /run title, or its file
name). Legends sit off the data (under the panels), titles never overlap: layout_problems(fig)
says what overlaps in a figure, and the test checks every figure with it. index.html holds
every figure (PNG and SVG embedded as data: URIs, so the page can be moved or mailed alone; PDF
figures linked) and tables of every summary (value ± error).

Exit status: 0 success, 2 bad arguments or input files (nothing is written), 1 anything else
(a report that cannot be written: a full disk, no permission; what was written stays).
"""
import argparse
import base64
import datetime
import html
import math
import os
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

import invrg_io  # noqa: E402

PROG = "report.py"
FORMATS = ("png", "pdf", "svg")
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
    "svg.hashsalt": "invrg",  # the SVG's element ids: the same data, the same file
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


class WriteError(Exception):
    """The report could not be written (a full disk, no permission): exit status 1."""


def writing(write, *args):
    """write(*args), its OSError a WriteError (not one of the run files' reading errors)."""
    try:
        return write(*args)
    except OSError as e:
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        raise WriteError(f"writing the report: {e.strerror or e}{where}") from None


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

    @property
    def coupling(self):
        """K = beta J of the ensemble (its size groups' beta; K_c where they have none)."""
        first = next(iter(self.summaries.values()), {})
        return round(_num(first.get("beta", invrg_io.KC)), 10)

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
        runs.append(Run(path, rf, text_label(rf.label)))
    # Distinct labels: append the file name where titles repeat, or its path where those do,
    # and a number where even those do (the same file twice).
    names = [r.label for r in runs]
    stems = [os.path.splitext(os.path.basename(r.path))[0] for r in runs]
    for r, stem in zip(runs, stems):
        if names.count(r.label) > 1:
            where = stem if text_label(stem) != r.label and stems.count(stem) == 1 else r.path
            r.label = f"{r.label} [{text_label(where)}]"
    labels = [r.label for r in runs]
    for k, r in enumerate(runs):
        if labels.count(r.label) > 1:
            r.label = f"{r.label} #{k + 1}"
    return runs


def text_label(text):
    """A title or file name as matplotlib text: its '$' not taken for mathematics (esc() turns
    it back for the page)."""
    return str(text).replace("$", r"\$")


def model_text(m, short=False):
    """'sym3: a = 0.546, b = 0.628, c = 1.410' or 'conv, 609 parameters'."""
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
        return f"{kind}, {p.size} parameters"
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
    # A run of stage analyze alone (of another run's configurations): its /analyze/<source>
    # summaries drawn as that source's (a run with /mc or /dream of its own analyses the same
    # configurations again: not drawn twice).
    for run in runs:
        if run.rf.summaries("mc") or run.rf.summaries("dream"):
            continue
        for source in ("mc", "dream"):
            s = run.rf.summaries(f"analyze/{source}")
            if not s:
                continue
            data = str(run.rf.config.get("analyze", {}).get("data", "") or "")
            label = f"{run.label}: analysis of {source_name(source)}" + \
                    (f" in {os.path.basename(data)}" if data else "")
            kind = "mc" if source == "mc" else "dream"
            colors = MC_COLORS if kind == "mc" else DREAM_COLORS
            ser = Series(kind, text_label(label), [run], s, colors[k % len(colors)],
                         MARKERS[(k + 2) % len(MARKERS)])
            ser.corr = run.rf.correlations(f"analyze_{source}")
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
    if digits > 0 and round(e, digits) >= 10 ** (sig - digits):  # 9.97 shown as 10, not 10.0
        digits -= 1
    if digits > 10:
        return f"{v:.4e} ± {e:.2e}"
    return f"{v:.{digits}f} ± {e:.{digits}f}"


def fmt_pct(x, nd):
    """A relative deviation as '+1.2 %', '—' when not a number."""
    x = _num(x)
    return f"{100 * x:+.{nd}f} %" if math.isfinite(x) else "—"


def fmt_fixed(v, nd):
    """v with nd decimals, '—' when not a number (a left-out bootstrap resample)."""
    v = _num(v)
    return f"{v:.{nd}f}" if math.isfinite(v) else "—"


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


# ------------------------------------------------------------------------------- layout
#
# Every figure uses constrained layout, and every legend sits off the data: in a "legend axes"
# (invisible, of almost no height) under all panels or under each panel. Constrained layout
# makes room for an axes' legend, and for the suptitle, but in matplotlib 3.6 not for a
# figure legend (fig.legend, loc="outside …" came in 3.7), hence the legend axes.

LEGEND_ROW = 1e-3        # height ratio of a legend axes: its legend hangs below into the margin
REFERENCE_LABELS = ("exact", "critical", "slope", "$L", "$r", "along", "diagonal")


class Layout:
    """A figure of nrow × ncol panels (panel = (width, height) in inches) and its legend axes:
    legends="below": one under all panels, "panels": one under each panel, None: none."""

    def __init__(self, nrow, ncol, panel, legends="below", sharey=None):
        w, h = panel
        self.fig = fig = plt.figure(figsize=(w * ncol, h * nrow), layout="constrained")
        self.panel = panel
        self.legends = legends
        if legends == "panels":
            gs = fig.add_gridspec(2 * nrow, ncol, height_ratios=[1, LEGEND_ROW] * nrow)
            cell = lambda i, j: gs[2 * i, j]  # noqa: E731
        elif legends == "below":
            gs = fig.add_gridspec(nrow + 1, ncol, height_ratios=[1] * nrow + [LEGEND_ROW])
            cell = lambda i, j: gs[i, j]  # noqa: E731
        else:
            gs = fig.add_gridspec(nrow, ncol)
            cell = lambda i, j: gs[i, j]  # noqa: E731
        self.axes = np.empty((nrow, ncol), dtype=object)
        for i in range(nrow):
            for j in range(ncol):
                share = self.axes[0, j] if sharey == "col" and i else None
                self.axes[i, j] = fig.add_subplot(cell(i, j), sharey=share)
        if legends == "panels":
            self.legend_rows = [[fig.add_subplot(gs[2 * i + 1, j]) for j in range(ncol)]
                                for i in range(nrow)]
        elif legends == "below":
            self.legend_rows = [[fig.add_subplot(gs[nrow, :])]]
        else:
            self.legend_rows = []
        for row in self.legend_rows:
            for lax in row:
                lax.set_axis_off()

    def hide(self, k):
        """Hides panel k (row-major) and its legend axes."""
        i, j = divmod(k, self.axes.shape[1])
        self.axes[i, j].set_visible(False)
        if self.legends == "panels":
            self.legend_rows[i][j].set_visible(False)

    def legend_below(self, axes=None, **kw):
        """One legend under all panels: the labels of every panel, each once."""
        hs, ls = ordered_handles(self.axes.flat if axes is None else axes)
        put_legend(self.legend_rows[0][0], hs, ls, self.fig.get_size_inches()[0] - 0.3, **kw)

    def legend_under(self, k, **kw):
        """The legend of panel k (row-major), under it."""
        i, j = divmod(k, self.axes.shape[1])
        hs, ls = ordered_handles([self.axes[i, j]])
        put_legend(self.legend_rows[i][j], hs, ls, self.panel[0] - 0.3, **kw)

    def finish(self):
        """The figure grows by the height of its legends, so that the panels keep their size."""
        fig = self.fig
        r = fig.canvas.get_renderer()
        grow = 0.0
        for row in self.legend_rows:
            hs = [lax.get_legend().get_window_extent(r).height / fig.dpi for lax in row
                  if lax.get_visible() and lax.get_legend() is not None]
            grow += max(hs) + 0.08 if hs else 0.0
        w, h = fig.get_size_inches()
        fig.set_size_inches(w, h + grow)
        fit_titles(fig)
        return fig


def fit_titles(fig):
    """Titles wider than their axes (or the suptitle wider than the figure) broken into lines:
    constrained layout makes room for a title's height, not for its width. Lines with
    mathtext are left whole."""
    fig.get_layout_engine().execute(fig)
    r = fig.canvas.get_renderer()
    items = [(ax.title, ax) for ax in fig.axes if ax.get_visible() and ax.title.get_text()]
    if fig._suptitle is not None:
        items.append((fig._suptitle, None))
    for t, ax in items:
        if ax is not None:
            ax.apply_aspect()
            avail = ax.get_position().width * fig.bbox.width
        else:
            avail = 0.97 * fig.bbox.width
        width = t.get_window_extent(r).width
        if width <= avail:
            continue
        lines = t.get_text().split("\n")
        chars = int(max(len(x) for x in lines) * avail / width * 0.95)
        t.set_text("\n".join(_wrap(x, chars) for x in lines))


def ordered_handles(axes):
    """Handles and labels of the axes, each label once: the data first, reference lines after."""
    seen, data, ref = set(), [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab in seen:
                continue
            seen.add(lab)
            (ref if lab.startswith(REFERENCE_LABELS) else data).append((h, lab))
    pairs = data + ref
    return [h for h, _ in pairs], [lab for _, lab in pairs]


def _wrap(label, width_chars):
    """A long plain label broken into lines (mathtext is left whole)."""
    if "$" in label or len(label) <= width_chars:
        return label
    return textwrap.fill(label, max(12, width_chars), break_on_hyphens=False)


def put_legend(lax, handles, labels, width_in, max_cols=4, **kw):
    """A legend hanging from the top of a legend axes, with as many columns as fit in width_in
    inches; labels too long for one column are wrapped."""
    if not handles:
        return None
    fig = lax.figure
    r = fig.canvas.get_renderer()
    kw = dict(dict(loc="upper center", bbox_to_anchor=(0.5, 1.0), borderaxespad=0.0), **kw)
    for ncol in range(min(max_cols, len(labels)), 0, -1):
        leg = lax.legend(handles, labels, ncol=ncol, **kw)
        width = leg.get_window_extent(r).width / fig.dpi
        if width <= width_in:
            return leg
    # One column is still too wide: wrap the labels to the width (≈ 0.6 em per character).
    em = leg.get_texts()[0].get_fontsize() / 72.0
    chars = int((width_in - 5 * em) / (0.55 * em))
    return lax.legend(handles, [_wrap(lab, chars) for lab in labels], ncol=1, **kw)


# ---------------------------------------------------------------------- the layout check

def _overlap(a, b, tol=1.0):
    """Whether bounding boxes a and b share more than tol pixels in both directions."""
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > tol and
            min(a.y1, b.y1) - max(a.y0, b.y0) > tol)


def _axes_texts(ax, r):
    """(kind, text, bbox) of the visible, non-empty texts of an axes."""
    out = []
    items = [("title", ax.title), ("title", ax._left_title), ("title", ax._right_title)]
    if ax.axison:
        items += [("axis label", ax.xaxis.label), ("axis label", ax.yaxis.label)]
    items += [("text", t) for t in ax.texts]
    for kind, t in items:
        if t.get_visible() and t.get_text().strip():
            out.append((kind, t.get_text(), t.get_window_extent(r)))
    if not ax.axison:
        return out
    box = ax.bbox
    for axis, lo, hi in ((ax.xaxis, box.x0, box.x1), (ax.yaxis, box.y0, box.y1)):
        if not axis.get_visible():
            continue
        for t in axis.get_ticklabels():
            if not (t.get_visible() and t.get_text().strip()):
                continue
            bb = t.get_window_extent(r)
            c = (bb.x0 + bb.x1) / 2 if axis is ax.xaxis else (bb.y0 + bb.y1) / 2
            if lo - 1 <= c <= hi + 1:       # labels of ticks outside the view are not drawn
                out.append(("tick label", t.get_text(), bb))
    return out


def _data_artists(ax, r):
    """(name, bbox) of what an axes draws from data: lines, error bars, points, areas, images;
    each bounding box cut to the axes where the artist is clipped to it."""
    out = []
    for art in list(ax.lines) + list(ax.collections) + list(ax.images):
        if not art.get_visible():
            continue
        bb = art.get_window_extent(r)
        if not np.all(np.isfinite(bb.get_points())):
            continue
        if art.get_clip_on():
            bb = Bbox.intersection(bb, ax.bbox)
            if bb is None:
                continue
        label = str(art.get_label())
        out.append((f"{type(art).__name__}" + ("" if label.startswith("_") else f" '{label}'"),
                    bb))
    return out


def layout_problems(fig):
    """What overlaps in a figure, as sentences ([] when nothing does): a legend over a data area
    or over any line, error bar, point or text; a title or suptitle over another text."""
    fig.canvas.draw()                       # runs the layout
    r = fig.canvas.get_renderer()
    axes = [a for a in fig.axes if a.get_visible()]
    data, texts, areas, legends = [], [], [], []
    for i, ax in enumerate(axes):
        arts = _data_artists(ax, r)
        data += [(i, name, bb) for name, bb in arts]
        if arts:
            areas.append((i, ax.bbox))
        texts += [(i, kind, txt, bb) for kind, txt, bb in _axes_texts(ax, r)]
        if ax.get_legend() is not None and ax.get_legend().get_visible():
            legends.append((i, ax.get_legend().get_window_extent(r)))
    legends += [("figure", leg.get_window_extent(r)) for leg in fig.legends
                if leg.get_visible()]
    sup = fig._suptitle
    for t in ([sup] if sup is not None else []) + [t for t in fig.texts if t is not sup]:
        if t.get_visible() and t.get_text().strip():
            texts.append(("figure", "suptitle" if t is sup else "text", t.get_text(),
                          t.get_window_extent(r)))

    def short(s):
        s = " ".join(s.split())
        return s if len(s) <= 40 else s[:39] + "…"
    probs = []
    for k, (li, lb) in enumerate(legends):
        probs += [f"the legend of axes {li} lies on the data area of axes {i}"
                  for i, bb in areas if _overlap(lb, bb)]
        probs += [f"the legend of axes {li} covers the {name} of axes {i}"
                  for i, name, bb in data if _overlap(lb, bb)]
        probs += [f"the legend of axes {li} covers the {kind} '{short(txt)}' of axes {i}"
                  for i, kind, txt, bb in texts if _overlap(lb, bb)]
        probs += [f"the legends of axes {li} and {lj} overlap"
                  for lj, lb2 in legends[k + 1:] if _overlap(lb, lb2)]
    titles = ("title", "suptitle")
    for k, (i, kind, txt, bb) in enumerate(texts):
        if kind not in titles:
            continue
        for j, (i2, kind2, txt2, bb2) in enumerate(texts):
            if j != k and (kind2 not in titles or j > k) and _overlap(bb, bb2):
                probs.append(f"the {kind} '{short(txt)}' of axes {i} overlaps the {kind2} "
                             f"'{short(txt2)}' of axes {i2}")
    return probs


def save(fig, outdir, stem, fmt):
    """Writes the figure as <stem>.<fmt> (no time stamp inside: same data, same file)."""
    name = f"{stem}.{fmt}"
    meta = {"png": {"Software": None}, "pdf": {"CreationDate": None},
            "svg": {"Date": None}}[fmt]
    fig.savefig(os.path.join(outdir, name), format=fmt, metadata=meta)
    plt.close(fig)
    return name


# ------------------------------------------------------------------------------ figures

PANEL = (6.4, 4.2)       # inches of one panel of the figures against L


def fig_scaled(series, key, scale, ylabel, title, exact=None, exact_label=None,
               extra_panels=None):
    """One observable (optionally several panels) against L on log2 axes."""
    panels = [(key, scale, ylabel, title, exact, exact_label)] + (extra_panels or [])
    have = [s for s in series if any(np.isfinite(s.values(p[0])[1]).any() for p in panels)]
    if not have:
        return None
    Ls_all = sorted({L for s in have for L in s.Ls})
    lay = Layout(1, len(panels), (PANEL[0] * len(panels) ** -0.15, PANEL[1]))
    offs = dodge(have, Ls_all)
    for ax, (k, sc, yl, tt, ex, exl) in zip(lay.axes[0], panels):
        for s, off in zip(have, offs):
            L, v, e = s.values(k, sc)
            errorbar(ax, L * off, v, e, s)
        if ex is not None:
            ax.axhline(ex, color="0.25", lw=1.1, ls="-.", zorder=0, label=exl)
        log2_axis(ax, Ls_all)
        ax.set_xlabel("linear size L")
        ax.set_ylabel(yl)
        ax.set_title(tt)
    lay.legend_below()
    return lay.finish()


def exact_curve(Ls, key, K=invrg_io.KC):
    """Exact torus values at K for integer sizes between min(Ls) and max(Ls), log-spaced."""
    lo, hi = max(2, int(min(Ls))), int(max(Ls))
    grid = sorted(set(np.unique(np.round(np.geomspace(lo, hi, 48)).astype(int)).tolist())
                  | set(int(L) for L in Ls))
    return np.array(grid, float), np.array([invrg_io.exact_torus(L, K)[key] for L in grid])


def exact_curves(ax, have, Ls_all, key, transform=lambda L: L):
    """The exact torus of @p key at every coupling of the series drawn (K_c, and the couplings
    of Monte Carlo off K_c): each series is compared with its own. The K_c curve's (x, y)."""
    critical = None
    for K in sorted({s.coupling for s in have}, key=lambda K: (abs(K - invrg_io.KC) > 1e-9, K)):
        gx, gy = exact_curve(Ls_all, key, K)
        at_kc = abs(K - invrg_io.KC) <= 1e-9
        ax.plot(transform(gx), gy, color="0.25" if at_kc else "0.55", lw=1.1,
                ls="-." if at_kc else "--", zorder=0,
                label="exact, L×L torus at $K_c$ (Kaufman)" if at_kc else
                f"exact, L×L torus at K = {K:.6g} (Kaufman)")
        if at_kc:
            critical = (gx, gy)
    return critical


def fig_specific_heat(series):
    have = [s for s in series if np.isfinite(s.values("specific_heat")[1]).any()]
    if not have:
        return None
    Ls_all = sorted({L for s in have for L in s.Ls})
    lay = Layout(1, 1, PANEL)
    ax = lay.axes[0, 0]
    offs = dodge(have, Ls_all)
    for s, off in zip(have, offs):
        L, v, e = s.values("specific_heat")
        errorbar(ax, np.log(L * off), v, e, s)
    # Exact finite torus (Kaufman) and the asymptotic slope through its largest size.
    critical = exact_curves(ax, have, Ls_all, "specific_heat", np.log)
    if critical is not None:
        # The asymptotic slope as a guide: parallel to the exact curve, shifted down so both show.
        gx, gy = critical
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
    lay.legend_below()
    return lay.finish()


def fig_energy(series):
    have = [s for s in series if np.isfinite(s.values("energy")[1]).any()]
    if not have:
        return None
    Ls_all = sorted({L for s in have for L in s.Ls})
    lay = Layout(1, 1, PANEL)
    ax = lay.axes[0, 0]
    for s, off in zip(have, dodge(have, Ls_all)):
        L, v, e = s.values("energy")
        errorbar(ax, L * off, v, e, s)
    exact_curves(ax, have, Ls_all, "energy")
    ax.axhline(invrg_io.ENERGY_INFINITE, color="0.55", lw=1.0, ls=":", zorder=0,
               label=r"$L\to\infty$: $-\sqrt{2}$")
    log2_axis(ax, Ls_all)
    ax.set_xlabel("linear size L")
    ax.set_ylabel(r"energy per spin $E/N$")
    ax.set_title("Energy per spin (J = 1)")
    lay.legend_below()
    return lay.finish()


def fig_xi(series):
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
    lay = Layout(1, 1, PANEL)
    ax = lay.axes[0, 0]
    for (s, Ls, v, e), off in zip(pts, dodge(pts, Ls_all)):
        errorbar(ax, Ls * off, v, e, s)
    ax.axhline(invrg_io.XI2_OVER_L_CRITICAL, color="0.25", lw=1.1, ls="-.", zorder=0,
               label=r"critical, $L\to\infty$: %.7f" % invrg_io.XI2_OVER_L_CRITICAL)
    log2_axis(ax, Ls_all)
    ax.set_xlabel("linear size L")
    ax.set_ylabel(r"$\xi_2/L$ (second-moment correlation length)")
    ax.set_title(r"$\xi_2/L = \sqrt{S(0)/S(k_{min})-1}\,/\,(2L\sin(\pi/L))$")
    lay.legend_below()
    return lay.finish()


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


def _G_axes(ax, title):
    ax.set_xscale("log")
    ax.set_yscale("log")
    _log_axes_plain(ax)
    ax.set_xlabel("distance r (lattice spacings)")
    ax.set_ylabel(r"$G(r) = \langle s_0 s_r\rangle$")
    ax.set_title(title, fontsize=9.5)


def fig_G(series):
    """G(r) per ensemble (colour = L) and, when several ensembles share a size, all of them at
    the largest shared size on one panel; each panel's legend under it."""
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
    lay = Layout(nrow, ncol, (6.2, 4.4), legends="panels")
    for k in range(n, nrow * ncol):
        lay.hide(k)
    cmap = plt.get_cmap("viridis")
    for k, (ax, s) in enumerate(zip(lay.axes.flat, have)):
        Ls = [L for L in sorted(s.corr) if corr_G(L, s.corr[L])]
        rmax, diag = 1.0, False
        for i, L in enumerate(Ls):
            col = cmap(0.05 + 0.8 * i / max(1, len(Ls) - 1))
            curves = corr_G(L, s.corr[L])
            rmax = max(rmax, _plot_G(ax, *curves[0][1:], L, col, f"L = {L}"))
            if len(curves) > 1:
                diag = True
                _plot_G(ax, *curves[1][1:], L, col, None, diag=True)
        _, r, G, _ = corr_G(Ls[-1], s.corr[Ls[-1]])[0]
        ok = (r >= 1) & (G > 0)
        if ok.any():
            _guide_quarter(ax, r[ok][0], G[ok][0], rmax)
        # What the line styles mean (empty lines: legend entries only).
        ax.plot([], [], color="0.4", lw=1.3, marker="o", ms=3, label="along an axis, ±1σ shaded")
        if diag:
            ax.plot([], [], color="0.4", lw=1.0, ls=":", marker="x", ms=3,
                    label="diagonal (r = √2 n)")
        _G_axes(ax, s.label)
        lay.legend_under(k, fontsize=7.5)
    if shared is not None:
        ax = lay.axes.flat[len(have)]
        for s in have:
            if shared in s.corr and corr_G(shared, s.corr[shared]):
                _, r, G, err = corr_G(shared, s.corr[shared])[0]
                _plot_G(ax, r, G, err, shared, s.color, s.label)
        _G_axes(ax, f"all ensembles at L = {shared} (along an axis, ±1σ shaded)")
        lay.legend_under(len(have), fontsize=7.5, max_cols=1)
    lay.fig.suptitle("Spin–spin correlation G(r) for r ≤ L/2", fontsize=10.5)
    return lay.finish()


MCRG_MIN_L_COARSE = 4   # smaller coarse lattices give meaningless T matrices: not plotted


def source_name(src):
    """'Monte Carlo', 'dream', …; a source of the stage analyze (re-measured from the saved
    configurations) as 'dream, analyze stage'."""
    base = src[len("analyze_"):] if src.startswith("analyze_") else src
    name = {"mc": "Monte Carlo", "dream": "dream"}.get(base, base)
    return name + (", analyze stage" if base != src else "")


def source_styles(runs, series, sources):
    """{(run id, source): errorbar style} for the (run, source) pairs given: the colour of the
    run's ensemble (Monte Carlo runs told apart by shades of copper), filled markers and solid
    lines for the stage that made the ensemble, open markers and dashed lines for analyze."""
    color_of = {(id(r), s.kind): s.color for s in series if s.kind == "dream" for r in s.runs}
    mc_runs = list(dict.fromkeys(id(r) for r, src in sources if src.endswith("mc")))
    cmap = plt.get_cmap("copper")
    for i, rid in enumerate(mc_runs):
        color_of[(rid, "mc")] = "black" if len(mc_runs) == 1 else \
            cmap(0.85 * i / max(1, len(mc_runs) - 1))
    others = iter(["tab:gray", "tab:olive", "tab:cyan", "tab:pink", "tab:brown"] * 20)
    out = {}
    for run, src in sources:
        base = src[len("analyze_"):] if src.startswith("analyze_") else src
        color = color_of.get((id(run), base))
        if color is None:
            color = color_of[(id(run), base)] = next(others)
        analyze = base != src
        out[(id(run), src)] = dict(color=color, mfc="white" if analyze else color,
                                   ls="--" if analyze else "-", mew=1.2)
    return out


def pair_title(pairs):
    if pairs in PAIR_TITLES:
        return PAIR_TITLES[pairs]
    if pairs.startswith("blocked_L") and pairs[9:].isdigit():
        return f"blocked: standard MCRG of the saved L = {pairs[9:]} configurations"
    return pairs


def mcrg_lines(runs, series):
    """[(label, style, pairs, set, records)] of every MCRG series in the runs."""
    sources = [(run, src) for run in runs
               for src in dict.fromkeys(r["source"] for r in run.rf.mcrg())]
    styles = source_styles(runs, series, sources)
    out = []
    for run in runs:
        recs = run.rf.mcrg()
        keys = sorted({(r["source"], r["pairs"], r["set"]) for r in recs},
                      key=lambda k: [invrg_io.natural_key(x) for x in k])
        sets = sorted({k[2] for k in keys}, key=lambda x: (x != "swendsen", x))
        for src, pairs, oset in keys:
            rr = [r for r in recs if (r["source"], r["pairs"], r["set"]) == (src, pairs, oset)]
            rr.sort(key=lambda r: r["level"])
            if not any(math.isfinite(_num(r.get(k))) for r in rr
                       if (r["L_coarse"] or 0) >= MCRG_MIN_L_COARSE
                       for k in ("lambda_t", "lambda_h")):
                continue  # no eigenvalue to draw (one sample: every level NaN)
            name = source_name(src)
            if src == "mc":
                Lf = sorted({r["L_fine"] for r in rr if r["level"] == 1 and r["L_fine"]})
                if Lf:
                    name += f" L={Lf[0]}"
            if len(runs) == 1 or (src == "mc" and name.lower() in run.label.lower()):
                lab = name if len(runs) == 1 else run.label
            else:
                lab = f"{run.label}: {name}"
            style = dict(styles[(id(run), src)], marker=MARKERS[sets.index(oset) % len(MARKERS)])
            if len(sets) > 1:
                lab += f" [{oset}]"
            out.append((lab, style, pairs, oset, rr))
    return out


def fig_mcrg(runs, series):
    lines = mcrg_lines(runs, series)
    if not lines:
        return None
    order = ["up", "down", "blocked"]
    pairs = [p for p in order if any(ln[2] == p for ln in lines)]
    pairs += sorted({ln[2] for ln in lines} - set(order))
    lay = Layout(len(pairs), 2, (6.25, 3.9), sharey="col")
    for row, p in zip(lay.axes, pairs):
        mine = [ln for ln in lines if ln[2] == p]
        ticks = {}
        for ln in mine:
            for r in ln[4]:
                if (r["L_coarse"] or 0) >= MCRG_MIN_L_COARSE:
                    ticks.setdefault(r["level"], set()).add((r["L_fine"], r["L_coarse"]))
        levels = sorted(ticks)
        n = len(mine)
        for col, (key, exact, sym, what) in enumerate(
                (("lambda_t", invrg_io.LAMBDA_T, r"\lambda_t", "thermal"),
                 ("lambda_h", invrg_io.LAMBDA_H, r"\lambda_h", "magnetic"))):
            ax = row[col]
            for i, (lab, style, _, oset, rr) in enumerate(mine):
                rr = [r for r in rr if (r["L_coarse"] or 0) >= MCRG_MIN_L_COARSE]
                x = np.array([r["level"] for r in rr], float) + \
                    min(0.07, 0.6 / n) * (i - (n - 1) / 2)
                v = np.array([_num(r.get(key)) for r in rr])
                e = np.array([_num(r.get(key + "_err")) for r in rr])
                ok = np.isfinite(v)
                if not ok.any():
                    continue
                ax.errorbar(x[ok], v[ok], yerr=np.where(np.isfinite(e[ok]), e[ok], 0),
                            lw=1.1, ms=4.5, capsize=2.5, label=lab, **style)
            ax.axhline(exact, color="0.25", lw=1.1, ls="-.", zorder=0, label="exact value")
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
            ax.set_title(f"{pair_title(p)}\n{what} eigenvalue ${sym}$, exact {exact:.6g}",
                         fontsize=9.5)
    lay.legend_below(fontsize=8)
    lay.fig.suptitle(r"MCRG eigenvalues of the linearised RG (b = 2): exact $\lambda_t = 2$, "
                     r"$\lambda_h = 2^{15/8} = 3.66802$", fontsize=11.5)
    return lay.finish()


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


def _config_figure(title, rows):
    """rows: [(row label, [(run, dataset, index, caption prefix)])] → one figure."""
    ncol = max(len(cells) for _, cells in rows)
    lay = Layout(len(rows), ncol, (2.5 * max(ncol, 2) / ncol, 2.85), legends=None)
    for ax in lay.axes.flat:
        ax.set_axis_off()
    for (rlabel, cells), arow in zip(rows, lay.axes):
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
    lay.fig.suptitle(title, fontsize=11)
    return lay.finish()


def fig_configs(runs, max_samples):
    """Per dreaming run: the same sample at every saved size (its lineage: each size refines the
    previous one) and more samples at the largest size. One figure for every saved Monte Carlo
    ensemble of all runs. Yields (file stem, figure, caption)."""
    n = 0
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
        what = f"dreamed configurations of {run.label}"
        if len(dream) > 1:
            what += ("; top row: one dream sample at every saved size (each size is generated "
                     "from the one before, so the large-scale structure is kept and refined)")
        n += 1
        yield (f"configs_{n}", _config_figure(f"{run.label}: dreamed configurations "
                                              f"(white = +1, black = −1)", rows), what)
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
        several_runs = len({id(r) for r, _ in mc_cells}) > 1
        rows.append(((f"{r_big.label}\n" if several_runs else "") +
                     f"L = {big['L']}, {step} samples apart",
                     [(r_big, big, i * step, "") for i in range(k)]))
        n += 1
        yield (f"configs_{n}", _config_figure("Monte Carlo configurations (white = +1, "
                                              "black = −1)", rows),
               "saved Monte Carlo configurations")


def fig_train(runs):
    """Training and validation loss per epoch of every replica, one panel per run."""
    have = [(r, r.rf.train()) for r in runs]
    have = [(r, t) for r, t in have if t is not None and "train_loss" in t]
    if not have:
        return None
    lay = Layout(1, len(have), (6.4 * len(have) ** -0.15, 4.0), legends="panels")
    cmap = plt.get_cmap("tab10")
    for k, (ax, (run, t)) in enumerate(zip(lay.axes[0], have)):
        tl, vl = np.atleast_2d(t["train_loss"]), np.atleast_2d(t.get("val_loss", np.zeros((0, 0))))
        ep = np.arange(1, tl.shape[1] + 1)
        mk = dict(marker="o", ms=3.5) if tl.shape[1] <= 20 else {}   # few epochs: points show
        best = t.get("best_replica")
        n_rep = tl.shape[0]
        first_other = 1 if best == 0 else 0  # the grey family's legend entry goes with it
        for i in range(n_rep):
            selected = best is not None and i == best
            if n_rep <= 10:  # a colour and a legend entry each
                style = dict(color=cmap(i), lw=1.2,
                             label=f"replica {i}" + (" (selected)" if selected else ""))
            elif selected:  # many: the selected one stands out, the others are one grey family
                style = dict(color="tab:red", lw=1.6, zorder=3, label=f"replica {i} (selected)")
            else:
                family = f"replicas 0–{n_rep - 1}" + (" (the others)" if best is not None else "")
                style = dict(color="0.55", lw=0.8, alpha=0.7,
                             label=family if i == first_other else None)
            ax.plot(ep, tl[i], **style, **mk)
            if vl.size and i < vl.shape[0]:
                ax.plot(ep, vl[i], **{**style, "label": None}, ls="--", mfc="white", **mk)
        # The two line styles, once (empty lines: legend entries only).
        ax.plot([], [], color="0.3", lw=1.2, label="training (solid)", **mk)
        if vl.size:
            ax.plot([], [], color="0.3", lw=1.2, ls="--", mfc="white",
                    label="validation (dashed)", **mk)
        ax.set_xlabel("epoch")
        ax.set_ylabel("binary cross-entropy (nats per spin)")
        if tl.shape[1] <= 20:
            ax.set_xticks(ep)
        both = np.concatenate([tl.ravel(), vl.ravel()])
        lo = np.nanmin(both)
        # Long trainings: the first epochs' high losses would squash the rest.
        hi = np.nanpercentile(both, 90) if tl.shape[1] > 20 else np.nanmax(both)
        if math.isfinite(lo) and math.isfinite(hi) and hi > lo:
            ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.1 * (hi - lo))
        m = run.rf.kept_model()
        ax.set_title(f"{run.label}: training of {t.get('model', '?')} on L = {t.get('L', '?')}"
                     f"\nselected {model_text(m, short=True)}", fontsize=9.5)
        hs, ls = ordered_handles([ax])
        # The style entries first: they say what the two lines of every colour are.
        k_style = 2 if vl.size else 1
        hs, ls = hs[-k_style:] + hs[:-k_style], ls[-k_style:] + ls[:-k_style]
        put_legend(lay.legend_rows[0][k], hs, ls, lay.panel[0] - 0.3, max_cols=4, fontsize=7.5)
    return lay.finish()


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
    return html.escape(str(x).replace(r"\$", "$"))


MIME = {"png": "image/png", "svg": "image/svg+xml"}


def img_tag(outdir, name):
    """A figure on the page: PNG and SVG embedded as data: URIs (the page stands alone); a PDF,
    which browsers do not show in <img>, as a link to the file next to the page."""
    ext = name.rsplit(".", 1)[-1]
    if ext not in MIME:
        return f'<p><a href="{esc(name)}">{esc(name)}</a> (PDF, next to this page)</p>'
    with open(os.path.join(outdir, name), "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    return f'<img src="data:{MIME[ext]};base64,{data}" alt="{esc(name)}" title="{esc(name)}">'


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
                         fmt_pm(lt, lte), fmt_pct(lt / invrg_io.LAMBDA_T - 1, 1),
                         fmt_pm(r.get("y_t"), r.get("y_t_err")),
                         fmt_pm(lh, lhe), fmt_pct(lh / invrg_io.LAMBDA_H - 1, 2),
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


def fig_fss_fits(runs, series):
    """The L_min scan of every finite-size-scaling fit: result(L_min) ± error, exact value."""
    lines = []          # (fit name, label, model, exact, run label, style key, x, y, e)
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
                lab = source_name(src) if len(runs) == 1 else f"{run.label}: {source_name(src)}"
                lines.append((name, str(a.get("label", name)), str(a.get("model", "")),
                              _num(a.get("exact")), lab, (run, src), x, y, e))
    if not lines:
        return None
    styles = source_styles(runs, series, list(dict.fromkeys(ln[5] for ln in lines)))
    names = list(dict.fromkeys(ln[0] for ln in lines))
    ncol = min(3, len(names))
    nrow = math.ceil(len(names) / ncol)
    lay = Layout(nrow, ncol, (4.6, 3.5))
    for k in range(len(names), nrow * ncol):
        lay.hide(k)
    for ax, name in zip(lay.axes.flat, names):
        mine = [ln for ln in lines if ln[0] == name]
        Ls = sorted({int(v) for ln in mine for v in ln[6] if math.isfinite(v)})
        for i, (_, label, model, exact, lab, key, x, y, e) in enumerate(mine):
            off = 2.0 ** (0.03 * (i - (len(mine) - 1) / 2))
            ok = np.isfinite(y)
            ax.errorbar(x[ok] * off, y[ok], yerr=np.where(np.isfinite(e[ok]), e[ok], 0),
                        marker="o", ms=4, lw=1.1, capsize=2.5, label=lab,
                        **styles[(id(key[0]), key[1])])
        label, model, exact = mine[0][1], mine[0][2], mine[0][3]
        title = f"{label}   ({model})"
        if math.isfinite(exact):
            ax.axhline(exact, color="0.25", lw=1.1, ls="-.", zorder=0, label="exact value")
            title += f"\nexact {exact:.8g}"
        log2_axis(ax, Ls)
        ax.set_xlabel("smallest size in the fit, $L_{min}$")
        ax.set_ylabel(label)
        ax.set_title(title, fontsize=9)
    lay.legend_below()
    lay.fig.suptitle("Finite-size-scaling fits over [L_min, L_max] against L_min "
                     "(jackknife errors)", fontsize=11)
    return lay.finish()


def html_train(runs):
    out = []
    for run in runs:
        t = run.rf.train()
        if t is None:
            continue
        m = run.rf.kept_model()
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
            last_t = fmt_fixed(tl[i, -1], 6) if tl.size and i < tl.shape[0] else "—"
            last_v = fmt_fixed(vl[i, -1], 6) if vl.size and i < vl.shape[0] else "—"
            rows.append([f"replica {i}"] + [fmt_fixed(x, 5) for x in P[i]] + [last_t, last_v])
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
                     esc(invrg_io.wall_time_text(rf.run)), esc(created)])
    return table(["run", "file", "stages", "Monte Carlo", "dream", "invrg (git)", "ranks",
                  "wall time", "created (UTC)"], rows, left=5)


CAPTIONS = {
    "fss_chi": "Susceptibility divided by the leading finite-size scaling L^{γ/ν} = L^{7/4}: "
                   "flat for critical Ising. Left: χ = N(⟨m²⟩ − ⟨|m|⟩²); right: χ′ = N⟨m²⟩.",
    "fss_V4": "Binder ratio V4 = ⟨m⁴⟩/⟨m²⟩², independent of L at criticality; the line is "
                  "the exact critical value 1.1679229(47) of the periodic square (Salas & Sokal).",
    "fss_C": "Specific heat per spin against ln L. Dash-dotted: the exact value of the finite "
                 "L×L torus at K_c; dotted: a line of the asymptotic slope 8K_c²/π = 0.49454, "
                 "drawn parallel to the exact curve as a guide.",
    "fss_m": "Magnetisation times L^{β/ν} = L^{1/8}: flat for critical Ising.",
    "fss_E": "Energy per spin; dash-dotted: exact L×L torus at K_c; dotted: −√2 (L → ∞).",
    "fss_xi": "Second-moment correlation length over L; at K_c it tends to 0.9050488.",
    "corr_G": "Spin–spin correlation G(r) along an axis (and the diagonal, when stored), "
                  "on log–log axes, shaded ± one standard error; the dash-dotted guide is the "
                  "critical decay r^{−η} = r^{−1/4} (on the torus G flattens near r = L/2). "
                  "The last panel compares the ensembles at their largest common size.",
    "mcrg": "Leading eigenvalues of the linearised RG transformation T = A⁻¹B (Swendsen), per "
                "level, for up pairs (generator input → output), down pairs (output → its "
                "majority blocking) and standard MCRG (blocked); jackknife errors. Exact: "
                "λ_t = 2^{y_t} = 2, λ_h = 2^{15/8} = 3.66802. Open markers and dashed lines: "
                "the stage analyze, measuring the configurations saved in the run file.",
    "fss_fits": "Each fit of the finite-size-scaling analysis (/fss) redone with its "
                    "smallest size raised step by step: a result that settles as L_min grows "
                    "is free of corrections to scaling. Dash-dotted: the exact value (given "
                    "in each panel's title). Open markers and dashed lines: the stage analyze.",
    "train": "Training (solid) and validation (dashed) loss per epoch of every replica (more "
             "than ten: the selected one in red, the others in grey).",
}


def write_html(outdir, title, runs, series, figs, notes, fmt):
    """The page; figs: {file stem: (file name, caption)} of the figures written."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1>",
             f'<p class="small">Written by tools/report.py on {esc(now)} from '
             + ", ".join(f"<code>{esc(r.path)}</code>" for r in runs) +
             (". Figures are embedded in this page; the same SVG files are next to it.</p>"
              if fmt == "svg" else ". Figures are the PDF files next to this page, linked below."
              "</p>" if fmt == "pdf" else
              ". Figures are embedded in this page; the same PNG files are next to it.</p>")]
    parts.append("<h2>Runs</h2>" + html_runs(runs))
    if notes:
        parts.append("".join(f'<div class="note">{esc(n)}</div>' for n in notes))

    def fig(stem):
        if stem in figs:
            name, cap = figs[stem]
            parts.append(f"<figure>{img_tag(outdir, name)}<figcaption><b>{esc(name)}</b>: "
                         f"{cap}</figcaption></figure>")

    parts.append("<h2>Finite-size scaling at criticality</h2>")
    for stem in ("fss_chi", "fss_V4", "fss_C", "fss_m", "fss_E", "fss_xi"):
        fig(stem)
    if "corr_G" in figs:
        parts.append("<h2>Correlation functions</h2>")
        fig("corr_G")
    if any(s.corr for s in series):
        parts.append(html_corr(series))
    fss = html_fss(runs)
    if fss:
        parts.append("<h2>Finite-size-scaling fits</h2>")
        fig("fss_fits")
        parts.append(fss)
    if "mcrg" in figs:
        parts.append("<h2>Monte Carlo renormalization group</h2>")
        fig("mcrg")
        parts.append(html_mcrg(runs))
    configs = [stem for stem in figs if stem.startswith("configs_")]
    if configs:
        parts.append("<h2>Configurations</h2>")
        for stem in configs:
            fig(stem)
    parts.append("<h2>Summaries (value ± jackknife error)</h2>")
    parts.append(html_summaries(series))
    parts.append(html_deviations(series))
    if "train" in figs or any(r.rf.train() is not None for r in runs):
        parts.append("<h2>Training</h2>")
        fig("train")
        parts.append(html_train(runs))
    parts.append("</body></html>\n")
    path = os.path.join(outdir, "index.html")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    os.replace(tmp, path)
    return path


# ------------------------------------------------------------------------------ figures

def figures(runs, series, samples, notes):
    """Every figure the runs have data for, in the order of the page, as (file stem, matplotlib
    figure, caption in HTML); the reason for each figure left out is appended to notes."""
    plt.rcParams.update(STYLE)
    have_sum = any(s.summaries for s in series)
    have_corr = any(s.corr for s in series)
    L74 = lambda L: L ** -1.75  # noqa: E731
    todo = [
        ("fss_chi", lambda: fig_scaled(
            series, "chi", L74, r"$\chi / L^{7/4}$",
            r"$\chi = N(\langle m^2\rangle - \langle|m|\rangle^2)$",
            extra_panels=[("chi_prime", L74, r"$\chi' / L^{7/4}$",
                           r"$\chi' = N\langle m^2\rangle$", None, None)]),
         "no susceptibility in the runs" if have_sum else None),
        ("fss_V4", lambda: fig_scaled(
            series, "V4", None, r"$V_4 = \langle m^4\rangle / \langle m^2\rangle^2$",
            "Binder ratio", exact=invrg_io.V4_CRITICAL,
            exact_label=f"critical, L→∞: {invrg_io.V4_CRITICAL}"), None),
        ("fss_C", lambda: fig_specific_heat(series), None),
        ("fss_m", lambda: fig_scaled(
            series, "abs_m", lambda L: L ** 0.125, r"$\langle |m| \rangle\, L^{1/8}$",
            r"Magnetisation scaled by $L^{\beta/\nu} = L^{1/8}$"), None),
        ("fss_E", lambda: fig_energy(series), None),
        ("fss_xi", lambda: fig_xi(series),
         None if not have_sum else
         "No correlation data (/corr) in the runs: the ξ₂/L and G(r) figures are skipped "
         "(stage analyze with correlations writes them)." if not have_corr else
         "The /corr groups hold no ξ₂ attribute: the ξ₂/L figure is skipped."),
        ("corr_G", lambda: fig_G(series),
         None if not have_corr else "The /corr groups hold no G(r) dataset (written only with "
         "&analyze correlation_functions = .true.): figure skipped."),
        ("fss_fits", lambda: fig_fss_fits(runs, series), None),
        ("mcrg", lambda: fig_mcrg(runs, series),
         None if not have_sum else
         "No MCRG results (/mcrg) in the runs: eigenvalue figure skipped."
         if not any(r.rf.mcrg() for r in runs) else
         "The MCRG eigenvalues are all NaN (too few samples): figure skipped."),
    ]
    for stem, make, why_not in todo:
        fig = make()
        if fig is not None:
            yield stem, fig, esc(CAPTIONS[stem])
        elif why_not:
            notes.append(why_not)
    n = 0
    for stem, fig, what in fig_configs(runs, samples):
        n += 1
        yield stem, fig, (f"{esc(what)} (white +1, black −1). Render one at full resolution, one "
                          f"pixel per spin, with <code>tools/show_config.py</code>.")
    if not n and have_sum:
        notes.append("No saved configurations (&dream save_levels, &mc save_configs): "
                     "no pictures.")
    fig = fig_train(runs)
    if fig is not None:
        yield "train", fig, esc(CAPTIONS["train"])


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
    p.add_argument("--format", default="png", choices=FORMATS, metavar="FMT",
                   help="file format of every figure: png (default), pdf or svg; the page "
                        "embeds PNG and SVG figures and links PDF ones")
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
        if not any(r.rf.summaries("mc") or r.rf.summaries("dream") or r.rf.mcrg() or
                   r.rf.train() is not None or r.rf.sources("analyze") for r in runs):
            notes.append("No /mc, /dream, /analyze, /mcrg or /train results in the run file(s): "
                         "nothing to plot but the run table (stages run: "
                         + "; ".join(f"{r.label}: {r.rf.run.get('stages')}" for r in runs) + ").")
        series = build_series(runs)
        figs = {}
        for stem, fig, caption in figures(runs, series, args.samples, notes):
            figs[stem] = (writing(save, fig, outdir, stem, args.format), caption)
        if not any(r.rf.fss() for r in runs) and any(s.summaries for s in series):
            notes.append("No finite-size-scaling fits (/fss) in the runs.")
        title = args.title or ("invrg report: " + (", ".join(r.label for r in runs)
                                                   if len(runs) <= 3 else f"{len(runs)} runs"))
        page = writing(write_html, outdir, title, runs, series, figs, notes, args.format)
    except UserError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except WriteError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except (OSError, KeyError, invrg_io.FormatError) as e:
        # A damaged or incomplete run file found while reading it.
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"{PROG}: error: reading the run files: {msg}", file=sys.stderr)
        return 2
    finally:
        for r in runs:
            r.rf.close()
    names = [name for name, _ in figs.values()]
    print(f"{PROG}: wrote {page} and {len(names)} figures" +
          (f": {', '.join(names)}" if names else ""))
    for n in notes:
        print(f"{PROG}: note: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
