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
   vectorised ``marginal`` hook; without one the plan is re-evaluated without each site, which is done only
   up to :data:`GENERIC_MAX_SITES` removable open sites (the stats say when it was not).
"""
from __future__ import annotations

import time
from dataclasses import replace
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

__all__ = ["cheapest_built", "prune_and_check", "marginal_of", "GENERIC_MAX_SITES", "MIN_STAGE_S"]

#: the generic redundancy check re-evaluates the plan once per removable open site: only up to this many
GENERIC_MAX_SITES = 64
#: below this many seconds left the cheapest-plan stage is not started (it could only overrun)
MIN_STAGE_S = 0.1
#: a loss at most this share of the objective (or total weight) is no loss: float noise of re-evaluated sums
_LOSS_TOL = 1e-12
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
    info: dict[str, Any] = {"goal": "min_cost", "cost_before": figures.total_cost,
                            "new_sites_before": _count(plan, rules)}
    left = ctx.remaining_s()
    if left is not None and left < MIN_STAGE_S:
        return plan, figures, dict(info, termination="skipped: no time left")
    started = time.perf_counter()
    cost, count = _columns(built, rules)
    if _all_plans_cost_the_same(built, cost, params):
        return plan, figures, dict(info, termination="skipped: every plan with exactly p sites costs the same")
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


def _without(plan: Plan, j: int) -> Plan:
    open_sites = plan.open_sites.copy()
    open_sites[j] = False
    placements = None if plan.placements is None else {k: np.where(np.arange(v.shape[0]) == j, False, v)
                                                       for k, v in plan.placements.items()}
    # the solver's assignment still sends demand to j: the plan without j is evaluated on its own assignment
    return Plan(open_sites, placements, None, plan.phase)


def _generic_marginal(model: Model[Any], instance: Instance, params: ModelParams, rules: SiteRules, plan: Plan,
                      figures: Evaluation, sites: np.ndarray) -> Marginal:
    """Re-evaluate the plan without each of ``sites`` (the others' entries stay 0 / not breaking)."""
    n = instance.n_sites
    loss, weight, breaks = np.zeros(n), np.zeros(n), np.zeros(n, bool)
    sign = 1.0 if model.maximise else -1.0
    for j in sites:
        trial = _without(plan, int(j))
        try:
            got = model.evaluate(instance, params, rules, trial)
            check_plan_rules(rules, trial.open_sites, params.limits(), total_cost=got.total_cost,
                             model=model.name, site_ids=instance.sites.ids)
        except VerificationError:
            breaks[j] = True
            continue
        loss[j] = sign * (figures.objective - got.objective)
        weight[j] = figures.covered_weight - got.covered_weight
    return Marginal(loss, breaks, weight)


def _removable(plan: Plan, rules: SiteRules) -> np.ndarray:
    return plan.open_sites & (rules.lower == 0)


def marginal_of(model: Model[Any], instance: Instance, params: ModelParams, rules: SiteRules, plan: Plan,
                figures: Evaluation) -> Marginal | None:
    """The plan's :class:`Marginal` (the model's hook, or the generic re-evaluation when the plan is small)."""
    if model.marginal is not None:
        marg = model.marginal(instance, params, rules, plan)
        if params.limits().exact_sites:     # closing a counted site breaks "exactly p"
            marg = Marginal(marg.loss, marg.breaks | rules.counts, marg.weight)
        return marg
    sites = np.flatnonzero(_removable(plan, rules))
    if sites.shape[0] > GENERIC_MAX_SITES:
        return None
    return _generic_marginal(model, instance, params, rules, plan, figures, sites)


def _redundant(marg: Marginal, plan: Plan, rules: SiteRules, figures: Evaluation) -> np.ndarray:
    # the hooks' losses are exactly 0 when nothing is lost; the tolerance only absorbs the float noise of
    # re-evaluated sums (a share loss of one person in 1e5 is 1e-5, far above it)
    scale = max(1.0, abs(figures.objective), abs(figures.total_weight))
    loss = np.nan_to_num(np.asarray(marg.loss, dtype=float), nan=np.inf)
    tol = _LOSS_TOL * scale
    return _removable(plan, rules) & ~np.asarray(marg.breaks, bool) & (loss <= tol)


def prune_and_check(model: Model[Any], instance: Instance, params: ModelParams, rules: SiteRules, plan: Plan,
                    figures: Evaluation) -> tuple[Plan, Evaluation, Marginal | None, dict[str, Any]]:
    """Close redundant sites (most expensive first), check none is left; the final plan, figures and marginals.

    Raises
    ------
    VerificationError
        when the pruned plan is worse than the plan it came from, or still has a redundant site.
    """
    started = time.perf_counter()
    info: dict[str, Any] = {"method": "model" if model.marginal is not None else "re-evaluation"}
    marg = marginal_of(model, instance, params, rules, plan, figures)
    if marg is None:
        info.update(checked=False, reason=f"{int(_removable(plan, rules).sum())} removable open sites; the generic "
                                          f"check re-evaluates at most {GENERIC_MAX_SITES}")
        return plan, figures, None, info
    closed: list[str] = []
    saved = 0.0
    first = figures
    if model.marginal is not None:
        redundant = _redundant(marg, plan, rules, figures)
        while redundant.any():
            candidates = np.flatnonzero(redundant)
            j = int(candidates[np.argmax(rules.cost[candidates])])
            closed.append(str(instance.sites.ids[j]))
            saved += float(rules.cost[j])
            plan = _without(plan, j)
            marg = model.marginal(instance, params, rules, plan)
            if params.limits().exact_sites:
                marg = Marginal(marg.loss, marg.breaks | rules.counts, marg.weight)
            redundant = _redundant(marg, plan, rules, figures)
        if closed:
            figures = model.evaluate(instance, params, rules, plan)
    else:
        redundant = _redundant(marg, plan, rules, figures)
        # one pass, most expensive first, each candidate re-tested on the plan as it stands
        for j in np.flatnonzero(redundant)[np.argsort(-rules.cost[redundant], kind="stable")]:
            trial = _without(plan, int(j))
            single = _generic_marginal(model, instance, params, rules, plan, figures, np.array([j]))
            if _redundant(single, plan, rules, figures)[j]:
                closed.append(str(instance.sites.ids[j]))
                saved += float(rules.cost[j])
                plan = trial
                figures = model.evaluate(instance, params, rules, plan)
        if closed:
            marg = marginal_of(model, instance, params, rules, plan, figures)
    if closed:
        check_plan_rules(rules, plan.open_sites, params.limits(), total_cost=figures.total_cost, model=model.name,
                         site_ids=instance.sites.ids)
        if not _not_worse(model, figures.objective, first.objective):
            raise VerificationError(f"{model.name}: closing sites that add nothing changed the objective from "
                                    f"{first.objective:,.10g} to {figures.objective:,.10g}")
    info.update(checked=True, closed=closed, saved=saved, seconds=time.perf_counter() - started)
    if marg is not None:
        check_no_redundant(model.name, _redundant(marg, plan, rules, figures), instance.sites.ids)
    return plan, figures, marg, info
