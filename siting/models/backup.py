"""Backup coverage (BACOP, Hogan & ReVelle 1986): maximise the weight covered at least twice.

Example
-------
>>> from siting.testing import random_instance
>>> r = solve_backup(random_instance(6, 5, seed=3), threshold_min=10, max_sites=3)
>>> r.status.value, len(r.selected), r.objective == r.stats["covered_twice"]
('optimal', 3, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data.instance import Instance
from ..errors import VerificationError
from ..heuristics.backup_lagrangian import backup_bound
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ..reach import nearest_open_site, open_within
from ..result import Result
from ..rules import SiteRules
from ..verify import sole_reach
from .base import Built, Evaluation, Marginal, Model, Plan
from .coverage import LISTED_UNCOVERABLE, left_out_warning
from .driver import solve_model
from .greedy_sites import ratio_greedy
from .params import (
    ModelParams,
    boolean,
    budget_param,
    max_sites_param,
    number,
    param,
    speed_group_param,
    threshold_param,
    weight_column_param,
)
from .parts import Rows, demand_weight, milp, within_usable
from .tables import coverage_table, served_by_site, sites_table

__all__ = ["MODEL", "BackupParams", "solve_backup", "build_backup"]


@dataclass(frozen=True, kw_only=True)
class BackupParams(ModelParams):
    """Parameters of :data:`MODEL` (backup coverage)."""

    model_name = "backup"
    threshold_min: float = threshold_param()
    budget: float | None = budget_param()
    max_sites: int | None = max_sites_param()
    single_weight: float = param(0.0, check=number(ge=0, le=1),
                                 doc="weight of single coverage in the objective (0: only backup coverage counts)")
    cover_all: bool = param(False, check=boolean(), doc="every coverable demand point must be covered at least once")
    weight_column: str = weight_column_param()
    speed_group: str | None = speed_group_param()

    def check_together(self) -> None:
        """A maximisation needs a limit (budget or max_sites)."""
        self.require_a_limit()


def build_backup(instance: Instance, params: BackupParams, rules: SiteRules | None = None) -> LinearProgram:
    r"""The backup-coverage program (``rules`` default: :meth:`SiteRules.of` the instance).

    Returns
    -------
    LinearProgram
        Column blocks ``"site"`` (``y_j``), ``"once"`` (``v_i``) and ``"twice"`` (``u_i``), one ``v`` and one
        ``u`` per demand point with positive weight and at least one usable site within the threshold.

    Notes
    -----
    ``a_ij = 1`` iff ``t_ij <= r``; ``v_i`` = covered at least once, ``u_i`` = covered at least twice:

    .. math::

        \max \; \theta \sum_i w_i v_i + (1-\theta) \sum_i w_i u_i \quad\text{s.t.}\quad
        v_i + u_i \le \sum_j a_{ij} y_j,\quad u_i \le v_i,\quad
        \sum_j c_j y_j \le B,\; \sum_{j\in C} y_j \le p,\; y, u \in\{0,1\},\; v \in [0,1]

    ``theta`` = ``single_weight`` (0: pure backup coverage, BACOP2 with weight 0). ``cover_all=True`` adds
    ``v_i = 1`` for every coverable point (BACOP1). ``u`` is binary (as in Hogan & ReVelle): with a
    continuous ``u`` one covering site would give ``v = u = 1/2``. ``v`` may stay continuous. Existing
    sites are open and count toward both levels.
    """
    rules = rules or SiteRules.of(instance)
    weight = demand_weight(instance, params.weight_column)
    a = within_usable(instance.travel, params.threshold_min, rules)
    reach = np.diff(a.indptr)
    active = np.flatnonzero((weight > 0) & (reach >= 1))
    n, k = instance.n_sites, active.shape[0]
    v0, u0 = n, n + k
    rows = Rows(n + 2 * k)
    sub = a[active].tocoo()
    idx = np.arange(k)
    rows.add(np.concatenate([idx, idx, sub.row]), np.concatenate([v0 + idx, u0 + idx, sub.col]),
             np.concatenate([np.ones(2 * k), -np.ones(sub.nnz)]), k, -np.inf, 0.0)
    rows.add(np.concatenate([idx, idx]), np.concatenate([u0 + idx, v0 + idx]),
             np.concatenate([np.ones(k), -np.ones(k)]), k, -np.inf, 0.0)
    rows.add_limits(slice(0, n), rules, params.limits())
    w = weight[active]
    theta = params.single_weight
    objective = np.concatenate([np.zeros(n), theta * w, (1.0 - theta) * w])
    lower = np.concatenate([rules.lower, np.full(k, 1.0 if params.cover_all else 0.0), np.zeros(k)])
    # u_i = 0 where fewer than two sites can reach i
    upper = np.concatenate([rules.upper, np.ones(k), (reach[active] >= 2).astype(float)])
    # u must be integer: with v + u <= 1 a continuous u could take 1/2 from a single covering site
    integer = np.concatenate([np.ones(n, bool), np.zeros(k, bool), np.ones(k, bool)])
    return milp(Sense.MAXIMIZE, objective, rows, lower, upper, integer, "backup",
                {"site": (0, n), "once": (v0, u0), "twice": (u0, u0 + k)})


def _build(instance: Instance, params: BackupParams, rules: SiteRules) -> Built:
    return Built(build_backup(instance, params, rules))


def _evaluate(instance: Instance, params: BackupParams, rules: SiteRules, plan: Plan) -> Evaluation:
    """Count the open sites within the threshold of every demand point from the raw travel triples."""
    weight = demand_weight(instance, params.weight_column)
    travel = instance.travel
    count = open_within(travel, plan.open_sites, params.threshold_min)
    once_mask = count >= 1
    once = float(weight[once_mask].sum())
    twice = float(weight[count >= 2].sum())
    warnings: tuple[str, ...] = ()
    stats: dict[str, object] = {"covered_once": once, "covered_twice": twice}
    if params.cover_all:
        coverable = (weight > 0) & (open_within(travel, rules.usable, params.threshold_min) >= 1)
        if np.any(coverable & ~once_mask):
            raise VerificationError("backup: cover_all is set but a coverable demand point is not covered")
        left = (weight > 0) & ~coverable
        if left.any():
            # as LSCP's: "cover everyone" covers the coverable points, and the plan must not read as covering more
            warnings = (left_out_warning(weight, left, params.threshold_min),)
            ids = instance.demand.ids[left]
            stats.update(uncoverable_count=int(ids.size), uncoverable=[str(v) for v in ids[:LISTED_UNCOVERABLE]])
    site, minutes = nearest_open_site(travel, plan.open_sites)
    theta = params.single_weight
    return Evaluation(
        objective=theta * once + (1.0 - theta) * twice, covered_weight=once, total_weight=float(weight.sum()),
        total_cost=float(rules.cost[plan.open_sites].sum()),
        sites=sites_table(instance, plan.open_sites, rules,
                          served_weight=served_by_site(instance.n_sites, site, weight, once_mask)),
        coverage=coverage_table(instance, weight, site, minutes, once_mask, n_covering=count),
        stats=stats, warnings=warnings,
    )


def _marginal(instance: Instance, params: BackupParams, rules: SiteRules, plan: Plan) -> Marginal:
    """What each open site alone adds: the points it alone covers (once) and those it is one of two for (twice)."""
    weight = demand_weight(instance, params.weight_column)
    travel = instance.travel
    count = open_within(travel, plan.open_sites, params.threshold_min)
    once = sole_reach(travel, plan.open_sites, params.threshold_min, weight)
    hit = plan.open_sites[travel.site_index] & (travel.minutes <= params.threshold_min)
    two = hit & (count[travel.demand_index] == 2)
    twice = np.bincount(travel.site_index[two], weights=weight[travel.demand_index[two]], minlength=instance.n_sites)
    breaks = np.zeros(instance.n_sites, bool)
    if params.cover_all:
        coverable = (weight > 0) & (open_within(travel, rules.usable, params.threshold_min) >= 1)
        breaks = sole_reach(travel, plan.open_sites, params.threshold_min, coverable.astype(float)) > 0
    theta = params.single_weight
    return Marginal(theta * once + (1.0 - theta) * twice, breaks, once)


#: a first cover earns this share of a second cover's weight in the greedy's gains (a point needs two sites)
FIRST_COVER_CREDIT = 0.5


def greedy_backup(instance: Instance, params: BackupParams, rules: SiteRules,
                  deadline: float | None = None) -> np.ndarray | None:
    r"""Greedy plan: repeatedly open the site with the largest gain (per unit cost under a budget).

    A point covered ``c_i`` times gains, from one more site within the threshold, ``w_i (\theta + \beta (1 -
    \theta))`` at ``c_i = 0`` and ``w_i (1 - \theta)`` at ``c_i = 1``: a first cover earns ``\beta`` =
    :data:`FIRST_COVER_CREDIT` of the second's weight, which it makes possible. With ``cover_all`` the sites are
    first chosen for the points not yet covered until every coverable point is (None when the budget or the
    site limit cannot). One sparse product per step; stops when nothing fits, nothing gains, the site limit is
    reached or ``deadline`` passes.

    >>> from siting.testing import random_instance
    >>> inst = random_instance(6, 5, seed=3)
    >>> int(greedy_backup(inst, BackupParams(threshold_min=10, max_sites=3), SiteRules.of(inst)).sum())
    3
    """
    weight = demand_weight(instance, params.weight_column)
    a = within_usable(instance.travel, params.threshold_min, rules)
    by_site = a.T.tocsr()
    open_sites = rules.lower > 0
    count = np.asarray(a[:, open_sites].sum(axis=1)).ravel()
    coverable = (weight > 0) & (np.diff(a.indptr) > 0)
    theta = params.single_weight

    def gain(candidates: np.ndarray) -> np.ndarray:
        first = coverable & (count == 0)
        if params.cover_all and first.any():
            credit = np.where(first, weight, 0.0)
        else:
            credit = weight * np.where(count == 0, theta + FIRST_COVER_CREDIT * (1.0 - theta),
                                       np.where(count == 1, 1.0 - theta, 0.0))
        return np.asarray(by_site @ credit)

    def opened(j: int) -> None:
        count[by_site.indices[by_site.indptr[j]:by_site.indptr[j + 1]]] += 1

    ratio_greedy(rules, params.limits(), open_sites, gain, opened, deadline)
    if params.cover_all and np.any(coverable & (count == 0)):
        return None
    return open_sites


def _warm_start(instance: Instance, params: BackupParams, rules: SiteRules, built: Built,
                deadline: float | None) -> np.ndarray | None:
    """The greedy plan as a column vector: ``v_i`` = covered at least once, ``u_i`` = at least twice."""
    open_sites = greedy_backup(instance, params, rules, deadline)
    if open_sites is None:
        return None
    weight = demand_weight(instance, params.weight_column)
    a = within_usable(instance.travel, params.threshold_min, rules)
    active = np.flatnonzero((weight > 0) & (np.diff(a.indptr) >= 1))   # the rows of build_backup
    count = np.asarray(a[active][:, open_sites].sum(axis=1)).ravel()
    program = built.program
    x = np.zeros(program.n_cols)
    for block, values in (("site", open_sites), ("once", count >= 1), ("twice", count >= 2)):
        start, stop = program.blocks[block]
        x[start:stop] = values
    return x


def _bound(instance: Instance, params: BackupParams, rules: SiteRules, known: float | None = None,
           deadline: float | None = None) -> float | None:
    """The Lagrangian bound of :mod:`siting.heuristics.backup_lagrangian`, before ``deadline``.

    Its steps aim at ``known``, else the greedy plan's value; None when there is no plan to aim at
    (``cover_all`` beyond the budget). At 60,000 x 5,000 HiGHS had no bound of its own after 60 s.
    """
    if known is None:
        plan = greedy_backup(instance, params, rules, deadline)
        if plan is None:
            return None
        known = _evaluate(instance, params, rules, Plan(open_sites=plan)).objective
    limits = params.limits()
    out = backup_bound(within_usable(instance.travel, params.threshold_min, rules),
                       demand_weight(instance, params.weight_column), theta=params.single_weight,
                       cover_all=params.cover_all, cost=rules.cost, fixed_open=rules.fixed_open,
                       free=rules.free, counts=rules.counts, budget=limits.budget,
                       max_sites=limits.max_sites, target=known, deadline=deadline)
    return out.bound


MODEL = Model(
    name="backup", params=BackupParams, sense=Sense.MAXIMIZE, build=_build, evaluate=_evaluate, marginal=_marginal,
    warm_start=_warm_start, bound=_bound,
    covered="covered at least once within the threshold",
    summary="maximise the weight within the threshold of at least two open sites (backup coverage)",
)


def solve_backup(instance: Instance, *, backend: str = "auto", options: SolveOptions | None = None,
                 **params: Any) -> Result:
    """Maximise the weight within ``threshold_min`` of at least two open sites.

    Parameters
    ----------
    instance : Instance
    backend, options : see :func:`siting.models.driver.solve_model`
    **params : the fields of :class:`BackupParams` (``threshold_min``, ``budget`` and/or ``max_sites``,
        ``single_weight`` = weight of single coverage in [0, 1], ``cover_all``, ``weight_column``)

    Returns
    -------
    Result
        ``objective`` = recomputed ``theta * once + (1 - theta) * twice``; ``covered_weight`` = covered at
        least once; ``stats``: ``covered_once``, ``covered_twice``; ``coverage`` has ``n_covering``.
    """
    return solve_model(MODEL, instance, BackupParams.from_kwargs(params), backend=backend, options=options)
