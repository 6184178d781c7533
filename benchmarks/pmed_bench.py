"""OR-Library pmed benchmark: siting p-median / p-center against the known optima and against spopt.

Usage (from the repository root)::

    .venv/bin/python benchmarks/pmed_bench.py                      # pmed1-20 p-median, pmed1-10 p-center, spopt on pmed1-10
    .venv/bin/python benchmarks/pmed_bench.py --pmedian 1-40 --time-limit 600
    .venv/bin/python benchmarks/pmed_bench.py --pmedian 1-5 --pcenter 1-3 --spopt 1-3 --csv out.csv

Prints one table per part. ``ratio`` = spopt seconds / siting seconds (> 1: siting is faster).
spopt builds its PuLP model from a dense cost matrix and is solved here with PuLP's HiGHS API (the same
solver library siting calls through highspy), so the ratio measures model building plus solve.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from siting.data.orlib import read_pmed
from siting.models.pcenter import solve_pcenter
from siting.models.pmedian import solve_pmedian
from siting.options import SolveOptions

ROOT = Path(__file__).resolve().parents[2] / "shared" / "instances" / "orlib-pmed"


def span(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if part.strip():
            a, _, b = part.partition("-")
            out += list(range(int(a), int(b or a) + 1))
    return out


def dense(inst) -> np.ndarray:
    """spopt needs the dense matrix (benchmark only)."""
    t = np.full((inst.n_demand, inst.n_sites), 1e9)
    t[inst.travel.demand_index, inst.travel.site_index] = inst.travel.minutes
    return t


def run_spopt(kind: str, inst, p: int, solver: str):
    import pulp
    from spopt.locate import PCenter, PMedian

    t0 = time.perf_counter()
    cost = dense(inst)
    if kind == "pmedian":
        model = PMedian.from_cost_matrix(cost, np.ones(inst.n_demand), p_facilities=p)
    else:
        model = PCenter.from_cost_matrix(cost, p_facilities=p)
    t_build = time.perf_counter() - t0
    backend = pulp.HiGHS(msg=False) if solver == "highs" else pulp.PULP_CBC_CMD(msg=False)
    model.solve(backend, results=False)
    return float(pulp.value(model.problem.objective)), time.perf_counter() - t0, t_build


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pmedian", default="1-20")
    ap.add_argument("--pcenter", default="1-10")
    ap.add_argument("--spopt", default="1-10", help="instances for the spopt side-by-side ('' to skip)")
    ap.add_argument("--spopt-pcenter", default="1-5")
    ap.add_argument("--spopt-solver", default="highs", choices=["highs", "cbc"])
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--backend", default="highs")
    ap.add_argument("--csv", default=None)
    args = ap.parse_args(argv)
    opts = SolveOptions(time_limit_s=args.time_limit)
    pm_opt = pd.read_csv(ROOT / "known_optima.csv").set_index("instance")["optimum"]
    pc_opt = pd.read_csv(ROOT / "known_pcenter_optima.csv").set_index("instance")["optimum"]
    print(f"# pmed benchmark  backend={args.backend}  time_limit={args.time_limit}s  load={os.getloadavg()}")
    rows = []
    for kind, ks, opt in (("pmedian", span(args.pmedian), pm_opt), ("pcenter", span(args.pcenter), pc_opt)):
        print(f"\n## {kind}\n{'inst':>7} {'n':>4} {'p':>3} {'optimum':>8} {'siting':>9} {'match':>5} {'status':>10} {'gap':>8} {'sec':>8}")
        for k in ks:
            name = f"pmed{k}"
            inst, p = read_pmed(ROOT / f"{name}.txt")
            t0 = time.perf_counter()
            solve = solve_pmedian if kind == "pmedian" else solve_pcenter
            r = solve(inst, p=p, backend=args.backend, options=opts)
            sec = time.perf_counter() - t0
            val = r.objective if r.has_solution else float("nan")
            match = bool(r.has_solution and abs(val - opt[name]) < 1e-6)
            rows.append(dict(part=kind, instance=name, n=inst.n_demand, p=p, optimum=opt[name], siting=val,
                             match=match, status=str(r.status), gap=r.gap, siting_s=sec))
            gap = f"{r.gap:.2e}" if r.gap is not None else "-"
            print(f"{name:>7} {inst.n_demand:>4} {p:>3} {opt[name]:>8} {val:>9.0f} {str(match):>5} {str(r.status):>10} {gap:>8} {sec:>8.2f}",
                  flush=True)
    for kind, ks in (("pmedian", span(args.spopt)), ("pcenter", span(args.spopt_pcenter))):
        if not ks:
            continue
        print(f"\n## spopt {kind} side-by-side (spopt solver: pulp {args.spopt_solver})")
        print(f"{'inst':>7} {'siting':>8} {'spopt':>8} {'siting_s':>9} {'spopt_s':>9} {'spopt_build_s':>13} {'ratio':>6}")
        for k in ks:
            name = f"pmed{k}"
            inst, p = read_pmed(ROOT / f"{name}.txt")
            mine = next((r for r in rows if r["part"] == kind and r["instance"] == name), None)
            if mine is None:
                t0 = time.perf_counter()
                solve = solve_pmedian if kind == "pmedian" else solve_pcenter
                r = solve(inst, p=p, backend=args.backend, options=opts)
                mine = dict(siting=r.objective, siting_s=time.perf_counter() - t0)
            try:
                val, sec, build = run_spopt(kind, inst, p, args.spopt_solver)
            except Exception as exc:  # noqa: BLE001 - report and continue
                print(f"{name:>7} spopt failed: {exc}", file=sys.stderr)
                continue
            ratio = sec / mine["siting_s"]
            rows.append(dict(part=f"spopt_{kind}", instance=name, siting=mine["siting"], spopt=val,
                             siting_s=mine["siting_s"], spopt_s=sec, spopt_build_s=build, ratio=ratio))
            print(f"{name:>7} {mine['siting']:>8.0f} {val:>8.0f} {mine['siting_s']:>9.2f} {sec:>9.2f} {build:>13.2f} {ratio:>6.1f}",
                  flush=True)
    if args.csv:
        pd.DataFrame(rows).to_csv(args.csv, index=False)
    print(f"\n# load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
