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
earn. Every term is the optimum of a relaxation (floors, priorities, ``y_j <= sum_k s_jk``, required
buildings and the policy rows are dropped; the rest is solved exactly), so :math:`L(u, \mu)` bounds the
program's optimum for **any** such :math:`(u, \mu)`. Phased plans sum one term per year with the money
:math:`\bar B_t = \min(\sum_{\tau \le t} B_\tau, \text{budget})` the nested years may have spent by then.

:math:`u` follows Polyak subgradient steps towards a primal value (the greedy plan), :math:`\mu` is the
minimiser of :math:`L(u, \cdot)` found by bisection on its subgradient :math:`B - \text{spend}(\mu)`.
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
    """The bound (in the program's objective units), iterations run and the final-year relaxation's value."""

    bound: float
    iterations: int
    year_bounds: tuple[float, ...]


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


def lagrange_bound(reach: Reach, params: MultiserviceParams, counts: np.ndarray, *, target: float,
                   deadline: float | None = None, max_iterations: int = 150) -> LagrangeBound:
    """The bound of the module notes; ``target`` is a primal value of the last year's coverage (Polyak)."""
    inner = _Buildings(reach, counts, params.max_sites)
    moneys = year_money(params)
    last = moneys[-1]
    services = reach.services
    values = [s.value for s in services]
    u = [0.5 * v for v in values]
    mu = 1e-9
    best = np.inf
    best_u = [x.copy() for x in u]
    theta, stall = 1.0, 0
    iterations = 0
    while iterations < max_iterations:
        iterations += 1
        price = np.column_stack([s.by_site @ x for s, x in zip(services, u, strict=True)])
        inner_value, mu, chosen = _line(inner, price, last, mu * 2.0 if mu > 0 else 1e-9)
        value = float(sum((v - x).sum() for v, x in zip(values, u, strict=True))) + inner_value
        if value < best - 1e-12 * abs(best if np.isfinite(best) else 1.0):
            best, best_u, stall = value, [x.copy() for x in u], 0
        else:
            stall += 1
            if stall >= 5:
                theta, stall = theta / 2.0, 0
        grads = [s.by_demand @ chosen[:, k] - 1.0 for k, s in enumerate(services)]
        grads = [np.where(s.active, g, 0.0) for s, g in zip(services, grads, strict=True)]
        # steps scaled by each point's value (services' share weights differ by orders of magnitude)
        norm = float(sum((v * g * g).sum() for v, g in zip(values, grads, strict=True)))
        if norm <= 0 or value - target <= 1e-6 * abs(target) or theta < 1e-4:
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
        step = theta * (value - target) / norm
        u = [np.clip(x - step * v * g, 0.0, v) for x, g, v in zip(u, grads, values, strict=True)]
    price = np.column_stack([s.by_site @ x for s, x in zip(services, best_u, strict=True)])
    free = float(sum((v - x).sum() for v, x in zip(values, best_u, strict=True)))
    years = tuple(reach.offset + free + _line(inner, price, money, 1e-9)[0] for money in moneys)
    return LagrangeBound(float(sum(years)), iterations, years)
