r"""Each priority level's own bound for the multi-service model (the ``level_bound`` hook's figures).

The driver maximises the first priority level's coverage, holds it, then the next level's, and so on
(:func:`siting.models.levels.solve_levels`). At city size each level's stage gets seconds and no root LP, so
these Lagrangian bounds (:func:`~siting.models.multiservice_lagrange.lagrange_bound` on the reach with only some
services valued) are what tells a planner how far a level may be from its best.

Notes
-----
Level 1: the relaxation with every other service valued 0 (floors, budgets and floor areas stay).

A later level :math:`l` is maximised with level 1 held, :math:`V_1(x) \ge H` (:func:`held_level`). For any
:math:`\sigma \ge 0` and every plan that holds it,

.. math::

    V_l(x) \le V_l(x) + \sigma (V_1(x) - H) \le L_\sigma - \sigma H,

where :math:`L_\sigma` is the Lagrangian bound of the objective :math:`V_l + \sigma V_1` (the reach with level
:math:`l`'s services weighted 1 and level 1's :math:`\sigma`; the levels in between dropped: a relaxation).
:math:`\min_\sigma (L^*_\sigma - \sigma H)` over the converged :math:`L^*` is convex in :math:`\sigma`, so
:func:`held_level_bound` walks :math:`\sigma` by doubling from :data:`SIGMA_START` until the bound rises,
then tries the geometric midpoints beside the best; each :math:`\sigma`'s search starts from the best
search's multipliers on the level's services and :math:`\sigma` times level 1's own bound's on level 1's.
Every :math:`\sigma` tried gives a bound; the least is kept. With a deadline the tries take
:data:`PROBE_SHARE` of the time and the best one's search goes on, from its multipliers, to the deadline.

Measured on the 20k policy bench case (one search of up to 30 s per :math:`\sigma`): 0.25 -> 0.286,
1 -> 0.162, 2 -> 0.121, 4 -> 0.115, 8 -> 0.145. In the bench's time (childcare held at 0.090 at 20k, 0.085
at 150k) the walk gives 0.129 and 0.128; scaling the multipliers of one search with both levels valued by
each :math:`\sigma` of a ladder (the previous way) gave 0.169 at both sizes.

The program's own objective, maximised last with every level held, is bounded the same way
(:func:`held_objective_bound`): every service searched and level 1's weighted :math:`1 + \sigma`, so
:math:`V(x) \le V(x) + \sigma (V_1(x) - H) \le L_\sigma - \sigma H` (the later levels' holds dropped). A service in
both starts from the sum of the objective's multipliers and :math:`\sigma` times level 1's, since
:math:`L(u + \sigma u_1) \le L(u) + \sigma L_1(u_1)`. Without the hold the program's bound lets the money go
where the objective gains most: 20k policy bench case 1.6623 against this 0.8751 for a plan of 0.7816.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from ..formulations.lexicographic import keep_slack
from ..interrupt import expired
from .base import Built
from .multiservice_lagrange import lagrange_bound
from .multiservice_params import MultiserviceParams
from .multiservice_program import last_year
from .multiservice_reach import Reach

__all__ = ["level_bounds", "held_bounds", "HeldBounds", "held_objective_bound", "held_level_bound", "held_level",
           "scaled"]

#: the first multiplier of the held level tried (then doubled or halved); the 20k and 150k policy bench cases
#: end between 2 and 8
SIGMA_START = 2.0
#: multipliers of the held level tried at most, and the range they stay in
SIGMA_TRIES = 4
SIGMA_RANGE = (1.0 / 64.0, 256.0)
#: subgradient steps per multiplier tried, at most (20k policy bench case: 404 steps in 2.8 s reach 0.1219,
#: 988 reach 0.1215)
SIGMA_ITERATIONS = 400
#: with a deadline, the share of the time the walk's tries take together; the rest continues the best one's search
#: (150k policy, the objective with level 1 held, 40 s: four tries in all the time 1.0864, two 0.9201, sigma = 8
#: alone 0.9008)
PROBE_SHARE = 0.4
#: the first multiplier of level 1 tried for the program's objective (:func:`held_objective_bound`): the 20k and
#: 150k policy bench cases end at 8 (20k, searches of up to 30 s: 2 -> 1.351, 4 -> 1.064, 8 -> 0.887, 16 -> 0.955)
OBJECTIVE_SIGMA_START = 8.0
#: multipliers of level 1 tried for the program's objective, at most: its searches value every service, and at city
#: size each step takes longest (150k policy, 40 s: four tries 1.0864, two 0.9201, sigma = 8 alone 0.9008); three
#: reach a least sigma on either side of the first (a small test city: 8 and 16 were both above the bound without
#: the hold)
OBJECTIVE_SIGMA_TRIES = 3


def scaled(reach: Reach, weights: np.ndarray) -> Reach:
    """The reach with each service's objective (its points and its existing facilities) times its weight."""
    return replace(reach, services=[replace(s, value=float(w) * s.value, offset=float(w) * s.offset)
                                    for s, w in zip(reach.services, weights, strict=True)])


def held_level(built: Built, x: np.ndarray, tolerance: float) -> tuple[tuple[str, ...], float] | None:
    """The first priority level's services and a value the final program certainly holds it at (None: no level).

    The driver starts the first level from this warm start and keeps the start when the solver finds nothing
    better (:func:`siting.models.levels.solve_levels`), so the level is held at no less than the start's value
    less the slack of :func:`~siting.models.levels.hold_level`. That slack jumps from half a unit to a relative
    1e-6 at large values, so the slack used here is never below ``1e-6 |value|`` either: then every value the
    solver may hold the level at, less its own slack, is at least the returned one.
    """
    if not built.levels:
        return None
    level = built.levels[0]
    value = float(level.objective @ x + level.offset)
    slack = max(tolerance * abs(value), keep_slack(level.objective, value), 1e-6 * max(1.0, abs(value)))
    return tuple(level.services), value - slack - 1e-8 * max(1.0, abs(value))


def level_bounds(built: Built, reach: Reach, params: MultiserviceParams, counts: np.ndarray, x: np.ndarray, *,
                 deadline: float | None, multipliers: tuple[np.ndarray, ...] = ()) -> dict[int, float]:
    r"""Each priority level's own Lagrangian bound (module notes): level number -> bound.

    ``x`` (a feasible plan) sets the Polyak targets and the held value of level 1; ``multipliers``: the
    program's own bound's final-year multipliers (:attr:`LagrangeBound.multipliers`), where a later level's
    search starts on its own services. Levels share the time to ``deadline`` in order, the first getting its
    share first; levels the time did not reach are missing. Each bound is capped at every point of the level
    covered every year.

    Example
    -------
    Elderly care, then childcare: each bound is at least what any plan reaches for its level with the earlier
    levels held (``tests/services/test_multiservice_level_bound.py``).
    """
    return _levels(built, reach, params, counts, x, deadline=deadline, multipliers=multipliers)[0]


@dataclass(frozen=True)
class HeldBounds:
    """:func:`held_bounds`' answer: level number -> its bound, and the program's objective's with level 1 held."""

    levels: dict[int, float]
    objective: float | None


def held_bounds(built: Built, reach: Reach, params: MultiserviceParams, counts: np.ndarray, x: np.ndarray, *,
                deadline: float | None, multipliers: tuple[np.ndarray, ...] = ()) -> HeldBounds:
    """:func:`level_bounds`, then :func:`held_objective_bound` from level 1's multipliers, in equal shares of the time.

    The objective is the driver's last stage; its bound without the levels is the warm start's Lagrangian.
    """
    now = time.perf_counter()
    n_bounds = len(built.levels) + 1
    levels_end = None if deadline is None else now + (deadline - now) * (n_bounds - 1) / n_bounds
    found, first_u = _levels(built, reach, params, counts, x, deadline=levels_end, multipliers=multipliers)
    objective = None if expired(deadline) else held_objective_bound(
        built, reach, params, counts, x, deadline=deadline, multipliers=multipliers, first_multipliers=first_u)
    return HeldBounds(found, objective)


def _levels(built: Built, reach: Reach, params: MultiserviceParams, counts: np.ndarray, x: np.ndarray, *,
            deadline: float | None, multipliers: tuple[np.ndarray, ...]) -> tuple[dict[int, float],
                                                                                   tuple[np.ndarray, ...]]:
    """:func:`level_bounds`, and level 1's multipliers (empty when its search did not run)."""
    n_phases = params.n_years
    last = last_year(built)
    held = held_level(built, x, params.priority_tolerance)
    first = np.array([s.key in built.levels[0].services for s in reach.services]) if built.levels else None
    first_u: tuple[np.ndarray, ...] = ()
    out: dict[int, float] = {}
    for i, level in enumerate(built.levels):
        now = time.perf_counter()
        if expired(deadline):
            break
        own = np.array([s.key in level.services for s in reach.services])
        share = None if deadline is None else now + (deadline - now) / (len(built.levels) - i)
        # the Polyak target is the plan's final-year value of what is searched, without the existing facilities,
        # in the search's own units: with their offset it is above the values searched and stops the search
        # early (20k policy, level 1: 0.6060), the yearly mean is far below it with phases and the steps too long
        # (150k: 0.6062); this one gives 0.5772 and 0.5828
        target = float(level.objective[last] @ x[last])
        if i == 0 or first is None or held is None:
            found = lagrange_bound(scaled(reach, own.astype(float)), params, counts, target=target, deadline=share)
            bound: float | None = found.bound
            if i == 0:
                first_u = found.multipliers
        else:
            first_target = float(built.levels[0].objective[last] @ x[last])
            bound = held_level_bound(reach, params, counts, own, first, held[1], target, first_target,
                                     tuple(multipliers), first_u, deadline=share)
        if bound is None or not np.isfinite(bound):
            continue                   # no bound rather than a NaN the driver's checks cannot compare
        out[level.number] = min(float(bound), _everything(reach, own, n_phases))
    return out, tuple(first_u)


def held_objective_bound(built: Built, reach: Reach, params: MultiserviceParams, counts: np.ndarray, x: np.ndarray, *,
                         deadline: float | None, multipliers: tuple[np.ndarray, ...] = (),
                         first_multipliers: tuple[np.ndarray, ...] = ()) -> float | None:
    r"""The program's own objective's bound with priority level 1 held (None without levels or a finite value).

    The driver maximises the objective last, with every level held; holding level 1 alone is a relaxation of
    that, so :math:`\min_\sigma (L_\sigma - \sigma H)` of the module notes with every service searched (level 1's
    weighted :math:`1 + \sigma`) bounds it. The program's bound without the hold lets the money go where the
    objective gains most and ignores that level 1 takes it first: 20k policy bench case, plan 0.7816, that bound
    1.6623 (113 %), this one 0.8751 (12.0 %; 150k: 1.7484 and 0.9430 for 0.7707). ``x``: a feasible plan (the
    held value of level 1, the Polyak targets); ``multipliers``: the program's bound's final-year multipliers,
    where the search starts, plus sigma times ``first_multipliers`` (level 1's own bound's) on level 1's services.

    Example
    -------
    Elderly care first: the bound is at least what any plan holding level 1 reaches
    (``tests/services/test_multiservice_level_bound.py``).
    """
    held = held_level(built, x, params.priority_tolerance)
    if held is None:
        return None
    n_phases = params.n_years
    last = last_year(built)
    first = np.array([s.key in built.levels[0].services for s in reach.services])
    every = np.ones(len(reach.services), bool)
    target = float(built.program.objective[last] @ x[last])
    first_target = float(built.levels[0].objective[last] @ x[last])
    bound = held_level_bound(reach, params, counts, every, first, held[1], target, first_target, tuple(multipliers),
                             tuple(first_multipliers), deadline=deadline, sigma_start=OBJECTIVE_SIGMA_START,
                             tries=OBJECTIVE_SIGMA_TRIES)
    if bound is None or not np.isfinite(bound):
        return None
    return min(float(bound), _everything(reach, every, n_phases))


def _everything(reach: Reach, on: np.ndarray, n_phases: int) -> float:
    """The value of every point of the services ``on`` (K,) covered in every year: a ceiling on any bound of them."""
    return n_phases * sum(float(s.value.sum()) + s.offset for s, keep in zip(reach.services, on, strict=True) if keep)


def held_level_bound(reach: Reach, params: MultiserviceParams, counts: np.ndarray, own: np.ndarray,
                     first: np.ndarray, held: float, target: float, first_target: float,
                     own_u: tuple[np.ndarray, ...], first_u: tuple[np.ndarray, ...], *,
                     deadline: float | None, sigma_start: float | None = None,
                     tries: int | None = None) -> float | None:
    r"""The least :math:`L_\sigma - \sigma H` over the multipliers :math:`\sigma` tried (module notes).

    ``own``, ``first`` (K,) bool: the level's services and level 1's (weighted 1 and :math:`\sigma`, summed
    where both); ``held``: :math:`H`, level 1's value with its existing facilities; ``target``,
    ``first_target``: the plan's final-year values of the two (Polyak targets, combined with each
    :math:`\sigma`); ``own_u``, ``first_u``: multipliers to start from (level 1's in its own units; either may
    be empty); ``sigma_start``, ``tries``: the first :math:`\sigma` and how many at most (default
    :data:`SIGMA_START`, :data:`SIGMA_TRIES`). The first :math:`\sigma` always runs (at least one step, whatever
    the deadline); None when no :math:`\sigma` gave a finite value.
    """
    # each service's start in its own units, apart for the level searched and level 1 (a service in both, the
    # program's objective with level 1 held, starts from the sum: L(u + sigma u1) <= L(u) + sigma L_1(u1))
    own_start = [(np.asarray(own_u[k]) if own_u else 0.5 * s.value) if own[k] else np.zeros_like(s.value)
                 for k, s in enumerate(reach.services)]
    first_start = [(np.asarray(first_u[k]) if first_u else 0.5 * s.value) if first[k] else np.zeros_like(s.value)
                   for k, s in enumerate(reach.services)]
    # (the module's figures are read at the call: tests and benchmarks set them)
    tries = SIGMA_TRIES if tries is None else tries
    tried: dict[float, float] = {}
    best_u: dict[float, list[np.ndarray]] = {}
    best_years: dict[float, tuple[tuple[np.ndarray, ...], ...]] = {}
    began = time.perf_counter()
    probes_end = None if deadline is None else began + PROBE_SHARE * max(0.0, deadline - began)

    def search(sigma: float, start: list[np.ndarray], until: float | None,
               year_starts: tuple[tuple[np.ndarray, ...], ...] = ()) -> float:
        """L_sigma - sigma H from a search started at ``start``; a non-finite value is no bound (inf)."""
        weights = own.astype(float) + sigma * first
        found = lagrange_bound(scaled(reach, weights), params, counts, target=target + sigma * first_target,
                               deadline=until, max_iterations=SIGMA_ITERATIONS, start=start, year_starts=year_starts)
        value = found.bound - sigma * held
        # a non-finite value is no bound: it must neither be kept nor steer the walk
        if not np.isfinite(value):
            return np.inf
        if value <= tried.get(sigma, np.inf):
            best_u[sigma], best_years[sigma] = list(found.multipliers), found.year_multipliers
        return value

    def run(sigma: float) -> float:
        near = min(best_u, key=lambda s: tried[s]) if best_u else None
        # the level's part from the best search so far, level 1's from its own search times sigma (rescaling the
        # best search's instead ends the same: 20k policy, 0.1198 either way); in both, the best search's plus
        # level 1's for the change of sigma
        base = [own_start[k] + sigma * first_start[k] if near is None or not own[k] else
                best_u[near][k] + (sigma - near) * first_start[k] if first[k] else best_u[near][k]
                for k in range(len(reach.services))]
        now = time.perf_counter()
        left = tries - len(tried)
        until = None if probes_end is None else now + (probes_end - now) / max(1, left)
        tried[sigma] = search(sigma, base, until)
        return tried[sigma]

    def room() -> bool:
        return len(tried) < tries and (probes_end is None or time.perf_counter() < probes_end)

    low, high = SIGMA_RANGE
    sigma = SIGMA_START if sigma_start is None else sigma_start
    run(sigma)
    # double while the bound falls; if the first doubling does not help, halve instead
    for factor in (2.0, 0.5):
        moved = False
        while room():
            step = sigma * factor
            if not low <= step <= high:
                break
            if run(step) >= tried[sigma]:
                break
            sigma, moved = step, True
        if moved:
            break
    # the geometric midpoints beside the best
    best = min(tried, key=lambda s: tried[s])
    for step in (best * math.sqrt(2.0), best / math.sqrt(2.0)):
        if room() and step not in tried and low <= step <= high:
            run(step)
    best = min(tried, key=lambda s: tried[s])
    if deadline is not None and best in best_u and not expired(deadline):
        # the rest of the time continues the best sigma's search from its multipliers, every year's
        tried[best] = min(tried[best], search(best, best_u[best], deadline, best_years[best]))
    least = min(tried.values())
    return float(least) if np.isfinite(least) else None
