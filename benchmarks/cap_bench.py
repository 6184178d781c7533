"""OR-Library capacitated warehouse location (cap41-cap134): siting's CFLP against Beasley's capopt optima.

Usage (from the repository root)::

    .venv/bin/python benchmarks/cap_bench.py                 # all 37 CFLP instances cap41..cap134
    .venv/bin/python benchmarks/cap_bench.py --only cap41,cap101 --backend cbc --csv out.csv

Demand may be split (continuous assignment), as in capopt. capa/capb/capc are not run (too large).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

from siting.data.orlib import read_cap
from siting.models.cflp import solve_cflp
from siting.options import SolveOptions

ROOT = Path(__file__).resolve().parents[2] / "shared" / "instances" / "orlib-cap"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated instance names")
    ap.add_argument("--backend", default="highs")
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--csv", default=None)
    args = ap.parse_args(argv)
    table = pd.read_csv(ROOT / "known_optima.csv").query("problem == 'CFLP' and capacity == 'file'")
    names = [n for n in table["instance"] if not args.only or n in args.only.split(",")]
    opt = table.set_index("instance")["optimum"]
    print(f"# cap benchmark  backend={args.backend}  load={os.getloadavg()}")
    print(f"{'inst':>7} {'m':>3} {'n':>4} {'optimum':>14} {'siting':>14} {'abs_diff':>9} {'match':>5} {'open':>4} {'sec':>6}")
    rows, total = [], 0.0
    for name in names:
        inst = read_cap(ROOT / f"{name}.txt")
        t0 = time.perf_counter()
        r = solve_cflp(inst, per_person=False, backend=args.backend,
                       options=SolveOptions(time_limit_s=args.time_limit))
        sec = time.perf_counter() - t0
        total += sec
        val = r.objective if r.has_solution else float("nan")
        diff = abs(val - opt[name]) if r.has_solution else float("nan")
        match = bool(diff <= 1e-3)
        rows.append(dict(instance=name, optimum=opt[name], siting=val, abs_diff=diff, match=match,
                         n_open=len(r.selected), seconds=sec, status=str(r.status)))
        print(f"{name:>7} {inst.n_sites:>3} {inst.n_demand:>4} {opt[name]:>14.3f} {val:>14.3f} {diff:>9.4f} "
              f"{str(match):>5} {len(r.selected):>4} {sec:>6.2f}" + ("" if r.has_solution else f"  {r.termination}: {r.message}"),
              flush=True)
    ok = sum(r["match"] for r in rows)
    print(f"\n{ok}/{len(rows)} match capopt to 1e-3; total {total:.1f} s; load after {os.getloadavg()}")
    if args.csv:
        pd.DataFrame(rows).to_csv(args.csv, index=False)
    return 0 if ok == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
