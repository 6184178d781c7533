"""Where does the city-size multi-service gap live? The bound and the plan split by reach components.

With the budget priced at the Lagrangian's ``mu`` and its cover-row multipliers ``u`` fixed, the bound of
:mod:`siting.models.multiservice_lagrange` is a sum over the connected components of the buildings' reach graph
(two buildings joined when an active demand point reaches both; every point's reach lies in one component;
:class:`siting.models.multiservice_components.Shortfalls`, which the core MIPs use to pick components):

    bound = mu B + offset + sum_c L_c,    L_c = sum_{i in c} (value_i - u_i)^+ + sum_{j in c} term_j.

A plan splits the same way: plan = offset + sum_c plan_c + mu (spend - B) ... with plan_c = what it covers in c
minus ``mu`` times what it spends there, so bound - plan = sum_c (L_c - plan_c) + mu (B - spend). For every
component where the plan is below ``L_c`` this script solves the component's *priced* program exactly (HiGHS on the
program itself: its buildings free, every other building closed, the budget row dropped and ``mu`` times the cost
taken from the objective, the demand rows aggregated as in the core MIPs of :mod:`siting.models.multiservice_core`)
and splits ``L_c - plan_c`` into the Lagrangian's looseness (``L_c`` - the priced optimum or HiGHS's bound) and the
plan's shortfall (the priced optimum - ``plan_c``; a budget-constrained optimum need not reach it).

Plain variant only. Prints a markdown table with the load.

Usage::

    .venv/bin/python benchmarks/multiservice_components.py --case 150k --seed 2 --time-limit 300 --solve-s 120
    .venv/bin/python benchmarks/multiservice_components.py --case 20k --time-limit 60 --solve-s 30
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from multiservice_local_checks import print_rows, solve_and_keep  # noqa: E402

#: components of at least this many buildings are reported one by one
LARGE = 500


def split(kept: dict[str, Any], params, bound_s: float, solve_s: float) -> list[tuple[str, str]]:
    """The module notes' split of bound - plan on the kept plan; (figure, value) rows."""
    from siting.backends import get_backend
    from siting.backends._child import IN_CHILD_KEY
    from siting.models import multiservice_core as core
    from siting.models.multiservice_components import Shortfalls, building_spend, placements
    from siting.models.multiservice_lagrange import lagrange_bound, year_money
    from siting.models.multiservice_regions import building_columns
    from siting.options import SolveOptions

    built, reach, x, rules = kept["built"], kept["reach"], kept["x"], kept["rules"]
    program = built.program
    value = program.objective_value(x)
    began = time.perf_counter()
    found = lagrange_bound(reach, params, rules.counts, target=value - reach.offset,
                           deadline=time.perf_counter() + bound_s)
    shares = Shortfalls.at(reach, found)
    if shares is None:
        return [("split", "the bound kept no split")]
    money = year_money(params)[-1]
    label, lc, mu = shares.label, shares.bound_c, shares.price
    n_comp = lc.shape[0]
    total = shares.total(reach, money)
    rows = [("plan / Lagrangian at (u, mu)", f"{value:.6f} / {total:.6f} (searched {found.bound:.6f}, "
                                             f"{found.iterations} it, {time.perf_counter() - began:.0f} s)")]
    # the plan's share of each component: what it covers there, less mu times what it spends there
    spend = building_spend(built, reach, x)
    plan_c = shares.plan_shares(reach, placements(built, reach, x), spend)
    rows.append(("bound - plan = sum (L_c - plan_c) + mu (B - spend)",
                 f"{total - value:.6f} = {float((lc - plan_c).sum()):.6f} + {mu * (money - spend.sum()):.6f}"))

    # the priced program: no budget row, mu times the cost off the objective; nothing converted to start from
    budget = (program.constraints @ built.plan_cost > 0) & np.isfinite(program.row_upper) & (program.row_upper > 0)
    priced = replace(program, objective=program.objective - mu * built.plan_cost,
                     row_upper=np.where(budget, np.inf, program.row_upper))
    empty = np.maximum(program.col_lower, 0.0)
    empty = built.polish(empty) if built.polish is not None else empty
    covers, by_column = core.cover_columns(priced), priced.constraints.tocsc()
    base = priced.objective_value(empty)
    size = np.bincount(label, minlength=n_comp)
    short = np.flatnonzero(lc - plan_c > 1e-7)
    small = [c for c in short if size[c] < LARGE]
    looseness = shortfall = 0.0
    began = time.perf_counter()
    for c in short[np.argsort(-size[short])]:
        inside = label == c
        agg = core.aggregate(priced, building_columns(built, reach, ~inside, 1), empty, covers, by_column)
        # in this process: HiGHS overruns its limit on the large ones, and a child killed at the limit keeps no bound
        sol = get_backend("highs").solve(agg.program, SolveOptions(time_limit_s=solve_s, mip_gap=1e-7,
                                                                   secondary="none",
                                                                   backend_options={"highs": {IN_CHILD_KEY: True}}))
        best = None if sol.objective is None else sol.objective - base
        upper = sol.bound if sol.bound is not None else sol.objective
        top = None if upper is None else upper - base
        if top is None:
            rows.append((f"component of {size[c]:,} buildings", f"L_c {lc[c]:.6f}, plan_c {plan_c[c]:.6f}; HiGHS "
                                                                f"{sol.termination.value}: no bound"))
            continue
        if c in small and sol.termination.value == "optimal":
            looseness += lc[c] - top
            shortfall += top - plan_c[c]
            continue
        rows.append((f"component of {size[c]:,} buildings",
                     f"L_c {lc[c]:.6f}, plan_c {plan_c[c]:.6f} (L_c - plan_c {lc[c] - plan_c[c]:.6f}, "
                     f"{100 * (lc[c] - plan_c[c]) / lc[c]:.1f} % of L_c); HiGHS {sol.termination.value}: "
                     f"plan {'none' if best is None else f'{best:.6f}'}, bound {top:.6f}"))
    rows.insert(2, (f"{n_comp - len(short):,} components where the plan equals L_c; {len(small)} smaller below it",
                    f"L_c - plan_c {float((lc - plan_c)[small].sum()):.6f}: the Lagrangian's looseness "
                    f"{looseness:.6f}, the plan's shortfall against the priced optimum {shortfall:.6f}"))
    rows.append(("priced component MIPs", f"{len(short)} ({time.perf_counter() - began:.0f} s)"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="150k")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--bound-s", type=float, default=90.0, help="time of the Lagrangian search")
    parser.add_argument("--solve-s", type=float, default=30.0, help="time limit of each component's MIP")
    args = parser.parse_args(argv)
    from siting.models.multiservice import MultiserviceParams
    from siting.rules import SiteRules

    kept = solve_and_keep(args.case, args.seed, args.time_limit)
    result = kept["result"]
    rows = [("solve", f"{result.objective:.6f}, bound {result.best_bound:.6f}, gap {100 * result.gap:.2f} %")]
    if "x" not in kept:
        rows.append(("split", "the warm start ran no core MIPs: no plan kept"))
    else:
        from multiservice_scale_bench import params_of

        params = MultiserviceParams.from_kwargs(params_of(kept["instance"], False, args.seed))
        kept["rules"] = SiteRules.of(kept["instance"])
        rows += split(kept, params, args.bound_s, args.solve_s)
    print_rows(args.case, args.seed, args.time_limit, rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
