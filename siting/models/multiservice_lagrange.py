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
area (taken exactly, :mod:`~siting.models.multiservice_bundles`; with too many services or buildings to
enumerate, the floor-area knapsack's LP bound instead), ``top_m`` keeps the ``max_sites`` largest
terms of the buildings that count (all of them without a limit) and :math:`W^0` is what existing facilities
earn. Every term is the optimum of a relaxation (``y_j <= sum_k s_jk``, required buildings, the link
between the years and the other policy rows are dropped; the rest is solved exactly), so :math:`L(u, \mu)`
bounds the program's optimum for **any** such :math:`(u, \mu)`. Phased plans sum one term per year with the
money :math:`\bar B_t = \min(\sum_{\tau \le t} B_\tau, \text{budget})` the nested years may have spent by then,
each year at the best of the final year's multipliers and its own (searched with :math:`\bar B_t`; on the 20k
policy bench case this takes the first year's term from 0.50 to 0.45).

Floors (final year, :mod:`~siting.models.multiservice_policy`): each row
:math:`\sum_{i \in g} w^k_i v_{ik} \ge F_g` (overall or per community, :math:`F_g` net of existing
facilities) gets :math:`\lambda_g \ge 0`: the final year's points earn
:math:`\lambda_k w^k_i + \lambda_g w^k_i` (the cap of :math:`u_{ik}`) and :math:`\sum_g \lambda_g F_g` is
subtracted. A held priority level (its services' coverage summed over the years :math:`\ge H`) gets
:math:`\sigma \ge 0`: the level's points earn :math:`(1 + \sigma)` times their value in every year and
:math:`\sigma H` is subtracted. Both are valid for any multiplier >= 0.

:math:`u` follows Polyak steps towards a primal value (the greedy plan) along an exponential average of the
subgradients (the newest weighted :data:`AVERAGE_WEIGHT`, as in the volume algorithm: it zig-zags less and
settles lower), the step factor halving after :data:`STALL_STEPS` steps without progress; :math:`\mu` is the
minimiser of the convex piecewise-linear :math:`L(u, \cdot)`, found by cutting planes from the previous step's
:math:`\mu`
(:func:`~siting.models.multiservice_bundles.line_minimum`; loosely inside the iterations, to ``2e-6`` for
the reported bound). With integral bundles the Lagrangian dual can be below the program's LP relaxation
(0.8143 against 0.8289 on the 20k bench case). The
floors' :math:`\lambda` move once :math:`u` has settled, along what the relaxation's buildings cover minus
the floor; :math:`\sigma` is the best of :data:`HELD_MULTIPLIERS` at the end (each year's :math:`u` kept
at its share of the cap).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..interrupt import expired
from .multiservice_bundles import Buildings, line_minimum
from .multiservice_params import MultiserviceParams
from .multiservice_reach import Reach

__all__ = ["LagrangeBound", "lagrange_bound", "year_money"]



@dataclass(frozen=True)
class LagrangeBound:
    """The bound (in the program's objective units), iterations run and each year's term (before ``-sigma H``).

    ``site_score`` (n_sites,): each building's final-year term, value - mu * cost (>= 0), at the multipliers of
    the bound; 0 where the relaxation does not convert it. ``site_services`` (n_sites, K) bool: the bundle the
    relaxation places there. Both None when not computed. ``bundles``: "integral" when every building took
    its best set of services exactly, "fractional" when buildings short of floor area took the floor-area
    knapsack's LP relaxation instead (too many services or buildings to enumerate; a looser bound).
    """

    bound: float
    iterations: int
    year_bounds: tuple[float, ...]
    # arrays and the history are left out of ==: two bounds are equal when their figures are
    site_score: np.ndarray | None = field(default=None, compare=False)
    site_services: np.ndarray | None = field(default=None, compare=False)
    bundles: str | None = None
    #: (iteration, seconds, best final-year term so far) after every iteration, for benchmarks
    history: tuple[tuple[int, float, float], ...] = field(default=(), compare=False)
    #: the final year's best cover-row multipliers u (one array per service, the reach's active points), where
    #: another search may start (:func:`lagrange_bound`'s ``start``); empty when not computed
    multipliers: tuple[np.ndarray, ...] = field(default=(), compare=False)
    #: each earlier year's own search's best multipliers u (in the years' order; fewer when the time ran out),
    #: where another search of the same objective may start them (``year_starts``)
    year_multipliers: tuple[tuple[np.ndarray, ...], ...] = field(default=(), compare=False)
    #: at the multipliers of the bound, the final year's budget price mu, what each point earns when covered
    #: (its value, the floors' and the held level's multipliers included: one array per service) and its
    #: (earning - u)^+, for the split of the bound over the reach components
    #: (:mod:`siting.models.multiservice_components`); None / empty when not computed
    price: float | None = field(default=None, compare=False)
    point_value: tuple[np.ndarray, ...] = field(default=(), compare=False)
    point_free: tuple[np.ndarray, ...] = field(default=(), compare=False)


def year_money(params: MultiserviceParams) -> list[float]:
    r"""The money :math:`\bar B_t` of each year (one entry without phases; inf without any budget)."""
    total = np.inf if params.budget is None else float(params.budget)
    if not params.phases:
        return [total]
    return [min(total, float(v)) for v in np.cumsum([ph.budget for ph in params.phases])]


#: the building subproblem (kept under its old name for the tests)
_Buildings = Buildings


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
                 caps: list[np.ndarray], u: list[np.ndarray], money: float, mu0: float, rel_tol: float = 2e-6
                 ) -> tuple[float, float, np.ndarray, np.ndarray]:
    """L(u, lambda) of one year with the floors dualised: (value, mu, chosen placements, building terms).

    ``mu0``: where the search over the budget price starts; ``rel_tol``: how close to its minimum it stops.
    """
    price = inner.prices(u)
    free = float(sum(np.maximum(c - x, 0.0).sum() for c, x in zip(caps, u, strict=True)))
    held = float(sum(m @ f.need for f, m in zip(floors, lam, strict=True)))
    inner_value, mu, choice = line_minimum(inner, price, money, mu0, scale=abs(free) + abs(held), rel_tol=rel_tol)
    return free + inner_value - held, mu, choice.chosen, choice.term


def lagrange_bound(reach: Reach, params: MultiserviceParams, counts: np.ndarray, *, target: float,
                   deadline: float | None = None, max_iterations: int = 1000,
                   held: tuple[tuple[str, ...], float] | None = None,
                   start: list[np.ndarray] | None = None,
                   year_starts: tuple[tuple[np.ndarray, ...], ...] = ()) -> LagrangeBound:
    """The bound of the module notes; ``target`` is a primal value of the last year's coverage (Polyak).

    ``held``: (service keys, value) of a priority level the final program holds at ``value`` or more (its
    objective: those services' coverage summed over the years, existing facilities included); dualised too.
    ``start``: the final year's first multipliers u (one array per service; clipped to [0, the point's value];
    default half the value): any start gives a bound, a good one a tighter bound in fewer steps.
    ``year_starts``: the earlier years' first u, as :attr:`LagrangeBound.year_multipliers` (a year without one
    starts at half the value).
    """
    began = time.perf_counter()
    inner = _Buildings(reach, counts, params.max_sites)
    moneys = year_money(params)
    floors = floors_of(reach)
    history: list[tuple[int, float, float]] = []
    # the final year first (the floors bind it); with earlier years to search too it gets FINAL_SHARE of the time
    final_deadline = deadline if deadline is None or len(moneys) == 1 else \
        began + FINAL_SHARE * max(0.0, deadline - began)
    final = _search(inner, reach, floors, moneys[-1], target, final_deadline, max_iterations, began, history,
                    start)
    iterations = final.iterations
    no_lam = [np.zeros(f.need.shape[0]) for f in floors]
    # each year is its own relaxation: it takes the best of the plain and the floors' multipliers, and earlier
    # years their own (searched with their own money: the final year's u prices too many points for them)
    shared = [(final.lam, final.u)] + ([] if final.plain_u is None else [(no_lam, final.plain_u)])
    candidates = [list(shared) for _ in moneys]
    # the earlier years share the time up to YEARS_SHARE; the rest is for the level's ladder
    years_end = None if deadline is None else began + YEARS_SHARE * max(0.0, deadline - began)
    year_u: list[tuple[np.ndarray, ...]] = []
    for t, money in enumerate(moneys[:-1]):
        now = time.perf_counter()
        if years_end is not None and now >= years_end:
            break
        year_deadline = None if years_end is None else now + (years_end - now) / (len(moneys) - 1 - t)
        # the target scaled by the money (a low target only lengthens the first steps)
        scaled = target * money / moneys[-1] if np.isfinite(moneys[-1]) else target
        own = _search(inner, reach, [], money, scaled, year_deadline, max_iterations, began, None,
                      list(year_starts[t]) if t < len(year_starts) else None)
        iterations += own.iterations
        candidates[t].append((no_lam, own.u))
        year_u.append(tuple(own.u))
    level = None if held is None else _held_level(reach, held, len(moneys))
    scales = (0.0,) if level is None else HELD_MULTIPLIERS
    mus: dict[tuple[int, int], float] = {}
    best_years = _years(inner, reach, floors, candidates, moneys, level, 0.0, mus)
    for scale in scales[1:]:
        if expired(deadline):
            break                      # the ladder is a tightening only: scale 0 is already a bound
        trial = _years(inner, reach, floors, candidates, moneys, level, scale, mus)
        best_years = trial if trial.bound < best_years.bound else best_years
    return replace(best_years, iterations=iterations, bundles=inner.bundles, history=tuple(history),
                   multipliers=tuple(final.u), year_multipliers=tuple(year_u))


@dataclass(frozen=True)
class _Found:
    """What one subgradient search found: the best multipliers, the plain ones before the floors moved."""

    u: list[np.ndarray]
    lam: list[np.ndarray]
    plain_u: list[np.ndarray] | None
    iterations: int


def _search(inner: _Buildings, reach: Reach, floors: list[_Floor], money: float, target: float,
            deadline: float | None, max_iterations: int, began: float,
            history: list[tuple[int, float, float]] | None, start: list[np.ndarray] | None = None) -> _Found:
    """Subgradient steps on one year's L(u, lambda) with ``money`` (see module notes); ``history`` is appended to.

    ``start``: the first u (default half of each point's value).
    """
    services = reach.services
    lam = [np.zeros(f.need.shape[0]) for f in floors]
    u = [0.5 * s.value for s in services] if start is None else \
        [np.clip(np.asarray(x, dtype=np.float64), 0.0, s.value) for x, s in zip(start, services, strict=True)]
    mu = 0.0
    best = np.inf
    best_u, best_lam = [x.copy() for x in u], [m.copy() for m in lam]
    theta, stall = START_FACTOR, 0
    iterations = 0
    # the floors' multipliers move only once the plain multipliers have settled (from the best of them):
    # moving both from the start lets the floors' steps spoil the cover rows' progress
    floors_on = not floors
    plain_u: list[np.ndarray] | None = None
    caps = _caps(reach, floors, lam)
    trail: list[float] = []         # the best value after each iteration since the floors moved
    average: list[np.ndarray] | None = None
    while iterations < max_iterations:
        iterations += 1
        if not floors_on and (theta < 0.05 or iterations > max_iterations // 2):
            floors_on, theta, stall, u = True, 0.5, 0, [x.copy() for x in best_u]
            plain_u = [x.copy() for x in best_u]
            trail = []
        value, mu, chosen, _ = _final_value(inner, reach, floors, lam, caps, u, money, mu, LOOP_LINE_TOL)
        if value < best - 1e-12 * abs(best if np.isfinite(best) else 1.0):
            best, best_u, best_lam, stall = value, [x.copy() for x in u], [m.copy() for m in lam], 0
        else:
            stall += 1
            if stall >= STALL_STEPS:
                theta, stall = theta / 2.0, 0
        if history is not None:
            history.append((iterations, time.perf_counter() - began, reach.offset + best))
        if floors_on:
            trail.append(best)
            # settled: the last steps moved the bound by less than its last digits; the time is worth more
            # to the primal side
            if len(trail) > SETTLED_STEPS and trail[-SETTLED_STEPS - 1] - best <= SETTLED_GAIN * abs(best):
                break
        reached = inner.reached(chosen)
        grads = [np.where(s.active, r - 1.0, 0.0) for s, r in zip(services, reached, strict=True)]
        if AVERAGE_WEIGHT > 0:
            # the direction: an average of the subgradients (volume-algorithm-like), which zig-zags less
            average = grads if average is None else \
                [AVERAGE_WEIGHT * g + (1.0 - AVERAGE_WEIGHT) * a for g, a in zip(grads, average, strict=True)]
            grads = average
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
        if expired(deadline):
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
        elif norm > 0:
            u = [np.minimum(x, c) for x, c in zip(u, caps, strict=True)]
    return _Found(best_u, best_lam, plain_u, iterations)


#: non-improving steps in a row before the step factor halves (on the 20k bench case, from factor 1: 5 stops at
#: 0.8172, 10 reaches 0.8149 in 765 steps, 20 0.8141 in 1430; halving by 0.7 instead gains nothing; 150k plain
#: with averaged steps: 10 -> 0.830233 in 519 steps / 33 s, 20 -> 0.830057 in 762 / 42 s, but 110 s, cut off by
#: its deadline, on seed 2: the time is worth more to the core MIPs)
STALL_STEPS = 10
#: the first Polyak step factor (20k bench case: 1 -> 0.8198 after 150 steps, 4 -> 0.8148, converging to
#: 0.8142 in 645 steps; 150k: 0.8319 after 150 steps against 0.8374)
START_FACTOR = 4.0
#: a search stops once its best value fell by at most SETTLED_GAIN (relative) over the last SETTLED_STEPS steps
#: (20k bench case: 0.81437 at step 300, 0.81434 at 450 and at 602, where the step factor rule stopped it)
SETTLED_STEPS = 100
SETTLED_GAIN = 2e-5
#: weight of the newest subgradient in the averaged direction (0: plain subgradient steps). 150k plain, seed 0,
#: same start: 0 -> 0.830761, 0.5 -> 0.830490, 0.2 -> 0.830233, 0.1 -> 0.830219 (622 steps instead of 519)
AVERAGE_WEIGHT = 0.2
#: the search over mu inside the iterations stops this close to its minimum (the reported bound: 2e-6)
LOOP_LINE_TOL = 1e-4
#: with phases: the final year's search ends at this share of the time, the earlier years' at YEARS_SHARE
FINAL_SHARE = 0.6
YEARS_SHARE = 0.9

#: multipliers of the held priority level tried (in units of the level's own objective)
HELD_MULTIPLIERS = (0.0, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def _held_level(reach: Reach, held: tuple[tuple[str, ...], float], n_years: int) -> tuple[np.ndarray, float]:
    """(which services the level counts, the coverage value it must reach beyond the existing facilities)."""
    keys, at_least = held
    in_level = np.array([s.key in keys for s in reach.services])
    existing = n_years * float(sum(s.offset for s, on in zip(reach.services, in_level, strict=True) if on))
    return in_level, at_least - existing


def _years(inner: _Buildings, reach: Reach, floors: list[_Floor],
           candidates: list[list[tuple[list[np.ndarray], list[np.ndarray]]]], moneys: list[float],
           level: tuple[np.ndarray, float] | None, scale: float, mus: dict[tuple[int, int], float]
           ) -> LagrangeBound:
    """The bound summed over the years, each year the least over its ``candidates`` (lambda, u), ``scale`` on the level.

    The level row ``sum_t sum_{k in level} value_ik v_ikt >= held`` adds ``scale * value_ik`` to the level's
    points in every year and subtracts ``scale * held`` once; ``u`` is scaled with the level's caps.
    ``mus``: each (year, candidate)'s last budget price, where the next search starts (updated).
    """
    factor = [1.0 + scale * float(level is not None and level[0][k]) for k in range(len(reach.services))]
    years = []
    site_score = site_services = price = None
    point_value: tuple[np.ndarray, ...] = ()
    point_free: tuple[np.ndarray, ...] = ()
    for t, money in enumerate(moneys):
        final = t == len(moneys) - 1
        terms = []
        sites = []
        kept = []
        for n, (lam, u) in enumerate(candidates[t]):
            # the floors bind the final year only: earlier years keep u within the plain objective
            use_lam = lam if final else [np.zeros_like(m) for m in lam]
            plain = _caps(reach, floors, use_lam)
            caps = _caps(reach, floors, use_lam, factor)
            use_u = [np.minimum(f * np.minimum(x, c), cf) for f, x, c, cf in zip(factor, u, plain, caps, strict=True)]
            value, mus[t, n], chosen, term = _final_value(inner, reach, floors, use_lam, caps, use_u, money,
                                                          mus.get((t, n), 0.0))
            terms.append(value)
            sites.append((term, chosen > 0))
            kept.append((mus[t, n], caps, use_u))
        years.append(reach.offset + min(terms))
        if final:
            best = int(np.argmin(terms))
            site_score, site_services = sites[best]
            price, caps, use_u = kept[best]
            point_value = tuple(caps)
            point_free = tuple(np.maximum(c - x, 0.0) for c, x in zip(caps, use_u, strict=True))
    total = float(sum(years)) - (0.0 if level is None else scale * level[1])
    return LagrangeBound(total, 0, tuple(years), site_score, site_services, price=price,
                         point_value=point_value, point_free=point_free)
