"""MCLP heuristic phase: the volume algorithm's bound and repairs, then the MIP of the core problem."""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from ..backends.base import Backend
from ..heuristics import CoverArrays
from ..heuristics.core import core_problem
from ..heuristics.volume import fixable_mclp, volume_mclp
from ..options import SolveOptions
from ..presolve import presolve
from ..problem import CoverageProblem
from ..status import Termination
from .best import _Best, _certified
from .choice import HYBRID_MAX_NNZ
from .clock import MIP_TIME_SHARE, PRESOLVE_TIME_SHARE
from .exact import solve_exact

#: share of the heuristic phase's time the volume dual may take (the core MIP gets the rest), and the core
#: MIP's time limit when no limit is set
DUAL_SHARE = 0.9
CORE_DEFAULT_TIME_S = 60.0


def _volume_phase(q: CoverageProblem, arr: CoverArrays, x: np.ndarray | None, options: SolveOptions,
                  time_s: float | None, iterations: int, stats: dict[str, Any], backend: str | Backend) -> _Best:
    """MCLP: the volume algorithm's bound (near the LP value) and repairs, then the MIP of the core problem.

    The dual gets :data:`DUAL_SHARE` of ``time_s`` (it usually stops earlier, when the bound stalls); the core MIP
    (:func:`siting.heuristics.core.core_problem`, warm-started with the plan) what is left.
    """
    t0 = time.perf_counter()
    dual = volume_mclp(q, incumbent=x, arrays=arr, seed=options.seed, iterations=iterations, repairs=True,
                       time_limit_s=None if time_s is None else DUAL_SHARE * time_s)
    stats.update(lagrangian_bound=dual.bound, lagrangian_iterations=dual.iterations,
                 lagrangian_seconds=dual.seconds, bound_method="volume", volume_value=dual.value)
    bound = dual.bound if np.isfinite(dual.bound) else None
    best = _Best(dual.plan, dual.value, bound, Termination.HEURISTIC, "greedy+local_search+volume")
    if dual.plan is None or _certified(dual.value, bound, options):
        return best
    left = CORE_DEFAULT_TIME_S if time_s is None else time_s - (time.perf_counter() - t0)
    best = _core_phase(q, best, dual.primal, backend, options, left, stats)
    assert best.value is not None
    closed, opened = fixable_mclp(q, dual.multipliers, dual.knapsack_price, best.value, arrays=arr)
    stats["reduced_cost_fixed"] = int(closed.sum() + opened.sum())
    return replace(best, fixed=q.with_(fixed_closed=q.fixed_closed | closed, fixed_open=q.fixed_open | opened))


def _core_phase(q: CoverageProblem, best: _Best, primal: np.ndarray, backend: str | Backend, options: SolveOptions,
                time_s: float, stats: dict[str, Any]) -> _Best:
    """The MIP of the core problem (sites the LP leaves undecided), warm-started with the plan; the better plan."""
    t0 = time.perf_counter()
    assert best.plan is not None and best.value is not None
    pre = presolve(core_problem(q, primal, best.plan), deadline=t0 + PRESOLVE_TIME_SHARE * time_s)
    core = pre.problem
    info: dict[str, Any] = {"sites": core.n_sites, "rows": core.n_demand, "nnz": int(core.coverage.nnz)}
    stats["core"] = info
    time_s -= time.perf_counter() - t0
    if pre.infeasible is not None or core.n_sites == 0 or core.coverage.nnz > HYBRID_MAX_NNZ or time_s < 1.0:
        info["termination"] = "skipped"
        return best
    warm = best.plan[core.site_origin] if core.site_origin is not None else None
    out = solve_exact(core, backend=backend, warm_start=warm,
                      options=replace(options, time_limit_s=MIP_TIME_SHARE * time_s))
    info.update(termination=str(out.termination), seconds=time.perf_counter() - t0)
    if out.open_sites is None:
        return best
    plan = pre.expand(out.open_sites)
    value = q.value_of(plan)
    info["value"] = value
    if not value > best.value + 1e-9:
        return best
    return replace(best, plan=plan, value=value, method=f"{best.method}+core_{out.method}")
