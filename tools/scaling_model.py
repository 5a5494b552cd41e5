#!/usr/bin/python3
"""The alpha-beta scaling model of docs/scaling.md: predicted times and efficiencies of

  (a) one packed 2^n x 2^n dream (sym3, random bit planes) measured at the top,
  (b) Swendsen-Wang on one L x L lattice split over a px x py grid,
  (c) many small dreams on groups of one rank, folded by the reducer on world rank 0,

from the constants below (CONSTANTS: measured on the development machine with bench/ and
invrg's own logs; the networks' alpha and beta either measured here or assumed, as labelled).

  scaling_model.py tables                 the markdown tables of docs/scaling.md
  scaling_model.py check-doc DOC          exit 1 if DOC's generated tables differ from these
  scaling_model.py predict CASE ...       one prediction (used by jobs/scaling.sbatch)
  scaling_model.py sw-side --ranks P --block B   L of a weak-scaling SW run
  scaling_model.py constants              the constants as JSON (edit, then --constants FILE)

Standard library only. Efficiency: throughput per rank against one rank, E(P) = (W(P) / (P T(P)))
/ (W(1) / T(1)) with W the work (sites dreamed or swept): T(1)/(P T(P)) for a fixed problem
(strong scaling), T(1)/T(P) for a problem that grows with P (weak scaling).
"""
import argparse
import copy
import json
import math
import sys

# ---------------------------------------------------------------------------- constants
# Every number the model uses. "here": the 2-core development machine (Open MPI 4.1, shared
# memory between the two ranks, no network); "infiniband": ASSUMED typical values of an
# HDR/NDR InfiniBand cluster, not measured. Compute figures are core seconds of one rank.
CONSTANTS = {
    "compute": {
        # (a) a packed sym3 dream, planes, measured at the top (observables, MCRG of up, down
        # and blocked pairs of the swendsen set with 4 blockings, xi2/L from line sums):
        # ns of core time per site of a level (the log's "dream costs" of input/huge_dream.nml
        # variants; docs/scaling.md, Constants)
        "dream_gen_ns": 0.49,
        "dream_obs_ns": 0.02,
        "dream_mcrg_ns": 0.55,
        "dream_xi_ns": 0.15,
        "dream_bytes_per_top_spin": 0.17,
        # (b) Swendsen-Wang: ns per site and sweep on one rank (bench_mc sw 2048), and ns per
        # boundary site and merge round (finding the root, sending, lowering: bench_scaling sw
        # on 2 ranks, the merge phase's time outside MPI over rounds and boundary sites)
        "sw_site_ns": 30.0,
        "sw_round_site_ns": 7.0,
        # stage mc's measurement of a sample (int8 observables: docs/benchmarks.md), ns per site
        "sw_measure_ns": 0.3,
        # label merge rounds per sweep on a g x g grid at K_c: r0 + r1 g (fit of bench_scaling
        # swgrid, L = 1024 ... 4096, blocks of 16 ... 2048; g = max(px, py) for other grids)
        "sw_rounds_r0": 6.4,
        "sw_rounds_r1": 1.35,
        # (c) one dream to 1024^2 (sym3, packed planes, measured from 8^2 to 1024^2: observables,
        # MCRG up/down/blocked pairs of the swendsen set, xi2/L) on one rank, seconds
        "small_dream_s": 0.0037,
        "small_dream_levels_measured": 8,
        # rank 0 folds each record into block means: ns per double (estimate, see the doc)
        "fold_ns_per_value": 2.0,
    },
    "code": {
        # fixed by the code (src/): not measured
        "primaries": 9,                 # INVRG_N_PRIMARY doubles per measured level
        "window_values": 65536,         # reducer.c WINDOW_VALUES
        "window_min_items": 4096,       # reducer.c WINDOW_MIN_ITEMS
        "sync_poll_s": 1e-5,            # checkpoint.c: rank 0 polls the end barrier after pauses
                                        # from 10 us doubling to 2 ms: ranks that end together
                                        # cost about the first pause (half of it on average)
        "mcrg_blockings": 4,            # &analyze mcrg_levels of the cases
        "mcrg_pairs": 3,                # up, down, blocked
    },
    "networks": {
        "here": {
            "label": "measured here: 2 ranks, shared memory (bench_scaling net)",
            "alpha_s": 0.4e-6,
            "beta_s_per_byte": 0.75e-9,
            "allreduce_step_s": 0.7e-6,
            "gatherv_per_rank_s": 5.0e-6,
        },
        "infiniband": {
            "label": "ASSUMED: InfiniBand, alpha 1.5 us, 12.5 GB/s per rank",
            "alpha_s": 1.5e-6,
            "beta_s_per_byte": 1 / 12.5e9,
            "allreduce_step_s": 1.5e-6,
            "gatherv_per_rank_s": 1.5e-6,
        },
    },
}

STRONG_RANKS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 4096]
WEAK_RANKS = [1, 4, 16, 64, 256, 4096]


# ---------------------------------------------------------------------------- communication
def log2c(p):
    """Steps of a tree over p ranks: ceil(log2 p), 0 for one rank."""
    return math.ceil(math.log2(p)) if p > 1 else 0


def p2p(nbytes, net):
    """One message of n bytes: alpha + n beta (a Sendrecv: both directions at once)."""
    return net["alpha_s"] + nbytes * net["beta_s_per_byte"]


def allreduce_small(p, net):
    """MPI_Allreduce of a few numbers: ceil(log2 P) latency steps (recursive doubling)."""
    return log2c(p) * net["allreduce_step_s"]


def allreduce_big(p, nbytes, net):
    """MPI_Allreduce of n bytes (reduce-scatter + allgather): 2 log2 P alpha + 2 n beta (P-1)/P."""
    if p == 1:
        return 0.0
    return 2 * log2c(p) * net["alpha_s"] + 2 * nbytes * net["beta_s_per_byte"] * (p - 1) / p


def allgather(p, nbytes_total, net):
    """MPI_Allgather(v) of n bytes in all: log2 P alpha + n beta (P-1)/P."""
    if p == 1:
        return 0.0
    return log2c(p) * net["alpha_s"] + nbytes_total * net["beta_s_per_byte"] * (p - 1) / p


def gatherv(p, nbytes_total, net):
    """The reducer's gather to one root (reducer.c): from 4 ranks on in two levels, teams of
    s = ceil(sqrt(P)) consecutive ranks to their first rank, then the ceil(P/s) teams to the
    root, each level a linear MPI_Gatherv (Open MPI, MPICH): (s - 1 + ceil(P/s) - 1) per-rank
    costs; the bytes cross twice, the first time a team's share in parallel."""
    if p < 4:
        return (p - 1) * net["gatherv_per_rank_s"] + nbytes_total * net["beta_s_per_byte"]
    s = math.isqrt(p - 1) + 1
    teams = -(-p // s)
    return ((s - 1 + teams - 1) * net["gatherv_per_rank_s"]
            + nbytes_total * (1 + 1 / teams) * net["beta_s_per_byte"])


# ---------------------------------------------------------------------------- (a) one big dream
def dream_big(n, p, net, c):
    """One 2^n x 2^n packed dream on one group of P ranks, measured at the top. Levels split by
    rows once every rank gets two rows and P divides the side (dream_levels.c); smaller levels
    are replicated: every rank does them whole."""
    cc, code = c["compute"], c["code"]
    t = {"compute": 0.0, "halo": 0.0, "reduce": 0.0}
    for level in range(1, n + 1):
        side = 2 ** level
        split = p > 1 and side % p == 0 and side // p >= 2
        t["compute"] += cc["dream_gen_ns"] * 1e-9 * side * side / (p if split else 1)
        if split:  # packed halo: two colours, each a row of side/2 bits up and down
            t["halo"] += 2 * p2p(2 * side / 16, net)
    top = 2 ** n
    per_site = cc["dream_obs_ns"] + cc["dream_mcrg_ns"] + cc["dream_xi_ns"]
    t["compute"] += per_site * 1e-9 * top * top / p
    if p > 1:
        k = code["mcrg_pairs"] * (code["mcrg_blockings"] + 1)  # operator sums at each level
        t["halo"] += k * p2p(top / 8, net)          # the row two above (packed_measure_mcrg.c)
        t["reduce"] += (1 + k + code["mcrg_blockings"]) * allreduce_small(p, net)
        t["reduce"] += allreduce_big(p, 8 * top, net) + allgather(p, 8 * top, net)  # xi2 sums
    t["total"] = sum(t.values())
    t["memory_GB"] = cc["dream_bytes_per_top_spin"] * top * top / p / 1e9
    return t


# ---------------------------------------------------------------------------- (b) Swendsen-Wang
def grid_of(p):
    """The most nearly square px x py = P with py >= px (groups.c)."""
    px = int(math.isqrt(p))
    while p % px:
        px -= 1
    return px, p // px


def sw_side(p, block):
    """The even L nearest block sqrt(P) that the grid of P ranks divides (weak-scaling runs)."""
    px, py = grid_of(p)
    m = math.lcm(2, px, py)
    return max(m, round(block * math.sqrt(p) / m) * m)


def sw_rounds(px, py, c):
    """Label merge rounds per sweep: none on one rank, r0 + r1 g with g = max(px, py)."""
    if px * py == 1:
        return 0.0
    cc = c["compute"]
    return cc["sw_rounds_r0"] + cc["sw_rounds_r1"] * max(px, py)


def sw_sweep(L, p, net, c):
    """One SW sweep of an L x L lattice on P ranks: bonds and local clusters on the block, R
    merge rounds (Sendrecv of the boundary labels, 8 bytes per site, to the split directions;
    one MPI_Allreduce), the flip, a count Allreduce and the int8 halo exchange (sw.c)."""
    cc = c["compute"]
    px, py = grid_of(p)
    bx, by = L / px, L / py
    t = {"compute": cc["sw_site_ns"] * 1e-9 * bx * by, "halo": 0.0, "reduce": 0.0, "merge": 0.0}
    rounds = sw_rounds(px, py, c)
    edge = (2 * by if px > 1 else 0) + (2 * bx if py > 1 else 0)  # boundary sites sent per round
    per_round = edge * cc["sw_round_site_ns"] * 1e-9 + allreduce_small(p, net)
    if px > 1:
        per_round += 2 * p2p(8 * by, net)
        t["halo"] += p2p(2 * by, net)  # int8 halo, x phase: a column each way
    if py > 1:
        per_round += 2 * p2p(8 * bx, net)
        t["halo"] += p2p(2 * (bx + 2), net)  # y phase: a row each way, halo corners included
    t["merge"] = rounds * per_round
    t["reduce"] = allreduce_small(p, net)
    t["rounds"] = rounds
    t["total"] = t["compute"] + t["halo"] + t["reduce"] + t["merge"]
    return t


# ---------------------------------------------------------------------------- (c) small dreams
def dreams_small(n_items, p, net, c):
    """n dreams to 1024^2 on P groups of one rank: windows of max(65536 / rec, 4096) samples,
    each rank ceil(items of the window / P) of them; at each window's end the end barrier that
    rank 0 polls after pauses from 10 us (half of it on average), an allreduce that agrees on the
    gather's buffers, a Gatherv of the records to rank 0 and rank 0's fold of them (reducer.c,
    dream_stage.c, checkpoint.c)."""
    cc, code = c["compute"], c["code"]
    rec = cc["small_dream_levels_measured"] * code["primaries"]
    window = max(code["window_values"] // rec, code["window_min_items"])
    t = {"compute": 0.0, "gather": 0.0, "sync": 0.0, "fold": 0.0}
    left = n_items
    while left > 0:
        w = min(window, left)
        t["compute"] += math.ceil(w / p) * cc["small_dream_s"]
        if p > 1:
            t["sync"] += allreduce_small(p, net) + code["sync_poll_s"] / 2
            # the gather's buffers agreed on (reducer.c), then the gather
            t["gather"] += allreduce_small(p, net) + gatherv(p, 8 * rec * w, net)
        t["fold"] += w * rec * cc["fold_ns_per_value"] * 1e-9
        left -= w
    t["total"] = sum(t.values())
    return t


# ---------------------------------------------------------------------------- tables
def efficiency(t1, tp, work1, workp, p):
    """Throughput per rank against one rank: (W_P / (P T_P)) / (W_1 / T_1)."""
    return (workp / (p * tp)) / (work1 / t1)


def series(kind, scaling, net, c):
    """Rows (P, problem, parts, E) of one series; kind a, b, c; scaling strong or weak."""
    rows = []
    ranks = STRONG_RANKS if scaling == "strong" else WEAK_RANKS
    for p in ranks:
        if kind == "a":
            n = 20 if scaling == "strong" else 16 + round(math.log(p, 4))
            t, work, size = dream_big(n, p, net, c), 4.0 ** n, "2^%d" % n
        elif kind == "b":
            L = 65536 if scaling == "strong" else 4096 * math.isqrt(p)
            t, work, size = sw_sweep(L, p, net, c), float(L) * L, "%d" % L
        else:
            n_items = 10 ** 6 if scaling == "strong" else round(10 ** 6 * p / 256)
            t, work, size = dreams_small(n_items, p, net, c), float(n_items), "%.3g" % n_items
        rows.append((p, size, t, work))
    t1, w1 = rows[0][2]["total"], rows[0][3]
    return [(p, size, t, efficiency(t1, t["total"], w1, w, p)) for p, size, t, w in rows]


TITLES = {
    "a": ("one packed dream, measured at the top", "side", ["compute", "halo", "reduce"], "s"),
    "b": ("Swendsen-Wang, per sweep", "L", ["compute", "merge", "halo", "reduce"], "ms"),
    "c": ("dreams to 1024^2 on groups of one rank", "dreams", ["compute", "sync", "gather", "fold"], "s"),
}


def fmt(x, unit):
    v = x * 1e3 if unit == "ms" else x
    return "%.3g" % v if v >= 0.01 or v == 0 else "%.1e" % v


def table(kind, scaling, net_name, c):
    net = c["networks"][net_name]
    title, size_name, parts, unit = TITLES[kind]
    head = ["P", size_name] + ["%s [%s]" % (x, unit) for x in parts] + ["total [%s]" % unit, "E"]
    if kind == "b":
        head.insert(2, "rounds")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p, size, t, e in series(kind, scaling, net, c):
        cells = [str(p), size] + [fmt(t[x], unit) for x in parts] + [fmt(t["total"], unit),
                                                                     "%.1f %%" % (100 * e)]
        if kind == "b":
            cells.insert(2, "%.1f" % t["rounds"])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def all_tables(c):
    """name -> markdown table; the names mark the blocks of docs/scaling.md."""
    out = {}
    for kind in "abc":
        for scaling in ("strong", "weak"):
            for net in ("here", "infiniband"):
                out["%s-%s-%s" % (kind, scaling, net)] = table(kind, scaling, net, c)
    out["summary"] = summary(c)
    return out


def summary(c):
    """Weak-scaling efficiency at 256 and 4096 ranks, every case and network."""
    lines = ["| case | network | E weak, 256 ranks | E weak, 4096 ranks | target (>= 90 % at 256) |",
             "|---|---|---|---|---|"]
    for kind in "abc":
        for net in ("here", "infiniband"):
            rows = {p: e for p, _, _, e in series(kind, "weak", c["networks"][net], c)}
            ok = "met" if rows[256] >= 0.9 else "NOT met"
            lines.append("| (%s) %s | %s | %.1f %% | %.1f %% | %s |" % (
                kind, TITLES[kind][0], net, 100 * rows[256], 100 * rows[4096], ok))
    return "\n".join(lines)


BEGIN, END = "<!-- scaling_model %s -->", "<!-- /scaling_model -->"


def doc_blocks(text):
    """name -> the text between <!-- scaling_model NAME --> and <!-- /scaling_model -->."""
    blocks, pos = {}, 0
    while True:
        i = text.find("<!-- scaling_model ", pos)
        if i < 0:
            return blocks
        j = text.index("-->", i)
        name = text[i + len("<!-- scaling_model "):j].strip()
        k = text.index(END, j)
        blocks[name] = text[j + 3:k].strip("\n")
        pos = k + len(END)


def fill_doc(text, tables):
    for name, body in tables.items():
        start = BEGIN % name
        i = text.find(start)
        if i < 0:
            continue
        k = text.index(END, i)
        text = text[:i + len(start)] + "\n" + body + "\n" + text[k:]
    return text


# ---------------------------------------------------------------------------- command line
def load_constants(path):
    c = copy.deepcopy(CONSTANTS)
    if path:
        with open(path) as f:
            given = json.load(f)
        for group, values in given.items():
            if group == "networks":
                for name, net in values.items():
                    c["networks"].setdefault(name, {}).update(net)
            else:
                c[group].update(values)
    return c


def predict(args, c):
    """Seconds of one job of jobs/scaling.sbatch: its sweeps, its dream or its dreams."""
    net = c["networks"][args.network]
    if args.alpha is not None:
        net = dict(net, alpha_s=args.alpha, allreduce_step_s=args.alpha, gatherv_per_rank_s=args.alpha)
    if args.beta is not None:
        net = dict(net, beta_s_per_byte=args.beta)
    if args.case == "dream":
        t = dream_big(args.size, args.ranks, net, c)
    elif args.case == "sw":  # sweeps, and the int8 observables of each sample (stage mc)
        t = sw_sweep(args.size, args.ranks, net, c)
        px, py = grid_of(args.ranks)
        measure = c["compute"]["sw_measure_ns"] * 1e-9 * args.size ** 2 / args.ranks
        t = {"total": args.count * t["total"] + args.samples * (measure + allreduce_small(args.ranks, net))}
    else:
        t = dreams_small(args.count, args.ranks, net, c)
    return t["total"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--constants", help="JSON file whose values replace those of CONSTANTS")
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("tables")
    sub.add_parser("constants")
    d = sub.add_parser("check-doc")
    d.add_argument("doc")
    d.add_argument("--write", action="store_true", help="rewrite the blocks instead")
    pr = sub.add_parser("predict")
    pr.add_argument("case", choices=["dream", "sw", "dreams"])
    pr.add_argument("--ranks", type=int, required=True)
    pr.add_argument("--size", type=int, default=0, help="dream: levels n (2^n); sw: L")
    pr.add_argument("--count", type=int, default=1, help="sw: sweeps; dreams: number of dreams")
    pr.add_argument("--samples", type=int, default=0, help="sw: samples measured")
    pr.add_argument("--network", default="infiniband")
    pr.add_argument("--alpha", type=float)
    pr.add_argument("--beta", type=float)
    sd = sub.add_parser("sw-side", help="L of a weak-scaling SW run: about block^2 sites per rank")
    sd.add_argument("--ranks", type=int, required=True)
    sd.add_argument("--block", type=int, required=True)
    args = ap.parse_args(argv)
    c = load_constants(args.constants)
    if args.command == "constants":
        print(json.dumps(c, indent=2))
    elif args.command == "tables":
        for name, body in all_tables(c).items():
            print(BEGIN % name)
            print(body)
            print(END)
            print()
    elif args.command == "check-doc":
        with open(args.doc) as f:
            text = f.read()
        tables = all_tables(c)
        if args.write:
            with open(args.doc, "w") as f:
                f.write(fill_doc(text, tables))
            return 0
        blocks = doc_blocks(text)
        bad = [n for n in tables if blocks.get(n) != tables[n]]
        bad += [n for n in blocks if n not in tables]
        for n in bad:
            print("%s: block '%s' differs from tools/scaling_model.py's table" % (args.doc, n))
        return 1 if bad else 0
    elif args.command == "predict":
        print("%.6g" % predict(args, c))
    elif args.command == "sw-side":
        print(sw_side(args.ranks, args.block))
    return 0


if __name__ == "__main__":
    sys.exit(main())
