#!/usr/bin/python3
"""tools/scaling_model.py and docs/scaling.md:

1. the tables of docs/scaling.md are the script's output (check-doc), and check-doc notices a
   table whose number was changed (a copy with one cell altered must fail);
2. the model's limits: efficiency exactly 1 on one rank; without communication (alpha, beta,
   latencies, merge work, polling all 0) weak scaling of SW and of the small dreams is exactly 1;
   a slower network (alpha or beta x 10) never raises an efficiency, and lowers it at 4096
   ranks in every case; efficiency never exceeds 1;
3. the collectives and grids against their formulas written out here (numbers, not code);
4. `predict` on the command line gives the functions' value, and --constants changes it.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

SRC = os.environ.get("SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
sys.path.insert(0, os.path.join(SRC, "tools"))
import scaling_model as sm  # noqa: E402

PY = sys.executable
SCRIPT = os.path.join(SRC, "tools", "scaling_model.py")
DOC = os.path.join(SRC, "docs", "scaling.md")
failures, passed = [], []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    (passed if ok else failures).append(what)


def run(*args):
    return subprocess.run([PY, SCRIPT, *args], capture_output=True, text=True)


# 1. the doc's tables
r = run("check-doc", DOC)
check(r.returncode == 0, "docs/scaling.md's tables are the script's output" + (": " + r.stdout if r.stdout else ""))
with open(DOC) as f:
    text = f.read()
blocks = sm.doc_blocks(text)
check(set(blocks) == set(sm.all_tables(sm.CONSTANTS)), "the doc has every table, and no other")
with tempfile.TemporaryDirectory() as tmp:
    body = blocks["b-weak-infiniband"]
    row = [line for line in body.splitlines() if line.startswith("| 256 |")][0]
    cells = row.split(" | ")
    cells[-1] = "12.3 %"
    changed = text.replace(row, " | ".join(cells))
    path = os.path.join(tmp, "scaling.md")
    with open(path, "w") as f:
        f.write(changed)
    r = run("check-doc", path)
    check(r.returncode == 1 and "b-weak-infiniband" in r.stdout,
          "check-doc notices one changed cell (%s)" % r.stdout.strip())

# 2. limits
C = sm.CONSTANTS
for kind in "abc":
    for scaling in ("strong", "weak"):
        for net in C["networks"]:
            rows = sm.series(kind, scaling, C["networks"][net], C)
            check(rows[0][0] == 1 and rows[0][3] == 1.0, "(%s) %s %s: E = 1 on one rank" % (kind, scaling, net))
            check(all(e <= 1 + 1e-12 for _, _, _, e in rows), "(%s) %s %s: E <= 1" % (kind, scaling, net))

free = copy.deepcopy(C)
free["compute"].update(sw_round_site_ns=0.0, fold_ns_per_value=0.0)
free["code"].update(sync_poll_s=0.0)
zero = {"alpha_s": 0.0, "beta_s_per_byte": 0.0, "allreduce_step_s": 0.0, "gatherv_per_rank_s": 0.0}
rows = sm.series("b", "weak", zero, free)
check(all(abs(e - 1) < 1e-12 for _, _, _, e in rows),
      "(b) weak without communication: E = 1 at every P (%s)" % [round(e, 6) for *_, e in rows])
# whole windows of 4096 dreams, 3 per rank and window: no imbalance either
t1 = sm.dreams_small(3 * 4096, 1, zero, free)["total"]
es = [t1 / sm.dreams_small(3 * 4096 * p, p, zero, free)["total"] for p in sm.WEAK_RANKS]
check(all(abs(e - 1) < 1e-12 for e in es), "(c) weak without communication, whole windows: E = 1 (%s)" % es)

for kind in "abc":
    for scaling in ("strong", "weak"):
        base = sm.series(kind, scaling, C["networks"]["infiniband"], C)
        for key in ("alpha_s", "beta_s_per_byte"):
            slow = dict(C["networks"]["infiniband"])
            slow[key] *= 10
            if key == "alpha_s":
                slow["allreduce_step_s"] *= 10
                slow["gatherv_per_rank_s"] *= 10
            worse = sm.series(kind, scaling, slow, C)
            never_up = all(w[3] <= b[3] + 1e-15 for w, b in zip(worse, base))
            down = worse[-1][3] < base[-1][3]
            check(never_up and down, "(%s) %s: %s x 10 lowers E at %d ranks (%.4f -> %.4f), raises it nowhere"
                  % (kind, scaling, key, base[-1][0], base[-1][3], worse[-1][3]))

# 3. formulas, with numbers
net = {"alpha_s": 2e-6, "beta_s_per_byte": 1e-10, "allreduce_step_s": 3e-6, "gatherv_per_rank_s": 5e-6}
check(abs(sm.p2p(1000, net) - 2.1e-6) < 1e-18, "p2p: alpha + n beta")
check(abs(sm.allreduce_small(256, net) - 24e-6) < 1e-18 and sm.allreduce_small(1, net) == 0,
      "small Allreduce: 8 steps at 256 ranks, none on one")
check(abs(sm.allreduce_small(5, net) - 9e-6) < 1e-18, "small Allreduce: ceil(log2 5) = 3 steps")
check(abs(sm.gatherv(2, 1e6, net) - (1 * 5e-6 + 1e-4)) < 1e-15, "Gatherv below 4 ranks: one level")
check(abs(sm.gatherv(4096, 1e6, net) - ((63 + 63) * 5e-6 + 1e-4 * (1 + 1 / 64))) < 1e-15,
      "Gatherv: two levels of 64 at 4096 ranks")
check(abs(sm.gatherv(10, 1e6, net) - ((3 + 2) * 5e-6 + 1e-4 * (1 + 1 / 3))) < 1e-15,
      "Gatherv: teams of 4 at 10 ranks (the last of 2)")
check(abs(sm.allreduce_big(4, 4e6, net) - (2 * 2 * 2e-6 + 2 * 4e6 * 1e-10 * 3 / 4)) < 1e-15,
      "large Allreduce: 2 log2 P alpha + 2 n beta (P-1)/P")
check([sm.grid_of(p) for p in (1, 2, 8, 128, 4096)] == [(1, 1), (1, 2), (2, 4), (8, 16), (64, 64)],
      "grids: most nearly square, py >= px")
t = sm.sw_sweep(1024, 4, net, C)
cc = C["compute"]
rounds = cc["sw_rounds_r0"] + 2 * cc["sw_rounds_r1"]
per_round = 2048 * cc["sw_round_site_ns"] * 1e-9 + 2 * 3e-6 + 4 * (2e-6 + 4096 * 1e-10)
check(abs(t["merge"] - rounds * per_round) < 1e-12 and abs(t["compute"] - cc["sw_site_ns"] * 1e-9 * 512 * 512) < 1e-12,
      "SW on 2 x 2, L = 1024: R (4 blocks' edges, 2 Sendrecv per direction, an Allreduce) and the block's work")
d1 = sm.dream_big(10, 1, net, C)
sites = sum(4 ** l for l in range(1, 11))
check(abs(d1["total"] - (cc["dream_gen_ns"] * sites + (cc["dream_obs_ns"] + cc["dream_mcrg_ns"] + cc["dream_xi_ns"]) * 4 ** 10) * 1e-9) < 1e-15,
      "dream on one rank: every level generated, the top measured, nothing sent")
d4 = sm.dream_big(10, 512, net, C)  # levels up to 512 are replicated, only 1024 splits (2 rows)
check(abs(d4["halo"] - (2 * (2e-6 + 2 * 1024 / 16 * 1e-10) + 15 * (2e-6 + 1024 / 8 * 1e-10))) < 1e-15,
      "dream on 512 ranks, 1024^2: only the top level splits and sends halos")

# 4. the command line
r = run("predict", "sw", "--ranks", "256", "--size", "65536", "--count", "3")
want = 3 * sm.sw_sweep(65536, 256, C["networks"]["infiniband"], C)["total"]
check(r.returncode == 0 and abs(float(r.stdout) / want - 1) < 1e-5, "predict sw: 3 sweeps (%s)" % r.stdout.strip())
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "c.json")
    with open(path, "w") as f:
        json.dump({"networks": {"infiniband": {"gatherv_per_rank_s": 1e-4}}}, f)
    a = run("predict", "dreams", "--ranks", "64", "--count", "100000")
    b = run("--constants", path, "predict", "dreams", "--ranks", "64", "--count", "100000")
    check(a.returncode == 0 and b.returncode == 0 and float(b.stdout) > float(a.stdout),
          "--constants: a slower Gatherv makes the dreams slower (%s -> %s)" % (a.stdout.strip(), b.stdout.strip()))

print("%d passed, %d failed" % (len(passed), len(failures)))
sys.exit(1 if failures else 0)
