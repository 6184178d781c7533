"""LSCP heuristic phase: greedy, the LP (or subgradient) Lagrangian dual, column-fixing dives, local search."""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from ..heuristics import CoverArrays, greedy, local_search
from ..heuristics.cft import column_fixing
from ..heuristics.cover_lp import lp_cover_dual
from ..heuristics.rwls import row_weighting_search
from ..heuristics.setcover import cover_dual
from ..options import SolveOptions
from ..problem import CoverageProblem
from ..status import Termination
from .best import _Best

#: LSCP without a time limit: the LP bound only up to this many nonzeros (the subgradient above)
LP_UNLIMITED_MAX_NNZ = 200_000
#: LSCP: subgradient steps from the LP duals (for covers; the LP already gives the bound), and their first step
POLISH_STEPS = 300
POLISH_STEP = 0.5
#: LSCP: at most this many column-fixing dives under a time limit (they also stop at it), and without one
DIVES = 20
DIVES_WITHOUT_LIMIT = 2
#: LSCP with equal costs: the row-weighting search (:mod:`siting.heuristics.rwls`) from this many sites + nonzeros
#: (the 5,000 x 500 spopt_compare cover, 3,200 entries, is proven by the MIP in 0.3 s, less than numba takes to load)
RWLS_MIN_ENTRIES = 5_000
#: ... and, while numba is not loaded yet, only with at least this many seconds for the phase or no limit (a fresh
#: install also compiles the search once: ~4 s of CPU)
RWLS_LOAD_MIN_S = 5.0


def _equal_costs(q: CoverageProblem) -> bool:
    """True when every free site costs the same.

    Then the LP duals are degenerate and dives find nothing better than the polished Lagrangian covers
    (spopt_compare 5k / 20k, measured).
    """
    cost = q.site_cost[~q.fixed_open & ~q.fixed_closed]
    return bool(cost.size == 0 or np.all(cost == cost[0]))


def _cover_phase(q: CoverageProblem, arr: CoverArrays, options: SolveOptions, time_s: float | None,
                 iterations: int, stats: dict[str, Any], *, dives: bool = True) -> _Best:
    """LSCP: greedy, the Lagrangian dual, then column-fixing dives and local search on the best cover.

    The dual is the LP's (:func:`siting.heuristics.cover_lp.lp_cover_dual`: the exact optimum of the Lagrangian
    dual, and exact reduced costs for the MIP phase's fixing), polished by subgradient steps from its duals for
    covers (not when ``dives`` is False); the subgradient alone (:func:`siting.heuristics.setcover.cover_dual`)
    when the LP is too large or does not finish. Dives (:func:`siting.heuristics.cft.column_fixing`) get what is left of ``time_s`` (at most
    :data:`DIVES_WITHOUT_LIMIT` without a limit); not with equal costs (:func:`_equal_costs`) nor when ``dives`` is
    False (the small problems ``auto`` sends to the MIP, which finds their optimum sooner than dives pay off).
    """
    t0 = time.perf_counter()
    method = "greedy"

    def left(share: float = 1.0) -> float | None:
        return None if time_s is None else share * max(0.0, time_s - (time.perf_counter() - t0))

    x = greedy(q, arrays=arr, seed=options.seed)
    stats["greedy_value"] = None if x is None else q.value_of(x)
    stats["greedy_seconds"] = time.perf_counter() - t0
    # without a time limit a large LP could run for minutes where the subgradient stops after `iterations` steps
    use_lp = time_s is not None or q.coverage.nnz <= LP_UNLIMITED_MAX_NNZ
    dual = lp_cover_dual(q, arrays=arr, time_limit_s=left(0.5), incumbent=x) if use_lp else None
    stats["lagrangian_method"] = "lp" if dual is not None else "subgradient"
    if dual is None:
        dual = cover_dual(q, arrays=arr, iterations=iterations, time_limit_s=left(), incumbent=x)
    elif dives and (dual.value is None or dual.value > dual.bound + 1e-9 * max(1.0, abs(dual.bound))):
        polish = cover_dual(q, arrays=arr, iterations=min(iterations, POLISH_STEPS), time_limit_s=left(0.4),
                            incumbent=dual.plan, multipliers=dual.multipliers, step=POLISH_STEP, heuristic_every=50)
        if polish.value is not None and (dual.value is None or polish.value < dual.value):
            dual = replace(dual, plan=polish.plan, value=polish.value)
    plan, value = dual.plan, dual.value
    method += "+lagrangian_cover" if stats["lagrangian_method"] == "subgradient" else "+lp_cover"
    stats.update(lagrangian_bound=dual.bound, lagrangian_iterations=dual.iterations,
                 lagrangian_seconds=time.perf_counter() - t0, lagrangian_value=value)
    if plan is not None and value is not None and value > dual.bound + 1e-9 * max(1.0, abs(value)) \
            and dives and not _equal_costs(q):
        dived = column_fixing(q, dual, arrays=arr, incumbent=plan, time_limit_s=left(),
                              max_dives=DIVES if time_s is not None else DIVES_WITHOUT_LIMIT, seed=options.seed)
        stats.update(dives=dived.dives, dives_value=dived.value, dives_seconds=dived.seconds)
        plan, value = dived.plan, dived.value
        dual = replace(dual, plan=plan, value=value)
        method += "+dives"
    if plan is not None and value is not None and _equal_costs(q) and q.n_sites + q.coverage.nnz >= RWLS_MIN_ENTRIES:
        plan, value, method = _row_weighting(q, arr, plan, value, dual.bound, options, left(), stats, method)
    if plan is not None:
        plan = local_search(q, plan, arrays=arr, seed=options.seed)
        value = q.value_of(plan)
    stats["local_search_value"] = value
    bound = dual.bound if np.isfinite(dual.bound) else None
    return _Best(plan, value, bound, Termination.HEURISTIC, method, dual)


def _row_weighting(q: CoverageProblem, arr: CoverArrays, plan: np.ndarray, value: float, bound: float,
                   options: SolveOptions, time_s: float | None, stats: dict[str, Any],
                   method: str) -> tuple[np.ndarray, float, str]:
    """The row-weighting search from ``plan`` until the Lagrangian bound, its stall limit or ``time_s``."""
    free = ~q.fixed_open & ~q.fixed_closed
    unit = float(q.site_cost[free][0]) if free.any() else 0.0
    if unit <= 0:
        return plan, value, method
    fixed_cost = float(q.site_cost[q.fixed_open].sum())
    # equal costs: no cover has fewer free sites than the bound's share of them, rounded up (after the float error
    # of a sum of that many costs: a target above the optimum would stop the search a site above it)
    sites = (bound - fixed_cost) / unit if np.isfinite(bound) else 0.0
    target = int(q.fixed_open.sum()) + int(np.ceil(sites - max(1e-9, 1e-11 * abs(sites))))
    found = row_weighting_search(q, plan, arr, time_limit_s=time_s, target=target, seed=options.seed,
                                 compile_ok=time_s is None or time_s >= RWLS_LOAD_MIN_S)
    stats.update(rwls_value=found.value, rwls_steps=found.steps, rwls_seconds=found.seconds)
    if found.plan is not None and found.value is not None and found.value < value - 1e-9 * max(1.0, abs(value)):
        return found.plan, found.value, method + "+rwls"
    return plan, value, method
