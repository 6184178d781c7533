"""Is the city-size multi-service plan locally optimal? Regional re-solves and money moved between regions.

The certified gap of the 150k case (plan vs the Lagrangian bound) does not say which side is loose. This script
solves a case through the driver, keeps the warm start's final plan, and asks two questions of it with exact
MIPs on the program itself (every other building fixed, the demand rows aggregated as in the core MIPs of
:mod:`siting.models.multiservice_core`):

1. **Regions**: the buildings split into ``--regions`` parts by k-means on their coordinates; each part
   re-planned alone (its buildings free, the budget row as it is). A plan that no region can improve is
   regionally optimal.
2. **Money between regions**: each region re-planned with the budget row raised by ``D`` (gain) and lowered by
   ``D`` (loss), ``D`` the median spend of a converted building. When the largest gain is below the smallest
   loss, no move of ``D`` from one region to another raises the objective (to the regions' precision); the
   best pair is tried anyway (the loss region first, then the gain region on the new plan, spending the money
   the first gave up) and verified.

Plain variant only (one budget row, no levels). Prints a markdown table with the load.

Usage::

    .venv/bin/python benchmarks/multiservice_local_checks.py --case 150k --seed 2 --time-limit 300
    .venv/bin/python benchmarks/multiservice_local_checks.py --case 20k --time-limit 120 --regions 10
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from multiservice_scale_bench import CASES, city_multiservice, params_of  # noqa: E402


def solve_and_keep(case: str, seed: int, time_limit_s: float) -> dict[str, Any]:
    """Solve the case; keep the warm start's program, reach and final plan (the core MIPs' answer)."""
    from siting.models import multiservice_heuristic as heuristic
    from siting.models.driver import solve_model
    from siting.models.multiservice import MODEL, MultiserviceParams
    from siting.options import SolveOptions

    kept: dict[str, Any] = {}
    real = heuristic.core_search

    def keeping(built, reach, x, n_phases, *args, **kwargs):
        out = real(built, reach, x, n_phases, *args, **kwargs)
        kept.update(built=built, reach=reach, x=out[0], n_phases=n_phases)
        return out

    n_demand, n_sites = CASES[case]
    instance = city_multiservice(n_demand, n_sites, seed=seed)
    params = MultiserviceParams.from_kwargs(params_of(instance, False, seed))
    heuristic.core_search = keeping
    try:
        result = solve_model(MODEL, instance, params, backend="highs",
                             options=SolveOptions(time_limit_s=time_limit_s, mip_gap=0.01))
    finally:
        heuristic.core_search = real
    kept.update(instance=instance, result=result)
    return kept


class _Regions:
    """Exact re-plans of one region of buildings, the rest of the plan fixed (see module notes)."""

    def __init__(self, built, reach, n_phases: int, labels: np.ndarray, solve_s: float) -> None:
        from siting.models import multiservice_core as core
        self.core, self.built, self.reach, self.n_phases = core, built, reach, n_phases
        self.labels, self.solve_s = labels, solve_s
        self.covers = core.cover_columns(built.program)
        self.by_column = built.program.constraints.tocsc()

    def solve(self, region: int, x: np.ndarray, shift: float) -> tuple[np.ndarray | None, str]:
        """The region's best plan with the budget row moved by ``shift`` (None: none found) and why it stopped."""
        from siting.backends import get_backend
        from siting.models.multiservice_regions import building_columns
        from siting.options import SolveOptions

        free = (self.labels == region) & self.reach.buildable
        agg = self.core.aggregate(self.built.program, building_columns(self.built, self.reach, ~free, self.n_phases),
                                  x, self.covers, self.by_column)
        program = agg.program
        # the budget row: the one row in yuan (floor-area rows are in m2 with a right-hand side of 0)
        spend = np.bincount(agg.column_of, weights=self.built.plan_cost[agg.free], minlength=program.n_cols)
        rows = program.constraints @ spend
        budget = np.flatnonzero(np.isfinite(program.row_upper) & (program.row_upper > 0) & (rows > 0))
        upper = program.row_upper.copy()
        upper[budget] += shift
        start = agg.start(x) if shift >= 0 else None
        sol = get_backend("highs").solve(replace(program, row_upper=upper),
                                         SolveOptions(time_limit_s=self.solve_s, mip_gap=1e-6, secondary="none"),
                                         warm_start=start)
        if sol.x is None:
            return None, str(sol.termination.value)
        y = agg.expand(sol.x, x)
        return (self.built.polish(y) if self.built.polish is not None else y), str(sol.termination.value)


def local_checks(kept: dict[str, Any], n_regions: int, solve_s: float) -> list[tuple[str, str]]:
    """The two checks of the module notes on the kept plan; (figure, value) rows."""
    from scipy.cluster.vq import kmeans2

    from siting.models.multiservice_components import building_spend

    built, reach, x = kept["built"], kept["reach"], kept["x"]
    program = built.program
    sites = kept["instance"].sites
    _, labels = kmeans2(np.column_stack([sites.x, sites.y]), n_regions, seed=1, minit="++")
    regions = _Regions(built, reach, kept["n_phases"], labels, solve_s)
    value = program.objective_value(x)
    rows: list[tuple[str, str]] = [("plan (warm start's final)", f"{value:.6f}")]

    began = time.perf_counter()
    proven = gained = 0
    best = value
    for r in range(n_regions):
        y, why = regions.solve(r, x, 0.0)
        proven += why == "optimal"
        if y is not None and program.max_violation(y, relative=True) <= 1e-7 and program.objective_value(y) > value:
            gained += 1
            best = max(best, program.objective_value(y))
    rows += [("regions re-planned alone", f"{n_regions} ({proven} proven optimal, {time.perf_counter() - began:.0f} s)"),
             ("regions that gain", f"{gained} (best {best:.6f}, +{100 * (best - value) / value:.3f} %)")]

    n_sites = reach.allowed.shape[0]
    last = program.blocks["site"][0]
    per_building = building_spend(built, reach, x)
    open_ = (x[last:last + n_sites] > 0.5) & reach.buildable
    delta = float(np.median(per_building[open_]))
    began = time.perf_counter()
    gain, loss = np.full(n_regions, -np.inf), np.full(n_regions, np.inf)
    for r in range(n_regions):
        y, _ = regions.solve(r, x, delta)
        if y is not None:
            gain[r] = program.objective_value(y) - value
        y, _ = regions.solve(r, x, -delta)
        if y is not None:
            loss[r] = value - program.objective_value(y)
    b = int(np.argmax(gain))
    others = np.where(np.arange(n_regions) == b, np.inf, loss)
    a = int(np.argmin(others))
    rows += [("money moved between regions: D", f"{delta:,.0f} yuan (median spend of a converted building)"),
             ("largest gain of +D / smallest loss of -D", f"{gain[b]:.3e} (region {b}) / {others[a]:.3e} (region {a}), "
                                                         f"{time.perf_counter() - began:.0f} s")]
    y, _ = regions.solve(a, x, -delta)
    moved = "no plan" if y is None else None
    if y is not None:
        z, _ = regions.solve(b, y, 0.0)         # the money region a gave up is the slack region b may spend
        ok = z is not None and program.max_violation(z, relative=True) <= 1e-7
        moved = f"{program.objective_value(z):.6f} ({'feasible' if ok else 'infeasible'})" if z is not None else "none"
    rows.append(("best pair tried (verified)", f"{moved} against {value:.6f}"))
    return rows


def print_rows(case: str, seed: int, time_limit_s: float, rows: list[tuple[str, str]]) -> None:
    """The (figure, value) rows as a markdown table under the case and the load."""
    print(f"\n{case} plain seed {seed}, {time_limit_s:.0f} s; load avg " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print("\n| figure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), default="150k")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--regions", type=int, default=40)
    parser.add_argument("--solve-s", type=float, default=5.0, help="time limit of each regional MIP")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    kept = solve_and_keep(args.case, args.seed, args.time_limit)
    result = kept["result"]
    rows = [("solve", f"{result.objective:.6f}, bound {result.best_bound:.6f}, gap {100 * result.gap:.2f} % "
                      f"({time.perf_counter() - began:.0f} s)")]
    if "x" not in kept:
        rows.append(("checks", "the warm start ran no core MIPs: nothing to check"))
    else:
        rows += local_checks(kept, args.regions, args.solve_s)
    print_rows(args.case, args.seed, args.time_limit, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
