"""The secondary phase: among the plans that keep the best value, the cheapest or the one with fewest sites."""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from ..backends.base import Backend
from ..backends.registry import get_backend
from ..formulations.coverage import cheapest_program, decode_sites, new_site_count, prune_redundant, warm_vector
from ..options import SolveOptions, secondary_time_s
from ..problem import CoverageProblem, ModelType
from .best import _Best, _better
from .clock import MIP_TIME_SHARE, _Clock

#: below this many seconds left the cheapest-plan MIP is not started (the best plan is pruned only)
MIN_SECONDARY_S = 0.1


def _lexi_key(q: CoverageProblem, plan: np.ndarray) -> tuple[float, float]:
    """What the second stage minimises, in order: MCLP (cost, new sites); LSCP / partial (new sites, -covered)."""
    if q.maximise:
        return q.cost_of(plan), float(new_site_count(q, plan))
    return float(new_site_count(q, plan)), -q.covered_weight(plan)


def _cheapest_phase(q: CoverageProblem, best: _Best, backend: str | Backend, options: SolveOptions, clock: _Clock,
                    stats: dict[str, Any]) -> _Best:
    """Among the plans that keep ``best.value``, the cheapest (MCLP) or the fewest sites (LSCP / partial).

    One more MIP on the presolved problem (:func:`siting.formulations.coverage.cheapest_program`), warm-started
    with ``best.plan``, under what is left of the time limit. Presolve keeps this optimum: a dominated site
    has a dominator that covers as much, costs no more and counts the same. The new plan is kept only when it
    keeps the objective and is better in the second goal; the termination and bound stay those of ``best``.
    """
    assert best.plan is not None and best.value is not None
    before = _lexi_key(q, best.plan)
    # (cost, new sites) or (new sites, -covered) of the presolved problem: sites presolve fixed are not in them
    info: dict[str, Any] = {"goal": "min_cost" if q.maximise else "fewest_sites", "reduced_before": list(before)}
    stats["secondary"] = info
    left = clock.left()
    if left is not None and left < MIN_SECONDARY_S:
        info["termination"] = "skipped: no time left"
        return best
    free_costs = q.site_cost[~q.fixed_open & ~q.fixed_closed]
    if q.model == ModelType.LSCP and free_costs.size and np.all(free_costs == free_costs[0]) and free_costs[0] > 0:
        # equal positive costs: a least-cost cover is a fewest-sites cover already (and covers every row)
        info["termination"] = "skipped: equal costs, the least-cost plan has the fewest sites"
        return best
    t0 = time.perf_counter()
    program = cheapest_program(q, best.value)
    warm: np.ndarray | None = warm_vector(q, best.plan)
    if warm is not None and program.max_violation(warm, relative=True) > 1e-7:
        warm = None
    solver = get_backend(backend) if isinstance(backend, str) else backend
    # the stage gets what the solve so far took (secondary_time_s), not all that is left of the limit
    left = clock.left()
    stage = replace(options, time_limit_s=secondary_time_s(clock.elapsed(),
                                                           None if left is None else MIP_TIME_SHARE * left))
    raw = solver.solve(program, stage, warm_start=warm)
    info.update(termination=str(raw.termination), seconds=time.perf_counter() - t0, warm_started=warm is not None)
    if raw.x is None:
        info["accepted"] = False
        return best
    plan = prune_redundant(q, decode_sites(program, raw.x))
    value = q.value_of(plan)
    tol = 1e-9 * max(1.0, abs(best.value))
    keeps = value >= best.value - tol if q.maximise else value <= best.value + tol
    after = _lexi_key(q, plan)
    accepted = keeps and (after < before or _better(q.maximise, value, best.value))
    info.update(accepted=bool(accepted), reduced_after=list(after))
    return replace(best, plan=plan, value=value) if accepted else best
