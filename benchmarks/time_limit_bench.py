"""Does ``time_limit`` cap the whole coverage solve? Wall time of MCLP / LSCP / partial under a limit.

The promise: a solve with ``SolveOptions(time_limit_s=T)`` returns within ``1.2 T + 2`` seconds under every
strategy (presolve, heuristics, MIP and verification included), on every backend. The instance is the
clustered city of ``generate.py`` with travel times up to ``--max-minutes``; the models cover within 15 min.

Usage::

    .venv/bin/python benchmarks/time_limit_bench.py                       # ~200k pairs, T = 1 s, highs + cbc
    .venv/bin/python benchmarks/time_limit_bench.py --demand 60000 --sites 5000 --limit 5
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import city_pairs, city_points  # noqa: E402

from siting import solve  # noqa: E402
from siting.backends import available_backends  # noqa: E402
from siting.data.instance import Demand, Instance, Sites, SiteStatus, TravelTimes  # noqa: E402
from siting.options import SolveOptions  # noqa: E402


def city_instance(n_demand: int, n_sites: int, *, max_minutes: float, seed: int) -> Instance:
    pts = city_points(n_demand, n_sites, seed=seed)
    i, j, t = city_pairs(pts, max_minutes)
    status = np.array([SiteStatus(s) for s in pts.site_status], dtype=object)
    demand = Demand(ids=np.array([f"d{k}" for k in range(n_demand)], dtype=object), population=pts.population,
                    x=pts.demand_xy[:, 0], y=pts.demand_xy[:, 1])
    sites = Sites(ids=np.array([f"s{k}" for k in range(n_sites)], dtype=object),
                  cost=np.where(status == SiteStatus.EXISTING, 0.0, pts.site_cost), x=pts.site_xy[:, 0],
                  y=pts.site_xy[:, 1], status=status)
    return Instance(demand, sites, TravelTimes(i.astype(np.int64), j.astype(np.int64), t.astype(float),
                                               n_demand, n_sites))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--demand", type=int, default=20_000)
    ap.add_argument("--sites", type=int, default=2_000)
    ap.add_argument("--max-minutes", type=float, default=15.0)
    ap.add_argument("--limit", type=float, default=1.0)
    ap.add_argument("--backends", nargs="+", default=["highs", "cbc"])
    ap.add_argument("--strategies", nargs="+", default=["auto", "exact", "hybrid", "heuristic"])
    ap.add_argument("--models", nargs="+", default=["mclp", "lscp", "partial"])
    args = ap.parse_args(argv)

    inst = city_instance(args.demand, args.sites, max_minutes=args.max_minutes, seed=1)
    budget = float(np.median(inst.sites.cost)) * 25
    params = {"mclp": {"threshold_min": 15, "budget": budget}, "lscp": {"threshold_min": 15},
              "partial": {"threshold_min": 15, "target_coverage": 0.8}}
    promise = 1.2 * args.limit + 2.0
    print(f"\n### time limit {args.limit:g} s, promise {promise:g} s; {inst.n_demand:,} x {inst.n_sites:,}, "
          f"{len(inst.travel):,} pairs (load avg {' '.join(f'{x:.2f}' for x in os.getloadavg())})\n")
    print("| model | backend | strategy | wall s | status | objective | bound | gap | within promise |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for backend in [b for b in args.backends if b in available_backends()]:
        for model in args.models:
            for strategy in args.strategies:
                t0 = time.perf_counter()
                r = solve(inst, model=model, backend=backend, strategy=strategy,
                          options=SolveOptions(time_limit_s=args.limit), **params[model])
                wall = time.perf_counter() - t0
                worst = max(worst, wall)
                gap = "-" if r.gap is None else f"{r.gap:.2%}"
                obj = "-" if r.objective is None else f"{r.objective:,.0f}"
                bound = "-" if r.best_bound is None else f"{r.best_bound:,.0f}"
                print(f"| {model} | {backend} | {strategy} | {wall:.2f} | {r.status} | {obj} | {bound} | {gap} | "
                      f"{'yes' if wall <= promise else 'NO'} |", flush=True)
    print(f"\nworst wall time {worst:.2f} s (promise {promise:g} s)")
    return 0 if worst <= promise else 1


if __name__ == "__main__":
    raise SystemExit(main())
