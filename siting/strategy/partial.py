r"""Partial covering's heuristic phase: the LP bound, then plans and bounds from the MCLP at budgets.

Partial covering asks the cheapest plan covering a target weight :math:`T`; the MCLP asks the most weight a
budget :math:`B` buys. They answer each other: an MCLP plan at :math:`B` that covers :math:`T` is a partial plan
costing at most :math:`B`, and an MCLP *upper bound* below :math:`T` at :math:`B` proves every partial plan costs
more than :math:`B`. The MCLP side of the library (volume bound, swaps, core MIPs) is far stronger than partial's
own greedy and Lagrangian repairs, so the search asks it at budgets between the bound and the incumbent's cost:
a tenth of the way up from the bound (optima lie near the LP), halfway when the last MCLP was proven (bisection).
A step whose MCLP plan falls short of :math:`T` is completed by the covering greedy and kept when cheaper.

Measured (``benchmarks/partial_bench.py``, generated cities, 90 % target): 60,000 x 5,000 in 60 s, gap 4.2 % ->
0.7 %; 20,000 x 2,000 in 20 s, 3.2 % -> 0.6-0.9 % (``models/partial.md``).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..heuristics import CoverArrays, lagrangian, local_search
from ..heuristics.greedy import greedy_cover
from ..heuristics.knapsack import rounding_margin
from ..heuristics.partial_lp import lp_partial_dual
from ..interrupt import expired
from ..options import SolveOptions
from ..problem import CoverageOutcome, CoverageProblem, ModelType
from ..status import Termination
from .best import _Best

__all__ = ["cost_grid", "MclpSolver"]

#: how the search solves an MCLP: :func:`siting.strategy.solve_coverage` with the caller's backend, handed in by
#: the orchestrator (this module cannot import it: the orchestrator runs this phase)
MclpSolver = Callable[[CoverageProblem, SolveOptions], CoverageOutcome]

#: the LP bound's share of the phase's time (it stops there and the subgradient takes over)
LP_SHARE = 0.3
#: without a time limit: the LP only up to this many nonzeros (as LSCP's), the budget search this long
LP_UNLIMITED_MAX_NNZ = 200_000
SEARCH_DEFAULT_TIME_S = 60.0
#: each MCLP step gets this share of the search's time left, and at least MIN_STEP_S (no step starts with less)
STEP_SHARE = 0.75
MIN_STEP_S = 2.0
#: where in [floor, incumbent] a step's budget lies
STEP_POSITION = 0.1


def _partial_phase(q: CoverageProblem, arr: CoverArrays, x: np.ndarray | None, options: SolveOptions,
                   time_s: float | None, iterations: int, stats: dict[str, Any], solve: MclpSolver | None) -> _Best:
    """The bound (the LP's :math:`L(u)`, else the subgradient with repairs), then :func:`_budget_search`.

    ``solve`` None (the small problems ``auto`` sends to the MIP): the subgradient with repairs only, as before.
    """
    search = solve is not None
    t0 = time.perf_counter()

    def left(share: float = 1.0) -> float | None:
        return None if time_s is None else share * max(0.0, time_s - (time.perf_counter() - t0))

    dual = None
    if search and (time_s is not None or q.coverage.nnz <= LP_UNLIMITED_MAX_NNZ):
        dual = lp_partial_dual(q, arrays=arr, time_limit_s=left(LP_SHARE))
    if dual is None:
        lag = lagrangian(q, incumbent=x, arrays=arr, seed=options.seed, time_limit_s=left(LP_SHARE if search else 1),
                         iterations=iterations, repairs=5)
        stats.update(lagrangian_bound=lag.bound, lagrangian_iterations=lag.iterations,
                     lagrangian_seconds=lag.seconds, bound_method="subgradient")
        plan, value, bound = lag.best_plan, lag.best_value, lag.bound
        method = "greedy+local_search+lagrangian"
    else:
        stats.update(lagrangian_bound=dual.bound, lagrangian_iterations=dual.iterations,
                     lagrangian_seconds=dual.seconds, bound_method="lp")
        plan, value, bound = x, None if x is None else q.value_of(x), dual.bound
        method = "greedy+local_search+lp"
    best = _Best(plan, value, bound if np.isfinite(bound) else None, Termination.HEURISTIC, method)
    if solve is None or bound == np.inf:     # +inf: the target is out of reach
        return best
    search_s = left()
    return _budget_search(q, best, arr, options, SEARCH_DEFAULT_TIME_S if search_s is None else search_s, stats,
                          solve)


def _budget_search(q: CoverageProblem, best: _Best, arr: CoverArrays, options: SolveOptions, time_s: float,
                   stats: dict[str, Any], solve: MclpSolver) -> _Best:
    """MCLP solves at budgets between ``best.bound`` and ``best.value`` for ``time_s`` (module text).

    Returns the best plan found and the highest bound proven; ``stats["budget_search"]`` lists the steps (budget,
    covered weight, its bound, seconds, what the step gave).
    """
    deadline = time.perf_counter() + time_s
    plan = best.plan
    # without a plan (the greedy broke the budget or the site limit) the first step asks at the whole budget
    whole = float(q.budget) if q.budget is not None else float(q.site_cost[~q.fixed_closed].sum())
    hi = whole if plan is None or best.value is None else float(best.value)
    lo = 0.0 if best.bound is None else float(best.bound)     # costs are never negative
    # every plan's cost is a multiple of the grid (whole yuan, or 1,000 yuan when every cost is): a plan dearer
    # than B costs at least the next multiple above B, and budgets are multiples
    grid = cost_grid(q.site_cost[~q.fixed_closed])
    if grid:
        lo = float(np.ceil(lo / grid - rounding_margin(lo / grid))) * grid
    short = lo                 # the largest budget whose MCLP plan fell short of the target
    target = q.target_weight
    steps: list[dict[str, Any]] = []
    stats["budget_search"] = steps
    tolerance = max(options.mip_gap, 1e-9) * max(1.0, abs(hi))
    inner = replace(options, secondary="none")
    exact = False              # the last step's MCLP was solved to optimality: bisect in the middle
    while not expired(deadline):
        # without a plan, one step at the whole budget unless the bound already exceeds it
        if (lo > whole + tolerance) if plan is None else (hi - lo <= tolerance):
            break
        left = deadline - time.perf_counter()
        if left < MIN_STEP_S:
            break
        # above the last shortfall, unless a completed plan has since come in below it
        floor = short if lo <= short < hi else lo
        budget = floor + (0.5 if exact else STEP_POSITION) * (hi - floor)
        if grid:
            budget = max(float(np.floor(budget / grid)) * grid, lo)
        if plan is None:
            budget = hi
        if q.budget is not None:
            budget = min(budget, float(q.budget))
        t0 = time.perf_counter()
        mclp = q.with_(model=ModelType.MCLP, budget=budget, target_coverage=None)
        out = solve(mclp, replace(inner, time_limit_s=max(MIN_STEP_S, STEP_SHARE * left)))
        step: dict[str, Any] = {"budget": budget, "covered": out.objective, "covered_bound": out.bound}
        steps.append(step)
        exact = out.termination is Termination.OPTIMAL
        # no plan within the budget covers the target (infeasible: the fixed-open sites alone cost more)
        if out.termination is Termination.INFEASIBLE or \
                (out.bound is not None and out.bound < target - 1e-9 * max(1.0, target)):
            lo = max(lo, budget + grid)
            step["gave"] = "bound"
        found = out.open_sites
        if found is not None and out.objective is not None and out.objective < target:
            short = max(short, budget)
            found = greedy_cover(q, start=found, arrays=arr, seed=options.seed)
        if found is not None:
            found = local_search(q, found, arrays=arr, seed=options.seed)
            if q.covered_weight(found) >= target - 1e-9 * max(1.0, target) and \
                    (plan is None or q.value_of(found) < hi):
                plan, hi = found, q.value_of(found)
                step["gave"] = step.get("gave", "") + "plan"
        step["seconds"] = time.perf_counter() - t0
        if plan is None:    # not even the whole budget gave a plan: smaller ones will not
            break
    method = best.method + "+budget_search" if steps else best.method
    if plan is None:
        # the bound above the budget, or an MCLP bound below the target at it: no plan within it covers the target
        proven = lo > whole + tolerance or (bool(steps) and "bound" in steps[-1].get("gave", ""))
        stats["budget_search_value"] = None
        if proven:
            stats["message"] = "no plan within the budget and site limit covers the target (a bound proves it)"
        return replace(best, termination=Termination.INFEASIBLE if proven else best.termination, method=method)
    stats.update(budget_search_value=hi, budget_search_bound=lo)
    bound = lo if best.bound is not None or lo > 0 else None
    return replace(best, plan=plan, value=hi, bound=bound, method=method)


def cost_grid(costs: np.ndarray) -> float:
    """The largest ``g`` every cost is a whole multiple of (0.0 when a cost is not a whole number).

    Examples
    --------
    >>> cost_grid(np.array([3000.0, 12000.0, 0.0])), cost_grid(np.array([2.0, 3.0])), cost_grid(np.array([1.5]))
    (3000.0, 1.0, 0.0)
    """
    c = np.asarray(costs, dtype=np.float64)
    if c.size == 0 or not np.all(c == np.round(c)) or np.abs(c).max() >= 2.0 ** 53:
        return 0.0
    whole = np.abs(c).astype(np.int64)
    g = int(np.gcd.reduce(whole)) if whole.any() else 1
    return float(g)
