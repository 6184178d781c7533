"""Pick and run a solution strategy for a coverage problem: exact MIP, hybrid, or heuristic with bounds.

Every strategy runs :func:`siting.presolve.presolve` first, solves the reduced problem, maps the plan back
to the original site space and re-values it there. The result always carries ``bound`` and
``stats["gap"]``.

=========== ======================================================================================
strategy    what runs on the reduced problem
=========== ======================================================================================
exact       the MIP of :func:`siting.formulations.coverage.solve_exact` (options as given)
hybrid      greedy + local search, Lagrangian bound and repairs, then the MIP warm-started with the
            best plan under the remaining time limit; bound = tightest of the MIP and Lagrangian bounds
heuristic   greedy + local search + Lagrangian bound and repairs; no MIP
auto        exact when ``nnz <= EXACT_MAX_NNZ`` and ``n_sites <= EXACT_MAX_SITES`` (preceded by greedy, local
            search and 200 Lagrangian steps: when they already certify the gap the MIP is skipped, otherwise
            they warm-start it); hybrid when ``nnz <= HYBRID_MAX_NNZ``; heuristic above (presolved sizes)
=========== ======================================================================================

Example
-------
>>> import numpy as np, scipy.sparse as sp
>>> from siting.problem import CoverageProblem, ModelType
>>> a = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 1]], dtype=bool))
>>> p = CoverageProblem(ModelType.MCLP, a, np.array([4.0, 1.0, 3.0]), np.ones(2), np.zeros(2, bool),
...                     np.zeros(2, bool), np.ones(2, bool), max_sites=1, total_weight=8.0)
>>> out = solve_coverage(p, strategy="heuristic")
>>> out.objective, out.bound, out.stats["strategy"]
(5.0, 5.0, 'heuristic')
"""
from __future__ import annotations

import time
from dataclasses import replace
from enum import StrEnum

import numpy as np

from .backends.base import Backend, Termination
from .options import SolveOptions
from .presolve import PresolveResult, presolve
from .problem import CoverageOutcome, CoverageProblem, ModelType

__all__ = ["Strategy", "choose_strategy", "solve_coverage", "EXACT_MAX_NNZ", "EXACT_MAX_SITES", "HYBRID_MAX_NNZ"]

#: auto thresholds on the presolved problem (see models/presolve-and-heuristics.md for the measurements)
EXACT_MAX_NNZ = 100_000
EXACT_MAX_SITES = 1_500
HYBRID_MAX_NNZ = 400_000
#: MIP time limit of the hybrid strategy when the options set none
HYBRID_DEFAULT_TIME_S = 120.0


class Strategy(StrEnum):
    AUTO = "auto"
    EXACT = "exact"
    HYBRID = "hybrid"
    HEURISTIC = "heuristic"


def choose_strategy(problem: CoverageProblem) -> Strategy:
    """The strategy ``auto`` picks for an (already presolved) problem, from its size."""
    nnz = int(problem.coverage.nnz)
    if nnz <= EXACT_MAX_NNZ and problem.n_sites <= EXACT_MAX_SITES:
        return Strategy.EXACT
    if nnz <= HYBRID_MAX_NNZ:
        return Strategy.HYBRID
    return Strategy.HEURISTIC


def _better(model: ModelType, a: float | None, b: float | None) -> bool:
    """True when value ``a`` is strictly better than ``b`` (None is worst)."""
    if a is None:
        return False
    if b is None:
        return True
    return a > b + 1e-9 if model == ModelType.MCLP else a < b - 1e-9


def _tighter(model: ModelType, a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b) if model == ModelType.MCLP else max(a, b)


def _gap(objective: float | None, bound: float | None) -> float | None:
    if objective is None or bound is None:
        return None
    den = max(abs(objective), abs(bound))
    return 0.0 if den == 0 else abs(bound - objective) / den


def _value(problem: CoverageProblem, x: np.ndarray) -> float:
    return problem.covered_weight(x) if problem.model == ModelType.MCLP else problem.cost_of(x)


def _trivial(q: CoverageProblem) -> tuple[np.ndarray | None, float | None, float | None]:
    """Plan, value and bound of a reduced problem with no rows or no sites."""
    x = np.zeros(q.n_sites, bool)
    if q.model == ModelType.PARTIAL and q.base_covered_weight < q.target_coverage * q.total_weight - 1e-9:
        return None, None, None
    if q.model == ModelType.LSCP and q.n_demand > 0:
        return None, None, None
    v = _value(q, x)
    return x, v, v


def _heuristic_phase(q: CoverageProblem, options: SolveOptions, time_s: float | None, iterations: int,
                     stats: dict) -> tuple[np.ndarray | None, float | None, float | None]:
    from .heuristics import CoverArrays, greedy, lagrangian, local_search

    t0 = time.perf_counter()
    arr = CoverArrays.of(q)
    x = greedy(q, arrays=arr, seed=options.seed)
    stats["greedy_value"] = None if x is None else _value(q, x)
    stats["greedy_seconds"] = time.perf_counter() - t0
    if x is not None:
        t1 = time.perf_counter()
        x = local_search(q, x, arrays=arr, seed=options.seed,
                         time_limit_s=None if time_s is None else 0.3 * time_s)
        stats["local_search_value"] = _value(q, x)
        stats["local_search_seconds"] = time.perf_counter() - t1
    left = None if time_s is None else max(0.0, time_s - (time.perf_counter() - t0))
    lag = lagrangian(q, incumbent=x, arrays=arr, seed=options.seed, time_limit_s=left, iterations=iterations,
                     repairs=5)
    stats["lagrangian_bound"] = lag.bound
    stats["lagrangian_iterations"] = lag.iterations
    stats["lagrangian_seconds"] = lag.seconds
    return lag.best_plan, lag.best_value, (lag.bound if np.isfinite(lag.bound) else None)


def solve_coverage(
    problem: CoverageProblem,
    *,
    backend: str | Backend = "highs",
    strategy: str = "auto",
    options: SolveOptions = SolveOptions(),
    lagrangian_iterations: int | None = None,
) -> CoverageOutcome:
    """Presolve, solve with the chosen strategy, and return the plan in the original site space.

    Parameters
    ----------
    problem : CoverageProblem
    backend : MIP backend name (or instance) for the exact and hybrid strategies
    strategy : ``"auto"``, ``"exact"``, ``"hybrid"`` or ``"heuristic"``
    options : time limit (whole solve), gap, seed, ...; the hybrid MIP gets what is left of the time limit
        (``HYBRID_DEFAULT_TIME_S`` when None)
    lagrangian_iterations : subgradient steps of the heuristic phase (default: 1,000 without a time limit,
        else 20,000 cut by the time limit; the dual search also stops when its step size vanishes)

    Returns
    -------
    CoverageOutcome
        ``objective`` is re-valued on the original problem; ``bound`` is the tightest proven bound;
        ``stats`` holds ``"presolve"`` (per reduction ``rows_removed``, ``cols_removed``, ``cols_fixed``,
        ``seconds``), ``"strategy"``, ``"gap"``, ``"reduced_size"``, ``"cost_offset"`` and the phase values
        and timings (``greedy_value``, ``local_search_value``, ``lagrangian_bound``, ``mip``: in the reduced
        problem's units, i.e. LSCP/partial costs without ``cost_offset``).

    Notes
    -----
    Presolve keeps the optimal value (MCLP: exactly, the reduced problem carries ``base_covered_weight``;
    LSCP/partial: up to ``cost_offset``, the cost of the sites it fixed open), so reduced bounds are
    original bounds after adding that offset. Termination is ``optimal`` when the gap is within
    ``options.mip_gap``, else ``time_limit`` (a MIP stopped by its limit) or ``heuristic``.
    """
    t0 = time.perf_counter()
    chosen = Strategy(str(strategy).lower())
    pre: PresolveResult = presolve(problem)
    stats: dict = {"presolve": pre.stats, "uncoverable_rows": pre.uncoverable_rows,
                   "original_size": {"n_demand": problem.n_demand, "n_sites": problem.n_sites,
                                     "nnz": int(problem.coverage.nnz)}}
    q = pre.problem
    stats["reduced_size"] = {"n_demand": q.n_demand, "n_sites": q.n_sites, "nnz": int(q.coverage.nnz)}
    stats["cost_offset"] = pre.cost_offset
    stats["presolve_seconds"] = time.perf_counter() - t0

    def finish(plan, value, bound, termination, method) -> CoverageOutcome:
        offset = 0.0 if problem.model == ModelType.MCLP else pre.cost_offset
        x = None if plan is None else pre.expand(plan)
        objective = None if x is None else _value(problem, x)
        if bound is not None:
            bound = float(bound + offset)
            if objective is not None and _better(problem.model, objective, bound):
                bound = objective  # numerical safety: a bound never beats a plan
        gap = _gap(objective, bound)
        stats["gap"] = gap
        stats["strategy"] = str(chosen)
        if termination not in (Termination.INFEASIBLE, Termination.ERROR, Termination.UNBOUNDED):
            if gap is not None and gap <= max(options.mip_gap, 1e-9):
                termination = Termination.OPTIMAL
        return CoverageOutcome(x, termination, objective, bound, time.perf_counter() - t0, method, stats)

    if pre.infeasible is not None:
        stats["message"] = pre.infeasible
        return finish(None, None, None, Termination.INFEASIBLE, "presolve")
    if q.n_sites == 0 or q.n_demand == 0:
        plan, value, bound = _trivial(q)
        if chosen == Strategy.AUTO:
            chosen = Strategy.EXACT
        if plan is None:
            return finish(None, None, None, Termination.INFEASIBLE, "presolve")
        return finish(plan, value, bound, Termination.OPTIMAL, "presolve")
    from_auto = chosen == Strategy.AUTO
    if from_auto:
        chosen = choose_strategy(q)

    from .formulations.coverage import solve_exact

    if chosen == Strategy.EXACT and not from_auto:
        left = None if options.time_limit_s is None else max(0.0, options.time_limit_s - (time.perf_counter() - t0))
        out = solve_exact(q, backend=backend, options=replace(options, time_limit_s=left))
        stats["mip"] = dict(out.stats, termination=str(out.termination), seconds=out.seconds)
        return finish(out.open_sites, out.objective, out.bound, out.termination, out.method)

    limit = options.time_limit_s
    if chosen == Strategy.HYBRID and limit is None:
        limit = HYBRID_DEFAULT_TIME_S
    if chosen == Strategy.EXACT:      # auto on a small problem: a short certificate attempt, then the MIP
        heur_time = None if limit is None else 0.2 * limit
        iterations = lagrangian_iterations or 200
    else:
        heur_time = None if limit is None else (0.35 * limit if chosen == Strategy.HYBRID else
                                                max(0.0, 0.97 * limit - (time.perf_counter() - t0)))
        iterations = lagrangian_iterations or (1_000 if heur_time is None else 20_000)
    plan, value, bound = _heuristic_phase(q, options, heur_time, iterations, stats)
    method = "greedy+local_search+lagrangian"
    termination = Termination.HEURISTIC
    if q.model != ModelType.MCLP and stats.get("lagrangian_bound") == np.inf:
        stats["message"] = "the coverage target exceeds the coverable weight (Lagrangian relaxation infeasible)"
        return finish(None, None, None, Termination.INFEASIBLE, method)
    gap = _gap(value, bound)
    if chosen != Strategy.HEURISTIC and not (gap is not None and gap <= max(options.mip_gap, 1e-9)):
        left = None if limit is None else max(1.0, limit - (time.perf_counter() - t0))
        out = solve_exact(q, backend=backend, options=replace(options, time_limit_s=left), warm_start=plan)
        stats["mip"] = {"termination": str(out.termination), "objective": out.objective, "bound": out.bound,
                        "seconds": out.seconds}
        if out.termination == Termination.INFEASIBLE:
            return finish(None, None, None, Termination.INFEASIBLE, out.method)
        if _better(q.model, out.objective, value):
            plan, value = out.open_sites, out.objective
        bound = _tighter(q.model, bound, out.bound)
        method = f"{method}+{out.method}"
        termination = Termination.TIME_LIMIT if out.termination == Termination.TIME_LIMIT else Termination.HEURISTIC
        if out.termination == Termination.OPTIMAL and out.bound is not None:
            termination = Termination.OPTIMAL
    return finish(plan, value, bound, termination, method)
