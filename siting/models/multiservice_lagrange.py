r"""A Lagrangian upper bound of the multi-service program: coverage rows relaxed, buildings chosen exactly.

The pattern of the single-service MCLP bound (:mod:`siting.heuristics.lagrangian`), extended to buildings that
host bundles of services under a floor area, a conversion cost paid once and one budget.

Notes
-----
Relax every cover row :math:`v_{ik} \le \sum_j a^k_{ij} s_{jk}` with multipliers
:math:`0 \le u_{ik} \le \lambda_k w^k_i` and the budget row with :math:`\mu \ge 0`. For one year with money
:math:`B`:

.. math::

    L(u, \mu) = \sum_{i,k} (\lambda_k w^k_i - u_{ik}) + \mu B
                + \operatorname{top}_{m} \Big[ \max\Big(0, \max_{S \in \mathcal{F}_j}
                  \sum_{k \in S} (p_{jk} - \mu e_{jk}) - \mu c_j\Big) \Big]_j + W^0,
    \qquad p_{jk} = \sum_i a^k_{ij} u_{ik},

where :math:`\mathcal{F}_j` are the non-empty service sets building :math:`j` may host within its floor
area (relaxed to fractional services: the knapsack's LP bound, by net price per m2), ``top_m`` keeps the ``max_sites`` largest
terms of the buildings that count (all of them without a limit) and :math:`W^0` is what existing facilities
earn. Every term is the optimum of a relaxation (``y_j <= sum_k s_jk``, required buildings, the link
between the years and the other policy rows are dropped; the rest is solved exactly), so :math:`L(u, \mu)`
bounds the program's optimum for **any** such :math:`(u, \mu)`. Phased plans sum one term per year with the
money :math:`\bar B_t = \min(\sum_{\tau \le t} B_\tau, \text{budget})` the nested years may have spent by then.

Floors (final year, :mod:`~siting.models.multiservice_policy`): each row
:math:`\sum_{i \in g} w^k_i v_{ik} \ge F_g` (overall or per community, :math:`F_g` net of existing
facilities) gets :math:`\lambda_g \ge 0`: the final year's points earn
:math:`\lambda_k w^k_i + \lambda_g w^k_i` (the cap of :math:`u_{ik}`) and :math:`\sum_g \lambda_g F_g` is
subtracted. A held priority level (its services' coverage summed over the years :math:`\ge H`) gets
:math:`\sigma \ge 0`: the level's points earn :math:`(1 + \sigma)` times their value in every year and
:math:`\sigma H` is subtracted. Both are valid for any multiplier >= 0.

:math:`u` follows Polyak subgradient steps towards a primal value (the greedy plan), :math:`\mu` is the
minimiser of :math:`L(u, \cdot)` found by bisection on its subgradient :math:`B - \text{spend}(\mu)`. The
floors' :math:`\lambda` move once :math:`u` has settled, along what the relaxation's buildings cover minus
the floor; :math:`\sigma` is the best of :data:`HELD_MULTIPLIERS` at the end (each year's :math:`u` kept
at its share of the cap).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .multiservice_params import MultiserviceParams
from .multiservice_reach import Reach

__all__ = ["LagrangeBound", "lagrange_bound", "year_money"]



@dataclass(frozen=True)
class LagrangeBound:
    """The bound (in the program's objective units), iterations run and each year's term (before ``-sigma H``)."""

    bound: float
    iterations: int
    year_bounds: tuple[float, ...]

    def _replace_iterations(self, iterations: int) -> LagrangeBound:
        return LagrangeBound(self.bound, iterations, self.year_bounds)


def year_money(params: MultiserviceParams) -> list[float]:
    r"""The money :math:`\bar B_t` of each year (one entry without phases; inf without any budget)."""
    total = np.inf if params.budget is None else float(params.budget)
    if not params.phases:
        return [total]
    return [min(total, float(v)) for v in np.cumsum([ph.budget for ph in params.phases])]


class _Buildings:
    """The inner problem: for given per-(building, service) prices, the best buildings and bundles."""

    def __init__(self, reach: Reach, counts: np.ndarray, max_sites: int | None) -> None:
        self.reach = reach
        self.counts = counts
        self.max_sites = max_sites
        self.hosts = reach.allowed & reach.buildable[:, None]

    def best(self, price: np.ndarray, mu: float) -> tuple[float, np.ndarray, np.ndarray]:
        """(sum of the chosen buildings' terms, chosen (n, K) placements in [0, 1], their spend per building).

        A building's bundle: its services of positive net price by net price per m2, the last one that does
        not fit taken in part (the floor-area knapsack's LP relaxation, exact when they all fit).
        """
        r = self.reach
        q = np.where(self.hosts, price - mu * r.placement_cost, 0.0)
        positive = q > 0
        need = np.broadcast_to(r.area_need, q.shape)
        density = np.where(positive, q / np.maximum(need, 1e-12), -np.inf)
        density = np.where(positive & (need <= 0), np.inf, density)
        order = np.argsort(-density, axis=1, kind="stable")
        rows = np.arange(q.shape[0])[:, None]
        need_sorted = np.where(positive[rows, order], need[rows, order], 0.0)
        before = np.cumsum(need_sorted, axis=1) - need_sorted
        room = r.floor_area[:, None] - before
        part = np.where(need_sorted > 0, np.clip(room / np.maximum(need_sorted, 1e-12), 0.0, 1.0), 1.0)
        chosen = np.zeros(q.shape)
        chosen[rows, order] = np.where(positive[rows, order], part, 0.0)
        value = (q * chosen).sum(axis=1)
        term = np.where(chosen.sum(axis=1) > 0, value - mu * r.building_cost, 0.0)
        take = term > 0
        if self.max_sites is not None:
            counted = np.flatnonzero(take & self.counts)
            if counted.shape[0] > self.max_sites:
                drop = counted[np.argsort(-term[counted], kind="stable")[self.max_sites:]]
                take[drop] = False
        chosen *= take[:, None]
        spend = np.where(take, r.building_cost + (r.placement_cost * chosen).sum(axis=1), 0.0)
        return float(term[take].sum()), chosen, spend


def _line(inner: _Buildings, price: np.ndarray, money: float, mu0: float, steps: int = 18
          ) -> tuple[float, float, np.ndarray]:
    """Minimum over mu >= 0 of mu * money + inner(mu): (value, mu, chosen placements at that mu)."""
    def at(mu: float) -> tuple[float, float, np.ndarray]:
        total, chosen, spend = inner.best(price, mu)
        return mu * money + total if np.isfinite(money) else total, float(spend.sum()), chosen

    best = at(0.0)
    best_mu = 0.0
    if not np.isfinite(money) or best[1] <= money:
        return best[0], 0.0, best[2]
    lo, hi = 0.0, max(mu0, 1e-30)
    while True:                        # spend decreases in mu: find a mu that spends at most the money
        val = at(hi)
        if val[0] < best[0]:
            best, best_mu = val, hi
        if val[1] <= money or hi > 1e30:
            break
        lo, hi = hi, hi * 4.0
    for _ in range(steps):
        mid = 0.5 * (lo + hi) if lo > 0 else hi / 4.0
        val = at(mid)
        if val[0] < best[0]:
            best, best_mu = val, mid
        if val[1] > money:
            lo = mid
        else:
            hi = mid
        if lo > 0 and hi - lo <= 1e-4 * hi:
            break
    return best[0], best_mu, best[2]


@dataclass(frozen=True)
class _Floor:
    """Floor rows of one service in the final year: ``sum_{i in g} w_i v_i >= need_g`` per group ``g``."""

    service: int
    group: np.ndarray          # (n_demand,) group of each active point, -1 outside every group of this kind
    need: np.ndarray           # (n_groups,) persons still to cover beyond the existing facilities
    scale: float               # the service's objective per person (steps are taken in these units)


def floors_of(reach: Reach) -> list[_Floor]:
    """The overall and per-community floors that existing facilities do not already meet."""
    out = []
    dem_c = reach.inputs.demand_community
    n_comm = len(reach.inputs.communities)
    for k, s in enumerate(reach.services):
        service, weight = s.data.service, s.data.weight
        total = float(weight.sum())
        if service.min_share is not None and total > 0:
            # the program's own slack (1e-9 of the group): a need no larger than its row's keeps the bound valid
            short = service.min_share * total - float(weight[s.pre_covered].sum()) - 1e-9 * total
            if short > 0:
                out.append(_Floor(k, np.where(s.active, 0, -1), np.array([short]), abs(s.data.per_weight)))
        if service.min_share_per_community is not None and dem_c is not None and n_comm:
            on = dem_c >= 0
            people = np.bincount(dem_c[on], weights=weight[on], minlength=n_comm)
            pre = np.bincount(dem_c[on & s.pre_covered], weights=weight[on & s.pre_covered], minlength=n_comm)
            shorts = np.where(people > 0, service.min_share_per_community * people - pre - 1e-9 * people, 0.0)
            if (shorts > 0).any():
                # a community already above its floor keeps lambda at 0 (its row never binds)
                group = np.where(s.active & on, dem_c, -1)
                out.append(_Floor(k, group, np.maximum(shorts, 0.0), abs(s.data.per_weight)))
    return out


def _caps(reach: Reach, floors: list[_Floor], lam: list[np.ndarray],
          factor: list[float] | None = None) -> list[np.ndarray]:
    """Each final-year point's objective (times ``factor`` of its service) plus its floors' multipliers."""
    factor = factor or [1.0] * len(reach.services)
    caps = [f * s.value.astype(np.float64) for f, s in zip(factor, reach.services, strict=True)]
    for f, m in zip(floors, lam, strict=True):
        inside = f.group >= 0
        caps[f.service][inside] += m[f.group[inside]] * reach.services[f.service].data.weight[inside]
    return caps


def _final_value(inner: _Buildings, reach: Reach, floors: list[_Floor], lam: list[np.ndarray],
                 caps: list[np.ndarray], u: list[np.ndarray], money: float, mu0: float
                 ) -> tuple[float, float, np.ndarray]:
    """L(u, lambda) of one year with the floors dualised: (value, mu, chosen placements)."""
    services = reach.services
    price = np.column_stack([s.by_site @ x for s, x in zip(services, u, strict=True)])
    inner_value, mu, chosen = _line(inner, price, money, mu0)
    free = float(sum(np.maximum(c - x, 0.0).sum() for c, x in zip(caps, u, strict=True)))
    held = float(sum(m @ f.need for f, m in zip(floors, lam, strict=True)))
    return free + inner_value - held, mu, chosen


def lagrange_bound(reach: Reach, params: MultiserviceParams, counts: np.ndarray, *, target: float,
                   deadline: float | None = None, max_iterations: int = 150,
                   held: tuple[tuple[str, ...], float] | None = None) -> LagrangeBound:
    """The bound of the module notes; ``target`` is a primal value of the last year's coverage (Polyak).

    ``held``: (service keys, value) of a priority level the final program holds at ``value`` or more (its
    objective: those services' coverage summed over the years, existing facilities included); dualised too.
    """
    inner = _Buildings(reach, counts, params.max_sites)
    moneys = year_money(params)
    last = moneys[-1]
    services = reach.services
    values = [s.value for s in services]
    floors = floors_of(reach)
    lam = [np.zeros(f.need.shape[0]) for f in floors]
    u = [0.5 * v for v in values]
    mu = 1e-9
    best = np.inf
    best_u, best_lam = [x.copy() for x in u], [m.copy() for m in lam]
    theta, stall = 1.0, 0
    iterations = 0
    # the floors' multipliers move only once the plain multipliers have settled (from the best of them):
    # moving both from the start lets the floors' steps spoil the cover rows' progress
    floors_on = not floors
    plain_u: list[np.ndarray] | None = None
    caps = _caps(reach, floors, lam)
    while iterations < max_iterations:
        iterations += 1
        if not floors_on and (theta < 0.05 or iterations > max_iterations // 2):
            floors_on, theta, stall, u = True, 0.5, 0, [x.copy() for x in best_u]
            plain_u = [x.copy() for x in best_u]
        value, mu, chosen = _final_value(inner, reach, floors, lam, caps, u, last,
                                         mu * 2.0 if mu > 0 else 1e-9)
        if value < best - 1e-12 * abs(best if np.isfinite(best) else 1.0):
            best, best_u, best_lam, stall = value, [x.copy() for x in u], [m.copy() for m in lam], 0
        else:
            stall += 1
            if stall >= 5:
                theta, stall = theta / 2.0, 0
        reached = [s.by_demand @ chosen[:, k] for k, s in enumerate(services)]
        grads = [np.where(s.active, r - 1.0, 0.0) for s, r in zip(services, reached, strict=True)]
        # the floors' direction: what the relaxation's own buildings cover against the floor (the exact
        # subgradient is never negative while every v_ik = 1 and would only drive lambda to 0)
        floor_grads = [f.scale * (np.bincount(f.group[f.group >= 0], minlength=f.need.shape[0],
                                              weights=(np.minimum(reached[f.service], 1.0)
                                                       * services[f.service].data.weight)[f.group >= 0]) - f.need)
                       for f in floors]
        # steps scaled by each point's value (services' share weights differ by orders of magnitude)
        norm = float(sum((c * g * g).sum() for c, g in zip(caps, grads, strict=True)))
        floor_norm = float(sum((h * h).sum() for h in floor_grads))
        if (norm <= 0 and floor_norm <= 0) or value - target <= 1e-6 * abs(target) or theta < 1e-4:
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
        if norm > 0:
            step = theta * (value - target) / norm
            u = [np.maximum(x - step * c * g, 0.0) for x, g, c in zip(u, grads, caps, strict=True)]
        if floor_norm > 0 and floors_on:
            # lambda in units of the service's objective per person; half a Polyak step (u moves too)
            step = 0.5 * theta * (value - target) / floor_norm
            lam = [np.maximum(m - step * f.scale * h, 0.0) for m, f, h in zip(lam, floors, floor_grads, strict=True)]
        new_caps = _caps(reach, floors, lam)
        # points priced at their cap (left uncovered) stay there as the cap moves with lambda
        u = [np.clip(np.where(x >= c * (1 - 1e-9), x + nc - c, x), 0.0, nc)
             for x, c, nc in zip(u, caps, new_caps, strict=True)]
        caps = new_caps
    level = None if held is None else _held_level(reach, held, len(moneys))
    scales = (0.0,) if level is None else HELD_MULTIPLIERS
    # each year is its own relaxation: it takes the better of the plain and the floors' multipliers
    candidates = [(best_lam, best_u)] + ([] if plain_u is None else [([np.zeros_like(m) for m in lam], plain_u)])
    best_years = _years(inner, reach, floors, candidates, moneys, level, 0.0)
    for scale in scales[1:]:
        if deadline is not None and time.perf_counter() > deadline:
            break                      # the ladder is a tightening only: scale 0 is already a bound
        trial = _years(inner, reach, floors, candidates, moneys, level, scale)
        best_years = trial if trial.bound < best_years.bound else best_years
    return best_years._replace_iterations(iterations)


#: multipliers of the held priority level tried (in units of the level's own objective)
HELD_MULTIPLIERS = (0.0, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def _held_level(reach: Reach, held: tuple[tuple[str, ...], float], n_years: int) -> tuple[np.ndarray, float]:
    """(which services the level counts, the coverage value it must reach beyond the existing facilities)."""
    keys, at_least = held
    in_level = np.array([s.key in keys for s in reach.services])
    existing = n_years * float(sum(s.offset for s, on in zip(reach.services, in_level, strict=True) if on))
    return in_level, at_least - existing


def _years(inner: _Buildings, reach: Reach, floors: list[_Floor],
           candidates: list[tuple[list[np.ndarray], list[np.ndarray]]], moneys: list[float],
           level: tuple[np.ndarray, float] | None, scale: float) -> LagrangeBound:
    """The bound summed over the years, each year the least over ``candidates`` (lambda, u), ``scale`` on the level.

    The level row ``sum_t sum_{k in level} value_ik v_ikt >= held`` adds ``scale * value_ik`` to the level's
    points in every year and subtracts ``scale * held`` once; ``u`` is scaled with the level's caps.
    """
    factor = [1.0 + scale * float(level is not None and level[0][k]) for k in range(len(reach.services))]
    years = []
    for t, money in enumerate(moneys):
        final = t == len(moneys) - 1
        terms = []
        for lam, u in candidates:
            # the floors bind the final year only: earlier years keep u within the plain objective
            use_lam = lam if final else [np.zeros_like(m) for m in lam]
            plain = _caps(reach, floors, use_lam)
            caps = _caps(reach, floors, use_lam, factor)
            use_u = [np.minimum(f * np.minimum(x, c), cf) for f, x, c, cf in zip(factor, u, plain, caps, strict=True)]
            terms.append(_final_value(inner, reach, floors, use_lam, caps, use_u, money, 1e-9)[0])
        years.append(reach.offset + min(terms))
    total = float(sum(years)) - (0.0 if level is None else scale * level[1])
    return LagrangeBound(total, 0, tuple(years))
