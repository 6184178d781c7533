"""p-median search: the iterative radius formulation (García, Labbé & Marín 2011), or one program.

:func:`search_pmedian` is the ``search`` hook of :data:`siting.models.pmedian.MODEL`. It resolves
``formulation``:

* ``"auto"`` (default) picks ``"iterative"`` — always better on the OR-Library pmed set and on random
  instances (``benchmarks/pmed_bench.py``) — unless the plan needs a budget row, where the truncated
  relaxation loses its strength less predictably and the one-program ``"assignment"`` formulation is kept;
* ``"iterative"``: :func:`radius_search` below;
* ``"assignment"`` / ``"radius"``: one program (:func:`siting.models.pmedian.build_pmedian` /
  ``build_pmedian_radius``) through the driver's program search, then the cheapest-plan stage.

**Lagrangian first.** Without a budget row the greedy plan is improved by the vectorised fast swap
(:mod:`siting.heuristics.pmedian_swap`). Then the Lagrangian relaxation of the assignment rows
(:mod:`siting.heuristics.pmedian_lagrangian`) gives a near-LP bound in about a second, better incumbents (its
subproblem plans, swapped) and reduced-cost fixing; when the fixing leaves at most ``_BRANCH_MAX_FREE`` free sites
a Lagrangian branch and bound (:mod:`siting.heuristics.pmedian_branch`) searches them — on OR-Library pmed
with small ``p`` it proves in seconds what the truncated MIPs needed minutes for. A budget row is relaxed there
(the bound and the fixing stay valid, plans over the budget are not taken) and the branch and bound is
skipped. Whatever is not proven goes on to the radius programs below, with the fixings and the bound.

**Iterative radius tightening.** Start from the best plan so far; keep, for each demand point, the
distance levels up to its time in that plan. Solve the truncated radius program
(:func:`siting.formulations.radius.truncated_program`): its bound is a valid lower bound on the p-median
optimum at every step (the truncation only lowers a plan's cost). Evaluate the solver's plan exactly; where the
plan puts a demand past its truncation, extend that demand's levels to its true time in the plan (and no
further: the rows stay few) and solve again, warm-started from the best plan. Stop when the bound meets the best
plan's true objective — a truncated optimum with nobody "beyond" is one — or at the time limit with the best
plan and the bound.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..backends import get_backend
from ..data.instance import Instance
from ..errors import InfeasibleError
from ..formulations.radius import (
    beyond,
    levels_of,
    levels_within,
    lp_reduced_costs,
    nearest_open_time,
    plan_vector,
    reduced_cost_fixing,
    truncated_program,
)
from ..heuristics.pmedian_branch import BranchResult, lagrangian_branch_and_bound
from ..heuristics.pmedian_lagrangian import PairWindows, PMedianLagrangian, lagrangian_fixing, pmedian_lagrangian
from ..heuristics.pmedian_swap import fast_swap
from ..rules import SiteRules
from ..status import Termination
from .base import Built, Outcome, Plan, SolveContext
from .parts import demand_weight
from .reachable import reachable_pairs

__all__ = ["search_pmedian", "radius_search", "resolve_formulation"]

#: relative tolerance at which bound and best plan count as equal (the solvers' own MIP gap is tighter)
_PROOF_TOL = 1e-7
#: after an LP that fixes more than this share of the free sites, solve the (smaller) LP again before the MIP
_REFIX_SHARE = 0.05
#: share of the time left the Lagrangian bound may take (it stops far sooner on OR-Library pmed)
_LAGRANGIAN_SHARE = 0.3
#: share of the time left the Lagrangian branch and bound may take before the radius programs get the rest
_BRANCH_SHARE = 0.97
#: the branch and bound runs only when the fixing left at most this many free sites (a large p with a weak
#: incumbent leaves hundreds: its nodes are slow there, and the radius programs close such LP-tight cases)
_BRANCH_MAX_FREE = 400
#: numba's import and kernel load take ~3 s in a fresh process: only worth it when this much time is left
_COMPILE_MIN_TIME_S = 10.0


def resolve_formulation(params: Any) -> str:
    """The formulation ``auto`` stands for (see the module notes), or the one asked for."""
    if params.formulation != "auto":
        return params.formulation
    return "assignment" if params.budget is not None else "iterative"


def _true_cost(lv: Any, open_mask: np.ndarray) -> float:
    """Sum of ``w_i`` times minutes to the nearest open site over the points with pairs (inf: one has none)."""
    active = lv.n_levels_of > 0
    return float(np.sum(lv.weight[active] * nearest_open_time(lv, open_mask)[active]))


def _integral(lv: Any) -> bool:
    """True when every weight and time is an integer: then every plan's objective is an integer too."""
    return bool(np.all(lv.weight == np.round(lv.weight)) and np.all(lv.minutes == np.round(lv.minutes)))


def radius_search(instance: Instance, params: Any, rules: SiteRules, ctx: SolveContext,
                  greedy_pmedian: Callable[..., np.ndarray | None]) -> Outcome:
    """Iterative radius tightening (module notes); the Outcome's bound is valid whenever it stops.

    ``greedy_pmedian`` : the starting plan's heuristic (:func:`siting.models.pmedian.greedy_pmedian`, handed in
    by the model so this module does not import it back).
    """
    started = time.perf_counter()
    weight = demand_weight(instance, params.weight_column)
    d, s, t = reachable_pairs(instance, weight, rules, "pmedian", unreachable=params.unreachable)
    levels_started = time.perf_counter()
    lv_all = levels_of(d, s, t, weight)
    levels_s = time.perf_counter() - levels_started
    active = lv_all.n_levels_of > 0
    integral = _integral(lv_all)
    limits = params.limits()
    n = instance.n_sites
    pairs = PairWindows(d, s, weight[d] * t, weight.shape[0], instance.n_sites, compile_ok=_compile_ok(ctx))
    swappable = rules.free
    # without a budget row the vectorised fast swap replaces the greedy's own (same moves, ~20x faster)
    best = greedy_pmedian(instance, p=params.p, weight_column=params.weight_column, budget=params.budget,
                          deadline=ctx.deadline_after(0.25),
                          unreachable=params.unreachable, **({"max_swaps": 0} if params.budget is None else {}))
    best_value = _true_cost(lv_all, best) if best is not None else np.inf
    if best is not None and params.budget is None:
        swapped = fast_swap(pairs, best, swappable, deadline=ctx.deadline_after(0.25))
        swapped_value = _true_cost(lv_all, swapped)
        if np.isfinite(swapped_value):   # never trade the greedy's plan for one serving fewer points
            best, best_value = swapped, swapped_value
    # the truncation as a radius per demand point: it survives the re-levelling after sites are fixed closed
    radius = nearest_open_time(lv_all, best) if best is not None else np.zeros(weight.shape[0])
    stats: dict[str, Any] = {"formulation": "iterative", "greedy_objective": best_value if best is not None else None,
                             "n_pairs": int(d.shape[0]), "n_levels": lv_all.n_levels, "integral": integral,
                             "rounds": []}
    backend = get_backend(ctx.backend)
    # every point at its nearest usable site: valid before any solve (a time limit may stop the first LP)
    bound = float(np.sum(lv_all.weight[lv_all.level_demand[lv_all.level_local == 0]]
                         * lv_all.level_minutes[lv_all.level_local == 0]))
    termination = Termination.TIME_LIMIT
    message = ""
    fixed_closed = np.zeros(n, bool)
    fixed_open = np.zeros(n, bool)
    free = rules.free
    lv, lp_done = lv_all, False
    program = z_level = None

    def proven() -> bool:
        # with integral data a bound above best - 1 proves best optimal
        tol = _PROOF_TOL * max(1.0, abs(best_value))
        gap_ok = bound > best_value - 1.0 + tol if integral else bound >= best_value - tol
        return best is not None and gap_ok

    lagrangian = None
    if best is not None and not proven():
        lagrangian = _lagrangian(pairs, rules, params, best, best_value, integral, ctx)
        stats["lagrangian"] = {"bound": lagrangian.bound, "iterations": lagrangian.iterations,
                               "seconds": round(lagrangian.seconds, 3), "plan_objective": lagrangian.best_value}
        bound = max(bound, min(lagrangian.bound, best_value))
        if lagrangian.best_plan is not None and _fits(lagrangian.best_plan, rules, params):
            value = _true_cost(lv_all, lagrangian.best_plan)
            if value < best_value:
                best, best_value = lagrangian.best_plan.copy(), value
                radius = nearest_open_time(lv_all, best)

    def lagrangian_fix() -> bool:
        """Fix what the Lagrangian proves for the current incumbent; False when a point lost every site."""
        nonlocal lv
        if lagrangian is None or proven():
            return True
        closed, opened = lagrangian_fixing(lagrangian, free, best_value, integral)
        fixed_open[opened] = True
        if (closed & ~fixed_closed).any():
            fixed_closed[closed] = True
            keep_pair = ~fixed_closed[s]
            lv = levels_of(d[keep_pair], s[keep_pair], t[keep_pair], weight)
            return not np.any(active & (lv.n_levels_of == 0))
        return True

    if not lagrangian_fix():
        bound = best_value
    stats["lagrangian_fixed"] = [int(fixed_closed.sum()), int(fixed_open.sum())]
    left_free = int((free & ~fixed_closed & ~fixed_open).sum())
    if (best is not None and lagrangian is not None and params.budget is None and not proven()
            and left_free <= _BRANCH_MAX_FREE):
        branch = _branch(d, s, t, weight, rules, params, lagrangian, fixed_closed, fixed_open, best, best_value,
                         integral, ctx)
        stats["branch"] = {"nodes": branch.nodes, "seconds": round(branch.seconds, 3), "finished": branch.finished}
        if branch.best_plan is not None and _fits(branch.best_plan, rules, params):
            value = _true_cost(lv_all, branch.best_plan)
            if value < best_value:
                best, best_value = branch.best_plan.copy(), value
                radius = nearest_open_time(lv_all, best)
        if branch.finished:
            bound = best_value   # no plan inside the fixings beats it, none outside them does either
        elif not lagrangian_fix():
            bound = best_value
    while not proven():
        left = ctx.remaining_s()
        if left is not None and left <= 0.05:
            break
        keep = np.where(lv.n_levels_of > 0, np.minimum(levels_within(lv, radius), lv.n_levels_of), 0)
        program, z_level = truncated_program(lv, keep, rules, limits, fixed_closed, fixed_open)
        round_stats: dict[str, Any] = {"rows": program.n_rows, "cols": program.n_cols,
                                       "nnz": int(program.constraints.nnz)}
        stats["rounds"].append(round_stats)
        if best is not None and not lp_done:
            lv_before = lv
            lp = lp_reduced_costs(program, ctx.remaining_s())
            if lp is not None:
                lp_value, x_lp, reduced = lp
                round_stats["lp"] = lp_value
                bound = max(bound, min(lp_value, best_value))
                closed, opened = reduced_cost_fixing(lp_value, reduced[:n], x_lp[:n], best_value,
                                                     free & ~fixed_closed & ~fixed_open)
                out_lp = beyond(x_lp, z_level, lv, keep, n)
                round_stats.update(lp_beyond=int(out_lp.sum()), fixed_now=int(closed.sum() + opened.sum()))
                fixed_open |= opened
                if closed.any():
                    fixed_closed |= closed
                    lv = levels_of(d[~fixed_closed[s]], s[~fixed_closed[s]], t[~fixed_closed[s]], weight)
                    if np.any(active & (lv.n_levels_of == 0)):
                        bound = best_value   # a point reaches no site left: no plan beats the incumbent
                        break
                if out_lp.any():
                    # the LP needs more rows: double those points' levels (row generation on the LP)
                    radius = _extend(keep, lv_before, out_lp, radius)
                    continue
                if closed.sum() + opened.sum() > _REFIX_SHARE * max(1, int(free.sum())):
                    continue   # many sites fixed: the smaller LP may fix more
            lp_done = True
            continue
        start = plan_vector(program, z_level, lv, best) if best is not None else None
        if start is not None and program.max_violation(start, relative=True) > 1e-7:
            start = None   # a greedy plan outside the budget row cannot seed the solver
        options = ctx.options_now(share=0.95)
        if integral and ctx.backend == "highs":
            # integral data: every plan's (truncated) objective is an integer, so an incumbent less than 1 above
            # the bound is the truncated optimum; HiGHS may stop there instead of closing the last fraction
            highs = {"mip_abs_gap": 1.0 - 1e-6, **options.backend_options.get("highs", {})}
            options = replace(options, backend_options={**options.backend_options, "highs": highs})
        sol = backend.solve(program, options, warm_start=start)
        round_stats.update(termination=str(sol.termination), seconds=round(sol.seconds, 3),
                           fixed_closed=int(fixed_closed.sum()), fixed_open=int(fixed_open.sum()))
        if sol.termination is Termination.INFEASIBLE:
            if best is not None and (fixed_closed.any() or fixed_open.any()):
                bound = best_value   # nothing beats the incumbent inside the fixings, nothing outside them
                break
            # the truncated program relaxes the full one: no plan satisfies the rules at all
            return Outcome(None, Termination.INFEASIBLE, None, None, f"pmedian_radius({sol.backend})", stats,
                           sol.message)
        if sol.bound is not None and np.isfinite(sol.bound):
            # plans outside the fixings cost more than the incumbent: min(restricted bound, incumbent) is global
            bound = max(bound, min(float(sol.bound), best_value))
        if sol.x is None:
            termination, message = sol.termination, sol.message
            break
        plan = sol.x[:n] > 0.5
        value = _true_cost(lv_all, plan)
        round_stats.update(truncated_objective=sol.objective, plan_objective=value)
        improved = value < best_value
        if improved:
            best, best_value = plan, value
        out = beyond(sol.x, z_level, lv, keep, n)
        round_stats["beyond"] = int(out.sum())
        if improved and not lagrangian_fix():   # a better incumbent: the same multipliers may fix more sites
            bound = best_value
            break
        if sol.termination is Termination.OPTIMAL and not out.any() and sol.objective is not None:
            bound = max(bound, min(best_value, float(sol.objective)))
            break
        if sol.termination is not Termination.OPTIMAL:
            termination, message = sol.termination, sol.message
            break
        # exactly to its time in this plan (doubling here was tried: larger MIPs, no fewer rounds on pmed6/17)
        radius = np.where(out, np.maximum(radius, nearest_open_time(lv_all, plan)), radius)
        lp_done = False   # the new rows can tighten the LP and fix more sites
    if proven():
        termination = Termination.OPTIMAL
        bound = best_value   # equal within the tolerance, or (integral data) no integer lies between them
    stats["search_seconds"] = time.perf_counter() - started
    stats["fixed_closed"], stats["fixed_open"] = int(fixed_closed.sum()), int(fixed_open.sum())
    finite_bound = bound if np.isfinite(bound) else None
    method = f"pmedian_radius({ctx.backend})"
    if best is None:
        return Outcome(None, termination, None, finite_bound, method, stats, message)
    # the cheapest-plan stage needs a program whose objective is exact for every plan: all levels of the
    # pairs left after fixing (a plan it finds outside the fixings' promise is rejected by the re-evaluation)
    # built only when that stage runs: at millions of pairs it takes as long as a search round (4,000,000
    # pairs: ~10 s), which used to run after the deadline even when the stage was then skipped
    def exact_built() -> tuple[Built, np.ndarray | None]:
        lv_exact, closed_exact, open_exact = lv, fixed_closed, fixed_open
        if lagrangian is not None:
            # the search's fixings keep only plans better than the incumbent (by 1 with integral data); plans of
            # equal objective and lower cost must stay in: fix only what costs more than the best plan
            closed_exact, open_exact = lagrangian_fixing(lagrangian, free, best_value, False)
            keep_pair = ~closed_exact[s]
            lv_exact = levels_of(d[keep_pair], s[keep_pair], t[keep_pair], weight)
        exact, exact_z = truncated_program(lv_exact, lv_exact.n_levels_of.copy(), rules, limits, closed_exact,
                                           open_exact)
        return Built(exact), plan_vector(exact, exact_z, lv_exact, best)

    stats["_built"] = exact_built
    stats["_build_s"] = 2.0 * levels_s   # its levels again, then a program over every level (measured: as long)
    return Outcome(Plan(open_sites=best.copy()), termination, best_value, finite_bound, method, stats, message)


def _lagrangian(pairs: PairWindows, rules: SiteRules, params: Any, best: np.ndarray, best_value: float,
                integral: bool, ctx: SolveContext) -> PMedianLagrangian:
    """The Lagrangian bound from the incumbent (a budget row is relaxed: the bound and fixing stay valid).

    Without a budget, each subproblem plan that beats the best so far is improved by the fast swap.
    """
    fixed = rules.fixed_open
    free = rules.free
    deadline = ctx.deadline_after(_LAGRANGIAN_SHARE)
    improve = None if params.budget is not None else (lambda plan: fast_swap(pairs, plan, free, deadline=deadline))
    return pmedian_lagrangian(pairs.d, pairs.s, pairs.cost, np.ones(0), fixed, free,
                              params.p - int((fixed & rules.counts).sum()), upper_bound=best_value, start=best,
                              integral=integral, deadline=deadline, pairs=pairs, improve=improve)


def _branch(d: np.ndarray, s: np.ndarray, t: np.ndarray, weight: np.ndarray, rules: SiteRules, params: Any,
            lagrangian: PMedianLagrangian, fixed_closed: np.ndarray, fixed_open: np.ndarray, best: np.ndarray,
            best_value: float, integral: bool, ctx: SolveContext) -> BranchResult:
    """Lagrangian branch and bound on the sites the fixing left free (the budget row is not searched)."""
    keep = ~fixed_closed[s]
    pairs = PairWindows(d[keep], s[keep], (weight[d] * t)[keep], weight.shape[0], fixed_closed.shape[0],
                        compile_ok=_compile_ok(ctx))
    forced = rules.fixed_open | fixed_open
    free = rules.free & ~fixed_closed & ~fixed_open
    left = ctx.remaining_s()
    deadline = None if left is None else time.perf_counter() + _BRANCH_SHARE * left
    return lagrangian_branch_and_bound(pairs, forced, free, params.p - int((forced & rules.counts).sum()),
                                       incumbent=best, incumbent_value=best_value,
                                       multipliers=lagrangian.multipliers, integral=integral, deadline=deadline)


def _fits(plan: np.ndarray, rules: SiteRules, params: Any) -> bool:
    """A subproblem plan keeps the budget (the relaxation ignores it)."""
    return params.budget is None or float(rules.cost[plan].sum()) <= params.budget + 1e-9


def _extend(keep: np.ndarray, lv: Any, out: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """``radius`` with the points in ``out`` given twice as many levels (at most all of theirs)."""
    wider = np.minimum(2 * np.maximum(keep, 1), lv.n_levels_of)
    at = lv.first_level + np.maximum(wider, 1) - 1
    ok = out & (lv.n_levels_of > 0)
    radius = radius.copy()
    radius[ok] = np.maximum(radius[ok], lv.level_minutes[at[ok]])
    return radius


def _program_search(instance: Instance, params: Any, rules: SiteRules, ctx: SolveContext,
                    program_model: Any) -> Outcome:
    """One program through the driver's program search (build, warm start, backend)."""
    from .driver import _search_program
    outcome, built, x = _search_program(program_model, instance, params, rules, ctx)
    if outcome.plan is not None:
        outcome.stats["_built"] = lambda: (built, x)
    return outcome


def search_pmedian(instance: Instance, params: Any, rules: SiteRules, ctx: SolveContext,
                   program_model: Any, greedy_pmedian: Callable[..., np.ndarray | None]) -> Outcome:
    """The ``search`` hook: the resolved formulation's search, then the cheapest plan of equal objective.

    ``program_model`` is the p-median model with its ``build`` hook (for the one-program formulations and
    for the cheapest-plan stage's program).
    """
    from .secondary import cheapest_later

    formulation = resolve_formulation(params)
    if formulation == "iterative":
        outcome = radius_search(instance, params, rules, ctx, greedy_pmedian)
    else:
        outcome = _program_search(instance, replace(params, formulation=formulation), rules, ctx, program_model)
    build = outcome.stats.pop("_built", None)
    build_s = outcome.stats.pop("_build_s", 0.0)
    outcome.stats["formulation"] = formulation
    if outcome.plan is None and outcome.termination is Termination.INFEASIBLE:
        # the solver's own word ("Infeasible") says nothing of why: with every pair of the table usable, only
        # reach (or the budget) can leave no plan
        within = "" if params.budget is None else f" and the budget of {params.budget:,.10g}"
        raise InfeasibleError(f"pmedian: no plan of exactly {params.p} sites reaches every demand point through "
                              f"the travel table{within} (a pair missing from the table is unreachable): raise p "
                              "or extend the table")
    if outcome.plan is None or build is None:
        return outcome
    if ctx.options.secondary != "min_cost":
        outcome.stats["secondary"] = {"goal": "none"}
        return outcome
    figures = program_model.evaluate(instance, params, rules, outcome.plan)
    plan, _, info = cheapest_later(program_model, build, instance, params, rules, ctx, outcome.plan, figures,
                                   outcome.stats.get("search_seconds", 0.0), site_costs_only=True,
                                   build_s=build_s)
    outcome.stats["secondary"] = info
    return replace(outcome, plan=plan)


def _compile_ok(ctx: SolveContext) -> bool:
    """Whether the Lagrangian may load its compiled loops within the time left (``_COMPILE_MIN_TIME_S``)."""
    return ctx.deadline is None or (ctx.remaining_s() or 0.0) >= _COMPILE_MIN_TIME_S
