"""OR-Library set covering (scp41, 51, 54, a2, b1) as LSCP: siting vs plain HiGHS on the textbook model.

Each instance's rows become demand points and its columns candidate sites (cost = the column cost); a pair
(row, column) is in the travel table at 1 minute when the column covers the row, and the threshold is 1 minute.
siting solves it through the whole public path (``siting.solve(instance, model="lscp")``: presolve, Lagrangian
dual and cover heuristic, reduced-cost fixing, the MIP, verification from the raw pairs); the peer is HiGHS
(``highspy``) on ``min c^T x, A x >= 1, x binary`` with default settings. Both run one after the other in this
process under the same time limit; the table gives wall and CPU seconds (the machine is shared: the CPU time is
the steadier figure) and the ratio peer / siting of each, beside the published optimum
(``shared/instances/orlib-scp/known_optima.csv``).

The Sao Jose dos Campos instances (``shared/instances/sjc-mclp``, 324-818 points that are both demand and
candidates, Euclidean metres) run as unit-cost LSCP at a radius: ``SJC818@800`` covers a point from every point
within 800 m (``d <= S``); their optima are the ones computed in that folder (``computed_lscp_optima_highs.csv``).

Usage::

    .venv/bin/python benchmarks/scp_bench.py                      # the five OR-Library ones, 120 s limit each
    .venv/bin/python benchmarks/scp_bench.py --instances scp41 scpa2 --time-limit 60
    .venv/bin/python benchmarks/scp_bench.py --instances SJC818@800 SJC818@1200 --time-limit 60
"""
from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
DEFAULT_DIR = Path("/work/shared/instances/orlib-scp")
SJC_DIR = Path("/work/shared/instances/sjc-mclp")


def cpu_s() -> float:
    """CPU seconds of this process and its waited-for children (HiGHS may run in a child process)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def read_scp(path: Path) -> tuple[sp.csr_matrix, np.ndarray]:
    """OR-Library scp format: ``m n``, ``n`` costs, then per row its count and 1-based columns."""
    tokens = np.array(path.read_text().split(), dtype=np.int64)
    m, n = int(tokens[0]), int(tokens[1])
    cost = tokens[2:2 + n].astype(float)
    pos = 2 + n
    rows, cols = [], []
    for i in range(m):   # one short loop per row of the file format
        k = int(tokens[pos])
        cols.append(tokens[pos + 1:pos + 1 + k] - 1)
        rows.append(np.full(k, i))
        pos += 1 + k
    if pos != tokens.size:
        raise ValueError(f"{path}: {tokens.size - pos} tokens left after the last row")
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.ones(r.size, bool), (r, c)), shape=(m, n)), cost


def read_sjc(name: str) -> tuple[sp.csr_matrix, np.ndarray, float]:
    """``SJC<n>@<radius>``: unit-cost covering matrix (point i covered by site j when d_ij <= radius), optimum."""
    from scipy.spatial import cKDTree

    stem, radius = name.split("@")
    lines = (SJC_DIR / f"{stem}.txt").read_text().split("\n")
    n = int(lines[0].split()[0])
    xy = np.array([[float(v) for v in ln.split()[:2]] for ln in lines[1:1 + n]])
    # query_ball_point keeps distance-0 pairs (each point itself, the one duplicated position) and d == S exactly
    near = cKDTree(xy).query_ball_point(xy, float(radius))
    rows = np.repeat(np.arange(n), [len(v) for v in near])
    cols = np.concatenate([np.asarray(v, dtype=np.int64) for v in near])
    a = sp.csr_matrix((np.ones(rows.size, bool), (rows, cols)), shape=(n, n))
    optimum = float("nan")
    with (SJC_DIR / "computed_lscp_optima_highs.csv").open() as fh:
        for row in csv.DictReader(fh):
            if row["instance"] == stem and float(row["S"]) == float(radius):
                optimum = float(row["min_facilities_full_cover"])
    return a, np.ones(n), optimum


def run_siting(a: sp.csr_matrix, cost: np.ndarray, time_limit_s: float) -> dict:
    import pandas as pd

    import siting
    from siting.data import instance_from_frames

    m, n = a.shape
    coo = a.tocoo()
    rid = np.array([f"r{i}" for i in range(m)], dtype=object)
    cid = np.array([f"c{j}" for j in range(n)], dtype=object)
    demand = pd.DataFrame({"id": rid, "population": np.ones(m), "x": np.zeros(m), "y": np.zeros(m)})
    cands = pd.DataFrame({"id": cid, "cost": cost, "x": np.zeros(n), "y": np.zeros(n)})
    travel = pd.DataFrame({"demand_id": rid[coo.row], "candidate_id": cid[coo.col], "minutes": np.ones(coo.nnz)})
    w0, c0 = time.perf_counter(), cpu_s()
    inst = instance_from_frames(demand, cands, travel)
    res = siting.solve(inst, model="lscp", threshold_min=1.0,
                       options=siting.SolveOptions(time_limit_s=time_limit_s, secondary="none"))
    return {"objective": res.objective, "bound": res.best_bound, "status": str(res.status),
            "wall_s": time.perf_counter() - w0, "cpu_s": cpu_s() - c0,
            "fixed": res.stats.get("reduced_cost_fixed"), "reduced": res.stats.get("reduced_size")}


def run_highs(a: sp.csr_matrix, cost: np.ndarray, time_limit_s: float) -> dict:
    import highspy

    m, n = a.shape
    csc = a.tocsc().astype(float)
    csc.sort_indices()
    w0, c0 = time.perf_counter(), cpu_s()
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.passModel(n, m, int(csc.nnz), 1, 1, 0.0, cost, np.zeros(n), np.ones(n), np.ones(m), np.full(m, np.inf),
                csc.indptr.astype(np.int32), csc.indices.astype(np.int32), csc.data, np.ones(n, np.int32))
    h.run()
    info = h.getInfo()
    return {"objective": info.objective_function_value, "bound": info.mip_dual_bound,
            "status": str(h.getModelStatus()).split(".")[-1], "wall_s": time.perf_counter() - w0,
            "cpu_s": cpu_s() - c0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--instances", nargs="+", default=["scp41", "scp51", "scp54", "scpa2", "scpb1"])
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--csv", type=Path, default=HERE / "results" / "scp_bench.csv")
    args = ap.parse_args(argv)
    optima = {}
    with (args.dir / "known_optima.csv").open() as fh:
        for row in csv.DictReader(fh):
            optima[row["instance"]] = float(row["optimum"])
    print(f"# OR-Library scp: siting vs HiGHS (textbook model); limit {args.time_limit:g} s; "
          f"load {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("| instance | rows x cols | optimum | siting obj / bound | status | wall s | CPU s | sites fixed "
          "| HiGHS obj / bound | HiGHS wall s | HiGHS CPU s | ratio wall | ratio CPU |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for name in args.instances:
        if "@" in name:
            a, cost, opt = read_sjc(name)
        else:
            a, cost = read_scp(args.dir / f"{name}.txt")
            opt = optima.get(name, float("nan"))
        s = run_siting(a, cost, args.time_limit)
        h = run_highs(a, cost, args.time_limit)
        ok = s["objective"] is not None and abs(s["objective"] - opt) < 1e-6
        print(f"| {name} | {a.shape[0]} x {a.shape[1]} | {opt:g} | {s['objective']:g} / {s['bound']:g}"
              f"{'' if ok else ' (not the optimum)'} | {s['status']} | {s['wall_s']:.2f} | {s['cpu_s']:.2f} | "
              f"{s['fixed']} | {h['objective']:g} / {h['bound']:g} | {h['wall_s']:.2f} | {h['cpu_s']:.2f} | "
              f"{h['wall_s'] / s['wall_s']:.1f}x | {h['cpu_s'] / max(s['cpu_s'], 1e-9):.1f}x |", flush=True)
        rows.append({"instance": name, "optimum": opt, **{f"siting_{k}": v for k, v in s.items()},
                     **{f"highs_{k}": v for k, v in h.items()}})
    args.csv.parent.mkdir(parents=True, exist_ok=True)
    with args.csv.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
