#!/usr/bin/python3
"""The refined-dream study's tables from run files (docs/refined_dreams.md).

One row per run file: the dreamed top level (or --L) against the exact L x L torus (E/N, C/N)
and the L -> infinity values of V4 and xi2/L, chi / L^{7/4}, and the core time per sample of
the dream stage (its wall time x the ranks / the samples: every rank dreams). A run file without
dreams gives its Monte Carlo's largest size (or --L): the reference ensembles.

    tools/refined_table.py [--L L] [--gamma] label=run.h5 ...
    tools/refined_table.py --G 1,2,4,... [--L L] reference=run.h5 label=run.h5 ...
    tools/refined_table.py --plot sizes.png refined=a.h5 refined=b.h5 Wolff=c.h5 ...

--gamma adds gamma/nu from ln chi = a + (gamma/nu) ln L, a weighted least-squares fit over the
rows (independent runs, one size each, e.g. dreamed the same number of levels from their seeds).
--G prints G(r) along the axes instead (runs made with &analyze correlation_functions, dreams
or Monte Carlo), each run's deviation from the first one's in units of the combined error.
"""
import argparse
import math
import sys

import numpy as np

import invrg_io

V4_STAR = 1.1679229     # <m^4> / <m^2>^2 of the critical torus, L -> infinity
XI_STAR = 0.9050488     # xi2/L of the critical torus, L -> infinity
GAMMA_NU = 7 / 4


def row(label, path, L=None):
    """The values of one run file's size L (default: the largest): of its dreams, or of its
    Monte Carlo if it has no dreams (a reference ensemble)."""
    with invrg_io.open_run(path) as rf:
        f = rf.h5
        source = 'dream' if 'dream' in f else 'mc'
        sizes = sorted(int(k[1:]) for k in f[source].keys() if k.startswith('L'))
        L = L or sizes[-1]
        d, c = dict(f[f'{source}/L{L}'].attrs), dict(f[f'corr/{source}/L{L}'].attrs)
        run = dict(f['run'].attrs)
    stage = list(run['stages']).index(source)
    exact = invrg_io.exact_torus(L)
    n = int(d['n_samples'])
    return {
        'label': label, 'L': L, 'n': n,
        'E': d['energy'], 'E_err': d['energy_err'], 'E_exact': exact['energy'],
        'C': d['specific_heat'], 'C_err': d['specific_heat_err'], 'C_exact': exact['specific_heat'],
        'V4': d['V4'], 'V4_err': d['V4_err'],
        'xi': c['xi2_over_L'], 'xi_err': c['xi2_over_L_err'],
        'chi': d['chi'], 'chi_err': d['chi_err'],
        'ms': 1e3 * run['stage_seconds'][stage] * run['nranks'] / n,
    }


def fmt(value, err):
    """value(err) with two digits of the error."""
    if not err > 0:
        return f'{value:.6g}'
    digits = max(0, 1 - math.floor(math.log10(err)))
    scaled = round(err * 10**digits)
    return f'{value:.{digits}f}({scaled})'


def table(rows):
    print('| run | L | samples | E/N | bias | dev | C/N | bias | V4 | xi2/L '
          '| chi/L^(7/4) | ms per sample |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        scale = r['L'] ** GAMMA_NU
        print(f"| {r['label']} | {r['L']} | {r['n']} | {fmt(r['E'], r['E_err'])} "
              f"| {100 * (r['E'] - r['E_exact']) / abs(r['E_exact']):+.3f} % "
              f"| {(r['E'] - r['E_exact']) / r['E_err']:+.1f} sigma "
              f"| {fmt(r['C'], r['C_err'])} | {100 * (r['C'] - r['C_exact']) / r['C_exact']:+.1f} % "
              f"| {fmt(r['V4'], r['V4_err'])} | {fmt(r['xi'], r['xi_err'])} "
              f"| {fmt(r['chi'] / scale, r['chi_err'] / scale)} | {r['ms']:.3g} |")
    print(f'(E/N and C/N against the exact torus of each L, bias = (value - exact) / |exact|: '
          f'negative E/N is too ordered; V4* = {V4_STAR}, xi2/L* = {XI_STAR}; dev: the bias '
          f'over its error)')


def correlations(label, path, L, radii):
    """G(r) along the axes at @p radii (correlation_functions) of a dream's or a Monte Carlo
    run's size L (default: the largest)."""
    with invrg_io.open_run(path) as rf:
        f = rf.h5
        source = 'dream' if 'dream' in f['corr'] else 'mc'
        sizes = sorted(int(k[1:]) for k in f[f'corr/{source}'].keys() if k.startswith('L'))
        g = f[f'corr/{source}/L{L or sizes[-1]}']
        G, err = g['G_axis'][()], g['G_axis_err'][()]
    return {'label': label, 'L': L or sizes[-1], 'G': [G[r] for r in radii],
            'err': [err[r] for r in radii]}


def correlation_table(rows, radii):
    """G(r) of every run and its deviation from the first run's in combined errors."""
    print('| run | L | ' + ' | '.join(f'G({r})' for r in radii) + ' |')
    print('|---|---|' + '---|' * len(radii))
    ref = rows[0]
    for r in rows:
        cells = []
        for i in range(len(radii)):
            cell = fmt(r['G'][i], r['err'][i])
            if r is not ref:
                dev = (r['G'][i] - ref['G'][i]) / math.hypot(r['err'][i], ref['err'][i])
                cell += f' ({dev:+.1f} sigma)'
            cells.append(cell)
        print(f"| {r['label']} | {r['L']} | " + ' | '.join(cells) + ' |')
    print(f"(G(r) along the axes; in parentheses the deviation from {ref['label']} in units of "
          f"the combined error)")


def plot(rows, path):
    """E/N's relative bias, V4 and chi / L^{7/4} against L, one series per label (rows of one
    label joined in the order given), with their errors; the exact and L -> infinity values as
    lines. Written to @p path (PNG, PDF or SVG by its suffix)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    series = {}
    for r in rows:
        series.setdefault(r['label'], []).append(r)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
    panels = (
        ('E/N − exact torus [%]', lambda r: 100 * (r['E'] - r['E_exact']) / abs(r['E_exact']),
         lambda r: 100 * r['E_err'] / abs(r['E_exact']), 0.0),
        ('V4', lambda r: r['V4'], lambda r: r['V4_err'], V4_STAR),
        (r'$\chi / L^{7/4}$', lambda r: r['chi'] / r['L']**GAMMA_NU,
         lambda r: r['chi_err'] / r['L']**GAMMA_NU, None))
    for n, (ax, (ylabel, value, error, line)) in enumerate(zip(axes, panels)):
        for k, (label, rs) in enumerate(series.items()):
            shift = 1 + 0.04 * (k - (len(series) - 1) / 2)  # side by side on the log axis
            ax.errorbar([r['L'] * shift for r in rs], [value(r) for r in rs],
                        yerr=[error(r) for r in rs], marker='os^D'[k % 4], capsize=3,
                        linestyle='none', label=label if n == 0 else None)
        if line is not None:
            ax.axhline(line, color='0.5', linestyle='--', linewidth=1)
        ax.set_xscale('log', base=2)
        sizes = sorted({r['L'] for r in rows})
        ax.set_xticks(sizes, [str(L) for L in sizes], fontsize=8)
        ax.minorticks_off()
        ax.set_xlabel('L')
        ax.set_ylabel(ylabel)
    fig.legend(loc='upper center', ncol=len(series), frameon=False)  # above the panels
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.86, wspace=0.3)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def gamma_over_nu(rows):
    """gamma/nu and its error from ln chi = a + b ln L, weights 1/sigma(ln chi)^2."""
    x = np.log([r['L'] for r in rows])
    y = np.log([r['chi'] for r in rows])
    w = np.array([(r['chi'] / r['chi_err'])**2 for r in rows])
    A = np.vstack([np.ones_like(x), x]).T
    cov = np.linalg.inv(A.T @ (A * w[:, None]))
    a, b = cov @ (A.T @ (w * y))
    chi2 = float(np.sum(w * (y - a - b * x)**2))
    dof = len(rows) - 2
    return b, math.sqrt(cov[1, 1]), chi2 / dof if dof > 0 else float('nan')


def dof_ok(rows):
    return len(rows) > 2


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--L', type=int, default=None, help='the level to show (default: the top)')
    p.add_argument('--gamma', action='store_true', help='fit gamma/nu over the rows')
    p.add_argument('--G', metavar='R,R,...', default=None,
                   help='instead: G(r) at these distances (runs with correlation_functions; '
                        'Monte Carlo runs too), against the first run')
    p.add_argument('--plot', metavar='FILE', default=None,
                   help='also draw E/N bias, V4 and chi/L^(7/4) against L, one series per label')
    p.add_argument('runs', nargs='+', help='label=run.h5 (or run.h5)')
    args = p.parse_args(argv)
    try:
        radii = [int(r) for r in args.G.split(',')] if args.G else None
        rows = []
        for spec in args.runs:
            label, _, path = spec.rpartition('=')
            rows.append(correlations(label or path, path, args.L, radii) if radii
                        else row(label or path, path, args.L))
    except (OSError, KeyError, ValueError, invrg_io.FormatError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f'refined_table.py: error: {spec}: {msg} (a run file of stage dream?)',
              file=sys.stderr)
        return 2
    if radii:
        correlation_table(rows, radii)
        return 0
    if args.gamma and len({r['L'] for r in rows}) < 2:
        print('refined_table.py: error: --gamma needs runs of two sizes or more', file=sys.stderr)
        return 2
    table(rows)
    if args.plot:
        try:
            plot(rows, args.plot)
        except (OSError, ValueError) as e:
            print(f'refined_table.py: error: {args.plot}: {e}', file=sys.stderr)
            return 2
    if args.gamma:
        b, err, chi2 = gamma_over_nu(rows)
        print(f'gamma/nu = {fmt(b, err)} from L = {rows[0]["L"]} ... {rows[-1]["L"]} '
              f'({len(rows)} sizes, ' + (f'chi2/dof {chi2:.2f}' if dof_ok(rows) else 'no dof')
              + '; exact 1.75)')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
