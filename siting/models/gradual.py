"""Gradual coverage (Berman, Krass & Drezner 2003): credit decays linearly between two thresholds.

A demand point earns full credit up to ``threshold_min`` and none from ``outer_threshold_min`` on.

Example
-------
>>> credit(np.array([3.0, 10.0, 12.5, 15.0]), 10.0, 15.0)
array([1. , 1. , 0.5, 0. ])
>>> from siting.testing import random_instance
>>> r = solve_gradual(random_instance(6, 4, seed=1), threshold_min=5, outer_threshold_min=12, max_sites=2)
>>> r.status.value, len(r.selected), r.objective >= r.covered_weight
('optimal', 2, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.instance import Instance
from ..heuristics.credit_lagrangian import credit_bound
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ..reach import nearest_open_site
from ..result import Result
from ..rules import SiteRules
from ..verify import sole_reach
from .base import Built, Evaluation, Marginal, Model, Plan
from .driver import solve_model
from .greedy_sites import ratio_greedy
from .params import (
    ModelParams,
    ParamError,
    budget_param,
    max_sites_param,
    number,
    param,
    speed_group_param,
    threshold_param,
    weight_column_param,
)
from .parts import Rows, demand_weight, milp
from .tables import coverage_table, served_by_site, sites_table

__all__ = ["MODEL", "GradualParams", "solve_gradual", "build_gradual", "credit", "credit_pairs", "greedy_gradual"]


@dataclass(frozen=True, kw_only=True)
class GradualParams(ModelParams):
    """Parameters of :data:`MODEL` (gradual coverage)."""

    model_name = "gradual"
    threshold_min: float = threshold_param(doc="full credit for a demand point within this many minutes of an "
                                               "open site")
    outer_threshold_min: float = param(check=number(gt=0), key="outer_threshold_minutes",
                                       doc="credit decays linearly to zero at this many minutes")
    budget: float | None = budget_param()
    max_sites: int | None = max_sites_param()
    weight_column: str = weight_column_param()
    speed_group: str | None = speed_group_param()

    def check_together(self) -> None:
        """The outer threshold lies beyond the threshold; a maximisation needs a limit."""
        if not self.outer_threshold_min > self.threshold_min:
            raise ParamError(f"must be greater than threshold_min ({self.threshold_min:g}), got "
                             f"{self.outer_threshold_min:g}", param="outer_threshold_min", model=self.model_name)
        self.require_a_limit()


def credit(minutes: np.ndarray, threshold_min: float, outer_threshold_min: float) -> np.ndarray:
    """``f(t)`` = 1 for ``t <= r``, ``(R - t) / (R - r)`` for ``r < t < R``, 0 from ``R`` on (and for ``inf``)."""
    minutes = np.asarray(minutes, dtype=float)
    if outer_threshold_min <= threshold_min:
        return (minutes <= threshold_min).astype(float)
    return np.clip((outer_threshold_min - minutes) / (outer_threshold_min - threshold_min), 0.0, 1.0)


def credit_pairs(instance: Instance, params: GradualParams,
                 rules: SiteRules) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs ``P`` with positive credit, weight and a usable site, sorted by demand then site (column order)."""
    weight = demand_weight(instance, params.weight_column)
    tr = instance.travel
    f = credit(tr.minutes, params.threshold_min, params.outer_threshold_min)
    keep = (f > 0) & (weight[tr.demand_index] > 0) & rules.usable[tr.site_index]
    d, s, fk = tr.demand_index[keep], tr.site_index[keep], f[keep]
    order = np.lexsort((s, d))
    return d[order], s[order], fk[order]


def greedy_gradual(instance: Instance, params: GradualParams, rules: SiteRules,
                   deadline: float | None = None) -> np.ndarray:
    """Greedy plan: repeatedly open the site with the largest credit gain (per unit cost under a budget).

    Gains are one ``bincount`` over the pairs per step: ``g_j = sum_i w_i max(0, f_ij - c_i)`` with ``c_i``
    the credit already earned. Stops when nothing fits, nothing gains, or ``deadline`` passes.
    """
    weight = demand_weight(instance, params.weight_column)
    d, s, fk = credit_pairs(instance, params, rules)
    open_sites = rules.lower > 0
    earned = np.zeros(instance.n_demand)
    on = open_sites[s]
    np.maximum.at(earned, d[on], fk[on])

    def gain(candidates: np.ndarray) -> np.ndarray:
        return np.bincount(s, weights=weight[d] * np.maximum(fk - earned[d], 0.0), minlength=instance.n_sites)

    def opened(j: int) -> None:
        hit = s == j
        np.maximum.at(earned, d[hit], fk[hit])

    return ratio_greedy(rules, params.limits(), open_sites, gain, opened, deadline)


def _warm_start(instance: Instance, params: GradualParams, rules: SiteRules, built: Built,
                deadline: float | None) -> np.ndarray:
    """The greedy plan as a column vector: ``z_ij`` = 1 on each demand point's best open pair."""
    open_sites = greedy_gradual(instance, params, rules, deadline)
    d, s, fk = credit_pairs(instance, params, rules)
    x = np.zeros(built.program.n_cols)
    n = instance.n_sites
    x[:n] = open_sites
    idx = np.flatnonzero(open_sites[s])
    if idx.size:
        order = idx[np.lexsort((-fk[idx], d[idx]))]       # per demand, the largest credit first
        first = np.ones(order.shape[0], bool)
        first[1:] = d[order[1:]] != d[order[:-1]]
        x[n + order[first]] = 1.0
    return x


def _bound(instance: Instance, params: GradualParams, rules: SiteRules, known: float | None = None,
           deadline: float | None = None) -> float:
    """The Lagrangian bound of :mod:`siting.heuristics.credit_lagrangian`, before ``deadline``.

    Never above "every demand point at its best usable site" (its first step); its steps aim at ``known`` or
    else the greedy plan's credit. HiGHS did not solve the program's own LP in 60 s at 20,000 x 2,000
    (436,000 pairs), which left that first bound: a gap of 21 %, against 0.9 % after this one's 400 steps (2.4 s).
    """
    weight = demand_weight(instance, params.weight_column)
    d, s, fk = credit_pairs(instance, params, rules)
    if known is None:
        known = _credit(instance, d, s, fk, weight, greedy_gradual(instance, params, rules, deadline))
    limits = params.limits()
    out = credit_bound(d, s, weight[d] * fk, instance.n_demand, instance.n_sites, cost=rules.cost,
                       fixed_open=rules.fixed_open,
                       free=rules.free, counts=rules.counts, budget=limits.budget,
                       max_sites=limits.max_sites, target=known, deadline=deadline)
    return out.bound


def _credit(instance: Instance, d: np.ndarray, s: np.ndarray, fk: np.ndarray, weight: np.ndarray,
            open_sites: np.ndarray) -> float:
    """Each demand point's best open credit, weighted and summed."""
    earned = np.zeros(instance.n_demand)
    on = open_sites[s]
    np.maximum.at(earned, d[on], fk[on])
    return float(weight @ earned)


def build_gradual(instance: Instance, params: GradualParams, rules: SiteRules | None = None) -> LinearProgram:
    r"""The gradual-coverage program (``rules`` default: :meth:`SiteRules.of` the instance).

    Returns
    -------
    LinearProgram
        Column blocks ``"site"`` (``y_j``) and ``"assign"`` (``z_ij``, one per pair of ``P`` sorted by
        demand then site).

    Notes
    -----
    ``P`` = table pairs with ``f(t_ij) > 0`` (``t_ij < R``), ``w_i > 0``, site usable:

    .. math::

        \max \sum_{(i,j)\in P} w_i f(t_{ij}) z_{ij} \quad\text{s.t.}\quad \sum_j z_{ij} \le 1,\quad
        z_{ij} \le y_j,\quad \sum_j c_j y_j \le B,\; \sum_{j\in C} y_j \le p,\;
        y \in \{0,1\},\; z \in [0,1]

    For integer ``y`` the optimal ``z`` picks the open site of largest credit, so each demand point earns
    ``max_{j open} f(t_ij)``.
    """
    rules = rules or SiteRules.of(instance)
    weight = demand_weight(instance, params.weight_column)
    d, s, fk = credit_pairs(instance, params, rules)
    n, npairs = instance.n_sites, d.shape[0]
    active, row = np.unique(d, return_inverse=True)
    pair = np.arange(npairs)
    rows = Rows(n + npairs)
    rows.add(row, n + pair, np.ones(npairs), active.shape[0], -np.inf, 1.0)
    rows.add(np.repeat(pair, 2), np.column_stack([n + pair, s]).ravel(), np.tile([1.0, -1.0], npairs),
             npairs, -np.inf, 0.0)
    rows.add_limits(slice(0, n), rules, params.limits())
    return milp(Sense.MAXIMIZE, np.concatenate([np.zeros(n), weight[d] * fk]), rows,
                np.concatenate([rules.lower, np.zeros(npairs)]), np.concatenate([rules.upper, np.ones(npairs)]),
                np.concatenate([np.ones(n, bool), np.zeros(npairs, bool)]), "gradual",
                {"site": (0, n), "assign": (n, n + npairs)})


def _build(instance: Instance, params: GradualParams, rules: SiteRules) -> Built:
    return Built(build_gradual(instance, params, rules))


def _evaluate(instance: Instance, params: GradualParams, rules: SiteRules, plan: Plan) -> Evaluation:
    """Credit of the nearest open site (the largest credit: ``f`` falls with minutes) from the raw triples."""
    weight = demand_weight(instance, params.weight_column)
    site, minutes = nearest_open_site(instance.travel, plan.open_sites)
    got = np.where(site >= 0, credit(minutes, params.threshold_min, params.outer_threshold_min), 0.0)
    full = minutes <= params.threshold_min
    return Evaluation(
        objective=float(weight @ got), covered_weight=float(weight[full].sum()), total_weight=float(weight.sum()),
        total_cost=float(rules.cost[plan.open_sites].sum()),
        sites=sites_table(instance, plan.open_sites, rules,
                          served_weight=served_by_site(instance.n_sites, site, weight, full)),
        coverage=coverage_table(instance, weight, site, minutes, full, credit=got),
        stats={"partial_credit": float(weight[~full] @ got[~full])},
    )


def _marginal(instance: Instance, params: GradualParams, rules: SiteRules, plan: Plan) -> Marginal:
    """Credit lost without each open site: ``w_i`` times best minus second-best credit where it is the best.

    ``weight``: the full-credit weight it alone covers (:func:`siting.verify.sole_reach`).
    """
    weight = demand_weight(instance, params.weight_column)
    d, s, fk = credit_pairs(instance, params, rules)
    on = plan.open_sites[s]
    d, s, fk = d[on], s[on], fk[on]
    loss: np.ndarray = np.zeros(instance.n_sites)
    if d.size:
        order = np.lexsort((s, -fk, d))          # per demand point, the largest credit first
        d, s, fk = d[order], s[order], fk[order]
        first = np.ones(d.shape[0], bool)
        first[1:] = d[1:] != d[:-1]
        second = np.zeros(d.shape[0], bool)
        second[1:] = first[:-1] & ~first[1:]
        runner_up = np.zeros(instance.n_demand)
        runner_up[d[second]] = fk[second]
        top = d[first]
        loss = np.bincount(s[first], weights=weight[top] * (fk[first] - runner_up[top]), minlength=instance.n_sites)
    full = sole_reach(instance.travel, plan.open_sites, params.threshold_min, weight)
    return Marginal(loss, np.zeros(instance.n_sites, bool), full)


MODEL = Model(
    name="gradual", params=GradualParams, sense=Sense.MAXIMIZE, build=_build, evaluate=_evaluate,
    warm_start=_warm_start, bound=_bound, marginal=_marginal,
    covered="within the threshold of an open site (full credit)",
    summary="maximise coverage credit: full within the threshold, decaying linearly to zero at the outer threshold",
)


def solve_gradual(instance: Instance, *, backend: str = "auto", options: SolveOptions | None = None,
                  **params: Any) -> Result:
    """Maximise gradually-credited coverage: full within ``threshold_min``, linear decay to ``outer_threshold_min``.

    Parameters
    ----------
    instance : Instance
    backend, options : see :func:`siting.models.driver.solve_model`
    **params : the fields of :class:`GradualParams` (``threshold_min``, ``outer_threshold_min``, ``budget``
        and/or ``max_sites``, ``weight_column``)

    Returns
    -------
    Result
        ``objective`` = recomputed ``sum_i w_i max_{j open} f(t_ij)``; ``covered_weight`` = weight with full
        credit (within ``threshold_min``); ``coverage`` has ``credit``; ``stats``: ``partial_credit``
        (credited weight between the two thresholds).
    """
    return solve_model(MODEL, instance, GradualParams.from_kwargs(params), backend=backend, options=options)
