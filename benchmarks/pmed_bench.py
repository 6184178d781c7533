"""OR-Library pmed benchmark: siting p-median / p-center against the known optima, the older formulation,
plain HiGHS and spopt.

Usage (from the repository root)::

    .venv/bin/python benchmarks/pmed_bench.py --pmedian 1,5,10,17,20,30,40 --pcenter '' --spopt ''
    .venv/bin/python benchmarks/pmed_bench.py --pmedian 1-40 --peers '' --time-limit 60   # radius only
    .venv/bin/python benchmarks/pmed_bench.py --pmedian 1-5 --pcenter 1-3 --spopt 1-3 --csv out.csv

Prints one table per part. ``lag_bound`` = the root Lagrangian bound, ``nodes`` = Lagrangian branch-and-bound
nodes, ``mips`` = truncated radius MIPs solved (0: the Lagrangian stage proved it alone).
The p-median table has the default search (``formulation="auto"``: the iterative
radius formulation, :mod:`siting.models.pmedian_radius`) beside, for the instances in ``--peers``, the one-program
``assignment`` formulation (siting's former default, with its greedy warm start) and plain HiGHS on the textbook
model (``x_ij <= y_j``, x continuous, no start), each under ``--peer-limit`` seconds;
``x_assign`` / ``x_highs`` = their seconds / the radius seconds (> 1: radius faster; a peer stopped by its limit
shows ``>=``). For spopt, ``ratio`` = spopt seconds / siting seconds (> 1: siting is faster).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from targets import target_line  # noqa: E402

from siting.data.orlib import read_pmed  # noqa: E402
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


def plain_highs(inst, p: int, time_limit_s: float) -> tuple[float, float, bool]:
    """The textbook p-median program straight into highspy: (objective, seconds, proven optimal)."""
    import highspy
    import scipy.sparse as sp

    t0 = time.perf_counter()
    tr = inst.travel
    n, npairs = inst.n_sites, tr.minutes.shape[0]
    pair = np.arange(npairs)
    assign = sp.csr_matrix((np.ones(npairs), (tr.demand_index, n + pair)), shape=(inst.n_demand, n + npairs))
    link = sp.csr_matrix((np.tile([1.0, -1.0], npairs), (np.repeat(pair, 2),
                          np.column_stack([n + pair, tr.site_index]).ravel())), shape=(npairs, n + npairs))
    count = sp.csr_matrix((np.ones(n), (np.zeros(n, int), np.arange(n))), shape=(1, n + npairs))
    a = sp.vstack([assign, link, count], format="csc")
    lo = np.concatenate([np.ones(inst.n_demand), np.full(npairs, -np.inf), [p]])
    up = np.concatenate([np.ones(inst.n_demand), np.zeros(npairs), [p]])
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(time_limit_s))
    h.passModel(n + npairs, a.shape[0], int(a.nnz), int(highspy.MatrixFormat.kColwise),
                int(highspy.ObjSense.kMinimize), 0.0,
                np.concatenate([np.zeros(n), inst.demand.population[tr.demand_index] * tr.minutes]),
                np.zeros(n + npairs), np.ones(n + npairs), lo, up, a.indptr.astype(np.int32),
                a.indices.astype(np.int32), a.data.astype(float),
                np.concatenate([np.ones(n), np.zeros(npairs)]).astype(np.int32))
    h.run()
    proven = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return float(h.getInfo().objective_function_value), time.perf_counter() - t0, proven


def _secs(sec: float, proven: bool) -> str:
    return f"{sec:.2f}" if proven else f">={sec:.0f}"


def pmedian_table(ks: list[int], peers: set[int], opt, args, opts) -> list[dict]:
    """The p-median table: default (radius) search, and the peers on the instances in ``peers``."""
    print(f"\n## pmedian (radius = default formulation 'auto'; peers under {args.peer_limit:.0f} s)")
    print(f"{'inst':>7} {'n':>4} {'p':>3} {'optimum':>8} {'siting':>8} {'match':>5} {'status':>10} {'radius_s':>9} "
          f"{'assign_s':>9} {'highs_s':>9} {'x_assign':>8} {'x_highs':>8} {'lag_bound':>9} {'nodes':>5} {'mips':>4}")
    rows = []
    peer_opts = SolveOptions(time_limit_s=args.peer_limit)
    for k in ks:
        name = f"pmed{k}"
        inst, p = read_pmed(ROOT / f"{name}.txt")
        t0 = time.perf_counter()
        r = solve_pmedian(inst, p=p, backend=args.backend, options=opts)
        sec = time.perf_counter() - t0
        val = r.objective if r.has_solution else float("nan")
        match = bool(r.has_solution and abs(val - opt[name]) < 1e-6)
        row = dict(part="pmedian", instance=name, n=inst.n_demand, p=p, optimum=opt[name], siting=val, match=match,
                   status=str(r.status), gap=r.gap, siting_s=sec, formulation=r.stats.get("formulation"),
                   lagrangian_bound=(r.stats.get("lagrangian") or {}).get("bound"),
                   branch_nodes=(r.stats.get("branch") or {}).get("nodes"),
                   mip_rounds=sum(1 for x in r.stats.get("rounds", []) if "termination" in x))
        lag = "-" if row["lagrangian_bound"] is None else f"{row['lagrangian_bound']:.1f}"
        nodes = "-" if row["branch_nodes"] is None else str(row["branch_nodes"])
        cells = ["-"] * 4
        if k in peers:
            t0 = time.perf_counter()
            a = solve_pmedian(inst, p=p, backend=args.backend, options=peer_opts, formulation="assignment")
            a_s, a_ok = time.perf_counter() - t0, str(a.status) == "optimal"
            h_val, h_s, h_ok = plain_highs(inst, p, args.peer_limit)
            row.update(assignment_s=a_s, assignment_proven=a_ok, assignment=a.objective, highs_s=h_s,
                       highs_proven=h_ok, highs=h_val)
            cells = [_secs(a_s, a_ok), _secs(h_s, h_ok), f"{a_s / sec:.1f}", f"{h_s / sec:.1f}"]
        rows.append(row)
        print(f"{name:>7} {inst.n_demand:>4} {p:>3} {opt[name]:>8} {val:>8.0f} {str(match):>5} {str(r.status):>10} "
              f"{sec:>9.2f} {cells[0]:>9} {cells[1]:>9} {cells[2]:>8} {cells[3]:>8} {lag:>9} {nodes:>5} "
              f"{row['mip_rounds']:>4}", flush=True)
    done = [x for x in rows if x["match"] and x["status"] == "optimal"]
    slowest = max(rows, key=lambda x: x["siting_s"], default=None)
    within = [x for x in done if x["siting_s"] <= args.time_limit]
    print(f"# proven optimal and equal to OR-Library: {len(done)}/{len(rows)} ({len(within)} within "
          f"{args.time_limit:.0f} s); slowest {slowest['instance'] if slowest else '-'} "
          f"{slowest['siting_s'] if slowest else 0:.1f} s; load {os.getloadavg()}")
    if len(rows) == 40:  # the target is about the whole set
        print(target_line("pmed", proven=len(within), instances=len(rows),
                          worst_s=slowest["siting_s"] if slowest else 0.0))
    return rows


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
    ap.add_argument("--peers", default="1,5,10,17,20,30,40",
                    help="instances with the assignment formulation and plain HiGHS beside ('' to skip)")
    ap.add_argument("--peer-limit", type=float, default=120.0, help="seconds for each peer solve")
    ap.add_argument("--time-limit", type=float, default=300.0)
    ap.add_argument("--backend", default="highs")
    ap.add_argument("--csv", default=None)
    args = ap.parse_args(argv)
    opts = SolveOptions(time_limit_s=args.time_limit)
    pm_opt = pd.read_csv(ROOT / "known_optima.csv").set_index("instance")["optimum"]
    pc_opt = pd.read_csv(ROOT / "known_pcenter_optima.csv").set_index("instance")["optimum"]
    print(f"# pmed benchmark  backend={args.backend}  time_limit={args.time_limit}s  load={os.getloadavg()}")
    rows = pmedian_table(span(args.pmedian), set(span(args.peers)), pm_opt, args, opts)
    for kind, ks, opt in (("pcenter", span(args.pcenter), pc_opt),):
        print(f"\n## {kind}\n{'inst':>7} {'n':>4} {'p':>3} {'optimum':>8} {'siting':>9} {'match':>5} {'status':>10} {'gap':>8} {'sec':>8}")
        for k in ks:
            name = f"pmed{k}"
            inst, p = read_pmed(ROOT / f"{name}.txt")
            t0 = time.perf_counter()
            r = solve_pcenter(inst, p=p, backend=args.backend, options=opts)
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
