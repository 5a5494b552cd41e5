"""The exact L x L torus of the 2D Ising model (Kaufman 1949; Ferdinand & Fisher 1969), written
for the tests independently of invrg's own oracle (src/physics/exact.c), and a checker of run
files against it.

    kaufman.py selftest                       against brute-force enumeration of 4 x 4 and 3 x 3
    kaufman.py check ALPHA MAXERR run.h5...   E/N and C/N of every /mc/L<L> against the exact torus

`check` compares every size of every file with one family-wise threshold: with n comparisons,
|deviation| < z where a correct code exceeds z with probability ALPHA in all (Bonferroni,
two-sided), and asks that each error bar be small enough for the test to be able to fail
(energy_err < MAXERR).

Z = 1/2 (2 sinh 2K)^(N/2) [Z1 + Z2 + Z3 + Z4], N = L^2,
Z1 = prod_r 2 cosh(L g_{2r+1}/2), Z2 = prod_r 2 sinh(L g_{2r+1}/2),
Z3 = prod_r 2 cosh(L g_{2r}/2),   Z4 = prod_r 2 sinh(L g_{2r}/2),   r = 0 .. L-1,
cosh g_l = 1 + (sinh 2K - 1)^2 / sinh 2K + 2 sin^2(pi l / 2L) for l >= 1,
g_0 = 2K + ln tanh K (with its sign: negative above K_c, so Z4 may be negative).
E/N = -(1/N) d ln Z / dK,  C/N = K^2 (1/N) d^2 ln Z / dK^2 (five-point differences in long double).
"""
import itertools
import math
import sys

import h5py
import numpy as np
from scipy.stats import norm


# Extended precision (x87 long double, 64-bit mantissa) keeps the five-point second difference
# of ln Z accurate to ~1e-11 in C/N.
F = np.longdouble
if np.finfo(F).nmant < 63:
    sys.exit("kaufman.py: numpy's long double has no 64-bit mantissa here; the oracle's C/N "
             "would lose digits (needs x86's extended precision)")


def _log_2cosh(y):
    y = abs(y)
    return y + np.log1p(np.exp(-2 * y))


def _log_abs_2sinh(y):
    a = abs(y)
    if a == 0:
        return F(-np.inf)
    return a + np.log1p(-np.exp(-2 * a))


def log_z(L, K):
    """ln Z of the L x L torus at coupling K (a long double)."""
    K = F(K)
    s2k = np.sinh(2 * K)
    excess = (s2k - 1) ** 2 / s2k
    pi = F("3.14159265358979323846264338327950288")

    def gamma(l):
        if l == 0:
            return 2 * K + np.log(np.tanh(K))
        x = excess + 2 * np.sin(pi * l / (2 * L)) ** 2
        return np.log1p(x + np.sqrt(x * (x + 2)))  # arccosh(1 + x)

    terms = []  # (sign, log |term|)
    for parity in (1, 0):
        g = [gamma(2 * r + parity) for r in range(L)]
        terms.append((1, sum(_log_2cosh(L * x / 2) for x in g)))
        sign = 1
        for x in g:
            sign *= 1 if x >= 0 else -1
        terms.append((sign, sum(_log_abs_2sinh(L * x / 2) for x in g)))
    top = max(t for _, t in terms)
    total = sum(s * np.exp(t - top) for s, t in terms if t > -np.inf)
    return np.log(F(0.5)) + F(0.5) * L * L * np.log(2 * s2k) + top + np.log(total)


def energy_and_heat(L, K):
    """(E/N, C/N) of the L x L torus at K."""
    # ln Z varies on the scale 1/L in K: the step follows it (truncation ~ (hL)^4).
    K, h = F(K), F(min(1e-4, 1e-3 / L))
    f = [log_z(L, K + k * h) for k in (-2, -1, 0, 1, 2)]
    d1 = (f[0] - 8 * f[1] + 8 * f[3] - f[4]) / (12 * h)
    d2 = (-f[0] + 16 * f[1] - 30 * f[2] + 16 * f[3] - f[4]) / (12 * h * h)
    N = L * L
    return float(-d1 / N), float(K * K * d2 / N)


def enumerate_torus(L, K):
    """(E/N, C/N) by summing over all 2^(L^2) states (small L only)."""
    states = np.array(list(itertools.product((-1, 1), repeat=L * L)), dtype=np.int8).reshape(-1, L, L)
    e = -(states * np.roll(states, 1, axis=1) + states * np.roll(states, 1, axis=2)).sum(axis=(1, 2))
    e = e.astype(np.float64)
    w = np.exp(-K * (e - e.min()))
    z = w.sum()
    mean = (w * e).sum() / z
    var = (w * e * e).sum() / z - mean * mean
    N = L * L
    return mean / N, K * K * var / N


def selftest():
    ok = True
    kc = 0.5 * math.log1p(math.sqrt(2.0))
    for L, K in ((4, kc), (4, 0.3), (4, 0.6), (3, kc), (3, 0.5)):
        exact = energy_and_heat(L, K)
        brute = enumerate_torus(L, K)
        good = abs(exact[0] - brute[0]) < 1e-9 and abs(exact[1] - brute[1]) < 1e-6
        ok &= good
        print(f"{'ok' if good else 'FAIL'}: L = {L}, K = {K:.5f}: Kaufman E/N {exact[0]:.10f} "
              f"C/N {exact[1]:.8f}, enumeration {brute[0]:.10f} {brute[1]:.8f}")
    return ok


def check(alpha, max_err, paths):
    rows = []
    for path in paths:
        with h5py.File(path, "r") as f:
            for name, g in f["mc"].items():
                if not name.startswith("L"):
                    continue
                L, K = int(name[1:]), float(g.attrs["beta"])
                e_exact, c_exact = energy_and_heat(L, K)
                rows.append((path, L, "E/N", g.attrs["energy"], g.attrs["energy_err"], e_exact))
                rows.append((path, L, "C/N", g.attrs["specific_heat"], g.attrs["specific_heat_err"],
                             c_exact))
    z = norm.isf(alpha / (2 * len(rows)))
    print(f"{len(rows)} comparisons, family-wise threshold {z:.2f} sigma (alpha = {alpha})")
    ok = len(rows) > 0
    for path, L, what, value, err, exact in rows:
        dev = (value - exact) / err if err > 0 else math.inf
        good = abs(dev) < z and (what != "E/N" or 0 < err < max_err)
        ok &= good
        print(f"{'ok' if good else 'FAIL'}: {path} L = {L} {what} = {value:.6f} +- {err:.6f}, "
              f"exact {exact:.6f} ({dev:+.2f} sigma)")
    return ok


if __name__ == "__main__":
    if sys.argv[1] == "selftest":
        sys.exit(0 if selftest() else 1)
    sys.exit(0 if check(float(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]) else 1)
