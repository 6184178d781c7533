"""Among the best plans, the cheapest; and no site in a plan that adds nothing.

Two steps the driver (:func:`siting.models.driver.solve_model`) runs after a model's search, both on the
plan the model's ``evaluate`` has verified:

1. :func:`cheapest_built` (``SolveOptions.secondary = "min_cost"``, ``build`` models): the model's program
   plus one row holding the verified objective (:func:`siting.formulations.lexicographic.keep_best`),
   minimising ``Built.plan_cost`` then ``Built.new_sites``, warm-started from the first plan, under what is
   left of the time limit. Its plan is kept only when, recomputed from the raw inputs, it is no worse on the
   objective and cheaper (or as cheap with fewer new sites); otherwise the first plan stays.
2. :func:`prune_and_check`: the "no redundant site" property. A selected site is redundant when closing it
   alone breaks no constraint and loses nothing of the model's goal (:class:`~siting.models.base.Marginal`).
   Redundant sites are closed, most expensive first, re-evaluating after each; then the property is checked
   again and a plan that still has one raises :class:`~siting.errors.VerificationError`. Models give a
   vectorised ``marginal`` hook; without one the plan is re-evaluated without each site the model's
   ``marginal_floor`` hook (a certain lower bound of the loss, e.g. multi-service's sole providers) cannot
   show to be needed — only up to :data:`GENERIC_MAX_SITES` of them, and only while the solve's deadline
   leaves room for one more evaluation. When it does not, the plan stays the verified one and the stats say
   ``checked = False`` with ``reason = "time limit: k of n removable sites checked"``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..backends import get_backend
from ..data.instance import Instance
from ..errors import VerificationError
from ..formulations.lexicographic import KEEP_SLACK, cost_then_count, keep_best
from ..options import secondary_time_s
from ..rules import SiteRules, check_plan_rules
from ..verify import check_no_redundant
from .base import Built, Evaluation, Marginal, Model, Plan, SolveContext
from .params import ModelParams

__all__ = ["cheapest_built", "cheapest_later", "prune_and_check", "GENERIC_MAX_SITES", "MIN_STAGE_S"]

#: the generic redundancy check re-evaluates the plan once per removable open site: only up to this many
GENERIC_MAX_SITES = 64
#: below this many seconds left the cheapest-plan stage is not started (it could only overrun)
MIN_STAGE_S = 0.1
#: a loss at most this share of the objective (or total weight) is no loss: float noise of re-evaluated sums
_LOSS_TOL = 1e-12
_SAME_COST = "skipped: every plan with exactly p sites costs the same"
#: share of the time left the second stage may use (the rest pays for evaluation and the tables)
_STAGE_SHARE = 0.9


def _not_worse(model: Model[Any], new: float, old: float) -> bool:
    tol = KEEP_SLACK * max(1.0, abs(old))
    return new >= old - tol if model.maximise else new <= old + tol


def _strictly_better(model: Model[Any], new: float, old: float) -> bool:
    tol = KEEP_SLACK * max(1.0, abs(old))
    return new > old + tol if model.maximise else new < old - tol


def _count(plan: Plan, rules: SiteRules) -> int:
    return int((plan.open_sites & rules.counts & (rules.lower == 0)).sum())


def _before(plan: Plan, figures: Evaluation, rules: SiteRules) -> dict[str, Any]:
    """The stage's record of the first plan (``stats["secondary"]`` starts from it)."""
    return {"goal": "min_cost", "cost_before": figures.total_cost, "new_sites_before": _count(plan, rules)}


def _columns(built: Built, rules: SiteRules) -> tuple[np.ndarray, np.ndarray]:
    """Cost and new-site count per program column (the model's, or the ``"site"`` block's defaults)."""
    program = built.program
    start, stop = program.blocks["site"]
    cost = built.plan_cost
    if cost is None:
        cost = np.zeros(program.n_cols)
        cost[start:stop] = rules.cost
    count = built.new_sites
    if count is None:
        count = np.zeros(program.n_cols)
        count[start:stop] = rules.counts & (rules.lower == 0)
    return np.asarray(cost, dtype=float), np.asarray(count, dtype=float)


def _all_plans_cost_the_same(built: Built, cost: np.ndarray, params: ModelParams) -> bool:
    """True when the site count is fixed (p-median's ``p``) and every free column costs the same: no stage can win."""
    if not params.limits().exact_sites:
        return False
    program = built.program
    movable = program.col_upper > program.col_lower
    start, stop = program.blocks["site"]
    elsewhere = movable.copy()
    elsewhere[start:stop] = False
    site_costs = cost[start:stop][movable[start:stop]]
    return not np.any(cost[elsewhere]) and np.unique(site_costs).size <= 1


def cheapest_built(model: Model[Any], built: Built, x: np.ndarray | None, instance: Instance, params: ModelParams,
                   rules: SiteRules, ctx: SolveContext, plan: Plan, figures: Evaluation,
                   first_stage_s: float = 0.0) -> tuple[Plan, Evaluation, dict[str, Any]]:
    """The cheapest plan that keeps ``figures.objective`` (see the module notes), with what it did in ``stats``.

    ``x`` is the first stage's column vector (the warm start when it satisfies the new row); the stage gets
    :func:`siting.options.secondary_time_s` of the first stage's ``first_stage_s``.
    """
    info = _before(plan, figures, rules)
    left = ctx.remaining_s()
    if left is not None and left < MIN_STAGE_S:
        return plan, figures, dict(info, termination="skipped: no time left")
    started = time.perf_counter()
    cost, count = _columns(built, rules)
    if _all_plans_cost_the_same(built, cost, params):
        return plan, figures, dict(info, termination=_SAME_COST)
    objective, unit = cost_then_count(cost, count)
    program = keep_best(built.program, figures.objective, objective)
    start = x if x is not None and program.max_violation(x, relative=True) <= 1e-7 else None
    backend = get_backend(ctx.backend)
    limit = secondary_time_s(first_stage_s, None if left is None else _STAGE_SHARE * left)
    options = replace(ctx.options, time_limit_s=limit)
    sol = backend.solve(program, options, warm_start=start)
    info.update(termination=str(sol.termination), seconds=time.perf_counter() - started, cost_unit=unit,
                warm_started=start is not None)
    if sol.x is None:
        return plan, figures, dict(info, accepted=False)
    plan2 = built.plan_of(sol.x)
    figures2 = model.evaluate(instance, params, rules, plan2)
    check_plan_rules(rules, plan2.open_sites, params.limits(), total_cost=figures2.total_cost, model=model.name,
                     site_ids=instance.sites.ids)
    ctol = 1e-9 * max(1.0, abs(figures.total_cost))
    cheaper = figures2.total_cost < figures.total_cost - ctol or (
        abs(figures2.total_cost - figures.total_cost) <= ctol and _count(plan2, rules) < _count(plan, rules))
    accepted = _not_worse(model, figures2.objective, figures.objective) and (
        cheaper or _strictly_better(model, figures2.objective, figures.objective))
    info["accepted"] = bool(accepted)
    if not accepted:
        return plan, figures, info
    info.update(cost_after=figures2.total_cost, new_sites_after=_count(plan2, rules),
                saved=figures.total_cost - figures2.total_cost)
    return plan2, figures2, info


def cheapest_later(model: Model[Any], build: Callable[[], tuple[Built, np.ndarray | None]], instance: Instance,
                   params: ModelParams, rules: SiteRules, ctx: SolveContext, plan: Plan, figures: Evaluation,
                   first_stage_s: float = 0.0, *, site_costs_only: bool = False, build_s: float = 0.0
                   ) -> tuple[Plan, Evaluation, dict[str, Any]]:
    """:func:`cheapest_built` with the program built by ``build()`` only when the stage can run.

    For searches whose exact program is large and not otherwise needed (p-median's radius search: 4,000,000
    pairs take ~10 s to build). ``build_s``: about how long ``build()`` takes; the stage is skipped unless that
    and :data:`MIN_STAGE_S` are left. ``site_costs_only``: the program's only costs are the open sites'
    ``rules.cost`` (no ``Built.plan_cost``), so equal free-site costs under an exact site count settle the stage
    unbuilt.
    """
    left = ctx.remaining_s()
    no_time = left is not None and left < MIN_STAGE_S + build_s
    if no_time or (site_costs_only and _equal_site_costs(rules, params)):
        reason = "skipped: no time left" if no_time else _SAME_COST
        return plan, figures, dict(_before(plan, figures, rules), termination=reason)
    built, x = build()
    return cheapest_built(model, built, x, instance, params, rules, ctx, plan, figures, first_stage_s)


def _equal_site_costs(rules: SiteRules, params: ModelParams) -> bool:
    """The site count is exact and every free site costs the same (a sufficient case of :func:`_all_plans_cost_the_same`)."""
    free = rules.free
    return bool(params.limits().exact_sites) and np.unique(rules.cost[free]).size <= 1


def _without(plan: Plan, j: int) -> Plan:
    open_sites = plan.open_sites.copy()
    open_sites[j] = False
    placements = None if plan.placements is None else {k: np.where(np.arange(v.shape[0]) == j, False, v)
                                                       for k, v in plan.placements.items()}
    # the solver's assignment still sends demand to j: the plan without j is evaluated on its own assignment
    return Plan(open_sites, placements, None, plan.phase)


@dataclass
class _Clock:
    """Whether one more re-evaluation fits before the solve's deadline (the slowest one seen so far as a guide)."""

    ctx: SolveContext | None
    evaluate_s: float = 0.0
    done: int = 0

    def room(self) -> bool:
        left = None if self.ctx is None else self.ctx.remaining_s()
        return left is None or left >= self.evaluate_s

    def evaluate(self, model: Model[Any], instance: Instance, params: ModelParams, rules: SiteRules,
                 plan: Plan) -> Evaluation | None:
        """``plan``'s figures, or None when it breaks a model constraint or rule."""
        began = time.perf_counter()
        try:
            got = model.evaluate(instance, params, rules, plan)
            check_plan_rules(rules, plan.open_sites, params.limits(), total_cost=got.total_cost,
                             model=model.name, site_ids=instance.sites.ids)
        except VerificationError:
            got = None
        self.evaluate_s = max(self.evaluate_s, time.perf_counter() - began)
        self.done += 1
        return got


def _re_evaluated(model: Model[Any], instance: Instance, params: ModelParams, rules: SiteRules, plan: Plan,
                  figures: Evaluation, sites: np.ndarray, clock: _Clock | None = None,
                  floor: Marginal | None = None) -> tuple[Marginal, dict[int, Evaluation | None]]:
    """Re-evaluate the plan without each of ``sites`` while the clock has room; the marginals and the trials.

    Sites the clock left unchecked get a NaN loss and weight (never redundant, weight unknown); the others'
    entries come from ``floor`` (the model's ``marginal_floor``) or stay 0 / not breaking.
    """
    clock = clock or _Clock(None)
    n = instance.n_sites
    loss, weight, breaks = np.zeros(n), np.zeros(n), np.zeros(n, bool)
    if floor is not None:
        loss[:] = np.nan_to_num(np.asarray(floor.loss, dtype=float), nan=0.0)
        weight[:] = np.asarray(floor.weight, dtype=float)
        breaks[:] = np.asarray(floor.breaks, bool)
    sign = 1.0 if model.maximise else -1.0
    trials: dict[int, Evaluation | None] = {}
    for j in map(int, sites):
        if not clock.room():
            loss[j] = weight[j] = np.nan
            continue
        got = trials[j] = clock.evaluate(model, instance, params, rules, _without(plan, j))
        if got is None:
            breaks[j] = True
            continue
        loss[j] = sign * (figures.objective - got.objective)
        weight[j] = figures.covered_weight - got.covered_weight
    return Marginal(loss, breaks, weight), trials


def _generic_marginal(model: Model[Any], instance: Instance, params: ModelParams, rules: SiteRules, plan: Plan,
                      figures: Evaluation, sites: np.ndarray) -> Marginal:
    """Re-evaluate the plan without each of ``sites`` (the others' entries stay 0 / not breaking)."""
    return _re_evaluated(model, instance, params, rules, plan, figures, sites)[0]


def _removable(plan: Plan, rules: SiteRules) -> np.ndarray:
    return plan.open_sites & (rules.lower == 0)


def _hook_marginal(model: Model[Any], instance: Instance, params: ModelParams, rules: SiteRules,
                   plan: Plan) -> Marginal:
    assert model.marginal is not None
    marg = model.marginal(instance, params, rules, plan)
    if params.limits().exact_sites:     # closing a counted site breaks "exactly p"
        marg = Marginal(marg.loss, marg.breaks | rules.counts, marg.weight)
    return marg


def _essential(floor: Marginal | None, plan: Plan, rules: SiteRules, figures: Evaluation) -> np.ndarray:
    """Removable open sites whose closing the model's ``marginal_floor`` shows to lose something."""
    removable = _removable(plan, rules)
    if floor is None:
        return np.zeros_like(removable)
    scale = max(1.0, abs(figures.objective), abs(figures.total_weight))
    loss = np.nan_to_num(np.asarray(floor.loss, dtype=float), nan=0.0)
    # twice the tolerance of _redundant: a re-evaluated loss carries the float noise of two sums
    return removable & (np.asarray(floor.breaks, bool) | (loss > 2.0 * _LOSS_TOL * scale))


def _by_cost(sites: np.ndarray, rules: SiteRules) -> np.ndarray:
    return sites[np.argsort(-rules.cost[sites], kind="stable")]


def _generic(model: Model[Any], instance: Instance, params: ModelParams, rules: SiteRules, plan: Plan,
             figures: Evaluation, clock: _Clock) -> tuple[Marginal | None, dict[int, Evaluation | None], int]:
    """The re-evaluated marginals of the sites ``marginal_floor`` cannot rule out, most expensive first.

    Returns the marginals (None when more than :data:`GENERIC_MAX_SITES` sites are left to re-evaluate), the
    trial evaluations by site and how many removable sites the floor showed essential.
    """
    floor = None if model.marginal_floor is None else model.marginal_floor(instance, params, rules, plan)
    essential = _essential(floor, plan, rules, figures)
    sites = np.flatnonzero(_removable(plan, rules) & ~essential)
    if sites.shape[0] > GENERIC_MAX_SITES:
        return None, {}, int(essential.sum())
    marg, trials = _re_evaluated(model, instance, params, rules, plan, figures, _by_cost(sites, rules), clock, floor)
    return marg, trials, int(essential.sum())


def _redundant(marg: Marginal, plan: Plan, rules: SiteRules, figures: Evaluation) -> np.ndarray:
    # the hooks' losses are exactly 0 when nothing is lost; the tolerance only absorbs the float noise of
    # re-evaluated sums (a share loss of one person in 1e5 is 1e-5, far above it)
    scale = max(1.0, abs(figures.objective), abs(figures.total_weight))
    loss = np.nan_to_num(np.asarray(marg.loss, dtype=float), nan=np.inf)
    tol = _LOSS_TOL * scale
    return _removable(plan, rules) & ~np.asarray(marg.breaks, bool) & (loss <= tol)


def _prune_by_hook(model: Model[Any], instance: Instance, params: ModelParams, rules: SiteRules, plan: Plan,
                   figures: Evaluation, closed: list[str]) -> tuple[Plan, Marginal]:
    """Close the redundant sites the ``marginal`` hook finds, most expensive first, one at a time."""
    marg = _hook_marginal(model, instance, params, rules, plan)
    redundant = _redundant(marg, plan, rules, figures)
    while redundant.any():
        candidates = np.flatnonzero(redundant)
        j = int(candidates[np.argmax(rules.cost[candidates])])
        closed.append(str(instance.sites.ids[j]))
        plan = _without(plan, j)
        marg = _hook_marginal(model, instance, params, rules, plan)
        redundant = _redundant(marg, plan, rules, figures)
    return plan, marg


def _prune_by_re_evaluation(model: Model[Any], instance: Instance, params: ModelParams, rules: SiteRules,
                            plan: Plan, figures: Evaluation, clock: _Clock, closed: list[str],
                            info: dict[str, Any]) -> tuple[Plan, Evaluation, Marginal | None]:
    """One pass over the redundant sites, most expensive first, each re-tested on the plan as it stands."""
    marg, trials, info["essential"] = _generic(model, instance, params, rules, plan, figures, clock)
    if marg is None:
        return plan, figures, None
    for j in _by_cost(np.flatnonzero(_redundant(marg, plan, rules, figures)), rules):
        if closed and not clock.room():
            break
        # the first candidate's trial was made on this very plan; later ones are re-tested after the closings
        got = trials[int(j)] if not closed else clock.evaluate(model, instance, params, rules, _without(plan, int(j)))
        if got is None:
            continue
        single = np.full(instance.n_sites, np.inf)
        single[j] = (1.0 if model.maximise else -1.0) * (figures.objective - got.objective)
        if _redundant(Marginal(single, np.zeros(instance.n_sites, bool), single), plan, rules, figures)[j]:
            closed.append(str(instance.sites.ids[j]))
            plan, figures = _without(plan, int(j)), got
    if closed:
        marg, _, info["essential"] = _generic(model, instance, params, rules, plan, figures, clock)
    return plan, figures, marg


def prune_and_check(model: Model[Any], instance: Instance, params: ModelParams, rules: SiteRules, plan: Plan,
                    figures: Evaluation, ctx: SolveContext | None = None,
                    evaluate_s: float = 0.0) -> tuple[Plan, Evaluation, Marginal | None, dict[str, Any]]:
    """Close redundant sites (most expensive first), check none is left; the final plan, figures and marginals.

    Without a ``marginal`` hook, the sites the model's ``marginal_floor`` cannot rule out are re-evaluated
    one by one, each only while ``ctx``'s deadline leaves room for one more (``evaluate_s``: what one
    evaluation took, the guide until one is timed here). When time runs out the plan stays the verified one
    and the stats say ``checked = False`` with ``reason = "time limit: k of n removable sites checked"``.

    Raises
    ------
    VerificationError
        when the pruned plan is worse than the plan it came from, or still has a redundant site.
    """
    started = time.perf_counter()
    info: dict[str, Any] = {"method": "model" if model.marginal is not None else "re-evaluation"}
    closed: list[str] = []
    first, first_plan = figures, plan
    clock = _Clock(ctx, evaluate_s)
    marg: Marginal | None
    if model.marginal is not None:
        plan, marg = _prune_by_hook(model, instance, params, rules, plan, figures, closed)
        if closed:
            figures = model.evaluate(instance, params, rules, plan)
    else:
        plan, figures, marg = _prune_by_re_evaluation(model, instance, params, rules, plan, figures, clock, closed,
                                                      info)
        info["re_evaluations"] = clock.done
    saved = float(rules.cost[first_plan.open_sites & ~plan.open_sites].sum())
    if closed:
        check_plan_rules(rules, plan.open_sites, params.limits(), total_cost=figures.total_cost, model=model.name,
                         site_ids=instance.sites.ids)
        if not _not_worse(model, figures.objective, first.objective):
            raise VerificationError(f"{model.name}: closing sites that add nothing changed the objective from "
                                    f"{first.objective:,.10g} to {figures.objective:,.10g}")
    removable = _removable(plan, rules)
    if marg is None:
        info.update(checked=False, closed=closed, saved=saved, seconds=time.perf_counter() - started,
                    reason=f"{int(removable.sum())} removable open sites; the generic check re-evaluates at most "
                           f"{GENERIC_MAX_SITES} the model cannot rule out")
        return plan, figures, None, info
    unchecked = int(np.isnan(np.asarray(marg.loss, dtype=float)[removable]).sum())
    info.update(checked=unchecked == 0, closed=closed, saved=saved, seconds=time.perf_counter() - started)
    if unchecked:
        info["reason"] = f"time limit: {int(removable.sum()) - unchecked} of {int(removable.sum())} removable " \
                         "sites checked"
        return plan, figures, marg, info
    check_no_redundant(model.name, _redundant(marg, plan, rules, figures), instance.sites.ids)
    return plan, figures, marg, info
