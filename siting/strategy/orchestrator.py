""":func:`solve_coverage`: presolve, the phases the chosen strategy runs, and the mapping back to the original sites.

The phases live in their own modules: :mod:`.heuristic` (with :mod:`.mclp` and :mod:`.cover`), :mod:`.mip`,
:mod:`.cheapest`; :mod:`siting.strategy` describes the strategies.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from ..backends.base import Backend
from ..formulations.coverage import prune_redundant
from ..options import SolveOptions
from ..presolve import PresolveResult, presolve
from ..problem import CoverageOutcome, CoverageProblem, ModelType
from ..status import Termination, relative_gap
from .best import _Best, _better, _certified
from .cheapest import _cheapest_phase
from .choice import HYBRID_DEFAULT_TIME_S, Strategy, choose_strategy
from .clock import PRESOLVE_TIME_SHARE, _Clock
from .exact import solve_exact
from .heuristic import _heuristic_phase
from .mip import _mip_phase

#: the hybrid strategy's heuristic share of the time (the MIP gets the rest); partial covering's budget search
#: finds the plans its MIP does not (20,000 x 2,000 cities, 90 %, 20 s, seeds 1-3: gap 1.7-1.9 % at 0.35,
#: 0.55-0.94 % at 0.6; at 60 s 0.34-0.48 % and 0.33-0.72 %)
HYBRID_HEURISTIC_SHARE = 0.35
PARTIAL_HYBRID_HEURISTIC_SHARE = 0.6


def _hybrid_share(q: CoverageProblem) -> float:
    """The hybrid strategy's heuristic share for ``q``'s model."""
    return PARTIAL_HYBRID_HEURISTIC_SHARE if q.model is ModelType.PARTIAL else HYBRID_HEURISTIC_SHARE


def _trivial(q: CoverageProblem) -> tuple[np.ndarray | None, float | None]:
    """Plan and value (= bound) of a reduced problem with no rows or no sites; None when infeasible."""
    x = np.zeros(q.n_sites, bool)
    target = q.target_coverage or 0.0
    if q.model == ModelType.PARTIAL and q.base_covered_weight < target * q.total_weight - 1e-9:
        return None, None
    if q.model == ModelType.LSCP and q.n_demand > 0:
        return None, None
    return x, q.value_of(x)


def _finish(problem: CoverageProblem, pre: PresolveResult, best: _Best, chosen: Strategy, options: SolveOptions,
            clock: _Clock, stats: dict[str, Any]) -> CoverageOutcome:
    """Map the plan back to the original sites, re-value it there and certify optimality from the gap."""
    x = None if best.plan is None else pre.expand(best.plan)
    objective = None if x is None else problem.value_of(x)
    bound = best.bound
    if bound is not None:
        bound = float(bound + (0.0 if problem.maximise else pre.cost_offset))
        if objective is not None and _better(problem.maximise, objective, bound):
            bound = objective  # numerical safety: a bound never beats a plan
    termination = best.termination
    stats["gap"] = relative_gap(objective, bound)
    stats["strategy"] = str(chosen)
    if termination not in (Termination.INFEASIBLE, Termination.ERROR, Termination.UNBOUNDED) and \
            _certified(objective, bound, options):
        termination = Termination.OPTIMAL
    return CoverageOutcome(x, termination, objective, bound, clock.elapsed(), best.method, stats)


def _presolve(problem: CoverageProblem, clock: _Clock) -> tuple[PresolveResult, dict[str, Any]]:
    t0 = time.perf_counter()
    left = clock.left()
    pre = presolve(problem, deadline=None if left is None else t0 + PRESOLVE_TIME_SHARE * left)
    q = pre.problem
    stats: dict[str, Any] = {
        "presolve": pre.stats, "uncoverable_rows": pre.uncoverable_rows,
        "original_size": {"n_demand": problem.n_demand, "n_sites": problem.n_sites, "nnz": int(problem.coverage.nnz)},
        "reduced_size": {"n_demand": q.n_demand, "n_sites": q.n_sites, "nnz": int(q.coverage.nnz)},
        "cost_offset": pre.cost_offset, "presolve_seconds": time.perf_counter() - t0,
        "presolve_cut_short": any(entry.get("cut_short") for entry in pre.stats.values()),
    }
    return pre, stats


def solve_coverage(
    problem: CoverageProblem,
    *,
    backend: str | Backend = "highs",
    strategy: str = "auto",
    options: SolveOptions | None = None,
    lagrangian_iterations: int | None = None,
) -> CoverageOutcome:
    """Presolve, solve with the chosen strategy, and return the plan in the original site space.

    Parameters
    ----------
    problem : CoverageProblem
    backend : MIP backend name (or instance) for the exact and hybrid strategies
    strategy : ``"auto"``, ``"exact"``, ``"hybrid"`` or ``"heuristic"``
    options : time limit (the whole call: presolve, heuristics, MIP), gap, seed, ...; presolve stops at
        :data:`~siting.strategy.clock.PRESOLVE_TIME_SHARE` of it (a partly reduced problem is valid), the MIP gets what is
        left of the time limit (the hybrid strategy assumes ``HYBRID_DEFAULT_TIME_S`` when None)
    lagrangian_iterations : subgradient steps of the heuristic phase (default: 1,000 without a time limit,
        else 20,000 cut by the time limit; the dual search also stops when its step size vanishes)

    Returns
    -------
    CoverageOutcome
        ``objective`` is re-valued on the original problem; ``bound`` is the tightest proven bound;
        ``stats`` holds ``"presolve"`` (per reduction ``rows_removed``, ``cols_removed``, ``cols_fixed``,
        ``seconds``, and ``cut_short`` when it ended past the presolve's deadline), ``"presolve_cut_short"``
        (presolve stopped at :data:`~siting.strategy.clock.PRESOLVE_TIME_SHARE` of the time limit), ``"strategy"``, ``"gap"``,
        ``"reduced_size"``, ``"cost_offset"`` and the phase values and timings (``greedy_value``,
        ``local_search_value``, ``lagrangian_bound``, ``mip``: in the reduced problem's units, i.e.
        LSCP/partial costs without ``cost_offset``).

    Notes
    -----
    Presolve keeps the optimal value (MCLP: exactly, the reduced problem carries ``base_covered_weight``;
    LSCP/partial: up to ``cost_offset``, the cost of the sites it fixed open), so reduced bounds are
    original bounds after adding that offset. Termination is ``optimal`` when the gap is within
    ``options.mip_gap``, else ``time_limit`` (a MIP stopped by its limit, or not started for lack of time)
    or ``heuristic``.
    """
    options = options or SolveOptions()
    clock = _Clock(options.time_limit_s)
    chosen = Strategy(str(strategy).lower())
    pre, stats = _presolve(problem, clock)
    q = pre.problem

    def finish(best: _Best) -> CoverageOutcome:
        if best.plan is not None and best.value is not None and best.termination is not Termination.INFEASIBLE:
            pruned = prune_redundant(q, best.plan)
            best = replace(best, plan=pruned, value=q.value_of(pruned))
            if options.secondary == "min_cost" and chosen != Strategy.HEURISTIC and q.n_sites and q.n_demand:
                best = _cheapest_phase(q, best, backend, options, clock, stats)
        return _finish(problem, pre, best, chosen, options, clock, stats)

    if pre.infeasible is not None:
        stats["message"] = pre.infeasible
        return finish(_Best(termination=Termination.INFEASIBLE, method="presolve"))
    if q.n_sites == 0 or q.n_demand == 0:
        chosen = Strategy.EXACT if chosen == Strategy.AUTO else chosen
        plan, value = _trivial(q)
        if plan is None:
            return finish(_Best(termination=Termination.INFEASIBLE, method="presolve"))
        return finish(_Best(plan, value, value, Termination.OPTIMAL, "presolve"))
    from_auto = chosen == Strategy.AUTO
    if from_auto:
        chosen = choose_strategy(q)
    if chosen == Strategy.HYBRID and clock.limit_s is None:
        clock.limit_s = HYBRID_DEFAULT_TIME_S + clock.elapsed()

    if chosen == Strategy.EXACT and not from_auto:
        out = solve_exact(q, backend=backend, options=clock.options(options))
        stats["mip"] = dict(out.stats, termination=str(out.termination), seconds=out.seconds)
        return finish(_Best(out.open_sites, out.objective, out.bound, out.termination, out.method))

    left = clock.left()
    if chosen == Strategy.EXACT:      # auto on a small problem: a short certificate attempt, then the MIP
        heur_time = None if left is None else 0.2 * left
        iterations = lagrangian_iterations or 200
    else:
        share = (_hybrid_share(q) if chosen == Strategy.HYBRID else 0.97)
        heur_time = None if left is None else share * left
        iterations = lagrangian_iterations or (1_000 if heur_time is None else 20_000)
    best = _heuristic_phase(q, options, heur_time, iterations, stats, dives=chosen != Strategy.EXACT,
                            backend=backend,
                            solve_mclp=lambda mclp, mclp_options: solve_coverage(mclp, backend=backend,
                                                                                 options=mclp_options))
    if not q.maximise and stats.get("lagrangian_bound") == np.inf:
        stats["message"] = "the coverage target exceeds the coverable weight (Lagrangian relaxation infeasible)"
        return finish(_Best(termination=Termination.INFEASIBLE, method=best.method))
    if chosen != Strategy.HEURISTIC and not _certified(best.value, best.bound, options):
        best = _mip_phase(q, best, backend, options, clock, stats)
    return finish(best)

