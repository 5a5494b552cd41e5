#!/usr/bin/python3
"""Adds /corr/<source>/L<L> and /fss/<source> groups to a copy of a run file, computed in numpy
from its saved configurations, so that tools/report.py can be tested on correlation data before
(or independently of) stage analyze.

    add_corr_fixture.py in.h5 out.h5

Layout written (that of src/physics/correlation_analysis.c and fss.c, reduced to what
report.py reads):
  /corr/<source>/L<L>/   attrs L, n_samples, xi2, xi2_err, xi2_over_L, xi2_over_L_err
                         datasets r [L/2+1] (int64), G_axis, G_axis_err, G_diag, G_diag_err
                         (G_diag(r) = G at (r, r))
  /fss/<source>/         attrs sizes, L_min, L_max; per fit a group <name>/ with attrs label,
                         model, result, result_err, exact, deviation_sigma, chi2_dof, L_min,
                         L_max, n_points and datasets L, y, y_err, scan_L_min, scan_result,
                         scan_result_err
G(r) = <s_0 s_r> by FFT (Wiener–Khinchin), ξ₂ = sqrt(S(0)/S(k_min) − 1) / (2 sin(π/L)),
errors by the jackknife over configurations.
"""
import shutil
import sys

import h5py
import numpy as np


def unpack(d, i):
    x = d[i]
    if d.attrs.get("format", "int8") in ("packed", b"packed"):
        L = d.shape[1]
        return (2 * np.unpackbits(x, axis=-1)[:, :L].astype(np.int8) - 1)
    return x.astype(np.int8)


def measure(configs):
    """Per configuration: G along the axis and the diagonal (r = 0 … L/2), S(0), S(k_min)."""
    L = configs.shape[1]
    N = L * L
    out = []
    for s in configs:
        f = np.fft.fft2(s.astype(float))
        S = np.abs(f) ** 2 / N
        G = np.real(np.fft.ifft2(S)) / 1.0          # (1/N) Σ_x s_x s_{x+r}
        r = np.arange(L // 2 + 1)
        out.append((G[0, r], G[r, r], S[0, 0], 0.5 * (S[0, 1] + S[1, 0])))
    return out


def jackknife(values, fn):
    values = list(values)
    n = len(values)
    full = fn(values)
    reps = np.array([fn(values[:i] + values[i + 1:]) for i in range(n)])
    err = np.sqrt((n - 1) / n * np.sum((reps - reps.mean(axis=0)) ** 2, axis=0))
    return full, err


def main(src, dst):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        for source in ("mc", "dream"):
            if source not in f:
                continue
            Ls = []
            for name, g in f[source].items():
                if "configs" not in g:
                    continue
                d = g["configs"]
                L = d.shape[1]
                n = min(d.shape[0], 200)
                meas = measure(np.stack([unpack(d, i) for i in range(n)]))
                # Jackknife over 10 blocks of configurations.
                blocks = np.array_split(np.arange(n), min(10, n))
                per = [tuple(np.mean([meas[i][k] for i in b], axis=0) for k in range(4))
                       for b in blocks]

                def xi_of(v):
                    s0 = np.mean([p[2] for p in v])
                    sk = np.mean([p[3] for p in v])
                    return np.sqrt(max(s0 / sk - 1.0, 0.0)) / (2 * np.sin(np.pi / L))

                xi, xi_err = jackknife(per, xi_of)
                ga, ga_err = jackknife(per, lambda v: np.mean([p[0] for p in v], axis=0))
                gd, gd_err = jackknife(per, lambda v: np.mean([p[1] for p in v], axis=0))
                c = f.require_group(f"corr/{source}/{name}")
                c.attrs["L"] = L
                c.attrs["n_samples"] = n
                c.attrs["xi2"] = xi
                c.attrs["xi2_err"] = xi_err
                c.attrs["xi2_over_L"] = xi / L
                c.attrs["xi2_over_L_err"] = xi_err / L
                c["r"] = np.arange(L // 2 + 1, dtype=np.int64)
                c["G_axis"], c["G_axis_err"] = ga, ga_err
                c["G_diag"], c["G_diag_err"] = gd, gd_err
                Ls.append(L)
            write_fss(f, source)
    return 0


def wls(x, y, e):
    """Weighted straight line y = a + b x: a, b, their errors, chi2/dof."""
    w = 1.0 / e ** 2
    A = np.stack([np.ones_like(x), x], axis=1)
    cov = np.linalg.inv(A.T @ (A * w[:, None]))
    a, b = cov @ (A.T @ (w * y))
    n = len(x)
    chi2 = float(np.sum(w * (y - a - b * x) ** 2) / (n - 2)) if n > 2 else float("nan")
    return a, b, np.sqrt(cov[0, 0]), np.sqrt(cov[1, 1]), chi2


def write_fss(f, source):
    """gamma/nu from ln chi = a + b ln L and V4(inf) from V4 = a + b/L, with their L_min scans."""
    sizes = sorted(int(n[1:]) for n in f[source] if n.startswith("L") and n[1:].isdigit())
    if len(sizes) < 2:
        return
    L = np.array(sizes, dtype=float)
    s = [f[f"{source}/L{n}"].attrs for n in sizes]
    chi = np.array([a["chi"] for a in s])
    chi_e = np.array([a["chi_err"] for a in s])
    v4 = np.array([a["V4"] for a in s])
    v4_e = np.array([a["V4_err"] for a in s])
    fits = [("gamma_over_nu", "gamma/nu", "ln chi = a + b ln L", "b", 1.75,
             np.log(L), np.log(chi), chi_e / chi),
            ("V4_infinity", "V4(L->inf)", "V4 = a + b/L", "a", 1.1679229, 1 / L, v4, v4_e)]
    top = f.require_group(f"fss/{source}")
    top.attrs["sizes"] = np.array(sizes, dtype=np.int64)
    top.attrs["L_min"], top.attrs["L_max"] = sizes[0], sizes[-1]
    for name, label, model, which, exact, x, y, e in fits:
        a, b, ae, be, chi2 = wls(x, y, e)
        res, res_e = (b, be) if which == "b" else (a, ae)
        g = top.require_group(name)
        for k, v in dict(label=label, model=model, result_is=which, result=res,
                         result_err=res_e, exact=exact, deviation_sigma=(res - exact) / res_e,
                         chi2_dof=chi2, chi2_dof_correlated=float("nan"), a=a, a_err=ae, b=b,
                         b_err=be, L_min=sizes[0], L_max=sizes[-1],
                         n_points=len(sizes)).items():
            g.attrs[k] = v
        g["L"], g["y"], g["y_err"] = np.array(sizes, dtype=np.int64), y, e
        scan = [(sizes[i],) + wls(x[i:], y[i:], e[i:]) for i in range(len(sizes) - 1)]
        g["scan_L_min"] = np.array([t[0] for t in scan], dtype=np.int64)
        g["scan_result"] = np.array([t[2] if which == "b" else t[1] for t in scan])
        g["scan_result_err"] = np.array([t[4] if which == "b" else t[3] for t in scan])
        g["scan_chi2_dof"] = np.array([t[5] for t in scan])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: add_corr_fixture.py in.h5 out.h5", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
