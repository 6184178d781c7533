"""One driver for every model: rules, limits, time limit, backend, decoding, verification, result.

:func:`solve_model` is the only place that calls a backend for a model and the only place that builds a
:class:`~siting.result.Result` from a plan. A model contributes its formulation and its evaluation
(:mod:`siting.models.base`); the driver adds what every model needs:

1. site rules from the statuses, and limits the fixed sites already break (``infeasible`` before solving);
2. the search: the model's ``search`` hook, or ``build`` -> optional ``warm_start`` -> backend, with the
   time limit counted from the start of the call; when a backend stops without a point of its own, the
   verified warm start is the plan;
3. the plan's figures recomputed by ``evaluate``, the generic plan checks (statuses, budget, site count)
   and the claim check: the solver may not claim a better objective than the recomputed one, a proven
   optimum must match it, and a bound must lie on the correct side of it;
4. among the plans that keep the verified objective, the cheapest (``SolveOptions.secondary``, default
   ``min_cost``; :mod:`siting.models.secondary`): a second program for ``build`` models, the search's own
   second stage otherwise; then every site whose removal alone loses nothing is closed (most expensive
   first) and the "no redundant site" property is verified;
5. the :class:`Result`, with the one relative gap of :func:`siting.status.relative_gap`, ``budget_unspent``
   and each selected site's ``marginal_weight`` (the weight it alone adds; also a column of ``sites``).

Examples
--------
>>> from siting.testing import random_instance
>>> from siting.models.registry import get_model
>>> m = get_model("pmedian")
>>> r = solve_model(m, random_instance(6, 4, seed=1), m.params(p=2))
>>> r.status.value, len(r.selected)
('optimal', 2)
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..backends import available_backends, get_backend
from ..backends.registry import BACKENDS
from ..data.instance import Instance
from ..data.travel_table import check_thresholds, unreachable_demand, unreachable_summary
from ..errors import InfeasibleError, InputError, VerificationError
from ..options import SECONDARY_GOALS, SolveOptions
from ..program import LinearProgram
from ..result import Result
from ..rules import REL_TOL, SiteRules, check_fixed_limits, check_plan_rules
from ..status import Termination, relative_gap
from .base import Built, Evaluation, Model, Outcome, Plan, SolveContext
from .levels import check_levels, solve_levels, unproven_levels
from .params import ModelParams, ParamError
from .parts import demand_weight, travel_of
from .secondary import cheapest_built, prune_and_check

__all__ = ["solve_model", "resolve_backend", "STRATEGIES", "check_claims"]

STRATEGIES = ("auto", "exact", "hybrid", "heuristic")


def resolve_backend(name: str) -> str:
    """A known backend name (``auto``: the first available in order of preference), or a one-line error."""
    if not isinstance(name, str):
        raise ParamError(f"expected a backend name, got {name!r}", param="backend")
    low = name.strip().lower()
    if low == "auto":
        have = available_backends()
        if not have:
            raise ParamError("no solver backend is installed", param="backend")
        return have[0]
    if low not in BACKENDS:
        raise ParamError(f"unknown backend {name!r}; known: auto, {', '.join(BACKENDS)}", param="backend")
    return low


def _check_strategy(strategy: str, model: Model[Any]) -> str:
    if not isinstance(strategy, str) or strategy.strip().lower() not in STRATEGIES:
        raise ParamError(f"unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}", param="strategy")
    low = strategy.strip().lower()
    if low not in ("auto", "exact") and not model.uses_strategy:
        raise ParamError(f"model '{model.name}' is solved exactly; strategy '{low}' applies to mclp, lscp and "
                         "partial", param="strategy")
    return low


def _check_options(options: SolveOptions) -> None:
    if not isinstance(options, SolveOptions):
        raise ParamError(f"expected SolveOptions, got {type(options).__name__}", param="options")
    t = options.time_limit_s
    if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not np.isfinite(t) or t <= 0):
        raise ParamError(f"must be a positive number of seconds, got {t!r}", param="time_limit")
    g = options.mip_gap
    if isinstance(g, bool) or not isinstance(g, (int, float)) or not np.isfinite(g) or g < 0:
        raise ParamError(f"must be a number >= 0, got {g!r}", param="mip_gap")
    if options.threads is not None and (isinstance(options.threads, bool) or not isinstance(options.threads, int)
                                        or options.threads < 1):
        raise ParamError(f"must be a whole number >= 1, got {options.threads!r}", param="threads")
    if not isinstance(options.secondary, str) or options.secondary not in SECONDARY_GOALS:
        raise ParamError(f"unknown goal {options.secondary!r}; known: {', '.join(SECONDARY_GOALS)}",
                         param="secondary")


def walking_table(instance: Instance, params: ModelParams) -> Instance:
    """The instance whose default table is the one the model walks on (its ``speed_group``'s).

    A single-service model weighted by a group that has its own walking speed (``weight_column = "elderly"``
    while the travel table holds ``elderly`` rows) must say which table it walks on: ``speed_group =
    "elderly"``, or ``"default"`` to use the default rows on purpose. Anything else would solve at the
    default pace without a word.
    """
    if not hasattr(params, "speed_group"):
        return instance                      # multi-service: each service names its own group
    group = params.speed_group
    weight = getattr(params, "weight_column", "population")
    if group is None:
        has_own = weight in instance.travel.groups or weight in instance.group_travel
        if has_own:
            raise ParamError(f"weight_column {weight!r} is a group with its own walking speed in the travel "
                             f"table; say which table to walk on: speed_group = {weight!r} (or \"default\" for "
                             "the default rows)", param="speed_group", model=params.model_name)
        return instance
    if group == "default":
        return instance
    return replace(instance, travel=travel_of(instance, group), group_travel={})


def _total_weight(model: Model[Any], instance: Instance, params: ModelParams) -> float:
    """The weight every plan is scored against; an unknown ``weight_column`` is its own one-line error."""
    if model.total_weight is not None:
        return float(model.total_weight(instance, params))
    return float(demand_weight(instance, getattr(params, "weight_column", "population")).sum())


def check_claims(model: Model[Any], *, objective: float | None, bound: float | None, verified: float,
                 proven_optimal: bool, mip_gap: float = 0.0) -> None:
    """Compare a search's claims with the recomputed objective; raise :class:`VerificationError`.

    A claim better than the recomputation is an error (a minimising solver may report a worse value, e.g. a
    p-median assignment that is not the nearest); a proven optimum must match, except that a plan may be
    better than its claim by up to the relative ``mip_gap`` the solve was allowed (a solver stopping within
    its gap need not push every continuous column to its bound); a bound must not beat the plan.
    """
    sign = 1.0 if model.maximise else -1.0
    tol = REL_TOL * max(1.0, abs(verified))
    if objective is not None:
        over = sign * (objective - verified)
        under_ok = max(tol, float(mip_gap) * abs(verified))
        if over > tol or (proven_optimal and -over > under_ok):
            raise VerificationError(f"{model.name}: the solver reports objective {objective:,.10g} but the plan "
                                    f"recomputed from the raw inputs gives {verified:,.10g}")
    if bound is not None and sign * (verified - bound) > tol:
        raise VerificationError(f"{model.name}: bound {bound:,.10g} is on the wrong side of the verified "
                                f"objective {verified:,.10g}")


def _better(model: Model[Any], a: float, b: float) -> bool:
    return a > b + 1e-9 * max(1.0, abs(b)) if model.maximise else a < b - 1e-9 * max(1.0, abs(b))


#: HiGHS (and CBC) read coefficients at or above 1e20 as infinite; stay well clear of it
_MAX_COEFFICIENT = 1e15


def _check_magnitudes(model: Model[Any], program: LinearProgram) -> None:
    """One-line error when the data make coefficients a solver would read as infinite."""
    parts = {"an objective": program.objective, "a constraint": program.constraints.data}
    for what, values in parts.items():
        big = float(np.abs(values).max(initial=0.0))
        if big >= _MAX_COEFFICIENT:
            raise InputError(f"{model.name}: {what} coefficient of {big:.3g} is too large for the solvers "
                             f"(limit {_MAX_COEFFICIENT:.0e}); rescale the weights, costs or minutes")


def _search_program(model: Model[Any], instance: Instance, params: ModelParams, rules: SiteRules,
                    ctx: SolveContext) -> tuple[Outcome, Built, np.ndarray | None]:
    """``build`` -> ``warm_start`` -> backend; the warm start is the plan when the backend returns none.

    Returns the outcome, the built program and the plan's column vector (the second stage starts from it).
    """
    assert model.build is not None
    built: Built = model.build(instance, params, rules)
    program = built.program
    program.check()
    _check_magnitudes(model, program)
    stats: dict[str, Any] = {"n_cols": program.n_cols, "n_rows": program.n_rows, "nnz": int(program.constraints.nnz),
                             **built.stats}
    level_termination = Termination.OPTIMAL
    start: np.ndarray | None = None
    if model.warm_start is not None:
        # the warm start may use its model's share of the time (half by default): the solver needs the rest
        start = model.warm_start(instance, params, rules, built,
                                 ctx.deadline_after(_share(model.warm_start_share, built)))
    if built.levels:  # solve_levels checks the start against the program itself
        tolerance = float(getattr(params, "priority_tolerance", 0.0))
        stats["levels_warm_started"] = start is not None
        hook = model.level_bound
        program, start, level_termination, stats["priority_levels"], why = solve_levels(
            program, built.levels, ctx, tolerance=tolerance, polish=built.polish, start=start,
            level_bound=None if hook is None else lambda number: hook(instance, params, rules, number))
        built = replace(built, program=program)
        if why:
            return Outcome(None, level_termination, None, None, ctx.backend, stats, why), built, None
    if start is not None:
        if program.max_violation(start, relative=True) > 1e-7:
            raise VerificationError(f"{model.name}: the warm start violates the program")
        stats["warm_start_objective"] = program.objective_value(start)
    cheap = None
    if model.bound is not None:
        # before the solve, with a share of the time: the solver may not even finish its root LP (gradual
        # coverage at 20,000 x 2,000: not in 60 s), and after it no time is left
        cheap = model.bound(instance, params, rules, stats.get("warm_start_objective"),
                            ctx.deadline_after(_share(model.bound_share, built)))
        stats["model_bound"] = cheap
    options = ctx.options_now(share=1.0 - _share(model.verify_share, built, most=0.9))
    backend = get_backend(ctx.backend)
    sol = backend.solve(program, options, warm_start=start)
    stats["backend_seconds"] = sol.seconds
    stats.update({f"backend_{k}": v for k, v in sol.stats.items()})
    x, objective, termination, method = sol.x, sol.objective, sol.termination, sol.backend
    if start is not None and termination not in (Termination.INFEASIBLE, Termination.UNBOUNDED):
        warm_value = program.objective_value(start)
        if x is None or objective is None or _better(model, warm_value, objective):
            x, objective, method = start, warm_value, f"{sol.backend}+warm_start"
            if termination is Termination.OPTIMAL:
                termination = Termination.TIME_LIMIT  # cannot happen for a correct solver; never claim a proof
            elif termination is Termination.ERROR:
                termination = Termination.HEURISTIC
    if termination is Termination.OPTIMAL and level_termination is not Termination.OPTIMAL:
        termination = level_termination      # an earlier level was stopped by a limit: no proof for the whole
    # a relaxation's bound cannot see infeasibility: an infeasible program has no bound to report
    bound = (sol.bound if termination is Termination.INFEASIBLE
             else _tightest_bound(model, sol.bound, cheap))
    if x is None:
        return Outcome(None, termination, None, bound, method, stats, sol.message), built, None
    return Outcome(built.plan_of(x), termination, objective, bound, method, stats, sol.message), built, x


def _share(share: float | Callable[[Built], float], built: Built, most: float = 1.0) -> float:
    """A model's share of the time (a number, or a function of the built program), within ``[0, most]``."""
    return min(max(float(share(built) if callable(share) else share), 0.0), most)


def _tightest_bound(model: Model[Any], solver_bound: float | None, cheap: float | None) -> float | None:
    """The solver's bound, or the model's own bound (``cheap``) when that is tighter or the solver has none."""
    if cheap is None:
        return solver_bound
    if solver_bound is None:
        return cheap
    return min(solver_bound, cheap) if model.maximise else max(solver_bound, cheap)


def _cheapest(model: Model[Any], instance: Instance, params: ModelParams, rules: SiteRules, ctx: SolveContext,
              outcome: Outcome, plan: Plan, figures: Evaluation, built: Built | None,
              x: np.ndarray | None, first_stage_s: float,
              evaluate_s: float = 0.0) -> tuple[Plan, Evaluation, dict[str, Any]]:
    """Second stage (``build`` models), redundant sites closed, and what each selected site alone adds.

    Returns the final plan, its figures and the result stats it adds: ``secondary``, ``redundancy``,
    ``budget_unspent``, ``marginal_weight`` ({selected site id: weight}); ``"_sites"`` is the sites table
    with the ``marginal_weight`` column (NaN for closed sites, or when the plan was too large to check).
    """
    stats: dict[str, Any] = {}
    if built is not None:
        if ctx.options.secondary == "min_cost":
            plan, figures, stats["secondary"] = cheapest_built(model, built, x, instance, params, rules, ctx,
                                                               plan, figures, first_stage_s)
        else:
            stats["secondary"] = {"goal": "none"}
    elif "secondary" in outcome.stats:
        stats["secondary"] = outcome.stats["secondary"]
    # the re-evaluations of the redundancy check stop at the deadline (``evaluate_s``: one evaluation's time)
    plan, figures, marginal, stats["redundancy"] = prune_and_check(model, instance, params, rules, plan, figures,
                                                                   ctx, evaluate_s)
    # a bound proven for the first stage still holds for the plan kept (never on the wrong side of it)
    check_claims(model, objective=None, bound=outcome.bound, verified=figures.objective, proven_optimal=False)
    budget = params.limits().budget
    stats["budget_unspent"] = None if budget is None else float(budget) - figures.total_cost
    sites = figures.sites.copy()
    weight = np.full(instance.n_sites, np.nan)
    if marginal is not None:
        weight[plan.open_sites] = np.asarray(marginal.weight, dtype=float)[plan.open_sites]
    if len(sites) == instance.n_sites and "site_id" in sites:
        sites["marginal_weight"] = weight
    chosen = plan.open_sites & ~rules.existing
    stats["marginal_weight"] = None if marginal is None else \
        dict(zip(map(str, instance.sites.ids[chosen]), weight[chosen].tolist(), strict=True))
    stats["_sites"] = sites
    return plan, figures, stats


def _unreachable(instance: Instance, rules: SiteRules, weight_column: str) -> dict[str, Any]:
    """The unreachable demand of ``solution.json``: ``{"count", "weight", "first_ids"}``.

    Points of positive weight with no pair to a usable site in the table the model walks on.
    """
    try:
        weight = instance.demand.weight(weight_column)
    except KeyError:  # multi-service weights by service; the population stands for them here
        weight = instance.demand.population
    lost = unreachable_demand(instance.travel, rules.usable, weight)
    return unreachable_summary(lost, instance.demand, weight)


def solve_model(model: Model[Any], instance: Instance, params: ModelParams, *, backend: str = "auto",
                strategy: str = "auto", options: SolveOptions | None = None) -> Result:
    """Solve ``model`` on ``instance`` with ``params`` and return a verified :class:`Result`.

    Parameters
    ----------
    model : Model
        A registered model (:func:`siting.models.registry.get_model`).
    instance : Instance
    params : the model's parameter dataclass (already validated by its construction)
    backend : ``auto`` or a name from :data:`siting.backends.registry.BACKENDS`
    strategy : ``auto``, ``exact``, ``hybrid`` or ``heuristic`` (models with ``uses_strategy``)
    options : SolveOptions; ``time_limit_s`` caps the whole call (search, decoding and verification)

    Returns
    -------
    Result
        Figures recomputed from the raw inputs. Infeasibility proven from the data or by the solver gives
        status ``infeasible`` with the reason in ``message``; a solver stopped before any plan gives
        ``time_limit`` or ``error``.

    Raises
    ------
    ParamError
        for parameters, backends, strategies or options that are not valid (one line, naming them).
    InputError
        for a demand weight that totals 0 (every plan would score 0), naming the column.
    VerificationError
        when a search's plan or claims disagree with the recomputation (a bug, never a user error).
    """
    started = time.perf_counter()
    options = options or SolveOptions()
    if not isinstance(params, model.params):
        raise InputError(f"model '{model.name}' takes {model.params.__name__}, got {type(params).__name__}")
    _check_options(options)
    strategy = _check_strategy(strategy, model)
    backend = resolve_backend(backend)
    limit = options.time_limit_s
    ctx = SolveContext(backend, strategy, options, None if limit is None else started + float(limit))
    # a threshold above a table's cutoff would silently count the missing (slower) pairs as unreachable
    check_thresholds([instance.travel, *instance.group_travel.values()], params.thresholds_min())
    instance = walking_table(instance, params)
    rules = SiteRules.of(instance)
    total = _total_weight(model, instance, params)
    described = params.described()
    weight_column = str(getattr(params, "weight_column", "population"))
    if not total > 0:
        # every plan would score 0 and the solver would call any of them optimal: an empty or wrongly mapped column
        n_points = instance.n_demand
        if model.total_weight is None:
            raise InputError(f"{model.name}: weight column {weight_column!r} totals 0 over the {n_points} demand "
                             "points, so every plan scores 0 (is it the right column?)", file=instance.demand.source,
                             column=weight_column)
        raise InputError(f"{model.name}: every enabled service's demand column totals 0 over the {n_points} demand "
                         "points, so every plan scores 0 (are they the right columns?)", file=instance.demand.source)
    unreachable = _unreachable(instance, rules, weight_column)

    def elapsed() -> float:
        return time.perf_counter() - started

    built: Built | None = None
    x: np.ndarray | None = None
    try:
        check_fixed_limits(rules, params.limits(), model.name)
        if model.search is not None:
            outcome = model.search(instance, params, rules, ctx)
        else:
            outcome, built, x = _search_program(model, instance, params, rules, ctx)
    except InfeasibleError as exc:
        return Result.no_plan(model.name, Termination.INFEASIBLE, str(exc), solver=backend, seconds=elapsed(),
                              total_weight=total, weight_column=weight_column, covered_definition=model.covered,
                              params=described, stats={"unreachable_demand": unreachable})
    if outcome.plan is None and model.explain_infeasible is not None and \
            outcome.termination in (Termination.INFEASIBLE, Termination.ERROR):
        # after a solver error only a proof from the data may say "infeasible"
        proven = outcome.termination is Termination.INFEASIBLE
        why = model.explain_infeasible(instance, params, rules, ctx, proven)
        if why:
            outcome = replace(outcome, termination=Termination.INFEASIBLE, message=why if proven else
                              f"{why} (proven by that solve; the solver itself stopped with an error: "
                              f"{outcome.message or 'no message'})")
    if outcome.plan is None:
        message = outcome.message or (f"{model.name}: the constraints admit no plan"
                                      if outcome.termination is Termination.INFEASIBLE
                                      else f"{outcome.method} stopped ({outcome.termination}) without a plan")
        return Result.no_plan(model.name, outcome.termination, message, solver=outcome.method, seconds=elapsed(),
                              total_weight=total, bound=outcome.bound,
                              stats={**outcome.stats, "unreachable_demand": unreachable},
                              weight_column=weight_column, covered_definition=model.covered, params=described)
    plan = outcome.plan
    first_stage_s = elapsed()
    figures = model.evaluate(instance, params, rules, plan)
    evaluate_s = elapsed() - first_stage_s
    check_plan_rules(rules, plan.open_sites, params.limits(), total_cost=figures.total_cost, model=model.name,
                     site_ids=instance.sites.ids)
    if "priority_levels" in outcome.stats:
        check_levels(outcome.stats["priority_levels"], figures.stats.get("level_values", {}))
    proven = outcome.termination is Termination.OPTIMAL
    check_claims(model, objective=outcome.objective, bound=outcome.bound, verified=figures.objective,
                 proven_optimal=proven, mip_gap=options.mip_gap or 0.0)
    plan, figures, after = _cheapest(model, instance, params, rules, ctx, outcome, plan, figures, built, x,
                                     first_stage_s, evaluate_s)
    if "priority_levels" in outcome.stats:
        check_levels(outcome.stats["priority_levels"], figures.stats.get("level_values", {}))
    sites_table = after.pop("_sites")
    selected = tuple(str(v) for v in instance.sites.ids[plan.open_sites & ~rules.existing])
    # one gap: stats and the result agree by construction
    stats: dict[str, Any] = {**outcome.stats, **figures.stats, **after,
                             "gap": relative_gap(figures.objective, outcome.bound), "unreachable_demand": unreachable}
    share = figures.covered_weight / figures.total_weight if figures.total_weight else 0.0
    message = (f"{len(selected)} new sites, cost {figures.total_cost:,.0f}, {share:.1%} of the weight "
               f"{model.covered}")
    warnings = tuple(figures.warnings) + tuple(str(w) for w in figures.stats.get("warnings", ()) or ()) \
        + tuple(unproven_levels(outcome.stats.get("priority_levels", [])))
    if warnings:
        message += "; warning: " + "; ".join(dict.fromkeys(warnings))
    return Result.from_plan(
        model.name, termination=outcome.termination, objective=figures.objective, bound=outcome.bound,
        selected=selected, total_cost=figures.total_cost, covered_weight=figures.covered_weight,
        total_weight=figures.total_weight, solver=outcome.method, seconds=elapsed(), sites=sites_table,
        coverage=figures.coverage, stats=stats, message=message, weight_column=weight_column,
        covered_definition=model.covered, params=described)
