"""Pick and run a solution strategy for a coverage problem: exact MIP, hybrid, or heuristic with bounds.

Every strategy runs :func:`siting.presolve.presolve` first, solves the reduced problem, maps the plan back
to the original site space and re-values it there. The result always carries ``bound`` and
``stats["gap"]`` (:func:`siting.status.relative_gap`, the project's one gap). ``options.time_limit_s`` caps the
whole call: presolve, heuristics, the MIP and the mapping back all come out of it.

=========== ======================================================================================
strategy    what runs on the reduced problem
=========== ======================================================================================
exact       the MIP of :func:`solve_exact` (the program of :func:`siting.formulations.coverage.build_program`)
hybrid      greedy + local search, Lagrangian bound and repairs, then the MIP warm-started with the
            best plan under the remaining time limit; bound = tightest of the MIP and Lagrangian bounds
            (MCLP / LSCP: the MIP of the problem after reduced-cost fixing against the best plan)
heuristic   greedy + local search + Lagrangian bound and repairs; no MIP of the whole problem (MCLP: the
            volume bound, then a MIP of the core problem the LP leaves undecided, which only improves the plan)
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
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np

from .backends.base import Backend
from .backends.registry import get_backend
from .formulations.coverage import (
    build_program,
    cheapest_program,
    decode_sites,
    new_site_count,
    prune_redundant,
    warm_vector,
)
from .heuristics import CoverArrays, greedy, lagrangian, local_search
from .heuristics.cft import column_fixing
from .heuristics.core import core_problem
from .heuristics.cover_lp import lp_cover_dual
from .heuristics.setcover import CoverDual, cover_dual, restrict_to_better
from .heuristics.volume import fixable_mclp, volume_mclp
from .options import SolveOptions, secondary_time_s
from .presolve import PresolveResult, presolve
from .problem import CoverageOutcome, CoverageProblem, ModelType
from .status import Termination, relative_gap

__all__ = ["Strategy", "choose_strategy", "solve_coverage", "solve_exact", "EXACT_MAX_NNZ", "EXACT_MAX_SITES",
           "HYBRID_MAX_NNZ"]

#: auto thresholds on the presolved problem (see models/presolve-and-heuristics.md for the measurements)
EXACT_MAX_NNZ = 100_000
EXACT_MAX_SITES = 1_500
HYBRID_MAX_NNZ = 400_000
#: MIP time limit of the hybrid strategy when the options set none
HYBRID_DEFAULT_TIME_S = 120.0
#: below this many seconds left a MIP is not started when a heuristic plan exists (it could only overrun)
MIN_MIP_TIME_S = 0.05
#: share of the time left that a MIP is given: solvers check their clock coarsely (HiGHS's presolve, CBC's root
#: LP) and overrun by about a second on ~200k nonzeros; the rest also pays for pruning and the mapping back
MIP_TIME_SHARE = 0.85
#: below this many seconds left the cheapest-plan MIP is not started (the best plan is pruned only)
MIN_SECONDARY_S = 0.1
#: HiGHS options for the LSCP MIP after the set-covering presolve (the user's ``backend_options`` win): HiGHS's own
#: presolve finds little left and its restarts cost time: 1.3-1.7x less CPU on the presolved spopt_compare 5k,
#: OR-Library scpa2 and scpb1 (4.0 -> 2.3, 4.3 -> 2.9, 7.7 -> 5.8 s), the same bound after 60 s on the 20k one
LSCP_HIGHS_OPTIONS = {"presolve": "off"}
#: MCLP: share of the heuristic phase's time the volume dual may take (the core MIP gets the rest), and the core
#: MIP's time limit when no limit is set
DUAL_SHARE = 0.9
CORE_DEFAULT_TIME_S = 60.0
#: LSCP MIPs of at most LSCP_SMALL_NNZ nonzeros get this share of the time left (HiGHS stopped within 0.1 s of
#: its limit on the presolved 20k spopt_compare instance, 11k nonzeros)
LSCP_MIP_TIME_SHARE = 0.95
LSCP_SMALL_NNZ = 100_000
#: LSCP without a time limit: the LP bound only up to this many nonzeros (the subgradient above)
LP_UNLIMITED_MAX_NNZ = 200_000
#: LSCP: subgradient steps from the LP duals (for covers; the LP already gives the bound), and their first step
POLISH_STEPS = 300
POLISH_STEP = 0.5
#: LSCP: at most this many column-fixing dives under a time limit (they also stop at it), and without one
DIVES = 20
DIVES_WITHOUT_LIMIT = 2


class Strategy(StrEnum):
    """How :func:`solve_coverage` solves a coverage problem (see the module table)."""

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


def _better(maximise: bool, a: float | None, b: float | None) -> bool:
    """True when value ``a`` is strictly better than ``b`` (None is worst)."""
    if a is None:
        return False
    if b is None:
        return True
    return a > b + 1e-9 if maximise else a < b - 1e-9


def _tighter(maximise: bool, a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b) if maximise else max(a, b)


def _certified(objective: float | None, bound: float | None, options: SolveOptions) -> bool:
    gap = relative_gap(objective, bound)
    return gap is not None and gap <= max(options.mip_gap, 1e-9)


class _Clock:
    """Seconds left of a time limit counted from construction (None: no limit)."""

    def __init__(self, limit_s: float | None) -> None:
        self.started = time.perf_counter()
        self.limit_s = limit_s

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def left(self) -> float | None:
        return None if self.limit_s is None else max(0.0, self.limit_s - self.elapsed())

    def options(self, options: SolveOptions) -> SolveOptions:
        """``options`` for a MIP: :data:`MIP_TIME_SHARE` of what is left (never below :data:`MIN_MIP_TIME_S`)."""
        left = self.left()
        return options if left is None else replace(options, time_limit_s=max(MIP_TIME_SHARE * left,
                                                                               MIN_MIP_TIME_S))


def solve_exact(
    problem: CoverageProblem,
    *,
    backend: str | Backend = "highs",
    options: SolveOptions | None = None,
    warm_start: np.ndarray | None = None,
    prune: bool = True,
) -> CoverageOutcome:
    """Solve ``problem`` as one MIP on ``backend``; the plan is rounded, pruned and re-valued.

    The returned ``objective`` is recomputed from the plan, not copied from the solver (after a time limit a
    solver's ``y`` may under-report coverage). ``prune`` closes sites that cover nothing on their own
    (:func:`siting.formulations.coverage.prune_redundant`).
    """
    started = time.perf_counter()
    options = options or SolveOptions()
    solver = get_backend(backend) if isinstance(backend, str) else backend
    program = build_program(problem)
    warm = None if warm_start is None else warm_vector(problem, warm_start)
    raw = solver.solve(program, options, warm_start=warm)
    mask = None
    value = None
    if raw.x is not None:
        mask = decode_sites(program, raw.x)
        if prune:
            mask = prune_redundant(problem, mask)
        value = problem.value_of(mask)
    bound = raw.bound
    if raw.termination is Termination.OPTIMAL and value is not None and bound is None:
        bound = value
    return CoverageOutcome(
        open_sites=mask, termination=raw.termination, objective=value, bound=bound,
        seconds=time.perf_counter() - started, method=solver.name,
        stats={"program_rows": program.n_rows, "program_cols": program.n_cols,
               "program_nnz": int(program.constraints.nnz), "solver_seconds": raw.seconds,
               "solver_objective": raw.objective, "solver_message": raw.message},
    )


def _trivial(q: CoverageProblem) -> tuple[np.ndarray | None, float | None]:
    """Plan and value (= bound) of a reduced problem with no rows or no sites; None when infeasible."""
    x = np.zeros(q.n_sites, bool)
    target = q.target_coverage or 0.0
    if q.model == ModelType.PARTIAL and q.base_covered_weight < target * q.total_weight - 1e-9:
        return None, None
    if q.model == ModelType.LSCP and q.n_demand > 0:
        return None, None
    return x, q.value_of(x)


@dataclass
class _Best:
    """The best plan and bound so far, in the reduced problem's units."""

    plan: np.ndarray | None = None
    value: float | None = None
    bound: float | None = None
    termination: Termination = Termination.HEURISTIC
    method: str = ""
    dual: CoverDual | None = None  # LSCP: the Lagrangian dual behind ``bound`` (for reduced-cost fixing)
    fixed: CoverageProblem | None = None  # MCLP: the problem after reduced-cost fixing (keeps every plan >= value)


def _heuristic_phase(q: CoverageProblem, options: SolveOptions, time_s: float | None, iterations: int,
                     stats: dict[str, Any], *, dives: bool = True, backend: str | Backend = "highs") -> _Best:
    """Greedy, local search (30 % of ``time_s``) and the Lagrangian bound with repairs (the rest)."""
    t0 = time.perf_counter()
    arr = CoverArrays.of(q)
    if q.model is ModelType.LSCP:
        return _cover_phase(q, arr, options, time_s, iterations, stats, dives=dives)
    x = greedy(q, arrays=arr, seed=options.seed)
    stats["greedy_value"] = None if x is None else q.value_of(x)
    stats["greedy_seconds"] = time.perf_counter() - t0
    if x is not None:
        t1 = time.perf_counter()
        # MCLP: the volume repairs run local search again from better starts, so this one gets less time
        share = 0.1 if q.model is ModelType.MCLP else 0.3
        x = local_search(q, x, arrays=arr, seed=options.seed,
                         time_limit_s=None if time_s is None else share * time_s)
        stats["local_search_value"] = q.value_of(x)
        stats["local_search_seconds"] = time.perf_counter() - t1
    left = None if time_s is None else max(0.0, time_s - (time.perf_counter() - t0))
    if q.model is ModelType.MCLP:
        return _volume_phase(q, arr, x, options, left, iterations, stats, backend)
    lag = lagrangian(q, incumbent=x, arrays=arr, seed=options.seed, time_limit_s=left, iterations=iterations,
                     repairs=5)
    stats["lagrangian_bound"] = lag.bound
    stats["lagrangian_iterations"] = lag.iterations
    stats["lagrangian_seconds"] = lag.seconds
    bound = lag.bound if np.isfinite(lag.bound) else None
    return _Best(lag.best_plan, lag.best_value, bound, Termination.HEURISTIC, "greedy+local_search+lagrangian")


def _equal_costs(q: CoverageProblem) -> bool:
    """True when every free site costs the same.

    Then the LP duals are degenerate and dives find nothing better than the polished Lagrangian covers
    (spopt_compare 5k / 20k, measured).
    """
    cost = q.site_cost[~q.fixed_open & ~q.fixed_closed]
    return bool(cost.size == 0 or np.all(cost == cost[0]))


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
    pre = presolve(core_problem(q, primal, best.plan))
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
    if plan is not None:
        plan = local_search(q, plan, arrays=arr, seed=options.seed)
        value = q.value_of(plan)
    stats["local_search_value"] = value
    bound = dual.bound if np.isfinite(dual.bound) else None
    return _Best(plan, value, bound, Termination.HEURISTIC, method, dual)


def _mip_phase(q: CoverageProblem, best: _Best, backend: str | Backend, options: SolveOptions, clock: _Clock,
               stats: dict[str, Any]) -> _Best:
    """The MIP warm-started with ``best``, under what is left of the time limit; the better of the two.

    LSCP with a Lagrangian dual: the MIP runs on the problem with the sites reduced-cost fixing settles
    (:func:`siting.heuristics.setcover.restrict_to_better`), whose bound ``B`` gives ``min(incumbent, B)``.
    """
    left = clock.left()
    if left is not None and left <= MIN_MIP_TIME_S and best.plan is not None:
        stats["mip"] = {"termination": "skipped", "reason": "no time left after the heuristics"}
        return replace(best, termination=Termination.TIME_LIMIT)
    # MCLP: the incumbent and every optimal plan stay feasible after reduced-cost fixing, so its bound is valid
    mip_problem = q if best.fixed is None else best.fixed
    warm = best.plan
    restricted = best.dual is not None and best.value is not None and best.plan is not None
    if restricted:
        assert best.dual is not None and best.value is not None and best.plan is not None
        fixed_problem, n_fixed = restrict_to_better(q, best.dual, best.value)
        stats["reduced_cost_fixed"] = n_fixed
        if fixed_problem is None:   # no cover cheaper than the incumbent exists
            stats["mip"] = {"termination": "skipped", "reason": "reduced-cost fixing proved the incumbent"}
            return replace(best, bound=best.value, termination=Termination.OPTIMAL)
        mip_problem = fixed_problem
        if np.any(best.plan & mip_problem.fixed_closed) or np.any(mip_problem.fixed_open & ~best.plan):
            warm = None
    mip_options = clock.options(options)
    left = clock.left()
    if q.model is ModelType.LSCP and left is not None and mip_problem.coverage.nnz <= LSCP_SMALL_NNZ:
        # a small covering MIP stops close to its limit: the usual 15 % margin only left time unused (20k: 49 of 60 s)
        mip_options = replace(mip_options, time_limit_s=max(LSCP_MIP_TIME_SHARE * left, MIN_MIP_TIME_S))
    if q.model is ModelType.LSCP:
        highs = {**LSCP_HIGHS_OPTIONS, **mip_options.for_backend("highs")}
        mip_options = replace(mip_options, backend_options={**mip_options.backend_options, "highs": highs})
    out = solve_exact(mip_problem, backend=backend, options=mip_options, warm_start=warm)
    stats["mip"] = {"termination": str(out.termination), "objective": out.objective, "bound": out.bound,
                    "seconds": out.seconds}
    method = f"{best.method}+{out.method}" if best.method else out.method
    if out.termination == Termination.INFEASIBLE:
        if restricted:  # nothing beats the incumbent
            return replace(best, bound=best.value, termination=Termination.OPTIMAL, method=method)
        return _Best(termination=Termination.INFEASIBLE, method=out.method)
    plan, value = best.plan, best.value
    if _better(q.maximise, out.objective, value):
        plan, value = out.open_sites, out.objective
    mip_bound = out.bound
    if restricted and mip_bound is not None:
        mip_bound = min(float(best.value), mip_bound)  # type: ignore[arg-type]
    termination = {Termination.OPTIMAL: Termination.OPTIMAL if out.bound is not None else Termination.HEURISTIC,
                   Termination.TIME_LIMIT: Termination.TIME_LIMIT}.get(out.termination, Termination.HEURISTIC)
    return _Best(plan, value, _tighter(q.maximise, best.bound, mip_bound), termination, method, best.dual)


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


def _presolve(problem: CoverageProblem) -> tuple[PresolveResult, dict[str, Any]]:
    t0 = time.perf_counter()
    pre = presolve(problem)
    q = pre.problem
    stats: dict[str, Any] = {
        "presolve": pre.stats, "uncoverable_rows": pre.uncoverable_rows,
        "original_size": {"n_demand": problem.n_demand, "n_sites": problem.n_sites, "nnz": int(problem.coverage.nnz)},
        "reduced_size": {"n_demand": q.n_demand, "n_sites": q.n_sites, "nnz": int(q.coverage.nnz)},
        "cost_offset": pre.cost_offset, "presolve_seconds": time.perf_counter() - t0,
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
    options : time limit (the whole call: presolve, heuristics, MIP), gap, seed, ...; the MIP gets what is
        left of the time limit (the hybrid strategy assumes ``HYBRID_DEFAULT_TIME_S`` when None)
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
    ``options.mip_gap``, else ``time_limit`` (a MIP stopped by its limit, or not started for lack of time)
    or ``heuristic``.
    """
    options = options or SolveOptions()
    clock = _Clock(options.time_limit_s)
    chosen = Strategy(str(strategy).lower())
    pre, stats = _presolve(problem)
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
        share = 0.35 if chosen == Strategy.HYBRID else 0.97
        heur_time = None if left is None else share * left
        iterations = lagrangian_iterations or (1_000 if heur_time is None else 20_000)
    best = _heuristic_phase(q, options, heur_time, iterations, stats, dives=chosen != Strategy.EXACT,
                            backend=backend)
    if not q.maximise and stats.get("lagrangian_bound") == np.inf:
        stats["message"] = "the coverage target exceeds the coverable weight (Lagrangian relaxation infeasible)"
        return finish(_Best(termination=Termination.INFEASIBLE, method=best.method))
    if chosen != Strategy.HEURISTIC and not _certified(best.value, best.bound, options):
        best = _mip_phase(q, best, backend, options, clock, stats)
    return finish(best)
