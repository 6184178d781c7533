"""Equity coverage: maximise the smallest coverage share over districts or groups, then the total.

The total covered weight is the second, lexicographic goal, at the best smallest share.

Example
-------
>>> from siting.testing import random_instance
>>> inst = random_instance(8, 5, seed=4, groups=True)
>>> r = solve_equity(inst, threshold_min=10, budget=10, equity_column="district")
>>> r.status.value, r.objective == min(r.stats["shares"].values()), sorted(r.stats["shares"])
('optimal', True, ['0', '1', '2'])
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..backends import get_backend
from ..data.instance import Instance
from ..errors import InputError, VerificationError
from ..formulations.lexicographic import cost_then_count, keep_best
from ..heuristics.credit_lagrangian import credit_bound
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ..reach import nearest_open_site, open_within
from ..result import Result
from ..rules import REL_TOL, SiteRules
from ..status import Termination
from ..verify import sole_reach
from .base import Evaluation, Marginal, Model, Outcome, Plan, SolveContext
from .driver import check_claims, solve_model
from .greedy_sites import MIN_GAIN, ratio_greedy
from .params import (
    ModelParams,
    ParamError,
    anything,
    budget_param,
    max_sites_param,
    param,
    speed_group_param,
    text,
    text_list,
    threshold_param,
    weight_column_param,
)
from .parts import Rows, cover_rows, demand_weight, milp, within_usable
from .tables import coverage_table, served_by_site, sites_table

__all__ = ["MODEL", "EquityParams", "solve_equity", "build_equity", "group_matrix", "group_shares", "greedy_equity"]

#: share of the time left the greedy start may use (it usually takes far less)
_GREEDY_SHARE = 0.2
#: share of the time left for the groups' own bounds (:func:`smallest_share_bound`)
_BOUND_SHARE = 0.15
#: share of the time left that stage 1 (max-min) may use; stage 2 gets what stage 1 leaves
_STAGE1_SHARE = 0.6
#: share of the time left for stage 2 (the rest is kept for evaluation)
_STAGE2_SHARE = 0.95
#: share of the time left for stage 2 when stage 3 (the cheapest plan) follows
_STAGE2_SHARE_BEFORE_3 = 0.6
#: below this many seconds left, stage 2 is skipped and the stage-1 plan is returned
_MIN_STAGE2_S = 0.1


@dataclass(frozen=True, kw_only=True)
class EquityParams(ModelParams):
    """Parameters of :data:`MODEL` (equity: max-min coverage share, then total coverage)."""

    model_name = "equity"
    threshold_min: float = threshold_param()
    budget: float | None = budget_param()
    max_sites: int | None = max_sites_param()
    weight_column: str = weight_column_param()
    speed_group: str | None = speed_group_param()
    equity_column: str | None = param(None, check=text(),
                                      doc="demand column whose values form the groups (text such as district "
                                          "names, or numeric codes)")
    equity_groups: tuple[str, ...] | None = param(None, check=text_list(),
                                                  doc="demand weight columns, each one group weighted by itself "
                                                      "(e.g. [\"elderly\", \"children\"])")
    labels: Any = param(None, check=anything(), scenario=False,
                        doc="Python only: one group label per demand point")

    def check_together(self) -> None:
        """Exactly one way to form the groups; a maximisation needs a limit."""
        given = [name for name in ("equity_column", "equity_groups", "labels") if getattr(self, name) is not None]
        if len(given) != 1:
            got = f"got {', '.join(given)}" if given else "got none"
            raise ParamError(f"give exactly one of equity_column, equity_groups (or labels from Python); {got}",
                             param="equity_column", model=self.model_name)
        self.require_a_limit()


def _label_text(values: np.ndarray) -> np.ndarray:
    """Labels as text; integral numbers lose their ``.0`` (district code 3.0 is group ``"3"``)."""
    values = np.asarray(values)
    if values.dtype.kind in "fiu":
        as_float = values.astype(float)
        integral = np.isfinite(as_float) & (np.floor(as_float) == as_float)
        out = as_float.astype(str).astype(object)
        out[integral] = as_float[integral].astype(np.int64).astype(str)
        return out
    return values.astype(object)


def _missing(labels: np.ndarray) -> np.ndarray:
    """True where a label is None, NaN or blank text."""
    text = pd.Series(labels, dtype=object)
    return (text.isna() | (text.astype(str).str.strip() == "")).to_numpy()


def _demand_labels(instance: Instance, equity_column: str) -> np.ndarray:
    """The values of a demand column as labels: a text column (``Demand.labels``) or a numeric one (``groups``)."""
    demand = instance.demand
    if equity_column in demand.labels:
        labels = np.asarray(demand.labels[equity_column], dtype=object)
        blank = np.flatnonzero(_missing(labels))
        if blank.size:
            raise InputError(f"no group label for equity ({blank.size} demand point(s) without one)",
                             file=demand.source, row_id=demand.ids[blank[0]], column=equity_column)
        return labels
    if equity_column in demand.groups:
        return np.asarray(demand.groups[equity_column])
    have = ", ".join([*demand.labels, *demand.groups]) or "none besides id and population"
    raise InputError(f"no such demand column for equity; extra columns: {have}", file=demand.source,
                     column=equity_column)


def group_matrix(instance: Instance, *, weight: np.ndarray, equity_column: str | None = None,
                 labels: Any = None, equity_groups: Any = None) -> tuple[sp.csr_matrix, list[str]]:
    """(G, n_demand) CSR ``M`` with ``M_gi = w^g_i / W^g`` so that ``M v`` are the coverage shares.

    Exactly one of: ``labels`` (per-demand labels, e.g. district names), ``equity_column`` (a demand column,
    text or numeric, whose values are the labels) or ``equity_groups`` (names of demand weight columns such
    as ``["elderly", "children"]``; each is one group weighted by itself). With labels the shares use
    ``weight``. Groups with zero total weight are dropped.
    """
    if sum(x is not None for x in (equity_column, labels, equity_groups)) != 1:
        raise ParamError("give exactly one of equity_column, equity_groups (or labels from Python)",
                         param="equity_column", model="equity")
    n = instance.n_demand
    if equity_groups is not None:
        names = [str(g) for g in equity_groups]
        mat = sp.csr_matrix(np.vstack([demand_weight(instance, g) for g in names])) if names else sp.csr_matrix((0, n))
    else:
        if labels is None:
            labels = _demand_labels(instance, str(equity_column))
        else:
            labels = np.asarray(labels, dtype=object) if not isinstance(labels, np.ndarray) else labels
            if labels.shape != (n,):
                raise ParamError(f"expected one label per demand point ({n}), got shape {labels.shape}",
                                 param="labels", model="equity")
            if _missing(labels).any():
                raise ParamError("labels must not be missing (None, NaN or blank)", param="labels", model="equity")
        names_arr, code = np.unique(_label_text(labels).astype(str), return_inverse=True)
        names = [str(v) for v in names_arr]
        mat = sp.csr_matrix((weight, (code, np.arange(n))), shape=(len(names), n))
    totals = np.asarray(mat.sum(axis=1)).ravel()
    keep = np.flatnonzero(totals > 0)
    mat = (sp.diags(1.0 / totals[keep]) @ mat[keep]).tocsr()
    return mat, [names[k] for k in keep]


def _groups(instance: Instance, params: EquityParams, weight: np.ndarray) -> tuple[sp.csr_matrix, list[str]]:
    return group_matrix(instance, weight=weight, equity_column=params.equity_column, labels=params.labels,
                        equity_groups=params.equity_groups)


def group_shares(instance: Instance, threshold_min: float, groups: sp.csr_matrix,
                 open_sites: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each group's covered share and the covered mask, from the raw travel triples (not from a program)."""
    covered = open_within(instance.travel, open_sites, threshold_min) >= 1
    return np.asarray(groups @ covered.astype(float)).ravel(), covered


def _stage1(instance: Instance, params: EquityParams, rules: SiteRules, weight: np.ndarray,
            groups: sp.csr_matrix) -> tuple[LinearProgram, np.ndarray]:
    """The stage-1 program and the demand points it has a ``v`` column for."""
    a = within_usable(instance.travel, params.threshold_min, rules)
    in_any_group = np.asarray(abs(groups).sum(axis=0)).ravel() > 0
    active = np.flatnonzero(((weight > 0) | in_any_group) & (np.diff(a.indptr) > 0))
    n, k, g = instance.n_sites, active.shape[0], groups.shape[0]
    eta = n + k
    rows = Rows(n + k + 1)
    cover_rows(rows, a, active, n)
    mg = groups[:, active].tocoo()
    rows.add(np.concatenate([mg.row, np.arange(g)]), np.concatenate([n + mg.col, np.full(g, eta)]),
             np.concatenate([-mg.data, np.ones(g)]), g, -np.inf, 0.0)
    rows.add_limits(slice(0, n), rules, params.limits())
    objective = np.zeros(n + k + 1)
    objective[eta] = 1.0
    program = milp(Sense.MAXIMIZE, objective, rows, np.concatenate([rules.lower, np.zeros(k + 1)]),
                   np.concatenate([rules.upper, np.ones(k + 1)]),
                   np.concatenate([np.ones(n, bool), np.zeros(k + 1, bool)]), "equity_stage1",
                   {"site": (0, n), "covered": (n, n + k), "eta": (eta, eta + 1)})
    return program, active


def build_equity(instance: Instance, params: EquityParams, rules: SiteRules | None = None) -> LinearProgram:
    r"""The stage-1 (max-min share) program (``rules`` default: :meth:`SiteRules.of` the instance).

    Notes
    -----
    With ``a_ij = [t_ij <= r]`` on usable table pairs, ``v_i`` covered and ``M`` from :func:`group_matrix`:

    .. math::

        \eta^* = \max \eta \quad\text{s.t.}\quad \eta \le \sum_i M_{gi} v_i \;\forall g,\quad
        v_i \le \sum_j a_{ij} y_j,\quad \sum_j c_j y_j \le B,\; \sum_{j\in C} y_j \le p

    Stage 2 (:func:`stage2_program`): :math:`\max \sum_i w_i v_i` over the same rows with
    :math:`\eta \ge \eta^* - 10^{-9}`. ``y`` binary, ``v``, ``eta`` in [0, 1].
    """
    rules = rules or SiteRules.of(instance)
    weight = demand_weight(instance, params.weight_column)
    return _stage1(instance, params, rules, weight, _groups(instance, params, weight)[0])[0]


def stage2_program(stage1: LinearProgram, weight_active: np.ndarray, min_share: float) -> LinearProgram:
    """Stage 2: total covered weight over the stage-1 rows, the minimum share held at ``min_share``."""
    v0, v1 = stage1.blocks["covered"]
    eta = stage1.blocks["eta"][0]
    objective = np.zeros(stage1.n_cols)
    objective[v0:v1] = weight_active
    lower = stage1.col_lower.copy()
    lower[eta] = max(min_share - 1e-9, 0.0)  # slack for the solver's rounding of the shares
    return replace(stage1, objective=objective, col_lower=lower, name="equity_stage2")


def _stage2_start(stage2: LinearProgram, open_sites: np.ndarray, covered_active: np.ndarray,
                  groups_active: sp.csr_matrix) -> np.ndarray | None:
    """The stage-1 plan as a stage-2 vector (it is feasible: its shares are the held minimum)."""
    x = np.zeros(stage2.n_cols)
    n = open_sites.shape[0]
    x[:n] = open_sites
    v0, v1 = stage2.blocks["covered"]
    x[v0:v1] = covered_active
    x[stage2.blocks["eta"][0]] = float(np.asarray(groups_active @ covered_active).min(initial=1.0))
    return x if stage2.max_violation(x, relative=True) <= 1e-7 else None


#: in the greedy's gains, a group above the smallest share counts this much of a group at it
OTHER_GROUPS = 0.01


def greedy_equity(instance: Instance, params: EquityParams, rules: SiteRules, groups: sp.csr_matrix,
                  deadline: float | None = None) -> np.ndarray:
    r"""Greedy plan: repeatedly open the site that raises the groups at the smallest share most (per yuan).

    With ``G_gj`` = the share of group ``g`` site ``j`` would newly cover (one sparse product per step), a site
    scores how much it raises the smallest share, ``min_g (s_g + G_gj) - min_g s_g``; when no site raises it
    (several groups at the minimum), ``sum_g pi_g G_gj`` with ``pi_g = 1`` for one group at the smallest share
    (the first) and :data:`OTHER_GROUPS` for the rest; divided by its cost under a budget. One group at a
    time: weighting every group at 0 alike spent a small budget on the sites covering two groups best and left
    the third at 0. Stops when nothing fits, nothing gains, the site limit is reached or ``deadline``
    passes.

    >>> from siting.testing import random_instance
    >>> inst = random_instance(8, 5, seed=4, groups=True)
    >>> params = EquityParams(threshold_min=10, budget=10, equity_column="district")
    >>> weight = demand_weight(inst, params.weight_column)
    >>> plan = greedy_equity(inst, params, SiteRules.of(inst), _groups(inst, params, weight)[0])
    >>> bool(SiteRules.of(inst).cost[plan].sum() <= 10)
    True
    """
    a = within_usable(instance.travel, params.threshold_min, rules).astype(float).tocsc()
    open_sites = rules.lower > 0
    covered = np.asarray(a[:, open_sites].sum(axis=1)).ravel() > 0
    if groups.shape[0] == 0:
        return open_sites

    def gain(candidates: np.ndarray) -> np.ndarray:
        shares = np.asarray(groups @ covered.astype(float)).ravel()
        added = (groups @ sp.diags((~covered).astype(float)) @ a).toarray()    # (groups, sites)
        raised = (shares[:, None] + added).min(axis=0) - shares.min()
        if np.any(candidates & (raised > MIN_GAIN)):
            return np.asarray(raised)
        weight_g = np.full(shares.shape[0], OTHER_GROUPS)
        weight_g[int(np.argmin(shares))] = 1.0   # one group at a time: ties spread the money over all
        return np.asarray(weight_g @ added)

    def opened(j: int) -> None:
        covered[a.indices[a.indptr[j]:a.indptr[j + 1]]] = True

    return ratio_greedy(rules, params.limits(), open_sites, gain, opened, deadline)


def smallest_share_bound(instance: Instance, params: EquityParams, rules: SiteRules, groups: sp.csr_matrix,
                         known: np.ndarray, deadline: float | None = None) -> float:
    r"""An upper bound on the smallest share: ``min_g`` of a bound on group ``g``'s own best share.

    Group ``g`` alone is a maximal-coverage problem with credits ``M_gi`` (:func:`group_matrix`); its bound is
    the Lagrangian of :mod:`siting.heuristics.credit_lagrangian`, steps aimed at ``known[g]`` (a plan's share of
    it). Groups are bounded lowest ``known`` first until ``deadline`` (each gets an equal part of what is left);
    the minimum over the groups bounded so far is valid, as every group's share bounds the smallest.
    """
    a = within_usable(instance.travel, params.threshold_min, rules).tocoo()
    d, s = a.row, a.col
    m = groups.tocsc()
    limits = params.limits()
    best = 1.0
    order = np.argsort(known, kind="stable")
    for k, g in enumerate(order):
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0 and k > 0:
            break
        credit = np.asarray(m[g].todense()).ravel()
        keep = credit[d] > 0
        out = credit_bound(d[keep], s[keep], credit[d[keep]], instance.n_demand, instance.n_sites, cost=rules.cost,
                           fixed_open=rules.fixed_open,
                           free=rules.free, counts=rules.counts,
                           budget=limits.budget, max_sites=limits.max_sites, target=float(known[g]),
                           deadline=None if left is None else time.perf_counter() + left / (order.size - k))
        best = min(best, out.bound)
    return best


def _stage1_start(stage1: LinearProgram, open_sites: np.ndarray, covered: np.ndarray, active: np.ndarray,
                  groups: sp.csr_matrix) -> np.ndarray | None:
    """A plan as a stage-1 vector: sites, the active points it covers, and its smallest share as ``eta``."""
    x = np.zeros(stage1.n_cols)
    x[:open_sites.shape[0]] = open_sites
    v0, v1 = stage1.blocks["covered"]
    x[v0:v1] = covered[active]
    x[stage1.blocks["eta"][0]] = float(np.asarray(groups @ covered.astype(float)).min(initial=1.0))
    return x if stage1.max_violation(x, relative=True) <= 1e-7 else None


def _search(instance: Instance, params: EquityParams, rules: SiteRules, ctx: SolveContext) -> Outcome:
    """Stage 1 then stage 2 through the backend, each with the time left; the stage-1 plan if stage 2 fails."""
    weight = demand_weight(instance, params.weight_column)
    groups, _ = _groups(instance, params, weight)
    stage1, active = _stage1(instance, params, rules, weight, groups)
    stage1.check()
    backend = get_backend(ctx.backend)
    # the solver alone held the existing sites' plan after 12 s at 20,000 x 2,000 (0 new sites, 10.8 % covered)
    greedy = greedy_equity(instance, params, rules, groups, ctx.deadline_after(_GREEDY_SHARE))
    shares0, covered0 = group_shares(instance, params.threshold_min, groups, greedy)
    start1 = _stage1_start(stage1, greedy, covered0, active, groups)
    greedy_min = float(shares0.min(initial=1.0))   # the start's eta
    share_bound = smallest_share_bound(instance, params, rules, groups, shares0, ctx.deadline_after(_BOUND_SHARE))
    sol1 = backend.solve(stage1, ctx.options_now(share=_STAGE1_SHARE), warm_start=start1)
    bound1 = share_bound if sol1.bound is None else min(float(sol1.bound), share_bound)
    stats: dict[str, Any] = {"n_cols": stage1.n_cols, "n_rows": stage1.n_rows, "nnz": int(stage1.constraints.nnz),
                             "stage1_termination": str(sol1.termination), "stage1_seconds": sol1.seconds,
                             "stage2_solved": False, "stage2_bound": None,
                             "greedy_min_share": None if start1 is None else greedy_min,
                             "share_bound": share_bound}
    x1, objective1 = sol1.x, sol1.objective
    if start1 is not None and sol1.termination not in (Termination.INFEASIBLE, Termination.UNBOUNDED) and (
            x1 is None or objective1 is None or greedy_min > objective1):
        x1, objective1 = start1, greedy_min   # the solver kept nothing better than the greedy's plan
    if x1 is None:
        return Outcome(None, sol1.termination, None, sol1.bound, sol1.backend, stats, sol1.message)
    plan1 = stage1.block(x1, "site") > 0.5
    shares1, covered1 = group_shares(instance, params.threshold_min, groups, plan1)
    min_share1 = float(shares1.min(initial=1.0))
    check_claims(MODEL, objective=objective1, bound=bound1, verified=min_share1,
                 proven_optimal=sol1.termination is Termination.OPTIMAL)
    left = ctx.remaining_s()
    if left is not None and left < _MIN_STAGE2_S:
        stats["stage2_termination"] = "skipped: no time left"
        early = Termination.TIME_LIMIT if sol1.termination is Termination.OPTIMAL else sol1.termination
        return Outcome(Plan(plan1), early, objective1, bound1, sol1.backend, stats, sol1.message)
    stage2 = stage2_program(stage1, weight[active], min_share1)
    start = _stage2_start(stage2, plan1, covered1[active].astype(float), groups[:, active])
    cheapest = ctx.options.secondary == "min_cost"
    options = ctx.options_now(share=_STAGE2_SHARE_BEFORE_3 if cheapest else _STAGE2_SHARE)
    sol2 = backend.solve(stage2, options, warm_start=start)
    stats.update(stage2_termination=str(sol2.termination), stage2_seconds=sol2.seconds, stage2_bound=sol2.bound,
                 stage2_solved=sol2.x is not None)
    plan = plan1
    if sol2.x is not None:
        plan = stage2.block(sol2.x, "site") > 0.5
        _, covered2 = group_shares(instance, params.threshold_min, groups, plan)
        recomputed = float(weight[covered2].sum())
        if sol2.objective is not None and sol2.objective - recomputed > REL_TOL * max(1.0, abs(recomputed)):
            raise VerificationError(f"equity: stage 2 reports covered weight {sol2.objective:,.10g} but the plan "
                                    f"recomputed from the raw inputs covers {recomputed:,.10g}")
    term: Termination
    if sol1.termination is not Termination.OPTIMAL:
        term = sol1.termination
    elif sol2.x is not None and sol2.termination is Termination.OPTIMAL:
        term = Termination.OPTIMAL
    elif sol2.termination in (Termination.TIME_LIMIT, Termination.ITERATION_LIMIT):
        term = Termination.TIME_LIMIT
    else:
        term = Termination.HEURISTIC  # the minimum share is proven, the total behind it is not
    message = sol2.message if sol2.x is None and sol2.message else sol1.message
    if cheapest:
        plan = _stage3(instance, params, rules, ctx, stage2, sol2.x, plan, groups, min_share1, stats)
    return Outcome(Plan(plan), term, objective1, bound1, sol1.backend, stats, message)


def _stage3(instance: Instance, params: EquityParams, rules: SiteRules, ctx: SolveContext, stage2: LinearProgram,
            x2: np.ndarray | None, plan: np.ndarray, groups: sp.csr_matrix, min_share: float,
            stats: dict[str, Any]) -> np.ndarray:
    """Stage 3: the cheapest plan (then the fewest new sites) that keeps the minimum share and the total.

    The stage-2 program with its objective held (:func:`siting.formulations.lexicographic.keep_best`) and
    the minimum share still held by ``eta``'s lower bound; kept when, recomputed, it keeps both and is cheaper.
    """
    weight = demand_weight(instance, params.weight_column)
    count = rules.counts & (rules.lower == 0)
    before = (float(rules.cost[plan].sum()), int((plan & count).sum()))
    info: dict[str, Any] = {"goal": "min_cost", "cost_before": before[0], "new_sites_before": before[1]}
    stats["secondary"] = info
    left = ctx.remaining_s()
    if left is not None and left < _MIN_STAGE2_S:
        info["termination"] = "skipped: no time left"
        return plan
    _, covered = group_shares(instance, params.threshold_min, groups, plan)
    total = float(weight[covered].sum())
    cost = np.zeros(stage2.n_cols)
    start, stop = stage2.blocks["site"]
    cost[start:stop] = rules.cost
    counted = np.zeros(stage2.n_cols)
    counted[start:stop] = count
    stage3 = keep_best(stage2, total, cost_then_count(cost, counted)[0], name="equity_stage3")
    warm = x2 if x2 is not None and stage3.max_violation(x2, relative=True) <= 1e-7 else None
    options = ctx.options_now(share=_STAGE2_SHARE)
    backend = get_backend(ctx.backend)
    sol = backend.solve(stage3, options, warm_start=warm)
    info["termination"] = str(sol.termination)
    if sol.x is None:
        return plan
    found = stage3.block(sol.x, "site") > 0.5
    shares3, covered3 = group_shares(instance, params.threshold_min, groups, found)
    after = (float(rules.cost[found].sum()), int((found & count).sum()))
    keeps = float(shares3.min(initial=1.0)) >= min_share - 1e-12 and \
        float(weight[covered3].sum()) >= total - 1e-9 * max(1.0, total)
    accepted = keeps and after < before
    info.update(accepted=bool(accepted), cost_after=after[0], new_sites_after=after[1])
    return found if accepted else plan


def _marginal(instance: Instance, params: EquityParams, rules: SiteRules, plan: Plan) -> Marginal:
    """What each open site alone adds: the minimum share it holds up plus the weight it alone covers.

    Both parts are >= 0 and exactly 0 when nothing is lost (the driver only asks whether the sum is 0).
    """
    weight = demand_weight(instance, params.weight_column)
    groups, _ = _groups(instance, params, weight)
    shares, _ = group_shares(instance, params.threshold_min, groups, plan.open_sites)
    alone = sole_reach(instance.travel, plan.open_sites, params.threshold_min, weight)
    share_lost = sole_reach(instance.travel, plan.open_sites, params.threshold_min, groups)
    min_share = float(shares.min(initial=1.0))
    dropped = min_share - (shares[:, None] - share_lost).min(axis=0, initial=1.0)
    return Marginal(np.maximum(dropped, 0.0) + alone, np.zeros(instance.n_sites, bool), alone)


def _evaluate(instance: Instance, params: EquityParams, rules: SiteRules, plan: Plan) -> Evaluation:
    """Group shares from the raw travel triples; objective = the smallest share."""
    weight = demand_weight(instance, params.weight_column)
    groups, names = _groups(instance, params, weight)
    shares, covered = group_shares(instance, params.threshold_min, groups, plan.open_sites)
    min_share = float(shares.min(initial=1.0))
    site, minutes = nearest_open_site(instance.travel, plan.open_sites)
    return Evaluation(
        objective=min_share, covered_weight=float(weight[covered].sum()), total_weight=float(weight.sum()),
        total_cost=float(rules.cost[plan.open_sites].sum()),
        sites=sites_table(instance, plan.open_sites, rules,
                          served_weight=served_by_site(instance.n_sites, site, weight, covered)),
        coverage=coverage_table(instance, weight, site, minutes, covered),
        stats={"groups": names, "shares": dict(zip(names, shares.tolist(), strict=True)), "min_share": min_share},
    )


MODEL = Model(
    name="equity", params=EquityParams, sense=Sense.MAXIMIZE, search=_search, evaluate=_evaluate, marginal=_marginal,
    covered="within the threshold of an open site",
    summary="maximise the smallest coverage share across districts or groups, then the total covered weight",
)


def solve_equity(instance: Instance, *, backend: str = "auto", options: SolveOptions | None = None,
                 **params: Any) -> Result:
    """Maximise the minimum coverage share across groups, then total coverage at that minimum.

    Parameters
    ----------
    instance : Instance
    backend, options : see :func:`siting.models.driver.solve_model`; the time limit covers both stages
    **params : the fields of :class:`EquityParams` (``threshold_min``, ``budget`` and/or ``max_sites``,
        ``weight_column``, and exactly one of ``equity_column`` (a text or numeric demand column),
        ``equity_groups`` (weight columns) or ``labels`` (one label per demand point); see :func:`group_matrix`)

    Returns
    -------
    Result
        ``objective`` = recomputed minimum share (stage-1 goal), ``best_bound`` its bound;
        ``covered_weight`` = total covered weight (stage-2 goal); ``stats``: ``shares`` per group,
        ``min_share``, ``stage2_bound``, ``stage2_solved``. Status ``optimal`` only when both stages are;
        when stage 2 runs out of time the stage-1 plan (or stage 2's best) is returned as ``time_limit``.
    """
    return solve_model(MODEL, instance, EquityParams.from_kwargs(params), backend=backend, options=options)
