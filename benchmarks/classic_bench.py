"""Classic instances: SJC MCLP (p = 1..12, S = 800 / 1200, five instances) and OR-Library set covering.

Reference values come from the files in ``../shared/instances`` (see their READMEs):

* ``sjc-mclp/computed_mclp_optima_highs.csv`` -- optimal covered demand computed with HiGHS (not published
  values); covered iff Euclidean distance ``d <= S`` (compared in squared integer metres, so the pair at
  exactly 1200 m counts as covered). Every point is a demand point and a candidate; ``max_sites = p``.
* ``orlib-scp/known_optima.csv`` -- proven optima of the weighted (column-cost) problems scp41, scp51, scp54,
  scpa2, scpb1. The unit-cost variants have no reference value in that folder; ``--unicost`` solves them and
  prints value and bound only.

Usage::

    .venv/bin/python benchmarks/classic_bench.py                 # SJC (auto strategy) + scp weighted
    .venv/bin/python benchmarks/classic_bench.py --strategy heuristic
    .venv/bin/python benchmarks/classic_bench.py --only scp --unicost --time-limit 60
"""
from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from siting.options import SolveOptions  # noqa: E402
from siting.problem import CoverageProblem, ModelType  # noqa: E402
from siting.strategy import solve_coverage  # noqa: E402

ROOT = Path(__file__).resolve().parents[2] / "shared" / "instances"


def read_sjc(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2) coordinates and (n,) demand of an SJC file."""
    lines = path.read_text().split("\n")
    n = int(lines[0].split()[0])
    data = np.array([[float(v) for v in line.split()[:3]] for line in lines[1:n + 1]])
    return data[:, :2], data[:, 2]


def sjc_problem(xy: np.ndarray, demand: np.ndarray, radius: float, p: int) -> CoverageProblem:
    d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)   # n <= 818: a dense n x n is fine here
    cov = sp.csr_matrix(d2 <= radius * radius)
    n = xy.shape[0]
    return CoverageProblem(ModelType.MCLP, cov, demand.astype(float), np.ones(n), np.zeros(n, bool),
                           np.zeros(n, bool), np.ones(n, bool), max_sites=p, total_weight=float(demand.sum()))


def read_scp(path: Path) -> tuple[sp.csr_matrix, np.ndarray]:
    """OR-Library scp format -> (rows x columns bool CSR, column costs)."""
    tok = np.array(path.read_text().split(), dtype=np.int64)
    m, n = int(tok[0]), int(tok[1])
    cost = tok[2:2 + n].astype(float)
    pos = 2 + n
    rows, cols = [], []
    for i in range(m):  # m <= 300 rows; each row's columns are read as one slice
        k = int(tok[pos])
        cols.append(tok[pos + 1:pos + 1 + k] - 1)
        rows.append(np.full(k, i))
        pos += 1 + k
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.ones(r.size, bool), (r, c)), shape=(m, n)), cost


def scp_problem(cov: sp.csr_matrix, cost: np.ndarray) -> CoverageProblem:
    m, n = cov.shape
    return CoverageProblem(ModelType.LSCP, cov, np.ones(m), cost, np.zeros(n, bool), np.zeros(n, bool),
                           np.ones(n, bool), total_weight=float(m))


def _fmt(v):
    return "-" if v is None else f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"


def run_sjc(strategy: str, backend: str, time_limit: float | None) -> int:
    ref = {}
    with open(ROOT / "sjc-mclp" / "computed_mclp_optima_highs.csv") as fh:
        for row in csv.DictReader(fh):
            ref[(row["instance"], int(row["S"]), int(row["p"]))] = float(row["covered_demand"])
    print(f"\n### SJC MCLP, strategy {strategy}, backend {backend}  (load avg "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})\n")
    print("| instance | S | p | reference | siting | bound | match | strategy used | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    misses = 0
    total_s = 0.0
    for name in ("SJC324", "SJC402", "SJC500", "SJC708", "SJC818"):
        xy, demand = read_sjc(ROOT / "sjc-mclp" / f"{name}.txt")
        for radius in (800, 1200):
            for p in range(1, 13):
                prob = sjc_problem(xy, demand, radius, p)
                out = solve_coverage(prob, strategy=strategy, backend=backend,
                                     options=SolveOptions(time_limit_s=time_limit, mip_gap=0.0))
                want = ref[(name, radius, p)]
                ok = out.objective is not None and abs(out.objective - want) < 1e-6
                misses += not ok
                total_s += out.seconds
                print(f"| {name} | {radius} | {p} | {_fmt(want)} | {_fmt(out.objective)} | {_fmt(out.bound)} | "
                      f"{'yes' if ok else 'NO'} | {out.stats['strategy']} | {out.seconds:.2f} |", flush=True)
    print(f"\nSJC: {120 - misses}/120 reference optima reproduced, {total_s:.1f} s in total")
    return misses


def run_scp(strategy: str, backend: str, time_limit: float | None, unicost: bool) -> int:
    print(f"\n### OR-Library scp (LSCP), strategy {strategy}, backend {backend}  (load avg "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})\n")
    print("| instance | costs | rows x cols | reference | siting | bound | match | presolve (rows, cols removed) "
          "| seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    misses = 0
    with open(ROOT / "orlib-scp" / "known_optima.csv") as fh:
        known = {row["instance"]: float(row["optimum"]) for row in csv.DictReader(fh)}
    for name, want in known.items():
        cov, cost = read_scp(ROOT / "orlib-scp" / f"{name}.txt")
        variants = [("file", cost, want)] + ([("unit", np.ones_like(cost), None)] if unicost else [])
        for label, c, ref in variants:
            out = solve_coverage(scp_problem(cov, c), strategy=strategy, backend=backend,
                                 options=SolveOptions(time_limit_s=time_limit, mip_gap=0.0))
            ok = ref is not None and out.objective is not None and abs(out.objective - ref) < 1e-6
            if ref is not None:
                misses += not ok
            pre = out.stats["presolve"]
            removed = (sum(v["rows_removed"] for v in pre.values()), sum(v["cols_removed"] for v in pre.values()))
            print(f"| {name} | {label} | {cov.shape[0]} x {cov.shape[1]} | {_fmt(ref)} | {_fmt(out.objective)} | "
                  f"{_fmt(out.bound)} | {'yes' if ok else ('NO' if ref is not None else 'n/a')} | {removed} | "
                  f"{out.seconds:.2f} |", flush=True)
    return misses


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="SJC MCLP and OR-Library scp benchmark")
    ap.add_argument("--only", choices=["sjc", "scp"], default=None)
    ap.add_argument("--strategy", default="auto")
    ap.add_argument("--backend", default="highs")
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--unicost", action="store_true", help="also solve the scp instances with unit costs")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    misses = 0
    if args.only in (None, "sjc"):
        misses += run_sjc(args.strategy, args.backend, args.time_limit)
    if args.only in (None, "scp"):
        misses += run_scp(args.strategy, args.backend, args.time_limit, args.unicost)
    print(f"\n{misses} reference value(s) missed; {time.perf_counter() - t0:.1f} s")
    return 0 if misses == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
