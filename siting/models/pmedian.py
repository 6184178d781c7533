"""p-median: open ``p`` sites to minimise the population-weighted walking time to the nearest open site.

Example
-------
>>> from siting.testing import random_instance
>>> result = solve_pmedian(random_instance(6, 4, seed=1), p=2)
>>> result.status.value, result.stats["p"]
('optimal', 2)
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..data.instance import Instance
from ..errors import VerificationError
from ..interrupt import expired
from ..options import SolveOptions
from ..program import LinearProgram, Sense
from ..reach import nearest_open_site, nearest_two
from ..result import Result
from ..rules import Limits, SiteRules
from .base import Built, Evaluation, Marginal, Model, Outcome, Plan, SolveContext
from .driver import solve_model
from .params import ModelParams, boolean, budget_param, choice, integer, param, speed_group_param, weight_column_param
from .parts import Rows, demand_weight, milp
from .reachable import UNREACHABLE, dropped_demand, reachable_pairs, unreachable_param
from .tables import coverage_table, served_by_site, sites_table

__all__ = ["MODEL", "PMedianParams", "solve_pmedian", "build_pmedian", "build_pmedian_radius", "greedy_pmedian",
           "reachable_pairs", "unreachable_param", "dropped_demand", "UNREACHABLE"]

FORMULATIONS = ("auto", "iterative", "assignment", "radius")
@dataclass(frozen=True, kw_only=True)
class PMedianParams(ModelParams):
    """Parameters of :data:`MODEL` (p-median)."""

    model_name = "pmedian"
    p: int = param(check=integer(ge=1), doc="number of counted sites open (candidate and required; existing on top)")
    budget: float | None = budget_param()
    weight_column: str = weight_column_param()
    speed_group: str | None = speed_group_param()
    formulation: str = param("auto", check=choice(FORMULATIONS),
                             doc="auto (iterative unless a budget is given), iterative (radius tightening, "
                                 "García et al. 2011), assignment (x_ij per pair) or radius (Elloumi levels)")
    warm_start: bool = param(True, check=boolean(), doc="start the solver from the greedy + swap plan")
    unreachable: str = unreachable_param()

    def limits(self) -> Limits:
        """Exactly ``p`` counted sites, and the budget when given."""
        return Limits(budget=self.budget, max_sites=self.p, exact_sites=True)


def build_pmedian(instance: Instance, *, p: int, weight_column: str = "population",
                  budget: float | None = None, unreachable: str = "error") -> LinearProgram:
    r"""The p-median program over the reachable pairs of the travel table.

    Parameters
    ----------
    instance : Instance
    p : int
        Number of counted sites to open (candidate and required sites; existing sites are open in addition).
    weight_column : str
        Demand column that weights walking time (``population`` or a group such as ``elderly``).
    budget : float, optional
        Extra knapsack row on conversion cost.
    unreachable : {"error", "drop"}
        A demand point that reaches no usable site raises, or is left out (see :func:`reachable_pairs`).

    Returns
    -------
    LinearProgram
        Columns: block ``"site"`` (``y_j`` binary) then block ``"assign"`` (``x_ij`` in [0, 1], one per
        reachable pair with ``w_i > 0``, sorted by demand then site).

    Raises
    ------
    InfeasibleError
        if a demand point with positive weight has no pair with a usable site (and ``unreachable = "error"``).

    Notes
    -----
    With ``P`` the reachable pairs (present in the travel table, site not excluded):

    .. math::

        \min \sum_{(i,j) \in P} w_i t_{ij} x_{ij} \quad\text{s.t.}\quad
        \sum_{j:(i,j)\in P} x_{ij} = 1 \;\forall i,\quad x_{ij} \le y_j,\quad
        \sum_{j \in C} y_j = p,\quad y_j \in \{0,1\},\; 0 \le x_{ij} \le 1

    ``C`` = counted sites (not existing). Existing and required sites have ``y_j = 1``, excluded ``y_j = 0``.
    Demand points with zero weight are left out. ``x`` needs no integrality: for integer ``y`` the
    assignment LP has an integral optimum (nearest open site).
    """
    rules = SiteRules.of(instance)
    weight = demand_weight(instance, weight_column)
    d, s, t = reachable_pairs(instance, weight, rules, "pmedian", unreachable=unreachable)
    n, npairs = instance.n_sites, d.shape[0]
    active, dense_row = np.unique(d, return_inverse=True)
    rows = Rows(n + npairs)
    pair = np.arange(npairs)
    rows.add(dense_row, n + pair, np.ones(npairs), active.shape[0], 1.0, 1.0)
    rows.add(np.repeat(pair, 2), np.column_stack([n + pair, s]).ravel(),
             np.tile([1.0, -1.0], npairs), npairs, -np.inf, 0.0)
    rows.add_limits(slice(0, n), rules, Limits(budget, p, exact_sites=True))
    cost = np.concatenate([np.zeros(n), weight[d] * t])
    lower = np.concatenate([rules.lower, np.zeros(npairs)])
    upper = np.concatenate([rules.upper, np.ones(npairs)])
    integer = np.concatenate([np.ones(n, bool), np.zeros(npairs, bool)])
    return milp(Sense.MINIMIZE, cost, rows, lower, upper, integer, "pmedian",
                {"site": (0, n), "assign": (n, n + npairs)})


def build_pmedian_radius(instance: Instance, *, p: int, weight_column: str = "population",
                         budget: float | None = None, unreachable: str = "error") -> LinearProgram:
    r"""The radius (distance-level) p-median program of Elloumi (2010), chained so its size is O(pairs).

    Returns
    -------
    LinearProgram
        Columns: block ``"site"`` (``y_j``) then block ``"level"`` (``z_ik`` in [0, 1]).

    Notes
    -----
    For demand ``i`` let :math:`D_i^1 < \dots < D_i^{K_i}` be its distinct reachable times and
    :math:`S_i^k = \{j: t_{ij} = D_i^k\}`. ``z_ik`` = 1 when no open site lies within :math:`D_i^k`:

    .. math::

        \min \sum_i w_i \Big(D_i^1 + \sum_{k<K_i} (D_i^{k+1} - D_i^k) z_{ik}\Big)
        \quad\text{s.t.}\quad
        z_{ik} \ge z_{i,k-1} - \sum_{j\in S_i^k} y_j \;(z_{i0} = 1),\quad
        z_{i,K_i-1} \le \sum_{j \in S_i^{K_i}} y_j,\quad \sum_{j\in C} y_j = p

    Telescoping gives :math:`z_{ik} \ge 1 - \sum_{j: t_{ij} \le D_i^k} y_j`, so the LP bound equals the
    classic assignment formulation's while every pair appears in exactly one row.
    """
    rules = SiteRules.of(instance)
    weight = demand_weight(instance, weight_column)
    d, s, t = reachable_pairs(instance, weight, rules, "pmedian", unreachable=unreachable)
    order = np.lexsort((s, t, d))
    d, s, t = d[order], s[order], t[order]
    n = instance.n_sites
    # level id per pair: a new level starts where the demand or the time changes
    new_level = np.ones(d.shape[0], bool)
    new_level[1:] = (d[1:] != d[:-1]) | (t[1:] != t[:-1])
    level = np.cumsum(new_level) - 1                      # global level index of each pair
    lvl_d = d[new_level]
    lvl_t = t[new_level]
    n_lvl = lvl_d.shape[0]
    first = np.ones(n_lvl, bool)
    first[1:] = lvl_d[1:] != lvl_d[:-1]
    last = np.ones(n_lvl, bool)
    last[:-1] = lvl_d[1:] != lvl_d[:-1]
    # one z per level that is not the last of its demand; z index = level - (number of earlier "last" levels)
    zpos = np.cumsum(~last) - 1
    nz = int((~last).sum())
    rows = Rows(n + nz)
    # row per level: z_k (if not last) - z_{k-1} (if not first) + sum_{j in S_k} y_j >= 1 (first) / 0
    lv = np.arange(n_lvl)
    has_z = ~last
    has_prev = ~first
    r_idx = np.concatenate([lv[has_z], lv[has_prev], level])
    c_idx = np.concatenate([n + zpos[has_z], n + zpos[np.flatnonzero(has_prev) - 1], s])
    vals = np.concatenate([np.ones(int(has_z.sum())), -np.ones(int(has_prev.sum())), np.ones(d.shape[0])])
    rows.add(r_idx, c_idx, vals, n_lvl, np.where(first, 1.0, 0.0), np.inf)
    rows.add_limits(slice(0, n), rules, Limits(budget, p, exact_sites=True))
    step = np.zeros(n_lvl)
    step[:-1] = lvl_t[1:] - lvl_t[:-1]
    cost = np.concatenate([np.zeros(n), (weight[lvl_d] * step)[has_z]])
    offset = float(np.sum(weight[lvl_d[first]] * lvl_t[first]))
    lower = np.concatenate([rules.lower, np.zeros(nz)])
    upper = np.concatenate([rules.upper, np.ones(nz)])
    integer = np.concatenate([np.ones(n, bool), np.zeros(nz, bool)])
    return milp(Sense.MINIMIZE, cost, rows, lower, upper, integer, "pmedian_radius",
                {"site": (0, n), "level": (n, n + nz)}, offset=offset)


def greedy_pmedian(instance: Instance, *, p: int, weight_column: str = "population",
                   budget: float | None = None, max_swaps: int = 200,
                   deadline: float | None = None, unreachable: str = "error") -> np.ndarray | None:
    """Greedy-add then swap start for p-median.

    Open the site with the largest drop in weighted time, ``p`` times, then apply best improving swaps
    (at most ``max_swaps``).

    Returns the open-site mask, or None when the greedy cannot open ``p`` sites within the budget or leaves
    a demand point unreachable. Vectorised over the sparse pairs (one ``bincount`` per step).
    """
    rules = SiteRules.of(instance)
    weight = demand_weight(instance, weight_column)
    d, s, t = reachable_pairs(instance, weight, rules, "pmedian", unreachable=unreachable)
    wd = weight[d]
    big = float(t.max(initial=0.0)) * 10.0 + 1.0       # penalty for "no open site yet"
    open_mask = _greedy_add(instance, rules, p, budget, d, s, t, wd, big, reach_first=False)
    if open_mask is None:
        # the greedy by time left a point unreached: open the sites reaching the most unreached weight first
        # (a random 19,378 x 2,000 city, p = 500, 20-min table: no start, and no plan at all after 20 s)
        open_mask = _greedy_add(instance, rules, p, budget, d, s, t, wd, big, reach_first=True)
    if open_mask is None:
        return None
    for _ in range(max_swaps):
        if expired(deadline):
            break  # the greedy plan (with the swaps made so far) is a valid start already
        if not _best_swap(open_mask, rules, d, s, t, wd, big, budget):
            break
    return open_mask


def _greedy_add(instance: Instance, rules: SiteRules, p: int, budget: float | None, d: np.ndarray, s: np.ndarray,
                t: np.ndarray, wd: np.ndarray, big: float, *, reach_first: bool) -> np.ndarray | None:
    """Open the site with the largest drop in weighted time until ``p`` are open.

    ``big``: an unreached point's time. ``reach_first``: choose among the sites reaching the most unreached
    weight while any point is unreached. None when ``p`` sites do not fit the budget or a demand point is left
    unreached.
    """
    open_mask = rules.lower > 0
    _, cur = nearest_open_site(instance.travel, open_mask & rules.usable)
    cur = np.where(np.isfinite(cur), cur, big)
    left = None if budget is None else budget - float(rules.cost[open_mask].sum())
    for _ in range(int(p) - int((open_mask & rules.counts).sum())):
        gain = np.bincount(s, weights=wd * np.maximum(cur[d] - t, 0.0), minlength=instance.n_sites)
        ok = ~open_mask & (rules.upper > 0) & rules.counts
        if left is not None:
            ok &= rules.cost <= left + 1e-9
        if not ok.any():
            return None
        if reach_first:
            reached = np.bincount(s, weights=wd * (cur[d] >= big), minlength=instance.n_sites)
            most = float(reached[ok].max())
            if most > 0:
                ok &= reached >= most * (1.0 - 1e-12)
        j = int(np.argmax(np.where(ok, gain, -1.0)))
        open_mask[j] = True
        if left is not None:
            left -= float(rules.cost[j])
        on = s == j
        np.minimum.at(cur, d[on], t[on])
    if not np.all(cur[np.unique(d)] < big):
        return None
    return open_mask


def _best_swap(open_mask: np.ndarray, rules: SiteRules, d: np.ndarray, s: np.ndarray, t: np.ndarray,
               wd: np.ndarray, big: float, budget: float | None) -> bool:
    """Apply the best improving (close a, open b) swap (Whitaker's fast interchange); False if none.

    With ``d1_i``/``d2_i`` the nearest / second-nearest open times and ``g_ib = max(0, d1_i - t_ib)``, the
    saving of the swap is ``G_b - L_a + C_ab`` with ``G_b = sum_i w_i g_ib``,
    ``L_a = sum_{i: near(i)=a} w_i (d2_i - d1_i)`` and
    ``C_ab = sum_{i: near(i)=a} w_i (max(0, d2_i - t_ib) - g_ib)`` (a sparse site x site matrix).
    """
    n_sites = open_mask.shape[0]
    n_dem = int(d.max(initial=-1)) + 1
    on = open_mask[s]
    order = np.lexsort((s[on], t[on], d[on]))
    od, os_, ot = d[on][order], s[on][order], t[on][order]
    first = np.ones(od.shape[0], bool)
    first[1:] = od[1:] != od[:-1]
    d1 = np.full(n_dem, big)
    a1 = np.full(n_dem, -1)
    d1[od[first]] = ot[first]
    a1[od[first]] = os_[first]
    second = np.zeros(od.shape[0], bool)
    second[1:] = first[:-1] & ~first[1:]
    d2 = np.full(n_dem, big)
    d2[od[second]] = ot[second]
    w_dem = np.zeros(n_dem)
    w_dem[d] = wd
    g = np.maximum(d1[d] - t, 0.0)
    gain = np.bincount(s, weights=wd * g, minlength=n_sites)
    has = a1 >= 0
    loss = np.bincount(a1[has], weights=(w_dem * (d2 - d1))[has], minlength=n_sites)
    corr = sp.csr_matrix((wd * (np.maximum(d2[d] - t, 0.0) - g), (a1[d], s)), shape=(n_sites, n_sites))
    closable = np.flatnonzero(open_mask & (rules.lower < 0.5))
    addable = ~open_mask & (rules.upper > 0) & rules.counts
    if closable.size == 0 or not addable.any():
        return False
    saving = gain[None, :] - loss[closable, None] + corr[closable].toarray()
    saving[:, ~addable] = -np.inf
    if budget is not None:
        spent = float(rules.cost[open_mask].sum())
        over = spent - rules.cost[closable, None] + rules.cost[None, :] > budget + 1e-9
        saving[over] = -np.inf
    k = int(np.argmax(saving))
    ia, b = divmod(k, n_sites)
    if not saving[ia, b] > 1e-9 * max(1.0, float(wd @ np.minimum(d1[d], big))):
        return False
    open_mask[closable[ia]] = False
    open_mask[b] = True
    return True


def _warm_vector(program: LinearProgram, instance: Instance, open_mask: np.ndarray, weight: np.ndarray,
                 formulation: str, unreachable: str = "error") -> np.ndarray:
    """The full column vector of a greedy plan (assignment: nearest open pair; radius: level indicators)."""
    x = np.zeros(program.n_cols)
    n = instance.n_sites
    x[:n] = open_mask
    rules = SiteRules.of(instance)
    d, s, t = reachable_pairs(instance, weight, rules, "pmedian", unreachable=unreachable)
    _, near = nearest_open_site(instance.travel, open_mask)
    if formulation == "assignment":
        order = np.lexsort((s, d))          # the column order of build_pmedian
        d, s, t = d[order], s[order], t[order]
        hit = open_mask[s] & (t == near[d])
        # keep exactly one hit per demand: the first in column order
        idx = np.flatnonzero(hit)
        keep = np.ones(idx.shape[0], bool)
        keep[1:] = d[idx[1:]] != d[idx[:-1]]
        first = np.zeros_like(hit)
        first[idx[keep]] = True
        x[n:] = first
    else:
        order = np.lexsort((s, t, d))
        d, t = d[order], t[order]
        new_level = np.ones(d.shape[0], bool)
        new_level[1:] = (d[1:] != d[:-1]) | (t[1:] != t[:-1])
        lvl_d, lvl_t = d[new_level], t[new_level]
        last = np.ones(lvl_d.shape[0], bool)
        last[:-1] = lvl_d[1:] != lvl_d[:-1]
        x[n:] = (lvl_t < near[lvl_d])[~last]
    return x


_BUILDERS = {"assignment": build_pmedian, "radius": build_pmedian_radius}


def _build(instance: Instance, params: PMedianParams, rules: SiteRules) -> Built:
    """One program: ``auto``/``iterative`` build the assignment program (their search is in pmedian_radius)."""
    formulation = params.formulation if params.formulation in _BUILDERS else "assignment"
    program = _BUILDERS[formulation](instance, p=params.p, weight_column=params.weight_column,
                                     budget=params.budget, unreachable=params.unreachable)
    return Built(program, stats={"formulation": formulation})


def _warm_start(instance: Instance, params: PMedianParams, rules: SiteRules, built: Built,
                deadline: float | None) -> np.ndarray | None:
    if not params.warm_start:
        return None
    plan = greedy_pmedian(instance, p=params.p, weight_column=params.weight_column, budget=params.budget,
                          deadline=deadline, unreachable=params.unreachable)
    if plan is None:
        return None
    weight = demand_weight(instance, params.weight_column)
    formulation = params.formulation if params.formulation in _BUILDERS else "assignment"
    return _warm_vector(built.program, instance, plan, weight, formulation, params.unreachable)


def _evaluate(instance: Instance, params: PMedianParams, rules: SiteRules, plan: Plan) -> Evaluation:
    """Nearest open site of every demand point from the raw table; objective = sum of w_i * minutes.

    Points left out by ``unreachable = "drop"`` count in ``total_weight`` but not in the objective.
    """
    weight = demand_weight(instance, params.weight_column)
    site, minutes = nearest_open_site(instance.travel, plan.open_sites)
    reached = site >= 0
    dropped = dropped_demand(instance, weight, rules, params.unreachable)
    left_out = np.zeros(instance.n_demand, dtype=bool)
    left_out[dropped] = True
    if np.any((weight > 0) & ~reached & ~left_out):
        raise VerificationError("pmedian: a demand point has no reachable open site")
    objective = float(np.sum(weight[reached] * minutes[reached]))
    total = float(weight.sum())
    served = float(weight[reached].sum())
    return Evaluation(
        objective=objective, covered_weight=float(weight[reached].sum()), total_weight=total,
        total_cost=float(rules.cost[plan.open_sites].sum()),
        sites=sites_table(instance, plan.open_sites, rules,
                          served_weight=served_by_site(instance.n_sites, site, weight, reached)),
        coverage=coverage_table(instance, weight, site, minutes, reached),
        stats={"p": params.p, "mean_minutes": objective / served if served else 0.0,
               "max_minutes": float(minutes[(weight > 0) & reached].max(initial=0.0))},
    )


def _bound(instance: Instance, params: PMedianParams, rules: SiteRules, known: float | None = None,
           deadline: float | None = None) -> float | None:
    """Every demand point at its nearest usable site: a lower bound on any plan's weighted minutes."""
    weight = demand_weight(instance, params.weight_column)
    _, minutes = nearest_open_site(instance.travel, rules.usable)
    positive = weight > 0
    if params.unreachable == "drop":
        positive &= np.isfinite(minutes)
    if not np.all(np.isfinite(minutes[positive])):
        return None
    return float(np.sum(weight[positive] * minutes[positive]))


def _marginal(instance: Instance, params: PMedianParams, rules: SiteRules, plan: Plan) -> Marginal:
    """Weighted minutes added without each open site (its points walk to their second-nearest open site).

    Closing a counted site breaks "exactly p" (the driver adds that); ``weight`` is the weight only it reaches.
    """
    weight = demand_weight(instance, params.weight_column)
    site, first, second = nearest_two(instance.travel, plan.open_sites)
    mine = (weight > 0) & (site >= 0)
    extra = np.full(instance.n_demand, np.inf)
    finite = np.isfinite(second)
    extra[finite] = second[finite] - first[finite]
    loss = np.bincount(site[mine], weights=weight[mine] * extra[mine], minlength=instance.n_sites)
    alone = mine & ~np.isfinite(second)
    only = np.bincount(site[alone], weights=weight[alone], minlength=instance.n_sites)
    return Marginal(loss, only > 0, only)


#: the one-program model (``formulation`` = assignment / radius); the cheapest-plan stage also uses its hooks
PROGRAM_MODEL = Model(
    name="pmedian", params=PMedianParams, sense=Sense.MINIMIZE, build=_build, warm_start=_warm_start, bound=_bound,
    marginal=_marginal,
    evaluate=_evaluate, covered="with a reachable open site",
    summary="open exactly p sites minimising total weighted minutes to the nearest open site",
)


def _search(instance: Instance, params: PMedianParams, rules: SiteRules, ctx: SolveContext) -> Outcome:
    """``formulation`` resolved (``auto``: see :mod:`siting.models.pmedian_radius`), searched, cheapest plan kept."""
    from .pmedian_radius import search_pmedian  # lazily: its formulation modules load only when searched

    return search_pmedian(instance, params, rules, ctx, PROGRAM_MODEL, greedy_pmedian)


MODEL = replace(PROGRAM_MODEL, build=None, warm_start=None, search=_search)


def solve_pmedian(instance: Instance, *, backend: str = "auto", options: SolveOptions | None = None,
                  **params: Any) -> Result:
    """Open ``p`` sites minimising total weighted walking time to the nearest open site.

    Parameters
    ----------
    instance : Instance
    backend, options : see :func:`siting.models.driver.solve_model`
    **params : the fields of :class:`PMedianParams` (``p``, ``budget``, ``weight_column``, ``formulation``
        = ``auto`` / ``iterative`` (:mod:`siting.models.pmedian_radius`), :func:`build_pmedian` or
        :func:`build_pmedian_radius`, ``warm_start`` = hand the solver the
        :func:`greedy_pmedian` plan)

    Returns
    -------
    Result
        ``objective`` = recomputed sum of ``w_i * minutes to nearest open site``; ``stats``:
        ``p``, ``mean_minutes`` (weighted), ``max_minutes``, ``warm_start_objective``.
    """
    return solve_model(MODEL, instance, PMedianParams.from_kwargs(params), backend=backend, options=options)
